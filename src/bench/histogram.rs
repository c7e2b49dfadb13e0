//! A lock-free latency histogram for load generators: log-linear buckets over microseconds
//! (every value below 128 µs exact, above that 64 buckets per power of two, so a reported
//! percentile is within 1.6 % of the true value), recorded with one atomic add from any
//! number of tasks, and read as percentiles, mean and maximum.

use std::sync::atomic::{AtomicU64, Ordering};

const LINEAR: u64 = 128;
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// 128 exact buckets, then 64 per power of two from 2^7 to 2^63.
const BUCKETS: usize = LINEAR as usize + (64 - 7) * SUB as usize;

fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let top = v >> (msb - SUB_BITS);
    (LINEAR + (msb as u64 - 7) * SUB + (top - SUB)) as usize
}

/// The largest value a bucket holds (what percentiles report: never an underestimate).
fn upper(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let msb = (i - LINEAR) / SUB + 7;
    let top = (i - LINEAR) % SUB + SUB;
    let shift = msb - SUB_BITS as u64;
    let end = u128::from(top + 1) << shift;
    u64::try_from(end - 1).unwrap_or(u64::MAX)
}

pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn record(&self, micros: u64) {
        if let Some(b) = self.buckets.get(index(micros)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(micros, Ordering::Relaxed);
        self.max.fetch_max(micros, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    pub fn mean(&self) -> f64 {
        let n = self.count();
        if n == 0 {
            0.0
        } else {
            self.sum.load(Ordering::Relaxed) as f64 / n as f64
        }
    }

    /// The value at quantile `q` (0.0..=1.0), in microseconds; 0 when empty.
    pub fn percentile(&self, q: f64) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return upper(i).min(self.max());
            }
        }
        self.max()
    }
}

/// Count, sum and maximum since the last [`Window::take`]: the figures of one report line.
#[derive(Default)]
pub struct Window {
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Window {
    pub fn record(&self, micros: u64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(micros, Ordering::Relaxed);
        self.max.fetch_max(micros, Ordering::Relaxed);
    }

    pub fn take(&self) -> Snapshot {
        Snapshot {
            count: self.count.swap(0, Ordering::Relaxed),
            sum: self.sum.swap(0, Ordering::Relaxed),
            max: self.max.swap(0, Ordering::Relaxed),
        }
    }
}

/// One window's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub count: u64,
    pub sum: u64,
    pub max: u64,
}

impl Snapshot {
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order_and_within_their_precision() {
        let mut last = 0;
        for v in (0..5_000u64).chain([1 << 20, (1 << 40) + 12345, u64::MAX]) {
            let i = index(v);
            assert!(i < BUCKETS, "{v}");
            assert!(i >= last || v > 5_000, "monotonic at {v}");
            last = i;
            assert!(
                upper(i) >= v,
                "{v} above its bucket's upper bound {}",
                upper(i)
            );
            assert!(
                (upper(i) - v) as f64 <= v as f64 / 64.0 + 1.0,
                "{v}: bucket too wide ({})",
                upper(i)
            );
        }
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 10_000);
        assert_eq!(h.max(), 10_000);
        let p50 = h.percentile(0.5);
        assert!((5_000..=5_080).contains(&p50), "{p50}");
        let p99 = h.percentile(0.99);
        assert!((9_900..=10_000).contains(&p99), "{p99}");
        assert_eq!(h.percentile(1.0), 10_000);
        assert!((h.mean() - 5_000.5).abs() < 1e-6);
        assert_eq!(Histogram::default().percentile(0.5), 0);
    }

    #[test]
    fn a_window_restarts_after_each_take() {
        let w = Window::default();
        w.record(10);
        w.record(30);
        let s = w.take();
        assert_eq!((s.count, s.max), (2, 30));
        assert_eq!(s.mean(), 20.0);
        assert_eq!(w.take().count, 0);
    }
}
