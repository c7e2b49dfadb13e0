//! Timer-store files: timer-log units and blanks, wheel slots, the timer checkpoint.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocket::fuzzing::timer_log(data));
