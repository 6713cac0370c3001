//! The JSON Schema (draft 2020-12) of one submitted record, built from the
//! field lists, vocabularies and bounds the parser itself uses, so that the
//! schema cannot drift from what `add`, `import` and the API accept.
//!
//! The parser is hand-written (it reports the first bad field by path), so
//! the schema is not derived from serde types: it is assembled here from
//! [`crate::parse`]'s constants and field lists and from the vocabularies'
//! `tokens()`. `tests/schema.rs` feeds values at and beyond every bound the
//! schema states to the parser and checks that both agree, and that
//! `docs/records.md` says the same.
//!
//! What a schema cannot say is left to the parser and answered `422`: a
//! reference to a record that does not exist, an impossible calendar date
//! or a local time the site's clocks skip, an end before its start, more
//! medical evacuees than passengers, and an id already stored with other
//! content. A field given as `null` counts as absent, so every optional
//! field also admits `null`.
//!
//! Patterns use only what every JSON Schema validator's regular expressions
//! share: literal characters, character classes and ranges, groups,
//! alternation, `?`, `*`, `{m,n}` and the anchors `^` and `$`; no `\d`, `\s`,
//! `\w`, no lookaround, no Unicode classes. Control characters appear in
//! classes as themselves.

use serde_json::{Map, Value, json};

use crate::parse::{
    ATTRIBUTION_LENGTH, ID_LENGTH, KEY_LENGTH, MAX_ASSERTIONS, MAX_CARGO_LINES, MAX_CLAIMED,
    MAX_COUNT, MAX_LATITUDE, MAX_LONGITUDE, MAX_PEOPLE, MAX_PER_DAY, MAX_TONNES, MAX_WAIT_MINUTES,
    NAME_LENGTH, STATEMENT_LENGTH, TEXT_LENGTH, URL_LENGTH, VALUE_LENGTH,
};
use crate::vocab::*;

/// The JSON Schema dialect the schema is written in.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Characters no text field may hold: every control character but tab and
/// line feed (Unicode category Cc, as `char::is_control`).
const CONTROL: &str = "\u{0}-\u{8}\u{b}-\u{1f}\u{7f}-\u{9f}";
/// White space as `str::trim` sees it (the Unicode `White_Space` property),
/// without the control characters [`CONTROL`] already excludes.
const SPACE: &str = "\t\n \u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}";

/// An id: 1–128 characters of `A-Z a-z 0-9 . _ : -`, starting with a letter or digit.
pub const ID_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._:-]*$";
/// A key of `attributes` or `private`: `a-z 0-9 _ . -`.
pub const KEY_PATTERN: &str = "^[a-z0-9_.-]+$";
/// A cargo line's kind: `a-z 0-9 _ -`.
pub const CARGO_KIND_PATTERN: &str = "^[a-z0-9_-]+$";
/// A calendar date, `YYYY-MM-DD` (whether the day exists is the `date` format's concern).
pub const DATE_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
/// The three time forms: a day, a local time at the site, an instant with its offset.
pub const TIME_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$";
/// A relative tolerance, a percentage from 0 to 100.
pub const PERCENT_PATTERN: &str = "^(100(\\.0*)?|[0-9]{1,2}(\\.[0-9]*)?)%$";

/// The record types a correction may replace (every type but corrections
/// and retractions themselves).
const REPLACEABLE: [RecordType; 8] = [
    RecordType::Site,
    RecordType::Passage,
    RecordType::Mission,
    RecordType::Incident,
    RecordType::Appeal,
    RecordType::Coverage,
    RecordType::Baseline,
    RecordType::Claim,
];

/// Text without control characters (tab and line feed allowed); with
/// `min_length` of 1 or more it must also hold something besides white space.
pub fn text_pattern(min_length: usize) -> String {
    if min_length == 0 {
        format!("^[^{CONTROL}]*$")
    } else {
        format!("^[^{CONTROL}]*[^{CONTROL}{SPACE}][^{CONTROL}]*$")
    }
}

