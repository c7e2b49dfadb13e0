//! The JSON dialect Java peers speak: fastjson 1.x. Reading goes through [`from_json`], which
//! accepts standard JSON plus the one non-standard form fastjson writes, object keys that are
//! bare integers (`{0:"10.0.0.1:10911"}`), by quoting those keys in a single copying pass
//! before serde_json parses the text. Writing goes through [`to_json`] for serde types and
//! through [`JsonWriter`] where the output must reproduce fastjson byte for byte, including
//! the unquoted integer keys serde cannot express. Both escape strings the way fastjson does
//! ([`Escape`]), so our bodies compare equal to a Java peer's.

use std::borrow::Cow;
use std::io;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::ser::{CharEscape, Formatter};

use crate::protocol::error::ProtocolError;

/// A body that travels as plain JSON both ways: `encode` and `decode` come for free.
pub trait JsonBody: Serialize + DeserializeOwned {
    fn encode(&self) -> Bytes {
        to_json(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        from_json(bytes)
    }
}

/// Parses a body written by any RocketMQ peer: standard JSON, or fastjson's output with
/// unquoted integer map keys. Unknown fields are ignored by the body types, as fastjson does.
pub fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProtocolError> {
    let text = quote_integer_keys(bytes);
    serde_json::from_slice(&text).map_err(|e| ProtocolError::InvalidBody(e.to_string()))
}

/// Compact JSON with fastjson's default string escaping. Fields come out in declaration
/// order, so body types declare theirs alphabetically, which is the order fastjson sorts
/// bean properties into.
///
/// Serialising into memory only fails when a `Serialize` impl reports an error or a map key
/// is not a string or integer; no body type in this module can do either. Should a future
/// type do so, the result is an empty body, which the peer rejects as invalid, rather than a
/// panic.
pub fn to_json<T: Serialize + ?Sized>(v: &T) -> Bytes {
    let mut out = Vec::with_capacity(128);
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, FastjsonFormatter(Escape::Fastjson));
    match v.serialize(&mut serializer) {
        Ok(()) => Bytes::from(out),
        Err(_) => Bytes::new(),
    }
}

/// `#[serde(default, deserialize_with = "null_as_default")]`: reads JSON `null` as the
/// field's default. fastjson never writes nulls, but Go peers serialise nil slices and maps
/// as `null`, and fastjson itself reads `null` into an empty field.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Copies `input`, wrapping every bare integer found in object-key position in quotes;
/// borrows `input` unchanged when there is none. String contents, escaped quotes included,
/// are never altered; malformed input is passed through for serde_json to reject.
fn quote_integer_keys(input: &[u8]) -> Cow<'_, [u8]> {
    rewrite_keys(
        input,
        16,
        |input, at| match input.get(at) {
            Some(b'-' | b'0'..=b'9') => {
                let end = integer_end(input, at);
                let digits = input.get(at..end).unwrap_or_default();
                if digits.iter().any(u8::is_ascii_digit) {
                    KeyEdit::Replace(end)
                } else {
                    KeyEdit::Skip(end)
                }
            }
            _ => KeyEdit::Keep,
        },
        |buf, digits| {
            buf.push(b'"');
            buf.extend_from_slice(digits);
            buf.push(b'"');
        },
    )
}

/// What [`rewrite_keys`] does with a value that starts in object-key position.
pub(crate) enum KeyEdit {
    /// Not one to rewrite: scanned as any other value.
    Keep,
    /// Passed over unchanged up to this index.
    Skip(usize),
    /// Replaced, up to this index, by what the writer appends for it.
    Replace(usize),
    /// Scanning ends here; the rest is copied unchanged.
    Stop,
}

