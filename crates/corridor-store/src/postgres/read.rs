//! PostgreSQL reads: records, current state, private parts, the queries over
//! rollups and the passage index (text shared with SQLite through
//! `query_sql`), the rollup recount, the key-value table and tokens.

use std::collections::BTreeMap;

use corridor_model::RecordType;
use postgres::Row;
use postgres::types::ToSql;

use crate::query_sql::{Bound, Dialect, Sql};
use crate::rollup::{
    Dimension, DimensionValue, Metrics, RollupDeltas, RollupDifference, RollupKey, RollupQuery,
    RollupRow, RollupTable,
};
use crate::{
    ApiToken, CurrentState, ListedPassage, PassageFacts, PrivatePart, StoreError, StoredRecord,
};

/// The passage index columns [`passage_facts_from`] reads, in its order.
pub(super) const PASSAGE_FACT_COLUMNS: &str = "p.site, p.day, p.observed_at, p.category, p.operator, p.direction, p.outcome, p.vehicle_class, p.source_kind, p.source_name, p.recorded_by, p.mission, p.count, p.passengers, p.medical_evacuees, p.kilograms";

const RECORD_COLUMNS: &str = "leaf_index, id, target_id, record_type, content_digest, leaf";

/// A stored row this build cannot read back (a damaged or foreign table).
#[derive(Debug, thiserror::Error)]
#[error("{table}.{column}: {reason}")]
pub(crate) struct BadRow {
    table: &'static str,
    column: &'static str,
    reason: String,
}

impl BadRow {
    pub(super) fn into_store_error(self) -> StoreError {
        StoreError::Backend {
            source: Box::new(self),
        }
    }
}

type Client = postgres::Client;

fn record_type(
    text: &str,
    table: &'static str,
    column: &'static str,
) -> Result<RecordType, BadRow> {
    RecordType::parse(text).ok_or_else(|| BadRow {
        table,
        column,
        reason: format!("{text:?} is not a record type"),
    })
}

fn digest(bytes: &[u8], table: &'static str, column: &'static str) -> Result<[u8; 32], BadRow> {
    <[u8; 32]>::try_from(bytes).map_err(|_| BadRow {
        table,
        column,
        reason: format!("holds {} bytes, not 32", bytes.len()),
    })
}

fn unsigned<T: TryFrom<i64>>(
    value: i64,
    table: &'static str,
    column: &'static str,
) -> Result<T, BadRow> {
    T::try_from(value).map_err(|_| BadRow {
        table,
        column,
        reason: format!("{value} is out of range"),
    })
}

fn stored_record(row: &Row) -> Result<StoredRecord, BadRow> {
    Ok(StoredRecord {
        leaf_index: unsigned(row.get(0), "records", "leaf_index")?,
        id: row.get(1),
        target_id: row.get(2),
        record_type: record_type(row.get(3), "records", "record_type")?,
        content_digest: digest(row.get(4), "records", "content_digest")?,
        leaf: row.get(5),
    })
}

/// The facts of a passage from the [`PASSAGE_FACT_COLUMNS`] starting at
/// `first`, without its cargo lines and attributes.
pub(super) fn passage_facts_from(row: &Row, first: usize) -> Result<PassageFacts, BadRow> {
    let optional = |offset: usize, column: &'static str| -> Result<Option<u32>, BadRow> {
        row.get::<_, Option<i64>>(first + offset)
            .map(|value| unsigned(value, "passages", column))
            .transpose()
    };
    Ok(PassageFacts {
        site: row.get(first),
        day: row.get(first + 1),
        observed_at: row.get(first + 2),
        category: row.get(first + 3),
        operator: row.get(first + 4),
        direction: row.get(first + 5),
        outcome: row.get(first + 6),
        vehicle_class: row.get(first + 7),
        source_kind: row.get(first + 8),
        source_name: row.get(first + 9),
        recorded_by: row.get(first + 10),
        mission: row.get(first + 11),
        count: unsigned(row.get(first + 12), "passages", "count")?,
        passengers: optional(13, "passengers")?,
        medical_evacuees: optional(14, "medical_evacuees")?,
        kilograms: row
            .get::<_, Option<i64>>(first + 15)
            .map(|value| unsigned(value, "passages", "kilograms"))
            .transpose()?,
        cargo: Vec::new(),
        attributes: Vec::new(),
    })
}

