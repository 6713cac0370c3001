//! The SQLite backend: one database file in WAL mode with durable commits.
//!
//! The on-disk layout is drawn in `docs/storage.md`. `SCHEMA` and `PRAGMAS`
//! are public so the benchmark's raw-insert baseline uses exactly the same
//! tables, indexes and settings.

use std::path::Path;

use corridor_model::RecordType;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::rollup::{
    Dimension, DimensionValue, Metrics, RollupDeltas, RollupDifference, RollupKey, RollupQuery,
    RollupRow, RollupTable, rollup_differences,
};
use crate::{
    CurrentState, Effect, ListedPassage, NewRecord, PassageFacts, PrivatePart, Store, StoreError,
    StoredRecord,
};

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

const METRIC_COLUMNS: &str = "passages, vehicles, passengers, passengers_reported, medical_evacuees, medical_evacuees_reported, kilograms, kilograms_reported";

/// The grouping key of both rollup tables, in the order of [`RollupKey`].
const ROLLUP_KEY_COLUMNS: &str = "site, day, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, cargo_kind";

/// The passage index columns [`passage_facts`] reads, in its order.
const PASSAGE_FACT_COLUMNS: &str = "p.site, p.day, p.observed_at, p.category, p.operator, p.direction, p.outcome, p.vehicle_class, p.source_kind, p.source_name, p.recorded_by, p.mission, p.count, p.passengers, p.medical_evacuees, p.kilograms";

