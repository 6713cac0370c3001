//! Fuzz target: see `corridor_fuzz::cases::csv_importer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| corridor_fuzz::cases::csv_importer(data));
