//! A binary that cannot start (its port is taken) says why and exits with status 1: no
//! panic while the half-started actor tree is torn down. Each binary is run as a user runs
//! it, with the port it needs already bound by the test.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `bin` with `config` written to a temp file; answers (exit code, stderr).
fn run(bin: &str, config: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.ron");
    std::fs::write(&path, config.replace("DIR", dir.path().to_str().unwrap())).unwrap();
    let mut child = Command::new(bin)
        .args(["-c", path.to_str().unwrap()])
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, err)
}

fn assert_clean_refusal(bin: &str, config: &str, port: u16) {
    let (code, err) = run(bin, config);
    assert_eq!(code, Some(1), "{bin} exit status; stderr:\n{err}");
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{bin} does not say why:\n{err}"
    );
    assert!(
        !err.contains("panicked"),
        "{bin} panicked on the way out:\n{err}"
    );
}

fn taken() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn mqnamesrv_with_its_port_taken_exits_1_without_a_panic() {
    let (_held, port) = taken();
    let config = format!(
        "(listenAddr: \"127.0.0.1:{port}\", metricsAddr: None, kvConfigPath: \"DIR/kv.json\")"
    );
    assert_clean_refusal(env!("CARGO_BIN_EXE_mqnamesrv"), &config, port);
}

#[test]
fn mqbroker_with_its_port_taken_exits_1_without_a_panic() {
    let (_held, port) = taken();
    let config = format!(
        "(namesrvAddr: \"127.0.0.1:1\", listenIp: \"127.0.0.1\", listenPort: {port}, \
         metricsAddr: None, store: (storePathRootDir: \"DIR/store\", diskFullRatio: 100))"
    );
    assert_clean_refusal(env!("CARGO_BIN_EXE_mqbroker"), &config, port);
}

/// The embedded name server's port taken: its route manager is already spawned, and
/// was started outside the runtime on the way out (the case that panicked).
#[test]
fn ferrocket_with_the_name_servers_port_taken_exits_1_without_a_panic() {
    let (_held, ns) = taken();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "(metricsAddr: None, namesrv: (listenAddr: \"127.0.0.1:{ns}\", metricsAddr: None, \
         kvConfigPath: \"DIR/kv.json\"), broker: (namesrvAddr: \"127.0.0.1:{ns}\", \
         listenIp: \"127.0.0.1\", listenPort: {port}, metricsAddr: None, \
         store: (storePathRootDir: \"DIR/store\", diskFullRatio: 100)))"
    );
    assert_clean_refusal(env!("CARGO_BIN_EXE_ferrocket"), &config, ns);
}
