//! `RemotingCommand`: the one message shape of RocketMQ's remoting protocol, and its two
//! header encodings. A frame's payload (everything after the 4-byte length) enters through
//! [`RemotingCommand::decode`]; [`RemotingCommand::encode`] writes a whole frame, length
//! included. JSON (serialize type 0) is written the way fastjson writes it: compact, keys in
//! alphabetical order, null members left out. ROCKETMQ (type 1) is the fixed 21-byte binary
//! layout followed by the remark and the ext-field map (reference §1.3).

use std::collections::BTreeMap;
use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::Deserialize;

use super::code::{request_name, response, response_name};
use super::error::ProtocolError;
use super::header::CommandHeader;

/// Custom header fields. Kept sorted so encoded headers are deterministic.
pub type ExtFields = BTreeMap<String, String>;

/// Bit 0 of `flag`: the command is a response.
pub const FLAG_RESPONSE: i32 = 0x1;
/// Bit 1 of `flag`: the request is oneway; the receiver never replies, not even with an error.
pub const FLAG_ONEWAY: i32 = 0x2;

/// The version ordinal Ferrocket puts into everything it sends: `V4_9_8` (409). Java
/// clients read it from heartbeat responses and enable SQL92 filtering only above 232.
pub const CURRENT_VERSION: i32 = 409;

/// The `MQVersion.Version` name of a version ordinal. From V4_0_0_SNAPSHOT (212) on, every
/// release `x.y.z` has a SNAPSHOT ordinal followed by the release's; y and z run 0–9.
/// Older (3.x) ordinals are named `V3(<ordinal>)`.
pub fn version_name(ordinal: i32) -> String {
    const V4_SNAPSHOT: i32 = 212;
    if ordinal < V4_SNAPSHOT {
        return format!("V3({ordinal})");
    }
    let step = (ordinal - V4_SNAPSHOT) / 2;
    let (major, minor, patch) = (4 + step / 100, step / 10 % 10, step % 10);
    let snapshot = if (ordinal - V4_SNAPSHOT) % 2 == 0 {
        "_SNAPSHOT"
    } else {
        ""
    };
    format!("V{major}_{minor}_{patch}{snapshot}")
}

/// The highest version that still receives route data with unquoted integer map keys
/// (`V4_9_4` = 401 and later get standard JSON, reference §3.2).
pub const V4_9_4: i32 = 401;

/// Header encoding: the top byte of the header-length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    #[default]
    Json,
    RocketMq,
}

impl SerializeType {
    pub fn from_byte(b: u8) -> Result<Self, ProtocolError> {
        match b {
            0 => Ok(SerializeType::Json),
            1 => Ok(SerializeType::RocketMq),
            other => Err(ProtocolError::UnknownSerializeType(other)),
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }
}

/// The sender's language: a byte in the binary header, the enum name in JSON.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LanguageCode(pub u8);

const LANGUAGE_NAMES: [&str; 14] = [
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP",
    "OMS", "RUST", "NODE_JS",
];

impl LanguageCode {
    pub const JAVA: LanguageCode = LanguageCode(0);
    pub const CPP: LanguageCode = LanguageCode(1);
    pub const PYTHON: LanguageCode = LanguageCode(3);
    pub const OTHER: LanguageCode = LanguageCode(7);
    pub const GO: LanguageCode = LanguageCode(9);
    pub const RUST: LanguageCode = LanguageCode(12);
    pub const NODE_JS: LanguageCode = LanguageCode(13);

    /// The Java enum name; codes Java does not know render as `OTHER`.
    pub fn name(self) -> &'static str {
        LANGUAGE_NAMES
            .get(self.0 as usize)
            .copied()
            .unwrap_or("OTHER")
    }

    /// Any string is accepted on input; names Java does not know become `OTHER`.
    pub fn from_name(name: &str) -> LanguageCode {
        LANGUAGE_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| LanguageCode(i as u8))
            .unwrap_or(LanguageCode::OTHER)
    }
}

