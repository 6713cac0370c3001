//! The file's columns (header names and the HXL hashtag row) and the mapping's
//! column references found in them.

use std::fmt;
use std::io::Read;
use std::sync::Arc;

use crate::hxl::HxlColumnTag;
use crate::outcome::ImportError;
use crate::template::{ColumnReference, Template, TemplatePart};

/// One row of the file, decoded.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) line: u64,
    pub(crate) cells: Vec<String>,
    /// A problem with the row as a whole (a ragged row); rejects its group.
    pub(crate) problem: Option<String>,
    /// For a row joined from a repeat file: that file and its line, which
    /// messages about the row name instead of the main file's line.
    pub(crate) joined_from: Option<RowOrigin>,
}

/// Where a joined row's repeat cells come from: `tally-cargo.csv row 4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowOrigin {
    pub(crate) file: Arc<str>,
    pub(crate) line: u64,
}

impl fmt::Display for RowOrigin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} row {}", self.file, self.line)
    }
}

/// The reader for the main file and for repeat files.
pub(crate) fn csv_reader<R: Read>(delimiter: u8, reader: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        // Ending records only at `\n` keeps the line numbers right for
        // CRLF files (with the default, the `\n` of a CRLF is read as the
        // start of the next record); the `\r` left at the end of the last
        // cell is removed with the cell's whitespace.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader)
}

/// A record read by [`csv_reader`] as a row of text, or where it is not UTF-8.
pub(crate) fn decode_row(record: &csv::ByteRecord) -> Result<Row, ImportError> {
    let line = record.position().map_or(0, csv::Position::line);
    let cells = record
        .iter()
        .enumerate()
        .map(|(index, bytes)| {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| ImportError::NotUtf8 {
                    row: line,
                    column: index + 1,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Row {
        line,
        cells,
        problem: None,
        joined_from: None,
    })
}

/// The columns of the file: header names and, when there is a hashtag row, HXL tags.
#[derive(Debug)]
pub(crate) struct FileColumns {
    pub(crate) names: Vec<String>,
    pub(crate) hashtags: Option<Vec<Option<HxlColumnTag>>>,
}

impl FileColumns {
    pub(crate) fn label(&self, index: usize) -> String {
        let name = self.names.get(index).map_or("", |name| name.trim());
        let hashtag = self
            .hashtags
            .as_ref()
            .and_then(|hashtags| hashtags.get(index))
            .and_then(Option::as_ref);
        match (name, hashtag) {
            ("", Some(hashtag)) => format!("column {} ({hashtag})", index + 1),
            ("", None) => format!("column {}", index + 1),
            (name, _) => format!("column {name:?}"),
        }
    }

    pub(crate) fn width(&self) -> usize {
        self.names.len()
    }

    /// Finds the columns a reference names. `allow_several` is for list
    /// targets such as `sites[]`, where each matching column gives an element.
    pub(crate) fn resolve(
        &self,
        key: &str,
        reference: &ColumnReference,
        allow_several: bool,
    ) -> Result<Vec<usize>, ImportError> {
        let column_error = |reason: String| ImportError::Column {
            key: key.to_owned(),
            reason,
        };
        let numbers = |indices: &[usize]| {
            indices
                .iter()
                .map(|index| (index + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match reference {
            ColumnReference::Header(wanted) => {
                let matching: Vec<usize> = (0..self.width())
                    .filter(|index| self.names[*index].trim() == wanted)
                    .collect();
                match matching.len() {
                    1 => Ok(matching),
                    0 => {
                        let similar: Vec<String> = self
                            .names
                            .iter()
                            .filter(|name| name.trim().to_lowercase() == wanted.to_lowercase())
                            .map(|name| format!("{:?}", name.trim()))
                            .collect();
                        let hint = if similar.is_empty() {
                            String::new()
                        } else {
                            format!(" (did you mean {}?)", similar.join(" or "))
                        };
                        Err(column_error(format!(
                            "the file has no column {wanted:?}{hint}"
                        )))
                    }
                    _ => Err(column_error(format!(
                        "the header has {} columns named {wanted:?} (columns {}); rename one in the file",
                        matching.len(),
                        numbers(&matching)
                    ))),
                }
            }
            ColumnReference::Hxl(pattern) => {
                let Some(hashtags) = &self.hashtags else {
                    return Err(column_error(
                        "the file has no HXL hashtag row (expected right after the header row)"
                            .to_owned(),
                    ));
                };
                let matching: Vec<usize> = hashtags
                    .iter()
                    .enumerate()
                    .filter(|(_, hashtag)| {
                        hashtag
                            .as_ref()
                            .is_some_and(|hashtag| pattern.matches(hashtag))
                    })
                    .map(|(index, _)| index)
                    .collect();
                match matching.len() {
                    0 => {
                        let present: Vec<String> =
                            hashtags.iter().flatten().map(ToString::to_string).collect();
                        Err(column_error(format!(
                            "no column matches {pattern} (hashtags in the file: {})",
                            present.join(", ")
                        )))
                    }
                    1 => Ok(matching),
                    _ if allow_several => Ok(matching),
                    _ => Err(column_error(format!(
                        "{pattern} matches {} columns ({}); make the pattern more specific with +attributes or -attributes",
                        matching.len(),
                        matching
                            .iter()
                            .map(|index| self.label(*index))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                }
            }
        }
    }

    pub(crate) fn resolve_one(
        &self,
        key: &str,
        reference: &ColumnReference,
    ) -> Result<usize, ImportError> {
        let indices = self.resolve(key, reference, false)?;
        indices.first().copied().ok_or_else(|| ImportError::Column {
            key: key.to_owned(),
            reason: format!("no column for {reference}"),
        })
    }

    pub(crate) fn resolve_template(
        &self,
        key: &str,
        template: &Template,
    ) -> Result<ResolvedTemplate, ImportError> {
        let parts = template
            .parts
            .iter()
            .map(|part| {
                Ok(match part {
                    TemplatePart::Literal(text) => ResolvedPart::Literal(text.clone()),
                    TemplatePart::GroupKey => ResolvedPart::GroupKey,
                    TemplatePart::Column(reference) => {
                        let index = self.resolve_one(key, reference)?;
                        ResolvedPart::Column {
                            index,
                            placeholder: match reference {
                                ColumnReference::Header(name) => format!("{{{name}}}"),
                                ColumnReference::Hxl(pattern) => format!("{{{pattern}}}"),
                            },
                        }
                    }
                })
            })
            .collect::<Result<Vec<_>, ImportError>>()?;
        Ok(ResolvedTemplate {
            text: template.text.clone(),
            parts,
        })
    }
}

#[derive(Debug)]
pub(crate) struct ResolvedTemplate {
    pub(crate) text: String,
    pub(crate) parts: Vec<ResolvedPart>,
}

#[derive(Debug)]
pub(crate) enum ResolvedPart {
    Literal(String),
    Column { index: usize, placeholder: String },
    GroupKey,
}
