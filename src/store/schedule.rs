//! The delay-level rewrites, plain functions over messages (RocketMQ 4.x's
//! `ScheduleMessageService` and the put path's half of it in `CommitLog`): a put with
//! `DELAY` = n moves to `SCHEDULE_TOPIC_XXXX` queue n − 1 with `REAL_TOPIC`/`REAL_QID`
//! ([`to_schedule_topic`]), and a due record goes back to its real topic and queue without
//! `DELAY` ([`from_schedule_topic`]). The ScheduleService actor
//! (`actors/broker/features/schedule.rs`) decides when a record is due.

use crate::protocol::flag::sysflag;
use crate::protocol::message::{property, MessageToStore, StoredMessage};
use crate::protocol::topic::SCHEDULE_TOPIC;

/// Rewrites a message with a delay level to the schedule topic, as Java's
/// `CommitLog.asyncPutMessage` does; `levels` is the number of configured delay levels.
/// Returns whether it was rewritten.
pub fn to_schedule_topic(msg: &mut MessageToStore, levels: usize) -> bool {
    let tran = sysflag::transaction_value(msg.sys_flag);
    if tran != sysflag::TRANSACTION_NOT_TYPE && tran != sysflag::TRANSACTION_COMMIT_TYPE {
        return false;
    }
    let Some(level) = property(&msg.properties, "DELAY").and_then(|d| d.trim().parse::<i32>().ok())
    else {
        return false;
    };
    if level <= 0 || levels == 0 || msg.topic == SCHEDULE_TOPIC {
        return false;
    }
    let level = level.min(levels as i32);
    let (real_topic, real_qid) = (std::mem::take(&mut msg.topic), msg.queue_id.to_string());
    msg.edit_properties(
        &[],
        &[
            ("DELAY", &level.to_string()),
            ("REAL_TOPIC", &real_topic),
            ("REAL_QID", &real_qid),
        ],
    );
    msg.topic = SCHEDULE_TOPIC.to_owned();
    msg.queue_id = level - 1;
    true
}

/// The message a due scheduled record becomes: its real topic and queue, `DELAY` removed
/// (Java's `messageTimeup`). `None` when the record lacks `REAL_TOPIC`.
pub fn from_schedule_topic(m: &StoredMessage) -> Option<MessageToStore> {
    let topic = m.property("REAL_TOPIC")?.to_owned();
    let queue_id = m
        .property("REAL_QID")
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    let mut msg = MessageToStore::from_stored(m);
    msg.topic = topic;
    msg.queue_id = queue_id;
    msg.edit_properties(&["DELAY"], &[]);
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::encode_properties;
    use std::net::SocketAddr;

    fn msg(props: &str, sys_flag: i32) -> MessageToStore {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        MessageToStore {
            topic: "TopicTest".into(),
            queue_id: 3,
            flag: 0,
            body: bytes::Bytes::from_static(b"x"),
            properties: props.into(),
            sys_flag,
            born_timestamp: 1,
            born_host: host,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }

    #[test]
    fn a_delayed_put_moves_to_its_levels_queue_with_the_real_destination() {
        let mut m = msg(&encode_properties([("DELAY", "2"), ("TAGS", "a")]), 0);
        assert!(to_schedule_topic(&mut m, 18));
        assert_eq!((m.topic.as_str(), m.queue_id), (SCHEDULE_TOPIC, 1));
        assert_eq!(property(&m.properties, "REAL_TOPIC"), Some("TopicTest"));
        assert_eq!(property(&m.properties, "REAL_QID"), Some("3"));
        assert_eq!(property(&m.properties, "TAGS"), Some("a"));
    }

    #[test]
    fn levels_past_the_last_are_capped_and_zero_prepared_or_rollback_stay_put() {
        let mut m = msg(&encode_properties([("DELAY", "40")]), 0);
        assert!(to_schedule_topic(&mut m, 18));
        assert_eq!(m.queue_id, 17);
        assert_eq!(property(&m.properties, "DELAY"), Some("18"));
        for (props, flag) in [
            (encode_properties([("DELAY", "0")]), 0),
            (encode_properties([("DELAY", "x")]), 0),
            (String::new(), 0),
            (
                encode_properties([("DELAY", "3")]),
                sysflag::TRANSACTION_PREPARED_TYPE,
            ),
            (
                encode_properties([("DELAY", "3")]),
                sysflag::TRANSACTION_ROLLBACK_TYPE,
            ),
        ] {
            let mut m = msg(&props, flag);
            assert!(!to_schedule_topic(&mut m, 18), "{props:?} {flag}");
            assert_eq!(m.topic, "TopicTest");
        }
        let mut committed = msg(
            &encode_properties([("DELAY", "1")]),
            sysflag::TRANSACTION_COMMIT_TYPE,
        );
        assert!(to_schedule_topic(&mut committed, 18));
    }
}
