//! The SQLite backend: one database file in WAL mode with durable commits.
//!
//! This file opens the database and wires the [`Store`] and [`TokenStore`]
//! contracts to the modules that hold the SQL: `schema` (tables, settings,
//! the version check), `append` (the append transaction and erasure),
//! `query` (the filter builder and the queries over rollups and the passage
//! index), `read` (everything else that reads), `meta` (the key-value table)
//! and `tokens` (API tokens and submitters). The on-disk layout is drawn in
//! `docs/storage.md`.

mod append;
mod meta;
mod query;
mod read;
mod schema;
mod tokens;

use std::path::Path;

use corridor_model::RecordType;
use rusqlite::Connection;

pub use schema::{INSERT_CURRENT, INSERT_PASSAGE, INSERT_RECORD, PRAGMAS, SCHEMA, SCHEMA_VERSION};

use crate::lease::{Lease, LeaseState, LeaseStore, TreeHead};
use crate::rollup::{Metrics, RollupDifference, RollupQuery, RollupRow};
use crate::{
    ApiToken, CurrentState, ListedPassage, NewRecord, PrivatePart, Store, StoreError, StoredRecord,
    TokenStore,
};

/// A store in one SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    ///
    /// # Errors
    /// The file cannot be opened, or was written by a newer schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let connection = Connection::open(path)?;
        schema::install(&connection, &path.display().to_string())?;
        Ok(SqliteStore { connection })
    }

    /// A private in-memory database (tests).
    ///
    /// # Errors
    /// SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let connection = Connection::open_in_memory()?;
        schema::install(&connection, ":memory:")?;
        Ok(SqliteStore { connection })
    }
}

impl Store for SqliteStore {
    fn append(&mut self, batch: &[NewRecord]) -> Result<Vec<u64>, StoreError> {
        append::append(&mut self.connection, batch)
    }

    fn record(&self, id: &str) -> Result<Option<StoredRecord>, StoreError> {
        read::record(&self.connection, id)
    }

    fn records(&self, ids: &[&str]) -> Result<Vec<StoredRecord>, StoreError> {
        crate::records_one_by_one(self, ids)
    }

    fn record_at(&self, leaf_index: u64) -> Result<Option<StoredRecord>, StoreError> {
        read::record_at(&self.connection, leaf_index)
    }

    fn current(&self, target_id: &str) -> Result<Option<CurrentState>, StoreError> {
        read::current(&self.connection, target_id)
    }

    fn leaf_count(&self) -> Result<u64, StoreError> {
        read::leaf_count(&self.connection)
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        read::leaves(&self.connection, start, end)
    }

    fn private_part(&self, id: &str) -> Result<Option<PrivatePart>, StoreError> {
        read::private_part(&self.connection, id)
    }

    fn erase_private(&mut self, id: &str) -> Result<u64, StoreError> {
        append::erase_private(&mut self.connection, id)
    }

    fn rollup(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        query::rollup(&self.connection, query)
    }

    fn passage_sums(
        &self,
        query: &RollupQuery,
        attributes: &[(String, String)],
    ) -> Result<Metrics, StoreError> {
        query::passage_sums(&self.connection, query, attributes)
    }

    fn rollup_differences(&self) -> Result<Vec<RollupDifference>, StoreError> {
        read::rollup_differences(&self.connection)
    }

    fn passages(
        &self,
        query: &RollupQuery,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<ListedPassage>, StoreError> {
        query::passages(&self.connection, query, offset, limit)
    }

    fn current_of_type(
        &self,
        content_type: RecordType,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        read::current_of_type(&self.connection, content_type)
    }

    fn count_by_type(&self) -> Result<Vec<(RecordType, u64)>, StoreError> {
        read::count_by_type(&self.connection)
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        meta::read_meta(&self.connection, key)
    }

    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        meta::write_meta(&self.connection, key, value)
    }

    fn export(&self, start: u64, end: u64) -> Result<Vec<NewRecord>, StoreError> {
        read::export(&self.connection, start, end)
    }
}

impl LeaseStore for SqliteStore {
    fn acquire_lease(
        &mut self,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<LeaseState, StoreError> {
        meta::acquire_lease(&mut self.connection, holder, ttl)
    }

    fn release_lease(&mut self, lease: &Lease) -> Result<(), StoreError> {
        meta::release_lease(&mut self.connection, lease)
    }

    fn tree_head(&self) -> Result<Option<TreeHead>, StoreError> {
        meta::tree_head(&self.connection)
    }

    fn advance_tree_head(
        &mut self,
        lease: &Lease,
        from: Option<&TreeHead>,
        to: &TreeHead,
    ) -> Result<(), StoreError> {
        meta::advance_tree_head(&mut self.connection, lease, from, to)
    }
}

impl TokenStore for SqliteStore {
    fn insert_token(&mut self, token: &ApiToken, secret_hash: &[u8; 32]) -> Result<(), StoreError> {
        tokens::insert_token(&self.connection, token, secret_hash)
    }

    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        tokens::token_by_hash(&self.connection, secret_hash)
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        tokens::tokens(&self.connection)
    }

    fn tokens_with_hashes(&self) -> Result<Vec<(ApiToken, [u8; 32])>, StoreError> {
        tokens::tokens_with_hashes(&self.connection)
    }

    fn revoke_token(&mut self, id: &str, revoked_at: &str) -> Result<bool, StoreError> {
        tokens::revoke_token(&self.connection, id, revoked_at)
    }

    fn submitter(&self, record_id: &str) -> Result<Option<String>, StoreError> {
        tokens::submitter(&self.connection, record_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("store.db");
        let mut store = SqliteStore::open(&path).expect("opens");
        store.set_meta("schema_version", b"99").expect("writes");
        drop(store);
        let error = SqliteStore::open(&path).expect_err("refuses");
        assert!(
            matches!(error, StoreError::NewerSchema { found: 99, .. }),
            "{error}"
        );
    }
}
