//! Verifying a whole published log from its files alone: the checkpoint's
//! signatures, every leaf hash recomputed from the entry bundles, every hash
//! tile recomputed from the leaves, the root, and consistency with the tree a
//! previous run verified.
//!
//! Errors name the file, the position in it, and the expected and found hash,
//! so that whoever runs the check can say exactly what was altered.

use std::fmt;
use std::io;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corridor_tlog::tile::FULL_TILE_WIDTH;
use corridor_tlog::{
    Checkpoint, CompactRange, EMPTY_ROOT, EntryBundleAddress, EntryBundleError, Hash,
    SignatureType, SubtreeAddress, TileAddress, TileHashReader, VerifierKey, consistency_proof,
    leaf_hash, parse_entry_bundle_exact, parse_tile_data, tile_width, verify_consistency,
};
use serde::{Deserialize, Serialize};

use crate::files::{read_optional, replace_file, sync_directory};
pub use crate::storage::LogSource;
use crate::storage::{CHECKPOINT_FILE, ExactTiles};
use crate::tiles::TileBuffers;

/// A tree head a verifier trusts: one it verified before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedHead {
    /// Its tree size.
    pub tree_size: u64,
    /// Its root hash.
    pub root_hash: Hash,
}

/// What to check a log against.
#[derive(Debug, Clone)]
pub struct VerifyPolicy<'a> {
    /// The log's public key; its name must be the checkpoint's origin.
    pub log_key: &'a VerifierKey,
    /// Witnesses whose cosignatures count.
    pub witnesses: &'a [VerifierKey],
    /// How many of them must have cosigned the checkpoint.
    pub min_witnesses: usize,
    /// The tree verified last time, which the log must extend.
    pub previous: Option<TrustedHead>,
}

/// A log that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLog {
    /// The verified checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed checkpoint as published.
    pub signed_checkpoint: String,
    /// Names of the witnesses (of those given) whose cosignatures verified.
    pub cosigned_by: Vec<String>,
    /// Entry bundles read.
    pub bundles_checked: u64,
    /// Hash tiles read.
    pub tiles_checked: u64,
}

/// One hash in a tile that differs from what the leaves give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileHashMismatch {
    /// The tile's path.
    pub path: String,
    /// The hash's position in the tile.
    pub position: u16,
    /// The subtree the hash is of.
    pub address: SubtreeAddress,
    /// What the entries give.
    pub expected: Hash,
    /// What the tile holds.
    pub found: Hash,
}

impl fmt::Display for TileHashMismatch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.address.level == 0 {
            let bundle_index = self.address.index / u64::from(FULL_TILE_WIDTH);
            let entry = self.address.index % u64::from(FULL_TILE_WIDTH);
            write!(
                formatter,
                "{}: hash {} (leaf {}) is {}, but entry {entry} of bundle {bundle_index} hashes to {}",
                self.path,
                self.position,
                self.address.index,
                BASE64.encode(self.found),
                BASE64.encode(self.expected)
            )
        } else {
            write!(
                formatter,
                "{}: hash {} (tree level {} index {}) is {}, expected {} from the entries",
                self.path,
                self.position,
                self.address.level,
                self.address.index,
                BASE64.encode(self.found),
                BASE64.encode(self.expected)
            )
        }
    }
}

/// The most hash mismatches one run reports.
const MAX_MISMATCHES: usize = 16;

