//! Helpers shared by the integration tests: a name server on an ephemeral loopback port
//! with its files in a temp dir, a client, and request builders.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket::actors::metrics::MetricsRegistry;
use ferrocket::actors::namesrv::{Namesrv, NamesrvConfig};
use ferrocket::protocol::body::register::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use ferrocket::protocol::code::request;
use ferrocket::protocol::header::namesrv::{
    GetRouteInfoRequestHeader, RegisterBrokerRequestHeader,
};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;

pub const TIMEOUT: Duration = Duration::from_secs(5);

pub struct TestNamesrv {
    pub namesrv: Namesrv,
    pub addr: String,
    pub registry: Arc<MetricsRegistry>,
    pub dir: tempfile::TempDir,
}

pub fn test_config(dir: &tempfile::TempDir) -> NamesrvConfig {
    NamesrvConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: None,
        kv_config_path: dir.path().join("namesrv/kvConfig.json"),
        ..Default::default()
    }
}

pub async fn start_namesrv_with(tweak: impl FnOnce(&mut NamesrvConfig)) -> TestNamesrv {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    tweak(&mut config);
    let registry = MetricsRegistry::new();
    let namesrv = Namesrv::start(config, registry.clone()).await.unwrap();
    let addr = namesrv.local_addr().to_string();
    TestNamesrv {
        namesrv,
        addr,
        registry,
        dir,
    }
}

pub async fn start_namesrv() -> TestNamesrv {
    start_namesrv_with(|_| {}).await
}

pub fn topic_config(name: &str, queues: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".to_owned(),
        ..Default::default()
    }
}

pub fn register_body(counter: i64, topics: &[(&str, i32)]) -> RegisterBrokerBody {
    RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter,
                timestamp: 1_700_000_000_000,
                state_version: 0,
            },
            topic_config_table: topics
                .iter()
                .map(|(t, q)| (t.to_string(), topic_config(t, *q)))
                .collect::<BTreeMap<_, _>>(),
        },
        filter_server_list: vec![],
    }
}

pub fn register_request(
    broker_name: &str,
    broker_addr: &str,
    broker_id: i64,
    topics: &[(&str, i32)],
) -> RemotingCommand {
    let header = RegisterBrokerRequestHeader {
        broker_name: broker_name.to_owned(),
        broker_addr: broker_addr.to_owned(),
        cluster_name: "DefaultCluster".to_owned(),
        ha_server_addr: "127.0.0.1:10912".to_owned(),
        broker_id,
        compressed: Some(false),
        body_crc32: Some(0),
        ..Default::default()
    };
    RemotingCommand::request_with(request::REGISTER_BROKER, &header)
        .with_body(register_body(1, topics).encode())
}

pub fn route_request(topic: &str, version: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::request_with(
        request::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: None,
        },
    );
    cmd.version = version;
    cmd
}

pub async fn call(client: &RemotingClient, addr: &str, cmd: RemotingCommand) -> RemotingCommand {
    client
        .invoke(addr, cmd, TIMEOUT)
        .await
        .expect("request failed")
}

/// Polls `probe` every 20 ms until it returns true or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if probe().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A bare HTTP/1.1 GET on loopback, returning (status line, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(TIMEOUT, s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
pub mod broker;
pub mod client;
pub mod crash;
pub mod interop;
