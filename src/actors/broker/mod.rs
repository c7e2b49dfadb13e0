//! The broker: its store's actor tree, the managers (topics, subscription groups, consumer
//! offsets, clients), long polling, the Registrar, and a remoting server on listenPort (and
//! the VIP port listenPort − 2) whose processor answers the broker request codes.
//! [`BrokerBuilder`] composes the tree:
//!
//! ```text
//! broker
//!   ├─ RemotingServer ─ Connection × N   (and RemotingServerVip)
//!   ├─ Store (CommitLogWriter, FlushService, ReputDispatcher → ConsumeQueue × N,
//!   │         IndexService, CheckpointKeeper, FileCleaner)
//!   ├─ TopicConfigManager, SubscriptionGroupManager, ConsumerOffsetManager
//!   ├─ ClientManager, PullHold, QueueLockManager, ScheduleService, TransactionChecker,
//!   │  TimerWheelService (when timerWheelEnable)
//!   └─ Registrar
//! ```
//!
//! Plug-ins ([`plugins`]): supervised actors at `broker/plugins/<name>`, started after the
//! managers and before the ports open (so their request codes are answered from the first
//! request), stopped after the ports close and before offsets and the store are persisted.
//! Built-in ones come from the config's `plugins` list, others from
//! [`BrokerBuilder::plugin`].

pub mod broker_metrics;
pub mod capacity;
pub mod config;
pub mod features;
pub mod ha;
pub mod meta;
pub mod plugins;
pub mod processor;
pub mod registrar;
pub mod store;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

pub use config::{BrokerConfig, BrokerRole};
pub use store::{PutError, StoreHandle};

use crate::actors::coalesced_file::CoalescedFile;
use crate::actors::metrics::MetricsRegistry;
use crate::actors::remoting::{RemotingServer, ServerHandle};
use crate::actors::runtime::{start_supervised, Mailbox};
use crate::protocol::message::UniqIdGenerator;
use crate::store::message_store::LogOwner;
use crate::store::StoreError;
use features::pull_hold::PullHold;
use features::schedule::{self, PersistDelayOffsets, ScheduleService};
use features::timer::{PersistTimer, TimerWheelService};
use features::transaction::{CheckSettings, CheckerParts, StopChecking, TransactionChecker};
use ha::client::{CloseHaClient, HaClient};
use ha::service::{CloseHa, HaService};
use ha::slave_sync::{SlaveSynchronize, SyncTargets};
use ha::{HaSettings, MasterAddrs, ReplicaState};
use meta::clients::{self, ClientManager};
use meta::consumer_offsets::{ConsumerOffsetManager, ConsumerOffsets, PersistOffsets};
use meta::queue_locks::QueueLockManager;
use meta::subscription_group::SubscriptionGroupManager;
use meta::topic_config::{system_topics, NotifyChanges, TopicConfigManager};
use plugins::{Plugin, PluginHost, Plugins, Started};
use processor::BrokerContext;
use registrar::{Registrar, UnregisterAll};

/// Why a broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("invalid broker configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Handlers(#[from] crate::actors::dispatch::DuplicateCode),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The broker's replication actor: a master serves slaves, a slave follows its master.
enum Replication {
    Master {
        service: Mailbox<HaService>,
        addr: SocketAddr,
    },
    Slave {
        client: Mailbox<HaClient>,
        /// Held so its supervisor keeps restarting it.
        _sync: Mailbox<SlaveSynchronize>,
    },
}

/// Composes a broker's actor tree from its configuration.
pub struct BrokerBuilder {
    config: BrokerConfig,
    registry: Option<Arc<MetricsRegistry>>,
    plugins: Vec<LaunchPlugin>,
}

/// Starts one embedder-given plug-in once the broker's parts exist.
type LaunchPlugin = Box<dyn FnOnce(&PluginHost) -> Result<Started, String> + Send>;

