//! Master/slave replication on RocketMQ's classic HA protocol ([`crate::protocol::ha`]):
//!
//! ```text
//! master                                   slave
//!   HAService (listens on haListenPort)      HAClient ── connects to haMasterAddress or
//!     └─ HAConnection × slaves  <─────────────────────── the name server's haServerAddr
//!   ReplicaState: acks, SYNC_MASTER waiters   SlaveSynchronize (metadata every 10 s)
//! ```
//!
//! The master's HAConnection streams commit-log bytes read off the event loop; the
//! slave's HAClient appends them through its own CommitLogWriter, so its ReputDispatcher
//! builds the same consume queues and index. [`ReplicaState`] is what the send path sees:
//! whether a slave is fit to wait for, and the SYNC_MASTER waiters, grouped like group
//! commit (one ack answers every send whose bytes it covers).

pub mod client;
pub mod connection;
pub mod service;
pub mod slave_sync;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::config::{BrokerConfig, BrokerRole};
use crate::actors::metrics::MetricsRegistry;

/// HA timings and limits, from the broker's configuration.
#[derive(Debug, Clone)]
pub struct HaSettings {
    pub transfer_batch_size: usize,
    pub heartbeat_interval: Duration,
    pub housekeeping_interval: Duration,
    pub slave_fallbehind_max: i64,
    pub slave_timeout: Duration,
}

impl HaSettings {
    pub fn of(c: &BrokerConfig) -> Self {
        HaSettings {
            transfer_batch_size: c.ha_transfer_batch_size.max(1),
            heartbeat_interval: Duration::from_millis(c.ha_send_heartbeat_interval.max(1)),
            housekeeping_interval: Duration::from_millis(c.ha_housekeeping_interval.max(1)),
            slave_fallbehind_max: c.ha_slave_fallbehind_max,
            slave_timeout: Duration::from_millis(c.slave_timeout.max(1)),
        }
    }
}

/// How a send's replication turned out (Java's replica PutMessageStatus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaOutcome {
    Acked,
    /// No slave connected, or the best one is more than haSlaveFallbehindMax behind.
    SlaveNotAvailable,
    /// No slave acknowledged the bytes within slaveTimeout.
    FlushSlaveTimeout,
}

type Waiter = (i64, oneshot::Sender<()>);

/// The master's view of its slaves, shared by the HA connections and the send path.
pub struct ReplicaState {
    role: BrokerRole,
    settings: HaSettings,
    /// Java's push2SlaveMaxOffset: the furthest offset any slave has acknowledged.
    acked: AtomicI64,
    connections: Arc<AtomicI64>,
    behind: Arc<AtomicI64>,
    waiters: Mutex<Vec<Waiter>>,
    rounds: Arc<AtomicU64>,
    answered: Arc<AtomicU64>,
    not_available: Arc<AtomicU64>,
    timeouts: Arc<AtomicU64>,
}

impl ReplicaState {
    pub fn new(role: BrokerRole, settings: HaSettings, registry: &MetricsRegistry) -> Arc<Self> {
        registry.describe(
            "rocketmq_ha_connected_slaves",
            "gauge",
            "Slaves connected to this master's HAService.",
        );
        registry.describe(
            "rocketmq_ha_slave_behind_bytes",
            "gauge",
            "Commit-log bytes the most advanced slave has not acknowledged yet.",
        );
        registry.describe(
            "rocketmq_ha_ack_rounds_total",
            "counter",
            "Slave acknowledgements that answered SYNC_MASTER sends; answered_total / rounds_total is the sends per ack.",
        );
        registry.describe(
            "rocketmq_ha_sync_answered_total",
            "counter",
            "SYNC_MASTER sends answered by a slave acknowledgement.",
        );
        Arc::new(ReplicaState {
            role,
            settings,
            acked: AtomicI64::new(0),
            connections: registry.gauge("rocketmq_ha_connected_slaves", &[]),
            behind: registry.gauge("rocketmq_ha_slave_behind_bytes", &[]),
            waiters: Mutex::new(Vec::new()),
            rounds: registry.counter("rocketmq_ha_ack_rounds_total", &[]),
            answered: registry.counter("rocketmq_ha_sync_answered_total", &[]),
            not_available: registry.counter("rocketmq_ha_slave_not_available_total", &[]),
            timeouts: registry.counter("rocketmq_ha_flush_slave_timeout_total", &[]),
        })
    }

