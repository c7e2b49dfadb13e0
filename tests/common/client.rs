//! The Rust client as tests use it: a ClientInstance with short rebalance, heartbeat,
//! route and offset intervals, a started producer of group PG, and a push consumer that
//! records what it receives.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrocket::client::message::MessageExt;
use ferrocket::client::*;
use futures_util::FutureExt;

use super::broker::wait_until;

pub fn fast_client(ns: &str, name: &str) -> ClientInstance {
    ClientInstance::new(ClientConfig {
        namesrv_addr: ns.to_owned(),
        instance_name: name.to_owned(),
        rebalance_interval: Duration::from_millis(300),
        persist_consumer_offset_interval: Duration::from_millis(200),
        heartbeat_broker_interval: Duration::from_millis(300),
        poll_name_server_interval: Duration::from_millis(500),
        ..Default::default()
    })
}

pub fn started_producer(ns: &str) -> Producer {
    let p = Producer::new(
        ProducerConfig {
            group: "PG".into(),
            ..Default::default()
        },
        fast_client(ns, "producer"),
    );
    p.start();
    p
}

/// What a recording consumer received, with arrival times.
pub type Seen = Arc<Mutex<Vec<(Instant, MessageExt)>>>;

/// A push consumer from the first offset that records every message and answers
/// success, or RECONSUME_LATER when `ok` is false.
pub fn recording_consumer(
    ns: &str,
    group: &str,
    topic: &str,
    seen: Seen,
    ok: bool,
    max: i32,
    dir: &std::path::Path,
) -> PushConsumer {
    let listener = move |msgs: Vec<MessageExt>| {
        let seen = seen.clone();
        async move {
            for m in msgs {
                seen.lock().unwrap().push((Instant::now(), m));
            }
            if ok {
                ConsumeResult::Success
            } else {
                ConsumeResult::ReconsumeLater
            }
        }
        .boxed()
    };
    let c = PushConsumer::new(
        PushConsumerConfig {
            group: group.to_owned(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            broker_suspend_max: Duration::from_millis(500),
            offset_store_dir: dir.to_owned(),
            max_reconsume_times: max,
            ..Default::default()
        },
        fast_client(ns, group),
        listener,
    );
    c.subscribe(topic, "*");
    c
}

pub async fn wait_count(seen: &Seen, n: usize, limit: Duration) -> bool {
    wait_until(limit, || {
        let seen = seen.clone();
        async move { seen.lock().unwrap().len() >= n }
    })
    .await
}

/// A topic of one queue on a test broker, a started recording consumer of it and a
/// started producer; `dir` holds the consumer's offset files.
pub struct Flow {
    pub seen: Seen,
    pub consumer: PushConsumer,
    pub producer: Producer,
    pub dir: tempfile::TempDir,
}

pub async fn flow(b: &super::broker::TestBroker, topic: &str, group: &str) -> Flow {
    b.call(super::broker::create_topic(topic, 1)).await;
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let consumer = recording_consumer(&b.ns.addr, group, topic, seen.clone(), true, 16, dir.path());
    consumer.start().await.unwrap();
    let producer = started_producer(&b.ns.addr);
    Flow {
        seen,
        consumer,
        producer,
        dir,
    }
}
