//! Validation of submitted records: every field rule of every record type, through `parse_submission`.
//!
//! Each case goes through one [`check`]: a submitted JSON text and either the
//! exact error (`field: reason`, as `FieldError` displays it) or the
//! normalized record it becomes (defaults explicit, times in the site's
//! offset), compared in RFC 8785 canonical form so that `100` and `100.0`
//! are the same number, as they are in a log leaf.

use corridor_model::canonical::to_canonical_vec;
use corridor_model::{
    FieldError, Location, RecordError, RecordType, Resolve, TimePrecision, parse_submission,
};
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------
// The store as the parser sees it.

/// A fixed store: three current sites in three time zones, a mission, a
/// passage, a retracted site and a correction.
struct FixedStore {
    precision: TimePrecision,
}

/// What the fixed store holds under an id: its type and whether it was retracted.
fn stored(id: &str) -> Option<(RecordType, bool)> {
    match id {
        "lachin" | "port" | "berlin" => Some((RecordType::Site, false)),
        "gone" => Some((RecordType::Site, true)),
        "m-1" => Some((RecordType::Mission, false)),
        "p-1" => Some((RecordType::Passage, false)),
        _ => None,
    }
}

impl Resolve for FixedStore {
    fn precision(&self) -> TimePrecision {
        self.precision
    }

    fn site_zone(&self, site_id: &str) -> Result<TimeZone, String> {
        self.check_reference(site_id, RecordType::Site)?;
        let zone_name = match site_id {
            "lachin" => "Asia/Baku",
            "port" => "Europe/Istanbul",
            _ => "Europe/Berlin",
        };
        TimeZone::get(zone_name).map_err(|error| error.to_string())
    }

    fn check_reference(&self, id: &str, expected: RecordType) -> Result<(), String> {
        match stored(id) {
            None => Err(format!("{expected} {id:?} does not exist")),
            Some((_, true)) => Err(format!("{expected} {id:?} was retracted")),
            Some((found, false)) if found == expected => Ok(()),
            Some((found, false)) => Err(format!("{id:?} is a {found}, not a {expected}")),
        }
    }

    fn correctable(&self, id: &str) -> Result<RecordType, String> {
        match (id, stored(id)) {
            ("c-0", _) => Err(format!(
                "{id:?} is itself a correction or retraction; name the record it changes"
            )),
            (_, None) => Err(format!("record {id:?} does not exist")),
            (_, Some((_, true))) => Err(format!("record {id:?} was already retracted")),
            (_, Some((found, false))) => Ok(found),
        }
    }
}

// ---------------------------------------------------------------------------
// The one check.

fn canonical(value: &Value) -> String {
    let bytes = to_canonical_vec(value).expect("test values have a canonical form");
    String::from_utf8(bytes).expect("canonical JSON is UTF-8")
}

/// What parsing `input` yields: the error as displayed, or the normalized
/// public record in canonical JSON, with the private part (when there is
/// one) under `"private"` where the submitter put it.
fn outcome(precision: TimePrecision, input: &str) -> String {
    let object: Map<String, Value> = serde_json::from_str(input)
        .unwrap_or_else(|error| panic!("bad test input {input}: {error}"));
    match parse_submission(&object, &FixedStore { precision }) {
        Err(error) => error.to_string(),
        Ok(submission) => {
            let mut public = submission.record.to_public_json();
            assert!(
                public.get("private").is_none(),
                "the public record carries no private part: {public}"
            );
            if let (Some(private), Value::Object(fields)) = (submission.private, &mut public) {
                fields.insert("private".into(), Value::Object(private));
            }
            canonical(&public)
        }
    }
}

/// Parses `input` at second precision and compares with `expected`: an error
/// (`field: reason`) or, when it starts with `{`, the normalized record.
#[track_caller]
fn check(input: &str, expected: &str) {
    check_at(TimePrecision::Second, input, expected);
}

/// [`check`] for a deployment that publishes times at `precision`.
#[track_caller]
fn check_at(precision: TimePrecision, input: &str, expected: &str) {
    let expected = if expected.starts_with('{') {
        let value: Value = serde_json::from_str(expected)
            .unwrap_or_else(|error| panic!("bad expected JSON {expected}: {error}"));
        canonical(&value)
    } else {
        expected.to_string()
    };
    assert_eq!(outcome(precision, input), expected, "input: {input}");
}

// ---------------------------------------------------------------------------
// Building inputs from a valid record of each type.

/// `base` with the fields of `patch` added or replaced.
fn with(base: &str, patch: &str) -> String {
    let mut object: Map<String, Value> = serde_json::from_str(base).expect("base is an object");
    let patch: Map<String, Value> = serde_json::from_str(patch).expect("patch is an object");
    object.extend(patch);
    Value::Object(object).to_string()
}

/// `base` without `field`.
fn without(base: &str, field: &str) -> String {
    let mut object: Map<String, Value> = serde_json::from_str(base).expect("base is an object");
    assert!(
        object.remove(field).is_some(),
        "{field} is in the base record"
    );
    Value::Object(object).to_string()
}

/// A JSON string of `length` copies of `letter`.
fn long(letter: char, length: usize) -> String {
    Value::from(letter.to_string().repeat(length)).to_string()
}

const SOURCE: &str = r#"{"kind": "direct_observation", "name": "Lachin road observers"}"#;

const PASSAGE: &str = r#"{
    "type": "passage", "id": "p-2",
    "source": {"kind": "direct_observation", "name": "Lachin road observers"},
    "recorded_by": "team-a",
    "site": "lachin", "observed_at": "2022-12-17T10:23:00+04:00", "category": "red_cross"
}"#;

/// The public form of [`PASSAGE`], every default explicit.
const PASSAGE_NORMALIZED: &str = r#"{
    "type": "passage", "id": "p-2",
    "source": {"kind": "direct_observation", "name": "Lachin road observers"},
    "recorded_by": "team-a",
    "site": "lachin", "observed_at": "2022-12-17T10:23:00+04:00", "category": "red_cross",
    "direction": "unknown", "vehicle_class": "unknown", "count": 1, "outcome": "passed"
}"#;

const SITE: &str = r#"{
    "type": "site", "id": "s-1",
    "source": {"kind": "direct_observation", "name": "Lachin road observers"},
    "recorded_by": "team-a",
    "name": "Lachin corridor checkpoint", "kind": "checkpoint", "timezone": "Asia/Baku"
}"#;

const MISSION: &str = r#"{
    "type": "mission", "id": "m-2",
    "source": {"kind": "official_statement", "name": "ICRC press office"},
    "recorded_by": "team-a",
    "kind": "convoy", "organisation": "ICRC", "category": "red_cross",
    "sites": ["lachin"], "planned_start": "2022-12-17T09:00", "outcome": "completed"
}"#;

const INCIDENT: &str = r#"{
    "type": "incident", "id": "i-1",
    "source": {"kind": "media_report", "name": "Regional news"},
    "recorded_by": "team-a",
    "kind": "road_obstruction", "site": "lachin", "started_at": "2022-12-12T10:30",
    "description": "Road blocked by a protest camp"
}"#;

const APPEAL: &str = r#"{
    "type": "appeal", "id": "a-1",
    "source": {"kind": "register", "name": "Hotline log"},
    "recorded_by": "desk-1",
    "channel": "protest camp hotline", "kind": "medical",
    "received_at": "2022-12-20T08:00:00+04:00", "status": "referred"
}"#;

const COVERAGE: &str = r#"{
    "type": "coverage", "id": "cov-1",
    "source": {"kind": "direct_observation", "name": "Lachin road observers"},
    "recorded_by": "team-a",
    "site": "lachin", "start": "2022-12-17", "end": "2022-12-17",
    "mode": "continuous_watch", "metrics": ["vehicles", "passages"]
}"#;

const BASELINE: &str = r#"{
    "type": "baseline", "id": "b-1",
    "source": {"kind": "document", "name": "Pre-blockade traffic study"},
    "recorded_by": "team-a",
    "site": "lachin", "metric": "vehicles", "direction": "both", "per_day": 400
}"#;

const CLAIM: &str = r#"{
    "type": "claim", "id": "cl-1",
    "source": {"kind": "official_statement", "name": "Ministry briefing"},
    "recorded_by": "team-a",
    "text": "Hundreds of vehicles pass every day", "speaker": "Ministry spokesperson",
    "said_on": "2022-12-20",
    "assertions": [{"metric": "vehicles", "op": "gte", "value": 100,
                    "from": "2022-12-01", "to": "2022-12-31"}]
}"#;

