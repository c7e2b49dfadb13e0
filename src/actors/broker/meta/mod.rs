//! The broker's metadata managers: topics (`topics.json`), subscription groups
//! (`subscriptionGroup.json`), consumer offsets (`consumerOffset.json`), the registry of
//! producer and consumer channels fed by HEART_BEAT, the queue locks orderly consumers
//! take, and the consumer groups' compiled SQL92 filters ([`consumer_filter`], in memory
//! only), and the broker statistics ([`stats`], in memory only). Each manager is an actor owning its table and file; processors read the tables
//! through shared views and send changes to the owner.

pub mod clients;
pub mod consumer_filter;
pub mod consumer_offsets;
pub mod queue_locks;
pub mod stats;
pub mod subscription_group;
pub mod topic_config;
