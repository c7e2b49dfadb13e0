//! ClientManager: the producer and consumer tables. Heartbeats register a client's
//! connection in its groups with the consumer's subscriptions; a client silent for
//! `channelExpiredTimeout`, one that unregisters, or one whose connection closes leaves
//! its groups, and the remaining consumers of a group whose membership changed are sent
//! NOTIFY_CONSUMER_IDS_CHANGED so they rebalance. Pulls read subscriptions through a
//! shared view without a hop.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use dashmap::DashMap;

use crate::actors::remoting::connection::Invoke;
use crate::actors::remoting::ConnectionInfo;
use crate::actors::runtime::{guarded, Supervision};
use crate::protocol::body::heartbeat::{HeartbeatData, SubscriptionData};
use crate::protocol::code::request;
use crate::protocol::header::broker::NotifyConsumerIdsChangedRequestHeader;
use crate::protocol::{LanguageCode, RemotingCommand};

/// One client connection in a group.
#[derive(Debug, Clone)]
pub struct ClientChannel {
    pub client_id: String,
    pub conn: ConnectionInfo,
    pub language: LanguageCode,
    pub version: i32,
    pub last_update: Instant,
}

/// What pulls and admin requests read about a consumer group.
#[derive(Debug, Clone, Default)]
pub struct ConsumerGroupView {
    pub consume_type: String,
    pub message_model: String,
    pub consume_from_where: String,
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    /// (client id, client address, language, version), sorted by client id.
    pub clients: Vec<(String, String, LanguageCode, i32)>,
}

/// Consumer groups as pulls see them.
pub type ConsumerViews = Arc<DashMap<String, Arc<ConsumerGroupView>>>;

/// Producer connections (one per group a connection registered in, as RocketMQ counts them)
/// by client language and version, kept as they come and go so `/metrics` reads them
/// without asking the actor.
pub type ProducerCounts = Arc<std::sync::Mutex<BTreeMap<(LanguageCode, i32), i64>>>;

#[derive(Default)]
struct ConsumerGroup {
    consume_type: String,
    message_model: String,
    consume_from_where: String,
    subscriptions: BTreeMap<String, SubscriptionData>,
    channels: HashMap<u64, ClientChannel>,
}

pub struct ClientManager {
    sup: Supervision,
    consumers: HashMap<String, ConsumerGroup>,
    producers: HashMap<String, HashMap<u64, ClientChannel>>,
    views: ConsumerViews,
    producer_counts: ProducerCounts,
    expiry: Duration,
}

impl ClientManager {
    pub fn new(
        sup: Supervision,
        views: ConsumerViews,
        producer_counts: ProducerCounts,
        expiry: Duration,
    ) -> Self {
        ClientManager {
            sup,
            consumers: HashMap::new(),
            producers: HashMap::new(),
            views,
            producer_counts,
            expiry,
        }
    }

    /// Adds `delta` producer connections of `c`'s language and version.
    fn count_producer(&self, c: &ClientChannel, delta: i64) {
        if let Ok(mut counts) = self.producer_counts.lock() {
            let key = (c.language, c.version);
            let n = counts.entry(key).or_default();
            *n += delta;
            if *n <= 0 {
                counts.remove(&key);
            }
        }
    }

    fn publish(&self, group: &str) {
        match self.consumers.get(group) {
            Some(g) if !g.channels.is_empty() => {
                let mut clients: Vec<_> = g
                    .channels
                    .values()
                    .map(|c| {
                        (
                            c.client_id.clone(),
                            c.conn.peer.to_string(),
                            c.language,
                            c.version,
                        )
                    })
                    .collect();
                clients.sort();
                self.views.insert(
                    group.to_owned(),
                    Arc::new(ConsumerGroupView {
                        consume_type: g.consume_type.clone(),
                        message_model: g.message_model.clone(),
                        consume_from_where: g.consume_from_where.clone(),
                        subscriptions: g.subscriptions.clone(),
                        clients,
                    }),
                );
            }
            _ => {
                self.views.remove(group);
            }
        }
    }

    /// NOTIFY_CONSUMER_IDS_CHANGED to every consumer still in `group` (oneway).
    fn notify(&self, group: &str) {
        let Some(g) = self.consumers.get(group) else {
            return;
        };
        for c in g.channels.values() {
            let mut cmd = RemotingCommand::request_with(
                request::NOTIFY_CONSUMER_IDS_CHANGED,
                &NotifyConsumerIdsChangedRequestHeader {
                    consumer_group: group.to_owned(),
                },
            );
            cmd.language = LanguageCode::JAVA;
            cmd.mark_oneway();
            c.conn.addr.do_send(Invoke {
                command: cmd,
                timeout: Duration::from_secs(3),
            });
        }
    }

    fn heartbeat(
        &mut self,
        data: HeartbeatData,
        conn: ConnectionInfo,
        language: LanguageCode,
        version: i32,
    ) -> Vec<String> {
        let now = Instant::now();
        let channel = ClientChannel {
            client_id: data.client_id.clone(),
            conn: conn.clone(),
            language,
            version,
            last_update: now,
        };
        for p in &data.producer_data_set {
            let old = self
                .producers
                .entry(p.group_name.clone())
                .or_default()
                .insert(conn.id, channel.clone());
            if let Some(old) = old {
                self.count_producer(&old, -1);
            }
            self.count_producer(&channel, 1);
        }
        let mut changed = Vec::new();
        for c in data.consumer_data_set {
            let g = self.consumers.entry(c.group_name.clone()).or_default();
            g.consume_type = c.consume_type;
            g.message_model = c.message_model;
            g.consume_from_where = c.consume_from_where;
            let new_member = g.channels.insert(conn.id, channel.clone()).is_none();
            let subs: BTreeMap<String, SubscriptionData> = c
                .subscription_data_set
                .into_iter()
                .map(|s| (s.topic.clone(), s))
                .collect();
            let subs_changed = subs.keys().ne(g.subscriptions.keys());
            g.subscriptions = subs;
            if new_member || subs_changed {
                tracing::info!(group = %c.group_name, client = %data.client_id, new_member, "consumer group changed");
                changed.push(c.group_name.clone());
            }
            self.publish(&c.group_name);
        }
        for group in &changed {
            self.notify(group);
        }
        changed
    }

