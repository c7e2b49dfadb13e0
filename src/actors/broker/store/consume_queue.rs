//! One actor per (topic, queue id) owning that consume queue's writing half. The
//! ReputDispatcher sends it batches of units in commit-log order; pulls read the queue
//! through its [`ConsumeQueueReader`](crate::store::consume_queue::ConsumeQueueReader)
//! without visiting the actor.
//!
//! Mailbox: the dispatcher awaits each batch before sending the next round, so at most one
//! round is queued per actor; the bound is a safety net that makes the dispatcher wait.

use actix::prelude::*;

use crate::actors::runtime::{guarded, Supervision};
use crate::store::consume_queue;
use crate::store::{StoreError, StoreResult};

pub struct ConsumeQueue {
    sup: Supervision,
    queue: consume_queue::ConsumeQueue,
}

impl ConsumeQueue {
    pub fn new(sup: Supervision, queue: consume_queue::ConsumeQueue) -> Self {
        ConsumeQueue { sup, queue }
    }
}

impl Actor for ConsumeQueue {
    type Context = Context<Self>;
}

crate::supervised_actor!(ConsumeQueue);
crate::admits!(ConsumeQueue: PutUnits, CorrectMinOffset);

/// One unit to append.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    pub queue_offset: i64,
    pub phys_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

/// Units for this queue, in order.
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct PutUnits(pub Vec<Unit>);

impl Handler<PutUnits> for ConsumeQueue {
    type Result = StoreResult<()>;

    fn handle(&mut self, msg: PutUnits, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let queue = &mut self.queue;
        guarded(&metrics, ctx, |_| {
            for u in msg.0 {
                queue.put(u.queue_offset, u.phys_offset, u.size, u.tags_code)?;
            }
            Ok(())
        })
        .unwrap_or_else(|| Err(StoreError::Unavailable("the consume queue actor".into())))
    }
}

/// After commit-log files were deleted: move the min offset and drop dead files.
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct CorrectMinOffset(pub i64);

impl Handler<CorrectMinOffset> for ConsumeQueue {
    type Result = StoreResult<()>;

    fn handle(&mut self, msg: CorrectMinOffset, ctx: &mut Context<Self>) -> Self::Result {
        let metrics = self.sup.metrics.clone();
        let queue = &self.queue;
        guarded(&metrics, ctx, |_| queue.correct_min_offset(msg.0))
            .unwrap_or_else(|| Err(StoreError::Unavailable("the consume queue actor".into())))
    }
}
