//! The message property string (reference §4.4): `name 0x01 value 0x02` pairs, decoded
//! with the quirks of Java's `MessageDecoder.string2messageProperties`; the property names
//! of `MessageConst`; and Java's `String.hashCode`, which turns the `TAGS` property into
//! the consume-queue tag code (and the real topic into the timer log's topic hash).

use std::collections::HashMap;

pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Separates the business keys inside the `KEYS` property.
pub const KEY_SEPARATOR: &str = " ";

/// Property names from `MessageConst` (HEAD; the 4.9.8 set is a subset).
pub mod property {
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT: &str = "WAIT";
    pub const DELAY: &str = "DELAY";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QID: &str = "REAL_QID";
    pub const TRAN_MSG: &str = "TRAN_MSG";
    pub const PGROUP: &str = "PGROUP";
    /// Added by the Java client from the pull response; never stored.
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// Added by the Java client from the pull response; never stored.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const BUYER_ID: &str = "BUYER_ID";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
    pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
    pub const MQ2_FLAG: &str = "MQ2_FLAG";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_ON: &str = "TRACE_ON";
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    pub const INNER_NUM: &str = "INNER_NUM";
    pub const INNER_BASE: &str = "INNER_BASE";
    pub const DUP_INFO: &str = "DUP_INFO";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    /// In `MessageConst` since 5.x; 4.9.8 producers write the same literal.
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    pub const TTL: &str = "TTL";
    pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
    pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    pub const CLUSTER: &str = "CLUSTER";
    pub const MSG_TYPE: &str = "MSG_TYPE";
    pub const POP_CK: &str = "POP_CK";
    pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
    pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
    pub const REDIRECT: &str = "REDIRECT";
    pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
    pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
    pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
    pub const BORN_HOST: &str = "__BORNHOST";
    pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
    /// 5.x `enabledAppendPropCRC`: the last 20 property bytes carry a record CRC.
    pub const CRC32: &str = "__CRC32#";
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
    /// Properties whose name starts with this are never written to disk.
    pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
    pub const TRANSIENT_TOPIC_CONFIG: &str = "__RMQ.TRANSIENT.TOPIC_SYS_FLAG";
    pub const TRANSIENT_GROUP_CONFIG: &str = "__RMQ.TRANSIENT.GROUP_SYS_FLAG";
}

/// Java `String.hashCode()`: `Σ s[i]·31^(n−1−i)` over UTF-16 code units, wrapping.
/// (Go clients hash UTF-8 bytes instead; they agree only for ASCII.)
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Consume-queue tag code of an encoded property string: the Java hash of `TAGS`,
/// sign-extended, or 0 when there is no non-empty tag. For [`SCHEDULE_TOPIC`](crate::protocol::topic::SCHEDULE_TOPIC) the broker
/// stores the delivery time instead; that needs the delay-level table, so callers do it.
pub fn tags_code_from(properties: &str) -> i64 {
    match property(properties, property::TAGS) {
        Some(tags) => i64::from(java_string_hash(tags)),
        None => 0,
    }
}

// ---------------------------------------------------------------------------------------
// Properties (§4.4)
// ---------------------------------------------------------------------------------------

/// The accepted `(name, value)` pairs of an encoded property string, in order, duplicates
/// included; the rules are on [`decode_properties`].
fn property_pairs(raw: &str) -> impl Iterator<Item = (&str, &str)> {
    raw.split(PROPERTY_SEPARATOR).filter_map(|chunk| {
        let sep = chunk.find(NAME_VALUE_SEPARATOR)?;
        if sep == 0 || sep + 1 >= chunk.len() {
            return None;
        }
        Some((&chunk[..sep], &chunk[sep + 1..]))
    })
}

