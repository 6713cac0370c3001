//! A statistics report as typed values: the query, the totals and one row
//! per group, each row its dimension labels and its figures. Pages read the
//! fields; JSON is made only when a report is serialized, in the one shape
//! that the CLI, the server and reports share:
//! `{"query": {...}, "totals": {metric: value}, "rows": [{dimension: value, ..., metric: value, ...}]}`.
//!
//! A metric with no data is `None` (`null`), never `0`: "no passenger counts
//! were reported" and "no passengers" are different statements.

use corridor_model::FlowMetric;
use corridor_store::Metrics;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::access::BaselineFigure;
use crate::numbers::figure_json;
use crate::query::{StatsDimension, StatsQuery};

/// The metrics every statistics row carries, in output order.
pub const METRICS: [FlowMetric; 5] = [
    FlowMetric::Vehicles,
    FlowMetric::Passages,
    FlowMetric::Passengers,
    FlowMetric::MedicalEvacuees,
    FlowMetric::Tonnes,
];

/// The figures of one group; `None` where no record in the group gave the figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Figures {
    pub vehicles: Option<i64>,
    pub passages: Option<i64>,
    pub passengers: Option<i64>,
    pub medical_evacuees: Option<i64>,
    /// Cargo weight, kept in kilograms so that whole tonnes stay whole numbers.
    pub kilograms: Option<i64>,
}

impl Figures {
    /// The figures of a rollup sum: vehicles and passages where any passage
    /// was counted, the others where any passage reported them.
    pub fn of(metrics: &Metrics) -> Figures {
        let counted = metrics.passages > 0;
        Figures {
            vehicles: counted.then_some(metrics.vehicles),
            passages: counted.then_some(metrics.passages),
            passengers: (metrics.passengers_reported > 0).then_some(metrics.passengers),
            medical_evacuees: (metrics.medical_evacuees_reported > 0)
                .then_some(metrics.medical_evacuees),
            kilograms: (metrics.kilograms_reported > 0).then_some(metrics.kilograms),
        }
    }

    /// Cargo weight in tonnes.
    pub fn tonnes(&self) -> Option<f64> {
        self.kilograms.map(|kilograms| kilograms as f64 / 1000.0)
    }

    /// The figure of `metric`, as a number to compute or show with.
    pub fn get(&self, metric: FlowMetric) -> Option<f64> {
        match metric {
            FlowMetric::Vehicles => self.vehicles.map(|value| value as f64),
            FlowMetric::Passages => self.passages.map(|value| value as f64),
            FlowMetric::Passengers => self.passengers.map(|value| value as f64),
            FlowMetric::MedicalEvacuees => self.medical_evacuees.map(|value| value as f64),
            FlowMetric::Tonnes => self.tonnes(),
        }
    }

    /// The figure of `metric` as JSON: counts as integers, tonnes as an
    /// integer when whole, `null` where no record gave it.
    fn json(&self, metric: FlowMetric) -> Value {
        let count = |value: Option<i64>| value.map_or(Value::Null, Value::from);
        match metric {
            FlowMetric::Vehicles => count(self.vehicles),
            FlowMetric::Passages => count(self.passages),
            FlowMetric::Passengers => count(self.passengers),
            FlowMetric::MedicalEvacuees => count(self.medical_evacuees),
            FlowMetric::Tonnes => self.kilograms.map_or(Value::Null, tonnes_json),
        }
    }
}

/// Kilograms as a tonnes JSON number, an integer when whole.
fn tonnes_json(kilograms: i64) -> Value {
    if kilograms % 1000 == 0 {
        Value::from(kilograms / 1000)
    } else {
        Value::from(kilograms as f64 / 1000.0)
    }
}

/// What the baseline expects over the days a row spans, put beside its
/// figures when the query asks (`--baseline`); `None` where no baseline
/// answers the row.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Expected {
    pub vehicles: Option<f64>,
    pub tonnes: Option<f64>,
}

/// One group of a statistics report, or, without labels, the whole period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatsRow {
    /// The group's value of each dimension grouped by, in the query's order;
    /// `None` where the records did not say.
    pub labels: Vec<(StatsDimension, Option<String>)>,
    pub figures: Figures,
    /// Set only when the query asks for the baseline.
    pub expected: Option<Expected>,
}

