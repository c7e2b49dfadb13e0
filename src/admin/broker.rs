//! Cluster, broker and name-server sub-commands: clusterList, brokerStatus,
//! getBrokerConfig, updateBrokerConfig, wipeWritePerm, addWritePerm, statsAll,
//! updateKvConfig, deleteKvConfig, getNamesrvConfig and updateNamesrvConfig.

use std::collections::BTreeMap;
use std::fmt::Write;

use clap::Args;
use serde_json::json;

use super::format::front;
use super::rpc::{Admin, Target};
use super::topic::consumer_groups_of;
use super::{AdminError, BrokerNameArg, BrokerOrCluster, Output};
use crate::protocol::body::broker::{BrokerStatsData, ConsumeStats};
use crate::protocol::body::fastjson::from_json;
use crate::protocol::body::kv::{parse_properties, KvTable};
use crate::protocol::code::request;
use crate::protocol::header::broker::{
    GetConsumeStatsRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use crate::protocol::header::namesrv::{
    AddWritePermOfBrokerResponseHeader, BrokerNameRequestHeader, KvConfigKeyRequestHeader,
    PutKvConfigRequestHeader, WipeWritePermOfBrokerResponseHeader,
};
use crate::protocol::topic::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};
use crate::protocol::RemotingCommand;

#[derive(Args, Debug)]
pub struct ClusterListArgs {
    /// which cluster (all when absent)
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    /// Print more stats
    #[arg(short = 'm', long = "moreStats")]
    pub more_stats: bool,
    /// specify intervals numbers, it is in seconds
    #[arg(short = 'i', long = "interval")]
    pub interval: Option<u64>,
    /// with -i, stop after this many prints (Ferrocket; RocketMQ repeats until interrupted)
    #[arg(long = "count", requires = "interval")]
    pub count: Option<u64>,
}

#[derive(Args, Debug)]
pub struct UpdateNamesrvConfigArgs {
    /// config key
    #[arg(short = 'k', long = "key")]
    pub key: String,
    /// config value
    #[arg(short = 'v', long = "value")]
    pub value: String,
}

#[derive(Args, Debug)]
pub struct UpdateBrokerConfigArgs {
    /// update which broker
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// update which cluster
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    /// config key
    #[arg(short = 'k', long = "key")]
    pub key: String,
    /// config value
    #[arg(short = 'v', long = "value")]
    pub value: String,
}

#[derive(Args, Debug)]
pub struct StatsAllArgs {
    /// print active topic only
    #[arg(short = 'a', long = "activeTopic")]
    pub active_topic: bool,
    /// print select topic only
    #[arg(short = 't', long = "topic")]
    pub topic: Option<String>,
}

#[derive(Args, Debug)]
pub struct KvArgs {
    /// set the namespace
    #[arg(short = 's', long = "namespace")]
    pub namespace: String,
    /// set the key name
    #[arg(short = 'k', long = "key")]
    pub key: String,
    /// set the key value
    #[arg(short = 'v', long = "value")]
    pub value: String,
}

#[derive(Args, Debug)]
pub struct KvKeyArgs {
    /// set the namespace
    #[arg(short = 's', long = "namespace")]
    pub namespace: String,
    /// set the key name
    #[arg(short = 'k', long = "key")]
    pub key: String,
}

/// GET_BROKER_RUNTIME_INFO of one broker.
pub async fn runtime_info(a: &Admin, addr: &str) -> Result<BTreeMap<String, String>, AdminError> {
    let r = a
        .call(
            addr,
            RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO),
        )
        .await?;
    Ok(from_json::<KvTable>(&r.body)?.table)
}

