//! The blocks the report page and the server's dashboard both write: the
//! notices box, a figure tile, and the claims section with one card per
//! claim. One renderer each, so a claim reads the same wherever it is shown.
//!
//! What genuinely differs between the two pages is a parameter: the
//! dashboard links figures to the records behind them, the report is a
//! self-contained page and links nowhere.
//!
//! Every string from a record goes through [`escape`]; ids and classes built
//! from record text go through [`slug`].

use std::fmt::Write as _;

use corridor_model::Assertion;

use super::escape;
use super::figures::{
    claimed_text, comparison, computed_text, day_label, slug, token, verdict_badge,
};
use crate::claims::{AssertionVerdict, ClaimVerdict};
use crate::numbers::percent;

/// The notices box a reader must see first (`section#notices`), under
/// `title`; nothing when there are no notices.
pub fn notices_section(body: &mut String, title: &str, notices: &[String]) {
    if notices.is_empty() {
        return;
    }
    let _ = writeln!(
        body,
        "<section id=\"notices\" class=\"notices\" role=\"note\" aria-labelledby=\"notices-title\">\n<h2 id=\"notices-title\">{}</h2>\n<ul>",
        escape(title)
    );
    for notice in notices {
        let _ = writeln!(body, "<li class=\"notice\">{}</li>", escape(notice));
    }
    body.push_str("</ul>\n</section>\n");
}

/// A figure tile: a big number and what it is. `value` and `label` are
/// markup (already escaped); with `href` (escaped for an attribute) the
/// number links there.
pub fn tile(body: &mut String, class: &str, value: &str, label: &str, href: Option<&str>) {
    let value = match href {
        Some(href) => format!("<a class=\"value\" href=\"{href}\">{value}</a>"),
        None => format!("<div class=\"value\">{value}</div>"),
    };
    let _ = writeln!(
        body,
        "<div class=\"tile {class}\">{value}<div class=\"label\">{label}</div></div>"
    );
}

/// How a claim card shows an assertion's figures where the report and the
/// dashboard differ.
#[derive(Debug, Clone, Copy)]
pub struct ClaimCardStyle {
    /// The address of the records behind an assertion's computed figure,
    /// escaped for an attribute, where the page can list them (the
    /// dashboard); a self-contained report links nowhere.
    pub records_behind: fn(&Assertion) -> Option<String>,
    /// Write the comparison with the claimed figure (`at least 8`), for a
    /// card read at a glance, instead of after the assertion's description
    /// (`…, 1 Mar 2024 to 3 Mar 2024: at least 8`) as a report does.
    pub comparison_with_claimed: bool,
}

impl ClaimCardStyle {
    /// The report's cards: no links, the comparison after the description.
    pub const REPORT: ClaimCardStyle = ClaimCardStyle {
        records_behind: |_| None,
        comparison_with_claimed: false,
    };
}

/// The claims section (`section#claims`): one card per claim, or a line
/// saying there is none. `note` follows the explanation of bounds.
pub fn claims_section(
    body: &mut String,
    claims: &[ClaimVerdict],
    note: &str,
    style: ClaimCardStyle,
) {
    body.push_str(
        "<section id=\"claims\" class=\"claims\">\n<h2>Claims checked against the records</h2>\n",
    );
    if claims.is_empty() {
        body.push_str(
            "<p class=\"empty\">No recorded claim is about this period.</p>\n</section>\n",
        );
        return;
    }
    let _ = writeln!(
        body,
        "<p class=\"small\">A lower bound (“at least”, “more than”) can be confirmed by partly watched time; an exact figure or an upper bound needs the whole period watched.{}</p>",
        if note.is_empty() {
            String::new()
        } else {
            format!(" {}", escape(note))
        }
    );
    for claim in claims {
        claim_card(body, claim, style);
    }
    body.push_str("</section>\n");
}

