//! One actor per accepted TCP connection. Frames come in through a `FramedRead` stream;
//! each request goes to the server's [`RequestProcessor`] and its answer is written when it
//! is ready, so answers may leave out of order (clients match them by opaque). Writes go
//! through a bounded queue to a writer task that gathers whatever is queued into one write,
//! so a burst of answers costs one syscall: small frames are copied into one buffer, large
//! bodies (a pull's messages) go to the socket by `writev` without being copied again.
//!
//! Policies:
//! - a frame-level error (oversized, undersized or truncated frame) closes the connection:
//!   the stream can no longer be trusted to be aligned on frames;
//! - a well-framed command with a bad header is answered SYSTEM_ERROR with the reason as
//!   remark, then the connection is closed, as Java closes on decode errors;
//! - more than `maxInflightPerConnection` requests in progress: SYSTEM_BUSY at once;
//! - a peer that does not read its answers until the write queue is full is a slow
//!   consumer and is disconnected rather than buffered without bound;
//! - no traffic either way for the idle timeout: closed;
//! - a processor that panics answers SYSTEM_ERROR and the panic is counted.
//!
//! [`RequestProcessor`]: super::server::RequestProcessor

use std::collections::HashMap;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};
use tokio_util::codec::FramedRead;

use super::server::ServerShared;
use crate::actors::metrics::ActorMetrics;
use crate::protocol::code::response;
use crate::protocol::{FrameCodec, ProtocolError, RemotingCommand};
use crate::remoting_client::RemotingError;

/// Frames queued for the writer task before the peer counts as a slow consumer.
const WRITE_QUEUE_FRAMES: usize = 4096;
/// Bytes the writer gathers into one write.
const WRITE_BATCH_BYTES: usize = 256 * 1024;
/// Buffers in one `writev` (Linux's IOV_MAX is 1,024).
const WRITE_BATCH_SLICES: usize = 512;
/// Bodies at least this long are written from where they are rather than copied into the
/// write buffer; shorter ones cost less to copy than an extra `writev` segment.
const COPY_BODY_BELOW: usize = 4096;

/// One frame for the writer: its head and its body, written one after the other.
type Frame = (Bytes, Bytes);
/// Longest a closing connection waits for its requests in flight.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Who is on the other end, handed to processors with every request.
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    pub id: u64,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub addr: Addr<Connection>,
}

/// The actor for one connection.
pub struct Connection {
    info: Option<ConnectionInfo>,
    id: u64,
    peer: SocketAddr,
    shared: Arc<ServerShared>,
    tx: Option<mpsc::Sender<Frame>>,
    writer_done: Option<oneshot::Receiver<()>>,
    metrics: Arc<ActorMetrics>,
    last_activity: Instant,
    inflight: usize,
    /// Closing once the requests in flight are answered: a peer that sends and closes
    /// (oneway sends, then exit) still has every request it sent carried out.
    draining: bool,
    pending: HashMap<i32, oneshot::Sender<RemotingCommand>>,
    next_opaque: i32,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    pub(crate) fn start_server_side(
        id: u64,
        stream: TcpStream,
        peer: SocketAddr,
        shared: Arc<ServerShared>,
        permit: OwnedSemaphorePermit,
    ) -> Addr<Connection> {
        let local = stream.local_addr().unwrap_or(shared.local_addr);
        let (read_half, write_half) = stream.into_split();
        let (tx, rx) = mpsc::channel(WRITE_QUEUE_FRAMES);
        let (done_tx, done_rx) = oneshot::channel();
        actix::spawn(write_loop(write_half, rx, done_tx));
        let path = format!("{}/Connection-{}", shared.path, id);
        let metrics = shared.registry.register_actor(
            path,
            "Connection",
            shared.config.max_inflight_per_connection,
        );
        let codec = FrameCodec::new(shared.config.max_frame_bytes);
        Connection::create(move |ctx| {
            ctx.add_stream(FramedRead::new(read_half, codec));
            let info = ConnectionInfo {
                id,
                peer,
                local,
                addr: ctx.address(),
            };
            shared.connections.insert(id, ctx.address());
            Connection {
                info: Some(info),
                id,
                peer,
                shared,
                tx: Some(tx),
                writer_done: Some(done_rx),
                metrics,
                last_activity: Instant::now(),
                inflight: 0,
                draining: false,
                pending: HashMap::new(),
                next_opaque: 1,
                _permit: permit,
            }
        })
    }

