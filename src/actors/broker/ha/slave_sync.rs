//! SlaveSynchronize: a slave copies its master's metadata every 10 s, starting 3 s after
//! boot (Java's `BrokerController.handleSlaveSynchronize`): topic configs
//! (GET_ALL_TOPIC_CONFIG 21), consumer offsets (GET_ALL_CONSUMER_OFFSET 43), delay offsets
//! (GET_ALL_DELAY_OFFSET 45) and subscription groups (GET_ALL_SUBSCRIPTIONGROUP_CONFIG
//! 201), from the master address the name server answered to its registration.
//!
//! Consumer offsets: Java overwrites the slave's table with the master's, so offsets
//! consumers committed on the slave while the master was down are thrown away when the
//! master returns, and the master never learns them: a consumer that restarts, or a queue
//! that a rebalance moves, asks the master and reads again what was consumed. Here the
//! slave remembers the queues clients committed on it
//! ([`ConsumerOffsets::commit_on_slave`]) and, before each round and every second while
//! any are left, hands them back to the master with UPDATE_CONSUMER_OFFSET marked
//! [`SLAVE_HAND_BACK`]; the master keeps the larger offset, and the slave forgets the
//! queue once the master has answered. The master's table then overwrites the slave's as
//! in Java, except for queues still to hand back, so a reset made on the master (to an
//! earlier offset) reaches the slave and is not undone, unless clients committed newer
//! offsets on the slave while the master was unreachable.
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
use crate::protocol::header::broker::{UpdateConsumerOffsetRequestHeader, SLAVE_HAND_BACK};
use crate::protocol::RemotingCommand;
use crate::remoting_client::RemotingClient;

/// Java's schedule: first round 3 s after start, then every 10 s.
pub const FIRST_ROUND: Duration = Duration::from_secs(3);
pub const PERIOD: Duration = Duration::from_secs(10);
/// How often offsets committed on the slave are offered to the master while any are left:
/// a consumer that starts after the master returns should find them there.
pub const HAND_BACK_PERIOD: Duration = Duration::from_secs(1);
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

    /// Hands back the offsets committed here, then (`full`) copies the master's metadata;
    /// one at a time, so the copy never sees a hand-back half done.
    fn round(&mut self, ctx: &mut Context<Self>, full: bool) {
        if self.running {
            return;
        }
        let Some(addr) = self.master.broker() else {
            return;
        };
        self.running = true;
        let (client, targets) = (self.client.clone(), self.targets.clone());
        let fut = async move {
            if let Err(e) = hand_back(&client, &addr, &targets.offsets).await {
                tracing::debug!(master = %addr, error = %e, "offsets not handed back yet");
            }
            if full {
                if let Err(e) = sync_all(&client, &addr, &targets).await {
                    tracing::warn!(master = %addr, error = %e, "slave metadata sync failed");
                }
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
            act.round(ctx, true);
            ctx.run_interval(PERIOD, |act, ctx| act.round(ctx, true));
        });
        ctx.run_interval(HAND_BACK_PERIOD, |act, ctx| {
            if act.targets.offsets.has_hand_back() {
                act.round(ctx, false);
            }
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

/// Offers the master every offset committed here and not yet handed back; stops at the
/// first failure (the master is still unreachable: the rest waits for the next round).
async fn hand_back(
    client: &RemotingClient,
    addr: &str,
    offsets: &ConsumerOffsets,
) -> Result<(), String> {
    let pending = offsets.to_hand_back();
    if pending.is_empty() {
        return Ok(());
    }
    for (group, topic, queue_id, offset) in &pending {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.clone(),
            topic: topic.clone(),
            queue_id: *queue_id,
            commit_offset: *offset,
        };
        let mut cmd = RemotingCommand::request_with(request::UPDATE_CONSUMER_OFFSET, &header);
        cmd.put_ext(SLAVE_HAND_BACK, "true");
        let r = client
            .invoke(addr, cmd, TIMEOUT)
            .await
            .map_err(|e| format!("handing back {topic}@{group} queue {queue_id}: {e}"))?;
        if r.code != response::SUCCESS {
            return Err(format!(
                "the master answered {} {:?} to a handed-back offset",
                r.code, r.remark
            ));
        }
        offsets.handed_back(group, topic, *queue_id, *offset);
    }
    tracing::info!(
        master = addr,
        queues = pending.len(),
        "offsets committed on this slave while the master was away handed back to it"
    );
    Ok(())
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
            t.offsets.follow_master(&offsets.offset_table);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn master_table(entries: &[(i32, i64)]) -> BTreeMap<String, BTreeMap<i32, i64>> {
        [("T@g".to_owned(), entries.iter().copied().collect())]
            .into_iter()
            .collect()
    }

    #[test]
    fn offsets_committed_on_the_slave_stay_until_handed_back() {
        let local = ConsumerOffsets::default();
        local.commit("g", "T", 0, 40);
        local.commit_on_slave("g", "T", 1, 50);
        local.follow_master(&master_table(&[(0, 30), (1, 9), (2, 3)]));
        assert_eq!(
            local.query("g", "T", 0),
            Some(30),
            "the master's table wins"
        );
        assert_eq!(local.query("g", "T", 1), Some(50), "not handed back yet");
        assert_eq!(local.query("g", "T", 2), Some(3));
        assert_eq!(local.to_hand_back(), vec![("g".into(), "T".into(), 1, 50)]);

        local.handed_back("g", "T", 1, 50);
        assert!(!local.has_hand_back());
        local.follow_master(&master_table(&[(1, 20)]));
        assert_eq!(
            local.query("g", "T", 1),
            Some(20),
            "once handed back, a reset on the master reaches the slave"
        );
    }

    #[test]
    fn a_commit_after_the_hand_back_started_is_handed_back_again() {
        let local = ConsumerOffsets::default();
        local.commit_on_slave("g", "T", 0, 50);
        let offered = local.to_hand_back();
        local.commit_on_slave("g", "T", 0, 60);
        for (g, t, q, o) in offered {
            local.handed_back(&g, &t, q, o);
        }
        assert_eq!(local.to_hand_back(), vec![("g".into(), "T".into(), 0, 60)]);
    }

    #[test]
    fn the_master_keeps_the_larger_of_a_handed_back_offset_and_its_own() {
        let master = ConsumerOffsets::default();
        master.commit("g", "T", 0, 70);
        assert_eq!(master.commit_larger("g", "T", 0, 50), 70);
        assert_eq!(master.commit_larger("g", "T", 0, 90), 90);
        assert_eq!(
            master.commit_larger("g", "T", 1, 5),
            5,
            "a queue it never had"
        );
        assert_eq!(master.query("g", "T", 1), Some(5));
    }
}
