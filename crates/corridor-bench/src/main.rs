//! Corridor's benchmark runner: `cargo run --release -p corridor-bench -- --scale small|full`.
//!
//! Every figure is measured beside a raw baseline in the same run (plain SQLite
//! inserts into the same schema, a plain SQL scan), so the printed ratio holds
//! on a noisy shared machine where absolute times do not. Results go to a
//! table on stdout and to `target/bench/results.json`.

mod analysis;
mod dashboard;
mod generate;
mod http;
mod ingest;
mod log;
mod objstore;
mod postgres;
mod report;
mod stats;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};

use report::BenchResult;

/// Runs every benchmark and writes the results.
#[derive(Debug, Parser)]
#[command(name = "corridor-bench")]
struct Arguments {
    /// small: minutes on a laptop; full: 10M passages, run by hand
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    scale: Scale,
    /// Where to write results.json
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Scratch directory for the stores (default: a temporary directory)
    #[arg(long)]
    scratch: Option<PathBuf>,
    /// Run only these benchmarks (import, stats, analysis, log, objstore, http, dashboard, postgres); default all
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scale {
    /// A few records, for the test suite: checks the runner works, measures nothing meaningful.
    Tiny,
    Small,
    Full,
}

/// How many records each benchmark uses at a scale.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub import_passages: u64,
    pub stats_passages: u64,
    pub log_leaves: u64,
    pub http_records: u64,
    pub http_signed_records: u64,
    /// Leaves integrated into a bucket at once, and seconds of arrivals.
    pub objstore_leaves: u64,
    pub objstore_arrival_seconds: u64,
    /// Records posted in each PostgreSQL ingest run, and kills of the
    /// integrating server (the dashboard uses `stats_passages`).
    pub postgres_records: u64,
    pub postgres_takeovers: usize,
}

impl Scale {
    fn sizes(self) -> Sizes {
        match self {
            Scale::Tiny => Sizes {
                import_passages: 2_000,
                stats_passages: 5_000,
                log_leaves: 3_000,
                http_records: 4_000,
                http_signed_records: 1_000,
                objstore_leaves: 2_000,
                objstore_arrival_seconds: 3,
                postgres_records: 4_000,
                postgres_takeovers: 2,
            },
            Scale::Small => Sizes {
                import_passages: 200_000,
                stats_passages: 1_000_000,
                log_leaves: 1_000_000,
                http_records: 200_000,
                http_signed_records: 50_000,
                objstore_leaves: 100_000,
                objstore_arrival_seconds: 20,
                postgres_records: 200_000,
                postgres_takeovers: 20,
            },
            Scale::Full => Sizes {
                import_passages: 1_000_000,
                stats_passages: 10_000_000,
                log_leaves: 10_000_000,
                http_records: 1_000_000,
                http_signed_records: 200_000,
                objstore_leaves: 1_000_000,
                objstore_arrival_seconds: 60,
                postgres_records: 1_000_000,
                postgres_takeovers: 50,
            },
        }
    }
}

fn main() -> Result<()> {
    let arguments = Arguments::parse();
    let sizes = arguments.scale.sizes();
    let scratch_holder;
    let scratch = match &arguments.scratch {
        Some(path) => {
            std::fs::create_dir_all(path)
                .with_context(|| format!("creating {}", path.display()))?;
            path.clone()
        }
        None => {
            scratch_holder = tempfile::tempdir().context("creating a scratch directory")?;
            scratch_holder.path().to_path_buf()
        }
    };
    if arguments.scale == Scale::Full {
        report::require_free_disk(&scratch, 12 * 1024 * 1024 * 1024)?;
    }
    let wanted =
        |name: &str| arguments.only.is_empty() || arguments.only.iter().any(|only| only == name);
    let mut results: Vec<BenchResult> = Vec::new();
    if wanted("import") {
        eprintln!(
            "import: {} passages from JSON Lines ...",
            sizes.import_passages
        );
        results.extend(ingest::run(&scratch, sizes.import_passages)?);
    }
    if wanted("stats") || wanted("analysis") {
        eprintln!(
            "stats: 43-day query over {} passages ...",
            sizes.stats_passages
        );
        results.extend(stats::run(&scratch, sizes.stats_passages)?);
    }
    if wanted("log") {
        eprintln!(
            "log: integrating and verifying {} leaves ...",
            sizes.log_leaves
        );
        results.extend(log::run(&scratch, sizes.log_leaves)?);
    }
    if wanted("objstore") {
        eprintln!(
            "objstore: integrating {} leaves into an S3 bucket, then {} s of arrivals ...",
            sizes.objstore_leaves, sizes.objstore_arrival_seconds
        );
        results.extend(objstore::run(
            sizes.objstore_leaves,
            sizes.objstore_arrival_seconds,
        )?);
    }
    if wanted("http") {
        eprintln!(
            "http: {} records in batches of 1,000 through the server on loopback, then {} signed ...",
            sizes.http_records, sizes.http_signed_records
        );
        results.extend(http::run(
            &scratch,
            sizes.http_records,
            sizes.http_signed_records,
        )?);
    }
    if wanted("dashboard") {
        eprintln!(
            "dashboard: {} passages stored and published, then the 43-day page ...",
            sizes.stats_passages
        );
        results.extend(dashboard::run(&scratch, sizes.stats_passages)?);
    }
    if wanted("postgres") {
        eprintln!(
            "postgres: {} records through one server and through two, the raw INSERT floor, {} takeovers, the dashboard over {} passages ...",
            sizes.postgres_records, sizes.postgres_takeovers, sizes.stats_passages
        );
        results.extend(postgres::run(
            &scratch,
            postgres::PostgresSizes {
                ingest_records: sizes.postgres_records,
                takeovers: sizes.postgres_takeovers,
                dashboard_passages: sizes.stats_passages,
            },
        )?);
        postgres::compare_dashboards(&mut results);
    }
    if wanted("analysis") {
        eprintln!(
            "analysis: 1,000 claims and a 90-day report over {} passages ...",
            sizes.stats_passages
        );
        results.extend(analysis::run(&scratch)?);
    }
    print!("{}", report::table(&results));
    let path = report::write_json(&arguments.out, &results)?;
    eprintln!("results written to {}", path.display());
    Ok(())
}
