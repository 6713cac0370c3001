//! Storage of records, their indexes and rollups behind the [`Store`] trait.
//!
//! This is the only crate that speaks SQL. Callers hand it fully prepared
//! records ([`NewRecord`]: leaf bytes, digest, private part, index facts) and it
//! stores each batch atomically: the record, its private part, the current-state
//! table, the passage index and the rollups, in one transaction. Three backends
//! implement the same contract, checked by one conformance suite
//! (`tests/conformance.rs`): [`SqliteStore`], the default, [`PostgresStore`],
//! and [`MemoryStore`], which can inject faults. Callers open a store with [`open`] from its
//! location (`sqlite:PATH`, a path, or a `postgres://` URL), so none of them
//! names a backend. [`PostgresStore`] keeps the same contract on a database
//! several servers share.

mod boxed;
mod export;
pub mod lease;
mod location;
mod memory;
pub mod postgres;
mod query_sql;
mod rollup;
pub mod sqlite;
pub mod tokens;

pub use lease::{Lease, LeaseState, LeaseStore, TreeHead};
pub use location::{DatabaseUrl, StoreLocation, open};
pub use memory::{Fault, MemoryStore};
pub use postgres::PostgresStore;
pub use rollup::{
    Dimension, DimensionValue, Metrics, RollupDifference, RollupFilter, RollupKey, RollupQuery,
    RollupRow, RollupTable,
};
pub use sqlite::SqliteStore;
pub use tokens::{ApiToken, TokenStore};

use corridor_model::RecordType;

/// What a new record does to the logical record it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A new logical record under its own id.
    Create,
    /// A correction: the content of `target_id` is replaced from now on.
    Replace,
    /// A retraction: `target_id` no longer counts.
    Retract,
}

/// A validated record, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    /// The record's own id (a correction has its own).
    pub id: String,
    /// The logical record it writes: its own id, or the one it corrects or retracts.
    pub target_id: String,
    /// The type of this record (`correction` for a correction).
    pub record_type: RecordType,
    /// The type of the logical record's content (`passage` for a correction of one).
    pub content_type: RecordType,
    pub effect: Effect,
    /// The canonical leaf bytes.
    pub leaf: Vec<u8>,
    /// Keyed digest of what was submitted, to recognise retries.
    pub content_digest: [u8; 32],
    pub private: Option<PrivatePart>,
    /// Index facts when the content is a passage.
    pub passage: Option<PassageFacts>,
    /// The API token that submitted the record, so that an observer may read
    /// the receipts of its own records. Stored beside the record, in the
    /// same transaction, and never in its leaf (see [`TokenStore::submitter`]).
    pub submitter: Option<String>,
}

/// The private part of a record, kept apart and erasable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivatePart {
    pub salt: [u8; 32],
    /// Canonical JSON of the private object.
    pub data: Vec<u8>,
}

/// What the rollups and the passage index need to know about a passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassageFacts {
    pub site: String,
    /// Calendar day at the site, as days since 1970-01-01.
    pub day: i32,
    pub observed_at: String,
    pub category: String,
    pub operator: Option<String>,
    pub direction: String,
    pub outcome: String,
    pub vehicle_class: String,
    pub source_kind: String,
    /// The source's name (`source.name`), so figures can say where they come from.
    pub source_name: String,
    pub recorded_by: String,
    pub mission: Option<String>,
    pub count: u32,
    pub passengers: Option<u32>,
    pub medical_evacuees: Option<u32>,
    pub kilograms: Option<u64>,
    /// `(kind, kilograms)` per cargo line.
    pub cargo: Vec<(String, Option<u64>)>,
    /// The record's free attributes, indexed for claim filters.
    pub attributes: Vec<(String, String)>,
}

/// A stored record, by its own id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub leaf_index: u64,
    pub id: String,
    pub target_id: String,
    pub record_type: RecordType,
    pub content_digest: [u8; 32],
    pub leaf: Vec<u8>,
}

/// A passage as listed: its current leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPassage {
    pub leaf_index: u64,
    pub target_id: String,
    pub leaf: Vec<u8>,
}

/// Where a logical record stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentState {
    /// The type of its content.
    pub content_type: RecordType,
    /// The leaf holding its current content (the original or the latest correction).
    pub leaf_index: u64,
    pub retracted: bool,
}

