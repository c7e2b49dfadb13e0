//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): checks as
//! RocketMQ's AbstractSendMessageProcessor.msgCheck does them, topic auto-creation from
//! TBW102, retry topics past their reconsume limit diverted to the DLQ, then one append
//! (a batch becomes consecutive records, each keeping its own UNIQ_KEY).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::refuse;
use super::{BrokerContext, Reply};
use crate::actors::broker::meta::stats::{
    BROKER_PUT_NUMS, SNDBCK_PUT_NUMS, TOPIC_PUT_NUMS, TOPIC_PUT_SIZE,
};
use crate::actors::broker::meta::subscription_group::EnsureGroup;
use crate::actors::broker::meta::topic_config::{
    self, send_forbidden, validate_topic, EnsureTopic, DLQ_GROUP_TOPIC_PREFIX, PERM_READ,
    PERM_WRITE, RETRY_GROUP_TOPIC_PREFIX,
};
use crate::actors::broker::plugins::{AfterStore, BeforeSend, OutgoingMessage, StoredInfo};
use crate::actors::broker::store::commit_log_writer::PutStatus;
use crate::actors::broker::store::PutError;
use crate::actors::error::ServiceError;
use crate::actors::remoting::ConnectionInfo;
use crate::actors::runtime::ActorError;
use crate::protocol::body::register::TopicConfig;
use crate::protocol::code::{request, response};
use crate::protocol::header::broker::{
    ConsumerSendMsgBackRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};
use crate::protocol::message::{
    decode_batch, decode_properties, decode_record_shared, encode_properties, property,
    MessageToStore,
};
use crate::protocol::RemotingCommand;
use crate::store::timer::TimerRefusal;
use crate::store::transaction;

/// Version from which a send to a retry topic carries maxReconsumeTimes (V3_4_9).
const V3_4_9: i32 = 121;
const FAQ: &str = "https://rocketmq.apache.org/docs/bestPractice/06FAQ";

/// A failed put as the client sees it: a full writer mailbox is flow control.
pub(super) fn put_refused(e: PutError) -> ServiceError {
    match e {
        PutError::Busy(ActorError::MailboxFull(_)) => refuse(
            response::SYSTEM_BUSY,
            "[REJECTREQUEST]system busy, start flow control for a while",
        ),
        PutError::Busy(other) => ServiceError::Actor(other),
        PutError::Store(s) => ServiceError::Store(s),
        PutError::Timer(t @ TimerRefusal::Illegal { .. }) => {
            refuse(response::MESSAGE_ILLEGAL, t.to_string())
        }
        PutError::Timer(t @ TimerRefusal::NotEnabled) => {
            refuse(response::SYSTEM_ERROR, t.to_string())
        }
    }
}

/// Finds the topic, creating it as RocketMQ does when it is missing.
pub(super) async fn ensure_topic(
    cx: &BrokerContext,
    h: &SendMessageRequestHeader,
) -> Result<TopicConfig, ServiceError> {
    if let Some(t) = cx.topics.get(&h.topic) {
        return Ok(t);
    }
    let ensure = if h.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        EnsureTopic::Exact(topic_config::topic(&h.topic, 1, PERM_READ | PERM_WRITE))
    } else {
        EnsureTopic::FromTemplate {
            topic: h.topic.clone(),
            template: h.default_topic.clone(),
            queue_nums: h.default_topic_queue_nums,
            topic_sys_flag: if h.unit_mode.unwrap_or(false) { 1 } else { 0 },
        }
    };
    match cx.topic_manager.ask(ensure).await?? {
        Some(t) => Ok(t),
        None => Err(refuse(
            response::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please! {FAQ}", h.topic),
        )),
    }
}

/// NO_PERMISSION unless the broker's `brokerPermission` allows writes (Java's remark).
fn broker_writable(cx: &BrokerContext) -> Result<(), ServiceError> {
    if cx.config.broker_permission & PERM_WRITE == 0 {
        return Err(refuse(
            response::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                cx.store_host.ip()
            ),
        ));
    }
    Ok(())
}

/// NO_PERMISSION unless the topic's `perm` allows writes (Java's remark).
fn topic_writable(perm: i32, topic: &str) -> Result<(), ServiceError> {
    if perm & PERM_WRITE == 0 {
        return Err(refuse(
            response::NO_PERMISSION,
            format!("the topic[{topic}] sending message is forbidden"),
        ));
    }
    Ok(())
}

