//! A witness (C2SP tlog-witness, tlog-cosignature): a state directory with
//! its own `cosignature/v1` key and, per log, the latest checkpoint it
//! cosigned. It cosigns a new checkpoint only if the log's signature verifies
//! and a consistency proof shows the new tree extends the one it cosigned;
//! a fork or a rollback is refused and both signed checkpoints are kept as
//! evidence.
//!
//! ```text
//! WITNESS/witness.key                       PRIVATE+KEY+... (mode 0600)
//! WITNESS/witness.vkey                      the witness's public key
//! WITNESS/witness.lock                      held while a checkpoint is decided
//! WITNESS/logs/<origin>.json                log key, latest cosigned size, root, checkpoint
//! WITNESS/evidence/<origin>/<time>-<size>/  cosigned, presented, proof, reason
//! ```

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corridor_tlog::{
    Checkpoint, EMPTY_ROOT, Hash, SignatureType, SignerKey, TileHashReader, VerifierKey,
    WitnessDecision, WitnessedTreeHead, consistency_proof, cosign, decide_add_checkpoint,
};
use serde::{Deserialize, Serialize};

use crate::files::{read_optional, replace_file, sync_directory};
use crate::keys::{KeyError, create_key_files, key_paths, load_signer};
use crate::storage::{CHECKPOINT_FILE, ExactTiles, LogSource};
use crate::verify::{decode_hash, file_name_for_origin};

/// The stem of the witness's key files.
pub const WITNESS_KEY_STEM: &str = "witness";

/// What a witness remembers about one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessedLog {
    /// The log's origin.
    pub origin: String,
    /// The log's verifier key.
    pub log_key: String,
    /// The size of the latest cosigned checkpoint (0 before the first).
    pub tree_size: u64,
    /// Its root, base64.
    pub root_hash: String,
    /// The latest cosigned checkpoint as the log signed it.
    #[serde(default)]
    pub checkpoint: Option<String>,
}

/// Why a witness operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        error: std::io::Error,
    },
    /// A key problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A state file is malformed.
    #[error("{path}: {reason}")]
    BadState {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The witness does not follow this log (C2SP tlog-witness: 404).
    #[error("this witness does not follow log {origin:?}; add it with `corridor witness add-log`")]
    UnknownLog {
        /// The origin.
        origin: String,
    },
    /// The log was added before.
    #[error("this witness already follows log {origin:?}")]
    AlreadyFollowed {
        /// The origin.
        origin: String,
    },
    /// The checkpoint is malformed or its signature does not verify (403).
    #[error("the checkpoint is not validly signed by the log: {0}")]
    BadCheckpoint(String),
    /// The proof starts from another size than the latest cosigned (409).
    #[error(
        "the witness last cosigned size {latest_size}; send a consistency proof from {latest_size}, not from {old_size}"
    )]
    Stale {
        /// The witness's latest size.
        latest_size: u64,
        /// The request's old size.
        old_size: u64,
    },
    /// The old size exceeds the checkpoint's (400).
    #[error("the proof's old size {old_size} exceeds the checkpoint size {checkpoint_size}")]
    OldSizeExceedsCheckpoint {
        /// The old size.
        old_size: u64,
        /// The checkpoint size.
        checkpoint_size: u64,
    },
    /// A fork, rollback or bad proof: refused, evidence kept.
    #[error("refused to cosign: {reason}; evidence kept in {}", evidence.display())]
    Refused {
        /// What the log did.
        reason: String,
        /// Where both signed checkpoints were saved.
        evidence: PathBuf,
    },
    /// Signing failed.
    #[error("cosigning failed: {0}")]
    Sign(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> WitnessError + '_ {
    move |source| WitnessError::Io {
        path: path.display().to_string(),
        error: source,
    }
}

/// A witness's state directory, opened with its key.
#[derive(Debug)]
pub struct Witness {
    directory: PathBuf,
    signer: SignerKey,
}

