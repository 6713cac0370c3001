//! Copying a published log from one place to another (a directory to a
//! bucket, a bucket to a directory, a URL to either), through the same
//! storage rules as integration: every tile and bundle the latest
//! checkpoint covers is created (identical bytes already there count as
//! written), made durable, and only then are the checkpoint copies and the
//! checkpoint written; the caller verifies the copy. A deployment then
//! points `[log] url` at the copy: same origin, key and tree.

use corridor_tlog::{Checkpoint, VerifierKey};

use crate::object::tree_paths;
use crate::storage::{
    CHECKPOINT_FILE, LogSource, LogStorage, LogStorageError, checkpoint_copy_path, published_sizes,
};

/// What a copy wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The tree size of the checkpoint copied.
    pub tree_size: u64,
    /// Tiles and bundles copied.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Checkpoint copies (`checkpoints/<size>`) copied, the latest's included.
    pub checkpoint_copies: u64,
}

/// Why a log could not be copied.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A resource of the source could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The resource.
        path: String,
        /// What the backend said.
        source: std::io::Error,
    },
    /// The source has no checkpoint.
    #[error("{log} has no checkpoint: there is no published log to copy")]
    NothingPublished {
        /// The source.
        log: String,
    },
    /// The source's checkpoint does not verify with the key given.
    #[error("{path} does not verify with the log key: {reason}")]
    BadCheckpoint {
        /// The checkpoint.
        path: String,
        /// Why.
        reason: String,
    },
    /// A resource the checkpoint covers is missing from the source.
    #[error("{path} is missing (the checkpoint's tree of {tree_size} leaves needs it)")]
    Missing {
        /// The resource.
        path: String,
        /// The tree size.
        tree_size: u64,
    },
    /// The destination refused a write (another log is there, or it failed).
    #[error(transparent)]
    Write(#[from] LogStorageError),
}

fn read(source: &dyn LogSource, path: &str) -> Result<Option<Vec<u8>>, CopyError> {
    source.read(path).map_err(|error| CopyError::Read {
        path: source.describe_path(path),
        source: error,
    })
}

/// Copies the log published in `source` (its checkpoint opened with
/// `log_key`) into `destination`: every tile and bundle of the latest
/// tree, the checkpoint copies the source can list, then the checkpoint.
/// Partial tiles that a full one supersedes are not copied: readers of
/// older sizes fall back to the full tile. `progress` is called after each
/// object with the count so far and the total.
///
/// # Errors
///
/// [`CopyError`]; a destination holding other bytes at a path refuses them
/// ([`LogStorageError::Conflict`]) and keeps its own checkpoint.
pub fn copy_log(
    source: &dyn LogStorage,
    destination: &dyn LogStorage,
    log_key: &VerifierKey,
    mut progress: impl FnMut(u64, u64),
) -> Result<Copied, CopyError> {
    let checkpoint_path = source.describe_path(CHECKPOINT_FILE);
    let signed = read(source, CHECKPOINT_FILE)?.ok_or_else(|| CopyError::NothingPublished {
        log: source.describe(),
    })?;
    let opened = Checkpoint::open(&signed, std::slice::from_ref(log_key)).map_err(|error| {
        CopyError::BadCheckpoint {
            path: checkpoint_path.clone(),
            reason: error.to_string(),
        }
    })?;
    let tree_size = opened.checkpoint.tree_size;
    let paths = tree_paths(tree_size);
    let total = paths.len() as u64;
    let mut copied = Copied {
        tree_size,
        objects: 0,
        bytes: 0,
        checkpoint_copies: 0,
    };
    for path in &paths {
        let bytes = read(source, path)?.ok_or_else(|| CopyError::Missing {
            path: source.describe_path(path),
            tree_size,
        })?;
        copied.bytes += bytes.len() as u64;
        destination.create(path, bytes)?;
        copied.objects += 1;
        progress(copied.objects, total);
    }
    // The durability point: no checkpoint refers to these before it.
    destination.sync()?;
    // Older checkpoints, where the source can list them (a URL cannot).
    let older = match published_sizes(source) {
        Ok(sizes) => sizes,
        Err(error) if error.kind() == std::io::ErrorKind::Unsupported => Vec::new(),
        Err(error) => {
            return Err(CopyError::Read {
                path: source.describe_path(crate::storage::CHECKPOINT_COPIES),
                source: error,
            });
        }
    };
    for size in older.into_iter().filter(|size| *size < tree_size) {
        if let Some(bytes) = read(source, &checkpoint_copy_path(size))? {
            destination.write_checkpoint_copy(size, &bytes)?;
            copied.checkpoint_copies += 1;
        }
    }
    destination.write_checkpoint_copy(tree_size, &signed)?;
    copied.checkpoint_copies += 1;
    let current = destination
        .read(CHECKPOINT_FILE)
        .map_err(|error| CopyError::Read {
            path: destination.describe_path(CHECKPOINT_FILE),
            source: error,
        })?;
    if current.as_deref() != Some(signed.as_slice()) {
        destination.replace_checkpoint(current.as_deref(), &signed)?;
    }
    Ok(copied)
}
