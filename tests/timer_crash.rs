//! Crash test of the timer wheel: a child process runs a broker (SYNC_FLUSH) over one
//! store directory, stores timer messages due one to three seconds later and prints each
//! acknowledged one, while its TimerWheelService delivers what earlier rounds left
//! pending; the parent kills it with SIGKILL at a random moment (before, during or after
//! deliveries), several rounds. A last broker started by the parent on the same directory
//! must then deliver every acknowledged timer message at least once: kill -9 may repeat a
//! delivery, never lose one.
//!
//! The child is this same test binary, re-run with FERROCKET_TIMER_CRASH_DIR set.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::broker::*;
use common::start_namesrv;
use ferrocket::actors::broker::{BrokerBuilder, BrokerConfig};
use ferrocket::protocol::message::{decode_record, MessageToStore};
use ferrocket::store::config::FlushDiskType;

const CHILD_DIR: &str = "FERROCKET_TIMER_CRASH_DIR";
const ROUNDS: usize = 5;
const TOPIC: &str = "TimerCrash";
/// Timer messages each child stores (fewer if it is killed first).
const PER_ROUND: u32 = 150;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn config(dir: &std::path::Path, namesrv: &str) -> BrokerConfig {
    let mut c = broker_config(dir, namesrv);
    c.store.flush_disk_type = FlushDiskType::SyncFlush;
    // Small timer-log files, so deletion runs between the kills too.
    c.store.mapped_file_size_timer_log = 64 * 52 + 16;
    c
}

fn timer_message(key: &str, deliver_ms: i64) -> MessageToStore {
    MessageToStore {
        born_timestamp: now_ms(),
        ..MessageToStore::new(
            TOPIC,
            0,
            key.to_owned(),
            format!("KEYS\u{1}{key}\u{2}TIMER_DELIVER_MS\u{1}{deliver_ms}\u{2}"),
        )
    }
}

/// The child: stores [`PER_ROUND`] timer messages, printing `ACK <key> <deliver ms>` after
/// each acknowledgement, then keeps delivering until killed (or 20 s).
#[test]
fn timer_crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    actix_rt::System::new().block_on(async move {
        let ns = start_namesrv().await;
        let broker = BrokerBuilder::new(config(std::path::Path::new(&dir), &ns.addr))
            .start()
            .await
            .unwrap();
        let pid = std::process::id();
        let mut out = std::io::stdout();
        for i in 0..PER_ROUND {
            let key = format!("{pid}-{i}");
            let deliver = now_ms() + 1_000 + i64::from(i % 20) * 100;
            broker
                .store
                .put(vec![timer_message(&key, deliver)], true)
                .await
                .unwrap();
            let _ = writeln!(out, "ACK {key} {deliver}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_secs(20)).await;
    });
}

/// Runs a child and SIGKILLs it `kill_after` after its first acknowledgement; returns the
/// acknowledged keys with their delivery times.
fn run_child_and_kill(dir: &std::path::Path, kill_after: Duration) -> Vec<(String, i64)> {
    common::crash::run_child_and_kill(
        "timer_crash_child",
        &[(CHILD_DIR, dir.as_os_str())],
        kill_after,
    )
    .iter()
    .filter_map(|l| {
        let (key, deliver) = l.split_once(' ')?;
        Some((key.to_owned(), deliver.parse().ok()?))
    })
    .collect()
}

/// Keys of every message on the real topic so far (with repeats).
fn delivered_keys(store: &ferrocket::actors::broker::StoreHandle) -> Vec<String> {
    let Some(cq) = store.consume_queue(TOPIC, 0) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    let mut from = 0;
    // One consume-queue file a call; a hundred files is far more than the test writes.
    for _ in 0..100 {
        let units = cq.units(from, 4_096);
        let Some(last) = units.last() else {
            break;
        };
        from = last.queue_offset + 1;
        keys.extend(units.iter().filter_map(|u| {
            let rec = decode_record(&store.message_at(u.phys_offset)?).ok()?;
            rec.property("KEYS").map(str::to_owned)
        }));
    }
    keys
}

#[actix_rt::test]
async fn acked_timer_messages_are_delivered_after_kill_9() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut acked = Vec::new();
    for round in 0..ROUNDS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = Duration::from_millis(50 + seed % 2_000);
        let got = run_child_and_kill(dir.path(), kill_after);
        assert!(
            !got.is_empty(),
            "round {round}: the child acknowledged nothing"
        );
        acked.extend(got);
    }
    let last_due = acked.iter().map(|(_, d)| *d).max().unwrap_or(0);
    let want: HashSet<&str> = acked.iter().map(|(k, _)| k.as_str()).collect();

    let ns = start_namesrv().await;
    let broker = BrokerBuilder::new(config(dir.path(), &ns.addr))
        .start()
        .await
        .unwrap();
    // Everything is due by `last_due`; a second of precision and the recovery's catch-up
    // on top, bounded.
    let limit = Duration::from_millis((last_due - now_ms()).clamp(0, 4_000) as u64 + 6_000);
    let all_there = wait_until(limit, || {
        let store = broker.store.clone();
        let want = &want;
        async move {
            let got = delivered_keys(&store);
            let got: HashSet<&str> = got.iter().map(String::as_str).collect();
            want.iter().all(|k| got.contains(k))
        }
    })
    .await;
    let got = delivered_keys(&broker.store);
    let seen: HashSet<&str> = got.iter().map(String::as_str).collect();
    let lost: Vec<&&str> = want.iter().filter(|k| !seen.contains(**k)).collect();
    assert!(
        all_there && lost.is_empty(),
        "{} of {} acknowledged timer messages lost, e.g. {:?}",
        lost.len(),
        want.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    broker.shutdown().await.unwrap();
    eprintln!(
        "{ROUNDS} SIGKILL rounds, {} acknowledged timer messages, all delivered ({} deliveries) in {:?}",
        want.len(),
        got.len(),
        started.elapsed()
    );
}
