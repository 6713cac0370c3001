//! The flow figures of the selection: the tiles at a glance, the breakdown by
//! operator category and direction, and what was turned back, held or
//! delayed, with the missions that were denied. Every figure links to the
//! records that add up to it.

use std::fmt::Write as _;

use corridor_model::{Direction, Outcome};
use corridor_stats::flow::FLOW_OUTCOMES;
use corridor_stats::report_html::blocks::tile;
use corridor_stats::report_html::charts;
use corridor_stats::{StatsDimension, StatsRow};

use super::links::records_of;
use crate::dashboard::data::{DashboardData, TimelineEvent};
use crate::dashboard::html::{day_label, escape, number, words};
use crate::dashboard::query::RecordsFilter;
use crate::dashboard::records::records_link;

/// A count, or `—` where no record gave it.
fn shown(value: Option<i64>) -> String {
    value.map_or_else(|| "—".to_string(), |value| number(value as f64))
}

/// A row's vehicles, counting a row without the figure as none.
fn vehicles(row: &StatsRow) -> f64 {
    row.figures.vehicles.map_or(0.0, |vehicles| vehicles as f64)
}

pub(super) fn tiles(body: &mut String, data: &DashboardData) {
    let selection = &data.selection;
    let totals = &data.totals.totals.figures;
    let all = records_of(selection);
    let flow = RecordsFilter {
        outcomes: FLOW_OUTCOMES.to_vec(),
        ..all.clone()
    };
    let turned_back = RecordsFilter {
        outcomes: vec![Outcome::TurnedBack],
        ..all.clone()
    };
    let outcome_total = |outcome: Outcome| -> f64 {
        data.by_outcome
            .rows
            .iter()
            .filter(|row| row.label(StatsDimension::Outcome) == Some(outcome.as_str()))
            .map(vehicles)
            .sum()
    };
    let flow_total: f64 = FLOW_OUTCOMES.into_iter().map(outcome_total).sum();
    body.push_str(
        "<section id=\"figures\" class=\"figures\" aria-label=\"Figures\"><div class=\"tiles\">\n",
    );
    // Each figure links to the records that add up to it.
    for (class, value, label, records) in [
        (
            "tile-vehicles",
            shown(totals.vehicles),
            "vehicles recorded",
            &all,
        ),
        (
            "tile-flow",
            number(flow_total),
            "passed (or delayed)",
            &flow,
        ),
        (
            "tile-turned-back",
            number(outcome_total(Outcome::TurnedBack)),
            "turned back",
            &turned_back,
        ),
        (
            "tile-evacuees",
            shown(totals.medical_evacuees),
            "medical evacuees",
            &all,
        ),
        (
            "tile-passengers",
            shown(totals.passengers),
            "passengers",
            &all,
        ),
    ] {
        tile(body, class, &value, label, Some(&records_link(records)));
    }
    let per_day = totals
        .vehicles
        .map(|vehicles| vehicles as f64 / f64::from(selection.days()));
    tile(
        body,
        "tile-per-day",
        &per_day.map_or_else(
            || "—".to_string(),
            |value| number((value * 10.0).round() / 10.0),
        ),
        "vehicles a day on average",
        None,
    );
    body.push_str("</div>\n<p class=\"small muted\">Tap a figure to see the records that add up to it. A dash means no record reported the figure, which is not the same as zero.</p></section>\n");
}

