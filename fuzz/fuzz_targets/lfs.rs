//! The `lfs` target: its body is `hub_fuzz::lfs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hub_fuzz::lfs(data));
