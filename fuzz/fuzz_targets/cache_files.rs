//! The `cache_files` target: its body is `hub_fuzz::cache_files`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hub_fuzz::cache_files(data));
