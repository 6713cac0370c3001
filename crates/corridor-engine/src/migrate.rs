//! Moving a data directory's SQLite store into PostgreSQL (`corridor
//! migrate --to URL`), so that several servers can share it.
//!
//! The copy goes through the target's own `append`, in leaf order, one
//! batch per transaction ([`corridor_store::Store::export`] gives each
//! record back as the record that stores it again): leaf indexes, current
//! states, indexes and rollups are rebuilt exactly as ingest builds them,
//! and the leaves are the same bytes, so the log's tree, origin and key do
//! not change. The log itself stays where it is.
//!
//! The run holds the data directory's writer lock throughout. It can be
//! killed at any point and simply run again: a target that holds a prefix
//! of this store's leaves, under the same digest secret, is continued; one
//! that holds anything else is refused, naming what differs. At the end the
//! target's leaves are compared with the source's (count and root), then
//! `corridor.toml` is pointed at the target and `store.db` is renamed to a
//! retired name that [`crate::DataDir`] refuses to open or recreate, so
//! nothing can fork the log by writing to the old store.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corridor_store::{Store, StoreLocation};
use corridor_tlog::{CompactRange, Hash, leaf_hash};

use crate::{CONFIG_FILE, DataDir, EngineError, LOCK_FILE, STORE_FILE, WriterLock};

/// Records copied per transaction.
const COPY_BATCH: u64 = 1_000;

/// Leaves compared per read when checking a prefix or computing a root.
const COMPARE_BATCH: u64 = 10_000;

/// The suffix that marks a retired SQLite store: `store.db.retired-<time>`.
pub const RETIRED_MARK: &str = ".retired-";

/// What a finished migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The target, as it may be shown (password hidden).
    pub target: String,
    /// Records in the store, and so in the target now.
    pub records: u64,
    /// Of those, how many an earlier, interrupted run had copied already.
    pub already_copied: u64,
    /// Tokens copied (tokens the target held already are not counted).
    pub tokens_copied: usize,
    /// The RFC 6962 root of the leaves, the same in source and target.
    pub root: Hash,
    /// Where the old SQLite store now lies, never written again.
    pub retired: PathBuf,
}

/// Why a migration was refused before it copied anything it should not.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "{target} is not a PostgreSQL URL: `corridor migrate --to` moves a SQLite store into PostgreSQL (postgres://... or postgresql://...)"
    )]
    NotPostgres { target: String },
    #[error(
        "this data directory's store is {current} already, not a SQLite store, and {path} is not there: there is nothing to migrate"
    )]
    NothingToMigrate { current: String, path: String },
    #[error(
        "corridor.toml points this data directory at {current}, but --to names {target}: finish the migration that was begun with `corridor migrate --to` and the same URL"
    )]
    OtherTarget { current: String, target: String },
    #[error("{target} already holds {records} record(s) that are not this store's: {reason}")]
    TargetHoldsOthers {
        target: String,
        records: u64,
        reason: String,
    },
    #[error(
        "after copying, {target} holds {target_records} record(s) with root {target_root} but the store holds {source_records} with root {source_root}; corridor.toml and store.db were left as they were"
    )]
    CopyDiffers {
        target: String,
        target_records: u64,
        target_root: String,
        source_records: u64,
        source_root: String,
    },
}

