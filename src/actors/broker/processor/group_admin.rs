//! Consumer-group administration, as RocketMQ 4.9.8's AdminBrokerProcessor answers it:
//! QUERY_TOPIC_CONSUME_BY_WHO, DELETE_SUBSCRIPTIONGROUP, GET_BROKER_CONSUME_STATS,
//! INVOKE_BROKER_TO_RESET_OFFSET (pushing RESET_CONSUMER_CLIENT_OFFSET to the live
//! consumers), and GET_CONSUMER_RUNNING_INFO / CONSUME_MESSAGE_DIRECTLY, which are forwarded
//! to the consumer named in the request and answered with what it answers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::{refuse, BrokerContext, Reply};
use crate::actors::broker::meta::clients::GroupChannels;
use crate::actors::broker::meta::stats::GROUP_GET_NUMS;
use crate::actors::broker::meta::subscription_group::DeleteGroup;
use crate::actors::remoting::connection::Invoke;
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::broker::{
    ConsumeStats, GroupList, MessageQueue, OffsetWrapper, ResetOffsetBody,
};
use crate::protocol::body::fastjson::{to_json, Escape, JsonWriter};
use crate::protocol::code::{request, response};
use crate::protocol::header::broker::{
    ConsumeMessageDirectlyResultRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetConsumerRunningInfoRequestHeader, QueryTopicConsumeByWhoRequestHeader,
    ResetOffsetRequestHeader,
};
use crate::protocol::message::decode_offset_msg_id;
use crate::protocol::RemotingCommand;

/// `MQVersion.Version.V3_0_7_SNAPSHOT`: older clients cannot reset offsets.
const V3_0_7_SNAPSHOT: i32 = 28;
/// `MQVersion.Version.V3_1_8_SNAPSHOT`: older clients cannot answer forwarded requests.
const V3_1_8_SNAPSHOT: i32 = 62;
/// How long a forwarded request waits for the consumer, as Java's broker waits.
const CALL_CONSUMER_TIMEOUT: Duration = Duration::from_secs(5);

/// QUERY_TOPIC_CONSUME_BY_WHO (300): groups online on `topic` and groups with offsets on it.
pub(super) async fn query_topic_consume_by_who(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: QueryTopicConsumeByWhoRequestHeader = req.decode_header()?;
    let mut groups: BTreeSet<String> = cx
        .consumers
        .iter()
        .filter(|g| g.value().subscriptions.contains_key(&h.topic))
        .map(|g| g.key().clone())
        .collect();
    groups.extend(cx.offsets.groups_of(&h.topic));
    let body = GroupList {
        group_list: groups.into_iter().collect(),
    };
    Ok(RemotingCommand::success().with_body(to_json(&body)))
}

/// DELETE_SUBSCRIPTIONGROUP (207): the group's config, and its offsets when asked.
pub(super) async fn delete_subscription_group(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    let h: DeleteSubscriptionGroupRequestHeader = req.decode_header()?;
    tracing::info!(group = %h.group_name, client = %conn.peer, "deleteSubscriptionGroup");
    cx.group_manager
        .ask(DeleteGroup(h.group_name.clone()))
        .await??;
    if h.cleans_offsets() {
        cx.offsets.remove_group(&h.group_name);
    }
    Ok(RemotingCommand::success())
}

/// One queue's progress as GET_CONSUME_STATS and GET_BROKER_CONSUME_STATS report it.
fn offset_wrapper(cx: &BrokerContext, group: &str, topic: &str, queue_id: i32) -> OffsetWrapper {
    let broker_offset = cx.store.queue_offsets(topic, queue_id).1.max(0);
    let consumer_offset = cx.offsets.query(group, topic, queue_id).unwrap_or(0).max(0);
    let last_timestamp = if consumer_offset > 0 {
        super::admin::last_store_time(cx, topic, queue_id, consumer_offset - 1)
    } else {
        0
    };
    OffsetWrapper {
        broker_offset,
        consumer_offset,
        pull_offset: consumer_offset,
        last_timestamp,
    }
}

