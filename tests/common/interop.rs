//! What the interoperability tests share: where the scripts live, the deliberate skip, and
//! free loopback ports for server processes.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// FERROCKET_SKIP_INTEROP=1 skips the interoperability tests on purpose.
pub fn skip() -> bool {
    std::env::var("FERROCKET_SKIP_INTEROP").is_ok_and(|v| v == "1")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port p with p and p-2 (the broker's VIP port) both free.
pub fn broker_port() -> u16 {
    for _ in 0..100 {
        let p = free_port();
        if p > 1026 && TcpListener::bind(("127.0.0.1", p - 2)).is_ok() {
            return p;
        }
    }
    panic!("no free port pair for the broker");
}

pub fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `mqnamesrv` as a child process on a free loopback port, its KV file in `dir`; returns
/// the process and its `host:port` once it listens.
pub fn spawn_namesrv(dir: &std::path::Path) -> (std::process::Child, String) {
    let port = free_port();
    let cfg = namesrv_ron(dir);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mqnamesrv"))
        .args(["-c", cfg.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(port);
    (child, format!("127.0.0.1:{port}"))
}

/// A name server's RON in `dir`, its KV file beside it.
pub fn namesrv_ron(dir: &std::path::Path) -> PathBuf {
    let cfg = dir.join("namesrv.ron");
    std::fs::write(
        &cfg,
        format!(
            "(metricsAddr: None, kvConfigPath: \"{}\")",
            dir.join("kv.json").display()
        ),
    )
    .unwrap();
    cfg
}

/// SIGTERM to `child`, and wait at most 20 s for it to exit.
pub fn sigterm_and_wait(child: &mut std::process::Child) -> std::process::ExitStatus {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not stop on SIGTERM",
            child.id()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
