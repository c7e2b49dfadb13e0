//! SQL92 message filtering end to end, over a real name server and broker: a push
//! consumer with a selector receives exactly the matching messages; raw pulls with the
//! subscription flag return only matches and advance past the rest; bad expressions are
//! refused with SUBSCRIPTION_PARSE_FAILED (CHECK_CLIENT_CONFIG, pull) or leave the group
//! without a filter (heartbeat, then FILTER_DATA_NOT_EXIST, as RocketMQ does); a group
//! that changes its expression gets the new one; retries of a SQL92 group come back;
//! `enablePropertyFilter: false` refuses SQL92 as RocketMQ does.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::broker::*;
use common::client::*;
use common::*;
use ferrocket::client::*;
use ferrocket::protocol::body::fastjson::to_json;
use ferrocket::protocol::body::heartbeat::{
    CheckClientRequestBody, ConsumerData, HeartbeatData, SubscriptionData,
};
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::RemotingCommand;

async fn topic(b: &TestBroker, name: &str, queues: i32) {
    assert_eq!(
        b.call(create_topic(name, queues)).await.code,
        response::SUCCESS
    );
    let ok = wait_until(Duration::from_secs(10), || {
        let (c, addr, t) = (
            ferrocket::remoting_client::RemotingClient::default(),
            b.ns.addr.clone(),
            name.to_owned(),
        );
        async move {
            c.invoke(&addr, route_request(&t, 409), TIMEOUT)
                .await
                .map(|r| r.code == response::SUCCESS)
                .unwrap_or(false)
        }
    })
    .await;
    assert!(ok, "route of {name} never appeared");
}

/// Sends `a=0..9` (bodies "a0".."a9") and five messages without `a` ("n0".."n4", with
/// `b='x'`), through the Rust producer.
async fn send_fixture(b: &TestBroker, topic: &str) {
    let p = started_producer(&b.ns.addr);
    for i in 0..10 {
        let m = Message::new(topic, format!("a{i}")).with_property("a", i.to_string());
        p.send(&m).await.unwrap();
    }
    for i in 0..5 {
        let m = Message::new(topic, format!("n{i}")).with_property("b", "x");
        p.send(&m).await.unwrap();
    }
    assert!(
        b.broker
            .store
            .wait_dispatched(Duration::from_secs(10))
            .await
    );
}

fn sql_pull(group: &str, topic: &str, offset: i64, expression: &str) -> RemotingCommand {
    let mut c = pull(
        group,
        topic,
        0,
        offset,
        FLAG_SUBSCRIPTION,
        0,
        Some(expression),
    );
    c.put_ext("expressionType", "SQL92");
    c
}

/// A pull that relies on the group's heartbeat for its subscription.
fn heartbeat_pull(group: &str, topic: &str, offset: i64, sub_version: i64) -> RemotingCommand {
    let mut c = pull(group, topic, 0, offset, 0, 0, None);
    c.put_ext("subVersion", sub_version.to_string());
    c
}

fn sql_sub(topic: &str, expression: &str, version: i64) -> SubscriptionData {
    SubscriptionData {
        topic: topic.into(),
        sub_string: expression.into(),
        expression_type: "SQL92".into(),
        sub_version: version,
        ..Default::default()
    }
}

fn heartbeat(group: &str, subs: Vec<SubscriptionData>) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: "127.0.0.1@sqltest".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            message_model: "CLUSTERING".into(),
            consume_from_where: "CONSUME_FROM_FIRST_OFFSET".into(),
            subscription_data_set: subs,
            unit_mode: false,
        }],
        ..Default::default()
    };
    RemotingCommand::request(request::HEART_BEAT).with_body(to_json(&data))
}

fn check_client_config(sub: SubscriptionData) -> RemotingCommand {
    let body = CheckClientRequestBody {
        client_id: "127.0.0.1@sqltest".into(),
        group: "CG".into(),
        subscription_data: Some(sub),
    };
    RemotingCommand::request(request::CHECK_CLIENT_CONFIG).with_body(to_json(&body))
}

