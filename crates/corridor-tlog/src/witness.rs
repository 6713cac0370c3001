//! C2SP tlog-witness `add-checkpoint`: request and response bodies, and the witness's accept/conflict/reject decision as a pure function.
//!
//! Spec: <https://c2sp.org/tlog-witness>, section "add-checkpoint". HTTP
//! itself is left to the server crate; the [`WitnessDecision`] variants name
//! the status code the spec assigns to each outcome.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::Checkpoint;
use crate::checkpoint::parse_canonical_decimal;
use crate::hash::Hash;
use crate::note::{NoteSignature, SignatureLineError};
use crate::proof::{ConsistencyProofError, verify_consistency};

/// The most consistency proof lines a request may carry (C2SP: "MUST NOT send more than 63").
pub const MAX_CONSISTENCY_PROOF_LINES: usize = 63;
/// The most cosignature lines [`parse_add_checkpoint_response`] accepts.
pub const MAX_RESPONSE_SIGNATURES: usize = 100;

/// An `add-checkpoint` request body: old size, consistency proof, signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the checkpoint the client believes the witness last cosigned (0 if none).
    pub old_size: u64,
    /// RFC 6962 consistency proof from `old_size` to the checkpoint's size; empty if `old_size` is 0.
    pub consistency_proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim; verify it with [`Checkpoint::open`].
    pub signed_checkpoint: String,
}

/// Why an `add-checkpoint` request body is malformed (a 400 Bad Request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddCheckpointRequestError {
    /// The body is not UTF-8.
    #[error("request body is not valid UTF-8")]
    NotUtf8,
    /// The first line is not `old <size>` with a canonical decimal.
    #[error("first line {line:?} is not \"old <size>\" with a decimal size without leading zeros")]
    InvalidOldSizeLine {
        /// The offending line.
        line: String,
    },
    /// A proof line is not base64 of a 32-byte hash.
    #[error("consistency proof line {line_number} {line:?} is not the base64 of a 32-byte hash")]
    InvalidProofLine {
        /// 1-based number of the line in the body.
        line_number: usize,
        /// The offending line.
        line: String,
    },
    /// More than 63 proof lines.
    #[error("more than {MAX_CONSISTENCY_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// No empty line separates the proof from the checkpoint.
    #[error("no empty line before the checkpoint")]
    MissingSeparator,
    /// Nothing follows the empty line.
    #[error("no checkpoint after the empty line")]
    MissingCheckpoint,
}

impl AddCheckpointRequest {
    /// Parses a request body.
    ///
    /// # Errors
    ///
    /// [`AddCheckpointRequestError`] naming the malformed line.
    pub fn parse(body: &[u8]) -> Result<Self, AddCheckpointRequestError> {
        let body = std::str::from_utf8(body).map_err(|_| AddCheckpointRequestError::NotUtf8)?;
        let mut rest = body;
        let mut next_line = || -> Option<&str> {
            let (line, remaining) = rest.split_once('\n')?;
            rest = remaining;
            Some(line)
        };
        let first = next_line().ok_or(AddCheckpointRequestError::MissingSeparator)?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_canonical_decimal)
            .ok_or_else(|| AddCheckpointRequestError::InvalidOldSizeLine {
                line: first.to_owned(),
            })?;
        let mut consistency_proof = Vec::new();
        let mut line_number = 1;
        loop {
            let line = next_line().ok_or(AddCheckpointRequestError::MissingSeparator)?;
            line_number += 1;
            if line.is_empty() {
                break;
            }
            if consistency_proof.len() == MAX_CONSISTENCY_PROOF_LINES {
                return Err(AddCheckpointRequestError::TooManyProofLines);
            }
            let hash = BASE64
                .decode(line)
                .ok()
                .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
                .ok_or_else(|| AddCheckpointRequestError::InvalidProofLine {
                    line_number,
                    line: line.to_owned(),
                })?;
            consistency_proof.push(hash);
        }
        if rest.is_empty() {
            return Err(AddCheckpointRequestError::MissingCheckpoint);
        }
        Ok(AddCheckpointRequest {
            old_size,
            consistency_proof,
            signed_checkpoint: rest.to_owned(),
        })
    }

    /// The request body.
    #[must_use]
    pub fn to_body(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for AddCheckpointRequest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(formatter, "old {}", self.old_size)?;
        for hash in &self.consistency_proof {
            writeln!(formatter, "{}", BASE64.encode(hash))?;
        }
        writeln!(formatter)?;
        formatter.write_str(&self.signed_checkpoint)
    }
}

/// Why an `add-checkpoint` response body is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddCheckpointResponseError {
    /// The body is not UTF-8.
    #[error("response body is not valid UTF-8")]
    NotUtf8,
    /// The body has no lines, or does not end in a newline.
    #[error("response body must be one or more newline-terminated signature lines")]
    Empty,
    /// Too many lines.
    #[error("more than {MAX_RESPONSE_SIGNATURES} cosignature lines")]
    TooManySignatures,
    /// A line is not a note signature line.
    #[error("response line {line_number}: {error}")]
    SignatureLine {
        /// 1-based line number.
        line_number: usize,
        /// What is wrong with it.
        #[source]
        error: SignatureLineError,
    },
}

/// Formats a `200` response body: one note signature line per cosignature.
#[must_use]
pub fn format_add_checkpoint_response(cosignatures: &[NoteSignature]) -> String {
    cosignatures.iter().map(NoteSignature::to_line).collect()
}

