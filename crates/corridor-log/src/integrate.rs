//! Integration: turning the leaves the store holds beyond the published tree
//! into entry bundles, hash tiles and a new signed checkpoint.
//!
//! Crash safety rests on one ordering, in the terms of [`LogStorage`]: every
//! tile and bundle is created; one `sync` makes them all durable; only then
//! is the new checkpoint written, first as its per-size copy, then by the
//! compare-and-swap of `checkpoint` that names the checkpoint it replaces.
//! A failure or crash before that swap leaves the previous checkpoint
//! published, and everything it covers untouched (integration only ever
//! creates tiles that differ between the old and the new tree, under new
//! partial-tile names or full-tile names no published checkpoint refers
//! to). Running integration again recomputes the same bytes, which the
//! create-only writes accept, and finishes the job.

use corridor_store::{Store, StoreError, TreeHead};

use crate::fence::{Fence, Unfenced};
use corridor_tlog::tile::{FULL_TILE_WIDTH, MAX_ENTRY_SIZE, TILE_HEIGHT};
use corridor_tlog::{
    Checkpoint, CompactRange, EMPTY_ROOT, EntryBundleAddress, Hash, Note, SignerKey, TileAddress,
    TileHashReader, encode_tile_data, leaf_hash, parse_tile_data,
};

use crate::storage::{CHECKPOINT_FILE, ExactTiles, LogStorage, LogStorageError};
use crate::tiles::TileBuffers;

/// How many leaves are read from the source at a time.
const LEAF_CHUNK: u64 = 4096;

/// Where integration reads leaves from: the record store, or anything holding
/// leaf bytes by dense index.
pub trait LeafSource {
    /// How many leaves exist.
    ///
    /// # Errors
    ///
    /// Whatever the source reports.
    fn leaf_count(&self) -> Result<u64, StoreError>;

    /// The leaves `start..end`, all of them, in order.
    ///
    /// # Errors
    ///
    /// Whatever the source reports.
    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError>;
}

impl<S: Store + ?Sized> LeafSource for S {
    fn leaf_count(&self) -> Result<u64, StoreError> {
        Store::leaf_count(self)
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        Store::leaves(self, start, end)
    }
}

/// Leaves held in memory, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryLeaves(pub Vec<Vec<u8>>);

impl LeafSource for MemoryLeaves {
    fn leaf_count(&self) -> Result<u64, StoreError> {
        Ok(self.0.len() as u64)
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let end = (end as usize).min(self.0.len());
        let start = (start as usize).min(end);
        Ok(self.0[start..end].to_vec())
    }
}

/// What one integration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// The tree size published before.
    pub previous_size: u64,
    /// The tree size published now (equal to `previous_size` if nothing was new).
    pub tree_size: u64,
    /// The root of the tree now published.
    pub root_hash: Hash,
    /// The signed checkpoint now published.
    pub checkpoint: String,
}

