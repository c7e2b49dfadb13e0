//! Plug-ins on a real broker: a send hook that refuses and annotates, a plug-in's own
//! request code (and a clash with a built-in one refused at start), a plug-in panicking
//! every tenth record restarted while sends go on, a stalled hook bounded by its budget,
//! and the built-in trace plug-in's records in the Java trace format.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::broker::*;
use ferrocket::actors::broker::plugins::builtin::PluginEntry;
use ferrocket::actors::broker::plugins::{
    AfterStore, BeforeSend, Plugin, PluginContext, PluginRequest, SendVerdict, Takes, WhenLate,
};
use ferrocket::actors::broker::BrokerBuilder;
use ferrocket::actors::dispatch::Reply;
use ferrocket::protocol::code::response;
use ferrocket::protocol::message::DispatchInfo;
use ferrocket::protocol::RemotingCommand;

const GATE_CODE: i32 = 47_001;

/// Refuses sends to `Blocked`, tags every other send, answers GATE_CODE.
struct Gate;

impl Plugin for Gate {
    fn name(&self) -> &str {
        "gate"
    }
    fn takes(&self) -> Takes {
        Takes::new()
            .send_hook(Duration::from_secs(2), WhenLate::Refuse)
            .request_code(GATE_CODE)
    }
    fn before_send(&mut self, send: &BeforeSend, _: &mut PluginContext<Self>) -> SendVerdict {
        if send.topic == "Blocked" {
            return SendVerdict::Refuse {
                code: response::NO_PERMISSION,
                remark: "blocked by the gate plug-in".into(),
            };
        }
        SendVerdict::Annotate(vec![("gate".into(), "seen".into())])
    }
    fn request(&mut self, req: PluginRequest, _: &mut PluginContext<Self>) -> Reply {
        let mut r = RemotingCommand::success();
        r.body = Bytes::from(format!("gate answers code {}", req.request.code));
        Ok(r)
    }
}

async fn pulled(
    b: &TestBroker,
    topic: &str,
    queue: i32,
) -> Vec<ferrocket::protocol::message::StoredMessage> {
    let r = b
        .call(pull("CG", topic, queue, 0, FLAG_SUBSCRIPTION, 0, Some("*")))
        .await;
    if r.code != response::SUCCESS {
        return Vec::new();
    }
    records(&r.body)
}

#[actix_rt::test]
async fn a_send_hook_refuses_with_its_code_and_annotates_what_it_passes() {
    let b = start_broker_built(|_| {}, |bb| bb.plugin(Gate)).await;
    b.call(create_topic("Blocked", 1)).await;
    b.call(create_topic("Open", 1)).await;

    let r = b
        .call(send_v2("Blocked", 0, b"no", "T", "k", "U-BLOCKED"))
        .await;
    assert_eq!(r.code, response::NO_PERMISSION);
    assert_eq!(r.remark.as_deref(), Some("blocked by the gate plug-in"));
    assert_eq!(
        b.broker.store.commit_log().max_offset(),
        0,
        "nothing stored"
    );

    let r = b.call(send_v2("Open", 0, b"yes", "T", "k", "U-OPEN")).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let ok = wait_until(Duration::from_secs(5), || async {
        !pulled(&b, "Open", 0).await.is_empty()
    })
    .await;
    assert!(ok, "the passed message is pullable");
    let got = pulled(&b, "Open", 0).await;
    assert_eq!(got[0].property("gate"), Some("seen"));
    assert_eq!(got[0].property("UNIQ_KEY"), Some("U-OPEN"));
}

#[actix_rt::test]
async fn a_plugins_request_code_is_answered_through_the_dispatch_table() {
    let b = start_broker_built(|_| {}, |bb| bb.plugin(Gate)).await;
    let r = b.call(RemotingCommand::request(GATE_CODE)).await;
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(&r.body[..], b"gate answers code 47001");
    // Codes nobody declared are still refused as before.
    let r = b.call(RemotingCommand::request(GATE_CODE + 1)).await;
    assert_eq!(r.code, response::REQUEST_CODE_NOT_SUPPORTED);
}

/// Declares SEND_MESSAGE (10) as its own code.
struct Squatter;

impl Plugin for Squatter {
    fn name(&self) -> &str {
        "squatter"
    }
    fn takes(&self) -> Takes {
        Takes::new().request_code(10)
    }
}

