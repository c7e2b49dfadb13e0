//! `mqbench consume`: a push consumer that counts what it receives, unique by UNIQ_KEY
//! (so redeliveries show up as duplicates), and measures per message the time from the
//! producer's born timestamp (B2C) and from the broker's store timestamp (S2C, the
//! end-to-end latency) to receipt. Timestamps have millisecond resolution.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashSet;
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use super::histogram::{Histogram, Window};
use super::report::{now_stamp, report_loop};
use super::{ms, ConsumeArgs, Model};
use crate::client::message::MessageExt;
use crate::client::{
    ClientInstance, ConsumeFromWhere, ConsumeResult, MessageModel, PushConsumer, PushConsumerConfig,
};
use crate::clock::now_millis;

#[derive(Default)]
struct Stats {
    s2c: Histogram,
    s2c_window: Window,
    b2c_window: Window,
    received: AtomicU64,
    unique: AtomicU64,
    seen: DashSet<u128>,
    /// When the first and the latest new message arrived.
    first_last: Mutex<Option<(Instant, Instant)>>,
}

/// A message's identity: its UNIQ_KEY (32 hex digits) as a number, else a hash of its id.
fn identity(m: &MessageExt) -> u128 {
    let id = m.msg_id();
    u128::from_str_radix(id, 16).unwrap_or_else(|_| {
        let mut h = DefaultHasher::new();
        id.hash(&mut h);
        h.finish() as u128
    })
}

impl Stats {
    fn received(&self, msgs: &[MessageExt]) {
        let now = now_millis();
        let arrived = Instant::now();
        for m in msgs {
            self.received.fetch_add(1, Ordering::Relaxed);
            if !self.seen.insert(identity(m)) {
                continue;
            }
            self.unique.fetch_add(1, Ordering::Relaxed);
            let s2c = (now - m.store_timestamp).max(0) as u64 * 1000;
            let b2c = (now - m.born_timestamp).max(0) as u64 * 1000;
            self.s2c.record(s2c);
            self.s2c_window.record(s2c);
            self.b2c_window.record(b2c);
            if let Ok(mut fl) = self.first_last.lock() {
                let first = fl.map(|(f, _)| f).unwrap_or(arrived);
                *fl = Some((first, arrived));
            }
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct ConsumeSummary {
    pub received: u64,
    pub unique: u64,
    pub elapsed: Duration,
    /// From the first to the latest new message.
    pub active: Duration,
    pub s2c_avg_us: f64,
    pub s2c_p50_us: u64,
    pub s2c_p99_us: u64,
    pub s2c_p999_us: u64,
    pub s2c_max_us: u64,
}

impl ConsumeSummary {
    pub fn duplicates(&self) -> u64 {
        self.received - self.unique
    }

    /// New messages per second while they were arriving.
    pub fn tps(&self) -> f64 {
        self.unique as f64 / self.active.as_secs_f64().max(1e-3)
    }
}

/// Consumes until `--count` unique messages arrived or `--duration` passed.
pub async fn run(args: ConsumeArgs) -> Result<ConsumeSummary, crate::client::ClientError> {
    let stats = Arc::new(Stats::default());
    let stop = CancellationToken::new();
    let listener = {
        let (stats, stop, limit) = (stats.clone(), stop.clone(), args.common.count);
        move |msgs: Vec<MessageExt>| {
            stats.received(&msgs);
            if limit > 0 && stats.unique.load(Ordering::Relaxed) >= limit {
                stop.cancel();
            }
            futures_util::future::ready(ConsumeResult::Success).boxed()
        }
    };
    let offsets = std::env::temp_dir().join(format!("mqbench-offsets-{}", std::process::id()));
    let consumer = PushConsumer::new(
        PushConsumerConfig {
            group: args.group.clone(),
            message_model: match args.model {
                Model::Clustering => MessageModel::Clustering,
                Model::Broadcasting => MessageModel::Broadcasting,
            },
            consume_from_where: if args.from_first {
                ConsumeFromWhere::FirstOffset
            } else {
                ConsumeFromWhere::LastOffset
            },
            orderly: args.orderly,
            offset_store_dir: offsets.clone(),
            ..Default::default()
        },
        ClientInstance::new(args.common.client_config("mqbench-consumer")),
        listener,
    );
    consumer.subscribe(&args.common.topic, &args.expression);
    println!(
        "mqbench consume: topic={} group={} model={:?} orderly={} encoding={:?} namesrv={}",
        args.common.topic,
        args.group,
        args.model,
        args.orderly,
        args.common.encoding,
        args.common.namesrv
    );
    consumer.start().await?;

    let started = Instant::now();
    let reporter = {
        let (stats, live_stats) = (stats.clone(), stats.clone());
        let every = Duration::from_secs(args.common.report_interval.max(1));
        let mut last = 0u64;
        tokio::spawn(report_loop(
            every,
            stop.clone(),
            move |span| {
                let (s2c, b2c) = (stats.s2c_window.take(), stats.b2c_window.take());
                format!(
                    "Current Time: {} | Consume TPS: {} | AVG(B2C) RT(ms): {:7.3} | AVG(S2C) RT(ms): {:7.3} | MAX(B2C) RT(ms): {} | MAX(S2C) RT(ms): {} | Consume Fail: 0",
                    now_stamp(),
                    (s2c.count as f64 / span.as_secs_f64()) as u64,
                    b2c.mean() / 1000.0,
                    s2c.mean() / 1000.0,
                    b2c.max / 1000,
                    s2c.max / 1000,
                )
            },
            move || {
                let unique = live_stats.unique.load(Ordering::Relaxed);
                let line = format!(
                    "{:>6.0}s  received {unique}  {} msg/s  e2e avg {} ms",
                    started.elapsed().as_secs_f64(),
                    unique - last,
                    ms(live_stats.s2c.mean())
                );
                last = unique;
                line
            },
        ))
    };
    let limit = args.common.limit().unwrap_or(Duration::MAX);
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(limit) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let elapsed = started.elapsed();
    stop.cancel();
    let _ = reporter.await;
    consumer.shutdown().await;
    let _ = std::fs::remove_dir_all(&offsets);

    let active = stats
        .first_last
        .lock()
        .ok()
        .and_then(|fl| fl.map(|(f, l)| l - f))
        .unwrap_or_default();
    let summary = ConsumeSummary {
        received: stats.received.load(Ordering::Relaxed),
        unique: stats.unique.load(Ordering::Relaxed),
        elapsed,
        active,
        s2c_avg_us: stats.s2c.mean(),
        s2c_p50_us: stats.s2c.percentile(0.50),
        s2c_p99_us: stats.s2c.percentile(0.99),
        s2c_p999_us: stats.s2c.percentile(0.999),
        s2c_max_us: stats.s2c.max(),
    };
    println!(
        "SUMMARY consume: received={} unique={} duplicates={} elapsed_s={:.2} active_s={:.2} tps={:.0} e2e_avg_ms={} e2e_p50_ms={} e2e_p99_ms={} e2e_p999_ms={} e2e_max_ms={}",
        summary.received,
        summary.unique,
        summary.duplicates(),
        summary.elapsed.as_secs_f64(),
        summary.active.as_secs_f64(),
        summary.tps(),
        ms(summary.s2c_avg_us),
        ms(summary.s2c_p50_us as f64),
        ms(summary.s2c_p99_us as f64),
        ms(summary.s2c_p999_us as f64),
        ms(summary.s2c_max_us as f64),
    );
    Ok(summary)
}
