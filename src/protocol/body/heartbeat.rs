//! The HEART_BEAT (34) body: which producer and consumer groups a client instance belongs to
//! and, for consumers, what they subscribe to. The broker registers groups and subscriptions
//! from it, and pulls without a subscription in their header are filtered by what arrived
//! here.
//!
//! Every client writes its own variant of the Java shape (reference §3.6): Go upper-cases the
//! message model, sends `codeSet` entries as strings and nil slices as `null`; ali-ons leaves
//! out `expressionType` and `unitMode`; only Java 5.x sends `heartbeatFingerprint` and
//! `withoutSub`. Decoding therefore defaults every missing or `null` member. Java enums stay
//! their wire names (`String`), so a name this crate does not know is kept and relayed as
//! sent; a known name is accepted in any case and stored in Java's spelling, and
//! [`WireEnum::from_wire`] turns it into a [`ConsumeType`], [`MessageModel`] or
//! [`ConsumeFromWhere`]. Encoding writes the Java form with keys sorted.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize};

use super::fastjson::{null_as_default, JsonBody};

/// `ExpressionType.TAG`.
pub const EXPRESSION_TYPE_TAG: &str = "TAG";
/// `SubscriptionData.SUB_ALL`: subscribe to every tag.
pub const SUB_ALL: &str = "*";

/// A Java enum carried by its name.
pub trait WireEnum: Sized + Copy + 'static {
    /// The Java constant name.
    fn as_str(self) -> &'static str;
    /// Matches a name in any case, as fastjson falls back to when the exact name is unknown.
    fn from_wire(name: &str) -> Option<Self>;
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $wire:literal),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl WireEnum for $name {
            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),*
                }
            }

            fn from_wire(name: &str) -> Option<Self> {
                $(if name.eq_ignore_ascii_case($wire) {
                    return Some($name::$variant);
                })*
                None
            }
        }
    };
}

wire_enum! {
    /// How a consumer gets its messages.
    pub enum ConsumeType {
        /// Pull consumers.
        ConsumeActively = "CONSUME_ACTIVELY",
        /// Push consumers.
        ConsumePassively = "CONSUME_PASSIVELY",
        /// 5.x POP consumers.
        ConsumePop = "CONSUME_POP",
    }
}

wire_enum! {
    /// Whether a group shares its queues (clustering) or every member reads all of them.
    pub enum MessageModel {
        Broadcasting = "BROADCASTING",
        Clustering = "CLUSTERING",
    }
}

wire_enum! {
    /// Where a consumer group without a stored offset starts.
    pub enum ConsumeFromWhere {
        ConsumeFromLastOffset = "CONSUME_FROM_LAST_OFFSET",
        /// Deprecated in Java.
        ConsumeFromLastOffsetAndFromMinWhenBootFirst =
            "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        /// Deprecated in Java.
        ConsumeFromMinOffset = "CONSUME_FROM_MIN_OFFSET",
        /// Deprecated in Java.
        ConsumeFromMaxOffset = "CONSUME_FROM_MAX_OFFSET",
        ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        ConsumeFromTimestamp = "CONSUME_FROM_TIMESTAMP",
    }
}

/// `#[serde(default, deserialize_with = "canonical_name::<_, T>")]` for a `String` holding a
/// [`WireEnum`] name: a known name in any case becomes Java's spelling, an unknown one is
/// kept as sent, and `null` or a non-string (fastjson would read an ordinal) is empty.
pub fn canonical_name<'de, D, T>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
    T: WireEnum,
{
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(name) => match T::from_wire(&name) {
            Some(known) => known.as_str().to_owned(),
            None => name,
        },
        _ => String::new(),
    })
}

/// `codeSet` entries: Java sends numbers, Go numeric strings. Numbers outside the `int`
/// range wrap as Java's `Number.intValue()` does; a string must be a valid `int`.
fn code_set<'de, D>(deserializer: D) -> Result<BTreeSet<i32>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Int(i64),
        Float(f64),
        Text(String),
    }
    let codes = Option::<Vec<Code>>::deserialize(deserializer)?.unwrap_or_default();
    codes
        .into_iter()
        .map(|code| match code {
            Code::Int(n) => Ok(n as i32),
            Code::Float(f) => Ok(f as i32),
            Code::Text(s) => s.trim().parse::<i32>().map_err(|_| {
                serde::de::Error::custom(format!("codeSet entry {s:?} is not an int"))
            }),
        })
        .collect()
}

