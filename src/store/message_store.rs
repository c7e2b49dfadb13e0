//! Opening a store directory: the abort marker and checkpoint decide how much to trust,
//! the commit log is re-verified and its torn tail cut, consume queues are cut back to the
//! commit log, and whatever was appended but not dispatched is dispatched again, so
//! consume queues and the index match the commit log before anything is served.
//!
//! [`MessageStore`] is the same engine used synchronously, for tools and tests; the broker's
//! actors take a [`RecoveredStore`] apart and own one piece each.

use std::collections::BTreeMap;

use super::checkpoint::{AbortMarker, Checkpoint};
use super::commit_log::{AppendResult, CommitLog, CommitLogConfig};
use super::config::{FlushDiskType, StoreConfig};
use super::consume_queue::ConsumeQueue;
use super::error::{StoreError, StoreResult};
use super::index::{IndexRequest, IndexService};
use crate::protocol::flag::sysflag;
use crate::protocol::message::{DispatchInfo, MessageToStore};
use crate::protocol::topic::SCHEDULE_TOPIC;

/// Consume queues by (topic, queue id).
pub type ConsumeQueues = BTreeMap<(String, i32), ConsumeQueue>;

/// A store directory after recovery, ready to be split among actors.
pub struct RecoveredStore {
    pub config: StoreConfig,
    pub commit_log: CommitLog,
    pub consume_queues: ConsumeQueues,
    pub index: Option<IndexService>,
    pub checkpoint: Checkpoint,
    pub abort: AbortMarker,
    /// The previous run did not shut down cleanly.
    pub crashed: bool,
    /// Where dispatching continues: everything before is in the consume queues and index.
    pub dispatched_to: i64,
}

/// Where a record goes in consume queues: prepared and rollback transaction records stay
/// out, as in RocketMQ.
pub fn goes_to_consume_queue(info: &DispatchInfo) -> bool {
    !matches!(
        sysflag::transaction_value(info.sys_flag),
        sysflag::TRANSACTION_PREPARED_TYPE | sysflag::TRANSACTION_ROLLBACK_TYPE
    )
}

/// The tag code a consume-queue unit carries: the TAGS hash, or for scheduled messages
/// the delivery time (store time + the level's delay).
pub fn cq_tags_code(info: &DispatchInfo, delay_millis: impl Fn(i32) -> Option<i64>) -> i64 {
    if info.topic == SCHEDULE_TOPIC && info.delay_level > 0 {
        if let Some(delay) = delay_millis(info.delay_level) {
            return info.store_timestamp + delay;
        }
    }
    info.tags_code
}

/// Opens (creating if needed) the consume queue of a topic and queue.
pub fn consume_queue<'a>(
    queues: &'a mut ConsumeQueues,
    config: &StoreConfig,
    topic: &str,
    queue_id: i32,
) -> StoreResult<&'a mut ConsumeQueue> {
    let key = (topic.to_owned(), queue_id);
    if !queues.contains_key(&key) {
        let mut cq = ConsumeQueue::load(
            &config.store_path_root_dir,
            topic,
            queue_id,
            config.mapped_file_size_consume_queue,
        )?;
        cq.recover(i64::MAX)?;
        queues.insert(key.clone(), cq);
    }
    queues.get_mut(&key).ok_or_else(|| {
        StoreError::InvalidMessage(format!("consume queue {topic}/{queue_id} vanished"))
    })
}

/// Dispatches one record synchronously (recovery and [`MessageStore`]).
pub fn dispatch_one(
    info: &DispatchInfo,
    config: &StoreConfig,
    delays: &[i64],
    queues: &mut ConsumeQueues,
    index: Option<&mut IndexService>,
) -> StoreResult<()> {
    if goes_to_consume_queue(info) {
        let tags = cq_tags_code(info, |level| {
            delays.get((level as usize).wrapping_sub(1)).copied()
        });
        consume_queue(queues, config, &info.topic, info.queue_id)?.put(
            info.queue_offset,
            info.physical_offset,
            info.total_size,
            tags,
        )?;
    }
    if let Some(index) = index {
        index.build_index(&index_request(info))?;
    }
    Ok(())
}

