//! Reading messages for a pull: consume-queue units from an offset, filtered by tag code
//! and then (for property filters) by the record itself, resolved to commit-log records,
//! with RocketMQ's statuses and next offsets (`DefaultMessageStore.getMessage`). Plain
//! functions over the lock-free readers: a pull needs no actor hop.

use bytes::Bytes;

use super::commit_log::CommitLogReader;
use super::consume_queue::ConsumeQueueReader;

/// RocketMQ's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

impl GetMessageStatus {
    /// The name RocketMQ puts in the PULL response remark.
    pub fn name(self) -> &'static str {
        match self {
            GetMessageStatus::Found => "FOUND",
            GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
            GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

/// What a pull read.
#[derive(Debug, Clone)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Whole stored records, zero-copy views of the commit log.
    pub messages: Vec<Bytes>,
    /// Queue offset of each message in `messages`.
    pub queue_offsets: Vec<i64>,
    /// Commit-log offset of the last unit looked at (Java's maxPhyOffsetPulling): how far
    /// behind the log's end the consumer reads decides whether it should read a slave.
    pub max_phy_offset_pulling: i64,
}

impl GetMessageResult {
    pub fn total_bytes(&self) -> usize {
        self.messages.iter().map(Bytes::len).sum()
    }
}

/// RocketMQ's `MessageFilter`: a cheap test on the consume-queue unit's tag code, then,
/// for units that pass, a test on the stored record (a zero-copy view of the commit log).
/// A plain `Fn(i64) -> bool` over tag codes is a filter that takes every record.
pub trait MessageFilter {
    fn matches_tags_code(&self, tags_code: i64) -> bool;

    fn matches_record(&self, _record: &[u8]) -> bool {
        true
    }
}

impl<F: Fn(i64) -> bool> MessageFilter for F {
    fn matches_tags_code(&self, tags_code: i64) -> bool {
        self(tags_code)
    }
}

/// Pull limits beyond the request's `maxMsgNums` (RocketMQ's maxTransferCountOnMessageInMemory
/// and maxTransferBytesOnMessageInMemory).
#[derive(Debug, Clone, Copy)]
pub struct TransferLimits {
    pub max_msgs: usize,
    pub max_bytes: usize,
    /// Units scanned at most per pull (16,000 in RocketMQ), so a filter that matches
    /// nothing cannot make one pull walk a whole queue.
    pub max_scan: usize,
}

impl Default for TransferLimits {
    fn default() -> Self {
        TransferLimits {
            max_msgs: 32,
            max_bytes: 256 * 1024,
            max_scan: 16_000,
        }
    }
}

/// Reads up to `max_msgs` messages from `offset` of a queue; `matches` filters on the
/// consume-queue tag code.
pub fn get_message(
    log: &CommitLogReader,
    queue: Option<&ConsumeQueueReader>,
    offset: i64,
    max_msgs: usize,
    limits: TransferLimits,
    filter: impl MessageFilter,
) -> GetMessageResult {
    let mut r = GetMessageResult {
        status: GetMessageStatus::NoMatchedLogicQueue,
        next_begin_offset: 0,
        min_offset: 0,
        max_offset: 0,
        messages: Vec::new(),
        queue_offsets: Vec::new(),
        max_phy_offset_pulling: 0,
    };
    let Some(cq) = queue else { return r };
    let (min, max) = (cq.min_offset(), cq.max_offset());
    r.min_offset = min;
    r.max_offset = max;
    if max == 0 {
        r.status = GetMessageStatus::NoMessageInQueue;
        return r;
    }
    if offset < min {
        r.status = GetMessageStatus::OffsetTooSmall;
        r.next_begin_offset = min;
        return r;
    }
    if offset == max {
        r.status = GetMessageStatus::OffsetOverflowOne;
        r.next_begin_offset = offset;
        return r;
    }
    if offset > max {
        r.status = GetMessageStatus::OffsetOverflowBadly;
        r.next_begin_offset = max;
        return r;
    }
    let want = max_msgs.clamp(1, limits.max_msgs.max(1));
    let log_min = log.min_offset();
    let mut next = offset;
    let mut bytes = 0usize;
    let mut removed = false;
    let mut scanned = 0usize;
    // Units are read in growing chunks rather than all `max_scan` at once, so an unfiltered
    // pull of 32 parses about 32 units, while a selective filter can still scan up to
    // `max_scan` (RocketMQ walks the consume-queue buffer lazily the same way).
    let mut chunk = want.max(32);
    'scan: while scanned < limits.max_scan {
        let units = cq.units(next, chunk.min(limits.max_scan - scanned));
        if units.is_empty() {
            if scanned == 0 {
                r.status = GetMessageStatus::OffsetFoundNull;
                r.next_begin_offset = cq.roll_next_file(offset);
                return r;
            }
            break;
        }
        scanned += units.len();
        chunk = (chunk * 4).min(4096);
        for u in units {
            if r.messages.len() >= want {
                break 'scan;
            }
            next = u.queue_offset + 1;
            r.max_phy_offset_pulling = u.phys_offset;
            if u.size <= 0 || u.size == i32::MAX {
                continue; // blank unit
            }
            if u.phys_offset < log_min {
                removed = true;
                continue;
            }
            if !filter.matches_tags_code(u.tags_code) {
                continue;
            }
            if !r.messages.is_empty() && bytes + u.size as usize > limits.max_bytes {
                next = u.queue_offset;
                break 'scan;
            }
            match log.read(u.phys_offset, u.size as usize) {
                // Unmatched records still move `next` past them, so the consumer advances.
                Some(record) if !filter.matches_record(&record) => {}
                Some(record) => {
                    bytes += record.len();
                    r.messages.push(record);
                    r.queue_offsets.push(u.queue_offset);
                }
                None => {
                    removed = true;
                }
            }
        }
    }
    r.next_begin_offset = next;
    r.status = if !r.messages.is_empty() {
        GetMessageStatus::Found
    } else if removed {
        GetMessageStatus::MessageWasRemoving
    } else {
        GetMessageStatus::NoMatchedMessage
    };
    r
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::protocol::message::MessageToStore;
    use crate::store::config::StoreConfig;
    use crate::store::message_store::MessageStore;

