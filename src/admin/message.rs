//! Message sub-commands: queryMsgById, queryMsgByKey, queryMsgByUniqueKey,
//! queryMsgByOffset, printMsg and sendMessage. A found message is printed as RocketMQ's
//! tool prints it, and its body is written to `<tmp>/rocketmq/msgbodys/<msgId>`, the path
//! the tool names under "Message Body Path".

use std::fmt::Write;

use clap::Args;
use serde_json::json;

use super::format::human_millis;
use super::rpc::Admin;
use super::{AdminError, Output};
use crate::actors::broker::plugins::trace::pub_record;
use crate::client::message::decode_messages;
use crate::client::{Message, MessageExt, Producer, ProducerConfig, SendStatus};
use crate::protocol::body::broker::{ConsumeMessageDirectlyResult, MessageQueue};
use crate::protocol::body::fastjson::from_json;
use crate::protocol::code::{request, response};
use crate::protocol::header::broker::{
    ConsumeMessageDirectlyResultRequestHeader, GetMaxOffsetRequestHeader,
    GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader, GetMinOffsetResponseHeader,
    PullMessageRequestHeader, PullMessageResponseHeader, QueryMessageRequestHeader,
    SearchOffsetRequestHeader, SearchOffsetResponseHeader, ViewMessageRequestHeader,
};
use crate::protocol::message::decode_offset_msg_id;
use crate::protocol::topic::TRACE_TOPIC;
use crate::protocol::RemotingCommand;

/// The group RocketMQ's tools pull as (`MixAll.TOOLS_CONSUMER_GROUP`).
const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
/// Messages one key query returns at most per broker, as RocketMQ's tool asks.
const QUERY_MAX_NUM: i32 = 64;

#[derive(Args, Debug)]
pub struct MsgIdArgs {
    /// Message Id (offset message id; several separated by commas)
    #[arg(short = 'i', long = "msgId")]
    pub msg_id: String,
    /// consumer group name (with -d: have that consumer consume the message directly)
    #[arg(short = 'g', long = "consumerGroup")]
    pub consumer_group: Option<String>,
    /// The consumer's client id
    #[arg(short = 'd', long = "clientId")]
    pub client_id: Option<String>,
    /// resend message (`-s true`)
    #[arg(short = 's', long = "sendMessage")]
    pub send_message: Option<String>,
    /// unit name (accepted for RocketMQ compatibility; Ferrocket has no units)
    #[arg(short = 'u', long = "unitName")]
    pub unit_name: Option<String>,
}

#[derive(Args, Debug)]
pub struct MsgKeyArgs {
    /// topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Message Key
    #[arg(short = 'k', long = "msgKey")]
    pub key: String,
}

#[derive(Args, Debug)]
pub struct UniqueKeyArgs {
    /// Message Id (the producer's unique key)
    #[arg(short = 'i', long = "msgId")]
    pub msg_id: String,
    /// consumer group name (with -d: have that consumer consume the message directly)
    #[arg(short = 'g', long = "consumerGroup")]
    pub consumer_group: Option<String>,
    /// The consumer's client id
    #[arg(short = 'd', long = "clientId")]
    pub client_id: Option<String>,
    /// The topic of msg
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Print all message, the limit is 32
    #[arg(short = 'a', long = "showAll")]
    pub show_all: bool,
}

#[derive(Args, Debug)]
pub struct MsgOffsetArgs {
    /// topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Broker Name
    #[arg(short = 'b', long = "brokerName")]
    pub broker_name: String,
    /// Queue Id
    #[arg(short = 'i', long = "queueId")]
    pub queue_id: i32,
    /// Queue Offset
    #[arg(short = 'o', long = "offset")]
    pub offset: i64,
}

