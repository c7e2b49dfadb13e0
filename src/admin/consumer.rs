//! Consumer and producer sub-commands: consumerProgress, consumerConnection,
//! producerConnection, updateSubGroup, deleteSubGroup, resetOffsetByTime and
//! skipAccumulatedMessage.
//!
//! A group's brokers are those serving its `%RETRY%<group>` topic, as RocketMQ's admin
//! finds them. Resetting offsets asks each broker to reset them through its live consumers
//! (INVOKE_BROKER_TO_RESET_OFFSET); when a broker answers CONSUMER_NOT_ONLINE, the tool
//! rewrites the committed offsets itself, as RocketMQ's "old" path does.

use std::collections::BTreeMap;
use std::fmt::Write;

use clap::Args;
use serde_json::json;

use super::format::{date_time, front, parse_timestamp, version_desc};
use super::rpc::{Admin, Target};
use super::{AdminError, Output};
use crate::protocol::body::broker::{
    ConsumeStats, ConsumerConnection, ConsumerRunningInfo, MessageQueue, ProducerConnection,
    ResetOffsetBody, SubscriptionGroupConfig,
};
use crate::protocol::body::fastjson::{from_json, to_json};
use crate::protocol::code::{request, response};
use crate::protocol::header::broker::{
    DeleteSubscriptionGroupRequestHeader, DeleteTopicRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetProducerConnectionListRequestHeader,
    ResetOffsetRequestHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use crate::protocol::header::namesrv::DeleteTopicFromNamesrvRequestHeader;
use crate::protocol::topic::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};
use crate::protocol::RemotingCommand;

#[derive(Args, Debug)]
pub struct ConsumerProgressArgs {
    /// consumer group name
    #[arg(short = 'g', long = "groupName")]
    pub group: Option<String>,
    /// Show Client IP per Queue (`-s true`)
    #[arg(short = 's', long = "showClientIP")]
    pub show_client_ip: Option<String>,
}

#[derive(Args, Debug)]
pub struct ConsumerConnectionArgs {
    /// consumer group name
    #[arg(short = 'g', long = "consumerGroup")]
    pub group: String,
    /// broker address
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
}

#[derive(Args, Debug)]
pub struct ProducerConnectionArgs {
    /// producer group name
    #[arg(short = 'g', long = "producerGroup")]
    pub group: String,
    /// topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
}

#[derive(Args, Debug)]
pub struct UpdateSubGroupArgs {
    /// create subscription group to which broker
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// create subscription group to which cluster
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    /// consumer group name
    #[arg(short = 'g', long = "groupName")]
    pub group: String,
    /// consume enable
    #[arg(short = 's', long = "consumeEnable")]
    pub consume_enable: Option<bool>,
    /// from min offset
    #[arg(short = 'm', long = "consumeFromMinEnable")]
    pub consume_from_min_enable: Option<bool>,
    /// broadcast
    #[arg(short = 'd', long = "consumeBroadcastEnable")]
    pub consume_broadcast_enable: Option<bool>,
    /// retry queue nums
    #[arg(short = 'q', long = "retryQueueNums")]
    pub retry_queue_nums: Option<i32>,
    /// retry max times
    #[arg(short = 'r', long = "retryMaxTimes")]
    pub retry_max_times: Option<i32>,
    /// consumer from which broker id
    #[arg(short = 'i', long = "brokerId")]
    pub broker_id: Option<i64>,
    /// which broker id when consume slowly
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    pub which_broker_when_consume_slowly: Option<i64>,
    /// notify consumerId changed
    #[arg(short = 'a', long = "notifyConsumerIdsChanged")]
    pub notify_consumer_ids_changed: Option<bool>,
}

#[derive(Args, Debug)]
pub struct DeleteSubGroupArgs {
    /// delete subscription group from which broker
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// delete subscription group from which cluster
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    /// subscription group name
    #[arg(short = 'g', long = "groupName")]
    pub group: String,
    /// remove offset
    #[arg(short = 'r', long = "removeOffset")]
    pub remove_offset: Option<bool>,
}