    fn info(&self) -> Option<ConnectionInfo> {
        self.info.clone()
    }

    /// Queues a frame for the writer; a full queue means the peer is not reading.
    fn write(&mut self, cmd: &RemotingCommand, ctx: &mut Context<Self>) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(cmd.to_frame_parts()) {
            Ok(()) => self.last_activity = Instant::now(),
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(peer = %self.peer, "peer does not read its answers; closing slow consumer");
                self.close(ctx);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => ctx.stop(),
        }
    }

    /// Closes once the requests in flight are done (at most [`DRAIN_LIMIT`]) and the writer
    /// has flushed everything queued so far.
    fn close(&mut self, ctx: &mut Context<Self>) {
        if self.inflight > 0 {
            if !self.draining {
                self.draining = true;
                ctx.run_later(DRAIN_LIMIT, |act, ctx| act.close_now(ctx));
            }
            return;
        }
        self.close_now(ctx);
    }

    fn close_now(&mut self, ctx: &mut Context<Self>) {
        self.tx = None;
        match self.writer_done.take() {
            Some(done) => {
                ctx.wait(
                    async move {
                        let _ = tokio::time::timeout(Duration::from_secs(5), done).await;
                    }
                    .into_actor(self)
                    .map(|_, _, ctx| ctx.stop()),
                );
            }
            None => ctx.stop(),
        }
    }

    fn on_request(&mut self, request: RemotingCommand, ctx: &mut Context<Self>) {
        if self.draining {
            return;
        }
        let oneway = request.is_oneway();
        if self.inflight >= self.shared.config.max_inflight_per_connection {
            if !oneway {
                let busy = RemotingCommand::response(
                    response::SYSTEM_BUSY,
                    Some(
                        "[OVERLOAD]too many requests in flight on this connection, try again later"
                            .to_owned(),
                    ),
                )
                .answer(&request);
                crate::actors::refusal_log::log_answer(
                    &crate::actors::refusal_log::RequestFacts::of(&request),
                    self.peer,
                    &busy,
                );
                self.write(&busy, ctx);
            }
            self.metrics.rejected_full();
            return;
        }
        let Some(info) = self.info() else { return };
        self.inflight += 1;
        self.metrics.enqueued();
        let code = request.code;
        // What the answer needs of the request (its opaque and encoding), without a copy
        // of its header fields.
        let template = RemotingCommand::response(0, None).answer(&request);
        let started = Instant::now();
        let fut = AssertUnwindSafe(self.shared.processor.process(request, info)).catch_unwind();
        ctx.spawn(fut.into_actor(self).map(move |outcome, act, ctx| {
            act.inflight -= 1;
            if act.draining && act.inflight == 0 {
                ctx.run_later(Duration::ZERO, |act, ctx| act.close_now(ctx));
            }
            act.metrics.dequeued();
            act.metrics.handled_in(started.elapsed());
            let answer = match outcome {
                Ok(answer) => answer,
                Err(_) => {
                    act.metrics.panicked();
                    tracing::error!(peer = %act.peer, code, "request processor panicked");
                    Some(RemotingCommand::response(
                        response::SYSTEM_ERROR,
                        Some(format!(
                            "internal error while processing request code {code}"
                        )),
                    ))
                }
            };
            if let Some(answer) = answer {
                act.shared
                    .registry
                    .observe_rpc("remoting", code, answer.code, started.elapsed());
                if !oneway {
                    let answer = answer.answer(&template);
                    act.write(&answer, ctx);
                }
            }
        }));
    }

    fn on_response(&mut self, resp: RemotingCommand) {
        match self.pending.remove(&resp.opaque) {
            Some(waiter) => {
                let _ = waiter.send(resp);
            }
            None => {
                tracing::debug!(peer = %self.peer, opaque = resp.opaque, "response to no pending request")
            }
        }
    }
}

