//! Corridor's fuzz targets. The bodies live in `cases.rs`, which the
//! workspace test `crates/corridor/tests/fuzz_corpus.rs` also includes, so
//! the committed seed corpora replay through exactly the same code in CI.

pub mod cases;
