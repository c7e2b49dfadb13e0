//! What a broker tells the name server when it registers (REGISTER_BROKER, 103): its topic
//! configs with their data version, and its filter servers.
//!
//! The body comes in three shapes, chosen by the request: a bare
//! [`TopicConfigSerializeWrapper`] (version < 37), a JSON [`RegisterBrokerBody`] (every 5.x
//! broker by default), or, with `compressed=true`, a zlib stream of length-prefixed items in
//! which each topic config is a space-separated text line. The compressed shape is untrusted
//! input that inflates, so inflation stops at [`MAX_INFLATED_BODY`] and every length and count
//! is checked against the bytes actually present before it is used.

use std::collections::BTreeMap;
use std::io::Write;

use bytes::Bytes;
use flate2::{Compression, Decompress, FlushDecompress, Status};
use serde::{Deserialize, Serialize};

use super::fastjson::{self, null_as_default, JsonBody};
use crate::protocol::error::ProtocolError;

/// Largest inflated compressed registration accepted. A broker with 100 000 topics needs about
/// 6 MiB; anything past this is treated as a zip bomb and rejected.
pub const MAX_INFLATED_BODY: usize = 32 * 1024 * 1024;

/// `MQVersion.Version.V3_0_11`: older brokers send a bare topic config wrapper.
const V3_0_11: i32 = 37;
/// `MQVersion.Version.V5_0_0`: from here the compressed form ends with the static-topic
/// mapping section.
const V5_0_0: i32 = 413;

/// The two values `TopicFilterType` can take in Java.
const TOPIC_FILTER_TYPES: [&str; 2] = ["SINGLE_TAG", "MULTI_TAG"];

/// `CRC32(body) & 0x7FFFFFFF`, as carried in the REGISTER_BROKER header's `bodyCrc32`.
pub fn body_crc32(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

// Fields are declared in alphabetical order because serde writes them in declaration order
// and fastjson sorts bean properties alphabetically.

/// Version of a broker's topic config table. The name server compares it with the previous
/// registration to decide whether the broker's queue data must be rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    /// Incremented on every topic change.
    pub counter: i64,
    /// 5.x only; 4.x peers omit it, which reads as 0.
    pub state_version: i64,
    /// Milliseconds since the epoch of the last change.
    pub timestamp: i64,
}

impl fastjson::JsonBody for DataVersion {}

/// One topic as a broker holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    /// 5.x stored attributes without their `+` prefix, e.g. `message.type`; absent in 4.x.
    #[serde(deserialize_with = "null_as_default")]
    pub attributes: BTreeMap<String, String>,
    pub order: bool,
    pub perm: i32,
    pub read_queue_nums: i32,
    /// `SINGLE_TAG` or `MULTI_TAG`.
    pub topic_filter_type: String,
    pub topic_name: String,
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

/// Java's field initialisers, which is what a missing JSON field reads as there.
impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            attributes: BTreeMap::new(),
            order: false,
            perm: 6,
            read_queue_nums: 16,
            topic_filter_type: TOPIC_FILTER_TYPES[0].to_string(),
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: 16,
        }
    }
}

impl TopicConfig {
    /// The text line of the compressed registration:
    /// `topicName readQueueNums writeQueueNums perm topicFilterType[ attributesJSON]`.
    /// It cannot carry `topicSysFlag` or `order`. Attributes are left out when there are
    /// none, because a 4.x name server accepts exactly five tokens.
    pub fn encode_text(&self) -> String {
        let mut line = format!(
            "{} {} {} {} {}",
            self.topic_name,
            self.read_queue_nums,
            self.write_queue_nums,
            self.perm,
            self.topic_filter_type
        );
        if !self.attributes.is_empty() {
            line.push(' ');
            line.push_str(&String::from_utf8_lossy(&fastjson::to_json(
                &self.attributes,
            )));
        }
        line
    }

