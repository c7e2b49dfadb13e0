//! Plug-ins: actors of your own inside the broker, under the same supervision as the
//! built-in ones. A plug-in is a plain struct implementing [`Plugin`]; the broker runs it
//! inside a [`PluginActor`] started with `runtime::start_supervised` at
//! `broker/plugins/<name>` (so it is on `/actors` and `/metrics`, a panic in any of its
//! callbacks is caught, counted and restarts it with backoff, keeping its state).
//!
//! Before it starts, a plug-in declares what it [`Takes`]; the broker wires only that:
//! - the dispatched-record stream ([`Plugin::dispatched`]): bounded by the plug-in's
//!   mailbox, a round its full mailbox refuses is dropped and counted;
//! - a send hook ([`Plugin::before_send`]) asked before a message is stored, answering
//!   pass, annotate (add properties) or refuse (code and remark). It has a time budget and
//!   a policy ([`WhenLate`]) for when the budget passes, the mailbox is full, the plug-in
//!   is restarting or it panicked: skip it (counted) or refuse the send with SYSTEM_BUSY;
//! - the after-store notice ([`Plugin::after_store`]) and the pull / offset-commit notice
//!   ([`Plugin::consumed`]): offered without waiting, dropped and counted when full;
//! - request codes of its own ([`Plugin::request`]) in the broker's dispatch table; a code
//!   the broker (or another plug-in) already answers refuses the broker's start;
//! - start ([`Plugin::attach`], [`Plugin::started`]) and stop ([`Plugin::stopping`], awaited
//!   at shutdown before the store closes).
//!
//! With no send hook declared, a send pays one `is_empty` check; with no after-store or
//! consume listener, nothing is built for them. [`builtin`] lists the plug-ins enabled by
//! name from the RON config (`plugins: [(name: "trace")]`); embedders add their own with
//! `BrokerBuilder::plugin`. docs/plugins.md is the guide.

pub mod builtin;
mod events;
pub mod host;
pub mod mirror;
pub mod trace;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

pub use events::{
    AfterStore, BeforeSend, Consumed, MessageType, OutgoingMessage, PluginRequest, PulledInfo,
    SendVerdict, StoredInfo,
};
pub use host::PluginHost;

use crate::actors::dispatch::Reply;
use crate::actors::error::ServiceError;
use crate::actors::runtime::{guarded, start_supervised, ActorError, Mailbox, Supervision};
use crate::protocol::code::response;
use crate::protocol::message::DispatchInfo;

/// The default mailbox bound of a plug-in. Full: notices are dropped and counted, the send
/// hook follows its [`WhenLate`] policy, a request code is answered SYSTEM_BUSY.
pub const DEFAULT_MAILBOX: usize = 4096;
/// How long shutdown waits for a plug-in's [`Plugin::stopping`].
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What a send hook does when it cannot answer within its budget (slow, mailbox full,
/// restarting, panicked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenLate {
    /// Store the message as if the hook had passed it; counted as `skipped`.
    Skip,
    /// Refuse the send with SYSTEM_BUSY (clients retry); counted as `refused_late`.
    Refuse,
}

/// A send hook's budget and its policy past the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendHookPolicy {
    pub budget: Duration,
    pub when_late: WhenLate,
}

/// What a plug-in takes from the broker; built with the chained methods.
#[derive(Debug, Clone)]
pub struct Takes {
    pub dispatched: bool,
    pub send_hook: Option<SendHookPolicy>,
    pub after_store: bool,
    pub consumed: bool,
    pub request_codes: Vec<i32>,
    pub mailbox: usize,
    pub own_arbiter: bool,
}

impl Default for Takes {
    fn default() -> Self {
        Takes {
            dispatched: false,
            send_hook: None,
            after_store: false,
            consumed: false,
            request_codes: Vec::new(),
            mailbox: DEFAULT_MAILBOX,
            own_arbiter: false,
        }
    }
}

