//! The web console end to end in headless Chromium: `ferrocket` (name server and broker in
//! one process) on loopback ports, a topic with keyed messages, a consumer group left
//! behind by a known number of messages and a dead letter; then `tests/console/console.js`
//! (npm `playwright-core` over Debian's `chromium`) loads every page, creates a topic
//! through the page's form and confirmation, reads a group's lag, finds a message by key and
//! resends the dead letter. This test checks what the pages showed against the broker:
//! the topic in `mqadmin topicList`, the lag against GET_CONSUME_STATS, the body against
//! what was sent. Screenshots of each page go to `target/console-screenshots/`.
//!
//! `.ci/run` installs Chromium and the npm package; FERROCKET_SKIP_CONSOLE=1 skips on
//! purpose, and FERROCKET_CHROMIUM names another browser binary.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::broker::wait_until;
use common::client::{recording_consumer, started_producer, wait_count, Seen};
use common::interop::{broker_port, free_port, sigterm_and_wait, wait_listening};
use common::{http_get, TIMEOUT};
use ferrocket::client::Message;
use ferrocket::protocol::body::broker::ConsumeStats;
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::header::broker::{
    ConsumerSendMsgBackRequestHeader, GetConsumeStatsRequestHeader,
};
use ferrocket::protocol::message::decode_offset_msg_id;
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;

const TOPIC: &str = "ConsoleOrders";
const GROUP: &str = "ConsoleGroup";
const NEW_TOPIC: &str = "ConsoleCreated";

/// `ferrocket` as a child process, stopped (SIGTERM) when dropped.
struct Ferrocket {
    child: std::process::Child,
    ns: String,
    broker: String,
    metrics: String,
    _dir: tempfile::TempDir,
}

