//! Consumer progress: `topic@group` → queue id → next offset to consume, kept in a
//! concurrent map that pulls and UPDATE_CONSUMER_OFFSET write without a hop, and persisted
//! to `config/consumerOffset.json` every `flushConsumerOffsetInterval` and at shutdown by
//! the ConsumerOffsetManager actor (in fastjson's form: unquoted queue-id keys).
//!
//! On a slave it also keeps the offsets clients committed there (they do only while the
//! master is out of their routes), in `config/consumerOffsetHandBack.json`, until
//! SlaveSynchronize has handed them back to the master: until then the master's copy of
//! those queues does not overwrite them ([`ConsumerOffsets::follow_master`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use dashmap::DashMap;

use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{guarded, Supervision};
use crate::json_file;
use crate::protocol::body::fastjson::from_json;
use crate::store::StoreResult;

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

/// The offset table, and (in memory only) how far each group has pulled.
#[derive(Debug, Default)]
pub struct ConsumerOffsets {
    table: DashMap<String, BTreeMap<i32, i64>>,
    /// `topic@group` → queue → next offset a pull will hand out (RocketMQ 5.x's pull
    /// offset), for the ready and inflight metrics.
    pulled: DashMap<String, BTreeMap<i32, i64>>,
    /// Slave only: `topic@group` → queue → offset a client committed on this slave that
    /// the master has not taken yet.
    hand_back: DashMap<String, BTreeMap<i32, i64>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct OffsetFile {
    offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl ConsumerOffsets {
    pub fn load(root: &std::path::Path) -> StoreResult<(Arc<Self>, PathBuf)> {
        let path = root.join("config").join("consumerOffset.json");
        let file = json_file::load(&path, |b| {
            from_json::<OffsetFile>(b).map_err(|e| e.to_string())
        })?
        .unwrap_or_default();
        let offsets = ConsumerOffsets::default();
        for (k, v) in file.offset_table {
            offsets.table.insert(k, v);
        }
        let pending = json_file::load(&hand_back_path(&path), |b| {
            from_json::<OffsetFile>(b).map_err(|e| e.to_string())
        })?
        .unwrap_or_default();
        for (k, v) in pending.offset_table {
            offsets.hand_back.insert(k, v);
        }
        Ok((Arc::new(offsets), path))
    }

    /// A client's commit on a slave: taken, and remembered for the master.
    pub fn commit_on_slave(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        // Marked before it is written, so a concurrent follow_master either sees the mark
        // or is overwritten by this commit.
        self.hand_back
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        self.commit(group, topic, queue_id, offset);
    }

    /// A slave hands back an offset committed on it while this master was down: it is
    /// taken only if it is ahead of this master's. Returns the offset now stored.
    pub fn commit_larger(&self, group: &str, topic: &str, queue_id: i32, offset: i64) -> i64 {
        let mut queues = self.table.entry(key(topic, group)).or_default();
        let stored = queues.entry(queue_id).or_insert(offset);
        *stored = (*stored).max(offset);
        *stored
    }

    pub fn has_hand_back(&self) -> bool {
        !self.hand_back.is_empty()
    }

    /// Offsets committed on this slave and not yet handed back: `(group, topic, queue,
    /// offset)`.
    pub fn to_hand_back(&self) -> Vec<(String, String, i32, i64)> {
        let mut v = Vec::new();
        for e in self.hand_back.iter() {
            let Some((topic, group)) = e.key().rsplit_once('@') else {
                continue;
            };
            for (q, o) in e.value() {
                v.push((group.to_owned(), topic.to_owned(), *q, *o));
            }
        }
        v
    }

    /// The master took `offset`: forget it, unless a client has committed again since.
    pub fn handed_back(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let k = key(topic, group);
        if let Some(mut queues) = self.hand_back.get_mut(&k) {
            if queues.get(&queue_id) == Some(&offset) {
                queues.remove(&queue_id);
            }
        }
        self.hand_back.remove_if(&k, |_, queues| queues.is_empty());
    }

    /// A slave takes its master's offsets as they are (so a reset on the master reaches
    /// it), except for queues whose offsets were committed here and not yet handed back.
    /// Queues the master does not have are kept, as Java's putAll keeps them.
    pub fn follow_master(&self, master: &BTreeMap<String, BTreeMap<i32, i64>>) {
        for (k, queues) in master {
            let mut mine = self.table.entry(k.clone()).or_default();
            let pending = self.hand_back.get(k);
            for (q, o) in queues {
                if !pending.as_ref().is_some_and(|p| p.contains_key(q)) {
                    mine.insert(*q, *o);
                }
            }
        }
    }

    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.table
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
    }

    /// Records that `group` has been handed the messages of a queue up to `next`.
    pub fn commit_pull(&self, group: &str, topic: &str, queue_id: i32, next: i64) {
        let k = key(topic, group);
        if let Some(mut e) = self.pulled.get_mut(&k) {
            e.insert(queue_id, next);
            return;
        }
        self.pulled.entry(k).or_default().insert(queue_id, next);
    }

    /// How far `group` has pulled a queue, if it ever pulled it from this broker.
    pub fn query_pull(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.pulled.get(&key(topic, group))?.get(&queue_id).copied()
    }

    /// Every `(topic, group)` with committed offsets.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .table
            .iter()
            .filter_map(|e| {
                e.key()
                    .rsplit_once('@')
                    .map(|(t, g)| (t.to_owned(), g.to_owned()))
            })
            .collect();
        v.sort();
        v
    }

    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.table.get(&key(topic, group))?.get(&queue_id).copied()
    }

    /// Every queue's offset of a group on a topic.
    pub fn offsets_of(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.table
            .get(&key(topic, group))
            .map(|e| e.value().clone())
            .unwrap_or_default()
    }

    /// Topics a group has offsets for.
    pub fn topics_of(&self, group: &str) -> Vec<String> {
        let suffix = format!("@{group}");
        self.table
            .iter()
            .filter_map(|e| e.key().strip_suffix(&suffix).map(str::to_owned))
            .collect()
    }

    /// Groups with offsets on a topic.
    pub fn groups_of(&self, topic: &str) -> Vec<String> {
        let prefix = format!("{topic}@");
        self.table
            .iter()
            .filter_map(|e| e.key().strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    /// Forgets every offset of `group` (DELETE_SUBSCRIPTIONGROUP with removeOffset).
    pub fn remove_group(&self, group: &str) {
        let suffix = format!("@{group}");
        self.table.retain(|k, _| !k.ends_with(&suffix));
        self.pulled.retain(|k, _| !k.ends_with(&suffix));
    }

    pub fn remove_topic(&self, topic: &str) {
        let prefix = format!("{topic}@");
        self.table.retain(|k, _| !k.starts_with(&prefix));
        self.pulled.retain(|k, _| !k.starts_with(&prefix));
    }

    /// `{"offsetTable":{"T@g":{0:5,1:7}}}`, keys sorted, as fastjson writes it.
    pub fn encode(&self) -> Vec<u8> {
        encode_table(&self.table)
    }

    pub fn persist(&self, path: &std::path::Path) -> StoreResult<()> {
        json_file::store(path, &self.encode())?;
        let pending = hand_back_path(path);
        if !self.hand_back.is_empty() {
            json_file::store(&pending, &encode_table(&self.hand_back))?;
        } else if pending.exists() {
            if let Err(e) = std::fs::remove_file(&pending) {
                tracing::warn!(error = %e, path = %pending.display(), "removing a handed-back offset file failed");
            }
        }
        Ok(())
    }
}

/// Where a slave keeps the offsets it has still to hand back, beside consumerOffset.json.
fn hand_back_path(offsets: &std::path::Path) -> PathBuf {
    offsets.with_file_name("consumerOffsetHandBack.json")
}

fn encode_table(table: &DashMap<String, BTreeMap<i32, i64>>) -> Vec<u8> {
    let mut entries: Vec<(String, BTreeMap<i32, i64>)> = table
        .iter()
        .map(|e| (e.key().clone(), e.value().clone()))
        .collect();
    entries.sort();
    let mut s = String::from("{\n\t\"offsetTable\":{");
    for (i, (k, queues)) in entries.iter().enumerate() {
        let _ = write!(
            s,
            "{}\n\t\t{}:{{",
            if i == 0 { "" } else { "," },
            serde_json::to_string(k).unwrap_or_default()
        );
        for (j, (q, o)) in queues.iter().enumerate() {
            let _ = write!(s, "{}{q}:{o}", if j == 0 { "" } else { "," });
        }
        s.push('}');
    }
    s.push_str("\n\t}\n}");
    s.into_bytes()
}

/// Persists the offsets on a timer.
pub struct ConsumerOffsetManager {
    sup: Supervision,
    offsets: Arc<ConsumerOffsets>,
    path: PathBuf,
    interval: Duration,
}

impl ConsumerOffsetManager {
    pub fn new(
        sup: Supervision,
        offsets: Arc<ConsumerOffsets>,
        path: PathBuf,
        interval: Duration,
    ) -> Self {
        ConsumerOffsetManager {
            sup,
            offsets,
            path,
            interval,
        }
    }

    fn persist(&self, ctx: &mut Context<Self>) {
        let (offsets, path) = (self.offsets.clone(), self.path.clone());
        ctx.wait(catch_panics(
            async move {
                match tokio::task::spawn_blocking(move || offsets.persist(&path)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "persisting consumerOffset.json failed")
                    }
                    Err(e) => tracing::error!(error = %e, "offset writer failed"),
                }
            }
            .into_actor(self),
        ));
    }
}

