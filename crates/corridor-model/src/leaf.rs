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
    content_digest_of_canonical(store_secret, &to_canonical_vec(public)?, private)
}

/// [`content_digest`] of a public record already in canonical form, so the
/// write path canonicalizes each record once.
///
/// # Errors
/// A private value JSON cannot carry exactly.
pub fn content_digest_of_canonical(
    store_secret: &[u8],
    public_canonical: &[u8],
    private: Option<&Map<String, Value>>,
) -> Result<[u8; 32], CanonicalError> {
    let mut hasher = Sha256::new();
    hasher.update(DIGEST_DOMAIN);
    hasher.update((store_secret.len() as u64).to_be_bytes());
    hasher.update(store_secret);
    hasher.update(public_canonical);
    hasher.update(b"\n");
    if let Some(private) = private {
        hasher.update(to_canonical_vec(&Value::Object(private.clone()))?);
    }
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
    leaf_of_canonical_record(
        &to_canonical_vec(&public_record)?,
        commitment,
        observer_signature,
        logged_at,
    )
}

/// Builds leaf bytes around a public record already in canonical form.
///
/// The leaf's keys, in RFC 8785 order, are `commitment`, `logged_at`,
/// `observer_sig`, `record`, `v`; a canonical object embedded as a member
/// value stays canonical, so the result equals canonicalizing the whole leaf
/// (a unit test checks this).
///
/// # Errors
/// Only for an observer signature value JSON cannot carry exactly.
pub fn leaf_of_canonical_record(
    public_canonical: &[u8],
    commitment: Option<&[u8; 32]>,
    observer_signature: Option<&Value>,
    logged_at: &str,
) -> Result<Vec<u8>, CanonicalError> {
    let mut leaf = Vec::with_capacity(public_canonical.len() + 160);
    leaf.push(b'{');
    if let Some(commitment) = commitment {
        leaf.extend_from_slice(b"\"commitment\":\"");
        leaf.extend_from_slice(hex::encode(commitment).as_bytes());
        leaf.extend_from_slice(b"\",");
    }
    leaf.extend_from_slice(b"\"logged_at\":");
    write_canonical(&Value::from(logged_at), &mut leaf)?;
    if let Some(signature) = observer_signature {
        leaf.extend_from_slice(b",\"observer_sig\":");
        write_canonical(signature, &mut leaf)?;
    }
    leaf.extend_from_slice(b",\"record\":");
    leaf.extend_from_slice(public_canonical);
    leaf.extend_from_slice(format!(",\"v\":{LEAF_VERSION}}}").as_bytes());
    Ok(leaf)
}

/// Formats the store's acceptance time as it appears in leaves: UTC,
/// millisecond precision.
pub fn format_logged_at(timestamp: jiff::Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The leaf the pre-built way, for comparison.
    fn leaf_as_one_object(
        public: &Value,
        commitment: Option<&[u8; 32]>,
        signature: Option<&Value>,
        logged_at: &str,
    ) -> Vec<u8> {
        let mut leaf = Map::new();
        leaf.insert("v".into(), Value::from(LEAF_VERSION));
        leaf.insert("record".into(), public.clone());
        if let Some(commitment) = commitment {
            leaf.insert("commitment".into(), Value::from(hex::encode(commitment)));
        }
        if let Some(signature) = signature {
            leaf.insert("observer_sig".into(), signature.clone());
        }
        leaf.insert("logged_at".into(), Value::from(logged_at));
        to_canonical_vec(&Value::Object(leaf)).expect("canonical")
    }

    #[test]
    fn a_leaf_built_around_a_canonical_record_equals_the_canonical_leaf() {
        let public = json!({"type": "passage", "id": "p-1", "count": 1, "cargo": [{"kind": "food", "tonnes": 12.5}], "notes": "quote \" and \u{1} and é"});
        let signature = json!({"alg": "ed25519", "key": "k", "sig": "c2ln"});
        let logged_at = "2026-11-27T18:30:54.582Z";
        for (commitment, observer) in [
            (None, None),
            (Some(&[7_u8; 32]), None),
            (None, Some(&signature)),
            (Some(&[7_u8; 32]), Some(&signature)),
        ] {
            let built = leaf_of_canonical_record(
                &to_canonical_vec(&public).expect("canonical"),
                commitment,
                observer,
                logged_at,
            )
            .expect("leaf");
            assert_eq!(
                built,
                leaf_as_one_object(&public, commitment, observer, logged_at)
            );
        }
    }

    #[test]
    fn the_digest_of_canonical_bytes_equals_the_digest_of_the_value() {
        let public = json!({"type": "site", "id": "s", "name": "Site"});
        let private: Map<String, Value> = [("plate".to_string(), json!("AB 123"))]
            .into_iter()
            .collect();
        let canonical = to_canonical_vec(&public).expect("canonical");
        assert_eq!(
            content_digest(b"secret", &public, Some(&private)).expect("digest"),
            content_digest_of_canonical(b"secret", &canonical, Some(&private)).expect("digest")
        );
        assert_ne!(
            content_digest(b"secret", &public, None).expect("digest"),
            content_digest(b"other", &public, None).expect("digest")
        );
    }
}
