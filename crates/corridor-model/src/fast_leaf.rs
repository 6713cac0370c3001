//! The canonical public form of a passage written straight from the typed
//! record, without building a JSON value first: passages are nearly every
//! record of a bulk import, and this is its hottest path.
//!
//! The bytes must equal `to_canonical_vec(&record.to_public_json())`: a unit
//! test and a property test compare the two for many passages. Keys are
//! written in RFC 8785 order, which for these ASCII keys is byte order.

use crate::canonical::{CanonicalError, write_canonical, write_string};
use crate::record::{Body, Passage, Record, Source};

/// The canonical public bytes of `record` when it is a plain passage (not a
/// correction); `None` for every other record, which takes the general path.
///
/// # Errors
/// Only for a number JSON cannot carry exactly, which validation rules out.
pub fn canonical_public_passage(record: &Record) -> Result<Option<Vec<u8>>, CanonicalError> {
    let Body::Passage(passage) = &record.body else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(512);
    write_passage(record, passage, &mut out)?;
    Ok(Some(out))
}

/// Writes `,"key":` (or `"key":` for the first member).
fn key(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    write_string(name, out);
    out.push(b':');
}

fn integer(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(value.to_string().as_bytes());
}

fn write_passage(
    record: &Record,
    passage: &Passage,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    let mut first = true;
    out.push(b'{');
    if !record.attributes.is_empty() {
        key(out, &mut first, "attributes");
        out.push(b'{');
        // Attribute keys are ASCII (a-z 0-9 _ . -): byte order is UTF-16 order.
        for (index, (name, value)) in record.attributes.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_string(name, out);
            out.push(b':');
            write_string(value, out);
        }
        out.push(b'}');
    }
    if !passage.cargo.is_empty() {
        key(out, &mut first, "cargo");
        out.push(b'[');
        for (index, line) in passage.cargo.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"kind\":");
            write_string(&line.kind, out);
            if let Some(kilograms) = line.kilograms {
                out.extend_from_slice(b",\"tonnes\":");
                if kilograms % 1000 == 0 {
                    integer(out, kilograms / 1000);
                } else {
                    write_canonical(&serde_json::Value::from(kilograms as f64 / 1000.0), out)?;
                }
            }
            out.push(b'}');
        }
        out.push(b']');
    }
    key(out, &mut first, "category");
    write_string(passage.category.as_str(), out);
    key(out, &mut first, "count");
    integer(out, u64::from(passage.count));
    key(out, &mut first, "direction");
    write_string(passage.direction.as_str(), out);
    key(out, &mut first, "id");
    write_string(&record.id, out);
    if let Some(evacuees) = passage.medical_evacuees {
        key(out, &mut first, "medical_evacuees");
        integer(out, u64::from(evacuees));
    }
    if let Some(mission) = &passage.mission {
        key(out, &mut first, "mission");
        write_string(mission, out);
    }
    if let Some(notes) = &record.notes {
        key(out, &mut first, "notes");
        write_string(notes, out);
    }
    key(out, &mut first, "observed_at");
    write_string(&passage.observed_at.to_string(), out);
    if let Some(operator) = &passage.operator {
        key(out, &mut first, "operator");
        write_string(operator, out);
    }
    key(out, &mut first, "outcome");
    write_string(passage.outcome.as_str(), out);
    if let Some(passengers) = passage.passengers {
        key(out, &mut first, "passengers");
        integer(out, u64::from(passengers));
    }
    key(out, &mut first, "recorded_by");
    write_string(&record.recorded_by, out);
    key(out, &mut first, "site");
    write_string(&passage.site, out);
    key(out, &mut first, "source");
    write_source(&record.source, out);
    key(out, &mut first, "type");
    write_string("passage", out);
    key(out, &mut first, "vehicle_class");
    write_string(passage.vehicle_class.as_str(), out);
    if let Some(wait) = passage.wait_minutes {
        key(out, &mut first, "wait_minutes");
        integer(out, u64::from(wait));
    }
    out.push(b'}');
    Ok(())
}

