//! Headers of the broker requests (reference §2.5): what clients, admin tools and the broker
//! itself put into `extFields`, named after their Java classes with the Java field names as
//! keys.
//!
//! Java marks some fields `@CFNotNull`; they are plain types here, so a request without them
//! fails to decode and is answered INVALID_PARAMETER. Every other field is an `Option`, and so
//! is a `@CFNotNull` field that a real client leaves out (C++ sends no `order` when creating a
//! topic, Go no `isForce` when resetting offsets): Java only logs a missing field and carries
//! on with the field's initial value, which the accessor methods below return for `None`.
//!
//! The optional base fields every 5.x request may carry (`ns`, `nsd`, `oway`, `lo`, and `bname`
//! outside the send and transaction headers) are not declared: they only matter to proxies and
//! static topics, and undeclared keys are ignored.

use crate::command_header;
use crate::protocol::body::heartbeat::EXPRESSION_TYPE_TAG;
use crate::protocol::code::request;
use crate::protocol::error::ProtocolError;
use crate::protocol::header::HeaderField;
use crate::protocol::RemotingCommand;

/// The region a Java broker reports in every send response when none is configured.
pub const DEFAULT_REGION: &str = "DefaultRegion";

command_header! {
    /// SEND_MESSAGE (10) request, with the long field names Go uses; SEND_MESSAGE_V2 (310) and
    /// SEND_BATCH_MESSAGE (320) carry the same fields under one-letter keys
    /// ([`SendMessageRequestHeaderV2`]). [`SendMessageRequestHeader::from_request`] reads
    /// either, as the Java broker's `parseRequestHeader` does.
    pub struct SendMessageRequestHeader {
        pub producer_group: String = "producerGroup",
        pub topic: String = "topic",
        /// Template topic for auto-creation, normally `TBW102`.
        pub default_topic: String = "defaultTopic",
        pub default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        /// Negative: the broker picks a queue.
        pub queue_id: i32 = "queueId",
        pub sys_flag: i32 = "sysFlag",
        pub born_timestamp: i64 = "bornTimestamp",
        /// The user flag, stored verbatim.
        pub flag: i32 = "flag",
        /// The encoded property string (reference §4.4).
        pub properties: Option<String> = "properties",
        pub reconsume_times: Option<i32> = "reconsumeTimes",
        pub unit_mode: Option<bool> = "unitMode",
        /// Only meaningful for `%RETRY%` topics.
        pub max_reconsume_times: Option<i32> = "maxReconsumeTimes",
        /// The body is a packed batch (reference §4.8); selected by this field, not the code.
        pub batch: Option<bool> = "batch",
        /// The target broker name (5.x base field; `n` in the V2 header).
        pub bname: Option<String> = "bname",
    }
}

command_header! {
    /// SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320) request: [`SendMessageRequestHeader`]
    /// under one-letter keys `a`..`n`. ali-ons sends only `a`..`l`, C++ `a`..`m`.
    pub struct SendMessageRequestHeaderV2 {
        pub producer_group: String = "a",
        pub topic: String = "b",
        pub default_topic: String = "c",
        pub default_topic_queue_nums: i32 = "d",
        pub queue_id: i32 = "e",
        pub sys_flag: i32 = "f",
        pub born_timestamp: i64 = "g",
        pub flag: i32 = "h",
        pub properties: Option<String> = "i",
        pub reconsume_times: Option<i32> = "j",
        pub unit_mode: Option<bool> = "k",
        pub max_reconsume_times: Option<i32> = "l",
        pub batch: Option<bool> = "m",
        pub broker_name: Option<String> = "n",
    }
}

impl SendMessageRequestHeaderV2 {
    /// Java's `createSendMessageRequestHeaderV1`: the same fields under their long names.
    pub fn into_v1(self) -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: self.producer_group,
            topic: self.topic,
            default_topic: self.default_topic,
            default_topic_queue_nums: self.default_topic_queue_nums,
            queue_id: self.queue_id,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            flag: self.flag,
            properties: self.properties,
            reconsume_times: self.reconsume_times,
            unit_mode: self.unit_mode,
            max_reconsume_times: self.max_reconsume_times,
            batch: self.batch,
            bname: self.broker_name,
        }
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        v2.into_v1()
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: SendMessageRequestHeader) -> Self {
        v1.into_v2()
    }
}

