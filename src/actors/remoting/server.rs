//! The remoting server: binds a listener, accepts up to `maxConnections` peers (a
//! semaphore permit per connection; the accept loop waits for a free permit instead of
//! refusing), spreads connections over its I/O arbiters, and shuts down gracefully: stop
//! accepting, ask every connection to close after flushing what it has written, wait for
//! them with a deadline.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use dashmap::DashMap;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::connection::{Close, Connection, ConnectionInfo};
use crate::actors::metrics::MetricsRegistry;
use crate::protocol::frame::DEFAULT_MAX_FRAME_BYTES;
use crate::protocol::RemotingCommand;

/// Handles the requests that arrive on a server's connections.
pub trait RequestProcessor: Send + Sync + 'static {
    /// Answers one request. `None` sends nothing (the request was oneway, or the answer
    /// travels later by other means). The future may finish out of order.
    fn process(
        &self,
        request: RemotingCommand,
        conn: ConnectionInfo,
    ) -> BoxFuture<'static, Option<RemotingCommand>>;

    /// Called once when a connection has closed, for whatever reason.
    fn connection_closed(&self, _conn: &ConnectionInfo) {}
}

/// Server settings; field names follow RocketMQ's `NettyServerConfig` where it has one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerConfig {
    /// Accepted connections beyond this wait in the kernel backlog until one closes.
    pub max_connections: usize,
    /// Connections with no traffic in either direction for this long are closed (Java's
    /// `serverChannelMaxIdleTimeSeconds`, 120).
    pub server_channel_max_idle_time_seconds: u64,
    /// Largest frame accepted, length prefix included (Java's frameMaxLength, 16 MiB).
    pub max_frame_bytes: usize,
    /// Requests one connection may have in flight; beyond it the request is answered
    /// SYSTEM_BUSY at once rather than queued.
    pub max_inflight_per_connection: usize,
    /// Arbiters (threads) the connections are spread over; 0 keeps them on the caller's.
    pub io_threads: usize,
    /// How long a graceful shutdown waits for connections to flush and close.
    pub shutdown_grace_millis: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 10_000,
            server_channel_max_idle_time_seconds: 120,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_inflight_per_connection: 4096,
            io_threads: 0,
            shutdown_grace_millis: 3000,
        }
    }
}

impl ServerConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_connections == 0 {
            return Err("maxConnections must be at least 1".into());
        }
        if self.max_frame_bytes < 1024 {
            return Err("maxFrameBytes must be at least 1024".into());
        }
        if self.max_inflight_per_connection == 0 {
            return Err("maxInflightPerConnection must be at least 1".into());
        }
        Ok(())
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.server_channel_max_idle_time_seconds)
    }
}

/// Shared by the accept loop and the connections.
pub(crate) struct ServerShared {
    pub(crate) config: ServerConfig,
    pub(crate) processor: Arc<dyn RequestProcessor>,
    pub(crate) registry: Arc<MetricsRegistry>,
    pub(crate) path: String,
    pub(crate) connections: DashMap<u64, Addr<Connection>>,
    pub(crate) local_addr: SocketAddr,
    next_id: AtomicU64,
}

/// The server actor: owns the accept loop and knows every live connection.
pub struct RemotingServer {
    shared: Arc<ServerShared>,
    stop_accepting: CancellationToken,
    metrics: Arc<crate::actors::metrics::ActorMetrics>,
}

impl Actor for RemotingServer {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.stop_accepting.cancel();
        self.metrics.set_alive(false);
    }
}

/// A running server: its address and the way to stop it.
#[derive(Clone)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    addr: Addr<RemotingServer>,
    shared: Arc<ServerShared>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerHandle({})", self.local_addr)
    }
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn connection_count(&self) -> usize {
        self.shared.connections.len()
    }

    /// Stops accepting, closes every connection after its pending writes, and waits for
    /// them (bounded by `shutdownGraceMillis`).
    pub async fn shutdown(&self) {
        let _ = self.addr.send(Shutdown).await;
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(self.shared.config.shutdown_grace_millis);
        while !self.shared.connections.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.addr.do_send(StopServer);
    }
}

