//! The actor runtime every Ferrocket actor stands on: supervised start with restart
//! backoff, bounded mailboxes with a fail-fast policy, and the handler guard that catches
//! panics and records metrics.
//!
//! actix restarts a `Supervised` actor only when it stops itself, and a panic in a handler
//! would take its whole arbiter thread down. So every handler runs inside [`guarded`]: a
//! panic is caught at the handler boundary, counted, logged, and turned into `ctx.stop()`;
//! the actix `Supervisor` then calls [`Supervised::restarting`], where [`restarting`] counts
//! the restart and holds the mailbox for an exponential backoff before the actor handles
//! anything again. Messages already queued stay queued across the restart.
//!
//! Mailbox policy: requests go through [`Mailbox::ask`] or [`Mailbox::tell`], which refuse
//! at once with [`ActorError::MailboxFull`] when the actor already holds its capacity of
//! messages. Callers on a client path answer SYSTEM_BUSY; nothing waits without bound.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::envelope::{Admitted, Slot};
use super::metrics::{ActorMetrics, MetricsRegistry};

/// Why a message did not get an answer from an actor.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ActorError {
    #[error("mailbox of {0} is full")]
    MailboxFull(String),
    #[error("actor {0} is not running")]
    Closed(String),
    #[error("handler of {0} panicked; the actor is restarting")]
    Panicked(String),
}

/// Restart backoff: doubles from `initial` to `max`, and starts over once the actor has run
/// for `reset_after` without a failure.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub reset_after: Duration,
    current: Duration,
    last_failure: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(
            Duration::from_millis(10),
            Duration::from_secs(5),
            Duration::from_secs(60),
        )
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration, reset_after: Duration) -> Self {
        Backoff {
            initial,
            max,
            reset_after,
            current: Duration::ZERO,
            last_failure: None,
        }
    }

    /// The delay before the next restart.
    pub fn next_delay(&mut self) -> Duration {
        let now = Instant::now();
        let calm = self
            .last_failure
            .map(|t| now.duration_since(t) >= self.reset_after)
            .unwrap_or(true);
        self.current = if calm || self.current.is_zero() {
            self.initial
        } else {
            (self.current * 2).min(self.max)
        };
        self.last_failure = Some(now);
        self.current
    }
}

/// What the runtime keeps inside each supervised actor.
#[derive(Debug, Clone)]
pub struct Supervision {
    pub metrics: Arc<ActorMetrics>,
    pub backoff: Backoff,
}

impl Supervision {
    pub fn new(metrics: Arc<ActorMetrics>) -> Self {
        Supervision {
            metrics,
            backoff: Backoff::default(),
        }
    }
}

/// An actor started by [`start_supervised`].
pub trait SupervisedActor: Actor<Context = Context<Self>> + Supervised {
    fn supervision(&mut self) -> &mut Supervision;
}

/// Runs a handler body (or a timer tick): times it, and turns a panic into a stop that
/// the supervisor restarts. `None` means the body panicked. Mailbox accounting is not
/// done here but by the [`Admitted`] envelope the message came in.
pub fn guarded<A, R>(
    metrics: &ActorMetrics,
    ctx: &mut Context<A>,
    body: impl FnOnce(&mut Context<A>) -> R,
) -> Option<R>
where
    A: Actor<Context = Context<A>>,
{
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| body(ctx)));
    metrics.handled_in(start.elapsed());
    match outcome {
        Ok(r) => Some(r),
        Err(payload) => {
            stop_after_panic(metrics, ctx, &payload, "handler panicked");
            None
        }
    }
}

/// Counts and logs a caught panic and stops the actor so its supervisor restarts it.
pub(crate) fn stop_after_panic<A>(
    metrics: &ActorMetrics,
    ctx: &mut Context<A>,
    payload: &Box<dyn Any + Send>,
    what: &'static str,
) where
    A: Actor<Context = Context<A>>,
{
    metrics.panicked();
    tracing::error!(
        actor = metrics.path(),
        panic = panic_text(payload),
        "{what}; stopping the actor so its supervisor restarts it"
    );
    ctx.stop();
}

fn panic_text(payload: &Box<dyn Any + Send>) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

/// Call from `Supervised::restarting`: counts the restart and holds the mailbox for the
/// backoff delay.
pub fn restarting<A: SupervisedActor>(actor: &mut A, ctx: &mut Context<A>) {
    let sup = actor.supervision();
    sup.metrics.restarted();
    let delay = sup.backoff.next_delay();
    sup.metrics.set_restart_backoff(delay);
    if delay >= sup.backoff.max {
        // A restart storm: the actor fails again as soon as it is back. The backoff caps
        // the rate at one restart per `max`; the gauge and this line make it visible.
        tracing::error!(
            actor = sup.metrics.path(),
            restarts = sup.metrics.restarts(),
            delay_ms = delay.as_millis() as u64,
            "restart storm: the actor keeps failing; restarts are held to one per backoff cap"
        );
    } else {
        tracing::warn!(
            actor = sup.metrics.path(),
            delay_ms = delay.as_millis() as u64,
            "restarting actor"
        );
    }
    ctx.wait(actix::clock::sleep(delay).into_actor(actor));
}

