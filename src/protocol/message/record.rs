//! One commit-log record in Apache RocketMQ's byte layout (reference §4), with no I/O.
//!
//! Data enters as a [`MessageToStore`] (what the broker hands the commit log) and leaves as
//! the exact bytes [`MessageToStore::encode_into`] writes into a mapped file. Bytes read
//! back leave as a [`StoredMessage`] ([`decode_record`], for PULL/QUERY/VIEW) or as a
//! [`DispatchInfo`] ([`check_record`], for recovery and consume-queue/index dispatch,
//! mirroring Java's `CommitLog.checkMessageAndReturnSize`). Around that sit the pieces
//! every record needs: the property string codec, Java's `String.hashCode` for tag codes,
//! host encoding, offset and client message ids, the end-of-file blank filler, and the
//! SEND_BATCH_MESSAGE body codec.
//!
//! Everything is big-endian. Decoders never panic and bound every length by the input.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};
use chrono::{Datelike, TimeZone};

use crate::store::error::StoreError;

/// Magic of a record whose topic length is one signed byte (every 4.x record).
pub const MESSAGE_MAGIC_CODE_V1: i32 = -626843481;
/// Magic of a record whose topic length is an i16 (5.1+, written for topics over 127 bytes).
pub const MESSAGE_MAGIC_CODE_V2: i32 = -626843477;
/// Magic of the end-of-file filler (§4.3).
pub const BLANK_MAGIC_CODE: i32 = -875286124;

/// Bytes of the end-of-file filler: a record only goes into a file if it leaves room for
/// one (Java `END_FILE_MIN_BLANK_LENGTH`).
pub const BLANK_FILLER_LEN: usize = 8;
/// The i16 properties length field caps the encoded properties.
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;
/// Longest topic a V1 record can hold; Java reads the length as a signed byte.
pub const MAX_TOPIC_LEN_V1: usize = i8::MAX as usize;
/// Longest topic a V2 record can hold.
pub const MAX_TOPIC_LEN_V2: usize = i16::MAX as usize;
/// Topic of delayed messages (`TopicValidator.RMQ_SYS_SCHEDULE_TOPIC`); its consume-queue
/// tag code is the delivery time, not a tag hash.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Separates the business keys inside the `KEYS` property.
pub const KEY_SEPARATOR: &str = " ";

/// Fields 1–14 (everything before the body length) except the two hosts.
const FIXED_PART_WITHOUT_HOSTS: usize = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 4 + 8;
/// Fields 1–14 with IPv4 hosts.
const FIXED_PART_V4: usize = FIXED_PART_WITHOUT_HOSTS + 8 + 8;
const QUEUE_OFFSET_POS: usize = 20;

/// `MessageSysFlag`: bits of the record's SYSFLAG field (§4.2).
pub mod sysflag {
    pub const COMPRESSED: i32 = 0x1;
    pub const MULTI_TAGS: i32 = 0x2;
    pub const TRANSACTION_NOT_TYPE: i32 = 0;
    pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
    pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
    pub const BORNHOST_V6_FLAG: i32 = 0x10;
    pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x20;
    pub const NEED_UNWRAP_FLAG: i32 = 0x40;
    pub const INNER_BATCH_FLAG: i32 = 0x80;
    pub const COMPRESSION_LZ4_TYPE: i32 = 0x100;
    pub const COMPRESSION_ZSTD_TYPE: i32 = 0x200;
    pub const COMPRESSION_ZLIB_TYPE: i32 = 0x300;
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

    /// The transaction type bits (one of the `TRANSACTION_*` values).
    pub fn transaction_value(sysflag: i32) -> i32 {
        sysflag & TRANSACTION_ROLLBACK_TYPE
    }

    /// `sysflag` with its transaction type replaced by `value`.
    pub fn reset_transaction_value(sysflag: i32, value: i32) -> i32 {
        (sysflag & !TRANSACTION_ROLLBACK_TYPE) | value
    }
}

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

// ---------------------------------------------------------------------------------------
// Java String.hashCode and tag codes
// ---------------------------------------------------------------------------------------

/// Java `String.hashCode()`: `Σ s[i]·31^(n−1−i)` over UTF-16 code units, wrapping.
/// (Go clients hash UTF-8 bytes instead; they agree only for ASCII.)
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Consume-queue tag code of an encoded property string: the Java hash of `TAGS`,
/// sign-extended, or 0 when there is no non-empty tag. For [`SCHEDULE_TOPIC`] the broker
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
pub fn property<'a>(raw: &'a str, key: &str) -> Option<&'a str> {
    property_pairs(raw)
        .filter(|(name, _)| *name == key)
        .map(|(_, value)| value)
        .last()
}

// ---------------------------------------------------------------------------------------
// Hosts (§4.5)
// ---------------------------------------------------------------------------------------

/// The address Java would see: `InetAddress` turns IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`, what a dual-stack Rust listener reports for IPv4 peers) into
/// `Inet4Address`, so RocketMQ writes them as 4-byte IPv4 hosts.
fn java_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn is_ipv6(addr: &SocketAddr) -> bool {
    java_ip(addr.ip()).is_ipv6()
}

/// Encoded length of a host: 8 for IPv4 (address + i32 port), 20 for IPv6.
pub fn host_len(addr: &SocketAddr) -> usize {
    if is_ipv6(addr) {
        20
    } else {
        8
    }
}

/// Writes the host as address bytes then the port as an i32 and returns the bytes written
/// (8 or 20). `buf` must hold [`host_len`] bytes; a shorter one is left untouched and 0 is
/// returned.
pub fn encode_host(addr: &SocketAddr, buf: &mut [u8]) -> usize {
    let port = i32::from(addr.port()).to_be_bytes();
    match java_ip(addr.ip()) {
        IpAddr::V4(ip) => match buf.get_mut(..8) {
            Some(dst) => {
                dst[..4].copy_from_slice(&ip.octets());
                dst[4..].copy_from_slice(&port);
                8
            }
            None => 0,
        },
        IpAddr::V6(ip) => match buf.get_mut(..20) {
            Some(dst) => {
                dst[..16].copy_from_slice(&ip.octets());
                dst[16..].copy_from_slice(&port);
                20
            }
            None => 0,
        },
    }
}

/// Reads a host written by [`encode_host`]: 4 (or, with `ipv6`, 16) address bytes and an
/// i32 port. Fails when `buf` is short or the port is outside 0..=65535 (Java's
/// `InetSocketAddress` throws there).
pub fn decode_host(buf: &[u8], ipv6: bool) -> Result<SocketAddr, StoreError> {
    let ip_len = if ipv6 { 16 } else { 4 };
    let mut r = Reader::new(buf);
    let ip_bytes = r
        .take(ip_len)
        .ok_or_else(|| corrupt("host address is truncated"))?;
    let port = r.i32().ok_or_else(|| corrupt("host port is truncated"))?;
    let port =
        u16::try_from(port).map_err(|_| corrupt(format!("host port {port} is out of range")))?;
    let ip = if let Ok(octets) = <[u8; 4]>::try_from(ip_bytes) {
        IpAddr::V4(Ipv4Addr::from(octets))
    } else if let Ok(octets) = <[u8; 16]>::try_from(ip_bytes) {
        IpAddr::V6(Ipv6Addr::from(octets))
    } else {
        return Err(corrupt("host address has a bad length"));
    };
    Ok(SocketAddr::new(java_ip(ip), port))
}

// ---------------------------------------------------------------------------------------
// Message ids (§4.6)
// ---------------------------------------------------------------------------------------

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 0x0F)]));
    }
}

fn hex_nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decodes hex in either case (Java upper-cases before decoding).
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let raw = s.as_bytes();
    if raw.len() % 2 != 0 {
        return None;
    }
    raw.chunks_exact(2)
        .map(|pair| Some(hex_nibble(pair[0])? << 4 | hex_nibble(pair[1])?))
        .collect()
}

