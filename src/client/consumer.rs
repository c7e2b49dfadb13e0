//! The push consumer: subscribe with tag expressions, rebalance the topic's queues among
//! the group's consumers (clustering) or take them all (broadcasting), pull each queue in
//! its own task with long polling and flow control (pullThresholdForQueue), hand messages
//! to the listener on a bounded number of concurrent consume tasks (consumeThreadMax), and
//! commit offsets (the lowest message still being consumed). A message the listener asks
//! to see again goes back to the broker (CONSUMER_SEND_MSG_BACK), or, if the broker cannot
//! take it back, is sent to `%RETRY%<group>` by this client, as Java's client falls back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::allocate::{AllocateAveragely, AllocateStrategy};
use super::error::{ClientError, ClientResult};
use super::instance::{ClientInstance, ConsumerRegistration};
use super::message::{decode_messages, Message, MessageExt};
use super::offset_store::OffsetStore;
use crate::protocol::body::broker::queue::write_queue_map;
use crate::protocol::body::broker::{
    ConsumerList, LockBatchRequestBody, LockBatchResponseBody, MessageQueue, UnlockBatchRequestBody,
};
use crate::protocol::body::fastjson::{from_json, to_json, Escape, JsonWriter};
use crate::protocol::body::heartbeat::{ConsumerData, SubscriptionData};
use crate::protocol::body::route::TopicRouteData;
use crate::protocol::code::{request, response};
use crate::protocol::flag::{perm, pull_sysflag};
use crate::protocol::header::broker::{
    ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    GetMaxOffsetRequestHeader, PullMessageRequestHeader,
};
use crate::protocol::message::java_string_hash;
use crate::protocol::RemotingCommand;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageModel {
    Clustering,
    Broadcasting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeFromWhere {
    LastOffset,
    FirstOffset,
    /// The first message stored at or after this time (ms since the epoch).
    Timestamp(i64),
}

/// What a listener decides for the messages it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeResult {
    Success,
    /// Concurrent consumers: send the message back to be redelivered later.
    ReconsumeLater,
    /// Orderly consumers: pause the queue a moment and retry this message (RocketMQ's
    /// SUSPEND_CURRENT_QUEUE_A_MOMENT). A concurrent consumer treats it as ReconsumeLater.
    SuspendCurrentQueueAMoment,
}

/// Consumes messages concurrently (RocketMQ's MessageListenerConcurrently).
pub trait MessageListener: Send + Sync + 'static {
    fn consume(&self, msgs: Vec<MessageExt>) -> BoxFuture<'static, ConsumeResult>;
}

impl<F> MessageListener for F
where
    F: Fn(Vec<MessageExt>) -> BoxFuture<'static, ConsumeResult> + Send + Sync + 'static,
{
    fn consume(&self, msgs: Vec<MessageExt>) -> BoxFuture<'static, ConsumeResult> {
        self(msgs)
    }
}

pub struct PushConsumerConfig {
    pub group: String,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub allocate: Arc<dyn AllocateStrategy>,
    pub pull_batch_size: i32,
    pub pull_threshold_for_queue: usize,
    /// Bytes of message bodies a queue may hold unconsumed before its pulls pause (100 MiB).
    pub pull_threshold_size_for_queue: usize,
    pub consume_thread_max: usize,
    pub max_reconsume_times: i32,
    /// Long-polling hold the broker is asked for.
    pub broker_suspend_max: Duration,
    /// Broadcasting offsets live here (one directory per group).
    pub offset_store_dir: PathBuf,
    /// Orderly consumption: each queue is locked at the broker (LOCK_BATCH_MQ, renewed every
    /// `lock_renew_interval`) and its messages are consumed one at a time, in order; a
    /// failed message suspends the queue a moment and is retried, not skipped.
    pub orderly: bool,
    pub lock_renew_interval: Duration,
    /// How long an orderly queue pauses after a failed consume.
    pub suspend_current_queue_time: Duration,
}

