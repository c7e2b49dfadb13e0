//! Group commit, Java's GroupCommitService: with SYNC_FLUSH a send waits here until the
//! commit log is fsynced past its last byte. One thread takes every waiter registered so
//! far, fsyncs once for all of them, answers their futures, and goes again at once if more
//! arrived meanwhile; a writer registers with one mutex push and wakes the thread only
//! when it is idle. A failed fsync poisons the store and answers every waiter with it.
//! Plain threads and a condvar, no actor: `actors/broker/store/flush_service.rs` starts it
//! and the CommitLogWriter registers waiters.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::store::commit_log::CommitLogReader;
use crate::store::poison::{guarded_flush, FlushFailpoint, Poison};
use crate::store::{StoreError, StoreResult};

/// Shared flush progress: the checkpoint reads it.
#[derive(Debug, Default)]
pub struct FlushProgress {
    /// Store time of the last record known to be on disk.
    pub flushed_store_timestamp: AtomicI64,
    /// Store time of the last record appended (set by the writer).
    pub appended_store_timestamp: AtomicI64,
    /// fsync rounds done, for metrics and tests.
    pub rounds: AtomicI64,
    /// The commit log's end after each append (set by the writer): HA connections wait
    /// on it for bytes to stream.
    pub appended: AppendWatch,
    /// Commit-log offset known to be on disk (`rocketmq_storage_flush_behind_bytes`).
    pub flushed_offset: AtomicI64,
}

/// The commit log's written end, watched by whoever streams new bytes (HA connections).
#[derive(Debug)]
pub struct AppendWatch(tokio::sync::watch::Sender<i64>);

impl Default for AppendWatch {
    fn default() -> Self {
        AppendWatch(tokio::sync::watch::Sender::new(0))
    }
}

impl AppendWatch {
    pub fn publish(&self, end: i64) {
        self.0.send_replace(end);
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<i64> {
        self.0.subscribe()
    }
}

/// One fsync of the commit log; returns the offset now durable.
pub fn flush_round(
    log: &CommitLogReader,
    poison: &Poison,
    fp: &FlushFailpoint,
    progress: &FlushProgress,
) -> StoreResult<i64> {
    let ts = progress.appended_store_timestamp.load(Ordering::Acquire);
    let flushed = guarded_flush(poison, fp, || log.flush())?;
    progress
        .flushed_store_timestamp
        .fetch_max(ts, Ordering::AcqRel);
    progress.rounds.fetch_add(1, Ordering::Relaxed);
    progress.flushed_offset.fetch_max(flushed, Ordering::AcqRel);
    Ok(flushed)
}

type Waiter = (i64, oneshot::Sender<StoreResult<()>>);

/// What the group commit exports: rounds and the waiters they answered (their ratio is the
/// average group size).
#[derive(Clone, Default)]
pub struct GroupCommitMetrics {
    pub rounds: Arc<std::sync::atomic::AtomicU64>,
    pub waiters: Arc<std::sync::atomic::AtomicU64>,
    /// Sends whose bytes an fsync already covered when they asked (a round, or the timer,
    /// flushed past them between their append and their wait): answered at once.
    pub durable_at_once: Arc<std::sync::atomic::AtomicU64>,
}

/// Synchronous flushes, grouped: senders wait here for their end offset to be durable.
pub struct GroupCommit {
    log: CommitLogReader,
    poison: Arc<Poison>,
    durable_at_once: Arc<std::sync::atomic::AtomicU64>,
    state: Mutex<GroupState>,
    wake: Condvar,
}

#[derive(Default)]
struct GroupState {
    waiters: Vec<Waiter>,
    /// The thread is waiting for work: a new waiter must wake it.
    idle: bool,
}

/// How often an idle group-commit thread checks that its store still exists.
const IDLE_CHECK: Duration = Duration::from_millis(100);

impl GroupCommit {
    /// Starts the group-commit thread. It ends by itself within [`IDLE_CHECK`] once the
    /// returned handle and its clones are dropped. If no thread can be started the store is
    /// poisoned: nothing could ever be confirmed durable, so writes are refused.
    pub fn start(
        log: CommitLogReader,
        poison: Arc<Poison>,
        failpoint: FlushFailpoint,
        progress: Arc<FlushProgress>,
        metrics: GroupCommitMetrics,
    ) -> Arc<GroupCommit> {
        let gc = Arc::new(GroupCommit {
            log,
            poison,
            durable_at_once: metrics.durable_at_once.clone(),
            state: Mutex::new(GroupState::default()),
            wake: Condvar::new(),
        });
        let weak = Arc::downgrade(&gc);
        if let Err(e) = std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || group_commit_loop(weak, failpoint, progress, metrics))
        {
            gc.poison
                .poison(format!("cannot start the group-commit thread: {e}"));
        }
        gc
    }