/// [`CLAIM`] with one assertion: the base assertion with `patch` applied.
fn claim_asserting(patch: &str) -> String {
    let assertion = with(
        r#"{"metric": "vehicles", "op": "gte", "value": 100, "from": "2022-12-01", "to": "2022-12-31"}"#,
        patch,
    );
    with(CLAIM, &format!(r#"{{"assertions": [{assertion}]}}"#))
}

const CORRECTION: &str = r#"{
    "type": "correction", "id": "c-1",
    "source": {"kind": "direct_observation", "name": "Second shift"},
    "recorded_by": "team-b",
    "corrects": "p-1", "reason": "the convoy had three trucks",
    "record": {"type": "passage", "site": "lachin", "observed_at": "2022-12-17T10:23",
               "category": "red_cross", "vehicle_class": "truck", "count": 3}
}"#;

/// [`CORRECTION`] with `record` as the replacement.
fn correction_with_record(record: &str) -> String {
    with(CORRECTION, &format!(r#"{{"record": {record}}}"#))
}

const RETRACTION: &str = r#"{
    "type": "retraction", "id": "r-1",
    "source": {"kind": "direct_observation", "name": "Lachin road observers"},
    "recorded_by": "team-a",
    "retracts": "p-1", "reason": "entered twice"
}"#;

const TIME_FORMS: &str =
    "(expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or an RFC 3339 time with offset)";

const CATEGORIES: &str =
    "peacekeeping, red_cross, un, ngo, civilian, commercial, government, military, media, other";

// ---------------------------------------------------------------------------
// Fields every record has.

#[test]
fn record_type_is_required_and_from_the_list() {
    check("{}", "type: missing");
    check(r#"{"type": 5}"#, "type: not a string: 5");
    check(
        r#"{"type": "lorry"}"#,
        "type: \"lorry\" is not a record type (site, passage, mission, incident, appeal, \
         coverage, baseline, claim, correction, retraction)",
    );
    check(
        &with(PASSAGE, r#"{"type": "Passage"}"#),
        &format!(
            "type: \"Passage\" is not a record type ({})",
            RecordType::expected()
        ),
    );
}

#[test]
fn ids_follow_the_id_rule() {
    let rule = "(1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit)";
    for (input, expected) in [
        (without(PASSAGE, "id"), "id: missing".to_string()),
        (with(PASSAGE, r#"{"id": null}"#), "id: missing".to_string()),
        (
            with(PASSAGE, r#"{"id": 42}"#),
            "id: not a string: 42".to_string(),
        ),
        (with(PASSAGE, r#"{"id": ""}"#), "id: empty".to_string()),
        (
            with(PASSAGE, &format!(r#"{{"id": {}}}"#, long('p', 129))),
            "id: must be 1 to 128 characters long, is 129".to_string(),
        ),
        (
            with(PASSAGE, r#"{"id": "-p"}"#),
            format!("id: \"-p\" is not a valid id {rule}"),
        ),
        (
            with(PASSAGE, r#"{"id": ".p"}"#),
            format!("id: \".p\" is not a valid id {rule}"),
        ),
        (
            with(PASSAGE, r#"{"id": "p 1"}"#),
            format!("id: \"p 1\" is not a valid id {rule}"),
        ),
        (
            with(PASSAGE, r#"{"id": "p/1"}"#),
            format!("id: \"p/1\" is not a valid id {rule}"),
        ),
        (
            with(PASSAGE, r#"{"id": "pé"}"#),
            format!("id: \"pé\" is not a valid id {rule}"),
        ),
    ] {
        check(&input, &expected);
    }
    let longest = "p".repeat(128);
    check(
        &with(PASSAGE, &format!(r#"{{"id": "{longest}"}}"#)),
        &with(PASSAGE_NORMALIZED, &format!(r#"{{"id": "{longest}"}}"#)),
    );
    check(
        &with(PASSAGE, r#"{"id": "9A.b_c:d-e"}"#),
        &with(PASSAGE_NORMALIZED, r#"{"id": "9A.b_c:d-e"}"#),
    );
}

#[test]
fn source_is_an_object_with_a_kind_and_a_name() {
    let source = |patch: &str| {
        with(
            PASSAGE,
            &format!(r#"{{"source": {}}}"#, with(SOURCE, patch)),
        )
    };
    for (input, expected) in [
        (without(PASSAGE, "source"), "source: missing"),
        (
            with(PASSAGE, r#"{"source": "observers"}"#),
            "source: not an object: \"observers\"",
        ),
        (
            source(r#"{"author": "x"}"#),
            "source.author: unknown field in source (kind, name, url, published_on)",
        ),
        (
            source(r#"{"kind": "rumour"}"#),
            "source.kind: \"rumour\" is not a source kind (direct_observation, \
             official_statement, media_report, document, register)",
        ),
        (
            with(PASSAGE, r#"{"source": {"name": "x"}}"#),
            "source.kind: missing",
        ),
        (
            with(PASSAGE, r#"{"source": {"kind": "document"}}"#),
            "source.name: missing",
        ),
        (source(r#"{"name": ""}"#), "source.name: empty"),
        (source(r#"{"name": "   "}"#), "source.name: is blank"),
        (
            source(&format!(r#"{{"name": {}}}"#, long('n', 301))),
            "source.name: must be 1 to 300 characters long, is 301",
        ),
        (
            source(r#"{"url": "ftp://example.org/report"}"#),
            "source.url: \"ftp://example.org/report\" is not an http(s) URL",
        ),
        (
            source(r#"{"url": "https://example.org/a report"}"#),
            "source.url: \"https://example.org/a report\" is not an http(s) URL",
        ),
        (
            source(r#"{"published_on": "2022-02-30"}"#),
            "source.published_on: \"2022-02-30\" is not a date (YYYY-MM-DD)",
        ),
        (
            source(r#"{"published_on": "2022-12-17T10:00"}"#),
            "source.published_on: must be 1 to 10 characters long, is 16",
        ),
    ] {
        check(&input, expected);
    }
    let full_source = r#"{"kind": "media_report", "name": "Regional news",
        "url": "https://example.org/report", "published_on": "2022-12-18"}"#;
    check(
        &with(PASSAGE, &format!(r#"{{"source": {full_source}}}"#)),
        &with(
            PASSAGE_NORMALIZED,
            &format!(r#"{{"source": {full_source}}}"#),
        ),
    );
}

#[test]
fn recorded_by_and_notes_are_bounded_text() {
    for (input, expected) in [
        (without(PASSAGE, "recorded_by"), "recorded_by: missing"),
        (
            with(PASSAGE, r#"{"recorded_by": ["team-a"]}"#),
            "recorded_by: not a string: [\"team-a\"]",
        ),
        (
            with(PASSAGE, r#"{"recorded_by": ""}"#),
            "recorded_by: empty",
        ),
        (
            with(PASSAGE, r#"{"recorded_by": " \t "}"#),
            "recorded_by: is blank",
        ),
        (
            with(
                PASSAGE,
                &format!(r#"{{"recorded_by": {}}}"#, long('r', 201)),
            ),
            "recorded_by: must be 1 to 200 characters long, is 201",
        ),
        (
            with(PASSAGE, r#"{"recorded_by": "team\u0007a"}"#),
            "recorded_by: contains control characters",
        ),
        (
            with(PASSAGE, r#"{"recorded_by": "team\ra"}"#),
            "recorded_by: contains control characters",
        ),
        (with(PASSAGE, r#"{"notes": ""}"#), "notes: empty"),
        (with(PASSAGE, r#"{"notes": 5}"#), "notes: not a string: 5"),
        (
            with(PASSAGE, &format!(r#"{{"notes": {}}}"#, long('n', 4_001))),
            "notes: must be 1 to 4000 characters long, is 4001",
        ),
        (
            with(PASSAGE, r#"{"notes": "line\u0000"}"#),
            "notes: contains control characters",
        ),
    ] {
        check(&input, expected);
    }
    // New lines and tabs are text, not control; length counts characters, not bytes.
    let notes = format!(
        r#"{{"notes": "two lines\nand\ta tab", "recorded_by": {}}}"#,
        long('é', 200)
    );
    check(&with(PASSAGE, &notes), &with(PASSAGE_NORMALIZED, &notes));
    // An explicit null is the same as leaving an optional field out.
    check(&with(PASSAGE, r#"{"notes": null}"#), PASSAGE_NORMALIZED);
}

#[test]
fn attributes_map_keys_to_strings() {
    for (input, expected) in [
        (
            with(PASSAGE, r#"{"attributes": ["flag"]}"#),
            "attributes: not an object: [\"flag\"]",
        ),
        (
            with(PASSAGE, r#"{"attributes": {"Flag": "AM"}}"#),
            "attributes.Flag: \"Flag\" is not a valid key (1-64 characters of a-z 0-9 _ . -)",
        ),
        (
            with(PASSAGE, r#"{"attributes": {"": "AM"}}"#),
            "attributes.: \"\" is not a valid key (1-64 characters of a-z 0-9 _ . -)",
        ),
        (
            with(PASSAGE, r#"{"attributes": {"flag": 3}}"#),
            "attributes.flag: not a string: 3",
        ),
        (
            with(
                PASSAGE,
                &format!(r#"{{"attributes": {{"flag": {}}}}}"#, long('a', 1_001)),
            ),
            "attributes.flag: must be 0 to 1000 characters long, is 1001",
        ),
    ] {
        check(&input, expected);
    }
    let key = "k".repeat(64);
    let attributes = format!(
        r#"{{"attributes": {{"destination.country": "AM", "{key}": "", "vessel-flag_2": "x"}}}}"#
    );
    check(
        &with(PASSAGE, &attributes),
        &with(PASSAGE_NORMALIZED, &attributes),
    );
}

#[test]
fn unknown_fields_are_refused_not_dropped() {
    for (input, expected) in [
        (
            with(PASSAGE, r#"{"observed": "2022-12-17"}"#),
            "observed: unknown field for a passage record",
        ),
        (
            with(PASSAGE, r#"{"timezone": "Asia/Baku"}"#),
            "timezone: unknown field for a passage record",
        ),
        (
            with(SITE, r#"{"site": "lachin"}"#),
            "site: unknown field for a site record",
        ),
        (
            with(RETRACTION, r#"{"record": {}}"#),
            "record: unknown field for a retraction record",
        ),
        (
            with(CLAIM, r#"{"assertion": []}"#),
            "assertion: unknown field for a claim record",
        ),
    ] {
        check(&input, expected);
    }
}

// ---------------------------------------------------------------------------
// Passage.

#[test]
fn passage_defaults_are_made_explicit() {
    check(PASSAGE, PASSAGE_NORMALIZED);
    let everything = r#"{
        "direction": "inbound", "operator": "ICRC", "vehicle_class": "truck", "count": 12,
        "cargo": [{"kind": "food", "tonnes": 20}, {"kind": "medicine", "tonnes": 1.5},
                  {"kind": "fuel"}],
        "passengers": 0, "medical_evacuees": 0, "outcome": "delayed", "wait_minutes": 95,
        "mission": "m-1"
    }"#;
    check(
        &with(PASSAGE, everything),
        &with(PASSAGE_NORMALIZED, everything),
    );
}

#[test]
fn passage_references_a_current_site_and_mission() {
    let rule = "(1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit)";
    for (input, expected) in [
        (without(PASSAGE, "site"), "site: missing".to_string()),
        (
            with(PASSAGE, r#"{"site": 7}"#),
            "site: not a string: 7".to_string(),
        ),
        (
            with(PASSAGE, r#"{"site": "nowhere"}"#),
            "site: site \"nowhere\" does not exist".to_string(),
        ),
        (
            with(PASSAGE, r#"{"site": "gone"}"#),
            "site: site \"gone\" was retracted".to_string(),
        ),
        (
            with(PASSAGE, r#"{"site": "m-1"}"#),
            "site: \"m-1\" is a mission, not a site".to_string(),
        ),
        (
            with(PASSAGE, r#"{"site": "Lachin road"}"#),
            format!("site: \"Lachin road\" is not a valid id {rule}"),
        ),
        (
            with(PASSAGE, r#"{"mission": "m-404"}"#),
            "mission: mission \"m-404\" does not exist".to_string(),
        ),
        (
            with(PASSAGE, r#"{"mission": "lachin"}"#),
            "mission: \"lachin\" is a site, not a mission".to_string(),
        ),
        (
            with(PASSAGE, r#"{"mission": ["m-1"]}"#),
            "mission: not a string: [\"m-1\"]".to_string(),
        ),
    ] {
        check(&input, &expected);
    }
}

#[test]
fn passage_vocabularies_list_what_they_accept() {
    for (input, expected) in [
        (
            without(PASSAGE, "category"),
            "category: missing".to_string(),
        ),
        (
            with(PASSAGE, r#"{"category": "icrc"}"#),
            format!("category: \"icrc\" is not an operator category ({CATEGORIES})"),
        ),
        (
            with(PASSAGE, r#"{"category": "Red_Cross"}"#),
            format!("category: \"Red_Cross\" is not an operator category ({CATEGORIES})"),
        ),
        (
            with(PASSAGE, r#"{"category": 1}"#),
            "category: not a string: 1".to_string(),
        ),
        (
            with(PASSAGE, r#"{"direction": "north"}"#),
            "direction: \"north\" is not a direction (inbound, outbound, unknown)".to_string(),
        ),
        (
            with(PASSAGE, r#"{"vehicle_class": "lorry"}"#),
            "vehicle_class: \"lorry\" is not a vehicle class (car, suv, van, bus, truck, tanker, \
             ambulance, armoured_vehicle, motorcycle, vessel, other, unknown)"
                .to_string(),
        ),
        (
            with(PASSAGE, r#"{"outcome": "stopped"}"#),
            "outcome: \"stopped\" is not a passage outcome (passed, turned_back, delayed, held)"
                .to_string(),
        ),
        (
            with(PASSAGE, r#"{"operator": ""}"#),
            "operator: empty".to_string(),
        ),
        (
            with(PASSAGE, &format!(r#"{{"operator": {}}}"#, long('o', 201))),
            "operator: must be 1 to 200 characters long, is 201".to_string(),
        ),
    ] {
        check(&input, &expected);
    }
}

#[test]
fn passage_counts_are_whole_numbers_in_range() {
    for (input, expected) in [
        (
            with(PASSAGE, r#"{"count": 0}"#),
            "count: 0 is out of range (1 to 10000)",
        ),
        (
            with(PASSAGE, r#"{"count": 10001}"#),
            "count: 10001 is out of range (1 to 10000)",
        ),
        (with(PASSAGE, r#"{"count": -1}"#), "count: -1 is negative"),
        (
            with(PASSAGE, r#"{"count": 1.5}"#),
            "count: 1.5 is not a whole number",
        ),
        (
            with(PASSAGE, r#"{"count": 2.0}"#),
            "count: 2.0 is not a whole number",
        ),
        (
            with(PASSAGE, r#"{"count": "3"}"#),
            "count: not a number: \"3\"",
        ),
        (
            with(PASSAGE, r#"{"passengers": -4}"#),
            "passengers: -4 is negative",
        ),
        (
            with(PASSAGE, r#"{"passengers": 100001}"#),
            "passengers: 100001 is out of range (0 to 100000)",
        ),
        (
            with(PASSAGE, r#"{"passengers": 2.5}"#),
            "passengers: 2.5 is not a whole number",
        ),
        (
            with(PASSAGE, r#"{"passengers": "many"}"#),
            "passengers: not a number: \"many\"",
        ),
        (
            with(PASSAGE, r#"{"medical_evacuees": -1}"#),
            "medical_evacuees: -1 is negative",
        ),
        (
            with(PASSAGE, r#"{"medical_evacuees": 100001}"#),
            "medical_evacuees: 100001 is out of range (0 to 100000)",
        ),
        (
            with(PASSAGE, r#"{"passengers": 3, "medical_evacuees": 5}"#),
            "medical_evacuees: 5 is more than passengers (3)",
        ),
        (
            with(PASSAGE, r#"{"passengers": 0, "medical_evacuees": 1}"#),
            "medical_evacuees: 1 is more than passengers (0)",
        ),
    ] {
        check(&input, expected);
    }
    for patch in [
        r#"{"count": 10000}"#,
        r#"{"passengers": 100000, "medical_evacuees": 100000}"#,
        r#"{"medical_evacuees": 4}"#,
    ] {
        check(&with(PASSAGE, patch), &with(PASSAGE_NORMALIZED, patch));
    }
}

#[test]
fn wait_minutes_only_with_delayed_or_held() {
    for (input, expected) in [
        (
            with(PASSAGE, r#"{"wait_minutes": 30}"#),
            "wait_minutes: only for outcome delayed or held, not passed",
        ),
        (
            with(PASSAGE, r#"{"outcome": "turned_back", "wait_minutes": 30}"#),
            "wait_minutes: only for outcome delayed or held, not turned_back",
        ),
        (
            with(PASSAGE, r#"{"outcome": "held", "wait_minutes": 100001}"#),
            "wait_minutes: 100001 is out of range (0 to 100000)",
        ),
        (
            with(PASSAGE, r#"{"outcome": "held", "wait_minutes": -5}"#),
            "wait_minutes: -5 is negative",
        ),
    ] {
        check(&input, expected);
    }
    for patch in [
        r#"{"outcome": "delayed", "wait_minutes": 0}"#,
        r#"{"outcome": "held", "wait_minutes": 100000}"#,
        r#"{"outcome": "held"}"#,
    ] {
        check(&with(PASSAGE, patch), &with(PASSAGE_NORMALIZED, patch));
    }
}

#[test]
fn cargo_lines_have_a_kind_and_kilogram_precise_tonnes() {
    let cargo = |lines: &str| with(PASSAGE, &format!(r#"{{"cargo": {lines}}}"#));
    for (input, expected) in [
        (
            cargo(r#"{"kind": "food"}"#),
            "cargo: not a list: {\"kind\":\"food\"}".to_string(),
        ),
        (
            cargo(r#"["food"]"#),
            "cargo[0]: not an object: \"food\"".to_string(),
        ),
        (
            cargo(r#"[{"kind": "food", "tonnes": 1}, {"kind": "fuel", "litres": 5}]"#),
            "cargo[1].litres: unknown field in a cargo line (kind, tonnes)".to_string(),
        ),
        (
            cargo(r#"[{"tonnes": 1}]"#),
            "cargo[0].kind: missing".to_string(),
        ),
        (
            cargo(r#"[{"kind": "Food"}]"#),
            "cargo[0].kind: \"Food\" is not a cargo kind (a-z 0-9 _ -, e.g. food, fuel)"
                .to_string(),
        ),
        (
            cargo(r#"[{"kind": "baby food"}]"#),
            "cargo[0].kind: \"baby food\" is not a cargo kind (a-z 0-9 _ -, e.g. food, fuel)"
                .to_string(),
        ),
        (
            cargo(&format!(r#"[{{"kind": {}}}]"#, long('k', 65))),
            "cargo[0].kind: must be 1 to 64 characters long, is 65".to_string(),
        ),
        (
            cargo(r#"[{"kind": "food", "tonnes": 1}, {"kind": "fuel", "tonnes": -3}]"#),
            "cargo[1].tonnes: -3 is negative".to_string(),
        ),
        (
            cargo(r#"[{"kind": "food", "tonnes": "20"}]"#),
            "cargo[0].tonnes: not a number: \"20\"".to_string(),
        ),
        (
            cargo(r#"[{"kind": "food", "tonnes": 1.2345}]"#),
            "cargo[0].tonnes: 1.2345 has more than 3 decimals (kilogram precision)".to_string(),
        ),
        (
            cargo(r#"[{"kind": "food", "tonnes": 0.0005}]"#),
            "cargo[0].tonnes: 0.0005 has more than 3 decimals (kilogram precision)".to_string(),
        ),
        // Large loads keep kilogram precision too: the fourth decimal is not rounded away.
        (
            cargo(r#"[{"kind": "grain", "tonnes": 123456.7891}]"#),
            "cargo[0].tonnes: 123456.7891 has more than 3 decimals (kilogram precision)"
                .to_string(),
        ),
        (
            cargo(r#"[{"kind": "grain", "tonnes": 999999.9999}]"#),
            "cargo[0].tonnes: 999999.9999 has more than 3 decimals (kilogram precision)"
                .to_string(),
        ),
        (
            cargo(r#"[{"kind": "food", "tonnes": 1000000.001}]"#),
            "cargo[0].tonnes: 1000000.001 is more than 1000000".to_string(),
        ),
        (
            cargo(&format!("[{}]", vec![r#"{"kind": "food"}"#; 101].join(","))),
            "cargo: 101 lines; at most 100".to_string(),
        ),
    ] {
        check(&input, &expected);
    }
    let lines = r#"[{"kind": "food", "tonnes": 0}, {"kind": "fuel", "tonnes": 0.001},
                    {"kind": "grain", "tonnes": 999999.999}, {"kind": "medicine-2_b", "tonnes": 1000000},
                    {"kind": "food"}]"#;
    check(
        &cargo(lines),
        &with(PASSAGE_NORMALIZED, &format!(r#"{{"cargo": {lines}}}"#)),
    );
    // A whole number of tonnes written with decimals is published as an integer.
    check(
        &cargo(r#"[{"kind": "food", "tonnes": 2.000}]"#),
        &with(
            PASSAGE_NORMALIZED,
            r#"{"cargo": [{"kind": "food", "tonnes": 2}]}"#,
        ),
    );
    check(&cargo("[]"), PASSAGE_NORMALIZED);
}

// ---------------------------------------------------------------------------
// Times.

/// [`PASSAGE`] observed at `time` at `site`.
fn observed(site: &str, time: &str) -> String {
    with(
        PASSAGE,
        &format!(r#"{{"site": "{site}", "observed_at": "{time}"}}"#),
    )
}

/// [`PASSAGE_NORMALIZED`] observed at `time` at `site`.
fn observed_normalized(site: &str, time: &str) -> String {
    with(
        PASSAGE_NORMALIZED,
        &format!(r#"{{"site": "{site}", "observed_at": "{time}"}}"#),
    )
}

#[test]
fn times_in_all_three_forms_land_in_the_site_offset() {
    for (site, submitted, stored) in [
        (
            "lachin",
            "2022-12-17T10:23:00+04:00",
            "2022-12-17T10:23:00+04:00",
        ),
        (
            "lachin",
            "2022-12-17T10:23+04:00",
            "2022-12-17T10:23:00+04:00",
        ),
        (
            "lachin",
            "2022-12-17T06:23:00Z",
            "2022-12-17T10:23:00+04:00",
        ),
        (
            "lachin",
            "2022-12-17t06:23:00z",
            "2022-12-17T10:23:00+04:00",
        ),
        (
            "lachin",
            "2022-12-17T08:23:00+02:00",
            "2022-12-17T10:23:00+04:00",
        ),
        (
            "lachin",
            "2022-12-17T01:53:00-04:30",
            "2022-12-17T10:23:00+04:00",
        ),
        (
            "lachin",
            "2022-12-17T10:23:45.250+04:00",
            "2022-12-17T10:23:45.25+04:00",
        ),
        // Local wall-clock times, with T or a space, seconds optional.
        ("lachin", "2022-12-17T10:23", "2022-12-17T10:23:00+04:00"),
        ("lachin", "2022-12-17 10:23", "2022-12-17T10:23:00+04:00"),
        ("lachin", "2022-12-17 10:23:15", "2022-12-17T10:23:15+04:00"),
        // A day stays a day.
        ("lachin", "2022-12-17", "2022-12-17"),
        ("lachin", "2024-02-29", "2024-02-29"),
        // The calendar day is the site's: 23:30 UTC is already tomorrow in Baku.
        (
            "lachin",
            "2022-12-12T23:30:00Z",
            "2022-12-13T03:30:00+04:00",
        ),
        (
            "lachin",
            "2022-12-31T21:00:00+00:00",
            "2023-01-01T01:00:00+04:00",
        ),
        // And a morning in Baku can be yesterday evening where it was submitted.
        (
            "lachin",
            "2022-12-13T02:00:00+04:00",
            "2022-12-13T02:00:00+04:00",
        ),
        (
            "port",
            "2022-12-13T01:00:00+04:00",
            "2022-12-13T00:00:00+03:00",
        ),
        // Istanbul has kept +03:00 all year since 2016: no summer shift.
        ("port", "2022-01-15T12:00:00Z", "2022-01-15T15:00:00+03:00"),
        ("port", "2022-07-15T12:00:00Z", "2022-07-15T15:00:00+03:00"),
        ("port", "2022-07-15T12:00", "2022-07-15T12:00:00+03:00"),
        // Berlin shifts: the offset is the one in force at that moment.
        ("berlin", "2023-01-15T12:00", "2023-01-15T12:00:00+01:00"),
        ("berlin", "2023-07-15T12:00", "2023-07-15T12:00:00+02:00"),
        (
            "berlin",
            "2023-07-15T12:00:00Z",
            "2023-07-15T14:00:00+02:00",
        ),
        // A wall-clock time in a clock change is refused (see
        // `a_local_time_in_a_clock_change_is_refused`); with its offset it
        // names one side of the autumn fold...
        (
            "berlin",
            "2023-10-29T02:30+02:00",
            "2023-10-29T02:30:00+02:00",
        ),
        (
            "berlin",
            "2023-10-29T02:30+01:00",
            "2023-10-29T02:30:00+01:00",
        ),
        // ...and so does an instant.
        (
            "berlin",
            "2023-10-29T00:30:00Z",
            "2023-10-29T02:30:00+02:00",
        ),
        (
            "berlin",
            "2023-10-29T01:30:00Z",
            "2023-10-29T02:30:00+01:00",
        ),
    ] {
        check(
            &observed(site, submitted),
            &observed_normalized(site, stored),
        );
    }
}

#[test]
fn a_local_time_in_a_clock_change_is_refused() {
    check(
        &observed("berlin", "2023-03-26T02:30"),
        "observed_at: 2023-03-26T02:30:00 does not name a single moment in Europe/Berlin: \
         the clocks skipped it (from +01:00 to +02:00); give the time with an offset",
    );
    check(
        &observed("berlin", "2023-10-29T02:30"),
        "observed_at: 2023-10-29T02:30:00 does not name a single moment in Europe/Berlin: \
         the clocks showed it twice (at +02:00, then at +01:00); give the time with an offset",
    );
    // Every time field follows the rule, a correction's nested record too.
    check(
        &correction_with_record(
            r#"{"type": "passage", "site": "berlin", "observed_at": "2023-10-29T02:15:30",
                "category": "red_cross"}"#,
        ),
        "record.observed_at: 2023-10-29T02:15:30 does not name a single moment in Europe/Berlin: \
         the clocks showed it twice (at +02:00, then at +01:00); give the time with an offset",
    );
}

#[test]
fn a_time_past_the_last_moment_is_refused_with_a_clear_message() {
    check(
        &observed("lachin", "9999-12-31T10:00"),
        "observed_at: 9999-12-31T10:00:00 is later than the last moment a record's time can \
         name (9999-12-30T22:00:00Z)",
    );
    check(
        &observed("lachin", "9999-12-31T23:59:59Z"),
        "observed_at: \"9999-12-31T23:59:59Z\" is later than the last moment a record's time \
         can name (9999-12-30T22:00:00Z)",
    );
    check(
        &observed("lachin", "9999-12-31"),
        &observed_normalized("lachin", "9999-12-31"),
    );
}

#[test]
fn integers_beyond_any_range_are_out_of_range_not_fractions() {
    for (patch, expected) in [
        (
            r#"{"count": 18446744073709551617}"#,
            "count: 1.8446744073709552e+19 is out of range (1 to 10000)",
        ),
        (
            r#"{"count": 1000000000000000000000000000000}"#,
            "count: 1e+30 is out of range (1 to 10000)",
        ),
        (
            r#"{"passengers": 1e6}"#,
            "passengers: 1000000.0 is out of range (0 to 100000)",
        ),
        (
            r#"{"passengers": -18446744073709551617}"#,
            "passengers: -1.8446744073709552e+19 is negative",
        ),
        (
            r#"{"count": 18446744073709551615}"#,
            "count: 18446744073709551615 is out of range (1 to 10000)",
        ),
    ] {
        check(&with(PASSAGE, patch), expected);
    }
}

#[test]
fn impossible_or_malformed_times_are_refused() {
    for text in [
        "2022-13-01",
        "2022-02-30",
        "2022-02-29",
        "2022-00-10",
        "2022-12-32",
        "2022-12-17T24:00",
        "2022-12-17T10:60",
        "2022-12-17T10:23:61",
        "2022-12-17T10",
        "2022-12-17T10:23+4:00",
        "2022-12-17T10:23+24:00",
        "2022-12-17X10:23",
        "2022-12-1",
        "17/12/2022",
        "yesterday",
        "2022-12-17T10:23:00.",
    ] {
        check(
            &observed("lachin", text),
            &format!("observed_at: {text:?} is not a date or time {TIME_FORMS}"),
        );
    }
    check(&without(PASSAGE, "observed_at"), "observed_at: missing");
    check(&observed("lachin", ""), "observed_at: empty");
    check(
        &with(PASSAGE, r#"{"observed_at": 1671272580}"#),
        "observed_at: not a string: 1671272580",
    );
    check(
        &observed("lachin", "2022-12-17T10:23:00.000000000000000+04:00"),
        "observed_at: must be 1 to 40 characters long, is 41",
    );
}

#[test]
fn non_ascii_time_text_is_an_error_not_a_panic() {
    // Byte 10 falls inside a two-byte character: slicing there must not panic.
    for text in [
        "2022-12-1é",
        "2022-12-17T10:2é",
        "２０２２-12-17",
        "2022-12-17T10:23+04:0é",
    ] {
        check(
            &observed("lachin", text),
            &format!("observed_at: {text:?} is not a date or time {TIME_FORMS}"),
        );
    }
}

#[test]
fn later_times_are_not_before_earlier_ones() {
    for (input, expected) in [
        (
            with(MISSION, r#"{"planned_end": "2022-12-17T08:59"}"#),
            "planned_end: 2022-12-17T08:59:00+04:00 is before planned_start 2022-12-17T09:00:00+04:00",
        ),
        (
            with(INCIDENT, r#"{"ended_at": "2022-12-12T06:29:00Z"}"#),
            "ended_at: 2022-12-12T10:29:00+04:00 is before started_at 2022-12-12T10:30:00+04:00",
        ),
        (
            with(INCIDENT, r#"{"ended_at": "2022-12-11"}"#),
            "ended_at: 2022-12-11 is before started_at 2022-12-12T10:30:00+04:00",
        ),
        (
            with(APPEAL, r#"{"handled_at": "2022-12-20T07:59:59+04:00"}"#),
            "handled_at: 2022-12-20T07:59:59+04:00 is before received_at 2022-12-20T08:00:00+04:00",
        ),
    ] {
        check(&input, expected);
    }
    // Equal is not before; an instant given in another offset compares as the same instant.
    check(
        &with(INCIDENT, r#"{"ended_at": "2022-12-12T06:30:00Z"}"#),
        &with(
            INCIDENT,
            r#"{"started_at": "2022-12-12T10:30:00+04:00", "ended_at": "2022-12-12T10:30:00+04:00"}"#,
        ),
    );
    // A day-only end says "some time that day": the day the incident started is not before it.
    check(
        &with(INCIDENT, r#"{"ended_at": "2022-12-12"}"#),
        &with(
            INCIDENT,
            r#"{"started_at": "2022-12-12T10:30:00+04:00", "ended_at": "2022-12-12"}"#,
        ),
    );
}

// ---------------------------------------------------------------------------
// Published precision and the private part.

#[test]
fn coarse_precision_moves_the_exact_time_into_the_private_part() {
    let exact = "2022-12-17T10:23:45+04:00";
    for (precision, public, private) in [
        (TimePrecision::Second, exact, None),
        (
            TimePrecision::Minute,
            "2022-12-17T10:23:00+04:00",
            Some(exact),
        ),
        (
            TimePrecision::Hour,
            "2022-12-17T10:00:00+04:00",
            Some(exact),
        ),
        (TimePrecision::Day, "2022-12-17", Some(exact)),
    ] {
        let mut expected = observed_normalized("lachin", public);
        if let Some(private) = private {
            expected = with(
                &expected,
                &format!(r#"{{"private": {{"exact_times": {{"observed_at": "{private}"}}}}}}"#),
            );
        }
        check_at(
            precision,
            &observed("lachin", "2022-12-17T06:23:45Z"),
            &expected,
        );
    }
    // Nothing is cut from a time already as coarse as the deployment publishes.
    check_at(
        TimePrecision::Hour,
        &observed("lachin", "2022-12-17T10:00"),
        &observed_normalized("lachin", "2022-12-17T10:00:00+04:00"),
    );
    check_at(
        TimePrecision::Hour,
        &observed("lachin", "2022-12-17"),
        &observed_normalized("lachin", "2022-12-17"),
    );
    // The exact times join the submitter's own private fields.
    check_at(
        TimePrecision::Hour,
        &with(
            &observed("lachin", "2022-12-17T10:23"),
            r#"{"private": {"plate": "AB 123"}}"#,
        ),
        &with(
            &observed_normalized("lachin", "2022-12-17T10:00:00+04:00"),
            r#"{"private": {"plate": "AB 123", "exact_times": {"observed_at": "2022-12-17T10:23:00+04:00"}}}"#,
        ),
    );
    // Inside a correction the path names the replacement's field.
    check_at(
        TimePrecision::Day,
        CORRECTION,
        r#"{"type": "correction", "id": "c-1",
            "source": {"kind": "direct_observation", "name": "Second shift"}, "recorded_by": "team-b",
            "corrects": "p-1", "reason": "the convoy had three trucks",
            "record": {"type": "passage", "site": "lachin", "observed_at": "2022-12-17",
                       "direction": "unknown", "category": "red_cross", "vehicle_class": "truck",
                       "count": 3, "outcome": "passed",
                       "source": {"kind": "direct_observation", "name": "Second shift"},
                       "recorded_by": "team-b"},
            "private": {"exact_times": {"record.observed_at": "2022-12-17T10:23:00+04:00"}}}"#,
    );
    // Every time of a record is cut, each under its own field.
    check_at(
        TimePrecision::Hour,
        &with(INCIDENT, r#"{"ended_at": "2022-12-12T11:15"}"#),
        &with(
            INCIDENT,
            r#"{"started_at": "2022-12-12T10:00:00+04:00", "ended_at": "2022-12-12T11:00:00+04:00",
                "private": {"exact_times": {"started_at": "2022-12-12T10:30:00+04:00",
                                            "ended_at": "2022-12-12T11:15:00+04:00"}}}"#,
        ),
    );
}

#[test]
fn private_values_are_never_echoed_in_errors() {
    for (input, expected) in [
        (with(PASSAGE, r#"{"private": "AB 123"}"#), "private: not an object (the value is not shown)".to_string()),
        (with(PASSAGE, r#"{"private": ["AB 123"]}"#), "private: not an object (the value is not shown)".to_string()),
        (
            with(PASSAGE, r#"{"private": {"plate": {"number": "AB 123"}}}"#),
            "private.plate: not a string, number or boolean (the value is not shown)".to_string(),
        ),
        (
            with(PASSAGE, r#"{"private": {"plate": ["AB 123"]}}"#),
            "private.plate: not a string, number or boolean (the value is not shown)".to_string(),
        ),
        (
            with(PASSAGE, r#"{"private": {"plate": null}}"#),
            "private.plate: not a string, number or boolean (the value is not shown)".to_string(),
        ),
        (
            with(PASSAGE, &format!(r#"{{"private": {{"driver": {}}}}}"#, long('x', 1_001))),
            "private.driver: longer than 1000 characters (the value is not shown)".to_string(),
        ),
        (
            with(PASSAGE, r#"{"private": {"Driver Name": "A. Petrosyan"}}"#),
            "private.Driver Name: \"Driver Name\" is not a valid key (1-64 characters of a-z 0-9 _ . -)"
                .to_string(),
        ),
        (
            with(PASSAGE, r#"{"private": {"exact_times": {"observed_at": "2022-12-17T10:23:00+04:00"}}}"#),
            "private.exact_times: is reserved for times the deployment publishes less precisely"
                .to_string(),
        ),
    ] {
        assert!(!expected.contains("AB 123") && !expected.contains("xxxx"), "{expected}");
        check(&input, &expected);
    }
    let private = r#"{"private": {"plate": "AB 123", "driver": "A. Petrosyan", "phone.verified": true, "seats": 4}}"#;
    check(&with(PASSAGE, private), &with(PASSAGE_NORMALIZED, private));
    check(&with(PASSAGE, r#"{"private": null}"#), PASSAGE_NORMALIZED);
}

// ---------------------------------------------------------------------------
// Site.

#[test]
fn site_fields() {
    check(SITE, SITE);
    let everything = r#"{"latitude": 39.6, "longitude": 46.54, "parent": "lachin",
        "direction_labels": {"inbound": "towards Stepanakert", "outbound": "towards Goris"}}"#;
    check(&with(SITE, everything), &with(SITE, everything));
    for patch in [
        r#"{"latitude": -90, "longitude": 180}"#,
        r#"{"latitude": 90, "longitude": -180}"#,
        r#"{"direction_labels": {"outbound": "towards Goris"}}"#,
        r#"{"kind": "port", "timezone": "Europe/Istanbul"}"#,
    ] {
        check(&with(SITE, patch), &with(SITE, patch));
    }
    for (input, expected) in [
        (without(SITE, "name"), "name: missing"),
        (without(SITE, "kind"), "kind: missing"),
        (without(SITE, "timezone"), "timezone: missing"),
        (with(SITE, r#"{"name": ""}"#), "name: empty"),
        (
            with(SITE, &format!(r#"{{"name": {}}}"#, long('s', 201))),
            "name: must be 1 to 200 characters long, is 201",
        ),
        (
            with(SITE, r#"{"kind": "bridge"}"#),
            "kind: \"bridge\" is not a site kind (checkpoint, crossing, road_segment, port, mine, \
             settlement, other)",
        ),
        (
            with(SITE, r#"{"timezone": "Asia/Stepanakert"}"#),
            "timezone: \"Asia/Stepanakert\" is not an IANA time zone name (e.g. Asia/Baku)",
        ),
        (
            with(SITE, r#"{"timezone": "+04:00"}"#),
            "timezone: \"+04:00\" is not an IANA time zone name (e.g. Asia/Baku)",
        ),
        (
            with(SITE, r#"{"timezone": 4}"#),
            "timezone: not a string: 4",
        ),
        (
            with(SITE, r#"{"timezone": "asia/baku"}"#),
            "timezone: \"asia/baku\" is not an IANA time zone name as written; did you mean \"Asia/Baku\"?",
        ),
        (
            with(SITE, r#"{"timezone": "EUROPE/BERLIN"}"#),
            "timezone: \"EUROPE/BERLIN\" is not an IANA time zone name as written; did you mean \"Europe/Berlin\"?",
        ),
        (
            with(SITE, r#"{"timezone": "Factory"}"#),
            "timezone: \"Factory\" is not an IANA time zone name (e.g. Asia/Baku)",
        ),
        (
            with(SITE, r#"{"timezone": "posixrules"}"#),
            "timezone: \"posixrules\" is not an IANA time zone name (e.g. Asia/Baku)",
        ),
        (
            with(SITE, r#"{"latitude": 39.6}"#),
            "longitude: missing (latitude and longitude go together)",
        ),
        (
            with(SITE, r#"{"longitude": 46.54}"#),
            "latitude: missing (latitude and longitude go together)",
        ),
        (
            with(SITE, r#"{"latitude": 90.5, "longitude": 46.54}"#),
            "latitude: 90.5 is outside -90 to 90 degrees",
        ),
        (
            with(SITE, r#"{"latitude": 39.6, "longitude": -181}"#),
            "longitude: -181 is outside -180 to 180 degrees",
        ),
        (
            with(SITE, r#"{"latitude": "39.6", "longitude": 46.54}"#),
            "latitude: not a number: \"39.6\"",
        ),
        (
            with(SITE, r#"{"direction_labels": {"north": "towards Goris"}}"#),
            "direction_labels.north: unknown direction (inbound, outbound)",
        ),
        (
            with(SITE, r#"{"direction_labels": "towards Goris"}"#),
            "direction_labels: not an object: \"towards Goris\"",
        ),
        (
            with(SITE, r#"{"direction_labels": {"inbound": 1}}"#),
            "direction_labels.inbound: not a string: 1",
        ),
        (
            with(SITE, r#"{"parent": "m-1"}"#),
            "parent: \"m-1\" is a mission, not a site",
        ),
        (
            with(SITE, r#"{"parent": "gone"}"#),
            "parent: site \"gone\" was retracted",
        ),
        (
            with(SITE, r#"{"parent": "s-404"}"#),
            "parent: site \"s-404\" does not exist",
        ),
    ] {
        check(&input, expected);
    }
}

/// The fixed store replaying leaves from a log, as `report verify` does.
struct Replaying(FixedStore);

impl Resolve for Replaying {
    fn precision(&self) -> TimePrecision {
        self.0.precision()
    }

    fn site_zone(&self, site_id: &str) -> Result<TimeZone, String> {
        self.0.site_zone(site_id)
    }

    fn check_reference(&self, id: &str, expected: RecordType) -> Result<(), String> {
        self.0.check_reference(id, expected)
    }

    fn correctable(&self, id: &str) -> Result<RecordType, String> {
        self.0.correctable(id)
    }

    fn replaying_leaves(&self) -> bool {
        true
    }
}

#[test]
fn a_replayed_leaf_keeps_the_zone_name_it_was_logged_with() {
    let replay = |input: &str| {
        let object: Map<String, Value> = serde_json::from_str(input).expect("input is JSON");
        parse_submission(
            &object,
            &Replaying(FixedStore {
                precision: TimePrecision::Second,
            }),
        )
        .map(|submission| canonical(&submission.record.to_public_json()))
        .map_err(|error| error.to_string())
    };
    let logged = with(SITE, r#"{"timezone": "asia/baku"}"#);
    assert_eq!(
        replay(&logged),
        Ok(canonical(&serde_json::from_str(&logged).expect("JSON")))
    );
    // A name no zone database knows was never accepted, and still is not.
    assert_eq!(
        replay(&with(SITE, r#"{"timezone": "Asia/Stepanakert"}"#)),
        Err("timezone: \"Asia/Stepanakert\" is not an IANA time zone name (e.g. Asia/Baku)".into())
    );
}

// ---------------------------------------------------------------------------
// Mission.

#[test]
fn mission_fields() {
    let normalized = with(MISSION, r#"{"planned_start": "2022-12-17T09:00:00+04:00"}"#);
    check(MISSION, &normalized);
    let everything = r#"{"sites": ["lachin", "port"], "planned_end": "2022-12-18",
        "plan": "Deliver medicine to Stepanakert", "outcome": "denied",
        "outcome_reason": "Refused at the checkpoint", "kind": "medical_evacuation"}"#;
    check(&with(MISSION, everything), &with(&normalized, everything));
    // A mission's local times are read in the zone of its first site.
    check(
        &with(MISSION, r#"{"sites": ["port", "lachin"]}"#),
        &with(
            MISSION,
            r#"{"sites": ["port", "lachin"], "planned_start": "2022-12-17T09:00:00+03:00"}"#,
        ),
    );
    // Ending exactly when it starts is allowed.
    check(
        &with(MISSION, r#"{"planned_end": "2022-12-17T05:00:00Z"}"#),
        &with(
            &normalized,
            r#"{"planned_end": "2022-12-17T09:00:00+04:00"}"#,
        ),
    );
    for outcome in ["denied", "obstructed", "cancelled"] {
        check(
            &with(MISSION, &format!(r#"{{"outcome": "{outcome}"}}"#)),
            &format!("outcome_reason: missing (required when the outcome is {outcome})"),
        );
        check(
            &with(
                MISSION,
                &format!(r#"{{"outcome": "{outcome}", "outcome_reason": ""}}"#),
            ),
            "outcome_reason: empty",
        );
    }
    for outcome in ["planned", "completed", "partly_completed", "delayed"] {
        let patch = format!(r#"{{"outcome": "{outcome}"}}"#);
        check(&with(MISSION, &patch), &with(&normalized, &patch));
    }
    for (input, expected) in [
        (without(MISSION, "kind"), "kind: missing".to_string()),
        (
            with(MISSION, r#"{"kind": "airlift"}"#),
            "kind: \"airlift\" is not a mission kind (convoy, medical_evacuation, monitoring_visit, \
             inspection_visit, delivery, other)"
                .to_string(),
        ),
        (without(MISSION, "organisation"), "organisation: missing".to_string()),
        (
            with(MISSION, &format!(r#"{{"organisation": {}}}"#, long('o', 201))),
            "organisation: must be 1 to 200 characters long, is 201".to_string(),
        ),
        (
            with(MISSION, r#"{"category": "icrc"}"#),
            format!("category: \"icrc\" is not an operator category ({CATEGORIES})"),
        ),
        (without(MISSION, "sites"), "sites: missing".to_string()),
        (with(MISSION, r#"{"sites": []}"#), "sites: empty".to_string()),
        (with(MISSION, r#"{"sites": "lachin"}"#), "sites: not a list: \"lachin\"".to_string()),
        (with(MISSION, r#"{"sites": [5]}"#), "sites[0]: not a string: 5".to_string()),
        (
            with(MISSION, r#"{"sites": ["lachin", "gone"]}"#),
            "sites[1]: site \"gone\" was retracted".to_string(),
        ),
        (
            with(MISSION, r#"{"sites": ["m-1"]}"#),
            "sites[0]: \"m-1\" is a mission, not a site".to_string(),
        ),
        (without(MISSION, "planned_start"), "planned_start: missing".to_string()),
        (
            with(MISSION, r#"{"planned_start": "2022-02-30"}"#),
            format!("planned_start: \"2022-02-30\" is not a date or time {TIME_FORMS}"),
        ),
        (without(MISSION, "outcome"), "outcome: missing".to_string()),
        (
            with(MISSION, r#"{"outcome": "failed"}"#),
            "outcome: \"failed\" is not a mission outcome (planned, completed, partly_completed, \
             delayed, denied, obstructed, cancelled)"
                .to_string(),
        ),
        (
            with(MISSION, &format!(r#"{{"plan": {}}}"#, long('p', 4_001))),
            "plan: must be 1 to 4000 characters long, is 4001".to_string(),
        ),
        (
            with(MISSION, &format!(r#"{{"outcome": "denied", "outcome_reason": {}}}"#, long('r', 4_001))),
            "outcome_reason: must be 1 to 4000 characters long, is 4001".to_string(),
        ),
    ] {
        check(&input, &expected);
    }
}

// ---------------------------------------------------------------------------
// Incident.

#[test]
fn incident_fields() {
    let normalized = with(INCIDENT, r#"{"started_at": "2022-12-12T10:30:00+04:00"}"#);
    check(INCIDENT, &normalized);
    let patch = r#"{"kind": "denial_of_movement", "mission": "m-1", "ended_at": "2022-12-13T10:30:00+04:00"}"#;
    check(&with(INCIDENT, patch), &with(&normalized, patch));
    for (input, expected) in [
        (without(INCIDENT, "kind"), "kind: missing"),
        (
            with(INCIDENT, r#"{"kind": "blockade"}"#),
            "kind: \"blockade\" is not an incident kind (road_obstruction, protest, \
             denial_of_movement, restriction_of_movement, interference, violence, closure, other)",
        ),
        (without(INCIDENT, "site"), "site: missing"),
        (
            with(INCIDENT, r#"{"site": "gone"}"#),
            "site: site \"gone\" was retracted",
        ),
        (without(INCIDENT, "started_at"), "started_at: missing"),
        (without(INCIDENT, "description"), "description: missing"),
        (
            with(INCIDENT, r#"{"description": ""}"#),
            "description: empty",
        ),
        (
            with(
                INCIDENT,
                &format!(r#"{{"description": {}}}"#, long('d', 4_001)),
            ),
            "description: must be 1 to 4000 characters long, is 4001",
        ),
        (
            with(INCIDENT, r#"{"mission": "p-1"}"#),
            "mission: \"p-1\" is a passage, not a mission",
        ),
    ] {
        check(&input, expected);
    }
}

// ---------------------------------------------------------------------------
// Appeal.

#[test]
fn appeal_fields() {
    check(APPEAL, APPEAL);
    // Without a site an instant keeps the offset it was given in.
    check(
        &with(APPEAL, r#"{"received_at": "2022-12-20T04:00:00Z"}"#),
        &with(APPEAL, r#"{"received_at": "2022-12-20T04:00:00+00:00"}"#),
    );
    check(
        &with(APPEAL, r#"{"received_at": "2022-12-20"}"#),
        &with(APPEAL, r#"{"received_at": "2022-12-20"}"#),
    );
    // With a site a local time is read in its zone, and instants move into it.
    check(
        &with(
            APPEAL,
            r#"{"site": "port", "received_at": "2022-12-20T08:00", "handled_at": "2022-12-20T06:00:00Z"}"#,
        ),
        &with(
            APPEAL,
            r#"{"site": "port", "received_at": "2022-12-20T08:00:00+03:00", "handled_at": "2022-12-20T09:00:00+03:00"}"#,
        ),
    );
    let patch =
        r#"{"kind": "family", "status": "resolved", "outcome": "Reunited at the checkpoint"}"#;
    check(&with(APPEAL, patch), &with(APPEAL, patch));
    for (input, expected) in [
        (without(APPEAL, "channel"), "channel: missing"),
        (
            with(APPEAL, &format!(r#"{{"channel": {}}}"#, long('c', 201))),
            "channel: must be 1 to 200 characters long, is 201",
        ),
        (
            with(APPEAL, r#"{"kind": "food"}"#),
            "kind: \"food\" is not an appeal kind (medical, family, supplies, passage, other)",
        ),
        (
            with(APPEAL, r#"{"status": "closed"}"#),
            "status: \"closed\" is not an appeal status (received, referred, resolved, refused, unresolved)",
        ),
        (without(APPEAL, "status"), "status: missing"),
        (without(APPEAL, "received_at"), "received_at: missing"),
        (
            with(APPEAL, r#"{"received_at": "2022-12-20T08:00"}"#),
            "received_at: 2022-12-20T08:00:00 has no offset and the record names no site whose \
             time zone could place it",
        ),
        (
            with(APPEAL, r#"{"site": "m-1"}"#),
            "site: \"m-1\" is a mission, not a site",
        ),
        (
            with(APPEAL, &format!(r#"{{"outcome": {}}}"#, long('o', 4_001))),
            "outcome: must be 1 to 4000 characters long, is 4001",
        ),
    ] {
        check(&input, expected);
    }
}

// ---------------------------------------------------------------------------
// Coverage.

#[test]
fn coverage_fields() {
    check(COVERAGE, COVERAGE);
    // Repeated tokens count once.
    check(
        &with(
            COVERAGE,
            r#"{"metrics": ["tonnes", "vehicles", "tonnes"], "categories": ["un", "red_cross", "un"], "mode": "register"}"#,
        ),
        &with(
            COVERAGE,
            r#"{"metrics": ["tonnes", "vehicles"], "categories": ["un", "red_cross"], "mode": "register"}"#,
        ),
    );
    // A day-only end is the end of that day, so a watch from 10:00 to "that day" is fine.
    check(
        &with(
            COVERAGE,
            r#"{"start": "2022-12-17T10:00", "end": "2022-12-17"}"#,
        ),
        &with(
            COVERAGE,
            r#"{"start": "2022-12-17T10:00:00+04:00", "end": "2022-12-17"}"#,
        ),
    );
    check(
        &with(
            COVERAGE,
            r#"{"start": "2022-12-17T10:00", "end": "2022-12-17T10:00:01"}"#,
        ),
        &with(
            COVERAGE,
            r#"{"start": "2022-12-17T10:00:00+04:00", "end": "2022-12-17T10:00:01+04:00"}"#,
        ),
    );
    for (input, expected) in [
        (
            with(COVERAGE, r#"{"end": "2022-12-16"}"#),
            "end: 2022-12-16 is not after start 2022-12-17".to_string(),
        ),
        (
            with(
                COVERAGE,
                r#"{"start": "2022-12-17T10:00", "end": "2022-12-17T06:00:00Z"}"#,
            ),
            "end: 2022-12-17T10:00:00+04:00 is not after start 2022-12-17T10:00:00+04:00"
                .to_string(),
        ),
        (
            with(
                COVERAGE,
                r#"{"start": "2022-12-17", "end": "2022-12-16T23:00"}"#,
            ),
            "end: 2022-12-16T23:00:00+04:00 is not after start 2022-12-17".to_string(),
        ),
        // The end of the 16th is before 10:00 on the 17th.
        (
            with(
                COVERAGE,
                r#"{"start": "2022-12-17T10:00", "end": "2022-12-16"}"#,
            ),
            "end: 2022-12-16 is not after start 2022-12-17T10:00:00+04:00".to_string(),
        ),
        (without(COVERAGE, "site"), "site: missing".to_string()),
        (without(COVERAGE, "end"), "end: missing".to_string()),
        (
            with(COVERAGE, r#"{"mode": "patrol"}"#),
            "mode: \"patrol\" is not a coverage mode (continuous_watch, register)".to_string(),
        ),
        (without(COVERAGE, "metrics"), "metrics: missing".to_string()),
        (
            with(COVERAGE, r#"{"metrics": []}"#),
            "metrics: empty".to_string(),
        ),
        (
            with(COVERAGE, r#"{"metrics": "vehicles"}"#),
            "metrics: not a list: \"vehicles\"".to_string(),
        ),
        (
            with(COVERAGE, r#"{"metrics": ["vehicles", "trucks"]}"#),
            "metrics[1]: \"trucks\" is not a metric (vehicles, passages, passengers, \
             medical_evacuees, tonnes)"
                .to_string(),
        ),
        (
            with(COVERAGE, r#"{"categories": []}"#),
            "categories: empty".to_string(),
        ),
        (
            with(COVERAGE, r#"{"categories": ["icrc"]}"#),
            format!("categories[0]: \"icrc\" is not an operator category ({CATEGORIES})"),
        ),
    ] {
        check(&input, &expected);
    }
}

// ---------------------------------------------------------------------------
// Baseline.

#[test]
fn baseline_is_a_figure_or_a_reference_period() {
    check(BASELINE, BASELINE);
    check(
        &with(
            BASELINE,
            r#"{"per_day": 12.5, "category": "commercial", "direction": "inbound"}"#,
        ),
        &with(
            BASELINE,
            r#"{"per_day": 12.5, "category": "commercial", "direction": "inbound"}"#,
        ),
    );
    check(
        &with(BASELINE, r#"{"per_day": 0}"#),
        &with(BASELINE, r#"{"per_day": 0}"#),
    );
    let period = with(
        &without(BASELINE, "per_day"),
        r#"{"reference_from": "2022-11-01", "reference_to": "2022-11-30"}"#,
    );
    check(&period, &period);
    let one_day = with(&period, r#"{"reference_to": "2022-11-01"}"#);
    check(&one_day, &one_day);
    for (input, expected) in [
        (
            without(BASELINE, "per_day"),
            "per_day: missing (give per_day, or reference_from and reference_to)",
        ),
        (
            with(
                BASELINE,
                r#"{"reference_from": "2022-11-01", "reference_to": "2022-11-30"}"#,
            ),
            "per_day: give either per_day or a reference period, not both",
        ),
        (
            with(BASELINE, r#"{"reference_from": "2022-11-01"}"#),
            "per_day: give either per_day or a reference period, not both",
        ),
        (
            with(BASELINE, r#"{"reference_to": "2022-11-30"}"#),
            "per_day: give either per_day or a reference period, not both",
        ),
        (
            without(&period, "reference_from"),
            "reference_from: missing (reference_to needs it)",
        ),
        (
            without(&period, "reference_to"),
            "reference_to: missing (reference_from needs it)",
        ),
        (
            with(&period, r#"{"reference_to": "2022-10-31"}"#),
            "reference_to: 2022-10-31 is before reference_from 2022-11-01",
        ),
        (
            with(&period, r#"{"reference_from": "2022-11-31"}"#),
            "reference_from: \"2022-11-31\" is not a date (YYYY-MM-DD)",
        ),
        (
            with(&period, r#"{"reference_to": "2022-11-30T00:00"}"#),
            "reference_to: must be 1 to 10 characters long, is 16",
        ),
        (
            with(BASELINE, r#"{"per_day": -1}"#),
            "per_day: -1 is negative",
        ),
        (
            with(BASELINE, r#"{"per_day": "400"}"#),
            "per_day: not a number: \"400\"",
        ),
        (
            with(BASELINE, r#"{"per_day": 2e9}"#),
            "per_day: 2000000000.0 is more than 1000000000",
        ),
        (without(BASELINE, "site"), "site: missing"),
        (
            with(BASELINE, r#"{"site": "gone"}"#),
            "site: site \"gone\" was retracted",
        ),
        (
            with(BASELINE, r#"{"metric": "missions"}"#),
            "metric: \"missions\" is not a metric (vehicles, passages, passengers, medical_evacuees, tonnes)",
        ),
        (
            with(BASELINE, r#"{"direction": "unknown"}"#),
            "direction: \"unknown\" is not a baseline direction (inbound, outbound, both)",
        ),
        (without(BASELINE, "direction"), "direction: missing"),
    ] {
        check(&input, expected);
    }
}

// ---------------------------------------------------------------------------
// Claim.

#[test]
fn claim_fields() {
    check(CLAIM, CLAIM);
    for (input, expected) in [
        (without(CLAIM, "text"), "text: missing".to_string()),
        (
            with(CLAIM, &format!(r#"{{"text": {}}}"#, long('t', 10_001))),
            "text: must be 1 to 10000 characters long, is 10001".to_string(),
        ),
        (
            with(CLAIM, &format!(r#"{{"speaker": {}}}"#, long('s', 301))),
            "speaker: must be 1 to 300 characters long, is 301".to_string(),
        ),
        (without(CLAIM, "said_on"), "said_on: missing".to_string()),
        (
            with(CLAIM, r#"{"said_on": "20 December 2022"}"#),
            "said_on: must be 1 to 10 characters long, is 16".to_string(),
        ),
        (
            with(CLAIM, r#"{"said_on": "2022-12-32"}"#),
            "said_on: \"2022-12-32\" is not a date (YYYY-MM-DD)".to_string(),
        ),
        (
            without(CLAIM, "assertions"),
            "assertions: missing".to_string(),
        ),
        (
            with(CLAIM, r#"{"assertions": []}"#),
            "assertions: 0 assertions; give 1 to 100".to_string(),
        ),
        (
            with(
                CLAIM,
                &format!(r#"{{"assertions": [{}]}}"#, vec!["{}"; 101].join(",")),
            ),
            "assertions: 101 assertions; give 1 to 100".to_string(),
        ),
        (
            with(CLAIM, r#"{"assertions": {}}"#),
            "assertions: not a list: {}".to_string(),
        ),
        (
            with(CLAIM, r#"{"assertions": [5]}"#),
            "assertions[0]: not an object: 5".to_string(),
        ),
    ] {
        check(&input, &expected);
    }
}

#[test]
fn claim_assertion_rules() {
    let normalized = |patch: &str| claim_asserting(patch);
    let assertion_fields = "metric, op, value, tolerance, from, to, sites, category, operator, \
                            direction, outcome, cargo_kind, attributes";
    for (input, expected) in [
        (
            claim_asserting(r#"{"speaker": "x"}"#),
            format!("assertions[0].speaker: unknown field in an assertion ({assertion_fields})"),
        ),
        (without(&claim_asserting("{}"), "text"), "text: missing".to_string()),
        (
            claim_asserting(r#"{"metric": "trucks"}"#),
            "assertions[0].metric: \"trucks\" is not a claim metric (vehicles, passages, passengers, \
             medical_evacuees, tonnes, missions, incidents, appeals, access_status)"
                .to_string(),
        ),
        (
            claim_asserting(r#"{"op": "=="}"#),
            "assertions[0].op: \"==\" is not a comparison (eq, ne, gte, gt, lte, lt, approx)".to_string(),
        ),
        (claim_asserting(r#"{"value": "many"}"#), "assertions[0].value: not a number: \"many\"".to_string()),
        (claim_asserting(r#"{"value": -3}"#), "assertions[0].value: -3 is negative".to_string()),
        (
            claim_asserting(r#"{"metric": "access_status", "op": "gte", "value": "closed"}"#),
            "assertions[0].op: gte does not apply to an access status (eq, ne)".to_string(),
        ),
        (
            claim_asserting(r#"{"metric": "access_status", "op": "approx", "value": "closed"}"#),
            "assertions[0].op: approx does not apply to an access status (eq, ne)".to_string(),
        ),
        (
            claim_asserting(r#"{"metric": "access_status", "op": "eq", "value": "shut"}"#),
            "assertions[0].value: \"shut\" is not an access status (open, restricted, \
             severely_restricted, closed)"
                .to_string(),
        ),
        (
            claim_asserting(r#"{"metric": "access_status", "op": "eq", "value": 0}"#),
            "assertions[0].value: not a string: 0".to_string(),
        ),
        (claim_asserting(r#"{"tolerance": 5}"#), "assertions[0].tolerance: only with op approx".to_string()),
        (claim_asserting(r#"{"op": "eq", "tolerance": "5%"}"#), "assertions[0].tolerance: only with op approx".to_string()),
        (
            claim_asserting(r#"{"op": "approx", "tolerance": "5 percent"}"#),
            "assertions[0].tolerance: \"5 percent\" is not a percentage like \"5%\"".to_string(),
        ),
        (
            claim_asserting(r#"{"op": "approx", "tolerance": "150%"}"#),
            "assertions[0].tolerance: \"150%\" is not a percentage like \"5%\"".to_string(),
        ),
        (
            claim_asserting(r#"{"op": "approx", "tolerance": "-5%"}"#),
            "assertions[0].tolerance: \"-5%\" is not a percentage like \"5%\"".to_string(),
        ),
        (claim_asserting(r#"{"op": "approx", "tolerance": -5}"#), "assertions[0].tolerance: -5 is negative".to_string()),
        (
            claim_asserting(r#"{"op": "approx", "tolerance": true}"#),
            "assertions[0].tolerance: not a number: true".to_string(),
        ),
        (without_in_assertion("from"), "assertions[0].from: missing".to_string()),
        (without_in_assertion("to"), "assertions[0].to: missing".to_string()),
        (without_in_assertion("value"), "assertions[0].value: missing".to_string()),
        (without_in_assertion("op"), "assertions[0].op: missing".to_string()),
        (
            claim_asserting(r#"{"from": "2022-12-31", "to": "2022-12-01"}"#),
            "assertions[0].to: 2022-12-01 is before from 2022-12-31".to_string(),
        ),
        (
            claim_asserting(r#"{"from": "2022-02-30"}"#),
            "assertions[0].from: \"2022-02-30\" is not a date (YYYY-MM-DD)".to_string(),
        ),
        (claim_asserting(r#"{"sites": []}"#), "assertions[0].sites: empty".to_string()),
        (
            claim_asserting(r#"{"sites": ["lachin", "m-1"]}"#),
            "assertions[0].sites[1]: \"m-1\" is a mission, not a site".to_string(),
        ),
        (
            claim_asserting(r#"{"category": "icrc"}"#),
            format!("assertions[0].category: \"icrc\" is not an operator category ({CATEGORIES})"),
        ),
        (
            claim_asserting(r#"{"direction": "both"}"#),
            "assertions[0].direction: \"both\" is not a direction (inbound, outbound, unknown)".to_string(),
        ),
        (
            claim_asserting(r#"{"outcome": "denied"}"#),
            "assertions[0].outcome: \"denied\" is not a passage outcome (passed, turned_back, delayed, held)"
                .to_string(),
        ),
        (claim_asserting(r#"{"operator": ""}"#), "assertions[0].operator: empty".to_string()),
        (
            claim_asserting(r#"{"attributes": {"Flag": "AM"}}"#),
            "assertions[0].attributes.Flag: \"Flag\" is not a valid key (1-64 characters of a-z 0-9 _ . -)"
                .to_string(),
        ),
        (
            with(CLAIM, r#"{"assertions": [{"metric": "vehicles", "op": "gte", "value": 1, "from": "2022-12-01", "to": "2022-12-02"}, {"metric": "vehicles"}]}"#),
            "assertions[1].op: missing".to_string(),
        ),
    ] {
        check(&input, &expected);
    }
    // Accepted assertions come back as given.
    for patch in [
        r#"{"op": "approx", "tolerance": "5%"}"#,
        r#"{"op": "approx", "tolerance": "12.5%"}"#,
        r#"{"op": "approx", "tolerance": 20}"#,
        r#"{"op": "approx"}"#,
        r#"{"metric": "access_status", "op": "ne", "value": "open"}"#,
        r#"{"metric": "access_status", "op": "eq", "value": "severely_restricted"}"#,
        r#"{"metric": "tonnes", "op": "lt", "value": 12.5, "from": "2022-12-01", "to": "2022-12-01"}"#,
        r#"{"sites": ["lachin", "port"], "category": "commercial", "operator": "Mercy Corps",
            "direction": "inbound", "outcome": "turned_back", "cargo_kind": "fuel",
            "attributes": {"destination": "Stepanakert"}}"#,
    ] {
        check(&claim_asserting(patch), &normalized(patch));
    }
    // A tolerance written with a space before the sign is normalized.
    check(
        &claim_asserting(r#"{"op": "approx", "tolerance": "5 %"}"#),
        &normalized(r#"{"op": "approx", "tolerance": "5%"}"#),
    );
}

/// [`CLAIM`] whose one assertion lacks `field`.
fn without_in_assertion(field: &str) -> String {
    let assertion = without(
        r#"{"metric": "vehicles", "op": "gte", "value": 100, "from": "2022-12-01", "to": "2022-12-31"}"#,
        field,
    );
    with(CLAIM, &format!(r#"{{"assertions": [{assertion}]}}"#))
}

// ---------------------------------------------------------------------------
// Correction and retraction.

/// [`CORRECTION`] as published: the replacement normalized and given the
/// correction's own source and recorder, without an id of its own.
const CORRECTION_NORMALIZED: &str = r#"{
    "type": "correction", "id": "c-1",
    "source": {"kind": "direct_observation", "name": "Second shift"}, "recorded_by": "team-b",
    "corrects": "p-1", "reason": "the convoy had three trucks",
    "record": {"type": "passage", "site": "lachin", "observed_at": "2022-12-17T10:23:00+04:00",
               "direction": "unknown", "category": "red_cross", "vehicle_class": "truck",
               "count": 3, "outcome": "passed",
               "source": {"kind": "direct_observation", "name": "Second shift"},
               "recorded_by": "team-b"}
}"#;

#[test]
fn correction_replaces_a_record_of_the_same_type() {
    check(CORRECTION, CORRECTION_NORMALIZED);
    let replacement = r#"{"type": "passage", "site": "lachin", "observed_at": "2022-12-17T10:23",
                          "category": "red_cross", "vehicle_class": "truck", "count": 3"#;
    // Naming the corrected id is allowed; the replacement's own source and recorder win.
    check(
        &correction_with_record(&format!("{replacement}, \"id\": \"p-1\"}}")),
        CORRECTION_NORMALIZED,
    );
    check(
        &correction_with_record(&format!(
            r#"{replacement}, "source": {SOURCE}, "recorded_by": "team-a", "notes": "recounted"}}"#
        )),
        &with(
            CORRECTION_NORMALIZED,
            r#"{"record": {"type": "passage", "site": "lachin", "observed_at": "2022-12-17T10:23:00+04:00",
                "direction": "unknown", "category": "red_cross", "vehicle_class": "truck",
                "count": 3, "outcome": "passed",
                "source": {"kind": "direct_observation", "name": "Lachin road observers"},
                "recorded_by": "team-a", "notes": "recounted"}}"#,
        ),
    );
    // The private part belongs to the correction itself.
    check(
        &with(CORRECTION, r#"{"private": {"plate": "AB 123"}}"#),
        &with(CORRECTION_NORMALIZED, r#"{"private": {"plate": "AB 123"}}"#),
    );
    // A site can be corrected by a site.
    check(
        &with(
            CORRECTION,
            &format!(
                r#"{{"corrects": "lachin", "record": {}}}"#,
                without(SITE, "id")
            ),
        ),
        &with(
            CORRECTION_NORMALIZED,
            r#"{"corrects": "lachin", "record": {"type": "site", "name": "Lachin corridor checkpoint",
                "kind": "checkpoint", "timezone": "Asia/Baku",
                "source": {"kind": "direct_observation", "name": "Lachin road observers"},
                "recorded_by": "team-a"}}"#,
        ),
    );
    for (input, expected) in [
        (without(CORRECTION, "corrects"), "corrects: missing"),
        (
            with(CORRECTION, r#"{"corrects": "c-1"}"#),
            "corrects: a record cannot correct itself",
        ),
        (
            with(CORRECTION, r#"{"corrects": "p-404"}"#),
            "corrects: record \"p-404\" does not exist",
        ),
        (
            with(CORRECTION, r#"{"corrects": "gone"}"#),
            "corrects: record \"gone\" was already retracted",
        ),
        (
            with(CORRECTION, r#"{"corrects": "c-0"}"#),
            "corrects: \"c-0\" is itself a correction or retraction; name the record it changes",
        ),
        (
            with(CORRECTION, r#"{"corrects": "p 1"}"#),
            "corrects: \"p 1\" is not a valid id (1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit)",
        ),
        (without(CORRECTION, "reason"), "reason: missing"),
        (
            with(
                CORRECTION,
                &format!(r#"{{"reason": {}}}"#, long('r', 4_001)),
            ),
            "reason: must be 1 to 4000 characters long, is 4001",
        ),
        (without(CORRECTION, "record"), "record: missing"),
        (
            with(CORRECTION, r#"{"record": "count 3"}"#),
            "record: not an object: \"count 3\"",
        ),
        (
            correction_with_record(&format!("{replacement}, \"id\": \"p-9\"}}")),
            "record.id: \"p-9\" differs from the corrected record \"p-1\"; leave it out",
        ),
        (
            correction_with_record(&without(SITE, "id")),
            "record.type: site does not match the corrected record, a passage",
        ),
        (correction_with_record("{}"), "record.type: missing"),
        (
            correction_with_record(&with(&format!("{replacement}}}"), r#"{"count": 0}"#)),
            "record.count: 0 is out of range (1 to 10000)",
        ),
        (
            correction_with_record(&format!("{replacement}, \"bogus\": 1}}")),
            "record.bogus: unknown field for a passage record",
        ),
        (
            correction_with_record(&format!(
                "{replacement}, \"source\": {{\"kind\": \"rumour\", \"name\": \"x\"}}}}"
            )),
            "record.source.kind: \"rumour\" is not a source kind (direct_observation, official_statement, media_report, document, register)",
        ),
        (
            correction_with_record(&format!(
                "{replacement}, \"private\": {{\"plate\": \"AB 123\"}}}}"
            )),
            "record.private: not allowed in a correction's replacement; give private at the top level of the correction",
        ),
        (
            correction_with_record(
                r#"{"type": "correction", "corrects": "p-1", "reason": "again", "record": {}}"#,
            ),
            "record.type: a correction replaces a record with a record of its own type, not another correction or retraction",
        ),
        (
            correction_with_record(
                r#"{"type": "retraction", "retracts": "p-1", "reason": "again"}"#,
            ),
            "record.type: a correction replaces a record with a record of its own type, not another correction or retraction",
        ),
    ] {
        check(&input, expected);
    }
}

#[test]
fn retraction_withdraws_another_record() {
    check(RETRACTION, RETRACTION);
    check(
        &with(RETRACTION, r#"{"retracts": "m-1"}"#),
        &with(RETRACTION, r#"{"retracts": "m-1"}"#),
    );
    for (input, expected) in [
        (without(RETRACTION, "retracts"), "retracts: missing"),
        (
            with(RETRACTION, r#"{"retracts": "r-1"}"#),
            "retracts: a record cannot retract itself",
        ),
        (
            with(RETRACTION, r#"{"retracts": "p-404"}"#),
            "retracts: record \"p-404\" does not exist",
        ),
        (
            with(RETRACTION, r#"{"retracts": "gone"}"#),
            "retracts: record \"gone\" was already retracted",
        ),
        (
            with(RETRACTION, r#"{"retracts": "c-0"}"#),
            "retracts: \"c-0\" is itself a correction or retraction; name the record it changes",
        ),
        (
            with(RETRACTION, r#"{"retracts": 5}"#),
            "retracts: not a string: 5",
        ),
        (without(RETRACTION, "reason"), "reason: missing"),
        (with(RETRACTION, r#"{"reason": ""}"#), "reason: empty"),
    ] {
        check(&input, expected);
    }
}

// ---------------------------------------------------------------------------
// Errors as users see them.

#[test]
fn record_error_names_the_line_the_record_and_the_field() {
    let input = with(PASSAGE, r#"{"id": "p-0042", "observed_at": "2022-13-01"}"#);
    let object: Map<String, Value> = serde_json::from_str(&input).expect("input is JSON");
    let error = parse_submission(
        &object,
        &FixedStore {
            precision: TimePrecision::Second,
        },
    )
    .expect_err("the date is impossible");
    let (record_type, id) = corridor_model::parse::peek_identity(&object);
    let cases = [
        (
            Location::Line(12),
            record_type,
            id,
            format!(
                "line 12 (passage p-0042): observed_at: \"2022-13-01\" is not a date or time {TIME_FORMS}"
            ),
        ),
        (
            Location::Row(7),
            record_type,
            None,
            format!(
                "row 7 (passage): observed_at: \"2022-13-01\" is not a date or time {TIME_FORMS}"
            ),
        ),
        (
            Location::Item(0),
            None,
            id,
            format!(
                "item 0 (p-0042): observed_at: \"2022-13-01\" is not a date or time {TIME_FORMS}"
            ),
        ),
    ];
    for (location, record_type, id, expected) in cases {
        let record_error = RecordError {
            location,
            record_type: record_type.map(str::to_string),
            id: id.map(str::to_string),
            error: error.clone(),
        };
        assert_eq!(record_error.to_string(), expected);
    }
    // An error that is not about one field reads without a leading colon.
    let whole = RecordError {
        location: Location::Line(3),
        record_type: None,
        id: None,
        error: FieldError {
            field: String::new(),
            reason: "not a JSON object".into(),
        },
    };
    assert_eq!(whole.to_string(), "line 3: not a JSON object");
}
