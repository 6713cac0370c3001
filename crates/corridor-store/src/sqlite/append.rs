//! The writes: the append transaction (a batch of records, their private
//! parts, the current-state table, the passage index and the rollups, all or
//! nothing) and the erasure of private parts.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::read::{leaf_count, passage_facts};
use super::schema::{
    INSERT_CURRENT, INSERT_PASSAGE, INSERT_RECORD, METRIC_COLUMNS, PASSAGE_FACT_COLUMNS,
    ROLLUP_KEY_COLUMNS,
};
use super::tokens::INSERT_SUBMISSION;
use crate::rollup::{RollupDeltas, RollupTable};
use crate::{Effect, NewRecord, PassageFacts, StoreError};

/// Stores `batch` in one immediate transaction and returns the leaf index of each record.
///
/// # Errors
/// A duplicate id, a correction of an unknown record, or SQLite's failure;
/// nothing of the batch is stored.
pub(super) fn append(
    connection: &mut Connection,
    batch: &[NewRecord],
) -> Result<Vec<u64>, StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let indexes = append_in(&transaction, batch)?;
    transaction.commit().map_err(commit_error)?;
    Ok(indexes)
}

/// What a failed `COMMIT` means for the batch. In WAL mode the commit
/// appends the batch's frames to the log, the commit frame last, then
/// flushes the log (`synchronous = FULL`). A failed write (`SQLITE_FULL`,
/// `SQLITE_IOERR_WRITE`, e.g. a full disk or a file-size limit) leaves no
/// valid commit frame, so nothing is stored. Any other I/O error (the flush,
/// a truncate, a lock) may come after the commit frame was written: the
/// batch may be there after a restart, so the outcome is unknown.
fn commit_error(error: rusqlite::Error) -> StoreError {
    let outcome_unknown = error.sqlite_error().is_some_and(|failure| {
        failure.code == rusqlite::ErrorCode::SystemIoFailure
            && failure.extended_code != rusqlite::ffi::SQLITE_IOERR_WRITE
    });
    if outcome_unknown {
        StoreError::OutcomeUnknown {
            source: Box::new(error),
        }
    } else {
        error.into()
    }
}

fn append_in(transaction: &Transaction<'_>, batch: &[NewRecord]) -> Result<Vec<u64>, StoreError> {
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
                        .prepare_cached("UPDATE passages SET current = 0 WHERE leaf_index = ?1")?
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
                .prepare_cached(INSERT_SUBMISSION)?
                .execute(params![record.id, token_id])?;
        }
        indexes.push(leaf_index);
    }
    drop(insert_record);
    flush_deltas(transaction, &deltas)?;
    Ok(indexes)
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

/// Erases the private parts of `id` and every record that corrects it, in
/// one transaction, then checkpoints the write-ahead log into the database
/// and truncates it, so the erased bytes are on disk nowhere: the deleted
/// cells were zeroed by `secure_delete`, the zeroed pages replace the old
/// ones in `store.db`, and the frames that held the old pages are gone with
/// the truncated `store.db-wal`. Returns how many parts were erased.
///
/// # Errors
/// SQLite's failure (nothing is erased); [`StoreError::ErasedNotPurged`]
/// when the parts were erased but readers kept the write-ahead log from
/// being truncated within the busy timeout.
pub(super) fn erase_private(connection: &mut Connection, id: &str) -> Result<u64, StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let erased = transaction.execute(
        "DELETE FROM private_parts WHERE leaf_index IN (SELECT leaf_index FROM records WHERE id = ?1 OR target_id = ?1)",
        [id],
    )?;
    transaction.commit()?;
    let erased = erased as u64;
    // TRUNCATE waits (busy_timeout) for readers of older snapshots; a few
    // tries cover a reader that starts again between two of them.
    for _ in 0..CHECKPOINT_TRIES {
        let busy: i64 =
            connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        if busy == 0 {
            return Ok(erased);
        }
    }
    Err(StoreError::ErasedNotPurged {
        erased,
        reason: "readers kept the write-ahead log busy; the old bytes stay in store.db-wal until the next checkpoint (erasing again retries it)".into(),
    })
}

/// How many times erasure tries to truncate the write-ahead log.
const CHECKPOINT_TRIES: usize = 3;
