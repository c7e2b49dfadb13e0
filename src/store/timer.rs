//! Timer messages with arbitrary delays, as RocketMQ 5.x's `TimerMessageStore` keeps them:
//! the put-path rewrite, the wheel, the timer log and the checkpoint. Plain Rust, no
//! actors; `actors/broker/features/timer.rs` drives it.
//!
//! Data enters twice. A put with `TIMER_DELAY_SEC`, `TIMER_DELAY_MS` or `TIMER_DELIVER_MS`
//! (in that precedence) due in the future is rewritten by [`to_timer_topic`] to
//! `rmq_sys_wheel_timer` queue 0 with `TIMER_OUT_MS` (the delivery time rounded down to the
//! precision, as Java's `HookUtils.transformTimerMessage` rounds), `REAL_TOPIC` and
//! `REAL_QID`. Then [`TimerStore::enqueue_from`] reads that consume queue from its persisted
//! offset and links each record into the slot of its `TIMER_OUT_MS`: one 52-byte unit
//! appended to the timer log, whose `prevPos` points at the slot's previous last unit, and
//! the slot's `lastPos` moved to the new unit. Data leaves through
//! [`TimerStore::next_due`], which walks the slots in time order and returns a due slot's
//! units oldest first; [`from_timer_topic`] makes each the message to re-store on its real
//! topic (or, for a unit parked because its delay exceeded the roll window, back on the
//! timer topic with `TIMER_ROLL_TIMES` + 1).
//!
//! Memory: the pending set lives in mapped files only (the wheel and the timer log), so
//! anonymous memory does not grow with the number of pending timers; the page cache does.
//! The one transient allocation is the unit list of the slot being delivered (24 bytes a
//! unit, freed once the slot is delivered).
//!
//! On-disk layouts, compared with Java (big-endian like Java's `ByteBuffer`):
//! * `timerwheel`: same file, same size (7 days × 86,400 slots × 2 × 32 bytes), same slot
//!   index (`timeMs / precisionMs % (slotsTotal × 2)`) and same 32-byte slot (`timeMs /
//!   precisionMs` i64, `firstPos` i64, `lastPos` i64, `num` i32, `magic` i32). Java copies
//!   the file into a direct buffer and writes changed bytes back on flush; we write the
//!   mapping in place and msync it.
//! * `timerlog/`: same mapped-file queue (files named by 20-digit offsets, default
//!   100 MiB), same 52-byte unit (size, prevPos, magic, enqueue time, delay i32, commit-log
//!   offset, size, Java `String.hashCode` of the real topic, reserved) and the same 16-byte
//!   blank filler at a file's end. Files are deleted from the front (never the newest)
//!   once every unit in them is due before the last checkpoint's read time, so no slot
//!   that recovery can deliver again links into them ([`TimerStore::delete_delivered_files`];
//!   the latest due time per file is kept in memory for files this process wrote and found
//!   by one scan for files found at open). Java instead deletes, every 30 s, a file whose
//!   last unit's message is below the commit log's min offset: timer-log retention follows
//!   commit-log retention there, delivery here. Recovery copes with the oldest files gone:
//!   it starts at the first file on disk when the checkpoint's flush position is older.
//! * `config/timercheck`: the same seven i64 at the same offsets of a 4 KiB file
//!   (lastReadTimeMs, lastTimerLogFlushPos, lastTimerQueueOffset, masterTimerQueueOffset,
//!   data-version state, timestamp, counter). We write it with `pwrite` + fsync, Java
//!   through a mapping. `config/timermetrics` is not written.
//!
//! Recovery differs from Java's `recoverAndRevise`: the timer log is scanned forward from
//! the checkpoint's flush position while units are well formed and truncated there, and
//! the consume-queue offset resumes after the last unit's message (Java's
//! `reviseQueueOffset`), never before the checkpoint's.
//!
//! Cancellation is Java's: a delete marker is a message on the same topic with
//! `TIMER_DEL_UNIQKEY` = [`build_delete_key`]`(topic, UNIQ_KEY of the message to cancel)`
//! and the same delivery time, so it is linked into the same slot (and lowers its `num`).
//! When that slot is due, [`messages_for`] drops the markers and every record they name.
//! A marker linked after its slot was delivered cancels nothing, as in Java.