impl Default for PushConsumerConfig {
    fn default() -> Self {
        PushConsumerConfig {
            group: "DEFAULT_CONSUMER".into(),
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::LastOffset,
            allocate: Arc::new(AllocateAveragely),
            pull_batch_size: 32,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100 * 1024 * 1024,
            consume_thread_max: 20,
            max_reconsume_times: 16,
            broker_suspend_max: Duration::from_secs(15),
            offset_store_dir: std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(".rocketmq_offsets"),
            orderly: false,
            lock_renew_interval: Duration::from_secs(20),
            suspend_current_queue_time: Duration::from_secs(1),
        }
    }
}

/// A queue being consumed: messages pulled but not yet acknowledged, by queue offset.
struct ProcessQueue {
    /// Queue offset → body size of messages pulled but not yet consumed.
    inflight: Mutex<BTreeMap<i64, usize>>,
    stop: CancellationToken,
}

struct Inner {
    config: PushConsumerConfig,
    client: ClientInstance,
    listener: Arc<dyn MessageListener>,
    subscriptions: Mutex<BTreeMap<String, SubscriptionData>>,
    queues: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    offsets: OffsetStore,
    consume_slots: Arc<Semaphore>,
    stop: CancellationToken,
    started: AtomicBool,
}

#[derive(Clone)]
pub struct PushConsumer {
    inner: Arc<Inner>,
}

fn subscription(topic: &str, expression: &str) -> SubscriptionData {
    let expr = expression.trim();
    let tags: BTreeSet<String> = if expr.is_empty() || expr == "*" {
        BTreeSet::new()
    } else {
        expr.split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    };
    SubscriptionData {
        topic: topic.to_owned(),
        sub_string: if tags.is_empty() {
            "*".into()
        } else {
            expr.to_owned()
        },
        code_set: tags.iter().map(|t| java_string_hash(t)).collect(),
        tags_set: tags,
        sub_version: crate::clock::now_millis(),
        ..Default::default()
    }
}

impl ConsumerRegistration for Inner {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            group_name: self.config.group.clone(),
            consume_type: "CONSUME_PASSIVELY".into(),
            message_model: match self.config.message_model {
                MessageModel::Clustering => "CLUSTERING".into(),
                MessageModel::Broadcasting => "BROADCASTING".into(),
            },
            consume_from_where: match self.config.consume_from_where {
                ConsumeFromWhere::LastOffset => "CONSUME_FROM_LAST_OFFSET".into(),
                ConsumeFromWhere::FirstOffset => "CONSUME_FROM_FIRST_OFFSET".into(),
                ConsumeFromWhere::Timestamp(_) => "CONSUME_FROM_TIMESTAMP".into(),
            },
            subscription_data_set: self
                .subscriptions
                .lock()
                .map(|s| s.values().cloned().collect())
                .unwrap_or_default(),
            unit_mode: false,
        }
    }

    /// The queues held now with what is cached for each, the subscriptions and a few of
    /// Java's `PROP_*` properties, in fastjson's layout (queue objects as map keys).
    fn running_info(&self) -> Option<bytes::Bytes> {
        let queues: BTreeMap<MessageQueue, ProcessQueueInfo> = self
            .queues
            .lock()
            .ok()?
            .iter()
            .map(|(mq, pq)| (mq.clone(), pq.info()))
            .collect();
        let subscriptions: Vec<SubscriptionData> = self
            .subscriptions
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        let properties = BTreeMap::from([
            ("PROP_CLIENT_VERSION", "V4_9_8".to_owned()),
            ("PROP_CONSUME_TYPE", "CONSUME_PASSIVELY".to_owned()),
            ("PROP_CONSUMEORDERLY", self.config.orderly.to_string()),
            (
                "PROP_THREADPOOL_CORE_SIZE",
                self.config.consume_thread_max.to_string(),
            ),
        ]);
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        w.key("mqTable").raw(&write_queue_map(&queues, to_json));
        w.key("properties").raw(&to_json(&properties));
        w.key("statusTable").begin_object().end_object();
        w.key("subscriptionSet").raw(&to_json(&subscriptions));
        w.end_object();
        Some(w.finish())
    }
}

