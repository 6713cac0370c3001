//! The dashboard page (`/`): server-rendered HTML with inline SVG charts, no
//! script. Every figure links to the records page that lists the passages
//! adding up to it, and the page ends with the state of the log that lets
//! anyone check them.
//!
//! Charts are the report's (`corridor_stats::report_html::charts`), so the
//! dashboard and a published report draw the same data the same way.

use std::fmt::Write as _;

use corridor_model::{Direction, Outcome};
use corridor_stats::report::SiteSection;
use corridor_stats::report_html::blocks::{self, ClaimCardStyle, tile};
use corridor_stats::report_html::charts;
use corridor_stats::report_html::figures::{DayState, status_badge};
use serde_json::{Map, Value};

use super::data::{DashboardData, Selection, TimelineEvent};
use super::html::{self, day_label, escape, link, number, page, percent, words};
use super::query::RecordsFilter;
use super::records::records_link;

/// The outcomes that count as flow (what went through).
const FLOW: [Outcome; 2] = [Outcome::Passed, Outcome::Delayed];

fn figure(values: &Map<String, Value>, metric: &str) -> Option<f64> {
    values.get(metric).and_then(Value::as_f64)
}

fn shown(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), number)
}

/// The records filter for the current selection, narrowed further by the caller.
fn records_of(selection: &Selection) -> RecordsFilter {
    RecordsFilter {
        from: selection.from,
        to: selection.to,
        site: selection.site.clone(),
        category: selection.category,
        direction: None,
        outcomes: Vec::new(),
        page: 1,
    }
}

/// A link to the dashboard with the selection changed by `change`.
fn dashboard_link(selection: &Selection, change: impl FnOnce(&mut Selection)) -> String {
    let mut selection = selection.clone();
    change(&mut selection);
    html::dashboard_link(
        &selection.from_text(),
        &selection.to_text(),
        selection.site.as_deref(),
        selection.category,
    )
}

/// The whole dashboard page.
pub fn render_dashboard(data: &DashboardData) -> String {
    let selection = &data.selection;
    let mut body = String::new();
    let place = match &selection.site {
        Some(site) => data
            .sites
            .iter()
            .find(|(id, _)| id == site)
            .map_or(site.as_str(), |(_, name)| name.as_str())
            .to_string(),
        None if data.sites.len() == 1 => data.sites[0].1.clone(),
        None => format!("All {} sites", data.sites.len()),
    };
    let category_words = selection
        .category
        .map(|category| format!(" · {}", words(category.as_str())))
        .unwrap_or_default();
    let _ = writeln!(
        body,
        "<header class=\"page-header\"><p class=\"eyebrow\">Access monitor</p><h1>{}</h1><p class=\"period\">{} to {} · {} days{}</p></header>",
        escape(&place),
        escape(&day_label(&selection.from_text())),
        escape(&day_label(&selection.to_text())),
        selection.days(),
        escape(&category_words)
    );
    notices(&mut body, data);
    filters(&mut body, data);
    tiles(&mut body, data);
    super::map::map_section(&mut body, data);
    // Sites with traffic first; a site nobody watched and nothing passed gets a short card.
    let mut sites: Vec<&SiteSection> = data.site_sections.iter().collect();
    sites.sort_by(|left, right| {
        right
            .access
            .observed
            .total_cmp(&left.access.observed)
            .then(right.coverage.share.total_cmp(&left.coverage.share))
            .then(left.id.cmp(&right.id))
    });
    let (idle, active): (Vec<&SiteSection>, Vec<&SiteSection>) =
        sites.into_iter().partition(|site| is_idle(site));
    for site in active {
        site_section(&mut body, data, site);
    }
    idle_sites(&mut body, &idle);
    breakdown(&mut body, data);
    refused(&mut body, data);
    timeline(&mut body, data);
    claims(&mut body, data);
    log_state(&mut body, data);
    page(
        &format!(
            "{place} — {} to {} — Corridor",
            selection.from_text(),
            selection.to_text()
        ),
        "dashboard",
        &body,
    )
}

