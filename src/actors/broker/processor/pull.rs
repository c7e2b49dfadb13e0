//! PULL_MESSAGE (11) with long polling. Statuses become response codes as RocketMQ's
//! PullMessageProcessor decides them; a pull that finds nothing new and carries the
//! SUSPEND flag waits in PullHold (up to its suspend timeout, at most
//! brokerSuspendMaxTimeMillis) and is answered as soon as its queue receives a message.
//! TAG subscriptions filter on the consume queue's tag codes; SQL92 ones (from the
//! heartbeat's registered filter, or compiled from the pull's own subscription) evaluate
//! each candidate record's properties, and offsets advance past what does not match.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::oneshot;

use super::refuse;
use super::{BrokerContext, Reply};
use crate::actors::broker::features::pull_hold::Park;
use crate::actors::broker::meta::consumer_filter::{ConsumerFilters, SelectorFilter};
use crate::actors::broker::meta::stats::{BROKER_GET_NUMS, GROUP_GET_NUMS, GROUP_GET_SIZE};
use crate::actors::broker::meta::subscription_group::EnsureGroup;
use crate::actors::broker::meta::topic_config::{PERM_READ, RETRY_GROUP_TOPIC_PREFIX};
use crate::actors::broker::plugins::{Consumed, PulledInfo};
use crate::actors::error::ServiceError;
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::heartbeat::{EXPRESSION_TYPE_TAG, SUB_ALL};
use crate::protocol::code::response;
use crate::protocol::filter::Expr;
use crate::protocol::flag::pull_sysflag;
use crate::protocol::header::broker::{PullMessageRequestHeader, PullMessageResponseHeader};
use crate::protocol::message::{
    decode_record_shared, java_string_hash, property, record_properties,
};
use crate::protocol::RemotingCommand;
use crate::store::get_message::{GetMessageStatus, MessageFilter, TransferLimits};

const FLAG_COMMIT_OFFSET: i32 = 0x1;
const FAQ: &str = "https://rocketmq.apache.org/docs/bestPractice/06FAQ";

/// Which tag codes a pull wants; `None` means every message.
type TagFilter = Option<HashSet<i64>>;

/// A TAG expression ("TagA || TagB", "*") as tag codes.
pub(super) fn tag_filter(expression: &str) -> TagFilter {
    let expr = expression.trim();
    if expr.is_empty() || expr == "*" {
        return None;
    }
    Some(
        expr.split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| java_string_hash(t) as i64)
            .collect(),
    )
}

/// What a pull filters by (RocketMQ's `ExpressionMessageFilter` and, under
/// filterSupportRetry, `ExpressionForRetryMessageFilter`).
enum PullFilter {
    /// Tag codes from the consume queue alone.
    Tags(TagFilter),
    /// A SQL92 selector over each record's properties; the consume queue cannot tell.
    Sql(Arc<Expr>),
    /// A `%RETRY%<group>` queue: each record by the selector its group has on the
    /// record's original topic (its RETRY_TOPIC property), if that group has one.
    Retry {
        tags: TagFilter,
        group: String,
        filters: Arc<ConsumerFilters>,
    },
}

impl MessageFilter for &PullFilter {
    fn matches_tags_code(&self, code: i64) -> bool {
        match self {
            PullFilter::Tags(tags) | PullFilter::Retry { tags, .. } => {
                tags.as_ref().is_none_or(|set| set.contains(&code))
            }
            PullFilter::Sql(_) => true,
        }
    }

    fn matches_record(&self, record: &[u8]) -> bool {
        match self {
            PullFilter::Tags(_) => true,
            PullFilter::Sql(selector) => SelectorFilter(selector).matches_record(record),
            PullFilter::Retry { group, filters, .. } => {
                let origin = record_properties(record)
                    .map(String::from_utf8_lossy)
                    .and_then(|raw| property(&raw, property::RETRY_TOPIC).map(str::to_owned));
                match origin.and_then(|topic| filters.get(&topic, group)) {
                    Some(f) => SelectorFilter(&f.compiled).matches_record(record),
                    None => true,
                }
            }
        }
    }
}

