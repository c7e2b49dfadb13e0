//! Offsets: QUERY_CONSUMER_OFFSET, UPDATE_CONSUMER_OFFSET, GET_MAX_OFFSET, GET_MIN_OFFSET,
//! GET_EARLIEST_MSG_STORETIME and SEARCH_OFFSET_BY_TIMESTAMP.
//!
//! A commit on a slave is remembered for the master (clients commit there only while the
//! master is out of their routes); a master takes such a hand-back, an
//! UPDATE_CONSUMER_OFFSET carrying [`SLAVE_HAND_BACK`], only where it is ahead of its own offset,
//! so consumers do not re-read after the master returns, and a reset made on the master
//! while no slave held newer commits stands.

use std::sync::Arc;

use super::{BrokerContext, Reply};
use crate::actors::broker::config::BrokerRole;
use crate::actors::broker::plugins::Consumed;
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::code::response;
use crate::protocol::header::broker::*;
use crate::protocol::RemotingCommand;

pub(super) async fn query_consumer_offset(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: QueryConsumerOffsetRequestHeader = req.decode_header()?;
    if let Some(offset) = cx.offsets.query(&h.consumer_group, &h.topic, h.queue_id) {
        return Ok(
            RemotingCommand::success().with_header(&QueryConsumerOffsetResponseHeader { offset })
        );
    }
    // A group that never committed starts at 0 while the queue still begins at 0
    // (RocketMQ also checks that offset 0 is in memory; the whole store is mapped).
    let min = cx.store.queue_offsets(&h.topic, h.queue_id).0;
    if h.set_zero_if_not_found != Some(false) && min <= 0 {
        return Ok(RemotingCommand::success()
            .with_header(&QueryConsumerOffsetResponseHeader { offset: 0 }));
    }
    Ok(RemotingCommand::response(
        response::QUERY_NOT_FOUND,
        Some("Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".into()),
    ))
}

/// Commits a group's offset and tells the plug-ins that listen for consumption.
pub(super) fn commit(cx: &BrokerContext, group: &str, topic: &str, queue_id: i32, offset: i64) {
    if cx.config.broker_role == BrokerRole::Slave {
        cx.offsets.commit_on_slave(group, topic, queue_id, offset);
    } else {
        cx.offsets.commit(group, topic, queue_id, offset);
    }
    committed(cx, group, topic, queue_id, offset);
}

fn committed(cx: &BrokerContext, group: &str, topic: &str, queue_id: i32, offset: i64) {
    if cx.plugins.wants_consumed() {
        cx.plugins.consumed(Consumed::Committed {
            group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            offset,
        });
    }
}

pub(super) async fn update_consumer_offset(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: UpdateConsumerOffsetRequestHeader = req.decode_header()?;
    if req.ext(SLAVE_HAND_BACK) == Some("true") && cx.config.broker_role != BrokerRole::Slave {
        let (g, t, q) = (&h.consumer_group, &h.topic, h.queue_id);
        let stored = cx.offsets.commit_larger(g, t, q, h.commit_offset);
        committed(&cx, g, t, q, stored);
        return Ok(RemotingCommand::success());
    }
    commit(
        &cx,
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        h.commit_offset,
    );
    Ok(RemotingCommand::success())
}

pub(super) async fn get_max_offset(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetMaxOffsetRequestHeader = req.decode_header()?;
    let offset = cx.store.queue_offsets(&h.topic, h.queue_id).1;
    Ok(RemotingCommand::success().with_header(&GetMaxOffsetResponseHeader { offset }))
}

pub(super) async fn get_min_offset(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetMinOffsetRequestHeader = req.decode_header()?;
    let offset = cx.store.queue_offsets(&h.topic, h.queue_id).0;
    Ok(RemotingCommand::success().with_header(&GetMinOffsetResponseHeader { offset }))
}

pub(super) async fn get_earliest_msg_storetime(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetEarliestMsgStoretimeRequestHeader = req.decode_header()?;
    let timestamp = cx
        .store
        .earliest_store_time(&h.topic, h.queue_id)
        .unwrap_or(-1);
    Ok(
        RemotingCommand::success()
            .with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp }),
    )
}

pub(super) async fn search_offset_by_timestamp(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: SearchOffsetRequestHeader = req.decode_header()?;
    let upper = h.boundary_type == Some(BoundaryType::Upper);
    let offset = cx
        .store
        .offset_by_time(&h.topic, h.queue_id, h.timestamp, upper);
    Ok(RemotingCommand::success().with_header(&SearchOffsetResponseHeader { offset }))
}
