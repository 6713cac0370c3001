//! Baselines and the access index: observed flow set against what normally
//! passed, with a status per day and for the period.
//!
//! Flow is what went through, by the one rule in [`crate::flow`]: passages
//! with outcome `passed` or `delayed`. Turned-back and held vehicles are
//! reported beside the flow, never folded into it. A day nobody watched has no status; a covered day on which nothing
//! of the category passed is `closed`; otherwise the index (observed divided
//! by the baseline scaled to the covered share of the day) picks `open`,
//! `restricted` or `severely_restricted` from the documented thresholds.

use corridor_model::time::day_number;
use corridor_model::{
    AccessStatus, BaselineDirection, BaselineReference, Body, Category, FlowMetric, Outcome,
};
use corridor_store::{Dimension, DimensionValue, Metrics, RollupFilter, RollupQuery, Store};
use jiff::Span;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::StatsError;
use crate::coverage::{covered_days, site_coverage};
use crate::flow::flow_outcome_tokens;
use crate::numbers::number;
use crate::snapshot::Snapshot;

/// Where the index turns one status into the next, as fractions of the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// At or above this share of the baseline the road is `open` (default 0.75).
    pub open: f64,
    /// At or above this share it is `restricted`, below it `severely_restricted` (default 0.25).
    pub restricted: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            open: 0.75,
            restricted: 0.25,
        }
    }
}

impl Thresholds {
    /// Checks that the thresholds make sense.
    ///
    /// # Errors
    /// A threshold outside 0..=1, or `restricted` above `open`.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.restricted)
            || !(0.0..=1.0).contains(&self.open)
            || self.restricted > self.open
        {
            return Err(format!(
                "thresholds must satisfy 0 <= restricted ({}) <= open ({}) <= 1",
                self.restricted, self.open
            ));
        }
        Ok(())
    }

    /// The status for an index (observed / baseline) when something passed.
    pub fn status(&self, index: f64) -> AccessStatus {
        if index >= self.open {
            AccessStatus::Open
        } else if index >= self.restricted {
            AccessStatus::Restricted
        } else {
            AccessStatus::SeverelyRestricted
        }
    }

    /// The rule in words, printed with every status.
    pub fn describe(&self) -> String {
        format!(
            "open at {:.0}% of baseline or more, restricted from {:.0}%, severely restricted below {:.0}%, closed when nothing passed in covered time",
            self.open * 100.0,
            self.restricted * 100.0,
            self.restricted * 100.0
        )
    }
}

/// A baseline as used: the daily figure and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineFigure {
    pub id: String,
    pub site: String,
    pub metric: FlowMetric,
    pub direction: BaselineDirection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    pub per_day: f64,
    /// `figure` (a sourced number) or `reference_period` (computed from the data).
    pub basis: String,
    pub source: String,
}

/// The rollup filter for flow of `category` in `direction` at `site`.
fn flow_query(
    site: &str,
    from: Date,
    to: Date,
    category: Option<Category>,
    direction: BaselineDirection,
    group_by: Vec<Dimension>,
) -> RollupQuery {
    RollupQuery {
        from_day: day_number(from),
        to_day: day_number(to),
        filter: RollupFilter {
            sites: vec![site.to_string()],
            category: category.map(|category| category.as_str().to_string()),
            direction: match direction {
                BaselineDirection::Both => None,
                BaselineDirection::Inbound => Some("inbound".into()),
                BaselineDirection::Outbound => Some("outbound".into()),
            },
            ..RollupFilter::default()
        },
        group_by,
    }
}

/// The value of `metric` in a rollup sum.
pub fn metric_value(metrics: &Metrics, metric: FlowMetric) -> f64 {
    match metric {
        FlowMetric::Vehicles => metrics.vehicles as f64,
        FlowMetric::Passages => metrics.passages as f64,
        FlowMetric::Passengers => metrics.passengers as f64,
        FlowMetric::MedicalEvacuees => metrics.medical_evacuees as f64,
        FlowMetric::Tonnes => metrics.kilograms as f64 / 1000.0,
    }
}

/// Flow (passed + delayed) per site-local day, as `(day number, metrics)`.
fn flow_by_day(store: &dyn Store, query: &RollupQuery) -> Result<Vec<(i32, Metrics)>, StatsError> {
    let mut query = query.clone();
    query.filter.outcomes = flow_outcome_tokens();
    Ok(store
        .rollup(&query)?
        .into_iter()
        .filter_map(|row| match row.keys.first() {
            Some(DimensionValue::Day(day)) => Some((*day, row.metrics)),
            _ => None,
        })
        .collect())
}

