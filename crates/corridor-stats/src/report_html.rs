//! Report renderings: CSV of the daily series and a single self-contained
//! HTML page that carries the report's JSON inside it, so the page itself can
//! be verified with `corridor report verify`.
//!
//! The page needs nothing but itself: inline CSS (with a print stylesheet),
//! charts as inline SVG, no script to run and no resource to fetch. Every
//! string that comes from the report is untrusted text and is escaped; the
//! output depends on the report alone, so the same report gives the same
//! bytes.

pub mod blocks;
pub mod charts;
pub mod figures;
pub mod map;
mod sections;

use std::fmt::Write as _;

use serde_json::Value;

use crate::csv_field;
use crate::report::Report;

/// The id of the script element that carries the report JSON in the HTML page.
pub const EMBEDDED_JSON_ID: &str = "corridor-report";

/// The base stylesheet the report and the server's dashboard both start
/// with: colours, type, sections, notices, tables and claim cards.
pub const BASE_STYLESHEET: &str = include_str!("report_html/base.css");

/// The page's own stylesheet, after the base: screen first, then phones, then print.
const STYLESHEET: &str = include_str!("report_html/report.css");

/// The page may load nothing and run nothing: its only style is inline and
/// its JSON is data. Should escaping ever fail, the browser still refuses to
/// run a script or fetch anything from a report.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// The daily series, one row per site and day: flow, coverage, baseline, index, status.
pub fn render_csv(report: &Report) -> String {
    let mut out =
        String::from("site,day,vehicles_passed,covered_share,baseline_per_day,index,status\n");
    for site in &report.sites {
        let baseline = site
            .access
            .baseline
            .as_ref()
            .map(|baseline| baseline.per_day);
        for day in &site.access.days {
            let _ = writeln!(
                out,
                "{},{},{},{:.4},{},{},{}",
                csv_field(&site.id),
                day.day,
                day.observed,
                day.covered_share,
                baseline.map(|value| value.to_string()).unwrap_or_default(),
                day.index
                    .map(|index| format!("{index:.4}"))
                    .unwrap_or_default(),
                day.status.map(|status| status.as_str()).unwrap_or("")
            );
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// JSON made safe inside a `<script>` element: `<`, `>` and `&` are escaped
/// as JSON unicode escapes, so no text in the report can close the element.
fn script_safe_json(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Text as a CSS string literal that is safe inside a `<style>` element:
/// everything but letters, digits, spaces and plain punctuation is a CSS
/// escape, so no text can end the string or the element.
fn css_string(text: &str) -> String {
    let mut out = String::from("\"");
    for character in text.chars() {
        if character.is_ascii_alphanumeric() || " .,:;/+=()-_·–".contains(character) {
            out.push(character);
        } else {
            let _ = write!(out, "\\{:x} ", u32::from(character));
        }
    }
    out.push('"');
    out
}

/// The running header and footer of every printed page (the `@page` margin
/// boxes the stylesheet lays out): the period, and the checkpoint the
/// figures were computed at, size and root hash.
fn print_margins(report: &Report) -> String {
    let period = format!(
        "Corridor access report · period {} to {}",
        figures::day_label(&report.query.from),
        figures::day_label(&report.query.to)
    );
    let checkpoint = match &report.checkpoint {
        Some(checkpoint) => format!(
            "Log checkpoint: tree size {}, root hash {}",
            crate::numbers::number(checkpoint.tree_size as f64),
            checkpoint.root_hash
        ),
        None => "No signed checkpoint: this report cannot be checked against a log".to_string(),
    };
    format!(
        "@media print {{\n  @page {{\n    @top-left {{ content: {}; }}\n    @bottom-left {{ content: {}; }}\n  }}\n}}\n",
        css_string(&period),
        css_string(&checkpoint)
    )
}

/// Finds the report JSON inside an HTML page written by [`render_html`].
pub fn extract_embedded_json(html: &str) -> Option<String> {
    let marker = format!("id=\"{EMBEDDED_JSON_ID}\"");
    let start = html.find(&marker)?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</script>")?;
    Some(html[open_end..close].to_string())
}

/// The report as one self-contained HTML page: readable without JavaScript,
/// printable, and carrying its own JSON for `corridor report verify`.
pub fn render_html(report: &Report) -> String {
    let json = Value::Object(crate::report::report_json(report));
    let body = sections::page_body(report);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n\
         <meta name=\"generator\" content=\"Corridor ({format})\">\n\
         <title>{title}</title>\n<style>\n{BASE_STYLESHEET}{STYLESHEET}{margins}</style>\n</head>\n<body>\n{body}\
         <script type=\"application/json\" id=\"{EMBEDDED_JSON_ID}\">{json}</script>\n</body>\n</html>\n",
        format = escape(&report.format),
        title = escape(&report.title),
        margins = print_margins(report),
        json = script_safe_json(&json)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_strings_cannot_end_the_string_or_the_style_element() {
        assert_eq!(css_string("tree size 1,031"), "\"tree size 1,031\"");
        assert_eq!(css_string("a\"b"), "\"a\\22 b\"");
        assert_eq!(css_string("</style>"), "\"\\3c /style\\3e \"");
        assert_eq!(css_string("back\\slash\n"), "\"back\\5c slash\\a \"");
    }
}
