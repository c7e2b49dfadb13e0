//! END_TRANSACTION (37): the producer's outcome for a half message, as RocketMQ's
//! EndTransactionProcessor handles it. The half is found at `commitLogOffset` and must
//! match the request's producer group and queue offset; COMMIT stores it on its real topic,
//! ROLLBACK stores nothing, and both record an op message so the checker leaves it alone.
//! UNKNOWN leaves it for the checker. Java producers send this oneway, so the answer only
//! reaches callers that asked for one.

use std::sync::Arc;

use super::refuse;
use super::send::put_refused;
use super::{BrokerContext, Reply};
use crate::actors::broker::config::BrokerRole;
use crate::actors::broker::meta::topic_config::TRANS_HALF_TOPIC;
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::code::response;
use crate::protocol::flag::sysflag;
use crate::protocol::header::broker::EndTransactionRequestHeader;
use crate::protocol::message::decode_record_shared;
use crate::protocol::RemotingCommand;
use crate::store::transaction::{committed_message, op_message};

pub(super) async fn end_transaction(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    let h: EndTransactionRequestHeader = req.decode_header()?;
    if cx.config.broker_role == BrokerRole::Slave {
        return Err(refuse(
            response::SLAVE_NOT_AVAILABLE,
            "Message store is slave mode, so end transaction is forbidden. ",
        ));
    }
    let commit = match h.commit_or_rollback {
        sysflag::TRANSACTION_COMMIT_TYPE => true,
        sysflag::TRANSACTION_ROLLBACK_TYPE => false,
        other => {
            // Unknown (0) waits for the check-back; Java answers nothing.
            tracing::debug!(peer = %conn.peer, state = other, msg_id = h.msg_id, "transaction still pending");
            return Ok(RemotingCommand::response(
                response::SUCCESS,
                Some("the transaction stays pending until it is checked".into()),
            ));
        }
    };
    if h.is_from_transaction_check() {
        tracing::info!(peer = %conn.peer, commit, msg_id = h.msg_id, "transaction outcome from a check-back");
    }
    let half = cx
        .store
        .message_at(h.commit_log_offset)
        .and_then(|raw| decode_record_shared(&raw).ok())
        .filter(|m| m.topic == TRANS_HALF_TOPIC && m.physical_offset == h.commit_log_offset)
        .ok_or_else(|| {
            refuse(
                response::SYSTEM_ERROR,
                "Find prepared transaction message failed",
            )
        })?;
    if half.property("PGROUP") != Some(h.producer_group.as_str()) {
        return Err(refuse(response::SYSTEM_ERROR, "The producer group wrong"));
    }
    if half.queue_offset != h.tran_state_table_offset {
        return Err(refuse(
            response::SYSTEM_ERROR,
            "The transaction state table offset wrong",
        ));
    }
    if commit {
        let msg = committed_message(&half)
            .ok_or_else(|| refuse(response::SYSTEM_ERROR, "the half message has no REAL_TOPIC"))?;
        cx.store.put(vec![msg], false).await.map_err(put_refused)?;
    }
    cx.store
        .put(
            vec![op_message(half.queue_id, half.queue_offset, cx.store_host)],
            false,
        )
        .await
        .map_err(put_refused)?;
    Ok(RemotingCommand::response(response::SUCCESS, None))
}
