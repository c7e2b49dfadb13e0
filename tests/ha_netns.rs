//! A network fault between a SYNC_MASTER and its slave on separate addresses: the test makes
//! two network namespaces joined by a veth pair (10.213.x.1 master side, 10.213.x.2 slave
//! side), runs `mqnamesrv` and the master `mqbroker` in one and the slave `mqbroker` in the
//! other (the slave learns the master's HA address, 10.213.x.1, from the name server across
//! the link), and produces from the host through a third veth into the master's namespace
//! (10.214.x.1 host, 10.214.x.2 master). Setting the master–slave veth down cuts the link:
//! sends then answer FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE and are stored; once the
//! link is up again sends succeed and the slave's commit log equals the master's byte for
//! byte. A two-group cluster (broker-a and broker-b, each a SYNC_MASTER and a slave, two name
//! servers) spread over the two namespaces keeps taking a host producer's sends, on broker-b,
//! after broker-a's master is killed, and after it stops (SIGSTOP) with its sockets open, when
//! only the name servers' expiry of silent brokers takes it out of the routes. Without permission to make namespaces (not root) the
//! tests say so and skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::broker::{commit_log_max_offset, create_topic, send_v2};
use common::interop::namesrv_ron;
use ferrocket::protocol::body::route::TopicRouteData;
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;