impl fmt::Debug for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One request or response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemotingCommand {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    /// `None` omits the `extFields` key entirely, as Java does when a command has no custom
    /// header; `Some(empty)` writes `"extFields":{}`.
    pub ext_fields: Option<ExtFields>,
    /// The encoding this command arrived in, and the one [`encode`](Self::encode) writes.
    pub serialize_type: SerializeType,
    pub body: Bytes,
}

impl RemotingCommand {
    /// A request from this process (language RUST).
    pub fn request(code: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::RUST,
            version: CURRENT_VERSION,
            ..Default::default()
        }
    }

    /// A request whose ext fields come from a typed header.
    pub fn request_with<H: CommandHeader>(code: i32, header: &H) -> Self {
        let mut cmd = Self::request(code);
        cmd.set_header(header);
        cmd
    }

    /// A response with a code and remark; [`answer`](Self::answer) ties it to its request.
    /// Responses say JAVA: C++ and old Node clients only know the Java-side language names.
    pub fn response(code: i32, remark: impl Into<Option<String>>) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::JAVA,
            version: CURRENT_VERSION,
            flag: FLAG_RESPONSE,
            remark: remark.into(),
            ..Default::default()
        }
    }

    pub fn success() -> Self {
        Self::response(response::SUCCESS, None)
    }

    /// Makes `self` the reply to `request`: same opaque, response flag, and the request's
    /// header encoding (C++ and Node clients only read JSON, and only send JSON).
    pub fn answer(mut self, request: &RemotingCommand) -> Self {
        self.opaque = request.opaque;
        self.flag |= FLAG_RESPONSE;
        self.serialize_type = request.serialize_type;
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub fn with_header<H: CommandHeader>(mut self, header: &H) -> Self {
        self.set_header(header);
        self
    }

    pub fn set_header<H: CommandHeader>(&mut self, header: &H) {
        header.write_ext_fields(self.ext_fields.get_or_insert_with(ExtFields::new));
    }

    /// Reads a typed header from the ext fields (absent ext fields read as empty).
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, ProtocolError> {
        static EMPTY: ExtFields = ExtFields::new();
        H::read_ext_fields(self.ext_fields.as_ref().unwrap_or(&EMPTY))
    }

    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.as_ref()?.get(key).map(String::as_str)
    }

    pub fn put_ext(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.ext_fields
            .get_or_insert_with(ExtFields::new)
            .insert(key.into(), value.into());
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    pub fn mark_oneway(&mut self) {
        self.flag |= FLAG_ONEWAY;
    }

    /// A readable name for logs: the request or response code's Java name.
    pub fn code_name(&self) -> &'static str {
        let name = if self.is_response() {
            response_name(self.code)
        } else {
            request_name(self.code)
        };
        name.unwrap_or("UNKNOWN")
    }

    /// Decodes a frame payload: the header-length word, the header and the body. `frame`
    /// excludes the 4-byte length prefix, which the frame codec has already consumed.
    pub fn decode(mut frame: Bytes) -> Result<Self, ProtocolError> {
        if frame.len() < 4 {
            return Err(ProtocolError::FrameTooSmall(frame.len() as i64));
        }
        let word = frame.get_u32();
        let serialize_type = SerializeType::from_byte((word >> 24) as u8)?;
        let header_len = (word & 0x00FF_FFFF) as usize;
        if header_len > frame.len() {
            return Err(ProtocolError::HeaderTooLong {
                header: header_len,
                available: frame.len(),
            });
        }
        let header = frame.split_to(header_len);
        let mut cmd = match serialize_type {
            SerializeType::Json => decode_json_header(&header)?,
            SerializeType::RocketMq => decode_binary_header(header)?,
        };
        cmd.serialize_type = serialize_type;
        cmd.body = frame;
        Ok(cmd)
    }

    /// Appends the whole frame (length prefix, header word, header, body) to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        self.encode_head(dst);
        dst.extend_from_slice(&self.body);
    }

    /// Appends the frame without its body (length prefix, header word, header) to `dst`:
    /// the body follows as it is, so a writer can send it without copying it
    /// ([`to_frame_parts`](Self::to_frame_parts)).
    pub fn encode_head(&self, dst: &mut BytesMut) {
        let start = dst.len();
        dst.put_u32(0); // length, patched below
        dst.put_u32(0); // header word, patched below
        let header_start = dst.len();
        let kind = match self.serialize_type {
            SerializeType::RocketMq if self.fits_binary_header() => {
                encode_binary_header(self, dst);
                SerializeType::RocketMq
            }
            // Codes above 32767 cannot travel in the binary header; JSON always can.
            _ => {
                encode_json_header(self, dst);
                SerializeType::Json
            }
        };
        let header_len = dst.len() - header_start;
        let total = (dst.len() - start - 4 + self.body.len()) as u32;
        dst[start..start + 4].copy_from_slice(&total.to_be_bytes());
        let word = ((kind.byte() as u32) << 24) | (header_len as u32 & 0x00FF_FFFF);
        dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
    }

    /// The frame as its head ([`encode_head`](Self::encode_head)) and its body, which is
    /// shared, not copied: a pull's body goes from the buffer it was assembled in straight
    /// to the socket.
    pub fn to_frame_parts(&self) -> (Bytes, Bytes) {
        let mut head = BytesMut::with_capacity(self.head_capacity());
        self.encode_head(&mut head);
        (head.freeze(), self.body.clone())
    }

    /// The whole frame as one buffer.
    pub fn to_frame(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.head_capacity() + self.body.len());
        self.encode(&mut buf);
        buf.freeze()
    }

    /// Enough for the head in either encoding, so the buffer never grows.
    fn head_capacity(&self) -> usize {
        let fields: usize = self
            .ext_fields
            .iter()
            .flatten()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum();
        let remark = self.remark.as_ref().map_or(0, |r| r.len() + 16);
        160 + fields + remark
    }

    fn fits_binary_header(&self) -> bool {
        i16::try_from(self.code).is_ok() && i16::try_from(self.version).is_ok()
    }
}

