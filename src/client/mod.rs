//! The Rust client: a [`ClientInstance`](instance::ClientInstance) per process caching
//! routes and heartbeating brokers, a [`Producer`](producer::Producer), messages, and the
//! queue allocation strategies consumers rebalance with. It depends only on `protocol` and
//! the plain-tokio `remoting_client`, so it builds without actix
//! (`--no-default-features --features client`).

pub mod admin;
pub mod allocate;
pub mod consumer;
pub mod error;
pub mod instance;
pub mod lite_pull;
pub mod message;
pub mod offset_store;
pub mod producer;
pub mod running_info;
pub mod transaction;

pub use admin::AdminClient;
pub use consumer::{
    ConsumeFromWhere, ConsumeResult, MessageListener, MessageModel, PushConsumer,
    PushConsumerConfig,
};
pub use error::{ClientError, ClientResult};
pub use instance::{ClientConfig, ClientInstance};
pub use lite_pull::LitePullConsumer;
pub use message::{Message, MessageExt};
pub use producer::{HashSelector, Producer, ProducerConfig, QueueSelector, SendResult, SendStatus};
pub use transaction::{
    TransactionListener, TransactionProducer, TransactionSendResult, TransactionState,
};
