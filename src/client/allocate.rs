//! Client-side queue allocation: which of a topic's queues this consumer of a clustering group
//! pulls, given every queue and every consumer id of the group.
//!
//! Every consumer of a group runs the same strategy on the same inputs and takes its own share,
//! so the shares only fit together if all of them compute exactly what Java's
//! `AllocateMessageQueueStrategy` implementations compute. Data enters as the queue set from the
//! topic route and the consumer id list from GET_CONSUMER_LIST_BY_GROUP, in whatever order they
//! arrived, and leaves as the queues this client should hold. Java's `RebalanceImpl` sorts both
//! lists before it calls a strategy; here [`RebalanceInput::new`] does that sorting, and every
//! strategy that looks at its inputs goes through it, so callers may pass them unsorted.
//!
//! Nothing here does I/O or keeps state between calls.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use md5::{Digest, Md5};

use crate::protocol::body::broker::MessageQueue;

/// Decides which queues one consumer of a group gets. Named like Java's `getName()`.
pub trait AllocateStrategy: Send + Sync {
    /// The name Java's strategy reports (`AVG`, `CONSISTENT_HASH`, …).
    fn name(&self) -> &'static str;

    /// The queues of `mq_all` that `current_cid` should consume when the group's consumers are
    /// `cid_all`. The inputs need not be sorted. A client id that is not in `cid_all`, an empty
    /// client id and empty lists all get nothing (Java logs or throws there; a rebalance then
    /// simply holds no queues).
    fn allocate(
        &self,
        consumer_group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue>;
}

/// The inputs as Java's `RebalanceImpl.rebalanceByTopic` hands them to a strategy: queues sorted
/// by topic, broker name and queue id, client ids sorted with `String.compareTo`, and the
/// position of this client in that list.
struct RebalanceInput<'a> {
    queues: Vec<&'a MessageQueue>,
    cids: Vec<&'a str>,
    /// `cidAll.indexOf(currentCID)`: the first position when an id appears twice.
    index: usize,
}

impl<'a> RebalanceInput<'a> {
    /// `None` where Java's `AbstractAllocateMessageQueueStrategy.check` throws or returns false.
    ///
    /// Queues are deduplicated because Java builds its list from a set. Client ids are not: the
    /// broker's list is used as it comes, and a repeated id shifts every strategy's arithmetic
    /// in Java too, so all clients still agree.
    fn new(current_cid: &str, mq_all: &'a [MessageQueue], cid_all: &'a [String]) -> Option<Self> {
        if current_cid.is_empty() || mq_all.is_empty() || cid_all.is_empty() {
            return None;
        }
        let mut cids: Vec<&str> = cid_all.iter().map(String::as_str).collect();
        cids.sort_by(|a, b| java_string_cmp(a, b));
        let index = cids.iter().position(|cid| *cid == current_cid)?;
        let mut queues: Vec<&MessageQueue> = mq_all.iter().collect();
        queues.sort();
        queues.dedup();
        Some(RebalanceInput {
            queues,
            cids,
            index,
        })
    }
}

/// Java's `String.compareTo`: UTF-16 code-unit order, which differs from Rust's byte order once
/// characters outside the Basic Multilingual Plane meet ones in U+E000..U+FFFF.
fn java_string_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn owned(queues: &[&MessageQueue]) -> Vec<MessageQueue> {
    queues.iter().map(|mq| (*mq).clone()).collect()
}

/// `AllocateMessageQueueAveragely` (`AVG`, the default): contiguous blocks, the first
/// `queues % consumers` consumers taking one queue more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocateAveragely;

impl AllocateStrategy for AllocateAveragely {
    fn name(&self) -> &'static str {
        "AVG"
    }

    fn allocate(
        &self,
        _consumer_group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(input) = RebalanceInput::new(current_cid, mq_all, cid_all) else {
            return Vec::new();
        };
        let n = input.queues.len();
        let m = input.cids.len();
        let i = input.index;
        let rem = n % m;
        // With no more queues than consumers Java still sets the block size to 1 and pushes
        // consumers past the last queue to a start beyond the end; they get nothing.
        let size = if n <= m {
            1
        } else if i < rem {
            n / m + 1
        } else {
            n / m
        };
        let start = (if i < rem { i * size } else { i * size + rem }).min(n);
        let end = (start + size).min(n);
        owned(&input.queues[start..end])
    }
}