impl Ferrocket {
    fn start() -> Ferrocket {
        let dir = tempfile::tempdir().unwrap();
        let (ns_port, broker_port, metrics_port) = (free_port(), broker_port(), free_port());
        let cfg = dir.path().join("standalone.ron");
        std::fs::write(
            &cfg,
            format!(
                "(metricsAddr: Some(\"127.0.0.1:{metrics_port}\"),
                  namesrv: (listenAddr: \"127.0.0.1:{ns_port}\", metricsAddr: None, kvConfigPath: \"{kv}\"),
                  broker: (brokerClusterName: \"DefaultCluster\", brokerName: \"broker-a\",
                    namesrvAddr: \"127.0.0.1:{ns_port}\", brokerIP1: \"127.0.0.1\", listenIp: \"127.0.0.1\",
                    listenPort: {broker_port}, metricsAddr: None, registerNameServerPeriod: 1000,
                    store: (storePathRootDir: \"{store}\", mappedFileSizeCommitLog: 67108864, diskFullRatio: 100)))",
                kv = dir.path().join("kv.json").display(),
                store = dir.path().join("store").display(),
            ),
        )
        .unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_ferrocket"))
            .args(["-c", cfg.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for port in [ns_port, broker_port, metrics_port] {
            wait_listening(port);
        }
        Ferrocket {
            child,
            ns: format!("127.0.0.1:{ns_port}"),
            broker: format!("127.0.0.1:{broker_port}"),
            metrics: format!("127.0.0.1:{metrics_port}"),
            _dir: dir,
        }
    }
}

impl Drop for Ferrocket {
    fn drop(&mut self) {
        sigterm_and_wait(&mut self.child);
    }
}

/// Runs `mqadmin -n ns args…`, bounded; its exit status and stdout.
async fn mqadmin(ns: &str, args: &[&str]) -> (bool, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mqadmin"))
            .args(args)
            .args(["-n", ns])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("mqadmin finishes")
    .expect("mqadmin runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// GET_CONSUME_STATS of `group` straight from the broker: lag by (topic, broker, queue).
async fn consume_stats(broker: &str, group: &str) -> BTreeMap<(String, String, i32), i64> {
    let header = GetConsumeStatsRequestHeader {
        consumer_group: group.to_owned(),
        ..Default::default()
    };
    let r = RemotingClient::default()
        .invoke(
            broker,
            RemotingCommand::request_with(request::GET_CONSUME_STATS, &header),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    ConsumeStats::decode(&r.body)
        .unwrap()
        .offset_table
        .into_iter()
        .map(|(mq, o)| {
            (
                (mq.topic, mq.broker_name, mq.queue_id),
                o.broker_offset - o.consumer_offset,
            )
        })
        .collect()
}

/// A topic of four queues, created once the broker has registered.
async fn create_topic(ns: &str, topic: &str) {
    assert!(
        wait_until(Duration::from_secs(30), || async {
            mqadmin(
                ns,
                &[
                    "updateTopic",
                    "-c",
                    "DefaultCluster",
                    "-t",
                    topic,
                    "-r",
                    "4",
                    "-w",
                    "4",
                ],
            )
            .await
            .0
        })
        .await,
        "the broker never registered"
    );
}

/// Sends `msg`, then sends it back for `group` with delay level -1, which puts it straight
/// into `%DLQ%group`; waits until that topic is routed.
async fn dead_letter(
    f: &Ferrocket,
    producer: &ferrocket::client::Producer,
    group: &str,
    msg: &Message,
) {
    let sent = producer.send(msg).await.unwrap();
    let (_, offset) = decode_offset_msg_id(&sent.offset_msg_id).unwrap();
    let back = ConsumerSendMsgBackRequestHeader {
        offset,
        group: group.into(),
        delay_level: -1,
        origin_msg_id: Some(sent.msg_id.clone()),
        origin_topic: Some(msg.topic.clone()),
        ..Default::default()
    };
    let r = RemotingClient::default()
        .invoke(
            &f.broker,
            RemotingCommand::request_with(request::CONSUMER_SEND_MSG_BACK, &back),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let dlq = format!("%DLQ%{group}");
    assert!(
        wait_until(Duration::from_secs(20), || async {
            mqadmin(&f.ns, &["topicRoute", "-t", &dlq]).await.0
        })
        .await,
        "the dead-letter topic was never routed"
    );
}

/// A bare HTTP/1.1 POST of a JSON body on loopback: (status line, body).
async fn http_post(addr: &str, path: &str, json: &serde_json::Value) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = json.to_string();
    let mut s = tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(40), s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

fn chromium() -> PathBuf {
    std::env::var_os("FERROCKET_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("console-screenshots")
}

/// Runs console.js against `url`, at most 180 s; its JSON report.
fn run_browser(url: &str, dlq_topic: &str) -> serde_json::Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "run `npm ci --prefix tests/console` first (.ci/run does)"
    );
    let shots = screenshots_dir();
    let mut child = std::process::Command::new("node")
        .arg(dir.join("console.js"))
        .env("CONSOLE_URL", url)
        .env("CHROMIUM", chromium())
        .env("SCREENSHOTS", &shots)
        .env("NEW_TOPIC", NEW_TOPIC)
        .env("GROUP", GROUP)
        .env("MSG_TOPIC", TOPIC)
        .env("MSG_KEY", "order-3")
        .env("DLQ_TOPIC", dlq_topic)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("console.js did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "console.js failed ({}): {stderr}\nscreenshots in {}",
        out.status,
        shots.display()
    );
    println!("console screenshots: {}", shots.display());
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("console.js printed no JSON report ({e}): {stdout}\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_creates_topics_shows_lag_and_finds_messages_in_a_real_browser() {
    if std::env::var("FERROCKET_SKIP_CONSOLE").is_ok_and(|v| v == "1") {
        return;
    }
    assert!(
        chromium().exists(),
        "{} is missing: apt-get install chromium (.ci/run does), or set FERROCKET_CHROMIUM",
        chromium().display()
    );
    let f = Ferrocket::start();

    create_topic(&f.ns, TOPIC).await;

    // Ten keyed messages, all consumed by GROUP; then the consumer stops and seven more
    // arrive, so the group is seven behind.
    let producer = started_producer(&f.ns);
    let send = |i: usize| {
        Message::new(TOPIC, format!("order {i} paid").into_bytes())
            .with_keys([format!("order-{i}")])
            .with_tags("paid")
    };
    for i in 0..10 {
        producer.send(&send(i)).await.unwrap();
    }
    let offsets = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let consumer = recording_consumer(&f.ns, GROUP, TOPIC, seen.clone(), true, 16, offsets.path());
    consumer.start().await.unwrap();
    assert!(wait_count(&seen, 10, Duration::from_secs(30)).await);
    assert!(
        wait_until(Duration::from_secs(20), || async {
            consume_stats(&f.broker, GROUP).await.values().sum::<i64>() == 0
        })
        .await,
        "the consumer's offsets never reached the broker"
    );
    consumer.shutdown().await;
    for i in 10..17 {
        producer.send(&send(i)).await.unwrap();
    }

    // A dead letter, straight into %DLQ%GROUP.
    dead_letter(&f, &producer, GROUP, &send(100)).await;
    producer.shutdown().await;
    let dlq = format!("%DLQ%{GROUP}");

    let expected = consume_stats(&f.broker, GROUP).await;
    assert_eq!(expected.values().sum::<i64>(), 8, "{expected:?}");

    // The charts draw the sampler's history: wait (bounded) until it has seen the lag.
    let metrics: std::net::SocketAddr = f.metrics.parse().unwrap();
    assert!(
        wait_until(Duration::from_secs(45), || async {
            let (_, history) = http_get(metrics, "/api/history").await;
            let v: serde_json::Value = serde_json::from_str(&history).unwrap_or_default();
            v["samples"].as_array().into_iter().flatten().any(|s| {
                s["lag"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|g| g["group"] == GROUP && g["lag"] == 8)
            })
        })
        .await,
        "the sampler never recorded {GROUP}'s lag"
    );

    let report = run_browser(&format!("http://{}/", f.metrics), &dlq);
    println!("{report:#}");
    assert_eq!(
        report["pages"],
        serde_json::json!([
            "cluster",
            "topics",
            "groups",
            "messages",
            "dead-letter",
            "actors"
        ])
    );
    assert_eq!(report["pageErrors"], serde_json::json!([]));
    assert!(report["brokers"].as_u64() >= Some(1));

    // The topic created through the page (after its confirmation) is in mqadmin topicList.
    assert!(report["confirmText"].as_str().unwrap().contains(&format!(
        "Create topic {NEW_TOPIC} on every master of cluster DefaultCluster"
    )));
    let (ok, list) = mqadmin(&f.ns, &["topicList"]).await;
    assert!(ok);
    assert!(list.lines().any(|l| l.trim() == NEW_TOPIC), "{list}");

    // The lag the page showed, queue by queue, is GET_CONSUME_STATS's.
    let shown: BTreeMap<(String, String, i32), i64> = report["lag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                (
                    q["topic"].as_str().unwrap().to_owned(),
                    q["broker"].as_str().unwrap().to_owned(),
                    q["queueId"].as_i64().unwrap() as i32,
                ),
                q["lag"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shown, expected);
    assert_eq!(report["lagTotalCard"], "8");

    // The message found by key shows its body.
    assert_eq!(report["body"], "order 3 paid");
    assert_eq!(report["keyRows"], 1);

    // The dead letter went back to the (offline) group through its retry topic.
    assert!(
        report["resendToast"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Sent to %RETRY%{GROUP} (SEND_OK)")),
        "{report}"
    );
    let after = consume_stats(&f.broker, GROUP).await;
    let retry_lag: i64 = after
        .iter()
        .filter(|((t, _, _), _)| t == &format!("%RETRY%{GROUP}"))
        .map(|(_, l)| l)
        .sum();
    assert_eq!(retry_lag, 1, "{after:?}");
}

#[tokio::test]
async fn the_console_api_answers_rocketmq_errors_as_json() {
    let f = Ferrocket::start();
    let addr = f.metrics.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Before any route exists the name server answers TOPIC_NOT_EXIST for an unknown topic.
    loop {
        let (status, body) = http_get(addr, "/api/topics/NoSuchTopic").await;
        if status.contains("404") {
            assert!(body.contains("\"code\":17"), "{body}");
            assert!(body.contains("\"codeName\":\"TOPIC_NOT_EXIST\""), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "{status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = http_get(addr, "/api/groups/NoSuchGroup").await;
    assert!(status.contains("404"), "{status} {body}");
    assert!(body.contains("\"error\":\"notFound\""), "{body}");
    let (status, body) = http_get(addr, "/api/messages?msgId=ZZZ").await;
    assert!(status.contains("400"), "{status} {body}");
    assert!(body.contains("not an offset message id"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_resent_to_an_online_rust_consumer_is_consumed_directly() {
    const TOPIC: &str = "ResendOrders";
    const GROUP: &str = "ResendGroup";
    let f = Ferrocket::start();
    create_topic(&f.ns, TOPIC).await;
    let producer = started_producer(&f.ns);
    let offsets = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let consumer = recording_consumer(&f.ns, GROUP, TOPIC, seen.clone(), true, 16, offsets.path());
    consumer.start().await.unwrap();
    let msg = Message::new(TOPIC, b"refund 9".to_vec()).with_keys(["refund-9"]);
    dead_letter(&f, &producer, GROUP, &msg).await;
    producer.shutdown().await;
    assert!(wait_count(&seen, 1, Duration::from_secs(30)).await);

    let until = ferrocket::clock::now_millis() + 60_000;
    let (status, found) = http_get(
        f.metrics.parse().unwrap(),
        &format!("/api/messages?topic=%25DLQ%25{GROUP}&begin=0&end={until}"),
    )
    .await;
    assert!(status.contains("200"), "{status} {found}");
    let found: serde_json::Value = serde_json::from_str(&found).unwrap();
    assert_eq!(found["total"], 1, "{found}");
    let dead = &found["messages"][0];
    assert_eq!(dead["body"], "refund 9");
    assert_eq!(dead["properties"]["RETRY_TOPIC"], TOPIC);

    // The Rust client consumes it directly (CONSUME_MESSAGE_DIRECTLY through the broker, as
    // the dashboard resends), and the console shows the client's verdict.
    let (status, body) = http_post(
        &f.metrics,
        "/api/messages/resend",
        &serde_json::json!({ "msgId": dead["offsetMsgId"], "group": GROUP }),
    )
    .await;
    assert!(status.contains("200"), "{status} {body}");
    let r: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["mode"], "CONSUME_MESSAGE_DIRECTLY", "{r}");
    assert_eq!(r["result"]["consumeResult"], "CR_SUCCESS", "{r}");
    assert!(
        wait_count(&seen, 2, Duration::from_secs(30)).await,
        "the resent message never reached the consumer"
    );
    let again = seen.lock().unwrap()[1].1.clone();
    assert_eq!(&again.body[..], b"refund 9");
    assert_eq!(
        again.topic, TOPIC,
        "the listener sees the topic it subscribed to"
    );
    consumer.shutdown().await;

    // A message id the broker does not have is a JSON error, not a hang.
    let (status, body) = http_post(
        &f.metrics,
        "/api/messages/resend",
        &serde_json::json!({ "msgId": "7F00000100002A9F00000000DEADBEEF", "group": GROUP }),
    )
    .await;
    assert!(!status.contains("200"), "{status} {body}");
    assert!(body.contains("\"error\""), "{body}");
}

/// A time-range search holds at most one message more than it shows, however many the
/// range has: the page says the list was cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_range_search_stops_after_the_messages_it_shows() {
    const TOPIC: &str = "RangeOrders";
    let f = Ferrocket::start();
    create_topic(&f.ns, TOPIC).await;
    let producer = started_producer(&f.ns);
    for i in 0..100 {
        producer
            .send(&Message::new(TOPIC, format!("r{i}").into_bytes()))
            .await
            .unwrap();
    }
    producer.shutdown().await;
    let until = ferrocket::clock::now_millis() + 60_000;
    let (status, found) = http_get(
        f.metrics.parse().unwrap(),
        &format!("/api/messages?topic={TOPIC}&begin=0&end={until}"),
    )
    .await;
    assert!(status.contains("200"), "{status} {found}");
    let found: serde_json::Value = serde_json::from_str(&found).unwrap();
    assert_eq!(found["truncated"], true, "{found}");
    assert_eq!(found["messages"].as_array().map(Vec::len), Some(64));
    assert_eq!(
        found["total"], 65,
        "read one past what is shown, not all 100"
    );
}
