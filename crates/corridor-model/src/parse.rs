//! Strict parsing of submitted JSON into validated [`Record`]s.
//!
//! One pass reads every field, checks its rule, resolves references and
//! times through a [`Resolve`] context, and stops at the first error with the
//! field's path and the reason. Unknown fields are errors: a misspelt field
//! name must never silently lose what the observer wrote.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use crate::record::*;
use crate::time::{SubmittedTime, Time, check_zone_name, parse_date};
use crate::vocab::*;

/// What the parser needs to know about the rest of the store.
pub trait Resolve {
    /// How precisely public times are published.
    fn precision(&self) -> TimePrecision;
    /// The time zone of a current site.
    ///
    /// # Errors
    /// The reason the id names no usable site (for the error message).
    fn site_zone(&self, site_id: &str) -> Result<TimeZone, String>;
    /// Checks that `id` names a current (not retracted) record of type `expected`.
    ///
    /// # Errors
    /// The reason it does not.
    fn check_reference(&self, id: &str, expected: RecordType) -> Result<(), String>;
    /// The type of the current version of the record a correction or
    /// retraction names.
    ///
    /// # Errors
    /// The reason it cannot be corrected or retracted.
    fn correctable(&self, id: &str) -> Result<RecordType, String>;
    /// Whether the records are leaves replayed from a log (`report verify`,
    /// reading the store back) rather than new submissions. A leaf is judged
    /// by the rules it was logged under, so rules added since (canonical
    /// time-zone names) do not make an old log fail to verify.
    fn replaying_leaves(&self) -> bool {
        false
    }
}

/// A validated submission: the record and its private part.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub record: Record,
    /// Personal data and any exact times cut from the public record; `None`
    /// when there is nothing private.
    pub private: Option<Map<String, Value>>,
}

/// A rule a field broke: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path to the field: `observed_at`, `cargo[1].tonnes`, `private.plate`.
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            formatter.write_str(&self.reason)
        } else {
            write!(formatter, "{}: {}", self.field, self.reason)
        }
    }
}

/// The largest vehicle count one record may carry.
pub const MAX_COUNT: u64 = 10_000;
/// The largest number of people one record may carry.
pub const MAX_PEOPLE: u64 = 100_000;
/// The largest load one cargo line may carry, in tonnes.
pub const MAX_TONNES: u64 = 1_000_000;
/// The longest minutes a passage may have waited.
pub const MAX_WAIT_MINUTES: u64 = 100_000;
/// The largest baseline figure per day.
pub const MAX_PER_DAY: f64 = 1e9;
/// The largest figure (and absolute tolerance) a claim may assert.
pub const MAX_CLAIMED: f64 = 1e12;
/// The most cargo lines of one passage.
pub const MAX_CARGO_LINES: usize = 100;
/// The most assertions of one claim.
pub const MAX_ASSERTIONS: usize = 100;
/// The longest id (and reference to one), in characters.
pub const ID_LENGTH: usize = 128;
/// The longest name: `recorded_by`, a site's name, an operator, an organisation, a channel.
pub const NAME_LENGTH: usize = 200;
/// The longest attribution: a source's name, a claim's speaker.
pub const ATTRIBUTION_LENGTH: usize = 300;
/// The longest free text: notes, plans, reasons, descriptions, outcomes.
pub const TEXT_LENGTH: usize = 4_000;
/// The longest claim text.
pub const STATEMENT_LENGTH: usize = 10_000;
/// The longest source URL.
pub const URL_LENGTH: usize = 2_000;
/// The longest attribute, direction label or private string value.
pub const VALUE_LENGTH: usize = 1_000;
/// The longest key, time-zone name or cargo kind.
pub const KEY_LENGTH: usize = 64;
/// The longest time text (every accepted form is shorter).
pub const TIME_LENGTH: usize = 40;
/// Latitudes lie within this many degrees of the equator.
pub const MAX_LATITUDE: f64 = 90.0;
/// Longitudes lie within this many degrees of Greenwich.
pub const MAX_LONGITUDE: f64 = 180.0;

/// Reads the record's `type` and `id` without validating the rest, so that an
/// error can name the record even when its body is wrong.
pub fn peek_identity(object: &Map<String, Value>) -> (Option<&str>, Option<&str>) {
    (
        object.get("type").and_then(Value::as_str),
        object.get("id").and_then(Value::as_str),
    )
}

/// Parses and validates one submitted record.
///
/// # Errors
/// The first field that breaks a rule.
pub fn parse_submission(
    object: &Map<String, Value>,
    context: &dyn Resolve,
) -> Result<Submission, FieldError> {
    let mut exact_times = Vec::new();
    let record = {
        let mut reader = Reader {
            object,
            prefix: String::new(),
            context,
            exact_times: &mut exact_times,
        };
        reader.record(None)?
    };
    let mut private = match object.get("private").filter(|value| !value.is_null()) {
        None => None,
        Some(value) => Some(private_part(value)?),
    };
    if !exact_times.is_empty() {
        let part = private.get_or_insert_with(Map::new);
        let times: Map<String, Value> = exact_times
            .into_iter()
            .map(|(field, time)| (field, Value::from(time.to_string())))
            .collect();
        part.insert("exact_times".into(), Value::Object(times));
    }
    Ok(Submission { record, private })
}

