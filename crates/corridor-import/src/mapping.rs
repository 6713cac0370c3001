//! The TOML mapping from a CSV layout to record fields: parsed and checked whole before any row is read.
//!
//! The format is documented for users in docs/import.md; keep the two in step.

use std::collections::{BTreeMap, HashMap};

use corridor_model::RecordType;
use serde::Deserialize;

use crate::convert::{NumberFormat, TimeFormat, TimePrecision, check_time_format};
use crate::hxl::HxlPattern;
use crate::normalize::Normalization;
use crate::template::{ColumnReference, Template};

/// Fields every record has (docs/records.md, "Fields every record has"); a
/// mapping that cannot fill one of them would have every row refused.
const FIELDS_EVERY_RECORD_NEEDS: [&str; 5] =
    ["type", "id", "source.kind", "source.name", "recorded_by"];

/// A mapping that is wrong. Each error names the TOML key and the reason.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The text is not TOML, or has a key the mapping format does not know.
    #[error("the mapping is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    /// A key has a value the mapping format does not accept.
    #[error("{key}: {reason}")]
    Invalid {
        /// The TOML key, e.g. `fields."cargo[].tonnes".format`.
        key: String,
        /// Why it is refused.
        reason: String,
    },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> MappingError {
    MappingError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// A validated mapping: how the rows of one CSV layout become records.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub(crate) delimiter: u8,
    /// Cell texts that count as empty, lower-cased, besides the empty string.
    pub(crate) empty_values: Vec<String>,
    pub(crate) group_by: Option<KeySource>,
    pub(crate) skip_rules: Vec<SkipRule>,
    pub(crate) fields: Vec<FieldMapping>,
    /// `[repeat.NAME]` tables: repeat-group files joined to the main file's rows.
    pub(crate) repeats: Vec<RepeatDeclaration>,
}

/// Where the group key of a row comes from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    Column(ColumnReference),
    Template(Template),
}

#[derive(Debug, Clone)]
pub(crate) struct SkipRule {
    /// `skip[1]`, 1-based as a user counts the `[[skip]]` tables.
    pub(crate) key: String,
    pub(crate) column: ColumnReference,
    pub(crate) condition: SkipCondition,
}

#[derive(Debug, Clone)]
pub(crate) enum SkipCondition {
    /// Lower-cased; compared after trimming, case-insensitively.
    Equals(String),
    IsEmpty,
    In(Vec<String>),
}

/// One `[fields]` entry.
#[derive(Debug, Clone)]
pub(crate) struct FieldMapping {
    pub(crate) target: Target,
    pub(crate) source: FieldSource,
    pub(crate) conversion: Conversion,
    /// Applied to the text before the value map (`normalize = "slug"`).
    pub(crate) normalize: Option<Normalization>,
    pub(crate) value_map: Option<ValueMap>,
    pub(crate) default: Option<String>,
    pub(crate) required: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum FieldSource {
    Column(ColumnReference),
    Constant(serde_json::Value),
    Template(Template),
}

#[derive(Debug, Clone)]
pub(crate) enum Conversion {
    Text,
    Integer(NumberFormat),
    Number(NumberFormat),
    Time {
        format: TimeFormat,
        time_column: Option<ColumnReference>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct ValueMap {
    /// Keys trimmed and lower-cased.
    pub(crate) entries: HashMap<String, String>,
    pub(crate) keep_unmapped: bool,
}

/// Where a field's value goes in the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// As written in the mapping, e.g. `cargo[].tonnes`; used in every message.
    pub(crate) text: String,
    pub(crate) kind: TargetKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetKind {
    /// `observed_at`, `source.name`, `attributes.destination_country`.
    Scalar(Vec<String>),
    /// `cargo[].tonnes` (element path `["tonnes"]`) or `sites[]` (empty element path).
    ListElement {
        list: Vec<String>,
        element: Vec<String>,
    },
}

impl Target {
    /// The top-level record field it writes: `cargo` for `cargo[].tonnes`.
    fn record_field(&self) -> Option<&String> {
        match &self.kind {
            TargetKind::Scalar(path) => path.first(),
            TargetKind::ListElement { list, .. } => list.first(),
        }
    }

    /// Personal data: its values never appear in messages.
    pub(crate) fn is_private(&self) -> bool {
        self.record_field()
            .is_some_and(|segment| segment == "private")
    }

    /// The path with `[]` as a segment for a list, used to find overlapping targets.
    fn flat_path(&self) -> Vec<String> {
        match &self.kind {
            TargetKind::Scalar(path) => path.clone(),
            TargetKind::ListElement { list, element } => {
                let mut flat = list.clone();
                flat.push("[]".to_owned());
                flat.extend(element.iter().cloned());
                flat
            }
        }
    }

    fn parse(text: &str) -> Result<Target, String> {
        let kind = match text.split_once("[]") {
            None => TargetKind::Scalar(split_path(text)?),
            Some((list, rest)) => {
                if rest.contains("[]") {
                    return Err("lists inside list elements are not supported".to_owned());
                }
                let element = match rest {
                    "" => Vec::new(),
                    _ => match rest.strip_prefix('.') {
                        Some(element) => split_plain_path(element)?,
                        None => {
                            return Err("`[]` must be followed by `.field` or nothing".to_owned());
                        }
                    },
                };
                TargetKind::ListElement {
                    list: split_path(list)?,
                    element,
                }
            }
        };
        Ok(Target {
            text: text.to_owned(),
            kind,
        })
    }
}

/// Splits a dotted path. Under `attributes.` and `private.` the rest is one key,
/// because attribute keys may themselves contain dots (docs/records.md).
fn split_path(text: &str) -> Result<Vec<String>, String> {
    if let Some((first, key)) = text.split_once('.')
        && (first == "attributes" || first == "private")
    {
        if first == "attributes" && !is_attribute_key(key) {
            return Err(format!(
                "attribute key {key:?} must be 1–64 characters of a-z 0-9 _ . - (docs/records.md)"
            ));
        }
        if key.is_empty() {
            return Err(format!("the key after `{first}.` is missing"));
        }
        return Ok(vec![first.to_owned(), key.to_owned()]);
    }
    split_plain_path(text)
}

fn split_plain_path(text: &str) -> Result<Vec<String>, String> {
    text.split('.')
        .map(|segment| {
            if !segment.is_empty()
                && segment
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || character == '_')
            {
                Ok(segment.to_owned())
            } else {
                Err(format!(
                    "{text:?} is not a field path: use names of letters, digits and '_' joined by '.', with `[]` after a list"
                ))
            }
        })
        .collect()
}

fn is_attribute_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|character| matches!(character, 'a'..='z' | '0'..='9' | '_' | '.' | '-'))
}

