//! The writer, the integrator and the witness asker: the threads that own
//! the data directory's writing side while the server runs.
//!
//! Every submission is a [`Job`] on one channel. The writer thread stages
//! the jobs that are waiting (up to [`GROUP_RECORDS`] records) and hands the
//! group to the writer's commit thread, which stores it in one transaction
//! (with which token submitted each record) while the next group is staged.
//! When the commit returns, the commit thread posts [`Job::Committed`] and
//! the writer thread answers each job of the group with the leaf index of
//! each record: a record is acknowledged only once that commit returned. An
//! all-or-nothing job with a bad record is answered with its errors and
//! nothing of it is staged (the other jobs of the group are staged again).
//!
//! The integrator publishes every stored record in a new signed checkpoint
//! at least every `checkpoint_interval`, and once more on shutdown, after
//! the writer has committed its last group. A third thread asks the
//! witnesses to cosign what the integrator published and attaches their
//! cosignatures, so a slow witness never delays a checkpoint.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use corridor_engine::{DataDir, Staged, Writer};
use corridor_model::{FieldError, Location, RecordError};
use corridor_store::{Store, StoreError};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::Metrics;
use crate::observer::ObserverSignature;
use crate::{ServerError, ServerOptions};

/// Staging stops taking new jobs into a group beyond this many records, and
/// sends the group to the commit thread. Small enough that the jobs waiting
/// at once (a few clients' batches) split into several groups, so one group
/// commits while the next is validated; large enough that a commit's fsync
/// is shared by many records. (With 20,000, four clients sending batches of
/// 1,000 formed one group at a time and the two threads took turns idling:
/// 43k records/s in the benchmark; with 2,000, 67k.)
pub const GROUP_RECORDS: usize = 2_000;

/// How many jobs may wait for the writer before submitters wait too.
const QUEUE_JOBS: usize = 256;

/// One record of a submission.
#[derive(Debug)]
pub struct SubmitItem {
    pub object: Map<String, Value>,
    pub signature: Option<ObserverSignature>,
}

/// What happened to one record of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Stored {
        id: String,
        leaf_index: u64,
    },
    AlreadyStored {
        id: String,
        leaf_index: u64,
    },
    Rejected(RecordError),
    /// Valid, but not stored because another record of its all-or-nothing batch was rejected.
    NotStored,
}

