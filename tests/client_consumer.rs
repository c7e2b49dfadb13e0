//! The Rust push consumer against a real name server and broker: clustering with tag
//! filters, a second consumer joining (queues split, nothing lost), broadcasting, a retry
//! after a failed consume, and offsets resumed after a restart.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::broker::*;
use common::client::*;
use common::*;
use ferrocket::client::message::MessageExt;
use ferrocket::client::*;
use futures_util::FutureExt;

type Seen = Arc<Mutex<Vec<MessageExt>>>;

fn consumer(
    ns: &str,
    name: &str,
    group: &str,
    model: MessageModel,
    seen: Seen,
    fail_first: bool,
    dir: &std::path::Path,
) -> PushConsumer {
    let failed = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let listener = move |msgs: Vec<MessageExt>| {
        let (seen, failed) = (seen.clone(), failed.clone());
        async move {
            let mut result = ConsumeResult::Success;
            for m in msgs {
                if fail_first && failed.lock().unwrap().insert(m.msg_id().to_owned()) {
                    result = ConsumeResult::ReconsumeLater;
                }
                seen.lock().unwrap().push(m);
            }
            result
        }
        .boxed()
    };
    let config = PushConsumerConfig {
        group: group.to_owned(),
        message_model: model,
        consume_from_where: ConsumeFromWhere::FirstOffset,
        broker_suspend_max: Duration::from_millis(500),
        offset_store_dir: dir.to_owned(),
        ..Default::default()
    };
    PushConsumer::new(config, fast_client(ns, name), listener)
}

async fn topic(b: &TestBroker, name: &str, queues: i32) {
    b.call(create_topic(name, queues)).await;
    let ok = wait_until(Duration::from_secs(5), || {
        let (c, addr) = (
            ferrocket::remoting_client::RemotingClient::default(),
            b.ns.addr.clone(),
        );
        let t = name.to_owned();
        async move {
            c.invoke(&addr, route_request(&t, 409), TIMEOUT)
                .await
                .map(|r| r.code == 0)
                .unwrap_or(false)
        }
    })
    .await;
    assert!(ok);
}

async fn wait_count(seen: &Seen, n: usize) -> bool {
    wait_until(Duration::from_secs(15), || {
        let seen = seen.clone();
        async move { seen.lock().unwrap().len() >= n }
    })
    .await
}

fn bodies(seen: &Seen) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for msg in seen.lock().unwrap().iter() {
        *m.entry(String::from_utf8_lossy(&msg.body).to_string())
            .or_insert(0) += 1;
    }
    m
}

#[actix_rt::test]
async fn a_clustering_consumer_receives_its_tags_once() {
    let b = start_broker().await;
    topic(&b, "CT", 4).await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let c = consumer(
        &b.ns.addr,
        "c1",
        "CG1",
        MessageModel::Clustering,
        seen.clone(),
        false,
        dir.path(),
    );
    c.subscribe("CT", "A");
    c.start().await.unwrap();
    let p = started_producer(&b.ns.addr);
    for i in 0..40 {
        let tag = if i % 2 == 0 { "A" } else { "B" };
        p.send(&Message::new("CT", format!("m{i}")).with_tags(tag))
            .await
            .unwrap();
    }
    assert!(
        wait_count(&seen, 20).await,
        "got {}",
        seen.lock().unwrap().len()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = bodies(&seen);
    assert_eq!(got.len(), 20);
    assert!(got.values().all(|n| *n == 1));
    assert!(seen.lock().unwrap().iter().all(|m| m.tags() == Some("A")));
    c.shutdown().await;
}

#[actix_rt::test]
async fn a_second_consumer_splits_the_queues_and_nothing_is_lost() {
    let b = start_broker().await;
    topic(&b, "RB", 4).await;
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2): (Seen, Seen) = Default::default();
    let c1 = consumer(
        &b.ns.addr,
        "c1",
        "CG2",
        MessageModel::Clustering,
        s1.clone(),
        false,
        dir.path(),
    );
    c1.subscribe("RB", "*");
    c1.start().await.unwrap();
    let c2 = consumer(
        &b.ns.addr,
        "c2",
        "CG2",
        MessageModel::Clustering,
        s2.clone(),
        false,
        dir.path(),
    );
    c2.subscribe("RB", "*");
    c2.start().await.unwrap();
    let split = wait_until(Duration::from_secs(10), || {
        let (a, b) = (c1.assigned(), c2.assigned());
        async move {
            let a: Vec<_> = a.into_iter().filter(|q| q.topic == "RB").collect();
            let b: Vec<_> = b.into_iter().filter(|q| q.topic == "RB").collect();
            a.len() == 2 && b.len() == 2 && a.iter().all(|q| !b.contains(q))
        }
    })
    .await;
    assert!(split, "c1 {:?} c2 {:?}", c1.assigned(), c2.assigned());
    let p = started_producer(&b.ns.addr);
    for i in 0..40 {
        p.send(&Message::new("RB", format!("m{i}"))).await.unwrap();
    }
    let all = wait_until(Duration::from_secs(15), || {
        let (s1, s2) = (s1.clone(), s2.clone());
        async move { s1.lock().unwrap().len() + s2.lock().unwrap().len() >= 40 }
    })
    .await;
    assert!(all);
    assert!(
        !s1.lock().unwrap().is_empty() && !s2.lock().unwrap().is_empty(),
        "both consumers got messages"
    );
    c1.shutdown().await;
    c2.shutdown().await;
}