fn private_part(value: &Value) -> Result<Map<String, Value>, FieldError> {
    let Value::Object(object) = value else {
        return Err(error("private", "not an object (the value is not shown)"));
    };
    for (key, value) in object {
        let field = format!("private.{key}");
        if key == "exact_times" {
            return Err(error(
                &field,
                "is reserved for times the deployment publishes less precisely",
            ));
        }
        check_key(key).map_err(|reason| error(&field, &reason))?;
        if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
            return Err(error(
                &field,
                "not a string, number or boolean (the value is not shown)",
            ));
        }
        if let Value::String(text) = value
            && text.chars().count() > VALUE_LENGTH
        {
            return Err(error(
                &field,
                &format!("longer than {VALUE_LENGTH} characters (the value is not shown)"),
            ));
        }
    }
    Ok(object.clone())
}

fn error(field: &str, reason: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        reason: reason.to_string(),
    }
}

/// Shows a submitted value in an error, shortened so one bad field cannot
/// flood a terminal or a reject file.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// Ids: 1-128 characters of `A-Z a-z 0-9 . _ : -`, starting with a letter or digit.
pub fn check_id(id: &str) -> Result<(), String> {
    let valid_start = id
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric());
    let valid_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    if id.is_empty() || id.len() > ID_LENGTH || !valid_start || !valid_chars {
        return Err(format!(
            "{id:?} is not a valid id (1-{ID_LENGTH} characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit)"
        ));
    }
    Ok(())
}

/// The rule of every text field: `min` to `max` characters, no control
/// characters but tab and line feed, and (when `min` is 1 or more) not only
/// white space. `corridor_model::schema::text` states it as a schema.
///
/// # Errors
/// Why `text` breaks it.
pub fn check_text(text: &str, min: usize, max: usize) -> Result<(), String> {
    let length = text.chars().count();
    if length < min || length > max {
        return Err(if length < min && min == 1 {
            "empty".to_string()
        } else {
            format!("must be {min} to {max} characters long, is {length}")
        });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("contains control characters".into());
    }
    if min > 0 && text.trim().is_empty() {
        return Err("is blank".into());
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), String> {
    let valid = !key.is_empty()
        && key.len() <= KEY_LENGTH
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{key:?} is not a valid key (1-{KEY_LENGTH} characters of a-z 0-9 _ . -)"
        ))
    }
}

struct Reader<'a, 'c> {
    object: &'a Map<String, Value>,
    /// Path of this object inside the submission, with a trailing dot.
    prefix: String,
    context: &'c dyn Resolve,
    exact_times: &'c mut Vec<(String, Time)>,
}

const COMMON_FIELDS: &[&str] = &[
    "type",
    "id",
    "source",
    "recorded_by",
    "attributes",
    "notes",
    "private",
];

impl Reader<'_, '_> {
    fn path(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    fn fail<T>(&self, field: &str, reason: impl Into<String>) -> Result<T, FieldError> {
        Err(FieldError {
            field: self.path(field),
            reason: reason.into(),
        })
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.object.get(field).filter(|value| !value.is_null())
    }

    fn required(&self, field: &str) -> Result<&Value, FieldError> {
        match self.get(field) {
            Some(value) => Ok(value),
            None => self.fail(field, "missing"),
        }
    }

    /// Reads the whole record. `replaced` is set for the replacement inside a
    /// correction: the id it replaces and the correction's own common fields.
    fn record(&mut self, replaced: Option<(&str, &Source, &str)>) -> Result<Record, FieldError> {
        let type_value = self.required("type")?;
        let Some(type_text) = type_value.as_str() else {
            return self.fail("type", format!("not a string: {}", shown(type_value)));
        };
        let Some(record_type) = RecordType::parse(type_text) else {
            return self.fail(
                "type",
                format!(
                    "{type_text:?} is not a record type ({})",
                    RecordType::expected()
                ),
            );
        };
        let body_fields = body_fields(record_type);
        for key in self.object.keys() {
            let known =
                COMMON_FIELDS.contains(&key.as_str()) || body_fields.contains(&key.as_str());
            if replaced.is_some() && key == "private" {
                return self.fail(
                    key,
                    "not allowed in a correction's replacement; give private at the top level of the correction",
                );
            }
            if !known {
                return self.fail(key, format!("unknown field for a {type_text} record"));
            }
        }
        let id = match replaced {
            None => {
                let id = self.string("id", 1, ID_LENGTH)?;
                check_id(&id).map_err(|reason| FieldError {
                    field: self.path("id"),
                    reason,
                })?;
                id
            }
            Some((replaced_id, ..)) => {
                if let Some(id) = self.optional_string("id", 1, ID_LENGTH)?
                    && id != replaced_id
                {
                    return self.fail(
                        "id",
                        format!(
                            "{id:?} differs from the corrected record {replaced_id:?}; leave it out"
                        ),
                    );
                }
                replaced_id.to_string()
            }
        };
        let source = match (self.get("source"), replaced) {
            (None, Some((_, source, _))) => source.clone(),
            _ => self.source()?,
        };
        let recorded_by = match (self.get("recorded_by"), replaced) {
            (None, Some((_, _, recorded_by))) => recorded_by.to_string(),
            _ => self.string("recorded_by", 1, NAME_LENGTH)?,
        };
        let attributes = self.attributes()?;
        let notes = self.optional_text("notes", TEXT_LENGTH)?;
        let body = match record_type {
            RecordType::Site => Body::Site(self.site()?),
            RecordType::Passage => Body::Passage(self.passage()?),
            RecordType::Mission => Body::Mission(self.mission()?),
            RecordType::Incident => Body::Incident(self.incident()?),
            RecordType::Appeal => Body::Appeal(self.appeal()?),
            RecordType::Coverage => Body::Coverage(self.coverage()?),
            RecordType::Baseline => Body::Baseline(self.baseline()?),
            RecordType::Claim => Body::Claim(self.claim()?),
            RecordType::Correction | RecordType::Retraction if replaced.is_some() => {
                return self.fail("type", "a correction replaces a record with a record of its own type, not another correction or retraction");
            }
            RecordType::Correction => {
                Body::Correction(self.correction(&id, &source, &recorded_by)?)
            }
            RecordType::Retraction => Body::Retraction(self.retraction(&id)?),
        };
        Ok(Record {
            id,
            source,
            recorded_by,
            attributes,
            notes,
            body,
        })
    }

    fn string(&self, field: &str, min: usize, max: usize) -> Result<String, FieldError> {
        let value = self.required(field)?;
        self.string_value(field, value, min, max)
    }

    fn string_value(
        &self,
        field: &str,
        value: &Value,
        min: usize,
        max: usize,
    ) -> Result<String, FieldError> {
        let Some(text) = value.as_str() else {
            return self.fail(field, format!("not a string: {}", shown(value)));
        };
        match check_text(text, min, max) {
            Ok(()) => Ok(text.to_string()),
            Err(reason) => self.fail(field, reason),
        }
    }

    fn optional_string(
        &self,
        field: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<String>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => self.string_value(field, value, min, max).map(Some),
        }
    }

