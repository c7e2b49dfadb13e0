//! What the broker tells plug-ins: a send before it is stored ([`BeforeSend`], answered
//! with a [`SendVerdict`]), a send after it is stored ([`AfterStore`]), a pull or offset
//! commit ([`Consumed`]), and a request under one of the plug-in's own codes
//! ([`PluginRequest`]). All are plain data built by the send and pull handlers.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::protocol::message::{property, StoredMessage};
use crate::protocol::RemotingCommand;

/// One message of a send, as the producer sent it (before the broker's rewrites for
/// transactions, delays and timers).
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub flag: i32,
    pub body: Bytes,
    /// The encoded property string (`name\u{1}value\u{2}...`).
    pub properties: String,
}

impl OutgoingMessage {
    pub fn property(&self, key: &str) -> Option<&str> {
        property(&self.properties, key)
    }
}

/// A send about to be stored (one message, or the messages of a batch).
#[derive(Debug, Clone)]
pub struct BeforeSend {
    pub topic: String,
    pub queue_id: i32,
    pub producer_group: String,
    pub born_host: SocketAddr,
    pub messages: Vec<OutgoingMessage>,
}

/// A send hook's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendVerdict {
    /// Store it as sent.
    Pass,
    /// Store it with these properties added to every message of the send.
    Annotate(Vec<(String, String)>),
    /// Do not store it; the producer gets this response code and remark.
    Refuse { code: i32, remark: String },
}

/// RocketMQ's `MessageType`, in its order (the trace format writes the ordinal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Normal = 0,
    TransHalf = 1,
    TransCommit = 2,
    Delay = 3,
}

impl MessageType {
    /// What a message with these properties is, as a producer's trace hook decides it.
    pub fn of(properties: &str) -> MessageType {
        if property(properties, "TRAN_MSG") == Some("true") {
            MessageType::TransHalf
        } else if property(properties, "DELAY").is_some()
            || property(properties, "TIMER_DELAY_SEC").is_some()
            || property(properties, "TIMER_DELAY_MS").is_some()
            || property(properties, "TIMER_DELIVER_MS").is_some()
        {
            MessageType::Delay
        } else {
            MessageType::Normal
        }
    }
}

/// One stored message of a send.
#[derive(Debug, Clone)]
pub struct StoredInfo {
    /// The client message id (UNIQ_KEY).
    pub msg_id: String,
    /// The offset message id (store host + commit-log offset).
    pub offset_msg_id: String,
    pub queue_offset: i64,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub body_len: usize,
    pub msg_type: MessageType,
}

impl StoredInfo {
    /// A message as sent; the offsets are filled in once it is stored.
    pub fn sent(properties: &str, body_len: usize) -> StoredInfo {
        StoredInfo {
            msg_id: property(properties, "UNIQ_KEY")
                .unwrap_or_default()
                .to_owned(),
            offset_msg_id: String::new(),
            queue_offset: -1,
            tags: property(properties, "TAGS").map(str::to_owned),
            keys: property(properties, "KEYS").map(str::to_owned),
            body_len,
            msg_type: MessageType::of(properties),
        }
    }
}

/// A send that was stored.
#[derive(Debug, Clone)]
pub struct AfterStore {
    pub topic: String,
    pub queue_id: i32,
    pub producer_group: String,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    /// When the broker received the send (ms since the epoch).
    pub received_ms: i64,
    /// From receipt to the store's answer.
    pub cost_ms: u64,
    /// The SEND response code (SUCCESS, or FLUSH_DISK_TIMEOUT and the like).
    pub status: i32,
    pub messages: Vec<StoredInfo>,
}

/// One message a pull delivered.
#[derive(Debug, Clone)]
pub struct PulledInfo {
    pub msg_id: String,
    pub offset_msg_id: String,
    pub queue_offset: i64,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub reconsume_times: i32,
    pub store_timestamp: i64,
    pub body_len: usize,
}

impl PulledInfo {
    pub fn of(m: &StoredMessage) -> PulledInfo {
        PulledInfo {
            msg_id: m
                .property("UNIQ_KEY")
                .map(str::to_owned)
                .unwrap_or_else(|| m.msg_id()),
            offset_msg_id: m.msg_id(),
            queue_offset: m.queue_offset,
            tags: m.property("TAGS").map(str::to_owned),
            keys: m.property("KEYS").map(str::to_owned),
            reconsume_times: m.reconsume_times,
            store_timestamp: m.store_timestamp,
            body_len: m.body.len(),
        }
    }
}

/// What a consumer group did.
#[derive(Debug, Clone)]
pub enum Consumed {
    /// A pull delivered these messages.
    Pulled {
        group: String,
        topic: String,
        queue_id: i32,
        client: SocketAddr,
        messages: Vec<PulledInfo>,
    },
    /// The group committed `offset` (everything below it is consumed): from a pull's
    /// commit flag or UPDATE_CONSUMER_OFFSET.
    Committed {
        group: String,
        topic: String,
        queue_id: i32,
        offset: i64,
    },
}

/// A request under one of the plug-in's own codes.
#[derive(Debug)]
pub struct PluginRequest {
    pub request: RemotingCommand,
    pub peer: SocketAddr,
}