/// Copies `input`, letting `edit` decide about each value that starts where an object key
/// is due and `write` append the replacement of each one it replaces; borrows `input`
/// unchanged when nothing is replaced (`reserve` is the room to add on the first copy).
/// Only the structure is tracked (which container is open, whether a key is due), so string
/// contents are never altered.
pub(crate) fn rewrite_keys(
    input: &[u8],
    reserve: usize,
    mut edit: impl FnMut(&[u8], usize) -> KeyEdit,
    mut write: impl FnMut(&mut Vec<u8>, &[u8]),
) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    // `input[..copied]` has already been appended to `out`.
    let mut copied = 0;
    // One entry per open container, `true` for an object. It grows by one byte per opening
    // bracket, so it is bounded by the input; serde_json rejects deep nesting afterwards.
    let mut open_objects: Vec<bool> = Vec::new();
    let mut key_due = false;
    let mut i = 0;
    while let Some(&byte) = input.get(i) {
        if key_due {
            match edit(input, i) {
                KeyEdit::Keep => {}
                KeyEdit::Skip(end) => {
                    i = end;
                    key_due = false;
                    continue;
                }
                KeyEdit::Replace(end) => {
                    let buf = out.get_or_insert_with(|| Vec::with_capacity(input.len() + reserve));
                    buf.extend_from_slice(input.get(copied..i).unwrap_or_default());
                    write(buf, input.get(i..end).unwrap_or_default());
                    copied = end;
                    i = end;
                    key_due = false;
                    continue;
                }
                KeyEdit::Stop => break,
            }
        }
        match byte {
            b'"' => {
                i = string_end(input, i);
                key_due = false;
                continue;
            }
            b'{' => {
                open_objects.push(true);
                key_due = true;
            }
            b'[' => {
                open_objects.push(false);
                key_due = false;
            }
            b'}' | b']' => {
                open_objects.pop();
                key_due = false;
            }
            b',' => key_due = open_objects.last() == Some(&true),
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => key_due = false,
        }
        i += 1;
    }
    match out {
        Some(mut buf) => {
            buf.extend_from_slice(input.get(copied..).unwrap_or_default());
            Cow::Owned(buf)
        }
        None => Cow::Borrowed(input),
    }
}

/// Index just past the string literal opening at `start`, or the input length when the
/// literal is unterminated.
pub(crate) fn string_end(input: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&byte) = input.get(i) {
        match byte {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    input.len()
}

/// Index just past the object or array opening at `start`, or `None` when it never closes.
pub(crate) fn container_end(input: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&byte) = input.get(i) {
        match byte {
            b'"' => {
                i = string_end(input, i);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index just past the `-?[0-9]*` run starting at `start`.
fn integer_end(input: &[u8], start: usize) -> usize {
    let mut i = start;
    if input.get(i) == Some(&b'-') {
        i += 1;
    }
    while input.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// Which characters a string gets escaped for, following fastjson 1.2's `SerializeWriter`.
/// Every choice is valid JSON; they differ only in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Escape {
    /// fastjson's default: `"`, `\`, control characters, U+007F..U+009F, U+2028 and U+2029.
    #[default]
    Fastjson,
    /// `SerializerFeature.BrowserCompatible` (the standard-JSON route answer): additionally
    /// `/` as `\/` and every character from U+007F up as `\uXXXX` UTF-16 units.
    BrowserCompatible,
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn push_unicode_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(b"\\u");
    for shift in [12u16, 8, 4, 0] {
        out.push(HEX_UPPER[usize::from((unit >> shift) & 0xF)]);
    }
}

/// Appends the escaped contents of `s` (no surrounding quotes) to `out`.
fn escape_into(out: &mut Vec<u8>, s: &str, escape: Escape) {
    let bytes = s.as_bytes();
    let mut plain_from = 0;
    for (at, c) in s.char_indices() {
        let short = match c {
            '"' => Some(b'"'),
            '\\' => Some(b'\\'),
            '\u{8}' => Some(b'b'),
            '\t' => Some(b't'),
            '\n' => Some(b'n'),
            '\u{c}' => Some(b'f'),
            '\r' => Some(b'r'),
            '/' if escape == Escape::BrowserCompatible => Some(b'/'),
            _ => None,
        };
        let as_unicode = match escape {
            Escape::Fastjson => {
                c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c) || c == '\u{2028}' || c == '\u{2029}'
            }
            Escape::BrowserCompatible => !(' '..'\u{7f}').contains(&c),
        };
        if short.is_none() && !as_unicode {
            continue;
        }
        out.extend_from_slice(&bytes[plain_from..at]);
        plain_from = at + c.len_utf8();
        match short {
            Some(letter) => out.extend_from_slice(&[b'\\', letter]),
            None => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_unicode_escape(out, *unit);
                }
            }
        }
    }
    out.extend_from_slice(&bytes[plain_from..]);
}

/// A serde_json formatter that is compact and escapes strings like fastjson.
struct FastjsonFormatter(Escape);

impl Formatter for FastjsonFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let mut escaped = Vec::with_capacity(fragment.len());
        escape_into(&mut escaped, fragment, self.0);
        writer.write_all(&escaped)
    }

    fn write_char_escape<W>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let c = match char_escape {
            CharEscape::Quote => '"',
            CharEscape::ReverseSolidus => '\\',
            CharEscape::Solidus => '/',
            CharEscape::Backspace => '\u{8}',
            CharEscape::FormFeed => '\u{c}',
            CharEscape::LineFeed => '\n',
            CharEscape::CarriageReturn => '\r',
            CharEscape::Tab => '\t',
            CharEscape::AsciiControl(byte) => char::from(byte),
        };
        let mut escaped = Vec::with_capacity(6);
        escape_into(&mut escaped, c.encode_utf8(&mut [0u8; 4]), self.0);
        writer.write_all(&escaped)
    }
}

