//! Bodies of the broker's answers to clients and admin tools: the consumer list of a group,
//! group lists, consumer and producer connections, and the statistics tables `mqadmin` and
//! dashboards read (consume progress per queue, offsets per queue of a topic).
//!
//! The statistics tables are maps keyed by [`MessageQueue`], which fastjson writes with the
//! queue object itself as key; they are written and read through the helpers in
//! [`super::queue`]. Their `double` members are written the way fastjson writes a Java
//! `double`, always with a fraction (`0.0`).

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::queue::{from_json_with_object_keys, queue_map, write_queue_map, MessageQueue};
use crate::protocol::body::fastjson::{self, null_as_default, Escape, JsonBody, JsonWriter};
use crate::protocol::body::heartbeat::{
    canonical_name, ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData,
};
use crate::protocol::error::ProtocolError;

/// GET_CONSUMER_LIST_BY_GROUP response body (`GetConsumerListByGroupResponseBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerList {
    #[serde(deserialize_with = "null_as_default")]
    pub consumer_id_list: Vec<String>,
}

impl JsonBody for ConsumerList {}

/// `{"groupList":[…]}`: QUERY_TOPIC_CONSUME_BY_WHO and other group queries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    #[serde(deserialize_with = "null_as_default")]
    pub group_list: Vec<String>,
}

impl JsonBody for GroupList {}

// Fields are declared in alphabetical order because serde writes them in declaration order
// and fastjson sorts bean properties alphabetically.

/// One client channel of a group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// The peer's `ip:port` as the broker sees it.
    #[serde(deserialize_with = "null_as_default")]
    pub client_addr: String,
    #[serde(deserialize_with = "null_as_default")]
    pub client_id: String,
    /// The `LanguageCode` name the client reported, e.g. `JAVA`.
    #[serde(deserialize_with = "null_as_default")]
    pub language: String,
    /// The client's `version` ordinal.
    #[serde(deserialize_with = "null_as_default")]
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    #[serde(deserialize_with = "null_as_default")]
    pub connection_set: Vec<Connection>,
    /// A [`ConsumeFromWhere`] name; empty (not written) when unknown.
    #[serde(
        deserialize_with = "canonical_name::<_, ConsumeFromWhere>",
        skip_serializing_if = "String::is_empty"
    )]
    pub consume_from_where: String,
    /// A [`ConsumeType`] name; empty (not written) when unknown.
    #[serde(
        deserialize_with = "canonical_name::<_, ConsumeType>",
        skip_serializing_if = "String::is_empty"
    )]
    pub consume_type: String,
    /// A [`MessageModel`] name; empty (not written) when unknown.
    #[serde(
        deserialize_with = "canonical_name::<_, MessageModel>",
        skip_serializing_if = "String::is_empty"
    )]
    pub message_model: String,
    /// Topic → subscription.
    #[serde(deserialize_with = "null_as_default")]
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

impl JsonBody for ConsumerConnection {}

/// GET_PRODUCER_CONNECTION_LIST response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    #[serde(deserialize_with = "null_as_default")]
    pub connection_set: Vec<Connection>,
}

impl JsonBody for ProducerConnection {}

/// A group's progress on one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// The queue's max offset.
    #[serde(deserialize_with = "null_as_default")]
    pub broker_offset: i64,
    /// The group's committed offset.
    #[serde(deserialize_with = "null_as_default")]
    pub consumer_offset: i64,
    /// Store time of the last consumed message.
    #[serde(deserialize_with = "null_as_default")]
    pub last_timestamp: i64,
    /// 5.x: the offset the group has pulled up to.
    #[serde(deserialize_with = "null_as_default")]
    pub pull_offset: i64,
}

/// GET_CONSUME_STATS response body.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    #[serde(deserialize_with = "null_as_default")]
    pub consume_tps: f64,
    #[serde(deserialize_with = "queue_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl ConsumeStats {
    /// fastjson's form: queue-object keys, `consumeTps` with a fraction.
    pub fn encode(&self) -> Bytes {
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        w.key("consumeTps")
            .raw(java_double(self.consume_tps).as_bytes());
        w.key("offsetTable")
            .raw(&write_queue_map(&self.offset_table, fastjson::to_json));
        w.end_object();
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        from_json_with_object_keys(bytes)
    }

    /// Java's `computeTotalDiff`: messages the group has yet to consume, over all queues.
    pub fn total_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|o| o.broker_offset.saturating_sub(o.consumer_offset))
            .fold(0i64, i64::saturating_add)
    }
}

/// The offsets of one queue of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Store time of the queue's last message.
    #[serde(deserialize_with = "null_as_default")]
    pub last_update_timestamp: i64,
    #[serde(deserialize_with = "null_as_default")]
    pub max_offset: i64,
    #[serde(deserialize_with = "null_as_default")]
    pub min_offset: i64,
}

