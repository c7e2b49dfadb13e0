//! Topic routes and cluster info: the answers to GET_ROUTEINFO_BY_TOPIC (105) and
//! GET_BROKER_CLUSTER_INFO (106), and the body of REGISTER_TOPIC_IN_NAMESRV (217).
//!
//! Both carry `brokerAddrs`, a map keyed by broker id, which fastjson writes with bare integer
//! keys (`{0:"…"}`). Old Go, C++ and Node clients only understand that legacy form, newer ones
//! ask for standard JSON (`"0"`), so [`TopicRouteData::encode`] writes either; cluster info is
//! always legacy, as Java sends it. Decoding accepts both forms.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::fastjson::{self, null_as_default, Escape, JsonWriter};
use crate::protocol::error::ProtocolError;

// Fields are declared in alphabetical order because serde writes them in declaration order
// and fastjson sorts bean properties alphabetically.

/// The queues one broker serves for a topic.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    pub broker_name: String,
    pub perm: i32,
    pub read_queue_nums: i32,
    /// Spelled `topicSynFlag` by peers older than 4.9.0.
    #[serde(alias = "topicSynFlag")]
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

/// One broker group (master and slaves sharing a name) and where its members listen.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Broker id → `ip:port`; id 0 is the master.
    #[serde(deserialize_with = "null_as_default")]
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    pub cluster: String,
    /// Written even when false: 5.x clients read it, 4.x clients ignore it.
    pub enable_acting_master: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    fn write(&self, w: &mut JsonWriter, quote_ids: bool) {
        w.begin_object();
        w.key("brokerAddrs").begin_object();
        for (id, addr) in &self.broker_addrs {
            w.int_key(*id, quote_ids).string(addr);
        }
        w.end_object();
        w.key("brokerName").string(&self.broker_name);
        w.key("cluster").string(&self.cluster);
        w.key("enableActingMaster").bool(self.enable_acting_master);
        if let Some(zone) = &self.zone_name {
            w.key("zoneName").string(zone);
        }
        w.end_object();
    }
}

/// The route of one topic: which brokers serve it and with how many queues.
/// 5.x's `topicQueueMappingByBroker` (static topics) is ignored on input and never written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    #[serde(deserialize_with = "null_as_default")]
    pub broker_datas: Vec<BrokerData>,
    /// Broker address → filter server addresses; written as `{}` when empty.
    #[serde(deserialize_with = "null_as_default")]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `brokerName:queueNum;…`, present only for ordered topics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub queue_datas: Vec<QueueData>,
}

impl TopicRouteData {
    /// The body as a Java name server writes it. `standard_json` (request version ≥ 401 or
    /// `acceptStandardJsonOnly`) quotes the broker ids and escapes like fastjson's
    /// BrowserCompatible; otherwise ids are bare, which only fastjson-aware parsers accept.
    pub fn encode(&self, standard_json: bool) -> Bytes {
        let escape = if standard_json {
            Escape::BrowserCompatible
        } else {
            Escape::Fastjson
        };
        let mut w = JsonWriter::new(escape);
        w.begin_object();
        w.key("brokerDatas").begin_array();
        for broker in &self.broker_datas {
            broker.write(&mut w, standard_json);
        }
        w.end_array();
        w.key("filterServerTable").begin_object();
        for (broker_addr, servers) in &self.filter_server_table {
            w.key(broker_addr).begin_array();
            for server in servers {
                w.string(server);
            }
            w.end_array();
        }
        w.end_object();
        if let Some(conf) = &self.order_topic_conf {
            w.key("orderTopicConf").string(conf);
        }
        w.key("queueDatas").begin_array();
        for queue in &self.queue_datas {
            w.begin_object();
            w.key("brokerName").string(&queue.broker_name);
            w.key("perm").number(queue.perm.into());
            w.key("readQueueNums").number(queue.read_queue_nums.into());
            w.key("topicSysFlag").number(queue.topic_sys_flag.into());
            w.key("writeQueueNums")
                .number(queue.write_queue_nums.into());
            w.end_object();
        }
        w.end_array();
        w.end_object();
        w.finish()
    }

    /// Accepts either key form, and 4.x bodies without `enableActingMaster`.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        fastjson::from_json(bytes)
    }
}

