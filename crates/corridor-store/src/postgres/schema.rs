//! The PostgreSQL schema, its version, and the migration run on every open.
//!
//! The tables mirror SQLite's (`docs/storage.md`), with these additions: a
//! `schema_version` table, the `integrator_lease` and `tree_head` rows
//! (SQLite keeps those two in `meta`), and the `sequencer` row that every append locks
//! (`FOR UPDATE`) and that holds the next leaf index, so leaf indexes are
//! dense from 0 and assigned inside the append transaction, one writer at a
//! time, whichever connection or server writes. Text columns use the `C`
//! collation: rows are ordered by bytes, as SQLite and the memory store
//! order them, whatever the database's locale.
//!
//! Opening runs the steps in [`MIGRATIONS`] that the database has not had,
//! in one transaction under an advisory lock, so two servers starting at
//! once do not both create the tables. A database with a newer version than
//! this build knows is refused ([`StoreError::NewerSchema`]); one without
//! the version table but with Corridor's tables is refused too, rather than
//! guessed at.

use postgres::Client;

use super::pool::backend;
use crate::StoreError;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 2;

/// The advisory lock key taken while installing or migrating the schema
/// (an arbitrary constant: "corridor" in ASCII, shortened to 63 bits).
const MIGRATION_LOCK: i64 = 0x636f_7272_6964_6f72;

/// One rollup table: the grouping key as primary key, then the sums.
macro_rules! rollup_table {
    ($name:literal) => {
        concat!(
            "CREATE TABLE ",
            $name,
            " (
    site TEXT COLLATE \"C\" NOT NULL, day INTEGER NOT NULL, category TEXT COLLATE \"C\" NOT NULL,
    operator TEXT COLLATE \"C\" NOT NULL, direction TEXT COLLATE \"C\" NOT NULL,
    outcome TEXT COLLATE \"C\" NOT NULL, vehicle_class TEXT COLLATE \"C\" NOT NULL,
    source_kind TEXT COLLATE \"C\" NOT NULL, source_name TEXT COLLATE \"C\" NOT NULL,
    recorded_by TEXT COLLATE \"C\" NOT NULL, cargo_kind TEXT COLLATE \"C\" NOT NULL,
    passages BIGINT NOT NULL, vehicles BIGINT NOT NULL,
    passengers BIGINT NOT NULL, passengers_reported BIGINT NOT NULL,
    medical_evacuees BIGINT NOT NULL, medical_evacuees_reported BIGINT NOT NULL,
    kilograms BIGINT NOT NULL, kilograms_reported BIGINT NOT NULL,
    PRIMARY KEY (site, day, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, cargo_kind)
);
"
        )
    };
}

