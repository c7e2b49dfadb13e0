//! Broker request processing: one file per request family, one registry line per request
//! code. [`BrokerProcessor`] looks a code up and runs its handler; a handler's error
//! becomes a response in one place ([`ServiceError::into_response`](crate::actors::error::ServiceError::into_response)).

mod admin;
mod broker_admin;
mod client;
mod group_admin;
mod lock;
mod offset;
mod plugin;
mod producer_admin;
mod pull;
mod query;
mod replication;
mod send;
mod transaction;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::config::BrokerConfig;
use super::features::pull_hold::PullHold;
use super::meta::clients::{ClientManager, ConnectionClosed, ConsumerViews, ProducerCounts};
use super::meta::consumer_filter::ConsumerFilters;
use super::meta::consumer_offsets::ConsumerOffsets;
use super::meta::queue_locks::QueueLockManager;
use super::meta::stats::{BrokerStats, DailyMarks, PutLatency};
use super::meta::subscription_group::{GroupView, SubscriptionGroupManager};
use super::meta::topic_config::{TopicConfigManager, TopicView};
use super::store::StoreHandle;
use crate::actors::dispatch::{DispatchContext, Handlers, Registry};
use crate::actors::metrics::MetricsRegistry;
use crate::actors::remoting::ConnectionInfo;
use crate::actors::runtime::Mailbox;
use crate::protocol::code::request;
use crate::protocol::message::UniqIdGenerator;

/// Everything a broker request handler can reach.
pub struct BrokerContext {
    pub config: Arc<BrokerConfig>,
    pub store: StoreHandle,
    pub topics: Arc<TopicView>,
    pub topic_manager: Mailbox<TopicConfigManager>,
    pub groups: Arc<GroupView>,
    pub group_manager: Mailbox<SubscriptionGroupManager>,
    pub offsets: Arc<ConsumerOffsets>,
    pub clients: Mailbox<ClientManager>,
    pub consumers: ConsumerViews,
    /// Producer connections by language and version (for `/metrics`).
    pub producer_counts: ProducerCounts,
    /// Compiled SQL92 selectors per topic and group, registered by heartbeats.
    pub consumer_filters: Arc<ConsumerFilters>,
    pub pull_hold: Mailbox<PullHold>,
    pub queue_locks: Mailbox<QueueLockManager>,
    pub schedule: Mailbox<super::schedule::ScheduleService>,
    /// brokerIP1:listenPort, written into stored messages and offset message ids.
    pub store_host: SocketAddr,
    pub uniq_ids: Arc<Mutex<UniqIdGenerator>>,
    /// Send hooks and notices of the running plug-ins.
    pub plugins: Arc<super::plugins::Plugins>,
    pub registry: Arc<MetricsRegistry>,
    pub started: Instant,
    /// BrokerStatsManager's counters (VIEW_BROKER_STATS_DATA, runtime TPS).
    pub stats: Arc<BrokerStats>,
    /// Store latencies in StoreStatsService's buckets.
    pub send_latency: PutLatency,
    /// Put and get totals at the last two midnights (recorded by [`record_midnights`]).
    pub daily: Mutex<DailyMarks>,
    /// Settings recorded by UPDATE_BROKER_CONFIG, shown by GET_BROKER_CONFIG.
    pub config_overrides: Mutex<BTreeMap<String, String>>,
}

pub(crate) use crate::actors::dispatch::Reply;

/// A refusal with a RocketMQ response code and remark, for the handlers.
fn refuse(code: i32, remark: impl Into<String>) -> crate::actors::error::ServiceError {
    crate::actors::error::ServiceError::refused(code, remark)
}

