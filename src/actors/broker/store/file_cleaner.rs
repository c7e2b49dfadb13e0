//! FileCleaner: every `cleanResourceInterval` it measures the disk holding the store.
//! Commit-log files whose last write is older than `fileReservedTime` hours are deleted at
//! the `deleteWhen` hours, or at any hour once disk use passes `diskMaxUsedSpaceRatio`;
//! consume queues and the index then drop what pointed into them. Every second it also
//! refreshes the store's [`DiskSpace`] reading (the put path refreshes it too, when older),
//! so writes refused above `diskFullRatio` resume by themselves once space comes back, and
//! publishes it on /metrics: `rocketmq_store_disk_used_percent` and
//! `rocketmq_store_disk_full` (1 while writes are refused).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use chrono::Timelike;

use super::consume_queue::CorrectMinOffset;
use super::index_service::{DeleteExpiredIndex, IndexService};
use super::reput_dispatcher::{QueueActors, ReputDispatcher};
use crate::actors::metrics::MetricsRegistry;
use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{guarded, Mailbox, Supervision};
use crate::store::commit_log::CommitLogReader;
use crate::store::config::StoreConfig;
use crate::store::disk_space::{DiskSpace, REFRESH};

pub struct FileCleaner {
    sup: Supervision,
    config: Arc<StoreConfig>,
    log: CommitLogReader,
    disk: Arc<DiskSpace>,
    dispatcher: Mailbox<ReputDispatcher>,
    index: Option<Mailbox<IndexService>>,
    delete_hours: Vec<u32>,
    used_gauge: Arc<AtomicI64>,
    full_gauge: Arc<AtomicI64>,
}

impl FileCleaner {
    pub fn new(
        sup: Supervision,
        config: Arc<StoreConfig>,
        log: CommitLogReader,
        disk: Arc<DiskSpace>,
        dispatcher: Mailbox<ReputDispatcher>,
        index: Option<Mailbox<IndexService>>,
        registry: &MetricsRegistry,
    ) -> Self {
        let delete_hours = config.delete_hours().unwrap_or_else(|_| vec![4]);
        registry.describe(
            "rocketmq_store_disk_used_percent",
            "gauge",
            "Highest used percent of the store's commit-log, consume-queue and index disks.",
        );
        registry.describe(
            "rocketmq_store_disk_full",
            "gauge",
            "1 while writes are refused for a full disk (above diskFullRatio, or no room for a new store file).",
        );
        let used_gauge = registry.gauge("rocketmq_store_disk_used_percent", &[]);
        let full_gauge = registry.gauge("rocketmq_store_disk_full", &[]);
        FileCleaner {
            sup,
            config,
            log,
            disk,
            dispatcher,
            index,
            delete_hours,
            used_gauge,
            full_gauge,
        }
    }

    /// Measures the disks again and publishes the reading.
    fn read_disk(&self) {
        self.disk.refresh();
        if let Some(used) = self.disk.used_percent() {
            self.used_gauge.store(used as i64, Ordering::Relaxed);
        }
        self.full_gauge
            .store(i64::from(self.disk.is_full()), Ordering::Relaxed);
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.read_disk();
        let used = self.disk.used_percent();
        let hour_matches = self.delete_hours.contains(&chrono::Local::now().hour());
        let pressed = used.is_some_and(|u| u > self.config.disk_max_used_space_ratio as f64);
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
        ctx.spawn(catch_panics(
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
        ));
    }
}

impl Actor for FileCleaner {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let every = Duration::from_millis(self.config.clean_resource_interval.max(10));
        ctx.run_interval(every, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |ctx| act.tick(ctx));
        });
        ctx.run_interval(REFRESH, |act, ctx| {
            let metrics = act.sup.metrics.clone();
            guarded(&metrics, ctx, |_| act.read_disk());
        });
    }
}

crate::supervised_actor!(FileCleaner);
