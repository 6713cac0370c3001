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

/// The longest type or id an error message repeats, in characters.
const MAX_SHOWN_CHARACTERS: usize = 128;

/// A type or id as the submitter wrote it, for a message: escaped and quoted
/// when it holds characters a terminal would act on or hide (control
/// characters, a byte-order mark), cut when it is long. It comes from
/// rejected input, so it must never reach a terminal raw.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(MAX_SHOWN_CHARACTERS).collect();
    let ellipsis = if cut.len() < text.len() { "..." } else { "" };
    if cut.escape_debug().eq(cut.chars()) {
        format!("{cut}{ellipsis}")
    } else {
        format!("{cut:?}{ellipsis}")
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.location)?;
        let record_type = self.record_type.as_deref().map(shown);
        let id = self.id.as_deref().map(shown);
        match (&record_type, &id) {
            (Some(record_type), Some(id)) => write!(formatter, " ({record_type} {id})")?,
            (Some(record_type), None) => write!(formatter, " ({record_type})")?,
            (None, Some(id)) => write!(formatter, " ({id})")?,
            (None, None) => {}
        }
        write!(formatter, ": {}", self.error)
    }
}

impl std::error::Error for RecordError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(record_type: &str, id: &str) -> String {
        RecordError {
            location: Location::Line(1),
            record_type: Some(record_type.into()),
            id: Some(id.into()),
            error: FieldError {
                field: "id".into(),
                reason: "not a valid id".into(),
            },
        }
        .to_string()
    }

    #[test]
    fn control_characters_in_a_rejected_id_are_escaped_in_the_message() {
        assert_eq!(
            rejected("passage", "p-\u{1b}[31mred"),
            "line 1 (passage \"p-\\u{1b}[31mred\"): id: not a valid id"
        );
        assert_eq!(
            rejected("vehicle\r", "\u{feff}p-9"),
            "line 1 (\"vehicle\\r\" \"\\u{feff}p-9\"): id: not a valid id"
        );
        assert_eq!(
            rejected("passage", "p-1"),
            "line 1 (passage p-1): id: not a valid id"
        );
        assert_eq!(
            rejected("passage", &"x".repeat(200)),
            format!(
                "line 1 (passage {}...): id: not a valid id",
                "x".repeat(128)
            )
        );
    }
}
