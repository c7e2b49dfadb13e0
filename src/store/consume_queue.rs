//! One consume queue, `consumequeue/TOPIC/QUEUEID/<20-digit offset>`: a stream of 20-byte
//! units (commit-log offset i64, record size i32, tag code i64), unit n at byte n × 20.
//! Plain data: the ConsumeQueue actor owns the writing half; pulls read through the
//! cloneable [`ConsumeQueueReader`] with no lock.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::error::StoreResult;
use super::mapped_file_queue::{FileUse, MappedFileQueue, QueueWriter};

pub const CQ_UNIT_SIZE: usize = 20;
/// RocketMQ's default consume-queue file: 300,000 units.
pub const DEFAULT_CQ_FILE_SIZE: usize = 300_000 * CQ_UNIT_SIZE;
/// Size field of a blank unit, written before the first unit of a queue that starts past 0.
const BLANK_SIZE: i32 = i32::MAX;

/// One unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    /// Logical offset of the unit in the queue.
    pub queue_offset: i64,
    pub phys_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqUnit {
    fn parse(queue_offset: i64, b: &[u8]) -> CqUnit {
        let mut off = [0u8; 8];
        off.copy_from_slice(&b[0..8]);
        let mut size = [0u8; 4];
        size.copy_from_slice(&b[8..12]);
        let mut tag = [0u8; 8];
        tag.copy_from_slice(&b[12..20]);
        CqUnit {
            queue_offset,
            phys_offset: i64::from_be_bytes(off),
            size: i32::from_be_bytes(size),
            tags_code: i64::from_be_bytes(tag),
        }
    }

    fn is_valid(&self) -> bool {
        self.phys_offset >= 0 && self.size > 0 && self.size != BLANK_SIZE
    }
}

fn encode_unit(buf: &mut [u8], phys_offset: i64, size: i32, tags_code: i64) {
    buf[0..8].copy_from_slice(&phys_offset.to_be_bytes());
    buf[8..12].copy_from_slice(&size.to_be_bytes());
    buf[12..20].copy_from_slice(&tags_code.to_be_bytes());
}

/// The directory of one queue.
pub fn queue_dir(root: &Path, topic: &str, queue_id: i32) -> PathBuf {
    root.join("consumequeue")
        .join(topic)
        .join(queue_id.to_string())
}

struct Shared {
    files: MappedFileQueue,
    /// First logical offset whose unit still points into the commit log.
    min_logic_offset: AtomicI64,
}

/// Lock-free reads of one consume queue.
#[derive(Clone)]
pub struct ConsumeQueueReader {
    topic: Arc<str>,
    queue_id: i32,
    shared: Arc<Shared>,
}

impl ConsumeQueueReader {
    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// Next logical offset to be written (RocketMQ's max offset, exclusive).
    pub fn max_offset(&self) -> i64 {
        self.shared.files.max_offset() / CQ_UNIT_SIZE as i64
    }

    pub fn min_offset(&self) -> i64 {
        let first = self.shared.files.min_offset() / CQ_UNIT_SIZE as i64;
        first.max(self.shared.min_logic_offset.load(Ordering::Acquire))
    }

    /// The unit at a logical offset, if written.
    pub fn unit(&self, queue_offset: i64) -> Option<CqUnit> {
        if queue_offset < 0 {
            return None;
        }
        let bytes = self
            .shared
            .files
            .read(queue_offset * CQ_UNIT_SIZE as i64, CQ_UNIT_SIZE)?;
        Some(CqUnit::parse(queue_offset, &bytes))
    }

    /// Up to `max` units from `from`, stopping at a file end, the written end, or a blank
    /// unit (which the caller skips past).
    pub fn units(&self, from: i64, max: usize) -> Vec<CqUnit> {
        let mut out = Vec::with_capacity(max.min(64));
        let Some(file) = self.shared.files.find(from * CQ_UNIT_SIZE as i64) else {
            return out;
        };
        let start = (from * CQ_UNIT_SIZE as i64 - file.from_offset()) as usize;
        let available = (file.wrote().saturating_sub(start) / CQ_UNIT_SIZE).min(max);
        let Some(bytes) = file.read(start, available * CQ_UNIT_SIZE) else {
            return out;
        };
        for (i, chunk) in bytes.chunks_exact(CQ_UNIT_SIZE).enumerate() {
            out.push(CqUnit::parse(from + i as i64, chunk));
        }
        out
    }

