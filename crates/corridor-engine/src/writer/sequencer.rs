//! Submissions from many requests, committed in groups: the transport-free
//! core of the server's writer thread.
//!
//! A [`Submission`] is one request's records. The caller hands the
//! [`Sequencer`] the submissions waiting at once as a group; the group is
//! staged (validated against the store and the batch in flight) and sent
//! as one store transaction while the next group is staged. A group is
//! never split: every record of a submission, all-or-nothing or not, is in
//! one `append`. When a commit returns, each submission of its group is
//! answered: per record, exactly what happened to it.
//!
//! What makes the answers exact:
//! - A group is staged while the one before it commits, assuming that
//!   commit succeeds. Before the group is sent (or answered) the commit
//!   before it is confirmed. If it succeeded, the assumption held: a record
//!   repeated from it ([`Staged::InFlight`]) is `already_stored` at the leaf
//!   that commit gave it. If it failed, the group is staged again from its
//!   submissions against what the store now holds, so a record that relied
//!   on the failed commit is judged again (stored by this request, or
//!   refused with the real reason) and nothing reaches the store unless
//!   everything it was staged on did.
//! - An all-or-nothing submission with a rejected record is left out of its
//!   group (the group is staged again without it) and answered with its
//!   errors once the commit before its group is confirmed.
//! - A failed commit is answered to every submission that needed it, with
//!   the store's error: nothing of theirs was stored, or, when the outcome
//!   is unknown (a failed flush), it may have been.

use std::collections::HashMap;
use std::sync::Arc;

use corridor_model::{FieldError, Location, RecordError};
use corridor_store::StoreError;
use serde_json::{Map, Value};

use super::{Staged, Writer};

/// Checks an observer's signature over a record's public form and returns
/// the leaf's `observer_sig` value, or why it does not hold (owned, to
/// travel with its submission to the writer's thread).
pub type SignatureCheck = Box<dyn Fn(&Value) -> Result<Value, String> + Send>;

/// One record of a submission.
pub struct SubmitItem {
    pub object: Map<String, Value>,
    /// The observer's signature, when the record came signed.
    pub signature: Option<SignatureCheck>,
}

impl std::fmt::Debug for SubmitItem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SubmitItem")
            .field("object", &self.object)
            .field("signed", &self.signature.is_some())
            .finish()
    }
}

/// One request's records and how to answer it.
#[derive(Debug)]
pub struct Submission<R> {
    pub items: Vec<SubmitItem>,
    /// All or nothing: one rejected record and none is stored.
    pub atomic: bool,
    /// Validate and report, store nothing (an all-or-nothing batch already
    /// known to hold a bad item).
    pub validate_only: bool,
    /// The API token submitting the records, stored with them.
    pub submitter: Option<String>,
    /// Handed back with the answer.
    pub reply: R,
}

/// What happened to one record of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Stored by this submission.
    Stored {
        id: String,
        leaf_index: u64,
    },
    /// The same record (same id, same content) is stored, by this
    /// submission's earlier copy or by another.
    AlreadyStored {
        id: String,
        leaf_index: u64,
    },
    Rejected(RecordError),
    /// Valid, but not stored because another record of its all-or-nothing
    /// batch was rejected.
    NotStored,
}

/// Why a submission was not stored: the commit of its group failed. Every
/// submission that needed that commit shares the one failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CommitFailure(#[source] pub Arc<StoreError>);

impl CommitFailure {
    /// The commit may have stored the group all the same (a failed flush):
    /// resubmitting with the same ids is safe and finds what did arrive.
    /// Otherwise nothing of the group was stored.
    pub fn outcome_unknown(&self) -> bool {
        self.0.is_outcome_unknown()
    }

    /// The store is out of space; nothing of the group was stored.
    pub fn storage_full(&self) -> bool {
        self.0.is_storage_full()
    }

    /// Another writer stored one of the group's ids after it was staged;
    /// nothing of the group was stored, and staged again it is answered.
    fn stored_meanwhile(&self) -> bool {
        self.0.is_stored_meanwhile()
    }
}

/// A submission's answer: what happened to each record, in order, or the
/// failure of its group's commit.
pub type Answer = Result<Vec<ItemOutcome>, CommitFailure>;

/// A decided answer and the reply it goes to.
#[derive(Debug)]
pub struct Answered<R> {
    pub reply: R,
    pub answer: Answer,
}