pub fn index_request(info: &DispatchInfo) -> IndexRequest<'_> {
    IndexRequest {
        topic: &info.topic,
        keys: info.keys.as_deref(),
        uniq_key: info.uniq_key.as_deref(),
        physical_offset: info.physical_offset,
        store_timestamp: info.store_timestamp,
        sys_flag: info.sys_flag,
    }
}

fn load_consume_queues(config: &StoreConfig) -> StoreResult<ConsumeQueues> {
    let mut queues = ConsumeQueues::new();
    let root = config.store_path_root_dir.join("consumequeue");
    let Ok(topics) = std::fs::read_dir(&root) else {
        return Ok(queues);
    };
    for topic in topics.flatten() {
        let Ok(topic_name) = topic.file_name().into_string() else {
            continue;
        };
        let Ok(ids) = std::fs::read_dir(topic.path()) else {
            continue;
        };
        for id in ids.flatten() {
            let Some(queue_id) = id.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let cq = ConsumeQueue::load(
                &config.store_path_root_dir,
                &topic_name,
                queue_id,
                config.mapped_file_size_consume_queue,
            )?;
            queues.insert((topic_name.clone(), queue_id), cq);
        }
    }
    Ok(queues)
}

/// Whose records the commit log holds, which decides how much of its tail recovery trusts
/// after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOwner {
    /// A master or a lone broker: its own writes, each appended whole.
    Writer,
    /// A slave: its master's stream, appended in frames that end mid-record; the last
    /// record is fetched again after a crash ([`CommitLog::recover_replica`]).
    Replica,
}

/// Opens and recovers the store under `config.store_path_root_dir`.
pub fn open(config: &StoreConfig) -> StoreResult<RecoveredStore> {
    open_as(config, LogOwner::Writer)
}

