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
//!
//! One file per concern: [`rewrite`] (both message rewrites and cancellation), [`wheel`],
//! [`timer_log`], [`checkpoint`], and [`timer_store`], which composes them.

use std::fs::OpenOptions;
use std::path::Path;

use super::error::{StoreError, StoreResult};

pub mod checkpoint;
pub mod rewrite;
pub mod timer_log;
pub mod timer_store;
pub mod wheel;

pub use checkpoint::TimerCheckpoint;
pub use rewrite::{
    build_delete_key, from_timer_topic, messages_for, prop, round_deliver_ms, to_timer_topic,
    TimerRefusal, TimerRules, TIMER_TOPIC,
};
pub use timer_log::{
    decode_entry, latest_due, LogEntry, TimerLog, TimerUnit, BLANK_MAGIC_CODE, MAGIC_DEFAULT,
    MAGIC_DELETE, MAGIC_ROLL, UNIT_SIZE,
};
pub use timer_store::{Enqueued, TimerStore, TimerStoreConfig};
pub use wheel::{decode_slot, Slot, TimerWheel, SLOTS_TOTAL, SLOT_SIZE, TIMER_BLANK_SLOTS};

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
mod fixtures;