/// Every request code this server answers, one line each.
#[rustfmt::skip]
fn registry() -> Registry<BrokerContext> {
    Registry::new()
        .on(request::SEND_MESSAGE, send::send_message)
        .on(request::SEND_MESSAGE_V2, send::send_message)
        .on(request::SEND_BATCH_MESSAGE, send::send_message)
        .on(request::CONSUMER_SEND_MSG_BACK, send::consumer_send_msg_back)
        .on(request::GET_ALL_DELAY_OFFSET, admin::get_all_delay_offset)
        .on(request::END_TRANSACTION, transaction::end_transaction)
        .on(request::PULL_MESSAGE, pull::pull_message)
        .on(request::QUERY_CONSUMER_OFFSET, offset::query_consumer_offset)
        .on(request::UPDATE_CONSUMER_OFFSET, offset::update_consumer_offset)
        .on(request::GET_MAX_OFFSET, offset::get_max_offset)
        .on(request::GET_MIN_OFFSET, offset::get_min_offset)
        .on(request::GET_EARLIEST_MSG_STORETIME, offset::get_earliest_msg_storetime)
        .on(request::SEARCH_OFFSET_BY_TIMESTAMP, offset::search_offset_by_timestamp)
        .on(request::QUERY_MESSAGE, query::query_message)
        .on(request::VIEW_MESSAGE_BY_ID, query::view_message_by_id)
        .on(request::HEART_BEAT, client::heart_beat)
        .on(request::UNREGISTER_CLIENT, client::unregister_client)
        .on(request::CHECK_CLIENT_CONFIG, client::check_client_config)
        .on(request::GET_CONSUMER_LIST_BY_GROUP, client::get_consumer_list_by_group)
        .on(request::UPDATE_AND_CREATE_TOPIC, admin::update_and_create_topic)
        .on(request::DELETE_TOPIC_IN_BROKER, admin::delete_topic)
        .on(request::GET_ALL_TOPIC_CONFIG, admin::get_all_topic_config)
        .on(request::GET_ALL_CONSUMER_OFFSET, replication::get_all_consumer_offset)
        .on(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, admin::update_and_create_subscription_group)
        .on(request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, admin::get_all_subscription_group_config)
        .on(request::GET_BROKER_RUNTIME_INFO, admin::get_broker_runtime_info)
        .on(request::GET_TOPIC_STATS_INFO, admin::get_topic_stats_info)
        .on(request::GET_CONSUME_STATS, admin::get_consume_stats)
        .on(request::GET_BROKER_CONFIG, admin::get_broker_config)
        .on(request::GET_CONSUMER_CONNECTION_LIST, client::get_consumer_connection_list)
        .on(request::QUERY_TOPIC_CONSUME_BY_WHO, group_admin::query_topic_consume_by_who)
        .on(request::DELETE_SUBSCRIPTIONGROUP, group_admin::delete_subscription_group)
        .on(request::GET_BROKER_CONSUME_STATS, group_admin::get_broker_consume_stats)
        .on(request::INVOKE_BROKER_TO_RESET_OFFSET, group_admin::invoke_broker_to_reset_offset)
        .on(request::GET_CONSUMER_RUNNING_INFO, group_admin::get_consumer_running_info)
        .on(request::CONSUME_MESSAGE_DIRECTLY, group_admin::consume_message_directly)
        .on(request::GET_PRODUCER_CONNECTION_LIST, producer_admin::get_producer_connection_list)
        .on(request::GET_ALL_PRODUCER_INFO, producer_admin::get_all_producer_info)
        .on(request::UPDATE_BROKER_CONFIG, broker_admin::update_broker_config)
        .on(request::VIEW_BROKER_STATS_DATA, broker_admin::view_broker_stats_data)
        .on(request::QUERY_CONSUME_QUEUE, broker_admin::query_consume_queue)
        .on(request::LOCK_BATCH_MQ, lock::lock_batch_mq)
        .on(request::UNLOCK_BATCH_MQ, lock::unlock_batch_mq)
}

/// Store time of the message at `offset` of a queue (0 when there is none).
pub fn store_time_at(cx: &BrokerContext, topic: &str, queue_id: i32, offset: i64) -> i64 {
    admin::last_store_time(cx, topic, queue_id, offset)
}

/// Records the put and get totals at every local midnight while the broker runs (Java's
/// `BrokerStats.record`, scheduled the same way); ends when the broker's context is gone.
pub fn record_midnights(cx: &Arc<BrokerContext>) {
    let weak = Arc::downgrade(cx);
    actix::spawn(async move {
        loop {
            tokio::time::sleep(super::meta::stats::until_local_midnight()).await;
            let Some(cx) = weak.upgrade() else { break };
            let (puts, gets) = (
                admin::counter_total(&cx, "rocketmq_messages_in_total"),
                admin::counter_total(&cx, "rocketmq_messages_out_total"),
            );
            match cx.daily.lock() {
                Ok(mut d) => d.record(puts, gets),
                Err(poisoned) => poisoned.into_inner().record(puts, gets),
            };
        }
    });
}

/// The BrokerContext's request processor: its handler table.
pub type BrokerProcessor = Handlers<BrokerContext>;

// The processor is built over the context with the plug-ins' own codes; a code
// registered twice is refused there, at start.
pub use plugin::with_plugins;

impl DispatchContext for BrokerContext {
    fn connection_closed(&self, conn: &ConnectionInfo) {
        // Cleanup must not be lost to a full mailbox; it is bounded by the connection count.
        self.clients.tell_past_capacity(ConnectionClosed(conn.id));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_request_code_is_registered_twice() {
        assert_eq!(super::registry().check(), Ok(()));
    }
}