/// A successful cosigning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The checkpoint with the witness's cosignature line appended.
    pub cosigned_checkpoint: String,
    /// The cosignature line alone.
    pub cosignature_line: String,
    /// The size cosigned before.
    pub previous_size: u64,
    /// The size cosigned now.
    pub tree_size: u64,
}

impl Witness {
    /// Creates a witness state directory with a new key named `name`.
    ///
    /// # Errors
    ///
    /// The key exists already, or cannot be written.
    pub fn init(directory: &Path, name: &str) -> Result<Witness, WitnessError> {
        let signer = create_key_files(
            directory,
            WITNESS_KEY_STEM,
            name,
            SignatureType::CosignatureV1,
        )?;
        let logs = directory.join("logs");
        std::fs::create_dir_all(&logs).map_err(io_error(&logs))?;
        Ok(Witness {
            directory: directory.to_path_buf(),
            signer,
        })
    }

    /// Opens a witness state directory.
    ///
    /// # Errors
    ///
    /// The key cannot be read.
    pub fn open(directory: &Path) -> Result<Witness, WitnessError> {
        let (private_path, _) = key_paths(directory, WITNESS_KEY_STEM);
        let signer = load_signer(&private_path)?;
        if signer.signature_type() != SignatureType::CosignatureV1 {
            return Err(WitnessError::Key(KeyError::WrongType {
                what: private_path.display().to_string(),
                expected: "cosignature/v1 witness",
                found: "Ed25519 note-signing",
            }));
        }
        Ok(Witness {
            directory: directory.to_path_buf(),
            signer,
        })
    }

    /// The witness's public key.
    #[must_use]
    pub fn verifier_key(&self) -> VerifierKey {
        self.signer.verifier_key()
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        self.directory
            .join("logs")
            .join(format!("{}.json", file_name_for_origin(origin)))
    }

    /// Starts following the log whose key is `log_key` (its name is the origin).
    ///
    /// # Errors
    ///
    /// [`WitnessError::AlreadyFollowed`], or a write failure.
    pub fn add_log(&self, log_key: &VerifierKey) -> Result<(), WitnessError> {
        let origin = log_key.name().to_string();
        if self.log_state(&origin)?.is_some() {
            return Err(WitnessError::AlreadyFollowed { origin });
        }
        self.save_state(&WitnessedLog {
            origin,
            log_key: log_key.to_string(),
            tree_size: 0,
            root_hash: BASE64.encode(EMPTY_ROOT),
            checkpoint: None,
        })
    }

    /// What the witness remembers about `origin`.
    ///
    /// # Errors
    ///
    /// The state file cannot be read or parsed.
    pub fn log_state(&self, origin: &str) -> Result<Option<WitnessedLog>, WitnessError> {
        let path = self.state_path(origin);
        let Some(bytes) = read_optional(&path).map_err(io_error(&path))? else {
            return Ok(None);
        };
        let state: WitnessedLog =
            serde_json::from_slice(&bytes).map_err(|error| WitnessError::BadState {
                path: path.display().to_string(),
                reason: error.to_string(),
            })?;
        Ok(Some(state))
    }

