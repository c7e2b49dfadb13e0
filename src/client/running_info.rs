//! What a consumer tells an operator about itself, through its broker: the answer to
//! GET_CONSUMER_RUNNING_INFO (307; RocketMQ's `ConsumerRunningInfo`, which `mqadmin
//! consumerStatus` and `consumerProgress -s` read) and to CONSUME_MESSAGE_DIRECTLY (309;
//! `ConsumeMessageDirectlyResult`, which `mqadmin queryMsgById -g -d` prints). Both bodies
//! are written in fastjson's form, fields in alphabetical order and message queues as
//! object keys, so Java's tools parse them. Also the per-topic pull and consume figures
//! (`ConsumeStatus`) those answers carry, kept as counters and turned into rates over the
//! last minute.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use serde::Serialize;

use crate::protocol::body::broker::queue::write_queue_map;
use crate::protocol::body::broker::MessageQueue;
use crate::protocol::body::fastjson::{to_json, Escape, JsonWriter};
use crate::protocol::body::heartbeat::SubscriptionData;

/// One queue a consumer holds (RocketMQ's `ProcessQueueInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessQueueInfo {
    pub cached_msg_count: i32,
    pub cached_msg_max_offset: i64,
    pub cached_msg_min_offset: i64,
    pub cached_msg_size_in_mi_b: i32,
    pub commit_offset: i64,
    /// Java's spelling.
    pub droped: bool,
    pub last_consume_timestamp: i64,
    pub last_lock_timestamp: i64,
    pub last_pull_timestamp: i64,
    pub locked: bool,
    pub transaction_msg_count: i32,
    pub transaction_msg_max_offset: i64,
    pub transaction_msg_min_offset: i64,
    pub try_unlock_times: i64,
}

/// Pull and consume figures of one topic over the last minute (RocketMQ's `ConsumeStatus`;
/// RT in ms, TPS per second).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConsumeStatus {
    #[serde(rename = "consumeFailedMsgs")]
    pub consume_failed_msgs: i64,
    #[serde(rename = "consumeFailedTPS")]
    pub consume_failed_tps: f64,
    #[serde(rename = "consumeOKTPS")]
    pub consume_ok_tps: f64,
    #[serde(rename = "consumeRT")]
    pub consume_rt: f64,
    #[serde(rename = "pullRT")]
    pub pull_rt: f64,
    #[serde(rename = "pullTPS")]
    pub pull_tps: f64,
}

/// A consumer's answer to GET_CONSUMER_RUNNING_INFO.
#[derive(Debug, Clone, Default)]
pub struct ConsumerRunningInfo {
    pub properties: BTreeMap<String, String>,
    pub subscription_set: Vec<SubscriptionData>,
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    pub status_table: BTreeMap<String, ConsumeStatus>,
    /// The task dump asked for with `jstackEnable`; left out when `None`, as fastjson
    /// leaves out Java's null.
    pub jstack: Option<String>,
}

impl ConsumerRunningInfo {
    /// fastjson's form: `{"jstack":…,"mqTable":{{"brokerName":…}:{…}},"properties":{…},
    /// "statusTable":{…},"subscriptionSet":[…]}`.
    pub fn encode(&self) -> Bytes {
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        if let Some(j) = &self.jstack {
            w.key("jstack").string(j);
        }
        let mut subs = self.subscription_set.clone();
        subs.sort_by(|a, b| a.topic.cmp(&b.topic));
        w.key("mqTable")
            .raw(&write_queue_map(&self.mq_table, to_json))
            .key("properties")
            .raw(&to_json(&self.properties))
            .key("statusTable")
            .raw(&to_json(&self.status_table))
            .key("subscriptionSet")
            .raw(&to_json(&subs))
            .end_object();
        w.finish()
    }
}

/// RocketMQ's `CMResult`: what a directly consumed message came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CmResult {
    #[serde(rename = "CR_SUCCESS")]
    Success,
    #[serde(rename = "CR_LATER")]
    Later,
    #[serde(rename = "CR_ROLLBACK")]
    Rollback,
    #[serde(rename = "CR_COMMIT")]
    Commit,
    #[serde(rename = "CR_THROW_EXCEPTION")]
    ThrowException,
    #[serde(rename = "CR_RETURN_NULL")]
    ReturnNull,
}

/// A consumer's answer to CONSUME_MESSAGE_DIRECTLY.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeMessageDirectlyResult {
    pub auto_commit: bool,
    pub consume_result: CmResult,
    pub order: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub spent_time_mills: i64,
}

impl ConsumeMessageDirectlyResult {
    pub fn encode(&self) -> Bytes {
        to_json(self)
    }
}

/// Running totals of one topic.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    pulls: u64,
    pull_ms: f64,
    pulled_msgs: u64,
    consumed_ok: u64,
    consumed_failed: u64,
    consume_ms: f64,
}

/// How many samples are kept: one per offset-persist tick (5 s by default), so about a
/// minute of history, as Java's per-minute figures cover.
const SAMPLES: usize = 13;

/// Pull and consume counters per topic, sampled on a tick so that the running-info answer
/// can give rates over roughly the last minute. Bounded: one entry per subscribed topic,
/// [`SAMPLES`] snapshots.
#[derive(Debug, Default)]
pub struct ConsumeStatsRecorder {
    totals: Mutex<BTreeMap<String, Totals>>,
    samples: Mutex<VecDeque<(Instant, BTreeMap<String, Totals>)>>,
}

