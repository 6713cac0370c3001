//! A small connection pool: idle connections kept for reuse, new ones made
//! on demand, broken ones dropped, and connecting retried with backoff
//! while the server cannot be reached.
//!
//! Every store opened on one URL in a process shares one pool ([`shared`]),
//! so the server's many reader stores hold a few connections, not one each.
//! A server that answers and refuses (wrong password, no such database) is
//! not asked again: only failures to reach it, and a server still starting
//! up or shutting down, are retried.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use postgres::Client;
use postgres::error::SqlState;

use super::thread::drop_off_runtime;
use super::tls::RustlsConnector;
use super::url::{ConnectOptions, error_chain};
use crate::StoreError;

/// How many idle connections a pool keeps.
const MAX_IDLE: usize = 16;

/// Attempts to connect before giving up, and the first pause between them
/// (doubled each time: 0.1 s, 0.2 s, ... about 6 s in all).
const CONNECT_ATTEMPTS: u32 = 7;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// A PostgreSQL failure, with the (password-free) location it happened at.
#[derive(Debug)]
pub struct PostgresError {
    location: String,
    doing: &'static str,
    error: postgres::Error,
}

impl PostgresError {
    pub(crate) fn new(
        location: &str,
        doing: &'static str,
        error: postgres::Error,
    ) -> PostgresError {
        PostgresError {
            location: location.to_string(),
            doing,
            error,
        }
    }

    /// The SQLSTATE the server answered with, if it answered.
    pub fn code(&self) -> Option<&SqlState> {
        self.error.code()
    }

    /// Whether the connection was lost (rather than refused by the server).
    pub fn is_connection_lost(&self) -> bool {
        self.error.is_closed() || self.error.as_db_error().is_none() && self.error.code().is_none()
    }
}

impl std::fmt::Display for PostgresError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "PostgreSQL at {} ({}): {}",
            self.location,
            self.doing,
            error_chain(&self.error)
        )
    }
}

impl std::error::Error for PostgresError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Wraps a PostgreSQL error as the store's backend error.
pub(crate) fn backend(location: &str, doing: &'static str, error: postgres::Error) -> StoreError {
    StoreError::Backend {
        source: Box::new(PostgresError::new(location, doing, error)),
    }
}

/// Connections to one database.
pub(crate) struct Pool {
    pub options: ConnectOptions,
    /// Whether the schema was checked (and migrated) through this pool.
    pub installed: AtomicBool,
    idle: Mutex<Vec<Client>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Pool")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The pool for `options`' URL, shared by every store of this process
/// opened on the same text.
pub(crate) fn shared(text: &str, options: ConnectOptions) -> Arc<Pool> {
    static POOLS: OnceLock<Mutex<HashMap<String, Weak<Pool>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(Mutex::default);
    let mut pools = pools
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pools.retain(|_, pool| pool.strong_count() > 0);
    if let Some(pool) = pools.get(text).and_then(Weak::upgrade) {
        return pool;
    }
    let pool = Arc::new(Pool {
        options,
        installed: AtomicBool::new(false),
        idle: Mutex::new(Vec::new()),
    });
    pools.insert(text.to_string(), Arc::downgrade(&pool));
    pool
}

impl Pool {
    /// The location as shown in messages (no password).
    pub fn shown(&self) -> &str {
        &self.options.shown
    }

    /// An idle connection, or a new one.
    ///
    /// # Errors
    /// The server cannot be reached after every retry, or refuses.
    pub fn get(self: &Arc<Pool>) -> Result<Pooled, StoreError> {
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let client = match reused {
            Some(client) if !client.is_closed() => client,
            _ => self.connect()?,
        };
        Ok(Pooled {
            pool: Arc::clone(self),
            client: Some(client),
        })
    }

    /// A new connection, never an idle one, after dropping every idle
    /// connection: called when one was found lost, because then the server
    /// restarted or the network failed, and the others were opened before.
    ///
    /// # Errors
    /// The server cannot be reached after every retry, or refuses.
    pub fn reconnect(self: &Arc<Pool>) -> Result<Pooled, StoreError> {
        let idle = std::mem::take(
            &mut *self
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        drop_off_runtime(idle);
        tracing::warn!(location = %self.options.shown, "PostgreSQL connection lost; reconnecting");
        let client = self.connect()?;
        Ok(Pooled {
            pool: Arc::clone(self),
            client: Some(client),
        })
    }

    /// A new connection, retried with backoff while the server is unreachable.
    pub fn connect(&self) -> Result<Client, StoreError> {
        let mut pause = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let result = match &self.options.tls {
                Some(settings) => self
                    .options
                    .config
                    .connect(RustlsConnector::new(Arc::clone(settings))),
                None => self.options.config.connect(postgres::NoTls),
            };
            match result {
                Ok(client) => return Ok(client),
                Err(error) if attempt < CONNECT_ATTEMPTS && worth_retrying(&error) => {
                    tracing::warn!(
                        location = %self.options.shown,
                        attempt,
                        error = %error_chain(&error),
                        "cannot reach PostgreSQL yet; retrying"
                    );
                    std::thread::sleep(pause);
                    pause *= 2;
                    attempt += 1;
                }
                Err(error) => return Err(backend(&self.options.shown, "connecting", error)),
            }
        }
    }

    fn give_back(&self, client: Client) {
        if client.is_closed() {
            drop_off_runtime(client);
            return;
        }
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(client);
        } else {
            drop(idle);
            drop_off_runtime(client);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(
            self.idle
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        drop_off_runtime(idle);
    }
}

/// Whether `error` means the connection is gone (closed, broken, or ended
/// by a server shutting down or recovering from a crash) rather than that
/// the server refused the statement: the same work may succeed on a new
/// connection.
pub(crate) fn connection_lost(error: &postgres::Error) -> bool {
    match error.code() {
        None => error.is_closed() || error.as_db_error().is_none(),
        Some(code) => [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code),
    }
}

/// Whether a failed connection attempt may succeed if tried again: the
/// server was not reached, or it is starting up, shutting down or full.
fn worth_retrying(error: &postgres::Error) -> bool {
    match error.code() {
        None => error.as_db_error().is_none(),
        Some(code) => [
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code),
    }
}

/// A connection taken from a pool; it goes back when dropped, unless broken.
pub(crate) struct Pooled {
    pool: Arc<Pool>,
    client: Option<Client>,
}

impl std::fmt::Debug for Pooled {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Pooled")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for Pooled {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a pooled connection is present until dropped")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.pool.give_back(client);
        }
    }
}
