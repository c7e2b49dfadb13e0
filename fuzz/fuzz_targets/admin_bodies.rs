//! Admin request headers and bodies (reset offsets, broker statistics, Properties text).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocket::fuzzing::admin_bodies(data));
