//! Everything the dashboard shows, gathered from the store's rollups and the
//! current non-passage records, plus the log's published checkpoint.
//!
//! Figures come from rollups only (`corridor_stats::compute`, the access
//! index, coverage): never from a scan of passages, so the page costs the
//! same for a thousand passages as for ten million. The one index read is
//! the count of synthetic passages, which reads the attribute index.

use corridor_log::LogReader;
use corridor_model::time::{date_of_day_number, day_number};
use corridor_model::{Body, Category, FlowMetric};
use corridor_stats::access::{AccessQuery, Thresholds, access_index};
use corridor_stats::claims::{ClaimVerdict, check_claim};
use corridor_stats::coverage::site_coverage;
use corridor_stats::report::{Coordinates, SiteSection};
use corridor_stats::snapshot::Snapshot;
use corridor_stats::{StatsDimension, StatsError, StatsQuery, StatsReport, StatsRow};
use corridor_store::{Dimension, DimensionValue, Metrics, RollupFilter, RollupQuery, Store};
use corridor_tlog::cosignature::parse_timestamped_signature;
use corridor_tlog::note::Note;
use jiff::civil::Date;
use jiff::{Span, Timestamp};
use std::collections::BTreeMap;

use super::query::{BadParameter, Filters, check_period};

/// How many days the dashboard shows when no period is asked for: the 43
/// days up to the last day that has records (the length of the demo period).
pub const DEFAULT_PERIOD_DAYS: i64 = 43;

/// The period, site and category the page is about, all resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub from: Date,
    pub to: Date,
    pub site: Option<String>,
    pub category: Option<Category>,
}

impl Selection {
    pub fn from_text(&self) -> String {
        self.from.strftime("%Y-%m-%d").to_string()
    }

    pub fn to_text(&self) -> String {
        self.to.strftime("%Y-%m-%d").to_string()
    }

    pub fn days(&self) -> i32 {
        day_number(self.to) - day_number(self.from) + 1
    }
}

/// One event of the timeline: a mission or an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEvent {
    /// When it started, as the record says (site-local).
    pub at: String,
    pub ended: Option<String>,
    /// `mission` or `incident`.
    pub record_type: &'static str,
    pub id: String,
    pub kind: String,
    pub title: String,
    /// A mission's outcome (`denied`, `obstructed`, ...); none for incidents.
    pub outcome: Option<String>,
    pub description: String,
    pub sites: Vec<String>,
    pub source: String,
}

impl TimelineEvent {
    /// Whether this event is a mission that did not happen as planned.
    pub fn is_denied(&self) -> bool {
        matches!(
            self.outcome.as_deref(),
            Some("denied" | "obstructed" | "cancelled")
        )
    }
}

/// A signature line on the published checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSignature {
    pub key_name: String,
    pub key_id: String,
    /// For a witness cosignature (tlog-cosignature): when it cosigned.
    pub cosigned_at: Option<String>,
    /// Whether this is the log's own signature (its key is named after the origin).
    pub is_log: bool,
}

/// The state of the transparency log, as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    pub origin: String,
    pub tree_size: u64,
    pub root_hash: String,
    /// When the checkpoint file was written (its modification time), UTC.
    pub published_at: Option<String>,
    pub signatures: Vec<CheckpointSignature>,
    /// Records stored but not yet in a published checkpoint.
    pub pending: u64,
}

impl LogState {
    pub fn witnesses(&self) -> impl Iterator<Item = &CheckpointSignature> {
        self.signatures.iter().filter(|signature| !signature.is_log)
    }
}

