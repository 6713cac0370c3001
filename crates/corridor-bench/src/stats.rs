//! A 43-day statistics query answered from the rollups, against a plain SQL
//! `GROUP BY` over the raw passage table of the same store.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use corridor_model::RecordType;
use corridor_model::time::day_number;
use corridor_stats::{StatsDimension, StatsQuery};
use corridor_store::{Effect, NewRecord, PassageFacts, Store, StoreLocation};

use crate::generate;
use crate::report::BenchResult;

/// The raw scan the rollup query is compared with: same period, same groups, same sums.
pub const RAW_SCAN: &str = "SELECT day, category, SUM(count), COUNT(*), SUM(passengers), COUNT(passengers), SUM(medical_evacuees), COUNT(medical_evacuees), SUM(kilograms), COUNT(kilograms) FROM passages WHERE current = 1 AND day BETWEEN ?1 AND ?2 GROUP BY day, category";

pub fn run(scratch: &Path, passages: u64) -> Result<Vec<BenchResult>> {
    let path = scratch.join("stats.db");
    let _ = std::fs::remove_file(&path);
    let mut store = StoreLocation::Sqlite(path.clone()).open()?;
    fill(&mut store, passages)?;

    let first = jiff::civil::Date::constant(2022, 12, 12);
    let last = jiff::civil::Date::constant(2023, 1, 23);
    let mut query = StatsQuery::period(first, last);
    query.by = vec![StatsDimension::Day, StatsDimension::Category];

    // Warm both paths once, then take the median of several runs each.
    let report = corridor_stats::compute(&store, &query)?;
    let rollup_ms = median_ms(7, || {
        corridor_stats::compute(&store, &query)
            .map(|_| ())
            .map_err(anyhow::Error::from)
    })?;
    let connection = rusqlite::Connection::open(&path)?;
    let raw_vehicles = raw_scan(&connection, first, last)?;
    let scan_ms = median_ms(3, || raw_scan(&connection, first, last).map(|_| ()))?;

    let rollup_vehicles = report.totals.figures.vehicles.unwrap_or(0);
    anyhow::ensure!(
        rollup_vehicles == raw_vehicles,
        "rollups say {rollup_vehicles} vehicles, the raw scan {raw_vehicles}"
    );
    let speedup_name = format!("raw scan: {RAW_SCAN}");
    Ok(vec![
        BenchResult::plain(
            "stats_query_ms",
            rollup_ms,
            "ms",
            "43-day query grouped by day and category, from rollups",
        ),
        BenchResult::plain("raw_scan_ms", scan_ms, "ms", &speedup_name),
        BenchResult::ratio(
            "stats_vs_scan_speedup",
            1.0 / rollup_ms,
            &speedup_name,
            1.0 / scan_ms,
            50.0,
        ),
    ])
}

fn median_ms(runs: usize, mut work: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        work()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

pub(crate) fn raw_scan(
    connection: &rusqlite::Connection,
    first: jiff::civil::Date,
    last: jiff::civil::Date,
) -> Result<i64> {
    let mut statement = connection.prepare_cached(RAW_SCAN)?;
    let mut rows = statement.query([day_number(first), day_number(last)])?;
    let mut vehicles = 0;
    while let Some(row) = rows.next()? {
        vehicles += row.get::<_, i64>(2)?;
    }
    Ok(vehicles)
}

/// Fills the store through `Store::append` with prepared records (the
/// fixture, not the measured part): 120 days around the queried period.
fn fill(store: &mut dyn Store, passages: u64) -> Result<()> {
    let first_day = day_number(jiff::civil::Date::constant(2022, 11, 1));
    let mut batch = Vec::with_capacity(corridor_engine::BATCH_SIZE);
    for index in 0..passages {
        let day = first_day + (index * generate::DAYS / passages.max(1)) as i32;
        let category = generate::CATEGORIES[(index % generate::CATEGORIES.len() as u64) as usize];
        let site = generate::SITES[(index % 3) as usize].0;
        let id = format!("p-{index:09}");
        let leaf = format!(
            r#"{{"logged_at":"2026-01-01T00:00:00.000Z","record":{{"category":"{category}","count":1,"direction":"inbound","id":"{id}","observed_at":"2022-12-12T10:00:00+04:00","outcome":"passed","recorded_by":"bench","site":"{site}","source":{{"kind":"direct_observation","name":"bench observers"}},"type":"passage","vehicle_class":"truck"}},"v":1}}"#
        );
        batch.push(NewRecord {
            id: id.clone(),
            target_id: id,
            record_type: RecordType::Passage,
            content_type: RecordType::Passage,
            effect: Effect::Create,
            leaf: leaf.into_bytes(),
            content_digest: [0; 32],
            private: None,
            submitter: None,
            passage: Some(PassageFacts {
                site: site.to_string(),
                day,
                observed_at: "2022-12-12T10:00:00+04:00".into(),
                category: category.to_string(),
                operator: None,
                direction: "inbound".into(),
                outcome: "passed".into(),
                vehicle_class: "truck".into(),
                source_kind: "direct_observation".into(),
                source_name: "bench observers".into(),
                recorded_by: "bench".into(),
                mission: None,
                count: 1,
                passengers: (index % 4 == 0).then_some((index % 5) as u32),
                medical_evacuees: None,
                kilograms: None,
                cargo: Vec::new(),
                // One passage in fifty carries an attribute, for claims filtered by it.
                attributes: if index % 50 == 0 {
                    vec![("flag".into(), "TR".into())]
                } else {
                    Vec::new()
                },
            }),
        });
        if batch.len() == corridor_engine::BATCH_SIZE {
            store.append(&batch)?;
            batch.clear();
        }
    }
    store.append(&batch)?;
    Ok(())
}
