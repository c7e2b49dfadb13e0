//! What each console page asks for, answered with `mqadmin`'s own functions (the way
//! rocketmq-dashboard answers through `MQAdminExt`): plain async functions from an
//! [`Admin`] and the request's fields to a JSON document, so they are tested without
//! HTTP. The routes that call them are in `console/mod.rs`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{json, Value};

use super::ConsoleError;
use crate::admin::broker::{cluster_list, stats_data, ClusterListArgs};
use crate::admin::consumer::{
    consume_stats, consumer_connection_info, consumer_progress, reset_offset_by_time,
    ConsumerProgressArgs, ResetOffsetArgs,
};
use crate::admin::message::{
    message_json, print_msg, query_by_key, query_by_unique_key, view, MsgKeyArgs, PrintMsgArgs,
    UniqueKeyArgs,
};
use crate::admin::rpc::Admin;
use crate::admin::topic::{
    consumer_groups_of, delete_topic, perm_string, topic_stats, update_topic, DeleteTopicArgs,
    UpdateTopicArgs,
};
use crate::admin::AdminError;
use crate::client::{Message, Producer, ProducerConfig, SendStatus};
use crate::protocol::code::{request, response};
use crate::protocol::header::broker::ConsumeMessageDirectlyResultRequestHeader;
use crate::protocol::message::decode_offset_msg_id;
use crate::protocol::topic::{is_system_topic, DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};
use crate::protocol::RemotingCommand;

/// Messages one time-range query returns at most; the page says when there were more.
pub const MAX_MESSAGES: usize = 64;

/// The brokers of every cluster with their role, address, disk use and TPS.
pub async fn cluster(a: &Admin) -> Result<Value, ConsoleError> {
    let out = cluster_list(
        a,
        ClusterListArgs {
            cluster_name: None,
            more_stats: false,
            interval: None,
            count: None,
        },
    )
    .await?;
    let mut brokers = out.json["brokers"].as_array().cloned().unwrap_or_default();
    for b in &mut brokers {
        let role = if b["brokerId"].as_i64() == Some(0) {
            "MASTER"
        } else {
            "SLAVE"
        };
        b["role"] = json!(role);
    }
    let clusters: BTreeSet<&str> = brokers
        .iter()
        .filter_map(|b| b["clusterName"].as_str())
        .collect();
    Ok(json!({ "clusters": clusters, "brokers": brokers }))
}

/// What a topic is, for the page's filter.
fn topic_kind(topic: &str, cluster_names: &BTreeSet<String>) -> &'static str {
    if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        "RETRY"
    } else if topic.starts_with(DLQ_GROUP_TOPIC_PREFIX) {
        "DLQ"
    } else if is_system_topic(topic)
        || cluster_names.contains(topic)
        || topic
            .strip_suffix("_REPLY_TOPIC")
            .is_some_and(|c| cluster_names.contains(c))
    {
        // Brokers also register topics named after their cluster and broker name, and the
        // cluster's `<cluster>_REPLY_TOPIC` for request-reply.
        "SYSTEM"
    } else {
        "NORMAL"
    }
}

/// The broker's `TOPIC_PUT_NUMS` TPS over the last minute; `None` when it cannot tell.
async fn put_tps(a: &Admin, addr: &str, topic: &str) -> Option<f64> {
    stats_data(a, addr, "TOPIC_PUT_NUMS", topic)
        .await
        .map(|s| s.stats_minute.tps)
}

