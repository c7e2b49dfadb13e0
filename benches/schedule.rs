//! Delayed-message delivery: how fast the ScheduleService's delivery step moves due
//! messages (1 KiB bodies) from SCHEDULE_TOPIC_XXXX back to their real topic, through the
//! store's actors (reads from the mapped commit log, batched appends, dispatch).
//! Setup (storing the delayed messages and waiting until they are due) is not timed.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrocket::actors::broker::features::schedule::deliver_level;
use ferrocket::actors::broker::StoreHandle;
use ferrocket::actors::metrics::MetricsRegistry;
use ferrocket::protocol::message::MessageToStore;
use ferrocket::store::config::StoreConfig;
use ferrocket::store::message_store;

const N: i64 = 10_000;

fn delayed(i: i64) -> MessageToStore {
    MessageToStore {
        born_timestamp: 1_700_000_000_000,
        ..MessageToStore::new(
            "BenchmarkDelayed",
            (i % 4) as i32,
            vec![b'x'; 1024],
            format!("TAGS\u{1}TagA\u{2}DELAY\u{1}1\u{2}UNIQ_KEY\u{1}7F0000010001{i:020}\u{2}"),
        )
    }
}

fn delivery(c: &mut Criterion) {
    let sys = actix_rt::System::new();
    let dir = tempfile::tempdir().unwrap();
    let store: StoreHandle = sys.block_on(async {
        let cfg = StoreConfig {
            store_path_root_dir: dir.path().to_owned(),
            mapped_file_size_commit_log: 256 << 20,
            message_delay_level: "1s".into(),
            ..Default::default()
        };
        let recovered = message_store::open(&cfg).unwrap();
        let store = StoreHandle::start(recovered, &MetricsRegistry::new(), "bench/Store");
        store.override_disk_usage(Some(10));
        store
    });
    let mut next = 0i64;
    let mut g = c.benchmark_group("schedule");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("deliver_10k_due_1KiB_messages", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    for chunk in 0..N / 100 {
                        let msgs = (0..100).map(|i| delayed(chunk * 100 + i)).collect();
                        store.put(msgs, false).await.unwrap();
                    }
                    assert!(store.wait_dispatched(Duration::from_secs(30)).await);
                    tokio::time::sleep(Duration::from_millis(1_100)).await;
                    let started = Instant::now();
                    let target = next + N;
                    while next < target {
                        next = deliver_level(&store, 1, next, 1_000).await;
                    }
                    assert!(store.wait_dispatched(Duration::from_secs(30)).await);
                    spent += started.elapsed();
                }
                spent
            })
        })
    });
    g.finish();
    sys.block_on(async { store.shutdown().await.unwrap() });
}

criterion_group!(benches, delivery);
criterion_main!(benches);
