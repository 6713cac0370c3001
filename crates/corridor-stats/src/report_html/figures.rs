//! How figures, days, vocabulary tokens and statuses read on the page: one
//! place that decides "12 Dec 2022", "—" for a figure nobody gave and
//! "severely restricted", so every section says them the same way. Numbers
//! themselves ("39,560", "2.5%") are written by [`crate::numbers`].

use corridor_model::{AccessStatus, AssertedValue, ComparisonOp};
use serde_json::Value;

use super::escape;
use crate::access::DayAccess;
use crate::claims::{Computed, Verdict};
use crate::numbers::number;

/// A figure, or `—` where no record gave it.
pub(super) fn figure_text(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), number)
}

/// A dimension label (a vocabulary token or a name) as words, escaped; `—`
/// where the records did not say.
pub(super) fn label_text(label: Option<&str>) -> String {
    label.map_or_else(|| "—".to_string(), |text| escape(&token(text)))
}

/// A claimed value: the figure, or the status in words.
pub(super) fn claimed_text(claimed: &AssertedValue) -> String {
    match claimed {
        AssertedValue::Number(value) => number(*value),
        AssertedValue::Status(status) => escape(&token(status.as_str())),
    }
}

/// What the records give for an assertion; `—` where no record reports it.
pub(super) fn computed_text(computed: Option<&Computed>) -> String {
    match computed {
        None => "—".to_string(),
        Some(Computed::Figure(value)) => number(*value),
        Some(Computed::Count(count)) => number(*count as f64),
        Some(statuses @ Computed::Statuses(_)) => escape(&token(&statuses.to_string())),
    }
}

/// A JSON value as plain (unescaped) text: strings bare, arrays joined.
pub(super) fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// A string field of a record's public JSON, plain.
pub(super) fn field(record: &Value, name: &str) -> String {
    record.get(name).map(plain).unwrap_or_default()
}

