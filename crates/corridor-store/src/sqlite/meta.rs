//! The store's small key-value table (`meta`): schema version, origin,
//! secrets, and the integrator lease with the tree head.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::StoreError;
use crate::lease::{self, Lease, LeaseRow, LeaseState, TreeHead, now_ms};

pub(super) fn read_meta(connection: &Connection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?)
}

pub(super) fn write_meta(
    connection: &Connection,
    key: &str,
    value: &[u8],
) -> Result<(), StoreError> {
    connection
        .prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}

/// The `meta` keys of the integrator lease and the tree head (see
/// [`crate::lease`]); SQLite decides them with the local clock, one
/// process at a time (the data directory's writer lock).
const LEASE_KEY: &str = "integrator_lease";
const HEAD_KEY: &str = "tree_head";

fn read_lease(connection: &Connection) -> Result<Option<LeaseRow>, StoreError> {
    read_meta(connection, LEASE_KEY)?
        .map(|bytes| LeaseRow::decode(&bytes).ok_or_else(|| malformed(LEASE_KEY)))
        .transpose()
}

fn malformed(key: &str) -> StoreError {
    StoreError::Backend {
        source: format!("the store's meta value {key:?} is malformed").into(),
    }
}

pub(super) fn tree_head(connection: &Connection) -> Result<Option<TreeHead>, StoreError> {
    read_meta(connection, HEAD_KEY)?
        .map(|bytes| lease::decode_head(&bytes).ok_or_else(|| malformed(HEAD_KEY)))
        .transpose()
}

pub(super) fn acquire_lease(
    connection: &mut Connection,
    holder: &str,
    ttl: Duration,
) -> Result<LeaseState, StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (row, state) = lease::acquire(read_lease(&transaction)?.as_ref(), holder, ttl, now_ms());
    if let Some(row) = row {
        write_meta(&transaction, LEASE_KEY, &row.encode())?;
    }
    transaction.commit()?;
    Ok(state)
}

pub(super) fn release_lease(connection: &mut Connection, held: &Lease) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(row) = lease::release(read_lease(&transaction)?.as_ref(), held, now_ms()) {
        write_meta(&transaction, LEASE_KEY, &row.encode())?;
    }
    transaction.commit()?;
    Ok(())
}

pub(super) fn advance_tree_head(
    connection: &mut Connection,
    held: &Lease,
    from: Option<&TreeHead>,
    to: &TreeHead,
) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let recorded = tree_head(&transaction)?;
    let refusal = lease::lease_refusal(read_lease(&transaction)?.as_ref(), held, now_ms())
        .or_else(|| lease::head_refusal(recorded.as_ref(), from, to));
    if let Some(reason) = refusal {
        return Err(StoreError::Fenced { reason });
    }
    write_meta(&transaction, HEAD_KEY, &lease::encode_head(to))?;
    transaction.commit()?;
    Ok(())
}
