//! The broker's actors. So far the store tree: CommitLogWriter, FlushService,
//! ReputDispatcher with one ConsumeQueue actor per queue and the IndexService,
//! CheckpointKeeper and FileCleaner, composed by [`store::StoreHandle::start`].

pub mod checkpoint_keeper;
pub mod commit_log_writer;
pub mod consume_queue_actor;
pub mod file_cleaner;
pub mod flush_service;
pub mod index_actor;
pub mod reput_dispatcher;
pub mod store;

pub use store::{PutError, StoreHandle};
