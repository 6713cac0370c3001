//! Corridor's benchmark runner.

fn main() {}
