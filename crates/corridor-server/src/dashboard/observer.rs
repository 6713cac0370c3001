//! The observer tally page (`/observe`) and its script: a phone-friendly
//! screen for a token holder with the observer role. The page is the same for
//! everyone; the token is typed on the device and kept there, and the write
//! API decides what it may do.

use super::html::{escape, page_with};

/// The page's markup, with `{{SITE_OPTIONS}}` and `{{API_PATH}}` to fill.
const TEMPLATE: &str = include_str!("observer.html");

/// The tally script, served at [`SCRIPT_PATH`].
pub const SCRIPT: &str = include_str!("observer.js");

/// Where the script is served.
pub const SCRIPT_PATH: &str = "/observe/observer.js";

/// Where the script sends records.
pub const API_PATH: &str = "/api/v1/records?mode=per_record";

/// The observer page may run its own script and talk to this server, nothing else.
pub const OBSERVER_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'";

/// The observer page, offering `sites` as `(id, name)`.
pub fn render_observer(sites: &[(String, String)]) -> String {
    let mut options = String::new();
    if sites.is_empty() {
        options.push_str("<option value=\"\">no site recorded yet</option>");
    }
    for (id, name) in sites {
        options.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            escape(id),
            escape(name)
        ));
    }
    let body = TEMPLATE
        .replace("{{SITE_OPTIONS}}", &options)
        .replace("{{API_PATH}}", API_PATH);
    page_with(
        "Observer tally — Corridor",
        "observe",
        &body,
        OBSERVER_POLICY,
        &format!("<script src=\"{SCRIPT_PATH}\" defer></script>\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_offers_escaped_sites_and_loads_only_its_own_script() {
        let page = render_observer(&[("km-12".into(), "<b>Checkpoint</b> & co".into())]);
        assert!(
            page.contains(
                "<option value=\"km-12\">&lt;b&gt;Checkpoint&lt;/b&gt; &amp; co</option>"
            )
        );
        assert!(page.contains("<script src=\"/observe/observer.js\" defer></script>"));
        assert!(page.contains("data-api=\"/api/v1/records?mode=per_record\""));
        assert!(!page.contains("{{"));
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains("script-src 'self'; connect-src 'self'"));
    }
}
