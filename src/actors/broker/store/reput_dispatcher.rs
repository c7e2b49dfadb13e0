//! ReputDispatcher: follows the commit log from where dispatching stopped, and for each
//! round of up to 4096 new records sends the consume-queue units to one ConsumeQueue actor
//! per (topic, queue) and the keys to the IndexService, waits for them, then announces the
//! new arrivals per queue to subscribers (long-polling pulls, plugged-in actors). The writer
//! rings a [`DispatchBell`] after every append; a ring starts a round 1 ms later (Java's
//! ReputMessageService polls every 1 ms), so under load a round carries every record
//! appended in that millisecond instead of waking this thread once per message. A 100 ms
//! timer is the safety net. One round at a time, so each queue receives its units in
//! commit-log order.
//!
//! Hand-off policy after a round: consume queues and the index are awaited (nothing is
//! dispatched past them). Arrival notices to PullHold and records to plugged-in actors are
//! offered with `try_send` and never wait: a receiver whose mailbox is full misses that
//! round's notice, counted in `rocketmq_dispatch_dropped_total{receiver}`. For PullHold
//! that only delays a parked pull until its hold time ends (it then reads again); a
//! plug-in gets at-most-once delivery (see `BrokerBuilder::plug`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use dashmap::DashMap;
use futures_util::future::join_all;
use tokio::sync::Notify;

use super::consume_queue::{ConsumeQueue, PutUnits, Unit};
use super::index_service::{BuildIndex, IndexService};
use crate::actors::metrics::MetricsRegistry;
use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{guarded, start_supervised, Mailbox, Supervision};
use crate::protocol::message::DispatchInfo;
use crate::store::commit_log::CommitLogReader;
use crate::store::config::StoreConfig;
use crate::store::consume_queue::{self, ConsumeQueueReader};
use crate::store::disk_space::DiskSpace;
use crate::store::message_store::{cq_tags_code, goes_to_consume_queue};
use crate::store::{StoreError, StoreResult};

/// Records dispatched per round.
const ROUND_RECORDS: usize = 4096;
/// How long after a ring the round starts, gathering the appends made meanwhile.
const COALESCE: Duration = Duration::from_millis(1);

/// How the writer wakes the dispatcher: one cross-thread wake-up per round at most, however
/// many appends ring while a round is pending or running (each later ring is one atomic).
#[derive(Debug, Default)]
pub struct DispatchBell {
    rung: AtomicBool,
    notify: Notify,
}

impl DispatchBell {
    /// New records are in the commit log.
    pub fn ring(&self) {
        if !self.rung.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// The dispatcher is about to read the log: later appends must ring again.
    fn answer(&self) {
        self.rung.store(false, Ordering::Release);
    }
}

pub type QueueKey = (String, i32);
/// Readers of every consume queue, for pulls.
pub type QueueReaders = Arc<DashMap<QueueKey, ConsumeQueueReader>>;

/// New messages reached a queue: its next offset is now `max_offset`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct MessageArrived {
    pub topic: Arc<str>,
    pub queue_id: i32,
    pub max_offset: i64,
    pub store_timestamp: i64,
}

/// Every record of a round, for plugged-in actors.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Dispatched(pub Arc<Vec<DispatchInfo>>);

/// Dispatch progress, read by the checkpoint and by shutdown.
#[derive(Debug, Default)]
pub struct DispatchProgress {
    pub dispatched_offset: AtomicI64,
    pub last_store_timestamp: AtomicI64,
}

pub struct ReputDispatcher {
    sup: Supervision,
    log: CommitLogReader,
    from: i64,
    config: Arc<StoreConfig>,
    delays: Arc<Vec<i64>>,
    registry: Arc<MetricsRegistry>,
    prefix: String,
    queues: HashMap<QueueKey, Mailbox<ConsumeQueue>>,
    readers: QueueReaders,
    index: Option<Mailbox<IndexService>>,
    arrivals: Vec<Recipient<MessageArrived>>,
    plugins: Vec<Recipient<Dispatched>>,
    /// Notices refused by a full PullHold / plug-in mailbox.
    dropped_arrivals: Arc<AtomicU64>,
    dropped_plugin_records: Arc<AtomicU64>,
    wake: Arc<DispatchBell>,
    progress: Arc<DispatchProgress>,
    queue_arbiter: ArbiterHandle,
    disk: Arc<DiskSpace>,
    busy: bool,
    again: bool,
    /// A round is already due within [`COALESCE`].
    scheduled: bool,
}

/// Everything a dispatcher starts with.
pub struct DispatcherParts {
    pub log: CommitLogReader,
    pub from: i64,
    pub config: Arc<StoreConfig>,
    pub registry: Arc<MetricsRegistry>,
    pub prefix: String,
    pub queues: HashMap<QueueKey, Mailbox<ConsumeQueue>>,
    pub readers: QueueReaders,
    pub index: Option<Mailbox<IndexService>>,
    pub wake: Arc<DispatchBell>,
    pub progress: Arc<DispatchProgress>,
    pub queue_arbiter: ArbiterHandle,
    /// Told when a consume-queue file finds no room, so sends are refused rather than
    /// stored where no consumer can reach them.
    pub disk: Arc<DiskSpace>,
}