impl SendMessageRequestHeader {
    /// Java's `createSendMessageRequestHeaderV2`.
    pub fn into_v2(self) -> SendMessageRequestHeaderV2 {
        SendMessageRequestHeaderV2 {
            producer_group: self.producer_group,
            topic: self.topic,
            default_topic: self.default_topic,
            default_topic_queue_nums: self.default_topic_queue_nums,
            queue_id: self.queue_id,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            flag: self.flag,
            properties: self.properties,
            reconsume_times: self.reconsume_times,
            unit_mode: self.unit_mode,
            max_reconsume_times: self.max_reconsume_times,
            batch: self.batch,
            broker_name: self.bname,
        }
    }

    /// Reads the header of a send request: one-letter keys for SEND_MESSAGE_V2 and
    /// SEND_BATCH_MESSAGE, long names otherwise (Java's `parseRequestHeader`).
    pub fn from_request(cmd: &RemotingCommand) -> Result<Self, ProtocolError> {
        if cmd.code == request::SEND_MESSAGE_V2 || cmd.code == request::SEND_BATCH_MESSAGE {
            cmd.decode_header::<SendMessageRequestHeaderV2>()
                .map(SendMessageRequestHeaderV2::into_v1)
        } else {
            cmd.decode_header()
        }
    }

    /// The body is a packed batch.
    pub fn is_batch(&self) -> bool {
        self.batch.unwrap_or(false)
    }

    pub fn is_unit_mode(&self) -> bool {
        self.unit_mode.unwrap_or(false)
    }
}

command_header! {
    /// SEND_MESSAGE / SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE response.
    ///
    /// `MSG_REGION` and `TRACE_ON` are not fields of the Java class: the broker adds them to
    /// the ext fields beside it, and the Java client reads them without a null check on the
    /// map. They are declared here so a response built with [`SendMessageResponseHeader::new`]
    /// cannot leave them out.
    pub struct SendMessageResponseHeader {
        /// The offset message id (reference §4.6); comma-joined ids for a batch.
        pub msg_id: String = "msgId",
        pub queue_id: i32 = "queueId",
        /// Logical offset of the (first) message.
        pub queue_offset: i64 = "queueOffset",
        /// 5.x: the message's UNIQ_KEY.
        pub transaction_id: Option<String> = "transactionId",
        /// 5.x inner-batch topics only.
        pub batch_uniq_id: Option<String> = "batchUniqId",
        /// 5.x timer messages only.
        pub recall_handle: Option<String> = "recallHandle",
        pub msg_region: Option<String> = "MSG_REGION",
        pub trace_on: Option<bool> = "TRACE_ON",
    }
}

impl SendMessageResponseHeader {
    /// A response with the region and trace switch a default Java broker reports.
    pub fn new(msg_id: String, queue_id: i32, queue_offset: i64) -> Self {
        SendMessageResponseHeader {
            msg_id,
            queue_id,
            queue_offset,
            msg_region: Some(DEFAULT_REGION.to_owned()),
            trace_on: Some(true),
            ..SendMessageResponseHeader::default()
        }
    }
}

command_header! {
    /// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) request.
    pub struct PullMessageRequestHeader {
        pub consumer_group: String = "consumerGroup",
        pub topic: String = "topic",
        pub queue_id: i32 = "queueId",
        /// Logical offset to read from.
        pub queue_offset: i64 = "queueOffset",
        pub max_msg_nums: i32 = "maxMsgNums",
        /// `PullSysFlag` bits: 0x1 commit offset, 0x2 suspend, 0x4 subscription, 0x8 class
        /// filter, 0x10 lite pull.
        pub sys_flag: i32 = "sysFlag",
        /// Consumer progress to store when sys flag bit 0x1 is set.
        pub commit_offset: i64 = "commitOffset",
        /// Long-poll hold time.
        pub suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        /// The expression; only used when sys flag bit 0x4 is set.
        pub subscription: Option<String> = "subscription",
        pub sub_version: i64 = "subVersion",
        /// `TAG` or `SQL92`; absent (and Go's empty string) mean `TAG`.
        pub expression_type: Option<String> = "expressionType",
        /// 5.x.
        pub max_msg_bytes: Option<i32> = "maxMsgBytes",
        /// Proxy use.
        pub request_source: Option<i32> = "requestSource",
        /// Proxy use (the Java spelling).
        pub proxy_froward_client_id: Option<String> = "proxyFrowardClientId",
    }
}

impl PullMessageRequestHeader {
    /// The expression type with Java's default: `TAG` when absent or empty.
    pub fn effective_expression_type(&self) -> &str {
        match self.expression_type.as_deref() {
            None | Some("") => EXPRESSION_TYPE_TAG,
            Some(t) => t,
        }
    }
}