#[derive(Args, Debug)]
pub struct ResetOffsetArgs {
    /// set the consumer group
    #[arg(short = 'g', long = "group")]
    pub group: String,
    /// set the topic
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]
    #[arg(short = 's', long = "timestamp")]
    pub timestamp: String,
    /// set the force rollback by timestamp switch[true|false]
    #[arg(short = 'f', long = "force")]
    pub force: Option<bool>,
}

#[derive(Args, Debug)]
pub struct SkipArgs {
    /// set the consumer group
    #[arg(short = 'g', long = "group")]
    pub group: String,
    /// set the topic
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// set the force rollback by timestamp switch[true|false]
    #[arg(short = 'f', long = "force")]
    pub force: Option<bool>,
}

fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// GET_CONSUME_STATS of `group` (optionally one topic) on one broker.
async fn consume_stats_at(
    a: &Admin,
    addr: &str,
    group: &str,
    topic: Option<&str>,
) -> Result<ConsumeStats, AdminError> {
    let header = GetConsumeStatsRequestHeader {
        consumer_group: group.to_owned(),
        topic: topic.map(str::to_owned),
        ..Default::default()
    };
    let r = a
        .call(
            addr,
            RemotingCommand::request_with(request::GET_CONSUME_STATS, &header),
        )
        .await?;
    Ok(ConsumeStats::decode(&r.body)?)
}

/// RocketMQ's `examineConsumeStats(group)`: every broker of the group, merged.
pub async fn consume_stats(a: &Admin, group: &str) -> Result<ConsumeStats, AdminError> {
    let mut all = ConsumeStats::default();
    for (_, addr) in a.topic_masters(&retry_topic(group)).await? {
        let s = consume_stats_at(a, &addr, group, None).await?;
        all.consume_tps += s.consume_tps;
        all.offset_table.extend(s.offset_table);
    }
    if all.offset_table.is_empty() {
        return Err(AdminError::NotFound(format!(
            "Not found the consumer group consume stats, because return offset table is empty, maybe the consumer not consume any message: {group}"
        )));
    }
    Ok(all)
}

async fn connection_at(
    a: &Admin,
    addr: &str,
    group: &str,
) -> Result<ConsumerConnection, AdminError> {
    let header = GetConsumerConnectionListRequestHeader {
        consumer_group: group.to_owned(),
    };
    let r = a
        .call(
            addr,
            RemotingCommand::request_with(request::GET_CONSUMER_CONNECTION_LIST, &header),
        )
        .await?;
    Ok(from_json(&r.body)?)
}

/// RocketMQ's `examineConsumerConnectionInfo(group)`: one broker of the group.
pub async fn consumer_connection_info(
    a: &Admin,
    group: &str,
    broker: Option<&str>,
) -> Result<ConsumerConnection, AdminError> {
    let addr = match broker {
        Some(b) => b.to_owned(),
        None => group_broker(a, group).await?,
    };
    let cc = connection_at(a, &addr, group).await?;
    if cc.connection_set.is_empty() {
        return Err(AdminError::NotFound(format!(
            "Not found the consumer group connection: {group}"
        )));
    }
    Ok(cc)
}

