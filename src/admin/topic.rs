//! Topic sub-commands: updateTopic, deleteTopic, topicList, topicRoute, topicStatus,
//! topicClusterList and updateTopicPerm.

use std::fmt::Write;

use clap::Args;
use serde_json::json;

use super::format::{front, human_millis};
use super::rpc::{Admin, Target};
use super::{AdminError, Output, TopicArg};
use crate::protocol::body::broker::{GroupList, TopicStatsTable};
use crate::protocol::body::fastjson::from_json;
use crate::protocol::body::register::TopicConfig;
use crate::protocol::code::request;
use crate::protocol::flag::perm::{is_inherited, is_readable, is_writeable};
use crate::protocol::header::broker::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetTopicStatsInfoRequestHeader,
    QueryTopicConsumeByWhoRequestHeader,
};
use crate::protocol::header::namesrv::{
    DeleteTopicFromNamesrvRequestHeader, PutKvConfigRequestHeader,
};
use crate::protocol::topic::{
    AUTO_CREATE_TOPIC_KEY, DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX,
};
use crate::protocol::RemotingCommand;

/// The name-server namespace of ordered topics' `brokerName:queueNums;…` settings.
const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

#[derive(Args, Debug)]
pub struct UpdateTopicArgs {
    /// create topic to which broker
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// create topic to which cluster
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    /// topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// set read queue nums
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    pub read_queue_nums: i32,
    /// set write queue nums
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    pub write_queue_nums: i32,
    /// set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    pub perm: i32,
    /// set topic's order(true|false)
    #[arg(short = 'o', long = "order")]
    pub order: Option<bool>,
    /// is unit topic (true|false)
    #[arg(short = 'u', long = "unit")]
    pub unit: Option<bool>,
    /// has unit sub (true|false)
    #[arg(short = 's', long = "hasUnitSub")]
    pub has_unit_sub: Option<bool>,
}

/// RocketMQ's `TopicSysFlag.buildSysFlag`: bit 0 a unit topic, bit 1 one with unit
/// subscriptions.
fn topic_sys_flag(unit: bool, has_unit_sub: bool) -> i32 {
    i32::from(unit) | (i32::from(has_unit_sub) << 1)
}

#[derive(Args, Debug)]
pub struct DeleteTopicArgs {
    /// topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// delete topic from which cluster
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: String,
}

#[derive(Args, Debug)]
pub struct TopicListArgs {
    /// clusterModel
    #[arg(short = 'c', long = "clusterModel")]
    pub cluster_model: bool,
}

#[derive(Args, Debug)]
pub struct TopicRouteArgs {
    /// topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Use list format to print data
    #[arg(short = 'l', long = "list")]
    pub list: bool,
}

#[derive(Args, Debug)]
pub struct UpdateTopicPermArgs {
    /// create topic to which broker
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// create topic to which cluster
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    /// topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// set topic's permission(2|4|6), intro[2:W; 4:R; 6:RW]
    #[arg(short = 'p', long = "perm")]
    pub perm: i32,
}

/// `PermName.perm2String`: `RW-`, `R--`, ...
pub fn perm_string(perm: i32) -> String {
    let bit = |set: bool, c: char| if set { c } else { '-' };
    [
        bit(is_readable(perm), 'R'),
        bit(is_writeable(perm), 'W'),
        bit(is_inherited(perm), 'X'),
    ]
    .iter()
    .collect()
}

/// `TopicConfig.toString`.
fn topic_config_string(t: &TopicConfig) -> String {
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}]",
        t.topic_name,
        t.read_queue_nums,
        t.write_queue_nums,
        perm_string(t.perm),
        t.topic_filter_type,
        t.topic_sys_flag,
        t.order
    )
}

fn topic_config_json(t: &TopicConfig) -> serde_json::Value {
    json!({
        "topicName": t.topic_name, "readQueueNums": t.read_queue_nums,
        "writeQueueNums": t.write_queue_nums, "perm": t.perm,
        "topicFilterType": t.topic_filter_type, "topicSysFlag": t.topic_sys_flag, "order": t.order,
    })
}