/// Starts `make(supervision)` under an actix `Supervisor` in the current arbiter (or in
/// `arbiter` when given), registers its metrics under `path`, and bounds its mailbox.
pub fn start_supervised<A, F>(
    registry: &MetricsRegistry,
    path: impl Into<String>,
    capacity: usize,
    arbiter: Option<&ArbiterHandle>,
    make: F,
) -> Mailbox<A>
where
    A: SupervisedActor,
    F: FnOnce(Supervision) -> A + Send + 'static,
{
    let kind = short_type_name::<A>();
    let metrics = registry.register_actor(path, kind, capacity);
    let sup = Supervision::new(metrics.clone());
    let init = move |ctx: &mut Context<A>| {
        ctx.set_mailbox_capacity(capacity);
        make(sup)
    };
    let addr = match arbiter {
        Some(handle) => Supervisor::start_in_arbiter(handle, init),
        None => Supervisor::start(init),
    };
    Mailbox { addr, metrics }
}

pub(crate) fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// A bounded, metered address of an actor.
pub struct Mailbox<A: Actor> {
    addr: Addr<A>,
    metrics: Arc<ActorMetrics>,
}

impl<A: Actor> Clone for Mailbox<A> {
    fn clone(&self) -> Self {
        Mailbox {
            addr: self.addr.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

impl<A: Actor> std::fmt::Debug for Mailbox<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailbox({})", self.metrics.path())
    }
}

impl<A: Actor> Mailbox<A> {
    pub fn new(addr: Addr<A>, metrics: Arc<ActorMetrics>) -> Self {
        Mailbox { addr, metrics }
    }

    pub fn metrics(&self) -> &Arc<ActorMetrics> {
        &self.metrics
    }

    pub fn addr(&self) -> &Addr<A> {
        &self.addr
    }

    /// Takes a mailbox slot for one message, or refuses: the actor is gone, or already
    /// holds its capacity of messages (counted from admission until the handler returns,
    /// see [`envelope`](super::envelope)).
    fn admit(&self) -> Result<Slot, ActorError> {
        if !self.addr.connected() {
            return Err(ActorError::Closed(self.metrics.path().to_owned()));
        }
        Slot::admit(&self.metrics).ok_or_else(|| {
            self.metrics.rejected_full();
            ActorError::MailboxFull(self.metrics.path().to_owned())
        })
    }

    /// Sends without waiting for the answer; refused when the mailbox is full.
    pub fn tell<M>(&self, msg: M) -> Result<(), ActorError>
    where
        A: Handler<Admitted<M>>,
        A::Context: actix::dev::ToEnvelope<A, Admitted<M>>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let slot = self.admit()?;
        // A refused envelope is dropped here, and its slot with it.
        self.addr
            .try_send(Admitted::new(msg, slot))
            .map_err(|e| match e {
                SendError::Full(_) => {
                    self.metrics.rejected_full();
                    ActorError::MailboxFull(self.metrics.path().to_owned())
                }
                SendError::Closed(_) => ActorError::Closed(self.metrics.path().to_owned()),
            })
    }

    /// Sends past the capacity: only for messages whose loss would be worse than an
    /// overfull mailbox and whose number is bounded by something else (connection-close
    /// cleanup: one per connection). Still counted, so the depth stays true.
    pub fn tell_past_capacity<M>(&self, msg: M)
    where
        A: Handler<Admitted<M>>,
        A::Context: actix::dev::ToEnvelope<A, Admitted<M>>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        self.addr
            .do_send(Admitted::new(msg, Slot::forced(&self.metrics)));
    }

    /// Sends and waits for the answer; refused at once when the mailbox is full.
    pub fn ask<M>(
        &self,
        msg: M,
    ) -> impl Future<Output = Result<M::Result, ActorError>> + Send + 'static
    where
        A: Handler<Admitted<M>>,
        A::Context: actix::dev::ToEnvelope<A, Admitted<M>>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let request = self
            .admit()
            .map(|slot| self.addr.send(Admitted::new(msg, slot)));
        let path = self.metrics.path().to_owned();
        async move { request?.await.map_err(|_| ActorError::Closed(path)) }
    }
}

