//! Publishing the log from a store that several servers may share: the
//! integrator lease decides which one integrates and signs, and the tree
//! head it fences makes sure that no other (a server paused past its
//! lease, a CLI run beside the servers) can publish meanwhile.
//!
//! A [`Publisher`] belongs to one process. Each [`Publisher::round`] takes
//! or renews the lease (one statement) and, holding it, integrates under a
//! [`LeaseFence`]; when another holder has it, the round only reports who.
//! The lease lives on its own store connection, so the leaves are read on
//! another and a renewal never waits behind a long read. A store that only
//! one data directory writes (SQLite, behind its writer lock) needs no
//! lease: [`Publisher::sole`] integrates every round, unfenced.

use std::time::Duration;

use corridor_log::{IntegrateError, Integration, LeafSource, LeaseFence, Log};
use corridor_store::{Lease, LeaseState, Store};

/// What one round of publishing did.
#[derive(Debug)]
pub enum Round {
    /// This process holds the lease and integrated.
    Integrated(Integration),
    /// Another process holds the lease and publishes.
    Following {
        /// Its name for itself (see [`Publisher::holder`]).
        holder: String,
    },
}

/// One process's side of the integrator lease.
#[derive(Debug)]
pub struct Publisher {
    holder: String,
    ttl: Duration,
    /// The lease's connection; `None` for the only writer of its store.
    store: Option<Box<dyn Store>>,
    lease: Option<Lease>,
    takeovers: u64,
}

impl Publisher {
    /// A publisher for `purpose` (`corridor serve`, `corridor add`) whose
    /// lease lasts `ttl` past each renewal, on its own connection `store`.
    #[must_use]
    pub fn new(store: Box<dyn Store>, purpose: &str, ttl: Duration) -> Publisher {
        Publisher {
            holder: holder_name(purpose),
            ttl,
            store: Some(store),
            lease: None,
            takeovers: 0,
        }
    }

    /// A publisher for the only writer of its store: every round
    /// integrates, without a lease or a recorded tree head.
    #[must_use]
    pub fn sole(purpose: &str) -> Publisher {
        Publisher {
            holder: holder_name(purpose),
            ttl: Duration::ZERO,
            store: None,
            lease: None,
            takeovers: 0,
        }
    }

    /// This process's unique name in the lease: the purpose, the host, the
    /// process id and a random suffix.
    #[must_use]
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Whether this process held the lease at its last round (the only
    /// writer of its store always integrates, once it has begun).
    #[must_use]
    pub fn is_integrating(&self) -> bool {
        self.lease.is_some() || (self.store.is_none() && self.takeovers > 0)
    }

    /// How many times this process became the integrator.
    #[must_use]
    pub fn takeovers(&self) -> u64 {
        self.takeovers
    }

    /// Takes or renews the lease and, holding it, integrates every new
    /// leaf of `leaves` into `log` under the lease's fence.
    ///
    /// # Errors
    /// The store failed (the lease is then taken as lost), or integration
    /// failed; [`IntegrateError::Fenced`] when the lease was lost during
    /// the round, with nothing published.
    pub fn round<S: LeafSource + ?Sized>(
        &mut self,
        log: &Log,
        leaves: &S,
    ) -> Result<Round, IntegrateError> {
        let Some(store) = self.store.as_mut() else {
            self.takeovers = 1;
            return log.integrate(leaves).map(Round::Integrated);
        };
        let lease = match store.acquire_lease(&self.holder, self.ttl) {
            Ok(LeaseState::Held(lease)) => lease,
            Ok(LeaseState::Taken { holder, .. }) => {
                if self.lease.take().is_some() {
                    tracing::warn!(%holder, "lost the integrator lease");
                }
                return Ok(Round::Following { holder });
            }
            Err(error) => {
                self.lease = None;
                return Err(IntegrateError::Store(error));
            }
        };
        if self.lease.as_ref() != Some(&lease) {
            self.takeovers += 1;
            tracing::info!(
                holder = %self.holder,
                epoch = lease.epoch,
                "became the integrator"
            );
        }
        self.lease = Some(lease.clone());
        let mut fence = LeaseFence::new(store.as_mut(), lease, self.ttl);
        match log.integrate_fenced(leaves, &mut fence) {
            Ok(integration) => Ok(Round::Integrated(integration)),
            Err(error) => {
                if error.is_fenced() {
                    self.lease = None;
                }
                Err(error)
            }
        }
    }

    /// Gives the lease up now, so another process takes over at once.
    pub fn release(&mut self) {
        if let Some(lease) = self.lease.take()
            && let Some(store) = self.store.as_mut()
            && let Err(error) = store.release_lease(&lease)
        {
            tracing::warn!("releasing the integrator lease failed (it expires by itself): {error}");
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.release();
    }
}

/// `purpose@host:pid:random`, unique among the processes sharing a store.
fn holder_name(purpose: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "host".to_string());
    let mut random = [0_u8; 4];
    let suffix = match getrandom::fill(&mut random) {
        Ok(()) => u32::from_be_bytes(random),
        Err(_) => std::process::id().rotate_left(16),
    };
    format!("{purpose}@{host}:{}:{suffix:08x}", std::process::id())
}
