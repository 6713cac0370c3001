//! Fuzz target: see `corridor_fuzz::cases::tile_parser`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| corridor_fuzz::cases::tile_parser(data));