#[actix_rt::test]
async fn a_plugin_code_that_clashes_with_a_builtin_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = broker_config(dir.path(), "");
    let err = BrokerBuilder::new(config)
        .plugin(Squatter)
        .start()
        .await
        .err()
        .expect("start refused");
    let text = err.to_string();
    assert!(
        text.contains("squatter") && text.contains("SEND_MESSAGE"),
        "{text}"
    );
}

/// Panics on every tenth dispatched record it sees.
struct Flaky {
    seen: Arc<AtomicU64>,
}

impl Plugin for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn takes(&self) -> Takes {
        Takes::new().dispatched()
    }
    fn dispatched(&mut self, records: &[DispatchInfo], _: &mut PluginContext<Self>) {
        for _ in records {
            if self.seen.fetch_add(1, Ordering::SeqCst) % 10 == 9 {
                panic!("flaky plug-in: tenth record");
            }
        }
    }
}

#[actix_rt::test]
async fn a_plugin_panicking_every_tenth_record_is_restarted_and_counted_while_sends_go_on() {
    let seen = Arc::new(AtomicU64::new(0));
    let flaky = Flaky { seen: seen.clone() };
    let b = start_broker_built(|_| {}, |bb| bb.plugin(flaky)).await;
    b.call(create_topic("Busy", 1)).await;
    for i in 0..60 {
        let r = b
            .call(send_v2("Busy", 0, b"x", "T", "k", &format!("U{i}")))
            .await;
        assert_eq!(r.code, response::SUCCESS, "send {i}: {:?}", r.remark);
    }
    let registry = b.broker.context.registry.clone();
    let metrics = registry.actor("broker/plugins/flaky").expect("on /actors");
    let ok = wait_until(Duration::from_secs(20), || {
        let m = metrics.clone();
        async move { m.restarts() >= 2 && m.panics() >= 2 }
    })
    .await;
    assert!(
        ok,
        "restarts {} panics {}",
        metrics.restarts(),
        metrics.panics()
    );
    assert!(seen.load(Ordering::SeqCst) >= 20);
    let text = registry.render_prometheus();
    assert!(
        text.contains("broker/plugins/flaky"),
        "the plug-in is on /metrics"
    );
}

/// A send hook that stops answering: it blocks its own thread far past its budget.
struct Stalled {
    when_late: WhenLate,
}

impl Plugin for Stalled {
    fn name(&self) -> &str {
        "stalled"
    }
    fn takes(&self) -> Takes {
        Takes::new()
            .send_hook(Duration::from_millis(100), self.when_late)
            .own_arbiter()
            .mailbox(2)
    }
    fn before_send(&mut self, _: &BeforeSend, _: &mut PluginContext<Self>) -> SendVerdict {
        std::thread::sleep(Duration::from_secs(3));
        SendVerdict::Pass
    }
}

const STALL: Duration = Duration::from_secs(3);

#[actix_rt::test]
async fn a_stalled_send_hook_is_skipped_after_its_budget_and_sends_go_on() {
    let hook = Stalled {
        when_late: WhenLate::Skip,
    };
    let b = start_broker_built(|_| {}, |bb| bb.plugin(hook)).await;
    b.call(create_topic("Stall", 1)).await;
    let began = Instant::now();
    for i in 0..6 {
        let r = b
            .call(send_v2("Stall", 0, b"x", "T", "k", &format!("S{i}")))
            .await;
        assert_eq!(r.code, response::SUCCESS, "send {i}: {:?}", r.remark);
    }
    // Six sends behind a hook that takes 3 s each: without the budget they would take 18 s.
    assert!(
        began.elapsed() < STALL * 2,
        "sends waited for the hook: {:?}",
        began.elapsed()
    );
    let stored = wait_until(Duration::from_secs(5), || async {
        b.broker.store.queue_offsets("Stall", 0).1 == 6
    })
    .await;
    assert!(stored, "all six stored");
    let skipped = b
        .broker
        .context
        .registry
        .counter(
            "rocketmq_plugin_send_hook_total",
            &[("plugin", "stalled"), ("outcome", "skipped")],
        )
        .load(Ordering::Relaxed);
    assert_eq!(skipped, 6);
}

#[actix_rt::test]
async fn a_stalled_send_hook_with_the_refuse_policy_answers_system_busy() {
    let hook = Stalled {
        when_late: WhenLate::Refuse,
    };
    let b = start_broker_built(|_| {}, |bb| bb.plugin(hook)).await;
    b.call(create_topic("StallR", 1)).await;
    let r = b.call(send_v2("StallR", 0, b"x", "T", "k", "R0")).await;
    assert_eq!(r.code, response::SYSTEM_BUSY);
    let remark = r.remark.unwrap_or_default();
    assert!(
        remark.starts_with("[PLUGIN]") && remark.contains("stalled"),
        "{remark}"
    );
    assert_eq!(
        b.broker.store.commit_log().max_offset(),
        0,
        "nothing stored"
    );
}