/// Which client holds each queue of `group`, by the IP part of its client id: every connected
/// consumer is asked for its running info (GET_CONSUMER_RUNNING_INFO, relayed by the broker)
/// and its `mqTable` names the queues it holds, as RocketMQ's
/// `getMessageQueueAllocationResult` does. A consumer that does not answer (or a client that
/// does not implement the request) leaves its queues unassigned ("N/A"), as in RocketMQ.
async fn queue_holders(a: &Admin, group: &str) -> BTreeMap<MessageQueue, String> {
    let mut holders = BTreeMap::new();
    let Ok(addr) = group_broker(a, group).await else {
        return holders;
    };
    let Ok(cc) = connection_at(a, &addr, group).await else {
        return holders;
    };
    for c in &cc.connection_set {
        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: group.to_owned(),
            client_id: c.client_id.clone(),
            jstack_enable: Some(false),
        };
        let cmd = RemotingCommand::request_with(request::GET_CONSUMER_RUNNING_INFO, &header);
        let Ok(r) = a.call(&addr, cmd).await else {
            continue;
        };
        let Ok(info) = ConsumerRunningInfo::decode(&r.body) else {
            continue;
        };
        let ip = c.client_id.split('@').next().unwrap_or_default();
        for mq in info.mq_table.into_keys() {
            holders.insert(mq, ip.to_owned());
        }
    }
    holders
}

/// The first master serving `%RETRY%group`: where RocketMQ's admin asks about a group.
async fn group_broker(a: &Admin, group: &str) -> Result<String, AdminError> {
    a.topic_masters(&retry_topic(group))
        .await?
        .into_iter()
        .next()
        .map(|(_, addr)| addr)
        .ok_or_else(|| AdminError::NoRoute(retry_topic(group)))
}

pub async fn consumer_progress(a: &Admin, x: ConsumerProgressArgs) -> Result<Output, AdminError> {
    let Some(group) = x.group.as_deref().map(str::trim) else {
        return all_groups_progress(a).await;
    };
    let stats = consume_stats(a, group).await?;
    // RocketMQ's tool takes `-s true` (any case); anything else leaves the column out.
    let show_ip = x
        .show_client_ip
        .as_deref()
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let holders = if show_ip {
        queue_holders(a, group).await
    } else {
        BTreeMap::new()
    };
    let mut text = if show_ip {
        format!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}  {}\n",
            "#Topic",
            "#Broker Name",
            "#QID",
            "#Broker Offset",
            "#Consumer Offset",
            "#Client IP",
            "#Diff",
            "#LastTime"
        )
    } else {
        format!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  {}\n",
            "#Topic",
            "#Broker Name",
            "#QID",
            "#Broker Offset",
            "#Consumer Offset",
            "#Diff",
            "#LastTime"
        )
    };
    let mut rows = Vec::new();
    let mut diff_total = 0i64;
    for (mq, o) in &stats.offset_table {
        let diff = o.broker_offset - o.consumer_offset;
        diff_total += diff;
        let last = if o.last_timestamp == 0 {
            "N/A".to_owned()
        } else {
            date_time(o.last_timestamp)
        };
        if show_ip {
            let _ = writeln!(
                text,
                "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}  {}",
                front(&mq.topic, 64),
                front(&mq.broker_name, 32),
                mq.queue_id,
                o.broker_offset,
                o.consumer_offset,
                holders.get(mq).map(String::as_str).unwrap_or("N/A"),
                diff,
                last
            );
        } else {
            let _ = writeln!(
                text,
                "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  {}",
                front(&mq.topic, 64),
                front(&mq.broker_name, 32),
                mq.queue_id,
                o.broker_offset,
                o.consumer_offset,
                diff,
                last
            );
        }
        rows.push(json!({
            "topic": mq.topic, "brokerName": mq.broker_name, "queueId": mq.queue_id,
            "brokerOffset": o.broker_offset, "consumerOffset": o.consumer_offset, "diff": diff,
            "lastTimestamp": o.last_timestamp, "clientIp": holders.get(mq),
        }));
    }
    let _ = write!(
        text,
        "\nConsume TPS: {:.2}\nDiff Total: {diff_total}\n",
        stats.consume_tps
    );
    Ok(Output::new(
        text,
        json!({"group": group, "consumeTps": stats.consume_tps, "diffTotal": diff_total, "queues": rows}),
    ))
}

