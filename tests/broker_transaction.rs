//! Transactional messages on a real broker, driven by the Rust client's TransactionProducer:
//! a half message stays invisible until it is committed, a rollback never arrives, an
//! unknown outcome is checked back with the producer group and settled, a half checked
//! transactionCheckMax times is given up, and a pending half survives a broker restart.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::broker::*;
use common::client::*;
use ferrocket::actors::broker::{BrokerBuilder, BrokerConfig};
use ferrocket::client::message::MessageExt;
use ferrocket::client::*;
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::message::decode_offset_msg_id;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

const HALF: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
const OP: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";

/// Local outcome from the send's argument; check-back outcome from the body's prefix
/// ("commit…", "rollback…", anything else unknown). Every check is recorded.
#[derive(Clone, Default)]
struct Outcomes {
    checks: Arc<Mutex<Vec<(Instant, String)>>>,
}

fn state(s: &str) -> TransactionState {
    if s.starts_with("commit") {
        TransactionState::Commit
    } else if s.starts_with("rollback") {
        TransactionState::Rollback
    } else {
        TransactionState::Unknown
    }
}

impl TransactionListener for Outcomes {
    fn execute(&self, _: &Message, arg: &str) -> BoxFuture<'static, TransactionState> {
        futures_util::future::ready(state(arg)).boxed()
    }

    fn check(&self, msg: &MessageExt) -> BoxFuture<'static, TransactionState> {
        let body = String::from_utf8_lossy(&msg.body).into_owned();
        self.checks
            .lock()
            .unwrap()
            .push((Instant::now(), body.clone()));
        futures_util::future::ready(state(&body)).boxed()
    }
}

fn tx_producer(ns: &str, outcomes: &Outcomes) -> TransactionProducer {
    let p = TransactionProducer::new(
        ProducerConfig {
            group: "TXPG".into(),
            ..Default::default()
        },
        fast_client(ns, "tx-producer"),
        outcomes.clone(),
    );
    p.start();
    p
}

/// Quick checks: halves older than 1 s are asked about every 300 ms.
fn quick_checks(c: &mut BrokerConfig) {
    c.transaction_time_out = 1_000;
    c.transaction_check_interval = 300;
}

fn count(b: &ferrocket::actors::broker::Broker, topic: &str) -> i64 {
    b.store.queue_offsets(topic, 0).1
}

fn bodies(seen: &Seen) -> Vec<String> {
    let mut v: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    v.sort();
    v
}

#[actix_rt::test]
async fn committed_halves_are_delivered_and_rolled_back_or_pending_ones_are_not() {
    let b = start_broker_with(|c| c.transaction_check_interval = 60_000).await;
    b.call(create_topic("TX", 1)).await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let c = recording_consumer(&b.ns.addr, "CGTX", "TX", seen.clone(), true, 16, dir.path());
    c.start().await.unwrap();
    let outcomes = Outcomes::default();
    let p = tx_producer(&b.ns.addr, &outcomes);

    let mut results = Vec::new();
    for arg in ["commit", "rollback", "unknown"] {
        let msg = Message::new("TX", format!("{arg}-body")).with_keys([arg]);
        results.push(p.send_in_transaction(&msg, arg).await.unwrap());
    }
    assert!(results.iter().all(|r| r.send.queue.topic == "TX"));
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    assert_eq!(count(&b.broker, HALF), 3, "three halves stored");
    assert!(
        wait_count(&seen, 1, Duration::from_secs(10)).await,
        "the committed message never arrived"
    );
    let ops = wait_until(Duration::from_secs(5), || async {
        count(&b.broker, OP) == 2
    })
    .await;
    assert!(ops, "commit and rollback each recorded an op message");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        bodies(&seen),
        vec!["commit-body"],
        "only the commit is visible"
    );
    let m = seen.lock().unwrap()[0].1.clone();
    assert_eq!(m.topic, "TX");
    assert!(!m.properties.contains_key("TRAN_MSG"));
    assert!(!m.properties.contains_key("REAL_TOPIC"));
    assert_eq!(m.keys(), vec!["commit".to_owned()]);
    assert_eq!(count(&b.broker, "TX"), 1);
    assert!(
        outcomes.checks.lock().unwrap().is_empty(),
        "no check within the timeout"
    );
    c.shutdown().await;
    p.shutdown().await;
}