/// Why a log failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A resource could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The resource.
        path: String,
        /// What the system said.
        error: io::Error,
    },
    /// There is no checkpoint at all.
    #[error(
        "{log} has no checkpoint file: it is not a published log (or nothing was published yet)"
    )]
    NoCheckpoint {
        /// The log's directory or URL.
        log: String,
    },
    /// A resource the checkpoint needs is missing.
    #[error("{path} is missing (the checkpoint's tree of {tree_size} leaves needs it)")]
    Missing {
        /// The resource.
        path: String,
        /// The checkpoint's size.
        tree_size: u64,
    },
    /// The checkpoint does not open with the log key.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The key's name is not the checkpoint's origin.
    #[error(
        "the key is named {key_name:?} but the checkpoint is for origin {origin:?}: this key is not this log's"
    )]
    KeyNameMismatch {
        /// The key's name.
        key_name: String,
        /// The checkpoint's origin.
        origin: String,
    },
    /// Too few trusted witnesses cosigned.
    #[error(
        "checkpoint has {verified} valid cosignature(s) from the {given} witness key(s) given ({names}); at least {required} required"
    )]
    WitnessQuorum {
        /// Valid cosignatures from given witnesses.
        verified: usize,
        /// Witness keys given.
        given: usize,
        /// Who cosigned.
        names: String,
        /// The minimum.
        required: usize,
    },
    /// The log is smaller than a tree verified before.
    #[error(
        "rollback: the checkpoint is for {tree_size} leaves (root {root}), but {previous_size} leaves (root {previous_root}) were verified before; a log never shrinks"
    )]
    Rollback {
        /// The checkpoint's size.
        tree_size: u64,
        /// Its root, base64.
        root: String,
        /// The size verified before.
        previous_size: u64,
        /// Its root, base64.
        previous_root: String,
    },
    /// The log does not extend the tree verified before.
    #[error(
        "fork: the first {previous_size} leaves of the log now hash to {found_root}, but {previous_root} was verified before; the log's history was rewritten"
    )]
    Fork {
        /// The size verified before.
        previous_size: u64,
        /// Its root then, base64.
        previous_root: String,
        /// Its root now, base64.
        found_root: String,
    },
    /// The consistency proof computed from the tiles does not verify.
    #[error(
        "the consistency proof from size {previous_size} to {tree_size} does not verify: {reason}"
    )]
    Inconsistent {
        /// Old size.
        previous_size: u64,
        /// New size.
        tree_size: u64,
        /// Why.
        reason: String,
    },
    /// An entry bundle is malformed (truncated, entries dropped or added).
    #[error("{path} (leaves {first_leaf}..{end_leaf}): {error}")]
    Bundle {
        /// The bundle's path.
        path: String,
        /// Its first leaf.
        first_leaf: u64,
        /// One past its last leaf.
        end_leaf: u64,
        /// What is wrong.
        error: EntryBundleError,
    },
    /// A tile has the wrong length.
    #[error("{path} is {found} bytes; a tile of {width} hashes is {expected}")]
    TileLength {
        /// The tile's path.
        path: String,
        /// Its width.
        width: u16,
        /// The right length.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// Tile hashes differ from the hashes of the entries.
    #[error("{}", tampered_message(mismatches, *entries_reproduce_root))]
    Tampered {
        /// The differences, at most 16.
        mismatches: Vec<TileHashMismatch>,
        /// Whether the entry bundles alone reproduce the signed root (then the
        /// tiles were altered; otherwise the entries were).
        entries_reproduce_root: bool,
    },
    /// The entries give another root than the checkpoint's.
    #[error(
        "the entries and tiles agree but give root {recomputed}, not the signed {signed}: the log content differs from what was signed"
    )]
    RootMismatch {
        /// The signed root, base64.
        signed: String,
        /// The recomputed root, base64.
        recomputed: String,
    },
}

fn tampered_message(mismatches: &[TileHashMismatch], entries_reproduce_root: bool) -> String {
    let mut message = if entries_reproduce_root {
        "tile altered: the entry bundles reproduce the signed root, but these tile hashes differ from it:".to_owned()
    } else {
        "entries altered: the entry bundles no longer reproduce the signed root, and these leaf hashes differ from the tiles:".to_owned()
    };
    for mismatch in mismatches {
        message.push_str("\n  ");
        message.push_str(&mismatch.to_string());
    }
    message
}