/// The first number of a `"putTps"`-style value (`"12.5 11.0 10.2"`).
fn first_number(v: Option<&String>) -> f64 {
    v.and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

/// clusterList: once, or with `-i` every interval (at least a second, so a `-i 0` cannot
/// hammer the brokers) until `--count` prints or the process is interrupted; each print goes
/// out as soon as it is made, so a long watch holds one table in memory.
pub async fn cluster_list(a: &Admin, x: ClusterListArgs) -> Result<Output, AdminError> {
    let Some(interval) = x.interval else {
        return cluster_table(a, &x).await;
    };
    let pause = std::time::Duration::from_secs(interval.max(1));
    let mut printed = 0u64;
    loop {
        let out = cluster_table(a, &x).await?;
        a.print(&out)?;
        printed += 1;
        if x.count.is_some_and(|n| printed >= n) {
            return Ok(Output::printed());
        }
        tokio::time::sleep(pause).await;
    }
}

async fn cluster_table(a: &Admin, x: &ClusterListArgs) -> Result<Output, AdminError> {
    if x.more_stats {
        cluster_more_stats(a, x).await
    } else {
        cluster_base_info(a, x).await
    }
}

/// The brokers of the clusters `-c` selects, as (cluster, broker name, id, address), in
/// RocketMQ's order: broker names sorted within a cluster, ids in order.
fn cluster_brokers(
    info: &crate::protocol::body::route::ClusterInfo,
    only: Option<&str>,
) -> Vec<(String, String, i64, String)> {
    let mut out = Vec::new();
    for (cluster, names) in &info.cluster_addr_table {
        if only.is_some_and(|c| c.trim() != cluster) {
            continue;
        }
        let sorted: std::collections::BTreeSet<&String> = names.iter().collect();
        for name in sorted {
            let Some(b) = info.broker_addr_table.get(name) else {
                continue;
            };
            for (id, addr) in &b.broker_addrs {
                out.push((cluster.clone(), name.clone(), *id, addr.clone()));
            }
        }
    }
    out
}

/// `clusterList -m`: messages in and out yesterday and today, from the runtime info's
/// `msgPutTotal*`/`msgGetTotal*` counters (a broker that does not answer shows zeros, as in
/// RocketMQ's tool).
async fn cluster_more_stats(a: &Admin, x: &ClusterListArgs) -> Result<Output, AdminError> {
    let info = a.cluster_info().await?;
    let mut text = format!(
        "{:<16}  {:<32} {:>14} {:>14} {:>14} {:>14}\n",
        "#Cluster Name",
        "#Broker Name",
        "#InTotalYest",
        "#OutTotalYest",
        "#InTotalToday",
        "#OutTotalToday"
    );
    let mut rows = Vec::new();
    for (cluster, name, id, addr) in cluster_brokers(&info, x.cluster_name.as_deref()) {
        let kv = runtime_info(a, &addr).await.unwrap_or_default();
        let n = |k: &str| kv.get(k).and_then(|v| v.trim().parse::<i64>().ok());
        let diff = |later: &str, earlier: &str| match (n(later), n(earlier)) {
            (Some(l), Some(e)) => l - e,
            _ => 0,
        };
        let in_yest = diff("msgPutTotalTodayMorning", "msgPutTotalYesterdayMorning");
        let out_yest = diff("msgGetTotalTodayMorning", "msgGetTotalYesterdayMorning");
        let in_today = diff("msgPutTotalTodayNow", "msgPutTotalTodayMorning");
        let out_today = diff("msgGetTotalTodayNow", "msgGetTotalTodayMorning");
        let _ = writeln!(
            text,
            "{cluster:<16}  {name:<32} {in_yest:>14} {out_yest:>14} {in_today:>14} {out_today:>14}"
        );
        rows.push(json!({
            "clusterName": cluster, "brokerName": name, "brokerId": id, "addr": addr,
            "inTotalYest": in_yest, "outTotalYest": out_yest,
            "inTotalToday": in_today, "outTotalToday": out_today, "reachable": !kv.is_empty(),
        }));
    }
    Ok(Output::new(text, json!({ "brokers": rows })))
}

async fn cluster_base_info(a: &Admin, x: &ClusterListArgs) -> Result<Output, AdminError> {
    let info = a.cluster_info().await?;
    let row = |c: &str,
               n: &str,
               id: &str,
               addr: &str,
               v: &str,
               i: &str,
               o: &str,
               w: &str,
               h: &str,
               s: &str| {
        format!(
            "{c:<16}  {n:<22}  {id:<4}  {addr:<22} {v:<16} {i:>19} {o:>19} {w:>10} {h:>5} {s:>6}\n"
        )
    };
    let mut text = row(
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        "#InTPS(LOAD)",
        "#OutTPS(LOAD)",
        "#PCWait(ms)",
        "#Hour",
        "#SPACE",
    );
    let mut rows = Vec::new();
    for (cluster, name, id, addr) in cluster_brokers(&info, x.cluster_name.as_deref()) {
        // A broker that does not answer still gets its row, as in RocketMQ's tool.
        let kv = runtime_info(a, &addr).await.unwrap_or_default();
        let get = |k: &str| kv.get(k).cloned().unwrap_or_default();
        let in_tps = first_number(kv.get("putTps"));
        let out_tps = first_number(kv.get("getTransferedTps"));
        let hours = kv
            .get("earliestMessageTimeStamp")
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|&t| t > 0)
            .map(|t| (crate::clock::now_millis() - t) as f64 / 3_600_000.0)
            .unwrap_or(0.0);
        let space: f64 = kv
            .get("commitLogDiskRatio")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0);
        text.push_str(&row(
            &cluster,
            &name,
            &id.to_string(),
            &addr,
            &get("brokerVersionDesc"),
            &format!(
                "{in_tps:9.2}({},{}ms)",
                get("sendThreadPoolQueueSize"),
                get("sendThreadPoolQueueHeadWaitTimeMills")
            ),
            &format!(
                "{out_tps:9.2}({},{}ms)",
                get("pullThreadPoolQueueSize"),
                get("pullThreadPoolQueueHeadWaitTimeMills")
            ),
            &get("pageCacheLockTimeMills"),
            &format!("{hours:2.2}"),
            &format!("{space:.4}"),
        ));
        rows.push(json!({
            "clusterName": cluster, "brokerName": name, "brokerId": id, "addr": addr,
            "version": get("brokerVersionDesc"), "inTps": in_tps, "outTps": out_tps,
            "hours": hours, "commitLogDiskRatio": space, "reachable": !kv.is_empty(),
        }));
    }
    Ok(Output::new(text, json!({ "brokers": rows })))
}

