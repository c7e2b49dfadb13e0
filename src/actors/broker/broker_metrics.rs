//! The broker's business metrics with RocketMQ 5.x names, computed when `/metrics` is
//! scraped from the broker's own tables (no timer, no extra state):
//!
//! - per topic and consumer group (labels `topic`, `consumer_group`, `is_retry`,
//!   `is_system`), 5.x's definitions: `rocketmq_consumer_lag_messages` (max offset −
//!   committed offset), `rocketmq_consumer_lag_latency` (ms since the store time of the
//!   oldest uncommitted message), `rocketmq_consumer_ready_messages` (max offset − pulled
//!   offset) and `rocketmq_consumer_inflight_messages` (pulled − committed). Ready and
//!   inflight are only reported for pairs whose every queue was pulled from this broker
//!   since it started: an unknown figure is left out, never written as 0;
//! - `rocketmq_producer_connections` by language and version, and
//!   `rocketmq_consumer_connections` by group, language, version and consume mode, with
//!   5.x's label names and values (lower case, `protocol_type="remoting"`);
//! - the store: `rocketmq_storage_size` (commit-log bytes held), flush and dispatch behind
//!   bytes, and `rocketmq_storage_message_reserve_time` (ms since the oldest stored message).
//!
//! Counters kept as traffic flows (messages and bytes in and out per topic and group) are
//! in the registry; send and pull latency are `rocketmq_rpc_latency` by request code.
//!
//! Cardinality: the per-group families have one series per (topic, group) with committed
//! offsets here, which follows the groups and topics that exist (deleting either drops its
//! series, and per-topic counters are forgotten with the topic). A scrape writes at most
//! [`MAX_LAG_SERIES`] pairs, the most lagging first; how many were left out is
//! `rocketmq_consumer_lag_series_dropped`.

use std::fmt::Write as _;
use std::sync::{Arc, Weak};

use super::processor::BrokerContext;
use crate::actors::metrics::{family, render_labels};
use crate::protocol::topic::{is_system_topic, RETRY_GROUP_TOPIC_PREFIX};

/// Topic-and-group pairs one scrape writes at most.
pub const MAX_LAG_SERIES: usize = 1000;

/// One pair's figures; `None` where unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLag {
    pub topic: String,
    pub group: String,
    pub lag: i64,
    pub lag_latency_ms: i64,
    pub ready: Option<i64>,
    pub inflight: Option<i64>,
}

/// The lag of every (topic, group) with committed offsets on this broker.
pub fn group_lags(cx: &BrokerContext, now_ms: i64) -> Vec<GroupLag> {
    let mut out = Vec::new();
    for (topic, group) in cx.offsets.pairs() {
        let Some(config) = cx.topics.get(&topic) else {
            continue;
        };
        let (mut lag, mut latency) = (0i64, 0i64);
        let (mut ready, mut inflight) = (Some(0i64), Some(0i64));
        for q in 0..config.read_queue_nums.max(config.write_queue_nums) {
            let max = cx.store.queue_offsets(&topic, q).1.max(0);
            let Some(committed) = cx.offsets.query(&group, &topic, q) else {
                continue;
            };
            let behind = (max - committed).max(0);
            lag += behind;
            if behind > 0 {
                let stored = super::processor::store_time_at(cx, &topic, q, committed);
                if stored > 0 {
                    latency = latency.max(now_ms - stored);
                }
            }
            match cx.offsets.query_pull(&group, &topic, q) {
                Some(pulled) => {
                    ready = ready.map(|r| r + (max - pulled).max(0));
                    inflight = inflight.map(|i| i + (pulled - committed).max(0));
                }
                None if behind > 0 => {
                    ready = None;
                    inflight = None;
                }
                None => {}
            }
        }
        out.push(GroupLag {
            topic,
            group,
            lag,
            lag_latency_ms: latency.max(0),
            ready,
            inflight,
        });
    }
    out
}