/// Errors from a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record id {id:?} is already stored (at leaf {leaf_index})")]
    DuplicateId { id: String, leaf_index: u64 },
    #[error("record {target_id:?} does not exist, so it cannot be corrected or retracted")]
    UnknownTarget { target_id: String },
    #[error(
        "the database {path} was written by a newer Corridor (schema {found}, this build knows {supported})"
    )]
    NewerSchema {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error("a token with id {id:?} or the same secret is already stored")]
    DuplicateToken { id: String },
    /// The backend itself failed (SQLite's error, an I/O error, ...).
    #[error("storage failed: {source}")]
    Backend {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The connection that serves this store is gone (for the writer, its
    /// commit thread stopped); nothing more can be stored through it.
    #[error("storage failed: {0}")]
    Disconnected(&'static str),
    #[error(
        "{location}: the {scheme} backend is not supported by this build (it knows sqlite:, file paths, postgres:// and postgresql://)"
    )]
    UnsupportedBackend { location: String, scheme: String },
    #[error("store location {location:?} {reason}")]
    BadLocation { location: String, reason: String },
    #[error("injected fault: {0}")]
    Injected(&'static str),
    /// Private parts were erased from the store, but copies of the erased
    /// bytes may remain in the backend's files for now (for SQLite, in the
    /// write-ahead log); `reason` says until when.
    #[error("{erased} private part(s) erased, but not yet purged from disk: {reason}")]
    ErasedNotPurged { erased: u64, reason: String },
    /// Publication was refused: the caller no longer holds the integrator
    /// lease, or the tree head moved (see [`LeaseStore::advance_tree_head`]).
    #[error("publication refused: {reason}")]
    Fenced { reason: String },
    /// The commit was made but flushing it to disk failed (a failed
    /// `fsync`, an I/O error while committing): the batch may or may not be
    /// stored, now or after a restart. Nothing of it counts as
    /// acknowledged; resubmitting it with the same ids is safe, because
    /// whatever did arrive is then found already stored. The message is the
    /// backend's own.
    #[error("{source}")]
    OutcomeUnknown {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl StoreError {
    /// Whether a failed write may still have stored its batch (see
    /// [`StoreError::OutcomeUnknown`]); every other error of `append` stored
    /// nothing.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, StoreError::OutcomeUnknown { .. })
    }

    /// Whether `append` was refused because one of its ids is stored
    /// already (on a shared database, by another writer since the batch was
    /// staged): nothing of the batch was stored, and staging it again finds
    /// that record.
    pub fn is_stored_meanwhile(&self) -> bool {
        matches!(self, StoreError::DuplicateId { .. })
    }

    /// Whether the store ran out of space (SQLite's `SQLITE_FULL`, or a
    /// write refused because a file may grow no larger; PostgreSQL's
    /// `disk_full`, SQLSTATE 53100): nothing was stored, and writing works
    /// again once space is freed.
    pub fn is_storage_full(&self) -> bool {
        let StoreError::Backend { source } = self else {
            return false;
        };
        if postgres::is_disk_full(source.as_ref()) {
            return true;
        }
        source
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error)
            .is_some_and(|error| {
                error.code == rusqlite::ErrorCode::DiskFull
                    || error.extended_code == rusqlite::ffi::SQLITE_IOERR_WRITE
            })
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Backend {
            source: Box::new(error),
        }
    }
}

/// [`Store::records`] by asking [`Store::record`] for each distinct id:
/// what a store in this process does, where a question costs no round trip.
///
/// # Errors
/// The first storage failure.
pub fn records_one_by_one(
    store: &(impl Store + ?Sized),
    ids: &[&str],
) -> Result<Vec<StoredRecord>, StoreError> {
    let mut found = Vec::new();
    let mut asked = std::collections::HashSet::new();
    for id in ids {
        if asked.insert(*id)
            && let Some(record) = store.record(id)?
        {
            found.push(record);
        }
    }
    found.sort_by_key(|record| record.leaf_index);
    Ok(found)
}

/// The storage contract every backend keeps.
///
/// `append` is atomic: after an error nothing of the batch is visible, and
/// after `Ok` all of it is durable. The one exception is a failed flush
/// (`fsync`) at commit, reported as [`StoreError::OutcomeUnknown`], after
/// which the batch may or may not have reached the disk (`Fault::FailSync`
/// keeps it): callers never count such a batch as stored, and resubmitting
/// it stores every record exactly once. Leaf indexes are dense and start at 0.
///
/// Every backend keeps tokens and submitters too ([`TokenStore`]), so one
/// opened store serves records, receipts and authentication, and the
/// integrator lease with the tree head it fences ([`LeaseStore`]).
pub trait Store: TokenStore + LeaseStore + Send + std::fmt::Debug {
    /// Stores a batch in one transaction and returns the leaf index of each record.
    ///
    /// # Errors
    /// A duplicate id, a correction of an unknown record, or a storage failure;
    /// in every case nothing of the batch is stored.
    fn append(&mut self, batch: &[NewRecord]) -> Result<Vec<u64>, StoreError>;

    /// The record stored under its own id.
    ///
    /// # Errors
    /// A storage failure.
    fn record(&self, id: &str) -> Result<Option<StoredRecord>, StoreError>;

    /// The records stored under any of `ids`, in leaf order, each once;
    /// ids not stored are left out. The writer asks this once for a
    /// request's records before staging them, so that a store across a
    /// network (PostgreSQL) is asked one question, not one per record. A
    /// store in this process answers with [`records_one_by_one`]. Required,
    /// not defaulted, so that no wrapper (`Box<dyn Store>`) can fall back to
    /// one question per id without saying so.
    ///
    /// # Errors
    /// A storage failure.
    fn records(&self, ids: &[&str]) -> Result<Vec<StoredRecord>, StoreError>;

    /// The record stored at a leaf index.
    ///
    /// # Errors
    /// A storage failure.
    fn record_at(&self, leaf_index: u64) -> Result<Option<StoredRecord>, StoreError>;

    /// Where the logical record `target_id` stands.
    ///
    /// # Errors
    /// A storage failure.
    fn current(&self, target_id: &str) -> Result<Option<CurrentState>, StoreError>;

    /// How many leaves (records) are stored.
    ///
    /// # Errors
    /// A storage failure.
    fn leaf_count(&self) -> Result<u64, StoreError>;

    /// Leaf bytes for indexes `start..end` (clamped to what exists).
    ///
    /// # Errors
    /// A storage failure.
    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError>;

    /// The private part of the record stored under `id`, unless erased.
    ///
    /// # Errors
    /// A storage failure.
    fn private_part(&self, id: &str) -> Result<Option<PrivatePart>, StoreError>;

    /// Erases the private parts of `id` and every record that corrects it;
    /// returns how many were erased. Commitments in the leaves stay. When
    /// it returns `Ok`, the erased values are in none of the backend's
    /// files (SQLite: zeroed by `secure_delete`, and the write-ahead log
    /// checkpointed and truncated).
    ///
    /// # Errors
    /// A storage failure (nothing erased), or
    /// [`StoreError::ErasedNotPurged`] (erased, with copies left on disk
    /// for now).
    fn erase_private(&mut self, id: &str) -> Result<u64, StoreError>;

    /// Sums passage metrics from the rollups, never from raw records.
    ///
    /// # Errors
    /// A storage failure.
    fn rollup(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError>;

    /// Sums metrics over current passages matching `query`'s period and
    /// filters and carrying every one of `attributes`, for filters the rollups
    /// do not cover. Reads the passage index (by site and day, and by
    /// attribute), never the whole table; `query.group_by` is ignored.
    ///
    /// # Errors
    /// A storage failure.
    fn passage_sums(
        &self,
        query: &RollupQuery,
        attributes: &[(String, String)],
    ) -> Result<Metrics, StoreError>;

    /// Recounts both rollup tables from the current passages of the passage
    /// index and returns every rollup row that differs from the recount, in
    /// key order: empty when they agree. Reads every current passage, so it
    /// is for checks (`corridor check`), not for queries.
    ///
    /// # Errors
    /// A storage failure, or a row that cannot be read.
    fn rollup_differences(&self) -> Result<Vec<RollupDifference>, StoreError>;

    /// One page of the current passages matching `query`'s period and
    /// filters, in site, day and leaf order, skipping the first `offset`.
    /// Reads the passage index by site and day; `query.group_by` is ignored.
    ///
    /// # Errors
    /// A storage failure.
    fn passages(
        &self,
        query: &RollupQuery,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<ListedPassage>, StoreError>;

    /// Current logical records whose content has the given type, as
    /// `(target_id, leaf bytes of the current version)`, in leaf order.
    ///
    /// # Errors
    /// A storage failure.
    fn current_of_type(
        &self,
        content_type: RecordType,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// How many stored records (leaves) there are of each type.
    ///
    /// # Errors
    /// A storage failure.
    fn count_by_type(&self) -> Result<Vec<(RecordType, u64)>, StoreError>;

    /// A value from the store's small key-value table (origin, secrets, ...).
    ///
    /// # Errors
    /// A storage failure.
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Sets a value in the key-value table, durably.
    ///
    /// # Errors
    /// A storage failure.
    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError>;

    /// The records at leaf indexes `start..end` (clamped to what exists),
    /// in leaf order, each as the [`NewRecord`] that stores it again:
    /// appending them in order to an empty store of any backend gives the
    /// same leaves, current states, passage index, rollups, private parts
    /// (an erased one stays erased) and submitters. This is how a store is
    /// copied onto another backend (`corridor migrate`): through the
    /// target's own `append`, never table by table.
    ///
    /// # Errors
    /// A storage failure, or a row this build cannot read back.
    fn export(&self, start: u64, end: u64) -> Result<Vec<NewRecord>, StoreError>;

    /// Sets `key` to `value` unless it is set already, and returns the value
    /// it holds afterwards: `value`, or the one set before. On a backend
    /// several processes may write (PostgreSQL) the two steps are one
    /// statement, so of two processes setting a key at once both get the
    /// same value; the default, for single-writer backends, reads and then
    /// writes.
    ///
    /// # Errors
    /// A storage failure.
    fn first_meta(&mut self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        if let Some(stored) = self.meta(key)? {
            return Ok(stored);
        }
        self.set_meta(key, value)?;
        Ok(value.to_vec())
    }
}
