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

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock, mpsc};

use corridor_model::leaf::{
    commitment, content_digest_of_canonical, format_logged_at, leaf_of_canonical_record,
};
use corridor_model::parse::peek_identity;
use corridor_model::time::day_number;
use corridor_model::{
    Body, FieldError, Location, Record, RecordError, RecordType, Resolve, TimePrecision,
    parse_submission,
};
use corridor_store::{Effect, NewRecord, PassageFacts, PrivatePart, Store, StoreError};
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use crate::{Config, EngineError, WriterLock};

/// How many records one store transaction holds. Large enough that the fsync
/// of a commit is spread over many records, small enough that a failed batch
/// costs little to resubmit.
pub const BATCH_SIZE: usize = 10_000;

fn commit_thread_stopped() -> StoreError {
    StoreError::Backend("the commit thread has stopped".into())
}

/// Checks an observer's signature over a record's public form and returns
/// the leaf's `observer_sig` value, or why it does not hold.
pub type ObserverSignatureCheck<'a> = &'a dyn Fn(&Value) -> Result<Value, String>;

/// What staging one record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staged {
    /// Validated and queued for the next commit.
    New,
    /// The same record (same id, same content) is already stored: nothing to do.
    AlreadyStored { leaf_index: u64 },
    /// The same record appeared earlier in this batch: nothing to do.
    RepeatedInBatch,
}

/// Counts from submitting a stream of records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubmitSummary {
    pub stored: u64,
    pub already_stored: u64,
    pub rejected: u64,
}

/// What the batch overlay knows about a logical record staged but not yet committed.
#[derive(Debug, Clone)]
struct PendingTarget {
    content_type: RecordType,
    retracted: bool,
    site_zone: Option<TimeZone>,
    /// The batch that staged it; the entry goes when that batch is confirmed.
    batch: u64,
}

/// Called on the commit thread each time a batch's commit returned.
pub type CommitNotifier = Box<dyn Fn() + Send + Sync>;

/// A commit's result, with its batch: the records are freed on the caller's
/// thread, not on the commit thread, which is the busier one.
type Committed = (Result<Vec<u64>, StoreError>, Vec<NewRecord>);

