//! The admin client (topics, routes, cluster list, consumer progress, messages by key and
//! by id) and the lite pull consumer (assign, poll, commit, resume) against a real name
//! server and broker.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::broker::*;
use ferrocket::client::*;
use ferrocket::protocol::body::broker::MessageQueue;

fn client(ns: &str, name: &str) -> ClientInstance {
    ClientInstance::new(ClientConfig {
        namesrv_addr: ns.to_owned(),
        instance_name: name.to_owned(),
        ..Default::default()
    })
}

#[actix_rt::test]
async fn the_admin_client_manages_topics_and_finds_messages() {
    let b = start_broker().await;
    let admin = AdminClient::new(client(&b.ns.addr, "admin"));
    let ok = wait_until(Duration::from_secs(5), || async {
        admin
            .masters("DefaultCluster")
            .await
            .map(|m| !m.is_empty())
            .unwrap_or(false)
    })
    .await;
    assert!(ok, "the broker registers");
    let cluster = admin.cluster_list().await.unwrap();
    assert!(cluster.cluster_addr_table["DefaultCluster"].contains("broker-a"));

    admin
        .create_topic("DefaultCluster", "AdminT", 3)
        .await
        .unwrap();
    let routed = wait_until(Duration::from_secs(5), || async {
        admin.topic_route("AdminT").await.is_ok()
    })
    .await;
    assert!(routed);
    assert_eq!(
        admin.topic_route("AdminT").await.unwrap().queue_datas[0].write_queue_nums,
        3
    );

    let p = Producer::new(
        ProducerConfig {
            group: "PG".into(),
            ..Default::default()
        },
        client(&b.ns.addr, "p"),
    );
    p.start();
    let sent = p
        .send(&Message::new("AdminT", "findme").with_keys(["order-7"]))
        .await
        .unwrap();
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    let by_key = admin.query_by_key("AdminT", "order-7").await.unwrap();
    assert_eq!(by_key.len(), 1);
    assert_eq!(by_key[0].body.as_ref(), b"findme");
    assert_eq!(
        admin
            .query_by_key("AdminT", &sent.msg_id)
            .await
            .unwrap()
            .len(),
        1,
        "by UNIQ_KEY too"
    );
    assert_eq!(
        admin
            .view_by_id(&sent.offset_msg_id)
            .await
            .unwrap()
            .body
            .as_ref(),
        b"findme"
    );

    b.call(cmd(
        ferrocket::protocol::code::request::UPDATE_CONSUMER_OFFSET,
        &[
            ("consumerGroup", "AG"),
            ("topic", "AdminT"),
            ("queueId", &sent.queue.queue_id.to_string()),
            ("commitOffset", "1"),
        ],
    ))
    .await;
    let progress = admin.consumer_progress("AG", "AdminT").await.unwrap();
    let q = progress.get(&sent.queue).unwrap();
    assert_eq!((q.broker_offset, q.consumer_offset), (1, 1));

    admin
        .delete_topic("DefaultCluster", "AdminT")
        .await
        .unwrap();
    assert!(
        admin.topic_route("AdminT").await.is_err(),
        "the route is gone"
    );
}

#[actix_rt::test]
async fn a_lite_pull_consumer_polls_commits_and_a_new_instance_resumes() {
    let b = start_broker().await;
    b.call(create_topic("LT", 2)).await;
    let p = Producer::new(
        ProducerConfig {
            group: "PG".into(),
            ..Default::default()
        },
        client(&b.ns.addr, "p"),
    );
    p.start();
    let ok = wait_until(Duration::from_secs(5), || async {
        p.queues("LT").await.map(|q| !q.1).unwrap_or(false)
    })
    .await;
    assert!(ok);
    for i in 0..10 {
        p.send(&Message::new("LT", format!("m{i}"))).await.unwrap();
    }
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);

    let c = LitePullConsumer::new("LG", client(&b.ns.addr, "c1"));
    c.subscribe("LT").await.unwrap();
    let first = c.poll(Duration::from_secs(2)).await.unwrap();
    assert_eq!(first.len(), 10);
    assert!(
        c.poll(Duration::from_millis(100)).await.unwrap().is_empty(),
        "nothing new"
    );
    c.commit().await;
    for i in 10..13 {
        p.send(&Message::new("LT", format!("m{i}"))).await.unwrap();
    }
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    // The commit is oneway: give it a moment to land before the next instance reads it.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let again = LitePullConsumer::new("LG", client(&b.ns.addr, "c2"));
    let queues: BTreeSet<MessageQueue> = (0..2)
        .map(|q| MessageQueue::new("LT", "broker-a", q))
        .collect();
    again.assign(queues).await.unwrap();
    let rest = again.poll(Duration::from_secs(2)).await.unwrap();
    let bodies: BTreeSet<String> = rest
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).to_string())
        .collect();
    assert_eq!(
        bodies,
        ["m10", "m11", "m12"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}
