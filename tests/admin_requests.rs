//! The admin request codes RocketMQ's tools, dashboard and exporter send, against a real
//! broker: answers, bodies and refusals as RocketMQ 4.9.8 gives them. A fake consumer (a
//! remoting client that heartbeats and answers what the broker forwards) stands in for a
//! Java client where the broker talks to consumers.

mod common;

use std::sync::{Arc, Mutex};

use common::broker::*;
use common::TIMEOUT;
use ferrocket::protocol::body::broker::{
    BrokerStatsData, GroupList, ProducerConnection, ResetOffsetBody,
};
use ferrocket::protocol::body::fastjson::{from_json, to_json};
use ferrocket::protocol::body::kv::KvTable;
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::{ClientConfig, RemotingClient, ServerRequestHandler};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

/// Records what the broker sends and answers GET_CONSUMER_RUNNING_INFO and
/// CONSUME_MESSAGE_DIRECTLY with recognisable bodies.
struct FakeConsumer {
    seen: Seen,
}

type Seen = Arc<Mutex<Vec<RemotingCommand>>>;

/// A remoting client whose server requests the fake consumer answers, and what it saw.
fn fake_consumer() -> (RemotingClient, Seen) {
    let seen = Seen::default();
    let handler = Arc::new(FakeConsumer { seen: seen.clone() });
    (
        RemotingClient::new(ClientConfig::default(), Some(handler)),
        seen,
    )
}

impl ServerRequestHandler for FakeConsumer {
    fn handle(&self, req: RemotingCommand, _: &str) -> BoxFuture<'static, Option<RemotingCommand>> {
        self.seen.lock().unwrap().push(req.clone());
        let answer =
            match req.code {
                request::GET_CONSUMER_RUNNING_INFO => {
                    Some(RemotingCommand::success().with_body(&b"{\"running\":true}"[..]))
                }
                request::CONSUME_MESSAGE_DIRECTLY => Some(RemotingCommand::success().with_body(
                    format!("consumed {}", req.ext("msgId").unwrap_or("?")).into_bytes(),
                )),
                _ => None,
            };
        futures_util::future::ready(answer).boxed()
    }
}

async fn send_n(b: &TestBroker, topic: &str, n: usize) {
    for i in 0..n {
        let r = b
            .call(send_v2(
                topic,
                0,
                format!("m{i}").as_bytes(),
                "TagA",
                &format!("k{i}"),
                &format!("u-{topic}-{i}"),
            ))
            .await;
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }
    assert!(b.broker.store.wait_dispatched(TIMEOUT).await);
}

fn commit(group: &str, topic: &str, queue: i32, offset: i64) -> RemotingCommand {
    cmd(
        request::UPDATE_CONSUMER_OFFSET,
        &[
            ("consumerGroup", group),
            ("topic", topic),
            ("queueId", &queue.to_string()),
            ("commitOffset", &offset.to_string()),
        ],
    )
}

#[actix_rt::test]
async fn system_topics_cannot_be_created_updated_or_deleted() {
    let b = start_broker().await;
    for topic in [
        "SCHEDULE_TOPIC_XXXX",
        "TBW102",
        "RMQ_SYS_TRACE_TOPIC",
        "rmq_sys_wheel_timer",
    ] {
        let del = b
            .call(cmd(request::DELETE_TOPIC_IN_BROKER, &[("topic", topic)]))
            .await;
        assert_eq!(del.code, response::SYSTEM_ERROR, "{topic}");
        assert_eq!(
            del.remark.as_deref(),
            Some(format!("The topic[{topic}] is conflict with system topic.").as_str())
        );
        let create = b.call(create_topic(topic, 4)).await;
        assert_eq!(create.code, response::SYSTEM_ERROR, "{topic}");
    }
    assert!(
        b.broker.context.topics.get("SCHEDULE_TOPIC_XXXX").is_some(),
        "still there"
    );
    let bad = b.call(create_topic("bad topic", 4)).await;
    assert_eq!(bad.code, response::SYSTEM_ERROR);
}