    /// Parses a text line as Java's `TopicConfig.decode` does: split on single spaces with
    /// trailing empty tokens dropped, at least five tokens, numbers as `Integer.parseInt`
    /// reads them, and a sixth token of attributes JSON that is silently ignored when it does
    /// not parse (an attribute containing a space splits it).
    pub fn decode_text(line: &str) -> Result<Self, ProtocolError> {
        let invalid = || ProtocolError::InvalidBody(format!("invalid topic config line {line:?}"));
        let mut tokens = line.trim_end_matches(' ').split(' ');
        let mut next = || tokens.next().ok_or_else(invalid);
        let topic_name = next()?.to_string();
        let read_queue_nums = next()?.parse().map_err(|_| invalid())?;
        let write_queue_nums = next()?.parse().map_err(|_| invalid())?;
        let perm = next()?.parse().map_err(|_| invalid())?;
        let topic_filter_type = next()?;
        if !TOPIC_FILTER_TYPES.contains(&topic_filter_type) {
            return Err(invalid());
        }
        let topic_filter_type = topic_filter_type.to_string();
        let attributes = tokens
            .next()
            .and_then(|json| {
                fastjson::from_json::<Option<BTreeMap<String, String>>>(json.as_bytes()).ok()
            })
            .flatten()
            .unwrap_or_default();
        Ok(TopicConfig {
            attributes,
            read_queue_nums,
            write_queue_nums,
            perm,
            topic_filter_type,
            topic_name,
            ..TopicConfig::default()
        })
    }
}

/// A broker's topic config table with its version (the bare body of pre-3.0.11 brokers and
/// the `topicConfigSerializeWrapper` of a registration).
///
/// 5.x's static-topic mapping fields are ignored on input. On output they are written empty,
/// as a 5.x broker without static topics writes them; `mappingDataVersion` then carries the
/// topic data version's timestamp, since Java stamps a fresh version at construction.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    #[serde(deserialize_with = "null_as_default")]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub data_version: DataVersion,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WrapperOut<'a> {
    data_version: &'a DataVersion,
    mapping_data_version: DataVersion,
    topic_config_table: &'a BTreeMap<String, TopicConfig>,
    topic_queue_mapping_detail_map: BTreeMap<String, ()>,
    topic_queue_mapping_info_map: BTreeMap<String, ()>,
}

impl Serialize for TopicConfigSerializeWrapper {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WrapperOut {
            data_version: &self.data_version,
            mapping_data_version: DataVersion {
                timestamp: self.data_version.timestamp,
                ..DataVersion::default()
            },
            topic_config_table: &self.topic_config_table,
            topic_queue_mapping_detail_map: BTreeMap::new(),
            topic_queue_mapping_info_map: BTreeMap::new(),
        }
        .serialize(serializer)
    }
}

impl fastjson::JsonBody for TopicConfigSerializeWrapper {}

impl TopicConfigSerializeWrapper {
    /// The registration of `topics` (a subset of the broker's table) at `data_version`.
    pub fn of<'a>(
        topics: impl IntoIterator<Item = &'a TopicConfig>,
        data_version: DataVersion,
    ) -> Self {
        TopicConfigSerializeWrapper {
            topic_config_table: topics
                .into_iter()
                .map(|t| (t.topic_name.clone(), t.clone()))
                .collect(),
            data_version,
        }
    }

    /// Splits a full registration into parts of at most `size` topics, each carrying the
    /// same data version, as RocketMQ 5.x's `registerBrokerAll` does with
    /// `enableSplitRegistration` (RIP-29). A name server merges them: the first part of a
    /// new version updates what it carries, and every later part adds the topics it does
    /// not have yet. A table of no topics is one empty part, so the broker still
    /// registers (a heartbeat).
    pub fn split(&self, size: usize) -> Vec<TopicConfigSerializeWrapper> {
        let topics: Vec<&TopicConfig> = self.topic_config_table.values().collect();
        if topics.is_empty() {
            return vec![TopicConfigSerializeWrapper::of([], self.data_version)];
        }
        topics
            .chunks(size.max(1))
            .map(|part| TopicConfigSerializeWrapper::of(part.iter().copied(), self.data_version))
            .collect()
    }
}

/// The REGISTER_BROKER request body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    #[serde(deserialize_with = "null_as_default")]
    pub filter_server_list: Vec<String>,
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

