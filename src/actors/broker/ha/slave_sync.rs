//! SlaveSynchronize: a slave copies its master's metadata every 10 s, starting 3 s after
//! boot (Java's `BrokerController.handleSlaveSynchronize`): topic configs
//! (GET_ALL_TOPIC_CONFIG 21), consumer offsets (GET_ALL_CONSUMER_OFFSET 43), delay offsets
//! (GET_ALL_DELAY_OFFSET 45) and subscription groups (GET_ALL_SUBSCRIPTIONGROUP_CONFIG
//! 201), from the master address the name server answered to its registration.
//!
//! Consumer offsets are merged by keeping the larger of the slave's and the master's:
//! Java overwrites the slave's table, so offsets consumers committed on the slave while
//! the master was down are thrown away the moment the master returns, and those consumers
//! read again what they had already consumed. Offsets only move forward in normal use, so
//! the larger one is the consumer's real progress. (An admin reset to an earlier offset
//! reaches the slave only once its consumers commit past it again.)
//!
//! Mailbox: capacity [`SLAVE_SYNCHRONIZE`](crate::actors::broker::capacity::SLAVE_SYNCHRONIZE);
//! nothing is sent to it but panic injection: it runs on its own timer, one round at a time.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::MasterAddrs;
use crate::actors::broker::meta::consumer_offsets::ConsumerOffsets;
use crate::actors::broker::meta::subscription_group::{
    GroupView, PutGroup, SubscriptionGroupManager,
};
use crate::actors::broker::meta::topic_config::{PutTopic, TopicConfigManager, TopicView};
use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{Mailbox, Supervision};
use crate::protocol::body::broker::{
    ConsumerOffsetWrapper, DelayOffsetWrapper, SubscriptionGroupWrapper,
};
use crate::protocol::body::fastjson;
use crate::protocol::body::register::TopicConfigSerializeWrapper;
use crate::protocol::code::{request, response};
use crate::protocol::RemotingCommand;
use crate::remoting_client::RemotingClient;

/// Java's schedule: first round 3 s after start, then every 10 s.
pub const FIRST_ROUND: Duration = Duration::from_secs(3);
pub const PERIOD: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(3);

/// What a round updates.
#[derive(Clone)]
pub struct SyncTargets {
    pub topics: Arc<TopicView>,
    pub topic_manager: Mailbox<TopicConfigManager>,
    pub groups: Arc<GroupView>,
    pub group_manager: Mailbox<SubscriptionGroupManager>,
    pub offsets: Arc<ConsumerOffsets>,
    /// delayOffset.json, written as Java's slave writes it.
    pub delay_offset_path: PathBuf,
}

pub struct SlaveSynchronize {
    sup: Supervision,
    master: Arc<MasterAddrs>,
    targets: SyncTargets,
    client: RemotingClient,
    running: bool,
}

impl SlaveSynchronize {
    pub fn new(sup: Supervision, master: Arc<MasterAddrs>, targets: SyncTargets) -> Self {
        SlaveSynchronize {
            sup,
            master,
            targets,
            client: RemotingClient::default(),
            running: false,
        }
    }

    fn round(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            return;
        }
        let Some(addr) = self.master.broker() else {
            return;
        };
        self.running = true;
        let (client, targets) = (self.client.clone(), self.targets.clone());
        let fut = async move {
            if let Err(e) = sync_all(&client, &addr, &targets).await {
                tracing::warn!(master = %addr, error = %e, "slave metadata sync failed");
            }
        };
        ctx.spawn(catch_panics(fut.into_actor(self).map(|_, act, _| {
            act.running = false;
        })));
    }
}

impl Actor for SlaveSynchronize {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.running = false;
        ctx.run_later(FIRST_ROUND, |act, ctx| {
            act.round(ctx);
            ctx.run_interval(PERIOD, |act, ctx| act.round(ctx));
        });
    }
}

crate::supervised_actor!(SlaveSynchronize);

async fn fetch(client: &RemotingClient, addr: &str, code: i32) -> Result<Vec<u8>, String> {
    let r = client
        .invoke(addr, RemotingCommand::request(code), TIMEOUT)
        .await
        .map_err(|e| format!("request {code}: {e}"))?;
    if r.code != response::SUCCESS {
        return Err(format!("request {code} answered {} {:?}", r.code, r.remark));
    }
    Ok(r.body.to_vec())
}

async fn sync_all(client: &RemotingClient, addr: &str, t: &SyncTargets) -> Result<(), String> {
    let body = fetch(client, addr, request::GET_ALL_TOPIC_CONFIG).await?;
    let topics: TopicConfigSerializeWrapper =
        fastjson::from_json(&body).map_err(|e| e.to_string())?;
    let (mut topics_changed, mut groups_changed) = (0, 0);
    for (name, config) in topics.topic_config_table {
        if t.topics.get(&name).as_ref() != Some(&config) {
            topics_changed += 1;
            t.topic_manager
                .ask(PutTopic(config))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        }
    }

    match fetch(client, addr, request::GET_ALL_CONSUMER_OFFSET).await {
        Ok(body) => {
            let offsets = ConsumerOffsetWrapper::decode(&body).map_err(|e| e.to_string())?;
            merge_offsets(&t.offsets, &offsets);
        }
        // A master without the request (it is not in every broker) still syncs the rest.
        Err(e) => tracing::debug!(error = %e, "consumer offsets not synced"),
    }

    match fetch(client, addr, request::GET_ALL_DELAY_OFFSET).await {
        Ok(body) => {
            let delay = DelayOffsetWrapper::decode(&body).map_err(|e| e.to_string())?;
            let path = t.delay_offset_path.clone();
            tokio::task::spawn_blocking(move || crate::json_file::store(&path, &delay.encode()))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        }
        Err(e) => tracing::debug!(error = %e, "delay offsets not synced"),
    }

    let body = fetch(client, addr, request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG).await?;
    let groups: SubscriptionGroupWrapper = fastjson::from_json(&body).map_err(|e| e.to_string())?;
    for (name, config) in groups.subscription_group_table {
        if t.groups.get(&name).as_ref() != Some(&config) {
            groups_changed += 1;
            t.group_manager
                .ask(PutGroup(config))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        }
    }
    if topics_changed + groups_changed > 0 {
        tracing::info!(
            master = addr,
            topics_changed,
            groups_changed,
            "slave metadata synchronized from the master"
        );
    }
    Ok(())
}

/// Keeps, for every queue, the larger of the slave's and the master's offset.
pub fn merge_offsets(local: &ConsumerOffsets, master: &ConsumerOffsetWrapper) {
    for (key, queues) in &master.offset_table {
        let Some((topic, group)) = key.split_once('@') else {
            continue;
        };
        for (queue, offset) in queues {
            if local
                .query(group, topic, *queue)
                .is_none_or(|mine| mine < *offset)
            {
                local.commit(group, topic, *queue, *offset);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_committed_on_the_slave_are_not_rolled_back_by_the_master() {
        let local = ConsumerOffsets::default();
        local.commit("g", "T", 0, 50);
        local.commit("g", "T", 1, 5);
        let mut master = ConsumerOffsetWrapper::default();
        master.offset_table.insert(
            "T@g".into(),
            [(0, 40), (1, 9), (2, 3)].into_iter().collect(),
        );
        merge_offsets(&local, &master);
        assert_eq!(
            local.query("g", "T", 0),
            Some(50),
            "the slave's progress stays"
        );
        assert_eq!(
            local.query("g", "T", 1),
            Some(9),
            "the master's progress is taken"
        );
        assert_eq!(local.query("g", "T", 2), Some(3));
    }
}
