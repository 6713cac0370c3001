//! The record schema against the parser: every bound, vocabulary, pattern
//! and required field the schema states is tried at and beyond its edge, and
//! a JSON Schema validator and `parse_submission` must agree on every try.
//!
//! References resolve to anything here (every id is a site in UTC, every
//! corrected record a passage), so what is left to disagree on is exactly
//! what the schema claims to describe. The examples are chosen so that no
//! rule the schema leaves to the parser (evacuees beyond passengers, an end
//! before its start) is touched by a single change.

use corridor_model::schema::{definitions, record_definition, record_schema};
use corridor_model::{RecordType, Resolve, TimePrecision, parse_submission};
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

struct AnyReference;

impl Resolve for AnyReference {
    fn precision(&self) -> TimePrecision {
        TimePrecision::Second
    }
    fn site_zone(&self, _site_id: &str) -> Result<TimeZone, String> {
        Ok(TimeZone::UTC)
    }
    fn check_reference(&self, _id: &str, _expected: RecordType) -> Result<(), String> {
        Ok(())
    }
    fn correctable(&self, _id: &str) -> Result<RecordType, String> {
        Ok(RecordType::Passage)
    }
}

fn source() -> Value {
    json!({"kind": "media_report", "name": "Outlet", "url": "https://example.org/a", "published_on": "2023-01-02"})
}

/// One valid record of every type.
fn examples() -> Vec<Value> {
    let common = |record_type: &str, id: &str| {
        json!({"type": record_type, "id": id, "source": source(), "recorded_by": "team-a",
            "attributes": {"vessel_flag": "MT"}, "notes": "seen from the hill"})
    };
    let with = |mut base: Value, body: Value| {
        if let (Some(base), Value::Object(body)) = (base.as_object_mut(), body) {
            base.extend(body);
        }
        base
    };
    vec![
        with(
            common("site", "km-12"),
            json!({"name": "Checkpoint km 12", "kind": "checkpoint", "timezone": "Asia/Baku",
                "latitude": 39.6, "longitude": 46.5, "direction_labels": {"inbound": "towards the city"},
                "parent": "lachin-road"}),
        ),
        with(
            common("passage", "p-1"),
            json!({"site": "km-12", "observed_at": "2023-01-17T09:40", "direction": "inbound",
                "category": "red_cross", "operator": "ICRC", "vehicle_class": "truck", "count": 2,
                "cargo": [{"kind": "food", "tonnes": 12.5}], "outcome": "delayed", "wait_minutes": 30,
                "mission": "m-1", "private": {"plate": "AB 123 C", "seen": true}}),
        ),
        with(
            common("mission", "m-1"),
            json!({"kind": "convoy", "organisation": "ICRC", "category": "red_cross", "sites": ["km-12"],
                "planned_start": "2023-01-10", "plan": "two trucks", "outcome": "completed"}),
        ),
        with(
            common("incident", "i-1"),
            json!({"kind": "protest", "site": "km-12", "started_at": "2022-12-12T10:30+04:00",
                "description": "road blocked", "mission": "m-1"}),
        ),
        with(
            common("appeal", "a-1"),
            json!({"channel": "hotline", "kind": "medical", "received_at": "2023-01-05T08:00Z",
                "site": "km-12", "status": "referred", "outcome": "referred to the ICRC"}),
        ),
        with(
            common("coverage", "c-1"),
            json!({"site": "km-12", "start": "2023-01-01", "end": "2023-12-31", "mode": "continuous_watch",
                "metrics": ["vehicles", "passengers"], "categories": ["red_cross"]}),
        ),
        with(
            common("baseline", "b-1"),
            json!({"site": "km-12", "metric": "vehicles", "direction": "both", "category": "commercial",
                "per_day": 400}),
        ),
        with(
            common("claim", "cl-1"),
            json!({"text": "980 vehicles passed", "speaker": "A spokesman", "said_on": "2023-01-23",
                "assertions": [{"metric": "vehicles", "op": "approx", "value": 980, "tolerance": "5%",
                    "from": "2023-01-01", "to": "2023-01-31", "sites": ["km-12"], "category": "red_cross",
                    "operator": "ICRC", "direction": "inbound", "outcome": "passed", "cargo_kind": "food",
                    "attributes": {"vessel_flag": "MT"}}]}),
        ),
        with(
            common("correction", "fix-1"),
            json!({"corrects": "p-9", "reason": "wrong category", "record": {"type": "passage",
                "site": "km-12", "observed_at": "2023-01-17", "category": "un", "outcome": "passed"}}),
        ),
        with(
            common("retraction", "r-1"),
            json!({"retracts": "p-9", "reason": "a duplicate"}),
        ),
    ]
}

