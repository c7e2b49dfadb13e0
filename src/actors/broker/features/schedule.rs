//! Delay levels, as RocketMQ 4.x's ScheduleMessageService does them.
//!
//! A put with `DELAY` = n (1..=levels; larger is capped at the last level) that is not a
//! prepared or rolled-back transaction is rewritten by
//! [`to_schedule_topic`](crate::store::schedule::to_schedule_topic): stored in
//! `SCHEDULE_TOPIC_XXXX` queue n − 1 with `REAL_TOPIC` and `REAL_QID` recording where it
//! belongs. Its consume-queue unit carries the delivery time in place of the tag hash
//! (see `cq_tags_code`). The ScheduleService actor walks each level's queue on a short
//! timer, re-stores every due message on its real topic and queue (without `DELAY`), and
//! keeps its progress in `config/delayOffset.json` (the broker's fastjson form), written
//! every `flushDelayOffsetInterval` and at shutdown. A crash between a delivery and the
//! next write of the file delivers that message again: at least once, never lost.
//!
//! Mailbox: 16 (ticks are timers, not messages; only the shutdown persist is sent).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix::prelude::*;

use super::redeliver::put_all;
use crate::actors::broker::store::StoreHandle;
use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{guarded, Supervision};
use crate::clock::now_millis;
use crate::json_file;
use crate::protocol::body::broker::DelayOffsetWrapper;
use crate::protocol::message::{decode_record_shared, MessageToStore};
use crate::protocol::topic::SCHEDULE_TOPIC;
use crate::store::{schedule, StoreResult};

/// Most messages one level delivers per tick before yielding to the next level.
const BATCH_PER_TICK: usize = 2_000;

/// Loads `config/delayOffset.json` (written by us, or by a 4.9 or 5.x broker).
pub fn load_offsets(root: &Path) -> StoreResult<(BTreeMap<i32, i64>, PathBuf)> {
    let path = root.join("config").join("delayOffset.json");
    let table = json_file::load(&path, |b| {
        DelayOffsetWrapper::decode(b).map_err(|e| e.to_string())
    })?
    .map(|w| w.offset_table)
    .unwrap_or_default();
    Ok((table, path))
}

fn persist_offsets(path: &Path, table: &BTreeMap<i32, i64>) -> StoreResult<()> {
    let w = DelayOffsetWrapper {
        offset_table: table.clone(),
        ..Default::default()
    };
    Ok(json_file::store(path, &w.encode())?)
}

/// Due messages re-stored in one append (records of different topics may share one).
const PUT_BATCH: usize = 64;

/// Delivers one level's due messages from `offset`, in appends of up to `PUT_BATCH` (64)
/// records; returns the offset up to which every message is delivered. A put that failed
/// for a reason that can pass (a restarting writer, say) is retried from the first message
/// not stored on the next tick; a message that can never be stored is dropped
/// ([`put_all`]).
pub async fn deliver_level(store: &StoreHandle, level: i32, mut offset: i64, delay: i64) -> i64 {
    let Some(cq) = store.consume_queue(SCHEDULE_TOPIC, level - 1) else {
        return offset;
    };
    offset = offset.max(cq.min_offset());
    // A batch must fit one commit-log file.
    let byte_cap = (store.config().mapped_file_size_commit_log / 4).min(1 << 20);
    let mut batch = Batch::default();
    let mut bytes = 0usize;
    for _ in 0..BATCH_PER_TICK {
        let Some(unit) = cq.unit(offset) else { break };
        let now = now_millis();
        // A delivery time beyond now + delay means the clock went back: deliver now.
        let due = if unit.tags_code > now + delay {
            now
        } else {
            unit.tags_code
        };
        if due > now {
            break;
        }
        let record = store
            .message_at(unit.phys_offset)
            .map(|raw| decode_record_shared(&raw));
        match record {
            Some(Ok(m)) => match schedule::from_schedule_topic(&m) {
                Some(msg) => {
                    let len = msg.encoded_len();
                    if !batch.msgs.is_empty()
                        && (batch.msgs.len() >= PUT_BATCH || bytes + len > byte_cap)
                    {
                        if let Err(stopped_at) = batch.put(store, level).await {
                            return stopped_at;
                        }
                        bytes = 0;
                    }
                    bytes += len;
                    batch.msgs.push(msg);
                    batch.offsets.push(offset);
                }
                None => tracing::warn!(
                    level,
                    offset,
                    "scheduled message without REAL_TOPIC skipped"
                ),
            },
            Some(Err(e)) => {
                tracing::warn!(level, offset, error = %e, "undecodable scheduled record skipped")
            }
            None => tracing::warn!(
                level,
                offset,
                "scheduled record no longer in the commit log; skipped"
            ),
        }
        offset += 1;
    }
    match batch.put(store, level).await {
        Ok(()) => offset,
        Err(stopped_at) => stopped_at,
    }
}