/// Why a submission was not stored: the commit of its group failed, and
/// nothing of the group was stored. Every job of the group shares the one
/// failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage failed: {0}")]
pub struct CommitFailed(#[source] pub Arc<StoreError>);

/// Work for the writer thread.
#[derive(Debug)]
pub enum Job {
    Submit {
        items: Vec<SubmitItem>,
        atomic: bool,
        /// Validate and report, store nothing (an all-or-nothing batch
        /// already known to hold a bad item).
        validate_only: bool,
        token_id: Option<String>,
        reply: oneshot::Sender<Result<Vec<ItemOutcome>, CommitFailed>>,
    },
    /// The public form of a record, for an observer to sign.
    Prepare {
        object: Box<Map<String, Value>>,
        reply: oneshot::Sender<Result<Value, RecordError>>,
    },
    /// Finish the jobs before this one, then stop (shutdown).
    Stop,
    /// A commit returned (sent by the commit thread): answer its group.
    Committed,
}

/// The handlers' side: the job channel and the published tree size.
#[derive(Debug, Clone)]
pub struct IngestHandle {
    jobs: mpsc::Sender<Job>,
    published: watch::Receiver<u64>,
    wake: Arc<Wake>,
}

impl IngestHandle {
    /// Hands a job to the writer.
    ///
    /// # Errors
    /// The writer has stopped (the server is shutting down).
    pub async fn send(&self, job: Job) -> Result<(), ()> {
        self.jobs.send(job).await.map_err(|_| ())
    }

    /// Waits until a signed checkpoint covers `tree_size` leaves, or `timeout`.
    /// Returns the published size then.
    pub async fn wait_published(&self, tree_size: u64, timeout: Duration) -> u64 {
        let mut published = self.published.clone();
        let _ = tokio::time::timeout(timeout, published.wait_for(|size| *size >= tree_size)).await;
        *published.borrow()
    }

    /// Asks the integrator to publish a checkpoint now rather than at its next interval.
    pub fn publish_soon(&self) {
        self.wake.notify();
    }

    /// The tree size of the latest checkpoint this process published or found.
    pub fn published_size(&self) -> u64 {
        *self.published.borrow()
    }
}

/// Wakes the integrator before its interval is up.
#[derive(Debug, Default)]
struct Wake {
    requested: Mutex<bool>,
    condvar: Condvar,
    stop: AtomicBool,
}

impl Wake {
    fn notify(&self) {
        if let Ok(mut requested) = self.requested.lock() {
            *requested = true;
            self.condvar.notify_all();
        }
    }

    /// Sleeps up to `interval` or until notified.
    fn wait(&self, interval: Duration) {
        let Ok(requested) = self.requested.lock() else {
            return;
        };
        let Ok((mut requested, _)) =
            self.condvar
                .wait_timeout_while(requested, interval, |requested| !*requested)
        else {
            return;
        };
        *requested = false;
    }
}

/// The running threads.
#[derive(Debug)]
pub struct Ingest {
    handle: IngestHandle,
    writer: Option<std::thread::JoinHandle<Writer>>,
    integrator: Option<std::thread::JoinHandle<Result<u64, corridor_log::IntegrateError>>>,
    witnesses: Option<std::thread::JoinHandle<()>>,
}

/// Records acknowledged and not yet in a checkpoint: `(leaf end, records, acknowledged at)`.
type AckQueue = Arc<Mutex<VecDeque<(u64, u64, Instant)>>>;

impl Ingest {
    pub fn start(
        data_dir: &DataDir,
        options: &ServerOptions,
        metrics: Arc<Metrics>,
    ) -> Result<Ingest, ServerError> {
        let mut writer = data_dir.writer("corridor serve")?;
        let integration_store = data_dir.open_store()?;
        let signer = data_dir.log_signer()?;
        let storage = data_dir.log()?;
        let log = corridor_log::Log::new(std::sync::Arc::clone(&storage), signer);
        let reader = corridor_log::LogReader::new(storage);
        let initial = reader
            .latest()
            .map(|published| published.checkpoint.tree_size)
            .unwrap_or(0);
        metrics.tree_size.store(initial, Ordering::Relaxed);
        metrics
            .stored_leaves
            .store(Store::leaf_count(&integration_store)?, Ordering::Relaxed);
        let (published_sender, published) = watch::channel(initial);
        let (jobs, receiver) = mpsc::channel(QUEUE_JOBS);
        // Wakes the writer thread when a commit returns, so a group is
        // answered as soon as it is durable even if no other job arrives. A
        // full queue needs no wake-up: the writer has jobs to take.
        let wake_writer = jobs.downgrade();
        writer.notify_on_commit(Box::new(move || {
            if let Some(jobs) = wake_writer.upgrade() {
                let _ = jobs.try_send(Job::Committed);
            }
        }));
        let wake = Arc::new(Wake::default());
        let acks: AckQueue = Arc::default();
        let writer_thread = {
            let metrics = Arc::clone(&metrics);
            let acks = Arc::clone(&acks);
            std::thread::Builder::new()
                .name("corridor-writer".into())
                .spawn(move || run_writer(writer, receiver, &metrics, &acks))
                .map_err(|source| ServerError::ThreadStart {
                    thread: "writer",
                    source,
                })?
        };
        // Witnesses are asked on a thread of their own: a slow or unreachable
        // witness (up to the request timeout) never holds up the next checkpoint.
        let (published_sizes, sizes) = std::sync::mpsc::channel();
        let witness_thread = {
            let log = log.clone();
            let witness_list = data_dir.witness_list_path();
            std::thread::Builder::new()
                .name("corridor-witnesses".into())
                .spawn(move || run_witnesses(&log, &witness_list, &sizes))
                .map_err(|source| ServerError::ThreadStart {
                    thread: "witness",
                    source,
                })?
        };
        let integrator_thread = {
            let wake = Arc::clone(&wake);
            let interval = options.checkpoint_interval;
            std::thread::Builder::new()
                .name("corridor-integrator".into())
                .spawn(move || {
                    run_integrator(Integrator {
                        log,
                        store: integration_store,
                        interval,
                        wake: &wake,
                        published: published_sender,
                        metrics: &metrics,
                        acks: &acks,
                        published_sizes,
                    })
                })
                .map_err(|source| ServerError::ThreadStart {
                    thread: "integrator",
                    source,
                })?
        };
        Ok(Ingest {
            handle: IngestHandle {
                jobs,
                published,
                wake,
            },
            writer: Some(writer_thread),
            integrator: Some(integrator_thread),
            witnesses: Some(witness_thread),
        })
    }

    pub fn handle(&self) -> IngestHandle {
        self.handle.clone()
    }

    /// Stops taking jobs, waits for the writer to commit what it holds, then
    /// for the integrator's final checkpoint and the witnesses' answers about
    /// it; releases the writer lock last.
    pub fn stop(mut self) -> Result<u64, ServerError> {
        let IngestHandle { jobs, wake, .. } = self.handle;
        // Jobs queued before the stop are committed; any sent after it fail.
        let _ = jobs.blocking_send(Job::Stop);
        drop(jobs);
        let writer = self
            .writer
            .take()
            .map(|thread| thread.join())
            .transpose()
            .map_err(|_| ServerError::ThreadPanicked { thread: "writer" })?;
        wake.stop.store(true, Ordering::SeqCst);
        wake.notify();
        let integrated = self.integrator.take().map(|thread| thread.join());
        // The integrator is gone, so the witness thread ends once it has
        // asked about the final checkpoint, while the writer lock is held.
        let witnesses = self.witnesses.take().map(|thread| thread.join());
        let final_size = integrated
            .transpose()
            .map_err(|_| ServerError::ThreadPanicked {
                thread: "integrator",
            })?
            .transpose()
            .map_err(ServerError::FinalIntegration)?
            .unwrap_or(0);
        witnesses
            .transpose()
            .map_err(|_| ServerError::ThreadPanicked { thread: "witness" })?;
        drop(writer);
        Ok(final_size)
    }
}

/// A job staged in the current group, kept to answer it (or to stage it
/// again after an all-or-nothing job failed).
struct StagedJob {
    items: Vec<SubmitItem>,
    token_id: Option<String>,
    reply: oneshot::Sender<Result<Vec<ItemOutcome>, CommitFailed>>,
    staged: Vec<Result<Staged, RecordError>>,
}

fn record_id(item: &SubmitItem) -> String {
    item.object
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn stage_items(
    writer: &mut Writer,
    items: &[SubmitItem],
    token_id: Option<&str>,
) -> Vec<Result<Staged, RecordError>> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let location = Location::Item(index as u64);
            match &item.signature {
                None => writer.stage_signed(location, &item.object, None, token_id),
                Some(signature) => {
                    let check = |public: &Value| signature.verify(public);
                    writer.stage_signed(location, &item.object, Some(&check), token_id)
                }
            }
        })
        .collect()
}