use std::collections::{BTreeMap, HashSet};
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use super::commit_log::CommitLogReader;
use super::consume_queue::ConsumeQueueReader;
use super::error::{StoreError, StoreResult};
use super::mapped_file_queue::{MappedFileQueue, QueueWriter};
use crate::protocol::flag::sysflag;
use crate::protocol::message::{
    decode_properties, decode_record_shared, encode_properties, property, MessageToStore,
    StoredMessage,
};

pub use crate::protocol::topic::TIMER_TOPIC;

/// The timer properties (`MessageConst.PROPERTY_TIMER_*`).
pub mod prop {
    pub const DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const OUT_MS: &str = "TIMER_OUT_MS";
    pub const ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    pub const DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    pub const ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    pub const DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
}

/// Slots of the wheel: 7 days of seconds, whatever the precision (Java's
/// `TIMER_WHEEL_TTL_DAY × DAY_SECS`); the file holds twice as many.
pub const SLOTS_TOTAL: usize = 7 * 86_400;
/// Slots the roll window keeps clear of the wheel's span (Java's `TIMER_BLANK_SLOTS`).
pub const TIMER_BLANK_SLOTS: usize = 60;
pub const SLOT_SIZE: usize = 32;
pub const UNIT_SIZE: usize = 52;
const MIN_BLANK_LEN: usize = 16;
/// Java writes `0xBBCCDDEE ^ 1880681586 + 8`, and `+` binds tighter than `^`.
pub const BLANK_MAGIC_CODE: i32 = (0xBBCC_DDEE_u32 as i32) ^ (1_880_681_586 + 8);
pub const MAGIC_DEFAULT: i32 = 1;
pub const MAGIC_ROLL: i32 = 1 << 1;
pub const MAGIC_DELETE: i32 = 1 << 2;
/// Size of `config/timercheck` (Java maps one OS page).
const CHECKPOINT_FILE_LEN: u64 = 4096;

/// Why a put with timer properties is refused; the text is Java's remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimerRefusal {
    /// MESSAGE_ILLEGAL (WHEEL_TIMER_MSG_ILLEGAL in Java).
    #[error("timer message illegal, the delay time should not be bigger than the max delay {max_delay_ms}ms; or if set del msg, the delay time should be bigger than the current time")]
    Illegal { max_delay_ms: i64 },
    /// SYSTEM_ERROR (WHEEL_TIMER_NOT_ENABLE).
    #[error("accurate timer message is not enabled, timerWheelEnable is false")]
    NotEnabled,
}

/// What the put path needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct TimerRules {
    pub enabled: bool,
    pub max_delay_ms: i64,
    pub precision_ms: i64,
}

/// Java's rounding of a future delivery time: down to the precision, and an exact
/// multiple one step earlier, so that a slot delivered once `now ≥ slot + precision` is
/// never early.
pub fn round_deliver_ms(deliver_ms: i64, precision_ms: i64) -> i64 {
    if deliver_ms % precision_ms == 0 {
        deliver_ms - precision_ms
    } else {
        deliver_ms / precision_ms * precision_ms
    }
}

