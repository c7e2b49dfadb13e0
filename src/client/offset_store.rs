//! Consumer offsets on the client: in clustering mode they live on the broker
//! (QUERY_CONSUMER_OFFSET to start, UPDATE_CONSUMER_OFFSET every
//! `persistConsumerOffsetInterval` and at shutdown); in broadcasting mode each client keeps
//! its own in a local JSON file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use super::error::{ClientError, ClientResult};
use super::instance::ClientInstance;
use crate::protocol::body::broker::MessageQueue;
use crate::protocol::code::{request, response};
use crate::protocol::header::broker::{
    QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use crate::protocol::RemotingCommand;

pub enum OffsetStore {
    Remote {
        group: String,
        table: Mutex<BTreeMap<MessageQueue, i64>>,
    },
    Local {
        path: PathBuf,
        table: Mutex<BTreeMap<MessageQueue, i64>>,
    },
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct LocalFile {
    offsets: Vec<(MessageQueue, i64)>,
}

impl OffsetStore {
    pub fn remote(group: &str) -> Self {
        OffsetStore::Remote {
            group: group.to_owned(),
            table: Mutex::new(BTreeMap::new()),
        }
    }

    /// Broadcasting: offsets in `dir/<group>/offsets.json`, loaded now.
    pub fn local(dir: PathBuf, group: &str) -> Self {
        let path = dir.join(group).join("offsets.json");
        let table = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<LocalFile>(&b).ok())
            .map(|f| f.offsets.into_iter().collect())
            .unwrap_or_default();
        OffsetStore::Local {
            path,
            table: Mutex::new(table),
        }
    }

    fn table(&self) -> &Mutex<BTreeMap<MessageQueue, i64>> {
        match self {
            OffsetStore::Remote { table, .. } | OffsetStore::Local { table, .. } => table,
        }
    }

    /// Where consumption of `mq` resumes: the local table, else (clustering) the broker.
    /// `None` when nothing is stored anywhere.
    pub async fn read(
        &self,
        client: &ClientInstance,
        mq: &MessageQueue,
    ) -> ClientResult<Option<i64>> {
        if let Some(o) = self.table().lock().ok().and_then(|t| t.get(mq).copied()) {
            return Ok(Some(o));
        }
        let OffsetStore::Remote { group, .. } = self else {
            return Ok(None);
        };
        let addr = client
            .subscribe_addr(&mq.broker_name, 0)
            .ok_or_else(|| ClientError::NoRoute(mq.topic.clone()))?;
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
        };
        let r = client
            .invoke(
                &addr,
                RemotingCommand::request_with(request::QUERY_CONSUMER_OFFSET, &header),
            )
            .await?;
        match r.code {
            response::SUCCESS => Ok(r.ext("offset").and_then(|o| o.parse().ok())),
            response::QUERY_NOT_FOUND => Ok(None),
            code => Err(ClientError::broker(code, r.remark)),
        }
    }

    pub fn update(&self, mq: &MessageQueue, offset: i64) {
        if let Ok(mut t) = self.table().lock() {
            t.insert(mq.clone(), offset);
        }
    }

    /// The offset held in memory for `mq` (what the next persist writes), if any.
    pub fn in_memory(&self, mq: &MessageQueue) -> Option<i64> {
        self.table().lock().ok().and_then(|t| t.get(mq).copied())
    }

    pub fn remove(&self, mq: &MessageQueue) {
        if let Ok(mut t) = self.table().lock() {
            t.remove(mq);
        }
    }

    /// Writes the offsets of `queues` out (to their brokers, or to the local file).
    pub async fn persist(&self, client: &ClientInstance, queues: &[MessageQueue]) {
        let snapshot: Vec<(MessageQueue, i64)> = self
            .table()
            .lock()
            .map(|t| {
                t.iter()
                    .filter(|(q, _)| queues.contains(q))
                    .map(|(q, o)| (q.clone(), *o))
                    .collect()
            })
            .unwrap_or_default();
        match self {
            OffsetStore::Remote { group, .. } => {
                for (mq, offset) in snapshot {
                    // A slave takes the commit while its master is down (as Java's
                    // client does); its SlaveSynchronize hands it back to the master.
                    let Some(addr) = client.subscribe_addr(&mq.broker_name, 0) else {
                        continue;
                    };
                    let header = UpdateConsumerOffsetRequestHeader {
                        consumer_group: group.clone(),
                        topic: mq.topic.clone(),
                        queue_id: mq.queue_id,
                        commit_offset: offset,
                    };
                    let cmd =
                        RemotingCommand::request_with(request::UPDATE_CONSUMER_OFFSET, &header);
                    if let Err(e) = client.invoke_oneway(&addr, cmd).await {
                        tracing::debug!(error = %e, "persisting a consumer offset failed");
                    }
                }
            }
            OffsetStore::Local { path, table } => {
                let all: Vec<(MessageQueue, i64)> = table
                    .lock()
                    .map(|t| t.iter().map(|(q, o)| (q.clone(), *o)).collect())
                    .unwrap_or_default();
                let bytes = serde_json::to_vec(&LocalFile { offsets: all }).unwrap_or_default();
                if let Err(e) = crate::json_file::store(path, &bytes) {
                    tracing::warn!(error = %e, "persisting local offsets failed");
                }
            }
        }
    }
}
