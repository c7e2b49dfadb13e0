//! The requests `mqadmin` sends, over the Rust client's connections: to the name servers
//! (cluster list, routes, topic list, key/value config, write permission) and to brokers
//! (everything else). Each answer other than SUCCESS becomes an [`AdminError`] carrying the
//! response code and remark, so the sub-commands only deal with decoded bodies.

use std::collections::BTreeSet;

use crate::client::{ClientError, ClientInstance};
use crate::protocol::body::kv::TopicList;
use crate::protocol::body::route::{BrokerData, ClusterInfo, TopicRouteData};
use crate::protocol::code::{request, response};
use crate::protocol::RemotingCommand;

use super::AdminError;

/// The connections of one `mqadmin` run.
pub struct Admin {
    pub client: ClientInstance,
    namesrvs: Vec<String>,
    /// `--json`: how [`Admin::print`] writes.
    json: bool,
}

/// Where a broker-wide sub-command runs: `-b` wins over `-c`, as in RocketMQ's tools.
pub enum Target<'a> {
    Broker(&'a str),
    Cluster(&'a str),
}

impl<'a> Target<'a> {
    pub fn of(broker: &'a Option<String>, cluster: &'a Option<String>) -> Result<Self, AdminError> {
        match (broker, cluster) {
            (Some(b), _) => Ok(Target::Broker(b.trim())),
            (None, Some(c)) => Ok(Target::Cluster(c.trim())),
            (None, None) => Err(AdminError::Usage(
                "one of -b brokerAddr or -c clusterName is required".into(),
            )),
        }
    }
}

impl Admin {
    pub fn new(client: ClientInstance, json: bool) -> Self {
        let namesrvs = crate::remoting_client::split_addrs(&client.config().namesrv_addr);
        Admin {
            client,
            namesrvs,
            json,
        }
    }

    /// Prints `out` to stdout at once, for sub-commands that print more than once.
    pub fn print(&self, out: &super::Output) -> Result<(), AdminError> {
        Ok(out.write_to(&mut std::io::stdout().lock(), self.json)?)
    }

    pub fn namesrvs(&self) -> &[String] {
        &self.namesrvs
    }

    /// Sends `cmd` to `addr` and insists on SUCCESS.
    pub async fn call(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, AdminError> {
        let code = cmd.code;
        let r = self
            .client
            .invoke(addr, cmd)
            .await
            .map_err(|e| AdminError::Unreachable {
                addr: addr.to_owned(),
                source: e,
            })?;
        if r.code == response::SUCCESS {
            Ok(r)
        } else {
            Err(AdminError::Refused {
                addr: addr.to_owned(),
                request: code,
                code: r.code,
                remark: r.remark.unwrap_or_default(),
            })
        }
    }

    /// Sends `cmd` to the name servers in turn; the first that answers decides.
    pub async fn call_namesrv(&self, cmd: RemotingCommand) -> Result<RemotingCommand, AdminError> {
        let mut last = AdminError::NoNamesrv;
        for ns in &self.namesrvs {
            match self.call(ns, cmd.clone()).await {
                Ok(r) => return Ok(r),
                Err(e @ AdminError::Refused { .. }) => return Err(e),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub async fn cluster_info(&self) -> Result<ClusterInfo, AdminError> {
        let r = self
            .call_namesrv(RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO))
            .await?;
        Ok(ClusterInfo::decode(&r.body)?)
    }

    pub async fn topic_list(&self) -> Result<Vec<String>, AdminError> {
        let r = self
            .call_namesrv(RemotingCommand::request(
                request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            ))
            .await?;
        let mut list: TopicList = crate::protocol::body::fastjson::from_json(&r.body)?;
        list.topic_list.sort();
        Ok(list.topic_list)
    }

    /// A topic's route; an unknown topic is [`AdminError::NoRoute`].
    pub async fn route(&self, topic: &str) -> Result<TopicRouteData, AdminError> {
        if self.namesrvs.is_empty() {
            return Err(AdminError::NoNamesrv);
        }
        match self.client.fetch_route(topic).await {
            Ok(r) => Ok((*r).clone()),
            Err(ClientError::NoRoute(t)) => Err(AdminError::NoRoute(t)),
            Err(ClientError::Remoting(e)) => Err(AdminError::Unreachable {
                addr: self.namesrvs.join(";"),
                source: ClientError::Remoting(e),
            }),
            Err(e) => Err(AdminError::Client(e)),
        }
    }

    /// The broker groups of `cluster`; an unknown cluster is [`AdminError::NotFound`].
    async fn cluster_brokers(&self, cluster: &str) -> Result<Vec<BrokerData>, AdminError> {
        let info = self.cluster_info().await?;
        let names = info
            .cluster_addr_table
            .get(cluster)
            .ok_or_else(|| AdminError::NotFound(format!("cluster [{cluster}] not exist")))?;
        Ok(names
            .iter()
            .filter_map(|n| info.broker_addr_table.get(n).cloned())
            .collect())
    }

    /// The master address of every broker group in `cluster`.
    pub async fn cluster_masters(&self, cluster: &str) -> Result<Vec<String>, AdminError> {
        Ok(self
            .cluster_brokers(cluster)
            .await?
            .into_iter()
            .filter_map(|b| b.broker_addrs.get(&0).cloned())
            .collect())
    }

    /// Every member (masters and slaves) of `cluster`.
    pub async fn cluster_members(&self, cluster: &str) -> Result<Vec<String>, AdminError> {
        Ok(self
            .cluster_brokers(cluster)
            .await?
            .into_iter()
            .flat_map(|b| b.broker_addrs.into_values())
            .collect())
    }

    /// The addresses a `-b`/`-c` sub-command writes to: the broker, or the cluster's masters.
    pub async fn masters(&self, target: &Target<'_>) -> Result<Vec<String>, AdminError> {
        match target {
            Target::Broker(b) => Ok(vec![(*b).to_owned()]),
            Target::Cluster(c) => self.cluster_masters(c).await,
        }
    }

    /// The masters serving `topic`, by broker name.
    pub async fn topic_masters(&self, topic: &str) -> Result<Vec<(String, String)>, AdminError> {
        let route = self.route(topic).await?;
        Ok(route
            .broker_datas
            .iter()
            .filter_map(|b| {
                b.broker_addrs
                    .get(&0)
                    .map(|a| (b.broker_name.clone(), a.clone()))
            })
            .collect())
    }

    /// The cluster(s) whose brokers serve `topic` (RocketMQ's `getTopicClusterList`).
    pub async fn topic_clusters(&self, topic: &str) -> Result<BTreeSet<String>, AdminError> {
        let route = self.route(topic).await?;
        let info = self.cluster_info().await?;
        let names: BTreeSet<&str> = route
            .broker_datas
            .iter()
            .map(|b| b.broker_name.as_str())
            .collect();
        Ok(info
            .cluster_addr_table
            .iter()
            .filter(|(_, brokers)| brokers.iter().any(|b| names.contains(b.as_str())))
            .map(|(c, _)| c.clone())
            .collect())
    }
}
