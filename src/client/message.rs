//! Messages as applications see them: [`Message`] to send, [`MessageExt`] received (decoded
//! from stored records, decompressed, with its ids).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::protocol::flag::sysflag;
use crate::protocol::message::{decode_properties, decode_record_shared, encode_properties};

/// Bodies larger than this are inflated no further (a hostile or corrupt message).
const MAX_INFLATED: u64 = 64 * 1024 * 1024;

/// A message to send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    pub flag: i32,
    pub properties: BTreeMap<String, String>,
}

impl Message {
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            body: body.into(),
            ..Default::default()
        }
    }

    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.properties.insert("TAGS".into(), tags.into());
        self
    }

    /// Business keys, indexed by the broker (QUERY_MESSAGE finds them).
    pub fn with_keys<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, keys: I) -> Self {
        let joined: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_owned()).collect();
        self.properties.insert("KEYS".into(), joined.join(" "));
        self
    }

    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Delay level 1..18 (1s 5s 10s 30s 1m ... 2h).
    pub fn with_delay_level(self, level: i32) -> Self {
        self.with_property("DELAY", level.to_string())
    }

    /// Deliver at this wall-clock time, ms since the epoch (RocketMQ 5.x's
    /// `setDeliverTimeMs`; the broker's timer wheel, precise to about a second, at most
    /// `timerMaxDelaySec` ahead). A time already past is delivered at once.
    pub fn with_deliver_time_ms(self, epoch_ms: i64) -> Self {
        self.with_property("TIMER_DELIVER_MS", epoch_ms.to_string())
    }

    /// Deliver this many seconds after the broker stores it (`setDelayTimeSec`).
    pub fn with_delay_sec(self, secs: i64) -> Self {
        self.with_property("TIMER_DELAY_SEC", secs.to_string())
    }

    /// Deliver this many milliseconds after the broker stores it (`setDelayTimeMs`).
    pub fn with_delay_ms(self, millis: i64) -> Self {
        self.with_property("TIMER_DELAY_MS", millis.to_string())
    }

    /// A delete marker cancelling the timer message `msg_id` (its UNIQ_KEY, the send
    /// result's `msg_id`) sent to `topic` with `with_deliver_time_ms(deliver_ms)`: the
    /// marker must name the same delivery time, so it lands in the same slot of the wheel,
    /// which drops both when the slot is due. Built as Java's `RecallMessageProcessor`
    /// builds it (`TIMER_DEL_UNIQKEY` = `topic+msgId`); Java clients have the broker build
    /// it through `recallMessage(topic, recallHandle)`, a request this client does not send.
    pub fn timer_delete_marker(topic: impl Into<String>, msg_id: &str, deliver_ms: i64) -> Self {
        let topic = topic.into();
        let key = format!("{topic}+{msg_id}");
        Message::new(topic, "0")
            .with_tags("_RECALL_TAG_")
            .with_property("TIMER_DEL_UNIQKEY", key)
            .with_property("UNIQ_KEY", msg_id)
            .with_deliver_time_ms(deliver_ms)
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.get("TAGS").map(String::as_str)
    }

    pub fn properties_string(&self) -> String {
        encode_properties(
            self.properties
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }
}

/// A received message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageExt {
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub body: Bytes,
    pub flag: i32,
    pub sys_flag: i32,
    pub properties: BTreeMap<String, String>,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    /// The offset message id (store host + commit-log offset).
    pub offset_msg_id: String,
}

impl MessageExt {
    /// The id applications use: UNIQ_KEY when the producer set one, else the offset id.
    pub fn msg_id(&self) -> &str {
        self.properties
            .get("UNIQ_KEY")
            .map(String::as_str)
            .unwrap_or(&self.offset_msg_id)
    }

    pub fn tags(&self) -> Option<&str> {
        self.property("TAGS")
    }

