//! BrokerStatsManager's figures: counters per statistic and key (`TOPIC_PUT_NUMS` of a
//! topic, `GROUP_GET_NUMS` of `topic@group`, `BROKER_PUT_NUMS` of the cluster, ...) with
//! their sums and rates over the last minute, hour and day, as VIEW_BROKER_STATS_DATA
//! reports them and GET_BROKER_RUNTIME_INFO's `putTps`/`getTransferedTps` read them.
//!
//! The send and pull handlers add to an item under its own short lock. Each item keeps its
//! running total at the end of each 10 s bucket for the minute window, each minute for the
//! hour and each 10 minutes for the day; buckets with no adds are not stored (at most 216
//! a key, ~5 KiB). A window's sum is the total now minus the total at its start, to the
//! ring's step. The number of items is capped at [`MAX_ITEMS`]; past it new
//! keys are not tracked (their requests answer "not exist" as for a key never seen), so
//! many topics or groups cannot grow the broker's memory without bound. A deleted topic's
//! items go with it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;

use crate::protocol::body::broker::{BrokerStatsData, BrokerStatsItem};

pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
pub const SNDBCK_PUT_NUMS: &str = "SNDBCK_PUT_NUMS";
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";

/// The statistics kept; any other name is unknown to VIEW_BROKER_STATS_DATA.
pub const STAT_NAMES: [&str; 7] = [
    TOPIC_PUT_NUMS,
    TOPIC_PUT_SIZE,
    GROUP_GET_NUMS,
    GROUP_GET_SIZE,
    SNDBCK_PUT_NUMS,
    BROKER_PUT_NUMS,
    BROKER_GET_NUMS,
];

/// Items tracked at most; see the module doc.
pub const MAX_ITEMS: usize = 10_000;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// One granularity: per step-aligned bucket (oldest first), the value and call count at
/// the end of that bucket; only buckets that saw an add exist.
struct Ring {
    step: i64,
    keep: usize,
    buckets: VecDeque<(i64, u64, u64)>,
}

impl Ring {
    fn new(step: i64, window: i64) -> Self {
        Ring {
            step,
            // Every bucket inside the window, plus the newest one before it (the base).
            keep: (window / step) as usize + 2,
            buckets: VecDeque::new(),
        }
    }

    fn record(&mut self, now: i64, value: u64, times: u64) {
        let start = now - now.rem_euclid(self.step);
        match self.buckets.back_mut() {
            Some(b) if b.0 == start => {
                b.1 = value;
                b.2 = times;
            }
            _ => {
                self.buckets.push_back((start, value, times));
                while self.buckets.len() > self.keep {
                    self.buckets.pop_front();
                }
            }
        }
    }

    /// Value and count at `t`, to the ring's step (0 before the first add).
    fn at(&self, t: i64) -> (u64, u64) {
        self.buckets
            .iter()
            .rev()
            .find(|b| b.0 + self.step <= t)
            .map_or((0, 0), |b| (b.1, b.2))
    }
}

struct Counts {
    value: u64,
    times: u64,
    rings: [Ring; 3],
}

struct StatsItem {
    created: i64,
    counts: Mutex<Counts>,
}

impl StatsItem {
    fn new(now: i64) -> Self {
        StatsItem {
            created: now,
            counts: Mutex::new(Counts {
                value: 0,
                times: 0,
                rings: [
                    Ring::new(10_000, MINUTE),
                    Ring::new(MINUTE, HOUR),
                    Ring::new(10 * MINUTE, DAY),
                ],
            }),
        }
    }

    fn add(&self, now: i64, value: u64) {
        if let Ok(mut c) = self.counts.lock() {
            c.value += value;
            c.times += 1;
            let (v, n) = (c.value, c.times);
            for r in c.rings.iter_mut() {
                r.record(now, v, n);
            }
        }
    }

    fn window(&self, now: i64, ring: usize, window: i64) -> BrokerStatsItem {
        let Ok(c) = self.counts.lock() else {
            return BrokerStatsItem::default();
        };
        let (base_v, base_n) = c.rings[ring].at(now - window);
        let sum = c.value.saturating_sub(base_v);
        let calls = c.times.saturating_sub(base_n);
        let span = window.min(now - self.created).max(1000) as f64 / 1000.0;
        BrokerStatsItem {
            sum: sum as i64,
            tps: sum as f64 / span,
            avgpt: if calls == 0 {
                0.0
            } else {
                sum as f64 / calls as f64
            },
        }
    }
}

/// The broker's statistics table: one map per statistic (indexed like [`STAT_NAMES`]), so
/// the send and pull paths look a key up without allocating.
#[derive(Default)]
pub struct BrokerStats {
    items: [DashMap<String, Arc<StatsItem>>; STAT_NAMES.len()],
    full_logged: AtomicBool,
}

