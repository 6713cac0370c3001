//! The sections of the report page, top to bottom: what the reader must know
//! first (notices, the figures at a glance, how to verify), then each site's
//! flow, status and coverage, then outcomes, claims, missions, incidents,
//! appeals and the rule that turns figures into a status.
//!
//! The notices box, the figure tiles and the claim cards are the blocks the
//! dashboard writes too ([`super::blocks`]).
//!
//! Every string taken from the report goes through [`escape`]; class names
//! and ids built from report text go through [`slug`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use corridor_model::{FlowMetric, Outcome};
use serde_json::Value;

use super::blocks::{self, ClaimCardStyle, tile};
use super::charts;
use super::escape;
use super::figures::{
    DayState, day_label, field, figure_text, label_text, slug, status_badge, time_label, token,
};
use super::map;
use crate::claims::Verdict;
use crate::numbers::{number, percent};
use crate::report::{Report, SiteSection};
use crate::{METRICS, StatsDimension, StatsRow};

/// Everything between `<body>` and the embedded JSON.
pub(super) fn page_body(report: &Report) -> String {
    let sites = sites_in_page_order(report);
    let mut body = String::new();
    body.push_str("<main>\n");
    header(&mut body, report);
    contents(&mut body, report, &sites);
    blocks::notices_section(&mut body, "Read this first", &report.notices);
    at_a_glance(&mut body, report, &sites);
    site_map(&mut body, report, &sites);
    checkpoint(&mut body, report);
    totals(&mut body, report);
    for (site, anchor) in &sites {
        site_section(&mut body, report, site, anchor);
    }
    outcomes(&mut body, report);
    blocks::claims_section(&mut body, &report.claims, "", ClaimCardStyle::REPORT);
    missions(&mut body, report);
    incidents(&mut body, report);
    appeals(&mut body, report);
    method(&mut body, report);
    footer(&mut body, report);
    body.push_str("</main>\n");
    body
}

/// Each site with its unique element id (made only of safe characters), in
/// the order the page shows them: sites somebody watched or where anything
/// passed first, then those with no observation at all, each group in the
/// report's order.
fn sites_in_page_order(report: &Report) -> Vec<(&SiteSection, String)> {
    let mut used = BTreeSet::new();
    let mut sites: Vec<(&SiteSection, String)> = report
        .sites
        .iter()
        .map(|site| {
            let base = format!("site-{}", slug(&site.id));
            let mut anchor = base.clone();
            let mut suffix = 2;
            while !used.insert(anchor.clone()) {
                anchor = format!("{base}-{suffix}");
                suffix += 1;
            }
            (site, anchor)
        })
        .collect();
    sites.sort_by_key(|(site, _)| site.access.covered_days <= 0.0 && site.access.observed <= 0.0);
    sites
}

fn header(body: &mut String, report: &Report) {
    let sites = if report.query.sites.is_empty() {
        format!("all sites ({})", report.sites.len())
    } else {
        report
            .query
            .sites
            .iter()
            .map(|site| escape(site))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        body,
        "<header class=\"report-header\">\n<p class=\"eyebrow\">Corridor access report</p>\n<h1>{}</h1>\n<p class=\"period\">Period <strong>{}</strong> to <strong>{}</strong> (site-local days, inclusive) · {} days · {sites}</p>\n</header>",
        escape(&report.title),
        escape(&day_label(&report.query.from)),
        escape(&day_label(&report.query.to)),
        period_days(report).map_or_else(|| "?".to_string(), |days| days.to_string()),
    );
}

/// The number of days in the report's period, if its dates read.
fn period_days(report: &Report) -> Option<i32> {
    let from = corridor_model::time::parse_date(&report.query.from)?;
    let to = corridor_model::time::parse_date(&report.query.to)?;
    Some(corridor_model::time::day_number(to) - corridor_model::time::day_number(from) + 1)
}

