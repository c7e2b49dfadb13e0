//! Ordered messages: every order's steps go to one queue, picked by hashing the order id
//! with `HashSelector` (RocketMQ's SelectMessageQueueByHash), so a consumer reads each
//! order's steps in the order they were sent. Orders are interleaved step by step.
//!
//! ```sh
//! cargo run --example orderly_producer -- [TOPIC] [ORDERS]   # defaults: ExampleOrderTopic 5
//! ```
//!
//! The name server is `127.0.0.1:9876` unless `NAMESRV_ADDR` says otherwise.
//! `cargo run --example push_consumer -- ExampleOrderTopic 20` prints them.

use std::collections::{BTreeMap, BTreeSet};

use ferrocket::client::{
    ClientConfig, ClientInstance, HashSelector, Message, Producer, ProducerConfig,
};

const STEPS: [&str; 4] = ["CREATED", "PAID", "SHIPPED", "DONE"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let mut args = std::env::args().skip(1);
    let topic = args.next().unwrap_or_else(|| "ExampleOrderTopic".into());
    let orders: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(5);

    let producer = Producer::new(
        ProducerConfig {
            group: "ExampleOrderProducerGroup".into(),
            ..Default::default()
        },
        ClientInstance::new(ClientConfig {
            namesrv_addr: namesrv.clone(),
            ..Default::default()
        }),
    );
    producer.start();
    println!(
        "producer started; name server {namesrv}; {orders} orders x {} steps to {topic}",
        STEPS.len()
    );

    // order id -> the queues its steps went to (one each, if all went well)
    let mut queues: BTreeMap<String, BTreeSet<(String, i32)>> = BTreeMap::new();
    for (step, name) in STEPS.iter().enumerate() {
        for o in 0..orders {
            let order = format!("order-{o}");
            let msg = Message::new(topic.as_str(), format!("{order} step {} {name}", step + 1))
                .with_tags(*name)
                .with_keys([order.as_str()])
                .with_property("step", (step + 1).to_string());
            let r = producer
                .send_with_selector(&msg, &HashSelector, &order)
                .await?;
            println!(
                "{order} step {}/{} {name:<8} -> queue {}:{} offset {}",
                step + 1,
                STEPS.len(),
                r.queue.broker_name,
                r.queue.queue_id,
                r.queue_offset
            );
            queues
                .entry(order)
                .or_default()
                .insert((r.queue.broker_name.to_string(), r.queue.queue_id));
        }
    }
    producer.shutdown().await;

    let split: Vec<&String> = queues
        .iter()
        .filter(|(_, q)| q.len() != 1)
        .map(|(o, _)| o)
        .collect();
    if split.is_empty() {
        println!("done: every order's steps went to one queue, in order");
        Ok(())
    } else {
        Err(format!("steps of {split:?} went to more than one queue").into())
    }
}
