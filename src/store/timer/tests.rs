//! Unit tests of the timer rewrite, wheel, log and checkpoint.

use std::net::SocketAddr;

use super::*;
use crate::store::commit_log::{CommitLog, CommitLogConfig};

const NOW: i64 = 1_700_000_000_300;

fn rules() -> TimerRules {
    TimerRules {
        enabled: true,
        max_delay_ms: 259_200_000,
        precision_ms: 1000,
    }
}

fn msg(props: &[(&str, &str)], sys_flag: i32) -> MessageToStore {
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    MessageToStore {
        sys_flag,
        born_timestamp: 1,
        born_host: host,
        store_host: host,
        ..MessageToStore::new(
            "TopicTest",
            3,
            bytes::Bytes::from_static(b"x"),
            encode_properties(props.iter().copied()),
        )
    }
}

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

fn stored(m: &MessageToStore) -> StoredMessage {
    let mut buf = vec![0u8; m.encoded_len()];
    m.encode_into(&mut buf, 0, 0, NOW).unwrap();
    crate::protocol::message::decode_record(&buf).unwrap()
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
fn units_slots_and_checkpoints_use_javas_byte_layout() {
    let u = TimerUnit {
        prev_pos: 104,
        magic: MAGIC_DEFAULT | MAGIC_ROLL,
        enqueue_ms: 1_000,
        delay_ms: 5_000,
        offset_py: 4096,
        size_py: 200,
        topic_hash: java_string_hash("TopicTest"),
    };
    let mut b = [0u8; UNIT_SIZE];
    u.encode(&mut b);
    assert_eq!(&b[0..4], &52i32.to_be_bytes());
    assert_eq!(&b[4..12], &104i64.to_be_bytes());
    assert_eq!(&b[28..36], &4096i64.to_be_bytes());
    assert_eq!(TimerUnit::decode(&b), Some(u));
    assert_eq!(u.delayed_ms(), 6_000);
    // "TopicTest".hashCode() in Java.
    assert_eq!(java_string_hash("TopicTest"), -1_902_610_879);
    assert_eq!(java_string_hash("a"), 97);
    assert_eq!(java_string_hash("ab"), 97 * 31 + 98);
    assert_eq!(BLANK_MAGIC_CODE, (0xBBCCDDEEu32 as i32) ^ 1_880_681_594);
    let ck = TimerCheckpoint {
        last_read_time_ms: 1,
        last_timer_log_flush_pos: 2,
        last_timer_queue_offset: 3,
        master_timer_queue_offset: 4,
        state_version: 5,
        timestamp: 6,
        counter: 7,
    };
    let e = ck.encode();
    assert_eq!(&e[16..24], &3i64.to_be_bytes());
    assert_eq!(TimerCheckpoint::decode(&e), Some(ck));
    let old = TimerCheckpoint::decode(&e[..32]).unwrap();
    assert_eq!((old.master_timer_queue_offset, old.counter), (4, 0));
    assert_eq!(TimerCheckpoint::decode(&e[..31]), None);
}

fn config(slots: usize, window: i64) -> TimerStoreConfig {
    TimerStoreConfig {
        precision_ms: 1000,
        roll_window_slots: window,
        slots_total: slots,
        timer_log_file_size: 10 * UNIT_SIZE + MIN_BLANK_LEN,
    }
}

fn empty_commit_log(dir: &Path) -> CommitLogReader {
    CommitLog::open(
        dir,
        CommitLogConfig {
            file_size: 4096,
            max_message_size: 1024,
        },
    )
    .unwrap()
    .reader()
}

#[test]
fn timers_come_due_slot_by_slot_in_time_then_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_commit_log(&dir.path().join("cl"));
    let mut t = TimerStore::open(dir.path(), config(64, 32), &log, NOW).unwrap();
    let base = NOW / 1000 * 1000;
    for (i, at) in [3_000, 1_000, 3_000, 2_000, 3_500].iter().enumerate() {
        let r = t
            .enqueue(i as i64 * 100, 10, base + at, "T", false, NOW)
            .unwrap();
        assert_eq!(r, Enqueued::Linked(base + at / 1000 * 1000));
    }
    assert_eq!(t.wheel().slot(base + 3_000).num, 3);
    assert_eq!(t.wheel().all_num(base), 5);
    assert_eq!(
        t.next_due(base + 999, 100),
        None,
        "nothing due before its slot ends"
    );
    let mut order = Vec::new();
    let mut slots = Vec::new();
    let mut now = base;
    while now <= base + 5_000 {
        while let Some((slot, units)) = t.next_due(now, 100) {
            slots.push(slot - base);
            order.extend(units.iter().map(|u| u.offset_py));
            t.advance_past(slot);
        }
        now += 250;
    }
    assert_eq!(slots, vec![1_000, 2_000, 3_000]);
    assert_eq!(order, vec![100, 300, 0, 200, 400]);
    // A record whose slot has passed is due at once, unlinked.
    assert!(matches!(
        t.enqueue(900, 10, base + 1_500, "T", false, now).unwrap(),
        Enqueued::DueNow(u) if u.offset_py == 900
    ));
}

