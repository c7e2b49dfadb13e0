//! The admin client: what `mqadmin` needs. Creates and deletes topics across a cluster's
//! masters, reads routes and the cluster list from the name servers, reports a group's
//! consumer progress, and finds messages by key or by offset message id.

use std::collections::BTreeMap;

use super::error::{ClientError, ClientResult};
use super::instance::ClientInstance;
use super::message::{decode_messages, MessageExt};
use crate::protocol::body::broker::{ConsumeStats, MessageQueue, OffsetWrapper};
use crate::protocol::body::route::{ClusterInfo, TopicRouteData};
use crate::protocol::code::{request, response};
use crate::protocol::flag::perm;
use crate::protocol::header::broker::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetConsumeStatsRequestHeader,
    QueryMessageRequestHeader, ViewMessageRequestHeader,
};
use crate::protocol::header::namesrv::DeleteTopicFromNamesrvRequestHeader;
use crate::protocol::message::decode_offset_msg_id;
use crate::protocol::topic::AUTO_CREATE_TOPIC_KEY;
use crate::protocol::RemotingCommand;

pub struct AdminClient {
    client: ClientInstance,
}

fn check(r: &RemotingCommand) -> ClientResult<()> {
    if r.code == response::SUCCESS {
        Ok(())
    } else {
        Err(ClientError::broker(r.code, r.remark.clone()))
    }
}

impl AdminClient {
    pub fn new(client: ClientInstance) -> Self {
        AdminClient { client }
    }

    fn namesrvs(&self) -> Vec<String> {
        crate::remoting_client::split_addrs(&self.client.config().namesrv_addr)
    }

    async fn ask_namesrv(&self, cmd: RemotingCommand) -> ClientResult<RemotingCommand> {
        let mut last = ClientError::NotStarted;
        for ns in self.namesrvs() {
            match self.client.invoke(&ns, cmd.clone()).await {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub async fn cluster_list(&self) -> ClientResult<ClusterInfo> {
        let r = self
            .ask_namesrv(RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO))
            .await?;
        check(&r)?;
        Ok(ClusterInfo::decode(&r.body)?)
    }

    pub async fn topic_route(&self, topic: &str) -> ClientResult<TopicRouteData> {
        Ok((*self.client.fetch_route(topic).await?).clone())
    }

    /// Master addresses of `cluster`'s brokers.
    pub async fn masters(&self, cluster: &str) -> ClientResult<Vec<String>> {
        let info = self.cluster_list().await?;
        let names = info
            .cluster_addr_table
            .get(cluster)
            .cloned()
            .unwrap_or_default();
        Ok(names
            .iter()
            .filter_map(|n| {
                info.broker_addr_table
                    .get(n)
                    .and_then(|b| b.broker_addrs.get(&0).cloned())
            })
            .collect())
    }

    /// UPDATE_AND_CREATE_TOPIC on every master of `cluster`.
    pub async fn create_topic(&self, cluster: &str, topic: &str, queues: i32) -> ClientResult<()> {
        let masters = self.masters(cluster).await?;
        if masters.is_empty() {
            return Err(ClientError::NoRoute(format!("cluster {cluster}")));
        }
        for addr in masters {
            let header = CreateTopicRequestHeader {
                topic: topic.to_owned(),
                default_topic: AUTO_CREATE_TOPIC_KEY.into(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm: perm::PERM_READ | perm::PERM_WRITE,
                topic_filter_type: "SINGLE_TAG".into(),
                topic_sys_flag: Some(0),
                order: Some(false),
                ..Default::default()
            };
            check(
                &self
                    .client
                    .invoke(
                        &addr,
                        RemotingCommand::request_with(request::UPDATE_AND_CREATE_TOPIC, &header),
                    )
                    .await?,
            )?;
        }
        Ok(())
    }

    /// DELETE_TOPIC_IN_BROKER on every master of `cluster`, then on the name servers.
    pub async fn delete_topic(&self, cluster: &str, topic: &str) -> ClientResult<()> {
        for addr in self.masters(cluster).await? {
            let cmd = RemotingCommand::request_with(
                request::DELETE_TOPIC_IN_BROKER,
                &DeleteTopicRequestHeader {
                    topic: topic.to_owned(),
                },
            );
            check(&self.client.invoke(&addr, cmd).await?)?;
        }
        for ns in self.namesrvs() {
            let header = DeleteTopicFromNamesrvRequestHeader {
                topic: topic.to_owned(),
                cluster_name: Some(cluster.to_owned()),
            };
            check(
                &self
                    .client
                    .invoke(
                        &ns,
                        RemotingCommand::request_with(request::DELETE_TOPIC_IN_NAMESRV, &header),
                    )
                    .await?,
            )?;
        }
        Ok(())
    }

    /// A group's progress on every queue of `topic`, from every master serving it.
    pub async fn consumer_progress(
        &self,
        group: &str,
        topic: &str,
    ) -> ClientResult<BTreeMap<MessageQueue, OffsetWrapper>> {
        let route = self.client.fetch_route(topic).await?;
        let mut out = BTreeMap::new();
        for b in &route.broker_datas {
            let Some(addr) = b.broker_addrs.get(&0) else {
                continue;
            };
            let header = GetConsumeStatsRequestHeader {
                consumer_group: group.to_owned(),
                topic: Some(topic.to_owned()),
                ..Default::default()
            };
            let r = self
                .client
                .invoke(
                    addr,
                    RemotingCommand::request_with(request::GET_CONSUME_STATS, &header),
                )
                .await?;
            check(&r)?;
            out.extend(ConsumeStats::decode(&r.body)?.offset_table);
        }
        Ok(out)
    }

    /// Messages of `topic` whose key (KEYS or UNIQ_KEY) is `key`, from every master.
    pub async fn query_by_key(&self, topic: &str, key: &str) -> ClientResult<Vec<MessageExt>> {
        let route = self.client.fetch_route(topic).await?;
        let mut found = Vec::new();
        for b in &route.broker_datas {
            let Some(addr) = b.broker_addrs.get(&0) else {
                continue;
            };
            let header = QueryMessageRequestHeader {
                topic: topic.to_owned(),
                key: key.to_owned(),
                max_num: 32,
                begin_timestamp: 0,
                end_timestamp: i64::MAX,
                ..Default::default()
            };
            let r = self
                .client
                .invoke(
                    addr,
                    RemotingCommand::request_with(request::QUERY_MESSAGE, &header),
                )
                .await?;
            if r.code == response::SUCCESS {
                found.extend(
                    decode_messages(&r.body)
                        .into_iter()
                        .filter(|m| m.msg_id() == key || m.keys().contains(&key)),
                );
            }
        }
        Ok(found)
    }

    /// The message with an offset message id (broker address and commit-log offset).
    pub async fn view_by_id(&self, offset_msg_id: &str) -> ClientResult<MessageExt> {
        let (addr, offset) = decode_offset_msg_id(offset_msg_id)
            .map_err(|e| ClientError::InvalidMessage(e.to_string()))?;
        let header = ViewMessageRequestHeader {
            offset,
            ..Default::default()
        };
        let r = self
            .client
            .invoke(
                &addr.to_string(),
                RemotingCommand::request_with(request::VIEW_MESSAGE_BY_ID, &header),
            )
            .await?;
        check(&r)?;
        decode_messages(&r.body)
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::broker(response::SYSTEM_ERROR, Some("empty answer".into())))
    }
}
