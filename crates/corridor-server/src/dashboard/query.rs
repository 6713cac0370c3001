//! The dashboard's query parameters (`from`, `to`, `site`, `category`, and on
//! the records page `direction`, `outcome`, `page`), parsed once into typed
//! values; a bad parameter becomes an error that names it and says why.

use corridor_model::time::{day_number, parse_date};
use corridor_model::{Category, Direction, Outcome};
use corridor_stats::MAX_PERIOD_DAYS;
use jiff::civil::Date;
use serde::Deserialize;

/// The parameters as they arrive; an empty value means "not given" (an
/// untouched field of the GET form).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DashboardParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub site: Option<String>,
    pub category: Option<String>,
    pub direction: Option<String>,
    pub outcome: Option<String>,
    pub page: Option<String>,
}

/// A parameter the dashboard cannot use, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {reason}")]
pub struct BadParameter {
    pub parameter: &'static str,
    pub reason: String,
}

fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn date(parameter: &'static str, value: &Option<String>) -> Result<Option<Date>, BadParameter> {
    match given(value) {
        None => Ok(None),
        Some(text) => parse_date(text).map(Some).ok_or_else(|| BadParameter {
            parameter,
            reason: format!("{text:?} is not a date (YYYY-MM-DD)"),
        }),
    }
}

/// The filters of the dashboard, with the period still open where not given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filters {
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub site: Option<String>,
    pub category: Option<Category>,
}

impl Filters {
    /// Parses the dashboard's parameters.
    ///
    /// # Errors
    /// A date that is not one, an unknown category, or an inverted or too
    /// long period.
    pub fn parse(params: &DashboardParams) -> Result<Filters, BadParameter> {
        let from = date("from", &params.from)?;
        let to = date("to", &params.to)?;
        if let (Some(from), Some(to)) = (from, to) {
            check_period(from, to)?;
        }
        let category = match given(&params.category) {
            None => None,
            Some(text) => Some(Category::parse(text).ok_or_else(|| BadParameter {
                parameter: "category",
                reason: format!("{text:?} is not a category ({})", Category::expected()),
            })?),
        };
        Ok(Filters {
            from,
            to,
            site: given(&params.site).map(str::to_string),
            category,
        })
    }
}

/// Checks that a period runs forwards and is not longer than statistics allow.
///
/// # Errors
/// `to` before `from`, or more than [`MAX_PERIOD_DAYS`] days.
pub fn check_period(from: Date, to: Date) -> Result<(), BadParameter> {
    if to < from {
        return Err(BadParameter {
            parameter: "to",
            reason: format!("{to} is before from ({from})"),
        });
    }
    let days = day_number(to) - day_number(from) + 1;
    if days > MAX_PERIOD_DAYS {
        return Err(BadParameter {
            parameter: "to",
            reason: format!("the period spans {days} days; at most {MAX_PERIOD_DAYS}"),
        });
    }
    Ok(())
}

/// What the records page lists: passages of a period (required), optionally
/// of one site, category, direction and set of outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordsFilter {
    pub from: Date,
    pub to: Date,
    pub site: Option<String>,
    pub category: Option<Category>,
    pub direction: Option<Direction>,
    /// Empty means every outcome; `passed,delayed` is the flow.
    pub outcomes: Vec<Outcome>,
    /// 1-based page of the listing.
    pub page: usize,
}