struct Judge {
    validator: jsonschema::Validator,
    definitions: Map<String, Value>,
}

impl Judge {
    fn new() -> Judge {
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&record_schema())
            .expect("the record schema is a valid JSON Schema");
        Judge {
            validator,
            definitions: definitions("#/$defs/"),
        }
    }

    /// A schema with `$ref`s followed and the `null` alternative of an
    /// optional field taken away.
    fn underlying(&self, schema: &Value) -> Value {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.trim_start_matches("#/$defs/");
            return self.underlying(&self.definitions[name]);
        }
        if let Some(choices) = schema["anyOf"].as_array()
            && choices.len() == 2
            && choices[1] == json!({"type": "null"})
        {
            return self.underlying(&choices[0]);
        }
        if let Some([kind, null]) = schema["type"].as_array().map(Vec::as_slice)
            && null == "null"
        {
            let mut schema = schema.clone();
            schema["type"] = kind.clone();
            return schema;
        }
        schema.clone()
    }

    /// Whether the schema and the parser agree on `record`; the
    /// disagreement, described, when they do not.
    fn disagreement(&self, record: &Value, change: &str) -> Option<String> {
        let schema_accepts = self.validator.is_valid(record);
        let parsed = match record {
            Value::Object(object) => parse_submission(object, &AnyReference).map(|_| ()),
            _ => return Some(format!("{change}: not an object")),
        };
        match (schema_accepts, parsed) {
            (true, Ok(())) | (false, Err(_)) => None,
            (true, Err(error)) => Some(format!(
                "{change}: the schema accepts what the parser refuses ({error})"
            )),
            (false, Ok(())) => Some(format!(
                "{change}: the parser accepts what the schema refuses"
            )),
        }
    }
}

