//! Timer wheel hot paths: linking timers (one 52-byte timer-log unit and one slot update
//! each) spread over an hour of 1 s slots, and delivering them (walking each due slot's
//! chain back through the timer log), on the real 7-day wheel and 100 MiB log files.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrocket::store::commit_log::{CommitLog, CommitLogConfig};
use ferrocket::store::config::StoreConfig;
use ferrocket::store::timer::TimerStore;

const NOW: i64 = 1_700_000_000_000;
const TIMERS: usize = 10_000;

fn open(dir: &std::path::Path) -> TimerStore {
    let log = CommitLog::open(
        &dir.join("commitlog"),
        CommitLogConfig {
            file_size: 1 << 20,
            max_message_size: 1 << 16,
        },
    )
    .unwrap()
    .reader();
    TimerStore::open(dir, StoreConfig::default().timer_store_config(), &log, NOW).unwrap()
}

fn enqueue(t: &mut TimerStore, n: usize) {
    for i in 0..n {
        let due = NOW + 1_000 + (i as i64 * 7_919) % 3_600_000;
        t.enqueue(i as i64 * 256, 256, due, "BenchmarkTest", false, NOW)
            .unwrap();
    }
}

fn wheel(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer");
    g.throughput(Throughput::Elements(TIMERS as u64));
    g.bench_function("enqueue_10k", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let t = open(dir.path());
                (dir, t)
            },
            |(dir, mut t)| {
                enqueue(&mut t, TIMERS);
                (dir, t)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("dequeue_10k", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let mut t = open(dir.path());
                enqueue(&mut t, TIMERS);
                (dir, t)
            },
            |(dir, mut t)| {
                let mut n = 0;
                while let Some((slot, units)) = t.next_due(NOW + 3_700_000, 4_000_000) {
                    n += black_box(units).len();
                    t.advance_past(slot);
                }
                assert_eq!(n, TIMERS);
                (dir, t)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, wheel);
criterion_main!(benches);