/// The offset message id: store host address, i32 port and i64 commit-log offset as
/// uppercase hex; 32 characters for an IPv4 store host, 56 for IPv6.
pub fn offset_msg_id(store_host: &SocketAddr, physical_offset: i64) -> String {
    let mut raw = [0u8; 28];
    let host = encode_host(store_host, &mut raw);
    raw[host..host + 8].copy_from_slice(&physical_offset.to_be_bytes());
    let mut out = String::with_capacity((host + 8) * 2);
    push_hex(&mut out, &raw[..host + 8]);
    out
}

/// Parses an offset message id: IPv4 when it has 32 characters, IPv6 when it has 56.
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), StoreError> {
    let invalid = |why: &str| StoreError::InvalidMessage(format!("offset msg id {id:?}: {why}"));
    let ipv6 = match id.len() {
        32 => false,
        56 => true,
        _ => return Err(invalid("length is neither 32 nor 56")),
    };
    let raw = decode_hex(id).ok_or_else(|| invalid("not hex"))?;
    let host_end = if ipv6 { 20 } else { 8 };
    let host = decode_host(&raw[..host_end], ipv6).map_err(|_| invalid("port out of range"))?;
    let offset = Reader::new(&raw[host_end..])
        .i64()
        .ok_or_else(|| invalid("truncated"))?;
    Ok((host, offset))
}

/// Creates `UNIQ_KEY` values for messages that arrive without one, in the layout of Java's
/// `MessageClientIDSetter`: IP (4 or 16 bytes), pid (low 16 bits), a 4-byte per-process
/// constant (Java uses the class loader's hash code), milliseconds since the start of the
/// current month in **local** time (truncated to 32 bits, as Java's `(int)` cast does; it
/// wraps after ~24.8 days), and a 16-bit counter; uppercase hex, 32 or 56 characters.
///
/// Only uniqueness matters to brokers and clients; the time part is also what
/// `getNearlyTimeFromID` reads back. The month bounds are recomputed only when `now`
/// leaves the current month, so the local-zone lookup is rare.
#[derive(Debug, Clone)]
pub struct UniqIdGenerator {
    prefix: String,
    counter: u16,
    month_start: i64,
    next_month_start: i64,
}

impl UniqIdGenerator {
    /// A generator for this process: its pid and a random per-process constant.
    pub fn new(ip: IpAddr) -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        // Truncation intended: the constant is 4 bytes wide.
        let loader_hash = hasher.finish() as i32;
        // Java writes `(short) pid`.
        Self::with_identity(ip, std::process::id() as u16, loader_hash)
    }

    /// A generator with an explicit pid and per-process constant (tests, several brokers
    /// in one process).
    pub fn with_identity(ip: IpAddr, pid: u16, loader_hash: i32) -> Self {
        let mut prefix = String::with_capacity(56);
        match java_ip(ip) {
            IpAddr::V4(v4) => push_hex(&mut prefix, &v4.octets()),
            IpAddr::V6(v6) => push_hex(&mut prefix, &v6.octets()),
        }
        push_hex(&mut prefix, &pid.to_be_bytes());
        push_hex(&mut prefix, &loader_hash.to_be_bytes());
        UniqIdGenerator {
            prefix,
            counter: 0,
            month_start: 0,
            next_month_start: 0,
        }
    }

    /// The next id at wall-clock time `now_millis` (ms since the Unix epoch).
    pub fn next(&mut self, now_millis: i64) -> String {
        self.next_in(&chrono::Local, now_millis)
    }

    fn next_in<Tz: TimeZone>(&mut self, zone: &Tz, now_millis: i64) -> String {
        if now_millis < self.month_start || now_millis >= self.next_month_start {
            let (start, next) = month_window(zone, now_millis)
                .or_else(|| month_window(&chrono::Utc, now_millis))
                .unwrap_or((now_millis, now_millis.saturating_add(1)));
            self.month_start = start;
            self.next_month_start = next;
        }
        // Truncation intended, as in Java's `(int) (current - startTime)`.
        let since_month_start = now_millis.wrapping_sub(self.month_start) as u32;
        let mut id = String::with_capacity(self.prefix.len() + 12);
        id.push_str(&self.prefix);
        push_hex(&mut id, &since_month_start.to_be_bytes());
        push_hex(&mut id, &self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        id
    }
}

/// Epoch milliseconds of the first instant of `now`'s month and of the next month in
/// `zone`; `None` outside chrono's calendar range or when midnight of the 1st does not
/// exist in the zone.
fn month_window<Tz: TimeZone>(zone: &Tz, now_millis: i64) -> Option<(i64, i64)> {
    let now = zone.timestamp_millis_opt(now_millis).single()?;
    let (year, month) = (now.year(), now.month());
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let start = zone.with_ymd_and_hms(year, month, 1, 0, 0, 0).earliest()?;
    let next = zone
        .with_ymd_and_hms(next_year, next_month, 1, 0, 0, 0)
        .earliest()?;
    Some((start.timestamp_millis(), next.timestamp_millis()))
}

// ---------------------------------------------------------------------------------------
// Encoding a record (§4.1)
// ---------------------------------------------------------------------------------------

/// What the broker hands the commit log for one record. `properties` is already encoded
/// (§4.4); BODYCRC, the offsets and STORETIMESTAMP are filled in by
/// [`encode_into`](Self::encode_into) at append time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageToStore {
    pub topic: String,
    pub queue_id: i32,
    /// The producer's user flag.
    pub flag: i32,
    /// Stored as received; compressed when `sys_flag` has [`sysflag::COMPRESSED`].
    pub body: Bytes,
    pub properties: String,
    /// The host-family bits are ignored and recomputed from the hosts on encode.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