/// Values at and beyond every edge the schema gives a field.
fn trial_values(schema: &Value) -> Vec<Value> {
    let mut values = vec![Value::Null, json!(true), json!({"x": 1}), json!([])];
    if let Some(tokens) = schema["enum"].as_array() {
        values.extend(tokens.iter().cloned());
        values.push(json!("not-a-token"));
        values.push(json!(
            tokens.first().map(|token| token.to_string().to_uppercase())
        ));
    }
    match schema["type"].as_str() {
        Some("string") => {
            let pattern = schema["pattern"].as_str().unwrap_or("");
            if pattern.contains("[0-9]{4}-") {
                values.extend(
                    [
                        "2023-01-17",
                        "2023-02-30",
                        "2023-1-17",
                        "20230117",
                        "2023-01-17T09:40",
                        "2023-01-17t09:40:05",
                        "2023-01-17 09:40:05.123456789",
                        "2023-01-17T09:40:05.1234567890",
                        "2023-01-17T09:40:05.5Z",
                        "2023-01-17T09:40+04:00",
                        "2023-01-17T09:40-24:00",
                        "2023-01-17T24:00",
                        "2023-01-17T09:60",
                        "2023-01-17T09:40:61",
                        "2023-01-17T9:40",
                        "2023-01-17T09:40 ",
                        "2023-01-17\n",
                        "17/01/2023",
                    ]
                    .map(Value::from),
                );
            } else if let Some(max) = schema["maxLength"].as_u64() {
                let min = schema["minLength"].as_u64().unwrap_or(0);
                let prefix = if pattern.starts_with("^https?://") {
                    "https://"
                } else {
                    ""
                };
                let of_length = |length: u64| {
                    let fill = (length as usize).saturating_sub(prefix.len());
                    Value::from(format!("{prefix}{}", "a".repeat(fill)))
                };
                values.extend([of_length(min), of_length(max), of_length(max + 1)]);
                if min > 0 {
                    values.push(json!(""));
                }
                for text in [
                    "a b",
                    "  ",
                    "\t\n",
                    "a\tb\nc",
                    "a\u{7}b",
                    "a\rb",
                    "\u{85}",
                    "\u{3000}a",
                    "a-b.c_d:e",
                    "-a",
                    "A1",
                    "https://x y",
                    "ftp://x",
                    "é",
                ] {
                    values.push(json!(format!("{prefix}{text}")));
                }
            } else {
                values.extend(["", "a", "a b", "5%", "100%", "100.5%", "x"].map(Value::from));
            }
        }
        Some("integer") => {
            let min = schema["minimum"].as_i64().unwrap_or(0);
            let max = schema["maximum"].as_i64().unwrap_or(i64::MAX - 1);
            values.extend([min, max, min - 1, max + 1].map(Value::from));
            values.push(json!(1.5));
            values.push(json!("1"));
        }
        Some("number") => {
            let min = schema["minimum"].as_f64().unwrap_or(0.0);
            let max = schema["maximum"].as_f64().unwrap_or(1e300);
            values.extend([min, max, min - 1.0, max + 1.0, max * 1.5].map(Value::from));
            if schema.get("multipleOf").is_some() {
                values.extend([json!(12.345), json!(0.0005), json!(7)]);
            }
            values.push(json!("1"));
        }
        Some("array") => values.push(json!(["not-an-item"])),
        _ => {}
    }
    values
}

/// Tries every field of `object` (and every field its schema knows that
/// the object lacks) with removal and every trial value, nested objects
/// included; `place` puts a changed object back into the whole record.
fn try_fields(
    judge: &Judge,
    schema: &Value,
    object: &Map<String, Value>,
    path: &str,
    place: &dyn Fn(Map<String, Value>) -> Value,
    problems: &mut Vec<String>,
) {
    let schema = judge.underlying(schema);
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    for (name, property) in properties {
        if name == "type" {
            continue;
        }
        let field = format!("{path}{name}");
        let mut without = object.clone();
        if without.remove(name).is_some() {
            let record = place(without);
            problems.extend(judge.disagreement(&record, &format!("{field} removed")));
        }
        let property = judge.underlying(property);
        for value in trial_values(&property) {
            let mut changed = object.clone();
            changed.insert(name.clone(), value.clone());
            let record = place(changed);
            problems.extend(judge.disagreement(&record, &format!("{field} = {value}")));
        }
        match object.get(name) {
            Some(Value::Object(inner)) => {
                let inner_place = |changed: Map<String, Value>| {
                    let mut outer = object.clone();
                    outer.insert(name.clone(), Value::Object(changed));
                    place(outer)
                };
                let inner_schema = if property.get("oneOf").is_some() {
                    // A correction's replacement: the definition of its type.
                    json!({"$ref": "#/$defs/PassageReplacement"})
                } else {
                    property.clone()
                };
                try_fields(
                    judge,
                    &inner_schema,
                    inner,
                    &format!("{field}."),
                    &inner_place,
                    problems,
                );
            }
            Some(Value::Array(items)) => {
                if let Some(Value::Object(first)) = items.first() {
                    let item_place = |changed: Map<String, Value>| {
                        let mut outer = object.clone();
                        let mut items = items.clone();
                        items[0] = Value::Object(changed);
                        outer.insert(name.clone(), Value::Array(items));
                        place(outer)
                    };
                    try_fields(
                        judge,
                        &property["items"],
                        first,
                        &format!("{field}[0]."),
                        &item_place,
                        problems,
                    );
                }
            }
            _ => {}
        }
    }
    // A field no record type has.
    let mut unknown = object.clone();
    unknown.insert("colour".into(), json!("red"));
    problems.extend(judge.disagreement(&place(unknown), &format!("{path}colour added")));
}

