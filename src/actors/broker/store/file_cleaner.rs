//! FileCleaner: every `cleanResourceInterval` it measures the disk holding the store.
//! Commit-log files whose last write is older than `fileReservedTime` hours are deleted at
//! the `deleteWhen` hours, or at any hour once disk use passes `diskMaxUsedSpaceRatio`;
//! consume queues and the index then drop what pointed into them. Above `diskFullRatio`
//! the writer refuses sends with a disk-full error until space comes back.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use chrono::Timelike;

use super::commit_log_writer::DiskGuard;
use super::consume_queue::CorrectMinOffset;
use super::index_service::{DeleteExpiredIndex, IndexActor};
use super::reput_dispatcher::{QueueActors, ReputDispatcher};
use crate::actors::runtime::{guarded_tick, Mailbox, Supervision};
use crate::store::commit_log::CommitLogReader;
use crate::store::config::StoreConfig;

/// Percentage of the filesystem holding `path` in use, from statvfs, as `df` shows it:
/// used ÷ (used + available to us). Blocks reserved for root or held back by a quota
/// count neither as used nor as available, so a disk with room left for us never reads as
/// full (measuring against the raw size read 90 % on a 252 GiB volume with 24 GiB
/// available and 67 GiB used).
pub fn used_percent(blocks: u128, free: u128, available: u128) -> Option<u32> {
    let used = blocks.saturating_sub(free);
    let usable = used + available;
    (usable > 0).then(|| (used * 100 / usable).min(100) as u32)
}

/// [`used_percent`] of the filesystem holding `path`.
pub fn disk_used_percent(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let size = st.f_frsize as u128;
    used_percent(
        st.f_blocks as u128 * size,
        st.f_bfree as u128 * size,
        st.f_bavail as u128 * size,
    )
}

/// Test hook: a disk-use figure that replaces the measured one (-1 = measure).
#[derive(Debug, Clone)]
pub struct DiskUsageOverride(pub Arc<AtomicI32>);

impl Default for DiskUsageOverride {
    fn default() -> Self {
        DiskUsageOverride(Arc::new(AtomicI32::new(-1)))
    }
}

impl DiskUsageOverride {
    pub fn set(&self, percent: Option<u32>) {
        self.0
            .store(percent.map(|p| p as i32).unwrap_or(-1), Ordering::SeqCst);
    }
}

pub struct FileCleaner {
    sup: Supervision,
    config: Arc<StoreConfig>,
    log: CommitLogReader,
    disk: Arc<DiskGuard>,
    dispatcher: Mailbox<ReputDispatcher>,
    index: Option<Mailbox<IndexActor>>,
    usage_override: DiskUsageOverride,
    delete_hours: Vec<u32>,
}

impl FileCleaner {
    pub fn new(
        sup: Supervision,
        config: Arc<StoreConfig>,
        log: CommitLogReader,
        disk: Arc<DiskGuard>,
        dispatcher: Mailbox<ReputDispatcher>,
        index: Option<Mailbox<IndexActor>>,
        usage_override: DiskUsageOverride,
    ) -> Self {
        let delete_hours = config.delete_hours().unwrap_or_else(|_| vec![4]);
        FileCleaner {
            sup,
            config,
            log,
            disk,
            dispatcher,
            index,
            usage_override,
            delete_hours,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let root = self.config.store_path_root_dir.clone();
        let used = match self.usage_override.0.load(Ordering::SeqCst) {
            p if p >= 0 => Some(p as u32),
            _ => disk_used_percent(&root),
        };
        if let Some(used) = used {
            if used >= self.config.disk_full_ratio {
                if !self.disk.is_full() {
                    tracing::error!(
                        used,
                        limit = self.config.disk_full_ratio,
                        "disk full: refusing writes"
                    );
                }
                self.disk
                    .set_full(Some((root.clone(), used, self.config.disk_full_ratio)));
            } else if self.disk.is_full() {
                tracing::info!(used, "disk has room again: accepting writes");
                self.disk.set_full(None);
            }
        }
        let hour_matches = self.delete_hours.contains(&chrono::Local::now().hour());
        let pressed = used.is_some_and(|u| u >= self.config.disk_max_used_space_ratio);
        if !(hour_matches || pressed) {
            return;
        }
        let reserved = Duration::from_secs(self.config.file_reserved_time * 3600);
        let now = SystemTime::now();
        let deleted = self.log.files().delete_from_front(|f| {
            f.is_full()
                && f.modified()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age >= reserved)
        });
        match deleted {
            Ok(0) => {}
            Ok(n) => {
                let min = self.log.min_offset();
                tracing::info!(
                    files = n,
                    new_min_offset = min,
                    pressed,
                    "deleted expired commit-log files"
                );
                self.after_delete(min, ctx);
            }
            Err(e) => tracing::error!(error = %e, "deleting expired commit-log files failed"),
        }
    }

    /// Consume queues and the index let go of what pointed into deleted files.
    fn after_delete(&mut self, min: i64, ctx: &mut Context<Self>) {
        let dispatcher = self.dispatcher.clone();
        let index = self.index.clone();
        ctx.spawn(
            async move {
                if let Ok(queues) = dispatcher.ask(QueueActors).await {
                    for q in queues {
                        let _ = q.ask(CorrectMinOffset(min)).await;
                    }
                }
                if let Some(index) = index {
                    let _ = index.ask(DeleteExpiredIndex(min)).await;
                }
            }
            .into_actor(self),
        );
    }
}

impl Actor for FileCleaner {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let every = Duration::from_millis(self.config.clean_resource_interval.max(10));
        ctx.run_interval(every, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded_tick(&metrics, ctx, |ctx| act.tick(ctx));
        });
    }
}

crate::supervised_actor!(FileCleaner);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_use_counts_what_is_available_to_us_like_df() {
        const G: u128 = 1 << 30;
        // The volume this was found on: 252 GiB, 185 GiB free, 24 GiB available to us.
        assert_eq!(used_percent(252 * G, 185 * G, 24 * G), Some(73));
        assert_eq!(used_percent(100 * G, 100 * G, 95 * G), Some(0));
        assert_eq!(used_percent(100 * G, 10 * G, 5 * G), Some(94));
        assert_eq!(used_percent(100 * G, 0, 0), Some(100));
        assert_eq!(used_percent(0, 0, 0), None);
        assert!(disk_used_percent(std::path::Path::new("/")).is_some());
    }
}