/// GET_TOPIC_STATS_INFO response body.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    #[serde(deserialize_with = "queue_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    /// 5.x.
    #[serde(deserialize_with = "null_as_default")]
    pub topic_put_tps: f64,
}

impl TopicStatsTable {
    /// fastjson's form: queue-object keys, `topicPutTps` with a fraction.
    pub fn encode(&self) -> Bytes {
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        w.key("offsetTable")
            .raw(&write_queue_map(&self.offset_table, fastjson::to_json));
        w.key("topicPutTps")
            .raw(java_double(self.topic_put_tps).as_bytes());
        w.end_object();
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        from_json_with_object_keys(bytes)
    }
}

/// INVOKE_BROKER_TO_RESET_OFFSET response and RESET_CONSUMER_CLIENT_OFFSET request body
/// (`ResetOffsetBody`): the offset each queue was reset to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    #[serde(deserialize_with = "queue_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl ResetOffsetBody {
    /// fastjson's form: queue-object keys.
    pub fn encode(&self) -> Bytes {
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        w.key("offsetTable")
            .raw(&write_queue_map(&self.offset_table, fastjson::to_json));
        w.end_object();
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        from_json_with_object_keys(bytes)
    }
}

/// One window of a broker statistic (`BrokerStatsItem`): the sum over the window, the
/// rate per second, and the average value per event (`avgpt`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsItem {
    #[serde(deserialize_with = "null_as_default")]
    pub avgpt: f64,
    #[serde(deserialize_with = "null_as_default")]
    pub sum: i64,
    #[serde(deserialize_with = "null_as_default")]
    pub tps: f64,
}

/// VIEW_BROKER_STATS_DATA response body (`BrokerStatsData`): the last minute, hour and day.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsData {
    pub stats_day: BrokerStatsItem,
    pub stats_hour: BrokerStatsItem,
    pub stats_minute: BrokerStatsItem,
}

impl BrokerStatsData {
    /// fastjson's form: doubles always with a fraction.
    pub fn encode(&self) -> Bytes {
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        for (name, item) in [
            ("statsDay", &self.stats_day),
            ("statsHour", &self.stats_hour),
            ("statsMinute", &self.stats_minute),
        ] {
            w.key(name).begin_object();
            w.key("avgpt").raw(java_double(item.avgpt).as_bytes());
            w.key("sum").number(item.sum);
            w.key("tps").raw(java_double(item.tps).as_bytes());
            w.end_object();
        }
        w.end_object();
        w.finish()
    }
}

/// A `double` as fastjson writes it (Java's `Double.toString` digits): `0.0`, `12.5`,
/// `1.0E7`, `1.0E-4`; NaN and infinities as `null`.
pub fn java_double(value: f64) -> String {
    if !value.is_finite() {
        return "null".to_owned();
    }
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let mut text = format!("{value}");
        if !text.contains('.') {
            text.push_str(".0");
        }
        text
    } else {
        let text = format!("{value:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let fraction = if mantissa.contains('.') { "" } else { ".0" };
        format!("{mantissa}{fraction}E{exponent}")
    }
}

/// A consumer's answer to CONSUME_MESSAGE_DIRECTLY (`ConsumeMessageDirectlyResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeMessageDirectlyResult {
    #[serde(deserialize_with = "null_as_default")]
    pub order: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub auto_commit: bool,
    /// The `CMResult` name (`CR_SUCCESS`, `CR_LATER`, ...); `None` is Java's null.
    pub consume_result: Option<String>,
    pub remark: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub spent_time_mills: i64,
}

impl Default for ConsumeMessageDirectlyResult {
    fn default() -> Self {
        ConsumeMessageDirectlyResult {
            order: false,
            auto_commit: true,
            consume_result: None,
            remark: None,
            spent_time_mills: 0,
        }
    }
}

impl JsonBody for ConsumeMessageDirectlyResult {}

impl std::fmt::Display for ConsumeMessageDirectlyResult {
    /// Java's `toString`, which `mqadmin queryMsgById -g -d` prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ConsumeMessageDirectlyResult [order={}, autoCommit={}, consumeResult={}, remark={}, spentTimeMills={}]",
            self.order,
            self.auto_commit,
            self.consume_result.as_deref().unwrap_or("null"),
            self.remark.as_deref().unwrap_or("null"),
            self.spent_time_mills
        )
    }
}

