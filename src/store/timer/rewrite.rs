//! The timer's two message rewrites, plain functions over messages: on the put path,
//! [`to_timer_topic`] moves a message with `TIMER_DELAY_SEC`, `TIMER_DELAY_MS` or
//! `TIMER_DELIVER_MS` due in the future to `rmq_sys_wheel_timer` (Java's
//! `HookUtils.handleScheduleMessage`, timer half); at delivery, [`messages_for`] reads a due
//! slot's units from the commit log, drops the delete markers and the records they cancel,
//! and [`from_timer_topic`] turns each record back into a message for its real topic (or
//! back onto the timer topic, to roll).

use std::collections::HashSet;

use super::timer_log::{TimerUnit, MAGIC_DELETE};
use crate::protocol::flag::sysflag;
use crate::protocol::message::{
    decode_properties, decode_record_shared, encode_properties, property, MessageToStore,
    StoredMessage,
};
pub use crate::protocol::topic::TIMER_TOPIC;
use crate::store::commit_log::CommitLogReader;

/// The timer properties (`MessageConst.PROPERTY_TIMER_*`).
pub mod prop {
    pub const DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const OUT_MS: &str = "TIMER_OUT_MS";
    pub const ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    pub const DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    pub const ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    pub const DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
}

/// Why a put with timer properties is refused; the text is Java's remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimerRefusal {
    /// MESSAGE_ILLEGAL (WHEEL_TIMER_MSG_ILLEGAL in Java).
    #[error("timer message illegal, the delay time should not be bigger than the max delay {max_delay_ms}ms; or if set del msg, the delay time should be bigger than the current time")]
    Illegal { max_delay_ms: i64 },
    /// SYSTEM_ERROR (WHEEL_TIMER_NOT_ENABLE).
    #[error("accurate timer message is not enabled, timerWheelEnable is false")]
    NotEnabled,
}

/// What the put path needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct TimerRules {
    pub enabled: bool,
    pub max_delay_ms: i64,
    pub precision_ms: i64,
}

/// Java's rounding of a future delivery time: down to the precision, and an exact
/// multiple one step earlier, so that a slot delivered once `now ≥ slot + precision` is
/// never early.
pub fn round_deliver_ms(deliver_ms: i64, precision_ms: i64) -> i64 {
    if deliver_ms % precision_ms == 0 {
        deliver_ms - precision_ms
    } else {
        deliver_ms / precision_ms * precision_ms
    }
}

/// Rewrites a timer message to the timer topic (Java's `HookUtils.handleScheduleMessage`
/// timer half). Returns whether it was rewritten. A message with a delay level keeps the
/// level and loses its timer properties; prepared and rolled-back transaction records, the
/// timer topic itself (rolled messages) and records that already carry `TIMER_OUT_MS`
/// (delivered ones) are left alone.
pub fn to_timer_topic(
    msg: &mut MessageToStore,
    rules: &TimerRules,
    now: i64,
) -> Result<bool, TimerRefusal> {
    let tran = sysflag::transaction_value(msg.sys_flag);
    if tran != sysflag::TRANSACTION_NOT_TYPE && tran != sysflag::TRANSACTION_COMMIT_TYPE {
        return Ok(false);
    }
    let timer_keys = [prop::DELAY_SEC, prop::DELAY_MS, prop::DELIVER_MS];
    let first_timer = timer_keys
        .iter()
        .find_map(|k| property(&msg.properties, k).map(|v| (*k, v.to_owned())));
    let Some((key, value)) = first_timer else {
        return Ok(false);
    };
    if msg.topic == TIMER_TOPIC {
        return Ok(false);
    }
    let level = property(&msg.properties, "DELAY")
        .and_then(|d| d.trim().parse::<i32>().ok())
        .unwrap_or(0);
    if level > 0 {
        let props: Vec<(String, String)> = decode_properties(&msg.properties)
            .into_iter()
            .filter(|(k, _)| !timer_keys.contains(&k.as_str()))
            .collect();
        msg.properties = encode_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        return Ok(false);
    }
    if property(&msg.properties, prop::OUT_MS).is_some() {
        return Ok(false);
    }
    if !rules.enabled {
        return Err(TimerRefusal::NotEnabled);
    }
    let illegal = TimerRefusal::Illegal {
        max_delay_ms: rules.max_delay_ms,
    };
    let parsed = value.parse::<i64>().map_err(|_| illegal.clone())?;
    let deliver = match key {
        prop::DELAY_SEC => parsed.checked_mul(1000).and_then(|d| now.checked_add(d)),
        prop::DELAY_MS => now.checked_add(parsed),
        _ => Some(parsed),
    }
    .ok_or_else(|| illegal.clone())?;
    if deliver <= now {
        if property(&msg.properties, prop::DEL_UNIQKEY).is_some() {
            return Err(illegal);
        }
        return Ok(false);
    }
    if deliver - now > rules.max_delay_ms {
        return Err(illegal);
    }
    let out = round_deliver_ms(deliver, rules.precision_ms);
    let mut props: Vec<(String, String)> = decode_properties(&msg.properties)
        .into_iter()
        .filter(|(k, _)| k != prop::OUT_MS && k != "REAL_TOPIC" && k != "REAL_QID")
        .collect();
    props.push((prop::OUT_MS.into(), out.to_string()));
    props.push(("REAL_TOPIC".into(), std::mem::take(&mut msg.topic)));
    props.push(("REAL_QID".into(), msg.queue_id.to_string()));
    msg.properties = encode_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    msg.topic = TIMER_TOPIC.to_owned();
    msg.queue_id = 0;
    Ok(true)
}