    fn msg(tag: &str) -> MessageToStore {
        MessageToStore {
            born_timestamp: 1,
            ..MessageToStore::new(
                "T",
                0,
                Bytes::from_static(b"0123456789"),
                format!("TAGS\u{1}{tag}\u{2}"),
            )
        }
    }

    fn store(dir: &std::path::Path, tags: &[&str]) -> MessageStore {
        let cfg = StoreConfig {
            store_path_root_dir: dir.to_owned(),
            disk_full_ratio: 100, // the host's disk use must not refuse these writes
            mapped_file_size_commit_log: 64 * 1024,
            mapped_file_size_consume_queue: 20 * 100,
            max_message_size: 4096,
            max_hash_slot_num: 16,
            max_index_num: 64,
            ..Default::default()
        };
        let mut s = MessageStore::open(&cfg).unwrap();
        for t in tags {
            s.put(&[msg(t)], 5).unwrap();
        }
        s.dispatch().unwrap();
        s
    }

    fn pull(
        s: &MessageStore,
        topic: &str,
        offset: i64,
        max: usize,
        only: Option<&str>,
    ) -> GetMessageResult {
        let code = only.map(|t| crate::protocol::message::java_string_hash(t) as i64);
        get_message(
            &s.commit_log().reader(),
            s.consume_queue(topic, 0).map(|c| c.reader()).as_ref(),
            offset,
            max,
            TransferLimits::default(),
            |c| code.is_none_or(|w| w == c),
        )
    }

    #[test]
    fn statuses_follow_rocketmqs_rules() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), &["A", "B", "A", "A"]);
        let r = pull(&s, "T", 0, 32, None);
        assert_eq!(
            (
                r.status,
                r.messages.len(),
                r.next_begin_offset,
                r.max_offset
            ),
            (GetMessageStatus::Found, 4, 4, 4)
        );
        assert_eq!(
            pull(&s, "T", 4, 32, None).status,
            GetMessageStatus::OffsetOverflowOne
        );
        let bad = pull(&s, "T", 9, 32, None);
        assert_eq!(
            (bad.status, bad.next_begin_offset),
            (GetMessageStatus::OffsetOverflowBadly, 4)
        );
        let none = pull(&s, "Nope", 0, 32, None);
        assert_eq!(none.status, GetMessageStatus::NoMatchedLogicQueue);
    }

    #[test]
    fn tag_filters_skip_units_and_report_no_match() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), &["A", "B", "A", "C"]);
        let a = pull(&s, "T", 0, 32, Some("A"));
        assert_eq!(a.queue_offsets, vec![0, 2]);
        assert_eq!(a.next_begin_offset, 4);
        let z = pull(&s, "T", 0, 32, Some("Z"));
        assert_eq!(
            (z.status, z.next_begin_offset),
            (GetMessageStatus::NoMatchedMessage, 4)
        );
        let two = pull(&s, "T", 1, 1, Some("A"));
        assert_eq!(
            (two.queue_offsets.clone(), two.next_begin_offset),
            (vec![2], 3)
        );
    }

    /// A record filter that passes only bodies ending in `keep`.
    struct BodyEndsWith(u8);

    impl MessageFilter for BodyEndsWith {
        fn matches_tags_code(&self, _: i64) -> bool {
            true
        }

        fn matches_record(&self, record: &[u8]) -> bool {
            crate::protocol::message::decode_record(record)
                .is_ok_and(|m| m.body.last() == Some(&self.0))
        }
    }

    #[test]
    fn record_filters_scan_across_chunks_up_to_max_scan_and_advance_past_misses() {
        let dir = tempfile::tempdir().unwrap();
        let tags = vec!["A"; 99];
        let mut s = store(dir.path(), &tags);
        let mut last = msg("A");
        last.body = Bytes::from_static(b"012345678!");
        s.put(&[last], 5).unwrap();
        s.dispatch().unwrap();
        let (log, cq) = (
            s.commit_log().reader(),
            s.consume_queue("T", 0).unwrap().reader(),
        );
        let r = get_message(
            &log,
            Some(&cq),
            0,
            32,
            TransferLimits::default(),
            BodyEndsWith(b'!'),
        );
        assert_eq!((r.queue_offsets, r.next_begin_offset), (vec![99], 100));
        let limits = TransferLimits {
            max_scan: 40,
            ..Default::default()
        };
        let r = get_message(&log, Some(&cq), 0, 32, limits, BodyEndsWith(b'!'));
        assert_eq!(
            (r.status, r.next_begin_offset),
            (GetMessageStatus::NoMatchedMessage, 40)
        );
    }
}