/// A long that may arrive as a number or as numeric text (the C++ client sends
/// `"subVersion":"1795310370377"`); null and unparsable text read as 0, as fastjson's
/// lenient number parsing leaves the field unset.
fn lenient_i64<'de, D>(deserializer: D) -> Result<i64, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        Int(i64),
        Float(f64),
        Text(String),
    }
    Ok(match Option::<Num>::deserialize(deserializer)? {
        Some(Num::Int(n)) => n,
        Some(Num::Float(f)) => f as i64,
        Some(Num::Text(s)) => s.trim().parse().unwrap_or(0),
        None => 0,
    })
}

/// `null` or absent reads as `TAG`, which is what Java treats a null type as.
fn expression_type<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?
        .unwrap_or_else(|| EXPRESSION_TYPE_TAG.to_owned()))
}

fn tag_type() -> String {
    EXPRESSION_TYPE_TAG.to_owned()
}

// Fields are declared in alphabetical order because serde writes them in declaration order
// and fastjson sorts bean properties alphabetically.

/// One subscription of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    #[serde(deserialize_with = "null_as_default")]
    pub class_filter_mode: bool,
    /// Java `String.hashCode()` of each tag (Go hashes UTF-8 bytes; they differ only for
    /// non-ASCII tags). The broker matches these against consume-queue tag codes.
    #[serde(deserialize_with = "code_set")]
    pub code_set: BTreeSet<i32>,
    /// `TAG` or `SQL92`.
    #[serde(default = "tag_type", deserialize_with = "expression_type")]
    pub expression_type: String,
    /// Class-filter source; read but never written, as Java marks it `serialize=false`.
    #[serde(skip_serializing)]
    pub filter_class_source: Option<String>,
    /// `*`, tags joined by `||`, or an SQL92 expression.
    #[serde(deserialize_with = "null_as_default")]
    pub sub_string: String,
    /// Milliseconds timestamp of the subscription; a pull with an older one is refused.
    #[serde(deserialize_with = "lenient_i64")]
    pub sub_version: i64,
    #[serde(deserialize_with = "null_as_default")]
    pub tags_set: BTreeSet<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub topic: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        SubscriptionData {
            class_filter_mode: false,
            code_set: BTreeSet::new(),
            expression_type: tag_type(),
            filter_class_source: None,
            sub_string: String::new(),
            sub_version: 0,
            tags_set: BTreeSet::new(),
            topic: String::new(),
        }
    }
}

impl SubscriptionData {
    /// Java's `ExpressionType.isTagType`: absent, empty or exactly `TAG`.
    pub fn is_tag_type(&self) -> bool {
        self.expression_type.is_empty() || self.expression_type == EXPRESSION_TYPE_TAG
    }

    /// A tag subscription to everything (`*`, or nothing at all).
    pub fn subscribes_all(&self) -> bool {
        let sub = self.sub_string.trim();
        sub.is_empty() || sub == SUB_ALL
    }
}

/// One consumer group a client instance belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    /// A [`ConsumeFromWhere`] name; empty when the client sent none (Java: null, not written).
    #[serde(
        deserialize_with = "canonical_name::<_, ConsumeFromWhere>",
        skip_serializing_if = "String::is_empty"
    )]
    pub consume_from_where: String,
    /// A [`ConsumeType`] name; empty when the client sent none (Java: null, not written).
    #[serde(
        deserialize_with = "canonical_name::<_, ConsumeType>",
        skip_serializing_if = "String::is_empty"
    )]
    pub consume_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub group_name: String,
    /// A [`MessageModel`] name; empty when the client sent none (Java: null, not written).
    #[serde(
        deserialize_with = "canonical_name::<_, MessageModel>",
        skip_serializing_if = "String::is_empty"
    )]
    pub message_model: String,
    #[serde(deserialize_with = "null_as_default")]
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(deserialize_with = "null_as_default")]
    pub unit_mode: bool,
}

/// One producer group a client instance belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    #[serde(deserialize_with = "null_as_default")]
    pub group_name: String,
}

/// The HEART_BEAT request body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    /// `clientIP@instanceName[@unitName]`.
    #[serde(rename = "clientID", deserialize_with = "null_as_default")]
    pub client_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub consumer_data_set: Vec<ConsumerData>,
    /// 5.x heartbeat V2; other clients leave it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_fingerprint: Option<i32>,
    #[serde(deserialize_with = "null_as_default")]
    pub producer_data_set: Vec<ProducerData>,
    /// 5.x heartbeat V2: subscriptions left out, keep the stored ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_sub: Option<bool>,
}

