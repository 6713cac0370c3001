//! `corridor claims` (and reports): verdicts on public statements, computed
//! from the store and tied to the log checkpoint they were computed at.

use std::path::Path;

use anyhow::{Context, Result, bail};
use corridor_engine::DataDir;
use corridor_model::parse::parse_submission;
use corridor_model::{Body, Record};
use corridor_stats::claims::{ClaimVerdict, Verdict, check_claim};
use corridor_stats::snapshot::Snapshot;
use corridor_store::Store;
use serde::Serialize;
use serde_json::Value;

use crate::cli::{ClaimsCommand, ReportFormat};
use crate::commands::Completion;

/// The log state a computation refers to.
#[derive(Debug, Serialize)]
pub struct CheckpointRef {
    pub origin: String,
    pub tree_size: u64,
    /// Base64 root hash, as in the checkpoint.
    pub root_hash: String,
    /// Records stored but not yet in a checkpoint when the figures were computed.
    pub records_beyond_checkpoint: u64,
}

/// The latest checkpoint of a data directory's log, if one was published.
pub fn current_checkpoint(data_dir: &DataDir, store: &dyn Store) -> Result<Option<CheckpointRef>> {
    let reader = corridor_log::LogReader::new(data_dir.log_directory());
    let published = match reader.latest() {
        Ok(published) => published,
        Err(_) if !data_dir.log_directory().checkpoint_path().exists() => return Ok(None),
        Err(error) => return Err(error).context("reading the log's checkpoint"),
    };
    let checkpoint = published.checkpoint;
    let stored = store.leaf_count()?;
    // The third line of a checkpoint body is its base64 root hash (C2SP tlog-checkpoint).
    let root_line = checkpoint
        .to_text()
        .ok()
        .and_then(|text| text.lines().nth(2).map(str::to_string))
        .unwrap_or_default();
    Ok(Some(CheckpointRef {
        origin: checkpoint.origin.clone(),
        tree_size: checkpoint.tree_size,
        root_hash: root_line,
        records_beyond_checkpoint: stored.saturating_sub(checkpoint.tree_size),
    }))
}

#[derive(Debug, Serialize)]
struct ClaimsOutput {
    checkpoint: Option<CheckpointRef>,
    thresholds: corridor_stats::access::Thresholds,
    claims: Vec<ClaimVerdict>,
}

pub fn claims(root: &Path, command: ClaimsCommand) -> Result<Completion> {
    let ClaimsCommand::Check { target, format } = command;
    let data_dir = DataDir::open(root)?;
    let store = data_dir.open_store()?;
    let snapshot = Snapshot::load(&store)?;
    let claims = select_claims(&snapshot, target.as_deref())?;
    let thresholds = data_dir.config().access;
    let mut verdicts = Vec::with_capacity(claims.len());
    for claim in &claims {
        verdicts.push(check_claim(&store, &snapshot, claim, thresholds)?);
    }
    let output = ClaimsOutput { checkpoint: current_checkpoint(&data_dir, &store)?, thresholds, claims: verdicts };
    match format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&output)?),
        ReportFormat::Text => print!("{}", render_claims(&output)),
    }
    Ok(Completion::Clean)
}

/// Every stored claim, one by id, or claims read from a file.
fn select_claims(snapshot: &Snapshot, target: Option<&str>) -> Result<Vec<Record>> {
    let Some(target) = target else {
        if snapshot.claims.is_empty() {
            bail!("no claims are stored; add claim records (docs/records.md) or name a file of them");
        }
        return Ok(snapshot.claims.clone());
    };
    if let Some(claim) = snapshot.claims.iter().find(|claim| claim.id == target) {
        return Ok(vec![claim.clone()]);
    }
    let path = Path::new(target);
    if !path.is_file() {
        bail!("{target:?} is neither a stored claim id nor a file of claim records");
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let resolver = snapshot.site_resolver();
    let mut claims = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let location = format!("{}: line {}", path.display(), index + 1);
        let object = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => bail!("{location}: not a JSON object"),
            Err(error) => bail!("{location}: not valid JSON: {error}"),
        };
        let record = parse_submission(&object, &resolver)
            .map(|submission| submission.record)
            .map_err(|error| anyhow::anyhow!("{location}: {error}"))?;
        if !matches!(record.body, Body::Claim(_)) {
            bail!("{location}: a {} record, not a claim", record.record_type());
        }
        claims.push(record);
    }
    Ok(claims)
}

fn render_claims(output: &ClaimsOutput) -> String {
    let mut out = String::new();
    match &output.checkpoint {
        Some(checkpoint) => {
            out.push_str(&format!(
                "Computed at log {} tree size {} root {}",
                checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash
            ));
            if checkpoint.records_beyond_checkpoint > 0 {
                out.push_str(&format!(" ({} newer records not yet in the log)", checkpoint.records_beyond_checkpoint));
            }
            out.push('\n');
        }
        None => out.push_str("No log checkpoint has been published yet.\n"),
    }
    out.push_str(&format!("Access status rule: {}\n", output.thresholds.describe()));
    for claim in &output.claims {
        out.push('\n');
        out.push_str(&format!("{} — {} ({}, {})\n", claim.id, verdict_label(claim.verdict), claim.speaker, claim.said_on));
        out.push_str(&format!("  \"{}\"\n", claim.text));
        out.push_str(&format!("  source: {}\n", claim.source));
        for assertion in &claim.assertions {
            let described = describe_assertion(&assertion.assertion);
            out.push_str(&format!(
                "  - {described}: claimed {}, computed {} → {}\n",
                plain(&assertion.claimed),
                plain(&assertion.computed),
                verdict_label(assertion.verdict)
            ));
            out.push_str(&format!("    {}\n", assertion.reason));
            for site in &assertion.coverage {
                out.push_str(&format!(
                    "    coverage {}: {:.0}%{}\n",
                    site.site,
                    site.share * 100.0,
                    if site.sources.is_empty() { String::new() } else { format!(" (kept by: {})", site.sources.join("; ")) }
                ));
            }
            if !assertion.sources.is_empty() {
                out.push_str(&format!("    figures from: {}\n", assertion.sources.join("; ")));
            }
        }
    }
    out
}

fn verdict_label(verdict: Verdict) -> String {
    verdict.to_string().to_uppercase()
}

fn plain(value: &Value) -> String {
    match value {
        Value::Null => "no data".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `vehicles gt 850 (category peacekeeping, 2022-12-12..2023-01-23, sites lachin-road)`.
fn describe_assertion(assertion: &Value) -> String {
    let field = |name: &str| assertion.get(name).map(plain).unwrap_or_default();
    let mut filters = Vec::new();
    for name in ["category", "operator", "direction", "outcome", "cargo_kind"] {
        if let Some(value) = assertion.get(name) {
            filters.push(format!("{name} {}", plain(value)));
        }
    }
    filters.push(format!("{}..{}", field("from"), field("to")));
    if let Some(Value::Array(sites)) = assertion.get("sites") {
        let names: Vec<String> = sites.iter().map(plain).collect();
        filters.push(format!("sites {}", names.join(", ")));
    }
    format!("{} {} ({})", field("metric"), field("op"), filters.join(", "))
}
