//! The `trace` plug-in: broker-side message trace in the format RocketMQ clients write
//! (client `TraceDataEncoder`, 4.9.8), so `mqadmin queryMsgTraceById` and the dashboard's
//! trace view work for producers and consumers that trace nothing themselves.
//!
//! - A stored send becomes one `Pub` record per message (producer group, topic, msgId =
//!   UNIQ_KEY, tags, keys, store host, body length, cost from receipt to store, message
//!   type, offset msgId, success).
//! - A pull that delivered messages becomes `SubBefore` records (one request id per pull,
//!   retry times, keys); when the group later commits an offset past a pulled message
//!   (pull commit flag or UPDATE_CONSUMER_OFFSET), a `SubAfter` record for it (success,
//!   cost = commit − pull, context code 0). The broker cannot see a consumer's failures,
//!   so a message never committed gets no `SubAfter`.
//!
//! Records are joined into trace messages on `traceTopic` (RMQ_SYS_TRACE_TOPIC, queue 0)
//! of at most `batchSize` records or 128 KiB, every `flushIntervalMs`; each message's KEYS
//! hold every traced msgId and key, so the index finds a trace by message id. Cost to the
//! traced send: building the after-store notice and one non-waiting mailbox offer; a full
//! mailbox drops the notice (counted). Buffered records beyond `maxBuffered` and pulls
//! awaiting their commit beyond `maxPendingConsumes` are dropped, counted in
//! `rocketmq_trace_dropped_total`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{
    AfterStore, Consumed, Plugin, PluginContext, PluginHost, PulledInfo, StopFuture, Takes,
};

/// RocketMQ's default trace topic (TopicValidator.RMQ_SYS_TRACE_TOPIC).
pub const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Between the fields of one record (TraceConstants.CONTENT_SPLITOR).
pub const CONTENT_SPLITOR: char = '\u{1}';
/// After each record (TraceConstants.FIELD_SPLITOR).
pub const FIELD_SPLITOR: char = '\u{2}';
/// Largest trace message body (Java's AsyncTraceDispatcher maxMsgSize).
const MAX_BODY: usize = 128 * 1024;
/// Trace writes in flight at once; more wait in the buffer.
const MAX_IN_FLIGHT: usize = 8;

/// The `trace` section of a `plugins` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct TraceConfig {
    pub trace_topic: String,
    /// Records per trace message.
    pub batch_size: usize,
    pub flush_interval_ms: u64,
    /// Records waiting to be written; more are dropped (counted).
    pub max_buffered: usize,
    /// Pulled messages awaiting their group's commit (for SubAfter); more are forgotten.
    pub max_pending_consumes: usize,
    /// Trace consumption (SubBefore/SubAfter) as well as sends.
    pub trace_consume: bool,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            trace_topic: RMQ_SYS_TRACE_TOPIC.into(),
            batch_size: 100,
            flush_interval_ms: 100,
            max_buffered: 100_000,
            max_pending_consumes: 100_000,
            trace_consume: true,
        }
    }
}

/// One encoded record and the keys it is found by.
struct Record {
    data: String,
    keys: Vec<String>,
}

/// A pulled message waiting for its group's commit.
struct Pending {
    msg_id: String,
    keys: String,
    request_id: String,
    pulled_ms: i64,
}

type QueueOf = (String, String, i32);

pub struct Trace {
    config: TraceConfig,
    host: Option<PluginHost>,
    buffer: Vec<Record>,
    pending: HashMap<QueueOf, BTreeMap<i64, Pending>>,
    pending_len: usize,
    in_flight: usize,
    request_ids: crate::protocol::message::UniqIdGenerator,
    dropped: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

impl Trace {
    pub fn new(config: TraceConfig) -> Self {
        Trace {
            config,
            host: None,
            buffer: Vec::new(),
            pending: HashMap::new(),
            pending_len: 0,
            in_flight: 0,
            request_ids: crate::protocol::message::UniqIdGenerator::new(std::net::IpAddr::from([
                127, 0, 0, 1,
            ])),
            dropped: Arc::default(),
            written: Arc::default(),
        }
    }

