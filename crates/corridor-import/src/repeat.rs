//! Repeat groups exported in files of their own (KoBoToolbox, ODK Central): each line of a repeat file is joined to the row of the main file it names, so one submission becomes one record with one list element per repeat line.
//!
//! KoBoToolbox names a submission's row by `_index` and its repeat lines
//! point back with `_parent_index`; ODK Central uses `KEY` and `PARENT_KEY`.
//! The mapping declares the pair (`[repeat.cargo] key = "_index"`,
//! `parent_key = "_parent_index"`); the format is documented for users in
//! docs/import.md, "Repeat groups in files of their own".
//!
//! A joined row is the main row's cells followed by one repeat line's cells
//! (other repeat files' cells empty), so the importer's list fields collect
//! one element per line exactly as they do for the rows of a `group_by`
//! group. A main row with no lines gives one row with the repeat cells empty,
//! hence no element. Repeat files are read whole into memory; the main file
//! still streams.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use crate::columns::{FileColumns, Row, RowOrigin, csv_reader, decode_row};
use crate::mapping::{Mapping, RepeatDeclaration, field_key};
use crate::outcome::{ImportError, ImportItem, RejectedRow};
use crate::plan::ImportPlan;

/// A repeat file handed to the importer.
#[derive(Debug)]
pub struct RepeatFile<R> {
    /// The repeat's name in the mapping: `cargo` for `[repeat.cargo]`.
    pub name: String,
    /// How messages name the file, e.g. its path.
    pub label: String,
    /// The file's bytes (CSV with the mapping's delimiter, UTF-8).
    pub reader: R,
}

/// One repeat file, read whole, and its place in the joined rows.
#[derive(Debug)]
struct RepeatSection {
    declaration: RepeatDeclaration,
    label: Arc<str>,
    header: Vec<String>,
    /// The file's data rows, blank ones left out, each as wide as the header.
    lines: Vec<Row>,
    /// Indices into `lines` by the key of their main row, in file order;
    /// an entry is removed when its main row is joined.
    lines_by_key: HashMap<String, Vec<usize>>,
    /// Lines whose parent key is empty.
    keyless_lines: Vec<usize>,
    /// Where this file's cells start in a joined row.
    first_column: usize,
    /// The main file's key column, found when the header is read.
    key_column: usize,
    /// Main-file keys already joined, with their row, to refuse a repeated key.
    joined_keys: HashMap<String, u64>,
}

/// The repeat files of a mapping, joined row by row to the main file.
#[derive(Debug)]
pub(crate) struct RepeatJoin {
    sections: Vec<RepeatSection>,
    /// Cells in a joined row: the main file's and every repeat file's.
    joined_width: usize,
}

impl RepeatJoin {
    /// Reads every repeat file the mapping declares. `None` when it declares none.
    pub(crate) fn load<F: Read>(
        mapping: &Mapping,
        files: Vec<RepeatFile<F>>,
    ) -> Result<Option<RepeatJoin>, ImportError> {
        if mapping.repeats.is_empty() {
            return match files.first() {
                None => Ok(None),
                Some(file) => Err(ImportError::Repeat {
                    file: file.label.clone(),
                    reason: format!(
                        "given as repeat {:?}, but the mapping has no [repeat.*] table",
                        file.name
                    ),
                }),
            };
        }
        let mut given: HashMap<String, RepeatFile<F>> = HashMap::new();
        for file in files {
            if !mapping
                .repeats
                .iter()
                .any(|declaration| declaration.name == file.name)
            {
                let declared: Vec<&str> = mapping
                    .repeats
                    .iter()
                    .map(|declaration| declaration.name.as_str())
                    .collect();
                return Err(ImportError::Repeat {
                    file: file.label,
                    reason: format!(
                        "given as repeat {:?}, but the mapping has no [repeat.{}] (it declares: {})",
                        file.name,
                        file.name,
                        declared.join(", ")
                    ),
                });
            }
            if let Some(earlier) = given.get(&file.name) {
                return Err(ImportError::Repeat {
                    file: file.label,
                    reason: format!(
                        "repeat {:?} is given twice (also as {})",
                        file.name, earlier.label
                    ),
                });
            }
            given.insert(file.name.clone(), file);
        }
        let mut sections = Vec::new();
        for declaration in &mapping.repeats {
            let Some(file) = given.remove(&declaration.name) else {
                return Err(ImportError::Repeat {
                    file: declaration
                        .file
                        .clone()
                        .unwrap_or_else(|| declaration.name.clone()),
                    reason: format!(
                        "the mapping joins it as [repeat.{}], but it was not given",
                        declaration.name
                    ),
                });
            };
            sections.push(RepeatSection::read(
                declaration.clone(),
                file,
                mapping.delimiter,
            )?);
        }
        Ok(Some(RepeatJoin {
            sections,
            joined_width: 0,
        }))
    }