#[actix_rt::test]
async fn broadcasting_consumers_each_receive_everything() {
    let b = start_broker().await;
    topic(&b, "BC", 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2): (Seen, Seen) = Default::default();
    let c1 = consumer(
        &b.ns.addr,
        "c1",
        "CG3",
        MessageModel::Broadcasting,
        s1.clone(),
        false,
        dir.path(),
    );
    let c2 = consumer(
        &b.ns.addr,
        "c2",
        "CG3",
        MessageModel::Broadcasting,
        s2.clone(),
        false,
        dir.path(),
    );
    for c in [&c1, &c2] {
        c.subscribe("BC", "*");
        c.start().await.unwrap();
    }
    let p = started_producer(&b.ns.addr);
    for i in 0..20 {
        p.send(&Message::new("BC", format!("m{i}"))).await.unwrap();
    }
    assert!(wait_count(&s1, 20).await && wait_count(&s2, 20).await);
    c1.shutdown().await;
    c2.shutdown().await;
}

#[actix_rt::test]
async fn a_failed_message_comes_back_as_a_retry() {
    let b = start_broker().await;
    topic(&b, "RT", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let c = consumer(
        &b.ns.addr,
        "c1",
        "CG4",
        MessageModel::Clustering,
        seen.clone(),
        true,
        dir.path(),
    );
    c.subscribe("RT", "*");
    c.start().await.unwrap();
    let p = started_producer(&b.ns.addr);
    p.send(&Message::new("RT", "once-failed").with_keys(["k9"]))
        .await
        .unwrap();
    assert!(
        wait_count(&seen, 2).await,
        "the failed message must come back"
    );
    let second = seen.lock().unwrap()[1].clone();
    assert_eq!(second.body.as_ref(), b"once-failed");
    assert_eq!(
        second.topic, "RT",
        "the retry is delivered under its original topic"
    );
    assert_eq!(second.reconsume_times, 1);
    c.shutdown().await;
}

#[actix_rt::test]
async fn a_restarted_consumer_resumes_from_its_committed_offset() {
    let b = start_broker().await;
    topic(&b, "OF", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let p = started_producer(&b.ns.addr);
    let first: Seen = Default::default();
    let c = consumer(
        &b.ns.addr,
        "c1",
        "CG5",
        MessageModel::Clustering,
        first.clone(),
        false,
        dir.path(),
    );
    c.subscribe("OF", "*");
    c.start().await.unwrap();
    for i in 0..10 {
        p.send(&Message::new("OF", format!("old{i}")))
            .await
            .unwrap();
    }
    assert!(wait_count(&first, 10).await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    c.shutdown().await;

    for i in 0..5 {
        p.send(&Message::new("OF", format!("new{i}")))
            .await
            .unwrap();
    }
    let second: Seen = Default::default();
    let c = consumer(
        &b.ns.addr,
        "c2",
        "CG5",
        MessageModel::Clustering,
        second.clone(),
        false,
        dir.path(),
    );
    c.subscribe("OF", "*");
    c.start().await.unwrap();
    assert!(wait_count(&second, 5).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = bodies(&second);
    assert!(
        got.keys().all(|k| k.starts_with("new")),
        "no mass redelivery after a restart: {got:?}"
    );
    c.shutdown().await;
}

/// Orderly consumption: 10 keys × 50 steps, two consumer instances; every key's steps
/// arrive in order, each queue consumed by the instance holding its broker lock.
#[actix_rt::test]
async fn ordered_messages_arrive_in_order_per_key_across_two_instances() {
    let b = start_broker().await;
    topic(&b, "ORD", 4).await;
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2): (Seen, Seen) = Default::default();
    let orderly = |name: &str, seen: Seen| {
        let listener = move |msgs: Vec<MessageExt>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().extend(msgs);
                ConsumeResult::Success
            }
            .boxed()
        };
        let config = PushConsumerConfig {
            group: "CGO".into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            broker_suspend_max: Duration::from_millis(500),
            offset_store_dir: dir.path().to_owned(),
            orderly: true,
            lock_renew_interval: Duration::from_millis(500),
            ..Default::default()
        };
        PushConsumer::new(config, fast_client(&b.ns.addr, name), listener)
    };
    let c1 = orderly("o1", s1.clone());
    let c2 = orderly("o2", s2.clone());
    for c in [&c1, &c2] {
        c.subscribe("ORD", "*");
        c.start().await.unwrap();
    }
    let p = started_producer(&b.ns.addr);
    for step in 0..50 {
        for key in 0..10 {
            let m = Message::new("ORD", format!("k{key}:{step}")).with_keys([format!("k{key}")]);
            p.send_with_selector(&m, &HashSelector, &format!("k{key}"))
                .await
                .unwrap();
        }
    }
    let all = wait_until(Duration::from_secs(20), || {
        let (s1, s2) = (s1.clone(), s2.clone());
        async move { s1.lock().unwrap().len() + s2.lock().unwrap().len() >= 500 }
    })
    .await;
    assert!(
        all,
        "got {} + {}",
        s1.lock().unwrap().len(),
        s2.lock().unwrap().len()
    );
    for seen in [&s1, &s2] {
        let mut last: BTreeMap<String, i32> = BTreeMap::new();
        for m in seen.lock().unwrap().iter() {
            let text = String::from_utf8_lossy(&m.body).to_string();
            let (key, step) = text.split_once(':').unwrap();
            let step: i32 = step.parse().unwrap();
            let prev = last.insert(key.to_owned(), step);
            assert!(
                prev.is_none_or(|p| p < step),
                "{key}: step {step} after {prev:?}"
            );
        }
    }
    c1.shutdown().await;
    c2.shutdown().await;
}

/// An orderly consumer that fails a message suspends the queue and retries that same
/// message before any later one.
#[actix_rt::test]
async fn an_orderly_failure_suspends_the_queue_and_retries_in_place() {
    let b = start_broker().await;
    topic(&b, "ORF", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let failed_once = Arc::new(Mutex::new(false));
    let listener = {
        let (seen, failed_once) = (seen.clone(), failed_once.clone());
        move |msgs: Vec<MessageExt>| {
            let (seen, failed_once) = (seen.clone(), failed_once.clone());
            async move {
                let body = String::from_utf8_lossy(&msgs[0].body).to_string();
                seen.lock().unwrap().extend(msgs);
                let mut f = failed_once.lock().unwrap();
                if body == "s1" && !*f {
                    *f = true;
                    return ConsumeResult::ReconsumeLater;
                }
                ConsumeResult::Success
            }
            .boxed()
        }
    };
    let config = PushConsumerConfig {
        group: "CGOF".into(),
        consume_from_where: ConsumeFromWhere::FirstOffset,
        broker_suspend_max: Duration::from_millis(500),
        offset_store_dir: dir.path().to_owned(),
        orderly: true,
        suspend_current_queue_time: Duration::from_millis(100),
        ..Default::default()
    };
    let c = PushConsumer::new(config, fast_client(&b.ns.addr, "of"), listener);
    c.subscribe("ORF", "*");
    c.start().await.unwrap();
    let p = started_producer(&b.ns.addr);
    for i in 0..3 {
        p.send(&Message::new("ORF", format!("s{i}"))).await.unwrap();
    }
    assert!(wait_count(&seen, 4).await);
    let order: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).to_string())
        .collect();
    assert_eq!(order, vec!["s0", "s1", "s1", "s2"]);
    c.shutdown().await;
}

