//! One memory-mapped store file of fixed size, named by the 20-digit offset of its first
//! byte (RocketMQ's `MappedFile`).
//!
//! Concurrency contract: exactly one writer appends, at the position published in `wrote`;
//! any number of readers read bytes below that watermark through the same mapping, with no
//! lock. The writer fills bytes first and publishes the new watermark with `Release`;
//! readers load it with `Acquire`, so a reader never sees a byte that is still being
//! written. The single-writer rule is enforced by [`QueueWriter`](super::mapped_file_queue::QueueWriter),
//! the only caller of [`MappedFile::append_with`].
//!
//! How bytes get in: a file in write-through mode ([`set_write_through`](MappedFile::set_write_through),
//! the commit log's with SYNC_FLUSH) is appended with `pwrite` into the page cache and
//! flushed with `fdatasync`; the mapping, coherent with the page cache, stays the read path.
//! Stores into a shared mapping cost a write fault on every page the last flush cleaned
//! (writeback write-protects it), and `msync` per SYNC_FLUSH round measured slower than
//! `pwrite` + `fdatasync`; without fsync rounds, a store into the mapping is cheaper than a
//! syscall per append, so every other file is written through the mapping and flushed with
//! `msync` (docs/performance.md has both measurements).

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{MmapOptions, MmapRaw};

use super::disk_space::{allocate, creation_error};
use super::error::{StoreError, StoreResult};

/// The file name RocketMQ gives a store file starting at `offset`.
pub fn file_name(offset: i64) -> String {
    format!("{offset:020}")
}

/// Parses a store file name back into its start offset.
pub fn parse_file_name(name: &str) -> Option<i64> {
    (name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}

/// Suffix of a file being created; a crash can leave one behind, and loading removes it.
pub const CREATING_SUFFIX: &str = ".creating";

/// Creates `path` at its full size atomically: sized and backed with real blocks
/// ([`allocate`]) under a temporary name, then renamed, so a crash never leaves a short
/// store file behind and no write into the file's mapping can find the disk full (a
/// sparse mapping would SIGBUS the process). Out of space, nothing is left behind and the
/// error is ENOSPC. Refuses to overwrite.
pub fn create_sized_file(path: &Path, size: u64) -> std::io::Result<File> {
    create_file(path, size, size)
}

/// Like [`create_sized_file`] with only the first `backed` bytes allocated; the rest is a
/// hole that [`MappedFile::back_to`] fills before anything is written there.
fn create_file(path: &Path, size: u64, backed: u64) -> std::io::Result<File> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(CREATING_SUFFIX);
    let tmp = PathBuf::from(tmp);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    let sized = file.set_len(size).and_then(|()| allocate(&file, 0, backed));
    if let Err(e) = sized {
        drop(file);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if path.exists() {
        let _ = std::fs::remove_file(&tmp);
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists", path.display()),
        ));
    }
    std::fs::rename(&tmp, path)?;
    Ok(file)
}

/// Removes files a crash left half-created in `dir`.
pub fn remove_half_created(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name()
                .to_str()
                .is_some_and(|n| n.ends_with(CREATING_SUFFIX))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// A file of a queue that writes units ([`release_descriptor`](Self::release_descriptor))
/// closes its descriptor once mapped (the mapping keeps the file): a broker with tens of
/// thousands of written consume queues would otherwise hold as many descriptors and hit the
/// process's open-file limit, after which no file can be created.
pub struct MappedFile {
    path: PathBuf,
    map: MmapRaw,
    /// Kept by files of a [`FileUse::Stream`](super::mapped_file_queue::FileUse) queue:
    /// used for write-through appends and [`settle`](Self::settle).
    fd: Option<File>,
    /// Appends are `pwrite`s on `fd` and flushes `fdatasync`; otherwise stores into the
    /// mapping and `msync`.
    write_through: AtomicBool,
    from_offset: i64,
    size: usize,
    wrote: AtomicUsize,
    flushed: AtomicUsize,
    deleted: AtomicBool,
    /// Bytes `[0, backed)` have blocks allocated: writes there cannot fail. Only the
    /// writer moves it ([`back_to`](Self::back_to)).
    backed: AtomicUsize,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("wrote", &self.wrote())
            .field("flushed", &self.flushed())
            .finish()
    }
}

