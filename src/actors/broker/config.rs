//! Broker configuration, read from RON (`config/broker.ron`). Field names follow RocketMQ's
//! `BrokerConfig`; the store's settings (`storePathRootDir`, `flushDiskType`,
//! `maxMessageSize`, ...) sit in the `store` section with `MessageStoreConfig`'s names.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::actors::remoting::ServerConfig;
use crate::store::config::StoreConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BrokerRole {
    #[default]
    AsyncMaster,
    SyncMaster,
    Slave,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct BrokerConfig {
    pub broker_cluster_name: String,
    pub broker_name: String,
    /// 0 is the master.
    pub broker_id: i64,
    /// Name servers, `host:port` separated by `;`. Empty: run without registering.
    pub namesrv_addr: String,
    /// The address clients are told to reach this broker at (RocketMQ's brokerIP1); it is
    /// also written into every stored message as its store host.
    #[serde(rename = "brokerIP1")]
    pub broker_ip1: IpAddr,
    /// Address the remoting ports bind to.
    pub listen_ip: IpAddr,
    /// The client port (10911). The "VIP channel" listens on listenPort − 2 as well.
    pub listen_port: u16,
    /// Also serve on listenPort − 2, where Java clients up to 4.4 send by default.
    pub vip_channel_enabled: bool,
    /// ASYNC_MASTER answers sends once stored; SYNC_MASTER once a slave also holds them;
    /// SLAVE follows a master (brokerId > 0) and takes no writes.
    pub broker_role: BrokerRole,
    /// The master's HA port, where slaves connect (listenPort + 1 when unset; 0 picks a
    /// free port, for tests).
    pub ha_listen_port: Option<u16>,
    /// A slave's master HA address (`host:port`); unset, the slave uses the haServerAddr
    /// the name server answers to its registration.
    pub ha_master_address: Option<String>,
    /// An idle master sends a heartbeat frame this often, and a slave reports its offset
    /// this often, ms (5 s).
    pub ha_send_heartbeat_interval: u64,
    /// A peer silent this long is disconnected, ms (20 s).
    pub ha_housekeeping_interval: u64,
    /// Most commit-log bytes per frame (32 KiB).
    pub ha_transfer_batch_size: usize,
    /// SYNC_MASTER answers SLAVE_NOT_AVAILABLE when the slave is this far behind (256 MiB).
    pub ha_slave_fallbehind_max: i64,
    /// SYNC_MASTER answers FLUSH_SLAVE_TIMEOUT when no slave acked within this, ms (3 s).
    pub slave_timeout: u64,
    /// Consumers may be told to pull from a slave (suggestWhichBrokerId), as Java's
    /// slaveReadEnable (off by default).
    pub slave_read_enable: bool,
    /// Create unknown topics a producer sends to, from the TBW102 template.
    pub auto_create_topic_enable: bool,
    /// Queues of auto-created topics (and of TBW102).
    pub default_topic_queue_nums: i32,
    /// Create subscription groups for consumers that heartbeat with unknown groups.
    pub auto_create_subscription_group: bool,
    /// Longest a pull may be held waiting for messages (15 s).
    pub broker_suspend_max_time_millis: u64,
    /// A send that waited this long in the writer's queue is answered SYSTEM_BUSY instead
    /// of being written (RocketMQ's waitTimeMillsInSendQueue).
    pub wait_time_mills_in_send_queue: u64,
    /// Permission bits of the broker itself (6 = read and write).
    pub broker_permission: i32,
    /// How often to re-register with the name servers, ms (30 s).
    pub register_name_server_period: u64,
    /// Send a full registration as several REGISTER_BROKER requests of at most
    /// `splitRegistrationSize` topics each (RocketMQ 5.x, RIP-29), so the frame stays far
    /// below the 16 MiB limit however many topics there are (true; Java's default is
    /// false). Name servers merge the parts: Ferrocket's and Apache 5.x add the topics a
    /// part carries that they do not have yet. Turn it off only for a 4.x name server,
    /// which applies just the first part of an unchanged data version.
    pub enable_split_registration: bool,
    /// Topics per REGISTER_BROKER when split (800, as Java).
    pub split_registration_size: usize,
    /// Clients silent this long are dropped, ms (120 s).
    pub channel_expired_timeout: u64,
    /// How often consumer offsets are written to consumerOffset.json, ms (5 s).
    pub flush_consumer_offset_interval: u64,
    /// How often delay-level progress is written to delayOffset.json, ms (10 s; RocketMQ's
    /// flushDelayOffsetInterval).
    pub flush_delay_offset_interval: u64,
    /// How long an orderly consumer's queue lock lasts without renewal, ms (60 s; RocketMQ's
    /// `rocketmq.broker.rebalance.lockMaxLiveTime`). Java clients renew every 20 s, so
    /// shorter values drop locks of live consumers; longer ones keep a dead consumer's
    /// queues blocked for longer.
    pub rebalance_lock_max_live_time: u64,
    /// A half message younger than this is not checked back, ms (6 s; RocketMQ's
    /// transactionTimeOut). Shorter asks producers about transactions still running.
    #[serde(rename = "transactionTimeOut")]
    pub transaction_time_out: i64,
    /// Check-backs before a half message is given up and moved to
    /// TRANS_CHECK_MAX_TIME_TOPIC (15).
    pub transaction_check_max: i32,
    /// How often the TransactionChecker walks the half queue, ms (30 s as in 5.x; 4.9 used
    /// 60 s). Shorter finds abandoned transactions sooner at the cost of more reads.
    pub transaction_check_interval: u64,
    /// Refuse half messages (NO_PERMISSION), as RocketMQ's rejectTransactionMessage.
    pub reject_transaction_message: bool,
    /// Filter pulls by SQL92 selectors on message properties (`MessageSelector.bySql`).
    /// On by default here; RocketMQ defaults to off. Off, SQL92 consumers are refused
    /// with SYSTEM_ERROR at CHECK_CLIENT_CONFIG and at every pull, as RocketMQ does.
    pub enable_property_filter: bool,
    /// Also filter a SQL92 group's `%RETRY%` messages by the selector of their original
    /// topic (RocketMQ's filterSupportRetry, off by default as there). Off, retries come
    /// back unfiltered: they matched once already, when first delivered.
    pub filter_support_retry: bool,
    pub region_id: String,
    pub trace_on: bool,
    /// The process's metrics endpoint (when the broker runs on its own).
    pub metrics_addr: Option<SocketAddr>,
    pub store: StoreConfig,
    pub server: ServerConfig,
    /// Built-in plug-ins to run, by name, each with its own `config` section
    /// (`plugins: [(name: "trace"), (name: "mirror", config: {...})]`; see docs/plugins.md,
    /// `mqbroker -p` lists them). Empty: none.
    pub plugins: Vec<crate::actors::broker::plugins::builtin::PluginEntry>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            namesrv_addr: "127.0.0.1:9876".into(),
            broker_ip1: IpAddr::from([127, 0, 0, 1]),
            listen_ip: IpAddr::from([0, 0, 0, 0]),
            listen_port: 10911,
            vip_channel_enabled: true,
            broker_role: BrokerRole::AsyncMaster,
            ha_listen_port: None,
            ha_master_address: None,
            ha_send_heartbeat_interval: 5_000,
            ha_housekeeping_interval: 20_000,
            ha_transfer_batch_size: crate::protocol::ha::DEFAULT_TRANSFER_BATCH_SIZE,
            ha_slave_fallbehind_max: 256 * 1024 * 1024,
            slave_timeout: 3_000,
            slave_read_enable: false,
            auto_create_topic_enable: true,
            default_topic_queue_nums: 8,
            auto_create_subscription_group: true,
            broker_suspend_max_time_millis: 15_000,
            wait_time_mills_in_send_queue: 200,
            broker_permission: 6,
            register_name_server_period: 30_000,
            enable_split_registration: true,
            split_registration_size: 800,
            channel_expired_timeout: 120_000,
            flush_consumer_offset_interval: 5_000,
            flush_delay_offset_interval: 10_000,
            rebalance_lock_max_live_time: 60_000,
            transaction_time_out: 6_000,
            transaction_check_max: 15,
            transaction_check_interval: 30_000,
            reject_transaction_message: false,
            enable_property_filter: true,
            filter_support_retry: false,
            region_id: "DefaultRegion".into(),
            trace_on: true,
            metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], 5557))),
            store: StoreConfig::default(),
            server: ServerConfig::default(),
            plugins: Vec::new(),
        }
    }
}

