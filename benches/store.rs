//! Store hot paths: commit-log append of 1 KiB messages (single and batches of 32, with and
//! without an fsync per append, as ASYNC_FLUSH and SYNC_FLUSH would do), dispatch
//! (commit-log scan into consume queues and the index), a pull's read (32 messages
//! through the consume queue, response body assembled), and the creation of a 1 GiB
//! commit-log file with its blocks allocated, against a sparse one as it used to be.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrocket::protocol::message::MessageToStore;
use ferrocket::store::commit_log::{CommitLog, CommitLogConfig};
use ferrocket::store::config::StoreConfig;
use ferrocket::store::get_message::{get_message, TransferLimits};
use ferrocket::store::mapped_file::MappedFile;
use ferrocket::store::message_store::MessageStore;

const BODY: usize = 1024;

fn msg(i: usize) -> MessageToStore {
    MessageToStore { born_timestamp: 1_700_000_000_000, ..MessageToStore::new("BenchmarkTest", (i % 8) as i32, vec![b'x'; BODY], format!("TAGS\u{1}TagA\u{2}KEYS\u{1}k{i}\u{2}UNIQ_KEY\u{1}7F0000010001{i:020}\u{2}WAIT\u{1}true\u{2}")) }
}

fn commit_log(dir: &std::path::Path) -> CommitLog {
    let mut log = CommitLog::open(
        dir,
        CommitLogConfig {
            file_size: 256 << 20,
            max_message_size: 4 << 20,
        },
    )
    .unwrap();
    log.recover(0, false, |_| {}).unwrap();
    log
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("commit_log_append_1KiB");
    // `_pwrite`: write-through mode, as SYNC_FLUSH runs it (pwrite + fdatasync); the
    // others store into the mapping and msync.
    for (name, batch, fsync, through) in [
        ("single_async", 1, false, false),
        ("batch32_async", 32, false, false),
        ("single_sync", 1, true, false),
        ("batch32_sync", 32, true, false),
        ("single_async_pwrite", 1, false, true),
        ("single_sync_pwrite", 1, true, true),
        ("batch32_sync_pwrite", 32, true, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = commit_log(dir.path());
        log.set_write_through(through);
        let msgs: Vec<MessageToStore> = (0..batch).map(msg).collect();
        let bytes: u64 = msgs.iter().map(|m| m.encoded_len() as u64).sum();
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(name, |b| {
            b.iter(|| {
                let r = log.append(black_box(&msgs), 1).unwrap();
                if fsync {
                    log.flush().unwrap();
                }
                r.wrote_bytes
            })
        });
    }
    g.finish();
}

fn dispatch(c: &mut Criterion) {
    const N: usize = 20_000;
    let mut g = c.benchmark_group("dispatch");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("20k_messages_to_consume_queues_and_index", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let cfg = StoreConfig {
                    store_path_root_dir: dir.path().to_owned(),
                    mapped_file_size_commit_log: 256 << 20,
                    max_hash_slot_num: 500_000,
                    max_index_num: 2_000_000,
                    ..Default::default()
                };
                let mut store = MessageStore::open(&cfg).unwrap();
                for chunk in (0..N).collect::<Vec<_>>().chunks(32) {
                    let msgs: Vec<_> = chunk.iter().map(|i| msg(*i)).collect();
                    store.put(&msgs, 1).unwrap();
                }
                (dir, store)
            },
            |(dir, mut store)| {
                store.dispatch().unwrap();
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A pull: 32 messages found through the consume queue in the mapped commit log, and the
/// response body assembled from them (what PULL_MESSAGE does per request).
fn pull_read(c: &mut Criterion) {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        store_path_root_dir: dir.path().to_owned(),
        mapped_file_size_commit_log: 256 << 20,
        ..Default::default()
    };
    let mut store = MessageStore::open(&cfg).unwrap();
    for chunk in (0..N).collect::<Vec<_>>().chunks(32) {
        let msgs: Vec<_> = chunk.iter().map(|i| msg(*i)).collect();
        store.put(&msgs, 1).unwrap();
    }
    store.dispatch().unwrap();
    let log = store.commit_log().reader();
    let cq = store.consume_queue("BenchmarkTest", 0).unwrap().reader();
    let per_queue = (N / 8) as i64;
    let mut g = c.benchmark_group("pull_read");
    g.throughput(Throughput::Elements(32));
    let mut offset = 0i64;
    g.bench_function(
        "32_messages_from_the_consume_queue_and_body_assembly",
        |b| {
            b.iter(|| {
                let r = get_message(
                    &log,
                    Some(&cq),
                    offset,
                    32,
                    TransferLimits::default(),
                    |_| true,
                );
                offset = (offset + 32) % (per_queue - 32);
                let mut body = bytes::BytesMut::with_capacity(r.total_bytes());
                for m in &r.messages {
                    body.extend_from_slice(m);
                }
                black_box(body.freeze())
            })
        },
    );
    g.finish();
}

/// Creating a commit-log file (RocketMQ's 1 GiB) with every block allocated, as the store
/// does so that a full disk is an error at creation and not a SIGBUS at a write; the
/// sparse file of the same size is what creation cost before.
fn file_create(c: &mut Criterion) {
    const SIZE: usize = 1 << 30;
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("commit_log_file_create_1GiB");
    g.sample_size(10);
    g.bench_function("allocated", |b| {
        b.iter(|| {
            let f = MappedFile::create(dir.path(), 0, SIZE).unwrap();
            f.delete().unwrap();
        })
    });
    g.bench_function("sparse_baseline", |b| {
        b.iter(|| {
            let path = dir.path().join("sparse");
            std::fs::File::create(&path)
                .unwrap()
                .set_len(SIZE as u64)
                .unwrap();
            std::fs::remove_file(&path).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, append, dispatch, pull_read, file_create);
criterion_main!(benches);