impl MappedFile {
    /// Creates the file for `from_offset` in `dir` at its full size under a temporary name
    /// and renames it ([`create_sized_file`]), so a crash never leaves a short file with a
    /// store name; reuses the file if it already exists. Its blocks are allocated (no
    /// data written: an extent reservation where the filesystem has them), so a full disk
    /// is [`StoreError::NoSpace`] here and never a signal at a later write.
    pub fn create(dir: &Path, from_offset: i64, size: usize) -> StoreResult<Self> {
        Self::create_backed(dir, from_offset, size, size)
    }

    /// Like [`create`](Self::create) with only the first `backed` bytes allocated: the
    /// files of consume queues, of which a broker writes thousands, take disk space as
    /// units arrive ([`back_to`](Self::back_to)) rather than 5.7 MB each at creation.
    pub fn create_backed(
        dir: &Path,
        from_offset: i64,
        size: usize,
        backed: usize,
    ) -> StoreResult<Self> {
        let backed = backed.min(size);
        let path = dir.join(file_name(from_offset));
        let file = match create_file(&path, size as u64, backed as u64) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(|e| StoreError::io(&path, e))?;
                f.set_len(size as u64)
                    .and_then(|()| allocate(&f, 0, backed as u64))
                    .map_err(|e| creation_error(&path, size as u64, e))?;
                f
            }
            Err(e) => return Err(creation_error(&path, size as u64, e)),
        };
        let created = Self::map(path, file, from_offset, size, 0)?;
        created.backed.store(backed, Ordering::Release);
        Ok(created)
    }

    /// Allocates the blocks of a file found on disk before the writer resumes in it: it may
    /// be sparse (made by an older version, or by a filesystem copy). Idempotent; cheap once
    /// done.
    pub fn ensure_backed(&self) -> StoreResult<()> {
        self.back_to(self.size, self.size)
    }

    /// Makes sure bytes `[0, end)` have blocks, allocating `[backed, end + ahead)` (within
    /// the file) when they do not: out of space, this is [`StoreError::NoSpace`] before the
    /// write, never a SIGBUS during it. Writer only.
    pub fn back_to(&self, end: usize, ahead: usize) -> StoreResult<()> {
        let from = self.backed.load(Ordering::Acquire);
        if end <= from {
            return Ok(());
        }
        let to = end.saturating_add(ahead).min(self.size);
        let open = OpenOptions::new().write(true).open(&self.path);
        open.and_then(|f| allocate(&f, from as u64, (to - from) as u64))
            .map_err(|e| creation_error(&self.path, (to - from) as u64, e))?;
        self.backed.store(to, Ordering::Release);
        Ok(())
    }

    /// Opens an existing file; its length must be `size`. Everything in it counts as
    /// written until recovery sets the real positions.
    pub fn open(path: &Path, size: usize) -> StoreResult<Self> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let from_offset = parse_file_name(name).ok_or_else(|| StoreError::Corrupt {
            offset: -1,
            reason: format!("{} is not named by a 20-digit offset", path.display()),
        })?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
        if len != size as u64 {
            return Err(StoreError::Corrupt {
                offset: from_offset,
                reason: format!(
                    "{} is {len} bytes, the configured file size is {size}",
                    path.display()
                ),
            });
        }
        Self::map(path.to_owned(), file, from_offset, size, size)
    }

    fn map(
        path: PathBuf,
        file: File,
        from_offset: i64,
        size: usize,
        wrote: usize,
    ) -> StoreResult<Self> {
        let map = MmapOptions::new()
            .len(size)
            .map_raw(&file)
            .map_err(|e| StoreError::io(&path, e))?;
        Ok(MappedFile {
            path,
            map,
            fd: Some(file),
            write_through: AtomicBool::new(false),
            from_offset,
            size,
            wrote: AtomicUsize::new(wrote),
            flushed: AtomicUsize::new(wrote),
            deleted: AtomicBool::new(false),
            backed: AtomicUsize::new(0),
        })
    }

    /// Closes the descriptor: appends then always store into the mapping.
    pub fn release_descriptor(&mut self) {
        self.fd = None;
        self.write_through.store(false, Ordering::Release);
    }

    pub fn keeps_descriptor(&self) -> bool {
        self.fd.is_some()
    }

    /// Appends through `pwrite` and flushes with `fdatasync` from now on (see the module
    /// docs); only a file that keeps its descriptor can. Writer only.
    pub fn set_write_through(&self, on: bool) {
        self.write_through
            .store(on && self.fd.is_some(), Ordering::Release);
    }

    pub fn is_write_through(&self) -> bool {
        self.write_through.load(Ordering::Acquire)
    }

    /// Tells the kernel not to read ahead on faults in this mapping. Consume-queue and
    /// index files are written a few bytes at a time at scattered places (1,024 queues of
    /// one topic, hash slots); with readahead each first touch zero-filled a whole window
    /// (8 MiB on this machine's disk), which was 45 % of the broker's CPU under load.
    pub fn advise_random(&self) {
        if let Err(e) = self.map.advise(memmap2::Advice::Random) {
            tracing::debug!(path = %self.path.display(), error = %e, "madvise(RANDOM) failed");
        }
    }

    /// Faults `len` bytes from `pos` in as if written (MADV_POPULATE_WRITE), without
    /// touching their contents: the writer then finds those pages ready instead of paying
    /// the fault, the hole's zero-fill and the read-ahead on its own thread. Blocking; call
    /// it off an event loop. Best effort: an older kernel's refusal is logged once per file.
    pub fn prefault_write(&self, pos: usize, len: usize) {
        let len = len.min(self.size.saturating_sub(pos));
        if len == 0 {
            return;
        }
        if let Err(e) = self
            .map
            .advise_range(memmap2::Advice::PopulateWrite, pos, len)
        {
            tracing::debug!(path = %self.path.display(), error = %e, "madvise(POPULATE_WRITE) failed");
        }
    }

    /// Writes `[pos, pos + len)` to disk as it is and syncs the file, so that the blocks
    /// there are written, not merely allocated, before the writer reaches them: an
    /// `fdatasync` after an append into allocated-but-unwritten blocks must also write the
    /// extent change, a second I/O per SYNC_FLUSH round. Meant for bytes
    /// [`prefault_write`](Self::prefault_write) faulted in ahead of the writer (zeros);
    /// syncing bytes the writer appended meanwhile is harmless. No-op without a descriptor.
    /// A failure is returned and must poison the store: it may have consumed an error a
    /// later flush would otherwise have reported.
    pub fn settle(&self, pos: usize, len: usize) -> StoreResult<()> {
        let Some(fd) = &self.fd else { return Ok(()) };
        let len = len.min(self.size.saturating_sub(pos));
        if len == 0 {
            return Ok(());
        }
        use std::os::fd::AsRawFd;
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        // SAFETY: a plain syscall on a descriptor this file owns.
        let r = unsafe { libc::sync_file_range(fd.as_raw_fd(), pos as i64, len as i64, flags) };
        if r != 0 {
            return Err(StoreError::io(&self.path, std::io::Error::last_os_error()));
        }
        fd.sync_data().map_err(|e| StoreError::io(&self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn from_offset(&self) -> i64 {
        self.from_offset
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes written and visible to readers.
    pub fn wrote(&self) -> usize {
        self.wrote.load(Ordering::Acquire)
    }

    /// Bytes known to be on disk.
    pub fn flushed(&self) -> usize {
        self.flushed.load(Ordering::Acquire)
    }

    pub fn remaining(&self) -> usize {
        self.size - self.wrote()
    }

    pub fn is_full(&self) -> bool {
        self.wrote() >= self.size
    }

    /// Offset just past the last written byte.
    pub fn end_offset(&self) -> i64 {
        self.from_offset + self.wrote() as i64
    }

    /// Recovery only: sets where writing resumes (and what counts as flushed).
    pub(crate) fn set_positions(&self, pos: usize) {
        let pos = pos.min(self.size);
        self.wrote.store(pos, Ordering::Release);
        self.flushed.store(pos, Ordering::Release);
    }

    /// Publishes `pos` as written without touching the flushed position.
    pub(crate) fn mark_written(&self, pos: usize) {
        self.wrote.fetch_max(pos.min(self.size), Ordering::AcqRel);
    }

    /// Appends `len` bytes produced by `fill`, then publishes them. `fill` returns how many
    /// of the `len` bytes it used. Returns the position the bytes start at. In write-through
    /// mode `fill` writes into a per-thread scratch buffer that one `pwrite` copies into the
    /// page cache; otherwise straight into the mapping.
    ///
    /// Only the file's single writer may call this (see the module docs).
    pub(crate) fn append_with<E: From<StoreError>>(
        &self,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<Option<usize>, E> {
        let pos = self.wrote.load(Ordering::Relaxed);
        if len > self.size - pos {
            return Ok(None);
        }
        let through = self.fd.as_ref().filter(|_| self.is_write_through());
        let used = match through {
            Some(fd) => SCRATCH.with(|scratch| -> Result<usize, E> {
                let mut buf = scratch.borrow_mut();
                if buf.len() < len {
                    buf.resize(len, 0);
                }
                let used = fill(&mut buf[..len])?.min(len);
                let wrote = fd.write_all_at(&buf[..used], pos as u64);
                if buf.len() > SCRATCH_KEEP {
                    *buf = Vec::new(); // a rare large batch does not stay resident
                }
                wrote.map_err(|e| StoreError::io(&self.path, e))?;
                Ok(used)
            })?,
            None => {
                // SAFETY: the range [pos, pos + len) lies inside the mapping (checked
                // above), is past the published watermark so no reader looks at it, and
                // only the single writer calls this function, so nothing else aliases it
                // mutably.
                let buf =
                    unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos), len) };
                fill(buf)?.min(len)
            }
        };
        self.wrote.store(pos + used, Ordering::Release);
        Ok(Some(pos))
    }

    /// Reads written bytes `[pos, pos + len)`; `None` if any of them are not written yet.
    pub fn read(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.wrote() {
            return None;
        }
        // SAFETY: the range is inside the mapping and below the watermark, so the writer
        // has finished with it and will never write it again.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) })
    }

    /// Reads `[pos, pos + len)` of the whole file, written or not: recovery scans bytes
    /// whose validity it is about to decide.
    pub(crate) fn read_raw(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.size {
            return None;
        }
        // SAFETY: inside the mapping; recovery runs before any writer exists.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) })
    }

    /// Zero-copy view of written bytes that keeps the mapping alive, for pull responses.
    pub fn slice(self: &Arc<Self>, pos: usize, len: usize) -> Option<Bytes> {
        self.read(pos, len)?;
        Some(Bytes::from_owner(MappedSlice {
            file: self.clone(),
            pos,
            len,
        }))
    }

    /// Writes dirty pages `[flushed, wrote)` to disk (`fdatasync` in write-through mode,
    /// `msync` of the range otherwise) and returns the new flushed position. Safe to call
    /// from a flush thread while the writer appends further on.
    pub fn flush(&self) -> StoreResult<usize> {
        let wrote = self.wrote();
        let flushed = self.flushed();
        if wrote > flushed {
            let synced = match self.fd.as_ref().filter(|_| self.is_write_through()) {
                // Every byte below `wrote` was written before it was published, so this
                // covers them (and any stores into the mapping, recovery's included).
                Some(fd) => fd.sync_data(),
                None => {
                    let page = 4096;
                    let start = flushed - flushed % page;
                    self.map.flush_range(start, wrote - start)
                }
            };
            synced.map_err(|e| StoreError::io(&self.path, e))?;
            self.flushed.fetch_max(wrote, Ordering::AcqRel);
        }
        Ok(wrote)
    }

    /// Bytes written but not yet flushed.
    pub fn dirty(&self) -> usize {
        self.wrote().saturating_sub(self.flushed())
    }

    /// Removes the file from disk; the mapping stays valid for readers still holding it.
    pub fn delete(&self) -> StoreResult<()> {
        if !self.deleted.swap(true, Ordering::AcqRel) {
            std::fs::remove_file(&self.path).map_err(|e| StoreError::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Last modification time, for expiry.
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(&self.path).ok()?.modified().ok()
    }
}

thread_local! {
    /// The writer's staging buffer for `pwrite` appends: one per writer thread, reused.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Scratch bytes kept between appends; a larger batch's buffer is freed after it.
const SCRATCH_KEEP: usize = 1 << 20;

struct MappedSlice {
    file: Arc<MappedFile>,
    pos: usize,
    len: usize,
}

impl AsRef<[u8]> for MappedSlice {
    fn as_ref(&self) -> &[u8] {
        self.file.read(self.pos, self.len).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_twenty_digit_offsets() {
        assert_eq!(file_name(1073741824), "00000000001073741824");
        assert_eq!(parse_file_name("00000000001073741824"), Some(1073741824));
        assert_eq!(parse_file_name("0000000000107374182x"), None);
        assert_eq!(parse_file_name("123"), None);
    }

    /// Prefaulting ahead of the writer never changes a byte, written or not.
    #[test]
    fn prefault_leaves_contents_alone() {
        let dir = tempfile::tempdir().unwrap();
        let f = MappedFile::create(dir.path(), 0, 64 * 1024).unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8 + 1).collect();
        f.append_with::<StoreError>(data.len(), |b| {
            b.copy_from_slice(&data);
            Ok(data.len())
        })
        .unwrap();
        f.prefault_write(0, 64 * 1024);
        f.prefault_write(4000, 1 << 30); // clipped to the file
        f.prefault_write(1 << 30, 10); // past the end: nothing
        assert_eq!(f.read(0, data.len()), Some(&data[..]));
        f.append_with::<StoreError>(3, |b| {
            b.copy_from_slice(b"abc");
            Ok(3)
        })
        .unwrap();
        assert_eq!(f.read(5000, 3), Some(&b"abc"[..]));
        drop(f);
        let raw = std::fs::read(dir.path().join(file_name(0))).unwrap();
        assert_eq!(&raw[..5000], &data[..]);
        assert!(raw[5003..].iter().all(|b| *b == 0));
    }

    /// Both write paths: `pwrite` in write-through mode, stores into the mapping without.
    #[test]
    fn appended_bytes_become_readable_only_once_published() {
        for keep in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let mut f = MappedFile::create(dir.path(), 4096, 64).unwrap();
            f.set_write_through(true);
            if !keep {
                f.release_descriptor();
                f.set_write_through(true);
            }
            assert_eq!(f.is_write_through(), keep, "only with a descriptor");
            let f = Arc::new(f);
            assert_eq!(f.path(), dir.path().join("00000000000000004096"));
            assert!(f.read(0, 1).is_none());
            let pos = f.append_with::<StoreError>(10, |b| {
                b.copy_from_slice(b"0123456789");
                Ok(10)
            });
            assert_eq!(pos.unwrap(), Some(0));
            assert_eq!(f.read(0, 10), Some(&b"0123456789"[..]));
            assert!(f.read(5, 6).is_none());
            assert_eq!(f.slice(2, 3).unwrap().as_ref(), b"234");
            assert_eq!(f.end_offset(), 4106);
            assert_eq!(
                f.append_with::<StoreError>(60, |_| Ok(60)).unwrap(),
                None,
                "does not fit"
            );
            // A fill that uses fewer bytes than it was given publishes only those.
            let pos = f.append_with::<StoreError>(20, |b| {
                b[..4].copy_from_slice(b"abcd");
                Ok(4)
            });
            assert_eq!(pos.unwrap(), Some(10));
            assert_eq!(f.wrote(), 14);
            assert_eq!(f.flush().unwrap(), 14);
            assert_eq!(f.dirty(), 0);
            let raw = std::fs::read(f.path()).unwrap();
            assert_eq!(&raw[..14], b"0123456789abcd", "keep descriptor: {keep}");
        }
    }

    /// Settling ahead of the writer leaves every byte, written or not, as it was.
    #[test]
    fn settle_writes_out_without_changing_contents() {
        let dir = tempfile::tempdir().unwrap();
        let f = MappedFile::create(dir.path(), 0, 64 * 1024).unwrap();
        f.set_write_through(true);
        f.append_with::<StoreError>(5, |b| {
            b.copy_from_slice(b"hello");
            Ok(5)
        })
        .unwrap();
        f.prefault_write(0, 32 * 1024);
        f.settle(0, 32 * 1024).unwrap();
        f.settle(60 * 1024, 1 << 30).unwrap(); // clipped to the file
        f.settle(1 << 30, 10).unwrap(); // past the end: nothing
        let raw = std::fs::read(f.path()).unwrap();
        assert_eq!(&raw[..5], b"hello");
        assert!(raw[5..].iter().all(|b| *b == 0));
        assert_eq!(f.wrote(), 5, "settling publishes nothing");
    }

    #[test]
    fn flushed_bytes_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let f = MappedFile::create(dir.path(), 0, 128).unwrap();
            f.append_with::<StoreError>(4, |b| {
                b.copy_from_slice(b"abcd");
                Ok(4)
            })
            .unwrap();
            assert_eq!(f.dirty(), 4);
            assert_eq!(f.flush().unwrap(), 4);
            assert_eq!(f.dirty(), 0);
        }
        let f = MappedFile::open(&dir.path().join(file_name(0)), 128).unwrap();
        assert_eq!(f.read(0, 4), Some(&b"abcd"[..]));
        assert!(
            MappedFile::open(&dir.path().join(file_name(0)), 256).is_err(),
            "size mismatch is corruption"
        );
    }

    #[test]
    fn a_deleted_file_stays_readable_through_held_views() {
        let dir = tempfile::tempdir().unwrap();
        let f = Arc::new(MappedFile::create(dir.path(), 0, 64).unwrap());
        f.append_with::<StoreError>(3, |b| {
            b.copy_from_slice(b"xyz");
            Ok(3)
        })
        .unwrap();
        let view = f.slice(0, 3).unwrap();
        f.delete().unwrap();
        assert!(!f.path().exists());
        assert_eq!(view.as_ref(), b"xyz");
    }
}