fn contents(body: &mut String, report: &Report, sites: &[(&SiteSection, String)]) {
    body.push_str("<nav class=\"contents\" aria-label=\"Contents\">\n<ul>\n");
    if !report.notices.is_empty() {
        body.push_str("<li><a href=\"#notices\">Notices</a></li>\n");
    }
    body.push_str("<li><a href=\"#summary\">At a glance</a></li>\n<li><a href=\"#map\">Map</a></li>\n<li><a href=\"#verify\">Verify</a></li>\n<li><a href=\"#totals\">Totals</a></li>\n");
    for (site, anchor) in sites {
        let _ = writeln!(
            body,
            "<li><a href=\"#{anchor}\">{}</a></li>",
            escape(&site.name)
        );
    }
    body.push_str(
        "<li><a href=\"#outcomes\">Turned back, held, delayed</a></li>\n<li><a href=\"#claims\">Claims</a></li>\n<li><a href=\"#missions\">Missions</a></li>\n<li><a href=\"#incidents\">Incidents</a></li>\n<li><a href=\"#appeals\">Appeals</a></li>\n<li><a href=\"#method\">Method</a></li>\n</ul>\n</nav>\n",
    );
}

/// Vehicles per outcome (`passed`, `turned_back`, …) over every site.
fn vehicles_by_outcome(report: &Report) -> BTreeMap<String, f64> {
    let mut by_outcome = BTreeMap::new();
    for row in &report.outcomes.rows {
        let outcome = row
            .label(StatsDimension::Outcome)
            .unwrap_or_default()
            .to_string();
        *by_outcome.entry(outcome).or_insert(0.0) += vehicles(row);
    }
    by_outcome
}

/// A row's vehicles, counting a row without the figure as none.
fn vehicles(row: &StatsRow) -> f64 {
    row.figures.vehicles.map_or(0.0, |vehicles| vehicles as f64)
}

/// A row's category, or `not given` where the records did not say.
fn category_of(row: &StatsRow) -> String {
    row.label(StatsDimension::Category)
        .filter(|category| !category.is_empty())
        .unwrap_or("not given")
        .to_string()
}