impl Actor for ConsumerOffsetManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.interval, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.persist(ctx));
        });
    }
}

crate::supervised_actor!(ConsumerOffsetManager);
crate::admits!(ConsumerOffsetManager: PersistOffsets);

/// Write the offsets now (shutdown).
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct PersistOffsets;

impl Handler<PersistOffsets> for ConsumerOffsetManager {
    type Result = StoreResult<()>;
    fn handle(&mut self, _: PersistOffsets, _: &mut Context<Self>) -> Self::Result {
        self.offsets.persist(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_persist_in_fastjsons_form_and_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let (o, path) = ConsumerOffsets::load(dir.path()).unwrap();
        o.commit("cg1", "TopicTest", 1, 37961);
        o.commit("cg1", "TopicTest", 0, 37960);
        o.commit("cg1", "%RETRY%cg1", 0, 0);
        o.persist(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"TopicTest@cg1\":{0:37960,1:37961}"),
            "{text}"
        );
        let (back, _) = ConsumerOffsets::load(dir.path()).unwrap();
        assert_eq!(back.query("cg1", "TopicTest", 1), Some(37961));
        assert_eq!(back.topics_of("cg1").len(), 2);
        assert_eq!(back.groups_of("TopicTest"), vec!["cg1".to_string()]);
    }