/// A store in one SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    pub(crate) connection: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    ///
    /// # Errors
    /// The file cannot be opened, or was written by a newer schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let connection = Connection::open(path)?;
        Self::prepare(connection, &path.display().to_string())
    }

    /// A private in-memory database (tests).
    ///
    /// # Errors
    /// SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        Self::prepare(Connection::open_in_memory()?, ":memory:")
    }

    fn prepare(connection: Connection, path: &str) -> Result<SqliteStore, StoreError> {
        connection.execute_batch(PRAGMAS)?;
        connection.execute_batch(SCHEMA)?;
        connection.execute_batch(crate::tokens::TOKEN_SCHEMA)?;
        match read_meta(&connection, "schema_version")?
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<i64>().ok())
        {
            None => {
                write_meta(
                    &connection,
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
        Ok(SqliteStore { connection })
    }

    fn append_in(
        transaction: &Transaction<'_>,
        batch: &[NewRecord],
    ) -> Result<Vec<u64>, StoreError> {
        let first = leaf_count(transaction)?;
        let mut deltas = RollupDeltas::default();
        let mut indexes = Vec::with_capacity(batch.len());
        let mut insert_record = transaction.prepare_cached(INSERT_RECORD)?;
        for (leaf_index, record) in (first..).zip(batch) {
            let inserted = insert_record.execute(params![
                leaf_index as i64,
                record.id,
                record.target_id,
                record.record_type.as_str(),
                &record.content_digest[..],
                record.leaf
            ]);
            if let Err(error) = inserted {
                return Err(match existing_leaf(transaction, &record.id)? {
                    Some(existing) => StoreError::DuplicateId {
                        id: record.id.clone(),
                        leaf_index: existing,
                    },
                    None => error.into(),
                });
            }
            match record.effect {
                Effect::Create => {
                    transaction
                        .prepare_cached(INSERT_CURRENT)?
                        .execute(params![
                            record.target_id,
                            record.content_type.as_str(),
                            leaf_index as i64
                        ])?;
                }
                Effect::Replace | Effect::Retract => {
                    let previous: Option<i64> = transaction
                        .prepare_cached("SELECT leaf_index FROM current_records WHERE target_id = ?1 AND retracted = 0")?
                        .query_row([&record.target_id], |row| row.get(0))
                        .optional()?;
                    let Some(previous) = previous else {
                        return Err(StoreError::UnknownTarget {
                            target_id: record.target_id.clone(),
                        });
                    };
                    if let Some(old) = load_passage(transaction, previous)? {
                        deltas.apply(&old, -1);
                        transaction
                            .prepare_cached(
                                "UPDATE passages SET current = 0 WHERE leaf_index = ?1",
                            )?
                            .execute([previous])?;
                    }
                    let retracted = i64::from(record.effect == Effect::Retract);
                    let current_leaf = if record.effect == Effect::Replace {
                        leaf_index as i64
                    } else {
                        previous
                    };
                    transaction
                        .prepare_cached("UPDATE current_records SET leaf_index = ?2, retracted = ?3 WHERE target_id = ?1")?
                        .execute(params![record.target_id, current_leaf, retracted])?;
                }
            }
            if let Some(private) = &record.private {
                transaction
                    .prepare_cached(
                        "INSERT INTO private_parts (leaf_index, salt, data) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![leaf_index as i64, &private.salt[..], private.data])?;
            }
            if let (Some(facts), false) = (&record.passage, record.effect == Effect::Retract) {
                insert_passage(transaction, leaf_index, &record.target_id, facts)?;
                deltas.apply(facts, 1);
            }
            if let Some(token_id) = &record.submitter {
                transaction
                    .prepare_cached(crate::tokens::INSERT_SUBMISSION)?
                    .execute(params![record.id, token_id])?;
            }
            indexes.push(leaf_index);
        }
        drop(insert_record);
        flush_deltas(transaction, &deltas)?;
        Ok(indexes)
    }
}

/// How many leaves are stored, which is also the next leaf index.
fn leaf_count(connection: &Connection) -> Result<u64, StoreError> {
    let count: i64 = connection
        .prepare_cached("SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM records")?
        .query_row([], |row| row.get(0))?;
    Ok(count as u64)
}

fn read_meta(connection: &Connection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?)
}

fn write_meta(connection: &Connection, key: &str, value: &[u8]) -> Result<(), StoreError> {
    connection
        .prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}

fn existing_leaf(transaction: &Transaction<'_>, id: &str) -> Result<Option<u64>, StoreError> {
    let found: Option<i64> = transaction
        .query_row(
            "SELECT leaf_index FROM records WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .optional()?;
    Ok(found.map(|index| index as u64))
}

fn insert_passage(
    transaction: &Transaction<'_>,
    leaf_index: u64,
    target_id: &str,
    facts: &PassageFacts,
) -> Result<(), StoreError> {
    transaction
        .prepare_cached(INSERT_PASSAGE)?
        .execute(params![
            leaf_index as i64,
            target_id,
            facts.site,
            facts.day,
            facts.observed_at,
            facts.category,
            facts.operator,
            facts.direction,
            facts.outcome,
            facts.vehicle_class,
            facts.source_kind,
            facts.source_name,
            facts.recorded_by,
            facts.mission,
            facts.count,
            facts.passengers,
            facts.medical_evacuees,
            facts.kilograms.map(|kilograms| kilograms as i64),
        ])?;
    if !facts.cargo.is_empty() {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO passage_cargo (leaf_index, line, kind, kilograms) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (line, (kind, kilograms)) in facts.cargo.iter().enumerate() {
            insert.execute(params![
                leaf_index as i64,
                line as i64,
                kind,
                kilograms.map(|kilograms| kilograms as i64)
            ])?;
        }
    }
    if !facts.attributes.is_empty() {
        let mut insert = transaction.prepare_cached(
            "INSERT OR IGNORE INTO passage_attributes (key, value, site, day, leaf_index) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (key, value) in &facts.attributes {
            insert.execute(params![
                key,
                value,
                facts.site,
                facts.day,
                leaf_index as i64
            ])?;
        }
    }
    Ok(())
}

fn load_passage(
    transaction: &Transaction<'_>,
    leaf_index: i64,
) -> Result<Option<PassageFacts>, StoreError> {
    let facts = transaction
        .prepare_cached(&format!(
            "SELECT {PASSAGE_FACT_COLUMNS} FROM passages p WHERE p.leaf_index = ?1"
        ))?
        .query_row([leaf_index], |row| passage_facts(row, 0))
        .optional()?;
    let Some(mut facts) = facts else {
        return Ok(None);
    };
    let mut lines = transaction.prepare_cached(
        "SELECT kind, kilograms FROM passage_cargo WHERE leaf_index = ?1 ORDER BY line",
    )?;
    facts.cargo = lines
        .query_map([leaf_index], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<i64>>(1)?
                    .map(|kilograms| kilograms as u64),
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut attributes = transaction.prepare_cached(
        "SELECT key, value FROM passage_attributes WHERE leaf_index = ?1 ORDER BY key, value",
    )?;
    facts.attributes = attributes
        .query_map([leaf_index], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(facts))
}

/// The facts of a passage from the [`PASSAGE_FACT_COLUMNS`] starting at
/// `first`, without its cargo lines and attributes.
fn passage_facts(row: &rusqlite::Row<'_>, first: usize) -> Result<PassageFacts, rusqlite::Error> {
    Ok(PassageFacts {
        site: row.get(first)?,
        day: row.get(first + 1)?,
        observed_at: row.get(first + 2)?,
        category: row.get(first + 3)?,
        operator: row.get(first + 4)?,
        direction: row.get(first + 5)?,
        outcome: row.get(first + 6)?,
        vehicle_class: row.get(first + 7)?,
        source_kind: row.get(first + 8)?,
        source_name: row.get(first + 9)?,
        recorded_by: row.get(first + 10)?,
        mission: row.get(first + 11)?,
        count: row.get(first + 12)?,
        passengers: row.get(first + 13)?,
        medical_evacuees: row.get(first + 14)?,
        kilograms: row
            .get::<_, Option<i64>>(first + 15)?
            .map(|kilograms| kilograms as u64),
        cargo: Vec::new(),
        attributes: Vec::new(),
    })
}

/// Metrics from eight sums in the order of [`METRIC_COLUMNS`] starting at
/// `first`; a sum over no rows (NULL) is zero.
fn metrics(row: &rusqlite::Row<'_>, first: usize) -> Result<Metrics, rusqlite::Error> {
    let sum = |offset: usize| -> Result<i64, rusqlite::Error> {
        Ok(row.get::<_, Option<i64>>(first + offset)?.unwrap_or(0))
    };
    Ok(Metrics {
        passages: sum(0)?,
        vehicles: sum(1)?,
        passengers: sum(2)?,
        passengers_reported: sum(3)?,
        medical_evacuees: sum(4)?,
        medical_evacuees_reported: sum(5)?,
        kilograms: sum(6)?,
        kilograms_reported: sum(7)?,
    })
}

/// SQLite integers are signed: clamp rather than cast, since `u64::MAX as
/// i64` is -1, which would turn "everything from start" into an empty range.
fn clamp_to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn flush_deltas(transaction: &Transaction<'_>, deltas: &RollupDeltas) -> Result<(), StoreError> {
    for (table, rows) in [
        (RollupTable::Passage, &deltas.passage),
        (RollupTable::Cargo, &deltas.cargo),
    ] {
        let sql = format!(
            "INSERT INTO {} ({ROLLUP_KEY_COLUMNS}, {METRIC_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
             ON CONFLICT DO UPDATE SET passages = passages + excluded.passages, vehicles = vehicles + excluded.vehicles,
               passengers = passengers + excluded.passengers, passengers_reported = passengers_reported + excluded.passengers_reported,
               medical_evacuees = medical_evacuees + excluded.medical_evacuees,
               medical_evacuees_reported = medical_evacuees_reported + excluded.medical_evacuees_reported,
               kilograms = kilograms + excluded.kilograms, kilograms_reported = kilograms_reported + excluded.kilograms_reported",
            table.name()
        );
        let mut upsert = transaction.prepare_cached(&sql)?;
        for (key, metrics) in rows {
            upsert.execute(params![
                key.site,
                key.day,
                key.category,
                key.operator,
                key.direction,
                key.outcome,
                key.vehicle_class,
                key.source_kind,
                key.source_name,
                key.recorded_by,
                key.cargo_kind,
                metrics.passages,
                metrics.vehicles,
                metrics.passengers,
                metrics.passengers_reported,
                metrics.medical_evacuees,
                metrics.medical_evacuees_reported,
                metrics.kilograms,
                metrics.kilograms_reported
            ])?;
        }
    }
    Ok(())
}

fn record_type(text: &str) -> Result<RecordType, rusqlite::Error> {
    RecordType::parse(text).ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(
            0,
            format!("record_type {text:?}"),
            rusqlite::types::Type::Text,
        )
    })
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let mut digest = [0_u8; 32];
    if bytes.len() == 32 {
        digest.copy_from_slice(bytes);
    }
    digest
}

fn stored_record(row: &rusqlite::Row<'_>) -> Result<StoredRecord, rusqlite::Error> {
    Ok(StoredRecord {
        leaf_index: row.get::<_, i64>(0)? as u64,
        id: row.get(1)?,
        target_id: row.get(2)?,
        record_type: record_type(&row.get::<_, String>(3)?)?,
        content_digest: digest(&row.get::<_, Vec<u8>>(4)?),
        leaf: row.get(5)?,
    })
}

/// The table a query's period and filters are applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilteredTable {
    /// A rollup table: no operator is stored as the empty text.
    Rollup,
    /// The passage index as `p`: only current passages count, and no
    /// operator is NULL.
    PassageIndex,
}

