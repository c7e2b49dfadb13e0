//! Orderly consumers' queue locks over a real socket: LOCK_BATCH_MQ hands each queue to one
//! client of a group at a time, the holder renews it, only the holder unlocks it, and a lock
//! left to expire passes to the next client that asks.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::broker::*;
use ferrocket::actors::broker::meta::queue_locks::HoldsLocks;
use ferrocket::protocol::body::broker::{
    LockBatchRequestBody, LockBatchResponseBody, MessageQueue, UnlockBatchRequestBody,
};
use ferrocket::protocol::body::fastjson::JsonBody;
use ferrocket::protocol::code::{request, response};

const GROUP: &str = "orderly-cg";
const C1: &str = "192.168.0.20@12345#1";
const C2: &str = "192.168.0.21@777#2";

fn queues(ids: &[i32]) -> BTreeSet<MessageQueue> {
    ids.iter()
        .map(|&id| MessageQueue::new("TopicTest", "broker-a", id))
        .collect()
}

/// LOCK_BATCH_MQ for `client`; answers the ids of the queues it now holds.
async fn lock(b: &TestBroker, client: &str, ids: &[i32]) -> Vec<i32> {
    let mut req = cmd(request::LOCK_BATCH_MQ, &[]);
    req.body = LockBatchRequestBody {
        client_id: client.into(),
        consumer_group: GROUP.into(),
        mq_set: queues(ids),
        only_this_broker: false,
    }
    .encode();
    let res = b.call(req).await;
    assert_eq!(res.code, response::SUCCESS, "{:?}", res.remark);
    let body = LockBatchResponseBody::decode(&res.body).unwrap();
    body.lock_ok_mq_set.iter().map(|q| q.queue_id).collect()
}

async fn unlock(b: &TestBroker, client: &str, ids: &[i32]) {
    let mut req = cmd(request::UNLOCK_BATCH_MQ, &[]);
    req.body = UnlockBatchRequestBody {
        client_id: client.into(),
        consumer_group: GROUP.into(),
        mq_set: queues(ids),
        only_this_broker: false,
    }
    .encode();
    let res = b.call(req).await;
    assert_eq!(res.code, response::SUCCESS, "{:?}", res.remark);
    assert!(res.body.is_empty(), "the unlock answer has no body");
}

async fn group_holds_locks(b: &TestBroker) -> bool {
    b.broker
        .context
        .queue_locks
        .ask(HoldsLocks {
            group: GROUP.into(),
        })
        .await
        .unwrap()
        .unwrap()
}

#[actix_rt::test]
async fn a_second_client_gets_only_the_queues_nobody_holds() {
    let b = start_broker().await;
    assert_eq!(lock(&b, C1, &[0, 1]).await, vec![0, 1]);
    assert_eq!(lock(&b, C2, &[1, 2, 3]).await, vec![2, 3]);
    assert_eq!(lock(&b, C1, &[0, 1, 2, 3]).await, vec![0, 1]);

    let mut req = cmd(request::LOCK_BATCH_MQ, &[]);
    req.body = br#"{"clientId":"192.168.0.20@12345#1","consumerGroup":"orderly-cg","mqSet":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}],"onlyThisBroker":false}"#
        .to_vec()
        .into();
    let res = b.call(req).await;
    assert_eq!(
        &res.body[..],
        br#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}]}"#,
        "the answer is fastjson's LockBatchResponseBody"
    );
}

#[actix_rt::test]
async fn the_holder_keeps_a_queue_it_renews_past_the_first_lifetime() {
    let b = start_broker_with(|c| c.rebalance_lock_max_live_time = 2_000).await;
    assert_eq!(lock(&b, C1, &[0]).await, vec![0]);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(lock(&b, C1, &[0]).await, vec![0], "the holder renews");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(
        lock(&b, C2, &[0]).await.is_empty(),
        "2.4 s after the first lock, but only 1.2 s after the renewal"
    );
}

#[actix_rt::test]
async fn only_the_holder_can_unlock_a_queue() {
    let b = start_broker().await;
    assert_eq!(lock(&b, C1, &[0, 1]).await, vec![0, 1]);
    unlock(&b, C2, &[0, 1]).await;
    assert!(
        lock(&b, C2, &[0, 1]).await.is_empty(),
        "a non-holder's unlock changes nothing"
    );
    unlock(&b, C1, &[0]).await;
    assert_eq!(lock(&b, C2, &[0, 1]).await, vec![0]);
    assert_eq!(lock(&b, C1, &[0, 1]).await, vec![1]);
}

#[actix_rt::test]
async fn an_expired_lock_passes_to_the_next_client() {
    let b = start_broker_with(|c| c.rebalance_lock_max_live_time = 1_000).await;
    assert!(!group_holds_locks(&b).await);
    assert_eq!(lock(&b, C1, &[0]).await, vec![0]);
    assert!(lock(&b, C2, &[0]).await.is_empty());
    assert!(group_holds_locks(&b).await);

    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert!(
        !group_holds_locks(&b).await,
        "an expired lock no longer counts for the group"
    );
    assert_eq!(lock(&b, C2, &[0]).await, vec![0]);
    assert!(
        lock(&b, C1, &[0]).await.is_empty(),
        "the old holder lost it"
    );
}

#[actix_rt::test]
async fn a_lock_request_without_a_client_or_a_body_is_refused() {
    let b = start_broker().await;
    let mut req = cmd(request::LOCK_BATCH_MQ, &[]);
    req.body = br#"{"consumerGroup":"orderly-cg","mqSet":[]}"#.to_vec().into();
    let res = b.call(req).await;
    assert_eq!(res.code, response::INVALID_PARAMETER);
    assert!(res.remark.unwrap_or_default().contains("clientId"));

    let res = b.call(cmd(request::UNLOCK_BATCH_MQ, &[])).await;
    assert_eq!(res.code, response::SYSTEM_ERROR, "{:?}", res.remark);
}
