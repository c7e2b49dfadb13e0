//! The `timerlog/` mapped-file queue: 52-byte big-endian units (size, prevPos, magic,
//! enqueue time, delay, commit-log offset and size, Java `String.hashCode` of the real
//! topic, reserved), each linked to the previous unit of its slot, and a 16-byte blank
//! filler at a file's end, as Java's `TimerLog` writes them. It appends, reads a unit at a
//! position, recovers (keeps well-formed units after a known boundary, drops a torn tail)
//! and deletes files from the front once every unit in them has been delivered.

use std::collections::BTreeMap;
use std::path::Path;

use super::{be_i32, be_i64};
use crate::store::error::{StoreError, StoreResult};
use crate::store::mapped_file_queue::{MappedFileQueue, QueueWriter};

pub const UNIT_SIZE: usize = 52;
pub(super) const MIN_BLANK_LEN: usize = 16;
/// Java writes `0xBBCCDDEE ^ 1880681586 + 8`, and `+` binds tighter than `^`.
pub const BLANK_MAGIC_CODE: i32 = (0xBBCC_DDEE_u32 as i32) ^ (1_880_681_586 + 8);
pub const MAGIC_DEFAULT: i32 = 1;
pub const MAGIC_ROLL: i32 = 1 << 1;
pub const MAGIC_DELETE: i32 = 1 << 2;

/// One timer-log unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerUnit {
    pub prev_pos: i64,
    pub magic: i32,
    /// When it was linked (Java's currWriteTimeMs), ms.
    pub enqueue_ms: i64,
    /// Delivery (or roll) time minus `enqueue_ms`.
    pub delay_ms: i32,
    pub offset_py: i64,
    pub size_py: i32,
    pub topic_hash: i32,
}

impl TimerUnit {
    /// Saturating: both fields come from disk.
    pub fn delayed_ms(&self) -> i64 {
        self.enqueue_ms.saturating_add(self.delay_ms as i64)
    }

    pub fn is_roll(&self) -> bool {
        self.magic & MAGIC_ROLL != 0
    }

    pub fn encode(&self, b: &mut [u8]) {
        b[0..4].copy_from_slice(&(UNIT_SIZE as i32).to_be_bytes());
        b[4..12].copy_from_slice(&self.prev_pos.to_be_bytes());
        b[12..16].copy_from_slice(&self.magic.to_be_bytes());
        b[16..24].copy_from_slice(&self.enqueue_ms.to_be_bytes());
        b[24..28].copy_from_slice(&self.delay_ms.to_be_bytes());
        b[28..36].copy_from_slice(&self.offset_py.to_be_bytes());
        b[36..40].copy_from_slice(&self.size_py.to_be_bytes());
        b[40..44].copy_from_slice(&self.topic_hash.to_be_bytes());
        b[44..52].copy_from_slice(&0i64.to_be_bytes());
    }

    /// Decodes a unit; `None` unless it is a well-formed 52-byte unit (any bytes may come
    /// from disk).
    pub fn decode(b: &[u8]) -> Option<TimerUnit> {
        let b = b.get(..UNIT_SIZE)?;
        let magic = be_i32(b, 12);
        if be_i32(b, 0) != UNIT_SIZE as i32
            || magic & !(MAGIC_DEFAULT | MAGIC_ROLL | MAGIC_DELETE) != 0
        {
            return None;
        }
        Some(TimerUnit {
            prev_pos: be_i64(b, 4),
            magic,
            enqueue_ms: be_i64(b, 16),
            delay_ms: be_i32(b, 24),
            offset_py: be_i64(b, 28),
            size_py: be_i32(b, 36),
            topic_hash: be_i32(b, 40),
        })
    }
}

/// What the start of a timer-log position holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEntry {
    Unit(TimerUnit),
    /// The filler to a file's end: skip `len` bytes.
    Blank(usize),
    /// Not a unit: the written end.
    End,
}

/// Reads what starts at `b` (at least 16 bytes for a blank, 52 for a unit), where
/// `left_in_file` bytes remain in its file.
pub fn decode_entry(b: &[u8], left_in_file: usize) -> LogEntry {
    if b.len() >= MIN_BLANK_LEN {
        let size = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let magic = i32::from_be_bytes([b[12], b[13], b[14], b[15]]);
        if magic == BLANK_MAGIC_CODE && size >= 0 && size as usize == left_in_file {
            return LogEntry::Blank(left_in_file);
        }
    }
    match TimerUnit::decode(b) {
        Some(u) if UNIT_SIZE <= left_in_file => LogEntry::Unit(u),
        _ => LogEntry::End,
    }
}

