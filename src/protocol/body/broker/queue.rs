//! Message queues and the bodies built from them: the LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ
//! (42) requests of orderly consumers and the lock answer.
//!
//! It also owns fastjson's form of a map keyed by a queue, which admin bodies use
//! (`ConsumeStats`, `TopicStatsTable`, `ResetOffsetBody`, …): the key is written as the queue's
//! JSON object, `{{"brokerName":"b","queueId":0,"topic":"T"}:value}`, which no standard JSON
//! parser accepts. [`write_queue_map`] produces it; for reading, [`from_json_with_object_keys`]
//! first turns every object in key position into a string holding its text, so serde sees
//! ordinary string keys, and [`queue_map`] parses each of those strings back into a queue.
//! Keys that already are strings holding a queue's JSON are read the same way.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::protocol::body::fastjson::{
    self, container_end, null_as_default, rewrite_keys, JsonBody, KeyEdit,
};
use crate::protocol::error::ProtocolError;

/// One queue of a topic on one broker. Ordered like Java's `MessageQueue.compareTo`: topic,
/// then broker name, then queue id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    #[serde(deserialize_with = "null_as_default")]
    pub broker_name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub queue_id: i32,
    #[serde(deserialize_with = "null_as_default")]
    pub topic: String,
}

impl MessageQueue {
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }
}

impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> Ordering {
        self.topic
            .cmp(&other.topic)
            .then_with(|| self.broker_name.cmp(&other.broker_name))
            .then_with(|| self.queue_id.cmp(&other.queue_id))
    }
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// LOCK_BATCH_MQ request body: lock these queues of the group for this client.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    #[serde(deserialize_with = "null_as_default")]
    pub client_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub consumer_group: String,
    #[serde(deserialize_with = "null_as_default")]
    pub mq_set: BTreeSet<MessageQueue>,
    /// 5.x: do not forward the lock to the other brokers of the group.
    #[serde(deserialize_with = "null_as_default")]
    pub only_this_broker: bool,
}

impl JsonBody for LockBatchRequestBody {}

/// UNLOCK_BATCH_MQ request body; the same shape as the lock request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UnlockBatchRequestBody {
    #[serde(deserialize_with = "null_as_default")]
    pub client_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub consumer_group: String,
    #[serde(deserialize_with = "null_as_default")]
    pub mq_set: BTreeSet<MessageQueue>,
    #[serde(deserialize_with = "null_as_default")]
    pub only_this_broker: bool,
}

impl JsonBody for UnlockBatchRequestBody {}

/// LOCK_BATCH_MQ response body: the queues now locked by the requesting client.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet", deserialize_with = "null_as_default")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

impl JsonBody for LockBatchResponseBody {}

/// fastjson's text of a queue-keyed map: `{{queue}:value,…}` in queue order, each value
/// written by `value`.
pub fn write_queue_map<V>(
    map: &BTreeMap<MessageQueue, V>,
    mut value: impl FnMut(&V) -> Bytes,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + map.len() * 128);
    out.push(b'{');
    for (i, (queue, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&fastjson::to_json(queue));
        out.push(b':');
        out.extend_from_slice(&value(v));
    }
    out.push(b'}');
    out
}

/// [`fastjson::from_json`] for bodies whose maps may have object keys.
pub fn from_json_with_object_keys<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProtocolError> {
    fastjson::from_json(&stringify_object_keys(bytes))
}

/// `#[serde(default, deserialize_with = "queue_map")]` for a `BTreeMap<MessageQueue, V>` read
/// through [`from_json_with_object_keys`]: each string key must hold a queue's JSON. `null`
/// reads as an empty map.
pub fn queue_map<'de, D, V>(deserializer: D) -> Result<BTreeMap<MessageQueue, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    let raw = Option::<BTreeMap<String, V>>::deserialize(deserializer)?.unwrap_or_default();
    raw.into_iter()
        .map(|(key, value)| {
            serde_json::from_str::<MessageQueue>(&key)
                .map(|queue| (queue, value))
                .map_err(|e| {
                    serde::de::Error::custom(format!("map key {key:?} is not a message queue: {e}"))
                })
        })
        .collect()
}

/// Copies `input`, replacing every object that stands in key position with a JSON string of
/// its text; borrows `input` unchanged when there is none. String contents are never
/// altered; malformed input is passed through for serde_json to reject.
fn stringify_object_keys(input: &[u8]) -> Cow<'_, [u8]> {
    rewrite_keys(
        input,
        64,
        |input, at| match input.get(at) {
            Some(b'{') => container_end(input, at).map_or(KeyEdit::Stop, KeyEdit::Replace),
            _ => KeyEdit::Keep,
        },
        |buf, object| {
            buf.push(b'"');
            escape_key_text(buf, object);
            buf.push(b'"');
        },
    )
}

