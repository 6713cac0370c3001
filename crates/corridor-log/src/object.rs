//! The log in an S3-compatible bucket (AWS S3, R2, MinIO, Ceph, moto): one
//! object per C2SP path under a prefix, so that the bucket's public URL
//! (`<endpoint>/<bucket>/<prefix>` on a path-style endpoint) is the log's
//! URL, and a CDN in front of it serves every reader.
//!
//! The [`LogStorage`] rules map onto conditional requests:
//!
//! - **tiles and entry bundles** are `PUT` with `If-None-Match: *`
//!   (`PutMode::Create`). When the object exists, it is read back: the same
//!   bytes are success (an interrupted integration running again), other
//!   bytes a [`LogStorageError::Conflict`] naming the path (two integrators
//!   disagreeing). Creates are buffered and uploaded in parallel, at the
//!   latest by [`LogStorage::sync`]; an object is durable once its `PUT`
//!   returned, so `sync` is the point where every buffered upload returned.
//! - **the checkpoint** is replaced by `PUT` with `If-Match: <old ETag>`
//!   (`PutMode::Update`) when `conditional_checkpoint` is on (the default),
//!   after the bytes it replaces were compared; the first one is created
//!   with `If-None-Match: *`. A precondition failure is
//!   [`LogStorageError::CheckpointChanged`]: another writer published.
//!   Without conditional writes the checkpoint is read, compared and
//!   overwritten, fenced only by the store's tree state.
//! - **checkpoint copies** (`checkpoints/<size>`) are created, and replaced
//!   (cosignatures added) by the same compare-and-swap.
//!
//! Every object carries the `Cache-Control` that `/log/` promises
//! (docs/api.md) and a `Content-Type`. Requests are retried a bounded number
//! of times with exponential backoff on 5xx answers and timeouts
//! (object_store's `RetryConfig`).
//!
//! With `collect_partials`, the partial tiles and bundles that a full one
//! supersedes are deleted, but only after a checkpoint covering the full
//! tile is published; readers then fall back to the full tile (C2SP
//! tlog-tiles allows it, and [`PrefixTiles`](crate::PrefixTiles) does).
//!
//! The seam is synchronous and object_store is async: the backend keeps a
//! current-thread tokio runtime of its own and blocks on it. Called from a
//! thread that is itself running an async runtime, it blocks on a scoped
//! thread instead of re-entering that runtime (which would panic); the
//! caller's worker still waits, so async callers should use
//! `spawn_blocking`, as the server's `/log/` handler does.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientConfigKey, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, UpdateVersion,
};

use crate::storage::{
    CHECKPOINT_FILE, LogSource, LogStorage, LogStorageError, check_checkpoint_successor,
    check_same_checkpoint_more_signatures, checkpoint_copy_path, signed_checkpoint_tree_size,
};

/// Cache policy of full tiles and bundles: they never change.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Partial tiles and checkpoint copies: never rewritten (copies only gain
/// cosignatures), but a reader should look for the fuller version soon.
pub const CACHE_SHORT: &str = "public, max-age=60";
/// The checkpoint changes every second under load.
pub const CACHE_CHECKPOINT: &str = "no-cache";

/// Buffered creates are uploaded once this many are waiting.
const UPLOAD_BATCH_OBJECTS: usize = 64;
/// ... or once they hold this many bytes.
const UPLOAD_BATCH_BYTES: usize = 8 << 20;
/// Uploads in flight at once.
const UPLOAD_CONCURRENCY: usize = 16;

/// The `Cache-Control` and `Content-Type` of the object at a C2SP path, as
/// `/log/` serves it (docs/api.md).
#[must_use]
pub fn object_headers(path: &str) -> (&'static str, &'static str) {
    const TEXT: &str = "text/plain; charset=utf-8";
    const BINARY: &str = "application/octet-stream";
    if path == CHECKPOINT_FILE {
        (CACHE_CHECKPOINT, TEXT)
    } else if path.starts_with("checkpoints/") {
        (CACHE_SHORT, TEXT)
    } else if path.contains(".p/") {
        (CACHE_SHORT, BINARY)
    } else {
        (CACHE_IMMUTABLE, BINARY)
    }
}

