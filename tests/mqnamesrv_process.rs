//! The `mqnamesrv` binary as a user runs it: config file, flag overrides, serving, and a
//! clean exit on SIGTERM and SIGINT.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ferrocket::protocol::code::response;
use ferrocket::remoting_client::RemotingClient;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(dir: &std::path::Path, port: u16) -> Child {
    let config = dir.join("namesrv.ron");
    std::fs::write(
        &config,
        format!(
            "(listenAddr: \"0.0.0.0:1\", metricsAddr: None, kvConfigPath: \"{}\")",
            dir.join("kv.json").display()
        ),
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_mqnamesrv"))
        .args([
            "-c",
            config.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

async fn serves(addr: &str) -> bool {
    eventually(Duration::from_secs(10), || {
        let addr = addr.to_owned();
        async move {
            match RemotingClient::default()
                .invoke(&addr, route_request("T", 409), Duration::from_millis(500))
                .await
            {
                Ok(r) => r.code == response::TOPIC_NOT_EXIST,
                Err(_) => false,
            }
        }
    })
    .await
}

async fn exits_cleanly_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn(dir.path(), port);
    assert!(
        serves(&format!("127.0.0.1:{port}")).await,
        "mqnamesrv did not serve on the --listen address"
    );
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_exit(&mut child, Duration::from_secs(10));
    assert!(
        exit.is_some_and(|s| s.success()),
        "mqnamesrv must exit 0 after {signal}: {exit:?}"
    );
}

#[actix_rt::test]
async fn mqnamesrv_serves_and_exits_cleanly_on_sigterm() {
    exits_cleanly_on("-TERM").await;
}

#[actix_rt::test]
async fn mqnamesrv_exits_cleanly_on_sigint() {
    exits_cleanly_on("-INT").await;
}

#[test]
fn a_broken_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.ron");
    std::fs::write(&config, "(listenAddr: 12").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mqnamesrv"))
        .args(["-c", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid config"));
}
