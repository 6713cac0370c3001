//! The PostgreSQL append transaction and the erasure of private parts.
//!
//! An append locks the `sequencer` row (`SELECT ... FOR UPDATE`), so
//! appends from every connection and every server run one after another;
//! the row holds the next leaf index, which the transaction advances, so
//! leaf indexes are dense from 0 and a failed batch leaves no gap. Under
//! the lock the batch is checked and planned in memory, in batch order,
//! with the same rules as SQLite's row-by-row append (the first duplicate
//! id or unknown target in batch order refuses the whole batch), using the
//! stored ids, current states and superseded passages read in three
//! queries. The plan is then written with one `INSERT ... SELECT FROM
//! UNNEST(...)` per table, and the rollups with one upsert per table, all
//! in the same transaction. The unique constraint on `records.id` backs the
//! check up.
//!
//! Two servers storing the same id at once: the second waits on the lock,
//! then finds the id stored and is refused with
//! [`StoreError::DuplicateId`] naming the leaf; the writer above then
//! answers "already stored" when the content digests agree, and refuses
//! the record naming that leaf when they differ.

use std::collections::{BTreeMap, HashMap, HashSet};

use postgres::IsolationLevel;
use postgres::types::ToSql;

use super::pool::{Pool, backend};
use super::read::{BadRow, passage_facts_from};
use crate::rollup::{RollupDeltas, RollupTable};
use crate::{Effect, NewRecord, PassageFacts, StoreError};

/// How long the check of a reused connection may wait for the server.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Where a logical record stands while a batch is planned.
#[derive(Debug, Clone, Copy)]
struct TargetState {
    leaf_index: i64,
    retracted: bool,
    /// Created by this batch (inserted) rather than stored before (updated).
    created_here: bool,
}

/// Everything one batch writes, table by table.
#[derive(Debug, Default)]
struct Plan<'a> {
    records: Vec<(i64, &'a NewRecord)>,
    targets: BTreeMap<&'a str, (&'a str, TargetState)>,
    superseded: Vec<i64>,
    passages: Vec<(i64, &'a NewRecord, &'a PassageFacts, bool)>,
    deltas: RollupDeltas,
}

/// Stores `batch` in one transaction and returns the leaf index of each record.
///
/// # Errors
/// A duplicate id, a correction of an unknown record, or PostgreSQL's
/// failure; nothing of the batch is stored, except when the connection was
/// lost during `COMMIT` ([`StoreError::OutcomeUnknown`]).
/// Ends a transaction whose client went quiet while holding locks others
/// wait for (a paused or partitioned server). `SET LOCAL`, so that it holds
/// for this transaction only, also behind PgBouncer in transaction mode.
/// No transaction of this store waits on its client for anywhere near as
/// long: each is a few statements sent back to back.
pub(super) const HOLDER_GONE_AFTER: &str = "SET LOCAL idle_in_transaction_session_timeout = '5s'";

