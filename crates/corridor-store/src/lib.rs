//! Storage of records, indexes and rollups behind the `Store` trait; the only crate that speaks SQL.