    /// Appends every repeat file's columns to the main file's, so the
    /// mapping's fields find them by header. A repeat column whose header the
    /// main file also has is hidden: the name means the main file's column.
    pub(crate) fn extend_columns(&mut self, columns: &mut FileColumns) {
        let main_width = columns.width();
        for section in &mut self.sections {
            section.first_column = columns.width();
            for name in &section.header {
                let clashes = columns.names[..main_width]
                    .iter()
                    .any(|main| main.trim() == name.trim());
                columns
                    .names
                    .push(if clashes { String::new() } else { name.clone() });
                if let Some(hashtags) = &mut columns.hashtags {
                    hashtags.push(None);
                }
            }
        }
        self.joined_width = columns.width();
    }

    /// Finds each main-file key column, and refuses a mapping that reads a
    /// repeat file anywhere but in list fields, or a list that mixes files:
    /// those values would be repeated or lost line by line.
    pub(crate) fn resolve(
        &mut self,
        mapping: &Mapping,
        plan: &ImportPlan,
        columns: &FileColumns,
        main_width: usize,
    ) -> Result<(), ImportError> {
        for section in &mut self.sections {
            let key = &section.declaration.key;
            let matching: Vec<usize> = (0..main_width)
                .filter(|index| columns.names[*index].trim() == key)
                .collect();
            section.key_column = match matching.as_slice() {
                [index] => *index,
                [] => {
                    return Err(ImportError::Column {
                        key: format!("repeat.{}.key", section.declaration.name),
                        reason: format!("the main file has no column {key:?}"),
                    });
                }
                _ => {
                    return Err(ImportError::Column {
                        key: format!("repeat.{}.key", section.declaration.name),
                        reason: format!(
                            "the main file has {} columns named {key:?}",
                            matching.len()
                        ),
                    });
                }
            };
        }
        let section_of = |index: usize| {
            self.sections.iter().position(|section| {
                (section.first_column..section.first_column + section.header.len()).contains(&index)
            })
        };
        let uses = plan.column_uses();
        for (target, field_columns) in &uses.scalar_fields {
            if let Some(index) = field_columns
                .iter()
                .copied()
                .find(|index| section_of(*index).is_some())
            {
                let section = section_of(index).map(|found| &self.sections[found]);
                return Err(ImportError::Column {
                    key: field_key(target),
                    reason: format!(
                        "reads {} of repeat file {}; only list fields such as `cargo[].kind` can read a repeat file, one element per line",
                        columns.label(index),
                        section.map_or("", |section| &section.label)
                    ),
                });
            }
        }
        for list in &uses.lists {
            let mut list_sections: Vec<usize> = Vec::new();
            for (target, field_columns) in list {
                for index in field_columns {
                    match section_of(*index) {
                        None => {
                            return Err(ImportError::Column {
                                key: field_key(target),
                                reason: format!(
                                    "reads {} of the main file; with repeat files, a list is filled from one of them, one element per line, and a main-file value would be repeated on every line",
                                    columns.label(*index)
                                ),
                            });
                        }
                        Some(section) if !list_sections.contains(&section) => {
                            list_sections.push(section);
                        }
                        Some(_) => {}
                    }
                }
            }
            let first_target = list.first().map_or("", |(target, _)| *target);
            match list_sections.as_slice() {
                [_] => {}
                [] => {
                    return Err(ImportError::Column {
                        key: field_key(first_target),
                        reason: "reads no repeat file; with repeat files, a list is filled from one of them, one element per line".to_owned(),
                    });
                }
                several => {
                    let labels: Vec<&str> = several
                        .iter()
                        .map(|section| &*self.sections[*section].label)
                        .collect();
                    return Err(ImportError::Column {
                        key: field_key(first_target),
                        reason: format!(
                            "its fields read several repeat files ({}); one list is filled from one file",
                            labels.join(", ")
                        ),
                    });
                }
            }
        }
        for (rule, index) in mapping.skip_rules.iter().zip(&uses.skip_columns) {
            if let Some(section) = section_of(*index) {
                return Err(ImportError::Column {
                    key: rule.key.clone(),
                    reason: format!(
                        "looks at {} of repeat file {}; skip rules look at the main file",
                        columns.label(*index),
                        self.sections[section].label
                    ),
                });
            }
        }
        Ok(())
    }

