//! The client instance: one per process and name-server set, shared by its producers and
//! consumers (RocketMQ's MQClientInstance). It caches topic routes (refreshed every
//! `pollNameServerInterval`), heartbeats every broker every `heartbeatBrokerInterval` with
//! the groups registered on it, and answers requests brokers send (NOTIFY_CONSUMER_IDS_
//! CHANGED wakes rebalancing). Plain tokio tasks, so it runs in any tokio runtime.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::error::{ClientError, ClientResult};
use crate::protocol::body::fastjson::to_json;
use crate::protocol::body::heartbeat::{
    CheckClientRequestBody, ConsumerData, HeartbeatData, ProducerData, SubscriptionData,
};
use crate::protocol::body::route::TopicRouteData;
use crate::protocol::code::{request, response};
use crate::protocol::header::namesrv::GetRouteInfoRequestHeader;
use crate::protocol::{RemotingCommand, SerializeType};
use crate::remoting_client::ServerRequestHandler;
use crate::remoting_client::{ClientConfig as RemotingConfig, RemotingClient};

/// Client settings; names follow RocketMQ's ClientConfig.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    pub instance_name: String,
    pub client_ip: String,
    pub poll_name_server_interval: Duration,
    pub heartbeat_broker_interval: Duration,
    pub rebalance_interval: Duration,
    pub persist_consumer_offset_interval: Duration,
    pub request_timeout: Duration,
    /// Header encoding of requests (JSON, or ROCKETMQ's binary form as RocketMQ's benchmark
    /// tools send with `-Drocketmq.serialize.type=ROCKETMQ`).
    pub serialize_type: SerializeType,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        ClientConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            instance_name: format!("{}#{}", std::process::id(), nanos),
            client_ip: "127.0.0.1".into(),
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_broker_interval: Duration::from_secs(30),
            rebalance_interval: Duration::from_secs(20),
            persist_consumer_offset_interval: Duration::from_secs(5),
            request_timeout: Duration::from_secs(3),
            serialize_type: SerializeType::Json,
        }
    }
}

/// What a consumer puts into heartbeats, and what it says about itself when a broker
/// relays GET_CONSUMER_RUNNING_INFO (`mqadmin consumerProgress -s`, the dashboard).
pub trait ConsumerRegistration: Send + Sync {
    fn consumer_data(&self) -> ConsumerData;

    /// The `ConsumerRunningInfo` body; `None` when this kind of consumer keeps none.
    fn running_info(&self) -> Option<bytes::Bytes> {
        None
    }
}

/// The consumers of one client instance by group, shared with the handler of broker requests.
type Consumers = Arc<Mutex<BTreeMap<String, Arc<dyn ConsumerRegistration>>>>;

struct Inner {
    config: ClientConfig,
    client_id: String,
    remoting: RemotingClient,
    routes: DashMap<String, Arc<TopicRouteData>>,
    producers: Mutex<BTreeMap<String, ()>>,
    consumers: Consumers,
    /// Woken by NOTIFY_CONSUMER_IDS_CHANGED and when a consumer starts.
    rebalance: Arc<Notify>,
    handlers: Arc<DashMap<i32, BrokerRequestHandler>>,
    stop: CancellationToken,
    started: AtomicBool,
}

/// A cheap-to-clone handle.
#[derive(Clone)]
pub struct ClientInstance {
    inner: Arc<Inner>,
}

/// Handles a oneway request a broker sends (e.g. CHECK_TRANSACTION_STATE); gets the
/// broker's address to answer to.
pub type BrokerRequestHandler =
    Arc<dyn Fn(RemotingCommand, String) -> BoxFuture<'static, ()> + Send + Sync>;

struct BrokerRequests {
    rebalance: Arc<Notify>,
    handlers: Arc<DashMap<i32, BrokerRequestHandler>>,
    consumers: Consumers,
}

impl BrokerRequests {
    /// GET_CONSUMER_RUNNING_INFO, answered as Java's `ClientRemotingProcessor` does.
    fn running_info(&self, req: &RemotingCommand) -> RemotingCommand {
        let group = req.ext("consumerGroup").unwrap_or_default();
        let consumer = self
            .consumers
            .lock()
            .ok()
            .and_then(|c| c.get(group).cloned());
        match consumer.and_then(|c| c.running_info()) {
            Some(body) => RemotingCommand::success().with_body(body),
            None => RemotingCommand::response(
                response::SYSTEM_ERROR,
                Some(format!(
                    "The Consumer Group <{group}> not exist in this consumer"
                )),
            ),
        }
    }
}

