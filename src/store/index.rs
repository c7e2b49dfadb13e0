//! The message-key index under `storePathRootDir/index`, byte-compatible with Apache
//! RocketMQ's `store/index/` (`IndexFile`, `IndexHeader`, `IndexService`).
//!
//! The commit-log dispatcher hands [`IndexService::build_index`] one [`IndexRequest`] per
//! stored message; the service writes `topic#UNIQ_KEY` and `topic#key` for each KEYS value
//! into the newest [`IndexFile`], rolling to a new file (named by local creation time,
//! `yyyyMMddHHmmssSSS`) when it fills up. QUERY_MESSAGE reads through
//! [`IndexService::query`], which returns commit-log offsets, newest file first; the keys
//! are compared by hash only, so the caller must re-check each message it loads.
//!
//! An index file is a 40-byte header, a table of hash slots and an array of 20-byte
//! entries, all big-endian. A slot holds the number of the newest entry whose key hash
//! falls in it; each entry links to the previous entry of the same slot. Entry 0 is never
//! used, so 0 means "none" in slots and links. Everything read back from a file is
//! bounds-checked: a damaged file gives wrong answers, never a panic.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use chrono::{Local, NaiveDateTime, TimeDelta};
use memmap2::MmapMut;

use crate::protocol::message::java_string_hash;
use crate::store::disk_space::{allocate, creation_error};
use crate::store::error::{StoreError, StoreResult};

/// Size of the header at the start of every index file.
pub const INDEX_HEADER_SIZE: usize = 40;
/// RocketMQ's default `maxHashSlotNum`.
pub const DEFAULT_MAX_HASH_SLOT_NUM: u32 = 5_000_000;
/// RocketMQ's default `maxIndexNum`.
pub const DEFAULT_MAX_INDEX_NUM: u32 = 20_000_000;

const HASH_SLOT_SIZE: usize = 4;
const INDEX_ENTRY_SIZE: usize = 20;
/// Entry number meaning "no entry"; entry 0 is never written.
const INVALID_INDEX: i32 = 0;

const BEGIN_TIMESTAMP_POS: usize = 0;
const END_TIMESTAMP_POS: usize = 8;
const BEGIN_PHY_OFFSET_POS: usize = 16;
const END_PHY_OFFSET_POS: usize = 24;
const HASH_SLOT_COUNT_POS: usize = 32;
const INDEX_COUNT_POS: usize = 36;

const ENTRY_KEY_HASH_POS: usize = 0;
const ENTRY_PHY_OFFSET_POS: usize = 4;
const ENTRY_TIME_DIFF_POS: usize = 12;
const ENTRY_PREV_INDEX_POS: usize = 16;

/// `MessageSysFlag.TRANSACTION_ROLLBACK_TYPE`, which is also the transaction-type mask.
const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// `MessageConst.KEY_SEPARATOR`.
const KEY_SEPARATOR: char = ' ';
/// `UtilAll.timeMillisToHumanString`: local time, `yyyyMMddHHmmssSSS`.
const FILE_NAME_FORMAT: &str = "%Y%m%d%H%M%S%3f";

/// The 40-byte header, cached in memory and written through to the mapping on every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IndexHeader {
    begin_timestamp: i64,
    end_timestamp: i64,
    begin_phy_offset: i64,
    end_phy_offset: i64,
    hash_slot_count: i32,
    /// Number of the next entry to write; starts at 1 because entry 0 means "none".
    index_count: i32,
}

impl IndexHeader {
    fn empty() -> Self {
        IndexHeader {
            begin_timestamp: 0,
            end_timestamp: 0,
            begin_phy_offset: 0,
            end_phy_offset: 0,
            hash_slot_count: 0,
            index_count: 1,
        }
    }

    /// Java's `IndexHeader.load`: a non-positive index count is read as 1.
    fn decode(buf: &[u8]) -> Option<Self> {
        let index_count = read_i32(buf, INDEX_COUNT_POS)?;
        Some(IndexHeader {
            begin_timestamp: read_i64(buf, BEGIN_TIMESTAMP_POS)?,
            end_timestamp: read_i64(buf, END_TIMESTAMP_POS)?,
            begin_phy_offset: read_i64(buf, BEGIN_PHY_OFFSET_POS)?,
            end_phy_offset: read_i64(buf, END_PHY_OFFSET_POS)?,
            hash_slot_count: read_i32(buf, HASH_SLOT_COUNT_POS)?,
            index_count: index_count.max(1),
        })
    }

    fn encode(&self) -> [u8; INDEX_HEADER_SIZE] {
        let mut out = [0u8; INDEX_HEADER_SIZE];
        out[BEGIN_TIMESTAMP_POS..END_TIMESTAMP_POS]
            .copy_from_slice(&self.begin_timestamp.to_be_bytes());
        out[END_TIMESTAMP_POS..BEGIN_PHY_OFFSET_POS]
            .copy_from_slice(&self.end_timestamp.to_be_bytes());
        out[BEGIN_PHY_OFFSET_POS..END_PHY_OFFSET_POS]
            .copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        out[END_PHY_OFFSET_POS..HASH_SLOT_COUNT_POS]
            .copy_from_slice(&self.end_phy_offset.to_be_bytes());
        out[HASH_SLOT_COUNT_POS..INDEX_COUNT_POS]
            .copy_from_slice(&self.hash_slot_count.to_be_bytes());
        out[INDEX_COUNT_POS..INDEX_HEADER_SIZE].copy_from_slice(&self.index_count.to_be_bytes());
        out
    }
}

/// One 20-byte entry as read from disk.
struct IndexEntry {
    key_hash: i32,
    phy_offset: i64,
    time_diff: i32,
    prev_index: i32,
}

/// One RocketMQ index file, memory-mapped read-write.
pub struct IndexFile {
    path: PathBuf,
    mmap: MmapMut,
    slot_num: u32,
    max_index_num: u32,
    header: IndexHeader,
    /// Every block is allocated, so no write into the mapping can find the disk full.
    backed: bool,
}

