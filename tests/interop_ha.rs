//! Interoperability with a slave: npm `ali-ons` sends 100 messages to a SYNC_MASTER with a
//! slave (`mqnamesrv` and two `mqbroker` processes on 127.0.0.1); once the slave holds them
//! the master stops (SIGTERM), and a push consumer of a new group receives every message from
//! the slave: first ali-ons (which takes another address of the broker name's route when the
//! master's id 0 is missing), then PyPI `rocketmq` 0.4.4 (the C++ client). The scripts are
//! in tests/interop/ (see its README).
//!
//! `.ci/run` installs both clients. Without them this test fails, unless
//! FERROCKET_SKIP_INTEROP=1 is set to skip it on purpose.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::broker::{commit_log_max_offset, create_topic, send_v2};
use common::interop::*;
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;

const TOPIC: &str = "InteropHaTopic";
const PROBE: &str = "InteropHaProbe";
const COUNT: &str = "100";
const LIMIT: Duration = Duration::from_secs(60);

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start_broker(dir: &Path, port: u16, ns: &str, extra: &str) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    let cfg: PathBuf = dir.join("broker.ron");
    std::fs::write(
        &cfg,
        format!(
            "(brokerName: \"broker-interop-ha\", brokerIP1: \"127.0.0.1\", listenIp: \"127.0.0.1\", listenPort: {port}, \
             haListenPort: Some({}), metricsAddr: None, registerNameServerPeriod: 500, {extra} \
             store: (storePathRootDir: \"{}\", mappedFileSizeCommitLog: 1048576, maxMessageSize: 65536, diskFullRatio: 100))",
            free_port(),
            dir.join("store").display()
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mqbroker"))
        .args(["-c", cfg.to_str().unwrap(), "-n", ns])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("log")).unwrap())
        .spawn()
        .unwrap();
    wait_listening(port);
    child
}

async fn slave_knows_topic(client: &RemotingClient, addr: &str) -> bool {
    let r = client
        .invoke(
            addr,
            RemotingCommand::request(request::GET_ALL_TOPIC_CONFIG),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    String::from_utf8_lossy(&r.body).contains(TOPIC)
}

fn python() -> String {
    std::env::var("FERROCKET_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn run_script(program: &str, name: &str, args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(program)
        .arg(interop_dir().join(name))
        .args(args)
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_default()
        .to_owned();
    assert!(
        out.status.success() && line.starts_with("RESULT ok"),
        "{name} {args:?}: {line}"
    );
    line
}

#[actix_rt::test]
async fn ali_ons_and_the_cpp_client_consume_from_the_slave_while_the_master_is_stopped() {
    if skip() {
        eprintln!("FERROCKET_SKIP_INTEROP=1: skipping");
        return;
    }
    assert!(
        interop_dir().join("node_modules/ali-ons").is_dir(),
        "ali-ons is not installed: run `npm ci --prefix tests/interop` (or .ci/run)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (namesrv, ns) = spawn_namesrv(dir.path());
    let mut procs = Procs(vec![namesrv]);
    let (master_port, slave_port) = (broker_port(), broker_port());
    let master = format!("127.0.0.1:{master_port}");
    let slave = format!("127.0.0.1:{slave_port}");
    procs.0.push(start_broker(
        &dir.path().join("master"),
        master_port,
        &ns,
        "brokerRole: SYNC_MASTER, brokerId: 0,",
    ));
    procs.0.push(start_broker(
        &dir.path().join("slave"),
        slave_port,
        &ns,
        "brokerRole: SLAVE, brokerId: 1,",
    ));
    let client = RemotingClient::default();
    let r = client
        .invoke(&master, create_topic(TOPIC, 4), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);

    // The slave is connected once a SYNC_MASTER send to another topic answers SUCCESS.
    let probe = create_topic(PROBE, 1);
    let r = client
        .invoke(&master, probe, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let deadline = Instant::now() + LIMIT;
    loop {
        let send = send_v2(PROBE, 0, b"probe", "T", "k", "u");
        let r = client
            .invoke(&master, send, Duration::from_secs(10))
            .await
            .unwrap();
        if r.code == response::SUCCESS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slave never acked: {}",
            r.code
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    run_script(
        "node",
        "ali_ons_produce_only.js",
        &[&ns, TOPIC, "PG_interop_ha", COUNT],
    );

    // The slave holds every byte and knows the topic (SlaveSynchronize).
    let end = commit_log_max_offset(&client, &master).await;
    let deadline = Instant::now() + LIMIT;
    while commit_log_max_offset(&client, &slave).await < end
        || !slave_knows_topic(&client, &slave).await
    {
        assert!(
            Instant::now() < deadline,
            "the slave never caught up with the master's {end} bytes and topic"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut m = procs.0.remove(1);
    assert!(sigterm_and_wait(&mut m).success(), "the master's exit");

    let line = run_script(
        "node",
        "ali_ons_consume_only.js",
        &[&ns, TOPIC, "CG_interop_ha_from_slave", COUNT],
    );
    eprintln!("ali-ons: {line}");
    let line = run_script(
        &python(),
        "rocketmq_consume_only.py",
        &[&ns, TOPIC, "CG_interop_ha_cpp_from_slave", COUNT],
    );
    eprintln!("rocketmq (C++): {line}");
}
