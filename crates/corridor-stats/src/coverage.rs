//! Coverage: which part of a period somebody was actually watching a site,
//! for which metric and category, and where the gaps are.
//!
//! Without coverage the absence of records means nothing, so every figure
//! that needs "all of it" (an upper bound, an exact total, a closure) asks
//! this module first.

use corridor_model::time::day_number;
use corridor_model::{Body, Category, Coverage, FlowMetric, Record, Time};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::Serialize;

use crate::snapshot::Snapshot;

/// A half-open span of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Interval {
    fn seconds(&self) -> i64 {
        (self.end.as_second() - self.start.as_second()).max(0)
    }
}

/// A gap in coverage, in the site's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub start: String,
    pub end: String,
}

/// How much of a period one site was covered for one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteCoverage {
    pub site: String,
    pub metric: FlowMetric,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// Covered share of the period, 0 to 1.
    pub share: f64,
    pub covered_hours: f64,
    pub period_hours: f64,
    pub gaps: Vec<Gap>,
    /// Who kept the coverage (source names of the coverage records used).
    pub sources: Vec<String>,
}

impl SiteCoverage {
    /// Whether the whole period was covered.
    pub fn is_full(&self) -> bool {
        self.covered_hours >= self.period_hours && self.period_hours > 0.0
    }
}

/// The first instant of `day` at a site. A day at the edge of the
/// representable years whose start is out of range saturates to the first
/// or last instant there is, never to some instant in between.
pub fn start_of_day(day: Date, zone: &TimeZone) -> Timestamp {
    day.to_zoned_datetime(zone.clone())
        .map(|zoned| zoned.timestamp())
        .unwrap_or(if day.year() > 0 {
            Timestamp::MAX
        } else {
            Timestamp::MIN
        })
}

/// The site-local days `from..=to` as an interval.
pub fn period_interval(from: Date, to: Date, zone: &TimeZone) -> Interval {
    let after = to.checked_add(Span::new().days(1)).unwrap_or(to);
    Interval {
        start: start_of_day(from, zone),
        end: start_of_day(after, zone),
    }
}

/// The interval a coverage record claims. A day-only start is the start of
/// that day; a day-only end is the end of it.
pub fn coverage_interval(coverage: &Coverage, zone: &TimeZone) -> Interval {
    let start = match coverage.start {
        Time::Day(day) => start_of_day(day, zone),
        at => at.timestamp().unwrap_or(Timestamp::UNIX_EPOCH),
    };
    let end = match coverage.end {
        Time::Day(day) => start_of_day(day.checked_add(Span::new().days(1)).unwrap_or(day), zone),
        at => at.timestamp().unwrap_or(Timestamp::UNIX_EPOCH),
    };
    Interval { start, end }
}

/// Whether a coverage record speaks for `metric` and `category`. A record
/// limited to some categories covers a query about one of them; a query about
/// all categories needs a record about all of them.
fn applies(coverage: &Coverage, metric: FlowMetric, category: Option<Category>) -> bool {
    // Vehicles and passages are counted together: a register of vehicles is a
    // register of passages.
    let metric_matches = coverage.metrics.contains(&metric)
        || (matches!(metric, FlowMetric::Vehicles | FlowMetric::Passages)
            && coverage
                .metrics
                .iter()
                .any(|covered| matches!(covered, FlowMetric::Vehicles | FlowMetric::Passages)));
    let category_matches = match (&coverage.categories, category) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(covered), Some(category)) => covered.contains(&category),
    };
    metric_matches && category_matches
}

/// Merges intervals and clips them to `period`.
fn union_within(mut intervals: Vec<Interval>, period: Interval) -> Vec<Interval> {
    intervals.retain(|interval| interval.end > period.start && interval.start < period.end);
    intervals.sort();
    let mut merged: Vec<Interval> = Vec::new();
    for interval in intervals {
        let clipped = Interval {
            start: interval.start.max(period.start),
            end: interval.end.min(period.end),
        };
        match merged.last_mut() {
            Some(last) if clipped.start <= last.end => last.end = last.end.max(clipped.end),
            _ => merged.push(clipped),
        }
    }
    merged
}

fn local_text(instant: Timestamp, zone: &TimeZone) -> String {
    instant
        .to_zoned_datetime(zone.clone())
        .strftime("%Y-%m-%dT%H:%M%:z")
        .to_string()
}

