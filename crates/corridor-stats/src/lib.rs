//! Period statistics over the store's rollups, in the one JSON shape that the
//! CLI, the server and reports share:
//! `{"query": {...}, "totals": {metric: value}, "rows": [{dimension: value, ..., metric: value, ...}]}`.
//!
//! A metric with no data is `null`, never `0`: "no passenger counts were
//! reported" and "no passengers" are different statements.

pub mod access;
mod baselines;
pub mod claims;
pub mod coverage;
mod render;
pub mod report;
pub mod report_html;
pub mod snapshot;

use std::collections::BTreeMap;
use std::fmt;

use corridor_model::time::{date_of_day_number, day_number};
use corridor_store::{
    Dimension, DimensionValue, Metrics, RollupFilter, RollupQuery, Store, StoreError,
};
use jiff::civil::Date;
use serde::Serialize;
use serde_json::{Map, Value};

pub use render::{csv_field, render_csv, render_table};

/// The longest period one query may span, so one request cannot ask for a
/// century of daily rows.
pub const MAX_PERIOD_DAYS: i32 = 3_660;

/// What statistics can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsDimension {
    Day,
    Week,
    Month,
    Site,
    Category,
    Operator,
    Direction,
    Outcome,
    VehicleClass,
    Cargo,
    Source,
    SourceKind,
    RecordedBy,
}