/// Why integration failed. Whatever failed, the published checkpoint is the
/// previous one and running integration again is safe.
#[derive(Debug, thiserror::Error)]
pub enum IntegrateError {
    /// A file could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        error: std::io::Error,
    },
    /// A file could not be written, or holds other bytes than integration computed.
    #[error(transparent)]
    Storage(#[from] LogStorageError),
    /// A file of the published tree is missing.
    #[error("{path} is missing (the published tree of {tree_size} leaves needs it)")]
    Missing {
        /// The file.
        path: String,
        /// The published size.
        tree_size: u64,
    },
    /// The store failed.
    #[error("reading leaves from the store: {0}")]
    Store(#[from] StoreError),
    /// The published checkpoint does not open with the log's own key.
    #[error("the published checkpoint {path} does not verify with the log key: {reason}")]
    BadPublishedCheckpoint {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The published checkpoint names another log.
    #[error(
        "the published checkpoint is for origin {found:?}, but the signing key is {expected:?}"
    )]
    OriginMismatch {
        /// The key name.
        expected: String,
        /// The checkpoint's origin.
        found: String,
    },
    /// The store holds fewer leaves than the published tree: it was replaced or rolled back.
    #[error(
        "the store holds {store_leaves} leaves but the published log already has {published_size}; \
         the store was rolled back or replaced, and publishing from it would break the log"
    )]
    StoreBehindLog {
        /// Leaves in the store.
        store_leaves: u64,
        /// The published tree size.
        published_size: u64,
    },
    /// The store's leaf differs from the published one at the same index.
    #[error(
        "stored leaf {leaf_index} is not the leaf the log published at that index; \
         the store was replaced, and publishing from it would break the log"
    )]
    StoreDiffersFromLog {
        /// The leaf index.
        leaf_index: u64,
    },
    /// The source returned a different number of leaves than asked.
    #[error("the store returned {returned} leaves for indexes {start}..{end}")]
    MissingLeaves {
        /// First index asked.
        start: u64,
        /// One past the last.
        end: u64,
        /// How many came back.
        returned: usize,
    },
    /// A leaf does not fit an entry bundle's 16-bit length prefix.
    #[error("leaf {leaf_index} is {length} bytes; an entry bundle holds entries up to 65535 bytes")]
    LeafTooLarge {
        /// The leaf.
        leaf_index: u64,
        /// Its length.
        length: usize,
    },
    /// The published tiles do not reproduce the published root: they were damaged.
    #[error(
        "the tiles of the published tree (size {tree_size}) do not reproduce its root: {reason}; \
         run `corridor verify` to find the damaged file"
    )]
    DamagedTiles {
        /// The published size.
        tree_size: u64,
        /// What went wrong.
        reason: String,
    },
    /// The tree cannot grow further.
    #[error("{0}")]
    TreeFull(String),
    /// Signing failed (a key of the wrong type, or an unformattable origin).
    #[error("signing the checkpoint failed: {0}")]
    Sign(String),
    /// The fence refused the publication: another integrator holds the
    /// lease or published meanwhile. Nothing was published.
    #[error("not published: {reason}")]
    Fenced {
        /// Why.
        reason: String,
    },
    /// The store records a published head that the store's own leaves do
    /// not reproduce, or that they do not reach.
    #[error("{0}")]
    HeadMismatch(String),
}

impl IntegrateError {
    /// Whether another integrator holds the right to publish (the lease
    /// moved on): an expected outcome on a follower, not a failure.
    #[must_use]
    pub fn is_fenced(&self) -> bool {
        matches!(self, IntegrateError::Fenced { .. })
    }
}

/// A store error from the fence: a refusal is [`IntegrateError::Fenced`].
fn fence_error(error: StoreError) -> IntegrateError {
    match error {
        StoreError::Fenced { reason } => IntegrateError::Fenced { reason },
        other => IntegrateError::Store(other),
    }
}

/// The checkpoint a log publishes, as read before it is replaced.
#[derive(Debug)]
pub(crate) struct PublishedCheckpoint {
    pub(crate) checkpoint: Checkpoint,
    pub(crate) note: Note,
    /// The bytes, which the replacement names (compare-and-swap).
    pub(crate) bytes: Vec<u8>,
}

/// The published checkpoint, opened with the log's key.
pub(crate) fn published_checkpoint(
    storage: &dyn LogStorage,
    signer: &SignerKey,
) -> Result<Option<PublishedCheckpoint>, IntegrateError> {
    let path = storage.describe_path(CHECKPOINT_FILE);
    let bytes = storage
        .read(CHECKPOINT_FILE)
        .map_err(|error| IntegrateError::Io {
            path: path.clone(),
            error,
        })?;
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let opened = Checkpoint::open(&bytes, &[signer.verifier_key()]).map_err(|error| {
        IntegrateError::BadPublishedCheckpoint {
            path,
            reason: error.to_string(),
        }
    })?;
    if opened.checkpoint.origin != signer.name().as_str() {
        return Err(IntegrateError::OriginMismatch {
            expected: signer.name().to_string(),
            found: opened.checkpoint.origin,
        });
    }
    Ok(Some(PublishedCheckpoint {
        checkpoint: opened.checkpoint,
        note: opened.note,
        bytes,
    }))
}

