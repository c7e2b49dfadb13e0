//! Frames and RemotingCommand headers (JSON and ROCKETMQ) from arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocket::fuzzing::frame_header(data));