/// Splits trace data as Java's `TraceDataEncoder.decoderFromTraceDataString` does.
fn trace_lines(body: &[u8]) -> Vec<Vec<String>> {
    String::from_utf8_lossy(body)
        .split('\u{2}')
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\u{1}').map(str::to_owned).collect())
        .collect()
}

#[actix_rt::test]
async fn trace_records_for_a_send_and_a_consume_read_back_in_the_java_format() {
    let b = start_broker_with(|c| {
        c.plugins = vec![PluginEntry::with_config("trace", r#"{"flushIntervalMs": 20}"#).unwrap()];
    })
    .await;
    b.call(create_topic("Traced", 1)).await;
    let sent = b
        .call(send_v2(
            "Traced",
            0,
            b"hello",
            "TagA",
            "order-1 order-2",
            "UNIQ-T1",
        ))
        .await;
    assert_eq!(sent.code, response::SUCCESS);
    let offset_msg_id = sent.ext("msgId").unwrap().to_owned();

    let ok = wait_until(Duration::from_secs(5), || async {
        !pulled(&b, "Traced", 0).await.is_empty()
    })
    .await;
    assert!(ok);
    // The group commits past the message on its next pull (push consumers do this).
    let mut commit = pull(
        "CG",
        "Traced",
        0,
        1,
        FLAG_COMMIT | FLAG_SUBSCRIPTION,
        0,
        Some("*"),
    );
    commit.put_ext("commitOffset", "1");
    b.call(commit).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut lines, mut ok) = (Vec::new(), false);
    while !ok && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let msgs = pulled(&b, "RMQ_SYS_TRACE_TOPIC", 0).await;
        lines = msgs
            .iter()
            .flat_map(|m| trace_lines(&m.body))
            .collect::<Vec<_>>();
        let kinds: Vec<&str> = lines.iter().map(|l| l[0].as_str()).collect();
        ok = ["Pub", "SubBefore", "SubAfter"]
            .iter()
            .all(|k| kinds.contains(k));
    }
    assert!(ok, "trace lines: {lines:?}");
    let publ = lines.iter().find(|l| l[0] == "Pub").unwrap();
    assert_eq!(publ.len(), 14, "4.9.8's Pub record has 14 fields: {publ:?}");
    assert_eq!(publ[2], "DefaultRegion");
    assert_eq!(publ[3], "PG");
    assert_eq!(publ[4], "Traced");
    assert_eq!(publ[5], "UNIQ-T1");
    assert_eq!(publ[6], "TagA");
    assert_eq!(publ[7], "order-1 order-2");
    assert_eq!(publ[8], b.addr);
    assert_eq!(publ[9], "5");
    assert!(publ[10].parse::<i64>().is_ok() && publ[1].parse::<i64>().is_ok());
    assert_eq!(publ[11], "0", "Normal_Msg");
    assert_eq!(publ[12], offset_msg_id);
    assert_eq!(publ[13], "true");

    let before = lines.iter().find(|l| l[0] == "SubBefore").unwrap();
    assert_eq!(before.len(), 8);
    assert_eq!(
        (before[3].as_str(), before[5].as_str(), before[6].as_str()),
        ("CG", "UNIQ-T1", "0")
    );
    assert_eq!(before[7], "order-1 order-2");
    let after = lines.iter().find(|l| l[0] == "SubAfter").unwrap();
    assert_eq!(after.len(), 9);
    assert_eq!(
        after[1], before[4],
        "SubAfter carries SubBefore's request id"
    );
    assert_eq!(
        (after[2].as_str(), after[4].as_str(), after[8].as_str()),
        ("UNIQ-T1", "true", "CG")
    );

    // Each trace message is keyed by the traced message id and keys (queryMsgTraceById).
    let traces = pulled(&b, "RMQ_SYS_TRACE_TOPIC", 0).await;
    let keys: Vec<&str> = traces
        .iter()
        .filter_map(|m| m.property("KEYS"))
        .flat_map(|k| k.split(' '))
        .collect();
    assert!(
        keys.contains(&"UNIQ-T1") && keys.contains(&"order-1"),
        "{keys:?}"
    );
}

#[path = "../examples/plugin_quota/quota.rs"]
mod quota;

