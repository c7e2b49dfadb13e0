//! RocketMQ's classic HA wire protocol (4.x `HAService`/`HAConnection`, kept as-is by 5.x's
//! `DefaultHAConnection`/`DefaultHAClient`), with no I/O. There is no handshake and no
//! framing beyond two fixed layouts:
//!
//! - slave → master: a stream of 8-byte big-endian commit-log offsets, each "I have stored
//!   everything below this". The master only cares about the newest, so
//!   [`ReportDecoder`] yields the last complete offset in what arrived and keeps a partial
//!   one for later, as Java's `ReadSocketService` does.
//! - master → slave: frames of a 12-byte header (8-byte big-endian physical offset of the
//!   first byte, 4-byte big-endian size) and `size` raw commit-log bytes; size 0 is a
//!   heartbeat. [`TransferDecoder`] splits a stream into [`TransferFrame`]s and refuses a
//!   negative size or one above its limit before buffering anything.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Bytes of one slave report.
pub const REPORT_SIZE: usize = 8;
/// Bytes of the header before each chunk the master sends.
pub const TRANSFER_HEADER_SIZE: usize = 12;
/// RocketMQ's haTransferBatchSize: the most commit-log bytes in one frame (32 KiB).
pub const DEFAULT_TRANSFER_BATCH_SIZE: usize = 32 * 1024;
/// The largest chunk a slave accepts: Java's slave reads into a 4 MiB buffer, so nothing
/// larger can come from a Java master.
pub const MAX_TRANSFER_BODY: usize = 4 * 1024 * 1024 - TRANSFER_HEADER_SIZE;

/// Why a stream is not valid HA protocol.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HaProtocolError {
    #[error("HA frame size {size} is outside 0..={max}")]
    BadSize { size: i64, max: usize },
    #[error("HA offset {0} is negative")]
    NegativeOffset(i64),
    #[error("HA stream closed: {0}")]
    Io(String),
}

impl From<std::io::Error> for HaProtocolError {
    fn from(e: std::io::Error) -> Self {
        HaProtocolError::Io(e.to_string())
    }
}

/// The 8 bytes a slave sends to say how far its commit log reaches.
pub fn encode_report(offset: i64) -> [u8; REPORT_SIZE] {
    offset.to_be_bytes()
}

/// Reads slave reports: each `decode` yields the newest complete offset buffered (older
/// ones are superseded) and leaves an incomplete tail in the buffer.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReportDecoder;

impl Decoder for ReportDecoder {
    type Item = i64;
    type Error = HaProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<i64>, HaProtocolError> {
        let whole = src.len() - src.len() % REPORT_SIZE;
        if whole == 0 {
            return Ok(None);
        }
        src.advance(whole - REPORT_SIZE);
        let offset = src.get_i64();
        if offset < 0 {
            return Err(HaProtocolError::NegativeOffset(offset));
        }
        Ok(Some(offset))
    }
}

impl Encoder<i64> for ReportDecoder {
    type Error = HaProtocolError;

    fn encode(&mut self, offset: i64, dst: &mut BytesMut) -> Result<(), HaProtocolError> {
        dst.put_slice(&encode_report(offset));
        Ok(())
    }
}

/// One master → slave frame: `body` holds the commit-log bytes that start at `offset`
/// (empty for a heartbeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFrame {
    pub offset: i64,
    pub body: Bytes,
}

impl TransferFrame {
    pub fn is_heartbeat(&self) -> bool {
        self.body.is_empty()
    }
}

/// Writes the 12-byte header of a frame carrying `size` bytes from `offset`.
pub fn encode_transfer_header(offset: i64, size: usize, dst: &mut BytesMut) {
    dst.put_i64(offset);
    dst.put_i32(size as i32);
}

/// Splits the master's stream into frames, refusing sizes above `max_body`.
#[derive(Debug, Clone, Copy)]
pub struct TransferDecoder {
    max_body: usize,
}

impl Default for TransferDecoder {
    fn default() -> Self {
        TransferDecoder::new(MAX_TRANSFER_BODY)
    }
}

impl TransferDecoder {
    pub fn new(max_body: usize) -> Self {
        TransferDecoder { max_body }
    }
}

impl Decoder for TransferDecoder {
    type Item = TransferFrame;
    type Error = HaProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<TransferFrame>, HaProtocolError> {
        if src.len() < TRANSFER_HEADER_SIZE {
            return Ok(None);
        }
        let offset = i64::from_be_bytes(src[..8].try_into().unwrap_or_default());
        let size = i32::from_be_bytes(src[8..12].try_into().unwrap_or_default());
        if size < 0 || size as usize > self.max_body {
            return Err(HaProtocolError::BadSize {
                size: size as i64,
                max: self.max_body,
            });
        }
        if offset < 0 {
            return Err(HaProtocolError::NegativeOffset(offset));
        }
        let needed = TRANSFER_HEADER_SIZE + size as usize;
        if src.len() < needed {
            src.reserve(needed - src.len());
            return Ok(None);
        }
        src.advance(TRANSFER_HEADER_SIZE);
        let body = src.split_to(size as usize).freeze();
        Ok(Some(TransferFrame { offset, body }))
    }
}