    #[test]
    fn offsets_to_hand_back_survive_a_slave_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (o, path) = ConsumerOffsets::load(dir.path()).unwrap();
        o.commit_on_slave("g", "T", 0, 50);
        o.persist(&path).unwrap();
        let (back, _) = ConsumerOffsets::load(dir.path()).unwrap();
        assert_eq!(back.to_hand_back(), vec![("g".into(), "T".into(), 0, 50)]);
        back.handed_back("g", "T", 0, 50);
        back.persist(&path).unwrap();
        assert!(!hand_back_path(&path).exists());
        let (again, _) = ConsumerOffsets::load(dir.path()).unwrap();
        assert!(!again.has_hand_back());
        assert_eq!(again.query("g", "T", 0), Some(50));
    }

    #[test]
    fn java_written_offset_files_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/consumerOffset.json"),
            "{\n\t\"dataVersion\":{\"counter\":1448,\"stateVersion\":0,\"timestamp\":1736661762584},\n\t\"groupTopicMap\":{\"cg1\":[\"TopicTest\"]},\n\t\"offsetTable\":{\n\t\t\"TopicTest@cg1\":{0:37960,1:37961,2:37959,3:37959}\n\t}\n}",
        )
        .unwrap();
        let (o, _) = ConsumerOffsets::load(dir.path()).unwrap();
        assert_eq!(o.query("cg1", "TopicTest", 2), Some(37959));
    }
}