/// A vocabulary token as words: `severely_restricted` → `severely restricted`.
pub fn token(text: &str) -> String {
    text.replace('_', " ")
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2022-12-12` → `12 Dec 2022`; anything else is returned as it is.
pub fn day_label(day: &str) -> String {
    match split_day(day) {
        Some((year, month, day_of_month)) => format!("{day_of_month} {} {year}", MONTHS[month - 1]),
        None => day.to_string(),
    }
}

/// `2022-12-12` → `12 Dec`, the short label of a chart axis.
pub(super) fn day_label_short(day: &str) -> String {
    match split_day(day) {
        Some((_, month, day_of_month)) => format!("{day_of_month} {}", MONTHS[month - 1]),
        None => day.to_string(),
    }
}

/// The year of a `YYYY-MM-DD` day, if it is one.
pub(super) fn day_year(day: &str) -> Option<i32> {
    split_day(day).map(|(year, _, _)| year)
}

fn split_day(day: &str) -> Option<(i32, usize, u32)> {
    let mut parts = day.get(..10)?.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: usize = parts.next()?.parse().ok()?;
    let day_of_month: u32 = parts.next()?.parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day_of_month)).then_some((
        year,
        month,
        day_of_month,
    ))
}

/// A time from a record (`2022-12-12`, `2022-12-12T08:30:00+04:00`) as
/// readable text: the day in words, then the time of day when there is one.
pub(super) fn time_label(time: &str) -> String {
    let day = day_label(time);
    match time.get(11..16) {
        Some(clock) if time.as_bytes().get(10) == Some(&b'T') => format!("{day}, {clock}"),
        _ => day,
    }
}

/// What a day of the access index shows in the status band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayState {
    Status(AccessStatus),
    /// Nobody watched: the absence of records says nothing.
    NotCovered,
    /// Watched, something passed, but there is no baseline to compare with.
    NoBaseline,
}

impl DayState {
    pub(super) fn of(day: &DayAccess) -> DayState {
        DayState::new(day.status, day.covered_share > 0.0)
    }

    /// The state of a status, or of its absence on a watched or unwatched day.
    pub fn new(status: Option<AccessStatus>, covered: bool) -> DayState {
        match status {
            Some(status) => DayState::Status(status),
            None if covered => DayState::NoBaseline,
            None => DayState::NotCovered,
        }
    }

    /// Every state, in the order of the legend.
    pub(super) const ALL: [DayState; 6] = [
        DayState::Status(AccessStatus::Open),
        DayState::Status(AccessStatus::Restricted),
        DayState::Status(AccessStatus::SeverelyRestricted),
        DayState::Status(AccessStatus::Closed),
        DayState::NotCovered,
        DayState::NoBaseline,
    ];

    /// The CSS class, also the hook for tests: `status-severely-restricted`.
    pub fn class(self) -> &'static str {
        match self {
            DayState::Status(AccessStatus::Open) => "status-open",
            DayState::Status(AccessStatus::Restricted) => "status-restricted",
            DayState::Status(AccessStatus::SeverelyRestricted) => "status-severely-restricted",
            DayState::Status(AccessStatus::Closed) => "status-closed",
            DayState::NotCovered => "status-not-covered",
            DayState::NoBaseline => "status-no-baseline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DayState::Status(AccessStatus::Open) => "open",
            DayState::Status(AccessStatus::Restricted) => "restricted",
            DayState::Status(AccessStatus::SeverelyRestricted) => "severely restricted",
            DayState::Status(AccessStatus::Closed) => "closed",
            DayState::NotCovered => "not covered",
            DayState::NoBaseline => "no baseline",
        }
    }

    /// The fill, written on the element as well as in CSS so the chart keeps
    /// its colours where the stylesheet is stripped (feed readers, some printers).
    pub(super) fn colour(self) -> &'static str {
        match self {
            DayState::Status(AccessStatus::Open) => "#1a7f37",
            DayState::Status(AccessStatus::Restricted) => "#d4a72c",
            DayState::Status(AccessStatus::SeverelyRestricted) => "#d1591b",
            DayState::Status(AccessStatus::Closed) => "#8e1519",
            DayState::NotCovered => "#d0d7de",
            DayState::NoBaseline => "#8c959f",
        }
    }
}

/// A status badge for a period status. `None` is no status at all, and the
/// badge says why: nobody watched, or there is no baseline to compare with.
pub fn status_badge(status: Option<AccessStatus>, covered: bool) -> String {
    let state = DayState::new(status, covered);
    format!(
        "<span class=\"status-badge {}\">{}</span>",
        state.class(),
        state.label().to_uppercase()
    )
}

/// A verdict badge: `CONSISTENT`, `INCONSISTENT` or `NOT VERIFIABLE`.
pub fn verdict_badge(verdict: Verdict) -> String {
    let class = match verdict {
        Verdict::Consistent => "verdict-consistent",
        Verdict::Inconsistent => "verdict-inconsistent",
        Verdict::NotVerifiable => "verdict-not-verifiable",
    };
    format!(
        "<span class=\"verdict-badge {class}\">{}</span>",
        verdict.to_string().to_uppercase()
    )
}

/// A comparison of a claim as words: `gte` → `at least`.
pub fn comparison(op: ComparisonOp) -> &'static str {
    match op {
        ComparisonOp::Eq => "exactly",
        ComparisonOp::Ne => "not",
        ComparisonOp::Gte => "at least",
        ComparisonOp::Gt => "more than",
        ComparisonOp::Lte => "at most",
        ComparisonOp::Lt => "less than",
        ComparisonOp::Approx => "about",
    }
}

/// Text reduced to what is safe in a CSS class or an element id.
pub(super) fn slug(text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '-' || character == '_' {
                character.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if slug.is_empty() {
        "unnamed".to_string()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_as_words_and_bad_days_pass_through() {
        assert_eq!(day_label("2022-12-12"), "12 Dec 2022");
        assert_eq!(day_label_short("2023-01-05"), "5 Jan");
        assert_eq!(
            time_label("2023-01-17T08:30:00+04:00"),
            "17 Jan 2023, 08:30"
        );
        assert_eq!(day_label("2022-13-01"), "2022-13-01");
        assert_eq!(day_label("soon"), "soon");
    }

    #[test]
    fn slugs_keep_only_safe_characters() {
        assert_eq!(slug("lachin-road"), "lachin-road");
        assert_eq!(slug("a\"b <c>"), "a-b--c-");
        assert_eq!(slug(""), "unnamed");
    }
}
