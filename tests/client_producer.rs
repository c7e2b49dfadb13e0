//! The Rust producer against a real name server and broker: sync, async, oneway, batch,
//! queue selection, compression, and topics created on first send through TBW102.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::broker::*;
use common::*;
use ferrocket::client::message::decode_messages;
use ferrocket::client::{
    ClientConfig, ClientInstance, HashSelector, Message, Producer, ProducerConfig, SendStatus,
};
use ferrocket::protocol::code::response;

fn producer(ns: &str) -> Arc<Producer> {
    let client = ClientInstance::new(ClientConfig {
        namesrv_addr: ns.to_owned(),
        ..Default::default()
    });
    let p = Arc::new(Producer::new(
        ProducerConfig {
            group: "PG".into(),
            ..Default::default()
        },
        client,
    ));
    p.start();
    p
}

async fn wait_route(b: &TestBroker, topic: &str) {
    let ok = wait_until(Duration::from_secs(5), || {
        let (c, addr) = (
            ferrocket::remoting_client::RemotingClient::default(),
            b.ns.addr.clone(),
        );
        let t = topic.to_owned();
        async move {
            c.invoke(&addr, route_request(&t, 409), TIMEOUT)
                .await
                .map(|r| r.code == 0)
                .unwrap_or(false)
        }
    })
    .await;
    assert!(ok, "route for {topic}");
}

#[actix_rt::test]
async fn sends_of_every_kind_arrive_with_their_properties() {
    let b = start_broker().await;
    b.call(create_topic("PT", 4)).await;
    wait_route(&b, "PT").await;
    let p = producer(&b.ns.addr);

    let r = p
        .send(
            &Message::new("PT", "one")
                .with_tags("A")
                .with_keys(["k1"])
                .with_property("custom", "v"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    assert_eq!(r.msg_id.len(), 32, "a UNIQ_KEY is generated");
    assert_eq!(r.offset_msg_id.len(), 32);

    let big = vec![b'z'; 10_000];
    let rb = p
        .send_to_queue(&Message::new("PT", big.clone()), &r.queue)
        .await
        .unwrap();
    assert_eq!(rb.queue_offset, r.queue_offset + 1);

    let batch: Vec<Message> = (0..3)
        .map(|i| Message::new("PT", format!("b{i}")))
        .collect();
    let rbatch = p.send_batch(&batch).await.unwrap();
    assert_eq!(rbatch.msg_id.split(',').count(), 3);
    assert_eq!(rbatch.offset_msg_id.split(',').count(), 3);

    let (tx, rx) = tokio::sync::oneshot::channel();
    p.send_async(Message::new("PT", "async"), move |r| {
        let _ = tx.send(r.map(|r| r.status));
    });
    assert_eq!(rx.await.unwrap().unwrap(), SendStatus::SendOk);
    p.send_oneway(&Message::new("PT", "oneway")).await.unwrap();

    // Read the first queue back: the properties and the inflated big body are intact.
    assert!(b.broker.store.wait_dispatched(Duration::from_secs(5)).await);
    let pulled = b
        .call(pull(
            "G",
            "PT",
            r.queue.queue_id,
            r.queue_offset,
            FLAG_SUBSCRIPTION,
            0,
            Some("*"),
        ))
        .await;
    assert_eq!(pulled.code, response::SUCCESS);
    let msgs = decode_messages(&pulled.body);
    assert_eq!(msgs[0].body.as_ref(), b"one");
    assert_eq!(msgs[0].tags(), Some("A"));
    assert_eq!(msgs[0].keys(), vec!["k1"]);
    assert_eq!(msgs[0].property("custom"), Some("v"));
    assert_eq!(msgs[0].msg_id(), r.msg_id);
    assert_eq!(
        msgs[1].body.as_ref(),
        big.as_slice(),
        "a compressed body comes back whole"
    );
    assert!(
        msgs[1].sys_flag & 0x1 != 0,
        "bodies over 4 KiB travel compressed"
    );
}

#[actix_rt::test]
async fn a_hash_selector_keeps_one_key_on_one_queue() {
    let b = start_broker().await;
    b.call(create_topic("Ordered", 8)).await;
    wait_route(&b, "Ordered").await;
    let p = producer(&b.ns.addr);
    let mut queues = std::collections::BTreeSet::new();
    for i in 0..10 {
        let r = p
            .send_with_selector(
                &Message::new("Ordered", format!("step{i}")),
                &HashSelector,
                "order-42",
            )
            .await
            .unwrap();
        queues.insert(r.queue.queue_id);
    }
    assert_eq!(queues.len(), 1);
}

#[actix_rt::test]
async fn an_unknown_topic_is_created_on_first_send() {
    let b = start_broker().await;
    wait_route(&b, "TBW102").await;
    let p = producer(&b.ns.addr);
    let r = p.send(&Message::new("BrandNew", "first")).await.unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    wait_route(&b, "BrandNew").await;
    let again = p.send(&Message::new("BrandNew", "second")).await.unwrap();
    assert_eq!(again.status, SendStatus::SendOk);
}

#[actix_rt::test]
async fn bad_messages_are_refused_before_sending() {
    let b = start_broker().await;
    let p = producer(&b.ns.addr);
    assert!(p.send(&Message::new("bad topic", "x")).await.is_err());
    assert!(p.send(&Message::new("T", "")).await.is_err());
    assert!(p.send_batch(&[]).await.is_err());
}
