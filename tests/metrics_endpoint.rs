//! The metrics endpoint over HTTP, and supervision seen through it: every name-server
//! actor is listed with live counters, and a panicking handler is restarted and counted
//! while the server keeps answering.

mod common;

use std::time::Duration;

use common::*;
use ferrocket::actors::http::MetricsEndpoint;
use ferrocket::actors::runtime::InjectPanic;
use ferrocket::protocol::code::response;
use ferrocket::remoting_client::RemotingClient;

fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[actix_rt::test]
async fn every_name_server_actor_reports_live_counters_over_http() {
    let ns = start_namesrv().await;
    let endpoint =
        MetricsEndpoint::start("127.0.0.1:0".parse().unwrap(), ns.registry.clone(), "test")
            .unwrap();
    let client = RemotingClient::default();
    for _ in 0..3 {
        call(&client, &ns.addr, route_request("T", 409)).await;
    }

    let (status, text) = http_get(endpoint.local_addr(), "/metrics").await;
    assert!(status.contains("200"), "{status}");
    for actor in [
        "namesrv/RouteInfoManager",
        "namesrv/KvConfig",
        "namesrv/RemotingServer",
    ] {
        assert!(
            text.contains(&format!(
                "rocketmq_actor_mailbox_depth{{actor=\"{actor}\"}}"
            )),
            "{actor} missing:\n{text}"
        );
        assert!(
            text.contains(&format!(
                "rocketmq_actor_restarts_total{{actor=\"{actor}\"}} 0"
            )),
            "{actor}"
        );
    }
    let handled = metric(
        &text,
        "rocketmq_actor_messages_total{actor=\"namesrv/RouteInfoManager\"}",
    )
    .unwrap();
    assert!(handled >= 3.0, "RouteInfoManager handled {handled}");
    assert!(
        text.contains("rocketmq_actor_handler_seconds_count{actor=\"namesrv/RouteInfoManager\"}")
    );
    // The client's connection is an actor of its own, under the server.
    assert!(
        text.contains("actor=\"namesrv/RemotingServer/Connection-"),
        "{text}"
    );
    let rpc = metric(&text, "rocketmq_rpc_latency_count{protocol_type=\"remoting\",request_code=\"105\",response_code=\"17\"}");
    assert_eq!(rpc, Some(3.0));

    let (status, json) = http_get(endpoint.local_addr(), "/actors").await;
    assert!(status.contains("200"));
    let tree: serde_json::Value = serde_json::from_str(&json).unwrap();
    let namesrv = tree["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "namesrv")
        .unwrap();
    let names: Vec<&str> = namesrv["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"RouteInfoManager")
            && names.contains(&"KvConfig")
            && names.contains(&"RemotingServer"),
        "{names:?}"
    );

    let (status, html) = http_get(endpoint.local_addr(), "/").await;
    assert!(status.contains("200"));
    assert!(html.contains("<table>") && html.contains("RouteInfoManager"));
    endpoint.stop().await;
}

#[actix_rt::test]
async fn a_panicking_route_handler_is_restarted_counted_and_the_server_keeps_answering() {
    let ns = start_namesrv().await;
    let endpoint =
        MetricsEndpoint::start("127.0.0.1:0".parse().unwrap(), ns.registry.clone(), "test")
            .unwrap();
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &[("T", 4), ("U", 4)]),
    )
    .await;

    ns.namesrv.routes.tell(InjectPanic).unwrap();
    // Requests sent while it restarts wait in its mailbox and are answered afterwards,
    // from the tables it kept.
    let resp = call(&client, &ns.addr, route_request("T", 409)).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);

    let restarted = eventually(Duration::from_secs(3), || async {
        let (_, text) = http_get(endpoint.local_addr(), "/metrics").await;
        metric(
            &text,
            "rocketmq_actor_restarts_total{actor=\"namesrv/RouteInfoManager\"}",
        ) == Some(1.0)
            && metric(
                &text,
                "rocketmq_actor_panics_total{actor=\"namesrv/RouteInfoManager\"}",
            ) == Some(1.0)
    })
    .await;
    assert!(restarted, "restart must be counted on /metrics");

    ns.namesrv.kv.tell(InjectPanic).unwrap();
    let get = ferrocket::protocol::header::namesrv::KvConfigKeyRequestHeader {
        namespace: "a".into(),
        key: "b".into(),
    };
    let resp = call(
        &client,
        &ns.addr,
        ferrocket::protocol::RemotingCommand::request_with(
            ferrocket::protocol::code::request::GET_KV_CONFIG,
            &get,
        ),
    )
    .await;
    assert_eq!(resp.code, response::QUERY_NOT_FOUND);
    assert_eq!(ns.namesrv.kv.metrics().restarts(), 1);
    endpoint.stop().await;
}
