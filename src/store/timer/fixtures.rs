//! What the timer's unit tests share: a fixed clock reading, the put rules, a message with
//! given properties and its stored form, a small store configuration and an empty commit
//! log.

use std::net::SocketAddr;
use std::path::Path;

use super::timer_log::{MIN_BLANK_LEN, UNIT_SIZE};
use super::{TimerRules, TimerStoreConfig};
use crate::protocol::message::{encode_properties, MessageToStore, StoredMessage};
use crate::store::commit_log::{CommitLog, CommitLogConfig, CommitLogReader};

pub(super) const NOW: i64 = 1_700_000_000_300;

pub(super) fn rules() -> TimerRules {
    TimerRules {
        enabled: true,
        max_delay_ms: 259_200_000,
        precision_ms: 1000,
    }
}

pub(super) fn msg(props: &[(&str, &str)], sys_flag: i32) -> MessageToStore {
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

pub(super) fn stored(m: &MessageToStore) -> StoredMessage {
    let mut buf = vec![0u8; m.encoded_len()];
    m.encode_into(&mut buf, 0, 0, NOW).unwrap();
    crate::protocol::message::decode_record(&buf).unwrap()
}

pub(super) fn config(slots: usize, window: i64) -> TimerStoreConfig {
    TimerStoreConfig {
        precision_ms: 1000,
        roll_window_slots: window,
        slots_total: slots,
        timer_log_file_size: 10 * UNIT_SIZE + MIN_BLANK_LEN,
    }
}

pub(super) fn empty_commit_log(dir: &Path) -> CommitLogReader {
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