fn at_a_glance(body: &mut String, report: &Report, sites: &[(&SiteSection, String)]) {
    body.push_str(
        "<section class=\"summary\" id=\"summary\">\n<h2>At a glance</h2>\n<div class=\"tiles\">\n",
    );
    let totals = &report.totals.totals.figures;
    let vehicles = totals.get(FlowMetric::Vehicles);
    tile(
        body,
        "tile-vehicles",
        &figure_text(vehicles),
        &format!(
            "vehicles recorded, every outcome ({} passages)",
            figure_text(totals.get(FlowMetric::Passages))
        ),
        None,
    );
    if let (Some(vehicles), Some(days)) = (vehicles, period_days(report))
        && days > 0
    {
        tile(
            body,
            "tile-per-day",
            &number((vehicles / f64::from(days) * 10.0).round() / 10.0),
            "vehicles a day on average",
            None,
        );
    }
    let by_outcome = vehicles_by_outcome(report);
    let stopped: Vec<String> = [Outcome::TurnedBack, Outcome::Held, Outcome::Delayed]
        .iter()
        .map(|outcome| number(by_outcome.get(outcome.as_str()).copied().unwrap_or(0.0)))
        .collect();
    tile(
        body,
        "tile-outcomes",
        &stopped.join(" / "),
        "turned back / held / delayed",
        None,
    );
    let counts = |verdict: Verdict| {
        report
            .claims
            .iter()
            .filter(|claim| claim.verdict == verdict)
            .count()
    };
    tile(
        body,
        "tile-claims",
        &report.claims.len().to_string(),
        &format!(
            "claims checked: {} consistent, {} inconsistent, {} not verifiable",
            counts(Verdict::Consistent),
            counts(Verdict::Inconsistent),
            counts(Verdict::NotVerifiable)
        ),
        None,
    );
    body.push_str("</div>\n<div class=\"table-scroll\">\n<table class=\"site-summary\">\n<thead><tr><th scope=\"col\">Site</th><th scope=\"col\">Access status</th><th scope=\"col\" class=\"num\">Share of baseline</th><th scope=\"col\" class=\"num\">Watched</th></tr></thead>\n<tbody>\n");
    for (site, anchor) in sites {
        let _ = writeln!(
            body,
            "<tr><th scope=\"row\"><a href=\"#{anchor}\">{}</a></th><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&site.name),
            status_badge(site.access.status, site.access.covered_days > 0.0),
            site.access.index.map_or_else(|| "—".to_string(), percent),
            percent(site.coverage.share)
        );
    }
    body.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

/// The map of the sites, each marker linked to its section of the page.
fn site_map(body: &mut String, report: &Report, sites: &[(&SiteSection, String)]) {
    let on_map: Vec<map::MapSite> = sites
        .iter()
        .map(|(site, anchor)| map::MapSite {
            id: &site.id,
            name: &site.name,
            coordinates: site.coordinates,
            state: DayState::new(site.access.status, site.access.covered_days > 0.0),
            flow: site.access.observed,
            href: format!("#{anchor}"),
        })
        .collect();
    let period = format!(
        "{} to {}",
        day_label(&report.query.from),
        day_label(&report.query.to)
    );
    let _ = writeln!(
        body,
        "<section class=\"map-section\" id=\"map\">\n<h2>Map of the sites</h2>\n{}</section>",
        map::map_block(&on_map, &period)
    );
}

fn checkpoint(body: &mut String, report: &Report) {
    body.push_str("<section class=\"checkpoint\" id=\"verify\">\n<h2>Verify this report</h2>\n");
    match &report.checkpoint {
        Some(checkpoint) => {
            let _ = writeln!(
                body,
                "<p>Every figure on this page was computed from the first {} records of a public, append-only log, at this signed checkpoint:</p>\n<dl class=\"facts\">\n<dt>Log</dt><dd><code>{}</code></dd>\n<dt>Tree size</dt><dd>{}</dd>\n<dt>Root hash</dt><dd><code class=\"hash\">{}</code></dd>\n</dl>\n<details class=\"signed-note\"><summary>Signed checkpoint note</summary><pre>{}</pre></details>",
                number(checkpoint.tree_size as f64),
                escape(&checkpoint.origin),
                number(checkpoint.tree_size as f64),
                escape(&checkpoint.root_hash),
                escape(&checkpoint.signed_note)
            );
        }
        None => body.push_str("<p class=\"warning\">This report names no signed checkpoint, so it cannot be checked against a log.</p>\n"),
    }
    body.push_str(
        "<p>Anyone can recompute it on their own machine from the log alone, without trusting whoever published it:</p>\n<pre class=\"command\"><code>corridor report verify REPORT.html --log DIR --vkey KEY</code></pre>\n<p class=\"small\"><code>REPORT.html</code> is this file (it carries its figures as JSON), <code>DIR</code> a copy of the log (its <code>checkpoint</code> and <code>tile/</code> directory) and <code>KEY</code> the log's verifier key as its operator publishes it. The command checks the checkpoint's signature, rebuilds the records from the log and names every figure that differs.</p>\n</section>\n",
    );
}

fn heading(name: &str) -> String {
    match name {
        "medical_evacuees" => "Medical evacuees".to_string(),
        other => {
            let mut characters = other.chars();
            characters.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(characters).collect()
            })
        }
    }
}

