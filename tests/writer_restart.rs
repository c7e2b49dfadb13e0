//! A CommitLogWriter restarted while timer and delayed messages come due: every due
//! message is delivered exactly once and none is dropped, and a producer whose send meets
//! the restarting writer is answered SYSTEM_BUSY (which clients retry), never
//! MESSAGE_ILLEGAL. The writer's appends to the due messages' topic are made to panic
//! (the failpoint is scoped to a topic, so the restarts hit exactly the timer's and the
//! schedule service's re-stores, then the producer's sends).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::broker::*;
use common::client::*;
use ferrocket::client::*;
use ferrocket::protocol::code::response;

const LEVELS: &str = "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";
const EACH: usize = 10;

#[actix_rt::test]
async fn due_timer_and_delayed_messages_survive_writer_restarts_and_producers_see_system_busy() {
    let b = start_broker_with(|c| c.store.message_delay_level = LEVELS.into()).await;
    for t in ["RT", "RP"] {
        assert_eq!(b.call(create_topic(t, 1)).await.code, response::SUCCESS);
    }
    // Armed before anything is sent: the sends to RT are rewritten to the timer and
    // schedule topics, so only the re-stores of due messages append to RT.
    let restarts_before = b.broker.store.writer_metrics().restarts();
    b.broker.store.inject_writer_panics("RT", 4);
    let p = started_producer(&b.ns.addr);
    let mut expected = BTreeSet::new();
    for i in 0..EACH {
        let (timer, delayed) = (format!("timer-{i}"), format!("delayed-{i}"));
        p.send(&Message::new("RT", timer.clone()).with_delay_ms(1_500))
            .await
            .unwrap();
        p.send(&Message::new("RT", delayed.clone()).with_delay_level(1))
            .await
            .unwrap();
        expected.extend([timer, delayed]);
    }
    b.broker.store.inject_writer_panics("RP", 2);
    let mut codes = Vec::new();
    for i in 0..10 {
        let r = b
            .call(send_v2("RP", 0, b"x", "t", "k", &format!("rp-{i}")))
            .await;
        codes.push(r.code);
    }
    assert!(
        !codes.contains(&response::MESSAGE_ILLEGAL),
        "a restarting writer is not an illegal message: {codes:?}"
    );
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == response::SYSTEM_BUSY)
            .count(),
        2,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == response::SUCCESS).count(),
        8,
        "{codes:?}"
    );

    let all_due = wait_until(Duration::from_secs(40), || async {
        b.broker.store.queue_offsets("RT", 0).1 >= (2 * EACH) as i64
    })
    .await;
    let restarts = b.broker.store.writer_metrics().restarts() - restarts_before;
    assert!(
        all_due,
        "only {} of {} due messages delivered ({restarts} writer restarts)",
        b.broker.store.queue_offsets("RT", 0).1,
        2 * EACH
    );
    assert_eq!(
        restarts, 6,
        "four re-stores and two sends met a panicking writer"
    );
    // Give a duplicate time to show up, then read everything back.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let got = b
        .broker
        .store
        .get_message("RT", 0, 0, 64, Default::default(), |_| true);
    let bodies: Vec<String> = got
        .messages
        .iter()
        .map(|raw| {
            let m = ferrocket::protocol::message::decode_record(raw).unwrap();
            String::from_utf8_lossy(&m.body).into_owned()
        })
        .collect();
    assert_eq!(
        bodies.len(),
        2 * EACH,
        "each delivered exactly once: {bodies:?}"
    );
    assert_eq!(bodies.into_iter().collect::<BTreeSet<_>>(), expected);
    p.shutdown().await;
}
