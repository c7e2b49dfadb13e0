//! QueueLockManager: the broker's half of orderly consumption (RocketMQ's
//! `RebalanceLockManager`). An orderly consumer locks the queues rebalancing gave it with
//! LOCK_BATCH_MQ before it consumes them, re-locks every 20 s, and releases them with
//! UNLOCK_BATCH_MQ; a queue is locked for one client of a group at a time, so two consumers
//! never process the same queue at once while the group rebalances. A lock that is not
//! renewed within its lifetime (60 s, `rebalanceLockMaxLiveTime`) counts as free, so a
//! consumer that died without unlocking blocks its queues for at most that long.
//!
//! [`LockTable`] is the table as plain data with time passed in; [`QueueLockManager`] is the
//! thin actor that owns one and is the only one to touch it. Requests arrive as
//! [`TryLockBatch`] and [`UnlockBatch`] from the lock processor; the send path asks
//! [`HoldsLocks`] when it decides whether a group's retry goes to its dead-letter queue.
//! Expired locks are dropped by a sweep once per lifetime; RocketMQ keeps them forever, but
//! an expired lock behaves exactly like an absent one, so dropping them only bounds memory.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::actors::runtime::{guarded, ActorError, Supervision};
use crate::protocol::body::broker::MessageQueue;

/// The sweep never runs more often than this, however short the lifetime.
const MIN_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct LockEntry {
    client_id: String,
    last_update: Instant,
}

impl LockEntry {
    /// RocketMQ compares with `>`: a lock exactly one lifetime old still holds.
    fn expired(&self, now: Instant, max_live_time: Duration) -> bool {
        now.saturating_duration_since(self.last_update) > max_live_time
    }
}

/// Queue locks per consumer group: group → queue → (holder's client id, last renewal).
#[derive(Debug)]
pub struct LockTable {
    max_live_time: Duration,
    groups: HashMap<String, HashMap<MessageQueue, LockEntry>>,
}

impl LockTable {
    pub fn new(max_live_time: Duration) -> Self {
        LockTable {
            max_live_time,
            groups: HashMap::new(),
        }
    }

    /// Locks `queues` of `group` for `client_id` and answers the queues it now holds: those
    /// it held already (renewed), free ones, and ones whose holder let the lock expire.
    /// Queues another client holds unexpired are left alone and not answered.
    pub fn try_lock_batch(
        &mut self,
        group: &str,
        client_id: &str,
        queues: impl IntoIterator<Item = MessageQueue>,
        now: Instant,
    ) -> BTreeSet<MessageQueue> {
        let max_live_time = self.max_live_time;
        let mut locked = BTreeSet::new();
        let mut queues = queues.into_iter().peekable();
        if queues.peek().is_none() {
            return locked;
        }
        let table = self.groups.entry(group.to_owned()).or_default();
        for queue in queues {
            match table.entry(queue) {
                Entry::Vacant(free) => {
                    locked.insert(free.key().clone());
                    free.insert(LockEntry {
                        client_id: client_id.to_owned(),
                        last_update: now,
                    });
                }
                Entry::Occupied(mut held) => {
                    let entry = held.get();
                    let taken_over = entry.client_id != client_id;
                    if taken_over {
                        if !entry.expired(now, max_live_time) {
                            tracing::debug!(
                                group,
                                queue = ?held.key(),
                                holder = %entry.client_id,
                                client_id,
                                "queue locked by another client"
                            );
                            continue;
                        }
                        tracing::info!(
                            group,
                            queue = ?held.key(),
                            old_holder = %entry.client_id,
                            client_id,
                            "queue lock expired; the new client takes it"
                        );
                    }
                    locked.insert(held.key().clone());
                    let entry = held.get_mut();
                    if taken_over {
                        entry.client_id = client_id.to_owned();
                    }
                    entry.last_update = now;
                }
            }
        }
        locked
    }

    /// Releases the locks `client_id` holds on `queues` of `group`; locks held by other
    /// clients stay.
    pub fn unlock_batch(
        &mut self,
        group: &str,
        client_id: &str,
        queues: impl IntoIterator<Item = MessageQueue>,
    ) {
        let Some(table) = self.groups.get_mut(group) else {
            return;
        };
        for queue in queues {
            match table.get(&queue) {
                Some(entry) if entry.client_id == client_id => {
                    table.remove(&queue);
                }
                Some(entry) => tracing::debug!(
                    group,
                    ?queue,
                    holder = %entry.client_id,
                    client_id,
                    "unlock of a queue locked by another client ignored"
                ),
                None => {}
            }
        }
        if table.is_empty() {
            self.groups.remove(group);
        }
    }