impl std::fmt::Debug for IndexFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexFile")
            .field("path", &self.path)
            .field("slot_num", &self.slot_num)
            .field("max_index_num", &self.max_index_num)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl IndexFile {
    /// Bytes in a file with `slot_num` hash slots and `max_index_num` entries:
    /// `40 + slot_num * 4 + max_index_num * 20` (420,000,040 with RocketMQ's defaults).
    pub fn file_size(slot_num: u32, max_index_num: u32) -> u64 {
        INDEX_HEADER_SIZE as u64
            + u64::from(slot_num) * HASH_SLOT_SIZE as u64
            + u64::from(max_index_num) * INDEX_ENTRY_SIZE as u64
    }

    /// Creates a new, zero-filled file at `path`, which must not exist.
    ///
    /// Like Java, a positive `end_phy_offset_hint` / `end_timestamp_hint` (the previous
    /// file's end) seeds both the begin and end fields of the header, so a fresh file
    /// reports where indexing left off before it holds any entry.
    pub fn create(
        path: impl AsRef<Path>,
        slot_num: u32,
        max_index_num: u32,
        end_phy_offset_hint: i64,
        end_timestamp_hint: i64,
    ) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        let size = checked_file_size(&path, slot_num, max_index_num)?;
        // Sized under a temporary name and renamed: a crash never leaves a short file.
        let file = crate::store::mapped_file::create_sized_file(&path, size)
            .map_err(|e| creation_error(&path, size, e))?;
        let mmap = match map_file(&file) {
            Ok(mmap) => mmap,
            Err(e) => {
                // A short file left behind would make every later open fail as corrupt.
                let _ = fs::remove_file(&path);
                return Err(StoreError::io(&path, e));
            }
        };

        let mut header = IndexHeader::empty();
        if end_phy_offset_hint > 0 {
            header.begin_phy_offset = end_phy_offset_hint;
            header.end_phy_offset = end_phy_offset_hint;
        }
        if end_timestamp_hint > 0 {
            header.begin_timestamp = end_timestamp_hint;
            header.end_timestamp = end_timestamp_hint;
        }
        let mut index_file = IndexFile {
            path,
            mmap,
            slot_num,
            max_index_num,
            header,
            backed: true,
        };
        // Java leaves the on-disk index count at 0 until the first put or flush; writing
        // the whole header now gives the same bytes as Java after its first flush, and a
        // count of 0 reads back as 1 anyway.
        index_file.write_header();
        Ok(index_file)
    }

    /// Maps an existing file. A file whose size does not match `slot_num` and
    /// `max_index_num` is `Corrupt` (Java would silently resize it).
    pub fn open(path: impl AsRef<Path>, slot_num: u32, max_index_num: u32) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        let size = checked_file_size(&path, slot_num, max_index_num)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        let actual = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        if actual != size {
            return Err(StoreError::Corrupt {
                offset: i64::try_from(actual).unwrap_or(i64::MAX),
                reason: format!(
                    "index file {} is {actual} bytes, expected {size} for {slot_num} hash \
                     slots and {max_index_num} entries",
                    path.display()
                ),
            });
        }
        let mmap = map_file(&file).map_err(|e| StoreError::io(&path, e))?;
        let header = IndexHeader::decode(&mmap).ok_or_else(|| StoreError::Corrupt {
            offset: 0,
            reason: format!("index file {} has no room for its header", path.display()),
        })?;
        Ok(IndexFile {
            path,
            mmap,
            slot_num,
            max_index_num,
            header,
            backed: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Allocates the blocks of a file found on disk before keys are written into it (it
    /// may be sparse, made by an older version).
    fn ensure_backed(&mut self) -> StoreResult<()> {
        if self.backed {
            return Ok(());
        }
        let size = self.mmap.len() as u64;
        OpenOptions::new()
            .write(true)
            .open(&self.path)
            .and_then(|f| allocate(&f, 0, size))
            .map_err(|e| creation_error(&self.path, size, e))?;
        self.backed = true;
        Ok(())
    }

    /// Adds `key` for the message at `phy_offset`. Returns false when the file is full.
    ///
    /// Follows Java's `putKey` exactly, including one quirk: the time difference is taken
    /// against the header's begin timestamp *before* the first put resets it to
    /// `store_timestamp`, so the first entry of a file seeded from a previous one stores
    /// the seconds since the previous file's end rather than 0.
    pub fn put_key(&mut self, key: &str, phy_offset: i64, store_timestamp: i64) -> bool {
        if self.is_full() {
            return false;
        }
        let index_count = self.header.index_count;
        let key_hash = index_key_hash(key);
        let slot_pos = self.slot_pos(key_hash);
        let Some(slot_value) = read_i32(&self.mmap, slot_pos) else {
            return false;
        };
        // A slot pointing at nothing written yet is stale (or damaged): start a new chain.
        let prev_index = if slot_value <= INVALID_INDEX || slot_value > index_count {
            INVALID_INDEX
        } else {
            slot_value
        };

        let begin_timestamp = self.header.begin_timestamp;
        let time_diff = if begin_timestamp <= 0 {
            0
        } else {
            let seconds = store_timestamp.wrapping_sub(begin_timestamp) / 1000;
            i32::try_from(seconds.max(0)).unwrap_or(i32::MAX)
        };

        let Some(entry_pos) = self.entry_pos(index_count) else {
            return false;
        };
        let mut entry = [0u8; INDEX_ENTRY_SIZE];
        entry[ENTRY_KEY_HASH_POS..ENTRY_PHY_OFFSET_POS].copy_from_slice(&key_hash.to_be_bytes());
        entry[ENTRY_PHY_OFFSET_POS..ENTRY_TIME_DIFF_POS].copy_from_slice(&phy_offset.to_be_bytes());
        entry[ENTRY_TIME_DIFF_POS..ENTRY_PREV_INDEX_POS].copy_from_slice(&time_diff.to_be_bytes());
        entry[ENTRY_PREV_INDEX_POS..INDEX_ENTRY_SIZE].copy_from_slice(&prev_index.to_be_bytes());
        if !write_bytes(&mut self.mmap, entry_pos, &entry)
            || !write_bytes(&mut self.mmap, slot_pos, &index_count.to_be_bytes())
        {
            return false;
        }

        if index_count <= 1 {
            self.header.begin_phy_offset = phy_offset;
            self.header.begin_timestamp = store_timestamp;
        }
        if prev_index == INVALID_INDEX {
            self.header.hash_slot_count = self.header.hash_slot_count.wrapping_add(1);
        }
        self.header.index_count = index_count.wrapping_add(1);
        self.header.end_phy_offset = phy_offset;
        self.header.end_timestamp = store_timestamp;
        self.write_header();
        true
    }

    /// Commit-log offsets of up to `max_num` entries whose key hash equals `key`'s and
    /// whose store time is within `[begin, end]`, newest first. Hash collisions are
    /// returned too; the caller compares the real keys.
    pub fn select_phy_offsets(&self, key: &str, max_num: usize, begin: i64, end: i64) -> Vec<i64> {
        let mut phy_offsets = Vec::new();
        self.select_into(&mut phy_offsets, key, max_num, begin, end);
        phy_offsets
    }

    /// Java's `selectPhyOffset`: appends to `phy_offsets` until it holds `max_num`.
    ///
    /// The walk stops at an empty link, at a link that is not strictly older than the
    /// current entry (Java only catches a self-link, so a damaged cycle would spin there
    /// forever; a sound chain always points to an older entry), at an entry outside the
    /// file, and at the first entry stored before `begin`.
    fn select_into(
        &self,
        phy_offsets: &mut Vec<i64>,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) {
        let key_hash = index_key_hash(key);
        let index_count = self.header.index_count;
        let Some(slot_value) = read_i32(&self.mmap, self.slot_pos(key_hash)) else {
            return;
        };
        if slot_value <= INVALID_INDEX || slot_value > index_count || index_count <= 1 {
            return;
        }

        let mut next_index = slot_value;
        while phy_offsets.len() < max_num {
            let Some(entry) = self.read_entry(next_index) else {
                break;
            };
            if entry.time_diff < 0 {
                break;
            }
            let time_read = self
                .header
                .begin_timestamp
                .wrapping_add(i64::from(entry.time_diff) * 1000);
            if entry.key_hash == key_hash && time_read >= begin && time_read <= end {
                phy_offsets.push(entry.phy_offset);
            }
            if entry.prev_index <= INVALID_INDEX
                || entry.prev_index > index_count
                || entry.prev_index >= next_index
                || time_read < begin
            {
                break;
            }
            next_index = entry.prev_index;
        }
    }

    /// True once every entry is used (entry 0 never is, so a file holds
    /// `max_index_num - 1` keys).
    pub fn is_full(&self) -> bool {
        // max_index_num <= i32::MAX is checked when the file is created or opened.
        i64::from(self.header.index_count) >= i64::from(self.max_index_num)
    }

    pub fn begin_timestamp(&self) -> i64 {
        self.header.begin_timestamp
    }

    pub fn end_timestamp(&self) -> i64 {
        self.header.end_timestamp
    }

    pub fn end_phy_offset(&self) -> i64 {
        self.header.end_phy_offset
    }

    /// Java's `isTimeMatched`: whether `[begin, end]` overlaps the file's time span.
    pub fn is_time_matched(&self, begin: i64, end: i64) -> bool {
        let (first, last) = (self.header.begin_timestamp, self.header.end_timestamp);
        (begin < first && end > last)
            || (begin >= first && begin <= last)
            || (end >= first && end <= last)
    }

    /// Writes the mapping back to disk (msync) and waits for it.
    pub fn flush(&self) -> StoreResult<()> {
        self.mmap.flush().map_err(|e| StoreError::io(&self.path, e))
    }

    /// Unmaps and deletes the file.
    pub fn destroy(self) -> StoreResult<()> {
        let path = self.path.clone();
        drop(self);
        fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))
    }

    fn write_header(&mut self) {
        let bytes = self.header.encode();
        write_bytes(&mut self.mmap, 0, &bytes);
    }

    /// `key_hash` is never negative, so the slot is always inside the table.
    fn slot_pos(&self, key_hash: i32) -> usize {
        let slot = u32::try_from(key_hash).unwrap_or(0) % self.slot_num;
        INDEX_HEADER_SIZE + slot as usize * HASH_SLOT_SIZE
    }

    /// Byte position of entry `index`, or None when it lies outside the entry array.
    fn entry_pos(&self, index: i32) -> Option<usize> {
        let index = u32::try_from(index).ok()?;
        if index == 0 || index >= self.max_index_num {
            return None;
        }
        Some(
            INDEX_HEADER_SIZE
                + self.slot_num as usize * HASH_SLOT_SIZE
                + index as usize * INDEX_ENTRY_SIZE,
        )
    }

    fn read_entry(&self, index: i32) -> Option<IndexEntry> {
        let pos = self.entry_pos(index)?;
        Some(IndexEntry {
            key_hash: read_i32(&self.mmap, pos + ENTRY_KEY_HASH_POS)?,
            phy_offset: read_i64(&self.mmap, pos + ENTRY_PHY_OFFSET_POS)?,
            time_diff: read_i32(&self.mmap, pos + ENTRY_TIME_DIFF_POS)?,
            prev_index: read_i32(&self.mmap, pos + ENTRY_PREV_INDEX_POS)?,
        })
    }
}

