//! The web console's request bodies and query strings (topic, reset, resend, message lookup).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocket::fuzzing::console_requests(data));
