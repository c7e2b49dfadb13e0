//! Timer messages (RocketMQ 5.x arbitrary delays) on a real broker, driven by the Rust
//! client: a 3.5 s delay arrives within the wheel's one-second precision of its due time,
//! a delay past timerMaxDelaySec is refused with MESSAGE_ILLEGAL, the timer topic cannot
//! be sent to, a delay past the roll window rolls and still arrives on time, pending
//! timers survive a broker restart and are delivered exactly once, and delivered
//! timer-log files are deleted without upsetting a restart, and a delete marker cancels
//! its timer but not the timer sharing its slot.

mod common;

use std::time::{Duration, Instant};

use common::broker::*;
use common::client::*;
use ferrocket::actors::broker::BrokerBuilder;
use ferrocket::client::*;
use ferrocket::protocol::code::response;

const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";

/// Arrival of a timer `delay` after `sent` must not be early (the broker's clock starts
/// after `sent`; 50 ms covers the two clocks' disagreement) and at most one precision plus
/// a loaded CI machine's slack late.
fn assert_on_time(sent: Instant, at: Instant, delay: Duration) {
    let waited = at - sent;
    eprintln!("timer: a {delay:?} delay arrived after {waited:?}");
    assert!(
        waited + Duration::from_millis(50) >= delay,
        "delivered early: {waited:?} < {delay:?}"
    );
    // Slots are whole seconds and a slot is delivered once it has fully passed (Java's
    // rule: never early), so arrival is up to 1 s after due, plus a tick and the pull.
    assert!(
        waited <= delay + Duration::from_millis(1_500),
        "delivered late: {waited:?} for a {delay:?} delay"
    );
}

#[actix_rt::test]
async fn a_three_and_a_half_second_delay_arrives_no_earlier_than_due_within_the_precision() {
    let b = start_broker().await;
    let f = flow(&b, "TT", "CGT").await;
    let (seen, c, p) = (&f.seen, &f.consumer, &f.producer);
    let sent = Instant::now();
    let r = p
        .send(&Message::new("TT", "later").with_delay_ms(3_500))
        .await
        .unwrap();
    assert_eq!(r.queue.topic, "TT", "the producer sees its own topic");
    let held = wait_until(Duration::from_secs(2), || async {
        b.broker.store.queue_offsets(TIMER_TOPIC, 0).1 == 1
    })
    .await;
    assert!(held, "held in the timer topic");
    assert_eq!(
        b.broker.store.queue_offsets("TT", 0).1,
        0,
        "not delivered yet"
    );
    assert!(
        wait_count(seen, 1, Duration::from_secs(8)).await,
        "never delivered"
    );
    let (at, m) = seen.lock().unwrap()[0].clone();
    assert_on_time(sent, at, Duration::from_millis(3_500));
    assert_eq!((m.topic.as_str(), m.body.as_ref()), ("TT", &b"later"[..]));
    assert!(m.properties.contains_key("TIMER_OUT_MS"));
    assert!(m.properties.contains_key("TIMER_ENQUEUE_MS"));
    assert!(m.properties.contains_key("TIMER_DEQUEUE_MS"));
    c.shutdown().await;
    p.shutdown().await;
}

