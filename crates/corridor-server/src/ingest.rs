//! The writer, the integrator and the witness asker: the threads that own
//! the data directory's writing side while the server runs.
//!
//! Every submission is a [`Job`] on one channel. The writer thread collects
//! the jobs that are waiting (up to [`GROUP_RECORDS`] records, never
//! splitting one) into a group and hands it to the engine's
//! [`Sequencer`], which stages it, has the writer's commit thread store it
//! in one transaction (with which token submitted each record) while the
//! next group is staged, and decides each job's answer: the leaf index of
//! each record, acknowledged only once that commit returned, or the
//! commit's failure. When a commit returns, the commit thread posts
//! [`Job::Committed`] so the group is answered even if no other job comes.
//!
//! The integrator publishes every stored record in a new signed checkpoint
//! at least every `checkpoint_interval`, and once more on shutdown, after
//! the writer has committed its last group. A third thread asks the
//! witnesses to cosign what the integrator published and attaches their
//! cosignatures, so a slow witness never delays a checkpoint.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub use corridor_engine::{Answer, ItemOutcome, Submission, SubmitItem};
use corridor_engine::{Answered, DataDir, Publisher, Round, Sequencer, Writer};
use corridor_model::{Location, RecordError};
use corridor_store::Store;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, watch};

use crate::health::Health;
use crate::metrics::Metrics;
use crate::{ServerError, ServerOptions};

/// Staging stops taking new jobs into a group beyond this many records, and
/// sends the group to the commit thread. Small enough that the jobs waiting
/// at once (a few clients' batches) split into several groups, so one group
/// commits while the next is validated; large enough that a commit's fsync
/// is shared by many records. (With 20,000, four clients sending batches of
/// 1,000 formed one group at a time and the two threads took turns idling:
/// 43k records/s in the benchmark; with 2,000, 67k.)
pub const GROUP_RECORDS: usize = 2_000;

/// How often a server that does not integrate looks for a new checkpoint
/// and for an integrator lease that expired, at most.
const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// How many jobs may wait for the writer before submitters wait too.
const QUEUE_JOBS: usize = 256;

/// Where a submission's answer goes.
pub type Reply = oneshot::Sender<Answer>;

