//! Request-code dispatch shared by the name server and the broker: the one adapter that
//! registers a plain `async fn` handler under a request code ([`Registry::on`]), the check
//! that no code is registered twice, the REQUEST_CODE_NOT_SUPPORTED answer for codes not in
//! the table, and the one place where a handler's error becomes a response and where every
//! refusal is logged (see [`super::refusal_log`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::error::ServiceError;
use super::refusal_log::{log_answer, RequestFacts};
use super::remoting::{ConnectionInfo, RequestProcessor};
use crate::protocol::code::response;
use crate::protocol::RemotingCommand;

/// What a handler answers.
pub type Reply = Result<RemotingCommand, ServiceError>;

/// A registered handler, boxed once by [`Registry::on`] so handlers themselves stay plain
/// `async fn`s.
type Handler<C> =
    Box<dyn Fn(Arc<C>, RemotingCommand, ConnectionInfo) -> BoxFuture<'static, Reply> + Send + Sync>;

/// What a processor's handlers share; it also hears about closed connections.
pub trait DispatchContext: Send + Sync + 'static {
    fn connection_closed(&self, _conn: &ConnectionInfo) {}
}

/// A request code registered twice: a programming error, reported when the server starts
/// rather than letting the later registration silently win.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("request code {0} is registered twice")]
pub struct DuplicateCode(pub i32);

/// Request codes and their handlers, in registration order, before the table is built.
pub struct Registry<C> {
    entries: Vec<(i32, Handler<C>)>,
}

impl<C: DispatchContext> Default for Registry<C> {
    fn default() -> Self {
        Registry {
            entries: Vec::new(),
        }
    }
}

impl<C: DispatchContext> Registry<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for `code`: any `async fn(Arc<C>, RemotingCommand,
    /// ConnectionInfo) -> Reply`.
    pub fn on<F, Fut>(mut self, code: i32, handler: F) -> Self
    where
        F: Fn(Arc<C>, RemotingCommand, ConnectionInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        let handler: Handler<C> = Box::new(move |cx, req, conn| handler(cx, req, conn).boxed());
        self.entries.push((code, handler));
        self
    }

    /// Whether `code` is registered (a plug-in's code is checked against the built-ins
    /// before it is added, so the refusal can name both).
    pub fn has(&self, code: i32) -> bool {
        self.entries.iter().any(|(c, _)| *c == code)
    }

    /// The first code registered twice, if any.
    pub fn check(&self) -> Result<(), DuplicateCode> {
        let mut seen = std::collections::HashSet::with_capacity(self.entries.len());
        match self.entries.iter().find(|(code, _)| !seen.insert(*code)) {
            Some(&(code, _)) => Err(DuplicateCode(code)),
            None => Ok(()),
        }
    }

    /// The table over `context`; refused if any code was registered twice.
    pub fn build(self, context: Arc<C>) -> Result<Handlers<C>, DuplicateCode> {
        self.check()?;
        Ok(Handlers {
            context,
            table: self.entries.into_iter().collect(),
        })
    }
}

/// A request-code table; it is the server's [`RequestProcessor`].
pub struct Handlers<C> {
    context: Arc<C>,
    table: HashMap<i32, Handler<C>>,
}

impl<C: DispatchContext> Handlers<C> {
    pub fn context(&self) -> &Arc<C> {
        &self.context
    }

    /// Runs the handler of `request.code`; errors become responses here and nowhere else.
    pub fn dispatch(
        &self,
        request: RemotingCommand,
        conn: ConnectionInfo,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let facts = RequestFacts::of(&request);
        let peer = conn.peer;
        let Some(handler) = self.table.get(&request.code) else {
            let remark = format!(" request type {} not supported", request.code);
            let answer =
                RemotingCommand::response(response::REQUEST_CODE_NOT_SUPPORTED, Some(remark));
            log_answer(&facts, peer, &answer);
            return futures_util::future::ready(Some(answer)).boxed();
        };
        handler(self.context.clone(), request, conn)
            .map(move |reply| {
                let answer = reply.unwrap_or_else(ServiceError::into_response);
                log_answer(&facts, peer, &answer);
                Some(answer)
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl DispatchContext for Nothing {}

    async fn answer(_: Arc<Nothing>, _: RemotingCommand, _: ConnectionInfo) -> Reply {
        Ok(RemotingCommand::success())
    }

    async fn refuse(_: Arc<Nothing>, _: RemotingCommand, _: ConnectionInfo) -> Reply {
        Err(ServiceError::refused(response::SYSTEM_ERROR, "no"))
    }

    #[test]
    fn distinct_codes_build_a_table_of_each() {
        let handlers = Registry::new()
            .on(10, answer)
            .on(11, refuse)
            .on(12, answer)
            .build(Arc::new(Nothing))
            .expect("no code twice");
        let mut codes: Vec<i32> = handlers.table.keys().copied().collect();
        codes.sort_unstable();
        assert_eq!(codes, [10, 11, 12]);
    }

    #[test]
    fn a_code_registered_twice_is_refused_at_build() {
        let registry = Registry::new().on(10, answer).on(11, answer).on(10, refuse);
        assert_eq!(registry.check(), Err(DuplicateCode(10)));
        let err = registry.build(Arc::new(Nothing)).err();
        assert_eq!(err, Some(DuplicateCode(10)));
        assert_eq!(
            DuplicateCode(10).to_string(),
            "request code 10 is registered twice"
        );
    }

    #[test]
    fn an_empty_registry_is_valid() {
        assert_eq!(Registry::<Nothing>::new().check(), Ok(()));
    }
}