/// The message a due timer record becomes (Java's `convert` + `convertMessage`): with
/// `roll`, the same record back on the timer topic with `TIMER_ROLL_TIMES` + 1; otherwise
/// its real topic and queue. Both get `TIMER_ENQUEUE_MS` (when known) and
/// `TIMER_DEQUEUE_MS`. Java computes the stored property string before it clears
/// `REAL_TOPIC`/`REAL_QID`, so they stay in the stored record, and so they do here.
/// `None` for a record without a usable `REAL_TOPIC`/`REAL_QID` and for delete markers,
/// which Java never delivers.
pub fn from_timer_topic(
    m: &StoredMessage,
    roll: bool,
    enqueue_ms: Option<i64>,
    now: i64,
) -> Option<MessageToStore> {
    if !roll && m.property(prop::DEL_UNIQKEY).is_some() {
        return None;
    }
    let (topic, queue_id) = if roll {
        (m.topic.clone(), m.queue_id)
    } else {
        let topic = m.property("REAL_TOPIC").filter(|t| !t.is_empty())?;
        let qid = m.property("REAL_QID")?.parse::<i32>().ok()?;
        (topic.to_owned(), qid)
    };
    let rolls = m
        .property(prop::ROLL_TIMES)
        .and_then(|r| r.parse::<i32>().ok())
        .unwrap_or(0);
    let mut msg = MessageToStore::from_stored(m);
    msg.topic = topic;
    msg.queue_id = queue_id;
    let (enqueue, rolled, dequeue) = (
        enqueue_ms.map(|e| e.to_string()),
        rolls.saturating_add(1).to_string(),
        now.to_string(),
    );
    let mut set = Vec::with_capacity(3);
    if let Some(e) = &enqueue {
        set.push((prop::ENQUEUE_MS, e.as_str()));
    }
    if roll {
        set.push((prop::ROLL_TIMES, rolled.as_str()));
    }
    set.push((prop::DEQUEUE_MS, dequeue.as_str()));
    msg.edit_properties(&[], &set);
    Some(msg)
}

/// The key a delete marker names its message by: the real topic and the message's
/// UNIQ_KEY (Java's `TimerMessageStore.buildDeleteKey`).
pub fn build_delete_key(real_topic: &str, uniq_key: &str) -> String {
    format!("{real_topic}+{uniq_key}")
}

/// Whether a unit is a delete marker to apply, not a record to deliver (Java's
/// `needDelete && !needRoll`: a parked marker rolls like any record).
fn is_delete_marker(u: &TimerUnit) -> bool {
    u.magic & MAGIC_DELETE != 0 && !u.is_roll()
}

fn read_unit_record(u: &TimerUnit, commit_log: &CommitLogReader) -> Option<StoredMessage> {
    let raw = commit_log.read_record(u.offset_py)?;
    decode_record_shared(&raw)
        .inspect_err(|e| tracing::warn!(offset = u.offset_py, error = %e, "undecodable timer record not delivered"))
        .ok()
}