/// `fields.observed_at` or `fields."cargo[].tonnes"`, as the key would be written in TOML.
pub(crate) fn field_key(target: &str) -> String {
    let bare = !target.is_empty()
        && target.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '_' || character == '-'
        });
    if bare {
        format!("fields.{target}")
    } else {
        format!("fields.{target:?}")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    csv: RawCsv,
    group_by: Option<RawKeySource>,
    #[serde(default)]
    skip: Vec<RawSkip>,
    fields: BTreeMap<String, RawField>,
    #[serde(default)]
    repeat: BTreeMap<String, RawRepeat>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsv {
    delimiter: Option<String>,
    decimal_separator: Option<String>,
    thousands_separator: Option<String>,
    #[serde(default)]
    empty_values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeySource {
    column: Option<String>,
    hxl: Option<String>,
    template: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSkip {
    column: Option<String>,
    hxl: Option<String>,
    equals: Option<String>,
    is_empty: Option<bool>,
    #[serde(rename = "in")]
    one_of: Option<Vec<String>>,
}

/// `format = "%d/%m/%Y"` or `format = ["%d/%m/%Y %H:%M", "%d/%m/%Y"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    column: Option<String>,
    hxl: Option<String>,
    constant: Option<toml::Value>,
    template: Option<String>,
    #[serde(rename = "as")]
    value_kind: Option<String>,
    format: Option<OneOrMany>,
    time_column: Option<String>,
    time_hxl: Option<String>,
    time_format: Option<String>,
    timezone: Option<String>,
    decimal_separator: Option<String>,
    thousands_separator: Option<String>,
    normalize: Option<String>,
    map: Option<BTreeMap<String, String>>,
    default: Option<String>,
    ignore_unmapped: Option<bool>,
    required: Option<bool>,
}

/// The names of the keys that are given, in the order listed.
fn given_keys(keys: &[(&'static str, bool)]) -> Vec<&'static str> {
    keys.iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| *name)
        .collect()
}

impl RawField {
    /// Names of the keys given besides the source, to refuse them on a constant.
    fn option_keys(&self) -> Vec<&'static str> {
        given_keys(&[
            ("as", self.value_kind.is_some()),
            ("format", self.format.is_some()),
            ("time_column", self.time_column.is_some()),
            ("time_hxl", self.time_hxl.is_some()),
            ("time_format", self.time_format.is_some()),
            ("timezone", self.timezone.is_some()),
            ("decimal_separator", self.decimal_separator.is_some()),
            ("thousands_separator", self.thousands_separator.is_some()),
            ("normalize", self.normalize.is_some()),
            ("map", self.map.is_some()),
            ("default", self.default.is_some()),
            ("ignore_unmapped", self.ignore_unmapped.is_some()),
            ("required", self.required.is_some()),
        ])
    }
}

fn column_reference(
    key: &str,
    column: Option<&String>,
    hxl: Option<&String>,
) -> Result<Option<ColumnReference>, MappingError> {
    match (column, hxl) {
        (Some(_), Some(_)) => Err(invalid(key, "give `column` or `hxl`, not both")),
        (Some(name), None) => {
            let name = name.trim();
            if name.is_empty() {
                return Err(invalid(format!("{key}.column"), "the column name is empty"));
            }
            Ok(Some(ColumnReference::Header(name.to_owned())))
        }
        (None, Some(pattern)) => HxlPattern::parse(pattern)
            .map(|pattern| Some(ColumnReference::Hxl(pattern)))
            .map_err(|error| invalid(format!("{key}.hxl"), error.to_string())),
        (None, None) => Ok(None),
    }
}

fn decimal_separator(key: &str, text: &str) -> Result<char, MappingError> {
    match text {
        "." => Ok('.'),
        "," => Ok(','),
        _ => Err(invalid(
            key,
            format!("{text:?} is not a decimal separator: use \".\" or \",\""),
        )),
    }
}

fn thousands_separator(key: &str, text: &str) -> Result<Option<char>, MappingError> {
    match text {
        "" => Ok(None),
        "," => Ok(Some(',')),
        "." => Ok(Some('.')),
        " " => Ok(Some(' ')),
        "'" => Ok(Some('\'')),
        _ => Err(invalid(
            key,
            format!(
                "{text:?} is not a thousands separator: use \",\", \".\", \" \", \"'\" or \"\" for none"
            ),
        )),
    }
}

fn delimiter(text: &str) -> Result<u8, MappingError> {
    match text {
        "," => Ok(b','),
        ";" => Ok(b';'),
        "\t" | "tab" => Ok(b'\t'),
        "|" => Ok(b'|'),
        _ => Err(invalid(
            "csv.delimiter",
            format!("{text:?} is not a delimiter: use \",\", \";\", \"tab\" or \"|\""),
        )),
    }
}

fn json_from_toml(value: toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(text) => serde_json::Value::String(text),
        toml::Value::Integer(number) => serde_json::Value::from(number),
        toml::Value::Float(number) => serde_json::Number::from_f64(number)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        toml::Value::Boolean(flag) => serde_json::Value::Bool(flag),
        // A TOML date or time is written as its text, which is the form records take.
        toml::Value::Datetime(moment) => serde_json::Value::String(moment.to_string()),
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(json_from_toml).collect())
        }
        toml::Value::Table(table) => serde_json::Value::Object(
            table
                .into_iter()
                .map(|(key, value)| (key, json_from_toml(value)))
                .collect(),
        ),
    }
}