pub async fn broker_status(a: &Admin, x: BrokerOrCluster) -> Result<Output, AdminError> {
    let target = Target::of(&x.broker_addr, &x.cluster_name)?;
    let mut text = String::new();
    let mut all = serde_json::Map::new();
    match target {
        Target::Broker(addr) => {
            let kv = runtime_info(a, addr).await?;
            for (k, v) in &kv {
                let _ = writeln!(text, "{k:<32}: {v}");
            }
            all.insert(addr.to_owned(), json!(kv));
        }
        Target::Cluster(c) => {
            for addr in a.cluster_members(c).await? {
                match runtime_info(a, &addr).await {
                    Ok(kv) => {
                        for (k, v) in &kv {
                            let _ = writeln!(text, "{addr:<24} {k:<32}: {v}");
                        }
                        all.insert(addr, json!(kv));
                    }
                    Err(e) => {
                        let _ = writeln!(text, "{addr:<24} error: {e}");
                        all.insert(addr, json!({ "error": e.to_string() }));
                    }
                }
            }
        }
    }
    Ok(Output::new(text, serde_json::Value::Object(all)))
}

/// GET_BROKER_CONFIG: the broker's `key=value` lines, sorted by key.
async fn broker_config(a: &Admin, addr: &str) -> Result<BTreeMap<String, String>, AdminError> {
    let r = a
        .call(addr, RemotingCommand::request(request::GET_BROKER_CONFIG))
        .await?;
    Ok(properties_map(&r.body))
}

