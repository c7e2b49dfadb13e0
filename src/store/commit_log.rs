//! The commit log: every message of every topic, appended back to back in RocketMQ's
//! stored-record layout across `commitlog/<20-digit offset>` files. The [`CommitLog`] is
//! the writing half (one owner: the CommitLogWriter actor): it assigns queue offsets and
//! physical offsets, encodes records straight into the mapped file, and writes the blank
//! filler when a record does not fit the rest of a file. [`CommitLogReader`] is the
//! lock-free reading half.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;

use super::error::{StoreError, StoreResult};
use super::mapped_file_queue::{MappedFileQueue, QueueWriter};
use crate::protocol::flag::sysflag;
use crate::protocol::message::{
    self, check_record, offset_msg_id, DispatchInfo, MessageToStore, RecordCheck,
};

/// RocketMQ's default commit-log file: 1 GiB.
pub const DEFAULT_COMMIT_LOG_FILE_SIZE: usize = 1024 * 1024 * 1024;
/// Bytes the end-of-file filler needs.
const BLANK_LEN: usize = 8;

/// What an append did.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendResult {
    /// Physical offset of the first record.
    pub wrote_offset: i64,
    pub wrote_bytes: usize,
    /// Offset message id of each record.
    pub msg_ids: Vec<String>,
    pub store_timestamp: i64,
    /// Queue offset of the first record (0 for prepared and rollback transaction records).
    pub queue_offset: i64,
    pub msg_num: usize,
}

impl AppendResult {
    /// Physical offset just past the last record: what a sync flush must reach.
    pub fn end_offset(&self) -> i64 {
        self.wrote_offset + self.wrote_bytes as i64
    }

    /// The SEND response's `msgId`: one id, or every id joined by commas for a batch.
    pub fn msg_id(&self) -> String {
        self.msg_ids.join(",")
    }
}

/// Lock-free reads of the commit log.
#[derive(Clone, Debug)]
pub struct CommitLogReader {
    files: MappedFileQueue,
}

impl CommitLogReader {
    pub fn files(&self) -> &MappedFileQueue {
        &self.files
    }

    pub fn min_offset(&self) -> i64 {
        self.files.min_offset()
    }

    /// Offset just past the last written byte: readers and the dispatcher stop here.
    pub fn max_offset(&self) -> i64 {
        self.files.max_offset()
    }

    /// Flushes written bytes (msync beside the writer is safe); returns the flushed offset.
    pub fn flush(&self) -> StoreResult<i64> {
        self.files.flush()
    }

    /// `size` bytes at `offset` as a zero-copy view.
    pub fn read(&self, offset: i64, size: usize) -> Option<Bytes> {
        self.files.read(offset, size)
    }

    /// What a master streams to a slave from `offset`: the written bytes of the file
    /// holding it, at most `max`, never past that file's end (Java's
    /// `getCommitLogData`). `None` when nothing is written at `offset` yet, or it is
    /// outside the files on disk.
    pub fn transfer_chunk(&self, offset: i64, max: usize) -> Option<Bytes> {
        let file = self.files.find(offset)?;
        let pos = (offset - file.from_offset()) as usize;
        let len = file.wrote().saturating_sub(pos).min(max);
        if len == 0 {
            return None;
        }
        file.slice(pos, len)
    }

    /// The whole record at `offset` (its size is read from its first four bytes).
    pub fn read_record(&self, offset: i64) -> Option<Bytes> {
        let head = self.files.read(offset, 4)?;
        let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if size <= 0 {
            return None;
        }
        self.files.read(offset, size as usize)
    }

    /// The store time of the record at `offset`, for offset-by-time searches.
    pub fn store_timestamp(&self, offset: i64, size: i32) -> Option<i64> {
        let record = self.read(offset, size.max(0) as usize)?;
        message::decode_record(&record)
            .ok()
            .map(|m| m.store_timestamp)
    }