/// Copies the SQLite store of `data_dir` into the PostgreSQL database at
/// `target`, then points the directory at it and retires the old store.
/// `progress` hears `(copied, total)` after every batch.
///
/// # Errors
/// [`EngineError::Migrate`] for a target that is not PostgreSQL, holds
/// other records or came out different; [`EngineError::Locked`] while a
/// server or another writer holds the directory; a setting the target
/// records differently ([`EngineError::SettingDiffers`]); a storage or
/// I/O failure. On any error the directory still uses its SQLite store
/// (unless the copy was complete and verified), and running again continues.
pub fn migrate(
    data_dir: &DataDir,
    target: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Migration, EngineError> {
    let target_location = StoreLocation::parse(target)?;
    let shown = target_location.to_string();
    if !target_location.is_shared() {
        return Err(MigrateError::NotPostgres { target: shown }.into());
    }
    let _lock = WriterLock::acquire(&data_dir.root.join(LOCK_FILE), "corridor migrate")?;
    let source_path = source_path(data_dir, &target_location)?;
    let mut source = StoreLocation::Sqlite(source_path.clone()).open()?;
    let mut target_store = target_location.open()?;

    let secret = crate::ensure_secret(&mut source)?;
    let total = source.leaf_count()?;
    let already_copied = continue_from(&*source, &*target_store, &secret, total, &shown)?;
    if already_copied == 0 {
        // The target's own secret (from an `init` on it) keyed no record.
        target_store.set_meta("digest_secret", &secret)?;
    }
    // The target must record this directory's key, precision, thresholds
    // and witnesses, so that servers joining it later agree with them.
    let target_view = DataDir {
        root: data_dir.root.clone(),
        config: data_dir.config.clone(),
        store_location: target_location.clone(),
    };
    target_view.agree_on_settings(&mut target_store, &data_dir.log_signer()?)?;

    progress(already_copied, total);
    let mut copied = already_copied;
    while copied < total {
        let end = (copied + COPY_BATCH).min(total);
        let records = source.export(copied, end)?;
        let indexes = target_store.append(&records)?;
        if indexes.first() != Some(&copied) || indexes.last() != Some(&(end - 1)) {
            return Err(MigrateError::TargetHoldsOthers {
                target: shown,
                records: target_store.leaf_count()?,
                reason: format!(
                    "records {copied}..{end} were stored at other leaf indexes: another process writes to it"
                ),
            }
            .into());
        }
        copied = end;
        progress(copied, total);
    }
    let tokens_copied = copy_tokens(&*source, &mut *target_store)?;

    let source_root = root_of(&*source, total)?;
    let target_records = target_store.leaf_count()?;
    let target_root = root_of(&*target_store, target_records)?;
    if target_records != total || target_root != source_root {
        return Err(MigrateError::CopyDiffers {
            target: shown,
            target_records,
            target_root: BASE64.encode(target_root),
            source_records: total,
            source_root: BASE64.encode(source_root),
        }
        .into());
    }
    drop(source);
    drop(target_store);

    let mut config = data_dir.config.clone();
    config.store.url = Some(target.to_string());
    crate::write_atomically(
        &data_dir.root.join(CONFIG_FILE),
        crate::render_config(&config).as_bytes(),
    )?;
    let retired = retire(&source_path)?;
    Ok(Migration {
        target: shown,
        records: total,
        already_copied,
        tokens_copied,
        root: source_root,
        retired,
    })
}

/// The SQLite file to copy: the directory's store, or, when an earlier run
/// already pointed corridor.toml at `target` but was stopped before it
/// retired the old store, that store.
fn source_path(data_dir: &DataDir, target: &StoreLocation) -> Result<PathBuf, EngineError> {
    let path = match &data_dir.store_location {
        StoreLocation::Sqlite(path) => path.clone(),
        current @ StoreLocation::Postgres(_) => {
            let leftover = data_dir.root.join(STORE_FILE);
            if current != target {
                return Err(MigrateError::OtherTarget {
                    current: current.to_string(),
                    target: target.to_string(),
                }
                .into());
            }
            if !leftover.exists() {
                return Err(MigrateError::NothingToMigrate {
                    current: current.to_string(),
                    path: leftover.display().to_string(),
                }
                .into());
            }
            leftover
        }
    };
    if !path.exists() {
        // Opening it would create an empty store, and copy nothing.
        return Err(EngineError::Io {
            path: path.display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the SQLite store to migrate is not there",
            ),
        });
    }
    Ok(path)
}

