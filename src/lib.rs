//! Ferrocket: a message broker wire-compatible with Apache RocketMQ (4.9.8, and 5.x where
//! noted), built as a tree of actix actors, with a Rust client and a load generator.
//!
//! # Map of the crate
//!
//! Four layers; each depends only on the ones above it in this list.
//!
//! - [`protocol`]: wire formats with no I/O. Frames, `RemotingCommand` (JSON and ROCKETMQ
//!   headers), request and response codes (`protocol/code.rs`), typed headers, JSON bodies
//!   with fastjson's quirks, the message formats (`protocol/message/`: the stored record
//!   that is also the PULL body, properties and tag codes, message ids, batch bodies),
//!   flags and permissions (`protocol/flag.rs`), topic rules (`protocol/topic.rs`) and
//!   SQL92 message selectors (`protocol/filter/`).
//! - [`store`]: the storage engine, plain Rust with no actors, in RocketMQ's on-disk
//!   layout: mapped files, the commit log, consume queues, the index, checkpoint and
//!   recovery, group commit (`store/group_commit.rs`), the timer store (`store/timer/`), and
//!   the delay-level and transaction rewrites (`store/schedule.rs`, `store/transaction.rs`).
//! - [`actors`]: thin actix shells around protocol and store: the runtime (supervision,
//!   bounded mailboxes, metrics and its HTTP endpoint), the remoting server, the name
//!   server (`actors/namesrv/`) and the broker (`actors/broker/`, grouped by role:
//!   `store/` the store's actors, `meta/` topics, groups, offsets, clients, locks and
//!   consumer filters, `features/` long polling, delay levels, transactions and the timer
//!   wheel, `processor/` one file per request family; replication will sit in `ha/`
//!   beside them).
//! - [`client`]: the Rust client (producer, transactional producer, push and lite-pull
//!   consumers, admin) over [`remoting_client`], the plain-tokio remoting client the
//!   broker also uses to reach name servers.
//!
//! Around them: [`app`] (what the binaries in `src/bin/` share: logging, config files,
//! signals; `ferrocket` runs a name server and a broker in one process, `mqnamesrv` and
//! `mqbroker` one each), [`admin`] (`mqadmin`, RocketMQ's admin sub-commands), [`console`] (the web console on the
//! metrics address, over `admin`'s functions), [`bench`] (`mqbench`, the load generator), [`json_file`]
//! (metadata files written whole with a `.bak`), [`clock`] and the fuzz entry points.
//!
//! Cargo features: `broker` (default) builds everything; `--no-default-features
//! --features client` builds `protocol`, `remoting_client` and `client` alone, without
//! actix, actix-web or memmap2.
//!
//! # Where to look
//!
//! | RocketMQ concept | module |
//! | --- | --- |
//! | name server expires brokers silent for 120 s (`scanNotActiveBroker`) | `actors/namesrv/route_info_manager.rs` (timer) → `RouteTable::expired_brokers` in `actors/namesrv/route_table.rs` |
//! | REGISTER_BROKER, GET_ROUTEINFO_BY_TOPIC and the other name-server codes | `actors/namesrv/processor/` |
//! | the broker registering every 30 s | `actors/broker/registrar.rs` |
//! | SEND_MESSAGE, batches, retries to %RETRY%/%DLQ% | `actors/broker/processor/send.rs` |
//! | where a pull waits (long polling, `PullRequestHoldService`) | `actors/broker/features/pull_hold.rs`, woken by `actors/broker/store/reput_dispatcher.rs` |
//! | SYNC_FLUSH group commit (`GroupCommitService`) | `store/group_commit.rs`, started by `actors/broker/store/flush_service.rs` |
//! | the one commit-log writer, queue offsets | `actors/broker/store/commit_log_writer.rs` over `store/commit_log.rs` |
//! | consume queue, index file (`ConsumeQueue`, `IndexService`) | `store/consume_queue.rs`, `store/index.rs`; their actors in `actors/broker/store/` |
//! | the stored record layout, `MessageDecoder` | `protocol/message/record.rs` |
//! | delay levels (`ScheduleMessageService`), timer wheel | `store/schedule.rs` (rewrites) + `actors/broker/features/schedule.rs` (ScheduleService); `store/timer/` (rewrite, wheel, timer log, checkpoint, `TimerStore`) + `actors/broker/features/timer.rs` |
//! | transactions (half messages, check-back) | `store/transaction.rs` (rewrites), `actors/broker/features/transaction.rs` (TransactionChecker), `actors/broker/processor/transaction.rs` (END_TRANSACTION) |
//! | add a request code | the constant in `protocol/code.rs`, a plain `async fn` handler in the family's file under `actors/broker/processor/` (or `actors/namesrv/processor/`), and one `.on(code, handler)` line in that directory's `mod.rs` `registry()`; `actors/dispatch.rs` adapts it and refuses a code registered twice at start |
//! | SQL92 filtering (`ConsumerFilterManager`, `ExpressionMessageFilter`) | `protocol/filter/` (the language), `actors/broker/meta/consumer_filter.rs`, `actors/broker/processor/pull.rs` |
//! | `SendMessageHook`, `ConsumeMessageHook`, broker-side extensions | `actors/broker/plugins/` (docs/plugins.md); trace (`TraceDataEncoder`'s format) in `plugins/trace.rs` |
//! | an error becoming a response code | `actors/error.rs` |
//! | metrics names, `/metrics`, `/actors` | `actors/metrics.rs`, `actors/http.rs` |
//! | the web console (rocketmq-dashboard's pages) and its `/api/` | `console/` (`api.rs`, `sampler.rs`, `assets/`) |

#[cfg(feature = "broker")]
pub mod actors;
#[cfg(feature = "broker")]
pub mod admin;
#[cfg(feature = "broker")]
pub mod app;
#[cfg(feature = "broker")]
pub mod bench;
#[cfg(feature = "client")]
pub mod client;
pub mod clock;
#[cfg(feature = "broker")]
pub mod console;
#[cfg(feature = "broker")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "client")]
pub mod json_file;
pub mod protocol;
#[cfg(feature = "client")]
pub mod remoting_client;
#[cfg(feature = "broker")]
pub mod store;
