//! HAConnection: one slave on the master. Its read side is a stream of offset reports
//! (each an ack that may answer SYNC_MASTER waiters); its write side streams the commit
//! log from the slave's first report, as frames of at most haTransferBatchSize, and a
//! heartbeat frame when there has been nothing to send for haSendHeartbeatInterval.
//!
//! The bytes are copied out of the mapped files on a blocking thread (a page fault must
//! not stall the connections' event loop), up to [`READ_AHEAD`] at a time, and written
//! before the next read: a slave that stops reading holds at most that much of the
//! master's memory, and a write that cannot finish within haHousekeepingInterval closes
//! the connection. A slave silent for haHousekeepingInterval is closed too. An offset
//! past the master's end, or below its first file, is waited on with heartbeats (as Java
//! does), never trusted.
//!
//! Mailbox: only the report stream and the housekeeping timer feed it; no one sends it
//! messages.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{BufMut, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::codec::FramedRead;

use super::ReplicaState;
use crate::actors::metrics::{ActorMetrics, MetricsRegistry};
use crate::protocol::ha::{encode_transfer_header, transfer_start, HaProtocolError, ReportDecoder};
use crate::store::commit_log::CommitLogReader;

/// Bytes copied from the commit log per blocking read (several frames, one write).
pub const READ_AHEAD: usize = 1024 * 1024;

pub struct HaConnection {
    peer: SocketAddr,
    state: Arc<ReplicaState>,
    log: CommitLogReader,
    appended: watch::Receiver<i64>,
    socket: Option<TcpStream>,
    /// The slave's first report, handed to the write side.
    requested: watch::Sender<Option<i64>>,
    last_read: Instant,
    /// What this slave acknowledged, and how far the master has sent it (for /metrics).
    slave_ack: Arc<AtomicI64>,
    sent: Arc<AtomicI64>,
    registry: Arc<MetricsRegistry>,
    metrics: Arc<ActorMetrics>,
}

impl HaConnection {
    pub fn new(
        socket: TcpStream,
        peer: SocketAddr,
        state: Arc<ReplicaState>,
        log: CommitLogReader,
        appended: watch::Receiver<i64>,
        registry: Arc<MetricsRegistry>,
        path: String,
    ) -> Self {
        let metrics = registry.register_actor(path, "HAConnection", 1);
        HaConnection {
            peer,
            state,
            log,
            appended,
            socket: Some(socket),
            requested: watch::Sender::new(None),
            last_read: Instant::now(),
            slave_ack: Arc::new(AtomicI64::new(-1)),
            sent: Arc::new(AtomicI64::new(-1)),
            registry,
            metrics,
        }
    }
}

impl Actor for HaConnection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.state.connection_opened();
        let Some(socket) = self.socket.take() else {
            ctx.stop();
            return;
        };
        let _ = socket.set_nodelay(true);
        let (read, write) = socket.into_split();
        ctx.add_stream(FramedRead::with_capacity(read, ReportDecoder, 1024));
        let stream = Transfer {
            out: write,
            log: self.log.clone(),
            requested: self.requested.subscribe(),
            appended: self.appended.clone(),
            batch: self.state.settings().transfer_batch_size,
            heartbeat: self.state.settings().heartbeat_interval,
            write_timeout: self.state.settings().housekeeping_interval,
            sent: self.sent.clone(),
            slave_ack: self.slave_ack.clone(),
            state: self.state.clone(),
        };
        let peer = self.peer;
        ctx.spawn(stream.run().into_actor(self).map(move |res, _, ctx| {
            if let Err(e) = res {
                tracing::info!(slave = %peer, error = %e, "HA connection closed");
            }
            ctx.stop();
        }));
        let housekeeping = self.state.settings().housekeeping_interval;
        ctx.run_interval(
            (housekeeping / 4).clamp(Duration::from_millis(50), Duration::from_secs(1)),
            move |act, ctx| {
                act.state.observe_behind(act.log.max_offset());
                if act.last_read.elapsed() > housekeeping {
                    tracing::warn!(slave = %act.peer, "HA slave silent past haHousekeepingInterval; closing");
                    ctx.stop();
                }
            },
        );
        tracing::info!(slave = %self.peer, "HA slave connected");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.state.connection_closed();
        self.registry.deregister_actor(self.metrics.path());
    }
}

