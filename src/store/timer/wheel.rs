//! The `timerwheel` file: a ring of `2 × slots_total` 32-byte slots, mapped read-write, each
//! holding one delivery time's first and last timer-log position and its unit count. Same
//! file, size, slot index (`timeMs / precisionMs % (slotsTotal × 2)`) and big-endian slot
//! layout as Java's `TimerWheel`; Java copies the file into a direct buffer and writes
//! changed bytes back on flush, we write the mapping in place and msync it.

use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use super::{be_i32, be_i64, open_or_create};
use crate::store::error::{StoreError, StoreResult};

/// Slots of the wheel: 7 days of seconds, whatever the precision (Java's
/// `TIMER_WHEEL_TTL_DAY × DAY_SECS`); the file holds twice as many.
pub const SLOTS_TOTAL: usize = 7 * 86_400;
/// Slots the roll window keeps clear of the wheel's span (Java's `TIMER_BLANK_SLOTS`).
pub const TIMER_BLANK_SLOTS: usize = 60;
pub const SLOT_SIZE: usize = 32;

/// One slot of the wheel, times in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub time_ms: i64,
    pub first_pos: i64,
    pub last_pos: i64,
    pub num: i32,
    pub magic: i32,
}

impl Slot {
    /// Java's blank slot `Slot(-1, -1, -1)`.
    pub const BLANK: Slot = Slot {
        time_ms: -1,
        first_pos: -1,
        last_pos: -1,
        num: 0,
        magic: 0,
    };
}

/// The `timerwheel` file: a ring of 32-byte slots, mapped read-write.
pub struct TimerWheel {
    map: MmapMut,
    path: PathBuf,
    slots_total: usize,
    precision_ms: i64,
}

impl TimerWheel {
    /// Opens (or creates) the wheel with every block allocated; an existing file of another
    /// size is corruption, as in Java.
    pub fn open(path: &Path, slots_total: usize, precision_ms: i64) -> StoreResult<Self> {
        let len = (slots_total * 2 * SLOT_SIZE) as u64;
        let file = open_or_create(path)?;
        let found = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
        if found != 0 && found != len {
            return Err(StoreError::Corrupt {
                offset: 0,
                reason: format!("timer wheel length {found} != expected {len}"),
            });
        }
        // Backed with real blocks, not sparse: a slot written into a hole the disk cannot
        // fill would kill the process with SIGBUS.
        file.set_len(len)
            .and_then(|()| crate::store::disk_space::allocate(&file, 0, len))
            .map_err(|e| crate::store::disk_space::creation_error(path, len, e))?;
        // SAFETY: the file is ours (the broker's store directory) and sized above; nothing
        // else maps it while the broker runs.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(|e| StoreError::io(path, e))?;
        Ok(TimerWheel {
            map,
            path: path.to_owned(),
            slots_total,
            precision_ms,
        })
    }

    fn index(&self, time_ms: i64) -> usize {
        ((time_ms / self.precision_ms).rem_euclid((self.slots_total * 2) as i64)) as usize
    }

    /// The slot at `time_ms`'s index, whatever time it holds.
    pub fn raw_slot(&self, time_ms: i64) -> Slot {
        let at = self.index(time_ms) * SLOT_SIZE;
        decode_slot(&self.map[at..at + SLOT_SIZE], self.precision_ms)
    }

    /// The slot of `time_ms`, or [`Slot::BLANK`] if its index holds another time.
    pub fn slot(&self, time_ms: i64) -> Slot {
        let s = self.raw_slot(time_ms);
        if s.time_ms != time_ms / self.precision_ms * self.precision_ms {
            return Slot::BLANK;
        }
        s
    }

    pub fn put_slot(&mut self, time_ms: i64, first: i64, last: i64, num: i32, magic: i32) {
        let at = self.index(time_ms) * SLOT_SIZE;
        let b = &mut self.map[at..at + SLOT_SIZE];
        b[0..8].copy_from_slice(&(time_ms / self.precision_ms).to_be_bytes());
        b[8..16].copy_from_slice(&first.to_be_bytes());
        b[16..24].copy_from_slice(&last.to_be_bytes());
        b[24..28].copy_from_slice(&num.to_be_bytes());
        b[28..32].copy_from_slice(&magic.to_be_bytes());
    }

    /// Pending units in the slots from `from_ms` over the whole ring (Java's `getAllNum`).
    pub fn all_num(&self, from_ms: i64) -> i64 {
        (0..(self.slots_total * 2) as i64)
            .map(|i| self.slot(from_ms + i * self.precision_ms).num as i64)
            .sum()
    }

    pub fn flush(&self) -> StoreResult<()> {
        self.map.flush().map_err(|e| StoreError::io(&self.path, e))
    }
}

/// Decodes a 32-byte slot; the stored time is in units of the precision.
pub fn decode_slot(b: &[u8], precision_ms: i64) -> Slot {
    Slot {
        time_ms: be_i64(b, 0).wrapping_mul(precision_ms),
        first_pos: be_i64(b, 8),
        last_pos: be_i64(b, 16),
        num: be_i32(b, 24),
        magic: be_i32(b, 28),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::TimerStore;
    use super::*;

    #[test]
    fn the_wheel_ring_reuses_an_index_without_mixing_up_times() {
        let dir = tempfile::tempdir().unwrap();
        let log = empty_commit_log(&dir.path().join("cl"));
        let mut t = TimerStore::open(dir.path(), config(4, 3), &log, NOW).unwrap();
        let base = NOW / 1000 * 1000;
        t.enqueue(1, 1, base + 1_000, "T", false, NOW).unwrap();
        // 8 slots in the file: base + 9 s has the same index as base + 1 s.
        assert_eq!(t.wheel().slot(base + 9_000), Slot::BLANK);
        assert_eq!(t.wheel().raw_slot(base + 9_000).time_ms, base + 1_000);
    }

    #[test]
    fn a_wheel_file_of_another_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("timerwheel"), [0u8; 100]).unwrap();
        assert!(matches!(
            TimerWheel::open(&dir.path().join("timerwheel"), 4, 1000),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