async fn all_groups_progress(a: &Admin) -> Result<Output, AdminError> {
    let mut text = format!(
        "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}\n",
        "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS", "#Diff Total"
    );
    let mut rows = Vec::new();
    for topic in a.topic_list().await? {
        let Some(group) = topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
            continue;
        };
        // As RocketMQ's tool: a group whose stats or connections cannot be read prints
        // as offline with what is known.
        let stats = consume_stats(a, group).await.ok();
        let cc = consumer_connection_info(a, group, None).await.ok();
        let count = cc.as_ref().map_or(0, |c| c.connection_set.len());
        let (version, kind, model) = match &cc {
            Some(c) if count > 0 => {
                let min = c
                    .connection_set
                    .iter()
                    .map(|c| c.version)
                    .min()
                    .unwrap_or(0);
                let kind = if c.consume_type == "CONSUME_ACTIVELY" {
                    "PULL"
                } else {
                    "PUSH"
                };
                let model = if c.consume_type == "CONSUME_PASSIVELY" {
                    c.message_model.clone()
                } else {
                    String::new()
                };
                (version_desc(min), kind, model)
            }
            _ => ("OFFLINE".to_owned(), "", String::new()),
        };
        let tps = stats.as_ref().map_or(0, |s| s.consume_tps as i64);
        let diff = stats.as_ref().map_or(0, |s| s.total_diff());
        let _ = writeln!(
            text,
            "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
            front(group, 64),
            count,
            version,
            kind,
            model,
            tps,
            diff
        );
        rows.push(json!({
            "group": group, "count": count, "version": version, "type": kind,
            "model": model, "tps": tps, "diffTotal": diff,
        }));
    }
    Ok(Output::new(text, json!({ "groups": rows })))
}

pub async fn consumer_connection(
    a: &Admin,
    x: ConsumerConnectionArgs,
) -> Result<Output, AdminError> {
    let group = x.group.trim();
    let cc = consumer_connection_info(a, group, x.broker_addr.as_deref().map(str::trim)).await?;
    let mut text = format!(
        "{:<36} {:<22} {:<10} {}\n",
        "#ClientId", "#ClientAddr", "#Language", "#Version"
    );
    for c in &cc.connection_set {
        let _ = writeln!(
            text,
            "{:<36} {:<22} {:<10} {}",
            c.client_id,
            c.client_addr,
            c.language,
            version_desc(c.version)
        );
    }
    text.push_str("\nBelow is subscription:\n");
    let _ = writeln!(text, "{:<20} #SubExpression", "#Topic");
    for sd in cc.subscription_table.values() {
        let topic = if sd.topic.is_empty() { "" } else { &sd.topic };
        let _ = writeln!(text, "{topic:<20} {}", sd.sub_string);
    }
    let _ = write!(
        text,
        "\nConsumeType: {}\nMessageModel: {}\nConsumeFromWhere: {}\n",
        cc.consume_type, cc.message_model, cc.consume_from_where
    );
    let json: serde_json::Value =
        serde_json::from_slice(&to_json(&cc)).unwrap_or(serde_json::Value::Null);
    Ok(Output::new(text, json))
}

pub async fn producer_connection(
    a: &Admin,
    x: ProducerConnectionArgs,
) -> Result<Output, AdminError> {
    let group = x.group.trim();
    let header = GetProducerConnectionListRequestHeader {
        producer_group: group.to_owned(),
    };
    // Like RocketMQ's admin, one broker of the topic answers for the group.
    let (_, addr) = a
        .topic_masters(x.topic.trim())
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AdminError::NoRoute(x.topic.trim().to_owned()))?;
    let r = a
        .call(
            &addr,
            RemotingCommand::request_with(request::GET_PRODUCER_CONNECTION_LIST, &header),
        )
        .await?;
    let set = from_json::<ProducerConnection>(&r.body)?.connection_set;
    let mut text = String::new();
    for (i, c) in set.iter().enumerate() {
        let _ = writeln!(
            text,
            "{:04}  {:<32} {:<22} {:<8} {}",
            i + 1,
            c.client_id,
            c.client_addr,
            c.language,
            version_desc(c.version)
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&to_json(&ProducerConnection {
        connection_set: set,
    }))
    .unwrap_or(serde_json::Value::Null);
    Ok(Output::new(text, json))
}

