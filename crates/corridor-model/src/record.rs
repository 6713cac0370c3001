//! The typed records: what each of the ten record types holds once validated.
//!
//! Field names and meanings are documented for users in `docs/records.md`;
//! the public JSON written by [`Record::to_public_json`] is the `record` member
//! of a log leaf, so its shape is a published format.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::time::Time;
use crate::vocab::{
    AppealKind, AppealStatus, BaselineDirection, Category, ClaimMetric, ComparisonOp, CoverageMode,
    Direction, FlowMetric, IncidentKind, MissionKind, MissionOutcome, Outcome, RecordType,
    SiteKind, SourceKind, VehicleClass,
};

/// One validated record: the fields every record has, and its type's body.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record's own id; for the replacement inside a correction, the id
    /// of the record it replaces.
    pub id: String,
    pub source: Source,
    pub recorded_by: String,
    pub attributes: BTreeMap<String, String>,
    pub notes: Option<String>,
    pub body: Body,
}

/// Where a record's information comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub kind: SourceKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_on: Option<String>,
}

/// The part of a record that depends on its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Site(Site),
    Passage(Passage),
    Mission(Mission),
    Incident(Incident),
    Appeal(Appeal),
    Coverage(Coverage),
    Baseline(Baseline),
    Claim(Claim),
    Correction(Correction),
    Retraction(Retraction),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    pub name: String,
    pub kind: SiteKind,
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction_labels: Option<DirectionLabels>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectionLabels {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound: Option<String>,
}

/// Vehicles passing a site at a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Passage {
    pub site: String,
    pub observed_at: Time,
    pub direction: Direction,
    pub category: Category,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    pub vehicle_class: VehicleClass,
    pub count: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cargo: Vec<Cargo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passengers: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medical_evacuees: Option<u32>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mission: Option<String>,
}

/// One line of a vehicle's load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cargo {
    pub kind: String,
    /// Kilograms, so that sums are exact; published as tonnes.
    #[serde(
        rename = "tonnes",
        serialize_with = "serialize_tonnes",
        skip_serializing_if = "Option::is_none"
    )]
    pub kilograms: Option<u64>,
}

impl Passage {
    /// The total load in kilograms, or `None` when no cargo line gives a weight.
    pub fn kilograms(&self) -> Option<u64> {
        self.cargo
            .iter()
            .filter_map(|line| line.kilograms)
            .reduce(|sum, kilograms| sum + kilograms)
    }
}

/// Writes kilograms as tonnes with at most three decimals, as an integer when whole.
fn serialize_tonnes<S: serde::Serializer>(
    kilograms: &Option<u64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match kilograms {
        Some(kilograms) if kilograms % 1000 == 0 => serializer.serialize_u64(kilograms / 1000),
        // Kilograms below 2^53 are exact in f64, and dividing by 1000 yields the
        // double nearest the decimal, which prints back as that decimal.
        Some(kilograms) => serializer.serialize_f64(*kilograms as f64 / 1000.0),
        None => serializer.serialize_none(),
    }
}

/// A planned movement or visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mission {
    pub kind: MissionKind,
    pub organisation: String,
    pub category: Category,
    pub sites: Vec<String>,
    pub planned_start: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_end: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    pub outcome: MissionOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_reason: Option<String>,
}

/// An access constraint or event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub kind: IncidentKind,
    pub site: String,
    pub started_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Time>,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mission: Option<String>,
}

/// A request to a hotline or desk and how it was handled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Appeal {
    pub channel: String,
    pub kind: AppealKind,
    pub received_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub status: AppealStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handled_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// When a site was actually watched, and for which metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub site: String,
    pub start: Time,
    pub end: Time,
    pub mode: CoverageMode,
    pub metrics: Vec<FlowMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<Category>>,
}

/// What normally passed a site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    pub site: String,
    pub metric: FlowMetric,
    pub direction: BaselineDirection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(flatten)]
    pub reference: BaselineReference,
}

/// A baseline is a sourced figure or a reference period in the data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BaselineReference {
    Figure {
        per_day: f64,
    },
    Period {
        reference_from: String,
        reference_to: String,
    },
}

/// A public statement with structured assertions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    pub text: String,
    pub speaker: String,
    pub said_on: String,
    pub assertions: Vec<Assertion>,
}

