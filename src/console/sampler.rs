//! The console's memory of the last hour: every [`SAMPLE_INTERVAL`] a task asks the cluster
//! (through [`Admin`], as the pages do) for the brokers' put and get TPS and every consumer
//! group's lag, and pushes one [`Sample`] into a [`History`], a ring of [`HISTORY_LEN`]
//! samples. The charts read the ring through `/api/history`.
//!
//! Memory is bounded on both axes: the ring drops its oldest sample when full, and a sample
//! keeps the lag of at most [`GROUPS_PER_SAMPLE`] groups (the most behind), so a cluster
//! with thousands of groups costs the same as one with sixteen. Group names are shared
//! between samples (one `Arc<str>` per name while it stays in the ring), so the ring holds
//! about 360 × (48 + 16 × 24) bytes ≈ 155 KB plus the distinct names.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::admin::broker::{cluster_list, ClusterListArgs};
use crate::admin::consumer::{consumer_progress, ConsumerProgressArgs};
use crate::admin::rpc::Admin;

/// How often the sampler asks the cluster.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(10);
/// Samples kept: one hour at [`SAMPLE_INTERVAL`].
pub const HISTORY_LEN: usize = 360;
/// Groups whose lag one sample keeps: the ones furthest behind.
pub const GROUPS_PER_SAMPLE: usize = 16;

/// What the cluster looked like at one instant. `None` means "could not be read", which the
/// charts draw as a gap rather than as zero.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// Messages put per second, summed over the masters (their `putTps`).
    pub in_tps: Option<f64>,
    /// Messages handed to consumers per second, summed over the masters
    /// (`getTransferedTps`).
    pub out_tps: Option<f64>,
    /// The most-behind groups, largest lag first.
    pub lag: Vec<GroupLag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupLag {
    #[serde(serialize_with = "as_str")]
    pub group: Arc<str>,
    pub lag: i64,
}