impl StatsRow {
    /// The row of the group labelled `labels` (one per dimension of `by`).
    pub fn new(by: &[StatsDimension], labels: Vec<Option<String>>, metrics: &Metrics) -> StatsRow {
        StatsRow {
            labels: by.iter().copied().zip(labels).collect(),
            figures: Figures::of(metrics),
            expected: None,
        }
    }

    /// The totals of a period: a row without labels.
    pub fn totals(metrics: &Metrics) -> StatsRow {
        StatsRow::new(&[], Vec::new(), metrics)
    }

    /// The row's label for `dimension`; `None` where the records did not say
    /// or the report is not grouped by it.
    pub fn label(&self, dimension: StatsDimension) -> Option<&str> {
        self.labels
            .iter()
            .find(|(labelled, _)| *labelled == dimension)
            .and_then(|(_, label)| label.as_deref())
    }

    /// The row as a JSON object: its labels by dimension name, its metrics,
    /// and the baseline's expectation (`baseline_vehicles`, `baseline_tonnes`) when asked.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut row: Map<String, Value> = self
            .labels
            .iter()
            .map(|(dimension, label)| {
                (
                    dimension.as_str().to_string(),
                    label.clone().map_or(Value::Null, Value::from),
                )
            })
            .collect();
        for metric in METRICS {
            row.insert(metric.as_str().to_string(), self.figures.json(metric));
        }
        if let Some(expected) = &self.expected {
            let figure = |value: Option<f64>| value.map_or(Value::Null, figure_json);
            row.insert("baseline_vehicles".into(), figure(expected.vehicles));
            row.insert("baseline_tonnes".into(), figure(expected.tonnes));
        }
        row
    }
}

impl Serialize for StatsRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// The result of a statistics query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    pub query: StatsQuery,
    /// The whole period, every group together (a row without labels).
    pub totals: StatsRow,
    pub rows: Vec<StatsRow>,
    /// The baselines put beside the figures, with their sources (`--baseline`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub baselines: Vec<BaselineFigure>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(passages: i64, vehicles: i64, kilograms: Option<i64>) -> Metrics {
        Metrics {
            passages,
            vehicles,
            kilograms: kilograms.unwrap_or(0),
            kilograms_reported: i64::from(kilograms.is_some()),
            ..Metrics::default()
        }
    }

    #[test]
    fn missing_figures_are_null_and_whole_tonnes_are_integers() {
        let row = StatsRow::new(
            &[StatsDimension::Category, StatsDimension::Day],
            vec![Some("red_cross".into()), None],
            &metrics(2, 3, Some(12_000)),
        );
        assert_eq!(
            Value::Object(row.to_json()),
            serde_json::json!({"category": "red_cross", "day": null, "vehicles": 3, "passages": 2, "passengers": null, "medical_evacuees": null, "tonnes": 12})
        );
        assert_eq!(row.label(StatsDimension::Category), Some("red_cross"));
        assert_eq!(row.label(StatsDimension::Day), None);
        assert_eq!(row.figures.get(FlowMetric::Tonnes), Some(12.0));

        let half = StatsRow::totals(&metrics(1, 1, Some(12_500)));
        assert_eq!(half.to_json()["tonnes"], serde_json::json!(12.5));
        // Nothing counted: vehicles and passages are unknown, not zero.
        let empty = StatsRow::totals(&Metrics::default());
        assert!(empty.to_json().values().all(Value::is_null));
    }

    #[test]
    fn the_baseline_expectation_is_written_only_when_asked() {
        let mut row = StatsRow::totals(&metrics(1, 1, None));
        assert!(!row.to_json().contains_key("baseline_vehicles"));
        row.expected = Some(Expected {
            vehicles: Some(40.0),
            tonnes: None,
        });
        let json = row.to_json();
        assert_eq!(json["baseline_vehicles"], serde_json::json!(40));
        assert_eq!(json["baseline_tonnes"], Value::Null);
    }
}
