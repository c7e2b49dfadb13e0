//! What the benchmarks that start a real broker share: its configuration (loopback,
//! ephemeral port, store in a temp dir, disk-full checks off) and the topic they send to.

use ferrocket::actors::broker::BrokerConfig;
use ferrocket::protocol::code::request;
use ferrocket::protocol::RemotingCommand;
use ferrocket::store::config::StoreConfig;

/// A broker on 127.0.0.1 with an ephemeral port, no name server, its store under `dir`.
pub fn broker_config(dir: &std::path::Path) -> BrokerConfig {
    BrokerConfig {
        namesrv_addr: String::new(),
        broker_ip1: "127.0.0.1".parse().unwrap(),
        listen_ip: "127.0.0.1".parse().unwrap(),
        listen_port: 0,
        vip_channel_enabled: false,
        metrics_addr: None,
        store: StoreConfig {
            store_path_root_dir: dir.join("store"),
            disk_full_ratio: 100,
            mapped_file_size_commit_log: 256 << 20,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// SEND_MESSAGE_V2 of a 1 KiB body to queue `i % 4` of `topic`, as the Java client sends
/// it.
pub fn send_v2(topic: &str, i: u64, properties: &str) -> RemotingCommand {
    let mut c = RemotingCommand::request(request::SEND_MESSAGE_V2);
    for (k, v) in [
        ("a", "BenchPG"),
        ("b", topic),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", &(i % 4).to_string()),
        ("f", "0"),
        ("g", "1700000000000"),
        ("h", "0"),
        ("i", properties),
        ("j", "0"),
        ("k", "false"),
        ("m", "false"),
    ] {
        c.put_ext(k, v);
    }
    c.body = bytes::Bytes::from(vec![b'x'; 1024]);
    c
}

/// UPDATE_AND_CREATE_TOPIC for `topic` with 4 queues.
pub fn create_topic(topic: &str) -> RemotingCommand {
    let mut c = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC);
    for (k, v) in [
        ("topic", topic),
        ("defaultTopic", "TBW102"),
        ("readQueueNums", "4"),
        ("writeQueueNums", "4"),
        ("perm", "6"),
        ("topicFilterType", "SINGLE_TAG"),
        ("topicSysFlag", "0"),
        ("order", "false"),
    ] {
        c.put_ext(k, v);
    }
    c
}