    fn push(&mut self, data: String, keys: Vec<String>) {
        if self.buffer.len() >= self.config.max_buffered {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.buffer.push(Record { data, keys });
    }

    fn region(&self) -> String {
        self.host
            .as_ref()
            .map(|h| h.broker_config().region_id.clone())
            .unwrap_or_default()
    }

    /// Writes buffered records as trace messages, up to [`MAX_IN_FLIGHT`] writes at once.
    fn flush(&mut self, ctx: &mut PluginContext<Self>) {
        let Some(host) = self.host.clone() else {
            return;
        };
        while !self.buffer.is_empty() && self.in_flight < MAX_IN_FLIGHT {
            let (body, keys) = take_message(&mut self.buffer, self.config.batch_size);
            let (host, topic, written) = (
                host.clone(),
                self.config.trace_topic.clone(),
                self.written.clone(),
            );
            self.in_flight += 1;
            let write = async move {
                if write_message(&host, &topic, body, &keys).await {
                    written.fetch_add(1, Ordering::Relaxed);
                }
            };
            super::spawn(ctx, write, |_, me: &mut Self, _| me.in_flight -= 1);
        }
    }

    fn pulled(&mut self, group: String, topic: String, queue_id: i32, messages: Vec<PulledInfo>) {
        let now = crate::clock::now_millis();
        let request_id = self.request_ids.next(now);
        let region = self.region();
        for m in &messages {
            let keys = m.keys.clone().unwrap_or_default();
            let data = sub_before(
                now,
                &region,
                &group,
                &request_id,
                &m.msg_id,
                m.reconsume_times,
                &keys,
            );
            self.push(data, trace_keys(&m.msg_id, &keys));
        }
        let queue = self.pending.entry((group, topic, queue_id)).or_default();
        for m in messages {
            if self.pending_len >= self.config.max_pending_consumes {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let keys = m.keys.unwrap_or_default();
            let old = queue.insert(
                m.queue_offset,
                Pending {
                    msg_id: m.msg_id,
                    keys,
                    request_id: request_id.clone(),
                    pulled_ms: now,
                },
            );
            if old.is_none() {
                self.pending_len += 1;
            }
        }
    }

    fn committed(&mut self, group: String, topic: String, queue_id: i32, offset: i64) {
        let key = (group, topic, queue_id);
        let Some(queue) = self.pending.get_mut(&key) else {
            return;
        };
        let rest = queue.split_off(&offset);
        let done = std::mem::replace(queue, rest);
        if queue.is_empty() {
            self.pending.remove(&key);
        }
        self.pending_len -= done.len();
        let now = crate::clock::now_millis();
        for p in done.into_values() {
            let cost = (now - p.pulled_ms).max(0);
            let data = sub_after(
                &p.request_id,
                &p.msg_id,
                cost,
                true,
                &p.keys,
                0,
                now,
                &key.0,
            );
            self.push(data, trace_keys(&p.msg_id, &p.keys));
        }
    }
}

/// Takes the next trace message off the front of `buffer`: at least one record, at most
/// `batch` records or [`MAX_BODY`] bytes. Its body and its KEYS (every record's keys, once).
fn take_message(buffer: &mut Vec<Record>, batch: usize) -> (String, String) {
    let mut body = String::new();
    let mut keys: Vec<String> = Vec::new();
    let mut taken = 0;
    for r in buffer.iter() {
        if taken > 0 && (taken >= batch || body.len() + r.data.len() > MAX_BODY) {
            break;
        }
        body.push_str(&r.data);
        keys.extend(r.keys.iter().cloned());
        taken += 1;
    }
    buffer.drain(..taken);
    keys.sort();
    keys.dedup();
    (body, keys.join(" "))
}

/// Stores one trace message; `false` (logged) when the store refused it.
async fn write_message(host: &PluginHost, topic: &str, body: String, keys: &str) -> bool {
    match host
        .put(topic, 0, Bytes::from(body), &[("KEYS", keys)])
        .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "trace message not written");
            false
        }
    }
}

