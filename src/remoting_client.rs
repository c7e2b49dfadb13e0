//! The remoting client: one TCP connection per remote address, shared by every request to
//! it. Requests get a fresh opaque and wait for the response carrying it, up to their own
//! timeout; oneway requests resolve once written. A connection that fails is dropped and
//! the next request to that address connects again. Requests the server sends to us
//! (NOTIFY_CONSUMER_IDS_CHANGED, CHECK_TRANSACTION_STATE, ...) go to a [`ServerRequestHandler`].
//!
//! It is plain tokio, not an actor, so it works both inside actix arbiters and in any tokio
//! runtime a client application brings.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use dashmap::DashMap;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use crate::protocol::frame::DEFAULT_MAX_FRAME_BYTES;
use crate::protocol::{FrameCodec, ProtocolError, RemotingCommand, SerializeType};

/// Client-side failures; RocketMQ calls these RPC_* (never sent on the wire).
#[derive(Debug, thiserror::Error)]
pub enum RemotingError {
    #[error("connect to {addr} failed: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("connect to {0} timed out")]
    ConnectTimeout(String),
    #[error("request to {addr} timed out after {millis} ms")]
    Timeout { addr: String, millis: u64 },
    #[error("connection to {0} closed before the response arrived")]
    ConnectionClosed(String),
    #[error("too many requests queued for {0}")]
    Busy(String),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

/// Answers requests that a server sends to this client.
pub trait ServerRequestHandler: Send + Sync + 'static {
    fn handle(
        &self,
        request: RemotingCommand,
        from: &str,
    ) -> BoxFuture<'static, Option<RemotingCommand>>;
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub connect_timeout: Duration,
    pub max_frame_bytes: usize,
    /// Frames queued per connection before requests are refused as busy.
    pub write_queue_frames: usize,
    /// Header encoding of every request sent (Java's `rocketmq.serialize.type`): JSON by
    /// default, ROCKETMQ's binary form is cheaper to encode and decode.
    pub serialize_type: SerializeType,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(3),
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            write_queue_frames: 4096,
            serialize_type: SerializeType::Json,
        }
    }
}

type Pending = Arc<DashMap<i32, oneshot::Sender<RemotingCommand>>>;

struct ClientConn {
    tx: mpsc::Sender<Bytes>,
    pending: Pending,
    closed: Arc<AtomicBool>,
    /// Ends both I/O tasks: on `close`, or when the last handle to the connection goes.
    shutdown: CancellationToken,
    /// Asks the writer to write what is queued and stop (a graceful close).
    drain: CancellationToken,
    /// Set by the writer when it has stopped.
    written: Arc<AtomicBool>,
}

impl Drop for ClientConn {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

struct Inner {
    config: ClientConfig,
    conns: Mutex<HashMap<String, Arc<ClientConn>>>,
    /// Serialises connection attempts so concurrent first requests share one connection.
    connecting: tokio::sync::Mutex<()>,
    next_opaque: AtomicI32,
    handler: Option<Arc<dyn ServerRequestHandler>>,
}

/// A cheap-to-clone handle to the client's connections.
#[derive(Clone)]
pub struct RemotingClient {
    inner: Arc<Inner>,
}

impl Default for RemotingClient {
    fn default() -> Self {
        RemotingClient::new(ClientConfig::default(), None)
    }
}

impl RemotingClient {
    pub fn new(config: ClientConfig, handler: Option<Arc<dyn ServerRequestHandler>>) -> Self {
        RemotingClient {
            inner: Arc::new(Inner {
                config,
                conns: Mutex::new(HashMap::new()),
                connecting: tokio::sync::Mutex::new(()),
                next_opaque: AtomicI32::new(1),
                handler,
            }),
        }
    }