/// One row of the topic table: queues, permission, offsets summed over queues, TPS.
async fn topic_row(a: &Admin, topic: &str, kind: &str) -> Value {
    let route = match a.route(topic).await {
        Ok(r) => r,
        Err(e) => return json!({ "topic": topic, "kind": kind, "error": e.to_string() }),
    };
    let read: i32 = route.queue_datas.iter().map(|q| q.read_queue_nums).sum();
    let write: i32 = route.queue_datas.iter().map(|q| q.write_queue_nums).sum();
    let perm = route.queue_datas.first().map_or(0, |q| q.perm);
    let brokers: Vec<&str> = route
        .broker_datas
        .iter()
        .map(|b| b.broker_name.as_str())
        .collect();
    let (mut min, mut max) = (0i64, 0i64);
    let stats = topic_stats(a, topic).await;
    if let Ok(s) = &stats {
        for o in s.offset_table.values() {
            min += o.min_offset;
            max += o.max_offset;
        }
    }
    let mut tps = None;
    for b in &route.broker_datas {
        if let Some(addr) = b.broker_addrs.get(&0) {
            if let Some(t) = put_tps(a, addr, topic).await {
                tps = Some(tps.unwrap_or(0.0) + t);
            }
        }
    }
    json!({
        "topic": topic, "kind": kind, "readQueueNums": read, "writeQueueNums": write,
        "perm": perm, "permName": perm_string(perm), "brokers": brokers,
        "minOffset": min, "maxOffset": max, "messages": max - min, "inTps": tps,
        "error": stats.err().map(|e| e.to_string()),
    })
}

/// Every topic the name servers know; retry, dead-letter and system topics only with `all`.
pub async fn topics(a: &Admin, all: bool) -> Result<Value, ConsoleError> {
    let names = a.topic_list().await?;
    let info = a.cluster_info().await?;
    let reserved: BTreeSet<String> = info
        .cluster_addr_table
        .keys()
        .chain(info.broker_addr_table.keys())
        .cloned()
        .collect();
    let mut rows = Vec::new();
    let mut hidden = 0;
    for t in &names {
        let kind = topic_kind(t, &reserved);
        if !all && kind != "NORMAL" {
            hidden += 1;
            continue;
        }
        rows.push(topic_row(a, t, kind).await);
    }
    Ok(json!({ "topics": rows, "hidden": hidden }))
}

/// One topic: its queues' offsets and the groups that consume it.
pub async fn topic(a: &Admin, topic: &str) -> Result<Value, ConsoleError> {
    let stats = topic_stats(a, topic).await?;
    let queues: Vec<Value> = stats
        .offset_table
        .iter()
        .map(|(mq, o)| {
            json!({
                "brokerName": mq.broker_name, "queueId": mq.queue_id, "minOffset": o.min_offset,
                "maxOffset": o.max_offset, "lastUpdateTimestamp": o.last_update_timestamp,
            })
        })
        .collect();
    let groups = consumer_groups_of(a, topic).await.unwrap_or_default();
    Ok(json!({ "topic": topic, "queues": queues, "groups": groups }))
}

/// The body of a create or update: RocketMQ's `updateTopic` fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicRequest {
    pub topic: String,
    pub cluster_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
}

impl TopicRequest {
    /// The limits Java's broker puts on a topic, checked before anything is sent.
    pub fn validate(&self) -> Result<(), ConsoleError> {
        crate::protocol::topic::validate_topic(self.topic.trim())
            .map_err(ConsoleError::BadRequest)?;
        if is_system_topic(self.topic.trim()) {
            return Err(ConsoleError::BadRequest(format!(
                "The topic[{}] is conflict with system topic.",
                self.topic.trim()
            )));
        }
        for (name, n) in [
            ("readQueueNums", self.read_queue_nums),
            ("writeQueueNums", self.write_queue_nums),
        ] {
            if !(1..=1024).contains(&n) {
                return Err(ConsoleError::BadRequest(format!(
                    "{name} must be between 1 and 1024, not {n}"
                )));
            }
        }
        if self.cluster_name.trim().is_empty() {
            return Err(ConsoleError::BadRequest("clusterName is required".into()));
        }
        Ok(())
    }
}

/// Creates or updates a topic on every master of the cluster (UPDATE_AND_CREATE_TOPIC).
pub async fn put_topic(a: &Admin, r: TopicRequest) -> Result<Value, ConsoleError> {
    r.validate()?;
    let out = update_topic(
        a,
        UpdateTopicArgs {
            broker_addr: None,
            cluster_name: Some(r.cluster_name),
            topic: r.topic,
            read_queue_nums: r.read_queue_nums,
            write_queue_nums: r.write_queue_nums,
            perm: r.perm,
            order: None,
            unit: None,
            has_unit_sub: None,
        },
    )
    .await?;
    Ok(out.json)
}

