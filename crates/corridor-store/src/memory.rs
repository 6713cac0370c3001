//! An in-memory backend that keeps the same contract as SQLite and can be told
//! to fail, so callers' handling of storage faults can be tested.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use corridor_model::RecordType;

use crate::lease::{self, Lease, LeaseRow, LeaseState, LeaseStore, TreeHead, now_ms};
use crate::rollup::{
    Metrics, RollupDeltas, RollupDifference, RollupKey, RollupQuery, RollupRow, RollupTable,
    group_rows, matching_metrics, rollup_differences,
};
use crate::{
    ApiToken, CurrentState, Effect, ListedPassage, NewRecord, PassageFacts, PrivatePart, Store,
    StoreError, StoredRecord, TokenStore,
};

/// A fault the memory store injects into the next write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The next `append` succeeds (to place a later fault).
    Pass,
    /// The next `append` fails before anything is written.
    FailWrite,
    /// The next `append` fails at commit, after applying part of the batch
    /// internally: it must still leave nothing visible.
    FailCommit,
    /// The next `append` writes the whole batch but flushing it to disk
    /// fails (a failed `fsync`): the caller is told the write failed, yet the
    /// batch may have reached the disk and be there after a restart. This
    /// store keeps it, the case a caller must handle: it must not count the
    /// records as stored, and submitting them again must store each exactly
    /// once (they are then recognised as already stored).
    FailSync,
}

/// Records, indexes, rollups and tokens held in memory, behind a
/// connection: [`MemoryStore::connect`] opens another connection to the same
/// data, as two SQLite connections share one file.
#[derive(Debug, Default)]
pub struct MemoryStore {
    database: Arc<Mutex<Database>>,
}

/// What every connection to one memory store shares.
#[derive(Debug, Default)]
struct Database {
    state: State,
    faults: Vec<Fault>,
    /// How many coming reads of a record (by id or leaf) or of a current
    /// state fail, as a dropped connection makes them fail.
    failing_reads: usize,
    /// Tokens with the hash of their secret, in insertion order. Kept out of
    /// `state`, which every append copies: tokens are not written by appends.
    tokens: Vec<(ApiToken, [u8; 32])>,
    /// The integrator lease and the recorded tree head (local clock).
    lease: Option<LeaseRow>,
    tree_head: Option<TreeHead>,
}

#[derive(Debug, Default, Clone)]
struct State {
    records: Vec<StoredRecord>,
    by_id: HashMap<String, u64>,
    current: HashMap<String, CurrentState>,
    private: BTreeMap<u64, PrivatePart>,
    passages: HashMap<u64, PassageFacts>,
    passage_rollup: BTreeMap<RollupKey, Metrics>,
    cargo_rollup: BTreeMap<RollupKey, Metrics>,
    meta: BTreeMap<String, Vec<u8>>,
    /// The token that submitted each record, by record id.
    submitters: HashMap<String, String>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Another connection to the same data: what either writes, both read,
    /// and faults injected through either fire on the next write of either.
    /// A pipelined writer validates through one connection while its commit
    /// thread appends through the other.
    pub fn connect(&self) -> MemoryStore {
        MemoryStore {
            database: Arc::clone(&self.database),
        }
    }