fn render(cx: &BrokerContext, out: &mut String) {
    let mut lags = group_lags(cx, crate::clock::now_millis());
    lags.sort_by(|a, b| b.lag.cmp(&a.lag).then_with(|| a.topic.cmp(&b.topic)));
    let dropped = lags.len().saturating_sub(MAX_LAG_SERIES);
    lags.truncate(MAX_LAG_SERIES);
    let labels: Vec<String> = lags
        .iter()
        .map(|l| {
            render_labels(&[
                ("topic", &l.topic),
                ("consumer_group", &l.group),
                (
                    "is_retry",
                    &l.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX).to_string(),
                ),
                ("is_system", &is_system_topic(&l.topic).to_string()),
            ])
        })
        .collect();
    type Figure = fn(&GroupLag) -> Option<i64>;
    let families: [(&str, &str, Figure); 4] = [
        (
            "rocketmq_consumer_lag_messages",
            "Messages the group has not committed.",
            |l| Some(l.lag),
        ),
        (
            "rocketmq_consumer_lag_latency",
            "Milliseconds since the store time of the oldest message the group has not committed.",
            |l| Some(l.lag_latency_ms),
        ),
        (
            "rocketmq_consumer_ready_messages",
            "Messages stored but not yet pulled by the group.",
            |l| l.ready,
        ),
        (
            "rocketmq_consumer_inflight_messages",
            "Messages pulled by the group but not committed.",
            |l| l.inflight,
        ),
    ];
    for (name, help, figure) in families {
        family(out, name, "gauge", help);
        for (l, labels) in lags.iter().zip(&labels) {
            if let Some(v) = figure(l) {
                let _ = writeln!(out, "{name}{{{labels}}} {v}");
            }
        }
    }
    family(
        out,
        "rocketmq_consumer_lag_series_dropped",
        "gauge",
        "Topic and group pairs left out of the lag families (more than the cap).",
    );
    let _ = writeln!(out, "rocketmq_consumer_lag_series_dropped {dropped}");

    render_connections(cx, out);

    let log = cx.store.commit_log();
    let (min, max) = (log.min_offset(), log.max_offset());
    let storage: [(&str, &str, i64); 3] = [
        (
            "rocketmq_storage_size",
            "Bytes of messages the commit log holds.",
            (max - min).max(0),
        ),
        (
            "rocketmq_storage_flush_behind_bytes",
            "Commit-log bytes written but not yet flushed to disk.",
            (max - cx.store.flushed_offset()).max(0),
        ),
        (
            "rocketmq_storage_dispatch_behind_bytes",
            "Commit-log bytes not yet dispatched to consume queues and the index.",
            (max - cx.store.dispatched_offset()).max(0),
        ),
    ];
    for (name, help, v) in storage {
        family(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {v}");
    }
    let earliest = log
        .read_record(min)
        .and_then(|r| crate::protocol::message::decode_record(&r).ok())
        .map(|m| m.store_timestamp);
    if let Some(t) = earliest {
        family(
            out,
            "rocketmq_storage_message_reserve_time",
            "gauge",
            "Milliseconds since the store time of the oldest message kept.",
        );
        let _ = writeln!(
            out,
            "rocketmq_storage_message_reserve_time {}",
            (crate::clock::now_millis() - t).max(0)
        );
    }
}

/// The `version` label of a client version ordinal: 5.x's `MQVersion.getVersionDesc` in
/// lower case. Ordinals past the last release RocketMQ names (V5_9_9) are
/// `higher_version`, as in Java, and negative ones `unknown`, so a client cannot make up
/// label values: there are at most [`LAST_VERSION`] + 2 of them.
pub fn version_label(version: i32) -> String {
    match version {
        v if v < 0 => "unknown".into(),
        v if v > LAST_VERSION => "higher_version".into(),
        v => crate::protocol::command::version_name(v).to_ascii_lowercase(),
    }
}

