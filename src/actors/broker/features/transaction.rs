//! Transactional messages on the broker, as RocketMQ's TransactionalMessageService does them.
//!
//! The rewrites are plain code in [`crate::store::transaction`]: a half message goes to
//! `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 where no consumer can see it; END_TRANSACTION
//! (`processor/transaction.rs`) commits by storing the committed message on the real topic,
//! or rolls back by storing nothing; either way the outcome is an op message in
//! `RMQ_SYS_TRANS_OP_HALF_TOPIC` whose body names the half's queue offset.
//!
//! The TransactionChecker actor walks the half queue every `transactionCheckInterval` from
//! the progress of the system group `CID_RMQ_SYS_TRANS` (kept with the other consumer
//! offsets in consumerOffset.json, so a restart resumes where it stopped). Halves with an
//! op message are passed; a pending half older than `transactionTimeOut` is put back at the
//! tail of the half queue with `TRANSACTION_CHECK_TIMES` + 1 and the producer group in
//! `PGROUP` is asked for the outcome with CHECK_TRANSACTION_STATE on one of its live
//! connections; the producer answers with END_TRANSACTION against the put-back copy. After
//! `transactionCheckMax` checks (or once older than the commit log's retention) a half is
//! discarded: logged and moved to `TRANS_CHECK_MAX_TIME_TOPIC`, as 5.x does.
//!
//! Mailbox: 16, only the shutdown message is sent; rounds are timer-driven and one runs at
//! a time (a tick during a round is skipped).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::actors::broker::meta::clients::{ClientManager, ProducerChannel};
use crate::actors::broker::meta::consumer_offsets::ConsumerOffsets;
use crate::actors::broker::meta::topic_config::{
    self, EnsureTopic, TopicConfigManager, PERM_READ, PERM_WRITE, TRANS_CHECK_MAX_TIME_TOPIC,
    TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC,
};
use crate::actors::broker::store::StoreHandle;
use crate::actors::panic_guard::catch_panics;
use crate::actors::remoting::connection::Invoke;
use crate::actors::runtime::{guarded, Mailbox, Supervision};
use crate::clock::now_millis;
use crate::protocol::code::request;
use crate::protocol::header::broker::CheckTransactionStateRequestHeader;
use crate::protocol::message::{
    decode_record_shared, offset_msg_id, MessageToStore, StoredMessage,
};
use crate::protocol::{LanguageCode, RemotingCommand};
use crate::store::transaction::{op_offsets, real_destination, REMOVE_TAG};

/// The system group whose offsets record the checker's progress on both queues.
pub const CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// Most op messages read per round; a round that cannot see them all checks nobody, so
/// a finished half is never asked about.
const MAX_OPS_PER_ROUND: i64 = 200_000;
/// Most halves walked per round and the longest a round runs (Java's 60 s limit).
const MAX_HALVES_PER_ROUND: i64 = 100_000;
const MAX_ROUND_TIME: Duration = Duration::from_secs(60);

/// CHECK_TRANSACTION_STATE for a half (oneway). The body is the record as Java's
/// `MessageDecoder.encode` writes it, with the real topic and queue.
pub fn check_request(half: &StoredMessage, broker_name: &str) -> Option<RemotingCommand> {
    let (topic, queue_id) = real_destination(half)?;
    let uniq = half.property("UNIQ_KEY").map(str::to_owned);
    let mut msg = MessageToStore::from_stored(half);
    msg.topic = topic.clone();
    msg.queue_id = queue_id;
    let mut body = vec![0u8; msg.encoded_len()];
    let n = msg
        .encode_into(
            &mut body,
            half.queue_offset,
            half.physical_offset,
            half.store_timestamp,
        )
        .ok()?;
    body.truncate(n);
    let mut cmd = RemotingCommand::request_with(
        request::CHECK_TRANSACTION_STATE,
        &CheckTransactionStateRequestHeader {
            tran_state_table_offset: half.queue_offset,
            commit_log_offset: half.physical_offset,
            msg_id: uniq.clone(),
            transaction_id: half
                .property("__transactionId__")
                .map(str::to_owned)
                .or(uniq),
            offset_msg_id: Some(offset_msg_id(&half.store_host, half.physical_offset)),
            topic: Some(topic),
            bname: Some(broker_name.to_owned()),
        },
    );
    cmd.body = bytes::Bytes::from(body);
    cmd.language = LanguageCode::JAVA;
    cmd.mark_oneway();
    Some(cmd)
}

