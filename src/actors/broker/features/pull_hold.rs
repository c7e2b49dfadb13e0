//! PullHold: long polling. A pull that finds nothing new, from a client that allows
//! suspension, parks a wake-up here for its queue and offset; when the ReputDispatcher
//! announces that the queue's max offset passed that offset, the pull is woken and reads
//! again. The pull's own deadline (its suspend timeout, capped by
//! brokerSuspendMaxTimeMillis) ends the wait otherwise. Holds whose pull has gone (timed
//! out, connection closed) are swept on the next arrival and every second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::actors::broker::store::reput_dispatcher::MessageArrived;
use crate::actors::runtime::{guarded, Supervision};

struct Hold {
    offset: i64,
    wake: oneshot::Sender<()>,
}

pub struct PullHold {
    sup: Supervision,
    holds: HashMap<(Arc<str>, i32), Vec<Hold>>,
}

impl PullHold {
    pub fn new(sup: Supervision) -> Self {
        PullHold {
            sup,
            holds: HashMap::new(),
        }
    }

    pub fn held(&self) -> usize {
        self.holds.values().map(Vec::len).sum()
    }
}

impl Actor for PullHold {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(1), |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |_| {
                act.holds.retain(|_, hs| {
                    hs.retain(|h| !h.wake.is_closed());
                    !hs.is_empty()
                });
            });
        });
    }
}

crate::supervised_actor!(PullHold);
crate::admits!(PullHold: Park, MessageArrived);

/// Park until the queue holds a message at `offset` or later.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Park {
    pub topic: Arc<str>,
    pub queue_id: i32,
    pub offset: i64,
    pub wake: oneshot::Sender<()>,
}

impl Handler<Park> for PullHold {
    type Result = ();
    fn handle(&mut self, m: Park, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            self.holds
                .entry((m.topic, m.queue_id))
                .or_default()
                .push(Hold {
                    offset: m.offset,
                    wake: m.wake,
                });
        });
    }
}

impl Handler<MessageArrived> for PullHold {
    type Result = ();
    fn handle(&mut self, m: MessageArrived, ctx: &mut Context<Self>) {
        let metrics = self.sup.metrics.clone();
        guarded(&metrics, ctx, |_| {
            let key = (m.topic.clone(), m.queue_id);
            if let Some(hs) = self.holds.get_mut(&key) {
                let (ready, waiting): (Vec<Hold>, Vec<Hold>) =
                    hs.drain(..).partition(|h| h.offset < m.max_offset);
                *hs = waiting;
                for h in ready {
                    let _ = h.wake.send(());
                }
                if hs.is_empty() {
                    self.holds.remove(&key);
                }
            }
        });
    }
}