impl FilteredTable {
    /// The expression for a dimension's column, compared as the rollups store it.
    fn column(self, name: &str) -> String {
        match self {
            FilteredTable::Rollup => name.to_string(),
            FilteredTable::PassageIndex if name == "operator" => {
                "COALESCE(p.operator, '')".to_string()
            }
            FilteredTable::PassageIndex => format!("p.{name}"),
        }
    }
}

/// Conditions for a query's period and filters, with their bound values
/// (`?1` and `?2` are the first and last day); shared by `rollup`,
/// `passage_sums` and `passages` so all of them count the same passages.
/// The cargo kind is left to the caller: each table answers it differently.
struct QueryConditions {
    conditions: Vec<String>,
    values: Vec<rusqlite::types::Value>,
    /// The placeholders of the site filter, for reuse on another table.
    site_list: String,
}

impl QueryConditions {
    fn new(query: &RollupQuery, table: FilteredTable) -> QueryConditions {
        let mut sql = QueryConditions {
            conditions: Vec::new(),
            values: vec![query.from_day.into(), query.to_day.into()],
            site_list: String::new(),
        };
        if table == FilteredTable::PassageIndex {
            sql.conditions.push("p.current = 1".to_string());
        }
        sql.conditions
            .push(format!("{} BETWEEN ?1 AND ?2", table.column("day")));
        let filter = &query.filter;
        if !filter.sites.is_empty() {
            sql.site_list = sql.bind_all(&filter.sites);
            let condition = format!("{} IN ({})", table.column("site"), sql.site_list);
            sql.conditions.push(condition);
        }
        if !filter.outcomes.is_empty() {
            let outcomes = sql.bind_all(&filter.outcomes);
            sql.conditions
                .push(format!("{} IN ({outcomes})", table.column("outcome")));
        }
        for (name, wanted) in [
            ("category", &filter.category),
            ("operator", &filter.operator),
            ("direction", &filter.direction),
            ("vehicle_class", &filter.vehicle_class),
        ] {
            if let Some(wanted) = wanted {
                let placeholder = sql.bind(wanted.clone());
                sql.conditions
                    .push(format!("{} = {placeholder}", table.column(name)));
            }
        }
        sql
    }