fn notices(body: &mut String, data: &DashboardData) {
    let title = if data.synthetic_passages > 0 {
        "These records are synthetic"
    } else {
        "Read this first"
    };
    blocks::notices_section(body, title, &data.notices);
}

/// One `<option>` of a filter, selected when it is the current choice.
/// `value` and `label` are markup (already escaped).
fn option(body: &mut String, value: &str, label: &str, selected: bool) {
    let selected = if selected { " selected" } else { "" };
    let _ = write!(body, "<option value=\"{value}\"{selected}>{label}</option>");
}

/// One choice of a row of chips: a link to the dashboard with that filter.
struct Chip {
    /// Extra attributes, escaped, each with its leading space.
    attributes: String,
    href: String,
    /// Markup (already escaped).
    label: String,
    current: bool,
}

/// A row of chips (`nav.chips`) named `name`, the same filter as the form
/// above as plain links: one tap on a phone. The first chip is "all".
fn chip_row(body: &mut String, name: &str, chips: impl IntoIterator<Item = Chip>) {
    let _ = write!(
        body,
        "<nav class=\"chips\" aria-label=\"{name}\"><span class=\"chips-label\">{name}</span>"
    );
    for chip in chips {
        let current = if chip.current {
            " aria-current=\"true\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<a class=\"chip\"{} href=\"{}\"{current}>{}</a>",
            chip.attributes, chip.href, chip.label
        );
    }
    body.push_str("</nav>\n");
}

fn filters(body: &mut String, data: &DashboardData) {
    let selection = &data.selection;
    body.push_str("<section id=\"filters\" class=\"filters\" aria-label=\"Filters\">\n<form method=\"get\" action=\"/\" class=\"filter-form\">\n");
    let _ = writeln!(
        body,
        "<label>From <input type=\"date\" name=\"from\" value=\"{}\" required></label>\n<label>To <input type=\"date\" name=\"to\" value=\"{}\" required></label>",
        selection.from_text(),
        selection.to_text()
    );
    body.push_str("<label>Site <select name=\"site\"><option value=\"\">All sites</option>");
    for (id, name) in &data.sites {
        option(
            body,
            &escape(id),
            &escape(name),
            selection.site.as_deref() == Some(id.as_str()),
        );
    }
    body.push_str("</select></label>\n<label>Category <select name=\"category\"><option value=\"\">All categories</option>");
    for category in corridor_model::Category::ALL {
        option(
            body,
            category.as_str(),
            &words(category.as_str()),
            selection.category == Some(*category),
        );
    }
    body.push_str("</select></label>\n<button type=\"submit\">Apply</button> <a class=\"reset\" href=\"/\">Reset</a>\n</form>\n");

    let all_categories = Chip {
        attributes: String::new(),
        href: dashboard_link(selection, |selection| selection.category = None),
        label: "all".to_string(),
        current: selection.category.is_none(),
    };
    let categories = data.categories.iter().filter_map(|category| {
        let parsed = corridor_model::Category::parse(category)?;
        Some(Chip {
            attributes: format!(" data-category=\"{}\"", escape(category)),
            href: dashboard_link(selection, |selection| selection.category = Some(parsed)),
            label: escape(&words(category)),
            current: selection.category == Some(parsed),
        })
    });
    chip_row(
        body,
        "Category",
        std::iter::once(all_categories).chain(categories),
    );
    if data.sites.len() > 1 {
        let all_sites = Chip {
            attributes: String::new(),
            href: dashboard_link(selection, |selection| selection.site = None),
            label: "all".to_string(),
            current: selection.site.is_none(),
        };
        let sites = data.sites.iter().map(|(id, name)| Chip {
            attributes: String::new(),
            href: dashboard_link(selection, |selection| selection.site = Some(id.clone())),
            label: escape(name),
            current: selection.site.as_deref() == Some(id.as_str()),
        });
        chip_row(body, "Site", std::iter::once(all_sites).chain(sites));
    }
    body.push_str("</section>\n");
}

