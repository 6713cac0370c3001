//! What an import gives back: an [`ImportItem`] per record or rejected group of
//! rows, in file order, and the [`ImportError`] that stops an import.

use serde::Serialize;
use serde_json::{Map, Value};

/// A record object built from one row, or from the rows of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedRecord {
    /// Line numbers in the file where the rows start (1-based; see docs/import.md).
    pub rows: Vec<u64>,
    /// The record's `id`, also present in `record`.
    pub id: String,
    /// The record in the format of docs/records.md, not yet validated against the model.
    pub record: Map<String, Value>,
}

/// Rows this crate could not turn into a record, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRow {
    /// Line numbers in the file where the rows start. Empty for lines of a
    /// repeat file that belong to no row of the main file; the reason then
    /// starts with that file and its rows.
    pub rows: Vec<u64>,
    /// The id the record would have had, when it could be built.
    pub id: Option<String>,
    /// Names the field or column and says what is wrong; never shows a `private.*` value.
    pub reason: String,
}

/// One result of the import, in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome")]
pub enum ImportItem {
    /// A record for the engine to validate and store.
    #[serde(rename = "imported")]
    Record(ImportedRecord),
    /// Rows refused by the mapping.
    #[serde(rename = "rejected")]
    Rejected(RejectedRow),
}

/// A problem that stops the whole import: the file cannot be read, or the
/// mapping's columns are not in it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The underlying reader failed.
    #[error("reading the CSV file failed: {0}")]
    Read(#[source] csv::Error),
    /// There is no header row.
    #[error("the file is empty: it has no header row")]
    NoHeader,
    /// A cell is not UTF-8. Nothing after it is read.
    #[error(
        "row {row}, column {column}: the text is not UTF-8; save the file as UTF-8 (\"CSV UTF-8\" in spreadsheets) and import it again"
    )]
    NotUtf8 {
        /// Line number where the row starts.
        row: u64,
        /// 1-based column number.
        column: usize,
    },
    /// A repeat file (`[repeat.NAME]`) is missing, or cannot be read or joined.
    #[error("repeat file {file}: {reason}")]
    Repeat {
        /// The file as the caller named it, e.g. `tally-cargo.csv`.
        file: String,
        /// What is wrong, naming the row or the mapping key.
        reason: String,
    },
    /// The underlying reader of a repeat file failed.
    #[error("reading repeat file {file} failed: {error}")]
    RepeatRead {
        /// The file as the caller named it.
        file: String,
        /// The reader's error.
        #[source]
        error: csv::Error,
    },
    /// A column the mapping names is missing, ambiguous or unusable.
    #[error("{key}: {reason}")]
    Column {
        /// The mapping key that names the column, e.g. `fields.observed_at.hxl`.
        key: String,
        /// Why it cannot be used.
        reason: String,
    },
}