/// A properties body (GET_BROKER_CONFIG, GET_NAMESRV_CONFIG) as sorted `key → value`.
fn properties_map(body: &[u8]) -> BTreeMap<String, String> {
    parse_properties(&String::from_utf8_lossy(body))
        .into_iter()
        .collect()
}

/// `key=  value` lines, the key padded to 50 as RocketMQ's config sub-commands print them.
fn print_lines(text: &mut String, config: &BTreeMap<String, String>) {
    for (k, v) in config {
        let _ = writeln!(text, "{k:<50}=  {v}");
    }
}

fn print_config(text: &mut String, config: &BTreeMap<String, String>) {
    print_lines(text, config);
    text.push('\n');
}

pub async fn get_broker_config(a: &Admin, x: BrokerOrCluster) -> Result<Output, AdminError> {
    let target = Target::of(&x.broker_addr, &x.cluster_name)?;
    let mut text = String::new();
    let mut all = serde_json::Map::new();
    match target {
        Target::Broker(addr) => {
            let config = broker_config(a, addr).await?;
            let _ = writeln!(text, "============{addr}============");
            print_config(&mut text, &config);
            all.insert(addr.to_owned(), json!(config));
        }
        Target::Cluster(c) => {
            let info = a.cluster_info().await?;
            let names = info
                .cluster_addr_table
                .get(c)
                .ok_or_else(|| AdminError::NotFound(format!("cluster [{c}] not exist")))?;
            for b in names.iter().filter_map(|n| info.broker_addr_table.get(n)) {
                let Some(master) = b.broker_addrs.get(&0) else {
                    continue;
                };
                let config = broker_config(a, master).await?;
                let _ = writeln!(text, "============Master: {master}============");
                print_config(&mut text, &config);
                all.insert(master.clone(), json!(config));
                for (_, slave) in b.broker_addrs.iter().filter(|(id, _)| **id != 0) {
                    let config = broker_config(a, slave).await?;
                    let _ = writeln!(
                        text,
                        "============My Master: {master}=====Slave: {slave}============"
                    );
                    print_config(&mut text, &config);
                    all.insert(slave.clone(), json!(config));
                }
            }
        }
    }
    Ok(Output::new(text, serde_json::Value::Object(all)))
}

pub async fn update_broker_config(
    a: &Admin,
    x: UpdateBrokerConfigArgs,
) -> Result<Output, AdminError> {
    let target = Target::of(&x.broker_addr, &x.cluster_name)?;
    let body = format!("{}={}\n", x.key.trim(), x.value.trim());
    let mut text = String::new();
    let mut done = Vec::new();
    for addr in a.masters(&target).await? {
        let cmd = RemotingCommand::request(request::UPDATE_BROKER_CONFIG).with_body(body.clone());
        a.call(&addr, cmd).await?;
        let _ = writeln!(text, "update broker config success, {addr}");
        done.push(addr);
    }
    Ok(Output::new(
        text,
        json!({"key": x.key.trim(), "value": x.value.trim(), "brokers": done}),
    ))
}

pub async fn write_perm(a: &Admin, x: BrokerNameArg, add: bool) -> Result<Output, AdminError> {
    let name = x.broker_name.trim();
    let (code, verb) = if add {
        (request::ADD_WRITE_PERM_OF_BROKER, "add")
    } else {
        (request::WIPE_WRITE_PERM_OF_BROKER, "wipe")
    };
    let header = BrokerNameRequestHeader {
        broker_name: name.to_owned(),
    };
    let mut text = String::new();
    let mut results = Vec::new();
    let mut failed = None;
    for ns in a.namesrvs() {
        let answer = a
            .call(ns, RemotingCommand::request_with(code, &header))
            .await
            .and_then(|r| {
                Ok(if add {
                    r.decode_header::<AddWritePermOfBrokerResponseHeader>()?
                        .add_topic_count
                } else {
                    r.decode_header::<WipeWritePermOfBrokerResponseHeader>()?
                        .wipe_topic_count
                })
            });
        match answer {
            Ok(count) => {
                let _ = writeln!(
                    text,
                    "{verb} write perm of broker[{name}] in name server[{ns}] OK, {count}"
                );
                results.push(json!({"namesrv": ns, "ok": true, "topicCount": count}));
            }
            Err(e) => {
                let _ = writeln!(
                    text,
                    "{verb} write perm of broker[{name}] in name server[{ns}] Failed"
                );
                results.push(json!({"namesrv": ns, "ok": false, "error": e.to_string()}));
                failed = Some(e);
            }
        }
    }
    match failed {
        // Every name server is tried and reported; the exit status still says one failed.
        Some(e) if results.len() == 1 => Err(e),
        _ => Ok(Output::new(text, json!({ "results": results }))),
    }
}