pub(super) fn append(
    pool: &std::sync::Arc<Pool>,
    batch: &[NewRecord],
) -> Result<Vec<u64>, StoreError> {
    let shown = pool.shown().to_string();
    let failed = |doing: &'static str| {
        let shown = shown.clone();
        move |error| backend(&shown, doing, error)
    };
    let mut client = pool.get()?;
    // A pooled connection may have died since its last use (a restarted
    // server): nothing was sent yet, so a fresh connection may start over.
    if client.is_valid(CHECK_TIMEOUT).is_err() {
        drop(client);
        client = pool.reconnect()?;
    }
    let mut transaction = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .map_err(failed("starting the append"))?;
    // The sequencer row is locked until this commits: if this process is
    // paused or cut off mid-transaction, PostgreSQL ends the transaction
    // after a while (unacknowledged) so that other servers go on writing.
    transaction
        .batch_execute(HOLDER_GONE_AFTER)
        .map_err(failed("starting the append"))?;
    let first: i64 = transaction
        .query_one(
            "SELECT next_leaf FROM sequencer WHERE single FOR UPDATE",
            &[],
        )
        .map_err(failed("locking the sequencer"))?
        .get(0);

    let ids: Vec<&str> = batch.iter().map(|record| record.id.as_str()).collect();
    let stored: HashMap<String, i64> = transaction
        .query(
            "SELECT id, leaf_index FROM records WHERE id = ANY($1)",
            &[&ids],
        )
        .map_err(failed("looking up the batch's ids"))?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let changed: Vec<&str> = batch
        .iter()
        .filter(|record| record.effect != Effect::Create)
        .map(|record| record.target_id.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut current: HashMap<String, TargetState> = HashMap::new();
    if !changed.is_empty() {
        for row in transaction
            .query(
                "SELECT target_id, leaf_index, retracted FROM current_records WHERE target_id = ANY($1)",
                &[&changed],
            )
            .map_err(failed("reading the current records"))?
        {
            current.insert(
                row.get(0),
                TargetState {
                    leaf_index: row.get(1),
                    retracted: row.get(2),
                    created_here: false,
                },
            );
        }
    }
    let superseded_leaves: Vec<i64> = current
        .values()
        .filter(|state| !state.retracted)
        .map(|state| state.leaf_index)
        .collect();
    let stored_passages = load_passages(&mut transaction, &superseded_leaves, &shown)?;

    let plan = plan(batch, first, &stored, &current, &stored_passages)?;
    write_plan(&mut transaction, &plan, &shown)?;
    let next = first + batch.len() as i64;
    transaction
        .execute("UPDATE sequencer SET next_leaf = $1 WHERE single", &[&next])
        .map_err(failed("advancing the sequencer"))?;
    transaction
        .commit()
        .map_err(|error| commit_error(&shown, error))?;
    Ok(plan
        .records
        .iter()
        .map(|(leaf_index, _)| *leaf_index as u64)
        .collect())
}

/// What a failed `COMMIT` means. An error the server reports and survives
/// (severity `ERROR`: a deferred constraint, a serialization failure, a full
/// disk) aborted the transaction, so nothing is stored. A lost connection,
/// or a server ending the session (`FATAL` or `PANIC`: terminated, shutting
/// down, crashed) may come after the commit record reached the disk: the
/// batch may or may not be stored.
fn commit_error(shown: &str, error: postgres::Error) -> StoreError {
    let session_survived = error
        .as_db_error()
        .is_some_and(|db| !matches!(db.severity(), "FATAL" | "PANIC"));
    if session_survived {
        backend(shown, "committing the append", error)
    } else {
        StoreError::OutcomeUnknown {
            source: Box::new(super::pool::PostgresError::new(
                shown,
                "committing the append; the batch may or may not be stored",
                error,
            )),
        }
    }
}

/// Checks and plans `batch` in order, as SQLite's append would run it.
fn plan<'a>(
    batch: &'a [NewRecord],
    first: i64,
    stored: &HashMap<String, i64>,
    current: &HashMap<String, TargetState>,
    stored_passages: &HashMap<i64, PassageFacts>,
) -> Result<Plan<'a>, StoreError> {
    let mut plan = Plan::default();
    let mut batch_ids: HashMap<&str, i64> = HashMap::new();
    let mut batch_passages: HashMap<i64, usize> = HashMap::new();
    for (leaf_index, record) in (first..).zip(batch) {
        if let Some(existing) = stored
            .get(&record.id)
            .or_else(|| batch_ids.get(record.id.as_str()))
        {
            return Err(StoreError::DuplicateId {
                id: record.id.clone(),
                leaf_index: *existing as u64,
            });
        }
        batch_ids.insert(&record.id, leaf_index);
        match record.effect {
            Effect::Create => {
                plan.targets.insert(
                    &record.target_id,
                    (
                        record.content_type.as_str(),
                        TargetState {
                            leaf_index,
                            retracted: false,
                            created_here: true,
                        },
                    ),
                );
            }
            Effect::Replace | Effect::Retract => {
                let known = plan
                    .targets
                    .get(record.target_id.as_str())
                    .map(|(_, state)| *state)
                    .or_else(|| current.get(&record.target_id).copied());
                let Some(mut state) = known.filter(|state| !state.retracted) else {
                    return Err(StoreError::UnknownTarget {
                        target_id: record.target_id.clone(),
                    });
                };
                let previous = state.leaf_index;
                if let Some(position) = batch_passages.get(&previous) {
                    let entry = &mut plan.passages[*position];
                    plan.deltas.apply(entry.2, -1);
                    entry.3 = false;
                } else if let Some(old) = stored_passages.get(&previous) {
                    plan.deltas.apply(old, -1);
                    plan.superseded.push(previous);
                }
                if record.effect == Effect::Replace {
                    state.leaf_index = leaf_index;
                } else {
                    state.retracted = true;
                }
                let content_type = plan
                    .targets
                    .get(record.target_id.as_str())
                    .map_or(record.content_type.as_str(), |(content_type, _)| {
                        content_type
                    });
                plan.targets
                    .insert(&record.target_id, (content_type, state));
            }
        }
        if let (Some(facts), false) = (&record.passage, record.effect == Effect::Retract) {
            batch_passages.insert(leaf_index, plan.passages.len());
            plan.passages.push((leaf_index, record, facts, true));
            plan.deltas.apply(facts, 1);
        }
        plan.records.push((leaf_index, record));
    }
    Ok(plan)
}