/// Rewrites a timer message to the timer topic (Java's `HookUtils.handleScheduleMessage`
/// timer half). Returns whether it was rewritten. A message with a delay level keeps the
/// level and loses its timer properties; prepared and rolled-back transaction records, the
/// timer topic itself (rolled messages) and records that already carry `TIMER_OUT_MS`
/// (delivered ones) are left alone.
pub fn to_timer_topic(
    msg: &mut MessageToStore,
    rules: &TimerRules,
    now: i64,
) -> Result<bool, TimerRefusal> {
    let tran = sysflag::transaction_value(msg.sys_flag);
    if tran != sysflag::TRANSACTION_NOT_TYPE && tran != sysflag::TRANSACTION_COMMIT_TYPE {
        return Ok(false);
    }
    let timer_keys = [prop::DELAY_SEC, prop::DELAY_MS, prop::DELIVER_MS];
    let first_timer = timer_keys
        .iter()
        .find_map(|k| property(&msg.properties, k).map(|v| (*k, v.to_owned())));
    let Some((key, value)) = first_timer else {
        return Ok(false);
    };
    if msg.topic == TIMER_TOPIC {
        return Ok(false);
    }
    let level = property(&msg.properties, "DELAY")
        .and_then(|d| d.trim().parse::<i32>().ok())
        .unwrap_or(0);
    if level > 0 {
        let props: Vec<(String, String)> = decode_properties(&msg.properties)
            .into_iter()
            .filter(|(k, _)| !timer_keys.contains(&k.as_str()))
            .collect();
        msg.properties = encode_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        return Ok(false);
    }
    if property(&msg.properties, prop::OUT_MS).is_some() {
        return Ok(false);
    }
    if !rules.enabled {
        return Err(TimerRefusal::NotEnabled);
    }
    let illegal = TimerRefusal::Illegal {
        max_delay_ms: rules.max_delay_ms,
    };
    let parsed = value.parse::<i64>().map_err(|_| illegal.clone())?;
    let deliver = match key {
        prop::DELAY_SEC => parsed.checked_mul(1000).and_then(|d| now.checked_add(d)),
        prop::DELAY_MS => now.checked_add(parsed),
        _ => Some(parsed),
    }
    .ok_or_else(|| illegal.clone())?;
    if deliver <= now {
        if property(&msg.properties, prop::DEL_UNIQKEY).is_some() {
            return Err(illegal);
        }
        return Ok(false);
    }
    if deliver - now > rules.max_delay_ms {
        return Err(illegal);
    }
    let out = round_deliver_ms(deliver, rules.precision_ms);
    let mut props: Vec<(String, String)> = decode_properties(&msg.properties)
        .into_iter()
        .filter(|(k, _)| k != prop::OUT_MS && k != "REAL_TOPIC" && k != "REAL_QID")
        .collect();
    props.push((prop::OUT_MS.into(), out.to_string()));
    props.push(("REAL_TOPIC".into(), std::mem::take(&mut msg.topic)));
    props.push(("REAL_QID".into(), msg.queue_id.to_string()));
    msg.properties = encode_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    msg.topic = TIMER_TOPIC.to_owned();
    msg.queue_id = 0;
    Ok(true)
}

/// The message a due timer record becomes (Java's `convert` + `convertMessage`): with
/// `roll`, the same record back on the timer topic with `TIMER_ROLL_TIMES` + 1; otherwise
/// its real topic and queue. Both get `TIMER_ENQUEUE_MS` (when known) and
/// `TIMER_DEQUEUE_MS`. Java computes the stored property string before it clears
/// `REAL_TOPIC`/`REAL_QID`, so they stay in the stored record, and so they do here.
/// `None` for a record without a usable `REAL_TOPIC`/`REAL_QID` and for delete markers,
/// which Java never delivers.
pub fn from_timer_topic(
    m: &StoredMessage,
    roll: bool,
    enqueue_ms: Option<i64>,
    now: i64,
) -> Option<MessageToStore> {
    if !roll && m.property(prop::DEL_UNIQKEY).is_some() {
        return None;
    }
    let (topic, queue_id) = if roll {
        (m.topic.clone(), m.queue_id)
    } else {
        let topic = m.property("REAL_TOPIC").filter(|t| !t.is_empty())?;
        let qid = m.property("REAL_QID")?.parse::<i32>().ok()?;
        (topic.to_owned(), qid)
    };
    let rolls = m
        .property(prop::ROLL_TIMES)
        .and_then(|r| r.parse::<i32>().ok())
        .unwrap_or(0);
    let mut msg = MessageToStore::from_stored(m);
    msg.topic = topic;
    msg.queue_id = queue_id;
    let (enqueue, rolled, dequeue) = (
        enqueue_ms.map(|e| e.to_string()),
        rolls.saturating_add(1).to_string(),
        now.to_string(),
    );
    let mut set = Vec::with_capacity(3);
    if let Some(e) = &enqueue {
        set.push((prop::ENQUEUE_MS, e.as_str()));
    }
    if roll {
        set.push((prop::ROLL_TIMES, rolled.as_str()));
    }
    set.push((prop::DEQUEUE_MS, dequeue.as_str()));
    msg.edit_properties(&[], &set);
    Some(msg)
}

