//! Reading a CSV file row by row and turning each row, or each group of rows, into a record object through a mapping.

use std::collections::{HashMap, VecDeque};
use std::io::Read;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::hxl::{HxlColumnTag, is_hashtag_row};
use crate::mapping::{
    Conversion, FieldMapping, FieldSource, KeySource, Mapping, RECORD_TYPES, SkipCondition,
    TargetKind, field_key,
};
use crate::repeat::{RepeatFile, RepeatJoin, RowOrigin};
use crate::template::{ColumnReference, Template, TemplatePart, id_safe};

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
    fn resolve(
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

    fn resolve_one(&self, key: &str, reference: &ColumnReference) -> Result<usize, ImportError> {
        let indices = self.resolve(key, reference, false)?;
        indices.first().copied().ok_or_else(|| ImportError::Column {
            key: key.to_owned(),
            reason: format!("no column for {reference}"),
        })
    }

    fn resolve_template(
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
struct ResolvedTemplate {
    text: String,
    parts: Vec<ResolvedPart>,
}

#[derive(Debug)]
enum ResolvedPart {
    Literal(String),
    Column { index: usize, placeholder: String },
    GroupKey,
}

#[derive(Debug)]
enum ResolvedKey {
    Column { index: usize, label: String },
    Template(ResolvedTemplate),
}

#[derive(Debug)]
enum ResolvedSource {
    Columns(Vec<usize>),
    Constant(Value),
    Template(ResolvedTemplate),
}

/// A field with its columns found in this file.
#[derive(Debug)]
struct ResolvedField {
    mapping: FieldMapping,
    source: ResolvedSource,
    /// A separate time-of-day column and its label.
    time_column: Option<(usize, String)>,
    /// Names the source in "required, but ... is empty".
    source_label: String,
    /// Where the value goes: the record path for a scalar, the element path in a list.
    path: Vec<String>,
}

#[derive(Debug)]
struct ResolvedList {
    path: Vec<String>,
    /// `sites[]`: each value is an element. Otherwise each row gives an object.
    scalar_elements: bool,
    fields: Vec<ResolvedField>,
}

#[derive(Debug)]
struct ResolvedSkip {
    column: usize,
    condition: SkipCondition,
}

/// The mapping applied to this file's columns.
#[derive(Debug)]
pub(crate) struct ImportPlan {
    empty_values: Vec<String>,
    group_key: Option<ResolvedKey>,
    skip_rules: Vec<ResolvedSkip>,
    scalar_fields: Vec<ResolvedField>,
    lists: Vec<ResolvedList>,
}

/// What one field gives for one row.
#[derive(Debug)]
struct FieldOutcome {
    values: Vec<Value>,
    /// Whether a cell (not a constant or a default) gave a value; a list
    /// element is made only for rows where one did.
    from_cells: bool,
}

/// The columns the plan reads, by part, for the checks of repeat.rs: repeat
/// files may feed list fields only.
#[derive(Debug)]
pub(crate) struct ColumnUses<'plan> {
    /// Each scalar field's target, with the columns it reads.
    pub(crate) scalar_fields: Vec<(&'plan str, Vec<usize>)>,
    /// Each list: its fields' targets, each with the columns it reads.
    pub(crate) lists: Vec<Vec<(&'plan str, Vec<usize>)>>,
    /// Each skip rule's column, in the mapping's order.
    pub(crate) skip_columns: Vec<usize>,
}

impl ImportPlan {
    pub(crate) fn column_uses(&self) -> ColumnUses<'_> {
        fn uses(field: &ResolvedField) -> (&str, Vec<usize>) {
            let mut columns = source_columns(&field.source);
            columns.extend(field.time_column.as_ref().map(|(index, _)| *index));
            (field.mapping.target.text.as_str(), columns)
        }
        ColumnUses {
            scalar_fields: self.scalar_fields.iter().map(uses).collect(),
            lists: self
                .lists
                .iter()
                .map(|list| list.fields.iter().map(uses).collect())
                .collect(),
            skip_columns: self.skip_rules.iter().map(|rule| rule.column).collect(),
        }
    }

    fn new(mapping: &Mapping, columns: &FileColumns) -> Result<ImportPlan, ImportError> {
        let group_key = match &mapping.group_by {
            None => None,
            Some(KeySource::Column(reference)) => {
                let index = columns.resolve_one("group_by", reference)?;
                Some(ResolvedKey::Column {
                    index,
                    label: columns.label(index),
                })
            }
            Some(KeySource::Template(template)) => Some(ResolvedKey::Template(
                columns.resolve_template("group_by.template", template)?,
            )),
        };
        let skip_rules = mapping
            .skip_rules
            .iter()
            .map(|rule| {
                Ok(ResolvedSkip {
                    column: columns.resolve_one(&rule.key, &rule.column)?,
                    condition: rule.condition.clone(),
                })
            })
            .collect::<Result<Vec<_>, ImportError>>()?;

        let mut scalar_fields = Vec::new();
        let mut lists: Vec<ResolvedList> = Vec::new();
        let mut private_columns: HashMap<usize, String> = HashMap::new();
        for field in &mapping.fields {
            let key = field_key(&field.target.text);
            let scalar_list = matches!(&field.target.kind, TargetKind::ListElement { element, .. } if element.is_empty());
            let (source, source_label) = match &field.source {
                FieldSource::Constant(value) => (
                    ResolvedSource::Constant(value.clone()),
                    "the constant".to_owned(),
                ),
                FieldSource::Column(reference) => {
                    let indices = columns.resolve(&key, reference, scalar_list)?;
                    let label = indices
                        .first()
                        .map_or_else(String::new, |index| columns.label(*index));
                    (ResolvedSource::Columns(indices), label)
                }
                FieldSource::Template(template) => (
                    ResolvedSource::Template(
                        columns.resolve_template(&format!("{key}.template"), template)?,
                    ),
                    format!("the template {:?}", template.text),
                ),
            };
            let time_column = match &field.conversion {
                Conversion::Time {
                    time_column: Some(reference),
                    ..
                } => {
                    let index = columns.resolve_one(&key, reference)?;
                    Some((index, columns.label(index)))
                }
                _ => None,
            };
            if field.target.is_private() {
                for index in source_columns(&source)
                    .into_iter()
                    .chain(time_column.as_ref().map(|(index, _)| *index))
                {
                    private_columns.insert(index, field.target.text.clone());
                }
            }
            let resolved = |path: Vec<String>| ResolvedField {
                mapping: field.clone(),
                source,
                time_column,
                source_label,
                path,
            };
            match &field.target.kind {
                TargetKind::Scalar(path) => scalar_fields.push(resolved(path.clone())),
                TargetKind::ListElement { list, element } => {
                    let field = resolved(element.clone());
                    match lists.iter_mut().find(|existing| &existing.path == list) {
                        Some(existing) => existing.fields.push(field),
                        None => lists.push(ResolvedList {
                            path: list.clone(),
                            scalar_elements: element.is_empty(),
                            fields: vec![field],
                        }),
                    }
                }
            }
        }
        // Everything outside `private` is published: a public field (the id
        // included) that reads a column holding personal data would publish it.
        let public_fields = scalar_fields
            .iter()
            .chain(lists.iter().flat_map(|list| list.fields.iter()))
            .filter(|field| !field.mapping.target.is_private());
        for field in public_fields {
            let time_column = field.time_column.as_ref().map(|(index, _)| *index);
            for index in source_columns(&field.source).into_iter().chain(time_column) {
                if let Some(private_target) = private_columns.get(&index) {
                    return Err(ImportError::Column {
                        key: field_key(&field.mapping.target.text),
                        reason: format!(
                            "uses {}, which is mapped to {private_target}: personal data must not go into public fields",
                            columns.label(index)
                        ),
                    });
                }
            }
        }
        Ok(ImportPlan {
            empty_values: mapping.empty_values.clone(),
            group_key,
            skip_rules,
            scalar_fields,
            lists,
        })
    }

    /// A cell's text, trimmed, or `None` when it is empty or one of the
    /// mapping's `empty_values`.
    fn cell<'row>(&self, row: &'row Row, index: usize) -> Option<&'row str> {
        let text = row.cells.get(index)?.trim();
        // Lower-cased once per cell (not per empty value), and only when
        // the mapping has empty values.
        let is_empty = text.is_empty()
            || (!self.empty_values.is_empty() && self.empty_values.contains(&text.to_lowercase()));
        (!is_empty).then_some(text)
    }

    fn is_skipped(&self, row: &Row) -> bool {
        self.skip_rules.iter().any(|rule| {
            let raw = row
                .cells
                .get(rule.column)
                .map_or("", |cell| cell.trim())
                .to_lowercase();
            match &rule.condition {
                SkipCondition::Equals(value) => &raw == value,
                SkipCondition::IsEmpty => self.cell(row, rule.column).is_none(),
                SkipCondition::In(values) => values.contains(&raw),
            }
        })
    }

    /// Fills a template. In strict mode (ids and group keys) an empty
    /// placeholder is an error; otherwise it renders as nothing.
    fn render(
        &self,
        template: &ResolvedTemplate,
        row: &Row,
        group_key: Option<&str>,
        purpose: TemplatePurpose,
    ) -> Result<Option<String>, String> {
        let mut text = String::new();
        for part in &template.parts {
            match part {
                ResolvedPart::Literal(literal) => text.push_str(literal),
                ResolvedPart::GroupKey => {
                    let key = group_key.unwrap_or_default();
                    text.push_str(&if purpose == TemplatePurpose::Id {
                        id_safe(key)
                    } else {
                        key.to_owned()
                    });
                }
                ResolvedPart::Column { index, placeholder } => match self.cell(row, *index) {
                    Some(value) if purpose == TemplatePurpose::Id => text.push_str(&id_safe(value)),
                    Some(value) => text.push_str(value),
                    None if purpose == TemplatePurpose::Text => {}
                    None => return Err(format!("placeholder {placeholder} is empty")),
                },
            }
        }
        let text = text.trim();
        Ok((!text.is_empty()).then(|| text.to_owned()))
    }

    fn group_key(&self, key: &ResolvedKey, row: &Row) -> Result<String, String> {
        match key {
            ResolvedKey::Column { index, label } => self
                .cell(row, *index)
                .map(str::to_owned)
                .ok_or_else(|| format!("group key: {label} is empty")),
            ResolvedKey::Template(template) => {
                match self.render(template, row, None, TemplatePurpose::Key) {
                    Ok(Some(key)) => Ok(key),
                    Ok(None) => Err(format!(
                        "group key: the template {:?} gives nothing",
                        template.text
                    )),
                    Err(problem) => Err(format!("group key: {problem}")),
                }
            }
        }
    }

    /// What one field gives for one row, or a message naming the field.
    fn field_outcome(
        &self,
        field: &ResolvedField,
        row: &Row,
        group_key: Option<&str>,
    ) -> Result<FieldOutcome, String> {
        let mapping = &field.mapping;
        let target = &mapping.target.text;
        let texts: Vec<Option<String>> = match &field.source {
            ResolvedSource::Constant(value) => {
                return Ok(FieldOutcome {
                    values: vec![value.clone()],
                    from_cells: false,
                });
            }
            ResolvedSource::Template(template) => {
                let purpose = if target == "id" {
                    TemplatePurpose::Id
                } else {
                    TemplatePurpose::Text
                };
                vec![
                    self.render(template, row, group_key, purpose)
                        .map_err(|problem| format!("{target}: {problem}"))?,
                ]
            }
            ResolvedSource::Columns(indices) => indices
                .iter()
                .map(|index| self.cell(row, *index).map(str::to_owned))
                .collect(),
        };
        let mut outcome = FieldOutcome {
            values: Vec::new(),
            from_cells: false,
        };
        for text in texts {
            outcome.from_cells |= text.is_some();
            if let Some(value) = self.convert(field, text, row)? {
                outcome.values.push(value);
            }
        }
        Ok(outcome)
    }

    fn convert(
        &self,
        field: &ResolvedField,
        text: Option<String>,
        row: &Row,
    ) -> Result<Option<Value>, String> {
        let mapping = &field.mapping;
        let text = match (text, mapping.normalize) {
            (Some(text), Some(normalization)) => {
                Some(normalization.apply(&text).map_err(|problem| {
                    describe(
                        mapping,
                        &text,
                        &format!("in {} {problem}", field.source_label),
                    )
                })?)
            }
            (text, _) => text,
        };
        let text = match (text, &mapping.value_map) {
            (None, _) => mapping.default.clone(),
            (Some(text), None) => Some(text),
            (Some(text), Some(value_map)) => match value_map.entries.get(&text.to_lowercase()) {
                Some(mapped) => Some(mapped.clone()),
                None if mapping.default.is_some() => mapping.default.clone(),
                None if value_map.keep_unmapped => Some(text),
                None => {
                    let mut known: Vec<&String> = value_map.entries.keys().collect();
                    known.sort();
                    let mut listed = known
                        .iter()
                        .take(12)
                        .map(|key| format!("{key:?}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    if known.len() > 12 {
                        listed.push_str(", …");
                    }
                    return Err(describe(
                        mapping,
                        &text,
                        &format!(
                            "is not in the value map (known values: {listed}) and the field has no default"
                        ),
                    ));
                }
            },
        };
        let time_text = field
            .time_column
            .as_ref()
            .and_then(|(index, _)| self.cell(row, *index));
        let Some(text) = text else {
            if let (Some(time_text), Some((_, label))) = (time_text, &field.time_column) {
                return Err(describe(
                    mapping,
                    time_text,
                    &format!("is a time in {label} but the date is empty"),
                ));
            }
            return Ok(None);
        };
        let value = match &mapping.conversion {
            Conversion::Text => Value::String(text),
            Conversion::Integer(numbers) => Value::from(
                numbers
                    .parse_integer(&text)
                    .map_err(|problem| describe(mapping, &text, &problem.problem))?,
            ),
            Conversion::Number(numbers) => Value::Number(
                numbers
                    .parse_number(&text)
                    .map_err(|problem| describe(mapping, &text, &problem.problem))?,
            ),
            Conversion::Time { format, .. } => {
                Value::String(format.convert(&text, time_text).map_err(|problem| {
                    let shown = match time_text {
                        Some(time_text) => format!("{text} {time_text}"),
                        None => text.clone(),
                    };
                    describe(mapping, &shown, &problem.problem)
                })?)
            }
        };
        Ok(Some(value))
    }

    /// Builds the record for a row or a group, or says why it cannot be built.
    pub(crate) fn build(
        &self,
        rows: &[Row],
        group_key: Option<&str>,
        mut errors: Vec<String>,
    ) -> ImportItem {
        let mut line_numbers: Vec<u64> = rows.iter().map(|row| row.line).collect();
        // Rows joined from repeat files all start at their main-file row.
        line_numbers.dedup();
        let several = rows.len() > 1;
        let in_row = |row: &Row, message: String| match &row.joined_from {
            Some(origin) => format!("{origin}: {message}"),
            None if several => format!("row {}: {message}", row.line),
            None => message,
        };
        for row in rows {
            if let Some(problem) = &row.problem {
                errors.push(in_row(row, problem.clone()));
            }
        }
        // A row refused as a whole (ragged) is not read field by field, so
        // "required, but empty" would only repeat its problem misleadingly.
        let rows_refused_whole = rows.iter().any(|row| row.problem.is_some());
        let mut record = Map::new();
        for field in &self.scalar_fields {
            let mut agreed: Option<(u64, Value)> = None;
            let mut failed = false;
            for row in rows.iter().filter(|row| row.problem.is_none()) {
                match self.field_outcome(field, row, group_key) {
                    Err(message) => {
                        errors.push(in_row(row, message));
                        failed = true;
                    }
                    Ok(outcome) => {
                        for value in outcome.values {
                            match &agreed {
                                None => agreed = Some((row.line, value)),
                                Some((first_line, first_value))
                                    if *first_value != value && !failed =>
                                {
                                    errors.push(disagreement(
                                        &field.mapping,
                                        *first_line,
                                        first_value,
                                        row.line,
                                        &value,
                                    ));
                                    failed = true;
                                }
                                Some(_) => {}
                            }
                        }
                    }
                }
            }
            match agreed {
                Some((_, value)) => insert_at_path(&mut record, &field.path, value),
                None if field.mapping.required && !failed && !rows_refused_whole => {
                    let every_row = if several { " in every row" } else { "" };
                    errors.push(format!(
                        "{}: required, but {} is empty{every_row}",
                        field.mapping.target.text, field.source_label
                    ));
                }
                None => {}
            }
        }
        for list in &self.lists {
            let all_constant = list
                .fields
                .iter()
                .all(|field| matches!(field.source, ResolvedSource::Constant(_)));
            let mut elements = Vec::new();
            for row in rows.iter().filter(|row| row.problem.is_none()) {
                let mut element = Map::new();
                let mut row_has_cell_values = false;
                let mut missing_required = Vec::new();
                for field in &list.fields {
                    match self.field_outcome(field, row, group_key) {
                        Err(message) => errors.push(in_row(row, message)),
                        Ok(outcome) => {
                            row_has_cell_values |= outcome.from_cells;
                            if list.scalar_elements {
                                elements.extend(outcome.values);
                            } else if let Some(value) = outcome.values.into_iter().next() {
                                insert_at_path(&mut element, &field.path, value);
                            } else if field.mapping.required {
                                missing_required.push(field);
                            }
                        }
                    }
                }
                if !list.scalar_elements && (row_has_cell_values || all_constant) {
                    for field in missing_required {
                        errors.push(in_row(
                            row,
                            format!(
                                "{}: required, but {} is empty",
                                field.mapping.target.text, field.source_label
                            ),
                        ));
                    }
                    elements.push(Value::Object(element));
                }
            }
            if !elements.is_empty() {
                insert_at_path(&mut record, &list.path, Value::Array(elements));
            }
        }
        if let Some(record_type) = record.get("type")
            && !record_type
                .as_str()
                .is_some_and(|name| RECORD_TYPES.contains(&name))
        {
            errors.push(format!(
                "type: {record_type} is not a record type (one of: {})",
                RECORD_TYPES.join(", ")
            ));
        }
        let id = record.get("id").and_then(Value::as_str).map(str::to_owned);
        match (id, errors.is_empty()) {
            (Some(id), true) => ImportItem::Record(ImportedRecord {
                rows: line_numbers,
                id,
                record,
            }),
            (id, _) => ImportItem::Rejected(RejectedRow {
                rows: line_numbers,
                id,
                reason: if errors.is_empty() {
                    // The id field is required, so an id is missing only
                    // together with an error; this is a safety net.
                    "id: no id could be built".to_owned()
                } else {
                    errors.join("; ")
                },
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TemplatePurpose {
    /// An id: empty placeholders are errors; values are made id-safe.
    Id,
    /// A group key: empty placeholders are errors.
    Key,
    /// Any other field: empty placeholders render as nothing.
    Text,
}

fn source_columns(source: &ResolvedSource) -> Vec<usize> {
    match source {
        ResolvedSource::Columns(indices) => indices.clone(),
        ResolvedSource::Constant(_) => Vec::new(),
        ResolvedSource::Template(template) => template
            .parts
            .iter()
            .filter_map(|part| match part {
                ResolvedPart::Column { index, .. } => Some(*index),
                _ => None,
            })
            .collect(),
    }
}

/// `observed_at: "31/02/2023" is not a valid date`, or for personal data
/// `private.plate: the value is not in the value map (value not shown)`.
fn describe(mapping: &FieldMapping, value: &str, problem: &str) -> String {
    if mapping.target.is_private() {
        format!(
            "{}: the value {problem} (value not shown)",
            mapping.target.text
        )
    } else {
        format!("{}: {value:?} {problem}", mapping.target.text)
    }
}

fn disagreement(
    mapping: &FieldMapping,
    first_line: u64,
    first: &Value,
    line: u64,
    value: &Value,
) -> String {
    if mapping.target.is_private() {
        format!(
            "{}: rows {first_line} and {line} of the group disagree (values not shown)",
            mapping.target.text
        )
    } else {
        format!(
            "{}: rows {first_line} and {line} of the group disagree ({first} vs {value})",
            mapping.target.text
        )
    }
}

/// Puts a value at a dotted path, creating the objects on the way. The
/// mapping refuses overlapping targets, so an existing non-object on the way
/// cannot occur; if it did, the value replaces it rather than panicking.
fn insert_at_path(object: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = object;
    for segment in parents {
        let entry = current
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.clone(), value);
}

/// A group of contiguous rows with the same key, still being read.
#[derive(Debug)]
struct OpenGroup {
    key: String,
    rows: Vec<Row>,
    /// Set when this key already had a group that ended at that row.
    earlier_group_ended_at: Option<u64>,
}

/// Turns a CSV file into record objects, streaming: rows are read as the
/// iterator is advanced, and only the rows of the current group are held.
///
/// Items come in file order. A fatal [`ImportError`] ends the iteration.
#[derive(Debug)]
pub struct CsvImporter<R: Read> {
    reader: csv::Reader<R>,
    plan: ImportPlan,
    header_width: usize,
    buffer: csv::ByteRecord,
    /// A data row read while looking for a hashtag row.
    peeked_row: Option<Row>,
    pending: VecDeque<ImportItem>,
    open_group: Option<OpenGroup>,
    /// The repeat files joined to each row, when the mapping has `[repeat.*]`.
    repeat_join: Option<RepeatJoin>,
    /// Keys of groups already emitted, with the row their group ended at.
    finished_groups: HashMap<String, u64>,
    rows_read: u64,
    rows_skipped: u64,
    finished: bool,
}

impl<R: Read> CsvImporter<R> {
    /// Reads the header row (and the HXL hashtag row right after it, when
    /// there is one) and finds every column the mapping names.
    ///
    /// # Errors
    ///
    /// [`ImportError::Column`] when a column is missing or a pattern matches
    /// several columns for a single-value field; [`ImportError::NoHeader`],
    /// [`ImportError::NotUtf8`] or [`ImportError::Read`] when the header
    /// cannot be read.
    pub fn new(mapping: &Mapping, reader: R) -> Result<CsvImporter<R>, ImportError> {
        let repeat_join = RepeatJoin::load::<&[u8]>(mapping, Vec::new())?;
        CsvImporter::open(mapping, reader, repeat_join)
    }

    /// Like [`CsvImporter::new`], for a mapping with `[repeat.NAME]` tables:
    /// each repeat file is read whole, and its lines are joined to the rows of
    /// the main file they name (docs/import.md, "Repeat groups in files of
    /// their own").
    ///
    /// # Errors
    ///
    /// As [`CsvImporter::new`], and [`ImportError::Repeat`] or
    /// [`ImportError::RepeatRead`] when a declared repeat file is not given,
    /// a file is given for no declared repeat, or a repeat file cannot be read
    /// or lacks its key column.
    pub fn with_repeat_files<F: Read>(
        mapping: &Mapping,
        reader: R,
        repeat_files: Vec<RepeatFile<F>>,
    ) -> Result<CsvImporter<R>, ImportError> {
        let repeat_join = RepeatJoin::load(mapping, repeat_files)?;
        CsvImporter::open(mapping, reader, repeat_join)
    }

    fn open(
        mapping: &Mapping,
        reader: R,
        mut repeat_join: Option<RepeatJoin>,
    ) -> Result<CsvImporter<R>, ImportError> {
        let csv_reader = csv_reader(mapping.delimiter, reader);
        let mut importer = CsvImporter {
            reader: csv_reader,
            plan: ImportPlan {
                empty_values: Vec::new(),
                group_key: None,
                skip_rules: Vec::new(),
                scalar_fields: Vec::new(),
                lists: Vec::new(),
            },
            header_width: 0,
            buffer: csv::ByteRecord::new(),
            peeked_row: None,
            pending: VecDeque::new(),
            open_group: None,
            repeat_join: None,
            finished_groups: HashMap::new(),
            rows_read: 0,
            rows_skipped: 0,
            finished: false,
        };
        let header = importer.read_row()?.ok_or(ImportError::NoHeader)?;
        if header.cells.iter().all(|cell| cell.trim().is_empty()) {
            return Err(ImportError::NoHeader);
        }
        let mut columns = if is_hashtag_row(&header.cells) {
            // An HXL file may have no header names at all, only hashtags.
            FileColumns {
                names: vec![String::new(); header.cells.len()],
                hashtags: Some(hashtags_of(&header.cells)),
            }
        } else {
            let mut columns = FileColumns {
                names: header.cells,
                hashtags: None,
            };
            match importer.read_row()? {
                Some(row) if is_hashtag_row(&row.cells) => {
                    if row.cells.len() > columns.width() {
                        return Err(ImportError::Column {
                            key: "HXL hashtag row".to_owned(),
                            reason: format!(
                                "row {} has {} cells, the header row has {}",
                                row.line,
                                row.cells.len(),
                                columns.width()
                            ),
                        });
                    }
                    let mut hashtags = hashtags_of(&row.cells);
                    hashtags.resize(columns.width(), None);
                    columns.hashtags = Some(hashtags);
                }
                other => importer.peeked_row = other,
            }
            columns
        };
        importer.header_width = columns.width();
        if let Some(join) = &mut repeat_join {
            join.extend_columns(&mut columns);
        }
        importer.plan = ImportPlan::new(mapping, &columns)?;
        if let Some(join) = &mut repeat_join {
            join.resolve(mapping, &importer.plan, &columns, importer.header_width)?;
        }
        importer.repeat_join = repeat_join;
        Ok(importer)
    }

    /// Bytes of the file read so far, for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// Data rows read so far (after the header and hashtag rows), blank and skipped ones included.
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Rows left out by a `[[skip]]` rule or because they are blank.
    pub fn rows_skipped(&self) -> u64 {
        self.rows_skipped
    }

    fn read_row(&mut self) -> Result<Option<Row>, ImportError> {
        if !self
            .reader
            .read_byte_record(&mut self.buffer)
            .map_err(ImportError::Read)?
        {
            return Ok(None);
        }
        decode_row(&self.buffer).map(Some)
    }

    fn next_data_row(&mut self) -> Result<Option<Row>, ImportError> {
        match self.peeked_row.take() {
            Some(row) => Ok(Some(row)),
            None => self.read_row(),
        }
    }

    fn accept_row(&mut self, mut row: Row) {
        self.rows_read += 1;
        if row.cells.iter().all(|cell| cell.trim().is_empty()) || self.plan.is_skipped(&row) {
            self.rows_skipped += 1;
            if let Some(join) = &mut self.repeat_join {
                join.skip_lines_of(&row);
            }
            return;
        }
        if row.cells.len() != self.header_width {
            row.problem = Some(format!(
                "the row has {} cells, the header has {}",
                row.cells.len(),
                self.header_width
            ));
        }
        if let Some(join) = &mut self.repeat_join {
            let item = join.join_and_build(&self.plan, row);
            self.pending.push_back(item);
            return;
        }
        let Some(key_source) = &self.plan.group_key else {
            let item = self
                .plan
                .build(std::slice::from_ref(&row), None, Vec::new());
            self.pending.push_back(item);
            return;
        };
        let key = match self.plan.group_key(key_source, &row) {
            Ok(key) => key,
            Err(problem) => {
                let reason = row.problem.clone().unwrap_or(problem);
                self.pending.push_back(ImportItem::Rejected(RejectedRow {
                    rows: vec![row.line],
                    id: None,
                    reason,
                }));
                return;
            }
        };
        if let Some(group) = &mut self.open_group
            && group.key == key
        {
            group.rows.push(row);
            return;
        }
        self.close_group();
        self.open_group = Some(OpenGroup {
            earlier_group_ended_at: self.finished_groups.get(&key).copied(),
            key,
            rows: vec![row],
        });
    }

    fn close_group(&mut self) {
        let Some(group) = self.open_group.take() else {
            return;
        };
        let mut errors = Vec::new();
        if let Some(ended_at) = group.earlier_group_ended_at {
            errors.push(format!(
                "group key: these rows continue a group that ended at row {ended_at}; the rows of a group must be next to each other (sort the file by the group key)"
            ));
        }
        let item = self.plan.build(&group.rows, Some(&group.key), errors);
        let last_line = group.rows.last().map_or(0, |row| row.line);
        self.finished_groups.insert(group.key, last_line);
        self.pending.push_back(item);
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

fn hashtags_of(cells: &[String]) -> Vec<Option<HxlColumnTag>> {
    cells
        .iter()
        .map(|cell| HxlColumnTag::parse(cell.trim()).ok())
        .collect()
}

impl<R: Read> Iterator for CsvImporter<R> {
    type Item = Result<ImportItem, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok(item));
            }
            if self.finished {
                return None;
            }
            match self.next_data_row() {
                Ok(Some(row)) => self.accept_row(row),
                Ok(None) => {
                    self.finished = true;
                    self.close_group();
                    if let Some(join) = &mut self.repeat_join {
                        self.pending.extend(join.unjoined_lines());
                    }
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fields every record needs, for tests that focus on another field.
    const COMMON_FIELDS: &str = r##"
        type = { constant = "passage" }
        id = { column = "ID" }
        "source.kind" = { constant = "direct_observation" }
        "source.name" = { constant = "Team A" }
        recorded_by = { constant = "team-a" }
    "##;

    const COMMON_RECORD: [(&str, &str); 2] = [("type", "passage"), ("recorded_by", "team-a")];

    /// Runs the importer and returns each item as its JSON form, so that a
    /// test states the whole output at once.
    fn import(mapping: &str, csv: &[u8]) -> Result<Vec<Value>, String> {
        let mapping = Mapping::from_toml(mapping).map_err(|error| error.to_string())?;
        let importer = CsvImporter::new(&mapping, csv).map_err(|error| error.to_string())?;
        importer
            .map(|item| {
                item.map(|item| serde_json::to_value(item).expect("items serialize"))
                    .map_err(|error| error.to_string())
            })
            .collect()
    }

    /// A mapping with the common fields and `fields` added, under `preamble`
    /// (top-level keys) and followed by `tables` (`[csv]`, `[[skip]]`).
    fn mapping(preamble: &str, fields: &str, tables: &str) -> String {
        format!("{preamble}\n[fields]\n{COMMON_FIELDS}\n{fields}\n{tables}")
    }

    /// The record with the common fields, the id and the given fields.
    fn record(id: &str, fields: Value) -> Value {
        let mut record = json!({
            "id": id,
            "source": {"kind": "direct_observation", "name": "Team A"},
        });
        for (key, value) in COMMON_RECORD {
            record[key] = json!(value);
        }
        if let (Value::Object(record), Value::Object(fields)) = (&mut record, fields) {
            record.extend(fields);
        }
        record
    }

    fn imported(rows: &[u64], id: &str, fields: Value) -> Value {
        json!({"outcome": "imported", "rows": rows, "id": id, "record": record(id, fields)})
    }

    fn rejected(rows: &[u64], id: Option<&str>, reason: &str) -> Value {
        json!({"outcome": "rejected", "rows": rows, "id": id, "reason": reason})
    }

    fn check(mapping: &str, csv: &str, expected: Vec<Value>) {
        let actual = import(mapping, csv.as_bytes()).expect("import runs");
        assert_eq!(
            actual,
            expected,
            "actual output:\n{}",
            serde_json::to_string_pretty(&actual).unwrap_or_default()
        );
    }

    #[test]
    fn columns_by_header_and_constants() {
        check(
            &mapping(
                "",
                r##"
                site = { constant = "lachin" }
                operator = { column = "Operator" }
                passengers = { column = "People", as = "integer" }
                "attributes.destination_country" = { column = "To" }
            "##,
                "",
            ),
            "ID,Operator,People,To\np-1, ICRC ,3,Armenia\np-2,,,\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"site": "lachin", "operator": "ICRC", "passengers": 3,
                    "attributes": {"destination_country": "Armenia"}}),
                ),
                imported(&[3], "p-2", json!({"site": "lachin"})),
            ],
        );
    }

    #[test]
    fn hxl_patterns_match_columns_whose_attributes_include_theirs() {
        let mapping = mapping(
            "",
            r##"
            operator = { hxl = "#org+name" }
            category = { hxl = "#org+type", map = { "RU PK" = "peacekeeping" } }
            count = { hxl = "#indicator+num", as = "integer" }
        "##,
            "",
        );
        check(
            &mapping.replace("id = { column = \"ID\" }", "id = { hxl = \"#meta+id\" }"),
            "Ref,Org,Org type,Vehicles\n#meta+id,#org+name,#org+type+code,#indicator+vehicles+num\nx1,RPC,RU PK,\"1,204\"\n",
            vec![rejected(
                &[3],
                Some("x1"),
                "count: \"1,204\" is not a number (decimal separator '.', no thousands separator)",
            )],
        );
        check(
            &mapping.replace("id = { column = \"ID\" }", "id = { hxl = \"#meta+id\" }"),
            "Ref,Org,Org type,Vehicles\n#meta+id,#org+name,#org+type+code,#indicator+vehicles+num\nx1,RPC,RU PK,12\n",
            vec![imported(
                &[3],
                "x1",
                json!({"operator": "RPC", "category": "peacekeeping", "count": 12}),
            )],
        );
    }

    #[test]
    fn a_file_may_have_only_a_hashtag_row() {
        check(
            &mapping("", r##"operator = { hxl = "#org" }"##, "")
                .replace("id = { column = \"ID\" }", "id = { hxl = \"#meta+id\" }"),
            "#meta+id,#org\nx1,ICRC\n",
            vec![imported(&[2], "x1", json!({"operator": "ICRC"}))],
        );
    }

    #[test]
    fn hxl_patterns_that_match_no_column_or_several_are_refused_before_any_row() {
        let csv = "ID,Org,Org type\n#meta+id,#org+name,#org+type\np-1,ICRC,ngo\n";
        assert_eq!(
            import(&mapping("", r##"operator = { hxl = "#org" }"##, ""), csv.as_bytes()),
            Err("fields.operator: #org matches 2 columns (column \"Org\", column \"Org type\"); make the pattern more specific with +attributes or -attributes".into())
        );
        assert_eq!(
            import(&mapping("", r##"operator = { hxl = "#org+code" }"##, ""), csv.as_bytes()),
            Err("fields.operator: no column matches #org+code (hashtags in the file: #meta+id, #org+name, #org+type)".into())
        );
        assert_eq!(
            import(&mapping("", r##"operator = { hxl = "#org" }"##, ""), "ID,Org\np-1,ICRC\n".as_bytes()),
            Err("fields.operator: the file has no HXL hashtag row (expected right after the header row)".into())
        );
    }

    #[test]
    fn a_list_target_collects_every_column_a_pattern_matches() {
        check(
            &mapping(
                "",
                r##""attributes.x" = { hxl = "#meta+note" }
                "private.contacts[]" = { hxl = "#contact" }"##,
                "",
            ),
            "ID,Note,Phone 1,Phone 2\n#meta+id,#meta+note,#contact+phone,#contact+phone\np-1,n,+374 1,+374 2\np-2,,,+374 3\n",
            vec![
                imported(
                    &[3],
                    "p-1",
                    json!({"attributes": {"x": "n"}, "private": {"contacts": ["+374 1", "+374 2"]}}),
                ),
                imported(&[4], "p-2", json!({"private": {"contacts": ["+374 3"]}})),
            ],
        );
    }

    #[test]
    fn missing_and_duplicated_header_names_are_refused() {
        assert_eq!(
            import(
                &mapping("", r##"operator = { column = "Operator" }"##, ""),
                "ID,operator\n".as_bytes()
            ),
            Err(
                "fields.operator: the file has no column \"Operator\" (did you mean \"operator\"?)"
                    .into()
            )
        );
        assert_eq!(
            import(&mapping("", r##"operator = { column = "Op" }"##, ""), "ID,Op,Op\n".as_bytes()),
            Err("fields.operator: the header has 2 columns named \"Op\" (columns 2, 3); rename one in the file".into())
        );
        assert_eq!(
            import(&mapping("", "", ""), b""),
            Err("the file is empty: it has no header row".into())
        );
    }

    #[test]
    fn dates_and_times_in_their_formats() {
        check(
            &mapping(
                "",
                r##"
                observed_at = { column = "When", format = ["%d-%b-%Y %H:%M", "%d-%b-%Y"] }
                "attributes.reported" = { column = "Reported", format = "%Y-%m-%d %H:%M %z" }
                "private.exact" = { column = "Local", format = "%d/%m/%Y %H:%M", timezone = "Asia/Baku" }
            "##,
                "",
            ),
            "ID,When,Reported,Local\np-1,14-Jun-2023 08:30,2023-06-14 09:00 +0400,14/06/2023 08:30\np-2,14-Jun-2023,,\np-3,31-Jun-2023,,\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({
                        "observed_at": "2023-06-14T08:30:00",
                        "attributes": {"reported": "2023-06-14T09:00:00+04:00"},
                        "private": {"exact": "2023-06-14T08:30:00+04:00"},
                    }),
                ),
                imported(&[3], "p-2", json!({"observed_at": "2023-06-14"})),
                rejected(
                    &[4],
                    Some("p-3"),
                    "observed_at: \"31-Jun-2023\" is not a valid date: parameter 'day' for `2023-06` is invalid, must be in range `1..=30`",
                ),
            ],
        );
    }

    #[test]
    fn a_date_column_and_a_time_column_make_one_time() {
        check(
            &mapping(
                "",
                r##"
                observed_at = { column = "Date", format = "%d/%m/%Y", time_column = "Time", time_format = "%H:%M", timezone = "Asia/Yerevan" }
            "##,
                "",
            ),
            "ID,Date,Time\np-1,14/06/2023,8:05\np-2,14/06/2023,\np-3,,08:00\np-4,14/06/2023,8h05\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"observed_at": "2023-06-14T08:05:00+04:00"}),
                ),
                imported(&[3], "p-2", json!({"observed_at": "2023-06-14"})),
                rejected(
                    &[4],
                    Some("p-3"),
                    "observed_at: \"08:00\" is a time in column \"Time\" but the date is empty",
                ),
                rejected(
                    &[5],
                    Some("p-4"),
                    "observed_at: \"14/06/2023 8h05\" does not match the format \"%H:%M\": expected to match literal byte `:` from format string, but found byte `h` in input",
                ),
            ],
        );
    }

    #[test]
    fn numbers_follow_the_file_separators_unless_a_field_overrides_them() {
        check(
            &mapping(
                "",
                r##"
                count = { column = "N", as = "integer" }
                "cargo[].tonnes" = { column = "T", as = "number" }
                "cargo[].kind" = { constant = "grain" }
                passengers = { column = "P", as = "integer", thousands_separator = " ", decimal_separator = "." }
            "##,
                "[csv]\ndelimiter = \";\"\ndecimal_separator = \",\"\nthousands_separator = \".\"",
            ),
            "ID;N;T;P\np-1;1.204;18.137,5;1 000\np-2;3,0;0,25;\np-3;2,5;;\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"count": 1204, "cargo": [{"kind": "grain", "tonnes": 18137.5}], "passengers": 1000}),
                ),
                imported(
                    &[3],
                    "p-2",
                    json!({"count": 3, "cargo": [{"kind": "grain", "tonnes": 0.25}]}),
                ),
                rejected(&[4], Some("p-3"), "count: \"2,5\" is not a whole number"),
            ],
        );
    }

    #[test]
    fn value_maps_match_trimmed_case_insensitive_values() {
        let fields = r##"
            category = { column = "Cat", map = { "RU PK" = "peacekeeping", "ICRC" = "red_cross" } }
            vehicle_class = { column = "Class", map = { "Truck" = "truck" }, default = "unknown" }
            operator = { column = "Op", map = { "МКК" = "ICRC" }, ignore_unmapped = true }
        "##;
        check(
            &mapping("", fields, ""),
            "ID,Cat,Class,Op\np-1, ru pk ,TRUCK,МКК\np-2,icrc,Kamaz,Red Crescent\np-3,,,\np-4,UN,,\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"category": "peacekeeping", "vehicle_class": "truck", "operator": "ICRC"}),
                ),
                imported(
                    &[3],
                    "p-2",
                    json!({"category": "red_cross", "vehicle_class": "unknown", "operator": "Red Crescent"}),
                ),
                imported(&[4], "p-3", json!({"vehicle_class": "unknown"})),
                rejected(
                    &[5],
                    Some("p-4"),
                    "category: \"UN\" is not in the value map (known values: \"icrc\", \"ru pk\") and the field has no default",
                ),
            ],
        );
    }

    #[test]
    fn required_fields_and_empty_values() {
        check(
            &mapping(
                "",
                r##"operator = { column = "Op", required = true }"##,
                "[csv]\nempty_values = [\"N/A\", \"-\"]",
            ),
            "ID,Op\np-1,ICRC\np-2, n/a \n,ICRC\n",
            vec![
                imported(&[2], "p-1", json!({"operator": "ICRC"})),
                rejected(
                    &[3],
                    Some("p-2"),
                    "operator: required, but column \"Op\" is empty",
                ),
                rejected(&[4], None, "id: required, but column \"ID\" is empty"),
            ],
        );
    }

    #[test]
    fn rows_of_a_group_make_one_record_with_a_list_element_per_row() {
        check(
            &mapping(
                r##"group_by = { column = "_uuid" }"##,
                r##"
                operator = { column = "Op" }
                "cargo[].kind" = { column = "Kind" }
                "cargo[].tonnes" = { column = "T", as = "number" }
            "##,
                "",
            )
            .replace(
                "id = { column = \"ID\" }",
                "id = { template = \"kobo-{group}\" }",
            ),
            "_uuid,Op,Kind,T\na1,ICRC,food,2.5\na1,,medicine,0.4\nb2,Kamaz Ltd,,\nc3,X,fuel,1\nc3,Y,fuel,2\n",
            vec![
                imported(
                    &[2, 3],
                    "kobo-a1",
                    json!({"operator": "ICRC",
                    "cargo": [{"kind": "food", "tonnes": 2.5}, {"kind": "medicine", "tonnes": 0.4}]}),
                ),
                imported(&[4], "kobo-b2", json!({"operator": "Kamaz Ltd"})),
                rejected(
                    &[5, 6],
                    Some("kobo-c3"),
                    "operator: rows 5 and 6 of the group disagree (\"X\" vs \"Y\")",
                ),
            ],
        );
    }

    #[test]
    fn a_group_must_be_contiguous() {
        check(
            &mapping(
                r##"group_by = { column = "ID" }"##,
                r##""cargo[].kind" = { column = "Kind" }"##,
                "",
            ),
            "ID,Kind\np-1,food\np-2,fuel\np-1,grain\n,x\n",
            vec![
                imported(&[2], "p-1", json!({"cargo": [{"kind": "food"}]})),
                imported(&[3], "p-2", json!({"cargo": [{"kind": "fuel"}]})),
                rejected(&[5], None, "group key: column \"ID\" is empty"),
                rejected(
                    &[4],
                    Some("p-1"),
                    "group key: these rows continue a group that ended at row 2; the rows of a group must be next to each other (sort the file by the group key)",
                ),
            ],
        );
    }

    #[test]
    fn a_bad_row_rejects_its_whole_group() {
        check(
            &mapping(
                r##"group_by = { template = "{ID}" }"##,
                r##""cargo[].tonnes" = { column = "T", as = "number" }"##,
                "",
            ),
            "ID,T\np-1,1\np-1,x\np-1,2,extra\np-2,3\n",
            vec![
                rejected(
                    &[2, 3, 4],
                    Some("p-1"),
                    "row 4: the row has 3 cells, the header has 2; row 3: cargo[].tonnes: \"x\" is not a number (decimal separator '.', no thousands separator)",
                ),
                imported(&[5], "p-2", json!({"cargo": [{"tonnes": 3}]})),
            ],
        );
    }

    #[test]
    fn skip_rules_and_blank_rows() {
        let tables = r##"
            [[skip]]
            column = "Status"
            equals = "test"
            [[skip]]
            column = "Op"
            is_empty = true
            [[skip]]
            column = "Status"
            in = ["cancelled", "Duplicate"]
        "##;
        let csv =
            "ID,Status,Op\np-1,ok,ICRC\np-2, TEST ,ICRC\n\n,,\np-3,ok,\np-4,duplicate,X\np-5,,Y\n";
        let mapping_text = mapping("", r##"operator = { column = "Op" }"##, tables);
        check(
            &mapping_text,
            csv,
            vec![
                imported(&[2], "p-1", json!({"operator": "ICRC"})),
                imported(&[8], "p-5", json!({"operator": "Y"})),
            ],
        );
        let mapping = Mapping::from_toml(&mapping_text).expect("valid");
        let mut importer = CsvImporter::new(&mapping, csv.as_bytes()).expect("header");
        assert_eq!(importer.by_ref().count(), 2);
        assert_eq!((importer.rows_read(), importer.rows_skipped()), (6, 4));
        assert_eq!(importer.bytes_read(), csv.len() as u64);
    }

    #[test]
    fn id_templates_use_headers_hashtags_and_make_values_id_safe() {
        check(
            &mapping("", "", "").replace(
                "id = { column = \"ID\" }",
                "id = { template = \"jcc-{IMO}-{#date}\" }",
            ),
            "IMO,Date\n#meta+imo,#date+departure\n9312345,14/06/2023\n9312345,\n",
            vec![
                imported(&[3], "jcc-9312345-14-06-2023", json!({})),
                rejected(&[4], None, "id: placeholder {#date} is empty"),
            ],
        );
    }

    #[test]
    fn identical_rows_are_two_records_when_their_ids_differ() {
        check(
            &mapping("", r##"vehicle_class = { column = "Class" }"##, "").replace(
                "id = { column = \"ID\" }",
                "id = { template = \"kobo-{_uuid}\" }",
            ),
            "_uuid,Class\nu1,truck\nu2,truck\n",
            vec![
                imported(&[2], "kobo-u1", json!({"vehicle_class": "truck"})),
                imported(&[3], "kobo-u2", json!({"vehicle_class": "truck"})),
            ],
        );
    }

    #[test]
    fn private_values_never_appear_in_reasons() {
        check(
            &mapping(
                r##"group_by = { column = "ID" }"##,
                r##"
                "private.plate" = { column = "Plate" }
                "private.driver_age" = { column = "Age", as = "integer" }
                "private.nationality" = { column = "Nat", map = { "AM" = "Armenia" } }
            "##,
                "",
            ),
            "ID,Plate,Age,Nat\np-1,35 XY 123,41,AM\np-2,12 AB 345,forty,FR\np-3,77 CD 901,,\np-3,77 CD 902,,\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"private": {"plate": "35 XY 123", "driver_age": 41, "nationality": "Armenia"}}),
                ),
                rejected(
                    &[3],
                    Some("p-2"),
                    "private.driver_age: the value is not a number (decimal separator '.', no thousands separator) (value not shown); private.nationality: the value is not in the value map (known values: \"am\") and the field has no default (value not shown)",
                ),
                rejected(
                    &[4, 5],
                    Some("p-3"),
                    "private.plate: rows 4 and 5 of the group disagree (values not shown)",
                ),
            ],
        );
    }

    #[test]
    fn public_fields_built_from_a_private_column_are_refused() {
        assert_eq!(
            import(
                &mapping("", r##""private.plate" = { column = "Plate" }"##, "").replace("id = { column = \"ID\" }", "id = { template = \"p-{Plate}\" }"),
                "Plate\nx\n".as_bytes()
            ),
            Err("fields.id: uses column \"Plate\", which is mapped to private.plate: personal data must not go into public fields".into())
        );
        assert_eq!(
            import(
                &mapping("", r##""private.driver" = { column = "Driver" }
                    notes = { template = "driven by {Driver}" }"##, ""),
                "ID,Driver\np-1,x\n".as_bytes()
            ),
            Err("fields.notes: uses column \"Driver\", which is mapped to private.driver: personal data must not go into public fields".into())
        );
    }

    #[test]
    fn row_numbers_are_the_lines_where_rows_start() {
        check(
            &mapping(
                "",
                r##"notes = { column = "Notes" }"##,
                "[csv]\ndelimiter = \"tab\"",
            ),
            "\u{feff}ID\tNotes\r\np-1\t\"two\r\nlines\"\r\n\r\np-2\t\"said \"\"hi\"\"\"\r\np-3\t\"x\"\r\n",
            vec![
                imported(&[2], "p-1", json!({"notes": "two\r\nlines"})),
                imported(&[5], "p-2", json!({"notes": "said \"hi\""})),
                imported(&[6], "p-3", json!({"notes": "x"})),
            ],
        );
    }

    #[test]
    fn templates_for_other_fields_leave_empty_placeholders_out() {
        check(
            &mapping(
                "",
                r##"notes = { template = "Vessel {Vessel} to {To}" }"##,
                "",
            ),
            "ID,Vessel,To\np-1,Nord,Izmir\np-2,Nord,\n",
            vec![
                imported(&[2], "p-1", json!({"notes": "Vessel Nord to Izmir"})),
                imported(&[3], "p-2", json!({"notes": "Vessel Nord to"})),
            ],
        );
    }

    #[test]
    fn a_type_from_a_column_must_be_a_record_type() {
        check(
            &mapping("", "", "").replace(
                "type = { constant = \"passage\" }",
                "type = { column = \"Kind\" }",
            ),
            "ID,Kind\np-1,passage\np-2,vehicle\n",
            vec![
                imported(&[2], "p-1", json!({})),
                rejected(
                    &[3],
                    Some("p-2"),
                    "type: \"vehicle\" is not a record type (one of: site, passage, mission, incident, appeal, coverage, baseline, claim, correction, retraction)",
                ),
            ],
        );
    }

    #[test]
    fn the_first_example_in_docs_import_md() {
        let mapping = r##"
            [csv]
            thousands_separator = ","

            [fields]
            type = { constant = "passage" }
            id = { template = "lachin-{Date}-{Category}-{Direction}" }
            "source.kind" = { constant = "direct_observation" }
            "source.name" = { constant = "Checkpoint observer team" }
            recorded_by = { constant = "observer-team-1" }
            site = { constant = "lachin" }
            observed_at = { column = "Date", format = "%d/%m/%Y" }
            direction = { column = "Direction", map = { IN = "inbound", OUT = "outbound" } }
            category = { column = "Category", map = { "RU PK" = "peacekeeping", ICRC = "red_cross" } }
            count = { column = "Vehicles", as = "integer" }
        "##;
        let id = "lachin-14-06-2023-RU-PK-IN";
        assert_eq!(
            import(
                mapping,
                b"Date,Direction,Category,Vehicles\n14/06/2023,IN,RU PK,\"1,204\"\n"
            ),
            Ok(vec![
                json!({"outcome": "imported", "rows": [2], "id": id, "record": {
                "type": "passage", "id": id,
                "source": {"kind": "direct_observation", "name": "Checkpoint observer team"},
                "recorded_by": "observer-team-1", "site": "lachin", "observed_at": "2023-06-14",
                "direction": "inbound", "category": "peacekeeping", "count": 1204}})
            ])
        );
    }

    #[test]
    fn the_strptime_pieces_listed_in_docs_import_md() {
        check(
            &mapping(
                "",
                r##"
                observed_at = { column = "A", format = "%d/%m/%y %I:%M %p" }
                "attributes.b" = { column = "B", format = "%d %B %Y %H:%M:%S%.f" }
            "##,
                "",
            ),
            "ID,A,B\np-1,4/6/23 8:05 PM,14 June 2023 8:30:15.250\n",
            vec![imported(
                &[2],
                "p-1",
                json!({"observed_at": "2023-06-04T20:05:00",
                "attributes": {"b": "2023-06-14T08:30:15.25"}}),
            )],
        );
    }

    #[test]
    fn text_that_is_not_utf8_stops_the_import_naming_the_row() {
        let mapping = Mapping::from_toml(&mapping("", "", "")).expect("valid");
        let csv = b"ID,Op\np-1,a\np-2,Caf\xe9\np-3,b\n";
        let items: Vec<_> = CsvImporter::new(&mapping, &csv[..])
            .expect("header")
            .collect();
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[0], Ok(ImportItem::Record(record)) if record.id == "p-1"));
        assert_eq!(
            items[1]
                .as_ref()
                .map_err(ToString::to_string)
                .expect_err("not UTF-8"),
            "row 3, column 2: the text is not UTF-8; save the file as UTF-8 (\"CSV UTF-8\" in spreadsheets) and import it again"
        );
    }
}
