//! Claim checking and report rendering over the statistics benchmark's store:
//! 1,000 claims with assorted filters (one in five by an attribute, which the
//! rollups do not hold), and a full HTML report for a 90-day period.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use corridor_engine::{Config, Writer};
use corridor_model::{Location, RecordError};
use corridor_stats::access::Thresholds;
use corridor_stats::claims::check_claim;
use corridor_stats::report::{ReportQuery, compute_report};
use corridor_stats::snapshot::Snapshot;
use corridor_store::{Store, StoreLocation};
use serde_json::{Value, json};

use crate::generate;
use crate::report::BenchResult;

const CLAIMS: usize = 1_000;

/// Runs on `stats.db` as the statistics benchmark left it.
pub fn run(scratch: &Path) -> Result<Vec<BenchResult>> {
    let path = scratch.join("stats.db");
    add_context_records(&path)?;
    let store = StoreLocation::Sqlite(path.clone()).open()?;
    let snapshot = Snapshot::load(&store)?;
    let resolver = snapshot.site_resolver();
    let claims: Vec<corridor_model::Record> = (0..CLAIMS)
        .map(|index| {
            let object = match claim(index) {
                Value::Object(object) => object,
                _ => serde_json::Map::new(),
            };
            corridor_model::parse_submission(&object, &resolver).map(|submission| submission.record)
        })
        .collect::<Result<_, _>>()
        .map_err(|error| anyhow::anyhow!("benchmark claim rejected: {error}"))?;

    let started = Instant::now();
    let mut consistent = 0;
    for claim in &claims {
        let verdict = check_claim(&store, &snapshot, claim, Thresholds::default())?;
        if verdict.verdict == corridor_stats::claims::Verdict::Consistent {
            consistent += 1;
        }
    }
    let claims_per_second = CLAIMS as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(
        consistent > 0,
        "no benchmark claim was consistent: the claims do not exercise the data"
    );

    let started = Instant::now();
    let query = ReportQuery {
        from: "2022-11-15".into(),
        to: "2023-02-12".into(),
        sites: vec![generate::SITES[0].0.to_string()],
    };
    let report = compute_report(&store, &query, Thresholds::default(), None, Vec::new())?;
    let html = corridor_stats::report_html::render_html(&report);
    let report_ms = started.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(html.len() > 1_000, "the report is suspiciously short");
    Ok(vec![
        BenchResult::plain(
            "claims_per_s",
            claims_per_second,
            "claims/s",
            "1,000 claims over the stats store; one in five filtered by an attribute (passage index, not rollups)",
        ),
        BenchResult::plain(
            "report_html_ms",
            report_ms,
            "ms",
            "compute and render a 90-day HTML report for one site",
        ),
    ])
}

/// Sites, coverage and a baseline, so claims and reports have context.
fn add_context_records(path: &Path) -> Result<()> {
    let store = StoreLocation::Sqlite(path.to_path_buf()).open()?;
    if store.current(generate::SITES[0].0)?.is_some() {
        return Ok(());
    }
    let mut writer = Writer::new(
        store,
        Config::new("bench.invalid/analysis"),
        b"bench".to_vec(),
        None,
    );
    let mut records: Vec<Value> = generate::sites();
    for (site, _) in generate::SITES {
        records.push(json!({"type": "coverage", "id": format!("coverage-{site}"), "site": site, "start": "2022-11-01", "end": "2023-01-31",
            "mode": "continuous_watch", "metrics": ["vehicles", "passages"], "source": {"kind": "direct_observation", "name": "bench observers"}, "recorded_by": "bench"}));
        records.push(json!({"type": "baseline", "id": format!("baseline-{site}"), "site": site, "metric": "vehicles", "direction": "both",
            "per_day": 5000, "source": {"kind": "document", "name": "bench baseline"}, "recorded_by": "bench"}));
    }
    let items = records
        .into_iter()
        .enumerate()
        .map(|(index, record)| -> Result<_, RecordError> {
            match record {
                Value::Object(object) => Ok((Location::Item(index as u64), object)),
                _ => Ok((Location::Item(index as u64), serde_json::Map::new())),
            }
        });
    let mut rejected = Vec::new();
    writer
        .submit_all(items, |error| rejected.push(error.to_string()), |_| {})
        .map_err(|failure| anyhow::anyhow!("{failure}"))?;
    anyhow::ensure!(
        rejected.is_empty(),
        "context records rejected: {rejected:?}"
    );
    Ok(())
}

/// The `index`-th benchmark claim: a deterministic mix of metrics, comparisons,
/// periods, sites and filters.
fn claim(index: usize) -> Value {
    let site = generate::SITES[index % 3].0;
    let start = 1 + (index * 7) % 60;
    let from = jiff::civil::Date::constant(2022, 11, 1)
        .checked_add(jiff::Span::new().days(start as i64))
        .unwrap_or(jiff::civil::Date::constant(2022, 11, 1));
    let to = from
        .checked_add(jiff::Span::new().days(10 + (index % 40) as i64))
        .unwrap_or(from);
    let metric = ["vehicles", "passages", "passengers"][index % 3];
    let op = ["gte", "lte", "eq", "approx", "gt"][index % 5];
    let mut assertion = json!({
        "metric": metric,
        "op": op,
        "value": (index * 37) % 5_000,
        "from": from.strftime("%Y-%m-%d").to_string(),
        "to": to.strftime("%Y-%m-%d").to_string(),
        "sites": [site],
    });
    if index.is_multiple_of(2) {
        assertion["category"] = json!(generate::CATEGORIES[index % generate::CATEGORIES.len()]);
    }
    if index.is_multiple_of(5) {
        assertion["attributes"] = json!({"flag": "TR"});
    }
    json!({"type": "claim", "id": format!("bench-claim-{index}"), "text": "benchmark claim", "speaker": "bench", "said_on": "2023-03-01",
           "assertions": [assertion], "source": {"kind": "media_report", "name": "bench"}, "recorded_by": "bench"})
}
