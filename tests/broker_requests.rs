//! Every broker request code over a real socket: sends (V1, V2, batch), pulls (filters,
//! statuses, long polling), offsets, queries, clients and groups, administration, and the
//! Registrar's view from the name server.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::broker::*;
use common::*;
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::message::{decode_offset_msg_id, encode_batch, property, BatchItem};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::ServerRequestHandler;
use ferrocket::remoting_client::{ClientConfig, RemotingClient};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

#[actix_rt::test]
async fn sends_of_every_kind_are_stored_and_pulled_back() {
    let b = start_broker().await;
    assert_eq!(b.call(create_topic("T", 4)).await.code, response::SUCCESS);

    let v2 = b.call(send_v2("T", 1, b"hello", "TagA", "k1", "U1")).await;
    assert_eq!(v2.code, response::SUCCESS, "{:?}", v2.remark);
    assert_eq!(
        (v2.ext("queueId"), v2.ext("queueOffset")),
        (Some("1"), Some("0"))
    );
    assert_eq!(v2.ext("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(v2.ext("TRACE_ON"), Some("true"));
    let (host, _) = decode_offset_msg_id(v2.ext("msgId").unwrap()).unwrap();
    assert_eq!(host, b.broker.broker_addr());

    let mut v1 = cmd(
        request::SEND_MESSAGE,
        &[
            ("producerGroup", "PG"),
            ("topic", "T"),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("queueId", "1"),
            ("sysFlag", "0"),
            ("bornTimestamp", "1700000000000"),
            ("flag", "7"),
            ("properties", "TAGS\u{1}TagB\u{2}"),
        ],
    );
    v1.body = Bytes::from_static(b"v1 body");
    let r = b.call(v1).await;
    assert_eq!(
        (r.code, r.ext("queueOffset")),
        (response::SUCCESS, Some("1"))
    );

    let batch = encode_batch(&[
        BatchItem {
            flag: 0,
            body: Bytes::from_static(b"b0"),
            properties: "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}B0\u{2}".into(),
        },
        BatchItem {
            flag: 0,
            body: Bytes::from_static(b"b1"),
            properties: "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}B1\u{2}".into(),
        },
    ]);
    let mut bc = send_v2("T", 1, b"", "", "", "");
    bc.code = request::SEND_BATCH_MESSAGE;
    bc.put_ext("i", "WAIT\u{1}true\u{2}");
    bc.put_ext("m", "true");
    bc.body = batch;
    let r = b.call(bc).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(
        r.ext("msgId").unwrap().split(',').count(),
        2,
        "each message of a batch has its own id"
    );

    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    let p = b
        .call(pull("G", "T", 1, 0, FLAG_SUBSCRIPTION, 0, Some("*")))
        .await;
    assert_eq!(p.code, response::SUCCESS, "{:?}", p.remark);
    assert_eq!(p.remark.as_deref(), Some("FOUND"));
    assert_eq!(
        (
            p.ext("nextBeginOffset"),
            p.ext("minOffset"),
            p.ext("maxOffset")
        ),
        (Some("4"), Some("0"), Some("4"))
    );
    assert_eq!(p.ext("suggestWhichBrokerId"), Some("0"));
    let msgs = records(&p.body);
    assert_eq!(msgs.len(), 4);
    assert_eq!(msgs[0].body.as_ref(), b"hello");
    assert_eq!(property(&msgs[0].properties, "UNIQ_KEY"), Some("U1"));
    assert_eq!(
        property(&msgs[0].properties, "CLUSTER"),
        Some("DefaultCluster")
    );
    assert_eq!(msgs[1].flag, 7);
    assert!(
        property(&msgs[1].properties, "UNIQ_KEY").is_some(),
        "the broker adds a missing UNIQ_KEY"
    );
    assert_eq!(property(&msgs[3].properties, "UNIQ_KEY"), Some("B1"));

    let tagged = b
        .call(pull("G", "T", 1, 0, FLAG_SUBSCRIPTION, 0, Some("TagB")))
        .await;
    assert_eq!(records(&tagged.body).len(), 1);
    let none = b
        .call(pull("G", "T", 1, 0, FLAG_SUBSCRIPTION, 0, Some("TagZ")))
        .await;
    assert_eq!(
        (none.code, none.ext("nextBeginOffset")),
        (response::PULL_RETRY_IMMEDIATELY, Some("4"))
    );
    let at_end = b
        .call(pull("G", "T", 1, 4, FLAG_SUBSCRIPTION, 0, Some("*")))
        .await;
    assert_eq!(
        (at_end.code, at_end.remark.as_deref()),
        (response::PULL_NOT_FOUND, Some("OFFSET_OVERFLOW_ONE"))
    );
    let past = b
        .call(pull("G", "T", 1, 9, FLAG_SUBSCRIPTION, 0, Some("*")))
        .await;
    assert_eq!(
        (past.code, past.ext("nextBeginOffset")),
        (response::PULL_OFFSET_MOVED, Some("4"))
    );
    let empty = b
        .call(pull("G", "T", 2, 0, FLAG_SUBSCRIPTION, 0, Some("*")))
        .await;
    assert_eq!(empty.code, response::PULL_NOT_FOUND);
    let empty_moved = b
        .call(pull("G", "T", 2, 3, FLAG_SUBSCRIPTION, 0, Some("*")))
        .await;
    assert_eq!(empty_moved.code, response::PULL_OFFSET_MOVED);
}

#[actix_rt::test]
async fn a_held_pull_is_answered_as_soon_as_a_message_arrives() {
    let b = start_broker().await;
    b.call(create_topic("LP", 1)).await;
    let started = Instant::now();
    let waiting = b.client.invoke(
        &b.addr,
        pull(
            "G",
            "LP",
            0,
            0,
            FLAG_SUBSCRIPTION | FLAG_SUSPEND,
            10_000,
            Some("*"),
        ),
        TIMEOUT * 3,
    );
    let sender = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.call(send_v2("LP", 0, b"late", "T", "k", "u")).await
    };
    let (pulled, sent) = tokio::join!(waiting, sender);
    assert_eq!(sent.code, response::SUCCESS);
    let pulled = pulled.unwrap();
    assert_eq!(pulled.code, response::SUCCESS, "{:?}", pulled.remark);
    assert_eq!(records(&pulled.body)[0].body.as_ref(), b"late");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "held for {took:?}"
    );
}

