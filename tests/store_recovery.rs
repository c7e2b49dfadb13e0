//! The store engine across restarts: random batches over topics and queues read back
//! identical after a clean reopen and after a crash, every consume-queue unit points at its
//! record, the index finds messages by key, and a torn tail is cut.

use std::collections::HashMap;

use ferrocket::protocol::message::{decode_record, property, MessageToStore};
use ferrocket::store::config::StoreConfig;
use ferrocket::store::message_store::MessageStore;
use proptest::prelude::*;

fn config(dir: &std::path::Path) -> StoreConfig {
    StoreConfig {
        store_path_root_dir: dir.to_owned(),
        disk_full_ratio: 100, // the host's disk use must not refuse these writes
        mapped_file_size_commit_log: 8 * 1024,
        mapped_file_size_consume_queue: 20 * 16,
        max_message_size: 2048,
        max_hash_slot_num: 64,
        max_index_num: 64,
        ..Default::default()
    }
}

fn message(topic: &str, queue_id: i32, body: Vec<u8>, key: &str) -> MessageToStore {
    MessageToStore {
        born_timestamp: 1_700_000_000_000,
        ..MessageToStore::new(
            topic,
            queue_id,
            body,
            format!("TAGS\u{1}T{queue_id}\u{2}KEYS\u{1}{key}\u{2}UNIQ_KEY\u{1}U{key}\u{2}"),
        )
    }
}

/// (topic index, queue id, body length, batch size)
fn batches() -> impl Strategy<Value = Vec<(u8, i32, usize, usize)>> {
    prop::collection::vec((0u8..3, 0i32..4, 0usize..700, 1usize..4), 1..40)
}

struct Written {
    phys: i64,
    topic: String,
    queue_id: i32,
    queue_offset: i64,
    body: Vec<u8>,
    key: String,
}

fn write_all(store: &mut MessageStore, plan: &[(u8, i32, usize, usize)]) -> Vec<Written> {
    let mut out = Vec::new();
    let mut n = 0u32;
    for (t, q, len, batch) in plan {
        let topic = format!("Topic{t}");
        let msgs: Vec<MessageToStore> = (0..*batch)
            .map(|i| {
                n += 1;
                let body: Vec<u8> = (0..*len)
                    .map(|b| (b as u32 * 31 + n + i as u32) as u8)
                    .collect();
                message(&topic, *q, body, &format!("k{n}"))
            })
            .collect();
        let r = store.put(&msgs, 1_700_000_000_000 + n as i64).unwrap();
        let mut phys = r.wrote_offset;
        for (i, m) in msgs.iter().enumerate() {
            out.push(Written {
                phys,
                topic: topic.clone(),
                queue_id: *q,
                queue_offset: r.queue_offset + i as i64,
                body: m.body.to_vec(),
                key: property(&m.properties, "KEYS").unwrap().to_owned(),
            });
            phys += m.encoded_len() as i64;
        }
    }
    out
}

fn verify(store: &MessageStore, written: &[Written]) {
    let log = store.commit_log().reader();
    for w in written {
        let rec = decode_record(&log.read_record(w.phys).expect("record readable")).unwrap();
        assert_eq!(rec.body.as_ref(), w.body.as_slice());
        assert_eq!(
            (rec.topic.as_str(), rec.queue_id, rec.queue_offset),
            (w.topic.as_str(), w.queue_id, w.queue_offset)
        );
        let cq = store
            .consume_queue(&w.topic, w.queue_id)
            .expect("consume queue")
            .reader();
        let unit = cq.unit(w.queue_offset).expect("unit");
        assert_eq!(unit.phys_offset, w.phys, "the unit points at its record");
        assert_eq!(unit.size, rec.total_size);
        let hits = store
            .index()
            .unwrap()
            .query(&w.topic, &w.key, 32, 0, i64::MAX);
        assert!(hits.phy_offsets.contains(&w.phys), "index finds {}", w.key);
    }
    // Every unit of every queue points at a record of that queue.
    let mut per_queue: HashMap<(String, i32), i64> = HashMap::new();
    for w in written {
        *per_queue.entry((w.topic.clone(), w.queue_id)).or_default() += 1;
    }
    for ((topic, q), count) in per_queue {
        let cq = store.consume_queue(&topic, q).unwrap().reader();
        assert_eq!(cq.max_offset(), count);
        for u in cq.units(0, usize::MAX) {
            let rec = decode_record(&log.read(u.phys_offset, u.size as usize).unwrap()).unwrap();
            assert_eq!(
                (rec.topic.as_str(), rec.queue_id, rec.queue_offset),
                (topic.as_str(), q, u.queue_offset)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_batches_read_back_identical_after_a_clean_reopen(plan in batches()) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let written = {
            let mut store = MessageStore::open(&cfg).unwrap();
            let w = write_all(&mut store, &plan);
            store.dispatch().unwrap();
            verify(&store, &w);
            store.shutdown(1_800_000_000_000).unwrap();
            w
        };
        let store = MessageStore::open(&cfg).unwrap();
        prop_assert!(!store.recovered().crashed);
        verify(&store, &written);
    }

    #[test]
    fn a_crash_after_flushing_loses_nothing_and_rebuilds_what_was_not_dispatched(plan in batches()) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let written = {
            let mut store = MessageStore::open(&cfg).unwrap();
            let w = write_all(&mut store, &plan);
            // Flushed but never dispatched, and no clean shutdown: the abort marker stays.
            store.commit_log().flush().unwrap();
            w
        };
        let store = MessageStore::open(&cfg).unwrap();
        prop_assert!(store.recovered().crashed);
        verify(&store, &written);
    }
}

#[test]
fn a_torn_tail_after_a_crash_is_cut_and_writing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (kept, torn_at) = {
        let mut store = MessageStore::open(&cfg).unwrap();
        let kept = write_all(&mut store, &[(0, 0, 100, 3)]);
        let torn = store
            .put(&[message("Topic0", 0, vec![1; 300], "torn")], 1)
            .unwrap();
        store.dispatch().unwrap();
        store.commit_log().flush().unwrap();
        (kept, torn.wrote_offset)
    };
    // Half of the last record reaches the disk: zero its second half.
    let path = dir.path().join("commitlog/00000000000000000000");
    let mut bytes = std::fs::read(&path).unwrap();
    for b in &mut bytes[torn_at as usize + 150..torn_at as usize + 400] {
        *b = 0;
    }
    std::fs::write(&path, &bytes).unwrap();

    let mut store = MessageStore::open(&cfg).unwrap();
    assert!(store.recovered().crashed);
    assert_eq!(
        store.commit_log().reader().max_offset(),
        torn_at,
        "the torn record is cut"
    );
    let cq = store.consume_queue("Topic0", 0).unwrap().reader();
    assert_eq!(
        cq.max_offset(),
        3,
        "the consume queue no longer points at the torn record"
    );
    verify(&store, &kept);
    let again = store
        .put(&[message("Topic0", 0, vec![2; 10], "again")], 2)
        .unwrap();
    assert_eq!((again.wrote_offset, again.queue_offset), (torn_at, 3));
}