async fn create_topic(a: &Admin, addr: &str, t: &TopicConfig) -> Result<(), AdminError> {
    let header = CreateTopicRequestHeader {
        topic: t.topic_name.clone(),
        default_topic: AUTO_CREATE_TOPIC_KEY.into(),
        read_queue_nums: t.read_queue_nums,
        write_queue_nums: t.write_queue_nums,
        perm: t.perm,
        topic_filter_type: t.topic_filter_type.clone(),
        topic_sys_flag: Some(t.topic_sys_flag),
        order: Some(t.order),
        ..Default::default()
    };
    a.call(
        addr,
        RemotingCommand::request_with(request::UPDATE_AND_CREATE_TOPIC, &header),
    )
    .await?;
    Ok(())
}

fn check_perm(perm: i32) -> Result<(), AdminError> {
    if matches!(perm, 2 | 4 | 6) {
        Ok(())
    } else {
        Err(AdminError::Usage(format!(
            "perm must be 2 (W), 4 (R) or 6 (RW), not {perm}"
        )))
    }
}

pub async fn update_topic(a: &Admin, x: UpdateTopicArgs) -> Result<Output, AdminError> {
    let target = Target::of(&x.broker_addr, &x.cluster_name)?;
    check_perm(x.perm)?;
    let topic = x.topic.trim().to_owned();
    let config = TopicConfig {
        topic_name: topic.clone(),
        read_queue_nums: x.read_queue_nums,
        write_queue_nums: x.write_queue_nums,
        perm: x.perm,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_sys_flag: topic_sys_flag(x.unit.unwrap_or(false), x.has_unit_sub.unwrap_or(false)),
        order: x.order.unwrap_or(false),
        attributes: Default::default(),
    };
    let masters = a.masters(&target).await?;
    if masters.is_empty() {
        return Err(AdminError::NotFound(
            "no master broker in the cluster".into(),
        ));
    }
    let mut text = String::new();
    for addr in &masters {
        create_topic(a, addr, &config).await?;
        let _ = writeln!(text, "create topic to {addr} success.");
    }
    if config.order {
        if let Target::Cluster(cluster) = target {
            let info = a.cluster_info().await?;
            let conf: Vec<String> = info
                .cluster_addr_table
                .get(cluster)
                .into_iter()
                .flatten()
                .map(|b| format!("{b}:{}", config.write_queue_nums))
                .collect();
            let conf = conf.join(";");
            let header = PutKvConfigRequestHeader {
                namespace: ORDER_TOPIC_CONFIG.into(),
                key: topic.clone(),
                value: conf.clone(),
            };
            for ns in a.namesrvs() {
                a.call(
                    ns,
                    RemotingCommand::request_with(request::PUT_KV_CONFIG, &header),
                )
                .await?;
            }
            let _ = write!(
                text,
                "set cluster orderConf. isOrder=true, orderConf=[{conf}]"
            );
        }
    }
    text.push_str(&topic_config_string(&config));
    text.push('\n');
    Ok(Output::new(
        text,
        json!({"brokers": masters, "topicConfig": topic_config_json(&config)}),
    ))
}

pub async fn delete_topic(a: &Admin, x: DeleteTopicArgs) -> Result<Output, AdminError> {
    let topic = x.topic.trim();
    let cluster = x.cluster_name.trim();
    let masters = a.cluster_masters(cluster).await?;
    for addr in &masters {
        a.call(
            addr,
            RemotingCommand::request_with(
                request::DELETE_TOPIC_IN_BROKER,
                &DeleteTopicRequestHeader {
                    topic: topic.to_owned(),
                },
            ),
        )
        .await?;
    }
    let mut text = format!("delete topic [{topic}] from cluster [{cluster}] success.\n");
    let header = DeleteTopicFromNamesrvRequestHeader {
        topic: topic.to_owned(),
        cluster_name: Some(cluster.to_owned()),
    };
    for ns in a.namesrvs() {
        a.call(
            ns,
            RemotingCommand::request_with(request::DELETE_TOPIC_IN_NAMESRV, &header),
        )
        .await?;
    }
    let _ = writeln!(text, "delete topic [{topic}] from NameServer success.");
    Ok(Output::new(
        text,
        json!({"topic": topic, "cluster": cluster, "brokers": masters}),
    ))
}

