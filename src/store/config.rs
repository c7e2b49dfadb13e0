//! Store settings; field names follow RocketMQ's `MessageStoreConfig` so a broker.ron reads
//! like a broker.conf.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::commit_log::DEFAULT_COMMIT_LOG_FILE_SIZE;
use super::consume_queue::DEFAULT_CQ_FILE_SIZE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlushDiskType {
    /// Acknowledge after the in-memory append; flush every `flushIntervalCommitLog`.
    #[default]
    AsyncFlush,
    /// Acknowledge after the bytes are on disk (group commit).
    SyncFlush,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreConfig {
    /// Root of commitlog/, consumequeue/, index/, checkpoint and abort.
    pub store_path_root_dir: PathBuf,
    /// Commit-log file size (1 GiB). Larger files mean fewer rolls; the last file is
    /// mapped whole.
    pub mapped_file_size_commit_log: usize,
    /// Consume-queue file size (300,000 units of 20 bytes).
    pub mapped_file_size_consume_queue: usize,
    /// Largest message body accepted (4 MiB).
    pub max_message_size: usize,
    pub flush_disk_type: FlushDiskType,
    /// ASYNC_FLUSH: how often to flush, in ms (500).
    pub flush_interval_commit_log: u64,
    /// ASYNC_FLUSH: flush only when at least this many 4 KiB pages are dirty (4)...
    pub flush_commit_log_least_pages: usize,
    /// ...unless this long has passed since the last full flush, in ms (10,000).
    pub flush_commit_log_thorough_interval: u64,
    /// SYNC_FLUSH: how long a send waits for its fsync before FLUSH_DISK_TIMEOUT, in ms.
    pub sync_flush_timeout: u64,
    /// How often consume queues and the index are flushed and the checkpoint written, ms.
    pub flush_interval_consume_queue: u64,
    pub message_index_enable: bool,
    /// Index hash slots per file (5,000,000).
    pub max_hash_slot_num: usize,
    /// Index entries per file (20,000,000).
    pub max_index_num: usize,
    /// Check each record's body CRC when recovering after a crash.
    pub check_crc_on_recover: bool,
    /// Hours a commit-log file is kept after its last write (72).
    pub file_reserved_time: u64,
    /// Hours of the day (local time) at which expired files are deleted, e.g. "04" or
    /// "04;16".
    pub delete_when: String,
    /// Disk use (percent) above which expired files are deleted whatever the hour (75).
    pub disk_max_used_space_ratio: u32,
    /// Disk use (percent) above which writes are refused (90).
    pub disk_full_ratio: u32,
    /// How often the cleaner looks, in ms (10,000).
    pub clean_resource_interval: u64,
    /// A pull reading further than this share (%) of physical memory behind the commit
    /// log's end is told to read a slave when slaveReadEnable (RocketMQ's
    /// accessMessageInMemoryMaxRatio, 40; a slave uses 10 less, as Java's does).
    pub access_message_in_memory_max_ratio: u32,
    /// Appends the CommitLogWriter may hold before new sends are answered SYSTEM_BUSY.
    pub writer_mailbox_capacity: usize,
    /// Delay of each level 1..n (units s, m, h, d), RocketMQ's messageDelayLevel.
    pub message_delay_level: String,
    /// Accept timer messages (TIMER_DELAY_SEC/TIMER_DELAY_MS/TIMER_DELIVER_MS) and run the
    /// timer wheel (true). Off, such sends are refused with SYSTEM_ERROR as in Java, and
    /// the wheel's files (38 MiB `timerwheel`, `timerlog/`) are not created.
    pub timer_wheel_enable: bool,
    /// Longest accepted timer delay, s (259,200 = 3 days). Longer delays are refused with
    /// MESSAGE_ILLEGAL; those past `timerRollWindowSlot` are parked and rolled, costing
    /// one more store and timer-log unit per roll.
    pub timer_max_delay_sec: u64,
    /// Timer granularity, ms (1,000). A timer fires within one precision after its time;
    /// the wheel always has 7 × 86,400 slots, so a finer precision shortens its span and
    /// makes long delays roll more often.
    pub timer_precision_ms: u64,
    /// Delays of at least this many slots are parked and rolled (172,800 = 2 days at 1 s);
    /// at most 7 × 86,400 − 60 and at least 2.
    pub timer_roll_window_slot: u64,
    /// Timer-log file size (100 MiB, 52 bytes a pending timer).
    pub mapped_file_size_timer_log: usize,
    /// How often the timer log and wheel are flushed and `config/timercheck` written, ms
    /// (1,000). A crash re-delivers timers delivered since the last write.
    pub timer_flush_interval_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            store_path_root_dir: std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
                .join("store"),
            mapped_file_size_commit_log: DEFAULT_COMMIT_LOG_FILE_SIZE,
            mapped_file_size_consume_queue: DEFAULT_CQ_FILE_SIZE,
            max_message_size: 4 * 1024 * 1024,
            flush_disk_type: FlushDiskType::AsyncFlush,
            access_message_in_memory_max_ratio: 40,
            flush_interval_commit_log: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval: 10_000,
            sync_flush_timeout: 5_000,
            flush_interval_consume_queue: 1_000,
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            check_crc_on_recover: true,
            file_reserved_time: 72,
            delete_when: "04".into(),
            disk_max_used_space_ratio: 75,
            disk_full_ratio: 90,
            clean_resource_interval: 10_000,
            writer_mailbox_capacity: 10_000,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .into(),
            timer_wheel_enable: true,
            timer_max_delay_sec: 3 * 86_400,
            timer_precision_ms: 1_000,
            timer_roll_window_slot: 2 * 86_400,
            mapped_file_size_timer_log: 100 * 1024 * 1024,
            timer_flush_interval_ms: 1_000,
        }
    }
}

