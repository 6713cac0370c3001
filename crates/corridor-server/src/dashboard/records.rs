//! The records behind a figure: the public parts of the current passages of a
//! period, site, category, direction and outcome, with totals that add up to
//! the figure the dashboard showed.
//!
//! Totals come from `Store::passage_sums` and the page of rows from
//! `Store::passages`, both reading the passage index by site and day, so the
//! page costs the same on a store of millions.

use std::fmt::Write as _;

use corridor_model::time::day_number;
use corridor_stats::snapshot::current_content;
use corridor_store::{RollupFilter, RollupQuery, Store};
use serde_json::{Map, Value};

use super::html::{dashboard_link, day_label, escape, link, number, page, words};
use super::query::RecordsFilter;

/// Records listed on one page.
pub const PAGE_SIZE: usize = 100;

/// One passage as the public log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct PassageRow {
    pub id: String,
    pub leaf_index: Option<u64>,
    pub observed_at: String,
    pub site: String,
    pub direction: String,
    pub category: String,
    pub operator: String,
    pub vehicle_class: String,
    pub count: u64,
    pub outcome: String,
    pub passengers: Option<u64>,
    pub medical_evacuees: Option<u64>,
    pub cargo: String,
    pub source: String,
    pub recorded_by: String,
    pub synthetic: bool,
    pub notes: String,
}

/// The passages matching a filter: totals over all of them, one page of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordsPage {
    pub filter: RecordsFilter,
    pub records: u64,
    pub vehicles: u64,
    pub passengers: u64,
    pub medical_evacuees: u64,
    pub synthetic: u64,
    pub rows: Vec<PassageRow>,
    pub pages: usize,
}