/// One message to index, taken from the commit-log record (Java's `DispatchRequest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexRequest<'a> {
    pub topic: &'a str,
    /// The KEYS property: keys separated by single spaces.
    pub keys: Option<&'a str>,
    /// The UNIQ_KEY property (client message id). Indexed whenever present, even if empty,
    /// as Java does.
    pub uniq_key: Option<&'a str>,
    pub physical_offset: i64,
    pub store_timestamp: i64,
    pub sys_flag: i32,
}

/// Java's `QueryOffsetResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryResult {
    /// Newest file first, newest entry first within a file; not sorted by offset.
    pub phy_offsets: Vec<i64>,
    /// End timestamp of the newest index file (QUERY_MESSAGE's `indexLastUpdateTimestamp`).
    pub index_last_update_timestamp: i64,
    /// End physical offset of the newest index file (`indexLastUpdatePhyoffset`).
    pub index_last_update_phy_offset: i64,
}

/// All index files of a store, oldest first; the last one takes new keys.
#[derive(Debug)]
pub struct IndexService {
    dir: PathBuf,
    slot_num: u32,
    max_index_num: u32,
    files: Vec<IndexFile>,
    checkpoint_index_timestamp: i64,
}

impl IndexService {
    /// Opens `dir` (`storePathRootDir/index`), creating it if needed, and maps every
    /// regular file in it in name order, which is creation order. A file of the wrong size
    /// fails the whole open, as any unreadable file fails Java's `load`.
    pub fn open(dir: impl AsRef<Path>, slot_num: u32, max_index_num: u32) -> StoreResult<Self> {
        let dir = dir.as_ref().to_path_buf();
        checked_file_size(&dir, slot_num, max_index_num)?;
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        crate::store::mapped_file::remove_half_created(&dir);

        let mut paths = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))? {
            let path = entry.map_err(|e| StoreError::io(&dir, e))?.path();
            let metadata = fs::metadata(&path).map_err(|e| StoreError::io(&path, e))?;
            if metadata.is_file() {
                paths.push(path);
            }
        }
        paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));

        let files = paths
            .iter()
            .map(|path| IndexFile::open(path, slot_num, max_index_num))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut service = IndexService {
            dir,
            slot_num,
            max_index_num,
            files,
            checkpoint_index_timestamp: 0,
        };
        service.checkpoint_index_timestamp = service.newest_full_file_end_timestamp();
        Ok(service)
    }

    /// After an abnormal shutdown, deletes every file whose end timestamp is newer than
    /// the checkpoint's `indexMsgTimestamp`, as Java's `IndexService.load(false)` does.
    /// Returns how many files were deleted. Do not call it after a clean shutdown.
    ///
    /// The checkpoint only advances when a full file has been flushed (see
    /// [`Self::checkpoint_index_timestamp`]), so this drops the file that was taking keys
    /// at the crash, whose pages may be half written, and any full file whose flush had
    /// not finished. The keys they held come back only if the commit log is replayed from
    /// no later than the checkpoint (Java ensures that when `messageIndexSafe` is set);
    /// [`Self::build_index`] skips the offsets the surviving files already cover.
    pub fn recover(&mut self, checkpoint_index_ts: i64) -> StoreResult<usize> {
        let mut dropped = 0;
        let mut i = 0;
        while i < self.files.len() {
            if self.files[i].end_timestamp() > checkpoint_index_ts {
                remove_index_file(&mut self.files, i)?;
                dropped += 1;
            } else {
                i += 1;
            }
        }
        self.checkpoint_index_timestamp = self.newest_full_file_end_timestamp();
        Ok(dropped)
    }

    /// Indexes one message: `topic#UNIQ_KEY`, then `topic#key` for every non-empty
    /// space-separated KEYS value. Rolled-back transaction records are not indexed, nor is
    /// a message below the newest file's end offset (already indexed before a crash, being
    /// replayed by recovery). A full file is flushed before the next one is created.
    pub fn build_index(&mut self, req: &IndexRequest<'_>) -> StoreResult<()> {
        if req.physical_offset < self.writable_file()?.end_phy_offset() {
            return Ok(());
        }
        if req.sys_flag & TRANSACTION_ROLLBACK_TYPE == TRANSACTION_ROLLBACK_TYPE {
            return Ok(());
        }
        if let Some(uniq_key) = req.uniq_key {
            self.put_key(&build_key(req.topic, uniq_key), req)?;
        }
        if let Some(keys) = req.keys {
            for key in keys.split(KEY_SEPARATOR).filter(|k| !k.is_empty()) {
                self.put_key(&build_key(req.topic, key), req)?;
            }
        }
        Ok(())
    }

    /// Java's `queryOffset`: walks files from newest to oldest, stopping after the first
    /// file that begins before `begin` or once `max_num` offsets are found. Java caps
    /// `max_num` at `maxMsgsNumBatch` (default 64) before this; the caller does that here.
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryResult {
        let mut result = QueryResult::default();
        if let Some(last) = self.files.last() {
            result.index_last_update_timestamp = last.end_timestamp();
            result.index_last_update_phy_offset = last.end_phy_offset();
        }
        let key = build_key(topic, key);
        for file in self.files.iter().rev() {
            if file.is_time_matched(begin, end) {
                file.select_into(&mut result.phy_offsets, &key, max_num, begin, end);
            }
            if file.begin_timestamp() < begin || result.phy_offsets.len() >= max_num {
                break;
            }
        }
        result
    }

    /// Flushes every file (Java does this at shutdown; full files were already flushed
    /// when they filled, so this costs little for them).
    pub fn flush(&self) -> StoreResult<()> {
        self.files.iter().try_for_each(IndexFile::flush)
    }

    /// End timestamp of the newest file, 0 with no files. This is what QUERY_MESSAGE
    /// reports; it is not a safe checkpoint value (see [`Self::checkpoint_index_timestamp`]).
    pub fn last_file_end_timestamp(&self) -> i64 {
        self.files.last().map_or(0, IndexFile::end_timestamp)
    }

    /// The value for the checkpoint's `indexMsgTimestamp`: the end timestamp of the newest
    /// full file known to be flushed, 0 if there is none. Java advances it only when a
    /// full file is flushed, never for the file still taking keys, because recovery deletes
    /// whole files newer than the checkpoint: a checkpoint inside the open file would have
    /// recovery delete that file and replay only the keys after the checkpoint.
    pub fn checkpoint_index_timestamp(&self) -> i64 {
        self.checkpoint_index_timestamp
    }

    /// Java's `deleteExpiredFile`: deletes the oldest files while their end offset is below
    /// `min_phy_offset` (the commit log's minimum), never the newest file. Returns how many
    /// were deleted.
    pub fn delete_expired(&mut self, min_phy_offset: i64) -> StoreResult<usize> {
        let candidates = self.files.len().saturating_sub(1);
        let expired = self.files[..candidates]
            .iter()
            .take_while(|f| f.end_phy_offset() < min_phy_offset)
            .count();
        for _ in 0..expired {
            remove_index_file(&mut self.files, 0)?;
        }
        Ok(expired)
    }

    /// Deletes every index file.
    pub fn destroy(&mut self) -> StoreResult<()> {
        while !self.files.is_empty() {
            remove_index_file(&mut self.files, 0)?;
        }
        Ok(())
    }

    pub fn files(&self) -> &[IndexFile] {
        &self.files
    }

    fn put_key(&mut self, key: &str, req: &IndexRequest<'_>) -> StoreResult<()> {
        let file = self.writable_file()?;
        if file.put_key(key, req.physical_offset, req.store_timestamp) {
            return Ok(());
        }
        Err(StoreError::Corrupt {
            offset: req.physical_offset,
            reason: format!(
                "index file {} refused key {key} although it is not full",
                file.path().display()
            ),
        })
    }

    /// The newest file, after rolling to a new one if it is full or there is none.
    fn writable_file(&mut self) -> StoreResult<&mut IndexFile> {
        if self.files.last().is_none_or(IndexFile::is_full) {
            self.roll()?;
        }
        let dir = &self.dir;
        let file = self.files.last_mut().ok_or_else(|| {
            StoreError::io(dir, io::Error::other("no index file after creating one"))
        })?;
        file.ensure_backed()?;
        Ok(file)
    }

    /// Flushes the full newest file, records its end as the checkpoint value, and starts a
    /// new file seeded with that end. Java flushes on a background thread after the new
    /// file is in use; flushing first means the checkpoint never names unflushed keys.
    fn roll(&mut self) -> StoreResult<()> {
        let (end_phy_offset, end_timestamp) = match self.files.last() {
            Some(prev) => {
                prev.flush()?;
                if prev.is_full() {
                    self.checkpoint_index_timestamp = prev.end_timestamp();
                }
                (prev.end_phy_offset(), prev.end_timestamp())
            }
            None => (0, 0),
        };
        let path = self.dir.join(self.next_file_name());
        let file = IndexFile::create(
            path,
            self.slot_num,
            self.max_index_num,
            end_phy_offset,
            end_timestamp,
        )?;
        self.files.push(file);
        Ok(())
    }

    /// The local creation time, or one millisecond after the newest file's name when the
    /// clock has not moved past it, so names stay unique and in creation order.
    fn next_file_name(&self) -> String {
        let now = Local::now().format(FILE_NAME_FORMAT).to_string();
        let last_name = self
            .files
            .last()
            .and_then(|f| f.path().file_name())
            .and_then(|name| name.to_str());
        match last_name {
            Some(last) if now.as_str() <= last => {
                NaiveDateTime::parse_from_str(last, FILE_NAME_FORMAT)
                    .ok()
                    .and_then(|t| t.checked_add_signed(TimeDelta::milliseconds(1)))
                    .map_or(now, |t| t.format(FILE_NAME_FORMAT).to_string())
            }
            _ => now,
        }
    }

    fn newest_full_file_end_timestamp(&self) -> i64 {
        self.files
            .iter()
            .rev()
            .find(|f| f.is_full())
            .map_or(0, IndexFile::end_timestamp)
    }
}

