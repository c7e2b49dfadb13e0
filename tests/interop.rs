//! Interoperability with third-party RocketMQ clients: npm `ali-ons` (pure JavaScript) and
//! PyPI `rocketmq` 0.4.4 (the C++ client), pointed at our `mqnamesrv` with no broker. Each
//! asks for an unknown topic's route and must fail with its own clean "no route" error,
//! which proves it parsed our frames (a refused connection, a timeout or an unparsable
//! answer make the scripts report something else; see tests/interop/README.md).
//!
//! `.ci/run` installs both clients. Without them these tests fail, unless
//! FERROCKET_SKIP_INTEROP=1 is set to skip them on purpose.

mod common;

use common::interop::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Namesrv {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Namesrv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_mqnamesrv() -> Namesrv {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("namesrv.ron");
    std::fs::write(
        &config,
        format!(
            "(metricsAddr: None, kvConfigPath: \"{}\")",
            dir.path().join("kv.json").display()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_mqnamesrv"))
        .args(["-c", config.to_str().unwrap(), "--listen", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "mqnamesrv did not start listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Namesrv {
        child,
        addr,
        _dir: dir,
    }
}

/// Runs a client script (which bounds itself to 20 s) and returns its RESULT line.
fn run_script(program: &str, script: &str, addr: &str, topic: &str) -> (bool, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(program)
        .arg(interop_dir().join(script))
        .args([addr, topic])
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let result = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_default()
        .to_owned();
    if !out.status.success() {
        eprintln!("{script} stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    (
        out.status.success() && result.starts_with("RESULT no-route: "),
        result,
    )
}

#[test]
fn ali_ons_reports_no_route_for_an_unknown_topic() {
    if skip() {
        eprintln!("skipped: FERROCKET_SKIP_INTEROP=1");
        return;
    }
    assert!(
        interop_dir().join("node_modules/ali-ons").is_dir(),
        "ali-ons is not installed: run `npm ci --prefix tests/interop` (or .ci/run)"
    );
    let ns = start_mqnamesrv();
    let (ok, line) = run_script(
        "node",
        "ali_ons_no_route.js",
        &ns.addr,
        "FerrocketNoSuchTopic",
    );
    assert!(ok, "ali-ons: {line}");
    assert!(
        line.contains("No topic route info in name server for the topic: FerrocketNoSuchTopic"),
        "{line}"
    );
}

#[test]
fn the_python_cpp_client_reports_no_route_for_an_unknown_topic() {
    if skip() {
        eprintln!("skipped: FERROCKET_SKIP_INTEROP=1");
        return;
    }
    let python = std::env::var("FERROCKET_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_client = Command::new(&python)
        .args(["-c", "import rocketmq.client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(has_client, "PyPI rocketmq 0.4.4 is not installed for {python}: run `pip install -r tests/interop/requirements.txt` (or .ci/run)");
    let ns = start_mqnamesrv();
    let (ok, line) = run_script(
        &python,
        "rocketmq_no_route.py",
        &ns.addr,
        "FerrocketNoSuchTopic",
    );
    assert!(ok, "rocketmq (C++): {line}");
    assert!(
        line.contains("No route info of this topic: FerrocketNoSuchTopic"),
        "{line}"
    );
}