    /// The record of one main-file row with its repeat lines, or why not.
    pub(crate) fn join_and_build(&mut self, plan: &ImportPlan, parent: Row) -> ImportItem {
        if parent.problem.is_some() {
            // A ragged row is refused whole; its key cannot be trusted.
            return plan.build(std::slice::from_ref(&parent), None, Vec::new());
        }
        let mut errors = Vec::new();
        let mut joined_rows = Vec::new();
        for section in &mut self.sections {
            let declaration = &section.declaration;
            let key = parent
                .cells
                .get(section.key_column)
                .map_or("", |cell| cell.trim());
            if key.is_empty() {
                errors.push(format!(
                    "repeat.{}.key: column {:?} is empty, so the lines of {} cannot be joined to this row",
                    declaration.name, declaration.key, section.label
                ));
                continue;
            }
            if let Some(earlier) = section.joined_keys.get(key) {
                errors.push(format!(
                    "repeat.{}.key: column {:?} is {key:?} here and in row {earlier}, so the lines of {} cannot be told apart",
                    declaration.name, declaration.key, section.label
                ));
                continue;
            }
            section.joined_keys.insert(key.to_owned(), parent.line);
            for line_index in section.lines_by_key.remove(key).unwrap_or_default() {
                let line = &section.lines[line_index];
                let mut cells = parent.cells.clone();
                cells.resize(self.joined_width, String::new());
                for (offset, cell) in line.cells.iter().enumerate() {
                    if let Some(slot) = cells.get_mut(section.first_column + offset) {
                        slot.clone_from(cell);
                    }
                }
                joined_rows.push(Row {
                    line: parent.line,
                    cells,
                    problem: line.problem.clone(),
                    joined_from: Some(RowOrigin {
                        file: Arc::clone(&section.label),
                        line: line.line,
                    }),
                });
            }
        }
        if joined_rows.is_empty() || !errors.is_empty() {
            joined_rows = vec![parent];
        }
        plan.build(&joined_rows, None, errors)
    }

    /// Drops the repeat lines of a main row that a `[[skip]]` rule left out:
    /// they are skipped with it, not reported as lines without a row.
    pub(crate) fn skip_lines_of(&mut self, parent: &Row) {
        for section in &mut self.sections {
            if let Some(key) = parent.cells.get(section.key_column) {
                section.lines_by_key.remove(key.trim());
            }
        }
    }

