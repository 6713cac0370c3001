//! The transparency log and where it lives: C2SP tlog-tiles storage,
//! integration of new leaves with crash-safe publication of signed
//! checkpoints, proofs and receipts, full verification from the files alone,
//! and witnesses.
//!
//! The math and formats are `corridor-tlog`'s (pure, no I/O); this crate is
//! where they meet storage, and every file of the log goes through one seam:
//!
//! - [`storage`]: [`LogStorage`] (and its read half, [`LogSource`]), keyed by
//!   C2SP path: create-only immutable files, a durability point, per-size
//!   checkpoint copies that only gain cosignatures, a compare-and-swap of the
//!   checkpoint; tile fetchers over it.
//! - [`open_log`]: the one function that picks a backend from a path or URL:
//!   [`directory`] ([`LogDirectory`], the default), [`object`]
//!   ([`ObjectLog`], an S3-compatible bucket) or [`http`] (read-only);
//!   [`memory`] ([`MemoryLog`], with fault injection) is for tests.
//! - [`copy`]: [`copy_log`], a published log moved to another backend.
//! - [`integrate`](mod@integrate): leaves from a [`LeafSource`] (the store) into
//!   bundles, tiles and a checkpoint, through the storage, checkpoint last.
//! - [`log`]: [`Log`] (integrate, on a schedule, attach cosignatures) and
//!   [`LogReader`] (roots, proofs, receipts from the tiles).
//! - [`verify`]: [`verify_log`], recomputing everything and naming what was altered.
//! - [`receipt`]: [`Receipt`], an inclusion proof with its signed checkpoint.
//! - [`witness`]: [`Witness`], cosigning only checkpoints that extend what it cosigned.
//! - [`keys`]: key files.
//!
//! Invariant: the checkpoint is replaced only after every file it covers is
//! durable. In the terms of the trait: [`LogStorage::replace_checkpoint`] is
//! called only after a [`LogStorage::sync`] that returned `Ok` and followed
//! every [`LogStorage::create`] of a file the new checkpoint covers. So any
//! crash or failed write leaves a verifiable log, and integration resumes.

mod cache;
pub mod copy;
pub mod directory;
pub mod fence;
mod files;
pub mod http;
pub mod integrate;
pub mod keys;
pub mod leaves;
pub mod log;
pub mod memory;
pub mod object;
mod open;
pub mod receipt;
pub mod storage;
mod tiles;
pub mod verify;
pub mod witness;
pub mod witnessing;

pub use copy::{Copied, CopyError, copy_log};
pub use directory::LogDirectory;
pub use fence::{Fence, LeaseFence, Unfenced};
pub use http::HttpLog;
pub use integrate::{
    IntegrateError, Integration, LeafSource, MemoryLeaves, integrate, integrate_fenced,
};
pub use keys::{
    KeyError, LOG_KEY_FILE, LOG_VKEY_FILE, create_key_files, install_key_files, load_signer,
    verifier_key_from_argument,
};
pub use leaves::{ReadLeavesError, read_leaves};
pub use log::{AttachError, IntegrationHealth, Log, LogReader, ProofError, Published};
pub use memory::{LogFault, MemoryLog};
pub use object::{ObjectCredentials, ObjectLog, ObjectLogError, ObjectLogOptions, ObjectRequests};
pub use open::{OpenLogError, open_log, open_log_with};
pub use receipt::{Receipt, ReceiptError};
pub use storage::{
    CHECKPOINT_FILE, ExactTiles, LogSource, LogStorage, LogStorageError, PrefixTiles,
    checkpoint_copy_path, published_sizes,
};
pub use verify::{
    TileHashMismatch, TrustedHead, VerifiedLog, VerifyError, VerifyPolicy, VerifyState,
    file_name_for_origin, verify_log,
};
pub use witness::{Cosigned, Witness, WitnessError, WitnessedLog};
pub use witnessing::{
    WitnessAnswer, WitnessEndpoint, WitnessList, WitnessListError, WitnessOutcome,
    WitnessTransport, answer_add_checkpoint, collect_cosignatures,
};