impl StreamHandler<Result<i64, HaProtocolError>> for HaConnection {
    fn handle(&mut self, report: Result<i64, HaProtocolError>, ctx: &mut Context<Self>) {
        let start = Instant::now();
        match report {
            Ok(offset) => {
                self.last_read = Instant::now();
                self.slave_ack.store(offset, Ordering::Release);
                if self.requested.borrow().is_none() {
                    self.requested.send_replace(Some(offset));
                }
                // A report counts as an ack only within what this connection streamed: a
                // peer reporting an offset it was never sent (garbage, or a spoofed ack)
                // answers no SYNC_MASTER send, now or later.
                if offset <= self.sent.load(Ordering::Acquire) {
                    self.state.on_ack(offset);
                }
                self.state.observe_behind(self.log.max_offset());
            }
            Err(e) => {
                tracing::warn!(slave = %self.peer, error = %e, "bad HA report; closing");
                ctx.stop();
            }
        }
        self.metrics.handled_in(start.elapsed());
    }
}

/// Closes the connection (the master is shutting down).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Close;

impl Handler<Close> for HaConnection {
    type Result = ();

    fn handle(&mut self, _: Close, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// The write side: streams the commit log to one slave.
struct Transfer {
    out: OwnedWriteHalf,
    log: CommitLogReader,
    requested: watch::Receiver<Option<i64>>,
    appended: watch::Receiver<i64>,
    batch: usize,
    heartbeat: Duration,
    write_timeout: Duration,
    sent: Arc<AtomicI64>,
    slave_ack: Arc<AtomicI64>,
    state: Arc<ReplicaState>,
}

impl Transfer {
    /// Publishes how far this slave was sent, and counts its last report if that now
    /// lies within it (a report can arrive before the write it covers is recorded).
    fn sent_up_to(&self, offset: i64) {
        self.sent.store(offset, Ordering::Release);
        let ack = self.slave_ack.load(Ordering::Acquire);
        if (0..=offset).contains(&ack) {
            self.state.on_ack(ack);
        }
    }

    async fn run(mut self) -> Result<(), HaProtocolError> {
        let requested = loop {
            if let Some(o) = *self.requested.borrow_and_update() {
                break o;
            }
            self.requested
                .changed()
                .await
                .map_err(|_| HaProtocolError::Io("connection closed before a report".into()))?;
        };
        let file_size = self.log.files().file_size();
        let end = self.log.max_offset();
        let mut next = transfer_start(requested, end, file_size);
        // A slave may hold what it reports, but never more than this master has: a first
        // report past the end vouches for nothing stored later.
        self.sent.store(next.min(end), Ordering::Release);
        tracing::info!(requested, from = next, "HA transfer starts");
        let mut last_write = Instant::now();
        loop {
            self.appended.borrow_and_update();
            let (log, batch, from) = (self.log.clone(), self.batch, next);
            let frames = tokio::task::spawn_blocking(move || read_frames(&log, from, batch))
                .await
                .map_err(|e| HaProtocolError::Io(format!("commit-log read failed: {e}")))?;
            if let Some((buf, upto)) = frames {
                self.write(&buf).await?;
                next = upto;
                self.sent_up_to(next);
                last_write = Instant::now();
                continue;
            }
            if last_write.elapsed() >= self.heartbeat {
                let mut beat = BytesMut::with_capacity(12);
                encode_transfer_header(next, 0, &mut beat);
                self.write(&beat).await?;
                last_write = Instant::now();
            }
            let until_beat = self.heartbeat.saturating_sub(last_write.elapsed());
            // A closed watch (the store stopping) leaves only the heartbeat timer.
            let wait = async {
                if self.appended.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            let _ = tokio::time::timeout(until_beat.max(Duration::from_millis(1)), wait).await;
        }
    }

    async fn write(&mut self, buf: &[u8]) -> Result<(), HaProtocolError> {
        match tokio::time::timeout(self.write_timeout, self.out.write_all(buf)).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(HaProtocolError::Io(format!(
                "the slave read nothing for {} ms",
                self.write_timeout.as_millis()
            ))),
        }
    }
}

/// Frames (header and bytes) of the commit log from `from`, up to [`READ_AHEAD`] bytes,
/// each at most `batch`; with the offset after them. `None` when nothing is there.
fn read_frames(log: &CommitLogReader, from: i64, batch: usize) -> Option<(BytesMut, i64)> {
    let mut buf = BytesMut::new();
    let mut at = from;
    while buf.len() < READ_AHEAD {
        let Some(chunk) = log.transfer_chunk(at, batch) else {
            break;
        };
        encode_transfer_header(at, chunk.len(), &mut buf);
        buf.put_slice(&chunk);
        at += chunk.len() as i64;
    }
    (at > from).then_some((buf, at))
}