/// The checker's settings (RocketMQ's names in BrokerConfig).
#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// transactionTimeOut: a half younger than this is not asked about.
    pub timeout_ms: i64,
    /// transactionCheckMax: checks before a half is discarded.
    pub check_max: i32,
    /// Halves older than the commit log's retention are discarded unchecked.
    pub retention_ms: i64,
    pub broker_name: String,
}

/// What a round did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    pub finished: usize,
    pub checked: usize,
    pub discarded: usize,
}

/// Everything a round reads and writes.
#[derive(Clone)]
pub struct CheckerParts {
    pub store: StoreHandle,
    pub offsets: Arc<ConsumerOffsets>,
    pub clients: Mailbox<ClientManager>,
    pub topics: Mailbox<TopicConfigManager>,
    pub settings: CheckSettings,
}

async fn read(store: &StoreHandle, phys: i64) -> Option<StoredMessage> {
    let raw = store.message_at(phys)?;
    decode_record_shared(&raw).ok()
}

/// Op messages from `from`: half offset → op offset for halves at or past `half_from`,
/// the ops already fully accounted for, how many halves each other op still names, and
/// whether every op was read.
struct OpScan {
    removed: HashMap<i64, i64>,
    pending: HashMap<i64, usize>,
    done: Vec<i64>,
    complete: bool,
}

async fn scan_ops(store: &StoreHandle, from: i64, half_from: i64) -> OpScan {
    let mut scan = OpScan {
        removed: HashMap::new(),
        pending: HashMap::new(),
        done: Vec::new(),
        complete: true,
    };
    let Some(cq) = store.consume_queue(TRANS_OP_HALF_TOPIC, 0) else {
        return scan;
    };
    let end = cq.max_offset();
    let mut op = from.max(cq.min_offset());
    while op < end {
        if op - from >= MAX_OPS_PER_ROUND {
            scan.complete = false;
            break;
        }
        let Some(unit) = cq.unit(op) else { break };
        let mut names = 0;
        if let Some(m) = read(store, unit.phys_offset).await {
            if m.property("TAGS") == Some(REMOVE_TAG) {
                for half in op_offsets(&m.body) {
                    if half >= half_from {
                        scan.removed.insert(half, op);
                        names += 1;
                    }
                }
            }
        }
        if names == 0 {
            scan.done.push(op);
        } else {
            scan.pending.insert(op, names);
        }
        op += 1;
    }
    scan
}

/// The op queue's new progress: past every done op contiguous from `from`.
fn advance_ops(from: i64, mut done: Vec<i64>) -> i64 {
    done.sort_unstable();
    let mut next = from;
    for op in done {
        if op == next {
            next += 1;
        } else if op > next {
            break;
        }
    }
    next
}