/// GET_BROKER_CONSUME_STATS (317): every group's progress on every topic it has offsets
/// for (`ConsumeStatsList`); `isOrder` keeps ordered topics only.
pub(super) async fn get_broker_consume_stats(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let order_only = req.ext("isOrder").is_some_and(|v| v == "true");
    let mut total_diff = 0i64;
    let mut w = JsonWriter::new(Escape::Fastjson);
    w.begin_object();
    w.key("brokerAddr").string(&cx.store_host.to_string());
    w.key("consumeStatsList").begin_array();
    let groups = cx.groups.snapshot();
    for group in groups.subscription_group_table.keys() {
        let online = cx.consumers.get(group).map(|g| g.value().clone());
        let mut list = Vec::new();
        let mut topics = cx.offsets.topics_of(group);
        topics.sort();
        for topic in topics {
            let Some(config) = cx.topics.get(&topic) else {
                continue;
            };
            if order_only && !config.order {
                continue;
            }
            // An online group that no longer subscribes to the topic is skipped.
            if online.as_ref().is_some_and(|g| {
                !g.subscriptions.is_empty() && !g.subscriptions.contains_key(&topic)
            }) {
                continue;
            }
            let mut stats = ConsumeStats {
                consume_tps: cx
                    .stats
                    .minute_tps(GROUP_GET_NUMS, &format!("{topic}@{group}")),
                ..Default::default()
            };
            for q in 0..config.write_queue_nums {
                stats.offset_table.insert(
                    MessageQueue::new(topic.clone(), cx.config.broker_name.clone(), q),
                    offset_wrapper(&cx, group, &topic, q),
                );
            }
            total_diff += stats.total_diff();
            list.push(stats);
        }
        w.begin_object();
        w.key(group).begin_array();
        for s in &list {
            w.raw(&s.encode());
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("totalDiff").number(total_diff);
    w.end_object();
    Ok(RemotingCommand::success().with_body(w.finish()))
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222): computes each queue's new offset (the offset at
/// `timestamp`, or the end for -1; applied when forced or when it moves the group back),
/// sends it to every live consumer of the group with RESET_CONSUMER_CLIENT_OFFSET (220),
/// and answers the table. With no consumer online it answers CONSUMER_NOT_ONLINE, and
/// tools fall back to rewriting the committed offsets themselves. Unlike Java, the broker
/// also commits the new offsets, so a consumer that ignores 220 still resumes from them
/// once it restarts.
pub(super) async fn invoke_broker_to_reset_offset(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    let h: ResetOffsetRequestHeader = req.decode_header()?;
    tracing::info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, client = %conn.peer, "resetOffset");
    let config = cx.topics.get(&h.topic).ok_or_else(|| {
        refuse(
            response::SYSTEM_ERROR,
            format!(
                "[reset-offset] reset offset failed, no topic in this broker. topic={}",
                h.topic
            ),
        )
    })?;
    let force = h.is_force.unwrap_or(false);
    let mut table = BTreeMap::new();
    for q in 0..config.write_queue_nums {
        let consumer_offset = cx.offsets.query(&h.group, &h.topic, q).ok_or_else(|| {
            refuse(
                response::SYSTEM_ERROR,
                format!("THe consumer group <{}> not exist", h.group),
            )
        })?;
        let at = if h.timestamp == -1 {
            cx.store.queue_offsets(&h.topic, q).1
        } else {
            cx.store.offset_by_time(&h.topic, q, h.timestamp, false)
        }
        .max(0);
        let offset = if force || at < consumer_offset {
            at
        } else {
            consumer_offset
        };
        table.insert(
            MessageQueue::new(h.topic.clone(), cx.config.broker_name.clone(), q),
            offset,
        );
    }
    let channels = cx
        .clients
        .ask(GroupChannels::Consumer(h.group.clone()))
        .await?;
    if channels.is_empty() {
        return Err(refuse(
            response::CONSUMER_NOT_ONLINE,
            format!(
                "Consumer not online, so can not reset offset, Group: {} Topic: {} Timestamp: {}",
                h.group, h.topic, h.timestamp
            ),
        ));
    }
    if let Some(old) = channels.iter().find(|c| c.version < V3_0_7_SNAPSHOT) {
        return Err(refuse(
            response::SYSTEM_ERROR,
            format!(
                "the client does not support this feature. version={}",
                old.version
            ),
        ));
    }
    let body = ResetOffsetBody {
        offset_table: table,
    };
    for (mq, offset) in &body.offset_table {
        cx.offsets.commit(&h.group, &h.topic, mq.queue_id, *offset);
    }
    let push = ResetOffsetRequestHeader {
        group: h.group.clone(),
        topic: h.topic.clone(),
        timestamp: h.timestamp,
        is_force: None,
        queue_id: None,
        offset: None,
    };
    let encoded = body.encode();
    for c in &channels {
        let mut cmd = RemotingCommand::request_with(request::RESET_CONSUMER_CLIENT_OFFSET, &push)
            .with_body(encoded.clone());
        cmd.mark_oneway();
        if let Err(e) = c.conn.addr.try_send(Invoke {
            command: cmd,
            timeout: CALL_CONSUMER_TIMEOUT,
        }) {
            tracing::warn!(group = %h.group, client = %c.client_id, error = %e, "[reset-offset] could not reach the consumer");
        }
    }
    Ok(RemotingCommand::success().with_body(encoded))
}

/// Forwards `req` (its ext fields and body) to `client_id` of `group` and answers with the
/// consumer's answer (Java's `callConsumer`).
async fn call_consumer(
    cx: &BrokerContext,
    code: i32,
    req: RemotingCommand,
    group: &str,
    client_id: &str,
) -> Reply {
    let channels = cx
        .clients
        .ask(GroupChannels::Consumer(group.to_owned()))
        .await?;
    let Some(c) = channels.into_iter().find(|c| c.client_id == client_id) else {
        return Err(refuse(
            response::SYSTEM_ERROR,
            format!("The Consumer <{group}> <{client_id}> not online"),
        ));
    };
    if c.version < V3_1_8_SNAPSHOT {
        return Err(refuse(
            response::SYSTEM_ERROR,
            format!(
                "The Consumer <{group}> Version <{}> too low to finish, please upgrade it to V3_1_8_SNAPSHOT",
                c.version
            ),
        ));
    }
    let mut forward = RemotingCommand::request(code).with_body(req.body.clone());
    forward.ext_fields = req.ext_fields.clone();
    let answer = c
        .conn
        .addr
        .send(Invoke {
            command: forward,
            timeout: CALL_CONSUMER_TIMEOUT,
        })
        .await
        .map_err(|e| {
            refuse(
                response::SYSTEM_ERROR,
                format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
            )
        })?
        .map_err(|e| {
            refuse(
                response::SYSTEM_ERROR,
                format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
            )
        })?;
    answer.ok_or_else(|| {
        refuse(
            response::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client_id}> Exception: no answer"),
        )
    })
}