/// A stats table: the given dimensions, then every metric, with a total row.
fn stats_table(
    body: &mut String,
    class: &str,
    caption: &str,
    dimensions: &[StatsDimension],
    rows: &[StatsRow],
    totals: &StatsRow,
) {
    let _ = write!(
        body,
        "<div class=\"table-scroll\">\n<table class=\"{class}\">\n<caption>{caption}</caption>\n<thead><tr>"
    );
    for dimension in dimensions {
        let _ = write!(
            body,
            "<th scope=\"col\">{}</th>",
            heading(dimension.as_str())
        );
    }
    for metric in METRICS {
        let _ = write!(
            body,
            "<th scope=\"col\" class=\"num\">{}</th>",
            heading(metric.as_str())
        );
    }
    body.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        body.push_str("<tr>");
        for dimension in dimensions {
            let _ = write!(body, "<td>{}</td>", label_text(row.label(*dimension)));
        }
        for metric in METRICS {
            let _ = write!(
                body,
                "<td class=\"num\">{}</td>",
                figure_text(row.figures.get(metric))
            );
        }
        body.push_str("</tr>\n");
    }
    let _ = write!(
        body,
        "</tbody>\n<tfoot><tr><th scope=\"row\" colspan=\"{}\">Total</th>",
        dimensions.len().max(1)
    );
    for metric in METRICS {
        let _ = write!(
            body,
            "<td class=\"num\">{}</td>",
            figure_text(totals.figures.get(metric))
        );
    }
    body.push_str("</tr></tfoot>\n</table>\n</div>\n");
}

fn totals(body: &mut String, report: &Report) {
    body.push_str(
        "<section class=\"totals\" id=\"totals\">\n<h2>Totals by category and direction</h2>\n",
    );
    stats_table(
        body,
        "totals-table",
        "Every passage recorded in the period at the reported sites, whatever its outcome. A dash means no record gave the figure, which is not the same as zero.",
        &[StatsDimension::Category, StatsDimension::Direction],
        &report.totals.rows,
        &report.totals.totals,
    );
    let mut by_category: BTreeMap<String, f64> = BTreeMap::new();
    for row in &report.totals.rows {
        *by_category.entry(category_of(row)).or_insert(0.0) += vehicles(row);
    }
    let mut categories: Vec<(String, f64)> = by_category.into_iter().collect();
    categories.sort_by(|left, right| {
        right
            .1
            .total_cmp(&left.1)
            .then_with(|| left.0.cmp(&right.0))
    });
    let _ = writeln!(
        body,
        "<h3>Vehicles by operator category</h3>\n<figure class=\"chart\">\n{}\n</figure>",
        charts::categories(&categories)
    );
    let columns: Vec<String> = categories
        .into_iter()
        .map(|(category, _)| category)
        .collect();
    daily_series(body, report, &columns);
    body.push_str("</section>\n");
}

/// The daily series by category as a table, folded away: the figures behind
/// the charts for whoever wants to read or copy them.
fn daily_series(body: &mut String, report: &Report, categories: &[String]) {
    let mut days: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for row in &report.daily.rows {
        let day = row
            .label(StatsDimension::Day)
            .unwrap_or_default()
            .to_string();
        *days
            .entry(day)
            .or_default()
            .entry(category_of(row))
            .or_insert(0.0) += vehicles(row);
    }
    if days.is_empty() {
        return;
    }
    let _ = write!(
        body,
        "<details class=\"daily-series\">\n<summary>Vehicles a day by category, every outcome ({} day{} with records)</summary>\n<div class=\"table-scroll\">\n<table class=\"daily-table\">\n<thead><tr><th scope=\"col\">Day</th>",
        days.len(),
        if days.len() == 1 { "" } else { "s" }
    );
    for category in categories {
        let _ = write!(
            body,
            "<th scope=\"col\" class=\"num\">{}</th>",
            escape(&token(category))
        );
    }
    body.push_str("<th scope=\"col\" class=\"num\">All</th></tr></thead>\n<tbody>\n");
    for (day, by_category) in &days {
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th>",
            escape(&day_label(day))
        );
        for category in categories {
            let cell = by_category
                .get(category)
                .map_or_else(|| "—".to_string(), |vehicles| number(*vehicles));
            let _ = write!(body, "<td class=\"num\">{cell}</td>");
        }
        let _ = writeln!(
            body,
            "<td class=\"num\">{}</td></tr>",
            number(by_category.values().sum())
        );
    }
    body.push_str("</tbody>\n</table>\n</div>\n</details>\n");
}

