//! Reads: records by id and leaf index, current state, private parts, the
//! non-passage snapshot, counts, the rollup recount, and the row readers
//! every query shares.

use corridor_model::RecordType;
use rusqlite::{Connection, OptionalExtension};

use std::collections::BTreeMap;

use super::schema::{METRIC_COLUMNS, PASSAGE_FACT_COLUMNS, ROLLUP_KEY_COLUMNS};
use crate::export::{self, ExportedRow};
use crate::rollup::{Metrics, RollupDeltas, RollupDifference, RollupKey, RollupTable};
use crate::{CurrentState, NewRecord, PassageFacts, PrivatePart, StoreError, StoredRecord};

/// How many leaves are stored, which is also the next leaf index.
pub(super) fn leaf_count(connection: &Connection) -> Result<u64, StoreError> {
    let count: i64 = connection
        .prepare_cached("SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM records")?
        .query_row([], |row| row.get(0))?;
    Ok(count as u64)
}

pub(super) fn record(
    connection: &Connection,
    id: &str,
) -> Result<Option<StoredRecord>, StoreError> {
    let mut statement = connection
        .prepare_cached("SELECT leaf_index, id, target_id, record_type, content_digest, leaf FROM records WHERE id = ?1")?;
    Ok(statement.query_row([id], stored_record).optional()?)
}

pub(super) fn record_at(
    connection: &Connection,
    leaf_index: u64,
) -> Result<Option<StoredRecord>, StoreError> {
    let mut statement = connection
        .prepare_cached("SELECT leaf_index, id, target_id, record_type, content_digest, leaf FROM records WHERE leaf_index = ?1")?;
    Ok(statement
        .query_row([leaf_index as i64], stored_record)
        .optional()?)
}

pub(super) fn current(
    connection: &Connection,
    target_id: &str,
) -> Result<Option<CurrentState>, StoreError> {
    let mut statement = connection.prepare_cached(
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

pub(super) fn leaves(
    connection: &Connection,
    start: u64,
    end: u64,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT leaf FROM records WHERE leaf_index >= ?1 AND leaf_index < ?2 ORDER BY leaf_index",
    )?;
    let leaves = statement
        .query_map([clamp_to_i64(start), clamp_to_i64(end)], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(leaves)
}

pub(super) fn private_part(
    connection: &Connection,
    id: &str,
) -> Result<Option<PrivatePart>, StoreError> {
    let mut statement = connection.prepare_cached(
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

pub(super) fn rollup_differences(
    connection: &Connection,
) -> Result<Vec<RollupDifference>, StoreError> {
    // The recount applies the same per-passage rule as `append`, to the
    // passages marked current, one passage (with its cargo lines) at a time.
    let mut recount = RollupDeltas::default();
    let mut statement = connection.prepare(&format!(
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
        if let (Some((_, facts)), Some(kind)) = (&mut pending, row.get::<_, Option<String>>(17)?) {
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
        let mut statement = connection.prepare(&format!(
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
        differences.extend(crate::rollup::rollup_differences(table, stored, recounted));
    }
    Ok(differences)
}

pub(super) fn current_of_type(
    connection: &Connection,
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
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement
        .query_map([content_type.as_str()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(super) fn count_by_type(connection: &Connection) -> Result<Vec<(RecordType, u64)>, StoreError> {
    let mut statement = connection.prepare_cached(
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

/// The facts of a passage from the [`PASSAGE_FACT_COLUMNS`] starting at
/// `first`, without its cargo lines and attributes.
pub(super) fn passage_facts(
    row: &rusqlite::Row<'_>,
    first: usize,
) -> Result<PassageFacts, rusqlite::Error> {
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
pub(super) fn metrics(row: &rusqlite::Row<'_>, first: usize) -> Result<Metrics, rusqlite::Error> {
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
pub(super) fn clamp_to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
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

/// The records at leaf indexes `start..end` as the records that store them
/// again (see [`crate::Store::export`]): four range reads, assembled by
/// `crate::export`.
pub(super) fn export(
    connection: &Connection,
    start: u64,
    end: u64,
) -> Result<Vec<NewRecord>, StoreError> {
    let range = [clamp_to_i64(start), clamp_to_i64(end)];
    let query = |text: &str| export::with_placeholders(text, "?1", "?2");
    let rows = connection
        .prepare(&query(export::RECORDS))?
        .query_map(range, |row| {
            let salt: Option<Vec<u8>> = row.get(8)?;
            let data: Option<Vec<u8>> = row.get(9)?;
            Ok(ExportedRow {
                leaf_index: row.get::<_, i64>(0)? as u64,
                id: row.get(1)?,
                target_id: row.get(2)?,
                record_type: row.get(3)?,
                content_digest: row.get(4)?,
                leaf: row.get(5)?,
                content_type: row.get(6)?,
                submitter: row.get(7)?,
                private: salt.zip(data),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let passages = connection
        .prepare(&format!(
            "SELECT p.leaf_index, {PASSAGE_FACT_COLUMNS} FROM passages p \
             WHERE p.leaf_index >= ?1 AND p.leaf_index < ?2"
        ))?
        .query_map(range, |row| {
            Ok((row.get::<_, i64>(0)? as u64, passage_facts(row, 1)?))
        })?
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let cargo = connection
        .prepare(&query(export::CARGO))?
        .query_map(range, |row| {
            Ok((
                row.get::<_, i64>(0)? as u64,
                row.get(1)?,
                row.get::<_, Option<i64>>(2)?
                    .map(|kilograms| kilograms as u64),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let attributes = connection
        .prepare(&query(export::ATTRIBUTES))?
        .query_map(range, |row| {
            Ok((row.get::<_, i64>(0)? as u64, row.get(1)?, row.get(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    export::assemble(rows, passages, cargo, attributes)
}
