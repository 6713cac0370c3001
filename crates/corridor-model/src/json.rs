//! Submitted JSON read strictly: a key repeated inside one object is noted
//! (with its path) instead of silently replacing the first value.
//!
//! `serde_json::Value`'s own deserializer keeps the last of two equal keys,
//! so `{"category": "un", "category": "military"}` would store `military`
//! and lose what the observer first wrote. The visitor here builds the same
//! `Value` in the same single pass, with serde_json's number handling
//! untouched, and records the first repeated key it meets. Parsing goes on
//! to the end of the text, so the record can still be named in the error.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

use crate::error::{Location, RecordError};
use crate::parse::{FieldError, peek_identity};

/// One JSON value parsed strictly.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictValue {
    pub value: Value,
    /// Path of the first key repeated inside one object, e.g. `source.name`
    /// or `cargo[1].kind`; the value kept under it is the first one.
    pub repeated_key: Option<String>,
}

/// A request body: one JSON value, or a top-level array whose items are
/// judged one by one (a repeated key in one item is that item's error).
#[derive(Debug, Clone, PartialEq)]
pub enum StrictDocument {
    Single(StrictValue),
    Items(Vec<StrictValue>),
}

/// Parses one JSON text strictly.
///
/// # Errors
/// The text is not JSON (serde_json's message, with line and column).
pub fn parse_value(text: &[u8]) -> Result<StrictValue, serde_json::Error> {
    let mut repeated_key = None;
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let value = Strict {
        path: Path::Root,
        repeated_key: &mut repeated_key,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(StrictValue {
        value,
        repeated_key,
    })
}

/// Parses a request body strictly: a top-level array becomes its items, each
/// with its own repeated-key note and paths counted from the item.
///
/// # Errors
/// The text is not JSON (serde_json's message, with line and column).
pub fn parse_document(text: &[u8]) -> Result<StrictDocument, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let document = deserializer.deserialize_any(DocumentVisitor)?;
    deserializer.end()?;
    Ok(document)
}

impl StrictValue {
    /// The record object this value must be, or the error of the record at
    /// `location`: not an object, or an object with a repeated key (named
    /// with its path, and the record named by its first `type` and `id`).
    ///
    /// # Errors
    /// As above.
    pub fn into_record_object(self, location: Location) -> Result<Map<String, Value>, RecordError> {
        let Value::Object(object) = self.value else {
            return Err(RecordError {
                location,
                record_type: None,
                id: None,
                error: FieldError {
                    field: String::new(),
                    reason: "not a JSON object".into(),
                },
            });
        };
        match self.repeated_key {
            None => Ok(object),
            Some(path) => {
                let (record_type, id) = peek_identity(&object);
                Err(RecordError {
                    location,
                    record_type: record_type.map(str::to_string),
                    id: id.map(str::to_string),
                    error: repeated_key_error(path),
                })
            }
        }
    }
}

/// The error for a key given twice in one object.
pub fn repeated_key_error(path: String) -> FieldError {
    FieldError {
        field: path,
        reason: "appears more than once in the same object; give each key once".into(),
    }
}

/// Where a value sits inside the text, built on the stack as the parser
/// descends and written out only when a repeated key is found.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => formatter.write_str(key),
            Path::Key(parent, key) => write!(formatter, "{parent}.{key}"),
            Path::Index(parent, index) => write!(formatter, "{parent}[{index}]"),
        }
    }
}

/// Deserializes one value at `path`, noting the first repeated key.
struct Strict<'p, 'r> {
    path: Path<'p>,
    repeated_key: &'r mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_, '_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // As serde_json's own Value: it never hands over a non-finite number.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(value) = items.next_element_seed(Strict {
            path: Path::Index(&self.path, values.len()),
            repeated_key: &mut *self.repeated_key,
        })? {
            values.push(value);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            match object.entry(key) {
                Entry::Vacant(vacant) => {
                    let value = entries.next_value_seed(Strict {
                        path: Path::Key(&self.path, vacant.key()),
                        repeated_key: &mut *self.repeated_key,
                    })?;
                    vacant.insert(value);
                }
                Entry::Occupied(occupied) => {
                    if self.repeated_key.is_none() {
                        *self.repeated_key =
                            Some(Path::Key(&self.path, occupied.key()).to_string());
                    }
                    // The repeated value is read (it must still be JSON) and dropped.
                    entries.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(object))
    }
}

