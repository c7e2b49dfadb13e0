//! Administration: topics, subscription groups, runtime information, topic and consumer
//! statistics, and the broker's configuration (what `mqadmin` and dashboards ask).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::refuse;
use super::{BrokerContext, Reply};
use crate::actors::broker::meta::stats::{BROKER_GET_NUMS, BROKER_PUT_NUMS};
use crate::actors::broker::meta::subscription_group::PutGroup;
use crate::actors::broker::meta::topic_config::{validate_topic, DeleteTopic, PutTopic};
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::broker::{
    ConsumeStats, MessageQueue, OffsetWrapper, SubscriptionGroupConfig, TopicOffset,
    TopicStatsTable,
};
use crate::protocol::body::fastjson::{from_json, to_json};
use crate::protocol::body::kv::KvTable;
use crate::protocol::body::register::TopicConfig;
use crate::protocol::code::response;
use crate::protocol::header::broker::*;
use crate::protocol::topic::is_system_topic;
use crate::protocol::RemotingCommand;

/// What UPDATE_AND_CREATE_TOPIC and DELETE_TOPIC_IN_BROKER check first, as Java's
/// `TopicValidator`: a valid name (SYSTEM_ERROR otherwise, as 4.9.8 answers) that is not a
/// system topic.
fn check_admin_topic(topic: &str) -> Result<(), crate::actors::error::ServiceError> {
    validate_topic(topic).map_err(|r| refuse(response::SYSTEM_ERROR, r))?;
    if is_system_topic(topic) {
        return Err(refuse(
            response::SYSTEM_ERROR,
            format!("The topic[{topic}] is conflict with system topic."),
        ));
    }
    Ok(())
}

pub(super) async fn update_and_create_topic(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: CreateTopicRequestHeader = req.decode_header()?;
    check_admin_topic(&h.topic)?;
    let topic = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: h.topic_filter_type.clone(),
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.is_order(),
        attributes: Default::default(),
    };
    cx.topic_manager.ask(PutTopic(topic)).await??;
    Ok(RemotingCommand::success())
}

pub(super) async fn delete_topic(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: DeleteTopicRequestHeader = req.decode_header()?;
    check_admin_topic(&h.topic)?;
    cx.topic_manager.ask(DeleteTopic(h.topic.clone())).await??;
    cx.offsets.remove_topic(&h.topic);
    cx.stats.remove_topic(&h.topic);
    cx.registry.forget_series("topic", &h.topic);
    cx.store.remove_topic(&h.topic);
    Ok(RemotingCommand::success())
}

pub(super) async fn get_all_topic_config(
    cx: Arc<BrokerContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    Ok(RemotingCommand::success().with_body(to_json(&*cx.topics.snapshot())))
}

pub(super) async fn update_and_create_subscription_group(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let group: SubscriptionGroupConfig = from_json(&req.body)?;
    if group.group_name.is_empty() {
        return Err(refuse(
            response::INVALID_PARAMETER,
            "the subscription group name is empty",
        ));
    }
    cx.group_manager.ask(PutGroup(group)).await??;
    Ok(RemotingCommand::success())
}

pub(super) async fn get_all_subscription_group_config(
    cx: Arc<BrokerContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    Ok(RemotingCommand::success().with_body(to_json(&*cx.groups.snapshot())))
}

pub(super) fn counter_total(cx: &BrokerContext, name: &'static str) -> u64 {
    cx.registry.sum_counter(name)
}

/// The rates RocketMQ's runtime info gives as "10 s, 1 min, 10 min"; here the last
/// minute's, three times, as the statistics keep minute windows.
fn tps_triplet(cx: &BrokerContext, name: &str) -> String {
    let tps = cx.stats.minute_tps(name, &cx.config.broker_cluster_name);
    format!("{tps:.2} {tps:.2} {tps:.2}")
}