pub use crate::protocol::message::java_string_hash;

/// One slot of the wheel, times in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub time_ms: i64,
    pub first_pos: i64,
    pub last_pos: i64,
    pub num: i32,
    pub magic: i32,
}

impl Slot {
    /// Java's blank slot `Slot(-1, -1, -1)`.
    pub const BLANK: Slot = Slot {
        time_ms: -1,
        first_pos: -1,
        last_pos: -1,
        num: 0,
        magic: 0,
    };
}

/// The `timerwheel` file: a ring of 32-byte slots, mapped read-write.
pub struct TimerWheel {
    map: MmapMut,
    path: PathBuf,
    slots_total: usize,
    precision_ms: i64,
}

impl TimerWheel {
    /// Opens (or creates) the wheel with every block allocated; an existing file of another
    /// size is corruption, as in Java.
    pub fn open(path: &Path, slots_total: usize, precision_ms: i64) -> StoreResult<Self> {
        let len = (slots_total * 2 * SLOT_SIZE) as u64;
        let file = open_or_create(path)?;
        let found = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
        if found != 0 && found != len {
            return Err(StoreError::Corrupt {
                offset: 0,
                reason: format!("timer wheel length {found} != expected {len}"),
            });
        }
        // Backed with real blocks, not sparse: a slot written into a hole the disk cannot
        // fill would kill the process with SIGBUS.
        file.set_len(len)
            .and_then(|()| super::disk_space::allocate(&file, 0, len))
            .map_err(|e| super::disk_space::creation_error(path, len, e))?;
        // SAFETY: the file is ours (the broker's store directory) and sized above; nothing
        // else maps it while the broker runs.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(|e| StoreError::io(path, e))?;
        Ok(TimerWheel {
            map,
            path: path.to_owned(),
            slots_total,
            precision_ms,
        })
    }

    fn index(&self, time_ms: i64) -> usize {
        ((time_ms / self.precision_ms).rem_euclid((self.slots_total * 2) as i64)) as usize
    }

    /// The slot at `time_ms`'s index, whatever time it holds.
    pub fn raw_slot(&self, time_ms: i64) -> Slot {
        let at = self.index(time_ms) * SLOT_SIZE;
        decode_slot(&self.map[at..at + SLOT_SIZE], self.precision_ms)
    }

    /// The slot of `time_ms`, or [`Slot::BLANK`] if its index holds another time.
    pub fn slot(&self, time_ms: i64) -> Slot {
        let s = self.raw_slot(time_ms);
        if s.time_ms != time_ms / self.precision_ms * self.precision_ms {
            return Slot::BLANK;
        }
        s
    }

    pub fn put_slot(&mut self, time_ms: i64, first: i64, last: i64, num: i32, magic: i32) {
        let at = self.index(time_ms) * SLOT_SIZE;
        let b = &mut self.map[at..at + SLOT_SIZE];
        b[0..8].copy_from_slice(&(time_ms / self.precision_ms).to_be_bytes());
        b[8..16].copy_from_slice(&first.to_be_bytes());
        b[16..24].copy_from_slice(&last.to_be_bytes());
        b[24..28].copy_from_slice(&num.to_be_bytes());
        b[28..32].copy_from_slice(&magic.to_be_bytes());
    }

    /// Pending units in the slots from `from_ms` over the whole ring (Java's `getAllNum`).
    pub fn all_num(&self, from_ms: i64) -> i64 {
        (0..(self.slots_total * 2) as i64)
            .map(|i| self.slot(from_ms + i * self.precision_ms).num as i64)
            .sum()
    }

    pub fn flush(&self) -> StoreResult<()> {
        self.map.flush().map_err(|e| StoreError::io(&self.path, e))
    }
}

