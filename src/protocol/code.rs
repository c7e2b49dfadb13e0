//! RocketMQ remoting request and response codes.
//!
//! This module owns the numeric `code` field of the RocketMQ remoting
//! protocol. Every request code and every response code is a named `i32`
//! constant, and there are lookups that turn a number back into its Java
//! name for logs and metrics labels. The names match Apache RocketMQ's
//! Java sources exactly:
//!
//! * [`request`] covers `RequestCode.java` from 5.x
//!   (`remoting/src/main/java/org/apache/rocketmq/remoting/protocol/`).
//!   It also keeps the legacy ACL 1.0 codes 50–54, which 4.9 clients and
//!   tools still send but current 5.x no longer declares.
//! * [`response`] covers `RemotingSysResponseCode.java` (0–4) and
//!   `ResponseCode.java` from 5.x. Codes 209–211 have different meanings
//!   in 4.9 and in 5.x. This module uses the 5.x names and records the 4.9
//!   names in the doc comments.
//! * [`client_local`] holds the negative `RPC_*` codes from the Java
//!   `ResponseCode`. A client creates these for its own errors, and they
//!   never appear in a frame on the wire.
//!
//! Request and response codes are separate number spaces: `17` is
//! [`request::UPDATE_AND_CREATE_TOPIC`] in a request and
//! [`response::TOPIC_NOT_EXIST`] in a response. Use [`request_name`] or
//! [`response_name`] according to the frame's direction (its RPC-type flag).
//!
//! "Since" notes give the first Apache RocketMQ release tag that declares
//! the code with that value. Codes without one go back to 4.x.

