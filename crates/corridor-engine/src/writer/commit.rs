//! Committing: staged batches go to the store, on a thread of their own
//! when the writer is pipelined, at most one batch in flight while the
//! next is staged; when a commit returns, the overlay forgets that batch,
//! or everything after a failure.
//!
//! The next batch is handed to the commit thread before the one in flight
//! is confirmed, so the thread never waits for the writer. It may depend
//! on the one in flight (a record referring to one of it), so after a
//! failed commit the thread stores nothing more: it answers every later
//! batch as aborted, untouched, until the writer, having dropped them,
//! sends a reset.

use std::sync::{Arc, OnceLock, mpsc};

use corridor_store::{NewRecord, Store, StoreError};

use super::Writer;

fn commit_thread_stopped() -> StoreError {
    StoreError::Disconnected("the commit thread has stopped")
}

/// A batch the commit thread did not attempt because one before it failed
/// (never reported: the failure before it is).
fn commit_aborted() -> StoreError {
    StoreError::Disconnected("not committed: an earlier batch failed")
}

/// Called on the commit thread each time a batch's commit returned.
pub type CommitNotifier = Box<dyn Fn() + Send + Sync>;

/// A commit's result (`None`: aborted, not attempted, after an earlier
/// failure), with its batch: the records are freed on the caller's thread,
/// not on the commit thread, which is the busier one.
type Committed = (Option<Result<Vec<u64>, StoreError>>, Vec<NewRecord>);

/// Work for the commit thread.
enum CommitRequest {
    Batch(Vec<NewRecord>),
    /// The writer has dropped every batch sent after a failed one: commit again.
    Reset,
}

/// A thread that owns the writing store connection and commits batches in order.
pub(super) struct Committer {
    batches: Option<mpsc::SyncSender<CommitRequest>>,
    results: mpsc::Receiver<Committed>,
    notifier: Arc<OnceLock<CommitNotifier>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Committer {
    pub(super) fn start(mut store: Box<dyn Store>) -> Committer {
        let (batches, incoming) = mpsc::sync_channel::<CommitRequest>(1);
        let (outgoing, results) = mpsc::channel();
        let notifier: Arc<OnceLock<CommitNotifier>> = Arc::default();
        let notify = Arc::clone(&notifier);
        let thread = std::thread::Builder::new()
            .name("corridor-commit".into())
            .spawn(move || {
                let mut failed = false;
                for request in incoming {
                    let batch = match request {
                        CommitRequest::Batch(batch) => batch,
                        CommitRequest::Reset => {
                            failed = false;
                            continue;
                        }
                    };
                    let result = if failed {
                        None
                    } else {
                        let result = store.append(&batch);
                        failed = result.is_err();
                        Some(result)
                    };
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

impl Writer {
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
    /// and returns the leaf indexes of the batch sent before, if any (it is
    /// confirmed meanwhile): the caller validates the next batch while this
    /// one commits, and [`Writer::commit`] waits for the last. Nothing
    /// staged is a no-op (the batch in flight stays in flight).
    ///
    /// # Errors
    /// The batch sent before failed: it is not stored, and what was staged
    /// now, on the assumption that it would be, is dropped and never
    /// reaches the store (the caller stages it again to store it).
    pub fn send_staged(&mut self) -> Result<Vec<u64>, StoreError> {
        self.send_batch()
    }

    /// Hands the staged batch to the committer (or commits it here), keeping
    /// at most one batch in flight; returns what was confirmed meanwhile.
    /// The batch may depend on the one before it; if that one fails, the
    /// commit thread aborts this one untouched (see the module comment).
    pub(super) fn send_batch(&mut self) -> Result<Vec<u64>, StoreError> {
        if self.batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut confirmed = Vec::new();
        let batch = std::mem::take(&mut self.batch);
        let number = self.batch_number;
        self.batch_number += 1;
        let records = batch.len();
        let Some(committer) = &self.committer else {
            let result = self.store.append(&batch);
            self.forget(number, result.is_ok());
            return result;
        };
        let sent = committer
            .batches
            .as_ref()
            .map(|sender| sender.send(CommitRequest::Batch(batch)));
        if !matches!(sent, Some(Ok(()))) {
            self.forget_everything();
            return Err(commit_thread_stopped());
        }
        self.in_flight.push_back((number, records));
        while self.in_flight.len() > 1 {
            confirmed.extend(self.confirm_oldest()?.1);
        }
        Ok(confirmed)
    }

    /// Whether a batch was sent to the commit thread and not yet confirmed.
    pub fn has_in_flight(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Waits for the batch in flight and returns its leaf indexes; `None`
    /// when nothing is in flight. What is staged stays staged, unless the
    /// commit failed.
    ///
    /// # Errors
    /// The commit failed: that batch and everything staged after it are
    /// dropped, none of it stored (with [`StoreError::is_outcome_unknown`],
    /// the failed batch may be stored all the same).
    pub fn confirm_in_flight(&mut self) -> Option<Result<Vec<u64>, StoreError>> {
        if self.in_flight.is_empty() {
            return None;
        }
        Some(self.confirm_oldest().map(|(_, indexes)| indexes))
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
            Ok((result, _records)) => result.unwrap_or_else(|| Err(commit_aborted())),
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
                |(result, _records)| result.unwrap_or_else(|| Err(commit_aborted())),
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
                // Batches after the failed one may depend on it: the commit
                // thread aborts them; drop them all, then let it commit again.
                while let Some((_, _)) = self.in_flight.pop_front() {
                    let _ = self
                        .committer
                        .as_ref()
                        .map(|committer| committer.results.recv());
                }
                if let Some(sender) = self
                    .committer
                    .as_ref()
                    .and_then(|committer| committer.batches.as_ref())
                {
                    let _ = sender.send(CommitRequest::Reset);
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
        let prefetched = &mut self.prefetched;
        self.pending_ids.retain(|id, (_, batch)| {
            if *batch != number {
                return true;
            }
            // Stored now: a prefetched "not stored" no longer holds.
            prefetched.remove(id);
            false
        });
        self.pending_targets.retain(|_, pending| {
            if pending
                .shadowed
                .as_ref()
                .is_some_and(|shadowed| shadowed.batch == number)
            {
                // Now stored, so the store answers for it if this entry goes.
                pending.shadowed = None;
            }
            pending.batch != number
        });
    }

    fn forget_everything(&mut self) {
        self.batch.clear();
        self.pending_ids.clear();
        self.pending_targets.clear();
        self.prefetched.clear();
        // A failed batch may have evicted or relied on cached zones.
        self.site_zones.borrow_mut().clear();
    }
}