fn site_section(body: &mut String, report: &Report, site: &SiteSection, anchor: &str) {
    let access = &site.access;
    let _ = writeln!(
        body,
        "<section class=\"site\" id=\"{anchor}\" data-site=\"{}\">\n<h2>{} <span class=\"muted\">({}, {})</span></h2>",
        escape(&site.id),
        escape(&site.name),
        escape(&site.id),
        escape(&site.timezone)
    );
    let _ = writeln!(
        body,
        "<div class=\"period-status\">\n<p><span class=\"muted\">Access in the period:</span> {}</p>\n<p class=\"explanation\">{}.</p>\n</div>",
        status_badge(access.status, access.covered_days > 0.0),
        escape(&sentence(&access.explanation))
    );
    body.push_str("<div class=\"tiles\">\n");
    tile(
        body,
        "tile-observed",
        &number(access.observed),
        "vehicles passed (passed or delayed)",
        None,
    );
    tile(
        body,
        "tile-expected",
        &access.expected.map_or_else(|| "—".to_string(), number),
        "expected from the baseline over the watched time",
        None,
    );
    tile(
        body,
        "tile-index",
        &access.index.map_or_else(|| "—".to_string(), percent),
        "of the baseline",
        None,
    );
    tile(
        body,
        "tile-covered",
        &number((access.covered_days * 10.0).round() / 10.0),
        "days watched",
        None,
    );
    tile(
        body,
        "tile-stopped",
        &format!(
            "{} / {} / {}",
            number(access.turned_back as f64),
            number(access.held as f64),
            number(access.delayed as f64)
        ),
        "turned back / held / delayed",
        None,
    );
    body.push_str("</div>\n");

    let chart = charts::daily_flow(site);
    let _ = writeln!(
        body,
        "<h3>Daily flow against the baseline</h3>\n<figure class=\"chart\">\n{}\n<figcaption>",
        chart.svg
    );
    let used: BTreeSet<&'static str> = access
        .days
        .iter()
        .map(|day| DayState::of(day).class())
        .collect();
    body.push_str("<ul class=\"legend\">\n<li><span class=\"swatch swatch-bar\"></span>vehicles that passed that day</li>\n");
    if access.baseline.is_some() {
        let _ = writeln!(
            body,
            "<li><span class=\"swatch swatch-baseline\"></span>baseline, scaled to the share of the day watched</li>\n<li><span class=\"swatch swatch-threshold-open\"></span>{}: open at or above</li>\n<li><span class=\"swatch swatch-threshold-restricted\"></span>{}: severely restricted below</li>",
            percent(access.thresholds.open),
            percent(access.thresholds.restricted)
        );
    }
    for state in DayState::ALL {
        if state == DayState::NoBaseline && !used.contains(state.class()) {
            continue;
        }
        let _ = writeln!(
            body,
            "<li><span class=\"swatch {}\"></span>{}</li>",
            state.class(),
            state.label()
        );
    }
    body.push_str("</ul>\n");
    if chart.logarithmic {
        body.push_str("<p class=\"scale-note\"><strong>Logarithmic scale:</strong> each gridline is ten times the one below, so the observed flow and a baseline many times larger fit in one chart. Bar heights are not proportional to the figures: read them on the axis, or hover a bar for its figure.</p>\n");
    }
    match &access.baseline {
        Some(baseline) => {
            let _ = writeln!(
                body,
                "<p class=\"baseline-source\">Baseline: {} {} a day, {} ({}), from <cite>{}</cite>.</p>",
                number(baseline.per_day),
                escape(&baseline.metric.to_string()),
                match baseline.direction {
                    corridor_model::BaselineDirection::Both => "both directions".to_string(),
                    direction => format!("{direction} only"),
                },
                if baseline.basis == "figure" { "a sourced figure".to_string() } else { escape(&token(&baseline.basis)) },
                escape(&baseline.source)
            );
        }
        None => body.push_str("<p class=\"baseline-source\">There is no baseline for this site: the chart shows the flow, and a status only where nothing passed in watched time (closed).</p>\n"),
    }
    body.push_str("</figcaption>\n</figure>\n");

    coverage(body, report, site);
    access_by_category(body, site);
    let _ = writeln!(
        body,
        "<p class=\"rule small\">Status rule: {}.</p>\n</section>",
        escape(&access.rule)
    );
}

