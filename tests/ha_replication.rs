//! Master/slave replication with the master and the slave as separate `mqbroker` processes
//! on 127.0.0.1 beside an `mqnamesrv` process: SYNC_MASTER sends are on the slave byte for
//! byte, acknowledged sends survive kill -9 of the master, a stopped slave catches up
//! without gaps or duplicates, an empty slave follows from the master's last file, bad
//! input on the HA port never takes the master down, offsets committed on the slave while
//! the master is down survive its return, and a slave killed mid-record while it catches
//! up recovers to its last whole record.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::broker::{
    cmd, commit_log_max_offset, create_topic, pull, records, send_v2, FLAG_SUBSCRIPTION,
};
use common::client::{recording_consumer, wait_count, Seen};
use common::interop::{broker_port, free_port, sigterm_and_wait, spawn_namesrv, wait_listening};
use ferrocket::client::PushConsumer;
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;

const TOPIC: &str = "HaTopic";
const LIMIT: Duration = Duration::from_secs(60);

struct Node {
    dir: PathBuf,
    port: u16,
    ha_port: u16,
    extra: String,
    register_period_ms: u32,
    /// mappedFileSizeCommitLog.
    file_size: u32,
    child: Option<Child>,
}

impl Node {
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn commitlog(&self) -> PathBuf {
        self.dir.join("store/commitlog")
    }

    fn start(&mut self, ns: &str) {
        let cfg = self.dir.join("broker.ron");
        std::fs::write(
            &cfg,
            format!(
                "(brokerName: \"broker-ha\", brokerIP1: \"127.0.0.1\", listenIp: \"127.0.0.1\", listenPort: {}, \
                 haListenPort: Some({}), metricsAddr: None, registerNameServerPeriod: {}, {} \
                 store: (storePathRootDir: \"{}\", mappedFileSizeCommitLog: {}, maxMessageSize: 16384, diskFullRatio: 100))",
                self.port,
                self.ha_port,
                self.register_period_ms,
                self.extra,
                self.dir.join("store").display(),
                self.file_size
            ),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mqbroker"))
            .args(["-c", cfg.to_str().unwrap(), "-n", ns])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("log")).unwrap())
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_listening(self.port);
    }

    fn kill_9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, and wait (bounded) for a clean exit.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            sigterm_and_wait(&mut c);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill_9();
    }
}

struct Group {
    _dir: tempfile::TempDir,
    ns: Child,
    ns_addr: String,
    master: Node,
    slave: Node,
    client: RemotingClient,
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = self.ns.kill();
        let _ = self.ns.wait();
    }
}

impl Group {
    /// A name server, and a master (`role`) and a slave that are not started yet.
    fn new(role: &str, master_extra: &str) -> Group {
        let dir = tempfile::tempdir().unwrap();
        let (ns, ns_addr) = spawn_namesrv(dir.path());
        let node = |name: &str, extra: String| {
            let d = dir.path().join(name);
            std::fs::create_dir_all(&d).unwrap();
            Node {
                dir: d,
                port: broker_port(),
                ha_port: free_port(),
                extra,
                register_period_ms: 500,
                file_size: 65536,
                child: None,
            }
        };
        let master = node(
            "master",
            format!("brokerRole: {role}, brokerId: 0, {master_extra}"),
        );
        let slave = node("slave", "brokerRole: SLAVE, brokerId: 1,".to_owned());
        Group {
            _dir: dir,
            ns,
            ns_addr,
            master,
            slave,
            client: RemotingClient::default(),
        }
    }

    /// An ASYNC_MASTER and its slave, both started, with the topic and group, and
    /// `{prefix}-{i}` for `i` in `0..n` sent.
    async fn async_pair_with(prefix: &str, n: usize) -> Group {
        let mut g = Group::new("ASYNC_MASTER", "");
        g.start_master();
        g.start_slave();
        g.create_metadata().await;
        for i in 0..n {
            assert_eq!(
                g.send(&format!("{prefix}-{i}")).await,
                Some(response::SUCCESS)
            );
        }
        g
    }

