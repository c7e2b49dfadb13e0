//! TimerWheelService: the actor shell around [`TimerStore`] (RocketMQ 5.x's
//! TimerMessageStore threads, folded into one actor).
//!
//! Every tick (a tenth of `timerPrecisionMs`, 10..100 ms) one step runs as a spawned
//! future, never two at once: it links new records of `rmq_sys_wheel_timer` queue 0 into
//! the wheel (at most [`ENQUEUE_BATCH`] a step), then delivers due slots, oldest first,
//! re-storing their messages on the real topic (or back on the timer topic, to roll) in
//! puts of [`PUT_BATCH`] messages. File work (reading the consume queue, commit log, timer
//! log, wheel; appending units) runs on `spawn_blocking`; only the puts are awaited on the
//! actor's thread. A slot counts as delivered only when all of its messages are stored; a
//! put that fails for a transient reason (busy writer, shutdown) is retried next tick from
//! the first message not yet stored. The timer log, wheel and `config/timercheck` are
//! written every `timerFlushIntervalMs` and at shutdown, after the step in flight ends, so
//! a clean restart delivers nothing twice; after a crash the slots delivered since the last
//! checkpoint are delivered again (at least once, none lost). After each periodic
//! checkpoint, on the same blocking thread, the timer-log files whose units are all before
//! its read time are deleted (at most [`DELETE_FILES_PER_PASS`] files and
//! [`SCANS_PER_PASS`] scans of files found at start a pass).
//!
//! Mailbox: 16. Ticks are timers, not messages; only the shutdown persist is sent, and
//! with `addr().send`, which waits rather than fails when full.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::redeliver::put_all;
use crate::actors::broker::store::{PutError, StoreHandle};
use crate::actors::metrics::MetricsRegistry;
use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{guarded, Supervision};
use crate::clock::now_millis;
use crate::store::timer::{messages_for, TimerStore, TIMER_TOPIC};
use crate::store::{StoreError, StoreResult};

/// Most timer-topic records linked per step.
pub const ENQUEUE_BATCH: usize = 4_096;
/// Messages re-stored per put.
pub const PUT_BATCH: usize = 64;
/// Most due slots delivered per step, so a shutdown waits for at most this many.
const SLOTS_PER_STEP: usize = 16;
/// Most slots looked at per step while passing empty ones (after a long stop the read time
/// catches up at about this many seconds of wheel per tick).
const SCAN_PER_STEP: usize = 100_000;
/// Most timer-log files deleted per persist (each an unlink of a mapped file).
pub const DELETE_FILES_PER_PASS: usize = 16;
/// Most timer-log files found at start scanned per persist to learn whether their units
/// are delivered (a 100 MiB file is about two million units).
pub const SCANS_PER_PASS: usize = 1;
/// The longest a shutdown waits for the step in flight before persisting what it has.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// The shared timer store: held by one step at a time, or by a flush.
pub type SharedTimerStore = Arc<Mutex<TimerStore>>;

/// Counters the metrics endpoint shows.
#[derive(Clone)]
struct Counters {
    enqueued: Arc<AtomicU64>,
    delivered: Arc<AtomicU64>,
    rolled: Arc<AtomicU64>,
}

/// Delivers timer messages when they are due.
pub struct TimerWheelService {
    sup: Supervision,
    store: StoreHandle,
    timer: SharedTimerStore,
    tick: Duration,
    flush_every: Duration,
    counters: Counters,
    running: bool,
    /// Set at broker shutdown: no more steps.
    stopped: bool,
}

impl TimerWheelService {
    pub fn new(
        sup: Supervision,
        store: StoreHandle,
        timer: SharedTimerStore,
        registry: &MetricsRegistry,
    ) -> Self {
        let cfg = store.config();
        let tick = Duration::from_millis((cfg.timer_precision_ms / 10).clamp(10, 100));
        let flush_every = Duration::from_millis(cfg.timer_flush_interval_ms);
        let counters = Counters {
            enqueued: registry.counter("rocketmq_timer_enqueue_total", &[]),
            delivered: registry.counter("rocketmq_timer_dequeue_total", &[]),
            rolled: registry.counter("rocketmq_timer_roll_total", &[]),
        };
        TimerWheelService {
            sup,
            store,
            timer,
            tick,
            flush_every,
            counters,
            running: false,
            stopped: false,
        }
    }

    fn step(&mut self, ctx: &mut Context<Self>) {
        if self.running || self.stopped {
            return;
        }
        self.running = true;
        let (store, timer, counters) = (
            self.store.clone(),
            self.timer.clone(),
            self.counters.clone(),
        );
        ctx.spawn(catch_panics(
            async move {
                let guard = timer.lock_owned().await;
                if let Err(e) = run_step(&store, guard, &counters).await {
                    tracing::warn!(error = %e, "timer step failed; retrying next tick");
                }
            }
            .into_actor(self)
            .map(|_, act, _| act.running = false),
        ));
    }