impl ServerRequestHandler for BrokerRequests {
    fn handle(
        &self,
        req: RemotingCommand,
        from: &str,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        if req.code == request::NOTIFY_CONSUMER_IDS_CHANGED {
            tracing::debug!(broker = from, group = ?req.ext("consumerGroup"), "consumer ids changed; rebalancing");
            self.rebalance.notify_one();
            return futures_util::future::ready(None).boxed();
        }
        if req.code == request::GET_CONSUMER_RUNNING_INFO {
            return futures_util::future::ready(Some(self.running_info(&req))).boxed();
        }
        if let Some(h) = self.handlers.get(&req.code).map(|h| h.value().clone()) {
            let fut = h(req, from.to_owned());
            return async move {
                fut.await;
                None
            }
            .boxed();
        }
        let answer = RemotingCommand::response(
            response::REQUEST_CODE_NOT_SUPPORTED,
            Some(format!(" request type {} not supported", req.code)),
        );
        futures_util::future::ready(Some(answer)).boxed()
    }
}

impl ClientInstance {
    pub fn new(config: ClientConfig) -> Self {
        let rebalance = Arc::new(Notify::new());
        let handlers: Arc<DashMap<i32, BrokerRequestHandler>> = Arc::new(DashMap::new());
        let consumers: Consumers = Arc::default();
        let handler = Arc::new(BrokerRequests {
            rebalance: rebalance.clone(),
            handlers: handlers.clone(),
            consumers: consumers.clone(),
        });
        let remoting = RemotingClient::new(
            RemotingConfig {
                serialize_type: config.serialize_type,
                ..Default::default()
            },
            Some(handler),
        );
        let client_id = format!("{}@{}", config.client_ip, config.instance_name);
        ClientInstance {
            inner: Arc::new(Inner {
                config,
                client_id,
                remoting,
                routes: DashMap::new(),
                producers: Mutex::new(BTreeMap::new()),
                consumers,
                rebalance,
                handlers,
                stop: CancellationToken::new(),
                started: AtomicBool::new(false),
            }),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub fn rebalance_signal(&self) -> Arc<Notify> {
        self.inner.rebalance.clone()
    }

    pub fn stopped(&self) -> CancellationToken {
        self.inner.stop.clone()
    }

    /// Starts the route-refresh and heartbeat loops (once).
    pub fn start(&self) {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let mut routes = tokio::time::interval(me.inner.config.poll_name_server_interval);
            let mut beats = tokio::time::interval(me.inner.config.heartbeat_broker_interval);
            loop {
                tokio::select! {
                    _ = me.inner.stop.cancelled() => break,
                    _ = routes.tick() => me.refresh_all_routes().await,
                    _ = beats.tick() => me.heartbeat_all().await,
                }
            }
        });
    }

    /// Stops the background tasks and closes the connections once what is queued on them
    /// (oneway sends included) is written, waiting at most 3 s.
    pub async fn shutdown(&self) {
        self.inner.stop.cancel();
        self.inner
            .remoting
            .close_all_flushed(Duration::from_secs(3))
            .await;
    }

    /// Handles requests with `code` that brokers send to this client.
    pub fn register_request_handler(&self, code: i32, handler: BrokerRequestHandler) {
        self.inner.handlers.insert(code, handler);
    }

    pub fn register_producer(&self, group: &str) {
        if let Ok(mut p) = self.inner.producers.lock() {
            p.insert(group.to_owned(), ());
        }
    }

    pub fn register_consumer(&self, group: &str, c: Arc<dyn ConsumerRegistration>) {
        if let Ok(mut m) = self.inner.consumers.lock() {
            m.insert(group.to_owned(), c);
        }
    }

    pub fn unregister_consumer(&self, group: &str) {
        if let Ok(mut m) = self.inner.consumers.lock() {
            m.remove(group);
        }
    }

    fn namesrvs(&self) -> Vec<String> {
        crate::remoting_client::split_addrs(&self.inner.config.namesrv_addr)
    }

    /// Sends a request and checks nothing about the answer.
    pub async fn invoke(&self, addr: &str, cmd: RemotingCommand) -> ClientResult<RemotingCommand> {
        Ok(self
            .inner
            .remoting
            .invoke(addr, cmd, self.inner.config.request_timeout)
            .await?)
    }