/// The part of a consumer's `ConsumerRunningInfo` (its answer to GET_CONSUMER_RUNNING_INFO,
/// relayed by the broker) that `mqadmin` reads: the queues the consumer holds now (the keys
/// of `mqTable`) and its `properties`. The rest (process-queue details, status, jstack) is
/// skipped.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerRunningInfo {
    #[serde(deserialize_with = "queue_map")]
    pub mq_table: BTreeMap<MessageQueue, serde::de::IgnoredAny>,
    #[serde(deserialize_with = "null_as_default")]
    pub properties: BTreeMap<String, serde_json::Value>,
}

impl ConsumerRunningInfo {
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        from_json_with_object_keys(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference §3.9.
    /// fastjson's form of a Java push consumer's ConsumerRunningInfo (4.9.8), cut to one queue.
    const RUNNING_INFO: &str = r#"{"jstack":null,"mqTable":{{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:{"cachedMsgCount":0,"cachedMsgMaxOffset":0,"cachedMsgMinOffset":0,"cachedMsgSizeInMiB":0,"commitOffset":12,"droped":false,"lastConsumeTimestamp":1700000000000,"lastLockTimestamp":1700000000000,"lastPullTimestamp":1700000000000,"locked":false,"transactionMsgCount":0,"transactionMsgMaxOffset":0,"transactionMsgMinOffset":0,"tryUnlockTimes":0}},"properties":{"PROP_CLIENT_VERSION":"V4_9_8","PROP_CONSUME_TYPE":"CONSUME_PASSIVELY","PROP_THREADPOOL_CORE_SIZE":"20","PROP_CONSUMER_START_TIMESTAMP":"1700000000000"},"statusTable":{"TopicTest":{"consumeFailedMsgs":0,"consumeFailedTPS":0.0,"consumeOKTPS":0.0,"consumeRT":0.0,"pullRT":1.0,"pullTPS":0.0}},"subscriptionSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"TopicTest"}]}"#;

    #[test]
    fn a_direct_consume_result_prints_as_java_does() {
        let r: ConsumeMessageDirectlyResult = fastjson::from_json(
            br#"{"autoCommit":true,"consumeResult":"CR_SUCCESS","order":false,"spentTimeMills":3}"#,
        )
        .unwrap();
        assert_eq!(
            r.to_string(),
            "ConsumeMessageDirectlyResult [order=false, autoCommit=true, consumeResult=CR_SUCCESS, remark=null, spentTimeMills=3]"
        );
        let empty: ConsumeMessageDirectlyResult = fastjson::from_json(b"{}").unwrap();
        assert!(empty.auto_commit);
    }

    #[test]
    fn running_info_yields_the_queues_a_consumer_holds() {
        let info = ConsumerRunningInfo::decode(RUNNING_INFO.as_bytes()).unwrap();
        assert_eq!(
            info.mq_table.keys().collect::<Vec<_>>(),
            [&MessageQueue::new("TopicTest", "broker-a", 1)]
        );
        assert_eq!(info.properties["PROP_CLIENT_VERSION"], "V4_9_8");
        assert!(ConsumerRunningInfo::decode(b"{}")
            .unwrap()
            .mq_table
            .is_empty());
        assert!(ConsumerRunningInfo::decode(b"{\"mqTable\":{\"x\":1}}").is_err());
    }

    const CONSUME_STATS: &str = r#"{"consumeTps":0.0,"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"brokerOffset":100,"consumerOffset":90,"lastTimestamp":1700000000000,"pullOffset":95}}}"#;
    const TOPIC_STATS: &str = r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"lastUpdateTimestamp":1700000000000,"maxOffset":100,"minOffset":0}},"topicPutTps":0.0}"#;
    const CONSUMER_CONNECTION: &str = r#"{"connectionSet":[{"clientAddr":"192.168.0.20:53422","clientId":"192.168.0.20@12345#1234567890123","language":"JAVA","version":479}],"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":{"TopicTest":{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"TopicTest"}}}"#;

    fn queue0() -> MessageQueue {
        MessageQueue::new("TopicTest", "broker-a", 0)
    }

    #[test]
    fn reset_offset_and_stats_bodies_round_trip_in_fastjson_form() {
        let body = ResetOffsetBody {
            offset_table: BTreeMap::from([(queue0(), 42)]),
        };
        let bytes = body.encode();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:42}}"#
        );
        assert_eq!(ResetOffsetBody::decode(&bytes).unwrap(), body);
        let stats = BrokerStatsData {
            stats_minute: BrokerStatsItem {
                avgpt: 0.0,
                sum: 60,
                tps: 1.0,
            },
            ..Default::default()
        };
        let text = String::from_utf8(stats.encode().to_vec()).unwrap();
        assert!(
            text.contains(r#""statsMinute":{"avgpt":0.0,"sum":60,"tps":1.0}"#),
            "{text}"
        );
        assert_eq!(
            fastjson::from_json::<BrokerStatsData>(text.as_bytes()).unwrap(),
            stats
        );
    }

    #[test]
    fn consume_stats_match_reference_bytes() {
        let stats = ConsumeStats {
            consume_tps: 0.0,
            offset_table: BTreeMap::from([(
                queue0(),
                OffsetWrapper {
                    broker_offset: 100,
                    consumer_offset: 90,
                    last_timestamp: 1_700_000_000_000,
                    pull_offset: 95,
                },
            )]),
        };
        assert_eq!(std::str::from_utf8(&stats.encode()).unwrap(), CONSUME_STATS);
        assert_eq!(
            ConsumeStats::decode(CONSUME_STATS.as_bytes()).unwrap(),
            stats
        );
        assert_eq!(stats.total_diff(), 10);
    }

    #[test]
    fn consume_stats_from_4_9_without_pull_offset_decode() {
        let stats = ConsumeStats::decode(
            br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"brokerOffset":3,"consumerOffset":1,"lastTimestamp":0}}}"#,
        )
        .unwrap();
        assert_eq!(stats.consume_tps, 1.5);
        assert_eq!(
            stats.offset_table[&MessageQueue::new("T", "b", 1)].pull_offset,
            0
        );
    }

    #[test]
    fn topic_stats_match_reference_bytes() {
        let stats = TopicStatsTable {
            offset_table: BTreeMap::from([(
                queue0(),
                TopicOffset {
                    last_update_timestamp: 1_700_000_000_000,
                    max_offset: 100,
                    min_offset: 0,
                },
            )]),
            topic_put_tps: 0.0,
        };
        assert_eq!(std::str::from_utf8(&stats.encode()).unwrap(), TOPIC_STATS);
        assert_eq!(
            TopicStatsTable::decode(TOPIC_STATS.as_bytes()).unwrap(),
            stats
        );
        assert_eq!(
            &TopicStatsTable::default().encode()[..],
            br#"{"offsetTable":{},"topicPutTps":0.0}"#
        );
    }

    #[test]
    fn consumer_connection_matches_reference_bytes() {
        let conn = ConsumerConnection::decode(CONSUMER_CONNECTION.as_bytes()).unwrap();
        assert_eq!(conn.connection_set[0].version, 479);
        assert_eq!(conn.message_model, "CLUSTERING");
        assert!(conn.subscription_table["TopicTest"].subscribes_all());
        assert_eq!(
            std::str::from_utf8(&conn.encode()).unwrap(),
            CONSUMER_CONNECTION
        );
    }

    #[test]
    fn small_list_bodies_match_reference_bytes() {
        let list = ConsumerList {
            consumer_id_list: vec![
                "192.168.0.20@12345#1234567890123".into(),
                "192.168.0.21@777#99".into(),
            ],
        };
        let text =
            r#"{"consumerIdList":["192.168.0.20@12345#1234567890123","192.168.0.21@777#99"]}"#;
        assert_eq!(&list.encode()[..], text.as_bytes());
        assert_eq!(ConsumerList::decode(text.as_bytes()).unwrap(), list);
        let groups = GroupList {
            group_list: vec!["cg1".into()],
        };
        assert_eq!(&groups.encode()[..], br#"{"groupList":["cg1"]}"#);
        let producers = ProducerConnection {
            connection_set: vec![Connection {
                client_addr: "10.0.0.1:5000".into(),
                client_id: "10.0.0.1@1".into(),
                language: "GO".into(),
                version: 317,
            }],
        };
        assert_eq!(
            &producers.encode()[..],
            br#"{"connectionSet":[{"clientAddr":"10.0.0.1:5000","clientId":"10.0.0.1@1","language":"GO","version":317}]}"#
        );
    }

    #[test]
    fn doubles_are_written_like_fastjson() {
        for (value, text) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (12.5, "12.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (1.25e10, "1.25E10"),
            (f64::NAN, "null"),
            (f64::INFINITY, "null"),
        ] {
            assert_eq!(java_double(value), text, "{value}");
        }
    }

    #[test]
    fn admin_decoders_never_panic() {
        let alphabet = br#"{}[]:,"\-0123456789. brokerNamequeueIdtopicoffsetTable"#;
        for input in crate::protocol::body::arbitrary_inputs(500, alphabet) {
            if let Ok(stats) = ConsumeStats::decode(&input) {
                let _ = ConsumeStats::decode(&stats.encode());
            }
            if let Ok(stats) = TopicStatsTable::decode(&input) {
                let _ = TopicStatsTable::decode(&stats.encode());
            }
            let _ = ConsumerConnection::decode(&input);
            let _ = ConsumerList::decode(&input);
        }
    }
}