/// Fault injection for chaos tests: makes the receiving actor's handler panic. Every
/// supervised actor handles it (see [`handle_inject_panic!`]), so tests can prove that a
/// panic becomes a counted restart while the process keeps serving.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// Implements `Handler<InjectPanic>` for a supervised actor.
#[macro_export]
macro_rules! handle_inject_panic {
    ($actor:ty) => {
        impl actix::Handler<$crate::actors::runtime::InjectPanic> for $actor {
            type Result = ();
            fn handle(&mut self, _: $crate::actors::runtime::InjectPanic, ctx: &mut Self::Context) {
                let metrics = $crate::actors::runtime::SupervisedActor::supervision(self)
                    .metrics
                    .clone();
                $crate::actors::runtime::guarded(&metrics, ctx, |_| {
                    panic!("panic injected by InjectPanic");
                });
            }
        }

        $crate::admits!($actor: $crate::actors::runtime::InjectPanic);
    };
}

/// Makes an actor supervised the runtime's way: `Supervised` restarts it after the
/// backoff (running `reset` first, to clear state that only made sense before the panic),
/// `SupervisedActor` exposes its `sup` field, and it handles [`InjectPanic`].
#[macro_export]
macro_rules! supervised_actor {
    ($actor:ty) => {
        $crate::supervised_actor!($actor, |_: &mut $actor| {});
    };
    ($actor:ty, $reset:expr) => {
        impl actix::Supervised for $actor {
            fn restarting(&mut self, ctx: &mut <Self as actix::Actor>::Context) {
                let reset: fn(&mut $actor) = $reset;
                reset(self);
                $crate::actors::runtime::restarting(self, ctx);
            }
        }

        impl $crate::actors::runtime::SupervisedActor for $actor {
            fn supervision(&mut self) -> &mut $crate::actors::runtime::Supervision {
                &mut self.sup
            }
        }

        $crate::handle_inject_panic!($actor);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter {
        sup: Supervision,
        seen: u32,
    }

    impl Actor for Counter {
        type Context = Context<Self>;
    }

    impl Supervised for Counter {
        fn restarting(&mut self, ctx: &mut Context<Self>) {
            restarting(self, ctx);
        }
    }

    impl SupervisedActor for Counter {
        fn supervision(&mut self) -> &mut Supervision {
            &mut self.sup
        }
    }

    crate::handle_inject_panic!(Counter);
    crate::admits!(Counter: Bump);

    #[derive(Message)]
    #[rtype(result = "Result<u32, ActorError>")]
    struct Bump;

    impl Handler<Bump> for Counter {
        type Result = Result<u32, ActorError>;
        fn handle(&mut self, _: Bump, ctx: &mut Context<Self>) -> Self::Result {
            let m = self.sup.metrics.clone();
            guarded(&m, ctx, |_| {
                self.seen += 1;
                self.seen
            })
            .ok_or_else(|| ActorError::Panicked(m.path().to_owned()))
        }
    }

    #[actix_rt::test]
    async fn a_panicking_handler_is_restarted_counted_and_keeps_its_mailbox() {
        let reg = MetricsRegistry::new();
        let mb = start_supervised(&reg, "test/Counter", 8, None, |sup| Counter {
            sup,
            seen: 0,
        });
        assert_eq!(mb.ask(Bump).await.unwrap(), Ok(1));
        mb.tell(InjectPanic).unwrap();
        let after = mb.ask(Bump).await.unwrap();
        assert_eq!(
            after,
            Ok(2),
            "state survives and the queued message is handled after restart"
        );
        assert_eq!(mb.metrics().restarts(), 1);
        assert_eq!(mb.metrics().panics(), 1);
    }

    #[actix_rt::test]
    async fn a_full_mailbox_refuses_at_once() {
        let reg = MetricsRegistry::new();
        let mb = start_supervised(&reg, "test/Full", 2, None, |sup| Counter { sup, seen: 0 });
        // Nothing runs until we yield, so the mailbox fills up.
        let a = mb.ask(Bump);
        let b = mb.ask(Bump);
        let c = mb.ask(Bump);
        assert_eq!(c.await, Err(ActorError::MailboxFull("test/Full".into())));
        assert!(a.await.is_ok() && b.await.is_ok());
        assert_eq!(mb.metrics().rejected(), 1);
        assert_eq!(mb.metrics().mailbox_depth(), 0);
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets_after_calm() {
        let mut b = Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(35),
            Duration::from_secs(3600),
        );
        let delays: Vec<_> = (0..4).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, vec![10, 20, 35, 35]);
        let mut calm = Backoff::new(
            Duration::from_millis(10),
            Duration::from_secs(1),
            Duration::ZERO,
        );
        calm.next_delay();
        assert_eq!(calm.next_delay(), Duration::from_millis(10));
    }
}