    fn optional_text(&self, field: &str, max: usize) -> Result<Option<String>, FieldError> {
        self.optional_string(field, 1, max)
    }

    fn token<T: Token>(&self, field: &str) -> Result<T, FieldError> {
        let value = self.required(field)?;
        self.token_value(field, value)
    }

    fn token_value<T: Token>(&self, field: &str, value: &Value) -> Result<T, FieldError> {
        let Some(text) = value.as_str() else {
            return self.fail(field, format!("not a string: {}", shown(value)));
        };
        T::parse_token(text).map_or_else(|| self.fail(field, T::not_a_token(text)), Ok)
    }

    fn optional_token<T: Token>(&self, field: &str) -> Result<Option<T>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => self.token_value(field, value).map(Some),
        }
    }

    fn integer(&self, field: &str, min: u64, max: u64) -> Result<Option<u64>, FieldError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        match value.as_u64() {
            Some(number) if (min..=max).contains(&number) => Ok(Some(number)),
            Some(number) => self.fail(field, format!("{number} is out of range ({min} to {max})")),
            None if value.as_i64().is_some_and(|number| number < 0) => {
                self.fail(field, format!("{} is negative", shown(value)))
            }
            // Integers beyond u64 (18446744073709551617, 1e30) arrive as
            // floats: what is wrong with them is their size, not a fraction.
            None if value.as_f64().is_some_and(|number| number > max as f64) => self.fail(
                field,
                format!("{} is out of range ({min} to {max})", shown(value)),
            ),
            None if value.as_f64().is_some_and(|number| number < 0.0) => {
                self.fail(field, format!("{} is negative", shown(value)))
            }
            None if value.is_number() => {
                self.fail(field, format!("{} is not a whole number", shown(value)))
            }
            None => self.fail(field, format!("not a number: {}", shown(value))),
        }
    }

    fn number(&self, field: &str, value: &Value, max: f64) -> Result<f64, FieldError> {
        let Some(number) = value.as_f64() else {
            return self.fail(field, format!("not a number: {}", shown(value)));
        };
        if number < 0.0 {
            return self.fail(field, format!("{} is negative", shown(value)));
        }
        if number > max {
            return self.fail(field, format!("{} is more than {max}", shown(value)));
        }
        Ok(number)
    }

    fn date(&self, field: &str) -> Result<String, FieldError> {
        let text = self.string(field, 1, 10)?;
        match parse_date(&text) {
            Some(_) => Ok(text),
            None => self.fail(field, format!("{text:?} is not a date (YYYY-MM-DD)")),
        }
    }

    fn optional_date(&self, field: &str) -> Result<Option<String>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(_) => self.date(field).map(Some),
        }
    }

    /// Reads a time and places it in `zone`; any precision cut goes private.
    fn time(&mut self, field: &str, zone: Option<&TimeZone>) -> Result<Time, FieldError> {
        let text = self.string(field, 1, TIME_LENGTH)?;
        // Every accepted form is ASCII, and `SubmittedTime::parse` slices by
        // byte offsets, which would panic inside a multi-byte character.
        if !text.is_ascii() {
            return self.fail(
                field,
                format!(
                    "{text:?} is not a date or time (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or an RFC 3339 time with offset)"
                ),
            );
        }
        let submitted = SubmittedTime::parse(&text).map_err(|reason| FieldError {
            field: self.path(field),
            reason: reason.0,
        })?;
        let (public, exact) =
            submitted
                .resolve(zone, self.context.precision())
                .map_err(|reason| FieldError {
                    field: self.path(field),
                    reason: reason.0,
                })?;
        if let Some(exact) = exact {
            self.exact_times.push((self.path(field), exact));
        }
        Ok(public)
    }

    fn optional_time(
        &mut self,
        field: &str,
        zone: Option<&TimeZone>,
    ) -> Result<Option<Time>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(_) => self.time(field, zone).map(Some),
        }
    }

    fn not_before(
        &self,
        field: &str,
        later: Option<&Time>,
        earlier: &Time,
        earlier_field: &str,
    ) -> Result<(), FieldError> {
        let is_before = |later: &Time| match (later, earlier) {
            (Time::Day(_), _) | (_, Time::Day(_)) => later.local_day() < earlier.local_day(),
            _ => later.sort_key() < earlier.sort_key(),
        };
        match later {
            Some(later) if is_before(later) => self.fail(
                field,
                format!("{later} is before {earlier_field} {earlier}"),
            ),
            _ => Ok(()),
        }
    }

    /// Reads a reference to a record of type `expected`.
    fn reference(&self, field: &str, expected: RecordType) -> Result<String, FieldError> {
        let id = self.string(field, 1, ID_LENGTH)?;
        self.resolve_reference(field, id, expected)
    }

    fn resolve_reference(
        &self,
        field: &str,
        id: String,
        expected: RecordType,
    ) -> Result<String, FieldError> {
        check_id(&id).map_err(|reason| FieldError {
            field: self.path(field),
            reason,
        })?;
        self.context
            .check_reference(&id, expected)
            .map_err(|reason| FieldError {
                field: self.path(field),
                reason,
            })?;
        Ok(id)
    }

    /// Reads a site reference and returns it with the site's zone.
    fn site_reference(&self, field: &str) -> Result<(String, TimeZone), FieldError> {
        let id = self.string(field, 1, ID_LENGTH)?;
        check_id(&id).map_err(|reason| FieldError {
            field: self.path(field),
            reason,
        })?;
        let zone = self.context.site_zone(&id).map_err(|reason| FieldError {
            field: self.path(field),
            reason,
        })?;
        Ok((id, zone))
    }

    fn source(&self) -> Result<Source, FieldError> {
        let value = self.required("source")?;
        let Value::Object(object) = value else {
            return self.fail("source", format!("not an object: {}", shown(value)));
        };
        let mut nothing = Vec::new();
        let reader = Reader {
            object,
            prefix: self.path("source."),
            context: self.context,
            exact_times: &mut nothing,
        };
        reader.only(&["kind", "name", "url", "published_on"], "source")?;
        let url = reader.optional_string("url", 1, URL_LENGTH)?;
        if let Some(url) = &url
            && (!(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains(char::is_whitespace))
        {
            return reader.fail("url", format!("{url:?} is not an http(s) URL"));
        }
        Ok(Source {
            kind: reader.token("kind")?,
            name: reader.string("name", 1, ATTRIBUTION_LENGTH)?,
            url,
            published_on: reader.optional_date("published_on")?,
        })
    }

    fn only(&self, allowed: &[&str], what: &str) -> Result<(), FieldError> {
        match self
            .object
            .keys()
            .find(|key| !allowed.contains(&key.as_str()))
        {
            Some(key) => self.fail(
                key,
                format!("unknown field in {what} ({})", allowed.join(", ")),
            ),
            None => Ok(()),
        }
    }

    fn attributes(&self) -> Result<BTreeMap<String, String>, FieldError> {
        self.string_map("attributes")
    }

    fn string_map(&self, field: &str) -> Result<BTreeMap<String, String>, FieldError> {
        let Some(value) = self.get(field) else {
            return Ok(BTreeMap::new());
        };
        let Value::Object(object) = value else {
            return self.fail(field, format!("not an object: {}", shown(value)));
        };
        let mut attributes = BTreeMap::new();
        for (key, value) in object {
            let path = format!("{field}.{key}");
            check_key(key).map_err(|reason| FieldError {
                field: self.path(&path),
                reason,
            })?;
            attributes.insert(
                key.clone(),
                self.string_value(&path, value, 0, VALUE_LENGTH)?,
            );
        }
        Ok(attributes)
    }

    fn site(&mut self) -> Result<Site, FieldError> {
        let timezone = self.string("timezone", 1, KEY_LENGTH)?;
        if self.context.replaying_leaves() {
            // Before names had to be canonical, any name the zone database
            // resolved was logged as typed (`asia/baku`); it still means that zone.
            if TimeZone::get(&timezone).is_err() {
                return self.fail(
                    "timezone",
                    format!("{timezone:?} is not an IANA time zone name (e.g. Asia/Baku)"),
                );
            }
        } else if let Err(reason) = check_zone_name(&timezone) {
            return self.fail("timezone", reason);
        }
        let latitude = self
            .get("latitude")
            .map(|value| self.coordinate("latitude", value, MAX_LATITUDE))
            .transpose()?;
        let longitude = self
            .get("longitude")
            .map(|value| self.coordinate("longitude", value, MAX_LONGITUDE))
            .transpose()?;
        if latitude.is_some() != longitude.is_some() {
            let missing = if latitude.is_none() {
                "latitude"
            } else {
                "longitude"
            };
            return self.fail(missing, "missing (latitude and longitude go together)");
        }
        let direction_labels = match self.get("direction_labels") {
            None => None,
            Some(_) => {
                let labels = self.string_map("direction_labels")?;
                if let Some(key) = labels
                    .keys()
                    .find(|key| *key != "inbound" && *key != "outbound")
                {
                    return self.fail(
                        &format!("direction_labels.{key}"),
                        "unknown direction (inbound, outbound)",
                    );
                }
                Some(DirectionLabels {
                    inbound: labels.get("inbound").cloned(),
                    outbound: labels.get("outbound").cloned(),
                })
            }
        };
        let parent = match self.get("parent") {
            None => None,
            Some(_) => Some(self.reference("parent", RecordType::Site)?),
        };
        Ok(Site {
            name: self.string("name", 1, NAME_LENGTH)?,
            kind: self.token("kind")?,
            timezone,
            latitude,
            longitude,
            direction_labels,
            parent,
        })
    }

    fn coordinate(&self, field: &str, value: &Value, limit: f64) -> Result<f64, FieldError> {
        match value.as_f64() {
            Some(degrees) if (-limit..=limit).contains(&degrees) => Ok(degrees),
            Some(degrees) => self.fail(
                field,
                format!("{degrees} is outside -{limit} to {limit} degrees"),
            ),
            None => self.fail(field, format!("not a number: {}", shown(value))),
        }
    }

    fn passage(&mut self) -> Result<Passage, FieldError> {
        let (site, zone) = self.site_reference("site")?;
        let observed_at = self.time("observed_at", Some(&zone))?;
        let direction = self
            .optional_token("direction")?
            .unwrap_or(Direction::Unknown);
        let category = self.token("category")?;
        let operator = self.optional_string("operator", 1, NAME_LENGTH)?;
        let vehicle_class = self
            .optional_token("vehicle_class")?
            .unwrap_or(VehicleClass::Unknown);
        let count = self.integer("count", 1, MAX_COUNT)?.unwrap_or(1);
        let cargo = self.cargo()?;
        let passengers = self.integer("passengers", 0, MAX_PEOPLE)?;
        let medical_evacuees = self.integer("medical_evacuees", 0, MAX_PEOPLE)?;
        if let (Some(passengers), Some(evacuees)) = (passengers, medical_evacuees)
            && evacuees > passengers
        {
            return self.fail(
                "medical_evacuees",
                format!("{evacuees} is more than passengers ({passengers})"),
            );
        }
        let outcome = self.optional_token("outcome")?.unwrap_or(Outcome::Passed);
        let wait_minutes = self.integer("wait_minutes", 0, MAX_WAIT_MINUTES)?;
        if wait_minutes.is_some() && !matches!(outcome, Outcome::Delayed | Outcome::Held) {
            return self.fail(
                "wait_minutes",
                format!("only for outcome delayed or held, not {outcome}"),
            );
        }
        let mission = match self.get("mission") {
            None => None,
            Some(_) => Some(self.reference("mission", RecordType::Mission)?),
        };
        // Ranges above fit u32; the conversions cannot fail.
        let narrow = |value: u64| u32::try_from(value).unwrap_or(u32::MAX);
        Ok(Passage {
            site,
            observed_at,
            direction,
            category,
            operator,
            vehicle_class,
            count: narrow(count),
            cargo,
            passengers: passengers.map(narrow),
            medical_evacuees: medical_evacuees.map(narrow),
            outcome,
            wait_minutes: wait_minutes.map(narrow),
            mission,
        })
    }

    fn cargo(&self) -> Result<Vec<Cargo>, FieldError> {
        let Some(value) = self.get("cargo") else {
            return Ok(Vec::new());
        };
        let Value::Array(lines) = value else {
            return self.fail("cargo", format!("not a list: {}", shown(value)));
        };
        if lines.len() > MAX_CARGO_LINES {
            return self.fail(
                "cargo",
                format!("{} lines; at most {MAX_CARGO_LINES}", lines.len()),
            );
        }
        let mut cargo = Vec::with_capacity(lines.len());
        for (index, line) in lines.iter().enumerate() {
            let Value::Object(object) = line else {
                return self.fail(
                    &format!("cargo[{index}]"),
                    format!("not an object: {}", shown(line)),
                );
            };
            let mut nothing = Vec::new();
            let reader = Reader {
                object,
                prefix: self.path(&format!("cargo[{index}].")),
                context: self.context,
                exact_times: &mut nothing,
            };
            reader.only(&["kind", "tonnes"], "a cargo line")?;
            let kind = reader.string("kind", 1, KEY_LENGTH)?;
            if !kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            {
                return reader.fail(
                    "kind",
                    format!("{kind:?} is not a cargo kind (a-z 0-9 _ -, e.g. food, fuel)"),
                );
            }
            let kilograms = match reader.get("tonnes") {
                None => None,
                Some(value) => Some(reader.kilograms("tonnes", value)?),
            };
            cargo.push(Cargo { kind, kilograms });
        }
        Ok(cargo)
    }

    /// Tonnes with at most three decimals, as exact kilograms.
    fn kilograms(&self, field: &str, value: &Value) -> Result<u64, FieldError> {
        let tonnes = self.number(field, value, MAX_TONNES as f64)?;
        let kilograms = (tonnes * 1000.0).round();
        // Compare in the decimal domain: 0.001 * 1000 is not exactly 1 in binary.
        // Both sides are the double nearest the same decimal when it has at
        // most three decimals; the slack only absorbs representation error
        // (a relative 1e-9 would let a fourth decimal through above 1000 t).
        if ((kilograms / 1000.0) - tonnes).abs() > 1e-12 * tonnes.max(1.0) {
            return self.fail(
                field,
                format!(
                    "{} has more than 3 decimals (kilogram precision)",
                    shown(value)
                ),
            );
        }
        Ok(kilograms as u64)
    }

    fn site_list(&self, field: &str) -> Result<Vec<String>, FieldError> {
        let value = self.required(field)?;
        let Value::Array(items) = value else {
            return self.fail(field, format!("not a list: {}", shown(value)));
        };
        if items.is_empty() {
            return self.fail(field, "empty");
        }
        let mut sites = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let path = format!("{field}[{index}]");
            let id = self.string_value(&path, item, 1, ID_LENGTH)?;
            sites.push(self.resolve_reference(&path, id, RecordType::Site)?);
        }
        Ok(sites)
    }

    fn mission(&mut self) -> Result<Mission, FieldError> {
        let kind = self.token("kind")?;
        let organisation = self.string("organisation", 1, NAME_LENGTH)?;
        let category = self.token("category")?;
        let sites = self.site_list("sites")?;
        // A mission's times are read in the zone of its first site.
        let zone = self
            .context
            .site_zone(&sites[0])
            .map_err(|reason| FieldError {
                field: self.path("sites[0]"),
                reason,
            })?;
        let planned_start = self.time("planned_start", Some(&zone))?;
        let planned_end = self.optional_time("planned_end", Some(&zone))?;
        self.not_before(
            "planned_end",
            planned_end.as_ref(),
            &planned_start,
            "planned_start",
        )?;
        let outcome: MissionOutcome = self.token("outcome")?;
        let outcome_reason = self.optional_text("outcome_reason", TEXT_LENGTH)?;
        if outcome_reason.is_none()
            && matches!(
                outcome,
                MissionOutcome::Denied | MissionOutcome::Obstructed | MissionOutcome::Cancelled
            )
        {
            return self.fail(
                "outcome_reason",
                format!("missing (required when the outcome is {outcome})"),
            );
        }
        Ok(Mission {
            kind,
            organisation,
            category,
            sites,
            planned_start,
            planned_end,
            plan: self.optional_text("plan", TEXT_LENGTH)?,
            outcome,
            outcome_reason,
        })
    }

    fn incident(&mut self) -> Result<Incident, FieldError> {
        let kind = self.token("kind")?;
        let (site, zone) = self.site_reference("site")?;
        let started_at = self.time("started_at", Some(&zone))?;
        let ended_at = self.optional_time("ended_at", Some(&zone))?;
        self.not_before("ended_at", ended_at.as_ref(), &started_at, "started_at")?;
        let description = self.string("description", 1, TEXT_LENGTH)?;
        let mission = match self.get("mission") {
            None => None,
            Some(_) => Some(self.reference("mission", RecordType::Mission)?),
        };
        Ok(Incident {
            kind,
            site,
            started_at,
            ended_at,
            description,
            mission,
        })
    }

    fn appeal(&mut self) -> Result<Appeal, FieldError> {
        let channel = self.string("channel", 1, NAME_LENGTH)?;
        let kind = self.token("kind")?;
        let (site, zone) = match self.get("site") {
            None => (None, None),
            Some(_) => {
                let (site, zone) = self.site_reference("site")?;
                (Some(site), Some(zone))
            }
        };
        let received_at = self.time("received_at", zone.as_ref())?;
        let status = self.token("status")?;
        let handled_at = self.optional_time("handled_at", zone.as_ref())?;
        self.not_before(
            "handled_at",
            handled_at.as_ref(),
            &received_at,
            "received_at",
        )?;
        Ok(Appeal {
            channel,
            kind,
            received_at,
            site,
            status,
            handled_at,
            outcome: self.optional_text("outcome", TEXT_LENGTH)?,
        })
    }

    fn coverage(&mut self) -> Result<Coverage, FieldError> {
        let (site, zone) = self.site_reference("site")?;
        let start = self.time("start", Some(&zone))?;
        let end = self.time("end", Some(&zone))?;
        // A day-only end covers that whole day, so an equal day is fine.
        let ends_before = match (&start, &end) {
            (Time::Day(first), Time::Day(last)) => last < first,
            (_, Time::Day(last)) => *last < start.local_day(),
            _ => end.sort_key() <= start.sort_key(),
        };
        if ends_before {
            return self.fail("end", format!("{end} is not after start {start}"));
        }
        let mode = self.token("mode")?;
        let metrics = self.token_list::<FlowMetric>("metrics")?;
        let categories = match self.get("categories") {
            None => None,
            Some(_) => Some(self.token_list::<Category>("categories")?),
        };
        Ok(Coverage {
            site,
            start,
            end,
            mode,
            metrics,
            categories,
        })
    }

    fn token_list<T: Token + PartialEq>(&self, field: &str) -> Result<Vec<T>, FieldError> {
        let value = self.required(field)?;
        let Value::Array(items) = value else {
            return self.fail(field, format!("not a list: {}", shown(value)));
        };
        if items.is_empty() {
            return self.fail(field, "empty");
        }
        let mut tokens: Vec<T> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let token = self.token_value(&format!("{field}[{index}]"), item)?;
            if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
        Ok(tokens)
    }

    fn baseline(&mut self) -> Result<Baseline, FieldError> {
        let (site, _zone) = self.site_reference("site")?;
        let metric = self.token("metric")?;
        let direction = self.token("direction")?;
        let category = self.optional_token("category")?;
        let reference = match (
            self.get("per_day"),
            self.get("reference_from"),
            self.get("reference_to"),
        ) {
            (Some(value), None, None) => BaselineReference::Figure {
                per_day: self.number("per_day", value, MAX_PER_DAY)?,
            },
            (None, Some(_), Some(_)) => {
                let reference_from = self.date("reference_from")?;
                let reference_to = self.date("reference_to")?;
                if reference_to < reference_from {
                    return self.fail(
                        "reference_to",
                        format!("{reference_to} is before reference_from {reference_from}"),
                    );
                }
                BaselineReference::Period {
                    reference_from,
                    reference_to,
                }
            }
            (None, None, None) => {
                return self.fail(
                    "per_day",
                    "missing (give per_day, or reference_from and reference_to)",
                );
            }
            (Some(_), _, _) => {
                return self.fail(
                    "per_day",
                    "give either per_day or a reference period, not both",
                );
            }
            (None, None, Some(_)) => {
                return self.fail("reference_from", "missing (reference_to needs it)");
            }
            (None, Some(_), None) => {
                return self.fail("reference_to", "missing (reference_from needs it)");
            }
        };
        Ok(Baseline {
            site,
            metric,
            direction,
            category,
            reference,
        })
    }

    fn claim(&mut self) -> Result<Claim, FieldError> {
        let text = self.string("text", 1, STATEMENT_LENGTH)?;
        let speaker = self.string("speaker", 1, ATTRIBUTION_LENGTH)?;
        let said_on = self.date("said_on")?;
        let value = self.required("assertions")?;
        let Value::Array(items) = value else {
            return self.fail("assertions", format!("not a list: {}", shown(value)));
        };
        if items.is_empty() || items.len() > MAX_ASSERTIONS {
            return self.fail(
                "assertions",
                format!("{} assertions; give 1 to {MAX_ASSERTIONS}", items.len()),
            );
        }
        let mut assertions = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let Value::Object(object) = item else {
                return self.fail(
                    &format!("assertions[{index}]"),
                    format!("not an object: {}", shown(item)),
                );
            };
            let mut nothing = Vec::new();
            let reader = Reader {
                object,
                prefix: self.path(&format!("assertions[{index}].")),
                context: self.context,
                exact_times: &mut nothing,
            };
            assertions.push(reader.assertion()?);
        }
        Ok(Claim {
            text,
            speaker,
            said_on,
            assertions,
        })
    }

    fn assertion(&self) -> Result<Assertion, FieldError> {
        self.only(
            &[
                "metric",
                "op",
                "value",
                "tolerance",
                "from",
                "to",
                "sites",
                "category",
                "operator",
                "direction",
                "outcome",
                "cargo_kind",
                "attributes",
            ],
            "an assertion",
        )?;
        let metric: ClaimMetric = self.token("metric")?;
        let op: ComparisonOp = self.token("op")?;
        let raw_value = self.required("value")?;
        let value = if metric == ClaimMetric::AccessStatus {
            if !matches!(op, ComparisonOp::Eq | ComparisonOp::Ne) {
                return self.fail(
                    "op",
                    format!("{op} does not apply to an access status (eq, ne)"),
                );
            }
            AssertedValue::Status(self.token_value("value", raw_value)?)
        } else {
            AssertedValue::Number(self.number("value", raw_value, MAX_CLAIMED)?)
        };
        let tolerance = match (self.get("tolerance"), op) {
            (None, _) => None,
            (Some(_), op) if op != ComparisonOp::Approx => {
                return self.fail("tolerance", "only with op approx");
            }
            (Some(Value::String(text)), _) => match text
                .strip_suffix('%')
                .and_then(|number| number.trim().parse::<f64>().ok())
            {
                Some(percent) if (0.0..=100.0).contains(&percent) => {
                    Some(Tolerance::Relative(percent))
                }
                _ => {
                    return self.fail(
                        "tolerance",
                        format!("{text:?} is not a percentage like \"5%\""),
                    );
                }
            },
            (Some(value), _) => Some(Tolerance::Absolute(self.number(
                "tolerance",
                value,
                MAX_CLAIMED,
            )?)),
        };
        let from = self.date("from")?;
        let to = self.date("to")?;
        if to < from {
            return self.fail("to", format!("{to} is before from {from}"));
        }
        let sites = match self.get("sites") {
            None => Vec::new(),
            Some(_) => self.site_list("sites")?,
        };
        Ok(Assertion {
            metric,
            op,
            value,
            tolerance,
            from,
            to,
            sites,
            category: self.optional_token("category")?,
            operator: self.optional_string("operator", 1, NAME_LENGTH)?,
            direction: self.optional_token("direction")?,
            outcome: self.optional_token("outcome")?,
            cargo_kind: self.optional_string("cargo_kind", 1, KEY_LENGTH)?,
            attributes: self.string_map("attributes")?,
        })
    }

    fn correction(
        &mut self,
        id: &str,
        source: &Source,
        recorded_by: &str,
    ) -> Result<Correction, FieldError> {
        let corrects = self.string("corrects", 1, ID_LENGTH)?;
        check_id(&corrects).map_err(|reason| FieldError {
            field: self.path("corrects"),
            reason,
        })?;
        if corrects == id {
            return self.fail("corrects", "a record cannot correct itself");
        }
        let corrected_type = self
            .context
            .correctable(&corrects)
            .map_err(|reason| FieldError {
                field: self.path("corrects"),
                reason,
            })?;
        let reason = self.string("reason", 1, TEXT_LENGTH)?;
        let object = self.object;
        let value = match object.get("record").filter(|value| !value.is_null()) {
            Some(value) => value,
            None => return self.fail("record", "missing"),
        };
        let Value::Object(object) = value else {
            return self.fail("record", format!("not an object: {}", shown(value)));
        };
        let replacement = {
            let mut reader = Reader {
                object,
                prefix: self.path("record."),
                context: self.context,
                exact_times: self.exact_times,
            };
            reader.record(Some((&corrects, source, recorded_by)))?
        };
        if replacement.record_type() != corrected_type {
            return self.fail(
                "record.type",
                format!(
                    "{} does not match the corrected record, a {corrected_type}",
                    replacement.record_type()
                ),
            );
        }
        Ok(Correction {
            corrects,
            reason,
            record: Box::new(replacement),
        })
    }

    fn retraction(&self, id: &str) -> Result<Retraction, FieldError> {
        let retracts = self.string("retracts", 1, ID_LENGTH)?;
        check_id(&retracts).map_err(|reason| FieldError {
            field: self.path("retracts"),
            reason,
        })?;
        if retracts == id {
            return self.fail("retracts", "a record cannot retract itself");
        }
        self.context
            .correctable(&retracts)
            .map_err(|reason| FieldError {
                field: self.path("retracts"),
                reason,
            })?;
        Ok(Retraction {
            retracts,
            reason: self.string("reason", 1, TEXT_LENGTH)?,
        })
    }
}