    fn remove_channel(
        &mut self,
        conn_id: u64,
        only_groups: Option<(&Option<String>, &Option<String>)>,
    ) {
        let mut gone = Vec::new();
        for (name, channels) in self.producers.iter_mut() {
            if only_groups.is_none_or(|(p, _)| p.as_deref() == Some(name.as_str())) {
                gone.extend(channels.remove(&conn_id));
            }
        }
        for c in &gone {
            self.count_producer(c, -1);
        }
        self.producers.retain(|_, c| !c.is_empty());
        let mut changed = Vec::new();
        for (name, g) in self.consumers.iter_mut() {
            if only_groups.is_none_or(|(_, c)| c.as_deref() == Some(name.as_str()))
                && g.channels.remove(&conn_id).is_some()
            {
                changed.push(name.clone());
            }
        }
        self.consumers.retain(|_, g| !g.channels.is_empty());
        for group in changed {
            self.publish(&group);
            self.notify(&group);
        }
    }

    fn scan(&mut self) {
        let now = Instant::now();
        let expired: Vec<u64> = self
            .consumers
            .values()
            .flat_map(|g| g.channels.values())
            .chain(self.producers.values().flat_map(|p| p.values()))
            .filter(|c| now.duration_since(c.last_update) > self.expiry)
            .map(|c| c.conn.id)
            .collect();
        for id in expired {
            tracing::warn!(
                connection = id,
                "client silent past channelExpiredTimeout; removing it"
            );
            self.remove_channel(id, None);
        }
    }
}

impl Actor for ClientManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(
            Duration::from_secs(10)
                .min(self.expiry / 2)
                .max(Duration::from_millis(10)),
            |act, ctx| {
                let metrics = act.sup.metrics.clone();
                guarded(&metrics, ctx, |_| act.scan());
            },
        );
    }
}

crate::supervised_actor!(ClientManager);
crate::admits!(
    ClientManager: Heartbeat,
    Unregister,
    ConnectionClosed,
    ProducerChannel,
    GroupChannels,
    AllProducers
);

/// HEART_BEAT: answers the consumer groups whose membership or subscriptions changed.
#[derive(Message)]
#[rtype(result = "Option<Vec<String>>")]
pub struct Heartbeat {
    pub data: HeartbeatData,
    pub conn: ConnectionInfo,
    pub language: LanguageCode,
    pub version: i32,
}

impl Handler<Heartbeat> for ClientManager {
    type Result = Option<Vec<String>>;
    fn handle(&mut self, m: Heartbeat, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            self.heartbeat(m.data, m.conn, m.language, m.version)
        })
    }
}

/// UNREGISTER_CLIENT.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unregister {
    pub conn_id: u64,
    pub producer_group: Option<String>,
    pub consumer_group: Option<String>,
}

impl Handler<Unregister> for ClientManager {
    type Result = ();
    fn handle(&mut self, m: Unregister, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            self.remove_channel(m.conn_id, Some((&m.producer_group, &m.consumer_group)))
        });
    }
}

/// A connection closed: its clients leave every group.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnectionClosed(pub u64);

impl Handler<ConnectionClosed> for ClientManager {
    type Result = ();
    fn handle(&mut self, m: ConnectionClosed, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| self.remove_channel(m.0, None));
    }
}

/// One live connection of a producer group (transaction check-backs use it).
#[derive(Message)]
#[rtype(result = "Option<ConnectionInfo>")]
pub struct ProducerChannel(pub String);

impl Handler<ProducerChannel> for ClientManager {
    type Result = Option<ConnectionInfo>;
    fn handle(&mut self, m: ProducerChannel, _: &mut Context<Self>) -> Self::Result {
        self.producers
            .get(&m.0)?
            .values()
            .max_by_key(|c| c.last_update)
            .map(|c| c.conn.clone())
    }
}

/// Every live connection of a consumer group (`Consumer`) or a producer group, for the
/// admin requests that list them or forward to them.
#[derive(Message)]
#[rtype(result = "Vec<ClientChannel>")]
pub enum GroupChannels {
    Consumer(String),
    Producer(String),
}

impl Handler<GroupChannels> for ClientManager {
    type Result = Vec<ClientChannel>;
    fn handle(&mut self, m: GroupChannels, _: &mut Context<Self>) -> Self::Result {
        let channels = match &m {
            GroupChannels::Consumer(g) => self.consumers.get(g).map(|g| &g.channels),
            GroupChannels::Producer(g) => self.producers.get(g),
        };
        let mut out: Vec<ClientChannel> = channels
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        out.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        out
    }
}

/// Every producer group with its live connections (GET_ALL_PRODUCER_INFO).
#[derive(Message)]
#[rtype(result = "Vec<(String, Vec<ClientChannel>)>")]
pub struct AllProducers;

impl Handler<AllProducers> for ClientManager {
    type Result = Vec<(String, Vec<ClientChannel>)>;
    fn handle(&mut self, _: AllProducers, _: &mut Context<Self>) -> Self::Result {
        self.producers
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .map(|(g, c)| {
                let mut v: Vec<ClientChannel> = c.values().cloned().collect();
                v.sort_by(|a, b| a.client_id.cmp(&b.client_id));
                (g.clone(), v)
            })
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect()
    }
}