impl Takes {
    /// Nothing yet.
    pub fn new() -> Self {
        Takes::default()
    }
    /// Every dispatched record, a round at a time (at most once: a full mailbox drops it).
    pub fn dispatched(mut self) -> Self {
        self.dispatched = true;
        self
    }
    /// A hook before each send is stored, answered within `budget` or handled per `when_late`.
    pub fn send_hook(mut self, budget: Duration, when_late: WhenLate) -> Self {
        self.send_hook = Some(SendHookPolicy { budget, when_late });
        self
    }
    /// A notice after each send is stored.
    pub fn after_store(mut self) -> Self {
        self.after_store = true;
        self
    }
    /// A notice for each pull that found messages and each consumer-offset commit.
    pub fn consumed(mut self) -> Self {
        self.consumed = true;
        self
    }
    /// A request code of its own, answered by [`Plugin::request`].
    pub fn request_code(mut self, code: i32) -> Self {
        self.request_codes.push(code);
        self
    }
    /// The mailbox bound (default [`DEFAULT_MAILBOX`]).
    pub fn mailbox(mut self, capacity: usize) -> Self {
        self.mailbox = capacity.max(1);
        self
    }
    /// Run on an arbiter (thread) of its own instead of the broker's, for plug-ins that do
    /// real work per record.
    pub fn own_arbiter(mut self) -> Self {
        self.own_arbiter = true;
        self
    }
}

/// The actor context a plug-in's callbacks get (spawn futures, run intervals on it).
pub type PluginContext<P> = Context<PluginActor<P>>;

/// A future a plug-in hands back from [`Plugin::stopping`].
pub type StopFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A broker plug-in. Every callback runs on the plug-in's actor, inside the runtime's
/// panic guard; only the callbacks for what [`Plugin::takes`] declares are ever called.
pub trait Plugin: Send + Unpin + Sized + 'static {
    /// Its name: the metrics path is `broker/plugins/<name>`.
    fn name(&self) -> &str;

    /// What it takes from the broker; read once, before it starts.
    fn takes(&self) -> Takes;

    /// Called once at broker start, before the actor starts: keep the host, check config.
    /// An error stops the broker's start.
    fn attach(&mut self, _host: &PluginHost) -> Result<(), String> {
        Ok(())
    }

    /// Called when the actor starts and after every restart (intervals set here are
    /// cancelled by a restart, so they are set again).
    fn started(&mut self, _ctx: &mut PluginContext<Self>) {}

    /// A round of dispatched records, in commit-log order.
    fn dispatched(&mut self, _records: &[DispatchInfo], _ctx: &mut PluginContext<Self>) {}

    /// Before a send is stored; the answer must come within the declared budget.
    fn before_send(&mut self, _send: &BeforeSend, _ctx: &mut PluginContext<Self>) -> SendVerdict {
        SendVerdict::Pass
    }

    /// After a send was stored.
    fn after_store(&mut self, _stored: AfterStore, _ctx: &mut PluginContext<Self>) {}

    /// A group pulled messages, or committed an offset.
    fn consumed(&mut self, _event: Consumed, _ctx: &mut PluginContext<Self>) {}

    /// One of its declared request codes.
    fn request(&mut self, request: PluginRequest, _ctx: &mut PluginContext<Self>) -> Reply {
        Err(ServiceError::refused(
            response::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {} not supported", request.request.code),
        ))
    }

    /// The broker is stopping: flush what is buffered. Awaited (up to 5 s) before the
    /// store closes.
    fn stopping(&mut self, _ctx: &mut PluginContext<Self>) -> StopFuture {
        Box::pin(async {})
    }
}

/// Runs `fut` on the plug-in's actor and then `then` with the plug-in and its answer (for
/// async work such as writes and sends). A panic in either is caught, counted, and
/// restarts the plug-in like a panicking callback; a restart cancels what was spawned.
pub fn spawn<P, F>(
    ctx: &mut PluginContext<P>,
    fut: F,
    then: impl FnOnce(F::Output, &mut P, &mut PluginContext<P>) + 'static,
) where
    P: Plugin,
    F: Future + 'static,
{
    let wrapped = actix::fut::wrap_future::<_, PluginActor<P>>(fut)
        .map(move |out, act: &mut PluginActor<P>, ctx| then(out, &mut act.plugin, ctx));
    ctx.spawn(crate::actors::panic_guard::catch_panics(wrapped));
}

/// The actor a plug-in runs in.
pub struct PluginActor<P: Plugin> {
    sup: Supervision,
    pub plugin: P,
}

impl<P: Plugin> Actor for PluginActor<P> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |ctx| self.plugin.started(ctx));
    }
}

impl<P: Plugin> Supervised for PluginActor<P> {
    fn restarting(&mut self, ctx: &mut Context<Self>) {
        crate::actors::runtime::restarting(self, ctx);
    }
}