#[derive(Args, Debug)]
pub struct PrintMsgArgs {
    /// topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// CharsetName(eg: UTF-8,GBK); bodies are printed as UTF-8
    #[arg(short = 'c', long = "charsetName")]
    pub charset: Option<String>,
    /// Subscribe Expression(eg: TagA || TagB)
    #[arg(short = 's', long = "subExpression")]
    pub sub_expression: Option<String>,
    /// Begin timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]
    #[arg(short = 'b', long = "beginTimestamp")]
    pub begin: Option<String>,
    /// End timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]
    #[arg(short = 'e', long = "endTimestamp")]
    pub end: Option<String>,
    /// print body
    #[arg(short = 'd', long = "printBody")]
    pub print_body: Option<bool>,
    /// Stop after this many messages (not a flag: the console's bound on what a time-range
    /// search holds in memory; mqadmin prints every message, as Java's does).
    #[arg(skip)]
    pub limit: Option<usize>,
}

#[derive(Args, Debug)]
pub struct SendMessageArgs {
    /// Topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// UTF-8 string format of the message body
    #[arg(short = 'p', long = "body")]
    pub body: String,
    /// Message keys
    #[arg(short = 'k', long = "key")]
    pub keys: Option<String>,
    /// Message tags
    #[arg(short = 'c', long = "tags")]
    pub tags: Option<String>,
    /// Send message to target broker
    #[arg(short = 'b', long = "broker")]
    pub broker: Option<String>,
    /// Send message to target queue
    #[arg(short = 'i', long = "qid")]
    pub qid: Option<i32>,
    /// Message Trace Enable, Default: false
    #[arg(short = 'm', long = "msgTraceEnable")]
    pub msg_trace_enable: Option<String>,
}

/// Java's `Boolean.parseBoolean` of an option value: "true" in any case.
fn java_true(v: &Option<String>) -> bool {
    v.as_deref()
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Java's `HashMap.toString` of the properties: `{K=v, K2=v2}`.
fn properties_string(m: &MessageExt) -> String {
    let parts: Vec<String> = m
        .properties
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Writes the body where RocketMQ's tool does; the path, or why it could not.
fn body_file(m: &MessageExt) -> String {
    let dir = std::env::temp_dir().join("rocketmq").join("msgbodys");
    let path = dir.join(m.msg_id());
    match std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, &m.body)) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(not written: {e})"),
    }
}

pub fn message_json(m: &MessageExt) -> serde_json::Value {
    json!({
        "msgId": m.msg_id(), "offsetMsgId": m.offset_msg_id, "topic": m.topic,
        "tags": m.tags(), "keys": m.property("KEYS"), "queueId": m.queue_id,
        "queueOffset": m.queue_offset, "commitLogOffset": m.commit_log_offset,
        "reconsumeTimes": m.reconsume_times, "bornTimestamp": m.born_timestamp,
        "storeTimestamp": m.store_timestamp, "bornHost": m.born_host.to_string(),
        "storeHost": m.store_host.to_string(), "sysFlag": m.sys_flag,
        "properties": m.properties, "body": String::from_utf8_lossy(&m.body),
    })
}

/// The detail block of `queryMsgById` (with the OffsetID line) and `queryMsgByUniqueKey`.
fn print_detail(text: &mut String, m: &MessageExt, offset_id: bool) {
    let mut line = |k: &str, v: String| {
        let _ = writeln!(text, "{k:<20} {v}");
    };
    if offset_id {
        line("OffsetID:", m.offset_msg_id.clone());
    }
    line("Topic:", m.topic.clone());
    line("Tags:", format!("[{}]", m.tags().unwrap_or("null")));
    line(
        "Keys:",
        format!("[{}]", m.property("KEYS").unwrap_or("null")),
    );
    line("Queue ID:", m.queue_id.to_string());
    line("Queue Offset:", m.queue_offset.to_string());
    line("CommitLog Offset:", m.commit_log_offset.to_string());
    line("Reconsume Times:", m.reconsume_times.to_string());
    line("Born Timestamp:", human_millis(m.born_timestamp));
    line("Store Timestamp:", human_millis(m.store_timestamp));
    line("Born Host:", m.born_host.to_string());
    line("Store Host:", m.store_host.to_string());
    line("System Flag:", m.sys_flag.to_string());
    line("Properties:", properties_string(m));
    line("Message Body Path:", body_file(m));
}

