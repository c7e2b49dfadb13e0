//! Why a message could not be encoded or decoded. The store turns each variant into the
//! `StoreError` variant of the same name, so callers and
//! response codes see what they saw before the message codecs moved into `protocol/`.

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
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
}
