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
