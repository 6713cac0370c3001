//! The verify page (`/dashboard/verify`): how anyone checks the dashboard's
//! figures without trusting this server — the log's public key, the current
//! checkpoint, and the `corridor verify` and `corridor report verify`
//! commands written out for the period being looked at.

use std::fmt::Write as _;

use super::data::LogState;
use super::html::{escape, number, page};

/// What the verify page shows.
#[derive(Debug, Clone)]
pub struct VerifyInfo {
    /// The log's verifier key (`keys/log.vkey`), if readable.
    pub vkey: Option<String>,
    /// The published checkpoint, or why there is none.
    pub log: Result<LogState, String>,
    /// The signed checkpoint as published.
    pub signed_checkpoint: Option<String>,
    /// Where this server publishes the log's files (`checkpoint`, `tile/...`), as a URL.
    pub log_path: Option<String>,
    /// The period and site the reader came from, to write the commands for.
    pub from: Option<String>,
    pub to: Option<String>,
    pub site: Option<String>,
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The verify page.
pub fn render_verify(info: &VerifyInfo) -> String {
    let mut body = String::new();
    body.push_str("<header class=\"page-header\"><p class=\"eyebrow\">Trust, but verify</p><h1>Check these figures yourself</h1><p class=\"period\">Every record behind the dashboard is a leaf of an append-only Merkle tree (RFC 6962), published as signed checkpoints and tiles (C2SP tlog-checkpoint, tlog-tiles). You need the log's files and its public key — nothing from this server's database.</p></header>\n");
    body.push_str("<section id=\"key\" class=\"verify-key\">\n<h2>1. The log's public key</h2>\n");
    match &info.vkey {
        Some(vkey) => {
            let _ = writeln!(
                body,
                "<pre class=\"command vkey\">{}</pre><p class=\"small muted\">Get this key from more than one place (the operator's website, a published report, a witness): a key handed to you only by the server you are checking proves little.</p>",
                escape(vkey.trim())
            );
        }
        None => body.push_str(
            "<p class=\"empty\">This server does not show its key; ask the operator for <code>keys/log.vkey</code>.</p>\n",
        ),
    }
    body.push_str("</section>\n");

    body.push_str("<section id=\"checkpoint\" class=\"verify-checkpoint\">\n<h2>2. The checkpoint the dashboard is computed at</h2>\n");
    match &info.log {
        Ok(log) => {
            let _ = writeln!(
                body,
                "<dl class=\"log-state\"><div><dt>Log</dt><dd><code>{}</code></dd></div><div><dt>Tree size</dt><dd class=\"tree-size\">{}</dd></div><div><dt>Published</dt><dd>{}</dd></div><div><dt>Witness cosignatures</dt><dd>{}</dd></div></dl>",
                escape(&log.origin),
                number(log.tree_size as f64),
                escape(log.published_at.as_deref().unwrap_or("unknown")),
                log.witnesses().count()
            );
            if log.pending > 0 {
                let _ = writeln!(
                    body,
                    "<p class=\"small\">{} stored records are not yet in a checkpoint; the next integration publishes them.</p>",
                    number(log.pending as f64)
                );
            }
        }
        Err(reason) => {
            let _ = writeln!(
                body,
                "<p class=\"empty\">No checkpoint is published yet ({}).</p>",
                escape(reason)
            );
        }
    }
    if let Some(signed) = &info.signed_checkpoint {
        let _ = writeln!(
            body,
            "<details><summary>The signed checkpoint</summary><pre class=\"command checkpoint\">{}</pre></details>",
            escape(signed)
        );
    }
    body.push_str("</section>\n");

    let log_argument = match &info.log_path {
        Some(address) => escape(address),
        None => "DIR".to_string(),
    };
    let vkey_argument = info
        .vkey
        .as_deref()
        .map_or("KEY".to_string(), |vkey| escape(&shell_quote(vkey.trim())));
    body.push_str("<section id=\"verify\" class=\"verify-steps\">\n<h2>3. Verify the log</h2>\n");
    let _ = writeln!(
        body,
        "<pre class=\"command\">corridor verify --log {log_argument} --vkey {vkey_argument}</pre>\n<p>This reads the checkpoint and every tile, checks the signature, recomputes the root from the leaves, and remembers the checkpoint, so the next run also proves that the log only grew (a consistency proof) and nothing was removed or rewritten. Add <code>--witness KEY --min-witnesses 1</code> to require independent cosignatures.</p>"
    );
    if info.log_path.is_none() {
        body.push_str("<p class=\"small muted\">DIR is a copy of the log's directory (<code>checkpoint</code>, <code>tile/</code>) as the operator publishes it, on disk or at an https:// address.</p>\n");
    }
    body.push_str("</section>\n");

    body.push_str(
        "<section id=\"report\" class=\"verify-report\">\n<h2>4. Re-derive the figures</h2>\n",
    );
    let mirror = match &info.log_path {
        Some(address) => format!("as published at <code>{}</code>", escape(address)),
        None => "as the operator publishes them".to_string(),
    };
    let mut report_command = String::from("corridor report");
    if let Some(from) = &info.from {
        let _ = write!(report_command, " --from {}", escape(from));
    } else {
        report_command.push_str(" --from YYYY-MM-DD");
    }
    if let Some(to) = &info.to {
        let _ = write!(report_command, " --to {}", escape(to));
    } else {
        report_command.push_str(" --to YYYY-MM-DD");
    }
    if let Some(site) = &info.site {
        let _ = write!(report_command, " --site {}", escape(&shell_quote(site)));
    }
    let _ = writeln!(
        body,
        "<p>The operator publishes period reports (JSON or a self-contained HTML page) that embed the signed checkpoint they were computed at:</p>\n<pre class=\"command\">{report_command} --format html -o REPORT.html</pre>\n<p>Anyone holding the report, the log and the key recomputes every figure from the leaves alone and is told which figure, if any, differs:</p>\n<pre class=\"command\">corridor report verify REPORT.html --log DIR --vkey {vkey_argument}</pre>\n<p class=\"small muted\">Here DIR is a copy on disk of the log's files ({mirror}: <code>checkpoint</code>, <code>tile/</code> with its entry bundles).</p>"
    );
    body.push_str("<p>A single record: <code>corridor log prove ID</code> gives a receipt (the record, its leaf index and an inclusion proof against a signed checkpoint), and <code>corridor verify receipt RECEIPT.json --vkey KEY</code> checks it offline. Observers get such a receipt for every tally they send.</p>\n</section>\n");
    page("Verify — Corridor", "verify", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_the_shell() {
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn the_commands_name_the_period_and_the_key() {
        let page = render_verify(&VerifyInfo {
            vkey: Some("demo+1234+AbCd\n".into()),
            log: Err("nothing integrated".into()),
            signed_checkpoint: None,
            log_path: None,
            from: Some("2022-12-12".into()),
            to: Some("2023-01-23".into()),
            site: Some("lachin-road".into()),
        });
        assert!(page.contains(
            "corridor report --from 2022-12-12 --to 2023-01-23 --site &#39;lachin-road&#39; --format html -o REPORT.html"
        ));
        assert!(page.contains(
            "corridor report verify REPORT.html --log DIR --vkey &#39;demo+1234+AbCd&#39;"
        ));
        assert!(page.contains("corridor verify --log DIR --vkey"));
        assert!(page.contains("No checkpoint is published yet (nothing integrated)"));
    }
}
