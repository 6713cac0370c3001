//! Observer signatures: an observer signs a record with its own Ed25519 key,
//! so the operator cannot forge records in its name.
//!
//! The signed message is the domain line `corridor/observer-record/v1`, a
//! newline, then the RFC 8785 canonical JSON of the record's *public form*:
//! exactly the `record` object of the leaf (times resolved at the site,
//! defaults filled in, no `private`). `POST /api/v1/records/prepare` returns
//! that form for a submitted object. The leaf then carries
//! `"observer_sig": {"alg": "ed25519", "key": <base64 public key>, "sig": <base64 signature>}`,
//! so anyone can check it from the leaf alone. The private part is not
//! signed (it never leaves the operator); the leaf's salted commitment
//! stands for it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Value, json};

/// The first line of every signed message.
pub const OBSERVER_SIGNATURE_DOMAIN: &[u8] = b"corridor/observer-record/v1\n";

/// The bytes an observer signs for a record whose public form is `public_record`.
///
/// # Errors
/// The record holds a number canonical JSON cannot carry (validation rules
/// these out).
pub fn observer_message(public_record: &Value) -> Result<Vec<u8>, String> {
    let mut message = OBSERVER_SIGNATURE_DOMAIN.to_vec();
    corridor_model::canonical::write_canonical(public_record, &mut message)
        .map_err(|error| error.to_string())?;
    Ok(message)
}

/// An observer's signature as submitted: `{"key": base64, "sig": base64}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObserverSignature {
    pub key: [u8; 32],
    pub signature: [u8; 64],
}

impl ObserverSignature {
    /// Reads the `observer_sig` object of a submission.
    ///
    /// # Errors
    /// Which member is missing or malformed.
    pub fn from_json(value: &Value) -> Result<ObserverSignature, String> {
        let Value::Object(object) = value else {
            return Err("not an object {\"key\": ..., \"sig\": ...}".into());
        };
        for name in object.keys() {
            if !matches!(name.as_str(), "alg" | "key" | "sig") {
                return Err(format!("unknown member {name:?}"));
            }
        }
        if let Some(alg) = object.get("alg")
            && alg != "ed25519"
        {
            return Err("alg: only \"ed25519\" is supported".into());
        }
        let decode = |name: &str| -> Result<Vec<u8>, String> {
            let text = object
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{name}: missing, or not a string"))?;
            BASE64
                .decode(text)
                .map_err(|_| format!("{name}: not base64"))
        };
        let key: [u8; 32] = decode("key")?
            .try_into()
            .map_err(|_| "key: not the base64 of a 32-byte Ed25519 public key".to_string())?;
        let signature: [u8; 64] = decode("sig")?
            .try_into()
            .map_err(|_| "sig: not the base64 of a 64-byte Ed25519 signature".to_string())?;
        Ok(ObserverSignature { key, signature })
    }

    /// Checks the signature over `public_record`'s message; returns the
    /// value the leaf carries as `observer_sig`.
    ///
    /// # Errors
    /// The key is not a valid point, or the signature does not verify.
    pub fn verify(&self, public_record: &Value) -> Result<Value, String> {
        let key = VerifyingKey::from_bytes(&self.key)
            .map_err(|_| "key: not a valid Ed25519 public key".to_string())?;
        let message = observer_message(public_record)?;
        key.verify_strict(&message, &Signature::from_bytes(&self.signature))
            .map_err(|_| {
                "sig: does not verify over the record's public form (get it from POST /api/v1/records/prepare)".to_string()
            })?;
        Ok(json!({
            "alg": "ed25519",
            "key": BASE64.encode(self.key),
            "sig": BASE64.encode(self.signature),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn a_signature_verifies_over_the_public_form_only() -> Result<(), String> {
        let signer = SigningKey::from_bytes(&[9; 32]);
        let record = json!({"type": "site", "id": "s", "name": "S"});
        let signature = signer.sign(&observer_message(&record)?);
        let submitted = ObserverSignature::from_json(&json!({
            "key": BASE64.encode(signer.verifying_key().to_bytes()),
            "sig": BASE64.encode(signature.to_bytes()),
        }))?;
        let leaf_value = submitted.verify(&record)?;
        assert_eq!(leaf_value["alg"], "ed25519");
        let altered = json!({"type": "site", "id": "s", "name": "T"});
        assert!(submitted.verify(&altered).is_err());
        Ok(())
    }

    #[test]
    fn malformed_signatures_name_the_member() {
        let error = ObserverSignature::from_json(&json!({"key": "AA==", "sig": "AA=="}));
        assert_eq!(
            error,
            Err("key: not the base64 of a 32-byte Ed25519 public key".to_string())
        );
        let error = ObserverSignature::from_json(&json!({"key": "AA==", "extra": 1}));
        assert_eq!(error, Err("unknown member \"extra\"".to_string()));
    }
}
