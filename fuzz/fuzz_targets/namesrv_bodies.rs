//! Name-server bodies (route data, cluster info, register bodies plain and compressed).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocket::fuzzing::namesrv_bodies(data));
