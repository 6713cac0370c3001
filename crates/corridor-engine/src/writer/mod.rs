//! The write pipeline: submitted JSON objects become stored records.
//!
//! Each object is parsed and validated by the model, its references resolved
//! against the store and the records staged before it in the same batch, then
//! turned into a [`NewRecord`] (leaf bytes, digest, private part, passage
//! facts). Staged records are committed in batches of [`BATCH_SIZE`], each in
//! one store transaction: a record is acknowledged only once its batch commit
//! returned.
//!
//! With two store connections ([`Writer::pipelined`]) a background thread
//! commits batch k while batch k+1 is validated, so parsing and SQLite each
//! get a core. Records of batch k+1 may refer to records of batch k: the
//! overlay keeps every staged record until its batch is confirmed, and if a
//! commit fails everything staged after it is dropped unacknowledged.
//!
//! This file holds the [`Writer`] and its streaming entry point
//! ([`Writer::submit_all`]); `staging` turns one object into a staged
//! record, `resolve` answers the parser's questions from the store and the
//! overlay, `commit` sends batches to the store (on the commit thread
//! when pipelined) and settles the overlay when they return, and
//! `sequencer` groups many requests' submissions into commits and answers
//! each (the server's writer thread is a loop over it).

mod commit;
mod resolve;
mod sequencer;
mod staging;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use corridor_model::{Location, RecordError};
use corridor_store::{NewRecord, Store, StoreError, StoredRecord};
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

pub use commit::CommitNotifier;
pub use sequencer::{
    Answer, Answered, CommitFailure, ItemOutcome, Sequencer, SignatureCheck, Submission, SubmitItem,
};
pub use staging::{ObserverSignatureCheck, Staged};

use crate::{Config, EngineError, WriterLock};
use commit::Committer;
use staging::PendingTarget;

/// How many records one store transaction holds. Large enough that the fsync
/// of a commit is spread over many records, small enough that a failed batch
/// costs little to resubmit.
pub const BATCH_SIZE: usize = 10_000;

/// How many records of a stream [`Writer::submit_all`] reads ahead, to ask
/// the store about their ids in one question.
const PREFETCH_CHUNK: usize = 1_000;

/// Counts from submitting a stream of records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubmitSummary {
    pub stored: u64,
    pub already_stored: u64,
    pub rejected: u64,
}

/// Validates, stages and commits records into one store.
pub struct Writer {
    store: Box<dyn Store>,
    config: Config,
    secret: Vec<u8>,
    _lock: Option<WriterLock>,
    batch: Vec<NewRecord>,
    /// The number of the batch being staged.
    batch_number: u64,
    /// Batches sent to the committer and not yet confirmed: (number, records).
    in_flight: VecDeque<(u64, usize)>,
    committer: Option<Committer>,
    /// Own ids staged and not yet confirmed, with their digests and batch.
    pending_ids: HashMap<String, ([u8; 32], u64)>,
    /// Logical records created, corrected or retracted and not yet confirmed.
    pending_targets: HashMap<String, PendingTarget>,
    /// Zones of current stored sites, read once per writer. A site's zone
    /// never changes (see `check_site_correction`); a staged correction or
    /// retraction of a site evicts its entry.
    site_zones: RefCell<HashMap<String, TimeZone>>,
    /// What the store said, in one question, about the ids of the records
    /// about to be staged ([`Writer::prefetch_stored`]): the stored record,
    /// or `None` for an id it does not hold. An entry goes when its id is
    /// confirmed stored by a commit of this writer, and all go once those
    /// records are staged.
    prefetched: HashMap<String, Option<StoredRecord>>,
    /// Set by [`Writer::replaying_leaves`].
    replaying_leaves: bool,
    /// The store failed while the record being staged was checked against
    /// it: the record's rejection says so, but the record is not at fault,
    /// so callers that can (the sequencer, [`Writer::submit_all`]) answer a
    /// storage failure instead ([`Writer::take_staging_failure`]).
    staging_failure: RefCell<Option<StoreError>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Writer")
            .field("staged", &self.batch.len())
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// A writer that reads and commits through one `store`, committing on
    /// the calling thread. `lock`, when given, is held for the writer's life.
    pub fn new(
        store: Box<dyn Store>,
        config: Config,
        secret: Vec<u8>,
        lock: Option<WriterLock>,
    ) -> Writer {
        Writer {
            store,
            config,
            secret,
            _lock: lock,
            batch: Vec::new(),
            batch_number: 0,
            in_flight: VecDeque::new(),
            committer: None,
            pending_ids: HashMap::new(),
            pending_targets: HashMap::new(),
            site_zones: RefCell::new(HashMap::new()),
            prefetched: HashMap::new(),
            replaying_leaves: false,
            staging_failure: RefCell::new(None),
        }
    }

    /// This writer rebuilds a store from a log's leaves (`report verify`):
    /// each leaf is judged by the rules it was logged under
    /// ([`corridor_model::Resolve::replaying_leaves`]), not refused by a rule
    /// added since.
    pub fn replaying_leaves(mut self) -> Writer {
        self.replaying_leaves = true;
        self
    }

