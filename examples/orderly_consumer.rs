//! Orderly consumption: each queue is locked at the broker and its messages arrive one at a
//! time, in order. Run `ferrocket`, then `cargo run --example orderly_producer` and this.
//! NAMESRV_ADDR overrides 127.0.0.1:9876; it stops after 20 messages (the orderly producer sends 5 orders x 4 steps) or 60 s.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket::client::message::MessageExt;
use ferrocket::client::*;
use futures_util::FutureExt;

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let listener = move |msgs: Vec<MessageExt>| {
        let seen = seen.clone();
        async move {
            for m in msgs {
                println!(
                    "queue {} offset {}: {}",
                    m.queue_id,
                    m.queue_offset,
                    String::from_utf8_lossy(&m.body)
                );
                seen.fetch_add(1, Ordering::Relaxed);
            }
            ConsumeResult::Success
        }
        .boxed()
    };
    let config = PushConsumerConfig {
        group: "OrderlyExampleGroup".into(),
        consume_from_where: ConsumeFromWhere::FirstOffset,
        orderly: true,
        ..Default::default()
    };
    let client = ClientInstance::new(ClientConfig {
        namesrv_addr: namesrv,
        ..Default::default()
    });
    let consumer = PushConsumer::new(config, client, listener);
    consumer.subscribe("ExampleOrderTopic", "*");
    consumer.start().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while count.load(Ordering::Relaxed) < 20 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    consumer.shutdown().await;
    println!(
        "consumed {} messages in order",
        count.load(Ordering::Relaxed)
    );
    Ok(())
}