impl BrokerConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.split_registration_size == 0 {
            return Err("splitRegistrationSize must be at least 1".into());
        }
        if self.broker_name.is_empty() || self.broker_cluster_name.is_empty() {
            return Err("brokerName and brokerClusterName must be set".into());
        }
        if self.vip_channel_enabled && self.listen_port != 0 && self.listen_port < 3 {
            return Err("listenPort must leave room for the VIP port at listenPort - 2".into());
        }
        if self.default_topic_queue_nums <= 0 {
            return Err("defaultTopicQueueNums must be positive".into());
        }
        if self.transaction_check_interval == 0 || self.transaction_time_out < 0 {
            return Err(
                "transactionCheckInterval must be positive and transactionTimeOut not negative"
                    .into(),
            );
        }
        if self.rebalance_lock_max_live_time == 0 {
            return Err("rebalanceLockMaxLiveTime must be positive".into());
        }
        for p in &self.plugins {
            crate::actors::broker::plugins::builtin::check(p)?;
        }
        if self.broker_role == BrokerRole::Slave && self.broker_id <= 0 {
            return Err("a SLAVE needs brokerId > 0 (0 is the master)".into());
        }
        if self.ha_transfer_batch_size == 0
            || self.ha_transfer_batch_size > crate::protocol::ha::MAX_TRANSFER_BODY
        {
            return Err("haTransferBatchSize must be between 1 byte and 4 MiB - 12".into());
        }
        self.store.validate()?;
        self.server.validate()
    }

    /// The HA port to listen on: haListenPort, else listenPort + 1 (0 stays 0).
    pub fn ha_port(&self) -> u16 {
        self.ha_listen_port.unwrap_or(if self.listen_port == 0 {
            0
        } else {
            self.listen_port.wrapping_add(1)
        })
    }

    /// The name servers to register with.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        crate::remoting_client::split_addrs(&self.namesrv_addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_broker_ron_parses_and_validates() {
        let cfg: BrokerConfig = ron::from_str(include_str!("../../../config/broker.ron")).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.listen_port, 10911);
        assert_eq!(cfg.namesrv_addrs(), vec!["127.0.0.1:9876".to_string()]);
    }

    #[test]
    fn the_shipped_cluster_files_are_two_groups_of_master_and_slave() {
        let files = [
            include_str!("../../../config/broker-a-master.ron"),
            include_str!("../../../config/broker-a-slave.ron"),
            include_str!("../../../config/broker-b-master.ron"),
            include_str!("../../../config/broker-b-slave.ron"),
        ];
        let cfgs: Vec<BrokerConfig> = files.iter().map(|f| ron::from_str(f).unwrap()).collect();
        for c in &cfgs {
            c.validate().unwrap();
        }
        let roles: Vec<_> = cfgs
            .iter()
            .map(|c| (c.broker_name.as_str(), c.broker_role, c.broker_id))
            .collect();
        assert_eq!(
            roles,
            vec![
                ("broker-a", BrokerRole::SyncMaster, 0),
                ("broker-a", BrokerRole::Slave, 1),
                ("broker-b", BrokerRole::SyncMaster, 0),
                ("broker-b", BrokerRole::Slave, 1),
            ]
        );
        let mut ports: Vec<u16> = cfgs
            .iter()
            .flat_map(|c| [c.listen_port - 2, c.listen_port, c.ha_port()])
            .collect();
        let mut dirs: Vec<_> = cfgs
            .iter()
            .map(|c| c.store.store_path_root_dir.clone())
            .collect();
        ports.sort();
        ports.dedup();
        dirs.dedup();
        assert_eq!(
            (ports.len(), dirs.len()),
            (12, 4),
            "no two brokers share a port or a store"
        );
    }

    #[test]
    fn a_slave_needs_a_broker_id() {
        let c = BrokerConfig {
            broker_role: BrokerRole::Slave,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("brokerId"));
        assert_eq!(BrokerConfig::default().ha_port(), 10912);
    }

    #[test]
    fn namesrv_lists_split_on_semicolons() {
        let cfg = BrokerConfig {
            namesrv_addr: "a:1; b:2;".into(),
            ..Default::default()
        };
        assert_eq!(
            cfg.namesrv_addrs(),
            vec!["a:1".to_string(), "b:2".to_string()]
        );
    }
}
