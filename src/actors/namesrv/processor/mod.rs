//! Name-server request processing: one file per request family, one registry line per
//! request code. [`NamesrvProcessor`] looks a code up, runs its handler, and turns a
//! handler's error into a response in the one place that does so
//! ([`ServiceError::into_response`](crate::actors::error::ServiceError::into_response)).

mod broker;
mod kv;
mod route;

use std::sync::Arc;

use super::config::{LiveSettings, NamesrvConfig};
use super::kv_config::KvConfig;
use super::route_info_manager::{with_routes, RouteInfoManager};
use crate::actors::dispatch::{DispatchContext, DuplicateCode, Handlers, Registry};
use crate::actors::remoting::ConnectionInfo;
use crate::actors::runtime::Mailbox;
use crate::protocol::code::request;

/// What every handler can reach.
pub struct NamesrvContext {
    pub routes: Mailbox<RouteInfoManager>,
    pub kv: Mailbox<KvConfig>,
    /// The configuration the server started with.
    pub config: NamesrvConfig,
    /// The switches UPDATE_NAMESRV_CONFIG changes while running; read these, not `config`.
    pub live: LiveSettings,
}

pub(crate) use crate::actors::dispatch::Reply;

/// Every request code this server answers, one line each.
#[rustfmt::skip]
fn registry() -> Registry<NamesrvContext> {
    Registry::new()
        .on(request::REGISTER_BROKER, broker::register_broker)
        .on(request::UNREGISTER_BROKER, broker::unregister_broker)
        .on(request::QUERY_DATA_VERSION, broker::query_data_version)
        .on(request::BROKER_HEARTBEAT, broker::broker_heartbeat)
        .on(request::WIPE_WRITE_PERM_OF_BROKER, broker::wipe_write_perm)
        .on(request::ADD_WRITE_PERM_OF_BROKER, broker::add_write_perm)
        .on(request::GET_ROUTEINFO_BY_TOPIC, route::get_route_info)
        .on(request::GET_BROKER_CLUSTER_INFO, route::get_cluster_info)
        .on(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER, route::get_all_topics)
        .on(request::GET_TOPICS_BY_CLUSTER, route::get_topics_by_cluster)
        .on(request::GET_SYSTEM_TOPIC_LIST_FROM_NS, route::get_system_topics)
        .on(request::DELETE_TOPIC_IN_NAMESRV, route::delete_topic)
        .on(request::REGISTER_TOPIC_IN_NAMESRV, route::register_topic)
        .on(request::PUT_KV_CONFIG, kv::put)
        .on(request::GET_KV_CONFIG, kv::get)
        .on(request::DELETE_KV_CONFIG, kv::delete)
        .on(request::GET_KVLIST_BY_NAMESPACE, kv::list_namespace)
        .on(request::GET_NAMESRV_CONFIG, kv::get_namesrv_config)
        .on(request::UPDATE_NAMESRV_CONFIG, kv::update_namesrv_config)
}

/// The NamesrvContext's request processor: its handler table.
pub type NamesrvProcessor = Handlers<NamesrvContext>;

/// Builds the processor over `context`; a code registered twice is refused here, at start.
pub fn processor(context: Arc<NamesrvContext>) -> Result<NamesrvProcessor, DuplicateCode> {
    registry().build(context)
}

impl DispatchContext for NamesrvContext {
    fn connection_closed(&self, conn: &ConnectionInfo) {
        let id = conn.id;
        // Cleanup must not be lost to a full mailbox: it bypasses the bound on purpose and
        // is itself bounded by the number of connections.
        self.routes.tell_past_capacity(with_routes(move |table, _| {
            for gone in table.brokers_on_connection(id) {
                tracing::info!(broker = %gone.broker_name, addr = %gone.broker_addr, "broker connection closed; removing its routes");
                table.unregister_broker(&gone);
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_request_code_is_registered_twice() {
        assert_eq!(super::registry().check(), Ok(()));
    }
}
