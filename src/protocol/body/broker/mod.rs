//! The bodies of the broker's own requests and answers (the name server's live beside this
//! module, the HEART_BEAT body in [`super::heartbeat`]):
//!
//! - [`queue`]: [`MessageQueue`], the lock/unlock bodies of orderly consumers, and fastjson's
//!   maps keyed by a queue object;
//! - [`admin`]: consumer lists, group lists, connections, and the statistics tables admin tools
//!   read;
//! - [`group`]: subscription group configs and the table of them (`subscriptionGroup.json`);
//! - [`offset`]: consumer and delay offset tables (`consumerOffset.json`, `delayOffset.json`);
//! - [`pretty`](mod@pretty): the tab-indented layout the Java broker gives its `config/*.json` files.
//!
//! Handlers usually need only the types, re-exported here. Every decoder returns
//! `ProtocolError::InvalidBody` instead of panicking, whatever the input.

pub mod admin;
pub mod group;
pub mod offset;
pub mod pretty;
pub mod queue;

pub use admin::{
    BrokerStatsData, BrokerStatsItem, Connection, ConsumeMessageDirectlyResult, ConsumeStats,
    ConsumerConnection, ConsumerList, ConsumerRunningInfo, GroupList, OffsetWrapper,
    ProducerConnection, ResetOffsetBody, TopicOffset, TopicStatsTable,
};
pub use group::{
    CustomizedRetryPolicy, ExponentialRetryPolicy, GroupRetryPolicy, SimpleSubscriptionData,
    SubscriptionGroupConfig, SubscriptionGroupWrapper,
};
pub use offset::{ConsumerOffsetWrapper, DelayOffsetWrapper};
pub use pretty::pretty;
pub use queue::{
    LockBatchRequestBody, LockBatchResponseBody, MessageQueue, UnlockBatchRequestBody,
};
