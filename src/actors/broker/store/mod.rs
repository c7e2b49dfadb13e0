//! The store's actor tree and the handle the broker uses:
//!
//! ```text
//! Store
//!   ├─ CommitLogWriter   (the starting arbiter, beside the connections; the only writer)
//!   ├─ FlushService      (own arbiter; timed flushes; its GroupCommit thread answers SYNC sends)
//!   ├─ ReputDispatcher   (own arbiter) → ConsumeQueue[topic-queue] × N, IndexService
//!   ├─ CheckpointKeeper  (FlushService's arbiter: its msyncs stay off the connections')
//!   └─ FileCleaner       (FlushService's arbiter: deleting files blocks too)
//! ```
//!
//! [`StoreHandle`] is cheap to clone. Writes go through the writer's bounded mailbox;
//! reads (pulls, offsets, messages by offset) go straight to the lock-free readers.

pub mod checkpoint_keeper;
pub mod commit_log_writer;
pub mod consume_queue;
pub mod file_cleaner;
pub mod flush_service;
pub mod index_service;
pub mod reput_dispatcher;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;

use super::capacity;
use super::config::BrokerRole;
use super::ha::{ReplicaOutcome, ReplicaState};
use crate::actors::metrics::MetricsRegistry;
use crate::actors::panic_guard::PanicFailpoint;
use crate::actors::runtime::{start_supervised, ActorError, Mailbox};
use crate::protocol::message::{property, MessageToStore};
use crate::store::checkpoint::AbortMarker;
use crate::store::commit_log::CommitLogReader;
use crate::store::config::StoreConfig;
use crate::store::consume_queue::ConsumeQueueReader;
use crate::store::disk_space::DiskSpace;
use crate::store::get_message::{get_message, GetMessageResult, MessageFilter, TransferLimits};
use crate::store::group_commit::{FlushProgress, GroupCommit, GroupCommitMetrics};
use crate::store::index::QueryResult;
use crate::store::message_store::RecoveredStore;
use crate::store::poison::{FlushFailpoint, Poison};
use crate::store::timer::{to_timer_topic, TimerRefusal};
use crate::store::{StoreError, StoreResult};
use checkpoint_keeper::{CheckpointKeeper, WriteCheckpoint};
use commit_log_writer::{
    AppendReplicated, CloseWriter, CommitLogWriter, PutMessages, PutResult, PutStatus, RemoveTopic,
};
use consume_queue::ConsumeQueue;
use file_cleaner::FileCleaner;
use flush_service::{FlushService, WaitFlushed};
use index_service::{IndexService, QueryIndex};
use reput_dispatcher::{
    DispatchBell, DispatchProgress, DispatcherParts, MessageArrived, QueueReaders, ReputDispatcher,
    SubscribeArrivals, SubscribeDispatch,
};

