//! The operator's handle on a log: integrate new leaves (once, or on a
//! schedule), attach witness cosignatures, and serve proofs and receipts from
//! the tiles.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use corridor_tlog::{
    Checkpoint, Hash, Note, SignerKey, VerifierKey, consistency_proof, inclusion_proof, leaf_hash,
    tree_root, verify_inclusion,
};

use crate::cache::{CachedTileReader, TileCache};
use crate::fence::{Fence, Unfenced};
use crate::integrate::{
    IntegrateError, Integration, LeafSource, PublishedCheckpoint, integrate_fenced,
    published_checkpoint, write_checkpoint,
};
use crate::receipt::Receipt;
use crate::storage::{CHECKPOINT_FILE, LogStorage, checkpoint_copy_path, published_sizes};

/// A log the caller writes: its storage and its signing key.
///
/// Clones share one publishing lock: integrating and attaching cosignatures
/// never interleave, so cosignatures for checkpoint N, attached from another
/// thread, cannot overwrite checkpoint N+1 published meanwhile (attaching
/// reads the published checkpoint under the lock and refuses if it moved on).
#[derive(Debug, Clone)]
pub struct Log {
    storage: Arc<dyn LogStorage>,
    signer: SignerKey,
    publishing: Arc<Mutex<()>>,
    health: Arc<Mutex<IntegrationHealth>>,
}

/// How integration has been going, for a health check: a server answers
/// `degraded` while integrations keep failing (a bucket unreachable, a
/// conflict in the storage), since records are then stored but not
/// published. Clones of one [`Log`] share it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrationHealth {
    /// Failed integrations since the last one that succeeded (0: the last
    /// one succeeded, or none ran yet).
    pub consecutive_failures: u64,
    /// The last failure's message, kept until an integration succeeds.
    pub last_error: Option<String>,
    /// When the last failure happened, if one did since the last success.
    pub failing_since: Option<Instant>,
    /// When an integration last succeeded.
    pub last_success: Option<Instant>,
}

/// Why cosignatures could not be attached to the published checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The published checkpoint could not be read.
    #[error(transparent)]
    Published(#[from] IntegrateError),
    /// Nothing is published yet.
    #[error("the log has no checkpoint yet")]
    NothingPublished,
    /// The cosigned note is malformed.
    #[error("the cosigned checkpoint is not a signed note: {0}")]
    Malformed(String),
    /// No cosignature from the given witnesses verifies.
    #[error("the cosignatures do not verify against the given witness keys: {0}")]
    Unverified(String),
    /// The cosigned checkpoint is not the published one (the log has moved on, or it is another log's).
    #[error(
        "the cosigned checkpoint is not the published one (size {cosigned_size:?} vs published {published_size}); cosign the current checkpoint again"
    )]
    NotCurrent {
        /// The cosigned checkpoint's size, if it parses.
        cosigned_size: Option<u64>,
        /// The published size.
        published_size: u64,
    },
}

impl Log {
    /// A log in `storage`, signed by `signer` (whose name is the origin).
    #[must_use]
    pub fn new(storage: Arc<dyn LogStorage>, signer: SignerKey) -> Self {
        Log {
            storage,
            signer,
            publishing: Arc::default(),
            health: Arc::default(),
        }
    }