fn base64(hash: &Hash) -> String {
    BASE64.encode(hash)
}

/// Opens the checkpoint with the log key and the witness keys, and checks
/// the origin and the witness quorum.
///
/// # Errors
///
/// [`VerifyError::Checkpoint`], [`VerifyError::KeyNameMismatch`] or
/// [`VerifyError::WitnessQuorum`].
pub fn open_checkpoint(
    signed: &[u8],
    policy: &VerifyPolicy<'_>,
) -> Result<(Checkpoint, Vec<String>), VerifyError> {
    let mut known = vec![policy.log_key.clone()];
    known.extend(policy.witnesses.iter().cloned());
    let opened = Checkpoint::open(signed, &known)
        .map_err(|error| VerifyError::Checkpoint(error.to_string()))?;
    let log_signed = opened.verified.iter().any(|signature| {
        signature.key_name == *policy.log_key.name() && signature.key_id == policy.log_key.key_id()
    });
    if !log_signed {
        return Err(VerifyError::Checkpoint(format!(
            "it carries no signature by the log key {} ({})",
            policy.log_key.name(),
            policy.log_key.key_id()
        )));
    }
    if opened.checkpoint.origin != policy.log_key.name().as_str() {
        return Err(VerifyError::KeyNameMismatch {
            key_name: policy.log_key.name().to_string(),
            origin: opened.checkpoint.origin,
        });
    }
    let cosigned_by: Vec<String> = opened
        .verified
        .iter()
        .filter(|signature| signature.signature_type == SignatureType::CosignatureV1)
        .filter(|signature| {
            policy.witnesses.iter().any(|witness| {
                witness.name() == &signature.key_name && witness.key_id() == signature.key_id
            })
        })
        .map(|signature| signature.key_name.to_string())
        .collect();
    if cosigned_by.len() < policy.min_witnesses {
        return Err(VerifyError::WitnessQuorum {
            verified: cosigned_by.len(),
            given: policy.witnesses.len(),
            names: if cosigned_by.is_empty() {
                "none".to_owned()
            } else {
                cosigned_by.join(", ")
            },
            required: policy.min_witnesses,
        });
    }
    Ok((opened.checkpoint, cosigned_by))
}