/// Metrics from eight sums starting at `first`; a sum over no rows is zero.
fn metrics(row: &Row, first: usize) -> Metrics {
    let sum = |offset: usize| row.get::<_, Option<i64>>(first + offset).unwrap_or(0);
    Metrics {
        passages: sum(0),
        vehicles: sum(1),
        passengers: sum(2),
        passengers_reported: sum(3),
        medical_evacuees: sum(4),
        medical_evacuees_reported: sum(5),
        kilograms: sum(6),
        kilograms_reported: sum(7),
    }
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Runs a query built by `query_sql` with its values bound.
fn run(client: &mut Client, sql: &Sql) -> Result<Vec<Row>, postgres::Error> {
    let values: Vec<Box<dyn ToSql + Sync>> = sql
        .values
        .iter()
        .map(|value| -> Box<dyn ToSql + Sync> {
            match value {
                Bound::Day(day) => Box::new(*day),
                Bound::Text(text) => Box::new(text.clone()),
                Bound::Count(count) => Box::new(*count),
            }
        })
        .collect();
    let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|value| value.as_ref()).collect();
    client.query(sql.text.as_str(), &params)
}

pub(super) fn record(
    client: &mut Client,
    id: &str,
) -> Result<Result<Option<StoredRecord>, BadRow>, postgres::Error> {
    let row = client.query_opt(
        &format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = $1"),
        &[&id],
    )?;
    Ok(row.as_ref().map(stored_record).transpose())
}

/// One query for many ids: `= ANY` over the unique index on `id`.
pub(super) fn records(
    client: &mut Client,
    ids: &[&str],
) -> Result<Result<Vec<StoredRecord>, BadRow>, postgres::Error> {
    let rows = client.query(
        &format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = ANY($1) ORDER BY leaf_index"),
        &[&ids],
    )?;
    Ok(rows.iter().map(stored_record).collect())
}

pub(super) fn record_at(
    client: &mut Client,
    leaf_index: u64,
) -> Result<Result<Option<StoredRecord>, BadRow>, postgres::Error> {
    let row = client.query_opt(
        &format!("SELECT {RECORD_COLUMNS} FROM records WHERE leaf_index = $1"),
        &[&clamp(leaf_index)],
    )?;
    Ok(row.as_ref().map(stored_record).transpose())
}

pub(super) fn current(
    client: &mut Client,
    target_id: &str,
) -> Result<Result<Option<CurrentState>, BadRow>, postgres::Error> {
    let row = client.query_opt(
        "SELECT content_type, leaf_index, retracted FROM current_records WHERE target_id = $1",
        &[&target_id],
    )?;
    Ok(row
        .map(|row| {
            Ok(CurrentState {
                content_type: record_type(row.get(0), "current_records", "content_type")?,
                leaf_index: unsigned(row.get(1), "current_records", "leaf_index")?,
                retracted: row.get(2),
            })
        })
        .transpose())
}

pub(super) fn leaf_count(client: &mut Client) -> Result<Result<u64, BadRow>, postgres::Error> {
    let next: i64 = client
        .query_one("SELECT next_leaf FROM sequencer WHERE single", &[])?
        .get(0);
    Ok(unsigned(next, "sequencer", "next_leaf"))
}

