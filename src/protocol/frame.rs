//! The frame codec: a 4-byte big-endian length that counts the bytes after it, then the
//! payload. The length is checked against the configured maximum before any buffer is
//! reserved, so a peer announcing 2 GiB costs nothing but a closed connection.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::command::RemotingCommand;
use super::error::ProtocolError;

/// Java's default `com.rocketmq.remoting.frameMaxLength`: 16 MiB including the length field.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Splits a byte stream into frame payloads and writes commands as frames.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame_bytes: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl FrameCodec {
    /// `max_frame_bytes` bounds a whole frame, length prefix included, as in Java.
    pub fn new(max_frame_bytes: usize) -> Self {
        FrameCodec {
            max_frame_bytes: max_frame_bytes.max(8),
        }
    }

    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }
}

impl Decoder for FrameCodec {
    /// The payload after the length prefix: header word, header and body.
    type Item = Bytes;
    type Error = ProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, ProtocolError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let announced = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        // Java reads the length as a signed int: anything with the top bit set is negative.
        if announced > i32::MAX as u32 || announced as u64 + 4 > self.max_frame_bytes as u64 {
            return Err(ProtocolError::FrameTooLarge {
                announced: announced as u64,
                max: self.max_frame_bytes,
            });
        }
        if announced < 4 {
            return Err(ProtocolError::FrameTooSmall(announced as i64));
        }
        let needed = 4 + announced as usize;
        if src.len() < needed {
            src.reserve(needed - src.len());
            return Ok(None);
        }
        src.advance(4);
        Ok(Some(src.split_to(announced as usize).freeze()))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, ProtocolError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(ProtocolError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed inside a frame ({} bytes buffered)",
                    src.len()
                ),
            ))),
        }
    }
}

impl Encoder<RemotingCommand> for FrameCodec {
    type Error = ProtocolError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        cmd.encode(dst);
        Ok(())
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = ProtocolError;

    /// Writes an already encoded frame (length prefix included) untouched.
    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        dst.extend_from_slice(&frame);
        Ok(())
    }
}

/// Decodes every complete frame in `bytes` into commands: the decoder the fuzz target and
/// its corpus regression test drive. Stops at the first frame-level error.
pub fn decode_all(
    bytes: &[u8],
    max_frame_bytes: usize,
) -> Vec<Result<RemotingCommand, ProtocolError>> {
    let mut codec = FrameCodec::new(max_frame_bytes);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(frame)) => out.push(RemotingCommand::decode(frame)),
            Ok(None) => break,
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::code::request;

    #[test]
    fn frames_split_across_reads_are_reassembled() {
        let frame = RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO).to_frame();
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        for chunk in frame.chunks(3) {
            assert!(buf.is_empty() || codec.decode(&mut buf).unwrap().is_none());
            buf.extend_from_slice(chunk);
        }
        let payload = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(RemotingCommand::decode(payload).unwrap().code, 106);
        assert!(buf.is_empty());
    }

    #[test]
    fn a_frame_claiming_two_gib_is_refused_before_allocating() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&[0x80u8, 0, 0, 0, 0, 0][..]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::FrameTooLarge {
                announced: 0x8000_0000,
                ..
            }
        ));
        assert!(buf.capacity() < 1024);
    }

    #[test]
    fn the_maximum_counts_the_length_field() {
        let mut codec = FrameCodec::new(64);
        let mut ok = BytesMut::from(&60u32.to_be_bytes()[..]);
        assert!(codec.decode(&mut ok).unwrap().is_none());
        let mut too_big = BytesMut::from(&61u32.to_be_bytes()[..]);
        assert!(codec.decode(&mut too_big).is_err());
    }

    #[test]
    fn tiny_lengths_and_truncated_frames_are_errors() {
        let mut codec = FrameCodec::default();
        assert!(codec
            .decode(&mut BytesMut::from(&[0u8, 0, 0, 2, 0, 0][..]))
            .is_err());
        let mut half = BytesMut::from(&[0u8, 0, 0, 10, 0, 0][..]);
        assert!(codec.decode_eof(&mut half).is_err());
        assert!(codec.decode_eof(&mut BytesMut::new()).unwrap().is_none());
    }

    #[test]
    fn decode_all_reports_every_frame() {
        let mut bytes = RemotingCommand::request(1).to_frame().to_vec();
        bytes.extend_from_slice(&RemotingCommand::request(2).to_frame());
        let out = decode_all(&bytes, DEFAULT_MAX_FRAME_BYTES);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].as_ref().unwrap().code, 2);
    }
}