/// Appends `extra` properties to an encoded property string, in one allocation.
fn with_properties(raw: &str, extra: &[(&str, &str)]) -> String {
    let added: usize = extra.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut s = String::with_capacity(raw.len() + 1 + added);
    s.push_str(raw);
    if !s.is_empty() && !s.ends_with('\u{2}') {
        s.push('\u{2}');
    }
    for (k, v) in extra {
        s.push_str(k);
        s.push('\u{1}');
        s.push_str(v);
        s.push('\u{2}');
    }
    s
}

pub(super) async fn send_message(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    let mut h: SendMessageRequestHeader = if req.code == request::SEND_MESSAGE {
        req.decode_header()?
    } else {
        req.decode_header::<SendMessageRequestHeaderV2>()?.into_v1()
    };
    let batch = req.code == request::SEND_BATCH_MESSAGE || h.batch.unwrap_or(false);
    let started = Instant::now();
    let received_ms = crate::clock::now_millis();

    broker_writable(&cx)?;
    validate_topic(&h.topic).map_err(|r| refuse(response::INVALID_PARAMETER, r))?;
    if send_forbidden(&h.topic) {
        return Err(refuse(
            response::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", h.topic),
        ));
    }
    let topic = ensure_topic(&cx, &h).await?;
    topic_writable(topic.perm, &h.topic)?;
    let queues = topic.read_queue_nums.max(topic.write_queue_nums);
    if h.queue_id >= queues {
        return Err(refuse(
            response::INVALID_PARAMETER,
            format!(
                "request queueId[{}] is illegal, {} Producer: {}",
                h.queue_id, h.topic, conn.peer
            ),
        ));
    }
    if h.queue_id < 0 {
        h.queue_id = (fastrand_u32() % topic.write_queue_nums.max(1) as u32) as i32;
    }

    // A retry message past its group's reconsume limit goes to the dead-letter queue.
    if let Some(group) = h.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) {
        if batch {
            return Err(refuse(
                response::MESSAGE_ILLEGAL,
                format!("batch request does not support retry group {}", h.topic),
            ));
        }
        let group_max = cx
            .groups
            .get(group)
            .map(|g| g.retry_max_times)
            .unwrap_or(16);
        let max = if req.version >= V3_4_9 {
            h.max_reconsume_times.unwrap_or(group_max)
        } else {
            group_max
        };
        if h.reconsume_times.unwrap_or(0) > max {
            let dlq = format!("{DLQ_GROUP_TOPIC_PREFIX}{group}");
            cx.topic_manager
                .ask(EnsureTopic::Exact(topic_config::topic(&dlq, 1, PERM_WRITE)))
                .await??
                .ok_or_else(|| refuse(response::SYSTEM_ERROR, format!("topic[{dlq}] not exist")))?;
            h.topic = dlq;
            h.queue_id = 0;
        }
    }

    let born_host = conn.peer;
    let cluster = cx.config.broker_cluster_name.as_str();
    let make = |flag: i32, body: Bytes, props: &str, uniq: String| MessageToStore {
        topic: h.topic.clone(),
        queue_id: h.queue_id,
        flag,
        body,
        properties: {
            let both = [("CLUSTER", cluster), ("UNIQ_KEY", uniq.as_str())];
            let extra = if property(props, "UNIQ_KEY").is_none() {
                &both[..]
            } else {
                &both[..1]
            };
            with_properties(props, extra)
        },
        sys_flag: h.sys_flag,
        born_timestamp: h.born_timestamp,
        born_host,
        store_host: cx.store_host,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
    };
    let next_uniq = || {
        let now = crate::clock::now_millis();
        cx.uniq_ids
            .lock()
            .map(|mut g| g.next(now))
            .unwrap_or_default()
    };
    let msgs: Vec<MessageToStore> = if batch {
        let items = decode_batch(&req.body)
            .map_err(|e| refuse(response::MESSAGE_ILLEGAL, e.to_string()))?;
        if items.is_empty() {
            return Err(refuse(
                response::MESSAGE_ILLEGAL,
                "the batch holds no message",
            ));
        }
        items
            .into_iter()
            .map(|i| make(i.flag, i.body, &i.properties, next_uniq()))
            .collect()
    } else {
        let props = h.properties.as_deref().unwrap_or_default();
        vec![make(h.flag, req.body.clone(), props, next_uniq())]
    };
    let mut msgs = msgs;
    // Time in send hooks (bounded by their budgets) is processing, not waiting in the
    // writer's queue: it does not count against waitTimeMillsInSendQueue.
    let mut in_hooks = Duration::ZERO;
    if cx.plugins.has_send_hooks() {
        let hooks_began = Instant::now();
        let send = BeforeSend {
            topic: h.topic.clone(),
            queue_id: h.queue_id,
            producer_group: h.producer_group.clone(),
            born_host,
            messages: msgs
                .iter()
                .map(|m| OutgoingMessage {
                    flag: m.flag,
                    body: m.body.clone(),
                    properties: m.properties.clone(),
                })
                .collect(),
        };
        let added = cx.plugins.before_send(send).await?;
        in_hooks = hooks_began.elapsed();
        if !added.is_empty() {
            let extra: Vec<(&str, &str)> = added
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            for m in &mut msgs {
                m.properties = with_properties(&m.properties, &extra);
            }
        }
    }
    // Taken before the rewrites below (half topic, schedule, timer): what was sent.
    let sent: Option<Vec<StoredInfo>> = cx.plugins.wants_after_store().then(|| {
        msgs.iter()
            .map(|m| StoredInfo::sent(&m.properties, m.body.len()))
            .collect()
    });
    if msgs.iter().any(|m| transaction::is_half(&m.properties)) {
        if batch {
            return Err(refuse(
                response::MESSAGE_ILLEGAL,
                "batch messages cannot be transactional",
            ));
        }
        if cx.config.reject_transaction_message {
            return Err(refuse(
                response::NO_PERMISSION,
                format!(
                    "the broker[{}] sending transaction message is forbidden",
                    cx.store_host.ip()
                ),
            ));
        }
        msgs.iter_mut().for_each(transaction::to_half_topic);
    }
    let wait = msgs
        .first()
        .and_then(|m| property(&m.properties, "WAIT"))
        .is_none_or(|w| w != "false");
    let deadline = Some(
        started + in_hooks + Duration::from_millis(cx.config.wait_time_mills_in_send_queue.max(1)),
    );
    let bytes: usize = msgs.iter().map(|m| m.body.len()).sum();
    let count = msgs.len() as u64;

    let put = cx
        .store
        .put_within(msgs, wait, deadline)
        .await
        .map_err(put_refused)?;

    cx.registry
        .counter("rocketmq_messages_in_total", &[("topic", &h.topic)])
        .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
    cx.registry
        .counter("rocketmq_throughput_in_total", &[("topic", &h.topic)])
        .fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
    cx.send_latency.observe(started.elapsed());
    cx.stats.add(TOPIC_PUT_NUMS, &h.topic, count);
    cx.stats.add(TOPIC_PUT_SIZE, &h.topic, bytes as u64);
    cx.stats
        .add(BROKER_PUT_NUMS, &cx.config.broker_cluster_name, count);

    let code = match put.status {
        PutStatus::PutOk => response::SUCCESS,
        PutStatus::FlushDiskTimeout => response::FLUSH_DISK_TIMEOUT,
        PutStatus::SlaveNotAvailable => response::SLAVE_NOT_AVAILABLE,
        PutStatus::FlushSlaveTimeout => response::FLUSH_SLAVE_TIMEOUT,
    };
    if let Some(mut messages) = sent {
        for (i, m) in messages.iter_mut().enumerate() {
            m.offset_msg_id = put.append.msg_ids.get(i).cloned().unwrap_or_default();
            m.queue_offset = put.append.queue_offset + i as i64;
        }
        cx.plugins.after_store(AfterStore {
            topic: h.topic.clone(),
            queue_id: h.queue_id,
            producer_group: h.producer_group.clone(),
            born_host,
            store_host: cx.store_host,
            received_ms,
            cost_ms: started.elapsed().as_millis() as u64,
            status: code,
            messages,
        });
    }
    let mut resp = RemotingCommand::response(code, None).with_header(&SendMessageResponseHeader {
        msg_id: put.append.msg_id(),
        queue_id: h.queue_id,
        queue_offset: put.append.queue_offset,
        ..Default::default()
    });
    resp.put_ext("MSG_REGION", cx.config.region_id.clone());
    resp.put_ext("TRACE_ON", cx.config.trace_on.to_string());
    Ok(resp)
}

