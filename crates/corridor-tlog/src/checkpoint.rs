//! C2SP tlog-checkpoint note text: origin, tree size, root hash and optional extension lines.
//!
//! Spec: <https://c2sp.org/tlog-checkpoint>, section "Note text". A checkpoint
//! is the text of a [signed note](crate::note); signing and verification are
//! the note's, see [`Checkpoint::open`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::hash::Hash;
use crate::note::{
    Note, NoteParseError, NoteTextError, NoteVerifyError, VerifiedSignature, VerifierKey,
};

/// A transparency log checkpoint: the log's identity and its tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line, e.g. `corridor.example/log`.
    pub origin: String,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// RFC 6962 Merkle Tree Hash of the tree.
    pub root_hash: Hash,
    /// Opaque, non-empty extension lines (NOT RECOMMENDED by the spec).
    pub extension_lines: Vec<String>,
}

/// Why a text is not a checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The text breaks the note text rules.
    #[error(transparent)]
    Text(#[from] NoteTextError),
    /// The origin line is empty.
    #[error("the origin line (line 1) is empty")]
    EmptyOrigin,
    /// The text ends before the tree size line.
    #[error("the checkpoint has no tree size line (line 2)")]
    MissingTreeSize,
    /// The tree size is not a canonical decimal `u64`.
    #[error(
        "tree size {text:?} (line 2) is not a decimal without leading zeros that fits in 64 bits"
    )]
    InvalidTreeSize {
        /// The offending line.
        text: String,
    },
    /// The text ends before the root hash line.
    #[error("the checkpoint has no root hash line (line 3)")]
    MissingRootHash,
    /// The root hash is not canonical base64 of 32 bytes.
    #[error("root hash {text:?} (line 3) is not the base64 of 32 bytes")]
    InvalidRootHash {
        /// The offending line.
        text: String,
    },
    /// An extension line is empty.
    #[error("extension line {line_number} is empty")]
    EmptyExtensionLine {
        /// 1-based line number in the checkpoint text.
        line_number: usize,
    },
    /// A field to format would break the note text rules (e.g. an origin with a newline).
    #[error("{field} {value:?} cannot be written into a checkpoint: it must be one non-empty line")]
    UnformattableField {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: String,
    },
}

/// Why a signed checkpoint could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenCheckpointError {
    /// Not a well-formed signed note.
    #[error("malformed signed note: {0}")]
    Note(#[from] NoteParseError),
    /// The signatures do not check out.
    #[error("checkpoint signature verification failed: {0}")]
    Verify(#[from] NoteVerifyError),
    /// The verified text is not a checkpoint.
    #[error("malformed checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
}

/// A checkpoint whose note verified, with the note (for its other signatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    /// The parsed checkpoint body.
    pub checkpoint: Checkpoint,
    /// The whole note, including signatures from unknown keys.
    pub note: Note,
    /// The signatures that verified against the known keys.
    pub verified: Vec<VerifiedSignature>,
}

/// Parses a canonical decimal: digits only, no sign, no leading zero except
/// `0` itself. Tree sizes, tile widths and levels, and the sizes of
/// tlog-witness requests are all written this way.
pub(crate) fn parse_canonical_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

impl Checkpoint {
    /// Parses a checkpoint note text (with its final newline, without signatures).
    ///
    /// # Errors
    ///
    /// [`CheckpointError`] naming the line that is wrong.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        crate::note::validate_note_text(text)?;
        // validate_note_text guarantees a final newline, so the last piece is empty.
        let mut lines = text[..text.len() - 1].split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size_line = lines.next().ok_or(CheckpointError::MissingTreeSize)?;
        let tree_size =
            parse_canonical_decimal(size_line).ok_or_else(|| CheckpointError::InvalidTreeSize {
                text: size_line.to_owned(),
            })?;
        let root_line = lines.next().ok_or(CheckpointError::MissingRootHash)?;
        let root_hash = BASE64
            .decode(root_line)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
            .ok_or_else(|| CheckpointError::InvalidRootHash {
                text: root_line.to_owned(),
            })?;
        let mut extension_lines = Vec::new();
        for (offset, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine {
                    line_number: offset + 4,
                });
            }
            extension_lines.push(line.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            tree_size,
            root_hash,
            extension_lines,
        })
    }

    /// The checkpoint note text, checking that every field is one non-empty
    /// line a parser will read back identically.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::UnformattableField`] for an empty or multi-line
    /// origin or extension line, or one with control characters.
    pub fn to_text(&self) -> Result<String, CheckpointError> {
        let check_line = |field: &'static str, value: &str| {
            if value.is_empty() || value.chars().any(|character| u32::from(character) < 0x20) {
                Err(CheckpointError::UnformattableField {
                    field,
                    value: value.to_owned(),
                })
            } else {
                Ok(())
            }
        };
        check_line("origin", &self.origin)?;
        for line in &self.extension_lines {
            check_line("extension line", line)?;
        }
        Ok(self.to_string())
    }

    /// Parses and verifies a signed checkpoint in one step: the note must
    /// carry a valid signature from at least one of `known_keys` (typically
    /// just the log's key), and its text must be a checkpoint.
    ///
    /// The caller should also check that `checkpoint.origin` is the log it
    /// expects; the spec only RECOMMENDS that the key name match the origin.
    ///
    /// # Errors
    ///
    /// [`OpenCheckpointError`] for a malformed note, failed verification, or a
    /// malformed checkpoint body.
    pub fn open(
        signed_note: &[u8],
        known_keys: &[VerifierKey],
    ) -> Result<OpenedCheckpoint, OpenCheckpointError> {
        let note = Note::parse(signed_note)?;
        let verified = note.verify(known_keys)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        Ok(OpenedCheckpoint {
            checkpoint,
            note,
            verified,
        })
    }
}

impl fmt::Display for Checkpoint {
    /// Writes the note text without validation; prefer [`Checkpoint::to_text`].
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(formatter, "{}", self.origin)?;
        writeln!(formatter, "{}", self.tree_size)?;
        writeln!(formatter, "{}", BASE64.encode(self.root_hash))?;
        for line in &self.extension_lines {
            writeln!(formatter, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn parses_the_spec_example_and_writes_it_back() {
        let checkpoint = Checkpoint::parse(SPEC_EXAMPLE).expect("spec example is valid");
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.tree_size, 20_852_163);
        assert!(checkpoint.extension_lines.is_empty());
        assert_eq!(checkpoint.to_text().as_deref(), Ok(SPEC_EXAMPLE));
    }

    #[test]
    fn rejects_leading_zeros_and_signs_in_the_tree_size() {
        for size in [
            "020852163",
            "+20852163",
            "-1",
            "",
            "1 ",
            "18446744073709551616",
        ] {
            let text = format!("origin\n{size}\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
            assert_eq!(
                Checkpoint::parse(&text),
                Err(CheckpointError::InvalidTreeSize {
                    text: size.to_owned()
                }),
                "{size:?}"
            );
        }
        let zero = Checkpoint::parse("origin\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
            .expect("size zero is written as 0");
        assert_eq!(zero.tree_size, 0);
    }
}
