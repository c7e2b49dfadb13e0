//! How full the filesystems under the store are, and whether writes are refused for it.
//!
//! Every store file is backed by real blocks when it is created ([`allocate`]), so running
//! out of space shows up as an error at file creation and never as a SIGBUS when a page of a
//! sparse mapping cannot be backed. [`DiskSpace`] keeps a reading of the commit-log,
//! consume-queue and index directories (statvfs, as `df` counts) that is at most
//! [`REFRESH`] old: the put path calls [`DiskSpace::check`], which refreshes a stale
//! reading itself, so a fast writer cannot outrun a cleaner that looks every
//! `cleanResourceInterval`; and since a store file takes all its space when it is created,
//! the commit log measures again right before and after creating one, which keeps the
//! reading exact as far as the store's own growth goes. Writes are refused while any of the directories is more than
//! `diskFullRatio` percent used (RocketMQ's `diskSpaceWarningLevelRatio`, 90 %), or after a
//! store file could not be created for want of space, until a reading shows that much room
//! again. Reads never consult it. Each change of state is logged once.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::{StoreError, StoreResult};

/// How old a reading may be before the put path measures again.
pub const REFRESH: Duration = Duration::from_secs(1);

/// Percentage of a filesystem in use, from statvfs, as `df` shows it: used ÷ (used +
/// available to us). Blocks reserved for root or held back by a quota count neither as used
/// nor as available, so a disk with room left for us never reads as full (measuring against
/// the raw size read 90 % on a 252 GiB volume with 24 GiB available and 67 GiB used). This
/// is also RocketMQ's `UtilAll.getDiskPartitionSpaceUsedPercent`.
pub fn used_percent(blocks: u128, free: u128, available: u128) -> Option<f64> {
    let used = blocks.saturating_sub(free);
    let usable = used + available;
    (usable > 0).then(|| (used as f64 * 100.0 / usable as f64).min(100.0))
}

/// One statvfs reading: (used percent, bytes available to us).
pub fn measure(path: &Path) -> Option<(f64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let size = st.f_frsize as u128;
    let available = st.f_bavail as u128 * size;
    let used = used_percent(
        st.f_blocks as u128 * size,
        st.f_bfree as u128 * size,
        available,
    )?;
    Some((used, available.min(u64::MAX as u128) as u64))
}

/// [`used_percent`] of the filesystem holding `path`, rounded down.
pub fn disk_used_percent(path: &Path) -> Option<u32> {
    measure(path).map(|(used, _)| used as u32)
}

/// Whether an I/O error means the filesystem is out of space (or the user's quota is).
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// The error for a store file of `needed` bytes at `path` that could not be created or
/// backed: [`StoreError::NoSpace`] when the disk is full, an I/O error otherwise.
pub fn creation_error(path: &Path, needed: u64, e: io::Error) -> StoreError {
    if is_no_space(&e) {
        StoreError::NoSpace {
            path: path.to_owned(),
            needed,
            source: e,
        }
    } else {
        StoreError::io(path, e)
    }
}