/// A submission as staged in its group.
#[derive(Debug)]
struct StagedSubmission<R> {
    submission: Submission<R>,
    staged: Vec<Result<Staged, RecordError>>,
    /// Left out of the commit: all-or-nothing with a rejected record, or
    /// validate-only. Its answer does not depend on its group's commit.
    excluded: bool,
    /// The store failed while it was staged: nothing of it is committed,
    /// and it is answered with this failure (retrying is safe), not with a
    /// rejection of a record that may be fine.
    failure: Option<CommitFailure>,
}

impl<R> StagedSubmission<R> {
    /// Whether the group's commit decides this submission's answer: it
    /// staged a record, or repeats one staged in the same group.
    fn needs_commit(&self) -> bool {
        !self.excluded
            && self
                .staged
                .iter()
                .any(|staged| matches!(staged, Ok(Staged::New | Staged::RepeatedInBatch)))
    }
}

/// Stages groups of submissions, commits each in one transaction (the next
/// group staged while one commits) and answers every submission exactly.
#[derive(Debug)]
pub struct Sequencer<R> {
    writer: Writer,
    /// The group whose commit runs now (pipelined writers only).
    in_flight: Option<Vec<StagedSubmission<R>>>,
    /// The group being formed: staged, not yet sent.
    staging: Vec<StagedSubmission<R>>,
}

impl<R> Sequencer<R> {
    pub fn new(writer: Writer) -> Sequencer<R> {
        Sequencer {
            writer,
            in_flight: None,
            staging: Vec::new(),
        }
    }

    /// The writer, to read through (an observer's record to sign).
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Whether a group's commit is running (its answers come from
    /// [`Sequencer::poll`], the next [`Sequencer::submit`] or
    /// [`Sequencer::finish`]).
    pub fn has_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Stages `submissions` as one group and sends it to be committed
    /// ([`Sequencer::stage`] each, then [`Sequencer::send`]).
    pub fn submit(&mut self, submissions: Vec<Submission<R>>) -> Vec<Answered<R>> {
        for submission in submissions {
            self.stage(submission);
        }
        self.send()
    }

    /// Stages one submission into the group being formed. An excluded one
    /// (all-or-nothing with a rejected record, or validate-only) is dropped
    /// from the writer's batch and the group's earlier ones are staged
    /// again (as if it had never come), so it leaves no trace in what is
    /// committed. Staging as submissions arrive lets more of them join the
    /// group while it is staged.
    pub fn stage(&mut self, submission: Submission<R>) {
        let (staged, failure) = match stage_items(&mut self.writer, &submission) {
            Ok(staged) => (staged, None),
            Err(error) => (Vec::new(), Some(CommitFailure(Arc::new(error)))),
        };
        let rejected = staged.iter().any(Result::is_err);
        let excluded =
            (submission.atomic && rejected) || submission.validate_only || failure.is_some();
        if excluded {
            self.stage_group_again();
        }
        self.staging.push(StagedSubmission {
            submission,
            staged,
            excluded,
            failure,
        });
    }