impl MessageToStore {
    /// A plain message: no flags, born at time 0 on 127.0.0.1:0, stored by 127.0.0.1:10911,
    /// never reconsumed. For tools, tests and benchmarks; set other fields with struct update
    /// syntax (`MessageToStore { born_timestamp, ..MessageToStore::new(..) }`).
    pub fn new(
        topic: impl Into<String>,
        queue_id: i32,
        body: impl Into<Bytes>,
        properties: impl Into<String>,
    ) -> Self {
        MessageToStore {
            topic: topic.into(),
            queue_id,
            flag: 0,
            body: body.into(),
            properties: properties.into(),
            sys_flag: 0,
            born_timestamp: 0,
            born_host: SocketAddr::from(([127, 0, 0, 1], 0)),
            store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }

    /// A stored record as a new message to store: body, flags, hosts, born time, reconsume
    /// count and properties kept, so the broker can re-store it elsewhere (a due delayed
    /// message, a committed half message, a half message put back for its next check).
    pub fn from_stored(m: &StoredMessage) -> Self {
        MessageToStore {
            topic: m.topic.clone(),
            queue_id: m.queue_id,
            flag: m.flag,
            body: m.body.clone(),
            properties: m.properties.clone(),
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            born_host: m.born_host,
            store_host: m.store_host,
            reconsume_times: m.reconsume_times,
            prepared_transaction_offset: m.prepared_transaction_offset,
        }
    }

    /// Replaces the properties: `drop` removed, then `set` added (an existing key replaced).
    pub fn edit_properties(&mut self, drop: &[&str], set: &[(&str, &str)]) {
        let kept = decode_properties(&self.properties)
            .into_iter()
            .filter(|(k, _)| !drop.contains(&k.as_str()) && !set.iter().any(|(s, _)| s == k))
            .collect::<Vec<_>>();
        self.properties = encode_properties(
            kept.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain(set.iter().copied()),
        );
    }

    /// Tag code for the consume queue; see [`tags_code_from`].
    pub fn tags_code(&self) -> i64 {
        tags_code_from(&self.properties)
    }

    /// V2 (i16 topic length) only when the topic does not fit V1's signed byte. Java
    /// decides on `topic.length()` in UTF-16 units but writes the UTF-8 byte length; topic
    /// names are ASCII-only so the two agree, and deciding on bytes is the safe reading.
    fn uses_v2(&self) -> bool {
        self.topic.len() > MAX_TOPIC_LEN_V1
    }

    /// The magic code the record will carry.
    pub fn magic_code(&self) -> i32 {
        if self.uses_v2() {
            MESSAGE_MAGIC_CODE_V2
        } else {
            MESSAGE_MAGIC_CODE_V1
        }
    }

    /// SYSFLAG as written: the given flags with the host-family bits set from the hosts.
    pub fn effective_sys_flag(&self) -> i32 {
        let mut flag =
            self.sys_flag & !(sysflag::BORNHOST_V6_FLAG | sysflag::STOREHOSTADDRESS_V6_FLAG);
        if is_ipv6(&self.born_host) {
            flag |= sysflag::BORNHOST_V6_FLAG;
        }
        if is_ipv6(&self.store_host) {
            flag |= sysflag::STOREHOSTADDRESS_V6_FLAG;
        }
        flag
    }

    /// Bytes of the encoded record (TOTALSIZE).
    pub fn encoded_len(&self) -> usize {
        let topic_len_size = if self.uses_v2() { 2 } else { 1 };
        FIXED_PART_WITHOUT_HOSTS
            + host_len(&self.born_host)
            + host_len(&self.store_host)
            + 4
            + self.body.len()
            + topic_len_size
            + self.topic.len()
            + 2
            + self.properties.len()
    }

    /// Checks the message against the broker's limits before it is queued for append:
    /// body size (MESSAGE_ILLEGAL in Java), properties length (PROPERTIES_SIZE_EXCEEDED),
    /// topic length (what the record format can hold) and the total record size.
    pub fn validate(&self, max_body: usize) -> Result<(), StoreError> {
        if self.body.len() > max_body {
            return Err(StoreError::MessageTooLarge {
                size: self.body.len(),
                limit: max_body,
            });
        }
        self.check_encodable()
    }

    /// The limits the byte layout itself imposes.
    fn check_encodable(&self) -> Result<(), StoreError> {
        if self.properties.len() > MAX_PROPERTIES_LEN {
            return Err(StoreError::PropertiesTooLong(self.properties.len()));
        }
        if self.topic.is_empty() {
            return Err(StoreError::InvalidMessage("empty topic".to_owned()));
        }
        if self.topic.len() > MAX_TOPIC_LEN_V2 {
            return Err(StoreError::TopicTooLong(self.topic.len()));
        }
        let len = self.encoded_len();
        if len > i32::MAX as usize {
            return Err(StoreError::MessageTooLarge {
                size: len,
                limit: i32::MAX as usize,
            });
        }
        Ok(())
    }

    /// Writes the record into `buf` (at least [`encoded_len`](Self::encoded_len) bytes) and
    /// returns the bytes written. Computes BODYCRC (`crc32(body) & 0x7FFFFFFF`), sets the
    /// host-family sysflag bits and picks the magic. Like Java's `doAppend`, a prepared or
    /// rollback transaction record gets queue offset 0 whatever `queue_offset` says: it
    /// never enters a consume queue.
    pub fn encode_into(
        &self,
        buf: &mut [u8],
        queue_offset: i64,
        physical_offset: i64,
        store_timestamp: i64,
    ) -> Result<usize, StoreError> {
        self.check_encodable()?;
        let len = self.encoded_len();
        let Some(dst) = buf.get_mut(..len) else {
            return Err(StoreError::InvalidMessage(format!(
                "encode buffer of {} bytes is smaller than the {len}-byte record",
                buf.len()
            )));
        };
        let sys_flag = self.effective_sys_flag();
        let queue_offset = match sysflag::transaction_value(sys_flag) {
            sysflag::TRANSACTION_PREPARED_TYPE | sysflag::TRANSACTION_ROLLBACK_TYPE => 0,
            _ => queue_offset,
        };
        let body_crc = (crc32fast::hash(&self.body) & 0x7FFF_FFFF) as i32;

        let mut w = Writer { buf: dst, pos: 0 };
        // Each cast below is bounded by check_encodable.
        w.put(&(len as i32).to_be_bytes());
        w.put(&self.magic_code().to_be_bytes());
        w.put(&body_crc.to_be_bytes());
        w.put(&self.queue_id.to_be_bytes());
        w.put(&self.flag.to_be_bytes());
        w.put(&queue_offset.to_be_bytes());
        w.put(&physical_offset.to_be_bytes());
        w.put(&sys_flag.to_be_bytes());
        w.put(&self.born_timestamp.to_be_bytes());
        w.put_host(&self.born_host);
        w.put(&store_timestamp.to_be_bytes());
        w.put_host(&self.store_host);
        w.put(&self.reconsume_times.to_be_bytes());
        w.put(&self.prepared_transaction_offset.to_be_bytes());
        w.put(&(self.body.len() as i32).to_be_bytes());
        w.put(&self.body);
        if self.uses_v2() {
            w.put(&(self.topic.len() as i16).to_be_bytes());
        } else {
            w.put(&[self.topic.len() as u8]);
        }
        w.put(self.topic.as_bytes());
        w.put(&(self.properties.len() as i16).to_be_bytes());
        w.put(self.properties.as_bytes());
        Ok(w.pos)
    }
}

/// Sequential writer over a buffer already checked to be exactly the record's length.
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }

    fn put_host(&mut self, addr: &SocketAddr) {
        let rest = self.buf.get_mut(self.pos..).unwrap_or_default();
        self.pos += encode_host(addr, rest);
    }
}

/// Writes the 8-byte end-of-file filler: `remaining` (bytes from the filler to the end of
/// the file) and [`BLANK_MAGIC_CODE`]. The rest of the file stays as it is (zeros). `buf`
/// must hold [`BLANK_FILLER_LEN`] bytes; a shorter one is left untouched.
pub fn encode_blank(buf: &mut [u8], remaining: i32) {
    if let Some(dst) = buf.get_mut(..BLANK_FILLER_LEN) {
        dst[..4].copy_from_slice(&remaining.to_be_bytes());
        dst[4..].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
    }
}

// ---------------------------------------------------------------------------------------
// Parsing a record
// ---------------------------------------------------------------------------------------

/// Bounds-checked big-endian reader.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn i8(&mut self) -> Option<i8> {
        self.array().map(i8::from_be_bytes)
    }

    fn i16(&mut self) -> Option<i16> {
        self.array().map(i16::from_be_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_be_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_be_bytes)
    }
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        offset: -1,
        reason: reason.into(),
    }
}

/// A record's fields, borrowed from the buffer it was parsed from.
struct RecordView<'a> {
    total_size: i32,
    magic: i32,
    body_crc: i32,
    queue_id: i32,
    flag: i32,
    queue_offset: i64,
    physical_offset: i64,
    sys_flag: i32,
    born_timestamp: i64,
    born_host: &'a [u8],
    store_timestamp: i64,
    store_host: &'a [u8],
    reconsume_times: i32,
    prepared_transaction_offset: i64,
    /// Where the body starts in the parsed buffer, for zero-copy slicing.
    body_start: usize,
    body: &'a [u8],
    topic: &'a [u8],
    properties: &'a [u8],
}

enum Parsed<'a> {
    Record(RecordView<'a>),
    Blank { remaining: usize },
    End,
    NeedMore,
    Invalid(String),
}

/// Smallest possible record of each version: IPv4 hosts, empty body, topic and properties.
const MIN_RECORD_LEN_V1: usize = FIXED_PART_V4 + 4 + 1 + 2;
const MIN_RECORD_LEN_V2: usize = FIXED_PART_V4 + 4 + 2 + 2;

