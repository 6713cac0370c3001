//! Period reports: everything Corridor can honestly say about a road in a
//! period, in one JSON document that embeds the signed checkpoint it was
//! computed at, the exact query and the thresholds used.
//!
//! The same function computes a report from the operator's store and, in
//! `report verify`, from a store rebuilt from the log's leaves alone; the two
//! JSON documents must then agree figure by figure.

use std::collections::BTreeMap;

use corridor_model::{Body, Category, FlowMetric, Record};
use corridor_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::access::{AccessQuery, AccessSummary, Thresholds, access_index};
use crate::claims::{ClaimVerdict, check_claim};
use crate::coverage::{SiteCoverage, site_coverage};
use crate::snapshot::Snapshot;
use crate::{StatsDimension, StatsError, StatsQuery, StatsReport, compute};

/// The format tag of the report documents this version writes.
///
/// - `corridor-report/v1`: the first format.
/// - `corridor-report/v2`: each site section carries the site's
///   `coordinates` (for the map) whenever its site record gives them.
pub const REPORT_FORMAT: &str = "corridor-report/v2";

/// Every format `report verify` can check, oldest first.
pub const REPORT_FORMATS: [&str; 2] = ["corridor-report/v1", REPORT_FORMAT];

/// The log checkpoint a report was computed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCheckpoint {
    pub origin: String,
    pub tree_size: u64,
    /// Base64 root hash.
    pub root_hash: String,
    /// The full signed note, so the report can be checked against the log's key.
    pub signed_note: String,
}

/// What a report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    pub from: String,
    pub to: String,
    /// Sites reported on; empty means every site.
    #[serde(default)]
    pub sites: Vec<String>,
}

/// Where a site is: WGS 84 degrees, as its site record gives them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

impl Coordinates {
    /// The coordinates of a site record, when it has both.
    pub fn of_site(record: &Record) -> Option<Coordinates> {
        match &record.body {
            Body::Site(site) => Some(Coordinates {
                latitude: site.latitude?,
                longitude: site.longitude?,
            }),
            _ => None,
        }
    }
}

/// One site's coverage and access.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteSection {
    pub id: String,
    pub name: String,
    pub timezone: String,
    /// Where the site is, for the map; absent when its record gives no coordinates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
    pub coverage: SiteCoverage,
    pub access: AccessSummary,
    /// The access index per category that has its own baseline.
    pub access_by_category: Vec<AccessSummary>,
}

/// Appeals handled in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppealSummary {
    pub total: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_kind: BTreeMap<String, u64>,
}

/// A period report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub format: String,
    pub title: String,
    pub checkpoint: Option<ReportCheckpoint>,
    pub query: ReportQuery,
    pub thresholds: Thresholds,
    pub rule: String,
    /// Plain-language warnings the reader must see (synthetic data, gaps).
    pub notices: Vec<String>,
    /// Totals by operator category and direction.
    pub totals: StatsReport,
    /// Daily series by category.
    pub daily: StatsReport,
    /// Vehicles turned back, delayed and held, by category.
    pub outcomes: StatsReport,
    pub sites: Vec<SiteSection>,
    pub missions: Vec<Value>,
    pub incidents: Vec<Value>,
    pub appeals: AppealSummary,
    pub claims: Vec<ClaimVerdict>,
}