    /// Drops everything staged and stages the group's included submissions
    /// again. One that meets a storage failure now is excluded with it, and
    /// the rest are staged again without it; each time round one more is
    /// excluded, so this ends.
    fn stage_group_again(&mut self) {
        'again: loop {
            self.writer.discard_staged();
            for earlier in self.staging.iter_mut().filter(|job| !job.excluded) {
                match stage_items(&mut self.writer, &earlier.submission) {
                    Ok(staged) => earlier.staged = staged,
                    Err(error) => {
                        earlier.excluded = true;
                        earlier.failure = Some(CommitFailure(Arc::new(error)));
                        continue 'again;
                    }
                }
            }
            return;
        }
    }

    /// Whether a group is being formed (staged and not yet sent).
    pub fn has_staged(&self) -> bool {
        !self.staging.is_empty()
    }

    /// How many records the group being formed holds.
    pub fn staged_records(&self) -> usize {
        self.staging
            .iter()
            .map(|job| job.submission.items.len())
            .sum()
    }

    /// Sends the group being formed to be committed. Returns every answer
    /// decided by then: the group before this one (its commit is confirmed
    /// first), the submissions of this group that need no commit, and this
    /// group's too when the writer commits on the calling thread.
    pub fn send(&mut self) -> Vec<Answered<R>> {
        let mut answered = Vec::new();
        let mut group = std::mem::take(&mut self.staging);
        let mut sent = None;
        if let Some(previous) = self.in_flight.take() {
            // This group goes to the commit thread before the one in flight
            // is confirmed, so that thread never waits for this one; it
            // aborts this group untouched if the one in flight failed.
            let confirmed = if self.writer.staged() > 0 {
                let result = self.writer.send_staged();
                sent = Some(Ok(Vec::new()));
                result.map_err(|error| CommitFailure(Arc::new(error)))
            } else {
                self.confirm_in_flight()
            };
            match confirmed {
                Ok(indexes) => {
                    let stored = self.answer_committed(previous, indexes, &mut answered);
                    self.settle_in_flight_repeats(&mut group, &stored);
                }
                Err(error) => {
                    sent = None;
                    if error.stored_meanwhile() {
                        // Another writer stored one of its ids since it was
                        // staged; nothing of it was stored: judge it again.
                        for job in previous {
                            self.stage(job.submission);
                        }
                    } else {
                        answer_failed(previous, &error, &mut answered);
                    }
                    // This group was staged assuming the failed one would be
                    // stored, and the writer dropped it: stage it again.
                    for job in group {
                        self.stage(job.submission);
                    }
                    group = std::mem::take(&mut self.staging);
                }
            }
        }
        // Everything this group was staged on is decided now.
        let (to_commit, decided): (Vec<_>, Vec<_>) =
            group.into_iter().partition(StagedSubmission::needs_commit);
        for job in decided {
            let answer = match &job.failure {
                Some(failure) => {
                    tracing::warn!(
                        error = %failure.0,
                        "the store failed while a submission was staged; it is answered unavailable"
                    );
                    Err(failure.clone())
                }
                None => self.answer_without_commit(&job),
            };
            answered.push(Answered {
                reply: job.submission.reply,
                answer,
            });
        }
        if to_commit.is_empty() {
            return answered;
        }
        let sent = sent.unwrap_or_else(|| self.writer.send_staged());
        match sent {
            Ok(_) if self.writer.is_pipelined() => self.in_flight = Some(to_commit),
            outcome => {
                let outcome = outcome.map_err(|error| CommitFailure(Arc::new(error)));
                self.settle(to_commit, outcome, &mut answered);
            }
        }
        answered
    }

    /// Answers `group` by how its commit came out: stored; refused because
    /// another writer stored one of its ids meanwhile (staged again, see
    /// [`Sequencer::stage_again`]); or failed, so nothing of it was stored.
    fn settle(
        &mut self,
        group: Vec<StagedSubmission<R>>,
        outcome: Result<Vec<u64>, CommitFailure>,
        answered: &mut Vec<Answered<R>>,
    ) {
        match outcome {
            Ok(indexes) => {
                self.answer_committed(group, indexes, answered);
            }
            Err(error) if error.stored_meanwhile() => answered.extend(self.stage_again(group)),
            Err(error) => answer_failed(group, &error, answered),
        }
    }

    /// Stages `group` again against what the store holds now and sends
    /// it, after its commit was refused because another writer (another
    /// server on the same database) stored one of its ids meanwhile:
    /// nothing of it was stored, and staged again that record is
    /// `already_stored` at the other writer's leaf, or refused naming that
    /// leaf when its content differs. Each time round, one more id is found
    /// stored, so this ends.
    fn stage_again(&mut self, group: Vec<StagedSubmission<R>>) -> Vec<Answered<R>> {
        tracing::info!(
            submissions = group.len(),
            "another writer stored a record of this group meanwhile; staging it again"
        );
        for job in group {
            self.stage(job.submission);
        }
        self.send()
    }

    /// The answers of the group in flight if its commit has returned,
    /// without waiting; empty otherwise, and while a group is being formed
    /// (its staging relies on the commit in flight; [`Sequencer::send`]
    /// confirms that commit first and settles what relied on it).
    pub fn poll(&mut self) -> Vec<Answered<R>> {
        let mut answered = Vec::new();
        if self.has_staged() {
            return answered;
        }
        let Some(group) = self.in_flight.take() else {
            return answered;
        };
        match self.writer.try_confirm() {
            None => self.in_flight = Some(group),
            Some(outcome) => {
                let outcome = outcome.map_err(|error| CommitFailure(Arc::new(error)));
                self.settle(group, outcome, &mut answered);
            }
        }
        answered
    }

    /// Sends the group being formed, if any, then waits for the group in
    /// flight and returns every answer.
    pub fn finish(&mut self) -> Vec<Answered<R>> {
        let mut answered = if self.staging.is_empty() {
            Vec::new()
        } else {
            self.send()
        };
        if let Some(group) = self.in_flight.take() {
            let outcome = self.confirm_in_flight();
            self.settle(group, outcome, &mut answered);
            // A group staged again may be in flight or staged now.
            if self.in_flight.is_some() || self.has_staged() {
                answered.extend(self.finish());
            }
        }
        answered
    }

    /// Ends the sequencer after [`Sequencer::finish`], giving back the writer.
    pub fn into_writer(self) -> Writer {
        self.writer
    }

    fn confirm_in_flight(&mut self) -> Result<Vec<u64>, CommitFailure> {
        match self.writer.confirm_in_flight() {
            Some(result) => result.map_err(|error| CommitFailure(Arc::new(error))),
            None => Err(CommitFailure(Arc::new(StoreError::Disconnected(
                "the writer lost track of the batch being committed",
            )))),
        }
    }

    /// After the group in flight was stored: its records repeated in the
    /// next group are already stored, at the leaves it got.
    fn settle_in_flight_repeats(
        &self,
        group: &mut [StagedSubmission<R>],
        stored: &HashMap<String, u64>,
    ) {
        for job in group {
            for (item, staged) in job.submission.items.iter().zip(&mut job.staged) {
                if matches!(staged, Ok(Staged::InFlight)) {
                    let id = record_id(item);
                    let leaf = match stored.get(&id) {
                        Some(leaf_index) => Ok(Ok(*leaf_index)),
                        None => self.stored_leaf(&id),
                    };
                    match leaf {
                        Ok(leaf) => {
                            *staged = leaf.map(|leaf_index| Staged::AlreadyStored { leaf_index });
                        }
                        // Left in flight: its answer looks it up again, and
                        // says so if the store fails then too.
                        Err(error) => tracing::warn!(
                            %error,
                            "the store failed while a record stored by another submission was looked up"
                        ),
                    }
                }
            }
        }
    }

    /// The leaf of a record the store holds (the truth, asked when the
    /// pipeline's own bookkeeping does not know), or why the record is not
    /// confirmed; the outer error is the store failing to answer, which
    /// says nothing about the record.
    fn stored_leaf(&self, id: &str) -> Result<Result<u64, RecordError>, StoreError> {
        match self.writer.store().record(id)? {
            Some(record) => Ok(Ok(record.leaf_index)),
            None => Ok(Err(internal_error(
                id,
                "the copy of this record being stored for another submission was not confirmed",
            ))),
        }
    }

    /// The answer of a submission whose records need no commit. It stored
    /// nothing itself, so a store that fails while its records stored by
    /// another submission are looked up answers it with that failure
    /// (retrying is safe), never with a rejection of a record that is fine.
    fn answer_without_commit(&self, job: &StagedSubmission<R>) -> Answer {
        job.submission
            .items
            .iter()
            .zip(&job.staged)
            .map(|(item, staged)| match staged {
                Err(error) => Ok(ItemOutcome::Rejected(error.clone())),
                Ok(_) if job.excluded => Ok(ItemOutcome::NotStored),
                Ok(Staged::AlreadyStored { leaf_index }) => Ok(ItemOutcome::AlreadyStored {
                    id: record_id(item),
                    leaf_index: *leaf_index,
                }),
                Ok(Staged::New | Staged::RepeatedInBatch | Staged::InFlight) => {
                    let id = record_id(item);
                    match self.stored_leaf(&id) {
                        Ok(Ok(leaf_index)) => Ok(ItemOutcome::AlreadyStored { id, leaf_index }),
                        Ok(Err(error)) => Ok(ItemOutcome::Rejected(error)),
                        Err(error) => Err(CommitFailure(Arc::new(error))),
                    }
                }
            })
            .collect()
    }

    /// Answers every submission of a group whose commit returned `indexes`
    /// (one per staged record, in staging order); returns the leaf of every
    /// record it stored, by id.
    fn answer_committed(
        &self,
        group: Vec<StagedSubmission<R>>,
        indexes: Vec<u64>,
        answered: &mut Vec<Answered<R>>,
    ) -> HashMap<String, u64> {
        let mut next_index = indexes.into_iter();
        let mut stored: HashMap<String, u64> = HashMap::new();
        for job in group {
            let mut outcomes = Vec::with_capacity(job.staged.len());
            // A store that fails while a record another submission stored is
            // looked up: this submission's own records are stored, but its
            // answer cannot be told whole, so it says the outcome is not
            // known here; resubmitting finds every record already stored.
            let mut lookup_failed = None;
            for (item, staged) in job.submission.items.iter().zip(&job.staged) {
                let outcome = match staged {
                    Err(error) => ItemOutcome::Rejected(error.clone()),
                    Ok(Staged::New) => {
                        let id = record_id(item);
                        match next_index.next() {
                            Some(leaf_index) => {
                                stored.insert(id.clone(), leaf_index);
                                ItemOutcome::Stored { id, leaf_index }
                            }
                            None => ItemOutcome::Rejected(internal_error(
                                &id,
                                "the store confirmed fewer records than were staged",
                            )),
                        }
                    }
                    Ok(Staged::AlreadyStored { leaf_index }) => ItemOutcome::AlreadyStored {
                        id: record_id(item),
                        leaf_index: *leaf_index,
                    },
                    Ok(Staged::RepeatedInBatch | Staged::InFlight) => {
                        let id = record_id(item);
                        let leaf = match stored.get(&id) {
                            Some(leaf_index) => Ok(Ok(*leaf_index)),
                            None => self.stored_leaf(&id),
                        };
                        match leaf {
                            Ok(Ok(leaf_index)) => ItemOutcome::AlreadyStored { id, leaf_index },
                            Ok(Err(error)) => ItemOutcome::Rejected(error),
                            Err(error) => {
                                lookup_failed.get_or_insert(error);
                                ItemOutcome::NotStored
                            }
                        }
                    }
                };
                outcomes.push(outcome);
            }
            let answer = match lookup_failed {
                None => Ok(outcomes),
                Some(error) => Err(CommitFailure(Arc::new(StoreError::OutcomeUnknown {
                    source: Box::new(error),
                }))),
            };
            answered.push(Answered {
                reply: job.submission.reply,
                answer,
            });
        }
        stored
    }
}

