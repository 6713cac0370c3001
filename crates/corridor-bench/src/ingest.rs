//! Bulk import from JSON Lines through the real write pipeline, against plain
//! SQLite inserts of the same rows into the same schema.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use corridor_engine::{BATCH_SIZE, Config, DataDir};
use corridor_model::jsonl::JsonLines;
use corridor_store::sqlite::{INSERT_CURRENT, INSERT_PASSAGE, INSERT_RECORD, PRAGMAS, SCHEMA};
use rusqlite::{Connection, params};

use crate::generate;
use crate::report::BenchResult;

pub fn run(scratch: &Path, passages: u64) -> Result<Vec<BenchResult>> {
    let input = scratch.join("passages.jsonl");
    write_input(&input, passages)?;
    let root = scratch.join("import-store");
    let _ = std::fs::remove_dir_all(&root);
    let data_dir = DataDir::init(&root, Config::new("bench.invalid/import"))?;

    // Peak memory of this phase only, whatever ran in the process before.
    let memory = PhaseMemory::start();
    // Measured: reading, parsing, validating, canonicalizing and committing, as `corridor add` does.
    let started = Instant::now();
    let mut writer = data_dir.writer("bench import")?;
    let reader = BufReader::with_capacity(1 << 16, std::fs::File::open(&input)?);
    let mut rejected = 0_u64;
    let mut read_error = None;
    // The reader `corridor add` uses (duplicate keys checked as it parses).
    let lines = JsonLines::new(reader)
        .map_while(|line| line.map_err(|error| read_error = Some(error)).ok());
    let summary = writer
        .submit_all(lines, |_| rejected += 1, |_| {})
        .map_err(|failure| anyhow::anyhow!("{failure}"))?;
    let import_seconds = started.elapsed().as_secs_f64();
    if let Some(error) = read_error {
        return Err(error).context("reading the benchmark input");
    }
    let peak_rss = memory.peak_megabytes();
    anyhow::ensure!(
        rejected == 0 && summary.stored == passages + generate::SITES.len() as u64,
        "benchmark input was rejected: {summary:?}"
    );
    let import_rate = summary.stored as f64 / import_seconds;
    // Not timed: publish the records (tiles, entry bundles, checkpoint), so
    // that the size on disk is that of a data directory a server would serve.
    data_dir.integrate_log(&writer)?;
    drop(writer);
    let total_bytes = directory_size(&root)?;
    let log_bytes = directory_size(&root.join("log"))?;
    let store_bytes = total_bytes - log_bytes;

    // Baseline: the same rows, already built, inserted with the same statements,
    // schema, pragmas and transaction size.
    let rows = read_rows(&root.join("store.db"))?;
    let baseline_path = scratch.join("baseline.db");
    let _ = std::fs::remove_file(&baseline_path);
    let connection = Connection::open(&baseline_path)?;
    connection.execute_batch(PRAGMAS)?;
    connection.execute_batch(SCHEMA)?;
    let started = Instant::now();
    insert_rows(connection, &rows)?;
    let raw_rate = rows.len() as f64 / started.elapsed().as_secs_f64();

    let baseline = format!(
        "plain SQLite inserts of the same rows (records, current_records, passages) with the same schema, pragmas and {BATCH_SIZE}-row transactions: {INSERT_RECORD}; {INSERT_CURRENT}; {INSERT_PASSAGE}"
    );
    Ok(vec![
        BenchResult::plain(
            "import_records_per_s",
            import_rate,
            "records/s",
            "JSON Lines through parse, validation, RFC 8785 leaf, commit",
        ),
        BenchResult::plain("raw_sqlite_inserts_per_s", raw_rate, "rows/s", &baseline),
        BenchResult::ratio(
            "import_vs_sqlite_ratio",
            import_rate,
            &baseline,
            raw_rate,
            0.5,
        ),
        BenchResult::plain(
            "bytes_per_passage",
            total_bytes as f64 / passages as f64,
            "bytes",
            "the whole data directory after import and publication: store.db with WAL, records, private parts, indexes and rollups, plus DATA/log (hash tiles, entry bundles, checkpoints), divided by passages",
        ),
        BenchResult::plain(
            "bytes_per_passage_store",
            store_bytes as f64 / passages as f64,
            "bytes",
            "as bytes_per_passage, without DATA/log",
        ),
        BenchResult::plain(
            "bytes_per_passage_log",
            log_bytes as f64 / passages as f64,
            "bytes",
            "DATA/log alone (hash tiles, entry bundles, checkpoints), divided by passages",
        ),
        BenchResult::plain(
            "peak_rss_mb_import",
            peak_rss,
            "MiB",
            "peak resident memory of the benchmark process during the import (Linux VmHWM, reset through /proc/self/clear_refs when the import starts)",
        ),
    ])
}