/// Writes a planned batch, one statement per table.
fn write_plan(
    transaction: &mut postgres::Transaction<'_>,
    plan: &Plan<'_>,
    shown: &str,
) -> Result<(), StoreError> {
    let failed = |doing: &'static str| move |error| backend(shown, doing, error);
    let records = &plan.records;
    let leaf_indexes: Vec<i64> = records.iter().map(|(leaf, _)| *leaf).collect();
    let ids: Vec<&str> = records.iter().map(|(_, r)| r.id.as_str()).collect();
    let target_ids: Vec<&str> = records.iter().map(|(_, r)| r.target_id.as_str()).collect();
    let types: Vec<&str> = records
        .iter()
        .map(|(_, r)| r.record_type.as_str())
        .collect();
    let digests: Vec<&[u8]> = records.iter().map(|(_, r)| &r.content_digest[..]).collect();
    let leaves: Vec<&[u8]> = records.iter().map(|(_, r)| r.leaf.as_slice()).collect();
    transaction
        .execute(
            "INSERT INTO records (leaf_index, id, target_id, record_type, content_digest, leaf)
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BYTEA[], $6::BYTEA[])",
            &[&leaf_indexes, &ids, &target_ids, &types, &digests, &leaves],
        )
        .map_err(failed("storing the records"))?;

    let (created, updated): (Vec<_>, Vec<_>) = plan
        .targets
        .iter()
        .partition(|(_, (_, state))| state.created_here);
    for (rows, statement, doing) in [
        (
            created,
            "INSERT INTO current_records (target_id, content_type, leaf_index, retracted)
             SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BOOLEAN[])",
            "storing the current records",
        ),
        (
            updated,
            "UPDATE current_records c SET leaf_index = u.leaf_index, retracted = u.retracted
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BOOLEAN[]) AS u(target_id, content_type, leaf_index, retracted)
             WHERE c.target_id = u.target_id",
            "updating the current records",
        ),
    ] {
        if rows.is_empty() {
            continue;
        }
        let targets: Vec<&str> = rows.iter().map(|(target, _)| **target).collect();
        let content_types: Vec<&str> = rows.iter().map(|(_, (kind, _))| *kind).collect();
        let leaves: Vec<i64> = rows.iter().map(|(_, (_, state))| state.leaf_index).collect();
        let retracted: Vec<bool> = rows.iter().map(|(_, (_, state))| state.retracted).collect();
        transaction
            .execute(statement, &[&targets, &content_types, &leaves, &retracted])
            .map_err(failed(doing))?;
    }

    if !plan.superseded.is_empty() {
        transaction
            .execute(
                "UPDATE passages SET current = 0 WHERE leaf_index = ANY($1)",
                &[&plan.superseded],
            )
            .map_err(failed("marking superseded passages"))?;
    }
    write_passages(transaction, plan, shown)?;

    let private: Vec<(i64, &crate::PrivatePart)> = records
        .iter()
        .filter_map(|(leaf, r)| r.private.as_ref().map(|part| (*leaf, part)))
        .collect();
    if !private.is_empty() {
        let leaves: Vec<i64> = private.iter().map(|(leaf, _)| *leaf).collect();
        let salts: Vec<&[u8]> = private.iter().map(|(_, part)| &part.salt[..]).collect();
        let data: Vec<&[u8]> = private
            .iter()
            .map(|(_, part)| part.data.as_slice())
            .collect();
        transaction
            .execute(
                "INSERT INTO private_parts (leaf_index, salt, data) SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[], $3::BYTEA[])",
                &[&leaves, &salts, &data],
            )
            .map_err(failed("storing the private parts"))?;
    }

    let submitted: Vec<(&str, &str)> = records
        .iter()
        .filter_map(|(_, r)| r.submitter.as_deref().map(|token| (r.id.as_str(), token)))
        .collect();
    if !submitted.is_empty() {
        let record_ids: Vec<&str> = submitted.iter().map(|(id, _)| *id).collect();
        let tokens: Vec<&str> = submitted.iter().map(|(_, token)| *token).collect();
        transaction
            .execute(
                "INSERT INTO submissions (record_id, token_id) SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[]) ON CONFLICT DO NOTHING",
                &[&record_ids, &tokens],
            )
            .map_err(failed("storing the submitters"))?;
    }
    write_rollups(transaction, &plan.deltas, shown)
}