fn run_writer(
    mut writer: Writer,
    mut jobs: mpsc::Receiver<Job>,
    metrics: &Metrics,
    acks: &AckQueue,
) -> Writer {
    let mut stopping = false;
    // The group whose commit is running while the next one is validated.
    let mut in_flight: Option<Vec<StagedJob>> = None;
    while !stopping {
        // A group whose commit returned is answered before anything else.
        if in_flight.is_some()
            && let Some(confirmed) = writer.try_confirm()
            && let Some(group) = in_flight.take()
        {
            let confirmed = confirmed.map_err(|error| CommitFailed(Arc::new(error)));
            answer_group(group, confirmed, metrics, acks);
        }
        // Waiting here is woken by the next job or by `Job::Committed`.
        let first = match jobs.blocking_recv() {
            Some(job) => job,
            None => break,
        };
        let mut group: Vec<StagedJob> = Vec::new();
        let mut staged_records = 0_usize;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Stop => stopping = true,
                Job::Committed => {}
                Job::Prepare { object, reply } => {
                    let _ = reply.send(writer.public_form(Location::Item(0), &object));
                }
                Job::Submit {
                    items,
                    atomic,
                    validate_only,
                    token_id,
                    reply,
                } => {
                    let staged = stage_items(&mut writer, &items, token_id.as_deref());
                    let failed = staged.iter().any(Result::is_err);
                    if (atomic && failed) || validate_only {
                        // Drop this job's records, keep the group's.
                        writer.discard_staged();
                        for earlier in &mut group {
                            earlier.staged = stage_items(
                                &mut writer,
                                &earlier.items,
                                earlier.token_id.as_deref(),
                            );
                        }
                        metrics.records_rejected.fetch_add(
                            staged.iter().filter(|r| r.is_err()).count() as u64,
                            Ordering::Relaxed,
                        );
                        let outcomes = staged
                            .into_iter()
                            .map(|result| match result {
                                Err(error) => ItemOutcome::Rejected(error),
                                Ok(_) => ItemOutcome::NotStored,
                            })
                            .collect();
                        let _ = reply.send(Ok(outcomes));
                    } else {
                        staged_records += staged.len();
                        group.push(StagedJob {
                            items,
                            token_id,
                            reply,
                            staged,
                        });
                    }
                }
            }
            if staged_records < GROUP_RECORDS && !stopping {
                next = jobs.try_recv().ok();
            }
        }
        if group.is_empty() {
            continue;
        }
        let new_records = group
            .iter()
            .flat_map(|job| &job.staged)
            .any(|staged| matches!(staged, Ok(Staged::New)));
        if !new_records {
            // Nothing to commit: every record was stored before.
            answer_group(group, Ok(Vec::new()), metrics, acks);
            continue;
        }
        // Send this group to the commit thread; the one before is confirmed meanwhile.
        match writer.send_staged() {
            // A writer without a commit thread has committed this group already.
            Ok(confirmed) if !writer.is_pipelined() => {
                answer_group(group, Ok(confirmed), metrics, acks);
            }
            Ok(confirmed) => {
                if let Some(previous) = in_flight.take() {
                    answer_group(previous, Ok(confirmed), metrics, acks);
                }
                in_flight = Some(group);
            }
            Err(error) => {
                // The failed batch may be the one in flight or this one;
                // either way neither group is stored, and both hear why.
                let failure = CommitFailed(Arc::new(error));
                if let Some(previous) = in_flight.take() {
                    answer_group(previous, Err(failure.clone()), metrics, acks);
                }
                answer_group(group, Err(failure), metrics, acks);
            }
        }
    }
    if let Some(group) = in_flight.take() {
        let confirmed = writer
            .commit()
            .map_err(|error| CommitFailed(Arc::new(error)));
        answer_group(group, confirmed, metrics, acks);
    }
    writer
}

