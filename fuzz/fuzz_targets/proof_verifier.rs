//! Fuzz target: see `corridor_fuzz::cases::proof_verifier`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| corridor_fuzz::cases::proof_verifier(data));
