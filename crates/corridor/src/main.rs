//! The `corridor` binary: parses arguments, runs one command, maps errors to exit codes.

fn main() {}