/// Writes compact JSON token by token, for bodies whose fastjson form serde cannot produce
/// (unquoted integer keys). Commas are inserted automatically; the caller is responsible for
/// pairing `begin_*`/`end_*` and for writing a key before each object member.
#[derive(Debug, Default)]
pub struct JsonWriter {
    out: Vec<u8>,
    escape: Escape,
    /// A value or member was completed at the current level, so the next one needs a comma.
    comma_due: bool,
    /// A key was just written, so the next value follows its colon without a comma.
    after_key: bool,
}

impl JsonWriter {
    pub fn new(escape: Escape) -> Self {
        JsonWriter {
            out: Vec::with_capacity(256),
            escape,
            comma_due: false,
            after_key: false,
        }
    }

    fn begin_value(&mut self) {
        if self.after_key {
            self.after_key = false;
        } else if self.comma_due {
            self.out.push(b',');
        }
    }

    pub fn begin_object(&mut self) -> &mut Self {
        self.begin_value();
        self.out.push(b'{');
        self.comma_due = false;
        self
    }

    pub fn end_object(&mut self) -> &mut Self {
        self.out.push(b'}');
        self.comma_due = true;
        self
    }

    pub fn begin_array(&mut self) -> &mut Self {
        self.begin_value();
        self.out.push(b'[');
        self.comma_due = false;
        self
    }

    pub fn end_array(&mut self) -> &mut Self {
        self.out.push(b']');
        self.comma_due = true;
        self
    }

    /// A string member name.
    pub fn key(&mut self, name: &str) -> &mut Self {
        self.begin_value();
        self.push_string(name);
        self.out.push(b':');
        self.after_key = true;
        self
    }

    /// An integer member name: `"0":` when `quoted`, fastjson's bare `0:` otherwise.
    pub fn int_key(&mut self, id: i64, quoted: bool) -> &mut Self {
        self.begin_value();
        if quoted {
            self.out.push(b'"');
        }
        self.out.extend_from_slice(id.to_string().as_bytes());
        if quoted {
            self.out.push(b'"');
        }
        self.out.push(b':');
        self.after_key = true;
        self
    }

    pub fn string(&mut self, value: &str) -> &mut Self {
        self.begin_value();
        self.push_string(value);
        self.comma_due = true;
        self
    }

