//! The end of the page: the published log the figures come from, its
//! witnesses, and the way to verify the figures.

use std::fmt::Write as _;

use crate::dashboard::data::DashboardData;
use crate::dashboard::html::{escape, link, number};

pub(super) fn log_state(body: &mut String, data: &DashboardData) {
    body.push_str("<section id=\"log\" class=\"log\">\n<h2>The log these figures come from</h2>\n");
    match &data.log {
        Ok(log) => {
            let _ = writeln!(
                body,
                "<dl class=\"log-state\"><div><dt>Log</dt><dd><code>{origin}</code></dd></div><div><dt>Tree size</dt><dd class=\"tree-size\" data-value=\"{size}\">{size_text}</dd></div><div><dt>Last checkpoint</dt><dd>{published}</dd></div><div><dt>Records not yet in a checkpoint</dt><dd>{pending}</dd></div><div class=\"wide\"><dt>Root hash</dt><dd class=\"hash\">{root}</dd></div></dl>",
                origin = escape(&log.origin),
                size = log.tree_size,
                size_text = number(log.tree_size as f64),
                published = escape(log.published_at.as_deref().unwrap_or("unknown")),
                pending = number(log.pending as f64),
                root = escape(&log.root_hash)
            );
            let witnesses: Vec<_> = log.witnesses().collect();
            if witnesses.is_empty() {
                body.push_str("<p class=\"witnesses none\">No witness has cosigned this checkpoint yet: only the operator vouches for it. Independent witnesses cosigning checkpoints are what keeps the operator from showing different histories to different people.</p>\n");
            } else {
                body.push_str("<h3>Cosigned by</h3><ul class=\"witnesses\">");
                for witness in witnesses {
                    let _ = write!(
                        body,
                        "<li><strong>{}</strong> <code>{}</code>{}</li>",
                        escape(&witness.key_name),
                        escape(&witness.key_id),
                        witness
                            .cosigned_at
                            .as_ref()
                            .map(|at| format!(" at {}", escape(at)))
                            .unwrap_or_default()
                    );
                }
                body.push_str("</ul>\n<p class=\"small muted\">Cosignatures are listed as published; <code>corridor verify --witness KEY</code> checks them against the witnesses' keys.</p>\n");
            }
        }
        Err(reason) => {
            let _ = writeln!(
                body,
                "<p class=\"log-missing\">No published checkpoint: {}. {} records are stored.</p>",
                escape(reason),
                number(data.stored_records as f64)
            );
        }
    }
    let selection = &data.selection;
    let from = selection.from_text();
    let to = selection.to_text();
    let _ = writeln!(
        body,
        "<p><a class=\"button\" href=\"{}\">How to verify these figures yourself →</a></p>\n</section>",
        link(
            "/dashboard/verify",
            &[
                ("from", Some(&from)),
                ("to", Some(&to)),
                ("site", selection.site.as_deref()),
            ],
        )
    );
}