fn as_str<S: serde::Serializer>(s: &Arc<str>, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

/// A ring of samples, oldest first.
#[derive(Debug)]
pub struct History {
    samples: VecDeque<Sample>,
    capacity: usize,
}

impl History {
    pub fn new(capacity: usize) -> Self {
        History {
            samples: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
        }
    }

    /// Appends `sample`, dropping the oldest when the ring is full. Group names already
    /// held by the newest sample are shared rather than stored again.
    pub fn push(&mut self, mut sample: Sample) {
        if let Some(last) = self.samples.back() {
            let known: HashMap<&str, &Arc<str>> =
                last.lag.iter().map(|g| (&*g.group, &g.group)).collect();
            for g in &mut sample.lag {
                if let Some(shared) = known.get(&*g.group) {
                    g.group = Arc::clone(shared);
                }
            }
        }
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn snapshot(&self) -> Vec<Sample> {
        self.samples.iter().cloned().collect()
    }
}

/// The `n` groups with the largest lag, largest first; ties by name so samples are stable.
pub fn most_behind(groups: impl IntoIterator<Item = (String, i64)>, n: usize) -> Vec<GroupLag> {
    let mut all: Vec<(String, i64)> = groups.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(n);
    all.into_iter()
        .map(|(group, lag)| GroupLag {
            group: group.into(),
            lag,
        })
        .collect()
}

/// One sample of the cluster behind `admin`. A part that cannot be read is left out.
pub async fn sample(admin: &Admin) -> Sample {
    let brokers = cluster_list(
        admin,
        ClusterListArgs {
            cluster_name: None,
            more_stats: false,
            interval: None,
            count: None,
        },
    )
    .await
    .ok();
    let sum = |key: &str| {
        brokers.as_ref().map(|out| {
            out.json["brokers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|b| b["brokerId"].as_i64() == Some(0))
                .filter_map(|b| b[key].as_f64())
                .sum::<f64>()
        })
    };
    let groups = consumer_progress(
        admin,
        ConsumerProgressArgs {
            group: None,
            show_client_ip: None,
        },
    )
    .await
    .ok();
    let lags = groups
        .iter()
        .flat_map(|out| out.json["groups"].as_array().cloned().unwrap_or_default())
        .filter_map(|g| Some((g["group"].as_str()?.to_owned(), g["diffTotal"].as_i64()?)));
    Sample {
        at: crate::clock::now_millis(),
        in_tps: sum("inTps"),
        out_tps: sum("outTps"),
        lag: most_behind(lags, GROUPS_PER_SAMPLE),
    }
}

/// Samples every `every` until `stop` is cancelled. The first sample is taken at once.
pub fn spawn(
    admin: Arc<Admin>,
    history: Arc<Mutex<History>>,
    every: Duration,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        // A slow cluster delays the next sample rather than bunching samples up.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {
                    let s = tokio::select! {
                        _ = stop.cancelled() => break,
                        s = sample(&admin) => s,
                    };
                    history.lock().unwrap_or_else(|e| e.into_inner()).push(s);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(at: i64, lag: &[(&str, i64)]) -> Sample {
        Sample {
            at,
            in_tps: Some(1.0),
            out_tps: None,
            lag: lag
                .iter()
                .map(|(g, l)| GroupLag {
                    group: (*g).into(),
                    lag: *l,
                })
                .collect(),
        }
    }

    #[test]
    fn a_full_ring_drops_its_oldest_sample_and_never_grows() {
        let mut h = History::new(3);
        for t in 0..10 {
            h.push(at(t, &[]));
            assert!(h.len() <= 3);
        }
        let ats: Vec<i64> = h.snapshot().iter().map(|s| s.at).collect();
        assert_eq!(ats, vec![7, 8, 9]);
    }

    #[test]
    fn the_ring_of_an_hour_holds_360_samples() {
        let mut h = History::new(HISTORY_LEN);
        for t in 0..1000 {
            h.push(at(t, &[("g", t)]));
        }
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!(h.snapshot()[0].at, 1000 - HISTORY_LEN as i64);
    }

    #[test]
    fn a_group_name_is_shared_between_consecutive_samples() {
        let mut h = History::new(4);
        h.push(at(0, &[("orders", 5), ("billing", 1)]));
        h.push(at(1, &[("billing", 2), ("orders", 6)]));
        let s = h.snapshot();
        let first = s[0].lag.iter().find(|g| &*g.group == "orders").unwrap();
        let second = s[1].lag.iter().find(|g| &*g.group == "orders").unwrap();
        assert!(Arc::ptr_eq(&first.group, &second.group));
    }

    #[test]
    fn a_sample_keeps_only_the_most_behind_groups() {
        let groups = (0..100).map(|i| (format!("g{i:03}"), i as i64 % 7));
        let top = most_behind(groups, GROUPS_PER_SAMPLE);
        assert_eq!(top.len(), GROUPS_PER_SAMPLE);
        assert!(top.iter().all(|g| g.lag == 6 || g.lag == 5));
        assert!(top.windows(2).all(|w| w[0].lag >= w[1].lag));
        assert_eq!(&*top[0].group, "g006");
    }

    #[test]
    fn an_unread_figure_is_null_in_json_not_zero() {
        let json = serde_json::to_value(at(5, &[("g", 3)])).unwrap();
        assert_eq!(json["outTps"], serde_json::Value::Null);
        assert_eq!(json["inTps"], 1.0);
        assert_eq!(json["lag"][0]["group"], "g");
        assert_eq!(json["lag"][0]["lag"], 3);
    }

    #[test]
    fn a_zero_capacity_ring_still_keeps_the_latest_sample() {
        let mut h = History::new(0);
        h.push(at(1, &[]));
        h.push(at(2, &[]));
        assert_eq!(h.snapshot().len(), 1);
        assert_eq!(h.snapshot()[0].at, 2);
        assert!(!h.is_empty());
    }
}