/// Opens and recovers the store of a broker in the role `owner`.
pub fn open_as(config: &StoreConfig, owner: LogOwner) -> StoreResult<RecoveredStore> {
    config.validate().map_err(StoreError::InvalidMessage)?;
    let root = &config.store_path_root_dir;
    std::fs::create_dir_all(root).map_err(|e| StoreError::io(root, e))?;
    let checkpoint = Checkpoint::load(&root.join("checkpoint"))?;
    let (abort, crashed) = AbortMarker::create(root)?;
    let mut commit_log = CommitLog::open(
        root,
        CommitLogConfig {
            file_size: config.mapped_file_size_commit_log,
            max_message_size: config.max_message_size,
        },
    )?;
    commit_log.set_write_through(config.flush_disk_type == FlushDiskType::SyncFlush);
    let mut queues = load_consume_queues(config)?;
    let mut index = if config.message_index_enable {
        let mut index = IndexService::open(
            root.join("index"),
            config.max_hash_slot_num as u32,
            config.max_index_num as u32,
        )?;
        if crashed {
            index.recover(checkpoint.index_msg_timestamp)?;
        }
        Some(index)
    } else {
        None
    };

    let start = if crashed {
        commit_log.recovery_start(checkpoint.min_timestamp())
    } else {
        commit_log.clean_recovery_start()
    };
    let check_crc = crashed && config.check_crc_on_recover;
    let end = if crashed && owner == LogOwner::Replica {
        commit_log.recover_replica(start, check_crc)?
    } else {
        commit_log.recover(start, check_crc, |_| {})?
    };
    let mut referenced = 0;
    for cq in queues.values_mut() {
        referenced = referenced.max(cq.recover(end)?);
    }
    // After a crash everything from the trusted point is dispatched again (units already
    // there are skipped); after a clean stop only what the queues do not reference yet.
    let from = if crashed {
        start
    } else {
        referenced.max(commit_log.reader().min_offset())
    };
    let reader = commit_log.reader();
    let delays = config.delay_level_millis();
    let mut failure = None;
    let mut at = from;
    while at < end && failure.is_none() {
        let next = reader.scan(at, 4096, |info| {
            if failure.is_none() {
                if let Err(e) = dispatch_one(&info, config, &delays, &mut queues, index.as_mut()) {
                    failure = Some(e);
                }
            }
        });
        if next == at {
            break;
        }
        at = next;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    for ((topic, queue_id), cq) in &queues {
        commit_log.set_queue_offset(topic, *queue_id, cq.reader().max_offset());
    }
    tracing::info!(
        root = %root.display(),
        crashed,
        commit_log_end = end,
        redispatched_from = from,
        consume_queues = queues.len(),
        "store recovered"
    );
    Ok(RecoveredStore {
        config: config.clone(),
        commit_log,
        consume_queues: queues,
        index,
        checkpoint,
        abort,
        crashed,
        dispatched_to: at.max(from),
    })
}

/// The store driven synchronously: append, dispatch, flush, shut down.
pub struct MessageStore {
    inner: RecoveredStore,
}

impl MessageStore {
    pub fn open(config: &StoreConfig) -> StoreResult<Self> {
        Ok(MessageStore {
            inner: open(config)?,
        })
    }

    pub fn recovered(&self) -> &RecoveredStore {
        &self.inner
    }

    pub fn put(
        &mut self,
        msgs: &[MessageToStore],
        store_timestamp: i64,
    ) -> StoreResult<AppendResult> {
        self.inner.commit_log.append(msgs, store_timestamp)
    }

    /// Dispatches everything appended so far.
    pub fn dispatch(&mut self) -> StoreResult<()> {
        let reader = self.inner.commit_log.reader();
        let s = &mut self.inner;
        let delays = s.config.delay_level_millis();
        let mut failure = None;
        loop {
            let at = s.dispatched_to;
            let next = reader.scan(at, 4096, |info| {
                if failure.is_none() {
                    if let Err(e) = dispatch_one(
                        &info,
                        &s.config,
                        &delays,
                        &mut s.consume_queues,
                        s.index.as_mut(),
                    ) {
                        failure = Some(e);
                    }
                }
            });
            s.dispatched_to = next;
            if let Some(e) = failure {
                return Err(e);
            }
            if next == at {
                return Ok(());
            }
        }
    }

    pub fn consume_queue(&self, topic: &str, queue_id: i32) -> Option<&ConsumeQueue> {
        self.inner.consume_queues.get(&(topic.to_owned(), queue_id))
    }

    pub fn consume_queues(&self) -> &ConsumeQueues {
        &self.inner.consume_queues
    }

    pub fn commit_log(&self) -> &CommitLog {
        &self.inner.commit_log
    }

    pub fn index(&self) -> Option<&IndexService> {
        self.inner.index.as_ref()
    }

    /// Flushes the commit log, consume queues and index, then writes the checkpoint.
    pub fn flush(&mut self, store_timestamp: i64) -> StoreResult<()> {
        self.inner.commit_log.flush()?;
        for cq in self.inner.consume_queues.values() {
            cq.flush()?;
        }
        let mut cp = self.inner.checkpoint;
        if let Some(index) = &self.inner.index {
            index.flush()?;
            cp.index_msg_timestamp = index.checkpoint_index_timestamp();
        }
        cp.physic_msg_timestamp = store_timestamp;
        cp.logics_msg_timestamp = store_timestamp;
        cp.store(&self.inner.config.store_path_root_dir.join("checkpoint"))?;
        self.inner.checkpoint = cp;
        Ok(())
    }

    /// A clean stop: dispatch, flush, checkpoint, remove the abort marker.
    pub fn shutdown(mut self, store_timestamp: i64) -> StoreResult<()> {
        self.dispatch()?;
        self.flush(store_timestamp)?;
        self.inner.abort.remove()
    }
}
