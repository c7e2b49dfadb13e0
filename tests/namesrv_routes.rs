//! The name server over real sockets: brokers register, clients read routes, silent and
//! disconnected brokers disappear, and every name-server request code answers as RocketMQ
//! does.

mod common;

use std::time::Duration;

use common::*;
use ferrocket::protocol::body::kv::{KvTable, TopicList};
use ferrocket::protocol::body::route::{ClusterInfo, TopicRouteData};
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::header::namesrv::*;
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;

fn decode_route(resp: &RemotingCommand) -> TopicRouteData {
    assert_eq!(resp.code, response::SUCCESS, "remark: {:?}", resp.remark);
    TopicRouteData::decode(&resp.body).unwrap()
}

#[actix_rt::test]
async fn a_registered_broker_is_in_the_route_a_client_reads() {
    let ns = start_namesrv().await;
    let broker = RemotingClient::default();
    let resp = call(
        &broker,
        &ns.addr,
        register_request(
            "broker-a",
            "127.0.0.1:10911",
            0,
            &[("TopicA", 4), ("TBW102", 8)],
        ),
    )
    .await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert!(resp.is_response());

    let client = RemotingClient::default();
    // Clients older than 4.9.4 get broker ids as unquoted keys, newer ones standard JSON.
    let old = call(&client, &ns.addr, route_request("TopicA", 121)).await;
    let text = String::from_utf8(old.body.to_vec()).unwrap();
    assert!(
        text.contains(r#""brokerAddrs":{0:"127.0.0.1:10911"}"#),
        "{text}"
    );
    assert!(text.contains(r#""enableActingMaster":false"#), "{text}");
    let new = call(&client, &ns.addr, route_request("TopicA", 409)).await;
    let text = String::from_utf8(new.body.to_vec()).unwrap();
    assert!(
        text.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#),
        "{text}"
    );

    let route = decode_route(&old);
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].broker_name, "broker-a");
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert_eq!(route.broker_datas[0].cluster, "DefaultCluster");
}

#[actix_rt::test]
async fn accept_standard_json_only_gets_quoted_keys_from_an_old_client() {
    let ns = start_namesrv().await;
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        register_request("b", "127.0.0.1:10911", 0, &[("T", 2), ("U", 2)]),
    )
    .await;
    let mut req = route_request("T", 121);
    req.put_ext("acceptStandardJsonOnly", "true");
    let resp = call(&client, &ns.addr, req).await;
    assert!(String::from_utf8_lossy(&resp.body).contains(r#"{"0":"127.0.0.1:10911"}"#));
}

#[actix_rt::test]
async fn an_unknown_topic_is_topic_not_exist_with_rocketmqs_remark() {
    let ns = start_namesrv().await;
    let client = RemotingClient::default();
    let resp = call(&client, &ns.addr, route_request("Nope", 409)).await;
    assert_eq!(resp.code, response::TOPIC_NOT_EXIST);
    let remark = resp.remark.unwrap();
    assert!(
        remark.starts_with("No topic route info in name server for the topic: Nope"),
        "{remark}"
    );
    assert!(resp.body.is_empty());
}

#[actix_rt::test]
async fn a_silent_broker_leaves_the_route_after_its_expiry() {
    let ns = start_namesrv_with(|c| {
        c.broker_channel_expired_millis = 300;
        c.scan_not_active_broker_interval = 50;
    })
    .await;
    let broker = RemotingClient::default();
    call(
        &broker,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;
    let client = RemotingClient::default();
    assert_eq!(
        call(&client, &ns.addr, route_request("T", 409)).await.code,
        response::SUCCESS
    );
    // The broker's connection stays open; only its silence removes it.
    let gone = eventually(Duration::from_secs(5), || {
        let (client, addr) = (client.clone(), ns.addr.clone());
        async move {
            call(&client, &addr, route_request("T", 409)).await.code == response::TOPIC_NOT_EXIST
        }
    })
    .await;
    assert!(gone, "an expired broker must leave the route");
}

#[actix_rt::test]
async fn a_broker_that_keeps_registering_stays() {
    let ns = start_namesrv_with(|c| {
        c.broker_channel_expired_millis = 400;
        c.scan_not_active_broker_interval = 50;
    })
    .await;
    let broker = RemotingClient::default();
    let client = RemotingClient::default();
    for _ in 0..8 {
        call(
            &broker,
            &ns.addr,
            register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            call(&client, &ns.addr, route_request("T", 409)).await.code,
            response::SUCCESS
        );
    }
}

#[actix_rt::test]
async fn a_closed_broker_connection_removes_it_at_once() {
    let ns = start_namesrv().await; // default 120 s expiry: only the close can remove it
    let broker = RemotingClient::default();
    call(
        &broker,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;
    let client = RemotingClient::default();
    assert_eq!(
        call(&client, &ns.addr, route_request("T", 409)).await.code,
        response::SUCCESS
    );
    broker.close_all();
    let gone = eventually(Duration::from_secs(3), || {
        let (client, addr) = (client.clone(), ns.addr.clone());
        async move {
            call(&client, &addr, route_request("T", 409)).await.code == response::TOPIC_NOT_EXIST
        }
    })
    .await;
    assert!(gone, "closing the broker's connection must drop its routes");
}

#[actix_rt::test]
async fn unregister_broker_removes_only_that_broker() {
    let ns = start_namesrv().await;
    let b = RemotingClient::default();
    call(
        &b,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;
    call(
        &b,
        &ns.addr,
        register_request("broker-b", "127.0.0.1:20911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;
    let un = UnRegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    let resp = call(
        &b,
        &ns.addr,
        RemotingCommand::request_with(request::UNREGISTER_BROKER, &un),
    )
    .await;
    assert_eq!(resp.code, response::SUCCESS);
    let route = decode_route(&call(&b, &ns.addr, route_request("T", 409)).await);
    assert_eq!(route.broker_datas.len(), 1);
    assert_eq!(route.broker_datas[0].broker_name, "broker-b");
}

#[actix_rt::test]
async fn a_slave_learns_its_master_and_both_addresses_are_routed() {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    call(
        &c,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;
    let resp = call(
        &c,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:11911", 1, &[("T", 4), ("U", 4)]),
    )
    .await;
    assert_eq!(resp.ext("masterAddr"), Some("127.0.0.1:10911"));
    assert_eq!(resp.ext("haServerAddr"), Some("127.0.0.1:10912"));
    let route = decode_route(&call(&c, &ns.addr, route_request("T", 121)).await);
    assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
}

#[actix_rt::test]
async fn registration_checks_the_body_crc_and_reads_compressed_bodies() {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    let mut bad = register_request("b", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]);
    bad.put_ext("bodyCrc32", "12345");
    let resp = call(&c, &ns.addr, bad).await;
    assert_eq!(
        (resp.code, resp.remark.as_deref()),
        (response::SYSTEM_ERROR, Some("crc32 not match"))
    );

    let body = register_body(1, &[("Zipped", 3), ("Other", 1)]);
    let compressed = body.encode_compressed();
    let header = RegisterBrokerRequestHeader {
        broker_name: "b".into(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        compressed: Some(true),
        body_crc32: Some(ferrocket::protocol::body::register::body_crc32(&compressed)),
        ..Default::default()
    };
    let mut req =
        RemotingCommand::request_with(request::REGISTER_BROKER, &header).with_body(compressed);
    req.version = 409;
    assert_eq!(call(&c, &ns.addr, req).await.code, response::SUCCESS);
    let route = decode_route(&call(&c, &ns.addr, route_request("Zipped", 409)).await);
    assert_eq!(route.queue_datas[0].read_queue_nums, 3);
}

#[actix_rt::test]
async fn a_missing_required_header_field_is_invalid_parameter() {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    let resp = call(
        &c,
        &ns.addr,
        RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC),
    )
    .await;
    assert_eq!(resp.code, response::INVALID_PARAMETER);
    assert!(resp.remark.unwrap().contains("topic"));
}

#[actix_rt::test]
async fn cluster_info_and_topic_lists_describe_what_registered() {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    call(
        &c,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T1", 4), ("T2", 4)]),
    )
    .await;

    let info = call(
        &c,
        &ns.addr,
        RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    let text = String::from_utf8(info.body.to_vec()).unwrap();
    assert!(
        text.contains(r#"{0:"127.0.0.1:10911"}"#),
        "cluster info is always fastjson's form: {text}"
    );
    let info = ClusterInfo::decode(&info.body).unwrap();
    assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));

    let all = call(
        &c,
        &ns.addr,
        RemotingCommand::request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    let all: TopicList = serde_json::from_slice(&all.body).unwrap();
    assert_eq!(all.topic_list, vec!["T1".to_string(), "T2".to_string()]);

    let by_cluster = RemotingCommand::request_with(
        request::GET_TOPICS_BY_CLUSTER,
        &GetTopicsByClusterRequestHeader {
            cluster: "DefaultCluster".into(),
        },
    );
    let list: TopicList =
        serde_json::from_slice(&call(&c, &ns.addr, by_cluster).await.body).unwrap();
    assert_eq!(list.topic_list.len(), 2);
    let none = RemotingCommand::request_with(
        request::GET_TOPICS_BY_CLUSTER,
        &GetTopicsByClusterRequestHeader {
            cluster: "X".into(),
        },
    );
    let list: TopicList = serde_json::from_slice(&call(&c, &ns.addr, none).await.body).unwrap();
    assert!(list.topic_list.is_empty());
}

#[actix_rt::test]
async fn topic_lists_can_be_disabled() {
    let ns = start_namesrv_with(|c| {
        c.enable_all_topic_list = false;
        c.enable_topic_list = false;
    })
    .await;
    let c = RemotingClient::default();
    let resp = call(
        &c,
        &ns.addr,
        RemotingCommand::request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    assert_eq!(
        (resp.code, resp.remark.as_deref()),
        (response::SYSTEM_ERROR, Some("disable"))
    );
}

#[actix_rt::test]
async fn delete_topic_removes_it_everywhere_or_per_cluster() {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    call(
        &c,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;
    let other_cluster = DeleteTopicFromNamesrvRequestHeader {
        topic: "T".into(),
        cluster_name: Some("Other".into()),
    };
    call(
        &c,
        &ns.addr,
        RemotingCommand::request_with(request::DELETE_TOPIC_IN_NAMESRV, &other_cluster),
    )
    .await;
    assert_eq!(
        call(&c, &ns.addr, route_request("T", 409)).await.code,
        response::SUCCESS
    );
    let everywhere = DeleteTopicFromNamesrvRequestHeader {
        topic: "T".into(),
        cluster_name: None,
    };
    let resp = call(
        &c,
        &ns.addr,
        RemotingCommand::request_with(request::DELETE_TOPIC_IN_NAMESRV, &everywhere),
    )
    .await;
    assert_eq!(resp.code, response::SUCCESS);
    assert_eq!(
        call(&c, &ns.addr, route_request("T", 409)).await.code,
        response::TOPIC_NOT_EXIST
    );
    assert_eq!(
        call(&c, &ns.addr, route_request("U", 409)).await.code,
        response::SUCCESS
    );
}

#[actix_rt::test]
async fn write_permission_is_wiped_and_restored_per_broker() {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    call(
        &c,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;
    let name = BrokerNameRequestHeader {
        broker_name: "broker-a".into(),
    };
    let wiped = call(
        &c,
        &ns.addr,
        RemotingCommand::request_with(request::WIPE_WRITE_PERM_OF_BROKER, &name),
    )
    .await;
    assert_eq!(wiped.ext("wipeTopicCount"), Some("2"));
    assert_eq!(
        decode_route(&call(&c, &ns.addr, route_request("T", 409)).await).queue_datas[0].perm,
        4
    );
    let added = call(
        &c,
        &ns.addr,
        RemotingCommand::request_with(request::ADD_WRITE_PERM_OF_BROKER, &name),
    )
    .await;
    assert_eq!(added.ext("addTopicCount"), Some("2"));
    assert_eq!(
        decode_route(&call(&c, &ns.addr, route_request("T", 409)).await).queue_datas[0].perm,
        6
    );
}

#[actix_rt::test]
async fn kv_config_is_served_persisted_and_feeds_order_topic_conf() {
    let ns = start_namesrv_with(|c| c.order_message_enable = true).await;
    let c = RemotingClient::default();
    let put = |ns: &str, k: &str, v: &str| {
        RemotingCommand::request_with(
            request::PUT_KV_CONFIG,
            &PutKvConfigRequestHeader {
                namespace: ns.into(),
                key: k.into(),
                value: v.into(),
            },
        )
    };
    assert_eq!(
        call(&c, &ns.addr, put("ORDER_TOPIC_CONFIG", "T", "broker-a:4"))
            .await
            .code,
        response::SUCCESS
    );
    assert_eq!(
        call(&c, &ns.addr, put("app", "k", "v")).await.code,
        response::SUCCESS
    );

    let key = |ns: &str, k: &str| KvConfigKeyRequestHeader {
        namespace: ns.into(),
        key: k.into(),
    };
    let got = call(
        &c,
        &ns.addr,
        RemotingCommand::request_with(request::GET_KV_CONFIG, &key("app", "k")),
    )
    .await;
    assert_eq!(got.ext("value"), Some("v"));
    let missing = call(
        &c,
        &ns.addr,
        RemotingCommand::request_with(request::GET_KV_CONFIG, &key("app", "zz")),
    )
    .await;
    assert_eq!(missing.code, response::QUERY_NOT_FOUND);
    assert_eq!(
        missing.remark.as_deref(),
        Some("No config item, Namespace: app Key: zz")
    );

    let list = RemotingCommand::request_with(
        request::GET_KVLIST_BY_NAMESPACE,
        &GetKvListByNamespaceRequestHeader {
            namespace: "app".into(),
        },
    );
    let table: KvTable = serde_json::from_slice(&call(&c, &ns.addr, list).await.body).unwrap();
    assert_eq!(table.table.get("k").map(String::as_str), Some("v"));
    let no_ns = RemotingCommand::request_with(
        request::GET_KVLIST_BY_NAMESPACE,
        &GetKvListByNamespaceRequestHeader {
            namespace: "none".into(),
        },
    );
    assert_eq!(
        call(&c, &ns.addr, no_ns).await.code,
        response::QUERY_NOT_FOUND
    );

    // The ORDER_TOPIC_CONFIG namespace reaches brokers and routes.
    let reg = call(
        &c,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;
    let kv: KvTable = serde_json::from_slice(&reg.body).unwrap();
    assert_eq!(kv.table.get("T").map(String::as_str), Some("broker-a:4"));
    let route = decode_route(&call(&c, &ns.addr, route_request("T", 409)).await);
    assert_eq!(route.order_topic_conf.as_deref(), Some("broker-a:4"));

    let del = call(
        &c,
        &ns.addr,
        RemotingCommand::request_with(request::DELETE_KV_CONFIG, &key("app", "k")),
    )
    .await;
    assert_eq!(del.code, response::SUCCESS);
    // Every change is on disk before the next request is answered.
    let file = std::fs::read_to_string(ns.dir.path().join("namesrv/kvConfig.json")).unwrap();
    let on_disk: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(
        on_disk["configTable"]["ORDER_TOPIC_CONFIG"]["T"],
        "broker-a:4"
    );
    assert!(on_disk["configTable"]["app"].get("k").is_none());
}

#[actix_rt::test]
async fn kv_config_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir);
    let registry = ferrocket::actors::metrics::MetricsRegistry::new();
    let first = ferrocket::actors::namesrv::Namesrv::start(config.clone(), registry.clone())
        .await
        .unwrap();
    let c = RemotingClient::default();
    let put = PutKvConfigRequestHeader {
        namespace: "ns".into(),
        key: "k".into(),
        value: "kept".into(),
    };
    call(
        &c,
        &first.local_addr().to_string(),
        RemotingCommand::request_with(request::PUT_KV_CONFIG, &put),
    )
    .await;
    first.shutdown().await;

    let second = ferrocket::actors::namesrv::Namesrv::start(
        config,
        ferrocket::actors::metrics::MetricsRegistry::new(),
    )
    .await
    .unwrap();
    let get = KvConfigKeyRequestHeader {
        namespace: "ns".into(),
        key: "k".into(),
    };
    let resp = call(
        &RemotingClient::default(),
        &second.local_addr().to_string(),
        RemotingCommand::request_with(request::GET_KV_CONFIG, &get),
    )
    .await;
    assert_eq!(resp.ext("value"), Some("kept"));
}

#[actix_rt::test]
async fn query_data_version_and_broker_heartbeat_keep_brokers_alive() {
    let ns = start_namesrv_with(|c| {
        c.broker_channel_expired_millis = 400;
        c.scan_not_active_broker_interval = 50;
    })
    .await;
    let c = RemotingClient::default();
    call(
        &c,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;
    let q = QueryDataVersionRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    let same = register_body(1, &[])
        .topic_config_serialize_wrapper
        .data_version;
    for i in 0..6 {
        let req = if i % 2 == 0 {
            RemotingCommand::request_with(request::QUERY_DATA_VERSION, &q)
                .with_body(ferrocket::protocol::body::fastjson::to_json(&same))
        } else {
            RemotingCommand::request_with(
                request::BROKER_HEARTBEAT,
                &BrokerHeartbeatRequestHeader {
                    cluster_name: "DefaultCluster".into(),
                    broker_addr: "127.0.0.1:10911".into(),
                    broker_name: "broker-a".into(),
                    ..Default::default()
                },
            )
        };
        let resp = call(&c, &ns.addr, req).await;
        assert_eq!(resp.code, response::SUCCESS);
        if i % 2 == 0 {
            assert_eq!(resp.ext("changed"), Some("false"));
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(
        call(&c, &ns.addr, route_request("T", 409)).await.code,
        response::SUCCESS
    );
}

#[actix_rt::test]
async fn an_unknown_request_code_is_not_supported_and_oneway_requests_get_no_answer() {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    let resp = call(&c, &ns.addr, RemotingCommand::request(9999)).await;
    assert_eq!(resp.code, response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 9999 not supported")
    );
    // A oneway request is processed silently; the connection keeps working afterwards.
    let put = PutKvConfigRequestHeader {
        namespace: "ns".into(),
        key: "k".into(),
        value: "v".into(),
    };
    c.invoke_oneway(
        &ns.addr,
        RemotingCommand::request_with(request::PUT_KV_CONFIG, &put),
        TIMEOUT,
    )
    .await
    .unwrap();
    let get = KvConfigKeyRequestHeader {
        namespace: "ns".into(),
        key: "k".into(),
    };
    let resp = call(
        &c,
        &ns.addr,
        RemotingCommand::request_with(request::GET_KV_CONFIG, &get),
    )
    .await;
    assert_eq!(resp.ext("value"), Some("v"));
}

#[actix_rt::test]
async fn old_ali_ons_kv_lookup_on_code_217_is_answered() {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    let mut req = RemotingCommand::request(request::REGISTER_TOPIC_IN_NAMESRV);
    req.put_ext("namespace", "PROJECT_CONFIG");
    req.put_ext("key", "127.0.0.1");
    assert_eq!(call(&c, &ns.addr, req).await.code, response::SUCCESS);
}