/// What `ConsumerRunningInfo.mqTable` says of one queue (Java's `ProcessQueueInfo`, the
/// members this consumer keeps).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessQueueInfo {
    cached_msg_count: usize,
    cached_msg_min_offset: i64,
    cached_msg_max_offset: i64,
    cached_msg_size_in_mi_b: usize,
    droped: bool,
}

impl ProcessQueue {
    fn info(&self) -> ProcessQueueInfo {
        let inflight = self.inflight.lock().map(|m| m.clone()).unwrap_or_default();
        ProcessQueueInfo {
            cached_msg_count: inflight.len(),
            cached_msg_min_offset: inflight.keys().next().copied().unwrap_or(0),
            cached_msg_max_offset: inflight.keys().next_back().copied().unwrap_or(0),
            cached_msg_size_in_mi_b: inflight.values().sum::<usize>() / (1024 * 1024),
            droped: self.stop.is_cancelled(),
        }
    }
}

impl PushConsumer {
    pub fn new(
        config: PushConsumerConfig,
        client: ClientInstance,
        listener: impl MessageListener,
    ) -> Self {
        let offsets = match config.message_model {
            MessageModel::Clustering => OffsetStore::remote(&config.group),
            MessageModel::Broadcasting => OffsetStore::local(
                config
                    .offset_store_dir
                    .join(client.client_id().replace(['@', '#', ':'], "_")),
                &config.group,
            ),
        };
        let slots = Arc::new(Semaphore::new(config.consume_thread_max.max(1)));
        PushConsumer {
            inner: Arc::new(Inner {
                config,
                client,
                listener: Arc::new(listener),
                subscriptions: Mutex::new(BTreeMap::new()),
                queues: Mutex::new(HashMap::new()),
                offsets,
                consume_slots: slots,
                stop: CancellationToken::new(),
                started: AtomicBool::new(false),
            }),
        }
    }

    /// An SQL92 selector over message properties (Java's `MessageSelector.bySql`),
    /// evaluated by the broker; [`start`](Self::start) asks each broker serving `topic`
    /// with CHECK_CLIENT_CONFIG first and fails if one refuses the expression.
    pub fn subscribe_sql(&self, topic: &str, expression: &str) {
        let mut sub = subscription(topic, "*");
        sub.sub_string = expression.to_owned();
        sub.expression_type = crate::protocol::filter::EXPRESSION_TYPE_SQL92.into();
        if let Ok(mut s) = self.inner.subscriptions.lock() {
            s.insert(topic.to_owned(), sub);
        }
    }

    /// `expression`: `*`, or tags joined by `||`.
    pub fn subscribe(&self, topic: &str, expression: &str) {
        if let Ok(mut s) = self.inner.subscriptions.lock() {
            s.insert(topic.to_owned(), subscription(topic, expression));
        }
    }

    pub async fn start(&self) -> ClientResult<()> {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if self.inner.config.message_model == MessageModel::Clustering {
            self.subscribe(&format!("%RETRY%{}", self.inner.config.group), "*");
        }
        let topics: Vec<String> = self
            .inner
            .subscriptions
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        for t in &topics {
            if let Err(e) = self.inner.client.route(t).await {
                tracing::debug!(topic = %t, error = %e, "no route yet; rebalance retries");
            }
        }
        let selectors: Vec<SubscriptionData> = self
            .inner
            .subscriptions
            .lock()
            .map(|s| s.values().filter(|s| !s.is_tag_type()).cloned().collect())
            .unwrap_or_default();
        for sub in &selectors {
            if let Err(e) = self
                .inner
                .client
                .check_client_in_broker(&self.inner.config.group, sub)
                .await
            {
                self.inner.started.store(false, Ordering::Release);
                return Err(e);
            }
        }
        self.inner
            .client
            .register_consumer(&self.inner.config.group, self.inner.clone());
        self.inner.client.start();
        self.inner.client.heartbeat_all().await;
        let me = self.clone();
        tokio::spawn(async move { me.background().await });
        Ok(())
    }

