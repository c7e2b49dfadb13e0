//! The log line of a refused request: which client (address), which request, which topic
//! and group, the response code and its remark, so an operator can tell from the log who is
//! refused and why. Every answer other than SUCCESS passes through [`log_answer`] from the
//! one dispatch point (and the connection's in-flight limit); answers that are the normal
//! course of the protocol (nothing new to pull, a key not found, a route asked for a topic
//! that does not exist yet) stay at DEBUG, real refusals are WARN.
//!
//! A refusal storm (a misconfigured producer retrying a forbidden send in a loop, a full
//! disk under load) must not become a log storm: lines are limited per kind — request code
//! and response code — to [`LINES_PER_WINDOW`] per [`WINDOW`]; the next line logged of a
//! kind says how many were suppressed. Kinds are bounded: request codes are those with a
//! handler (anything else is one "unsupported" kind) and response codes are the server's own,
//! and the table is capped at [`MAX_KINDS`] entries beyond which refusals share one kind.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::code::{request, request_name, response, response_name};
use crate::protocol::RemotingCommand;

/// Lines one kind of refusal may log per window.
pub const LINES_PER_WINDOW: u32 = 10;
/// The window over which [`LINES_PER_WINDOW`] applies.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Kinds tracked separately; more share the overflow kind (0, 0).
pub const MAX_KINDS: usize = 1024;

/// Counts lines per kind and window.
#[derive(Debug, Default)]
pub struct RateLimiter {
    kinds: HashMap<(i32, i32), Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    logged: u32,
    suppressed: u64,
}

impl RateLimiter {
    /// Whether a refusal of `kind` seen at `now` is logged; when it is, also how many of
    /// that kind were suppressed since the last line logged.
    pub fn admit(&mut self, kind: (i32, i32), now: Instant) -> Option<u64> {
        let kind = if self.kinds.len() >= MAX_KINDS && !self.kinds.contains_key(&kind) {
            (0, 0)
        } else {
            kind
        };
        let w = self.kinds.entry(kind).or_insert(Window {
            started: now,
            logged: 0,
            suppressed: 0,
        });
        if now.duration_since(w.started) >= WINDOW {
            w.started = now;
            w.logged = 0;
        }
        if w.logged >= LINES_PER_WINDOW {
            w.suppressed += 1;
            return None;
        }
        w.logged += 1;
        Some(std::mem::take(&mut w.suppressed))
    }
}

static LIMITER: LazyLock<Mutex<RateLimiter>> = LazyLock::new(Mutex::default);

/// Answers that are the protocol's normal course, not refusals.
fn routine(request_code: i32, code: i32) -> bool {
    matches!(
        code,
        response::PULL_NOT_FOUND
            | response::PULL_RETRY_IMMEDIATELY
            | response::PULL_OFFSET_MOVED
            | response::QUERY_NOT_FOUND
            | response::CONSUMER_NOT_ONLINE
            | response::SUBSCRIPTION_NOT_LATEST
            | response::FILTER_DATA_NOT_LATEST
    ) || (request_code == request::GET_ROUTEINFO_BY_TOPIC && code == response::TOPIC_NOT_EXIST)
}

/// The topic and group a request names, from its header fields (SEND_MESSAGE_V2 and
/// SEND_BATCH_MESSAGE use one-letter names: `a` producer group, `b` topic).
pub fn topic_and_group(req: &RemotingCommand) -> (Option<&str>, Option<&str>) {
    if matches!(
        req.code,
        request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE
    ) {
        return (req.ext("b"), req.ext("a"));
    }
    let topic = req.ext("topic").or_else(|| req.ext("originTopic"));
    let group = ["consumerGroup", "producerGroup", "group", "groupName"]
        .into_iter()
        .find_map(|k| req.ext(k));
    (topic, group)
}

/// What [`log_answer`] needs of the request, taken before the request moves into its handler.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub code: i32,
    pub topic: Option<String>,
    pub group: Option<String>,
}

impl RequestFacts {
    pub fn of(req: &RemotingCommand) -> Self {
        let (topic, group) = topic_and_group(req);
        RequestFacts {
            code: req.code,
            topic: topic.map(str::to_owned),
            group: group.map(str::to_owned),
        }
    }
}

