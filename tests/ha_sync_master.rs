//! SYNC_MASTER against a scripted slave speaking the HA protocol over a raw socket: no
//! slave → SLAVE_NOT_AVAILABLE, a slave that does not ack → FLUSH_SLAVE_TIMEOUT after
//! slaveTimeout, both with the message stored; acks answer sends; a peer reporting an
//! offset beyond what it was sent does not answer later sends; a slave refuses sends.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::broker::*;
use ferrocket::actors::broker::BrokerRole;
use ferrocket::protocol::code::response;
use ferrocket::protocol::ha::{encode_report, TransferDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

async fn sync_master() -> TestBroker {
    let b = start_broker_with(|c| {
        c.broker_role = BrokerRole::SyncMaster;
        c.ha_listen_port = Some(0);
        // Java's default: long enough for the scripted slave to ack on a busy machine,
        // short of the test client's 5 s request timeout.
        c.slave_timeout = 3_000;
    })
    .await;
    assert_eq!(b.call(create_topic("S", 1)).await.code, response::SUCCESS);
    b
}

async fn send(b: &TestBroker, body: &str) -> i32 {
    b.call(send_v2("S", 0, body.as_bytes(), "T", body, body))
        .await
        .code
}

/// A scripted slave: connects and reports `first`.
async fn fake_slave(b: &TestBroker, first: i64) -> TcpStream {
    let mut s = TcpStream::connect(b.broker.ha_addr().unwrap())
        .await
        .unwrap();
    s.write_all(&encode_report(first)).await.unwrap();
    let replica = b.broker.store.replica().unwrap().clone();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let r = replica.clone();
            async move { r.connected_slaves() == 1 }
        })
        .await,
        "the master never counted the slave"
    );
    s
}

/// Reads frames until one ends at or past `end`; returns where the stream got to.
async fn read_until(s: &mut TcpStream, from: i64, end: i64) -> i64 {
    let mut buf = BytesMut::new();
    let mut codec = TransferDecoder::default();
    let mut at = from;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while at < end {
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            assert_eq!(frame.offset, at, "frames follow each other");
            at += frame.body.len() as i64;
        }
        if at >= end {
            break;
        }
        let n = tokio::time::timeout_at(deadline, s.read_buf(&mut buf))
            .await
            .expect("the master stopped streaming")
            .unwrap();
        assert!(n > 0, "the master closed the connection");
    }
    at
}

fn stored(b: &TestBroker) -> i64 {
    b.broker.store.commit_log().max_offset()
}

#[actix_rt::test]
async fn sync_master_answers_11_without_a_slave_and_12_without_an_ack_and_stores_both() {
    let b = sync_master().await;
    assert_eq!(send(&b, "alone").await, response::SLAVE_NOT_AVAILABLE);
    let after_first = stored(&b);
    assert!(after_first > 0, "stored although no slave holds it");

    let mut slave = fake_slave(&b, 0).await;
    assert_eq!(send(&b, "unacked").await, response::FLUSH_SLAVE_TIMEOUT);
    let metrics = b.broker.context.registry.render_prometheus();
    for line in [
        "rocketmq_ha_connected_slaves 1",
        "rocketmq_ha_flush_slave_timeout_total 1",
        "rocketmq_ha_slave_not_available_total 1",
    ] {
        assert!(metrics.contains(line), "/metrics lacks {line:?}");
    }
    let tree = b.broker.context.registry.actor_tree();
    let text = format!("{tree:?}");
    assert!(
        text.contains("HAService") && text.contains("HAConnection"),
        "{text}"
    );
    assert!(
        stored(&b) > after_first,
        "stored although no slave acked it"
    );

    // The slave catches up and acks: the next send is answered SUCCESS.
    let end = stored(&b);
    let got = read_until(&mut slave, 0, end).await;
    slave.write_all(&encode_report(got)).await.unwrap();
    let replica = b.broker.store.replica().unwrap().clone();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let r = replica.clone();
            async move { r.acked() >= end }
        })
        .await
    );
    let task = tokio::spawn({
        let client = b.client.clone();
        let addr = b.addr.clone();
        async move {
            client
                .invoke(
                    &addr,
                    send_v2("S", 0, b"acked", "T", "k", "u"),
                    Duration::from_secs(10),
                )
                .await
                .unwrap()
                .code
        }
    });
    let wanted = wait_for_growth(&b, end).await;
    let got = read_until(&mut slave, got, wanted).await;
    slave.write_all(&encode_report(got)).await.unwrap();
    assert_eq!(task.await.unwrap(), response::SUCCESS);
    let metrics = b.broker.context.registry.render_prometheus();
    assert!(
        metrics.contains("rocketmq_ha_sync_answered_total 1"),
        "{metrics}"
    );
}

async fn wait_for_growth(b: &TestBroker, past: i64) -> i64 {
    let store = b.broker.store.clone();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let s = store.clone();
            async move { s.commit_log().max_offset() > past }
        })
        .await
    );
    stored(b)
}

#[actix_rt::test]
async fn a_report_of_bytes_never_sent_does_not_answer_sends() {
    // Claim a petabyte before anything is stored, in the opening report or in a later one
    // (Java takes such a report as an ack of every later SYNC_MASTER send,
    // apache/rocketmq#3015).
    for first in [0, 1 << 50] {
        let b = sync_master().await;
        let mut liar = fake_slave(&b, first).await;
        liar.write_all(&encode_report(1 << 50)).await.unwrap();
        let replica = b.broker.store.replica().unwrap().clone();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(replica.acked(), 0, "nothing was sent, so nothing is acked");
        let code = b.call(send_v2("S", 0, b"x", "T", "k", "u")).await.code;
        assert_eq!(code, response::FLUSH_SLAVE_TIMEOUT, "first report {first}");
        drop(liar);
    }
}

#[actix_rt::test]
async fn a_slave_refuses_sends_with_service_not_available() {
    let b = start_broker_with(|c| {
        c.broker_role = BrokerRole::Slave;
        c.broker_id = 1;
        c.ha_master_address = Some("127.0.0.1:1".into());
    })
    .await;
    b.call(create_topic("S", 1)).await;
    let r = b.call(send_v2("S", 0, b"x", "T", "k", "u")).await;
    assert_eq!(r.code, response::SERVICE_NOT_AVAILABLE);
    assert!(r.remark.unwrap_or_default().contains("slave"));
    assert_eq!(stored(&b), 0);
}
