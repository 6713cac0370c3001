//! A record's canonical byte form, the leaf the transparency log commits to,
//! and the salted commitment that stands in it for the private part.
//!
//! Leaf = RFC 8785 canonical JSON of
//! `{"v": 1, "record": <public record>, "commitment": <hex>?, "observer_sig": <...>?, "logged_at": <RFC 3339 UTC>}`.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::canonical::{CanonicalError, to_canonical_vec, write_canonical};
#[cfg(doc)]
use crate::record::Record;

/// The leaf format version written into every leaf's `v`.
pub const LEAF_VERSION: u64 = 1;

/// Domain separation for commitments, so a commitment can never be confused
/// with any other SHA-256 the system computes.
const COMMITMENT_DOMAIN: &[u8] = b"corridor/private-commitment/v1\n";
const DIGEST_DOMAIN: &[u8] = b"corridor/content-digest/v1\n";

/// A salted SHA-256 commitment to a private part: publishing it reveals
/// nothing about the part, yet whoever holds part and salt can show they match.
pub fn commitment(
    salt: &[u8; 32],
    private: &Map<String, Value>,
) -> Result<[u8; 32], CanonicalError> {
    let mut hasher = Sha256::new();
    hasher.update(COMMITMENT_DOMAIN);
    hasher.update(salt);
    hasher.update(to_canonical_vec(&Value::Object(private.clone()))?);
    Ok(hasher.finalize().into())
}

/// A keyed digest of what was submitted (public and private), used to tell a
/// retry of the same record from a different record under a reused id.
///
/// Keyed with a per-store secret so that, once a private part is erased,
/// the digest cannot be used to confirm a guess of what it held.
pub fn content_digest(
    store_secret: &[u8],
    public: &Value,
    private: Option<&Map<String, Value>>,
) -> Result<[u8; 32], CanonicalError> {
    let mut bytes = Vec::with_capacity(512);
    write_canonical(public, &mut bytes)?;
    bytes.push(b'\n');
    if let Some(private) = private {
        write_canonical(&Value::Object(private.clone()), &mut bytes)?;
    }
    let mut hasher = Sha256::new();
    hasher.update(DIGEST_DOMAIN);
    hasher.update((store_secret.len() as u64).to_be_bytes());
    hasher.update(store_secret);
    hasher.update(&bytes);
    Ok(hasher.finalize().into())
}

/// Builds a record's leaf bytes from its public JSON ([`Record::to_public_json`]).
///
/// # Errors
/// Only if the record holds a number JSON cannot carry exactly (validation
/// rules out such numbers, so this signals a bug, not bad input).
pub fn leaf_bytes(
    public_record: Value,
    commitment: Option<&[u8; 32]>,
    observer_signature: Option<&Value>,
    logged_at: &str,
) -> Result<Vec<u8>, CanonicalError> {
    let mut leaf = Map::new();
    leaf.insert("v".into(), Value::from(LEAF_VERSION));
    leaf.insert("record".into(), public_record);
    if let Some(commitment) = commitment {
        leaf.insert("commitment".into(), Value::from(hex::encode(commitment)));
    }
    if let Some(signature) = observer_signature {
        leaf.insert("observer_sig".into(), signature.clone());
    }
    leaf.insert("logged_at".into(), Value::from(logged_at));
    to_canonical_vec(&Value::Object(leaf))
}

/// Formats the store's acceptance time as it appears in leaves: UTC,
/// millisecond precision.
pub fn format_logged_at(timestamp: jiff::Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