/// One pass over the half queue; progress is committed to the `CID_RMQ_SYS_TRANS` offsets.
pub async fn check_round(parts: &CheckerParts) -> RoundReport {
    let mut report = RoundReport::default();
    let store = &parts.store;
    let Some(half_cq) = store.consume_queue(TRANS_HALF_TOPIC, 0) else {
        return report;
    };
    let started = Instant::now();
    let round_start_ms = now_millis();
    let half_from = parts
        .offsets
        .query(CHECK_GROUP, TRANS_HALF_TOPIC, 0)
        .unwrap_or(0)
        .max(half_cq.min_offset());
    let op_from = parts
        .offsets
        .query(CHECK_GROUP, TRANS_OP_HALF_TOPIC, 0)
        .unwrap_or(0);
    let mut ops = scan_ops(store, op_from, half_from).await;

    let mut i = half_from;
    while i - half_from < MAX_HALVES_PER_ROUND && started.elapsed() < MAX_ROUND_TIME {
        if let Some(op) = ops.removed.remove(&i) {
            if let Some(n) = ops.pending.get_mut(&op) {
                *n -= 1;
                if *n == 0 {
                    ops.pending.remove(&op);
                    ops.done.push(op);
                }
            }
            report.finished += 1;
            i += 1;
            continue;
        }
        let Some(unit) = half_cq.unit(i) else { break };
        let Some(half) = read(store, unit.phys_offset).await else {
            tracing::warn!(offset = i, "unreadable half message skipped");
            i += 1;
            continue;
        };
        let checks: i32 = half
            .property("TRANSACTION_CHECK_TIMES")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let now = now_millis();
        if checks >= parts.settings.check_max
            || now - half.store_timestamp > parts.settings.retention_ms
        {
            if !discard(parts, &half).await {
                break;
            }
            report.discarded += 1;
            i += 1;
            continue;
        }
        if half.store_timestamp >= round_start_ms {
            break;
        }
        let age = now - half.born_timestamp;
        let immunity = half
            .property("CHECK_IMMUNITY_TIME_IN_SECONDS")
            .and_then(|s| s.parse::<i64>().ok())
            .map(|s| s.saturating_mul(1000).max(parts.settings.timeout_ms))
            .unwrap_or(parts.settings.timeout_ms);
        if (0..=immunity).contains(&age) || !ops.complete {
            break;
        }
        let Some(copy) = put_back(parts, &half, checks + 1).await else {
            break;
        };
        ask_producer(parts, &copy).await;
        report.checked += 1;
        i += 1;
    }
    if i != half_from {
        parts.offsets.commit(CHECK_GROUP, TRANS_HALF_TOPIC, 0, i);
    }
    let op_next = advance_ops(op_from, ops.done);
    if op_next != op_from {
        parts
            .offsets
            .commit(CHECK_GROUP, TRANS_OP_HALF_TOPIC, 0, op_next);
    }
    report
}

/// Re-stores the half at the tail of the half queue with its check count; returns the
/// copy as stored (its offsets are what the producer will answer against).
async fn put_back(
    parts: &CheckerParts,
    half: &StoredMessage,
    checks: i32,
) -> Option<StoredMessage> {
    let mut copy = MessageToStore::from_stored(half);
    copy.reconsume_times = 0;
    copy.edit_properties(&[], &[("TRANSACTION_CHECK_TIMES", &checks.to_string())]);
    match parts.store.put(vec![copy], false).await {
        Ok(put) => read(&parts.store, put.append.wrote_offset).await,
        Err(e) => {
            tracing::warn!(error = %e, "putting a half message back failed; checking it next round");
            None
        }
    }
}

async fn ask_producer(parts: &CheckerParts, half: &StoredMessage) {
    let Some(group) = half.property("PGROUP").map(str::to_owned) else {
        tracing::warn!(
            offset = half.queue_offset,
            "half message without PGROUP; nobody to ask"
        );
        return;
    };
    let conn = match parts.clients.ask(ProducerChannel(group.clone())).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "the client manager did not answer");
            return;
        }
    };
    let Some(conn) = conn else {
        tracing::info!(
            group,
            "no live producer of the group to check a transaction with"
        );
        return;
    };
    let Some(cmd) = check_request(half, &parts.settings.broker_name) else {
        return;
    };
    tracing::info!(
        group,
        real_topic = half.property("REAL_TOPIC").unwrap_or(""),
        offset = half.queue_offset,
        "checking transaction state"
    );
    conn.addr.do_send(Invoke {
        command: cmd,
        timeout: Duration::from_secs(3),
    });
}