fn create_tile(
    storage: &dyn LogStorage,
    tile: &TileAddress,
    hashes: &[Hash],
) -> Result<(), IntegrateError> {
    Ok(storage.create(&tile.path(), encode_tile_data(hashes))?)
}

/// Integrates every leaf of `source` beyond the published tree into the log
/// in `storage`, signing the new checkpoint with `signer` (whose name is the
/// log's origin). Returns what is published afterwards.
///
/// The caller must be the only writer of the log (in Corridor: the holder of
/// the data directory's writer lock); a second writer makes the
/// checkpoint's compare-and-swap or a create-only write fail, never the
/// log diverge. Several servers sharing one store use
/// [`integrate_fenced`] under the store's lease instead.
///
/// # Errors
///
/// [`IntegrateError`]; the previously published state stays intact.
pub fn integrate<S: LeafSource + ?Sized>(
    source: &S,
    storage: &dyn LogStorage,
    signer: &SignerKey,
) -> Result<Integration, IntegrateError> {
    integrate_fenced(source, storage, signer, &mut Unfenced)
}

/// [`integrate`], publishing only if `fence` lets the recorded tree head
/// move from where this integration found it to the new tree (after every
/// tile is durable, before the checkpoint is written). The leaves must
/// reproduce the recorded head's root at its size: a head recorded by an
/// integrator that died before its checkpoint is published by the next one.
///
/// # Errors
///
/// [`IntegrateError::Fenced`] when another integrator holds the right to
/// publish; otherwise as [`integrate`]. The published state stays intact.
pub fn integrate_fenced<S: LeafSource + ?Sized>(
    source: &S,
    storage: &dyn LogStorage,
    signer: &SignerKey,
    fence: &mut dyn Fence,
) -> Result<Integration, IntegrateError> {
    let published = published_checkpoint(storage, signer)?;
    let old_size = published
        .as_ref()
        .map_or(0, |published| published.checkpoint.tree_size);
    let recorded = fence.recorded().map_err(fence_error)?;
    let new_size = source.leaf_count()?;
    if new_size < old_size {
        return Err(IntegrateError::StoreBehindLog {
            store_leaves: new_size,
            published_size: old_size,
        });
    }
    if let Some(head) = recorded {
        if head.size > new_size {
            return Err(IntegrateError::HeadMismatch(format!(
                "the store records a published tree of {} leaves but holds {new_size}; \
                 the store was rolled back or replaced",
                head.size
            )));
        }
        if let Some(published) = &published
            && head.size == old_size
            && head.root != published.checkpoint.root_hash
        {
            return Err(IntegrateError::HeadMismatch(format!(
                "the store records another root for the published tree of {old_size} leaves; \
                 the store or the log was replaced"
            )));
        }
    }
    if let Some(published) = &published
        && new_size == old_size
    {
        let head = TreeHead {
            size: old_size,
            root: published.checkpoint.root_hash,
        };
        // Record the published head where it is missing or older (the first
        // fenced integration of a log published before).
        if recorded != Some(head) {
            fence
                .advance(recorded.as_ref(), &head)
                .map_err(fence_error)?;
        }
        return Ok(Integration {
            previous_size: old_size,
            tree_size: old_size,
            root_hash: published.checkpoint.root_hash,
            checkpoint: published.note.to_text(),
        });
    }

    let (mut range, mut buffers) = resume(storage, old_size, published.as_ref())?;

    // The partial entry bundle the published tree ends with, from the store.
    let bundle_width = u64::from(FULL_TILE_WIDTH);
    let mut bundle_index = old_size / bundle_width;
    let mut bundle = Vec::new();
    let mut bundle_entries: u64 = 0;
    let bundle_start = bundle_index * bundle_width;
    if bundle_start < old_size {
        let published_hashes = buffers.level_zero_hashes();
        for (offset, leaf) in checked_leaves(source, bundle_start, old_size)?
            .iter()
            .enumerate()
        {
            // The store must still hold what was published, or the rewritten
            // bundle would contradict the published tiles.
            if published_hashes.get(offset) != Some(&leaf_hash(leaf)) {
                return Err(IntegrateError::StoreDiffersFromLog {
                    leaf_index: bundle_start + offset as u64,
                });
            }
            push_entry(&mut bundle, leaf);
            bundle_entries += 1;
        }
    }

    let mut completed: Vec<(TileAddress, Vec<Hash>)> = Vec::new();
    let mut next = old_size;
    while next < new_size {
        let end = new_size.min(next + LEAF_CHUNK);
        let leaves = checked_leaves(source, next, end)?;
        for (offset, leaf) in leaves.iter().enumerate() {
            let leaf_index = next + offset as u64;
            if leaf.len() > MAX_ENTRY_SIZE {
                return Err(IntegrateError::LeafTooLarge {
                    leaf_index,
                    length: leaf.len(),
                });
            }
            push_entry(&mut bundle, leaf);
            bundle_entries += 1;
            if bundle_entries == bundle_width {
                let address = EntryBundleAddress {
                    index: bundle_index,
                    width: FULL_TILE_WIDTH,
                };
                storage.create(&address.path(), std::mem::take(&mut bundle))?;
                bundle_entries = 0;
                bundle_index += 1;
            }
            range
                .append(leaf_hash(leaf), &mut |address, hash| {
                    buffers.push(address, hash, &mut completed);
                })
                .map_err(|error| IntegrateError::TreeFull(error.to_string()))?;
            for (tile, hashes) in completed.drain(..) {
                create_tile(storage, &tile, &hashes)?;
            }
            if let Some(head) = recorded
                && head.size > old_size
                && head.size == leaf_index + 1
                && range.root() != head.root
            {
                return Err(IntegrateError::HeadMismatch(format!(
                    "the store's first {} leaves do not reproduce the tree head it records; \
                     the store was replaced",
                    head.size
                )));
            }
        }
        next = end;
        fence.keep_alive().map_err(fence_error)?;
    }
    if bundle_entries > 0 {
        let address = EntryBundleAddress {
            index: bundle_index,
            width: bundle_entries as u16,
        };
        storage.create(&address.path(), bundle)?;
    }
    for (tile, hashes) in buffers.grown_partial_tiles() {
        create_tile(storage, &tile, hashes)?;
    }
    // The durability point: nothing may refer to these files before it.
    storage.sync()?;

    let root_hash = if new_size == 0 {
        EMPTY_ROOT
    } else {
        range.root()
    };
    // The fencing point: only the holder of the lease moves the head, and
    // only from where it found it; a paused integrator that wakes after a
    // takeover stops here, having written nothing but identical tiles.
    fence
        .advance(
            recorded.as_ref(),
            &TreeHead {
                size: new_size,
                root: root_hash,
            },
        )
        .map_err(fence_error)?;
    let replaced = published
        .as_ref()
        .map(|published| published.bytes.as_slice());
    let checkpoint = publish(storage, signer, new_size, root_hash, replaced)?;
    tracing::info!(
        previous_size = old_size,
        tree_size = new_size,
        "integrated {} leaves",
        new_size - old_size
    );
    Ok(Integration {
        previous_size: old_size,
        tree_size: new_size,
        root_hash,
        checkpoint,
    })
}