command_header! {
    /// PULL_MESSAGE response. The first four fields are required by every client and are
    /// therefore always written.
    pub struct PullMessageResponseHeader {
        /// 0: keep pulling from the master.
        pub suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        pub next_begin_offset: i64 = "nextBeginOffset",
        pub min_offset: i64 = "minOffset",
        /// Exclusive: the next offset to be written.
        pub max_offset: i64 = "maxOffset",
        /// Static topics only.
        pub offset_delta: Option<i64> = "offsetDelta",
        pub topic_sys_flag: Option<i32> = "topicSysFlag",
        pub group_sys_flag: Option<i32> = "groupSysFlag",
        /// With NO_PERMISSION: 1 broker, 2 group, 3 topic, 4 broadcast disabled, 5 subscription.
        pub forbidden_type: Option<i32> = "forbiddenType",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET (14) request.
    pub struct QueryConsumerOffsetRequestHeader {
        pub consumer_group: String = "consumerGroup",
        pub topic: String = "topic",
        pub queue_id: i32 = "queueId",
        /// 5.x; absent means true.
        pub set_zero_if_not_found: Option<bool> = "setZeroIfNotFound",
    }
}

impl QueryConsumerOffsetRequestHeader {
    /// Whether an unknown offset may be answered 0 (Java: unless explicitly false).
    pub fn zero_if_not_found(&self) -> bool {
        self.set_zero_if_not_found.unwrap_or(true)
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET response.
    pub struct QueryConsumerOffsetResponseHeader {
        pub offset: i64 = "offset",
    }
}

/// The ext field (value "true") a Ferrocket slave adds to UPDATE_CONSUMER_OFFSET when it
/// hands back to its master an offset a client committed on the slave while the master
/// was down: the master keeps the larger of that and its own. A Java master ignores the
/// field and overwrites, which is still the consumers' progress.
pub const SLAVE_HAND_BACK: &str = "ferrocketSlaveHandBack";

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15) request; usually oneway.
    pub struct UpdateConsumerOffsetRequestHeader {
        pub consumer_group: String = "consumerGroup",
        pub topic: String = "topic",
        pub queue_id: i32 = "queueId",
        pub commit_offset: i64 = "commitOffset",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30) request.
    pub struct GetMaxOffsetRequestHeader {
        pub topic: String = "topic",
        pub queue_id: i32 = "queueId",
        /// 5.x; absent means true.
        pub committed: Option<bool> = "committed",
    }
}

impl GetMaxOffsetRequestHeader {
    pub fn is_committed(&self) -> bool {
        self.committed.unwrap_or(true)
    }
}

command_header! {
    /// GET_MAX_OFFSET response: the exclusive max logical offset.
    pub struct GetMaxOffsetResponseHeader {
        pub offset: i64 = "offset",
    }
}

command_header! {
    /// GET_MIN_OFFSET (31) request.
    pub struct GetMinOffsetRequestHeader {
        pub topic: String = "topic",
        pub queue_id: i32 = "queueId",
    }
}

command_header! {
    /// GET_MIN_OFFSET response.
    pub struct GetMinOffsetResponseHeader {
        pub offset: i64 = "offset",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) request.
    pub struct GetEarliestMsgStoretimeRequestHeader {
        pub topic: String = "topic",
        pub queue_id: i32 = "queueId",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME response: store time of the queue's first message.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        pub timestamp: i64 = "timestamp",
    }
}

/// Which offset SEARCH_OFFSET_BY_TIMESTAMP returns when several messages share a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundaryType {
    #[default]
    Lower,
    Upper,
}

