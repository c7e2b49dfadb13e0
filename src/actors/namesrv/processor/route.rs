//! Route requests: GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO, topic lists, and the
//! admin requests that delete or register a topic's routes.

use std::sync::Arc;

use super::{NamesrvContext, Reply};
use crate::actors::error::ServiceError;
use crate::actors::namesrv::kv_config::{kv_read, ORDER_TOPIC_CONFIG};
use crate::actors::namesrv::route_info_manager::with_routes;
use crate::actors::remoting::ConnectionInfo;
use crate::protocol::body::fastjson::to_json;
use crate::protocol::body::kv::TopicList;
use crate::protocol::body::route::TopicRouteData;
use crate::protocol::code::response;
use crate::protocol::command::V4_9_4;
use crate::protocol::header::namesrv::*;
use crate::protocol::RemotingCommand;

/// Where the TOPIC_NOT_EXIST remark sends users (RocketMQ 5.x's text).
const FAQ_URL: &str = "https://rocketmq.apache.org/docs/bestPractice/06FAQ";

pub(super) async fn get_route_info(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: GetRouteInfoRequestHeader = req.decode_header()?;
    let topic = h.topic.clone();
    let route = cx
        .routes
        .ask(with_routes(move |t, _| t.pickup_topic_route(&topic)))
        .await??;
    let Some(mut route) = route else {
        return Ok(RemotingCommand::response(
            response::TOPIC_NOT_EXIST,
            Some(format!(
                "No topic route info in name server for the topic: {}\nSee {FAQ_URL} for further details.",
                h.topic
            )),
        ));
    };
    if cx.live.order_message_enable() {
        let topic = h.topic.clone();
        route.order_topic_conf = cx
            .kv
            .ask(kv_read(move |t| {
                t.get(ORDER_TOPIC_CONFIG, &topic).map(str::to_owned)
            }))
            .await??;
    }
    // Clients older than 4.9.4 (Go, C++, Node, old Java) parse broker ids only as the
    // unquoted keys fastjson writes by default.
    let standard = req.version >= V4_9_4 || h.accept_standard_json_only.unwrap_or(false);
    Ok(RemotingCommand::success().with_body(route.encode(standard)))
}

pub(super) async fn get_cluster_info(
    cx: Arc<NamesrvContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let info = cx
        .routes
        .ask(with_routes(|t, _| t.cluster_info()))
        .await??;
    Ok(RemotingCommand::success().with_body(info.encode()))
}

fn topic_list(topics: Vec<String>, broker_addr: Option<String>) -> RemotingCommand {
    RemotingCommand::success().with_body(to_json(&TopicList {
        topic_list: topics,
        broker_addr,
    }))
}

pub(super) async fn get_all_topics(
    cx: Arc<NamesrvContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    if !cx.live.enable_all_topic_list() {
        return Err(ServiceError::refused(response::SYSTEM_ERROR, "disable"));
    }
    let topics = cx.routes.ask(with_routes(|t, _| t.all_topics())).await??;
    Ok(topic_list(topics, None))
}

pub(super) async fn get_topics_by_cluster(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    if !cx.live.enable_topic_list() {
        return Err(ServiceError::refused(response::SYSTEM_ERROR, "disable"));
    }
    let h: GetTopicsByClusterRequestHeader = req.decode_header()?;
    let topics = cx
        .routes
        .ask(with_routes(move |t, _| t.topics_by_cluster(&h.cluster)))
        .await??;
    Ok(topic_list(topics, None))
}

pub(super) async fn get_system_topics(
    cx: Arc<NamesrvContext>,
    _: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let (topics, addr) = cx
        .routes
        .ask(with_routes(|t, _| t.system_topics()))
        .await??;
    Ok(topic_list(topics, addr))
}

pub(super) async fn delete_topic(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    let h: DeleteTopicFromNamesrvRequestHeader = req.decode_header()?;
    cx.routes
        .ask(with_routes(move |t, _| {
            t.delete_topic(&h.topic, h.cluster_name.as_deref())
        }))
        .await??;
    Ok(RemotingCommand::success())
}

/// REGISTER_TOPIC_IN_NAMESRV. Old ali-ons releases send code 217 at start as a KV lookup
/// with no body; that is answered SUCCESS without a value, as Apache RocketMQ does.
pub(super) async fn register_topic(
    cx: Arc<NamesrvContext>,
    req: RemotingCommand,
    _: ConnectionInfo,
) -> Reply {
    if req.body.is_empty() {
        return Ok(RemotingCommand::success());
    }
    let h: RegisterTopicRequestHeader = req.decode_header()?;
    let route = TopicRouteData::decode(&req.body)?;
    cx.routes
        .ask(with_routes(move |t, _| {
            t.register_topic(&h.topic, route.queue_datas)
        }))
        .await??;
    Ok(RemotingCommand::success())
}