#[actix_rt::test]
async fn unknown_transactions_are_checked_back_and_settled_by_the_producer() {
    let b = start_broker_with(quick_checks).await;
    b.call(create_topic("TXC", 1)).await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let c = recording_consumer(
        &b.ns.addr,
        "CGTXC",
        "TXC",
        seen.clone(),
        true,
        16,
        dir.path(),
    );
    c.start().await.unwrap();
    let outcomes = Outcomes::default();
    let p = tx_producer(&b.ns.addr, &outcomes);
    let sent = Instant::now();
    for body in ["commit-after-check", "rollback-after-check"] {
        let r = p
            .send_in_transaction(&Message::new("TXC", body), "unknown")
            .await
            .unwrap();
        assert_eq!(r.state, TransactionState::Unknown);
    }
    assert!(
        wait_count(&seen, 1, Duration::from_secs(15)).await,
        "the checked-back commit never arrived"
    );
    let (at, m) = seen.lock().unwrap()[0].clone();
    assert!(
        at - sent >= Duration::from_millis(1_000),
        "checked only after transactionTimeOut; arrived after {:?}",
        at - sent
    );
    assert_eq!(m.body.as_ref(), b"commit-after-check");
    assert_eq!(
        m.properties
            .get("TRANSACTION_CHECK_TIMES")
            .map(String::as_str),
        Some("1"),
        "committed from the put-back copy of its first check"
    );
    let settled = wait_until(Duration::from_secs(5), || async {
        count(&b.broker, OP) == 2
    })
    .await;
    assert!(settled, "both outcomes recorded as op messages");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(bodies(&seen), vec!["commit-after-check"]);
    let checks = outcomes.checks.lock().unwrap().len();
    assert_eq!(checks, 2, "each half checked exactly once");
    c.shutdown().await;
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_half_still_unknown_after_transaction_check_max_checks_is_given_up() {
    let b = start_broker_with(|c| {
        quick_checks(c);
        c.transaction_time_out = 300;
        c.transaction_check_max = 2;
    })
    .await;
    b.call(create_topic("TXM", 1)).await;
    let outcomes = Outcomes::default();
    let p = tx_producer(&b.ns.addr, &outcomes);
    p.send_in_transaction(&Message::new("TXM", "never-decided"), "unknown")
        .await
        .unwrap();
    let given_up = wait_until(Duration::from_secs(15), || async {
        count(&b.broker, "TRANS_CHECK_MAX_TIME_TOPIC") == 1
    })
    .await;
    assert!(given_up, "moved to TRANS_CHECK_MAX_TIME_TOPIC");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        outcomes.checks.lock().unwrap().len(),
        2,
        "checked twice, then no more"
    );
    assert_eq!(count(&b.broker, "TXM"), 0, "never delivered");
    assert!(b
        .broker
        .context
        .topics
        .get("TRANS_CHECK_MAX_TIME_TOPIC")
        .is_some());
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_pending_half_survives_a_broker_restart_and_is_committed_once() {
    // A long timeout first, so that nothing is checked before the restart.
    let b = start_broker_with(|c| c.transaction_time_out = 60_000).await;
    b.call(create_topic("TXR", 1)).await;
    let outcomes = Outcomes::default();
    let p = tx_producer(&b.ns.addr, &outcomes);
    p.send_in_transaction(&Message::new("TXR", "commit-after-restart"), "unknown")
        .await
        .unwrap();
    b.broker.shutdown().await.unwrap();
    assert_eq!(count(&b.broker, "TXR"), 0);

    let mut config = broker_config(b.dir.path(), &b.ns.addr);
    quick_checks(&mut config);
    let again = BrokerBuilder::new(config.clone()).start().await.unwrap();
    let committed = wait_until(Duration::from_secs(15), || async {
        count(&again, "TXR") == 1
    })
    .await;
    assert!(
        committed,
        "the half was checked back and committed after the restart"
    );
    assert_eq!(count(&again, HALF), 2, "the original and its put-back copy");
    let settled = wait_until(Duration::from_secs(5), || async { count(&again, OP) == 1 }).await;
    assert!(settled);
    // Let the checker pass the settled copy before the next shutdown.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    again.shutdown().await.unwrap();

    let third = BrokerBuilder::new(config).start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(count(&third, "TXR"), 1, "nothing is committed twice");
    assert_eq!(
        outcomes.checks.lock().unwrap().len(),
        1,
        "checked once in all"
    );
    third.shutdown().await.unwrap();
    p.shutdown().await;
}

/// END_TRANSACTION as the Java producer writes it (but asking for an answer).
fn end(
    group: &str,
    queue_offset: i64,
    phys: i64,
    outcome: i32,
) -> ferrocket::protocol::RemotingCommand {
    cmd(
        request::END_TRANSACTION,
        &[
            ("producerGroup", group),
            ("tranStateTableOffset", &queue_offset.to_string()),
            ("commitLogOffset", &phys.to_string()),
            ("commitOrRollback", &outcome.to_string()),
            ("fromTransactionCheck", "false"),
            ("msgId", "U"),
        ],
    )
}

fn half_send(topic: &str) -> ferrocket::protocol::RemotingCommand {
    half_send_with(topic, "")
}

/// A half message of group RAWPG, with `extra_props` (encoded) after the standard ones.
fn half_send_with(topic: &str, extra_props: &str) -> ferrocket::protocol::RemotingCommand {
    let mut c = send_v2(topic, 0, b"half", "", "", "7F000001000000000000000000AA");
    let props = format!(
        "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}RAWPG\u{2}UNIQ_KEY\u{1}7F000001000000000000000000AA\u{2}{extra_props}"
    );
    c.put_ext("i", props);
    c.put_ext("f", "4");
    c
}

#[actix_rt::test]
async fn end_transaction_refuses_what_does_not_match_the_half_message() {
    let b = start_broker_with(|c| c.transaction_check_interval = 60_000).await;
    b.call(create_topic("TXB", 1)).await;
    let sent = b.call(half_send("TXB")).await;
    assert_eq!(sent.code, response::SUCCESS, "{:?}", sent.remark);
    let qo: i64 = sent.ext("queueOffset").unwrap().parse().unwrap();
    let (_, phys) = decode_offset_msg_id(sent.ext("msgId").unwrap()).unwrap();
    let stored = wait_until(Duration::from_secs(5), || async {
        count(&b.broker, HALF) == 1
    })
    .await;
    assert!(stored);
    assert_eq!(count(&b.broker, "TXB"), 0, "a half is invisible");

    let cases = [
        (end("OTHER", qo, phys, 8), "The producer group wrong"),
        (
            end("RAWPG", qo + 5, phys, 8),
            "The transaction state table offset wrong",
        ),
        (
            end("RAWPG", qo, phys + 1, 8),
            "Find prepared transaction message failed",
        ),
        (
            end("RAWPG", qo, 1 << 40, 12),
            "Find prepared transaction message failed",
        ),
    ];
    for (req, remark) in cases {
        let r = b.call(req).await;
        assert_eq!(r.code, response::SYSTEM_ERROR);
        assert_eq!(r.remark.as_deref(), Some(remark));
    }
    let pending = b.call(end("RAWPG", qo, phys, 0)).await;
    assert_eq!(pending.code, response::SUCCESS);
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    assert_eq!(count(&b.broker, OP), 0, "unknown records nothing");
    let bad = b.call(end("RAWPG", qo, phys, 77)).await;
    assert_eq!(
        bad.code,
        response::SUCCESS,
        "other values are ignored like unknown"
    );

    let ok = b.call(end("RAWPG", qo, phys, 8)).await;
    assert_eq!(ok.code, response::SUCCESS, "{:?}", ok.remark);
    let done = wait_until(Duration::from_secs(5), || async {
        count(&b.broker, "TXB") == 1 && count(&b.broker, OP) == 1
    })
    .await;
    assert!(done, "committed and recorded");

    let mut batch = half_send("TXB");
    batch.code = request::SEND_BATCH_MESSAGE;
    batch.body =
        ferrocket::protocol::message::encode_batch(&[ferrocket::protocol::message::BatchItem {
            flag: 0,
            body: bytes::Bytes::from_static(b"b"),
            properties: "TRAN_MSG\u{1}true\u{2}".into(),
        }]);
    let r = b.call(batch).await;
    assert_eq!(r.code, response::MESSAGE_ILLEGAL, "{:?}", r.remark);
}

#[actix_rt::test]
async fn half_messages_are_refused_when_the_broker_rejects_transactions_and_slaves_end_none() {
    let b = start_broker_with(|c| c.reject_transaction_message = true).await;
    b.call(create_topic("TXN", 1)).await;
    let r = b.call(half_send("TXN")).await;
    assert_eq!(r.code, response::NO_PERMISSION, "{:?}", r.remark);
    assert_eq!(count(&b.broker, HALF), 0);

    // A slave needs brokerId > 0, as Java's BrokerStartup insists.
    let slave = start_broker_with(|c| {
        c.broker_role = ferrocket::actors::broker::config::BrokerRole::Slave;
        c.broker_id = 1;
    })
    .await;
    let r = slave.call(end("RAWPG", 0, 0, 8)).await;
    assert_eq!(r.code, response::SLAVE_NOT_AVAILABLE);
}

/// A half message with a delay is not delayed (or delivered) before it is committed; the
/// committed message then waits out its delay in the timer wheel.
#[actix_rt::test]
async fn a_delayed_half_waits_for_its_commit_and_then_for_its_delay() {
    let b = start_broker_with(|c| c.transaction_check_interval = 60_000).await;
    b.call(create_topic("TXD", 1)).await;
    for (props, delayed_topic) in [
        ("TIMER_DELAY_SEC\u{1}1\u{2}", "rmq_sys_wheel_timer"),
        ("DELAY\u{1}1\u{2}", "SCHEDULE_TOPIC_XXXX"),
    ] {
        let delayed_before = (0..18)
            .map(|q| b.broker.store.queue_offsets(delayed_topic, q).1)
            .sum::<i64>();
        let visible_before = count(&b.broker, "TXD");
        let sent = b.call(half_send_with("TXD", props)).await;
        assert_eq!(sent.code, response::SUCCESS, "{:?}", sent.remark);
        let qo: i64 = sent.ext("queueOffset").unwrap().parse().unwrap();
        let (_, phys) = decode_offset_msg_id(sent.ext("msgId").unwrap()).unwrap();
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(
            count(&b.broker, "TXD"),
            visible_before,
            "{props}: nothing before the commit"
        );
        let delayed_now = (0..18)
            .map(|q| b.broker.store.queue_offsets(delayed_topic, q).1)
            .sum::<i64>();
        assert_eq!(
            delayed_now, delayed_before,
            "{props}: the half is not scheduled"
        );

        let committed_at = Instant::now();
        let ok = b.call(end("RAWPG", qo, phys, 8)).await;
        assert_eq!(ok.code, response::SUCCESS, "{:?}", ok.remark);
        let arrived = wait_until(Duration::from_secs(10), || async {
            count(&b.broker, "TXD") == visible_before + 1
        })
        .await;
        assert!(arrived, "{props}: delivered after its delay");
        let waited = committed_at.elapsed();
        assert!(
            waited >= Duration::from_millis(700),
            "{props}: the 1 s delay starts at the commit, took {waited:?}"
        );
    }
}