/// A thread that owns the writing store connection and commits batches in order.
struct Committer {
    batches: Option<mpsc::SyncSender<Vec<NewRecord>>>,
    results: mpsc::Receiver<Committed>,
    notifier: Arc<OnceLock<CommitNotifier>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Committer {
    fn start(mut store: Box<dyn Store>) -> Committer {
        let (batches, incoming) = mpsc::sync_channel::<Vec<NewRecord>>(1);
        let (outgoing, results) = mpsc::channel();
        let notifier: Arc<OnceLock<CommitNotifier>> = Arc::default();
        let notify = Arc::clone(&notifier);
        let thread = std::thread::Builder::new()
            .name("corridor-commit".into())
            .spawn(move || {
                for batch in incoming {
                    let result = store.append(&batch);
                    if outgoing.send((result, batch)).is_err() {
                        break;
                    }
                    if let Some(notify) = notify.get() {
                        notify();
                    }
                }
            })
            .ok();
        Committer {
            batches: Some(batches),
            results,
            notifier,
            thread,
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Closing the channel ends the thread after the batch it holds, if any.
        self.batches.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
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
    /// Set by [`Writer::replaying_leaves`].
    replaying_leaves: bool,
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
            replaying_leaves: false,
        }
    }

    /// This writer rebuilds a store from a log's leaves (`report verify`):
    /// each leaf is judged by the rules it was logged under
    /// ([`Resolve::replaying_leaves`]), not refused by a rule added since.
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

    /// How many records wait for the next commit.
    pub fn staged(&self) -> usize {
        self.batch.len()
    }

    /// Validates one record and queues it for the next commit.
    ///
    /// # Errors
    /// The record's first broken rule, naming location, type, id and field.
    pub fn stage(
        &mut self,
        location: Location,
        object: &Map<String, Value>,
    ) -> Result<Staged, RecordError> {
        self.stage_signed(location, object, None, None)
    }

    /// The public form of a record as its leaf will carry it (`record` in the
    /// leaf: validated, times resolved at the site, defaults filled in),
    /// without staging anything. An observer signs this (see
    /// [`Writer::stage_signed`]).
    ///
    /// # Errors
    /// The record's first broken rule, as [`Writer::stage`] reports it.
    pub fn public_form(
        &self,
        location: Location,
        object: &Map<String, Value>,
    ) -> Result<Value, RecordError> {
        let (record_type, id) = peek_identity(object);
        let submission =
            parse_submission(object, &Lookup { writer: self }).map_err(|error| RecordError {
                location,
                record_type: record_type.map(str::to_string),
                id: id.map(str::to_string),
                error,
            })?;
        Ok(submission.record.to_public_json())
    }

    /// Drops everything staged and not yet sent to the store (an
    /// all-or-nothing batch with a bad record). Batches already committing
    /// are not affected; the caller restages whatever it still wants.
    pub fn discard_staged(&mut self) {
        let number = self.batch_number;
        self.batch.clear();
        self.pending_ids.retain(|_, (_, batch)| *batch != number);
        self.pending_targets
            .retain(|_, pending| pending.batch != number);
        // A discarded record may have evicted or supplied a cached zone.
        self.site_zones.borrow_mut().clear();
    }

    /// [`Writer::stage`] with an observer's signature: `observer_signature`
    /// receives the record's public form (the leaf's `record`) and returns
    /// the value to put in the leaf's `observer_sig`, or why the signature
    /// does not hold (reported on the field `observer_sig`). `submitter`, the
    /// API token submitting the record, is stored with it (never in the leaf).
    ///
    /// # Errors
    /// As [`Writer::stage`], or the signature check's reason.
    pub fn stage_signed(
        &mut self,
        location: Location,
        object: &Map<String, Value>,
        observer_signature: Option<ObserverSignatureCheck<'_>>,
        submitter: Option<&str>,
    ) -> Result<Staged, RecordError> {
        let (record_type, id) = peek_identity(object);
        let fail = |error: FieldError| RecordError {
            location: location.clone(),
            record_type: record_type.map(str::to_string),
            id: id.map(str::to_string),
            error,
        };
        let submission = parse_submission(object, &Lookup { writer: self }).map_err(fail)?;
        let record = submission.record;
        self.check_site_correction(&record).map_err(fail)?;
        // Canonicalized once: the digest and the leaf are built from these
        // bytes. Passages, nearly every record of a bulk import, are written
        // straight from the typed record; the rest through a JSON value.
        let public_canonical = match corridor_model::fast_leaf::canonical_public_passage(&record) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => corridor_model::canonical::to_canonical_vec(&record.to_public_json()),
            Err(error) => Err(error),
        }
        .map_err(|error| {
            fail(FieldError {
                field: String::new(),
                reason: error.to_string(),
            })
        })?;
        let digest = content_digest_of_canonical(
            &self.secret,
            &public_canonical,
            submission.private.as_ref(),
        )
        .map_err(|error| {
            fail(FieldError {
                field: String::new(),
                reason: error.to_string(),
            })
        })?;

        if let Some((staged_digest, _)) = self.pending_ids.get(&record.id) {
            if *staged_digest == digest {
                return Ok(Staged::RepeatedInBatch);
            }
            return Err(fail(FieldError {
                field: "id".into(),
                reason: format!(
                    "{:?} appears earlier in this batch with different content",
                    record.id
                ),
            }));
        }
        match self.store.record(&record.id) {
            Ok(Some(stored)) if stored.content_digest == digest => {
                return Ok(Staged::AlreadyStored {
                    leaf_index: stored.leaf_index,
                });
            }
            Ok(Some(stored)) => {
                return Err(fail(FieldError {
                    field: "id".into(),
                    reason: format!(
                        "{:?} is already stored (leaf {}, a {}) with different content; a change needs a correction record",
                        record.id, stored.leaf_index, stored.record_type
                    ),
                }));
            }
            Ok(None) => {}
            Err(error) => {
                return Err(fail(FieldError {
                    field: String::new(),
                    reason: format!("storage failed: {error}"),
                }));
            }
        }

        let private = match &submission.private {
            None => None,
            Some(part) => {
                let mut salt = [0_u8; 32];
                getrandom::fill(&mut salt).map_err(|error| {
                    fail(FieldError {
                        field: "private".into(),
                        reason: format!("no randomness for the salt: {error}"),
                    })
                })?;
                let data =
                    corridor_model::canonical::to_canonical_vec(&Value::Object(part.clone()))
                        .map_err(|error| {
                            fail(FieldError {
                                field: "private".into(),
                                reason: error.to_string(),
                            })
                        })?;
                Some((PrivatePart { salt, data }, part))
            }
        };
        let commitment = match &private {
            None => None,
            Some((part, object)) => Some(commitment(&part.salt, object).map_err(|error| {
                fail(FieldError {
                    field: "private".into(),
                    reason: error.to_string(),
                })
            })?),
        };
        let observer_sig = match observer_signature {
            None => None,
            Some(check) => Some(check(&record.to_public_json()).map_err(|reason| {
                fail(FieldError {
                    field: "observer_sig".into(),
                    reason,
                })
            })?),
        };
        let logged_at = format_logged_at(jiff::Timestamp::now());
        let leaf = leaf_of_canonical_record(
            &public_canonical,
            commitment.as_ref(),
            observer_sig.as_ref(),
            &logged_at,
        )
        .map_err(|error| {
            fail(FieldError {
                field: String::new(),
                reason: error.to_string(),
            })
        })?;

        let effective = record.effective();
        let content_type = effective.record_type();
        let effect = match record.body {
            Body::Correction(_) => Effect::Replace,
            Body::Retraction(_) => Effect::Retract,
            _ => Effect::Create,
        };
        let content_type = if effect == Effect::Retract {
            self.target_type(record.target_id())
        } else {
            content_type
        };
        let passage = passage_facts(effective);
        let target_id = record.target_id().to_string();
        let site_zone = match &effective.body {
            Body::Site(site) => TimeZone::get(&site.timezone).ok(),
            _ => None,
        };
        if effect != Effect::Create {
            self.site_zones.borrow_mut().remove(&target_id);
        }
        self.pending_ids
            .insert(record.id.clone(), (digest, self.batch_number));
        self.pending_targets.insert(
            target_id.clone(),
            PendingTarget {
                content_type,
                retracted: effect == Effect::Retract,
                site_zone,
                batch: self.batch_number,
            },
        );
        self.batch.push(NewRecord {
            id: record.id.clone(),
            target_id,
            record_type: record.record_type(),
            content_type,
            effect,
            leaf,
            content_digest: digest,
            private: private.map(|(part, _)| part),
            passage,
            submitter: submitter.map(str::to_string),
        });
        Ok(Staged::New)
    }