/// Decodes a property string like Java's `MessageDecoder.string2messageProperties`:
/// split on 0x02; a chunk counts only if its first 0x01 has at least one byte before and
/// after it, so empty names, empty values and chunks without 0x01 are dropped; the value
/// runs to the end of the chunk and may contain 0x01; a later duplicate overwrites an
/// earlier one. Pairs come back in first-seen name order, each with its last value.
pub fn decode_properties(s: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (name, value) in property_pairs(s) {
        match index.get(name) {
            Some(&i) => {
                if let Some(slot) = out.get_mut(i) {
                    slot.1 = value.to_owned();
                }
            }
            None => {
                index.insert(name, out.len());
                out.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    out
}

/// Encodes properties as `name 0x01 value 0x02` for each pair, last pair included.
pub fn encode_properties<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (name, value) in props {
        out.push_str(name);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(value);
        out.push(PROPERTY_SEPARATOR);
    }
    out
}

/// The value of `key` in an encoded property string, found without allocating and by the
/// rules of [`decode_properties`] (the last accepted duplicate wins).
///
/// The send path and the dispatcher look up a dozen properties per message, so this is a
/// byte scan rather than [`property_pairs`]' char searches (it was 1,600 instructions a
/// lookup, a sixth of the broker's user-space work per send): a chunk matches when it
/// starts with `key` followed by 0x01, which is then its first 0x01 because a name never
/// holds one.
pub fn property<'a>(raw: &'a str, key: &str) -> Option<&'a str> {
    let name = key.as_bytes();
    if name.is_empty() || name.iter().any(|&b| b == 1 || b == 2) {
        // No accepted name is empty or holds a separator: such a key never matches.
        return None;
    }
    let bytes = raw.as_bytes();
    let mut found = None;
    let mut start = 0;
    while start <= bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == 2)
            .map_or(bytes.len(), |i| start + i);
        let chunk = &bytes[start..end];
        if chunk.len() > name.len() + 1 && chunk.starts_with(name) && chunk[name.len()] == 1 {
            // Both ends sit next to an ASCII separator (or the string's end): char
            // boundaries.
            found = raw.get(start + name.len() + 1..end);
        }
        start = end + 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_string_hash_code() {
        assert_eq!(java_string_hash("TagA"), 2598919);
        assert_eq!(java_string_hash("TagB"), 2598920);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("*"), 42);
        assert_eq!(java_string_hash("中文"), 646394);
        assert_eq!(java_string_hash("TopicTest#KEY1"), -1656969516);
        // 标 U+6807, 签 U+7B7E: 0x6807 * 31 + 0x7B7E.
        assert_eq!(java_string_hash("标签"), 26631 * 31 + 31614);
        assert_eq!(java_string_hash("标签"), 857175);
        // 😀 is the surrogate pair D83D DE00; then 'a'.
        assert_eq!(java_string_hash("😀a"), (55357 * 31 + 56832) * 31 + 97);
        assert_eq!(java_string_hash("😀a"), 54959966);
    }

    #[test]
    fn tag_code_is_the_sign_extended_hash_or_zero() {
        assert_eq!(
            tags_code_from(&encode_properties([(property::TAGS, "TagA")])),
            2598919
        );
        let negative = encode_properties([(property::TAGS, "TopicTest#KEY1")]);
        assert_eq!(tags_code_from(&negative), -1656969516i64);
        assert_eq!(tags_code_from(""), 0);
        assert_eq!(tags_code_from("TAGS\u{1}\u{2}"), 0);
    }

    #[test]
    fn property_decoding_follows_java_quirks() {
        // Empty key, empty value, no separator, and a lone separator are all dropped.
        let raw = "\u{1}v\u{2}k\u{1}\u{2}novalue\u{2}\u{2}A\u{1}1\u{2}";
        assert_eq!(
            decode_properties(raw),
            vec![("A".to_owned(), "1".to_owned())]
        );
        // Duplicates: later wins, position of first occurrence kept; an invalid later
        // duplicate does not overwrite.
        let raw = "A\u{1}1\u{2}B\u{1}2\u{2}A\u{1}3\u{2}B\u{1}\u{2}";
        assert_eq!(
            decode_properties(raw),
            vec![
                ("A".to_owned(), "3".to_owned()),
                ("B".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(property(raw, "A"), Some("3"));
        assert_eq!(property(raw, "B"), Some("2"));
        assert_eq!(property(raw, "C"), None);
        // No trailing separator: the last chunk still counts; doubled trailing is harmless.
        assert_eq!(property("A\u{1}1\u{2}B\u{1}2", "B"), Some("2"));
        assert_eq!(property("A\u{1}1\u{2}\u{2}", "A"), Some("1"));
        // The first 0x01 splits; the value keeps later ones.
        assert_eq!(property("K\u{1}a\u{1}b\u{2}", "K"), Some("a\u{1}b"));
        // A chunk whose only 0x01 is its last character has an empty value.
        assert_eq!(property("K\u{1}\u{2}", "K"), None);
        assert_eq!(decode_properties(""), vec![]);
        // Non-ASCII survives.
        assert_eq!(property("标签\u{1}值\u{2}", "标签"), Some("值"));
    }

    proptest::proptest! {
        /// The byte scan finds what the pair rules of `decode_properties` accept, for any
        /// string over a small alphabet with both separators, and any key.
        #[test]
        fn property_scan_agrees_with_the_pair_rules(
            raw in "[ab\u{1}\u{2}é]{0,24}",
            key in "[ab\u{1}\u{2}é]{0,3}",
        ) {
            let by_pairs = property_pairs(&raw)
                .filter(|(name, _)| *name == key)
                .map(|(_, value)| value)
                .last();
            proptest::prop_assert_eq!(property(&raw, &key), by_pairs);
        }
    }

    #[test]
    fn encoded_properties_terminate_every_pair() {
        let raw = encode_properties([("A", "1"), ("B", "2")]);
        assert_eq!(raw, "A\u{1}1\u{2}B\u{1}2\u{2}");
        assert_eq!(
            decode_properties(&raw),
            vec![
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "2".to_owned())
            ]
        );
    }
}
