//! Errors that name the record they belong to: where it came from, its type
//! and id, the field and the reason.

use std::fmt;

use crate::parse::FieldError;

/// Where a submitted record came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A line of a JSON Lines file.
    Line(u64),
    /// A row of a CSV file (the line it starts on).
    Row(u64),
    /// An item of a batch submitted over the API, counting from 0.
    Item(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(line) => write!(formatter, "line {line}"),
            Location::Row(row) => write!(formatter, "row {row}"),
            Location::Item(index) => write!(formatter, "item {index}"),
        }
    }
}

/// A rejected record: `line 12 (passage p-0042): observed_at: "2022-13-01" is not a date or time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub location: Location,
    pub record_type: Option<String>,
    pub id: Option<String>,
    pub error: FieldError,
}

impl fmt::Display for RecordError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.location)?;
        match (&self.record_type, &self.id) {
            (Some(record_type), Some(id)) => write!(formatter, " ({record_type} {id})")?,
            (Some(record_type), None) => write!(formatter, " ({record_type})")?,
            (None, Some(id)) => write!(formatter, " ({id})")?,
            (None, None) => {}
        }
        write!(formatter, ": {}", self.error)
    }
}

impl std::error::Error for RecordError {}
