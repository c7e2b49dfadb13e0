//! A directory of equally sized [`MappedFile`]s forming one logical byte stream (the
//! commit log, or one consume queue). Readers share a [`MappedFileQueue`] handle and find
//! files through a lock-free snapshot of the file list (`ArcSwap`); the one
//! [`QueueWriter`] appends, rolls to the next file (prepared ahead on a background thread
//! so a roll does not wait for file creation), truncates during recovery, and deletes
//! expired files from the front. A writer given the store's [`DiskSpace`] checks the
//! room before creating a file and reports a file it could not create, so writes are
//! refused instead of retried against a full disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use arc_swap::ArcSwap;

use super::disk_space::DiskSpace;
use super::error::{StoreError, StoreResult};
use super::mapped_file::{file_name, parse_file_name, MappedFile};

/// How a queue's files are written, which decides how they are mapped and allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileUse {
    /// One large sequential stream (the commit log): each file's blocks are allocated at
    /// creation and the next file is prepared ahead on a background thread, so a roll
    /// never waits for the disk. Each file keeps its descriptor, for write-through mode
    /// ([`QueueWriter::set_write_through`]).
    Stream,
    /// Small units at scattered places across many queues (consume queues): mapped
    /// without readahead ([`MappedFile::advise_random`]), blocks allocated a chunk at a
    /// time as units arrive ([`UNIT_CHUNK`]), and files created when a queue rolls. A
    /// broker with 16,000 written queues would otherwise hold 32,000 files of 5.7 MB
    /// allocated up front and a thread per roll. Their descriptors are closed once mapped
    /// and units are stored into the mapping.
    SmallUnits,
}

/// Blocks a [`FileUse::SmallUnits`] file is allocated ahead of its writes: one
/// `fallocate` per 3,276 consume-queue units.
pub const UNIT_CHUNK: usize = 64 * 1024;

struct Shared {
    dir: PathBuf,
    file_size: usize,
    usage: FileUse,
    files: ArcSwap<Vec<Arc<MappedFile>>>,
    writer_taken: AtomicBool,
    /// New files start in write-through mode ([`MappedFile::set_write_through`]).
    write_through: AtomicBool,
}

/// A reader's handle; cheap to clone.
#[derive(Clone)]
pub struct MappedFileQueue {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MappedFileQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MappedFileQueue({})", self.shared.dir.display())
    }
}

impl MappedFileQueue {
    /// Opens `dir` (creating it), mapping every file already there in offset order. A
    /// file of the wrong size, or a gap between files, is corruption.
    pub fn load(dir: &Path, file_size: usize) -> StoreResult<Self> {
        Self::load_with(dir, file_size, FileUse::Stream)
    }

