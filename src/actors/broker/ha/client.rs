//! HAClient: the slave's side of replication. It connects to its master's HA port
//! (haMasterAddress, else the haServerAddr the name server answered), reports its
//! commit-log end, and appends every frame the master streams through its own
//! CommitLogWriter after checking that the frame starts exactly at its end (a mismatch
//! closes the connection: the logs have diverged or the stream is corrupt). It reports
//! its new end after every append and every haSendHeartbeatInterval, closes a master
//! silent for haHousekeepingInterval, and reconnects with a doubling backoff.
//!
//! Mailbox: capacity [`HA_CLIENT`](crate::actors::broker::capacity::HA_CLIENT), for
//! shutdown and panic injection; the session runs as a future inside the actor.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

use super::{HaSettings, MasterAddrs};
use crate::actors::broker::StoreHandle;
use crate::actors::metrics::MetricsRegistry;
use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{Backoff, Supervision};
use crate::protocol::ha::{encode_report, HaProtocolError, TransferDecoder};

/// Bound of one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub struct HaClient {
    sup: Supervision,
    store: StoreHandle,
    master: Arc<MasterAddrs>,
    settings: HaSettings,
    /// 1 while a session with the master is up.
    connected: Arc<AtomicI64>,
    closed: bool,
    session: Option<SpawnHandle>,
}

impl HaClient {
    pub fn new(
        sup: Supervision,
        store: StoreHandle,
        master: Arc<MasterAddrs>,
        settings: HaSettings,
        registry: &MetricsRegistry,
    ) -> Self {
        registry.describe(
            "rocketmq_ha_master_connected",
            "gauge",
            "1 while this slave streams from its master.",
        );
        HaClient {
            sup,
            store,
            master,
            settings,
            connected: registry.gauge("rocketmq_ha_master_connected", &[]),
            closed: false,
            session: None,
        }
    }

    fn run_sessions(&mut self, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        let session = Session {
            store: self.store.clone(),
            master: self.master.clone(),
            settings: self.settings.clone(),
            connected: self.connected.clone(),
        };
        self.session = Some(ctx.spawn(catch_panics(session.run_forever().into_actor(self))));
    }
}

impl Actor for HaClient {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.run_sessions(ctx);
    }
}

crate::supervised_actor!(HaClient);
crate::admits!(HaClient: CloseHaClient);

/// Shutdown: stop following the master.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseHaClient;

impl Handler<CloseHaClient> for HaClient {
    type Result = ();

    fn handle(&mut self, _: CloseHaClient, ctx: &mut Context<Self>) {
        self.closed = true;
        self.connected.store(0, Ordering::Relaxed);
        if let Some(h) = self.session.take() {
            ctx.cancel_future(h);
        }
    }
}

struct Session {
    store: StoreHandle,
    master: Arc<MasterAddrs>,
    settings: HaSettings,
    connected: Arc<AtomicI64>,
}

impl Session {
    async fn run_forever(self) {
        let mut backoff = Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(5),
            Duration::from_secs(30),
        );
        loop {
            let Some(addr) = self.master.ha() else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            let outcome = self.follow(&addr).await;
            self.connected.store(0, Ordering::Relaxed);
            if let Err(e) = outcome {
                tracing::warn!(master = %addr, error = %e, "HA session with the master ended");
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }

    /// One connection: report, then append what arrives until something goes wrong.
    async fn follow(&self, addr: &str) -> Result<(), HaProtocolError> {
        let socket = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| HaProtocolError::Io(format!("connecting to {addr} timed out")))??;
        let _ = socket.set_nodelay(true);
        let (read, mut write) = socket.into_split();
        let mut frames = FramedRead::with_capacity(read, TransferDecoder::default(), 64 * 1024);
        let log = self.store.commit_log().clone();
        let mut reported = log.max_offset();
        write.write_all(&encode_report(reported)).await?;
        self.connected.store(1, Ordering::Relaxed);
        tracing::info!(master = %addr, offset = reported, "HA slave following its master");
        let (mut last_report, mut last_frame) = (Instant::now(), Instant::now());
        loop {
            let wait = self
                .settings
                .heartbeat_interval
                .saturating_sub(last_report.elapsed())
                .max(Duration::from_millis(1));
            let frame = match tokio::time::timeout(wait, frames.next()).await {
                Err(_) => None,
                Ok(None) => return Err(HaProtocolError::Io("the master closed".into())),
                Ok(Some(f)) => Some(f?),
            };
            if let Some(frame) = frame {
                last_frame = Instant::now();
                let end = log.max_offset();
                let empty = log.files().files().is_empty();
                if !empty && frame.offset != end {
                    return Err(HaProtocolError::Io(format!(
                        "the master sent offset {} but this slave ends at {end}",
                        frame.offset
                    )));
                }
                if !frame.is_heartbeat() {
                    self.store
                        .append_replicated(frame.offset, frame.body)
                        .await
                        .map_err(|e| HaProtocolError::Io(format!("append failed: {e}")))?;
                }
            }
            // A master silent past housekeeping is gone even if its socket is not (it
            // heartbeats every haSendHeartbeatInterval).
            if last_frame.elapsed() > self.settings.housekeeping_interval {
                return Err(HaProtocolError::Io(
                    "no frame from the master within haHousekeepingInterval".into(),
                ));
            }
            let end = log.max_offset();
            if end != reported || last_report.elapsed() >= self.settings.heartbeat_interval {
                write.write_all(&encode_report(end)).await?;
                reported = end;
                last_report = Instant::now();
            }
        }
    }
}
