//! Store poisoning: after a failed fsync or write the store refuses every later write with a
//! clear error until it is restarted. Nothing is retried silently, because after a failed
//! fsync the kernel may have dropped the dirty pages and a retry that "succeeds" would
//! acknowledge data that is gone (the PostgreSQL fsync lesson, which fjall follows too).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::error::{StoreError, StoreResult};

/// Shared by the writer and the flusher.
#[derive(Debug, Default)]
pub struct Poison {
    reason: OnceLock<String>,
}

impl Poison {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Records the first failure; later ones keep the first reason.
    pub fn poison(&self, reason: impl Into<String>) {
        let reason = reason.into();
        if self.reason.set(reason.clone()).is_ok() {
            tracing::error!(reason = %reason, "store poisoned: every write is refused until restart");
        }
    }

    pub fn is_poisoned(&self) -> bool {
        self.reason.get().is_some()
    }

    /// `Err(Poisoned)` once poisoned.
    pub fn check(&self) -> StoreResult<()> {
        match self.reason.get() {
            Some(r) => Err(StoreError::Poisoned(r.clone())),
            None => Ok(()),
        }
    }
}

/// A test hook that makes flushes fail as if fsync had returned EIO, or holds them (as a
/// slow disk would) until released.
#[derive(Debug, Default, Clone)]
pub struct FlushFailpoint(Arc<FailpointState>);

#[derive(Debug, Default)]
struct FailpointState {
    fail: AtomicBool,
    hold: AtomicBool,
}

impl FlushFailpoint {
    pub fn fail_flushes(&self) {
        self.0.fail.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.fail.load(Ordering::SeqCst)
    }

    /// While held, every flush waits before it starts.
    pub fn hold_flushes(&self, hold: bool) {
        self.0.hold.store(hold, Ordering::SeqCst);
    }

    fn wait_released(&self) {
        while self.0.hold.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Flushes through `flush`, poisoning the store on failure (or when the failpoint is set).
pub fn guarded_flush(
    poison: &Poison,
    failpoint: &FlushFailpoint,
    flush: impl FnOnce() -> StoreResult<i64>,
) -> StoreResult<i64> {
    poison.check()?;
    failpoint.wait_released();
    let result = if failpoint.is_set() {
        Err(StoreError::io(
            "commitlog",
            std::io::Error::other("injected fsync failure"),
        ))
    } else {
        flush()
    };
    result.inspect_err(|e| poison.poison(format!("flush failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_flush_poisons_and_nothing_is_retried() {
        let poison = Poison::new();
        let fp = FlushFailpoint::default();
        assert_eq!(guarded_flush(&poison, &fp, || Ok(10)).unwrap(), 10);
        fp.fail_flushes();
        assert!(guarded_flush(&poison, &fp, || Ok(20)).is_err());
        assert!(poison.is_poisoned());
        let mut called = false;
        let again = guarded_flush(&poison, &FlushFailpoint::default(), || {
            called = true;
            Ok(30)
        });
        assert!(matches!(again, Err(StoreError::Poisoned(_))));
        assert!(!called, "a poisoned store does not try again");
    }
}
