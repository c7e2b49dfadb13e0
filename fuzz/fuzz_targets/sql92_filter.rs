//! SQL92 message selectors: parse, print and re-parse, evaluate.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocket::fuzzing::sql92_filter(data));
