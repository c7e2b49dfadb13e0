//! Memory for pending timers: links N timers (default 1,000,000, delays spread over three
//! days) into a timer store in a temp dir and prints the process's VmRSS, RssAnon and
//! RssFile before and after. Anonymous memory must stay flat; the mapped wheel and timer
//! log show up as file-backed pages only.
//!
//! `cargo run --release --example timer_memory [N]`

use ferrocket::store::commit_log::{CommitLog, CommitLogConfig};
use ferrocket::store::config::StoreConfig;
use ferrocket::store::timer::TimerStore;

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("RssAnon") || l.starts_with("RssFile"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let log = CommitLog::open(
        &dir.path().join("commitlog"),
        CommitLogConfig {
            file_size: 1 << 20,
            max_message_size: 1 << 16,
        },
    )?
    .reader();
    let now = 1_700_000_000_000;
    let mut t = TimerStore::open(
        dir.path(),
        StoreConfig::default().timer_store_config(),
        &log,
        now,
    )?;
    println!("before: {}", rss());
    let start = std::time::Instant::now();
    for i in 0..n {
        let due = now + 1_000 + (i as i64 * 7_919) % (3 * 86_400_000);
        t.enqueue(i as i64 * 256, 256, due, "BenchmarkTest", false, now)?;
    }
    let took = start.elapsed();
    println!(
        "after {n} timers ({:.0}/s, timer log {} MiB): {}",
        n as f64 / took.as_secs_f64(),
        t.log_end() >> 20,
        rss()
    );
    println!("pending in the wheel: {}", t.wheel().all_num(now));
    Ok(())
}
