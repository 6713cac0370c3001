//! `corridor claims` (and reports): verdicts on public statements, computed
//! from the store and tied to the log checkpoint they were computed at.

use std::path::Path;

use anyhow::{Context, Result, bail};
use corridor_engine::DataDir;
use corridor_model::jsonl::JsonLines;
use corridor_model::parse::parse_submission;
use corridor_model::{AssertedValue, Assertion, Body, Record};
use corridor_stats::claims::{ClaimVerdict, Verdict, check_claim};
use corridor_stats::snapshot::Snapshot;
use corridor_store::Store;
use serde::Serialize;
use serde_json::Value;

use crate::Completion;
use crate::cli::{ClaimsCommand, ReportFileFormat, ReportFormat};
use crate::output::base64;
use corridor_stats::report::{ReportCheckpoint, ReportQuery, compute_report};

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
    let reader = corridor_log::LogReader::new(data_dir.log()?);
    let published = match reader.latest() {
        Ok(published) => published,
        Err(corridor_log::ProofError::NothingPublished) => return Ok(None),
        Err(error) => return Err(error).context("reading the log's checkpoint"),
    };
    let checkpoint = published.checkpoint;
    let stored = store.leaf_count()?;
    let root_line = base64(&checkpoint.root_hash);
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
    let output = ClaimsOutput {
        checkpoint: current_checkpoint(&data_dir, &store)?,
        thresholds,
        claims: verdicts,
    };
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
            bail!(
                "no claims are stored; add claim records (docs/records.md) or name a file of them"
            );
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
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let resolver = snapshot.site_resolver();
    let mut claims = Vec::new();
    // The same reader as `corridor add`: the same lines give the same
    // records, or the same errors (a key given twice among them).
    for line in JsonLines::new(std::io::BufReader::new(file)) {
        let (location, object) =
            match line.with_context(|| format!("reading {}", path.display()))? {
                Ok(item) => item,
                Err(error) => bail!("{}: {error}", path.display()),
            };
        let location = format!("{}: {location}", path.display());
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
                out.push_str(&format!(
                    " ({} newer records not yet in the log)",
                    checkpoint.records_beyond_checkpoint
                ));
            }
            out.push('\n');
        }
        None => out.push_str("No log checkpoint has been published yet.\n"),
    }
    out.push_str(&format!(
        "Access status rule: {}\n",
        output.thresholds.describe()
    ));
    for claim in &output.claims {
        out.push('\n');
        out.push_str(&format!(
            "{} — {} ({}, {})\n",
            claim.id,
            verdict_label(claim.verdict),
            claim.speaker,
            claim.said_on
        ));
        out.push_str(&format!("  \"{}\"\n", claim.text));
        out.push_str(&format!("  source: {}\n", claim.source));
        for assertion in &claim.assertions {
            let described = describe_assertion(&assertion.assertion);
            out.push_str(&format!(
                "  - {described}: claimed {}, computed {} → {}\n",
                claimed_text(&assertion.claimed),
                assertion
                    .computed
                    .as_ref()
                    .map_or_else(|| "no data".to_string(), ToString::to_string),
                verdict_label(assertion.verdict)
            ));
            out.push_str(&format!("    {}\n", assertion.reason));
            for site in &assertion.coverage {
                out.push_str(&format!(
                    "    coverage {}: {:.0}%{}\n",
                    site.site,
                    site.share * 100.0,
                    if site.sources.is_empty() {
                        String::new()
                    } else {
                        format!(" (kept by: {})", site.sources.join("; "))
                    }
                ));
            }
            if !assertion.sources.is_empty() {
                out.push_str(&format!(
                    "    figures from: {}\n",
                    assertion.sources.join("; ")
                ));
            }
        }
    }
    out
}

fn verdict_label(verdict: Verdict) -> String {
    verdict.to_string().to_uppercase()
}

/// A claimed value as the JSON writes it, without quotes: `850`, `open`.
fn claimed_text(claimed: &AssertedValue) -> String {
    match claimed {
        AssertedValue::Number(number) => corridor_stats::numbers::figure_json(*number).to_string(),
        AssertedValue::Status(status) => status.as_str().to_string(),
    }
}

