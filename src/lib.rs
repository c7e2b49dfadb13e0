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

pub mod actors;
pub mod app;
pub mod bench;
pub mod client;
#[doc(hidden)]
pub mod fuzzing;
pub mod json_file;
pub mod protocol;
pub mod remoting_client;
pub mod store;
