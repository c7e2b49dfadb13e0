//! The protocol layer's one error type. Every decoder in `protocol/` returns it; the
//! remoting layer turns it into a response code (or a closed connection) in one place,
//! `ProtocolError::response_code`.

use super::code::response;

/// Why bytes from the wire could not become a command, header or body.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The length prefix announces more than the configured maximum frame size; the
    /// connection cannot be resynchronised and is closed before anything is allocated.
    #[error("frame of {announced} bytes exceeds the maximum frame size of {max} bytes")]
    FrameTooLarge { announced: u64, max: usize },
    /// The length prefix is too small to hold even the header-length word.
    #[error("frame length {0} is too small to hold a header word")]
    FrameTooSmall(i64),
    /// The header-length word claims more bytes than the frame carries.
    #[error("header length {header} exceeds the {available} bytes left in the frame")]
    HeaderTooLong { header: usize, available: usize },
    /// The serialize-type byte is neither 0 (JSON) nor 1 (ROCKETMQ).
    #[error("unknown serialize type {0}; expected 0 (JSON) or 1 (ROCKETMQ)")]
    UnknownSerializeType(u8),
    #[error("invalid JSON header: {0}")]
    InvalidJsonHeader(String),
    #[error("invalid ROCKETMQ header: {0}")]
    InvalidBinaryHeader(&'static str),
    #[error("the request header field {0} is missing")]
    MissingField(&'static str),
    #[error("the request header field {field} has an invalid value: {value:?}")]
    InvalidField { field: &'static str, value: String },
    #[error("invalid body: {0}")]
    InvalidBody(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl ProtocolError {
    /// True when the byte stream can no longer be trusted to be aligned on frames, so the
    /// connection must be closed rather than answered.
    pub fn is_fatal_for_connection(&self) -> bool {
        matches!(
            self,
            ProtocolError::FrameTooLarge { .. }
                | ProtocolError::FrameTooSmall(_)
                | ProtocolError::Io(_)
        )
    }

    /// The RocketMQ response code a peer is told when its request fails with this error.
    pub fn response_code(&self) -> i32 {
        match self {
            ProtocolError::MissingField(_) | ProtocolError::InvalidField { .. } => {
                response::INVALID_PARAMETER
            }
            _ => response::SYSTEM_ERROR,
        }
    }
}