/// `SubscriptionGroupConfig.toString`.
fn group_string(g: &SubscriptionGroupConfig) -> String {
    format!(
        "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}]",
        g.group_name,
        g.consume_enable,
        g.consume_from_min_enable,
        g.consume_broadcast_enable,
        g.retry_queue_nums,
        g.retry_max_times,
        g.broker_id,
        g.which_broker_when_consume_slowly,
        g.notify_consumer_ids_changed_enable
    )
}

pub async fn update_sub_group(a: &Admin, x: UpdateSubGroupArgs) -> Result<Output, AdminError> {
    let target = Target::of(&x.broker_addr, &x.cluster_name)?;
    let mut g = SubscriptionGroupConfig::new(x.group.trim());
    // The tool's own defaults differ from the broker's: consumeBroadcastEnable starts false.
    g.consume_broadcast_enable = false;
    if let Some(v) = x.consume_enable {
        g.consume_enable = v;
    }
    if let Some(v) = x.consume_from_min_enable {
        g.consume_from_min_enable = v;
    }
    if let Some(v) = x.consume_broadcast_enable {
        g.consume_broadcast_enable = v;
    }
    if let Some(v) = x.retry_queue_nums {
        g.retry_queue_nums = v;
    }
    if let Some(v) = x.retry_max_times {
        g.retry_max_times = v;
    }
    if let Some(v) = x.broker_id {
        g.broker_id = v;
    }
    if let Some(v) = x.which_broker_when_consume_slowly {
        g.which_broker_when_consume_slowly = v;
    }
    if let Some(v) = x.notify_consumer_ids_changed {
        g.notify_consumer_ids_changed_enable = v;
    }
    let mut text = String::new();
    let masters = a.masters(&target).await?;
    for addr in &masters {
        let cmd = RemotingCommand::request(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(to_json(&g));
        a.call(addr, cmd).await?;
        let _ = writeln!(text, "create subscription group to {addr} success.");
    }
    text.push_str(&group_string(&g));
    text.push('\n');
    let config: serde_json::Value =
        serde_json::from_slice(&to_json(&g)).unwrap_or(serde_json::Value::Null);
    Ok(Output::new(
        text,
        json!({"brokers": masters, "subscriptionGroupConfig": config}),
    ))
}

pub async fn delete_sub_group(a: &Admin, x: DeleteSubGroupArgs) -> Result<Output, AdminError> {
    let target = Target::of(&x.broker_addr, &x.cluster_name)?;
    let group = x.group.trim();
    let header = DeleteSubscriptionGroupRequestHeader {
        group_name: group.to_owned(),
        clean_offset: x.remove_offset,
        remove_offset: x.remove_offset,
    };
    let mut text = String::new();
    let masters = a.masters(&target).await?;
    for addr in &masters {
        a.call(
            addr,
            RemotingCommand::request_with(request::DELETE_SUBSCRIPTIONGROUP, &header),
        )
        .await?;
        match target {
            Target::Broker(_) => {
                let _ = writeln!(
                    text,
                    "delete subscription group [{group}] from broker [{addr}] success."
                );
            }
            Target::Cluster(c) => {
                let _ = writeln!(
                    text,
                    "delete subscription group [{group}] from broker [{addr}] in cluster [{c}] success."
                );
            }
        }
    }
    if let Target::Cluster(cluster) = target {
        // The group's retry and dead-letter topics go too; like RocketMQ's tool, failing
        // to delete them does not fail the command.
        for topic in [
            retry_topic(group),
            format!("{DLQ_GROUP_TOPIC_PREFIX}{group}"),
        ] {
            for addr in &masters {
                let cmd = RemotingCommand::request_with(
                    request::DELETE_TOPIC_IN_BROKER,
                    &DeleteTopicRequestHeader {
                        topic: topic.clone(),
                    },
                );
                if let Err(e) = a.call(addr, cmd).await {
                    let _ = writeln!(text, "delete topic [{topic}] failed: {e}");
                }
            }
            let header = DeleteTopicFromNamesrvRequestHeader {
                topic: topic.clone(),
                cluster_name: Some(cluster.to_owned()),
            };
            for ns in a.namesrvs() {
                if let Err(e) = a
                    .call(
                        ns,
                        RemotingCommand::request_with(request::DELETE_TOPIC_IN_NAMESRV, &header),
                    )
                    .await
                {
                    let _ = writeln!(text, "delete topic [{topic}] from NameServer failed: {e}");
                }
            }
        }
    }
    Ok(Output::new(
        text,
        json!({"group": group, "brokers": masters}),
    ))
}

/// One queue of RocketMQ's old reset path.
struct Rollback {
    broker_name: String,
    queue_id: i32,
    broker_offset: i64,
    consumer_offset: i64,
    timestamp_offset: i64,
    rollback_offset: i64,
}

enum ResetOutcome {
    /// The brokers reset the offsets (and told the live consumers).
    Invoked(BTreeMap<MessageQueue, i64>),
    /// No consumer online: the committed offsets were rewritten here.
    Old(Vec<Rollback>),
}

async fn reset(
    a: &Admin,
    group: &str,
    topic: &str,
    timestamp: i64,
    force: bool,
) -> Result<ResetOutcome, AdminError> {
    let masters = a.topic_masters(topic).await?;
    let header = ResetOffsetRequestHeader {
        group: group.to_owned(),
        topic: topic.to_owned(),
        timestamp,
        is_force: Some(force),
        ..Default::default()
    };
    let mut table = BTreeMap::new();
    for (_, addr) in &masters {
        let cmd = RemotingCommand::request_with(request::INVOKE_BROKER_TO_RESET_OFFSET, &header);
        match a.call(addr, cmd).await {
            Ok(r) => table.extend(ResetOffsetBody::decode(&r.body)?.offset_table),
            Err(AdminError::Refused { code, .. }) if code == response::CONSUMER_NOT_ONLINE => {
                return Ok(ResetOutcome::Old(
                    reset_old(a, group, topic, timestamp, force).await?,
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(ResetOutcome::Invoked(table))
}

/// RocketMQ's `resetOffsetByTimestampOld`: per queue, the offset at `timestamp` (the end for
/// -1), applied when forced or when it moves the group back, committed with
/// UPDATE_CONSUMER_OFFSET.
async fn reset_old(
    a: &Admin,
    group: &str,
    topic: &str,
    timestamp: i64,
    force: bool,
) -> Result<Vec<Rollback>, AdminError> {
    let mut out = Vec::new();
    for (broker_name, addr) in a.topic_masters(topic).await? {
        let stats = consume_stats_at(a, &addr, group, Some(topic)).await?;
        for (mq, o) in stats
            .offset_table
            .iter()
            .filter(|(mq, _)| mq.broker_name == broker_name)
        {
            let timestamp_offset = if timestamp == -1 {
                let h = GetMaxOffsetRequestHeader {
                    topic: topic.to_owned(),
                    queue_id: mq.queue_id,
                    committed: None,
                };
                a.call(
                    &addr,
                    RemotingCommand::request_with(request::GET_MAX_OFFSET, &h),
                )
                .await?
                .decode_header::<GetMaxOffsetResponseHeader>()?
                .offset
            } else {
                let h = SearchOffsetRequestHeader {
                    topic: topic.to_owned(),
                    queue_id: mq.queue_id,
                    timestamp,
                    boundary_type: None,
                };
                a.call(
                    &addr,
                    RemotingCommand::request_with(request::SEARCH_OFFSET_BY_TIMESTAMP, &h),
                )
                .await?
                .decode_header::<SearchOffsetResponseHeader>()?
                .offset
            };
            let rollback_offset = if force || timestamp_offset < o.consumer_offset {
                timestamp_offset
            } else {
                o.consumer_offset
            };
            let h = UpdateConsumerOffsetRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.to_owned(),
                queue_id: mq.queue_id,
                commit_offset: rollback_offset,
            };
            a.call(
                &addr,
                RemotingCommand::request_with(request::UPDATE_CONSUMER_OFFSET, &h),
            )
            .await?;
            out.push(Rollback {
                broker_name: mq.broker_name.clone(),
                queue_id: mq.queue_id,
                broker_offset: o.broker_offset,
                consumer_offset: o.consumer_offset,
                timestamp_offset,
                rollback_offset,
            });
        }
    }
    Ok(out)
}

fn print_outcome(text: &mut String, outcome: &ResetOutcome) -> serde_json::Value {
    match outcome {
        ResetOutcome::Invoked(table) => {
            let _ = writeln!(
                text,
                "{:<40}  {:<40}  {:<40}",
                "#brokerName", "#queueId", "#offset"
            );
            let mut rows = Vec::new();
            for (mq, offset) in table {
                let _ = writeln!(
                    text,
                    "{:<40}  {:<40}  {:<40}",
                    front(&mq.broker_name, 32),
                    mq.queue_id,
                    offset
                );
                rows.push(
                    json!({"brokerName": mq.broker_name, "queueId": mq.queue_id, "offset": offset}),
                );
            }
            json!({ "path": "broker", "offsets": rows })
        }
        ResetOutcome::Old(rows) => {
            let _ = writeln!(
                text,
                "{:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}",
                "#brokerName",
                "#queueId",
                "#brokerOffset",
                "#consumerOffset",
                "#timestampOffset",
                "#rollbackOffset"
            );
            let mut out = Vec::new();
            for r in rows {
                let _ = writeln!(
                    text,
                    "{:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}",
                    front(&r.broker_name, 32),
                    r.queue_id,
                    r.broker_offset,
                    r.consumer_offset,
                    r.timestamp_offset,
                    r.rollback_offset
                );
                out.push(json!({
                    "brokerName": r.broker_name, "queueId": r.queue_id, "brokerOffset": r.broker_offset,
                    "consumerOffset": r.consumer_offset, "timestampOffset": r.timestamp_offset,
                    "rollbackOffset": r.rollback_offset,
                }));
            }
            json!({ "path": "offline", "offsets": out })
        }
    }
}

pub async fn reset_offset_by_time(a: &Admin, x: ResetOffsetArgs) -> Result<Output, AdminError> {
    let (group, topic) = (x.group.trim(), x.topic.trim());
    let timestamp = parse_timestamp(&x.timestamp).map_err(AdminError::Usage)?;
    let force = x.force.unwrap_or(true);
    let outcome = reset(a, group, topic, timestamp, force).await?;
    let verb = match outcome {
        ResetOutcome::Invoked(_) => "group",
        ResetOutcome::Old(_) => "consumerGroup",
    };
    let mut text = format!(
        "rollback consumer offset by specified {verb}[{group}], topic[{topic}], force[{force}], timestamp(string)[{}], timestamp(long)[{timestamp}]\n",
        x.timestamp.trim()
    );
    let json = print_outcome(&mut text, &outcome);
    Ok(Output::new(text, json))
}

pub async fn skip_accumulated(a: &Admin, x: SkipArgs) -> Result<Output, AdminError> {
    let (group, topic) = (x.group.trim(), x.topic.trim());
    let outcome = reset(a, group, topic, -1, x.force.unwrap_or(true)).await?;
    let mut text = String::new();
    let json = print_outcome(&mut text, &outcome);
    Ok(Output::new(text, json))
}
