//! Delay levels, retries and dead letters on a real broker, driven by the Rust client:
//! a level-2 message arrives no earlier than due, a failed message comes back through
//! %RETRY%group and lands in %DLQ%group after the group's maximum, and pending delayed
//! messages survive a broker restart without being delivered twice.

mod common;

use std::time::{Duration, Instant};

use common::broker::*;
use common::client::*;
use ferrocket::actors::broker::BrokerBuilder;
use ferrocket::client::*;
use ferrocket::protocol::message::MessageToStore;

/// Level 2 keeps RocketMQ's 5 s; every other level is 1 s so retries are quick.
const LEVELS: &str = "1s 5s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

async fn fast_broker() -> TestBroker {
    start_broker_with(|c| c.store.message_delay_level = LEVELS.into()).await
}

async fn topic(b: &TestBroker, name: &str) {
    b.call(create_topic(name, 1)).await;
}

#[actix_rt::test]
async fn a_level_two_message_arrives_five_to_seven_seconds_after_sending() {
    let b = fast_broker().await;
    topic(&b, "DT").await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let c = recording_consumer(&b.ns.addr, "CGD", "DT", seen.clone(), true, 16, dir.path());
    c.start().await.unwrap();
    let p = started_producer(&b.ns.addr);
    let sent = Instant::now();
    let r = p
        .send(&Message::new("DT", "later").with_delay_level(2))
        .await
        .unwrap();
    assert_eq!(r.queue.topic, "DT", "the producer sees its own topic");
    let held = wait_until(Duration::from_secs(2), || async {
        b.broker.store.queue_offsets("SCHEDULE_TOPIC_XXXX", 1).1 == 1
    })
    .await;
    assert!(held, "held in the schedule topic's level-2 queue");
    assert_eq!(b.broker.store.queue_offsets("DT", 0).1, 0);
    assert!(
        wait_count(&seen, 1, Duration::from_secs(10)).await,
        "never delivered"
    );
    let (at, m) = seen.lock().unwrap()[0].clone();
    let waited = at - sent;
    assert!(
        waited >= Duration::from_millis(4_900) && waited < Duration::from_secs(7),
        "level 2 is 5 s; it took {waited:?}"
    );
    assert_eq!((m.topic.as_str(), m.body.as_ref()), ("DT", &b"later"[..]));
    assert_eq!(
        m.properties.get("REAL_TOPIC").map(String::as_str),
        Some("DT")
    );
    assert!(
        !m.properties.contains_key("DELAY"),
        "delivered without its delay"
    );
    c.shutdown().await;
    p.shutdown().await;
}

#[actix_rt::test]
async fn failed_messages_retry_then_go_to_the_dead_letter_queue() {
    let b = fast_broker().await;
    topic(&b, "RDT").await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let c = recording_consumer(&b.ns.addr, "CGR", "RDT", seen.clone(), false, 2, dir.path());
    c.start().await.unwrap();
    let p = started_producer(&b.ns.addr);
    p.send(&Message::new("RDT", "poison").with_keys(["pk"]))
        .await
        .unwrap();
    assert!(
        wait_count(&seen, 3, Duration::from_secs(15)).await,
        "the original and two retries"
    );
    let dlq_has_it = wait_until(Duration::from_secs(10), || async {
        b.broker.store.queue_offsets("%DLQ%CGR", 0).1 == 1
    })
    .await;
    assert!(
        dlq_has_it,
        "after maxReconsumeTimes the message is a dead letter"
    );
    let times: Vec<i32> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| m.reconsume_times)
        .collect();
    assert_eq!(&times[..3], &[0, 1, 2]);
    let retry = seen.lock().unwrap()[1].1.clone();
    assert_eq!(
        retry.topic, "RDT",
        "retries come back under the original topic"
    );
    assert_eq!(
        retry.properties.get("RETRY_TOPIC").map(String::as_str),
        Some("RDT")
    );
    let origin = seen.lock().unwrap()[0].1.offset_msg_id.clone();
    assert_eq!(retry.properties.get("ORIGIN_MESSAGE_ID"), Some(&origin));

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "a dead letter is not delivered again"
    );
    let dead = b
        .broker
        .store
        .get_message("%DLQ%CGR", 0, 0, 1, Default::default(), |_| true);
    let raw = dead.messages.first().expect("the DLQ record");
    let d = ferrocket::protocol::message::decode_record(raw).unwrap();
    assert_eq!(d.body.as_ref(), b"poison");
    assert_eq!(d.reconsume_times, 3);
    assert_eq!(d.property("ORIGIN_MESSAGE_ID"), Some(origin.as_str()));
    assert_eq!(d.property("KEYS"), Some("pk"));
    let perm = b.broker.context.topics.get("%DLQ%CGR").unwrap().perm;
    assert_eq!(perm, 6, "created readable and writable");
    c.shutdown().await;
    p.shutdown().await;
}

