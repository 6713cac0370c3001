//! The store's small key-value table (`meta`): schema version, origin, secrets.

use rusqlite::{Connection, OptionalExtension, params};

use crate::StoreError;

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