    /// Commits everything staged, waits until it is durable and returns the
    /// leaf indexes of the records confirmed by this call.
    ///
    /// # Errors
    /// The store's failure: the failed batch and everything staged after it
    /// are dropped, none of it stored.
    pub fn commit(&mut self) -> Result<Vec<u64>, StoreError> {
        let mut indexes = self.send_batch()?;
        while !self.in_flight.is_empty() {
            indexes.extend(self.confirm_oldest()?.1);
        }
        Ok(indexes)
    }

    /// Hands everything staged to the commit thread without waiting for it,
    /// keeping at most one batch in flight, and returns the leaf indexes of
    /// the batch confirmed meanwhile (the one sent before, if any): the
    /// caller validates the next batch while this one commits, and
    /// [`Writer::commit`] waits for the last. Nothing staged is a no-op.
    ///
    /// # Errors
    /// A commit failed: that batch and everything after it are dropped.
    pub fn send_staged(&mut self) -> Result<Vec<u64>, StoreError> {
        self.send_batch()
    }

    /// Hands the staged batch to the committer (or commits it here), keeping
    /// at most one batch in flight; returns what was confirmed meanwhile.
    fn send_batch(&mut self) -> Result<Vec<u64>, StoreError> {
        let batch = std::mem::take(&mut self.batch);
        let number = self.batch_number;
        self.batch_number += 1;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let records = batch.len();
        let Some(committer) = &self.committer else {
            let result = self.store.append(&batch);
            self.forget(number, result.is_ok());
            return result;
        };
        let sent = committer.batches.as_ref().map(|sender| sender.send(batch));
        if !matches!(sent, Some(Ok(()))) {
            self.forget_everything();
            return Err(commit_thread_stopped());
        }
        self.in_flight.push_back((number, records));
        let mut confirmed = Vec::new();
        while self.in_flight.len() > 1 {
            confirmed.extend(self.confirm_oldest()?.1);
        }
        Ok(confirmed)
    }

