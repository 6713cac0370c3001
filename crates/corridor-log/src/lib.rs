//! The transparency log on disk: C2SP tlog-tiles directory, integration of
//! new leaves with crash-safe publication of signed checkpoints, proofs and
//! receipts, full verification from the files alone, and witnesses.
//!
//! The math and formats are `corridor-tlog`'s (pure, no I/O); this crate is
//! where they meet the file system.
//!
//! - [`directory`]: where each resource lives ([`LogDirectory`]) and tile fetchers.
//! - [`integrate`](mod@integrate): leaves from a [`LeafSource`] (the store) into
//!   bundles, tiles and a checkpoint, written temp-fsync-rename, checkpoint last.
//! - [`log`]: [`Log`] (integrate, on a schedule, attach cosignatures) and
//!   [`LogReader`] (roots, proofs, receipts from the tiles).
//! - [`verify`]: [`verify_log`], recomputing everything and naming what was altered.
//! - [`receipt`]: [`Receipt`], an inclusion proof with its signed checkpoint.
//! - [`witness`]: [`Witness`], cosigning only checkpoints that extend what it cosigned.
//! - [`keys`]: key files.
//!
//! Invariant: a checkpoint file is only ever written after every tile and
//! bundle it covers is durable, so any crash leaves a verifiable log.

mod cache;
pub mod directory;
mod files;
pub mod integrate;
pub mod keys;
pub mod leaves;
pub mod log;
pub mod receipt;
mod tiles;
pub mod verify;
pub mod witness;
pub mod witnessing;

pub use directory::{ExactTiles, LogDirectory, PrefixTiles};
pub use integrate::{IntegrateError, Integration, LeafSource, MemoryLeaves, integrate};
pub use keys::{
    KeyError, LOG_KEY_FILE, LOG_VKEY_FILE, create_key_files, load_signer,
    verifier_key_from_argument,
};
pub use leaves::{ReadLeavesError, read_leaves};
pub use log::{AttachError, Log, LogReader, ProofError, Published};
pub use receipt::{Receipt, ReceiptError};
pub use verify::{
    LogSource, TileHashMismatch, TrustedHead, VerifiedLog, VerifyError, VerifyPolicy, VerifyState,
    file_name_for_origin, verify_log,
};
pub use witness::{Cosigned, Witness, WitnessError, WitnessedLog};
pub use witnessing::{
    WitnessAnswer, WitnessEndpoint, WitnessList, WitnessListError, WitnessOutcome,
    WitnessTransport, answer_add_checkpoint, collect_cosignatures,
};
