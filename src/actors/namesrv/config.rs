//! Name-server configuration, read from RON (`config/namesrv.ron`). Field names follow
//! RocketMQ's `NamesrvConfig` where it has one.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::actors::remoting::ServerConfig;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct NamesrvConfig {
    /// Where clients and brokers connect (RocketMQ: port 9876 on every interface).
    pub listen_addr: SocketAddr,
    /// The HTTP metrics endpoint; `None` turns it off. Loopback by default: it is for
    /// operators, not clients.
    pub metrics_addr: Option<SocketAddr>,
    /// KV configuration file (RocketMQ: `~/namesrv/kvConfig.json`).
    pub kv_config_path: PathBuf,
    /// How often brokers past their timeout are looked for, in ms. Shorter finds dead
    /// brokers sooner at the cost of a scan of the live table.
    pub scan_not_active_broker_interval: u64,
    /// How long a broker may stay silent before its routes go, in ms, for brokers that do
    /// not send their own `heartbeatTimeoutMillis` (RocketMQ: 120 s; brokers heartbeat
    /// every 30 s).
    pub broker_channel_expired_millis: u64,
    /// Add `orderTopicConf` from the ORDER_TOPIC_CONFIG KV namespace to routes.
    pub order_message_enable: bool,
    /// Return the ORDER_TOPIC_CONFIG namespace in REGISTER_BROKER responses.
    pub return_order_topic_config_to_broker: bool,
    /// Serve GET_ALL_TOPIC_LIST_FROM_NAMESERVER (off answers "disable").
    pub enable_all_topic_list: bool,
    /// Serve GET_TOPICS_BY_CLUSTER (off answers "disable").
    pub enable_topic_list: bool,
    /// Requests the RouteInfoManager may hold before new ones are answered SYSTEM_BUSY
    /// (RocketMQ's default executor queue is 10,000 deep).
    pub route_mailbox_capacity: usize,
    /// KV requests queued before SYSTEM_BUSY.
    pub kv_mailbox_capacity: usize,
    pub server: ServerConfig,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        NamesrvConfig {
            listen_addr: SocketAddr::from(([0, 0, 0, 0], 9876)),
            metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], 5556))),
            kv_config_path: default_home().join("namesrv").join("kvConfig.json"),
            scan_not_active_broker_interval: 10_000,
            broker_channel_expired_millis: 120_000,
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            enable_all_topic_list: true,
            enable_topic_list: true,
            route_mailbox_capacity: 10_000,
            kv_mailbox_capacity: 1_000,
            server: ServerConfig::default(),
        }
    }
}

fn default_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

impl NamesrvConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.scan_not_active_broker_interval == 0 {
            return Err("scanNotActiveBrokerInterval must be positive".into());
        }
        if self.broker_channel_expired_millis == 0 {
            return Err("brokerChannelExpiredMillis must be positive".into());
        }
        if self.route_mailbox_capacity == 0 || self.kv_mailbox_capacity == 0 {
            return Err("mailbox capacities must be at least 1".into());
        }
        self.server.validate()
    }

    pub fn scan_interval(&self) -> Duration {
        Duration::from_millis(self.scan_not_active_broker_interval)
    }

    pub fn broker_timeout(&self) -> Duration {
        Duration::from_millis(self.broker_channel_expired_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_ron_file_parses_and_validates() {
        let text = include_str!("../../../config/namesrv.ron");
        let cfg: NamesrvConfig = ron::from_str(text).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.listen_addr.port(), 9876);
    }

    #[test]
    fn partial_ron_takes_defaults_and_unknown_fields_are_refused() {
        let cfg: NamesrvConfig = ron::from_str("(orderMessageEnable: true)").unwrap();
        assert!(cfg.order_message_enable);
        assert_eq!(cfg.broker_channel_expired_millis, 120_000);
        assert!(ron::from_str::<NamesrvConfig>("(listenPortt: 1)").is_err());
    }

    #[test]
    fn validate_refuses_zero_intervals() {
        let cfg = NamesrvConfig {
            scan_not_active_broker_interval: 0,
            ..Default::default()
        };
        assert!(cfg.validate().is_err());
    }
}