/// The keys a trace record is found by: the message id and each of the message's keys.
fn trace_keys(msg_id: &str, keys: &str) -> Vec<String> {
    std::iter::once(msg_id.to_owned())
        .chain(keys.split(' ').filter(|k| !k.is_empty()).map(str::to_owned))
        .collect()
}

fn join(fields: &[&dyn std::fmt::Display]) -> String {
    let mut s = String::with_capacity(128);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(CONTENT_SPLITOR);
        }
        s.push_str(&f.to_string());
    }
    s.push(FIELD_SPLITOR);
    s
}

/// A `Pub` record (TraceDataEncoder's field order).
#[allow(clippy::too_many_arguments)]
pub fn pub_record(
    timestamp: i64,
    region: &str,
    group: &str,
    topic: &str,
    msg_id: &str,
    tags: &str,
    keys: &str,
    store_host: &str,
    body_len: usize,
    cost_ms: u64,
    msg_type: i32,
    offset_msg_id: &str,
    success: bool,
) -> String {
    join(&[
        &"Pub",
        &timestamp,
        &region,
        &group,
        &topic,
        &msg_id,
        &tags,
        &keys,
        &store_host,
        &body_len,
        &cost_ms,
        &msg_type,
        &offset_msg_id,
        &success,
    ])
}

/// A `SubBefore` record.
pub fn sub_before(
    timestamp: i64,
    region: &str,
    group: &str,
    request_id: &str,
    msg_id: &str,
    retry_times: i32,
    keys: &str,
) -> String {
    join(&[
        &"SubBefore",
        &timestamp,
        &region,
        &group,
        &request_id,
        &msg_id,
        &retry_times,
        &keys,
    ])
}

/// A `SubAfter` record (with the timestamp and group Java writes for non-cloud channels).
#[allow(clippy::too_many_arguments)]
pub fn sub_after(
    request_id: &str,
    msg_id: &str,
    cost_ms: i64,
    success: bool,
    keys: &str,
    context_code: i32,
    timestamp: i64,
    group: &str,
) -> String {
    join(&[
        &"SubAfter",
        &request_id,
        &msg_id,
        &cost_ms,
        &success,
        &keys,
        &context_code,
        &timestamp,
        &group,
    ])
}

impl Plugin for Trace {
    fn name(&self) -> &str {
        "trace"
    }

    fn takes(&self) -> Takes {
        let t = Takes::new().after_store().own_arbiter();
        if self.config.trace_consume {
            t.consumed()
        } else {
            t
        }
    }

    fn attach(&mut self, host: &PluginHost) -> Result<(), String> {
        if self.config.batch_size == 0 {
            return Err("batchSize must be at least 1".into());
        }
        crate::protocol::topic::validate_topic(&self.config.trace_topic)
            .map_err(|e| format!("traceTopic: {e}"))?;
        self.request_ids = crate::protocol::message::UniqIdGenerator::new(host.store_host().ip());
        let reg = host.registry();
        self.dropped = reg.counter("rocketmq_trace_dropped_total", &[("plugin", host.name())]);
        self.written = reg.counter(
            "rocketmq_trace_messages_written_total",
            &[("plugin", host.name())],
        );
        self.host = Some(host.clone());
        Ok(())
    }

    fn started(&mut self, ctx: &mut PluginContext<Self>) {
        if let Some(host) = self.host.clone() {
            let topic = self.config.trace_topic.clone();
            let create = async move {
                if let Err(e) = host.ensure_topic(&topic, 1).await {
                    tracing::warn!(error = %e, topic, "trace topic not created");
                }
            };
            super::spawn(ctx, create, |_, _: &mut Self, _| {});
        }
        let every = Duration::from_millis(self.config.flush_interval_ms.max(1));
        ctx.run_interval(every, |act, ctx| act.plugin.flush(ctx));
    }