/// Parses a `200` response body into its signature lines. Verify them by
/// adding them to the checkpoint note and calling [`crate::Note::verify`]
/// with the witness keys.
///
/// # Errors
///
/// [`AddCheckpointResponseError`] naming the malformed line.
pub fn parse_add_checkpoint_response(
    body: &[u8],
) -> Result<Vec<NoteSignature>, AddCheckpointResponseError> {
    let body = std::str::from_utf8(body).map_err(|_| AddCheckpointResponseError::NotUtf8)?;
    let Some(lines) = body.strip_suffix('\n') else {
        return Err(AddCheckpointResponseError::Empty);
    };
    let mut signatures = Vec::new();
    for (position, line) in lines.split('\n').enumerate() {
        if signatures.len() == MAX_RESPONSE_SIGNATURES {
            return Err(AddCheckpointResponseError::TooManySignatures);
        }
        let signature = NoteSignature::parse_line(line).map_err(|error| {
            AddCheckpointResponseError::SignatureLine {
                line_number: position + 1,
                error,
            }
        })?;
        signatures.push(signature);
    }
    Ok(signatures)
}

/// Formats a `409 Conflict` body (`text/x.tlog.size`): the latest cosigned size and a newline.
#[must_use]
pub fn format_conflict_body(latest_cosigned_size: u64) -> String {
    format!("{latest_cosigned_size}\n")
}

/// Parses a `409 Conflict` body into the witness's latest cosigned size.
///
/// Returns `None` unless the body is a canonical decimal followed by one newline.
#[must_use]
pub fn parse_conflict_body(body: &[u8]) -> Option<u64> {
    let body = std::str::from_utf8(body).ok()?;
    parse_canonical_decimal(body.strip_suffix('\n')?)
}

/// What a witness remembers about one log: the latest checkpoint it cosigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessedTreeHead {
    /// Tree size of the latest cosigned checkpoint.
    pub tree_size: u64,
    /// Its root hash.
    pub root_hash: Hash,
}

/// The witness's verdict on an `add-checkpoint` request whose checkpoint
/// signature already verified against the log's key (404/403 are decided
/// before this, from the origin and the signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessDecision {
    /// `200`: cosign, and atomically persist `new_state` as the latest cosigned checkpoint.
    Accept {
        /// The state to persist.
        new_state: WitnessedTreeHead,
    },
    /// `400`: the old size is larger than the checkpoint size.
    OldSizeExceedsCheckpointSize {
        /// The request's old size.
        old_size: u64,
        /// The checkpoint's size.
        checkpoint_size: u64,
    },
    /// `409` with body [`format_conflict_body`]`(latest_cosigned_size)`: the
    /// client's old size is not the witness's latest cosigned size.
    OldSizeMismatch {
        /// What the witness last cosigned (0 if nothing).
        latest_cosigned_size: u64,
    },
    /// `409`: same size as the latest cosigned checkpoint but a different root:
    /// evidence of a split view, worth logging.
    RootMismatchAtSameSize {
        /// The common size.
        tree_size: u64,
    },
    /// `422`: the consistency proof does not verify; the witness MAY log the
    /// request as possible evidence of log misbehaviour, and MUST NOT cosign.
    InconsistentProof(ConsistencyProofError),
}

/// Decides an `add-checkpoint` request per C2SP tlog-witness, given what the
/// witness last cosigned for the checkpoint's origin (`None` if never).
///
/// The checks run in the spec's order: old size not above the checkpoint
/// size (400); old size equal to the latest cosigned size (409); at equal
/// sizes, equal roots (409); then the consistency proof, which must be empty
/// from size 0 (422).
#[must_use]
pub fn decide_add_checkpoint(
    latest_cosigned: Option<&WitnessedTreeHead>,
    old_size: u64,
    consistency_proof: &[Hash],
    checkpoint: &Checkpoint,
) -> WitnessDecision {
    if old_size > checkpoint.tree_size {
        return WitnessDecision::OldSizeExceedsCheckpointSize {
            old_size,
            checkpoint_size: checkpoint.tree_size,
        };
    }
    let latest = latest_cosigned.copied().unwrap_or(WitnessedTreeHead {
        tree_size: 0,
        root_hash: crate::hash::EMPTY_ROOT,
    });
    if old_size != latest.tree_size {
        return WitnessDecision::OldSizeMismatch {
            latest_cosigned_size: latest.tree_size,
        };
    }
    if old_size == checkpoint.tree_size && latest.root_hash != checkpoint.root_hash {
        return WitnessDecision::RootMismatchAtSameSize {
            tree_size: old_size,
        };
    }
    match verify_consistency(
        old_size,
        checkpoint.tree_size,
        &latest.root_hash,
        &checkpoint.root_hash,
        consistency_proof,
    ) {
        Ok(()) => WitnessDecision::Accept {
            new_state: WitnessedTreeHead {
                tree_size: checkpoint.tree_size,
                root_hash: checkpoint.root_hash,
            },
        },
        Err(error) => WitnessDecision::InconsistentProof(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_REQUEST: &str = "old 20852014\n\
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
\n\
example.com/behind-the-sofa\n\
20852163\n\
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
\n\
\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
\u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";

    #[test]
    fn parses_the_spec_request_and_writes_it_back() {
        let request = AddCheckpointRequest::parse(SPEC_REQUEST.as_bytes()).expect("spec example");
        assert_eq!(request.old_size, 20_852_014);
        assert_eq!(request.consistency_proof.len(), 4);
        assert!(
            request
                .signed_checkpoint
                .starts_with("example.com/behind-the-sofa\n20852163\n")
        );
        assert_eq!(request.to_body(), SPEC_REQUEST);
    }

    #[test]
    fn conflict_body_round_trips() {
        assert_eq!(format_conflict_body(20_852_014), "20852014\n");
        assert_eq!(parse_conflict_body(b"20852014\n"), Some(20_852_014));
        assert_eq!(parse_conflict_body(b"020852014\n"), None);
        assert_eq!(parse_conflict_body(b"20852014"), None);
    }
}
