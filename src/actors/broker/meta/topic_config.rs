//! TopicConfigManager: the broker's topics (`config/topics.json`). One actor owns changes
//! and hands them to a coalescing writer off the event loop ([`CoalescedFile`]: a change
//! is acknowledged once applied in memory; the file follows within one write); every
//! request reads the current table through [`TopicView`], an
//! atomically swapped snapshot, without a hop. A change bumps the data version and tells
//! the Registrar, which re-registers with the name servers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::actors::coalesced_file::CoalescedFile;
use crate::actors::runtime::{guarded, Supervision};
use crate::clock::now_millis;
use crate::json_file;
use crate::protocol::body::fastjson::{from_json, to_json, JsonBody};
use crate::protocol::body::register::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use crate::store::{StoreError, StoreResult};

pub use crate::protocol::flag::perm::{PERM_INHERIT, PERM_READ, PERM_WRITE};
pub use crate::protocol::topic::*;

/// The current topics, readable from any thread. A change is made in place under the
/// write lock (O(log n)), not by copying the table: with 100,000 topics a copy per change
/// made creating them quadratic. Whole-table snapshots (registration, topics.json, admin
/// listings) copy it, and those are coalesced, not per change.
#[derive(Debug)]
pub struct TopicView {
    table: RwLock<TopicConfigSerializeWrapper>,
}

impl TopicView {
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.table
            .read()
            .ok()?
            .topic_config_table
            .get(topic)
            .cloned()
    }

    pub fn snapshot(&self) -> Arc<TopicConfigSerializeWrapper> {
        Arc::new(self.table.read().map(|t| t.clone()).unwrap_or_default())
    }

    pub fn data_version(&self) -> DataVersion {
        self.table
            .read()
            .map(|t| t.data_version)
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.table
            .read()
            .map(|t| t.topic_config_table.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn topic(name: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm,
        topic_filter_type: "SINGLE_TAG".into(),
        ..Default::default()
    }
}

/// Topics every broker has (RocketMQ's TopicConfigManager constructor).
pub fn system_topics(
    cluster: &str,
    broker: &str,
    auto_create: bool,
    default_queues: i32,
) -> Vec<TopicConfig> {
    let mut v = vec![
        topic(SELF_TEST_TOPIC, 1, PERM_READ | PERM_WRITE),
        topic(BENCHMARK_TOPIC, 1024, PERM_READ | PERM_WRITE),
        topic(cluster, 16, PERM_READ | PERM_WRITE),
        topic(broker, 1, PERM_READ | PERM_WRITE),
        topic(OFFSET_MOVED_EVENT, 1, PERM_READ | PERM_WRITE),
        topic(SCHEDULE_TOPIC, 18, PERM_READ | PERM_WRITE),
        topic(TIMER_TOPIC, 1, PERM_READ | PERM_WRITE),
        topic(&format!("{cluster}_REPLY_TOPIC"), 1, PERM_READ | PERM_WRITE),
    ];
    if auto_create {
        v.push(topic(
            AUTO_CREATE_TOPIC_KEY,
            default_queues,
            PERM_INHERIT | PERM_READ | PERM_WRITE,
        ));
    }
    v
}

pub struct TopicConfigManager {
    sup: Supervision,
    view: Arc<TopicView>,
    file: Arc<CoalescedFile>,
    changed: Option<Recipient<TopicsChanged>>,
}

/// Sent to the Registrar after a topic is created or changed.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct TopicsChanged {
    pub topics: Vec<String>,
    /// Answered once the name servers have been told (or could not be in time).
    pub registered: Option<oneshot::Sender<()>>,
}

/// How long a topic creation waits for the name servers to know the topic before it is
/// answered anyway: long enough for a live name server on a loaded machine, short enough
/// that a dead one does not make a send outlast the client's 3 s timeout.
pub const REGISTRATION_WAIT: Duration = Duration::from_secs(1);