/// Appends `text` as the contents of a JSON string: quotes and backslashes escaped, control
/// bytes (newlines and tabs of pretty-printed files) as `\u00XX`.
fn escape_key_text(out: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &byte in text {
        match byte {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
            0..=0x1F => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ]),
            _ => out.push(byte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference §3.7.
    const LOCK_REQUEST: &str = r#"{"clientId":"192.168.0.20@12345#1234567890123","consumerGroup":"cg1","mqSet":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"},{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}],"onlyThisBroker":false}"#;
    const LOCK_RESPONSE: &str =
        r#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}]}"#;

    #[test]
    fn lock_request_matches_reference_bytes() {
        let body = LockBatchRequestBody::decode(LOCK_REQUEST.as_bytes()).unwrap();
        assert_eq!(body.consumer_group, "cg1");
        assert_eq!(body.mq_set.len(), 2);
        assert!(body
            .mq_set
            .contains(&MessageQueue::new("TopicTest", "broker-a", 1)));
        assert_eq!(&body.encode()[..], LOCK_REQUEST.as_bytes());

        let unlock = UnlockBatchRequestBody::decode(LOCK_REQUEST.as_bytes()).unwrap();
        assert_eq!(unlock.mq_set, body.mq_set);
        assert_eq!(&unlock.encode()[..], LOCK_REQUEST.as_bytes());
    }

    #[test]
    fn lock_response_matches_reference_bytes() {
        let body = LockBatchResponseBody {
            lock_ok_mq_set: BTreeSet::from([MessageQueue::new("TopicTest", "broker-a", 0)]),
        };
        assert_eq!(&body.encode()[..], LOCK_RESPONSE.as_bytes());
        assert_eq!(
            LockBatchResponseBody::decode(LOCK_RESPONSE.as_bytes()).unwrap(),
            body
        );
        assert_eq!(
            LockBatchResponseBody::decode(br#"{"lockOKMQSet":null}"#).unwrap(),
            LockBatchResponseBody::default()
        );
    }

    #[test]
    fn queues_order_like_java_compare_to() {
        let mut queues = [
            MessageQueue::new("B", "a", 0),
            MessageQueue::new("A", "b", 0),
            MessageQueue::new("A", "a", 10),
            MessageQueue::new("A", "a", 2),
        ];
        queues.sort();
        assert_eq!(
            queues.map(|q| (q.topic, q.broker_name, q.queue_id)),
            [
                ("A".into(), "a".into(), 2),
                ("A".into(), "a".into(), 10),
                ("A".into(), "b".into(), 0),
                ("B".into(), "a".into(), 0),
            ]
        );
    }

    #[derive(Debug, Deserialize)]
    struct Table {
        #[serde(default, deserialize_with = "queue_map")]
        t: BTreeMap<MessageQueue, i64>,
    }

    #[test]
    fn object_keys_round_trip_through_the_writer_and_reader() {
        let map = BTreeMap::from([
            (MessageQueue::new("T", "b", 1), 7),
            (MessageQueue::new("T", "b\"q", 0), -1),
        ]);
        let text = write_queue_map(&map, |v| Bytes::from(v.to_string()));
        assert_eq!(
            std::str::from_utf8(&text).unwrap(),
            r#"{{"brokerName":"b","queueId":1,"topic":"T"}:7,{"brokerName":"b\"q","queueId":0,"topic":"T"}:-1}"#
        );
        let wrapped = [&b"{\"t\":"[..], &text, b"}"].concat();
        let table: Table = from_json_with_object_keys(&wrapped).unwrap();
        assert_eq!(table.t, map);
    }

    #[test]
    fn pretty_printed_and_string_keys_read_too() {
        let pretty = b"{\"t\":{\n\t{\n\t\t\"brokerName\":\"b\",\n\t\t\"queueId\":3,\n\t\t\"topic\":\"T\"\n\t}:5\n}}";
        let table: Table = from_json_with_object_keys(pretty).unwrap();
        assert_eq!(table.t[&MessageQueue::new("T", "b", 3)], 5);
        let stringly = br#"{"t":{"{\"brokerName\":\"b\",\"queueId\":4,\"topic\":\"T\"}":6}}"#;
        let table: Table = from_json_with_object_keys(stringly).unwrap();
        assert_eq!(table.t[&MessageQueue::new("T", "b", 4)], 6);
    }

    #[test]
    fn strings_and_values_that_look_like_object_keys_are_left_alone() {
        let text = br#"{"k":"{x}:1","v":{"a":{"b":1}},"l":[{"c":2}]}"#;
        assert!(matches!(stringify_object_keys(text), Cow::Borrowed(_)));
        assert!(from_json_with_object_keys::<Table>(br#"{"t":{"not a queue":1}}"#).is_err());
        assert!(from_json_with_object_keys::<Table>(br#"{"t":{{"queueId":1}"#).is_err());
    }

    #[test]
    fn queue_decoders_never_panic() {
        let alphabet = br#"{}[]:,"\-0123456789 brokerNamequeueIdtopicmqSet"#;
        for input in crate::protocol::body::arbitrary_inputs(500, alphabet) {
            let _ = LockBatchRequestBody::decode(&input);
            let _ = LockBatchResponseBody::decode(&input);
            let _ = from_json_with_object_keys::<Table>(&input);
        }
    }
}
