//! What a statistics query asks: a period of site-local days, filters, and
//! the dimensions to group by, checked once.

use std::fmt;

use corridor_model::time::day_number;
use corridor_store::{Dimension, RollupFilter, RollupQuery};
use jiff::civil::Date;
use serde::Serialize;

use crate::error::StatsError;

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
    pub(crate) fn rollup_dimension(self) -> Dimension {
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

    pub(crate) fn rollup_query(&self, group_by: Vec<Dimension>) -> RollupQuery {
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
