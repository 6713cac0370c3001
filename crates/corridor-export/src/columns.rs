//! The columns of each record type in CSV, HXL CSV and xlsx exports: a
//! snake_case header, a readable label, an HXL hashtag (hxlstandard.org
//! dictionary, documented in docs/export.md) and how to read the cell from
//! a record's public form. Nested fields are flattened here.

use corridor_model::RecordType;
use serde_json::{Map, Value};

/// What a cell holds, so that xlsx can write numbers and real dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Text,
    Number,
    /// A record time: `YYYY-MM-DDTHH:MM:SS+HH:MM` (site-local) or a day.
    Time,
    /// A calendar day, `YYYY-MM-DD`.
    Date,
}

/// How a column reads its value.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// A member by dotted path (`source.name`); arrays are joined with `; `.
    Field(&'static str),
    /// `kind` of every cargo line, joined.
    CargoKinds,
    /// The sum of the cargo lines' tonnes, when any line gives one.
    CargoTonnes,
    /// Every cargo line as `kind tonnes t`, joined.
    CargoLines,
    /// The free attributes as `key=value`, joined.
    Attributes,
    /// A member written as compact JSON (claim assertions, a correction's record).
    Json(&'static str),
}

/// One column of an export.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub label: &'static str,
    pub hxl: &'static str,
    pub kind: CellKind,
    read: Read,
}

const fn column(
    header: &'static str,
    label: &'static str,
    hxl: &'static str,
    kind: CellKind,
    read: Read,
) -> Column {
    Column {
        header,
        label,
        hxl,
        kind,
        read,
    }
}

const fn text(header: &'static str, label: &'static str, hxl: &'static str) -> Column {
    column(header, label, hxl, CellKind::Text, Read::Field(header))
}

const fn number(header: &'static str, label: &'static str, hxl: &'static str) -> Column {
    column(header, label, hxl, CellKind::Number, Read::Field(header))
}

const fn time(header: &'static str, label: &'static str, hxl: &'static str) -> Column {
    column(header, label, hxl, CellKind::Time, Read::Field(header))
}

const fn date(header: &'static str, label: &'static str, hxl: &'static str) -> Column {
    column(header, label, hxl, CellKind::Date, Read::Field(header))
}

const SITE_REFERENCE: Column = text("site", "Site", "#loc+code");

/// The columns every record type ends with.
const COMMON: &[Column] = &[
    column(
        "source_kind",
        "Source kind",
        "#meta+source+type",
        CellKind::Text,
        Read::Field("source.kind"),
    ),
    column(
        "source_name",
        "Source",
        "#meta+source",
        CellKind::Text,
        Read::Field("source.name"),
    ),
    column(
        "source_url",
        "Source URL",
        "#meta+url",
        CellKind::Text,
        Read::Field("source.url"),
    ),
    column(
        "source_published_on",
        "Source published on",
        "#date+published",
        CellKind::Date,
        Read::Field("source.published_on"),
    ),
    text("recorded_by", "Recorded by", "#meta+recorded_by"),
    text("notes", "Notes", "#description+notes"),
    column(
        "attributes",
        "Attributes",
        "#meta+attributes",
        CellKind::Text,
        Read::Attributes,
    ),
];