async fn write_loop(
    mut half: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Frame>,
    done: oneshot::Sender<()>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut parts = std::collections::VecDeque::new();
    'frames: while let Some(frame) = rx.recv().await {
        let mut bytes = stage(&mut buf, &mut parts, frame);
        while bytes < WRITE_BATCH_BYTES && parts.len() + 2 <= WRITE_BATCH_SLICES {
            match rx.try_recv() {
                Ok(more) => bytes += stage(&mut buf, &mut parts, more),
                Err(_) => break,
            }
        }
        if parts.is_empty() {
            if half.write_all(&buf).await.is_err() {
                break;
            }
            buf.clear();
            continue;
        }
        if !buf.is_empty() {
            parts.push_back(buf.split().freeze());
        }
        while !parts.is_empty() {
            let slices: Vec<std::io::IoSlice<'_>> =
                parts.iter().map(|b| std::io::IoSlice::new(b)).collect();
            let mut wrote = match half.write_vectored(&slices).await {
                Ok(0) | Err(_) => break 'frames,
                Ok(n) => n,
            };
            while wrote > 0 {
                let Some(front) = parts.front_mut() else {
                    break;
                };
                if wrote >= front.len() {
                    wrote -= front.len();
                    parts.pop_front();
                } else {
                    bytes::Buf::advance(front, wrote);
                    wrote = 0;
                }
            }
        }
    }
    let _ = half.shutdown().await;
    let _ = done.send(());
}

/// Adds a frame to the pending write: its head, and a short body, are copied into `buf`; a
/// long body ends `buf`'s part and follows it as a part of its own. Returns the frame's
/// length.
fn stage(buf: &mut BytesMut, parts: &mut std::collections::VecDeque<Bytes>, frame: Frame) -> usize {
    let (head, body) = frame;
    let len = head.len() + body.len();
    buf.extend_from_slice(&head);
    if body.len() < COPY_BODY_BELOW {
        buf.extend_from_slice(&body);
    } else {
        parts.push_back(buf.split().freeze());
        parts.push_back(body);
    }
    len
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let idle = self.shared.config.idle_timeout();
        let tick = (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(30));
        ctx.run_interval(tick, move |act, ctx| {
            if act.last_activity.elapsed() >= idle && act.tx.is_some() {
                tracing::info!(peer = %act.peer, idle_secs = idle.as_secs(), "closing idle connection");
                act.close(ctx);
            }
        });
        tracing::debug!(peer = %self.peer, id = self.id, "connection opened");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.tx = None;
        self.pending.clear();
        self.shared.connections.remove(&self.id);
        self.shared.registry.deregister_actor(self.metrics.path());
        self.metrics.set_alive(false);
        if let Some(info) = self.info.take() {
            self.shared.processor.connection_closed(&info);
        }
        tracing::debug!(peer = %self.peer, id = self.id, "connection closed");
    }
}

impl StreamHandler<Result<Bytes, ProtocolError>> for Connection {
    fn handle(&mut self, item: Result<Bytes, ProtocolError>, ctx: &mut Context<Self>) {
        if self.tx.is_none() {
            return; // closing: nothing more is read
        }
        self.last_activity = Instant::now();
        let frame = match item {
            Ok(frame) => frame,
            Err(ProtocolError::Io(e)) if peer_went_away(&e) => {
                tracing::debug!(peer = %self.peer, error = %e, "peer closed the connection");
                self.close(ctx);
                return;
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "bad frame; closing connection");
                self.close(ctx);
                return;
            }
        };
        match RemotingCommand::decode(frame) {
            Ok(cmd) if cmd.is_response() => self.on_response(cmd),
            Ok(cmd) => self.on_request(cmd, ctx),
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "undecodable command; answering and closing");
                let answer = RemotingCommand::response(e.response_code(), Some(e.to_string()));
                self.write(&answer, ctx);
                self.close(ctx);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // The peer closed its side; answers still in progress have nowhere to go.
        self.close(ctx);
    }
}

