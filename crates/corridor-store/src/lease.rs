//! The integrator lease and the tree head it fences: how the servers that
//! share one store agree that exactly one of them publishes the log.
//!
//! The **lease** is one row: a holder, an epoch and an expiry on the
//! store's own clock (PostgreSQL's, for a shared database, so the servers'
//! clocks do not matter). A server takes it when it is free or expired and
//! renews it while it integrates; each statement is its own short
//! transaction, so nothing is held between renewals and the lease works
//! behind a pooler in transaction mode (PgBouncer). Every change of holder,
//! and every renewal after an expiry, raises the epoch.
//!
//! The **tree head** is the size and root of the last tree an integrator
//! was about to publish. Publication advances it by compare-and-swap, in one
//! transaction that also checks the lease is still held at the same epoch,
//! before the checkpoint is written. A server that was paused and wakes
//! after another took over fails here (its epoch is gone, and the head has
//! moved), so it cannot publish; whatever tiles it writes afterwards are the
//! identical bytes the new integrator wrote, because the leaves are the
//! store's and the same for both.

use std::time::Duration;

use crate::StoreError;

/// The lease as its holder knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it (a server's unique name for itself).
    pub holder: String,
    /// Raised on every change of holder and every renewal after an expiry.
    pub epoch: u64,
}

/// What an attempt to take or renew the lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// The caller holds it now, until the time it asked for has passed.
    Held(Lease),
    /// Another holder does, for `expires_in` more at least.
    Taken {
        /// The holder.
        holder: String,
        /// Its epoch.
        epoch: u64,
        /// How long until it expires unless renewed.
        expires_in: Duration,
    },
}

/// The size and root of a tree, as the store records the published head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// The number of leaves.
    pub size: u64,
    /// The RFC 6962 root hash of those leaves.
    pub root: [u8; 32],
}

/// The lease and the tree head, kept by every backend.
pub trait LeaseStore {
    /// Takes the lease for `holder` if it is free, expired or already
    /// `holder`'s, for `ttl` from now on the store's clock.
    ///
    /// # Errors
    /// A storage failure.
    fn acquire_lease(&mut self, holder: &str, ttl: Duration) -> Result<LeaseState, StoreError>;

    /// Ends `lease` now if it is still held, so another server may take it
    /// at once (a server shutting down). Does nothing otherwise.
    ///
    /// # Errors
    /// A storage failure.
    fn release_lease(&mut self, lease: &Lease) -> Result<(), StoreError>;

    /// The recorded tree head; `None` before the first publication.
    ///
    /// # Errors
    /// A storage failure.
    fn tree_head(&self) -> Result<Option<TreeHead>, StoreError>;

    /// Moves the recorded head from `from` (`None`: none recorded yet) to
    /// `to`, if `lease` is still held unexpired at its epoch. A head already
    /// at `to` counts as moved (a retry after a lost answer), and so does
    /// `from == to`, which only checks the lease.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] saying why, with nothing changed: the lease
    /// was lost, the head is not `from`, or `to` is smaller than `from`; a
    /// storage failure.
    fn advance_tree_head(
        &mut self,
        lease: &Lease,
        from: Option<&TreeHead>,
        to: &TreeHead,
    ) -> Result<(), StoreError>;
}

/// The lease row, for the backends that decide in Rust (SQLite, memory)
/// with the local clock: milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaseRow {
    pub(crate) holder: String,
    pub(crate) epoch: u64,
    pub(crate) expires_at_ms: u64,
}

impl LeaseRow {
    /// As stored in SQLite's `meta`: `epoch expires_at_ms holder`.
    pub(crate) fn encode(&self) -> Vec<u8> {
        format!("{} {} {}", self.epoch, self.expires_at_ms, self.holder).into_bytes()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<LeaseRow> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut parts = text.splitn(3, ' ');
        Some(LeaseRow {
            epoch: parts.next()?.parse().ok()?,
            expires_at_ms: parts.next()?.parse().ok()?,
            holder: parts.next()?.to_string(),
        })
    }
}

/// The local clock in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Takes or renews the lease in `row` at `now_ms`; returns the new row to
/// store (if any) and what the caller learns.
pub(crate) fn acquire(
    row: Option<&LeaseRow>,
    holder: &str,
    ttl: Duration,
    now_ms: u64,
) -> (Option<LeaseRow>, LeaseState) {
    let expires_at_ms = now_ms.saturating_add(millis(ttl));
    let epoch = match row {
        None => 1,
        Some(row) if row.holder == holder && row.expires_at_ms > now_ms => row.epoch,
        Some(row) if row.expires_at_ms <= now_ms => row.epoch + 1,
        Some(row) => {
            return (
                None,
                LeaseState::Taken {
                    holder: row.holder.clone(),
                    epoch: row.epoch,
                    expires_in: Duration::from_millis(row.expires_at_ms - now_ms),
                },
            );
        }
    };
    let lease = Lease {
        holder: holder.to_string(),
        epoch,
    };
    (
        Some(LeaseRow {
            holder: holder.to_string(),
            epoch,
            expires_at_ms,
        }),
        LeaseState::Held(lease),
    )
}

