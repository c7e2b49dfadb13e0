//! Thin actor shells around `protocol/` and `store/`: the runtime (supervision, bounded
//! mailboxes, handler guard), the metrics registry and its HTTP endpoint, the remoting
//! server, request-code dispatch, the name-server actors and the broker's. (The remoting
//! client is plain tokio and lives in `crate::remoting_client`.)

pub mod broker;
pub mod coalesced_file;
pub mod dispatch;
pub mod envelope;
pub mod error;
pub mod http;
pub mod metrics;
pub mod namesrv;
pub mod panic_guard;
pub mod refusal_log;
pub mod remoting;
pub mod runtime;

pub use metrics::MetricsRegistry;
pub use runtime::{ActorError, Mailbox};
