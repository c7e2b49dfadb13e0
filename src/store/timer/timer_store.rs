//! [`TimerStore`]: the wheel, the timer log and the checkpoint composed into Java's
//! `TimerMessageStore` without its threads. It links records read from the timer topic's
//! consume queue into their slots, hands out due slots in time order, rolls delays past the
//! roll window, checkpoints progress, recovers from the checkpoint and deletes timer-log
//! files already delivered. `actors/broker/features/timer.rs` drives it.

use std::path::{Path, PathBuf};

use super::checkpoint::TimerCheckpoint;
use super::rewrite::prop;
use super::timer_log::{TimerLog, TimerUnit, MAGIC_DEFAULT, MAGIC_DELETE, MAGIC_ROLL};
use super::wheel::{TimerWheel, TIMER_BLANK_SLOTS};
use crate::protocol::message::{decode_record_shared, java_string_hash, MessageToStore};
use crate::store::commit_log::CommitLogReader;
use crate::store::consume_queue::ConsumeQueueReader;
use crate::store::error::StoreResult;

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

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;

    use super::super::fixtures::*;
    use super::super::timer_log::{MIN_BLANK_LEN, UNIT_SIZE};
    use super::*;

    #[test]
    fn timers_come_due_slot_by_slot_in_time_then_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = empty_commit_log(&dir.path().join("cl"));
        let mut t = TimerStore::open(dir.path(), config(64, 32), &log, NOW).unwrap();
        let base = NOW / 1000 * 1000;
        for (i, at) in [3_000, 1_000, 3_000, 2_000, 3_500].iter().enumerate() {
            let r = t
                .enqueue(i as i64 * 100, 10, base + at, "T", false, NOW)
                .unwrap();
            assert_eq!(r, Enqueued::Linked(base + at / 1000 * 1000));
        }
        assert_eq!(t.wheel().slot(base + 3_000).num, 3);
        assert_eq!(t.wheel().all_num(base), 5);
        assert_eq!(
            t.next_due(base + 999, 100),
            None,
            "nothing due before its slot ends"
        );
        let mut order = Vec::new();
        let mut slots = Vec::new();
        let mut now = base;
        while now <= base + 5_000 {
            while let Some((slot, units)) = t.next_due(now, 100) {
                slots.push(slot - base);
                order.extend(units.iter().map(|u| u.offset_py));
                t.advance_past(slot);
            }
            now += 250;
        }
        assert_eq!(slots, vec![1_000, 2_000, 3_000]);
        assert_eq!(order, vec![100, 300, 0, 200, 400]);
        // A record whose slot has passed is due at once, unlinked.
        assert!(matches!(
            t.enqueue(900, 10, base + 1_500, "T", false, now).unwrap(),
            Enqueued::DueNow(u) if u.offset_py == 900
        ));
    }

    #[test]
    fn delays_past_the_roll_window_are_parked_and_marked_to_roll() {
        let dir = tempfile::tempdir().unwrap();
        let log = empty_commit_log(&dir.path().join("cl"));
        let mut t = TimerStore::open(dir.path(), config(64, 6), &log, NOW).unwrap();
        let base = NOW / 1000 * 1000;
        // 20 s is past the 6-slot window: parked at the window's end.
        assert_eq!(
            t.enqueue(1, 1, base + 20_000, "T", false, NOW).unwrap(),
            Enqueued::Linked(base + 6_000)
        );
        // 7 s overshoots the window by less than a third of it: parked at half the window.
        assert_eq!(
            t.enqueue(2, 1, base + 7_000, "T", false, NOW).unwrap(),
            Enqueued::Linked(base + 3_000)
        );
        assert_eq!(
            t.enqueue(3, 1, base + 5_000, "T", false, NOW).unwrap(),
            Enqueued::Linked(base + 5_000)
        );
        let mut seen = Vec::new();
        for s in 1..=7 {
            while let Some((slot, units)) = t.next_due(base + s * 1000, 100) {
                seen.extend(units.iter().map(|u| (u.offset_py, u.is_roll())));
                t.advance_past(slot);
            }
        }
        assert_eq!(seen, vec![(2, true), (3, false), (1, true)]);
    }

    #[test]
    fn pending_timers_and_progress_survive_a_reopen_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let log = empty_commit_log(&dir.path().join("cl"));
        let base = NOW / 1000 * 1000;
        {
            let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW).unwrap();
            // 25 units over three 10-unit files: blanks fill each file's end.
            for i in 0..25 {
                t.enqueue(i, 1, base + 2_000 + (i % 3) * 1000, "T", false, NOW)
                    .unwrap();
            }
            let (slot, units) = t.next_due(base + 3_000, 100).unwrap();
            assert_eq!(units.len(), 9);
            t.advance_past(slot);
            t.flush(NOW).unwrap();
            assert_eq!(
                t.log_end(),
                2 * (10 * UNIT_SIZE + MIN_BLANK_LEN) as i64 + 5 * UNIT_SIZE as i64
            );
        }
        let ck = TimerCheckpoint::load(&dir.path().join("config/timercheck"))
            .unwrap()
            .unwrap();
        assert_eq!(ck.last_read_time_ms, base + 3_000);
        assert_eq!(
            std::fs::metadata(dir.path().join("config/timercheck"))
                .unwrap()
                .len(),
            4096
        );
        // Garbage after the last unit (a torn write) is not a unit.
        let last_file = dir
            .path()
            .join("timerlog")
            .join(crate::store::mapped_file::file_name(
                2 * (10 * UNIT_SIZE + MIN_BLANK_LEN) as i64,
            ));
        {
            use std::os::unix::fs::FileExt;
            let f = OpenOptions::new().write(true).open(&last_file).unwrap();
            f.write_all_at(&[0, 0, 0, 52, 9, 9, 9], 5 * UNIT_SIZE as u64)
                .unwrap();
        }
        let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW + 10_000).unwrap();
        assert_eq!(t.read_time_ms(), base + 3_000, "resumes where it stopped");
        let mut rest = Vec::new();
        while let Some((slot, units)) = t.next_due(NOW + 10_000, 100) {
            rest.extend(units.iter().map(|u| u.offset_py));
            t.advance_past(slot);
        }
        rest.sort();
        let expected: Vec<i64> = (0..25).filter(|i| i % 3 != 0).collect();
        assert_eq!(rest, expected, "the undelivered slots, each unit once");
        // Appending resumes after the last good unit.
        let before = t.log_end();
        t.enqueue(99, 1, NOW + 20_000, "T", false, NOW + 10_000)
            .unwrap();
        assert_eq!(t.log_end(), before + UNIT_SIZE as i64);
    }

    /// The timer-log files on disk below `end` (past it: the file prepared ahead).
    fn timer_log_files(root: &Path, end: i64) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(root.join("timerlog"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| crate::store::mapped_file::parse_file_name(n).is_some_and(|o| o < end))
            .collect();
        names.sort();
        names
    }

    /// Bytes of one timer-log file of [`config`]: ten units and the closing filler.
    const FILE: i64 = (10 * UNIT_SIZE + MIN_BLANK_LEN) as i64;

    /// Links a unit for each commit-log offset in `offsets`, due at `due(offset)`.
    fn link(t: &mut TimerStore, offsets: std::ops::Range<i64>, now: i64, due: impl Fn(i64) -> i64) {
        for i in offsets {
            t.enqueue(i, 1, due(i), "T", false, now).unwrap();
        }
    }

    fn deliver_until(t: &mut TimerStore, now: i64) -> Vec<i64> {
        let mut got = Vec::new();
        while let Some((slot, units)) = t.next_due(now, 1_000) {
            got.extend(units.iter().map(|u| u.offset_py));
            t.advance_past(slot);
        }
        got
    }

    #[test]
    fn timer_log_files_go_once_their_timers_are_delivered_and_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let log = empty_commit_log(&dir.path().join("cl"));
        let base = NOW / 1000 * 1000;
        let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW).unwrap();
        // Three files of ten units; unit 3 (first file) waits longer than the rest.
        link(&mut t, 0..25, NOW, |i| match i {
            3 => base + 6_000,
            _ => base + 1_000 + (i / 10) * 1000,
        });
        assert_eq!(timer_log_files(dir.path(), t.log_end()).len(), 3);
        assert_eq!(deliver_until(&mut t, base + 4_000).len(), 24);
        assert_eq!(
            t.delete_delivered_files(16, 1).unwrap(),
            0,
            "nothing goes before a checkpoint names the delivery"
        );
        t.flush(NOW).unwrap();
        assert_eq!(
            t.delete_delivered_files(16, 1).unwrap(),
            0,
            "the first file still holds a pending unit, and files go from the front"
        );
        assert_eq!(deliver_until(&mut t, base + 7_000), vec![3]);
        t.flush(NOW).unwrap();
        assert_eq!(t.delete_delivered_files(16, 1).unwrap(), 2);
        assert_eq!(
            timer_log_files(dir.path(), t.log_end()),
            vec![crate::store::mapped_file::file_name(2 * FILE)],
            "the newest file stays"
        );
        assert_eq!(t.log_start(), 2 * FILE);
    }

    #[test]
    fn a_file_with_a_pending_unit_is_kept_across_a_reopen_and_goes_once_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let log = empty_commit_log(&dir.path().join("cl"));
        let base = NOW / 1000 * 1000;
        {
            let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW).unwrap();
            // Two full files and five units in the third; the second file's last unit waits.
            link(&mut t, 0..25, NOW, |i| match i {
                19 => base + 9_000,
                _ => base + 1_000,
            });
            deliver_until(&mut t, base + 3_000);
            t.flush(NOW).unwrap();
            assert_eq!(t.delete_delivered_files(16, 1).unwrap(), 1);
        }
        assert_eq!(timer_log_files(dir.path(), i64::MAX).len(), 2);
        // Reopened with the first file gone: files found at open are scanned, one a pass.
        let now = NOW + 3_000;
        let mut t = TimerStore::open(dir.path(), config(128, 32), &log, now).unwrap();
        assert_eq!(t.log_start(), FILE);
        assert_eq!(t.read_time_ms(), base + 3_000);
        // The third file, partly written before the reopen, fills up and rolls.
        link(&mut t, 25..35, now, |_| base + 5_000);
        assert_eq!(timer_log_files(dir.path(), t.log_end()).len(), 3);
        assert_eq!(deliver_until(&mut t, base + 6_000).len(), 10);
        t.flush(now).unwrap();
        assert_eq!(
            t.delete_delivered_files(16, 0).unwrap(),
            0,
            "a file found at open is not deleted unscanned"
        );
        assert_eq!(t.delete_delivered_files(16, 2).unwrap(), 0, "unit 19 waits");
        assert_eq!(deliver_until(&mut t, base + 10_000), vec![19]);
        t.flush(now).unwrap();
        assert_eq!(t.delete_delivered_files(16, 2).unwrap(), 2);
        assert_eq!(t.log_start(), 3 * FILE);
        drop(t);
        let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW + 10_000).unwrap();
        assert_eq!(t.log_start(), 3 * FILE);
        let end = t.log_end();
        t.enqueue(99, 1, base + 12_000, "T", false, NOW + 10_000)
            .unwrap();
        assert_eq!(
            t.log_end(),
            end + UNIT_SIZE as i64,
            "appends resume at the end"
        );
        assert_eq!(deliver_until(&mut t, base + 13_000), vec![99]);
    }
}