impl<P: Plugin> crate::actors::runtime::SupervisedActor for PluginActor<P> {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.sup
    }
}

/// Messages the broker sends a plug-in actor; each handler runs the callback guarded.
mod calls {
    use super::*;

    #[derive(Message)]
    #[rtype(result = "()")]
    pub struct DispatchedCall(pub Arc<Vec<DispatchInfo>>);

    /// `None`: the hook panicked.
    #[derive(Message)]
    #[rtype(result = "Option<SendVerdict>")]
    pub struct SendCall(pub Arc<BeforeSend>);

    #[derive(Message)]
    #[rtype(result = "()")]
    pub struct StoredCall(pub AfterStore);

    #[derive(Message)]
    #[rtype(result = "()")]
    pub struct ConsumedCall(pub Consumed);

    /// `None`: the handler panicked.
    #[derive(Message)]
    #[rtype(result = "Option<Reply>")]
    pub struct RequestCall(pub PluginRequest);

    #[derive(Message)]
    #[rtype(result = "()")]
    pub struct StopCall;
}
use calls::*;

impl<P: Plugin> Handler<DispatchedCall> for PluginActor<P> {
    type Result = ();
    fn handle(&mut self, msg: DispatchedCall, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |ctx| self.plugin.dispatched(&msg.0, ctx));
    }
}

impl<P: Plugin> Handler<SendCall> for PluginActor<P> {
    type Result = Option<SendVerdict>;
    fn handle(&mut self, msg: SendCall, ctx: &mut Context<Self>) -> Option<SendVerdict> {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |ctx| self.plugin.before_send(&msg.0, ctx))
    }
}

impl<P: Plugin> Handler<StoredCall> for PluginActor<P> {
    type Result = ();
    fn handle(&mut self, msg: StoredCall, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |ctx| self.plugin.after_store(msg.0, ctx));
    }
}

impl<P: Plugin> Handler<ConsumedCall> for PluginActor<P> {
    type Result = ();
    fn handle(&mut self, msg: ConsumedCall, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |ctx| self.plugin.consumed(msg.0, ctx));
    }
}

impl<P: Plugin> Handler<RequestCall> for PluginActor<P> {
    type Result = Option<Reply>;
    fn handle(&mut self, msg: RequestCall, ctx: &mut Context<Self>) -> Option<Reply> {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |ctx| self.plugin.request(msg.0, ctx))
    }
}

impl<P: Plugin> Handler<StopCall> for PluginActor<P> {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, _: StopCall, ctx: &mut Context<Self>) -> ResponseFuture<()> {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |ctx| self.plugin.stopping(ctx))
            .unwrap_or_else(|| Box::pin(async {}))
    }
}

// `admits!` is written for one concrete actor type; plug-in actors are generic.
macro_rules! admits_generic {
    ($($msg:ty),+) => {
        $(
            impl<P: Plugin> Handler<crate::actors::envelope::Admitted<$msg>> for PluginActor<P> {
                type Result = <PluginActor<P> as Handler<$msg>>::Result;
                fn handle(
                    &mut self,
                    envelope: crate::actors::envelope::Admitted<$msg>,
                    ctx: &mut Context<Self>,
                ) -> Self::Result {
                    let (msg, _slot) = envelope.into_parts();
                    <PluginActor<P> as Handler<$msg>>::handle(self, msg, ctx)
                }
            }
        )+
    };
}
admits_generic!(
    DispatchedCall,
    SendCall,
    StoredCall,
    ConsumedCall,
    RequestCall,
    StopCall
);

/// Hands a dispatched round to a plug-in; `false` when its mailbox refused it.
pub type DispatchSink = Arc<dyn Fn(&Arc<Vec<DispatchInfo>>) -> bool + Send + Sync>;
type Tell<M> = Arc<dyn Fn(M) -> Result<(), ActorError> + Send + Sync>;
type Ask<M, R> = Arc<dyn Fn(M) -> BoxFuture<'static, Result<R, ActorError>> + Send + Sync>;
type Stop = Arc<dyn Fn() -> BoxFuture<'static, Result<(), ActorError>> + Send + Sync>;

/// A started plug-in with its type erased: what the broker wires.
pub struct Started {
    name: String,
    takes: Takes,
    path: String,
    dispatched: DispatchSink,
    hook: Ask<Arc<BeforeSend>, Option<SendVerdict>>,
    stored: Tell<AfterStore>,
    consumed: Tell<Consumed>,
    request: Ask<PluginRequest, Option<Reply>>,
    stop: Stop,
    arbiter: Option<Arbiter>,
}