/// Moves a half checked too often (or too old) to `TRANS_CHECK_MAX_TIME_TOPIC`.
async fn discard(parts: &CheckerParts, half: &StoredMessage) -> bool {
    tracing::error!(
        real_topic = half.property("REAL_TOPIC").unwrap_or(""),
        uniq_key = half.property("UNIQ_KEY").unwrap_or(""),
        offset = half.queue_offset,
        "half message checked too many times (or older than the retention); discarding it to {TRANS_CHECK_MAX_TIME_TOPIC}"
    );
    let ensure = EnsureTopic::Exact(topic_config::topic(
        TRANS_CHECK_MAX_TIME_TOPIC,
        1,
        PERM_READ | PERM_WRITE,
    ));
    if let Err(e) = parts.topics.ask(ensure).await {
        tracing::warn!(error = %e, "creating {TRANS_CHECK_MAX_TIME_TOPIC} failed");
    }
    let mut msg = MessageToStore::from_stored(half);
    msg.topic = TRANS_CHECK_MAX_TIME_TOPIC.to_owned();
    msg.queue_id = 0;
    match parts.store.put(vec![msg], false).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "discarding a half message failed; retrying next round");
            false
        }
    }
}

/// Runs [`check_round`] every `transactionCheckInterval`.
pub struct TransactionChecker {
    sup: Supervision,
    parts: CheckerParts,
    interval: Duration,
    running: bool,
    stopped: bool,
}

impl TransactionChecker {
    pub fn new(sup: Supervision, parts: CheckerParts, interval: Duration) -> Self {
        TransactionChecker {
            sup,
            parts,
            interval,
            running: false,
            stopped: false,
        }
    }

    fn round(&mut self, ctx: &mut Context<Self>) {
        if self.running || self.stopped {
            return;
        }
        self.running = true;
        let parts = self.parts.clone();
        ctx.spawn(catch_panics(
            async move { check_round(&parts).await }
                .into_actor(self)
                .map(|report, act, _| {
                    act.running = false;
                    if report != RoundReport::default() {
                        tracing::info!(?report, "transaction check round");
                    }
                }),
        ));
    }
}

impl Actor for TransactionChecker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.interval, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.round(ctx));
        });
    }
}

crate::supervised_actor!(TransactionChecker);
crate::admits!(TransactionChecker: StopChecking);

/// Broker shutdown: no more rounds (one under way finishes its current step).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopChecking;

impl Handler<StopChecking> for TransactionChecker {
    type Result = ();
    fn handle(&mut self, _: StopChecking, _: &mut Context<Self>) {
        self.stopped = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::encode_properties;
    use crate::store::transaction::tests::{half, stored};
    use crate::store::transaction::to_half_topic;

    #[test]
    fn op_progress_stops_at_the_first_op_still_naming_a_pending_half() {
        assert_eq!(advance_ops(5, vec![7, 5, 6, 9]), 8);
        assert_eq!(advance_ops(5, vec![6]), 5);
        assert_eq!(advance_ops(5, vec![]), 5);
    }

    #[test]
    fn the_check_request_carries_the_real_destination_and_the_halfs_offsets() {
        let mut m = half(&encode_properties([
            ("TRAN_MSG", "true"),
            ("PGROUP", "pg"),
            ("UNIQ_KEY", "U1"),
        ]));
        to_half_topic(&mut m);
        let s = stored(&m, 3, 8192);
        let cmd = check_request(&s, "broker-a").unwrap();
        assert!(cmd.is_oneway());
        let h: CheckTransactionStateRequestHeader = cmd.decode_header().unwrap();
        assert_eq!((h.tran_state_table_offset, h.commit_log_offset), (3, 8192));
        assert_eq!(h.msg_id.as_deref(), Some("U1"));
        assert_eq!(h.topic.as_deref(), Some("TopicTx"));
        let body = crate::protocol::message::decode_record(&cmd.body).unwrap();
        assert_eq!((body.topic.as_str(), body.queue_id), ("TopicTx", 2));
        assert_eq!(body.physical_offset, 8192);
    }
}
