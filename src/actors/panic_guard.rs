//! Panics in futures an actor spawns on itself (`ctx.spawn`, `ctx.wait`: the
//! continuations of `into_actor`) are caught like handler panics. Such a future is polled
//! inside the actor's own task, outside any handler's [`guarded`](super::runtime::guarded),
//! so without this a panic there ends the actor's task — the actor is gone, silently and
//! for good, because its supervisor lives in the same task. [`catch_panics`] wraps the
//! future: a panic is counted in `rocketmq_actor_panics_total`, logged, and stops the
//! actor so its supervisor restarts it with backoff.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;

use actix::prelude::*;

use super::runtime::{stop_after_panic, SupervisedActor};

/// A spawned actor future whose panics become supervised restarts.
pub struct CatchPanics<F> {
    inner: Pin<Box<F>>,
}

/// Wraps `fut` (before `ctx.spawn` or `ctx.wait`) so a panic while it runs is caught,
/// counted and turned into a restart of the actor.
pub fn catch_panics<A, F>(fut: F) -> CatchPanics<F>
where
    A: SupervisedActor,
    F: ActorFuture<A, Output = ()>,
{
    CatchPanics {
        inner: Box::pin(fut),
    }
}

impl<A, F> ActorFuture<A> for CatchPanics<F>
where
    A: SupervisedActor,
    F: ActorFuture<A, Output = ()>,
{
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut Context<A>,
        task: &mut std::task::Context<'_>,
    ) -> Poll<()> {
        let this = self.get_mut();
        let polled = catch_unwind(AssertUnwindSafe(|| {
            this.inner.as_mut().poll(act, ctx, task)
        }));
        match polled {
            Ok(p) => p,
            Err(payload) => {
                let metrics = act.supervision().metrics.clone();
                stop_after_panic(
                    &metrics,
                    ctx,
                    &payload,
                    "a future the actor spawned panicked",
                );
                Poll::Ready(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::metrics::MetricsRegistry;
    use crate::actors::runtime::{start_supervised, Supervision};

    struct Spawner {
        sup: Supervision,
        answered: u32,
    }

    impl Actor for Spawner {
        type Context = Context<Self>;
    }

    crate::supervised_actor!(Spawner);
    crate::admits!(Spawner: SpawnPanic, Ping);

    /// Spawns a continuation that panics after an await point, as a handler's
    /// `into_actor(...).map(...)` would.
    #[derive(Message)]
    #[rtype(result = "()")]
    struct SpawnPanic;

    impl Handler<SpawnPanic> for Spawner {
        type Result = ();
        fn handle(&mut self, _: SpawnPanic, ctx: &mut Context<Self>) {
            ctx.spawn(catch_panics(
                actix::clock::sleep(std::time::Duration::from_millis(1))
                    .into_actor(self)
                    .map(|_, _, _| panic!("panic in a spawned continuation")),
            ));
        }
    }

    #[derive(Message)]
    #[rtype(result = "u32")]
    struct Ping;

    impl Handler<Ping> for Spawner {
        type Result = u32;
        fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> u32 {
            self.answered += 1;
            self.answered
        }
    }

    #[actix_rt::test]
    async fn a_panic_in_a_spawned_future_is_counted_and_restarts_the_actor() {
        let reg = MetricsRegistry::new();
        let mb = start_supervised(&reg, "test/Spawner", 8, None, |sup| Spawner {
            sup,
            answered: 0,
        });
        for round in 1..=2u64 {
            mb.tell(SpawnPanic).unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while mb.metrics().restarts() < round && std::time::Instant::now() < deadline {
                actix_rt::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            assert_eq!(mb.metrics().panics(), round);
            assert_eq!(mb.metrics().restarts(), round);
        }
        // The actor is still there, state kept, and answers.
        assert_eq!(mb.ask(Ping).await.unwrap(), 1);
    }
}

/// Test and chaos hook: makes the next `n` handled messages that concern a given topic
/// panic inside their handler's guard, so a test can restart an actor exactly when a
/// particular write reaches it (`StoreHandle::inject_writer_panics`). Unarmed, a check
/// is one atomic load.
#[derive(Debug, Default)]
pub struct PanicFailpoint {
    armed: std::sync::atomic::AtomicBool,
    remaining: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

impl PanicFailpoint {
    pub fn arm(&self, topic: &str, n: u32) {
        if let Ok(mut r) = self.remaining.lock() {
            *r.entry(topic.to_owned()).or_default() += n;
            self.armed.store(true, std::sync::atomic::Ordering::Release);
        }
    }

    /// Panics if armed for `topic`, counting the shot down.
    pub fn check(&self, topic: &str) {
        if !self.armed.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let fire = self
            .remaining
            .lock()
            .is_ok_and(|mut r| match r.get_mut(topic) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            });
        if fire {
            panic!("panic injected into a write to {topic}");
        }
    }
}