/// `rocketmq_dispatch_dropped_total{receiver}`: notices (PullHold) or records (plug-ins)
/// a full receiver did not get.
fn dropped_counter(registry: &MetricsRegistry, receiver: &str) -> Arc<AtomicU64> {
    registry.describe(
        "rocketmq_dispatch_dropped_total",
        "counter",
        "Arrival notices (pull_hold) or dispatched records (plugin) dropped because the receiver's mailbox was full.",
    );
    registry.counter("rocketmq_dispatch_dropped_total", &[("receiver", receiver)])
}

impl ReputDispatcher {
    pub fn new(sup: Supervision, p: DispatcherParts) -> Self {
        p.progress
            .dispatched_offset
            .store(p.from, Ordering::Release);
        let delays = Arc::new(p.config.delay_level_millis());
        let dropped_arrivals = dropped_counter(&p.registry, "pull_hold");
        let dropped_plugin_records = dropped_counter(&p.registry, "plugin");
        ReputDispatcher {
            sup,
            log: p.log,
            from: p.from,
            config: p.config,
            delays,
            registry: p.registry,
            prefix: p.prefix,
            queues: p.queues,
            readers: p.readers,
            index: p.index,
            arrivals: Vec::new(),
            dropped_arrivals,
            dropped_plugin_records,
            plugins: Vec::new(),
            wake: p.wake,
            progress: p.progress,
            queue_arbiter: p.queue_arbiter,
            disk: p.disk,
            busy: false,
            again: false,
            scheduled: false,
        }
    }

    fn queue_actor(&mut self, topic: &str, queue_id: i32) -> StoreResult<Mailbox<ConsumeQueue>> {
        let key = (topic.to_owned(), queue_id);
        if let Some(mb) = self.queues.get(&key) {
            return Ok(mb.clone());
        }
        let mut cq = consume_queue::ConsumeQueue::load(
            &self.config.store_path_root_dir,
            topic,
            queue_id,
            self.config.mapped_file_size_consume_queue,
        )?;
        cq.recover(self.log.max_offset())?;
        self.readers.insert(key.clone(), cq.reader());
        let path = format!("{}/ConsumeQueue/{topic}-{queue_id}", self.prefix);
        let mb = start_supervised(
            &self.registry,
            path,
            super::capacity::CONSUME_QUEUE,
            Some(&self.queue_arbiter),
            move |sup| ConsumeQueue::new(sup, cq),
        );
        self.queues.insert(key, mb.clone());
        Ok(mb)
    }

    fn round(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            self.again = true;
            return;
        }
        self.wake.answer();
        let mut infos = Vec::new();
        let next = self.log.scan(self.from, ROUND_RECORDS, |i| infos.push(i));
        if infos.is_empty() {
            self.from = next;
            self.progress
                .dispatched_offset
                .store(next, Ordering::Release);
            return;
        }
        let delays = self.delays.clone();
        let mut per_queue: BTreeMap<QueueKey, Vec<Unit>> = BTreeMap::new();
        for info in infos.iter().filter(|i| goes_to_consume_queue(i)) {
            per_queue
                .entry((info.topic.clone(), info.queue_id))
                .or_default()
                .push(Unit {
                    queue_offset: info.queue_offset,
                    phys_offset: info.physical_offset,
                    size: info.total_size,
                    tags_code: cq_tags_code(info, |level| {
                        delays.get((level as usize).wrapping_sub(1)).copied()
                    }),
                });
        }
        let mut puts = Vec::with_capacity(per_queue.len());
        let mut arrived = Vec::with_capacity(per_queue.len());
        for (key, units) in per_queue {
            let actor = match self.queue_actor(&key.0, key.1) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(topic = %key.0, queue = key.1, error = %e, "cannot open consume queue; its units wait for the next round");
                    self.schedule_retry(ctx);
                    return;
                }
            };
            if let Some(last) = units.last() {
                arrived.push((key.0.clone(), key.1, last.queue_offset + 1));
            }
            puts.push(actor.addr().send(PutUnits(units)));
        }
        let infos = Arc::new(infos);
        let index = self
            .index
            .as_ref()
            .map(|i| i.addr().send(BuildIndex(infos.clone())));
        let last_ts = infos.last().map(|i| i.store_timestamp).unwrap_or(0);
        self.busy = true;
        let work = async move {
            let cq_results = join_all(puts).await;
            let index_result = match index {
                Some(f) => Some(f.await),
                None => None,
            };
            (cq_results, index_result)
        };
        ctx.spawn(catch_panics(work.into_actor(self).map(
            move |(cq_results, index_result), act, ctx| {
                act.busy = false;
                let failed = cq_results.iter().any(|r| !matches!(r, Ok(Ok(()))));
                let no_room = cq_results.iter().find_map(|r| match r {
                    Ok(Err(StoreError::NoSpace { path, needed, .. })) => {
                        Some((path.clone(), *needed))
                    }
                    _ => None,
                });
                match &index_result {
                    Some(Ok(Err(e))) => {
                        tracing::error!(error = %e, "building the index failed for a round")
                    }
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "the index actor did not answer a round")
                    }
                    _ => {}
                }
                if let Some((path, needed)) = no_room {
                    // Logged once by the disk watch; retried until a file fits.
                    act.disk.no_room(&path, needed);
                    act.schedule_retry(ctx);
                    return;
                }
                if failed {
                    tracing::error!("a consume queue refused units; the round is retried");
                    act.schedule_retry(ctx);
                    return;
                }
                act.from = next;
                act.progress
                    .dispatched_offset
                    .store(next, Ordering::Release);
                act.progress
                    .last_store_timestamp
                    .fetch_max(last_ts, Ordering::AcqRel);
                for (topic, queue_id, max_offset) in arrived {
                    let event = MessageArrived {
                        topic: topic.into(),
                        queue_id,
                        max_offset,
                        store_timestamp: last_ts,
                    };
                    act.arrivals.retain(|r| r.connected());
                    for r in &act.arrivals {
                        if r.try_send(event.clone()).is_err() {
                            act.dropped_arrivals.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                act.plugins.retain(|r| r.connected());
                for p in &act.plugins {
                    if p.try_send(Dispatched(infos.clone())).is_err() {
                        act.dropped_plugin_records
                            .fetch_add(infos.len() as u64, Ordering::Relaxed);
                    }
                }
                if act.again || next < act.log.max_offset() {
                    act.again = false;
                    let metrics = act.sup.metrics.clone();
                    guarded(&metrics, ctx, |ctx| act.round(ctx));
                }
            },
        )));
    }

    fn schedule_retry(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(Duration::from_millis(100), |act, ctx| act.round(ctx));
    }
}

