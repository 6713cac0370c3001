//! The PostgreSQL backend: the same contract as SQLite, on a database that
//! several Corridor processes (several servers) may share.
//!
//! This file opens the store and wires the [`Store`] and [`TokenStore`]
//! contracts to the modules that hold the SQL: `schema` (tables, version
//! and migrations), `append` (the append transaction under the sequencer
//! lock, and erasure), `read` (every read, the rollup queries through the
//! crate's shared `query_sql`). `url` parses locations and hides passwords,
//! `tls` is rustls with ring, `pool` keeps connections and reconnects with
//! backoff, and `cluster` starts throwaway clusters for tests and benchmarks.
//!
//! The `postgres` crate is synchronous: it runs its own small runtime on the
//! calling thread, which Tokio refuses inside another runtime. Every use of
//! a connection here goes through `thread::off_runtime`, which moves it to a
//! thread of its own when an async runtime is current, so the store may be
//! called from anywhere (an async handler, or `Runtime::block_on`).

mod append;
pub mod cluster;
mod lease;
mod pool;
mod read;
mod schema;
mod thread;
mod tls;
mod url;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use corridor_model::RecordType;
use postgres::error::SqlState;

pub use pool::PostgresError;
pub use schema::{SCHEMA_VERSION, VERSION_1 as TABLES};
pub(crate) use url::{is_postgres, redact};

use self::pool::{Pool, backend};
use self::read::BadRow;
use self::thread::off_runtime;
use crate::lease::{Lease, LeaseState, LeaseStore, TreeHead};
use crate::rollup::{Metrics, RollupDifference, RollupQuery, RollupRow};
use crate::{
    ApiToken, CurrentState, ListedPassage, NewRecord, PrivatePart, Store, StoreError, StoredRecord,
    TokenStore,
};