/// VIEW_BROKER_STATS_DATA of one stat on one broker; `None` when it cannot be read.
pub async fn stats_data(a: &Admin, addr: &str, name: &str, key: &str) -> Option<BrokerStatsData> {
    let header = ViewBrokerStatsDataRequestHeader {
        stats_name: name.to_owned(),
        stats_key: key.to_owned(),
    };
    let r = a
        .call(
            addr,
            RemotingCommand::request_with(request::VIEW_BROKER_STATS_DATA, &header),
        )
        .await
        .ok()?;
    from_json(&r.body).ok()
}

/// RocketMQ's `compute24HourSum`: the day's sum, else the hour's, else the minute's.
fn day_sum(s: &BrokerStatsData) -> i64 {
    [s.stats_day.sum, s.stats_hour.sum, s.stats_minute.sum]
        .into_iter()
        .find(|&n| n != 0)
        .unwrap_or(0)
}

pub async fn stats_all(a: &Admin, x: StatsAllArgs) -> Result<Output, AdminError> {
    let mut text = format!(
        "{:<64}  {:<64} {:>12} {:>11} {:>11} {:>14} {:>14}\n",
        "#Topic",
        "#Consumer Group",
        "#Accumulation",
        "#InTPS",
        "#OutTPS",
        "#InMsg24Hour",
        "#OutMsg24Hour"
    );
    let mut rows = Vec::new();
    let topics = match &x.topic {
        Some(t) => vec![t.trim().to_owned()],
        None => a.topic_list().await?,
    };
    for topic in topics.iter().filter(|t| {
        !t.starts_with(RETRY_GROUP_TOPIC_PREFIX) && !t.starts_with(DLQ_GROUP_TOPIC_PREFIX)
    }) {
        // Like RocketMQ's tool, a topic or figure that cannot be read counts as zero.
        let Ok(masters) = a.topic_masters(topic).await else {
            continue;
        };
        let (mut in_tps, mut in_day) = (0.0, 0i64);
        for (_, addr) in &masters {
            if let Some(s) = stats_data(a, addr, "TOPIC_PUT_NUMS", topic).await {
                in_tps += s.stats_minute.tps;
                in_day += day_sum(&s);
            }
        }
        let groups = consumer_groups_of(a, topic).await.unwrap_or_default();
        if groups.is_empty() {
            if !x.active_topic || in_day > 0 {
                let _ = writeln!(
                    text,
                    "{:<64}  {:<64} {:>12} {:>11.2} {:>11} {:>14} {:>14}",
                    front(topic, 64),
                    "",
                    0,
                    in_tps,
                    "",
                    in_day,
                    "NO_CONSUMER"
                );
                rows.push(json!({"topic": topic, "inTps": in_tps, "inMsg24Hour": in_day}));
            }
            continue;
        }
        for group in groups {
            let (mut out_tps, mut out_day, mut accumulation) = (0.0, 0i64, 0i64);
            for (_, addr) in &masters {
                if let Some(s) =
                    stats_data(a, addr, "GROUP_GET_NUMS", &format!("{topic}@{group}")).await
                {
                    out_tps += s.stats_minute.tps;
                    out_day += day_sum(&s);
                }
                let header = GetConsumeStatsRequestHeader {
                    consumer_group: group.clone(),
                    topic: Some(topic.clone()),
                    ..Default::default()
                };
                if let Ok(r) = a
                    .call(
                        addr,
                        RemotingCommand::request_with(request::GET_CONSUME_STATS, &header),
                    )
                    .await
                {
                    if let Ok(stats) = ConsumeStats::decode(&r.body) {
                        accumulation += stats.total_diff();
                    }
                }
            }
            let accumulation = accumulation.max(0);
            if !x.active_topic || in_day > 0 || out_day > 0 {
                let _ = writeln!(
                    text,
                    "{:<64}  {:<64} {:>12} {:>11.2} {:>11.2} {:>14} {:>14}",
                    front(topic, 64),
                    front(&group, 64),
                    accumulation,
                    in_tps,
                    out_tps,
                    in_day,
                    out_day
                );
                rows.push(json!({
                    "topic": topic, "consumerGroup": group, "accumulation": accumulation,
                    "inTps": in_tps, "outTps": out_tps, "inMsg24Hour": in_day, "outMsg24Hour": out_day,
                }));
            }
        }
    }
    Ok(Output::new(text, json!({ "stats": rows })))
}

