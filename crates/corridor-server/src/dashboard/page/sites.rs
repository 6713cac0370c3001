//! One section per site: its access status and why, the daily flow against
//! the baseline, coverage and the day-by-day figures; and one short list of
//! the sites nobody watched.

use std::fmt::Write as _;

use corridor_model::Outcome;
use corridor_stats::flow::FLOW_OUTCOMES;
use corridor_stats::report::SiteSection;
use corridor_stats::report_html::charts;
use corridor_stats::report_html::figures::{DayState, status_badge};

use super::links::records_of;
use crate::dashboard::data::DashboardData;
use crate::dashboard::html::{day_label, escape, number, percent, words};
use crate::dashboard::query::RecordsFilter;
use crate::dashboard::records::records_link;

/// A site nobody was recorded watching and where nothing was recorded in the period.
pub(super) fn is_idle(site: &SiteSection) -> bool {
    site.access.observed == 0.0
        && site.access.turned_back == 0
        && site.access.held == 0
        && site.coverage.share == 0.0
}

/// Idle sites in one short list: no chart can say anything about them.
pub(super) fn idle_sites(body: &mut String, sites: &[&SiteSection]) {
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

pub(super) fn site_section(body: &mut String, data: &DashboardData, site: &SiteSection) {
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
            outcomes: FLOW_OUTCOMES.to_vec(),
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
        outcomes: FLOW_OUTCOMES.to_vec(),
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