    /// A writer that validates through `read_store` while a background thread
    /// commits through `write_store` (two connections to the same database).
    pub fn pipelined(
        read_store: Box<dyn Store>,
        write_store: Box<dyn Store>,
        config: Config,
        secret: Vec<u8>,
        lock: Option<WriterLock>,
    ) -> Writer {
        let mut writer = Writer::new(read_store, config, secret, lock);
        writer.committer = Some(Committer::start(write_store));
        writer
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn store_mut(&mut self) -> &mut dyn Store {
        self.store.as_mut()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The storage failure met while staging the last record, if any: that
    /// record was rejected because the store could not be read, not for
    /// anything in it, and nothing of it was staged.
    pub fn take_staging_failure(&self) -> Option<StoreError> {
        self.staging_failure.borrow_mut().take()
    }

    /// Notes a storage failure met while staging and returns the reason a
    /// record's rejection gives for it.
    fn staging_failed(&self, error: StoreError) -> String {
        let reason = format!("storage failed: {error}");
        *self.staging_failure.borrow_mut() = Some(error);
        reason
    }

    /// Asks the store once which of `ids` it holds, so that staging the
    /// records with these ids next asks it nothing more about them: one
    /// query per request instead of one per record, which is what a store
    /// across a network (PostgreSQL) needs. The answers are dropped by
    /// [`Writer::forget_prefetched`]; an id this writer's own commit
    /// stores meanwhile is dropped at once, so the store answers for it.
    /// Another writer storing one of the ids after this question is the
    /// same race as storing it after a one-record lookup: the commit is
    /// refused with the duplicate id, and the records are staged again.
    ///
    /// # Errors
    /// A storage failure: nothing was staged.
    pub(crate) fn prefetch_stored(&mut self, ids: &[&str]) -> Result<(), StoreError> {
        let wanted: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !self.pending_ids.contains_key(*id))
            .collect();
        let found = self.store.records(&wanted)?;
        self.prefetched
            .extend(wanted.iter().map(|id| ((*id).to_owned(), None)));
        for record in found {
            self.prefetched.insert(record.id.clone(), Some(record));
        }
        Ok(())
    }

    /// Drops what [`Writer::prefetch_stored`] learnt.
    pub(crate) fn forget_prefetched(&mut self) {
        self.prefetched.clear();
    }

    /// The record stored under `id`: from the prefetched answers when they
    /// cover it, otherwise from the store.
    fn stored_record(&self, id: &str) -> Result<Option<StoredRecord>, StoreError> {
        match self.prefetched.get(id) {
            Some(known) => Ok(known.clone()),
            None => self.store.record(id),
        }
    }

    /// How many records wait for the next commit.
    pub fn staged(&self) -> usize {
        self.batch.len()
    }

    /// Stages and commits a stream of records, reporting each rejection.
    ///
    /// Every good record is stored exactly once (resubmitting is a no-op);
    /// every bad one is passed to `on_reject` and nothing of it is stored.
    /// `on_progress` is called after each commit with the running summary.
    ///
    /// # Errors
    /// A storage failure: the records of the failed batch are not stored, and
    /// the summary of what was committed before it is in the error.
    pub fn submit_all(
        &mut self,
        items: impl Iterator<Item = Result<(Location, Map<String, Value>), RecordError>>,
        mut on_reject: impl FnMut(&RecordError),
        mut on_progress: impl FnMut(&SubmitSummary),
    ) -> Result<SubmitSummary, SubmitFailure> {
        let mut summary = SubmitSummary::default();
        let mut items = items.peekable();
        let mut chunk = Vec::with_capacity(PREFETCH_CHUNK);
        while items.peek().is_some() {
            chunk.extend(items.by_ref().take(PREFETCH_CHUNK));
            let ids: Vec<&str> = chunk
                .iter()
                .filter_map(|item| item.as_ref().ok())
                .filter_map(|(_, object)| object.get("id").and_then(Value::as_str))
                .collect();
            let prefetched = self.prefetch_stored(&ids);
            drop(ids);
            if let Err(error) = prefetched {
                return Err(SubmitFailure {
                    committed: summary,
                    error: error.into(),
                });
            }
            let staged = self.submit_chunk(
                chunk.drain(..),
                &mut summary,
                &mut on_reject,
                &mut on_progress,
            );
            self.forget_prefetched();
            staged?;
        }
        let confirmed = self.commit().map_err(|error| SubmitFailure {
            committed: summary,
            error: error.into(),
        })?;
        summary.stored += confirmed.len() as u64;
        on_progress(&summary);
        Ok(summary)
    }

    /// [`Writer::submit_all`] for one chunk of items, whose ids the store
    /// was asked about.
    fn submit_chunk(
        &mut self,
        items: impl Iterator<Item = Result<(Location, Map<String, Value>), RecordError>>,
        summary: &mut SubmitSummary,
        on_reject: &mut impl FnMut(&RecordError),
        on_progress: &mut impl FnMut(&SubmitSummary),
    ) -> Result<(), SubmitFailure> {
        for item in items {
            let outcome = item.and_then(|(location, object)| self.stage(location, &object));
            if let Some(error) = self.take_staging_failure() {
                // The store could not be read: the record is not at fault,
                // and nothing after it can be judged either.
                return Err(SubmitFailure {
                    committed: *summary,
                    error: error.into(),
                });
            }
            match outcome {
                Ok(Staged::New) => {}
                Ok(Staged::AlreadyStored { .. } | Staged::RepeatedInBatch | Staged::InFlight) => {
                    summary.already_stored += 1
                }
                Err(error) => {
                    summary.rejected += 1;
                    on_reject(&error);
                }
            }
            if self.batch.len() >= BATCH_SIZE {
                let confirmed = self.send_batch().map_err(|error| SubmitFailure {
                    committed: *summary,
                    error: error.into(),
                })?;
                summary.stored += confirmed.len() as u64;
                on_progress(summary);
            }
        }
        Ok(())
    }
}

/// Why [`Writer::submit_all`] stopped early.
#[derive(Debug, thiserror::Error)]
#[error("{error} ({} records were stored before the failure; resubmitting is safe)", committed.stored)]
pub struct SubmitFailure {
    pub committed: SubmitSummary,
    pub error: EngineError,
}