/// The row after `lease` is released at `now_ms`, if it was still held.
pub(crate) fn release(row: Option<&LeaseRow>, lease: &Lease, now_ms: u64) -> Option<LeaseRow> {
    let row = row?;
    (row.holder == lease.holder && row.epoch == lease.epoch && row.expires_at_ms > now_ms).then(
        || LeaseRow {
            expires_at_ms: now_ms,
            ..row.clone()
        },
    )
}

/// Why `lease` may not advance the head now, if it may not.
pub(crate) fn lease_refusal(row: Option<&LeaseRow>, lease: &Lease, now_ms: u64) -> Option<String> {
    match row {
        Some(row) if row.holder == lease.holder && row.epoch == lease.epoch => {
            (row.expires_at_ms <= now_ms).then(|| expired(lease))
        }
        Some(row) => Some(taken_over(lease, &row.holder, row.epoch)),
        None => Some(format!(
            "the integrator lease of {} (epoch {}) is not recorded in the store",
            lease.holder, lease.epoch
        )),
    }
}

/// The message for a lease that expired before its holder renewed it.
pub(crate) fn expired(lease: &Lease) -> String {
    format!(
        "the integrator lease of {} (epoch {}) expired before it was renewed",
        lease.holder, lease.epoch
    )
}

/// The message for a lease another server holds now.
pub(crate) fn taken_over(lease: &Lease, holder: &str, epoch: u64) -> String {
    format!(
        "the integrator lease of {} (epoch {}) was taken over by {holder} (epoch {epoch})",
        lease.holder, lease.epoch
    )
}

/// Why the head may not move from `from` to `to` while `recorded` is
/// recorded, if it may not.
pub(crate) fn head_refusal(
    recorded: Option<&TreeHead>,
    from: Option<&TreeHead>,
    to: &TreeHead,
) -> Option<String> {
    if let Some(from) = from
        && to.size < from.size
    {
        return Some(format!(
            "the tree head would move back from {} to {} leaves",
            from.size, to.size
        ));
    }
    if recorded == Some(to) || recorded == from {
        return None;
    }
    Some(match recorded {
        Some(recorded) => format!(
            "the recorded tree head is {} leaves, not the {} this integration started from (another integrator published meanwhile)",
            recorded.size,
            from.map_or_else(|| "none".to_string(), |from| from.size.to_string())
        ),
        None => "no tree head is recorded, but this integration started from one".to_string(),
    })
}

/// The recorded head, as SQLite's `meta` keeps it: the size (8 bytes,
/// big-endian), then the root.
pub(crate) fn encode_head(head: &TreeHead) -> Vec<u8> {
    let mut bytes = head.size.to_be_bytes().to_vec();
    bytes.extend_from_slice(&head.root);
    bytes
}

pub(crate) fn decode_head(bytes: &[u8]) -> Option<TreeHead> {
    let (size, root) = bytes.split_first_chunk::<8>()?;
    Some(TreeHead {
        size: u64::from_be_bytes(*size),
        root: root.try_into().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_changes_hands_only_when_it_expired_and_the_epoch_rises() {
        let ttl = Duration::from_millis(100);
        let (row, state) = acquire(None, "a", ttl, 1_000);
        let row = row.expect("taken");
        assert_eq!(
            state,
            LeaseState::Held(Lease {
                holder: "a".into(),
                epoch: 1
            })
        );
        let (none, state) = acquire(Some(&row), "b", ttl, 1_050);
        assert_eq!(none, None);
        assert!(matches!(state, LeaseState::Taken { epoch: 1, .. }));
        let (renewed, _) = acquire(Some(&row), "a", ttl, 1_050);
        assert_eq!(renewed.as_ref().map(|row| row.epoch), Some(1));
        let (taken, state) = acquire(Some(&row), "b", ttl, 1_100);
        assert_eq!(taken.map(|row| row.epoch), Some(2));
        assert!(matches!(state, LeaseState::Held(Lease { epoch: 2, .. })));
        let a = Lease {
            holder: "a".into(),
            epoch: 1,
        };
        assert!(lease_refusal(Some(&row), &a, 1_099).is_none());
        assert!(lease_refusal(Some(&row), &a, 1_100).is_some());
        assert_eq!(LeaseRow::decode(&row.encode()), Some(row));
    }

    #[test]
    fn the_head_moves_only_from_where_it_is() {
        let head = |size| TreeHead {
            size,
            root: [size as u8; 32],
        };
        assert!(head_refusal(None, None, &head(3)).is_none());
        assert!(head_refusal(Some(&head(3)), None, &head(5)).is_some());
        assert!(head_refusal(Some(&head(3)), Some(&head(3)), &head(5)).is_none());
        assert!(head_refusal(Some(&head(5)), Some(&head(3)), &head(5)).is_none());
        assert!(head_refusal(Some(&head(7)), Some(&head(3)), &head(5)).is_some());
        assert!(head_refusal(Some(&head(5)), Some(&head(5)), &head(3)).is_some());
        assert_eq!(decode_head(&encode_head(&head(9))), Some(head(9)));
    }
}
