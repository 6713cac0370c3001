//! Claim checking: each assertion of a claim computed from the records and
//! judged honestly against coverage.
//!
//! The records of a partly covered period give a lower bound on the truth.
//! So a lower bound ("more than 850") can be confirmed by partial data once
//! the count reaches it; an upper bound, an exact total or an approximate
//! figure needs the whole period covered, unless the partial count already
//! exceeds it, which refutes it. A claim about an access status needs a
//! baseline. Anything else is "not verifiable", with the reason.

use corridor_model::time::{day_number, parse_date};
use corridor_model::{
    AccessStatus, AssertedValue, Assertion, Body, Category, ClaimMetric, ComparisonOp, FlowMetric,
    Record, Time, Tolerance,
};
use corridor_store::{Dimension, DimensionValue, Metrics, RollupFilter, RollupQuery, Store};
use jiff::civil::Date;
use serde::{Serialize, Serializer};

use crate::access::{AccessQuery, AccessSummary, Thresholds, access_totals};
use crate::coverage::site_coverage;
use crate::error::StatsError;
use crate::flow::flow_outcome_tokens;
use crate::numbers::figure_json;
use crate::snapshot::Snapshot;

/// How a claim or assertion stands against the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Consistent,
    Inconsistent,
    NotVerifiable,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Verdict::Consistent => "consistent",
            Verdict::Inconsistent => "inconsistent",
            Verdict::NotVerifiable => "not verifiable",
        })
    }
}

/// The default tolerance of `approx` when the claim gives none, in percent.
pub const DEFAULT_APPROX_PERCENT: f64 = 5.0;

/// Coverage of one site as used for one assertion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageUsed {
    pub site: String,
    pub share: f64,
    pub full: bool,
    pub sources: Vec<String>,
}

/// What the records give for an assertion, to set beside the claimed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Computed {
    /// A flow figure: vehicles, passages, passengers, medical evacuees or tonnes.
    Figure(f64),
    /// A count of mission, incident or appeal records.
    Count(u64),
    /// The access status of each site asserted about, in order; `None` where
    /// no status could be given.
    Statuses(Vec<Option<AccessStatus>>),
}

impl Computed {
    /// The statuses as one text: `open, unknown`.
    fn statuses_text(statuses: &[Option<AccessStatus>]) -> String {
        let texts: Vec<&str> = statuses
            .iter()
            .map(|status| status.map_or("unknown", AccessStatus::as_str))
            .collect();
        texts.join(", ")
    }
}

/// As the JSON writes it, without quotes: `980`, `12.5`, `open, unknown`.
impl std::fmt::Display for Computed {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Computed::Figure(number) => write!(formatter, "{}", figure_json(*number)),
            Computed::Count(count) => write!(formatter, "{count}"),
            Computed::Statuses(statuses) => formatter.write_str(&Computed::statuses_text(statuses)),
        }
    }
}

/// JSON as it has always read: a figure as an integer when whole, a count as
/// an integer, the statuses as one comma-separated string.
impl Serialize for Computed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Computed::Figure(number) => figure_json(*number).serialize(serializer),
            Computed::Count(count) => serializer.serialize_u64(*count),
            Computed::Statuses(statuses) => {
                serializer.serialize_str(&Computed::statuses_text(statuses))
            }
        }
    }
}

/// The claimed value in JSON: a figure (an integer when whole) or a status token.
fn serialize_claimed<S: Serializer>(
    claimed: &AssertedValue,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match claimed {
        AssertedValue::Number(number) => figure_json(*number).serialize(serializer),
        AssertedValue::Status(status) => serializer.serialize_str(status.as_str()),
    }
}

/// The assertion in JSON as recorded, its keys in sorted order, as it has
/// always been written (through a JSON value, whose objects sort their keys).
fn serialize_assertion<S: Serializer>(
    assertion: &Assertion,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serde_json::to_value(assertion)
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

/// The verdict on one assertion, with the computed figure beside the claimed one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssertionVerdict {
    /// The assertion as recorded.
    #[serde(serialize_with = "serialize_assertion")]
    pub assertion: Assertion,
    /// The claimed value: the assertion's own `value`.
    #[serde(serialize_with = "serialize_claimed")]
    pub claimed: AssertedValue,
    /// What the records give (`None`, `null`, when no record reports it).
    pub computed: Option<Computed>,
    pub verdict: Verdict,
    pub reason: String,
    pub coverage: Vec<CoverageUsed>,
    /// The sources of the records the figure counts.
    pub sources: Vec<String>,
}