    /// How integration has been going; see [`IntegrationHealth`].
    #[must_use]
    pub fn health(&self) -> IntegrationHealth {
        self.health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Holds the publishing lock. A thread that panicked while holding it
    /// left the files as a crash would, which integration recovers from.
    fn publishing(&self) -> MutexGuard<'_, ()> {
        self.publishing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the log's files live.
    #[must_use]
    pub fn storage(&self) -> &Arc<dyn LogStorage> {
        &self.storage
    }

    /// The public key that verifies the log's checkpoints.
    #[must_use]
    pub fn verifier_key(&self) -> VerifierKey {
        self.signer.verifier_key()
    }

    /// Integrates every new leaf of `source`; see [`integrate`].
    ///
    /// # Errors
    ///
    /// [`IntegrateError`]; the published state stays intact.
    pub fn integrate<S: LeafSource + ?Sized>(
        &self,
        source: &S,
    ) -> Result<Integration, IntegrateError> {
        self.integrate_fenced(source, &mut Unfenced)
    }

    /// Integrates every new leaf of `source` if `fence` lets this writer
    /// publish; see [`integrate_fenced`]. A refusal by the fence is not
    /// counted as a failure in [`Log::health`]: another integrator publishes.
    ///
    /// # Errors
    ///
    /// [`IntegrateError`]; the published state stays intact.
    pub fn integrate_fenced<S: LeafSource + ?Sized>(
        &self,
        source: &S,
        fence: &mut dyn Fence,
    ) -> Result<Integration, IntegrateError> {
        let _publishing = self.publishing();
        let integrated = integrate_fenced(source, self.storage.as_ref(), &self.signer, fence);
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        match &integrated {
            Err(error) if error.is_fenced() => {}
            Ok(_) => {
                *health = IntegrationHealth {
                    last_success: Some(Instant::now()),
                    ..IntegrationHealth::default()
                };
            }
            Err(error) => {
                health.consecutive_failures += 1;
                health.last_error = Some(error.to_string());
                health.failing_since.get_or_insert_with(Instant::now);
            }
        }
        integrated
    }

    /// Integrates every `interval` until `keep_going` returns false, for a
    /// server that must publish a checkpoint at least once a second under
    /// load. Each round that finds nothing new costs one leaf count.
    ///
    /// # Errors
    ///
    /// The first failed integration.
    pub fn integrate_periodically<S: LeafSource + ?Sized>(
        &self,
        source: &S,
        interval: Duration,
        mut keep_going: impl FnMut(&Integration) -> bool,
    ) -> Result<(), IntegrateError> {
        loop {
            let started = Instant::now();
            let integration = self.integrate(source)?;
            if !keep_going(&integration) {
                return Ok(());
            }
            if let Some(rest) = interval.checked_sub(started.elapsed()) {
                std::thread::sleep(rest);
            }
        }
    }

    /// Adds to the published checkpoint the cosignatures in `cosigned` (the
    /// same checkpoint with witness cosignature lines) that verify against
    /// one of `witnesses` and that it lacks. Returns how many were added.
    /// Signatures from other keys are ignored: an invalid line claiming a
    /// trusted witness's key would make verifiers reject the whole checkpoint.
    /// The caller must be the log's only writer (clones of one `Log` count as
    /// one writer).
    ///
    /// # Errors
    ///
    /// [`AttachError::NotCurrent`] if `cosigned` is not the published
    /// checkpoint, [`AttachError::Unverified`] if no cosignature verifies.
    pub fn attach_cosignatures(
        &self,
        cosigned: &[u8],
        witnesses: &[VerifierKey],
    ) -> Result<usize, AttachError> {
        let _publishing = self.publishing();
        let Some(PublishedCheckpoint {
            checkpoint,
            mut note,
            bytes,
        }) = published_checkpoint(self.storage.as_ref(), &self.signer)?
        else {
            return Err(AttachError::NothingPublished);
        };
        let incoming =
            Note::parse(cosigned).map_err(|error| AttachError::Malformed(error.to_string()))?;
        if incoming.text() != note.text() {
            return Err(AttachError::NotCurrent {
                cosigned_size: Checkpoint::parse(incoming.text())
                    .ok()
                    .map(|checkpoint| checkpoint.tree_size),
                published_size: checkpoint.tree_size,
            });
        }
        let verified = incoming
            .verify(witnesses)
            .map_err(|error| AttachError::Unverified(error.to_string()))?;
        let mut added = 0;
        for signature in incoming.signatures() {
            let from_witness = verified.iter().any(|witness| {
                witness.key_name == signature.key_name
                    && witness.key_id == signature.key_id
                    && witness.signature_type == corridor_tlog::SignatureType::CosignatureV1
            });
            if !from_witness {
                continue;
            }
            let present = note.signatures().iter().any(|existing| {
                existing.key_name == signature.key_name && existing.key_id == signature.key_id
            });
            if !present {
                note.add_signature(signature.clone());
                added += 1;
            }
        }
        if added > 0 {
            write_checkpoint(
                self.storage.as_ref(),
                checkpoint.tree_size,
                &note.to_text(),
                Some(&bytes),
            )
            .map_err(IntegrateError::from)?;
        }
        Ok(added)
    }
}

/// Why a proof, root or receipt could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// A file could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        error: std::io::Error,
    },
    /// Nothing is published yet.
    #[error("the log has no checkpoint yet (nothing integrated)")]
    NothingPublished,
    /// The published checkpoint is malformed.
    #[error("the published checkpoint is malformed: {0}")]
    BadCheckpoint(String),
    /// A size beyond the published tree.
    #[error("tree size {tree_size} is beyond the published tree ({published_size} leaves)")]
    BeyondPublished {
        /// The size asked for.
        tree_size: u64,
        /// The published size.
        published_size: u64,
    },
    /// No checkpoint was published at that size.
    #[error("no checkpoint was published at tree size {tree_size}; published sizes: {published}")]
    NoCheckpointAtSize {
        /// The size asked for.
        tree_size: u64,
        /// The sizes there are.
        published: String,
    },
    /// The leaf is not in the tree of that size.
    #[error("leaf {leaf_index} is not in the tree of {tree_size} leaves (not yet integrated?)")]
    LeafNotInTree {
        /// The leaf.
        leaf_index: u64,
        /// The tree size.
        tree_size: u64,
    },
    /// The proof could not be computed from the tiles.
    #[error("computing from the tiles failed: {0}")]
    Tiles(String),
    /// The computed proof does not verify: the tiles are damaged.
    #[error("the proof computed from the tiles does not verify ({0}); run `corridor verify`")]
    Damaged(String),
}