    async fn background(&self) {
        let signal = self.inner.client.rebalance_signal();
        let mut rebalance = tokio::time::interval(self.inner.client.config().rebalance_interval);
        let mut persist =
            tokio::time::interval(self.inner.client.config().persist_consumer_offset_interval);
        loop {
            tokio::select! {
                _ = self.inner.stop.cancelled() => break,
                _ = rebalance.tick() => self.rebalance().await,
                _ = signal.notified() => self.rebalance().await,
                _ = persist.tick() => self.persist_offsets().await,
            }
        }
    }

    async fn persist_offsets(&self) {
        let queues: Vec<MessageQueue> = self
            .inner
            .queues
            .lock()
            .map(|q| q.keys().cloned().collect())
            .unwrap_or_default();
        self.inner
            .offsets
            .persist(&self.inner.client, &queues)
            .await;
    }

    /// Stops pulling, commits what was consumed, and leaves the group.
    pub async fn shutdown(&self) {
        self.inner.stop.cancel();
        let queues: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .inner
            .queues
            .lock()
            .map(|mut q| q.drain().collect())
            .unwrap_or_default();
        for (_, pq) in &queues {
            pq.stop.cancel();
        }
        let mqs: Vec<MessageQueue> = queues.into_iter().map(|(q, _)| q).collect();
        self.inner.offsets.persist(&self.inner.client, &mqs).await;
        if self.is_orderly_clustering() {
            for q in &mqs {
                self.unlock(q).await;
            }
        }
        self.inner
            .client
            .unregister_consumer(&self.inner.config.group);
        let cmd_for = |addr: &str| {
            (addr.to_owned(), {
                let mut c = RemotingCommand::request(request::UNREGISTER_CLIENT);
                c.put_ext("clientID", self.inner.client.client_id());
                c.put_ext("consumerGroup", self.inner.config.group.clone());
                c
            })
        };
        for addr in self.inner.client.all_masters() {
            let (a, cmd) = cmd_for(&addr);
            let _ = self.inner.client.invoke(&a, cmd).await;
        }
    }

