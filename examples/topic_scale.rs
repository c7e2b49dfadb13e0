//! Topic scale: a name server and a broker in this process (loopback, temp dir), then
//! 1. 10,000 topics × 8 queues created one UPDATE_AND_CREATE_TOPIC at a time (each waits
//!    for the previous answer, which comes once the name server knows the topic),
//! 2. the rest up to N topics (default 100,000) created 64 requests in flight,
//! 3. waits until the name server lists all of them (registration, split in parts),
//! 4. RssAnon idle, /metrics size and render time, a route query and GET_ALL_TOPIC_LIST,
//! 5. one message to each queue of the first W/8 topics (W = 16,000 queues written),
//!    RssAnon and /metrics again.
//!
//! RssAnon is the whole process: broker, name server and this client together.
//!
//! `cargo run --release --example topic_scale [N] [W]`

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket::actors::broker::{BrokerBuilder, BrokerConfig};
use ferrocket::actors::metrics::MetricsRegistry;
use ferrocket::actors::namesrv::{Namesrv, NamesrvConfig};
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::header::namesrv::GetRouteInfoRequestHeader;
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;
use ferrocket::store::config::StoreConfig;
use futures_util::stream::{self, StreamExt};

const TIMEOUT: Duration = Duration::from_secs(30);
const QUEUES: i32 = 8;

fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("RssAnon"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn cmd(code: i32, ext: &[(&str, &str)]) -> RemotingCommand {
    let mut c = RemotingCommand::request(code);
    for (k, v) in ext {
        c.put_ext(*k, *v);
    }
    c
}

fn create_topic(topic: &str) -> RemotingCommand {
    let q = QUEUES.to_string();
    cmd(
        request::UPDATE_AND_CREATE_TOPIC,
        &[
            ("topic", topic),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", &q),
            ("writeQueueNums", &q),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("topicSysFlag", "0"),
            ("order", "false"),
        ],
    )
}

fn send(topic: &str, queue_id: i32, uniq: &str) -> RemotingCommand {
    let props = format!("UNIQ_KEY\u{1}{uniq}\u{2}WAIT\u{1}true\u{2}");
    let q = queue_id.to_string();
    let mut c = cmd(
        request::SEND_MESSAGE_V2,
        &[
            ("a", "PG"),
            ("b", topic),
            ("c", "TBW102"),
            ("d", "8"),
            ("e", &q),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", &props),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
        ],
    );
    c.body = Bytes::from_static(b"scale");
    c
}

fn name(i: usize) -> String {
    format!("scale-{i:06}")
}

async fn call(client: &RemotingClient, addr: &str, c: RemotingCommand) -> RemotingCommand {
    let r = client
        .invoke(addr, c, TIMEOUT)
        .await
        .expect("request failed");
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    r
}

fn metrics_figures(registry: &MetricsRegistry) -> String {
    let start = Instant::now();
    let text = registry.render_prometheus();
    format!(
        "/metrics {} KiB rendered in {:.1} ms",
        text.len() / 1024,
        start.elapsed().as_secs_f64() * 1e3
    )
}

#[actix_rt::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let written: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = MetricsRegistry::new();
    let namesrv = Namesrv::start(
        NamesrvConfig {
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            metrics_addr: None,
            kv_config_path: dir.path().join("namesrv/kvConfig.json"),
            ..Default::default()
        },
        registry.clone(),
    )
    .await
    .expect("name server");
    let ns = namesrv.local_addr().to_string();
    let broker = BrokerBuilder::new(BrokerConfig {
        namesrv_addr: ns.clone(),
        broker_ip1: "127.0.0.1".parse().unwrap(),
        listen_ip: "127.0.0.1".parse().unwrap(),
        listen_port: 0,
        metrics_addr: None,
        store: StoreConfig {
            store_path_root_dir: dir.path().join("store"),
            mapped_file_size_commit_log: 64 << 20,
            // 1,000 units per consume-queue file: 16,000 written queues stay 320 MB on disk.
            mapped_file_size_consume_queue: 20 * 1000,
            ..Default::default()
        },
        ..Default::default()
    })
    .registry(registry.clone())
    .start()
    .await
    .expect("broker");
    let addr = broker.local_addr().to_string();
    let client = RemotingClient::default();
    println!("baseline: RssAnon {} KiB", rss_anon_kib());

    let first = n.min(10_000);
    let start = Instant::now();
    for i in 0..first {
        call(&client, &addr, create_topic(&name(i))).await;
    }
    let t = start.elapsed();
    println!(
        "created {first} topics one at a time in {:.2} s ({:.0} µs each)",
        t.as_secs_f64(),
        t.as_secs_f64() * 1e6 / first as f64
    );

    let start = Instant::now();
    stream::iter(first..n)
        .map(|i| {
            let (client, addr) = (&client, &addr);
            async move {
                call(client, addr, create_topic(&name(i))).await;
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    println!(
        "created {} more topics, 64 in flight, in {:.2} s",
        n - first,
        start.elapsed().as_secs_f64()
    );

    let all_topics = || async {
        let r = call(
            &client,
            &ns,
            RemotingCommand::request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
        )
        .await;
        r.body.len()
    };
    let start = Instant::now();
    let mut listed = 0;
    while start.elapsed() < Duration::from_secs(120) {
        let r = call(
            &client,
            &ns,
            RemotingCommand::request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
        )
        .await;
        listed = String::from_utf8_lossy(&r.body).matches("scale-").count();
        if listed >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "name server lists {listed} of {n} topics ({:.2} s after the last create)",
        start.elapsed().as_secs_f64()
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "idle with {} topics × {QUEUES} queues: RssAnon {} KiB; {}",
        n,
        rss_anon_kib(),
        metrics_figures(&registry)
    );
    let route = |topic: String| {
        RemotingCommand::request_with(
            request::GET_ROUTEINFO_BY_TOPIC,
            &GetRouteInfoRequestHeader {
                topic,
                accept_standard_json_only: None,
            },
        )
    };
    let start = Instant::now();
    for i in 0..100 {
        call(&client, &ns, route(name(i * (n / 100).max(1)))).await;
    }
    println!(
        "route query: {:.0} µs each (mean of 100)",
        start.elapsed().as_secs_f64() * 1e6 / 100.0
    );
    let start = Instant::now();
    let bytes = all_topics().await;
    println!(
        "GET_ALL_TOPIC_LIST_FROM_NAMESERVER: {:.1} ms, {} KiB",
        start.elapsed().as_secs_f64() * 1e3,
        bytes / 1024
    );

    let before = rss_anon_kib();
    let topics_written = written / QUEUES as usize;
    let start = Instant::now();
    stream::iter(0..topics_written * QUEUES as usize)
        .map(|k| {
            let (client, addr) = (&client, &addr);
            async move {
                let (t, q) = (k / QUEUES as usize, (k % QUEUES as usize) as i32);
                call(client, addr, send(&name(t), q, &format!("u{k}"))).await;
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    println!(
        "wrote one message to each of {} queues in {:.2} s",
        topics_written * QUEUES as usize,
        start.elapsed().as_secs_f64()
    );
    while broker.store.dispatched_offset() < broker.store.commit_log().max_offset() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_anon_kib();
    println!(
        "with {} queues written: RssAnon {after} KiB ({:.1} KiB per written queue); {}",
        topics_written * QUEUES as usize,
        after.saturating_sub(before) as f64 / (topics_written * QUEUES as usize).max(1) as f64,
        metrics_figures(&registry)
    );
    let _ = broker.shutdown().await;
}