/// The parsing rules shared by [`check_record`] and [`decode_record`]; see
/// [`check_record`] for the order of the checks.
fn parse_record(buf: &[u8]) -> Parsed<'_> {
    let mut head = Reader::new(buf);
    let Some(total_size) = head.i32() else {
        return Parsed::NeedMore;
    };
    if total_size == 0 {
        return Parsed::End;
    }
    let Some(magic) = head.i32() else {
        return Parsed::NeedMore;
    };
    let min_len = match magic {
        BLANK_MAGIC_CODE => {
            return match usize::try_from(total_size) {
                Ok(remaining) if remaining >= BLANK_FILLER_LEN => Parsed::Blank { remaining },
                _ => Parsed::Invalid(format!("blank filler with bad length {total_size}")),
            };
        }
        MESSAGE_MAGIC_CODE_V1 => MIN_RECORD_LEN_V1,
        MESSAGE_MAGIC_CODE_V2 => MIN_RECORD_LEN_V2,
        _ => return Parsed::Invalid(format!("illegal magic code 0x{:08X}", magic as u32)),
    };
    let total = match usize::try_from(total_size) {
        Ok(total) if total >= min_len => total,
        _ => {
            return Parsed::Invalid(format!(
                "total size {total_size} is below the minimum {min_len}"
            ))
        }
    };
    let Some(record) = buf.get(..total) else {
        return Parsed::NeedMore;
    };
    match parse_fields(record, total_size, magic) {
        Ok(view) => Parsed::Record(view),
        Err(reason) => Parsed::Invalid(reason),
    }
}

/// Parses fields 3–17 inside exactly `record` (the first TOTALSIZE bytes), which must be
/// consumed exactly.
fn parse_fields(record: &[u8], total_size: i32, magic: i32) -> Result<RecordView<'_>, String> {
    let overrun = |field: &str| format!("{field} overruns the {total_size}-byte record");
    let mut r = Reader::new(record);
    r.pos = 8;
    let body_crc = r.i32().ok_or_else(|| overrun("BODYCRC"))?;
    let queue_id = r.i32().ok_or_else(|| overrun("QUEUEID"))?;
    let flag = r.i32().ok_or_else(|| overrun("FLAG"))?;
    let queue_offset = r.i64().ok_or_else(|| overrun("QUEUEOFFSET"))?;
    let physical_offset = r.i64().ok_or_else(|| overrun("PHYSICALOFFSET"))?;
    let sys_flag = r.i32().ok_or_else(|| overrun("SYSFLAG"))?;
    let born_timestamp = r.i64().ok_or_else(|| overrun("BORNTIMESTAMP"))?;
    let born_len = if sys_flag & sysflag::BORNHOST_V6_FLAG == 0 {
        8
    } else {
        20
    };
    let born_host = r.take(born_len).ok_or_else(|| overrun("BORNHOST"))?;
    let store_timestamp = r.i64().ok_or_else(|| overrun("STORETIMESTAMP"))?;
    let store_len = if sys_flag & sysflag::STOREHOSTADDRESS_V6_FLAG == 0 {
        8
    } else {
        20
    };
    let store_host = r.take(store_len).ok_or_else(|| overrun("STOREHOST"))?;
    // A port outside 0..=65535 cannot be a socket address: the record is corrupt, and the
    // checker must agree with the decoder on that (found by the stored_record fuzzer).
    for (name, host) in [("BORNHOST", born_host), ("STOREHOST", store_host)] {
        let port = host
            .get(host.len() - 4..)
            .and_then(|p| <[u8; 4]>::try_from(p).ok())
            .map(i32::from_be_bytes)
            .unwrap_or(-1);
        if u16::try_from(port).is_err() {
            return Err(format!("{name} port {port} is out of range"));
        }
    }
    let reconsume_times = r.i32().ok_or_else(|| overrun("RECONSUMETIMES"))?;
    let prepared_transaction_offset = r
        .i64()
        .ok_or_else(|| overrun("PREPARED TRANSACTION OFFSET"))?;

    // Java treats negative lengths as zero; they only arise from corruption, so reject.
    let body_len = r.i32().ok_or_else(|| overrun("body length"))?;
    let body_len =
        usize::try_from(body_len).map_err(|_| format!("negative body length {body_len}"))?;
    let body_start = r.pos;
    let body = r.take(body_len).ok_or_else(|| overrun("BODY"))?;

    // Java reads V1's length as a signed byte, so 128..=255 fails there too.
    let topic_len = if magic == MESSAGE_MAGIC_CODE_V2 {
        i32::from(r.i16().ok_or_else(|| overrun("topic length"))?)
    } else {
        i32::from(r.i8().ok_or_else(|| overrun("topic length"))?)
    };
    let topic_len =
        usize::try_from(topic_len).map_err(|_| format!("negative topic length {topic_len}"))?;
    let topic = r.take(topic_len).ok_or_else(|| overrun("TOPIC"))?;

    let props_len = r.i16().ok_or_else(|| overrun("properties length"))?;
    let props_len = usize::try_from(props_len)
        .map_err(|_| format!("negative properties length {props_len}"))?;
    let properties = r.take(props_len).ok_or_else(|| overrun("PROPERTIES"))?;

    if r.pos != record.len() {
        return Err(format!(
            "total size {total_size} does not match the {} bytes its fields add up to",
            r.pos
        ));
    }
    Ok(RecordView {
        total_size,
        magic,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body_start,
        body,
        topic,
        properties,
    })
}

fn body_crc_of(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// Strings are decoded like Java's `new String(bytes, UTF_8)`: invalid sequences become
/// U+FFFD instead of failing the record.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------
// Decoding a record for readers
// ---------------------------------------------------------------------------------------

/// One record as stored, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub total_size: i32,
    pub magic: i32,
    pub body_crc: i32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: Bytes,
    pub topic: String,
    pub properties: String,
}

impl StoredMessage {
    /// The offset message id Java readers assign while decoding (store host + offset).
    pub fn msg_id(&self) -> String {
        offset_msg_id(&self.store_host, self.physical_offset)
    }

    /// One property, by the rules of [`property()`].
    pub fn property(&self, key: &str) -> Option<&str> {
        property(&self.properties, key)
    }

    /// Whether BODYCRC matches the body.
    pub fn body_crc_matches(&self) -> bool {
        body_crc_of(&self.body) == self.body_crc
    }

    fn from_view(view: RecordView<'_>, body: Bytes) -> Result<Self, StoreError> {
        let born_host = decode_host(
            view.born_host,
            view.sys_flag & sysflag::BORNHOST_V6_FLAG != 0,
        )?;
        let store_host = decode_host(
            view.store_host,
            view.sys_flag & sysflag::STOREHOSTADDRESS_V6_FLAG != 0,
        )?;
        Ok(StoredMessage {
            total_size: view.total_size,
            magic: view.magic,
            body_crc: view.body_crc,
            queue_id: view.queue_id,
            flag: view.flag,
            queue_offset: view.queue_offset,
            physical_offset: view.physical_offset,
            sys_flag: view.sys_flag,
            born_timestamp: view.born_timestamp,
            born_host,
            store_timestamp: view.store_timestamp,
            store_host,
            reconsume_times: view.reconsume_times,
            prepared_transaction_offset: view.prepared_transaction_offset,
            body,
            topic: lossy(view.topic),
            properties: lossy(view.properties),
        })
    }
}