/// Text from the report as a sentence: a capital first letter and one full stop.
fn sentence(text: &str) -> String {
    let text = text.trim().trim_end_matches('.');
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

fn coverage(body: &mut String, report: &Report, site: &SiteSection) {
    let coverage = &site.coverage;
    let _ = writeln!(
        body,
        "<h3>Coverage</h3>\n<figure class=\"chart\">\n{}\n<figcaption><ul class=\"legend\"><li><span class=\"swatch swatch-covered\"></span>somebody recorded watching</li><li><span class=\"swatch status-not-covered\"></span>gap: nobody recorded watching, so no record there says nothing</li></ul></figcaption>\n</figure>",
        charts::coverage_strip(site, &report.query.from, &report.query.to)
    );
    let _ = write!(
        body,
        "<p>Watched {} of the period ({} of {} hours)",
        percent(coverage.share),
        number(coverage.covered_hours.round()),
        number(coverage.period_hours.round())
    );
    if coverage.sources.is_empty() {
        body.push_str(".</p>\n");
    } else {
        let sources: Vec<String> = coverage
            .sources
            .iter()
            .map(|source| format!("<cite>{}</cite>", escape(source)))
            .collect();
        let _ = writeln!(body, ", according to {}.</p>", sources.join("; "));
    }
    if !coverage.gaps.is_empty() {
        const SHOWN: usize = 12;
        let _ = writeln!(
            body,
            "<details class=\"gaps\"><summary>{} gap{} in coverage</summary>\n<ul>",
            coverage.gaps.len(),
            if coverage.gaps.len() == 1 { "" } else { "s" }
        );
        for gap in coverage.gaps.iter().take(SHOWN) {
            let _ = writeln!(
                body,
                "<li>{} → {}</li>",
                escape(&time_label(&gap.start)),
                escape(&time_label(&gap.end))
            );
        }
        if coverage.gaps.len() > SHOWN {
            let _ = writeln!(
                body,
                "<li>… and {} more, listed in the embedded JSON</li>",
                coverage.gaps.len() - SHOWN
            );
        }
        body.push_str("</ul>\n</details>\n");
    }
}

fn access_by_category(body: &mut String, site: &SiteSection) {
    if site.access_by_category.is_empty() {
        return;
    }
    body.push_str("<h3>Access by category</h3>\n<div class=\"table-scroll\">\n<table class=\"access-by-category\">\n<thead><tr><th scope=\"col\">Category</th><th scope=\"col\" class=\"num\">Baseline a day</th><th scope=\"col\" class=\"num\">Observed</th><th scope=\"col\" class=\"num\">Expected</th><th scope=\"col\" class=\"num\">Share</th><th scope=\"col\">Status</th><th scope=\"col\">Why</th></tr></thead>\n<tbody>\n");
    for summary in &site.access_by_category {
        let _ = writeln!(
            body,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            summary.category.map_or_else(
                || "all".to_string(),
                |category| escape(&token(category.as_str()))
            ),
            summary
                .baseline
                .as_ref()
                .map_or_else(|| "—".to_string(), |baseline| number(baseline.per_day)),
            number(summary.observed),
            summary.expected.map_or_else(|| "—".to_string(), number),
            summary.index.map_or_else(|| "—".to_string(), percent),
            status_badge(summary.status, summary.covered_days > 0.0),
            escape(&summary.explanation)
        );
    }
    body.push_str("</tbody>\n</table>\n</div>\n");
}

fn outcomes(body: &mut String, report: &Report) {
    body.push_str("<section class=\"outcomes\" id=\"outcomes\">\n<h2>Turned back, held, delayed</h2>\n<div class=\"tiles\">\n");
    let by_outcome = vehicles_by_outcome(report);
    for outcome in [
        Outcome::Passed,
        Outcome::TurnedBack,
        Outcome::Held,
        Outcome::Delayed,
    ] {
        let (outcome, label) = (outcome.as_str(), token(outcome.as_str()));
        tile(
            body,
            &format!("tile-outcome tile-outcome-{}", slug(outcome)),
            &number(by_outcome.get(outcome).copied().unwrap_or(0.0)),
            &format!("vehicles {label}"),
            None,
        );
    }
    body.push_str("</div>\n<p class=\"small\">Flow is what went through: passed and delayed vehicles. Turned-back and held vehicles are counted beside the flow, never in it.</p>\n");
    if !report.outcomes.rows.is_empty() {
        stats_table(
            body,
            "outcomes-table",
            "Passages by outcome and operator category.",
            &[StatsDimension::Outcome, StatsDimension::Category],
            &report.outcomes.rows,
            &report.outcomes.totals,
        );
    }
    body.push_str("</section>\n");
}

/// Records sorted by a time field, then id, so the page does not depend on store order.
fn sorted_by<'a>(records: &'a [Value], time_field: &str) -> Vec<&'a Value> {
    let mut sorted: Vec<&Value> = records.iter().collect();
    sorted.sort_by_key(|record| (field(record, time_field), field(record, "id")));
    sorted
}