/// Every top-level field a record of `record_type` may have.
pub fn record_fields(record_type: RecordType) -> Vec<&'static str> {
    let mut fields = COMMON_FIELDS.to_vec();
    fields.extend_from_slice(body_fields(record_type));
    fields
}

/// The fields a record type adds to the common ones.
fn body_fields(record_type: RecordType) -> &'static [&'static str] {
    match record_type {
        RecordType::Site => &[
            "name",
            "kind",
            "timezone",
            "latitude",
            "longitude",
            "direction_labels",
            "parent",
        ],
        RecordType::Passage => &[
            "site",
            "observed_at",
            "direction",
            "category",
            "operator",
            "vehicle_class",
            "count",
            "cargo",
            "passengers",
            "medical_evacuees",
            "outcome",
            "wait_minutes",
            "mission",
        ],
        RecordType::Mission => &[
            "kind",
            "organisation",
            "category",
            "sites",
            "planned_start",
            "planned_end",
            "plan",
            "outcome",
            "outcome_reason",
        ],
        RecordType::Incident => &[
            "kind",
            "site",
            "started_at",
            "ended_at",
            "description",
            "mission",
        ],
        RecordType::Appeal => &[
            "channel",
            "kind",
            "received_at",
            "site",
            "status",
            "handled_at",
            "outcome",
        ],
        RecordType::Coverage => &["site", "start", "end", "mode", "metrics", "categories"],
        RecordType::Baseline => &[
            "site",
            "metric",
            "direction",
            "category",
            "per_day",
            "reference_from",
            "reference_to",
        ],
        RecordType::Claim => &["text", "speaker", "said_on", "assertions"],
        RecordType::Correction => &["corrects", "reason", "record"],
        RecordType::Retraction => &["retracts", "reason"],
    }
}