/// Computes a report over `query` from `store`.
///
/// # Errors
/// A bad period or a storage failure.
pub fn compute_report(
    store: &dyn Store,
    query: &ReportQuery,
    thresholds: Thresholds,
    checkpoint: Option<ReportCheckpoint>,
    notices: Vec<String>,
) -> Result<Report, StatsError> {
    let (Some(from), Some(to)) = (
        corridor_model::time::parse_date(&query.from),
        corridor_model::time::parse_date(&query.to),
    ) else {
        return Err(StatsError::BadQuery(format!(
            "report period {}..{} is not two dates (YYYY-MM-DD)",
            query.from, query.to
        )));
    };
    let snapshot = Snapshot::load(store)?;
    for site in &query.sites {
        if !snapshot.sites.contains_key(site) {
            return Err(StatsError::BadQuery(format!(
                "site {site:?} does not exist"
            )));
        }
    }
    let sites: Vec<String> = if query.sites.is_empty() {
        snapshot.sites.keys().cloned().collect()
    } else {
        query.sites.clone()
    };
    let stats =
        |by: Vec<StatsDimension>, outcome: Option<&str>| -> Result<StatsReport, StatsError> {
            let mut stats_query = StatsQuery::period(from, to);
            stats_query.sites = query.sites.clone();
            stats_query.by = by;
            stats_query.outcome = outcome.map(str::to_string);
            compute(store, &stats_query)
        };
    let totals = stats(
        vec![StatsDimension::Category, StatsDimension::Direction],
        None,
    )?;
    let daily = stats(vec![StatsDimension::Day, StatsDimension::Category], None)?;
    let outcomes = stats(
        vec![StatsDimension::Outcome, StatsDimension::Category],
        None,
    )?;

    let mut sections = Vec::new();
    for site in &sites {
        let Some(entry) = snapshot.sites.get(site) else {
            continue;
        };
        let coverage = site_coverage(&snapshot, site, from, to, FlowMetric::Vehicles, None);
        let overall = AccessQuery {
            site,
            from,
            to,
            metric: FlowMetric::Vehicles,
            category: None,
        };
        let access = access_index(store, &snapshot, &overall, thresholds)?;
        let mut by_category = Vec::new();
        for category in categories_with_baseline(&snapshot, site) {
            let query = AccessQuery {
                category: Some(category),
                ..overall.clone()
            };
            by_category.push(access_index(store, &snapshot, &query, thresholds)?);
        }
        let timezone = match &entry.record.body {
            Body::Site(body) => body.timezone.clone(),
            _ => String::new(),
        };
        sections.push(SiteSection {
            id: site.clone(),
            name: entry.name().to_string(),
            timezone,
            coordinates: Coordinates::of_site(&entry.record),
            coverage,
            access,
            access_by_category: by_category,
        });
    }

    let in_period = |time: &corridor_model::Time| {
        let day = time.local_day();
        day >= from && day <= to
    };
    let at_sites = |site: &str| sites.iter().any(|wanted| wanted == site);
    let missions = public_of(&snapshot.missions, |record| match &record.body {
        Body::Mission(mission) => {
            in_period(&mission.planned_start) && mission.sites.iter().any(|site| at_sites(site))
        }
        _ => false,
    });
    let incidents = public_of(&snapshot.incidents, |record| match &record.body {
        Body::Incident(incident) => {
            let ongoing_into_period = incident.started_at.local_day() <= to
                && incident
                    .ended_at
                    .as_ref()
                    .is_none_or(|ended| ended.local_day() >= from);
            ongoing_into_period && at_sites(&incident.site)
        }
        _ => false,
    });
    let mut appeals = AppealSummary {
        total: 0,
        by_status: BTreeMap::new(),
        by_kind: BTreeMap::new(),
    };
    for record in &snapshot.appeals {
        if let Body::Appeal(appeal) = &record.body
            && in_period(&appeal.received_at)
            && appeal.site.as_deref().is_none_or(at_sites)
        {
            appeals.total += 1;
            *appeals
                .by_status
                .entry(appeal.status.as_str().to_string())
                .or_default() += 1;
            *appeals
                .by_kind
                .entry(appeal.kind.as_str().to_string())
                .or_default() += 1;
        }
    }

    // Claims about this period: any assertion whose period overlaps it.
    let mut claims = Vec::new();
    for claim in &snapshot.claims {
        let Body::Claim(body) = &claim.body else {
            continue;
        };
        let overlaps = body.assertions.iter().any(|assertion| {
            let starts = corridor_model::time::parse_date(&assertion.from);
            let ends = corridor_model::time::parse_date(&assertion.to);
            matches!((starts, ends), (Some(start), Some(end)) if start <= to && end >= from)
        });
        if overlaps {
            claims.push(check_claim(store, &snapshot, claim, thresholds)?);
        }
    }

    let mut notices = notices;
    // Synthetic records say so in an attribute; the reader must be told.
    let period_query = corridor_store::RollupQuery {
        from_day: corridor_model::time::day_number(from),
        to_day: corridor_model::time::day_number(to),
        filter: corridor_store::RollupFilter {
            sites: query.sites.clone(),
            ..corridor_store::RollupFilter::default()
        },
        group_by: Vec::new(),
    };
    let synthetic = store.passage_sums(
        &period_query,
        &[("synthetic".to_string(), "true".to_string())],
    )?;
    if synthetic.passages > 0 {
        let all: i64 = store
            .rollup(&period_query)?
            .iter()
            .map(|row| row.metrics.passages)
            .sum();
        notices.push(format!(
            "{} of the {all} passage records in this period are synthetic: they spread published totals over days and vehicles, and only those totals are public figures. Each record names who published the figure it comes from.",
            synthetic.passages
        ));
    }
    for section in &sections {
        if section.coverage.share < 1.0 {
            notices.push(format!(
                "{} was covered for {:.0}% of the period: where nobody watched, the absence of records says nothing.",
                section.name,
                section.coverage.share * 100.0
            ));
        }
    }
    let title = match sites.as_slice() {
        [one] => format!(
            "{} — {} to {}",
            snapshot
                .sites
                .get(one)
                .map_or(one.as_str(), |entry| entry.name()),
            query.from,
            query.to
        ),
        _ => format!("{} sites — {} to {}", sites.len(), query.from, query.to),
    };
    Ok(Report {
        format: REPORT_FORMAT.to_string(),
        title,
        checkpoint,
        query: query.clone(),
        thresholds,
        rule: thresholds.describe(),
        notices,
        totals,
        daily,
        outcomes,
        sites: sections,
        missions,
        incidents,
        appeals,
        claims,
    })
}

