//! The mailbox bound of every broker actor, each with what happens when it is full, so the
//! policy is read in one place rather than guessed from a literal at a start call. A full
//! mailbox refuses at once (`ActorError::MailboxFull`); the caller's policy follows. The
//! CommitLogWriter's bound is configurable (`writerMailboxCapacity`) because it is the
//! send path's backpressure.

/// Topic changes and auto-creations. Full: UPDATE_AND_CREATE_TOPIC, a send that would
/// auto-create and a heartbeat that creates a retry topic are answered SYSTEM_BUSY
/// (clients retry).
pub const TOPIC_CONFIG_MANAGER: usize = 10_000;
/// Subscription group changes and auto-creations. Full: SYSTEM_BUSY.
pub const SUBSCRIPTION_GROUP_MANAGER: usize = 10_000;
/// Shutdown persistence only (offsets are written by its own timer). Full: the shutdown
/// message is sent past the bound anyway.
pub const CONSUMER_OFFSET_MANAGER: usize = 16;
/// GET_ALL_DELAY_OFFSET and shutdown. Full: the admin query is answered SYSTEM_BUSY.
pub const SCHEDULE_SERVICE: usize = 16;
/// Shutdown persistence only. Full: as above.
pub const TIMER_WHEEL_SERVICE: usize = 16;
/// Heartbeats and unregistrations. Full: SYSTEM_BUSY (clients heartbeat again within
/// 30 s); connection-close cleanup goes past the bound (one per connection).
pub const CLIENT_MANAGER: usize = 10_000;
/// Parked long-polling pulls and arrival notices. Full: a pull that would park is
/// answered at once with what it found (PULL_NOT_FOUND), and the consumer pulls again.
pub const PULL_HOLD: usize = 100_000;
/// LOCK/UNLOCK_BATCH_MQ. Full: SYSTEM_BUSY; Java consumers lock again within 20 s.
pub const QUEUE_LOCK_MANAGER: usize = 10_000;
/// Shutdown only. Full: as above.
pub const TRANSACTION_CHECKER: usize = 16;
/// Topic-change notices and shutdown. Full: the change is registered by the next
/// periodic registration (every `registerNameServerPeriod`).
pub const REGISTRAR: usize = 1_024;
/// SYNC_FLUSH waits of the shutdown path. Full: SYSTEM_BUSY.
pub const FLUSH_SERVICE: usize = 100_000;
/// Key queries and index flushes. Full: QUERY_MESSAGE answers SYSTEM_BUSY; a flush is
/// tried again next checkpoint round.
pub const INDEX_SERVICE: usize = 1_024;
/// Dispatcher control (subscriptions, queue listings). Full: the cleaner's round skips
/// consume-queue correction until its next round.
pub const REPUT_DISPATCHER: usize = 1_024;
/// Units for one consume queue. The dispatcher sends past the bound only through
/// `addr().send` and awaits each round, so at most one round per queue is queued; the
/// cleaner's corrections are refused when full and retried next round.
pub const CONSUME_QUEUE: usize = 64;
/// Checkpoint requests (shutdown). Full: SYSTEM_BUSY to the caller.
pub const CHECKPOINT_KEEPER: usize = 16;
/// The cleaner takes no mailbox requests today beyond fault injection.
pub const FILE_CLEANER: usize = 16;
/// HAService: shutdown and panic injection only. Full: the shutdown closes connections
/// when the process ends instead.
pub const HA_SERVICE: usize = 16;
/// HAClient: shutdown only. Full: as above.
pub const HA_CLIENT: usize = 16;
/// SlaveSynchronize: shutdown only (it runs on its own timer). Full: as above.
pub const SLAVE_SYNCHRONIZE: usize = 16;
