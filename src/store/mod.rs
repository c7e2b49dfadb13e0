//! The storage engine, plain Rust with no actors, in Apache RocketMQ's on-disk layout:
//! `storePathRootDir/{commitlog,consumequeue/TOPIC/QUEUEID,index,checkpoint,abort}`.
//! The actors in `actors/broker/store/` own its pieces; readers use the read-only views the
//! pieces hand out, bounded by atomic watermarks. Record bytes are encoded and decoded by
//! `protocol::message`; the store imports `protocol`, never the reverse.

pub mod checkpoint;
pub mod commit_log;
pub mod config;
pub mod consume_queue;
pub mod disk_space;
pub mod error;
pub mod get_message;
pub mod group_commit;
pub mod index;
pub mod mapped_file;
pub mod mapped_file_queue;
pub mod message_store;
pub mod poison;
pub mod schedule;
pub mod timer;
pub mod transaction;

pub use error::{StoreError, StoreResult};