/// Big-endian i64 at `o` (0 when `b` is too short; callers pass fixed-size records).
fn be_i64(b: &[u8], o: usize) -> i64 {
    b.get(o..o + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map_or(0, i64::from_be_bytes)
}

/// Big-endian i32 at `o` (0 when `b` is too short).
fn be_i32(b: &[u8], o: usize) -> i32 {
    b.get(o..o + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, i32::from_be_bytes)
}

/// Decodes a 32-byte slot; the stored time is in units of the precision.
pub fn decode_slot(b: &[u8], precision_ms: i64) -> Slot {
    Slot {
        time_ms: be_i64(b, 0).wrapping_mul(precision_ms),
        first_pos: be_i64(b, 8),
        last_pos: be_i64(b, 16),
        num: be_i32(b, 24),
        magic: be_i32(b, 28),
    }
}

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

/// `config/timercheck`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerCheckpoint {
    pub last_read_time_ms: i64,
    pub last_timer_log_flush_pos: i64,
    pub last_timer_queue_offset: i64,
    pub master_timer_queue_offset: i64,
    pub state_version: i64,
    pub timestamp: i64,
    pub counter: i64,
}

impl TimerCheckpoint {
    pub fn encode(&self) -> [u8; 56] {
        let mut b = [0u8; 56];
        for (i, v) in [
            self.last_read_time_ms,
            self.last_timer_log_flush_pos,
            self.last_timer_queue_offset,
            self.master_timer_queue_offset,
            self.state_version,
            self.timestamp,
            self.counter,
        ]
        .iter()
        .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        b
    }

