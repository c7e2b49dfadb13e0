//! IndexService actor: owns the index files, builds entries for what the dispatcher sends
//! (keys from KEYS and UNIQ_KEY), answers queries by key, flushes for the checkpoint, and
//! drops files the commit log no longer covers.

use std::sync::Arc;

use actix::prelude::*;

use crate::actors::runtime::{guarded, Supervision};
use crate::protocol::message::DispatchInfo;
use crate::store::index::{self, QueryResult};
use crate::store::message_store::index_request;
use crate::store::{StoreError, StoreResult};

pub struct IndexService {
    sup: Supervision,
    index: index::IndexService,
}

impl IndexService {
    pub fn new(sup: Supervision, index: index::IndexService) -> Self {
        IndexService { sup, index }
    }
}

impl Actor for IndexService {
    type Context = Context<Self>;
}

crate::supervised_actor!(IndexService);
crate::admits!(IndexService: BuildIndex, QueryIndex, FlushIndex, DeleteExpiredIndex);

fn restarting_error() -> StoreError {
    StoreError::Unavailable("the index service".into())
}

#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct BuildIndex(pub Arc<Vec<DispatchInfo>>);

impl Handler<BuildIndex> for IndexService {
    type Result = StoreResult<()>;

    fn handle(&mut self, msg: BuildIndex, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let index = &mut self.index;
        guarded(&metrics, ctx, |_| {
            for info in msg.0.iter() {
                index.build_index(&index_request(info))?;
            }
            Ok(())
        })
        .unwrap_or_else(|| Err(restarting_error()))
    }
}

/// Physical offsets of messages whose key (from KEYS or UNIQ_KEY) is `key`.
#[derive(Message)]
#[rtype(result = "StoreResult<QueryResult>")]
pub struct QueryIndex {
    pub topic: String,
    pub key: String,
    pub max_num: usize,
    pub begin: i64,
    pub end: i64,
}

impl Handler<QueryIndex> for IndexService {
    type Result = StoreResult<QueryResult>;

    fn handle(&mut self, q: QueryIndex, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let index = &self.index;
        guarded(&metrics, ctx, |_| {
            index.query(&q.topic, &q.key, q.max_num, q.begin, q.end)
        })
        .ok_or_else(restarting_error)
    }
}

/// Flushes the index; answers the checkpoint's index timestamp.
#[derive(Message)]
#[rtype(result = "StoreResult<i64>")]
pub struct FlushIndex;

impl Handler<FlushIndex> for IndexService {
    type Result = StoreResult<i64>;

    fn handle(&mut self, _: FlushIndex, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let index = &self.index;
        guarded(&metrics, ctx, |_| {
            index.flush().map(|_| index.checkpoint_index_timestamp())
        })
        .unwrap_or_else(|| Err(restarting_error()))
    }
}

/// Deletes index files entirely below the commit log's min offset.
#[derive(Message)]
#[rtype(result = "StoreResult<usize>")]
pub struct DeleteExpiredIndex(pub i64);

impl Handler<DeleteExpiredIndex> for IndexService {
    type Result = StoreResult<usize>;

    fn handle(&mut self, msg: DeleteExpiredIndex, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let index = &mut self.index;
        guarded(&metrics, ctx, |_| index.delete_expired(msg.0))
            .unwrap_or_else(|| Err(restarting_error()))
    }
}
