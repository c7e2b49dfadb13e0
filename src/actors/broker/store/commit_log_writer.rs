//! CommitLogWriter: the only writer of the commit log. Each `PutMessages` (one message or
//! a SEND_BATCH) is appended on the arbiter the store was started from — the broker's, where
//! its connections are served unless `ioThreads` spreads them — so a send's put costs no
//! thread hop (an append is a few microseconds of memory copy into the mapped file and
//! never waits on the disk); the dispatcher is woken; with
//! SYNC_FLUSH and WAIT=true the answer waits for FlushService's group commit, bounded by
//! `syncFlushTimeout` (then FLUSH_DISK_TIMEOUT: the message is stored, durability not yet
//! confirmed). A poisoned store, a full disk or a shutdown refuse writes before touching
//! the log. The disk check reads [`DiskSpace`]'s cached reading (refreshed here when older
//! than a second); a commit-log file that cannot be created for want of space refuses
//! writes the same way, without poisoning the store, until there is room again.
//!
//! Mailbox: bounded by `writerMailboxCapacity`; when full the broker answers SYSTEM_BUSY.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::reput_dispatcher::DispatchBell;
use crate::actors::panic_guard::PanicFailpoint;
use crate::actors::runtime::{guarded, Supervision};
use crate::protocol::message::MessageToStore;
use crate::store::commit_log::{AppendResult, CommitLog};
use crate::store::config::FlushDiskType;
use crate::store::disk_space::DiskSpace;
use crate::store::group_commit::{FlushProgress, GroupCommit};
use crate::store::poison::Poison;
use crate::store::{StoreError, StoreResult};

/// How a stored message's durability turned out (RocketMQ's PutMessageStatus subset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    PutOk,
    FlushDiskTimeout,
    /// SYNC_MASTER with no fit slave: stored here only.
    SlaveNotAvailable,
    /// SYNC_MASTER and no slave ack within slaveTimeout: stored, replication unconfirmed.
    FlushSlaveTimeout,
}

#[derive(Debug, Clone)]
pub struct PutResult {
    pub status: PutStatus,
    pub append: AppendResult,
}

/// How far ahead of the write position the commit log is kept faulted in.
const PREFAULT_LEAD: i64 = 8 << 20;
/// Bytes faulted in by one background job.
const PREFAULT_CHUNK: i64 = 4 << 20;

pub struct CommitLogWriter {
    sup: Supervision,
    /// Commit-log offset up to which pages are faulted in (or being faulted in).
    prefaulted: i64,
    /// A prefault job is running on a blocking thread.
    prefaulting: Arc<AtomicBool>,
    /// Dropped at shutdown: the writer lives on the broker's own arbiter, which outlives
    /// the store, so closing must let go of the files itself.
    log: Option<CommitLog>,
    poison: Arc<Poison>,
    disk: Arc<DiskSpace>,
    /// Dropped with the log at shutdown, so the group-commit thread and the files it maps
    /// go away with the store.
    group: Option<Arc<GroupCommit>>,
    wake_dispatcher: Arc<DispatchBell>,
    progress: Arc<FlushProgress>,
    mode: FlushDiskType,
    sync_timeout: Duration,
    closed: bool,
    /// Chaos hook: appends to an armed topic panic (a supervised restart).
    failpoint: Arc<PanicFailpoint>,
}

impl CommitLogWriter {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        sup: Supervision,
        mut log: CommitLog,
        poison: Arc<Poison>,
        disk: Arc<DiskSpace>,
        group: Arc<GroupCommit>,
        wake_dispatcher: Arc<DispatchBell>,
        progress: Arc<FlushProgress>,
        mode: FlushDiskType,
        sync_timeout: Duration,
        failpoint: Arc<PanicFailpoint>,
    ) -> Self {
        log.watch_space(disk.clone());
        CommitLogWriter {
            sup,
            prefaulted: 0,
            prefaulting: Arc::new(AtomicBool::new(false)),
            log: Some(log),
            poison,
            disk,
            group: Some(group),
            wake_dispatcher,
            progress,
            mode,
            sync_timeout,
            closed: false,
            failpoint,
        }
    }

    fn append(&mut self, msg: &PutMessages) -> StoreResult<AppendResult> {
        if self.closed {
            return Err(StoreError::ShuttingDown);
        }
        if let Some(deadline) = msg.deadline {
            let now = std::time::Instant::now();
            if now > deadline {
                return Err(StoreError::Busy(format!(
                    "the send waited {} ms in the queue",
                    (now - deadline).as_millis()
                )));
            }
        }
        self.poison.check()?;
        self.disk.check()?;
        let now = crate::clock::now_millis();
        let log = self.log.as_mut().ok_or(StoreError::ShuttingDown)?;
        let result = log.append(&msg.msgs, now).map_err(|e| {
            if e.is_disk_full() {
                // The next file could not be created: refused until there is room, with
                // the disk figures in the answer.
                return self.disk.refusal();
            }
            if matches!(e, StoreError::Io { .. }) {
                self.poison.poison(format!("commit-log write failed: {e}"));
            }
            e
        })?;
        self.progress
            .appended_store_timestamp
            .fetch_max(now, Ordering::AcqRel);
        self.wake_dispatcher.ring();
        self.progress.appended.publish(result.end_offset());
        self.prefault_ahead(result.end_offset());
        Ok(result)
    }

    /// A slave's append of bytes its master streamed (see [`CommitLog::append_raw`]).
    fn append_raw(&mut self, msg: &AppendReplicated) -> StoreResult<i64> {
        if self.closed {
            return Err(StoreError::ShuttingDown);
        }
        self.poison.check()?;
        self.disk.check()?;
        let log = self.log.as_mut().ok_or(StoreError::ShuttingDown)?;
        let end = log.append_raw(msg.offset, &msg.data).map_err(|e| {
            if e.is_disk_full() {
                return self.disk.refusal();
            }
            if matches!(e, StoreError::Io { .. }) {
                self.poison.poison(format!("commit-log write failed: {e}"));
            }
            e
        })?;
        // appended_store_timestamp stays as it is: the records carry the master's store
        // times, and the checkpoint must not claim a time their durability never had (a
        // slave's crash recovery then starts from its first file).
        self.wake_dispatcher.ring();
        self.progress.appended.publish(end);
        self.prefault_ahead(end);
        Ok(end)
    }

    /// Keeps the next [`PREFAULT_LEAD`] bytes of the current file faulted in, one chunk at a
    /// time on a blocking thread, so that appends on this (the connections') thread do not
    /// stall on page faults. It starts at the write position (madvise rounds down to the
    /// page being written); MADV_POPULATE_WRITE only faults pages in and never changes
    /// their contents, so it cannot race the writer.
    fn prefault_ahead(&mut self, end: i64) {
        if self.prefaulted >= end + PREFAULT_LEAD || self.prefaulting.load(Ordering::Acquire) {
            return;
        }
        let Some(file) = self.log.as_ref().and_then(|l| l.reader().files().find(end)) else {
            return;
        };
        let from = self.prefaulted.max(end);
        let to = (from + PREFAULT_CHUNK).min(file.from_offset() + file.size() as i64);
        if to <= from {
            return;
        }
        self.prefaulted = to;
        self.prefaulting.store(true, Ordering::Release);
        let busy = self.prefaulting.clone();
        let pos = (from - file.from_offset()) as usize;
        // With SYNC_FLUSH the chunk is also written out as zeros and synced, so the group
        // commit's fdatasync finds written blocks and has no extent change to write.
        let settle = (self.mode == FlushDiskType::SyncFlush).then(|| self.poison.clone());
        tokio::task::spawn_blocking(move || {
            file.prefault_write(pos, (to - from) as usize);
            if let Some(poison) = settle {
                if let Err(e) = file.settle(pos, (to - from) as usize) {
                    poison.poison(format!("commit-log sync ahead of the writer failed: {e}"));
                }
            }
            busy.store(false, Ordering::Release);
        });
    }
}

