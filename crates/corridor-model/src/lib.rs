//! The record model: what Corridor records, how each record is validated, and its canonical byte form.

pub mod canonical;