const TOPIC: &str = "NetnsTopic";
const LIMIT: Duration = Duration::from_secs(60);
const PORT: u16 = 10911;
const NAMESRV_PORT: u16 = 9876;

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A third octet x, from the pid, with no host address in 10.214.x.0/24 yet, so runs side
/// by side (and the host's own networks) do not share the host route.
fn free_subnet(pid: u32) -> u32 {
    let used = Command::new("ip")
        .args(["-o", "-4", "addr", "show"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    (0..200)
        .map(|i| (pid + i) % 200 + 20)
        .find(|x| {
            !used.contains(&format!(" 10.214.{x}.")) && !used.contains(&format!(" 10.215.{x}."))
        })
        .unwrap_or(pid % 200 + 20)
}

/// The namespaces, links and processes of one run; Drop kills the processes and removes
/// the namespaces (which takes their veths, and so the host's end, with them).
struct Net {
    master_ns: String,
    slave_ns: String,
    /// The master's end of the master–slave link, inside `master_ns`.
    link: String,
    host_link: String,
    /// 10.213.x.0/24 between the namespaces, 10.214.x.0/24 from the host.
    x: u32,
    /// The pid and a counter: part of every name.
    tag: String,
    second_host_link: Option<String>,
    children: Vec<Child>,
}

impl Net {
    fn new() -> Result<Net, String> {
        // Unique per test of this run, as the tests of one binary run side by side.
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let pid = std::process::id();
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{pid}n{n}");
        let mut net = Net {
            master_ns: format!("fcha{tag}m"),
            slave_ns: format!("fcha{tag}s"),
            link: format!("fm{tag}"),
            host_link: format!("fh{tag}"),
            x: free_subnet(pid + n * 100),
            tag,
            second_host_link: None,
            children: Vec::new(),
        };
        ip(&["netns", "add", &net.master_ns])?;
        if let Err(e) = ip(&["netns", "add", &net.slave_ns]) {
            let _ = ip(&["netns", "del", &net.master_ns]);
            return Err(e);
        }
        net.wire().map(|()| net)
    }

    fn wire(&mut self) -> Result<(), String> {
        let (m, s, x) = (self.master_ns.clone(), self.slave_ns.clone(), self.x);
        let tag = &self.tag;
        let (slave_end, master_host_end) = (format!("fs{tag}"), format!("fg{tag}"));
        ip(&[
            "link", "add", &self.link, "netns", &m, "type", "veth", "peer", "name", &slave_end,
            "netns", &s,
        ])?;
        ip(&[
            "link",
            "add",
            &self.host_link,
            "type",
            "veth",
            "peer",
            "name",
            &master_host_end,
            "netns",
            &m,
        ])?;
        let a = |ns: &str, args: &[&str]| {
            let mut all = vec!["-n", ns];
            all.extend_from_slice(args);
            ip(&all)
        };
        a(
            &m,
            &[
                "addr",
                "add",
                &format!("10.213.{x}.1/24"),
                "dev",
                &self.link,
            ],
        )?;
        a(
            &s,
            &[
                "addr",
                "add",
                &format!("10.213.{x}.2/24"),
                "dev",
                &slave_end,
            ],
        )?;
        a(
            &m,
            &[
                "addr",
                "add",
                &format!("10.214.{x}.2/24"),
                "dev",
                &master_host_end,
            ],
        )?;
        ip(&[
            "addr",
            "add",
            &format!("10.214.{x}.1/24"),
            "dev",
            &self.host_link,
        ])?;
        for (ns, dev) in [
            (&m, "lo"),
            (&s, "lo"),
            (&m, self.link.as_str()),
            (&s, slave_end.as_str()),
            (&m, master_host_end.as_str()),
        ] {
            a(ns, &["link", "set", dev, "up"])?;
        }
        ip(&["link", "set", &self.host_link, "up"])
    }

    fn master_ip(&self) -> String {
        format!("10.213.{}.1", self.x)
    }

    /// Where the host reaches the master.
    fn master_addr(&self) -> String {
        format!("10.214.{}.2:{PORT}", self.x)
    }

    /// A second host link, into the slave's namespace (10.215.x.1 host, 10.215.x.2), and
    /// host routes to both 10.213.x addresses, so the host reaches each namespace at the
    /// address its brokers register.
    fn reach_both(&mut self) -> Result<(), String> {
        let (tag, x) = (&self.tag, self.x);
        let (host, inner) = (format!("fk{tag}"), format!("fj{tag}"));
        ip(&[
            "link",
            "add",
            &host,
            "type",
            "veth",
            "peer",
            "name",
            &inner,
            "netns",
            &self.slave_ns,
        ])?;
        self.second_host_link = Some(host.clone());
        let s = self.slave_ns.clone();
        ip(&[
            "-n",
            &s,
            "addr",
            "add",
            &format!("10.215.{x}.2/24"),
            "dev",
            &inner,
        ])?;
        ip(&["-n", &s, "link", "set", &inner, "up"])?;
        ip(&["addr", "add", &format!("10.215.{x}.1/24"), "dev", &host])?;
        ip(&["link", "set", &host, "up"])?;
        ip(&[
            "route",
            "add",
            &format!("10.213.{x}.1/32"),
            "via",
            &format!("10.214.{x}.2"),
        ])?;
        ip(&[
            "route",
            "add",
            &format!("10.213.{x}.2/32"),
            "via",
            &format!("10.215.{x}.2"),
        ])
    }

    fn set_link(&self, state: &str) {
        ip(&["-n", &self.master_ns, "link", "set", &self.link, state]).unwrap();
    }

    fn spawn(&mut self, ns: &str, bin: &str, args: &[&str], log: &Path) {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, bin])
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        self.children.push(child);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = ip(&["link", "del", &self.host_link]);
        if let Some(l) = &self.second_host_link {
            let _ = ip(&["link", "del", l]);
        }
        let _ = ip(&["netns", "del", &self.master_ns]);
        let _ = ip(&["netns", "del", &self.slave_ns]);
    }
}

fn broker_ron(dir: &Path, extra: &str) -> PathBuf {
    named_broker_ron(dir, "broker-netns", PORT, extra)
}

/// A broker's RON: `name`, listening on `port` on every address of its namespace, HA on
/// `port + 1`.
fn named_broker_ron(dir: &Path, name: &str, port: u16, extra: &str) -> PathBuf {
    let cfg = dir.join("broker.ron");
    std::fs::write(
        &cfg,
        format!(
            "(brokerName: \"{name}\", listenIp: \"0.0.0.0\", listenPort: {port}, \
             haListenPort: Some({}), metricsAddr: None, registerNameServerPeriod: 500, {extra} \
             store: (storePathRootDir: \"{}\", mappedFileSizeCommitLog: 1048576, maxMessageSize: 16384, diskFullRatio: 100))",
            port + 1,
            dir.join("store").display()
        ),
    )
    .unwrap();
    cfg
}