/// The coverage of `site` over the site-local days `from..=to`.
pub fn site_coverage(
    snapshot: &Snapshot,
    site: &str,
    from: Date,
    to: Date,
    metric: FlowMetric,
    category: Option<Category>,
) -> SiteCoverage {
    let zone = snapshot.zone(site);
    let period = period_interval(from, to, &zone);
    let mut sources: Vec<String> = Vec::new();
    let intervals = claimed_intervals(
        snapshot,
        site,
        metric,
        category,
        &zone,
        |record, interval| {
            if interval.end > period.start
                && interval.start < period.end
                && !sources.contains(&record.source.name)
            {
                sources.push(record.source.name.clone());
            }
        },
    );
    let covered = union_within(intervals, period);
    let mut gaps = Vec::new();
    let mut cursor = period.start;
    for interval in &covered {
        if interval.start > cursor {
            gaps.push(Gap {
                start: local_text(cursor, &zone),
                end: local_text(interval.start, &zone),
            });
        }
        cursor = interval.end;
    }
    if cursor < period.end {
        gaps.push(Gap {
            start: local_text(cursor, &zone),
            end: local_text(period.end, &zone),
        });
    }
    let covered_seconds: i64 = covered.iter().map(Interval::seconds).sum();
    let period_seconds = period.seconds();
    SiteCoverage {
        site: site.to_string(),
        metric,
        category,
        share: if period_seconds > 0 {
            covered_seconds as f64 / period_seconds as f64
        } else {
            0.0
        },
        covered_hours: covered_seconds as f64 / 3600.0,
        period_hours: period_seconds as f64 / 3600.0,
        gaps,
        sources,
    }
}

/// The intervals the coverage records of `site` for `metric` and `category`
/// claim, each also shown to `seen` with its record.
fn claimed_intervals(
    snapshot: &Snapshot,
    site: &str,
    metric: FlowMetric,
    category: Option<Category>,
    zone: &TimeZone,
    mut seen: impl FnMut(&Record, Interval),
) -> Vec<Interval> {
    snapshot
        .coverage
        .iter()
        .filter_map(|record: &Record| match &record.body {
            Body::Coverage(coverage)
                if coverage.site == site && applies(coverage, metric, category) =>
            {
                let interval = coverage_interval(coverage, zone);
                seen(record, interval);
                Some(interval)
            }
            _ => None,
        })
        .collect()
}

/// The covered days of a site in the site-local days `from..=to`: the
/// covered share of each day added up, as [`site_coverage`] gives it for
/// each day alone. The work grows with the coverage records, not with the
/// days of the period, so a claim about a period of centuries costs no
/// more than one about a week (days wholly covered count 1 each, and only
/// the first and last day of each covered stretch are divided).
pub fn covered_days(
    snapshot: &Snapshot,
    site: &str,
    from: Date,
    to: Date,
    metric: FlowMetric,
    category: Option<Category>,
) -> f64 {
    let zone = snapshot.zone(site);
    let period = period_interval(from, to, &zone);
    let intervals = claimed_intervals(snapshot, site, metric, category, &zone, |_, _| {});
    let local_day = |instant: Timestamp| instant.to_zoned_datetime(zone.clone()).date();
    let next_day = |day: Date| day.checked_add(Span::new().days(1)).unwrap_or(day);
    // Covered seconds of the days a stretch begins or ends in; whole days between.
    let mut divided: std::collections::BTreeMap<Date, i64> = std::collections::BTreeMap::new();
    let mut whole_days: i64 = 0;
    for stretch in union_within(intervals, period) {
        if stretch.seconds() == 0 {
            continue;
        }
        let first = local_day(stretch.start);
        let last =
            local_day(Timestamp::from_second(stretch.end.as_second() - 1).unwrap_or(stretch.end));
        if first == last {
            *divided.entry(first).or_default() += stretch.seconds();
            continue;
        }
        let first_end = start_of_day(next_day(first), &zone);
        *divided.entry(first).or_default() += first_end.as_second() - stretch.start.as_second();
        let last_start = start_of_day(last, &zone);
        *divided.entry(last).or_default() += stretch.end.as_second() - last_start.as_second();
        whole_days += i64::from(day_number(last) - day_number(first) - 1).max(0);
    }
    let mut total = whole_days as f64;
    for (day, seconds) in divided {
        let length = period_interval(day, day, &zone).seconds();
        if length > 0 {
            total += seconds as f64 / length as f64;
        }
    }
    total
}
