//! The metrics registry every actor reports to, and its Prometheus text rendering.
//!
//! One registry per process (the standalone process shares one between its name server and
//! broker trees). Each actor registers an [`ActorMetrics`] under a path such as
//! `namesrv/RouteInfoManager`; paths make the actor tree served at `/actors`. Business
//! metrics use RocketMQ 5.x names (`rocketmq_rpc_latency`, ...) and live in labelled
//! families. Everything is atomics: recording never takes a lock on the hot path except the
//! first lookup of a labelled series.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde::Serialize;

/// Upper bounds, in seconds, of the handler-time histogram buckets.
const HANDLER_BUCKETS: [f64; 12] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// Upper bounds, in milliseconds, of `rocketmq_rpc_latency` (RocketMQ 5.x's buckets).
const RPC_LATENCY_BUCKETS_MS: [f64; 7] = [1.0, 3.0, 5.0, 10.0, 100.0, 1000.0, 3000.0];

/// A fixed-bucket histogram made of atomics.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    /// Sum in the histogram's unit, scaled by 1e9 to keep an integer atomic.
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add((value.max(0.0) * 1e9) as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Adds `other`'s observations (same bounds) into this one.
    fn add(&self, other: &Histogram) {
        for (mine, theirs) in self.buckets.iter().zip(other.buckets.iter()) {
            mine.fetch_add(theirs.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.count.fetch_add(other.count(), Ordering::Relaxed);
        self.sum_nanos
            .fetch_add(other.sum_nanos.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, bucket) in self.bounds.iter().zip(self.buckets.iter()) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// One actor's series on `/metrics`, or the sum of an aggregated prefix's actors.
struct ActorRow {
    label: String,
    depth: u64,
    capacity: usize,
    handled: u64,
    rejected: u64,
    panics: u64,
    restarts: u64,
    backoff_ms: u64,
    instances: u64,
    handler_seconds: Histogram,
}

impl ActorRow {
    fn new(label: String) -> Self {
        ActorRow {
            label,
            depth: 0,
            capacity: 0,
            handled: 0,
            rejected: 0,
            panics: 0,
            restarts: 0,
            backoff_ms: 0,
            instances: 0,
            handler_seconds: Histogram::new(&HANDLER_BUCKETS),
        }
    }

    fn add(&mut self, m: &ActorMetrics) {
        self.depth += m.mailbox_depth();
        self.capacity += m.mailbox_capacity;
        self.handled += m.handled();
        self.rejected += m.rejected();
        self.panics += m.panics();
        self.restarts += m.restarts();
        self.backoff_ms = self
            .backoff_ms
            .max(m.restart_backoff_ms.load(Ordering::Relaxed));
        self.instances += 1;
        self.handler_seconds.add(&m.handler_seconds);
    }
}

/// What one actor reports: mailbox depth, messages handled, handler time, restarts.
#[derive(Debug)]
pub struct ActorMetrics {
    path: String,
    kind: &'static str,
    mailbox_capacity: usize,
    started_at: Instant,
    in_mailbox: AtomicI64,
    handled: AtomicU64,
    rejected: AtomicU64,
    panics: AtomicU64,
    restarts: AtomicU64,
    /// The delay before the latest restart, in ms: at the backoff cap, a restart storm.
    restart_backoff_ms: AtomicU64,
    alive: AtomicBool,
    handler_seconds: Histogram,
}

impl ActorMetrics {
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn mailbox_capacity(&self) -> usize {
        self.mailbox_capacity
    }

    /// Messages queued through a `Mailbox` and not yet handled.
    pub fn mailbox_depth(&self) -> u64 {
        self.in_mailbox.load(Ordering::Relaxed).max(0) as u64
    }

    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    pub(crate) fn enqueued(&self) {
        self.in_mailbox.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a message in if the mailbox holds fewer than its capacity, as one atomic
    /// step: callers racing for the last place cannot both take it.
    pub(crate) fn try_enqueue(&self) -> bool {
        let capacity = self.mailbox_capacity as i64;
        self.in_mailbox
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| {
                (d < capacity).then_some(d + 1)
            })
            .is_ok()
    }

    pub(crate) fn rejected_full(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dequeued(&self) {
        let _ = self
            .in_mailbox
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some((d - 1).max(0))
            });
    }

    pub(crate) fn handled_in(&self, elapsed: Duration) {
        self.handled.fetch_add(1, Ordering::Relaxed);
        self.handler_seconds.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn panicked(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_restart_backoff(&self, delay: Duration) {
        self.restart_backoff_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn restart_backoff(&self) -> Duration {
        Duration::from_millis(self.restart_backoff_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_alive(&self, alive: bool) {
        self.alive.store(alive, Ordering::Relaxed);
    }
}

/// A metric family's series: rendered label set → value. Looked up with a label set rendered
/// into a reused buffer, so counting on an existing series allocates nothing.
type Family<V> = DashMap<&'static str, DashMap<String, Arc<V>>>;

/// The process's metrics.
#[derive(Debug)]
pub struct MetricsRegistry {
    actors: RwLock<BTreeMap<String, Arc<ActorMetrics>>>,
    /// Path prefixes whose actors render as one series ([`MetricsRegistry::aggregate_under`]).
    aggregated: RwLock<Vec<String>>,
    counters: Family<AtomicU64>,
    gauges: Family<AtomicI64>,
    /// Keyed by (protocol, request code, response code); labels are rendered only when
    /// scraped, so observing costs no allocation once a series exists.
    rpc_latency: DashMap<(&'static str, i32, i32), Arc<Histogram>>,
    help: DashMap<&'static str, (&'static str, &'static str)>,
    /// Families computed when scraped (consumer lag and the like), appended after the rest.
    collectors: Collectors,
    started_at: Instant,
}

#[derive(Default)]
struct Collectors(RwLock<Vec<Collector>>);

impl std::fmt::Debug for Collectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.read().map(|c| c.len()).unwrap_or(0);
        write!(f, "{n} collectors")
    }
}

/// Appends Prometheus text for families whose values are computed at scrape time.
pub type Collector = Box<dyn Fn(&mut String) + Send + Sync>;

impl Default for MetricsRegistry {
    fn default() -> Self {
        MetricsRegistry {
            actors: RwLock::new(BTreeMap::new()),
            aggregated: RwLock::new(Vec::new()),
            counters: DashMap::new(),
            gauges: DashMap::new(),
            rpc_latency: DashMap::new(),
            help: DashMap::new(),
            collectors: Collectors::default(),
            started_at: Instant::now(),
        }
    }
}

/// One node of the live actor tree served as JSON at `/actors`.
#[derive(Debug, Serialize, Default)]
pub struct ActorNode {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<ActorSnapshot>,
    pub children: Vec<ActorNode>,
}

/// The counters of one actor at one moment.
#[derive(Debug, Serialize, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActorSnapshot {
    pub path: String,
    pub kind: &'static str,
    pub alive: bool,
    pub mailbox_depth: u64,
    pub mailbox_capacity: usize,
    pub messages_handled: u64,
    pub messages_rejected: u64,
    pub panics: u64,
    pub restarts: u64,
    pub handler_seconds_sum: f64,
    pub uptime_seconds: f64,
}

impl MetricsRegistry {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Registers an actor; a path registered again (a restarted connection id, say) gets
    /// fresh counters.
    pub fn register_actor(
        &self,
        path: impl Into<String>,
        kind: &'static str,
        mailbox_capacity: usize,
    ) -> Arc<ActorMetrics> {
        let path = path.into();
        let metrics = Arc::new(ActorMetrics {
            path: path.clone(),
            kind,
            mailbox_capacity,
            started_at: Instant::now(),
            in_mailbox: AtomicI64::new(0),
            handled: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            restart_backoff_ms: AtomicU64::new(0),
            alive: AtomicBool::new(true),
            handler_seconds: Histogram::new(&HANDLER_BUCKETS),
        });
        if let Ok(mut actors) = self.actors.write() {
            actors.insert(path, metrics.clone());
        }
        metrics
    }

    /// Removes an actor that is gone for good (a closed connection).
    pub fn deregister_actor(&self, path: &str) {
        if let Ok(mut actors) = self.actors.write() {
            actors.remove(path);
        }
    }

    pub fn actor(&self, path: &str) -> Option<Arc<ActorMetrics>> {
        self.actors.read().ok()?.get(path).cloned()
    }

    pub fn snapshots(&self) -> Vec<ActorSnapshot> {
        let actors = match self.actors.read() {
            Ok(a) => a,
            Err(_) => return Vec::new(),
        };
        actors.values().map(|m| snapshot(m)).collect()
    }

    /// The actor tree: path segments become nested nodes.
    pub fn actor_tree(&self) -> ActorNode {
        let mut root = ActorNode {
            name: "process".into(),
            ..Default::default()
        };
        for snap in self.snapshots() {
            let mut node = &mut root;
            for segment in snap.path.split('/') {
                let idx = match node.children.iter().position(|c| c.name == segment) {
                    Some(i) => i,
                    None => {
                        node.children.push(ActorNode {
                            name: segment.to_owned(),
                            ..Default::default()
                        });
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[idx];
            }
            node.actor = Some(snap);
        }
        root
    }

    /// Declares HELP and TYPE text for a business metric family.
    pub fn describe(&self, name: &'static str, kind: &'static str, help: &'static str) {
        self.help.insert(name, (kind, help));
    }

    /// Adds a family computed at every scrape.
    pub fn register_collector(&self, collector: Collector) {
        if let Ok(mut c) = self.collectors.0.write() {
            c.push(collector);
        }
    }

    /// Drops every counter and gauge series carrying `label="value"` (a deleted topic's),
    /// so the series count follows the topics that exist.
    pub fn forget_series(&self, label: &str, value: &str) {
        let mut needle = String::new();
        write_labels(&mut needle, &[(label, value)]);
        let matches = |key: &String| key.split(',').any(|part| part == needle);
        for f in self.counters.iter() {
            f.value().retain(|k, _| !matches(k));
        }
        for f in self.gauges.iter() {
            f.value().retain(|k, _| !matches(k));
        }
    }

    /// A monotonically increasing counter, e.g. `rocketmq_messages_in_total{topic="T"}`.
    pub fn counter(&self, name: &'static str, labels: &[(&str, &str)]) -> Arc<AtomicU64> {
        series(&self.counters, name, labels)
    }

    /// The sum of a counter over all its label sets.
    pub fn sum_counter(&self, name: &'static str) -> u64 {
        self.counters
            .get(name)
            .map(|f| f.iter().map(|e| e.value().load(Ordering::Relaxed)).sum())
            .unwrap_or(0)
    }

    /// A gauge that can go up and down, e.g. connection counts.
    pub fn gauge(&self, name: &'static str, labels: &[(&str, &str)]) -> Arc<AtomicI64> {
        series(&self.gauges, name, labels)
    }

    /// RocketMQ 5.x's `rocketmq_rpc_latency` (milliseconds), by request and response code.
    pub fn observe_rpc(
        &self,
        protocol: &'static str,
        request_code: i32,
        response_code: i32,
        elapsed: Duration,
    ) {
        let key = (protocol, request_code, response_code);
        let ms = elapsed.as_secs_f64() * 1000.0;
        if let Some(hist) = self.rpc_latency.get(&key) {
            hist.observe(ms);
            return;
        }
        self.rpc_latency
            .entry(key)
            .or_insert_with(|| Arc::new(Histogram::new(&RPC_LATENCY_BUCKETS_MS)))
            .observe(ms);
    }

    /// Renders the actors under `prefix/` (one per consume queue, say) as one series,
    /// `actor="prefix/*"`, with their counters summed, depth and capacity summed, the
    /// largest restart backoff, and `rocketmq_actor_instances` counting them, so `/metrics`
    /// stays a fixed size however many queues there are. `/actors` still lists each one.
    pub fn aggregate_under(&self, prefix: impl Into<String>) {
        if let Ok(mut a) = self.aggregated.write() {
            let p = prefix.into();
            if !a.contains(&p) {
                a.push(p);
            }
        }
    }

    /// The actor rows `/metrics` shows: one per actor, or one per aggregated prefix.
    fn actor_rows(&self) -> Vec<ActorRow> {
        let prefixes: Vec<String> = self
            .aggregated
            .read()
            .map(|a| a.clone())
            .unwrap_or_default();
        let actors = match self.actors.read() {
            Ok(a) => a,
            Err(_) => return Vec::new(),
        };
        let mut rows: BTreeMap<String, ActorRow> = BTreeMap::new();
        for m in actors.values() {
            let group = prefixes.iter().find(|p| {
                m.path.len() > p.len()
                    && m.path.starts_with(p.as_str())
                    && m.path.as_bytes()[p.len()] == b'/'
            });
            let key = match group {
                Some(p) => format!("{p}/*"),
                None => m.path.clone(),
            };
            rows.entry(key.clone())
                .or_insert_with(|| ActorRow::new(key))
                .add(m);
        }
        rows.into_values().collect()
    }

    /// Everything in Prometheus text exposition format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        let rows = self.actor_rows();
        type Column = fn(&ActorRow) -> String;
        let columns: [(&str, &str, &str, Column); 8] = [
            ("rocketmq_actor_mailbox_depth", "gauge", "Messages waiting in the actor's mailbox.", |r| r.depth.to_string()),
            ("rocketmq_actor_mailbox_capacity", "gauge", "Bound of the actor's mailbox.", |r| r.capacity.to_string()),
            ("rocketmq_actor_messages_total", "counter", "Messages the actor has handled.", |r| r.handled.to_string()),
            ("rocketmq_actor_rejected_total", "counter", "Messages refused because the mailbox was full.", |r| r.rejected.to_string()),
            ("rocketmq_actor_panics_total", "counter", "Panics caught in the actor's handlers and in the futures it spawned.", |r| r.panics.to_string()),
            ("rocketmq_actor_restarts_total", "counter", "Supervised restarts of the actor.", |r| r.restarts.to_string()),
            ("rocketmq_actor_restart_backoff_seconds", "gauge", "Delay before the latest restart; at the cap (5 s) the actor is in a restart storm.", |r| (r.backoff_ms as f64 / 1000.0).to_string()),
            ("rocketmq_actor_instances", "gauge", "Actors the series stands for (more than one for an aggregated prefix).", |r| r.instances.to_string()),
        ];
        for (name, kind, help, value) in columns {
            family(&mut out, name, kind, help);
            for r in &rows {
                let _ = writeln!(out, "{name}{{actor=\"{}\"}} {}", esc(&r.label), value(r));
            }
        }
        family(
            &mut out,
            "rocketmq_actor_handler_seconds",
            "histogram",
            "Time spent in the actor's message handlers.",
        );
        for r in &rows {
            r.handler_seconds.render(
                &mut out,
                "rocketmq_actor_handler_seconds",
                &format!("actor=\"{}\"", esc(&r.label)),
            );
        }
        if !self.rpc_latency.is_empty() {
            family(
                &mut out,
                "rocketmq_rpc_latency",
                "histogram",
                "Remoting request latency in milliseconds.",
            );
            let mut series: Vec<_> = self
                .rpc_latency
                .iter()
                .map(|e| {
                    let (protocol, request, response) = *e.key();
                    let labels = render_labels(&[
                        ("protocol_type", protocol),
                        ("request_code", &request.to_string()),
                        ("response_code", &response.to_string()),
                    ]);
                    (labels, e.value().clone())
                })
                .collect();
            series.sort_by(|a, b| a.0.cmp(&b.0));
            for (labels, hist) in series {
                hist.render(&mut out, "rocketmq_rpc_latency", &labels);
            }
        }
        self.render_family(&mut out, &self.counters, "counter");
        self.render_family(&mut out, &self.gauges, "gauge");
        if let Ok(collectors) = self.collectors.0.read() {
            for c in collectors.iter() {
                c(&mut out);
            }
        }
        family(
            &mut out,
            "rocketmq_process_uptime_seconds",
            "gauge",
            "Seconds since the metrics registry was created.",
        );
        let _ = writeln!(
            out,
            "rocketmq_process_uptime_seconds {}",
            self.started_at.elapsed().as_secs_f64()
        );
        // Prometheus's standard process metrics, so a load generator can read the broker's
        // CPU per message from two scrapes.
        if let Some(cpu) = process_cpu_seconds() {
            family(
                &mut out,
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
            );
            let _ = writeln!(out, "process_cpu_seconds_total {cpu}");
        }
        if let Some(rss) = process_resident_bytes() {
            family(
                &mut out,
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
            );
            let _ = writeln!(out, "process_resident_memory_bytes {rss}");
        }
        out
    }

    fn render_family<V: AtomicValue>(&self, out: &mut String, map: &Family<V>, default_kind: &str) {
        let mut series: Vec<((&'static str, String), String)> = map
            .iter()
            .flat_map(|f| {
                let name = *f.key();
                f.value()
                    .iter()
                    .map(|e| ((name, e.key().clone()), e.value().render()))
                    .collect::<Vec<_>>()
            })
            .collect();
        series.sort();
        let mut last: Option<&str> = None;
        for ((name, labels), value) in &series {
            if last != Some(name) {
                let (kind, help) = self
                    .help
                    .get(name)
                    .map(|h| *h)
                    .unwrap_or((default_kind, ""));
                family(out, name, kind, help);
                last = Some(name);
            }
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    }
}

trait AtomicValue {
    fn render(&self) -> String;
}

impl AtomicValue for AtomicU64 {
    fn render(&self) -> String {
        self.load(Ordering::Relaxed).to_string()
    }
}

impl AtomicValue for AtomicI64 {
    fn render(&self) -> String {
        self.load(Ordering::Relaxed).to_string()
    }
}

fn snapshot(m: &ActorMetrics) -> ActorSnapshot {
    ActorSnapshot {
        path: m.path.clone(),
        kind: m.kind,
        alive: m.alive.load(Ordering::Relaxed),
        mailbox_depth: m.mailbox_depth(),
        mailbox_capacity: m.mailbox_capacity,
        messages_handled: m.handled(),
        messages_rejected: m.rejected(),
        panics: m.panics(),
        restarts: m.restarts(),
        handler_seconds_sum: m.handler_seconds.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        uptime_seconds: m.started_at.elapsed().as_secs_f64(),
    }
}

/// Writes a family's `# HELP` and `# TYPE` lines.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    if !help.is_empty() {
        let _ = writeln!(out, "# HELP {name} {help}");
    }
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The series `labels` of family `name`, created at zero on first use.
fn series<V: Default>(family: &Family<V>, name: &'static str, labels: &[(&str, &str)]) -> Arc<V> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    SCRATCH.with(|scratch| {
        let mut key = scratch.borrow_mut();
        key.clear();
        write_labels(&mut key, labels);
        if let Some(v) = family
            .get(name)
            .and_then(|f| f.get(key.as_str()).map(|v| v.clone()))
        {
            return v;
        }
        family
            .entry(name)
            .or_default()
            .entry(key.clone())
            .or_default()
            .clone()
    })
}

/// `k="v",k2="v2"` with values escaped for Prometheus.
pub fn render_labels(labels: &[(&str, &str)]) -> String {
    let mut s = String::new();
    write_labels(&mut s, labels);
    s
}

fn write_labels(s: &mut String, labels: &[(&str, &str)]) {
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        push_escaped(s, v);
        s.push('"');
    }
}

/// Appends a Prometheus label value, escaped.
fn push_escaped(s: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
}

/// User plus system CPU seconds this process has used (getrusage).
fn process_cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage only writes into the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(ru.ru_utime) + secs(ru.ru_stime))
}

/// Resident set size in bytes (Linux `/proc/self/statm`, a memory-backed read).
fn process_resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no memory effects.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(page).ok().map(|p| pages * p)
}

/// Escapes a Prometheus label value.
fn esc(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    push_escaped(&mut s, v);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_cpu_and_resident_memory_are_exported_and_cpu_grows() {
        let reg = MetricsRegistry::new();
        let value = |text: &str, name: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing: {text}"));
            line[name.len() + 1..].parse().unwrap()
        };
        let before = value(&reg.render_prometheus(), "process_cpu_seconds_total");
        // Burn ~50 ms of CPU (bounded by time, not by a loop count that could be optimised).
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let text = reg.render_prometheus();
        assert!(value(&text, "process_cpu_seconds_total") > before, "{text}");
        assert!(
            value(&text, "process_resident_memory_bytes") > 1_000_000.0,
            "{text}"
        );
        assert!(text.contains("# TYPE process_cpu_seconds_total counter"));
    }

    #[test]
    fn actor_counters_render_as_prometheus_text() {
        let reg = MetricsRegistry::new();
        let m = reg.register_actor("namesrv/RouteInfoManager", "RouteInfoManager", 16);
        m.enqueued();
        m.enqueued();
        m.dequeued();
        m.handled_in(Duration::from_micros(20));
        m.restarted();
        let text = reg.render_prometheus();
        assert!(
            text.contains("rocketmq_actor_mailbox_depth{actor=\"namesrv/RouteInfoManager\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("rocketmq_actor_messages_total{actor=\"namesrv/RouteInfoManager\"} 1")
        );
        assert!(
            text.contains("rocketmq_actor_restarts_total{actor=\"namesrv/RouteInfoManager\"} 1")
        );
        assert!(text.contains("rocketmq_actor_handler_seconds_bucket{actor=\"namesrv/RouteInfoManager\",le=\"0.00005\"} 1"));
        assert!(text.contains("rocketmq_actor_handler_seconds_bucket{actor=\"namesrv/RouteInfoManager\",le=\"0.00001\"} 0"));
        assert!(text.contains("# TYPE rocketmq_actor_handler_seconds histogram"));
    }

    /// A series is created once and found again without a new entry, whatever its labels.
    #[test]
    fn counters_and_gauges_are_found_again_by_their_labels() {
        let reg = MetricsRegistry::new();
        let a = reg.counter("c_total", &[("topic", "T"), ("group", "g\\\n")]);
        a.fetch_add(2, Ordering::Relaxed);
        let b = reg.counter("c_total", &[("topic", "T"), ("group", "g\\\n")]);
        assert!(Arc::ptr_eq(&a, &b));
        reg.counter("c_total", &[("topic", "U"), ("group", "g")])
            .fetch_add(3, Ordering::Relaxed);
        assert_eq!(reg.sum_counter("c_total"), 5);
        assert_eq!(reg.sum_counter("other_total"), 0);
        let g = reg.gauge("g_now", &[]);
        g.store(-4, Ordering::Relaxed);
        assert!(Arc::ptr_eq(&g, &reg.gauge("g_now", &[])));
        let text = reg.render_prometheus();
        assert!(
            text.contains("c_total{topic=\"T\",group=\"g\\\\\\n\"} 2"),
            "{text}"
        );
        assert!(text.contains("c_total{topic=\"U\",group=\"g\"} 3"));
        assert!(text.contains("g_now -4"));
    }

    #[test]
    fn depth_never_goes_negative() {
        let reg = MetricsRegistry::new();
        let m = reg.register_actor("a", "A", 1);
        m.dequeued();
        assert_eq!(m.mailbox_depth(), 0);
        m.enqueued();
        assert_eq!(m.mailbox_depth(), 1);
    }

    #[test]
    fn paths_become_a_tree() {
        let reg = MetricsRegistry::new();
        reg.register_actor("namesrv/RemotingServer", "RemotingServer", 1);
        reg.register_actor("namesrv/RemotingServer/Connection-1", "Connection", 1);
        reg.register_actor("namesrv/RouteInfoManager", "RouteInfoManager", 1);
        let tree = reg.actor_tree();
        let namesrv = &tree.children[0];
        assert_eq!(namesrv.name, "namesrv");
        assert_eq!(namesrv.children.len(), 2);
        let server = namesrv
            .children
            .iter()
            .find(|c| c.name == "RemotingServer")
            .unwrap();
        assert_eq!(server.children[0].name, "Connection-1");
        assert!(server.actor.is_some());
    }

    #[test]
    fn labelled_business_metrics_and_rpc_latency_render() {
        let reg = MetricsRegistry::new();
        reg.describe(
            "rocketmq_messages_in_total",
            "counter",
            "Messages received.",
        );
        reg.counter("rocketmq_messages_in_total", &[("topic", "T\"1")])
            .fetch_add(3, Ordering::Relaxed);
        reg.observe_rpc("remoting", 105, 17, Duration::from_millis(2));
        let text = reg.render_prometheus();
        assert!(
            text.contains("rocketmq_messages_in_total{topic=\"T\\\"1\"} 3"),
            "{text}"
        );
        assert!(text.contains("# HELP rocketmq_messages_in_total Messages received."));
        assert!(text.contains("rocketmq_rpc_latency_bucket{protocol_type=\"remoting\",request_code=\"105\",response_code=\"17\",le=\"3\"} 1"), "{text}");
    }

    #[test]
    fn actors_under_an_aggregated_prefix_render_as_one_series() {
        let reg = MetricsRegistry::new();
        reg.aggregate_under("broker/Store/ConsumeQueue");
        reg.register_actor("broker/Store/ConsumeQueueService", "Other", 4);
        for i in 0..10_000 {
            let m = reg.register_actor(format!("broker/Store/ConsumeQueue/T-{i}"), "CQ", 64);
            m.handled_in(Duration::from_micros(20));
            if i % 1000 == 0 {
                m.enqueued();
            }
        }
        let text = reg.render_prometheus();
        assert!(text.len() < 16 * 1024, "{} bytes", text.len());
        let agg = "actor=\"broker/Store/ConsumeQueue/*\"";
        assert!(
            text.contains(&format!("rocketmq_actor_instances{{{agg}}} 10000")),
            "{text}"
        );
        assert!(text.contains(&format!("rocketmq_actor_messages_total{{{agg}}} 10000")));
        assert!(text.contains(&format!("rocketmq_actor_mailbox_depth{{{agg}}} 10")));
        assert!(text.contains(&format!(
            "rocketmq_actor_handler_seconds_count{{{agg}}} 10000"
        )));
        // A sibling whose name only starts like the prefix keeps its own series.
        assert!(
            text.contains("rocketmq_actor_instances{actor=\"broker/Store/ConsumeQueueService\"} 1")
        );
        assert!(!text.contains("T-42"));
        assert_eq!(
            reg.snapshots().len(),
            10_001,
            "/actors still lists every actor"
        );
    }
}