/// QUERY_TOPIC_CONSUME_BY_WHO on every master serving `topic`.
pub async fn consumer_groups_of(a: &Admin, topic: &str) -> Result<Vec<String>, AdminError> {
    let mut groups = Vec::new();
    for (_, addr) in a.topic_masters(topic).await? {
        let r = a
            .call(
                &addr,
                RemotingCommand::request_with(
                    request::QUERY_TOPIC_CONSUME_BY_WHO,
                    &QueryTopicConsumeByWhoRequestHeader {
                        topic: topic.to_owned(),
                    },
                ),
            )
            .await?;
        groups.extend(from_json::<GroupList>(&r.body)?.group_list);
    }
    groups.sort();
    groups.dedup();
    Ok(groups)
}

pub async fn topic_list(a: &Admin, x: TopicListArgs) -> Result<Output, AdminError> {
    let topics = a.topic_list().await?;
    if !x.cluster_model {
        let text: String = topics.iter().map(|t| format!("{t}\n")).collect();
        return Ok(Output::new(text, json!({ "topicList": topics })));
    }
    let mut text = format!(
        "{:<20}  {:<48}  {:<48}\n",
        "#Cluster Name", "#Topic", "#Consumer Group"
    );
    let mut rows = Vec::new();
    for topic in topics.iter().filter(|t| {
        !t.starts_with(RETRY_GROUP_TOPIC_PREFIX) && !t.starts_with(DLQ_GROUP_TOPIC_PREFIX)
    }) {
        // As RocketMQ's tool: a topic whose cluster or groups cannot be read still prints.
        let cluster = a
            .topic_clusters(topic)
            .await
            .ok()
            .and_then(|c| c.into_iter().next())
            .unwrap_or_default();
        let mut groups = consumer_groups_of(a, topic).await.unwrap_or_default();
        if groups.is_empty() {
            groups.push(String::new());
        }
        for g in groups {
            let _ = writeln!(
                text,
                "{:<20}  {:<64}  {:<64}",
                front(&cluster, 20),
                front(topic, 64),
                front(&g, 64)
            );
            rows.push(json!({"cluster": cluster, "topic": topic, "consumerGroup": g}));
        }
    }
    Ok(Output::new(text, json!({ "topics": rows })))
}

pub async fn topic_route(a: &Admin, x: TopicRouteArgs) -> Result<Output, AdminError> {
    let route = a.route(x.topic.trim()).await?;
    let json: serde_json::Value =
        serde_json::from_slice(&route.encode(true)).unwrap_or(serde_json::Value::Null);
    if !x.list {
        let pretty = crate::protocol::body::broker::pretty(&route.encode(false));
        let mut text = String::from_utf8_lossy(&pretty).into_owned();
        text.push('\n');
        return Ok(Output::new(text, json));
    }
    let row = |a: &str, b: &str, c: &str, d: &str, e: &str, f: &str| {
        format!("{a:<45} {b:<32} {c:<50} {d:<10} {e:<11} {f:<5}\n")
    };
    let mut text = row(
        "#ClusterName",
        "#BrokerName",
        "#BrokerAddrs",
        "#ReadQueue",
        "#WriteQueue",
        "#Perm",
    );
    let mut brokers = route.broker_datas.clone();
    brokers.sort_by(|x, y| x.broker_name.cmp(&y.broker_name));
    let (mut reads, mut writes) = (0, 0);
    for b in &brokers {
        let Some(q) = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == b.broker_name)
        else {
            continue;
        };
        reads += q.read_queue_nums;
        writes += q.write_queue_nums;
        let addrs: Vec<String> = b
            .broker_addrs
            .iter()
            .map(|(id, addr)| format!("{id}={addr}"))
            .collect();
        text.push_str(&row(
            &b.cluster,
            &b.broker_name,
            &format!("{{{}}}", addrs.join(", ")),
            &q.read_queue_nums.to_string(),
            &q.write_queue_nums.to_string(),
            &q.perm.to_string(),
        ));
    }
    text.push_str(&"-".repeat(158));
    text.push('\n');
    text.push_str(&row(
        "Total:",
        &route.queue_datas.len().to_string(),
        "",
        &reads.to_string(),
        &writes.to_string(),
        "",
    ));
    Ok(Output::new(text, json))
}