/// A running broker.
pub struct Broker {
    pub config: Arc<BrokerConfig>,
    pub store: StoreHandle,
    pub context: Arc<BrokerContext>,
    servers: Vec<ServerHandle>,
    registrar: Mailbox<Registrar>,
    offsets: Mailbox<ConsumerOffsetManager>,
    schedule: Mailbox<ScheduleService>,
    checker: Mailbox<TransactionChecker>,
    timer: Option<Mailbox<TimerWheelService>>,
    plugins: Arc<Plugins>,
    ha: Replication,
    /// topics.json and subscriptionGroup.json, flushed at shutdown.
    metadata_files: [Arc<CoalescedFile>; 2],
    stopped: Mutex<bool>,
}

impl BrokerBuilder {
    pub fn new(config: BrokerConfig) -> Self {
        BrokerBuilder {
            config,
            registry: None,
            plugins: Vec::new(),
        }
    }

    /// Report to this registry (the standalone process shares one).
    pub fn registry(mut self, registry: Arc<MetricsRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Adds a plug-in (after the config's built-in ones; send hooks are asked in that
    /// order). See [`plugins::Plugin`] for what it can take.
    ///
    /// The dispatched-record stream is at most once: the dispatcher offers each round
    /// without waiting (a slow plug-in must not stall consume queues and pulls), so a
    /// plug-in whose mailbox is full misses that round, counted in
    /// `rocketmq_plugin_notices_dropped_total{notice="dispatched"}`. A plug-in that needs
    /// every record keeps its own position and reads gaps back ([`PluginHost::read`]).
    pub fn plugin<P: Plugin>(mut self, plugin: P) -> Self {
        self.plugins.push(Box::new(move |host: &PluginHost| {
            plugins::launch(plugin, host)
        }));
        self
    }

    pub async fn start(self) -> Result<Broker, BrokerError> {
        let mut config = self.config;
        config.validate().map_err(BrokerError::Config)?;
        if config.broker_role != BrokerRole::Slave {
            // As Java's BrokerStartup: a master is broker 0 whatever the file says.
            config.broker_id = 0;
        }
        let registry = self.registry.unwrap_or_default();
        let root = config.store.store_path_root_dir.clone();

        let store_config = config.store.clone();
        let owner = if config.broker_role == BrokerRole::Slave {
            LogOwner::Replica
        } else {
            LogOwner::Writer
        };
        let recovered = tokio::task::spawn_blocking(move || {
            crate::store::message_store::open_as(&store_config, owner)
        })
        .await
        .map_err(|e| BrokerError::Config(format!("store recovery thread failed: {e}")))??;
        let store = StoreHandle::start(recovered, &registry, "broker/Store");

        let listen = SocketAddr::new(config.listen_ip, config.listen_port);
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| BrokerError::Bind {
                addr: listen,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| BrokerError::Bind {
                addr: listen,
                source,
            })?
            .port();
        let store_host = SocketAddr::new(config.broker_ip1, port);
        let config = Arc::new(config);

        let system = system_topics(
            &config.broker_cluster_name,
            &config.broker_name,
            config.auto_create_topic_enable,
            config.default_topic_queue_nums,
        );
        let (topics, topics_path) = TopicConfigManager::load(&root, system)?;
        let topics_file = CoalescedFile::new(topics_path);
        let topic_manager = {
            let (view, file) = (topics.clone(), topics_file.clone());
            start_supervised(
                &registry,
                "broker/TopicConfigManager",
                capacity::TOPIC_CONFIG_MANAGER,
                None,
                move |sup| TopicConfigManager::new(sup, view, file),
            )
        };
        let (groups, groups_path) = SubscriptionGroupManager::load(&root)?;
        let groups_file = CoalescedFile::new(groups_path);
        let group_manager = {
            let (view, file) = (groups.clone(), groups_file.clone());
            start_supervised(
                &registry,
                "broker/SubscriptionGroupManager",
                capacity::SUBSCRIPTION_GROUP_MANAGER,
                None,
                move |sup| SubscriptionGroupManager::new(sup, view, file),
            )
        };
        let (offsets, offsets_path) = ConsumerOffsets::load(&root)?;
        let offsets_manager = {
            let (o, every) = (
                offsets.clone(),
                Duration::from_millis(config.flush_consumer_offset_interval.max(10)),
            );
            start_supervised(
                &registry,
                "broker/ConsumerOffsetManager",
                capacity::CONSUMER_OFFSET_MANAGER,
                None,
                move |sup| ConsumerOffsetManager::new(sup, o, offsets_path, every),
            )
        };
        let (delay_offsets, delay_path) = schedule::load_offsets(&root)?;
        let delay_offset_path = delay_path.clone();
        let schedule = {
            let (st, every) = (
                store.clone(),
                Duration::from_millis(config.flush_delay_offset_interval.max(10)),
            );
            start_supervised(
                &registry,
                "broker/ScheduleService",
                capacity::SCHEDULE_SERVICE,
                None,
                move |sup| {
                    ScheduleService::new(
                        sup,
                        st,
                        delay_offsets,
                        delay_path,
                        Duration::from_millis(100),
                        every,
                    )
                },
            )
        };
        let slave = config.broker_role == BrokerRole::Slave;
        // A slave runs no schedule, timer or transaction service: the messages they would
        // write come to it from its master.
        let timer = if config.store.timer_wheel_enable && !slave {
            let (root, cfg, log) = (
                root.clone(),
                config.store.timer_store_config(),
                store.commit_log().clone(),
            );
            let opened = tokio::task::spawn_blocking(move || {
                let now = crate::clock::now_millis();
                crate::store::timer::TimerStore::open(&root, cfg, &log, now)
            })
            .await
            .map_err(|e| BrokerError::Config(format!("timer store thread failed: {e}")))??;
            let shared = Arc::new(tokio::sync::Mutex::new(opened));
            let (st, reg) = (store.clone(), registry.clone());
            Some(start_supervised(
                &registry,
                "broker/TimerWheelService",
                capacity::TIMER_WHEEL_SERVICE,
                None,
                move |sup| TimerWheelService::new(sup, st, shared, &reg),
            ))
        } else {
            None
        };
        let consumers: clients::ConsumerViews = Default::default();
        let producer_counts: clients::ProducerCounts = Default::default();
        let clients = {
            let (views, counts, expiry) = (
                consumers.clone(),
                producer_counts.clone(),
                Duration::from_millis(config.channel_expired_timeout.max(1)),
            );
            start_supervised(
                &registry,
                "broker/ClientManager",
                capacity::CLIENT_MANAGER,
                None,
                move |sup| ClientManager::new(sup, views, counts, expiry),
            )
        };
        let pull_hold = start_supervised(
            &registry,
            "broker/PullHold",
            capacity::PULL_HOLD,
            None,
            PullHold::new,
        );
        store.subscribe_arrivals(pull_hold.addr().clone().recipient());
        let queue_locks = {
            let lifetime = Duration::from_millis(config.rebalance_lock_max_live_time);
            start_supervised(
                &registry,
                "broker/QueueLockManager",
                capacity::QUEUE_LOCK_MANAGER,
                None,
                move |sup| QueueLockManager::new(sup, lifetime),
            )
        };
        let checker = {
            let parts = CheckerParts {
                store: store.clone(),
                offsets: offsets.clone(),
                clients: clients.clone(),
                topics: topic_manager.clone(),
                settings: CheckSettings {
                    timeout_ms: config.transaction_time_out,
                    check_max: config.transaction_check_max,
                    retention_ms: (config.store.file_reserved_time as i64)
                        .saturating_mul(3_600_000),
                    broker_name: config.broker_name.clone(),
                },
            };
            let every = Duration::from_millis(config.transaction_check_interval);
            start_supervised(
                &registry,
                "broker/TransactionChecker",
                capacity::TRANSACTION_CHECKER,
                None,
                move |sup| TransactionChecker::new(sup, parts.clone(), every),
            )
        };

        let uniq_ids = Arc::new(Mutex::new(UniqIdGenerator::new(config.broker_ip1)));
        let host = PluginHost::new(plugins::host::HostParts {
            config: config.clone(),
            store: store.clone(),
            topics: topics.clone(),
            topic_manager: topic_manager.clone(),
            offsets: offsets.clone(),
            registry: registry.clone(),
            store_host,
            uniq_ids: uniq_ids.clone(),
        });
        let mut started = Vec::new();
        for entry in &config.plugins {
            started.push(plugins::builtin::start(entry, &host).map_err(BrokerError::Config)?);
        }
        for launch in self.plugins {
            started.push(launch(&host).map_err(BrokerError::Config)?);
        }
        for sink in Plugins::dispatch_sinks(&started) {
            store.subscribe_dispatch(sink);
        }
        let plugins = Arc::new(Plugins::new(&mut started, &registry));

        let context = Arc::new(BrokerContext {
            config: config.clone(),
            store: store.clone(),
            topics: topics.clone(),
            topic_manager: topic_manager.clone(),
            groups,
            group_manager,
            offsets,
            clients,
            consumers,
            producer_counts,
            consumer_filters: Arc::default(),
            pull_hold,
            queue_locks,
            schedule: schedule.clone(),
            store_host,
            uniq_ids,
            plugins: plugins.clone(),
            registry: registry.clone(),
            started: Instant::now(),
            stats: Arc::default(),
            send_latency: Default::default(),
            config_overrides: Default::default(),
            daily: Default::default(),
        });
        broker_metrics::register(&context);
        processor::record_midnights(&context);
        let processor = Arc::new(processor::with_plugins(context.clone(), started)?);
        let mut servers = vec![RemotingServer::serve(
            listener,
            config.server.clone(),
            processor.clone(),
            registry.clone(),
            "broker/RemotingServer",
        )
        .map_err(|source| BrokerError::Bind {
            addr: listen,
            source,
        })?];
        if config.vip_channel_enabled {
            let vip = SocketAddr::new(
                config.listen_ip,
                if config.listen_port == 0 {
                    0
                } else {
                    port.saturating_sub(2)
                },
            );
            let vip_server = RemotingServer::bind(
                vip,
                config.server.clone(),
                processor,
                registry.clone(),
                "broker/RemotingServerVip",
            )
            .await
            .map_err(|source| BrokerError::Bind { addr: vip, source })?;
            servers.push(vip_server);
        }

        let replica = ReplicaState::new(config.broker_role, HaSettings::of(&config), &registry);
        store.set_replica(replica.clone());
        let master_addrs = MasterAddrs::new(config.ha_master_address.clone());
        let ha = if slave {
            if let Err(e) = schedule.addr().send(PersistDelayOffsets).await {
                tracing::error!(error = %e, "the schedule service is gone");
            }
            let _ = checker.addr().send(StopChecking).await;
            let (st, m, s, reg) = (
                store.clone(),
                master_addrs.clone(),
                HaSettings::of(&config),
                registry.clone(),
            );
            let targets = SyncTargets {
                topics: topics.clone(),
                topic_manager: topic_manager.clone(),
                groups: context.groups.clone(),
                group_manager: context.group_manager.clone(),
                offsets: context.offsets.clone(),
                delay_offset_path,
            };
            let m2 = master_addrs.clone();
            let sync = start_supervised(
                &registry,
                "broker/SlaveSynchronize",
                capacity::SLAVE_SYNCHRONIZE,
                None,
                move |sup| SlaveSynchronize::new(sup, m2, targets),
            );
            Replication::Slave {
                client: start_supervised(
                    &registry,
                    "broker/HAClient",
                    capacity::HA_CLIENT,
                    None,
                    move |sup| HaClient::new(sup, st, m, s, &reg),
                ),
                _sync: sync,
            }
        } else {
            let at = SocketAddr::new(config.listen_ip, config.ha_port());
            let listener = TcpListener::bind(at)
                .await
                .map_err(|source| BrokerError::Bind { addr: at, source })?;
            let addr = listener
                .local_addr()
                .map_err(|source| BrokerError::Bind { addr: at, source })?;
            let (l, r, st, reg) = (
                Arc::new(listener),
                replica.clone(),
                store.clone(),
                registry.clone(),
            );
            let service = start_supervised(
                &registry,
                "broker/HAService",
                capacity::HA_SERVICE,
                None,
                move |sup| HaService::new(sup, l, r, st, reg, "broker/HAService".into()),
            );
            Replication::Master { service, addr }
        };
        let ha_addr = match &ha {
            Replication::Master { addr, .. } => format!("{}:{}", config.broker_ip1, addr.port()),
            Replication::Slave { .. } => {
                format!("{}:{}", config.broker_ip1, config.ha_port())
            }
        };

        let broker_addr = store_host.to_string();
        let registrar = {
            let (cfg, view, addr, m) = (
                config.clone(),
                topics,
                broker_addr.clone(),
                master_addrs.clone(),
            );
            start_supervised(
                &registry,
                "broker/Registrar",
                capacity::REGISTRAR,
                None,
                move |sup| Registrar::new(sup, cfg, view, addr, ha_addr, m),
            )
        };
        topic_manager
            .addr()
            .do_send(NotifyChanges(registrar.addr().clone().recipient()));
        tracing::info!(
            broker = %config.broker_name,
            addr = %broker_addr,
            namesrv = %config.namesrv_addr,
            "The broker[{}, {}] boot success. serializeType=JSON",
            config.broker_name,
            broker_addr
        );
        Ok(Broker {
            config,
            store,
            context,
            servers,
            registrar,
            offsets: offsets_manager,
            schedule,
            checker,
            timer,
            plugins,
            ha,
            metadata_files: [topics_file, groups_file],
            stopped: Mutex::new(false),
        })
    }
}

impl Broker {
    /// The client port actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.servers[0].local_addr()
    }

    /// The VIP port actually bound, if enabled.
    pub fn vip_addr(&self) -> Option<SocketAddr> {
        self.servers.get(1).map(|s| s.local_addr())
    }

    /// The HA port a master bound (slaves connect there); `None` on a slave.
    pub fn ha_addr(&self) -> Option<SocketAddr> {
        match &self.ha {
            Replication::Master { addr, .. } => Some(*addr),
            Replication::Slave { .. } => None,
        }
    }

    /// The address clients use (brokerIP1:listenPort).
    pub fn broker_addr(&self) -> SocketAddr {
        self.context.store_host
    }

    /// Shuts down cleanly: unregister from name servers, close connections, persist
    /// offsets, then flush the store, write the checkpoint and remove the abort marker.
    pub async fn shutdown(&self) -> Result<(), StoreError> {
        if let Ok(mut s) = self.stopped.lock() {
            if *s {
                return Ok(());
            }
            *s = true;
        }
        let _ = self.registrar.addr().send(UnregisterAll).await;
        for s in &self.servers {
            s.shutdown().await;
        }
        // Before offsets are persisted: a plug-in's last positions are among them.
        self.plugins.stop().await;
        let closed = match &self.ha {
            Replication::Master { service, .. } => service.addr().send(CloseHa).await,
            Replication::Slave { client, .. } => client.addr().send(CloseHaClient).await,
        };
        if let Err(e) = closed {
            tracing::error!(error = %e, "the HA actor is gone");
        }
        if let Err(e) = self.checker.addr().send(StopChecking).await {
            tracing::error!(error = %e, "the transaction checker is gone");
        }
        match self.offsets.addr().send(PersistOffsets).await {
            Ok(Err(e)) => {
                tracing::error!(error = %e, "persisting consumer offsets at shutdown failed")
            }
            Err(e) => tracing::error!(error = %e, "the offset manager is gone"),
            Ok(Ok(())) => {}
        }
        for file in &self.metadata_files {
            if !file.flush(Duration::from_secs(10)).await {
                tracing::error!(path = %file.path().display(), "metadata not written within 10 s of shutdown");
            }
        }
        if let Err(e) = self.schedule.addr().send(PersistDelayOffsets).await {
            tracing::error!(error = %e, "the schedule service is gone");
        }
        if let Some(timer) = &self.timer {
            match timer.addr().send(PersistTimer).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "persisting the timer store failed"),
                Err(e) => tracing::error!(error = %e, "the timer wheel service is gone"),
            }
        }
        self.store.shutdown().await
    }
}