fn write_passages(
    transaction: &mut postgres::Transaction<'_>,
    plan: &Plan<'_>,
    shown: &str,
) -> Result<(), StoreError> {
    if plan.passages.is_empty() {
        return Ok(());
    }
    let failed = |doing: &'static str| move |error| backend(shown, doing, error);
    let rows = &plan.passages;
    let text = |pick: fn(&PassageFacts) -> &str| -> Vec<&str> {
        rows.iter().map(|(_, _, facts, _)| pick(facts)).collect()
    };
    let optional = |pick: fn(&PassageFacts) -> Option<&str>| -> Vec<Option<&str>> {
        rows.iter().map(|(_, _, facts, _)| pick(facts)).collect()
    };
    let number = |pick: fn(&PassageFacts) -> Option<i64>| -> Vec<Option<i64>> {
        rows.iter().map(|(_, _, facts, _)| pick(facts)).collect()
    };
    let leaves: Vec<i64> = rows.iter().map(|(leaf, ..)| *leaf).collect();
    let targets: Vec<&str> = rows.iter().map(|(_, r, ..)| r.target_id.as_str()).collect();
    let current: Vec<i32> = rows
        .iter()
        .map(|(.., current)| i32::from(*current))
        .collect();
    let days: Vec<i32> = rows.iter().map(|(_, _, facts, _)| facts.day).collect();
    let counts: Vec<i64> = rows
        .iter()
        .map(|(_, _, facts, _)| i64::from(facts.count))
        .collect();
    let params: [&(dyn ToSql + Sync); 19] = [
        &leaves,
        &targets,
        &current,
        &text(|f| &f.site),
        &days,
        &text(|f| &f.observed_at),
        &text(|f| &f.category),
        &optional(|f| f.operator.as_deref()),
        &text(|f| &f.direction),
        &text(|f| &f.outcome),
        &text(|f| &f.vehicle_class),
        &text(|f| &f.source_kind),
        &text(|f| &f.source_name),
        &text(|f| &f.recorded_by),
        &optional(|f| f.mission.as_deref()),
        &counts,
        &number(|f| f.passengers.map(i64::from)),
        &number(|f| f.medical_evacuees.map(i64::from)),
        &number(|f| {
            f.kilograms
                .map(|kilograms| i64::try_from(kilograms).unwrap_or(i64::MAX))
        }),
    ];
    transaction
        .execute(
            "INSERT INTO passages (leaf_index, target_id, current, site, day, observed_at, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, mission, count, passengers, medical_evacuees, kilograms)
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::INTEGER[], $4::TEXT[], $5::INTEGER[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[], $13::TEXT[], $14::TEXT[], $15::TEXT[], $16::BIGINT[], $17::BIGINT[], $18::BIGINT[], $19::BIGINT[])",
            &params,
        )
        .map_err(failed("indexing the passages"))?;

    let mut cargo_leaves = Vec::new();
    let mut cargo_lines = Vec::new();
    let mut cargo_kinds = Vec::new();
    let mut cargo_kilograms = Vec::new();
    let mut attribute_keys = Vec::new();
    let mut attribute_values = Vec::new();
    let mut attribute_sites = Vec::new();
    let mut attribute_days = Vec::new();
    let mut attribute_leaves = Vec::new();
    for (leaf, _, facts, _) in rows {
        for (line, (kind, kilograms)) in facts.cargo.iter().enumerate() {
            cargo_leaves.push(*leaf);
            cargo_lines.push(i32::try_from(line).unwrap_or(i32::MAX));
            cargo_kinds.push(kind.as_str());
            cargo_kilograms
                .push(kilograms.map(|kilograms| i64::try_from(kilograms).unwrap_or(i64::MAX)));
        }
        for (key, value) in &facts.attributes {
            attribute_keys.push(key.as_str());
            attribute_values.push(value.as_str());
            attribute_sites.push(facts.site.as_str());
            attribute_days.push(facts.day);
            attribute_leaves.push(*leaf);
        }
    }
    if !cargo_leaves.is_empty() {
        transaction
            .execute(
                "INSERT INTO passage_cargo (leaf_index, line, kind, kilograms) SELECT * FROM UNNEST($1::BIGINT[], $2::INTEGER[], $3::TEXT[], $4::BIGINT[])",
                &[&cargo_leaves, &cargo_lines, &cargo_kinds, &cargo_kilograms],
            )
            .map_err(failed("indexing the cargo lines"))?;
    }
    if !attribute_leaves.is_empty() {
        transaction
            .execute(
                "INSERT INTO passage_attributes (key, value, site, day, leaf_index) SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::INTEGER[], $5::BIGINT[]) ON CONFLICT DO NOTHING",
                &[&attribute_keys, &attribute_values, &attribute_sites, &attribute_days, &attribute_leaves],
            )
            .map_err(failed("indexing the attributes"))?;
    }
    Ok(())
}