    pub async fn invoke_timeout(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> ClientResult<RemotingCommand> {
        Ok(self.inner.remoting.invoke(addr, cmd, timeout).await?)
    }

    pub async fn invoke_oneway(&self, addr: &str, cmd: RemotingCommand) -> ClientResult<()> {
        Ok(self
            .inner
            .remoting
            .invoke_oneway(addr, cmd, self.inner.config.request_timeout)
            .await?)
    }

    /// CHECK_CLIENT_CONFIG with every master serving the subscription's topic, as Java's
    /// `checkClientInBroker` does before a consumer with a non-TAG subscription starts:
    /// a broker that cannot filter by it (or finds the expression bad) fails the start.
    pub async fn check_client_in_broker(
        &self,
        group: &str,
        sub: &SubscriptionData,
    ) -> ClientResult<()> {
        let route = self.route(&sub.topic).await?;
        for broker in &route.broker_datas {
            let Some(addr) = broker.broker_addrs.get(&0) else {
                continue;
            };
            let body = CheckClientRequestBody {
                client_id: self.client_id().to_owned(),
                group: group.to_owned(),
                subscription_data: Some(sub.clone()),
            };
            let cmd =
                RemotingCommand::request(request::CHECK_CLIENT_CONFIG).with_body(to_json(&body));
            let r = self.invoke(addr, cmd).await?;
            if r.code != response::SUCCESS {
                return Err(ClientError::broker(r.code, r.remark));
            }
        }
        Ok(())
    }

    /// Asks the name servers for a topic's route (first that answers wins).
    pub async fn fetch_route(&self, topic: &str) -> ClientResult<Arc<TopicRouteData>> {
        let mut last = ClientError::NoRoute(topic.to_owned());
        for ns in self.namesrvs() {
            let cmd = RemotingCommand::request_with(
                request::GET_ROUTEINFO_BY_TOPIC,
                &GetRouteInfoRequestHeader {
                    topic: topic.to_owned(),
                    accept_standard_json_only: None,
                },
            );
            match self.invoke(&ns, cmd).await {
                Ok(r) if r.code == response::SUCCESS => {
                    let route = Arc::new(TopicRouteData::decode(&r.body)?);
                    self.inner.routes.insert(topic.to_owned(), route.clone());
                    return Ok(route);
                }
                Ok(r) if r.code == response::TOPIC_NOT_EXIST => {
                    last = ClientError::NoRoute(topic.to_owned())
                }
                Ok(r) => last = ClientError::broker(r.code, r.remark),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The cached route, fetched on first use.
    pub async fn route(&self, topic: &str) -> ClientResult<Arc<TopicRouteData>> {
        if let Some(r) = self.inner.routes.get(topic) {
            return Ok(r.value().clone());
        }
        self.fetch_route(topic).await
    }

    async fn refresh_all_routes(&self) {
        let topics: Vec<String> = self.inner.routes.iter().map(|e| e.key().clone()).collect();
        for t in topics {
            if let Err(e) = self.fetch_route(&t).await {
                tracing::debug!(topic = %t, error = %e, "route refresh failed");
            }
        }
    }

    /// The master address of `broker_name` in the cached routes.
    pub fn master_addr(&self, broker_name: &str) -> Option<String> {
        self.inner.routes.iter().find_map(|r| {
            r.broker_datas
                .iter()
                .find(|b| b.broker_name == broker_name)
                .and_then(|b| b.broker_addrs.get(&0).cloned())
        })
    }

    /// Where to read `broker_name` from (Java's findBrokerAddressInSubscribe): broker
    /// `preferred` when the route holds it, else the master, else its lowest-numbered
    /// slave. While a master is down the name server drops it from the route, so reads
    /// and offset commits go to a slave.
    pub fn subscribe_addr(&self, broker_name: &str, preferred: i64) -> Option<String> {
        self.inner.routes.iter().find_map(|r| {
            let b = r
                .broker_datas
                .iter()
                .find(|b| b.broker_name == broker_name)?;
            b.broker_addrs
                .get(&preferred)
                .or_else(|| b.broker_addrs.get(&0))
                .or_else(|| b.broker_addrs.values().next())
                .cloned()
        })
    }

    /// Every master address in the cached routes.
    pub fn all_masters(&self) -> Vec<String> {
        self.all_brokers(false)
    }

    /// Every master address in the cached routes, and every slave's with `slaves`.
    pub fn all_brokers(&self, slaves: bool) -> Vec<String> {
        let mut v: Vec<String> = self
            .inner
            .routes
            .iter()
            .flat_map(|r| {
                r.broker_datas
                    .iter()
                    .flat_map(|b| {
                        b.broker_addrs
                            .iter()
                            .filter(|(id, _)| slaves || **id == 0)
                            .map(|(_, a)| a.clone())
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn heartbeat_data(&self) -> HeartbeatData {
        let producer_data_set = self
            .inner
            .producers
            .lock()
            .map(|p| {
                p.keys()
                    .map(|g| ProducerData {
                        group_name: g.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let consumer_data_set = self
            .inner
            .consumers
            .lock()
            .map(|c| c.values().map(|c| c.consumer_data()).collect())
            .unwrap_or_default();
        HeartbeatData {
            client_id: self.inner.client_id.clone(),
            producer_data_set,
            consumer_data_set,
            ..Default::default()
        }
    }

    /// HEART_BEAT to every master known from the routes, and to slaves too when this
    /// client consumes (as Java's client does: a consumer may read a slave).
    pub async fn heartbeat_all(&self) {
        let data = self.heartbeat_data();
        let to_slaves = !data.consumer_data_set.is_empty();
        let body = to_json(&data);
        for addr in self.all_brokers(to_slaves) {
            let cmd = RemotingCommand::request(request::HEART_BEAT).with_body(body.clone());
            match self.invoke(&addr, cmd).await {
                Ok(r) if r.code == response::SUCCESS => {}
                Ok(r) => {
                    tracing::warn!(broker = %addr, code = r.code, remark = ?r.remark, "heartbeat refused")
                }
                Err(e) => tracing::debug!(broker = %addr, error = %e, "heartbeat failed"),
            }
        }
    }
}
