//! The SEND_BATCH_MESSAGE body (reference §4.8): messages laid end to end as Java's
//! `MessageDecoder.encodeMessages` writes them; the broker splits it into records, the
//! client builds it.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::MessageError;
use super::record::{lossy, Reader};

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
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>, MessageError> {
    // Every item takes at least BATCH_ITEM_OVERHEAD bytes; the cap keeps a large body of
    // few big messages from reserving room for many small ones.
    let mut items = Vec::with_capacity((body.len() / BATCH_ITEM_OVERHEAD).min(1024));
    let mut r = Reader::new(body);
    while r.pos < body.len() {
        let n = items.len();
        let bad = |why: String| MessageError::InvalidMessage(format!("batch message {n}: {why}"));
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
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hand_built_batch() -> Vec<u8> {
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
}