/// VIEW_MESSAGE_BY_ID at the broker the offset message id names.
pub async fn view(a: &Admin, offset_msg_id: &str) -> Result<MessageExt, AdminError> {
    let (addr, offset) =
        decode_offset_msg_id(offset_msg_id).map_err(|e| AdminError::Usage(e.to_string()))?;
    let header = ViewMessageRequestHeader {
        offset,
        ..Default::default()
    };
    let r = a
        .call(
            &addr.to_string(),
            RemotingCommand::request_with(request::VIEW_MESSAGE_BY_ID, &header),
        )
        .await?;
    decode_messages(&r.body)
        .into_iter()
        .next()
        .ok_or_else(|| AdminError::NotFound(format!("Message not found: {offset_msg_id}")))
}

/// queryMsgById as RocketMQ 4.9.8 runs it: with `-g` and `-d`, each message is consumed
/// directly by that client; else with `-s true`, each is sent again; else each is printed.
pub async fn query_by_id(a: &Admin, x: MsgIdArgs) -> Result<Output, AdminError> {
    let ids: Vec<&str> = x
        .msg_id
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let (Some(group), Some(client)) = (&x.consumer_group, &x.client_id) {
        return consume_directly(a, &ids, group.trim(), client.trim()).await;
    }
    if x.send_message.is_some() {
        return resend(a, &ids, java_true(&x.send_message)).await;
    }
    let mut text = String::new();
    let mut found = Vec::new();
    for id in ids {
        let m = view(a, id).await?;
        print_detail(&mut text, &m, true);
        found.push(message_json(&m));
    }
    Ok(Output::new(text, json!({ "messages": found })))
}

/// CONSUME_MESSAGE_DIRECTLY of each message, through the broker that stores it, to
/// `client` of `group`; prints the consumer's result as Java's `toString` does (one line
/// each, where RocketMQ's tool leaves out the line break).
async fn consume_directly(
    a: &Admin,
    ids: &[&str],
    group: &str,
    client: &str,
) -> Result<Output, AdminError> {
    let mut text = String::new();
    let mut results = Vec::new();
    for id in ids {
        let m = view(a, id).await?;
        let header = ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: group.to_owned(),
            client_id: Some(client.to_owned()),
            msg_id: Some(m.offset_msg_id.clone()),
            ..Default::default()
        };
        let cmd = RemotingCommand::request_with(request::CONSUME_MESSAGE_DIRECTLY, &header);
        let r = a.call(&m.store_host.to_string(), cmd).await?;
        let result: ConsumeMessageDirectlyResult = from_json(&r.body)?;
        let _ = writeln!(text, "{result}");
        results.push(json!({
            "msgId": id, "order": result.order, "autoCommit": result.auto_commit,
            "consumeResult": result.consume_result, "remark": result.remark,
            "spentTimeMills": result.spent_time_mills,
        }));
    }
    Ok(Output::new(text, json!({ "results": results })))
}

/// Java's `SendResult.toString`.
fn send_result_string(r: &crate::client::SendResult) -> String {
    format!(
        "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue=MessageQueue [topic={}, brokerName={}, queueId={}], queueOffset={}]",
        send_status_name(r.status),
        r.msg_id,
        r.offset_msg_id,
        r.queue.topic,
        r.queue.broker_name,
        r.queue.queue_id,
        r.queue_offset
    )
}

fn send_status_name(s: SendStatus) -> &'static str {
    match s {
        SendStatus::SendOk => "SEND_OK",
        SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
        SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
        SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
    }
}

/// A producer for one `mqadmin` run, in a group of its own as RocketMQ's tools make one.
fn tool_producer(a: &Admin, group: &str) -> Producer {
    let producer = Producer::new(
        ProducerConfig {
            group: group.to_owned(),
            ..Default::default()
        },
        a.client.clone(),
    );
    producer.start();
    producer
}

