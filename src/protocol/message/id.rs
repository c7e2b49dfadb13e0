//! Message ids (reference §4.6): the offset message id (store host and commit-log offset,
//! what QUERY_MESSAGE/VIEW_MESSAGE_BY_ID take) and the `UNIQ_KEY` a producer or the broker
//! assigns, in the layout of Java's `MessageClientIDSetter`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};

use chrono::{Datelike, TimeZone};

use super::error::MessageError;
use super::record::{decode_host, encode_host, java_ip, Reader};

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
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), MessageError> {
    let invalid = |why: &str| MessageError::InvalidMessage(format!("offset msg id {id:?}: {why}"));
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

/// Addresses for the tests here and the record's.
#[cfg(test)]
pub(crate) mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    pub(crate) fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port)
    }

    pub(crate) fn v6(s: &str, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V6(s.parse().unwrap()), port)
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
}
