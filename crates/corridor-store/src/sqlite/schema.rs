//! The SQLite schema: tables, indexes, connection settings and the schema
//! version check run on every open.
//!
//! The on-disk layout is drawn in `docs/storage.md`. `SCHEMA`, `PRAGMAS` and
//! the `INSERT_*` statements are public so the benchmark's raw-insert baseline
//! uses exactly the same tables, indexes and settings.

use rusqlite::Connection;

use super::meta::{read_meta, write_meta};
use super::tokens::TOKEN_SCHEMA;
use crate::StoreError;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// Connection settings. WAL lets readers run beside the one writer;
/// `synchronous = FULL` makes every commit durable before `append` returns,
/// which is what "acknowledged" means. `secure_delete` zeroes erased private
/// parts on disk instead of leaving them in free pages.
pub const PRAGMAS: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA secure_delete = ON;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -65536;
PRAGMA busy_timeout = 10000;
";

/// One rollup table: the grouping key (nine dimensions and the cargo kind,
/// empty outside the cargo rollup) as primary key, then the sums. Both rollup
/// tables have this shape.
macro_rules! rollup_table {
    ($name:literal) => {
        concat!(
            "CREATE TABLE IF NOT EXISTS ",
            $name,
            " (
    site TEXT NOT NULL, day INTEGER NOT NULL, category TEXT NOT NULL, operator TEXT NOT NULL,
    direction TEXT NOT NULL, outcome TEXT NOT NULL, vehicle_class TEXT NOT NULL,
    source_kind TEXT NOT NULL, source_name TEXT NOT NULL, recorded_by TEXT NOT NULL, cargo_kind TEXT NOT NULL,
    passages INTEGER NOT NULL, vehicles INTEGER NOT NULL,
    passengers INTEGER NOT NULL, passengers_reported INTEGER NOT NULL,
    medical_evacuees INTEGER NOT NULL, medical_evacuees_reported INTEGER NOT NULL,
    kilograms INTEGER NOT NULL, kilograms_reported INTEGER NOT NULL,
    PRIMARY KEY (site, day, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, cargo_kind)
) WITHOUT ROWID;
"
        )
    };
}

/// Tables and indexes. Rollup tables are `WITHOUT ROWID`: their primary key is
/// the whole grouping key, so an upsert touches one B-tree.
pub const SCHEMA: &str = concat!(
    "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    leaf_index INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    target_id TEXT NOT NULL,
    record_type TEXT NOT NULL,
    content_digest BLOB NOT NULL,
    leaf BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS current_records (
    target_id TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    leaf_index INTEGER NOT NULL,
    retracted INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS current_non_passages ON current_records (content_type, leaf_index)
    WHERE content_type <> 'passage';
CREATE TABLE IF NOT EXISTS private_parts (
    leaf_index INTEGER PRIMARY KEY,
    salt BLOB NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    leaf_index INTEGER PRIMARY KEY,
    target_id TEXT NOT NULL,
    current INTEGER NOT NULL,
    site TEXT NOT NULL,
    day INTEGER NOT NULL,
    observed_at TEXT NOT NULL,
    category TEXT NOT NULL,
    operator TEXT,
    direction TEXT NOT NULL,
    outcome TEXT NOT NULL,
    vehicle_class TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_name TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    mission TEXT,
    count INTEGER NOT NULL,
    passengers INTEGER,
    medical_evacuees INTEGER,
    kilograms INTEGER
);
CREATE INDEX IF NOT EXISTS passages_by_site_day ON passages (site, day);
CREATE TABLE IF NOT EXISTS passage_cargo (
    leaf_index INTEGER NOT NULL,
    line INTEGER NOT NULL,
    kind TEXT NOT NULL,
    kilograms INTEGER,
    PRIMARY KEY (leaf_index, line)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS passage_attributes (
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    site TEXT NOT NULL,
    day INTEGER NOT NULL,
    leaf_index INTEGER NOT NULL,
    PRIMARY KEY (key, value, site, day, leaf_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS passage_attributes_by_leaf ON passage_attributes (leaf_index);
",
    rollup_table!("passage_rollup"),
    rollup_table!("cargo_rollup"),
);

/// The statement that stores one record row (shared with the benchmark baseline).
pub const INSERT_RECORD: &str = "INSERT INTO records (leaf_index, id, target_id, record_type, content_digest, leaf) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// The statement that creates a logical record.
pub const INSERT_CURRENT: &str = "INSERT INTO current_records (target_id, content_type, leaf_index, retracted) VALUES (?1, ?2, ?3, 0)";
/// The statement that indexes one passage.
pub const INSERT_PASSAGE: &str = "INSERT INTO passages (leaf_index, target_id, current, site, day, observed_at, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, mission, count, passengers, medical_evacuees, kilograms) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

/// The eight metric columns of both rollup tables, in the order of [`crate::Metrics`].
pub(super) const METRIC_COLUMNS: &str = "passages, vehicles, passengers, passengers_reported, medical_evacuees, medical_evacuees_reported, kilograms, kilograms_reported";

/// The grouping key of both rollup tables, in the order of [`crate::RollupKey`].
pub(super) const ROLLUP_KEY_COLUMNS: &str = "site, day, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, cargo_kind";

/// The passage index columns `read::passage_facts` reads, in its order.
pub(super) const PASSAGE_FACT_COLUMNS: &str = "p.site, p.day, p.observed_at, p.category, p.operator, p.direction, p.outcome, p.vehicle_class, p.source_kind, p.source_name, p.recorded_by, p.mission, p.count, p.passengers, p.medical_evacuees, p.kilograms";

/// Applies the settings, creates what is missing and checks the schema
/// version of the database behind `connection` (named `path` in errors).
///
/// # Errors
/// SQLite refuses a statement, or the database was written by a newer schema.
pub(super) fn install(connection: &Connection, path: &str) -> Result<(), StoreError> {
    connection.execute_batch(PRAGMAS)?;
    connection.execute_batch(SCHEMA)?;
    connection.execute_batch(TOKEN_SCHEMA)?;
    match read_meta(connection, "schema_version")?
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse::<i64>().ok())
    {
        None => {
            write_meta(
                connection,
                "schema_version",
                SCHEMA_VERSION.to_string().as_bytes(),
            )?;
        }
        Some(found) if found > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                path: path.to_string(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Some(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dimension;

    #[test]
    fn rollup_keys_use_the_same_columns_as_the_schema() {
        for dimension in [
            Dimension::Site,
            Dimension::Day,
            Dimension::CargoKind,
            Dimension::RecordedBy,
        ] {
            assert!(SCHEMA.contains(dimension.column()), "{dimension:?}");
        }
    }
}