fn view_or_error(parsed: Parsed<'_>) -> Result<RecordView<'_>, StoreError> {
    match parsed {
        Parsed::Record(view) => Ok(view),
        Parsed::Blank { remaining } => Err(corrupt(format!(
            "end-of-file filler ({remaining} bytes), not a message"
        ))),
        Parsed::End => Err(corrupt("zero total size: no record here")),
        Parsed::NeedMore => Err(corrupt("record is truncated")),
        Parsed::Invalid(reason) => Err(corrupt(reason)),
    }
}

/// Decodes the record at the start of `buf` (trailing bytes are ignored). The body is
/// copied; see [`decode_record_shared`] for a zero-copy variant. The body CRC is not
/// checked (Java readers do not either); see [`StoredMessage::body_crc_matches`].
pub fn decode_record(buf: &[u8]) -> Result<StoredMessage, StoreError> {
    let view = view_or_error(parse_record(buf))?;
    let body = Bytes::copy_from_slice(view.body);
    StoredMessage::from_view(view, body)
}

/// [`decode_record`] whose body is a slice of `buf`, not a copy.
pub fn decode_record_shared(buf: &Bytes) -> Result<StoredMessage, StoreError> {
    let view = view_or_error(parse_record(buf))?;
    let body = buf.slice(view.body_start..view.body_start + view.body.len());
    StoredMessage::from_view(view, body)
}

// ---------------------------------------------------------------------------------------
// Recovery and dispatch check
// ---------------------------------------------------------------------------------------

/// What the consume queue and the index need from one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchInfo {
    pub total_size: i32,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub store_timestamp: i64,
    /// Java hash of `TAGS` (0 without a tag). For [`SCHEDULE_TOPIC`] Java stores the
    /// delivery time instead (`store_timestamp` + delay of `delay_level`, level capped at
    /// the maximum); the level table lives with the caller, which must do that.
    pub tags_code: i64,
    pub keys: Option<String>,
    pub uniq_key: Option<String>,
    pub prepared_transaction_offset: i64,
    /// The raw property string.
    pub properties: String,
    /// `DELAY` parsed as an i32; 0 when absent or not a number. Java fails the whole
    /// record on an unparsable `DELAY` in the schedule topic, which would truncate the
    /// commit log on recovery; a lost delay is the lesser harm.
    pub delay_level: i32,
}

/// Outcome of [`check_record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordCheck {
    /// A well-formed message record.
    Record(DispatchInfo),
    /// The end-of-file filler: the rest of this file (`remaining` bytes from the filler,
    /// which is not required to be inside `buf`) holds nothing; continue at the next file.
    Blank { remaining: usize },
    /// TOTALSIZE is 0: the unwritten, zero-filled tail of the commit log.
    End,
    /// Not a record: bad magic, impossible lengths, size mismatch or CRC failure.
    Invalid(String),
    /// A record starts here but `buf` ends before it does.
    NeedMore,
}

/// Checks the record at the start of `buf`, like Java's
/// `CommitLog.checkMessageAndReturnSize`, and extracts what dispatch needs. In order:
///
/// 1. fewer than 4 bytes → `NeedMore`; TOTALSIZE 0 → `End` (Java reports a zero-filled
///    tail as an illegal magic code, which recovery also treats as the end);
/// 2. fewer than 8 bytes → `NeedMore`; blank magic → `Blank` (`Invalid` if TOTALSIZE < 8);
///    any magic other than V1/V2 → `Invalid`;
/// 3. TOTALSIZE below the smallest possible record → `Invalid`; above `buf.len()` →
///    `NeedMore` (for recovery, where `buf` runs to the end of the file, that is a torn
///    write);
/// 4. every length bounds-checked inside TOTALSIZE bytes; negative lengths, a V1 topic
///    length above 127, or fields not adding up to exactly TOTALSIZE → `Invalid`;
/// 5. with `check_crc`, BODYCRC must equal `crc32(body) & 0x7FFFFFFF`.
pub fn check_record(buf: &[u8], check_crc: bool) -> RecordCheck {
    let view = match parse_record(buf) {
        Parsed::Record(view) => view,
        Parsed::Blank { remaining } => return RecordCheck::Blank { remaining },
        Parsed::End => return RecordCheck::End,
        Parsed::NeedMore => return RecordCheck::NeedMore,
        Parsed::Invalid(reason) => return RecordCheck::Invalid(reason),
    };
    if check_crc {
        let actual = body_crc_of(view.body);
        if actual != view.body_crc {
            return RecordCheck::Invalid(format!(
                "body crc {actual} does not match the stored {}",
                view.body_crc
            ));
        }
    }
    let properties = lossy(view.properties);
    let tags_code = tags_code_from(&properties);
    let keys = property(&properties, property::KEYS).map(str::to_owned);
    let uniq_key = property(&properties, property::UNIQ_KEY).map(str::to_owned);
    let delay_level = property(&properties, property::DELAY)
        .and_then(|level| level.parse().ok())
        .unwrap_or(0);
    RecordCheck::Record(DispatchInfo {
        total_size: view.total_size,
        topic: lossy(view.topic),
        queue_id: view.queue_id,
        queue_offset: view.queue_offset,
        physical_offset: view.physical_offset,
        sys_flag: view.sys_flag,
        store_timestamp: view.store_timestamp,
        tags_code,
        keys,
        uniq_key,
        prepared_transaction_offset: view.prepared_transaction_offset,
        properties,
        delay_level,
    })
}

/// Rewrites QUEUEOFFSET of an encoded record in place (a record encoded before its queue
/// offset was known). Returns false, writing nothing, if `record` is too short.
pub fn set_queue_offset(record: &mut [u8], queue_offset: i64) -> bool {
    match record.get_mut(QUEUE_OFFSET_POS..QUEUE_OFFSET_POS + 8) {
        Some(dst) => {
            dst.copy_from_slice(&queue_offset.to_be_bytes());
            true
        }
        None => false,
    }
}

// ---------------------------------------------------------------------------------------
// Batch body (§4.8)
// ---------------------------------------------------------------------------------------

/// One message of a SEND_BATCH_MESSAGE body; topic, queue and the other header fields
/// are shared by the whole batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    pub flag: i32,
    pub body: Bytes,
    pub properties: String,
}

/// Bytes of an item's fields besides body and properties.
const BATCH_ITEM_OVERHEAD: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// Parses a batch body (`MessageDecoder.decodeMessages`). Like the Java broker and
/// client, it walks the items by their body and properties lengths and ignores each item's
/// TOTALSIZE, MAGICCODE and BODYCRC fields. Bodies are slices of `body`. Properties that
/// are not UTF-8 are decoded lossily, as Java consumers would read them.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>, StoreError> {
    // Every item takes at least BATCH_ITEM_OVERHEAD bytes; the cap keeps a large body of
    // few big messages from reserving room for many small ones.
    let mut items = Vec::with_capacity((body.len() / BATCH_ITEM_OVERHEAD).min(1024));
    let mut r = Reader::new(body);
    while r.pos < body.len() {
        let n = items.len();
        let bad = |why: String| StoreError::InvalidMessage(format!("batch message {n}: {why}"));
        r.take(12)
            .ok_or_else(|| bad("truncated header".to_owned()))?;
        let flag = r.i32().ok_or_else(|| bad("truncated flag".to_owned()))?;
        let body_len = r
            .i32()
            .ok_or_else(|| bad("truncated body length".to_owned()))?;
        let body_len = usize::try_from(body_len)
            .map_err(|_| bad(format!("negative body length {body_len}")))?;
        let body_start = r.pos;
        r.take(body_len)
            .ok_or_else(|| bad(format!("body of {body_len} bytes is truncated")))?;
        let props_len = r
            .i16()
            .ok_or_else(|| bad("truncated properties length".to_owned()))?;
        let props_len = usize::try_from(props_len)
            .map_err(|_| bad(format!("negative properties length {props_len}")))?;
        let props = r
            .take(props_len)
            .ok_or_else(|| bad(format!("properties of {props_len} bytes are truncated")))?;
        items.push(BatchItem {
            flag,
            body: body.slice(body_start..body_start + body_len),
            properties: lossy(props),
        });
    }
    Ok(items)
}