/// A source URL: `http://` or `https://`, then no white space.
pub fn url_pattern() -> String {
    format!("^https?://[^{CONTROL}{SPACE}]*$")
}

/// Every time zone name a site may give: the bundled database's names
/// exactly as it spells them, without the ones that name no place.
pub fn time_zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::TimeZoneDatabase::bundled()
        .available()
        .map(|name| name.as_str().to_string())
        .filter(|name| crate::time::check_zone_name(name).is_ok())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The schema of one record, standalone: what `corridor schema records`
/// prints and the server publishes at `/schema/records.json`.
pub fn record_schema() -> Value {
    let mut schema = Map::new();
    schema.insert("$schema".into(), json!(DIALECT));
    schema.insert("title".into(), json!("Corridor record"));
    schema.insert(
        "description".into(),
        json!("One record as `corridor add`, `corridor import` and POST /api/v1/records accept it (docs/records.md). Unknown fields are refused; a null field counts as absent. References to other records, calendar checks and cross-field rules the schema cannot express are checked on submission."),
    );
    if let Value::Object(root) = record_one_of("#/$defs/") {
        schema.extend(root);
    }
    schema.insert("$defs".into(), Value::Object(definitions("#/$defs/")));
    Value::Object(schema)
}

/// The name of a record type's definition: `PassageRecord`.
pub fn record_definition(record_type: RecordType) -> String {
    format!("{}Record", title_case(record_type.as_str()))
}

/// The name of the definition of a correction's replacement of `record_type`.
pub fn replacement_definition(record_type: RecordType) -> String {
    format!("{}Replacement", title_case(record_type.as_str()))
}