/// GET_CONSUMER_RUNNING_INFO (307), forwarded to the consumer.
pub(super) async fn get_consumer_running_info(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetConsumerRunningInfoRequestHeader = req.decode_header()?;
    call_consumer(
        &cx,
        request::GET_CONSUMER_RUNNING_INFO,
        req,
        &h.consumer_group,
        &h.client_id,
    )
    .await
}

/// CONSUME_MESSAGE_DIRECTLY (309), forwarded to the consumer with what Java's
/// `AdminBrokerProcessor` adds: the `brokerName` field and, as the body, the stored record
/// the offset message id points at (the client decodes the body as the message to consume;
/// an id that names no record forwards no body, and the client answers the error).
pub(super) async fn consume_message_directly(
    cx: Arc<BrokerContext>,
    mut req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: ConsumeMessageDirectlyResultRequestHeader = req.decode_header()?;
    let client_id = h.client_id.clone().unwrap_or_default();
    req.put_ext("brokerName", cx.config.broker_name.clone());
    if let Some(record) = h
        .msg_id
        .as_deref()
        .and_then(|id| decode_offset_msg_id(id).ok())
        .and_then(|(_, offset)| cx.store.message_at(offset))
    {
        req = req.with_body(record);
    }
    call_consumer(
        &cx,
        request::CONSUME_MESSAGE_DIRECTLY,
        req,
        &h.consumer_group,
        &client_id,
    )
    .await
}