/// The verdict on a claim: inconsistent if any assertion is, else not
/// verifiable if any assertion is, else consistent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimVerdict {
    pub id: String,
    pub text: String,
    pub speaker: String,
    pub said_on: String,
    pub source: String,
    pub verdict: Verdict,
    pub assertions: Vec<AssertionVerdict>,
}

/// Checks every assertion of a claim record.
///
/// # Errors
/// A storage failure, or a record that is not a claim.
pub fn check_claim(
    store: &dyn Store,
    snapshot: &Snapshot,
    claim: &Record,
    thresholds: Thresholds,
) -> Result<ClaimVerdict, StatsError> {
    let Body::Claim(body) = &claim.body else {
        return Err(StatsError::BadQuery(format!(
            "{} is a {}, not a claim",
            claim.id,
            claim.record_type()
        )));
    };
    let mut assertions = Vec::with_capacity(body.assertions.len());
    for assertion in &body.assertions {
        assertions.push(check_assertion(store, snapshot, assertion, thresholds)?);
    }
    let verdict = if assertions
        .iter()
        .any(|checked| checked.verdict == Verdict::Inconsistent)
    {
        Verdict::Inconsistent
    } else if assertions
        .iter()
        .any(|checked| checked.verdict == Verdict::NotVerifiable)
    {
        Verdict::NotVerifiable
    } else {
        Verdict::Consistent
    };
    Ok(ClaimVerdict {
        id: claim.id.clone(),
        text: body.text.clone(),
        speaker: body.speaker.clone(),
        said_on: body.said_on.clone(),
        source: claim.source.name.clone(),
        verdict,
        assertions,
    })
}

fn flow_metric(metric: ClaimMetric) -> Option<FlowMetric> {
    match metric {
        ClaimMetric::Vehicles => Some(FlowMetric::Vehicles),
        ClaimMetric::Passages => Some(FlowMetric::Passages),
        ClaimMetric::Passengers => Some(FlowMetric::Passengers),
        ClaimMetric::MedicalEvacuees => Some(FlowMetric::MedicalEvacuees),
        ClaimMetric::Tonnes => Some(FlowMetric::Tonnes),
        _ => None,
    }
}

/// The sites an assertion is about: those it names, or every site.
fn assertion_sites(snapshot: &Snapshot, assertion: &Assertion) -> Vec<String> {
    if assertion.sites.is_empty() {
        snapshot.sites.keys().cloned().collect()
    } else {
        assertion.sites.clone()
    }
}

fn period(assertion: &Assertion) -> Result<(Date, Date), StatsError> {
    match (parse_date(&assertion.from), parse_date(&assertion.to)) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(StatsError::BadQuery(format!(
            "assertion period {}..{} is not two dates",
            assertion.from, assertion.to
        ))),
    }
}

fn rollup_query(
    assertion: &Assertion,
    sites: &[String],
    from: Date,
    to: Date,
    group_by: Vec<Dimension>,
) -> RollupQuery {
    RollupQuery {
        from_day: day_number(from),
        to_day: day_number(to),
        filter: RollupFilter {
            sites: sites.to_vec(),
            category: assertion
                .category
                .map(|category| category.as_str().to_string()),
            operator: assertion.operator.clone(),
            direction: assertion
                .direction
                .map(|direction| direction.as_str().to_string()),
            // Without an outcome a claim counts what went through (passed or
            // delayed): a vehicle turned back did not "use the road".
            outcomes: match assertion.outcome {
                Some(outcome) => vec![outcome.as_str().to_string()],
                None => flow_outcome_tokens(),
            },
            vehicle_class: None,
            cargo_kind: assertion.cargo_kind.clone(),
        },
        group_by,
    }
}

/// The computed figure: `None` when no record in scope reports it.
fn flow_figure(metrics: &Metrics, metric: FlowMetric) -> Option<f64> {
    match metric {
        FlowMetric::Vehicles => Some(metrics.vehicles as f64),
        FlowMetric::Passages => Some(metrics.passages as f64),
        FlowMetric::Passengers => {
            (metrics.passengers_reported > 0).then_some(metrics.passengers as f64)
        }
        FlowMetric::MedicalEvacuees => {
            (metrics.medical_evacuees_reported > 0).then_some(metrics.medical_evacuees as f64)
        }
        FlowMetric::Tonnes => {
            (metrics.kilograms_reported > 0).then_some(metrics.kilograms as f64 / 1000.0)
        }
    }
}