impl Started {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn takes(&self) -> &Takes {
        &self.takes
    }
    /// Hands `request` to the plug-in; its answer, or why it gave none.
    pub fn request(&self, request: PluginRequest) -> BoxFuture<'static, Reply> {
        let (call, path) = ((self.request)(request), self.path.clone());
        async move {
            match call.await? {
                Some(reply) => reply,
                None => Err(ServiceError::Actor(ActorError::Panicked(path))),
            }
        }
        .boxed()
    }
}

/// Attaches `plugin` to the host and starts its actor.
pub fn launch<P: Plugin>(mut plugin: P, host: &PluginHost) -> Result<Started, String> {
    let name = plugin.name().to_owned();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        return Err(format!(
            "plug-in name {name:?}: use letters, digits, '-' and '_'"
        ));
    }
    let takes = plugin.takes();
    let host = host.for_plugin(&name);
    plugin
        .attach(&host)
        .map_err(|e| format!("plug-in {name}: {e}"))?;
    let arbiter = takes.own_arbiter.then(Arbiter::new);
    let path = format!("broker/plugins/{name}");
    let mailbox: Mailbox<PluginActor<P>> = start_supervised(
        host.registry(),
        path.clone(),
        takes.mailbox,
        arbiter.as_ref().map(|a| a.handle()).as_ref(),
        move |sup| PluginActor { sup, plugin },
    );
    let dropped = |notice: &str| {
        host.registry().counter(
            "rocketmq_plugin_notices_dropped_total",
            &[("plugin", &name), ("notice", notice)],
        )
    };
    let dispatched: DispatchSink = {
        let (mb, dropped) = (mailbox.clone(), dropped("dispatched"));
        Arc::new(move |round: &Arc<Vec<DispatchInfo>>| {
            let ok = mb.tell(DispatchedCall(round.clone())).is_ok();
            if !ok {
                dropped.fetch_add(round.len() as u64, Ordering::Relaxed);
            }
            ok
        })
    };
    let stored: Tell<AfterStore> = {
        let (mb, dropped) = (mailbox.clone(), dropped("after_store"));
        Arc::new(move |n| {
            mb.tell(StoredCall(n)).inspect_err(|_| {
                dropped.fetch_add(1, Ordering::Relaxed);
            })
        })
    };
    let consumed: Tell<Consumed> = {
        let (mb, dropped) = (mailbox.clone(), dropped("consumed"));
        Arc::new(move |n| {
            mb.tell(ConsumedCall(n)).inspect_err(|_| {
                dropped.fetch_add(1, Ordering::Relaxed);
            })
        })
    };
    let hook: Ask<Arc<BeforeSend>, Option<SendVerdict>> = {
        let mb = mailbox.clone();
        Arc::new(move |s| mb.ask(SendCall(s)).boxed())
    };
    let request: Ask<PluginRequest, Option<Reply>> = {
        let mb = mailbox.clone();
        Arc::new(move |r| mb.ask(RequestCall(r)).boxed())
    };
    let stop = {
        let mb = mailbox.clone();
        Arc::new(move || {
            // Sent past the bound: shutdown must reach a plug-in whose mailbox is full.
            let slot = crate::actors::envelope::Slot::forced(mb.metrics());
            let call = mb
                .addr()
                .send(crate::actors::envelope::Admitted::new(StopCall, slot));
            let path = mb.metrics().path().to_owned();
            async move { call.await.map_err(|_| ActorError::Closed(path)) }.boxed()
        })
    };
    Ok(Started {
        name,
        takes,
        path,
        dispatched,
        hook,
        stored,
        consumed,
        request,
        stop,
        arbiter,
    })
}

/// A send hook as the send path calls it, with its outcome counters.
struct Hook {
    name: String,
    policy: SendHookPolicy,
    ask: Ask<Arc<BeforeSend>, Option<SendVerdict>>,
    outcomes: [Arc<AtomicU64>; 5],
}

const OUTCOMES: [&str; 5] = ["pass", "annotate", "refuse", "skipped", "refused_late"];

/// The started plug-ins, as the send and pull paths reach them (in `BrokerContext`).
#[derive(Default)]
pub struct Plugins {
    hooks: Vec<Hook>,
    stored: Vec<Tell<AfterStore>>,
    consumed: Vec<Tell<Consumed>>,
    stops: Vec<(String, Stop)>,
    arbiters: Mutex<Vec<Arbiter>>,
}

