//! The `mirror` plug-in: forwards the messages of chosen topics (optionally only some
//! tags) to another RocketMQ-compatible cluster through the Rust client's producer.
//!
//! Position: per queue, in the broker's consumer offsets under `group` (persisted with the
//! other offsets every flushConsumerOffsetInterval and at shutdown), so a restart resumes
//! where the last persisted position was. A message's offset is committed only after the
//! target acknowledged it and everything before it in its queue, so delivery is at least
//! once: a crash repeats at most what was sent since the last persist. The message keeps
//! its UNIQ_KEY (msgId), keys, tags and properties on the target.
//!
//! It wakes on every dispatched round that touches a mirrored topic and every
//! `intervalMs`; one pump at a time reads up to `batch` messages per queue (lock-free
//! reads, as a pull does) and sends the queues concurrently, each queue in order.
//! A failed send stops that queue's pump at the message, which is tried again on the next.
//! Lag (messages stored but not yet mirrored) is `rocketmq_mirror_lag_messages{plugin,topic}`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use super::{Plugin, PluginContext, PluginHost, Takes};
use crate::client::message::{decode_messages, Message};
use crate::client::producer::{Producer, ProducerConfig};
use crate::client::{ClientConfig, ClientInstance};
use crate::protocol::message::{java_string_hash, DispatchInfo};
use crate::store::get_message::MessageFilter;

/// One mirrored topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MirrorTopic {
    pub topic: String,
    /// A TAG expression (`TagA || TagB`); `*` (the default): every message. (A plain
    /// string rather than an option: RON sections reach here as untyped values.)
    #[serde(default = "all_tags")]
    pub tags: String,
}

fn all_tags() -> String {
    "*".into()
}

/// The `mirror` section of a `plugins` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct MirrorConfig {
    /// The target cluster's name servers, `host:port;host:port`.
    pub namesrv_addr: String,
    pub topics: Vec<MirrorTopic>,
    /// The consumer-offset group the position is kept under.
    pub group: String,
    /// The producer group used on the target.
    pub producer_group: String,
    /// Messages read per queue per pump.
    pub batch: usize,
    pub interval_ms: u64,
    /// Send timeout on the target.
    pub send_timeout_ms: u64,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        MirrorConfig {
            namesrv_addr: String::new(),
            topics: Vec::new(),
            group: "FERROCKET_MIRROR".into(),
            producer_group: "FERROCKET_MIRROR_PRODUCER".into(),
            batch: 64,
            interval_ms: 200,
            send_timeout_ms: 3_000,
        }
    }
}

/// Tag codes a mirrored topic wants; `None` is every message.
struct Tags(Option<HashSet<i64>>);

impl Tags {
    fn of(expression: &str) -> Tags {
        let expr = expression.trim();
        if expr.is_empty() || expr == "*" {
            return Tags(None);
        }
        Tags(Some(
            expr.split("||")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| java_string_hash(t) as i64)
                .collect(),
        ))
    }
}

impl MessageFilter for &Tags {
    fn matches_tags_code(&self, code: i64) -> bool {
        self.0.as_ref().is_none_or(|set| set.contains(&code))
    }
}

/// Properties the broker adds or uses internally, not forwarded.
const LOCAL_PROPERTIES: [&str; 6] = [
    "CLUSTER",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "REAL_TOPIC",
    "REAL_QID",
    "WAIT",
];

/// A queue's share of one pump: what to send and where the queue stands after it.
struct QueueWork {
    topic: String,
    queue_id: i32,
    /// (queue offset just past the message, message); the target gets them in order.
    messages: Vec<(i64, Message)>,
    /// Where the queue stands once every message is sent (past filtered-out ones too).
    end: i64,
}

