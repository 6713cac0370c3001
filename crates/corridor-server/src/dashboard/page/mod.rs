//! The dashboard page (`/`): server-rendered HTML with inline SVG charts, no
//! script. Every figure links to the records page that lists the passages
//! adding up to it, and the page ends with the state of the log that lets
//! anyone check them.
//!
//! Charts are the report's (`corridor_stats::report_html::charts`), so the
//! dashboard and a published report draw the same data the same way.
//!
//! One file per part of the page, top to bottom: [`filters`] (the form and
//! the chips), [`flow`] (the figures, the breakdown by category and
//! direction, what was turned back or held), [`sites`] (one section per
//! site), [`timeline`] (incidents and missions), [`claims`] and [`log`] (the
//! log the figures come from); [`links`] builds the links between them.

use std::fmt::Write as _;

use corridor_stats::report::SiteSection;
use corridor_stats::report_html::blocks;

use crate::dashboard::data::DashboardData;
use crate::dashboard::html::{day_label, escape, page, words};

mod claims;
mod filters;
mod flow;
mod links;
mod log;
mod sites;
mod timeline;

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
    filters::filters(&mut body, data);
    flow::tiles(&mut body, data);
    crate::dashboard::map::map_section(&mut body, data);
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
        sites.into_iter().partition(|site| sites::is_idle(site));
    for site in active {
        sites::site_section(&mut body, data, site);
    }
    sites::idle_sites(&mut body, &idle);
    flow::breakdown(&mut body, data);
    flow::refused(&mut body, data);
    timeline::timeline(&mut body, data);
    claims::claims(&mut body, data);
    log::log_state(&mut body, data);
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