/// Verifies everything a log publishes; see the module documentation.
///
/// # Errors
///
/// The first [`VerifyError`] found (for altered hashes: up to 16 of them).
pub fn verify_log(
    source: &dyn LogSource,
    policy: &VerifyPolicy<'_>,
) -> Result<VerifiedLog, VerifyError> {
    let signed = match source.read(CHECKPOINT_FILE) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(VerifyError::NoCheckpoint {
                log: source.describe(),
            });
        }
        Err(error) => {
            return Err(VerifyError::Io {
                path: "checkpoint".into(),
                error,
            });
        }
    };
    let (checkpoint, cosigned_by) = open_checkpoint(&signed, policy)?;
    let tree_size = checkpoint.tree_size;
    if let Some(previous) = &policy.previous {
        if tree_size < previous.tree_size {
            return Err(VerifyError::Rollback {
                tree_size,
                root: base64(&checkpoint.root_hash),
                previous_size: previous.tree_size,
                previous_root: base64(&previous.root_hash),
            });
        }
        if tree_size == previous.tree_size && checkpoint.root_hash != previous.root_hash {
            return Err(VerifyError::Fork {
                previous_size: previous.tree_size,
                previous_root: base64(&previous.root_hash),
                found_root: base64(&checkpoint.root_hash),
            });
        }
    }

    let mut range = CompactRange::new();
    let mut buffers = TileBuffers::default();
    let mut completed: Vec<(TileAddress, Vec<Hash>)> = Vec::new();
    let mut mismatches: Vec<TileHashMismatch> = Vec::new();
    let mut previous_root_recomputed: Option<Hash> = match policy.previous {
        Some(previous) if previous.tree_size == 0 => Some(EMPTY_ROOT),
        _ => None,
    };
    let mut bundles_checked = 0_u64;
    let mut tiles_checked = 0_u64;
    let bundle_count = tree_size.div_ceil(u64::from(FULL_TILE_WIDTH));
    for bundle_index in 0..bundle_count {
        let Some(width) = tile_width(0, bundle_index, tree_size) else {
            break;
        };
        let bundle = EntryBundleAddress {
            index: bundle_index,
            width,
        };
        let path = bundle.path();
        let bytes = read_required(source, &path, tree_size)?;
        let first_leaf = bundle_index * u64::from(FULL_TILE_WIDTH);
        let entries =
            parse_entry_bundle_exact(&bundle, &bytes).map_err(|error| VerifyError::Bundle {
                path: path.clone(),
                first_leaf,
                end_leaf: first_leaf + u64::from(width),
                error,
            })?;
        bundles_checked += 1;
        for entry in entries {
            range
                .append(leaf_hash(entry), &mut |address, hash| {
                    buffers.push(address, hash, &mut completed);
                })
                .map_err(|error| VerifyError::Checkpoint(error.to_string()))?;
            if let Some(previous) = &policy.previous
                && range.tree_size() == previous.tree_size
            {
                previous_root_recomputed = Some(range.root());
            }
            for (tile, expected) in completed.drain(..) {
                compare_tile(source, &tile, &expected, tree_size, &mut mismatches)?;
                tiles_checked += 1;
            }
        }
    }
    let partial: Vec<(TileAddress, Vec<Hash>)> = buffers
        .all_partial_tiles()
        .map(|(tile, hashes)| (tile, hashes.to_vec()))
        .collect();
    for (tile, expected) in partial {
        compare_tile(source, &tile, &expected, tree_size, &mut mismatches)?;
        tiles_checked += 1;
    }

    let recomputed = if tree_size == 0 {
        EMPTY_ROOT
    } else {
        range.root()
    };
    let entries_reproduce_root = recomputed == checkpoint.root_hash;
    if !mismatches.is_empty() {
        return Err(VerifyError::Tampered {
            mismatches,
            entries_reproduce_root,
        });
    }
    if !entries_reproduce_root {
        return Err(VerifyError::RootMismatch {
            signed: base64(&checkpoint.root_hash),
            recomputed: base64(&recomputed),
        });
    }

    if let Some(previous) = &policy.previous {
        // The leaves are now known to be the signed ones, so the root of
        // their first `previous.tree_size` is the old tree's root if the log
        // only grew.
        let found = previous_root_recomputed.unwrap_or(recomputed);
        if found != previous.root_hash {
            return Err(VerifyError::Fork {
                previous_size: previous.tree_size,
                previous_root: base64(&previous.root_hash),
                found_root: base64(&found),
            });
        }
        // And the proof a light client would be given checks out too.
        let reader = TileHashReader::new(tree_size, ExactTiles::new(source));
        let inconsistent = |reason: String| VerifyError::Inconsistent {
            previous_size: previous.tree_size,
            tree_size,
            reason,
        };
        let proof = consistency_proof(previous.tree_size, tree_size, &reader)
            .map_err(|error| inconsistent(error.to_string()))?;
        verify_consistency(
            previous.tree_size,
            tree_size,
            &previous.root_hash,
            &checkpoint.root_hash,
            &proof,
        )
        .map_err(|error| inconsistent(error.to_string()))?;
    }

    Ok(VerifiedLog {
        checkpoint,
        signed_checkpoint: String::from_utf8_lossy(&signed).into_owned(),
        cosigned_by,
        bundles_checked,
        tiles_checked,
    })
}

fn read_required(
    source: &dyn LogSource,
    path: &str,
    tree_size: u64,
) -> Result<Vec<u8>, VerifyError> {
    match source.read(path) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(VerifyError::Missing {
            path: path.to_owned(),
            tree_size,
        }),
        Err(error) => Err(VerifyError::Io {
            path: path.to_owned(),
            error,
        }),
    }
}