/// GET_TOPIC_STATS_INFO from every master serving `topic`, merged.
pub async fn topic_stats(a: &Admin, topic: &str) -> Result<TopicStatsTable, AdminError> {
    let mut all = TopicStatsTable::default();
    for (_, addr) in a.topic_masters(topic).await? {
        let r = a
            .call(
                &addr,
                RemotingCommand::request_with(
                    request::GET_TOPIC_STATS_INFO,
                    &GetTopicStatsInfoRequestHeader {
                        topic: topic.to_owned(),
                    },
                ),
            )
            .await?;
        all.offset_table
            .extend(TopicStatsTable::decode(&r.body)?.offset_table);
    }
    Ok(all)
}

pub async fn topic_status(a: &Admin, x: TopicArg) -> Result<Output, AdminError> {
    let stats = topic_stats(a, x.topic.trim()).await?;
    let mut text = format!(
        "{:<32}  {:<4}  {:<20}  {:<20}    {}\n",
        "#Broker Name", "#QID", "#Min Offset", "#Max Offset", "#Last Updated"
    );
    let mut rows = Vec::new();
    for (mq, o) in &stats.offset_table {
        let last = if o.last_update_timestamp > 0 {
            human_millis(o.last_update_timestamp)
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "{:<32}  {:<4}  {:<20}  {:<20}    {}",
            front(&mq.broker_name, 32),
            mq.queue_id,
            o.min_offset,
            o.max_offset,
            last
        );
        rows.push(json!({
            "brokerName": mq.broker_name, "queueId": mq.queue_id, "minOffset": o.min_offset,
            "maxOffset": o.max_offset, "lastUpdateTimestamp": o.last_update_timestamp,
        }));
    }
    Ok(Output::new(text, json!({ "queues": rows })))
}

pub async fn topic_cluster_list(a: &Admin, x: TopicArg) -> Result<Output, AdminError> {
    let clusters = a.topic_clusters(x.topic.trim()).await?;
    let text: String = clusters.iter().map(|c| format!("{c}\n")).collect();
    Ok(Output::new(text, json!({ "clusters": clusters })))
}

pub async fn update_topic_perm(a: &Admin, x: UpdateTopicPermArgs) -> Result<Output, AdminError> {
    let target = Target::of(&x.broker_addr, &x.cluster_name)?;
    check_perm(x.perm)?;
    let topic = x.topic.trim();
    let route = a.route(topic).await?;
    let masters = a.masters(&target).await?;
    let mut text = String::new();
    let mut changed = Vec::new();
    for addr in &masters {
        let Some(broker) = route
            .broker_datas
            .iter()
            .find(|b| b.broker_addrs.get(&0) == Some(addr))
        else {
            if matches!(target, Target::Broker(_)) {
                return Err(AdminError::NotFound(
                    "updateTopicPerm error broker not exit or broker is not master!.".into(),
                ));
            }
            continue;
        };
        let Some(q) = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == broker.broker_name)
        else {
            continue;
        };
        if q.perm == x.perm {
            text.push_str("new perm equals to the old one!\n");
            continue;
        }
        let config = TopicConfig {
            topic_name: topic.to_owned(),
            read_queue_nums: q.read_queue_nums,
            write_queue_nums: q.write_queue_nums,
            perm: x.perm,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: q.topic_sys_flag,
            order: false,
            attributes: Default::default(),
        };
        create_topic(a, addr, &config).await?;
        let _ = writeln!(
            text,
            "update topic perm from {} to {} in {addr} success.",
            q.perm, x.perm
        );
        if matches!(target, Target::Broker(_)) {
            let _ = writeln!(text, "{}.", topic_config_string(&config));
        }
        changed.push(json!({"broker": addr, "oldPerm": q.perm, "perm": x.perm}));
    }
    Ok(Output::new(text, json!({ "updated": changed })))
}
