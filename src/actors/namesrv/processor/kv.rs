//! KV configuration requests: PUT_KV_CONFIG, GET_KV_CONFIG, DELETE_KV_CONFIG,
//! GET_KVLIST_BY_NAMESPACE, and GET_NAMESRV_CONFIG.

use std::sync::Arc;

use super::{NamesrvContext, Reply};
use crate::actors::namesrv::kv_config::{kv_read, kv_write};
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::fastjson::to_json;
use crate::protocol::body::kv::KvTable;
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

/// GET_NAMESRV_CONFIG: the running configuration as Java-properties text.
pub(super) async fn get_namesrv_config(
    cx: Arc<NamesrvContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let c = &cx.config;
    let text = format!(
        "listenPort={}\nkvConfigPath={}\nscanNotActiveBrokerInterval={}\nbrokerChannelExpiredMillis={}\n\
         orderMessageEnable={}\nreturnOrderTopicConfigToBroker={}\nenableAllTopicList={}\nenableTopicList={}\n\
         serverChannelMaxIdleTimeSeconds={}\n",
        c.listen_addr.port(),
        c.kv_config_path.display(),
        c.scan_not_active_broker_interval,
        c.broker_channel_expired_millis,
        c.order_message_enable,
        c.return_order_topic_config_to_broker,
        c.enable_all_topic_list,
        c.enable_topic_list,
        c.server.server_channel_max_idle_time_seconds,
    );
    Ok(RemotingCommand::success().with_body(text.into_bytes()))
}
