//! Producer administration: GET_PRODUCER_CONNECTION_LIST (204), the live connections of
//! one producer group, and GET_ALL_PRODUCER_INFO (328), every group's.

use std::sync::Arc;

use super::{refuse, BrokerContext, Reply};
use crate::actors::broker::meta::clients::{AllProducers, ClientChannel, GroupChannels};
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::broker::{Connection, ProducerConnection};
use crate::protocol::body::fastjson::{to_json, Escape, JsonWriter};
use crate::protocol::code::response;
use crate::protocol::header::broker::GetProducerConnectionListRequestHeader;
use crate::protocol::RemotingCommand;

fn connection(c: &ClientChannel) -> Connection {
    Connection {
        client_addr: c.conn.peer.to_string(),
        client_id: c.client_id.clone(),
        language: c.language.name().to_owned(),
        version: c.version,
    }
}

/// GET_PRODUCER_CONNECTION_LIST (204).
pub(super) async fn get_producer_connection_list(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetProducerConnectionListRequestHeader = req.decode_header()?;
    let channels = cx
        .clients
        .ask(GroupChannels::Producer(h.producer_group.clone()))
        .await?;
    if channels.is_empty() {
        return Err(refuse(
            response::SYSTEM_ERROR,
            format!("the producer group[{}] not exist", h.producer_group),
        ));
    }
    let body = ProducerConnection {
        connection_set: channels.iter().map(connection).collect(),
    };
    Ok(RemotingCommand::success().with_body(to_json(&body)))
}

/// GET_ALL_PRODUCER_INFO (328): `ProducerTableInfo`, group → `ProducerInfo` list.
pub(super) async fn get_all_producer_info(
    cx: Arc<BrokerContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let groups = cx.clients.ask(AllProducers).await?;
    let now = crate::clock::now_millis();
    let mut w = JsonWriter::new(Escape::Fastjson);
    w.begin_object();
    w.key("data").begin_object();
    for (group, channels) in &groups {
        w.key(group).begin_array();
        for c in channels {
            let idle = c.last_update.elapsed().as_millis() as i64;
            w.begin_object();
            w.key("clientId").string(&c.client_id);
            w.key("language").string(c.language.name());
            w.key("lastUpdateTimestamp").number(now - idle);
            w.key("remoteIP").string(&c.conn.peer.to_string());
            w.key("version").number(c.version.into());
            w.end_object();
        }
        w.end_array();
    }
    w.end_object();
    w.end_object();
    Ok(RemotingCommand::success().with_body(w.finish()))
}