impl HeaderField for BoundaryType {
    /// Java's `BoundaryType.getType`: `upper` in any case, everything else is lower.
    fn parse_field(name: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError> {
        let raw = raw.ok_or(ProtocolError::MissingField(name))?;
        Ok(if raw.eq_ignore_ascii_case("upper") {
            BoundaryType::Upper
        } else {
            BoundaryType::Lower
        })
    }

    /// The enum name, as Java's `String.valueOf` writes it.
    fn render_field(&self) -> Option<String> {
        Some(
            match self {
                BoundaryType::Lower => "LOWER",
                BoundaryType::Upper => "UPPER",
            }
            .to_owned(),
        )
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29) request.
    pub struct SearchOffsetRequestHeader {
        pub topic: String = "topic",
        pub queue_id: i32 = "queueId",
        pub timestamp: i64 = "timestamp",
        /// 5.x; absent means lower.
        pub boundary_type: Option<BoundaryType> = "boundaryType",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP response.
    pub struct SearchOffsetResponseHeader {
        pub offset: i64 = "offset",
    }
}

command_header! {
    /// QUERY_MESSAGE (12) request.
    pub struct QueryMessageRequestHeader {
        pub topic: String = "topic",
        pub key: String = "key",
        pub max_num: i32 = "maxNum",
        pub begin_timestamp: i64 = "beginTimestamp",
        pub end_timestamp: i64 = "endTimestamp",
        /// Not a field of the Java class but an ext field beside it
        /// (`MixAll.UNIQUE_MSG_QUERY_FLAG`): the key is a UNIQ_KEY, so the broker caps the
        /// result at `defaultQueryMaxNum`.
        pub unique_key_query: Option<bool> = "_UNIQUE_KEY_QUERY",
    }
}

command_header! {
    /// QUERY_MESSAGE response.
    pub struct QueryMessageResponseHeader {
        pub index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        pub index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33) request.
    pub struct ViewMessageRequestHeader {
        /// CommitLog physical offset.
        pub offset: i64 = "offset",
        /// 5.x.
        pub topic: Option<String> = "topic",
    }
}

command_header! {
    /// UNREGISTER_CLIENT (35) request. C++ sends empty strings for the group it does not
    /// mean; treat an empty group as absent.
    pub struct UnregisterClientRequestHeader {
        pub client_id: String = "clientID",
        pub producer_group: Option<String> = "producerGroup",
        pub consumer_group: Option<String> = "consumerGroup",
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38) request.
    pub struct GetConsumerListByGroupRequestHeader {
        pub consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40), broker → consumer, oneway.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        pub consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// HEART_BEAT (34) response ext fields a 5.x broker adds (no Java header class).
    pub struct HeartbeatResponseHeader {
        pub is_support_heart_beat_v2: Option<bool> = "IS_SUPPORT_HEART_BEAT_V2",
        pub is_sub_change: Option<bool> = "IS_SUB_CHANGE",
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36) request.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// CommitLog physical offset of the original message.
        pub offset: i64 = "offset",
        pub group: String = "group",
        /// 0: the broker chooses; negative: straight to the DLQ.
        pub delay_level: i32 = "delayLevel",
        /// The original's UNIQ_KEY.
        pub origin_msg_id: Option<String> = "originMsgId",
        pub origin_topic: Option<String> = "originTopic",
        pub unit_mode: Option<bool> = "unitMode",
        /// Absent: the group's `retryMaxTimes`.
        pub max_reconsume_times: Option<i32> = "maxReconsumeTimes",
    }
}

command_header! {
    /// END_TRANSACTION (37) request; oneway from Java.
    pub struct EndTransactionRequestHeader {
        pub producer_group: String = "producerGroup",
        /// Queue offset of the half message.
        pub tran_state_table_offset: i64 = "tranStateTableOffset",
        /// Physical offset of the half message.
        pub commit_log_offset: i64 = "commitLogOffset",
        /// 0 unknown (ignored), 8 commit, 12 rollback (the sys-flag transaction values).
        pub commit_or_rollback: i32 = "commitOrRollback",
        /// Absent means false. C++ writes "1"/"0", which Java reads as false.
        pub from_transaction_check: Option<bool> = "fromTransactionCheck",
        /// The UNIQ_KEY.
        pub msg_id: String = "msgId",
        pub transaction_id: Option<String> = "transactionId",
        /// 5.x.
        pub topic: Option<String> = "topic",
        /// 5.x and Go.
        pub bname: Option<String> = "bname",
    }
}

impl EndTransactionRequestHeader {
    pub fn is_from_transaction_check(&self) -> bool {
        self.from_transaction_check.unwrap_or(false)
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39), broker → producer, oneway; the body is the half message.
    pub struct CheckTransactionStateRequestHeader {
        pub tran_state_table_offset: i64 = "tranStateTableOffset",
        pub commit_log_offset: i64 = "commitLogOffset",
        /// The UNIQ_KEY.
        pub msg_id: Option<String> = "msgId",
        pub transaction_id: Option<String> = "transactionId",
        /// Offset message id of the half record.
        pub offset_msg_id: Option<String> = "offsetMsgId",
        /// 5.x: the real topic.
        pub topic: Option<String> = "topic",
        /// 5.x: the broker's name.
        pub bname: Option<String> = "bname",
    }
}

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17) request.
    pub struct CreateTopicRequestHeader {
        pub topic: String = "topic",
        pub default_topic: String = "defaultTopic",
        pub read_queue_nums: i32 = "readQueueNums",
        pub write_queue_nums: i32 = "writeQueueNums",
        pub perm: i32 = "perm",
        /// `SINGLE_TAG` or `MULTI_TAG`.
        pub topic_filter_type: String = "topicFilterType",
        pub topic_sys_flag: Option<i32> = "topicSysFlag",
        /// Required in Java, but C++ leaves it out; absent means false.
        pub order: Option<bool> = "order",
        /// 5.x: `+k=v` / `-k`, comma separated.
        pub attributes: Option<String> = "attributes",
        /// 5.x; absent means false.
        pub force: Option<bool> = "force",
    }
}

