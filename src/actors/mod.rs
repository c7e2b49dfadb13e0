//! Thin actor shells around `protocol/` and `store/`: the runtime (supervision, bounded
//! mailboxes, handler guard), the metrics registry and its HTTP endpoint, remoting server
//! and client, and the name-server actors.

pub mod broker;
pub mod dispatch;
pub mod error;
pub mod http;
pub mod metrics;
pub mod namesrv;
pub mod remoting;
pub mod runtime;

pub use metrics::MetricsRegistry;
pub use runtime::{ActorError, Mailbox};