impl RemotingServer {
    /// Binds `listen` (port 0 picks a free port) and starts accepting in the current
    /// actix system.
    pub async fn bind(
        listen: SocketAddr,
        config: ServerConfig,
        processor: Arc<dyn RequestProcessor>,
        registry: Arc<MetricsRegistry>,
        path: impl Into<String>,
    ) -> std::io::Result<ServerHandle> {
        config
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(listen).await?;
        Self::serve(listener, config, processor, registry, path)
    }

    /// Starts accepting on a listener already bound (when the caller needs the port first).
    pub fn serve(
        listener: TcpListener,
        config: ServerConfig,
        processor: Arc<dyn RequestProcessor>,
        registry: Arc<MetricsRegistry>,
        path: impl Into<String>,
    ) -> std::io::Result<ServerHandle> {
        let local_addr = listener.local_addr()?;
        let path = path.into();
        let metrics = registry.register_actor(path.clone(), "RemotingServer", 1);
        let shared = Arc::new(ServerShared {
            config,
            processor,
            registry,
            path,
            connections: DashMap::new(),
            local_addr,
            next_id: AtomicU64::new(1),
        });
        let stop_accepting = CancellationToken::new();
        let arbiters: Vec<Arbiter> = (0..shared.config.io_threads)
            .map(|_| Arbiter::new())
            .collect();
        let handles: Vec<ArbiterHandle> = arbiters.iter().map(|a| a.handle()).collect();
        let accept = accept_loop(listener, shared.clone(), handles, stop_accepting.clone());
        let server = RemotingServer {
            shared: shared.clone(),
            stop_accepting,
            metrics,
        };
        let addr = server.start();
        actix::spawn(async move {
            accept.await;
            // The arbiters live as long as the accept loop; stopping them ends their threads
            // once their connections are gone.
            for a in arbiters {
                a.stop();
            }
        });
        tracing::info!(%local_addr, "remoting server listening");
        Ok(ServerHandle {
            local_addr,
            addr,
            shared,
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<ServerShared>,
    arbiters: Vec<ArbiterHandle>,
    stop: CancellationToken,
) {
    let limit = Arc::new(Semaphore::new(shared.config.max_connections));
    let mut backoff = Duration::from_millis(10);
    let mut turn = 0usize;
    loop {
        let permit = tokio::select! {
            _ = stop.cancelled() => break,
            p = limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(ok) => {
                backoff = Duration::from_millis(10);
                ok
            }
            Err(e) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(error = %e, delay_ms = backoff.as_millis() as u64, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let shared2 = shared.clone();
        let start = move || {
            Connection::start_server_side(id, stream, peer, shared2, permit);
        };
        if arbiters.is_empty() {
            start();
        } else {
            let handle = &arbiters[turn % arbiters.len()];
            turn = turn.wrapping_add(1);
            handle.spawn_fn(start);
        }
    }
    tracing::info!(local_addr = %shared.local_addr, "remoting server stopped accepting");
}

#[derive(Message)]
#[rtype(result = "()")]
struct Shutdown;

#[derive(Message)]
#[rtype(result = "()")]
struct StopServer;

impl Handler<Shutdown> for RemotingServer {
    type Result = ();

    fn handle(&mut self, _: Shutdown, _: &mut Context<Self>) {
        self.stop_accepting.cancel();
        for conn in self.shared.connections.iter() {
            conn.value().do_send(Close {
                reason: "server shutting down",
            });
        }
    }
}

impl Handler<StopServer> for RemotingServer {
    type Result = ();

    fn handle(&mut self, _: StopServer, ctx: &mut Context<Self>) {
        self.shared.registry.deregister_actor(&self.shared.path);
        ctx.stop();
    }
}
