//! `/metrics` per topic and consumer group with RocketMQ 5.x's names: the lag of a group
//! that stops and of one that catches up, ready and inflight left out where unknown, the
//! store gauges, and a deleted topic's series going away.

mod common;

use std::time::Duration;

use common::broker::*;
use common::client::{recording_consumer, started_producer, wait_count, Seen};
use common::{http_get, TIMEOUT};
use ferrocket::actors::http::MetricsEndpoint;
use ferrocket::protocol::body::broker::ConsumeStats;
use ferrocket::protocol::code::{request, response};

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn pair(topic: &str, group: &str) -> String {
    format!(
        "{{topic=\"{topic}\",consumer_group=\"{group}\",is_retry=\"false\",is_system=\"false\"}}"
    )
}

async fn scrape(endpoint: &MetricsEndpoint) -> String {
    let (status, text) = http_get(endpoint.local_addr(), "/metrics").await;
    assert!(status.contains("200"), "{status}");
    text
}

async fn wait_metric(endpoint: &MetricsEndpoint, series: &str, want: f64) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(endpoint).await;
        if metric(&text, series) == Some(want) {
            return text;
        }
        if std::time::Instant::now() > deadline {
            let relevant: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("consumer_") || l.contains("storage"))
                .collect();
            panic!("{series} never reached {want}:\n{}", relevant.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_rt::test]