    /// Whether any queue of `group` is locked (by anyone) and not expired: RocketMQ's
    /// `!isLockAllExpired(group)`.
    pub fn holds_locks(&self, group: &str, now: Instant) -> bool {
        self.groups
            .get(group)
            .is_some_and(|table| table.values().any(|e| !e.expired(now, self.max_live_time)))
    }

    /// Drops expired locks and groups left without locks; answers how many locks went.
    pub fn remove_expired(&mut self, now: Instant) -> usize {
        let max_live_time = self.max_live_time;
        let mut removed = 0;
        self.groups.retain(|_, table| {
            let before = table.len();
            table.retain(|_, e| !e.expired(now, max_live_time));
            removed += before - table.len();
            !table.is_empty()
        });
        removed
    }
}

/// The actor that owns the broker's [`LockTable`].
pub struct QueueLockManager {
    sup: Supervision,
    table: LockTable,
}

impl QueueLockManager {
    /// `max_live_time`: how long a lock lasts without renewal.
    pub fn new(sup: Supervision, max_live_time: Duration) -> Self {
        QueueLockManager {
            sup,
            table: LockTable::new(max_live_time),
        }
    }

    fn panicked(&self) -> ActorError {
        ActorError::Panicked(self.sup.metrics.path().to_owned())
    }
}

impl Actor for QueueLockManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let every = self.table.max_live_time.max(MIN_SWEEP_INTERVAL);
        ctx.run_interval(every, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |_| {
                let dropped = act.table.remove_expired(Instant::now());
                if dropped > 0 {
                    tracing::debug!(dropped, "expired queue locks dropped");
                }
            });
        });
    }
}

// The lock table is kept across a restart: wiping it would let a second consumer take
// queues whose holder is still consuming them.
crate::supervised_actor!(QueueLockManager);
crate::admits!(QueueLockManager: TryLockBatch, UnlockBatch, HoldsLocks);

/// LOCK_BATCH_MQ: lock `queues` of `group` for `client_id`; answers the queues now locked
/// by this client.
#[derive(Debug, Message)]
#[rtype(result = "Result<BTreeSet<MessageQueue>, ActorError>")]
pub struct TryLockBatch {
    pub group: String,
    pub client_id: String,
    pub queues: Vec<MessageQueue>,
}

impl Handler<TryLockBatch> for QueueLockManager {
    type Result = Result<BTreeSet<MessageQueue>, ActorError>;
    fn handle(&mut self, m: TryLockBatch, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            self.table
                .try_lock_batch(&m.group, &m.client_id, m.queues, Instant::now())
        })
        .ok_or_else(|| self.panicked())
    }
}

/// UNLOCK_BATCH_MQ: release the locks `client_id` holds on `queues` of `group`.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), ActorError>")]
pub struct UnlockBatch {
    pub group: String,
    pub client_id: String,
    pub queues: Vec<MessageQueue>,
}

impl Handler<UnlockBatch> for QueueLockManager {
    type Result = Result<(), ActorError>;
    fn handle(&mut self, m: UnlockBatch, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            self.table.unlock_batch(&m.group, &m.client_id, m.queues)
        })
        .ok_or_else(|| self.panicked())
    }
}

/// Whether `group` holds any unexpired queue lock, i.e. consumes orderly right now.
#[derive(Debug, Message)]
#[rtype(result = "Result<bool, ActorError>")]
pub struct HoldsLocks {
    pub group: String,
}