fn missions(body: &mut String, report: &Report) {
    body.push_str("<section class=\"missions\" id=\"missions\">\n<h2>Missions</h2>\n");
    if report.missions.is_empty() {
        body.push_str("<p class=\"empty\">No mission to these sites is recorded as planned in this period.</p>\n</section>\n");
        return;
    }
    body.push_str("<div class=\"table-scroll\">\n<table class=\"missions-table\">\n<thead><tr><th scope=\"col\">Planned</th><th scope=\"col\">Mission</th><th scope=\"col\">Organisation</th><th scope=\"col\">Sites</th><th scope=\"col\">Outcome</th><th scope=\"col\">Why</th></tr></thead>\n<tbody>\n");
    for mission in sorted_by(&report.missions, "planned_start") {
        let outcome = field(mission, "outcome");
        let plan = field(mission, "plan");
        let _ = writeln!(
            body,
            "<tr class=\"mission\"><td>{}</td><td>{}{}</td><td>{} <span class=\"muted\">({})</span></td><td>{}</td><td><span class=\"outcome outcome-{}\">{}</span></td><td>{}</td></tr>",
            escape(&time_label(&field(mission, "planned_start"))),
            escape(&token(&field(mission, "kind"))),
            if plan.is_empty() {
                String::new()
            } else {
                format!("<div class=\"small muted\">{}</div>", escape(&plan))
            },
            escape(&field(mission, "organisation")),
            escape(&token(&field(mission, "category"))),
            escape(&field(mission, "sites")),
            slug(&outcome),
            escape(&token(&outcome)),
            escape(&field(mission, "outcome_reason"))
        );
    }
    body.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

fn incidents(body: &mut String, report: &Report) {
    body.push_str("<section class=\"incidents\" id=\"incidents\">\n<h2>Incidents</h2>\n");
    if report.incidents.is_empty() {
        body.push_str("<p class=\"empty\">No incident at these sites is recorded in this period.</p>\n</section>\n");
        return;
    }
    body.push_str("<ol class=\"timeline\">\n");
    for incident in sorted_by(&report.incidents, "started_at") {
        let ended = field(incident, "ended_at");
        let source = incident
            .get("source")
            .map(|source| field(source, "name"))
            .unwrap_or_default();
        let _ = writeln!(
            body,
            "<li class=\"incident\"><p class=\"when\"><time>{}</time> – {}</p><p><strong>{}</strong> at {}</p><p>{}</p>{}</li>",
            escape(&time_label(&field(incident, "started_at"))),
            if ended.is_empty() {
                "no end recorded".to_string()
            } else {
                format!("<time>{}</time>", escape(&time_label(&ended)))
            },
            escape(&token(&field(incident, "kind"))),
            escape(&field(incident, "site")),
            escape(&field(incident, "description")),
            if source.is_empty() {
                String::new()
            } else {
                format!(
                    "<p class=\"small muted\">Source: <cite>{}</cite></p>",
                    escape(&source)
                )
            }
        );
    }
    body.push_str("</ol>\n</section>\n");
}

fn count_table(body: &mut String, class: &str, heading: &str, counts: &BTreeMap<String, u64>) {
    let _ = writeln!(
        body,
        "<table class=\"{class}\">\n<thead><tr><th scope=\"col\">{heading}</th><th scope=\"col\" class=\"num\">Appeals</th></tr></thead>\n<tbody>"
    );
    for (key, count) in counts {
        let _ = writeln!(
            body,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td></tr>",
            escape(&token(key)),
            number(*count as f64)
        );
    }
    body.push_str("</tbody>\n</table>\n");
}

fn appeals(body: &mut String, report: &Report) {
    let appeals = &report.appeals;
    let _ = writeln!(
        body,
        "<section class=\"appeals\" id=\"appeals\">\n<h2>Appeals</h2>\n<p>{} appeal{} to a hotline or desk received in the period.</p>",
        number(appeals.total as f64),
        if appeals.total == 1 { "" } else { "s" }
    );
    if appeals.total > 0 {
        body.push_str("<div class=\"side-by-side\">\n");
        count_table(body, "appeals-by-status", "Status", &appeals.by_status);
        count_table(body, "appeals-by-kind", "Kind", &appeals.by_kind);
        body.push_str("</div>\n");
    }
    body.push_str("</section>\n");
}

fn method(body: &mut String, report: &Report) {
    let thresholds = report.thresholds;
    let _ = writeln!(
        body,
        "<section class=\"method\" id=\"method\">\n<h2>How the access status is decided</h2>\n<p>The access index is the flow observed divided by the baseline scaled to the time somebody watched. Thresholds used for this report:</p>\n<table class=\"thresholds\">\n<tbody>\n<tr><th scope=\"row\">{}</th><td>index at or above {}</td></tr>\n<tr><th scope=\"row\">{}</th><td>from {} up to {}</td></tr>\n<tr><th scope=\"row\">{}</th><td>below {}</td></tr>\n<tr><th scope=\"row\">{}</th><td>nothing passed in watched time</td></tr>\n<tr><th scope=\"row\">{}</th><td>nobody watched: no status at all</td></tr>\n<tr><th scope=\"row\">{}</th><td>something passed in watched time, but there is no baseline to compare it with: no status</td></tr>\n</tbody>\n</table>\n<p class=\"rule\">Rule: {}.</p>\n</section>",
        status_badge(Some(corridor_model::AccessStatus::Open), true),
        percent(thresholds.open),
        status_badge(Some(corridor_model::AccessStatus::Restricted), true),
        percent(thresholds.restricted),
        percent(thresholds.open),
        status_badge(Some(corridor_model::AccessStatus::SeverelyRestricted), true),
        percent(thresholds.restricted),
        status_badge(Some(corridor_model::AccessStatus::Closed), true),
        status_badge(None, false),
        status_badge(None, true),
        escape(&report.rule)
    );
}

fn footer(body: &mut String, report: &Report) {
    let _ = writeln!(
        body,
        "<footer class=\"report-footer\">\n<p>{} · This page loads nothing and runs nothing: its figures are embedded in it as JSON (<code>script#corridor-report</code>), the data <code>corridor report verify</code> checks.</p>\n</footer>",
        escape(&report.format)
    );
}