impl Mapping {
    /// Reads and checks a mapping: unknown keys, a `type` that is not a record
    /// type, a field with no source or two, unusable formats, time zones and
    /// separators, value maps with clashing keys, overlapping targets. A mapping
    /// that passes can be applied to any file whose columns it finds.
    ///
    /// # Errors
    ///
    /// [`MappingError`] naming the TOML key and the reason.
    pub fn from_toml(text: &str) -> Result<Mapping, MappingError> {
        let raw: RawMapping = toml::from_str(text)?;
        let file_decimal = match &raw.csv.decimal_separator {
            Some(text) => decimal_separator("csv.decimal_separator", text)?,
            None => '.',
        };
        let file_thousands = match &raw.csv.thousands_separator {
            Some(text) => thousands_separator("csv.thousands_separator", text)?,
            None => None,
        };
        if file_thousands == Some(file_decimal) {
            return Err(invalid(
                "csv.thousands_separator",
                "it is the same as the decimal separator",
            ));
        }
        let file_numbers = NumberFormat {
            decimal_separator: file_decimal,
            thousands_separator: file_thousands,
        };
        let delimiter = match &raw.csv.delimiter {
            Some(text) => delimiter(text)?,
            None => b',',
        };
        let empty_values = raw
            .csv
            .empty_values
            .iter()
            .map(|value| value.trim().to_lowercase())
            .collect();

        let group_by = match &raw.group_by {
            None => None,
            Some(source) => Some(
                match (
                    column_reference("group_by", source.column.as_ref(), source.hxl.as_ref())?,
                    &source.template,
                ) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "group_by",
                            "give one of `column`, `hxl` or `template`",
                        ));
                    }
                    (Some(reference), None) => KeySource::Column(reference),
                    (None, Some(template)) => {
                        let template = Template::parse(template)
                            .map_err(|reason| invalid("group_by.template", reason))?;
                        if template.uses_group_key() {
                            return Err(invalid(
                                "group_by.template",
                                "the group key cannot contain {group}",
                            ));
                        }
                        KeySource::Template(template)
                    }
                    (None, None) => {
                        return Err(invalid(
                            "group_by",
                            "give one of `column`, `hxl` or `template`",
                        ));
                    }
                },
            ),
        };

        let skip_rules = raw
            .skip
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let key = format!("skip[{}]", index + 1);
                let column = column_reference(&key, rule.column.as_ref(), rule.hxl.as_ref())?
                    .ok_or_else(|| invalid(&key, "give the `column` or `hxl` the rule looks at"))?;
                let condition = match (&rule.equals, rule.is_empty, &rule.one_of) {
                    (Some(value), None, None) => SkipCondition::Equals(value.trim().to_lowercase()),
                    (None, Some(true), None) => SkipCondition::IsEmpty,
                    (None, None, Some(values)) if !values.is_empty() => SkipCondition::In(
                        values
                            .iter()
                            .map(|value| value.trim().to_lowercase())
                            .collect(),
                    ),
                    (None, None, Some(_)) => {
                        return Err(invalid(format!("{key}.in"), "the list is empty"));
                    }
                    (None, Some(false), None) => {
                        return Err(invalid(
                            format!("{key}.is_empty"),
                            "only `is_empty = true` is a rule",
                        ));
                    }
                    _ => {
                        return Err(invalid(
                            &key,
                            "give exactly one of `equals`, `is_empty = true` or `in`",
                        ));
                    }
                };
                Ok(SkipRule {
                    key,
                    column,
                    condition,
                })
            })
            .collect::<Result<Vec<_>, MappingError>>()?;

        let mut fields = Vec::new();
        for (target_text, raw_field) in raw.fields {
            fields.push(field_mapping(
                &target_text,
                raw_field,
                file_numbers,
                group_by.is_some(),
            )?);
        }
        check_targets(&fields)?;
        let repeats = declarations(raw.repeat, group_by.is_some())?;
        Ok(Mapping {
            delimiter,
            empty_values,
            group_by,
            skip_rules,
            fields,
            repeats,
        })
    }
}