/// The columns of a record type's own fields, after `id` and before [`COMMON`].
fn own_columns(record_type: RecordType) -> Vec<Column> {
    match record_type {
        RecordType::Site => vec![
            text("name", "Name", "#loc+name"),
            text("kind", "Kind", "#loc+type"),
            text("timezone", "Time zone", "#meta+timezone"),
            number("latitude", "Latitude", "#geo+lat"),
            number("longitude", "Longitude", "#geo+lon"),
            text("parent", "Parent site", "#loc+code+parent"),
            column(
                "inbound_label",
                "Inbound means",
                "#meta+label+inbound",
                CellKind::Text,
                Read::Field("direction_labels.inbound"),
            ),
            column(
                "outbound_label",
                "Outbound means",
                "#meta+label+outbound",
                CellKind::Text,
                Read::Field("direction_labels.outbound"),
            ),
        ],
        RecordType::Passage => vec![
            SITE_REFERENCE,
            time("observed_at", "Observed at (site time)", "#date+observed"),
            text("direction", "Direction", "#meta+direction"),
            text("category", "Operator category", "#org+type"),
            text("operator", "Operator", "#org+name"),
            text("vehicle_class", "Vehicle class", "#item+type+vehicle"),
            number("count", "Vehicles", "#indicator+vehicles+num"),
            column(
                "cargo_kinds",
                "Cargo kinds",
                "#item+name+cargo",
                CellKind::Text,
                Read::CargoKinds,
            ),
            column(
                "cargo_tonnes",
                "Cargo (tonnes)",
                "#indicator+tonnes+num",
                CellKind::Number,
                Read::CargoTonnes,
            ),
            column(
                "cargo_lines",
                "Cargo lines",
                "#item+cargo+list",
                CellKind::Text,
                Read::CargoLines,
            ),
            number("passengers", "Passengers", "#indicator+passengers+num"),
            number(
                "medical_evacuees",
                "Medical evacuees",
                "#indicator+evacuees+num",
            ),
            text("outcome", "Outcome", "#status+outcome"),
            number("wait_minutes", "Wait (minutes)", "#indicator+wait+num"),
            text("mission", "Mission", "#activity+code"),
        ],
        RecordType::Mission => vec![
            text("kind", "Kind", "#activity+type"),
            text("organisation", "Organisation", "#org+name"),
            text("category", "Operator category", "#org+type"),
            text("sites", "Sites", "#loc+code+list"),
            time("planned_start", "Planned start (site time)", "#date+start"),
            time("planned_end", "Planned end (site time)", "#date+end"),
            text("plan", "Plan", "#description+plan"),
            text("outcome", "Outcome", "#status+outcome"),
            text("outcome_reason", "Outcome reason", "#description+reason"),
        ],
        RecordType::Incident => vec![
            text("kind", "Kind", "#event+type"),
            SITE_REFERENCE,
            time("started_at", "Started at (site time)", "#date+start"),
            time("ended_at", "Ended at (site time)", "#date+end"),
            text("description", "Description", "#description"),
            text("mission", "Mission", "#activity+code"),
        ],
        RecordType::Appeal => vec![
            text("channel", "Channel", "#channel"),
            text("kind", "Kind", "#meta+appeal+type"),
            time("received_at", "Received at (site time)", "#date+received"),
            SITE_REFERENCE,
            text("status", "Status", "#status"),
            time("handled_at", "Handled at (site time)", "#date+handled"),
            text("outcome", "Outcome", "#description+outcome"),
        ],
        RecordType::Coverage => vec![
            SITE_REFERENCE,
            time("start", "Watched from (site time)", "#date+start"),
            time("end", "Watched until (site time)", "#date+end"),
            text("mode", "Mode", "#meta+mode"),
            text("metrics", "Metrics counted", "#indicator+name+list"),
            text("categories", "Categories counted", "#org+type+list"),
        ],
        RecordType::Baseline => vec![
            SITE_REFERENCE,
            text("metric", "Metric", "#indicator+name"),
            text("direction", "Direction", "#meta+direction"),
            text("category", "Operator category", "#org+type"),
            number("per_day", "Per day", "#indicator+per_day+num"),
            date(
                "reference_from",
                "Reference period from",
                "#date+start+reference",
            ),
            date("reference_to", "Reference period to", "#date+end+reference"),
        ],
        RecordType::Claim => vec![
            text("speaker", "Speaker", "#org+name+speaker"),
            date("said_on", "Said on", "#date+reported"),
            text("text", "Statement", "#description"),
            column(
                "assertions",
                "Assertions (JSON)",
                "#meta+assertions",
                CellKind::Text,
                Read::Json("assertions"),
            ),
        ],
        RecordType::Correction => vec![
            text("corrects", "Corrects", "#meta+id+target"),
            text("reason", "Reason", "#description+reason"),
            column(
                "record_type",
                "Type of the replacement",
                "#meta+type",
                CellKind::Text,
                Read::Field("record.type"),
            ),
            column(
                "record",
                "Replacement (JSON)",
                "#meta+record",
                CellKind::Text,
                Read::Json("record"),
            ),
        ],
        RecordType::Retraction => vec![
            text("retracts", "Retracts", "#meta+id+target"),
            text("reason", "Reason", "#description+reason"),
        ],
    }
}

/// Every column of a record type, in output order: `id`, its own fields,
/// the source and the other common fields. `leaf_index`, `correction_id`
/// and `private` follow them in every export (see [`TRAILING`]).
pub fn columns(record_type: RecordType) -> Vec<Column> {
    let id_tag = match record_type {
        RecordType::Site => "#loc+code",
        RecordType::Mission => "#activity+code",
        RecordType::Incident => "#event+code",
        _ => "#meta+id",
    };
    let mut all = vec![text("id", "Id", id_tag)];
    all.extend(own_columns(record_type));
    all.extend_from_slice(COMMON);
    all
}

