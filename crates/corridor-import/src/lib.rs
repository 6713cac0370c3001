//! CSV import: turns field exports into Corridor record objects through a declarative mapping.
//!
//! A [`Mapping`] (TOML, documented in docs/import.md) says which column or
//! constant fills each field of a record (docs/records.md). [`CsvImporter`]
//! applies it to a CSV file row by row and yields, in file order, an
//! [`ImportedRecord`] for each row or group of rows, or a [`RejectedRow`] saying
//! why the mapping could not apply.
//!
//! Invariants:
//! - This crate does not validate records against the model and stores
//!   nothing: the engine validates each record and stores it.
//! - It rejects rows only for reasons it owns (a value the mapping cannot
//!   read, rows of a group that disagree, a ragged row, ...).
//! - Values of `private.*` fields never appear in a message.
//! - Ids come from columns or templates, never from hashing content: two
//!   identical trucks are two records.
//! - Row numbers are the 1-based line numbers where rows start in the file.

mod assemble;
mod columns;
mod convert;
mod hxl;
mod importer;
mod mapping;
mod normalize;
mod outcome;
mod plan;
mod repeat;
mod template;

pub use importer::CsvImporter;
pub use mapping::{Mapping, MappingError};
pub use outcome::{ImportError, ImportItem, ImportedRecord, RejectedRow};
pub use repeat::RepeatFile;
