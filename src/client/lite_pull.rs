//! The lite pull consumer: the application drives consumption. `assign` queues (or
//! `subscribe` a topic to take all its queues), `poll` for what arrived, `commit` the
//! offsets of what was polled; offsets live on the broker, so a new instance of the group
//! resumes where the last one committed. A topic may be filtered by an SQL92 selector
//! ([`subscribe_sql`](LitePullConsumer::subscribe_sql)), which the broker evaluates on
//! each pull.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::{ClientError, ClientResult};
use super::instance::ClientInstance;
use super::message::{decode_messages, MessageExt};
use super::offset_store::OffsetStore;
use crate::protocol::body::broker::MessageQueue;
use crate::protocol::body::heartbeat::{SubscriptionData, EXPRESSION_TYPE_TAG, SUB_ALL};
use crate::protocol::code::{request, response};
use crate::protocol::filter::EXPRESSION_TYPE_SQL92;
use crate::protocol::flag::pull_sysflag;
use crate::protocol::header::broker::PullMessageRequestHeader;
use crate::protocol::RemotingCommand;

pub struct LitePullConsumer {
    group: String,
    client: ClientInstance,
    offsets: OffsetStore,
    /// Next offset to pull per assigned queue.
    positions: Mutex<BTreeMap<MessageQueue, i64>>,
    /// Offsets of what `poll` returned, committed by `commit`.
    polled: Mutex<BTreeMap<MessageQueue, i64>>,
    /// SQL92 selectors by topic; topics without one take every message.
    selectors: Mutex<BTreeMap<String, SubscriptionData>>,
    pull_batch_size: i32,
}

impl LitePullConsumer {
    pub fn new(group: &str, client: ClientInstance) -> Self {
        client.start();
        LitePullConsumer {
            group: group.to_owned(),
            offsets: OffsetStore::remote(group),
            client,
            positions: Mutex::new(BTreeMap::new()),
            polled: Mutex::new(BTreeMap::new()),
            selectors: Mutex::new(BTreeMap::new()),
            pull_batch_size: 32,
        }
    }

    /// Consumes exactly these queues, from the group's committed offsets (or 0).
    pub async fn assign(&self, queues: BTreeSet<MessageQueue>) -> ClientResult<()> {
        for q in &queues {
            self.client.route(&q.topic).await?;
        }
        let mut start = BTreeMap::new();
        for q in queues {
            let o = self
                .offsets
                .read(&self.client, &q)
                .await?
                .unwrap_or(0)
                .max(0);
            start.insert(q, o);
        }
        if let Ok(mut p) = self.positions.lock() {
            *p = start;
        }
        Ok(())
    }

    /// Consumes every readable queue of `topic`.
    pub async fn subscribe(&self, topic: &str) -> ClientResult<()> {
        let route = self.client.fetch_route(topic).await?;
        self.assign(
            super::consumer::read_queues(topic, &route)
                .into_iter()
                .collect(),
        )
        .await
    }

    /// Consumes every readable queue of `topic`, only the messages whose properties match
    /// the SQL92 `expression`. The brokers are asked first (CHECK_CLIENT_CONFIG), as Java
    /// does, so a bad expression or a broker without property filtering fails here.
    pub async fn subscribe_sql(&self, topic: &str, expression: &str) -> ClientResult<()> {
        let sub = SubscriptionData {
            topic: topic.to_owned(),
            sub_string: expression.to_owned(),
            expression_type: EXPRESSION_TYPE_SQL92.to_owned(),
            ..Default::default()
        };
        self.client
            .check_client_in_broker(&self.group, &sub)
            .await?;
        if let Ok(mut s) = self.selectors.lock() {
            s.insert(topic.to_owned(), sub);
        }
        self.subscribe(topic).await
    }

    /// Moves a queue's position.
    pub fn seek(&self, queue: &MessageQueue, offset: i64) {
        if let Ok(mut p) = self.positions.lock() {
            p.insert(queue.clone(), offset);
        }
    }

    /// Whatever the assigned queues hold past their positions, waiting up to `timeout` for
    /// something to arrive.
    pub async fn poll(&self, timeout: Duration) -> ClientResult<Vec<MessageExt>> {
        let deadline = Instant::now() + timeout;
        loop {
            let positions: Vec<(MessageQueue, i64)> = self
                .positions
                .lock()
                .map(|p| p.iter().map(|(q, o)| (q.clone(), *o)).collect())
                .unwrap_or_default();
            let mut out = Vec::new();
            for (q, offset) in positions {
                let addr = self
                    .client
                    .master_addr(&q.broker_name)
                    .ok_or_else(|| ClientError::NoRoute(q.topic.clone()))?;
                let (subscription, expression_type) = self
                    .selectors
                    .lock()
                    .ok()
                    .and_then(|s| {
                        s.get(&q.topic)
                            .map(|s| (s.sub_string.clone(), s.expression_type.clone()))
                    })
                    .unwrap_or_else(|| (SUB_ALL.to_owned(), EXPRESSION_TYPE_TAG.to_owned()));
                let header = PullMessageRequestHeader {
                    consumer_group: self.group.clone(),
                    topic: q.topic.clone(),
                    queue_id: q.queue_id,
                    queue_offset: offset,
                    max_msg_nums: self.pull_batch_size,
                    sys_flag: pull_sysflag::SUBSCRIPTION,
                    commit_offset: 0,
                    suspend_timeout_millis: 0,
                    subscription: Some(subscription),
                    sub_version: 0,
                    expression_type: Some(expression_type),
                    ..Default::default()
                };
                let r = self
                    .client
                    .invoke(
                        &addr,
                        RemotingCommand::request_with(request::PULL_MESSAGE, &header),
                    )
                    .await?;
                let next = r
                    .ext("nextBeginOffset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(offset);
                if r.code == response::SUCCESS {
                    let msgs = decode_messages(&r.body);
                    if let Ok(mut polled) = self.polled.lock() {
                        polled.insert(q.clone(), next);
                    }
                    out.extend(msgs);
                }
                if matches!(
                    r.code,
                    response::SUCCESS
                        | response::PULL_RETRY_IMMEDIATELY
                        | response::PULL_OFFSET_MOVED
                ) {
                    self.seek(&q, next);
                }
            }
            if !out.is_empty() || Instant::now() >= deadline {
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Commits the offsets of everything polled so far to the brokers.
    pub async fn commit(&self) {
        let polled: Vec<(MessageQueue, i64)> = self
            .polled
            .lock()
            .map(|mut p| std::mem::take(&mut *p).into_iter().collect())
            .unwrap_or_default();
        let queues: Vec<MessageQueue> = polled.iter().map(|(q, _)| q.clone()).collect();
        for (q, o) in polled {
            self.offsets.update(&q, o);
        }
        self.offsets.persist(&self.client, &queues).await;
    }

    pub async fn shutdown(&self) {
        self.client.shutdown().await;
    }
}
