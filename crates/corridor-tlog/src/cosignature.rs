//! C2SP tlog-cosignature `cosignature/v1`: timestamped Ed25519 witness cosignatures (signature type 0x04) over checkpoints.
//!
//! Spec: <https://c2sp.org/tlog-cosignature>, sections "Format" and "Ed25519
//! signed message". Cosigner keys are [`SignerKey`]/[`VerifierKey`](crate::VerifierKey) with
//! [`SignatureType::CosignatureV1`]; their key ID is
//! `SHA-256(name || "\n" || 0x04 || public key)[:4]` and their verifier key
//! string is the signed-note vkey with type byte 0x04. A cosignature line's
//! signature bytes are `key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64)`.

use ed25519_dalek::VerifyingKey;

use crate::note::{
    NoteSignError, NoteSignature, SignatureFailure, SignatureType, SignerKey, validate_note_text,
};

/// The header line of the signed message, for domain separation.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1";
/// The largest timestamp a cosignature may carry (C2SP: MUST NOT exceed 2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;
/// Length of a `timestamped_signature` for Ed25519: 8-byte timestamp and 64-byte signature.
pub const TIMESTAMPED_SIGNATURE_LEN: usize = 8 + 64;

/// The message an Ed25519 `cosignature/v1` signs: `cosignature/v1\n`,
/// `time <timestamp>\n`, then the whole checkpoint note text (including any
/// extension lines and its final newline, excluding signature lines).
#[must_use]
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_V1_HEADER}\ntime {timestamp}\n{checkpoint_text}")
}

/// Cosigns a checkpoint note text at `timestamp` (POSIX seconds), returning
/// the signature line to append to the checkpoint or send back from a witness.
///
/// # Errors
///
/// [`NoteSignError::WrongSignatureType`] unless `cosigner` is a `0x04` key,
/// [`NoteSignError::TimestampOutOfRange`] above 2^63 - 1,
/// [`NoteSignError::InvalidText`] for an invalid note text.
pub fn cosign(
    cosigner: &SignerKey,
    checkpoint_text: &str,
    timestamp: u64,
) -> Result<NoteSignature, NoteSignError> {
    if cosigner.signature_type() != SignatureType::CosignatureV1 {
        return Err(NoteSignError::WrongSignatureType(cosigner.signature_type()));
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(NoteSignError::TimestampOutOfRange(timestamp));
    }
    validate_note_text(checkpoint_text)?;
    let signature = cosigner.sign_raw(cosigned_message(checkpoint_text, timestamp).as_bytes());
    let mut timestamped = Vec::with_capacity(TIMESTAMPED_SIGNATURE_LEN);
    timestamped.extend_from_slice(&timestamp.to_be_bytes());
    timestamped.extend_from_slice(&signature);
    Ok(NoteSignature {
        key_name: cosigner.name().clone(),
        key_id: cosigner.key_id(),
        signature: timestamped,
    })
}

/// Splits a `timestamped_signature` (the bytes after the key ID) into its
/// timestamp and Ed25519 signature.
///
/// # Errors
///
/// [`SignatureFailure::WrongLength`] unless it is 72 bytes,
/// [`SignatureFailure::TimestampOutOfRange`] above 2^63 - 1.
pub fn parse_timestamped_signature(bytes: &[u8]) -> Result<(u64, [u8; 64]), SignatureFailure> {
    let bytes: &[u8; TIMESTAMPED_SIGNATURE_LEN] = bytes
        .try_into()
        .map_err(|_| SignatureFailure::WrongLength(bytes.len()))?;
    let (timestamp_bytes, signature_bytes) = bytes.split_at(8);
    let mut timestamp = [0u8; 8];
    timestamp.copy_from_slice(timestamp_bytes);
    let timestamp = u64::from_be_bytes(timestamp);
    if timestamp > MAX_TIMESTAMP {
        return Err(SignatureFailure::TimestampOutOfRange(timestamp));
    }
    let mut signature = [0u8; 64];
    signature.copy_from_slice(signature_bytes);
    Ok((timestamp, signature))
}

/// Verifies a timestamped signature over `checkpoint_text` and returns its timestamp.
pub(crate) fn verify_timestamped_signature(
    public_key: &VerifyingKey,
    checkpoint_text: &str,
    bytes: &[u8],
) -> Result<u64, SignatureFailure> {
    let (timestamp, signature) = parse_timestamped_signature(bytes)?;
    let message = cosigned_message(checkpoint_text, timestamp);
    public_key
        .verify_strict(
            message.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&signature),
        )
        .map_err(|_| SignatureFailure::Invalid)?;
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_message_matches_the_spec_layout() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert_eq!(
            cosigned_message(text, 1_679_315_147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn timestamps_above_i64_max_are_rejected() {
        let mut bytes = [0u8; TIMESTAMPED_SIGNATURE_LEN];
        bytes[0] = 0x80;
        assert_eq!(
            parse_timestamped_signature(&bytes),
            Err(SignatureFailure::TimestampOutOfRange(1 << 63))
        );
        assert_eq!(
            parse_timestamped_signature(&bytes[..71]),
            Err(SignatureFailure::WrongLength(71))
        );
    }
}