/// Version 1: every table of records, indexes, rollups and tokens. Public so
/// the benchmark's raw-insert floor creates exactly these tables (in a
/// scratch schema of its own).
pub const VERSION_1: &str = concat!(
    "
CREATE TABLE meta (
    key TEXT COLLATE \"C\" PRIMARY KEY,
    value BYTEA NOT NULL
);
CREATE TABLE sequencer (
    single BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (single),
    next_leaf BIGINT NOT NULL
);
INSERT INTO sequencer (single, next_leaf) VALUES (TRUE, 0);
CREATE TABLE records (
    leaf_index BIGINT PRIMARY KEY,
    id TEXT COLLATE \"C\" NOT NULL UNIQUE,
    target_id TEXT COLLATE \"C\" NOT NULL,
    record_type TEXT COLLATE \"C\" NOT NULL,
    content_digest BYTEA NOT NULL,
    leaf BYTEA NOT NULL
);
CREATE INDEX records_by_target ON records (target_id);
CREATE TABLE current_records (
    target_id TEXT COLLATE \"C\" PRIMARY KEY,
    content_type TEXT COLLATE \"C\" NOT NULL,
    leaf_index BIGINT NOT NULL,
    retracted BOOLEAN NOT NULL
);
CREATE INDEX current_non_passages ON current_records (content_type, leaf_index)
    WHERE content_type <> 'passage';
CREATE TABLE private_parts (
    leaf_index BIGINT PRIMARY KEY,
    salt BYTEA NOT NULL,
    data BYTEA NOT NULL
);
CREATE TABLE passages (
    leaf_index BIGINT PRIMARY KEY,
    target_id TEXT COLLATE \"C\" NOT NULL,
    current INTEGER NOT NULL,
    site TEXT COLLATE \"C\" NOT NULL,
    day INTEGER NOT NULL,
    observed_at TEXT COLLATE \"C\" NOT NULL,
    category TEXT COLLATE \"C\" NOT NULL,
    operator TEXT COLLATE \"C\",
    direction TEXT COLLATE \"C\" NOT NULL,
    outcome TEXT COLLATE \"C\" NOT NULL,
    vehicle_class TEXT COLLATE \"C\" NOT NULL,
    source_kind TEXT COLLATE \"C\" NOT NULL,
    source_name TEXT COLLATE \"C\" NOT NULL,
    recorded_by TEXT COLLATE \"C\" NOT NULL,
    mission TEXT COLLATE \"C\",
    count BIGINT NOT NULL,
    passengers BIGINT,
    medical_evacuees BIGINT,
    kilograms BIGINT
);
CREATE INDEX passages_by_site_day ON passages (site, day, leaf_index);
CREATE TABLE passage_cargo (
    leaf_index BIGINT NOT NULL,
    line INTEGER NOT NULL,
    kind TEXT COLLATE \"C\" NOT NULL,
    kilograms BIGINT,
    PRIMARY KEY (leaf_index, line)
);
CREATE INDEX passage_cargo_by_kind ON passage_cargo (kind, leaf_index);
CREATE TABLE passage_attributes (
    key TEXT COLLATE \"C\" NOT NULL,
    value TEXT COLLATE \"C\" NOT NULL,
    site TEXT COLLATE \"C\" NOT NULL,
    day INTEGER NOT NULL,
    leaf_index BIGINT NOT NULL,
    PRIMARY KEY (key, value, site, day, leaf_index)
);
CREATE INDEX passage_attributes_by_leaf ON passage_attributes (leaf_index);
CREATE TABLE api_tokens (
    id TEXT COLLATE \"C\" PRIMARY KEY,
    secret_hash BYTEA NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT COLLATE \"C\" NOT NULL,
    created_at TEXT COLLATE \"C\" NOT NULL,
    revoked_at TEXT COLLATE \"C\"
);
CREATE TABLE submissions (
    record_id TEXT COLLATE \"C\" PRIMARY KEY,
    token_id TEXT COLLATE \"C\" NOT NULL
);
",
    rollup_table!("passage_rollup"),
    rollup_table!("cargo_rollup"),
);

/// Version 2: the integrator lease (one row: holder, epoch, expiry on the
/// database clock) and the tree head it fences (see `crate::lease`).
const VERSION_2: &str = "
CREATE TABLE integrator_lease (
    single BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (single),
    holder TEXT COLLATE \"C\" NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE tree_head (
    single BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (single),
    size BIGINT NOT NULL,
    root BYTEA NOT NULL,
    epoch BIGINT NOT NULL,
    advanced_at TIMESTAMPTZ NOT NULL
);
";

/// The steps from each version to the next: `MIGRATIONS[n]` takes a
/// database at version `n` to `n + 1` (version 0 is an empty database).
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [VERSION_1, VERSION_2];

/// Brings the database behind `client` to [`SCHEMA_VERSION`], or refuses it.
///
/// # Errors
/// A newer schema, Corridor's tables without a version, or PostgreSQL's failure.
pub(super) fn install(client: &mut Client, shown: &str) -> Result<(), StoreError> {
    let failed = |doing: &'static str| move |error| backend(shown, doing, error);
    let mut transaction = client
        .transaction()
        .map_err(failed("starting the schema check"))?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(failed("locking the schema"))?;
    let has_version_table: bool = transaction
        .query_one(
            "SELECT to_regclass('schema_version') IS NOT NULL, to_regclass('records') IS NOT NULL",
            &[],
        )
        .map_err(failed("reading the schema version"))
        .and_then(|row| {
            let versioned: bool = row.get(0);
            let has_records: bool = row.get(1);
            if !versioned && has_records {
                return Err(StoreError::BadLocation {
                    location: shown.to_string(),
                    reason: "holds a records table but no schema_version: it was not made by Corridor, or by a build this one cannot read; refusing to guess".to_string(),
                });
            }
            Ok(versioned)
        })?;
    let found: i64 = if has_version_table {
        transaction
            .query_one("SELECT MAX(version) FROM schema_version", &[])
            .map_err(failed("reading the schema version"))?
            .get::<_, Option<i64>>(0)
            .unwrap_or(0)
    } else {
        transaction
            .batch_execute("CREATE TABLE schema_version (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            .map_err(failed("creating the schema_version table"))?;
        0
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: shown.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (from, step) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tracing::info!(
            location = shown,
            from,
            to = from + 1,
            "migrating the PostgreSQL schema"
        );
        transaction
            .batch_execute(step)
            .map_err(failed("migrating the schema"))?;
        transaction
            .execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&(from as i64 + 1)],
            )
            .map_err(failed("recording the schema version"))?;
    }
    transaction
        .commit()
        .map_err(failed("committing the schema"))?;
    Ok(())
}