    fn start_master(&mut self) {
        let ns = self.ns_addr.clone();
        self.master.start(&ns);
    }

    fn start_slave(&mut self) {
        let ns = self.ns_addr.clone();
        self.slave.start(&ns);
    }

    /// The topic and the consumer group, on the master only: the slave's
    /// SlaveSynchronize copies them.
    async fn create_metadata(&self) {
        let mut group = RemotingCommand::request(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP);
        group.body = Bytes::from_static(br#"{"groupName":"GHa","consumeEnable":true}"#);
        for cmd in [create_topic(TOPIC, 1), group] {
            let r = self
                .client
                .invoke(&self.master.addr(), cmd, Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        }
    }

    /// The slave's queue once it serves at least `n` messages.
    async fn wait_slave_bodies(&self, n: usize) -> Vec<(i64, String)> {
        let deadline = Instant::now() + LIMIT;
        loop {
            let bodies = self.slave_bodies().await;
            if bodies.len() >= n {
                return bodies;
            }
            assert!(
                Instant::now() < deadline,
                "the slave serves {} of {n} messages",
                bodies.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// One SYNC send to the master; its response code, or None if the master is gone.
    async fn send(&self, body: &str) -> Option<i32> {
        self.client
            .invoke(
                &self.master.addr(),
                send_v2(TOPIC, 0, body.as_bytes(), "T", body, body),
                Duration::from_secs(10),
            )
            .await
            .ok()
            .map(|r| r.code)
    }

    /// Sends until the slave has connected and a SYNC_MASTER send succeeds.
    async fn send_until_replicated(&self) {
        let deadline = Instant::now() + LIMIT;
        loop {
            if self.send("warm-up").await == Some(response::SUCCESS) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the slave never acknowledged a send"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `{prefix}-{i}` for each `i` in order, each retried until the master, just
    /// restarted, takes it.
    async fn send_to_restarted_master(&self, prefix: &str, range: std::ops::Range<usize>) {
        let deadline = Instant::now() + LIMIT;
        for i in range {
            while self.send(&format!("{prefix}-{i}")).await != Some(response::SUCCESS) {
                assert!(
                    Instant::now() < deadline,
                    "the restarted master takes no sends"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// A new consumer of group GHa (its own client, nothing in memory), started, once it
    /// has received `n` messages.
    async fn consume(&self, n: usize, what: &str) -> (PushConsumer, Seen, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let seen: Seen = Default::default();
        let c = recording_consumer(
            &self.ns_addr,
            "GHa",
            TOPIC,
            seen.clone(),
            true,
            16,
            dir.path(),
        );
        c.start().await.unwrap();
        assert!(
            wait_count(&seen, n, LIMIT).await,
            "{what}: the consumer read {} of {n}",
            seen.lock().unwrap().len()
        );
        (c, seen, dir)
    }

    /// What `addr` answers to QUERY_CONSUMER_OFFSET for group GHa on queue 0: the offset,
    /// or the response code.
    async fn query_offset(&self, addr: &str) -> Result<i64, i32> {
        let q = cmd(
            request::QUERY_CONSUMER_OFFSET,
            &[("consumerGroup", "GHa"), ("topic", TOPIC), ("queueId", "0")],
        );
        match self.client.invoke(addr, q, Duration::from_secs(5)).await {
            Ok(r) if r.code == response::SUCCESS => {
                Ok(r.ext("offset").and_then(|o| o.parse().ok()).unwrap_or(-1))
            }
            Ok(r) => Err(r.code),
            Err(_) => Err(-1),
        }
    }

    /// UPDATE_CONSUMER_OFFSET of group GHa on queue 0 (what an admin's old-path reset
    /// sends).
    async fn commit_offset(&self, addr: &str, offset: i64) {
        let o = offset.to_string();
        let c = cmd(
            request::UPDATE_CONSUMER_OFFSET,
            &[
                ("consumerGroup", "GHa"),
                ("topic", TOPIC),
                ("queueId", "0"),
                ("commitOffset", &o),
            ],
        );
        let r = self
            .client
            .invoke(addr, c, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }

    /// Waits until `addr` answers `offset` for group GHa on queue 0.
    async fn wait_offset(&self, addr: &str, offset: i64, what: &str) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let now = self.query_offset(addr).await;
            if now == Ok(offset) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {addr} answers {now:?}, not {offset}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every body on queue 0 of the slave, in queue order, with its queue offset.
    async fn slave_bodies(&self) -> Vec<(i64, String)> {
        let mut out = Vec::new();
        let mut offset = 0;
        for _ in 0..10_000 {
            let r = self
                .client
                .invoke(
                    &self.slave.addr(),
                    pull("GHa", TOPIC, 0, offset, FLAG_SUBSCRIPTION, 0, Some("*")),
                    Duration::from_secs(5),
                )
                .await
                .unwrap();
            if r.code != response::SUCCESS {
                break;
            }
            let recs = records(&r.body);
            if recs.is_empty() {
                break;
            }
            for rec in recs {
                out.push((
                    rec.queue_offset,
                    String::from_utf8_lossy(&rec.body).into_owned(),
                ));
                offset = rec.queue_offset + 1;
            }
        }
        out
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The slave's commit-log files, each equal to the master's file of the same name.
fn slave_matches_master(g: &Group) -> Result<Vec<String>, String> {
    let names = files(&g.slave.commitlog());
    if names.is_empty() {
        return Err("the slave has no commit-log file".into());
    }
    for n in &names {
        let m = std::fs::read(g.master.commitlog().join(n)).map_err(|e| format!("{n}: {e}"))?;
        let s = std::fs::read(g.slave.commitlog().join(n)).map_err(|e| format!("{n}: {e}"))?;
        if m != s {
            let first = m.iter().zip(&s).position(|(a, b)| a != b);
            return Err(format!("{n} differs from byte {first:?}"));
        }
    }
    Ok(names)
}

async fn wait_for_match(g: &Group) -> Vec<String> {
    let deadline = Instant::now() + LIMIT;
    loop {
        match slave_matches_master(g) {
            Ok(names) => return names,
            Err(e) => assert!(Instant::now() < deadline, "the slave never caught up: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sync_master_messages_are_on_the_slave_byte_for_byte() {
    let mut g = Group::new("SYNC_MASTER", "");
    g.start_master();
    g.create_metadata().await;
    assert_eq!(
        g.send("before any slave").await,
        Some(response::SLAVE_NOT_AVAILABLE),
        "no slave: stored, answered SLAVE_NOT_AVAILABLE"
    );
    g.start_slave();
    g.send_until_replicated().await;
    for i in 0..300 {
        let body = format!("sync-{i:04}-{}", "x".repeat(i % 200));
        assert_eq!(g.send(&body).await, Some(response::SUCCESS), "send {i}");
    }
    let names = wait_for_match(&g).await;
    assert!(
        names.len() >= 2,
        "the load spans several 64 KiB files: {names:?}"
    );
    let bodies = g.wait_slave_bodies(302).await;
    let sync: Vec<_> = bodies
        .iter()
        .filter(|(_, b)| b.starts_with("sync-"))
        .collect();
    assert_eq!(
        sync.len(),
        300,
        "every acknowledged send is readable on the slave"
    );
    assert_eq!(
        bodies.first().map(|b| b.1.as_str()),
        Some("before any slave"),
        "the slave copied what the master stored before it connected"
    );
}

#[tokio::test]
async fn a_slave_started_before_its_master_follows_it_within_seconds() {
    let mut g = Group::new("SYNC_MASTER", "");
    // RocketMQ's default period: the slave learns its master from a registration answer,
    // and must not wait a whole period for the next one.
    g.master.register_period_ms = 30_000;
    g.slave.register_period_ms = 30_000;
    g.start_slave();
    g.start_master();
    g.create_metadata().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let code = g.send("after both started").await;
        if code == Some(response::SUCCESS) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slave never followed its master (last answer {code:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for_match(&g).await;
}

#[tokio::test]
async fn every_acknowledged_message_survives_kill_9_of_the_master() {
    let mut g = Group::new("SYNC_MASTER", "");
    g.start_master();
    g.start_slave();
    g.create_metadata().await;
    g.send_until_replicated().await;
    // The slave serves reads once SlaveSynchronize copied the topic and the group.
    g.wait_slave_bodies(1).await;
    let mut acked = Vec::new();
    for i in 0..2_000 {
        if i == 400 {
            g.master.kill_9();
        }
        let body = format!("acked-{i}");
        match g.send(&body).await {
            Some(response::SUCCESS) => acked.push(body),
            // Stored but not confirmed on the slave (FLUSH_SLAVE_TIMEOUT on a busy
            // machine): not acknowledged, so not promised.
            Some(_) => {}
            None => break,
        }
    }
    assert!(
        acked.len() >= 400,
        "sends before the kill were acknowledged"
    );
    let deadline = Instant::now() + LIMIT;
    loop {
        let on_slave: std::collections::HashSet<String> =
            g.slave_bodies().await.into_iter().map(|(_, b)| b).collect();
        let missing: Vec<_> = acked.iter().filter(|b| !on_slave.contains(*b)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged messages are not readable on the slave, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_stopped_slave_catches_up_without_gaps_or_duplicates() {
    let mut g = Group::async_pair_with("m", 100).await;
    wait_for_match(&g).await;
    g.slave.stop();
    for i in 100..400 {
        assert_eq!(g.send(&format!("m-{i}")).await, Some(response::SUCCESS));
    }
    g.start_slave();
    wait_for_match(&g).await;
    let bodies = g.wait_slave_bodies(400).await;
    let expected: Vec<(i64, String)> = (0..400).map(|i| (i as i64, format!("m-{i}"))).collect();
    assert_eq!(bodies, expected, "in order, each once");
}

#[tokio::test]
async fn an_empty_slave_follows_from_the_masters_last_file() {
    let mut g = Group::new("ASYNC_MASTER", "");
    g.start_master();
    g.create_metadata().await;
    for i in 0..400 {
        let body = format!("old-{i:04}-{}", "y".repeat(300));
        assert_eq!(g.send(&body).await, Some(response::SUCCESS));
    }
    let master_files = files(&g.master.commitlog());
    assert!(master_files.len() >= 4, "{master_files:?}");
    let end = commit_log_max_offset(&g.client, &g.master.addr()).await;
    let last_file = format!("{:020}", end - end % 65536);
    g.start_slave();
    for i in 0..20 {
        assert_eq!(g.send(&format!("new-{i}")).await, Some(response::SUCCESS));
    }
    let names = wait_for_match(&g).await;
    assert_eq!(
        names.first(),
        Some(&last_file),
        "the slave starts at the master's last file"
    );
    assert!(
        !names.contains(&master_files[0]),
        "older files are not copied"
    );
}

#[tokio::test]
async fn bad_input_on_the_ha_port_never_takes_the_master_down() {
    let mut g = Group::new("ASYNC_MASTER", "haHousekeepingInterval: 2000,");
    g.start_master();
    g.create_metadata().await;
    for i in 0..50 {
        assert_eq!(g.send(&format!("b-{i}")).await, Some(response::SUCCESS));
    }
    let ha = format!("127.0.0.1:{}", g.master.ha_port);
    // Garbage, a negative offset, an offset far beyond the end, a torn report, and a
    // "slave" that asks from 0 and never reads.
    let inputs: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        (-1i64).to_be_bytes().to_vec(),
        (1i64 << 50).to_be_bytes().to_vec(),
        vec![0, 0, 0],
        (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
    ];
    let mut held = Vec::new();
    for input in &inputs {
        let mut s = std::net::TcpStream::connect(&ha).unwrap();
        s.write_all(input).unwrap();
        held.push(s);
    }
    let mut silent = std::net::TcpStream::connect(&ha).unwrap();
    silent.write_all(&0i64.to_be_bytes()).unwrap();
    // Make the master have more to send than a socket buffer holds.
    for i in 0..300 {
        let body = format!("big-{i}-{}", "z".repeat(8000));
        assert_eq!(g.send(&body).await, Some(response::SUCCESS), "send {i}");
    }
    // The housekeeping closes the silent peers; the master keeps serving.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deadline = Instant::now() + LIMIT;
    let mut buf = [0u8; 65536];
    silent
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    loop {
        match silent.read(&mut buf) {
            Ok(0) => break,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the master never closed a silent slave"
        );
    }
    drop(held);
    assert_eq!(g.send("still alive").await, Some(response::SUCCESS));
    g.start_slave();
    wait_for_match(&g).await;
}

#[tokio::test]
async fn consumers_read_the_slave_while_the_master_is_down_and_the_master_after_it_returns() {
    let mut g = Group::async_pair_with("c", 100).await;
    wait_for_match(&g).await;
    g.wait_slave_bodies(100).await;
    g.master.kill_9();

    let (consumer, seen, _dir) = g.consume(100, "with the master down, from the slave").await;

    g.start_master();
    g.send_to_restarted_master("c", 100..150).await;
    assert!(
        wait_count(&seen, 150, LIMIT).await,
        "after the master returned the consumer read {} of 150",
        seen.lock().unwrap().len()
    );
    let bodies: std::collections::BTreeSet<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    for i in 0..150 {
        assert!(
            bodies.contains(&format!("c-{i}")),
            "c-{i} was never consumed"
        );
    }
    consumer.shutdown().await;
}

fn bodies_of(seen: &Seen) -> std::collections::BTreeSet<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(_, m)| m.topic == TOPIC)
        .map(|(_, m)| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

#[tokio::test]
async fn offsets_committed_on_the_slave_while_the_master_was_down_survive_its_return() {
    let mut g = Group::async_pair_with("c", 100).await;
    // The group's progress on the master when it goes down: 20, copied to the slave.
    g.commit_offset(&g.master.addr(), 20).await;
    wait_for_match(&g).await;
    g.wait_slave_bodies(100).await;
    g.wait_offset(&g.slave.addr(), 20, "the slave copies the master's offsets")
        .await;
    g.master.stop();

    // With the master down the group consumes from the slave and commits there.
    let (first, seen, _dir) = g.consume(80, "with the master down, from the slave").await;
    first.shutdown().await;
    let expected: std::collections::BTreeSet<String> =
        (20..100).map(|i| format!("c-{i}")).collect();
    assert_eq!(
        bodies_of(&seen),
        expected,
        "from the master's last offset on"
    );
    g.wait_offset(&g.slave.addr(), 100, "the consumer committed on the slave")
        .await;

    // The master returns; the slave hands the offset back and the master takes it.
    g.start_master();
    g.wait_offset(
        &g.master.addr(),
        100,
        "the master learns the offset committed on the slave",
    )
    .await;
    g.send_to_restarted_master("d", 0..20).await;

    // A new instance of the group (nothing in memory) asks the master where to start.
    let (second, seen2, _dir2) = g
        .consume(20, "the messages sent after the master returned")
        .await;
    second.shutdown().await;
    let after: std::collections::BTreeSet<String> = (0..20).map(|i| format!("d-{i}")).collect();
    assert_eq!(
        bodies_of(&seen2),
        after,
        "nothing consumed on the slave is read again"
    );
    g.wait_offset(
        &g.master.addr(),
        120,
        "the new consumer committed on the master",
    )
    .await;

    // A reset on the master, with no newer commit on the slave, stands and reaches the
    // slave.
    g.commit_offset(&g.master.addr(), 0).await;
    g.wait_offset(&g.slave.addr(), 0, "the reset reaches the slave")
        .await;
    assert_eq!(
        g.query_offset(&g.master.addr()).await,
        Ok(0),
        "the slave does not undo the reset"
    );
}

#[tokio::test]
async fn a_slave_killed_mid_record_while_catching_up_recovers_to_its_last_whole_record() {
    const MIB: u32 = 1 << 20;
    const N: usize = 2_000;
    let mut g = Group::new("ASYNC_MASTER", "");
    g.master.file_size = MIB;
    g.slave.file_size = MIB;
    g.start_master();
    g.start_slave();
    g.create_metadata().await;
    assert_eq!(g.send("k-first").await, Some(response::SUCCESS));
    wait_for_match(&g).await;
    g.slave.stop();

    // A backlog of ~70 MB in 1 MiB files: ~36 KB records (the body is also the keys and
    // the unique key), so the 32 KiB frames the master streams end mid-record, mostly in
    // the properties, and a kill -9 leaves a torn record at the tail.
    let body = |i: usize| {
        format!(
            "k-{i:05}-{}",
            char::from(b'a' + (i % 26) as u8).to_string().repeat(12_000)
        )
    };
    // 4 at a time; a send the busy master refuses (SYSTEM_BUSY) is retried.
    let g_ref = &g;
    let deadline = Instant::now() + LIMIT;
    for chunk in (0..N).collect::<Vec<_>>().chunks(4) {
        let mut todo: Vec<usize> = chunk.to_vec();
        while !todo.is_empty() {
            let codes = futures_util::future::join_all(todo.iter().map(|i| {
                let b = body(*i);
                async move { g_ref.send(&b).await }
            }))
            .await;
            assert!(
                codes
                    .iter()
                    .all(|c| matches!(*c, Some(response::SUCCESS | response::SYSTEM_BUSY))),
                "{codes:?}"
            );
            todo = todo
                .into_iter()
                .zip(codes)
                .filter(|(_, c)| *c != Some(response::SUCCESS))
                .map(|(i, _)| i)
                .collect();
            assert!(Instant::now() < deadline, "the master stays busy");
        }
    }
    let master_files = files(&g.master.commitlog()).len();
    assert!(master_files >= 20, "{master_files} files");

    // Kill the slave three times while it copies the backlog, each time once its log has
    // grown by a few more files.
    for threshold in [master_files / 4, master_files / 2, master_files * 3 / 4] {
        g.start_slave();
        let deadline = Instant::now() + LIMIT;
        while files(&g.slave.commitlog()).len() < threshold {
            assert!(
                Instant::now() < deadline,
                "the slave never reached {threshold} files"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        g.slave.kill_9();
    }
    g.start_slave();
    wait_for_match(&g).await;

    let bodies = g.wait_slave_bodies(N + 1).await;
    let offsets: Vec<i64> = bodies.iter().map(|(o, _)| *o).collect();
    assert_eq!(
        offsets,
        (0..=N as i64).collect::<Vec<_>>(),
        "queue offsets without gaps or duplicates"
    );
    let mut got: Vec<&str> = bodies.iter().map(|(_, b)| b.as_str()).collect();
    got.sort_unstable();
    let mut expected: Vec<String> = (0..N).map(body).collect();
    expected.push("k-first".to_owned());
    expected.sort_unstable();
    assert!(
        got.iter().zip(&expected).all(|(a, b)| a == b),
        "the slave serves every message once, as sent"
    );
}
