//! A per-topic send quota as a Ferrocket plug-in: the example to copy when writing your own.
//!
//! It declares a send hook (answered within 50 ms; if it cannot answer, the send goes
//! through: a quota must never take the broker down with it) and one admin request code of
//! its own, [`QUOTA_COUNTERS`], which answers the counters as JSON. Over the rate a send is
//! refused with FLOW_CONTROL (215) and a remark naming the topic and the limit. The rate is
//! counted in one-second windows per topic; a batch counts as its number of messages.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket::actors::broker::plugins::{
    BeforeSend, Plugin, PluginContext, PluginRequest, SendVerdict, Takes, WhenLate,
};
use ferrocket::actors::dispatch::Reply;
use ferrocket::protocol::code::response;
use ferrocket::protocol::RemotingCommand;
use serde::Serialize;

/// The admin request code that reads the counters (pick one no RocketMQ code uses).
pub const QUOTA_COUNTERS: i32 = 47_100;

/// What the counters look like on the wire, per topic.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicCounters {
    pub passed: u64,
    pub refused: u64,
}

struct Window {
    started: Instant,
    used: u64,
}

pub struct Quota {
    per_second: u64,
    windows: BTreeMap<String, Window>,
    counters: BTreeMap<String, TopicCounters>,
}

impl Quota {
    /// At most `per_second` messages per topic per second.
    pub fn new(per_second: u64) -> Self {
        Quota {
            per_second,
            windows: BTreeMap::new(),
            counters: BTreeMap::new(),
        }
    }
}

impl Plugin for Quota {
    fn name(&self) -> &str {
        "quota"
    }

    fn takes(&self) -> Takes {
        Takes::new()
            .send_hook(Duration::from_millis(50), WhenLate::Skip)
            .request_code(QUOTA_COUNTERS)
    }

    fn before_send(&mut self, send: &BeforeSend, _: &mut PluginContext<Self>) -> SendVerdict {
        let n = send.messages.len() as u64;
        let now = Instant::now();
        let w = self.windows.entry(send.topic.clone()).or_insert(Window {
            started: now,
            used: 0,
        });
        if now.duration_since(w.started) >= Duration::from_secs(1) {
            *w = Window {
                started: now,
                used: 0,
            };
        }
        let c = self.counters.entry(send.topic.clone()).or_default();
        if w.used + n > self.per_second {
            c.refused += n;
            return SendVerdict::Refuse {
                code: response::FLOW_CONTROL,
                remark: format!(
                    "[QUOTA] topic {} is limited to {} messages per second",
                    send.topic, self.per_second
                ),
            };
        }
        w.used += n;
        c.passed += n;
        SendVerdict::Pass
    }

    fn request(&mut self, _: PluginRequest, _: &mut PluginContext<Self>) -> Reply {
        let mut r = RemotingCommand::success();
        r.body = Bytes::from(serde_json::to_vec(&self.counters).unwrap_or_default());
        Ok(r)
    }
}
