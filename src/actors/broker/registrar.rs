//! Registrar: REGISTER_BROKER with every name server at start and every
//! `registerNameServerPeriod` (the full table, split into parts of
//! `splitRegistrationSize` topics when `enableSplitRegistration`, RocketMQ 5.x's RIP-29),
//! and right after topics change (only the changed topics at the new data version, as 5.x's
//! `registerIncrementBrokerData`); UNREGISTER_BROKER at shutdown. A name server that is
//! down is logged and tried again next period.
//!
//! Rounds are coalesced: one round is in flight at a time, and changes that arrive
//! meanwhile go out together in the next one, so 10,000 topic changes in a burst are not
//! 10,000 registrations of an ever larger table. A change may carry a waiter (a topic
//! auto-created by a send): it is answered when the round that carries the topic has been
//! answered by every name server or has timed out, so the send is answered after the name
//! servers know the topic, as RocketMQ 4.9.8's `createTopicInSendMessageMethod` →
//! `registerBrokerAll` has it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::future::join_all;
use tokio::sync::oneshot;

use super::config::{BrokerConfig, BrokerRole};
use super::ha::MasterAddrs;
use super::meta::topic_config::{TopicView, TopicsChanged};
use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{guarded, Supervision};
use crate::protocol::body::register::{
    body_crc32, RegisterBrokerBody, TopicConfigSerializeWrapper,
};
use crate::protocol::code::{request, response};
use crate::protocol::header::namesrv::{
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use crate::protocol::RemotingCommand;
use crate::remoting_client::RemotingClient;

/// Bound of one REGISTER_BROKER (RocketMQ's registerBrokerTimeoutMills is 6 s in 4.9).
const TIMEOUT: Duration = Duration::from_secs(6);

pub struct Registrar {
    sup: Supervision,
    config: Arc<BrokerConfig>,
    topics: Arc<TopicView>,
    client: RemotingClient,
    broker_addr: String,
    /// This broker's HA address as slaves reach it (the port actually bound).
    ha_addr: String,
    /// Where the name servers say this group's master is (a slave follows it).
    master: Arc<MasterAddrs>,
    /// A round is being answered.
    in_flight: bool,
    /// The next round registers the whole table (start, period).
    full_due: bool,
    /// Topics changed since the last round started.
    changed: BTreeSet<String>,
    /// Answered when the next round ends.
    waiters: Vec<oneshot::Sender<()>>,
    /// A slave that has not learned its master yet registers again after
    /// [`MASTER_RETRY`] instead of waiting a whole period; one retry is pending at a time.
    master_retry_pending: bool,
}

/// How soon a slave without a master address registers again: a slave started beside its
/// master would otherwise follow it only after registerNameServerPeriod (30 s), as Java does.
const MASTER_RETRY: Duration = Duration::from_secs(1);

impl Registrar {
    pub fn new(
        sup: Supervision,
        config: Arc<BrokerConfig>,
        topics: Arc<TopicView>,
        broker_addr: String,
        ha_addr: String,
        master: Arc<MasterAddrs>,
    ) -> Self {
        Registrar {
            sup,
            config,
            topics,
            client: RemotingClient::default(),
            broker_addr,
            ha_addr,
            master,
            in_flight: false,
            full_due: true,
            changed: BTreeSet::new(),
            waiters: Vec::new(),
            master_retry_pending: false,
        }
    }

    /// The registrations the next round sends: every part of the full table when due,
    /// else one registration of the changed topics still present (a deletion needs none:
    /// name servers keep a topic until DELETE_TOPIC_IN_NAMESRV, as with Java).
    fn next_round(&mut self) -> Vec<TopicConfigSerializeWrapper> {
        let changed = std::mem::take(&mut self.changed);
        if std::mem::take(&mut self.full_due) {
            let snapshot = self.topics.snapshot();
            return if self.config.enable_split_registration {
                snapshot.split(self.config.split_registration_size)
            } else {
                vec![(*snapshot).clone()]
            };
        }
        // The version first: a topic changed after it is read carries a newer version
        // and goes out in the next round.
        let version = self.topics.data_version();
        let present: Vec<_> = changed.iter().filter_map(|t| self.topics.get(t)).collect();
        if present.is_empty() {
            return Vec::new();
        }
        TopicConfigSerializeWrapper::of(&present, version)
            .split(self.config.split_registration_size)
    }

    /// Starts a round unless one is in flight (then the pending work waits for it).
    fn register(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight {
            return;
        }
        let parts = self.next_round();
        let waiters = std::mem::take(&mut self.waiters);
        if parts.is_empty() {
            answer(waiters);
            return;
        }
        self.in_flight = true;
        let c = &self.config;
        let header = RegisterBrokerRequestHeader {
            broker_name: c.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: c.broker_cluster_name.clone(),
            ha_server_addr: self.ha_addr.clone(),
            broker_id: c.broker_id,
            heartbeat_timeout_millis: Some(c.channel_expired_timeout as i64),
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: None,
        };
        let bodies: Arc<Vec<_>> = Arc::new(
            parts
                .into_iter()
                .map(|wrapper| {
                    RegisterBrokerBody {
                        topic_config_serialize_wrapper: wrapper,
                        filter_server_list: Vec::new(),
                    }
                    .encode()
                })
                .collect(),
        );
        let client = self.client.clone();
        let master = self.master.clone();
        // Each name server gets the parts in order; name servers are served in parallel.
        let calls = c.namesrv_addrs().into_iter().map(move |addr| {
            let (client, bodies, header, master) = (
                client.clone(),
                bodies.clone(),
                header.clone(),
                master.clone(),
            );
            async move {
                for body in bodies.iter() {
                    let header = RegisterBrokerRequestHeader {
                        body_crc32: Some(body_crc32(body)),
                        ..header.clone()
                    };
                    let cmd = RemotingCommand::request_with(request::REGISTER_BROKER, &header)
                        .with_body(body.clone());
                    match client.invoke(&addr, cmd, TIMEOUT).await {
                        Ok(r) if r.code == response::SUCCESS => {
                            if let Ok(h) = r.decode_header::<RegisterBrokerResponseHeader>() {
                                master.learned(h.ha_server_addr, h.master_addr);
                            }
                        }
                        Ok(r) => {
                            tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "name server refused the registration");
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(namesrv = %addr, error = %e, "registering with the name server failed");
                            return;
                        }
                    }
                }
                tracing::debug!(namesrv = %addr, parts = bodies.len(), "registered");
            }
        });
        ctx.spawn(catch_panics(join_all(calls).into_actor(self).map(
            move |_, act, ctx| {
                act.in_flight = false;
                answer(waiters);
                act.retry_until_master_known(ctx);
                if act.full_due || !act.changed.is_empty() || !act.waiters.is_empty() {
                    act.register(ctx);
                }
            },
        )));
    }
}

