//! Ferrocket: a message broker wire-compatible with Apache RocketMQ, built as a tree of
//! actix actors.
//!
//! - [`protocol`]: wire formats with no I/O (frames, `RemotingCommand`, codes, headers,
//!   JSON bodies with fastjson's quirks).
//! - [`store`]: the storage engine, with no actors.
//! - [`actors`]: the runtime (supervision, bounded mailboxes, metrics), remoting server
//!   and client, and the name-server actors.
//! - [`app`]: process composition shared by the binaries in `src/bin/` (logging, config
//!   files, signals).

#[cfg(feature = "broker")]
pub mod actors;
#[cfg(feature = "broker")]
pub mod app;
#[cfg(feature = "broker")]
pub mod bench;
#[cfg(feature = "client")]
pub mod client;
pub mod clock;
#[cfg(feature = "broker")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "client")]
pub mod json_file;
pub mod protocol;
#[cfg(feature = "client")]
pub mod remoting_client;
#[cfg(feature = "broker")]
pub mod store;
