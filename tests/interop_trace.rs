//! The trace plug-in traces a client that has no broker-side trace of its own: npm
//! `ali-ons` 3.12.0 sends 20 messages (tests/interop/ali_ons_produce_only.js) to a broker
//! running `trace`, and RMQ_SYS_TRACE_TOPIC then holds a `Pub` record for each, with the
//! producer group, topic, tags and both keys as ali-ons sent them.
//!
//! `.ci/run` installs ali-ons. Without it this test fails, unless FERROCKET_SKIP_INTEROP=1
//! is set to skip it on purpose.

mod common;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::broker::*;
use common::interop::*;
use ferrocket::actors::broker::plugins::builtin::PluginEntry;
use ferrocket::protocol::code::response;

const COUNT: usize = 20;

#[actix_rt::test]
async fn an_ali_ons_producers_sends_are_traced_by_the_broker() {
    if skip() {
        return;
    }
    assert!(
        interop_dir().join("node_modules/ali-ons").is_dir(),
        "ali-ons is not installed: run `npm ci --prefix tests/interop` (or .ci/run)"
    );
    let b = start_broker_with(|c| {
        c.plugins = vec![PluginEntry::with_config("trace", r#"{"flushIntervalMs": 20}"#).unwrap()];
    })
    .await;
    b.call(create_topic("OnsTraced", 4)).await;
    let home = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new("node")
        .arg(interop_dir().join("ali_ons_produce_only.js"))
        .args([
            b.ns.addr.as_str(),
            "OnsTraced",
            "PTraceOns",
            &COUNT.to_string(),
        ])
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), out)
        .await
        .expect("ali_ons_produce_only.js did not finish")
        .expect("cannot run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or("");
    assert!(
        out.status.success() && result.starts_with(&format!("RESULT ok: sent={COUNT} ")),
        "ali_ons_produce_only.js: {result}"
    );

    // Every Pub record of the trace topic, split as Java's TraceDataEncoder reads them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pubs: Vec<Vec<String>> = Vec::new();
    while pubs.len() < COUNT && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = b
            .call(pull(
                "CG",
                "RMQ_SYS_TRACE_TOPIC",
                0,
                0,
                FLAG_SUBSCRIPTION,
                0,
                Some("*"),
            ))
            .await;
        if r.code != response::SUCCESS {
            continue;
        }
        pubs = records(&r.body)
            .iter()
            .flat_map(|m| {
                String::from_utf8_lossy(&m.body)
                    .split('\u{2}')
                    .filter(|l| l.starts_with("Pub\u{1}"))
                    .map(|l| l.split('\u{1}').map(str::to_owned).collect())
                    .collect::<Vec<Vec<String>>>()
            })
            .collect();
    }
    assert_eq!(pubs.len(), COUNT, "{pubs:?}");
    let mut keys = BTreeSet::new();
    for p in &pubs {
        assert_eq!(
            (p[3].as_str(), p[4].as_str(), p[13].as_str()),
            ("PTraceOns", "OnsTraced", "true")
        );
        assert!(["TagA", "TagB", "TagC"].contains(&p[6].as_str()), "{p:?}");
        assert!(!p[5].is_empty(), "ali-ons' msgId (UNIQ_KEY) is traced");
        keys.insert(p[7].clone());
    }
    let expected: BTreeSet<String> = (0..COUNT).map(|i| format!("k-{i} u-{i}")).collect();
    assert_eq!(keys, expected);
}