/// Answers every submission of a group whose commit failed with `failure`.
fn answer_failed<R>(
    group: Vec<StagedSubmission<R>>,
    failure: &CommitFailure,
    answered: &mut Vec<Answered<R>>,
) {
    tracing::error!(
        "committing a group of {} submissions failed ({}): {}",
        group.len(),
        if failure.outcome_unknown() {
            "its records may be stored"
        } else {
            "nothing of it was stored"
        },
        failure.0
    );
    for job in group {
        answered.push(Answered {
            reply: job.submission.reply,
            answer: Err(failure.clone()),
        });
    }
}

/// Stages each item of `submission`: what became of each, or the storage
/// failure that stopped it (the items staged before it are then in the
/// writer's batch, and the caller drops them).
fn stage_items<R>(
    writer: &mut Writer,
    submission: &Submission<R>,
) -> Result<Vec<Result<Staged, RecordError>>, StoreError> {
    let ids: Vec<&str> = submission
        .items
        .iter()
        .filter_map(|item| item.object.get("id").and_then(Value::as_str))
        .collect();
    writer.prefetch_stored(&ids)?;
    let staged = stage_prefetched_items(writer, submission);
    writer.forget_prefetched();
    staged
}

/// [`stage_items`] once the store was asked about the items' ids.
fn stage_prefetched_items<R>(
    writer: &mut Writer,
    submission: &Submission<R>,
) -> Result<Vec<Result<Staged, RecordError>>, StoreError> {
    let submitter = submission.submitter.as_deref();
    let mut staged = Vec::with_capacity(submission.items.len());
    for (index, item) in submission.items.iter().enumerate() {
        let location = Location::Item(index as u64);
        let outcome = match &item.signature {
            None => writer.stage_signed(location, &item.object, None, submitter),
            Some(signature) => {
                let check = |public: &Value| signature(public);
                writer.stage_signed(location, &item.object, Some(&check), submitter)
            }
        };
        if let Some(error) = writer.take_staging_failure() {
            return Err(error);
        }
        staged.push(outcome);
    }
    Ok(staged)
}

fn record_id(item: &SubmitItem) -> String {
    item.object
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A record the pipeline cannot account for: said as such, never guessed.
fn internal_error(id: &str, reason: &str) -> RecordError {
    RecordError {
        location: Location::Item(0),
        record_type: None,
        id: Some(id.to_string()),
        error: FieldError {
            field: String::new(),
            reason: format!("internal error: {reason}"),
        },
    }
}