    /// Decodes the first 32 bytes, and the data version when 56 are there (older Java
    /// brokers wrote only the first four fields).
    pub fn decode(b: &[u8]) -> Option<TimerCheckpoint> {
        let at = |i: usize| -> Option<i64> {
            let s = b.get(i * 8..i * 8 + 8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            Some(i64::from_be_bytes(a))
        };
        Some(TimerCheckpoint {
            last_read_time_ms: at(0)?,
            last_timer_log_flush_pos: at(1)?,
            last_timer_queue_offset: at(2)?,
            master_timer_queue_offset: at(3)?,
            state_version: at(4).unwrap_or(0),
            timestamp: at(5).unwrap_or(0),
            counter: at(6).unwrap_or(0),
        })
    }

    /// `None` if the file does not exist yet.
    pub fn load(path: &Path) -> StoreResult<Option<TimerCheckpoint>> {
        match std::fs::read(path) {
            Ok(b) => TimerCheckpoint::decode(&b)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt {
                    offset: 0,
                    reason: format!("{} holds {} bytes, fewer than 32", path.display(), b.len()),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    /// Writes the fields in place and syncs them.
    pub fn store(&self, path: &Path) -> StoreResult<()> {
        let io = |e| StoreError::io(path, e);
        let file = open_or_create(path)?;
        if file.metadata().map_err(io)?.len() < CHECKPOINT_FILE_LEN {
            file.set_len(CHECKPOINT_FILE_LEN).map_err(io)?;
        }
        file.write_all_at(&self.encode(), 0).map_err(io)?;
        file.sync_data().map_err(io)
    }
}

/// Sizes and times the timer store runs with.
#[derive(Debug, Clone, Copy)]
pub struct TimerStoreConfig {
    pub precision_ms: i64,
    /// Delays of at least this many slots are parked and rolled (Java's
    /// `timerRollWindowSlot`); at most `slots_total − 60`.
    pub roll_window_slots: i64,
    pub slots_total: usize,
    pub timer_log_file_size: usize,
}

/// Where linking a record put it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Linked into the slot at this time.
    Linked(i64),
    /// Its slot has already been delivered: deliver it now, without a unit.
    DueNow(TimerUnit),
}

/// The wheel, the log and the progress of both.
pub struct TimerStore {
    wheel: TimerWheel,
    log: TimerLog,
    config: TimerStoreConfig,
    checkpoint_path: PathBuf,
    checkpoint: TimerCheckpoint,
    /// The next slot to deliver.
    read_time_ms: i64,
    /// The next consume-queue offset of the timer topic to link.
    queue_offset: i64,
    /// Messages of the slot at `.0` already re-stored when a delivery stopped part-way.
    pub resume: Option<(i64, usize)>,
    /// Messages whose slot had passed when they were linked and whose put failed: stored
    /// first by the next step. Memory only: a crash before then loses them.
    pub late: Vec<MessageToStore>,
}

impl TimerStore {
    /// Opens `root/{timerwheel,timerlog/,config/timercheck}`. Progress resumes from the
    /// checkpoint; the queue offset moves past the message of the timer log's last unit
    /// (read through `commit_log`), so units written after the checkpoint are not linked
    /// twice.
    pub fn open(
        root: &Path,
        config: TimerStoreConfig,
        commit_log: &CommitLogReader,
        now: i64,
    ) -> StoreResult<TimerStore> {
        let checkpoint_path = root.join("config").join("timercheck");
        let saved = TimerCheckpoint::load(&checkpoint_path)?;
        let ck = saved.unwrap_or_default();
        let (log, last) = TimerLog::open(
            &root.join("timerlog"),
            config.timer_log_file_size,
            ck.last_timer_log_flush_pos.max(0),
        )?;
        let wheel = TimerWheel::open(
            &root.join("timerwheel"),
            config.slots_total,
            config.precision_ms,
        )?;
        let p = config.precision_ms;
        let now_slot = now / p * p;
        // Slots older than the wheel's span are no longer addressable (Java's bound).
        let oldest = now_slot - (config.slots_total as i64 - TIMER_BLANK_SLOTS as i64) * p;
        let read_time_ms = match saved {
            Some(c) => c.last_read_time_ms.max(oldest) / p * p,
            None => now_slot,
        };
        let logged_to = last
            .and_then(|pos| log.read(pos))
            .and_then(|u| commit_log.read_record(u.offset_py))
            .and_then(|raw| decode_record_shared(&raw).ok())
            .map(|m| m.queue_offset + 1)
            .unwrap_or(0);
        Ok(TimerStore {
            wheel,
            log,
            config,
            checkpoint_path,
            checkpoint: ck,
            read_time_ms,
            queue_offset: ck.last_timer_queue_offset.max(logged_to),
            resume: None,
            late: Vec::new(),
        })
    }

    pub fn read_time_ms(&self) -> i64 {
        self.read_time_ms
    }

    pub fn queue_offset(&self) -> i64 {
        self.queue_offset
    }

    pub fn wheel(&self) -> &TimerWheel {
        &self.wheel
    }

    /// Links one record due at `delayed_ms` (Java's `doEnqueue`). Delays reaching past the
    /// roll window are parked in a slot within it, marked to roll: delivered back onto the
    /// timer topic and linked again from there.
    pub fn enqueue(
        &mut self,
        offset_py: i64,
        size_py: i32,
        delayed_ms: i64,
        real_topic: &str,
        delete: bool,
        now: i64,
    ) -> StoreResult<Enqueued> {
        let p = self.config.precision_ms;
        let write_ms = now / p * p;
        let window = self.config.roll_window_slots * p;
        let mut delayed = delayed_ms;
        let mut magic = MAGIC_DEFAULT;
        if delayed - write_ms >= window {
            magic |= MAGIC_ROLL;
            // Java: leave at least a third of the window for the next roll.
            delayed = if delayed - write_ms - window < self.config.roll_window_slots / 3 * p {
                write_ms + self.config.roll_window_slots / 2 * p
            } else {
                write_ms + window
            };
        }
        if delete {
            magic |= MAGIC_DELETE;
        }
        let unit = TimerUnit {
            prev_pos: -1,
            magic,
            enqueue_ms: write_ms,
            delay_ms: (delayed - write_ms).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            offset_py,
            size_py,
            topic_hash: java_string_hash(real_topic),
        };
        if delayed / p * p < self.read_time_ms {
            return Ok(Enqueued::DueNow(unit));
        }
        let slot = self.wheel.slot(delayed);
        let pos = self.log.append(&TimerUnit {
            prev_pos: slot.last_pos,
            ..unit
        })?;
        let first = if slot.first_pos == -1 {
            pos
        } else {
            slot.first_pos
        };
        let num = if delete {
            slot.num.saturating_sub(1)
        } else {
            slot.num.saturating_add(1)
        };
        self.wheel.put_slot(delayed, first, pos, num, slot.magic);
        Ok(Enqueued::Linked(delayed / p * p))
    }

    /// Links up to `max` records of the timer topic's consume queue from the saved offset.
    /// Returns the units whose slot has passed already, to deliver at once. A record that
    /// is gone or lacks a readable `TIMER_OUT_MS` is skipped with a warning.
    pub fn enqueue_from(
        &mut self,
        cq: &ConsumeQueueReader,
        commit_log: &CommitLogReader,
        now: i64,
        max: usize,
    ) -> StoreResult<Vec<TimerUnit>> {
        let mut due = Vec::new();
        self.queue_offset = self.queue_offset.max(cq.min_offset());
        for u in cq.units(self.queue_offset, max) {
            if u.size <= 0 || u.size == i32::MAX || u.phys_offset < 0 {
                self.queue_offset = u.queue_offset + 1;
                continue;
            }
            let record = commit_log
                .read_record(u.phys_offset)
                .map(|raw| decode_record_shared(&raw));
            let m = match record {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::warn!(offset = u.queue_offset, error = %e, "undecodable timer record skipped");
                    self.queue_offset = u.queue_offset + 1;
                    continue;
                }
                None => {
                    tracing::warn!(
                        offset = u.queue_offset,
                        "timer record no longer in the commit log; skipped"
                    );
                    self.queue_offset = u.queue_offset + 1;
                    continue;
                }
            };
            let Some(out) = m.property(prop::OUT_MS).and_then(|t| t.parse::<i64>().ok()) else {
                tracing::warn!(
                    offset = u.queue_offset,
                    "timer record without TIMER_OUT_MS skipped"
                );
                self.queue_offset = u.queue_offset + 1;
                continue;
            };
            let delete = m.property(prop::DEL_UNIQKEY).is_some();
            let topic = m.property("REAL_TOPIC").unwrap_or_default();
            match self.enqueue(u.phys_offset, u.size, out, topic, delete, now) {
                Ok(Enqueued::DueNow(unit)) => due.push(unit),
                Ok(Enqueued::Linked(_)) => {}
                // The timer log could not take the unit (a full disk): this record stays
                // unlinked and is tried again next step, and the units already found due
                // go out now instead of being lost with the error.
                Err(e) if !due.is_empty() => {
                    tracing::warn!(offset = u.queue_offset, error = %e, "linking a timer record failed; retried next step");
                    break;
                }
                Err(e) => return Err(e),
            }
            self.queue_offset = u.queue_offset + 1;
        }
        Ok(due)
    }

    /// The next slot due at `now` (one whose time + precision has passed) with its units
    /// oldest first, looking at no more than `max_slots` slots; empty slots on the way are
    /// passed. The slot stays current until [`advance_past`](Self::advance_past).
    pub fn next_due(&mut self, now: i64, max_slots: usize) -> Option<(i64, Vec<TimerUnit>)> {
        let p = self.config.precision_ms;
        let current = now / p * p;
        for _ in 0..max_slots {
            if self.read_time_ms >= current {
                return None;
            }
            let slot = self.wheel.slot(self.read_time_ms);
            if slot.last_pos >= 0 {
                let mut units = Vec::with_capacity(slot.num.clamp(0, 1 << 16) as usize);
                let mut pos = slot.last_pos;
                // Positions only decrease along a chain, so a damaged link cannot loop.
                while pos >= 0 {
                    let Some(u) = self.log.read(pos) else {
                        tracing::warn!(
                            pos,
                            slot = self.read_time_ms,
                            "unreadable timer-log unit ends its slot's chain"
                        );
                        break;
                    };
                    units.push(u);
                    if u.prev_pos >= pos {
                        break;
                    }
                    pos = u.prev_pos;
                }
                units.reverse();
                return Some((self.read_time_ms, units));
            }
            self.read_time_ms += p;
        }
        None
    }

    /// The slot at `slot_ms` is delivered: move on.
    pub fn advance_past(&mut self, slot_ms: i64) {
        self.read_time_ms = self.read_time_ms.max(slot_ms + self.config.precision_ms);
        self.resume = None;
    }

    /// Flushes the log and the wheel, then writes the checkpoint (in that order, so the
    /// checkpoint never names progress that is not on disk).
    pub fn flush(&mut self, now: i64) -> StoreResult<TimerCheckpoint> {
        let log_pos = self.log.flush()?;
        self.wheel.flush()?;
        let ck = TimerCheckpoint {
            last_read_time_ms: self.read_time_ms,
            last_timer_log_flush_pos: log_pos,
            last_timer_queue_offset: self.queue_offset,
            master_timer_queue_offset: self.queue_offset,
            state_version: self.checkpoint.state_version,
            timestamp: now,
            counter: self.checkpoint.counter + 1,
        };
        ck.store(&self.checkpoint_path)?;
        self.checkpoint = ck;
        Ok(ck)
    }

    /// Deletes timer-log files whose units all sit in slots before the read time of the
    /// last checkpoint written (see [`TimerLog::delete_delivered`] for the bounds). The
    /// checkpoint's, not the current read time: recovery after a crash delivers again the
    /// slots from the checkpoint on, so their chains must still be readable.
    pub fn delete_delivered_files(
        &mut self,
        max_files: usize,
        max_scans: usize,
    ) -> StoreResult<usize> {
        self.log
            .delete_delivered(self.checkpoint.last_read_time_ms, max_files, max_scans)
    }

    /// The timer-log end (bytes), for metrics and tests.
    pub fn log_end(&self) -> i64 {
        self.log.end()
    }

    /// The first timer-log position still on disk.
    pub fn log_start(&self) -> i64 {
        self.log.start()
    }
}

/// The key a delete marker names its message by: the real topic and the message's
/// UNIQ_KEY (Java's `TimerMessageStore.buildDeleteKey`).
pub fn build_delete_key(real_topic: &str, uniq_key: &str) -> String {
    format!("{real_topic}+{uniq_key}")
}

/// Whether a unit is a delete marker to apply, not a record to deliver (Java's
/// `needDelete && !needRoll`: a parked marker rolls like any record).
fn is_delete_marker(u: &TimerUnit) -> bool {
    u.magic & MAGIC_DELETE != 0 && !u.is_roll()
}

fn read_unit_record(u: &TimerUnit, commit_log: &CommitLogReader) -> Option<StoredMessage> {
    let raw = commit_log.read_record(u.offset_py)?;
    decode_record_shared(&raw)
        .inspect_err(|e| tracing::warn!(offset = u.offset_py, error = %e, "undecodable timer record not delivered"))
        .ok()
}

/// The messages to re-store for one slot's due units, read from the commit log: delivered
/// on their real topic, or rolled back onto the timer topic. As in Java's dequeue, the
/// slot's delete markers are read first and every other record whose
/// [`build_delete_key`] (its `REAL_TOPIC`, its `UNIQ_KEY`) one of them names is dropped,
/// as are the markers themselves. Units whose record is gone or unusable are skipped with
/// a warning.
pub fn messages_for(
    units: &[TimerUnit],
    commit_log: &CommitLogReader,
    now: i64,
) -> Vec<MessageToStore> {
    let cancelled: HashSet<String> = units
        .iter()
        .filter(|u| is_delete_marker(u))
        .filter_map(|u| {
            read_unit_record(u, commit_log)?
                .property(prop::DEL_UNIQKEY)
                .map(str::to_owned)
        })
        .collect();
    units
        .iter()
        .filter_map(|u| {
            let m = read_unit_record(u, commit_log)?;
            if !cancelled.is_empty() && !is_delete_marker(u) {
                let key = m
                    .property("REAL_TOPIC")
                    .zip(m.property("UNIQ_KEY"))
                    .map(|(topic, uniq)| build_delete_key(topic, uniq));
                if key.is_some_and(|k| cancelled.contains(&k)) {
                    tracing::debug!(
                        offset = u.offset_py,
                        "timer message cancelled by a delete marker"
                    );
                    return None;
                }
            }
            let out = from_timer_topic(&m, u.is_roll(), Some(u.enqueue_ms), now);
            if out.is_none() {
                tracing::debug!(
                    offset = u.offset_py,
                    "timer record dropped at delivery (delete marker or no REAL_TOPIC)"
                );
            }
            out
        })
        .collect()
}

/// Opens `path` for reading and writing, creating it (and its directory) empty if absent;
/// an existing file keeps its contents.
fn open_or_create(path: &Path) -> StoreResult<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::io(path, e))
}

#[cfg(test)]
mod tests;