impl StoreConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.mapped_file_size_commit_log < 4096 {
            return Err("mappedFileSizeCommitLog must be at least 4096".into());
        }
        if self.mapped_file_size_consume_queue < 20 * 2 {
            return Err("mappedFileSizeConsumeQueue must hold at least two units".into());
        }
        if self.max_message_size >= self.mapped_file_size_commit_log {
            return Err("maxMessageSize must fit in a commit-log file".into());
        }
        if self.disk_max_used_space_ratio == 0
            || self.disk_max_used_space_ratio > 100
            || self.disk_full_ratio > 100
        {
            return Err("disk ratios are percentages".into());
        }
        if self.max_hash_slot_num == 0 || self.max_index_num == 0 {
            return Err("index sizes must be positive".into());
        }
        if self.writer_mailbox_capacity == 0 {
            return Err("writerMailboxCapacity must be at least 1".into());
        }
        if let Some(bad) = self
            .message_delay_level
            .split_whitespace()
            .find(|d| parse_delay(d).is_none())
        {
            return Err(format!(
                "messageDelayLevel: {bad:?} is not a delay like 5s, 1m, 2h or 1d"
            ));
        }
        self.validate_timer()?;
        self.delete_hours().map(|_| ())
    }

    fn validate_timer(&self) -> Result<(), String> {
        use super::timer::{SLOTS_TOTAL, TIMER_BLANK_SLOTS, UNIT_SIZE};
        if !(10..=60_000).contains(&self.timer_precision_ms) {
            return Err("timerPrecisionMs must be between 10 and 60000".into());
        }
        if self.timer_max_delay_sec == 0 || self.timer_max_delay_sec > i32::MAX as u64 / 1000 * 1000
        {
            return Err("timerMaxDelaySec must be positive and fit Java's int delay".into());
        }
        if !(2..=(SLOTS_TOTAL - TIMER_BLANK_SLOTS) as u64).contains(&self.timer_roll_window_slot) {
            return Err(format!(
                "timerRollWindowSlot must be between 2 and {}",
                SLOTS_TOTAL - TIMER_BLANK_SLOTS
            ));
        }
        if self.mapped_file_size_timer_log < 4 * UNIT_SIZE {
            return Err("mappedFileSizeTimerLog must hold a few 52-byte units".into());
        }
        if self.timer_flush_interval_ms == 0 {
            return Err("timerFlushIntervalMs must be positive".into());
        }
        Ok(())
    }

    /// What the put path checks timer messages against.
    pub fn timer_rules(&self) -> super::timer::TimerRules {
        super::timer::TimerRules {
            enabled: self.timer_wheel_enable,
            max_delay_ms: self.timer_max_delay_sec as i64 * 1000,
            precision_ms: self.timer_precision_ms as i64,
        }
    }

    /// The timer store's sizes.
    pub fn timer_store_config(&self) -> super::timer::TimerStoreConfig {
        super::timer::TimerStoreConfig {
            precision_ms: self.timer_precision_ms as i64,
            roll_window_slots: self.timer_roll_window_slot as i64,
            slots_total: super::timer::SLOTS_TOTAL,
            timer_log_file_size: self.mapped_file_size_timer_log,
        }
    }

    /// Milliseconds of each delay level (level n at index n - 1); unparsable entries are
    /// refused by `validate`.
    pub fn delay_level_millis(&self) -> Vec<i64> {
        self.message_delay_level
            .split_whitespace()
            .filter_map(parse_delay)
            .collect()
    }

    /// The hours of `deleteWhen`.
    pub fn delete_hours(&self) -> Result<Vec<u32>, String> {
        self.delete_when
            .split(';')
            .filter(|s| !s.trim().is_empty())
            .map(|h| match h.trim().parse::<u32>() {
                Ok(h) if h < 24 => Ok(h),
                _ => Err(format!("deleteWhen: {h:?} is not an hour 0-23")),
            })
            .collect()
    }
}

fn parse_delay(d: &str) -> Option<i64> {
    let unit = match d.chars().last()? {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return None,
    };
    d[..d.len() - 1]
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(|n| n * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rocketmqs_and_validate() {
        let c = StoreConfig::default();
        c.validate().unwrap();
        assert_eq!(c.mapped_file_size_commit_log, 1 << 30);
        assert_eq!(c.mapped_file_size_consume_queue, 6_000_000);
        assert_eq!(c.delete_hours().unwrap(), vec![4]);
        let delays = c.delay_level_millis();
        assert_eq!(
            (delays.len(), delays[0], delays[4], delays[17]),
            (18, 1_000, 60_000, 7_200_000)
        );
        assert!(StoreConfig {
            message_delay_level: "1s 5x".into(),
            ..Default::default()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn ron_uses_rocketmq_names() {
        let c: StoreConfig = ron::from_str(
            "(flushDiskType: SYNC_FLUSH, deleteWhen: \"04;16\", fileReservedTime: 48)",
        )
        .unwrap();
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.delete_hours().unwrap(), vec![4, 16]);
        assert!(StoreConfig {
            delete_when: "25".into(),
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}