    /// Resolves once the commit log is durable up to `offset`, or with the poison.
    pub fn wait(&self, offset: i64) -> oneshot::Receiver<StoreResult<()>> {
        let (tx, rx) = oneshot::channel();
        if let Err(e) = self.poison.check() {
            let _ = tx.send(Err(e));
            return rx;
        }
        if self.log.files().flushed_offset() >= offset {
            self.durable_at_once.fetch_add(1, Ordering::Relaxed);
            let _ = tx.send(Ok(()));
            return rx;
        }
        let idle = match self.state.lock() {
            Ok(mut st) => {
                st.waiters.push((offset, tx));
                st.idle
            }
            Err(_) => {
                let _ = tx.send(Err(StoreError::Poisoned(
                    "the group-commit state is poisoned".into(),
                )));
                return rx;
            }
        };
        if idle {
            self.wake.notify_one();
        }
        rx
    }
}

fn group_commit_loop(
    gc: Weak<GroupCommit>,
    fp: FlushFailpoint,
    progress: Arc<FlushProgress>,
    metrics: GroupCommitMetrics,
) {
    loop {
        let Some(gc) = gc.upgrade() else { return };
        let batch = {
            let Ok(mut st) = gc.state.lock() else { return };
            if st.waiters.is_empty() {
                st.idle = true;
                st = match gc.wake.wait_timeout(st, IDLE_CHECK) {
                    Ok((st, _)) => st,
                    Err(_) => return,
                };
                st.idle = false;
            }
            std::mem::take(&mut st.waiters)
        };
        if batch.is_empty() {
            continue;
        }
        metrics.rounds.fetch_add(1, Ordering::Relaxed);
        metrics
            .waiters
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        match flush_round(&gc.log, &gc.poison, &fp, &progress) {
            Ok(flushed) => {
                let mut later = Vec::new();
                for (end, tx) in batch {
                    if end <= flushed {
                        let _ = tx.send(Ok(()));
                    } else {
                        later.push((end, tx));
                    }
                }
                if !later.is_empty() {
                    // Not appended yet when flushed (cannot happen: the writer registers
                    // after appending); wait a little rather than spin.
                    if let Ok(mut st) = gc.state.lock() {
                        st.waiters.extend(later);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            Err(e) => {
                let reason = e.to_string();
                for (_, tx) in batch {
                    let _ = tx.send(Err(StoreError::Poisoned(reason.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::protocol::message::MessageToStore;
    use crate::store::commit_log::{CommitLog, CommitLogConfig};

    fn message() -> MessageToStore {
        MessageToStore {
            born_timestamp: 1,
            ..MessageToStore::new("T", 0, Bytes::from_static(b"body"), String::new())
        }
    }

    fn setup() -> (
        tempfile::TempDir,
        CommitLog,
        Arc<GroupCommit>,
        Arc<FlushProgress>,
        FlushFailpoint,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let log = CommitLog::open(
            dir.path(),
            CommitLogConfig {
                file_size: 64 * 1024,
                max_message_size: 1024,
            },
        )
        .unwrap();
        let (progress, fp) = (
            Arc::new(FlushProgress::default()),
            FlushFailpoint::default(),
        );
        let gc = GroupCommit::start(
            log.reader(),
            Poison::new(),
            fp.clone(),
            progress.clone(),
            GroupCommitMetrics::default(),
        );
        (dir, log, gc, progress, fp)
    }

    #[tokio::test]
    async fn waiters_resolve_once_their_bytes_are_flushed_and_share_rounds() {
        let (_dir, mut log, gc, progress, _) = setup();
        assert!(matches!(gc.wait(0).await, Ok(Ok(()))), "nothing to flush");
        assert_eq!(progress.rounds.load(Ordering::Relaxed), 0);
        let mut waits = Vec::new();
        for _ in 0..20 {
            let end = log.append(&[message()], 1).unwrap().end_offset();
            waits.push(gc.wait(end));
        }
        for w in waits {
            let r = tokio::time::timeout(Duration::from_secs(5), w).await;
            assert!(matches!(r, Ok(Ok(Ok(())))), "{r:?}");
        }
        let rounds = progress.rounds.load(Ordering::Relaxed);
        assert!((1..=20).contains(&rounds), "{rounds} rounds");
        assert_eq!(
            log.reader().files().flushed_offset(),
            log.reader().max_offset()
        );
    }

    #[tokio::test]
    async fn a_failed_flush_answers_every_waiter_with_the_poison() {
        let (_dir, mut log, gc, progress, fp) = setup();
        fp.fail_flushes();
        let end = log.append(&[message()], 1).unwrap().end_offset();
        let first = tokio::time::timeout(Duration::from_secs(5), gc.wait(end)).await;
        assert!(matches!(first, Ok(Ok(Err(_)))), "{first:?}");
        let rounds = progress.rounds.load(Ordering::Relaxed);
        let end = log.append(&[message()], 2).unwrap().end_offset();
        let later = tokio::time::timeout(Duration::from_secs(5), gc.wait(end)).await;
        assert!(
            matches!(later, Ok(Ok(Err(StoreError::Poisoned(_))))),
            "{later:?}"
        );
        assert_eq!(
            progress.rounds.load(Ordering::Relaxed),
            rounds,
            "no fsync is tried again"
        );
    }
}
