//! Request-code dispatch shared by the name server and the broker: one table from request
//! code to handler function, the REQUEST_CODE_NOT_SUPPORTED answer for codes not in it, and
//! the one place where a handler's error becomes a response.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::error::ServiceError;
use super::remoting::{ConnectionInfo, RequestProcessor};
use crate::protocol::code::response;
use crate::protocol::RemotingCommand;

/// What a handler answers.
pub type Reply = Result<RemotingCommand, ServiceError>;

/// A request handler over a shared context `C`.
pub type HandlerFn<C> = fn(Arc<C>, RemotingCommand, ConnectionInfo) -> BoxFuture<'static, Reply>;

/// A handler added at start (a plug-in's request code): a closure instead of a function.
pub type DynHandler<C> =
    Arc<dyn Fn(Arc<C>, RemotingCommand, ConnectionInfo) -> BoxFuture<'static, Reply> + Send + Sync>;

/// What a processor's handlers share; it also hears about closed connections.
pub trait DispatchContext: Send + Sync + 'static {
    fn connection_closed(&self, _conn: &ConnectionInfo) {}
}

/// A request-code table; it is the server's [`RequestProcessor`].
pub struct Handlers<C> {
    context: Arc<C>,
    table: HashMap<i32, DynHandler<C>>,
}

impl<C: DispatchContext> Handlers<C> {
    pub fn new(context: Arc<C>, entries: impl IntoIterator<Item = (i32, HandlerFn<C>)>) -> Self {
        Handlers {
            context,
            table: entries
                .into_iter()
                .map(|(code, f)| (code, Arc::new(f) as DynHandler<C>))
                .collect(),
        }
    }

    /// Adds a handler for a code nobody answers yet; a code already taken is refused
    /// (a plug-in must not shadow a built-in code or another plug-in's).
    pub fn add(&mut self, code: i32, handler: DynHandler<C>) -> Result<(), i32> {
        match self.table.entry(code) {
            std::collections::hash_map::Entry::Occupied(_) => Err(code),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(handler);
                Ok(())
            }
        }
    }

    /// Whether `code` has a handler.
    pub fn answers(&self, code: i32) -> bool {
        self.table.contains_key(&code)
    }

    pub fn context(&self) -> &Arc<C> {
        &self.context
    }

    /// Runs the handler of `request.code`; errors become responses here and nowhere else.
    pub fn dispatch(
        &self,
        request: RemotingCommand,
        conn: ConnectionInfo,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let Some(handler) = self.table.get(&request.code) else {
            tracing::debug!(code = request.code, peer = %conn.peer, "request code not supported");
            let remark = format!(" request type {} not supported", request.code);
            let answer =
                RemotingCommand::response(response::REQUEST_CODE_NOT_SUPPORTED, Some(remark));
            return futures_util::future::ready(Some(answer)).boxed();
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
}

impl<C: DispatchContext> RequestProcessor for Handlers<C> {
    fn process(
        &self,
        request: RemotingCommand,
        conn: ConnectionInfo,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        self.dispatch(request, conn)
    }

    fn connection_closed(&self, conn: &ConnectionInfo) {
        self.context.connection_closed(conn);
    }
}