/// `queryMsgById -s true`: each message sent again as it is stored (topic, body, flag and
/// properties), as RocketMQ's `sendMsg` does; `-s false` does nothing.
async fn resend(a: &Admin, ids: &[&str], resend: bool) -> Result<Output, AdminError> {
    let mut text = String::new();
    let mut results = Vec::new();
    if !resend {
        return Ok(Output::new(text, json!({ "results": results })));
    }
    let producer = tool_producer(a, "ReSendMsgById");
    for id in ids {
        let m = view(a, id).await?;
        let mut msg = Message::new(m.topic.clone(), m.body.clone());
        msg.flag = m.flag;
        msg.properties = m.properties.clone();
        // A new send gets a new unique key.
        msg.properties.remove("UNIQ_KEY");
        let _ = write!(text, "prepare resend msg. originalMsgId={id}");
        match producer.send(&msg).await {
            Ok(r) => {
                let _ = writeln!(text, "{}", send_result_string(&r));
                results.push(
                    json!({"originalMsgId": id, "msgId": r.msg_id, "offsetMsgId": r.offset_msg_id}),
                );
            }
            Err(e) => {
                producer.shutdown().await;
                return Err(AdminError::Client(e));
            }
        }
    }
    producer.shutdown().await;
    Ok(Output::new(text, json!({ "results": results })))
}

/// QUERY_MESSAGE on every master of `topic`; `unique` asks for the UNIQ_KEY index only.
async fn query(
    a: &Admin,
    topic: &str,
    key: &str,
    unique: bool,
) -> Result<Vec<MessageExt>, AdminError> {
    let mut found = Vec::new();
    for (_, addr) in a.topic_masters(topic).await? {
        let header = QueryMessageRequestHeader {
            topic: topic.to_owned(),
            key: key.to_owned(),
            max_num: QUERY_MAX_NUM,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            unique_key_query: unique.then_some(true),
        };
        let cmd = RemotingCommand::request_with(request::QUERY_MESSAGE, &header);
        match a.call(&addr, cmd).await {
            Ok(r) => found.extend(decode_messages(&r.body).into_iter().filter(|m| {
                if unique {
                    m.msg_id() == key
                } else {
                    m.keys().contains(&key)
                }
            })),
            // A broker with nothing under that key answers QUERY_NOT_FOUND.
            Err(AdminError::Refused { code, .. }) if code == response::QUERY_NOT_FOUND => {}
            Err(e) => return Err(e),
        }
    }
    found.sort_by_key(|m| (m.store_timestamp, m.commit_log_offset));
    Ok(found)
}

pub async fn query_by_key(a: &Admin, x: MsgKeyArgs) -> Result<Output, AdminError> {
    let found = query(a, x.topic.trim(), x.key.trim(), false).await?;
    let mut text = format!("{:<50} {:>4} {:>40}\n", "#Message ID", "#QID", "#Offset");
    for m in &found {
        let _ = writeln!(
            text,
            "{:<50} {:>4} {:>40}",
            m.msg_id(),
            m.queue_id,
            m.queue_offset
        );
    }
    let json: Vec<_> = found.iter().map(message_json).collect();
    Ok(Output::new(text, json!({ "messages": json })))
}

/// queryMsgByUniqueKey; with `-g` and `-d`, the message is consumed directly by that client
/// instead (RocketMQ's `consumeMessageDirectly` by topic and unique key).
pub async fn query_by_unique_key(a: &Admin, x: UniqueKeyArgs) -> Result<Output, AdminError> {
    let found = query(a, x.topic.trim(), x.msg_id.trim(), true).await?;
    if let (Some(group), Some(client), Some(m)) = (&x.consumer_group, &x.client_id, found.first()) {
        return consume_directly(a, &[m.offset_msg_id.as_str()], group.trim(), client.trim()).await;
    }
    if found.is_empty() {
        return Err(AdminError::NotFound(format!(
            "Message not found: topic {} unique key {}",
            x.topic.trim(),
            x.msg_id.trim()
        )));
    }
    let shown = if x.show_all { found.len().min(32) } else { 1 };
    let mut text = String::new();
    for m in &found[..shown] {
        print_detail(&mut text, m, false);
        text.push('\n');
    }
    let json: Vec<_> = found[..shown].iter().map(message_json).collect();
    Ok(Output::new(text, json!({ "messages": json })))
}

