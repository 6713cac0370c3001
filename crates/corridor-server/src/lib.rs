//! The HTTP server: the write API (records in, receipts out), the read API
//! (records, statistics, coverage, access, claims, reports, proofs), the log
//! served as static C2SP tlog-tiles files, tokens and roles, Prometheus
//! metrics and the OpenAPI document. The only crate that knows HTTP on the
//! server side.
//!
//! [`Server::start`] takes the data directory's writer lock and starts two
//! threads: the *writer* (every submission goes through one channel into one
//! [`corridor_engine::Writer`], which commits groups of batches and answers
//! with leaf indexes once they are durable) and the *integrator* (publishes a
//! signed checkpoint at least every `checkpoint_interval` while records
//! arrive). Readers use their own SQLite connections (WAL). [`router`] builds
//! the whole API over an [`AppState`], so tests drive it with `oneshot` and
//! no socket; [`serve`] runs it on a listener until a shutdown signal, then
//! [`Server::shutdown`] lets the writer finish, integrates the last records
//! and signs a final checkpoint before the lock is released.

mod admin_api;
mod auth;
pub mod connections;
pub mod dashboard;
mod error;
mod export_api;
pub mod health;
mod ingest;
mod log_files;
mod metrics;
mod observer;
pub mod openapi;
mod rate_limit;
mod read_api;
mod routes;
pub mod witness;
mod write_api;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use corridor_engine::{DataDir, EngineError};
use corridor_store::Store;

pub use auth::{Access, Role, TokenCreated, TokenError, create_token, hash_secret};
pub use connections::{ConnectionLimits, ConnectionStats};
pub use error::ApiError;
pub use health::{DegradedReason, Health};
pub use observer::{OBSERVER_SIGNATURE_DOMAIN, observer_message};
pub use openapi::RouteDoc;
pub use rate_limit::{ClientAddresses, TrustedProxy};
pub use routes::route_table;
pub use witness::witness_router;

use crate::ingest::{Ingest, IngestHandle};
use crate::metrics::Metrics;

/// Limits and timings of a server, with defaults fit for one machine.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// How often the integrator publishes a checkpoint while records arrive.
    pub checkpoint_interval: Duration,
    /// How long the integrator lease lasts past each renewal: when the
    /// integrating server stops renewing (it died, or it was paused) for
    /// this long, another server sharing the store takes over.
    pub lease: Duration,
    /// The largest request body of a record submission, in bytes.
    pub max_submission_bytes: usize,
    /// The most records one submission may hold.
    pub max_batch_records: usize,
    /// The largest request body of any other request, in bytes.
    pub max_request_bytes: usize,
    /// How long a request may take before the client gets a 503.
    pub request_timeout: Duration,
    /// Requests per second each token (or each client address without a
    /// token) may make on average.
    pub rate_per_second: f64,
    /// How many requests a token may make at once above the average.
    pub rate_burst: f64,
    /// Failed authentications each client address may make per minute
    /// before its failures are answered `429`.
    pub auth_failures_per_minute: f64,
    /// Which peers are proxies whose `X-Forwarded-For` names the client.
    pub client_addresses: ClientAddresses,
    /// Above this many acknowledged records not yet in a signed checkpoint,
    /// submissions are refused with `503` (backpressure).
    pub max_unpublished: u64,
    /// Timeouts and the cap of connections.
    pub connections: ConnectionLimits,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            checkpoint_interval: Duration::from_secs(1),
            lease: Duration::from_secs(3),
            max_submission_bytes: 16 << 20,
            max_batch_records: 10_000,
            max_request_bytes: 64 << 10,
            request_timeout: Duration::from_secs(30),
            rate_per_second: 200.0,
            rate_burst: 400.0,
            auth_failures_per_minute: 10.0,
            client_addresses: ClientAddresses::default(),
            max_unpublished: 500_000,
            connections: ConnectionLimits::default(),
        }
    }
}

/// Why a server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] corridor_store::StoreError),
    #[error("the {thread} thread could not be started: {source}")]
    ThreadStart {
        thread: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the {thread} thread panicked")]
    ThreadPanicked { thread: &'static str },
    #[error("the shutdown task failed: {0}")]
    Shutdown(#[source] tokio::task::JoinError),
    #[error("publishing the final checkpoint failed: {0}")]
    FinalIntegration(#[source] corridor_log::IntegrateError),
    #[error("serving HTTP failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the process may open {open_files} files (RLIMIT_NOFILE) and --reserved-fds keeps {reserved} of them for the store and the log, which leaves no descriptor for connections (--max-connections {max_connections}): raise the limit (ulimit -n) or lower --reserved-fds"
    )]
    Descriptors {
        open_files: u64,
        reserved: u64,
        max_connections: usize,
    },
    #[error(
        "refusing to serve: the store and the published log disagree ({0}); run `corridor check` for the full report"
    )]
    Corrupt(String),
}

/// How many of the latest leaves the start-up check compares byte for byte
/// across store, entry bundles and tiles.
pub const STARTUP_CHECK_LEAVES: u64 = 1_000;

/// What every handler shares: the data directory, reader connections, the
/// writer's channel, metrics and limits. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    data_dir: DataDir,
    readers: Mutex<Vec<Box<dyn Store>>>,
    ingest: IngestHandle,
    metrics: Arc<Metrics>,
    options: ServerOptions,
    rate_limiter: auth::RateLimiter,
    auth_failures: rate_limit::FailureLimiter,
    health: Arc<Health>,
    /// Bounds the reader connections open at once (each holds descriptors
    /// for the database, its write-ahead log and its shared memory), so
    /// the descriptor reserve covers them.
    reader_slots: tokio::sync::Semaphore,
    log_reader: corridor_log::LogReader,
}