/// Due messages gathered for one append, with the queue offset each came from.
#[derive(Default)]
struct Batch {
    msgs: Vec<MessageToStore>,
    offsets: Vec<i64>,
}

impl Batch {
    /// Stores and empties the batch; `Err` holds the queue offset of the first message
    /// not stored, where the next tick starts again.
    async fn put(&mut self, store: &StoreHandle, level: i32) -> Result<(), i64> {
        let (done, failure) = put_all(store, &self.msgs, PUT_BATCH).await;
        let stopped_at = self.offsets.get(done).copied();
        self.msgs.clear();
        self.offsets.clear();
        match (failure, stopped_at) {
            (Some(e), Some(at)) => {
                tracing::warn!(level, error = %e, "delivering scheduled messages failed; retrying next tick");
                Err(at)
            }
            _ => Ok(()),
        }
    }
}

/// Walks the delay levels' queues and delivers what is due.
pub struct ScheduleService {
    sup: Supervision,
    store: StoreHandle,
    delays: Vec<i64>,
    offsets: BTreeMap<i32, i64>,
    path: PathBuf,
    tick: Duration,
    flush_every: Duration,
    running: bool,
    /// Set at broker shutdown: no more deliveries.
    stopped: bool,
}

impl ScheduleService {
    pub fn new(
        sup: Supervision,
        store: StoreHandle,
        offsets: BTreeMap<i32, i64>,
        path: PathBuf,
        tick: Duration,
        flush_every: Duration,
    ) -> Self {
        let delays = store.config().delay_level_millis();
        ScheduleService {
            sup,
            store,
            delays,
            offsets,
            path,
            tick,
            flush_every,
            running: false,
            stopped: false,
        }
    }

    fn deliver(&mut self, ctx: &mut Context<Self>) {
        if self.running || self.stopped {
            return;
        }
        self.running = true;
        let (store, delays, mut offsets) = (
            self.store.clone(),
            self.delays.clone(),
            self.offsets.clone(),
        );
        ctx.spawn(catch_panics(
            async move {
                for (i, delay) in delays.iter().enumerate() {
                    let level = i as i32 + 1;
                    let from = offsets.get(&level).copied().unwrap_or(0);
                    let to = deliver_level(&store, level, from, *delay).await;
                    if to != from || offsets.contains_key(&level) {
                        offsets.insert(level, to);
                    }
                }
                offsets
            }
            .into_actor(self)
            .map(|offsets, act, _| {
                act.offsets = offsets;
                act.running = false;
            }),
        ));
    }

    fn persist(&self) {
        if let Err(e) = persist_offsets(&self.path, &self.offsets) {
            tracing::error!(error = %e, "persisting delayOffset.json failed");
        }
    }

    /// The timer's write, off the event loop.
    fn persist_in_background(&self, ctx: &mut Context<Self>) {
        let (path, table) = (self.path.clone(), self.offsets.clone());
        ctx.spawn(catch_panics(
            async move {
                match tokio::task::spawn_blocking(move || persist_offsets(&path, &table)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "persisting delayOffset.json failed"),
                    Err(e) => tracing::error!(error = %e, "delay offset writer failed"),
                }
            }
            .into_actor(self),
        ));
    }
}

impl Actor for ScheduleService {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.tick, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.deliver(ctx));
        });
        ctx.run_interval(self.flush_every, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.persist_in_background(ctx));
        });
    }
}

crate::supervised_actor!(ScheduleService);
crate::admits!(ScheduleService: PersistDelayOffsets, DelayOffsets);

/// Broker shutdown: stop delivering and write delayOffset.json now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PersistDelayOffsets;

impl Handler<PersistDelayOffsets> for ScheduleService {
    type Result = ();
    fn handle(&mut self, _: PersistDelayOffsets, _: &mut Context<Self>) {
        self.stopped = true;
        self.persist();
    }
}

/// The current progress table (GET_ALL_DELAY_OFFSET).
#[derive(Message)]
#[rtype(result = "BTreeMap<i32, i64>")]
pub struct DelayOffsets;

impl Handler<DelayOffsets> for ScheduleService {
    type Result = Response<BTreeMap<i32, i64>>;
    fn handle(&mut self, _: DelayOffsets, _: &mut Context<Self>) -> Self::Result {
        Response::reply(self.offsets.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_through_delay_offset_json() {
        let dir = tempfile::tempdir().unwrap();
        let (t, path) = load_offsets(dir.path()).unwrap();
        assert!(t.is_empty());
        let table: BTreeMap<i32, i64> = [(1, 5), (3, 9)].into_iter().collect();
        persist_offsets(&path, &table).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("1:5"), "{text}");
        assert_eq!(load_offsets(dir.path()).unwrap().0, table);
    }
}