impl StatsDimension {
    pub const ALL: &'static [StatsDimension] = &[
        StatsDimension::Day,
        StatsDimension::Week,
        StatsDimension::Month,
        StatsDimension::Site,
        StatsDimension::Category,
        StatsDimension::Operator,
        StatsDimension::Direction,
        StatsDimension::Outcome,
        StatsDimension::VehicleClass,
        StatsDimension::Cargo,
        StatsDimension::Source,
        StatsDimension::SourceKind,
        StatsDimension::RecordedBy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatsDimension::Day => "day",
            StatsDimension::Week => "week",
            StatsDimension::Month => "month",
            StatsDimension::Site => "site",
            StatsDimension::Category => "category",
            StatsDimension::Operator => "operator",
            StatsDimension::Direction => "direction",
            StatsDimension::Outcome => "outcome",
            StatsDimension::VehicleClass => "vehicle_class",
            StatsDimension::Cargo => "cargo",
            StatsDimension::Source => "source",
            StatsDimension::SourceKind => "source_kind",
            StatsDimension::RecordedBy => "recorded_by",
        }
    }

    /// Parses a dimension name.
    ///
    /// # Errors
    /// The name is not a dimension; the message lists the ones there are.
    pub fn parse(name: &str) -> Result<StatsDimension, StatsError> {
        StatsDimension::ALL
            .iter()
            .copied()
            .find(|dimension| dimension.as_str() == name)
            .ok_or_else(|| {
                StatsError::BadQuery(format!(
                    "{name:?} is not a dimension ({})",
                    StatsDimension::ALL
                        .iter()
                        .map(|dimension| dimension.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// The rollup dimension that answers this one (weeks and months are folded from days).
    fn rollup_dimension(self) -> Dimension {
        match self {
            StatsDimension::Day | StatsDimension::Week | StatsDimension::Month => Dimension::Day,
            StatsDimension::Site => Dimension::Site,
            StatsDimension::Category => Dimension::Category,
            StatsDimension::Operator => Dimension::Operator,
            StatsDimension::Direction => Dimension::Direction,
            StatsDimension::Outcome => Dimension::Outcome,
            StatsDimension::VehicleClass => Dimension::VehicleClass,
            StatsDimension::Cargo => Dimension::CargoKind,
            StatsDimension::Source => Dimension::SourceName,
            StatsDimension::SourceKind => Dimension::SourceKind,
            StatsDimension::RecordedBy => Dimension::RecordedBy,
        }
    }
}

impl fmt::Display for StatsDimension {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The metrics every statistics row carries, in output order.
pub const METRICS: &[&str] = &[
    "vehicles",
    "passages",
    "passengers",
    "medical_evacuees",
    "tonnes",
];

/// A statistics query: a period of site-local calendar days (inclusive),
/// optional filters and the dimensions to group by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsQuery {
    #[serde(serialize_with = "serialize_date")]
    pub from: Date,
    #[serde(serialize_with = "serialize_date")]
    pub to: Date,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
    pub by: Vec<StatsDimension>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vehicle_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cargo: Option<String>,
    /// Put the baseline beside every figure (`baseline_vehicles`, `baseline_tonnes`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
}

fn serialize_date<S: serde::Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&date.strftime("%Y-%m-%d"))
}

impl StatsQuery {
    /// A query over `from..=to` with no filters and no grouping.
    pub fn period(from: Date, to: Date) -> StatsQuery {
        StatsQuery {
            from,
            to,
            sites: Vec::new(),
            by: Vec::new(),
            category: None,
            operator: None,
            direction: None,
            outcome: None,
            vehicle_class: None,
            cargo: None,
            baseline: false,
        }
    }

    /// Checks the query's own rules.
    ///
    /// # Errors
    /// An inverted or too long period, or a dimension named twice.
    pub fn validate(&self) -> Result<(), StatsError> {
        if self.to < self.from {
            return Err(StatsError::BadQuery(format!(
                "--to {} is before --from {}",
                self.to, self.from
            )));
        }
        let days = day_number(self.to) - day_number(self.from) + 1;
        if days > MAX_PERIOD_DAYS {
            return Err(StatsError::BadQuery(format!(
                "the period spans {days} days; at most {MAX_PERIOD_DAYS}"
            )));
        }
        for (position, dimension) in self.by.iter().enumerate() {
            if self.by[..position].contains(dimension) {
                return Err(StatsError::BadQuery(format!(
                    "dimension {dimension} is named twice"
                )));
            }
        }
        Ok(())
    }

    fn rollup_query(&self, group_by: Vec<Dimension>) -> RollupQuery {
        RollupQuery {
            from_day: day_number(self.from),
            to_day: day_number(self.to),
            filter: RollupFilter {
                sites: self.sites.clone(),
                category: self.category.clone(),
                operator: self.operator.clone(),
                direction: self.direction.clone(),
                outcomes: self.outcome.iter().cloned().collect(),
                vehicle_class: self.vehicle_class.clone(),
                cargo_kind: self.cargo.clone(),
            },
            group_by,
        }
    }
}

/// Errors computing statistics.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("{0}")]
    BadQuery(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored record {id} cannot be read back: {reason}")]
    CorruptRecord { id: String, reason: String },
}

/// The result of a statistics query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    pub query: StatsQuery,
    pub totals: Map<String, Value>,
    pub rows: Vec<Map<String, Value>>,
    /// The baselines put beside the figures, with their sources (`--baseline`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub baselines: Vec<access::BaselineFigure>,
}

/// Computes a statistics report from the rollups.
///
/// # Errors
/// A bad query or a storage failure.
pub fn compute(store: &dyn Store, query: &StatsQuery) -> Result<StatsReport, StatsError> {
    query.validate()?;
    // Totals never come from the cargo rollup unless filtering by cargo: a
    // vehicle with two kinds of cargo is one vehicle.
    let total_rows = store.rollup(&query.rollup_query(Vec::new()))?;
    let mut total = Metrics::default();
    for row in &total_rows {
        total.add(&row.metrics);
    }
    let totals = metric_values(&total);

    let mut rows = Vec::new();
    if !query.by.is_empty() {
        let mut group_by: Vec<Dimension> = Vec::new();
        for dimension in &query.by {
            let rollup = dimension.rollup_dimension();
            if !group_by.contains(&rollup) {
                group_by.push(rollup);
            }
        }
        let rollup_rows = store.rollup(&query.rollup_query(group_by.clone()))?;
        // Fold days into weeks or months where asked, keeping the output order.
        let mut groups: BTreeMap<Vec<Option<String>>, Metrics> = BTreeMap::new();
        for row in &rollup_rows {
            let key: Vec<Option<String>> = query
                .by
                .iter()
                .map(|dimension| {
                    let position = group_by
                        .iter()
                        .position(|rollup| *rollup == dimension.rollup_dimension())
                        .unwrap_or(0);
                    dimension_label(*dimension, &row.keys[position])
                })
                .collect();
            groups.entry(key).or_default().add(&row.metrics);
        }
        for (key, metrics) in groups {
            rows.push(stats_row(&query.by, key, &metrics));
        }
    }
    let mut report = StatsReport {
        query: query.clone(),
        totals,
        rows,
        baselines: Vec::new(),
    };
    if query.baseline {
        baselines::annotate(store, &mut report)?;
    }
    Ok(report)
}

/// A dimension's value as it appears in a row; `None` where the record did
/// not say. Labels of days, ISO weeks and months sort in time order.
fn dimension_label(dimension: StatsDimension, value: &DimensionValue) -> Option<String> {
    match value {
        DimensionValue::None => None,
        DimensionValue::Text(text) => Some(text.clone()),
        DimensionValue::Day(number) => {
            let date = date_of_day_number(*number);
            let label = match dimension {
                StatsDimension::Week => {
                    let week = date.iso_week_date();
                    format!("{:04}-W{:02}", week.year(), week.week())
                }
                StatsDimension::Month => date.strftime("%Y-%m").to_string(),
                _ => date.strftime("%Y-%m-%d").to_string(),
            };
            Some(label)
        }
    }
}

/// One row of a statistics report: the group's dimension labels (`null` where
/// the records did not say), then its metric values.
pub fn stats_row(
    by: &[StatsDimension],
    labels: Vec<Option<String>>,
    metrics: &Metrics,
) -> Map<String, Value> {
    let mut row: Map<String, Value> = by
        .iter()
        .zip(labels)
        .map(|(dimension, label)| {
            (
                dimension.as_str().to_string(),
                label.map_or(Value::Null, Value::from),
            )
        })
        .collect();
    row.extend(metric_values(metrics));
    row
}

/// The metric values of a group; `null` where no record gave the figure.
pub fn metric_values(metrics: &Metrics) -> Map<String, Value> {
    let mut values = Map::new();
    let counted = metrics.passages > 0;
    let or_null = |present: bool, value: Value| if present { value } else { Value::Null };
    values.insert(
        "vehicles".into(),
        or_null(counted, Value::from(metrics.vehicles)),
    );
    values.insert(
        "passages".into(),
        or_null(counted, Value::from(metrics.passages)),
    );
    values.insert(
        "passengers".into(),
        or_null(
            metrics.passengers_reported > 0,
            Value::from(metrics.passengers),
        ),
    );
    values.insert(
        "medical_evacuees".into(),
        or_null(
            metrics.medical_evacuees_reported > 0,
            Value::from(metrics.medical_evacuees),
        ),
    );
    values.insert(
        "tonnes".into(),
        or_null(metrics.kilograms_reported > 0, tonnes(metrics.kilograms)),
    );
    values
}

/// Kilograms as a tonnes JSON number, an integer when whole.
fn tonnes(kilograms: i64) -> Value {
    if kilograms % 1000 == 0 {
        Value::from(kilograms / 1000)
    } else {
        Value::from(kilograms as f64 / 1000.0)
    }
}