fn bodies(r: &RemotingCommand) -> Vec<String> {
    records(&r.body)
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

fn next_begin(r: &RemotingCommand) -> i64 {
    r.ext("nextBeginOffset").unwrap().parse().unwrap()
}

/// A recording push consumer (see tests/common/client.rs) with a SQL92 selector instead
/// of its `*`; `ok: false` fails every delivery, up to one reconsume.
fn sql_consumer(
    ns: &str,
    group: &str,
    topic: &str,
    expression: &str,
    seen: Seen,
    ok: bool,
) -> PushConsumer {
    let c = recording_consumer(ns, group, topic, seen, ok, 1, &std::env::temp_dir());
    c.subscribe_sql(topic, expression);
    c
}

fn seen_bodies(seen: &Seen) -> Vec<(String, i32)> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(_, m)| {
            (
                String::from_utf8_lossy(&m.body).into_owned(),
                m.reconsume_times,
            )
        })
        .collect()
}

async fn committed_offset(b: &TestBroker, group: &str, topic: &str) -> i64 {
    let r = b
        .call(cmd(
            request::QUERY_CONSUMER_OFFSET,
            &[("consumerGroup", group), ("topic", topic), ("queueId", "0")],
        ))
        .await;
    r.ext("offset").and_then(|o| o.parse().ok()).unwrap_or(-1)
}