impl JsonBody for HeartbeatData {}

impl HeartbeatData {
    /// Whether this heartbeat omits subscriptions (5.x V2 with `withoutSub=true`).
    pub fn is_without_sub(&self) -> bool {
        self.without_sub.unwrap_or(false)
    }
}

/// The CHECK_CLIENT_CONFIG (46) request body: a consumer asks, before it starts, whether
/// the broker can filter by its non-TAG subscription (Java's `CheckClientRequestBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientRequestBody {
    #[serde(deserialize_with = "null_as_default")]
    pub client_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub group: String,
    pub subscription_data: Option<SubscriptionData>,
}

impl JsonBody for CheckClientRequestBody {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::body::fastjson;

    /// Reference §3.6: a Java 5.x push consumer with its inner producer group.
    const JAVA_HEARTBEAT: &str = r#"{"clientID":"192.168.0.20@12345#1234567890123","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg1","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000000,"tagsSet":["TagA","TagB"],"topic":"TopicTest"},{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000001,"tagsSet":[],"topic":"%RETRY%cg1"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;

    /// What the C++ client (PyPI rocketmq 0.4.4) really sends: numeric enums, numbers as
    /// strings, subscriptions without code or tag sets, and `codeSet` from `atoi(tag)`.
    #[test]
    fn the_cpp_clients_heartbeat_decodes() {
        let body = br#"{"clientID":"1225-127.0.0.1@DEFAULT","consumerDataSet":[{"consumeFromWhere":0,"consumeType":1,"groupName":"G_py_c2","messageModel":1,"subscriptionDataSet":[{"subString":"*","subVersion":"1795310370377","topic":"%RETRY%G_py_c2"},{"codeSet":[0,0],"subString":"TagA || TagB","subVersion":"1795310370377","tagsSet":["TagA","TagB"],"topic":"T_py_c2"}]}]}"#;
        let hb = HeartbeatData::decode(body).unwrap();
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.group_name, "G_py_c2");
        assert_eq!(c.subscription_data_set.len(), 2);
        assert_eq!(c.subscription_data_set[1].sub_version, 1795310370377);
        assert!(c.subscription_data_set[1].tags_set.contains("TagB"));
    }

    #[test]
    fn java_heartbeat_decodes_and_encodes_back_byte_for_byte() {
        let hb = HeartbeatData::decode(JAVA_HEARTBEAT.as_bytes()).unwrap();
        assert_eq!(hb.client_id, "192.168.0.20@12345#1234567890123");
        assert_eq!(hb.heartbeat_fingerprint, Some(0));
        assert!(!hb.is_without_sub());
        assert_eq!(hb.producer_data_set[0].group_name, "CLIENT_INNER_PRODUCER");
        let consumer = &hb.consumer_data_set[0];
        assert_eq!(consumer.group_name, "cg1");
        assert_eq!(
            ConsumeType::from_wire(&consumer.consume_type),
            Some(ConsumeType::ConsumePassively)
        );
        assert_eq!(
            MessageModel::from_wire(&consumer.message_model),
            Some(MessageModel::Clustering)
        );
        assert_eq!(
            ConsumeFromWhere::from_wire(&consumer.consume_from_where),
            Some(ConsumeFromWhere::ConsumeFromLastOffset)
        );
        let sub = &consumer.subscription_data_set[0];
        assert_eq!(sub.code_set, BTreeSet::from([2_598_919, 2_598_920]));
        assert_eq!(sub.tags_set.len(), 2);
        assert_eq!(sub.sub_version, 1_700_000_000_000);
        assert!(sub.is_tag_type() && !sub.subscribes_all());
        assert!(consumer.subscription_data_set[1].subscribes_all());

        assert_eq!(std::str::from_utf8(&hb.encode()).unwrap(), JAVA_HEARTBEAT);
    }

    #[test]
    fn go_heartbeat_with_string_codes_upper_cased_model_and_nulls_decodes() {
        let go = br#"{"clientID":"10.0.0.5@1234","producerDataSet":null,"consumerDataSet":[{"groupName":"go_cg","consumeType":"CONSUME_PASSIVELY","messageModel":"Clustering","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"TagA","tagsSet":["TagA"],"codeSet":["2598919"],"subVersion":1700000000000,"expressionType":"TAG"}],"unitMode":false}]}"#;
        let hb = HeartbeatData::decode(go).unwrap();
        assert!(hb.producer_data_set.is_empty());
        assert_eq!(hb.heartbeat_fingerprint, None);
        let consumer = &hb.consumer_data_set[0];
        assert_eq!(consumer.message_model, "CLUSTERING");
        assert_eq!(
            consumer.subscription_data_set[0].code_set,
            BTreeSet::from([2_598_919])
        );
        // Re-encoded in the Java form: no V2 fields, numeric codes.
        let json = hb.encode();
        let text = std::str::from_utf8(&json).unwrap();
        assert!(text.contains(r#""codeSet":[2598919]"#), "{text}");
        assert!(!text.contains("heartbeatFingerprint"));
        assert!(text.contains(r#""messageModel":"CLUSTERING""#));
    }

    #[test]
    fn ali_ons_heartbeat_without_optional_members_gets_java_defaults() {
        let ons = br#"{"clientID":"10.0.0.6@9","consumerDataSet":[{"groupName":"ons_cg","consumeType":"CONSUME_PASSIVELY","messageModel":"BROADCASTING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"T","subString":"*","classFilterMode":false,"tagsSet":[],"codeSet":[],"subVersion":1700000000000}]}],"producerDataSet":[]}"#;
        let hb = HeartbeatData::decode(ons).unwrap();
        let consumer = &hb.consumer_data_set[0];
        assert!(!consumer.unit_mode);
        assert_eq!(consumer.message_model, MessageModel::Broadcasting.as_str());
        assert_eq!(consumer.subscription_data_set[0].expression_type, "TAG");
    }

    #[test]
    fn unknown_enum_names_are_kept_and_nulls_become_absent() {
        let hb = HeartbeatData::decode(
            br#"{"consumerDataSet":[{"consumeType":"CONSUME_SIDEWAYS","messageModel":null,"consumeFromWhere":3,"subscriptionDataSet":[{"expressionType":null,"codeSet":null,"tagsSet":null,"topic":null}]}]}"#,
        )
        .unwrap();
        let consumer = &hb.consumer_data_set[0];
        assert_eq!(consumer.consume_type, "CONSUME_SIDEWAYS");
        assert_eq!(ConsumeType::from_wire(&consumer.consume_type), None);
        assert!(consumer.message_model.is_empty() && consumer.consume_from_where.is_empty());
        let sub = &consumer.subscription_data_set[0];
        assert_eq!(sub.expression_type, "TAG");
        assert!(sub.code_set.is_empty() && sub.tags_set.is_empty() && sub.topic.is_empty());
        let json = hb.encode();
        let text = std::str::from_utf8(&json).unwrap();
        assert!(
            text.contains(r#""consumeType":"CONSUME_SIDEWAYS""#),
            "{text}"
        );
        assert!(!text.contains("messageModel") && !text.contains("consumeFromWhere"));
    }

    #[test]
    fn code_set_wraps_out_of_range_numbers_and_rejects_text() {
        let sub: SubscriptionData =
            fastjson::from_json(br#"{"codeSet":[4294967295, " -5 ", 2.0]}"#).unwrap();
        assert_eq!(sub.code_set, BTreeSet::from([-5, -1, 2]));
        assert!(fastjson::from_json::<SubscriptionData>(br#"{"codeSet":["TagA"]}"#).is_err());
    }

    #[test]
    fn filter_class_source_is_read_but_never_written() {
        let sub: SubscriptionData =
            fastjson::from_json(br#"{"topic":"T","filterClassSource":"class X {}"}"#).unwrap();
        assert_eq!(sub.filter_class_source.as_deref(), Some("class X {}"));
        assert!(!std::str::from_utf8(&fastjson::to_json(&sub))
            .unwrap()
            .contains("filterClassSource"));
    }

    #[test]
    fn heartbeat_decoder_never_panics() {
        let alphabet = br#"{}[]:,"\-0123456789 codeSettagsSetclientIDnull"#;
        for input in super::super::arbitrary_inputs(500, alphabet) {
            if let Ok(hb) = HeartbeatData::decode(&input) {
                let _ = HeartbeatData::decode(&hb.encode());
            }
        }
    }
}