impl CreateTopicRequestHeader {
    pub fn is_order(&self) -> bool {
        self.order.unwrap_or(false)
    }

    pub fn is_force(&self) -> bool {
        self.force.unwrap_or(false)
    }
}

command_header! {
    /// DELETE_TOPIC_IN_BROKER (215) request.
    pub struct DeleteTopicRequestHeader {
        pub topic: String = "topic",
    }
}

command_header! {
    /// GET_ALL_TOPIC_CONFIG (21) request: 5.x paging; without fields, every topic.
    pub struct GetAllTopicConfigRequestHeader {
        pub topic_seq: Option<i32> = "topicSeq",
        pub data_version: Option<String> = "dataVersion",
        pub max_topic_num: Option<i32> = "maxTopicNum",
    }
}

command_header! {
    /// GET_ALL_TOPIC_CONFIG response (5.x; 4.9 has no fields).
    pub struct GetAllTopicConfigResponseHeader {
        pub total_topic_num: Option<i32> = "totalTopicNum",
    }
}

command_header! {
    /// GET_TOPIC_STATS_INFO (202) request.
    pub struct GetTopicStatsInfoRequestHeader {
        pub topic: String = "topic",
    }
}

command_header! {
    /// GET_CONSUME_STATS (208) request.
    pub struct GetConsumeStatsRequestHeader {
        pub consumer_group: String = "consumerGroup",
        pub topic: Option<String> = "topic",
        /// 5.x: topics separated by `;`.
        pub topic_list: Option<String> = "topicList",
    }
}

command_header! {
    /// GET_BROKER_CONFIG (26) response; the body is Java-properties text.
    pub struct GetBrokerConfigResponseHeader {
        /// The configuration's data version as JSON text.
        pub version: String = "version",
    }
}

command_header! {
    /// GET_CONSUMER_CONNECTION_LIST (203) request.
    pub struct GetConsumerConnectionListRequestHeader {
        pub consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204) request.
    pub struct GetProducerConnectionListRequestHeader {
        pub producer_group: String = "producerGroup",
    }
}

command_header! {
    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) request: 5.x paging; without fields, every
    /// group.
    pub struct GetAllSubscriptionGroupRequestHeader {
        pub group_seq: Option<i32> = "groupSeq",
        pub data_version: Option<String> = "dataVersion",
        pub max_group_num: Option<i32> = "maxGroupNum",
    }
}

command_header! {
    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG response (5.x; 4.9 has no fields).
    pub struct GetAllSubscriptionGroupResponseHeader {
        pub total_group_num: Option<i32> = "totalGroupNum",
    }
}

command_header! {
    /// GET_SUBSCRIPTIONGROUP_CONFIG (352, 5.x) request.
    pub struct GetSubscriptionGroupConfigRequestHeader {
        pub group: String = "group",
    }
}

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207) request.
    pub struct DeleteSubscriptionGroupRequestHeader {
        pub group_name: String = "groupName",
        /// 5.x name of the flag.
        pub clean_offset: Option<bool> = "cleanOffset",
        /// 4.9 name of the same flag.
        pub remove_offset: Option<bool> = "removeOffset",
    }
}

impl DeleteSubscriptionGroupRequestHeader {
    /// Whether the group's consumer offsets go too, under either version's key.
    pub fn cleans_offsets(&self) -> bool {
        self.clean_offset.or(self.remove_offset).unwrap_or(false)
    }
}

command_header! {
    /// GET_TOPIC_CONFIG (351, 5.x) request.
    pub struct GetTopicConfigRequestHeader {
        pub topic: String = "topic",
    }
}

command_header! {
    /// QUERY_TOPIC_CONSUME_BY_WHO (300) request.
    pub struct QueryTopicConsumeByWhoRequestHeader {
        pub topic: String = "topic",
    }
}

command_header! {
    /// QUERY_TOPICS_BY_CONSUMER (343) request.
    pub struct QueryTopicsByConsumerRequestHeader {
        pub group: String = "group",
    }
}

command_header! {
    /// QUERY_SUBSCRIPTION_BY_CONSUMER (345) request.
    pub struct QuerySubscriptionByConsumerRequestHeader {
        pub group: String = "group",
        pub topic: Option<String> = "topic",
    }
}

command_header! {
    /// QUERY_CONSUME_TIME_SPAN (303) request.
    pub struct QueryConsumeTimeSpanRequestHeader {
        pub topic: String = "topic",
        pub group: String = "group",
    }
}