fn compare_tile(
    source: &dyn LogSource,
    tile: &TileAddress,
    expected: &[Hash],
    tree_size: u64,
    mismatches: &mut Vec<TileHashMismatch>,
) -> Result<(), VerifyError> {
    let path = tile.path();
    let bytes = read_required(source, &path, tree_size)?;
    let found = parse_tile_data(tile, &bytes).map_err(|_| VerifyError::TileLength {
        path: path.clone(),
        width: tile.width,
        expected: usize::from(tile.width) * corridor_tlog::HASH_SIZE,
        found: bytes.len(),
    })?;
    for (position, (expected_hash, found_hash)) in expected.iter().zip(&found).enumerate() {
        if expected_hash != found_hash && mismatches.len() < MAX_MISMATCHES {
            let position = position as u16;
            mismatches.push(TileHashMismatch {
                path: path.clone(),
                position,
                address: tile
                    .hash_address(position)
                    .unwrap_or(SubtreeAddress { level: 0, index: 0 }),
                expected: *expected_hash,
                found: *found_hash,
            });
        }
    }
    Ok(())
}

/// What `corridor verify` remembers about a log between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyState {
    /// The log's origin.
    pub origin: String,
    /// The log key it was verified with.
    pub log_key: String,
    /// The verified tree size.
    pub tree_size: u64,
    /// The verified root, base64.
    pub root_hash: String,
    /// The verified signed checkpoint.
    pub checkpoint: String,
}

/// Why a state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// It could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        error: io::Error,
    },
    /// It is not a state file.
    #[error("{path} is not a verify state file: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl VerifyState {
    /// The trusted head this state records.
    ///
    /// # Errors
    ///
    /// [`StateError::Malformed`] if the root is not base64 of 32 bytes.
    pub fn trusted_head(&self, path: &Path) -> Result<TrustedHead, StateError> {
        let root_hash = decode_hash(&self.root_hash).ok_or_else(|| StateError::Malformed {
            path: path.display().to_string(),
            reason: format!(
                "root_hash {:?} is not the base64 of 32 bytes",
                self.root_hash
            ),
        })?;
        Ok(TrustedHead {
            tree_size: self.tree_size,
            root_hash,
        })
    }

    /// Reads a state file, `Ok(None)` if there is none yet.
    ///
    /// # Errors
    ///
    /// [`StateError`] if it cannot be read or parsed.
    pub fn load(path: &Path) -> Result<Option<VerifyState>, StateError> {
        let bytes = read_optional(path).map_err(|source| StateError::Io {
            path: path.display().to_string(),
            error: source,
        })?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| StateError::Malformed {
                path: path.display().to_string(),
                reason: error.to_string(),
            })
    }

    /// Writes the state file atomically.
    ///
    /// # Errors
    ///
    /// [`StateError::Io`] if it cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io_error = |source| StateError::Io {
            path: path.display().to_string(),
            error: source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|error| StateError::Malformed {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        replace_file(path, format!("{text}\n").as_bytes()).map_err(io_error)?;
        if let Some(parent) = path.parent() {
            sync_directory(parent).map_err(io_error)?;
        }
        Ok(())
    }
}

/// Decodes base64 of exactly 32 bytes.
#[must_use]
pub fn decode_hash(text: &str) -> Option<Hash> {
    let bytes = BASE64.decode(text).ok()?;
    Hash::try_from(bytes.as_slice()).ok()
}

/// A file name for per-origin state: the origin with every character outside
/// `A-Z a-z 0-9 . _ -` replaced by `_`.
#[must_use]
pub fn file_name_for_origin(origin: &str) -> String {
    origin
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-') {
                character
            } else {
                '_'
            }
        })
        .collect()
}
