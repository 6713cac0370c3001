//! Receipts: a record's inclusion proof bundled with the signed checkpoint it
//! proves against, as JSON, checkable offline with the log's public key.
//!
//! ```json
//! {"record_id": "p-1", "leaf_index": 3, "tree_size": 10,
//!  "leaf": "{\"logged_at\":...}", "leaf_hash": "<base64>", "proof": ["<base64>", ...],
//!  "checkpoint": "<origin>\n10\n<root>\n\n— <origin> <signature>\n"}
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corridor_tlog::{Checkpoint, Hash, VerifierKey, verify_inclusion};
use serde::{Deserialize, Serialize};

use crate::verify::decode_hash;

/// An inclusion proof of one leaf, with the checkpoint it leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The record's id, when the receipt is for a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The leaf's index in the log.
    pub leaf_index: u64,
    /// The size of the tree the proof is for (the checkpoint's).
    pub tree_size: u64,
    /// The leaf itself (the record's canonical JSON), when it is text; a
    /// verifier checks that it hashes to `leaf_hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<String>,
    /// RFC 9162 leaf hash, base64.
    pub leaf_hash: String,
    /// RFC 9162 §2.1.3 inclusion proof, base64 hashes.
    pub proof: Vec<String>,
    /// The signed checkpoint, as published.
    pub checkpoint: String,
}

/// Why a receipt does not check out.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// A field is not what it must be.
    #[error("receipt field {field}: {reason}")]
    Field {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// The checkpoint does not verify with the key.
    #[error("the receipt's checkpoint does not verify: {0}")]
    Checkpoint(String),
    /// The key belongs to another log.
    #[error("the key is named {key_name:?} but the checkpoint is for origin {origin:?}")]
    KeyNameMismatch {
        /// The key's name.
        key_name: String,
        /// The checkpoint's origin.
        origin: String,
    },
    /// The receipt's size is not the checkpoint's.
    #[error("the receipt is for tree size {receipt}, but its checkpoint is for {checkpoint}")]
    SizeMismatch {
        /// The receipt's tree size.
        receipt: u64,
        /// The checkpoint's.
        checkpoint: u64,
    },
    /// The proof does not lead to the checkpoint's root.
    #[error("the inclusion proof does not verify: {0}")]
    Inclusion(String),
}

impl Receipt {
    /// A receipt from its parts.
    #[must_use]
    pub fn new(
        record_id: Option<String>,
        leaf_index: u64,
        tree_size: u64,
        leaf: Option<String>,
        leaf_hash: &Hash,
        proof: &[Hash],
        checkpoint: String,
    ) -> Self {
        Receipt {
            record_id,
            leaf,
            leaf_index,
            tree_size,
            leaf_hash: BASE64.encode(leaf_hash),
            proof: proof.iter().map(|hash| BASE64.encode(hash)).collect(),
            checkpoint,
        }
    }

    /// Checks the receipt: the checkpoint's signature by `log_key` (whose
    /// name must be the origin), its size, and the inclusion of the leaf hash
    /// in its root. Returns the checkpoint.
    ///
    /// # Errors
    ///
    /// [`ReceiptError`] saying which check failed.
    pub fn verify(&self, log_key: &VerifierKey) -> Result<Checkpoint, ReceiptError> {
        let opened = Checkpoint::open(self.checkpoint.as_bytes(), std::slice::from_ref(log_key))
            .map_err(|error| ReceiptError::Checkpoint(error.to_string()))?;
        let checkpoint = opened.checkpoint;
        if checkpoint.origin != log_key.name().as_str() {
            return Err(ReceiptError::KeyNameMismatch {
                key_name: log_key.name().to_string(),
                origin: checkpoint.origin,
            });
        }
        if checkpoint.tree_size != self.tree_size {
            return Err(ReceiptError::SizeMismatch {
                receipt: self.tree_size,
                checkpoint: checkpoint.tree_size,
            });
        }
        let leaf_hash = decode_hash(&self.leaf_hash).ok_or_else(|| ReceiptError::Field {
            field: "leaf_hash".into(),
            reason: "not the base64 of 32 bytes".into(),
        })?;
        if let Some(leaf) = &self.leaf
            && corridor_tlog::leaf_hash(leaf.as_bytes()) != leaf_hash
        {
            return Err(ReceiptError::Field {
                field: "leaf".into(),
                reason: "does not hash to leaf_hash: the record text was altered".into(),
            });
        }
        let proof = self
            .proof
            .iter()
            .enumerate()
            .map(|(position, text)| {
                decode_hash(text).ok_or_else(|| ReceiptError::Field {
                    field: format!("proof[{position}]"),
                    reason: "not the base64 of 32 bytes".into(),
                })
            })
            .collect::<Result<Vec<Hash>, ReceiptError>>()?;
        verify_inclusion(
            &leaf_hash,
            self.leaf_index,
            self.tree_size,
            &proof,
            &checkpoint.root_hash,
        )
        .map_err(|error| ReceiptError::Inclusion(error.to_string()))?;
        Ok(checkpoint)
    }
}
