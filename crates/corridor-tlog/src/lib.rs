//! Transparency-log math and formats (RFC 6962/9162, C2SP tlog-tiles, tlog-checkpoint, signed-note, tlog-cosignature, tlog-witness).
//!
//! Everything here is pure: no I/O, no clock, no randomness, no async. Storage
//! plugs in through [`HashReader`] (stored subtree hashes) and [`TileFetcher`]
//! (tile bytes); time and key seeds are arguments.
//!
//! - [`hash`]: leaf and node hashing (RFC 9162 §2.1.1).
//! - [`tree`]: subtree addressing, roots from stored hashes, the incremental
//!   [`CompactRange`] integrator, and the in-memory [`MemoryTree`].
//! - [`proof`]: inclusion and consistency proofs, generation and verification
//!   (RFC 9162 §2.1.3, §2.1.4).
//! - [`tile`]: C2SP tlog-tiles paths, tile data, entry bundles, [`TileHashReader`].
//! - [`note`]: C2SP signed-note keys, parsing, signing, verification.
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies.
//! - [`cosignature`]: C2SP tlog-cosignature `cosignature/v1`.
//! - [`witness`]: C2SP tlog-witness `add-checkpoint` bodies and decision.

pub mod checkpoint;
pub mod cosignature;
pub mod hash;
pub mod note;
pub mod proof;
pub mod tile;
pub mod tree;
pub mod witness;

pub use checkpoint::{Checkpoint, CheckpointError, OpenCheckpointError, OpenedCheckpoint};
pub use cosignature::{cosign, cosigned_message};
pub use hash::{EMPTY_ROOT, HASH_SIZE, Hash, leaf_hash, node_hash};
pub use note::{
    KeyId, KeyName, KeyNameError, Note, NoteParseError, NoteSignError, NoteSignature,
    NoteTextError, NoteVerifyError, SignatureType, SignerKey, SignerKeyError, VerifiedSignature,
    VerifierKey, VerifierKeyError,
};
pub use proof::{
    ConsistencyProofError, InclusionProofError, ProofGenerationError, consistency_proof,
    consistency_proof_length, inclusion_proof, inclusion_proof_length, verify_consistency,
    verify_inclusion,
};
pub use tile::{
    EntryBundleAddress, EntryBundleError, TileAddress, TileDataError, TileFetcher, TileHashReader,
    TilePathError, TilePosition, TileReadError, TileResource, encode_entry_bundle,
    encode_tile_data, entry_bundles_between, parse_entry_bundle, parse_entry_bundle_exact,
    parse_tile_data, parse_tile_path, tile_for_stored_hash, tile_width, tiles_between,
    tiles_for_size,
};
pub use tree::{
    CompactRange, CompactRangeError, HashReader, HashReaderFn, MemoryTree, MemoryTreeError,
    ReadHashesError, SubtreeAddress, right_edge_addresses, tree_root,
};
pub use witness::{
    AddCheckpointRequest, AddCheckpointRequestError, AddCheckpointResponseError, WitnessDecision,
    WitnessedTreeHead, decide_add_checkpoint, format_add_checkpoint_response, format_conflict_body,
    parse_add_checkpoint_response, parse_conflict_body,
};