impl RegisterBrokerBody {
    /// Decodes a registration sent with request `version` and header `compressed`.
    ///
    /// An empty body is Java's "no body": an empty table whose version is all zeros. A body
    /// that starts with a zlib header is inflated even when `compressed` is false, because
    /// 5.x brokers configured with `compressedRegister=true` compress the body but always
    /// send `compressed=false`; JSON cannot start with those bytes.
    pub fn decode(body: &[u8], compressed: bool, version: i32) -> Result<Self, ProtocolError> {
        if body.is_empty() {
            return Ok(RegisterBrokerBody::default());
        }
        if version < V3_0_11 {
            return Ok(RegisterBrokerBody {
                topic_config_serialize_wrapper: TopicConfigSerializeWrapper::decode(body)?,
                filter_server_list: Vec::new(),
            });
        }
        if compressed || looks_like_zlib(body) {
            Self::decode_compressed(body, version)
        } else {
            fastjson::from_json(body)
        }
    }

    /// Plain JSON, as a 5.x broker sends it by default.
    pub fn encode(&self) -> Bytes {
        fastjson::to_json(self)
    }

    /// The `compressed=true` form. It always ends with an empty mapping section: a 5.x name
    /// server reads it when the request version is ≥ 5.0.0, a 4.x one stops before it.
    /// Topic configs lose `topicSysFlag` and `order` in this form, as they do in Java.
    pub fn encode_compressed(&self) -> Bytes {
        let wrapper = &self.topic_config_serialize_wrapper;
        let mut framed = Vec::with_capacity(64 + 64 * wrapper.topic_config_table.len());
        push_item(&mut framed, &wrapper.data_version.encode());
        push_count(&mut framed, wrapper.topic_config_table.len());
        for topic in wrapper.topic_config_table.values() {
            push_item(&mut framed, topic.encode_text().as_bytes());
        }
        push_item(&mut framed, &fastjson::to_json(&self.filter_server_list));
        push_count(&mut framed, 0);

        // Level 9 with the zlib header, like Java's `new Deflater(Deflater.BEST_COMPRESSION)`.
        // Compressing into a Vec has no I/O to fail; an error would leave an empty body.
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&framed)
            .and_then(|()| encoder.finish())
            .map(Bytes::from)
            .unwrap_or_default()
    }

    fn decode_compressed(body: &[u8], version: i32) -> Result<Self, ProtocolError> {
        let inflated = inflate_bounded(body, MAX_INFLATED_BODY)?;
        let mut items = FramedItems(&inflated);

        let data_version = DataVersion::decode(items.item("data version")?)?;

        let topic_count = items.count("topic config count")?;
        let mut topic_config_table = BTreeMap::new();
        for _ in 0..topic_count {
            let line = items.item("topic config")?;
            let topic = TopicConfig::decode_text(&String::from_utf8_lossy(line))?;
            topic_config_table.insert(topic.topic_name.clone(), topic);
        }

        // Java logs an unparsable filter server list and carries on with an empty one.
        let filter_server_list =
            fastjson::from_json::<Option<Vec<String>>>(items.item("filter server list")?)
                .ok()
                .flatten()
                .unwrap_or_default();

        // Static-topic mappings are not supported; the section is only checked for framing.
        // A stream that ends right before it is accepted, as a 4.x name server would.
        if version >= V5_0_0 && !items.is_empty() {
            for _ in 0..items.count("topic queue mapping count")? {
                items.item("topic queue mapping")?;
            }
        }

        Ok(RegisterBrokerBody {
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                topic_config_table,
                data_version,
            },
            filter_server_list,
        })
    }
}

fn push_count(out: &mut Vec<u8>, count: usize) {
    out.extend_from_slice(&i32::try_from(count).unwrap_or(i32::MAX).to_be_bytes());
}

fn push_item(out: &mut Vec<u8>, item: &[u8]) {
    push_count(out, item.len());
    out.extend_from_slice(item);
}