impl RecordsFilter {
    /// Parses the records page's parameters.
    ///
    /// # Errors
    /// A missing or bad period, or an unknown category, direction or outcome.
    pub fn parse(params: &DashboardParams) -> Result<RecordsFilter, BadParameter> {
        let filters = Filters::parse(params)?;
        let missing = |parameter: &'static str| BadParameter {
            parameter,
            reason: "required (YYYY-MM-DD)".to_string(),
        };
        let from = filters.from.ok_or_else(|| missing("from"))?;
        let to = filters.to.ok_or_else(|| missing("to"))?;
        let direction = match given(&params.direction) {
            None => None,
            Some(text) => Some(Direction::parse(text).ok_or_else(|| BadParameter {
                parameter: "direction",
                reason: format!("{text:?} is not a direction ({})", Direction::expected()),
            })?),
        };
        let mut outcomes = Vec::new();
        if let Some(text) = given(&params.outcome) {
            for token in text
                .split(',')
                .map(str::trim)
                .filter(|token| !token.is_empty())
            {
                let outcome = Outcome::parse(token).ok_or_else(|| BadParameter {
                    parameter: "outcome",
                    reason: format!("{token:?} is not an outcome ({})", Outcome::expected()),
                })?;
                if !outcomes.contains(&outcome) {
                    outcomes.push(outcome);
                }
            }
        }
        let page = match given(&params.page) {
            None => 1,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|page| *page >= 1)
                .ok_or_else(|| BadParameter {
                    parameter: "page",
                    reason: format!("{text:?} is not a page number (1, 2, ...)"),
                })?,
        };
        Ok(RecordsFilter {
            from,
            to,
            site: filters.site,
            category: filters.category,
            direction,
            outcomes,
            page,
        })
    }

    /// The outcomes as the `outcome` parameter writes them.
    pub fn outcome_parameter(&self) -> Option<String> {
        if self.outcomes.is_empty() {
            None
        } else {
            Some(
                self.outcomes
                    .iter()
                    .map(|outcome| outcome.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> DashboardParams {
        let mut params = DashboardParams::default();
        for (name, value) in pairs {
            let value = Some((*value).to_string());
            match *name {
                "from" => params.from = value,
                "to" => params.to = value,
                "site" => params.site = value,
                "category" => params.category = value,
                "direction" => params.direction = value,
                "outcome" => params.outcome = value,
                "page" => params.page = value,
                _ => {}
            }
        }
        params
    }

    #[test]
    fn empty_form_fields_mean_no_filter() {
        let filters = Filters::parse(&params(&[("from", ""), ("site", " "), ("category", "")]));
        assert_eq!(filters, Ok(Filters::default()));
    }

    #[test]
    fn bad_parameters_are_named_with_the_reason() {
        let error = Filters::parse(&params(&[("from", "2023-13-01")])).err();
        assert_eq!(
            error.map(|error| error.to_string()),
            Some("from: \"2023-13-01\" is not a date (YYYY-MM-DD)".to_string())
        );
        let error = Filters::parse(&params(&[("from", "2023-01-02"), ("to", "2023-01-01")])).err();
        assert_eq!(error.map(|error| error.parameter), Some("to"));
        let error = Filters::parse(&params(&[("category", "tanks")])).err();
        assert!(
            error.as_ref().is_some_and(
                |error| error.parameter == "category" && error.reason.contains("red_cross")
            ),
            "{error:?}"
        );
        let error = RecordsFilter::parse(&params(&[("to", "2023-01-01")])).err();
        assert_eq!(error.map(|error| error.parameter), Some("from"));
        let error = RecordsFilter::parse(&params(&[
            ("from", "2023-01-01"),
            ("to", "2023-01-01"),
            ("outcome", "passed,vanished"),
        ]))
        .err();
        assert_eq!(error.map(|error| error.parameter), Some("outcome"));
    }

    #[test]
    fn records_filter_reads_outcome_lists_and_pages() {
        let filter = RecordsFilter::parse(&params(&[
            ("from", "2022-12-12"),
            ("to", "2023-01-23"),
            ("outcome", "passed,delayed,passed"),
            ("direction", "inbound"),
            ("page", "3"),
        ]));
        let Ok(filter) = filter else {
            panic!("{filter:?}");
        };
        assert_eq!(filter.outcomes, vec![Outcome::Passed, Outcome::Delayed]);
        assert_eq!(
            filter.outcome_parameter().as_deref(),
            Some("passed,delayed")
        );
        assert_eq!(filter.direction, Some(Direction::Inbound));
        assert_eq!(filter.page, 3);
    }
}
