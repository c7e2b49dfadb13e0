//! The name server: a RouteInfoManager actor (topics, brokers, clusters, liveness), a
//! KvConfig actor (kvConfig.json), and a remoting server whose processor answers the
//! name-server request codes. [`Namesrv::start`] composes the tree:
//!
//! ```text
//! namesrv
//!   ├─ RemotingServer ─ Connection × N
//!   ├─ RouteInfoManager (expiry scan every scanNotActiveBrokerInterval)
//!   └─ KvConfig
//! ```

pub mod config;
pub mod kv_config;
pub mod processor;
pub mod route_info_manager;
pub mod route_table;

use std::sync::Arc;

pub use config::NamesrvConfig;
use kv_config::{KvConfig, KvTables};
use processor::NamesrvContext;
use route_info_manager::RouteInfoManager;

use crate::actors::metrics::MetricsRegistry;
use crate::actors::remoting::{RemotingServer, ServerHandle};
use crate::actors::runtime::{start_supervised, Mailbox};

/// Why a name server could not start.
#[derive(Debug, thiserror::Error)]
pub enum NamesrvError {
    #[error("invalid name server configuration: {0}")]
    Config(String),
    #[error("cannot read the KV config: {0}")]
    KvConfig(std::io::Error),
    #[error(transparent)]
    Handlers(#[from] crate::actors::dispatch::DuplicateCode),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// A running name server.
pub struct Namesrv {
    pub server: ServerHandle,
    pub routes: Mailbox<RouteInfoManager>,
    pub kv: Mailbox<KvConfig>,
}

impl Namesrv {
    /// Starts the name server's actors in the current actix system, under `prefix` in the
    /// metrics tree (normally "namesrv").
    pub async fn start(
        config: NamesrvConfig,
        registry: Arc<MetricsRegistry>,
    ) -> Result<Namesrv, NamesrvError> {
        config.validate().map_err(NamesrvError::Config)?;
        let tables = KvTables::load(&config.kv_config_path).map_err(NamesrvError::KvConfig)?;
        let (timeout, scan) = (config.broker_timeout(), config.scan_interval());
        let routes = start_supervised(
            &registry,
            "namesrv/RouteInfoManager",
            config.route_mailbox_capacity,
            None,
            move |sup| RouteInfoManager::new(sup, timeout, scan),
        );
        let kv_path = config.kv_config_path.clone();
        let kv = start_supervised(
            &registry,
            "namesrv/KvConfig",
            config.kv_mailbox_capacity,
            None,
            move |sup| KvConfig::new(sup, tables, kv_path),
        );
        let processor = processor::processor(Arc::new(NamesrvContext {
            routes: routes.clone(),
            kv: kv.clone(),
            live: config::LiveSettings::new(&config),
            config: config.clone(),
        }))?;
        let server = RemotingServer::bind(
            config.listen_addr,
            config.server.clone(),
            Arc::new(processor),
            registry,
            "namesrv/RemotingServer",
        )
        .await
        .map_err(|source| NamesrvError::Bind {
            addr: config.listen_addr,
            source,
        })?;
        Ok(Namesrv { server, routes, kv })
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    /// Stops accepting and closes connections. The KV table is already on disk: every
    /// change is persisted before the next request is handled.
    pub async fn shutdown(&self) {
        self.server.shutdown().await;
    }
}