/// A zlib header (RFC 1950): deflate method, window ≤ 32 KiB, and the check bits.
fn looks_like_zlib(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => {
            cmf & 0x0F == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// Inflates one zlib stream, failing once the output would exceed `limit` bytes or when the
/// stream is corrupt or truncated. Bytes after the end of the stream are ignored, as Java's
/// `InflaterInputStream` ignores them.
fn inflate_bounded(input: &[u8], limit: usize) -> Result<Vec<u8>, ProtocolError> {
    let mut inflater = Decompress::new(true);
    let mut out: Vec<u8> =
        Vec::with_capacity(input.len().saturating_mul(4).min(1 << 20).min(limit));
    loop {
        if out.len() == out.capacity() {
            if out.len() >= limit {
                return Err(ProtocolError::InvalidBody(format!(
                    "compressed body inflates to more than {limit} bytes"
                )));
            }
            out.reserve_exact(out.capacity().max(4096).min(limit - out.len()));
        }
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let consumed = usize::try_from(in_before).unwrap_or(usize::MAX);
        let rest = input.get(consumed..).unwrap_or_default();
        let status = inflater
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|e| ProtocolError::InvalidBody(format!("corrupt compressed body: {e}")))?;
        if out.len() > limit {
            return Err(ProtocolError::InvalidBody(format!(
                "compressed body inflates to more than {limit} bytes"
            )));
        }
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => {
                let stalled =
                    inflater.total_in() == in_before && inflater.total_out() == out_before;
                if stalled && out.len() < out.capacity() {
                    return Err(ProtocolError::InvalidBody(
                        "compressed body is truncated".into(),
                    ));
                }
            }
        }
    }
}

/// The big-endian, length-prefixed items of an inflated registration.
struct FramedItems<'a>(&'a [u8]);

