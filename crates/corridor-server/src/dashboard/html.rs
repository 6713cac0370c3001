//! How the dashboard's pages write text, figures and links: escaping of every
//! string that comes from a record, figures with thousands separators, query
//! strings built from typed parameters, and the page shell shared by every
//! page (inline stylesheet, strict content security policy).

use std::fmt::Write as _;

use corridor_stats::report_html::BASE_STYLESHEET;

/// The dashboard's stylesheet, inlined into every page after the report's
/// base stylesheet ([`BASE_STYLESHEET`]) so a saved page still reads.
pub const STYLESHEET: &str = include_str!("dashboard.css");

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    corridor_stats::report_html::escape(text)
}

/// Percent-encodes one query-string component (RFC 3986 unreserved characters stay).
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

/// `path?name=value&...` from the parameters that have a value, encoded and
/// then escaped for an attribute (so `&` reads as `&amp;` in the page).
pub fn link(path: &str, parameters: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = parameters
        .iter()
        .filter_map(|(name, value)| {
            value
                .filter(|value| !value.is_empty())
                .map(|value| format!("{name}={}", encode_component(value)))
        })
        .collect();
    if query.is_empty() {
        escape(path)
    } else {
        escape(&format!("{path}?{}", query.join("&")))
    }
}

/// The dashboard (`/`) for a period (`YYYY-MM-DD`), a site and a category,
/// as a link from any page.
pub fn dashboard_link(
    from: &str,
    to: &str,
    site: Option<&str>,
    category: Option<corridor_model::Category>,
) -> String {
    link(
        "/",
        &[
            ("from", Some(from)),
            ("to", Some(to)),
            ("site", site),
            ("category", category.map(|category| category.as_str())),
        ],
    )
}

// Figures read the same on the dashboard and in reports.
pub use corridor_stats::numbers::{number, percent};
pub use corridor_stats::report_html::figures::{day_label, token as words};

/// The content security policy of the dashboard pages: no script at all,
/// inline style only, forms submit to this server only.
pub const DASHBOARD_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'";

/// Added to a page's policy in the response header only: browsers ignore it in a `<meta>` element.
pub const NO_FRAMING: &str = "; frame-ancestors 'none'";

/// A whole page: head with the inline stylesheet, the site header with its
/// navigation, then `body`.
pub fn page(title: &str, current: &str, body: &str) -> String {
    page_with(title, current, body, DASHBOARD_POLICY, "")
}

/// A page with its own content security policy and extra head elements.
pub fn page_with(title: &str, current: &str, body: &str, policy: &str, head: &str) -> String {
    let navigation = [
        ("/", "Dashboard", "dashboard"),
        ("/dashboard/verify", "Verify", "verify"),
        ("/observe", "Observer tally", "observe"),
    ]
    .iter()
    .map(|(href, label, key)| {
        let here = if *key == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{href}\"{here}>{label}</a>")
    })
    .collect::<Vec<_>>()
    .join("");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">\n\
         <link rel=\"icon\" href=\"data:,\">\n<title>{title}</title>\n<style>\n{BASE_STYLESHEET}{STYLESHEET}</style>\n{head}</head>\n<body>\n\
         <header class=\"masthead\"><a class=\"brand\" href=\"/\">Corridor</a><nav class=\"site-nav\" aria-label=\"Pages\">{navigation}</nav></header>\n\
         <main>\n{body}</main>\n<footer class=\"page-footer\"><p>Every figure on this page is computed from records in an append-only, signed log. \
         <a href=\"/dashboard/verify\">Check them yourself</a>.</p></footer>\n</body>\n</html>\n",
        title = escape(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_percent_encoded_and_escaped() {
        assert_eq!(encode_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            link(
                "/dashboard/records",
                &[("site", Some("x\"y")), ("category", None), ("to", Some(""))]
            ),
            "/dashboard/records?site=x%22y"
        );
        assert_eq!(
            link("/r", &[("a", Some("1")), ("b", Some("2"))]),
            "/r?a=1&amp;b=2"
        );
    }

    #[test]
    fn figures_read_with_separators() {
        assert_eq!(number(39_560.0), "39,560");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(-0.0), "0");
        assert_eq!(percent(0.025), "2.5%");
        assert_eq!(percent(0.75), "75%");
        assert_eq!(day_label("2022-12-12"), "12 Dec 2022");
        assert_eq!(day_label("2023-01-17T09:40:00+04:00"), "17 Jan 2023");
        assert_eq!(day_label("soon"), "soon");
    }
}
