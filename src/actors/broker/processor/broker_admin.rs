//! Broker-wide administration: UPDATE_BROKER_CONFIG (25), VIEW_BROKER_STATS_DATA (315)
//! and QUERY_CONSUME_QUEUE (321, the units of a consume queue, for `mqadmin queryCq`).
//!
//! UPDATE_BROKER_CONFIG refuses, with NO_PERMISSION as RocketMQ 4.9.8 does, any key in the
//! black list: `configBlackList` and `brokerConfigPath` (the CVE-2023-33246 lesson: a config
//! write must never choose a file the broker writes or executes) and, Ferrocket's own
//! addition, every key naming a store path. Other keys are recorded and shown by
//! GET_BROKER_CONFIG; the running broker's settings are fixed at start, so a recorded value
//! takes effect when it is also put in the broker's RON file before the next start.

use std::sync::Arc;

use super::{refuse, BrokerContext, Reply};
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::fastjson::{to_json, Escape, JsonWriter};
use crate::protocol::body::kv::parse_properties;
use crate::protocol::code::response;
use crate::protocol::header::broker::{
    QueryConsumeQueueRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use crate::protocol::RemotingCommand;

/// Keys UPDATE_BROKER_CONFIG never changes.
pub const CONFIG_BLACK_LIST: [&str; 7] = [
    "configBlackList",
    "brokerConfigPath",
    "storePathRootDir",
    "storePathCommitLog",
    "storePathConsumeQueue",
    "storePathIndex",
    "storeCheckpoint",
];

/// UPDATE_BROKER_CONFIG (25).
pub(super) async fn update_broker_config(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    let text = std::str::from_utf8(&req.body)
        .map_err(|_| refuse(response::SYSTEM_ERROR, "string2Properties error"))?;
    let props = parse_properties(text);
    if let Some((k, _)) = props
        .iter()
        .find(|(k, _)| CONFIG_BLACK_LIST.contains(&k.as_str()))
    {
        tracing::debug!(client = %conn.peer, key = %k, "updateBrokerConfig refused: key in the black list");
        return Err(refuse(
            response::NO_PERMISSION,
            "Can not update config in black list.",
        ));
    }
    tracing::info!(client = %conn.peer, config = ?props, "updateBrokerConfig");
    if let Ok(mut overrides) = cx.config_overrides.lock() {
        overrides.extend(props);
    }
    Ok(RemotingCommand::success())
}

/// VIEW_BROKER_STATS_DATA (315): one statistic's minute, hour and day figures.
pub(super) async fn view_broker_stats_data(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: ViewBrokerStatsDataRequestHeader = req.decode_header()?;
    let data = cx.stats.data(&h.stats_name, &h.stats_key).ok_or_else(|| {
        refuse(
            response::SYSTEM_ERROR,
            format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
        )
    })?;
    Ok(RemotingCommand::success().with_body(data.encode()))
}

/// Units QUERY_CONSUME_QUEUE returns at most, whatever `count` asks.
const QUERY_CQ_MAX_UNITS: i32 = 1000;

/// QUERY_CONSUME_QUEUE (321): `QueryConsumeQueueResponseBody` with the queue's bounds, the
/// group's subscription when it is online (else `filterData` says it is not), and up to
/// `count` units from `index`.
pub(super) async fn query_consume_queue(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: QueryConsumeQueueRequestHeader = req.decode_header()?;
    let cq = cx
        .store
        .consume_queue(&h.topic, h.queue_id)
        .ok_or_else(|| {
            refuse(
                response::SYSTEM_ERROR,
                format!("{}@{} is not exist!", h.queue_id, h.topic),
            )
        })?;
    let (min, max) = cx.store.queue_offsets(&h.topic, h.queue_id);
    if h.index < min || h.index >= max {
        return Err(refuse(
            response::SYSTEM_ERROR,
            format!(
                "Index {} of {}@{} is not exist!",
                h.index, h.queue_id, h.topic
            ),
        ));
    }
    let mut w = JsonWriter::new(Escape::Fastjson);
    w.begin_object();
    if let Some(group) = h.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        match cx
            .consumers
            .get(group)
            .and_then(|g| g.subscriptions.get(&h.topic).cloned())
        {
            Some(sub) => {
                w.key("subscriptionData").raw(&to_json(&sub));
            }
            None => {
                w.key("filterData")
                    .string(&format!("{group}@{} is not online!", h.topic));
            }
        }
    }
    w.key("maxQueueIndex").number(max);
    w.key("minQueueIndex").number(min);
    w.key("queueData").begin_array();
    let count = h.count.clamp(0, QUERY_CQ_MAX_UNITS) as i64;
    for offset in h.index..(h.index + count).min(max) {
        let Some(u) = cq.unit(offset) else {
            break;
        };
        w.begin_object();
        w.key("eval").bool(false);
        w.key("physicOffset").number(u.phys_offset);
        w.key("physicSize").number(u.size.into());
        w.key("tagsCode").number(u.tags_code);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    Ok(RemotingCommand::success().with_body(w.finish()))
}