// ---- JSON header -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonHeader<'a> {
    #[serde(default)]
    code: i32,
    #[serde(default, borrow)]
    language: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, deserialize_with = "ext_fields_from_json")]
    ext_fields: Option<ExtFields>,
}

fn decode_json_header(bytes: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    match super::json_header::decode(bytes) {
        Some(cmd) => Ok(cmd),
        None => decode_json_header_general(bytes),
    }
}

/// Any JSON header, through serde: what the fast reader leaves, and every error.
pub(crate) fn decode_json_header_general(bytes: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    let h: JsonHeader = serde_json::from_slice(bytes)
        .map_err(|e| ProtocolError::InvalidJsonHeader(e.to_string()))?;
    Ok(RemotingCommand {
        code: h.code,
        language: h
            .language
            .as_deref()
            .map(LanguageCode::from_name)
            .unwrap_or(LanguageCode::JAVA),
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields: h.ext_fields,
        serialize_type: SerializeType::Json,
        body: Bytes::new(),
    })
}

/// `extFields` straight into [`ExtFields`], without an intermediate JSON value tree.
fn ext_fields_from_json<'de, D>(d: D) -> Result<Option<ExtFields>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Fields;
    impl<'de> serde::de::Visitor<'de> for Fields {
        type Value = Option<ExtFields>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of header fields")
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(
            self,
            mut map: M,
        ) -> Result<Self::Value, M::Error> {
            let mut ext = ExtFields::new();
            while let Some(key) = map.next_key::<String>()? {
                match map.next_value::<FieldText>()?.0 {
                    Some(v) => {
                        ext.insert(key, v);
                    }
                    None => {
                        ext.remove(&key);
                    }
                }
            }
            Ok(Some(ext))
        }
    }
    d.deserialize_option(Fields)
}

/// One `extFields` value as text. C++ and Node clients put numbers and booleans there;
/// fastjson turns them into their text, and so do we. A null value means the field is
/// absent.
struct FieldText(Option<String>);