/// The columns after a record's own, filled from where it is stored.
pub const TRAILING: &[(&str, &str, &str)] = &[
    ("leaf_index", "Leaf index", "#meta+leaf+num"),
    (
        "correction_id",
        "Current version (correction)",
        "#meta+id+correction",
    ),
];

/// The column of the private part (`--private` only).
pub const PRIVATE: (&str, &str, &str) = ("private", "Private part (JSON)", "#meta+private");

/// One cell, as a column reads it from a public form; `None` when empty.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
}

impl Column {
    /// Reads this column's cell from a record's public form.
    pub fn read(&self, record: &Map<String, Value>) -> Option<Cell> {
        match self.read {
            Read::Field(path) => {
                let value = member(record, path)?;
                match (self.kind, value) {
                    (CellKind::Number, Value::Number(number)) => number.as_f64().map(Cell::Number),
                    (_, other) => plain(other).map(Cell::Text),
                }
            }
            Read::CargoKinds => {
                let kinds: Vec<String> = cargo_lines(record)
                    .filter_map(|line| line.get("kind").and_then(plain))
                    .collect();
                (!kinds.is_empty()).then(|| Cell::Text(kinds.join("; ")))
            }
            Read::CargoTonnes => {
                let tonnes: Vec<f64> = cargo_lines(record)
                    .filter_map(|line| line.get("tonnes").and_then(Value::as_f64))
                    .collect();
                // Summed in kilograms, as the rollups do, so that the total is exact.
                let kilograms: f64 = tonnes.iter().map(|t| (t * 1000.0).round()).sum();
                (!tonnes.is_empty()).then(|| Cell::Number(kilograms / 1000.0))
            }
            Read::CargoLines => {
                let lines: Vec<String> = cargo_lines(record)
                    .map(|line| {
                        let kind = line.get("kind").and_then(plain).unwrap_or_default();
                        match line.get("tonnes") {
                            Some(tonnes) => format!("{kind} {tonnes} t"),
                            None => kind,
                        }
                    })
                    .collect();
                (!lines.is_empty()).then(|| Cell::Text(lines.join("; ")))
            }
            Read::Attributes => {
                let attributes = record.get("attributes")?.as_object()?;
                let pairs: Vec<String> = attributes
                    .iter()
                    .map(|(key, value)| format!("{key}={}", plain(value).unwrap_or_default()))
                    .collect();
                (!pairs.is_empty()).then(|| Cell::Text(pairs.join("; ")))
            }
            Read::Json(path) => member(record, path).map(|value| Cell::Text(value.to_string())),
        }
    }
}

fn member<'v>(record: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut value = record.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    (!value.is_null()).then_some(value)
}

fn cargo_lines(record: &Map<String, Value>) -> impl Iterator<Item = &Map<String, Value>> {
    record
        .get("cargo")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// A value as cell text: strings as they are, lists joined with `; `.
fn plain(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(plain)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cargo_lines_are_flattened_into_kinds_a_total_and_lines() {
        let record = json!({"cargo": [{"kind": "food", "tonnes": 12.5}, {"kind": "fuel"}, {"kind": "medicine", "tonnes": 0.1}]});
        let record = record.as_object().cloned().unwrap_or_default();
        let read = |header: &str| {
            columns(RecordType::Passage)
                .into_iter()
                .find(|column| column.header == header)
                .and_then(|column| column.read(&record))
        };
        assert_eq!(
            read("cargo_kinds"),
            Some(Cell::Text("food; fuel; medicine".into()))
        );
        assert_eq!(read("cargo_tonnes"), Some(Cell::Number(12.6)));
        assert_eq!(
            read("cargo_lines"),
            Some(Cell::Text("food 12.5 t; fuel; medicine 0.1 t".into()))
        );
        assert_eq!(read("passengers"), None);
    }

    #[test]
    fn every_type_has_unique_headers_and_well_formed_hashtags() {
        for record_type in RecordType::ALL {
            let all = columns(*record_type);
            for (position, column) in all.iter().enumerate() {
                assert!(
                    all[..position]
                        .iter()
                        .all(|other| other.header != column.header),
                    "{record_type}: {} twice",
                    column.header
                );
                assert!(column.hxl.starts_with('#'), "{}", column.hxl);
                assert!(
                    column.hxl[1..].split('+').all(|part| !part.is_empty()
                        && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
                    "{}",
                    column.hxl
                );
            }
        }
    }
}
