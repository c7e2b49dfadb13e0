//! Interoperability through the broker: npm `ali-ons` and PyPI `rocketmq` 0.4.4 (the C++
//! client) each send 1,000 messages with tags, keys and user properties through our
//! `mqnamesrv` and `mqbroker` processes and receive every one with push consumers, in
//! clustering and broadcasting mode; and a broker restart in the middle loses nothing and
//! redelivers (almost) nothing. The scripts are in tests/interop/ (see its README).
//!
//! `.ci/run` installs both clients. Without them these tests fail, unless
//! FERROCKET_SKIP_INTEROP=1 is set to skip them on purpose.

mod common;

use common::interop::*;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn python() -> String {
    std::env::var("FERROCKET_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn require_clients() {
    assert!(
        interop_dir().join("node_modules/ali-ons").is_dir(),
        "ali-ons is not installed: run `npm ci --prefix tests/interop` (or .ci/run)"
    );
    let ok = Command::new(python())
        .args(["-c", "import rocketmq.client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "PyPI rocketmq 0.4.4 is not installed: run `pip install -r tests/interop/requirements.txt` (or .ci/run)");
}

struct Cluster {
    dir: tempfile::TempDir,
    namesrv: Child,
    broker: Option<Child>,
    ns_addr: String,
    broker_port: u16,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let (namesrv, ns_addr) = spawn_namesrv(dir.path());
        let mut c = Cluster {
            dir,
            namesrv,
            broker: None,
            ns_addr,
            broker_port: broker_port(),
        };
        c.start_broker();
        c
    }

    fn broker_config(&self) -> PathBuf {
        let path = self.dir.path().join("broker.ron");
        std::fs::write(
            &path,
            format!(
                "(namesrvAddr: \"127.0.0.1:1\", brokerIP1: \"127.0.0.1\", listenIp: \"127.0.0.1\", listenPort: {}, metricsAddr: None, \
                 registerNameServerPeriod: 2000, store: (storePathRootDir: \"{}\", mappedFileSizeCommitLog: 67108864, diskFullRatio: 100))",
                self.broker_port,
                self.dir.path().join("store").display()
            ),
        )
        .unwrap();
        path
    }

    fn start_broker(&mut self) {
        let cfg = self.broker_config();
        let child = Command::new(env!("CARGO_BIN_EXE_mqbroker"))
            // The file names a dead name server; `-n` must override it, as with mqbroker.
            .args(["-c", cfg.to_str().unwrap(), "-n", &self.ns_addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.broker = Some(child);
        wait_listening(self.broker_port);
    }

    /// SIGTERM and wait: the broker unregisters, flushes and exits 0.
    fn stop_broker(&mut self) {
        if let Some(mut b) = self.broker.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &b.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(status) = b.try_wait().unwrap() {
                    assert!(status.success(), "mqbroker exited with {status}");
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "mqbroker did not stop on SIGTERM"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut b) = self.broker.take() {
            let _ = b.kill();
            let _ = b.wait();
        }
        let _ = self.namesrv.kill();
        let _ = self.namesrv.wait();
    }
}

fn script(program: &str, name: &str, args: &[&str], home: &Path) -> Command {
    let mut c = Command::new(program);
    c.arg(interop_dir().join(name))
        .args(args)
        .env("HOME", home)
        .stderr(Stdio::inherit());
    c
}

fn result_line(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_default()
        .to_owned()
}

fn run_ok(program: &str, name: &str, args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = script(program, name, args, home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let line = result_line(&out.stdout);
    assert!(
        out.status.success() && line.starts_with("RESULT ok"),
        "{name} {args:?}: {line}"
    );
    line
}

#[test]
fn ali_ons_sends_and_a_clustering_consumer_receives_every_message() {
    if skip() {
        return;
    }
    require_clients();
    let c = Cluster::start();
    let line = run_ok(
        "node",
        "ali_ons_produce_consume.js",
        &[&c.ns_addr, "AliCluster", "GAliCluster", "1000", "cluster"],
    );
    eprintln!("{line}");
}

#[test]
fn ali_ons_broadcasting_consumers_each_receive_every_message() {
    if skip() {
        return;
    }
    require_clients();
    let c = Cluster::start();
    run_ok(
        "node",
        "ali_ons_produce_consume.js",
        &[
            &c.ns_addr,
            "AliBroadcast",
            "GAliBroadcast",
            "1000",
            "broadcast",
        ],
    );
}

#[test]
fn the_cpp_client_sends_and_a_clustering_consumer_receives_every_message() {
    if skip() {
        return;
    }
    require_clients();
    let c = Cluster::start();
    let line = run_ok(
        &python(),
        "rocketmq_produce_consume.py",
        &[&c.ns_addr, "PyCluster", "GPyCluster", "1000", "cluster"],
    );
    eprintln!("{line}");
}

#[test]
fn the_cpp_client_broadcasting_consumers_each_receive_every_message() {
    if skip() {
        return;
    }
    require_clients();
    let c = Cluster::start();
    run_ok(
        &python(),
        "rocketmq_produce_consume.py",
        &[
            &c.ns_addr,
            "PyBroadcast",
            "GPyBroadcast",
            "1000",
            "broadcast",
        ],
    );
}

fn read_until(reader: &mut BufReader<ChildStdout>, marker: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        let l = line.trim_end().to_owned();
        line.clear();
        let done = l == marker || l.starts_with("RESULT ");
        lines.push(l);
        if done {
            break;
        }
    }
    lines
}

#[test]
fn a_broker_restart_in_the_middle_loses_nothing_and_redelivers_nothing_much() {
    if skip() {
        return;
    }
    require_clients();
    let mut c = Cluster::start();
    let home = tempfile::tempdir().unwrap();
    let mut child = script(
        "node",
        "ali_ons_produce_consume.js",
        &[&c.ns_addr, "AliRestart", "GAliRestart", "1000", "restart"],
        home.path(),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let first = read_until(&mut out, "PAUSE");
    assert_eq!(
        first.last().map(String::as_str),
        Some("PAUSE"),
        "the script never paused: {first:?}"
    );

    c.stop_broker();
    c.start_broker();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "GO").unwrap();
    drop(stdin);

    let rest = read_until(&mut out, "");
    let status = child.wait().unwrap();
    let line = rest
        .iter()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .cloned()
        .unwrap_or_default();
    assert!(status.success() && line.starts_with("RESULT ok"), "{line}");
    let duplicates: usize = line
        .split_whitespace()
        .find_map(|w| {
            w.strip_prefix("duplicates=")
                .map(|d| d.trim_end_matches(','))
        })
        .and_then(|d| d.parse().ok())
        .unwrap_or(usize::MAX);
    assert!(
        duplicates < 50,
        "a restart must not redeliver en masse: {line}"
    );
}