    /// Queues a fault for a coming write; faults fire in the order given.
    pub fn inject(&mut self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Makes the next `count` reads of a record (by id or by leaf) or of a
    /// logical record's current state fail, on every connection.
    pub fn fail_reads(&mut self, count: usize) {
        self.lock().failing_reads = count;
    }

    /// The shared data. A panic while it was held leaves it as consistent
    /// as the panic found it (an append swaps its new state in at the end),
    /// so a poisoned lock is taken over rather than passed on.
    fn lock(&self) -> MutexGuard<'_, Database> {
        self.database
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    fn append(&mut self, batch: &[NewRecord]) -> Result<Vec<u64>, StoreError> {
        let mut deltas = RollupDeltas::default();
        let mut indexes = Vec::with_capacity(batch.len());
        for record in batch {
            if let Some(existing) = self.by_id.get(&record.id) {
                return Err(StoreError::DuplicateId {
                    id: record.id.clone(),
                    leaf_index: *existing,
                });
            }
            let leaf_index = self.records.len() as u64;
            match record.effect {
                Effect::Create => {
                    self.current.insert(
                        record.target_id.clone(),
                        CurrentState {
                            content_type: record.content_type,
                            leaf_index,
                            retracted: false,
                        },
                    );
                }
                Effect::Replace | Effect::Retract => {
                    let Some(state) = self
                        .current
                        .get_mut(&record.target_id)
                        .filter(|state| !state.retracted)
                    else {
                        return Err(StoreError::UnknownTarget {
                            target_id: record.target_id.clone(),
                        });
                    };
                    if let Some(old) = self.passages.get(&state.leaf_index) {
                        deltas.apply(old, -1);
                    }
                    if record.effect == Effect::Replace {
                        state.leaf_index = leaf_index;
                    } else {
                        state.retracted = true;
                    }
                }
            }
            if let Some(private) = &record.private {
                self.private.insert(leaf_index, private.clone());
            }
            if let (Some(facts), false) = (&record.passage, record.effect == Effect::Retract) {
                self.passages.insert(leaf_index, facts.clone());
                deltas.apply(facts, 1);
            }
            if let Some(token_id) = &record.submitter {
                self.submitters
                    .entry(record.id.clone())
                    .or_insert_with(|| token_id.clone());
            }
            self.by_id.insert(record.id.clone(), leaf_index);
            self.records.push(StoredRecord {
                leaf_index,
                id: record.id.clone(),
                target_id: record.target_id.clone(),
                record_type: record.record_type,
                content_digest: record.content_digest,
                leaf: record.leaf.clone(),
            });
            indexes.push(leaf_index);
        }
        for (key, metrics) in deltas.passage {
            self.passage_rollup.entry(key).or_default().add(&metrics);
        }
        for (key, metrics) in deltas.cargo {
            self.cargo_rollup.entry(key).or_default().add(&metrics);
        }
        Ok(indexes)
    }
}

impl Database {
    /// Fails this read if [`MemoryStore::fail_reads`] asked for it.
    fn read_fault(&mut self) -> Result<(), StoreError> {
        if self.failing_reads == 0 {
            return Ok(());
        }
        self.failing_reads -= 1;
        Err(StoreError::Injected("read failed"))
    }
}

impl Store for MemoryStore {
    fn append(&mut self, batch: &[NewRecord]) -> Result<Vec<u64>, StoreError> {
        let mut database = self.lock();
        let fault = if database.faults.is_empty() {
            None
        } else {
            Some(database.faults.remove(0))
        };
        if fault == Some(Fault::FailWrite) {
            return Err(StoreError::Injected("write failed"));
        }
        // Work on a copy and swap it in only on success: all or nothing.
        let mut next = database.state.clone();
        let indexes = next.append(batch)?;
        if fault == Some(Fault::FailCommit) {
            return Err(StoreError::Injected("commit failed"));
        }
        database.state = next;
        if fault == Some(Fault::FailSync) {
            return Err(StoreError::OutcomeUnknown {
                source: Box::new(StoreError::Injected("flushing the commit to disk failed")),
            });
        }
        Ok(indexes)
    }

    fn record(&self, id: &str) -> Result<Option<StoredRecord>, StoreError> {
        let mut database = self.lock();
        database.read_fault()?;
        Ok(database
            .state
            .by_id
            .get(id)
            .map(|index| database.state.records[*index as usize].clone()))
    }

    fn records(&self, ids: &[&str]) -> Result<Vec<StoredRecord>, StoreError> {
        crate::records_one_by_one(self, ids)
    }

    fn record_at(&self, leaf_index: u64) -> Result<Option<StoredRecord>, StoreError> {
        let mut database = self.lock();
        database.read_fault()?;
        Ok(usize::try_from(leaf_index)
            .ok()
            .and_then(|index| database.state.records.get(index))
            .cloned())
    }

    fn current(&self, target_id: &str) -> Result<Option<CurrentState>, StoreError> {
        let mut database = self.lock();
        database.read_fault()?;
        Ok(database.state.current.get(target_id).cloned())
    }

    fn leaf_count(&self) -> Result<u64, StoreError> {
        let database = self.lock();
        Ok(database.state.records.len() as u64)
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let database = self.lock();
        let length = database.state.records.len();
        let start = usize::try_from(start).unwrap_or(length).min(length);
        let end = usize::try_from(end)
            .unwrap_or(length)
            .min(length)
            .max(start);
        Ok(database.state.records[start..end]
            .iter()
            .map(|record| record.leaf.clone())
            .collect())
    }

