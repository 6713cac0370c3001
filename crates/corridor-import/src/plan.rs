//! The mapping applied to one file's columns: each field's source resolved to
//! column indexes once, before any row is read.

use std::collections::HashMap;

use serde_json::Value;

use crate::columns::{FileColumns, ResolvedPart, ResolvedTemplate};
use crate::mapping::{
    Conversion, FieldMapping, FieldSource, KeySource, Mapping, SkipCondition, TargetKind, field_key,
};
use crate::outcome::ImportError;

#[derive(Debug)]
pub(crate) enum ResolvedKey {
    Column { index: usize, label: String },
    Template(ResolvedTemplate),
}

#[derive(Debug)]
pub(crate) enum ResolvedSource {
    Columns(Vec<usize>),
    Constant(Value),
    Template(ResolvedTemplate),
}

/// A field with its columns found in this file.
#[derive(Debug)]
pub(crate) struct ResolvedField {
    pub(crate) mapping: FieldMapping,
    pub(crate) source: ResolvedSource,
    /// A separate time-of-day column and its label.
    pub(crate) time_column: Option<(usize, String)>,
    /// Names the source in "required, but ... is empty".
    pub(crate) source_label: String,
    /// Where the value goes: the record path for a scalar, the element path in a list.
    pub(crate) path: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct ResolvedList {
    pub(crate) path: Vec<String>,
    /// `sites[]`: each value is an element. Otherwise each row gives an object.
    pub(crate) scalar_elements: bool,
    pub(crate) fields: Vec<ResolvedField>,
}

#[derive(Debug)]
pub(crate) struct ResolvedSkip {
    pub(crate) column: usize,
    pub(crate) condition: SkipCondition,
}

/// The mapping applied to this file's columns.
#[derive(Debug)]
pub(crate) struct ImportPlan {
    pub(crate) empty_values: Vec<String>,
    pub(crate) group_key: Option<ResolvedKey>,
    pub(crate) skip_rules: Vec<ResolvedSkip>,
    pub(crate) scalar_fields: Vec<ResolvedField>,
    pub(crate) lists: Vec<ResolvedList>,
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

    pub(crate) fn new(mapping: &Mapping, columns: &FileColumns) -> Result<ImportPlan, ImportError> {
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
