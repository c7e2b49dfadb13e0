//! The layout of the broker's `config/*.json` files. Java writes them with fastjson's pretty
//! format: each member of a bean or string-keyed map on its own line, indented by tabs, and
//! maps with non-string keys (offset tables) on one line. Java reads any layout, so this is
//! for the people who open the files; [`pretty`] reproduces that shape from compact JSON.

use bytes::Bytes;

use crate::protocol::body::fastjson::{container_end, string_end};

/// Re-lays compact JSON out the way fastjson's pretty format does: objects whose keys are
/// strings get one member per line; arrays, objects with integer or object keys, and empty
/// objects stay on one line. Whitespace outside strings is dropped first. Malformed input is
/// laid out as far as it goes and never panics.
pub fn pretty(compact: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(compact.len() + compact.len() / 4);
    // Depth of the expanded objects currently open; inline containers never reach it.
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&byte) = compact.get(i) {
        match byte {
            b'"' => {
                let end = string_end(compact, i);
                out.extend_from_slice(compact.get(i..end).unwrap_or_default());
                i = end;
                continue;
            }
            b'{' if next_significant(compact, i + 1) == Some(b'"') => {
                depth += 1;
                out.push(b'{');
                newline(&mut out, depth);
            }
            b'{' | b'[' => {
                let end = container_end(compact, i).unwrap_or(compact.len());
                copy_compact(&mut out, compact.get(i..end).unwrap_or_default());
                i = end;
                continue;
            }
            b',' if depth > 0 => {
                out.push(b',');
                newline(&mut out, depth);
            }
            b'}' if depth > 0 => {
                depth -= 1;
                newline(&mut out, depth);
                out.push(b'}');
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => out.push(byte),
        }
        i += 1;
    }
    Bytes::from(out)
}

fn newline(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    out.extend(std::iter::repeat_n(b'\t', depth));
}

/// Copies `text` without the whitespace outside its strings.
fn copy_compact(out: &mut Vec<u8>, text: &[u8]) {
    let mut i = 0;
    while let Some(&byte) = text.get(i) {
        match byte {
            b'"' => {
                let end = string_end(text, i);
                out.extend_from_slice(text.get(i..end).unwrap_or_default());
                i = end;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => out.push(byte),
        }
        i += 1;
    }
}

fn next_significant(input: &[u8], from: usize) -> Option<u8> {
    input
        .get(from..)?
        .iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beans_expand_and_offset_tables_and_arrays_stay_inline() {
        let compact = br#"{"dataVersion":{"counter":1448,"stateVersion":0,"timestamp":1736661762584},"groupTopicMap":{"cg1":["TopicTest","%RETRY%cg1"]},"empty":{},"offsetTable":{"TopicTest@cg1":{0:37960,1:37961},"%RETRY%cg1@cg1":{0:0}},"s":"a,{b}:\"c\""}"#;
        let expected = "{\n\t\"dataVersion\":{\n\t\t\"counter\":1448,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1736661762584\n\t},\n\t\"groupTopicMap\":{\n\t\t\"cg1\":[\"TopicTest\",\"%RETRY%cg1\"]\n\t},\n\t\"empty\":{},\n\t\"offsetTable\":{\n\t\t\"TopicTest@cg1\":{0:37960,1:37961},\n\t\t\"%RETRY%cg1@cg1\":{0:0}\n\t},\n\t\"s\":\"a,{b}:\\\"c\\\"\"\n}";
        assert_eq!(std::str::from_utf8(&pretty(compact)).unwrap(), expected);
        // Already pretty text comes out the same.
        assert_eq!(&pretty(expected.as_bytes())[..], expected.as_bytes());
    }

    #[test]
    fn pretty_never_panics() {
        for input in crate::protocol::body::arbitrary_inputs(500, br#"{}[]:,"\ 01a"#) {
            let _ = pretty(&input);
        }
    }
}
