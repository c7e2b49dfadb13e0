//! The store's actor tree: SYNC_FLUSH group commit, ASYNC_FLUSH, dispatch to consume queues
//! and the index with arrival announcements, a poisoned store after a failed fsync, a full
//! disk, expired-file cleanup, backpressure, and a clean shutdown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use ferrocket::actors::broker::store::commit_log_writer::PutStatus;
use ferrocket::actors::broker::store::reput_dispatcher::MessageArrived;
use ferrocket::actors::broker::{PutError, StoreHandle};
use ferrocket::actors::metrics::MetricsRegistry;
use ferrocket::actors::runtime::ActorError;
use ferrocket::protocol::message::MessageToStore;
use ferrocket::store::config::{FlushDiskType, StoreConfig};
use ferrocket::store::get_message::{GetMessageStatus, TransferLimits};
use ferrocket::store::message_store;
use ferrocket::store::StoreError;

fn config(dir: &std::path::Path, mode: FlushDiskType) -> StoreConfig {
    StoreConfig {
        store_path_root_dir: dir.to_owned(),
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 20 * 64,
        max_message_size: 8 * 1024,
        flush_disk_type: mode,
        flush_interval_commit_log: 20,
        flush_interval_consume_queue: 50,
        clean_resource_interval: 30,
        max_hash_slot_num: 128,
        max_index_num: 512,
        ..Default::default()
    }
}

fn msg(topic: &str, queue_id: i32, i: usize) -> MessageToStore {
    MessageToStore {
        born_timestamp: 1_700_000_000_000,
        ..MessageToStore::new(
            topic,
            queue_id,
            Bytes::from(format!("body-{i}-{}", "x".repeat(200))),
            format!("TAGS\u{1}TagA\u{2}KEYS\u{1}key{i}\u{2}WAIT\u{1}true\u{2}"),
        )
    }
}

/// Starts the store with disk use pinned at 10%, so the machine's real disk never decides
/// a test; tests about a full disk set their own figure.
fn start(cfg: &StoreConfig) -> StoreHandle {
    let recovered = message_store::open(cfg).unwrap();
    let store = StoreHandle::start(recovered, &MetricsRegistry::new(), "broker/Store");
    store.override_disk_usage(Some(10));
    store
}

