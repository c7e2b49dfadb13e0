//! Re-storing due messages on their real topic, the policy the timer wheel and the
//! schedule (delay level) service share: a put that failed for a reason that can pass (a
//! restarting or busy writer, a full disk — [`PutError::is_retryable`]) stops the round
//! with nothing dropped, and the caller tries again from the first message not stored; a
//! message the store refuses for what it is (too large, illegal) is dropped with a warning
//! so it cannot hold back the rest forever, as Java's PUT_NO_RETRY.

use crate::actors::broker::store::{PutError, StoreHandle};
use crate::protocol::message::MessageToStore;

/// Stores `msgs` in appends of up to `batch` messages; returns how many of them, from the
/// front, are done (stored, or dropped as never storable) and the retryable failure that
/// stopped it, if one did.
pub async fn put_all(
    store: &StoreHandle,
    msgs: &[MessageToStore],
    batch: usize,
) -> (usize, Option<PutError>) {
    let mut done = 0;
    for chunk in msgs.chunks(batch.max(1)) {
        match store.put(chunk.to_vec(), false).await {
            Ok(_) => done += chunk.len(),
            Err(e) if e.is_retryable() => return (done, Some(e)),
            Err(_) => {
                // One bad message must not hold back the rest: store them one by one.
                for m in chunk {
                    match store.put(vec![m.clone()], false).await {
                        Ok(_) => {}
                        Err(e) if e.is_retryable() => return (done, Some(e)),
                        Err(e) => {
                            tracing::warn!(topic = %m.topic, error = %e, "due message can never be stored; dropped")
                        }
                    }
                    done += 1;
                }
            }
        }
    }
    (done, None)
}