/// A cheap random number for picking a queue (no crate needed for this).
fn fastrand_u32() -> u32 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7) | 1,
        );
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 32) as u32
    })
}

/// CONSUMER_SEND_MSG_BACK (36): a message the consumer could not process goes to
/// `%RETRY%group` with delay level 3 + reconsumeTimes (or the level asked for), or, past
/// the group's maxReconsumeTimes or with a negative level, to `%DLQ%group`. The copy keeps
/// the original's body and properties plus RETRY_TOPIC and ORIGIN_MESSAGE_ID, and counts
/// one more reconsume (Java's `SendMessageProcessor.consumerSendMsgBack`).
pub(super) async fn consumer_send_msg_back(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _conn: ConnectionInfo,
) -> Reply {
    let h: ConsumerSendMsgBackRequestHeader = req.decode_header()?;
    let group = match cx.groups.get(&h.group) {
        Some(g) => g,
        None if cx.config.auto_create_subscription_group => {
            cx.group_manager.ask(EnsureGroup(h.group.clone())).await??
        }
        None => {
            return Err(refuse(
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group not exist, {} {FAQ}", h.group),
            ))
        }
    };
    broker_writable(&cx)?;
    if group.retry_queue_nums <= 0 {
        return Ok(RemotingCommand::response(response::SUCCESS, None));
    }
    let original = cx
        .store
        .message_at(h.offset)
        .and_then(|raw| decode_record_shared(&raw).ok())
        .ok_or_else(|| {
            refuse(
                response::SYSTEM_ERROR,
                format!("look message by offset failed, {}", h.offset),
            )
        })?;

    let max_reconsume = if req.version >= V3_4_9 {
        h.max_reconsume_times.unwrap_or(group.retry_max_times)
    } else {
        group.retry_max_times
    };
    let to_dlq = original.reconsume_times >= max_reconsume || h.delay_level < 0;
    let (topic, queues, perm) = if to_dlq {
        (
            format!("{DLQ_GROUP_TOPIC_PREFIX}{}", h.group),
            1,
            PERM_WRITE | PERM_READ,
        )
    } else {
        (
            format!("{RETRY_GROUP_TOPIC_PREFIX}{}", h.group),
            group.retry_queue_nums,
            PERM_WRITE | PERM_READ,
        )
    };
    let created = cx
        .topic_manager
        .ask(EnsureTopic::Exact(topic_config::topic(
            &topic, queues, perm,
        )))
        .await??
        .ok_or_else(|| refuse(response::SYSTEM_ERROR, format!("topic[{topic}] not exist")))?;
    topic_writable(created.perm, &topic)?;

    let origin_id = original
        .property(property::ORIGIN_MESSAGE_ID)
        .map(str::to_owned)
        .unwrap_or_else(|| original.msg_id());
    let mut props: Vec<(String, String)> = decode_properties(&original.properties)
        .into_iter()
        .filter(|(k, _)| {
            k != property::DELAY && k != property::ORIGIN_MESSAGE_ID && k != property::WAIT
        })
        .collect();
    if original.property(property::RETRY_TOPIC).is_none() {
        props.push((property::RETRY_TOPIC.into(), original.topic.clone()));
    }
    props.push((property::ORIGIN_MESSAGE_ID.into(), origin_id));
    props.push((property::WAIT.into(), "false".into()));
    if !to_dlq {
        let level = if h.delay_level == 0 {
            3 + original.reconsume_times
        } else {
            h.delay_level
        };
        props.push((property::DELAY.into(), level.to_string()));
    }
    let msg = MessageToStore {
        queue_id: (fastrand_u32() % created.write_queue_nums.max(1) as u32) as i32,
        topic,
        flag: original.flag,
        body: original.body.clone(),
        properties: encode_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        sys_flag: original.sys_flag,
        born_timestamp: original.born_timestamp,
        born_host: original.born_host,
        store_host: cx.store_host,
        reconsume_times: original.reconsume_times + 1,
        prepared_transaction_offset: 0,
    };
    if to_dlq {
        tracing::info!(group = %h.group, msg_id = %original.msg_id(), reconsume = original.reconsume_times, "message moved to the dead-letter queue");
    }
    cx.store.put(vec![msg], false).await.map_err(put_refused)?;
    // Java counts send-backs by the original topic and group.
    cx.stats.add(
        SNDBCK_PUT_NUMS,
        &format!("{}@{}", original.topic, h.group),
        1,
    );
    Ok(RemotingCommand::response(response::SUCCESS, None))
}
