//! The `names` target: its body is `hub_fuzz::names`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hub_fuzz::names(data));
