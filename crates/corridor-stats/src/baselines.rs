//! Putting the baseline beside every figure of a statistics report: each row
//! (and the totals) gains `baseline_vehicles` and `baseline_tonnes`, what the
//! baseline expects over the days the row spans, where the row pins one site.

use std::collections::BTreeSet;

use corridor_model::time::{date_of_day_number, day_number};
use corridor_model::{BaselineDirection, Category, FlowMetric};
use corridor_store::Store;

use crate::access::{BaselineFigure, baseline_for};
use crate::error::StatsError;
use crate::query::StatsDimension;
use crate::snapshot::Snapshot;
use crate::table::{Expected, StatsReport, StatsRow};

/// Adds baseline figures to `report`'s rows and totals.
pub(crate) fn annotate(store: &dyn Store, report: &mut StatsReport) -> Result<(), StatsError> {
    let snapshot = Snapshot::load(store)?;
    let query = report.query.clone();
    let days: Vec<jiff::civil::Date> = (day_number(query.from)..=day_number(query.to))
        .map(date_of_day_number)
        .collect();
    let mut used: Vec<BaselineFigure> = Vec::new();
    let mut expected = |row: &StatsRow| -> Result<Expected, StatsError> {
        let text = |dimension: StatsDimension| row.label(dimension).map(str::to_string);
        let site = text(StatsDimension::Site).or_else(|| match query.sites.as_slice() {
            [one] => Some(one.clone()),
            _ if snapshot.sites.len() == 1 => snapshot.sites.keys().next().cloned(),
            _ => None,
        });
        let category = text(StatsDimension::Category)
            .or_else(|| query.category.clone())
            .and_then(|token| Category::parse(&token));
        let pinned_category = text(StatsDimension::Category).is_some() || query.category.is_some();
        let direction = match text(StatsDimension::Direction)
            .or_else(|| query.direction.clone())
            .as_deref()
        {
            Some("inbound") => Some(BaselineDirection::Inbound),
            Some("outbound") => Some(BaselineDirection::Outbound),
            Some(_) => None,
            None => Some(BaselineDirection::Both),
        };
        let span = days
            .iter()
            .filter(|day| {
                let label = |dimension: StatsDimension| text(dimension);
                label(StatsDimension::Day)
                    .is_none_or(|wanted| wanted == day.strftime("%Y-%m-%d").to_string())
                    && label(StatsDimension::Week).is_none_or(|wanted| {
                        let week = day.iso_week_date();
                        wanted == format!("{:04}-W{:02}", week.year(), week.week())
                    })
                    && label(StatsDimension::Month)
                        .is_none_or(|wanted| wanted == day.strftime("%Y-%m").to_string())
            })
            .count() as f64;
        let mut values = Expected::default();
        for (metric, field) in [
            (FlowMetric::Vehicles, &mut values.vehicles),
            (FlowMetric::Tonnes, &mut values.tonnes),
        ] {
            let figure = match (&site, direction, pinned_category == category.is_some()) {
                (Some(site), Some(direction), true) => {
                    baseline_for(store, &snapshot, site, metric, category, Some(direction))?
                }
                _ => None,
            };
            *field = figure.map(|figure| {
                let expected = figure.per_day * span;
                if !used.contains(&figure) {
                    used.push(figure);
                }
                expected
            });
        }
        Ok(values)
    };
    report.totals.expected = Some(expected(&report.totals)?);
    for row in &mut report.rows {
        row.expected = Some(expected(row)?);
    }
    let mut seen = BTreeSet::new();
    used.retain(|figure| seen.insert(figure.id.clone()));
    report.baselines = used;
    Ok(())
}
