//! FlushService: makes the commit log durable. With SYNC_FLUSH, sends wait here until their
//! bytes are fsynced; the fsync runs on a blocking thread while waiters keep arriving, and
//! the next fsync covers all of them (group commit). With ASYNC_FLUSH a timer flushes
//! every `flushIntervalCommitLog` once `flushCommitLogLeastPages` pages are dirty, and
//! everything every `flushCommitLogThoroughInterval`. A failed fsync poisons the store
//! (see `store::poison`): every waiter and every later write gets the error.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::actors::runtime::{guarded, guarded_tick, Supervision};
use crate::store::commit_log::CommitLogReader;
use crate::store::config::{FlushDiskType, StoreConfig};
use crate::store::poison::{guarded_flush, FlushFailpoint, Poison};
use crate::store::{StoreError, StoreResult};

const PAGE: usize = 4096;

/// Shared flush progress: the checkpoint reads it.
#[derive(Debug, Default)]
pub struct FlushProgress {
    /// Store time of the last record known to be on disk.
    pub flushed_store_timestamp: AtomicI64,
    /// Store time of the last record appended (set by the writer).
    pub appended_store_timestamp: AtomicI64,
    /// fsync rounds done, for metrics and tests.
    pub rounds: AtomicI64,
}

pub struct FlushService {
    sup: Supervision,
    log: CommitLogReader,
    poison: Arc<Poison>,
    failpoint: FlushFailpoint,
    progress: Arc<FlushProgress>,
    mode: FlushDiskType,
    interval: Duration,
    least_bytes: usize,
    thorough: Duration,
    last_thorough: Instant,
    waiters: Vec<(i64, oneshot::Sender<StoreResult<()>>)>,
    flushing: bool,
}

impl FlushService {
    pub fn new(
        sup: Supervision,
        log: CommitLogReader,
        poison: Arc<Poison>,
        failpoint: FlushFailpoint,
        progress: Arc<FlushProgress>,
        config: &StoreConfig,
    ) -> Self {
        FlushService {
            sup,
            log,
            poison,
            failpoint,
            progress,
            mode: config.flush_disk_type,
            interval: Duration::from_millis(config.flush_interval_commit_log.max(1)),
            least_bytes: config.flush_commit_log_least_pages * PAGE,
            thorough: Duration::from_millis(config.flush_commit_log_thorough_interval),
            last_thorough: Instant::now(),
            waiters: Vec::new(),
            flushing: false,
        }
    }

    /// Starts an fsync round unless one is running; when it ends, waiters it covered are
    /// answered and, if more arrived meanwhile, the next round starts at once.
    fn kick(&mut self, ctx: &mut Context<Self>) {
        if self.flushing {
            return;
        }
        self.flushing = true;
        let (log, poison, fp, progress) = (
            self.log.clone(),
            self.poison.clone(),
            self.failpoint.clone(),
            self.progress.clone(),
        );
        let job = async move {
            tokio::task::spawn_blocking(move || {
                let ts = progress.appended_store_timestamp.load(Ordering::Acquire);
                let flushed = guarded_flush(&poison, &fp, || log.flush())?;
                progress
                    .flushed_store_timestamp
                    .fetch_max(ts, Ordering::AcqRel);
                progress.rounds.fetch_add(1, Ordering::Relaxed);
                Ok::<i64, StoreError>(flushed)
            })
            .await
            .unwrap_or_else(|e| Err(StoreError::Poisoned(format!("flush thread failed: {e}"))))
        };
        ctx.spawn(job.into_actor(self).map(|result, act, ctx| {
            act.flushing = false;
            let metrics = act.sup.metrics.clone();
            guarded_tick(&metrics, ctx, |ctx| act.finish_round(result, ctx));
        }));
    }

    fn finish_round(&mut self, result: StoreResult<i64>, ctx: &mut Context<Self>) {
        match result {
            Ok(flushed) => {
                let (done, rest): (Vec<_>, Vec<_>) =
                    self.waiters.drain(..).partition(|(end, _)| *end <= flushed);
                self.waiters = rest;
                for (_, tx) in done {
                    let _ = tx.send(Ok(()));
                }
                if !self.waiters.is_empty() {
                    self.kick(ctx);
                }
            }
            Err(e) => {
                let reason = e.to_string();
                for (_, tx) in self.waiters.drain(..) {
                    let _ = tx.send(Err(StoreError::Poisoned(reason.clone())));
                }
            }
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let dirty = self.log.files().dirty_bytes();
        if dirty == 0 || self.poison.is_poisoned() {
            return;
        }
        let thorough = self.last_thorough.elapsed() >= self.thorough;
        // SYNC_FLUSH flushes what sends did not wait for (WAIT=false) on the same timer.
        if dirty >= self.least_bytes || thorough || self.mode == FlushDiskType::SyncFlush {
            if thorough {
                self.last_thorough = Instant::now();
            }
            self.kick(ctx);
        }
    }
}

impl Actor for FlushService {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.interval, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded_tick(&metrics, ctx, |ctx| act.tick(ctx));
        });
    }
}

crate::supervised_actor!(FlushService, |a: &mut FlushService| {
    a.flushing = false;
});

/// Resolves once the commit log is durable up to `offset` (or the store is poisoned).
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct WaitFlushed {
    pub offset: i64,
}

impl Handler<WaitFlushed> for FlushService {
    type Result = ResponseFuture<StoreResult<()>>;

    fn handle(&mut self, msg: WaitFlushed, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let rx = guarded(&metrics, ctx, |ctx| {
            self.poison.check()?;
            if self.log.files().flushed_offset() >= msg.offset {
                return Ok(None);
            }
            let (tx, rx) = oneshot::channel();
            self.waiters.push((msg.offset, tx));
            self.kick(ctx);
            Ok(Some(rx))
        });
        Box::pin(async move {
            match rx {
                Some(Ok(Some(rx))) => rx.await.unwrap_or(Err(StoreError::ShuttingDown)),
                Some(Ok(None)) => Ok(()),
                Some(Err(e)) => Err(e),
                None => Err(StoreError::ShuttingDown),
            }
        })
    }
}