fn stat_index(name: &str) -> Option<usize> {
    STAT_NAMES.iter().position(|n| *n == name)
}

impl BrokerStats {
    /// Adds `value` (messages or bytes) for one call to `name` of `key`.
    pub fn add(&self, name: &'static str, key: &str, value: u64) {
        self.add_at(crate::clock::now_millis(), name, key, value);
    }

    fn add_at(&self, now: i64, name: &'static str, key: &str, value: u64) {
        let Some(map) = stat_index(name).map(|i| &self.items[i]) else {
            return;
        };
        let item = match map.get(key) {
            Some(i) => i.value().clone(),
            None if self.len() >= MAX_ITEMS => {
                if !self.full_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        limit = MAX_ITEMS,
                        stat = name,
                        key,
                        "broker statistics full; new keys are not tracked"
                    );
                }
                return;
            }
            None => map
                .entry(key.to_owned())
                .or_insert_with(|| Arc::new(StatsItem::new(now)))
                .value()
                .clone(),
        };
        item.add(now, value);
    }

    /// The minute, hour and day figures of `name` for `key`, if it was ever counted.
    pub fn data(&self, name: &str, key: &str) -> Option<BrokerStatsData> {
        self.data_at(crate::clock::now_millis(), name, key)
    }

    fn item(&self, name: &str, key: &str) -> Option<Arc<StatsItem>> {
        self.items[stat_index(name)?]
            .get(key)
            .map(|e| e.value().clone())
    }

    fn data_at(&self, now: i64, name: &str, key: &str) -> Option<BrokerStatsData> {
        let item = self.item(name, key)?;
        Some(BrokerStatsData {
            stats_minute: item.window(now, 0, MINUTE),
            stats_hour: item.window(now, 1, HOUR),
            stats_day: item.window(now, 2, DAY),
        })
    }

    /// Messages per second of `name`/`key` over the last minute (0 when never counted).
    pub fn minute_tps(&self, name: &str, key: &str) -> f64 {
        self.item(name, key)
            .map(|i| i.window(crate::clock::now_millis(), 0, MINUTE).tps)
            .unwrap_or(0.0)
    }

    /// Drops a deleted topic's items (`topic` and `topic@group` keys).
    pub fn remove_topic(&self, topic: &str) {
        let prefix = format!("{topic}@");
        for map in &self.items {
            map.retain(|key, _| key != topic && !key.starts_with(&prefix));
        }
    }

    pub fn len(&self) -> usize {
        self.items.iter().map(DashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.items.iter().all(DashMap::is_empty)
    }
}

/// Labels of the put-latency buckets, as StoreStatsService prints them.
const PUT_LATENCY_LABELS: [&str; 13] = [
    "[<=0ms]",
    "[0~10ms]",
    "[10~50ms]",
    "[50~100ms]",
    "[100~200ms]",
    "[200~500ms]",
    "[500ms~1s]",
    "[1~2s]",
    "[2~3s]",
    "[3~4s]",
    "[4~5s]",
    "[5~10s]",
    "[10s~]",
];
/// Exclusive upper bounds (ms) of the buckets after the first; the last bucket is open.
const PUT_LATENCY_BOUNDS_MS: [u64; 11] =
    [10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 10_000];

/// How long stores took, in StoreStatsService's buckets (`putMessageDistributeTime` and
/// `putMessageEntireTimeMax` of GET_BROKER_RUNTIME_INFO), counted since start.
#[derive(Default)]
pub struct PutLatency {
    buckets: [AtomicU64; 13],
    max_ms: AtomicU64,
}

impl PutLatency {
    pub fn observe(&self, elapsed: std::time::Duration) {
        let ms = elapsed.as_millis() as u64;
        let i = if ms == 0 {
            0
        } else {
            1 + PUT_LATENCY_BOUNDS_MS
                .iter()
                .position(|&b| ms < b)
                .unwrap_or(PUT_LATENCY_BOUNDS_MS.len())
        };
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.max_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// `[<=0ms]:3 [0~10ms]:1 ...`, as Java writes it (a space after each bucket).
    pub fn distribution(&self) -> String {
        PUT_LATENCY_LABELS
            .iter()
            .zip(&self.buckets)
            .map(|(label, n)| format!("{label}:{} ", n.load(Ordering::Relaxed)))
            .collect()
    }

    pub fn max_millis(&self) -> u64 {
        self.max_ms.load(Ordering::Relaxed)
    }
}

/// RocketMQ's `BrokerStats`: the put and get totals as they stood at the last two local
/// midnights, so GET_BROKER_RUNTIME_INFO can give `msgPutTotalTodayMorning`,
/// `msgPutTotalYesterdayMorning` and their get twins (`clusterList -m` prints today's and
/// yesterday's traffic from them). Zero until the first midnight after start, as in Java.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DailyMarks {
    /// (puts, gets) at the last midnight.
    pub today_morning: (u64, u64),
    /// (puts, gets) at the midnight before.
    pub yesterday_morning: (u64, u64),
}

