//! [`PluginHost`]: everything a plug-in may use of the broker, and nothing more — its
//! config, the metrics registry, writing messages (which skip send hooks, so a plug-in
//! writing from a hook cannot loop), reading queues, topic creation and a consumer
//! offset table for its own position.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::super::meta::consumer_offsets::ConsumerOffsets;
use super::super::meta::topic_config::{
    self, EnsureTopic, TopicConfigManager, TopicView, PERM_READ, PERM_WRITE,
};
use super::super::store::commit_log_writer::PutResult;
use super::super::store::{PutError, StoreHandle};
use super::super::BrokerConfig;
use crate::actors::error::ServiceError;
use crate::actors::metrics::MetricsRegistry;
use crate::actors::runtime::Mailbox;
use crate::protocol::code::response;
use crate::protocol::message::{encode_properties, MessageToStore, UniqIdGenerator};
use crate::store::get_message::{GetMessageResult, MessageFilter, TransferLimits};

/// The broker as a plug-in sees it. Cheap to clone; keep one from [`Plugin::attach`](super::Plugin::attach).
#[derive(Clone)]
pub struct PluginHost {
    name: String,
    config: Arc<BrokerConfig>,
    store: StoreHandle,
    topics: Arc<TopicView>,
    topic_manager: Mailbox<TopicConfigManager>,
    offsets: Arc<ConsumerOffsets>,
    registry: Arc<MetricsRegistry>,
    store_host: SocketAddr,
    uniq_ids: Arc<Mutex<UniqIdGenerator>>,
}

/// The parts of the broker a host is made from (built by `BrokerBuilder::start`).
pub struct HostParts {
    pub config: Arc<BrokerConfig>,
    pub store: StoreHandle,
    pub topics: Arc<TopicView>,
    pub topic_manager: Mailbox<TopicConfigManager>,
    pub offsets: Arc<ConsumerOffsets>,
    pub registry: Arc<MetricsRegistry>,
    pub store_host: SocketAddr,
    pub uniq_ids: Arc<Mutex<UniqIdGenerator>>,
}

impl PluginHost {
    pub fn new(p: HostParts) -> Self {
        PluginHost {
            name: String::new(),
            config: p.config,
            store: p.store,
            topics: p.topics,
            topic_manager: p.topic_manager,
            offsets: p.offsets,
            registry: p.registry,
            store_host: p.store_host,
            uniq_ids: p.uniq_ids,
        }
    }

    pub(super) fn for_plugin(&self, name: &str) -> Self {
        PluginHost {
            name: name.to_owned(),
            ..self.clone()
        }
    }

    /// The plug-in's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn broker_config(&self) -> &BrokerConfig {
        &self.config
    }

    pub fn registry(&self) -> &Arc<MetricsRegistry> {
        &self.registry
    }

    /// brokerIP1:listenPort, the store host written into messages.
    pub fn store_host(&self) -> SocketAddr {
        self.store_host
    }

    /// Creates `topic` with `queues` read/write queues if it does not exist.
    pub async fn ensure_topic(&self, topic: &str, queues: i32) -> Result<(), ServiceError> {
        if self.topics.get(topic).is_some() {
            return Ok(());
        }
        let t = topic_config::topic(topic, queues, PERM_READ | PERM_WRITE);
        self.topic_manager
            .ask(EnsureTopic::Exact(t))
            .await??
            .map(|_| ())
            .ok_or_else(|| {
                ServiceError::refused(
                    response::TOPIC_NOT_EXIST,
                    format!("topic[{topic}] not created"),
                )
            })
    }

    /// The read queue count of `topic`, if it exists.
    pub fn queue_nums(&self, topic: &str) -> Option<i32> {
        self.topics.get(topic).map(|t| t.read_queue_nums)
    }

    /// Stores one message (a UNIQ_KEY and CLUSTER are added), without send hooks.
    pub async fn put(
        &self,
        topic: &str,
        queue_id: i32,
        body: Bytes,
        properties: &[(&str, &str)],
    ) -> Result<PutResult, PutError> {
        let uniq = self
            .uniq_ids
            .lock()
            .map(|mut g| g.next(crate::clock::now_millis()))
            .unwrap_or_default();
        let mut props = properties.to_vec();
        props.push(("UNIQ_KEY", &uniq));
        props.push(("CLUSTER", &self.config.broker_cluster_name));
        let msg = MessageToStore {
            topic: topic.to_owned(),
            queue_id,
            flag: 0,
            body,
            properties: encode_properties(props.iter().copied()),
            sys_flag: 0,
            born_timestamp: crate::clock::now_millis(),
            born_host: self.store_host,
            store_host: self.store_host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        self.store.put(vec![msg], false).await
    }

    /// Reads up to `max` messages of a queue from `offset` (lock-free, like a pull).
    pub fn read(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max: usize,
        filter: impl MessageFilter,
    ) -> GetMessageResult {
        let limits = TransferLimits {
            max_msgs: max,
            ..Default::default()
        };
        self.store
            .get_message(topic, queue_id, offset, max, limits, filter)
    }

    /// The (min, max) offsets of a queue.
    pub fn queue_offsets(&self, topic: &str, queue_id: i32) -> (i64, i64) {
        self.store.queue_offsets(topic, queue_id)
    }

    /// Keeps a position in the broker's consumer offsets (consumerOffset.json, persisted
    /// every flushConsumerOffsetInterval and at shutdown) under `group`.
    pub fn commit_offset(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.offsets.commit(group, topic, queue_id, offset);
    }

    /// A position kept with [`commit_offset`](Self::commit_offset).
    pub fn committed_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.offsets.query(group, topic, queue_id)
    }
}