/// Answers every job of a group once its commit returned: leaf indexes in
/// staging order, or the failure (nothing of the group was stored).
fn answer_group(
    group: Vec<StagedJob>,
    confirmed: Result<Vec<u64>, CommitFailed>,
    metrics: &Metrics,
    acks: &AckQueue,
) {
    let indexes = match confirmed {
        Ok(indexes) => indexes,
        Err(failure) => {
            tracing::error!(
                "committing a group of {} submissions failed: {}",
                group.len(),
                failure.0
            );
            for job in group {
                let _ = job.reply.send(Err(failure.clone()));
            }
            return;
        }
    };
    let acknowledged = Instant::now();
    let mut next_index = indexes.into_iter();
    let mut by_id: HashMap<String, u64> = HashMap::new();
    let mut answers = Vec::with_capacity(group.len());
    let (mut stored, mut already, mut rejected) = (0_u64, 0_u64, 0_u64);
    for job in &group {
        let mut outcomes = Vec::with_capacity(job.items.len());
        for (item, staged) in job.items.iter().zip(&job.staged) {
            let outcome = match staged {
                Ok(Staged::New) => {
                    let id = record_id(item);
                    match next_index.next() {
                        Some(leaf_index) => {
                            by_id.insert(id.clone(), leaf_index);
                            stored += 1;
                            ItemOutcome::Stored { id, leaf_index }
                        }
                        None => ItemOutcome::Rejected(internal_error(
                            "the store confirmed fewer records than were staged",
                        )),
                    }
                }
                Ok(Staged::AlreadyStored { leaf_index }) => {
                    already += 1;
                    ItemOutcome::AlreadyStored {
                        id: record_id(item),
                        leaf_index: *leaf_index,
                    }
                }
                Ok(Staged::RepeatedInBatch) => {
                    already += 1;
                    let id = record_id(item);
                    match by_id.get(&id) {
                        Some(leaf_index) => ItemOutcome::AlreadyStored {
                            id,
                            leaf_index: *leaf_index,
                        },
                        None => ItemOutcome::Rejected(internal_error(
                            "a repeated record's first copy was not confirmed",
                        )),
                    }
                }
                Err(error) => {
                    rejected += 1;
                    ItemOutcome::Rejected(error.clone())
                }
            };
            outcomes.push(outcome);
        }
        answers.push(outcomes);
    }
    metrics.records_stored.fetch_add(stored, Ordering::Relaxed);
    metrics
        .records_already_stored
        .fetch_add(already, Ordering::Relaxed);
    metrics
        .records_rejected
        .fetch_add(rejected, Ordering::Relaxed);
    if let Some(end) = by_id.values().max().map(|last| last + 1) {
        metrics.stored_leaves.fetch_max(end, Ordering::Relaxed);
        if let Ok(mut queue) = acks.lock() {
            queue.push_back((end, stored, acknowledged));
        }
    }
    for (job, outcomes) in group.into_iter().zip(answers) {
        let _ = job.reply.send(Ok(outcomes));
    }
}

