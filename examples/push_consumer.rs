//! A push consumer (clustering, group `ExampleConsumerGroup`) that prints every message it
//! receives, and stops after COUNT messages or TIMEOUT seconds, whichever comes first.
//!
//! ```sh
//! cargo run --example push_consumer -- [TOPIC] [COUNT] [TIMEOUT] [EXPRESSION]
//! #   defaults: ExampleTopic 10 30 '*'   (an expression: '*' or tags like 'TagA || TagB')
//! ```
//!
//! The name server is `127.0.0.1:9876` unless `NAMESRV_ADDR` says otherwise. A new group
//! starts at the first offset of every queue, so messages sent before it started arrive
//! too; a group that ran before goes on from the offsets it committed. Start it before or
//! after `cargo run --example producer`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket::client::message::MessageExt;
use ferrocket::client::{
    ClientConfig, ClientInstance, ConsumeFromWhere, ConsumeResult, PushConsumer, PushConsumerConfig,
};
use futures_util::FutureExt;
use tokio::sync::Notify;

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
    let want: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(10);
    let timeout = Duration::from_secs(args.next().map(|n| n.parse()).transpose()?.unwrap_or(30));
    let expression = args.next().unwrap_or_else(|| "*".into());

    let received = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let listener = {
        let (received, enough) = (received.clone(), enough.clone());
        move |msgs: Vec<MessageExt>| {
            for m in &msgs {
                let n = received.fetch_add(1, Ordering::SeqCst) + 1;
                println!(
                    "received #{n}: topic={} queue={} offset={} tags={} keys={:?} source={} msgId={} body={:?}",
                    m.topic,
                    m.queue_id,
                    m.queue_offset,
                    m.tags().unwrap_or("-"),
                    m.keys(),
                    m.property("source").unwrap_or("-"),
                    m.msg_id(),
                    String::from_utf8_lossy(&m.body),
                );
                if n >= want {
                    enough.notify_one();
                }
            }
            async { ConsumeResult::Success }.boxed()
        }
    };

    let client = ClientInstance::new(ClientConfig {
        namesrv_addr: namesrv.clone(),
        // Shorter than RocketMQ's 20 s and 30 s. A consumer started before its topic exists
        // knows no broker to heartbeat yet, and gets no queues until the broker has seen a
        // heartbeat after the topic appeared: with these it starts within seconds of the
        // first send.
        rebalance_interval: Duration::from_secs(2),
        heartbeat_broker_interval: Duration::from_secs(2),
        ..Default::default()
    });
    let consumer = PushConsumer::new(
        PushConsumerConfig {
            group: "ExampleConsumerGroup".into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            ..Default::default()
        },
        client.clone(),
        listener,
    );
    consumer.subscribe(&topic, &expression);
    consumer.start().await?;
    println!(
        "consumer started; name server {namesrv}; topic {topic} '{expression}'; \
         waiting for {want} messages (at most {}s)",
        timeout.as_secs()
    );

    let finished = tokio::time::timeout(timeout, enough.notified())
        .await
        .is_ok();
    consumer.shutdown().await;
    client.shutdown().await;
    let n = received.load(Ordering::SeqCst);
    if finished {
        println!("done: received {n} messages");
    } else {
        println!(
            "timed out after {}s: received {n} of {want} messages",
            timeout.as_secs()
        );
    }
    Ok(())
}
