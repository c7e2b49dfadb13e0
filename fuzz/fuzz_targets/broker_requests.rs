//! Broker request headers and bodies (heartbeats, groups, offsets, stats, batches).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocket::fuzzing::broker_requests(data));