/// Read access to a published log: checkpoints, roots and proofs, computed
/// from the tiles (kept in memory once read: clones share the cache).
#[derive(Debug, Clone)]
pub struct LogReader {
    storage: Arc<dyn LogStorage>,
    cache: Arc<TileCache>,
}

/// Tiles a [`LogReader`] keeps in memory (about 16 KiB each).
const CACHED_TILES: usize = 2048;

/// The latest published checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed note text.
    pub signed: String,
}

fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl LogReader {
    /// A reader over `storage`.
    #[must_use]
    pub fn new(storage: Arc<dyn LogStorage>) -> Self {
        LogReader {
            storage,
            cache: Arc::new(TileCache::new(CACHED_TILES)),
        }
    }

    fn hash_reader(&self, tree_size: u64) -> CachedTileReader<'_> {
        CachedTileReader {
            storage: self.storage.as_ref(),
            cache: &self.cache,
            tree_size,
        }
    }

    /// Where the log's files live.
    #[must_use]
    pub fn storage(&self) -> &Arc<dyn LogStorage> {
        &self.storage
    }

    /// The latest published checkpoint (parsed, not verified: the operator's own).
    ///
    /// # Errors
    ///
    /// [`ProofError::NothingPublished`], or it cannot be read or parsed.
    pub fn latest(&self) -> Result<Published, ProofError> {
        let bytes = self
            .storage
            .read(CHECKPOINT_FILE)
            .map_err(|source| ProofError::Io {
                path: self.storage.describe_path(CHECKPOINT_FILE),
                error: source,
            })?
            .ok_or(ProofError::NothingPublished)?;
        parse_published(&bytes)
    }

    /// The signed checkpoint published at `tree_size`.
    ///
    /// # Errors
    ///
    /// [`ProofError::NoCheckpointAtSize`] if none was.
    pub fn checkpoint_at(&self, tree_size: u64) -> Result<Published, ProofError> {
        let latest = self.latest()?;
        if latest.checkpoint.tree_size == tree_size {
            return Ok(latest);
        }
        let path = checkpoint_copy_path(tree_size);
        match self.storage.read(&path) {
            Ok(Some(bytes)) => parse_published(&bytes),
            Ok(None) => {
                let sizes = published_sizes(self.storage.as_ref()).unwrap_or_default();
                let published = sizes
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                Err(ProofError::NoCheckpointAtSize {
                    tree_size,
                    published,
                })
            }
            Err(source) => Err(ProofError::Io {
                path: self.storage.describe_path(&path),
                error: source,
            }),
        }
    }

    fn check_size(&self, tree_size: u64) -> Result<Published, ProofError> {
        let latest = self.latest()?;
        if tree_size > latest.checkpoint.tree_size {
            return Err(ProofError::BeyondPublished {
                tree_size,
                published_size: latest.checkpoint.tree_size,
            });
        }
        Ok(latest)
    }

    /// The root of the first `tree_size` leaves, from the tiles.
    ///
    /// # Errors
    ///
    /// A size beyond the published tree, or unreadable tiles.
    pub fn root_at(&self, tree_size: u64) -> Result<Hash, ProofError> {
        self.check_size(tree_size)?;
        let reader = self.hash_reader(tree_size);
        tree_root(tree_size, &reader).map_err(|error| ProofError::Tiles(error_text(&error)))
    }

    /// The inclusion proof of `leaf_index` in the tree of `tree_size` leaves.
    ///
    /// # Errors
    ///
    /// A leaf outside the tree, a size beyond the published tree, or unreadable tiles.
    pub fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<Hash>, ProofError> {
        self.check_size(tree_size)?;
        if leaf_index >= tree_size {
            return Err(ProofError::LeafNotInTree {
                leaf_index,
                tree_size,
            });
        }
        let reader = self.hash_reader(tree_size);
        inclusion_proof(leaf_index, tree_size, &reader)
            .map_err(|error| ProofError::Tiles(error_text(&error)))
    }

    /// The consistency proof from the tree of `old_size` to that of `new_size`.
    ///
    /// # Errors
    ///
    /// Sizes out of order or beyond the published tree, or unreadable tiles.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(new_size)?;
        let reader = self.hash_reader(new_size);
        consistency_proof(old_size, new_size, &reader)
            .map_err(|error| ProofError::Tiles(error_text(&error)))
    }

    /// A receipt for the leaf `leaf` at `leaf_index`, against the checkpoint
    /// published at `tree_size` (the latest if `None`). The proof is checked
    /// before it is handed out.
    ///
    /// # Errors
    ///
    /// [`ProofError`]: no checkpoint at that size, the leaf not in it, damaged tiles.
    pub fn receipt(
        &self,
        record_id: Option<String>,
        leaf_index: u64,
        leaf: &[u8],
        tree_size: Option<u64>,
    ) -> Result<Receipt, ProofError> {
        let published = match tree_size {
            Some(size) => self.checkpoint_at(size)?,
            None => self.latest()?,
        };
        let tree_size = published.checkpoint.tree_size;
        let proof = self.inclusion_proof(leaf_index, tree_size)?;
        let hash = leaf_hash(leaf);
        verify_inclusion(
            &hash,
            leaf_index,
            tree_size,
            &proof,
            &published.checkpoint.root_hash,
        )
        .map_err(|error| ProofError::Damaged(error.to_string()))?;
        Ok(Receipt::new(
            record_id,
            leaf_index,
            tree_size,
            String::from_utf8(leaf.to_vec()).ok(),
            &hash,
            &proof,
            published.signed,
        ))
    }
}

fn parse_published(bytes: &[u8]) -> Result<Published, ProofError> {
    let note = Note::parse(bytes).map_err(|error| ProofError::BadCheckpoint(error.to_string()))?;
    let checkpoint = Checkpoint::parse(note.text())
        .map_err(|error| ProofError::BadCheckpoint(error.to_string()))?;
    Ok(Published {
        checkpoint,
        signed: note.to_text(),
    })
}