    /// The logical offset one past the last unit of the file holding `queue_offset`: where
    /// a reader continues when the data it wanted is gone (OFFSET_FOUND_NULL).
    pub fn roll_next_file(&self, queue_offset: i64) -> i64 {
        let per_file = (self.shared.files.file_size() / CQ_UNIT_SIZE) as i64;
        queue_offset + per_file - queue_offset.rem_euclid(per_file)
    }

    /// Flushes written units (msync is safe beside the writer); returns the flushed byte
    /// offset.
    pub fn flush(&self) -> StoreResult<i64> {
        self.shared.files.flush()
    }

    /// Store time of the first message, via a lookup into the commit log.
    pub fn earliest_unit(&self) -> Option<CqUnit> {
        self.unit(self.min_offset()).filter(CqUnit::is_valid)
    }

    /// The first logical offset whose message was stored at or after `timestamp` (or the
    /// last one stored at or before it, for `upper`), by binary search over store times
    /// that `store_time` reads from the commit log.
    pub fn offset_by_time(
        &self,
        timestamp: i64,
        upper: bool,
        store_time: impl Fn(&CqUnit) -> Option<i64>,
    ) -> i64 {
        let (mut lo, mut hi) = (self.min_offset(), self.max_offset() - 1);
        if hi < lo {
            return self.max_offset();
        }
        let time_at = |o: i64| {
            self.unit(o)
                .filter(CqUnit::is_valid)
                .and_then(|u| store_time(&u))
        };
        let mut found: Option<i64> = None;
        while lo <= hi {
            let mid = lo + (hi - lo) / 2;
            let Some(t) = time_at(mid) else {
                lo = mid + 1;
                continue;
            };
            if upper {
                if t <= timestamp {
                    found = Some(mid);
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            } else if t >= timestamp {
                found = Some(mid);
                hi = mid - 1;
            } else {
                lo = mid + 1;
            }
        }
        match found {
            Some(o) => o,
            None if upper => self.min_offset(),
            None => self.max_offset(),
        }
    }
}

/// The writing half of one consume queue.
pub struct ConsumeQueue {
    reader: ConsumeQueueReader,
    writer: QueueWriter,
}

impl ConsumeQueue {
    /// Opens (or creates) the queue's directory. Call [`recover`](Self::recover) before
    /// writing.
    pub fn load(root: &Path, topic: &str, queue_id: i32, file_size: usize) -> StoreResult<Self> {
        let files = MappedFileQueue::load_with(
            &queue_dir(root, topic, queue_id),
            file_size - file_size % CQ_UNIT_SIZE,
            FileUse::SmallUnits,
        )?;
        let writer = files.writer().ok_or_else(|| {
            super::error::StoreError::InvalidMessage(format!(
                "consume queue {topic}/{queue_id} is already open"
            ))
        })?;
        let shared = Arc::new(Shared {
            files,
            min_logic_offset: AtomicI64::new(0),
        });
        Ok(ConsumeQueue {
            reader: ConsumeQueueReader {
                topic: topic.into(),
                queue_id,
                shared,
            },
            writer,
        })
    }

    pub fn reader(&self) -> ConsumeQueueReader {
        self.reader.clone()
    }

    /// Finds the last valid unit (scanning the last files, as RocketMQ does), truncates
    /// what follows it, and drops every unit pointing at or past `commit_log_max` so a
    /// consume queue never points past the commit log. Returns the commit-log offset just
    /// past the last message the queue references.
    pub fn recover(&mut self, commit_log_max: i64) -> StoreResult<i64> {
        let files = self.reader.shared.files.files();
        let mut end = files.first().map(|f| f.from_offset()).unwrap_or(0);
        let mut max_phys = 0i64;
        'files: for f in files.iter() {
            let mut pos = 0;
            while pos + CQ_UNIT_SIZE <= f.size() {
                let Some(b) = f.read_raw(pos, CQ_UNIT_SIZE) else {
                    break 'files;
                };
                let u = CqUnit::parse(0, b);
                if u.size == BLANK_SIZE && u.phys_offset == 0 {
                    pos += CQ_UNIT_SIZE; // filler before a late first unit
                    end = f.from_offset() + pos as i64;
                    continue;
                }
                if !u.is_valid() || u.phys_offset + u.size as i64 > commit_log_max {
                    break 'files;
                }
                max_phys = max_phys.max(u.phys_offset + u.size as i64);
                pos += CQ_UNIT_SIZE;
                end = f.from_offset() + pos as i64;
            }
        }
        self.writer.truncate(end)?;
        Ok(max_phys)
    }