    /// Whether commits run on a thread of their own ([`Writer::pipelined`]):
    /// then [`Writer::send_staged`] returns before its batch is durable.
    pub fn is_pipelined(&self) -> bool {
        self.committer.is_some()
    }

    /// Has `notify` called (on the commit thread) each time a batch's commit
    /// returns, so a caller waiting for other work too can wake and collect
    /// the result with [`Writer::try_confirm`]. Set once; later calls are
    /// ignored, as is a writer that commits on the calling thread.
    pub fn notify_on_commit(&mut self, notify: CommitNotifier) {
        if let Some(committer) = &self.committer {
            let _ = committer.notifier.set(notify);
        }
    }

    /// The leaf indexes of the batch in flight if its commit has returned,
    /// without waiting; `None` while it runs or when nothing is in flight.
    ///
    /// # Errors
    /// The commit failed: that batch and everything after it are dropped.
    pub fn try_confirm(&mut self) -> Option<Result<Vec<u64>, StoreError>> {
        let committer = self.committer.as_ref()?;
        if self.in_flight.is_empty() {
            return None;
        }
        let result = match committer.results.try_recv() {
            Ok((result, _records)) => result,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => Err(commit_thread_stopped()),
        };
        Some(self.settle_oldest(result).map(|(_, indexes)| indexes))
    }

    /// Waits for the oldest batch in flight; returns its record count and indexes.
    fn confirm_oldest(&mut self) -> Result<(usize, Vec<u64>), StoreError> {
        if self.in_flight.is_empty() {
            return Ok((0, Vec::new()));
        }
        let result = match &self.committer {
            Some(committer) => committer.results.recv().map_or_else(
                |_| Err(commit_thread_stopped()),
                |(result, _records)| result,
            ),
            None => Ok(Vec::new()),
        };
        self.settle_oldest(result)
    }

    /// Takes the oldest batch in flight out with its commit's `result`.
    fn settle_oldest(
        &mut self,
        result: Result<Vec<u64>, StoreError>,
    ) -> Result<(usize, Vec<u64>), StoreError> {
        let Some((number, records)) = self.in_flight.pop_front() else {
            return Ok((0, Vec::new()));
        };
        match result {
            Ok(indexes) => {
                self.forget(number, true);
                Ok((records, indexes))
            }
            Err(error) => {
                // Batches after the failed one may depend on it: drop them all.
                while let Some((_, _)) = self.in_flight.pop_front() {
                    let _ = self
                        .committer
                        .as_ref()
                        .map(|committer| committer.results.recv());
                }
                self.forget_everything();
                Err(error)
            }
        }
    }

