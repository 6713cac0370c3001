//! C2SP tlog-cosignature `cosignature/v1`: timestamped Ed25519 witness cosignatures (signature type 0x04) over checkpoints.
//!
//! Spec: <https://c2sp.org/tlog-cosignature>, sections "Format" and "Ed25519
//! signed message". Cosigner keys are [`SignerKey`]/[`VerifierKey`](crate::VerifierKey) with
//! [`SignatureType::CosignatureV1`]; their key ID is
//! `SHA-256(name || "\n" || 0x04 || public key)[:4]` and their verifier key
//! string is the signed-note vkey with type byte 0x04. A cosignature line's
//! signature bytes are `key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64)`.

use crate::note::{NoteSignError, NoteSignature, SignatureType, SignerKey, validate_note_text};

// The message and the timestamped signature bytes are defined beside the
// note verifier, which checks them; this module's paths keep naming them.
pub use crate::note::{
    COSIGNATURE_V1_HEADER, MAX_TIMESTAMP, TIMESTAMPED_SIGNATURE_LEN, cosigned_message,
    parse_timestamped_signature,
};

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
