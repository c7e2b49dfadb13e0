use std::net::SocketAddr;

use super::*;
use crate::store::message::{decode_record, property, MessageToStore};

fn msg(topic: &str, queue_id: i32, body: &[u8], tags: &str) -> MessageToStore {
    let born: SocketAddr = "10.0.0.7:50000".parse().unwrap();
    let store: SocketAddr = "192.168.0.10:10911".parse().unwrap();
    MessageToStore {
        topic: topic.into(),
        queue_id,
        flag: 0,
        body: Bytes::copy_from_slice(body),
        properties: format!("TAGS\u{1}{tags}\u{2}WAIT\u{1}true\u{2}"),
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: born,
        store_host: store,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

fn open(dir: &std::path::Path, file_size: usize) -> CommitLog {
    CommitLog::open(
        dir,
        CommitLogConfig {
            file_size,
            max_message_size: 1024,
        },
    )
    .unwrap()
}

#[test]
fn appends_assign_physical_and_per_queue_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), 4096);
    let a = log.append(&[msg("T", 0, b"one", "A")], 1).unwrap();
    let b = log.append(&[msg("T", 0, b"two", "A")], 2).unwrap();
    let c = log.append(&[msg("T", 1, b"three", "B")], 3).unwrap();
    assert_eq!((a.wrote_offset, a.queue_offset), (0, 0));
    assert_eq!((b.wrote_offset, b.queue_offset), (a.end_offset(), 1));
    assert_eq!(c.queue_offset, 0, "another queue counts on its own");
    assert_eq!(a.msg_id(), "C0A8000A00002A9F0000000000000000");
    let r = log.reader();
    let rec = decode_record(&r.read_record(b.wrote_offset).unwrap()).unwrap();
    assert_eq!(rec.body.as_ref(), b"two");
    assert_eq!(
        (rec.queue_offset, rec.physical_offset, rec.store_timestamp),
        (1, b.wrote_offset, 2)
    );
    assert_eq!(property(&rec.properties, "TAGS"), Some("A"));
}

#[test]
fn a_batch_becomes_consecutive_records_with_their_own_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), 4096);
    let batch = [
        msg("T", 2, b"a", "x"),
        msg("T", 2, b"bb", "x"),
        msg("T", 2, b"ccc", "x"),
    ];
    let r = log.append(&batch, 9).unwrap();
    assert_eq!((r.msg_num, r.queue_offset, r.msg_ids.len()), (3, 0, 3));
    let mut seen = Vec::new();
    let end = log
        .reader()
        .scan(0, 100, |d| seen.push((d.queue_offset, d.physical_offset)));
    assert_eq!(end, r.end_offset());
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(r.msg_id().split(',').count(), 3);
}

#[test]
fn a_record_that_does_not_fit_rolls_after_a_blank_filler() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), 1024);
    let body = [7u8; 300];
    let mut results = Vec::new();
    for _ in 0..4 {
        results.push(log.append(&[msg("T", 0, &body, "A")], 5).unwrap());
    }
    // Each record is a little over 400 bytes: two fit a file, the third rolls.
    assert_eq!(
        results[2].wrote_offset, 1024,
        "the third record starts the second file"
    );
    let first = std::fs::read(dir.path().join("commitlog/00000000000000000000")).unwrap();
    let blank_at = results[1].end_offset() as usize;
    let remaining = (1024 - blank_at) as i32;
    assert_eq!(&first[blank_at..blank_at + 4], &remaining.to_be_bytes());
    assert_eq!(
        &first[blank_at + 4..blank_at + 8],
        &crate::store::message::BLANK_MAGIC_CODE.to_be_bytes()
    );
    let mut n = 0;
    log.reader().scan(0, 100, |_| n += 1);
    assert_eq!(n, 4, "the scan skips the filler");
}

#[test]
fn oversized_messages_are_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), 4096);
    let err = log
        .append(&[msg("T", 0, &[0u8; 2000], "A")], 1)
        .unwrap_err();
    assert!(matches!(err, StoreError::MessageTooLarge { .. }), "{err}");
    assert_eq!(log.reader().max_offset(), 0);
}

