//! Finding messages: QUERY_MESSAGE (by key, through the index) and VIEW_MESSAGE_BY_ID (by
//! commit-log offset, which clients decode from the offset message id).

use std::sync::Arc;

use bytes::BytesMut;

use super::{BrokerContext, Reply};
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::code::response;
use crate::protocol::header::broker::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use crate::protocol::RemotingCommand;

/// RocketMQ's maxMsgsNumBatch and defaultQueryMaxNum.
const MAX_MSGS_NUM_BATCH: usize = 64;
const DEFAULT_QUERY_MAX_NUM: usize = 32;

pub(super) async fn query_message(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: QueryMessageRequestHeader = req.decode_header()?;
    let max = if req.ext("_UNIQUE_KEY_QUERY") == Some("true") {
        DEFAULT_QUERY_MAX_NUM
    } else {
        (h.max_num.max(1) as usize).min(MAX_MSGS_NUM_BATCH)
    };
    let (result, records) = cx
        .store
        .query_by_key(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp)
        .await?;
    if records.is_empty() {
        return Ok(RemotingCommand::response(
            response::QUERY_NOT_FOUND,
            Some("can not find message, maybe time range not correct".into()),
        ));
    }
    let mut body = BytesMut::new();
    for r in &records {
        body.extend_from_slice(r);
    }
    Ok(RemotingCommand::success()
        .with_header(&QueryMessageResponseHeader {
            index_last_update_timestamp: result.index_last_update_timestamp,
            index_last_update_phyoffset: result.index_last_update_phy_offset,
        })
        .with_body(body.freeze()))
}

pub(super) async fn view_message_by_id(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: ViewMessageRequestHeader = req.decode_header()?;
    match cx.store.message_at(h.offset) {
        Some(record) => Ok(RemotingCommand::success().with_body(record)),
        None => Ok(RemotingCommand::response(
            response::SYSTEM_ERROR,
            Some(format!("can not find message by the offset, {}", h.offset)),
        )),
    }
}
