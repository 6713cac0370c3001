//! Fuzz target: see `corridor_fuzz::cases::record_parser`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| corridor_fuzz::cases::record_parser(data));
