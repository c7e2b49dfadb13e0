//! Interoperability of the Rust client with npm `ali-ons`, through our `mqnamesrv` and
//! `mqbroker` processes: what the Rust `Producer` sends (tags, two keys, user properties, one
//! of them non-ASCII) an ali-ons push consumer receives intact, and what ali-ons sends the
//! Rust `PushConsumer` receives intact; 100 messages each way, one in ten with a tag the
//! consumer does not subscribe to. The scripts are tests/interop/ali_ons_consume_only.js and
//! ali_ons_produce_only.js (see their headers for the message layout). An ali-ons consumer
//! with a SQL92 selector (ali_ons_sql_consume.js) receives only the messages it matches.
//!
//! `.ci/run` installs ali-ons. Without it these tests fail, unless FERROCKET_SKIP_INTEROP=1
//! is set to skip them on purpose.

mod common;

use common::interop::*;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrocket::client::message::MessageExt;
use ferrocket::client::*;
use ferrocket::protocol::code::request;
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;
use futures_util::FutureExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const COUNT: usize = 100;
const TIMEOUT: Duration = Duration::from_secs(5);

fn require_ali_ons() {
    assert!(
        interop_dir().join("node_modules/ali-ons").is_dir(),
        "ali-ons is not installed: run `npm ci --prefix tests/interop` (or .ci/run)"
    );
}

/// The message layout both scripts share: tag, keys, properties and body of message `i`.
fn tag_of(i: usize) -> &'static str {
    match i {
        i if i % 10 == 9 => "TagC",
        i if i % 2 == 0 => "TagA",
        _ => "TagB",
    }
}

fn note_of(i: usize) -> String {
    format!("ünï-{i} ✓")
}

/// `mqnamesrv` and `mqbroker` as child processes on loopback ports, data in a temp dir.
struct Cluster {
    _dir: tempfile::TempDir,
    namesrv: std::process::Child,
    broker: std::process::Child,
    ns_addr: String,
    broker_addr: String,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let (namesrv, ns_addr) = spawn_namesrv(dir.path());
        let port = broker_port();
        let broker_cfg = dir.path().join("broker.ron");
        std::fs::write(
            &broker_cfg,
            format!(
                "(brokerIP1: \"127.0.0.1\", listenIp: \"127.0.0.1\", listenPort: {port}, metricsAddr: None, \
                 registerNameServerPeriod: 2000, store: (storePathRootDir: \"{}\", mappedFileSizeCommitLog: 67108864, diskFullRatio: 100))",
                dir.path().join("store").display()
            ),
        )
        .unwrap();
        let broker = std::process::Command::new(env!("CARGO_BIN_EXE_mqbroker"))
            .args(["-c", broker_cfg.to_str().unwrap(), "-n", &ns_addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_listening(port);
        Cluster {
            _dir: dir,
            namesrv,
            broker,
            ns_addr,
            broker_addr: format!("127.0.0.1:{port}"),
        }
    }

    /// UPDATE_AND_CREATE_TOPIC on the broker (ali-ons cannot have a topic auto-created), then
    /// waits until the name server serves the topic's route.
    async fn create_topic(&self, topic: &str, queues: i32) {
        let client = RemotingClient::default();
        let q = queues.to_string();
        let mut create = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC);
        for (k, v) in [
            ("topic", topic),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", &q),
            ("writeQueueNums", &q),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("topicSysFlag", "0"),
            ("order", "false"),
        ] {
            create.put_ext(k, v);
        }
        let r = client
            .invoke(&self.broker_addr, create, TIMEOUT)
            .await
            .expect("UPDATE_AND_CREATE_TOPIC failed");
        assert_eq!(r.code, 0, "UPDATE_AND_CREATE_TOPIC: {:?}", r.remark);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut route = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC);
            route.put_ext("topic", topic);
            if let Ok(r) = client.invoke(&self.ns_addr, route, TIMEOUT).await {
                if r.code == 0 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the name server never served {topic}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.broker.kill();
        let _ = self.broker.wait();
        let _ = self.namesrv.kill();
        let _ = self.namesrv.wait();
    }
}

fn client(ns: &str, name: &str) -> ClientInstance {
    ClientInstance::new(ClientConfig {
        namesrv_addr: ns.to_owned(),
        instance_name: name.to_owned(),
        rebalance_interval: Duration::from_millis(500),
        persist_consumer_offset_interval: Duration::from_millis(500),
        heartbeat_broker_interval: Duration::from_millis(500),
        poll_name_server_interval: Duration::from_millis(1000),
        ..Default::default()
    })
}