/// Appends one entry with its big-endian uint16 length prefix (C2SP tlog-tiles "Log entries").
fn push_entry(bundle: &mut Vec<u8>, leaf: &[u8]) {
    bundle.extend_from_slice(&(leaf.len() as u16).to_be_bytes());
    bundle.extend_from_slice(leaf);
}

fn checked_leaves<S: LeafSource + ?Sized>(
    source: &S,
    start: u64,
    end: u64,
) -> Result<Vec<Vec<u8>>, IntegrateError> {
    let leaves = source.leaves(start, end)?;
    if leaves.len() as u64 != end - start {
        return Err(IntegrateError::MissingLeaves {
            start,
            end,
            returned: leaves.len(),
        });
    }
    Ok(leaves)
}

/// Loads the right edge and the partial tiles of the published tree, and
/// checks that they reproduce its signed root before anything is built on them.
fn resume(
    storage: &dyn LogStorage,
    old_size: u64,
    published: Option<&PublishedCheckpoint>,
) -> Result<(CompactRange, TileBuffers), IntegrateError> {
    let mut buffers = TileBuffers::default();
    if old_size == 0 {
        return Ok((CompactRange::new(), buffers));
    }
    let damaged = |reason: String| IntegrateError::DamagedTiles {
        tree_size: old_size,
        reason,
    };
    let reader = TileHashReader::new(old_size, ExactTiles::new(storage));
    let range = CompactRange::load(old_size, &reader).map_err(|error| {
        damaged(format!(
            "{error}: {}",
            std::error::Error::source(&error).map_or(String::new(), ToString::to_string)
        ))
    })?;
    if let Some(published) = published
        && range.root() != published.checkpoint.root_hash
    {
        return Err(damaged(
            "the right-edge hashes give a different root".into(),
        ));
    }
    let mut tile_level: u8 = 0;
    loop {
        let shift = u32::from(tile_level) * u32::from(TILE_HEIGHT);
        let hashes_at_level = old_size.checked_shr(shift).unwrap_or(0);
        if hashes_at_level == 0 {
            break;
        }
        let in_partial = (hashes_at_level % u64::from(FULL_TILE_WIDTH)) as u16;
        if in_partial > 0 {
            let tile = TileAddress {
                level: tile_level,
                index: hashes_at_level / u64::from(FULL_TILE_WIDTH),
                width: in_partial,
            };
            let path = tile.path();
            let bytes = storage
                .read(&path)
                .map_err(|error| IntegrateError::Io {
                    path: storage.describe_path(&path),
                    error,
                })?
                .ok_or_else(|| IntegrateError::Missing {
                    path: storage.describe_path(&path),
                    tree_size: old_size,
                })?;
            let hashes =
                parse_tile_data(&tile, &bytes).map_err(|error| damaged(error.to_string()))?;
            buffers.seed(tile_level, tile.index, hashes);
        }
        tile_level += 1;
    }
    Ok((range, buffers))
}