/// Encodes a batch body like `MessageDecoder.encodeMessages` (magic and CRC written as 0).
/// Each body must fit an i32 and each property string 32767 bytes; a length that does not
/// fit is written as -1 so [`decode_batch`] rejects the body rather than misreading it.
pub fn encode_batch(items: &[BatchItem]) -> Bytes {
    let size: usize = items
        .iter()
        .map(|item| BATCH_ITEM_OVERHEAD + item.body.len() + item.properties.len())
        .sum();
    let mut out = BytesMut::with_capacity(size);
    for item in items {
        let total = BATCH_ITEM_OVERHEAD + item.body.len() + item.properties.len();
        out.put_i32(i32::try_from(total).unwrap_or(-1));
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(item.flag);
        out.put_i32(i32::try_from(item.body.len()).unwrap_or(-1));
        out.put_slice(&item.body);
        out.put_i16(i16::try_from(item.properties.len()).unwrap_or(-1));
        out.put_slice(item.properties.as_bytes());
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port)
    }

    fn v6(s: &str, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V6(s.parse().unwrap()), port)
    }

    fn sample(born: SocketAddr, store: SocketAddr) -> MessageToStore {
        MessageToStore {
            topic: "TopicTest".to_owned(),
            queue_id: 3,
            flag: 7,
            body: Bytes::from_static(b"Hello RocketMQ"),
            properties: encode_properties([
                (property::TAGS, "TagA"),
                (property::KEYS, "k1 k2"),
                (property::UNIQ_KEY, "7F0000010001000000000000000A0001"),
                (property::WAIT, "true"),
            ]),
            sys_flag: sysflag::MULTI_TAGS,
            born_timestamp: 1_700_000_000_123,
            born_host: born,
            store_host: store,
            reconsume_times: 2,
            prepared_transaction_offset: 0,
        }
    }

    fn encode(
        msg: &MessageToStore,
        queue_offset: i64,
        physical_offset: i64,
        store_ts: i64,
    ) -> Vec<u8> {
        let mut buf = vec![0u8; msg.encoded_len()];
        let n = msg
            .encode_into(&mut buf, queue_offset, physical_offset, store_ts)
            .unwrap();
        assert_eq!(n, buf.len());
        buf
    }

    /// §4.1 field by field, written independently of the encoder.
    fn golden(msg: &MessageToStore, sys_flag: i32, qo: i64, po: i64, store_ts: i64) -> Vec<u8> {
        fn host(out: &mut Vec<u8>, addr: &SocketAddr) {
            match addr.ip() {
                IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
                IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
            }
            out.extend_from_slice(&i32::from(addr.port()).to_be_bytes());
        }
        let mut body = Vec::new();
        body.extend_from_slice(&MESSAGE_MAGIC_CODE_V1.to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&msg.body);
        body.extend_from_slice(&((crc.finalize() & 0x7FFF_FFFF) as i32).to_be_bytes());
        body.extend_from_slice(&msg.queue_id.to_be_bytes());
        body.extend_from_slice(&msg.flag.to_be_bytes());
        body.extend_from_slice(&qo.to_be_bytes());
        body.extend_from_slice(&po.to_be_bytes());
        body.extend_from_slice(&sys_flag.to_be_bytes());
        body.extend_from_slice(&msg.born_timestamp.to_be_bytes());
        host(&mut body, &msg.born_host);
        body.extend_from_slice(&store_ts.to_be_bytes());
        host(&mut body, &msg.store_host);
        body.extend_from_slice(&msg.reconsume_times.to_be_bytes());
        body.extend_from_slice(&msg.prepared_transaction_offset.to_be_bytes());
        body.extend_from_slice(&(msg.body.len() as i32).to_be_bytes());
        body.extend_from_slice(&msg.body);
        body.push(msg.topic.len() as u8);
        body.extend_from_slice(msg.topic.as_bytes());
        body.extend_from_slice(&(msg.properties.len() as i16).to_be_bytes());
        body.extend_from_slice(msg.properties.as_bytes());
        let mut out = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn ipv4_record_matches_hand_built_layout_byte_for_byte() {
        let msg = sample(v4([10, 0, 0, 5], 53211), v4([192, 168, 0, 10], 10911));
        let bytes = encode(&msg, 42, 0x1234, 1_700_000_000_456);
        assert_eq!(
            bytes,
            golden(&msg, sysflag::MULTI_TAGS, 42, 0x1234, 1_700_000_000_456)
        );
        assert_eq!(
            bytes.len(),
            91 + msg.body.len() + msg.topic.len() + msg.properties.len()
        );
        // Spot-check absolute offsets from the §4.1 table.
        assert_eq!(&bytes[48..52], &[10, 0, 0, 5]);
        assert_eq!(&bytes[64..68], &[192, 168, 0, 10]);
        assert_eq!(
            i32::from_be_bytes(bytes[84..88].try_into().unwrap()),
            msg.body.len() as i32
        );
    }

    #[test]
    fn ipv6_hosts_add_twelve_bytes_each_and_set_their_sysflag_bits() {
        let msg = sample(v6("2001:db8::1", 40000), v6("2001:db8::2", 10911));
        let bytes = encode(&msg, 1, 2, 3);
        let flags =
            sysflag::MULTI_TAGS | sysflag::BORNHOST_V6_FLAG | sysflag::STOREHOSTADDRESS_V6_FLAG;
        assert_eq!(bytes, golden(&msg, flags, 1, 2, 3));
        assert_eq!(
            bytes.len(),
            91 + 24 + msg.body.len() + msg.topic.len() + msg.properties.len()
        );

        let only_born = sample(v6("2001:db8::1", 40000), v4([1, 2, 3, 4], 10911));
        let bytes = encode(&only_born, 1, 2, 3);
        assert_eq!(
            bytes,
            golden(
                &only_born,
                sysflag::MULTI_TAGS | sysflag::BORNHOST_V6_FLAG,
                1,
                2,
                3
            )
        );
    }

    #[test]
    fn stale_host_bits_are_cleared_and_mapped_ipv4_is_written_as_ipv4() {
        let mut msg = sample(v6("::ffff:10.0.0.5", 53211), v4([192, 168, 0, 10], 10911));
        msg.sys_flag |= sysflag::STOREHOSTADDRESS_V6_FLAG;
        let bytes = encode(&msg, 0, 0, 0);
        let mut expected_msg = msg.clone();
        expected_msg.born_host = v4([10, 0, 0, 5], 53211);
        assert_eq!(bytes, golden(&expected_msg, sysflag::MULTI_TAGS, 0, 0, 0));
    }

    #[test]
    fn decode_record_round_trips_every_field() {
        for (born, store) in [
            (v4([10, 0, 0, 5], 53211), v4([192, 168, 0, 10], 10911)),
            (v6("2001:db8::1", 1), v6("fe80::1", 65535)),
        ] {
            let mut msg = sample(born, store);
            msg.prepared_transaction_offset = 777;
            let bytes = encode(&msg, 9, 4096, 55);
            let decoded = decode_record(&bytes).unwrap();
            assert_eq!(decoded.total_size as usize, bytes.len());
            assert_eq!(decoded.magic, MESSAGE_MAGIC_CODE_V1);
            assert!(decoded.body_crc_matches());
            assert_eq!(decoded.queue_id, msg.queue_id);
            assert_eq!(decoded.flag, msg.flag);
            assert_eq!(decoded.queue_offset, 9);
            assert_eq!(decoded.physical_offset, 4096);
            assert_eq!(decoded.sys_flag, msg.effective_sys_flag());
            assert_eq!(decoded.born_timestamp, msg.born_timestamp);
            assert_eq!(decoded.born_host, born);
            assert_eq!(decoded.store_timestamp, 55);
            assert_eq!(decoded.store_host, store);
            assert_eq!(decoded.reconsume_times, 2);
            assert_eq!(decoded.prepared_transaction_offset, 777);
            assert_eq!(decoded.body, msg.body);
            assert_eq!(decoded.topic, msg.topic);
            assert_eq!(decoded.properties, msg.properties);
            assert_eq!(decoded.property(property::TAGS), Some("TagA"));
            assert_eq!(decoded.msg_id(), offset_msg_id(&store, 4096));

            let shared = decode_record_shared(&Bytes::from(bytes)).unwrap();
            assert_eq!(shared, decoded);
        }
    }

    #[test]
    fn long_topics_use_magic_v2_with_an_i16_topic_length() {
        let mut msg = sample(v4([1, 1, 1, 1], 1), v4([2, 2, 2, 2], 2));
        msg.topic = format!("%RETRY%{}", "g".repeat(150));
        let bytes = encode(&msg, 0, 0, 0);
        assert_eq!(msg.magic_code(), MESSAGE_MAGIC_CODE_V2);
        assert_eq!(
            bytes.len(),
            92 + msg.body.len() + msg.topic.len() + msg.properties.len()
        );
        let topic_len_pos = 88 + msg.body.len();
        assert_eq!(
            &bytes[topic_len_pos..topic_len_pos + 2],
            &(msg.topic.len() as i16).to_be_bytes()
        );
        let decoded = decode_record(&bytes).unwrap();
        assert_eq!(decoded.magic, MESSAGE_MAGIC_CODE_V2);
        assert_eq!(decoded.topic, msg.topic);

        msg.topic = "t".repeat(127);
        assert_eq!(msg.magic_code(), MESSAGE_MAGIC_CODE_V1);
    }

    #[test]
    fn prepared_and_rollback_records_get_queue_offset_zero() {
        let mut msg = sample(v4([1, 1, 1, 1], 1), v4([2, 2, 2, 2], 2));
        for (tran, expected) in [
            (sysflag::TRANSACTION_PREPARED_TYPE, 0),
            (sysflag::TRANSACTION_ROLLBACK_TYPE, 0),
            (sysflag::TRANSACTION_COMMIT_TYPE, 99),
            (sysflag::TRANSACTION_NOT_TYPE, 99),
        ] {
            msg.sys_flag = sysflag::reset_transaction_value(msg.sys_flag, tran);
            let decoded = decode_record(&encode(&msg, 99, 0, 0)).unwrap();
            assert_eq!(decoded.queue_offset, expected);
            assert_eq!(sysflag::transaction_value(decoded.sys_flag), tran);
        }
    }

    #[test]
    fn validate_enforces_body_properties_and_topic_limits() {
        let mut msg = sample(v4([1, 1, 1, 1], 1), v4([2, 2, 2, 2], 2));
        assert!(msg.validate(1024).is_ok());
        assert!(matches!(
            msg.validate(4),
            Err(StoreError::MessageTooLarge { size: 14, limit: 4 })
        ));
        msg.properties = "a".repeat(32768);
        assert!(matches!(
            msg.validate(1024),
            Err(StoreError::PropertiesTooLong(32768))
        ));
        assert!(matches!(
            msg.encode_into(&mut vec![0; 70000], 0, 0, 0),
            Err(StoreError::PropertiesTooLong(32768))
        ));
        msg.properties = "a".repeat(32767);
        assert!(msg.validate(1024).is_ok());
        msg.topic = "t".repeat(32768);
        assert!(matches!(
            msg.validate(1024),
            Err(StoreError::TopicTooLong(32768))
        ));
        msg.topic = String::new();
        assert!(matches!(
            msg.validate(1024),
            Err(StoreError::InvalidMessage(_))
        ));
    }

    #[test]
    fn encode_into_refuses_a_short_buffer() {
        let msg = sample(v4([1, 1, 1, 1], 1), v4([2, 2, 2, 2], 2));
        let mut buf = vec![0u8; msg.encoded_len() - 1];
        assert!(matches!(
            msg.encode_into(&mut buf, 0, 0, 0),
            Err(StoreError::InvalidMessage(_))
        ));
        assert!(buf.iter().all(|b| *b == 0));
    }

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

    #[test]
    fn offset_msg_id_matches_the_reference_example() {
        let id = offset_msg_id(&v4([192, 168, 0, 10], 10911), 0x1234);
        assert_eq!(id, "C0A8000A00002A9F0000000000001234");
        assert_eq!(
            decode_offset_msg_id(&id).unwrap(),
            (v4([192, 168, 0, 10], 10911), 0x1234)
        );
        assert_eq!(
            decode_offset_msg_id(&id.to_lowercase()).unwrap(),
            (v4([192, 168, 0, 10], 10911), 0x1234)
        );
    }

    #[test]
    fn ipv6_offset_msg_id_has_56_chars_and_round_trips() {
        let host = v6("2001:db8::7", 10911);
        let id = offset_msg_id(&host, -2);
        assert_eq!(id.len(), 56);
        assert!(id.starts_with("20010DB8"));
        assert!(id.ends_with("FFFFFFFFFFFFFFFE"));
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, -2));
    }

    #[test]
    fn malformed_offset_msg_ids_are_rejected() {
        for id in [
            "",
            "C0A8000A00002A9F000000000000123",
            "C0A8000A00002A9F00000000000012345",
            "G0A8000A00002A9F0000000000001234",
            "C0A8000AFFFFFFFF0000000000001234",
            "C0A8000A00002A9F000000000000123é",
        ] {
            assert!(decode_offset_msg_id(id).is_err(), "{id:?}");
        }
    }

    #[test]
    fn uniq_ids_follow_the_message_client_id_layout() {
        let mut ids =
            UniqIdGenerator::with_identity(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 10)), 0x1234, -1);
        // 2024-03-02T00:00:01.5Z is 86_401_500 ms after the start of March in UTC.
        let now = 1_709_337_601_500;
        let first = ids.next_in(&chrono::Utc, now);
        assert_eq!(
            first,
            format!("C0A8000A1234FFFFFFFF{:08X}0000", 86_401_500u32)
        );
        let second = ids.next_in(&chrono::Utc, now);
        assert_eq!(&second[..28], &first[..28]);
        assert_eq!(&second[28..], "0001");
        // A new month restarts the time part.
        let april = 1_711_929_600_000 + 5;
        assert_eq!(&ids.next_in(&chrono::Utc, april)[20..], "000000050002");

        let mut v6ids =
            UniqIdGenerator::with_identity(IpAddr::V6("2001:db8::1".parse().unwrap()), 1, 1);
        assert_eq!(v6ids.next_in(&chrono::Utc, now).len(), 56);
        let mut local = UniqIdGenerator::new(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let (a, b) = (local.next(now), local.next(now));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    }

    #[test]
    fn uniq_id_counter_wraps_at_16_bits() {
        let mut ids = UniqIdGenerator::with_identity(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, 0);
        for _ in 0..0xFFFF {
            ids.next_in(&chrono::Utc, 0);
        }
        assert!(ids.next_in(&chrono::Utc, 0).ends_with("FFFF"));
        assert!(ids.next_in(&chrono::Utc, 0).ends_with("0000"));
    }

    #[test]
    fn blank_filler_is_remaining_then_blank_magic() {
        let mut buf = [0xAAu8; 12];
        encode_blank(&mut buf, 1000);
        assert_eq!(&buf[..8], &[0, 0, 0x03, 0xE8, 0xCB, 0xD4, 0x31, 0x94]);
        assert_eq!(&buf[8..], &[0xAA; 4]);
        assert_eq!(
            check_record(&buf, true),
            RecordCheck::Blank { remaining: 1000 }
        );
        let mut short = [0u8; 7];
        encode_blank(&mut short, 1000);
        assert_eq!(short, [0u8; 7]);
    }

    fn hand_built_batch() -> Vec<u8> {
        let mut out = Vec::new();
        for (flag, body, props) in [(1i32, &b"first"[..], "TAGS\u{1}A\u{2}"), (0, &b""[..], "")] {
            out.extend_from_slice(&((22 + body.len() + props.len()) as i32).to_be_bytes());
            out.extend_from_slice(&0i32.to_be_bytes());
            out.extend_from_slice(&0i32.to_be_bytes());
            out.extend_from_slice(&flag.to_be_bytes());
            out.extend_from_slice(&(body.len() as i32).to_be_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(&(props.len() as i16).to_be_bytes());
            out.extend_from_slice(props.as_bytes());
        }
        out
    }

    #[test]
    fn batch_body_decodes_into_zero_copy_items() {
        let raw = Bytes::from(hand_built_batch());
        let items = decode_batch(&raw).unwrap();
        assert_eq!(
            items,
            vec![
                BatchItem {
                    flag: 1,
                    body: Bytes::from_static(b"first"),
                    properties: "TAGS\u{1}A\u{2}".to_owned()
                },
                BatchItem {
                    flag: 0,
                    body: Bytes::new(),
                    properties: String::new()
                },
            ]
        );
        let start = raw.as_ptr() as usize;
        let body_ptr = items[0].body.as_ptr() as usize;
        assert!(body_ptr >= start && body_ptr < start + raw.len());
        assert_eq!(encode_batch(&items), raw);
        assert_eq!(decode_batch(&Bytes::new()).unwrap(), vec![]);
    }

    #[test]
    fn malformed_batch_bodies_are_rejected() {
        let raw = hand_built_batch();
        for cut in [1, 21, 25, 27, raw.len() - 1] {
            assert!(
                decode_batch(&Bytes::copy_from_slice(&raw[..cut])).is_err(),
                "cut {cut}"
            );
        }
        let mut negative_body = raw.clone();
        negative_body[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(decode_batch(&Bytes::from(negative_body)).is_err());
        let mut negative_props = raw.clone();
        negative_props[25..27].copy_from_slice(&(-2i16).to_be_bytes());
        assert!(decode_batch(&Bytes::from(negative_props)).is_err());
    }

    #[test]
    fn check_record_extracts_dispatch_info_from_a_valid_record() {
        let mut msg = sample(v4([10, 0, 0, 5], 53211), v4([192, 168, 0, 10], 10911));
        msg.properties
            .push_str(&encode_properties([(property::DELAY, "3")]));
        let mut bytes = encode(&msg, 42, 8192, 99);
        bytes.extend_from_slice(&[0u8; 16]);
        let RecordCheck::Record(info) = check_record(&bytes, true) else {
            panic!("expected a record");
        };
        assert_eq!(
            info,
            DispatchInfo {
                total_size: msg.encoded_len() as i32,
                topic: "TopicTest".to_owned(),
                queue_id: 3,
                queue_offset: 42,
                physical_offset: 8192,
                sys_flag: sysflag::MULTI_TAGS,
                store_timestamp: 99,
                tags_code: 2598919,
                keys: Some("k1 k2".to_owned()),
                uniq_key: Some("7F0000010001000000000000000A0001".to_owned()),
                prepared_transaction_offset: 0,
                properties: msg.properties.clone(),
                delay_level: 3,
            }
        );
        assert_eq!(
            check_record(&bytes[msg.encoded_len()..], true),
            RecordCheck::End
        );
    }

    #[test]
    fn check_record_rejects_bad_magic_bad_crc_truncation_and_size_mismatch() {
        let msg = sample(v4([10, 0, 0, 5], 53211), v4([192, 168, 0, 10], 10911));
        let good = encode(&msg, 0, 0, 0);

        let mut bad_magic = good.clone();
        bad_magic[4..8].copy_from_slice(&0x1234_5678i32.to_be_bytes());
        assert!(matches!(
            check_record(&bad_magic, false),
            RecordCheck::Invalid(_)
        ));

        let mut bad_crc = good.clone();
        let body_pos = 88;
        bad_crc[body_pos] ^= 0x01;
        assert!(matches!(
            check_record(&bad_crc, true),
            RecordCheck::Invalid(_)
        ));
        assert!(matches!(
            check_record(&bad_crc, false),
            RecordCheck::Record(_)
        ));
        assert!(!decode_record(&bad_crc).unwrap().body_crc_matches());

        for cut in [0, 3, 4, 7, 8, 90, good.len() - 1] {
            assert_eq!(
                check_record(&good[..cut], true),
                RecordCheck::NeedMore,
                "cut {cut}"
            );
            assert!(decode_record(&good[..cut]).is_err());
        }

        // TOTALSIZE one larger than the fields: the bytes are there but unaccounted for.
        let mut too_big = good.clone();
        too_big[..4].copy_from_slice(&(good.len() as i32 + 1).to_be_bytes());
        too_big.push(0);
        assert!(matches!(
            check_record(&too_big, true),
            RecordCheck::Invalid(_)
        ));
        assert!(decode_record(&too_big).is_err());
        // TOTALSIZE one smaller: the properties overrun the record.
        let mut too_small = good.clone();
        too_small[..4].copy_from_slice(&(good.len() as i32 - 1).to_be_bytes());
        assert!(matches!(
            check_record(&too_small, true),
            RecordCheck::Invalid(_)
        ));
        // Below the minimum record size, and negative.
        for size in [8i32, 90, -5] {
            let mut tiny = good.clone();
            tiny[..4].copy_from_slice(&size.to_be_bytes());
            assert!(
                matches!(check_record(&tiny, true), RecordCheck::Invalid(_)),
                "{size}"
            );
        }
        // A V1 topic length above 127 is negative to Java.
        let mut signed_topic = good.clone();
        signed_topic[88 + msg.body.len()] = 0x80;
        assert!(matches!(
            check_record(&signed_topic, true),
            RecordCheck::Invalid(_)
        ));
        // Blank filler with an impossible remaining size.
        let mut blank = [0u8; 8];
        encode_blank(&mut blank, 4);
        assert!(matches!(
            check_record(&blank, true),
            RecordCheck::Invalid(_)
        ));
        assert!(decode_record(&blank).is_err());
    }

    #[test]
    fn records_with_out_of_range_ports_are_refused_by_decoder_and_checker() {
        let msg = sample(v4([10, 0, 0, 5], 53211), v4([192, 168, 0, 10], 10911));
        let mut bytes = encode(&msg, 0, 0, 0);
        bytes[52..56].copy_from_slice(&70000i32.to_be_bytes());
        assert!(decode_record(&bytes).is_err());
        // The checker agrees: such a record is corrupt and recovery stops before it.
        assert!(matches!(
            check_record(&bytes, true),
            RecordCheck::Invalid(_)
        ));
    }

    #[test]
    fn set_queue_offset_rewrites_only_that_field() {
        let msg = sample(v4([10, 0, 0, 5], 53211), v4([192, 168, 0, 10], 10911));
        let mut bytes = encode(&msg, 0, 5, 6);
        assert!(set_queue_offset(&mut bytes, 77));
        assert_eq!(bytes, encode(&msg, 77, 5, 6));
        assert!(!set_queue_offset(&mut [0u8; 27], 1));
    }

    /// xorshift64*, so the fuzz loop is the same on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn exercise(input: &[u8]) {
        let _ = decode_record(input);
        let _ = check_record(input, true);
        let _ = check_record(input, false);
        let shared = Bytes::copy_from_slice(input);
        let _ = decode_record_shared(&shared);
        let _ = decode_batch(&shared);
        let text = String::from_utf8_lossy(input);
        let _ = decode_properties(&text);
        let _ = property(&text, "A");
        let _ = decode_offset_msg_id(&text);
    }

    #[test]
    fn decoders_never_panic_on_random_or_mutated_input() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let seeds = [
            encode(
                &sample(v4([10, 0, 0, 5], 1), v4([192, 168, 0, 10], 2)),
                1,
                2,
                3,
            ),
            encode(&sample(v6("2001:db8::1", 1), v6("2001:db8::2", 2)), 1, 2, 3),
            hand_built_batch(),
        ];
        let interesting: [i32; 8] = [0, -1, 1, i32::MAX, i32::MIN, 8, 91, 0x7FFF];
        for round in 0..4000 {
            let input = if round % 4 == 0 {
                let len = rng.below(300);
                (0..len).map(|_| rng.next() as u8).collect::<Vec<u8>>()
            } else {
                let mut input = seeds[rng.below(seeds.len())].clone();
                for _ in 0..1 + rng.below(4) {
                    let pos = rng.below(input.len());
                    match rng.below(4) {
                        0 => input[pos] ^= 1 << rng.below(8),
                        1 => input[pos] = rng.next() as u8,
                        2 => {
                            let v = interesting[rng.below(interesting.len())].to_be_bytes();
                            let end = (pos + 4).min(input.len());
                            input[pos..end].copy_from_slice(&v[..end - pos]);
                        }
                        _ => input.truncate(pos),
                    }
                    if input.is_empty() {
                        break;
                    }
                }
                input
            };
            exercise(&input);
        }
    }
}
