//! The Rust client as tests use it: a ClientInstance with short rebalance, heartbeat,
//! route and offset intervals, and a started producer of group PG.
#![allow(dead_code)]

use std::time::Duration;

use ferrocket::client::*;

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
