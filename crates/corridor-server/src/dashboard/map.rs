//! The dashboard's map of the sites: the report's map
//! (`corridor_stats::report_html::map`), drawn for the selection, each site
//! linked to the records page listing the passages behind its flow.

use corridor_model::Outcome;
use corridor_stats::report_html::figures::DayState;
use corridor_stats::report_html::map::{MapSite, map_block};

use super::data::DashboardData;
use super::html::day_label;
use super::query::RecordsFilter;
use super::records::records_link;

/// The map section, after the figures at a glance; nothing without sites.
pub(super) fn map_section(body: &mut String, data: &DashboardData) {
    let selection = &data.selection;
    if data.site_sections.is_empty() {
        return;
    }
    let sites: Vec<MapSite> = data
        .site_sections
        .iter()
        .map(|site| MapSite {
            id: &site.id,
            name: &site.name,
            coordinates: site.coordinates,
            state: DayState::new(site.access.status, site.access.covered_days > 0.0),
            flow: site.access.observed,
            // The flow is what went through: passed and delayed vehicles.
            href: records_link(&RecordsFilter {
                from: selection.from,
                to: selection.to,
                site: Some(site.id.clone()),
                category: selection.category,
                direction: None,
                outcomes: vec![Outcome::Passed, Outcome::Delayed],
                page: 1,
            }),
        })
        .collect();
    let period = format!(
        "{} to {}",
        day_label(&selection.from_text()),
        day_label(&selection.to_text())
    );
    body.push_str("<section id=\"map\" class=\"map-section\">\n<h2>Map of the sites</h2>\n");
    body.push_str(&map_block(&sites, &period));
    body.push_str("</section>\n");
}
