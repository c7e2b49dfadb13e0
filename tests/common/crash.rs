//! Kill -9 tests: run this test binary again as a child that prints `ACK …` lines, and
//! SIGKILL it at a chosen moment.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs the test `child_test` of this binary with `envs`, waits (at most 20 s) for its
/// first `ACK ` line, so every round kills a busy child (libtest prints its own lines
/// first), sleeps `kill_after`, SIGKILLs it and returns what followed `ACK ` on each line
/// it printed.
pub fn run_child_and_kill(
    child_test: &str,
    envs: &[(&str, &std::ffi::OsStr)],
    kill_after: Duration,
) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", child_test, "--nocapture", "--test-threads=1"])
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut first = None;
    while first.is_none() && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.starts_with("ACK ") => first = Some(line),
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    std::thread::sleep(kill_after);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    first
        .into_iter()
        .chain(rx.try_iter())
        .filter_map(|l| l.strip_prefix("ACK ").map(str::to_owned))
        .collect()
}