fn node(script: &str, args: &[&str], home: &std::path::Path) -> Child {
    Command::new("node")
        .arg(interop_dir().join(script))
        .args(args)
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("cannot run node")
}

/// Reads stdout lines until `stop(line)` holds or stdout ends; returns every line read.
async fn read_lines<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut tokio::io::Lines<R>,
    stop: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(Some(l)) = lines.next_line().await {
        let done = stop(&l);
        out.push(l);
        if done {
            break;
        }
    }
    out
}

fn result_of(lines: &[String]) -> String {
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_from_the_rust_producer_reach_an_ali_ons_consumer_intact() {
    if skip() {
        return;
    }
    require_ali_ons();
    let c = Cluster::start();
    let topic = "XcRustToOns";
    c.create_topic(topic, 8).await;

    let producer = Producer::new(
        ProducerConfig {
            group: "PXcRustToOns".into(),
            ..Default::default()
        },
        client(&c.ns_addr, "rust-producer"),
    );
    producer.start();
    let send = |i: usize| {
        let msg = Message::new(topic, format!("body-{i}"))
            .with_tags(tag_of(i))
            .with_keys([format!("k-{i}"), format!("u-{i}")])
            .with_property("idx", i.to_string())
            .with_property("note", note_of(i));
        let p = &producer;
        async move {
            let r = p
                .send(&msg)
                .await
                .unwrap_or_else(|e| panic!("send {i}: {e}"));
            assert_eq!(r.status, SendStatus::SendOk, "send {i}");
        }
    };
    // Half before the consumer exists (stored, read from offset 0), half while it pulls.
    for i in 0..COUNT / 2 {
        send(i).await;
    }

    let home = tempfile::tempdir().unwrap();
    let mut child = node(
        "ali_ons_consume_only.js",
        &[&c.ns_addr, topic, "GXcRustToOns", &COUNT.to_string()],
        home.path(),
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(
        Duration::from_secs(30),
        read_lines(&mut lines, |l| l == "READY" || l.starts_with("RESULT ")),
    )
    .await
    .expect("the ali-ons consumer never said READY");
    assert_eq!(
        first.last().map(String::as_str),
        Some("READY"),
        "ali_ons_consume_only.js: {first:?}"
    );
    for i in COUNT / 2..COUNT {
        send(i).await;
    }
    producer.shutdown().await;

    let rest = tokio::time::timeout(Duration::from_secs(90), read_lines(&mut lines, |_| false))
        .await
        .expect("ali_ons_consume_only.js did not finish");
    let status = child.wait().await.unwrap();
    let line = result_of(&rest);
    eprintln!("{line}");
    assert!(
        status.success() && line.starts_with("RESULT ok"),
        "ali_ons_consume_only.js: {line}"
    );
    assert!(
        line.contains(&format!("received={}", COUNT - COUNT / 10)),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_from_ali_ons_reach_the_rust_push_consumer_intact() {
    if skip() {
        return;
    }
    require_ali_ons();
    let c = Cluster::start();
    let topic = "XcOnsToRust";
    c.create_topic(topic, 8).await;

    let seen: Arc<Mutex<Vec<MessageExt>>> = Default::default();
    let listener = {
        let seen = seen.clone();
        move |msgs: Vec<MessageExt>| {
            seen.lock().unwrap().extend(msgs);
            async { ConsumeResult::Success }.boxed()
        }
    };
    let offsets = tempfile::tempdir().unwrap();
    let consumer = PushConsumer::new(
        PushConsumerConfig {
            group: "GXcOnsToRust".into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            broker_suspend_max: Duration::from_millis(1000),
            offset_store_dir: offsets.path().to_owned(),
            ..Default::default()
        },
        client(&c.ns_addr, "rust-consumer"),
        listener,
    );
    consumer.subscribe(topic, "TagA || TagB");
    consumer.start().await.unwrap();

    let home = tempfile::tempdir().unwrap();
    let mut child = node(
        "ali_ons_produce_only.js",
        &[&c.ns_addr, topic, "PXcOnsToRust", &COUNT.to_string()],
        home.path(),
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let out = tokio::time::timeout(Duration::from_secs(90), read_lines(&mut lines, |_| false))
        .await
        .expect("ali_ons_produce_only.js did not finish");
    let status = child.wait().await.unwrap();
    let line = result_of(&out);
    eprintln!("{line}");
    assert!(
        status.success() && line.starts_with(&format!("RESULT ok: sent={COUNT} ")),
        "ali_ons_produce_only.js: {line}"
    );

    let expected: Vec<usize> = (0..COUNT).filter(|i| tag_of(*i) != "TagC").collect();
    let all_in = || {
        let seen = seen.lock().unwrap();
        let bodies: std::collections::BTreeSet<String> = seen
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect();
        expected
            .iter()
            .all(|i| bodies.contains(&format!("body-{i}")))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !all_in() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // late duplicates or TagC
    consumer.shutdown().await;

    let seen = seen.lock().unwrap().clone();
    let mut by_index: BTreeMap<usize, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for m in &seen {
        let body = String::from_utf8_lossy(&m.body).into_owned();
        let Some(i) = body
            .strip_prefix("body-")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            problems.push(format!("unparsable body {body:?}"));
            continue;
        };
        *by_index.entry(i).or_default() += 1;
        let (k, u, note) = (format!("k-{i}"), format!("u-{i}"), note_of(i));
        if m.topic != topic {
            problems.push(format!("{i}: topic {}", m.topic));
        }
        if m.tags() != Some(tag_of(i)) {
            problems.push(format!("{i}: tags {:?}", m.tags()));
        }
        if m.keys() != vec![k.as_str(), u.as_str()] {
            problems.push(format!("{i}: keys {:?}", m.keys()));
        }
        if m.property("idx") != Some(i.to_string().as_str()) {
            problems.push(format!("{i}: idx {:?}", m.property("idx")));
        }
        if m.property("note") != Some(note.as_str()) {
            problems.push(format!("{i}: note {:?}", m.property("note")));
        }
        if m.msg_id().is_empty() {
            problems.push(format!("{i}: no message id"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} bad: {:?}",
        problems.len(),
        &problems[..problems.len().min(5)]
    );
    let missing: Vec<&usize> = expected
        .iter()
        .filter(|i| !by_index.contains_key(i))
        .collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?} of {}",
        expected.len()
    );
    let tag_c: Vec<&usize> = by_index.keys().filter(|i| tag_of(**i) == "TagC").collect();
    assert!(tag_c.is_empty(), "TagC delivered: {tag_c:?}");
    let duplicates: usize = by_index.values().map(|n| n - 1).sum();
    eprintln!(
        "rust consumer: expected={} received={} duplicates={duplicates}",
        expected.len(),
        by_index.len()
    );
}

/// A SQL92 selector from a third-party client: the broker filters by properties for
/// ali-ons, which passes the selector through without evaluating it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ali_ons_sql92_consumer_receives_only_matching_messages() {
    if skip() {
        return;
    }
    require_ali_ons();
    let c = Cluster::start();
    let topic = "XcOnsSql";
    c.create_topic(topic, 4).await;
    let producer = Producer::new(
        ProducerConfig {
            group: "PXcOnsSql".into(),
            ..Default::default()
        },
        client(&c.ns_addr, "rust-producer"),
    );
    producer.start();
    // idx 0..40; `a` is idx % 10 on the first 30, missing on the rest.
    for i in 0..40usize {
        let mut m = Message::new(topic, format!("body-{i}")).with_property("idx", i.to_string());
        if i < 30 {
            m = m.with_property("a", (i % 10).to_string());
        }
        producer.send(&m).await.unwrap();
    }
    producer.shutdown().await;
    let expected: Vec<String> = (0..30usize)
        .filter(|i| (3..=5).contains(&(i % 10)))
        .map(|i| i.to_string())
        .collect();

    let home = tempfile::tempdir().unwrap();
    let mut child = node(
        "ali_ons_sql_consume.js",
        &[
            &c.ns_addr,
            topic,
            "GXcOnsSql",
            "a BETWEEN 3 AND 5",
            &expected.join(","),
        ],
        home.path(),
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let out = tokio::time::timeout(Duration::from_secs(90), read_lines(&mut lines, |_| false))
        .await
        .expect("ali_ons_sql_consume.js did not finish");
    let status = child.wait().await.unwrap();
    let line = result_of(&out);
    eprintln!("{line}");
    assert!(
        status.success() && line.starts_with("RESULT ok"),
        "ali_ons_sql_consume.js: {line}"
    );
    assert!(
        line.contains(&format!("received={}", expected.len())),
        "{line}"
    );
}