pub(super) fn breakdown(body: &mut String, data: &DashboardData) {
    let selection = &data.selection;
    let mut by_category: Vec<(String, f64)> = Vec::new();
    let mut cells: std::collections::BTreeMap<(String, String), f64> = Default::default();
    for row in &data.by_category_direction.rows {
        let category = row
            .label(StatsDimension::Category)
            .unwrap_or("")
            .to_string();
        let direction = row
            .label(StatsDimension::Direction)
            .unwrap_or("")
            .to_string();
        let vehicles = vehicles(row);
        match by_category.iter_mut().find(|(known, _)| *known == category) {
            Some((_, total)) => *total += vehicles,
            None => by_category.push((category.clone(), vehicles)),
        }
        *cells.entry((category, direction)).or_default() += vehicles;
    }
    by_category.sort_by(|left, right| right.1.total_cmp(&left.1).then(left.0.cmp(&right.0)));
    body.push_str("<section id=\"breakdown\" class=\"breakdown\">\n<h2>By operator category and direction</h2>\n");
    if by_category.is_empty() {
        body.push_str(
            "<p class=\"empty\">No passage recorded in this selection.</p>\n</section>\n",
        );
        return;
    }
    let _ = writeln!(
        body,
        "<figure class=\"chart categories-chart\">{}</figure>",
        charts::categories(&by_category)
    );
    let directions = [Direction::Inbound, Direction::Outbound, Direction::Unknown];
    body.push_str("<div class=\"table-scroll\"><table class=\"category-direction\"><thead><tr><th scope=\"col\">Category</th>");
    for direction in directions {
        let _ = write!(
            body,
            "<th scope=\"col\" class=\"num\">{}</th>",
            direction.as_str()
        );
    }
    body.push_str("<th scope=\"col\" class=\"num\">Total</th></tr></thead><tbody>\n");
    for (category, total) in &by_category {
        let parsed = corridor_model::Category::parse(category);
        let _ = write!(
            body,
            "<tr data-category=\"{}\"><th scope=\"row\">{}</th>",
            escape(category),
            escape(&words(category))
        );
        for direction in directions {
            let vehicles = cells
                .get(&(category.clone(), direction.as_str().to_string()))
                .copied()
                .unwrap_or(0.0);
            let href = records_link(&RecordsFilter {
                category: parsed.or(selection.category),
                direction: Some(direction),
                ..records_of(selection)
            });
            if vehicles > 0.0 {
                let _ = write!(
                    body,
                    "<td class=\"num\"><a href=\"{href}\">{}</a></td>",
                    number(vehicles)
                );
            } else {
                body.push_str("<td class=\"num muted\">0</td>");
            }
        }
        let href = records_link(&RecordsFilter {
            category: parsed.or(selection.category),
            ..records_of(selection)
        });
        let _ = writeln!(
            body,
            "<td class=\"num total\"><a href=\"{href}\">{}</a></td></tr>",
            number(*total)
        );
    }
    let total = vehicles(&data.totals.totals);
    let _ = writeln!(
        body,
        "</tbody><tfoot><tr><th scope=\"row\">All</th><td colspan=\"3\"></td><td class=\"num\"><a href=\"{}\">{}</a></td></tr></tfoot></table></div>\n<p class=\"small muted\">Vehicles of every outcome. A vehicle whose direction was not recorded counts under “unknown”.</p>\n</section>",
        records_link(&records_of(selection)),
        number(total)
    );
}

pub(super) fn refused(body: &mut String, data: &DashboardData) {
    let selection = &data.selection;
    body.push_str("<section id=\"refused\" class=\"refused\">\n<h2>Turned back, held and delayed; denied missions</h2>\n");
    let rows: Vec<&StatsRow> = data
        .by_outcome
        .rows
        .iter()
        .filter(|row| {
            row.label(StatsDimension::Outcome)
                .is_some_and(|outcome| outcome != Outcome::Passed.as_str())
        })
        .collect();
    if rows.is_empty() {
        body.push_str("<p class=\"outcome-none\">No vehicle was recorded as turned back, held or delayed in this selection.</p>\n");
    } else {
        body.push_str("<div class=\"table-scroll\"><table class=\"outcomes\"><thead><tr><th scope=\"col\">Outcome</th><th scope=\"col\">Category</th><th scope=\"col\" class=\"num\">Vehicles</th></tr></thead><tbody>\n");
        for row in rows {
            let outcome = row.label(StatsDimension::Outcome).unwrap_or("");
            let category = row.label(StatsDimension::Category).unwrap_or("");
            let href = records_link(&RecordsFilter {
                category: corridor_model::Category::parse(category).or(selection.category),
                outcomes: Outcome::parse(outcome).into_iter().collect(),
                ..records_of(selection)
            });
            let _ = writeln!(
                body,
                "<tr data-outcome=\"{o}\"><td>{ow}</td><td>{cw}</td><td class=\"num\"><a href=\"{href}\">{v}</a></td></tr>",
                o = escape(outcome),
                ow = escape(&words(outcome)),
                cw = escape(&words(category)),
                v = shown(row.figures.vehicles)
            );
        }
        body.push_str("</tbody></table></div>\n");
    }
    let denied: Vec<&TimelineEvent> = data
        .timeline
        .iter()
        .filter(|event| event.is_denied())
        .collect();
    if denied.is_empty() {
        body.push_str(
            "<p class=\"small muted\">No mission in this selection was recorded as denied, obstructed or cancelled.</p>\n",
        );
    } else {
        body.push_str("<h3>Missions denied, obstructed or cancelled</h3><ul class=\"denied\">");
        for event in denied {
            let _ = write!(
                body,
                "<li><span class=\"outcome outcome-{o}\">{ow}</span> {title} · {at} <code>{id}</code></li>",
                o = escape(event.outcome.as_deref().unwrap_or("")),
                ow = escape(&words(event.outcome.as_deref().unwrap_or("")).to_uppercase()),
                title = escape(&event.title),
                at = escape(&day_label(&event.at)),
                id = escape(&event.id)
            );
        }
        body.push_str("</ul>\n");
    }
    body.push_str("</section>\n");
}
