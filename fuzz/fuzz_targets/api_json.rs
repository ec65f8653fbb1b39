//! The `api_json` target: its body is `hub_fuzz::api_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hub_fuzz::api_json(data));