    /// Walks records from `from` up to the written end, handing each to `visit`; skips the
    /// blank filler at file ends. Returns where it stopped (the next offset to read).
    pub fn scan(&self, from: i64, max_records: usize, mut visit: impl FnMut(DispatchInfo)) -> i64 {
        // A slave's log starts where its master's last file started when it first
        // connected: nothing below its first file will ever be written.
        let mut offset = from.max(self.min_offset());
        let mut seen = 0;
        while seen < max_records {
            let Some(file) = self.files.find(offset) else {
                break;
            };
            let pos = (offset - file.from_offset()) as usize;
            let Some(rest) = file.read(pos, file.wrote().saturating_sub(pos)) else {
                break;
            };
            if rest.is_empty() {
                if file.is_full() {
                    offset = file.from_offset() + file.size() as i64;
                    continue;
                }
                break;
            }
            match check_record(rest, false) {
                RecordCheck::Record(info) => {
                    offset += info.total_size as i64;
                    seen += 1;
                    visit(info);
                }
                RecordCheck::Blank { .. } => offset = file.from_offset() + file.size() as i64,
                _ => break,
            }
        }
        offset
    }
}

/// Commit-log settings.
#[derive(Debug, Clone)]
pub struct CommitLogConfig {
    pub file_size: usize,
    /// Largest message body accepted (RocketMQ's maxMessageSize, 4 MiB).
    pub max_message_size: usize,
}

impl Default for CommitLogConfig {
    fn default() -> Self {
        CommitLogConfig {
            file_size: DEFAULT_COMMIT_LOG_FILE_SIZE,
            max_message_size: 4 * 1024 * 1024,
        }
    }
}

/// The writing half.
pub struct CommitLog {
    reader: CommitLogReader,
    writer: QueueWriter,
    config: CommitLogConfig,
    /// Next queue offset per `topic-queueId`, as RocketMQ keys its topicQueueTable.
    queue_offsets: HashMap<String, i64>,
}

fn queue_key(topic: &str, queue_id: i32) -> String {
    format!("{topic}-{queue_id}")
}

impl CommitLog {
    /// Opens `root/commitlog`; call [`recover`](Self::recover) before appending.
    pub fn open(root: &Path, config: CommitLogConfig) -> StoreResult<Self> {
        let files = MappedFileQueue::load(&root.join("commitlog"), config.file_size)?;
        let writer = files
            .writer()
            .ok_or_else(|| StoreError::InvalidMessage("the commit log is already open".into()))?;
        Ok(CommitLog {
            reader: CommitLogReader { files },
            writer,
            config,
            queue_offsets: HashMap::new(),
        })
    }

    pub fn reader(&self) -> CommitLogReader {
        self.reader.clone()
    }

    /// New files are created only with room for them, and a file that finds none refuses
    /// writes through `space` until there is.
    pub fn watch_space(&mut self, space: std::sync::Arc<super::disk_space::DiskSpace>) {
        self.writer.watch_space(space);
    }

    /// Where the next record's queue offset for a queue starts (after recovery, from the
    /// consume queue's max offset).
    pub fn set_queue_offset(&mut self, topic: &str, queue_id: i32, next: i64) {
        self.queue_offsets.insert(queue_key(topic, queue_id), next);
    }

