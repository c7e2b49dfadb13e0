//! What a slave's SlaveSynchronize asks its master for that no other family answers:
//! GET_ALL_CONSUMER_OFFSET (43), the whole consumer-offset table as consumerOffset.json
//! holds it (Java's `ConsumerOffsetManager.encode`).

use std::sync::Arc;

use super::{BrokerContext, Reply};
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::RemotingCommand;

pub(super) async fn get_all_consumer_offset(
    cx: Arc<BrokerContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    Ok(RemotingCommand::success().with_body(cx.offsets.encode()))
}
