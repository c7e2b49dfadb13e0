//! Sends a few messages with tags, keys and a user property, and prints where each one went.
//!
//! ```sh
//! cargo run --example producer -- [TOPIC] [COUNT]     # defaults: ExampleTopic 10
//! ```
//!
//! The name server is `127.0.0.1:9876` unless `NAMESRV_ADDR` says otherwise. A topic the
//! name server does not know yet is created by the broker on the first send (through the
//! `TBW102` template route, with 4 queues). `RUST_LOG=debug` shows the client's log.

use ferrocket::client::{ClientConfig, ClientInstance, Message, Producer, ProducerConfig};

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
    let topic = args.next().unwrap_or_else(|| "ExampleTopic".into());
    let count: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(10);

    let client = ClientInstance::new(ClientConfig {
        namesrv_addr: namesrv.clone(),
        ..Default::default()
    });
    let producer = Producer::new(
        ProducerConfig {
            group: "ExampleProducerGroup".into(),
            ..Default::default()
        },
        client,
    );
    producer.start();
    println!("producer started; name server {namesrv}; sending {count} messages to {topic}");

    for i in 0..count {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        let msg = Message::new(topic.as_str(), format!("Hello Ferrocket {i}"))
            .with_tags(tag)
            .with_keys([format!("order-{i}")])
            .with_property("source", "ferrocket-example");
        let r = producer.send(&msg).await?;
        println!(
            "sent #{i} tag={tag} key=order-{i}: {:?} msgId={} queue={}:{} offset={}",
            r.status, r.msg_id, r.queue.broker_name, r.queue.queue_id, r.queue_offset
        );
    }

    producer.shutdown().await;
    println!("done: {count} messages sent");
    Ok(())
}