impl Mapping {
    /// The top-level record fields the mapping writes (`observed_at`,
    /// `cargo`, `source`, ...), each with the target as written, so a caller
    /// can check them against the record type before reading any row.
    pub fn target_fields(&self) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .filter_map(|field| {
                let record_field = field.target.record_field()?;
                Some((record_field.as_str(), field.target.text.as_str()))
            })
            .collect()
    }

    /// The record type every row becomes, when the mapping gives `type` as a
    /// constant (the usual case); `None` when it comes from a column. Lets a
    /// caller name the type of a rejected row, e.g. `row 9 (passage ...)`.
    pub fn record_type(&self) -> Option<&str> {
        self.fields.iter().find_map(|field| match &field.source {
            FieldSource::Constant(value) if field.target.text == "type" => value.as_str(),
            _ => None,
        })
    }
}

fn field_mapping(
    target_text: &str,
    raw: RawField,
    file_numbers: NumberFormat,
    grouped: bool,
) -> Result<FieldMapping, MappingError> {
    let key = field_key(target_text);
    let target = Target::parse(target_text).map_err(|reason| invalid(&key, reason))?;
    let given_sources = given_keys(&[
        ("column", raw.column.is_some()),
        ("hxl", raw.hxl.is_some()),
        ("constant", raw.constant.is_some()),
        ("template", raw.template.is_some()),
    ]);
    if given_sources.len() != 1 {
        let found = if given_sources.is_empty() {
            "none".to_owned()
        } else {
            given_sources.join(", ")
        };
        return Err(invalid(
            &key,
            format!(
                "give exactly one of `column`, `hxl`, `constant` or `template` (found: {found})"
            ),
        ));
    }
    let is_id = target_text == "id";
    let options = raw.option_keys();
    let source = if let Some(constant) = raw.constant {
        if !options.is_empty() {
            return Err(invalid(
                &key,
                format!(
                    "a constant takes no other keys (found: {})",
                    options.join(", ")
                ),
            ));
        }
        if is_id {
            return Err(invalid(
                &key,
                "a constant id would give every row the same id; use `column` or `template`",
            ));
        }
        let value = json_from_toml(constant);
        if target_text == "type" && value.as_str().and_then(RecordType::parse).is_none() {
            return Err(invalid(
                format!("{key}.constant"),
                format!(
                    "{value} is not a record type (one of: {})",
                    RecordType::expected()
                ),
            ));
        }
        return Ok(FieldMapping {
            target,
            source: FieldSource::Constant(value),
            conversion: Conversion::Text,
            normalize: None,
            value_map: None,
            default: None,
            required: false,
        });
    } else if let Some(template) = &raw.template {
        let template = Template::parse(template)
            .map_err(|reason| invalid(format!("{key}.template"), reason))?;
        if template.uses_group_key() && !grouped {
            return Err(invalid(
                format!("{key}.template"),
                "{group} needs a `group_by`",
            ));
        }
        FieldSource::Template(template)
    } else {
        match column_reference(&key, raw.column.as_ref(), raw.hxl.as_ref())? {
            Some(reference) => FieldSource::Column(reference),
            None => {
                return Err(invalid(
                    &key,
                    "give exactly one of `column`, `hxl`, `constant` or `template`",
                ));
            }
        }
    };

    let value_kind = match (raw.value_kind.as_deref(), &raw.format) {
        (Some(kind), _) => kind,
        (None, Some(_)) => "time",
        (None, None) => "text",
    };
    let only_for = |option: &str, given: bool, kinds: &str| -> Result<(), MappingError> {
        if given {
            Err(invalid(
                format!("{key}.{option}"),
                format!("only applies to {kinds}"),
            ))
        } else {
            Ok(())
        }
    };
    let is_number = matches!(value_kind, "integer" | "number");
    only_for(
        "decimal_separator",
        raw.decimal_separator.is_some() && !is_number,
        "`as = \"integer\"` or `\"number\"`",
    )?;
    only_for(
        "thousands_separator",
        raw.thousands_separator.is_some() && !is_number,
        "`as = \"integer\"` or `\"number\"`",
    )?;
    let is_time = value_kind == "time";
    for (option, given) in [
        ("time_column", raw.time_column.is_some()),
        ("time_hxl", raw.time_hxl.is_some()),
        ("time_format", raw.time_format.is_some()),
        ("timezone", raw.timezone.is_some()),
    ] {
        only_for(option, given && !is_time, "time fields (with a `format`)")?;
    }
    if is_id && value_kind != "text" {
        return Err(invalid(format!("{key}.as"), "an id is text"));
    }
    if matches!(&target.kind, TargetKind::Scalar(path) if path[0] == "attributes") && is_number {
        return Err(invalid(
            format!("{key}.as"),
            "attribute values are text (docs/records.md)",
        ));
    }

    let conversion = match value_kind {
        "text" => Conversion::Text,
        "integer" | "number" => {
            let decimal = match &raw.decimal_separator {
                Some(text) => decimal_separator(&format!("{key}.decimal_separator"), text)?,
                None => file_numbers.decimal_separator,
            };
            let thousands = match &raw.thousands_separator {
                Some(text) => thousands_separator(&format!("{key}.thousands_separator"), text)?,
                // A per-field decimal comma must not inherit a file-wide ","
                // thousands separator; fall back to none then.
                None => file_numbers
                    .thousands_separator
                    .filter(|separator| *separator != decimal),
            };
            if thousands == Some(decimal) {
                return Err(invalid(
                    format!("{key}.thousands_separator"),
                    "it is the same as the decimal separator",
                ));
            }
            let numbers = NumberFormat {
                decimal_separator: decimal,
                thousands_separator: thousands,
            };
            if value_kind == "integer" {
                Conversion::Integer(numbers)
            } else {
                Conversion::Number(numbers)
            }
        }
        "time" => {
            let formats = match raw.format.clone() {
                Some(OneOrMany::One(format)) => vec![format],
                Some(OneOrMany::Many(formats)) if !formats.is_empty() => formats,
                Some(OneOrMany::Many(_)) => {
                    return Err(invalid(
                        format!("{key}.format"),
                        "the list of formats is empty",
                    ));
                }
                None => {
                    return Err(invalid(
                        &key,
                        "a time field needs a `format`, e.g. format = \"%d/%m/%Y\"",
                    ));
                }
            };
            let mut has_time_of_day = false;
            for format in &formats {
                let precision = check_time_format(format, true)
                    .map_err(|reason| invalid(format!("{key}.format"), reason))?;
                has_time_of_day |= precision == TimePrecision::DateTime;
            }
            let time_column =
                column_reference(&key, raw.time_column.as_ref(), raw.time_hxl.as_ref())?;
            match (&time_column, &raw.time_format) {
                (Some(_), None) => {
                    return Err(invalid(
                        &key,
                        "a `time_column` or `time_hxl` needs a `time_format`, e.g. \"%H:%M\"",
                    ));
                }
                (None, Some(_)) => {
                    return Err(invalid(
                        format!("{key}.time_format"),
                        "needs a `time_column` or `time_hxl`",
                    ));
                }
                (Some(_), Some(time_format)) => {
                    if has_time_of_day {
                        return Err(invalid(
                            format!("{key}.format"),
                            "already has a time of day; a separate time column needs a date-only format",
                        ));
                    }
                    check_time_format(time_format, false)
                        .map_err(|reason| invalid(format!("{key}.time_format"), reason))?;
                }
                (None, None) => {}
            }
            let timezone = match &raw.timezone {
                Some(name) => Some((
                    name.clone(),
                    jiff::tz::TimeZone::get(name).map_err(|_| {
                        invalid(
                            format!("{key}.timezone"),
                            format!("{name:?} is not an IANA time zone name such as \"Asia/Baku\""),
                        )
                    })?,
                )),
                None => None,
            };
            Conversion::Time {
                format: TimeFormat {
                    formats,
                    time_format: raw.time_format.clone(),
                    timezone,
                },
                time_column,
            }
        }
        other => {
            return Err(invalid(
                format!("{key}.as"),
                format!(
                    "{other:?} is not a value kind: use \"text\", \"integer\", \"number\" or \"time\""
                ),
            ));
        }
    };
    if raw.format.is_some() && !is_time {
        return Err(invalid(
            format!("{key}.format"),
            "only applies to `as = \"time\"`",
        ));
    }

    let normalize = match &raw.normalize {
        None => None,
        Some(_) if value_kind != "text" => {
            return Err(invalid(
                format!("{key}.normalize"),
                "only applies to text fields (no `as`, or `as = \"text\"`)",
            ));
        }
        Some(name) => Some(Normalization::parse(name).ok_or_else(|| {
            invalid(
                format!("{key}.normalize"),
                format!("{name:?} is not a normalisation: use \"trim\", \"lower\" or \"slug\""),
            )
        })?),
    };

    let value_map = match raw.map {
        None => None,
        Some(entries) => {
            if is_time {
                return Err(invalid(
                    format!("{key}.map"),
                    "time fields cannot have a value map",
                ));
            }
            let mut normalised: HashMap<String, String> = HashMap::new();
            let mut spelled: HashMap<String, String> = HashMap::new();
            for (from, to) in entries {
                // Keys are normalised like the cells they meet, so a map may
                // spell them as the file does ("Sunflower meal") or as slugs.
                let normal = match normalize {
                    None => from.trim().to_lowercase(),
                    Some(normalization) => normalization
                        .apply(from.trim())
                        .map_err(|problem| {
                            invalid(format!("{key}.map"), format!("the key {from:?} {problem}"))
                        })?
                        .to_lowercase(),
                };
                if let Some(earlier) = spelled.insert(normal.clone(), from.clone()) {
                    let how = if normalize.is_some() {
                        "once normalised"
                    } else {
                        "once trimmed and compared case-insensitively"
                    };
                    return Err(invalid(
                        format!("{key}.map"),
                        format!("{earlier:?} and {from:?} are the same value {how}"),
                    ));
                }
                normalised.insert(normal, to);
            }
            Some(ValueMap {
                entries: normalised,
                keep_unmapped: raw.ignore_unmapped.unwrap_or(false),
            })
        }
    };
    if raw.ignore_unmapped.is_some() && value_map.is_none() {
        return Err(invalid(
            format!("{key}.ignore_unmapped"),
            "only applies with a `map`",
        ));
    }
    if raw.ignore_unmapped == Some(true) && raw.default.is_some() {
        return Err(invalid(
            format!("{key}.ignore_unmapped"),
            "cannot be combined with `default`: an unmapped value either becomes the default or is kept",
        ));
    }
    let required = raw.required.unwrap_or(false);
    if let Some(default) = &raw.default {
        if required {
            return Err(invalid(
                format!("{key}.default"),
                "a required field cannot have a default",
            ));
        }
        if is_time {
            return Err(invalid(
                format!("{key}.default"),
                "time fields cannot have a default",
            ));
        }
        if is_id {
            return Err(invalid(
                format!("{key}.default"),
                "an id cannot have a default: every record needs its own",
            ));
        }
        let checked = match &conversion {
            Conversion::Integer(numbers) => numbers.parse_integer(default).map(|_| ()),
            Conversion::Number(numbers) => numbers.parse_number(default).map(|_| ()),
            _ => Ok(()),
        };
        checked.map_err(|problem| {
            invalid(
                format!("{key}.default"),
                format!("{default:?} {}", problem.problem),
            )
        })?;
    }
    Ok(FieldMapping {
        target,
        source,
        conversion,
        normalize,
        value_map,
        default: raw.default,
        // Every record needs an id, so an empty one always rejects the row.
        required: required || is_id,
    })
}

