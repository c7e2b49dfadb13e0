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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use super::error::MessageError;
use super::id::offset_msg_id;
use super::properties::{decode_properties, encode_properties, property, tags_code_from};
use crate::protocol::flag::sysflag;

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

/// Fields 1–14 (everything before the body length) except the two hosts.
const FIXED_PART_WITHOUT_HOSTS: usize = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 4 + 8;
/// Fields 1–14 with IPv4 hosts.
const FIXED_PART_V4: usize = FIXED_PART_WITHOUT_HOSTS + 8 + 8;
const QUEUE_OFFSET_POS: usize = 20;

/// The address Java would see: `InetAddress` turns IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`, what a dual-stack Rust listener reports for IPv4 peers) into
/// `Inet4Address`, so RocketMQ writes them as 4-byte IPv4 hosts.
pub(super) fn java_ip(ip: IpAddr) -> IpAddr {
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
pub fn decode_host(buf: &[u8], ipv6: bool) -> Result<SocketAddr, MessageError> {
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
    pub fn validate(&self, max_body: usize) -> Result<(), MessageError> {
        if self.body.len() > max_body {
            return Err(MessageError::MessageTooLarge {
                size: self.body.len(),
                limit: max_body,
            });
        }
        self.check_encodable()
    }

    /// The limits the byte layout itself imposes.
    fn check_encodable(&self) -> Result<(), MessageError> {
        if self.properties.len() > MAX_PROPERTIES_LEN {
            return Err(MessageError::PropertiesTooLong(self.properties.len()));
        }
        if self.topic.is_empty() {
            return Err(MessageError::InvalidMessage("empty topic".to_owned()));
        }
        if self.topic.len() > MAX_TOPIC_LEN_V2 {
            return Err(MessageError::TopicTooLong(self.topic.len()));
        }
        let len = self.encoded_len();
        if len > i32::MAX as usize {
            return Err(MessageError::MessageTooLarge {
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
    ) -> Result<usize, MessageError> {
        self.check_encodable()?;
        let len = self.encoded_len();
        let Some(dst) = buf.get_mut(..len) else {
            return Err(MessageError::InvalidMessage(format!(
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
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(super) fn i8(&mut self) -> Option<i8> {
        self.array().map(i8::from_be_bytes)
    }

    pub(super) fn i16(&mut self) -> Option<i16> {
        self.array().map(i16::from_be_bytes)
    }

    pub(super) fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_be_bytes)
    }

    pub(super) fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_be_bytes)
    }
}

fn corrupt(reason: impl Into<String>) -> MessageError {
    MessageError::Corrupt {
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
pub(super) fn lossy(bytes: &[u8]) -> String {
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

    fn from_view(view: RecordView<'_>, body: Bytes) -> Result<Self, MessageError> {
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

fn view_or_error(parsed: Parsed<'_>) -> Result<RecordView<'_>, MessageError> {
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
pub fn decode_record(buf: &[u8]) -> Result<StoredMessage, MessageError> {
    let view = view_or_error(parse_record(buf))?;
    let body = Bytes::copy_from_slice(view.body);
    StoredMessage::from_view(view, body)
}

/// The encoded property string of the record at the start of `buf`, found by walking the
/// header without copying anything (what a property filter needs, and no more); `None`
/// for anything but a well-formed message record.
pub fn record_properties(buf: &[u8]) -> Option<&[u8]> {
    match parse_record(buf) {
        Parsed::Record(view) => Some(view.properties),
        _ => None,
    }
}

/// [`decode_record`] whose body is a slice of `buf`, not a copy.
pub fn decode_record_shared(buf: &Bytes) -> Result<StoredMessage, MessageError> {
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
    /// Java hash of `TAGS` (0 without a tag). For [`SCHEDULE_TOPIC`](crate::protocol::topic::SCHEDULE_TOPIC) Java stores the
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::batch::{decode_batch, tests::hand_built_batch};
    use crate::protocol::message::id::decode_offset_msg_id;
    use crate::protocol::message::id::tests::{v4, v6};

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
            Err(MessageError::MessageTooLarge { size: 14, limit: 4 })
        ));
        msg.properties = "a".repeat(32768);
        assert!(matches!(
            msg.validate(1024),
            Err(MessageError::PropertiesTooLong(32768))
        ));
        assert!(matches!(
            msg.encode_into(&mut vec![0; 70000], 0, 0, 0),
            Err(MessageError::PropertiesTooLong(32768))
        ));
        msg.properties = "a".repeat(32767);
        assert!(msg.validate(1024).is_ok());
        msg.topic = "t".repeat(32768);
        assert!(matches!(
            msg.validate(1024),
            Err(MessageError::TopicTooLong(32768))
        ));
        msg.topic = String::new();
        assert!(matches!(
            msg.validate(1024),
            Err(MessageError::InvalidMessage(_))
        ));
    }

    #[test]
    fn encode_into_refuses_a_short_buffer() {
        let msg = sample(v4([1, 1, 1, 1], 1), v4([2, 2, 2, 2], 2));
        let mut buf = vec![0u8; msg.encoded_len() - 1];
        assert!(matches!(
            msg.encode_into(&mut buf, 0, 0, 0),
            Err(MessageError::InvalidMessage(_))
        ));
        assert!(buf.iter().all(|b| *b == 0));
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