/// Signs and publishes the checkpoint for `tree_size` in place of `replaced`;
/// see [`write_checkpoint`].
fn publish(
    storage: &dyn LogStorage,
    signer: &SignerKey,
    tree_size: u64,
    root_hash: Hash,
    replaced: Option<&[u8]>,
) -> Result<String, IntegrateError> {
    let checkpoint = Checkpoint {
        origin: signer.name().to_string(),
        tree_size,
        root_hash,
        extension_lines: Vec::new(),
    };
    let text = checkpoint
        .to_text()
        .map_err(|error| IntegrateError::Sign(error.to_string()))?;
    let mut note = Note::new(&text).map_err(|error| IntegrateError::Sign(error.to_string()))?;
    note.sign(signer)
        .map_err(|error| IntegrateError::Sign(error.to_string()))?;
    let signed = note.to_text();
    write_checkpoint(storage, tree_size, &signed, replaced)?;
    Ok(signed)
}

/// Publishes a signed checkpoint: first its per-size copy
/// (`checkpoints/<size>`), then in place of `replaced` as `checkpoint`
/// (compare-and-swap). The caller has made every file it covers durable.
pub(crate) fn write_checkpoint(
    storage: &dyn LogStorage,
    tree_size: u64,
    signed: &str,
    replaced: Option<&[u8]>,
) -> Result<(), LogStorageError> {
    storage.write_checkpoint_copy(tree_size, signed.as_bytes())?;
    storage.replace_checkpoint(replaced, signed.as_bytes())
}