/// Static credentials, instead of the `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` variables. Their
/// `Debug` never shows the secret or the token.
#[derive(Clone)]
pub struct ObjectCredentials {
    /// The access key id.
    pub key_id: String,
    /// The secret access key.
    pub secret_key: String,
    /// A session token, for temporary credentials.
    pub session_token: Option<String>,
}

impl fmt::Debug for ObjectCredentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ObjectCredentials")
            .field("key_id", &self.key_id)
            .field("secret_key", &"(hidden)")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "(hidden)"),
            )
            .finish()
    }
}

/// How an [`ObjectLog`] reaches its bucket and writes to it. What is unset
/// comes from the standard `AWS_*` environment variables (`AWS_ENDPOINT`
/// or `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `AWS_REGION`, the credentials),
/// then from object_store's defaults.
#[derive(Debug, Clone)]
pub struct ObjectLogOptions {
    /// The endpoint of an S3-compatible service (`http://127.0.0.1:9000`);
    /// requests are path-style, `<endpoint>/<bucket>/<key>`.
    pub endpoint: Option<String>,
    /// Whether plain HTTP is allowed (otherwise only HTTPS).
    pub allow_http: Option<bool>,
    /// The bucket's region.
    pub region: Option<String>,
    /// Credentials, instead of the environment's.
    pub credentials: Option<ObjectCredentials>,
    /// Replace the checkpoint by compare-and-swap on its ETag (`If-Match`).
    pub conditional_checkpoint: bool,
    /// Delete the partial tiles a full tile supersedes, once a checkpoint
    /// covering it is published.
    pub collect_partials: bool,
    /// Retries of a failed request (5xx, timeout), with exponential backoff.
    pub max_retries: usize,
    /// How long one request may take.
    pub request_timeout: Duration,
}