fn write_rollups(
    transaction: &mut postgres::Transaction<'_>,
    deltas: &RollupDeltas,
    shown: &str,
) -> Result<(), StoreError> {
    for (table, rows) in [
        (RollupTable::Passage, &deltas.passage),
        (RollupTable::Cargo, &deltas.cargo),
    ] {
        if rows.is_empty() {
            continue;
        }
        let keys: Vec<_> = rows.keys().collect();
        let metrics: Vec<_> = rows.values().collect();
        let text = |pick: fn(&crate::RollupKey) -> &str| -> Vec<&str> {
            keys.iter().map(|key| pick(key)).collect()
        };
        let sum = |pick: fn(&crate::Metrics) -> i64| -> Vec<i64> {
            metrics.iter().map(|metrics| pick(metrics)).collect()
        };
        let days: Vec<i32> = keys.iter().map(|key| key.day).collect();
        let params: [&(dyn ToSql + Sync); 19] = [
            &text(|k| &k.site),
            &days,
            &text(|k| &k.category),
            &text(|k| &k.operator),
            &text(|k| &k.direction),
            &text(|k| &k.outcome),
            &text(|k| &k.vehicle_class),
            &text(|k| &k.source_kind),
            &text(|k| &k.source_name),
            &text(|k| &k.recorded_by),
            &text(|k| &k.cargo_kind),
            &sum(|m| m.passages),
            &sum(|m| m.vehicles),
            &sum(|m| m.passengers),
            &sum(|m| m.passengers_reported),
            &sum(|m| m.medical_evacuees),
            &sum(|m| m.medical_evacuees_reported),
            &sum(|m| m.kilograms),
            &sum(|m| m.kilograms_reported),
        ];
        let name = table.name();
        let statement = format!(
            "INSERT INTO {name} AS t (site, day, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, cargo_kind,
                passages, vehicles, passengers, passengers_reported, medical_evacuees, medical_evacuees_reported, kilograms, kilograms_reported)
             SELECT * FROM UNNEST($1::TEXT[], $2::INTEGER[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[],
                $12::BIGINT[], $13::BIGINT[], $14::BIGINT[], $15::BIGINT[], $16::BIGINT[], $17::BIGINT[], $18::BIGINT[], $19::BIGINT[])
             ON CONFLICT (site, day, category, operator, direction, outcome, vehicle_class, source_kind, source_name, recorded_by, cargo_kind) DO UPDATE SET
               passages = t.passages + excluded.passages, vehicles = t.vehicles + excluded.vehicles,
               passengers = t.passengers + excluded.passengers, passengers_reported = t.passengers_reported + excluded.passengers_reported,
               medical_evacuees = t.medical_evacuees + excluded.medical_evacuees,
               medical_evacuees_reported = t.medical_evacuees_reported + excluded.medical_evacuees_reported,
               kilograms = t.kilograms + excluded.kilograms, kilograms_reported = t.kilograms_reported + excluded.kilograms_reported"
        );
        transaction
            .execute(statement.as_str(), &params)
            .map_err(|error| backend(shown, "updating the rollups", error))?;
    }
    Ok(())
}

