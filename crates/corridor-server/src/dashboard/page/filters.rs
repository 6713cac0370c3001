//! The filters at the top of the dashboard: a form for the period, site and
//! category, and the same choices as rows of chips, one tap each on a phone.

use std::fmt::Write as _;

use super::links::dashboard_link;
use crate::dashboard::data::DashboardData;
use crate::dashboard::html::{escape, words};

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

pub(super) fn filters(body: &mut String, data: &DashboardData) {
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
