//! TopicConfigManager: the broker's topics (`config/topics.json`). One actor owns changes
//! and persists them; every request reads the current table through [`TopicView`], an
//! atomically swapped snapshot, without a hop. A change bumps the data version and tells
//! the Registrar, which re-registers with the name servers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use arc_swap::ArcSwap;

use crate::actors::runtime::{guarded, Supervision};
use crate::clock::now_millis;
use crate::json_file;
use crate::protocol::body::fastjson::{from_json, to_json, JsonBody};
use crate::protocol::body::register::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use crate::store::{StoreError, StoreResult};

pub use crate::protocol::flag::perm::{PERM_INHERIT, PERM_READ, PERM_WRITE};
pub use crate::protocol::topic::*;

/// The current topics, readable from any thread.
#[derive(Debug)]
pub struct TopicView {
    table: ArcSwap<TopicConfigSerializeWrapper>,
}

impl TopicView {
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.table.load().topic_config_table.get(topic).cloned()
    }

    pub fn snapshot(&self) -> Arc<TopicConfigSerializeWrapper> {
        self.table.load_full()
    }

    pub fn data_version(&self) -> DataVersion {
        self.table.load().data_version
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
    path: PathBuf,
    changed: Option<Recipient<TopicsChanged>>,
}

/// Sent to the Registrar after every change.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct TopicsChanged;

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
                table: ArcSwap::from_pointee(wrapper),
            }),
            path,
        ))
    }

    pub fn new(sup: Supervision, view: Arc<TopicView>, path: PathBuf) -> Self {
        TopicConfigManager {
            sup,
            view,
            path,
            changed: None,
        }
    }

    fn update(
        &mut self,
        f: impl FnOnce(&mut BTreeMap<String, TopicConfig>) -> bool,
    ) -> StoreResult<bool> {
        let mut next = (*self.view.table.load_full()).clone();
        if !f(&mut next.topic_config_table) {
            return Ok(false);
        }
        next.data_version = DataVersion {
            counter: next.data_version.counter + 1,
            timestamp: now_millis(),
            state_version: next.data_version.state_version,
        };
        json_file::store(&self.path, &next.encode())?;
        self.view.table.store(Arc::new(next));
        if let Some(r) = &self.changed {
            let _ = r.try_send(TopicsChanged);
        }
        Ok(true)
    }
}

impl Actor for TopicConfigManager {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        // Persist the system topics added at load.
        let snapshot = self.view.snapshot();
        if let Err(e) = json_file::store(&self.path, &to_json(&*snapshot)) {
            tracing::error!(error = %e, "writing topics.json failed");
        }
    }
}

crate::supervised_actor!(TopicConfigManager);

fn restarting_error() -> StoreError {
    StoreError::InvalidMessage("topic manager restarting".into())
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

impl Handler<PutTopic> for TopicConfigManager {
    type Result = StoreResult<()>;
    fn handle(&mut self, msg: PutTopic, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            self.update(|t| {
                let same = t.get(&msg.0.topic_name) == Some(&msg.0);
                t.insert(msg.0.topic_name.clone(), msg.0);
                !same
            })
            .map(|_| ())
        })
        .unwrap_or_else(|| Err(restarting_error()))
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

impl Handler<EnsureTopic> for TopicConfigManager {
    type Result = StoreResult<Option<TopicConfig>>;
    fn handle(&mut self, msg: EnsureTopic, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            let name = match &msg {
                EnsureTopic::FromTemplate { topic, .. } => topic.clone(),
                EnsureTopic::Exact(t) => t.topic_name.clone(),
            };
            if let Some(t) = self.view.get(&name) {
                return Ok(Some(t));
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
            Ok(Some(created))
        })
        .unwrap_or_else(|| Err(restarting_error()))
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
