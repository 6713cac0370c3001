//! Fencing publication: the [`Fence`] that integration asks before it
//! publishes, and [`LeaseFence`], the one backed by the store's integrator
//! lease and tree head (see `corridor_store::lease`).

use std::time::{Duration, Instant};

use corridor_store::{Lease, LeaseState, LeaseStore, StoreError, TreeHead};

/// Where the published tree head is recorded, so that of several servers
/// only the integrator holding the lease publishes (the store's
/// [`LeaseStore`](corridor_store::LeaseStore), through the engine). Between
/// the durability point and the checkpoint, integration moves the recorded
/// head from where it found it to the new tree by compare-and-swap; a
/// refusal means another integrator took over, and nothing is published.
pub trait Fence {
    /// The head recorded now (`None` before the first publication).
    ///
    /// # Errors
    ///
    /// The store failed.
    fn recorded(&mut self) -> Result<Option<TreeHead>, StoreError>;

    /// Keeps the right to publish alive during a long integration (renews
    /// a lease when it is due); called between chunks of leaves.
    ///
    /// # Errors
    ///
    /// The right was lost ([`StoreError::Fenced`]) or the store failed.
    fn keep_alive(&mut self) -> Result<(), StoreError>;

    /// Moves the recorded head from `from` to `to`, or refuses.
    ///
    /// # Errors
    ///
    /// [`StoreError::Fenced`] when this integrator may not publish `to`.
    fn advance(&mut self, from: Option<&TreeHead>, to: &TreeHead) -> Result<(), StoreError>;
}

/// No fence: the caller is the log's only writer by other means (tests,
/// benchmarks, a log copied between backends).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unfenced;

impl Fence for Unfenced {
    fn recorded(&mut self) -> Result<Option<TreeHead>, StoreError> {
        Ok(None)
    }

    fn keep_alive(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn advance(&mut self, _from: Option<&TreeHead>, _to: &TreeHead) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The fence of the integrator that holds the store's lease: it reads and
/// advances the store's tree head under that lease, and renews the lease
/// during a long integration so that it does not expire mid-way.
pub struct LeaseFence<'a> {
    store: &'a mut dyn LeaseStore,
    lease: Lease,
    ttl: Duration,
    renewed: Instant,
}

impl std::fmt::Debug for LeaseFence<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LeaseFence")
            .field("lease", &self.lease)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<'a> LeaseFence<'a> {
    /// The fence of `lease`, just taken or renewed for `ttl` in `store`.
    pub fn new(store: &'a mut dyn LeaseStore, lease: Lease, ttl: Duration) -> Self {
        LeaseFence {
            store,
            lease,
            ttl,
            renewed: Instant::now(),
        }
    }
}

impl Fence for LeaseFence<'_> {
    fn recorded(&mut self) -> Result<Option<TreeHead>, StoreError> {
        self.store.tree_head()
    }

    fn keep_alive(&mut self) -> Result<(), StoreError> {
        if self.renewed.elapsed() < self.ttl / 3 {
            return Ok(());
        }
        let asked = Instant::now();
        match self.store.acquire_lease(&self.lease.holder, self.ttl)? {
            LeaseState::Held(lease) if lease == self.lease => {
                self.renewed = asked;
                Ok(())
            }
            LeaseState::Held(lease) => Err(StoreError::Fenced {
                reason: format!(
                    "the integrator lease of {} expired during integration (epoch {} became {})",
                    lease.holder, self.lease.epoch, lease.epoch
                ),
            }),
            LeaseState::Taken { holder, epoch, .. } => Err(StoreError::Fenced {
                reason: format!(
                    "the integrator lease of {} (epoch {}) was taken over by {holder} (epoch {epoch})",
                    self.lease.holder, self.lease.epoch
                ),
            }),
        }
    }

    fn advance(&mut self, from: Option<&TreeHead>, to: &TreeHead) -> Result<(), StoreError> {
        self.store.advance_tree_head(&self.lease, from, to)
    }
}
