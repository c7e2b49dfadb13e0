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
use super::message::{
    self, check_record, offset_msg_id, sysflag, DispatchInfo, MessageToStore, RecordCheck,
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
        let mut offset = from;
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

    /// Forgets a deleted topic's counters.
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

    /// Recovery: scans records from `from` (the start of a file), checking each (and its
    /// body CRC when `check_crc`), hands every valid one to `dispatch`, and truncates the
    /// log at the first invalid or torn record. Returns the new end offset.
    pub fn recover(
        &mut self,
        from: i64,
        check_crc: bool,
        mut dispatch: impl FnMut(&DispatchInfo),
    ) -> StoreResult<i64> {
        let files = self.reader.files.files();
        let start = from.max(self.reader.files.min_offset());
        let mut offset = start;
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
                        pos += info.total_size as usize;
                        offset = file.from_offset() + pos as i64;
                    }
                    RecordCheck::Blank { .. } => {
                        offset = file.from_offset() + file.size() as i64;
                        continue 'files;
                    }
                    _ => break 'files,
                }
            }
        }
        self.writer.truncate(offset)?;
        Ok(offset)
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
mod tests;
