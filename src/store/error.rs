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
    #[error("the store refuses writes after an earlier failure ({0}); restart the broker once the disk is healthy")]
    Poisoned(String),
    #[error(
        "disk full: {used_percent}% of {path} used, writes are refused above {limit_percent}%"
    )]
    DiskFull {
        path: PathBuf,
        used_percent: u32,
        limit_percent: u32,
    },
    #[error("the store is shutting down")]
    ShuttingDown,
    /// The writer fell behind: the request waited past its bound and was not written.
    #[error("[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, {0}")]
    Busy(String),
}

impl StoreError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
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
