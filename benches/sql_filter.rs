//! Pull reads with a filter, over a 1,000,000-message backlog in one queue: draining the
//! queue with no filter, with a TAG subscription that matches 1 message in 10 (decided on
//! the consume queue's tag codes alone), and with a SQL92 selector that matches the same
//! 1 in 10 (each candidate record's properties evaluated in place). One iteration is a
//! whole drain, 32 messages per pull, as the broker's PULL_MESSAGE handler reads.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrocket::actors::broker::meta::consumer_filter::SelectorFilter;
use ferrocket::protocol::filter::parse;
use ferrocket::protocol::message::{java_string_hash, MessageToStore};
use ferrocket::store::commit_log::CommitLogReader;
use ferrocket::store::config::StoreConfig;
use ferrocket::store::consume_queue::ConsumeQueueReader;
use ferrocket::store::get_message::{get_message, MessageFilter, TransferLimits};
use ferrocket::store::message_store::MessageStore;

const BACKLOG: usize = 1_000_000;

fn msg(i: usize) -> MessageToStore {
    let k = i % 10;
    MessageToStore {
        born_timestamp: 1_700_000_000_000,
        ..MessageToStore::new(
            "FilterBench",
            0,
            vec![b'x'; 128],
            format!("TAGS\u{1}T{k}\u{2}a\u{1}{k}\u{2}region\u{1}eu\u{2}KEYS\u{1}k{i}\u{2}UNIQ_KEY\u{1}7F0000010001{i:020}\u{2}WAIT\u{1}true\u{2}"),
        )
    }
}

/// Pulls 32 at a time from offset 0 to the end; returns the messages returned.
fn drain(
    log: &CommitLogReader,
    cq: &ConsumeQueueReader,
    filter: impl MessageFilter + Copy,
) -> usize {
    let mut offset = 0;
    let mut got = 0;
    while offset < BACKLOG as i64 {
        let r = get_message(log, Some(cq), offset, 32, TransferLimits::default(), filter);
        got += r.messages.len();
        black_box(&r.messages);
        offset = r.next_begin_offset;
    }
    got
}

fn pull_filtered(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        store_path_root_dir: dir.path().to_owned(),
        mapped_file_size_commit_log: 1 << 30,
        mapped_file_size_consume_queue: 20 * 300_000,
        ..Default::default()
    };
    let mut store = MessageStore::open(&cfg).unwrap();
    for chunk in (0..BACKLOG).collect::<Vec<_>>().chunks(256) {
        let msgs: Vec<_> = chunk.iter().map(|i| msg(*i)).collect();
        store.put(&msgs, 1).unwrap();
    }
    store.dispatch().unwrap();
    let log = store.commit_log().reader();
    let cq = store.consume_queue("FilterBench", 0).unwrap().reader();

    let tag_code = i64::from(java_string_hash("T3"));
    let by_tag = move |code: i64| code == tag_code;
    let selector = parse("a = 3").unwrap();
    let by_sql = SelectorFilter(&selector);
    let everything = |_: i64| true;
    assert_eq!(drain(&log, &cq, everything), BACKLOG);
    assert_eq!(drain(&log, &cq, by_tag), BACKLOG / 10);
    assert_eq!(drain(&log, &cq, by_sql), BACKLOG / 10);

    let mut g = c.benchmark_group("pull_drain_1m_backlog");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(BACKLOG as u64));
    g.bench_function("no_filter", |b| b.iter(|| drain(&log, &cq, everything)));
    g.bench_function("tag_1_in_10", |b| b.iter(|| drain(&log, &cq, by_tag)));
    g.bench_function("sql92_1_in_10", |b| b.iter(|| drain(&log, &cq, by_sql)));
    g.finish();
}

criterion_group!(benches, pull_filtered);
criterion_main!(benches);