    /// Appends the unit for logical offset `queue_offset`. A unit already present (seen
    /// again after recovery) is skipped; a queue that starts past zero is padded with blank
    /// units, as RocketMQ pads it.
    pub fn put(
        &mut self,
        queue_offset: i64,
        phys_offset: i64,
        size: i32,
        tags_code: i64,
    ) -> StoreResult<()> {
        let expected = queue_offset * CQ_UNIT_SIZE as i64;
        loop {
            let current = self.reader.shared.files.max_offset();
            let file = if self.reader.shared.files.files().is_empty() {
                self.writer.current(expected)?
            } else {
                self.writer.current(current)?
            };
            let at = file.end_offset();
            if expected < at {
                return Ok(()); // already dispatched before a restart
            }
            let blank = expected > at;
            let (o, s, t) = if blank {
                (0, BLANK_SIZE, 0)
            } else {
                (phys_offset, size, tags_code)
            };
            let end = (at - file.from_offset()) as usize + CQ_UNIT_SIZE;
            if end <= file.size() {
                self.writer.back_to(&file, end)?;
            }
            let put = file.append_with::<super::error::StoreError>(CQ_UNIT_SIZE, |b| {
                encode_unit(b, o, s, t);
                Ok(CQ_UNIT_SIZE)
            });
            match put {
                Ok(Some(_)) if !blank => return Ok(()),
                Ok(Some(_)) => continue,
                Ok(None) => {
                    self.writer.roll(expected)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Flushes written units; returns the flushed byte offset.
    pub fn flush(&self) -> StoreResult<i64> {
        self.reader.flush()
    }

    /// After commit-log files are deleted: units pointing below `commit_log_min` are no
    /// longer readable, so the minimum logical offset moves past them, and whole files that
    /// only hold such units are deleted.
    pub fn correct_min_offset(&self, commit_log_min: i64) -> StoreResult<()> {
        let files = &self.reader.shared.files;
        files.delete_from_front(|f| {
            let last_unit = f.size().saturating_sub(CQ_UNIT_SIZE);
            f.read(last_unit, CQ_UNIT_SIZE)
                .map(|b| {
                    let u = CqUnit::parse(0, b);
                    u.phys_offset + u.size as i64 <= commit_log_min
                })
                .unwrap_or(false)
        })?;
        let r = &self.reader;
        let mut o = r.shared.files.min_offset() / CQ_UNIT_SIZE as i64;
        while let Some(u) = r.unit(o) {
            if u.is_valid() && u.phys_offset >= commit_log_min {
                break;
            }
            o += 1;
        }
        r.shared.min_logic_offset.fetch_max(o, Ordering::AcqRel);
        Ok(())
    }

    /// Drops every unit (the queue is rebuilt from the commit log).
    pub fn reset(&mut self) -> StoreResult<()> {
        self.writer.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thousands of written queues must cost neither a descriptor each nor 5.7 MB of disk
    /// each up front: a file's blocks follow its units a chunk ahead, and the mapping is
    /// all that stays open.
    #[test]
    fn consume_queue_files_take_blocks_as_units_arrive_and_hold_no_descriptor() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let size = 300_000 * CQ_UNIT_SIZE;
        let mut cq = ConsumeQueue::load(dir.path(), "Sparse", 0, size).unwrap();
        cq.put(0, 0, 100, 0).unwrap();
        let file = dir
            .path()
            .join("consumequeue/Sparse/0/00000000000000000000");
        let allocated = |f: &std::path::Path| std::fs::metadata(f).unwrap().blocks() * 512;
        let first = allocated(&file);
        assert!(first >= CQ_UNIT_SIZE as u64, "the written unit has blocks");
        assert!(
            first <= 4 * crate::store::mapped_file_queue::UNIT_CHUNK as u64,
            "{first} bytes allocated for one unit of a {size}-byte file"
        );
        let units = 2 * crate::store::mapped_file_queue::UNIT_CHUNK / CQ_UNIT_SIZE + 10;
        for q in 1..units as i64 {
            cq.put(q, q * 100, 100, 0).unwrap();
        }
        assert!(allocated(&file) >= (units * CQ_UNIT_SIZE) as u64);
        assert!(allocated(&file) < size as u64 / 4);
        let open: Vec<_> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.starts_with(dir.path()))
            .collect();
        assert!(open.is_empty(), "store files left open: {open:?}");
        assert_eq!(cq.reader().max_offset(), units as i64);
    }

    #[test]
    fn units_have_rocketmqs_twenty_byte_layout() {
        let dir = tempfile::tempdir().unwrap();
        let mut cq = ConsumeQueue::load(dir.path(), "TopicTest", 3, 200).unwrap();
        cq.put(0, 0x0102030405060708, 250, -7).unwrap();
        cq.flush().unwrap();
        let file = dir
            .path()
            .join("consumequeue/TopicTest/3/00000000000000000000");
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(bytes.len(), 200);
        let mut golden = Vec::new();
        golden.extend_from_slice(&0x0102030405060708i64.to_be_bytes());
        golden.extend_from_slice(&250i32.to_be_bytes());
        golden.extend_from_slice(&(-7i64).to_be_bytes());
        assert_eq!(&bytes[..20], golden.as_slice());
    }

    #[test]
    fn reads_span_files_and_report_min_and_max() {
        let dir = tempfile::tempdir().unwrap();
        let mut cq = ConsumeQueue::load(dir.path(), "T", 0, 60).unwrap();
        for i in 0..7 {
            cq.put(i, i * 100, 100, i).unwrap();
        }
        let r = cq.reader();
        assert_eq!((r.min_offset(), r.max_offset()), (0, 7));
        let units = r.units(2, 10);
        assert_eq!(units.len(), 1, "a read stops at the end of a file");
        assert_eq!(
            units[0],
            CqUnit {
                queue_offset: 2,
                phys_offset: 200,
                size: 100,
                tags_code: 2
            }
        );
        assert_eq!(r.units(3, 10).len(), 3);
        assert_eq!(r.unit(6).unwrap().phys_offset, 600);
        assert!(r.unit(7).is_none());
        assert_eq!(r.roll_next_file(4), 6);
    }

    #[test]
    fn a_queue_starting_past_zero_is_padded_with_blank_units() {
        let dir = tempfile::tempdir().unwrap();
        let mut cq = ConsumeQueue::load(dir.path(), "T", 0, 100).unwrap();
        cq.put(7, 1000, 50, 0).unwrap();
        let r = cq.reader();
        assert_eq!(r.max_offset(), 8);
        assert_eq!(r.unit(5).unwrap().size, i32::MAX);
        assert_eq!(r.unit(7).unwrap().phys_offset, 1000);
        cq.put(7, 1000, 50, 0).unwrap();
        assert_eq!(r.max_offset(), 8, "a repeated unit is skipped");
    }

    #[test]
    fn recovery_drops_units_past_the_commit_log_and_torn_tails() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut cq = ConsumeQueue::load(dir.path(), "T", 1, 100).unwrap();
            for i in 0..8 {
                cq.put(i, i * 10, 10, 0).unwrap();
            }
            cq.flush().unwrap();
        }
        let mut cq = ConsumeQueue::load(dir.path(), "T", 1, 100).unwrap();
        let max_phys = cq.recover(55).unwrap();
        assert_eq!(max_phys, 50);
        assert_eq!(
            cq.reader().max_offset(),
            5,
            "units at 50.. point past the commit log"
        );
        cq.put(5, 50, 10, 0).unwrap();
        assert_eq!(cq.reader().unit(5).unwrap().phys_offset, 50);
    }

    #[test]
    fn offsets_by_time_bisect_store_times() {
        let dir = tempfile::tempdir().unwrap();
        let mut cq = ConsumeQueue::load(dir.path(), "T", 0, 2000).unwrap();
        for i in 0..50 {
            cq.put(i, i * 10, 10, 0).unwrap();
        }
        let r = cq.reader();
        let time = |u: &CqUnit| Some(1000 + u.phys_offset); // message i stored at 1000 + 10 i
        assert_eq!(r.offset_by_time(1095, false, time), 10);
        assert_eq!(r.offset_by_time(1095, true, time), 9);
        assert_eq!(r.offset_by_time(0, false, time), 0);
        assert_eq!(r.offset_by_time(99_999, false, time), 50);
    }

    #[test]
    fn the_min_offset_follows_commit_log_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let mut cq = ConsumeQueue::load(dir.path(), "T", 0, 60).unwrap();
        for i in 0..9 {
            cq.put(i, i * 100, 100, 0).unwrap();
        }
        cq.correct_min_offset(450).unwrap();
        let r = cq.reader();
        assert_eq!(r.min_offset(), 5);
        assert!(r.unit(0).is_none(), "the first file is deleted");
    }
}