/// The stored passages at `leaves`, with their cargo lines (attributes are
/// not needed to undo a passage's rollup contribution).
fn load_passages(
    transaction: &mut postgres::Transaction<'_>,
    leaves: &[i64],
    shown: &str,
) -> Result<HashMap<i64, PassageFacts>, StoreError> {
    let mut facts = HashMap::new();
    if leaves.is_empty() {
        return Ok(facts);
    }
    let failed = |doing: &'static str| move |error| backend(shown, doing, error);
    let rows = transaction
        .query(
            &format!(
                "SELECT p.leaf_index, {} FROM passages p WHERE p.leaf_index = ANY($1)",
                super::read::PASSAGE_FACT_COLUMNS
            ),
            &[&leaves],
        )
        .map_err(failed("reading superseded passages"))?;
    for row in &rows {
        let leaf: i64 = row.get(0);
        facts.insert(
            leaf,
            passage_facts_from(row, 1).map_err(BadRow::into_store_error)?,
        );
    }
    for row in transaction
        .query(
            "SELECT leaf_index, kind, kilograms FROM passage_cargo WHERE leaf_index = ANY($1) ORDER BY leaf_index, line",
            &[&leaves],
        )
        .map_err(failed("reading superseded cargo lines"))?
    {
        let leaf: i64 = row.get(0);
        let kilograms: Option<i64> = row.get(2);
        if let Some(passage) = facts.get_mut(&leaf) {
            passage
                .cargo
                .push((row.get(1), kilograms.map(|kilograms| kilograms.max(0) as u64)));
        }
    }
    Ok(facts)
}

/// Erases the private parts of `id` and every record that corrects it, in
/// one transaction, then vacuums the table so the deleted rows leave its
/// pages. Returns how many were erased when none were (nothing to purge).
///
/// # Errors
/// PostgreSQL's failure (nothing is erased); or, when something was erased,
/// [`StoreError::ErasedNotPurged`]: PostgreSQL's write-ahead log (and any
/// archive or base backup of it) still holds the inserted values until
/// its segments are recycled, which no client can force.
pub(super) fn erase_private(pool: &std::sync::Arc<Pool>, id: &str) -> Result<u64, StoreError> {
    let mut client = pool.get()?;
    let erased = client
        .execute(
            "DELETE FROM private_parts WHERE leaf_index IN (SELECT leaf_index FROM records WHERE id = $1 OR target_id = $1)",
            &[&id],
        )
        .map_err(|error| backend(pool.shown(), "erasing private parts", error))?;
    if erased == 0 {
        return Ok(0);
    }
    // VACUUM runs outside a transaction: the DELETE above committed first.
    let vacuumed = client.batch_execute("VACUUM private_parts");
    let reason = match vacuumed {
        Ok(()) => "the rows are deleted and vacuumed out of the table, but PostgreSQL's write-ahead log keeps the inserted values until its segments are recycled after later checkpoints (and WAL archives and base backups keep them until they are deleted)".to_string(),
        Err(error) => format!(
            "the rows are deleted, but vacuuming the table failed ({}), so the values stay in its pages until the next VACUUM (autovacuum runs it), and in the write-ahead log until its segments are recycled",
            super::url::error_chain(&error)
        ),
    };
    Err(StoreError::ErasedNotPurged { erased, reason })
}