    /// Drops overlay entries of a confirmed (or failed) batch.
    fn forget(&mut self, number: u64, stored: bool) {
        if !stored {
            self.forget_everything();
            return;
        }
        self.pending_ids.retain(|_, (_, batch)| *batch != number);
        self.pending_targets
            .retain(|_, pending| pending.batch != number);
    }

    fn forget_everything(&mut self) {
        self.batch.clear();
        self.pending_ids.clear();
        self.pending_targets.clear();
        // A failed batch may have evicted or relied on cached zones.
        self.site_zones.borrow_mut().clear();
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
        for item in items {
            let outcome = item.and_then(|(location, object)| self.stage(location, &object));
            match outcome {
                Ok(Staged::New) => {}
                Ok(Staged::AlreadyStored { .. } | Staged::RepeatedInBatch) => {
                    summary.already_stored += 1
                }
                Err(error) => {
                    summary.rejected += 1;
                    on_reject(&error);
                }
            }
            if self.batch.len() >= BATCH_SIZE {
                let confirmed = self.send_batch().map_err(|error| SubmitFailure {
                    committed: summary,
                    error: error.into(),
                })?;
                summary.stored += confirmed.len() as u64;
                on_progress(&summary);
            }
        }
        let confirmed = self.commit().map_err(|error| SubmitFailure {
            committed: summary,
            error: error.into(),
        })?;
        summary.stored += confirmed.len() as u64;
        on_progress(&summary);
        Ok(summary)
    }

    fn target_type(&self, target_id: &str) -> RecordType {
        if let Some(pending) = self.pending_targets.get(target_id) {
            return pending.content_type;
        }
        match self.store.current(target_id) {
            Ok(Some(state)) => state.content_type,
            _ => RecordType::Retraction,
        }
    }

    /// A site's time zone decides the day every one of its records counts on,
    /// so it cannot be corrected; the site must be retracted and replaced.
    fn check_site_correction(&self, record: &Record) -> Result<(), FieldError> {
        let Body::Correction(correction) = &record.body else {
            return Ok(());
        };
        let Body::Site(site) = &correction.record.body else {
            return Ok(());
        };
        let lookup = Lookup { writer: self };
        let current = lookup
            .site_zone(&correction.corrects)
            .map_err(|reason| FieldError {
                field: "corrects".into(),
                reason,
            })?;
        let corrected = TimeZone::get(&site.timezone).ok();
        if corrected.as_ref().and_then(TimeZone::iana_name) != current.iana_name() {
            return Err(FieldError {
                field: "record.timezone".into(),
                reason: format!(
                    "a site's time zone cannot be corrected (its records' days were counted in {}); retract the site and create a new one",
                    current.iana_name().unwrap_or("its zone")
                ),
            });
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

/// The index facts of a passage (or of a correction whose content is one).
fn passage_facts(record: &Record) -> Option<PassageFacts> {
    let Body::Passage(passage) = &record.body else {
        return None;
    };
    Some(PassageFacts {
        site: passage.site.clone(),
        day: day_number(passage.observed_at.local_day()),
        observed_at: passage.observed_at.to_string(),
        category: passage.category.as_str().to_string(),
        operator: passage.operator.clone(),
        direction: passage.direction.as_str().to_string(),
        outcome: passage.outcome.as_str().to_string(),
        vehicle_class: passage.vehicle_class.as_str().to_string(),
        source_kind: record.source.kind.as_str().to_string(),
        source_name: record.source.name.clone(),
        recorded_by: record.recorded_by.clone(),
        mission: passage.mission.clone(),
        count: passage.count,
        passengers: passage.passengers,
        medical_evacuees: passage.medical_evacuees,
        kilograms: passage.kilograms(),
        cargo: passage
            .cargo
            .iter()
            .map(|line| (line.kind.clone(), line.kilograms))
            .collect(),
        attributes: record
            .attributes
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    })
}

/// The parser's view of the store plus the batch staged so far.
struct Lookup<'a> {
    writer: &'a Writer,
}

impl Lookup<'_> {
    /// The current state of a logical record: `(content type, retracted)`.
    fn state(&self, id: &str) -> Result<Option<(RecordType, bool)>, String> {
        if let Some(pending) = self.writer.pending_targets.get(id) {
            return Ok(Some((pending.content_type, pending.retracted)));
        }
        match self.writer.store.current(id) {
            Ok(state) => Ok(state.map(|state| (state.content_type, state.retracted))),
            Err(error) => Err(format!("storage failed: {error}")),
        }
    }

    fn stored_site_zone(&self, id: &str) -> Result<TimeZone, String> {
        let state = self
            .writer
            .store
            .current(id)
            .map_err(|error| format!("storage failed: {error}"))?;
        let leaf = state
            .and_then(|state| self.writer.store.record_at(state.leaf_index).transpose())
            .transpose()
            .map_err(|error| format!("storage failed: {error}"))?
            .ok_or_else(|| format!("site {id:?} does not exist"))?;
        let leaf: Value = serde_json::from_slice(&leaf.leaf)
            .map_err(|error| format!("site {id:?} cannot be read: {error}"))?;
        let record = &leaf["record"];
        let site = if record["type"] == "correction" {
            &record["record"]
        } else {
            record
        };
        let name = site["timezone"]
            .as_str()
            .ok_or_else(|| format!("site {id:?} has no time zone"))?;
        TimeZone::get(name)
            .map_err(|error| format!("site {id:?} has an unusable time zone {name:?}: {error}"))
    }
}

impl Resolve for Lookup<'_> {
    fn precision(&self) -> TimePrecision {
        self.writer.config.public_time_precision
    }