    /// The queues this consumer holds now.
    pub fn assigned(&self) -> BTreeSet<MessageQueue> {
        self.inner
            .queues
            .lock()
            .map(|q| q.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn is_orderly_clustering(&self) -> bool {
        self.inner.config.orderly && self.inner.config.message_model == MessageModel::Clustering
    }

    /// LOCK_BATCH_MQ per broker; answers the queues this client now holds.
    async fn lock(&self, queues: &[MessageQueue]) -> BTreeSet<MessageQueue> {
        let mut locked = BTreeSet::new();
        let mut by_broker: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
        for q in queues {
            by_broker
                .entry(q.broker_name.clone())
                .or_default()
                .insert(q.clone());
        }
        for (broker, mq_set) in by_broker {
            let Some(addr) = self.inner.client.master_addr(&broker) else {
                continue;
            };
            let body = LockBatchRequestBody {
                client_id: self.inner.client.client_id().to_owned(),
                consumer_group: self.inner.config.group.clone(),
                mq_set,
                only_this_broker: false,
            };
            let cmd = RemotingCommand::request(request::LOCK_BATCH_MQ).with_body(to_json(&body));
            match self.inner.client.invoke(&addr, cmd).await {
                Ok(r) if r.code == response::SUCCESS => {
                    if let Ok(b) = from_json::<LockBatchResponseBody>(&r.body) {
                        locked.extend(b.lock_ok_mq_set);
                    }
                }
                Ok(r) => tracing::debug!(code = r.code, remark = ?r.remark, "lock refused"),
                Err(e) => tracing::debug!(error = %e, "lock failed"),
            }
        }
        locked
    }

    async fn unlock(&self, queue: &MessageQueue) {
        let Some(addr) = self.inner.client.master_addr(&queue.broker_name) else {
            return;
        };
        let body = UnlockBatchRequestBody {
            client_id: self.inner.client.client_id().to_owned(),
            consumer_group: self.inner.config.group.clone(),
            mq_set: std::iter::once(queue.clone()).collect(),
            only_this_broker: false,
        };
        let cmd = RemotingCommand::request(request::UNLOCK_BATCH_MQ).with_body(to_json(&body));
        let _ = self.inner.client.invoke(&addr, cmd).await;
    }

    async fn consumer_ids(&self, topic: &str) -> Vec<String> {
        let Ok(route) = self.inner.client.route(topic).await else {
            return Vec::new();
        };
        for b in &route.broker_datas {
            // Any broker of the group knows the consumers (they heartbeat to slaves too),
            // so rebalancing goes on while a master is down.
            let Some(addr) = b
                .broker_addrs
                .get(&0)
                .or_else(|| b.broker_addrs.values().next())
            else {
                continue;
            };
            let cmd = RemotingCommand::request_with(
                request::GET_CONSUMER_LIST_BY_GROUP,
                &GetConsumerListByGroupRequestHeader {
                    consumer_group: self.inner.config.group.clone(),
                },
            );
            if let Ok(r) = self.inner.client.invoke(addr, cmd).await {
                if r.code == response::SUCCESS {
                    if let Ok(list) = from_json::<ConsumerList>(&r.body) {
                        let mut ids = list.consumer_id_list;
                        ids.sort();
                        return ids;
                    }
                }
            }
        }
        Vec::new()
    }

    async fn rebalance(&self) {
        let topics: Vec<String> = self
            .inner
            .subscriptions
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        let mut wanted = BTreeSet::new();
        for topic in &topics {
            let Ok(route) = self.inner.client.fetch_route(topic).await else {
                continue;
            };
            let mut all = read_queues(topic, &route);
            all.sort();
            let mine = match self.inner.config.message_model {
                MessageModel::Broadcasting => all,
                MessageModel::Clustering => {
                    let mut ids = self.consumer_ids(topic).await;
                    if !ids.iter().any(|id| id == self.inner.client.client_id()) {
                        // The broker has not heard from us yet (the route arrived after our
                        // last heartbeat): heartbeat now rather than wait for the next tick.
                        self.inner.client.heartbeat_all().await;
                        ids = self.consumer_ids(topic).await;
                    }
                    self.inner.config.allocate.allocate(
                        &self.inner.config.group,
                        self.inner.client.client_id(),
                        &all,
                        &ids,
                    )
                }
            };
            wanted.extend(mine);
        }
        let current = self.assigned();
        for gone in current.difference(&wanted) {
            let pq = self
                .inner
                .queues
                .lock()
                .ok()
                .and_then(|mut q| q.remove(gone));
            if let Some(pq) = pq {
                pq.stop.cancel();
                self.inner
                    .offsets
                    .persist(&self.inner.client, std::slice::from_ref(gone))
                    .await;
                self.inner.offsets.remove(gone);
                if self.is_orderly_clustering() {
                    self.unlock(gone).await;
                }
                tracing::debug!(queue = ?gone, "queue released in rebalance");
            }
        }
        let new: Vec<MessageQueue> = wanted.difference(&current).cloned().collect();
        // An orderly consumer only consumes queues it holds the broker's lock for; the
        // others are tried again at the next rebalance.
        let startable: Vec<MessageQueue> = if self.is_orderly_clustering() {
            let locked = self.lock(&new).await;
            new.into_iter().filter(|q| locked.contains(q)).collect()
        } else {
            new
        };
        for new in &startable {
            match self.start_offset(new).await {
                Ok(offset) => {
                    let pq = Arc::new(ProcessQueue {
                        inflight: Mutex::new(BTreeMap::new()),
                        stop: self.inner.stop.child_token(),
                    });
                    if let Ok(mut q) = self.inner.queues.lock() {
                        q.insert(new.clone(), pq.clone());
                    }
                    self.inner.offsets.update(new, offset);
                    let (me, mq) = (self.clone(), new.clone());
                    tokio::spawn(async move { me.pull_loop(mq, pq, offset).await });
                }
                Err(e) => tracing::debug!(queue = ?new, error = %e, "cannot start a queue yet"),
            }
        }
    }

    async fn start_offset(&self, mq: &MessageQueue) -> ClientResult<i64> {
        if let Some(o) = self.inner.offsets.read(&self.inner.client, mq).await? {
            if o >= 0 {
                return Ok(o);
            }
        }
        let from_first = mq.topic.starts_with("%RETRY%")
            || self.inner.config.consume_from_where == ConsumeFromWhere::FirstOffset;
        if from_first {
            return Ok(0);
        }
        let addr = self
            .inner
            .client
            .master_addr(&mq.broker_name)
            .ok_or_else(|| ClientError::NoRoute(mq.topic.clone()))?;
        let cmd = match self.inner.config.consume_from_where {
            ConsumeFromWhere::Timestamp(ts) => {
                let mut c = RemotingCommand::request(request::SEARCH_OFFSET_BY_TIMESTAMP);
                c.put_ext("topic", mq.topic.clone());
                c.put_ext("queueId", mq.queue_id.to_string());
                c.put_ext("timestamp", ts.to_string());
                c
            }
            _ => RemotingCommand::request_with(
                request::GET_MAX_OFFSET,
                &GetMaxOffsetRequestHeader {
                    topic: mq.topic.clone(),
                    queue_id: mq.queue_id,
                    committed: None,
                },
            ),
        };
        let r = self.inner.client.invoke(&addr, cmd).await?;
        Ok(r.ext("offset").and_then(|o| o.parse().ok()).unwrap_or(0))
    }

    async fn pull_loop(self, mq: MessageQueue, pq: Arc<ProcessQueue>, mut offset: i64) {
        let sub = self
            .inner
            .subscriptions
            .lock()
            .ok()
            .and_then(|s| s.get(&mq.topic).cloned());
        let Some(sub) = sub else { return };
        let hold = self.inner.config.broker_suspend_max;
        // The broker id this queue is read from next: the broker's suggestWhichBrokerId,
        // or a slave after the one tried could not be reached.
        let mut pull_from = 0i64;
        while !pq.stop.is_cancelled() {
            let (cached, cached_bytes) = pq
                .inflight
                .lock()
                .map(|m| (m.len(), m.values().sum::<usize>()))
                .unwrap_or((0, 0));
            if cached >= self.inner.config.pull_threshold_for_queue
                || cached_bytes >= self.inner.config.pull_threshold_size_for_queue
            {
                tokio::time::sleep(Duration::from_millis(50)).await; // flow control
                continue;
            }
            let Some(addr) = self.inner.client.subscribe_addr(&mq.broker_name, pull_from) else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            let header = PullMessageRequestHeader {
                consumer_group: self.inner.config.group.clone(),
                topic: mq.topic.clone(),
                queue_id: mq.queue_id,
                queue_offset: offset,
                max_msg_nums: self.inner.config.pull_batch_size,
                sys_flag: pull_sysflag::SUSPEND | pull_sysflag::SUBSCRIPTION,
                commit_offset: 0,
                suspend_timeout_millis: hold.as_millis() as i64,
                subscription: Some(sub.sub_string.clone()),
                sub_version: sub.sub_version,
                expression_type: Some(sub.expression_type.clone()),
                ..Default::default()
            };
            let cmd = RemotingCommand::request_with(request::PULL_MESSAGE, &header);
            let pulled = tokio::select! {
                _ = pq.stop.cancelled() => break,
                r = self.inner.client.invoke_timeout(&addr, cmd, hold + Duration::from_secs(15)) => r,
            };
            let r = match pulled {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(queue = ?mq, error = %e, "pull failed; retrying");
                    // The master unreachable: read a slave until a broker suggests otherwise.
                    pull_from = if pull_from == 0 { 1 } else { 0 };
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            pull_from = r
                .ext("suggestWhichBrokerId")
                .and_then(|o| o.parse().ok())
                .unwrap_or(0);
            let next = r
                .ext("nextBeginOffset")
                .and_then(|o| o.parse().ok())
                .unwrap_or(offset);
            match r.code {
                response::SUCCESS => {
                    let msgs: Vec<MessageExt> = decode_messages(&r.body)
                        .into_iter()
                        .filter(|m| {
                            sub.tags_set.is_empty()
                                || m.tags().is_some_and(|t| sub.tags_set.contains(t))
                        })
                        .collect();
                    if let Ok(mut f) = pq.inflight.lock() {
                        for m in &msgs {
                            f.insert(m.queue_offset, m.body.len());
                        }
                    }
                    if self.inner.config.orderly {
                        for m in msgs {
                            if !self.consume_in_order(&mq, &pq, m).await {
                                break;
                            }
                        }
                        if pq.stop.is_cancelled() {
                            break;
                        }
                    } else {
                        for m in msgs {
                            self.dispatch(mq.clone(), pq.clone(), m, next).await;
                        }
                    }
                    offset = next;
                    self.commit_progress(&mq, &pq, offset);
                }
                response::PULL_NOT_FOUND | response::PULL_RETRY_IMMEDIATELY => {
                    offset = next;
                    self.commit_progress(&mq, &pq, offset);
                }
                response::PULL_OFFSET_MOVED => {
                    tracing::warn!(queue = ?mq, from = offset, to = next, "offset moved");
                    offset = next;
                    self.inner.offsets.update(&mq, offset);
                }
                code => {
                    tracing::debug!(queue = ?mq, code, remark = ?r.remark, "pull refused; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Orderly: consume one message, retrying it after a pause until it succeeds (or, past
    /// maxReconsumeTimes, sending it to the DLQ). False when the queue was taken away.
    async fn consume_in_order(
        &self,
        mq: &MessageQueue,
        pq: &ProcessQueue,
        mut msg: MessageExt,
    ) -> bool {
        let offset = msg.queue_offset;
        if let Some(real) = msg.property("RETRY_TOPIC").map(str::to_owned) {
            if msg.topic.starts_with("%RETRY%") {
                msg.topic = real;
            }
        }
        let mut attempts = 0;
        loop {
            if pq.stop.is_cancelled() {
                return false;
            }
            let Ok(_slot) = self.inner.consume_slots.acquire().await else {
                return false;
            };
            let result = self.inner.listener.consume(vec![msg.clone()]).await;
            drop(_slot);
            if result == ConsumeResult::Success {
                break;
            }
            attempts += 1;
            msg.reconsume_times += 1;
            if attempts > self.inner.config.max_reconsume_times {
                if let Err(e) = self.send_back(&msg, mq).await {
                    tracing::warn!(error = %e, "could not move an orderly message to the DLQ; retrying it");
                    continue;
                }
                break;
            }
            tokio::select! {
                _ = pq.stop.cancelled() => return false,
                _ = tokio::time::sleep(self.inner.config.suspend_current_queue_time) => {}
            }
        }
        if let Ok(mut f) = pq.inflight.lock() {
            f.remove(&offset);
        }
        self.commit_progress(mq, pq, offset + 1);
        true
    }

    /// The committed offset: the lowest message still being consumed, or `pulled_to`.
    fn commit_progress(&self, mq: &MessageQueue, pq: &ProcessQueue, pulled_to: i64) {
        let lowest = pq
            .inflight
            .lock()
            .ok()
            .and_then(|f| f.keys().next().copied());
        self.inner.offsets.update(mq, lowest.unwrap_or(pulled_to));
    }

    async fn dispatch(
        &self,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        mut msg: MessageExt,
        pulled_to: i64,
    ) {
        let Ok(permit) = self.inner.consume_slots.clone().acquire_owned().await else {
            return;
        };
        let me = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let offset = msg.queue_offset;
            if let Some(real) = msg.property("RETRY_TOPIC").map(str::to_owned) {
                if msg.topic.starts_with("%RETRY%") {
                    msg.topic = real; // the application sees the topic it subscribed to
                }
            }
            let result = me.inner.listener.consume(vec![msg.clone()]).await;
            if result != ConsumeResult::Success && !pq.stop.is_cancelled() {
                if let Err(e) = me.send_back(&msg, &mq).await {
                    tracing::warn!(error = %e, "could not send a failed message back; it will be redelivered");
                    return; // stays in flight: the offset does not pass it
                }
            }
            if let Ok(mut f) = pq.inflight.lock() {
                f.remove(&offset);
            }
            me.commit_progress(&mq, &pq, pulled_to);
        });
    }

    /// CONSUMER_SEND_MSG_BACK, or (broker refused) a plain send to the retry topic.
    async fn send_back(&self, msg: &MessageExt, mq: &MessageQueue) -> ClientResult<()> {
        let group = &self.inner.config.group;
        let addr = self
            .inner
            .client
            .master_addr(&mq.broker_name)
            .ok_or_else(|| ClientError::NoRoute(mq.topic.clone()))?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: group.clone(),
            delay_level: 0,
            origin_msg_id: Some(msg.msg_id().to_owned()),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: Some(false),
            max_reconsume_times: Some(self.inner.config.max_reconsume_times),
        };
        let cmd = RemotingCommand::request_with(request::CONSUMER_SEND_MSG_BACK, &header);
        if let Ok(r) = self.inner.client.invoke(&addr, cmd).await {
            if r.code == response::SUCCESS {
                return Ok(());
            }
        }
        let times = msg.reconsume_times + 1;
        let retry_topic = if times > self.inner.config.max_reconsume_times {
            format!("%DLQ%{group}")
        } else {
            format!("%RETRY%{group}")
        };
        let mut m = Message::new(retry_topic, msg.body.clone());
        m.properties = msg.properties.clone();
        m.properties.remove("UNIQ_KEY");
        m.properties
            .entry("RETRY_TOPIC".into())
            .or_insert_with(|| msg.topic.clone());
        m.properties
            .entry("ORIGIN_MESSAGE_ID".into())
            .or_insert_with(|| msg.msg_id().to_owned());
        m.properties
            .insert("RECONSUME_TIME".into(), times.to_string());
        m.properties.insert(
            "DELAY".into(),
            (3 + msg.reconsume_times).min(18).to_string(),
        );
        let producer = super::producer::Producer::new(
            super::producer::ProducerConfig {
                group: "CLIENT_INNER_PRODUCER".into(),
                ..Default::default()
            },
            self.inner.client.clone(),
        );
        producer.send_retry(&m, times).await.map(|_| ())
    }
}

/// Read queues of a route, in the route's order (consumers sort before rebalancing).
pub(crate) fn read_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    route
        .queue_datas
        .iter()
        .filter(|q| perm::is_readable(q.perm))
        .flat_map(|q| {
            (0..q.read_queue_nums).map(move |i| MessageQueue::new(topic, q.broker_name.as_str(), i))
        })
        .collect()
}