impl TopicConfigManager {
    /// Loads `config/topics.json` (or its backup) and adds the system topics.
    pub fn load(
        root: &std::path::Path,
        system: Vec<TopicConfig>,
    ) -> StoreResult<(Arc<TopicView>, PathBuf)> {
        let path = root.join("config").join("topics.json");
        let mut wrapper = json_file::load(&path, |b| {
            from_json::<TopicConfigSerializeWrapper>(b).map_err(|e| e.to_string())
        })?
        .unwrap_or_default();
        for t in system {
            wrapper
                .topic_config_table
                .entry(t.topic_name.clone())
                .or_insert(t);
        }
        if wrapper.data_version.timestamp == 0 {
            wrapper.data_version.timestamp = now_millis();
        }
        Ok((
            Arc::new(TopicView {
                table: RwLock::new(wrapper),
            }),
            path,
        ))
    }

    pub fn new(sup: Supervision, view: Arc<TopicView>, file: Arc<CoalescedFile>) -> Self {
        TopicConfigManager {
            sup,
            view,
            file,
            changed: None,
        }
    }

    fn update(
        &mut self,
        f: impl FnOnce(&mut BTreeMap<String, TopicConfig>) -> bool,
    ) -> StoreResult<bool> {
        {
            let Ok(mut table) = self.view.table.write() else {
                return Err(StoreError::Unavailable(
                    "the topic table (poisoned lock)".into(),
                ));
            };
            if !f(&mut table.topic_config_table) {
                return Ok(false);
            }
            table.data_version = DataVersion {
                counter: table.data_version.counter + 1,
                timestamp: now_millis(),
                state_version: table.data_version.state_version,
            };
        }
        // The writer takes its snapshot when it runs, so a burst of changes costs one copy
        // of the table per write, not one per change.
        let view = self.view.clone();
        self.file.submit(move || view.snapshot().encode().to_vec());
        Ok(true)
    }

    /// Tells the Registrar `topic` changed; the future ends once the name servers know
    /// it, or after [`REGISTRATION_WAIT`]. If the Registrar's mailbox is full the change
    /// goes out with the next periodic registration and nobody waits.
    fn register(&self, topic: String) -> impl std::future::Future<Output = ()> {
        let (tx, rx) = oneshot::channel();
        let sent = self.changed.as_ref().is_some_and(|r| {
            r.try_send(TopicsChanged {
                topics: vec![topic],
                registered: Some(tx),
            })
            .is_ok()
        });
        async move {
            if sent {
                let _ = tokio::time::timeout(REGISTRATION_WAIT, rx).await;
            }
        }
    }
}

impl Actor for TopicConfigManager {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        // Persist the system topics added at load.
        let view = self.view.clone();
        self.file
            .submit(move || to_json(&*view.snapshot()).to_vec());
    }
}

crate::supervised_actor!(TopicConfigManager);
crate::admits!(TopicConfigManager: NotifyChanges, PutTopic, DeleteTopic, EnsureTopic);

fn restarting_error() -> StoreError {
    StoreError::Unavailable("the topic config manager".into())
}

/// Tell `0` about every change.
#[derive(Message)]
#[rtype(result = "()")]
pub struct NotifyChanges(pub Recipient<TopicsChanged>);

impl Handler<NotifyChanges> for TopicConfigManager {
    type Result = ();
    fn handle(&mut self, msg: NotifyChanges, _: &mut Context<Self>) {
        self.changed = Some(msg.0);
    }
}

/// UPDATE_AND_CREATE_TOPIC.
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct PutTopic(pub TopicConfig);

/// Answered once the name servers know the change (bounded by [`REGISTRATION_WAIT`]), as
/// Java's `registerIncrementBrokerData` is synchronous.
impl Handler<PutTopic> for TopicConfigManager {
    type Result = ResponseFuture<StoreResult<()>>;
    fn handle(&mut self, msg: PutTopic, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let name = msg.0.topic_name.clone();
        let changed = guarded(&metrics, ctx, |_| {
            self.update(|t| {
                let same = t.get(&msg.0.topic_name) == Some(&msg.0);
                t.insert(msg.0.topic_name.clone(), msg.0);
                !same
            })
        })
        .unwrap_or_else(|| Err(restarting_error()));
        match changed {
            Ok(true) => {
                let registered = self.register(name);
                Box::pin(async move {
                    registered.await;
                    Ok(())
                })
            }
            other => Box::pin(async move { other.map(|_| ()) }),
        }
    }
}