/// How many of the source's leaves the target holds already, from an
/// earlier run: its records must be exactly the first ones of the source,
/// under the same digest secret.
fn continue_from(
    source: &dyn Store,
    target: &dyn Store,
    secret: &[u8],
    total: u64,
    shown: &str,
) -> Result<u64, EngineError> {
    let held = target.leaf_count()?;
    if held == 0 {
        return Ok(0);
    }
    let refuse = |reason: String| -> EngineError {
        MigrateError::TargetHoldsOthers {
            target: shown.to_string(),
            records: held,
            reason,
        }
        .into()
    };
    if target.meta("digest_secret")?.as_deref() != Some(secret) {
        return Err(refuse(
            "its records were keyed by another store's digest secret, so they came from another data directory; migrate into an empty database".into(),
        ));
    }
    if held > total {
        return Err(refuse(format!(
            "that is more than the {total} this store holds"
        )));
    }
    let mut start = 0;
    while start < held {
        let end = (start + COMPARE_BATCH).min(held);
        let theirs = target.leaves(start, end)?;
        let ours = source.leaves(start, end)?;
        if let Some(offset) = theirs.iter().zip(&ours).position(|(a, b)| a != b) {
            return Err(refuse(format!(
                "its leaf {} differs from this store's",
                start + offset as u64
            )));
        }
        start = end;
    }
    Ok(held)
}

/// Copies the tokens the target lacks, with their hashes, so every
/// token keeps working. Returns how many were copied.
fn copy_tokens(source: &dyn Store, target: &mut dyn Store) -> Result<usize, EngineError> {
    let mut copied = 0;
    for (token, hash) in source.tokens_with_hashes()? {
        if target.token_by_hash(&hash)?.is_none() {
            target.insert_token(&token, &hash)?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// The RFC 6962 root of the first `size` leaves of `store`.
fn root_of(store: &dyn Store, size: u64) -> Result<Hash, EngineError> {
    let mut range = CompactRange::new();
    let mut start = 0;
    while start < size {
        let end = (start + COMPARE_BATCH).min(size);
        let leaves = store.leaves(start, end)?;
        range
            .extend(leaves.iter().map(|leaf| leaf_hash(leaf)), &mut |_, _| {})
            .map_err(|error| EngineError::CorruptLeaf {
                leaf_index: start,
                reason: error.to_string(),
            })?;
        start = end;
    }
    Ok(range.root())
}

/// Renames the SQLite store (and its write-ahead log and shared memory,
/// if left) to `NAME.retired-TIME`, and returns the new name.
fn retire(path: &Path) -> Result<PathBuf, EngineError> {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let retired = PathBuf::from(format!("{}{RETIRED_MARK}{stamp}", path.display()));
    // The side files first: a retired store is never opened with a stray
    // write-ahead log of the old name, and the main file's rename is last.
    for side in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{side}", path.display()));
        if from.exists() {
            let to = PathBuf::from(format!("{}{side}", retired.display()));
            std::fs::rename(&from, &to).map_err(|error| EngineError::io(&from, error))?;
        }
    }
    std::fs::rename(path, &retired).map_err(|error| EngineError::io(path, error))?;
    if let Some(parent) = path.parent()
        && let Ok(directory) = std::fs::File::open(parent)
    {
        let _ = directory.sync_all();
    }
    Ok(retired)
}

/// A retired store beside `path` (see [`RETIRED_MARK`]), when `path` itself
/// is not there: opening `path` would then create an empty store where the
/// old one was, and writing it would fork the log.
pub(crate) fn retired_store(path: &Path) -> Option<PathBuf> {
    if path.exists() {
        return None;
    }
    let name = path.file_name()?.to_str()?;
    let prefix = format!("{name}{RETIRED_MARK}");
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    let entries = std::fs::read_dir(parent.unwrap_or(Path::new("."))).ok()?;
    let mut retired: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|candidate| {
            candidate
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| {
                    name.starts_with(&prefix) && !name.ends_with("-wal") && !name.ends_with("-shm")
                })
        })
        .collect();
    retired.sort();
    retired.pop()
}