/// Every broker group known to the name server, and which groups form each cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    /// Broker name → its group.
    #[serde(deserialize_with = "null_as_default")]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → broker names.
    #[serde(deserialize_with = "null_as_default")]
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl ClusterInfo {
    /// Always fastjson's form with bare broker ids: Java name servers never gate this answer
    /// on the client version, so every client that asks for it already parses that form.
    pub fn encode(&self) -> Bytes {
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        w.key("brokerAddrTable").begin_object();
        for (broker_name, broker) in &self.broker_addr_table {
            w.key(broker_name);
            broker.write(&mut w, false);
        }
        w.end_object();
        w.key("clusterAddrTable").begin_object();
        for (cluster, broker_names) in &self.cluster_addr_table {
            w.key(cluster).begin_array();
            for name in broker_names {
                w.string(name);
            }
            w.end_array();
        }
        w.end_object();
        w.end_object();
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        fastjson::from_json(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD_ROUTE: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.10:10911","1":"192.168.0.11:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
    const LEGACY_ROUTE: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.0.10:10911",1:"192.168.0.11:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
    const CLUSTER_INFO: &str = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"192.168.0.10:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;

    fn broker_a(ids: &[(i64, &str)]) -> BrokerData {
        BrokerData {
            cluster: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_addrs: ids
                .iter()
                .map(|(id, addr)| (*id, addr.to_string()))
                .collect(),
            zone_name: None,
            enable_acting_master: false,
        }
    }

    fn example_route() -> TopicRouteData {
        TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                perm: 6,
                topic_sys_flag: 0,
            }],
            broker_datas: vec![broker_a(&[
                (0, "192.168.0.10:10911"),
                (1, "192.168.0.11:10911"),
            ])],
            filter_server_table: BTreeMap::new(),
        }
    }

    #[test]
    fn standard_route_matches_reference_bytes() {
        assert_eq!(&example_route().encode(true)[..], STANDARD_ROUTE.as_bytes());
    }

    #[test]
    fn legacy_route_writes_bare_broker_ids() {
        assert_eq!(&example_route().encode(false)[..], LEGACY_ROUTE.as_bytes());
    }

    #[test]
    fn standard_route_is_what_serde_writes_too() {
        assert_eq!(
            &fastjson::to_json(&example_route())[..],
            STANDARD_ROUTE.as_bytes()
        );
    }

    #[test]
    fn both_key_forms_decode_to_the_same_route() {
        assert_eq!(
            TopicRouteData::decode(STANDARD_ROUTE.as_bytes()).unwrap(),
            example_route()
        );
        assert_eq!(
            TopicRouteData::decode(LEGACY_ROUTE.as_bytes()).unwrap(),
            example_route()
        );
    }

    #[test]
    fn optional_route_fields_appear_only_when_set() {
        let mut route = example_route();
        route.order_topic_conf = Some("broker-a:4".into());
        route.broker_datas[0].zone_name = Some("zone-1".into());
        route.broker_datas[0].enable_acting_master = true;
        route.filter_server_table.insert(
            "192.168.0.10:10911".into(),
            vec!["192.168.0.10:30000".into()],
        );
        let json = String::from_utf8(route.encode(false).to_vec()).unwrap();
        assert!(
            json.contains(r#""enableActingMaster":true,"zoneName":"zone-1"}"#),
            "{json}"
        );
        assert!(json.contains(r#""filterServerTable":{"192.168.0.10:10911":["192.168.0.10:30000"]},"orderTopicConf":"broker-a:4","queueDatas""#), "{json}");
        assert_eq!(TopicRouteData::decode(json.as_bytes()).unwrap(), route);
        assert_eq!(TopicRouteData::decode(&route.encode(true)).unwrap(), route);
    }

    #[test]
    fn standard_route_escapes_like_browser_compatible() {
        let mut route = example_route();
        route.broker_datas[0].broker_name = "bróker/a".into();
        let json = String::from_utf8(route.encode(true).to_vec()).unwrap();
        assert!(json.contains(r#""brokerName":"br\u00F3ker\/a""#), "{json}");
        assert_eq!(TopicRouteData::decode(json.as_bytes()).unwrap(), route);
    }

    #[test]
    fn route_from_a_pre_4_9_name_server_decodes() {
        let json = br#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"b","cluster":"c"}],"filterServerTable":{},"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":8,"topicSynFlag":1,"writeQueueNums":8}]}"#;
        let route = TopicRouteData::decode(json).unwrap();
        assert!(!route.broker_datas[0].enable_acting_master);
        assert_eq!(route.broker_datas[0].broker_addrs[&0], "10.0.0.1:10911");
        assert_eq!(route.queue_datas[0].read_queue_nums, 8);
        assert_eq!(route.queue_datas[0].topic_sys_flag, 1);
    }

    #[test]
    fn route_with_nulls_and_unknown_fields_decodes() {
        let json = br#"{"brokerDatas":null,"queueDatas":[],"filterServerTable":null,"topicQueueMappingByBroker":{"b":{"bname":"b"}}}"#;
        assert_eq!(
            TopicRouteData::decode(json).unwrap(),
            TopicRouteData::default()
        );
    }

    #[test]
    fn cluster_info_matches_reference_bytes() {
        let info = ClusterInfo {
            broker_addr_table: [(
                "broker-a".to_string(),
                broker_a(&[(0, "192.168.0.10:10911")]),
            )]
            .into(),
            cluster_addr_table: [(
                "DefaultCluster".to_string(),
                ["broker-a".to_string()].into(),
            )]
            .into(),
        };
        assert_eq!(&info.encode()[..], CLUSTER_INFO.as_bytes());
        assert_eq!(ClusterInfo::decode(CLUSTER_INFO.as_bytes()).unwrap(), info);
    }

    #[test]
    fn non_integer_broker_id_is_rejected() {
        let json = br#"{"brokerDatas":[{"brokerAddrs":{"master":"10.0.0.1:10911"}}]}"#;
        assert!(matches!(
            TopicRouteData::decode(json),
            Err(ProtocolError::InvalidBody(_))
        ));
    }

    #[test]
    fn route_and_cluster_decoders_never_panic() {
        let alphabet = br#"{}[]:,"\-0123456789 brokerAddrsDatasqueueTable"#;
        let mut inputs = super::super::arbitrary_inputs(400, alphabet);
        for cut in 0..LEGACY_ROUTE.len() {
            inputs.push(LEGACY_ROUTE.as_bytes()[..cut].to_vec());
        }
        for input in &inputs {
            let _ = TopicRouteData::decode(input);
            let _ = ClusterInfo::decode(input);
        }
    }
}