    /// Sends `request` to `addr` and waits for its response.
    pub async fn invoke(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let conn = tokio::time::timeout(timeout, self.connection(addr))
            .await
            .map_err(|_| RemotingError::ConnectTimeout(addr.to_owned()))??;
        request.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.serialize_type = self.inner.config.serialize_type;
        request.flag &= !crate::protocol::command::FLAG_ONEWAY;
        let (tx, rx) = oneshot::channel();
        conn.pending.insert(request.opaque, tx);
        if let Err(e) = self.queue(addr, &conn, &request) {
            conn.pending.remove(&request.opaque);
            return Err(e);
        }
        let result = tokio::time::timeout(timeout, rx).await;
        conn.pending.remove(&request.opaque);
        match result {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(_)) => Err(RemotingError::ConnectionClosed(addr.to_owned())),
            Err(_) => Err(RemotingError::Timeout {
                addr: addr.to_owned(),
                millis: timeout.as_millis() as u64,
            }),
        }
    }

    /// Sends `request` with the oneway flag; nothing comes back.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), RemotingError> {
        let conn = tokio::time::timeout(timeout, self.connection(addr))
            .await
            .map_err(|_| RemotingError::ConnectTimeout(addr.to_owned()))??;
        request.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.serialize_type = self.inner.config.serialize_type;
        request.mark_oneway();
        self.queue(addr, &conn, &request)
    }

    /// Drops the connection to `addr`; the next request connects again.
    pub fn close(&self, addr: &str) {
        if let Ok(mut conns) = self.inner.conns.lock() {
            if let Some(conn) = conns.remove(addr) {
                conn.shutdown.cancel();
            }
        }
    }

    /// Closes every connection after writing what is queued on it (oneway requests
    /// included), waiting at most `limit` in all.
    pub async fn close_all_flushed(&self, limit: Duration) {
        let conns: Vec<Arc<ClientConn>> = match self.inner.conns.lock() {
            Ok(mut conns) => conns.drain().map(|(_, c)| c).collect(),
            Err(_) => Vec::new(),
        };
        for c in &conns {
            c.drain.cancel();
        }
        let deadline = tokio::time::Instant::now() + limit;
        for c in &conns {
            while !c.written.load(Ordering::Acquire) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            c.shutdown.cancel();
        }
    }

    /// Drops every connection.
    pub fn close_all(&self) {
        if let Ok(mut conns) = self.inner.conns.lock() {
            for (_, conn) in conns.drain() {
                conn.shutdown.cancel();
            }
        }
    }

    fn queue(
        &self,
        addr: &str,
        conn: &ClientConn,
        request: &RemotingCommand,
    ) -> Result<(), RemotingError> {
        conn.tx.try_send(request.to_frame()).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => RemotingError::Busy(addr.to_owned()),
            mpsc::error::TrySendError::Closed(_) => {
                self.forget(addr);
                RemotingError::ConnectionClosed(addr.to_owned())
            }
        })
    }

    fn cached(&self, addr: &str) -> Option<Arc<ClientConn>> {
        let conns = self.inner.conns.lock().ok()?;
        conns
            .get(addr)
            .filter(|c| !c.closed.load(Ordering::Acquire))
            .cloned()
    }

    fn forget(&self, addr: &str) {
        if let Ok(mut conns) = self.inner.conns.lock() {
            if conns
                .get(addr)
                .is_some_and(|c| c.closed.load(Ordering::Acquire))
            {
                conns.remove(addr);
            }
        }
    }

    async fn connection(&self, addr: &str) -> Result<Arc<ClientConn>, RemotingError> {
        if let Some(c) = self.cached(addr) {
            return Ok(c);
        }
        let _guard = self.inner.connecting.lock().await;
        if let Some(c) = self.cached(addr) {
            return Ok(c);
        }
        let stream =
            tokio::time::timeout(self.inner.config.connect_timeout, TcpStream::connect(addr))
                .await
                .map_err(|_| RemotingError::ConnectTimeout(addr.to_owned()))?
                .map_err(|source| RemotingError::Connect {
                    addr: addr.to_owned(),
                    source,
                })?;
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(self.spawn_io(addr.to_owned(), stream));
        if let Ok(mut conns) = self.inner.conns.lock() {
            conns.insert(addr.to_owned(), conn.clone());
        }
        Ok(conn)
    }

    fn spawn_io(&self, addr: String, stream: TcpStream) -> ClientConn {
        let (read_half, mut write_half) = stream.into_split();
        let (tx, mut rx) = mpsc::channel::<Bytes>(self.inner.config.write_queue_frames);
        let pending: Pending = Arc::new(DashMap::new());
        let closed = Arc::new(AtomicBool::new(false));
        let shutdown = CancellationToken::new();

        let closed_w = closed.clone();
        let shutdown_w = shutdown.clone();
        let (drain, written) = (CancellationToken::new(), Arc::new(AtomicBool::new(false)));
        let (drain_w, written_w) = (drain.clone(), written.clone());
        tokio::spawn(async move {
            let mut buf = BytesMut::with_capacity(64 * 1024);
            loop {
                let frame = tokio::select! {
                    biased;
                    _ = shutdown_w.cancelled() => break,
                    f = rx.recv() => match f { Some(f) => f, None => break },
                    _ = drain_w.cancelled() => {
                        while let Ok(f) = rx.try_recv() {
                            buf.extend_from_slice(&f);
                        }
                        let _ = write_half.write_all(&buf).await;
                        let _ = write_half.flush().await;
                        break;
                    }
                };
                buf.extend_from_slice(&frame);
                while let Ok(more) = rx.try_recv() {
                    buf.extend_from_slice(&more);
                    if buf.len() > 256 * 1024 {
                        break;
                    }
                }
                if write_half.write_all(&buf).await.is_err() {
                    break;
                }
                buf.clear();
            }
            closed_w.store(true, Ordering::Release);
            let _ = write_half.shutdown().await;
            written_w.store(true, Ordering::Release);
        });

        let pending_r = pending.clone();
        let closed_r = closed.clone();
        let reply_tx = tx.clone();
        let handler = self.inner.handler.clone();
        let codec = FrameCodec::new(self.inner.config.max_frame_bytes);
        let shutdown_r = shutdown.clone();
        tokio::spawn(async move {
            let mut frames = FramedRead::new(read_half, codec);
            loop {
                let item = tokio::select! {
                    _ = shutdown_r.cancelled() => break,
                    item = frames.next() => match item { Some(item) => item, None => break },
                };
                let cmd = match item.and_then(RemotingCommand::decode) {
                    Ok(cmd) => cmd,
                    Err(e) => {
                        tracing::warn!(%addr, error = %e, "bad frame from server; dropping connection");
                        break;
                    }
                };
                if cmd.is_response() {
                    if let Some((_, waiter)) = pending_r.remove(&cmd.opaque) {
                        let _ = waiter.send(cmd);
                    }
                    continue;
                }
                let Some(handler) = handler.clone() else {
                    tracing::debug!(%addr, code = cmd.code, "server request ignored: no handler");
                    continue;
                };
                let reply_tx = reply_tx.clone();
                let from = addr.clone();
                tokio::spawn(async move {
                    let oneway = cmd.is_oneway();
                    let template = RemotingCommand {
                        body: Bytes::new(),
                        ext_fields: None,
                        ..cmd.clone()
                    };
                    if let Some(answer) = handler.handle(cmd, &from).await {
                        if !oneway {
                            let _ = reply_tx.try_send(answer.answer(&template).to_frame());
                        }
                    }
                });
            }
            closed_r.store(true, Ordering::Release);
            // Dropping the waiters wakes every pending request with ConnectionClosed.
            pending_r.clear();
        });

        ClientConn {
            tx,
            pending,
            closed,
            shutdown,
            drain,
            written,
        }
    }
}

/// The addresses of a `namesrvAddr` list (`host:port;host:port`, RocketMQ's separator),
/// trimmed, empty entries dropped.
pub fn split_addrs(list: &str) -> Vec<String> {
    list.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_addrs;

    #[test]
    fn namesrv_lists_split_on_semicolons_and_drop_blanks() {
        assert_eq!(
            split_addrs(" 127.0.0.1:9876; ;127.0.0.2:9876;"),
            vec!["127.0.0.1:9876".to_owned(), "127.0.0.2:9876".to_owned()]
        );
        assert!(split_addrs("").is_empty());
    }
}