/// Refuses targets that overlap (`source` and `source.kind`, `cargo[]` and
/// `cargo[].kind`) and mappings that leave a field every record needs unfilled.
fn check_targets(fields: &[FieldMapping]) -> Result<(), MappingError> {
    let flat_paths: Vec<(Vec<String>, &str)> = fields
        .iter()
        .map(|field| (field.target.flat_path(), field.target.text.as_str()))
        .collect();
    for (index, (path, text)) in flat_paths.iter().enumerate() {
        for (other_path, other_text) in &flat_paths[index + 1..] {
            if other_path.starts_with(path) || path.starts_with(other_path) {
                return Err(invalid(
                    field_key(other_text),
                    format!("overlaps `{text}`: one target cannot hold the other"),
                ));
            }
        }
    }
    for needed in FIELDS_EVERY_RECORD_NEEDS {
        let needed_path: Vec<String> = needed.split('.').map(str::to_owned).collect();
        if !flat_paths
            .iter()
            .any(|(path, _)| needed_path.starts_with(path))
        {
            return Err(invalid(
                field_key(needed),
                "missing: every record needs it (docs/records.md), e.g. with `constant = ...`",
            ));
        }
    }
    let id_field = fields.iter().find(|field| field.target.text == "id");
    if let Some(field) = id_field
        && !matches!(field.target.kind, TargetKind::Scalar(_))
    {
        return Err(invalid("fields.id", "an id is one value"));
    }
    Ok(())
}

