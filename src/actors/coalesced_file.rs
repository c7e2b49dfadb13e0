//! A metadata file (topics.json, subscriptionGroup.json) written off the event loop, with
//! writes coalesced: at most one write is in flight, and changes made meanwhile are
//! folded into the next one, which carries only the newest state. 10,000 topic changes in
//! a burst are a handful of writes, not 10,000 fsyncs on the thread that serves
//! connections.
//!
//! Durability, stated honestly: a change is applied in memory and acknowledged to the
//! client before it is on disk; the file follows within one write (encode, write, fsync,
//! rename via [`json_file::store`](crate::json_file::store)), normally milliseconds. A
//! crash in that window loses the change. Apache RocketMQ 4.9.8's TopicConfigManager
//! writes the file before answering but without fsync (`MixAll.string2File`), so there a
//! power loss can lose it, a process crash not. The broker's shutdown waits for
//! [`CoalescedFile::flush`], so a clean stop loses nothing.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::json_file;

type Encode = Box<dyn FnOnce() -> Vec<u8> + Send>;

#[derive(Default)]
struct State {
    /// The newest state not yet handed to a write.
    pending: Option<Encode>,
    /// A write (or a chain of them) is running on a blocking thread.
    running: bool,
    /// Writes done, and how many of them failed (shown in the log; the next change
    /// writes the whole state again).
    writes: u64,
    failures: u64,
}

/// One metadata file and its coalescing writer.
pub struct CoalescedFile {
    path: PathBuf,
    state: Mutex<State>,
    idle: Notify,
}

impl CoalescedFile {
    pub fn new(path: PathBuf) -> Arc<Self> {
        Arc::new(CoalescedFile {
            path,
            state: Mutex::new(State::default()),
            idle: Notify::new(),
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Schedules writing the state `encode` produces; it replaces any state still waiting.
    /// Encoding runs on the writer's thread too, so a large table costs the caller
    /// nothing. Must be called from within a tokio runtime.
    pub fn submit(self: &Arc<Self>, encode: impl FnOnce() -> Vec<u8> + Send + 'static) {
        let start = {
            let Ok(mut st) = self.state.lock() else {
                return;
            };
            st.pending = Some(Box::new(encode));
            !std::mem::replace(&mut st.running, true)
        };
        if start {
            let this = self.clone();
            tokio::task::spawn_blocking(move || this.drain());
        }
    }

    /// Writes pending states until none is left.
    fn drain(&self) {
        loop {
            let next = match self.state.lock() {
                Ok(mut st) => match st.pending.take() {
                    Some(e) => e,
                    None => {
                        st.running = false;
                        break;
                    }
                },
                Err(_) => break,
            };
            let result = json_file::store(&self.path, &next());
            if let Ok(mut st) = self.state.lock() {
                st.writes += 1;
                if let Err(e) = &result {
                    st.failures += 1;
                    tracing::error!(path = %self.path.display(), error = %e, "writing metadata failed; the next change writes it again");
                }
            }
        }
        self.idle.notify_waiters();
    }

    /// Writes done so far.
    pub fn writes(&self) -> u64 {
        self.state.lock().map(|s| s.writes).unwrap_or(0)
    }

    /// Waits (at most `limit`) until every submitted state is on disk; false on timeout.
    pub async fn flush(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let busy = self
                .state
                .lock()
                .map(|s| s.running || s.pending.is_some())
                .unwrap_or(false);
            if !busy {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_of_changes_is_coalesced_and_the_newest_state_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = CoalescedFile::new(dir.path().join("config/topics.json"));
        for i in 0..2_000 {
            file.submit(move || format!("{{\"version\":{i}}}").into_bytes());
        }
        assert!(file.flush(Duration::from_secs(30)).await);
        let on_disk = std::fs::read_to_string(file.path()).unwrap();
        assert_eq!(on_disk, "{\"version\":1999}");
        assert!(
            file.writes() < 2_000,
            "{} writes for 2,000 changes",
            file.writes()
        );
        file.submit(|| b"{\"version\":2000}".to_vec());
        assert!(file.flush(Duration::from_secs(30)).await);
        assert_eq!(
            std::fs::read_to_string(file.path()).unwrap(),
            "{\"version\":2000}"
        );
    }
}