/// Backs bytes `[offset, offset + len)` of `file` with real blocks, so that no write into a mapping
/// of them can fail. Where the filesystem cannot preallocate, glibc's posix_fallocate
/// writes a byte per block instead.
pub fn allocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    if len == 0 {
        return Ok(());
    }
    let too_large = |_| io::Error::new(io::ErrorKind::InvalidInput, "file too large");
    let offset = libc::off_t::try_from(offset).map_err(too_large)?;
    let len = libc::off_t::try_from(len).map_err(too_large)?;
    loop {
        // SAFETY: a plain syscall on a descriptor we own.
        match unsafe { libc::posix_fallocate(file.as_raw_fd(), offset, len) } {
            0 => return Ok(()),
            libc::EINTR => continue,
            errno => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

/// The store's directories whose filesystems are watched, with the names RocketMQ's
/// SERVICE_NOT_AVAILABLE remark gives them.
const WATCHED: [(&str, &str); 3] = [
    ("CL", "commitlog"),
    ("CQ", "consumequeue"),
    ("INDEX", "index"),
];

#[derive(Debug, Default)]
struct State {
    /// Used percent of each watched directory, as last measured.
    used: [Option<f64>; 3],
    /// The fewest bytes available to us among them.
    available: Option<u64>,
    /// Test and drill hook: a used percent that replaces the measured ones.
    override_percent: Option<u32>,
    /// A store file could not be created: (its path, the bytes it needed).
    no_room: Option<(PathBuf, u64)>,
}

/// The store's disk-space state, shared by the writer, the dispatcher and the cleaner.
#[derive(Debug)]
pub struct DiskSpace {
    root: PathBuf,
    limit_percent: u32,
    epoch: Instant,
    /// Milliseconds from `epoch` to the last reading, plus one (0: never measured).
    measured_at: AtomicU64,
    full: AtomicBool,
    state: Mutex<State>,
}

impl DiskSpace {
    /// Watches the store under `root`; writes are refused above `limit_percent`.
    pub fn new(root: &Path, limit_percent: u32) -> Self {
        DiskSpace {
            root: root.to_owned(),
            limit_percent,
            epoch: Instant::now(),
            measured_at: AtomicU64::new(0),
            full: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few plain fields, consistent after every statement: a panic
        // elsewhere while it was held cannot leave it torn.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses a write while the disk is full; measures first if the reading is stale.
    pub fn check(&self) -> StoreResult<()> {
        self.refresh_if_stale();
        if self.full.load(Ordering::Acquire) {
            return Err(self.refusal());
        }
        Ok(())
    }

    /// Whether writes are refused now (as of the last reading).
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// The highest used percent among the watched directories (or the override).
    pub fn used_percent(&self) -> Option<f64> {
        let s = self.state();
        match s.override_percent {
            Some(p) => Some(p as f64),
            None => s.used.iter().flatten().copied().reduce(f64::max),
        }
    }

    /// Measures again unless the reading is younger than [`REFRESH`]; one caller measures,
    /// the others go on with the reading they have.
    pub fn refresh_if_stale(&self) {
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        let last = self.measured_at.load(Ordering::Acquire);
        if last != 0 && now.saturating_sub(last) < REFRESH.as_millis() as u64 {
            return;
        }
        if self
            .measured_at
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.refresh();
        }
    }

    /// Measures every watched directory now and updates the state.
    pub fn refresh(&self) {
        let mut used = [None; 3];
        let mut available: Option<u64> = None;
        for (slot, (_, dir)) in used.iter_mut().zip(WATCHED) {
            let dir = self.root.join(dir);
            // A directory not created yet lives on the root's filesystem.
            if let Some((u, a)) = measure(&dir).or_else(|| measure(&self.root)) {
                *slot = Some(u);
                available = Some(available.map_or(a, |m| m.min(a)));
            }
        }
        let mut s = self.state();
        s.used = used;
        s.available = available;
        // A file that could not be created is tried again once a reading shows room for it.
        if let (Some((_, needed)), Some(a)) = (&s.no_room, available) {
            if a >= *needed {
                s.no_room = None;
            }
        }
        self.evaluate(&s);
    }

    /// Refuses the creation of a file of `size` bytes at `path` when a fresh reading shows
    /// less room than that, so a doomed file is not even started. (Files are created
    /// rarely; this reading is never a second old.)
    pub fn before_create(&self, path: &Path, size: u64) -> StoreResult<()> {
        self.refresh();
        let room = self.state().available;
        if room.is_some_and(|a| a < size) {
            self.no_room(path, size);
            return Err(self.refusal());
        }
        Ok(())
    }

    /// A store file of `needed` bytes could not be created for want of space: writes are
    /// refused until a reading shows that much room.
    pub fn no_room(&self, path: &Path, needed: u64) {
        let mut s = self.state();
        s.no_room = Some((path.to_owned(), needed));
        self.evaluate(&s);
    }

    /// Replaces the measured use with `percent` (`None`: measure again), at once.
    pub fn set_override(&self, percent: Option<u32>) {
        self.state().override_percent = percent;
        self.refresh();
    }

    fn over_limit(&self, s: &State) -> Option<f64> {
        let used = match s.override_percent {
            Some(p) => p as f64,
            None => s.used.iter().flatten().copied().reduce(f64::max)?,
        };
        (used > self.limit_percent as f64).then_some(used)
    }

    /// Sets the refusal flag from the state, logging a change once.
    fn evaluate(&self, s: &State) {
        let over = self.over_limit(s);
        let full = over.is_some() || s.no_room.is_some();
        if self.full.swap(full, Ordering::AcqRel) == full {
            return;
        }
        let usage = usage_text(s);
        if full {
            match &s.no_room {
                Some((path, needed)) if over.is_none() => tracing::error!(
                    usage = %usage,
                    path = %path.display(),
                    needed,
                    "disk full: a store file cannot be created; refusing writes"
                ),
                _ => tracing::error!(
                    usage = %usage,
                    limit = self.limit_percent,
                    "disk full: refusing writes above diskFullRatio"
                ),
            }
        } else {
            tracing::info!(usage = %usage, "disk has room again: accepting writes");
        }
    }

    /// The error a refused write gets: how full each directory is and why.
    pub fn refusal(&self) -> StoreError {
        let s = self.state();
        let reason = match (&s.no_room, self.over_limit(&s)) {
            (_, Some(used)) => format!(
                "{used:.1}% used under {}, writes are refused above diskFullRatio {}%",
                self.root.display(),
                self.limit_percent
            ),
            (Some((path, needed)), None) => {
                format!("no room to create {} ({needed} bytes)", path.display())
            }
            (None, None) => "writes are refused until the next disk reading".into(),
        };
        StoreError::DiskFull {
            usage: usage_text(&s),
            reason,
        }
    }
}

/// RocketMQ's disk figures: "CL:  0.93 CQ:  0.93 INDEX:  0.93" (used ratios, or -1).
fn usage_text(s: &State) -> String {
    WATCHED
        .iter()
        .zip(s.used)
        .map(|((name, _), used)| {
            let ratio = match s.override_percent {
                Some(p) => p as f64 / 100.0,
                None => used.map_or(-1.0, |u| u / 100.0),
            };
            format!("{name}: {ratio:5.2}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_use_counts_what_is_available_to_us_like_df() {
        const G: u128 = 1 << 30;
        // The volume this was found on: 252 GiB, 185 GiB free, 24 GiB available to us.
        assert_eq!(
            used_percent(252 * G, 185 * G, 24 * G).map(|u| u as u32),
            Some(73)
        );
        assert_eq!(used_percent(100 * G, 100 * G, 95 * G), Some(0.0));
        assert_eq!(
            used_percent(100 * G, 10 * G, 5 * G).map(|u| u as u32),
            Some(94)
        );
        assert_eq!(used_percent(100 * G, 0, 0), Some(100.0));
        assert_eq!(used_percent(0, 0, 0), None);
        assert!(disk_used_percent(Path::new("/")).is_some());
    }

    #[test]
    fn writes_are_refused_only_above_the_ratio_as_in_rocketmq() {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskSpace::new(dir.path(), 90);
        disk.set_override(Some(90));
        assert!(disk.check().is_ok(), "exactly at the ratio is not above it");
        disk.set_override(Some(91));
        let e = disk.check().unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, StoreError::DiskFull { .. }));
        assert!(
            text.contains("the broker's disk is full [CL:  0.91 CQ:  0.91 INDEX:  0.91]"),
            "{text}"
        );
        assert!(text.contains("diskFullRatio 90%"), "{text}");
        assert!(disk.is_full());
        disk.set_override(Some(40));
        assert!(disk.check().is_ok(), "writes resume by themselves");
        assert!(!disk.is_full());
    }

    #[test]
    fn a_file_that_could_not_be_created_refuses_writes_until_a_reading_shows_room() {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskSpace::new(dir.path(), 90);
        disk.set_override(Some(10));
        let path = dir.path().join("commitlog/00000000000000000000");
        disk.no_room(&path, u64::MAX);
        let text = disk.check().unwrap_err().to_string();
        assert!(text.contains("no room to create"), "{text}");
        assert!(text.contains("00000000000000000000"), "{text}");
        // No filesystem has u64::MAX bytes free: still refused after a fresh reading.
        disk.refresh();
        assert!(disk.check().is_err());
        assert!(
            disk.before_create(&path, u64::MAX).is_err(),
            "a doomed file is not started"
        );
        disk.no_room(&path, 1);
        disk.refresh();
        assert!(
            disk.check().is_ok(),
            "room for the file again: writes resume"
        );
        assert!(disk.before_create(&path, 1).is_ok());
    }

    #[test]
    fn the_put_path_reading_is_cached_and_refreshed_when_stale() {
        let dir = tempfile::tempdir().unwrap();
        // Ratio 100: the host's own disk use (a full build machine) must not refuse; this
        // test is about when the disk is measured, not what it says.
        let mut disk = DiskSpace::new(dir.path(), 100);
        // As if the store had run for a minute, so a reading can be older than REFRESH.
        disk.epoch = Instant::now() - Duration::from_secs(60);
        assert_eq!(disk.measured_at.load(Ordering::Acquire), 0);
        disk.check().unwrap();
        let first = disk.measured_at.load(Ordering::Acquire);
        assert!(first > 0, "the first check measures");
        assert!(disk.used_percent().is_some());
        disk.check().unwrap();
        assert_eq!(
            disk.measured_at.load(Ordering::Acquire),
            first,
            "a fresh reading is reused"
        );
        // Age the reading past REFRESH: the next check measures again.
        disk.measured_at.store(1, Ordering::Release);
        disk.check().unwrap();
        assert!(disk.measured_at.load(Ordering::Acquire) > 1);
    }

    #[test]
    fn allocated_files_use_real_blocks() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let f = File::create(&path).unwrap();
        f.set_len(1 << 20).unwrap();
        let sparse = std::fs::metadata(&path).unwrap().blocks();
        allocate(&f, 0, 1 << 20).unwrap();
        let backed = std::fs::metadata(&path).unwrap().blocks();
        assert!(
            sparse < 2048 && backed >= 2048,
            "{sparse} -> {backed} blocks"
        );
        assert!(is_no_space(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(!is_no_space(&io::Error::from_raw_os_error(libc::EIO)));
    }
}