pub(super) fn leaves(
    client: &mut Client,
    start: u64,
    end: u64,
) -> Result<Vec<Vec<u8>>, postgres::Error> {
    Ok(client
        .query(
            "SELECT leaf FROM records WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index",
            &[&clamp(start), &clamp(end)],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

pub(super) fn private_part(
    client: &mut Client,
    id: &str,
) -> Result<Result<Option<PrivatePart>, BadRow>, postgres::Error> {
    let row = client.query_opt(
        "SELECT p.salt, p.data FROM private_parts p JOIN records r ON r.leaf_index = p.leaf_index WHERE r.id = $1",
        &[&id],
    )?;
    Ok(row
        .map(|row| {
            Ok(PrivatePart {
                salt: digest(row.get(0), "private_parts", "salt")?,
                data: row.get(1),
            })
        })
        .transpose())
}

pub(super) fn rollup(
    client: &mut Client,
    query: &RollupQuery,
) -> Result<Vec<RollupRow>, postgres::Error> {
    let sql = crate::query_sql::rollup(query, Dialect::Postgres);
    let width = query.group_by.len();
    Ok(run(client, &sql)?
        .iter()
        .map(|row| {
            let keys = query
                .group_by
                .iter()
                .enumerate()
                .map(|(position, dimension)| {
                    if *dimension == Dimension::Day {
                        DimensionValue::Day(row.get(position))
                    } else {
                        DimensionValue::of_text(row.get(position))
                    }
                })
                .collect();
            RollupRow {
                keys,
                metrics: metrics(row, width),
            }
        })
        .filter(|row| row.metrics.passages > 0)
        .collect())
}

pub(super) fn passage_sums(
    client: &mut Client,
    query: &RollupQuery,
    attributes: &[(String, String)],
) -> Result<Metrics, postgres::Error> {
    let sql = crate::query_sql::passage_sums(query, attributes, Dialect::Postgres);
    Ok(run(client, &sql)?
        .first()
        .map(|row| metrics(row, 0))
        .unwrap_or_default())
}

pub(super) fn passages(
    client: &mut Client,
    query: &RollupQuery,
    offset: u64,
    limit: u64,
) -> Result<Result<Vec<ListedPassage>, BadRow>, postgres::Error> {
    let sql = crate::query_sql::passages(query, clamp(offset), clamp(limit), Dialect::Postgres);
    Ok(run(client, &sql)?
        .iter()
        .map(|row| {
            Ok(ListedPassage {
                leaf_index: unsigned(row.get(0), "passages", "leaf_index")?,
                target_id: row.get(1),
                leaf: row.get(2),
            })
        })
        .collect())
}

pub(super) fn rollup_differences(
    client: &mut Client,
) -> Result<Result<Vec<RollupDifference>, BadRow>, postgres::Error> {
    // The passages and the rollups are read in one snapshot: servers go on
    // appending while this runs, and each append moves both together.
    let mut snapshot = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    // The same per-passage rule as `append`, over the passages marked current.
    let mut recount = RollupDeltas::default();
    let rows = snapshot.query(
        &format!(
            "SELECT p.leaf_index, {PASSAGE_FACT_COLUMNS}, c.kind, c.kilograms
             FROM passages p LEFT JOIN passage_cargo c ON c.leaf_index = p.leaf_index
             WHERE p.current = 1 ORDER BY p.leaf_index, c.line"
        ),
        &[],
    )?;
    let mut pending: Option<(i64, PassageFacts)> = None;
    for row in &rows {
        let leaf_index: i64 = row.get(0);
        if pending.as_ref().map(|(index, _)| *index) != Some(leaf_index) {
            if let Some((_, facts)) = pending.take() {
                recount.apply(&facts, 1);
            }
            match passage_facts_from(row, 1) {
                Ok(facts) => pending = Some((leaf_index, facts)),
                Err(bad) => return Ok(Err(bad)),
            }
        }
        if let (Some((_, facts)), Some(kind)) = (&mut pending, row.get::<_, Option<String>>(17)) {
            let kilograms = row
                .get::<_, Option<i64>>(18)
                .map(|value| unsigned(value, "passage_cargo", "kilograms"))
                .transpose();
            match kilograms {
                Ok(kilograms) => facts.cargo.push((kind, kilograms)),
                Err(bad) => return Ok(Err(bad)),
            }
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
        let stored: Vec<(RollupKey, Metrics)> = snapshot
            .query(
                &format!(
                    "SELECT site, day, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, cargo_kind,
                     passages, vehicles, passengers, passengers_reported, medical_evacuees, medical_evacuees_reported, kilograms, kilograms_reported
                     FROM {}",
                    table.name()
                ),
                &[],
            )?
            .iter()
            .map(|row| {
                (
                    RollupKey {
                        site: row.get(0),
                        day: row.get(1),
                        category: row.get(2),
                        operator: row.get(3),
                        direction: row.get(4),
                        outcome: row.get(5),
                        vehicle_class: row.get(6),
                        source_kind: row.get(7),
                        source_name: row.get(8),
                        recorded_by: row.get(9),
                        cargo_kind: row.get(10),
                    },
                    metrics(row, 11),
                )
            })
            .collect();
        let recounted: BTreeMap<RollupKey, Metrics> = recounted;
        differences.extend(crate::rollup::rollup_differences(table, stored, recounted));
    }
    snapshot.commit()?;
    Ok(Ok(differences))
}

pub(super) fn current_of_type(
    client: &mut Client,
    content_type: RecordType,
) -> Result<Vec<(String, Vec<u8>)>, postgres::Error> {
    // Non-passage records are few: the literal condition lets PostgreSQL
    // use the partial index that holds only them.
    let sql = if content_type == RecordType::Passage {
        "SELECT c.target_id, r.leaf FROM current_records c JOIN records r ON r.leaf_index = c.leaf_index
         WHERE c.content_type = $1 AND NOT c.retracted ORDER BY c.leaf_index"
    } else {
        "SELECT c.target_id, r.leaf FROM current_records c JOIN records r ON r.leaf_index = c.leaf_index
         WHERE c.content_type = $1 AND c.content_type <> 'passage' AND NOT c.retracted ORDER BY c.leaf_index"
    };
    Ok(client
        .query(sql, &[&content_type.as_str()])?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

pub(super) fn count_by_type(
    client: &mut Client,
) -> Result<Result<Vec<(RecordType, u64)>, BadRow>, postgres::Error> {
    Ok(client
        .query(
            "SELECT record_type, COUNT(*) FROM records GROUP BY record_type ORDER BY record_type",
            &[],
        )?
        .iter()
        .map(|row| {
            Ok((
                record_type(row.get(0), "records", "record_type")?,
                unsigned(row.get(1), "records", "record_type")?,
            ))
        })
        .collect())
}

pub(super) fn meta(client: &mut Client, key: &str) -> Result<Option<Vec<u8>>, postgres::Error> {
    Ok(client
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
        .map(|row| row.get(0)))
}

pub(super) fn set_meta(
    client: &mut Client,
    key: &str,
    value: &[u8],
) -> Result<u64, postgres::Error> {
    client.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )
}

/// Sets `key` unless it is set, in one statement; returns what it holds.
/// A row inserted by another transaction meanwhile is seen by the `SELECT`
/// when the `INSERT` does nothing (it waited for that transaction).
pub(super) fn first_meta(
    client: &mut Client,
    key: &str,
    value: &[u8],
) -> Result<Vec<u8>, postgres::Error> {
    let inserted = client.query_opt(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value",
        &[&key, &value],
    )?;
    match inserted {
        Some(row) => row.try_get(0),
        None => client
            .query_one("SELECT value FROM meta WHERE key = $1", &[&key])?
            .try_get(0),
    }
}

const TOKEN_COLUMNS: &str = "id, name, role, created_at, revoked_at";

fn token(row: &Row) -> ApiToken {
    ApiToken {
        id: row.get(0),
        name: row.get(1),
        role: row.get(2),
        created_at: row.get(3),
        revoked_at: row.get(4),
    }
}

pub(super) fn insert_token(
    client: &mut Client,
    token: &ApiToken,
    secret_hash: &[u8; 32],
) -> Result<u64, postgres::Error> {
    client.execute(
        "INSERT INTO api_tokens (id, secret_hash, name, role, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &token.id,
            &secret_hash.as_slice(),
            &token.name,
            &token.role,
            &token.created_at,
            &token.revoked_at,
        ],
    )
}

pub(super) fn token_by_hash(
    client: &mut Client,
    secret_hash: &[u8; 32],
) -> Result<Option<ApiToken>, postgres::Error> {
    Ok(client
        .query_opt(
            &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = $1"),
            &[&secret_hash.as_slice()],
        )?
        .as_ref()
        .map(token))
}

pub(super) fn tokens(client: &mut Client) -> Result<Vec<ApiToken>, postgres::Error> {
    Ok(client
        .query(
            &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"),
            &[],
        )?
        .iter()
        .map(token)
        .collect())
}

pub(super) fn revoke_token(
    client: &mut Client,
    id: &str,
    revoked_at: &str,
) -> Result<bool, postgres::Error> {
    Ok(client.execute(
        "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&id, &revoked_at],
    )? > 0)
}

pub(super) fn submitter(
    client: &mut Client,
    record_id: &str,
) -> Result<Option<String>, postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT token_id FROM submissions WHERE record_id = $1",
            &[&record_id],
        )?
        .map(|row| row.get(0)))
}

/// The records at leaf indexes `start..end` as the records that store them
/// again (see [`crate::Store::export`]): four range reads in one snapshot,
/// assembled by `crate::export`.
pub(super) fn export(
    client: &mut Client,
    start: u64,
    end: u64,
) -> Result<Result<Vec<crate::NewRecord>, StoreError>, postgres::Error> {
    use crate::export::{self, ExportedRow};
    let (start, end) = (clamp(start), clamp(end));
    let query = |text: &str| export::with_placeholders(text, "$1", "$2");
    let mut transaction = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let rows = transaction.query(&query(export::RECORDS), &[&start, &end])?;
    let passages = transaction.query(
        &format!(
            "SELECT p.leaf_index, {PASSAGE_FACT_COLUMNS} FROM passages p \
             WHERE p.leaf_index >= $1 AND p.leaf_index < $2"
        ),
        &[&start, &end],
    )?;
    let cargo = transaction.query(&query(export::CARGO), &[&start, &end])?;
    let attributes = transaction.query(&query(export::ATTRIBUTES), &[&start, &end])?;
    transaction.commit()?;
    type Ranges = (
        Vec<ExportedRow>,
        BTreeMap<u64, PassageFacts>,
        Vec<(u64, String, Option<u64>)>,
        Vec<(u64, String, String)>,
    );
    let assembled = (|| -> Result<Ranges, BadRow> {
        let rows = rows
            .iter()
            .map(|row| {
                let salt: Option<Vec<u8>> = row.get(8);
                let data: Option<Vec<u8>> = row.get(9);
                Ok(ExportedRow {
                    leaf_index: unsigned(row.get(0), "records", "leaf_index")?,
                    id: row.get(1),
                    target_id: row.get(2),
                    record_type: row.get(3),
                    content_digest: row.get(4),
                    leaf: row.get(5),
                    content_type: row.get(6),
                    submitter: row.get(7),
                    private: salt.zip(data),
                })
            })
            .collect::<Result<Vec<_>, BadRow>>()?;
        let passages = passages
            .iter()
            .map(|row| {
                Ok((
                    unsigned(row.get(0), "passages", "leaf_index")?,
                    passage_facts_from(row, 1)?,
                ))
            })
            .collect::<Result<BTreeMap<u64, PassageFacts>, BadRow>>()?;
        let cargo = cargo
            .iter()
            .map(|row| {
                Ok((
                    unsigned(row.get(0), "passage_cargo", "leaf_index")?,
                    row.get(1),
                    row.get::<_, Option<i64>>(2)
                        .map(|kilograms| unsigned(kilograms, "passage_cargo", "kilograms"))
                        .transpose()?,
                ))
            })
            .collect::<Result<Vec<_>, BadRow>>()?;
        let attributes = attributes
            .iter()
            .map(|row| {
                Ok((
                    unsigned(row.get(0), "passage_attributes", "leaf_index")?,
                    row.get(1),
                    row.get(2),
                ))
            })
            .collect::<Result<Vec<_>, BadRow>>()?;
        Ok((rows, passages, cargo, attributes))
    })();
    Ok(match assembled {
        Ok((rows, passages, cargo, attributes)) => {
            export::assemble(rows, passages, cargo, attributes)
        }
        Err(bad) => Err(bad.into_store_error()),
    })
}

/// A token with the hash of its secret.
type HashedToken = (ApiToken, [u8; 32]);

/// Every token with the hash of its secret, oldest first.
pub(super) fn tokens_with_hashes(
    client: &mut Client,
) -> Result<Result<Vec<HashedToken>, BadRow>, postgres::Error> {
    Ok(client
        .query(
            &format!("SELECT {TOKEN_COLUMNS}, secret_hash FROM api_tokens ORDER BY created_at, id"),
            &[],
        )?
        .iter()
        .map(|row| Ok((token(row), digest(row.get(5), "api_tokens", "secret_hash")?)))
        .collect())
}