impl Handler<HoldsLocks> for QueueLockManager {
    type Result = Result<bool, ActorError>;
    fn handle(&mut self, m: HoldsLocks, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            self.table.holds_locks(&m.group, Instant::now())
        })
        .ok_or_else(|| self.panicked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::metrics::MetricsRegistry;
    use crate::actors::runtime::{start_supervised, InjectPanic};

    const LIFE: Duration = Duration::from_secs(60);

    fn q(id: i32) -> MessageQueue {
        MessageQueue::new("T", "broker-a", id)
    }

    fn qs(ids: &[i32]) -> Vec<MessageQueue> {
        ids.iter().copied().map(q).collect()
    }

    fn set(ids: &[i32]) -> BTreeSet<MessageQueue> {
        qs(ids).into_iter().collect()
    }

    #[test]
    fn a_second_client_gets_only_the_free_queues() {
        let t0 = Instant::now();
        let mut t = LockTable::new(LIFE);
        assert_eq!(t.try_lock_batch("g", "c1", qs(&[0, 1]), t0), set(&[0, 1]));
        assert_eq!(
            t.try_lock_batch("g", "c2", qs(&[1, 2, 3]), t0),
            set(&[2, 3])
        );
        assert_eq!(
            t.try_lock_batch("other", "c2", qs(&[0, 1]), t0),
            set(&[0, 1]),
            "groups lock independently"
        );
    }

    #[test]
    fn the_holder_renews_and_keeps_its_queues_past_the_first_lifetime() {
        let t0 = Instant::now();
        let mut t = LockTable::new(LIFE);
        t.try_lock_batch("g", "c1", qs(&[0]), t0);
        let renewed = t0 + Duration::from_secs(50);
        assert_eq!(t.try_lock_batch("g", "c1", qs(&[0]), renewed), set(&[0]));
        let later = t0 + Duration::from_secs(100);
        assert!(t.try_lock_batch("g", "c2", qs(&[0]), later).is_empty());
        assert!(t.holds_locks("g", later));
    }

    #[test]
    fn a_lock_expires_only_after_its_full_lifetime() {
        let t0 = Instant::now();
        let mut t = LockTable::new(LIFE);
        t.try_lock_batch("g", "c1", qs(&[0]), t0);
        assert!(
            t.try_lock_batch("g", "c2", qs(&[0]), t0 + LIFE).is_empty(),
            "exactly the lifetime is not yet expired (RocketMQ compares with >)"
        );
        let after = t0 + LIFE + Duration::from_millis(1);
        assert_eq!(t.try_lock_batch("g", "c2", qs(&[0]), after), set(&[0]));
        assert!(t
            .try_lock_batch("g", "c1", qs(&[0]), after + Duration::from_secs(1))
            .is_empty());
    }

    #[test]
    fn a_holder_whose_lock_expired_gets_it_back_when_nobody_took_it() {
        let t0 = Instant::now();
        let mut t = LockTable::new(LIFE);
        t.try_lock_batch("g", "c1", qs(&[0]), t0);
        let late = t0 + LIFE * 2;
        assert!(!t.holds_locks("g", late));
        assert_eq!(t.try_lock_batch("g", "c1", qs(&[0]), late), set(&[0]));
        assert!(t.holds_locks("g", late));
    }

    #[test]
    fn only_the_holder_can_unlock() {
        let t0 = Instant::now();
        let mut t = LockTable::new(LIFE);
        t.try_lock_batch("g", "c1", qs(&[0, 1]), t0);
        t.unlock_batch("g", "c2", qs(&[0, 1]));
        assert!(t.try_lock_batch("g", "c2", qs(&[0, 1]), t0).is_empty());
        t.unlock_batch("g", "c1", qs(&[0, 5]));
        assert_eq!(t.try_lock_batch("g", "c2", qs(&[0, 1]), t0), set(&[0]));
        t.unlock_batch("nobody", "c1", qs(&[0]));
    }

    #[test]
    fn holds_locks_sees_only_unexpired_locks() {
        let t0 = Instant::now();
        let mut t = LockTable::new(LIFE);
        assert!(!t.holds_locks("g", t0));
        t.try_lock_batch("g", "c1", qs(&[0]), t0);
        assert!(t.holds_locks("g", t0 + LIFE));
        assert!(!t.holds_locks("g", t0 + LIFE + Duration::from_millis(1)));
        assert!(!t.holds_locks("other", t0));
        t.unlock_batch("g", "c1", qs(&[0]));
        assert!(!t.holds_locks("g", t0));
    }

    #[test]
    fn the_sweep_drops_expired_locks_and_empty_groups() {
        let t0 = Instant::now();
        let mut t = LockTable::new(LIFE);
        t.try_lock_batch("g", "c1", qs(&[0, 1]), t0);
        t.try_lock_batch("h", "c1", qs(&[0]), t0 + Duration::from_secs(30));
        assert_eq!(t.remove_expired(t0 + LIFE + Duration::from_secs(1)), 2);
        assert!(!t.groups.contains_key("g"));
        assert!(t.holds_locks("h", t0 + LIFE + Duration::from_secs(1)));
        assert!(t.try_lock_batch("g", "c1", Vec::new(), t0).is_empty());
        assert!(
            !t.groups.contains_key("g"),
            "an empty request creates no group"
        );
    }

    #[actix_rt::test]
    async fn locks_survive_a_restart_of_the_actor() {
        let reg = MetricsRegistry::new();
        let mb = start_supervised(&reg, "test/QueueLockManager", 16, None, |sup| {
            QueueLockManager::new(sup, LIFE)
        });
        let lock = |client: &str, ids: &[i32]| TryLockBatch {
            group: "g".into(),
            client_id: client.into(),
            queues: qs(ids),
        };
        assert_eq!(mb.ask(lock("c1", &[0, 1])).await.unwrap(), Ok(set(&[0, 1])));
        mb.tell(InjectPanic).unwrap();
        assert_eq!(mb.ask(lock("c2", &[1, 2])).await.unwrap(), Ok(set(&[2])));
        assert_eq!(
            mb.ask(HoldsLocks { group: "g".into() }).await.unwrap(),
            Ok(true)
        );
        assert_eq!(mb.metrics().restarts(), 1);
    }
}