    /// After the main file: one rejection per main-row key that repeat lines
    /// name but no main row has, and one per line with an empty parent key.
    /// They are rejected rather than dropped, so no line is lost unseen.
    pub(crate) fn unjoined_lines(&mut self) -> Vec<ImportItem> {
        let mut items = Vec::new();
        for section in &mut self.sections {
            let declaration = &section.declaration;
            let mut unjoined: Vec<(String, Vec<usize>)> = section.lines_by_key.drain().collect();
            unjoined.sort_by_key(|(_, lines)| lines.first().copied());
            for (key, lines) in unjoined {
                let numbers: Vec<String> = lines
                    .iter()
                    .map(|index| section.lines[*index].line.to_string())
                    .collect();
                let rows = if numbers.len() == 1 { "row" } else { "rows" };
                items.push(ImportItem::Rejected(RejectedRow {
                    rows: Vec::new(),
                    id: None,
                    reason: format!(
                        "{} {rows} {}: column {:?} is {key:?}, but no row of the main file has that {:?} (repeat.{}.key)",
                        section.label,
                        numbers.join(", "),
                        declaration.parent_key,
                        declaration.key,
                        declaration.name
                    ),
                }));
            }
            for index in section.keyless_lines.drain(..) {
                items.push(ImportItem::Rejected(RejectedRow {
                    rows: Vec::new(),
                    id: None,
                    reason: format!(
                        "{} row {}: column {:?} is empty, so the line belongs to no row of the main file",
                        section.label, section.lines[index].line, declaration.parent_key
                    ),
                }));
            }
        }
        items
    }
}

impl RepeatSection {
    fn read<F: Read>(
        declaration: RepeatDeclaration,
        file: RepeatFile<F>,
        delimiter: u8,
    ) -> Result<RepeatSection, ImportError> {
        let label: Arc<str> = Arc::from(file.label.as_str());
        let in_file = |reason: String| ImportError::Repeat {
            file: file.label.clone(),
            reason,
        };
        let mut reader = csv_reader(delimiter, file.reader);
        let mut record = csv::ByteRecord::new();
        let mut next_row = |reader: &mut csv::Reader<F>| -> Result<Option<Row>, ImportError> {
            let more =
                reader
                    .read_byte_record(&mut record)
                    .map_err(|error| ImportError::RepeatRead {
                        file: file.label.clone(),
                        error,
                    })?;
            if !more {
                return Ok(None);
            }
            decode_row(&record)
                .map(Some)
                .map_err(|error| in_file(error.to_string()))
        };
        let header = match next_row(&mut reader)? {
            Some(row) if row.cells.iter().any(|cell| !cell.trim().is_empty()) => row.cells,
            _ => {
                return Err(in_file(
                    "the file is empty: it has no header row".to_owned(),
                ));
            }
        };
        let parent_key_column = {
            let wanted = &declaration.parent_key;
            let matching: Vec<usize> = (0..header.len())
                .filter(|index| header[*index].trim() == wanted)
                .collect();
            match matching.as_slice() {
                [index] => *index,
                [] => {
                    return Err(in_file(format!(
                        "repeat.{}.parent_key: the file has no column {wanted:?}",
                        declaration.name
                    )));
                }
                _ => {
                    return Err(in_file(format!(
                        "repeat.{}.parent_key: the file has {} columns named {wanted:?}",
                        declaration.name,
                        matching.len()
                    )));
                }
            }
        };
        let mut lines = Vec::new();
        let mut lines_by_key: HashMap<String, Vec<usize>> = HashMap::new();
        let mut keyless_lines = Vec::new();
        while let Some(mut row) = next_row(&mut reader)? {
            if row.cells.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            if row.cells.len() != header.len() {
                row.problem = Some(format!(
                    "the row has {} cells, the header has {}",
                    row.cells.len(),
                    header.len()
                ));
                row.cells.resize(header.len(), String::new());
            }
            let key = row.cells[parent_key_column].trim().to_owned();
            let index = lines.len();
            lines.push(row);
            if key.is_empty() {
                keyless_lines.push(index);
            } else {
                lines_by_key.entry(key).or_default().push(index);
            }
        }
        Ok(RepeatSection {
            declaration,
            label,
            header,
            lines,
            lines_by_key,
            keyless_lines,
            first_column: 0,
            key_column: 0,
            joined_keys: HashMap::new(),
        })
    }
}
