//! Requests brokers send: REGISTER_BROKER, UNREGISTER_BROKER, QUERY_DATA_VERSION,
//! BROKER_HEARTBEAT, and the admin requests that change a broker's write permission.

use std::sync::Arc;
use std::time::Duration;

use super::{NamesrvContext, Reply};
use crate::actors::error::ServiceError;
use crate::actors::namesrv::kv_config::{kv_read, ORDER_TOPIC_CONFIG};
use crate::actors::namesrv::route_info_manager::with_routes;
use crate::actors::namesrv::route_table::{Registration, Unregistration};
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::fastjson::{from_json, to_json};
use crate::protocol::body::kv::KvTable;
use crate::protocol::body::register::{body_crc32, DataVersion, RegisterBrokerBody};
use crate::protocol::code::response;
use crate::protocol::header::namesrv::*;
use crate::protocol::RemotingCommand;

/// REGISTER_BROKER bodies are RegisterBrokerBody from this version (V3_0_11) on.
const V3_0_11: i32 = 37;

pub(super) async fn register_broker(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    let h: RegisterBrokerRequestHeader = req.decode_header()?;
    let crc = h.body_crc32.unwrap_or(0);
    if crc != 0 && crc != body_crc32(&req.body) {
        return Err(ServiceError::refused(
            response::SYSTEM_ERROR,
            "crc32 not match",
        ));
    }
    let (topics, filter_servers) = if req.body.is_empty() {
        (Default::default(), Some(Vec::new()))
    } else {
        let body =
            RegisterBrokerBody::decode(&req.body, h.compressed.unwrap_or(false), req.version)?;
        let filters = (req.version >= V3_0_11).then_some(body.filter_server_list);
        (body.topic_config_serialize_wrapper, filters)
    };
    let registration = Registration {
        cluster: h.cluster_name,
        broker_addr: h.broker_addr.clone(),
        broker_name: h.broker_name.clone(),
        broker_id: h.broker_id,
        ha_server_addr: h.ha_server_addr,
        zone_name: req.ext("__ZONE_NAME").map(str::to_owned),
        timeout: h
            .heartbeat_timeout_millis
            .filter(|t| *t > 0)
            .map(|t| Duration::from_millis(t as u64)),
        enable_acting_master: h.enable_acting_master,
        topics: Some(topics),
        filter_server_list: filter_servers,
        connection: Some(conn.id),
    };
    let result = cx
        .routes
        .ask(with_routes(move |t, now| {
            t.register_broker(registration, now)
        }))
        .await??;
    let result =
        result.map_err(|e| ServiceError::refused(response::SYSTEM_ERROR, e.to_string()))?;
    tracing::debug!(broker = %h.broker_name, addr = %h.broker_addr, id = h.broker_id, "broker registered");

    let mut resp = RemotingCommand::success().with_header(&RegisterBrokerResponseHeader {
        ha_server_addr: result.ha_server_addr,
        master_addr: result.master_addr,
    });
    if cx.live.return_order_topic_config_to_broker() {
        let order = cx
            .kv
            .ask(kv_read(|t| t.namespace(ORDER_TOPIC_CONFIG).cloned()))
            .await??;
        if let Some(table) = order {
            resp = resp.with_body(to_json(&KvTable { table }));
        }
    }
    Ok(resp)
}

pub(super) async fn unregister_broker(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: UnRegisterBrokerRequestHeader = req.decode_header()?;
    let un = Unregistration {
        cluster: h.cluster_name,
        broker_addr: h.broker_addr,
        broker_name: h.broker_name,
        broker_id: h.broker_id,
    };
    cx.routes
        .ask(with_routes(move |t, _| t.unregister_broker(&un)))
        .await??;
    Ok(RemotingCommand::success())
}

pub(super) async fn query_data_version(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: QueryDataVersionRequestHeader = req.decode_header()?;
    let version: Option<DataVersion> = if req.body.is_empty() {
        None
    } else {
        Some(from_json(&req.body)?)
    };
    let (changed, stored) = cx
        .routes
        .ask(with_routes(move |t, now| {
            t.query_data_version(&h.cluster_name, &h.broker_addr, version.as_ref(), now)
        }))
        .await??;
    let mut resp =
        RemotingCommand::success().with_header(&QueryDataVersionResponseHeader { changed });
    if let Some(stored) = stored {
        resp = resp.with_body(to_json(&stored));
    }
    Ok(resp)
}

pub(super) async fn broker_heartbeat(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: BrokerHeartbeatRequestHeader = req.decode_header()?;
    cx.routes
        .ask(with_routes(move |t, now| {
            t.heartbeat(&h.cluster_name, &h.broker_addr, now)
        }))
        .await??;
    Ok(RemotingCommand::success())
}

pub(super) async fn wipe_write_perm(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    change_write_perm(cx, req, true).await
}

pub(super) async fn add_write_perm(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    change_write_perm(cx, req, false).await
}

/// Both answer with the number of topics that have queues on the broker, under the header
/// field each request's Java class names.
async fn change_write_perm(cx: Arc<NamesrvContext>, req: RemotingCommand, wipe: bool) -> Reply {
    let h: BrokerNameRequestHeader = req.decode_header()?;
    let count = cx
        .routes
        .ask(with_routes(move |t, _| {
            if wipe {
                t.wipe_write_perm(&h.broker_name)
            } else {
                t.add_write_perm(&h.broker_name)
            }
        }))
        .await??;
    let resp = RemotingCommand::success();
    Ok(if wipe {
        resp.with_header(&WipeWritePermOfBrokerResponseHeader {
            wipe_topic_count: count,
        })
    } else {
        resp.with_header(&AddWritePermOfBrokerResponseHeader {
            add_topic_count: count,
        })
    })
}