impl Actor for ReputDispatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let wake = self.wake.clone();
        let stream = futures_util::stream::unfold(wake, |w| async move {
            w.notify.notified().await;
            Some(((), w))
        });
        ctx.add_stream(stream);
        ctx.run_interval(Duration::from_millis(100), |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.round(ctx));
        });
    }
}

impl StreamHandler<()> for ReputDispatcher {
    fn handle(&mut self, _: (), ctx: &mut Context<Self>) {
        if self.scheduled {
            return;
        }
        self.scheduled = true;
        ctx.run_later(COALESCE, |act, ctx| {
            act.scheduled = false;
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.round(ctx));
        });
    }

    fn finished(&mut self, _: &mut Context<Self>) {}
}

crate::supervised_actor!(ReputDispatcher, |a: &mut ReputDispatcher| {
    a.busy = false;
    a.scheduled = false;
});
crate::admits!(ReputDispatcher: SubscribeArrivals, SubscribeDispatch, QueueActors);

/// Announce arrivals to `0` (long-polling pulls subscribe here).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscribeArrivals(pub Recipient<MessageArrived>);

impl Handler<SubscribeArrivals> for ReputDispatcher {
    type Result = ();

    fn handle(&mut self, msg: SubscribeArrivals, _: &mut Context<Self>) {
        self.arrivals.push(msg.0);
    }
}

/// Hand every dispatched record to `0` (a plugged-in actor).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscribeDispatch(pub Recipient<Dispatched>);

impl Handler<SubscribeDispatch> for ReputDispatcher {
    type Result = ();

    fn handle(&mut self, msg: SubscribeDispatch, _: &mut Context<Self>) {
        self.plugins.push(msg.0);
    }
}

/// The consume-queue actors, for the cleaner.
#[derive(Message)]
#[rtype(result = "Vec<Mailbox<ConsumeQueue>>")]
pub struct QueueActors;

impl Handler<QueueActors> for ReputDispatcher {
    type Result = Vec<Mailbox<ConsumeQueue>>;

    fn handle(&mut self, _: QueueActors, _: &mut Context<Self>) -> Self::Result {
        self.queues.values().cloned().collect()
    }
}

#[cfg(test)]
mod bell_tests {
    use super::*;

    /// Rings while a round is pending cost no extra wake-up; a ring after the dispatcher
    /// has answered wakes it again.
    #[tokio::test]
    async fn rings_wake_the_dispatcher_once_per_round() {
        let bell = DispatchBell::default();
        let woke = || async {
            tokio::time::timeout(Duration::from_millis(50), bell.notify.notified())
                .await
                .is_ok()
        };
        assert!(!woke().await, "silent until rung");
        bell.ring();
        bell.ring();
        bell.ring();
        assert!(woke().await);
        assert!(!woke().await, "three rings before the round: one wake-up");
        bell.ring();
        assert!(!woke().await, "still unanswered: no new wake-up");
        bell.answer();
        bell.ring();
        assert!(woke().await);
    }
}