/// `AllocateMessageQueueAveragelyByCircle` (`AVG_BY_CIRCLE`): queue `k` of the sorted list goes
/// to consumer `k % consumers`, dealing the queues out like cards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocateAveragelyByCircle;

impl AllocateStrategy for AllocateAveragelyByCircle {
    fn name(&self) -> &'static str {
        "AVG_BY_CIRCLE"
    }

    fn allocate(
        &self,
        _consumer_group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(input) = RebalanceInput::new(current_cid, mq_all, cid_all) else {
            return Vec::new();
        };
        input
            .queues
            .iter()
            .skip(input.index)
            .step_by(input.cids.len())
            .map(|mq| (*mq).clone())
            .collect()
    }
}

/// `AllocateMessageQueueConsistentHash` (`CONSISTENT_HASH`): each consumer puts
/// `virtual_nodes` points on a hash ring, and a queue belongs to the first point at or after
/// its own hash, wrapping around. A consumer joining or leaving moves only the queues next to
/// its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocateConsistentHash {
    /// Ring points per consumer. More points spread queues more evenly at the cost of a larger
    /// ring built on every rebalance; zero leaves the ring empty, so nobody gets a queue (as in
    /// Java).
    pub virtual_nodes: usize,
}

impl AllocateConsistentHash {
    /// Java's no-argument constructor uses 10.
    pub const DEFAULT_VIRTUAL_NODES: usize = 10;
}

impl Default for AllocateConsistentHash {
    fn default() -> Self {
        AllocateConsistentHash {
            virtual_nodes: Self::DEFAULT_VIRTUAL_NODES,
        }
    }
}

impl AllocateStrategy for AllocateConsistentHash {
    fn name(&self) -> &'static str {
        "CONSISTENT_HASH"
    }

    fn allocate(
        &self,
        _consumer_group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(input) = RebalanceInput::new(current_cid, mq_all, cid_all) else {
            return Vec::new();
        };
        let ring = HashRing::new(&input.cids, self.virtual_nodes);
        input
            .queues
            .iter()
            .filter(|mq| ring.route(&queue_key(mq)) == Some(current_cid))
            .map(|mq| (*mq).clone())
            .collect()
    }
}

/// Java's `ConsistentHashRouter` with its default `MD5Hash`, reduced to what allocation uses.
struct HashRing<'a> {
    points: BTreeMap<u32, &'a str>,
}

impl<'a> HashRing<'a> {
    /// Points are inserted in client-id order and a later point replaces an earlier one with
    /// the same hash (`TreeMap.put`), so collisions resolve as they do in Java.
    fn new(cids: &[&'a str], virtual_nodes: usize) -> Self {
        let mut points = BTreeMap::new();
        let mut previous: Option<&str> = None;
        for &cid in cids {
            // Java numbers a node's points after the ones it already has on the ring
            // (`getExistingReplicas`), so a repeated id adds `cid-10`, `cid-11`, … instead of
            // re-adding `cid-0`. Ids are sorted, so only an id equal to the previous one can
            // have points already.
            let existing = if previous == Some(cid) {
                points.values().filter(|owner| **owner == cid).count()
            } else {
                0
            };
            for k in 0..virtual_nodes {
                points.insert(md5_hash(&format!("{cid}-{}", k + existing)), cid);
            }
            previous = Some(cid);
        }
        HashRing { points }
    }

    /// The owner of the first point at or after the key's hash, else of the ring's first point.
    fn route(&self, key: &str) -> Option<&'a str> {
        let hash = md5_hash(key);
        self.points
            .range(hash..)
            .next()
            .or_else(|| self.points.iter().next())
            .map(|(_, owner)| *owner)
    }
}