fn check_assertion(
    store: &dyn Store,
    snapshot: &Snapshot,
    assertion: &Assertion,
    thresholds: Thresholds,
) -> Result<AssertionVerdict, StatsError> {
    let (from, to) = period(assertion)?;
    let sites = assertion_sites(snapshot, assertion);
    if let Some(metric) = flow_metric(assertion.metric) {
        return check_flow(store, snapshot, assertion, metric, &sites, from, to);
    }
    match assertion.metric {
        ClaimMetric::AccessStatus => {
            check_status(store, snapshot, assertion, &sites, from, to, thresholds)
        }
        _ => Ok(check_record_count(snapshot, assertion, &sites, from, to)),
    }
}

fn check_flow(
    store: &dyn Store,
    snapshot: &Snapshot,
    assertion: &Assertion,
    metric: FlowMetric,
    sites: &[String],
    from: Date,
    to: Date,
) -> Result<AssertionVerdict, StatsError> {
    let attributes: Vec<(String, String)> = assertion
        .attributes
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    // One query grouped by source gives the figure (the sum of the groups)
    // and the sources it comes from.
    let mut metrics = Metrics::default();
    let mut sources: Vec<String> = Vec::new();
    if attributes.is_empty() {
        let by_source = rollup_query(assertion, sites, from, to, vec![Dimension::SourceName]);
        for row in store.rollup(&by_source)? {
            metrics.add(&row.metrics);
            if let Some(DimensionValue::Text(name)) = row.keys.into_iter().next() {
                sources.push(name);
            }
        }
    } else {
        let query = rollup_query(assertion, sites, from, to, Vec::new());
        metrics = store.passage_sums(&query, &attributes)?;
    }
    let coverage: Vec<CoverageUsed> = sites
        .iter()
        .map(|site| {
            let covered = site_coverage(snapshot, site, from, to, metric, assertion.category);
            CoverageUsed {
                site: site.clone(),
                share: covered.share,
                full: covered.is_full(),
                sources: covered.sources,
            }
        })
        .collect();
    let full = !coverage.is_empty() && coverage.iter().all(|site| site.full);
    let computed = flow_figure(&metrics, metric);
    let AssertedValue::Number(value) = assertion.value else {
        return Ok(judged(
            assertion,
            None,
            Verdict::NotVerifiable,
            "a flow figure is compared with a number".into(),
            coverage,
            sources,
        ));
    };
    let (verdict, reason) = match computed {
        None => (
            Verdict::NotVerifiable,
            format!("no record in scope reports {metric}"),
        ),
        Some(observed) => judge(observed, value, assertion.op, assertion.tolerance, full),
    };
    Ok(judged(
        assertion,
        computed.map(Computed::Figure),
        verdict,
        reason,
        coverage,
        sources,
    ))
}

fn judged(
    assertion: &Assertion,
    computed: Option<Computed>,
    verdict: Verdict,
    reason: String,
    coverage: Vec<CoverageUsed>,
    sources: Vec<String>,
) -> AssertionVerdict {
    AssertionVerdict {
        assertion: assertion.clone(),
        claimed: assertion.value.clone(),
        computed,
        verdict,
        reason,
        coverage,
        sources,
    }
}

/// The allowed distance for `approx`.
fn tolerance(value: f64, tolerance: Option<Tolerance>) -> f64 {
    match tolerance {
        Some(Tolerance::Absolute(absolute)) => absolute,
        Some(Tolerance::Relative(percent)) => value.abs() * percent / 100.0,
        None => value.abs() * DEFAULT_APPROX_PERCENT / 100.0,
    }
}