/// Everything the dashboard page shows.
#[derive(Debug, Clone)]
pub struct DashboardData {
    pub selection: Selection,
    /// Every current site, as `(id, name)`, for the filters.
    pub sites: Vec<(String, String)>,
    /// Categories with records at the selected site(s) in the period, for the filters.
    pub categories: Vec<String>,
    /// Plain-language warnings the reader must see first.
    pub notices: Vec<String>,
    pub synthetic_passages: i64,
    /// Vehicles, passages, passengers... of the selection (every outcome).
    pub totals: StatsReport,
    /// By category and direction (every outcome).
    pub by_category_direction: StatsReport,
    /// By outcome and category.
    pub by_outcome: StatsReport,
    pub site_sections: Vec<SiteSection>,
    pub timeline: Vec<TimelineEvent>,
    pub claims: Vec<ClaimVerdict>,
    pub thresholds: Thresholds,
    /// The published log, or why it cannot be read.
    pub log: Result<LogState, String>,
    /// How many records the store holds.
    pub stored_records: u64,
}

/// Why the dashboard could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The request asked for something that does not exist or makes no sense.
    #[error(transparent)]
    BadParameter(#[from] BadParameter),
    #[error(transparent)]
    Stats(#[from] StatsError),
}

impl From<corridor_store::StoreError> for DashboardError {
    fn from(error: corridor_store::StoreError) -> Self {
        DashboardError::Stats(StatsError::Store(error))
    }
}

/// The last day that has passages at `sites` (all sites when empty), from the rollups.
///
/// # Errors
/// A storage failure.
pub fn last_day_with_records(
    store: &dyn Store,
    sites: &[String],
) -> Result<Option<Date>, DashboardError> {
    let rows = store.rollup(&RollupQuery {
        from_day: day_number(Date::MIN),
        to_day: day_number(Date::MAX),
        filter: RollupFilter {
            sites: sites.to_vec(),
            ..RollupFilter::default()
        },
        group_by: vec![Dimension::Day],
    })?;
    Ok(rows
        .iter()
        .filter(|row| row.metrics.passages > 0)
        .filter_map(|row| match row.keys.first() {
            Some(DimensionValue::Day(day)) => Some(*day),
            _ => None,
        })
        .max()
        .map(date_of_day_number))
}

fn days_before(date: Date, days: i64) -> Date {
    date.checked_sub(Span::new().days(days))
        .unwrap_or(Date::MIN)
}

/// Resolves the filters into a selection: a missing period becomes the 43
/// days up to the last day with records (or up to `today` when there are
/// none), a missing start 43 days before the end, a missing end 43 days after
/// the start. An unknown site is refused.
///
/// # Errors
/// An unknown site, an inverted period, or a storage failure.
pub fn resolve_selection(
    store: &dyn Store,
    snapshot: &Snapshot,
    filters: &Filters,
    today: Date,
) -> Result<Selection, DashboardError> {
    if let Some(site) = &filters.site
        && !snapshot.sites.contains_key(site)
    {
        return Err(BadParameter {
            parameter: "site",
            reason: format!("there is no site {site:?}"),
        }
        .into());
    }
    let (from, to) = match (filters.from, filters.to) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (
            from,
            from.checked_add(Span::new().days(DEFAULT_PERIOD_DAYS - 1))
                .unwrap_or(Date::MAX),
        ),
        (None, Some(to)) => (days_before(to, DEFAULT_PERIOD_DAYS - 1), to),
        (None, None) => {
            let sites: Vec<String> = filters.site.iter().cloned().collect();
            let last = last_day_with_records(store, &sites)?.unwrap_or(today);
            (days_before(last, DEFAULT_PERIOD_DAYS - 1), last)
        }
    };
    check_period(from, to)?;
    Ok(Selection {
        from,
        to,
        site: filters.site.clone(),
        category: filters.category,
    })
}