/// A consumer started before its topic exists gets messages as soon as the topic appears,
/// not at the next 30 s heartbeat.
#[actix_rt::test]
async fn a_consumer_started_before_its_topic_exists_is_not_left_waiting_for_a_heartbeat() {
    let b = start_broker().await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let listener = {
        let seen = seen.clone();
        move |msgs: Vec<MessageExt>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().extend(msgs);
                ConsumeResult::Success
            }
            .boxed()
        }
    };
    let config = PushConsumerConfig {
        group: "CGLATE".into(),
        consume_from_where: ConsumeFromWhere::FirstOffset,
        broker_suspend_max: Duration::from_millis(500),
        offset_store_dir: dir.path().to_owned(),
        ..Default::default()
    };
    let slow_heartbeats = ClientInstance::new(ClientConfig {
        namesrv_addr: b.ns.addr.clone(),
        instance_name: "late".into(),
        heartbeat_broker_interval: Duration::from_secs(30),
        rebalance_interval: Duration::from_millis(300),
        ..Default::default()
    });
    let c = PushConsumer::new(config, slow_heartbeats, listener);
    c.subscribe("LATE", "*");
    c.start().await.unwrap();
    topic(&b, "LATE", 1).await;
    started_producer(&b.ns.addr)
        .send(&Message::new("LATE", "hello"))
        .await
        .unwrap();
    assert!(
        wait_count(&seen, 1).await,
        "delivered well before the next heartbeat tick"
    );
    c.shutdown().await;
}

