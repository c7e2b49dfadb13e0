//! Orderly consumers' queue locks: LOCK_BATCH_MQ and UNLOCK_BATCH_MQ, answered from the
//! [`QueueLockManager`](crate::actors::broker::meta::queue_locks::QueueLockManager). Neither has
//! header fields; the group, client and queues travel in the JSON body.

use std::sync::Arc;

use super::{BrokerContext, Reply};
use crate::actors::broker::meta::queue_locks::{TryLockBatch, UnlockBatch};
use crate::actors::error::ServiceError;
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::broker::{
    LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody,
};
use crate::protocol::body::fastjson::{from_json, JsonBody};
use crate::protocol::code::response;
use crate::protocol::RemotingCommand;

pub(super) async fn lock_batch_mq(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let body: LockBatchRequestBody = from_json(&req.body)?;
    require_names(&body.consumer_group, &body.client_id)?;
    let lock_ok_mq_set = cx
        .queue_locks
        .ask(TryLockBatch {
            group: body.consumer_group,
            client_id: body.client_id,
            queues: body.mq_set.into_iter().collect(),
        })
        .await??;
    Ok(RemotingCommand::success().with_body(LockBatchResponseBody { lock_ok_mq_set }.encode()))
}

pub(super) async fn unlock_batch_mq(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let body: UnlockBatchRequestBody = from_json(&req.body)?;
    require_names(&body.consumer_group, &body.client_id)?;
    cx.queue_locks
        .ask(UnlockBatch {
            group: body.consumer_group,
            client_id: body.client_id,
            queues: body.mq_set.into_iter().collect(),
        })
        .await??;
    Ok(RemotingCommand::success())
}

/// Java fails a body without a group or client id with a NullPointerException (SYSTEM_ERROR);
/// like a missing header field, it is answered INVALID_PARAMETER naming the field.
fn require_names(group: &str, client_id: &str) -> Result<(), ServiceError> {
    let missing = match (group.is_empty(), client_id.is_empty()) {
        (true, _) => "consumerGroup",
        (_, true) => "clientId",
        _ => return Ok(()),
    };
    Err(ServiceError::refused(
        response::INVALID_PARAMETER,
        format!("the lock request body has no {missing}"),
    ))
}