    /// Like [`load`](Self::load) for files written as `usage` says.
    pub fn load_with(dir: &Path, file_size: usize, usage: FileUse) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        super::mapped_file::remove_half_created(dir);
        let mut found: Vec<(i64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
            let entry = entry.map_err(|e| StoreError::io(dir, e))?;
            let name = entry.file_name();
            if let Some(offset) = name.to_str().and_then(parse_file_name) {
                found.push((offset, entry.path()));
            }
        }
        found.sort();
        // An empty last file is what a version that sized files after naming them left
        // when killed in between: it holds nothing, so it goes.
        if let Some((_, last)) = found.last() {
            if std::fs::metadata(last).is_ok_and(|m| m.len() == 0) {
                tracing::warn!(path = %last.display(), "removing an empty store file left by an interrupted creation");
                std::fs::remove_file(last).map_err(|e| StoreError::io(last, e))?;
                found.pop();
            }
        }
        let mut files = Vec::with_capacity(found.len());
        for (offset, path) in found {
            if let Some(prev) = files.last().map(|f: &Arc<MappedFile>| f.from_offset()) {
                if offset != prev + file_size as i64 {
                    return Err(StoreError::Corrupt {
                        offset,
                        reason: format!("{} does not follow the file before it", path.display()),
                    });
                }
            }
            let mut file = MappedFile::open(&path, file_size)?;
            if usage == FileUse::SmallUnits {
                file.release_descriptor();
                file.advise_random();
            }
            files.push(Arc::new(file));
        }
        Ok(MappedFileQueue {
            shared: Arc::new(Shared {
                dir: dir.to_owned(),
                file_size,
                usage,
                files: ArcSwap::from_pointee(files),
                writer_taken: AtomicBool::new(false),
                write_through: AtomicBool::new(false),
            }),
        })
    }

    /// The one writer of this queue; `None` if it was handed out already.
    pub fn writer(&self) -> Option<QueueWriter> {
        if self.shared.writer_taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(QueueWriter {
            shared: self.shared.clone(),
            next: None,
            space: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    pub fn file_size(&self) -> usize {
        self.shared.file_size
    }

    /// A snapshot of the files, oldest first.
    pub fn files(&self) -> Arc<Vec<Arc<MappedFile>>> {
        self.shared.files.load_full()
    }

    /// The file holding logical offset `offset`.
    pub fn find(&self, offset: i64) -> Option<Arc<MappedFile>> {
        let files = self.shared.files.load();
        let first = files.first()?.from_offset();
        if offset < first {
            return None;
        }
        let idx = ((offset - first) / self.shared.file_size as i64) as usize;
        files
            .get(idx)
            .filter(|f| offset < f.from_offset() + f.size() as i64)
            .cloned()
    }

    /// First offset still on disk (0 for an empty queue).
    pub fn min_offset(&self) -> i64 {
        self.shared
            .files
            .load()
            .first()
            .map(|f| f.from_offset())
            .unwrap_or(0)
    }

    /// Offset just past the last written byte.
    pub fn max_offset(&self) -> i64 {
        self.shared
            .files
            .load()
            .last()
            .map(|f| f.end_offset())
            .unwrap_or(0)
    }

    /// Offset up to which everything is on disk.
    pub fn flushed_offset(&self) -> i64 {
        let files = self.shared.files.load();
        for f in files.iter() {
            if f.flushed() < f.size() {
                return f.from_offset() + f.flushed() as i64;
            }
        }
        files
            .last()
            .map(|f| f.from_offset() + f.flushed() as i64)
            .unwrap_or(0)
    }

    /// Flushes every file with unflushed bytes; returns the flushed offset.
    pub fn flush(&self) -> StoreResult<i64> {
        for f in self.shared.files.load().iter() {
            if f.dirty() > 0 {
                f.flush()?;
            }
        }
        Ok(self.flushed_offset())
    }

    /// Bytes written but not flushed, across files.
    pub fn dirty_bytes(&self) -> usize {
        self.shared.files.load().iter().map(|f| f.dirty()).sum()
    }

    /// Reads written bytes at a logical offset (never across a file boundary).
    pub fn read(&self, offset: i64, len: usize) -> Option<bytes::Bytes> {
        let file = self.find(offset)?;
        file.slice((offset - file.from_offset()) as usize, len)
    }

    /// Deletes whole files from the front for which `expired` says so, keeping at least
    /// the newest file. Returns how many went.
    pub fn delete_from_front(
        &self,
        mut expired: impl FnMut(&MappedFile) -> bool,
    ) -> StoreResult<usize> {
        let files = self.shared.files.load_full();
        let keep_from = files
            .iter()
            .take(files.len().saturating_sub(1))
            .position(|f| !expired(f))
            .unwrap_or(files.len().saturating_sub(1));
        if keep_from == 0 {
            return Ok(0);
        }
        self.shared.files.rcu(|cur| {
            let drop: Vec<_> = cur
                .iter()
                .take(keep_from)
                .map(|f| f.from_offset())
                .collect();
            cur.iter()
                .filter(|f| !drop.contains(&f.from_offset()))
                .cloned()
                .collect::<Vec<_>>()
        });
        for f in files.iter().take(keep_from) {
            f.delete()?;
        }
        Ok(keep_from)
    }
}

/// The single writer of a [`MappedFileQueue`].
pub struct QueueWriter {
    shared: Arc<Shared>,
    next: Option<JoinHandle<StoreResult<MappedFile>>>,
    space: Option<Arc<DiskSpace>>,
}

impl QueueWriter {
    pub fn reader(&self) -> MappedFileQueue {
        MappedFileQueue {
            shared: self.shared.clone(),
        }
    }

    /// Checks the room before each new file and reports files that find none.
    pub fn watch_space(&mut self, space: Arc<DiskSpace>) {
        self.space = Some(space);
    }

    /// Appends to this queue's files (those there and those to come) go through `pwrite`
    /// and flushes are `fdatasync`, where the files keep their descriptors
    /// ([`FileUse::Stream`]).
    pub fn set_write_through(&mut self, on: bool) {
        self.shared.write_through.store(on, Ordering::Release);
        for f in self.shared.files.load().iter() {
            f.set_write_through(on);
        }
    }

    /// The file being appended to, created at `start_offset` if the queue is empty. A file
    /// found on disk is backed with blocks before the first write into it.
    pub fn current(&mut self, start_offset: i64) -> StoreResult<Arc<MappedFile>> {
        if let Some(last) = self.shared.files.load().last() {
            if !last.is_full() {
                if self.shared.usage == FileUse::Stream {
                    last.ensure_backed()
                        .inspect_err(|e| self.report(e, last.path(), last.size()))?;
                }
                return Ok(last.clone());
            }
        }
        self.roll(start_offset)
    }

    /// Tells the disk-space watch that a file could not be created for want of space.
    fn report(&self, e: &StoreError, path: &Path, size: usize) {
        if let (Some(space), StoreError::NoSpace { .. }) = (&self.space, e) {
            space.no_room(path, size as u64);
        }
    }

    /// Creates the file at `offset` now, unless the disk reading shows no room for it.
    fn create_now(&self, offset: i64) -> StoreResult<MappedFile> {
        let size = self.shared.file_size;
        let backed = match self.shared.usage {
            FileUse::Stream => size,
            FileUse::SmallUnits => UNIT_CHUNK.min(size),
        };
        let path = self.shared.dir.join(file_name(offset));
        if let Some(space) = &self.space {
            space.before_create(&path, backed as u64)?;
        }
        let file = MappedFile::create_backed(&self.shared.dir, offset, size, backed)
            .inspect_err(|e| self.report(e, &path, backed))?;
        if let Some(space) = &self.space {
            space.refresh();
        }
        Ok(file)
    }

    /// Before `file` (this queue's current file) is written up to `end`: its blocks there
    /// are allocated, a chunk ahead ([`UNIT_CHUNK`]), or the disk's lack of room is
    /// reported and returned as [`StoreError::NoSpace`].
    pub fn back_to(&self, file: &MappedFile, end: usize) -> StoreResult<()> {
        file.back_to(end, UNIT_CHUNK)
            .inspect_err(|e| self.report(e, file.path(), UNIT_CHUNK))
    }

    /// Closes the current file for writing and starts the next one. `start_offset` is
    /// used when the queue is empty (a consume queue that starts past zero).
    pub fn roll(&mut self, start_offset: i64) -> StoreResult<Arc<MappedFile>> {
        let size = self.shared.file_size;
        let next_offset = match self.shared.files.load().last() {
            Some(last) => {
                // Whatever is left of the current file is done: mark it full.
                last.mark_written(size);
                last.from_offset() + size as i64
            }
            None => start_offset - start_offset.rem_euclid(size as i64),
        };
        let mut file = match self.next.take() {
            Some(handle) => match handle.join() {
                Ok(Ok(f)) if f.from_offset() == next_offset => f,
                _ => self.create_now(next_offset)?,
            },
            None => self.create_now(next_offset)?,
        };
        if self.shared.usage == FileUse::SmallUnits {
            file.release_descriptor();
            file.advise_random();
        }
        file.set_write_through(self.shared.write_through.load(Ordering::Acquire));
        let file = Arc::new(file);
        self.shared.files.rcu(|cur| {
            let mut v = Vec::with_capacity(cur.len() + 1);
            v.extend(cur.iter().cloned());
            v.push(file.clone());
            v
        });
        if self.shared.usage == FileUse::SmallUnits {
            return Ok(file);
        }
        // Prepare the file after this one off the write path.
        let (dir, after) = (self.shared.dir.clone(), next_offset + size as i64);
        let space = self.space.clone();
        self.next = std::thread::Builder::new()
            .name("mapped-file-alloc".into())
            .spawn(move || {
                let file = MappedFile::create(&dir, after, size);
                if let Some(space) = space {
                    // Store files take their space when created, never after: measured
                    // now, the reading is exact until the next file.
                    space.refresh();
                }
                file
            })
            .ok();
        Ok(file)
    }

    /// Recovery: everything from `offset` on is dropped: later files are deleted and the
    /// file holding `offset` resumes writing there.
    pub fn truncate(&mut self, offset: i64) -> StoreResult<()> {
        if let Some(h) = self.next.take() {
            if let Ok(Ok(f)) = h.join() {
                let _ = f.delete();
            }
        }
        let files = self.shared.files.load_full();
        let mut keep = Vec::with_capacity(files.len());
        for f in files.iter() {
            let end = f.from_offset() + f.size() as i64;
            if offset >= end {
                keep.push(f.clone());
            } else if offset > f.from_offset() {
                f.set_positions((offset - f.from_offset()) as usize);
                keep.push(f.clone());
            } else if offset == f.from_offset() && keep.is_empty() {
                // The first file holds the start of the stream: keep it, empty.
                f.set_positions(0);
                keep.push(f.clone());
            } else {
                f.delete()?;
            }
        }
        self.shared.files.store(Arc::new(keep));
        Ok(())
    }

    /// Drops every file (a consume queue rebuilt from scratch).
    pub fn reset(&mut self) -> StoreResult<()> {
        if let Some(h) = self.next.take() {
            if let Ok(Ok(f)) = h.join() {
                let _ = f.delete();
            }
        }
        for f in self.shared.files.load().iter() {
            f.delete()?;
        }
        self.shared.files.store(Arc::new(Vec::new()));
        Ok(())
    }
}

impl QueueWriter {
    /// Waits for the file being prepared ahead and deletes it if nothing was written to
    /// it. Called at a clean stop, so that no deletion is left for a later drop that could
    /// race with the next process loading the directory.
    pub fn discard_prepared(&mut self) {
        if let Some(h) = self.next.take() {
            if let Ok(Ok(f)) = h.join() {
                if f.wrote() == 0 {
                    let _ = f.delete();
                }
            }
        }
    }
}

impl Drop for QueueWriter {
    fn drop(&mut self) {
        // A prepared file nobody wrote to: keep nothing half-made behind.
        self.discard_prepared();
        self.shared.writer_taken.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(w: &mut QueueWriter, data: &[u8]) -> i64 {
        let f = w.current(0).unwrap();
        let f = if f.remaining() < data.len() {
            w.roll(0).unwrap()
        } else {
            f
        };
        let pos = f
            .append_with::<StoreError>(data.len(), |b| {
                b.copy_from_slice(data);
                Ok(data.len())
            })
            .unwrap()
            .unwrap();
        f.from_offset() + pos as i64
    }

    #[test]
    fn appends_roll_across_files_and_read_back_after_reload() {
        let dir = tempfile::tempdir().unwrap();
        let q = MappedFileQueue::load(dir.path(), 16).unwrap();
        let mut w = q.writer().unwrap();
        assert!(q.writer().is_none(), "one writer only");
        let offsets: Vec<i64> = (0..5u8).map(|i| put(&mut w, &[i; 6])).collect();
        assert_eq!(offsets, vec![0, 6, 16, 22, 32]);
        assert_eq!(q.max_offset(), 38);
        assert_eq!(q.read(22, 6).unwrap().as_ref(), &[3u8; 6]);
        assert!(q.read(36, 6).is_none(), "unwritten");
        q.flush().unwrap();
        drop(w);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            names.len(),
            3,
            "the prepared fourth file is removed: {names:?}"
        );
        let q = MappedFileQueue::load(dir.path(), 16).unwrap();
        assert_eq!(q.read(16, 6).unwrap().as_ref(), &[2u8; 6]);
    }

    #[test]
    fn truncation_drops_later_files_and_resumes_in_the_middle() {
        let dir = tempfile::tempdir().unwrap();
        let q = MappedFileQueue::load(dir.path(), 16).unwrap();
        let mut w = q.writer().unwrap();
        for i in 0..6u8 {
            put(&mut w, &[i; 8]);
        }
        w.truncate(20).unwrap();
        assert_eq!(q.max_offset(), 20);
        assert_eq!(q.files().len(), 2);
        assert_eq!(put(&mut w, &[9; 4]), 20);
        assert_eq!(q.read(20, 4).unwrap().as_ref(), &[9u8; 4]);
    }

    #[test]
    fn an_empty_queue_can_start_past_zero() {
        let dir = tempfile::tempdir().unwrap();
        let q = MappedFileQueue::load(dir.path(), 20).unwrap();
        let mut w = q.writer().unwrap();
        let f = w.current(45).unwrap();
        assert_eq!(f.from_offset(), 40);
        assert_eq!(q.min_offset(), 40);
    }

    #[test]
    fn expired_files_are_deleted_from_the_front_but_the_newest_stays() {
        let dir = tempfile::tempdir().unwrap();
        let q = MappedFileQueue::load(dir.path(), 8).unwrap();
        let mut w = q.writer().unwrap();
        for i in 0..4u8 {
            put(&mut w, &[i; 8]);
        }
        assert_eq!(q.delete_from_front(|f| f.from_offset() < 16).unwrap(), 2);
        assert_eq!(q.min_offset(), 16);
        assert!(q.find(8).is_none());
        assert_eq!(
            q.delete_from_front(|_| true).unwrap(),
            1,
            "the newest file is kept"
        );
        assert_eq!(q.files().len(), 1);
    }

    #[test]
    fn an_empty_last_file_from_an_interrupted_creation_is_dropped_at_load() {
        use crate::store::mapped_file::file_name;
        let dir = tempfile::tempdir().unwrap();
        MappedFile::create(dir.path(), 0, 8).unwrap();
        std::fs::File::create(dir.path().join(file_name(8))).unwrap();
        std::fs::File::create(dir.path().join(format!("{}.creating", file_name(16)))).unwrap();
        let q = MappedFileQueue::load(dir.path(), 8).unwrap();
        assert_eq!(q.files().len(), 1);
        assert!(!dir.path().join(file_name(8)).exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn creating_a_file_that_exists_reuses_it_at_full_size() {
        use crate::store::mapped_file::file_name;
        let dir = tempfile::tempdir().unwrap();
        std::fs::File::create(dir.path().join(file_name(0))).unwrap();
        let f = MappedFile::create(dir.path(), 0, 8).unwrap();
        assert_eq!(std::fs::metadata(f.path()).unwrap().len(), 8);
        assert!(MappedFile::create(dir.path(), 0, 8).is_ok());
    }

    /// A file left sparse by an older version gets its blocks before the writer resumes in
    /// it, so a write into it can never meet a full disk; files made now have them at once.
    #[test]
    fn a_sparse_file_found_on_disk_is_allocated_before_writing_resumes() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0));
        std::fs::File::create(&path)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        let blocks = || std::fs::metadata(&path).unwrap().blocks();
        assert!(blocks() < 2048, "sparse to begin with");
        let q = MappedFileQueue::load(dir.path(), 1 << 20).unwrap();
        q.files()[0].set_positions(0);
        assert!(blocks() < 2048, "reading a file does not allocate it");
        let mut w = q.writer().unwrap();
        w.current(0).unwrap();
        assert!(blocks() >= 2048, "{} blocks", blocks());
        let next = w.roll(0).unwrap();
        let created = std::fs::metadata(next.path()).unwrap().blocks();
        assert!(created >= 2048, "a new file is allocated: {created} blocks");
    }

    #[test]
    fn a_gap_between_files_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        MappedFile::create(dir.path(), 0, 8).unwrap();
        MappedFile::create(dir.path(), 16, 8).unwrap();
        assert!(MappedFileQueue::load(dir.path(), 8).is_err());
    }
}
