//! SubscriptionGroupManager: consumer groups' settings (`config/subscriptionGroup.json`):
//! retry queues, maximum reconsume times, whether consuming is enabled. Changes go through
//! the actor and are written by a coalescing writer off the event loop ([`CoalescedFile`]);
//! requests read the [`GroupView`] snapshot without a hop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use arc_swap::ArcSwap;

use crate::actors::coalesced_file::CoalescedFile;
use crate::actors::runtime::{guarded, Supervision};
use crate::json_file;
use crate::protocol::body::broker::{SubscriptionGroupConfig, SubscriptionGroupWrapper};
use crate::protocol::body::fastjson::{from_json, to_json};
use crate::protocol::body::register::DataVersion;
use crate::store::{StoreError, StoreResult};

/// Groups every broker knows (RocketMQ's SubscriptionGroupManager defaults).
const SYSTEM_GROUPS: [&str; 5] = [
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONSAPI_PULL",
    "CID_RMQ_SYS_TRANS",
];

#[derive(Debug)]
pub struct GroupView {
    table: ArcSwap<SubscriptionGroupWrapper>,
}

impl GroupView {
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.table
            .load()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    pub fn snapshot(&self) -> Arc<SubscriptionGroupWrapper> {
        self.table.load_full()
    }
}

pub fn group(name: &str) -> SubscriptionGroupConfig {
    SubscriptionGroupConfig {
        group_name: name.to_owned(),
        ..Default::default()
    }
}

pub struct SubscriptionGroupManager {
    sup: Supervision,
    view: Arc<GroupView>,
    file: Arc<CoalescedFile>,
}

impl SubscriptionGroupManager {
    pub fn load(root: &std::path::Path) -> StoreResult<(Arc<GroupView>, PathBuf)> {
        let path = root.join("config").join("subscriptionGroup.json");
        let mut wrapper = json_file::load(&path, |b| {
            from_json::<SubscriptionGroupWrapper>(b).map_err(|e| e.to_string())
        })?
        .unwrap_or_default();
        for g in SYSTEM_GROUPS {
            wrapper
                .subscription_group_table
                .entry(g.to_owned())
                .or_insert_with(|| group(g));
        }
        Ok((
            Arc::new(GroupView {
                table: ArcSwap::from_pointee(wrapper),
            }),
            path,
        ))
    }

    pub fn new(sup: Supervision, view: Arc<GroupView>, file: Arc<CoalescedFile>) -> Self {
        SubscriptionGroupManager { sup, view, file }
    }

    fn put(&mut self, g: SubscriptionGroupConfig) -> StoreResult<()> {
        self.update(|table| {
            table.insert(g.group_name.clone(), g);
        })
    }

    /// Applies `change` to the table, bumps its version, publishes and persists it.
    fn update(
        &mut self,
        change: impl FnOnce(&mut BTreeMap<String, SubscriptionGroupConfig>),
    ) -> StoreResult<()> {
        let mut next = (*self.view.table.load_full()).clone();
        change(&mut next.subscription_group_table);
        next.data_version = DataVersion {
            counter: next.data_version.counter + 1,
            timestamp: crate::clock::now_millis(),
            state_version: next.data_version.state_version,
        };
        let next = Arc::new(next);
        self.view.table.store(next.clone());
        self.file.submit(move || to_json(&*next).to_vec());
        Ok(())
    }
}

impl Actor for SubscriptionGroupManager {
    type Context = Context<Self>;
}

crate::supervised_actor!(SubscriptionGroupManager);
crate::admits!(SubscriptionGroupManager: PutGroup, EnsureGroup, DeleteGroup);

fn restarting_error() -> StoreError {
    StoreError::Unavailable("the subscription group manager".into())
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP.
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct PutGroup(pub SubscriptionGroupConfig);

impl Handler<PutGroup> for SubscriptionGroupManager {
    type Result = StoreResult<()>;
    fn handle(&mut self, m: PutGroup, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| self.put(m.0)).unwrap_or_else(|| Err(restarting_error()))
    }
}

/// The group, created with defaults if unknown (autoCreateSubscriptionGroup).
#[derive(Message)]
#[rtype(result = "StoreResult<SubscriptionGroupConfig>")]
pub struct EnsureGroup(pub String);

impl Handler<EnsureGroup> for SubscriptionGroupManager {
    type Result = StoreResult<SubscriptionGroupConfig>;
    fn handle(&mut self, m: EnsureGroup, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            if let Some(g) = self.view.get(&m.0) {
                return Ok(g);
            }
            let g = group(&m.0);
            tracing::info!(group = %m.0, "subscription group created");
            self.put(g.clone())?;
            Ok(g)
        })
        .unwrap_or_else(|| Err(restarting_error()))
    }
}

/// DELETE_SUBSCRIPTIONGROUP: answers whether the group existed.
#[derive(Message)]
#[rtype(result = "StoreResult<bool>")]
pub struct DeleteGroup(pub String);

impl Handler<DeleteGroup> for SubscriptionGroupManager {
    type Result = StoreResult<bool>;
    fn handle(&mut self, m: DeleteGroup, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            let mut existed = false;
            self.update(|table| existed = table.remove(&m.0).is_some())?;
            if existed {
                tracing::info!(group = %m.0, "subscription group deleted");
            }
            Ok(existed)
        })
        .unwrap_or_else(|| Err(restarting_error()))
    }
}
