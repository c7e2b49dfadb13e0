//! Embeds a broker with the per-topic quota plug-in of `quota.rs` and shows it at work:
//! a name server and a broker start in this process (ephemeral ports, a temp directory),
//! a producer sends 30 messages as fast as it can to a topic limited to 10 per second,
//! then the plug-in's own admin request code reads the counters.
//!
//! ```sh
//! cargo run --example plugin_quota
//! ```
//!
//! To write your own plug-in, copy `quota.rs`, change what `takes()` declares and the
//! callbacks, and add it with `BrokerBuilder::plugin` (docs/plugins.md).

mod quota;

use std::time::Duration;

use ferrocket::actors::broker::{BrokerBuilder, BrokerConfig};
use ferrocket::actors::metrics::MetricsRegistry;
use ferrocket::actors::namesrv::{Namesrv, NamesrvConfig};
use ferrocket::client::{ClientConfig, ClientInstance, Message, Producer, ProducerConfig};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;
use quota::{Quota, QUOTA_COUNTERS};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    actix_rt::System::new().block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let registry = MetricsRegistry::new();
    let namesrv = Namesrv::start(
        NamesrvConfig {
            listen_addr: "127.0.0.1:0".parse()?,
            metrics_addr: None,
            kv_config_path: dir.path().join("kvConfig.json"),
            ..Default::default()
        },
        registry.clone(),
    )
    .await?;
    let ns = namesrv.local_addr().to_string();
    let mut config = BrokerConfig {
        namesrv_addr: ns.clone(),
        broker_ip1: "127.0.0.1".parse()?,
        listen_ip: "127.0.0.1".parse()?,
        listen_port: 0,
        vip_channel_enabled: false,
        metrics_addr: None,
        ..Default::default()
    };
    config.store.store_path_root_dir = dir.path().join("store");
    config.store.mapped_file_size_commit_log = 16 << 20;
    let broker = BrokerBuilder::new(config)
        .registry(registry)
        .plugin(Quota::new(10))
        .start()
        .await?;
    println!(
        "broker {} with the quota plug-in (10 msgs/s per topic)",
        broker.local_addr()
    );

    let producer = Producer::new(
        ProducerConfig {
            group: "QuotaDemo".into(),
            retry_times_when_send_failed: 0,
            ..Default::default()
        },
        ClientInstance::new(ClientConfig {
            namesrv_addr: ns,
            ..Default::default()
        }),
    );
    producer.start();
    let (mut ok, mut refused) = (0, 0);
    for i in 0..30 {
        match producer
            .send(&Message::new("QuotaTopic", format!("message {i}")))
            .await
        {
            Ok(_) => ok += 1,
            Err(e) => {
                refused += 1;
                if refused == 1 {
                    println!("first refusal: {e}");
                }
            }
        }
    }
    println!("sent 30: {ok} stored, {refused} refused");

    let answer = RemotingClient::default()
        .invoke(
            &broker.local_addr().to_string(),
            RemotingCommand::request(QUOTA_COUNTERS),
            Duration::from_secs(3),
        )
        .await?;
    println!(
        "QUOTA_COUNTERS ({QUOTA_COUNTERS}): {}",
        String::from_utf8_lossy(&answer.body)
    );
    producer.shutdown().await;
    broker.shutdown().await?;
    Ok(())
}
