//! The `checkpoint` file (one 4096-byte page: the store times of the last flushed
//! commit-log record, consume-queue unit and index entry, then 5.x's master-flushed and
//! confirm offsets), and the `abort` marker whose presence at start-up means the last run
//! did not shut down cleanly.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::{StoreError, StoreResult};

pub const CHECKPOINT_FILE_SIZE: usize = 4096;

/// The checkpoint's fields, in file order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub physic_msg_timestamp: i64,
    pub logics_msg_timestamp: i64,
    pub index_msg_timestamp: i64,
    pub master_flushed_offset: i64,
    pub confirm_phy_offset: i64,
}

impl Checkpoint {
    pub fn encode(&self) -> [u8; CHECKPOINT_FILE_SIZE] {
        let mut page = [0u8; CHECKPOINT_FILE_SIZE];
        let fields = [
            self.physic_msg_timestamp,
            self.logics_msg_timestamp,
            self.index_msg_timestamp,
            self.master_flushed_offset,
            self.confirm_phy_offset,
        ];
        for (i, v) in fields.iter().enumerate() {
            page[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        page
    }

    pub fn decode(bytes: &[u8]) -> Checkpoint {
        let field = |i: usize| {
            bytes
                .get(i * 8..i * 8 + 8)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes)
                .unwrap_or(0)
        };
        Checkpoint {
            physic_msg_timestamp: field(0),
            logics_msg_timestamp: field(1),
            index_msg_timestamp: field(2),
            master_flushed_offset: field(3),
            confirm_phy_offset: field(4),
        }
    }

    /// The time recovery after a crash trusts: the oldest of what was flushed (RocketMQ's
    /// `getMinTimestamp`, less three seconds of margin, as Java subtracts).
    pub fn min_timestamp(&self) -> i64 {
        let min = self.physic_msg_timestamp.min(self.logics_msg_timestamp);
        (min - 3000).max(0)
    }

    /// Reads `path`; a missing file is an all-zero checkpoint.
    pub fn load(path: &Path) -> StoreResult<Checkpoint> {
        match std::fs::read(path) {
            Ok(b) => Ok(Checkpoint::decode(&b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    /// Writes the page in place and syncs it.
    pub fn store(&self, path: &Path) -> StoreResult<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        f.write_all(&self.encode())
            .map_err(|e| StoreError::io(path, e))?;
        f.sync_data().map_err(|e| StoreError::io(path, e))
    }
}

/// The `abort` marker.
#[derive(Debug)]
pub struct AbortMarker {
    path: PathBuf,
}

impl AbortMarker {
    /// Creates the marker (writing the PID, as 5.x does) and reports whether one was
    /// already there: `true` means the previous run crashed.
    pub fn create(root: &Path) -> StoreResult<(AbortMarker, bool)> {
        let path = root.join("abort");
        let crashed = path.exists();
        std::fs::write(&path, std::process::id().to_string())
            .map_err(|e| StoreError::io(&path, e))?;
        Ok((AbortMarker { path }, crashed))
    }

    /// A clean shutdown removes the marker.
    pub fn remove(self) -> StoreResult<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&self.path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_page_has_rocketmqs_layout() {
        let cp = Checkpoint {
            physic_msg_timestamp: 0x0102030405060708,
            logics_msg_timestamp: 2,
            index_msg_timestamp: 3,
            master_flushed_offset: 4,
            confirm_phy_offset: 5,
        };
        let page = cp.encode();
        assert_eq!(page.len(), 4096);
        assert_eq!(&page[0..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&page[8..16], &2i64.to_be_bytes());
        assert_eq!(&page[32..40], &5i64.to_be_bytes());
        assert!(page[40..].iter().all(|b| *b == 0));
        assert_eq!(Checkpoint::decode(&page), cp);
        // A 4.9 checkpoint has only the first three fields.
        assert_eq!(Checkpoint::decode(&page[..24]).master_flushed_offset, 0);
    }

    #[test]
    fn checkpoints_persist_and_a_missing_one_is_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        assert_eq!(Checkpoint::load(&path).unwrap(), Checkpoint::default());
        let cp = Checkpoint {
            physic_msg_timestamp: 10_000,
            logics_msg_timestamp: 9_000,
            ..Default::default()
        };
        cp.store(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), cp);
        assert_eq!(cp.min_timestamp(), 6_000);
    }

    #[test]
    fn the_abort_marker_tells_a_crash_from_a_clean_stop() {
        let dir = tempfile::tempdir().unwrap();
        let (m, crashed) = AbortMarker::create(dir.path()).unwrap();
        assert!(!crashed);
        m.remove().unwrap();
        let (_m, crashed) = AbortMarker::create(dir.path()).unwrap();
        assert!(!crashed);
        drop(_m); // dropped without remove: a crash
        let (_m2, crashed) = AbortMarker::create(dir.path()).unwrap();
        assert!(crashed);
    }
}
