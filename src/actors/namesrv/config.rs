//! Name-server configuration, read from RON (`config/namesrv.ron`). Field names follow
//! RocketMQ's `NamesrvConfig` where it has one. [`LiveSettings`] holds the switches
//! UPDATE_NAMESRV_CONFIG may change on a running name server, and [`properties`] the
//! `key=value` view GET_NAMESRV_CONFIG answers with.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Keys UPDATE_NAMESRV_CONFIG refuses with NO_PERMISSION: RocketMQ 4.9.8's black list
/// (`configBlackList`, `configStorePath`, `kvConfigPath`, `rocketmqHome`). The
/// CVE-2023-33246 lesson: a remote config write must never choose a file the server
/// writes or a directory it runs from.
pub const CONFIG_BLACK_LIST: [&str; 4] = [
    "configBlackList",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
];

/// The switches a running name server reads on every request, so UPDATE_NAMESRV_CONFIG can
/// change them without a restart. Everything else in [`NamesrvConfig`] is fixed at start.
#[derive(Debug)]
pub struct LiveSettings {
    order_message_enable: AtomicBool,
    return_order_topic_config_to_broker: AtomicBool,
    enable_all_topic_list: AtomicBool,
    enable_topic_list: AtomicBool,
}

/// What UPDATE_NAMESRV_CONFIG did with each key it was given.
#[derive(Debug, Default, PartialEq)]
pub struct Updated {
    /// Changed on the running server.
    pub applied: Vec<String>,
    /// Known settings that only a restart with a new RON file changes; RocketMQ also
    /// accepts them and they do nothing until then.
    pub fixed_at_start: Vec<String>,
    /// Not a name-server setting: ignored, as RocketMQ's `Configuration.update` ignores
    /// keys it does not hold.
    pub unknown: Vec<String>,
}

impl LiveSettings {
    pub fn new(c: &NamesrvConfig) -> Self {
        LiveSettings {
            order_message_enable: AtomicBool::new(c.order_message_enable),
            return_order_topic_config_to_broker: AtomicBool::new(
                c.return_order_topic_config_to_broker,
            ),
            enable_all_topic_list: AtomicBool::new(c.enable_all_topic_list),
            enable_topic_list: AtomicBool::new(c.enable_topic_list),
        }
    }

    fn slot(&self, key: &str) -> Option<&AtomicBool> {
        match key {
            "orderMessageEnable" => Some(&self.order_message_enable),
            "returnOrderTopicConfigToBroker" => Some(&self.return_order_topic_config_to_broker),
            "enableAllTopicList" => Some(&self.enable_all_topic_list),
            "enableTopicList" => Some(&self.enable_topic_list),
            _ => None,
        }
    }

    pub fn order_message_enable(&self) -> bool {
        self.order_message_enable.load(Ordering::Relaxed)
    }

    pub fn return_order_topic_config_to_broker(&self) -> bool {
        self.return_order_topic_config_to_broker
            .load(Ordering::Relaxed)
    }

    pub fn enable_all_topic_list(&self) -> bool {
        self.enable_all_topic_list.load(Ordering::Relaxed)
    }

    pub fn enable_topic_list(&self) -> bool {
        self.enable_topic_list.load(Ordering::Relaxed)
    }

    /// Applies `props` as RocketMQ's `Configuration.update` does: nothing at all when one
    /// key is in [`CONFIG_BLACK_LIST`] (that key is returned), otherwise every live switch
    /// named takes its value (`Boolean.parseBoolean`: "true" in any case, else false).
    pub fn update(
        &self,
        config: &NamesrvConfig,
        props: &[(String, String)],
    ) -> Result<Updated, String> {
        if let Some((k, _)) = props
            .iter()
            .find(|(k, _)| CONFIG_BLACK_LIST.contains(&k.as_str()))
        {
            return Err(k.clone());
        }
        let known = properties(config, self);
        let mut out = Updated::default();
        for (k, v) in props {
            if let Some(slot) = self.slot(k) {
                slot.store(v.trim().eq_ignore_ascii_case("true"), Ordering::Relaxed);
                out.applied.push(k.clone());
            } else if known.contains_key(k.as_str()) {
                out.fixed_at_start.push(k.clone());
            } else {
                out.unknown.push(k.clone());
            }
        }
        Ok(out)
    }
}

/// The running configuration as RocketMQ's `getAllConfigsFormatString` lists it: one
/// `key=value` per setting, with RocketMQ's key names, live switches at their current value.
pub fn properties(c: &NamesrvConfig, live: &LiveSettings) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("listenPort", c.listen_addr.port().to_string()),
        ("kvConfigPath", c.kv_config_path.display().to_string()),
        ("configBlackList", CONFIG_BLACK_LIST.join(";")),
        (
            "scanNotActiveBrokerInterval",
            c.scan_not_active_broker_interval.to_string(),
        ),
        (
            "brokerChannelExpiredMillis",
            c.broker_channel_expired_millis.to_string(),
        ),
        (
            "orderMessageEnable",
            live.order_message_enable().to_string(),
        ),
        (
            "returnOrderTopicConfigToBroker",
            live.return_order_topic_config_to_broker().to_string(),
        ),
        (
            "enableAllTopicList",
            live.enable_all_topic_list().to_string(),
        ),
        ("enableTopicList", live.enable_topic_list().to_string()),
        (
            "serverChannelMaxIdleTimeSeconds",
            c.server.server_channel_max_idle_time_seconds.to_string(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn live_switches_change_and_fixed_or_unknown_keys_are_reported() {
        let c = NamesrvConfig::default();
        let live = LiveSettings::new(&c);
        let out = live
            .update(
                &c,
                &props(&[
                    ("orderMessageEnable", "TRUE"),
                    ("enableTopicList", "nope"),
                    ("listenPort", "1"),
                    ("noSuchKey", "x"),
                ]),
            )
            .unwrap();
        assert_eq!(out.applied, ["orderMessageEnable", "enableTopicList"]);
        assert_eq!(out.fixed_at_start, ["listenPort"]);
        assert_eq!(out.unknown, ["noSuchKey"]);
        assert!(live.order_message_enable());
        assert!(!live.enable_topic_list());
        let shown = properties(&c, &live);
        assert_eq!(shown["orderMessageEnable"], "true");
        assert_eq!(shown["listenPort"], "9876");
    }

    #[test]
    fn one_black_listed_key_refuses_the_whole_update() {
        let c = NamesrvConfig::default();
        let live = LiveSettings::new(&c);
        for key in CONFIG_BLACK_LIST {
            let refused = live.update(
                &c,
                &props(&[("orderMessageEnable", "true"), (key, "/tmp/x")]),
            );
            assert_eq!(refused, Err(key.to_string()));
            assert!(!live.order_message_enable(), "nothing applied");
        }
    }

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