fn internal_error(reason: &str) -> RecordError {
    RecordError {
        location: Location::Item(0),
        record_type: None,
        id: None,
        error: FieldError {
            field: String::new(),
            reason: reason.to_string(),
        },
    }
}

struct Integrator<'a> {
    log: corridor_log::Log,
    store: Box<dyn Store>,
    interval: Duration,
    wake: &'a Wake,
    published: watch::Sender<u64>,
    metrics: &'a Metrics,
    acks: &'a AckQueue,
    /// Each new published size, for the witness thread.
    published_sizes: std::sync::mpsc::Sender<u64>,
}

/// Asks the witnesses to cosign each new checkpoint, skipping to the latest
/// when several were published while the witnesses were being asked (a
/// witness accepts any later checkpoint with its consistency proof). Ends when
/// the integrator has published its last checkpoint and gone.
fn run_witnesses(
    log: &corridor_log::Log,
    witness_list: &std::path::Path,
    sizes: &std::sync::mpsc::Receiver<u64>,
) {
    while sizes.recv().is_ok() {
        while sizes.try_recv().is_ok() {}
        crate::witness::ask_witnesses(log, witness_list);
    }
}

fn run_integrator(integrator: Integrator<'_>) -> Result<u64, corridor_log::IntegrateError> {
    loop {
        // The interval runs from the start of one publication to the next.
        let started = Instant::now();
        let stopping = integrator.wake.stop.load(Ordering::SeqCst);
        match integrator.log.integrate(&integrator.store) {
            Ok(integration) => {
                let size = integration.tree_size;
                if size > integration.previous_size {
                    integrator
                        .metrics
                        .checkpoints_published
                        .fetch_add(1, Ordering::Relaxed);
                    let _ = integrator.published_sizes.send(size);
                }
                integrator.metrics.tree_size.store(size, Ordering::Relaxed);
                integrator
                    .metrics
                    .stored_leaves
                    .fetch_max(size, Ordering::Relaxed);
                if let Ok(mut queue) = integrator.acks.lock() {
                    while let Some(&(end, records, at)) = queue.front() {
                        if end > size {
                            break;
                        }
                        integrator
                            .metrics
                            .observe_ack_to_checkpoint(at.elapsed(), records);
                        queue.pop_front();
                    }
                }
                integrator.published.send_replace(size);
                if stopping {
                    tracing::info!("final checkpoint published at tree size {size}");
                    return Ok(size);
                }
            }
            Err(error) => {
                integrator
                    .metrics
                    .integration_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::error!("publishing a checkpoint failed (will retry): {error}");
                if stopping {
                    return Err(error);
                }
            }
        }
        integrator
            .wake
            .wait(integrator.interval.saturating_sub(started.elapsed()));
    }
}