#[actix_rt::test]
async fn the_example_quota_refuses_sends_over_the_rate_and_answers_its_counters() {
    let b = start_broker_built(|_| {}, |bb| bb.plugin(quota::Quota::new(3))).await;
    b.call(create_topic("Limited", 1)).await;
    let began = Instant::now();
    let mut codes = Vec::new();
    for i in 0..10 {
        let r = b
            .call(send_v2("Limited", 0, b"x", "T", "k", &format!("Q{i}")))
            .await;
        if r.code == response::FLOW_CONTROL {
            assert!(r
                .remark
                .as_deref()
                .unwrap_or("")
                .contains("[QUOTA] topic Limited"));
        }
        codes.push(r.code);
    }
    let passed = codes.iter().filter(|c| **c == response::SUCCESS).count() as u64;
    let refused = codes
        .iter()
        .filter(|c| **c == response::FLOW_CONTROL)
        .count() as u64;
    assert_eq!(passed + refused, 10, "{codes:?}");
    // Each one-second window lets three through.
    let windows = began.elapsed().as_secs() + 1;
    assert!(passed <= 3 * windows && refused >= 1, "{codes:?}");

    let r = b
        .call(RemotingCommand::request(quota::QUOTA_COUNTERS))
        .await;
    assert_eq!(r.code, response::SUCCESS);
    let counters: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(counters["Limited"]["passed"], passed);
    assert_eq!(counters["Limited"]["refused"], refused);
}

/// Takes every notice and the record stream, and stops reading: its first callback blocks
/// its thread far longer than the test runs.
struct Deaf;

impl Plugin for Deaf {
    fn name(&self) -> &str {
        "deaf"
    }
    fn takes(&self) -> Takes {
        Takes::new()
            .dispatched()
            .after_store()
            .consumed()
            .own_arbiter()
            .mailbox(2)
    }
    fn after_store(&mut self, _: AfterStore, _: &mut PluginContext<Self>) {
        std::thread::sleep(Duration::from_secs(20));
    }
}

#[actix_rt::test]
async fn a_plugin_that_stops_reading_its_notices_does_not_stall_sends_or_pulls() {
    let b = start_broker_built(|_| {}, |bb| bb.plugin(Deaf)).await;
    b.call(create_topic("Deaf", 1)).await;
    let began = Instant::now();
    for i in 0..30 {
        let r = b
            .call(send_v2("Deaf", 0, b"x", "T", "k", &format!("D{i}")))
            .await;
        assert_eq!(r.code, response::SUCCESS, "send {i}: {:?}", r.remark);
    }
    let all = wait_until(Duration::from_secs(10), || async {
        pulled(&b, "Deaf", 0).await.len() == 30
    })
    .await;
    assert!(all, "every message stored and pullable");
    // The plug-in's first notice blocks for 20 s; nothing above waited for it.
    assert!(began.elapsed() < Duration::from_secs(20));
    let reg = &b.broker.context.registry;
    let dropped = |notice: &str| {
        reg.counter(
            "rocketmq_plugin_notices_dropped_total",
            &[("plugin", "deaf"), ("notice", notice)],
        )
        .load(Ordering::Relaxed)
    };
    assert!(dropped("after_store") > 0, "refused notices are counted");
    assert!(dropped("consumed") > 0);
}

/// A send hook that panics on every send.
struct Crashing;

impl Plugin for Crashing {
    fn name(&self) -> &str {
        "crashing"
    }
    fn takes(&self) -> Takes {
        Takes::new().send_hook(Duration::from_secs(1), WhenLate::Skip)
    }
    fn before_send(&mut self, _: &BeforeSend, _: &mut PluginContext<Self>) -> SendVerdict {
        panic!("crashing send hook");
    }
}

#[actix_rt::test]
async fn a_panicking_send_hook_is_skipped_per_its_policy_and_restarted() {
    let b = start_broker_built(|_| {}, |bb| bb.plugin(Crashing)).await;
    b.call(create_topic("Crash", 1)).await;
    for i in 0..3 {
        let r = b
            .call(send_v2("Crash", 0, b"x", "T", "k", &format!("C{i}")))
            .await;
        assert_eq!(r.code, response::SUCCESS, "send {i}: {:?}", r.remark);
    }
    let metrics = b
        .broker
        .context
        .registry
        .actor("broker/plugins/crashing")
        .unwrap();
    let restarted = wait_until(Duration::from_secs(10), || {
        let m = metrics.clone();
        async move { m.restarts() >= 1 }
    })
    .await;
    assert!(restarted && metrics.panics() >= 1);
}
