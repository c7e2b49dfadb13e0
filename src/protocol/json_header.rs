//! A fast reader for the JSON headers every RocketMQ client sends: one flat object of
//! integers and strings plus `extFields`, an object of strings (numbers, booleans and nulls
//! from C++ and Node clients). It reads exactly that shape in one pass without building a
//! JSON value, and gives up (`None`) on anything else — escapes beyond the simple ones,
//! fractions, nested values, unknown or repeated keys — so that the general serde path
//! decides those, errors included. What it accepts, it decodes exactly as the serde path
//! does; the `frame_header` fuzz target checks that on every input it reads.

use bytes::Bytes;

use super::command::{ExtFields, LanguageCode, RemotingCommand, SerializeType};

/// The command in `bytes`, or `None` when the general decoder must decide.
pub(crate) fn decode(bytes: &[u8]) -> Option<RemotingCommand> {
    let mut r = Reader { b: bytes, i: 0 };
    let mut cmd = RemotingCommand {
        code: 0,
        language: LanguageCode::JAVA,
        version: 0,
        opaque: 0,
        flag: 0,
        remark: None,
        ext_fields: None,
        serialize_type: SerializeType::Json,
        body: Bytes::new(),
    };
    let mut seen = 0u8;
    r.require(b'{')?;
    if !r.eat(b'}') {
        loop {
            let key = r.plain_string()?;
            r.require(b':')?;
            let bit = match key {
                "code" => {
                    cmd.code = r.int32()?;
                    1
                }
                "language" => {
                    if let Some(name) = r.string_or_null()? {
                        cmd.language = LanguageCode::from_name(&name);
                    }
                    2
                }
                "version" => {
                    cmd.version = r.int32()?;
                    4
                }
                "opaque" => {
                    cmd.opaque = r.int32()?;
                    8
                }
                "flag" => {
                    cmd.flag = r.int32()?;
                    16
                }
                "remark" => {
                    cmd.remark = r.string_or_null()?;
                    32
                }
                "extFields" => {
                    cmd.ext_fields = r.fields()?;
                    64
                }
                "serializeTypeCurrentRPC" => {
                    r.string_or_null()?;
                    128
                }
                _ => return None,
            };
            if seen & bit != 0 {
                return None; // serde refuses a repeated field; let it say so
            }
            seen |= bit;
            if r.eat(b'}') {
                break;
            }
            r.require(b',')?;
        }
    }
    r.skip_ws();
    (r.i == r.b.len()).then_some(cmd)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn skip_ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn require(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.b.get(self.i).copied()
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    /// A string without escapes, borrowed (keys).
    fn plain_string(&mut self) -> Option<&'a str> {
        self.require(b'"')?;
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' => return None,
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        let s = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        self.i += 1;
        Some(s)
    }

    /// A string value; the simple escapes are undone, `\u` sends it to serde.
    fn string(&mut self) -> Option<String> {
        self.require(b'"')?;
        let start = self.i;
        let mut out: Option<Vec<u8>> = None;
        loop {
            let c = *self.b.get(self.i)?;
            match c {
                b'"' => break,
                b'\\' => {
                    let out = out.get_or_insert_with(|| self.b[start..self.i].to_vec());
                    let e = *self.b.get(self.i + 1)?;
                    out.push(match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            // Java writes the property separators \u0001 and \u0002.
                            let c = self.unicode_escape()?;
                            let mut utf8 = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                            continue;
                        }
                        _ => return None,
                    });
                    self.i += 2;
                }
                c if c < 0x20 => return None,
                c => {
                    if let Some(out) = out.as_mut() {
                        out.push(c);
                    }
                    self.i += 1;
                }
            }
        }
        let bytes = match out {
            Some(v) => v,
            None => self.b[start..self.i].to_vec(),
        };
        self.i += 1;
        String::from_utf8(bytes).ok()
    }

    /// `\uXXXX` at the reader (a surrogate pair counts as one); a lone surrogate goes to
    /// serde, which refuses it.
    fn unicode_escape(&mut self) -> Option<char> {
        let unit = |at: usize| -> Option<u32> {
            let hex = self.b.get(at..at + 6)?;
            if hex[0] != b'\\' || hex[1] != b'u' || !hex[2..].iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            u32::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
        };
        let first = unit(self.i)?;
        let (code, len) = match first {
            0xD800..=0xDBFF => {
                let second = unit(self.i + 6)?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return None;
                }
                (0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00), 12)
            }
            0xDC00..=0xDFFF => return None,
            c => (c, 6),
        };
        self.i += len;
        char::from_u32(code)
    }

    fn string_or_null(&mut self) -> Option<Option<String>> {
        if self.peek()? == b'n' {
            return self.literal(b"null").then_some(None);
        }
        self.string().map(Some)
    }

    /// An integer literal as written: `0` or `-?[1-9][0-9]{0,17}` (always an i64, and
    /// written exactly as serde prints it back).
    fn integer_text(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        let n = self.i - digits;
        let first = *self.b.get(digits)?;
        if n == 0 || n > 18 || (first == b'0' && (n > 1 || digits > start)) {
            return None;
        }
        if matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i]).ok()
    }

    fn int32(&mut self) -> Option<i32> {
        self.integer_text()?.parse().ok()
    }

    fn fields(&mut self) -> Option<Option<ExtFields>> {
        if self.peek()? == b'n' {
            return self.literal(b"null").then_some(None);
        }
        self.require(b'{')?;
        let mut ext = ExtFields::new();
        if self.eat(b'}') {
            return Some(Some(ext));
        }
        loop {
            let key = self.plain_string()?;
            self.require(b':')?;
            let value = match self.peek()? {
                b'"' => Some(self.string()?),
                b't' => self.literal(b"true").then(|| "true".to_owned()),
                b'f' => self.literal(b"false").then(|| "false".to_owned()),
                b'n' => {
                    if !self.literal(b"null") {
                        return None;
                    }
                    None
                }
                b'-' | b'0'..=b'9' => Some(self.integer_text()?.to_owned()),
                _ => return None,
            };
            match value {
                Some(v) => {
                    ext.insert(key.to_owned(), v);
                }
                None => {
                    ext.remove(key);
                }
            }
            if self.eat(b'}') {
                return Some(Some(ext));
            }
            self.require(b',')?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_java_and_cpp_clients_send() {
        let java = br#"{"code":310,"extFields":{"a":"G","b":"T","e":"3","i":"TAGS\u0001x","n":"y\"z\\w"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":399}"#;
        let cmd = decode(java).unwrap();
        assert_eq!(cmd.ext("i"), Some("TAGS\u{1}x"));
        let java = br#"{"code":310,"extFields":{"a":"G","b":"T","e":"3","n":"y\"z\\w\/"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":399}"#;
        let cmd = decode(java).unwrap();
        assert_eq!(
            (cmd.code, cmd.opaque, cmd.version, cmd.flag),
            (310, 42, 399, 0)
        );
        assert_eq!(cmd.language, LanguageCode::JAVA);
        assert_eq!(cmd.ext("n"), Some("y\"z\\w/"));
        assert_eq!(cmd.ext_fields.as_ref().map(|e| e.len()), Some(4));
        let cpp = br#" { "code" : 10 , "language" : "CPP", "extFields" : { "e" : 0, "k" : false, "g" : -1700000000000, "n" : null, "t": true } , "remark": null } "#;
        let cmd = decode(cpp).unwrap();
        assert_eq!(cmd.language, LanguageCode::CPP);
        assert_eq!(cmd.ext("e"), Some("0"));
        assert_eq!(cmd.ext("k"), Some("false"));
        assert_eq!(cmd.ext("t"), Some("true"));
        assert_eq!(cmd.ext("g"), Some("-1700000000000"));
        assert_eq!(cmd.ext("n"), None);
        assert_eq!(cmd.remark, None);
        let cmd = decode(br#"{"remark":"\u0041\u00e9\ud83d\ude00\u0001"}"#).unwrap();
        assert_eq!(cmd.remark.as_deref(), Some("A\u{e9}\u{1f600}\u{1}"));
    }

    #[test]
    fn leaves_everything_unusual_to_the_general_decoder() {
        for input in [
            &br#"{"code":1,"code":2}"#[..],
            br#"{"code":1.5}"#,
            br#"{"code":01}"#,
            br#"{"code":-0}"#,
            br#"{"code":99999999999}"#,
            br#"{"other":1}"#,
            br#"{"extFields":{"a":{"b":1}}}"#,
            br#"{"extFields":{"a":[1]}}"#,
            br#"{"extFields":{"a":1e3}}"#,
            br#"{"extFields":{"a\"":"b"}}"#,
            br#"{"code":1}x"#,
            br#"{"code":1"#,
            br#"{"remark":"a\ud800"}"#,
            br#"{"remark":"a\udc00"}"#,
            br#"{"remark":"a\ud800\u0041"}"#,
            br#"{"remark":"a\u00g1"}"#,
            br#"{"remark":"a\u+0041"}"#,
            br#"{"remark":"tab	inside"}"#,
            br#"{"extFields":{"a":nul}}"#,
            b"",
            b"[]",
        ] {
            assert!(
                decode(input).is_none(),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        assert!(decode(b"{}").is_some());
    }
}