command_header! {
    /// GET_CONSUMER_RUNNING_INFO (307) request, admin → broker and forwarded broker → client.
    pub struct GetConsumerRunningInfoRequestHeader {
        pub consumer_group: String = "consumerGroup",
        pub client_id: String = "clientId",
        pub jstack_enable: Option<bool> = "jstackEnable",
    }
}

command_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309) request, admin → broker → client.
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        pub consumer_group: String = "consumerGroup",
        pub client_id: Option<String> = "clientId",
        /// Offset message id.
        pub msg_id: Option<String> = "msgId",
        pub broker_name: Option<String> = "brokerName",
        pub topic: Option<String> = "topic",
        pub topic_sys_flag: Option<i32> = "topicSysFlag",
        pub group_sys_flag: Option<i32> = "groupSysFlag",
    }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) request, and RESET_CONSUMER_CLIENT_OFFSET (220)
    /// broker → client.
    pub struct ResetOffsetRequestHeader {
        pub group: String = "group",
        pub topic: String = "topic",
        /// 5.x; absent means every queue (-1).
        pub queue_id: Option<i32> = "queueId",
        /// 5.x: reset to this offset instead of searching by timestamp.
        pub offset: Option<i64> = "offset",
        pub timestamp: i64 = "timestamp",
        /// Required in Java, but Go leaves it out; absent means false.
        pub is_force: Option<bool> = "isForce",
    }
}

impl ResetOffsetRequestHeader {
    pub fn queue_id_or_all(&self) -> i32 {
        self.queue_id.unwrap_or(-1)
    }
}

command_header! {
    /// QUERY_CONSUME_QUEUE (321) request: `count` units of a consume queue from `index`.
    pub struct QueryConsumeQueueRequestHeader {
        pub topic: String = "topic",
        pub queue_id: i32 = "queueId",
        pub index: i64 = "index",
        pub count: i32 = "count",
        pub consumer_group: Option<String> = "consumerGroup",
    }
}

command_header! {
    /// VIEW_BROKER_STATS_DATA (315) request: a statistic (`TOPIC_PUT_NUMS`, ...) and its key
    /// (`topic`, `topic@group`, or the cluster name for the broker-wide ones).
    pub struct ViewBrokerStatsDataRequestHeader {
        pub stats_name: String = "statsName",
        pub stats_key: String = "statsKey",
    }
}

