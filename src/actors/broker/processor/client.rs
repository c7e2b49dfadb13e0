//! Clients: HEART_BEAT, UNREGISTER_CLIENT, CHECK_CLIENT_CONFIG, GET_CONSUMER_LIST_BY_GROUP
//! and GET_CONSUMER_CONNECTION_LIST. A consumer's heartbeat creates its subscription group
//! (when autoCreateSubscriptionGroup) and its `%RETRY%<group>` topic, and registers its
//! SQL92 selectors with the ConsumerFilterManager.

use std::sync::Arc;

use super::{BrokerContext, Reply};
use crate::actors::broker::meta::clients::{Heartbeat, Unregister};
use crate::actors::broker::meta::subscription_group::EnsureGroup;
use crate::actors::broker::meta::topic_config::{
    self, EnsureTopic, PERM_READ, PERM_WRITE, RETRY_GROUP_TOPIC_PREFIX,
};
use crate::actors::error::ServiceError;
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::broker::{
    Connection as ClientConnection, ConsumerConnection, ConsumerList,
};
use crate::protocol::body::fastjson::{from_json, to_json};
use crate::protocol::body::heartbeat::{CheckClientRequestBody, HeartbeatData};
use crate::protocol::code::response;
use crate::protocol::header::broker::{
    GetConsumerConnectionListRequestHeader, GetConsumerListByGroupRequestHeader,
    UnregisterClientRequestHeader,
};
use crate::protocol::RemotingCommand;

pub(super) async fn heart_beat(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    let data: HeartbeatData = from_json(&req.body)?;
    if !data.is_without_sub() {
        // Before the subscriptions become visible to pulls, so a pull that sees a new
        // subVersion finds its filter too.
        for c in &data.consumer_data_set {
            cx.consumer_filters
                .register(&c.group_name, &c.subscription_data_set);
        }
    }
    for c in &data.consumer_data_set {
        let group = match cx.groups.get(&c.group_name) {
            Some(g) => Some(g),
            None if cx.config.auto_create_subscription_group => Some(
                cx.group_manager
                    .ask(EnsureGroup(c.group_name.clone()))
                    .await??,
            ),
            None => None,
        };
        if let Some(g) = group {
            if g.retry_queue_nums > 0 {
                let retry = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", c.group_name);
                if cx.topics.get(&retry).is_none() {
                    let t = topic_config::topic(&retry, g.retry_queue_nums, PERM_READ | PERM_WRITE);
                    cx.topic_manager.ask(EnsureTopic::Exact(t)).await??;
                }
            }
        }
    }
    cx.clients
        .ask(Heartbeat {
            data,
            conn,
            language: req.language,
            version: req.version,
        })
        .await?
        .ok_or_else(|| {
            ServiceError::refused(response::SYSTEM_ERROR, "the client manager is restarting")
        })?;
    Ok(RemotingCommand::success())
}

/// CHECK_CLIENT_CONFIG (46), as RocketMQ's `ClientManageProcessor.checkClientConfig`: a
/// TAG subscription (or none) is fine; a SQL92 one needs enablePropertyFilter
/// (SYSTEM_ERROR otherwise) and an expression that compiles (SUBSCRIPTION_PARSE_FAILED
/// with the parser's message otherwise).
pub(super) async fn check_client_config(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let body: CheckClientRequestBody = if req.body.is_empty() {
        CheckClientRequestBody::default()
    } else {
        from_json(&req.body)?
    };
    let Some(sub) = body.subscription_data.filter(|s| !s.is_tag_type()) else {
        return Ok(RemotingCommand::success());
    };
    if !cx.config.enable_property_filter {
        return Err(property_filter_disabled(&sub.expression_type));
    }
    cx.consumer_filters
        .compile(&sub.expression_type, &sub.sub_string)?;
    Ok(RemotingCommand::success())
}

/// RocketMQ's refusal of non-TAG subscriptions when enablePropertyFilter is off.
pub(super) fn property_filter_disabled(expression_type: &str) -> ServiceError {
    ServiceError::refused(
        response::SYSTEM_ERROR,
        format!("The broker does not support consumer to filter message by {expression_type}"),
    )
}

pub(super) async fn unregister_client(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    conn: ConnectionInfo,
) -> Reply {
    let h: UnregisterClientRequestHeader = req.decode_header()?;
    cx.clients
        .ask(Unregister {
            conn_id: conn.id,
            producer_group: h.producer_group,
            consumer_group: h.consumer_group,
        })
        .await?;
    Ok(RemotingCommand::success())
}

pub(super) async fn get_consumer_list_by_group(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetConsumerListByGroupRequestHeader = req.decode_header()?;
    match cx.consumers.get(&h.consumer_group) {
        Some(view) if !view.clients.is_empty() => {
            let ids = view.clients.iter().map(|c| c.0.clone()).collect();
            Ok(RemotingCommand::success().with_body(to_json(&ConsumerList {
                consumer_id_list: ids,
            })))
        }
        _ => Ok(RemotingCommand::response(
            response::SYSTEM_ERROR,
            Some(format!("no consumer for this group, {}", h.consumer_group)),
        )),
    }
}

pub(super) async fn get_consumer_connection_list(
    cx: Arc<BrokerContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetConsumerConnectionListRequestHeader = req.decode_header()?;
    let Some(view) = cx
        .consumers
        .get(&h.consumer_group)
        .map(|v| v.value().clone())
    else {
        return Ok(RemotingCommand::response(
            response::CONSUMER_NOT_ONLINE,
            Some(format!(
                "the consumer group[{}] not online",
                h.consumer_group
            )),
        ));
    };
    let body = ConsumerConnection {
        connection_set: view
            .clients
            .iter()
            .map(|(id, addr, lang, version)| ClientConnection {
                client_id: id.clone(),
                client_addr: addr.clone(),
                language: lang.name().to_owned(),
                version: *version,
            })
            .collect(),
        consume_type: view.consume_type.clone(),
        message_model: view.message_model.clone(),
        consume_from_where: view.consume_from_where.clone(),
        subscription_table: view.subscriptions.clone(),
    };
    Ok(RemotingCommand::success().with_body(to_json(&body)))
}