/// Defines one code table in one place. The macro expands to:
///
/// * `pub mod $module`, with one `pub const NAME: i32` for each entry, plus
///   `pub const ALL: &[(&str, i32)]`, which lists every `(name, code)` pair
///   in the order of the source;
/// * `pub const fn $lookup(code: i32) -> Option<&'static str>`, which is a
///   `match` over the same entries.
///
/// Each name and value is written once, so the constants, `ALL` and the
/// lookup can't drift apart. The lookup is a plain `match`, which compiles
/// to a jump table or binary search. None of the tables has aliases
/// today. If an entry reuses an earlier value, the first entry wins, and
/// rustc reports `unreachable_patterns` on the later arm, which fails a
/// `deny(warnings)` build. So an accidental duplicate can't slip in. An
/// intentional alias would need its own entry form: one that defines the
/// constant and adds it to `ALL`, but adds no match arm.
macro_rules! code_table {
    (
        $(#[$mod_attr:meta])*
        pub mod $module:ident;

        $(#[$fn_attr:meta])*
        pub const fn $lookup:ident;

        {
            $(
                $(#[$attr:meta])*
                $name:ident = $value:literal;
            )*
        }
    ) => {
        $(#[$mod_attr])*
        pub mod $module {
            $(
                $(#[$attr])*
                pub const $name: i32 = $value;
            )*

            /// Every `(Java name, code)` pair in this table, in the order
            /// the source declares them. Metrics can use it to pre-register
            /// labels, and the tests use it to check round trips.
            pub const ALL: &[(&str, i32)] = &[
                $( (stringify!($name), $name), )*
            ];
        }

        $(#[$fn_attr])*
        pub const fn $lookup(code: i32) -> Option<&'static str> {
            match code {
                $( $value => Some(stringify!($name)), )*
                _ => None,
            }
        }
    };
}

code_table! {
    /// Request codes (`RemotingCommand.code` when the RPC-type flag says
    /// "request"). The values come from Apache RocketMQ's
    /// `RequestCode.java`. The table also keeps the legacy ACL 1.0 codes
    /// 50–54 that 4.9 declared.
    ///
    /// No two names here share a value.
    pub mod request;

    /// The Java `RequestCode` name of `code`, or `None` if the code is
    /// unknown. Use this for logs and metrics labels.
    ///
    /// ```
    /// use ferrocket::protocol::code::{request, request_name};
    /// assert_eq!(request_name(request::SEND_MESSAGE_V2), Some("SEND_MESSAGE_V2"));
    /// assert_eq!(request_name(-7), None);
    /// ```
    pub const fn request_name;

    {
        // ---- Producer, consumer and broker admin (broker side) ----

        /// Producer → broker: send a single message (`SendMessageRequestHeader`).
        SEND_MESSAGE = 10;
        /// Consumer → broker: pull messages from one queue. Supports long polling.
        PULL_MESSAGE = 11;
        /// Query messages by key and time range (index service).
        QUERY_MESSAGE = 12;
        /// Declared but not used by any Java processor in 5.x.
        QUERY_BROKER_OFFSET = 13;
        /// Consumer → broker: read the committed offset of a group on a queue.
        QUERY_CONSUMER_OFFSET = 14;
        /// Consumer → broker: commit a consume offset.
        UPDATE_CONSUMER_OFFSET = 15;
        /// Admin → broker: create a topic or update its config.
        UPDATE_AND_CREATE_TOPIC = 17;
        /// Admin → broker: create or update several topics in one request. Since 5.3.0.
        UPDATE_AND_CREATE_TOPIC_LIST = 18;
        /// Broker → broker or admin → broker: dump all topic configs.
        GET_ALL_TOPIC_CONFIG = 21;
        GET_TOPIC_CONFIG_LIST = 22;
        GET_TOPIC_NAME_LIST = 23;
        UPDATE_BROKER_CONFIG = 25;
        GET_BROKER_CONFIG = 26;
        TRIGGER_DELETE_FILES = 27;
        /// Admin → broker: runtime statistics as a key/value table.
        GET_BROKER_RUNTIME_INFO = 28;
        /// Find the queue offset closest to a timestamp.
        SEARCH_OFFSET_BY_TIMESTAMP = 29;
        /// Max (next-to-write) logical offset of a queue.
        GET_MAX_OFFSET = 30;
        /// Min logical offset of a queue.
        GET_MIN_OFFSET = 31;
        GET_EARLIEST_MSG_STORETIME = 32;
        /// Fetch one message by its commit-log offset ("offset message id").
        VIEW_MESSAGE_BY_ID = 33;
        /// Client → broker: producer/consumer heartbeat with group and
        /// subscription data.
        HEART_BEAT = 34;
        /// Client → broker: unregister a producer or consumer group on shutdown.
        UNREGISTER_CLIENT = 35;
        /// Consumer → broker: send a failed message back for retry or the DLQ.
        CONSUMER_SEND_MSG_BACK = 36;
        /// Producer → broker: commit or roll back a half (prepared) message.
        END_TRANSACTION = 37;
        /// Consumer → broker: list the client ids in a consumer group (rebalance).
        GET_CONSUMER_LIST_BY_GROUP = 38;
        /// Broker → producer: ask the producer for the state of a local transaction.
        CHECK_TRANSACTION_STATE = 39;
        /// Broker → consumer: group membership changed, so rebalance now.
        NOTIFY_CONSUMER_IDS_CHANGED = 40;
        /// Consumer → broker: lock queues for orderly consumption.
        LOCK_BATCH_MQ = 41;
        /// Consumer → broker: release queue locks.
        UNLOCK_BATCH_MQ = 42;
        /// Slave → master: sync all consumer offsets.
        GET_ALL_CONSUMER_OFFSET = 43;
        /// Slave → master: sync the delay-level (schedule topic) offsets.
        GET_ALL_DELAY_OFFSET = 45;
        /// Check that a subscription (e.g. an SQL92 filter) is valid on the broker.
        CHECK_CLIENT_CONFIG = 46;
        /// Since 5.0.0.
        GET_CLIENT_CONFIG = 47;

        // ---- Legacy ACL 1.0 (plain_acl.yml) administration ----

        /// **4.9-only** (not declared by current 5.x): create or update a
        /// plain-ACL account. Present from 4.5.2 through 4.9.8 and in 5.x up
        /// to 5.3.2. 5.3.3 removed it together with ACL 1.0, and the
        /// `AUTH_*` codes (3001–3010) replace it.
        UPDATE_AND_CREATE_ACL_CONFIG = 50;
        /// **4.9-only** (not declared by current 5.x): delete a plain-ACL
        /// account. Present from 4.5.2 through 4.9.8 and in 5.x up to 5.3.2.
        DELETE_ACL_CONFIG = 51;
        /// **4.9-only** (not declared by current 5.x): ACL version info of a
        /// broker. Present from 4.5.2 through 4.9.8 and in 5.x up to 5.3.2.
        GET_BROKER_CLUSTER_ACL_INFO = 52;
        /// **4.9-only** (not declared by current 5.x): update the global IP
        /// white list. Present from 4.5.2 through 4.9.8 and in 5.x up to 5.3.2.
        UPDATE_GLOBAL_WHITE_ADDRS_CONFIG = 53;
        /// **Legacy, deprecated** (absent from both 4.9.8 and 5.3.3+): read
        /// the whole plain-ACL config. Declared in 4.6.0–4.9.7 and in
        /// 5.0.0–5.3.2 (`@Deprecated`). Kept so that old admin tools still
        /// get a name in logs.
        GET_BROKER_CLUSTER_ACL_CONFIG = 54;

        // ---- Timer (timer wheel) ----

        /// Since 5.0.0.
        GET_TIMER_CHECK_POINT = 60;
        /// Since 5.0.0.
        GET_TIMER_METRICS = 61;

        // ---- Name server ----

        /// Admin → name server: store a key/value config entry.
        PUT_KV_CONFIG = 100;
        /// Read a name server key/value config entry.
        GET_KV_CONFIG = 101;
        DELETE_KV_CONFIG = 102;
        /// Broker → name server: register the broker and its topic configs.
        REGISTER_BROKER = 103;
        /// Broker → name server: unregister on shutdown.
        UNREGISTER_BROKER = 104;
        /// Client → name server: route data (queues and brokers) of a topic.
        /// 4.1.0–4.7.0 spelled it `GET_ROUTEINTO_BY_TOPIC`.
        GET_ROUTEINFO_BY_TOPIC = 105;
        /// Client or admin → name server: cluster → broker name → addresses.
        GET_BROKER_CLUSTER_INFO = 106;

        // ---- Admin (mostly mqadmin → broker / name server) ----

        /// Admin → broker: create or update a subscription group.
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200;
        /// Broker → broker or admin → broker: dump all subscription groups.
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201;
        /// Min/max offsets and last update time of each queue of a topic.
        GET_TOPIC_STATS_INFO = 202;
        GET_CONSUMER_CONNECTION_LIST = 203;
        GET_PRODUCER_CONNECTION_LIST = 204;
        /// Admin → name server: remove write permission from a broker (drain it).
        WIPE_WRITE_PERM_OF_BROKER = 205;
        /// Admin → name server: list all topic names.
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206;
        DELETE_SUBSCRIPTIONGROUP = 207;
        /// Per-queue consume progress (broker offset vs consumer offset) of a group.
        GET_CONSUME_STATS = 208;
        SUSPEND_CONSUMER = 209;
        RESUME_CONSUMER = 210;
        RESET_CONSUMER_OFFSET_IN_CONSUMER = 211;
        RESET_CONSUMER_OFFSET_IN_BROKER = 212;
        ADJUST_CONSUMER_THREAD_POOL = 213;
        WHO_CONSUME_THE_MESSAGE = 214;
        /// Admin → broker: delete a topic.
        DELETE_TOPIC_IN_BROKER = 215;
        /// Admin → name server: delete a topic's route data.
        DELETE_TOPIC_IN_NAMESRV = 216;
        /// Broker → name server: register one topic's route without a full
        /// broker registration. Since 5.0.0.
        REGISTER_TOPIC_IN_NAMESRV = 217;
        /// Read every key/value entry in a name server namespace.
        GET_KVLIST_BY_NAMESPACE = 219;
        /// Broker → consumer: reset the consume offsets held by the client.
        RESET_CONSUMER_CLIENT_OFFSET = 220;
        /// Broker → consumer: report the client's offset table.
        GET_CONSUMER_STATUS_FROM_CLIENT = 221;
        /// Admin → broker: reset a group's offsets (by timestamp) and notify clients.
        INVOKE_BROKER_TO_RESET_OFFSET = 222;
        INVOKE_BROKER_TO_GET_CONSUMER_STATUS = 223;
        /// Admin → name server: the topics whose routes include brokers of a cluster.
        GET_TOPICS_BY_CLUSTER = 224;
        /// Create or update several subscription groups in one request. Since 5.3.1.
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST = 225;
        QUERY_TOPIC_CONSUME_BY_WHO = 300;
        /// Legacy filter server (removed feature). The code is still declared.
        REGISTER_FILTER_SERVER = 301;
        /// Legacy filter server (removed feature). The code is still declared.
        REGISTER_MESSAGE_FILTER_CLASS = 302;
        QUERY_CONSUME_TIME_SPAN = 303;
        GET_SYSTEM_TOPIC_LIST_FROM_NS = 304;
        GET_SYSTEM_TOPIC_LIST_FROM_BROKER = 305;
        CLEAN_EXPIRED_CONSUMEQUEUE = 306;
        /// Admin → broker → consumer: running info (threads, subscriptions,
        /// process queues).
        GET_CONSUMER_RUNNING_INFO = 307;
        QUERY_CORRECTION_OFFSET = 308;
        /// Admin → broker → consumer: push one message straight to a
        /// consumer's listener.
        CONSUME_MESSAGE_DIRECTLY = 309;
        /// Producer → broker: like [`SEND_MESSAGE`], but the header
        /// (`SendMessageRequestHeaderV2`) uses one-letter field names. The Java
        /// client's default.
        SEND_MESSAGE_V2 = 310;
        GET_UNIT_TOPIC_LIST = 311;
        GET_HAS_UNIT_SUB_TOPIC_LIST = 312;
        GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST = 313;
        CLONE_GROUP_OFFSET = 314;
        VIEW_BROKER_STATS_DATA = 315;
        CLEAN_UNUSED_TOPIC = 316;
        GET_BROKER_CONSUME_STATS = 317;
        /// Update the name server's config.
        UPDATE_NAMESRV_CONFIG = 318;
        /// Read the name server's config.
        GET_NAMESRV_CONFIG = 319;
        /// Producer → broker: several messages encoded in one body.
        SEND_BATCH_MESSAGE = 320;
        QUERY_CONSUME_QUEUE = 321;
        /// Broker → name server: is my registered data version still current?
        QUERY_DATA_VERSION = 322;
        /// Resume checking half messages that were parked in
        /// `TRANS_CHECK_MAXTIME_TOPIC`.
        RESUME_CHECK_HALF_MESSAGE = 323;
        /// Request/reply: the replying side sends its reply message to the broker.
        SEND_REPLY_MESSAGE = 324;
        /// [`SEND_REPLY_MESSAGE`] with the compact V2 header.
        SEND_REPLY_MESSAGE_V2 = 325;
        /// Broker → requesting producer: deliver a reply message.
        PUSH_REPLY_MESSAGE_TO_CLIENT = 326;
        /// Admin → name server: restore write permission on a broker.
        ADD_WRITE_PERM_OF_BROKER = 327;
        GET_ALL_PRODUCER_INFO = 328;
        DELETE_EXPIRED_COMMITLOG = 329;
        /// Admin → broker: the topics a consumer group subscribes to. Since 5.0.0.
        QUERY_TOPICS_BY_CONSUMER = 343;
        /// Admin → broker: a consumer group's subscription data for one topic.
        /// Since 5.0.0.
        QUERY_SUBSCRIPTION_BY_CONSUMER = 345;
        /// Since 5.0.0.
        GET_TOPIC_CONFIG = 351;
        /// Since 5.0.0.
        GET_SUBSCRIPTIONGROUP_CONFIG = 352;
        /// Since 5.0.0.
        UPDATE_AND_GET_GROUP_FORBIDDEN = 353;
        /// Since 5.3.1.
        CHECK_ROCKSDB_CQ_WRITE_PROGRESS = 354;
        /// Since 5.3.2.
        EXPORT_ROCKSDB_CONFIG_TO_JSON = 355;
        /// Lite pull consumer → broker: same header as [`PULL_MESSAGE`], but
        /// the broker handles it on a separate executor. Since 5.0.0.
        LITE_PULL_MESSAGE = 361;
        /// Producer → broker: recall (cancel) a not-yet-delivered timer or
        /// delay message. Since 5.3.2.
        RECALL_MESSAGE = 370;

        // ---- Server-side assignment / message request mode (5.x) ----

        /// Client → broker: queue assignment computed by the broker. Since 5.0.0.
        QUERY_ASSIGNMENT = 400;
        /// Set pull vs pop mode for a topic/group. Since 5.0.0.
        SET_MESSAGE_REQUEST_MODE = 401;
        /// Since 5.0.0.
        GET_ALL_MESSAGE_REQUEST_MODE = 402;

        // ---- Static topics (logic queues) ----

        /// Since 5.0.0.
        UPDATE_AND_CREATE_STATIC_TOPIC = 513;

        // ---- Broker container, HA and slave-acting-master (5.x) ----

        /// Since 5.0.0.
        GET_BROKER_MEMBER_GROUP = 901;
        /// Admin → broker container: add a broker. Since 5.0.0.
        ADD_BROKER = 902;
        /// Admin → broker container: remove a broker. Since 5.0.0.
        REMOVE_BROKER = 903;
        /// Broker → name server / controller: lightweight liveness
        /// heartbeat. Since 5.0.0.
        BROKER_HEARTBEAT = 904;
        /// Broker → broker: the minimum broker id in the group changed. Since 5.0.0.
        NOTIFY_MIN_BROKER_ID_CHANGE = 905;
        /// Since 5.0.0.
        EXCHANGE_BROKER_HA_INFO = 906;
        /// Since 5.0.0.
        GET_BROKER_HA_STATUS = 907;
        /// Since 5.0.0.
        RESET_MASTER_FLUSH_OFFSET = 908;

        // ---- Controller (DLedger / JRaft based master election, 5.x) ----

        /// Since 5.0.0.
        CONTROLLER_ALTER_SYNC_STATE_SET = 1001;
        /// Since 5.0.0.
        CONTROLLER_ELECT_MASTER = 1002;
        /// Since 5.0.0.
        CONTROLLER_REGISTER_BROKER = 1003;
        /// Since 5.0.0.
        CONTROLLER_GET_REPLICA_INFO = 1004;
        /// Since 5.0.0.
        CONTROLLER_GET_METADATA_INFO = 1005;
        /// Since 5.0.0.
        CONTROLLER_GET_SYNC_STATE_DATA = 1006;
        /// Since 5.0.0.
        GET_BROKER_EPOCH_CACHE = 1007;
        /// Controller → broker: the broker's role changed. Since 5.0.0.
        NOTIFY_BROKER_ROLE_CHANGED = 1008;
        /// Update the controller's config. Since 5.0.0.
        UPDATE_CONTROLLER_CONFIG = 1009;
        /// Read the controller's config. Since 5.0.0.
        GET_CONTROLLER_CONFIG = 1010;
        /// Clean broker data on the controller. Since 5.0.0.
        CLEAN_BROKER_DATA = 1011;
        /// Since 5.1.1.
        CONTROLLER_GET_NEXT_BROKER_ID = 1012;
        /// Since 5.1.1.
        CONTROLLER_APPLY_BROKER_ID = 1013;
        /// JRaft controller state-machine event (a Java `short`). It travels
        /// inside the raft log, not between processes. Since 5.2.0.
        BROKER_CLOSE_CHANNEL_REQUEST = 1014;
        /// JRaft controller state-machine event (a Java `short`). Since 5.2.0.
        CHECK_NOT_ACTIVE_BROKER_REQUEST = 1015;
        /// JRaft controller state-machine event (a Java `short`). Since 5.2.0.
        GET_BROKER_LIVE_INFO_REQUEST = 1016;
        /// JRaft controller state-machine event (a Java `short`). Since 5.2.0.
        GET_SYNC_STATE_DATA_REQUEST = 1017;
        /// JRaft controller state-machine event (a Java `short`). Since 5.2.0.
        RAFT_BROKER_HEART_BEAT_EVENT_REQUEST = 1018;

        // ---- Cold-data read flow control / commit-log read mode ----

        /// Since 5.1.2.
        UPDATE_COLD_DATA_FLOW_CTR_CONFIG = 2001;
        /// Since 5.1.2.
        REMOVE_COLD_DATA_FLOW_CTR_CONFIG = 2002;
        /// Since 5.1.2.
        GET_COLD_DATA_FLOW_CTR_INFO = 2003;
        /// Since 5.1.2.
        SET_COMMITLOG_READ_MODE = 2004;

        // ---- Authentication / authorization (ACL 2.0) ----

        /// Since 5.3.0.
        AUTH_CREATE_USER = 3001;
        /// Since 5.3.0.
        AUTH_UPDATE_USER = 3002;
        /// Since 5.3.0.
        AUTH_DELETE_USER = 3003;
        /// Since 5.3.0.
        AUTH_GET_USER = 3004;
        /// Since 5.3.0.
        AUTH_LIST_USER = 3005;
        /// Since 5.3.0.
        AUTH_CREATE_ACL = 3006;
        /// Since 5.3.0.
        AUTH_UPDATE_ACL = 3007;
        /// Since 5.3.0.
        AUTH_DELETE_ACL = 3008;
        /// Since 5.3.0.
        AUTH_GET_ACL = 3009;
        /// Since 5.3.0.
        AUTH_LIST_ACL = 3010;

        // ---- Pop consumption (5.x) ----

        /// Consumer → broker: pop messages, which the broker then hides for
        /// an invisible time until they are acked. Since 5.0.0.
        POP_MESSAGE = 200050;
        /// Consumer → broker: ack one popped message. Since 5.0.0.
        ACK_MESSAGE = 200051;
        /// Peek messages without changing their visibility. Since 5.0.0.
        PEEK_MESSAGE = 200052;
        /// Consumer → broker: extend or shorten a popped message's invisible
        /// time. Since 5.0.0.
        CHANGE_MESSAGE_INVISIBLETIME = 200053;
        /// Long-poll until messages are available for a pop consumer. Since 5.0.0.
        NOTIFICATION = 200054;
        /// Number of pop/notification requests parked on a queue. Since 5.0.0.
        POLLING_INFO = 200055;
        /// Admin → broker: despite the name, moves the pop consumer state
        /// from the RocksDB KV store back to the file store. Since 5.3.2.
        POP_ROLLBACK = 200056;
        /// Consumer → broker: ack many popped messages in one request. Since 5.1.3.
        BATCH_ACK_MESSAGE = 200151;
    }
}

code_table! {
    /// Response codes (`RemotingCommand.code` when the RPC-type flag says
    /// "response"). The values come from Apache RocketMQ's
    /// `RemotingSysResponseCode.java` (0–4) and `ResponseCode.java` (5.x).
    ///
    /// 4.9 gave 209–211 ACL meanings, and 5.x reuses them for pop and
    /// container errors. This table uses the 5.x names, and each constant's
    /// doc comment gives the 4.9 name. Look at which request the response
    /// answers to tell the two apart.
    pub mod response;

    /// The Java `ResponseCode` / `RemotingSysResponseCode` name of `code`,
    /// or `None` if the code is unknown. Codes 209–211 resolve to their 5.x
    /// names.
    ///
    /// ```
    /// use ferrocket::protocol::code::{response, response_name};
    /// assert_eq!(response_name(response::PULL_NOT_FOUND), Some("PULL_NOT_FOUND"));
    /// assert_eq!(response_name(209), Some("POLLING_FULL"));
    /// ```
    pub const fn response_name;

    {
        // ---- RemotingSysResponseCode ----

        /// The request succeeded.
        SUCCESS = 0;
        /// Generic server-side failure. The details are in `remark`.
        SYSTEM_ERROR = 1;
        /// The server is overloaded (e.g. a thread pool or page cache is
        /// busy). The client may retry another broker.
        SYSTEM_BUSY = 2;
        /// The server has no processor for this request code.
        REQUEST_CODE_NOT_SUPPORTED = 3;
        TRANSACTION_FAILED = 4;

        // ---- ResponseCode: send / store ----

        /// The message is stored, but the sync flush timed out.
        FLUSH_DISK_TIMEOUT = 10;
        /// The message is stored on the master, but no slave is available
        /// (sync replication).
        SLAVE_NOT_AVAILABLE = 11;
        /// The message is stored on the master, but the sync replication
        /// timed out.
        FLUSH_SLAVE_TIMEOUT = 12;
        /// The message is malformed (size, properties, topic name, ...).
        MESSAGE_ILLEGAL = 13;
        /// The broker can't serve the request now (e.g. a slave got a write,
        /// or the store is shutting down).
        SERVICE_NOT_AVAILABLE = 14;
        VERSION_NOT_SUPPORTED = 15;
        /// Permission denied (topic/broker perm, or ACL).
        NO_PERMISSION = 16;
        TOPIC_NOT_EXIST = 17;
        TOPIC_EXIST_ALREADY = 18;

        // ---- ResponseCode: pull / query ----

        /// Pull: no new message yet.
        PULL_NOT_FOUND = 19;
        /// Pull: retry immediately (e.g. the messages were filtered out).
        PULL_RETRY_IMMEDIATELY = 20;
        /// Pull: the requested offset is out of range. The response header
        /// carries the corrected next offset.
        PULL_OFFSET_MOVED = 21;
        QUERY_NOT_FOUND = 22;
        SUBSCRIPTION_PARSE_FAILED = 23;
        SUBSCRIPTION_NOT_EXIST = 24;
        SUBSCRIPTION_NOT_LATEST = 25;
        SUBSCRIPTION_GROUP_NOT_EXIST = 26;
        FILTER_DATA_NOT_EXIST = 27;
        FILTER_DATA_NOT_LATEST = 28;
        /// Since 5.3.2.
        INVALID_PARAMETER = 29;

        // ---- ResponseCode: transactions, consumers, pop ----

        TRANSACTION_SHOULD_COMMIT = 200;
        TRANSACTION_SHOULD_ROLLBACK = 201;
        /// The Java spelling (`UNKNOW`) is kept on purpose.
        TRANSACTION_STATE_UNKNOW = 202;
        TRANSACTION_STATE_GROUP_WRONG = 203;
        NO_BUYER_ID = 204;
        NOT_IN_CURRENT_UNIT = 205;
        /// The target consumer client isn't connected (admin → broker → client calls).
        CONSUMER_NOT_ONLINE = 206;
        CONSUME_MSG_TIMEOUT = 207;
        /// Pop or peek found no message.
        NO_MESSAGE = 208;
        /// Pop/notification: the broker's long-polling queue is full. Since 5.0.0.
        ///
        /// In 4.9 (and, as a duplicate constant, in 5.0.0–5.3.2), 209 was
        /// `UPDATE_AND_CREATE_ACL_CONFIG_FAILED`.
        POLLING_FULL = 209;
        /// Pop/notification: the long poll ended without messages. Since 5.0.0.
        ///
        /// In 4.9 (and, as a duplicate constant, in 5.0.0–5.3.2), 210 was
        /// `DELETE_ACL_CONFIG_FAILED`.
        POLLING_TIMEOUT = 210;
        /// Broker container: no broker with the requested identity. Since 5.0.0.
        ///
        /// In 4.9 (and, as a duplicate constant, in 5.0.0–5.3.2), 211 was
        /// `UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED`.
        BROKER_NOT_EXIST = 211;
        /// Declared but not used by any Java processor in 5.x. Since 5.0.0.
        BROKER_DISPATCH_NOT_COMPLETE = 212;
        /// The group uses broadcast consumption, so the broker has no
        /// offsets for it (admin tools). Since 5.0.0.
        BROADCAST_CONSUMPTION = 213;
        /// The broker is rate-limiting this request.
        FLOW_CONTROL = 215;
        /// Static topic: this broker doesn't hold the logic queue's
        /// current leader. Since 5.0.0.
        NOT_LEADER_FOR_QUEUE = 501;
        /// The operation isn't allowed in this state (e.g. an end
        /// transaction on a non-half message, or recalling a message that
        /// was already delivered). Since 5.1.1.
        ILLEGAL_OPERATION = 604;

        // ---- Graceful shutdown ----

        /// The server is shutting down. The client should reconnect
        /// elsewhere and retry. The Java server sends it only to clients
        /// whose version is newer than 5.3.1. Since 5.2.0.
        GO_AWAY = 1500;

        // ---- Controller ----
        // 5.0.0 and 5.1.0 numbered 2010-2012 differently
        // (ALTER_SYNC_STATE_SET_FAILED=2010, ELECT_MASTER_FAILED=2011,
        // REGISTER_BROKER_FAILED=2012). 5.1.1 changed that to the
        // numbering below.

        /// Since 5.0.0.
        CONTROLLER_FENCED_MASTER_EPOCH = 2000;
        /// Since 5.0.0.
        CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH = 2001;
        /// Since 5.0.0.
        CONTROLLER_INVALID_MASTER = 2002;
        /// Since 5.0.0.
        CONTROLLER_INVALID_REPLICAS = 2003;
        /// Since 5.0.0.
        CONTROLLER_MASTER_NOT_AVAILABLE = 2004;
        /// Since 5.0.0.
        CONTROLLER_INVALID_REQUEST = 2005;
        /// Since 5.0.0.
        CONTROLLER_BROKER_NOT_ALIVE = 2006;
        /// Since 5.0.0.
        CONTROLLER_NOT_LEADER = 2007;
        /// Since 5.0.0.
        CONTROLLER_BROKER_METADATA_NOT_EXIST = 2008;
        /// Since 5.0.0.
        CONTROLLER_INVALID_CLEAN_BROKER_METADATA = 2009;
        /// Since 5.1.1 (5.0.0–5.1.0 used 2010 for `CONTROLLER_ALTER_SYNC_STATE_SET_FAILED`).
        CONTROLLER_BROKER_NEED_TO_BE_REGISTERED = 2010;
        /// Since 5.1.1 (5.0.0–5.1.0 used 2011 for `CONTROLLER_ELECT_MASTER_FAILED`).
        CONTROLLER_MASTER_STILL_EXIST = 2011;
        /// Since 5.1.1 (5.0.0–5.1.0 used 2012 for `CONTROLLER_REGISTER_BROKER_FAILED`).
        CONTROLLER_ELECT_MASTER_FAILED = 2012;
        /// Since 5.1.1.
        CONTROLLER_ALTER_SYNC_STATE_SET_FAILED = 2013;
        /// Since 5.1.1.
        CONTROLLER_BROKER_ID_INVALID = 2014;
        /// Since 5.2.0.
        CONTROLLER_JRAFT_INTERNAL_ERROR = 2015;
        /// Since 5.2.0.
        CONTROLLER_BROKER_LIVE_INFO_NOT_EXISTS = 2016;

        // ---- Authentication / authorization (ACL 2.0) ----

        /// Since 5.3.0.
        USER_NOT_EXIST = 3001;
        /// Since 5.3.0.
        POLICY_NOT_EXIST = 3002;
    }
}

code_table! {
    /// Client-local error codes. **These never appear on the wire.**
    ///
    /// The Java client declares them in `ResponseCode` (since 5.0.0) and puts
    /// them in the exceptions it raises for failures that happen before or
    /// instead of a server response: no address, a channel write failure, a
    /// timeout. Ferrocket keeps them apart so that a peer's response code
    /// can never be confused with them. [`response_name`] deliberately
    /// returns `None` for them. Use [`client_local_name`] instead.
    pub mod client_local;

    /// The Java name of a client-local error code, or `None` if the code
    /// is unknown.
    pub const fn client_local_name;

    {
        /// An unspecified client-side RPC failure.
        RPC_UNKNOWN = -1000;
        /// No broker or name server address was available for the call.
        RPC_ADDR_IS_NULL = -1002;
        /// Writing the request to the channel failed.
        RPC_SEND_TO_CHANNEL_FAILED = -1004;
        /// No response arrived before the deadline.
        RPC_TIME_OUT = -1006;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_spot_checks() {
        let expected: &[(i32, i32, &str)] = &[
            (request::SEND_MESSAGE, 10, "SEND_MESSAGE"),
            (request::PULL_MESSAGE, 11, "PULL_MESSAGE"),
            (request::QUERY_MESSAGE, 12, "QUERY_MESSAGE"),
            (
                request::UPDATE_AND_CREATE_TOPIC,
                17,
                "UPDATE_AND_CREATE_TOPIC",
            ),
            (
                request::GET_BROKER_RUNTIME_INFO,
                28,
                "GET_BROKER_RUNTIME_INFO",
            ),
            (request::HEART_BEAT, 34, "HEART_BEAT"),
            (
                request::CONSUMER_SEND_MSG_BACK,
                36,
                "CONSUMER_SEND_MSG_BACK",
            ),
            (request::END_TRANSACTION, 37, "END_TRANSACTION"),
            (
                request::CHECK_TRANSACTION_STATE,
                39,
                "CHECK_TRANSACTION_STATE",
            ),
            (
                request::NOTIFY_CONSUMER_IDS_CHANGED,
                40,
                "NOTIFY_CONSUMER_IDS_CHANGED",
            ),
            (request::LOCK_BATCH_MQ, 41, "LOCK_BATCH_MQ"),
            (
                request::UPDATE_AND_CREATE_ACL_CONFIG,
                50,
                "UPDATE_AND_CREATE_ACL_CONFIG",
            ),
            (
                request::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
                53,
                "UPDATE_GLOBAL_WHITE_ADDRS_CONFIG",
            ),
            (request::PUT_KV_CONFIG, 100, "PUT_KV_CONFIG"),
            (request::REGISTER_BROKER, 103, "REGISTER_BROKER"),
            (
                request::GET_ROUTEINFO_BY_TOPIC,
                105,
                "GET_ROUTEINFO_BY_TOPIC",
            ),
            (
                request::GET_BROKER_CLUSTER_INFO,
                106,
                "GET_BROKER_CLUSTER_INFO",
            ),
            (
                request::WIPE_WRITE_PERM_OF_BROKER,
                205,
                "WIPE_WRITE_PERM_OF_BROKER",
            ),
            (
                request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
                206,
                "GET_ALL_TOPIC_LIST_FROM_NAMESERVER",
            ),
            (
                request::DELETE_TOPIC_IN_NAMESRV,
                216,
                "DELETE_TOPIC_IN_NAMESRV",
            ),
            (
                request::REGISTER_TOPIC_IN_NAMESRV,
                217,
                "REGISTER_TOPIC_IN_NAMESRV",
            ),
            (
                request::GET_KVLIST_BY_NAMESPACE,
                219,
                "GET_KVLIST_BY_NAMESPACE",
            ),
            (request::GET_TOPICS_BY_CLUSTER, 224, "GET_TOPICS_BY_CLUSTER"),
            (request::SEND_MESSAGE_V2, 310, "SEND_MESSAGE_V2"),
            (request::SEND_BATCH_MESSAGE, 320, "SEND_BATCH_MESSAGE"),
            (request::QUERY_DATA_VERSION, 322, "QUERY_DATA_VERSION"),
            (
                request::ADD_WRITE_PERM_OF_BROKER,
                327,
                "ADD_WRITE_PERM_OF_BROKER",
            ),
            (request::LITE_PULL_MESSAGE, 361, "LITE_PULL_MESSAGE"),
            (request::BROKER_HEARTBEAT, 904, "BROKER_HEARTBEAT"),
            (request::POP_MESSAGE, 200050, "POP_MESSAGE"),
            (request::BATCH_ACK_MESSAGE, 200151, "BATCH_ACK_MESSAGE"),
        ];
        for &(constant, value, name) in expected {
            assert_eq!(constant, value, "{name}");
            assert_eq!(request_name(value), Some(name), "{value}");
        }
    }

    #[test]
    fn response_spot_checks() {
        let expected: &[(i32, i32, &str)] = &[
            (response::SUCCESS, 0, "SUCCESS"),
            (response::SYSTEM_ERROR, 1, "SYSTEM_ERROR"),
            (response::SYSTEM_BUSY, 2, "SYSTEM_BUSY"),
            (
                response::REQUEST_CODE_NOT_SUPPORTED,
                3,
                "REQUEST_CODE_NOT_SUPPORTED",
            ),
            (response::TRANSACTION_FAILED, 4, "TRANSACTION_FAILED"),
            (response::FLUSH_DISK_TIMEOUT, 10, "FLUSH_DISK_TIMEOUT"),
            (response::TOPIC_NOT_EXIST, 17, "TOPIC_NOT_EXIST"),
            (response::PULL_NOT_FOUND, 19, "PULL_NOT_FOUND"),
            (
                response::PULL_RETRY_IMMEDIATELY,
                20,
                "PULL_RETRY_IMMEDIATELY",
            ),
            (response::PULL_OFFSET_MOVED, 21, "PULL_OFFSET_MOVED"),
            (response::QUERY_NOT_FOUND, 22, "QUERY_NOT_FOUND"),
            (
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                26,
                "SUBSCRIPTION_GROUP_NOT_EXIST",
            ),
            (response::INVALID_PARAMETER, 29, "INVALID_PARAMETER"),
            (
                response::TRANSACTION_SHOULD_COMMIT,
                200,
                "TRANSACTION_SHOULD_COMMIT",
            ),
            (response::ILLEGAL_OPERATION, 604, "ILLEGAL_OPERATION"),
            (response::GO_AWAY, 1500, "GO_AWAY"),
            (
                response::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                2013,
                "CONTROLLER_ALTER_SYNC_STATE_SET_FAILED",
            ),
            (response::USER_NOT_EXIST, 3001, "USER_NOT_EXIST"),
            (response::POLICY_NOT_EXIST, 3002, "POLICY_NOT_EXIST"),
        ];
        for &(constant, value, name) in expected {
            assert_eq!(constant, value, "{name}");
            assert_eq!(response_name(value), Some(name), "{value}");
        }
    }

    #[test]
    fn codes_209_to_211_use_5x_names() {
        assert_eq!(response_name(209), Some("POLLING_FULL"));
        assert_eq!(response_name(210), Some("POLLING_TIMEOUT"));
        assert_eq!(response_name(211), Some("BROKER_NOT_EXIST"));
    }

    #[test]
    fn request_and_response_spaces_are_independent() {
        assert_eq!(request_name(17), Some("UPDATE_AND_CREATE_TOPIC"));
        assert_eq!(response_name(17), Some("TOPIC_NOT_EXIST"));
    }

    #[test]
    fn unknown_codes_have_no_name() {
        for code in [-1, 5, 16, 44, 999, 200049, i32::MAX, i32::MIN] {
            assert_eq!(request_name(code), None, "request {code}");
        }
        for code in [-1, 5, 9, 214, 1499, i32::MAX, i32::MIN] {
            assert_eq!(response_name(code), None, "response {code}");
        }
    }

    #[test]
    fn client_local_codes_stay_off_the_wire_tables() {
        for &(name, code) in client_local::ALL {
            assert!(code < 0, "{name} must be negative");
            assert_eq!(client_local_name(code), Some(name));
            assert_eq!(response_name(code), None, "{name} leaked into response");
            assert_eq!(request_name(code), None, "{name} leaked into request");
        }
        assert_eq!(client_local::RPC_TIME_OUT, -1006);
    }

    fn assert_round_trip(
        table: &[(&str, i32)],
        lookup: fn(i32) -> Option<&'static str>,
        what: &str,
    ) {
        assert!(!table.is_empty());
        for (i, &(name, code)) in table.iter().enumerate() {
            assert_eq!(lookup(code), Some(name), "{what} {name} = {code}");
            // No aliases today: every value appears once. (If one is ever
            // added on purpose, this check and the macro's
            // unreachable-pattern warning will both point at it.)
            assert!(
                table[..i].iter().all(|&(_, c)| c != code),
                "{what} {name} reuses code {code}"
            );
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{what} {name} is not SCREAMING_CASE"
            );
        }
    }

    #[test]
    fn every_constant_round_trips() {
        assert_round_trip(request::ALL, request_name, "request");
        assert_round_trip(response::ALL, response_name, "response");
        assert_round_trip(client_local::ALL, client_local_name, "client_local");
    }

    #[test]
    fn table_sizes() {
        // 5.x HEAD RequestCode (158) + legacy ACL 1.0 codes 50..=54 (5).
        assert_eq!(request::ALL.len(), 163);
        // RemotingSysResponseCode (5) + 5.x ResponseCode without RPC_* (57).
        assert_eq!(response::ALL.len(), 62);
        assert_eq!(client_local::ALL.len(), 4);
    }

    #[test]
    fn lookups_are_const() {
        const NAME: Option<&str> = request_name(request::HEART_BEAT);
        assert_eq!(NAME, Some("HEART_BEAT"));
    }
}