/// Java's `ExpressionType.isTagType` for a header's optional type.
fn is_tag_type(expression_type: Option<&str>) -> bool {
    matches!(expression_type, None | Some("") | Some(EXPRESSION_TYPE_TAG))
}

/// The subscription a pull filters by: from the request, or from the group's heartbeat.
fn filter_for(
    cx: &BrokerContext,
    h: &PullMessageRequestHeader,
) -> Result<PullFilter, ServiceError> {
    let (expression_type, filter) = if h.sys_flag & pull_sysflag::SUBSCRIPTION != 0 {
        let expression = h.subscription.as_deref().unwrap_or(SUB_ALL);
        if is_tag_type(h.expression_type.as_deref()) {
            (
                EXPRESSION_TYPE_TAG.to_owned(),
                PullFilter::Tags(tag_filter(expression)),
            )
        } else {
            let ty = h.expression_type.as_deref().unwrap_or_default();
            // Reuse the heartbeat's compiled selector when the pull carries the same one.
            let compiled = match cx.consumer_filters.get(&h.topic, &h.consumer_group) {
                Some(f) if f.expression == expression && f.expression_type == ty => {
                    f.compiled.clone()
                }
                _ => cx.consumer_filters.compile(ty, expression).map_err(|e| {
                    refuse(
                        response::SUBSCRIPTION_PARSE_FAILED,
                        format!("parse the consumer's subscription failed: {e}"),
                    )
                })?,
            };
            (ty.to_owned(), PullFilter::Sql(compiled))
        }
    } else {
        let group = cx.consumers.get(&h.consumer_group).ok_or_else(|| {
            refuse(
                response::SUBSCRIPTION_NOT_EXIST,
                format!("the consumer's group info not exist {FAQ}"),
            )
        })?;
        let sub = group.subscriptions.get(&h.topic).ok_or_else(|| {
            refuse(
                response::SUBSCRIPTION_NOT_EXIST,
                format!("the consumer's subscription not exist {FAQ}"),
            )
        })?;
        if sub.sub_version < h.sub_version {
            return Err(refuse(
                response::SUBSCRIPTION_NOT_LATEST,
                "the consumer's subscription not latest",
            ));
        }
        if sub.is_tag_type() {
            // Codes come from the expression itself, hashed the way the consume queue
            // hashes tags: the C++ client fills codeSet with atoi(tag) and Go hashes UTF-8
            // bytes, so the client's codeSet cannot be trusted to match.
            (
                EXPRESSION_TYPE_TAG.to_owned(),
                PullFilter::Tags(tag_filter(&sub.sub_string)),
            )
        } else {
            let f = cx
                .consumer_filters
                .get(&h.topic, &h.consumer_group)
                .ok_or_else(|| {
                    refuse(
                        response::FILTER_DATA_NOT_EXIST,
                        "The broker's consumer filter data is not exist!Your expression may be wrong!",
                    )
                })?;
            if f.client_version < h.sub_version {
                return Err(refuse(
                    response::FILTER_DATA_NOT_LATEST,
                    "the consumer's consumer filter data not latest",
                ));
            }
            (
                sub.expression_type.clone(),
                PullFilter::Sql(f.compiled.clone()),
            )
        }
    };
    if expression_type != EXPRESSION_TYPE_TAG && !cx.config.enable_property_filter {
        return Err(super::client::property_filter_disabled(&expression_type));
    }
    Ok(match filter {
        PullFilter::Tags(tags)
            if cx.config.filter_support_retry && h.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) =>
        {
            PullFilter::Retry {
                tags,
                group: h.topic[RETRY_GROUP_TOPIC_PREFIX.len()..].to_owned(),
                filters: cx.consumer_filters.clone(),
            }
        }
        other => other,
    })
}

