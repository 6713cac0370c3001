//! Fuzz target: see `corridor_fuzz::cases::checkpoint_parser`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| corridor_fuzz::cases::checkpoint_parser(data));