/// `[repeat.NAME]` as written in the mapping.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRepeat {
    file: Option<String>,
    key: String,
    parent_key: String,
}

/// A checked `[repeat.NAME]` table.
#[derive(Debug, Clone)]
pub(crate) struct RepeatDeclaration {
    pub(crate) name: String,
    /// The file to read when the caller names none, relative to the main file.
    pub(crate) file: Option<String>,
    /// The main file's column that names a row.
    pub(crate) key: String,
    /// The repeat file's column that holds the key of its line's main row.
    pub(crate) parent_key: String,
}

/// Checks the `[repeat.*]` tables of a mapping.
pub(crate) fn declarations(
    raw: BTreeMap<String, RawRepeat>,
    grouped: bool,
) -> Result<Vec<RepeatDeclaration>, MappingError> {
    if grouped && !raw.is_empty() {
        return Err(invalid(
            "group_by".to_owned(),
            "cannot be combined with [repeat.*]: with repeat files, each row of the main file is one record and its repeat lines are joined to it",
        ));
    }
    raw.into_iter()
        .map(|(name, raw)| {
            let key = format!("repeat.{name}");
            if name.is_empty()
                || !name.chars().all(|character| {
                    character.is_ascii_alphanumeric() || character == '_' || character == '-'
                })
            {
                return Err(invalid(
                    key,
                    "a repeat's name is letters, digits, '_' and '-'",
                ));
            }
            let column = |option: &str, value: String| {
                let value = value.trim().to_owned();
                if value.is_empty() {
                    Err(invalid(
                        format!("{key}.{option}"),
                        "the column name is empty",
                    ))
                } else {
                    Ok(value)
                }
            };
            let file = match raw.file {
                Some(file) if file.trim().is_empty() => {
                    return Err(invalid(format!("{key}.file"), "the file name is empty"));
                }
                other => other,
            };
            Ok(RepeatDeclaration {
                key: column("key", raw.key)?,
                parent_key: column("parent_key", raw.parent_key)?,
                file,
                name,
            })
        })
        .collect()
}