/// The `timerlog/` mapped-file queue.
pub struct TimerLog {
    files: MappedFileQueue,
    writer: QueueWriter,
    /// The latest `delayed_ms` of any unit in a file, by the file's first offset. Known for
    /// files this process started (kept up to date by [`append`](Self::append)); a file
    /// found at open is scanned once it is full, by [`delete_delivered`](Self::delete_delivered).
    latest_due: BTreeMap<i64, i64>,
}

impl TimerLog {
    /// Opens `dir`, keeps every well-formed unit after `checked_to` (a position known to
    /// be a unit boundary) and drops the rest. Returns the log and the position of its last
    /// unit after `checked_to`, if any.
    pub fn open(dir: &Path, file_size: usize, checked_to: i64) -> StoreResult<(Self, Option<i64>)> {
        let files = MappedFileQueue::load(dir, file_size)?;
        let mut writer = files
            .writer()
            .ok_or_else(|| StoreError::InvalidMessage("the timer log is already open".into()))?;
        let mut pos = checked_to.clamp(files.min_offset(), files.max_offset());
        let mut last = None;
        while let Some(file) = files.find(pos) {
            let rel = (pos - file.from_offset()) as usize;
            let left = file.size() - rel;
            let head = file.read_raw(rel, left.min(UNIT_SIZE)).unwrap_or_default();
            match decode_entry(head, left) {
                LogEntry::Unit(_) => {
                    last = Some(pos);
                    pos += UNIT_SIZE as i64;
                }
                LogEntry::Blank(n) => pos += n as i64,
                LogEntry::End => break,
            }
        }
        writer.truncate(pos)?;
        Ok((
            TimerLog {
                files,
                writer,
                latest_due: BTreeMap::new(),
            },
            last,
        ))
    }

    /// Appends a unit; returns its position. Like Java, a unit never ends closer than
    /// 16 bytes to its file's end: the rest of the file becomes a blank filler.
    pub fn append(&mut self, unit: &TimerUnit) -> StoreResult<i64> {
        let mut file = self.writer.current(0)?;
        if UNIT_SIZE + MIN_BLANK_LEN > file.remaining() {
            let left = file.remaining();
            file.append_with(left, |b| {
                if b.len() >= MIN_BLANK_LEN {
                    b[0..4].copy_from_slice(&(left as i32).to_be_bytes());
                    b[4..12].copy_from_slice(&0i64.to_be_bytes());
                    b[12..16].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
                }
                Ok::<_, StoreError>(left)
            })?;
            file = self.writer.roll(0)?;
        }
        let at = file
            .append_with(UNIT_SIZE, |b| {
                unit.encode(b);
                Ok::<_, StoreError>(UNIT_SIZE)
            })?
            .ok_or_else(|| {
                StoreError::InvalidMessage("timer log file too small for a unit".into())
            })?;
        let due = unit.delayed_ms();
        match self.latest_due.get_mut(&file.from_offset()) {
            Some(latest) => *latest = (*latest).max(due),
            // Only a file this unit starts is known whole; one found at open is scanned.
            None if at == 0 => {
                self.latest_due.insert(file.from_offset(), due);
            }
            None => {}
        }
        Ok(file.from_offset() + at as i64)
    }

    /// Deletes files from the front, never the newest, while every unit in them is due
    /// before `delivered_before` (so its slot has been delivered), looking at no more than
    /// `max_files` files and scanning at most `max_scans` files found at open. Returns how
    /// many went.
    pub fn delete_delivered(
        &mut self,
        delivered_before: i64,
        max_files: usize,
        max_scans: usize,
    ) -> StoreResult<usize> {
        let files = self.files.files();
        let mut scans = 0;
        let mut keep_from = None;
        for f in files
            .iter()
            .take(files.len().saturating_sub(1))
            .take(max_files)
        {
            let latest = match self.latest_due.get(&f.from_offset()) {
                Some(&latest) => latest,
                None if scans < max_scans => {
                    scans += 1;
                    // A damaged file is kept: a slot may still link past the damage.
                    let latest = f.read(0, f.size()).and_then(latest_due).unwrap_or_else(|| {
                        tracing::warn!(
                            file = %f.path().display(),
                            "timer-log file holds something other than units; kept"
                        );
                        i64::MAX
                    });
                    self.latest_due.insert(f.from_offset(), latest);
                    latest
                }
                None => i64::MAX,
            };
            if latest >= delivered_before {
                keep_from = Some(f.from_offset());
                break;
            }
        }
        let keep_from = keep_from.unwrap_or_else(|| {
            files
                .iter()
                .take(files.len().saturating_sub(1))
                .nth(max_files)
                .map_or(i64::MAX, |f| f.from_offset())
        });
        let gone = self
            .files
            .delete_from_front(|f| f.from_offset() < keep_from)?;
        let min = self.files.min_offset();
        self.latest_due.retain(|&from, _| from >= min);
        Ok(gone)
    }