/// One claim (`article.claim`): its verdict, text, speaker and source, then
/// every assertion with the claimed beside the computed figure. The header
/// carries the anchor `#claim-…` a link to the claim can point at.
pub fn claim_card(body: &mut String, claim: &ClaimVerdict, style: ClaimCardStyle) {
    let _ = writeln!(
        body,
        "<article class=\"claim\" data-id=\"{id}\" data-verdict=\"{verdict}\">\n<header id=\"claim-{anchor}\">{badge}<blockquote class=\"claim-text\">{text}</blockquote>\n<p class=\"claim-meta\">{speaker}, {said_on} · source: <cite>{source}</cite> · <code>{id}</code></p>\n</header>\n<ol class=\"assertions\">",
        id = escape(&claim.id),
        verdict = slug(&claim.verdict.to_string()),
        anchor = slug(&claim.id),
        badge = verdict_badge(claim.verdict),
        text = escape(&claim.text),
        speaker = escape(&claim.speaker),
        said_on = escape(&day_label(&claim.said_on)),
        source = escape(&claim.source)
    );
    for assertion in &claim.assertions {
        assertion_item(body, assertion, style);
    }
    body.push_str("</ol>\n</article>\n");
}

fn assertion_item(body: &mut String, checked: &AssertionVerdict, style: ClaimCardStyle) {
    let op = comparison(checked.assertion.op);
    let claimed = claimed_text(&checked.claimed);
    let (what, claimed) = if style.comparison_with_claimed {
        (
            describe_assertion(&checked.assertion),
            format!("{op} {claimed}"),
        )
    } else {
        (
            format!("{}: {op} {claimed}", describe_assertion(&checked.assertion)),
            claimed,
        )
    };
    let computed = match (
        &checked.computed,
        (style.records_behind)(&checked.assertion),
    ) {
        (None, _) | (_, None) => computed_text(checked.computed.as_ref()),
        (Some(value), Some(href)) => {
            format!("<a href=\"{href}\">{}</a>", computed_text(Some(value)))
        }
    };
    let _ = writeln!(
        body,
        "<li class=\"assertion\">\n<p class=\"assertion-what\">{what}</p>\n<dl class=\"assertion-figures\"><div><dt>Claimed</dt><dd class=\"claimed\">{claimed}</dd></div><div><dt>Computed</dt><dd class=\"computed\">{computed}</dd></div><div><dt>Verdict</dt><dd>{}</dd></div></dl>\n<p class=\"reason\">{}</p>",
        verdict_badge(checked.verdict),
        escape(&checked.reason)
    );
    if !checked.coverage.is_empty() {
        let parts: Vec<String> = checked
            .coverage
            .iter()
            .map(|used| {
                format!(
                    "{}: {} watched{}",
                    escape(&used.site),
                    percent(used.share),
                    if used.full {
                        " (fully covered)"
                    } else {
                        " (partly covered)"
                    }
                )
            })
            .collect();
        let _ = writeln!(
            body,
            "<p class=\"assertion-coverage small\">Coverage: {}.</p>",
            parts.join("; ")
        );
    }
    if checked.sources.is_empty() {
        body.push_str(
            "<p class=\"assertion-sources small\">Sources: none (no record in scope).</p>\n",
        );
    } else {
        let sources: Vec<String> = checked
            .sources
            .iter()
            .map(|source| format!("<cite>{}</cite>", escape(source)))
            .collect();
        let _ = writeln!(
            body,
            "<p class=\"assertion-sources small\">Sources: {}.</p>",
            sources.join("; ")
        );
    }
    body.push_str("</li>\n");
}

/// `vehicles, category peacekeeping, at lachin-road, 12 Dec 2022 to 23 Jan 2023`.
fn describe_assertion(assertion: &Assertion) -> String {
    let mut parts = vec![escape(&token(assertion.metric.as_str()))];
    let filters = [
        (
            "category",
            assertion.category.map(|category| category.as_str()),
        ),
        ("operator", assertion.operator.as_deref()),
        (
            "direction",
            assertion.direction.map(|direction| direction.as_str()),
        ),
        ("outcome", assertion.outcome.map(|outcome| outcome.as_str())),
        ("cargo_kind", assertion.cargo_kind.as_deref()),
    ];
    for (name, value) in filters {
        if let Some(value) = value {
            parts.push(format!("{} {}", token(name), escape(&token(value))));
        }
    }
    for (key, value) in &assertion.attributes {
        parts.push(format!("{} = {}", escape(key), escape(value)));
    }
    if assertion.sites.is_empty() {
        parts.push("at every site".to_string());
    } else {
        parts.push(format!("at {}", escape(&assertion.sites.join(", "))));
    }
    parts.push(format!(
        "{} to {}",
        escape(&day_label(&assertion.from)),
        escape(&day_label(&assertion.to))
    ));
    parts.join(", ")
}