/// A store in a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresStore {
    pool: Arc<Pool>,
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://` or
    /// `postgresql://`), creating or migrating the schema on first use.
    ///
    /// # Errors
    /// A bad URL, an unreachable server (after retries), refused
    /// credentials, a missing database, or a schema this build cannot read.
    /// No message holds the password.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let options = url::parse(url)?;
        let pool = pool::shared(url, options);
        if !pool.installed.load(Ordering::Acquire) {
            off_runtime(|| {
                let mut client = pool.get()?;
                schema::install(&mut client, pool.shown())
            })?;
            pool.installed.store(true, Ordering::Release);
        }
        Ok(PostgresStore { pool })
    }

    /// The location, password hidden.
    pub fn location(&self) -> &str {
        self.pool.shown()
    }

    /// Runs `work` on a pooled connection. A connection found lost (the
    /// server restarted since it was last used) is replaced, with the other
    /// idle ones, and `work` run once more: every caller of this is a read
    /// or an idempotent write.
    fn with_client<T: Send>(
        &self,
        doing: &'static str,
        mut work: impl FnMut(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, StoreError> {
        off_runtime(|| {
            let mut client = self.pool.get()?;
            match work(&mut client) {
                Ok(value) => Ok(value),
                Err(error) if client.is_closed() || pool::connection_lost(&error) => {
                    drop(client);
                    let mut client = self.pool.reconnect()?;
                    work(&mut client).map_err(|error| backend(self.pool.shown(), doing, error))
                }
                Err(error) => Err(backend(self.pool.shown(), doing, error)),
            }
        })
    }

    /// [`Self::with_client`] for reads that may find a row they cannot read.
    fn read<T: Send>(
        &self,
        doing: &'static str,
        work: impl FnMut(&mut postgres::Client) -> Result<Result<T, BadRow>, postgres::Error> + Send,
    ) -> Result<T, StoreError> {
        self.with_client(doing, work)?
            .map_err(BadRow::into_store_error)
    }
}

/// Checks a PostgreSQL URL without connecting.
///
/// # Errors
/// [`StoreError::BadLocation`] saying what is wrong (password hidden).
pub(crate) fn check_url(url: &str) -> Result<(), StoreError> {
    url::parse(url).map(drop)
}

/// Whether `error` says PostgreSQL ran out of disk space (SQLSTATE 53100).
pub(crate) fn is_disk_full(error: &(dyn std::error::Error + 'static)) -> bool {
    error
        .downcast_ref::<PostgresError>()
        .and_then(PostgresError::code)
        .is_some_and(|code| *code == SqlState::DISK_FULL)
}

impl Store for PostgresStore {
    fn append(&mut self, batch: &[NewRecord]) -> Result<Vec<u64>, StoreError> {
        off_runtime(|| append::append(&self.pool, batch))
    }

    fn record(&self, id: &str) -> Result<Option<StoredRecord>, StoreError> {
        self.read("reading a record", |client| read::record(client, id))
    }

    fn records(&self, ids: &[&str]) -> Result<Vec<StoredRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read("reading records by id", |client| read::records(client, ids))
    }

    fn record_at(&self, leaf_index: u64) -> Result<Option<StoredRecord>, StoreError> {
        self.read("reading a record", |client| {
            read::record_at(client, leaf_index)
        })
    }

    fn current(&self, target_id: &str) -> Result<Option<CurrentState>, StoreError> {
        self.read("reading a current record", |client| {
            read::current(client, target_id)
        })
    }

    fn leaf_count(&self) -> Result<u64, StoreError> {
        self.read("counting leaves", read::leaf_count)
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.with_client("reading leaves", |client| read::leaves(client, start, end))
    }

    fn private_part(&self, id: &str) -> Result<Option<PrivatePart>, StoreError> {
        self.read("reading a private part", |client| {
            read::private_part(client, id)
        })
    }

    fn erase_private(&mut self, id: &str) -> Result<u64, StoreError> {
        off_runtime(|| append::erase_private(&self.pool, id))
    }

    fn rollup(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        self.with_client("reading rollups", |client| read::rollup(client, query))
    }

    fn passage_sums(
        &self,
        query: &RollupQuery,
        attributes: &[(String, String)],
    ) -> Result<Metrics, StoreError> {
        self.with_client("summing passages", |client| {
            read::passage_sums(client, query, attributes)
        })
    }

    fn rollup_differences(&self) -> Result<Vec<RollupDifference>, StoreError> {
        self.read("recounting rollups", read::rollup_differences)
    }

    fn passages(
        &self,
        query: &RollupQuery,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<ListedPassage>, StoreError> {
        self.read("listing passages", |client| {
            read::passages(client, query, offset, limit)
        })
    }

    fn current_of_type(
        &self,
        content_type: RecordType,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.with_client("reading current records", |client| {
            read::current_of_type(client, content_type)
        })
    }

    fn count_by_type(&self) -> Result<Vec<(RecordType, u64)>, StoreError> {
        self.read("counting records", read::count_by_type)
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_client("reading settings", |client| read::meta(client, key))
    }

    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.with_client("writing settings", |client| {
            read::set_meta(client, key, value)
        })
        .map(drop)
    }

    fn export(&self, start: u64, end: u64) -> Result<Vec<NewRecord>, StoreError> {
        self.with_client("exporting records", |client| {
            read::export(client, start, end)
        })?
    }

    fn first_meta(&mut self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.with_client("writing settings", |client| {
            read::first_meta(client, key, value)
        })
    }
}

impl LeaseStore for PostgresStore {
    fn acquire_lease(
        &mut self,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<LeaseState, StoreError> {
        self.with_client("taking the integrator lease", |client| {
            lease::acquire(client, holder, ttl)
        })
    }

    fn release_lease(&mut self, held: &Lease) -> Result<(), StoreError> {
        self.with_client("releasing the integrator lease", |client| {
            lease::release(client, held)
        })
    }

    fn tree_head(&self) -> Result<Option<TreeHead>, StoreError> {
        self.with_client("reading the tree head", lease::tree_head)
    }

    fn advance_tree_head(
        &mut self,
        held: &Lease,
        from: Option<&TreeHead>,
        to: &TreeHead,
    ) -> Result<(), StoreError> {
        match self.with_client("advancing the tree head", |client| {
            lease::advance(client, held, from, to)
        })? {
            None => Ok(()),
            Some(reason) => Err(StoreError::Fenced { reason }),
        }
    }
}

impl TokenStore for PostgresStore {
    fn insert_token(&mut self, token: &ApiToken, secret_hash: &[u8; 32]) -> Result<(), StoreError> {
        off_runtime(|| {
            let mut client = self.pool.get()?;
            match read::insert_token(&mut client, token, secret_hash) {
                Ok(_) => Ok(()),
                // Both the id and the hash are unique: either is a token stored already.
                Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    Err(StoreError::DuplicateToken {
                        id: token.id.clone(),
                    })
                }
                Err(error) => Err(backend(self.pool.shown(), "storing a token", error)),
            }
        })
    }

    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        self.with_client("reading a token", |client| {
            read::token_by_hash(client, secret_hash)
        })
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.with_client("listing tokens", read::tokens)
    }

    fn tokens_with_hashes(&self) -> Result<Vec<(ApiToken, [u8; 32])>, StoreError> {
        self.read("listing tokens", read::tokens_with_hashes)
    }

    fn revoke_token(&mut self, id: &str, revoked_at: &str) -> Result<bool, StoreError> {
        self.with_client("revoking a token", |client| {
            read::revoke_token(client, id, revoked_at)
        })
    }

    fn submitter(&self, record_id: &str) -> Result<Option<String>, StoreError> {
        self.with_client("reading a submitter", |client| {
            read::submitter(client, record_id)
        })
    }
}