    fn replaying_leaves(&self) -> bool {
        self.writer.replaying_leaves
    }

    fn site_zone(&self, site_id: &str) -> Result<TimeZone, String> {
        // Cached zones belong to sites known current: staging a correction or
        // retraction of a site evicts it, and no other process writes.
        if !self.writer.pending_targets.contains_key(site_id)
            && let Some(zone) = self.writer.site_zones.borrow().get(site_id)
        {
            return Ok(zone.clone());
        }
        match self.state(site_id)? {
            None => {
                return Err(format!(
                    "site {site_id:?} does not exist (add the site record first)"
                ));
            }
            Some((_, true)) => return Err(format!("site {site_id:?} was retracted")),
            Some((RecordType::Site, false)) => {}
            Some((other, false)) => return Err(format!("{site_id:?} is a {other}, not a site")),
        }
        if let Some(pending) = self.writer.pending_targets.get(site_id)
            && let Some(zone) = &pending.site_zone
        {
            return Ok(zone.clone());
        }
        if let Some(zone) = self.writer.site_zones.borrow().get(site_id) {
            return Ok(zone.clone());
        }
        let zone = self.stored_site_zone(site_id)?;
        self.writer
            .site_zones
            .borrow_mut()
            .insert(site_id.to_string(), zone.clone());
        Ok(zone)
    }

    fn check_reference(&self, id: &str, expected: RecordType) -> Result<(), String> {
        match self.state(id)? {
            None => Err(format!(
                "{expected} {id:?} does not exist (records must come after what they refer to)"
            )),
            Some((_, true)) => Err(format!("{expected} {id:?} was retracted")),
            Some((found, false)) if found == expected => Ok(()),
            Some((found, false)) => Err(format!("{id:?} is a {found}, not a {expected}")),
        }
    }

    fn correctable(&self, id: &str) -> Result<RecordType, String> {
        match self.state(id)? {
            None if self.writer.store.record(id).ok().flatten().is_some() => Err(format!(
                "{id:?} is itself a correction or retraction; name the record it changes"
            )),
            None => Err(format!("record {id:?} does not exist")),
            Some((_, true)) => Err(format!("record {id:?} was already retracted")),
            Some((found, false)) => Ok(found),
        }
    }
}