impl<'a> FramedItems<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn int(&mut self, what: &str) -> Result<i32, ProtocolError> {
        let (word, rest) = self.0.split_first_chunk::<4>().ok_or_else(|| {
            ProtocolError::InvalidBody(format!("compressed body ends before the {what}"))
        })?;
        self.0 = rest;
        Ok(i32::from_be_bytes(*word))
    }

    /// A count of items that follow, each at least a four-byte length, so a count larger
    /// than a quarter of the remaining bytes cannot be honest.
    fn count(&mut self, what: &str) -> Result<usize, ProtocolError> {
        let count = self.int(what)?;
        usize::try_from(count)
            .ok()
            .filter(|n| *n <= self.0.len() / 4)
            .ok_or_else(|| {
                ProtocolError::InvalidBody(format!(
                    "{what} {count} does not fit the compressed body"
                ))
            })
    }

    fn item(&mut self, what: &str) -> Result<&'a [u8], ProtocolError> {
        let len = self.int(what)?;
        let too_long = || {
            ProtocolError::InvalidBody(format!(
                "{what} length {len} does not fit the compressed body"
            ))
        };
        let len = usize::try_from(len).map_err(|_| too_long())?;
        if len > self.0.len() {
            return Err(too_long());
        }
        let (item, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTER_JSON: &str = r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000000},"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}},"topicQueueMappingDetailMap":{},"topicQueueMappingInfoMap":{}}}"#;
    const CURRENT_VERSION: i32 = 479;
    const V4_9_4: i32 = 401;

    fn topic(name: &str) -> TopicConfig {
        TopicConfig {
            topic_name: name.into(),
            read_queue_nums: 4,
            write_queue_nums: 4,
            ..TopicConfig::default()
        }
    }

    fn example_body() -> RegisterBrokerBody {
        RegisterBrokerBody {
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                topic_config_table: [("TopicTest".to_string(), topic("TopicTest"))].into(),
                data_version: DataVersion {
                    state_version: 0,
                    timestamp: 1_700_000_000_000,
                    counter: 3,
                },
            },
            filter_server_list: Vec::new(),
        }
    }

    fn zlib(framed: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(framed).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn reference_json_registration_decodes() {
        let body =
            RegisterBrokerBody::decode(REGISTER_JSON.as_bytes(), false, CURRENT_VERSION).unwrap();
        let wrapper = &body.topic_config_serialize_wrapper;
        assert_eq!(wrapper.data_version.counter, 3);
        assert_eq!(wrapper.data_version.timestamp, 1_700_000_000_000);
        let topic = &wrapper.topic_config_table["TopicTest"];
        assert_eq!(
            (topic.read_queue_nums, topic.write_queue_nums, topic.perm),
            (4, 4, 6)
        );
        assert_eq!(topic.topic_filter_type, "SINGLE_TAG");
        assert!(body.filter_server_list.is_empty());
        assert_eq!(body, example_body());
    }

    #[test]
    fn json_registration_matches_reference_bytes() {
        assert_eq!(&example_body().encode()[..], REGISTER_JSON.as_bytes());
    }

    #[test]
    fn registration_from_a_4_9_broker_decodes_with_defaults() {
        let json = br#"{"filterServerList":["10.0.0.1:30000"],"topicConfigSerializeWrapper":{"dataVersion":{"counter":7,"timestamp":1600000000000},"topicConfigTable":{"T":{"order":true,"perm":7,"readQueueNums":8,"topicFilterType":"MULTI_TAG","topicName":"T","topicSysFlag":1,"writeQueueNums":2}}}}"#;
        let body = RegisterBrokerBody::decode(json, false, V4_9_4).unwrap();
        let wrapper = &body.topic_config_serialize_wrapper;
        assert_eq!(
            wrapper.data_version,
            DataVersion {
                state_version: 0,
                timestamp: 1_600_000_000_000,
                counter: 7
            }
        );
        let t = &wrapper.topic_config_table["T"];
        assert!(t.attributes.is_empty() && t.order);
        assert_eq!(
            (
                t.read_queue_nums,
                t.write_queue_nums,
                t.perm,
                t.topic_sys_flag
            ),
            (8, 2, 7, 1)
        );
        assert_eq!(body.filter_server_list, ["10.0.0.1:30000"]);
    }

    #[test]
    fn missing_topic_config_fields_take_java_defaults() {
        let wrapper =
            TopicConfigSerializeWrapper::decode(br#"{"topicConfigTable":{"T":{"topicName":"T"}}}"#)
                .unwrap();
        let t = &wrapper.topic_config_table["T"];
        assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (16, 16, 6));
        assert_eq!(t.topic_filter_type, "SINGLE_TAG");
    }

    #[test]
    fn version_before_3_0_11_carries_a_bare_wrapper() {
        let wrapper = &example_body().topic_config_serialize_wrapper;
        let body = RegisterBrokerBody::decode(&wrapper.encode(), false, 36).unwrap();
        assert_eq!(&body.topic_config_serialize_wrapper, wrapper);
        assert!(body.filter_server_list.is_empty());
    }

    #[test]
    fn empty_body_is_an_empty_registration_at_version_zero() {
        let body = RegisterBrokerBody::decode(b"", true, CURRENT_VERSION).unwrap();
        assert_eq!(body, RegisterBrokerBody::default());
        assert_eq!(
            body.topic_config_serialize_wrapper.data_version,
            DataVersion::default()
        );
    }

    #[test]
    fn compressed_registration_round_trips() {
        let mut body = example_body();
        body.filter_server_list = vec!["10.0.0.1:30000".into()];
        let mut with_attributes = topic("OrderTopic");
        with_attributes
            .attributes
            .insert("message.type".into(), "FIFO".into());
        with_attributes.topic_filter_type = "MULTI_TAG".into();
        body.topic_config_serialize_wrapper
            .topic_config_table
            .insert("OrderTopic".into(), with_attributes);
        let compressed = body.encode_compressed();
        assert_eq!(&compressed[..2], &[0x78, 0xDA], "level-9 zlib header");
        for version in [V4_9_4, CURRENT_VERSION] {
            assert_eq!(
                RegisterBrokerBody::decode(&compressed, true, version).unwrap(),
                body
            );
        }
    }

    #[test]
    fn compressed_form_drops_sys_flag_and_order() {
        let mut body = example_body();
        let t = body
            .topic_config_serialize_wrapper
            .topic_config_table
            .get_mut("TopicTest")
            .unwrap();
        t.topic_sys_flag = 1;
        t.order = true;
        let decoded =
            RegisterBrokerBody::decode(&body.encode_compressed(), true, CURRENT_VERSION).unwrap();
        let t = &decoded.topic_config_serialize_wrapper.topic_config_table["TopicTest"];
        assert_eq!((t.topic_sys_flag, t.order), (0, false));
    }

    #[test]
    fn compressed_body_flagged_uncompressed_is_still_inflated() {
        let compressed = example_body().encode_compressed();
        assert_eq!(
            RegisterBrokerBody::decode(&compressed, false, CURRENT_VERSION).unwrap(),
            example_body()
        );
    }

    /// Builds the framed form by hand, as a 5.3 Java broker writes it: attributes always
    /// present (`{}`), a mapping section with one entry, and a filter list with spaces.
    #[test]
    fn hand_built_java_compressed_body_decodes() {
        let mut framed = Vec::new();
        push_item(
            &mut framed,
            br#"{"counter":5,"stateVersion":2,"timestamp":1700000000001}"#,
        );
        push_count(&mut framed, 3);
        push_item(&mut framed, b"TopicA 8 8 6 SINGLE_TAG {}");
        push_item(
            &mut framed,
            br#"TopicB 2 1 4 MULTI_TAG {"message.type":"DELAY"}"#,
        );
        // A 4.9 broker's five-token line, with a stray trailing space Java's split drops.
        push_item(&mut framed, b"TopicC 1 1 2 SINGLE_TAG ");
        push_item(&mut framed, br#"[ "10.0.0.9:30000" ]"#);
        push_count(&mut framed, 1);
        push_item(
            &mut framed,
            br#"{"bname":"broker-a","epoch":0,"topic":"TopicA","totalQueues":8}"#,
        );

        let body = RegisterBrokerBody::decode(&zlib(&framed), true, CURRENT_VERSION).unwrap();
        let wrapper = &body.topic_config_serialize_wrapper;
        assert_eq!(
            wrapper.data_version,
            DataVersion {
                state_version: 2,
                timestamp: 1_700_000_000_001,
                counter: 5
            }
        );
        assert_eq!(wrapper.topic_config_table.len(), 3);
        let b = &wrapper.topic_config_table["TopicB"];
        assert_eq!((b.read_queue_nums, b.write_queue_nums, b.perm), (2, 1, 4));
        assert_eq!(b.topic_filter_type, "MULTI_TAG");
        assert_eq!(b.attributes["message.type"], "DELAY");
        assert!(wrapper.topic_config_table["TopicC"].attributes.is_empty());
        assert_eq!(body.filter_server_list, ["10.0.0.9:30000"]);
    }

    #[test]
    fn unparsable_attributes_and_filter_list_are_ignored_like_java() {
        let mut framed = Vec::new();
        push_item(&mut framed, br#"{"counter":1,"timestamp":2}"#);
        push_count(&mut framed, 1);
        push_item(&mut framed, br#"T 1 1 6 SINGLE_TAG {"k":"a b"}"#);
        push_item(&mut framed, b"not json");
        let body = RegisterBrokerBody::decode(&zlib(&framed), true, V4_9_4).unwrap();
        assert!(body.topic_config_serialize_wrapper.topic_config_table["T"]
            .attributes
            .is_empty());
        assert!(body.filter_server_list.is_empty());
    }

    #[test]
    fn malformed_topic_lines_are_rejected() {
        for line in [
            "T 1 1 6",
            "T x 1 6 SINGLE_TAG",
            "T 1 1 6 NO_TAG",
            "T  1 1 6 SINGLE_TAG",
            "T 1 1 99999999999 SINGLE_TAG",
        ] {
            assert!(TopicConfig::decode_text(line).is_err(), "{line:?}");
        }
        let t = TopicConfig::decode_text("T +1 -1 6 SINGLE_TAG").unwrap();
        assert_eq!((t.read_queue_nums, t.write_queue_nums), (1, -1));
    }

    #[test]
    fn zip_bomb_is_rejected_without_inflating_it_all() {
        let mut framed = Vec::new();
        push_item(&mut framed, &vec![b' '; MAX_INFLATED_BODY + 1]);
        let bomb = zlib(&framed);
        assert!(bomb.len() < 64 * 1024);
        match RegisterBrokerBody::decode(&bomb, true, CURRENT_VERSION) {
            Err(ProtocolError::InvalidBody(message)) => {
                assert!(message.contains("more than"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(inflate_bounded(&zlib(&[0u8; 100]), 99).is_err());
        assert_eq!(inflate_bounded(&zlib(&[0u8; 100]), 100).unwrap().len(), 100);
    }

    #[test]
    fn truncated_compressed_bodies_are_rejected() {
        let compressed = example_body().encode_compressed();
        for cut in 0..compressed.len() {
            assert!(
                RegisterBrokerBody::decode(&compressed[..cut.max(1)], true, CURRENT_VERSION)
                    .is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn lying_lengths_and_counts_are_rejected() {
        let mut huge_count = Vec::new();
        push_item(&mut huge_count, br#"{"counter":1}"#);
        huge_count.extend_from_slice(&i32::MAX.to_be_bytes());
        let mut negative_len = Vec::new();
        negative_len.extend_from_slice(&(-1i32).to_be_bytes());
        let mut long_len = Vec::new();
        long_len.extend_from_slice(&100i32.to_be_bytes());
        long_len.extend_from_slice(b"{}");
        let mut missing_filter_list = Vec::new();
        push_item(&mut missing_filter_list, br#"{"counter":1}"#);
        push_count(&mut missing_filter_list, 0);
        for framed in [huge_count, negative_len, long_len, missing_filter_list] {
            assert!(RegisterBrokerBody::decode(&zlib(&framed), true, CURRENT_VERSION).is_err());
        }
    }

    #[test]
    fn crc_matches_java_util_all_crc32() {
        // java.util.zip.CRC32 of "123456789" is 0xCBF43926; the top bit is cleared.
        assert_eq!(body_crc32(b"123456789"), 0x4BF4_3926);
        assert_eq!(body_crc32(b""), 0);
    }

    #[test]
    fn registration_decoder_never_panics() {
        let alphabet = br#"{}[]:,"\-0123456789 topicConfigTabledataVersion"#;
        let mut inputs = super::super::arbitrary_inputs(300, alphabet);
        let mut framed = Vec::new();
        push_item(&mut framed, br#"{"counter":1}"#);
        push_count(&mut framed, 2);
        push_item(&mut framed, b"T 1 1 6 SINGLE_TAG");
        let template = zlib(&framed);
        for (i, input) in super::super::arbitrary_inputs(300, &[])
            .into_iter()
            .enumerate()
        {
            let mut corrupted = template.clone();
            for (j, byte) in input.iter().take(4).enumerate() {
                let at = (i + j * 7) % corrupted.len();
                corrupted[at] ^= byte | 1;
            }
            inputs.push(corrupted);
            inputs.push([&[0x78, 0xDA][..], &input].concat());
        }
        for input in &inputs {
            for (compressed, version) in [
                (false, 36),
                (false, CURRENT_VERSION),
                (true, V4_9_4),
                (true, CURRENT_VERSION),
            ] {
                let _ = RegisterBrokerBody::decode(input, compressed, version);
            }
        }
    }

    #[test]
    fn a_registration_splits_into_parts_that_cover_every_topic_once() {
        let mut wrapper = TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter: 7,
                timestamp: 99,
                state_version: 0,
            },
            ..Default::default()
        };
        for i in 0..2_001 {
            let t = topic(&format!("T{i:05}"));
            wrapper.topic_config_table.insert(t.topic_name.clone(), t);
        }
        let parts = wrapper.split(800);
        assert_eq!(
            parts
                .iter()
                .map(|p| p.topic_config_table.len())
                .collect::<Vec<_>>(),
            vec![800, 800, 401]
        );
        assert!(parts.iter().all(|p| p.data_version == wrapper.data_version));
        let mut merged = BTreeMap::new();
        for p in &parts {
            for (k, v) in &p.topic_config_table {
                assert!(merged.insert(k.clone(), v.clone()).is_none(), "{k} twice");
            }
        }
        assert_eq!(merged, wrapper.topic_config_table);
        assert_eq!(TopicConfigSerializeWrapper::default().split(800).len(), 1);
    }
}
