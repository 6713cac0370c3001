//! `corridor check`: looks for corruption in a data directory (see
//! `corridor_engine::check`) and says exactly what differs. Glue.

use std::path::Path;

use anyhow::{Result, bail};
use corridor_engine::{CheckReport, DataDir};
use serde_json::json;

use crate::Completion;
use crate::cli::SummaryFormat;

pub fn check(root: &Path, recent: Option<u64>, format: SummaryFormat) -> Result<Completion> {
    let data_dir = DataDir::open(root)?;
    let report = match recent {
        Some(recent) => data_dir.check_recent(recent)?,
        None => data_dir.check()?,
    };
    let what = match recent {
        Some(recent) => format!("the latest checkpoint and the last {recent} published records"),
        None => "every published record, the log's files and the rollups".to_string(),
    };
    match format {
        SummaryFormat::Json => println!(
            "{}",
            json!({
                "checked": what,
                "tree_size": report.tree_size,
                "stored_records": report.stored_leaves,
                "records_compared": report.leaves_compared,
                "unpublished": report.unpublished(),
                "problems": report.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "more_problems": report.omitted,
            })
        ),
        SummaryFormat::Text if report.is_clean() => {
            println!(
                "{}: OK: checked {what}; {} records compared with the log of {} leaves",
                root.display(),
                report.leaves_compared,
                report.tree_size
            );
            if report.unpublished() > 0 {
                println!(
                    "{} stored records are not published yet; `corridor log integrate` publishes them",
                    report.unpublished()
                );
            }
        }
        SummaryFormat::Text => {}
    }
    if !report.is_clean() {
        bail!("{}", failure_message(root, &report));
    }
    Ok(Completion::Clean)
}

fn failure_message(root: &Path, report: &CheckReport) -> String {
    let mut message = format!(
        "the data directory {} FAILED the check ({} problem{}):",
        root.display(),
        report.problems.len() as u64 + report.omitted,
        if report.problems.len() as u64 + report.omitted == 1 {
            ""
        } else {
            "s"
        }
    );
    for problem in &report.problems {
        message.push_str("\n  ");
        message.push_str(&problem.to_string().replace('\n', "\n    "));
    }
    if report.omitted > 0 {
        message.push_str(&format!("\n  ... and {} more", report.omitted));
    }
    message
}