impl Actor for CommitLogWriter {
    type Context = Context<Self>;
}

crate::supervised_actor!(CommitLogWriter);
crate::admits!(CommitLogWriter: PutMessages, AppendReplicated, CloseWriter, RemoveTopic);

/// Append one message, or a batch as consecutive records.
#[derive(Message)]
#[rtype(result = "StoreResult<PutResult>")]
pub struct PutMessages {
    pub msgs: Vec<MessageToStore>,
    /// The WAIT property: with SYNC_FLUSH, answer only once the bytes are on disk.
    pub wait_store_ok: bool,
    /// Not written (answered busy) if the writer only gets to it after this.
    pub deadline: Option<std::time::Instant>,
}

impl Handler<PutMessages> for CommitLogWriter {
    type Result = ResponseFuture<StoreResult<PutResult>>;

    fn handle(&mut self, msg: PutMessages, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let appended = match guarded(&metrics, ctx, |_| {
            if let Some(first) = msg.msgs.first() {
                self.failpoint.check(&first.topic);
            }
            self.append(&msg)
        }) {
            Some(r) => r,
            None => Err(StoreError::Unavailable("the commit-log writer".into())),
        };
        let append = match appended {
            Ok(a) => a,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        if self.mode != FlushDiskType::SyncFlush || !msg.wait_store_ok {
            return Box::pin(async move {
                Ok(PutResult {
                    status: PutStatus::PutOk,
                    append,
                })
            });
        }
        let Some(group) = &self.group else {
            return Box::pin(async { Err(StoreError::ShuttingDown) });
        };
        let wait = group.wait(append.end_offset());
        let timeout = self.sync_timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, wait).await {
                Ok(Ok(Ok(()))) => Ok(PutResult {
                    status: PutStatus::PutOk,
                    append,
                }),
                Ok(Ok(Err(e))) => Err(e),
                // The flusher is gone or slow: stored, durability unconfirmed.
                Ok(Err(_)) | Err(_) => Ok(PutResult {
                    status: PutStatus::FlushDiskTimeout,
                    append,
                }),
            }
        })
    }
}

/// A slave appends a chunk of its master's commit log, byte for byte; answers the new end.
#[derive(Message)]
#[rtype(result = "StoreResult<i64>")]
pub struct AppendReplicated {
    pub offset: i64,
    pub data: bytes::Bytes,
}

impl Handler<AppendReplicated> for CommitLogWriter {
    type Result = StoreResult<i64>;

    fn handle(&mut self, msg: AppendReplicated, ctx: &mut Context<Self>) -> StoreResult<i64> {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| self.append_raw(&msg))
            .unwrap_or_else(|| Err(StoreError::Unavailable("the commit-log writer".into())))
    }
}

/// Refuse all further writes (shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseWriter;

impl Handler<CloseWriter> for CommitLogWriter {
    type Result = ();

    fn handle(&mut self, _: CloseWriter, _: &mut Context<Self>) {
        self.closed = true;
        // Dropping the log discards a file prepared ahead and unmaps the files.
        self.log = None;
        self.group = None;
    }
}

/// Forget a deleted topic's queue offsets.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoveTopic(pub String);

impl Handler<RemoveTopic> for CommitLogWriter {
    type Result = ();

    fn handle(&mut self, msg: RemoveTopic, _: &mut Context<Self>) {
        if let Some(log) = self.log.as_mut() {
            log.remove_topic(&msg.0);
        }
    }
}