fn categories_with_baseline(snapshot: &Snapshot, site: &str) -> Vec<Category> {
    let mut categories: Vec<Category> = snapshot
        .baselines
        .iter()
        .filter_map(|record| match &record.body {
            Body::Baseline(baseline)
                if baseline.site == site && baseline.metric == FlowMetric::Vehicles =>
            {
                baseline.category
            }
            _ => None,
        })
        .collect();
    categories.sort();
    categories.dedup();
    categories
}

fn public_of(records: &[Record], keep: impl Fn(&Record) -> bool) -> Vec<Value> {
    records
        .iter()
        .filter(|record| keep(record))
        .map(Record::to_public_json)
        .collect()
}

/// Where two report documents disagree: JSON paths of every differing figure.
/// `generated`-style fields that legitimately differ are not compared.
pub fn differing_figures(expected: &Value, found: &Value) -> Vec<String> {
    let mut differences = Vec::new();
    walk("", expected, found, &mut differences);
    differences
}

fn walk(path: &str, expected: &Value, found: &Value, differences: &mut Vec<String>) {
    match (expected, found) {
        (Value::Object(expected), Value::Object(found)) => {
            let keys: std::collections::BTreeSet<&String> =
                expected.keys().chain(found.keys()).collect();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(
                    &child,
                    expected.get(key).unwrap_or(&Value::Null),
                    found.get(key).unwrap_or(&Value::Null),
                    differences,
                );
            }
        }
        (Value::Array(expected), Value::Array(found)) => {
            for index in 0..expected.len().max(found.len()) {
                walk(
                    &format!("{path}[{index}]"),
                    expected.get(index).unwrap_or(&Value::Null),
                    found.get(index).unwrap_or(&Value::Null),
                    differences,
                );
            }
        }
        (Value::Number(expected_number), Value::Number(found_number)) => {
            // Figures are compared as numbers: 12 and 12.0 are the same figure.
            let same = match (expected_number.as_f64(), found_number.as_f64()) {
                (Some(left), Some(right)) => (left - right).abs() <= 1e-9 * left.abs().max(1.0),
                _ => expected_number == found_number,
            };
            if !same {
                differences.push(format!(
                    "{path}: report says {found}, the log gives {expected}"
                ));
            }
        }
        _ if expected != found => differences.push(format!(
            "{path}: report says {found}, the log gives {expected}"
        )),
        _ => {}
    }
}

/// The recomputed `report` in the shape of the published document it is
/// compared with, whose format is `published["format"]`: a report keeps the
/// fields of the format it was written in, so a report published before a
/// field existed still verifies.
///
/// A `corridor-report/v1` document may lack each site's `coordinates`
/// (reports made before the map); where a v1 site section carries them,
/// they are compared like any other field.
///
/// # Errors
///
/// The published document names no format, or one this version cannot check.
pub fn report_json_as_published(
    report: &Report,
    published: &Value,
) -> Result<Map<String, Value>, StatsError> {
    let format = published.get("format").and_then(Value::as_str);
    let Some(format) = format.filter(|format| REPORT_FORMATS.contains(format)) else {
        return Err(StatsError::BadQuery(format!(
            "the report's format is {}; this version checks {}",
            format.map_or_else(|| "not given".to_string(), |format| format!("{format:?}")),
            REPORT_FORMATS.join(" and ")
        )));
    };
    let mut recomputed = report_json(report);
    if format == REPORT_FORMATS[0] {
        recomputed.insert("format".into(), Value::from(format));
        let published_sites = published.get("sites").and_then(Value::as_array);
        let carries_coordinates = |id: &str| {
            published_sites.is_some_and(|sites| {
                sites.iter().any(|site| {
                    site.get("id").and_then(Value::as_str) == Some(id)
                        && site.get("coordinates").is_some()
                })
            })
        };
        if let Some(Value::Array(sites)) = recomputed.get_mut("sites") {
            for site in sites.iter_mut().filter_map(Value::as_object_mut) {
                let id = site.get("id").and_then(Value::as_str).unwrap_or_default();
                if !carries_coordinates(id) {
                    site.remove("coordinates");
                }
            }
        }
    }
    Ok(recomputed)
}

/// The report as a JSON object (for embedding and comparison).
pub fn report_json(report: &Report) -> Map<String, Value> {
    match serde_json::to_value(report) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    }
}