impl Registrar {
    fn retry_until_master_known(&mut self, ctx: &mut Context<Self>) {
        if self.config.broker_role != BrokerRole::Slave
            || self.master.ha().is_some()
            || self.master_retry_pending
        {
            return;
        }
        self.master_retry_pending = true;
        ctx.run_later(MASTER_RETRY, |act, ctx| {
            act.master_retry_pending = false;
            act.full_due = true;
            act.register(ctx);
        });
    }
}

fn answer(waiters: Vec<oneshot::Sender<()>>) {
    for w in waiters {
        // A waiter that gave up (its bound passed) has dropped its receiver.
        let _ = w.send(());
    }
}

impl Actor for Registrar {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.register(ctx);
        let period = Duration::from_millis(self.config.register_name_server_period.max(100));
        ctx.run_interval(period, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| {
                act.full_due = true;
                act.register(ctx);
            });
        });
    }
}

crate::supervised_actor!(Registrar, |a: &mut Registrar| {
    // A round cut short by the panic is not answered: start over with a full one.
    a.in_flight = false;
    a.full_due = true;
});
crate::admits!(Registrar: TopicsChanged, UnregisterAll);

impl Handler<TopicsChanged> for Registrar {
    type Result = ();
    fn handle(&mut self, msg: TopicsChanged, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |ctx| {
            self.changed.extend(msg.topics);
            self.waiters.extend(msg.registered);
            self.register(ctx);
        });
    }
}

/// UNREGISTER_BROKER with every name server (shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct UnregisterAll;

impl Handler<UnregisterAll> for Registrar {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, _: UnregisterAll, _: &mut Context<Self>) -> Self::Result {
        let c = &self.config;
        let header = UnRegisterBrokerRequestHeader {
            broker_name: c.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: c.broker_cluster_name.clone(),
            broker_id: c.broker_id,
        };
        let client = self.client.clone();
        let calls: Vec<_> = c
            .namesrv_addrs()
            .into_iter()
            .map(|addr| {
                let (client, cmd) = (
                    client.clone(),
                    RemotingCommand::request_with(request::UNREGISTER_BROKER, &header),
                );
                async move {
                    if let Err(e) = client.invoke(&addr, cmd, Duration::from_secs(3)).await {
                        tracing::warn!(namesrv = %addr, error = %e, "unregistering failed");
                    }
                }
            })
            .collect();
        Box::pin(async move {
            join_all(calls).await;
            client.close_all();
        })
    }
}
