//! Offset tables the broker persists and serves: consumer progress (`consumerOffset.json`,
//! GET_ALL_CONSUMER_OFFSET, 43) and scheduled-message progress (`delayOffset.json`,
//! GET_ALL_DELAY_OFFSET, 45).
//!
//! Both are maps keyed by Java `Integer`s, which fastjson writes unquoted (`{0:37960}`);
//! they are written that way here with [`JsonWriter`], and read quoted or not.
//! [`super::pretty::pretty`] lays either out like the Java broker's files.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde::Deserialize;

use crate::protocol::body::fastjson::{self, null_as_default, Escape, JsonWriter};
use crate::protocol::body::register::DataVersion;
use crate::protocol::error::ProtocolError;

/// Separates topic and group in an offset-table key (`topic@group`).
pub const TOPIC_GROUP_SEPARATOR: char = '@';

/// Consumer progress: `topic@group` → queue id → next offset to consume. Broadcast progress
/// kept by the broker uses the key `topic@group@broadcast`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerOffsetWrapper {
    /// 5.x; 4.9 files have none and read as all zeros.
    #[serde(deserialize_with = "null_as_default")]
    pub data_version: DataVersion,
    #[serde(deserialize_with = "null_as_default")]
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl ConsumerOffsetWrapper {
    /// The key under which `group`'s progress on `topic` is kept.
    pub fn key(topic: &str, group: &str) -> String {
        format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
    }

    /// Java's derived `groupTopicMap`: group → topics it has progress on. Keys that do not
    /// split into exactly a topic and a group (broadcast keys) are left out, as in Java.
    pub fn group_topic_map(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        let mut map: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for key in self.offset_table.keys() {
            if let [topic, group] = java_split(key).as_slice() {
                map.entry(*group).or_default().insert(*topic);
            }
        }
        map
    }

    /// What a 5.x broker writes: `dataVersion`, the derived `groupTopicMap`, and
    /// `offsetTable` with unquoted queue ids. 4.9 brokers read it and ignore the extras.
    pub fn encode(&self) -> Bytes {
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        w.key("dataVersion")
            .raw(&fastjson::to_json(&self.data_version));
        w.key("groupTopicMap").begin_object();
        for (group, topics) in self.group_topic_map() {
            w.key(group).begin_array();
            for topic in topics {
                w.string(topic);
            }
            w.end_array();
        }
        w.end_object();
        w.key("offsetTable");
        write_int_keyed_tables(&mut w, &self.offset_table);
        w.end_object();
        w.finish()
    }

    /// Reads a file or body written by a 4.9 or 5.x broker (or by [`Self::encode`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        fastjson::from_json(bytes)
    }
}

/// Scheduled-message progress: delay level (1-based) → offset consumed in queue `level - 1`
/// of `SCHEDULE_TOPIC_XXXX`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DelayOffsetWrapper {
    /// 5.x.
    #[serde(deserialize_with = "null_as_default")]
    pub data_version: DataVersion,
    #[serde(deserialize_with = "null_as_default")]
    pub offset_table: BTreeMap<i32, i64>,
}

impl DelayOffsetWrapper {
    pub fn encode(&self) -> Bytes {
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        w.key("dataVersion")
            .raw(&fastjson::to_json(&self.data_version));
        w.key("offsetTable");
        write_int_keyed(&mut w, &self.offset_table);
        w.end_object();
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        fastjson::from_json(bytes)
    }
}

fn write_int_keyed_tables(w: &mut JsonWriter, tables: &BTreeMap<String, BTreeMap<i32, i64>>) {
    w.begin_object();
    for (key, table) in tables {
        w.key(key);
        write_int_keyed(w, table);
    }
    w.end_object();
}

fn write_int_keyed(w: &mut JsonWriter, table: &BTreeMap<i32, i64>) {
    w.begin_object();
    for (id, offset) in table {
        w.int_key(i64::from(*id), false).number(*offset);
    }
    w.end_object();
}