/// What operators' tools reach through the broker: GET_CONSUMER_RUNNING_INFO (mqadmin
/// consumerStatus, consumerProgress -s) answered by the Rust consumer with the queues it
/// holds, their committed offsets and the last minute's figures, in the fastjson form Java's
/// tools parse; and CONSUME_MESSAGE_DIRECTLY (queryMsgById -g -d), which hands the stored
/// message to the listener and answers its verdict.
#[actix_rt::test]
async fn a_consumer_answers_running_info_and_direct_consumes_through_the_broker() {
    let b = start_broker().await;
    topic(&b, "OPS", 2).await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let c = consumer(
        &b.ns.addr,
        "ops",
        "OpsG",
        MessageModel::Clustering,
        seen.clone(),
        false,
        dir.path(),
    );
    c.subscribe("OPS", "*");
    c.start().await.unwrap();
    let p = started_producer(&b.ns.addr);
    let mut last = None;
    for i in 0..10 {
        last = Some(
            p.send(&Message::new("OPS", format!("op{i}")))
                .await
                .unwrap(),
        );
    }
    assert!(
        wait_count(&seen, 10).await,
        "got {}",
        seen.lock().unwrap().len()
    );
    let client_id = "127.0.0.1@ops".to_owned();
    let info = b
        .call(cmd(
            ferrocket::protocol::code::request::GET_CONSUMER_RUNNING_INFO,
            &[
                ("consumerGroup", "OpsG"),
                ("clientId", client_id.as_str()),
                ("jstackEnable", "false"),
            ],
        ))
        .await;
    assert_eq!(info.code, 0, "{:?}", info.remark);
    let text = String::from_utf8(info.body.to_vec()).unwrap();
    for q in 0..2 {
        let key = format!(r#"{{"brokerName":"broker-a","queueId":{q},"topic":"OPS"}}:{{"#);
        assert!(
            text.contains(&key),
            "queue {q} missing from mqTable: {text}"
        );
    }
    assert!(
        text.contains(r#""PROP_CONSUME_TYPE":"CONSUME_PASSIVELY""#),
        "{text}"
    );
    assert!(text.contains(r#""consumerGroup":"OpsG""#), "{text}");
    assert!(
        text.contains(r#""statusTable":{"#) && text.contains(r#""OPS":{"consumeFailedMsgs":0,"#),
        "{text}"
    );
    assert!(text.contains(r#""subscriptionSet":[{"#), "{text}");
    // Java's tools read it with fastjson's object keys.
    let parsed: serde_json::Value =
        ferrocket::protocol::body::broker::queue::from_json_with_object_keys(&info.body).unwrap();
    assert!(
        parsed["mqTable"].as_object().is_some_and(|t| t.len() >= 2),
        "{parsed}"
    );

    let sent = last.unwrap();
    let before = seen.lock().unwrap().len();
    let direct = b
        .call(cmd(
            ferrocket::protocol::code::request::CONSUME_MESSAGE_DIRECTLY,
            &[
                ("consumerGroup", "OpsG"),
                ("clientId", client_id.as_str()),
                ("msgId", sent.offset_msg_id.as_str()),
            ],
        ))
        .await;
    assert_eq!(direct.code, 0, "{:?}", direct.remark);
    let verdict = String::from_utf8(direct.body.to_vec()).unwrap();
    assert!(
        verdict.contains(r#""consumeResult":"CR_SUCCESS""#),
        "{verdict}"
    );
    assert!(verdict.contains(r#""order":false"#), "{verdict}");
    let again = seen.lock().unwrap()[before..]
        .iter()
        .any(|m| &m.body[..] == b"op9");
    assert!(
        again,
        "the listener did not see the directly consumed message"
    );
    c.shutdown().await;
}
