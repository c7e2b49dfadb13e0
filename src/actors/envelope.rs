//! Mailbox accounting owned by the runtime: a message that [`Mailbox`](super::Mailbox)
//! admits travels inside an [`Admitted`] envelope that holds its mailbox slot, and the slot
//! is given back when the envelope is dropped — when the handler returns, when it panics
//! (unwinding drops it), or when the message never reaches a handler (the actor stopped,
//! the send failed). No handler counts anything itself, so none can leak a slot: a
//! handler that forgot its decrement once wedged every send after 10,000 topic deletions.
//!
//! An actor declares the messages it takes through its mailbox with [`admits!`], which
//! generates `Handler<Admitted<M>>` from its `Handler<M>`. `Mailbox::ask`/`tell` only
//! accept messages declared that way, so a message cannot be counted in without a
//! handler that counts it out.

use std::sync::Arc;

use actix::Message;

use super::metrics::ActorMetrics;

/// One counted place in an actor's mailbox; dropping it gives the place back.
#[derive(Debug)]
pub struct Slot(Arc<ActorMetrics>);

impl Slot {
    /// Takes a place if the mailbox has one: one atomic compare-and-swap, so concurrent
    /// callers can never together exceed the capacity.
    pub(crate) fn admit(metrics: &Arc<ActorMetrics>) -> Option<Slot> {
        metrics.try_enqueue().then(|| Slot(metrics.clone()))
    }
}

impl Slot {
    /// Takes a place even past the capacity, for the few messages that must not be lost
    /// to a full mailbox (see [`Mailbox::tell_past_capacity`](super::Mailbox::tell_past_capacity)).
    pub(crate) fn forced(metrics: &Arc<ActorMetrics>) -> Slot {
        metrics.enqueued();
        Slot(metrics.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.dequeued();
    }
}

/// A message admitted through a [`Mailbox`](super::Mailbox), holding its slot.
#[derive(Debug)]
pub struct Admitted<M> {
    msg: M,
    slot: Slot,
}

impl<M> Admitted<M> {
    pub(crate) fn new(msg: M, slot: Slot) -> Self {
        Admitted { msg, slot }
    }

    /// The message and the slot; keep the slot alive for as long as the handler runs.
    pub fn into_parts(self) -> (M, Slot) {
        (self.msg, self.slot)
    }
}

impl<M: Message> Message for Admitted<M> {
    type Result = M::Result;
}

/// Declares the messages an actor takes through its [`Mailbox`](super::Mailbox):
/// `admits!(CommitLogWriter: PutMessages, CloseWriter)`. For each it implements
/// `Handler<Admitted<M>>` by calling the actor's `Handler<M>` while the slot is held.
#[macro_export]
macro_rules! admits {
    ($actor:ty: $($msg:ty),+ $(,)?) => {
        $(
            impl actix::Handler<$crate::actors::envelope::Admitted<$msg>> for $actor {
                type Result = <$actor as actix::Handler<$msg>>::Result;
                fn handle(
                    &mut self,
                    envelope: $crate::actors::envelope::Admitted<$msg>,
                    ctx: &mut Self::Context,
                ) -> Self::Result {
                    let (msg, _slot) = envelope.into_parts();
                    <$actor as actix::Handler<$msg>>::handle(self, msg, ctx)
                }
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::time::Duration;

    use actix::prelude::*;

    use crate::actors::metrics::MetricsRegistry;
    use crate::actors::runtime::{start_supervised, InjectPanic, Supervision};

    struct Quiet {
        sup: Supervision,
    }

    impl Actor for Quiet {
        type Context = Context<Self>;
    }

    crate::supervised_actor!(Quiet);
    crate::admits!(Quiet: Forget, Hold);

    /// A handler that does nothing at all: no guard, no counting, an early return.
    #[derive(Message)]
    #[rtype(result = "()")]
    struct Forget;

    impl Handler<Forget> for Quiet {
        type Result = ();
        fn handle(&mut self, _: Forget, _: &mut Context<Self>) {}
    }

    /// Keeps the actor busy so the mailbox fills behind it.
    #[derive(Message)]
    #[rtype(result = "()")]
    struct Hold(Duration);

    impl Handler<Hold> for Quiet {
        type Result = ();
        fn handle(&mut self, msg: Hold, _: &mut Context<Self>) {
            std::thread::sleep(msg.0);
        }
    }

    #[actix_rt::test]
    async fn handlers_that_count_nothing_leak_no_slot() {
        let reg = MetricsRegistry::new();
        let mb = start_supervised(&reg, "test/Quiet", 4, None, |sup| Quiet { sup });
        // Far more messages than the capacity, each handled by a handler that never
        // touches the metrics: if a slot leaked, the mailbox would refuse after four.
        for _ in 0..1_000 {
            mb.ask(Forget).await.unwrap();
        }
        assert_eq!(mb.metrics().mailbox_depth(), 0);
        // A panicking handler gives its slot back too (unwinding drops the envelope).
        for _ in 0..3 {
            mb.tell(InjectPanic).unwrap();
            mb.ask(Forget).await.unwrap();
        }
        assert_eq!(mb.metrics().panics(), 3);
        assert_eq!(mb.metrics().mailbox_depth(), 0);
    }

    #[actix_rt::test]
    async fn messages_dropped_unhandled_give_their_slot_back() {
        let reg = MetricsRegistry::new();
        let arbiter = Arbiter::new();
        let mb = start_supervised(&reg, "test/Dropped", 8, Some(&arbiter.handle()), |sup| {
            Quiet { sup }
        });
        mb.tell(Hold(Duration::from_millis(200))).unwrap();
        for _ in 0..5 {
            mb.tell(Forget).unwrap();
        }
        assert_eq!(mb.metrics().mailbox_depth(), 6);
        // Stopping the arbiter drops the actor and the messages still queued for it.
        arbiter.stop();
        let _ = actix_rt::task::spawn_blocking(move || arbiter.join()).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while mb.metrics().mailbox_depth() != 0 && std::time::Instant::now() < deadline {
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(mb.metrics().mailbox_depth(), 0);
    }

    #[test]
    fn concurrent_admits_never_exceed_the_capacity() {
        let reg = MetricsRegistry::new();
        let metrics = reg.register_actor("test/Race", "Race", 100);
        let threads = 8;
        let barrier = Barrier::new(threads);
        let slots: Vec<Vec<super::Slot>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        (0..1_000)
                            .filter_map(|_| super::Slot::admit(&metrics))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let taken: usize = slots.iter().map(Vec::len).sum();
        assert_eq!(taken, 100, "exactly the capacity is admitted");
        assert_eq!(metrics.mailbox_depth(), 100);
        drop(slots);
        assert_eq!(metrics.mailbox_depth(), 0);
    }
}
