//! The benchmark runner works at a tiny scale and writes well-formed results.
//! Benchmarks never decide whether the test suite passes: this checks the
//! runner and the shape of `results.json`, not the figures.

use std::process::Command;

use serde_json::Value;

/// The names issue 6 requires in `results.json`, each with a finite,
/// positive value and a named baseline.
const REQUIRED: [&str; 14] = [
    "import_records_per_s",
    "import_vs_sqlite_ratio",
    "stats_query_ms",
    "stats_vs_scan_speedup",
    "integrate_vs_sha256_ratio",
    "verify_vs_sha256_ratio",
    "inclusion_proof_us",
    "http_ingest_records_per_s",
    "ack_to_checkpoint_p99_ms",
    "dashboard_ms",
    "claims_per_s",
    "peak_rss_mb_import",
    "peak_rss_mb_server",
    "bytes_per_passage",
];

#[test]
fn the_runner_writes_every_named_result_with_its_baseline() {
    let directory = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_corridor-bench"))
        .args(["--scale", "tiny", "--out"])
        .arg(directory.path().join("out"))
        .arg("--scratch")
        .arg(directory.path().join("scratch"))
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text =
        std::fs::read_to_string(directory.path().join("out/results.json")).expect("results.json");
    let results: Vec<Value> = serde_json::from_str(&text).expect("a JSON list");
    for name in REQUIRED {
        let result = results
            .iter()
            .find(|result| result["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {text}"));
        for key in [
            "name",
            "value",
            "unit",
            "baseline",
            "baseline_value",
            "ratio",
            "target",
            "met",
        ] {
            assert!(result.get(key).is_some(), "{name} lacks {key}");
        }
        assert!(
            result["value"]
                .as_f64()
                .is_some_and(|value| value.is_finite() && value > 0.0),
            "{name}: {}",
            result["value"]
        );
        for optional_number in ["baseline_value", "ratio"] {
            assert!(
                result[optional_number].is_null()
                    || result[optional_number].as_f64().is_some_and(f64::is_finite),
                "{name}: {optional_number} is {}",
                result[optional_number]
            );
        }
        assert!(
            !result["baseline"].as_str().unwrap_or_default().is_empty(),
            "{name} names no baseline"
        );
    }
    let ratio = results
        .iter()
        .find(|result| result["name"] == "import_vs_sqlite_ratio")
        .expect("ratio");
    assert!(
        ratio["baseline"]
            .as_str()
            .is_some_and(|baseline| baseline.contains("INSERT INTO records")),
        "the baseline's SQL is written into the results"
    );
    // The size on disk counts the published log, not the store alone.
    let size = |name: &str| {
        results
            .iter()
            .find(|result| result["name"] == name)
            .and_then(|result| result["value"].as_f64())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert!(size("bytes_per_passage_log") > 32.0, "{text}");
    assert!(
        (size("bytes_per_passage")
            - size("bytes_per_passage_store")
            - size("bytes_per_passage_log"))
        .abs()
            < 0.01,
        "{text}"
    );
    // The PostgreSQL figures are always there: measured, or marked missing
    // (no PostgreSQL or no `corridor` binary here), which counts as unmet.
    // Where PostgreSQL is required (CI), they must be measured.
    let postgres_required =
        std::env::var("CORRIDOR_REQUIRE_POSTGRES").is_ok_and(|value| value == "1");
    for name in [
        "pg_ingest_records_per_s",
        "pg_ingest_records_per_s_2_servers",
        "pg_raw_insert_rows_per_s",
        "pg_ingest_vs_raw_ratio",
        "pg_takeover_p50_ms",
        "pg_takeover_p99_ms",
        "pg_ack_to_checkpoint_p99_ms",
        "pg_dashboard_ms",
    ] {
        let result = results
            .iter()
            .find(|result| result["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {text}"));
        let baseline = result["baseline"].as_str().unwrap_or_default();
        let measured = result["value"].as_f64().is_some_and(|value| value > 0.0);
        assert!(
            measured || (baseline.starts_with("MISSING") && result["met"] == false),
            "{name} is neither measured nor marked missing: {result}"
        );
        assert!(
            measured || !postgres_required,
            "{name} was not measured, and CORRIDOR_REQUIRE_POSTGRES=1: {result}"
        );
    }
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("import_vs_sqlite_ratio") && table.contains("target"),
        "{table}"
    );
}