    pub fn keys(&self) -> Vec<&str> {
        self.property("KEYS")
            .map(|k| k.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }
}

/// Decodes a PULL / QUERY / VIEW body: back-to-back stored records. Records that do not
/// decode are skipped (and logged); compressed bodies are inflated.
pub fn decode_messages(body: &Bytes) -> Vec<MessageExt> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 4 <= body.len() {
        let size = i32::from_be_bytes([body[pos], body[pos + 1], body[pos + 2], body[pos + 3]]);
        if size <= 0 || pos + size as usize > body.len() {
            tracing::warn!(pos, size, "truncated record in a message body");
            break;
        }
        let record = body.slice(pos..pos + size as usize);
        pos += size as usize;
        match decode_record_shared(&record) {
            Ok(m) => {
                let body = if m.sys_flag & sysflag::COMPRESSED != 0 {
                    inflate(&m.body).unwrap_or(m.body.clone())
                } else {
                    m.body.clone()
                };
                out.push(MessageExt {
                    offset_msg_id: m.msg_id(),
                    topic: m.topic,
                    queue_id: m.queue_id,
                    queue_offset: m.queue_offset,
                    commit_log_offset: m.physical_offset,
                    body,
                    flag: m.flag,
                    sys_flag: m.sys_flag,
                    properties: decode_properties(&m.properties).into_iter().collect(),
                    born_timestamp: m.born_timestamp,
                    born_host: m.born_host,
                    store_timestamp: m.store_timestamp,
                    store_host: m.store_host,
                    reconsume_times: m.reconsume_times,
                })
            }
            Err(e) => tracing::warn!(error = %e, "undecodable record in a message body"),
        }
    }
    out
}

fn inflate(data: &[u8]) -> Option<Bytes> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(MAX_INFLATED)
        .read_to_end(&mut out)
        .ok()?;
    Some(Bytes::from(out))
}

/// zlib at level 5, as the Java producer compresses.
pub fn deflate(data: &[u8]) -> Option<Bytes> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
    e.write_all(data).ok()?;
    e.finish().ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::MessageToStore;

    #[test]
    fn timer_setters_use_rocketmq_5_property_names() {
        let m = Message::new("T", "")
            .with_deliver_time_ms(1_700_000_000_000)
            .with_delay_sec(5)
            .with_delay_ms(1500);
        assert_eq!(m.properties["TIMER_DELIVER_MS"], "1700000000000");
        assert_eq!(m.properties["TIMER_DELAY_SEC"], "5");
        assert_eq!(m.properties["TIMER_DELAY_MS"], "1500");
    }

    #[test]
    fn a_timer_delete_marker_names_topic_and_id_like_javas_recall() {
        let m = Message::timer_delete_marker(
            "T",
            "7F00000100002A9F0000000000000001",
            1_700_000_000_000,
        );
        assert_eq!(m.topic, "T");
        assert_eq!(
            m.properties["TIMER_DEL_UNIQKEY"],
            "T+7F00000100002A9F0000000000000001"
        );
        assert_eq!(m.properties["UNIQ_KEY"], "7F00000100002A9F0000000000000001");
        assert_eq!(m.properties["TIMER_DELIVER_MS"], "1700000000000");
    }

    #[test]
    fn stored_records_decode_into_messages_with_their_properties_and_bodies() {
        let compressed = deflate(&[b'z'; 5000]).unwrap();
        let mut buf = Vec::new();
        for (body, flag) in [
            (Bytes::from_static(b"plain"), 0),
            (compressed, sysflag::COMPRESSED),
        ] {
            let m = MessageToStore {
                topic: "T".into(),
                queue_id: 1,
                flag: 0,
                body,
                properties: Message::new("T", "")
                    .with_tags("A")
                    .with_keys(["k1", "k2"])
                    .properties_string(),
                sys_flag: flag,
                born_timestamp: 1,
                born_host: "127.0.0.1:1".parse().unwrap(),
                store_host: "127.0.0.1:10911".parse().unwrap(),
                reconsume_times: 0,
                prepared_transaction_offset: 0,
            };
            let mut rec = vec![0u8; m.encoded_len()];
            m.encode_into(&mut rec, 7, 100, 9).unwrap();
            buf.extend_from_slice(&rec);
        }
        let msgs = decode_messages(&Bytes::from(buf));
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].body.as_ref(), b"plain");
        assert_eq!(msgs[0].tags(), Some("A"));
        assert_eq!(msgs[0].keys(), vec!["k1", "k2"]);
        assert_eq!(msgs[1].body.len(), 5000, "compressed bodies are inflated");
    }
}
