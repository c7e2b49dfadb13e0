//! Broker features built on the store: long polling ([`pull_hold`], where a PULL with no
//! new message waits), delay levels ([`schedule`], SCHEDULE_TOPIC_XXXX), transactions
//! ([`transaction`], half messages and the check-back loop) and the timer wheel
//! ([`timer`], 5.x `TIMER_DELIVER_MS`); [`redeliver`] is the put-and-retry policy the
//! timer and the delay levels share when due messages go back to their topic. The record
//! rewrites they apply are plain code in `crate::store`; these modules hold the actors
//! that drive them.

pub mod pull_hold;
pub mod redeliver;
pub mod schedule;
pub mod timer;
pub mod transaction;