async fn eventually(limit: Duration, mut probe: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if probe() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[actix_rt::test]
async fn sync_flush_acknowledges_only_fsynced_messages_and_sends_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(MetricsRegistry::new());
    let recovered = message_store::open(&config(dir.path(), FlushDiskType::SyncFlush)).unwrap();
    let store = StoreHandle::start(recovered, &registry, "broker/Store");
    store.override_disk_usage(Some(10));
    // The disk stalls while the 200 sends are appended, so they must share fsyncs whatever
    // the scheduler does (a fast disk could otherwise answer each before the next came).
    store.hold_flushes(true);
    let puts = (0..200).map(|i| {
        let s = store.clone();
        async move {
            let r = s
                .put(vec![msg("T", (i % 4) as i32, i)], true)
                .await
                .unwrap();
            // Acknowledged means durable: the flushed offset already covers it.
            assert!(s.commit_log().files().flushed_offset() >= r.append.end_offset());
            r.status
        }
    });
    let all = actix_rt::spawn(futures_util::future::join_all(puts));
    let writer = registry.actor("broker/Store/CommitLogWriter").unwrap();
    assert!(
        eventually(Duration::from_secs(20), || writer.handled() >= 200).await,
        "the writer appended {} of 200",
        writer.handled()
    );
    assert!(
        !all.is_finished(),
        "nothing is acknowledged while the disk is stalled"
    );
    store.hold_flushes(false);
    let statuses = tokio::time::timeout(Duration::from_secs(20), all)
        .await
        .expect("every send is answered once the disk moves")
        .unwrap();
    assert!(statuses.iter().all(|s| *s == PutStatus::PutOk));
    // Every send is answered exactly once: by a group-commit round, or at once when a
    // round had already flushed past its bytes before it asked (the writer appends, then
    // registers; a round running between the two covers it).
    let waiters = registry.sum_counter("rocketmq_store_group_commit_waiters_total");
    let at_once = registry.sum_counter("rocketmq_store_group_commit_durable_at_once_total");
    assert_eq!(
        waiters + at_once,
        200,
        "{waiters} waited, {at_once} at once"
    );
    // The first round stalled with the sends queued behind it: a second round takes them
    // all, and at most the last send, registering as the disk came back, needs a third.
    let group_rounds = registry.sum_counter("rocketmq_store_group_commit_rounds_total");
    assert!(
        (1..=3).contains(&group_rounds),
        "200 sends took {group_rounds} group-commit rounds"
    );
    let text = registry.render_prometheus();
    assert!(
        text.contains(&format!(
            "rocketmq_store_group_commit_waiters_total {waiters}"
        )),
        "{text}"
    );
    store.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn async_flush_answers_at_once_and_flushes_on_its_timer() {
    let dir = tempfile::tempdir().unwrap();
    let store = start(&config(dir.path(), FlushDiskType::AsyncFlush));
    let mut last = 0;
    for i in 0..50 {
        last = store
            .put(vec![msg("T", 0, i)], true)
            .await
            .unwrap()
            .append
            .end_offset();
    }
    assert!(
        eventually(Duration::from_secs(5), || store
            .commit_log()
            .files()
            .flushed_offset()
            >= last)
        .await
    );
    store.shutdown().await.unwrap();
}

struct Collector(Arc<Mutex<Vec<MessageArrived>>>);

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<MessageArrived> for Collector {
    type Result = ();
    fn handle(&mut self, m: MessageArrived, _: &mut Context<Self>) {
        if let Ok(mut v) = self.0.lock() {
            v.push(m);
        }
    }
}

#[actix_rt::test]
async fn dispatch_feeds_queues_and_index_and_announces_arrivals() {
    let dir = tempfile::tempdir().unwrap();
    let store = start(&config(dir.path(), FlushDiskType::AsyncFlush));
    let seen = Arc::new(Mutex::new(Vec::new()));
    store.subscribe_arrivals(Collector(seen.clone()).start().recipient());
    tokio::time::sleep(Duration::from_millis(20)).await;
    let batch = (0..3).map(|i| msg("Orders", 2, i)).collect();
    let r = store.put(batch, true).await.unwrap();
    assert_eq!(r.append.msg_num, 3);
    assert!(store.wait_dispatched(Duration::from_secs(5)).await);
    assert_eq!(store.queue_offsets("Orders", 2), (0, 3));
    let got = store.get_message("Orders", 2, 0, 32, TransferLimits::default(), |_| true);
    assert_eq!(
        (got.status, got.messages.len()),
        (GetMessageStatus::Found, 3)
    );
    let arrived = eventually(Duration::from_secs(2), || {
        seen.lock()
            .map(|v| {
                v.iter()
                    .any(|a| &*a.topic == "Orders" && a.queue_id == 2 && a.max_offset == 3)
            })
            .unwrap_or(false)
    })
    .await;
    assert!(arrived, "subscribers hear about new messages per queue");
    let (hits, records) = store
        .query_by_key("Orders", "key1", 32, 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(hits.phy_offsets.len(), 1);
    assert_eq!(records.len(), 1);
    assert!(store.earliest_store_time("Orders", 2).is_some());
    assert_eq!(store.offset_by_time("Orders", 2, 0, false), 0);
    store.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_failed_fsync_poisons_the_store_and_nothing_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let store = start(&config(dir.path(), FlushDiskType::SyncFlush));
    store.put(vec![msg("T", 0, 0)], true).await.unwrap();
    store.inject_flush_failure();
    let err = store.put(vec![msg("T", 0, 1)], true).await.unwrap_err();
    assert!(
        matches!(err, PutError::Store(StoreError::Poisoned(_))),
        "{err}"
    );
    assert!(store.is_poisoned());
    let rounds = store.flush_rounds();
    for i in 2..5 {
        let err = store.put(vec![msg("T", 0, i)], false).await.unwrap_err();
        assert!(err.to_string().contains("refuses writes"), "{err}");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        store.flush_rounds(),
        rounds,
        "no flush is retried once poisoned"
    );
    // The abort marker stays: the next start will recover.
    assert!(store.shutdown().await.is_err());
    assert!(dir.path().join("abort").exists());
}

#[actix_rt::test]
async fn a_full_disk_refuses_writes_until_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let store = start(&config(dir.path(), FlushDiskType::AsyncFlush));
    // The put path reads the disk state itself: no cleaner tick is needed either way.
    store.override_disk_usage(Some(95));
    let err = store.put(vec![msg("T", 0, 0)], true).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the broker's disk is full [CL:  0.95"),
        "{err}"
    );
    assert!(matches!(err, PutError::Store(StoreError::DiskFull { .. })));
    store.override_disk_usage(Some(40));
    assert!(store.put(vec![msg("T", 0, 1)], true).await.is_ok());
    store.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn expired_files_are_cleaned_when_the_disk_fills_and_queues_follow() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        file_reserved_time: 0,
        delete_when: "".into(),
        ..config(dir.path(), FlushDiskType::AsyncFlush)
    };
    let store = start(&cfg);
    for i in 0..800 {
        store.put(vec![msg("T", 0, i)], true).await.unwrap();
    }
    assert!(store.wait_dispatched(Duration::from_secs(5)).await);
    let files_before = store.commit_log().files().files().len();
    assert!(files_before >= 3, "{files_before}");
    store.override_disk_usage(Some(80)); // past diskMaxUsedSpaceRatio (75): clean now
    assert!(
        eventually(Duration::from_secs(5), || store
            .commit_log()
            .files()
            .files()
            .len()
            == 1)
        .await
    );
    let (min, max) = store.queue_offsets("T", 0);
    assert!(
        eventually(Duration::from_secs(5), || store.queue_offsets("T", 0).0 > 0).await,
        "min {min} max {max}"
    );
    let old = store.get_message("T", 0, 0, 32, TransferLimits::default(), |_| true);
    assert_eq!(old.status, GetMessageStatus::OffsetTooSmall);
    store.override_disk_usage(Some(10));
    store.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_full_writer_mailbox_answers_busy_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        writer_mailbox_capacity: 1,
        ..config(dir.path(), FlushDiskType::AsyncFlush)
    };
    let store = start(&cfg);
    let puts: Vec<_> = (0..64)
        .map(|i| store.put(vec![msg("T", 0, i)], false))
        .collect();
    let results = futures_util::future::join_all(puts).await;
    let busy = results
        .iter()
        .filter(|r| matches!(r, Err(PutError::Busy(ActorError::MailboxFull(_)))))
        .count();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert!(busy > 0 && ok > 0, "busy {busy} ok {ok}");
    store.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_clean_shutdown_removes_the_abort_marker_and_everything_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FlushDiskType::AsyncFlush);
    let store = start(&cfg);
    for i in 0..100 {
        store
            .put(vec![msg("T", (i % 3) as i32, i)], true)
            .await
            .unwrap();
    }
    store.shutdown().await.unwrap();
    assert!(!dir.path().join("abort").exists());
    let again = message_store::MessageStore::open(&cfg).unwrap();
    assert!(!again.recovered().crashed);
    let total: i64 = (0..3)
        .map(|q| again.consume_queue("T", q).unwrap().reader().max_offset())
        .sum();
    assert_eq!(total, 100);
}