    fn private_part(&self, id: &str) -> Result<Option<PrivatePart>, StoreError> {
        let database = self.lock();
        Ok(database
            .state
            .by_id
            .get(id)
            .and_then(|index| database.state.private.get(index))
            .cloned())
    }

    fn export(&self, start: u64, end: u64) -> Result<Vec<NewRecord>, StoreError> {
        let database = self.lock();
        let state = &database.state;
        let length = state.records.len() as u64;
        (start.min(length)..end.min(length))
            .map(|leaf_index| {
                let record = &state.records[leaf_index as usize];
                let content_type = state
                    .current
                    .get(&record.target_id)
                    .map(|current| current.content_type)
                    .ok_or_else(|| StoreError::Backend {
                        source: format!(
                            "record {:?} (leaf {leaf_index}): its logical record {:?} is missing",
                            record.id, record.target_id
                        )
                        .into(),
                    })?;
                Ok(NewRecord {
                    id: record.id.clone(),
                    target_id: record.target_id.clone(),
                    record_type: record.record_type,
                    content_type,
                    effect: crate::export::effect_of(record.record_type),
                    leaf: record.leaf.clone(),
                    content_digest: record.content_digest,
                    private: state.private.get(&leaf_index).cloned(),
                    passage: state.passages.get(&leaf_index).cloned(),
                    submitter: state.submitters.get(&record.id).cloned(),
                })
            })
            .collect()
    }

    fn erase_private(&mut self, id: &str) -> Result<u64, StoreError> {
        let mut database = self.lock();
        let doomed: Vec<u64> = database
            .state
            .records
            .iter()
            .filter(|record| record.id == id || record.target_id == id)
            .map(|record| record.leaf_index)
            .collect();
        Ok(doomed
            .iter()
            .filter(|index| database.state.private.remove(index).is_some())
            .count() as u64)
    }

    fn rollup(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        let database = self.lock();
        let table = if query.uses_cargo() {
            &database.state.cargo_rollup
        } else {
            &database.state.passage_rollup
        };
        Ok(group_rows(table.iter(), query))
    }

    fn passage_sums(
        &self,
        query: &RollupQuery,
        attributes: &[(String, String)],
    ) -> Result<Metrics, StoreError> {
        let database = self.lock();
        let mut total = Metrics::default();
        for state in database
            .state
            .current
            .values()
            .filter(|state| !state.retracted)
        {
            let Some(facts) = database.state.passages.get(&state.leaf_index) else {
                continue;
            };
            if attributes
                .iter()
                .all(|wanted| facts.attributes.contains(wanted))
                && let Some(metrics) = matching_metrics(facts, query)
            {
                total.add(&metrics);
            }
        }
        Ok(total)
    }

    fn rollup_differences(&self) -> Result<Vec<RollupDifference>, StoreError> {
        let database = self.lock();
        let mut recount = RollupDeltas::default();
        for state in database
            .state
            .current
            .values()
            .filter(|state| !state.retracted)
        {
            if let Some(facts) = database.state.passages.get(&state.leaf_index) {
                recount.apply(facts, 1);
            }
        }
        let mut differences = rollup_differences(
            RollupTable::Passage,
            database.state.passage_rollup.clone(),
            recount.passage,
        );
        differences.extend(rollup_differences(
            RollupTable::Cargo,
            database.state.cargo_rollup.clone(),
            recount.cargo,
        ));
        Ok(differences)
    }

    fn passages(
        &self,
        query: &RollupQuery,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<ListedPassage>, StoreError> {
        let database = self.lock();
        let mut listed: Vec<(String, i32, u64, String)> = Vec::new();
        for (target, state) in database
            .state
            .current
            .iter()
            .filter(|(_, state)| !state.retracted)
        {
            let Some(facts) = database.state.passages.get(&state.leaf_index) else {
                continue;
            };
            if matching_metrics(facts, query).is_some() {
                listed.push((
                    facts.site.clone(),
                    facts.day,
                    state.leaf_index,
                    target.clone(),
                ));
            }
        }
        listed.sort();
        Ok(listed
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(_, _, leaf_index, target_id)| ListedPassage {
                leaf_index,
                target_id,
                leaf: database.state.records[leaf_index as usize].leaf.clone(),
            })
            .collect())
    }