command_header! {
    /// GET_CONSUMER_STATUS_FROM_CLIENT (221) and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223)
    /// request.
    pub struct GetConsumerStatusRequestHeader {
        pub topic: String = "topic",
        pub group: String = "group",
        pub client_addr: Option<String> = "clientAddr",
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::protocol::command::ExtFields;
    use crate::protocol::header::CommandHeader;

    fn request_with(code: i32, ext_fields: ExtFields) -> RemotingCommand {
        RemotingCommand {
            ext_fields: Some(ext_fields),
            ..RemotingCommand::request(code)
        }
    }

    fn ext(pairs: &[(&str, &str)]) -> ExtFields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn full_v2() -> SendMessageRequestHeaderV2 {
        SendMessageRequestHeaderV2 {
            producer_group: "pg".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 3,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some("UNIQ_KEY\u{1}AC1\u{2}".into()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: Some(16),
            batch: Some(true),
            broker_name: Some("broker-a".into()),
        }
    }

    #[test]
    fn v2_send_header_travels_under_one_letter_keys_and_converts_both_ways() {
        let v2 = full_v2();
        let mut map = ExtFields::new();
        v2.write_ext_fields(&mut map);
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n"]
        );
        assert_eq!(map["g"], "1700000000000");
        assert_eq!(map["m"], "true");
        assert_eq!(
            SendMessageRequestHeaderV2::read_ext_fields(&map).unwrap(),
            v2
        );

        let v1 = v2.clone().into_v1();
        assert_eq!(v1.producer_group, "pg");
        assert_eq!(v1.bname.as_deref(), Some("broker-a"));
        assert!(v1.is_batch());
        assert_eq!(v1.clone().into_v2(), v2);

        let mut long = ExtFields::new();
        v1.write_ext_fields(&mut long);
        assert_eq!(long["producerGroup"], "pg");
        assert_eq!(long["bname"], "broker-a");
        assert_eq!(
            SendMessageRequestHeader::read_ext_fields(&long).unwrap(),
            v1
        );
    }

    /// ali-ons writes `{"a":"pg",…,"d":4,"e":0,…,"k":false}` with JSON numbers and booleans;
    /// the command decoder turns them into text, and `l`, `m`, `n` are absent.
    #[test]
    fn ali_ons_send_header_decodes() {
        let map = ext(&[
            ("a", "ons_pg"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "0"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "KEYS\u{1}k1\u{2}"),
            ("j", "0"),
            ("k", "false"),
        ]);
        let h =
            SendMessageRequestHeader::from_request(&request_with(request::SEND_MESSAGE_V2, map))
                .unwrap();
        assert_eq!(h.topic, "TopicTest");
        assert_eq!(h.default_topic_queue_nums, 4);
        assert_eq!(h.born_timestamp, 1_700_000_000_000);
        assert_eq!(h.unit_mode, Some(false));
        assert_eq!(
            (h.max_reconsume_times, h.batch, h.bname.as_deref()),
            (None, None, None)
        );
        assert!(!h.is_batch());
    }

    /// The same request as it leaves ali-ons: JSON numbers and booleans in `extFields`.
    #[test]
    fn ali_ons_numbers_and_booleans_reach_the_header_as_text() {
        let json = br#"{"code":310,"extFields":{"a":"ons_pg","b":"TopicTest","c":"TBW102","d":4,"e":0,"f":0,"g":1700000000000,"h":0,"i":"","j":0,"k":false},"flag":0,"language":"JAVA","opaque":1,"remark":null,"version":121}"#;
        let mut frame = u32::try_from(json.len()).unwrap().to_be_bytes().to_vec();
        frame.extend_from_slice(json);
        let cmd = RemotingCommand::decode(Bytes::from(frame)).unwrap();
        let h = SendMessageRequestHeader::from_request(&cmd).unwrap();
        assert_eq!((h.default_topic_queue_nums, h.queue_id), (4, 0));
        assert_eq!(h.born_timestamp, 1_700_000_000_000);
        assert_eq!(h.unit_mode, Some(false));
    }

    #[test]
    fn go_send_header_uses_long_names_with_code_10() {
        let map = ext(&[
            ("producerGroup", "go_pg"),
            ("topic", "TopicTest"),
            ("queueId", "1"),
            ("sysFlag", "0"),
            ("bornTimestamp", "1700000000000"),
            ("flag", "0"),
            ("reconsumeTimes", "0"),
            ("unitMode", "false"),
            ("maxReconsumeTimes", "0"),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("batch", "false"),
            ("properties", ""),
            ("bname", "broker-a"),
        ]);
        let h = SendMessageRequestHeader::from_request(&request_with(
            request::SEND_MESSAGE,
            map.clone(),
        ))
        .unwrap();
        assert_eq!(h.queue_id, 1);
        assert_eq!(h.properties.as_deref(), Some(""));
        assert_eq!(h.bname.as_deref(), Some("broker-a"));
        // The same fields under the V2 code are missing their one-letter keys.
        assert!(matches!(
            SendMessageRequestHeader::from_request(&request_with(request::SEND_BATCH_MESSAGE, map)),
            Err(ProtocolError::MissingField("a"))
        ));
    }

    #[test]
    fn missing_or_malformed_required_fields_are_errors() {
        let mut map = ExtFields::new();
        full_v2().write_ext_fields(&mut map);
        map.remove("b");
        assert!(matches!(
            SendMessageRequestHeaderV2::read_ext_fields(&map),
            Err(ProtocolError::MissingField("b"))
        ));

        let mut map = ExtFields::new();
        full_v2().write_ext_fields(&mut map);
        map.insert("g".into(), "yesterday".into());
        assert!(matches!(
            SendMessageRequestHeaderV2::read_ext_fields(&map),
            Err(ProtocolError::InvalidField { field: "g", .. })
        ));

        let pull = ext(&[("consumerGroup", "cg"), ("topic", "T"), ("queueId", "0")]);
        assert!(matches!(
            PullMessageRequestHeader::read_ext_fields(&pull),
            Err(ProtocolError::MissingField("queueOffset"))
        ));
    }

    #[test]
    fn java_push_consumer_pull_header_decodes_with_tag_default() {
        let map = ext(&[
            ("consumerGroup", "cg1"),
            ("topic", "TopicTest"),
            ("queueId", "2"),
            ("queueOffset", "42"),
            ("maxMsgNums", "32"),
            ("sysFlag", "3"),
            ("commitOffset", "40"),
            ("suspendTimeoutMillis", "15000"),
            ("subVersion", "1700000000000"),
            ("maxMsgBytes", "262144"),
            ("bname", "broker-a"),
        ]);
        let h = PullMessageRequestHeader::read_ext_fields(&map).unwrap();
        assert_eq!((h.queue_id, h.queue_offset, h.sys_flag), (2, 42, 3));
        assert_eq!(h.subscription, None);
        assert_eq!(h.effective_expression_type(), "TAG");
        let go_style = PullMessageRequestHeader {
            expression_type: Some(String::new()),
            ..h.clone()
        };
        assert_eq!(go_style.effective_expression_type(), "TAG");
    }

    #[test]
    fn pull_response_always_carries_the_four_offsets() {
        let mut map = ExtFields::new();
        PullMessageResponseHeader::default().write_ext_fields(&mut map);
        assert_eq!(
            map,
            ext(&[
                ("maxOffset", "0"),
                ("minOffset", "0"),
                ("nextBeginOffset", "0"),
                ("suggestWhichBrokerId", "0"),
            ])
        );
    }

    #[test]
    fn send_response_carries_region_and_trace_switch() {
        let mut map = ExtFields::new();
        SendMessageResponseHeader::new("0A00000100002A9F0000000000000000".into(), 1, 7)
            .write_ext_fields(&mut map);
        assert_eq!(map["MSG_REGION"], "DefaultRegion");
        assert_eq!(map["TRACE_ON"], "true");
        assert_eq!(map["queueOffset"], "7");
        assert!(!map.contains_key("transactionId"));
    }

    #[test]
    fn boundary_type_reads_case_insensitively_and_defaults_to_lower() {
        for (raw, want) in [
            ("upper", BoundaryType::Upper),
            ("UPPER", BoundaryType::Upper),
            ("lower", BoundaryType::Lower),
            ("sideways", BoundaryType::Lower),
        ] {
            let map = ext(&[
                ("topic", "T"),
                ("queueId", "0"),
                ("timestamp", "1"),
                ("boundaryType", raw),
            ]);
            let h = SearchOffsetRequestHeader::read_ext_fields(&map).unwrap();
            assert_eq!(h.boundary_type, Some(want), "{raw}");
        }
        let mut map = ExtFields::new();
        SearchOffsetRequestHeader {
            boundary_type: Some(BoundaryType::Upper),
            ..Default::default()
        }
        .write_ext_fields(&mut map);
        assert_eq!(map["boundaryType"], "UPPER");
    }

    #[test]
    fn fields_java_initialises_default_when_clients_leave_them_out() {
        let cpp_create = ext(&[
            ("topic", "T"),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "8"),
            ("writeQueueNums", "8"),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
        ]);
        let h = CreateTopicRequestHeader::read_ext_fields(&cpp_create).unwrap();
        assert!(!h.is_order() && !h.is_force());
        assert_eq!(h.topic_sys_flag, None);

        let q = QueryConsumerOffsetRequestHeader::read_ext_fields(&ext(&[
            ("consumerGroup", "cg"),
            ("topic", "T"),
            ("queueId", "0"),
        ]))
        .unwrap();
        assert!(q.zero_if_not_found());

        let m =
            GetMaxOffsetRequestHeader::read_ext_fields(&ext(&[("topic", "T"), ("queueId", "0")]))
                .unwrap();
        assert!(m.is_committed());

        let d = DeleteSubscriptionGroupRequestHeader::read_ext_fields(&ext(&[
            ("groupName", "cg"),
            ("removeOffset", "true"),
        ]))
        .unwrap();
        assert!(d.cleans_offsets());

        let r = ResetOffsetRequestHeader::read_ext_fields(&ext(&[
            ("group", "cg"),
            ("topic", "T"),
            ("timestamp", "1700000000000"),
        ]))
        .unwrap();
        assert_eq!((r.queue_id_or_all(), r.is_force), (-1, None));
    }

    #[test]
    fn end_transaction_from_cpp_reads_numeric_bool_as_false_like_java() {
        let map = ext(&[
            ("msgId", "AC1"),
            ("transactionId", "AC1"),
            ("producerGroup", "pg"),
            ("tranStateTableOffset", "5"),
            ("commitLogOffset", "1024"),
            ("commitOrRollback", "8"),
            ("fromTransactionCheck", "1"),
        ]);
        let h = EndTransactionRequestHeader::read_ext_fields(&map).unwrap();
        assert_eq!((h.commit_or_rollback, h.commit_log_offset), (8, 1024));
        assert!(!h.is_from_transaction_check());
    }

    #[test]
    fn unique_key_query_flag_sits_beside_the_query_header() {
        let map = ext(&[
            ("topic", "T"),
            ("key", "AC1"),
            ("maxNum", "32"),
            ("beginTimestamp", "0"),
            ("endTimestamp", "9223372036854775807"),
            ("_UNIQUE_KEY_QUERY", "true"),
        ]);
        let h = QueryMessageRequestHeader::read_ext_fields(&map).unwrap();
        assert_eq!(h.end_timestamp, i64::MAX);
        assert_eq!(h.unique_key_query, Some(true));
    }
}