#[actix_rt::test]
async fn expired_files_are_deleted_at_the_delete_when_hour_without_disk_pressure() {
    use chrono::Timelike;
    let dir = tempfile::tempdir().unwrap();
    let hour = chrono::Local::now().hour();
    // This hour and the next, so the test holds across an hour boundary.
    let delete_when = format!("{:02};{:02}", hour, (hour + 1) % 24);
    let cfg = StoreConfig {
        file_reserved_time: 0,
        delete_when,
        ..config(dir.path(), FlushDiskType::AsyncFlush)
    };
    let store = start(&cfg);
    for i in 0..600 {
        store.put(vec![msg("T", 0, i)], true).await.unwrap();
    }
    assert!(
        eventually(Duration::from_secs(5), || store
            .commit_log()
            .files()
            .files()
            .len()
            == 1)
        .await
    );
    store.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn files_younger_than_the_reserved_time_are_kept_under_pressure() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        file_reserved_time: 72,
        ..config(dir.path(), FlushDiskType::AsyncFlush)
    };
    let store = start(&cfg);
    for i in 0..600 {
        store.put(vec![msg("T", 0, i)], true).await.unwrap();
    }
    let files = store.commit_log().files().files().len();
    store.override_disk_usage(Some(80));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        store.commit_log().files().files().len(),
        files,
        "fresh files stay"
    );
    store.override_disk_usage(Some(10));
    store.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_send_the_writer_reaches_after_its_deadline_is_refused_unwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = start(&config(dir.path(), FlushDiskType::AsyncFlush));
    let late = std::time::Instant::now() - Duration::from_millis(5);
    let err = store
        .put_within(vec![msg("T", 0, 0)], true, Some(late))
        .await
        .unwrap_err();
    assert!(matches!(err, PutError::Store(StoreError::Busy(_))), "{err}");
    assert_eq!(store.commit_log().max_offset(), 0, "nothing was written");
    store.shutdown().await.unwrap();
}