#[actix_rt::test]
async fn a_sql92_push_consumer_receives_exactly_the_matching_messages() {
    let b = start_broker().await;
    topic(&b, "SQ", 1).await;
    let seen: Seen = Default::default();
    let c = sql_consumer(
        &b.ns.addr,
        "CG_PUSH",
        "SQ",
        "(a BETWEEN 3 AND 5) OR a = 9",
        seen.clone(),
        true,
    );
    c.start().await.unwrap();
    send_fixture(&b, "SQ").await;
    // All 15 consumed and committed means every non-match was skipped, not just delayed.
    let done = wait_until(Duration::from_secs(20), || async {
        committed_offset(&b, "CG_PUSH", "SQ").await == 15
    })
    .await;
    let got: BTreeSet<String> = seen_bodies(&seen).into_iter().map(|(b, _)| b).collect();
    assert!(
        done,
        "the consumer never committed past the last message; got {got:?}"
    );
    let want: BTreeSet<String> = ["a3", "a4", "a5", "a9"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
    assert_eq!(seen.lock().unwrap().len(), 4, "each match exactly once");
    c.shutdown().await;
}

#[actix_rt::test]
async fn a_raw_pull_with_the_subscription_flag_returns_only_matches_and_advances() {
    let b = start_broker().await;
    topic(&b, "SP", 1).await;
    send_fixture(&b, "SP").await;
    let r = b.call(sql_pull("CG_RAW", "SP", 0, "a > 6")).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(bodies(&r), ["a7", "a8", "a9"]);
    assert_eq!(
        next_begin(&r),
        15,
        "the offset moves past the non-matching tail"
    );
    // Properties of every kind: system (TAGS is absent here, so IS NULL), string, IN.
    let r = b
        .call(sql_pull(
            "CG_RAW",
            "SP",
            0,
            "TAGS IS NULL AND b = 'x' AND a IS NULL",
        ))
        .await;
    assert_eq!(bodies(&r).len(), 5);
    let r = b
        .call(sql_pull("CG_RAW", "SP", 2, "a IN ('1', '2', '3')"))
        .await;
    assert_eq!(bodies(&r), ["a2", "a3"]);
    // Nothing matches: RocketMQ's NO_MATCHED_MESSAGE, and still past everything scanned.
    let r = b.call(sql_pull("CG_RAW", "SP", 0, "a > 100")).await;
    assert_eq!(r.code, response::PULL_RETRY_IMMEDIATELY);
    assert_eq!(next_begin(&r), 15);
    let r = b.call(sql_pull("CG_RAW", "SP", 15, "a > 6")).await;
    assert_eq!(r.code, response::PULL_NOT_FOUND);
}

#[actix_rt::test]
async fn bad_expressions_are_refused_with_subscription_parse_failed() {
    let b = start_broker().await;
    topic(&b, "SB", 1).await;
    send_fixture(&b, "SB").await;

    let r = b.call(check_client_config(sql_sub("SB", "a > ", 1))).await;
    assert_eq!(r.code, response::SUBSCRIPTION_PARSE_FAILED);
    let remark = r.remark.unwrap_or_default();
    assert!(
        remark.contains("Invalid MessageSelector") && remark.contains("column 5"),
        "{remark}"
    );
    let r = b.call(check_client_config(sql_sub("SB", "a > 1", 1))).await;
    assert_eq!(r.code, response::SUCCESS);
    let tag = SubscriptionData {
        topic: "SB".into(),
        sub_string: "*".into(),
        ..Default::default()
    };
    assert_eq!(
        b.call(check_client_config(tag)).await.code,
        response::SUCCESS
    );

    let r = b.call(sql_pull("CG_BAD", "SB", 0, "a = = 1")).await;
    assert_eq!(r.code, response::SUBSCRIPTION_PARSE_FAILED);
    assert!(r
        .remark
        .unwrap_or_default()
        .starts_with("parse the consumer's subscription failed"));

    // A heartbeat is accepted but registers no filter, so the group's pulls say so.
    assert_eq!(
        b.call(heartbeat("CG_BAD", vec![sql_sub("SB", "a >", 1)]))
            .await
            .code,
        response::SUCCESS
    );
    let r = b.call(heartbeat_pull("CG_BAD", "SB", 0, 1)).await;
    assert_eq!(r.code, response::FILTER_DATA_NOT_EXIST, "{:?}", r.remark);

    // The Rust client asks first, like Java, and does not start.
    let seen: Seen = Default::default();
    let c = sql_consumer(&b.ns.addr, "CG_BAD2", "SB", "a BETWEEN 5 AND 1", seen, true);
    match c.start().await {
        Err(ClientError::Broker { code, remark }) => {
            assert_eq!(code, response::SUBSCRIPTION_PARSE_FAILED);
            assert!(remark.contains("between"), "{remark}");
        }
        other => panic!("start should fail, got {other:?}"),
    }
}

#[actix_rt::test]
async fn a_group_that_changes_its_expression_gets_the_new_one() {
    let b = start_broker().await;
    topic(&b, "SC", 1).await;
    send_fixture(&b, "SC").await;
    let hb = |expr: &str, v| heartbeat("CG_CHG", vec![sql_sub("SC", expr, v)]);
    assert_eq!(b.call(hb("a < 3", 1)).await.code, response::SUCCESS);
    let r = b.call(heartbeat_pull("CG_CHG", "SC", 0, 1)).await;
    assert_eq!(bodies(&r), ["a0", "a1", "a2"]);

    assert_eq!(b.call(hb("a >= 8", 2)).await.code, response::SUCCESS);
    let r = b.call(heartbeat_pull("CG_CHG", "SC", 0, 2)).await;
    assert_eq!(bodies(&r), ["a8", "a9"]);

    // A pull newer than what the broker has is told so (SUBSCRIPTION_NOT_LATEST).
    let r = b.call(heartbeat_pull("CG_CHG", "SC", 0, 3)).await;
    assert_eq!(r.code, response::SUBSCRIPTION_NOT_LATEST);
}

#[actix_rt::test]
async fn retries_of_a_sql92_group_come_back() {
    let b = start_broker().await;
    topic(&b, "SR", 1).await;
    let seen: Seen = Default::default();
    let c = sql_consumer(&b.ns.addr, "CG_RETRY", "SR", "a = 1", seen.clone(), false);
    c.start().await.unwrap();
    let p = started_producer(&b.ns.addr);
    for i in 0..3 {
        p.send(&Message::new("SR", format!("a{i}")).with_property("a", i.to_string()))
            .await
            .unwrap();
    }
    let back = wait_until(Duration::from_secs(30), || async {
        seen.lock().unwrap().len() >= 2
    })
    .await;
    let got = seen_bodies(&seen);
    assert!(back, "the failed message never came back: {got:?}");
    assert_eq!(got[..2], [("a1".to_owned(), 0), ("a1".to_owned(), 1)]);
    assert_eq!(got[1..].iter().filter(|(b, _)| b != "a1").count(), 0);
    c.shutdown().await;
}

/// SEND_MESSAGE_V2 with the given encoded properties.
fn send_props(topic: &str, body: &str, props: &str) -> RemotingCommand {
    let mut c = send_v2(topic, 0, body.as_bytes(), "", "", "");
    c.put_ext("i", props);
    c
}

#[actix_rt::test]
async fn filter_support_retry_filters_retries_by_the_original_topics_selector() {
    let b = start_broker_with(|c| c.filter_support_retry = true).await;
    topic(&b, "SF", 1).await;
    let retry = "%RETRY%CG_FSR";
    let all = SubscriptionData {
        topic: retry.into(),
        sub_string: "*".into(),
        ..Default::default()
    };
    let r = b
        .call(heartbeat("CG_FSR", vec![sql_sub("SF", "a = 1", 1), all]))
        .await;
    assert_eq!(r.code, response::SUCCESS);
    for (body, a) in [("r1", "1"), ("r2", "2"), ("r3", "1")] {
        let props = format!("RETRY_TOPIC\u{1}SF\u{2}a\u{1}{a}\u{2}WAIT\u{1}true\u{2}");
        let r = b.call(send_props(retry, body, &props)).await;
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }
    assert!(
        b.broker
            .store
            .wait_dispatched(Duration::from_secs(10))
            .await
    );
    let r = b.call(heartbeat_pull("CG_FSR", retry, 0, 0)).await;
    assert_eq!(
        r.code,
        response::SUCCESS,
        "{:?} {:?}",
        r.remark,
        r.ext_fields
    );
    assert_eq!(bodies(&r), ["r1", "r3"]);
    assert_eq!(next_begin(&r), 3);
}

#[actix_rt::test]
async fn enable_property_filter_false_refuses_sql92() {
    let b = start_broker_with(|c| c.enable_property_filter = false).await;
    topic(&b, "SD", 1).await;
    send_fixture(&b, "SD").await;
    let disabled = "The broker does not support consumer to filter message by SQL92";

    let r = b.call(check_client_config(sql_sub("SD", "a > 1", 1))).await;
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (response::SYSTEM_ERROR, Some(disabled))
    );
    let r = b.call(sql_pull("CG_OFF", "SD", 0, "a > 1")).await;
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (response::SYSTEM_ERROR, Some(disabled))
    );
    let tag = SubscriptionData {
        topic: "SD".into(),
        sub_string: "*".into(),
        ..Default::default()
    };
    assert_eq!(
        b.call(check_client_config(tag)).await.code,
        response::SUCCESS
    );

    let c = sql_consumer(
        &b.ns.addr,
        "CG_OFF2",
        "SD",
        "a > 1",
        Default::default(),
        true,
    );
    assert!(matches!(
        c.start().await,
        Err(ClientError::Broker {
            code: response::SYSTEM_ERROR,
            ..
        })
    ));
}

#[actix_rt::test]
async fn a_lite_pull_consumer_with_a_selector_polls_only_matches() {
    let b = start_broker().await;
    topic(&b, "SL", 1).await;
    send_fixture(&b, "SL").await;
    let c = LitePullConsumer::new("CG_LITE", fast_client(&b.ns.addr, "lite"));
    c.subscribe_sql("SL", "a <= 1 OR b = 'x'").await.unwrap();
    let mut got = Vec::new();
    for _ in 0..20 {
        got.extend(c.poll(Duration::from_millis(200)).await.unwrap());
        if got.len() >= 7 {
            break;
        }
    }
    let mut names: Vec<String> = got
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a0", "a1", "n0", "n1", "n2", "n3", "n4"]);
    assert!(c.subscribe_sql("SL", "a <>").await.is_err());
    c.shutdown().await;
}