#[test]
fn delays_past_the_roll_window_are_parked_and_marked_to_roll() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_commit_log(&dir.path().join("cl"));
    let mut t = TimerStore::open(dir.path(), config(64, 6), &log, NOW).unwrap();
    let base = NOW / 1000 * 1000;
    // 20 s is past the 6-slot window: parked at the window's end.
    assert_eq!(
        t.enqueue(1, 1, base + 20_000, "T", false, NOW).unwrap(),
        Enqueued::Linked(base + 6_000)
    );
    // 7 s overshoots the window by less than a third of it: parked at half the window.
    assert_eq!(
        t.enqueue(2, 1, base + 7_000, "T", false, NOW).unwrap(),
        Enqueued::Linked(base + 3_000)
    );
    assert_eq!(
        t.enqueue(3, 1, base + 5_000, "T", false, NOW).unwrap(),
        Enqueued::Linked(base + 5_000)
    );
    let mut seen = Vec::new();
    for s in 1..=7 {
        while let Some((slot, units)) = t.next_due(base + s * 1000, 100) {
            seen.extend(units.iter().map(|u| (u.offset_py, u.is_roll())));
            t.advance_past(slot);
        }
    }
    assert_eq!(seen, vec![(2, true), (3, false), (1, true)]);
}

#[test]
fn the_wheel_ring_reuses_an_index_without_mixing_up_times() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_commit_log(&dir.path().join("cl"));
    let mut t = TimerStore::open(dir.path(), config(4, 3), &log, NOW).unwrap();
    let base = NOW / 1000 * 1000;
    t.enqueue(1, 1, base + 1_000, "T", false, NOW).unwrap();
    // 8 slots in the file: base + 9 s has the same index as base + 1 s.
    assert_eq!(t.wheel().slot(base + 9_000), Slot::BLANK);
    assert_eq!(t.wheel().raw_slot(base + 9_000).time_ms, base + 1_000);
}

#[test]
fn pending_timers_and_progress_survive_a_reopen_and_a_torn_tail_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_commit_log(&dir.path().join("cl"));
    let base = NOW / 1000 * 1000;
    {
        let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW).unwrap();
        // 25 units over three 10-unit files: blanks fill each file's end.
        for i in 0..25 {
            t.enqueue(i, 1, base + 2_000 + (i % 3) * 1000, "T", false, NOW)
                .unwrap();
        }
        let (slot, units) = t.next_due(base + 3_000, 100).unwrap();
        assert_eq!(units.len(), 9);
        t.advance_past(slot);
        t.flush(NOW).unwrap();
        assert_eq!(
            t.log_end(),
            2 * (10 * UNIT_SIZE + MIN_BLANK_LEN) as i64 + 5 * UNIT_SIZE as i64
        );
    }
    let ck = TimerCheckpoint::load(&dir.path().join("config/timercheck"))
        .unwrap()
        .unwrap();
    assert_eq!(ck.last_read_time_ms, base + 3_000);
    assert_eq!(
        std::fs::metadata(dir.path().join("config/timercheck"))
            .unwrap()
            .len(),
        4096
    );
    // Garbage after the last unit (a torn write) is not a unit.
    let last_file = dir
        .path()
        .join("timerlog")
        .join(crate::store::mapped_file::file_name(
            2 * (10 * UNIT_SIZE + MIN_BLANK_LEN) as i64,
        ));
    {
        use std::os::unix::fs::FileExt;
        let f = OpenOptions::new().write(true).open(&last_file).unwrap();
        f.write_all_at(&[0, 0, 0, 52, 9, 9, 9], 5 * UNIT_SIZE as u64)
            .unwrap();
    }
    let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW + 10_000).unwrap();
    assert_eq!(t.read_time_ms(), base + 3_000, "resumes where it stopped");
    let mut rest = Vec::new();
    while let Some((slot, units)) = t.next_due(NOW + 10_000, 100) {
        rest.extend(units.iter().map(|u| u.offset_py));
        t.advance_past(slot);
    }
    rest.sort();
    let expected: Vec<i64> = (0..25).filter(|i| i % 3 != 0).collect();
    assert_eq!(rest, expected, "the undelivered slots, each unit once");
    // Appending resumes after the last good unit.
    let before = t.log_end();
    t.enqueue(99, 1, NOW + 20_000, "T", false, NOW + 10_000)
        .unwrap();
    assert_eq!(t.log_end(), before + UNIT_SIZE as i64);
}