/// GET_BROKER_RUNTIME_INFO (28): RocketMQ 4.9.8's key names (`prepareRuntimeInfo`, the
/// store's and StoreStatsService's), which `clusterList`, `brokerStatus`, the dashboard and
/// rocketmq-exporter parse. Thread-pool figures are 0: requests here are not queued on
/// thread pools.
pub(super) async fn get_broker_runtime_info(
    cx: Arc<BrokerContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let log = cx.store.commit_log();
    let boot = crate::clock::now_millis() - cx.started.elapsed().as_millis() as i64;
    let put = counter_total(&cx, "rocketmq_messages_in_total");
    let get = counter_total(&cx, "rocketmq_messages_out_total");
    let disk = cx.store.disk_space().used_percent().unwrap_or(0.0);
    let earliest = log
        .read_record(log.min_offset())
        .and_then(|r| crate::protocol::message::decode_record(&r).ok())
        .map(|m| m.store_timestamp)
        .unwrap_or(0);
    let mut t = BTreeMap::new();
    let mut put_kv = |k: &str, v: String| {
        t.insert(k.to_owned(), v);
    };
    put_kv("brokerVersionDesc", "V4_9_8".into());
    put_kv(
        "brokerVersion",
        crate::protocol::command::CURRENT_VERSION.to_string(),
    );
    put_kv("bootTimestamp", boot.to_string());
    put_kv("brokerActive", "true".into());
    put_kv("msgPutTotalTodayNow", put.to_string());
    put_kv("msgGetTotalTodayNow", get.to_string());
    let daily = cx.daily.lock().map(|d| *d).unwrap_or_default();
    put_kv("msgPutTotalTodayMorning", daily.today_morning.0.to_string());
    put_kv("msgGetTotalTodayMorning", daily.today_morning.1.to_string());
    put_kv(
        "msgPutTotalYesterdayMorning",
        daily.yesterday_morning.0.to_string(),
    );
    put_kv(
        "msgGetTotalYesterdayMorning",
        daily.yesterday_morning.1.to_string(),
    );
    put_kv("commitLogMinOffset", log.min_offset().to_string());
    put_kv("commitLogMaxOffset", log.max_offset().to_string());
    put_kv(
        "dispatchBehindBytes",
        (log.max_offset() - cx.store.dispatched_offset())
            .max(0)
            .to_string(),
    );
    put_kv("commitLogDiskRatio", (disk / 100.0).to_string());
    put_kv("consumeQueueDiskRatio", (disk / 100.0).to_string());
    put_kv("earliestMessageTimeStamp", earliest.to_string());
    put_kv("startAcceptSendRequestTimeStamp", "0".into());
    for k in [
        "sendThreadPoolQueueSize",
        "pullThreadPoolQueueSize",
        "queryThreadPoolQueueSize",
        "EndTransactionQueueSize",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "queryThreadPoolQueueHeadWaitTimeMills",
        "pageCacheLockTimeMills",
        "remainTransientStoreBufferNumbs",
        "remainHowManyDataToCommit",
    ] {
        put_kv(k, "0".into());
    }
    put_kv("remainHowManyDataToFlush", "0".into());
    put_kv("putTps", tps_triplet(&cx, BROKER_PUT_NUMS));
    put_kv("getTransferedTps", tps_triplet(&cx, BROKER_GET_NUMS));
    put_kv("getFoundTps", tps_triplet(&cx, BROKER_GET_NUMS));
    put_kv("getMissTps", "0.00 0.00 0.00".into());
    put_kv("getTotalTps", tps_triplet(&cx, BROKER_GET_NUMS));
    put_kv("putMessageTimesTotal", put.to_string());
    put_kv(
        "putMessageSizeTotal",
        counter_total(&cx, "rocketmq_throughput_in_total").to_string(),
    );
    put_kv("putMessageDistributeTime", cx.send_latency.distribution());
    put_kv(
        "putMessageEntireTimeMax",
        cx.send_latency.max_millis().to_string(),
    );
    put_kv("putMessageFailedTimes", "0".into());
    put_kv(
        "runtime",
        format!("[ {} seconds ]", cx.started.elapsed().as_secs()),
    );
    Ok(RemotingCommand::success().with_body(to_json(&KvTable { table: t })))
}

pub(super) async fn get_topic_stats_info(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetTopicStatsInfoRequestHeader = req.decode_header()?;
    let topic = cx.topics.get(&h.topic).ok_or_else(|| {
        refuse(
            response::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        )
    })?;
    let mut table = TopicStatsTable::default();
    for q in 0..topic.write_queue_nums {
        let (min, max) = cx.store.queue_offsets(&h.topic, q);
        let last = if max > 0 {
            last_store_time(&cx, &h.topic, q, max - 1)
        } else {
            0
        };
        table.offset_table.insert(
            MessageQueue {
                topic: h.topic.clone(),
                broker_name: cx.config.broker_name.clone(),
                queue_id: q,
            },
            TopicOffset {
                min_offset: min,
                max_offset: max,
                last_update_timestamp: last,
            },
        );
    }
    Ok(RemotingCommand::success().with_body(table.encode()))
}

