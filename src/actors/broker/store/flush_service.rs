//! FlushService: makes the commit log durable. With SYNC_FLUSH, sends wait on the
//! [`GroupCommit`] (plain code in `store/group_commit.rs`) until their bytes are fsynced: its thread (Java's GroupCommitService)
//! takes every waiter registered so far, fsyncs once for all of them, answers them, and
//! goes again at once if more arrived meanwhile. The writer registers a waiter straight
//! into it (one mutex push, a wake-up only when the thread is idle) and the thread answers
//! the senders' futures directly, so a synchronous send costs no actor round trip. With
//! ASYNC_FLUSH a timer flushes every `flushIntervalCommitLog` once
//! `flushCommitLogLeastPages` pages are dirty, and everything every
//! `flushCommitLogThoroughInterval`. A failed fsync poisons the store (see
//! `store::poison`): every waiter and every later write gets the error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{guarded, Supervision};
use crate::store::commit_log::CommitLogReader;
use crate::store::config::{FlushDiskType, StoreConfig};
use crate::store::group_commit::{flush_round, FlushProgress, GroupCommit, GroupCommitMetrics};
use crate::store::poison::{FlushFailpoint, Poison};
use crate::store::{StoreError, StoreResult};

const PAGE: usize = 4096;

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
    group: Arc<GroupCommit>,
    flushing: bool,
}

impl FlushService {
    pub fn new(
        sup: Supervision,
        log: CommitLogReader,
        poison: Arc<Poison>,
        failpoint: FlushFailpoint,
        progress: Arc<FlushProgress>,
        group: Arc<GroupCommit>,
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
            group,
            flushing: false,
        }
    }

    /// Starts a timed fsync round on a blocking thread unless one is running.
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
            tokio::task::spawn_blocking(move || flush_round(&log, &poison, &fp, &progress))
                .await
                .unwrap_or_else(|e| Err(StoreError::Poisoned(format!("flush thread failed: {e}"))))
        };
        ctx.spawn(catch_panics(job.into_actor(self).map(|result, act, _| {
            act.flushing = false;
            if let Err(e) = result {
                tracing::error!(error = %e, "timed commit-log flush failed");
            }
        })));
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
            guarded(&metrics, ctx, |ctx| act.tick(ctx));
        });
    }
}

crate::supervised_actor!(FlushService, |a: &mut FlushService| {
    a.flushing = false;
});
crate::admits!(FlushService: WaitFlushed);

/// Resolves once the commit log is durable up to `offset` (or the store is poisoned).
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct WaitFlushed {
    pub offset: i64,
}

impl Handler<WaitFlushed> for FlushService {
    type Result = ResponseFuture<StoreResult<()>>;

    fn handle(&mut self, msg: WaitFlushed, _: &mut Context<Self>) -> Self::Result {
        let rx = self.group.wait(msg.offset);
        Box::pin(async move { rx.await.unwrap_or(Err(StoreError::ShuttingDown)) })
    }
}

impl GroupCommitMetrics {
    pub fn registered(registry: &crate::actors::metrics::MetricsRegistry) -> Self {
        registry.describe(
            "rocketmq_store_group_commit_rounds_total",
            "counter",
            "SYNC_FLUSH fsync rounds of the group commit.",
        );
        registry.describe(
            "rocketmq_store_group_commit_waiters_total",
            "counter",
            "SYNC_FLUSH sends answered by the group commit (÷ rounds = group size).",
        );
        registry.describe(
            "rocketmq_store_group_commit_durable_at_once_total",
            "counter",
            "SYNC_FLUSH sends already on disk when they asked: answered without a group-commit round.",
        );
        GroupCommitMetrics {
            rounds: registry.counter("rocketmq_store_group_commit_rounds_total", &[]),
            waiters: registry.counter("rocketmq_store_group_commit_waiters_total", &[]),
            durable_at_once: registry
                .counter("rocketmq_store_group_commit_durable_at_once_total", &[]),
        }
    }
}