#[test]
fn a_wheel_file_of_another_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("timerwheel"), [0u8; 100]).unwrap();
    assert!(matches!(
        TimerWheel::open(&dir.path().join("timerwheel"), 4, 1000),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn log_entries_decode_only_when_well_formed() {
    assert_eq!(decode_entry(&[0u8; 52], 100), LogEntry::End);
    let mut blank = [0u8; 16];
    blank[0..4].copy_from_slice(&40i32.to_be_bytes());
    blank[12..16].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
    assert_eq!(decode_entry(&blank, 40), LogEntry::Blank(40));
    assert_eq!(
        decode_entry(&blank, 41),
        LogEntry::End,
        "a blank fills exactly to the end"
    );
    let mut b = [0u8; UNIT_SIZE];
    TimerUnit {
        prev_pos: -1,
        magic: 1,
        enqueue_ms: 0,
        delay_ms: 0,
        offset_py: 0,
        size_py: 0,
        topic_hash: 0,
    }
    .encode(&mut b);
    assert!(matches!(decode_entry(&b, 52), LogEntry::Unit(_)));
    assert_eq!(decode_entry(&b, 51), LogEntry::End);
    b[15] = 9;
    assert_eq!(decode_entry(&b, 52), LogEntry::End, "unknown magic bits");
}

/// The timer-log files on disk below `end` (past it: the file prepared ahead).
fn timer_log_files(root: &Path, end: i64) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("timerlog"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| crate::store::mapped_file::parse_file_name(n).is_some_and(|o| o < end))
        .collect();
    names.sort();
    names
}

/// Bytes of one timer-log file of [`config`]: ten units and the closing filler.
const FILE: i64 = (10 * UNIT_SIZE + MIN_BLANK_LEN) as i64;

/// Links a unit for each commit-log offset in `offsets`, due at `due(offset)`.
fn link(t: &mut TimerStore, offsets: std::ops::Range<i64>, now: i64, due: impl Fn(i64) -> i64) {
    for i in offsets {
        t.enqueue(i, 1, due(i), "T", false, now).unwrap();
    }
}

fn deliver_until(t: &mut TimerStore, now: i64) -> Vec<i64> {
    let mut got = Vec::new();
    while let Some((slot, units)) = t.next_due(now, 1_000) {
        got.extend(units.iter().map(|u| u.offset_py));
        t.advance_past(slot);
    }
    got
}

#[test]
fn timer_log_files_go_once_their_timers_are_delivered_and_checkpointed() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_commit_log(&dir.path().join("cl"));
    let base = NOW / 1000 * 1000;
    let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW).unwrap();
    // Three files of ten units; unit 3 (first file) waits longer than the rest.
    link(&mut t, 0..25, NOW, |i| match i {
        3 => base + 6_000,
        _ => base + 1_000 + (i / 10) * 1000,
    });
    assert_eq!(timer_log_files(dir.path(), t.log_end()).len(), 3);
    assert_eq!(deliver_until(&mut t, base + 4_000).len(), 24);
    assert_eq!(
        t.delete_delivered_files(16, 1).unwrap(),
        0,
        "nothing goes before a checkpoint names the delivery"
    );
    t.flush(NOW).unwrap();
    assert_eq!(
        t.delete_delivered_files(16, 1).unwrap(),
        0,
        "the first file still holds a pending unit, and files go from the front"
    );
    assert_eq!(deliver_until(&mut t, base + 7_000), vec![3]);
    t.flush(NOW).unwrap();
    assert_eq!(t.delete_delivered_files(16, 1).unwrap(), 2);
    assert_eq!(
        timer_log_files(dir.path(), t.log_end()),
        vec![crate::store::mapped_file::file_name(2 * FILE)],
        "the newest file stays"
    );
    assert_eq!(t.log_start(), 2 * FILE);
}