#[test]
fn every_example_is_valid_for_the_schema_and_the_parser() {
    let judge = Judge::new();
    let examples = examples();
    assert_eq!(examples.len(), RecordType::ALL.len());
    for example in &examples {
        assert!(
            judge.validator.is_valid(example),
            "schema refuses {example}: {:?}",
            judge
                .validator
                .iter_errors(example)
                .map(|error| error.to_string())
                .collect::<Vec<_>>()
        );
        let object = example.as_object().expect("examples are objects");
        assert!(
            parse_submission(object, &AnyReference).is_ok(),
            "parser refuses {example}"
        );
    }
}

#[test]
fn the_schema_and_the_parser_agree_at_every_edge() {
    let judge = Judge::new();
    let mut problems = Vec::new();
    let mut tried = 0;
    for example in examples() {
        let object = example.as_object().cloned().unwrap_or_default();
        let record_type = object["type"].as_str().and_then(RecordType::parse);
        let Some(record_type) = record_type else {
            panic!("example without a type: {example}");
        };
        let schema = json!({"$ref": format!("#/$defs/{}", record_definition(record_type))});
        let before = problems.len();
        try_fields(
            &judge,
            &schema,
            &object,
            &format!("{record_type} "),
            &|changed| Value::Object(changed),
            &mut problems,
        );
        tried += 1;
        assert!(problems.len() - before < 1_000);
    }
    assert_eq!(tried, RecordType::ALL.len());
    // Two rules are the parser's alone, documented in schema.rs and
    // docs/records.md: a time's calendar date must exist (the `date` format
    // checks dates, but a pattern cannot check the date inside a time), and
    // a replacement's id, when given, must be the corrected record's.
    let (documented, problems): (Vec<String>, Vec<String>) =
        problems.into_iter().partition(|problem| {
            problem.contains(" = \"2023-02-30\": the schema accepts")
                || problem.starts_with("correction record.id = ")
        });
    assert!(
        documented
            .iter()
            .any(|problem| problem.contains("2023-02-30"))
            && documented
                .iter()
                .any(|problem| problem.contains("record.id")),
        "the documented exceptions still occur: {documented:?}"
    );
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn rules_the_schema_leaves_to_the_parser_are_the_documented_ones() {
    // Each of these is valid for the schema and refused on submission (422).
    let judge = Judge::new();
    let mut passage = examples()[1].clone();
    passage["passengers"] = json!(2);
    passage["medical_evacuees"] = json!(3);
    let mut coverage = examples()[5].clone();
    coverage["end"] = json!("2022-12-31");
    let mut date = examples()[7].clone();
    date["said_on"] = json!("2023-02-29");
    for (what, record) in [
        ("more evacuees than passengers", passage),
        ("an end before its start", coverage),
    ] {
        assert!(judge.validator.is_valid(&record), "{what}");
        let object = record.as_object().cloned().unwrap_or_default();
        assert!(
            parse_submission(&object, &AnyReference).is_err(),
            "{what} is refused by the parser"
        );
    }
    // A calendar date that does not exist is the `date` format's to refuse.
    assert!(!judge.validator.is_valid(&date));
}

#[test]
fn patterns_use_only_the_portable_subset() {
    let schema = record_schema().to_string();
    let value: Value = serde_json::from_str(&schema).expect("JSON");
    let mut patterns = Vec::new();
    collect_patterns(&value, &mut patterns);
    assert!(patterns.len() > 10, "{} patterns", patterns.len());
    for pattern in patterns {
        for forbidden in [
            "\\d", "\\w", "\\s", "\\p", "\\b", "(?", "\\u", "\\x", "\\z", "\\Z",
        ] {
            assert!(!pattern.contains(forbidden), "{pattern:?} uses {forbidden}");
        }
        let escapes: Vec<&str> = pattern
            .match_indices('\\')
            .map(|(at, _)| &pattern[at..at + 2])
            .collect();
        assert!(
            escapes.iter().all(|escape| *escape == "\\."),
            "{pattern:?} escapes something other than a dot: {escapes:?}"
        );
        assert!(
            pattern.starts_with('^') && pattern.ends_with('$'),
            "{pattern:?} is anchored"
        );
    }
}

fn collect_patterns(value: &Value, patterns: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                match (key.as_str(), inner) {
                    ("pattern", Value::String(pattern)) => patterns.push(pattern.clone()),
                    _ => collect_patterns(inner, patterns),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_patterns(item, patterns)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// docs/records.md against the schema.

/// One row of a field table: its fields, whether they are required, the value text.
struct DocumentedField {
    names: Vec<String>,
    required: String,
    value: String,
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(index, _)| index % 2 == 1)
        .map(|(_, token)| token.to_string())
        .collect()
}

/// Every field table of the page, by the schema definition it documents.
fn documented_tables(page: &str) -> Vec<(String, Vec<DocumentedField>)> {
    let mut tables: Vec<(String, Vec<DocumentedField>)> = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        if let Some(heading) = line
            .strip_prefix("## ")
            .or_else(|| line.strip_prefix("### "))
        {
            current = match heading {
                "Fields every record has" => Some("common".into()),
                "`source`" => Some("Source".into()),
                _ => backticked(heading)
                    .first()
                    .and_then(|token| RecordType::parse(token))
                    .map(record_definition),
            };
        } else if line == "An assertion:" {
            current = Some("Assertion".into());
        } else if let (Some(section), Some(row)) = (&current, line.strip_prefix("| `")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            if cells.len() < 3 {
                continue;
            }
            let field = DocumentedField {
                names: backticked(&format!("`{}", cells[0])),
                required: cells[1].trim().to_string(),
                value: cells[2..].join(" | ").trim_end_matches(" |").to_string(),
            };
            match tables.iter_mut().find(|(name, _)| name == section) {
                Some((_, rows)) => rows.push(field),
                None => tables.push((section.clone(), vec![field])),
            }
        }
    }
    tables
}

/// The vocabularies the page lists by name: `operator category` → tokens.
fn documented_vocabularies(page: &str) -> Vec<(String, Vec<String>)> {
    let Some(start) = page.find("## Vocabularies") else {
        return Vec::new();
    };
    let section = &page[start..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    section
        .split("\n- **")
        .skip(1)
        .filter_map(|item| {
            let (name, rest) = item.split_once("**")?;
            let list = rest.split_once(':')?.1;
            let list = list.split_once(". ").map_or(list, |(first, _)| first);
            Some((name.to_lowercase(), backticked(list)))
        })
        .collect()
}

fn number_before(text: &str, suffix: &str) -> Option<(u64, u64)> {
    let at = text.find(suffix)?;
    let range = text[..at].rsplit(' ').next()?;
    let (low, high) = range.split_once('–')?;
    let parse = |digits: &str| digits.replace(',', "").parse::<u64>().ok();
    Some((parse(low)?, parse(high)?))
}

#[test]
fn docs_records_md_and_the_schema_agree() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/records.md"
    ))
    .expect("docs/records.md is readable");
    let judge = Judge::new();
    let vocabularies = documented_vocabularies(&page);
    assert!(
        vocabularies.len() >= 4,
        "{} vocabularies",
        vocabularies.len()
    );
    let tables = documented_tables(&page);
    let mut problems = Vec::new();
    let mut checked = 0;
    let common = tables
        .iter()
        .find(|(name, _)| name == "common")
        .map(|(_, rows)| {
            rows.iter()
                .flat_map(|row| row.names.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for definition in RecordType::ALL
        .iter()
        .map(|record_type| record_definition(*record_type))
        .chain(["Source".to_string(), "Assertion".to_string()])
    {
        let schema = &judge.definitions[&definition];
        let rows: Vec<&DocumentedField> = tables
            .iter()
            .filter(|(name, _)| {
                *name == definition || (name == "common" && definition.ends_with("Record"))
            })
            .flat_map(|(_, rows)| rows.iter())
            .collect();
        let mut documented: Vec<String> = rows.iter().flat_map(|row| row.names.clone()).collect();
        documented.sort();
        let mut listed: Vec<String> = schema["properties"]
            .as_object()
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default();
        listed.sort();
        if documented != listed {
            problems.push(format!(
                "{definition}: the page lists {documented:?}, the schema {listed:?}"
            ));
        }
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for row in &rows {
            for name in &row.names {
                let Some(property) = schema["properties"].get(name) else {
                    continue;
                };
                let property = judge.underlying(property);
                let is_required = required.contains(&name.as_str());
                if is_required != (row.required == "yes") {
                    problems.push(format!(
                        "{definition}.{name}: the page says required {:?}, the schema {is_required}",
                        row.required
                    ));
                }
                let value = &row.value;
                if property["type"] == "array"
                    && judge.underlying(&property["items"])["type"] == "object"
                {
                    // A list of objects (cargo lines): its fields are documented in the row's text.
                } else if let Some((min, max)) = number_before(value, " characters") {
                    let bounded = if property["type"] == "object" {
                        &property["propertyNames"]
                    } else {
                        &property
                    };
                    let length = (bounded["minLength"].as_u64(), bounded["maxLength"].as_u64());
                    if length != (Some(min), Some(max)) {
                        problems.push(format!("{definition}.{name}: the page says {min}–{max} characters, the schema {length:?}"));
                    }
                    checked += 1;
                } else if let Some(rest) = value.split("up to ").nth(1)
                    && let Some(limit) = rest
                        .strip_suffix(" characters)")
                        .or_else(|| rest.strip_suffix(" characters"))
                    && let Ok(limit) = limit.replace(',', "").parse::<u64>()
                {
                    if property["maxLength"].as_u64() != Some(limit) {
                        problems.push(format!("{definition}.{name}: the page says up to {limit} characters, the schema {}", property["maxLength"]));
                    }
                    checked += 1;
                }
                if property["type"] == "integer" {
                    let range = value.split_whitespace().find_map(|word| {
                        let word = word.trim_end_matches(['.', ',', ';']);
                        number_before(&format!(" {word}!"), "!")
                    });
                    let schema_range = (property["minimum"].as_u64(), property["maximum"].as_u64());
                    match range {
                        Some((min, max)) if schema_range == (Some(min), Some(max)) => checked += 1,
                        other => problems.push(format!("{definition}.{name}: the page says {other:?}, the schema {schema_range:?}")),
                    }
                }
                let items = judge.underlying(&property["items"]);
                let enumeration = property["enum"]
                    .as_array()
                    .or_else(|| items["enum"].as_array())
                    .map(|tokens| {
                        tokens
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    });
                let Some(mut enumeration) = enumeration.filter(|tokens| tokens.len() < 100) else {
                    continue;
                };
                let mut tokens = backticked(value);
                if tokens.len() < 2 {
                    let named = vocabularies.iter().find(|(vocabulary, _)| {
                        // "operator category" also names "operator categories".
                        let stem = &vocabulary[..vocabulary.len() - 1];
                        value.to_lowercase().starts_with(stem)
                    });
                    match named {
                        Some((_, listed)) => tokens = listed.clone(),
                        None => {
                            problems.push(format!(
                                "{definition}.{name}: the page names no vocabulary in {value:?}"
                            ));
                            continue;
                        }
                    }
                }
                tokens.sort();
                enumeration.sort();
                if tokens != enumeration {
                    problems.push(format!(
                        "{definition}.{name}: the page lists {tokens:?}, the schema {enumeration:?}"
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked > 40,
        "only {checked} bounds and vocabularies compared"
    );
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(common.contains(&"recorded_by".to_string()));
}
