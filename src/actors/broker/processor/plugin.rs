//! Plug-in request codes: each code a plug-in declares joins the broker's dispatch table,
//! answered by the plug-in's actor. A code already in the table (a built-in code, or
//! another plug-in's) refuses the broker's start, naming both.

use std::sync::Arc;

use super::{BrokerContext, BrokerProcessor};
use crate::actors::broker::plugins::{PluginRequest, Started};
use crate::actors::broker::BrokerError;
use crate::actors::dispatch::DynHandler;
use crate::protocol::code::request_name;

/// Adds the request codes of `started` plug-ins to `processor`.
pub fn with_plugins(
    mut processor: BrokerProcessor,
    started: Vec<Started>,
) -> Result<BrokerProcessor, BrokerError> {
    let mut owners: Vec<(i32, String)> = Vec::new();
    for plugin in started {
        let plugin = Arc::new(plugin);
        for &code in &plugin.takes().request_codes {
            let p = plugin.clone();
            let handler: DynHandler<BrokerContext> = Arc::new(move |_cx, request, conn| {
                p.request(PluginRequest {
                    request,
                    peer: conn.peer,
                })
            });
            processor.add(code, handler).map_err(|code| {
                let holder = owners
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map(|(_, name)| format!("plug-in {name}"))
                    .unwrap_or_else(|| match request_name(code) {
                        Some(n) => format!("the broker ({n})"),
                        None => "the broker".to_owned(),
                    });
                BrokerError::Config(format!(
                    "plug-in {}: request code {code} is already answered by {holder}",
                    plugin.name()
                ))
            })?;
            owners.push((code, plugin.name().to_owned()));
        }
    }
    Ok(processor)
}
