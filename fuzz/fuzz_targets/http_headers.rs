//! The `http_headers` target: its body is `hub_fuzz::http_headers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hub_fuzz::http_headers(data));