pub(super) fn last_store_time(cx: &BrokerContext, topic: &str, queue_id: i32, offset: i64) -> i64 {
    cx.store
        .consume_queue(topic, queue_id)
        .and_then(|q| q.unit(offset))
        .and_then(|u| cx.store.commit_log().store_timestamp(u.phys_offset, u.size))
        .unwrap_or(0)
}

pub(super) async fn get_consume_stats(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetConsumeStatsRequestHeader = req.decode_header()?;
    let topics: Vec<String> = match h.topic.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => vec![t.to_owned()],
        None => cx.offsets.topics_of(&h.consumer_group),
    };
    let mut stats = ConsumeStats::default();
    for topic in topics {
        let Some(config) = cx.topics.get(&topic) else {
            continue;
        };
        let committed = cx.offsets.offsets_of(&h.consumer_group, &topic);
        for q in 0..config.write_queue_nums {
            let broker_offset = cx.store.queue_offsets(&topic, q).1;
            let consumer_offset = committed.get(&q).copied().unwrap_or(0);
            let last = if consumer_offset > 0 {
                last_store_time(&cx, &topic, q, consumer_offset - 1)
            } else {
                0
            };
            stats.offset_table.insert(
                MessageQueue {
                    topic: topic.clone(),
                    broker_name: cx.config.broker_name.clone(),
                    queue_id: q,
                },
                OffsetWrapper {
                    broker_offset,
                    consumer_offset,
                    pull_offset: consumer_offset,
                    last_timestamp: last,
                },
            );
        }
    }
    Ok(RemotingCommand::success().with_body(stats.encode()))
}

pub(super) async fn get_broker_config(
    cx: Arc<BrokerContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let c = &cx.config;
    let s = &c.store;
    let text = format!(
        "brokerClusterName={}\nbrokerName={}\nbrokerId={}\nnamesrvAddr={}\nbrokerIP1={}\nlistenPort={}\nbrokerRole={:?}\n\
         autoCreateTopicEnable={}\ndefaultTopicQueueNums={}\nautoCreateSubscriptionGroup={}\nbrokerSuspendMaxTimeMillis={}\n\
         brokerPermission={}\nstorePathRootDir={}\nflushDiskType={:?}\nmaxMessageSize={}\nmappedFileSizeCommitLog={}\n\
         fileReservedTime={}\ndeleteWhen={}\ndiskMaxUsedSpaceRatio={}\n",
        c.broker_cluster_name,
        c.broker_name,
        c.broker_id,
        c.namesrv_addr,
        c.broker_ip1,
        c.listen_port,
        c.broker_role,
        c.auto_create_topic_enable,
        c.default_topic_queue_nums,
        c.auto_create_subscription_group,
        c.broker_suspend_max_time_millis,
        c.broker_permission,
        s.store_path_root_dir.display(),
        s.flush_disk_type,
        s.max_message_size,
        s.mapped_file_size_commit_log,
        s.file_reserved_time,
        s.delete_when,
        s.disk_max_used_space_ratio,
    );
    // Values recorded by UPDATE_BROKER_CONFIG replace or join the started ones.
    let mut lines: BTreeMap<String, String> = crate::protocol::body::kv::parse_properties(&text)
        .into_iter()
        .collect();
    if let Ok(overrides) = cx.config_overrides.lock() {
        lines.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let text: String = lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let boot = crate::clock::now_millis() - cx.started.elapsed().as_millis() as i64;
    let version = format!("{{\"counter\":0,\"stateVersion\":0,\"timestamp\":{boot}}}");
    let mut resp = RemotingCommand::success().with_body(text.into_bytes());
    resp.put_ext("version", version);
    Ok(resp)
}

/// GET_ALL_DELAY_OFFSET (45): the ScheduleService's progress, as delayOffset.json holds it.
pub(super) async fn get_all_delay_offset(
    cx: Arc<BrokerContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let table = cx
        .schedule
        .ask(crate::actors::broker::features::schedule::DelayOffsets)
        .await?;
    let body = crate::protocol::body::broker::DelayOffsetWrapper {
        offset_table: table,
        ..Default::default()
    }
    .encode();
    Ok(RemotingCommand::success().with_body(body))
}