/// The most reader connections open at once, idle ones included.
const IDLE_READERS: usize = 16;

impl AppState {
    /// The data directory served.
    pub fn data_dir(&self) -> &DataDir {
        &self.shared.data_dir
    }

    /// The server's limits and timings.
    pub fn options(&self) -> &ServerOptions {
        &self.shared.options
    }

    /// A reader over the published log (tiles cached in memory).
    pub fn log_reader(&self) -> &corridor_log::LogReader {
        &self.shared.log_reader
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    pub(crate) fn ingest(&self) -> &IngestHandle {
        &self.shared.ingest
    }

    pub(crate) fn rate_limiter(&self) -> &auth::RateLimiter {
        &self.shared.rate_limiter
    }

    pub(crate) fn auth_failures(&self) -> &rate_limit::FailureLimiter {
        &self.shared.auth_failures
    }

    /// One of the slots that bound the store connections and log files
    /// open for readers at once; held while reading.
    ///
    /// # Errors
    /// Never in practice (the slots are never closed).
    pub(crate) async fn reader_slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        self.shared
            .reader_slots
            .acquire()
            .await
            .map_err(|_| ApiError::internal("the reader slots are closed"))
    }

    /// Whether the server is degraded, and why.
    pub fn health(&self) -> &Health {
        &self.shared.health
    }

    /// Runs `work` on a blocking thread with a read-only store connection
    /// (taken from a small pool). Readers see every committed record.
    ///
    /// # Errors
    /// The connection cannot be opened, or `work`'s own error.
    pub async fn with_store<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, ApiError> + Send + 'static,
    {
        let state = self.clone();
        let slot = self.reader_slot().await?;
        let answer = tokio::task::spawn_blocking(move || {
            let store = match state
                .shared
                .readers
                .lock()
                .ok()
                .and_then(|mut idle| idle.pop())
            {
                Some(store) => store,
                None => state.shared.data_dir.open_store()?,
            };
            let result = work(store.as_ref());
            if let Ok(mut idle) = state.shared.readers.lock()
                && idle.len() < IDLE_READERS
            {
                idle.push(store);
            }
            result
        })
        .await;
        drop(slot);
        answer.map_err(|error| ApiError::internal(format!("a reader task failed: {error}")))?
    }
}

/// A running server: its state, and the writer and integrator threads.
#[derive(Debug)]
pub struct Server {
    state: AppState,
    ingest: Ingest,
}

impl Server {
    /// Opens the data directory for writing: takes the writer lock, starts
    /// the writer and the integrator.
    ///
    /// # Errors
    /// Another process holds the writer lock, or the store or key cannot be opened.
    pub fn start(data_dir: DataDir, options: ServerOptions) -> Result<Server, ServerError> {
        // Never serve figures from a store that no longer matches what was
        // published: a flipped byte would otherwise be served silently.
        let report = data_dir.check_recent(STARTUP_CHECK_LEAVES)?;
        if !report.is_clean() {
            let first = report
                .problems
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            return Err(ServerError::Corrupt(first));
        }
        let metrics = Arc::new(Metrics::default());
        let health = Arc::new(Health::new(options.max_unpublished));
        let ingest = Ingest::start(
            &data_dir,
            &options,
            Arc::clone(&metrics),
            Arc::clone(&health),
        )?;
        let shared = Shared {
            log_reader: corridor_log::LogReader::new(data_dir.log()?),
            rate_limiter: auth::RateLimiter::new(options.rate_per_second, options.rate_burst),
            auth_failures: rate_limit::FailureLimiter::new(options.auth_failures_per_minute),
            health,
            reader_slots: tokio::sync::Semaphore::new(IDLE_READERS),
            readers: Mutex::new(Vec::new()),
            ingest: ingest.handle(),
            metrics,
            options,
            data_dir,
        };
        Ok(Server {
            state: AppState {
                shared: Arc::new(shared),
            },
            ingest,
        })
    }

    /// The state handlers share.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// The whole API over this server's state.
    pub fn router(&self) -> Router {
        router(self.state())
    }

    /// Serves the whole API on `listener` under the connection limits of
    /// this server's options until `shutdown` resolves (see [`serve`]).
    ///
    /// # Errors
    /// The descriptor reserve leaves no room for connections.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        connections::serve_connections(
            listener,
            self.router(),
            self.state.shared.options.connections.clone(),
            Arc::clone(&self.state.shared.metrics.connections),
            shutdown,
        )
        .await
    }

    /// Stops accepting submissions, lets the writer commit what it holds,
    /// publishes every stored record in a final signed checkpoint and
    /// releases the writer lock. Returns the final tree size.
    ///
    /// # Errors
    /// A thread panicked or the final integration failed (every acknowledged
    /// record is stored either way; `corridor log integrate` publishes it).
    pub async fn shutdown(self) -> Result<u64, ServerError> {
        let Server { state, ingest } = self;
        drop(state);
        tokio::task::spawn_blocking(move || ingest.stop())
            .await
            .map_err(ServerError::Shutdown)?
    }
}

/// The whole HTTP API over `state`: `/api/v1/...`, `/log/...`, `/healthz`,
/// `/metrics`, `/openapi.json`, and the dashboard pages.
pub fn router(state: AppState) -> Router {
    routes::build(state)
}

/// Serves `router` on `listener` under the default [`ConnectionLimits`]
/// until `shutdown` resolves, then lets the requests in flight finish.
///
/// # Errors
/// The descriptor reserve leaves no room for connections.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    connections::serve_connections(
        listener,
        router,
        ConnectionLimits::default(),
        Arc::default(),
        shutdown,
    )
    .await
}
