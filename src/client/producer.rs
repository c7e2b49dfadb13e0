//! The producer: sync, async (a callback), oneway and batch sends, to a chosen queue or
//! through a [`QueueSelector`], with RocketMQ's defaults (sendMsgTimeout 3 s,
//! retryTimesWhenSendFailed 2 on another broker, zlib above 4 KiB) and unique ids. A topic
//! unknown to the name server is sent through TBW102's brokers, which create it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::DashMap;

use super::error::{ClientError, ClientResult};
use super::instance::ClientInstance;
use super::message::{deflate, Message};
use crate::clock::now_millis;
use crate::protocol::body::broker::MessageQueue;
use crate::protocol::body::route::TopicRouteData;
use crate::protocol::code::{request, response};
use crate::protocol::flag::perm;
use crate::protocol::flag::sysflag;
use crate::protocol::header::broker::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
use crate::protocol::message::{encode_batch, BatchItem, UniqIdGenerator};
use crate::protocol::RemotingCommand;

/// How a send ended, when it reached a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    SendOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
}

#[derive(Debug, Clone)]
pub struct SendResult {
    pub status: SendStatus,
    /// The UNIQ_KEY (comma-joined for a batch).
    pub msg_id: String,
    /// The offset message id(s) the broker assigned.
    pub offset_msg_id: String,
    pub queue: MessageQueue,
    pub queue_offset: i64,
}

/// Picks a queue for a message (ordered messages pick by key).
pub trait QueueSelector: Send + Sync {
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &str) -> Option<MessageQueue>;
}

/// Java's SelectMessageQueueByHash: `abs(arg.hashCode()) % n`.
pub struct HashSelector;

impl QueueSelector for HashSelector {
    fn select(&self, queues: &[MessageQueue], _: &Message, arg: &str) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        let h = crate::protocol::message::java_string_hash(arg).unsigned_abs() as usize;
        queues.get(h % queues.len()).cloned()
    }
}

#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub group: String,
    pub send_msg_timeout: Duration,
    pub retry_times_when_send_failed: usize,
    pub compress_msg_body_over_howmuch: usize,
    pub default_topic_queue_nums: i32,
    pub create_topic_key: String,
    /// Avoid brokers that were slow or failing (RocketMQ's sendLatencyFaultEnable).
    pub send_latency_fault_enable: bool,
    /// Retry on another broker when a send was stored but not confirmed durable
    /// (FLUSH_DISK_TIMEOUT and the like; RocketMQ's retryAnotherBrokerWhenNotStoreOK).
    pub retry_another_broker_when_not_store_ok: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            group: "DEFAULT_PRODUCER".into(),
            send_msg_timeout: Duration::from_secs(3),
            retry_times_when_send_failed: 2,
            compress_msg_body_over_howmuch: 4096,
            default_topic_queue_nums: 4,
            create_topic_key: "TBW102".into(),
            send_latency_fault_enable: false,
            retry_another_broker_when_not_store_ok: false,
        }
    }
}

/// Latency-based fault avoidance: a broker that answered slowly, or failed, is avoided for a
/// while (RocketMQ's MQFaultStrategy: latencies 50/100/550/1000/2000/3000/15000 ms earn
/// 0/0/30/60/120/180/600 s; a failure earns 30 s).
#[derive(Default)]
pub struct LatencyFaults {
    until: Mutex<std::collections::HashMap<String, Instant>>,
}

const LATENCY_MAX_MS: [u64; 7] = [50, 100, 550, 1000, 2000, 3000, 15000];
const NOT_AVAILABLE_MS: [u64; 7] = [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000];

impl LatencyFaults {
    /// Records a send's latency (`None`: it failed).
    pub fn record(&self, broker: &str, latency: Option<Duration>) {
        let pause = match latency {
            None => Duration::from_secs(30),
            Some(l) => {
                let ms = l.as_millis() as u64;
                let i = LATENCY_MAX_MS.iter().rposition(|max| ms >= *max);
                Duration::from_millis(i.map(|i| NOT_AVAILABLE_MS[i]).unwrap_or(0))
            }
        };
        if let Ok(mut u) = self.until.lock() {
            u.insert(broker.to_owned(), Instant::now() + pause);
        }
    }

    pub fn is_available(&self, broker: &str) -> bool {
        self.until
            .lock()
            .map(|u| u.get(broker).is_none_or(|t| Instant::now() >= *t))
            .unwrap_or(true)
    }
}

pub struct Producer {
    /// Write queues per topic, rebuilt only when the cached route changes (a topic such as
    /// BenchmarkTest has 1024 queues: building them per send dominated the send's cost).
    publish: DashMap<String, PublishInfo>,
    faults: LatencyFaults,
    config: ProducerConfig,
    client: ClientInstance,
    uniq: Mutex<UniqIdGenerator>,
    turn: AtomicUsize,
}