#[actix_rt::test]
async fn a_held_pull_times_out_with_pull_not_found() {
    let b = start_broker().await;
    b.call(create_topic("LP2", 1)).await;
    let started = Instant::now();
    let r = b
        .call(pull(
            "G",
            "LP2",
            0,
            0,
            FLAG_SUBSCRIPTION | FLAG_SUSPEND,
            600,
            Some("*"),
        ))
        .await;
    assert_eq!(r.code, response::PULL_NOT_FOUND);
    assert!(
        started.elapsed() >= Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
}

#[actix_rt::test]
async fn unknown_topics_are_created_from_tbw102_and_reach_the_name_server() {
    let b = start_broker().await;
    let r = b
        .call(send_v2("AutoCreated", -1, b"x", "T", "k", "u"))
        .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let all = b.call(cmd(request::GET_ALL_TOPIC_CONFIG, &[])).await;
    let text = String::from_utf8_lossy(&all.body).to_string();
    assert!(text.contains("\"AutoCreated\":{"), "{text}");
    assert!(text.contains("\"writeQueueNums\":4"));
    let ns_client = RemotingClient::default();
    let routed = wait_until(Duration::from_secs(5), || {
        let (c, addr) = (ns_client.clone(), b.ns.addr.clone());
        async move {
            c.invoke(&addr, route_request("AutoCreated", 409), TIMEOUT)
                .await
                .map(|r| r.code == 0)
                .unwrap_or(false)
        }
    })
    .await;
    assert!(routed, "the registrar re-registers after a topic change");
}

#[actix_rt::test]
async fn bad_sends_get_rocketmqs_codes() {
    let b = start_broker_with(|c| c.auto_create_topic_enable = false).await;
    assert_eq!(
        b.call(send_v2("bad topic", 0, b"x", "T", "k", "u"))
            .await
            .code,
        response::INVALID_PARAMETER
    );
    assert_eq!(
        b.call(send_v2("SCHEDULE_TOPIC_XXXX", 0, b"x", "T", "k", "u"))
            .await
            .code,
        response::NO_PERMISSION
    );
    let missing = b.call(send_v2("Missing", 0, b"x", "T", "k", "u")).await;
    assert_eq!(missing.code, response::TOPIC_NOT_EXIST);
    assert!(missing
        .remark
        .unwrap()
        .starts_with("topic[Missing] not exist, apply first please!"));
    b.call(create_topic("Small", 2)).await;
    assert_eq!(
        b.call(send_v2("Small", 5, b"x", "T", "k", "u")).await.code,
        response::INVALID_PARAMETER
    );
    let huge = vec![0u8; 70 * 1024];
    assert_eq!(
        b.call(send_v2("Small", 0, &huge, "T", "k", "u")).await.code,
        response::MESSAGE_ILLEGAL
    );
    let missing_field = cmd(request::SEND_MESSAGE_V2, &[("a", "PG")]);
    assert_eq!(
        b.call(missing_field).await.code,
        response::INVALID_PARAMETER
    );
}

#[actix_rt::test]
async fn consumer_offsets_and_queue_offsets_are_served() {
    let b = start_broker().await;
    b.call(create_topic("O", 1)).await;
    let before = ferrocket::clock::now_millis();
    for i in 0..5 {
        b.call(send_v2(
            "O",
            0,
            format!("m{i}").as_bytes(),
            "T",
            &format!("key{i}"),
            &format!("U{i}"),
        ))
        .await;
    }
    let q = |code, extra: &[(&str, &str)]| {
        let mut ext = vec![("consumerGroup", "G"), ("topic", "O"), ("queueId", "0")];
        ext.extend_from_slice(extra);
        cmd(code, &ext)
    };
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    let fresh = b.call(q(request::QUERY_CONSUMER_OFFSET, &[])).await;
    assert_eq!(
        (fresh.code, fresh.ext("offset")),
        (response::SUCCESS, Some("0")),
        "a new group starts at 0 on a queue that starts at 0"
    );
    let strict = b
        .call(q(
            request::QUERY_CONSUMER_OFFSET,
            &[("setZeroIfNotFound", "false")],
        ))
        .await;
    assert_eq!(strict.code, response::QUERY_NOT_FOUND);
    assert_eq!(
        b.call(q(request::UPDATE_CONSUMER_OFFSET, &[("commitOffset", "3")]))
            .await
            .code,
        response::SUCCESS
    );
    assert_eq!(
        b.call(q(request::QUERY_CONSUMER_OFFSET, &[]))
            .await
            .ext("offset"),
        Some("3")
    );
    // The commit-offset flag of a pull stores progress too.
    let mut p = pull(
        "G",
        "O",
        0,
        4,
        FLAG_SUBSCRIPTION | FLAG_COMMIT,
        0,
        Some("*"),
    );
    p.put_ext("commitOffset", "4");
    b.call(p).await;
    assert_eq!(
        b.call(q(request::QUERY_CONSUMER_OFFSET, &[]))
            .await
            .ext("offset"),
        Some("4")
    );

    let t = |code, extra: &[(&str, &str)]| {
        let mut ext = vec![("topic", "O"), ("queueId", "0")];
        ext.extend_from_slice(extra);
        cmd(code, &ext)
    };
    assert_eq!(
        b.call(t(request::GET_MAX_OFFSET, &[])).await.ext("offset"),
        Some("5")
    );
    assert_eq!(
        b.call(t(request::GET_MIN_OFFSET, &[])).await.ext("offset"),
        Some("0")
    );
    let earliest: i64 = b
        .call(t(request::GET_EARLIEST_MSG_STORETIME, &[]))
        .await
        .ext("timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert!(earliest >= before);
    let ts = before.to_string();
    assert_eq!(
        b.call(t(
            request::SEARCH_OFFSET_BY_TIMESTAMP,
            &[("timestamp", &ts)]
        ))
        .await
        .ext("offset"),
        Some("0")
    );
    assert_eq!(
        b.call(t(
            request::SEARCH_OFFSET_BY_TIMESTAMP,
            &[("timestamp", "99999999999999")]
        ))
        .await
        .ext("offset"),
        Some("5")
    );
}

#[actix_rt::test]
async fn messages_are_found_by_key_and_by_offset_message_id() {
    let b = start_broker().await;
    b.call(create_topic("Q", 2)).await;
    let sent = b
        .call(send_v2("Q", 1, b"findme", "T", "order-42", "UNIQ-1"))
        .await;
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    let query = |key: &str| {
        cmd(
            request::QUERY_MESSAGE,
            &[
                ("topic", "Q"),
                ("key", key),
                ("maxNum", "32"),
                ("beginTimestamp", "0"),
                ("endTimestamp", "99999999999999"),
            ],
        )
    };
    let r = b.call(query("order-42")).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(records(&r.body)[0].body.as_ref(), b"findme");
    assert!(r.ext("indexLastUpdatePhyoffset").is_some());
    assert_eq!(b.call(query("UNIQ-1")).await.code, response::SUCCESS);
    let miss = b.call(query("nope")).await;
    assert_eq!(
        (miss.code, miss.remark.as_deref()),
        (
            response::QUERY_NOT_FOUND,
            Some("can not find message, maybe time range not correct")
        )
    );

    let (_, offset) = decode_offset_msg_id(sent.ext("msgId").unwrap()).unwrap();
    let view = b
        .call(cmd(
            request::VIEW_MESSAGE_BY_ID,
            &[("offset", &offset.to_string())],
        ))
        .await;
    assert_eq!(records(&view.body)[0].body.as_ref(), b"findme");
    let bad = b
        .call(cmd(request::VIEW_MESSAGE_BY_ID, &[("offset", "999999")]))
        .await;
    assert_eq!(bad.code, response::SYSTEM_ERROR);
}

struct Notified(Arc<Mutex<Vec<i32>>>);

impl ServerRequestHandler for Notified {
    fn handle(&self, req: RemotingCommand, _: &str) -> BoxFuture<'static, Option<RemotingCommand>> {
        if let Ok(mut v) = self.0.lock() {
            v.push(req.code);
        }
        futures_util::future::ready(None).boxed()
    }
}

fn heartbeat(client_id: &str, group: &str, topic: &str, tags: &str) -> RemotingCommand {
    let body = format!(
        r#"{{"clientID":"{client_id}","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"{group}","messageModel":"CLUSTERING","subscriptionDataSet":[{{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"{tags}","subVersion":1,"tagsSet":["{tags}"],"topic":"{topic}"}}],"unitMode":false}}],"producerDataSet":[{{"groupName":"CLIENT_INNER_PRODUCER"}}]}}"#
    );
    let mut c = cmd(request::HEART_BEAT, &[]);
    c.body = Bytes::from(body);
    c
}

#[actix_rt::test]
async fn heartbeats_register_consumers_and_membership_changes_are_announced() {
    let b = start_broker().await;
    b.call(create_topic("H", 2)).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let first = RemotingClient::new(
        ClientConfig::default(),
        Some(Arc::new(Notified(seen.clone()))),
    );
    let r = first
        .invoke(&b.addr, heartbeat("10.0.0.1@1", "CG", "H", "TagA"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let list = b
        .call(cmd(
            request::GET_CONSUMER_LIST_BY_GROUP,
            &[("consumerGroup", "CG")],
        ))
        .await;
    assert_eq!(
        String::from_utf8_lossy(&list.body),
        r#"{"consumerIdList":["10.0.0.1@1"]}"#
    );
    let all = b.call(cmd(request::GET_ALL_TOPIC_CONFIG, &[])).await;
    assert!(
        String::from_utf8_lossy(&all.body).contains("%RETRY%CG"),
        "the retry topic is created on heartbeat"
    );

    let second = RemotingClient::default();
    second
        .invoke(&b.addr, heartbeat("10.0.0.2@2", "CG", "H", "TagA"), TIMEOUT)
        .await
        .unwrap();
    let notified = wait_until(Duration::from_secs(3), || {
        let seen = seen.clone();
        async move {
            seen.lock()
                .map(|v| v.contains(&request::NOTIFY_CONSUMER_IDS_CHANGED))
                .unwrap_or(false)
        }
    })
    .await;
    assert!(notified, "the first consumer hears that the group changed");
    let list = b
        .call(cmd(
            request::GET_CONSUMER_LIST_BY_GROUP,
            &[("consumerGroup", "CG")],
        ))
        .await;
    assert!(String::from_utf8_lossy(&list.body).contains("10.0.0.2@2"));

    // A pull without a subscription in the request uses the heartbeat's (TagA only).
    b.call(send_v2("H", 0, b"a", "TagA", "k", "u1")).await;
    b.call(send_v2("H", 0, b"b", "TagB", "k", "u2")).await;
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    let p = second
        .invoke(&b.addr, pull("CG", "H", 0, 0, 0, 0, None), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(records(&p.body).len(), 1);
    let unknown = b.call(pull("NoSuchGroup", "H", 0, 0, 0, 0, None)).await;
    assert_eq!(unknown.code, response::SUBSCRIPTION_NOT_EXIST);

    let un = cmd(
        request::UNREGISTER_CLIENT,
        &[("clientID", "10.0.0.2@2"), ("consumerGroup", "CG")],
    );
    assert_eq!(
        second.invoke(&b.addr, un, TIMEOUT).await.unwrap().code,
        response::SUCCESS
    );
    let list = b
        .call(cmd(
            request::GET_CONSUMER_LIST_BY_GROUP,
            &[("consumerGroup", "CG")],
        ))
        .await;
    assert!(!String::from_utf8_lossy(&list.body).contains("10.0.0.2@2"));
    let conns = b
        .call(cmd(
            request::GET_CONSUMER_CONNECTION_LIST,
            &[("consumerGroup", "CG")],
        ))
        .await;
    assert!(String::from_utf8_lossy(&conns.body).contains("\"clientId\":\"10.0.0.1@1\""));

    first.close_all();
    let gone = wait_until(Duration::from_secs(3), || async {
        b.call(cmd(
            request::GET_CONSUMER_LIST_BY_GROUP,
            &[("consumerGroup", "CG")],
        ))
        .await
        .code
            == response::SYSTEM_ERROR
    })
    .await;
    assert!(gone, "a closed connection leaves its groups");
}

#[actix_rt::test]
async fn administration_requests_answer() {
    let b = start_broker().await;
    b.call(create_topic("A", 2)).await;
    b.call(send_v2("A", 0, b"x", "T", "k", "u")).await;
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    let mut group = cmd(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, &[]);
    group.body =
        Bytes::from_static(br#"{"groupName":"AdminGroup","retryMaxTimes":3,"consumeEnable":true}"#);
    assert_eq!(b.call(group).await.code, response::SUCCESS);
    let groups = b
        .call(cmd(request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, &[]))
        .await;
    let text = String::from_utf8_lossy(&groups.body).to_string();
    assert!(
        text.contains("\"AdminGroup\"") && text.contains("\"retryMaxTimes\":3"),
        "{text}"
    );

    let runtime = b.call(cmd(request::GET_BROKER_RUNTIME_INFO, &[])).await;
    let text = String::from_utf8_lossy(&runtime.body).to_string();
    assert!(
        text.contains("\"brokerVersionDesc\"") && text.contains("\"msgPutTotalTodayNow\":\"1\""),
        "{text}"
    );

    let stats = b
        .call(cmd(request::GET_TOPIC_STATS_INFO, &[("topic", "A")]))
        .await;
    let text = String::from_utf8_lossy(&stats.body).to_string();
    assert!(
        text.contains(
            r#"{"brokerName":"broker-a","queueId":0,"topic":"A"}:{"lastUpdateTimestamp":"#
        ),
        "{text}"
    );
    assert!(text.contains("\"maxOffset\":1"));
    assert_eq!(
        b.call(cmd(request::GET_TOPIC_STATS_INFO, &[("topic", "Nope")]))
            .await
            .code,
        response::TOPIC_NOT_EXIST
    );

    b.call(cmd(
        request::UPDATE_CONSUMER_OFFSET,
        &[
            ("consumerGroup", "CS"),
            ("topic", "A"),
            ("queueId", "0"),
            ("commitOffset", "1"),
        ],
    ))
    .await;
    let consume = b
        .call(cmd(request::GET_CONSUME_STATS, &[("consumerGroup", "CS")]))
        .await;
    let text = String::from_utf8_lossy(&consume.body).to_string();
    assert!(
        text.contains("\"brokerOffset\":1") && text.contains("\"consumerOffset\":1"),
        "{text}"
    );

    let config = b.call(cmd(request::GET_BROKER_CONFIG, &[])).await;
    assert!(String::from_utf8_lossy(&config.body).contains("brokerName=broker-a"));
    assert!(config.ext("version").is_some());

    assert_eq!(
        b.call(cmd(request::DELETE_TOPIC_IN_BROKER, &[("topic", "A")]))
            .await
            .code,
        response::SUCCESS
    );
    let all = b.call(cmd(request::GET_ALL_TOPIC_CONFIG, &[])).await;
    assert!(!String::from_utf8_lossy(&all.body).contains("\"A\":{"));
    assert_eq!(
        b.call(cmd(9999, &[])).await.code,
        response::REQUEST_CODE_NOT_SUPPORTED
    );
}

#[actix_rt::test]
async fn the_broker_registers_serves_the_vip_port_and_unregisters_at_shutdown() {
    let b = start_broker().await;
    b.call(create_topic("R", 2)).await;
    let ns = RemotingClient::default();
    let registered = wait_until(Duration::from_secs(5), || {
        let (c, addr) = (ns.clone(), b.ns.addr.clone());
        async move {
            c.invoke(&addr, route_request("R", 409), TIMEOUT)
                .await
                .map(|r| r.code == 0)
                .unwrap_or(false)
        }
    })
    .await;
    assert!(registered);
    let vip = b.broker.vip_addr().unwrap().to_string();
    let r = b
        .client
        .invoke(&vip, send_v2("R", 0, b"vip", "T", "k", "u"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    b.broker.shutdown().await.unwrap();
    let gone = ns
        .invoke(&b.ns.addr, route_request("R", 409), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(gone.code, response::TOPIC_NOT_EXIST);
    assert!(
        !b.dir.path().join("store/abort").exists(),
        "a clean shutdown removes the abort marker"
    );
}

#[actix_rt::test]
async fn topics_messages_and_offsets_survive_a_broker_restart() {
    let ns = start_namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let config = broker_config(dir.path(), &ns.addr);
    let client = RemotingClient::default();
    {
        let broker = ferrocket::actors::broker::BrokerBuilder::new(config.clone())
            .start()
            .await
            .unwrap();
        broker.store.override_disk_usage(Some(10));
        let addr = broker.local_addr().to_string();
        client
            .invoke(&addr, create_topic("P", 1), TIMEOUT)
            .await
            .unwrap();
        for i in 0..10 {
            client
                .invoke(
                    &addr,
                    send_v2(
                        "P",
                        0,
                        format!("m{i}").as_bytes(),
                        "T",
                        "k",
                        &format!("u{i}"),
                    ),
                    TIMEOUT,
                )
                .await
                .unwrap();
        }
        client
            .invoke(
                &addr,
                cmd(
                    request::UPDATE_CONSUMER_OFFSET,
                    &[
                        ("consumerGroup", "G"),
                        ("topic", "P"),
                        ("queueId", "0"),
                        ("commitOffset", "6"),
                    ],
                ),
                TIMEOUT,
            )
            .await
            .unwrap();
        broker.shutdown().await.unwrap();
    }
    client.close_all();
    let broker = ferrocket::actors::broker::BrokerBuilder::new(config)
        .start()
        .await
        .unwrap();
    let addr = broker.local_addr().to_string();
    let q = cmd(
        request::QUERY_CONSUMER_OFFSET,
        &[("consumerGroup", "G"), ("topic", "P"), ("queueId", "0")],
    );
    assert_eq!(
        client
            .invoke(&addr, q, TIMEOUT)
            .await
            .unwrap()
            .ext("offset"),
        Some("6")
    );
    let p = client
        .invoke(
            &addr,
            pull("G", "P", 0, 6, FLAG_SUBSCRIPTION, 0, Some("*")),
            TIMEOUT,
        )
        .await
        .unwrap();
    let bodies: Vec<_> = records(&p.body)
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).to_string())
        .collect();
    assert_eq!(bodies, vec!["m6", "m7", "m8", "m9"]);
    let next = client
        .invoke(&addr, send_v2("P", 0, b"after", "T", "k", "u10"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        next.ext("queueOffset"),
        Some("10"),
        "queue offsets continue after a restart"
    );
    broker.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_writer_that_falls_behind_makes_sends_answer_system_busy() {
    let b = start_broker_with(|c| c.store.writer_mailbox_capacity = 1).await;
    b.call(create_topic("Busy", 1)).await;
    let sends = (0..64).map(|i| {
        b.client.invoke(
            &b.addr,
            send_v2("Busy", 0, &[b'x'; 512], "T", "k", &format!("u{i}")),
            TIMEOUT,
        )
    });
    let codes: Vec<i32> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().code)
        .collect();
    assert!(codes.contains(&response::SYSTEM_BUSY), "{codes:?}");
    assert!(codes.contains(&response::SUCCESS), "{codes:?}");
}

#[actix_rt::test]
async fn silent_clients_expire_and_their_group_is_told() {
    let b = start_broker_with(|c| c.channel_expired_timeout = 400).await;
    b.call(create_topic("E", 1)).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stays = RemotingClient::new(
        ClientConfig::default(),
        Some(Arc::new(Notified(seen.clone()))),
    );
    let silent = RemotingClient::default();
    silent
        .invoke(&b.addr, heartbeat("10.0.0.9@9", "EG", "E", "*"), TIMEOUT)
        .await
        .unwrap();
    for _ in 0..12 {
        // One member keeps beating; the other fell silent after its first heartbeat.
        stays
            .invoke(&b.addr, heartbeat("10.0.0.8@8", "EG", "E", "*"), TIMEOUT)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = b
        .call(cmd(
            request::GET_CONSUMER_LIST_BY_GROUP,
            &[("consumerGroup", "EG")],
        ))
        .await;
    let text = String::from_utf8_lossy(&list.body).to_string();
    assert!(
        text.contains("10.0.0.8@8") && !text.contains("10.0.0.9@9"),
        "{text}"
    );
    let notified = seen
        .lock()
        .map(|v| {
            v.iter()
                .filter(|c| **c == request::NOTIFY_CONSUMER_IDS_CHANGED)
                .count()
        })
        .unwrap_or(0);
    assert!(
        notified >= 1,
        "the remaining member hears that the group changed"
    );
}