impl Default for ObjectLogOptions {
    fn default() -> Self {
        ObjectLogOptions {
            endpoint: None,
            allow_http: None,
            region: None,
            credentials: None,
            conditional_checkpoint: true,
            collect_partials: false,
            max_retries: 4,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a bucket could not be opened as a log.
#[derive(Debug, thiserror::Error)]
pub enum ObjectLogError {
    /// The location is not `s3://BUCKET[/PREFIX]`.
    #[error("{location}: {reason}")]
    BadLocation {
        /// The location given.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client could not be built from the settings.
    #[error("{location}: the S3 client cannot be set up: {reason}")]
    Client {
        /// The log's location.
        location: String,
        /// What object_store said (never a secret).
        reason: String,
    },
}

/// The requests an [`ObjectLog`] made so far, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectRequests {
    /// `GET` and `HEAD`.
    pub reads: u64,
    /// `PUT`, conditional or not.
    pub writes: u64,
    /// `LIST`.
    pub lists: u64,
    /// `DELETE`.
    pub deletes: u64,
    /// Bytes uploaded.
    pub bytes_written: u64,
}

#[derive(Debug, Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    lists: AtomicU64,
    deletes: AtomicU64,
    bytes_written: AtomicU64,
}

/// An object's bytes with its ETag (for the checkpoint: as this backend
/// last read or wrote it).
#[derive(Debug, Clone)]
struct Versioned {
    bytes: Vec<u8>,
    e_tag: Option<String>,
}

#[derive(Debug, Default)]
struct Pending {
    /// Creates not uploaded yet.
    objects: Vec<(String, Vec<u8>)>,
    bytes: usize,
}

/// A full tile written, and the tree size from which a checkpoint covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Superseding {
    full_path: String,
    covered_from: u64,
}

/// The log in an S3-compatible bucket; see the module documentation.
pub struct ObjectLog {
    store: Arc<AmazonS3>,
    /// `s3://bucket/prefix`, for messages.
    location: String,
    /// The key prefix, without slashes at either end (may be empty).
    prefix: String,
    /// Always `Some` until dropped (see `Drop`).
    runtime: Option<tokio::runtime::Runtime>,
    conditional_checkpoint: bool,
    collect_partials: bool,
    pending: Mutex<Pending>,
    checkpoint: Mutex<Option<Versioned>>,
    superseding: Mutex<Vec<Superseding>>,
    counters: Arc<Counters>,
}

impl Drop for ObjectLog {
    fn drop(&mut self) {
        // Dropping a runtime blocks until its tasks end, which tokio forbids
        // inside another runtime (a server dropping a log it opened); ours
        // has no task left between calls, so letting go in the background
        // is the same, anywhere.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl fmt::Debug for ObjectLog {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its settings hold the credentials.
        formatter
            .debug_struct("ObjectLog")
            .field("location", &self.location)
            .field("conditional_checkpoint", &self.conditional_checkpoint)
            .field("collect_partials", &self.collect_partials)
            .finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Splits `s3://bucket/prefix` into the bucket and the prefix.
fn parse_location(location: &str) -> Result<(String, String), ObjectLogError> {
    let bad = |reason: &str| ObjectLogError::BadLocation {
        location: location.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = location
        .strip_prefix("s3://")
        .ok_or_else(|| bad("not an s3:// URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad("no bucket name after s3://"));
    }
    if !bucket
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b".-_".contains(&byte))
    {
        return Err(bad(
            "a bucket name is lowercase letters, digits, '.', '-' and '_'",
        ));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|segment| {
        segment == "." || segment == ".." || (segment.is_empty() && !prefix.is_empty())
    }) {
        return Err(bad("the prefix has an empty, '.' or '..' segment"));
    }
    if prefix.contains(['?', '#']) {
        return Err(bad("the prefix contains '?' or '#'"));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// Whether `path` is a C2SP path this backend may address: relative, no
/// empty, `.` or `..` segment.
fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// For a full tile or bundle path (`tile/0/x001/234`, `tile/entries/007`),
/// the tree size from which it is full; `None` for anything else.
fn full_tile_covered_from(path: &str) -> Option<u64> {
    let rest = path.strip_prefix("tile/")?;
    if rest.contains(".p") {
        return None;
    }
    let mut segments = rest.split('/');
    let level: u32 = match segments.next()? {
        "entries" => 0,
        level => level.parse().ok()?,
    };
    let mut index: u64 = 0;
    let mut any = false;
    for segment in segments {
        let digits = segment.strip_prefix('x').unwrap_or(segment);
        if digits.len() != 3 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
        any = true;
    }
    if !any {
        return None;
    }
    // Tile `index` of level L holds the hashes of tree level 8L with indexes
    // 256·index .. 256·index + 255; it is full once the tree has
    // (index + 1) · 256^(L+1) leaves.
    let leaves_per_tile = 256u64.checked_pow(level.checked_add(1)?)?;
    index.checked_add(1)?.checked_mul(leaves_per_tile)
}

/// What an object_store failure means for one request.
enum Failure {
    /// `If-None-Match` or `If-Match` failed.
    Precondition,
    NotFound,
    Other(object_store::Error),
}

fn classify(error: object_store::Error) -> Failure {
    match error {
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
            Failure::Precondition
        }
        object_store::Error::NotFound { .. } => Failure::NotFound,
        other => Failure::Other(other),
    }
}

fn io_error(error: object_store::Error) -> io::Error {
    io::Error::other(error.to_string())
}

impl ObjectLog {
    /// The log at `location` (`s3://bucket/prefix`), reached as `options`
    /// and the environment say. Makes no request.
    ///
    /// # Errors
    ///
    /// [`ObjectLogError`]: a bad location, or settings the client refuses.
    pub fn open(location: &str, options: &ObjectLogOptions) -> Result<ObjectLog, ObjectLogError> {
        let (bucket, prefix) = parse_location(location)?;
        let client_error = |reason: String| ObjectLogError::Client {
            location: location.to_owned(),
            reason,
        };
        // reqwest's rustls takes the process's default provider: ring, as
        // everywhere else in Corridor (ureq). Installing fails only if one
        // is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_virtual_hosted_style_request(false)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: options.max_retries,
                retry_timeout: options.request_timeout.saturating_mul(2),
            })
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                format!("{}ms", options.request_timeout.as_millis()),
            );
        if let Some(endpoint) = &options.endpoint {
            builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
        }
        if let Some(allow_http) = options.allow_http {
            builder = builder.with_allow_http(allow_http);
        }
        if let Some(region) = &options.region {
            builder = builder.with_region(region);
        }
        if let Some(credentials) = &options.credentials {
            builder = builder
                .with_access_key_id(&credentials.key_id)
                .with_secret_access_key(&credentials.secret_key);
            if let Some(token) = &credentials.session_token {
                builder = builder.with_token(token);
            }
        }
        let store = builder
            .build()
            .map_err(|error| client_error(error.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("corridor-object-log")
            .build()
            .map_err(|error| client_error(format!("starting its runtime: {error}")))?;
        let location = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        Ok(ObjectLog {
            store: Arc::new(store),
            location,
            prefix,
            runtime: Some(runtime),
            conditional_checkpoint: options.conditional_checkpoint,
            collect_partials: options.collect_partials,
            pending: Mutex::default(),
            checkpoint: Mutex::default(),
            superseding: Mutex::default(),
            counters: Arc::default(),
        })
    }

    /// The requests made so far.
    #[must_use]
    pub fn requests(&self) -> ObjectRequests {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ObjectRequests {
            reads: load(&self.counters.reads),
            writes: load(&self.counters.writes),
            lists: load(&self.counters.lists),
            deletes: load(&self.counters.deletes),
            bytes_written: load(&self.counters.bytes_written),
        }
    }

    fn key(&self, path: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(path)
        } else {
            ObjectPath::from(format!("{}/{path}", self.prefix))
        }
    }

    /// Runs `future` to completion on the backend's runtime, from a plain
    /// thread; from inside an async runtime, on a scoped thread, so that
    /// the caller's runtime is not re-entered.
    fn block_on<F: Future + Send>(&self, future: F) -> F::Output
    where
        F::Output: Send,
    {
        let Some(runtime) = &self.runtime else {
            unreachable!("the runtime is taken only when the log is dropped")
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|scope| {
                let joined = scope.spawn(|| runtime.block_on(future)).join();
                joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        } else {
            runtime.block_on(future)
        }
    }

    /// Reads the object at `path` with its ETag; `None` if there is none.
    fn get(&self, path: &str) -> Result<Option<Versioned>, object_store::Error> {
        let key = self.key(path);
        let store = Arc::clone(&self.store);
        self.counters.reads.fetch_add(1, Ordering::Relaxed);
        self.block_on(async move {
            match store.get(&key).await {
                Ok(result) => {
                    let e_tag = result.meta.e_tag.clone();
                    let bytes = result.bytes().await?.to_vec();
                    Ok(Some(Versioned { bytes, e_tag }))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(error),
            }
        })
    }

    /// One `PUT` of `bytes` at `path` in `mode`, with the path's headers.
    fn put(
        &self,
        path: &str,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<Option<String>, object_store::Error> {
        let key = self.key(path);
        let store = Arc::clone(&self.store);
        let counters = Arc::clone(&self.counters);
        self.block_on(put_object(
            store,
            counters,
            key,
            path.to_owned(),
            bytes,
            mode,
        ))
    }

    /// Uploads every buffered create, `UPLOAD_CONCURRENCY` at a time, and
    /// returns the first failure (a conflict before any other).
    fn upload_pending(&self) -> Result<(), LogStorageError> {
        let objects = {
            let mut pending = locked(&self.pending);
            pending.bytes = 0;
            std::mem::take(&mut pending.objects)
        };
        if objects.is_empty() {
            return Ok(());
        }
        let full_tiles: Vec<Superseding> = if self.collect_partials {
            objects
                .iter()
                .filter_map(|(path, _)| {
                    full_tile_covered_from(path).map(|covered_from| Superseding {
                        full_path: path.clone(),
                        covered_from,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let uploads: Vec<(ObjectPath, String, Vec<u8>)> = objects
            .into_iter()
            .map(|(path, bytes)| (self.key(&path), path, bytes))
            .collect();
        let store = Arc::clone(&self.store);
        let counters = Arc::clone(&self.counters);
        let outcomes = self.block_on(async move {
            let permits = Arc::new(tokio::sync::Semaphore::new(UPLOAD_CONCURRENCY));
            let mut tasks = tokio::task::JoinSet::new();
            for (key, path, bytes) in uploads {
                let store = Arc::clone(&store);
                let counters = Arc::clone(&counters);
                let permits = Arc::clone(&permits);
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let outcome = create_object(store, counters, key, &path, bytes).await;
                    (path, outcome)
                });
            }
            let mut outcomes = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                outcomes.push(joined);
            }
            outcomes
        });
        let mut first_error: Option<LogStorageError> = None;
        for joined in outcomes {
            let error = match joined {
                Ok((_, Ok(()))) => continue,
                Ok((path, Err(CreateFailure::Conflict))) => LogStorageError::Conflict {
                    path: self.describe_path(&path),
                },
                Ok((path, Err(CreateFailure::Other(error)))) => LogStorageError::Io {
                    path: self.describe_path(&path),
                    source: io_error(error),
                },
                Err(join_error) => LogStorageError::Io {
                    path: self.location.clone(),
                    source: io::Error::other(format!("an upload task failed: {join_error}")),
                },
            };
            let replace = match &first_error {
                None => true,
                Some(LogStorageError::Conflict { .. }) => false,
                Some(_) => matches!(error, LogStorageError::Conflict { .. }),
            };
            if replace {
                first_error = Some(error);
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        locked(&self.superseding).extend(full_tiles);
        Ok(())
    }

    /// Deletes the partial versions of every full tile that the checkpoint
    /// at `tree_size`, now published, covers. A failure leaves garbage, not
    /// damage: it is logged and the next publication tries again.
    fn collect_superseded(&self, tree_size: u64) {
        let ready: Vec<Superseding> = {
            let mut superseding = locked(&self.superseding);
            let (ready, waiting) = superseding
                .drain(..)
                .partition(|tile| tile.covered_from <= tree_size);
            *superseding = waiting;
            ready
        };
        let mut failed = Vec::new();
        for tile in ready {
            let partial_directory = format!("{}.p", tile.full_path);
            let outcome = self.list(&partial_directory).and_then(|widths| {
                for width in widths {
                    let partial = format!("{partial_directory}/{width}");
                    let key = self.key(&partial);
                    let store = Arc::clone(&self.store);
                    self.counters.deletes.fetch_add(1, Ordering::Relaxed);
                    self.block_on(async move { store.delete(&key).await })
                        .map_err(io_error)?;
                }
                Ok(())
            });
            if let Err(error) = outcome {
                tracing::warn!(
                    "collecting the partial versions of {}: {error} (will retry)",
                    self.describe_path(&tile.full_path)
                );
                failed.push(tile);
            }
        }
        locked(&self.superseding).extend(failed);
    }

    /// The checkpoint now in the bucket with its ETag, from memory when the
    /// caller expects the bytes this backend last saw (the conditional
    /// write still fails if another writer changed it since).
    fn current_checkpoint(
        &self,
        expected: Option<&[u8]>,
    ) -> Result<Option<Versioned>, LogStorageError> {
        if self.conditional_checkpoint
            && let Some(known) = locked(&self.checkpoint).clone()
            && Some(known.bytes.as_slice()) == expected
        {
            return Ok(Some(known));
        }
        let read = self
            .get(CHECKPOINT_FILE)
            .map_err(|error| LogStorageError::Io {
                path: self.describe_path(CHECKPOINT_FILE),
                source: io_error(error),
            })?;
        locked(&self.checkpoint).clone_from(&read);
        Ok(read)
    }

    /// The write mode that replaces `current` (absent: creates).
    fn replacing(&self, current: Option<&Versioned>) -> PutMode {
        match current {
            None => PutMode::Create,
            Some(known) if self.conditional_checkpoint => PutMode::Update(UpdateVersion {
                e_tag: known.e_tag.clone(),
                version: None,
            }),
            Some(_) => PutMode::Overwrite,
        }
    }
}

enum CreateFailure {
    Conflict,
    Other(object_store::Error),
}

async fn put_object(
    store: Arc<AmazonS3>,
    counters: Arc<Counters>,
    key: ObjectPath,
    path: String,
    bytes: Vec<u8>,
    mode: PutMode,
) -> Result<Option<String>, object_store::Error> {
    let (cache_control, content_type) = object_headers(&path);
    let attributes: Attributes = [
        (Attribute::CacheControl, cache_control),
        (Attribute::ContentType, content_type),
    ]
    .into_iter()
    .collect();
    counters.writes.fetch_add(1, Ordering::Relaxed);
    counters
        .bytes_written
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    let options = PutOptions {
        mode,
        attributes,
        ..PutOptions::default()
    };
    let result = store
        .put_opts(&key, PutPayload::from(bytes), options)
        .await?;
    Ok(result.e_tag)
}

/// Creates `path` once: an existing object with the same bytes is success,
/// one with other bytes a conflict.
async fn create_object(
    store: Arc<AmazonS3>,
    counters: Arc<Counters>,
    key: ObjectPath,
    path: &str,
    bytes: Vec<u8>,
) -> Result<(), CreateFailure> {
    let expected = bytes.clone();
    let created = put_object(
        Arc::clone(&store),
        Arc::clone(&counters),
        key.clone(),
        path.to_owned(),
        bytes,
        PutMode::Create,
    )
    .await;
    match created.map_err(classify) {
        Ok(_) => Ok(()),
        Err(Failure::Precondition) => {
            counters.reads.fetch_add(1, Ordering::Relaxed);
            let existing = store
                .get(&key)
                .await
                .map_err(CreateFailure::Other)?
                .bytes()
                .await
                .map_err(CreateFailure::Other)?;
            if existing.as_ref() == expected.as_slice() {
                Ok(())
            } else {
                Err(CreateFailure::Conflict)
            }
        }
        Err(Failure::NotFound) => Err(CreateFailure::Other(object_store::Error::Generic {
            store: "S3",
            source: "the bucket does not exist".into(),
        })),
        Err(Failure::Other(error)) => Err(CreateFailure::Other(error)),
    }
}

impl LogSource for ObjectLog {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        if !valid_path(path) {
            return Ok(None);
        }
        let read = self.get(path).map_err(io_error)?;
        if path == CHECKPOINT_FILE {
            locked(&self.checkpoint).clone_from(&read);
        }
        Ok(read.map(|object| object.bytes))
    }

    fn modified(&self, path: &str) -> io::Result<Option<SystemTime>> {
        if !valid_path(path) {
            return Ok(None);
        }
        let key = self.key(path);
        let store = Arc::clone(&self.store);
        self.counters.reads.fetch_add(1, Ordering::Relaxed);
        match self.block_on(async move { store.head(&key).await }) {
            Ok(meta) => Ok(Some(SystemTime::from(meta.last_modified))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(io_error(error)),
        }
    }
}

impl LogStorage for ObjectLog {
    fn list(&self, directory: &str) -> io::Result<Vec<String>> {
        let directory = directory.trim_end_matches('/');
        if !valid_path(directory) {
            return Ok(Vec::new());
        }
        let key = self.key(directory);
        let store = Arc::clone(&self.store);
        self.counters.lists.fetch_add(1, Ordering::Relaxed);
        let listed = self
            .block_on(async move { store.list_with_delimiter(Some(&key)).await })
            .map_err(io_error)?;
        let mut names: Vec<String> = listed
            .common_prefixes
            .iter()
            .chain(listed.objects.iter().map(|object| &object.location))
            .filter_map(|location| location.filename().map(str::to_owned))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn create(&self, path: &str, bytes: Vec<u8>) -> Result<(), LogStorageError> {
        if !valid_path(path) || path == CHECKPOINT_FILE || path.starts_with("checkpoints/") {
            return Err(LogStorageError::Io {
                path: path.to_owned(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not the path of a tile or an entry bundle",
                ),
            });
        }
        let full = {
            let mut pending = locked(&self.pending);
            pending.bytes += bytes.len();
            pending.objects.push((path.to_owned(), bytes));
            pending.objects.len() >= UPLOAD_BATCH_OBJECTS || pending.bytes >= UPLOAD_BATCH_BYTES
        };
        if full {
            self.upload_pending()?;
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), LogStorageError> {
        // An object is durable once its PUT returned.
        self.upload_pending()
    }

    fn write_checkpoint_copy(&self, tree_size: u64, signed: &[u8]) -> Result<(), LogStorageError> {
        let path = checkpoint_copy_path(tree_size);
        let io = |error| LogStorageError::Io {
            path: self.describe_path(&path),
            source: io_error(error),
        };
        let created = self.put(&path, signed.to_vec(), PutMode::Create);
        match created.map_err(classify) {
            Ok(_) => return Ok(()),
            Err(Failure::Precondition) => {}
            Err(Failure::NotFound) => {
                return Err(LogStorageError::Io {
                    path: self.describe_path(&path),
                    source: io::Error::new(io::ErrorKind::NotFound, "the bucket does not exist"),
                });
            }
            Err(Failure::Other(error)) => return Err(io(error)),
        }
        // The copy exists: it may only gain signature lines.
        let Some(current) = self.get(&path).map_err(io)? else {
            return Err(LogStorageError::CheckpointChanged {
                path: self.describe_path(&path),
            });
        };
        if current.bytes == signed {
            return Ok(());
        }
        check_same_checkpoint_more_signatures(&current.bytes, signed).map_err(|reason| {
            LogStorageError::NotSuccessor {
                path: self.describe_path(&path),
                reason,
            }
        })?;
        let mode = self.replacing(Some(&current));
        match self.put(&path, signed.to_vec(), mode).map_err(classify) {
            Ok(_) => Ok(()),
            Err(Failure::Precondition) => Err(LogStorageError::CheckpointChanged {
                path: self.describe_path(&path),
            }),
            Err(Failure::NotFound) => Err(LogStorageError::CheckpointChanged {
                path: self.describe_path(&path),
            }),
            Err(Failure::Other(error)) => Err(io(error)),
        }
    }

    fn replace_checkpoint(
        &self,
        replaced: Option<&[u8]>,
        signed: &[u8],
    ) -> Result<(), LogStorageError> {
        let path = self.describe_path(CHECKPOINT_FILE);
        let current = self.current_checkpoint(replaced)?;
        if current.as_ref().map(|known| known.bytes.as_slice()) != replaced {
            return Err(LogStorageError::CheckpointChanged { path });
        }
        if let Some(current) = &current {
            check_checkpoint_successor(&current.bytes, signed).map_err(|reason| {
                LogStorageError::NotSuccessor {
                    path: path.clone(),
                    reason,
                }
            })?;
        }
        let mode = self.replacing(current.as_ref());
        match self
            .put(CHECKPOINT_FILE, signed.to_vec(), mode)
            .map_err(classify)
        {
            Ok(e_tag) => {
                *locked(&self.checkpoint) = Some(Versioned {
                    bytes: signed.to_vec(),
                    e_tag,
                });
            }
            Err(Failure::Precondition | Failure::NotFound) => {
                // Whatever is there now, it is not what this backend knew.
                *locked(&self.checkpoint) = None;
                return Err(LogStorageError::CheckpointChanged { path });
            }
            Err(Failure::Other(error)) => {
                *locked(&self.checkpoint) = None;
                return Err(LogStorageError::Io {
                    path,
                    source: io_error(error),
                });
            }
        }
        if self.collect_partials
            && let Some(tree_size) = signed_checkpoint_tree_size(signed)
        {
            self.collect_superseded(tree_size);
        }
        Ok(())
    }
}

/// The C2SP path of every object a log of `tree_size` leaves needs: the
/// entry bundles and the hash tiles of every level, full and partial (the
/// checkpoint and its copies aside).
#[must_use]
pub fn tree_paths(tree_size: u64) -> Vec<String> {
    use corridor_tlog::tile::FULL_TILE_WIDTH;
    use corridor_tlog::{EntryBundleAddress, TileAddress};
    let width = u64::from(FULL_TILE_WIDTH);
    let mut paths = Vec::new();
    let mut level: u8 = 0;
    loop {
        let hashes = tree_size.checked_shr(8 * u32::from(level)).unwrap_or(0);
        if hashes == 0 {
            break;
        }
        let partial = (hashes % width) as u16;
        let full = hashes / width;
        let tiles = (0..full)
            .map(|index| (index, FULL_TILE_WIDTH))
            .chain((partial > 0).then_some((full, partial)));
        for (index, tile_width) in tiles {
            if level == 0 {
                paths.push(
                    EntryBundleAddress {
                        index,
                        width: tile_width,
                    }
                    .path(),
                );
            }
            paths.push(
                TileAddress {
                    level,
                    index,
                    width: tile_width,
                }
                .path(),
            );
        }
        level += 1;
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_a_bucket_and_a_prefix() {
        assert_eq!(
            parse_location("s3://log-bucket/lachin/v1/").expect("valid"),
            ("log-bucket".to_owned(), "lachin/v1".to_owned())
        );
        assert_eq!(
            parse_location("s3://log-bucket").expect("valid"),
            ("log-bucket".to_owned(), String::new())
        );
        for (bad, reason) in [
            ("s3:///prefix", "no bucket"),
            ("s3://Bucket/p", "lowercase"),
            ("s3://bucket/a/../b", "'..'"),
            ("s3://bucket/a//b", "empty"),
            ("https://bucket/p", "not an s3:// URL"),
        ] {
            let error = parse_location(bad).expect_err(bad);
            assert!(error.to_string().contains(reason), "{bad}: {error}");
            assert!(error.to_string().starts_with(bad), "{bad}: {error}");
        }
    }

    #[test]
    fn headers_follow_the_log_routes() {
        assert_eq!(object_headers("checkpoint").0, "no-cache");
        assert_eq!(
            object_headers("checkpoints/12"),
            (CACHE_SHORT, "text/plain; charset=utf-8")
        );
        assert_eq!(object_headers("tile/0/000.p/5").0, CACHE_SHORT);
        assert_eq!(object_headers("tile/entries/x001/002.p/7").0, CACHE_SHORT);
        assert_eq!(
            object_headers("tile/1/003"),
            (CACHE_IMMUTABLE, "application/octet-stream")
        );
        assert_eq!(object_headers("tile/entries/003").0, CACHE_IMMUTABLE);
    }

    #[test]
    fn a_full_tile_is_covered_from_the_size_that_fills_it() {
        assert_eq!(full_tile_covered_from("tile/0/000"), Some(256));
        assert_eq!(full_tile_covered_from("tile/entries/001"), Some(512));
        assert_eq!(full_tile_covered_from("tile/1/000"), Some(65_536));
        assert_eq!(full_tile_covered_from("tile/0/x001/234"), Some(1235 * 256));
        assert_eq!(full_tile_covered_from("tile/0/000.p/5"), None);
        assert_eq!(full_tile_covered_from("tile/0"), None);
        assert_eq!(full_tile_covered_from("checkpoint"), None);
        assert_eq!(full_tile_covered_from("tile/9/999"), None, "overflows u64");
    }

    #[test]
    fn a_tree_needs_its_full_and_partial_tiles() {
        assert!(tree_paths(0).is_empty());
        assert_eq!(
            tree_paths(3),
            vec!["tile/entries/000.p/3", "tile/0/000.p/3"]
        );
        let paths = tree_paths(256 * 2 + 1);
        assert_eq!(
            paths,
            vec![
                "tile/entries/000",
                "tile/0/000",
                "tile/entries/001",
                "tile/0/001",
                "tile/entries/002.p/1",
                "tile/0/002.p/1",
                "tile/1/000.p/2",
            ]
        );
    }

    #[test]
    fn credentials_never_show_their_secret() {
        let credentials = ObjectCredentials {
            key_id: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI".into(),
            session_token: Some("FwoGZXIvYXdzE".into()),
        };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(
            !shown.contains("wJalrXUtnFEMI") && !shown.contains("FwoGZXIvYXdzE"),
            "{shown}"
        );
    }
}