impl ConsumeStatsRecorder {
    pub fn pulled(&self, topic: &str, rt_ms: f64, msgs: usize) {
        self.with(topic, |t| {
            t.pulls += 1;
            t.pull_ms += rt_ms;
            t.pulled_msgs += msgs as u64;
        });
    }

    pub fn consumed(&self, topic: &str, rt_ms: f64, ok: bool) {
        self.with(topic, |t| {
            if ok {
                t.consumed_ok += 1;
            } else {
                t.consumed_failed += 1;
            }
            t.consume_ms += rt_ms;
        });
    }

    fn with(&self, topic: &str, f: impl FnOnce(&mut Totals)) {
        if let Ok(mut m) = self.totals.lock() {
            match m.get_mut(topic) {
                Some(t) => f(t),
                None => f(m.entry(topic.to_owned()).or_default()),
            }
        }
    }

    /// Takes a snapshot (called on a timer); the oldest is dropped past [`SAMPLES`].
    pub fn sample(&self) {
        let now = self.totals.lock().map(|t| t.clone()).unwrap_or_default();
        if let Ok(mut s) = self.samples.lock() {
            s.push_back((Instant::now(), now));
            while s.len() > SAMPLES {
                s.pop_front();
            }
        }
    }

    /// Rates since the oldest snapshot (or totals since start when none is older than
    /// now), per topic.
    pub fn status(&self) -> BTreeMap<String, ConsumeStatus> {
        let now = self.totals.lock().map(|t| t.clone()).unwrap_or_default();
        let oldest = self.samples.lock().ok().and_then(|s| s.front().cloned());
        let (secs, base) = match oldest {
            Some((at, base)) => (at.elapsed().as_secs_f64(), base),
            None => (0.0, BTreeMap::new()),
        };
        now.into_iter()
            .map(|(topic, t)| {
                let b = base.get(&topic).copied().unwrap_or_default();
                let pulls = t.pulls - b.pulls;
                let consumed =
                    (t.consumed_ok + t.consumed_failed) - (b.consumed_ok + b.consumed_failed);
                let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
                let avg = |sum: f64, n: u64| if n > 0 { sum / n as f64 } else { 0.0 };
                let status = ConsumeStatus {
                    consume_failed_msgs: t.consumed_failed as i64,
                    consume_failed_tps: per_sec(t.consumed_failed - b.consumed_failed),
                    consume_ok_tps: per_sec(t.consumed_ok - b.consumed_ok),
                    consume_rt: avg(t.consume_ms - b.consume_ms, consumed),
                    pull_rt: avg(t.pull_ms - b.pull_ms, pulls),
                    pull_tps: per_sec(t.pulled_msgs - b.pulled_msgs),
                };
                (topic, status)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_info_is_written_in_fastjsons_form() {
        let mut info = ConsumerRunningInfo::default();
        info.properties
            .insert("PROP_CLIENT_VERSION".into(), "V4_9_8".into());
        info.mq_table.insert(
            MessageQueue::new("T", "broker-a", 1),
            ProcessQueueInfo {
                commit_offset: 12,
                ..Default::default()
            },
        );
        info.status_table
            .insert("T".into(), ConsumeStatus::default());
        let json = String::from_utf8(info.encode().to_vec()).unwrap();
        assert!(
            json.starts_with(
                r#"{"mqTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:{"cachedMsgCount":0,"#
            ),
            "{json}"
        );
        assert!(
            json.contains(r#""commitOffset":12,"droped":false,"#),
            "{json}"
        );
        assert!(
            json.contains(r#""properties":{"PROP_CLIENT_VERSION":"V4_9_8"}"#),
            "{json}"
        );
        assert!(json.contains(r#""statusTable":{"T":{"consumeFailedMsgs":0,"consumeFailedTPS":0.0,"consumeOKTPS":0.0,"consumeRT":0.0,"pullRT":0.0,"pullTPS":0.0}}"#), "{json}");
        assert!(json.ends_with(r#""subscriptionSet":[]}"#), "{json}");
        assert!(!json.contains("jstack"));
    }

    #[test]
    fn a_direct_result_uses_javas_names_and_leaves_out_a_null_remark() {
        let r = ConsumeMessageDirectlyResult {
            auto_commit: true,
            consume_result: CmResult::Later,
            order: false,
            remark: None,
            spent_time_mills: 3,
        };
        assert_eq!(
            &r.encode()[..],
            br#"{"autoCommit":true,"consumeResult":"CR_LATER","order":false,"spentTimeMills":3}"#
        );
    }

    #[test]
    fn rates_cover_the_window_since_the_oldest_sample() {
        let rec = ConsumeStatsRecorder::default();
        rec.pulled("T", 4.0, 10);
        rec.consumed("T", 2.0, true);
        rec.sample();
        rec.pulled("T", 2.0, 5);
        rec.pulled("T", 4.0, 5);
        rec.consumed("T", 6.0, false);
        let s = &rec.status()["T"];
        assert_eq!(s.pull_rt, 3.0, "only the pulls after the sample count");
        assert_eq!(s.consume_rt, 6.0);
        assert_eq!(s.consume_failed_msgs, 1, "a total, not a rate");
        assert!(s.pull_tps > 0.0 && s.consume_ok_tps == 0.0);
        for _ in 0..SAMPLES * 2 {
            rec.sample();
        }
        assert_eq!(rec.samples.lock().unwrap().len(), SAMPLES);
    }
}