impl Encoder<TransferFrame> for TransferDecoder {
    type Error = HaProtocolError;

    fn encode(&mut self, frame: TransferFrame, dst: &mut BytesMut) -> Result<(), HaProtocolError> {
        dst.reserve(TRANSFER_HEADER_SIZE + frame.body.len());
        encode_transfer_header(frame.offset, frame.body.len(), dst);
        dst.put_slice(&frame.body);
        Ok(())
    }
}

/// Where a master starts streaming to a slave whose first report is `requested`: Java
/// treats 0 (an empty slave) as "the start of the master's last commit-log file", so a
/// new slave does not copy the whole history; any other offset is taken as is.
pub fn transfer_start(requested: i64, master_max_offset: i64, file_size: usize) -> i64 {
    if requested != 0 {
        return requested;
    }
    let size = file_size.max(1) as i64;
    (master_max_offset - master_max_offset.rem_euclid(size)).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_eight_big_endian_bytes() {
        assert_eq!(
            encode_report(0x0102_0304_0506_0708),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        let mut buf = BytesMut::new();
        ReportDecoder.encode(42, &mut buf).unwrap();
        assert_eq!(buf.as_ref(), &42i64.to_be_bytes());
    }

    #[test]
    fn the_newest_complete_report_wins_and_a_partial_one_waits() {
        let mut buf = BytesMut::new();
        for o in [100i64, 200, 300] {
            buf.put_slice(&encode_report(o));
        }
        buf.put_slice(&encode_report(400)[..5]);
        assert_eq!(ReportDecoder.decode(&mut buf).unwrap(), Some(300));
        assert_eq!(buf.len(), 5, "the partial report stays buffered");
        assert_eq!(ReportDecoder.decode(&mut buf).unwrap(), None);
        buf.put_slice(&encode_report(400)[5..]);
        assert_eq!(ReportDecoder.decode(&mut buf).unwrap(), Some(400));
        assert!(buf.is_empty());
    }

    #[test]
    fn a_negative_report_is_refused() {
        let mut buf = BytesMut::from(&(-1i64).to_be_bytes()[..]);
        assert_eq!(
            ReportDecoder.decode(&mut buf),
            Err(HaProtocolError::NegativeOffset(-1))
        );
    }

    #[test]
    fn frames_round_trip_and_heartbeats_are_empty() {
        let mut buf = BytesMut::new();
        let data = TransferFrame {
            offset: 1 << 30,
            body: Bytes::from_static(b"commit-log bytes"),
        };
        let beat = TransferFrame {
            offset: (1 << 30) + 16,
            body: Bytes::new(),
        };
        let mut codec = TransferDecoder::default();
        codec.encode(data.clone(), &mut buf).unwrap();
        codec.encode(beat.clone(), &mut buf).unwrap();
        assert_eq!(&buf[..8], &(1i64 << 30).to_be_bytes());
        assert_eq!(&buf[8..12], &16i32.to_be_bytes());
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(data));
        let got = codec.decode(&mut buf).unwrap().unwrap();
        assert!(got.is_heartbeat());
        assert_eq!(got, beat);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn a_frame_arriving_in_pieces_is_decoded_once_whole() {
        let mut whole = BytesMut::new();
        encode_transfer_header(8, 3, &mut whole);
        whole.put_slice(b"abc");
        let mut codec = TransferDecoder::default();
        let mut buf = BytesMut::new();
        for (i, b) in whole.iter().enumerate() {
            buf.put_u8(*b);
            let got = codec.decode(&mut buf).unwrap();
            assert_eq!(got.is_some(), i == whole.len() - 1);
        }
    }

    #[test]
    fn oversized_and_negative_sizes_are_refused_before_buffering() {
        let mut codec = TransferDecoder::new(1024);
        let mut buf = BytesMut::new();
        encode_transfer_header(0, 1025, &mut buf);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(HaProtocolError::BadSize { size: 1025, .. })
        ));
        let mut buf = BytesMut::new();
        buf.put_i64(0);
        buf.put_i32(-5);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(HaProtocolError::BadSize { size: -5, .. })
        ));
        let mut buf = BytesMut::new();
        buf.put_i64(-8);
        buf.put_i32(0);
        assert_eq!(
            codec.decode(&mut buf),
            Err(HaProtocolError::NegativeOffset(-8))
        );
    }

    #[test]
    fn an_empty_slave_starts_at_the_masters_last_file() {
        let file = 1024;
        assert_eq!(transfer_start(0, 0, file), 0);
        assert_eq!(transfer_start(0, 1000, file), 0);
        assert_eq!(transfer_start(0, 3 * 1024 + 17, file), 3 * 1024);
        assert_eq!(transfer_start(0, 2048, file), 2048);
        assert_eq!(
            transfer_start(500, 3 * 1024, file),
            500,
            "a slave with data resumes"
        );
    }
}
