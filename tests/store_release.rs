//! A store shut down and dropped lets go of everything: its group-commit thread ends and
//! none of its files stays mapped, so a broker can be stopped and started again in one
//! process (tests and embedders do) without leaking threads or mappings. The only test in
//! its binary, so the thread and mapping counts it reads are its own.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket::actors::broker::StoreHandle;
use ferrocket::actors::metrics::MetricsRegistry;
use ferrocket::protocol::message::MessageToStore;
use ferrocket::store::config::{FlushDiskType, StoreConfig};
use ferrocket::store::message_store;

fn group_commit_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "group-commit")
                })
                .count()
        })
        .unwrap_or(0)
}

fn mappings_under(dir: &std::path::Path) -> usize {
    let dir = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().filter(|l| l.contains(&dir)).count())
        .unwrap_or(0)
}

async fn eventually(limit: Duration, mut probe: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if probe() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    probe()
}

#[actix_rt::test]
async fn a_stopped_store_ends_its_threads_and_unmaps_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        store_path_root_dir: dir.path().to_owned(),
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 20 * 64,
        max_message_size: 8 * 1024,
        flush_disk_type: FlushDiskType::SyncFlush,
        max_hash_slot_num: 128,
        max_index_num: 512,
        ..Default::default()
    };
    for round in 0..2 {
        let store = StoreHandle::start(
            message_store::open(&cfg).unwrap(),
            &MetricsRegistry::new(),
            "broker/Store",
        );
        store.override_disk_usage(Some(10));
        assert!(
            eventually(Duration::from_secs(3), || group_commit_threads() == 1).await,
            "round {round}: {} group-commit threads",
            group_commit_threads()
        );
        let msg = MessageToStore {
            born_timestamp: 1,
            ..MessageToStore::new("T", 0, Bytes::from_static(b"durable"), "WAIT\u{1}true\u{2}")
        };
        store.put(vec![msg], true).await.unwrap();
        assert!(mappings_under(dir.path()) > 0);
        store.shutdown().await.unwrap();
        drop(store);
        assert!(
            eventually(Duration::from_secs(3), || group_commit_threads() == 0).await,
            "round {round}: the group-commit thread outlived its store"
        );
        assert!(
            eventually(Duration::from_secs(3), || mappings_under(dir.path()) == 0).await,
            "round {round}: mappings of the store's files remain: {:?}",
            std::fs::read_to_string("/proc/self/maps")
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(&*dir.path().to_string_lossy()))
                .collect::<Vec<_>>()
        );
    }
}