/// Why a put did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer's mailbox is full (answer SYSTEM_BUSY) or it is gone.
    #[error(transparent)]
    Busy(#[from] ActorError),
    /// A timer message the wheel will not take (MESSAGE_ILLEGAL or SYSTEM_ERROR).
    #[error(transparent)]
    Timer(#[from] TimerRefusal),
}

impl PutError {
    /// Whether the same put can succeed later (see [`StoreError::is_retryable`]): a busy,
    /// restarting or stopped writer is; a message the store or the wheel refuses for what
    /// it is never is.
    pub fn is_retryable(&self) -> bool {
        match self {
            PutError::Store(e) => e.is_retryable(),
            PutError::Busy(_) => true,
            PutError::Timer(_) => false,
        }
    }
}

struct Inner {
    config: Arc<StoreConfig>,
    writer: Mailbox<CommitLogWriter>,
    flush: Mailbox<FlushService>,
    dispatcher: Mailbox<ReputDispatcher>,
    index: Option<Mailbox<IndexService>>,
    checkpoint: Mailbox<CheckpointKeeper>,
    /// Held so the supervisor keeps restarting it: actix restarts only actors someone
    /// can still reach.
    _cleaner: Mailbox<FileCleaner>,
    log: CommitLogReader,
    readers: QueueReaders,
    dispatch: Arc<DispatchProgress>,
    flush_progress: Arc<FlushProgress>,
    poison: Arc<Poison>,
    failpoint: FlushFailpoint,
    writer_failpoint: Arc<PanicFailpoint>,
    disk: Arc<DiskSpace>,
    abort: Mutex<Option<AbortMarker>>,
    arbiters: Mutex<Vec<Arbiter>>,
    /// The broker's role in replication, set once at start (none: a lone master).
    replica: OnceLock<Arc<ReplicaState>>,
}

/// The broker's access to its store.
#[derive(Clone)]
pub struct StoreHandle {
    inner: Arc<Inner>,
}

impl StoreHandle {
    /// Starts the store's actors over a recovered store directory. `prefix` places them in
    /// the metrics tree (e.g. "broker/Store").
    pub fn start(
        recovered: RecoveredStore,
        registry: &Arc<MetricsRegistry>,
        prefix: &str,
    ) -> StoreHandle {
        let RecoveredStore {
            config,
            commit_log,
            consume_queues,
            index,
            checkpoint,
            abort,
            dispatched_to,
            ..
        } = recovered;
        let config = Arc::new(config);
        let log = commit_log.reader();
        let poison = Poison::new();
        let failpoint = FlushFailpoint::default();
        let flush_progress = Arc::new(FlushProgress::default());
        let dispatch = Arc::new(DispatchProgress::default());
        let disk = Arc::new(DiskSpace::new(
            &config.store_path_root_dir,
            config.disk_full_ratio,
        ));
        let writer_failpoint = Arc::new(PanicFailpoint::default());
        let wake = Arc::new(DispatchBell::default());
        let readers: QueueReaders = Default::default();
        let (flush_arb, dispatch_arb) = (Arbiter::new(), Arbiter::new());

        let group = GroupCommit::start(
            log.clone(),
            poison.clone(),
            failpoint.clone(),
            flush_progress.clone(),
            GroupCommitMetrics::registered(registry),
        );
        let flush = {
            let (log, poison, fp, progress, cfg, group) = (
                log.clone(),
                poison.clone(),
                failpoint.clone(),
                flush_progress.clone(),
                config.clone(),
                group.clone(),
            );
            start_supervised(
                registry,
                format!("{prefix}/FlushService"),
                capacity::FLUSH_SERVICE,
                Some(&flush_arb.handle()),
                move |sup| FlushService::new(sup, log, poison, fp, progress, group, &cfg),
            )
        };
        let writer = {
            let (poison, disk, wake, progress, writer_failpoint) = (
                poison.clone(),
                disk.clone(),
                wake.clone(),
                flush_progress.clone(),
                writer_failpoint.clone(),
            );
            let (mode, timeout) = (
                config.flush_disk_type,
                Duration::from_millis(config.sync_flush_timeout),
            );
            start_supervised(
                registry,
                format!("{prefix}/CommitLogWriter"),
                config.writer_mailbox_capacity,
                None,
                move |sup| {
                    CommitLogWriter::new(
                        sup,
                        commit_log,
                        poison,
                        disk,
                        group,
                        wake,
                        progress,
                        mode,
                        timeout,
                        writer_failpoint,
                    )
                },
            )
        };
        let index = index.map(|idx| {
            start_supervised(
                registry,
                format!("{prefix}/IndexService"),
                capacity::INDEX_SERVICE,
                Some(&dispatch_arb.handle()),
                move |sup| IndexService::new(sup, idx),
            )
        });
        // One consume-queue actor per queue: 100,000 queues must not mean 100,000 sets
        // of series per scrape.
        registry.aggregate_under(format!("{prefix}/ConsumeQueue"));
        let mut queues = std::collections::HashMap::new();
        for ((topic, queue_id), cq) in consume_queues {
            readers.insert((topic.clone(), queue_id), cq.reader());
            let path = format!("{prefix}/ConsumeQueue/{topic}-{queue_id}");
            let mb = start_supervised(
                registry,
                path,
                capacity::CONSUME_QUEUE,
                Some(&dispatch_arb.handle()),
                move |sup| ConsumeQueue::new(sup, cq),
            );
            queues.insert((topic, queue_id), mb);
        }
        let dispatcher = {
            let parts = DispatcherParts {
                log: log.clone(),
                from: dispatched_to,
                config: config.clone(),
                registry: registry.clone(),
                prefix: prefix.to_owned(),
                queues,
                readers: readers.clone(),
                index: index.clone(),
                wake: wake.clone(),
                progress: dispatch.clone(),
                queue_arbiter: dispatch_arb.handle(),
                disk: disk.clone(),
            };
            start_supervised(
                registry,
                format!("{prefix}/ReputDispatcher"),
                capacity::REPUT_DISPATCHER,
                Some(&dispatch_arb.handle()),
                move |sup| ReputDispatcher::new(sup, parts),
            )
        };
        let checkpoint = {
            let (path, readers, index, fp, dp) = (
                config.store_path_root_dir.join("checkpoint"),
                readers.clone(),
                index.clone(),
                flush_progress.clone(),
                dispatch.clone(),
            );
            let every = Duration::from_millis(config.flush_interval_consume_queue.max(10));
            start_supervised(
                registry,
                format!("{prefix}/CheckpointKeeper"),
                capacity::CHECKPOINT_KEEPER,
                Some(&flush_arb.handle()),
                move |sup| {
                    CheckpointKeeper::new(sup, path, readers, index, fp, dp, every, checkpoint)
                },
            )
        };
        let cleaner = {
            let (cfg, log, disk, dispatcher, index, reg) = (
                config.clone(),
                log.clone(),
                disk.clone(),
                dispatcher.clone(),
                index.clone(),
                registry.clone(),
            );
            start_supervised(
                registry,
                format!("{prefix}/FileCleaner"),
                capacity::FILE_CLEANER,
                Some(&flush_arb.handle()),
                move |sup| FileCleaner::new(sup, cfg, log, disk, dispatcher, index, &reg),
            )
        };
        StoreHandle {
            inner: Arc::new(Inner {
                config,
                writer,
                flush,
                dispatcher,
                index,
                checkpoint,
                _cleaner: cleaner,
                log,
                readers,
                dispatch,
                flush_progress,
                poison,
                failpoint,
                writer_failpoint,
                disk,
                abort: Mutex::new(Some(abort)),
                arbiters: Mutex::new(vec![flush_arb, dispatch_arb]),
                replica: OnceLock::new(),
            }),
        }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Sets the broker's replication role: a slave refuses puts, a SYNC_MASTER's puts
    /// with WAIT=true wait for a slave's ack. Only the first call counts.
    pub fn set_replica(&self, state: Arc<ReplicaState>) {
        let _ = self.inner.replica.set(state);
    }

    pub fn replica(&self) -> Option<&Arc<ReplicaState>> {
        self.inner.replica.get()
    }

    fn is_slave(&self) -> bool {
        self.replica()
            .is_some_and(|r| r.role() == BrokerRole::Slave)
    }

    /// A slave appends a chunk its master streamed; answers the log's new end.
    pub async fn append_replicated(&self, offset: i64, data: Bytes) -> Result<i64, PutError> {
        Ok(self
            .inner
            .writer
            .ask(AppendReplicated { offset, data })
            .await??)
    }

    /// The commit log's end, updated after every append.
    pub fn watch_appended(&self) -> tokio::sync::watch::Receiver<i64> {
        self.inner.flush_progress.appended.subscribe()
    }

    /// Appends one message or a batch. With SYNC_FLUSH and `wait_store_ok` the answer comes
    /// once the bytes are on disk (or FLUSH_DISK_TIMEOUT after `syncFlushTimeout`).
    pub async fn put(
        &self,
        msgs: Vec<MessageToStore>,
        wait_store_ok: bool,
    ) -> Result<PutResult, PutError> {
        self.put_within(msgs, wait_store_ok, None).await
    }

    /// Like [`put`](Self::put), refused as busy if the writer cannot start on it by
    /// `deadline` (the backpressure bound).
    pub async fn put_within(
        &self,
        msgs: Vec<MessageToStore>,
        wait_store_ok: bool,
        deadline: Option<Instant>,
    ) -> Result<PutResult, PutError> {
        if self.is_slave() {
            return Err(PutError::Store(StoreError::Slave));
        }
        let mut msgs = msgs;
        let (rules, now) = (self.inner.config.timer_rules(), crate::clock::now_millis());
        for m in &mut msgs {
            // A half message keeps its delay until it is committed (transaction.rs).
            if m.topic == super::meta::topic_config::TRANS_HALF_TOPIC {
                continue;
            }
            // Before the delay level: a level drops the timer properties.
            to_timer_topic(m, &rules, now)?;
            if property(&m.properties, "DELAY").is_some() {
                let levels = self.inner.config.delay_level_millis().len();
                crate::store::schedule::to_schedule_topic(m, levels);
            }
        }
        let mut result = self
            .inner
            .writer
            .ask(PutMessages {
                msgs,
                wait_store_ok,
                deadline,
            })
            .await??;
        if let Some(replica) = self.replica() {
            if wait_store_ok && replica.role() == BrokerRole::SyncMaster {
                // As Java combines the flush and replica futures: the replica's verdict
                // wins over a flush timeout.
                match replica.wait_replicated(result.append.end_offset()).await {
                    ReplicaOutcome::Acked => {}
                    ReplicaOutcome::SlaveNotAvailable => {
                        result.status = PutStatus::SlaveNotAvailable
                    }
                    ReplicaOutcome::FlushSlaveTimeout => {
                        result.status = PutStatus::FlushSlaveTimeout
                    }
                }
            }
        }
        Ok(result)
    }

    pub fn commit_log(&self) -> &CommitLogReader {
        &self.inner.log
    }

    pub fn consume_queue(&self, topic: &str, queue_id: i32) -> Option<ConsumeQueueReader> {
        self.inner
            .readers
            .get(&(topic.to_owned(), queue_id))
            .map(|r| r.value().clone())
    }

    /// Queue offsets of a queue: (min, max); (0, 0) for a queue never written.
    pub fn queue_offsets(&self, topic: &str, queue_id: i32) -> (i64, i64) {
        self.consume_queue(topic, queue_id)
            .map(|q| (q.min_offset(), q.max_offset()))
            .unwrap_or((0, 0))
    }

    /// Up to `max_msgs` messages from `offset` that pass `filter`.
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msgs: usize,
        limits: TransferLimits,
        filter: impl MessageFilter,
    ) -> GetMessageResult {
        let cq = self.consume_queue(topic, queue_id);
        get_message(
            &self.inner.log,
            cq.as_ref(),
            offset,
            max_msgs,
            limits,
            filter,
        )
    }

    /// Java's isSuggestPullingFromSlave: the pull read further behind the commit log's end
    /// than accessMessageInMemoryMaxRatio % of physical memory (10 points less on a slave),
    /// so its bytes are likely no longer in the page cache.
    pub fn suggest_pulling_from_slave(&self, max_phy_offset_pulling: i64) -> bool {
        let ratio = self.inner.config.access_message_in_memory_max_ratio as i64
            - if self.is_slave() { 10 } else { 0 };
        let memory = physical_memory() as i64 / 100 * ratio.max(0);
        self.inner.log.max_offset() - max_phy_offset_pulling > memory
    }

    /// The stored record at a commit-log offset.
    pub fn message_at(&self, phys_offset: i64) -> Option<Bytes> {
        self.inner.log.read_record(phys_offset)
    }

    /// Store time of a queue's first message.
    pub fn earliest_store_time(&self, topic: &str, queue_id: i32) -> Option<i64> {
        let u = self.consume_queue(topic, queue_id)?.earliest_unit()?;
        self.inner.log.store_timestamp(u.phys_offset, u.size)
    }

    /// The queue offset of the first message stored at or after `timestamp` (or, with
    /// `upper`, the last one stored at or before it).
    pub fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp: i64, upper: bool) -> i64 {
        match self.consume_queue(topic, queue_id) {
            Some(q) => q.offset_by_time(timestamp, upper, |u| {
                self.inner.log.store_timestamp(u.phys_offset, u.size)
            }),
            None => 0,
        }
    }

    /// Stored records whose key is `key` (KEYS or UNIQ_KEY), through the index.
    pub async fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> StoreResult<(QueryResult, Vec<Bytes>)> {
        let Some(index) = &self.inner.index else {
            return Ok((QueryResult::default(), Vec::new()));
        };
        let q = QueryIndex {
            topic: topic.to_owned(),
            key: key.to_owned(),
            max_num,
            begin,
            end,
        };
        let result = index
            .ask(q)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        let records = result
            .phy_offsets
            .iter()
            .filter_map(|o| self.message_at(*o))
            .collect();
        Ok((result, records))
    }

    /// Long-polling pulls and plug-ins subscribe to per-queue arrivals here.
    pub fn subscribe_arrivals(&self, r: Recipient<MessageArrived>) {
        self.inner.dispatcher.addr().do_send(SubscribeArrivals(r));
    }

    /// Plug-ins receive every dispatched record here.
    pub fn subscribe_dispatch(&self, r: reput_dispatcher::DispatchSink) {
        self.inner.dispatcher.addr().do_send(SubscribeDispatch(r));
    }

    /// Commit-log offset up to which consume queues and the index are built.
    pub fn dispatched_offset(&self) -> i64 {
        self.inner
            .dispatch
            .dispatched_offset
            .load(Ordering::Acquire)
    }

    /// Waits (bounded) until everything appended is dispatched.
    pub async fn wait_dispatched(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.dispatched_offset() < self.inner.log.max_offset() {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    /// Forgets a deleted topic's queue offsets in the writer.
    pub fn remove_topic(&self, topic: &str) {
        let _ = self.inner.writer.tell(RemoveTopic(topic.to_owned()));
    }

    pub fn is_poisoned(&self) -> bool {
        self.inner.poison.is_poisoned()
    }

    /// Commit-log offset the last fsync covered (0 before the first).
    pub fn flushed_offset(&self) -> i64 {
        self.inner
            .flush_progress
            .flushed_offset
            .load(Ordering::Acquire)
    }

    /// fsync rounds done so far (group commit shows as fewer rounds than sends).
    pub fn flush_rounds(&self) -> i64 {
        self.inner.flush_progress.rounds.load(Ordering::Relaxed)
    }

    /// Test hook: every later flush fails as if fsync returned EIO.
    #[doc(hidden)]
    pub fn inject_flush_failure(&self) {
        self.inner.failpoint.fail_flushes();
    }

    /// Test hook: the CommitLogWriter panics (and is restarted by its supervisor) on the
    /// next `n` appends whose first message is for `topic`; those puts fail as
    /// [`StoreError::Unavailable`].
    #[doc(hidden)]
    pub fn inject_writer_panics(&self, topic: &str, n: u32) {
        self.inner.writer_failpoint.arm(topic, n);
    }

    /// The CommitLogWriter's metrics (mailbox depth, restarts).
    pub fn writer_metrics(&self) -> &Arc<crate::actors::metrics::ActorMetrics> {
        self.inner.writer.metrics()
    }

    /// Test hook: hold every commit-log flush (as a stalled disk would) until released.
    #[doc(hidden)]
    pub fn hold_flushes(&self, hold: bool) {
        self.inner.failpoint.hold_flushes(hold);
    }

    /// Test hook: pretend the disk is this full (`None`: measure it again).
    #[doc(hidden)]
    pub fn override_disk_usage(&self, percent: Option<u32>) {
        self.inner.disk.set_override(percent);
    }

    /// How full the store's disks are, and whether writes are refused for it.
    pub fn disk_space(&self) -> &DiskSpace {
        &self.inner.disk
    }

    /// A clean stop: refuse new writes, finish dispatching, flush the commit log, consume
    /// queues and index, write the checkpoint, remove the abort marker, stop the arbiters.
    pub async fn shutdown(&self) -> StoreResult<()> {
        let _ = self.inner.writer.addr().send(CloseWriter).await;
        if !self.wait_dispatched(Duration::from_secs(10)).await {
            tracing::warn!(
                "shutdown: dispatching did not catch up in 10 s; recovery will finish it"
            );
        }
        let end = self.inner.log.max_offset();
        let flushed = self.inner.flush.ask(WaitFlushed { offset: end }).await;
        let checkpoint = self.inner.checkpoint.ask(WriteCheckpoint).await;
        let clean =
            matches!(flushed, Ok(Ok(()))) && matches!(checkpoint, Ok(Ok(_))) && !self.is_poisoned();
        if clean {
            if let Some(abort) = self.inner.abort.lock().ok().and_then(|mut a| a.take()) {
                abort.remove()?;
            }
        } else {
            tracing::error!(?flushed, ?checkpoint, "shutdown could not make everything durable; the abort marker stays so the next start recovers");
        }
        let arbiters: Vec<Arbiter> = self
            .inner
            .arbiters
            .lock()
            .map(|mut a| a.drain(..).collect())
            .unwrap_or_default();
        for a in &arbiters {
            a.stop();
        }
        // Wait for the store's threads to end, so that what their actors do when dropped
        // (removing files prepared ahead) is finished before a new store opens the same
        // directory. Bounded: a stuck thread is reported, not waited on forever.
        let joined = tokio::task::spawn_blocking(move || {
            for a in arbiters {
                let _ = a.join();
            }
        });
        if tokio::time::timeout(Duration::from_secs(10), joined)
            .await
            .is_err()
        {
            tracing::warn!("shutdown: the store's threads did not end within 10 s");
        }
        match flushed {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(StoreError::Unavailable(e.to_string())),
        }
    }
}

/// The machine's physical memory in bytes (Java's StoreUtil.TOTAL_PHYSICAL_MEMORY_SIZE);
/// a very large value when it cannot be read, so nothing counts as "in disk".
fn physical_memory() -> u64 {
    static MEMORY: OnceLock<u64> = OnceLock::new();
    *MEMORY.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let (pages, size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && size > 0 {
            pages as u64 * size as u64
        } else {
            u64::MAX / 2
        }
    })
}