#[actix_rt::test]
async fn producers_and_topic_consumers_are_listed() {
    let b = start_broker().await;
    b.call(create_topic("WhoT", 2)).await;
    let (client, _seen) = fake_consumer();
    let hb = client
        .invoke(
            &b.addr,
            heartbeat("127.0.0.1@fake", Some("LiveG"), Some("ProdG"), "WhoT"),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(hb.code, response::SUCCESS);
    b.call(commit("OfflineG", "WhoT", 0, 0)).await;

    let who = b
        .call(cmd(
            request::QUERY_TOPIC_CONSUME_BY_WHO,
            &[("topic", "WhoT")],
        ))
        .await;
    assert_eq!(who.code, response::SUCCESS);
    let groups: GroupList = from_json(&who.body).unwrap();
    assert_eq!(
        groups.group_list,
        vec!["LiveG".to_owned(), "OfflineG".to_owned()]
    );

    let pc = b
        .call(cmd(
            request::GET_PRODUCER_CONNECTION_LIST,
            &[("producerGroup", "ProdG")],
        ))
        .await;
    assert_eq!(pc.code, response::SUCCESS);
    let pc: ProducerConnection = from_json(&pc.body).unwrap();
    assert_eq!(pc.connection_set.len(), 1);
    assert_eq!(pc.connection_set[0].client_id, "127.0.0.1@fake");
    assert_eq!(pc.connection_set[0].language, "RUST");
    let missing = b
        .call(cmd(
            request::GET_PRODUCER_CONNECTION_LIST,
            &[("producerGroup", "Nobody")],
        ))
        .await;
    assert_eq!(missing.code, response::SYSTEM_ERROR);
    assert_eq!(
        missing.remark.as_deref(),
        Some("the producer group[Nobody] not exist")
    );

    let all = b.call(cmd(request::GET_ALL_PRODUCER_INFO, &[])).await;
    assert_eq!(all.code, response::SUCCESS);
    let all: serde_json::Value = serde_json::from_slice(&all.body).unwrap();
    assert_eq!(all["data"]["ProdG"][0]["clientId"], "127.0.0.1@fake");
    assert!(
        all["data"]["ProdG"][0]["lastUpdateTimestamp"]
            .as_i64()
            .unwrap()
            > 0
    );
}

#[actix_rt::test]
async fn reset_offset_pushes_to_live_consumers_or_says_they_are_offline() {
    let b = start_broker().await;
    b.call(create_topic("ResetT", 1)).await;
    send_n(&b, "ResetT", 5).await;
    b.call(commit("ResetG", "ResetT", 0, 2)).await;
    let reset = |ts: &str, force: &str| {
        cmd(
            request::INVOKE_BROKER_TO_RESET_OFFSET,
            &[
                ("group", "ResetG"),
                ("topic", "ResetT"),
                ("timestamp", ts),
                ("isForce", force),
            ],
        )
    };
    let offline = b.call(reset("-1", "true")).await;
    assert_eq!(offline.code, response::CONSUMER_NOT_ONLINE);
    assert!(offline
        .remark
        .unwrap()
        .starts_with("Consumer not online, so can not reset offset, Group: ResetG Topic: ResetT"));

    let (client, fake) = fake_consumer();
    client
        .invoke(
            &b.addr,
            heartbeat("127.0.0.1@resetter", Some("ResetG"), None, "ResetT"),
            TIMEOUT,
        )
        .await
        .unwrap();
    // To the end of the queue: offset 5, pushed to the consumer and committed.
    let live = b.call(reset("-1", "true")).await;
    assert_eq!(live.code, response::SUCCESS, "{:?}", live.remark);
    let table = ResetOffsetBody::decode(&live.body).unwrap().offset_table;
    assert_eq!(table.values().copied().collect::<Vec<_>>(), vec![5]);
    let pushed = wait_until(TIMEOUT, || {
        let fake = fake.clone();
        async move {
            fake.lock()
                .unwrap()
                .iter()
                .any(|c| c.code == request::RESET_CONSUMER_CLIENT_OFFSET)
        }
    })
    .await;
    assert!(pushed, "RESET_CONSUMER_CLIENT_OFFSET reaches the consumer");
    let push = fake
        .lock()
        .unwrap()
        .iter()
        .find(|c| c.code == request::RESET_CONSUMER_CLIENT_OFFSET)
        .cloned()
        .unwrap();
    assert_eq!(push.ext("group"), Some("ResetG"));
    assert_eq!(
        ResetOffsetBody::decode(&push.body)
            .unwrap()
            .offset_table
            .values()
            .next(),
        Some(&5)
    );
    assert_eq!(
        b.broker.context.offsets.query("ResetG", "ResetT", 0),
        Some(5)
    );
    // Back to the start without force: offset 0 < 5, so it applies.
    let back = b.call(reset("0", "false")).await;
    assert_eq!(
        ResetOffsetBody::decode(&back.body)
            .unwrap()
            .offset_table
            .values()
            .next(),
        Some(&0)
    );

    let unknown = b
        .call(cmd(
            request::INVOKE_BROKER_TO_RESET_OFFSET,
            &[
                ("group", "ResetG"),
                ("topic", "NoSuchTopic"),
                ("timestamp", "0"),
            ],
        ))
        .await;
    assert_eq!(unknown.code, response::SYSTEM_ERROR);
    assert!(unknown.remark.unwrap().contains("no topic in this broker"));
}

#[actix_rt::test]
async fn running_info_and_direct_consume_are_forwarded_to_the_consumer() {
    let b = start_broker().await;
    b.call(create_topic("FwdT", 1)).await;
    let (client, fake) = fake_consumer();
    client
        .invoke(
            &b.addr,
            heartbeat("127.0.0.1@fwd", Some("FwdG"), None, "FwdT"),
            TIMEOUT,
        )
        .await
        .unwrap();
    let info = b
        .call(cmd(
            request::GET_CONSUMER_RUNNING_INFO,
            &[
                ("consumerGroup", "FwdG"),
                ("clientId", "127.0.0.1@fwd"),
                ("jstackEnable", "false"),
            ],
        ))
        .await;
    assert_eq!(info.code, response::SUCCESS);
    assert_eq!(&info.body[..], b"{\"running\":true}");
    let forwarded = fake
        .lock()
        .unwrap()
        .iter()
        .find(|c| c.code == request::GET_CONSUMER_RUNNING_INFO)
        .cloned()
        .unwrap();
    assert_eq!(forwarded.ext("clientId"), Some("127.0.0.1@fwd"));

    let direct = b
        .call(cmd(
            request::CONSUME_MESSAGE_DIRECTLY,
            &[
                ("consumerGroup", "FwdG"),
                ("clientId", "127.0.0.1@fwd"),
                ("msgId", "ABC"),
            ],
        ))
        .await;
    assert_eq!(direct.code, response::SUCCESS);
    assert_eq!(&direct.body[..], b"consumed ABC");

    // As Java's broker does, the consumer gets the stored message the id names as the body,
    // and the broker's name.
    let sent = b
        .call(send_v2("FwdT", 0, b"direct body", "TagD", "kd", "u-direct"))
        .await;
    assert_eq!(sent.code, response::SUCCESS);
    let id = sent.ext("msgId").unwrap().to_owned();
    let direct = b
        .call(cmd(
            request::CONSUME_MESSAGE_DIRECTLY,
            &[
                ("consumerGroup", "FwdG"),
                ("clientId", "127.0.0.1@fwd"),
                ("msgId", &id),
            ],
        ))
        .await;
    assert_eq!(direct.code, response::SUCCESS);
    let forwarded = fake
        .lock()
        .unwrap()
        .iter()
        .rfind(|c| c.code == request::CONSUME_MESSAGE_DIRECTLY)
        .cloned()
        .unwrap();
    assert_eq!(forwarded.ext("brokerName"), Some("broker-a"));
    let m = ferrocket::protocol::message::decode_record(&forwarded.body).expect("a stored record");
    assert_eq!(&m.body[..], b"direct body");
    assert_eq!(m.msg_id(), id);

    let gone = b
        .call(cmd(
            request::GET_CONSUMER_RUNNING_INFO,
            &[("consumerGroup", "FwdG"), ("clientId", "nobody")],
        ))
        .await;
    assert_eq!(gone.code, response::SYSTEM_ERROR);
    assert_eq!(
        gone.remark.as_deref(),
        Some("The Consumer <FwdG> <nobody> not online")
    );
}

#[actix_rt::test]
async fn broker_config_updates_refuse_the_black_list() {
    let b = start_broker().await;
    let update = |body: &str| {
        RemotingCommand::request(request::UPDATE_BROKER_CONFIG).with_body(body.as_bytes().to_vec())
    };
    for key in ["brokerConfigPath", "configBlackList", "storePathRootDir"] {
        let r = b.call(update(&format!("{key}=/tmp/evil\n"))).await;
        assert_eq!(r.code, response::NO_PERMISSION, "{key}");
        assert_eq!(
            r.remark.as_deref(),
            Some("Can not update config in black list.")
        );
    }
    let ok = b.call(update("waitTimeMillsInSendQueue=300\n")).await;
    assert_eq!(ok.code, response::SUCCESS);
    let config = b.call(cmd(request::GET_BROKER_CONFIG, &[])).await;
    let text = String::from_utf8(config.body.to_vec()).unwrap();
    assert!(text.contains("waitTimeMillsInSendQueue=300\n"), "{text}");
    assert!(text.contains("brokerName=broker-a\n"), "{text}");
    assert!(!text.contains("/tmp/evil"));
}

#[actix_rt::test]
async fn statistics_runtime_info_and_consume_stats_follow_traffic() {
    let b = start_broker().await;
    b.call(create_topic("StatT", 2)).await;
    send_n(&b, "StatT", 6).await;
    let pulled = b
        .call(pull(
            "StatG",
            "StatT",
            0,
            0,
            FLAG_SUBSCRIPTION,
            0,
            Some("*"),
        ))
        .await;
    assert_eq!(pulled.code, response::SUCCESS);
    b.call(commit("StatG", "StatT", 0, 6)).await;
    b.call(commit("StatG", "StatT", 1, 0)).await;

    let view = |name: &str, key: &str| {
        cmd(
            request::VIEW_BROKER_STATS_DATA,
            &[("statsName", name), ("statsKey", key)],
        )
    };
    let put = b.call(view("TOPIC_PUT_NUMS", "StatT")).await;
    assert_eq!(put.code, response::SUCCESS);
    let put: BrokerStatsData = from_json(&put.body).unwrap();
    assert_eq!(put.stats_minute.sum, 6);
    assert_eq!(put.stats_day.sum, 6);
    let get: BrokerStatsData =
        from_json(&b.call(view("GROUP_GET_NUMS", "StatT@StatG")).await.body).unwrap();
    assert_eq!(get.stats_hour.sum, 6);
    let cluster: BrokerStatsData =
        from_json(&b.call(view("BROKER_PUT_NUMS", "DefaultCluster")).await.body).unwrap();
    assert_eq!(cluster.stats_minute.sum, 6);
    let missing = b.call(view("TOPIC_PUT_NUMS", "Nope")).await;
    assert_eq!(missing.code, response::SYSTEM_ERROR);
    assert_eq!(
        missing.remark.as_deref(),
        Some("The stats <TOPIC_PUT_NUMS> <Nope> not exist")
    );

    let rt = b.call(cmd(request::GET_BROKER_RUNTIME_INFO, &[])).await;
    let kv: KvTable = from_json(&rt.body).unwrap();
    for key in [
        "putTps",
        "getTransferedTps",
        "getFoundTps",
        "commitLogDiskRatio",
        "dispatchBehindBytes",
        "putMessageDistributeTime",
        "msgPutTotalTodayNow",
        "earliestMessageTimeStamp",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "brokerVersionDesc",
    ] {
        assert!(kv.table.contains_key(key), "{key}");
    }
    assert_eq!(kv.table["msgPutTotalTodayNow"], "6");
    assert!(kv.table["putMessageDistributeTime"].starts_with("[<=0ms]:"));
    let tps: f64 = kv.table["putTps"]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(tps > 0.0);
    assert!(kv.table["earliestMessageTimeStamp"].parse::<i64>().unwrap() > 0);

    let all = b
        .call(cmd(
            request::GET_BROKER_CONSUME_STATS,
            &[("isOrder", "false")],
        ))
        .await;
    assert_eq!(all.code, response::SUCCESS);
    let text = String::from_utf8(all.body.to_vec()).unwrap();
    assert!(
        text.contains("\"totalDiff\":0"),
        "queue 1 has nothing, queue 0 is caught up: {text}"
    );
    assert!(text.contains("\"StatG\":[{\"consumeTps\""), "{text}");
    b.call(commit("StatG", "StatT", 0, 2)).await;
    let all = b
        .call(cmd(
            request::GET_BROKER_CONSUME_STATS,
            &[("isOrder", "false")],
        ))
        .await;
    assert!(String::from_utf8(all.body.to_vec())
        .unwrap()
        .contains("\"totalDiff\":4"));

    let cq = b
        .call(cmd(
            request::QUERY_CONSUME_QUEUE,
            &[
                ("topic", "StatT"),
                ("queueId", "0"),
                ("index", "1"),
                ("count", "3"),
                ("consumerGroup", "StatG"),
            ],
        ))
        .await;
    assert_eq!(cq.code, response::SUCCESS, "{:?}", cq.remark);
    let body: serde_json::Value = serde_json::from_slice(&cq.body).unwrap();
    assert_eq!(body["maxQueueIndex"], 6);
    assert_eq!(body["queueData"].as_array().unwrap().len(), 3);
    assert!(body["queueData"][0]["physicOffset"].as_i64().unwrap() > 0);
    assert_eq!(body["filterData"], "StatG@StatT is not online!");
    let past = b
        .call(cmd(
            request::QUERY_CONSUME_QUEUE,
            &[
                ("topic", "StatT"),
                ("queueId", "0"),
                ("index", "60"),
                ("count", "3"),
            ],
        ))
        .await;
    assert_eq!(past.code, response::SYSTEM_ERROR);
}

#[actix_rt::test]
async fn deleting_a_subscription_group_removes_it_and_optionally_its_offsets() {
    let b = start_broker_with(|c| c.vip_channel_enabled = true).await;
    b.call(create_topic("DelT", 1)).await;
    let group = ferrocket::protocol::body::broker::SubscriptionGroupConfig::new("DelG");
    let put = RemotingCommand::request(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(to_json(&group));
    assert_eq!(b.call(put).await.code, response::SUCCESS);
    b.call(commit("DelG", "DelT", 0, 3)).await;
    let keep = b
        .call(cmd(
            request::DELETE_SUBSCRIPTIONGROUP,
            &[("groupName", "DelG")],
        ))
        .await;
    assert_eq!(keep.code, response::SUCCESS);
    assert!(b.broker.context.groups.get("DelG").is_none());
    assert_eq!(b.broker.context.offsets.query("DelG", "DelT", 0), Some(3));
    let clean = b
        .call(cmd(
            request::DELETE_SUBSCRIPTIONGROUP,
            &[("groupName", "DelG"), ("removeOffset", "true")],
        ))
        .await;
    assert_eq!(clean.code, response::SUCCESS);
    assert_eq!(b.broker.context.offsets.query("DelG", "DelT", 0), None);
    // The VIP port answers the same requests.
    let vip = b.broker.vip_addr().expect("the VIP port is bound");
    let r = b
        .client
        .invoke(
            &vip.to_string(),
            cmd(request::QUERY_TOPIC_CONSUME_BY_WHO, &[("topic", "DelT")]),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
}

/// Every broker-side request code of issue 17's list (and those mqadmin's core commands
/// send) is answered on the client port, and the VIP port (listenPort − 2, the dashboard's
/// default) answers it the same way.
#[actix_rt::test]
async fn every_admin_code_is_answered_alike_on_the_vip_port() {
    let b = start_broker_with(|c| c.vip_channel_enabled = true).await;
    b.call(create_topic("VipT", 2)).await;
    send_n(&b, "VipT", 2).await;
    let id = {
        let r = b.call(send_v2("VipT", 0, b"v", "T", "vk", "u-vip")).await;
        r.ext("msgId").unwrap().to_owned()
    };
    assert!(b.broker.store.wait_dispatched(TIMEOUT).await);
    b.call(commit("VipG", "VipT", 0, 1)).await;
    let vip = b
        .broker
        .vip_addr()
        .expect("the VIP port is bound")
        .to_string();
    // One superset of header fields: each request reads the ones it has.
    let fields: Vec<(&str, String)> = vec![
        ("topic", "VipT".into()),
        ("consumerGroup", "VipG".into()),
        ("group", "VipG".into()),
        ("groupName", "VipG".into()),
        ("producerGroup", "VipP".into()),
        ("clientId", "127.0.0.1@nobody".into()),
        ("msgId", id.clone()),
        ("offset", "0".into()),
        ("queueId", "0".into()),
        ("index", "0".into()),
        ("count", "1".into()),
        ("timestamp", "0".into()),
        ("isForce", "true".into()),
        ("isOrder", "false".into()),
        ("timeoutMillis", "3000".into()),
        ("jstackEnable", "false".into()),
        ("statsName", "TOPIC_PUT_NUMS".into()),
        ("statsKey", "VipT".into()),
        ("key", "vk".into()),
        ("maxNum", "32".into()),
        ("beginTimestamp", "0".into()),
        ("endTimestamp", i64::MAX.to_string()),
    ];
    let codes = [
        request::VIEW_BROKER_STATS_DATA,
        request::GET_BROKER_RUNTIME_INFO,
        request::QUERY_TOPIC_CONSUME_BY_WHO,
        request::GET_CONSUMER_RUNNING_INFO,
        request::CONSUME_MESSAGE_DIRECTLY,
        request::INVOKE_BROKER_TO_RESET_OFFSET,
        request::GET_PRODUCER_CONNECTION_LIST,
        request::GET_ALL_PRODUCER_INFO,
        request::GET_BROKER_CONSUME_STATS,
        request::UPDATE_BROKER_CONFIG,
        request::DELETE_SUBSCRIPTIONGROUP,
        request::QUERY_CONSUME_QUEUE,
        request::GET_ALL_TOPIC_CONFIG,
        request::GET_BROKER_CONFIG,
        request::GET_TOPIC_STATS_INFO,
        request::GET_CONSUME_STATS,
        request::GET_CONSUMER_CONNECTION_LIST,
        request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        request::VIEW_MESSAGE_BY_ID,
        request::QUERY_MESSAGE,
        request::SEARCH_OFFSET_BY_TIMESTAMP,
        request::GET_MAX_OFFSET,
        request::GET_MIN_OFFSET,
        request::QUERY_CONSUMER_OFFSET,
        request::GET_ALL_CONSUMER_OFFSET,
        request::GET_ALL_DELAY_OFFSET,
    ];
    for code in codes {
        let make = || {
            let mut c = RemotingCommand::request(code);
            for (k, v) in &fields {
                c.put_ext(*k, v.clone());
            }
            if code == request::UPDATE_BROKER_CONFIG {
                c = c.with_body(&b"fileReservedTime=72\n"[..]);
            }
            c
        };
        let main = b.call(make()).await;
        let on_vip = b.client.invoke(&vip, make(), TIMEOUT).await.unwrap();
        let name = ferrocket::protocol::code::request_name(code).unwrap();
        assert_ne!(
            main.code,
            response::REQUEST_CODE_NOT_SUPPORTED,
            "{name} is not answered"
        );
        assert_eq!(
            (main.code, main.remark.as_deref()),
            (on_vip.code, on_vip.remark.as_deref()),
            "{name} answered differently on the VIP port"
        );
    }
}

/// GET_NAMESRV_CONFIG (319) and UPDATE_NAMESRV_CONFIG (318) as 4.9.8's
/// DefaultRequestProcessor answers them: a properties body, the black list refused with
/// NO_PERMISSION, and nothing applied when one key of the update is refused.
#[actix_rt::test]
async fn namesrv_config_requests_answer_as_java_and_refuse_the_black_list() {
    let b = start_broker().await;
    let before = namesrv_config(&b).await;
    assert!(
        before.lines().any(|l| l == "orderMessageEnable=false"),
        "{before}"
    );
    assert!(
        before.lines().any(|l| l.starts_with("kvConfigPath=")),
        "{before}"
    );

    let refused =
        update_namesrv_config(&b, "orderMessageEnable=true\nconfigStorePath=/tmp/evil\n").await;
    assert_eq!(refused.code, response::NO_PERMISSION);
    assert_eq!(
        refused.remark.as_deref(),
        Some("Can not update config in black list.")
    );
    assert_eq!(
        namesrv_config(&b).await,
        before,
        "nothing of a refused update is applied"
    );

    let done = update_namesrv_config(&b, "orderMessageEnable = true\nnoSuchKey=1\n").await;
    assert_eq!(
        (done.code, done.remark.as_deref()),
        (response::SUCCESS, None)
    );
    assert!(namesrv_config(&b)
        .await
        .lines()
        .any(|l| l == "orderMessageEnable=true"));
    // An empty body changes nothing and succeeds, as in Java.
    assert_eq!(update_namesrv_config(&b, "").await.code, response::SUCCESS);
}

async fn namesrv_config(b: &TestBroker) -> String {
    let r = b
        .client
        .invoke(
            &b.ns.addr,
            RemotingCommand::request(request::GET_NAMESRV_CONFIG),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    String::from_utf8(r.body.to_vec()).unwrap()
}

async fn update_namesrv_config(b: &TestBroker, body: &'static str) -> RemotingCommand {
    b.client
        .invoke(
            &b.ns.addr,
            RemotingCommand::request(request::UPDATE_NAMESRV_CONFIG).with_body(body.as_bytes()),
            TIMEOUT,
        )
        .await
        .unwrap()
}