/// A topic's write queues, for the route they were built from.
#[derive(Clone)]
struct PublishInfo {
    route: Arc<TopicRouteData>,
    queues: Arc<Vec<MessageQueue>>,
    via_template: bool,
}

/// Write queues of a route, in RocketMQ's order.
pub fn write_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut qs: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|q| perm::is_writeable(q.perm))
        .flat_map(|q| {
            (0..q.write_queue_nums)
                .map(move |i| MessageQueue::new(topic, q.broker_name.as_str(), i))
        })
        .collect();
    qs.sort();
    qs
}

impl Producer {
    pub fn new(config: ProducerConfig, client: ClientInstance) -> Self {
        let ip = client
            .config()
            .client_ip
            .parse()
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        Producer {
            publish: DashMap::new(),
            faults: LatencyFaults::default(),
            config,
            client,
            uniq: Mutex::new(UniqIdGenerator::new(ip)),
            turn: AtomicUsize::new(0),
        }
    }

    pub fn start(&self) {
        self.client.register_producer(&self.config.group);
        self.client.start();
    }

    pub async fn shutdown(&self) {
        self.client.shutdown().await;
    }

    /// The queues a topic can be written to; for a topic the name servers do not know,
    /// TBW102's queues (the broker creates the topic on the first send).
    pub async fn queues(&self, topic: &str) -> ClientResult<(Arc<Vec<MessageQueue>>, bool)> {
        let (route, via_template) = match self.client.route(topic).await {
            Ok(route) => (route, false),
            Err(ClientError::NoRoute(_)) => (
                self.client.route(&self.config.create_topic_key).await?,
                true,
            ),
            Err(e) => return Err(e),
        };
        if let Some(p) = self.publish.get(topic) {
            if Arc::ptr_eq(&p.route, &route) && p.via_template == via_template {
                return Ok((p.queues.clone(), via_template));
            }
        }
        let mut qs = write_queues(topic, &route);
        if via_template {
            qs.retain(|q| q.queue_id < self.config.default_topic_queue_nums);
        }
        let queues = Arc::new(qs);
        self.publish.insert(
            topic.to_owned(),
            PublishInfo {
                route,
                queues: queues.clone(),
                via_template,
            },
        );
        Ok((queues, via_template))
    }

    fn prepare(&self, msg: &Message) -> ClientResult<(Message, String)> {
        crate::protocol::topic::validate_topic(&msg.topic).map_err(ClientError::InvalidMessage)?;
        if msg.body.is_empty() {
            return Err(ClientError::InvalidMessage(
                "the message body is empty".into(),
            ));
        }
        let mut m = msg.clone();
        let id = match m.properties.get("UNIQ_KEY") {
            Some(id) => id.clone(),
            None => {
                let id = self
                    .uniq
                    .lock()
                    .map(|mut g| g.next(now_millis()))
                    .unwrap_or_default();
                m.properties.insert("UNIQ_KEY".into(), id.clone());
                id
            }
        };
        m.properties
            .entry("WAIT".into())
            .or_insert_with(|| "true".into());
        Ok((m, id))
    }

    #[allow(clippy::too_many_arguments)]
    fn command(
        &self,
        m: &Message,
        queue: &MessageQueue,
        via_template: bool,
        batch: bool,
        body: Bytes,
        sys_flag: i32,
        reconsume_times: i32,
    ) -> RemotingCommand {
        let header = SendMessageRequestHeader {
            producer_group: self.config.group.clone(),
            topic: m.topic.clone(),
            default_topic: self.config.create_topic_key.clone(),
            default_topic_queue_nums: self.config.default_topic_queue_nums,
            queue_id: queue.queue_id,
            sys_flag,
            born_timestamp: now_millis(),
            flag: m.flag,
            properties: Some(m.properties_string()),
            reconsume_times: Some(reconsume_times),
            max_reconsume_times: Some(16),
            unit_mode: Some(false),
            batch: Some(batch),
            ..Default::default()
        };
        let _ = via_template;
        let code = if batch {
            request::SEND_BATCH_MESSAGE
        } else {
            request::SEND_MESSAGE_V2
        };
        RemotingCommand::request_with(code, &SendMessageRequestHeaderV2::from(header))
            .with_body(body)
    }

