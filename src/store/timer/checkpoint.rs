//! `config/timercheck`: the timer store's progress (the next slot to deliver, how far the
//! timer log is flushed, the next timer-topic queue offset to link), as the same seven
//! big-endian i64 at the same offsets of a 4 KiB file as Java's `TimerCheckpoint`. We write
//! it with `pwrite` + fsync, Java through a mapping; `config/timermetrics` is not written.

use std::os::unix::fs::FileExt;
use std::path::Path;

use super::open_or_create;
use crate::store::error::{StoreError, StoreResult};

/// Size of `config/timercheck` (Java maps one OS page).
const CHECKPOINT_FILE_LEN: u64 = 4096;

/// `config/timercheck`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerCheckpoint {
    pub last_read_time_ms: i64,
    pub last_timer_log_flush_pos: i64,
    pub last_timer_queue_offset: i64,
    pub master_timer_queue_offset: i64,
    pub state_version: i64,
    pub timestamp: i64,
    pub counter: i64,
}

impl TimerCheckpoint {
    pub fn encode(&self) -> [u8; 56] {
        let mut b = [0u8; 56];
        for (i, v) in [
            self.last_read_time_ms,
            self.last_timer_log_flush_pos,
            self.last_timer_queue_offset,
            self.master_timer_queue_offset,
            self.state_version,
            self.timestamp,
            self.counter,
        ]
        .iter()
        .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        b
    }

    /// Decodes the first 32 bytes, and the data version when 56 are there (older Java
    /// brokers wrote only the first four fields).
    pub fn decode(b: &[u8]) -> Option<TimerCheckpoint> {
        let at = |i: usize| -> Option<i64> {
            let s = b.get(i * 8..i * 8 + 8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            Some(i64::from_be_bytes(a))
        };
        Some(TimerCheckpoint {
            last_read_time_ms: at(0)?,
            last_timer_log_flush_pos: at(1)?,
            last_timer_queue_offset: at(2)?,
            master_timer_queue_offset: at(3)?,
            state_version: at(4).unwrap_or(0),
            timestamp: at(5).unwrap_or(0),
            counter: at(6).unwrap_or(0),
        })
    }

    /// `None` if the file does not exist yet.
    pub fn load(path: &Path) -> StoreResult<Option<TimerCheckpoint>> {
        match std::fs::read(path) {
            Ok(b) => TimerCheckpoint::decode(&b)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt {
                    offset: 0,
                    reason: format!("{} holds {} bytes, fewer than 32", path.display(), b.len()),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    /// Writes the fields in place and syncs them.
    pub fn store(&self, path: &Path) -> StoreResult<()> {
        let io = |e| StoreError::io(path, e);
        let file = open_or_create(path)?;
        if file.metadata().map_err(io)?.len() < CHECKPOINT_FILE_LEN {
            file.set_len(CHECKPOINT_FILE_LEN).map_err(io)?;
        }
        file.write_all_at(&self.encode(), 0).map_err(io)?;
        file.sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_use_javas_byte_layout() {
        let ck = TimerCheckpoint {
            last_read_time_ms: 1,
            last_timer_log_flush_pos: 2,
            last_timer_queue_offset: 3,
            master_timer_queue_offset: 4,
            state_version: 5,
            timestamp: 6,
            counter: 7,
        };
        let e = ck.encode();
        assert_eq!(&e[16..24], &3i64.to_be_bytes());
        assert_eq!(TimerCheckpoint::decode(&e), Some(ck));
        let old = TimerCheckpoint::decode(&e[..32]).unwrap();
        assert_eq!((old.master_timer_queue_offset, old.counter), (4, 0));
        assert_eq!(TimerCheckpoint::decode(&e[..31]), None);
    }
}