    pub fn role(&self) -> BrokerRole {
        self.role
    }

    pub fn settings(&self) -> &HaSettings {
        &self.settings
    }

    /// The furthest offset a slave has acknowledged.
    pub fn acked(&self) -> i64 {
        self.acked.load(Ordering::Acquire)
    }

    pub fn connected_slaves(&self) -> i64 {
        self.connections.load(Ordering::Acquire)
    }

    pub(crate) fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn connection_closed(&self) {
        self.connections.fetch_sub(1, Ordering::AcqRel);
    }

    /// Publishes how far the best slave is behind `master_end`.
    pub fn observe_behind(&self, master_end: i64) {
        self.behind
            .store((master_end - self.acked()).max(0), Ordering::Relaxed);
    }

    /// Java's isSlaveOK: a slave is connected and within haSlaveFallbehindMax of
    /// `master_end`.
    pub fn slave_ok(&self, master_end: i64) -> bool {
        self.connected_slaves() > 0
            && master_end - self.acked() < self.settings.slave_fallbehind_max
    }

    /// A slave reports it holds everything below `offset`: every waiter it covers is
    /// answered in this one round.
    pub fn on_ack(&self, offset: i64) {
        let before = self.acked.fetch_max(offset, Ordering::AcqRel);
        if offset <= before {
            return;
        }
        let done: Vec<Waiter> = match self.waiters.lock() {
            Ok(mut w) => {
                let (done, keep) = std::mem::take(&mut *w)
                    .into_iter()
                    .partition(|(end, _)| *end <= offset);
                *w = keep;
                done
            }
            Err(_) => Vec::new(),
        };
        if done.is_empty() {
            return;
        }
        self.rounds.fetch_add(1, Ordering::Relaxed);
        self.answered
            .fetch_add(done.len() as u64, Ordering::Relaxed);
        for (_, tx) in done {
            let _ = tx.send(());
        }
    }

    /// SYNC_MASTER: waits until a slave holds the bytes below `end`, at most slaveTimeout.
    pub async fn wait_replicated(&self, end: i64) -> ReplicaOutcome {
        if !self.slave_ok(end) {
            self.not_available.fetch_add(1, Ordering::Relaxed);
            return ReplicaOutcome::SlaveNotAvailable;
        }
        let rx = {
            let Ok(mut w) = self.waiters.lock() else {
                return ReplicaOutcome::FlushSlaveTimeout;
            };
            // Checked under the lock an ack takes: an ack either came before (seen here)
            // or answers this waiter.
            if self.acked() >= end {
                return ReplicaOutcome::Acked;
            }
            let (tx, rx) = oneshot::channel();
            w.push((end, tx));
            rx
        };
        match tokio::time::timeout(self.settings.slave_timeout, rx).await {
            Ok(Ok(())) => ReplicaOutcome::Acked,
            _ => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
                self.forget_expired();
                ReplicaOutcome::FlushSlaveTimeout
            }
        }
    }

    /// Drops waiters whose sender side is gone (timed out), so a master whose slave
    /// never acks does not collect them.
    fn forget_expired(&self) {
        if let Ok(mut w) = self.waiters.lock() {
            w.retain(|(_, tx)| !tx.is_closed());
        }
    }
}

/// Where a slave finds its master: haMasterAddress from the configuration, or what the
/// name server answered to REGISTER_BROKER (haServerAddr and masterAddr).
#[derive(Debug, Default)]
pub struct MasterAddrs {
    ha: Mutex<Option<String>>,
    broker: Mutex<Option<String>>,
    fixed_ha: Option<String>,
}