/// The baseline for `site`, `metric` and `category`: a baseline of exactly
/// that category, or for all traffic when the question is about all traffic;
/// of exactly `direction` when given, else preferably counting both directions.
///
/// # Errors
/// A storage failure while averaging a reference period.
pub fn baseline_for(
    store: &dyn Store,
    snapshot: &Snapshot,
    site: &str,
    metric: FlowMetric,
    category: Option<Category>,
    direction: Option<BaselineDirection>,
) -> Result<Option<BaselineFigure>, StatsError> {
    let mut candidates: Vec<_> = snapshot
        .baselines
        .iter()
        .filter_map(|record| match &record.body {
            Body::Baseline(baseline)
                if baseline.site == site
                    && baseline.metric == metric
                    && baseline.category == category
                    && direction.is_none_or(|wanted| wanted == baseline.direction) =>
            {
                Some((record, baseline))
            }
            _ => None,
        })
        .collect();
    candidates.sort_by_key(|(_, baseline)| baseline.direction != BaselineDirection::Both);
    let Some((record, baseline)) = candidates.first() else {
        return Ok(None);
    };
    let (per_day, basis) = match &baseline.reference {
        BaselineReference::Figure { per_day } => (*per_day, "figure"),
        BaselineReference::Period {
            reference_from,
            reference_to,
        } => {
            let (Some(from), Some(to)) = (
                corridor_model::time::parse_date(reference_from),
                corridor_model::time::parse_date(reference_to),
            ) else {
                return Ok(None);
            };
            let days = f64::from(day_number(to) - day_number(from) + 1);
            let query = flow_query(
                site,
                from,
                to,
                category,
                baseline.direction,
                vec![Dimension::Day],
            );
            let total: f64 = flow_by_day(store, &query)?
                .iter()
                .map(|(_, metrics)| metric_value(metrics, metric))
                .sum();
            (total / days, "reference_period")
        }
    };
    Ok(Some(BaselineFigure {
        id: record.id.clone(),
        site: site.to_string(),
        metric,
        direction: baseline.direction,
        category,
        per_day,
        basis: basis.into(),
        source: record.source.name.clone(),
    }))
}

/// One day of the access index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayAccess {
    pub day: String,
    /// Flow observed that day (any time of it).
    pub observed: f64,
    pub covered_share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<f64>,
    /// `None` when nobody watched, or when there is no baseline and something passed.
    pub status: Option<AccessStatus>,
}

/// The access index of a site (and optionally one category) over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessSummary {
    pub site: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    pub metric: FlowMetric,
    pub baseline: Option<BaselineFigure>,
    pub thresholds: Thresholds,
    pub rule: String,
    pub observed: f64,
    /// Covered days, adding up the covered share of each day.
    pub covered_days: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<f64>,
    pub status: Option<AccessStatus>,
    /// Why the status is what it is, in one sentence.
    pub explanation: String,
    pub turned_back: i64,
    pub held: i64,
    pub delayed: i64,
    pub days: Vec<DayAccess>,
}

/// What an access index is computed for.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessQuery<'a> {
    pub site: &'a str,
    pub from: Date,
    pub to: Date,
    pub metric: FlowMetric,
    /// One operator category, or all traffic.
    pub category: Option<Category>,
}

/// Computes the access index for a site over a period (site-local days, inclusive).
///
/// # Errors
/// A storage failure.
pub fn access_index(
    store: &dyn Store,
    snapshot: &Snapshot,
    query: &AccessQuery<'_>,
    thresholds: Thresholds,
) -> Result<AccessSummary, StatsError> {
    access(store, snapshot, query, thresholds, true)
}

/// The access index of a period as [`access_index`] gives it, without the
/// list of days (`days` is empty). Its work does not grow with the length
/// of the period, which a claim may choose freely.
///
/// # Errors
/// A storage failure.
pub fn access_totals(
    store: &dyn Store,
    snapshot: &Snapshot,
    query: &AccessQuery<'_>,
    thresholds: Thresholds,
) -> Result<AccessSummary, StatsError> {
    access(store, snapshot, query, thresholds, false)
}