fn tiles(body: &mut String, data: &DashboardData) {
    let selection = &data.selection;
    let totals = &data.totals.totals;
    let all = records_of(selection);
    let flow = RecordsFilter {
        outcomes: FLOW.to_vec(),
        ..all.clone()
    };
    let turned_back = RecordsFilter {
        outcomes: vec![Outcome::TurnedBack],
        ..all.clone()
    };
    let outcome_total = |outcome: &str| -> f64 {
        data.by_outcome
            .rows
            .iter()
            .filter(|row| row.get("outcome").and_then(Value::as_str) == Some(outcome))
            .filter_map(|row| figure(row, "vehicles"))
            .sum()
    };
    let flow_total = outcome_total("passed") + outcome_total("delayed");
    body.push_str(
        "<section id=\"figures\" class=\"figures\" aria-label=\"Figures\"><div class=\"tiles\">\n",
    );
    // Each figure links to the records that add up to it.
    for (class, value, label, records) in [
        (
            "tile-vehicles",
            shown(figure(totals, "vehicles")),
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
            number(outcome_total("turned_back")),
            "turned back",
            &turned_back,
        ),
        (
            "tile-evacuees",
            shown(figure(totals, "medical_evacuees")),
            "medical evacuees",
            &all,
        ),
        (
            "tile-passengers",
            shown(figure(totals, "passengers")),
            "passengers",
            &all,
        ),
    ] {
        tile(body, class, &value, label, Some(&records_link(records)));
    }
    let per_day = figure(totals, "vehicles").map(|vehicles| vehicles / f64::from(selection.days()));
    tile(
        body,
        "tile-per-day",
        &shown(per_day.map(|value| (value * 10.0).round() / 10.0)),
        "vehicles a day on average",
        None,
    );
    body.push_str("</div>\n<p class=\"small muted\">Tap a figure to see the records that add up to it. A dash means no record reported the figure, which is not the same as zero.</p></section>\n");
}

/// A site nobody was recorded watching and where nothing was recorded in the period.
fn is_idle(site: &SiteSection) -> bool {
    site.access.observed == 0.0
        && site.access.turned_back == 0
        && site.access.held == 0
        && site.coverage.share == 0.0
}

/// Idle sites in one short list: no chart can say anything about them.
fn idle_sites(body: &mut String, sites: &[&SiteSection]) {
    if sites.is_empty() {
        return;
    }
    body.push_str("<section id=\"idle-sites\" class=\"idle-sites\">\n<h2>Not watched in this period</h2>\n<p class=\"small muted\">Nobody was recorded watching these sites and no passage was recorded there: no status can be given, and the absence of records says nothing.</p>\n<ul class=\"idle\">");
    for site in sites {
        let _ = write!(
            body,
            "<li class=\"idle-site\" data-site=\"{}\">{} {}</li>",
            escape(&site.id),
            escape(&site.name),
            status_badge(None, false)
        );
    }
    body.push_str("</ul>\n</section>\n");
}