    async fn send_once(
        &self,
        cmd: RemotingCommand,
        queue: &MessageQueue,
        msg_id: &str,
        timeout: Duration,
    ) -> ClientResult<SendResult> {
        let addr = self
            .client
            .master_addr(&queue.broker_name)
            .ok_or_else(|| ClientError::NoRoute(queue.topic.clone()))?;
        let r = self.client.invoke_timeout(&addr, cmd, timeout).await?;
        let status = match r.code {
            response::SUCCESS => SendStatus::SendOk,
            response::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            response::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            response::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            code => return Err(ClientError::broker(code, r.remark)),
        };
        Ok(SendResult {
            status,
            msg_id: msg_id.to_owned(),
            offset_msg_id: r.ext("msgId").unwrap_or_default().to_owned(),
            queue: MessageQueue::new(
                &queue.topic,
                queue.broker_name.as_str(),
                r.ext("queueId")
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(queue.queue_id),
            ),
            queue_offset: r
                .ext("queueOffset")
                .and_then(|q| q.parse().ok())
                .unwrap_or(-1),
        })
    }

    /// Sends and waits for the broker's answer, retrying on another broker (up to
    /// `retryTimesWhenSendFailed` more times) when the failure is worth it.
    pub async fn send(&self, msg: &Message) -> ClientResult<SendResult> {
        self.send_inner(msg, 0, 0).await
    }

    /// A transactional half message: PREPARED in the sysflag.
    pub(crate) async fn send_prepared(&self, msg: &Message) -> ClientResult<SendResult> {
        self.send_inner(msg, 0, sysflag::TRANSACTION_PREPARED_TYPE)
            .await
    }

    /// A consumer's fallback when the broker cannot take a failed message back: resend it
    /// to the retry topic carrying how often it was consumed.
    pub(crate) async fn send_retry(
        &self,
        msg: &Message,
        reconsume_times: i32,
    ) -> ClientResult<SendResult> {
        self.send_inner(msg, reconsume_times, 0).await
    }

