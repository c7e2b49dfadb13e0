//! Plug-in request codes: each code a plug-in declares joins the broker's registry,
//! answered by the plug-in's actor. A code already registered (a built-in code, or
//! another plug-in's) refuses the broker's start, naming both.

use std::sync::Arc;

use super::{registry, BrokerContext, BrokerProcessor};
use crate::actors::broker::plugins::{PluginRequest, Started};
use crate::actors::broker::BrokerError;
use crate::protocol::code::request_name;

/// The broker's processor: the built-in codes and those of `started` plug-ins.
pub fn with_plugins(
    context: Arc<BrokerContext>,
    started: Vec<Started>,
) -> Result<BrokerProcessor, BrokerError> {
    let mut registry = registry();
    let mut owners: Vec<(i32, String)> = Vec::new();
    for plugin in started {
        let plugin = Arc::new(plugin);
        for &code in &plugin.takes().request_codes {
            if registry.has(code) {
                let holder = owners
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map(|(_, name)| format!("plug-in {name}"))
                    .unwrap_or_else(|| match request_name(code) {
                        Some(n) => format!("the broker ({n})"),
                        None => "the broker".to_owned(),
                    });
                return Err(BrokerError::Config(format!(
                    "plug-in {}: request code {code} is already answered by {holder}",
                    plugin.name()
                )));
            }
            let p = plugin.clone();
            registry = registry.on(code, move |_cx, request, conn| {
                p.request(PluginRequest {
                    request,
                    peer: conn.peer,
                })
            });
            owners.push((code, plugin.name().to_owned()));
        }
    }
    Ok(registry.build(context)?)
}