    pub fn queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.queue_offsets
            .get(&queue_key(topic, queue_id))
            .copied()
            .unwrap_or(0)
    }

    /// Appends through `pwrite` and flushes with `fdatasync` (SYNC_FLUSH), rather than
    /// stores into the mapping and `msync` (see `store/mapped_file.rs`).
    pub fn set_write_through(&mut self, on: bool) {
        self.writer.set_write_through(on);
    }

    /// Forgets a deleted topic's counters.
    /// A clean stop: the file prepared ahead is removed now rather than at drop.
    pub fn discard_prepared(&mut self) {
        self.writer.discard_prepared();
    }

    pub fn remove_topic(&mut self, topic: &str) {
        let prefix = format!("{topic}-");
        self.queue_offsets
            .retain(|k, _| !(k.starts_with(&prefix) && k[prefix.len()..].parse::<i32>().is_ok()));
    }

    /// Appends one message, or a batch as consecutive records in one file.
    pub fn append(
        &mut self,
        msgs: &[MessageToStore],
        store_timestamp: i64,
    ) -> StoreResult<AppendResult> {
        if msgs.is_empty() {
            return Err(StoreError::InvalidMessage("nothing to append".into()));
        }
        let mut total = 0usize;
        for m in msgs {
            m.validate(self.config.max_message_size)?;
            total += m.encoded_len();
        }
        if total + BLANK_LEN > self.config.file_size {
            return Err(StoreError::MessageTooLarge {
                size: total,
                limit: self.config.file_size - BLANK_LEN,
            });
        }
        let mut file = self.writer.current(0)?;
        if file.remaining() < total + BLANK_LEN {
            let remaining = file.remaining();
            if remaining >= BLANK_LEN {
                file.append_with::<StoreError>(remaining, |b| {
                    message::encode_blank(b, remaining as i32);
                    Ok(remaining)
                })?;
            }
            file = self.writer.roll(0)?;
        }
        let wrote_offset = file.end_offset();
        let mut queue_offsets = Vec::with_capacity(msgs.len());
        for m in msgs {
            let counts = !matches!(
                sysflag::transaction_value(m.sys_flag),
                sysflag::TRANSACTION_PREPARED_TYPE | sysflag::TRANSACTION_ROLLBACK_TYPE
            );
            let key = queue_key(&m.topic, m.queue_id);
            let next = self.queue_offsets.get(&key).copied().unwrap_or(0);
            queue_offsets.push(if counts { next } else { 0 });
            if counts {
                self.queue_offsets.insert(key, next + 1);
            }
        }
        let mut msg_ids = Vec::with_capacity(msgs.len());
        let written = file.append_with::<StoreError>(total, |buf| {
            let mut pos = 0;
            for (m, qo) in msgs.iter().zip(&queue_offsets) {
                let phys = wrote_offset + pos as i64;
                pos += m.encode_into(&mut buf[pos..], *qo, phys, store_timestamp)?;
                msg_ids.push(offset_msg_id(&m.store_host, phys));
            }
            Ok(pos)
        })?;
        if written.is_none() {
            return Err(StoreError::InvalidMessage(
                "commit log file has no room after rolling".into(),
            ));
        }
        Ok(AppendResult {
            wrote_offset,
            wrote_bytes: total,
            msg_ids,
            store_timestamp,
            queue_offset: queue_offsets.first().copied().unwrap_or(0),
            msg_num: msgs.len(),
        })
    }

    /// A slave's append: `data` is a chunk of the master's commit log that starts at
    /// `offset`, copied as is (records, blank fillers and all), so the two logs stay byte
    /// for byte the same. `offset` must be this log's end, or, for an empty log, anywhere:
    /// the first file is then created at the start of the master's file holding it. A
    /// chunk never crosses a file boundary (a master reads at most to the end of a file).
    /// Returns the new end offset.
    pub fn append_raw(&mut self, offset: i64, data: &[u8]) -> StoreResult<i64> {
        let end = self.reader.max_offset();
        let empty = self.reader.files.files().is_empty();
        if !empty && offset != end {
            return Err(StoreError::Corrupt {
                offset,
                reason: format!("replicated bytes start at {offset}, the log ends at {end}"),
            });
        }
        if data.is_empty() {
            return Ok(end);
        }
        let mut file = self.writer.current(offset)?;
        if file.is_full() || file.end_offset() != offset {
            file = self.writer.roll(offset)?;
        }
        if file.end_offset() != offset || data.len() > file.remaining() {
            return Err(StoreError::Corrupt {
                offset,
                reason: format!(
                    "{} replicated bytes do not fit the file at {} (written to {})",
                    data.len(),
                    file.from_offset(),
                    file.end_offset()
                ),
            });
        }
        file.append_with::<StoreError>(data.len(), |buf| {
            buf.copy_from_slice(data);
            Ok(data.len())
        })?;
        Ok(file.end_offset())
    }

    /// Recovery: scans records from `from` (the start of a file), checking each (and its
    /// body CRC when `check_crc`), hands every valid one to `dispatch`, and truncates the
    /// log at the first invalid or torn record. Returns the new end offset.
    pub fn recover(
        &mut self,
        from: i64,
        check_crc: bool,
        dispatch: impl FnMut(&DispatchInfo),
    ) -> StoreResult<i64> {
        let (end, _) = self.valid_end(from, check_crc, dispatch);
        self.writer.truncate(end)?;
        Ok(end)
    }

    /// Recovery of a slave's log after a crash: as [`CommitLog::recover`], and the last
    /// record goes too. A slave appends its master's stream in frames that end anywhere, so
    /// a kill -9 while it catches up can leave a last record whose tail was never written
    /// (zeros); when the missing part is in its properties, its sizes and body CRC (which
    /// covers the body only) still check out and nothing tells it from a whole one. The
    /// slave reports the shorter end and its master sends that record again.
    pub fn recover_replica(&mut self, from: i64, check_crc: bool) -> StoreResult<i64> {
        let (end, last) = self.valid_end(from, check_crc, |_| {});
        let end = last.unwrap_or(end);
        self.writer.truncate(end)?;
        Ok(end)
    }

    /// Where the run of valid records from `from` ends, and where the last of them (or
    /// the end-of-file blank) starts.
    fn valid_end(
        &self,
        from: i64,
        check_crc: bool,
        mut dispatch: impl FnMut(&DispatchInfo),
    ) -> (i64, Option<i64>) {
        let files = self.reader.files.files();
        let start = from.max(self.reader.files.min_offset());
        let (mut offset, mut last) = (start, None);
        'files: for file in files
            .iter()
            .filter(|f| f.from_offset() + f.size() as i64 > start)
        {
            let mut pos = (offset - file.from_offset()).max(0) as usize;
            while pos < file.size() {
                let Some(rest) = file.read_raw(pos, file.size() - pos) else {
                    break 'files;
                };
                match check_record(rest, check_crc) {
                    RecordCheck::Record(info) => {
                        if info.physical_offset != file.from_offset() + pos as i64 {
                            break 'files; // a record copied from elsewhere: not ours
                        }
                        dispatch(&info);
                        last = Some(offset);
                        pos += info.total_size as usize;
                        offset = file.from_offset() + pos as i64;
                    }
                    RecordCheck::Blank { .. } => {
                        last = Some(offset);
                        offset = file.from_offset() + file.size() as i64;
                        continue 'files;
                    }
                    _ => break 'files,
                }
            }
        }
        (offset, last)
    }

    /// Flushes written bytes; returns the flushed offset.
    pub fn flush(&self) -> StoreResult<i64> {
        self.reader.flush()
    }

    /// The start offsets of files whose first record was stored at or before `timestamp`,
    /// newest first: where crash recovery may start (RocketMQ checks the first record of
    /// each file against the checkpoint).
    pub fn recovery_start(&self, checkpoint_min_timestamp: i64) -> i64 {
        let files = self.reader.files.files();
        for f in files.iter().rev() {
            let Some(head) = f.read_raw(0, f.size()) else {
                continue;
            };
            if let RecordCheck::Record(info) = check_record(head, false) {
                if info.store_timestamp <= checkpoint_min_timestamp {
                    return f.from_offset();
                }
            }
        }
        files.first().map(|f| f.from_offset()).unwrap_or(0)
    }

    /// Where a clean restart re-checks from: the third-last file, as RocketMQ 4.9 does.
    pub fn clean_recovery_start(&self) -> i64 {
        let files = self.reader.files.files();
        files
            .iter()
            .rev()
            .nth(2)
            .or(files.first())
            .map(|f| f.from_offset())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::protocol::message::{decode_record, property, MessageToStore};

    fn msg(topic: &str, queue_id: i32, body: &[u8], tags: &str) -> MessageToStore {
        let born: SocketAddr = "10.0.0.7:50000".parse().unwrap();
        let store: SocketAddr = "192.168.0.10:10911".parse().unwrap();
        MessageToStore {
            topic: topic.into(),
            queue_id,
            flag: 0,
            body: Bytes::copy_from_slice(body),
            properties: format!("TAGS\u{1}{tags}\u{2}WAIT\u{1}true\u{2}"),
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: born,
            store_host: store,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }

    fn open(dir: &std::path::Path, file_size: usize) -> CommitLog {
        CommitLog::open(
            dir,
            CommitLogConfig {
                file_size,
                max_message_size: 1024,
            },
        )
        .unwrap()
    }

    #[test]
    fn appends_assign_physical_and_per_queue_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), 4096);
        let a = log.append(&[msg("T", 0, b"one", "A")], 1).unwrap();
        let b = log.append(&[msg("T", 0, b"two", "A")], 2).unwrap();
        let c = log.append(&[msg("T", 1, b"three", "B")], 3).unwrap();
        assert_eq!((a.wrote_offset, a.queue_offset), (0, 0));
        assert_eq!((b.wrote_offset, b.queue_offset), (a.end_offset(), 1));
        assert_eq!(c.queue_offset, 0, "another queue counts on its own");
        assert_eq!(a.msg_id(), "C0A8000A00002A9F0000000000000000");
        let r = log.reader();
        let rec = decode_record(&r.read_record(b.wrote_offset).unwrap()).unwrap();
        assert_eq!(rec.body.as_ref(), b"two");
        assert_eq!(
            (rec.queue_offset, rec.physical_offset, rec.store_timestamp),
            (1, b.wrote_offset, 2)
        );
        assert_eq!(property(&rec.properties, "TAGS"), Some("A"));
    }

    #[test]
    fn a_batch_becomes_consecutive_records_with_their_own_ids() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), 4096);
        let batch = [
            msg("T", 2, b"a", "x"),
            msg("T", 2, b"bb", "x"),
            msg("T", 2, b"ccc", "x"),
        ];
        let r = log.append(&batch, 9).unwrap();
        assert_eq!((r.msg_num, r.queue_offset, r.msg_ids.len()), (3, 0, 3));
        let mut seen = Vec::new();
        let end = log
            .reader()
            .scan(0, 100, |d| seen.push((d.queue_offset, d.physical_offset)));
        assert_eq!(end, r.end_offset());
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(r.msg_id().split(',').count(), 3);
    }

    #[test]
    fn a_record_that_does_not_fit_rolls_after_a_blank_filler() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), 1024);
        let body = [7u8; 300];
        let mut results = Vec::new();
        for _ in 0..4 {
            results.push(log.append(&[msg("T", 0, &body, "A")], 5).unwrap());
        }
        // Each record is a little over 400 bytes: two fit a file, the third rolls.
        assert_eq!(
            results[2].wrote_offset, 1024,
            "the third record starts the second file"
        );
        let first = std::fs::read(dir.path().join("commitlog/00000000000000000000")).unwrap();
        let blank_at = results[1].end_offset() as usize;
        let remaining = (1024 - blank_at) as i32;
        assert_eq!(&first[blank_at..blank_at + 4], &remaining.to_be_bytes());
        assert_eq!(
            &first[blank_at + 4..blank_at + 8],
            &crate::protocol::message::record::BLANK_MAGIC_CODE.to_be_bytes()
        );
        let mut n = 0;
        log.reader().scan(0, 100, |_| n += 1);
        assert_eq!(n, 4, "the scan skips the filler");
    }

    #[test]
    fn oversized_messages_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), 4096);
        let err = log
            .append(&[msg("T", 0, &[0u8; 2000], "A")], 1)
            .unwrap_err();
        assert!(matches!(err, StoreError::MessageTooLarge { .. }), "{err}");
        assert_eq!(log.reader().max_offset(), 0);
    }

    #[test]
    fn prepared_transaction_records_do_not_take_a_queue_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), 4096);
        let mut half = msg("T", 0, b"half", "A");
        half.sys_flag = sysflag::TRANSACTION_PREPARED_TYPE;
        assert_eq!(log.append(&[half], 1).unwrap().queue_offset, 0);
        assert_eq!(
            log.append(&[msg("T", 0, b"n", "A")], 1)
                .unwrap()
                .queue_offset,
            0
        );
        assert_eq!(
            log.append(&[msg("T", 0, b"n", "A")], 1)
                .unwrap()
                .queue_offset,
            1
        );
    }

    /// `n` small records in a log of 4 KiB files under `dir`, flushed; their end offsets.
    fn small_records(dir: &Path, n: u8) -> Vec<i64> {
        let mut log = open(dir, 4096);
        let ends = (0..n)
            .map(|i| {
                log.append(&[msg("T", 0, &[i; 40], "A")], 1)
                    .unwrap()
                    .end_offset()
            })
            .collect();
        log.flush().unwrap();
        ends
    }

    #[test]
    fn recovery_truncates_a_torn_tail_and_keeps_whole_records() {
        let dir = tempfile::tempdir().unwrap();
        let ends = small_records(dir.path(), 5);
        // Tear the last record: clobber its body so the CRC no longer matches.
        let path = dir.path().join("commitlog/00000000000000000000");
        let mut bytes = std::fs::read(&path).unwrap();
        let torn = ends[3] as usize + 100;
        bytes[torn] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();

        let mut log = open(dir.path(), 4096);
        let mut dispatched = 0;
        let end = log.recover(0, true, |_| dispatched += 1).unwrap();
        assert_eq!(end, ends[3]);
        assert_eq!(dispatched, 4);
        let next = log.append(&[msg("T", 0, b"after", "A")], 1).unwrap();
        assert_eq!(
            next.wrote_offset, ends[3],
            "writing resumes where the valid log ends"
        );
    }

    #[test]
    fn a_replica_drops_its_last_record_whose_unwritten_tail_passes_the_checks() {
        let dir = tempfile::tempdir().unwrap();
        let ends = small_records(dir.path(), 4);
        // What a kill -9 mid-frame leaves: the last record's properties never written.
        let path = dir.path().join("commitlog/00000000000000000000");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[ends[3] as usize - 10..ends[3] as usize].fill(0);
        std::fs::write(&path, &bytes).unwrap();

        let mut log = open(dir.path(), 4096);
        assert_eq!(
            log.recover(0, true, |_| {}).unwrap(),
            ends[3],
            "the torn record checks out"
        );
        let mut log = open(dir.path(), 4096);
        assert_eq!(log.recover_replica(0, true).unwrap(), ends[2]);
        assert_eq!(log.reader.max_offset(), ends[2]);
    }

    #[test]
    fn recovery_start_follows_the_checkpoint_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), 1024);
        for t in 0..8 {
            log.append(&[msg("T", 0, &[0u8; 300], "A")], 1000 * (t + 1))
                .unwrap();
        }
        // Two records a file: files start with records stored at 1000, 3000, 5000, 7000.
        assert_eq!(log.recovery_start(5000), 2048);
        assert_eq!(log.recovery_start(4999), 1024);
        assert_eq!(log.recovery_start(500), 0);
        assert_eq!(log.recovery_start(99_999), 3072);
        assert_eq!(log.clean_recovery_start(), 1024);
    }

    /// Streams `master` into `slave` from `from` the way an HA connection does.
    fn replicate(master: &CommitLogReader, slave: &mut CommitLog, from: i64) -> i64 {
        let mut at = from;
        while let Some(chunk) = master.transfer_chunk(at, 300) {
            at = slave.append_raw(at, &chunk).unwrap();
        }
        at
    }

    #[test]
    fn a_slave_log_copied_from_the_last_file_matches_byte_for_byte() {
        let (mdir, sdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut master = open(mdir.path(), 1024);
        for i in 0..7u8 {
            master.append(&[msg("T", 0, &[i; 300], "A")], 1).unwrap();
        }
        let end = master.reader().max_offset();
        let start = crate::protocol::ha::transfer_start(0, end, 1024);
        assert_eq!(
            start, 3072,
            "seven records of ~400 bytes fill three files and start a fourth"
        );
        let mut slave = open(sdir.path(), 1024);
        assert_eq!(replicate(&master.reader(), &mut slave, start), end);
        assert_eq!(slave.reader().min_offset(), 3072);
        for i in 7..12u8 {
            master.append(&[msg("T", 0, &[i; 300], "A")], 1).unwrap();
        }
        let end = master.reader().max_offset();
        let resume = slave.reader().max_offset();
        assert_eq!(replicate(&master.reader(), &mut slave, resume), end);
        for f in slave.reader().files().files().iter() {
            let name = f.path().file_name().unwrap().to_owned();
            let m = std::fs::read(mdir.path().join("commitlog").join(&name)).unwrap();
            let s = std::fs::read(f.path()).unwrap();
            assert_eq!(m, s, "file {name:?} differs");
        }
        let mut queue_offsets = Vec::new();
        slave
            .reader()
            .scan(0, 100, |d| queue_offsets.push(d.queue_offset));
        assert_eq!(
            queue_offsets,
            (6..12).collect::<Vec<_>>(),
            "the scan starts at the first file"
        );
    }

    #[test]
    fn replicated_bytes_must_continue_the_log() {
        let (mdir, sdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut master = open(mdir.path(), 1024);
        master.append(&[msg("T", 0, b"x", "A")], 1).unwrap();
        let chunk = master.reader().transfer_chunk(0, 1 << 20).unwrap();
        let mut slave = open(sdir.path(), 1024);
        let end = slave.append_raw(0, &chunk).unwrap();
        let err = slave.append_raw(end + 8, &chunk).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let err = slave.append_raw(end, &[0u8; 2000]).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "a chunk larger than the file: {err}"
        );
        assert_eq!(
            slave.reader().max_offset(),
            end,
            "refused bytes are not written"
        );
        assert!(
            master.reader().transfer_chunk(end, 10).is_none(),
            "nothing past the end"
        );
        assert!(master.reader().transfer_chunk(1 << 40, 10).is_none());
    }

    /// Writes seed inputs for the stored_record fuzz target (run with FERROCKET_WRITE_SEEDS=dir).
    #[test]
    fn write_stored_record_fuzz_seeds() {
        let Ok(dir) = std::env::var("FERROCKET_WRITE_SEEDS") else {
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let mut log = open(tmp.path(), 4096);
        let mut v6 = msg("TopicV6", 1, b"ipv6 body", "B");
        v6.born_host = "[2001:db8::1]:4000".parse().unwrap();
        v6.store_host = "[2001:db8::2]:10911".parse().unwrap();
        let long = msg(&"L".repeat(200), 0, b"v2 magic", "C");
        for (name, m) in [
            ("v4", msg("TopicTest", 3, b"hello world", "TagA")),
            ("v6", v6),
            ("v2", long),
        ] {
            let r = log.append(&[m], 1_700_000_000_123).unwrap();
            let bytes = log.reader().read(r.wrote_offset, r.wrote_bytes).unwrap();
            std::fs::write(format!("{dir}/seed_{name}"), &bytes).unwrap();
        }
        let batch = crate::protocol::message::encode_batch(&[
            crate::protocol::message::BatchItem {
                flag: 1,
                body: Bytes::from_static(b"a"),
                properties: "KEYS\u{1}k1\u{2}".into(),
            },
            crate::protocol::message::BatchItem {
                flag: 0,
                body: Bytes::from_static(b"bb"),
                properties: String::new(),
            },
        ]);
        std::fs::write(format!("{dir}/seed_batch"), &batch).unwrap();
    }
}