    /// Binds a text value and returns its placeholder.
    fn bind(&mut self, value: String) -> String {
        self.values.push(value.into());
        format!("?{}", self.values.len())
    }

    /// Binds text values and returns their placeholders, comma-separated.
    fn bind_all(&mut self, values: &[String]) -> String {
        let placeholders: Vec<String> = values
            .iter()
            .map(|value| self.bind(value.clone()))
            .collect();
        placeholders.join(", ")
    }

    /// Keeps only passages of the index carrying cargo of `kind`; returns
    /// the placeholder bound to `kind`.
    fn carrying(&mut self, kind: &str) -> String {
        let kind = self.bind(kind.to_string());
        self.conditions.push(format!(
            "p.leaf_index IN (SELECT leaf_index FROM passage_cargo WHERE kind = {kind})"
        ));
        kind
    }

    /// The conditions joined for a `WHERE` clause.
    fn clause(&self) -> String {
        self.conditions.join(" AND ")
    }
}

impl Store for SqliteStore {
    fn append(&mut self, batch: &[NewRecord]) -> Result<Vec<u64>, StoreError> {
        let transaction = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let indexes = Self::append_in(&transaction, batch)?;
        transaction.commit()?;
        Ok(indexes)
    }

    fn record(&self, id: &str) -> Result<Option<StoredRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT leaf_index, id, target_id, record_type, content_digest, leaf FROM records WHERE id = ?1")?;
        Ok(statement.query_row([id], stored_record).optional()?)
    }

    fn record_at(&self, leaf_index: u64) -> Result<Option<StoredRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT leaf_index, id, target_id, record_type, content_digest, leaf FROM records WHERE leaf_index = ?1")?;
        Ok(statement
            .query_row([leaf_index as i64], stored_record)
            .optional()?)
    }

    fn current(&self, target_id: &str) -> Result<Option<CurrentState>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT content_type, leaf_index, retracted FROM current_records WHERE target_id = ?1",
        )?;
        let state = statement
            .query_row([target_id], |row| {
                Ok(CurrentState {
                    content_type: record_type(&row.get::<_, String>(0)?)?,
                    leaf_index: row.get::<_, i64>(1)? as u64,
                    retracted: row.get::<_, i64>(2)? != 0,
                })
            })
            .optional()?;
        Ok(state)
    }

    fn leaf_count(&self) -> Result<u64, StoreError> {
        leaf_count(&self.connection)
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT leaf FROM records WHERE leaf_index >= ?1 AND leaf_index < ?2 ORDER BY leaf_index")?;
        let leaves = statement
            .query_map([clamp_to_i64(start), clamp_to_i64(end)], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(leaves)
    }

    fn private_part(&self, id: &str) -> Result<Option<PrivatePart>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT p.salt, p.data FROM private_parts p JOIN records r ON r.leaf_index = p.leaf_index WHERE r.id = ?1",
        )?;
        let part = statement
            .query_row([id], |row| {
                Ok(PrivatePart {
                    salt: digest(&row.get::<_, Vec<u8>>(0)?),
                    data: row.get(1)?,
                })
            })
            .optional()?;
        Ok(part)
    }

    fn erase_private(&mut self, id: &str) -> Result<u64, StoreError> {
        let transaction = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let erased = transaction.execute(
            "DELETE FROM private_parts WHERE leaf_index IN (SELECT leaf_index FROM records WHERE id = ?1 OR target_id = ?1)",
            [id],
        )?;
        transaction.commit()?;
        Ok(erased as u64)
    }

    fn rollup(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        let table = if query.uses_cargo() {
            RollupTable::Cargo
        } else {
            RollupTable::Passage
        };
        let group_columns: Vec<&str> = query
            .group_by
            .iter()
            .map(|dimension| dimension.column())
            .collect();
        let mut sql = QueryConditions::new(query, FilteredTable::Rollup);
        if let Some(kind) = &query.filter.cargo_kind {
            let placeholder = sql.bind(kind.clone());
            sql.conditions.push(format!("cargo_kind = {placeholder}"));
        }
        let sums = "SUM(passages), SUM(vehicles), SUM(passengers), SUM(passengers_reported), SUM(medical_evacuees), SUM(medical_evacuees_reported), SUM(kilograms), SUM(kilograms_reported)";
        let select_keys = if group_columns.is_empty() {
            String::new()
        } else {
            format!("{}, ", group_columns.join(", "))
        };
        let group = if group_columns.is_empty() {
            String::new()
        } else {
            format!(
                "GROUP BY {0} HAVING SUM(passages) > 0 ORDER BY {0}",
                group_columns.join(", ")
            )
        };
        let text = format!(
            "SELECT {select_keys}{sums} FROM {} WHERE {} {group}",
            table.name(),
            sql.clause()
        );
        let mut statement = self.connection.prepare_cached(&text)?;
        let width = group_columns.len();
        let rows = statement.query_map(rusqlite::params_from_iter(sql.values), |row| {
            let mut keys = Vec::with_capacity(width);
            for (position, dimension) in query.group_by.iter().enumerate() {
                keys.push(if *dimension == Dimension::Day {
                    DimensionValue::Day(row.get(position)?)
                } else {
                    DimensionValue::of_text(row.get(position)?)
                });
            }
            Ok(RollupRow {
                keys,
                metrics: metrics(row, width)?,
            })
        })?;
        let rows: Vec<RollupRow> = rows.collect::<Result<_, _>>()?;
        Ok(rows
            .into_iter()
            .filter(|row| row.metrics.passages > 0)
            .collect())
    }

    fn passage_sums(
        &self,
        query: &RollupQuery,
        attributes: &[(String, String)],
    ) -> Result<Metrics, StoreError> {
        let mut sql = QueryConditions::new(query, FilteredTable::PassageIndex);
        // The first attribute drives the query through its index, so an
        // attribute filter reads the matching passages, not the whole period.
        for (position, (key, value)) in attributes.iter().enumerate() {
            let key = sql.bind(key.clone());
            let value = sql.bind(value.clone());
            let condition = if position == 0 {
                // The index holds site and day too, so the period is a range scan.
                let mut driving =
                    format!("a.key = {key} AND a.value = {value} AND a.day BETWEEN ?1 AND ?2");
                if !sql.site_list.is_empty() {
                    driving.push_str(&format!(" AND a.site IN ({})", sql.site_list));
                }
                driving
            } else {
                format!(
                    "p.leaf_index IN (SELECT leaf_index FROM passage_attributes WHERE key = {key} AND value = {value})"
                )
            };
            sql.conditions.push(condition);
        }
        let from = if attributes.is_empty() {
            "passages p"
        } else {
            "passage_attributes a CROSS JOIN passages p ON p.leaf_index = a.leaf_index"
        };
        // With a cargo filter only vehicles carrying that kind count, and
        // their tonnes are that kind's tonnes, as in the cargo rollup.
        let kilograms = match &query.filter.cargo_kind {
            Some(kind) => {
                let kind = sql.carrying(kind);
                format!(
                    "(SELECT SUM(c.kilograms) FROM passage_cargo c WHERE c.leaf_index = p.leaf_index AND c.kind = {kind})"
                )
            }
            None => "p.kilograms".to_string(),
        };
        let text = format!(
            "SELECT COUNT(*), SUM(p.count), SUM(p.passengers), COUNT(p.passengers), SUM(p.medical_evacuees), COUNT(p.medical_evacuees), SUM({kilograms}), COUNT({kilograms}) FROM {from} WHERE {}",
            sql.clause()
        );
        let mut statement = self.connection.prepare_cached(&text)?;
        Ok(
            statement.query_row(rusqlite::params_from_iter(sql.values), |row| {
                metrics(row, 0)
            })?,
        )
    }

    fn rollup_differences(&self) -> Result<Vec<RollupDifference>, StoreError> {
        // The recount applies the same per-passage rule as `append`, to the
        // passages marked current, one passage (with its cargo lines) at a time.
        let mut recount = RollupDeltas::default();
        let mut statement = self.connection.prepare(&format!(
            "SELECT p.leaf_index, {PASSAGE_FACT_COLUMNS}, c.kind, c.kilograms
             FROM passages p LEFT JOIN passage_cargo c ON c.leaf_index = p.leaf_index
             WHERE p.current = 1 ORDER BY p.leaf_index, c.line"
        ))?;
        let mut rows = statement.query([])?;
        let mut pending: Option<(i64, PassageFacts)> = None;
        while let Some(row) = rows.next()? {
            let leaf_index: i64 = row.get(0)?;
            if pending.as_ref().map(|(index, _)| *index) != Some(leaf_index) {
                if let Some((_, facts)) = pending.take() {
                    recount.apply(&facts, 1);
                }
                pending = Some((leaf_index, passage_facts(row, 1)?));
            }
            if let (Some((_, facts)), Some(kind)) =
                (&mut pending, row.get::<_, Option<String>>(17)?)
            {
                facts.cargo.push((
                    kind,
                    row.get::<_, Option<i64>>(18)?
                        .map(|kilograms| kilograms as u64),
                ));
            }
        }
        if let Some((_, facts)) = pending.take() {
            recount.apply(&facts, 1);
        }
        let mut differences = Vec::new();
        for (table, recounted) in [
            (RollupTable::Passage, recount.passage),
            (RollupTable::Cargo, recount.cargo),
        ] {
            let mut statement = self.connection.prepare(&format!(
                "SELECT {ROLLUP_KEY_COLUMNS}, {METRIC_COLUMNS} FROM {}",
                table.name()
            ))?;
            let stored = statement
                .query_map([], |row| {
                    Ok((
                        RollupKey {
                            site: row.get(0)?,
                            day: row.get(1)?,
                            category: row.get(2)?,
                            operator: row.get(3)?,
                            direction: row.get(4)?,
                            outcome: row.get(5)?,
                            vehicle_class: row.get(6)?,
                            source_kind: row.get(7)?,
                            source_name: row.get(8)?,
                            recorded_by: row.get(9)?,
                            cargo_kind: row.get(10)?,
                        },
                        metrics(row, 11)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            differences.extend(rollup_differences(table, stored, recounted));
        }
        Ok(differences)
    }

    fn passages(
        &self,
        query: &RollupQuery,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<ListedPassage>, StoreError> {
        let mut sql = QueryConditions::new(query, FilteredTable::PassageIndex);
        if let Some(kind) = &query.filter.cargo_kind {
            sql.carrying(kind);
        }
        sql.values.push(clamp_to_i64(limit).into());
        let limit_placeholder = format!("?{}", sql.values.len());
        sql.values.push(clamp_to_i64(offset).into());
        // (site, day) is indexed and SQLite orders index entries by rowid
        // within a key, so this order needs no sort.
        let text = format!(
            "SELECT p.leaf_index, p.target_id, r.leaf FROM passages p JOIN records r ON r.leaf_index = p.leaf_index
             WHERE {} ORDER BY p.site, p.day, p.leaf_index LIMIT {limit_placeholder} OFFSET ?{}",
            sql.clause(),
            sql.values.len()
        );
        let mut statement = self.connection.prepare_cached(&text)?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(sql.values), |row| {
                Ok(ListedPassage {
                    leaf_index: row.get::<_, i64>(0)? as u64,
                    target_id: row.get(1)?,
                    leaf: row.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn current_of_type(
        &self,
        content_type: RecordType,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        // Non-passage records are few among millions of passages: the literal
        // condition lets SQLite use the partial index that holds only them.
        let sql = if content_type == RecordType::Passage {
            "SELECT c.target_id, r.leaf FROM current_records c JOIN records r ON r.leaf_index = c.leaf_index
             WHERE c.content_type = ?1 AND c.retracted = 0 ORDER BY c.leaf_index"
        } else {
            "SELECT c.target_id, r.leaf FROM current_records c JOIN records r ON r.leaf_index = c.leaf_index
             WHERE c.content_type = ?1 AND c.content_type <> 'passage' AND c.retracted = 0 ORDER BY c.leaf_index"
        };
        let mut statement = self.connection.prepare_cached(sql)?;
        let rows = statement
            .query_map([content_type.as_str()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn count_by_type(&self) -> Result<Vec<(RecordType, u64)>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT record_type, COUNT(*) FROM records GROUP BY record_type ORDER BY record_type",
        )?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    record_type(&row.get::<_, String>(0)?)?,
                    row.get::<_, i64>(1)? as u64,
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        read_meta(&self.connection, key)
    }

    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        write_meta(&self.connection, key, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("store.db");
        let mut store = SqliteStore::open(&path).expect("opens");
        store.set_meta("schema_version", b"99").expect("writes");
        drop(store);
        let error = SqliteStore::open(&path).expect_err("refuses");
        assert!(
            matches!(error, StoreError::NewerSchema { found: 99, .. }),
            "{error}"
        );
    }

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
