//! Links from the dashboard: to the records behind a figure of the current
//! selection, and to the dashboard with the selection changed.

use crate::dashboard::data::Selection;
use crate::dashboard::html;
use crate::dashboard::query::RecordsFilter;

/// The records filter for the current selection, narrowed further by the caller.
pub(super) fn records_of(selection: &Selection) -> RecordsFilter {
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
pub(super) fn dashboard_link(selection: &Selection, change: impl FnOnce(&mut Selection)) -> String {
    let mut selection = selection.clone();
    change(&mut selection);
    html::dashboard_link(
        &selection.from_text(),
        &selection.to_text(),
        selection.site.as_deref(),
        selection.category,
    )
}
