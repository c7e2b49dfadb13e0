//! The RouteInfoManager actor: the only owner of the name server's [`RouteTable`]. Requests
//! reach it as closures over the table ([`WithRoutes`]), so each request family keeps its
//! logic in its processor file and the actor stays a thin shell. A timer scans for brokers
//! silent past their timeout every `scanNotActiveBrokerInterval`.

use std::time::{Duration, Instant};

use actix::prelude::*;

use super::route_table::RouteTable;
use crate::actors::envelope::Admitted;
use crate::actors::runtime::{guarded, ActorError, Supervision};

pub struct RouteInfoManager {
    sup: Supervision,
    table: RouteTable,
    scan_interval: Duration,
}

impl RouteInfoManager {
    pub fn new(sup: Supervision, default_timeout: Duration, scan_interval: Duration) -> Self {
        RouteInfoManager {
            sup,
            table: RouteTable::new(default_timeout),
            scan_interval,
        }
    }

    fn scan(&mut self, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        let table = &mut self.table;
        guarded(&metrics, ctx, |_| {
            for gone in table.expired_brokers(Instant::now()) {
                tracing::warn!(
                    broker = %gone.broker_name,
                    addr = %gone.broker_addr,
                    "broker expired: no heartbeat within its timeout; removing its routes"
                );
                table.unregister_broker(&gone);
            }
        });
    }
}

impl Actor for RouteInfoManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.scan_interval, |act, ctx| act.scan(ctx));
    }
}

// The tables are kept across a restart: a panic in one request must not forget every broker.
crate::supervised_actor!(RouteInfoManager);

/// Runs a closure on the route table inside the actor, with the current time.
pub struct WithRoutes<F>(pub F);

/// Builds a [`WithRoutes`] message; the bound lets closures be written without types.
pub fn with_routes<F, R>(f: F) -> WithRoutes<F>
where
    F: FnOnce(&mut RouteTable, Instant) -> R,
{
    WithRoutes(f)
}

impl<F, R> Message for WithRoutes<F>
where
    F: FnOnce(&mut RouteTable, Instant) -> R,
    R: 'static,
{
    type Result = Result<R, ActorError>;
}

// Taken only through the Mailbox, so the handler takes the envelope (`admits!` is for
// non-generic messages).
impl<F, R> Handler<Admitted<WithRoutes<F>>> for RouteInfoManager
where
    F: FnOnce(&mut RouteTable, Instant) -> R,
    R: 'static,
{
    type Result = Result<R, ActorError>;

    fn handle(&mut self, msg: Admitted<WithRoutes<F>>, ctx: &mut Context<Self>) -> Self::Result {
        let (msg, _slot) = msg.into_parts();
        let metrics = self.sup.metrics.clone();
        let table = &mut self.table;
        guarded(&metrics, ctx, |_| (msg.0)(table, Instant::now()))
            .ok_or_else(|| ActorError::Panicked(metrics.path().to_owned()))
    }
}