/// One checkable statement inside a claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assertion {
    pub metric: ClaimMetric,
    pub op: ComparisonOp,
    pub value: AssertedValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Tolerance>,
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cargo_kind: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// The claimed figure: a number, or an access status.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AssertedValue {
    Number(f64),
    Status(crate::vocab::AccessStatus),
}

/// How far an `approx` figure may be from the computed one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    Absolute(f64),
    /// Percent of the claimed value.
    Relative(f64),
}

impl Serialize for Tolerance {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Tolerance::Absolute(value) => serializer.serialize_f64(*value),
            Tolerance::Relative(percent) => serializer.collect_str(&format_args!("{percent}%")),
        }
    }
}

/// A full replacement of an earlier record's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub corrects: String,
    pub reason: String,
    pub record: Box<Record>,
}

/// The withdrawal of an earlier record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retraction {
    pub retracts: String,
    pub reason: String,
}

impl Body {
    /// The record type this body belongs to.
    pub fn record_type(&self) -> RecordType {
        match self {
            Body::Site(_) => RecordType::Site,
            Body::Passage(_) => RecordType::Passage,
            Body::Mission(_) => RecordType::Mission,
            Body::Incident(_) => RecordType::Incident,
            Body::Appeal(_) => RecordType::Appeal,
            Body::Coverage(_) => RecordType::Coverage,
            Body::Baseline(_) => RecordType::Baseline,
            Body::Claim(_) => RecordType::Claim,
            Body::Correction(_) => RecordType::Correction,
            Body::Retraction(_) => RecordType::Retraction,
        }
    }
}

impl Record {
    /// The record's type.
    pub fn record_type(&self) -> RecordType {
        self.body.record_type()
    }

    /// The id of the logical record this one writes: its own id, or for a
    /// correction or retraction the id of the record it changes.
    pub fn target_id(&self) -> &str {
        match &self.body {
            Body::Correction(correction) => &correction.corrects,
            Body::Retraction(retraction) => &retraction.retracts,
            _ => &self.id,
        }
    }

    /// The content of the record as it now stands: for a correction, its replacement.
    pub fn effective(&self) -> &Record {
        match &self.body {
            Body::Correction(correction) => correction.record.effective(),
            _ => self,
        }
    }

    /// The public JSON object: everything but the private part, normalized
    /// (defaults explicit, times in the site's offset).
    pub fn to_public_json(&self) -> Value {
        Value::Object(self.public_fields(true))
    }

    fn public_fields(&self, with_id: bool) -> Map<String, Value> {
        let mut object = Map::new();
        object.insert("type".into(), Value::from(self.record_type().as_str()));
        if with_id {
            object.insert("id".into(), Value::from(self.id.as_str()));
        }
        let body = match &self.body {
            Body::Site(site) => to_object(site),
            Body::Passage(passage) => to_object(passage),
            Body::Mission(mission) => to_object(mission),
            Body::Incident(incident) => to_object(incident),
            Body::Appeal(appeal) => to_object(appeal),
            Body::Coverage(coverage) => to_object(coverage),
            Body::Baseline(baseline) => to_object(baseline),
            Body::Claim(claim) => to_object(claim),
            Body::Retraction(retraction) => to_object(retraction),
            Body::Correction(correction) => {
                let mut fields = Map::new();
                fields.insert("corrects".into(), Value::from(correction.corrects.as_str()));
                fields.insert("reason".into(), Value::from(correction.reason.as_str()));
                fields.insert(
                    "record".into(),
                    Value::Object(correction.record.public_fields(false)),
                );
                fields
            }
        };
        object.extend(body);
        object.insert("source".into(), Value::Object(to_object(&self.source)));
        object.insert("recorded_by".into(), Value::from(self.recorded_by.as_str()));
        if !self.attributes.is_empty() {
            let attributes = self
                .attributes
                .iter()
                .map(|(key, value)| (key.clone(), Value::from(value.as_str())));
            object.insert("attributes".into(), Value::Object(attributes.collect()));
        }
        if let Some(notes) = &self.notes {
            object.insert("notes".into(), Value::from(notes.as_str()));
        }
        object
    }
}

fn to_object<T: Serialize>(value: &T) -> Map<String, Value> {
    // The body types hold only strings, tokens, integers, finite floats and
    // times, all of which serialize to JSON without error.
    match serde_json::to_value(value) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    }
}