fn title_case(token: &str) -> String {
    token
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `oneOf` the record types, with a discriminator on `type`; definitions are
/// referred to under `prefix` (`#/$defs/`, or `#/components/schemas/` inside OpenAPI).
pub fn record_one_of(prefix: &str) -> Value {
    one_of_types(prefix, RecordType::ALL, record_definition)
}

fn one_of_types(prefix: &str, types: &[RecordType], name: fn(RecordType) -> String) -> Value {
    let mut mapping = Map::new();
    let mut choices = Vec::new();
    for record_type in types {
        let reference = format!("{prefix}{}", name(*record_type));
        mapping.insert(record_type.as_str().into(), json!(reference));
        choices.push(json!({"$ref": reference}));
    }
    json!({
        "oneOf": choices,
        "discriminator": {"propertyName": "type", "mapping": mapping},
    })
}

/// Every named schema a record refers to, by name, with references under `prefix`.
pub fn definitions(prefix: &str) -> Map<String, Value> {
    let reference = |name: &str| json!({"$ref": format!("{prefix}{name}")});
    let mut definitions = Map::new();
    vocabulary::<RecordType>(&mut definitions, "RecordType");
    vocabulary::<Category>(&mut definitions, "Category");
    vocabulary::<Direction>(&mut definitions, "Direction");
    vocabulary::<BaselineDirection>(&mut definitions, "BaselineDirection");
    vocabulary::<VehicleClass>(&mut definitions, "VehicleClass");
    vocabulary::<Outcome>(&mut definitions, "Outcome");
    vocabulary::<SourceKind>(&mut definitions, "SourceKind");
    vocabulary::<SiteKind>(&mut definitions, "SiteKind");
    vocabulary::<MissionKind>(&mut definitions, "MissionKind");
    vocabulary::<MissionOutcome>(&mut definitions, "MissionOutcome");
    vocabulary::<IncidentKind>(&mut definitions, "IncidentKind");
    vocabulary::<AppealKind>(&mut definitions, "AppealKind");
    vocabulary::<AppealStatus>(&mut definitions, "AppealStatus");
    vocabulary::<CoverageMode>(&mut definitions, "CoverageMode");
    vocabulary::<FlowMetric>(&mut definitions, "FlowMetric");
    vocabulary::<ClaimMetric>(&mut definitions, "ClaimMetric");
    vocabulary::<ComparisonOp>(&mut definitions, "ComparisonOp");
    vocabulary::<AccessStatus>(&mut definitions, "AccessStatus");
    definitions.insert(
        "Id".into(),
        json!({
            "type": "string", "minLength": 1, "maxLength": ID_LENGTH, "pattern": ID_PATTERN,
            "description": "1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit",
        }),
    );
    definitions.insert(
        "Date".into(),
        json!({
            "type": "string", "format": "date", "pattern": DATE_PATTERN,
            "description": "a calendar date, YYYY-MM-DD",
        }),
    );
    definitions.insert(
        "Time".into(),
        json!({
            "type": "string", "pattern": TIME_PATTERN,
            "description": "YYYY-MM-DD (a day at the site), YYYY-MM-DDTHH:MM[:SS[.fraction]] (local time at the site; a space may replace the T) or either with Z or ±HH:MM (an instant, RFC 3339). A local time the site's clocks skip or show twice is refused; give it with its offset.",
            "examples": ["2023-01-17T09:40", "2022-12-17T10:23:00+04:00", "2023-01-17"],
        }),
    );
    definitions.insert(
        "Attributes".into(),
        json!({
            "type": "object",
            "description": "fields a source has that the model does not; string values",
            "propertyNames": {"minLength": 1, "maxLength": KEY_LENGTH, "pattern": KEY_PATTERN},
            "additionalProperties": text(0, VALUE_LENGTH),
        }),
    );
    definitions.insert(
        "Private".into(),
        json!({
            "type": "object",
            "description": "personal data, stored apart and never published; the public record carries a salted commitment to it",
            "propertyNames": {
                "minLength": 1, "maxLength": KEY_LENGTH, "pattern": KEY_PATTERN,
                "not": {"const": "exact_times"},
            },
            "additionalProperties": {"anyOf": [
                {"type": "string", "maxLength": VALUE_LENGTH},
                {"type": "number"},
                {"type": "boolean"},
            ]},
        }),
    );
    definitions.insert(
        "Source".into(),
        closed_object(
            &[
                ("kind", true, reference("SourceKind")),
                ("name", true, text(1, ATTRIBUTION_LENGTH)),
                (
                    "url",
                    false,
                    json!({"type": "string", "minLength": 1, "maxLength": URL_LENGTH, "pattern": url_pattern()}),
                ),
                ("published_on", false, reference("Date")),
            ],
            "where the information comes from",
        ),
    );
    definitions.insert(
        "DirectionLabels".into(),
        json!({
            "type": "object",
            "description": "local names of the two directions",
            "properties": {"inbound": text(0, VALUE_LENGTH), "outbound": text(0, VALUE_LENGTH)},
            "additionalProperties": false,
        }),
    );
    definitions.insert(
        "CargoLine".into(),
        closed_object(
            &[
                (
                    "kind",
                    true,
                    json!({"type": "string", "minLength": 1, "maxLength": KEY_LENGTH, "pattern": CARGO_KIND_PATTERN}),
                ),
                (
                    "tonnes",
                    false,
                    json!({"type": "number", "minimum": 0, "maximum": MAX_TONNES, "multipleOf": 0.001}),
                ),
            ],
            "one line of a vehicle's load",
        ),
    );
    definitions.insert("Assertion".into(), assertion(&reference));
    for record_type in RecordType::ALL {
        definitions.insert(
            record_definition(*record_type),
            record(*record_type, false, prefix),
        );
    }
    for record_type in REPLACEABLE {
        definitions.insert(
            replacement_definition(record_type),
            record(record_type, true, prefix),
        );
    }
    definitions
}

fn vocabulary<T: Token>(definitions: &mut Map<String, Value>, name: &str) {
    definitions.insert(
        name.into(),
        json!({"type": "string", "enum": T::tokens(), "description": T::DESCRIPTION}),
    );
}

/// A string of `min..=max` characters under the parser's text rules.
pub fn text(min: usize, max: usize) -> Value {
    json!({"type": "string", "minLength": min, "maxLength": max, "pattern": text_pattern(min)})
}

fn integer(min: u64, max: u64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

fn number(min: f64, max: f64) -> Value {
    json!({"type": "number", "minimum": min, "maximum": max})
}

fn list(items: Value, min_items: usize, max_items: Option<usize>) -> Value {
    let mut schema = json!({"type": "array", "items": items, "minItems": min_items});
    if let Some(max) = max_items {
        schema["maxItems"] = json!(max);
    }
    schema
}

/// The same schema, or `null` (a null field counts as absent).
fn or_null(schema: Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some(kind) if schema.get("$ref").is_none() && schema.get("enum").is_none() => {
            let mut schema = schema.clone();
            schema["type"] = json!([kind, "null"]);
            schema
        }
        _ => json!({"anyOf": [schema, {"type": "null"}]}),
    }
}

/// An object with exactly these properties (`name`, required, schema); an
/// optional property may also be `null`.
fn closed_object(properties: &[(&str, bool, Value)], description: &str) -> Value {
    let mut shape = Map::new();
    let mut required = Vec::new();
    for (name, is_required, schema) in properties {
        if *is_required {
            required.push(json!(name));
            shape.insert((*name).into(), schema.clone());
        } else {
            shape.insert((*name).into(), or_null(schema.clone()));
        }
    }
    json!({
        "type": "object",
        "description": description,
        "properties": shape,
        "required": required,
        "additionalProperties": false,
    })
}

/// `if` the field is given (not absent, not null) `then` the schema applies.
fn when_given(field: &str, then: Value) -> Value {
    json!({
        "if": {"required": [field], "properties": {field: {"not": {"type": "null"}}}},
        "then": then,
    })
}

fn assertion(reference: &dyn Fn(&str) -> Value) -> Value {
    let mut schema = closed_object(
        &[
            ("metric", true, reference("ClaimMetric")),
            ("op", true, reference("ComparisonOp")),
            (
                "value",
                true,
                json!({"anyOf": [number(0.0, MAX_CLAIMED), reference("AccessStatus")]}),
            ),
            (
                "tolerance",
                false,
                json!({"anyOf": [number(0.0, MAX_CLAIMED), {"type": "string", "pattern": PERCENT_PATTERN}]}),
            ),
            ("from", true, reference("Date")),
            ("to", true, reference("Date")),
            ("sites", false, list(reference("Id"), 1, None)),
            ("category", false, reference("Category")),
            ("operator", false, text(1, NAME_LENGTH)),
            ("direction", false, reference("Direction")),
            ("outcome", false, reference("Outcome")),
            ("cargo_kind", false, text(1, KEY_LENGTH)),
            ("attributes", false, reference("Attributes")),
        ],
        "one checkable statement of a claim",
    );
    schema["allOf"] = json!([
        {
            "if": {"properties": {"metric": {"const": "access_status"}}},
            "then": {"properties": {"op": {"enum": ["eq", "ne"]}, "value": reference("AccessStatus")}},
            "else": {"properties": {"value": number(0.0, MAX_CLAIMED)}},
        },
        when_given("tolerance", json!({"properties": {"op": {"const": "approx"}}})),
    ]);
    schema
}

/// The schema of one record type; `replacement` for the record inside a
/// correction (no `private`, `id`, `source` and `recorded_by` optional).
fn record(record_type: RecordType, replacement: bool, prefix: &str) -> Value {
    let reference = |name: &str| json!({"$ref": format!("{prefix}{name}")});
    let mut fields: Vec<(&str, bool, Value)> = vec![
        ("type", true, json!({"const": record_type.as_str()})),
        ("id", !replacement, reference("Id")),
        ("source", !replacement, reference("Source")),
        ("recorded_by", !replacement, text(1, NAME_LENGTH)),
        ("attributes", false, reference("Attributes")),
        ("notes", false, text(1, TEXT_LENGTH)),
    ];
    if !replacement {
        fields.push(("private", false, reference("Private")));
    }
    let mut rules = Vec::new();
    let body: Vec<(&str, bool, Value)> = match record_type {
        RecordType::Site => {
            let coordinate = |limit: f64| number(-limit, limit);
            for (given, other) in [("latitude", "longitude"), ("longitude", "latitude")] {
                rules.push(when_given(
                    given,
                    json!({"required": [other], "properties": {other: {"type": "number"}}}),
                ));
            }
            vec![
                ("name", true, text(1, NAME_LENGTH)),
                ("kind", true, reference("SiteKind")),
                (
                    "timezone",
                    true,
                    json!({"type": "string", "enum": time_zone_names(), "description": "IANA time zone name, spelt as the time-zone database spells it"}),
                ),
                ("latitude", false, coordinate(MAX_LATITUDE)),
                ("longitude", false, coordinate(MAX_LONGITUDE)),
                ("direction_labels", false, reference("DirectionLabels")),
                ("parent", false, reference("Id")),
            ]
        }
        RecordType::Passage => {
            rules.push(when_given(
                "wait_minutes",
                json!({"required": ["outcome"], "properties": {"outcome": {"enum": ["delayed", "held"]}}}),
            ));
            vec![
                ("site", true, reference("Id")),
                ("observed_at", true, reference("Time")),
                ("direction", false, reference("Direction")),
                ("category", true, reference("Category")),
                ("operator", false, text(1, NAME_LENGTH)),
                ("vehicle_class", false, reference("VehicleClass")),
                ("count", false, integer(1, MAX_COUNT)),
                (
                    "cargo",
                    false,
                    list(reference("CargoLine"), 0, Some(MAX_CARGO_LINES)),
                ),
                ("passengers", false, integer(0, MAX_PEOPLE)),
                ("medical_evacuees", false, integer(0, MAX_PEOPLE)),
                ("outcome", false, reference("Outcome")),
                ("wait_minutes", false, integer(0, MAX_WAIT_MINUTES)),
                ("mission", false, reference("Id")),
            ]
        }
        RecordType::Mission => {
            rules.push(json!({
                "if": {"properties": {"outcome": {"enum": ["denied", "obstructed", "cancelled"]}}},
                "then": {"required": ["outcome_reason"], "properties": {"outcome_reason": {"type": "string"}}},
            }));
            vec![
                ("kind", true, reference("MissionKind")),
                ("organisation", true, text(1, NAME_LENGTH)),
                ("category", true, reference("Category")),
                ("sites", true, list(reference("Id"), 1, None)),
                ("planned_start", true, reference("Time")),
                ("planned_end", false, reference("Time")),
                ("plan", false, text(1, TEXT_LENGTH)),
                ("outcome", true, reference("MissionOutcome")),
                ("outcome_reason", false, text(1, TEXT_LENGTH)),
            ]
        }
        RecordType::Incident => vec![
            ("kind", true, reference("IncidentKind")),
            ("site", true, reference("Id")),
            ("started_at", true, reference("Time")),
            ("ended_at", false, reference("Time")),
            ("description", true, text(1, TEXT_LENGTH)),
            ("mission", false, reference("Id")),
        ],
        RecordType::Appeal => vec![
            ("channel", true, text(1, NAME_LENGTH)),
            ("kind", true, reference("AppealKind")),
            ("received_at", true, reference("Time")),
            ("site", false, reference("Id")),
            ("status", true, reference("AppealStatus")),
            ("handled_at", false, reference("Time")),
            ("outcome", false, text(1, TEXT_LENGTH)),
        ],
        RecordType::Coverage => vec![
            ("site", true, reference("Id")),
            ("start", true, reference("Time")),
            ("end", true, reference("Time")),
            ("mode", true, reference("CoverageMode")),
            ("metrics", true, list(reference("FlowMetric"), 1, None)),
            ("categories", false, list(reference("Category"), 1, None)),
        ],
        RecordType::Baseline => {
            let absent = json!({"type": "null"});
            rules.push(json!({"anyOf": [
                {
                    "required": ["per_day"],
                    "properties": {"per_day": {"type": "number"}, "reference_from": absent, "reference_to": absent},
                },
                {
                    "required": ["reference_from", "reference_to"],
                    "properties": {"per_day": absent, "reference_from": {"type": "string"}, "reference_to": {"type": "string"}},
                },
            ]}));
            vec![
                ("site", true, reference("Id")),
                ("metric", true, reference("FlowMetric")),
                ("direction", true, reference("BaselineDirection")),
                ("category", false, reference("Category")),
                ("per_day", false, number(0.0, MAX_PER_DAY)),
                ("reference_from", false, reference("Date")),
                ("reference_to", false, reference("Date")),
            ]
        }
        RecordType::Claim => vec![
            ("text", true, text(1, STATEMENT_LENGTH)),
            ("speaker", true, text(1, ATTRIBUTION_LENGTH)),
            ("said_on", true, reference("Date")),
            (
                "assertions",
                true,
                list(reference("Assertion"), 1, Some(MAX_ASSERTIONS)),
            ),
        ],
        RecordType::Correction => vec![
            ("corrects", true, reference("Id")),
            ("reason", true, text(1, TEXT_LENGTH)),
            (
                "record",
                true,
                one_of_types(prefix, &REPLACEABLE, replacement_definition),
            ),
        ],
        RecordType::Retraction => vec![
            ("retracts", true, reference("Id")),
            ("reason", true, text(1, TEXT_LENGTH)),
        ],
    };
    fields.extend(body);
    let description = if replacement {
        format!(
            "the replacement of a {} inside a correction: a complete record of that type; id, source and recorded_by default to the correction's",
            record_type.as_str()
        )
    } else {
        format!("a {} record (docs/records.md)", record_type.as_str())
    };
    let mut schema = closed_object(&fields, &description);
    if !rules.is_empty() {
        schema["allOf"] = Value::Array(rules);
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_type_has_its_definition_in_the_one_of() {
        let schema = record_schema();
        let choices = schema["oneOf"].as_array().map(Vec::len);
        assert_eq!(choices, Some(RecordType::ALL.len()));
        for record_type in RecordType::ALL {
            let name = record_definition(*record_type);
            assert!(schema["$defs"][&name].is_object(), "{name}");
            assert_eq!(
                schema["discriminator"]["mapping"][record_type.as_str()],
                json!(format!("#/$defs/{name}"))
            );
        }
    }

    #[test]
    fn the_zone_names_are_canonical_and_include_baku() {
        let names = time_zone_names();
        assert!(names.iter().any(|name| name == "Asia/Baku"));
        assert!(!names.iter().any(|name| name == "Factory"));
        assert!(names.len() > 300, "{} names", names.len());
    }

    #[test]
    fn every_definition_lists_the_parsers_fields() {
        let schema = record_schema();
        for record_type in RecordType::ALL {
            let properties = &schema["$defs"][record_definition(*record_type)]["properties"];
            let mut listed: Vec<&str> = properties
                .as_object()
                .map(|object| object.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut expected = crate::parse::record_fields(*record_type);
            listed.sort_unstable();
            expected.sort_unstable();
            assert_eq!(listed, expected, "{record_type}");
        }
    }

    #[test]
    fn definition_names_are_title_case() {
        assert_eq!(
            record_definition(RecordType::Passage),
            "PassageRecord".to_string()
        );
        assert_eq!(title_case("road_segment"), "RoadSegment");
    }
}