#[actix_rt::test]
async fn pending_delayed_messages_survive_a_restart_and_are_delivered_once() {
    let b = fast_broker().await;
    topic(&b, "ST").await;
    let p = started_producer(&b.ns.addr);
    for i in 0..3 {
        p.send(&Message::new("ST", format!("d{i}")).with_delay_level(2))
            .await
            .unwrap();
    }
    p.shutdown().await;
    b.broker.shutdown().await.unwrap();
    assert_eq!(
        b.broker.store.queue_offsets("ST", 0).1,
        0,
        "none due before the restart"
    );

    let mut config = broker_config(b.dir.path(), &b.ns.addr);
    config.store.message_delay_level = LEVELS.into();
    let again = BrokerBuilder::new(config.clone()).start().await.unwrap();
    let delivered = wait_until(Duration::from_secs(10), || async {
        again.store.queue_offsets("ST", 0).1 == 3
    })
    .await;
    assert!(
        delivered,
        "all three pending messages are delivered after the restart"
    );
    again.shutdown().await.unwrap();
    let saved =
        std::fs::read_to_string(b.dir.path().join("store/config/delayOffset.json")).unwrap();
    assert!(saved.contains("2:3"), "progress saved: {saved}");

    let third = BrokerBuilder::new(config).start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        third.store.queue_offsets("ST", 0).1,
        3,
        "nothing is delivered twice"
    );
    third.shutdown().await.unwrap();
}

/// ali-ons: a delayTimeLevel-2 message arrives no earlier than 5 s after sending, and a
/// message whose first consumption throws comes back through %RETRY%group with
/// reconsumeTimes 1 (tests/interop/ali_ons_delay_retry.js).
#[actix_rt::test]
async fn ali_ons_delays_and_retries_go_through_the_broker() {
    if common::interop::skip() {
        return;
    }
    let dir = common::interop::interop_dir();
    assert!(
        dir.join("node_modules/ali-ons").is_dir(),
        "ali-ons is not installed: run `npm ci --prefix tests/interop` (or .ci/run)"
    );
    let b = fast_broker().await;
    topic(&b, "OnsDelay").await;
    // The script waits 3 s for its first rebalance before sending: by then the broker
    // (registering every second here) has published the topic's route.
    let out = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new("node")
            .arg(dir.join("ali_ons_delay_retry.js"))
            .args([b.ns.addr.as_str(), "OnsDelay", "OnsDelayGroup"])
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("ali_ons_delay_retry.js did not finish")
    .expect("cannot run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_default();
    assert!(
        result.starts_with("RESULT ok"),
        "ali_ons_delay_retry.js: {stdout}"
    );
    eprintln!("ali_ons_delay_retry.js: {result}");
    assert_eq!(
        b.broker.store.queue_offsets("%RETRY%OnsDelayGroup", 0).1,
        1,
        "the failed message went through the group's retry topic"
    );
}

/// More due messages than one append holds: all delivered once, in their order.
#[actix_rt::test]
async fn a_burst_of_due_messages_is_delivered_in_order_each_once() {
    let b = fast_broker().await;
    topic(&b, "BURST").await;
    // One append, so all 150 fall due at once: three delivery appends of 64, 64 and 22.
    let host = b.broker.broker_addr();
    let msgs = (0..150)
        .map(|i| MessageToStore {
            born_timestamp: 1,
            born_host: host,
            store_host: host,
            ..MessageToStore::new("BURST", 0, format!("m{i:03}"), "DELAY\u{1}1\u{2}")
        })
        .collect();
    b.broker.store.put(msgs, false).await.unwrap();
    let delivered = wait_until(Duration::from_secs(10), || async {
        b.broker.store.queue_offsets("BURST", 0).1 >= 150
    })
    .await;
    assert!(delivered, "all 150 delivered");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        b.broker.store.queue_offsets("BURST", 0).1,
        150,
        "none twice"
    );
    let mut order: Vec<String> = Vec::new();
    for _ in 0..150 {
        let got = b.broker.store.get_message(
            "BURST",
            0,
            order.len() as i64,
            32,
            Default::default(),
            |_| true,
        );
        if got.messages.is_empty() {
            break;
        }
        for raw in &got.messages {
            let m = ferrocket::protocol::message::decode_record(raw).unwrap();
            order.push(String::from_utf8_lossy(&m.body).into_owned());
        }
    }
    let expected: Vec<String> = (0..150).map(|i| format!("m{i:03}")).collect();
    assert_eq!(order, expected);
}