    async fn send_inner(
        &self,
        msg: &Message,
        reconsume_times: i32,
        extra_sys_flag: i32,
    ) -> ClientResult<SendResult> {
        let (m, id) = self.prepare(msg)?;
        let (body, sys_flag) = self.body_of(&m);
        let sys_flag = sys_flag | extra_sys_flag;
        let deadline = Instant::now() + self.config.send_msg_timeout;
        let attempts = 1 + self.config.retry_times_when_send_failed;
        let mut last_broker: Option<String> = None;
        let mut last_err = ClientError::NoRoute(m.topic.clone());
        for attempt in 0..attempts {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let (queues, via_template) = match self.queues(&m.topic).await {
                Ok(q) if !q.0.is_empty() => q,
                Ok(_) => return Err(ClientError::NoRoute(m.topic.clone())),
                Err(e) => return Err(e),
            };
            let queue = self.pick(&queues, last_broker.as_deref());
            let cmd = self.command(
                &m,
                &queue,
                via_template,
                false,
                body.clone(),
                sys_flag,
                reconsume_times,
            );
            let started = Instant::now();
            let sent = self.send_once(cmd, &queue, &id, left).await;
            if self.config.send_latency_fault_enable {
                let latency = sent.as_ref().ok().map(|_| started.elapsed());
                self.faults.record(&queue.broker_name, latency);
            }
            match sent {
                Ok(r)
                    if r.status != SendStatus::SendOk
                        && self.config.retry_another_broker_when_not_store_ok
                        && attempt + 1 < attempts =>
                {
                    last_broker = Some(queue.broker_name.clone());
                    last_err = ClientError::Broker {
                        code: response::FLUSH_DISK_TIMEOUT,
                        remark: format!("{:?}", r.status),
                    };
                }
                Ok(r) => {
                    if via_template {
                        // The broker created the topic; learn its real route next time.
                        let _ = self.client.fetch_route(&m.topic).await;
                    }
                    return Ok(r);
                }
                Err(e) if e.is_retriable() && attempt + 1 < attempts => {
                    tracing::debug!(topic = %m.topic, broker = %queue.broker_name, error = %e, "send failed; retrying on another broker");
                    last_broker = Some(queue.broker_name.clone());
                    last_err = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(ClientError::RetriesExhausted {
            topic: m.topic.clone(),
            attempts,
            last: Box::new(last_err),
        })
    }

    /// Sends without waiting; `callback` gets the outcome.
    pub fn send_async(
        self: &Arc<Self>,
        msg: Message,
        callback: impl FnOnce(ClientResult<SendResult>) + Send + 'static,
    ) {
        let me = self.clone();
        tokio::spawn(async move { callback(me.send(&msg).await) });
    }

    /// Sends with the oneway flag: no answer, no retry.
    pub async fn send_oneway(&self, msg: &Message) -> ClientResult<()> {
        let (m, _) = self.prepare(msg)?;
        let (queues, via_template) = self.queues(&m.topic).await?;
        let queue = self.pick(&queues, None);
        let (body, sys_flag) = self.body_of(&m);
        let cmd = self.command(&m, &queue, via_template, false, body, sys_flag, 0);
        let addr = self
            .client
            .master_addr(&queue.broker_name)
            .ok_or_else(|| ClientError::NoRoute(m.topic.clone()))?;
        self.client.invoke_oneway(&addr, cmd).await
    }

    /// Sends to one queue (no retry elsewhere: the queue was chosen on purpose).
    pub async fn send_to_queue(
        &self,
        msg: &Message,
        queue: &MessageQueue,
    ) -> ClientResult<SendResult> {
        let (m, id) = self.prepare(msg)?;
        let (body, sys_flag) = self.body_of(&m);
        let cmd = self.command(&m, queue, false, false, body, sys_flag, 0);
        self.send_once(cmd, queue, &id, self.config.send_msg_timeout)
            .await
    }

    /// Sends to the queue `selector` picks for `arg` (e.g. an order id with [`HashSelector`]).
    pub async fn send_with_selector(
        &self,
        msg: &Message,
        selector: &dyn QueueSelector,
        arg: &str,
    ) -> ClientResult<SendResult> {
        let (queues, _) = self.queues(&msg.topic).await?;
        let queue = selector
            .select(&queues, msg, arg)
            .ok_or_else(|| ClientError::NoRoute(msg.topic.clone()))?;
        self.send_to_queue(msg, &queue).await
    }

    /// Sends several messages of one topic as one batch (stored as consecutive records).
    pub async fn send_batch(&self, msgs: &[Message]) -> ClientResult<SendResult> {
        let first = msgs
            .first()
            .ok_or_else(|| ClientError::InvalidMessage("an empty batch".into()))?;
        if msgs.iter().any(|m| m.topic != first.topic) {
            return Err(ClientError::InvalidMessage(
                "a batch holds one topic".into(),
            ));
        }
        if msgs.iter().any(|m| m.properties.contains_key("DELAY"))
            || first.topic.starts_with("%RETRY%")
        {
            return Err(ClientError::InvalidMessage(
                "batches support neither delays nor retry topics".into(),
            ));
        }
        let mut ids = Vec::with_capacity(msgs.len());
        let mut items = Vec::with_capacity(msgs.len());
        for m in msgs {
            let (p, id) = self.prepare(m)?;
            ids.push(id);
            items.push(BatchItem {
                flag: p.flag,
                body: p.body.clone(),
                properties: p.properties_string(),
            });
        }
        let (queues, via_template) = self.queues(&first.topic).await?;
        let queue = self.pick(&queues, None);
        let mut header_msg = Message::new(first.topic.clone(), Bytes::new());
        header_msg.properties.insert("WAIT".into(), "true".into());
        let cmd = self.command(
            &header_msg,
            &queue,
            via_template,
            true,
            encode_batch(&items),
            0,
            0,
        );
        self.send_once(cmd, &queue, &ids.join(","), self.config.send_msg_timeout)
            .await
    }

    fn body_of(&self, m: &Message) -> (Bytes, i32) {
        if m.body.len() > self.config.compress_msg_body_over_howmuch {
            if let Some(z) = deflate(&m.body) {
                return (z, sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB_TYPE);
            }
        }
        (m.body.clone(), 0)
    }

    /// Round-robin over queues, avoiding the broker that just failed when there is another.
    fn pick(&self, queues: &[MessageQueue], avoid: Option<&str>) -> MessageQueue {
        let n = queues.len().max(1);
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        let usable = |q: &MessageQueue| {
            Some(q.broker_name.as_str()) != avoid
                && (!self.config.send_latency_fault_enable
                    || self.faults.is_available(&q.broker_name))
        };
        (0..n)
            .map(|i| &queues[(start + i) % n])
            .find(|q| usable(q))
            .or_else(|| {
                (0..n)
                    .map(|i| &queues[(start + i) % n])
                    .find(|q| Some(q.broker_name.as_str()) != avoid)
            })
            .unwrap_or(&queues[start % n])
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_and_failing_brokers_are_avoided_for_a_while() {
        let f = LatencyFaults::default();
        f.record("fast", Some(Duration::from_millis(20)));
        f.record("slow", Some(Duration::from_millis(600)));
        f.record("down", None);
        assert!(f.is_available("fast"));
        assert!(!f.is_available("slow"));
        assert!(!f.is_available("down"));
        assert!(f.is_available("unknown"));
    }

    #[test]
    fn the_picker_skips_an_unavailable_broker_while_another_is_usable() {
        let client = ClientInstance::new(Default::default());
        let p = Producer::new(
            ProducerConfig {
                send_latency_fault_enable: true,
                ..Default::default()
            },
            client,
        );
        p.faults.record("b1", None);
        let queues = vec![
            MessageQueue::new("T", "b1", 0),
            MessageQueue::new("T", "b2", 0),
        ];
        for _ in 0..4 {
            assert_eq!(p.pick(&queues, None).broker_name, "b2");
        }
        assert_eq!(
            p.pick(&queues[..1], None).broker_name,
            "b1",
            "with no other broker, use the one there is"
        );
    }
}
