//! `mqbench produce`: closed-loop senders. Each sender claims messages from a shared
//! budget (when `--count` is set), sends them by the chosen mode and records the round
//! trip of every successful send; failures are counted as RocketMQ's tool counts them
//! (a broker answer with an error code is a response failure, anything else a send
//! failure) and the first distinct error texts are kept for the summary.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio_util::sync::CancellationToken;

use super::histogram::{Histogram, Window};
use super::report::{now_stamp, report_loop};
use super::{ms, ProduceArgs, SendMode};
use crate::client::{
    ClientError, ClientInstance, ClientResult, Message, Producer, ProducerConfig, SendStatus,
};

/// Distinct error texts kept for the summary.
const MAX_ERROR_KINDS: usize = 8;

#[derive(Default)]
struct Stats {
    rt: Histogram,
    window: Window,
    /// Messages sent since the last report line (a window counts sends).
    window_msgs: AtomicU64,
    sent: AtomicU64,
    send_failed: AtomicU64,
    response_failed: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    fn failed(&self) -> u64 {
        self.send_failed.load(Ordering::Relaxed) + self.response_failed.load(Ordering::Relaxed)
    }

    fn outcome(&self, n: u64, started: Instant, r: ClientResult<Option<SendStatus>>) {
        let micros = started.elapsed().as_micros() as u64;
        let err = match r {
            Ok(None) | Ok(Some(SendStatus::SendOk)) => {
                self.sent.fetch_add(n, Ordering::Relaxed);
                self.window_msgs.fetch_add(n, Ordering::Relaxed);
                self.rt.record(micros);
                self.window.record(micros);
                return;
            }
            Ok(Some(status)) => {
                self.response_failed.fetch_add(n, Ordering::Relaxed);
                format!("send status {status:?}")
            }
            Err(e) => {
                let broker = match &e {
                    ClientError::Broker { .. } => true,
                    ClientError::RetriesExhausted { last, .. } => {
                        matches!(**last, ClientError::Broker { .. })
                    }
                    _ => false,
                };
                let counter = if broker {
                    &self.response_failed
                } else {
                    &self.send_failed
                };
                counter.fetch_add(n, Ordering::Relaxed);
                e.to_string()
            }
        };
        if let Ok(mut errors) = self.errors.lock() {
            if errors.len() < MAX_ERROR_KINDS || errors.contains_key(&err) {
                *errors.entry(err).or_default() += n;
            }
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct ProduceSummary {
    pub sent: u64,
    pub send_failed: u64,
    pub response_failed: u64,
    pub elapsed: Duration,
    pub rt_avg_us: f64,
    pub rt_p50_us: u64,
    pub rt_p99_us: u64,
    pub rt_p999_us: u64,
    pub rt_max_us: u64,
    pub errors: BTreeMap<String, u64>,
}

impl ProduceSummary {
    pub fn tps(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn errors(&self) -> u64 {
        self.send_failed + self.response_failed
    }
}

/// Claims up to `want` messages from the budget; 0 when it is spent or the run stopped.
fn claim(next: &AtomicU64, limit: u64, want: u64, stop: &CancellationToken) -> u64 {
    if stop.is_cancelled() {
        return 0;
    }
    if limit == 0 {
        return want;
    }
    let from = next.fetch_add(want, Ordering::Relaxed);
    want.min(limit.saturating_sub(from))
}

struct Sender {
    producer: Arc<Producer>,
    args: ProduceArgs,
    body: Bytes,
    stats: Arc<Stats>,
    next: Arc<AtomicU64>,
    serial: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl Sender {
    fn message(&self) -> Message {
        let mut m = Message::new(self.args.common.topic.clone(), self.body.clone());
        if !self.args.tag.is_empty() {
            m = m.with_tags(self.args.tag.clone());
        }
        if self.args.keys {
            let n = self.serial.fetch_add(1, Ordering::Relaxed);
            m = m.with_keys([format!("key-{n}")]);
        }
        m
    }

    /// One send of `n` messages (a batch when `--batch` > 1).
    async fn send(&self, n: u64) -> ClientResult<Option<SendStatus>> {
        if self.args.batch > 1 {
            let msgs: Vec<Message> = (0..n).map(|_| self.message()).collect();
            return self
                .producer
                .send_batch(&msgs)
                .await
                .map(|r| Some(r.status));
        }
        let msg = self.message();
        match self.args.mode {
            SendMode::Oneway => self.producer.send_oneway(&msg).await.map(|_| None),
            SendMode::Sync | SendMode::Async => {
                self.producer.send(&msg).await.map(|r| Some(r.status))
            }
        }
    }

    async fn run(self) {
        let (limit, per_send) = (self.args.common.count, self.args.batch.max(1) as u64);
        let window = match self.args.mode {
            SendMode::Async => self.args.window.max(1),
            SendMode::Sync | SendMode::Oneway => 1,
        };
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < window {
                let n = claim(&self.next, limit, per_send, &self.stop);
                if n == 0 {
                    break;
                }
                let me = &self;
                in_flight.push(async move {
                    let started = Instant::now();
                    let r = me.send(n).await;
                    (n, started, r)
                });
            }
            match in_flight.next().await {
                Some((n, started, r)) => self.stats.outcome(n, started, r),
                None => break,
            }
        }
    }
}

/// Runs the load and prints its reports and summary.
pub async fn run(args: ProduceArgs) -> ProduceSummary {
    let client = ClientInstance::new(args.common.client_config("mqbench-producer"));
    let producer = Arc::new(Producer::new(
        ProducerConfig {
            group: args.group.clone(),
            retry_times_when_send_failed: args.retries,
            ..Default::default()
        },
        client,
    ));
    producer.start();
    let stats = Arc::new(Stats::default());
    let stop = CancellationToken::new();
    let body = Bytes::from(vec![b'm'; args.size]);
    let (next, serial) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    println!(
        "mqbench produce: topic={} threads={} size={} mode={:?} batch={} encoding={:?} namesrv={}",
        args.common.topic,
        args.threads,
        args.size,
        args.mode,
        args.batch,
        args.common.encoding,
        args.common.namesrv
    );

    let reporter = {
        let (stats, stop, every) = (
            stats.clone(),
            stop.clone(),
            Duration::from_secs(args.common.report_interval.max(1)),
        );
        let live_stats = stats.clone();
        let (started, mut last_sent) = (Instant::now(), 0u64);
        tokio::spawn(report_loop(
            every,
            stop,
            move |span| {
                let w = stats.window.take();
                let msgs = stats.window_msgs.swap(0, Ordering::Relaxed);
                format!(
                    "Current Time: {} | Send TPS: {} | Max RT(ms): {} | Average RT(ms): {:7.3} | Send Failed: {} | Response Failed: {}",
                    now_stamp(),
                    (msgs as f64 / span.as_secs_f64()) as u64,
                    w.max / 1000,
                    w.mean() / 1000.0,
                    stats.send_failed.load(Ordering::Relaxed),
                    stats.response_failed.load(Ordering::Relaxed),
                )
            },
            move || {
                let sent = live_stats.sent.load(Ordering::Relaxed);
                let line = format!(
                    "{:>6.0}s  sent {sent}  {} msg/s  avg {} ms  failed {}",
                    started.elapsed().as_secs_f64(),
                    sent - last_sent,
                    ms(live_stats.rt.mean()),
                    live_stats.failed()
                );
                last_sent = sent;
                line
            },
        ))
    };

    let cpu_before = match &args.common.metrics {
        Some(addr) => match super::broker_cpu_seconds(addr).await {
            Ok(cpu) => Some(cpu),
            Err(e) => {
                eprintln!("mqbench: {e}; the broker's CPU per message is not reported");
                None
            }
        },
        None => None,
    };
    let started = Instant::now();
    let senders: Vec<_> = (0..args.threads.max(1))
        .map(|_| {
            tokio::spawn(
                Sender {
                    producer: producer.clone(),
                    args: args.clone(),
                    body: body.clone(),
                    stats: stats.clone(),
                    next: next.clone(),
                    serial: serial.clone(),
                    stop: stop.clone(),
                }
                .run(),
            )
        })
        .collect();
    if let Some(limit) = args.common.limit() {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            stop.cancel();
        });
    }
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.cancel();
            }
        });
    }
    for s in senders {
        let _ = s.await;
    }
    let elapsed = started.elapsed();
    let broker_cpu_s = match (&args.common.metrics, cpu_before) {
        (Some(addr), Some(before)) => match super::broker_cpu_seconds(addr).await {
            Ok(after) => Some(after - before),
            Err(e) => {
                eprintln!("mqbench: {e}");
                None
            }
        },
        _ => None,
    };
    stop.cancel();
    let _ = reporter.await;
    producer.shutdown().await;

    let summary = ProduceSummary {
        sent: stats.sent.load(Ordering::Relaxed),
        send_failed: stats.send_failed.load(Ordering::Relaxed),
        response_failed: stats.response_failed.load(Ordering::Relaxed),
        elapsed,
        rt_avg_us: stats.rt.mean(),
        rt_p50_us: stats.rt.percentile(0.50),
        rt_p99_us: stats.rt.percentile(0.99),
        rt_p999_us: stats.rt.percentile(0.999),
        rt_max_us: stats.rt.max(),
        errors: stats.errors.lock().map(|e| e.clone()).unwrap_or_default(),
    };
    println!(
        "SUMMARY produce: sent={} send_failed={} response_failed={} elapsed_s={:.2} tps={:.0} rt_avg_ms={} rt_p50_ms={} rt_p99_ms={} rt_p999_ms={} rt_max_ms={}",
        summary.sent,
        summary.send_failed,
        summary.response_failed,
        summary.elapsed.as_secs_f64(),
        summary.tps(),
        ms(summary.rt_avg_us),
        ms(summary.rt_p50_us as f64),
        ms(summary.rt_p99_us as f64),
        ms(summary.rt_p999_us as f64),
        ms(summary.rt_max_us as f64),
    );
    if let Some(cpu) = broker_cpu_s {
        let per_msg = if summary.sent > 0 {
            cpu * 1e6 / summary.sent as f64
        } else {
            0.0
        };
        println!("BROKER cpu_s={cpu:.3} cpu_us_per_msg={per_msg:.1}");
    }
    for (e, n) in &summary.errors {
        println!("ERROR x{n}: {e}");
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_exactly() {
        let (next, stop) = (AtomicU64::new(0), CancellationToken::new());
        let claimed: u64 = (0..10).map(|_| claim(&next, 25, 4, &stop)).sum();
        assert_eq!(claimed, 25);
        assert_eq!(claim(&next, 25, 4, &stop), 0);
        assert_eq!(claim(&next, 0, 4, &stop), 4, "no limit");
        stop.cancel();
        assert_eq!(claim(&next, 0, 4, &stop), 0, "stopped");
    }

    #[test]
    fn broker_answers_are_response_failures_and_the_rest_send_failures() {
        let s = Stats::default();
        let t = Instant::now();
        s.outcome(1, t, Ok(Some(SendStatus::SendOk)));
        s.outcome(3, t, Ok(None));
        s.outcome(1, t, Err(ClientError::broker(14, Some("busy".into()))));
        s.outcome(1, t, Err(ClientError::NoRoute("T".into())));
        s.outcome(2, t, Ok(Some(SendStatus::FlushDiskTimeout)));
        assert_eq!(s.sent.load(Ordering::Relaxed), 4);
        assert_eq!(s.response_failed.load(Ordering::Relaxed), 3);
        assert_eq!(s.send_failed.load(Ordering::Relaxed), 1);
        assert_eq!(s.errors.lock().unwrap().len(), 3);
    }
}
