//! Crash tests: a child process appends through the store's actors and prints every
//! acknowledged message; the parent kills it with SIGKILL at random moments, 20 rounds
//! over one store directory, and after each crash recovers the store and checks it. With
//! SYNC_FLUSH every acknowledged message is present and readable; with either flush mode
//! no torn record is visible and consume queues agree with the commit log.
//!
//! The child is this same test binary, re-run with FERROCKET_CRASH_CHILD_DIR set.

mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::time::{Duration, Instant};

use ferrocket::actors::broker::StoreHandle;
use ferrocket::actors::metrics::MetricsRegistry;
use ferrocket::protocol::message::{check_record, decode_record, MessageToStore, RecordCheck};
use ferrocket::store::config::{FlushDiskType, StoreConfig};
use ferrocket::store::message_store::{self, MessageStore};

const CHILD_DIR: &str = "FERROCKET_CRASH_CHILD_DIR";
const CHILD_MODE: &str = "FERROCKET_CRASH_CHILD_MODE";
const ROUNDS: usize = 20;

fn config(dir: &std::path::Path, mode: FlushDiskType) -> StoreConfig {
    StoreConfig {
        store_path_root_dir: dir.to_owned(),
        disk_full_ratio: 100, // the host's disk use must not refuse these writes
        mapped_file_size_commit_log: 256 * 1024,
        mapped_file_size_consume_queue: 20 * 1000,
        max_message_size: 16 * 1024,
        flush_disk_type: mode,
        flush_interval_commit_log: 10,
        flush_interval_consume_queue: 20,
        max_hash_slot_num: 1024,
        max_index_num: 8192,
        ..Default::default()
    }
}

fn body_of(key: &str) -> Vec<u8> {
    let len = key.bytes().map(|b| b as usize).sum::<usize>() % 700 + 10;
    key.bytes().cycle().take(len).collect()
}

fn message(key: &str, queue_id: i32) -> MessageToStore {
    MessageToStore {
        born_timestamp: 1_700_000_000_000,
        ..MessageToStore::new(
            "Crash",
            queue_id,
            body_of(key),
            format!("KEYS\u{1}{key}\u{2}WAIT\u{1}true\u{2}"),
        )
    }
}

/// The child: appends until killed (or 30 s / 100,000 messages), printing
/// `ACK <physical offset> <queue id> <queue offset> <key>` after each acknowledgement.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let mode = match std::env::var(CHILD_MODE).as_deref() {
        Ok("sync") => FlushDiskType::SyncFlush,
        _ => FlushDiskType::AsyncFlush,
    };
    actix_rt::System::new().block_on(async move {
        let cfg = config(std::path::Path::new(&dir), mode);
        let store = StoreHandle::start(
            message_store::open(&cfg).unwrap(),
            &MetricsRegistry::new(),
            "crash",
        );
        let pid = std::process::id();
        let started = Instant::now();
        let mut out = std::io::stdout();
        for i in 0..100_000u32 {
            if started.elapsed() > Duration::from_secs(30) {
                break;
            }
            // Four in flight, so acknowledgements also come from shared fsyncs.
            let batch: Vec<_> = (0..4)
                .map(|j| {
                    let key = format!("{pid}-{i}-{j}");
                    let queue_id = ((i + j) % 3) as i32;
                    let s = store.clone();
                    async move {
                        (
                            s.put(vec![message(&key, queue_id)], true).await,
                            key,
                            queue_id,
                        )
                    }
                })
                .collect();
            for (r, key, queue_id) in futures_util::future::join_all(batch).await {
                let r = r.unwrap();
                let _ = writeln!(
                    out,
                    "ACK {} {} {} {}",
                    r.append.wrote_offset, queue_id, r.append.queue_offset, key
                );
            }
        }
    });
}

struct Acked {
    phys: i64,
    queue_id: i32,
    queue_offset: i64,
    key: String,
}

fn run_child_and_kill(dir: &std::path::Path, mode: &str, kill_after: Duration) -> Vec<Acked> {
    let envs = [(CHILD_DIR, dir.as_os_str()), (CHILD_MODE, OsStr::new(mode))];
    common::crash::run_child_and_kill("crash_child", &envs, kill_after)
        .iter()
        .filter_map(|l| {
            let mut p = l.split(' ');
            Some(Acked {
                phys: p.next()?.parse().ok()?,
                queue_id: p.next()?.parse().ok()?,
                queue_offset: p.next()?.parse().ok()?,
                key: p.next()?.to_owned(),
            })
        })
        .collect()
}

/// After recovery: every record in the commit log is whole (CRC checked), every consume
/// queue unit points at a whole record of its queue, and the acknowledged messages given
/// are all present.
fn verify(store: &MessageStore, acked: &[Acked]) {
    let log = store.commit_log().reader();
    let mut offset = log.min_offset();
    let mut records = 0;
    while offset < log.max_offset() {
        let file = log.files().find(offset).unwrap();
        let pos = (offset - file.from_offset()) as usize;
        let rest = file.read(pos, file.wrote() - pos).unwrap();
        match check_record(rest, true) {
            RecordCheck::Record(info) => {
                offset += info.total_size as i64;
                records += 1;
            }
            RecordCheck::Blank { .. } => offset = file.from_offset() + file.size() as i64,
            other => panic!("recovery exposed a bad record at {offset}: {other:?}"),
        }
    }
    for ((topic, queue_id), cq) in store.consume_queues() {
        for u in cq.reader().units(0, usize::MAX) {
            let rec = decode_record(
                &log.read(u.phys_offset, u.size as usize)
                    .expect("unit points past the log"),
            )
            .unwrap();
            assert!(rec.body_crc_matches());
            assert_eq!(
                (&rec.topic, rec.queue_id, rec.queue_offset),
                (topic, *queue_id, u.queue_offset)
            );
        }
    }
    for a in acked {
        let rec = decode_record(
            &log.read_record(a.phys)
                .unwrap_or_else(|| panic!("acknowledged {} lost", a.key)),
        )
        .unwrap();
        assert_eq!(
            rec.body.as_ref(),
            body_of(&a.key).as_slice(),
            "acknowledged {} damaged",
            a.key
        );
        let unit = store
            .consume_queue("Crash", a.queue_id)
            .unwrap()
            .reader()
            .unit(a.queue_offset)
            .unwrap();
        assert_eq!(unit.phys_offset, a.phys);
    }
    assert!(records >= acked.len());
}

fn crash_rounds(mode: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        if mode == "sync" {
            FlushDiskType::SyncFlush
        } else {
            FlushDiskType::AsyncFlush
        },
    );
    let mut acked = Vec::new();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    for round in 0..ROUNDS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = Duration::from_millis(5 + seed % 300);
        let got = run_child_and_kill(dir.path(), mode, kill_after);
        assert!(
            !got.is_empty(),
            "round {round}: the child acknowledged nothing"
        );
        acked.extend(got);
        let store = MessageStore::open(&cfg).unwrap();
        assert!(
            store.recovered().crashed,
            "round {round}: SIGKILL leaves the abort marker"
        );
        if mode == "sync" {
            verify(&store, &acked);
        } else {
            verify(&store, &[]);
        }
        // Dropped without a clean shutdown: the next child recovers from a crash too.
    }
    acked.len()
}

#[test]
fn acked_sync_flush_messages_survive_kill_9() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    let n = crash_rounds("sync");
    eprintln!("{ROUNDS} SIGKILL rounds, {n} acknowledged messages, all recovered");
}

#[test]
fn async_flush_recovery_never_exposes_a_torn_record() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    crash_rounds("async");
}