/// MQVersion's V5_9_9, the last release ordinal RocketMQ names.
pub const LAST_VERSION: i32 = 611;

/// 5.x's `isSystemGroup`: groups RocketMQ itself runs (`CID_RMQ_SYS_` in any case).
fn is_system_group(group: &str) -> bool {
    group
        .get(..12)
        .is_some_and(|p| p.eq_ignore_ascii_case("CID_RMQ_SYS_"))
}

/// `rocketmq_producer_connections` and `rocketmq_consumer_connections` with 5.x's labels
/// (`BrokerMetricsManager.initConnectionMetrics`). Cardinality: languages are RocketMQ's 14
/// names, versions are bounded by [`version_label`], and consumer series follow the groups
/// with live connections.
fn render_connections(cx: &BrokerContext, out: &mut String) {
    let producers: Vec<((crate::protocol::LanguageCode, i32), i64)> =
        match cx.producer_counts.lock() {
            Ok(c) => c.iter().map(|(k, n)| (*k, *n)).collect(),
            Err(_) => Vec::new(),
        };
    family(
        out,
        "rocketmq_producer_connections",
        "gauge",
        "Producer connections by client language and version.",
    );
    for ((language, version), n) in producers {
        let labels = render_labels(&[
            ("language", &language.name().to_ascii_lowercase()),
            ("version", &version_label(version)),
            ("protocol_type", "remoting"),
        ]);
        let _ = writeln!(out, "rocketmq_producer_connections{{{labels}}} {n}");
    }

    let mut consumers: std::collections::BTreeMap<(String, String, String, &str), i64> =
        Default::default();
    let groups: Vec<_> = cx
        .consumers
        .iter()
        .map(|g| (g.key().clone(), g.value().clone()))
        .collect();
    for (group, view) in &groups {
        // 5.x's `ConsumeType.getTypeCN`: CONSUME_ACTIVELY is PULL, CONSUME_POP is POP.
        let mode = match view.consume_type.as_str() {
            "CONSUME_ACTIVELY" => "pull",
            "CONSUME_POP" => "pop",
            _ => "push",
        };
        for (_, _, language, version) in &view.clients {
            *consumers
                .entry((
                    group.clone(),
                    language.name().to_ascii_lowercase(),
                    version_label(*version),
                    mode,
                ))
                .or_default() += 1;
        }
    }
    family(
        out,
        "rocketmq_consumer_connections",
        "gauge",
        "Consumer connections by group, client language, version and consume mode.",
    );
    for ((group, language, version, mode), n) in consumers {
        let labels = render_labels(&[
            ("consumer_group", &group),
            ("language", &language),
            ("version", &version),
            ("consume_mode", mode),
            ("protocol_type", "remoting"),
            ("is_system", &is_system_group(&group).to_string()),
        ]);
        let _ = writeln!(out, "rocketmq_consumer_connections{{{labels}}} {n}");
    }
}

/// Registers the broker's families with its metrics registry; they stop when the broker's
/// context is dropped.
pub fn register(cx: &Arc<BrokerContext>) {
    let weak: Weak<BrokerContext> = Arc::downgrade(cx);
    cx.registry.register_collector(Box::new(move |out| {
        if let Some(cx) = weak.upgrade() {
            render(&cx, out);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_labels_are_5x_names_in_lower_case_and_bounded() {
        assert_eq!(version_label(409), "v4_9_8");
        assert_eq!(version_label(LAST_VERSION), "v5_9_9");
        assert_eq!(version_label(LAST_VERSION + 1), "higher_version");
        assert_eq!(version_label(i32::MAX), "higher_version");
        assert_eq!(version_label(-3), "unknown");
    }

    #[test]
    fn system_groups_are_rocketmqs_own() {
        assert!(is_system_group("CID_RMQ_SYS_TRANS"));
        assert!(is_system_group("cid_rmq_sys_x"));
        assert!(!is_system_group("CID_RMQ"));
        assert!(!is_system_group("MyGroup"));
    }
}