    fn current_of_type(
        &self,
        content_type: RecordType,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let database = self.lock();
        let mut rows: Vec<(u64, String)> = database
            .state
            .current
            .iter()
            .filter(|(_, state)| state.content_type == content_type && !state.retracted)
            .map(|(target, state)| (state.leaf_index, target.clone()))
            .collect();
        rows.sort();
        Ok(rows
            .into_iter()
            .map(|(index, target)| (target, database.state.records[index as usize].leaf.clone()))
            .collect())
    }

    fn count_by_type(&self) -> Result<Vec<(RecordType, u64)>, StoreError> {
        let database = self.lock();
        let mut counts: BTreeMap<&str, (RecordType, u64)> = BTreeMap::new();
        for record in &database.state.records {
            counts
                .entry(record.record_type.as_str())
                .or_insert((record.record_type, 0))
                .1 += 1;
        }
        Ok(counts.into_values().collect())
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let database = self.lock();
        Ok(database.state.meta.get(key).cloned())
    }

    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut database = self.lock();
        database.state.meta.insert(key.to_string(), value.to_vec());
        Ok(())
    }
}

impl LeaseStore for MemoryStore {
    fn acquire_lease(
        &mut self,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<LeaseState, StoreError> {
        let mut database = self.lock();
        let (row, state) = lease::acquire(database.lease.as_ref(), holder, ttl, now_ms());
        if row.is_some() {
            database.lease = row;
        }
        Ok(state)
    }

    fn release_lease(&mut self, held: &Lease) -> Result<(), StoreError> {
        let mut database = self.lock();
        if let Some(row) = lease::release(database.lease.as_ref(), held, now_ms()) {
            database.lease = Some(row);
        }
        Ok(())
    }

    fn tree_head(&self) -> Result<Option<TreeHead>, StoreError> {
        Ok(self.lock().tree_head)
    }

    fn advance_tree_head(
        &mut self,
        held: &Lease,
        from: Option<&TreeHead>,
        to: &TreeHead,
    ) -> Result<(), StoreError> {
        let mut database = self.lock();
        let refusal = lease::lease_refusal(database.lease.as_ref(), held, now_ms())
            .or_else(|| lease::head_refusal(database.tree_head.as_ref(), from, to));
        if let Some(reason) = refusal {
            return Err(StoreError::Fenced { reason });
        }
        database.tree_head = Some(*to);
        Ok(())
    }
}

impl TokenStore for MemoryStore {
    fn insert_token(&mut self, token: &ApiToken, secret_hash: &[u8; 32]) -> Result<(), StoreError> {
        let mut database = self.lock();
        if database
            .tokens
            .iter()
            .any(|(stored, hash)| stored.id == token.id || hash == secret_hash)
        {
            return Err(StoreError::DuplicateToken {
                id: token.id.clone(),
            });
        }
        database.tokens.push((token.clone(), *secret_hash));
        Ok(())
    }

    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        let database = self.lock();
        Ok(database
            .tokens
            .iter()
            .find(|(_, hash)| hash == secret_hash)
            .map(|(token, _)| token.clone()))
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let database = self.lock();
        let mut tokens: Vec<ApiToken> = database
            .tokens
            .iter()
            .map(|(token, _)| token.clone())
            .collect();
        tokens.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(tokens)
    }

    fn tokens_with_hashes(&self) -> Result<Vec<(ApiToken, [u8; 32])>, StoreError> {
        let database = self.lock();
        let mut tokens = database.tokens.clone();
        tokens.sort_by(|(a, _), (b, _)| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(tokens)
    }

    fn revoke_token(&mut self, id: &str, revoked_at: &str) -> Result<bool, StoreError> {
        let mut database = self.lock();
        let Some((token, _)) = database
            .tokens
            .iter_mut()
            .find(|(token, _)| token.id == id && token.revoked_at.is_none())
        else {
            return Ok(false);
        };
        token.revoked_at = Some(revoked_at.to_string());
        Ok(true)
    }

    fn submitter(&self, record_id: &str) -> Result<Option<String>, StoreError> {
        let database = self.lock();
        Ok(database.state.submitters.get(record_id).cloned())
    }
}