#[test]
fn a_file_with_a_pending_unit_is_kept_across_a_reopen_and_goes_once_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_commit_log(&dir.path().join("cl"));
    let base = NOW / 1000 * 1000;
    {
        let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW).unwrap();
        // Two full files and five units in the third; the second file's last unit waits.
        link(&mut t, 0..25, NOW, |i| match i {
            19 => base + 9_000,
            _ => base + 1_000,
        });
        deliver_until(&mut t, base + 3_000);
        t.flush(NOW).unwrap();
        assert_eq!(t.delete_delivered_files(16, 1).unwrap(), 1);
    }
    assert_eq!(timer_log_files(dir.path(), i64::MAX).len(), 2);
    // Reopened with the first file gone: files found at open are scanned, one a pass.
    let now = NOW + 3_000;
    let mut t = TimerStore::open(dir.path(), config(128, 32), &log, now).unwrap();
    assert_eq!(t.log_start(), FILE);
    assert_eq!(t.read_time_ms(), base + 3_000);
    // The third file, partly written before the reopen, fills up and rolls.
    link(&mut t, 25..35, now, |_| base + 5_000);
    assert_eq!(timer_log_files(dir.path(), t.log_end()).len(), 3);
    assert_eq!(deliver_until(&mut t, base + 6_000).len(), 10);
    t.flush(now).unwrap();
    assert_eq!(
        t.delete_delivered_files(16, 0).unwrap(),
        0,
        "a file found at open is not deleted unscanned"
    );
    assert_eq!(t.delete_delivered_files(16, 2).unwrap(), 0, "unit 19 waits");
    assert_eq!(deliver_until(&mut t, base + 10_000), vec![19]);
    t.flush(now).unwrap();
    assert_eq!(t.delete_delivered_files(16, 2).unwrap(), 2);
    assert_eq!(t.log_start(), 3 * FILE);
    drop(t);
    let mut t = TimerStore::open(dir.path(), config(128, 32), &log, NOW + 10_000).unwrap();
    assert_eq!(t.log_start(), 3 * FILE);
    let end = t.log_end();
    t.enqueue(99, 1, base + 12_000, "T", false, NOW + 10_000)
        .unwrap();
    assert_eq!(
        t.log_end(),
        end + UNIT_SIZE as i64,
        "appends resume at the end"
    );
    assert_eq!(deliver_until(&mut t, base + 13_000), vec![99]);
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

#[test]
fn the_deletion_scan_reads_units_to_the_filler_and_refuses_anything_else() {
    let unit = |enqueue_ms: i64, delay_ms: i32| {
        let mut b = [0u8; UNIT_SIZE];
        TimerUnit {
            prev_pos: -1,
            magic: MAGIC_DEFAULT,
            enqueue_ms,
            delay_ms,
            offset_py: 0,
            size_py: 1,
            topic_hash: 0,
        }
        .encode(&mut b);
        b
    };
    let mut file = Vec::new();
    file.extend_from_slice(&unit(1_000, 5_000));
    file.extend_from_slice(&unit(2_000, 500));
    let mut blank = [0u8; MIN_BLANK_LEN];
    blank[0..4].copy_from_slice(&(MIN_BLANK_LEN as i32).to_be_bytes());
    blank[12..16].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
    file.extend_from_slice(&blank);
    assert_eq!(latest_due(&file), Some(6_000));
    assert_eq!(latest_due(&file[..2 * UNIT_SIZE]), Some(6_000), "no filler");
    assert_eq!(latest_due(&[]), Some(i64::MIN), "no units");
    file[UNIT_SIZE] = 9;
    assert_eq!(latest_due(&file), None, "a damaged unit keeps the file");
}