/// Deletes `files[i]` from disk, then from the list; on failure it stays listed.
fn remove_index_file(files: &mut Vec<IndexFile>, i: usize) -> StoreResult<()> {
    if let Some(file) = files.get(i) {
        fs::remove_file(file.path()).map_err(|e| StoreError::io(file.path(), e))?;
        files.remove(i);
    }
    Ok(())
}

fn build_key(topic: &str, key: &str) -> String {
    format!("{topic}#{key}")
}

/// Java's `indexKeyHashMethod`: `Math.abs(hashCode)`, where `abs(Integer.MIN_VALUE)` stays
/// negative and is then replaced by 0.
fn index_key_hash(key: &str) -> i32 {
    java_string_hash(key).checked_abs().unwrap_or(0)
}

/// File size for a layout, refusing ones Java could not address with `int` entry numbers
/// and ones that could never hold a key (a service would roll forever).
fn checked_file_size(path: &Path, slot_num: u32, max_index_num: u32) -> StoreResult<u64> {
    let max = i32::MAX as u32;
    if slot_num == 0 || slot_num > max || max_index_num < 2 || max_index_num > max {
        return Err(StoreError::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "index layout needs 1..={max} hash slots and 2..={max} entries, got \
                     {slot_num} and {max_index_num}"
                ),
            ),
        ));
    }
    Ok(IndexFile::file_size(slot_num, max_index_num))
}