/// `ConsistentHashRouter.MD5Hash.hash`: the first four bytes of the MD5 digest of the UTF-8
/// key, big-endian, as an unsigned number (Java keeps it in a non-negative `long`).
fn md5_hash(key: &str) -> u32 {
    let digest = Md5::digest(key.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// `MessageQueue.toString()`, the key a queue is hashed by.
fn queue_key(mq: &MessageQueue) -> String {
    format!(
        "MessageQueue [topic={}, brokerName={}, queueId={}]",
        mq.topic, mq.broker_name, mq.queue_id
    )
}

/// `AllocateMessageQueueByConfig` (`CONFIG`): always the configured queues, in the configured
/// order. Like Java it ignores the group, the client id and both lists, so every consumer
/// using it gets the same queues, known to the group or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllocateByConfig {
    pub queues: Vec<MessageQueue>,
}

impl AllocateStrategy for AllocateByConfig {
    fn name(&self) -> &'static str {
        "CONFIG"
    }

    fn allocate(
        &self,
        _consumer_group: &str,
        _current_cid: &str,
        _mq_all: &[MessageQueue],
        _cid_all: &[String],
    ) -> Vec<MessageQueue> {
        self.queues.clone()
    }
}

/// `AllocateMessageQueueByMachineRoom` (`MACHINE_ROOM`): only queues on brokers named
/// `<room>@<name>` with `<room>` in `consumer_idcs` are shared out; consumer `i` of `m` takes
/// the block `[i·q, i·q + q)` with `q = kept / m`, plus kept queue `q·m + i` if
/// `i < kept % m`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllocateByMachineRoom {
    /// The machine rooms (IDCs) whose brokers this group consumes from.
    pub consumer_idcs: BTreeSet<String>,
}

impl AllocateStrategy for AllocateByMachineRoom {
    fn name(&self) -> &'static str {
        "MACHINE_ROOM"
    }

    fn allocate(
        &self,
        _consumer_group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(input) = RebalanceInput::new(current_cid, mq_all, cid_all) else {
            return Vec::new();
        };
        let kept: Vec<&MessageQueue> = input
            .queues
            .iter()
            .copied()
            .filter(|mq| {
                machine_room(&mq.broker_name).is_some_and(|room| self.consumer_idcs.contains(room))
            })
            .collect();
        let m = input.cids.len();
        let i = input.index;
        let per_consumer = kept.len() / m;
        let start = per_consumer * i;
        let mut result = owned(&kept[start..start + per_consumer]);
        if i < kept.len() % m {
            result.push(kept[per_consumer * m + i].clone());
        }
        result
    }
}

/// The room of a broker named `<room>@<name>`, read as Java's `brokerName.split("@")` with a
/// length of exactly two: trailing empty parts are dropped first, so `a@b@` still counts as
/// room `a`, while `a@b@c` and `room@` do not count at all.
fn machine_room(broker_name: &str) -> Option<&str> {
    let mut parts: Vec<&str> = broker_name.split('@').collect();
    while parts.last().is_some_and(|part| part.is_empty()) {
        parts.pop();
    }
    match parts.as_slice() {
        [room, _] => Some(room),
        _ => None,
    }
}

