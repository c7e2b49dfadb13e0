//! Stored-message records (commit-log layout) and SEND_BATCH bodies.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocket::fuzzing::stored_record(data));
