//! Name-server request processing: one file per request family, one registry line per
//! request code. [`NamesrvProcessor`] looks a code up, runs its handler, and turns a
//! handler's error into a response in the one place that does so
//! ([`ServiceError::into_response`]).

mod broker;
mod kv;
mod route;

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::config::NamesrvConfig;
use super::kv_config::KvConfig;
use super::route_info_manager::{with_routes, RouteInfoManager};
use crate::actors::error::ServiceError;
use crate::actors::remoting::{ConnectionInfo, RequestProcessor};
use crate::actors::runtime::Mailbox;
use crate::protocol::code::{request, response};
use crate::protocol::RemotingCommand;

/// What every handler can reach.
pub struct NamesrvContext {
    pub routes: Mailbox<RouteInfoManager>,
    pub kv: Mailbox<KvConfig>,
    pub config: NamesrvConfig,
}

type Reply = Result<RemotingCommand, ServiceError>;
type HandlerFn =
    fn(Arc<NamesrvContext>, RemotingCommand, ConnectionInfo) -> BoxFuture<'static, Reply>;

fn registry() -> HashMap<i32, HandlerFn> {
    let entries: [(i32, HandlerFn); 18] = [
        (request::REGISTER_BROKER, broker::register_broker),
        (request::UNREGISTER_BROKER, broker::unregister_broker),
        (request::QUERY_DATA_VERSION, broker::query_data_version),
        (request::BROKER_HEARTBEAT, broker::broker_heartbeat),
        (request::WIPE_WRITE_PERM_OF_BROKER, broker::wipe_write_perm),
        (request::ADD_WRITE_PERM_OF_BROKER, broker::add_write_perm),
        (request::GET_ROUTEINFO_BY_TOPIC, route::get_route_info),
        (request::GET_BROKER_CLUSTER_INFO, route::get_cluster_info),
        (
            request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            route::get_all_topics,
        ),
        (request::GET_TOPICS_BY_CLUSTER, route::get_topics_by_cluster),
        (
            request::GET_SYSTEM_TOPIC_LIST_FROM_NS,
            route::get_system_topics,
        ),
        (request::DELETE_TOPIC_IN_NAMESRV, route::delete_topic),
        (request::REGISTER_TOPIC_IN_NAMESRV, route::register_topic),
        (request::PUT_KV_CONFIG, kv::put),
        (request::GET_KV_CONFIG, kv::get),
        (request::DELETE_KV_CONFIG, kv::delete),
        (request::GET_KVLIST_BY_NAMESPACE, kv::list_namespace),
        (request::GET_NAMESRV_CONFIG, kv::get_namesrv_config),
    ];
    entries.into_iter().collect()
}

/// The name server's [`RequestProcessor`].
pub struct NamesrvProcessor {
    context: Arc<NamesrvContext>,
    handlers: HashMap<i32, HandlerFn>,
}

impl NamesrvProcessor {
    pub fn new(context: NamesrvContext) -> Self {
        NamesrvProcessor {
            context: Arc::new(context),
            handlers: registry(),
        }
    }
}

impl RequestProcessor for NamesrvProcessor {
    fn process(
        &self,
        request: RemotingCommand,
        conn: ConnectionInfo,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let Some(handler) = self.handlers.get(&request.code) else {
            tracing::debug!(code = request.code, peer = %conn.peer, "request code not supported");
            let remark = format!(" request type {} not supported", request.code);
            return futures_util::future::ready(Some(RemotingCommand::response(
                response::REQUEST_CODE_NOT_SUPPORTED,
                Some(remark),
            )))
            .boxed();
        };
        let code = request.code;
        handler(self.context.clone(), request, conn)
            .map(move |reply| {
                Some(reply.unwrap_or_else(|e| {
                    tracing::debug!(code, error = %e, "request refused");
                    e.into_response()
                }))
            })
            .boxed()
    }

    fn connection_closed(&self, conn: &ConnectionInfo) {
        let id = conn.id;
        // Cleanup must not be lost to a full mailbox: it bypasses the bound on purpose and
        // is itself bounded by the number of connections.
        self.context.routes.addr().do_send(with_routes(move |table, _| {
            for gone in table.brokers_on_connection(id) {
                tracing::info!(broker = %gone.broker_name, addr = %gone.broker_addr, "broker connection closed; removing its routes");
                table.unregister_broker(&gone);
            }
        }));
    }
}
