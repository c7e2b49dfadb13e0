//! CheckpointKeeper: every `flushIntervalConsumeQueue` it flushes the consume queues and the
//! index (on a blocking thread) and writes the checkpoint: the store times up to which the
//! commit log, the consume queues and the index are durable. Crash recovery starts from
//! the oldest of them.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::index_service::{FlushIndex, IndexService};
use super::reput_dispatcher::{DispatchProgress, QueueReaders};
use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{guarded, Mailbox, Supervision};
use crate::store::checkpoint::Checkpoint;
use crate::store::group_commit::FlushProgress;
use crate::store::{StoreError, StoreResult};

pub struct CheckpointKeeper {
    sup: Supervision,
    path: PathBuf,
    readers: QueueReaders,
    index: Option<Mailbox<IndexService>>,
    flush: Arc<FlushProgress>,
    dispatch: Arc<DispatchProgress>,
    interval: Duration,
    checkpoint: Checkpoint,
    running: bool,
}

impl CheckpointKeeper {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        sup: Supervision,
        path: PathBuf,
        readers: QueueReaders,
        index: Option<Mailbox<IndexService>>,
        flush: Arc<FlushProgress>,
        dispatch: Arc<DispatchProgress>,
        interval: Duration,
        checkpoint: Checkpoint,
    ) -> Self {
        CheckpointKeeper {
            sup,
            path,
            readers,
            index,
            flush,
            dispatch,
            interval,
            checkpoint,
            running: false,
        }
    }

    /// Flushes queues and index, then writes the checkpoint; the future resolves when done.
    fn round(&mut self) -> impl std::future::Future<Output = StoreResult<Checkpoint>> + 'static {
        let logics_ts = self.dispatch.last_store_timestamp.load(Ordering::Acquire);
        let physic_ts = self.flush.flushed_store_timestamp.load(Ordering::Acquire);
        let readers: Vec<_> = self.readers.iter().map(|e| e.value().clone()).collect();
        let index = self.index.clone();
        let path = self.path.clone();
        let mut cp = self.checkpoint;
        async move {
            let mut index_ts = cp.index_msg_timestamp;
            if let Some(index) = index {
                index_ts = index
                    .ask(FlushIndex)
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))??;
            }
            tokio::task::spawn_blocking(move || {
                for r in &readers {
                    r.flush()?;
                }
                // Only times known to be durable move forward.
                cp.physic_msg_timestamp = cp.physic_msg_timestamp.max(physic_ts);
                cp.logics_msg_timestamp = cp.logics_msg_timestamp.max(logics_ts);
                cp.index_msg_timestamp = cp.index_msg_timestamp.max(index_ts);
                cp.store(&path)?;
                Ok(cp)
            })
            .await
            .map_err(|e| StoreError::Unavailable(format!("the checkpoint thread ({e})")))?
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            return;
        }
        self.running = true;
        ctx.spawn(catch_panics(self.round().into_actor(self).map(
            |r, act, _| {
                act.running = false;
                match r {
                    Ok(cp) => act.checkpoint = cp,
                    Err(e) => tracing::error!(error = %e, "writing the checkpoint failed"),
                }
            },
        )));
    }
}

impl Actor for CheckpointKeeper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.interval, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.tick(ctx));
        });
    }
}

crate::supervised_actor!(CheckpointKeeper, |a: &mut CheckpointKeeper| {
    a.running = false;
});
crate::admits!(CheckpointKeeper: WriteCheckpoint);

/// Flush and write the checkpoint now (shutdown); answers what was written.
#[derive(Message)]
#[rtype(result = "StoreResult<Checkpoint>")]
pub struct WriteCheckpoint;

impl Handler<WriteCheckpoint> for CheckpointKeeper {
    type Result = ResponseActFuture<Self, StoreResult<Checkpoint>>;

    fn handle(&mut self, _: WriteCheckpoint, _: &mut Context<Self>) -> Self::Result {
        Box::pin(self.round().into_actor(self).map(|r, act, _| {
            if let Ok(cp) = &r {
                act.checkpoint = *cp;
            }
            r
        }))
    }
}