/// The broker a consumer should pull this queue from next, as Java's PullMessageProcessor
/// decides it: with slaveReadEnable, a consumer reading data no longer in memory goes to
/// its group's whichBrokerWhenConsumeSlowly (default 1, a slave) and one keeping up to its
/// group's brokerId (default 0); without it, always the master. (Java 4.9.8 also answers a
/// slave's pull PULL_RETRY_IMMEDIATELY when slaveReadEnable is off, but overwrites that
/// code with the read's own status a few lines later, so the data is served either way.)
/// `group` is (brokerId, whichBrokerWhenConsumeSlowly) of the subscription group.
fn suggest_which_broker_id(
    slave_read_enable: bool,
    from_slave: bool,
    group: Option<(i64, i64)>,
) -> i64 {
    let (broker_id, when_slow) = group.unwrap_or((0, 1));
    match (slave_read_enable, from_slave) {
        (false, _) => 0,
        (true, true) => when_slow,
        (true, false) => broker_id,
    }
}

fn read(
    cx: &BrokerContext,
    h: &PullMessageRequestHeader,
    filter: &PullFilter,
    client: SocketAddr,
) -> RemotingCommand {
    let limits = TransferLimits {
        max_msgs: 32,
        max_bytes: h
            .max_msg_bytes
            .filter(|b| *b > 0)
            .map(|b| b as usize)
            .unwrap_or(256 * 1024),
        ..Default::default()
    };
    let r = cx.store.get_message(
        &h.topic,
        h.queue_id,
        h.queue_offset,
        h.max_msg_nums.max(1) as usize,
        limits,
        filter,
    );
    let code = match r.status {
        GetMessageStatus::Found => response::SUCCESS,
        GetMessageStatus::NoMatchedMessage | GetMessageStatus::MessageWasRemoving => {
            response::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMessageInQueue | GetMessageStatus::NoMatchedLogicQueue => {
            if h.queue_offset == 0 {
                response::PULL_NOT_FOUND
            } else {
                response::PULL_OFFSET_MOVED
            }
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => {
            response::PULL_NOT_FOUND
        }
        GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetTooSmall => {
            response::PULL_OFFSET_MOVED
        }
    };
    let from_slave = cx
        .store
        .suggest_pulling_from_slave(r.max_phy_offset_pulling);
    let group = cx.groups.get(&h.consumer_group);
    let suggest = suggest_which_broker_id(
        cx.config.slave_read_enable,
        from_slave,
        group
            .as_ref()
            .map(|g| (g.broker_id, g.which_broker_when_consume_slowly)),
    );
    let mut resp = RemotingCommand::response(code, Some(r.status.name().to_owned())).with_header(
        &PullMessageResponseHeader {
            suggest_which_broker_id: suggest,
            next_begin_offset: r.next_begin_offset,
            min_offset: r.min_offset,
            max_offset: r.max_offset,
            ..Default::default()
        },
    );
    if code == response::SUCCESS {
        let mut body = BytesMut::with_capacity(r.total_bytes());
        for m in &r.messages {
            body.extend_from_slice(m);
        }
        cx.registry
            .counter(
                "rocketmq_messages_out_total",
                &[("topic", &h.topic), ("consumer_group", &h.consumer_group)],
            )
            .fetch_add(r.messages.len() as u64, Ordering::Relaxed);
        cx.offsets
            .commit_pull(&h.consumer_group, &h.topic, h.queue_id, r.next_begin_offset);
        cx.registry
            .counter(
                "rocketmq_throughput_out_total",
                &[("topic", &h.topic), ("consumer_group", &h.consumer_group)],
            )
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let key = format!("{}@{}", h.topic, h.consumer_group);
        cx.stats.add(GROUP_GET_NUMS, &key, r.messages.len() as u64);
        cx.stats.add(GROUP_GET_SIZE, &key, body.len() as u64);
        cx.stats.add(
            BROKER_GET_NUMS,
            &cx.config.broker_cluster_name,
            r.messages.len() as u64,
        );
        resp.body = body.freeze();
        if cx.plugins.wants_consumed() {
            cx.plugins.consumed(Consumed::Pulled {
                group: h.consumer_group.clone(),
                topic: h.topic.clone(),
                queue_id: h.queue_id,
                client,
                messages: r
                    .messages
                    .iter()
                    .filter_map(|m| decode_record_shared(m).ok())
                    .map(|m| PulledInfo::of(&m))
                    .collect(),
            });
        }
    }
    resp
}

pub(super) async fn pull_message(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    let h: PullMessageRequestHeader = req.decode_header()?;
    if cx.config.broker_permission & PERM_READ == 0 {
        return Err(refuse(
            response::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                cx.store_host.ip()
            ),
        ));
    }
    let group = match cx.groups.get(&h.consumer_group) {
        Some(g) => g,
        None if cx.config.auto_create_subscription_group => {
            cx.group_manager
                .ask(EnsureGroup(h.consumer_group.clone()))
                .await??
        }
        None => {
            return Err(refuse(
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!(
                    "subscription group [{}] does not exist, {FAQ}",
                    h.consumer_group
                ),
            ))
        }
    };
    if !group.consume_enable {
        return Err(refuse(
            response::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
        ));
    }
    let topic = cx.topics.get(&h.topic).ok_or_else(|| {
        refuse(
            response::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please! {FAQ}", h.topic),
        )
    })?;
    if topic.perm & PERM_READ == 0 {
        return Err(refuse(
            response::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", h.topic),
        ));
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return Err(refuse(
            response::INVALID_PARAMETER,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                h.queue_id, h.topic, topic.read_queue_nums, conn.peer
            ),
        ));
    }
    let filter = filter_for(&cx, &h)?;
    if h.sys_flag & FLAG_COMMIT_OFFSET != 0 && h.commit_offset >= 0 {
        super::offset::commit(
            &cx,
            &h.consumer_group,
            &h.topic,
            h.queue_id,
            h.commit_offset,
        );
    }

    let first = read(&cx, &h, &filter, conn.peer);
    let hold = Duration::from_millis(h.suspend_timeout_millis.max(0) as u64).min(
        Duration::from_millis(cx.config.broker_suspend_max_time_millis),
    );
    if first.code != response::PULL_NOT_FOUND
        || h.sys_flag & pull_sysflag::SUSPEND == 0
        || hold.is_zero()
    {
        return Ok(first);
    }
    let (tx, rx) = oneshot::channel();
    let park = Park {
        topic: h.topic.as_str().into(),
        queue_id: h.queue_id,
        offset: h.queue_offset,
        wake: tx,
    };
    if cx.pull_hold.tell(park).is_err() {
        return Ok(first); // PullHold is full: answer now, the client pulls again
    }
    // A message may have landed between the read and the park.
    if cx.store.queue_offsets(&h.topic, h.queue_id).1 <= h.queue_offset {
        let _ = tokio::time::timeout(hold, rx).await;
    }
    Ok(read(&cx, &h, &filter, conn.peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_expressions_become_java_hash_codes() {
        assert_eq!(tag_filter("*"), None);
        assert_eq!(tag_filter(" "), None);
        let set = tag_filter("TagA || TagB").unwrap();
        assert!(set.contains(&2598919) && set.contains(&2598920) && set.len() == 2);
    }

    #[test]
    fn the_suggested_broker_follows_javas_rules() {
        let defaults = Some((0, 1));
        assert_eq!(
            suggest_which_broker_id(false, true, defaults),
            0,
            "slave reads off"
        );
        assert_eq!(
            suggest_which_broker_id(true, true, defaults),
            1,
            "in disk: a slave"
        );
        assert_eq!(
            suggest_which_broker_id(true, false, defaults),
            0,
            "in memory: brokerId"
        );
        assert_eq!(suggest_which_broker_id(true, false, Some((2, 1))), 2);
        assert_eq!(suggest_which_broker_id(true, true, Some((0, 3))), 3);
        assert_eq!(
            suggest_which_broker_id(true, true, None),
            1,
            "an unknown group: defaults"
        );
    }
}