    /// The first position still on disk.
    pub fn start(&self) -> i64 {
        self.files.min_offset()
    }

    pub fn read(&self, pos: i64) -> Option<TimerUnit> {
        let file = self.files.find(pos)?;
        let b = file.read((pos - file.from_offset()) as usize, UNIT_SIZE)?;
        TimerUnit::decode(b)
    }

    pub fn end(&self) -> i64 {
        self.files.max_offset()
    }

    /// Flushes; returns the position up to which the log is on disk.
    pub fn flush(&self) -> StoreResult<i64> {
        self.files.flush()
    }
}

/// The latest `delayed_ms` of the units in `file`, the bytes of a whole timer-log file
/// (`i64::MIN` if it holds none); `None` if something other than units and the closing
/// filler is in it.
pub fn latest_due(file: &[u8]) -> Option<i64> {
    let mut latest = i64::MIN;
    let mut rel = 0;
    while rel < file.len() {
        let left = file.len() - rel;
        match decode_entry(&file[rel..rel + left.min(UNIT_SIZE)], left) {
            LogEntry::Unit(u) => {
                latest = latest.max(u.delayed_ms());
                rel += UNIT_SIZE;
            }
            LogEntry::Blank(_) => break,
            LogEntry::End => return None,
        }
    }
    Some(latest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::java_string_hash;

    #[test]
    fn units_use_javas_byte_layout() {
        let u = TimerUnit {
            prev_pos: 104,
            magic: MAGIC_DEFAULT | MAGIC_ROLL,
            enqueue_ms: 1_000,
            delay_ms: 5_000,
            offset_py: 4096,
            size_py: 200,
            topic_hash: java_string_hash("TopicTest"),
        };
        let mut b = [0u8; UNIT_SIZE];
        u.encode(&mut b);
        assert_eq!(&b[0..4], &52i32.to_be_bytes());
        assert_eq!(&b[4..12], &104i64.to_be_bytes());
        assert_eq!(&b[28..36], &4096i64.to_be_bytes());
        assert_eq!(TimerUnit::decode(&b), Some(u));
        assert_eq!(u.delayed_ms(), 6_000);
        // "TopicTest".hashCode() in Java.
        assert_eq!(java_string_hash("TopicTest"), -1_902_610_879);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("ab"), 97 * 31 + 98);
        assert_eq!(BLANK_MAGIC_CODE, (0xBBCCDDEEu32 as i32) ^ 1_880_681_594);
    }

    #[test]
    fn log_entries_decode_only_when_well_formed() {
        assert_eq!(decode_entry(&[0u8; 52], 100), LogEntry::End);
        let mut blank = [0u8; 16];
        blank[0..4].copy_from_slice(&40i32.to_be_bytes());
        blank[12..16].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
        assert_eq!(decode_entry(&blank, 40), LogEntry::Blank(40));
        assert_eq!(
            decode_entry(&blank, 41),
            LogEntry::End,
            "a blank fills exactly to the end"
        );
        let mut b = [0u8; UNIT_SIZE];
        TimerUnit {
            prev_pos: -1,
            magic: 1,
            enqueue_ms: 0,
            delay_ms: 0,
            offset_py: 0,
            size_py: 0,
            topic_hash: 0,
        }
        .encode(&mut b);
        assert!(matches!(decode_entry(&b, 52), LogEntry::Unit(_)));
        assert_eq!(decode_entry(&b, 51), LogEntry::End);
        b[15] = 9;
        assert_eq!(decode_entry(&b, 52), LogEntry::End, "unknown magic bits");
    }

    #[test]
    fn the_deletion_scan_reads_units_to_the_filler_and_refuses_anything_else() {
        let unit = |enqueue_ms: i64, delay_ms: i32| {
            let mut b = [0u8; UNIT_SIZE];
            TimerUnit {
                prev_pos: -1,
                magic: MAGIC_DEFAULT,
                enqueue_ms,
                delay_ms,
                offset_py: 0,
                size_py: 1,
                topic_hash: 0,
            }
            .encode(&mut b);
            b
        };
        let mut file = Vec::new();
        file.extend_from_slice(&unit(1_000, 5_000));
        file.extend_from_slice(&unit(2_000, 500));
        let mut blank = [0u8; MIN_BLANK_LEN];
        blank[0..4].copy_from_slice(&(MIN_BLANK_LEN as i32).to_be_bytes());
        blank[12..16].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
        file.extend_from_slice(&blank);
        assert_eq!(latest_due(&file), Some(6_000));
        assert_eq!(latest_due(&file[..2 * UNIT_SIZE]), Some(6_000), "no filler");
        assert_eq!(latest_due(&[]), Some(i64::MIN), "no units");
        file[UNIT_SIZE] = 9;
        assert_eq!(latest_due(&file), None, "a damaged unit keeps the file");
    }
}
