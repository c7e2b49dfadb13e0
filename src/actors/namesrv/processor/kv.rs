//! KV configuration requests: PUT_KV_CONFIG, GET_KV_CONFIG, DELETE_KV_CONFIG,
//! GET_KVLIST_BY_NAMESPACE, and the name server's own settings: GET_NAMESRV_CONFIG and
//! UPDATE_NAMESRV_CONFIG.

use std::sync::Arc;

use super::{NamesrvContext, Reply};
use crate::actors::error::ServiceError;
use crate::actors::namesrv::config::properties;
use crate::actors::namesrv::kv_config::{kv_read, kv_write};
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::fastjson::to_json;
use crate::protocol::body::kv::{parse_properties, KvTable};
use crate::protocol::code::response;
use crate::protocol::header::namesrv::*;
use crate::protocol::RemotingCommand;

pub(super) async fn put(cx: Arc<NamesrvContext>, req: RemotingCommand, _: ConnectionInfo) -> Reply {
    let h: PutKvConfigRequestHeader = req.decode_header()?;
    cx.kv
        .ask(kv_write(move |t| t.put(&h.namespace, &h.key, &h.value)))
        .await??;
    Ok(RemotingCommand::success())
}

pub(super) async fn get(cx: Arc<NamesrvContext>, req: RemotingCommand, _: ConnectionInfo) -> Reply {
    let h: KvConfigKeyRequestHeader = req.decode_header()?;
    let (ns, key) = (h.namespace.clone(), h.key.clone());
    let value = cx
        .kv
        .ask(kv_read(move |t| t.get(&ns, &key).map(str::to_owned)))
        .await??;
    Ok(match value {
        Some(value) => RemotingCommand::success()
            .with_header(&GetKvConfigResponseHeader { value: Some(value) }),
        None => RemotingCommand::response(
            response::QUERY_NOT_FOUND,
            Some(format!(
                "No config item, Namespace: {} Key: {}",
                h.namespace, h.key
            )),
        ),
    })
}

pub(super) async fn delete(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: KvConfigKeyRequestHeader = req.decode_header()?;
    cx.kv
        .ask(kv_write(move |t| t.delete(&h.namespace, &h.key)))
        .await??;
    Ok(RemotingCommand::success())
}

pub(super) async fn list_namespace(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetKvListByNamespaceRequestHeader = req.decode_header()?;
    let ns = h.namespace.clone();
    let table = cx
        .kv
        .ask(kv_read(move |t| t.namespace(&ns).cloned()))
        .await??;
    Ok(match table {
        Some(table) => RemotingCommand::success().with_body(to_json(&KvTable { table })),
        None => RemotingCommand::response(
            response::QUERY_NOT_FOUND,
            Some(format!("No config item, Namespace: {}", h.namespace)),
        ),
    })
}

/// GET_NAMESRV_CONFIG (319): the running configuration as Java-properties text.
pub(super) async fn get_namesrv_config(
    cx: Arc<NamesrvContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let mut text = String::new();
    for (k, v) in properties(&cx.config, &cx.live) {
        text.push_str(&format!("{k}={v}\n"));
    }
    Ok(RemotingCommand::success().with_body(text.into_bytes()))
}

/// UPDATE_NAMESRV_CONFIG (318): a properties body, as RocketMQ 4.9.8's
/// `DefaultRequestProcessor.updateConfig`. A key in the black list refuses the whole update
/// with NO_PERMISSION; live switches change at once; other known keys are accepted and take
/// effect only from the RON file at the next start (logged, so the operator can tell).
pub(super) async fn update_namesrv_config(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    // Java decodes the body as UTF-8 with replacement, so no body is ever unreadable.
    let props = parse_properties(&String::from_utf8_lossy(&req.body));
    match cx.live.update(&cx.config, &props) {
        Err(key) => {
            tracing::debug!(client = %conn.peer, %key, "updateNamesrvConfig refused: key in the black list");
            Err(ServiceError::refused(
                response::NO_PERMISSION,
                "Can not update config in black list.",
            ))
        }
        Ok(done) => {
            tracing::info!(client = %conn.peer, applied = ?done.applied, fixed_at_start = ?done.fixed_at_start, unknown = ?done.unknown, "updateNamesrvConfig");
            Ok(RemotingCommand::success())
        }
    }
}
