//! mqbench: load generation against any RocketMQ-compatible name server, modelled on
//! RocketMQ's benchmark tools (`Producer` / `Consumer` in rocketmq-example). `produce`
//! runs N closed-loop senders (sync, async with a window of in-flight sends, oneway, or
//! batches); `consume` runs a push consumer (clustering or broadcasting, concurrent or
//! orderly). Both print RocketMQ's 10-second report line on stdout, a live status line on
//! stderr when it is a terminal, and a final summary with percentiles; `produce` counts
//! every failure, `consume` counts unique messages (by UNIQ_KEY) and duplicates and
//! measures end-to-end latency from the broker's store time to receipt.

pub mod consume;
pub mod histogram;
pub mod produce;
mod report;

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::client::ClientConfig;
use crate::protocol::SerializeType;

#[derive(Debug, Parser)]
#[command(
    name = "mqbench",
    about = "Load generator for RocketMQ-compatible brokers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send messages and report TPS and round-trip times.
    Produce(ProduceArgs),
    /// Consume messages and report TPS and end-to-end latency.
    Consume(ConsumeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Encoding {
    Json,
    Rocketmq,
}

/// What both commands share.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Name server address(es), `host:port;host:port`.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Stop after this many seconds (0 = no limit).
    #[arg(short = 'd', long, default_value_t = 0)]
    pub duration: u64,
    /// Stop after this many messages (0 = no limit).
    #[arg(short = 'c', long, default_value_t = 0)]
    pub count: u64,
    /// Seconds between report lines (RocketMQ's tools print every 10 s).
    #[arg(long, default_value_t = 10)]
    pub report_interval: u64,
    /// Request header encoding.
    #[arg(long, value_enum, default_value = "json")]
    pub encoding: Encoding,
    /// The broker's metrics address (`host:port`): its `process_cpu_seconds_total` is read
    /// before and after the run, and the SUMMARY shows the broker's CPU µs per message.
    #[arg(long)]
    pub metrics: Option<String>,
}

/// `process_cpu_seconds_total` from the Prometheus text at `http://ADDR/metrics`.
pub async fn broker_cpu_seconds(addr: &str) -> Result<f64, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = addr.trim_start_matches("http://");
    let host = addr.split('/').next().unwrap_or(addr);
    let read = async {
        let mut conn = tokio::net::TcpStream::connect(host).await?;
        conn.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
            .await?;
        let mut text = String::new();
        conn.read_to_string(&mut text).await?;
        Ok::<_, std::io::Error>(text)
    };
    let text = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .map_err(|_| format!("metrics at {host}: no answer within 5 s"))?
        .map_err(|e| format!("metrics at {host}: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("process_cpu_seconds_total "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("metrics at {host}: no process_cpu_seconds_total"))
}

impl Common {
    fn client_config(&self, instance: &str) -> ClientConfig {
        ClientConfig {
            namesrv_addr: self.namesrv.clone(),
            instance_name: format!("{instance}-{}", std::process::id()),
            serialize_type: match self.encoding {
                Encoding::Json => SerializeType::Json,
                Encoding::Rocketmq => SerializeType::RocketMq,
            },
            ..Default::default()
        }
    }

    fn limit(&self) -> Option<Duration> {
        (self.duration > 0).then(|| Duration::from_secs(self.duration))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SendMode {
    Sync,
    Async,
    Oneway,
}

#[derive(Debug, Clone, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub common: Common,
    /// Concurrent senders.
    #[arg(short = 'w', long, default_value_t = 8)]
    pub threads: usize,
    /// Body size in bytes.
    #[arg(short = 's', long, default_value_t = 1024)]
    pub size: usize,
    #[arg(long, value_enum, default_value = "sync")]
    pub mode: SendMode,
    /// In-flight sends per sender in async mode.
    #[arg(long, default_value_t = 16)]
    pub window: usize,
    /// Messages per send (1 = single messages; more = SEND_BATCH_MESSAGE).
    #[arg(short = 'b', long, default_value_t = 1)]
    pub batch: usize,
    /// Tag of every message (none when empty).
    #[arg(long, default_value = "TagA")]
    pub tag: String,
    /// Give every message a key (`key-<n>`), which the broker indexes.
    #[arg(short = 'k', long)]
    pub keys: bool,
    #[arg(short = 'g', long, default_value = "benchmark_producer")]
    pub group: String,
    /// Retries on another broker after a failed send (RocketMQ's tool uses 2).
    #[arg(long, default_value_t = 2)]
    pub retries: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Model {
    Clustering,
    Broadcasting,
}

#[derive(Debug, Clone, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(short = 'g', long, default_value = "benchmark_consumer")]
    pub group: String,
    #[arg(long, value_enum, default_value = "clustering")]
    pub model: Model,
    /// Orderly consumption (queue locks, one message at a time per queue).
    #[arg(long)]
    pub orderly: bool,
    /// Tag expression to subscribe with.
    #[arg(long, default_value = "*")]
    pub expression: String,
    /// Start from the first offset of queues new to the group (default: the last, as
    /// RocketMQ's consumers do).
    #[arg(long)]
    pub from_first: bool,
}

/// Formats microseconds as milliseconds with three decimals.
fn ms(micros: f64) -> String {
    format!("{:.3}", micros / 1000.0)
}