fn map_file(file: &File) -> io::Result<MmapMut> {
    // SAFETY: the index files belong to this broker, which holds the store's lock file; no
    // other process resizes them while mapped. Every access goes through bounds-checked
    // slices of the mapping.
    let map = unsafe { MmapMut::map_mut(file) }?;
    // Hash slots and entries are written a few bytes at scattered places: readahead would
    // zero-fill a whole window on every first touch (see MappedFile::advise_random).
    if let Err(e) = map.advise(memmap2::Advice::Random) {
        tracing::debug!(error = %e, "madvise(RANDOM) on an index file failed");
    }
    Ok(map)
}

fn read_i32(buf: &[u8], pos: usize) -> Option<i32> {
    let bytes = buf.get(pos..pos.checked_add(4)?)?;
    Some(i32::from_be_bytes(bytes.try_into().ok()?))
}

fn read_i64(buf: &[u8], pos: usize) -> Option<i64> {
    let bytes = buf.get(pos..pos.checked_add(8)?)?;
    Some(i64::from_be_bytes(bytes.try_into().ok()?))
}

/// Copies `bytes` to `pos`; false if that would run past the end.
fn write_bytes(buf: &mut [u8], pos: usize, bytes: &[u8]) -> bool {
    let Some(end) = pos.checked_add(bytes.len()) else {
        return false;
    };
    match buf.get_mut(pos..end) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    const T: i64 = 1_700_000_000_000;
    const ALL_TIME: (i64, i64) = (0, i64::MAX);

    fn put_be(buf: &mut [u8], pos: usize, bytes: &[u8]) {
        buf[pos..pos + bytes.len()].copy_from_slice(bytes);
    }

    fn request<'a>(uniq_key: &'a str, keys: Option<&'a str>, n: i64) -> IndexRequest<'a> {
        IndexRequest {
            topic: "TopicTest",
            keys,
            uniq_key: Some(uniq_key),
            physical_offset: n * 100,
            store_timestamp: T + n * 1000,
            sys_flag: 0,
        }
    }

    fn query_all(service: &IndexService, key: &str) -> Vec<i64> {
        service
            .query("TopicTest", key, 100, ALL_TIME.0, ALL_TIME.1)
            .phy_offsets
    }

    /// Four messages, each with a unique key and the KEYS value "common", in files of
    /// three entries: file 1 = m0u m0c m1u, file 2 = m1c m2u m2c, file 3 = m3u m3c.
    fn three_file_service(dir: &Path) -> IndexService {
        let mut service = IndexService::open(dir, 4, 4).unwrap();
        for n in 0..4 {
            let uniq = format!("u{n}");
            service
                .build_index(&request(&uniq, Some("common"), n))
                .unwrap();
        }
        assert_eq!(service.files().len(), 3);
        service
    }

    /// xorshift64, so the corruption tests need no extra dependency.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn java_string_hash_matches_java_for_ascii_cjk_and_surrogate_pairs() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash("中文"), 646_394);
        assert_eq!(java_string_hash("TopicTest#KEY1"), -1_656_969_516);
        assert_eq!(index_key_hash("TopicTest#KEY1"), 1_656_969_516);
        assert_eq!(java_string_hash("\u{1F600}"), 1_772_899);
    }

    #[test]
    fn key_hashing_to_integer_min_value_is_indexed_under_hash_zero() {
        let dir = TempDir::new().unwrap();
        let key = "polygenelubricants";
        assert_eq!(java_string_hash(key), i32::MIN);
        assert_eq!(index_key_hash(key), 0);

        let mut file = IndexFile::create(dir.path().join("f"), 10, 8, 0, 0).unwrap();
        assert!(file.put_key(key, 4242, T));
        assert_eq!(read_i32(&file.mmap, INDEX_HEADER_SIZE), Some(1));
        let entry = file.read_entry(1).unwrap();
        assert_eq!(entry.key_hash, 0);
        assert_eq!(
            file.select_phy_offsets(key, 10, ALL_TIME.0, ALL_TIME.1),
            vec![4242]
        );
        // The empty key also hashes to 0: keys are compared by hash only.
        assert_eq!(
            file.select_phy_offsets("", 10, ALL_TIME.0, ALL_TIME.1),
            vec![4242]
        );
    }

    #[test]
    fn two_puts_produce_javas_exact_header_slot_and_entry_bytes() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("20240101000000000");
        let mut file = IndexFile::create(&path, 10, 8, 0, 0).unwrap();
        // "a" hashes to 97 and "k" to 107: both land in slot 7.
        assert!(file.put_key("a", 100, T));
        assert!(file.put_key("k", 200, T + 5_500));
        file.flush().unwrap();

        let mut expected = vec![0u8; 40 + 10 * 4 + 8 * 20];
        put_be(&mut expected, 0, &T.to_be_bytes());
        put_be(&mut expected, 8, &(T + 5_500).to_be_bytes());
        put_be(&mut expected, 16, &100i64.to_be_bytes());
        put_be(&mut expected, 24, &200i64.to_be_bytes());
        put_be(&mut expected, 32, &1i32.to_be_bytes()); // one slot in use
        put_be(&mut expected, 36, &3i32.to_be_bytes()); // next entry is number 3
        put_be(&mut expected, 40 + 7 * 4, &2i32.to_be_bytes());
        // entry 1 at 40 + 40 + 1 * 20
        put_be(&mut expected, 100, &97i32.to_be_bytes());
        put_be(&mut expected, 104, &100i64.to_be_bytes());
        put_be(&mut expected, 112, &0i32.to_be_bytes());
        put_be(&mut expected, 116, &0i32.to_be_bytes());
        // entry 2: 5.5 s after the first, truncated to 5; links back to entry 1
        put_be(&mut expected, 120, &107i32.to_be_bytes());
        put_be(&mut expected, 124, &200i64.to_be_bytes());
        put_be(&mut expected, 132, &5i32.to_be_bytes());
        put_be(&mut expected, 136, &1i32.to_be_bytes());

        assert_eq!(IndexFile::file_size(10, 8), 240);
        assert_eq!(fs::read(&path).unwrap(), expected);
    }

    #[test]
    fn default_layout_is_420_000_040_bytes() {
        assert_eq!(
            IndexFile::file_size(DEFAULT_MAX_HASH_SLOT_NUM, DEFAULT_MAX_INDEX_NUM),
            420_000_040
        );
    }

    #[test]
    fn keys_sharing_a_slot_are_chained_and_each_found() {
        let dir = TempDir::new().unwrap();
        let mut file = IndexFile::create(dir.path().join("f"), 10, 8, 0, 0).unwrap();
        assert!(file.put_key("a", 1, T)); // slot 7
        assert!(file.put_key("k", 2, T)); // slot 7
        assert!(file.put_key("Aa", 3, T)); // hash 2112, slot 2
        assert!(file.put_key("BB", 4, T)); // hash 2112 too

        let (b, e) = ALL_TIME;
        assert_eq!(file.select_phy_offsets("a", 10, b, e), vec![1]);
        assert_eq!(file.select_phy_offsets("k", 10, b, e), vec![2]);
        assert_eq!(file.select_phy_offsets("u", 10, b, e), Vec::<i64>::new());
        // Equal hashes are indistinguishable here; the caller re-checks the message keys.
        assert_eq!(file.select_phy_offsets("Aa", 10, b, e), vec![4, 3]);
        assert_eq!(file.select_phy_offsets("Aa", 1, b, e), vec![4]);
        assert_eq!(file.header.hash_slot_count, 2);
    }

    #[test]
    fn select_keeps_only_entries_inside_the_time_range() {
        let dir = TempDir::new().unwrap();
        let mut file = IndexFile::create(dir.path().join("f"), 10, 8, 0, 0).unwrap();
        assert!(file.put_key("key", 1, T));
        assert!(file.put_key("key", 2, T + 10_000));
        assert!(file.put_key("key", 3, T + 20_000));

        assert_eq!(
            file.select_phy_offsets("key", 10, T + 5_000, T + 15_000),
            vec![2]
        );
        assert_eq!(
            file.select_phy_offsets("key", 10, T + 10_000, i64::MAX),
            vec![3, 2]
        );
        assert_eq!(
            file.select_phy_offsets("key", 10, 0, T + 15_000),
            vec![2, 1]
        );
        assert_eq!(
            file.select_phy_offsets("key", 10, T + 21_000, i64::MAX),
            Vec::<i64>::new()
        );
        assert!(file.is_time_matched(T + 5_000, T + 6_000));
        assert!(file.is_time_matched(0, i64::MAX));
        assert!(!file.is_time_matched(T + 21_000, i64::MAX));
    }

    #[test]
    fn first_entry_of_a_seeded_file_measures_time_from_the_previous_files_end() {
        let dir = TempDir::new().unwrap();
        let mut file = IndexFile::create(dir.path().join("f"), 10, 8, 500, T).unwrap();
        assert_eq!((file.begin_timestamp(), file.end_timestamp()), (T, T));
        assert_eq!(file.end_phy_offset(), 500);

        assert!(file.put_key("key", 600, T + 7_000));
        assert_eq!(file.begin_timestamp(), T + 7_000);
        assert_eq!(file.read_entry(1).unwrap().time_diff, 7);
        // Java's quirk: the entry now reads back as stored 7 s after its real time.
        assert_eq!(
            file.select_phy_offsets("key", 10, T + 7_000, T + 7_000),
            Vec::<i64>::new()
        );
        assert_eq!(file.select_phy_offsets("key", 10, T, T + 14_000), vec![600]);
    }

    #[test]
    fn a_full_file_refuses_keys() {
        let dir = TempDir::new().unwrap();
        let mut file = IndexFile::create(dir.path().join("f"), 4, 4, 0, 0).unwrap();
        for n in 0..3 {
            assert!(!file.is_full());
            assert!(file.put_key(&format!("k{n}"), n, T));
        }
        assert!(file.is_full());
        assert!(!file.put_key("k3", 3, T));
        assert_eq!(file.end_phy_offset(), 2);
    }

    #[test]
    fn open_rejects_a_file_of_the_wrong_size_as_corrupt() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("f");
        drop(IndexFile::create(&path, 10, 8, 0, 0).unwrap());
        assert!(IndexFile::open(&path, 10, 8).is_ok());
        assert!(matches!(
            IndexFile::open(&path, 10, 9),
            Err(StoreError::Corrupt { offset: 240, .. })
        ));
        assert!(
            IndexFile::create(&path, 10, 8, 0, 0).is_err(),
            "create never reuses a file"
        );
    }

    #[test]
    fn layouts_that_cannot_hold_a_key_are_refused() {
        let dir = TempDir::new().unwrap();
        assert!(IndexFile::create(dir.path().join("a"), 10, 1, 0, 0).is_err());
        assert!(IndexFile::create(dir.path().join("b"), 0, 8, 0, 0).is_err());
        assert!(IndexService::open(dir.path().join("index"), 10, 1).is_err());
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn service_rolls_to_a_new_file_when_full_and_queries_across_files() {
        let dir = TempDir::new().unwrap();
        let service = three_file_service(dir.path());

        assert_eq!(query_all(&service, "common"), vec![300, 200, 100, 0]);
        assert_eq!(query_all(&service, "u0"), vec![0]);
        assert_eq!(query_all(&service, "u3"), vec![300]);
        assert_eq!(
            service
                .query("TopicTest", "common", 3, 0, i64::MAX)
                .phy_offsets,
            vec![300, 200, 100]
        );
        assert!(query_all(&service, "nothing").is_empty());
        assert!(service
            .query("OtherTopic", "u0", 10, 0, i64::MAX)
            .phy_offsets
            .is_empty());

        let result = service.query("TopicTest", "u1", 10, T + 1_000, T + 1_000);
        assert_eq!(result.phy_offsets, vec![100]);
        assert_eq!(result.index_last_update_timestamp, T + 3_000);
        assert_eq!(result.index_last_update_phy_offset, 300);

        // The second file is seeded from the first one's end.
        let second = &service.files()[1];
        assert_eq!(second.header.begin_phy_offset, 100);
        assert_eq!(service.checkpoint_index_timestamp(), T + 2_000);
        assert_eq!(service.last_file_end_timestamp(), T + 3_000);
    }

    #[test]
    fn file_names_are_unique_increasing_local_times_even_within_one_millisecond() {
        let dir = TempDir::new().unwrap();
        let mut service = IndexService::open(dir.path(), 4, 2).unwrap();
        for n in 0..20 {
            service.build_index(&request("u", None, n)).unwrap();
        }
        let names: Vec<String> = service
            .files()
            .iter()
            .map(|f| f.path().file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(names.len(), 20);
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        for name in &names {
            assert_eq!(name.len(), 17);
            assert!(NaiveDateTime::parse_from_str(name, FILE_NAME_FORMAT).is_ok());
        }
        assert_eq!(query_all(&service, "u").len(), 20);
    }

    #[test]
    fn reopened_service_finds_the_same_keys_and_keeps_writing() {
        let dir = TempDir::new().unwrap();
        three_file_service(dir.path()).flush().unwrap();

        let mut service = IndexService::open(dir.path(), 4, 4).unwrap();
        assert_eq!(service.files().len(), 3);
        assert_eq!(query_all(&service, "common"), vec![300, 200, 100, 0]);
        assert_eq!(service.checkpoint_index_timestamp(), T + 2_000);

        service.build_index(&request("u4", None, 4)).unwrap();
        assert_eq!(query_all(&service, "u4"), vec![400]);
        assert_eq!(service.files().len(), 3, "the last file still had room");
    }

    #[test]
    fn recover_drops_files_newer_than_the_checkpoint_and_replay_refills_them() {
        let dir = TempDir::new().unwrap();
        let checkpoint = three_file_service(dir.path()).checkpoint_index_timestamp();
        assert_eq!(checkpoint, T + 2_000);

        let mut service = IndexService::open(dir.path(), 4, 4).unwrap();
        assert_eq!(service.recover(checkpoint).unwrap(), 1);
        assert_eq!(service.files().len(), 2);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        assert!(query_all(&service, "u3").is_empty());
        assert_eq!(query_all(&service, "common"), vec![200, 100, 0]);

        // Commit-log replay: m1 is below the newest file's end offset and skipped; m2 sits
        // at that offset and is indexed again, as in Java; m3 is new.
        for n in 1..4 {
            let uniq = format!("u{n}");
            service
                .build_index(&request(&uniq, Some("common"), n))
                .unwrap();
        }
        assert_eq!(query_all(&service, "u1"), vec![100]);
        assert_eq!(query_all(&service, "u2"), vec![200, 200]);
        assert_eq!(query_all(&service, "u3"), vec![300]);
    }

    #[test]
    fn rolled_back_transaction_records_are_not_indexed() {
        let dir = TempDir::new().unwrap();
        let mut service = IndexService::open(dir.path(), 10, 8).unwrap();
        let cases = [
            ("plain", 0x0, true),
            ("prepared", 0x4, true),
            ("commit", 0x8, true),
            ("rollback", 0xC, false),
            ("rollback-compressed", 0xC | 0x1, false),
        ];
        for (n, (key, sys_flag, _)) in cases.iter().enumerate() {
            let req = IndexRequest {
                sys_flag: *sys_flag,
                ..request(key, None, n as i64)
            };
            service.build_index(&req).unwrap();
        }
        for (key, _, indexed) in cases {
            assert_eq!(!query_all(&service, key).is_empty(), indexed, "{key}");
        }
    }

    #[test]
    fn keys_are_split_on_single_spaces_and_empty_ones_skipped() {
        let dir = TempDir::new().unwrap();
        let mut service = IndexService::open(dir.path(), 10, 16).unwrap();
        let req = IndexRequest {
            uniq_key: None,
            ..request("", Some("  k1 k2  k3 "), 1)
        };
        service.build_index(&req).unwrap();
        for key in ["k1", "k2", "k3"] {
            assert_eq!(query_all(&service, key), vec![100], "{key}");
        }
        assert_eq!(service.files()[0].header.index_count, 4);
    }

    #[test]
    fn delete_expired_removes_old_files_but_never_the_newest() {
        let dir = TempDir::new().unwrap();
        let mut service = three_file_service(dir.path());
        // File ends: 100, 200, 300.
        assert_eq!(service.delete_expired(100).unwrap(), 0);
        assert_eq!(service.delete_expired(150).unwrap(), 1);
        assert_eq!(service.delete_expired(i64::MAX).unwrap(), 1);
        assert_eq!(service.files().len(), 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(query_all(&service, "u3"), vec![300]);

        service.destroy().unwrap();
        assert!(service.files().is_empty());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_cyclic_chain_ends_the_walk_instead_of_spinning() {
        let dir = TempDir::new().unwrap();
        let mut file = IndexFile::create(dir.path().join("f"), 10, 8, 0, 0).unwrap();
        assert!(file.put_key("a", 1, T));
        assert!(file.put_key("k", 2, T));
        // Entry 1 now points forward to entry 2, closing a cycle 2 -> 1 -> 2.
        let pos = file.entry_pos(1).unwrap() + ENTRY_PREV_INDEX_POS;
        assert!(write_bytes(&mut file.mmap, pos, &2i32.to_be_bytes()));
        assert_eq!(
            file.select_phy_offsets("u", 10, ALL_TIME.0, ALL_TIME.1),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn corrupted_files_never_panic_on_query_or_put() {
        let dir = TempDir::new().unwrap();
        let (slots, max) = (16u32, 64u32);
        let size = IndexFile::file_size(slots, max) as usize;
        for seed in 1..=40u64 {
            let path = dir.path().join(format!("f{seed}"));
            let mut file = IndexFile::create(&path, slots, max, 0, 0).unwrap();
            for n in 0..40 {
                assert!(file.put_key(&format!("key{n}"), n, T + n * 1000));
            }
            drop(file);

            let mut bytes = fs::read(&path).unwrap();
            let mut noise = Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            // Odd seeds also scramble the header; even ones only slots and entries.
            let from = if seed % 2 == 1 { 0 } else { INDEX_HEADER_SIZE };
            for byte in &mut bytes[from..] {
                *byte = noise.next() as u8;
            }
            if seed % 4 == 0 {
                // Plausible small links make long walks through garbage likely.
                for i in 1..max as usize {
                    let pos = INDEX_HEADER_SIZE + slots as usize * 4 + i * 20 + 16;
                    let link = (noise.next() % u64::from(max + 2)) as i32 - 1;
                    bytes[pos..pos + 4].copy_from_slice(&link.to_be_bytes());
                }
            }
            fs::write(&path, &bytes).unwrap();
            assert_eq!(bytes.len(), size);

            let mut file = IndexFile::open(&path, slots, max).unwrap();
            for n in 0..100 {
                let key = format!("key{n}");
                let _ = file.select_phy_offsets(&key, 1000, i64::MIN, i64::MAX);
                let _ = file.select_phy_offsets(&key, 1000, T, T + 20_000);
                let _ = file.is_time_matched(i64::MIN, i64::MAX);
            }
            for n in 0..100 {
                let _ = file.put_key(&format!("new{n}"), n, i64::MAX - n);
                let _ = file.put_key(&format!("old{n}"), n, i64::MIN + n);
            }
            for n in 0..100 {
                let _ = file.select_phy_offsets(&format!("new{n}"), 1000, i64::MIN, i64::MAX);
            }
            file.flush().unwrap();
        }

        let mut service = IndexService::open(dir.path(), slots, max).unwrap();
        let _ = service.query("TopicTest", "key1", 1000, i64::MIN, i64::MAX);
        for n in 0..200 {
            let uniq = format!("u{n}");
            service
                .build_index(&request(&uniq, Some("a b"), n))
                .unwrap();
        }
        let _ = service.query("TopicTest", "a", 1000, i64::MIN, i64::MAX);
    }
}