    fn save_state(&self, state: &WitnessedLog) -> Result<(), WitnessError> {
        let path = self.state_path(&state.origin);
        let text = serde_json::to_string_pretty(state).map_err(|error| WitnessError::BadState {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        replace_file(&path, format!("{text}\n").as_bytes()).map_err(io_error(&path))?;
        if let Some(parent) = path.parent() {
            sync_directory(parent).map_err(io_error(parent))?;
        }
        Ok(())
    }

    /// Decides on a signed checkpoint with a consistency proof from
    /// `old_size` (C2SP tlog-witness `add-checkpoint`), cosigning it at
    /// `timestamp` (POSIX seconds) if it extends what was cosigned before.
    ///
    /// # Errors
    ///
    /// [`WitnessError::Refused`] for a fork, a rollback or a bad proof (with
    /// the evidence saved); other variants for requests that are merely wrong.
    pub fn cosign(
        &self,
        signed_checkpoint: &[u8],
        old_size: u64,
        proof: &[Hash],
        timestamp: u64,
    ) -> Result<Cosigned, WitnessError> {
        // One decision at a time: two concurrent cosignings from the same
        // state could otherwise leave it at the smaller of two sizes.
        let _lock = self.lock()?;
        let note = corridor_tlog::Note::parse(signed_checkpoint)
            .map_err(|error| WitnessError::BadCheckpoint(error.to_string()))?;
        let unverified = Checkpoint::parse(note.text())
            .map_err(|error| WitnessError::BadCheckpoint(error.to_string()))?;
        let state =
            self.log_state(&unverified.origin)?
                .ok_or_else(|| WitnessError::UnknownLog {
                    origin: unverified.origin.clone(),
                })?;
        let state_path = self.state_path(&state.origin);
        let log_key =
            VerifierKey::parse(&state.log_key).map_err(|error| WitnessError::BadState {
                path: state_path.display().to_string(),
                reason: format!("log_key: {error}"),
            })?;
        let opened = Checkpoint::open(signed_checkpoint, std::slice::from_ref(&log_key))
            .map_err(|error| WitnessError::BadCheckpoint(error.to_string()))?;
        let checkpoint = opened.checkpoint;
        let latest_root = decode_hash(&state.root_hash).ok_or_else(|| WitnessError::BadState {
            path: state_path.display().to_string(),
            reason: "root_hash is not the base64 of 32 bytes".into(),
        })?;
        let latest = WitnessedTreeHead {
            tree_size: state.tree_size,
            root_hash: latest_root,
        };
        let presented = opened.note.to_text();
        if checkpoint.tree_size < latest.tree_size {
            let reason = format!(
                "rollback: the log presents size {} after the witness cosigned size {}",
                checkpoint.tree_size, latest.tree_size
            );
            return Err(self.refuse(&state, &presented, old_size, proof, reason, timestamp));
        }
        let latest_known = (state.tree_size > 0 || state.checkpoint.is_some()).then_some(&latest);
        match decide_add_checkpoint(latest_known, old_size, proof, &checkpoint) {
            WitnessDecision::Accept { new_state } => {
                let line = cosign(&self.signer, note.text(), timestamp)
                    .map_err(|error| WitnessError::Sign(error.to_string()))?;
                let mut cosigned = opened.note.clone();
                cosigned.add_signature(line.clone());
                self.save_state(&WitnessedLog {
                    origin: state.origin.clone(),
                    log_key: state.log_key.clone(),
                    tree_size: new_state.tree_size,
                    root_hash: BASE64.encode(new_state.root_hash),
                    checkpoint: Some(presented),
                })?;
                Ok(Cosigned {
                    cosigned_checkpoint: cosigned.to_text(),
                    cosignature_line: line.to_line(),
                    previous_size: latest.tree_size,
                    tree_size: new_state.tree_size,
                })
            }
            WitnessDecision::OldSizeExceedsCheckpointSize {
                old_size,
                checkpoint_size,
            } => Err(WitnessError::OldSizeExceedsCheckpoint {
                old_size,
                checkpoint_size,
            }),
            WitnessDecision::OldSizeMismatch {
                latest_cosigned_size,
            } => Err(WitnessError::Stale {
                latest_size: latest_cosigned_size,
                old_size,
            }),
            WitnessDecision::RootMismatchAtSameSize { tree_size } => {
                let reason = format!(
                    "fork: the log presents a different root at size {tree_size}, which the witness already cosigned"
                );
                Err(self.refuse(&state, &presented, old_size, proof, reason, timestamp))
            }
            WitnessDecision::InconsistentProof(error) => {
                let reason = format!(
                    "fork: the checkpoint of size {} is not consistent with the cosigned size {} ({error})",
                    checkpoint.tree_size, latest.tree_size
                );
                Err(self.refuse(&state, &presented, old_size, proof, reason, timestamp))
            }
        }
    }

    /// Cosigns the checkpoint a log publishes, computing the consistency
    /// proof from its tiles.
    ///
    /// # Errors
    ///
    /// As [`Witness::cosign`]; also an unreadable checkpoint.
    pub fn cosign_published(
        &self,
        log: &dyn LogSource,
        timestamp: u64,
    ) -> Result<Cosigned, WitnessError> {
        let path = log.describe_path(CHECKPOINT_FILE);
        let signed = log
            .read(CHECKPOINT_FILE)
            .map_err(|error| WitnessError::Io {
                path: path.clone(),
                error,
            })?
            .ok_or_else(|| WitnessError::BadCheckpoint(format!("{path} is missing")))?;
        let note = corridor_tlog::Note::parse(&signed)
            .map_err(|error| WitnessError::BadCheckpoint(error.to_string()))?;
        let checkpoint = Checkpoint::parse(note.text())
            .map_err(|error| WitnessError::BadCheckpoint(error.to_string()))?;
        let state =
            self.log_state(&checkpoint.origin)?
                .ok_or_else(|| WitnessError::UnknownLog {
                    origin: checkpoint.origin.clone(),
                })?;
        let old_size = state.tree_size;
        // A smaller tree has no proof; the decision refuses it as a rollback.
        let proof = if old_size <= checkpoint.tree_size {
            let reader = TileHashReader::new(checkpoint.tree_size, ExactTiles::new(log));
            consistency_proof(old_size, checkpoint.tree_size, &reader).map_err(|error| {
                WitnessError::BadCheckpoint(format!(
                    "the log's tiles cannot give a consistency proof from size {old_size} to {}: {error}",
                    checkpoint.tree_size
                ))
            })?
        } else {
            Vec::new()
        };
        self.cosign(&signed, old_size, &proof, timestamp)
    }

    /// Takes the witness's exclusive lock (`witness.lock`), waiting for it;
    /// released when the file is dropped, or by the kernel if the process dies.
    fn lock(&self) -> Result<std::fs::File, WitnessError> {
        let path = self.directory.join("witness.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        file.lock().map_err(io_error(&path))?;
        Ok(file)
    }

    /// Saves the evidence of a refused checkpoint and builds the error.
    fn refuse(
        &self,
        state: &WitnessedLog,
        presented: &str,
        old_size: u64,
        proof: &[Hash],
        reason: String,
        timestamp: u64,
    ) -> WitnessError {
        let base = self
            .directory
            .join("evidence")
            .join(file_name_for_origin(&state.origin));
        let mut evidence = base.join(format!("{timestamp}-{}", state.tree_size));
        let mut counter = 1;
        while evidence.exists() {
            counter += 1;
            evidence = base.join(format!("{timestamp}-{}-{counter}", state.tree_size));
        }
        let mut proof_text = format!("old {old_size}\n");
        for hash in proof {
            proof_text.push_str(&BASE64.encode(hash));
            proof_text.push('\n');
        }
        let files: [(&str, String); 4] = [
            (
                "cosigned",
                state
                    .checkpoint
                    .clone()
                    .unwrap_or_else(|| "(nothing cosigned yet)\n".to_owned()),
            ),
            ("presented", presented.to_owned()),
            ("proof", proof_text),
            ("reason", format!("{reason}\n")),
        ];
        for (name, contents) in files {
            let path = evidence.join(name);
            if let Err(error) = replace_file(&path, contents.as_bytes()) {
                return WitnessError::Io {
                    path: path.display().to_string(),
                    error,
                };
            }
        }
        let _ = sync_directory(&evidence);
        tracing::warn!(origin = %state.origin, "{reason}");
        WitnessError::Refused { reason, evidence }
    }
}