/// DELETE_TOPIC_IN_BROKER.
#[derive(Message)]
#[rtype(result = "StoreResult<bool>")]
pub struct DeleteTopic(pub String);

impl Handler<DeleteTopic> for TopicConfigManager {
    type Result = StoreResult<bool>;
    fn handle(&mut self, msg: DeleteTopic, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            self.update(|t| t.remove(&msg.0).is_some())
        })
        .unwrap_or_else(|| Err(restarting_error()))
    }
}

/// Creates a topic a send or heartbeat needs, if it does not exist yet: from a template
/// topic with the INHERIT permission (TBW102), or as given for retry and DLQ topics.
#[derive(Message)]
#[rtype(result = "StoreResult<Option<TopicConfig>>")]
pub enum EnsureTopic {
    FromTemplate {
        topic: String,
        template: String,
        queue_nums: i32,
        topic_sys_flag: i32,
    },
    Exact(TopicConfig),
}

/// A created topic is answered once the name servers know it (bounded by
/// [`REGISTRATION_WAIT`]), so a producer that asks for its route next finds it.
impl Handler<EnsureTopic> for TopicConfigManager {
    type Result = ResponseFuture<StoreResult<Option<TopicConfig>>>;
    fn handle(&mut self, msg: EnsureTopic, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let outcome = guarded(&metrics, ctx, |_| {
            let name = match &msg {
                EnsureTopic::FromTemplate { topic, .. } => topic.clone(),
                EnsureTopic::Exact(t) => t.topic_name.clone(),
            };
            if let Some(t) = self.view.get(&name) {
                return Ok(Some((t, false)));
            }
            let created = match msg {
                EnsureTopic::Exact(t) => t,
                EnsureTopic::FromTemplate { topic: name, template, queue_nums, topic_sys_flag } => {
                    let Some(tpl) = self.view.get(&template) else { return Ok(None) };
                    if tpl.perm & PERM_INHERIT == 0 {
                        return Ok(None);
                    }
                    let queues = queue_nums.min(tpl.write_queue_nums).max(1);
                    TopicConfig {
                        topic_name: name,
                        read_queue_nums: queues,
                        write_queue_nums: queues,
                        perm: tpl.perm & !PERM_INHERIT,
                        topic_filter_type: tpl.topic_filter_type.clone(),
                        topic_sys_flag,
                        ..Default::default()
                    }
                }
            };
            tracing::info!(topic = %created.topic_name, queues = created.write_queue_nums, "topic created");
            self.update(|t| {
                t.insert(created.topic_name.clone(), created.clone());
                true
            })?;
            Ok(Some((created, true)))
        })
        .unwrap_or_else(|| Err(restarting_error()));
        match outcome {
            Ok(Some((created, true))) => {
                let registered = self.register(created.topic_name.clone());
                Box::pin(async move {
                    registered.await;
                    Ok(Some(created))
                })
            }
            other => Box::pin(async move { other.map(|o| o.map(|(t, _)| t)) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_rocketmqs_rules() {
        assert!(validate_topic("Topic_A-1|x%").is_ok());
        assert!(validate_topic("").is_err());
        assert!(validate_topic("bad topic").is_err());
        assert!(validate_topic(&"t".repeat(128)).is_err());
        assert!(validate_topic(&format!("%RETRY%{}", "g".repeat(200))).is_ok());
        assert!(send_forbidden("SCHEDULE_TOPIC_XXXX") && !send_forbidden("TopicTest"));
        assert!(send_forbidden("rmq_sys_wheel_timer"));
    }

    #[test]
    fn system_topics_include_the_auto_create_template() {
        let t = system_topics("DefaultCluster", "broker-a", true, 8);
        let tbw = t.iter().find(|t| t.topic_name == "TBW102").unwrap();
        assert_eq!((tbw.perm, tbw.write_queue_nums), (7, 8));
        assert!(!system_topics("c", "b", false, 8)
            .iter()
            .any(|t| t.topic_name == "TBW102"));
    }
}