pub async fn update_kv_config(a: &Admin, x: KvArgs) -> Result<Output, AdminError> {
    let header = PutKvConfigRequestHeader {
        namespace: x.namespace.trim().to_owned(),
        key: x.key.trim().to_owned(),
        value: x.value.trim().to_owned(),
    };
    for ns in a.namesrvs() {
        a.call(
            ns,
            RemotingCommand::request_with(request::PUT_KV_CONFIG, &header),
        )
        .await?;
    }
    Ok(Output::new(
        "create or update kv config to namespace success.\n".into(),
        json!({"namespace": header.namespace, "key": header.key, "value": header.value}),
    ))
}

pub async fn delete_kv_config(a: &Admin, x: KvKeyArgs) -> Result<Output, AdminError> {
    let header = KvConfigKeyRequestHeader {
        namespace: x.namespace.trim().to_owned(),
        key: x.key.trim().to_owned(),
    };
    for ns in a.namesrvs() {
        a.call(
            ns,
            RemotingCommand::request_with(request::DELETE_KV_CONFIG, &header),
        )
        .await?;
    }
    Ok(Output::new(
        "delete kv config from namespace success.\n".into(),
        json!({"namespace": header.namespace, "key": header.key}),
    ))
}

/// GET_NAMESRV_CONFIG of every name server of `-n`, in RocketMQ's layout: a
/// `============addr============` line, then `key=  value` lines.
pub async fn get_namesrv_config(a: &Admin) -> Result<Output, AdminError> {
    let mut text = String::new();
    let mut all = serde_json::Map::new();
    for ns in a.namesrvs() {
        let r = a
            .call(ns, RemotingCommand::request(request::GET_NAMESRV_CONFIG))
            .await?;
        let config = properties_map(&r.body);
        let _ = writeln!(text, "============{ns}============");
        print_lines(&mut text, &config);
        all.insert(ns.clone(), json!(config));
    }
    Ok(Output::new(text, serde_json::Value::Object(all)))
}

/// UPDATE_NAMESRV_CONFIG to every name server of `-n`; the first refusal (a black-listed key
/// is NO_PERMISSION) fails the command, as RocketMQ's `updateNameServerConfig` does.
pub async fn update_namesrv_config(
    a: &Admin,
    x: UpdateNamesrvConfigArgs,
) -> Result<Output, AdminError> {
    let (key, value) = (x.key.trim(), x.value.trim());
    let body = format!("{key}={value}\n");
    for ns in a.namesrvs() {
        let cmd = RemotingCommand::request(request::UPDATE_NAMESRV_CONFIG).with_body(body.clone());
        a.call(ns, cmd).await?;
    }
    Ok(Output::new(
        format!(
            "update name server config success![{}]\n{key} : {value}\n",
            a.namesrvs().join(", ")
        ),
        json!({"key": key, "value": value, "namesrvs": a.namesrvs()}),
    ))
}