fn write_source(source: &Source, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"kind\":");
    write_string(source.kind.as_str(), out);
    out.extend_from_slice(b",\"name\":");
    write_string(&source.name, out);
    if let Some(published_on) = &source.published_on {
        out.extend_from_slice(b",\"published_on\":");
        write_string(published_on, out);
    }
    if let Some(url) = &source.url {
        out.extend_from_slice(b",\"url\":");
        write_string(url, out);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::canonical::to_canonical_vec;
    use crate::record::Cargo;
    use crate::time::Time;
    use crate::vocab::{Category, Direction, Outcome, SourceKind, VehicleClass};

    /// The optional fields of a test passage.
    #[derive(Default)]
    struct Optional {
        passengers: Option<u32>,
        evacuees: Option<u32>,
        wait: Option<u32>,
        mission: Option<String>,
        operator: Option<String>,
        notes: Option<String>,
    }

    fn passage_record(
        attributes: BTreeMap<String, String>,
        cargo: Vec<Cargo>,
        optional: Optional,
        source: Source,
        text: String,
    ) -> Record {
        let Optional {
            passengers,
            evacuees,
            wait,
            mission,
            operator,
            notes,
        } = optional;
        let local = jiff::civil::date(2023, 1, 17).at(9, 40, 0, 120_000_000);
        Record {
            id: format!("p-{}", text.len()),
            source,
            recorded_by: text.clone(),
            attributes,
            notes,
            body: Body::Passage(Passage {
                site: "km-12".into(),
                observed_at: Time::At {
                    local,
                    offset: jiff::tz::Offset::constant(4),
                },
                direction: Direction::Inbound,
                category: Category::RedCross,
                operator,
                vehicle_class: VehicleClass::Truck,
                count: 3,
                cargo,
                passengers,
                medical_evacuees: evacuees,
                outcome: Outcome::Delayed,
                wait_minutes: wait,
                mission,
            }),
        }
    }

    fn both(record: &Record) -> (Vec<u8>, Vec<u8>) {
        let fast = canonical_public_passage(record)
            .expect("writes")
            .expect("a passage");
        let general = to_canonical_vec(&record.to_public_json()).expect("canonical");
        (fast, general)
    }

    #[test]
    fn a_full_passage_matches_the_general_path() {
        let attributes = [
            ("flag".to_string(), "TR".to_string()),
            ("a.b-c_d".to_string(), "x \"y\"\n".to_string()),
        ]
        .into_iter()
        .collect();
        let cargo = vec![
            Cargo {
                kind: "food".into(),
                kilograms: Some(12_500),
            },
            Cargo {
                kind: "fuel".into(),
                kilograms: None,
            },
            Cargo {
                kind: "grain".into(),
                kilograms: Some(30_000),
            },
        ];
        let source = Source {
            kind: SourceKind::Register,
            name: "Port log é".into(),
            url: Some("https://example.org/x".into()),
            published_on: Some("2023-01-20".into()),
        };
        let record = passage_record(
            attributes,
            cargo,
            Optional {
                passengers: Some(4),
                evacuees: Some(1),
                wait: Some(90),
                mission: Some("m-1".into()),
                operator: Some("ICRC".into()),
                notes: Some("note \u{1}".into()),
            },
            source,
            "team-a".into(),
        );
        let (fast, general) = both(&record);
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&general)
        );
    }

    #[test]
    fn other_records_take_the_general_path() {
        let mut record = passage_record(
            BTreeMap::new(),
            Vec::new(),
            Optional::default(),
            Source {
                kind: SourceKind::Document,
                name: "d".into(),
                url: None,
                published_on: None,
            },
            "t".into(),
        );
        record.body = Body::Retraction(crate::record::Retraction {
            retracts: "p-1".into(),
            reason: "r".into(),
        });
        assert_eq!(canonical_public_passage(&record).expect("writes"), None);
    }

    proptest! {
        #[test]
        fn any_passage_matches_the_general_path(
            attributes in proptest::collection::btree_map("[a-z0-9_.-]{1,8}", "\\PC{0,12}", 0..4),
            kilograms in proptest::collection::vec(proptest::option::of(0_u64..2_000_000_000), 0..4),
            passengers in proptest::option::of(0_u32..100_000),
            evacuees in proptest::option::of(0_u32..100_000),
            wait in proptest::option::of(0_u32..100_000),
            notes in proptest::option::of("\\PC{1,20}"),
            operator in proptest::option::of("\\PC{1,20}"),
            text in "\\PC{1,20}",
        ) {
            let cargo = kilograms.into_iter().enumerate().map(|(index, kilograms)| Cargo { kind: format!("kind-{index}"), kilograms }).collect();
            let source = Source { kind: SourceKind::MediaReport, name: text.clone(), url: None, published_on: None };
            let record = passage_record(attributes, cargo, Optional { passengers, evacuees, wait, mission: None, operator, notes }, source, text);
            let (fast, general) = both(&record);
            prop_assert_eq!(fast, general);
        }
    }
}
