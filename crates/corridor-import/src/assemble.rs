//! Turning one row, or the rows of one group, into a record object through the
//! plan: reading and converting cells, group keys, list elements, and the
//! messages that reject rows.

use corridor_model::RecordType;
use serde_json::{Map, Value};

use crate::columns::{ResolvedPart, ResolvedTemplate, Row};
use crate::mapping::{Conversion, FieldMapping, SkipCondition};
use crate::outcome::{ImportItem, ImportedRecord, RejectedRow};
use crate::plan::{ImportPlan, ResolvedField, ResolvedKey, ResolvedSource};
use crate::template::id_safe;

/// What one field gives for one row.
#[derive(Debug)]
pub(crate) struct FieldOutcome {
    values: Vec<Value>,
    /// Whether a cell (not a constant or a default) gave a value; a list
    /// element is made only for rows where one did.
    from_cells: bool,
}

impl ImportPlan {
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

    pub(crate) fn is_skipped(&self, row: &Row) -> bool {
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

    pub(crate) fn group_key(&self, key: &ResolvedKey, row: &Row) -> Result<String, String> {
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
            && record_type.as_str().and_then(RecordType::parse).is_none()
        {
            errors.push(format!(
                "type: {record_type} is not a record type (one of: {})",
                RecordType::expected()
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