fn write_input(path: &Path, passages: u64) -> Result<()> {
    let mut out = BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for site in generate::sites() {
        writeln!(out, "{site}")?;
    }
    for index in 0..passages {
        writeln!(out, "{}", generate::passage(index, passages))?;
    }
    out.flush()?;
    Ok(())
}

/// One record's rows as the store wrote them.
struct Rows {
    record: (i64, String, String, String, Vec<u8>, Vec<u8>),
    content_type: String,
    passage: Option<Vec<rusqlite::types::Value>>,
}

fn read_rows(store: &Path) -> Result<Vec<Rows>> {
    let connection = Connection::open(store)?;
    let mut passages = std::collections::HashMap::new();
    let mut statement = connection.prepare("SELECT leaf_index, target_id, site, day, observed_at, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, mission, count, passengers, medical_evacuees, kilograms FROM passages")?;
    let mut cursor = statement.query([])?;
    while let Some(row) = cursor.next()? {
        let values: Vec<rusqlite::types::Value> = (0..18)
            .map(|index| row.get(index))
            .collect::<Result<_, _>>()?;
        passages.insert(row.get::<_, i64>(0)?, values);
    }
    let mut statement = connection.prepare(
        "SELECT r.leaf_index, r.id, r.target_id, r.record_type, r.content_digest, r.leaf, c.content_type FROM records r JOIN current_records c ON c.target_id = r.target_id ORDER BY r.leaf_index",
    )?;
    let rows = statement
        .query_map([], |row| {
            let leaf_index: i64 = row.get(0)?;
            Ok((
                leaf_index,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get::<_, String>(6)?,
            ))
        })?
        .map(|row| {
            row.map(
                |(leaf_index, id, target, kind, digest, leaf, content_type)| Rows {
                    record: (leaf_index, id, target, kind, digest, leaf),
                    content_type,
                    passage: passages.remove(&leaf_index),
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn insert_rows(mut connection: Connection, rows: &[Rows]) -> Result<()> {
    for chunk in rows.chunks(BATCH_SIZE) {
        let transaction =
            connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert_record = transaction.prepare_cached(INSERT_RECORD)?;
            let mut insert_current = transaction.prepare_cached(INSERT_CURRENT)?;
            let mut insert_passage = transaction.prepare_cached(INSERT_PASSAGE)?;
            for row in chunk {
                let (leaf_index, id, target, kind, digest, leaf) = &row.record;
                insert_record.execute(params![leaf_index, id, target, kind, digest, leaf])?;
                insert_current.execute(params![target, row.content_type, leaf_index])?;
                if let Some(values) = &row.passage {
                    // Columns as INSERT_PASSAGE numbers them: leaf_index, target_id, then the facts.
                    insert_passage.execute(rusqlite::params_from_iter(values.iter()))?;
                }
            }
        }
        transaction.commit()?;
    }
    Ok(())
}

pub fn directory_size(path: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        total += if metadata.is_dir() {
            directory_size(&entry.path())?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}

/// The peak resident memory of one phase of the benchmark process.
///
/// Linux keeps the process's peak (`VmHWM`) since it started; writing `5` to
/// `/proc/self/clear_refs` resets it to the current size, so each phase
/// measures its own peak, not that of an earlier, larger one.
pub struct PhaseMemory {
    resident_at_start: f64,
}

impl PhaseMemory {
    pub fn start() -> PhaseMemory {
        // Without the reset (an old kernel, a restricted /proc) the peak is
        // the process's peak so far: an upper bound.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        PhaseMemory {
            resident_at_start: status_megabytes("VmRSS:"),
        }
    }

    /// The peak resident memory since `start`, in MiB.
    pub fn peak_megabytes(&self) -> f64 {
        status_megabytes("VmHWM:")
    }

    /// How far the resident memory rose above its size at `start`, in MiB.
    pub fn growth_megabytes(&self) -> f64 {
        (self.peak_megabytes() - self.resident_at_start).max(0.0)
    }
}

/// A `kB` line of `/proc/self/status` (Linux), in MiB; 0 elsewhere.
fn status_megabytes(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kilobytes| kilobytes / 1024.0)
}