/// Judges an observed figure against a claimed one. With full coverage the
/// observed figure is the truth; without it, it is a lower bound.
pub fn judge(
    observed: f64,
    claimed: f64,
    op: ComparisonOp,
    tolerance_given: Option<Tolerance>,
    full: bool,
) -> (Verdict, String) {
    let allowed = tolerance(claimed, tolerance_given);
    let holds = match op {
        ComparisonOp::Eq => observed == claimed,
        ComparisonOp::Ne => observed != claimed,
        ComparisonOp::Gte => observed >= claimed,
        ComparisonOp::Gt => observed > claimed,
        ComparisonOp::Lte => observed <= claimed,
        ComparisonOp::Lt => observed < claimed,
        ComparisonOp::Approx => (observed - claimed).abs() <= allowed,
    };
    let shown = |number: f64| {
        if number.fract() == 0.0 {
            format!("{number:.0}")
        } else {
            format!("{number}")
        }
    };
    let (observed_text, claimed_text) = (shown(observed), shown(claimed));
    if full {
        let reason = format!(
            "the period is fully covered; the records give {observed_text} against the claimed {claimed_text}{}",
            if op == ComparisonOp::Approx {
                format!(" (tolerance ±{})", shown(allowed))
            } else {
                String::new()
            }
        );
        return (
            if holds {
                Verdict::Consistent
            } else {
                Verdict::Inconsistent
            },
            reason,
        );
    }
    // Partial coverage: the true figure is at least `observed`.
    match op {
        ComparisonOp::Gte | ComparisonOp::Gt if holds => (
            Verdict::Consistent,
            format!(
                "the records already give {observed_text}, which meets the lower bound {claimed_text} even without full coverage"
            ),
        ),
        ComparisonOp::Ne if observed > claimed => (
            Verdict::Consistent,
            format!(
                "the records already give {observed_text}, more than {claimed_text}, so the figure cannot be {claimed_text}"
            ),
        ),
        ComparisonOp::Lte | ComparisonOp::Lt | ComparisonOp::Eq if !holds && observed > claimed => {
            (
                Verdict::Inconsistent,
                format!(
                    "even the partly covered records give {observed_text}, more than the claimed {claimed_text}"
                ),
            )
        }
        ComparisonOp::Approx if observed > claimed + allowed => (
            Verdict::Inconsistent,
            format!(
                "even the partly covered records give {observed_text}, beyond {claimed_text} ±{}",
                shown(allowed)
            ),
        ),
        _ => (
            Verdict::NotVerifiable,
            format!(
                "the records give {observed_text}, but the period is not fully covered, so they only bound the figure from below"
            ),
        ),
    }
}

fn check_status(
    store: &dyn Store,
    snapshot: &Snapshot,
    assertion: &Assertion,
    sites: &[String],
    from: Date,
    to: Date,
    thresholds: Thresholds,
) -> Result<AssertionVerdict, StatsError> {
    let AssertedValue::Status(claimed_status) = assertion.value else {
        return Ok(judged(
            assertion,
            None,
            Verdict::NotVerifiable,
            "an access status is compared with a status".into(),
            Vec::new(),
            Vec::new(),
        ));
    };
    let mut statuses = Vec::new();
    let mut coverage = Vec::new();
    let mut sources = Vec::new();
    let mut explanations = Vec::new();
    for site in sites {
        let query = AccessQuery {
            site,
            from,
            to,
            metric: FlowMetric::Vehicles,
            category: assertion.category,
        };
        let summary = access_totals(store, snapshot, &query, thresholds)?;
        let site_coverage = site_coverage(
            snapshot,
            site,
            from,
            to,
            FlowMetric::Vehicles,
            assertion.category,
        );
        coverage.push(CoverageUsed {
            site: site.clone(),
            share: site_coverage.share,
            full: site_coverage.is_full(),
            sources: site_coverage.sources,
        });
        if let Some(baseline) = &summary.baseline {
            sources.push(baseline.source.clone());
        }
        explanations.push(format!("{site}: {}", summary.explanation));
        statuses.push(summary);
    }
    let anything_passed = statuses.iter().any(|summary| summary.observed > 0.0);
    let all_full = !coverage.is_empty() && coverage.iter().all(|site| site.full);
    let is_eq = assertion.op == ComparisonOp::Eq;
    let explained = explanations.join("; ");
    // "Closed" is decided by whether anything passed, which partial records can show.
    if claimed_status == AccessStatus::Closed && anything_passed {
        let verdict = if is_eq {
            Verdict::Inconsistent
        } else {
            Verdict::Consistent
        };
        return Ok(judged(
            assertion,
            Some(Computed::Statuses(site_statuses(&statuses))),
            verdict,
            format!("traffic passed in the period, so it was not closed ({explained})"),
            coverage,
            sources,
        ));
    }
    if statuses.iter().any(|summary| summary.baseline.is_none())
        && claimed_status != AccessStatus::Closed
    {
        return Ok(judged(
            assertion,
            None,
            Verdict::NotVerifiable,
            format!("an access status needs a baseline ({explained})"),
            coverage,
            sources,
        ));
    }
    if !all_full {
        return Ok(judged(
            assertion,
            Some(Computed::Statuses(site_statuses(&statuses))),
            Verdict::NotVerifiable,
            format!("the period is not fully covered ({explained})"),
            coverage,
            sources,
        ));
    }
    let computed: Vec<Option<AccessStatus>> =
        statuses.iter().map(|summary| summary.status).collect();
    let matches = computed
        .iter()
        .all(|status| *status == Some(claimed_status));
    let verdict = match (is_eq, matches) {
        (true, true) | (false, false) => Verdict::Consistent,
        _ => Verdict::Inconsistent,
    };
    Ok(judged(
        assertion,
        Some(Computed::Statuses(site_statuses(&statuses))),
        verdict,
        explained,
        coverage,
        sources,
    ))
}