/// Java's `String.split("@")`: trailing empty parts are dropped.
fn java_split(key: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = key.split(TOPIC_GROUP_SEPARATOR).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::super::pretty::pretty;
    use super::*;

    /// Reference §5.8 (abridged 5.x file).
    const CONSUMER_OFFSET_FILE: &str = "{\n\t\"dataVersion\":{\n\t\t\"counter\":1448,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1736661762584\n\t},\n\t\"groupTopicMap\":{\n\t\t\"cg1\":[\"TopicTest\",\"%RETRY%cg1\"]\n\t},\n\t\"offsetTable\":{\n\t\t\"TopicTest@cg1\":{0:37960,1:37961,2:37959,3:37959},\n\t\t\"%RETRY%cg1@cg1\":{0:0}\n\t}\n}";

    fn example() -> ConsumerOffsetWrapper {
        ConsumerOffsetWrapper {
            data_version: DataVersion {
                counter: 1448,
                state_version: 0,
                timestamp: 1_736_661_762_584,
            },
            offset_table: BTreeMap::from([
                (
                    "TopicTest@cg1".to_owned(),
                    BTreeMap::from([(0, 37960), (1, 37961), (2, 37959), (3, 37959)]),
                ),
                ("%RETRY%cg1@cg1".to_owned(), BTreeMap::from([(0, 0)])),
            ]),
        }
    }

    #[test]
    fn reference_consumer_offset_file_decodes() {
        assert_eq!(
            ConsumerOffsetWrapper::decode(CONSUMER_OFFSET_FILE.as_bytes()).unwrap(),
            example()
        );
    }

    #[test]
    fn consumer_offsets_encode_with_unquoted_queue_ids() {
        let json = example().encode();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"{"dataVersion":{"counter":1448,"stateVersion":0,"timestamp":1736661762584},"groupTopicMap":{"cg1":["%RETRY%cg1","TopicTest"]},"offsetTable":{"%RETRY%cg1@cg1":{0:0},"TopicTest@cg1":{0:37960,1:37961,2:37959,3:37959}}}"#
        );
        assert_eq!(ConsumerOffsetWrapper::decode(&json).unwrap(), example());
        // Laid out like the Java file; only map order differs (Java's is hash order).
        let file = pretty(&json);
        let text = std::str::from_utf8(&file).unwrap();
        assert!(text.contains("\n\t\t\"TopicTest@cg1\":{0:37960,1:37961,2:37959,3:37959}"));
        assert_eq!(ConsumerOffsetWrapper::decode(&file).unwrap(), example());
    }

    #[test]
    fn a_4_9_file_with_quoted_or_bare_keys_decodes() {
        for json in [
            &br#"{"offsetTable":{"T@g":{"0":5,"1":6}}}"#[..],
            br#"{"offsetTable":{"T@g":{0:5,1:6}}}"#,
        ] {
            let offsets = ConsumerOffsetWrapper::decode(json).unwrap();
            assert_eq!(offsets.data_version, DataVersion::default());
            assert_eq!(
                offsets.offset_table["T@g"],
                BTreeMap::from([(0, 5), (1, 6)])
            );
        }
    }

    #[test]
    fn group_topic_map_skips_broadcast_keys_like_java() {
        let mut offsets = example();
        offsets
            .offset_table
            .insert("T@g@broadcast".into(), BTreeMap::new());
        offsets.offset_table.insert("T2@".into(), BTreeMap::new());
        offsets.offset_table.insert("@g2".into(), BTreeMap::new());
        let map = offsets.group_topic_map();
        assert_eq!(map.keys().copied().collect::<Vec<_>>(), ["cg1", "g2"]);
        assert_eq!(ConsumerOffsetWrapper::key("T", "g"), "T@g");
    }

    #[test]
    fn delay_offsets_match_reference_shape() {
        let delay = DelayOffsetWrapper {
            data_version: DataVersion::default(),
            offset_table: BTreeMap::from([(1, 12), (2, 0), (3, 5)]),
        };
        let json = delay.encode();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"{"dataVersion":{"counter":0,"stateVersion":0,"timestamp":0},"offsetTable":{1:12,2:0,3:5}}"#
        );
        assert_eq!(DelayOffsetWrapper::decode(&json).unwrap(), delay);
    }

    #[test]
    fn offset_decoders_never_panic() {
        let alphabet = br#"{}[]:,"\-0123456789 offsetTable@dataVersion"#;
        for input in crate::protocol::body::arbitrary_inputs(500, alphabet) {
            if let Ok(offsets) = ConsumerOffsetWrapper::decode(&input) {
                assert_eq!(
                    ConsumerOffsetWrapper::decode(&offsets.encode()).unwrap(),
                    offsets
                );
            }
            let _ = DelayOffsetWrapper::decode(&input);
        }
    }
}