fn access(
    store: &dyn Store,
    snapshot: &Snapshot,
    query: &AccessQuery<'_>,
    thresholds: Thresholds,
    per_day: bool,
) -> Result<AccessSummary, StatsError> {
    let AccessQuery {
        site,
        from,
        to,
        metric,
        category,
    } = *query;
    let baseline = baseline_for(store, snapshot, site, metric, category, None)?;
    let direction = baseline
        .as_ref()
        .map_or(BaselineDirection::Both, |baseline| baseline.direction);
    let query = flow_query(site, from, to, category, direction, vec![Dimension::Day]);
    let flow: std::collections::BTreeMap<i32, f64> = flow_by_day(store, &query)?
        .into_iter()
        .map(|(day, metrics)| (day, metric_value(&metrics, metric)))
        .collect();

    let mut days = Vec::new();
    let mut day = from;
    while per_day && day <= to {
        let coverage = site_coverage(snapshot, site, day, day, metric, category);
        let observed = flow.get(&day_number(day)).copied().unwrap_or(0.0);
        let (index, status) = day_status(observed, coverage.share, baseline.as_ref(), thresholds);
        days.push(DayAccess {
            day: day.strftime("%Y-%m-%d").to_string(),
            observed,
            covered_share: coverage.share,
            index,
            status,
        });
        day = match day.checked_add(Span::new().days(1)) {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    // Starting from +0.0: an empty f64 sum is -0.0, which would print as "-0".
    let observed: f64 = flow.values().fold(0.0, |sum, value| sum + value);
    let covered_days: f64 = if per_day {
        days.iter().map(|day| day.covered_share).sum()
    } else {
        covered_days(snapshot, site, from, to, metric, category)
    };
    let expected = baseline
        .as_ref()
        .map(|baseline| baseline.per_day * covered_days);
    let (index, status) = day_status(observed, covered_days, baseline.as_ref(), thresholds);
    let explanation = match (status, &baseline, index) {
        (None, _, _) if covered_days == 0.0 => "nobody was recorded watching in this period, so no status can be given".to_string(),
        (None, None, _) => "there is no baseline for this site, metric and category, so only closure could be shown".to_string(),
        (Some(AccessStatus::Closed), _, _) => format!("nothing passed in {} covered days", readable(covered_days)),
        (Some(status), Some(baseline), Some(index)) => format!(
            "{} {metric} observed against {} expected ({} a day × {} covered days): {:.1}% of the baseline, {}",
            readable(observed),
            readable(baseline.per_day * covered_days),
            readable(baseline.per_day),
            readable(covered_days),
            index * 100.0,
            status.as_str().replace('_', " ")
        ),
        _ => String::new(),
    };
    let outcome_total = |outcome: Outcome| -> Result<i64, StatsError> {
        let mut query = flow_query(
            site,
            from,
            to,
            category,
            BaselineDirection::Both,
            Vec::new(),
        );
        query.filter.outcomes = vec![outcome.as_str().to_string()];
        Ok(store
            .rollup(&query)?
            .iter()
            .map(|row| row.metrics.vehicles)
            .sum())
    };
    Ok(AccessSummary {
        site: site.to_string(),
        category,
        metric,
        baseline,
        thresholds,
        rule: thresholds.describe(),
        observed,
        covered_days,
        expected,
        index,
        status,
        explanation,
        turned_back: outcome_total(Outcome::TurnedBack)?,
        held: outcome_total(Outcome::Held)?,
        delayed: outcome_total(Outcome::Delayed)?,
        days,
    })
}

/// A figure for a sentence: thousands separated, at most one decimal.
fn readable(value: f64) -> String {
    number(value)
}

/// Index and status for an observed figure over `covered` days (or a share of one).
fn day_status(
    observed: f64,
    covered: f64,
    baseline: Option<&BaselineFigure>,
    thresholds: Thresholds,
) -> (Option<f64>, Option<AccessStatus>) {
    if covered <= 0.0 {
        return (None, None);
    }
    if observed == 0.0 {
        return (baseline.map(|_| 0.0), Some(AccessStatus::Closed));
    }
    match baseline {
        Some(baseline) if baseline.per_day > 0.0 => {
            let index = observed / (baseline.per_day * covered);
            (Some(index), Some(thresholds.status(index)))
        }
        _ => (None, None),
    }
}