pub struct Mirror {
    config: MirrorConfig,
    host: Option<PluginHost>,
    producer: Option<Arc<Producer>>,
    filters: Vec<(String, Tags)>,
    busy: bool,
    lag: Vec<Arc<AtomicI64>>,
    mirrored: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl Mirror {
    pub fn new(config: MirrorConfig) -> Self {
        let filters = config
            .topics
            .iter()
            .map(|t| (t.topic.clone(), Tags::of(&t.tags)))
            .collect();
        Mirror {
            config,
            host: None,
            producer: None,
            filters,
            busy: false,
            lag: Vec::new(),
            mirrored: Arc::default(),
            failed: Arc::default(),
        }
    }

    /// Reads the next batch of every queue of every mirrored topic.
    fn gather(&self, host: &PluginHost) -> Vec<QueueWork> {
        let mut work = Vec::new();
        for (i, (topic, tags)) in self.filters.iter().enumerate() {
            let queues = host.queue_nums(topic).unwrap_or(0);
            let mut lag = 0;
            for q in 0..queues {
                let (min, max) = host.queue_offsets(topic, q);
                let from = host
                    .committed_offset(&self.config.group, topic, q)
                    .unwrap_or(min)
                    .max(min);
                lag += (max - from).max(0);
                if from >= max {
                    continue;
                }
                let r = host.read(topic, q, from, self.config.batch.max(1), tags);
                let messages = r
                    .messages
                    .iter()
                    .zip(&r.queue_offsets)
                    .flat_map(|(raw, offset)| {
                        decode_messages(raw).into_iter().map(move |m| {
                            let mut out = Message::new(m.topic, m.body);
                            out.flag = m.flag;
                            out.properties = m.properties;
                            for p in LOCAL_PROPERTIES {
                                out.properties.remove(p);
                            }
                            (offset + 1, out)
                        })
                    })
                    .collect();
                work.push(QueueWork {
                    topic: topic.clone(),
                    queue_id: q,
                    messages,
                    end: r.next_begin_offset.max(from),
                });
            }
            if let Some(g) = self.lag.get(i) {
                g.store(lag, Ordering::Relaxed);
            }
        }
        work
    }

    fn pump(&mut self, ctx: &mut PluginContext<Self>) {
        let (Some(host), Some(producer)) = (self.host.clone(), self.producer.clone()) else {
            return;
        };
        if self.busy {
            return;
        }
        let work = self.gather(&host);
        if work.is_empty() {
            return;
        }
        self.busy = true;
        let (mirrored, failed) = (self.mirrored.clone(), self.failed.clone());
        let sends = work.into_iter().map(move |w| {
            let (producer, mirrored, failed) = (producer.clone(), mirrored.clone(), failed.clone());
            async move {
                let mut reached = None;
                for (next, msg) in &w.messages {
                    match producer.send(msg).await {
                        Ok(_) => {
                            mirrored.fetch_add(1, Ordering::Relaxed);
                            reached = Some(*next);
                        }
                        Err(e) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(topic = %w.topic, queue = w.queue_id, error = %e, "mirror send failed; retried next pump");
                            return (w.topic, w.queue_id, reached, false);
                        }
                    }
                }
                (w.topic, w.queue_id, Some(w.end), true)
            }
        });
        super::spawn(ctx, join_all(sends), move |results, me: &mut Self, ctx| {
            me.busy = false;
            let mut all_ok = true;
            for (topic, q, reached, ok) in results {
                if let Some(offset) = reached {
                    host.commit_offset(&me.config.group, &topic, q, offset);
                }
                all_ok &= ok;
            }
            if all_ok {
                // More may be waiting past this batch.
                me.pump(ctx);
            }
        });
    }
}

impl Plugin for Mirror {
    fn name(&self) -> &str {
        "mirror"
    }

    fn takes(&self) -> Takes {
        // The stream is only a wake-up: positions are read from the store, so a dropped
        // round costs nothing but latency.
        Takes::new().dispatched().own_arbiter().mailbox(64)
    }

    fn attach(&mut self, host: &PluginHost) -> Result<(), String> {
        if self.config.namesrv_addr.is_empty() {
            return Err("namesrvAddr (the target cluster) is required".into());
        }
        if self.config.topics.is_empty() {
            return Err("topics: name at least one topic to mirror".into());
        }
        let reg = host.registry();
        self.lag = self
            .config
            .topics
            .iter()
            .map(|t| {
                reg.gauge(
                    "rocketmq_mirror_lag_messages",
                    &[("plugin", host.name()), ("topic", &t.topic)],
                )
            })
            .collect();
        self.mirrored = reg.counter("rocketmq_mirror_messages_total", &[("plugin", host.name())]);
        self.failed = reg.counter(
            "rocketmq_mirror_send_failures_total",
            &[("plugin", host.name())],
        );
        self.host = Some(host.clone());
        Ok(())
    }

    fn started(&mut self, ctx: &mut PluginContext<Self>) {
        if self.producer.is_none() {
            let client = ClientInstance::new(ClientConfig {
                namesrv_addr: self.config.namesrv_addr.clone(),
                instance_name: format!("mirror-{}", std::process::id()),
                ..Default::default()
            });
            let producer = Producer::new(
                ProducerConfig {
                    group: self.config.producer_group.clone(),
                    send_msg_timeout: Duration::from_millis(self.config.send_timeout_ms.max(1)),
                    ..Default::default()
                },
                client,
            );
            producer.start();
            self.producer = Some(Arc::new(producer));
        }
        // A restart may have come in the middle of a pump, whose result is gone.
        self.busy = false;
        let every = Duration::from_millis(self.config.interval_ms.max(1));
        ctx.run_interval(every, |act, ctx| act.plugin.pump(ctx));
    }

    fn dispatched(&mut self, records: &[DispatchInfo], ctx: &mut PluginContext<Self>) {
        if records
            .iter()
            .any(|r| self.filters.iter().any(|(t, _)| *t == r.topic))
        {
            self.pump(ctx);
        }
    }
}