/// Logs `answer` to the request `facts` describe, from `client`, if it is a refusal and its
/// kind is under the rate limit.
pub fn log_answer(facts: &RequestFacts, client: SocketAddr, answer: &RemotingCommand) {
    let code = answer.code;
    if code == response::SUCCESS {
        return;
    }
    let routine = routine(facts.code, code);
    if routine && !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    // Codes a client sent that nothing handles are one kind, so they cannot grow the table.
    let request_kind = if code == response::REQUEST_CODE_NOT_SUPPORTED {
        -1
    } else {
        facts.code
    };
    let suppressed = match LIMITER.lock() {
        Ok(mut l) => l.admit((request_kind, code), Instant::now()),
        Err(poisoned) => poisoned
            .into_inner()
            .admit((request_kind, code), Instant::now()),
    };
    let Some(suppressed) = suppressed else {
        return;
    };
    let request = request_name(facts.code).unwrap_or("unknown");
    let response = response_name(code).unwrap_or("unknown");
    let topic = facts.topic.as_deref().unwrap_or("-");
    let group = facts.group.as_deref().unwrap_or("-");
    let remark = answer.remark.as_deref().unwrap_or("");
    if routine {
        tracing::debug!(%client, request, request_code = facts.code, topic, group, code = response, remark, "request answered without a result");
    } else {
        tracing::warn!(%client, request, request_code = facts.code, topic, group, code = response, remark, suppressed, "request refused");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storm_logs_a_bounded_number_of_lines_and_counts_the_rest() {
        let mut l = RateLimiter::default();
        let t0 = Instant::now();
        let kind = (request::SEND_MESSAGE_V2, response::NO_PERMISSION);
        let logged = (0..10_000).filter(|_| l.admit(kind, t0).is_some()).count();
        assert_eq!(logged, LINES_PER_WINDOW as usize);
        // Another kind is not starved by the storm.
        assert_eq!(
            l.admit((request::PULL_MESSAGE, response::NO_PERMISSION), t0),
            Some(0)
        );
        // The next window logs again and says how many were dropped.
        let later = t0 + WINDOW;
        assert_eq!(l.admit(kind, later), Some(10_000 - LINES_PER_WINDOW as u64));
        assert_eq!(l.admit(kind, later), Some(0));
    }

    #[test]
    fn the_kind_table_is_bounded() {
        let mut l = RateLimiter::default();
        let t0 = Instant::now();
        for code in 0..(MAX_KINDS as i32 * 4) {
            l.admit((code, response::SYSTEM_ERROR), t0);
        }
        assert!(l.kinds.len() <= MAX_KINDS + 1);
    }

    #[test]
    fn topic_and_group_come_from_the_headers_rocketmq_uses() {
        let mut v2 = RemotingCommand::request(request::SEND_MESSAGE_V2);
        v2.put_ext("a", "PG");
        v2.put_ext("b", "T");
        assert_eq!(topic_and_group(&v2), (Some("T"), Some("PG")));
        let mut pull = RemotingCommand::request(request::PULL_MESSAGE);
        pull.put_ext("consumerGroup", "CG");
        pull.put_ext("topic", "T");
        assert_eq!(topic_and_group(&pull), (Some("T"), Some("CG")));
        let mut back = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK);
        back.put_ext("group", "CG");
        back.put_ext("originTopic", "T");
        assert_eq!(topic_and_group(&back), (Some("T"), Some("CG")));
    }

    #[test]
    fn routine_answers_are_not_refusals() {
        assert!(routine(request::PULL_MESSAGE, response::PULL_NOT_FOUND));
        assert!(routine(
            request::GET_ROUTEINFO_BY_TOPIC,
            response::TOPIC_NOT_EXIST
        ));
        assert!(!routine(
            request::SEND_MESSAGE_V2,
            response::TOPIC_NOT_EXIST
        ));
        assert!(!routine(request::SEND_MESSAGE_V2, response::NO_PERMISSION));
    }
}