    fn after_store(&mut self, s: AfterStore, _: &mut PluginContext<Self>) {
        if s.topic == self.config.trace_topic {
            return;
        }
        let region = self.region();
        let store_host = s.store_host.to_string();
        let ok = s.status == crate::protocol::code::response::SUCCESS;
        for m in &s.messages {
            let (tags, keys) = (
                m.tags.as_deref().unwrap_or(""),
                m.keys.as_deref().unwrap_or(""),
            );
            let data = pub_record(
                s.received_ms,
                &region,
                &s.producer_group,
                &s.topic,
                &m.msg_id,
                tags,
                keys,
                &store_host,
                m.body_len,
                s.cost_ms,
                m.msg_type as i32,
                &m.offset_msg_id,
                ok,
            );
            self.push(data, trace_keys(&m.msg_id, keys));
        }
    }

    fn consumed(&mut self, event: Consumed, _: &mut PluginContext<Self>) {
        match event {
            Consumed::Pulled { topic, .. } if topic == self.config.trace_topic => {}
            Consumed::Pulled {
                group,
                topic,
                queue_id,
                messages,
                ..
            } => self.pulled(group, topic, queue_id, messages),
            Consumed::Committed {
                group,
                topic,
                queue_id,
                offset,
            } => self.committed(group, topic, queue_id, offset),
        }
    }

    fn stopping(&mut self, _: &mut PluginContext<Self>) -> StopFuture {
        // Whatever is buffered goes out now; the broker waits up to 5 s.
        let Some(host) = self.host.clone() else {
            return Box::pin(async {});
        };
        let (mut records, batch) = (std::mem::take(&mut self.buffer), self.config.batch_size);
        let topic = self.config.trace_topic.clone();
        Box::pin(async move {
            while !records.is_empty() {
                let (body, keys) = take_message(&mut records, batch);
                write_message(&host, &topic, body, &keys).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits as Java's `decoderFromTraceDataString` does.
    fn fields(data: &str) -> Vec<Vec<&str>> {
        data.split(FIELD_SPLITOR)
            .filter(|r| !r.is_empty())
            .map(|r| r.split(CONTENT_SPLITOR).collect())
            .collect()
    }

    #[test]
    fn pub_records_have_the_java_encoders_fourteen_fields() {
        let r = pub_record(
            1700,
            "DefaultRegion",
            "PG",
            "T",
            "ID1",
            "TagA",
            "k1 k2",
            "127.0.0.1:10911",
            5,
            3,
            0,
            "OFF",
            true,
        );
        let f = fields(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0],
            [
                "Pub",
                "1700",
                "DefaultRegion",
                "PG",
                "T",
                "ID1",
                "TagA",
                "k1 k2",
                "127.0.0.1:10911",
                "5",
                "3",
                "0",
                "OFF",
                "true"
            ]
        );
    }

    #[test]
    fn sub_records_follow_the_java_field_order() {
        let data = sub_before(1, "R", "CG", "REQ", "ID", 2, "k")
            + &sub_after("REQ", "ID", 7, true, "k", 0, 9, "CG");
        let f = fields(&data);
        assert_eq!(f[0], ["SubBefore", "1", "R", "CG", "REQ", "ID", "2", "k"]);
        assert_eq!(
            f[1],
            ["SubAfter", "REQ", "ID", "7", "true", "k", "0", "9", "CG"]
        );
    }

    #[test]
    fn a_commit_turns_pulled_messages_below_it_into_sub_after() {
        let mut t = Trace::new(TraceConfig::default());
        let info = |o: i64| PulledInfo {
            msg_id: format!("M{o}"),
            offset_msg_id: String::new(),
            queue_offset: o,
            tags: None,
            keys: Some("k".into()),
            reconsume_times: 0,
            store_timestamp: 0,
            body_len: 1,
        };
        t.pulled("G".into(), "T".into(), 0, (0..4).map(info).collect());
        assert_eq!(t.buffer.len(), 4);
        t.committed("G".into(), "T".into(), 0, 2);
        assert_eq!(t.buffer.len(), 6);
        assert!(t.buffer[4].data.starts_with("SubAfter\u{1}"));
        assert!(t.buffer[4].data.contains("\u{1}M0\u{1}"));
        assert_eq!(t.pending_len, 2);
        t.committed("G".into(), "T".into(), 0, 4);
        assert_eq!((t.pending_len, t.pending.len()), (0, 0));
    }
}