/// The first letter in upper case, for sentences that start with a computed word.
fn sentence(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

fn site_section(body: &mut String, data: &DashboardData, site: &SiteSection) {
    let selection = &data.selection;
    let covered = site.coverage.share > 0.0;
    let _ = writeln!(
        body,
        "<section class=\"site\" id=\"site-{id_attr}\" data-site=\"{id_attr}\">\n<h2>{name} {badge}</h2>\n<p class=\"explanation\">{explanation}</p>",
        id_attr = escape(&site.id),
        name = escape(&site.name),
        badge = status_badge(site.access.status, covered),
        explanation = escape(&sentence(&site.access.explanation))
    );
    if let Some(baseline) = &site.access.baseline {
        let _ = writeln!(
            body,
            "<p class=\"small muted\">Baseline: {} vehicles a day ({}), source: <cite>{}</cite>. {}</p>",
            number(baseline.per_day),
            escape(&words(&baseline.basis)),
            escape(&baseline.source),
            escape(&sentence(&site.access.rule))
        );
    } else if selection.category.is_some() {
        body.push_str("<p class=\"small muted\">No baseline for this category here: the chart shows the flow and closures only.</p>\n");
    }
    // The site's figures, each linked to its records.
    let at_site = RecordsFilter {
        site: Some(site.id.clone()),
        ..records_of(selection)
    };
    let mut figures = vec![format!(
        "<a href=\"{}\">{}</a> vehicles passed",
        records_link(&RecordsFilter {
            outcomes: FLOW.to_vec(),
            ..at_site.clone()
        }),
        number(site.access.observed)
    )];
    for (count, outcome, label) in [
        (site.access.turned_back, Outcome::TurnedBack, "turned back"),
        (site.access.held, Outcome::Held, "held"),
    ] {
        figures.push(format!(
            "<a href=\"{}\">{}</a> {label}",
            records_link(&RecordsFilter {
                outcomes: vec![outcome],
                ..at_site.clone()
            }),
            number(count as f64)
        ));
    }
    let _ = writeln!(
        body,
        "<p class=\"site-figures\">{}</p>",
        figures.join(" · ")
    );
    let chart = charts::daily_flow(site);
    let _ = writeln!(
        body,
        "<figure class=\"chart\">{}<figcaption>Vehicles that passed each day (bars){}; the band gives each day's access status.</figcaption></figure>",
        chart.svg,
        if chart.logarithmic {
            ", on a logarithmic scale because the baseline dwarfs the flow"
        } else {
            ""
        }
    );
    let _ = writeln!(
        body,
        "<h3>Coverage</h3>\n<figure class=\"chart coverage\">{}<figcaption>{} of the period watched{}.</figcaption></figure>",
        charts::coverage_strip(site, &selection.from_text(), &selection.to_text()),
        percent(site.coverage.share),
        if site.coverage.sources.is_empty() {
            String::new()
        } else {
            format!(", kept by {}", escape(&site.coverage.sources.join(", ")))
        }
    );
    if !site.coverage.gaps.is_empty() {
        body.push_str("<details class=\"gaps\"><summary>Gaps in coverage</summary><ul>");
        for gap in &site.coverage.gaps {
            let _ = write!(
                body,
                "<li>{} – {}</li>",
                escape(&gap.start),
                escape(&gap.end)
            );
        }
        body.push_str("</ul></details>\n");
    }
    // The daily figures, each linked to its records.
    let flow = RecordsFilter {
        site: Some(site.id.clone()),
        outcomes: FLOW.to_vec(),
        ..records_of(selection)
    };
    let _ = writeln!(
        body,
        "<details class=\"daily\"><summary>Day by day: {} vehicles passed, {} turned back, {} held</summary><div class=\"table-scroll\"><table><thead><tr><th scope=\"col\">Day</th><th scope=\"col\" class=\"num\">Passed</th><th scope=\"col\" class=\"num\">Watched</th><th scope=\"col\">Status</th></tr></thead><tbody>",
        number(site.access.observed),
        number(site.access.turned_back as f64),
        number(site.access.held as f64)
    );
    for day in &site.access.days {
        let Some(date) = corridor_model::time::parse_date(&day.day) else {
            continue;
        };
        let href = records_link(&RecordsFilter {
            from: date,
            to: date,
            ..flow.clone()
        });
        let state = DayState::new(day.status, day.covered_share > 0.0);
        let (class, label) = (state.class(), state.label());
        let _ = writeln!(
            body,
            "<tr data-day=\"{day_attr}\"><td>{label_day}</td><td class=\"num\"><a href=\"{href}\">{observed}</a></td><td class=\"num\">{share}</td><td><span class=\"dot {class}\"></span>{label}</td></tr>",
            day_attr = escape(&day.day),
            label_day = escape(&day_label(&day.day)),
            observed = number(day.observed),
            share = percent(day.covered_share),
            label = escape(label)
        );
    }
    body.push_str("</tbody></table></div></details>\n</section>\n");
}

fn breakdown(body: &mut String, data: &DashboardData) {
    let selection = &data.selection;
    let mut by_category: Vec<(String, f64)> = Vec::new();
    let mut cells: std::collections::BTreeMap<(String, String), f64> = Default::default();
    for row in &data.by_category_direction.rows {
        let category = row
            .get("category")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let direction = row
            .get("direction")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let vehicles = figure(row, "vehicles").unwrap_or(0.0);
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
    let total = figure(&data.totals.totals, "vehicles").unwrap_or(0.0);
    let _ = writeln!(
        body,
        "</tbody><tfoot><tr><th scope=\"row\">All</th><td colspan=\"3\"></td><td class=\"num\"><a href=\"{}\">{}</a></td></tr></tfoot></table></div>\n<p class=\"small muted\">Vehicles of every outcome. A vehicle whose direction was not recorded counts under “unknown”.</p>\n</section>",
        records_link(&records_of(selection)),
        number(total)
    );
}

fn refused(body: &mut String, data: &DashboardData) {
    let selection = &data.selection;
    body.push_str("<section id=\"refused\" class=\"refused\">\n<h2>Turned back, held and delayed; denied missions</h2>\n");
    let rows: Vec<&Map<String, Value>> = data
        .by_outcome
        .rows
        .iter()
        .filter(|row| {
            row.get("outcome")
                .and_then(Value::as_str)
                .is_some_and(|outcome| outcome != "passed")
        })
        .collect();
    if rows.is_empty() {
        body.push_str("<p class=\"outcome-none\">No vehicle was recorded as turned back, held or delayed in this selection.</p>\n");
    } else {
        body.push_str("<div class=\"table-scroll\"><table class=\"outcomes\"><thead><tr><th scope=\"col\">Outcome</th><th scope=\"col\">Category</th><th scope=\"col\" class=\"num\">Vehicles</th></tr></thead><tbody>\n");
        for row in rows {
            let outcome = row.get("outcome").and_then(Value::as_str).unwrap_or("");
            let category = row.get("category").and_then(Value::as_str).unwrap_or("");
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
                v = shown(figure(row, "vehicles"))
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

fn timeline(body: &mut String, data: &DashboardData) {
    body.push_str(
        "<section id=\"timeline\" class=\"timeline\">\n<h2>Incidents and missions</h2>\n",
    );
    if data.timeline.is_empty() {
        body.push_str("<p class=\"empty\">No incident or mission is recorded in this selection.</p>\n</section>\n");
        return;
    }
    body.push_str("<ol class=\"events\">\n");
    for event in &data.timeline {
        let until = match &event.ended {
            Some(ended) => format!(" – {}", escape(&day_label(ended))),
            None if event.record_type == "incident" => " – ongoing".to_string(),
            None => String::new(),
        };
        let outcome = event
            .outcome
            .as_deref()
            .map(|outcome| {
                format!(
                    " <span class=\"outcome outcome-{}\">{}</span>",
                    escape(outcome),
                    escape(&words(outcome).to_uppercase())
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            body,
            "<li class=\"event event-{kind_type}\" data-id=\"{id}\"><time>{at}{until}</time><div><strong>{title}</strong>{outcome} <span class=\"muted small\">{record_type} <code>{id}</code></span><p>{description}</p><p class=\"small muted\">Source: <cite>{source}</cite> · at {sites}</p></div></li>",
            kind_type = event.record_type,
            id = escape(&event.id),
            at = escape(&day_label(&event.at)),
            title = escape(&event.title),
            record_type = event.record_type,
            description = escape(&event.description),
            source = escape(&event.source),
            sites = escape(&event.sites.join(", "))
        );
    }
    body.push_str("</ol>\n</section>\n");
}

/// The records behind an assertion's computed figure, when the records page
/// can list them: a flow metric at one site (or all), filters it knows.
fn assertion_records(assertion: &Value) -> Option<String> {
    let metric = assertion.get("metric")?.as_str()?;
    if !matches!(
        metric,
        "vehicles" | "passages" | "passengers" | "medical_evacuees"
    ) {
        return None;
    }
    if assertion
        .get("attributes")
        .is_some_and(|attributes| attributes.as_object().is_some_and(|map| !map.is_empty()))
        || ["operator", "vehicle_class", "cargo_kind"]
            .iter()
            .any(|name| assertion.get(name).is_some_and(|value| !value.is_null()))
    {
        return None;
    }
    let site = match assertion.get("sites") {
        Some(Value::Array(sites)) if sites.len() > 1 => return None,
        Some(Value::Array(sites)) => sites.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    let from = corridor_model::time::parse_date(assertion.get("from")?.as_str()?)?;
    let to = corridor_model::time::parse_date(assertion.get("to")?.as_str()?)?;
    let category = match assertion.get("category").and_then(Value::as_str) {
        Some(text) => Some(corridor_model::Category::parse(text)?),
        None => None,
    };
    let direction = match assertion.get("direction").and_then(Value::as_str) {
        Some(text) => Some(Direction::parse(text)?),
        None => None,
    };
    // Without an outcome, a claim counts the flow (passed or delayed).
    let outcomes = match assertion.get("outcome").and_then(Value::as_str) {
        Some(text) => vec![Outcome::parse(text)?],
        None => FLOW.to_vec(),
    };
    Some(records_link(&RecordsFilter {
        from,
        to,
        site,
        category,
        direction,
        outcomes,
        page: 1,
    }))
}

fn claims(body: &mut String, data: &DashboardData) {
    blocks::claims_section(
        body,
        &data.claims,
        "Claims are checked as stated, over their own period, whatever the filters above.",
        ClaimCardStyle {
            records_behind: assertion_records,
            comparison_with_claimed: true,
        },
    );
}

fn log_state(body: &mut String, data: &DashboardData) {
    body.push_str("<section id=\"log\" class=\"log\">\n<h2>The log these figures come from</h2>\n");
    match &data.log {
        Ok(log) => {
            let _ = writeln!(
                body,
                "<dl class=\"log-state\"><div><dt>Log</dt><dd><code>{origin}</code></dd></div><div><dt>Tree size</dt><dd class=\"tree-size\" data-value=\"{size}\">{size_text}</dd></div><div><dt>Last checkpoint</dt><dd>{published}</dd></div><div><dt>Records not yet in a checkpoint</dt><dd>{pending}</dd></div><div class=\"wide\"><dt>Root hash</dt><dd class=\"hash\">{root}</dd></div></dl>",
                origin = escape(&log.origin),
                size = log.tree_size,
                size_text = number(log.tree_size as f64),
                published = escape(log.published_at.as_deref().unwrap_or("unknown")),
                pending = number(log.pending as f64),
                root = escape(&log.root_hash)
            );
            let witnesses: Vec<_> = log.witnesses().collect();
            if witnesses.is_empty() {
                body.push_str("<p class=\"witnesses none\">No witness has cosigned this checkpoint yet: only the operator vouches for it. Independent witnesses cosigning checkpoints are what keeps the operator from showing different histories to different people.</p>\n");
            } else {
                body.push_str("<h3>Cosigned by</h3><ul class=\"witnesses\">");
                for witness in witnesses {
                    let _ = write!(
                        body,
                        "<li><strong>{}</strong> <code>{}</code>{}</li>",
                        escape(&witness.key_name),
                        escape(&witness.key_id),
                        witness
                            .cosigned_at
                            .as_ref()
                            .map(|at| format!(" at {}", escape(at)))
                            .unwrap_or_default()
                    );
                }
                body.push_str("</ul>\n<p class=\"small muted\">Cosignatures are listed as published; <code>corridor verify --witness KEY</code> checks them against the witnesses' keys.</p>\n");
            }
        }
        Err(reason) => {
            let _ = writeln!(
                body,
                "<p class=\"log-missing\">No published checkpoint: {}. {} records are stored.</p>",
                escape(reason),
                number(data.stored_records as f64)
            );
        }
    }
    let selection = &data.selection;
    let from = selection.from_text();
    let to = selection.to_text();
    let _ = writeln!(
        body,
        "<p><a class=\"button\" href=\"{}\">How to verify these figures yourself →</a></p>\n</section>",
        link(
            "/dashboard/verify",
            &[
                ("from", Some(&from)),
                ("to", Some(&to)),
                ("site", selection.site.as_deref()),
            ],
        )
    );
}