impl MasterAddrs {
    pub fn new(fixed_ha: Option<String>) -> Arc<Self> {
        Arc::new(MasterAddrs {
            fixed_ha: fixed_ha.filter(|a| !a.is_empty()),
            ..Default::default()
        })
    }

    /// The name server's answer to a registration.
    pub fn learned(&self, ha: Option<String>, broker: Option<String>) {
        if let (Some(ha), Ok(mut slot)) = (ha.filter(|a| !a.is_empty()), self.ha.lock()) {
            *slot = Some(ha);
        }
        if let (Some(b), Ok(mut slot)) = (broker.filter(|a| !a.is_empty()), self.broker.lock()) {
            *slot = Some(b);
        }
    }

    pub fn ha(&self) -> Option<String> {
        self.fixed_ha
            .clone()
            .or_else(|| self.ha.lock().ok().and_then(|a| a.clone()))
    }

    pub fn broker(&self) -> Option<String> {
        self.broker.lock().ok().and_then(|a| a.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(timeout_ms: u64) -> Arc<ReplicaState> {
        let c = BrokerConfig {
            slave_timeout: timeout_ms,
            ..Default::default()
        };
        ReplicaState::new(
            BrokerRole::SyncMaster,
            HaSettings::of(&c),
            &MetricsRegistry::default(),
        )
    }

    #[tokio::test]
    async fn without_a_slave_a_sync_send_is_not_available() {
        let s = state(3000);
        assert_eq!(
            s.wait_replicated(100).await,
            ReplicaOutcome::SlaveNotAvailable
        );
    }

    #[tokio::test]
    async fn a_slave_too_far_behind_is_not_available() {
        let s = state(3000);
        s.connection_opened();
        let far = s.settings().slave_fallbehind_max;
        assert_eq!(
            s.wait_replicated(far).await,
            ReplicaOutcome::SlaveNotAvailable
        );
        assert!(s.slave_ok(far - 1));
    }

    #[tokio::test]
    async fn one_ack_answers_every_send_it_covers() {
        let s = state(10_000);
        s.connection_opened();
        let waits: Vec<_> = [100, 200, 300]
            .into_iter()
            .map(|end| {
                let s = s.clone();
                tokio::spawn(async move { s.wait_replicated(end).await })
            })
            .collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while s.waiters.lock().unwrap().len() < 3 {
            assert!(
                std::time::Instant::now() < deadline,
                "waiters never registered"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        s.on_ack(250);
        assert_eq!(s.rounds.load(Ordering::Relaxed), 1);
        assert_eq!(s.answered.load(Ordering::Relaxed), 2);
        s.on_ack(300);
        for w in waits {
            assert_eq!(w.await.unwrap(), ReplicaOutcome::Acked);
        }
        assert_eq!(
            s.wait_replicated(300).await,
            ReplicaOutcome::Acked,
            "already acked"
        );
    }

    #[tokio::test]
    async fn no_ack_within_slave_timeout_is_flush_slave_timeout() {
        let s = state(50);
        s.connection_opened();
        assert_eq!(
            s.wait_replicated(10).await,
            ReplicaOutcome::FlushSlaveTimeout
        );
        assert!(
            s.waiters.lock().unwrap().is_empty(),
            "the expired waiter is dropped"
        );
    }

    #[test]
    fn a_configured_master_address_wins_over_the_name_servers() {
        let m = MasterAddrs::new(None);
        assert_eq!(m.ha(), None);
        m.learned(Some("10.0.0.1:10912".into()), Some("10.0.0.1:10911".into()));
        assert_eq!(m.ha().as_deref(), Some("10.0.0.1:10912"));
        assert_eq!(m.broker().as_deref(), Some("10.0.0.1:10911"));
        let fixed = MasterAddrs::new(Some("127.0.0.1:1".into()));
        fixed.learned(Some("10.0.0.1:10912".into()), None);
        assert_eq!(fixed.ha().as_deref(), Some("127.0.0.1:1"));
    }
}
