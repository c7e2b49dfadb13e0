//! The transaction rewrites, plain functions over messages (RocketMQ's
//! `TransactionalMessageBridge` and `EndTransactionProcessor`): a half message (`TRAN_MSG`
//! = true, [`is_half`]) is moved to `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 with its real
//! destination recorded ([`to_half_topic`]); a commit stores [`committed_message`] on the
//! real topic; either outcome is an [`op_message`] in `RMQ_SYS_TRANS_OP_HALF_TOPIC` whose
//! body [`op_offsets`] reads back. END_TRANSACTION (`actors/broker/processor/transaction.rs`)
//! and the TransactionChecker actor (`actors/broker/features/transaction.rs`) apply them.

use crate::clock::now_millis;
use crate::protocol::flag::sysflag;
use crate::protocol::message::{encode_properties, property, MessageToStore, StoredMessage};
use crate::protocol::topic::{TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};

/// Tag of op messages ("remove").
pub const REMOVE_TAG: &str = "d";

/// Whether a send is a half message.
pub fn is_half(properties: &str) -> bool {
    property(properties, "TRAN_MSG") == Some("true")
}

/// Rewrites a half message to `RMQ_SYS_TRANS_HALF_TOPIC` queue 0
/// (`TransactionalMessageBridge.parseHalfMessageInner`).
pub fn to_half_topic(msg: &mut MessageToStore) {
    let uniq = property(&msg.properties, "UNIQ_KEY")
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    let (real_topic, real_qid) = (std::mem::take(&mut msg.topic), msg.queue_id.to_string());
    let mut set = vec![("REAL_TOPIC", real_topic.as_str()), ("REAL_QID", &real_qid)];
    if let Some(u) = &uniq {
        set.insert(0, ("__transactionId__", u));
    }
    msg.edit_properties(&[], &set);
    msg.sys_flag = sysflag::reset_transaction_value(msg.sys_flag, sysflag::TRANSACTION_NOT_TYPE);
    msg.topic = TRANS_HALF_TOPIC.to_owned();
    msg.queue_id = 0;
}

/// The half's real destination, `None` when it lacks `REAL_TOPIC`.
pub fn real_destination(half: &StoredMessage) -> Option<(String, i32)> {
    let topic = half.property("REAL_TOPIC")?.to_owned();
    let queue = half
        .property("REAL_QID")
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    Some((topic, queue))
}

/// What a committed half becomes on its real topic (`EndTransactionProcessor
/// .endMessageTransaction`): commit type, the half's physical offset as the prepared
/// transaction offset, `REAL_TOPIC`/`REAL_QID`/`TRAN_MSG` removed.
pub fn committed_message(half: &StoredMessage) -> Option<MessageToStore> {
    let (topic, queue_id) = real_destination(half)?;
    let mut msg = MessageToStore::from_stored(half);
    msg.topic = topic;
    msg.queue_id = queue_id;
    msg.sys_flag = sysflag::reset_transaction_value(msg.sys_flag, sysflag::TRANSACTION_COMMIT_TYPE);
    msg.prepared_transaction_offset = half.physical_offset;
    msg.edit_properties(&["REAL_TOPIC", "REAL_QID", "TRAN_MSG"], &[]);
    Some(msg)
}

/// The record that marks the half at `half_offset` of half queue `queue_id` finished.
pub fn op_message(
    queue_id: i32,
    half_offset: i64,
    store_host: std::net::SocketAddr,
) -> MessageToStore {
    MessageToStore {
        topic: TRANS_OP_HALF_TOPIC.to_owned(),
        queue_id,
        flag: 0,
        body: bytes::Bytes::from(half_offset.to_string()),
        properties: encode_properties([("TAGS", REMOVE_TAG)]),
        sys_flag: 0,
        born_timestamp: now_millis(),
        born_host: store_host,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// The half queue offsets an op message body names: one decimal (4.9) or several, each
/// followed by `,` (5.x). Anything unreadable is ignored.
pub fn op_offsets(body: &[u8]) -> Vec<i64> {
    std::str::from_utf8(body)
        .unwrap_or("")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// Halves and their stored form, for the tests here and the checker's.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::SocketAddr;

    pub(crate) fn host() -> SocketAddr {
        "127.0.0.1:10911".parse().unwrap()
    }

    pub(crate) fn half(props: &str) -> MessageToStore {
        MessageToStore {
            topic: "TopicTx".into(),
            queue_id: 2,
            flag: 0,
            body: bytes::Bytes::from_static(b"tx"),
            properties: props.into(),
            sys_flag: sysflag::TRANSACTION_PREPARED_TYPE,
            born_timestamp: 1,
            born_host: host(),
            store_host: host(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }

    pub(crate) fn stored(m: &MessageToStore, queue_offset: i64, phys: i64) -> StoredMessage {
        let mut buf = vec![0u8; m.encoded_len()];
        m.encode_into(&mut buf, queue_offset, phys, 5).unwrap();
        crate::protocol::message::decode_record(&buf).unwrap()
    }

    #[test]
    fn a_half_goes_to_the_half_topic_with_its_destination_and_no_transaction_type() {
        let props = encode_properties([("TRAN_MSG", "true"), ("PGROUP", "pg"), ("UNIQ_KEY", "U1")]);
        assert!(is_half(&props));
        let mut m = half(&props);
        to_half_topic(&mut m);
        assert_eq!((m.topic.as_str(), m.queue_id), (TRANS_HALF_TOPIC, 0));
        assert_eq!(sysflag::transaction_value(m.sys_flag), 0);
        assert_eq!(property(&m.properties, "REAL_TOPIC"), Some("TopicTx"));
        assert_eq!(property(&m.properties, "REAL_QID"), Some("2"));
        assert_eq!(property(&m.properties, "__transactionId__"), Some("U1"));
        assert_eq!(property(&m.properties, "PGROUP"), Some("pg"));
        assert!(!is_half(&encode_properties([("TRAN_MSG", "false")])));
    }

    #[test]
    fn a_committed_half_returns_to_its_topic_as_a_commit_record() {
        let mut m = half(&encode_properties([("TRAN_MSG", "true"), ("KEYS", "k")]));
        to_half_topic(&mut m);
        let s = stored(&m, 7, 4096);
        let c = committed_message(&s).unwrap();
        assert_eq!((c.topic.as_str(), c.queue_id), ("TopicTx", 2));
        assert_eq!(
            sysflag::transaction_value(c.sys_flag),
            sysflag::TRANSACTION_COMMIT_TYPE
        );
        assert_eq!(c.prepared_transaction_offset, 4096);
        for gone in ["REAL_TOPIC", "REAL_QID", "TRAN_MSG"] {
            assert_eq!(property(&c.properties, gone), None, "{gone}");
        }
        assert_eq!(property(&c.properties, "KEYS"), Some("k"));
        let mut no_dest = half("");
        no_dest.topic = TRANS_HALF_TOPIC.into();
        assert!(committed_message(&stored(&no_dest, 0, 0)).is_none());
    }

    #[test]
    fn op_bodies_of_both_versions_are_read_and_garbage_is_ignored() {
        assert_eq!(op_offsets(b"42"), vec![42]);
        assert_eq!(op_offsets(b"1,2,3,"), vec![1, 2, 3]);
        assert!(op_offsets(b"\xff\xfe").is_empty());
        assert!(op_offsets(b"x,").is_empty());
        let op = op_message(0, 9, host());
        assert_eq!(op_offsets(&op.body), vec![9]);
        assert_eq!(property(&op.properties, "TAGS"), Some("d"));
    }
}
