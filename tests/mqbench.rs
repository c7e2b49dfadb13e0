//! `mqbench` against a real name server and broker: every send mode and both header
//! encodings report zero errors, the broker stores every acknowledged message, and the
//! consumer receives each stored message exactly once.
//! This checks the tool's correctness, never its speed.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::broker::*;

/// The `key=value` fields of the output's SUMMARY line.
fn summary(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .find(|l| l.starts_with("SUMMARY "))
        .unwrap_or_else(|| panic!("no SUMMARY line in:\n{stdout}"))
        .split_whitespace()
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

async fn mqbench(args: &[&str]) -> (bool, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mqbench"))
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("mqbench did not finish within 60 s")
    .expect("cannot run mqbench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), stdout)
}

#[actix_rt::test]
async fn every_message_mqbench_sends_is_received_once_and_no_errors_are_reported() {
    let b = start_broker().await;
    b.call(create_topic("BenchT", 4)).await;
    let ns = b.ns.addr.as_str();
    let runs: [&[&str]; 4] = [
        &["--mode", "sync", "-w", "4"],
        &[
            "--mode",
            "async",
            "--window",
            "8",
            "--encoding",
            "rocketmq",
            "-k",
        ],
        &["--mode", "sync", "-b", "10", "-w", "2"],
        &["--mode", "oneway", "-w", "2"],
    ];
    for extra in runs {
        let mut args = vec![
            "produce", "-n", ns, "-t", "BenchT", "-c", "500", "-s", "256",
        ];
        args.extend_from_slice(extra);
        let (ok, out) = mqbench(&args).await;
        let s = summary(&out);
        assert!(ok, "mqbench {extra:?} failed:\n{out}");
        assert_eq!(s["sent"], "500", "{extra:?}: {out}");
        assert_eq!(
            (s["send_failed"].as_str(), s["response_failed"].as_str()),
            ("0", "0")
        );
    }
    // The broker finishes requests a closing connection left in flight: wait until the
    // count stops moving.
    let count = || -> i64 {
        (0..4)
            .map(|q| b.broker.store.queue_offsets("BenchT", q).1)
            .sum()
    };
    let mut stored = count();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
        let now = count();
        if now == stored {
            break;
        }
        stored = now;
    }
    // Oneway sends are unacknowledged: a broker whose send queue waits past
    // waitTimeMillsInSendQueue drops them, as RocketMQ does. The other modes lose nothing.
    assert!(
        (1501..=2000).contains(&stored),
        "1500 acknowledged plus some oneway messages stored, got {stored}"
    );
    let (ok, out) = mqbench(&[
        "consume",
        "-n",
        ns,
        "-t",
        "BenchT",
        "-g",
        "bench_check",
        "--from-first",
        "-c",
        &stored.to_string(),
        "-d",
        "40",
    ])
    .await;
    assert!(ok, "{out}");
    let s = summary(&out);
    assert_eq!(
        s["unique"],
        stored.to_string(),
        "every stored message, once: {out}"
    );
    assert_eq!(s["duplicates"], "0", "{out}");
    assert!(s["e2e_p50_ms"].parse::<f64>().unwrap() >= 0.0);
}

#[actix_rt::test]
async fn failures_are_counted_and_make_the_exit_status_nonzero() {
    let b = start_broker_with(|c| c.auto_create_topic_enable = false).await;
    let (ok, out) = mqbench(&[
        "produce",
        "-n",
        &b.ns.addr,
        "-t",
        "NoSuchTopic",
        "-c",
        "20",
        "-w",
        "1",
        "--retries",
        "0",
    ])
    .await;
    assert!(!ok, "a run with failures exits nonzero:\n{out}");
    let s = summary(&out);
    assert_eq!(s["sent"], "0");
    let failed: u64 =
        s["send_failed"].parse::<u64>().unwrap() + s["response_failed"].parse::<u64>().unwrap();
    assert_eq!(failed, 20, "{out}");
    assert!(out.contains("ERROR x"), "the error is shown: {out}");
}

#[actix_rt::test]
async fn with_metrics_it_reports_the_brokers_cpu_per_message() {
    use ferrocket::actors::http::MetricsEndpoint;
    let b = start_broker().await;
    b.call(create_topic("BenchCpu", 2)).await;
    let endpoint = MetricsEndpoint::start(
        "127.0.0.1:0".parse().unwrap(),
        b.broker.context.registry.clone(),
        "test",
    )
    .unwrap();
    let metrics = endpoint.local_addr().to_string();
    let ns = b.ns.addr.as_str();
    let args = [
        "produce",
        "-n",
        ns,
        "-t",
        "BenchCpu",
        "-c",
        "300",
        "--metrics",
        &metrics,
    ];
    let (ok, out) = mqbench(&args).await;
    assert!(ok, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("BROKER "))
        .unwrap_or_else(|| panic!("no BROKER line in:\n{out}"));
    let per_msg: f64 = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("cpu_us_per_msg="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no cpu_us_per_msg in {line}"));
    // The broker runs in this test's process, so its CPU is this process's: it did work.
    assert!(per_msg > 0.0, "{line}");

    // A metrics address that does not answer is reported, and the run still succeeds.
    let dead = format!("127.0.0.1:{}", common::interop::free_port());
    let args = [
        "produce",
        "-n",
        ns,
        "-t",
        "BenchCpu",
        "-c",
        "10",
        "--metrics",
        &dead,
    ];
    let (ok, out) = mqbench(&args).await;
    assert!(ok, "{out}");
    assert!(!out.contains("BROKER "), "{out}");
}