fn text(object: &Map<String, Value>, name: &str) -> String {
    match object.get(name) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn count(object: &Map<String, Value>, name: &str) -> Option<u64> {
    object.get(name).and_then(Value::as_u64)
}

fn row_of(id: String, object: &Map<String, Value>) -> PassageRow {
    let cargo = match object.get("cargo") {
        Some(Value::Array(lines)) => lines
            .iter()
            .map(|line| {
                let kind = line.get("kind").and_then(Value::as_str).unwrap_or("");
                match line.get("tonnes").and_then(Value::as_f64) {
                    Some(tonnes) => format!("{} {} t", words(kind), number(tonnes)),
                    None => words(kind),
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    let source = object
        .get("source")
        .and_then(|source| source.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let synthetic = object
        .get("attributes")
        .and_then(|attributes| attributes.get("synthetic"))
        .and_then(Value::as_str)
        == Some("true");
    PassageRow {
        id,
        leaf_index: None,
        observed_at: text(object, "observed_at"),
        site: text(object, "site"),
        direction: text(object, "direction"),
        category: text(object, "category"),
        operator: text(object, "operator"),
        vehicle_class: text(object, "vehicle_class"),
        count: count(object, "count").unwrap_or(1),
        outcome: text(object, "outcome"),
        passengers: count(object, "passengers"),
        medical_evacuees: count(object, "medical_evacuees"),
        cargo,
        source,
        recorded_by: text(object, "recorded_by"),
        synthetic,
        notes: text(object, "notes"),
    }
}

/// The passages matching `filter` in site, day and recording order, with
/// totals over all of them (from the passage index, so they equal the
/// dashboard's figures) and the rows of the requested page.
///
/// # Errors
/// A storage failure. A leaf that does not parse is skipped and logged.
pub fn list_passages(
    store: &dyn Store,
    filter: &RecordsFilter,
) -> Result<RecordsPage, corridor_store::StoreError> {
    let query = RollupQuery {
        from_day: day_number(filter.from),
        to_day: day_number(filter.to),
        filter: RollupFilter {
            sites: filter.site.iter().cloned().collect(),
            category: filter
                .category
                .map(|category| category.as_str().to_string()),
            direction: filter
                .direction
                .map(|direction| direction.as_str().to_string()),
            outcomes: filter
                .outcomes
                .iter()
                .map(|outcome| outcome.as_str().to_string())
                .collect(),
            ..RollupFilter::default()
        },
        group_by: Vec::new(),
    };
    let totals = store.passage_sums(&query, &[])?;
    let synthetic = store.passage_sums(&query, &[("synthetic".to_string(), "true".to_string())])?;
    let offset = (filter.page.max(1) - 1) as u64 * PAGE_SIZE as u64;
    let mut rows = Vec::with_capacity(PAGE_SIZE);
    for listed in store.passages(&query, offset, PAGE_SIZE as u64)? {
        match current_content(&listed.leaf) {
            Ok(object) => {
                let mut row = row_of(listed.target_id, &object);
                row.leaf_index = Some(listed.leaf_index);
                rows.push(row);
            }
            Err(reason) => tracing::warn!(
                "records page: skipping passage {}: {reason}",
                listed.target_id
            ),
        }
    }
    let records = u64::try_from(totals.passages).unwrap_or(0);
    Ok(RecordsPage {
        filter: filter.clone(),
        records,
        vehicles: u64::try_from(totals.vehicles).unwrap_or(0),
        passengers: u64::try_from(totals.passengers).unwrap_or(0),
        medical_evacuees: u64::try_from(totals.medical_evacuees).unwrap_or(0),
        synthetic: u64::try_from(synthetic.passages).unwrap_or(0),
        rows,
        pages: (records as usize).div_ceil(PAGE_SIZE).max(1),
    })
}

/// `2022-12-12T17:02:00+04:00` as `12 Dec 2022 17:02:00` with the offset
/// below it; anything else as it is.
fn observed_label(observed_at: &str) -> String {
    match (
        observed_at.get(..10),
        observed_at.get(11..19),
        observed_at.get(19..),
    ) {
        (Some(day), Some(clock), Some(offset)) if observed_at.as_bytes().get(10) == Some(&b'T') => {
            format!(
                "<span class=\"nowrap\">{} {}</span><br><span class=\"muted small\">UTC{}</span>",
                escape(&day_label(day)),
                escape(clock),
                escape(offset)
            )
        }
        _ => escape(&day_label(observed_at)),
    }
}

/// The link to the records page for a filter (page 1 unless given).
pub fn records_link(filter: &RecordsFilter) -> String {
    let from = filter.from.strftime("%Y-%m-%d").to_string();
    let to = filter.to.strftime("%Y-%m-%d").to_string();
    let page = (filter.page > 1).then(|| filter.page.to_string());
    let outcome = filter.outcome_parameter();
    link(
        "/dashboard/records",
        &[
            ("from", Some(&from)),
            ("to", Some(&to)),
            ("site", filter.site.as_deref()),
            (
                "category",
                filter.category.map(|category| category.as_str()),
            ),
            (
                "direction",
                filter.direction.map(|direction| direction.as_str()),
            ),
            ("outcome", outcome.as_deref()),
            ("page", page.as_deref()),
        ],
    )
}

/// The records page.
pub fn render_records(listing: &RecordsPage) -> String {
    let filter = &listing.filter;
    let mut body = String::new();
    let mut described = vec![format!(
        "{} to {}",
        day_label(&filter.from.strftime("%Y-%m-%d").to_string()),
        day_label(&filter.to.strftime("%Y-%m-%d").to_string())
    )];
    if let Some(site) = &filter.site {
        described.push(format!("site {site}"));
    }
    if let Some(category) = filter.category {
        described.push(words(category.as_str()));
    }
    if let Some(direction) = filter.direction {
        described.push(direction.as_str().to_string());
    }
    if !filter.outcomes.is_empty() {
        described.push(
            filter
                .outcomes
                .iter()
                .map(|outcome| words(outcome.as_str()))
                .collect::<Vec<_>>()
                .join(" or "),
        );
    }
    let _ = writeln!(
        body,
        "<h1>Records behind the figure</h1>\n<p class=\"lede\">Passages: {}.</p>",
        escape(&described.join(" · "))
    );
    if listing.synthetic > 0 {
        let _ = writeln!(
            body,
            "<section id=\"notices\" class=\"notices\" role=\"note\"><h2>Synthetic records</h2><p><strong>{} of these {} records are synthetic</strong> (<code>attributes.synthetic = \"true\"</code>): they spread published totals over days and vehicles; only those totals are public figures.</p></section>",
            number(listing.synthetic as f64),
            number(listing.records as f64)
        );
    }
    let _ = writeln!(
        body,
        "<section class=\"record-summary\"><dl class=\"record-totals\">\
         <div class=\"total-vehicles\"><dt>Vehicles</dt><dd data-value=\"{}\">{}</dd></div>\
         <div class=\"total-records\"><dt>Records</dt><dd data-value=\"{}\">{}</dd></div>\
         <div><dt>Passengers</dt><dd>{}</dd></div>\
         <div><dt>Medical evacuees</dt><dd>{}</dd></div></dl>",
        listing.vehicles,
        number(listing.vehicles as f64),
        listing.records,
        number(listing.records as f64),
        number(listing.passengers as f64),
        number(listing.medical_evacuees as f64)
    );
    let _ = writeln!(
        body,
        "<p class=\"explain\">The vehicles above add up the <code>count</code> of every record listed (a record without one is one vehicle); they are the figure on the dashboard. Each record is a leaf of the public log: <code>corridor log prove ID</code> gives its inclusion proof, and <a href=\"/dashboard/verify\">the verify page</a> says how to recompute every figure from the log alone.</p></section>"
    );
    if listing.rows.is_empty() {
        body.push_str("<section><p class=\"empty\">No passage matches.</p></section>\n");
    } else {
        body.push_str(
            "<section class=\"record-list\"><div class=\"table-scroll\"><table class=\"records\">\n<thead><tr><th scope=\"col\">Leaf</th><th scope=\"col\">Record</th><th scope=\"col\">Observed at</th><th scope=\"col\">Site</th><th scope=\"col\">Direction</th><th scope=\"col\">Category · operator</th><th scope=\"col\">Vehicle</th><th scope=\"col\" class=\"number\">Count</th><th scope=\"col\">Outcome</th><th scope=\"col\" class=\"number\">Passengers</th><th scope=\"col\" class=\"number\">Evacuees</th><th scope=\"col\">Cargo</th><th scope=\"col\">Source · recorded by</th></tr></thead>\n<tbody>\n",
        );
        for row in &listing.rows {
            let optional =
                |value: Option<u64>| value.map_or("—".to_string(), |value| number(value as f64));
            let _ = writeln!(
                body,
                "<tr class=\"record{synthetic_class}\" data-id=\"{id}\"><td class=\"number\">{leaf}</td><td><code>{id}</code>{synthetic_badge}</td><td>{observed}</td><td>{site}</td><td>{direction}</td><td>{category}{operator}</td><td>{vehicle}</td><td class=\"number count\">{count}</td><td>{outcome}</td><td class=\"number\">{passengers}</td><td class=\"number\">{evacuees}</td><td>{cargo}</td><td><span class=\"source\" title=\"{source}\">{source}</span><span class=\"muted\">{recorded_by}</span></td></tr>",
                synthetic_class = if row.synthetic { " synthetic" } else { "" },
                id = escape(&row.id),
                leaf = row
                    .leaf_index
                    .map_or("—".to_string(), |index| index.to_string()),
                synthetic_badge = if row.synthetic {
                    " <span class=\"badge badge-synthetic\">synthetic</span>"
                } else {
                    ""
                },
                observed = observed_label(&row.observed_at),
                site = escape(&row.site),
                direction = escape(&words(&row.direction)),
                category = escape(&words(&row.category)),
                operator = if row.operator.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", escape(&row.operator))
                },
                vehicle = escape(&words(&row.vehicle_class)),
                count = number(row.count as f64),
                outcome = escape(&words(&row.outcome)),
                passengers = optional(row.passengers),
                evacuees = optional(row.medical_evacuees),
                cargo = escape(&row.cargo),
                source = escape(&row.source),
                recorded_by = escape(&row.recorded_by),
            );
        }
        body.push_str("</tbody>\n</table></div></section>\n");
    }
    if listing.pages > 1 {
        body.push_str("<nav class=\"pager\" aria-label=\"Pages of records\">");
        if filter.page > 1 {
            let previous = RecordsFilter {
                page: filter.page - 1,
                ..filter.clone()
            };
            let _ = write!(
                body,
                "<a rel=\"prev\" href=\"{}\">← previous</a>",
                records_link(&previous)
            );
        }
        let _ = write!(
            body,
            "<span>page {} of {}</span>",
            filter.page, listing.pages
        );
        if filter.page < listing.pages {
            let next = RecordsFilter {
                page: filter.page + 1,
                ..filter.clone()
            };
            let _ = write!(
                body,
                "<a rel=\"next\" href=\"{}\">next →</a>",
                records_link(&next)
            );
        }
        body.push_str("</nav>\n");
    }
    let from = filter.from.strftime("%Y-%m-%d").to_string();
    let to = filter.to.strftime("%Y-%m-%d").to_string();
    let back = dashboard_link(&from, &to, filter.site.as_deref(), filter.category);
    let _ = writeln!(
        body,
        "<p><a href=\"{back}\">← back to the dashboard</a></p>"
    );
    page("Records — Corridor", "dashboard", &body)
}