/// Reads the published checkpoint: size, root, signatures and cosignatures.
///
/// # Errors
/// The log has no checkpoint yet, or it cannot be read; the message says which.
pub fn log_state(log: &LogReader, stored_records: u64) -> Result<LogState, String> {
    let published = log.latest().map_err(|error| error.to_string())?;
    let note = Note::parse(published.signed.as_bytes()).map_err(|error| error.to_string())?;
    let checkpoint = &published.checkpoint;
    let signatures = note
        .signatures()
        .iter()
        .map(|signature| {
            let key_name = signature.key_name.as_str().to_string();
            // A cosignature/v1 carries its 8-byte timestamp before the Ed25519 signature.
            let cosigned_at = if signature.signature.len()
                == corridor_tlog::cosignature::TIMESTAMPED_SIGNATURE_LEN
            {
                parse_timestamped_signature(&signature.signature)
                    .ok()
                    .and_then(|(seconds, _)| i64::try_from(seconds).ok())
                    .and_then(|seconds| Timestamp::from_second(seconds).ok())
                    .map(|instant| instant.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
            } else {
                None
            };
            CheckpointSignature {
                is_log: key_name == checkpoint.origin && cosigned_at.is_none(),
                key_name,
                key_id: format!("{:08x}", signature.key_id.0),
                cosigned_at,
            }
        })
        .collect();
    let published_at = log
        .storage()
        .modified(corridor_log::CHECKPOINT_FILE)
        .ok()
        .flatten()
        .and_then(|modified| Timestamp::try_from(modified).ok())
        .map(|instant| instant.strftime("%Y-%m-%d %H:%M:%S UTC").to_string());
    Ok(LogState {
        origin: checkpoint.origin.clone(),
        tree_size: checkpoint.tree_size,
        root_hash: base64_of(&checkpoint.root_hash),
        published_at,
        signatures,
        pending: stored_records.saturating_sub(checkpoint.tree_size),
    })
}

/// Standard base64 with padding, as checkpoints write root hashes.
fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Gathers the dashboard for `filters`.
///
/// `log` is the published log when there is one; `today` is used only when
/// the store has no passages to place a default period.
///
/// # Errors
/// An unknown site, an inverted or too long period, or a storage failure.
pub fn gather(
    store: &dyn Store,
    log: Option<&LogReader>,
    filters: &Filters,
    thresholds: Thresholds,
    today: Date,
) -> Result<DashboardData, DashboardError> {
    let snapshot = Snapshot::load(store)?;
    let selection = resolve_selection(store, &snapshot, filters, today)?;
    let Selection {
        from,
        to,
        ref site,
        category,
    } = selection;
    let selected_sites: Vec<String> = site.iter().cloned().collect();
    let site_ids: Vec<String> = match site {
        Some(site) => vec![site.clone()],
        None => snapshot.sites.keys().cloned().collect(),
    };
    let Breakdowns {
        totals,
        by_category_direction,
        by_outcome,
        mut categories,
    } = breakdowns(store, &selection, &selected_sites)?;
    if let Some(category) = category
        && !categories.iter().any(|known| known == category.as_str())
    {
        categories.push(category.as_str().to_string());
    }

    let mut site_sections = Vec::new();
    for site_id in &site_ids {
        let Some(entry) = snapshot.sites.get(site_id) else {
            continue;
        };
        let coverage = site_coverage(&snapshot, site_id, from, to, FlowMetric::Vehicles, category);
        let access = access_index(
            store,
            &snapshot,
            &AccessQuery {
                site: site_id,
                from,
                to,
                metric: FlowMetric::Vehicles,
                category,
            },
            thresholds,
        )?;
        let timezone = match &entry.record.body {
            Body::Site(body) => body.timezone.clone(),
            _ => String::new(),
        };
        site_sections.push(SiteSection {
            id: site_id.clone(),
            name: entry.name().to_string(),
            timezone,
            coordinates: Coordinates::of_site(&entry.record),
            coverage,
            access,
            access_by_category: Vec::new(),
        });
    }

    let timeline = timeline(&snapshot, &site_ids, from, to, category);

    // Claims about this period and these sites: any assertion overlapping both.
    let mut claims = Vec::new();
    for claim in &snapshot.claims {
        let Body::Claim(body) = &claim.body else {
            continue;
        };
        let concerns = body.assertions.iter().any(|assertion| {
            let starts = corridor_model::time::parse_date(&assertion.from);
            let ends = corridor_model::time::parse_date(&assertion.to);
            let overlaps =
                matches!((starts, ends), (Some(start), Some(end)) if start <= to && end >= from);
            let at_site = site.as_ref().is_none_or(|site| {
                assertion.sites.is_empty() || assertion.sites.iter().any(|named| named == site)
            });
            overlaps && at_site
        });
        if concerns {
            claims.push(check_claim(store, &snapshot, claim, thresholds)?);
        }
    }

    // Synthetic records say so in an attribute; the reader must be told first.
    let period_query = RollupQuery {
        from_day: day_number(from),
        to_day: day_number(to),
        filter: RollupFilter {
            sites: selected_sites.clone(),
            category: category.map(|category| category.as_str().to_string()),
            ..RollupFilter::default()
        },
        group_by: Vec::new(),
    };
    let synthetic = store
        .passage_sums(
            &period_query,
            &[("synthetic".to_string(), "true".to_string())],
        )?
        .passages;
    let all_passages = totals.totals.figures.passages.unwrap_or(0);
    let mut notices = Vec::new();
    if synthetic > 0 {
        let share = if synthetic == all_passages {
            "All".to_string()
        } else {
            format!("{synthetic} of the {all_passages}")
        };
        notices.push(format!(
            "{share} passage records in this selection are synthetic: they spread published totals over days and vehicles, and only those totals are public figures. Each record names who published the figure it comes from."
        ));
    }
    let partly_covered: Vec<String> = site_sections
        .iter()
        .filter(|section| section.coverage.share < 1.0)
        .map(|section| {
            format!(
                "{} ({})",
                section.name,
                super::html::percent(section.coverage.share)
            )
        })
        .collect();
    if !partly_covered.is_empty() {
        notices.push(format!(
            "Not watched all the time, share of the period covered: {}. Where nobody watched, the absence of records says nothing.",
            partly_covered.join(", ")
        ));
    }

    let stored_records = store.leaf_count()?;
    let log = match log {
        Some(log) => log_state(log, stored_records),
        None => Err("this server publishes no log".to_string()),
    };
    Ok(DashboardData {
        sites: snapshot
            .sites
            .iter()
            .map(|(id, entry)| (id.clone(), entry.name().to_string()))
            .collect(),
        selection,
        categories,
        notices,
        synthetic_passages: synthetic,
        totals,
        by_category_direction,
        by_outcome,
        site_sections,
        timeline,
        claims,
        thresholds,
        log,
        stored_records,
    })
}

/// The figures by category, direction and outcome of a selection.
struct Breakdowns {
    totals: StatsReport,
    by_category_direction: StatsReport,
    by_outcome: StatsReport,
    /// Categories with passages at the selected sites in the period, whatever category is selected.
    categories: Vec<String>,
}

fn label(value: Option<&DimensionValue>) -> Option<String> {
    match value {
        Some(DimensionValue::Text(text)) => Some(text.clone()),
        _ => None,
    }
}

/// A statistics report in the shape `corridor_stats::compute` gives, from groups already summed.
fn report(
    selection: &Selection,
    sites: &[String],
    by: Vec<StatsDimension>,
    groups: BTreeMap<Vec<Option<String>>, Metrics>,
    total: &Metrics,
) -> StatsReport {
    let mut query = StatsQuery::period(selection.from, selection.to);
    query.sites = sites.to_vec();
    query.category = selection
        .category
        .map(|category| category.as_str().to_string());
    let rows = groups
        .into_iter()
        .map(|(key, metrics)| StatsRow::new(&by, key, &metrics))
        .collect();
    query.by = by;
    StatsReport {
        query,
        totals: StatsRow::totals(total),
        rows,
        baselines: Vec::new(),
    }
}

/// Every breakdown the page shows, folded from one rollup query grouped by
/// category, direction and outcome: one read of the period's rollup rows
/// instead of one per table.
fn breakdowns(
    store: &dyn Store,
    selection: &Selection,
    sites: &[String],
) -> Result<Breakdowns, StatsError> {
    let rows = store.rollup(&RollupQuery {
        from_day: day_number(selection.from),
        to_day: day_number(selection.to),
        filter: RollupFilter {
            sites: sites.to_vec(),
            ..RollupFilter::default()
        },
        group_by: vec![
            Dimension::Category,
            Dimension::Direction,
            Dimension::Outcome,
        ],
    })?;
    let mut categories: Vec<String> = Vec::new();
    let mut total = Metrics::default();
    let mut by_category_direction: BTreeMap<Vec<Option<String>>, Metrics> = BTreeMap::new();
    let mut by_outcome: BTreeMap<Vec<Option<String>>, Metrics> = BTreeMap::new();
    for row in &rows {
        if row.metrics.passages == 0 {
            continue;
        }
        let category = label(row.keys.first());
        let direction = label(row.keys.get(1));
        let outcome = label(row.keys.get(2));
        if let Some(category) = &category
            && !categories.contains(category)
        {
            categories.push(category.clone());
        }
        if selection
            .category
            .is_some_and(|selected| category.as_deref() != Some(selected.as_str()))
        {
            continue;
        }
        total.add(&row.metrics);
        by_category_direction
            .entry(vec![category.clone(), direction])
            .or_default()
            .add(&row.metrics);
        by_outcome
            .entry(vec![outcome, category])
            .or_default()
            .add(&row.metrics);
    }
    categories.sort();
    Ok(Breakdowns {
        totals: report(selection, sites, Vec::new(), BTreeMap::new(), &total),
        by_category_direction: report(
            selection,
            sites,
            vec![StatsDimension::Category, StatsDimension::Direction],
            by_category_direction,
            &total,
        ),
        by_outcome: report(
            selection,
            sites,
            vec![StatsDimension::Outcome, StatsDimension::Category],
            by_outcome,
            &total,
        ),
        categories,
    })
}

/// Missions planned to start in the period and incidents ongoing in it, at
/// the selected sites, oldest first. With a category, missions of other
/// categories are left out; incidents concern everyone and stay.
fn timeline(
    snapshot: &Snapshot,
    sites: &[String],
    from: Date,
    to: Date,
    category: Option<Category>,
) -> Vec<TimelineEvent> {
    let at_sites = |site: &str| sites.iter().any(|wanted| wanted == site);
    let mut events: Vec<(jiff::civil::DateTime, TimelineEvent)> = Vec::new();
    for record in &snapshot.missions {
        let Body::Mission(mission) = &record.body else {
            continue;
        };
        let day = mission.planned_start.local_day();
        if day < from
            || day > to
            || !mission.sites.iter().any(|site| at_sites(site))
            || category.is_some_and(|category| category != mission.category)
        {
            continue;
        }
        events.push((
            mission.planned_start.sort_key(),
            TimelineEvent {
                at: mission.planned_start.to_string(),
                ended: mission.planned_end.as_ref().map(ToString::to_string),
                record_type: "mission",
                id: record.id.clone(),
                kind: mission.kind.as_str().to_string(),
                title: format!(
                    "{} — {}",
                    super::html::words(mission.kind.as_str()),
                    mission.organisation
                ),
                outcome: Some(mission.outcome.as_str().to_string()),
                description: [mission.plan.clone(), mission.outcome_reason.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                sites: mission.sites.clone(),
                source: record.source.name.clone(),
            },
        ));
    }
    for record in &snapshot.incidents {
        let Body::Incident(incident) = &record.body else {
            continue;
        };
        let ongoing = incident.started_at.local_day() <= to
            && incident
                .ended_at
                .as_ref()
                .is_none_or(|ended| ended.local_day() >= from);
        if !ongoing || !at_sites(&incident.site) {
            continue;
        }
        events.push((
            incident.started_at.sort_key(),
            TimelineEvent {
                at: incident.started_at.to_string(),
                ended: incident.ended_at.as_ref().map(ToString::to_string),
                record_type: "incident",
                id: record.id.clone(),
                kind: incident.kind.as_str().to_string(),
                title: super::html::words(incident.kind.as_str()),
                outcome: None,
                description: incident.description.clone(),
                sites: vec![incident.site.clone()],
                source: record.source.name.clone(),
            },
        ));
    }
    events.sort_by(|left, right| left.0.cmp(&right.0).then(left.1.id.cmp(&right.1.id)));
    events.into_iter().map(|(_, event)| event).collect()
}
