//! The wire formats, with no I/O: the frame codec, `RemotingCommand` and its JSON and
//! ROCKETMQ header encodings, every request and response code, typed headers, and the JSON
//! bodies with fastjson's quirks; the message formats ([`message`]: the stored record,
//! properties, message ids, batch bodies), bit flags and permissions ([`flag`]), topic
//! rules ([`topic`]) and the SQL92 message-selector language ([`filter`]), shared by the
//! store, the broker and the client. Bytes enter through [`frame::FrameCodec`] and
//! [`RemotingCommand::decode`]; every decoder returns [`ProtocolError`] instead of
//! panicking, whatever the input.

pub mod body;
pub mod code;
pub mod command;
pub mod error;
pub mod filter;
pub mod flag;
pub mod frame;
pub mod ha;
pub mod header;
pub(crate) mod json_header;
pub mod message;
pub mod topic;

pub use command::{LanguageCode, RemotingCommand, SerializeType};
pub use error::ProtocolError;
pub use frame::FrameCodec;