/// A client closing or resetting its socket is routine, not a protocol error.
fn peer_went_away(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
    )
}

/// Asks the connection to close after flushing.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Close {
    pub reason: &'static str,
}

impl Handler<Close> for Connection {
    type Result = ();

    fn handle(&mut self, msg: Close, ctx: &mut Context<Self>) {
        tracing::debug!(peer = %self.peer, reason = msg.reason, "closing connection");
        if self.tx.is_some() {
            self.close(ctx);
        }
    }
}

/// A request from the server to the peer (NOTIFY_CONSUMER_IDS_CHANGED,
/// CHECK_TRANSACTION_STATE, ...). Oneway commands resolve as soon as they are queued.
#[derive(Message)]
#[rtype(result = "Result<Option<RemotingCommand>, RemotingError>")]
pub struct Invoke {
    pub command: RemotingCommand,
    pub timeout: Duration,
}

impl Handler<Invoke> for Connection {
    type Result = ResponseActFuture<Self, Result<Option<RemotingCommand>, RemotingError>>;

    fn handle(&mut self, msg: Invoke, ctx: &mut Context<Self>) -> Self::Result {
        let mut cmd = msg.command;
        cmd.opaque = self.next_opaque;
        self.next_opaque = self.next_opaque.wrapping_add(1);
        let peer = self.peer.to_string();
        if self.tx.is_none() {
            return Box::pin(fut::ready(Err(RemotingError::ConnectionClosed(peer))));
        }
        if cmd.is_oneway() {
            self.write(&cmd, ctx);
            return Box::pin(fut::ready(Ok(None)));
        }
        let (tx, rx) = oneshot::channel();
        self.pending.insert(cmd.opaque, tx);
        let opaque = cmd.opaque;
        self.write(&cmd, ctx);
        let timeout = msg.timeout;
        Box::pin(
            async move {
                match tokio::time::timeout(timeout, rx).await {
                    Ok(Ok(resp)) => Ok(Some(resp)),
                    Ok(Err(_)) => Err(RemotingError::ConnectionClosed(peer)),
                    Err(_) => Err(RemotingError::Timeout {
                        addr: peer,
                        millis: timeout.as_millis() as u64,
                    }),
                }
            }
            .into_actor(self)
            .map(move |r, act, _| {
                act.pending.remove(&opaque);
                r
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Heads and short bodies share the write buffer; a long body becomes a part of its own
    /// (the same allocation, not a copy), and the bytes keep their order.
    #[test]
    fn staging_copies_short_frames_and_passes_long_bodies_through() {
        let mut buf = BytesMut::new();
        let mut parts = std::collections::VecDeque::new();
        let long = Bytes::from(vec![7u8; COPY_BODY_BELOW]);
        let frames = [
            (Bytes::from_static(b"h1"), Bytes::from_static(b"short")),
            (Bytes::from_static(b"h2"), long.clone()),
            (Bytes::from_static(b"h3"), Bytes::new()),
        ];
        let mut expected = Vec::new();
        let mut total = 0;
        for (head, body) in frames {
            expected.extend_from_slice(&head);
            expected.extend_from_slice(&body);
            total += stage(&mut buf, &mut parts, (head, body));
        }
        assert_eq!(total, expected.len());
        assert_eq!(
            parts.len(),
            2,
            "the bytes before the long body, then the body"
        );
        assert_eq!(parts[1].as_ptr(), long.as_ptr(), "not copied");
        let written: Vec<u8> = parts
            .iter()
            .flat_map(|p| p.iter().copied())
            .chain(buf.iter().copied())
            .collect();
        assert_eq!(written, expected);
    }
}
