//! HAService: the master's HA listener on haListenPort. Each accepted slave gets its own
//! [`HaConnection`] actor on the same arbiter (its blocking reads go to spawn_blocking).
//! Accept errors (out of descriptors, say) are logged and retried after a pause instead
//! of ending the listener.
//!
//! Mailbox: capacity [`HA_SERVICE`](crate::actors::broker::capacity::HA_SERVICE); only
//! shutdown and panic injection are sent to it, so a full mailbox means those wait.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::net::{TcpListener, TcpStream};

use super::connection::HaConnection;
use super::ReplicaState;
use crate::actors::broker::StoreHandle;
use crate::actors::metrics::MetricsRegistry;
use crate::actors::runtime::Supervision;

pub struct HaService {
    sup: Supervision,
    listener: Arc<TcpListener>,
    state: Arc<ReplicaState>,
    store: StoreHandle,
    registry: Arc<MetricsRegistry>,
    path: String,
    accepted: u64,
    connections: Vec<Addr<HaConnection>>,
    closed: bool,
}

impl HaService {
    pub fn new(
        sup: Supervision,
        listener: Arc<TcpListener>,
        state: Arc<ReplicaState>,
        store: StoreHandle,
        registry: Arc<MetricsRegistry>,
        path: String,
    ) -> Self {
        HaService {
            sup,
            listener,
            state,
            store,
            registry,
            path,
            accepted: 0,
            connections: Vec::new(),
            closed: false,
        }
    }
}

type Accepted = std::io::Result<(TcpStream, SocketAddr)>;

impl Actor for HaService {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let listener = self.listener.clone();
        ctx.add_stream(futures_util::stream::unfold(listener, |l| async move {
            let accepted = l.accept().await;
            if accepted.is_err() {
                // EMFILE and the like: give the process a moment before trying again.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Some((accepted, l))
        }));
    }
}

crate::supervised_actor!(HaService);
crate::admits!(HaService: CloseHa);

/// Shutdown: close every slave connection and accept no more.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseHa;

impl Handler<CloseHa> for HaService {
    type Result = ();

    fn handle(&mut self, _: CloseHa, _: &mut Context<Self>) {
        self.closed = true;
        for c in self.connections.drain(..) {
            c.do_send(super::connection::Close);
        }
    }
}

impl StreamHandler<Accepted> for HaService {
    fn handle(&mut self, accepted: Accepted, _: &mut Context<Self>) {
        let (socket, peer) = match accepted {
            Ok(_) if self.closed => return,
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "HA accept failed");
                return;
            }
        };
        self.accepted += 1;
        let path = format!("{}/HAConnection/{}-{}", self.path, peer, self.accepted);
        let conn = HaConnection::new(
            socket,
            peer,
            self.state.clone(),
            self.store.commit_log().clone(),
            self.store.watch_appended(),
            self.registry.clone(),
            path,
        );
        self.connections.retain(|c| c.connected());
        self.connections.push(conn.start());
    }

    fn finished(&mut self, _: &mut Context<Self>) {
        tracing::error!("the HA listener stream ended");
    }
}