/// `vehicles gt 850 (category peacekeeping, 2022-12-12..2023-01-23, sites lachin-road)`.
fn describe_assertion(assertion: &Assertion) -> String {
    let named = [
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
    let mut filters: Vec<String> = named
        .iter()
        .filter_map(|(name, value)| value.map(|value| format!("{name} {value}")))
        .collect();
    filters.push(format!("{}..{}", assertion.from, assertion.to));
    if !assertion.sites.is_empty() {
        filters.push(format!("sites {}", assertion.sites.join(", ")));
    }
    format!(
        "{} {} ({})",
        assertion.metric,
        assertion.op,
        filters.join(", ")
    )
}

/// `corridor report`: compute a period report, or verify one (`report verify`).
pub fn report(root: &Path, arguments: crate::cli::ReportArgs) -> Result<Completion> {
    if let Some(crate::cli::ReportCommand::Verify { report, log, vkey }) = arguments.command {
        return verify_report(&report, &log, &vkey);
    }
    let (Some(from), Some(to)) = (arguments.from, arguments.to) else {
        bail!("give the period with --from and --to (YYYY-MM-DD), or use `corridor report verify`");
    };
    let data_dir = DataDir::open(root)?;
    let store = data_dir.open_store()?;
    let checkpoint = checkpoint_covering_store(&data_dir, &store)?;
    let tree_size = checkpoint.tree_size;
    let query = ReportQuery {
        from,
        to,
        sites: arguments.sites,
    };
    let report = compute_report(
        &store,
        &query,
        data_dir.config().access,
        Some(checkpoint),
        Vec::new(),
    )?;
    // Records are only ever added: if the count still equals the checkpoint's
    // size, nothing was added while the figures were read.
    if store.leaf_count()? != tree_size {
        bail!(
            "records were stored while the report was computed, so its figures may not match its checkpoint; run the report again"
        );
    }
    let text = match arguments.format {
        ReportFileFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
        ReportFileFormat::Csv => corridor_stats::report_html::render_csv(&report),
        ReportFileFormat::Html => corridor_stats::report_html::render_html(&report),
    };
    match &arguments.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("report written to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(Completion::Clean)
}

/// The latest signed checkpoint, which must cover every stored record: a
/// report counts exactly the records below its checkpoint. Records stored
/// but not yet published are published first, when no other process is
/// writing.
fn checkpoint_covering_store(data_dir: &DataDir, store: &dyn Store) -> Result<ReportCheckpoint> {
    let stored = store.leaf_count()?;
    let reader = corridor_log::LogReader::new(data_dir.log()?);
    let published = reader.latest().ok();
    let up_to_date = published
        .as_ref()
        .is_some_and(|published| published.checkpoint.tree_size == stored);
    let published = if up_to_date {
        published
    } else {
        let writer = data_dir
            .writer("corridor report")
            .context("records are stored that the log has not published yet, and publishing them needs the writer lock")?;
        data_dir.integrate_log(&writer)?;
        drop(writer);
        Some(
            reader
                .latest()
                .context("reading the checkpoint just published")?,
        )
    };
    let Some(published) = published else {
        bail!("the log has no checkpoint")
    };
    let checkpoint = published.checkpoint;
    if checkpoint.tree_size != stored {
        bail!(
            "the log's checkpoint covers {} records but {stored} are stored; try again",
            checkpoint.tree_size
        );
    }
    Ok(ReportCheckpoint {
        origin: checkpoint.origin.clone(),
        tree_size: checkpoint.tree_size,
        root_hash: base64(&checkpoint.root_hash),
        signed_note: published.signed,
    })
}

/// Reads a report from its JSON or from the JSON its HTML page carries.
fn read_report(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let json_text = if text.trim_start().starts_with('{') {
        text
    } else {
        corridor_stats::report_html::extract_embedded_json(&text).with_context(|| {
            format!(
                "{} carries no report JSON (expected a script element with id corridor-report)",
                path.display()
            )
        })?
    };
    serde_json::from_str(&json_text)
        .with_context(|| format!("{} is not a report's JSON", path.display()))
}

fn verify_report(report_path: &Path, log: &str, vkey: &str) -> Result<Completion> {
    let published = read_report(report_path)?;
    let key = corridor_log::verifier_key_from_argument(vkey).context("--vkey")?;
    let checkpoint_value = published.get("checkpoint").cloned().unwrap_or(Value::Null);
    let embedded: ReportCheckpoint = serde_json::from_value(checkpoint_value)
        .context("the report embeds no checkpoint, so it cannot be tied to a log")?;
    let opened = corridor_tlog::Checkpoint::open(
        embedded.signed_note.as_bytes(),
        std::slice::from_ref(&key),
    )
    .context("the report's checkpoint is not signed by this key")?;
    let checkpoint = opened.checkpoint;
    if checkpoint.origin != key.name().as_str() {
        bail!(
            "the report's checkpoint is for log {:?}, but the key is {:?}'s",
            checkpoint.origin,
            key.name().as_str()
        );
    }
    if checkpoint.tree_size != embedded.tree_size || checkpoint.origin != embedded.origin {
        bail!("the report's checkpoint fields do not match its signed note");
    }
    if log.starts_with("http://") || log.starts_with("https://") {
        bail!(
            "--log {log}: reading a log over HTTP is not supported yet; download its directory and give the path"
        );
    }
    let leaves = corridor_log::open_log(log)
        .map_err(anyhow::Error::from)
        .and_then(|log| {
            Ok(corridor_log::read_leaves(
                log.as_ref(),
                checkpoint.tree_size,
                &checkpoint.root_hash,
            )?)
        })
        .with_context(|| {
            format!(
                "reading the first {} leaves of the log in {log}",
                checkpoint.tree_size
            )
        })?;
    eprintln!(
        "checkpoint signature verified; {} leaves read and their root matches; recomputing ...",
        leaves.len()
    );

    // Rebuild the records from the leaves alone and compute the same report.
    // Old leaves are replayed under the rules they were logged with.
    let mut writer = corridor_engine::Writer::new(
        Box::new(corridor_store::MemoryStore::new()),
        corridor_engine::Config::new(checkpoint.origin.clone()),
        Vec::new(),
        None,
    )
    .replaying_leaves();
    let mut replay_errors = Vec::new();
    let items = leaves.iter().enumerate().map(|(index, leaf)| {
        let location = corridor_model::Location::Item(index as u64);
        let record = serde_json::from_slice::<Value>(leaf)
            .ok()
            .and_then(|leaf| leaf.get("record").cloned())
            .and_then(|record| match record {
                Value::Object(object) => Some(object),
                _ => None,
            });
        record
            .map(|object| (location.clone(), object))
            .ok_or_else(|| corridor_model::RecordError {
                location,
                record_type: None,
                id: None,
                error: corridor_model::FieldError {
                    field: "record".into(),
                    reason: "the leaf holds no record object".into(),
                },
            })
    });
    writer
        .submit_all(items, |error| replay_errors.push(error.to_string()), |_| {})
        .map_err(|failure| anyhow::anyhow!("{failure}"))?;
    if let Some(first) = replay_errors.first() {
        bail!(
            "{} leaves could not be replayed; first: {first}",
            replay_errors.len()
        );
    }
    let query: ReportQuery =
        serde_json::from_value(published.get("query").cloned().unwrap_or(Value::Null))
            .context("the report has no query")?;
    let thresholds: corridor_stats::access::Thresholds =
        serde_json::from_value(published.get("thresholds").cloned().unwrap_or(Value::Null))
            .context("the report has no thresholds")?;
    let recomputed = compute_report(
        writer.store(),
        &query,
        thresholds,
        Some(embedded),
        Vec::new(),
    )?;
    let recomputed = Value::Object(corridor_stats::report::report_json_as_published(
        &recomputed,
        &published,
    )?);
    let differences = corridor_stats::report::differing_figures(&recomputed, &published);
    if differences.is_empty() {
        println!(
            "report verified: every figure matches the log {} at tree size {} ({} records replayed)",
            checkpoint.origin,
            checkpoint.tree_size,
            leaves.len()
        );
        return Ok(Completion::Clean);
    }
    for difference in &differences {
        eprintln!("mismatch: {difference}");
    }
    bail!(
        "{} figures of the report do not match the log",
        differences.len()
    )
}