impl<'de> Deserialize<'de> for FieldText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> serde::de::Visitor<'de> for Text {
            type Value = FieldText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a header field value")
            }
            fn visit_str<E>(self, v: &str) -> Result<FieldText, E> {
                Ok(FieldText(Some(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<FieldText, E> {
                Ok(FieldText(Some(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<FieldText, E> {
                Ok(FieldText(Some(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<FieldText, E> {
                Ok(FieldText(Some(v.to_string())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<FieldText, E> {
                Ok(FieldText(Some(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<FieldText, E> {
                Ok(FieldText(Some(serde_json::Value::from(v).to_string())))
            }
            fn visit_unit<E>(self) -> Result<FieldText, E> {
                Ok(FieldText(None))
            }
            fn visit_none<E>(self) -> Result<FieldText, E> {
                Ok(FieldText(None))
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                map: M,
            ) -> Result<FieldText, M::Error> {
                nested_json_text(serde::de::value::MapAccessDeserializer::new(map))
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                seq: S,
            ) -> Result<FieldText, S::Error> {
                nested_json_text(serde::de::value::SeqAccessDeserializer::new(seq))
            }
        }
        /// An object or array value keeps its JSON text.
        fn nested_json_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FieldText, D::Error> {
            Ok(FieldText(Some(
                serde_json::Value::deserialize(d)?.to_string(),
            )))
        }
        d.deserialize_any(Text)
    }
}

fn encode_json_header(cmd: &RemotingCommand, dst: &mut BytesMut) {
    use std::fmt::Write as _;
    let mut w = JsonText(dst);
    let _ = write!(w, "{{\"code\":{}", cmd.code);
    if let Some(ext) = &cmd.ext_fields {
        w.push_str(",\"extFields\":{");
        for (i, (k, v)) in ext.iter().enumerate() {
            if i > 0 {
                w.push_str(",");
            }
            w.push_json_string(k);
            w.push_str(":");
            w.push_json_string(v);
        }
        w.push_str("}");
    }
    let _ = write!(
        w,
        ",\"flag\":{},\"language\":\"{}\",\"opaque\":{}",
        cmd.flag,
        cmd.language.name(),
        cmd.opaque
    );
    if let Some(remark) = &cmd.remark {
        w.push_str(",\"remark\":");
        w.push_json_string(remark);
    }
    let _ = write!(
        w,
        ",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":{}}}",
        cmd.version
    );
}

/// A `fmt::Write` over a byte buffer, with JSON string escaping.
pub(crate) struct JsonText<'a>(pub &'a mut BytesMut);

impl JsonText<'_> {
    pub(crate) fn push_str(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    /// Writes `s` as a JSON string literal.
    pub(crate) fn push_json_string(&mut self, s: &str) {
        write_json_string(self.0, s);
    }
}

impl fmt::Write for JsonText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// Writes `s` as a JSON string literal: quotes, backslash and control characters escaped.
pub(crate) fn write_json_string(dst: &mut BytesMut, s: &str) {
    dst.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0C => Some(b"\\f"),
            0x00..=0x1F => None,
            _ => continue,
        };
        dst.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => dst.extend_from_slice(e),
            None => {
                let _ = fmt::Write::write_fmt(&mut JsonText(dst), format_args!("\\u{:04x}", b));
            }
        }
        start = i + 1;
    }
    dst.extend_from_slice(&bytes[start..]);
    dst.put_u8(b'"');
}

// ---- ROCKETMQ binary header --------------------------------------------------------

const BINARY_FIXED_LEN: usize = 21;

fn decode_binary_header(mut h: Bytes) -> Result<RemotingCommand, ProtocolError> {
    if h.len() < BINARY_FIXED_LEN {
        return Err(ProtocolError::InvalidBinaryHeader(
            "shorter than the fixed 21 bytes",
        ));
    }
    let code = h.get_i16() as i32;
    let language = LanguageCode(h.get_u8());
    let version = h.get_i16() as i32;
    let opaque = h.get_i32();
    let flag = h.get_i32();
    let remark = take_string(&mut h, LenWidth::I32, "remark length exceeds the header")?;
    if h.len() < 4 {
        return Err(ProtocolError::InvalidBinaryHeader(
            "missing ext-fields length",
        ));
    }
    let ext_len = h.get_i32();
    if ext_len < 0 || ext_len as usize > h.len() {
        return Err(ProtocolError::InvalidBinaryHeader(
            "ext-fields length exceeds the header",
        ));
    }
    let mut map_bytes = h.split_to(ext_len as usize);
    let mut ext = ExtFields::new();
    while map_bytes.has_remaining() {
        let key = take_string(
            &mut map_bytes,
            LenWidth::I16,
            "ext-field key exceeds the map",
        )?;
        let value = take_string(
            &mut map_bytes,
            LenWidth::I32,
            "ext-field value exceeds the map",
        )?;
        // Java decodes empty strings as null and a null-keyed or null-valued entry carries
        // nothing a header can read, so it is skipped.
        if let (Some(k), Some(v)) = (key, value) {
            ext.insert(k, v);
        }
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields: if ext.is_empty() { None } else { Some(ext) },
        serialize_type: SerializeType::RocketMq,
        body: Bytes::new(),
    })
}

#[derive(Clone, Copy)]
enum LenWidth {
    I16,
    I32,
}

/// Reads a length-prefixed UTF-8 string; length 0 is Java's null.
fn take_string(
    buf: &mut Bytes,
    width: LenWidth,
    overflow: &'static str,
) -> Result<Option<String>, ProtocolError> {
    let len = match width {
        LenWidth::I16 if buf.len() >= 2 => buf.get_i16() as i64,
        LenWidth::I32 if buf.len() >= 4 => buf.get_i32() as i64,
        _ => return Err(ProtocolError::InvalidBinaryHeader(overflow)),
    };
    if len < 0 || len as usize > buf.len() {
        return Err(ProtocolError::InvalidBinaryHeader(overflow));
    }
    if len == 0 {
        return Ok(None);
    }
    let raw = buf.split_to(len as usize);
    String::from_utf8(raw.to_vec())
        .map(Some)
        .map_err(|_| ProtocolError::InvalidBinaryHeader("string is not UTF-8"))
}

fn encode_binary_header(cmd: &RemotingCommand, dst: &mut BytesMut) {
    dst.put_i16(cmd.code as i16);
    dst.put_u8(cmd.language.0);
    dst.put_i16(cmd.version as i16);
    dst.put_i32(cmd.opaque);
    dst.put_i32(cmd.flag);
    match &cmd.remark {
        Some(r) if !r.is_empty() => {
            dst.put_i32(r.len() as i32);
            dst.extend_from_slice(r.as_bytes());
        }
        _ => dst.put_i32(0),
    }
    let len_pos = dst.len();
    dst.put_i32(0);
    if let Some(ext) = &cmd.ext_fields {
        for (k, v) in ext {
            // Keys longer than an i16 cannot be represented; Java would overflow, we skip.
            if k.is_empty() || v.is_empty() || k.len() > i16::MAX as usize {
                continue;
            }
            dst.put_i16(k.len() as i16);
            dst.extend_from_slice(k.as_bytes());
            dst.put_i32(v.len() as i32);
            dst.extend_from_slice(v.as_bytes());
        }
    }
    let map_len = (dst.len() - len_pos - 4) as i32;
    dst[len_pos..len_pos + 4].copy_from_slice(&map_len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::code::request;

    fn payload(frame: &Bytes) -> Bytes {
        frame.slice(4..)
    }

    /// Java 5.3.3's GET_ROUTEINFO_BY_TOPIC request, exactly as reference §1.2 prints it.
    const JAVA_ROUTE_REQUEST: &str = r#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;

    #[test]
    fn json_header_is_written_as_fastjson_writes_it() {
        let mut cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC);
        cmd.language = LanguageCode::JAVA;
        cmd.version = 479;
        cmd.opaque = 7;
        cmd.put_ext("topic", "TopicTest");
        let frame = cmd.to_frame();
        let header_len = JAVA_ROUTE_REQUEST.len();
        let mut expected = Vec::new();
        expected.extend_from_slice(&((4 + header_len) as u32).to_be_bytes());
        expected.extend_from_slice(&(header_len as u32).to_be_bytes());
        expected.extend_from_slice(JAVA_ROUTE_REQUEST.as_bytes());
        assert_eq!(frame.as_ref(), expected.as_slice());
    }

    #[test]
    fn json_header_round_trips_with_body() {
        let mut cmd =
            RemotingCommand::response(response::TOPIC_NOT_EXIST, Some("no \"route\"\n".into()));
        cmd.opaque = -5;
        cmd.put_ext("k", "v");
        cmd.body = Bytes::from_static(b"\x00\x01body");
        let back = RemotingCommand::decode(payload(&cmd.to_frame())).unwrap();
        assert_eq!(back, cmd);
    }

    #[test]
    fn json_ext_field_numbers_and_booleans_become_strings() {
        let header = br#"{"code":310,"extFields":{"e":0,"k":false,"g":1700000000000,"n":null},"language":"CPP","opaque":3,"version":333}"#;
        let mut frame = BytesMut::new();
        frame.put_u32(header.len() as u32);
        frame.extend_from_slice(header);
        let cmd = RemotingCommand::decode(frame.freeze()).unwrap();
        assert_eq!(cmd.ext("e"), Some("0"));
        assert_eq!(cmd.ext("k"), Some("false"));
        assert_eq!(cmd.ext("g"), Some("1700000000000"));
        assert_eq!(cmd.ext("n"), None);
        assert_eq!(cmd.language, LanguageCode::CPP);
    }

    /// extFields go straight into the map: nested values keep their JSON text, a later
    /// duplicate key wins (a null one removes the field), fractions and escapes survive.
    #[test]
    fn json_ext_fields_read_directly_keep_every_value_as_text() {
        let header = br#"{"code":10,"extFields":{"a":"x\"y\u00e9","o":{"k":[1,true]},"l":[1,"b"],"f":1.5,"d":"1","d":"2","z":"gone","z":null},"opaque":7}"#;
        let mut frame = BytesMut::new();
        frame.put_u32(header.len() as u32);
        frame.extend_from_slice(header);
        let cmd = RemotingCommand::decode(frame.freeze()).unwrap();
        assert_eq!(cmd.ext("a"), Some("x\"y\u{e9}"));
        assert_eq!(cmd.ext("o"), Some(r#"{"k":[1,true]}"#));
        assert_eq!(cmd.ext("l"), Some(r#"[1,"b"]"#));
        assert_eq!(cmd.ext("f"), Some("1.5"));
        assert_eq!(cmd.ext("d"), Some("2"));
        assert_eq!(cmd.ext("z"), None);
        assert_eq!(cmd.ext_fields.as_ref().map(|e| e.len()), Some(5));
        for bad in [
            &br#"{"code":10,"extFields":"x"}"#[..],
            br#"{"code":10,"extFields":{"a":}}"#,
        ] {
            let mut frame = BytesMut::new();
            frame.put_u32(bad.len() as u32);
            frame.extend_from_slice(bad);
            assert!(matches!(
                RemotingCommand::decode(frame.freeze()),
                Err(ProtocolError::InvalidJsonHeader(_))
            ));
        }
        let null = br#"{"code":10,"extFields":null}"#;
        let mut frame = BytesMut::new();
        frame.put_u32(null.len() as u32);
        frame.extend_from_slice(null);
        assert!(RemotingCommand::decode(frame.freeze())
            .unwrap()
            .ext_fields
            .is_none());
    }

    #[test]
    fn missing_json_keys_take_java_defaults_and_unknown_keys_are_ignored() {
        let header = br#"{"code":106,"whatever":[1,2]}"#;
        let mut frame = BytesMut::new();
        frame.put_u32(header.len() as u32);
        frame.extend_from_slice(header);
        let cmd = RemotingCommand::decode(frame.freeze()).unwrap();
        assert_eq!(
            (cmd.code, cmd.opaque, cmd.flag, cmd.version),
            (106, 0, 0, 0)
        );
        assert_eq!(cmd.language, LanguageCode::JAVA);
        assert!(cmd.ext_fields.is_none());
    }

    /// The binary layout of reference §1.3, built by hand field by field.
    #[test]
    fn binary_header_matches_the_reference_layout() {
        let mut cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC);
        cmd.serialize_type = SerializeType::RocketMq;
        cmd.language = LanguageCode::JAVA;
        cmd.version = 479;
        cmd.opaque = 7;
        cmd.remark = Some("hi".into());
        cmd.put_ext("topic", "TopicTest");
        let frame = cmd.to_frame();

        let mut h = BytesMut::new();
        h.put_i16(105);
        h.put_u8(0);
        h.put_i16(479);
        h.put_i32(7);
        h.put_i32(0);
        h.put_i32(2);
        h.extend_from_slice(b"hi");
        h.put_i32(2 + 5 + 4 + 9);
        h.put_i16(5);
        h.extend_from_slice(b"topic");
        h.put_i32(9);
        h.extend_from_slice(b"TopicTest");
        let mut expected = BytesMut::new();
        expected.put_u32(4 + h.len() as u32);
        expected.put_u32(0x0100_0000 | h.len() as u32);
        expected.extend_from_slice(&h);
        assert_eq!(frame.as_ref(), expected.as_ref());

        let back = RemotingCommand::decode(payload(&frame)).unwrap();
        assert_eq!(back, cmd);
    }

    #[test]
    fn a_frame_in_parts_is_the_whole_frame() {
        for kind in [SerializeType::Json, SerializeType::RocketMq] {
            let mut cmd = RemotingCommand::response(response::SUCCESS, Some("r".into()));
            cmd.serialize_type = kind;
            cmd.put_ext("k", "v");
            cmd.body = Bytes::from_static(b"body bytes");
            let (head, body) = cmd.to_frame_parts();
            assert_eq!([&head[..], &body[..]].concat(), cmd.to_frame().to_vec());
            assert_eq!(body.as_ptr(), cmd.body.as_ptr(), "the body is shared");
        }
    }

    #[test]
    fn response_answers_in_the_request_encoding() {
        let mut req = RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO);
        req.serialize_type = SerializeType::RocketMq;
        req.opaque = 42;
        let resp = RemotingCommand::success().answer(&req);
        assert_eq!(resp.opaque, 42);
        assert!(resp.is_response());
        let frame = resp.to_frame();
        assert_eq!(frame[4], 1, "serialize type byte");
    }

    #[test]
    fn codes_too_wide_for_the_binary_header_fall_back_to_json() {
        let mut cmd = RemotingCommand::request(request::POP_MESSAGE);
        cmd.serialize_type = SerializeType::RocketMq;
        let frame = cmd.to_frame();
        assert_eq!(frame[4], 0);
        assert_eq!(
            RemotingCommand::decode(payload(&frame)).unwrap().code,
            200050
        );
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        let cases: Vec<Vec<u8>> = vec![
            vec![0, 0, 0, 9],          // header longer than frame
            vec![2, 0, 0, 0],          // serialize type 2
            vec![0, 0, 0, 1, b'{'],    // truncated JSON
            vec![1, 0, 0, 3, 0, 1, 0], // binary header too short
            {
                let mut v = vec![1, 0, 0, 21];
                v.extend_from_slice(&[0; 13]);
                v.extend_from_slice(&0x7fff_ffffu32.to_be_bytes()); // remark overruns
                v.extend_from_slice(&[0; 4]);
                v
            },
        ];
        for case in cases {
            assert!(
                RemotingCommand::decode(Bytes::from(case.clone())).is_err(),
                "{case:?}"
            );
        }
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut buf = BytesMut::new();
        write_json_string(&mut buf, "a\"b\\c\u{1}é");
        assert_eq!(&buf[..], "\"a\\\"b\\\\c\\u0001é\"".as_bytes());
    }
}