async fn consumer_lag_follows_a_group_that_stops_and_catches_up() {
    let b = start_broker().await;
    let endpoint = MetricsEndpoint::start(
        "127.0.0.1:0".parse().unwrap(),
        b.broker.context.registry.clone(),
        "test",
    )
    .unwrap();
    let ns = b.ns.addr.as_str();
    b.call(create_topic("LagT", 1)).await;
    let producer = started_producer(ns);
    for i in 0..5 {
        producer
            .send(&ferrocket::client::Message::new("LagT", format!("a{i}")))
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let consumer = recording_consumer(ns, "LagG", "LagT", seen.clone(), true, 16, dir.path());
    consumer.start().await.unwrap();
    assert!(wait_count(&seen, 5, Duration::from_secs(20)).await);
    let lag = format!("rocketmq_consumer_lag_messages{}", pair("LagT", "LagG"));
    let text = wait_metric(&endpoint, &lag, 0.0).await;
    assert_eq!(
        metric(
            &text,
            &format!("rocketmq_consumer_ready_messages{}", pair("LagT", "LagG"))
        ),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &text,
            &format!(
                "rocketmq_consumer_inflight_messages{}",
                pair("LagT", "LagG")
            )
        ),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &text,
            &format!("rocketmq_consumer_lag_latency{}", pair("LagT", "LagG"))
        ),
        Some(0.0)
    );
    assert!(text.contains("rocketmq_consumer_connections{consumer_group=\"LagG\",language=\"rust\",version=\"v4_9_8\",consume_mode=\"push\",protocol_type=\"remoting\",is_system=\"false\"} 1"), "{text}");
    // The producer is counted once its periodic heartbeat (which needs a route) has come.
    wait_metric(
        &endpoint,
        "rocketmq_producer_connections{language=\"rust\",version=\"v4_9_8\",protocol_type=\"remoting\"}",
        1.0,
    )
    .await;

    // The consumer stops; 7 more arrive and wait.
    consumer.shutdown().await;
    for i in 0..7 {
        producer
            .send(&ferrocket::client::Message::new("LagT", format!("b{i}")))
            .await
            .unwrap();
    }
    assert!(b.broker.store.wait_dispatched(TIMEOUT).await);
    let text = wait_metric(&endpoint, &lag, 7.0).await;
    // A pull the stopped consumer left waiting may have been answered with the new
    // messages (then they are in flight), or not (then they are ready): together, 7.
    let ready = metric(
        &text,
        &format!("rocketmq_consumer_ready_messages{}", pair("LagT", "LagG")),
    )
    .unwrap();
    let inflight = metric(
        &text,
        &format!(
            "rocketmq_consumer_inflight_messages{}",
            pair("LagT", "LagG")
        ),
    )
    .unwrap();
    assert_eq!(ready + inflight, 7.0, "ready {ready} inflight {inflight}");
    let latency = metric(
        &text,
        &format!("rocketmq_consumer_lag_latency{}", pair("LagT", "LagG")),
    )
    .unwrap();
    assert!((0.0..600_000.0).contains(&latency), "{latency}");
    // The same figure GET_CONSUME_STATS gives mqadmin and the dashboard.
    let stats = b
        .call(cmd(
            request::GET_CONSUME_STATS,
            &[("consumerGroup", "LagG"), ("topic", "LagT")],
        ))
        .await;
    assert_eq!(stats.code, response::SUCCESS);
    assert_eq!(ConsumeStats::decode(&stats.body).unwrap().total_diff(), 7);
    assert_eq!(
        metric(&text, "rocketmq_messages_in_total{topic=\"LagT\"}"),
        Some(12.0)
    );
    assert!(
        metric(
            &text,
            "rocketmq_messages_out_total{topic=\"LagT\",consumer_group=\"LagG\"}"
        )
        .unwrap()
            >= 5.0
    );
    assert!(
        metric(
            &text,
            "rocketmq_throughput_out_total{topic=\"LagT\",consumer_group=\"LagG\"}"
        )
        .unwrap()
            > 0.0
    );
    assert!(metric(&text, "rocketmq_storage_size").unwrap() > 0.0);
    assert_eq!(
        metric(&text, "rocketmq_storage_dispatch_behind_bytes"),
        Some(0.0)
    );
    assert!(metric(&text, "rocketmq_storage_flush_behind_bytes").is_some());
    assert!(metric(&text, "rocketmq_storage_message_reserve_time").is_some());
    assert_eq!(
        metric(&text, "rocketmq_consumer_lag_series_dropped"),
        Some(0.0)
    );

    // The stopped consumer's connection is gone from the connection gauge.
    assert!(
        !text.contains("rocketmq_consumer_connections{consumer_group=\"LagG\""),
        "{text}"
    );

    // A producer that leaves is no longer counted.
    producer.shutdown().await;
    let series = "rocketmq_producer_connections{language=\"rust\",version=\"v4_9_8\",protocol_type=\"remoting\"}";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while metric(&scrape(&endpoint).await, series).is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "{series} stays after the producer left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A group that committed without ever pulling here: lag known, ready and inflight not.
    b.call(cmd(
        request::UPDATE_CONSUMER_OFFSET,
        &[
            ("consumerGroup", "ManualG"),
            ("topic", "LagT"),
            ("queueId", "0"),
            ("commitOffset", "10"),
        ],
    ))
    .await;
    let text = wait_metric(
        &endpoint,
        &format!("rocketmq_consumer_lag_messages{}", pair("LagT", "ManualG")),
        2.0,
    )
    .await;
    assert_eq!(
        metric(
            &text,
            &format!(
                "rocketmq_consumer_ready_messages{}",
                pair("LagT", "ManualG")
            )
        ),
        None
    );
    assert_eq!(
        metric(
            &text,
            &format!(
                "rocketmq_consumer_inflight_messages{}",
                pair("LagT", "ManualG")
            )
        ),
        None
    );

    // A consumer of the group comes back and catches up.
    let seen2: Seen = Default::default();
    let again = recording_consumer(ns, "LagG", "LagT", seen2.clone(), true, 16, dir.path());
    again.start().await.unwrap();
    assert!(wait_count(&seen2, 7, Duration::from_secs(20)).await);
    wait_metric(&endpoint, &lag, 0.0).await;
    again.shutdown().await;

    // Deleting the topic drops its series.
    assert_eq!(
        b.call(cmd(request::DELETE_TOPIC_IN_BROKER, &[("topic", "LagT")]))
            .await
            .code,
        response::SUCCESS
    );
    let text = scrape(&endpoint).await;
    assert!(!text.contains("topic=\"LagT\""), "{text}");
}