/// The messages to re-store for one slot's due units, read from the commit log: delivered
/// on their real topic, or rolled back onto the timer topic. As in Java's dequeue, the
/// slot's delete markers are read first and every other record whose
/// [`build_delete_key`] (its `REAL_TOPIC`, its `UNIQ_KEY`) one of them names is dropped,
/// as are the markers themselves. Units whose record is gone or unusable are skipped with
/// a warning.
pub fn messages_for(
    units: &[TimerUnit],
    commit_log: &CommitLogReader,
    now: i64,
) -> Vec<MessageToStore> {
    let cancelled: HashSet<String> = units
        .iter()
        .filter(|u| is_delete_marker(u))
        .filter_map(|u| {
            read_unit_record(u, commit_log)?
                .property(prop::DEL_UNIQKEY)
                .map(str::to_owned)
        })
        .collect();
    units
        .iter()
        .filter_map(|u| {
            let m = read_unit_record(u, commit_log)?;
            if !cancelled.is_empty() && !is_delete_marker(u) {
                let key = m
                    .property("REAL_TOPIC")
                    .zip(m.property("UNIQ_KEY"))
                    .map(|(topic, uniq)| build_delete_key(topic, uniq));
                if key.is_some_and(|k| cancelled.contains(&k)) {
                    tracing::debug!(
                        offset = u.offset_py,
                        "timer message cancelled by a delete marker"
                    );
                    return None;
                }
            }
            let out = from_timer_topic(&m, u.is_roll(), Some(u.enqueue_ms), now);
            if out.is_none() {
                tracing::debug!(
                    offset = u.offset_py,
                    "timer record dropped at delivery (delete marker or no REAL_TOPIC)"
                );
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::TimerStore;
    use super::*;
    use crate::store::commit_log::{CommitLog, CommitLogConfig};

    #[test]
    fn a_future_timer_moves_to_the_timer_topic_with_its_rounded_time_and_destination() {
        let mut m = msg(&[(prop::DELAY_MS, "3500"), ("TAGS", "a")], 0);
        assert_eq!(to_timer_topic(&mut m, &rules(), NOW), Ok(true));
        assert_eq!((m.topic.as_str(), m.queue_id), (TIMER_TOPIC, 0));
        // 1_700_000_003_800 rounds down to the second.
        assert_eq!(property(&m.properties, prop::OUT_MS), Some("1700000003000"));
        assert_eq!(property(&m.properties, "REAL_TOPIC"), Some("TopicTest"));
        assert_eq!(property(&m.properties, "REAL_QID"), Some("3"));
        assert_eq!(property(&m.properties, "TAGS"), Some("a"));
    }

    #[test]
    fn exact_multiples_of_the_precision_round_one_step_down_like_java() {
        assert_eq!(round_deliver_ms(5_000, 1000), 4_000);
        assert_eq!(round_deliver_ms(5_001, 1000), 5_000);
        assert_eq!(round_deliver_ms(5_999, 1000), 5_000);
        assert_eq!(round_deliver_ms(1_250, 100), 1_200);
        assert_eq!(round_deliver_ms(1_300, 100), 1_200);
        let mut m = msg(&[(prop::DELIVER_MS, "1700000010000")], 0);
        to_timer_topic(&mut m, &rules(), NOW).unwrap();
        assert_eq!(property(&m.properties, prop::OUT_MS), Some("1700000009000"));
    }

    #[test]
    fn delay_sec_wins_over_delay_ms_which_wins_over_deliver_ms() {
        let mut m = msg(
            &[
                (prop::DELIVER_MS, "1700000100000"),
                (prop::DELAY_MS, "20000"),
                (prop::DELAY_SEC, "10"),
            ],
            0,
        );
        to_timer_topic(&mut m, &rules(), NOW).unwrap();
        assert_eq!(property(&m.properties, prop::OUT_MS), Some("1700000010000"));
        let mut m = msg(
            &[
                (prop::DELIVER_MS, "1700000100000"),
                (prop::DELAY_MS, "20000"),
            ],
            0,
        );
        to_timer_topic(&mut m, &rules(), NOW).unwrap();
        assert_eq!(property(&m.properties, prop::OUT_MS), Some("1700000020000"));
    }

    #[test]
    fn unparsable_overflowing_and_too_long_timers_are_illegal() {
        let illegal = Err(TimerRefusal::Illegal {
            max_delay_ms: 259_200_000,
        });
        for (k, v) in [
            (prop::DELAY_SEC, "soon"),
            (prop::DELAY_MS, " 5"),
            (prop::DELIVER_MS, "1.5e12"),
            (prop::DELAY_SEC, "9223372036854775807"),
            (prop::DELAY_MS, "9223372036854775807"),
            (prop::DELAY_SEC, "259201"),
            (prop::DELAY_MS, "259200001"),
        ] {
            let mut m = msg(&[(k, v)], 0);
            assert_eq!(to_timer_topic(&mut m, &rules(), NOW), illegal, "{k}={v}");
            assert_eq!(m.topic, "TopicTest", "{k}={v} left unchanged");
        }
        let mut exactly_max = msg(&[(prop::DELAY_SEC, "259200")], 0);
        assert_eq!(to_timer_topic(&mut exactly_max, &rules(), NOW), Ok(true));
        let text = TimerRefusal::Illegal {
            max_delay_ms: 259_200_000,
        }
        .to_string();
        assert!(text.starts_with("timer message illegal, the delay time should not be bigger than the max delay 259200000ms"), "{text}");
    }

    #[test]
    fn past_times_stay_normal_messages_unless_they_delete() {
        for v in ["0", "-5"] {
            let mut m = msg(&[(prop::DELAY_MS, v)], 0);
            assert_eq!(to_timer_topic(&mut m, &rules(), NOW), Ok(false));
            assert_eq!(m.topic, "TopicTest");
        }
        let mut m = msg(&[(prop::DELIVER_MS, "1000")], 0);
        assert_eq!(to_timer_topic(&mut m, &rules(), NOW), Ok(false));
        let mut del = msg(&[(prop::DELIVER_MS, "1000"), (prop::DEL_UNIQKEY, "k")], 0);
        assert!(to_timer_topic(&mut del, &rules(), NOW).is_err());
    }

    #[test]
    fn a_delay_level_wins_and_the_timer_properties_are_dropped() {
        let mut m = msg(&[("DELAY", "3"), (prop::DELAY_SEC, "10"), ("TAGS", "t")], 0);
        assert_eq!(to_timer_topic(&mut m, &rules(), NOW), Ok(false));
        assert_eq!(m.topic, "TopicTest");
        assert_eq!(property(&m.properties, prop::DELAY_SEC), None);
        assert_eq!(property(&m.properties, "DELAY"), Some("3"));
        assert_eq!(property(&m.properties, "TAGS"), Some("t"));
        // A level that is not a positive number is no level (Java reads level 0).
        let mut zero = msg(&[("DELAY", "0"), (prop::DELAY_SEC, "10")], 0);
        assert_eq!(to_timer_topic(&mut zero, &rules(), NOW), Ok(true));
    }

    #[test]
    fn transactions_rolled_and_delivered_records_and_a_disabled_wheel() {
        for flag in [
            sysflag::TRANSACTION_PREPARED_TYPE,
            sysflag::TRANSACTION_ROLLBACK_TYPE,
        ] {
            let mut m = msg(&[(prop::DELAY_SEC, "10")], flag);
            assert_eq!(to_timer_topic(&mut m, &rules(), NOW), Ok(false));
        }
        let mut commit = msg(&[(prop::DELAY_SEC, "10")], sysflag::TRANSACTION_COMMIT_TYPE);
        assert_eq!(to_timer_topic(&mut commit, &rules(), NOW), Ok(true));
        // Rolled back onto the timer topic, and delivered with TIMER_OUT_MS: left alone.
        let mut again = commit.clone();
        assert_eq!(to_timer_topic(&mut again, &rules(), NOW), Ok(false));
        let mut delivered = msg(&[(prop::DELAY_SEC, "10"), (prop::OUT_MS, "1")], 0);
        assert_eq!(to_timer_topic(&mut delivered, &rules(), NOW), Ok(false));
        let off = TimerRules {
            enabled: false,
            ..rules()
        };
        let mut m = msg(&[(prop::DELAY_SEC, "10")], 0);
        assert_eq!(
            to_timer_topic(&mut m, &off, NOW),
            Err(TimerRefusal::NotEnabled)
        );
    }

    #[test]
    fn a_due_record_goes_back_to_its_real_topic_and_a_parked_one_rolls() {
        let mut m = msg(&[(prop::DELAY_SEC, "10"), ("TAGS", "a")], 0);
        to_timer_topic(&mut m, &rules(), NOW).unwrap();
        let s = stored(&m);
        let out = from_timer_topic(&s, false, Some(7), 9).unwrap();
        assert_eq!((out.topic.as_str(), out.queue_id), ("TopicTest", 3));
        assert_eq!(property(&out.properties, prop::ENQUEUE_MS), Some("7"));
        assert_eq!(property(&out.properties, prop::DEQUEUE_MS), Some("9"));
        assert_eq!(property(&out.properties, "TAGS"), Some("a"));
        assert!(
            property(&out.properties, prop::OUT_MS).is_some(),
            "kept: marks it delivered"
        );
        let rolled = from_timer_topic(&s, true, Some(7), 9).unwrap();
        assert_eq!((rolled.topic.as_str(), rolled.queue_id), (TIMER_TOPIC, 0));
        assert_eq!(property(&rolled.properties, prop::ROLL_TIMES), Some("1"));
        let twice = from_timer_topic(&stored(&rolled), true, None, 10).unwrap();
        assert_eq!(property(&twice.properties, prop::ROLL_TIMES), Some("2"));
        assert_eq!(property(&twice.properties, prop::ENQUEUE_MS), Some("7"));
        let mut del = msg(&[(prop::DELAY_SEC, "10"), (prop::DEL_UNIQKEY, "k")], 0);
        to_timer_topic(&mut del, &rules(), NOW).unwrap();
        assert!(from_timer_topic(&stored(&del), false, None, 1).is_none());
    }

    #[test]
    fn a_delete_marker_cancels_the_message_it_names_in_its_slot_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let mut cl = CommitLog::open(
            &dir.path().join("cl"),
            CommitLogConfig {
                file_size: 64 * 1024,
                max_message_size: 1024,
            },
        )
        .unwrap();
        let base = NOW / 1000 * 1000;
        let deliver = (base + 3_500).to_string();
        let timer = |uniq: &str, extra: &[(&str, &str)]| {
            let mut props = vec![(prop::DELIVER_MS, deliver.as_str()), ("UNIQ_KEY", uniq)];
            props.extend_from_slice(extra);
            let mut m = msg(&props, 0);
            assert_eq!(to_timer_topic(&mut m, &rules(), NOW), Ok(true));
            m
        };
        let cancel_a = build_delete_key("TopicTest", "A");
        assert_eq!(cancel_a, "TopicTest+A", "Java's buildDeleteKey");
        let other_topic_a = build_delete_key("Elsewhere", "B");
        let records = [
            timer("A", &[]),
            timer("B", &[]),
            // Markers as Java's RecallMessageProcessor builds them: UNIQ_KEY is the target's.
            timer("A", &[(prop::DEL_UNIQKEY, cancel_a.as_str())]),
            timer("B", &[(prop::DEL_UNIQKEY, other_topic_a.as_str())]),
        ];
        let mut t = TimerStore::open(dir.path(), config(64, 32), &cl.reader(), NOW).unwrap();
        for m in &records {
            let at = cl.append(std::slice::from_ref(m), NOW).unwrap();
            let delete = property(&m.properties, prop::DEL_UNIQKEY).is_some();
            let size = m.encoded_len() as i32;
            t.enqueue(
                at.wrote_offset,
                size,
                base + 3_000,
                "TopicTest",
                delete,
                NOW,
            )
            .unwrap();
        }
        assert_eq!(
            t.wheel().slot(base + 3_000).num,
            0,
            "markers count down, like Java"
        );
        let (_, units) = t.next_due(base + 4_000, 100).unwrap();
        assert_eq!(units.len(), 4);
        let out = messages_for(&units, &cl.reader(), base + 4_000);
        let uniq: Vec<_> = out
            .iter()
            .map(|m| {
                (
                    m.topic.as_str(),
                    property(&m.properties, "UNIQ_KEY").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            uniq,
            vec![("TopicTest", "B")],
            "A is cancelled; B's marker names another topic"
        );
        // Without its marker, A is delivered.
        let out = messages_for(&units[..2], &cl.reader(), base + 4_000);
        assert_eq!(out.len(), 2);
    }
}