/// The top level of a request body: an array is split into its items.
struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = StrictDocument;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<StrictDocument, A::Error> {
        let mut values = Vec::with_capacity(items.size_hint().unwrap_or(0));
        loop {
            let mut repeated_key = None;
            let Some(value) = items.next_element_seed(Strict {
                path: Path::Root,
                repeated_key: &mut repeated_key,
            })?
            else {
                break;
            };
            values.push(StrictValue {
                value,
                repeated_key,
            });
        }
        Ok(StrictDocument::Items(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, entries: A) -> Result<StrictDocument, A::Error> {
        let mut repeated_key = None;
        let value = Strict {
            path: Path::Root,
            repeated_key: &mut repeated_key,
        }
        .visit_map(entries)?;
        Ok(StrictDocument::Single(StrictValue {
            value,
            repeated_key,
        }))
    }

    // Any other top-level value is a single value with no keys to repeat.
    fn visit_bool<E>(self, value: bool) -> Result<StrictDocument, E> {
        Ok(single(Value::Bool(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<StrictDocument, E> {
        Ok(single(Value::Number(value.into())))
    }

    fn visit_u64<E>(self, value: u64) -> Result<StrictDocument, E> {
        Ok(single(Value::Number(value.into())))
    }

    fn visit_f64<E>(self, value: f64) -> Result<StrictDocument, E> {
        Ok(single(
            Number::from_f64(value).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, value: &str) -> Result<StrictDocument, E> {
        Ok(single(Value::String(value.to_owned())))
    }

    fn visit_unit<E>(self) -> Result<StrictDocument, E> {
        Ok(single(Value::Null))
    }
}

fn single(value: Value) -> StrictDocument {
    StrictDocument::Single(StrictValue {
        value,
        repeated_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repeated(text: &str) -> Option<String> {
        parse_value(text.as_bytes()).expect("JSON").repeated_key
    }

    #[test]
    fn a_repeated_key_is_named_with_its_path_at_any_depth() {
        assert_eq!(repeated(r#"{"a": 1, "a": 2}"#).as_deref(), Some("a"));
        assert_eq!(
            repeated(r#"{"source": {"name": "A", "kind": "x", "name": "B"}}"#).as_deref(),
            Some("source.name")
        );
        assert_eq!(
            repeated(r#"{"cargo": [{"kind": "food"}, {"kind": "food", "kind": "fuel"}]}"#)
                .as_deref(),
            Some("cargo[1].kind")
        );
        assert_eq!(
            repeated(r#"{"record": {"private": {}, "x": {"p": 1, "p": 1}}}"#).as_deref(),
            Some("record.x.p")
        );
        assert_eq!(
            repeated(r#"[{"a": 1}, {"b": [{"c": 1, "c": 2}]}]"#).as_deref(),
            Some("[1].b[0].c")
        );
        assert_eq!(repeated(r#"{"a": {"a": 1}, "b": [1, 1]}"#), None);
    }

    #[test]
    fn the_first_value_is_kept_and_the_first_repeat_reported() {
        let parsed = parse_value(br#"{"b": 1, "a": 1, "a": 2, "b": 3}"#).expect("JSON");
        assert_eq!(parsed.value, serde_json::json!({"a": 1, "b": 1}));
        assert_eq!(parsed.repeated_key.as_deref(), Some("a"));
    }

    #[test]
    fn values_are_those_serde_json_builds() {
        for text in [
            r#"{"n": 1, "m": -1, "f": 1.5, "big": 18446744073709551617, "e": 1e300}"#,
            r#"{"t": 0.1, "u": 2.0, "s": "\u00e9\n", "z": null, "b": [true, false, {}]}"#,
            r#"[1, "two", [3]]"#,
            "12.345678901234567",
        ] {
            let ours = parse_value(text.as_bytes()).expect("JSON").value;
            let theirs: Value = serde_json::from_str(text).expect("JSON");
            assert_eq!(ours, theirs, "{text}");
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }

    #[test]
    fn errors_and_trailing_text_are_serde_json_errors() {
        for text in [r#"{"a": 1,}"#, r#"{"a": 1} x"#, "", r#"{"a": 1, "a": }"#] {
            let ours = parse_value(text.as_bytes()).expect_err(text).to_string();
            if !text.contains(r#""a": 1, "a""#) {
                let theirs = serde_json::from_str::<Value>(text)
                    .expect_err(text)
                    .to_string();
                assert_eq!(ours, theirs, "{text}");
            }
        }
    }

    #[test]
    fn a_document_array_is_judged_item_by_item() {
        let document = parse_document(br#"[{"a": 1}, {"a": 1, "a": 2}, 3]"#).expect("JSON");
        let StrictDocument::Items(items) = document else {
            panic!("an array is items");
        };
        let notes: Vec<Option<&str>> = items
            .iter()
            .map(|item| item.repeated_key.as_deref())
            .collect();
        assert_eq!(notes, [None, Some("a"), None]);
        assert_eq!(
            parse_document(br#"{"x": [1], "x": 2}"#).expect("JSON"),
            StrictDocument::Single(StrictValue {
                value: serde_json::json!({"x": [1]}),
                repeated_key: Some("x".into()),
            })
        );
        assert!(parse_document(b"[1] [2]").is_err());
    }

    #[test]
    fn a_record_with_a_repeated_key_is_refused_naming_the_record() {
        let parsed = parse_value(
            br#"{"type": "passage", "id": "p-1", "category": "un", "category": "military"}"#,
        )
        .expect("JSON");
        let error = parsed
            .into_record_object(Location::Line(4))
            .expect_err("refused");
        assert_eq!(
            error.to_string(),
            "line 4 (passage p-1): category: appears more than once in the same object; give each key once"
        );
        let error = parse_value(b"[1]")
            .expect("JSON")
            .into_record_object(Location::Item(0))
            .expect_err("refused");
        assert_eq!(error.to_string(), "item 0: not a JSON object");
    }
}
