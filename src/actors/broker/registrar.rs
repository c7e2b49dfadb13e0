//! Registrar: REGISTER_BROKER with every name server at start, every
//! `registerNameServerPeriod`, and right after topics change; UNREGISTER_BROKER at
//! shutdown. A name server that is down is logged and tried again next period.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::future::join_all;
use futures_util::FutureExt;

use super::config::BrokerConfig;
use super::meta::topic_config::{TopicView, TopicsChanged};
use crate::actors::runtime::{guarded_tick, Supervision};
use crate::protocol::body::register::{
    body_crc32, RegisterBrokerBody, TopicConfigSerializeWrapper,
};
use crate::protocol::code::{request, response};
use crate::protocol::header::namesrv::{
    RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
};
use crate::protocol::RemotingCommand;
use crate::remoting_client::RemotingClient;

const TIMEOUT: Duration = Duration::from_secs(6);

pub struct Registrar {
    sup: Supervision,
    config: Arc<BrokerConfig>,
    topics: Arc<TopicView>,
    client: RemotingClient,
    broker_addr: String,
}

impl Registrar {
    pub fn new(
        sup: Supervision,
        config: Arc<BrokerConfig>,
        topics: Arc<TopicView>,
        broker_addr: String,
    ) -> Self {
        Registrar {
            sup,
            config,
            topics,
            client: RemotingClient::default(),
            broker_addr,
        }
    }

    fn register_all(&self, ctx: &mut Context<Self>) {
        let snapshot = self.topics.snapshot();
        let body = RegisterBrokerBody {
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                topic_config_table: snapshot.topic_config_table.clone(),
                data_version: snapshot.data_version,
            },
            filter_server_list: Vec::new(),
        }
        .encode();
        let c = &self.config;
        let header = RegisterBrokerRequestHeader {
            broker_name: c.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: c.broker_cluster_name.clone(),
            ha_server_addr: format!("{}:{}", c.broker_ip1, c.listen_port.wrapping_add(1)),
            broker_id: c.broker_id,
            heartbeat_timeout_millis: Some(c.channel_expired_timeout as i64),
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: Some(body_crc32(&body)),
        };
        let client = self.client.clone();
        let calls = c.namesrv_addrs().into_iter().map(move |addr| {
            let client = client.clone();
            let cmd = RemotingCommand::request_with(request::REGISTER_BROKER, &header).with_body(body.clone());
            async move {
                match client.invoke(&addr, cmd, TIMEOUT).await {
                    Ok(r) if r.code == response::SUCCESS => tracing::debug!(namesrv = %addr, "registered"),
                    Ok(r) => tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "name server refused the registration"),
                    Err(e) => tracing::warn!(namesrv = %addr, error = %e, "registering with the name server failed"),
                }
            }
        });
        ctx.spawn(join_all(calls).map(|_| ()).into_actor(self));
    }
}

impl Actor for Registrar {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.register_all(ctx);
        let period = Duration::from_millis(self.config.register_name_server_period.max(100));
        ctx.run_interval(period, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded_tick(&metrics, ctx, |ctx| act.register_all(ctx));
        });
    }
}

crate::supervised_actor!(Registrar);

impl Handler<TopicsChanged> for Registrar {
    type Result = ();
    fn handle(&mut self, _: TopicsChanged, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        crate::actors::runtime::guarded(&metrics, ctx, |ctx| self.register_all(ctx));
    }
}

/// UNREGISTER_BROKER with every name server (shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct UnregisterAll;

impl Handler<UnregisterAll> for Registrar {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, _: UnregisterAll, _: &mut Context<Self>) -> Self::Result {
        self.sup.metrics.dequeued();
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
