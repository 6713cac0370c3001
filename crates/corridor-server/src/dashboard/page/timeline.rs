//! Incidents and missions of the selection, oldest first.

use std::fmt::Write as _;

use crate::dashboard::data::DashboardData;
use crate::dashboard::html::{day_label, escape, words};

pub(super) fn timeline(body: &mut String, data: &DashboardData) {
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