/// Each site's computed status, in the order of the sites.
fn site_statuses(statuses: &[AccessSummary]) -> Vec<Option<AccessStatus>> {
    statuses.iter().map(|summary| summary.status).collect()
}

/// Missions, incidents and appeals are counted from their records. They are
/// reports, not an exhaustive register, so only lower bounds can be confirmed.
fn check_record_count(
    snapshot: &Snapshot,
    assertion: &Assertion,
    sites: &[String],
    from: Date,
    to: Date,
) -> AssertionVerdict {
    let within = |time: &Time| {
        let day = time.local_day();
        day >= from && day <= to
    };
    let in_sites = |site: &str| sites.iter().any(|wanted| wanted == site);
    let category_matches =
        |category: Category| assertion.category.is_none_or(|wanted| wanted == category);
    let mut sources: Vec<String> = Vec::new();
    let mut count = 0_u64;
    let mut note = |record: &Record| {
        count += 1;
        if !sources.contains(&record.source.name) {
            sources.push(record.source.name.clone());
        }
    };
    match assertion.metric {
        ClaimMetric::Missions => {
            for record in &snapshot.missions {
                if let Body::Mission(mission) = &record.body
                    && within(&mission.planned_start)
                    && mission.sites.iter().any(|site| in_sites(site))
                    && category_matches(mission.category)
                {
                    note(record);
                }
            }
        }
        ClaimMetric::Incidents => {
            for record in &snapshot.incidents {
                if let Body::Incident(incident) = &record.body
                    && within(&incident.started_at)
                    && in_sites(&incident.site)
                {
                    note(record);
                }
            }
        }
        _ => {
            for record in &snapshot.appeals {
                if let Body::Appeal(appeal) = &record.body {
                    let site_matches = appeal.site.as_deref().is_none_or(in_sites);
                    if within(&appeal.received_at) && site_matches {
                        note(record);
                    }
                }
            }
        }
    }
    let AssertedValue::Number(value) = assertion.value else {
        return judged(
            assertion,
            None,
            Verdict::NotVerifiable,
            "a count is compared with a number".into(),
            Vec::new(),
            sources,
        );
    };
    let (verdict, reason) = judge(
        count as f64,
        value,
        assertion.op,
        assertion.tolerance,
        false,
    );
    let reason = format!(
        "{reason}; {} are reports, not an exhaustive register",
        assertion.metric
    );
    judged(
        assertion,
        Some(Computed::Count(count)),
        verdict,
        reason,
        Vec::new(),
        sources,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_figures_serialize_as_they_always_read() {
        let json = |computed: Option<Computed>| serde_json::to_string(&computed).expect("json");
        assert_eq!(json(Some(Computed::Figure(980.0))), "980");
        assert_eq!(json(Some(Computed::Figure(12.5))), "12.5");
        assert_eq!(json(Some(Computed::Count(3))), "3");
        assert_eq!(
            json(Some(Computed::Statuses(vec![
                Some(AccessStatus::SeverelyRestricted),
                None
            ]))),
            "\"severely_restricted, unknown\""
        );
        assert_eq!(json(None), "null");
        assert_eq!(
            Computed::Statuses(vec![Some(AccessStatus::Open)]).to_string(),
            "open"
        );
    }

    #[test]
    fn a_verdict_writes_the_assertion_with_sorted_keys_and_the_claimed_figure_whole() {
        let assertion = Assertion {
            metric: ClaimMetric::Vehicles,
            op: ComparisonOp::Gt,
            value: AssertedValue::Number(850.0),
            tolerance: None,
            from: "2022-12-12".into(),
            to: "2023-01-23".into(),
            sites: vec!["lachin-road".into()],
            category: Some(Category::Peacekeeping),
            operator: None,
            direction: None,
            outcome: None,
            cargo_kind: None,
            attributes: std::collections::BTreeMap::new(),
        };
        let verdict = judged(
            &assertion,
            Some(Computed::Figure(858.0)),
            Verdict::Consistent,
            "reason".into(),
            Vec::new(),
            Vec::new(),
        );
        assert_eq!(
            serde_json::to_string(&verdict).expect("json"),
            "{\"assertion\":{\"category\":\"peacekeeping\",\"from\":\"2022-12-12\",\"metric\":\"vehicles\",\"op\":\"gt\",\"sites\":[\"lachin-road\"],\"to\":\"2023-01-23\",\"value\":850.0},\"claimed\":850,\"computed\":858,\"verdict\":\"consistent\",\"reason\":\"reason\",\"coverage\":[],\"sources\":[]}"
        );
    }
}
