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
//! Plug-ins: [`BrokerBuilder::plug`] hands every dispatched record to a custom actor.

pub mod broker_metrics;
pub mod capacity;
pub mod config;
pub mod features;
pub mod meta;
pub mod processor;
pub mod registrar;
pub mod store;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::net::TcpListener;

pub use config::BrokerConfig;
pub use store::{PutError, StoreHandle};

use crate::actors::coalesced_file::CoalescedFile;
use crate::actors::metrics::MetricsRegistry;
use crate::actors::remoting::{RemotingServer, ServerHandle};
use crate::actors::runtime::{start_supervised, Mailbox};
use crate::protocol::message::UniqIdGenerator;
use crate::store::StoreError;
use features::pull_hold::PullHold;
use features::schedule::{self, PersistDelayOffsets, ScheduleService};
use features::timer::{PersistTimer, TimerWheelService};
use features::transaction::{CheckSettings, CheckerParts, StopChecking, TransactionChecker};
use meta::clients::{self, ClientManager};
use meta::consumer_offsets::{ConsumerOffsetManager, ConsumerOffsets, PersistOffsets};
use meta::queue_locks::QueueLockManager;
use meta::subscription_group::SubscriptionGroupManager;
use meta::topic_config::{system_topics, NotifyChanges, TopicConfigManager};
use processor::BrokerContext;
use registrar::{Registrar, UnregisterAll};
use store::reput_dispatcher::Dispatched;

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

/// Composes a broker's actor tree from its configuration.
pub struct BrokerBuilder {
    config: BrokerConfig,
    registry: Option<Arc<MetricsRegistry>>,
    plugins: Vec<Recipient<Dispatched>>,
}

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

    /// A custom actor that receives every stored record once it is dispatched, in
    /// commit-log order, a round (up to 4096 records) per message.
    ///
    /// Delivery is not guaranteed: the dispatcher offers each round with `try_send` and
    /// never waits for a plug-in (a slow plug-in must not stall consume queues and pulls),
    /// so a plug-in whose mailbox is full misses that round, counted in
    /// `rocketmq_dispatch_dropped_total{receiver="plugin"}`. A plug-in that needs every
    /// record keeps the last commit-log offset it saw and reads a gap back from the store
    /// (`StoreHandle::message_at`), or sets a mailbox capacity that covers its bursts.
    pub fn plug(mut self, actor: Recipient<Dispatched>) -> Self {
        self.plugins.push(actor);
        self
    }

    pub async fn start(self) -> Result<Broker, BrokerError> {
        let config = self.config;
        config.validate().map_err(BrokerError::Config)?;
        let registry = self.registry.unwrap_or_default();
        let root = config.store.store_path_root_dir.clone();

        let store_config = config.store.clone();
        let recovered =
            tokio::task::spawn_blocking(move || crate::store::message_store::open(&store_config))
                .await
                .map_err(|e| BrokerError::Config(format!("store recovery thread failed: {e}")))??;
        let store = StoreHandle::start(recovered, &registry, "broker/Store");
        for p in self.plugins {
            store.subscribe_dispatch(p);
        }

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
        let timer = if config.store.timer_wheel_enable {
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
        let clients = {
            let (views, expiry) = (
                consumers.clone(),
                Duration::from_millis(config.channel_expired_timeout.max(1)),
            );
            start_supervised(
                &registry,
                "broker/ClientManager",
                capacity::CLIENT_MANAGER,
                None,
                move |sup| ClientManager::new(sup, views, expiry),
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
            consumer_filters: Arc::default(),
            pull_hold,
            queue_locks,
            schedule: schedule.clone(),
            store_host,
            uniq_ids: Mutex::new(UniqIdGenerator::new(config.broker_ip1)),
            registry: registry.clone(),
            started: Instant::now(),
            stats: Arc::default(),
            send_latency: Default::default(),
            config_overrides: Default::default(),
        });
        broker_metrics::register(&context);
        let processor = Arc::new(processor::processor(context.clone())?);
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

        let broker_addr = store_host.to_string();
        let registrar = {
            let (cfg, view, addr) = (config.clone(), topics, broker_addr.clone());
            start_supervised(
                &registry,
                "broker/Registrar",
                capacity::REGISTRAR,
                None,
                move |sup| Registrar::new(sup, cfg, view, addr),
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
