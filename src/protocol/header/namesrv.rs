//! Headers of the name-server requests (reference §2.4), named after their Java classes.

use crate::command_header;

command_header! {
    /// REGISTER_BROKER (103) request.
    pub struct RegisterBrokerRequestHeader {
        pub broker_name: String = "brokerName",
        pub broker_addr: String = "brokerAddr",
        pub cluster_name: String = "clusterName",
        pub ha_server_addr: String = "haServerAddr",
        pub broker_id: i64 = "brokerId",
        pub heartbeat_timeout_millis: Option<i64> = "heartbeatTimeoutMillis",
        /// Absent on brokers older than 5.0.
        pub enable_acting_master: Option<bool> = "enableActingMaster",
        pub compressed: Option<bool> = "compressed",
        /// CRC32 of the body & 0x7FFFFFFF; 0 or absent disables the check.
        pub body_crc32: Option<i32> = "bodyCrc32",
    }
}

command_header! {
    /// REGISTER_BROKER (103) response: the live master's addresses, filled for slaves.
    pub struct RegisterBrokerResponseHeader {
        pub ha_server_addr: Option<String> = "haServerAddr",
        pub master_addr: Option<String> = "masterAddr",
    }
}

command_header! {
    /// UNREGISTER_BROKER (104) request.
    pub struct UnRegisterBrokerRequestHeader {
        pub broker_name: String = "brokerName",
        pub broker_addr: String = "brokerAddr",
        pub cluster_name: String = "clusterName",
        pub broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) request; the body is the broker's DataVersion.
    pub struct QueryDataVersionRequestHeader {
        pub broker_name: String = "brokerName",
        pub broker_addr: String = "brokerAddr",
        pub cluster_name: String = "clusterName",
        pub broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) response.
    pub struct QueryDataVersionResponseHeader {
        pub changed: bool = "changed",
    }
}

command_header! {
    /// BROKER_HEARTBEAT (904) request (5.x).
    pub struct BrokerHeartbeatRequestHeader {
        pub cluster_name: String = "clusterName",
        pub broker_addr: String = "brokerAddr",
        pub broker_name: String = "brokerName",
        pub broker_id: Option<i64> = "brokerId",
        pub heartbeat_timeout_mills: Option<i64> = "heartbeatTimeoutMills",
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105) request.
    pub struct GetRouteInfoRequestHeader {
        pub topic: String = "topic",
        pub accept_standard_json_only: Option<bool> = "acceptStandardJsonOnly",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216) request; without a cluster the topic goes everywhere.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        pub topic: String = "topic",
        pub cluster_name: Option<String> = "clusterName",
    }
}

command_header! {
    /// REGISTER_TOPIC_IN_NAMESRV (217) request.
    pub struct RegisterTopicRequestHeader {
        pub topic: String = "topic",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327) request.
    pub struct BrokerNameRequestHeader {
        pub broker_name: String = "brokerName",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) response.
    pub struct WipeWritePermOfBrokerResponseHeader {
        pub wipe_topic_count: i32 = "wipeTopicCount",
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327) response.
    pub struct AddWritePermOfBrokerResponseHeader {
        pub add_topic_count: i32 = "addTopicCount",
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224) request.
    pub struct GetTopicsByClusterRequestHeader {
        pub cluster: String = "cluster",
    }
}

command_header! {
    /// PUT_KV_CONFIG (100) request.
    pub struct PutKvConfigRequestHeader {
        pub namespace: String = "namespace",
        pub key: String = "key",
        pub value: String = "value",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102) request.
    pub struct KvConfigKeyRequestHeader {
        pub namespace: String = "namespace",
        pub key: String = "key",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) response.
    pub struct GetKvConfigResponseHeader {
        pub value: Option<String> = "value",
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219) request.
    pub struct GetKvListByNamespaceRequestHeader {
        pub namespace: String = "namespace",
    }
}