impl DailyMarks {
    /// A midnight passed with these totals (Java's `BrokerStats.record`).
    pub fn record(&mut self, puts: u64, gets: u64) {
        self.yesterday_morning = self.today_morning;
        self.today_morning = (puts, gets);
    }
}

/// How long until the next local midnight (at least a second, so a clock step cannot make
/// the recording loop spin).
pub fn until_local_midnight() -> std::time::Duration {
    use chrono::{Local, TimeZone};
    let now = Local::now();
    let next = now
        .date_naive()
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| Local.from_local_datetime(&t).earliest());
    let wait = next
        .map(|t| (t - now).num_milliseconds().max(0) as u64)
        .unwrap_or(86_400_000);
    std::time::Duration::from_millis(wait.max(1_000))
}

#[cfg(test)]
mod tests {
    #[test]
    fn put_latency_lands_in_java_buckets() {
        let l = PutLatency::default();
        for ms in [0, 5, 10, 700, 20_000] {
            l.observe(std::time::Duration::from_millis(ms));
        }
        let d = l.distribution();
        assert!(
            d.starts_with("[<=0ms]:1 [0~10ms]:1 [10~50ms]:1 [50~100ms]:0"),
            "{d}"
        );
        assert!(
            d.contains("[500ms~1s]:1 ") && d.ends_with("[10s~]:1 "),
            "{d}"
        );
        assert_eq!(l.max_millis(), 20_000);
    }

    use super::*;

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn windows_sum_what_was_added_within_them() {
        let s = BrokerStats::default();
        s.add_at(T0, TOPIC_PUT_NUMS, "T", 5);
        s.add_at(T0 + 30_000, TOPIC_PUT_NUMS, "T", 5);
        // Two minutes later, 10 more: the minute sees only them, the hour and day all 20.
        s.add_at(T0 + 150_000, TOPIC_PUT_NUMS, "T", 10);
        let d = s.data_at(T0 + 160_000, TOPIC_PUT_NUMS, "T").unwrap();
        assert_eq!(d.stats_minute.sum, 10);
        assert_eq!(d.stats_hour.sum, 20);
        assert_eq!(d.stats_day.sum, 20);
        assert!(d.stats_minute.tps > 0.0 && d.stats_minute.tps <= 10.0);
        assert_eq!(d.stats_hour.avgpt, 20.0 / 3.0);
        assert!(s.data_at(T0, TOPIC_PUT_NUMS, "other").is_none());
        assert!(s.data_at(T0, GROUP_GET_NUMS, "T").is_none());
    }

    #[test]
    fn an_idle_item_reports_zero_for_the_last_minute() {
        let s = BrokerStats::default();
        s.add_at(T0, GROUP_GET_NUMS, "T@g", 7);
        let d = s.data_at(T0 + 5 * MINUTE, GROUP_GET_NUMS, "T@g").unwrap();
        assert_eq!(d.stats_minute.sum, 0);
        assert_eq!(d.stats_hour.sum, 7);
    }

    #[test]
    fn the_table_stops_growing_at_its_cap_and_forgets_deleted_topics() {
        let s = BrokerStats::default();
        for i in 0..MAX_ITEMS + 10 {
            s.add_at(T0, TOPIC_PUT_NUMS, &format!("T{i}"), 1);
        }
        assert_eq!(s.len(), MAX_ITEMS);
        s.add_at(T0, GROUP_GET_NUMS, "T1@g", 1);
        s.remove_topic("T1");
        assert!(s.data_at(T0, TOPIC_PUT_NUMS, "T1").is_none());
        assert_eq!(s.len(), MAX_ITEMS - 1);
    }

    #[test]
    fn rings_keep_a_bounded_number_of_samples() {
        let s = BrokerStats::default();
        for i in 0..10_000 {
            s.add_at(T0 + i * 10_000, TOPIC_PUT_NUMS, "T", 1);
        }
        let item = s.item(TOPIC_PUT_NUMS, "T").unwrap();
        let c = item.counts.lock().unwrap();
        assert!(c.rings.iter().map(|r| r.buckets.len()).sum::<usize>() <= 8 + 62 + 146);
    }

    #[test]
    fn midnights_shift_today_to_yesterday() {
        let mut m = DailyMarks::default();
        m.record(10, 4);
        assert_eq!((m.today_morning, m.yesterday_morning), ((10, 4), (0, 0)));
        m.record(25, 9);
        assert_eq!((m.today_morning, m.yesterday_morning), ((25, 9), (10, 4)));
    }

    #[test]
    fn the_next_midnight_is_within_a_day() {
        let d = until_local_midnight();
        assert!(d >= std::time::Duration::from_secs(1));
        assert!(d <= std::time::Duration::from_secs(25 * 3600));
    }
}