#[actix_rt::test]
async fn delays_past_the_maximum_are_refused_and_the_timer_topic_is_closed_to_clients() {
    let b = start_broker_with(|c| c.store.timer_max_delay_sec = 60).await;
    b.call(create_topic("TL", 1)).await;
    let p = started_producer(&b.ns.addr);
    let illegal = |e: &ClientError| {
        let text = e.to_string();
        text.contains("code 13") && text.contains("max delay 60000ms")
    };
    for m in [
        Message::new("TL", "x").with_delay_sec(61),
        Message::new("TL", "x").with_property("TIMER_DELAY_MS", "soon"),
    ] {
        let e = p.send(&m).await.unwrap_err();
        assert!(
            illegal(&e),
            "refused with MESSAGE_ILLEGAL and Java's remark: {e}"
        );
    }
    p.send(&Message::new("TL", "ok").with_delay_sec(60))
        .await
        .unwrap();
    let held = wait_until(Duration::from_secs(2), || async {
        b.broker.store.queue_offsets(TIMER_TOPIC, 0).1 == 1
    })
    .await;
    assert!(held, "exactly the maximum is accepted");

    let direct = b
        .call(send_v2(TIMER_TOPIC, 0, b"sneak", "", "", "u1"))
        .await;
    assert_eq!(direct.code, response::NO_PERMISSION, "{:?}", direct.remark);
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_delay_past_the_roll_window_rolls_and_still_arrives_on_time() {
    // A two-slot window: 3.5 s is parked for 2 s, re-stored with TIMER_ROLL_TIMES, linked
    // again and delivered at its time.
    let b = start_broker_with(|c| c.store.timer_roll_window_slot = 2).await;
    let f = flow(&b, "TR", "CGRoll").await;
    let (seen, c, p) = (&f.seen, &f.consumer, &f.producer);
    let sent = Instant::now();
    p.send(&Message::new("TR", "rolled").with_delay_ms(3_500))
        .await
        .unwrap();
    assert!(wait_count(seen, 1, Duration::from_secs(8)).await);
    let (at, m) = seen.lock().unwrap()[0].clone();
    assert_on_time(sent, at, Duration::from_millis(3_500));
    assert_eq!(
        m.properties.get("TIMER_ROLL_TIMES").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        b.broker.store.queue_offsets(TIMER_TOPIC, 0).1,
        2,
        "stored once by the send and once by the roll"
    );
    c.shutdown().await;
    p.shutdown().await;
}

#[actix_rt::test]
async fn pending_timers_survive_a_restart_and_are_delivered_exactly_once() {
    let b = start_broker().await;
    b.call(create_topic("TS", 1)).await;
    let p = started_producer(&b.ns.addr);
    for i in 0..5 {
        p.send(&Message::new("TS", format!("t{i}")).with_delay_ms(2_500 + i * 100))
            .await
            .unwrap();
    }
    p.shutdown().await;
    // Linked into the wheel before the stop.
    let linked = wait_until(Duration::from_secs(2), || async {
        std::fs::metadata(b.dir.path().join("store/timerlog/00000000000000000000")).is_ok()
    })
    .await;
    assert!(linked, "the timer log exists");
    b.broker.shutdown().await.unwrap();
    assert_eq!(
        b.broker.store.queue_offsets("TS", 0).1,
        0,
        "none due before the restart"
    );
    let ck = std::fs::read(b.dir.path().join("store/config/timercheck")).unwrap();
    assert_eq!(ck.len(), 4096);
    assert_eq!(&ck[16..24], &5i64.to_be_bytes(), "all five records linked");

    let config = broker_config(b.dir.path(), &b.ns.addr);
    let again = BrokerBuilder::new(config.clone()).start().await.unwrap();
    let delivered = wait_until(Duration::from_secs(6), || async {
        again.store.queue_offsets("TS", 0).1 >= 5
    })
    .await;
    assert!(
        delivered,
        "all five pending timers are delivered after the restart"
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(again.store.queue_offsets("TS", 0).1, 5, "each once");
    again.shutdown().await.unwrap();

    let third = BrokerBuilder::new(config).start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        third.store.queue_offsets("TS", 0).1,
        5,
        "nothing is delivered twice after another restart"
    );
    third.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn timer_log_files_are_deleted_once_their_timers_are_delivered() {
    // Four units a file: ten timers fill three files.
    let b = start_broker_with(|c| c.store.mapped_file_size_timer_log = 4 * 52 + 16).await;
    b.call(create_topic("TD", 1)).await;
    let p = started_producer(&b.ns.addr);
    for i in 0..10 {
        p.send(&Message::new("TD", format!("d{i}")).with_delay_ms(1_200))
            .await
            .unwrap();
    }
    p.shutdown().await;
    let first = b.dir.path().join("store/timerlog/00000000000000000000");
    let linked = wait_until(Duration::from_secs(2), || async {
        b.broker.store.queue_offsets(TIMER_TOPIC, 0).1 == 10 && first.exists()
    })
    .await;
    assert!(linked, "the timer log's first file is written");
    let delivered = wait_until(Duration::from_secs(6), || async {
        b.broker.store.queue_offsets("TD", 0).1 == 10
    })
    .await;
    assert!(delivered, "all ten delivered");
    // The next checkpoint (timerFlushIntervalMs, 1 s) names the delivery; files go then.
    let deleted = wait_until(Duration::from_secs(4), || async { !first.exists() }).await;
    assert!(deleted, "the delivered timer-log files are deleted");
    b.broker.shutdown().await.unwrap();

    let mut config = broker_config(b.dir.path(), &b.ns.addr);
    config.store.mapped_file_size_timer_log = 4 * 52 + 16;
    let again = BrokerBuilder::new(config).start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        again.store.queue_offsets("TD", 0).1,
        10,
        "a restart without the oldest files delivers nothing again"
    );
    again.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_cancelled_timer_never_arrives_and_its_neighbour_in_the_slot_does() {
    let b = start_broker().await;
    let f = flow(&b, "TC", "CGCancel").await;
    let (seen, c, p) = (&f.seen, &f.consumer, &f.producer);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let deliver = now_ms + 2_500;
    let doomed = p
        .send(&Message::new("TC", "doomed").with_deliver_time_ms(deliver))
        .await
        .unwrap();
    p.send(&Message::new("TC", "kept").with_deliver_time_ms(deliver))
        .await
        .unwrap();
    p.send(&Message::timer_delete_marker("TC", &doomed.msg_id, deliver))
        .await
        .unwrap();
    assert!(
        wait_count(seen, 1, Duration::from_secs(6)).await,
        "the neighbour arrives"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let bodies: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| m.body.clone())
        .collect();
    assert_eq!(bodies, vec![bytes::Bytes::from_static(b"kept")]);
    assert_eq!(
        b.broker.store.queue_offsets("TC", 0).1,
        1,
        "neither the cancelled message nor its marker is stored on the topic"
    );
    c.shutdown().await;
    p.shutdown().await;
}