impl Plugins {
    /// Wires the started plug-ins: send hooks in the order given.
    pub fn new(
        started: &mut [Started],
        registry: &crate::actors::metrics::MetricsRegistry,
    ) -> Self {
        let mut p = Plugins::default();
        for s in started.iter_mut() {
            if let Some(policy) = s.takes.send_hook {
                p.hooks.push(Hook {
                    name: s.name.clone(),
                    policy,
                    ask: s.hook.clone(),
                    outcomes: OUTCOMES.map(|o| {
                        registry.counter(
                            "rocketmq_plugin_send_hook_total",
                            &[("plugin", &s.name), ("outcome", o)],
                        )
                    }),
                });
            }
            if s.takes.after_store {
                p.stored.push(s.stored.clone());
            }
            if s.takes.consumed {
                p.consumed.push(s.consumed.clone());
            }
            p.stops.push((s.name.clone(), s.stop.clone()));
            if let Some(a) = s.arbiter.take() {
                if let Ok(mut all) = p.arbiters.lock() {
                    all.push(a);
                }
            }
        }
        p
    }

    /// The dispatched-record sinks of the started plug-ins that take the stream.
    pub fn dispatch_sinks(started: &[Started]) -> impl Iterator<Item = DispatchSink> + '_ {
        started
            .iter()
            .filter(|s| s.takes.dispatched)
            .map(|s| s.dispatched.clone())
    }

    pub fn has_send_hooks(&self) -> bool {
        !self.hooks.is_empty()
    }

    pub fn wants_after_store(&self) -> bool {
        !self.stored.is_empty()
    }

    pub fn wants_consumed(&self) -> bool {
        !self.consumed.is_empty()
    }

    /// Asks every send hook in turn. The properties to add, or the refusal.
    pub async fn before_send(
        &self,
        send: BeforeSend,
    ) -> Result<Vec<(String, String)>, ServiceError> {
        let send = Arc::new(send);
        let mut added = Vec::new();
        for hook in &self.hooks {
            let count = |i: usize| hook.outcomes[i].fetch_add(1, Ordering::Relaxed);
            let late =
                match tokio::time::timeout(hook.policy.budget, (hook.ask)(send.clone())).await {
                    Ok(Ok(Some(SendVerdict::Pass))) => {
                        count(0);
                        continue;
                    }
                    Ok(Ok(Some(SendVerdict::Annotate(props)))) => {
                        count(1);
                        added.extend(props);
                        continue;
                    }
                    Ok(Ok(Some(SendVerdict::Refuse { code, remark }))) => {
                        count(2);
                        return Err(ServiceError::refused(code, remark));
                    }
                    Ok(Ok(None)) => "panicked".to_owned(),
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => format!("no answer within {} ms", hook.policy.budget.as_millis()),
                };
            match hook.policy.when_late {
                WhenLate::Skip => {
                    count(3);
                    tracing::debug!(plugin = %hook.name, why = %late, "send hook skipped");
                }
                WhenLate::Refuse => {
                    count(4);
                    return Err(ServiceError::refused(
                        response::SYSTEM_BUSY,
                        format!(
                            "[PLUGIN]the send hook of plug-in {} did not answer: {late}",
                            hook.name
                        ),
                    ));
                }
            }
        }
        Ok(added)
    }

    /// Offers the after-store notice to every listener (never waits).
    pub fn after_store(&self, stored: AfterStore) {
        for tell in &self.stored {
            let _ = tell(stored.clone());
        }
    }

    /// Offers a consume notice to every listener (never waits).
    pub fn consumed(&self, event: Consumed) {
        for tell in &self.consumed {
            let _ = tell(event.clone());
        }
    }

    /// Asks every plug-in to stop (flush) and waits up to 5 s for each, then stops their
    /// own arbiters.
    pub async fn stop(&self) {
        for (name, stop) in &self.stops {
            match tokio::time::timeout(STOP_GRACE, stop()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(plugin = %name, error = %e, "plug-in gone at stop"),
                Err(_) => tracing::warn!(plugin = %name, "plug-in did not stop within 5 s"),
            }
        }
        if let Ok(mut all) = self.arbiters.lock() {
            for a in all.drain(..) {
                a.stop();
            }
        }
    }
}
