//! A name server and a broker in this process on ephemeral loopback ports, with their files
//! in a temp dir, and raw request builders that set ext fields the way clients do.
#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use ferrocket::actors::broker::{Broker, BrokerBuilder, BrokerConfig};
use ferrocket::protocol::body::fastjson::to_json;
use ferrocket::protocol::body::heartbeat::{
    ConsumerData, HeartbeatData, ProducerData, SubscriptionData,
};
use ferrocket::protocol::code::request;
use ferrocket::protocol::message::{decode_record, StoredMessage};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;
use ferrocket::store::config::StoreConfig;

use super::{start_namesrv, TestNamesrv, TIMEOUT};

pub struct TestBroker {
    pub ns: TestNamesrv,
    pub broker: Broker,
    pub addr: String,
    pub dir: tempfile::TempDir,
    pub client: RemotingClient,
}

pub fn broker_config(dir: &std::path::Path, namesrv: &str) -> BrokerConfig {
    BrokerConfig {
        namesrv_addr: namesrv.to_owned(),
        broker_ip1: "127.0.0.1".parse().unwrap(),
        listen_ip: "127.0.0.1".parse().unwrap(),
        listen_port: 0,
        metrics_addr: None,
        register_name_server_period: 1_000,
        store: StoreConfig {
            store_path_root_dir: dir.join("store"),
            // The host's own disk use must not refuse a test's writes (tests/disk_full.rs tests that).
            disk_full_ratio: 100,
            mapped_file_size_commit_log: 1 << 20,
            mapped_file_size_consume_queue: 20 * 1000,
            max_message_size: 64 * 1024,
            max_hash_slot_num: 1024,
            max_index_num: 4096,
            ..Default::default()
        },
        ..Default::default()
    }
}

pub async fn start_broker_with(tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
    start_broker_built(tweak, |b| b).await
}

/// A test broker whose builder `build` may add to (plug-ins).
pub async fn start_broker_built(
    tweak: impl FnOnce(&mut BrokerConfig),
    build: impl FnOnce(BrokerBuilder) -> BrokerBuilder,
) -> TestBroker {
    let ns = start_namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker_config(dir.path(), &ns.addr);
    tweak(&mut config);
    let broker = build(BrokerBuilder::new(config)).start().await.unwrap();
    broker.store.override_disk_usage(Some(10));
    let addr = broker.local_addr().to_string();
    TestBroker {
        ns,
        broker,
        addr,
        dir,
        client: RemotingClient::default(),
    }
}

pub async fn start_broker() -> TestBroker {
    start_broker_with(|_| {}).await
}

impl TestBroker {
    pub async fn call(&self, cmd: RemotingCommand) -> RemotingCommand {
        self.client
            .invoke(&self.addr, cmd, TIMEOUT)
            .await
            .expect("broker request failed")
    }
}

pub fn cmd(code: i32, ext: &[(&str, &str)]) -> RemotingCommand {
    let mut c = RemotingCommand::request(code);
    for (k, v) in ext {
        c.put_ext(*k, *v);
    }
    c
}

pub fn create_topic(topic: &str, queues: i32) -> RemotingCommand {
    let q = queues.to_string();
    cmd(
        request::UPDATE_AND_CREATE_TOPIC,
        &[
            ("topic", topic),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", &q),
            ("writeQueueNums", &q),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("topicSysFlag", "0"),
            ("order", "false"),
        ],
    )
}

/// SEND_MESSAGE_V2 as the Java client writes it.
pub fn send_v2(
    topic: &str,
    queue_id: i32,
    body: &[u8],
    tags: &str,
    keys: &str,
    uniq: &str,
) -> RemotingCommand {
    let props = format!(
        "TAGS\u{1}{tags}\u{2}KEYS\u{1}{keys}\u{2}UNIQ_KEY\u{1}{uniq}\u{2}WAIT\u{1}true\u{2}"
    );
    let q = queue_id.to_string();
    let mut c = cmd(
        request::SEND_MESSAGE_V2,
        &[
            ("a", "PG"),
            ("b", topic),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", &q),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", &props),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
        ],
    );
    c.body = Bytes::copy_from_slice(body);
    c
}

pub fn pull(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    sys_flag: i32,
    suspend_ms: i64,
    subscription: Option<&str>,
) -> RemotingCommand {
    let (q, o, f, s) = (
        queue_id.to_string(),
        offset.to_string(),
        sys_flag.to_string(),
        suspend_ms.to_string(),
    );
    let mut ext = vec![
        ("consumerGroup", group),
        ("topic", topic),
        ("queueId", &q),
        ("queueOffset", &o),
        ("maxMsgNums", "32"),
        ("sysFlag", &f),
        ("commitOffset", "0"),
        ("suspendTimeoutMillis", &s),
        ("subVersion", "0"),
    ];
    if let Some(sub) = subscription {
        ext.push(("subscription", sub));
        ext.push(("expressionType", "TAG"));
    }
    cmd(request::PULL_MESSAGE, &ext)
}

/// Splits a PULL / QUERY body into stored records.
pub fn records(body: &[u8]) -> Vec<StoredMessage> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 4 <= body.len() {
        let size =
            i32::from_be_bytes([body[pos], body[pos + 1], body[pos + 2], body[pos + 3]]) as usize;
        out.push(decode_record(&body[pos..pos + size]).expect("a whole record"));
        pos += size;
    }
    out
}

pub const FLAG_COMMIT: i32 = 0x1;
pub const FLAG_SUSPEND: i32 = 0x2;
pub const FLAG_SUBSCRIPTION: i32 = 0x4;

pub async fn wait_until<F, Fut>(limit: Duration, probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    super::eventually(limit, probe).await
}

/// A broker process's commit-log end, from GET_BROKER_RUNTIME_INFO.
pub async fn commit_log_max_offset(client: &RemotingClient, addr: &str) -> i64 {
    let r = client
        .invoke(
            addr,
            RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&r.body).into_owned();
    let at = text
        .find("\"commitLogMaxOffset\":\"")
        .expect("commitLogMaxOffset")
        + 22;
    text[at..].split('"').next().unwrap().parse().unwrap()
}

/// A HEART_BEAT as a Java client sends it: `client_id` in consumer group `group` (subscribed
/// to all of `topic`) and/or producer group `producer`.
pub fn heartbeat(
    client_id: &str,
    group: Option<&str>,
    producer: Option<&str>,
    topic: &str,
) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.to_owned(),
        consumer_data_set: group
            .map(|g| ConsumerData {
                group_name: g.to_owned(),
                consume_type: "CONSUME_PASSIVELY".into(),
                message_model: "CLUSTERING".into(),
                consume_from_where: "CONSUME_FROM_FIRST_OFFSET".into(),
                subscription_data_set: vec![SubscriptionData {
                    topic: topic.to_owned(),
                    sub_string: "*".into(),
                    ..Default::default()
                }],
                unit_mode: false,
            })
            .into_iter()
            .collect(),
        producer_data_set: producer
            .map(|g| ProducerData {
                group_name: g.to_owned(),
            })
            .into_iter()
            .collect(),
        ..Default::default()
    };
    RemotingCommand::request(request::HEART_BEAT).with_body(to_json(&data))
}
