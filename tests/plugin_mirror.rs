//! The built-in mirror plug-in between two real brokers (each with its own name server):
//! 10,000 messages copied with none missing and lag back to zero, a restarted source
//! resuming from its own offsets instead of copying everything again, and a source
//! `mqbroker` process killed with SIGKILL mid-stream resuming without loss.

mod common;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::broker::*;
use common::client::started_producer;
use common::*;
use ferrocket::actors::broker::plugins::builtin::PluginEntry;
use ferrocket::actors::broker::{Broker, BrokerBuilder, BrokerConfig};
use ferrocket::client::{Message, Producer};
use ferrocket::protocol::code::response;

const TOPIC: &str = "Mirrored";
const QUEUES: i32 = 4;

fn mirror_to(target_ns: &str) -> PluginEntry {
    let text = format!(
        r#"{{"namesrvAddr": "{target_ns}", "topics": [{{"topic": "{TOPIC}"}}], "intervalMs": 50}}"#
    );
    PluginEntry::with_config("mirror", &text).unwrap()
}

/// Sends bodies `m{from}`..`m{to}` in batches of 100, retrying a batch for up to 30 s
/// (a batch refused or unanswered may still have been stored: that is a duplicate, never
/// a loss).
async fn send_range(p: &Producer, from: usize, to: usize) {
    let ids: Vec<usize> = (from..to).collect();
    for chunk in ids.chunks(100) {
        let batch: Vec<Message> = chunk
            .iter()
            .map(|i| Message::new(TOPIC, format!("m{i}")).with_keys([format!("k{i}")]))
            .collect();
        let mut sent = false;
        for _ in 0..300 {
            if p.send_batch(&batch).await.is_ok() {
                sent = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(sent, "batch from {} not sent", chunk[0]);
    }
}

/// Every body stored in the target's queues of TOPIC.
async fn bodies(b: &TestBroker) -> Vec<String> {
    let mut out = Vec::new();
    for q in 0..QUEUES {
        let mut offset = 0;
        for _ in 0..10_000 {
            let r = b
                .call(pull(
                    "MG",
                    TOPIC,
                    q,
                    offset,
                    FLAG_SUBSCRIPTION,
                    0,
                    Some("*"),
                ))
                .await;
            if r.code != response::SUCCESS {
                break;
            }
            let recs = records(&r.body);
            offset = recs.last().map(|m| m.queue_offset + 1).unwrap_or(offset);
            out.extend(
                recs.iter()
                    .map(|m| String::from_utf8_lossy(&m.body).into_owned()),
            );
        }
    }
    out
}

/// Waits until the source's mirror reports no lag.
async fn wait_caught_up(source: &Broker, limit: Duration) -> bool {
    let lag = source.context.registry.gauge(
        "rocketmq_mirror_lag_messages",
        &[("plugin", "mirror"), ("topic", TOPIC)],
    );
    wait_until(limit, || {
        let lag = lag.clone();
        async move { lag.load(Ordering::Relaxed) == 0 }
    })
    .await
}

fn stored(b: &Broker) -> i64 {
    (0..QUEUES).map(|q| b.store.queue_offsets(TOPIC, q).1).sum()
}

async fn start_source(dir: &std::path::Path, ns: &str, target_ns: &str) -> Broker {
    let mut config: BrokerConfig = broker_config(dir, ns);
    config.plugins = vec![mirror_to(target_ns)];
    let b = BrokerBuilder::new(config).start().await.unwrap();
    b.store.override_disk_usage(Some(10));
    b
}

async fn wait_routes(target: &TestBroker, source_ns: &TestNamesrv, source: &Broker) {
    let c = ferrocket::remoting_client::RemotingClient::default();
    c.invoke(
        &source.local_addr().to_string(),
        create_topic(TOPIC, QUEUES),
        TIMEOUT,
    )
    .await
    .unwrap();
    target.call(create_topic(TOPIC, QUEUES)).await;
    for ns in [&target.ns.addr, &source_ns.addr] {
        let ok = wait_until(Duration::from_secs(10), || {
            let (c, ns) = (c.clone(), ns.clone());
            async move {
                c.invoke(&ns, route_request(TOPIC, 409), TIMEOUT)
                    .await
                    .map(|r| r.code == 0)
                    .unwrap_or(false)
            }
        })
        .await;
        assert!(ok, "route at {ns}");
    }
}

/// A target broker, and a source broker (with its own name server) mirroring TOPIC to it,
/// both with the topic routed.
async fn mirror_pair() -> (TestBroker, TestNamesrv, tempfile::TempDir, Broker) {
    let target = start_broker().await;
    let source_ns = start_namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let source = start_source(dir.path(), &source_ns.addr, &target.ns.addr).await;
    wait_routes(&target, &source_ns, &source).await;
    (target, source_ns, dir, source)
}

/// The bodies `m0`..`m{n}` the target does not hold.
async fn missing(target: &TestBroker, n: usize) -> Vec<usize> {
    let got: HashSet<String> = bodies(target).await.into_iter().collect();
    (0..n).filter(|i| !got.contains(&format!("m{i}"))).collect()
}

#[actix_rt::test]
async fn mirror_copies_ten_thousand_messages_with_none_missing_and_lag_returns_to_zero() {
    let (target, source_ns, _dir, source) = mirror_pair().await;

    let p = started_producer(&source_ns.addr);
    send_range(&p, 0, 10_000).await;

    let copied = wait_until(Duration::from_secs(180), || async {
        stored(&target.broker) >= 10_000
    })
    .await;
    assert!(copied, "target holds {} of 10000", stored(&target.broker));
    let missing = missing(&target, 10_000).await;
    assert!(
        missing.is_empty(),
        "{} missing, first {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );

    assert!(
        wait_caught_up(&source, Duration::from_secs(10)).await,
        "the mirror caught up"
    );
    source.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_restarted_source_resumes_from_its_offsets() {
    let (target, source_ns, dir, source) = mirror_pair().await;
    let p = started_producer(&source_ns.addr);
    send_range(&p, 0, 1_000).await;
    let ok = wait_until(Duration::from_secs(60), || async {
        stored(&target.broker) >= 1_000
    })
    .await;
    assert!(ok, "first half copied: {}", stored(&target.broker));
    source.shutdown().await.unwrap();
    drop(source);

    let source = start_source(dir.path(), &source_ns.addr, &target.ns.addr).await;
    // The restarted broker listens on a new port: a new producer finds its route.
    let p = started_producer(&source_ns.addr);
    send_range(&p, 1_000, 2_000).await;
    let ok = wait_until(Duration::from_secs(60), || async {
        stored(&target.broker) >= 2_000
    })
    .await;
    assert!(ok, "second half copied: {}", stored(&target.broker));
    // A mirror that restarted from the beginning would still be copying: wait until it
    // says it has caught up, then count.
    assert!(
        wait_caught_up(&source, Duration::from_secs(30)).await,
        "the mirror caught up"
    );
    let all = bodies(&target).await;
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), 2_000, "none missing");
    assert_eq!(
        all.len(),
        2_000,
        "after a clean stop nothing is copied twice"
    );
    source.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_source_killed_mid_stream_resumes_without_loss() {
    use std::process::{Command, Stdio};

    let target = start_broker().await;
    let source_ns = start_namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let port = common::interop::broker_port();
    let cfg = dir.path().join("broker.ron");
    std::fs::write(
        &cfg,
        format!(
            "(brokerIP1: \"127.0.0.1\", listenIp: \"127.0.0.1\", listenPort: {port}, metricsAddr: None, \
             registerNameServerPeriod: 1000, flushConsumerOffsetInterval: 1000, \
             store: (storePathRootDir: \"{}\", mappedFileSizeCommitLog: 16777216, diskFullRatio: 100), \
             plugins: [(name: \"mirror\", config: {{\"namesrvAddr\": \"{}\", \"topics\": [{{\"topic\": \"{TOPIC}\"}}], \"intervalMs\": 50}})])",
            dir.path().join("store").display(),
            target.ns.addr,
        ),
    )
    .unwrap();
    let spawn = || {
        let child = Command::new(env!("CARGO_BIN_EXE_mqbroker"))
            .args(["-c", cfg.to_str().unwrap(), "-n", &source_ns.addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        common::interop::wait_listening(port);
        child
    };
    let mut source = spawn();
    let addr = format!("127.0.0.1:{port}");
    let c = ferrocket::remoting_client::RemotingClient::default();
    c.invoke(&addr, create_topic(TOPIC, QUEUES), TIMEOUT)
        .await
        .unwrap();
    target.call(create_topic(TOPIC, QUEUES)).await;
    let p = started_producer(&source_ns.addr);

    send_range(&p, 0, 3_000).await;
    // Mid-stream: the mirror is still copying what was just sent.
    let copying = wait_until(Duration::from_secs(60), || async {
        stored(&target.broker) > 0
    })
    .await;
    assert!(copying, "the mirror started");
    source.kill().unwrap();
    source.wait().unwrap();
    let copied_before = stored(&target.broker);
    eprintln!("killed the source with {copied_before} of 3000 copied");

    let mut source = spawn();
    send_range(&p, 3_000, 6_000).await;
    let all_there = wait_until(Duration::from_secs(120), || async {
        stored(&target.broker) >= 6_000 && missing(&target, 6_000).await.is_empty()
    })
    .await;
    let missing = missing(&target, 6_000).await.len();
    let _ = source.kill();
    let _ = source.wait();
    assert!(
        all_there,
        "{missing} of 6000 missing (copied before the kill: {copied_before})"
    );
}