/// The commit log's files in order, concatenated.
fn commit_log(dir: &Path) -> Vec<u8> {
    let Ok(entries) = std::fs::read_dir(dir.join("store/commitlog")) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    names
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap_or_default())
        .collect()
}

async fn send(client: &RemotingClient, addr: &str, body: &str) -> i32 {
    let r = client
        .invoke(
            addr,
            send_v2(TOPIC, 0, body.as_bytes(), "T", body, body),
            Duration::from_secs(10),
        )
        .await
        .expect("the master answers every send");
    r.code
}

/// Sends until one answers SUCCESS; every answer on the way must be 11 or 12.
async fn send_until_success(client: &RemotingClient, addr: &str, what: &str) -> usize {
    let deadline = Instant::now() + LIMIT;
    for round in 0.. {
        let code = send(client, addr, &format!("{what}-{round}")).await;
        if code == response::SUCCESS {
            return round + 1;
        }
        assert!(
            code == response::SLAVE_NOT_AVAILABLE || code == response::FLUSH_SLAVE_TIMEOUT,
            "{what}: unexpected code {code}"
        );
        assert!(
            Instant::now() < deadline,
            "{what}: no SUCCESS within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    unreachable!()
}

#[actix_rt::test]
async fn cutting_the_master_slave_link_answers_11_or_12_and_the_slave_catches_up() {
    let mut net = match Net::new() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("skipping ha_netns: cannot make network namespaces: {e}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let (master_dir, slave_dir) = (dir.path().join("master"), dir.path().join("slave"));
    std::fs::create_dir_all(&master_dir).unwrap();
    std::fs::create_dir_all(&slave_dir).unwrap();
    let master_ip = net.master_ip();
    let ns_addr = format!("{master_ip}:{NAMESRV_PORT}");

    let ns_cfg = namesrv_ron(dir.path());
    let master_ns = net.master_ns.clone();
    let slave_ns = net.slave_ns.clone();
    net.spawn(
        &master_ns,
        env!("CARGO_BIN_EXE_mqnamesrv"),
        &["-c", ns_cfg.to_str().unwrap(), "--listen", &ns_addr],
        &dir.path().join("namesrv.log"),
    );
    let master_cfg = broker_ron(
        &master_dir,
        &format!(
            "brokerRole: SYNC_MASTER, brokerId: 0, brokerIP1: \"{master_ip}\", slaveTimeout: 3000,"
        ),
    );
    net.spawn(
        &master_ns,
        env!("CARGO_BIN_EXE_mqbroker"),
        &["-c", master_cfg.to_str().unwrap(), "-n", &ns_addr],
        &master_dir.join("log"),
    );
    let slave_cfg = broker_ron(
        &slave_dir,
        &format!(
            "brokerRole: SLAVE, brokerId: 1, brokerIP1: \"10.213.{}.2\",",
            net.x
        ),
    );
    net.spawn(
        &slave_ns,
        env!("CARGO_BIN_EXE_mqbroker"),
        &["-c", slave_cfg.to_str().unwrap(), "-n", &ns_addr],
        &slave_dir.join("log"),
    );

    let addr = net.master_addr();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the master never listened on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let client = RemotingClient::default();
    let r = client
        .invoke(&addr, create_topic(TOPIC, 1), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    // The slave connects over the link: a send is answered SUCCESS.
    let mut sent = send_until_success(&client, &addr, "before").await;

    net.set_link("down");
    let mut stored = commit_log_max_offset(&client, &addr).await;
    for i in 0..3 {
        let code = send(&client, &addr, &format!("cut-{i}")).await;
        assert!(
            code == response::FLUSH_SLAVE_TIMEOUT || code == response::SLAVE_NOT_AVAILABLE,
            "a send while the link is cut answered {code}"
        );
        eprintln!("send {i} while the link is cut answered {code}");
        let now = commit_log_max_offset(&client, &addr).await;
        assert!(now > stored, "a send answered {code} was not stored");
        stored = now;
        sent += 1;
    }

    net.set_link("up");
    sent += send_until_success(&client, &addr, "after").await;
    let end = commit_log_max_offset(&client, &addr).await as usize;
    assert!(end > 0 && sent >= 5);
    let deadline = Instant::now() + LIMIT;
    loop {
        let master = commit_log(&master_dir);
        let slave = commit_log(&slave_dir);
        if slave.len() >= end && master[..end] == slave[..end] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slave's commit log does not equal the master's first {end} bytes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How broker-a's master fails in the two-group test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Failure {
    /// kill -9: its sockets close, so the name servers drop it at once.
    Kill,
    /// SIGSTOP: its sockets stay open and it falls silent, so only the name servers' scan
    /// for brokers past their heartbeat timeout (channelExpiredTimeout, 3 s here) drops it.
    Silence,
}

/// Two broker groups, each a SYNC_MASTER and a slave, and two name servers: namespace one
/// holds name server 1, broker-a's master and broker-b's slave; namespace two the others. A
/// Rust producer on the host keeps sending through both name servers; after broker-a's
/// master is killed (-9) its sends go to broker-b and succeed.
#[actix_rt::test]
async fn producers_keep_sending_to_the_surviving_group_when_a_master_dies() {
    two_groups_lose_master_a(Failure::Kill).await;
}

/// As above, but broker-a's master stops (SIGSTOP) without closing a socket: both name
/// servers expire it from the topic's route (broker-a keeps only its slave, which takes no
/// sends), and the producer, once its route poll has seen that, sends only to broker-b.
#[actix_rt::test]
async fn a_silent_master_expires_from_the_routes_and_producers_move_to_the_other_group() {
    two_groups_lose_master_a(Failure::Silence).await;
}

/// broker-a's master address in the route `namesrv` answers for the topic, if any.
async fn master_a_in_route(
    client: &RemotingClient,
    namesrv: &str,
) -> Result<Option<String>, String> {
    let mut req = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC);
    req.put_ext("topic", TOPIC);
    let r = client
        .invoke(namesrv, req, Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    if r.code != response::SUCCESS {
        return Err(format!("route answered {} {:?}", r.code, r.remark));
    }
    let route = TopicRouteData::decode(&r.body).map_err(|e| e.to_string())?;
    Ok(route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == "broker-a")
        .and_then(|b| b.broker_addrs.get(&0).cloned()))
}

async fn two_groups_lose_master_a(failure: Failure) {
    let mut net = match Net::new().and_then(|mut n| n.reach_both().map(|()| n)) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("skipping ha_netns: cannot make network namespaces: {e}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let ips = [format!("10.213.{}.1", net.x), format!("10.213.{}.2", net.x)];
    let nss = [net.master_ns.clone(), net.slave_ns.clone()];
    let namesrvs = format!("{}:{NAMESRV_PORT};{}:{NAMESRV_PORT}", ips[0], ips[1]);
    for i in 0..2 {
        let d = dir.path().join(format!("namesrv{i}"));
        std::fs::create_dir_all(&d).unwrap();
        let cfg = namesrv_ron(&d);
        if failure == Failure::Silence {
            let ron = std::fs::read_to_string(&cfg).unwrap();
            let ron = ron.replacen('(', "(scanNotActiveBrokerInterval: 500, ", 1);
            std::fs::write(&cfg, ron).unwrap();
        }
        let listen = format!("{}:{NAMESRV_PORT}", ips[i]);
        net.spawn(
            &nss[i],
            env!("CARGO_BIN_EXE_mqnamesrv"),
            &["-c", cfg.to_str().unwrap(), "--listen", &listen],
            &d.join("log"),
        );
    }
    // (group, namespace of its master); the slave is in the other one.
    let mut master_a = 0;
    for (g, name) in ["broker-a", "broker-b"].into_iter().enumerate() {
        for (id, role, port) in [(0, "SYNC_MASTER", PORT), (1, "SLAVE", PORT + 10)] {
            let at = (g + id) % 2;
            let d = dir.path().join(format!("{name}-{id}"));
            std::fs::create_dir_all(&d).unwrap();
            let cfg = named_broker_ron(
                &d,
                name,
                port,
                &format!(
                    "brokerRole: {role}, brokerId: {id}, brokerIP1: \"{}\", {}",
                    ips[at],
                    if failure == Failure::Silence {
                        "channelExpiredTimeout: 3000,"
                    } else {
                        ""
                    }
                ),
            );
            if (g, id) == (0, 0) {
                master_a = net.children.len();
            }
            net.spawn(
                &nss[at],
                env!("CARGO_BIN_EXE_mqbroker"),
                &["-c", cfg.to_str().unwrap(), "-n", &namesrvs],
                &d.join("log"),
            );
        }
    }
    let masters = [format!("{}:{PORT}", ips[0]), format!("{}:{PORT}", ips[1])];
    let client = RemotingClient::default();
    let deadline = Instant::now() + LIMIT;
    for m in &masters {
        loop {
            let r = client
                .invoke(m, create_topic(TOPIC, 2), Duration::from_secs(5))
                .await;
            if r.as_ref().is_ok_and(|r| r.code == response::SUCCESS) {
                break;
            }
            assert!(Instant::now() < deadline, "no topic on {m}: {r:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        send_until_success(&client, m, "warm").await;
    }

    let producer = ferrocket::client::Producer::new(
        ferrocket::client::ProducerConfig {
            group: "PG_netns".into(),
            ..Default::default()
        },
        common::client::fast_client(&namesrvs, "netns-producer"),
    );
    producer.start();
    let msg = |i: usize| ferrocket::client::Message::new(TOPIC, format!("m-{i}").into_bytes());
    // Both groups take sends before the master dies.
    let mut brokers = std::collections::HashSet::new();
    let deadline = Instant::now() + LIMIT;
    let mut i = 0;
    while brokers.len() < 2 {
        assert!(Instant::now() < deadline, "sends reached only {brokers:?}");
        if let Ok(r) = producer.send(&msg(i)).await {
            brokers.insert(r.queue.broker_name.clone());
        }
        i += 1;
    }

    match failure {
        Failure::Kill => {
            let mut a = net.children.remove(master_a);
            a.kill().unwrap();
            a.wait().unwrap();
        }
        Failure::Silence => {
            let pid = net.children[master_a].id().to_string();
            let stopped = Command::new("kill").args(["-STOP", &pid]).status().unwrap();
            assert!(stopped.success(), "SIGSTOP {pid}");
            let namesrv_addrs: Vec<String> = ips
                .iter()
                .map(|ip| format!("{ip}:{NAMESRV_PORT}"))
                .collect();
            let deadline = Instant::now() + LIMIT;
            for ns in &namesrv_addrs {
                loop {
                    let now = master_a_in_route(&client, ns).await;
                    if now == Ok(None) {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{ns} still routes to the silent master: {now:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    // After the route forgets broker-a (or the client learns it is down), a run of sends all
    // succeed, on broker-b.
    let deadline = Instant::now() + LIMIT;
    let (mut run, mut failed) = (0, 0);
    while run < 20 {
        assert!(
            Instant::now() < deadline,
            "no run of 20 successful sends after broker-a's master died"
        );
        match producer.send(&msg(i)).await {
            Ok(r) if r.queue.broker_name == "broker-b" => run += 1,
            Ok(r) => panic!(
                "a send went to dead {} ({:?})",
                r.queue.broker_name, r.status
            ),
            Err(_) => {
                run = 0;
                failed += 1;
            }
        }
        i += 1;
    }
    eprintln!("after broker-a's master died: {failed} failed sends before 20 in a row on broker-b");
    producer.shutdown().await;
}