    pub fn number(&mut self, value: i64) -> &mut Self {
        self.raw(value.to_string().as_bytes())
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.raw(if value { b"true" } else { b"false" })
    }

    /// A value that is already JSON text, copied verbatim.
    pub fn raw(&mut self, json: &[u8]) -> &mut Self {
        self.begin_value();
        self.out.extend_from_slice(json);
        self.comma_due = true;
        self
    }

    fn push_string(&mut self, s: &str) {
        self.out.push(b'"');
        escape_into(&mut self.out, s, self.escape);
        self.out.push(b'"');
    }

    pub fn finish(self) -> Bytes {
        Bytes::from(self.out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn bare_integer_keys_are_quoted_including_negative_ones() {
        let map: BTreeMap<i64, String> = from_json(br#"{0:"a",-1:"b", 17 :"c"}"#).unwrap();
        assert_eq!(map.get(&0).map(String::as_str), Some("a"));
        assert_eq!(map.get(&-1).map(String::as_str), Some("b"));
        assert_eq!(map.get(&17).map(String::as_str), Some("c"));
    }

    #[test]
    fn quoted_integer_keys_still_decode() {
        let map: BTreeMap<i64, String> = from_json(br#"{"0":"a","1":"b"}"#).unwrap();
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn string_contents_are_never_rewritten() {
        let text = br#"{"k":"{0:\"x\",1:2}","n":[1,{2:"v"}],"e":"\\"}"#;
        let normalised = quote_integer_keys(text);
        assert_eq!(
            &normalised[..],
            br#"{"k":"{0:\"x\",1:2}","n":[1,{"2":"v"}],"e":"\\"}"#
        );
    }

    #[test]
    fn numbers_in_value_and_array_position_are_left_alone() {
        let text = br#"{"a":1,"b":[0,-1,2],"c":{"d":3}}"#;
        assert!(matches!(quote_integer_keys(text), Cow::Borrowed(_)));
    }

    #[test]
    fn lone_minus_in_key_position_is_not_turned_into_a_key() {
        assert!(from_json::<BTreeMap<String, i32>>(br#"{-:1}"#).is_err());
    }

    #[test]
    fn errors_carry_the_serde_message() {
        match from_json::<BTreeMap<String, i32>>(b"{\"a\":") {
            Err(ProtocolError::InvalidBody(message)) => {
                assert!(message.contains("EOF"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn default_escaping_matches_fastjson() {
        let s = "q\" b\\ nl\n vt\u{b} del\u{7f} nbsp\u{a0} é / \u{2028}";
        let json = to_json(&s);
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            "\"q\\\" b\\\\ nl\\n vt\\u000B del\\u007F nbsp\u{a0} é / \\u2028\""
        );
        let back: String = from_json(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn browser_compatible_escaping_matches_fastjson() {
        let mut w = JsonWriter::new(Escape::BrowserCompatible);
        w.string("a/é😀\u{1}");
        let json = w.finish();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#""a\/\u00E9\uD83D\uDE00\u0001""#
        );
        let back: String = from_json(&json).unwrap();
        assert_eq!(back, "a/é😀\u{1}");
    }

    #[test]
    fn writer_places_commas_between_members_and_elements() {
        let mut w = JsonWriter::new(Escape::Fastjson);
        w.begin_object();
        w.key("a")
            .begin_array()
            .number(1)
            .number(-2)
            .begin_object()
            .end_object()
            .end_array();
        w.int_key(0, false).string("x");
        w.int_key(1, true).bool(false);
        w.key("r").raw(b"{}");
        w.end_object();
        assert_eq!(
            &w.finish()[..],
            br#"{"a":[1,-2,{}],0:"x","1":false,"r":{}}"#
        );
    }

    #[test]
    fn normaliser_never_panics_on_arbitrary_bytes() {
        for input in super::super::arbitrary_inputs(500, b"{}[]:,\"\\-0123456789 ax\t") {
            let _ = from_json::<serde_json::Value>(&input);
        }
    }
}