/// Deletes a topic from the cluster's masters and the name servers.
pub async fn remove_topic(a: &Admin, topic: &str, cluster: &str) -> Result<Value, ConsoleError> {
    if is_system_topic(topic) {
        return Err(ConsoleError::BadRequest(format!(
            "The topic[{topic}] is conflict with system topic."
        )));
    }
    let out = delete_topic(
        a,
        DeleteTopicArgs {
            topic: topic.to_owned(),
            cluster_name: cluster.to_owned(),
        },
    )
    .await?;
    Ok(out.json)
}

/// Every consumer group (one per `%RETRY%` topic) with its clients, TPS and total lag.
pub async fn groups(a: &Admin) -> Result<Value, ConsoleError> {
    let out = consumer_progress(
        a,
        ConsumerProgressArgs {
            group: None,
            show_client_ip: None,
        },
    )
    .await?;
    Ok(out.json)
}

/// One group: the lag of each queue (GET_CONSUME_STATS on every broker of the group, as
/// `consumerProgress`) and its connected clients.
pub async fn group(a: &Admin, group: &str) -> Result<Value, ConsoleError> {
    let stats = consume_stats(a, group).await?;
    let queues: Vec<Value> = stats
        .offset_table
        .iter()
        .map(|(mq, o)| {
            json!({
                "topic": mq.topic, "brokerName": mq.broker_name, "queueId": mq.queue_id,
                "brokerOffset": o.broker_offset, "consumerOffset": o.consumer_offset,
                "lag": o.broker_offset - o.consumer_offset, "lastTimestamp": o.last_timestamp,
            })
        })
        .collect();
    let topics: BTreeSet<&str> = stats
        .offset_table
        .keys()
        .map(|mq| mq.topic.as_str())
        .filter(|t| !t.starts_with(RETRY_GROUP_TOPIC_PREFIX))
        .collect();
    // A group with no client online has no connections; that is a state, not an error.
    let connections = match consumer_connection_info(a, group, None).await {
        Ok(cc) => cc
            .connection_set
            .iter()
            .map(|c| {
                json!({
                    "clientId": c.client_id, "clientAddr": c.client_addr,
                    "language": c.language, "version": crate::admin::format::version_desc(c.version),
                })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    Ok(json!({
        "group": group, "consumeTps": stats.consume_tps, "diffTotal": stats.total_diff(),
        "topics": topics, "queues": queues, "connections": connections,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetRequest {
    pub topic: String,
    /// Milliseconds since the epoch, or RocketMQ's `yyyy-MM-dd#HH:mm:ss:SSS`.
    pub timestamp: String,
    #[serde(default)]
    pub force: bool,
}

impl ResetRequest {
    /// A topic and a timestamp `mqadmin resetOffsetByTime -s` accepts.
    pub fn validate(&self) -> Result<(), ConsoleError> {
        if self.topic.trim().is_empty() {
            return Err(ConsoleError::BadRequest("topic is required".into()));
        }
        crate::admin::parse_timestamp(self.timestamp.trim())
            .map(drop)
            .map_err(|e| ConsoleError::BadRequest(e.to_string()))
    }
}

/// `resetOffsetByTime`: live consumers are told (RESET_CONSUMER_CLIENT_OFFSET), offline
/// groups have their stored offsets moved.
pub async fn reset(a: &Admin, group: &str, r: ResetRequest) -> Result<Value, ConsoleError> {
    r.validate()?;
    let out = reset_offset_by_time(
        a,
        ResetOffsetArgs {
            group: group.to_owned(),
            topic: r.topic,
            timestamp: r.timestamp,
            force: Some(r.force),
        },
    )
    .await?;
    Ok(out.json)
}

/// The query string of `/api/messages`: by id, by key, or by time range.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageQuery {
    pub topic: Option<String>,
    pub msg_id: Option<String>,
    pub key: Option<String>,
    /// Milliseconds since the epoch.
    pub begin: Option<i64>,
    pub end: Option<i64>,
}

fn message_list(mut messages: Vec<Value>) -> Value {
    let total = messages.len();
    messages.truncate(MAX_MESSAGES);
    json!({ "messages": messages, "total": total, "truncated": total > MAX_MESSAGES })
}

/// What a [`MessageQuery`] asks for, once checked.
#[derive(Debug, PartialEq)]
pub enum Lookup {
    OffsetId(String),
    UniqueKey { topic: String, id: String },
    Key { topic: String, key: String },
    TimeRange { topic: String, begin: i64, end: i64 },
}

impl MessageQuery {
    /// By offset id (or, with a topic, by the producer's unique key, as the dashboard falls
    /// back), by key, or by store time; anything else is a 400 saying what is missing.
    pub fn lookup(&self) -> Result<Lookup, ConsoleError> {
        let nonempty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let topic = nonempty(&self.topic);
        if let Some(id) = nonempty(&self.msg_id) {
            if decode_offset_msg_id(&id).is_ok() {
                return Ok(Lookup::OffsetId(id));
            }
            let topic = topic.ok_or_else(|| {
                ConsoleError::BadRequest(format!(
                    "{id} is not an offset message id; give the topic to look it up as a unique key"
                ))
            })?;
            return Ok(Lookup::UniqueKey { topic, id });
        }
        let topic = topic.ok_or_else(|| ConsoleError::BadRequest("topic is required".into()))?;
        if let Some(key) = nonempty(&self.key) {
            return Ok(Lookup::Key { topic, key });
        }
        let (Some(begin), Some(end)) = (self.begin, self.end) else {
            return Err(ConsoleError::BadRequest(
                "give msgId, key, or begin and end (milliseconds)".into(),
            ));
        };
        if begin > end || begin < 0 {
            return Err(ConsoleError::BadRequest(format!(
                "begin {begin} must be between 0 and end {end}"
            )));
        }
        Ok(Lookup::TimeRange { topic, begin, end })
    }
}

/// Finds the messages `q` asks for; at most [`MAX_MESSAGES`] are returned.
pub async fn messages(a: &Admin, q: MessageQuery) -> Result<Value, ConsoleError> {
    let out = match q.lookup()? {
        Lookup::OffsetId(id) => {
            let m = view(a, &id).await?;
            return Ok(message_list(vec![message_json(&m)]));
        }
        Lookup::UniqueKey { topic, id } => {
            query_by_unique_key(
                a,
                UniqueKeyArgs {
                    msg_id: id,
                    topic,
                    show_all: true,
                    consumer_group: None,
                    client_id: None,
                },
            )
            .await?
        }
        Lookup::Key { topic, key } => query_by_key(a, MsgKeyArgs { topic, key }).await?,
        Lookup::TimeRange { topic, begin, end } => {
            print_msg(
                a,
                PrintMsgArgs {
                    topic,
                    charset: None,
                    sub_expression: None,
                    begin: Some(begin.to_string()),
                    end: Some(end.to_string()),
                    print_body: Some(true),
                    // One more than is shown, so that the page can say the list was cut.
                    limit: Some(MAX_MESSAGES + 1),
                },
            )
            .await?
        }
    };
    Ok(message_list(array(&out.json["messages"])))
}

fn array(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResendRequest {
    /// The offset message id of the dead letter.
    pub msg_id: String,
    pub group: String,
    /// The client to hand it to; the group's first connection when absent.
    pub client_id: Option<String>,
}

/// Sends a dead letter back to its group. With a client online this is the dashboard's
/// `consumeMessageDirectly` (CONSUME_MESSAGE_DIRECTLY to the broker that stores it, which
/// hands it to the client and returns the client's verdict). With none online, or when the
/// client answers that it cannot, the message is re-sent to `%RETRY%group` with its
/// original topic in `RETRY_TOPIC`, so the group consumes it (again when it comes back).
pub async fn resend(a: &Admin, r: ResendRequest) -> Result<Value, ConsoleError> {
    let group = r.group.trim();
    if group.is_empty() {
        return Err(ConsoleError::BadRequest("group is required".into()));
    }
    let m = view(a, r.msg_id.trim()).await?;
    let client = match r.client_id.filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(c),
        None => consumer_connection_info(a, group, None)
            .await
            .ok()
            .and_then(|cc| cc.connection_set.into_iter().next())
            .map(|c| c.client_id),
    };
    let mut refused = None;
    if let Some(client_id) = client {
        let header = ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: group.to_owned(),
            client_id: Some(client_id.clone()),
            msg_id: Some(m.offset_msg_id.clone()),
            topic: Some(m.topic.clone()),
            ..Default::default()
        };
        // The broker reads the stored message and hands it to the client.
        let cmd = RemotingCommand::request_with(request::CONSUME_MESSAGE_DIRECTLY, &header);
        match a.call(&m.store_host.to_string(), cmd).await {
            Ok(answer) => {
                let result: Value = serde_json::from_slice(&answer.body)
                    .unwrap_or_else(|_| json!(String::from_utf8_lossy(&answer.body)));
                return Ok(json!({
                    "mode": "CONSUME_MESSAGE_DIRECTLY", "clientId": client_id, "result": result,
                }));
            }
            // A client that cannot consume directly (REQUEST_CODE_NOT_SUPPORTED) consumed
            // nothing, so the retry topic still delivers the message exactly once more.
            Err(AdminError::Refused { code, remark, .. })
                if code == response::REQUEST_CODE_NOT_SUPPORTED =>
            {
                refused = Some(json!({ "clientId": client_id, "code": code, "remark": remark }));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let retry = format!("{RETRY_GROUP_TOPIC_PREFIX}{group}");
    let original = m
        .property("RETRY_TOPIC")
        .map(str::to_owned)
        .unwrap_or_else(|| m.topic.clone());
    let mut msg = Message::new(retry.clone(), m.body.clone());
    msg.properties = resend_properties(&m.properties, &original, m.msg_id());
    let producer = Producer::new(
        ProducerConfig {
            group: format!("console_resend_{}", crate::clock::now_millis()),
            ..Default::default()
        },
        a.client.clone(),
    );
    producer.start();
    let sent = producer.send(&msg).await;
    producer.shutdown().await;
    let sent = sent.map_err(AdminError::from)?;
    Ok(json!({
        "mode": "RETRY_TOPIC", "topic": retry, "msgId": sent.msg_id, "directRefused": refused,
        "sendStatus": matches!(sent.status, SendStatus::SendOk).then_some("SEND_OK").unwrap_or("NOT_OK"),
    }))
}

/// The properties of a re-sent dead letter: the user's own kept, the store's position and
/// id dropped (the broker assigns new ones), the original topic and id recorded.
fn resend_properties(
    old: &BTreeMap<String, String>,
    original_topic: &str,
    original_id: &str,
) -> BTreeMap<String, String> {
    const DROPPED: [&str; 5] = [
        "UNIQ_KEY",
        "MIN_OFFSET",
        "MAX_OFFSET",
        "REAL_TOPIC",
        "REAL_QID",
    ];
    let mut p: BTreeMap<String, String> = old
        .iter()
        .filter(|(k, _)| !DROPPED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    p.insert("RETRY_TOPIC".into(), original_topic.to_owned());
    p.entry("ORIGIN_MESSAGE_ID".into())
        .or_insert_with(|| original_id.to_owned());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(topic: &str, r: i32, w: i32) -> TopicRequest {
        TopicRequest {
            topic: topic.into(),
            cluster_name: "DefaultCluster".into(),
            read_queue_nums: r,
            write_queue_nums: w,
            perm: 6,
        }
    }

    #[test]
    fn a_topic_request_is_checked_before_anything_is_sent() {
        assert!(request("Orders", 8, 8).validate().is_ok());
        for bad in [
            request("", 8, 8),
            request("has space", 8, 8),
            request("SCHEDULE_TOPIC_XXXX", 8, 8),
            request("Orders", 0, 8),
            request("Orders", 8, 5000),
        ] {
            let e = bad.validate().unwrap_err();
            assert!(matches!(e, ConsoleError::BadRequest(_)), "{bad:?}: {e}");
        }
        let mut no_cluster = request("Orders", 1, 1);
        no_cluster.cluster_name = " ".into();
        assert!(no_cluster.validate().is_err());
    }

    #[test]
    fn topics_are_sorted_into_kinds_for_the_filter() {
        let reserved: BTreeSet<String> = ["DefaultCluster".to_owned(), "broker-a".to_owned()]
            .into_iter()
            .collect();
        assert_eq!(topic_kind("Orders", &reserved), "NORMAL");
        assert_eq!(topic_kind("%RETRY%g", &reserved), "RETRY");
        assert_eq!(topic_kind("%DLQ%g", &reserved), "DLQ");
        assert_eq!(topic_kind("TBW102", &reserved), "SYSTEM");
        assert_eq!(topic_kind("broker-a", &reserved), "SYSTEM");
        assert_eq!(
            topic_kind("DefaultCluster_REPLY_TOPIC", &reserved),
            "SYSTEM"
        );
        assert_eq!(topic_kind("Other_REPLY_TOPIC", &reserved), "NORMAL");
    }

    #[test]
    fn a_message_query_becomes_one_lookup_or_says_what_is_missing() {
        let q = |topic: &str, id: &str, key: &str, begin: Option<i64>, end: Option<i64>| {
            let s = |v: &str| (!v.is_empty()).then(|| v.to_owned());
            MessageQuery {
                topic: s(topic),
                msg_id: s(id),
                key: s(key),
                begin,
                end,
            }
            .lookup()
        };
        let offset_id = "7F00000100002A9F0000000000000282";
        assert_eq!(
            q("", offset_id, "", None, None).unwrap(),
            Lookup::OffsetId(offset_id.into())
        );
        assert_eq!(
            q("T", "ABC", "", None, None).unwrap(),
            Lookup::UniqueKey {
                topic: "T".into(),
                id: "ABC".into()
            }
        );
        assert_eq!(
            q(" T ", "", " k ", None, None).unwrap(),
            Lookup::Key {
                topic: "T".into(),
                key: "k".into()
            }
        );
        assert_eq!(
            q("T", "", "", Some(1), Some(2)).unwrap(),
            Lookup::TimeRange {
                topic: "T".into(),
                begin: 1,
                end: 2
            }
        );
        for bad in [
            q("", "ABC", "", None, None),
            q("", "", "k", None, None),
            q("T", "", "", Some(1), None),
            q("T", "", "", Some(5), Some(1)),
            q("T", "", "", Some(-1), Some(1)),
        ] {
            assert!(matches!(bad, Err(ConsoleError::BadRequest(_))), "{bad:?}");
        }
    }

    #[test]
    fn a_reset_needs_a_topic_and_a_timestamp_mqadmin_accepts() {
        let r = |topic: &str, ts: &str| ResetRequest {
            topic: topic.into(),
            timestamp: ts.into(),
            force: true,
        };
        assert!(r("T", "1764750000000").validate().is_ok());
        assert!(r("T", "2026-12-03#09:00:00:000").validate().is_ok());
        assert!(r("T", "yesterday").validate().is_err());
        assert!(r(" ", "1764750000000").validate().is_err());
    }

    #[test]
    fn a_long_message_list_is_cut_and_says_so() {
        let v = message_list((0..100).map(|i| json!(i)).collect());
        assert_eq!(v["messages"].as_array().unwrap().len(), MAX_MESSAGES);
        assert_eq!(v["total"], 100);
        assert_eq!(v["truncated"], true);
        let v = message_list(vec![json!(1)]);
        assert_eq!(v["truncated"], false);
    }

    #[test]
    fn a_resent_dead_letter_keeps_user_properties_and_names_its_origin() {
        let old: BTreeMap<String, String> = [
            ("KEYS", "order-7"),
            ("UNIQ_KEY", "ABC"),
            ("MIN_OFFSET", "0"),
            ("TAGS", "paid"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let p = resend_properties(&old, "Orders", "ABC");
        assert_eq!(p["KEYS"], "order-7");
        assert_eq!(p["TAGS"], "paid");
        assert_eq!(p["RETRY_TOPIC"], "Orders");
        assert_eq!(p["ORIGIN_MESSAGE_ID"], "ABC");
        assert!(!p.contains_key("UNIQ_KEY") && !p.contains_key("MIN_OFFSET"));
    }
}
