//! The store's one error type. The broker maps it to RocketMQ response codes in one place
//! (a send refused for a full disk is SERVICE_NOT_AVAILABLE, an oversized message
//! MESSAGE_ILLEGAL, and so on).

use std::path::PathBuf;

use crate::json_file::JsonFileError;
use crate::protocol::message::MessageError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("corrupt record at offset {offset}: {reason}")]
    Corrupt { offset: i64, reason: String },
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge { size: usize, limit: usize },
    #[error("message properties of {0} bytes exceed the limit of 32767 bytes")]
    PropertiesTooLong(usize),
    #[error("topic of {0} bytes is too long (127 bytes for clients that read 1-byte topic lengths, 32767 at most)")]
    TopicTooLong(usize),
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// The part of the broker that should do this is restarting or stopped, or the
    /// blocking thread running it failed: nothing is wrong with the request, and the same
    /// request can succeed a moment later.
    #[error("{0} is unavailable (restarting or stopped); try again")]
    Unavailable(String),
    #[error("the store refuses writes after an earlier failure ({0}); restart the broker once the disk is healthy")]
    Poisoned(String),
    /// Writes are refused for want of space: above `diskFullRatio`, or a store file could
    /// not be created. `usage` is RocketMQ's "CL: 0.93 CQ: 0.93 INDEX: 0.93".
    #[error("service not available now: the broker's disk is full [{usage}], {reason}")]
    DiskFull { usage: String, reason: String },
    /// A store file could not be created (or backed with blocks) for want of space.
    #[error("no space left to create {path} ({needed} bytes): {source}")]
    NoSpace {
        path: PathBuf,
        needed: u64,
        source: std::io::Error,
    },
    #[error("the store is shutting down")]
    ShuttingDown,
    /// A slave's store takes only what its master replicates (Java's checkStoreStatus).
    #[error(
        "service not available now: this broker is a slave, messages are put to its master only"
    )]
    Slave,
    /// The writer fell behind: the request waited past its bound and was not written.
    #[error("[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, {0}")]
    Busy(String),
}

impl StoreError {
    /// Whether the same request can succeed later, so a caller that retries (the timer
    /// and schedule services re-storing due messages) must keep the message rather than
    /// drop it. The refusals that never change for the same message are not retryable.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            StoreError::InvalidMessage(_)
                | StoreError::MessageTooLarge { .. }
                | StoreError::PropertiesTooLong(_)
                | StoreError::TopicTooLong(_)
                | StoreError::Corrupt { .. }
        )
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    /// An I/O failure that only means the disk is full: refused as unavailable, never
    /// taken for corruption or a failing disk.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::DiskFull { .. } | StoreError::NoSpace { .. } => true,
            StoreError::Io { source, .. } => super::disk_space::is_no_space(source),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Message codec errors keep the variant (and so the message and response code) they had
/// when the codecs lived in the store.
impl From<MessageError> for StoreError {
    fn from(e: MessageError) -> Self {
        match e {
            MessageError::Corrupt { offset, reason } => StoreError::Corrupt { offset, reason },
            MessageError::MessageTooLarge { size, limit } => {
                StoreError::MessageTooLarge { size, limit }
            }
            MessageError::PropertiesTooLong(n) => StoreError::PropertiesTooLong(n),
            MessageError::TopicTooLong(n) => StoreError::TopicTooLong(n),
            MessageError::InvalidMessage(m) => StoreError::InvalidMessage(m),
        }
    }
}

/// A metadata file error reads as it did when `json_file` returned store errors.
impl From<JsonFileError> for StoreError {
    fn from(e: JsonFileError) -> Self {
        match e {
            JsonFileError::Io { path, source } => StoreError::Io { path, source },
            JsonFileError::Unreadable { reason } => StoreError::Corrupt { offset: -1, reason },
        }
    }
}