impl Mapping {
    /// The repeat files the mapping joins (`[repeat.NAME]`): each one's name
    /// and the `file` the mapping gives for it, if any (a path relative to
    /// the main file's folder). A caller passes each to
    /// [`crate::CsvImporter::with_repeat_files`].
    pub fn repeat_files(&self) -> Vec<(&str, Option<&str>)> {
        self.repeats
            .iter()
            .map(|repeat| (repeat.name.as_str(), repeat.file.as_deref()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [fields]
        type = { constant = "passage" }
        id = { column = "ID" }
        "source.kind" = { constant = "direct_observation" }
        "source.name" = { constant = "Team A" }
        recorded_by = { constant = "team-a" }
    "#;

    fn error(extra: &str) -> String {
        Mapping::from_toml(&format!("{MINIMAL}{extra}"))
            .expect_err("mapping should be refused")
            .to_string()
    }

    fn error_of(text: &str) -> String {
        Mapping::from_toml(text)
            .expect_err("mapping should be refused")
            .to_string()
    }

    #[test]
    fn a_minimal_mapping_is_accepted() {
        let mapping = Mapping::from_toml(MINIMAL).expect("valid");
        assert_eq!(mapping.fields.len(), 5);
        assert_eq!(mapping.delimiter, b',');
    }

    #[test]
    fn the_record_type_is_known_when_it_is_a_constant() {
        assert_eq!(
            Mapping::from_toml(MINIMAL).expect("valid").record_type(),
            Some("passage")
        );
        let from_column = MINIMAL.replace(
            "type = { constant = \"passage\" }",
            "type = { column = \"Kind\" }",
        );
        assert_eq!(
            Mapping::from_toml(&from_column)
                .expect("valid")
                .record_type(),
            None
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let message = error("observed_at = { colum = \"Date\" }");
        assert!(message.contains("unknown field `colum`"), "{message}");
        let message = error_of(&format!("{MINIMAL}\n[csv]\ndelimeter = \";\""));
        assert!(message.contains("unknown field `delimeter`"), "{message}");
    }

    #[test]
    fn the_record_type_must_be_known() {
        let message = error_of(&MINIMAL.replace("\"passage\"", "\"pasage\""));
        assert_eq!(
            message,
            "fields.type.constant: \"pasage\" is not a record type (one of: site, passage, mission, incident, appeal, coverage, baseline, claim, correction, retraction)"
        );
    }

    #[test]
    fn each_field_has_exactly_one_source() {
        assert_eq!(
            error("observed_at = { column = \"Date\", hxl = \"#date\" }"),
            "fields.observed_at: give exactly one of `column`, `hxl`, `constant` or `template` (found: column, hxl)"
        );
        assert_eq!(
            error("observed_at = { format = \"%d/%m/%Y\" }"),
            "fields.observed_at: give exactly one of `column`, `hxl`, `constant` or `template` (found: none)"
        );
        assert_eq!(
            error("site = { constant = \"lachin\", required = true }"),
            "fields.site: a constant takes no other keys (found: required)"
        );
    }

    #[test]
    fn fields_every_record_needs_must_be_mapped() {
        assert_eq!(
            error_of(&MINIMAL.replace("recorded_by = { constant = \"team-a\" }", "")),
            "fields.recorded_by: missing: every record needs it (docs/records.md), e.g. with `constant = ...`"
        );
        assert_eq!(
            error_of(&MINIMAL.replace("id = { column = \"ID\" }", "id = { constant = \"x\" }")),
            "fields.id: a constant id would give every row the same id; use `column` or `template`"
        );
    }

    #[test]
    fn a_whole_source_object_may_be_a_constant() {
        let text = MINIMAL
            .replace(
                "\"source.kind\" = { constant = \"direct_observation\" }",
                "",
            )
            .replace(
                "\"source.name\" = { constant = \"Team A\" }",
                "source = { constant = { kind = \"register\", name = \"Port log\" } }",
            );
        let mapping = Mapping::from_toml(&text).expect("valid");
        let source = mapping
            .fields
            .iter()
            .find(|field| field.target.text == "source")
            .expect("source field");
        assert!(matches!(&source.source, FieldSource::Constant(value)
            if value == &serde_json::json!({"kind": "register", "name": "Port log"})));
    }

    #[test]
    fn overlapping_targets_are_refused() {
        assert_eq!(
            error("source = { constant = \"x\" }"),
            "fields.\"source.kind\": overlaps `source`: one target cannot hold the other"
        );
        assert_eq!(
            error("\"cargo[]\" = { column = \"A\" }\n\"cargo[].kind\" = { column = \"B\" }"),
            "fields.\"cargo[].kind\": overlaps `cargo[]`: one target cannot hold the other"
        );
    }

    #[test]
    fn target_paths_are_checked() {
        assert_eq!(
            error("\"cargo[].x[].y\" = { column = \"A\" }"),
            "fields.\"cargo[].x[].y\": lists inside list elements are not supported"
        );
        assert_eq!(
            error("\"attributes.Destination Country\" = { column = \"A\" }"),
            "fields.\"attributes.Destination Country\": attribute key \"Destination Country\" must be 1–64 characters of a-z 0-9 _ . - (docs/records.md)"
        );
        assert!(error("\"observed at\" = { column = \"A\" }").contains("is not a field path"));
        // Attribute keys may contain dots; they are one key, not a nested path.
        let mapping = Mapping::from_toml(&format!(
            "{MINIMAL}\"attributes.vessel.flag\" = {{ column = \"Flag\" }}"
        ))
        .expect("valid");
        assert!(mapping.fields.iter().any(|field| field.target.kind
            == TargetKind::Scalar(vec!["attributes".into(), "vessel.flag".into()])));
    }

    #[test]
    fn time_formats_and_zones_are_checked_up_front() {
        assert_eq!(
            error("observed_at = { column = \"Date\", format = \"%d/%m\" }"),
            "fields.observed_at.format: \"%d/%m\" does not give a full date: it needs a year, a month and a day (e.g. %Y, %m and %d)"
        );
        assert_eq!(
            error(
                "observed_at = { column = \"Date\", format = \"%d/%m/%Y\", timezone = \"Asia/Bakuu\" }"
            ),
            "fields.observed_at.timezone: \"Asia/Bakuu\" is not an IANA time zone name such as \"Asia/Baku\""
        );
        assert_eq!(
            error("observed_at = { column = \"Date\", as = \"time\" }"),
            "fields.observed_at: a time field needs a `format`, e.g. format = \"%d/%m/%Y\""
        );
        assert_eq!(
            error(
                "observed_at = { column = \"Date\", format = \"%d/%m/%Y\", time_column = \"Time\" }"
            ),
            "fields.observed_at: a `time_column` or `time_hxl` needs a `time_format`, e.g. \"%H:%M\""
        );
        assert_eq!(
            error(
                "observed_at = { column = \"Date\", format = \"%d/%m/%Y %H:%M\", time_column = \"Time\", time_format = \"%H:%M\" }"
            ),
            "fields.observed_at.format: already has a time of day; a separate time column needs a date-only format"
        );
        assert_eq!(
            error("count = { column = \"N\", timezone = \"Asia/Baku\" }"),
            "fields.count.timezone: only applies to time fields (with a `format`)"
        );
    }

    #[test]
    fn number_options_are_checked() {
        assert_eq!(
            error("count = { column = \"N\", as = \"int\" }"),
            "fields.count.as: \"int\" is not a value kind: use \"text\", \"integer\", \"number\" or \"time\""
        );
        assert_eq!(
            error("count = { column = \"N\", as = \"integer\", decimal_separator = \";\" }"),
            "fields.count.decimal_separator: \";\" is not a decimal separator: use \".\" or \",\""
        );
        assert_eq!(
            error("count = { column = \"N\", as = \"integer\", default = \"one\" }"),
            "fields.count.default: \"one\" is not a number (decimal separator '.', no thousands separator)"
        );
        assert_eq!(
            error_of(&format!(
                "{MINIMAL}\n[csv]\ndecimal_separator = \",\"\nthousands_separator = \",\""
            )),
            "csv.thousands_separator: it is the same as the decimal separator"
        );
        assert_eq!(
            error("operator = { column = \"Op\", decimal_separator = \",\" }"),
            "fields.operator.decimal_separator: only applies to `as = \"integer\"` or `\"number\"`"
        );
    }

    #[test]
    fn a_per_field_decimal_comma_drops_a_clashing_file_thousands_separator() {
        let mapping = Mapping::from_toml(&format!(
            "{MINIMAL}\"cargo[].tonnes\" = {{ column = \"T\", as = \"number\", decimal_separator = \",\" }}\n[csv]\nthousands_separator = \",\""
        ))
        .expect("valid");
        let tonnes = mapping
            .fields
            .iter()
            .find(|field| field.target.text == "cargo[].tonnes")
            .expect("field");
        assert!(matches!(
            tonnes.conversion,
            Conversion::Number(NumberFormat {
                decimal_separator: ',',
                thousands_separator: None
            })
        ));
    }

    #[test]
    fn value_map_options_are_checked() {
        assert_eq!(
            error(
                "category = { column = \"C\", map = { \"ICRC\" = \"red_cross\", \" icrc\" = \"red_cross\" } }"
            ),
            "fields.category.map: \" icrc\" and \"ICRC\" are the same value once trimmed and compared case-insensitively"
        );
        assert_eq!(
            error("category = { column = \"C\", ignore_unmapped = true }"),
            "fields.category.ignore_unmapped: only applies with a `map`"
        );
        assert_eq!(
            error(
                "category = { column = \"C\", map = { a = \"b\" }, default = \"other\", ignore_unmapped = true }"
            ),
            "fields.category.ignore_unmapped: cannot be combined with `default`: an unmapped value either becomes the default or is kept"
        );
        assert_eq!(
            error("category = { column = \"C\", default = \"other\", required = true }"),
            "fields.category.default: a required field cannot have a default"
        );
    }

    #[test]
    fn templates_and_groups_are_checked() {
        assert_eq!(
            error_of(&MINIMAL.replace(
                "id = { column = \"ID\" }",
                "id = { template = \"x-{group}\" }"
            )),
            "fields.id.template: {group} needs a `group_by`"
        );
        assert_eq!(
            error_of(&format!(
                "group_by = {{ column = \"a\", template = \"{{b}}\" }}\n{MINIMAL}"
            )),
            "group_by: give one of `column`, `hxl` or `template`"
        );
        assert_eq!(
            error_of(&format!(
                "{MINIMAL}\n[[skip]]\ncolumn = \"Status\"\nequals = \"x\"\nis_empty = true"
            )),
            "skip[1]: give exactly one of `equals`, `is_empty = true` or `in`"
        );
        assert_eq!(
            error_of(&format!(
                "{MINIMAL}\n[[skip]]\nhxl = \"date\"\nis_empty = true"
            )),
            "skip[1].hxl: \"date\" is not an HXL hashtag: it must start with '#'"
        );
    }

    #[test]
    fn delimiters_are_checked() {
        let mapping =
            Mapping::from_toml(&format!("{MINIMAL}\n[csv]\ndelimiter = \"tab\"")).expect("valid");
        assert_eq!(mapping.delimiter, b'\t');
        assert_eq!(
            error_of(&format!("{MINIMAL}\n[csv]\ndelimiter = \"::\"")),
            "csv.delimiter: \"::\" is not a delimiter: use \",\", \";\", \"tab\" or \"|\""
        );
    }
}
