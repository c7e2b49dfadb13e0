//! The HA protocol's decoders (slave reports, master transfer frames) from arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocket::fuzzing::ha_stream(data));
