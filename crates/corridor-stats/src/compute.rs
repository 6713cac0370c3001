//! Computing a statistics report from the store's rollups: totals, then the
//! groups asked for, days folded into weeks or months where asked.

use std::collections::BTreeMap;

use corridor_model::time::date_of_day_number;
use corridor_store::{Dimension, DimensionValue, Metrics, Store};

use crate::baselines;
use crate::error::StatsError;
use crate::query::{StatsDimension, StatsQuery};
use crate::table::{StatsReport, StatsRow};

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
    let totals = StatsRow::totals(&total);

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
            rows.push(StatsRow::new(&query.by, key, &metrics));
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