    /// Writes the checkpoint, then deletes the timer-log files it makes unnecessary.
    fn persist_in_background(&self, ctx: &mut Context<Self>) {
        let timer = self.timer.clone();
        ctx.spawn(catch_panics(
            async move {
                let done = blocking(timer.lock_owned().await, |t| {
                    t.flush(now_millis())?;
                    t.delete_delivered_files(DELETE_FILES_PER_PASS, SCANS_PER_PASS)
                })
                .await;
                match done {
                    Ok((_, Ok(0))) => {}
                    Ok((_, Ok(n))) => {
                        tracing::info!(files = n, "delivered timer-log files deleted")
                    }
                    Ok((_, Err(e))) | Err(e) => {
                        tracing::error!(error = %e, "persisting the timer store failed")
                    }
                }
            }
            .into_actor(self),
        ));
    }
}

/// Runs `f` on the guarded store on a blocking thread and hands the guard back.
async fn blocking<T: Send + 'static>(
    guard: OwnedMutexGuard<TimerStore>,
    f: impl FnOnce(&mut TimerStore) -> T + Send + 'static,
) -> StoreResult<(OwnedMutexGuard<TimerStore>, T)> {
    tokio::task::spawn_blocking(move || {
        let mut g = guard;
        let out = f(&mut g);
        (g, out)
    })
    .await
    .map_err(|e| StoreError::Unavailable(format!("the timer thread ({e})")))
}

async fn persist(guard: OwnedMutexGuard<TimerStore>) -> StoreResult<()> {
    let (_, r) = blocking(guard, |t| t.flush(now_millis()).map(|_| ())).await?;
    r
}

/// One step: link new records, deliver what they made due at once, then due slots.
async fn run_step(
    store: &StoreHandle,
    guard: OwnedMutexGuard<TimerStore>,
    counters: &Counters,
) -> Result<(), PutError> {
    let log = store.commit_log().clone();
    let cq = store.consume_queue(TIMER_TOPIC, 0);
    let now = now_millis();
    let (guard, linked) = {
        let log = log.clone();
        blocking(guard, move |t| {
            let Some(cq) = cq else {
                return Ok((0, Vec::new()));
            };
            let before = t.queue_offset();
            let due = t.enqueue_from(&cq, &log, now, ENQUEUE_BATCH)?;
            Ok::<_, StoreError>((t.queue_offset() - before, messages_for(&due, &log, now)))
        })
        .await?
    };
    let (count, late) = linked?;
    counters.enqueued.fetch_add(count as u64, Ordering::Relaxed);
    // Records whose slot had passed: those a failed put leaves over go first next step, and
    // until then neither the checkpoint nor the timer log moves past them.
    let mut guard = guard;
    guard.late.extend(late);
    if !guard.late.is_empty() {
        let (done, err) = put_all(store, &guard.late, PUT_BATCH).await;
        counters.delivered.fetch_add(done as u64, Ordering::Relaxed);
        guard.late.drain(..done);
        if let Some(e) = err {
            return Err(e);
        }
    }
    for _ in 0..SLOTS_PER_STEP {
        let now = now_millis();
        let log = log.clone();
        let (g, due) = blocking(guard, move |t| {
            t.next_due(now, SCAN_PER_STEP).map(|(slot, units)| {
                let skip = match t.resume {
                    Some((s, n)) if s == slot => n,
                    _ => 0,
                };
                (slot, skip, messages_for(&units, &log, now))
            })
        })
        .await?;
        guard = g;
        let Some((slot, skip, msgs)) = due else {
            break;
        };
        let todo = msgs.get(skip..).unwrap_or_default();
        let (done, err) = put_all(store, todo, PUT_BATCH).await;
        let rolled = todo[..done]
            .iter()
            .filter(|m| m.topic == TIMER_TOPIC)
            .count();
        counters.rolled.fetch_add(rolled as u64, Ordering::Relaxed);
        counters
            .delivered
            .fetch_add((done - rolled) as u64, Ordering::Relaxed);
        if let Some(e) = err {
            guard.resume = Some((slot, skip + done));
            return Err(e);
        }
        guard.advance_past(slot);
    }
    Ok(())
}

impl Actor for TimerWheelService {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.tick, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.step(ctx));
        });
        ctx.run_interval(self.flush_every, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.persist_in_background(ctx));
        });
    }
}

crate::supervised_actor!(TimerWheelService);
crate::admits!(TimerWheelService: PersistTimer);

/// Broker shutdown: stop stepping, wait (bounded) for the step in flight, then flush the
/// timer log and wheel and write `config/timercheck`.
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct PersistTimer;

impl Handler<PersistTimer> for TimerWheelService {
    type Result = ResponseFuture<StoreResult<()>>;
    fn handle(&mut self, _: PersistTimer, _: &mut Context<Self>) -> Self::Result {
        self.stopped = true;
        let timer = self.timer.clone();
        Box::pin(async move {
            match tokio::time::timeout(SHUTDOWN_WAIT, timer.lock_owned()).await {
                Ok(guard) => persist(guard).await,
                Err(_) => Err(StoreError::Busy(
                    "the timer step in flight did not end; the last checkpoint stands".into(),
                )),
            }
        })
    }
}