/// A pull's outcome as RocketMQ's PullStatus names it.
enum Pulled {
    Found(Vec<MessageExt>, i64),
    NoNewMsg,
    NoMatchedMsg(i64),
    OffsetIllegal,
}

async fn pull(
    a: &Admin,
    addr: &str,
    mq: &MessageQueue,
    offset: i64,
    sub: &str,
    max: i32,
) -> Result<Pulled, AdminError> {
    let header = PullMessageRequestHeader {
        consumer_group: TOOLS_CONSUMER_GROUP.into(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        queue_offset: offset,
        max_msg_nums: max,
        // FLAG_SUBSCRIPTION only: no commit, no suspend.
        sys_flag: 0x4,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some(sub.to_owned()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        ..Default::default()
    };
    let r = a
        .client
        .invoke(
            addr,
            RemotingCommand::request_with(request::PULL_MESSAGE, &header),
        )
        .await
        .map_err(|e| AdminError::Unreachable {
            addr: addr.to_owned(),
            source: e,
        })?;
    let next = r
        .decode_header::<PullMessageResponseHeader>()
        .map(|h| h.next_begin_offset)
        .unwrap_or(offset);
    Ok(match r.code {
        response::SUCCESS => Pulled::Found(decode_messages(&r.body), next),
        response::PULL_RETRY_IMMEDIATELY => Pulled::NoMatchedMsg(next),
        response::PULL_NOT_FOUND => Pulled::NoNewMsg,
        response::PULL_OFFSET_MOVED => Pulled::OffsetIllegal,
        code => {
            return Err(AdminError::Refused {
                addr: addr.to_owned(),
                request: request::PULL_MESSAGE,
                code,
                remark: r.remark.unwrap_or_default(),
            })
        }
    })
}

async fn master_of(a: &Admin, topic: &str, broker_name: &str) -> Result<String, AdminError> {
    a.topic_masters(topic)
        .await?
        .into_iter()
        .find(|(name, _)| name == broker_name)
        .map(|(_, addr)| addr)
        .ok_or_else(|| {
            AdminError::NotFound(format!("broker {broker_name} does not serve topic {topic}"))
        })
}

pub async fn query_by_offset(a: &Admin, x: MsgOffsetArgs) -> Result<Output, AdminError> {
    let topic = x.topic.trim();
    let addr = master_of(a, topic, x.broker_name.trim()).await?;
    let mq = MessageQueue::new(topic, x.broker_name.trim(), x.queue_id);
    match pull(a, &addr, &mq, x.offset, "*", 1).await? {
        Pulled::Found(msgs, _) if !msgs.is_empty() => {
            let mut text = String::new();
            print_detail(&mut text, &msgs[0], true);
            Ok(Output::new(
                text,
                json!({ "messages": [message_json(&msgs[0])] }),
            ))
        }
        _ => Err(AdminError::NotFound(format!(
            "Message not found: {mq:?} offset {}",
            x.offset
        ))),
    }
}

/// Java's `MessageQueue.toString`.
fn mq_string(mq: &MessageQueue) -> String {
    format!(
        "MessageQueue [topic={}, brokerName={}, queueId={}]",
        mq.topic, mq.broker_name, mq.queue_id
    )
}

/// The summary `printMsg` prints after each message id, after Java's `MessageExt.toString`.
fn message_summary(m: &MessageExt) -> String {
    format!(
        "MessageExt [queueId={}, queueOffset={}, sysFlag={}, bornTimestamp={}, bornHost=/{}, storeTimestamp={}, storeHost=/{}, msgId={}, commitLogOffset={}, reconsumeTimes={}, toString()=Message{{topic='{}', flag={}, properties={}}}]",
        m.queue_id,
        m.queue_offset,
        m.sys_flag,
        m.born_timestamp,
        m.born_host,
        m.store_timestamp,
        m.store_host,
        m.offset_msg_id,
        m.commit_log_offset,
        m.reconsume_times,
        m.topic,
        m.flag,
        properties_string(m)
    )
}

async fn offset_header(
    a: &Admin,
    addr: &str,
    cmd: RemotingCommand,
    min: bool,
) -> Result<i64, AdminError> {
    let r = a.call(addr, cmd).await?;
    Ok(if min {
        r.decode_header::<GetMinOffsetResponseHeader>()?.offset
    } else {
        r.decode_header::<GetMaxOffsetResponseHeader>()?.offset
    })
}

async fn search(a: &Admin, addr: &str, mq: &MessageQueue, ts: &str) -> Result<i64, AdminError> {
    let timestamp = super::format::parse_timestamp(ts).map_err(AdminError::Usage)?;
    let h = SearchOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        timestamp,
        boundary_type: None,
    };
    let r = a
        .call(
            addr,
            RemotingCommand::request_with(request::SEARCH_OFFSET_BY_TIMESTAMP, &h),
        )
        .await?;
    Ok(r.decode_header::<SearchOffsetResponseHeader>()?.offset)
}

pub async fn print_msg(a: &Admin, x: PrintMsgArgs) -> Result<Output, AdminError> {
    let topic = x.topic.trim();
    let sub = x.sub_expression.as_deref().unwrap_or("*").trim().to_owned();
    let print_body = x.print_body.unwrap_or(true);
    let route = a.route(topic).await?;
    let mut text = String::new();
    let mut found = Vec::new();
    for q in &route.queue_datas {
        let Some(addr) = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == q.broker_name)
            .and_then(|b| b.broker_addrs.get(&0).cloned())
        else {
            continue;
        };
        for queue_id in 0..q.read_queue_nums {
            let mq = MessageQueue::new(topic, q.broker_name.clone(), queue_id);
            let mut min = offset_header(
                a,
                &addr,
                RemotingCommand::request_with(
                    request::GET_MIN_OFFSET,
                    &GetMinOffsetRequestHeader {
                        topic: topic.to_owned(),
                        queue_id,
                    },
                ),
                true,
            )
            .await?;
            let mut max = offset_header(
                a,
                &addr,
                RemotingCommand::request_with(
                    request::GET_MAX_OFFSET,
                    &GetMaxOffsetRequestHeader {
                        topic: topic.to_owned(),
                        queue_id,
                        committed: None,
                    },
                ),
                false,
            )
            .await?;
            if let Some(b) = &x.begin {
                min = search(a, &addr, &mq, b).await?;
            }
            if let Some(e) = &x.end {
                max = search(a, &addr, &mq, e).await?;
            }
            let _ = writeln!(text, "minOffset={min}, maxOffset={max}, {}", mq_string(&mq));
            let mut offset = min;
            // Each pull moves `offset` forward or ends the queue, so this ends.
            while offset < max && x.limit.is_none_or(|l| found.len() < l) {
                let batch = x
                    .limit
                    .map_or(32, |l| l.saturating_sub(found.len()).min(32));
                match pull(a, &addr, &mq, offset, &sub, batch as i32).await? {
                    Pulled::Found(msgs, next) => {
                        for m in &msgs {
                            let body = if print_body {
                                String::from_utf8_lossy(&m.body).into_owned()
                            } else {
                                "NOT PRINT BODY".into()
                            };
                            let _ = writeln!(
                                text,
                                "MSGID: {} {} BODY: {body}",
                                m.msg_id(),
                                message_summary(m)
                            );
                            found.push(message_json(m));
                        }
                        if next <= offset {
                            break;
                        }
                        offset = next;
                    }
                    Pulled::NoMatchedMsg(next) => {
                        let _ = writeln!(
                            text,
                            "{} no matched msg. status=NO_MATCHED_MSG, offset={offset}",
                            mq_string(&mq)
                        );
                        if next <= offset {
                            break;
                        }
                        offset = next;
                    }
                    Pulled::NoNewMsg => {
                        let _ = writeln!(
                            text,
                            "{} print msg finished. status=NO_NEW_MSG, offset={offset}",
                            mq_string(&mq)
                        );
                        break;
                    }
                    Pulled::OffsetIllegal => {
                        let _ = writeln!(
                            text,
                            "{} print msg finished. status=OFFSET_ILLEGAL, offset={offset}",
                            mq_string(&mq)
                        );
                        break;
                    }
                }
            }
        }
    }
    text.push_str("--------------------------------------------------------\n");
    Ok(Output::new(text, json!({ "messages": found })))
}