#[test]
fn prepared_transaction_records_do_not_take_a_queue_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), 4096);
    let mut half = msg("T", 0, b"half", "A");
    half.sys_flag = sysflag::TRANSACTION_PREPARED_TYPE;
    assert_eq!(log.append(&[half], 1).unwrap().queue_offset, 0);
    assert_eq!(
        log.append(&[msg("T", 0, b"n", "A")], 1)
            .unwrap()
            .queue_offset,
        0
    );
    assert_eq!(
        log.append(&[msg("T", 0, b"n", "A")], 1)
            .unwrap()
            .queue_offset,
        1
    );
}

#[test]
fn recovery_truncates_a_torn_tail_and_keeps_whole_records() {
    let dir = tempfile::tempdir().unwrap();
    let ends: Vec<i64> = {
        let mut log = open(dir.path(), 4096);
        let ends = (0..5)
            .map(|i| {
                log.append(&[msg("T", 0, &[i; 40], "A")], 1)
                    .unwrap()
                    .end_offset()
            })
            .collect();
        log.flush().unwrap();
        ends
    };
    // Tear the last record: clobber its body so the CRC no longer matches.
    let path = dir.path().join("commitlog/00000000000000000000");
    let mut bytes = std::fs::read(&path).unwrap();
    let torn = ends[3] as usize + 100;
    bytes[torn] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();

    let mut log = open(dir.path(), 4096);
    let mut dispatched = 0;
    let end = log.recover(0, true, |_| dispatched += 1).unwrap();
    assert_eq!(end, ends[3]);
    assert_eq!(dispatched, 4);
    let next = log.append(&[msg("T", 0, b"after", "A")], 1).unwrap();
    assert_eq!(
        next.wrote_offset, ends[3],
        "writing resumes where the valid log ends"
    );
}

#[test]
fn recovery_start_follows_the_checkpoint_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), 1024);
    for t in 0..8 {
        log.append(&[msg("T", 0, &[0u8; 300], "A")], 1000 * (t + 1))
            .unwrap();
    }
    // Two records a file: files start with records stored at 1000, 3000, 5000, 7000.
    assert_eq!(log.recovery_start(5000), 2048);
    assert_eq!(log.recovery_start(4999), 1024);
    assert_eq!(log.recovery_start(500), 0);
    assert_eq!(log.recovery_start(99_999), 3072);
    assert_eq!(log.clean_recovery_start(), 1024);
}

/// Writes seed inputs for the stored_record fuzz target (run with FERROCKET_WRITE_SEEDS=dir).
#[test]
fn write_stored_record_fuzz_seeds() {
    let Ok(dir) = std::env::var("FERROCKET_WRITE_SEEDS") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut log = open(tmp.path(), 4096);
    let mut v6 = msg("TopicV6", 1, b"ipv6 body", "B");
    v6.born_host = "[2001:db8::1]:4000".parse().unwrap();
    v6.store_host = "[2001:db8::2]:10911".parse().unwrap();
    let long = msg(&"L".repeat(200), 0, b"v2 magic", "C");
    for (name, m) in [
        ("v4", msg("TopicTest", 3, b"hello world", "TagA")),
        ("v6", v6),
        ("v2", long),
    ] {
        let r = log.append(&[m], 1_700_000_000_123).unwrap();
        let bytes = log.reader().read(r.wrote_offset, r.wrote_bytes).unwrap();
        std::fs::write(format!("{dir}/seed_{name}"), &bytes).unwrap();
    }
    let batch = crate::store::message::encode_batch(&[
        crate::store::message::BatchItem {
            flag: 1,
            body: Bytes::from_static(b"a"),
            properties: "KEYS\u{1}k1\u{2}".into(),
        },
        crate::store::message::BatchItem {
            flag: 0,
            body: Bytes::from_static(b"bb"),
            properties: String::new(),
        },
    ]);
    std::fs::write(format!("{dir}/seed_batch"), &batch).unwrap();
}
