//! The dashboard over a large store: the page of a 43-day period, served by
//! `corridor serve` over loopback, once the store holds the benchmark's
//! passages (1M at `--scale small`, 10M at `--scale full`), beside a raw SQL
//! scan of the same period in the same store.
//!
//! The passages go in the way `corridor add` puts them (validated by the
//! writer, published in the log), so the server starts on a data directory
//! like any other.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use corridor_engine::{Config, DataDir};
use corridor_model::Location;
use serde_json::Value;

use crate::generate;
use crate::http::{BenchServer, Connection, percentile};
use crate::report::BenchResult;
use crate::stats::{RAW_SCAN, raw_scan};

/// The dashboard period: 43 days, as the target is stated.
pub(crate) const PAGE: &str = "/?from=2022-12-12&to=2023-01-23";

/// Loads `passages` passages into a new data directory under `scratch`,
/// serves it, and times the dashboard page against a raw scan.
///
/// # Errors
///
/// A refused record, a failed store or server, or a page that is not 200.
pub fn run(scratch: &Path, passages: u64) -> Result<Vec<BenchResult>> {
    let root = scratch.join("dashboard-store");
    let dashboard_ms = load_and_time_page(&root, Config::new("bench.invalid/dashboard"), passages)?;

    let connection = rusqlite::Connection::open(root.join("store.db"))?;
    let first = jiff::civil::Date::constant(2022, 12, 12);
    let last = jiff::civil::Date::constant(2023, 1, 23);
    let mut scan_ms = Vec::with_capacity(3);
    for _ in 0..3 {
        let started = Instant::now();
        std::hint::black_box(raw_scan(&connection, first, last)?);
        scan_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    scan_ms.sort_by(f64::total_cmp);
    let scan_ms = percentile(&scan_ms, 0.5);
    let _ = std::fs::remove_dir_all(&root);

    Ok(vec![BenchResult {
        baseline_value: Some(scan_ms),
        ratio: Some(scan_ms / dashboard_ms.max(1e-9)),
        ..BenchResult::plain(
            "dashboard_ms",
            dashboard_ms,
            "ms",
            &format!(
                "GET {PAGE} (median of 7, no token) from `corridor serve` over {passages} passages \
                 (the target is for 10M, `--scale full`); \
                 baseline and ratio: the raw scan of the same 43 days in the same store, {RAW_SCAN}"
            ),
        )
        .below(100.0)
    }])
}

/// Makes a data directory at `root` with `config` (whose `[store] url`
/// decides the backend), loads the sites and `passages` passages through
/// the writer as `corridor add` does, publishes them, serves the directory
/// and returns the median of seven loads of the dashboard page, in ms.
///
/// # Errors
///
/// A refused record, a failed store or server, or a page that is not 200.
pub(crate) fn load_and_time_page(root: &Path, config: Config, passages: u64) -> Result<f64> {
    let _ = std::fs::remove_dir_all(root);
    let data_dir = DataDir::init(root, config)?;
    let mut writer = data_dir.writer("bench dashboard")?;
    let records = generate::sites()
        .into_iter()
        .chain((0..passages).map(|index| generate::passage(index, passages)))
        .enumerate()
        .filter_map(|(index, record)| match record {
            Value::Object(object) => Some(Ok((Location::Item(index as u64), object))),
            _ => None,
        });
    let mut rejected = 0_u64;
    writer
        .submit_all(records, |_| rejected += 1, |_| {})
        .map_err(|failure| anyhow::anyhow!("{failure}"))?;
    if rejected > 0 {
        bail!("{rejected} generated records were refused");
    }
    data_dir.integrate_log(&writer)?;
    drop(writer);

    let server = BenchServer::start(root)?;
    let mut connection = Connection::open(server.address)?;
    // The median of seven; the first request finds the caches cold.
    let mut page_ms = Vec::with_capacity(7);
    for _ in 0..7 {
        let started = Instant::now();
        let (status, page) = connection.request("GET", PAGE, "", &[])?;
        page_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        if status != 200 {
            bail!(
                "the dashboard of {} answered {status}: {}",
                root.display(),
                String::from_utf8_lossy(&page)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
    }
    server.stop()?;
    page_ms.sort_by(f64::total_cmp);
    Ok(percentile(&page_ms, 0.5))
}