pub async fn send_message(a: &Admin, x: SendMessageArgs) -> Result<Output, AdminError> {
    let topic = x.topic.trim();
    let mut msg = Message::new(topic, x.body.clone().into_bytes());
    if let Some(t) = &x.tags {
        msg = msg.with_tags(t.trim());
    }
    if let Some(k) = &x.keys {
        msg = msg.with_keys(k.split_whitespace());
    }
    let started = crate::clock::now_millis();
    let producer = tool_producer(a, &started.to_string());
    let sent = match (&x.broker, x.qid) {
        (Some(b), Some(q)) => {
            // The producer finds the broker's address in the routes it has fetched.
            a.route(topic).await?;
            producer
                .send_to_queue(&msg, &MessageQueue::new(topic, b.trim(), q))
                .await
        }
        (None, None) => producer.send(&msg).await,
        _ => return Err(AdminError::Usage("-b broker and -i qid go together".into())),
    };
    if let (Ok(r), true) = (&sent, java_true(&x.msg_trace_enable)) {
        trace_send(a, &producer, &started.to_string(), &msg, r, started).await;
    }
    producer.shutdown().await;
    let r = sent.map_err(|e| match e {
        crate::client::ClientError::NoRoute(t) => AdminError::NoRoute(t),
        e => AdminError::Client(e),
    })?;
    let status = send_status_name(r.status);
    let mut text = format!(
        "{:<32}  {:<4}  {:<20}    {}\n",
        "#Broker Name", "#QID", "#Send Result", "#MsgId"
    );
    let _ = writeln!(
        text,
        "{:<32}  {:<4}  {:<20}    {}",
        r.queue.broker_name, r.queue.queue_id, status, r.msg_id
    );
    Ok(Output::new(
        text,
        json!({
            "brokerName": r.queue.broker_name, "queueId": r.queue.queue_id, "sendStatus": status,
            "msgId": r.msg_id, "offsetMsgId": r.offset_msg_id, "queueOffset": r.queue_offset,
        }),
    ))
}