/// The strategy Java reports under `name`, for the strategies that need no configuration:
/// `AVG`, `AVG_BY_CIRCLE` and `CONSISTENT_HASH` (10 virtual nodes). `CONFIG` and
/// `MACHINE_ROOM` give `None`: without their queue list or room set they would silently
/// allocate nothing, so callers build [`AllocateByConfig`] and [`AllocateByMachineRoom`]
/// themselves.
pub fn strategy_by_name(name: &str) -> Option<Box<dyn AllocateStrategy>> {
    match name {
        "AVG" => Some(Box::new(AllocateAveragely)),
        "AVG_BY_CIRCLE" => Some(Box::new(AllocateAveragelyByCircle)),
        "CONSISTENT_HASH" => Some(Box::new(AllocateConsistentHash::default())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: usize) -> Vec<MessageQueue> {
        (0..n)
            .map(|i| MessageQueue::new("topic", "brokerName", i as i32))
            .collect()
    }

    fn cids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    fn ids(queues: &[MessageQueue]) -> Vec<i32> {
        queues.iter().map(|mq| mq.queue_id).collect()
    }

    /// Each consumer's share, computed by that consumer from its own (possibly differently
    /// ordered) copy of the inputs.
    fn shares(
        strategy: &dyn AllocateStrategy,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<Vec<MessageQueue>> {
        cid_all
            .iter()
            .enumerate()
            .map(|(k, cid)| {
                let mut my_queues = mq_all.to_vec();
                let mut my_cids = cid_all.to_vec();
                if !my_queues.is_empty() {
                    my_queues.rotate_left(k % mq_all.len());
                }
                my_cids.rotate_right(k % cid_all.len());
                if k % 2 == 1 {
                    my_queues.reverse();
                    my_cids.reverse();
                }
                strategy.allocate("group", cid, &my_queues, &my_cids)
            })
            .collect()
    }

    /// Queues on brokers `room1@a`, `room2@b` and `room1@c`, listed out of order.
    fn mixed_queues(n: usize) -> Vec<MessageQueue> {
        let brokers = ["room1@c", "room2@b", "room1@a"];
        (0..n)
            .rev()
            .map(|i| MessageQueue::new("topic", brokers[i % 3], (i / 3) as i32))
            .collect()
    }

    fn assert_partition(
        strategy: &dyn AllocateStrategy,
        mq_all: &[MessageQueue],
        cid_all: &[String],
        expected: &BTreeSet<MessageQueue>,
    ) {
        let mut seen = BTreeSet::new();
        for share in shares(strategy, mq_all, cid_all) {
            for mq in share {
                assert!(
                    seen.insert(mq.clone()),
                    "{}: {mq:?} given twice ({} queues, {} consumers)",
                    strategy.name(),
                    mq_all.len(),
                    cid_all.len()
                );
            }
        }
        assert_eq!(
            &seen,
            expected,
            "{}: {} queues, {} consumers",
            strategy.name(),
            mq_all.len(),
            cid_all.len()
        );
    }

    #[test]
    fn every_queue_goes_to_exactly_one_consumer_for_all_sizes() {
        let strategies: Vec<Box<dyn AllocateStrategy>> = vec![
            Box::new(AllocateAveragely),
            Box::new(AllocateAveragelyByCircle),
            Box::new(AllocateConsistentHash::default()),
            Box::new(AllocateConsistentHash { virtual_nodes: 3 }),
        ];
        for strategy in &strategies {
            for n in 0..20 {
                for m in 1..6 {
                    let mq_all = mixed_queues(n);
                    let expected: BTreeSet<MessageQueue> = mq_all.iter().cloned().collect();
                    assert_partition(strategy.as_ref(), &mq_all, &cids("CID-", m), &expected);
                }
            }
        }
    }

    #[test]
    fn machine_room_shares_exactly_the_queues_of_its_rooms_for_all_sizes() {
        let strategy = AllocateByMachineRoom {
            consumer_idcs: BTreeSet::from(["room1".to_string()]),
        };
        for n in 0..20 {
            for m in 1..6 {
                let mq_all = mixed_queues(n);
                let expected: BTreeSet<MessageQueue> = mq_all
                    .iter()
                    .filter(|mq| mq.broker_name.starts_with("room1@"))
                    .cloned()
                    .collect();
                assert_partition(&strategy, &mq_all, &cids("CID-", m), &expected);
            }
        }
    }

    #[test]
    fn averagely_gives_contiguous_blocks_larger_first() {
        let mq_all = queues(8);
        let cid_all = cids("CID_PREFIX", 3);
        let got: Vec<Vec<i32>> = cid_all
            .iter()
            .map(|cid| ids(&AllocateAveragely.allocate("g", cid, &mq_all, &cid_all)))
            .collect();
        assert_eq!(got, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
    }

    #[test]
    fn averagely_matches_java_test_ten_queues_four_consumers() {
        let mq_all = queues(10);
        let cid_all = cids("CID_PREFIX", 4);
        let sizes: Vec<usize> = cid_all
            .iter()
            .map(|cid| AllocateAveragely.allocate("", cid, &mq_all, &cid_all).len())
            .collect();
        assert_eq!(sizes, vec![3, 3, 2, 2]);
    }

    #[test]
    fn averagely_leaves_surplus_consumers_idle() {
        let mq_all = queues(2);
        let cid_all = cids("CID_PREFIX", 3);
        let got: Vec<Vec<i32>> = cid_all
            .iter()
            .map(|cid| ids(&AllocateAveragely.allocate("g", cid, &mq_all, &cid_all)))
            .collect();
        assert_eq!(got, vec![vec![0], vec![1], vec![]]);
    }

    #[test]
    fn inputs_are_sorted_before_allocating() {
        let mq_all = vec![
            MessageQueue::new("T", "broker-b", 0),
            MessageQueue::new("T", "broker-a", 1),
            MessageQueue::new("T", "broker-a", 0),
            MessageQueue::new("T", "broker-b", 1),
        ];
        let cid_all = vec!["c2".to_string(), "c1".to_string()];
        assert_eq!(
            AllocateAveragely.allocate("g", "c1", &mq_all, &cid_all),
            vec![
                MessageQueue::new("T", "broker-a", 0),
                MessageQueue::new("T", "broker-a", 1),
            ]
        );
        assert_eq!(
            AllocateAveragelyByCircle.allocate("g", "c2", &mq_all, &cid_all),
            vec![
                MessageQueue::new("T", "broker-a", 1),
                MessageQueue::new("T", "broker-b", 1),
            ]
        );
    }

    #[test]
    fn client_ids_sort_in_java_utf16_order() {
        // U+1F600 is a surrogate pair (0xD83D ...) in UTF-16, so Java puts it before U+FFFD,
        // although its UTF-8 bytes sort after.
        let cid_all = vec!["\u{FFFD}".to_string(), "\u{1F600}".to_string()];
        let mq_all = queues(2);
        assert_eq!(
            ids(&AllocateAveragely.allocate("g", "\u{1F600}", &mq_all, &cid_all)),
            vec![0]
        );
        assert_eq!(
            ids(&AllocateAveragely.allocate("g", "\u{FFFD}", &mq_all, &cid_all)),
            vec![1]
        );
    }

    #[test]
    fn duplicate_queues_count_once() {
        let mut mq_all = queues(4);
        mq_all.extend(queues(4));
        let cid_all = cids("c", 2);
        assert_eq!(
            ids(&AllocateAveragely.allocate("g", "c0", &mq_all, &cid_all)),
            vec![0, 1]
        );
    }

    #[test]
    fn by_circle_matches_java_test() {
        let mq_all = queues(10);
        let cid_all = cids("CID_PREFIX", 4);
        let got: Vec<Vec<i32>> = cid_all
            .iter()
            .map(|cid| ids(&AllocateAveragelyByCircle.allocate("", cid, &mq_all, &cid_all)))
            .collect();
        assert_eq!(
            got,
            vec![vec![0, 4, 8], vec![1, 5, 9], vec![2, 6], vec![3, 7]]
        );
    }

    #[test]
    fn unknown_or_empty_client_gets_nothing_from_every_strategy() {
        let mq_all = queues(10);
        let cid_all = cids("CID_PREFIX", 4);
        let strategies: Vec<Box<dyn AllocateStrategy>> = vec![
            Box::new(AllocateAveragely),
            Box::new(AllocateAveragelyByCircle),
            Box::new(AllocateConsistentHash::default()),
            Box::new(AllocateByMachineRoom {
                consumer_idcs: BTreeSet::from(["room1".to_string()]),
            }),
        ];
        for strategy in &strategies {
            for cid in ["CID_PREFIX", "2147483647", ""] {
                assert!(
                    strategy.allocate("g", cid, &mq_all, &cid_all).is_empty(),
                    "{} gave queues to {cid:?}",
                    strategy.name()
                );
            }
            assert!(strategy
                .allocate("g", "CID_PREFIX0", &[], &cid_all)
                .is_empty());
            assert!(strategy
                .allocate("g", "CID_PREFIX0", &mq_all, &[])
                .is_empty());
        }
    }

    #[test]
    fn md5_hash_takes_the_first_four_digest_bytes_big_endian() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(md5_hash(""), 0xd41d_8cd9);
        // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72
        assert_eq!(md5_hash("abc"), 0x9001_5098);
    }

    #[test]
    fn queue_key_is_java_to_string() {
        assert_eq!(
            queue_key(&MessageQueue::new("T", "broker-a", 3)),
            "MessageQueue [topic=T, brokerName=broker-a, queueId=3]"
        );
    }

    /// Shares that Apache RocketMQ's own `ConsistentHashRouter` (MD5 hash, `ClientNode`
    /// keys, `MessageQueue.toString()` queue keys) gives for queues `topic_test`/`brokerName`/
    /// 0..n and consumers `CID-0`.. .
    #[test]
    fn consistent_hash_matches_java_router() {
        let cases: [(i32, usize, usize, Vec<Vec<i32>>); 3] = [
            (8, 3, 10, vec![vec![1, 6, 7], vec![2], vec![0, 3, 4, 5]]),
            (
                20,
                5,
                10,
                vec![
                    vec![13, 16, 18, 19],
                    vec![11, 15, 17],
                    vec![0, 3, 4, 5, 8],
                    vec![2, 6, 7, 9, 12, 14],
                    vec![1, 10],
                ],
            ),
            (
                12,
                2,
                3,
                vec![vec![0, 3, 5, 6, 7, 8], vec![1, 2, 4, 9, 10, 11]],
            ),
        ];
        for (n, m, virtual_nodes, expected) in cases {
            let strategy = AllocateConsistentHash { virtual_nodes };
            let mq_all: Vec<MessageQueue> = (0..n)
                .map(|i| MessageQueue::new("topic_test", "brokerName", i))
                .collect();
            let cid_all = cids("CID-", m);
            let got: Vec<Vec<i32>> = cid_all
                .iter()
                .map(|cid| ids(&strategy.allocate("g", cid, &mq_all, &cid_all)))
                .collect();
            assert_eq!(got, expected, "{n} queues, {m} consumers");
        }
    }

    /// Java numbers a repeated id's ring points after its existing ones (`CID-0-10`..), which
    /// shifts the ring (without the repeat `CID-0` gets 1, 3..=8); the expectation again comes
    /// from Java's router.
    #[test]
    fn consistent_hash_numbers_a_repeated_clients_points_like_java() {
        let mq_all: Vec<MessageQueue> = (0..12)
            .map(|i| MessageQueue::new("topic_test", "brokerName", i))
            .collect();
        let cid_all = vec![
            "CID-1".to_string(),
            "CID-0".to_string(),
            "CID-0".to_string(),
        ];
        let strategy = AllocateConsistentHash::default();
        assert_eq!(
            ids(&strategy.allocate("g", "CID-0", &mq_all, &cid_all[..2])),
            vec![1, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(
            ids(&strategy.allocate("g", "CID-0", &mq_all, &cid_all)),
            (1..=10).collect::<Vec<i32>>()
        );
        assert_eq!(
            ids(&strategy.allocate("g", "CID-1", &mq_all, &cid_all)),
            vec![0, 11]
        );
    }

    #[test]
    fn consistent_hash_moves_only_the_queues_of_a_joining_or_leaving_consumer() {
        let strategy = AllocateConsistentHash { virtual_nodes: 3 };
        for (n, m) in [(20, 10), (10, 20), (16, 4), (7, 3), (32, 5)] {
            let mq_all: Vec<MessageQueue> = (0..n)
                .map(|i| MessageQueue::new("topic_test", "brokerName", i))
                .collect();
            let owners = |cid_all: &[String]| -> BTreeMap<MessageQueue, String> {
                let mut owners = BTreeMap::new();
                for cid in cid_all {
                    for mq in strategy.allocate("g", cid, &mq_all, cid_all) {
                        assert!(owners.insert(mq, cid.clone()).is_none());
                    }
                }
                assert_eq!(owners.len(), mq_all.len());
                owners
            };
            let all = cids("CID-", m);
            let before = owners(&all);

            let removed = &all[0];
            let after_remove = owners(&all[1..]);
            for (mq, owner) in &before {
                if owner != removed {
                    assert_eq!(&after_remove[mq], owner, "{mq:?} moved after a leave");
                }
            }

            let mut joined = all[1..].to_vec();
            joined.push("CID-NEW".to_string());
            let after_join = owners(&joined);
            for (mq, owner) in &after_join {
                if owner != "CID-NEW" {
                    assert_eq!(&after_remove[mq], owner, "{mq:?} moved after a join");
                }
            }
        }
    }

    #[test]
    fn consistent_hash_is_deterministic_across_input_orders() {
        let strategy = AllocateConsistentHash::default();
        let mq_all = mixed_queues(12);
        let cid_all = cids("192.168.0.1@", 4);
        let mut reversed_queues = mq_all.clone();
        reversed_queues.reverse();
        let mut reversed_cids = cid_all.clone();
        reversed_cids.reverse();
        for cid in &cid_all {
            assert_eq!(
                strategy.allocate("g", cid, &mq_all, &cid_all),
                strategy.allocate("other", cid, &reversed_queues, &reversed_cids)
            );
        }
    }

    #[test]
    fn consistent_hash_without_virtual_nodes_allocates_nothing() {
        let strategy = AllocateConsistentHash { virtual_nodes: 0 };
        let cid_all = cids("c", 2);
        assert!(strategy
            .allocate("g", "c0", &queues(4), &cid_all)
            .is_empty());
    }

    #[test]
    fn by_config_returns_its_list_to_anyone() {
        let strategy = AllocateByConfig { queues: queues(4) };
        let cid_all = cids("CID_PREFIX", 2);
        for cid in ["CID_PREFIX0", "CID_PREFIX1", "stranger"] {
            assert_eq!(
                ids(&strategy.allocate("", cid, &queues(10), &cid_all)),
                vec![0, 1, 2, 3]
            );
        }
    }

    #[test]
    fn machine_room_matches_java_test() {
        let mq_all: Vec<MessageQueue> = (0..10)
            .map(|i| {
                let broker = if i < 5 {
                    "room1@broker-a"
                } else {
                    "room2@broker-b"
                };
                MessageQueue::new("topic", broker, i)
            })
            .collect();
        let strategy = AllocateByMachineRoom {
            consumer_idcs: BTreeSet::from(["room1".to_string()]),
        };
        let cid_all = cids("CID_PREFIX", 2);
        assert_eq!(
            ids(&strategy.allocate("", "CID_PREFIX0", &mq_all, &cid_all)),
            vec![0, 1, 4]
        );
        assert_eq!(
            ids(&strategy.allocate("", "CID_PREFIX1", &mq_all, &cid_all)),
            vec![2, 3]
        );
    }

    #[test]
    fn machine_room_reads_broker_names_like_java_split() {
        assert_eq!(machine_room("room1@broker-a"), Some("room1"));
        assert_eq!(machine_room("room1@broker-a@"), Some("room1"));
        assert_eq!(machine_room("@broker-a"), Some(""));
        assert_eq!(machine_room("room1@"), None);
        assert_eq!(machine_room("room1@broker@a"), None);
        assert_eq!(machine_room("broker-a"), None);
        assert_eq!(machine_room(""), None);
        assert_eq!(machine_room("@"), None);
    }

    #[test]
    fn strategies_report_java_names_and_resolve_by_name() {
        assert_eq!(AllocateByConfig::default().name(), "CONFIG");
        assert_eq!(AllocateByMachineRoom::default().name(), "MACHINE_ROOM");
        for name in ["AVG", "AVG_BY_CIRCLE", "CONSISTENT_HASH"] {
            assert_eq!(strategy_by_name(name).map(|s| s.name()), Some(name));
        }
        for name in ["CONFIG", "MACHINE_ROOM", "avg", ""] {
            assert!(strategy_by_name(name).is_none());
        }
    }
}