/// Work for the writer thread.
#[derive(Debug)]
pub enum Job {
    Submit(Submission<Reply>),
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
        health: Arc<Health>,
    ) -> Result<Ingest, ServerError> {
        let mut writer = data_dir.writer("corridor serve")?;
        let integration_store = data_dir.open_store()?;
        let publisher = data_dir.publisher("corridor serve", options.lease)?;
        let signer = data_dir.log_signer()?;
        let storage = data_dir.log()?;
        let log = corridor_log::Log::new(std::sync::Arc::clone(&storage), signer);
        let reader = corridor_log::LogReader::new(storage);
        let initial = reader
            .latest()
            .map(|published| published.checkpoint.tree_size)
            .unwrap_or(0);
        metrics.tree_size.store(initial, Ordering::Relaxed);
        let stored_leaves = Store::leaf_count(&integration_store)?;
        metrics
            .stored_leaves
            .store(stored_leaves, Ordering::Relaxed);
        health.published(initial);
        health.stored(stored_leaves);
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
            let fed = Fed {
                metrics: Arc::clone(&metrics),
                health: Arc::clone(&health),
                acks: Arc::clone(&acks),
            };
            std::thread::Builder::new()
                .name("corridor-writer".into())
                .spawn(move || run_writer(writer, receiver, &fed))
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
            let lease = options.lease;
            std::thread::Builder::new()
                .name("corridor-integrator".into())
                .spawn(move || {
                    run_integrator(Integrator {
                        log,
                        store: integration_store,
                        publisher,
                        reader,
                        interval,
                        lease,
                        wake: &wake,
                        published: published_sender,
                        metrics: &metrics,
                        health: &health,
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

/// Collects the submissions waiting at once into groups (up to
/// [`GROUP_RECORDS`] records, never splitting one) and hands each to the
/// sequencer, which commits it and decides every answer.
fn run_writer(writer: Writer, mut jobs: mpsc::Receiver<Job>, fed: &Fed) -> Writer {
    let mut sequencer = Sequencer::new(writer);
    let mut stopping = false;
    while !stopping {
        // A group whose commit returned is answered before anything else.
        deliver(sequencer.poll(), fed);
        // Waiting here is woken by the next job or by `Job::Committed`.
        let Some(first) = jobs.blocking_recv() else {
            break;
        };
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Stop => stopping = true,
                Job::Committed => {}
                Job::Prepare { object, reply } => {
                    // The public form is read against everything sent
                    // before it, so the group so far is sent first.
                    if sequencer.has_staged() {
                        deliver(sequencer.send(), fed);
                    }
                    let _ = reply.send(sequencer.writer().public_form(Location::Item(0), &object));
                }
                // Staged as it comes, so the jobs arriving meanwhile join the group.
                Job::Submit(submission) => sequencer.stage(submission),
            }
            if sequencer.staged_records() < GROUP_RECORDS && !stopping {
                next = jobs.try_recv().ok();
            }
        }
        if sequencer.has_staged() {
            deliver(sequencer.send(), fed);
        }
    }
    deliver(sequencer.finish(), fed);
    sequencer.into_writer()
}

/// What the writer thread reports to: metrics, health and the queue of
/// acknowledgements waiting for a checkpoint.
struct Fed {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    acks: AckQueue,
}

/// Sends decided answers to their requests and counts them; the records
/// they stored are acknowledged now (their commit returned).
fn deliver(answers: Vec<Answered<Reply>>, fed: &Fed) {
    if answers.is_empty() {
        return;
    }
    let Fed {
        metrics,
        health,
        acks,
    } = fed;
    let acknowledged = Instant::now();
    let (mut stored, mut already, mut rejected) = (0_u64, 0_u64, 0_u64);
    let mut end: Option<u64> = None;
    for Answered { answer, .. } in &answers {
        match answer {
            Err(failure) => health.storing_failed(failure.storage_full()),
            Ok(outcomes) => {
                if outcomes
                    .iter()
                    .any(|outcome| matches!(outcome, ItemOutcome::Stored { .. }))
                {
                    health.storing_succeeded();
                }
            }
        }
        for outcome in answer.iter().flatten() {
            match outcome {
                ItemOutcome::Stored { leaf_index, .. } => {
                    stored += 1;
                    end = end.max(Some(leaf_index + 1));
                }
                ItemOutcome::AlreadyStored { .. } => already += 1,
                ItemOutcome::Rejected(_) => rejected += 1,
                ItemOutcome::NotStored => {}
            }
        }
    }
    // Health, metrics and the backlog are brought up to date before any
    // client hears its answer, so that a client that is told "stored" and
    // then asks `/healthz` or `/metrics` sees its own records counted.
    metrics.records_stored.fetch_add(stored, Ordering::Relaxed);
    metrics
        .records_already_stored
        .fetch_add(already, Ordering::Relaxed);
    metrics
        .records_rejected
        .fetch_add(rejected, Ordering::Relaxed);
    if let Some(end) = end {
        metrics.stored_leaves.fetch_max(end, Ordering::Relaxed);
        health.stored(end);
        if let Ok(mut queue) = acks.lock() {
            queue.push_back((end, stored, acknowledged));
        }
    }
    for Answered { reply, answer } in answers {
        let _ = reply.send(answer);
    }
}

struct Integrator<'a> {
    log: corridor_log::Log,
    /// Where the leaves are read (the lease has its own connection).
    store: Box<dyn Store>,
    publisher: Publisher,
    /// The published checkpoint, as a server that follows reads it.
    reader: corridor_log::LogReader,
    interval: Duration,
    lease: Duration,
    wake: &'a Wake,
    published: watch::Sender<u64>,
    metrics: &'a Metrics,
    health: &'a Health,
    acks: &'a AckQueue,
    /// Each new published size, for the witness thread.
    published_sizes: std::sync::mpsc::Sender<u64>,
}

impl Integrator<'_> {
    /// A signed checkpoint of `size` leaves is published (by this server or
    /// another): the acknowledgements it covers are counted, and the
    /// handlers waiting for it are woken.
    fn published(&self, size: u64) {
        self.metrics.tree_size.fetch_max(size, Ordering::Relaxed);
        self.metrics
            .stored_leaves
            .fetch_max(size, Ordering::Relaxed);
        if let Ok(mut queue) = self.acks.lock() {
            while let Some(&(end, records, at)) = queue.front() {
                if end > size {
                    break;
                }
                self.metrics
                    .observe_ack_to_checkpoint(at.elapsed(), records);
                queue.pop_front();
            }
        }
        self.health.published(size);
        self.published.send_if_modified(|published| {
            let grew = size > *published;
            *published = (*published).max(size);
            grew
        });
    }

    /// Follows the server that integrates: reads the checkpoint it
    /// published and counts the records every server stored, so the backlog
    /// (and backpressure) is the shared one. Returns the published size.
    fn follow(&self) -> u64 {
        match self.reader.latest() {
            Ok(latest) => self.published(latest.checkpoint.tree_size),
            Err(corridor_log::ProofError::NothingPublished) => {}
            Err(error) => tracing::warn!("reading the published checkpoint failed: {error}"),
        }
        match Store::leaf_count(&self.store) {
            Ok(leaves) => {
                self.health.stored(leaves);
                self.metrics
                    .stored_leaves
                    .fetch_max(leaves, Ordering::Relaxed);
            }
            Err(error) => tracing::warn!("counting the stored records failed: {error}"),
        }
        *self.published.borrow()
    }

    fn show_lease(&self) {
        let integrating = self.publisher.is_integrating();
        self.health.set_integrating(integrating);
        self.metrics
            .integrating
            .store(u64::from(integrating), Ordering::Relaxed);
        self.metrics
            .integrator_takeovers
            .store(self.publisher.takeovers(), Ordering::Relaxed);
    }
}

/// Publishes while this server holds the integrator lease, and follows the
/// server that holds it otherwise. The integrating server publishes every
/// `interval` and renews the lease at least three times per lease; the
/// others look for a new checkpoint (and for an expired lease to take over)
/// four times a second. On shutdown a last round publishes what the writer
/// committed, if this server integrates, and gives the lease up.
fn run_integrator(mut integrator: Integrator<'_>) -> Result<u64, corridor_log::IntegrateError> {
    let renew = integrator.lease / 3;
    let look = integrator.interval.min(renew).min(FOLLOW_POLL);
    loop {
        // The interval runs from the start of one publication to the next.
        let started = Instant::now();
        let stopping = integrator.wake.stop.load(Ordering::SeqCst);
        let round = integrator
            .publisher
            .round(&integrator.log, &integrator.store);
        integrator.show_lease();
        let pause = match round {
            Ok(Round::Integrated(integration)) => {
                let size = integration.tree_size;
                if size > integration.previous_size {
                    integrator
                        .metrics
                        .checkpoints_published
                        .fetch_add(1, Ordering::Relaxed);
                    let _ = integrator.published_sizes.send(size);
                }
                integrator.published(size);
                integrator.health.publishing_succeeded();
                if stopping {
                    integrator.publisher.release();
                    integrator.show_lease();
                    tracing::info!("final checkpoint published at tree size {size}");
                    return Ok(size);
                }
                integrator.interval.min(renew)
            }
            Ok(Round::Following { holder }) => {
                // Publishing is the integrating server's to report.
                integrator.health.publishing_succeeded();
                let size = integrator.follow();
                if stopping {
                    tracing::info!(%holder, "stopping at tree size {size}; {holder} publishes the rest");
                    return Ok(size);
                }
                look
            }
            Err(error) if error.is_fenced() => {
                tracing::warn!("another server took over publishing: {error}");
                integrator.health.publishing_succeeded();
                let size = integrator.follow();
                if stopping {
                    return Ok(size);
                }
                look
            }
            Err(error) => {
                integrator
                    .metrics
                    .integration_failures
                    .fetch_add(1, Ordering::Relaxed);
                integrator.health.publishing_failed();
                tracing::error!("publishing a checkpoint failed (will retry): {error}");
                if stopping {
                    return Err(error);
                }
                look
            }
        };
        integrator
            .wake
            .wait(pause.saturating_sub(started.elapsed()));
    }
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