/// `sendMessage -m true`: the `Pub` trace record a RocketMQ client with message trace on
/// writes after a send (`SendMessageTraceHookImpl`), sent to RMQ_SYS_TRACE_TOPIC with the
/// message id and keys as KEYS so `queryMsgTraceById` finds it. As in RocketMQ, the trace
/// is best effort: a failure (no trace topic) is reported on stderr and the send stands.
async fn trace_send(
    a: &Admin,
    producer: &Producer,
    group: &str,
    msg: &Message,
    r: &crate::client::SendResult,
    started: i64,
) {
    let store_host = match a.topic_masters(&msg.topic).await {
        Ok(masters) => masters
            .into_iter()
            .find(|(name, _)| *name == r.queue.broker_name)
            .map(|(_, addr)| addr)
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let keys = msg.properties.get("KEYS").cloned().unwrap_or_default();
    let cost = (crate::clock::now_millis() - started).max(0) as u64;
    let record = pub_record(
        started,
        "DefaultRegion",
        group,
        &msg.topic,
        &r.msg_id,
        msg.properties.get("TAGS").map(String::as_str).unwrap_or(""),
        &keys,
        &store_host,
        msg.body.len(),
        cost,
        0,
        &r.offset_msg_id,
        r.status == SendStatus::SendOk,
    );
    let trace_keys: Vec<&str> = std::iter::once(r.msg_id.as_str())
        .chain(keys.split(' ').filter(|k| !k.is_empty()))
        .collect();
    let trace = Message::new(TRACE_TOPIC, record.into_bytes()).with_keys(trace_keys);
    if let Err(e) = producer.send(&trace).await {
        eprintln!("mqadmin: the message trace was not sent to {TRACE_TOPIC}: {e}");
    }
}
