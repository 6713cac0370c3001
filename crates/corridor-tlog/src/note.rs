//! C2SP signed-note: key names, key IDs, verifier and signer key strings, parsing, signing and verifying notes with Ed25519.
//!
//! Spec: <https://c2sp.org/signed-note> ("Format", "Signatures", "Signature
//! types", "Ed25519 signatures", and the "Verifier keys" encoding
//! `<name>+<hex key ID>+<base64(type || public key)>`). Signature type `0x04`
//! keys (C2SP tlog-cosignature) share the key encodings here, and so do the
//! cosignature message and timestamped signature bytes that verifying a
//! note needs; [`crate::cosignature`] cosigns with them.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The most signature lines [`Note::parse`] accepts (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// The largest note [`Note::parse`] accepts, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// The em dash (U+2014) and space that start every signature line.
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";
/// Prefix of a signer (private) key string, as in Go's `golang.org/x/mod/sumdb/note`.
const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// A signature type identifier byte (signed-note "Signature types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text.
    Ed25519,
    /// `0x04`: timestamped Ed25519 witness cosignature (C2SP tlog-cosignature, `cosignature/v1`).
    CosignatureV1,
}

impl SignatureType {
    /// The identifier byte.
    #[must_use]
    pub const fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::CosignatureV1 => 0x04,
        }
    }

    /// The type for an identifier byte, if this crate supports it.
    #[must_use]
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(SignatureType::Ed25519),
            0x04 => Some(SignatureType::CosignatureV1),
            _ => None,
        }
    }
}

/// A 32-bit key ID: `SHA-256(key name || 0x0A || type || public key)[:4]`, big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

impl KeyId {
    /// Derives the key ID of a key (signed-note "Signatures").
    #[must_use]
    pub fn derive(name: &KeyName, signature_type: SignatureType, public_key: &[u8; 32]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(name.as_str().as_bytes());
        hasher.update([b'\n', signature_type.byte()]);
        hasher.update(public_key);
        let digest = hasher.finalize();
        KeyId(u32::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]))
    }

    /// The four bytes as they appear at the start of an encoded signature.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:08x}", self.0)
    }
}

/// Why a string is not a valid key name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyNameError {
    /// Key names must be non-empty.
    #[error("a key name must not be empty")]
    Empty,
    /// Key names must not contain Unicode spaces, `+`, or control characters.
    #[error("key name {name:?} contains the forbidden character {character:?}")]
    ForbiddenCharacter {
        /// The rejected name.
        name: String,
        /// The first forbidden character.
        character: char,
    },
}

/// A key name: non-empty, without Unicode spaces, `+`, or control characters
/// (signed-note "Format"). Conventionally a schema-less URL such as `example.com/log`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Validates a key name.
    ///
    /// # Errors
    ///
    /// [`KeyNameError`] if the name is empty or contains a forbidden character.
    pub fn new(name: &str) -> Result<Self, KeyNameError> {
        if name.is_empty() {
            return Err(KeyNameError::Empty);
        }
        if let Some(character) = name.chars().find(|character| {
            character.is_whitespace() || *character == '+' || character.is_control()
        }) {
            return Err(KeyNameError::ForbiddenCharacter {
                name: name.to_owned(),
                character,
            });
        }
        Ok(KeyName(name.to_owned()))
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Why a verifier key string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifierKeyError {
    /// The string is not `<name>+<key ID>+<key material>`.
    #[error("a verifier key is <name>+<hex key ID>+<base64 key>; missing '+' separator")]
    MissingSeparator,
    /// The name is invalid.
    #[error("invalid key name: {0}")]
    KeyName(#[from] KeyNameError),
    /// The key ID is not eight lowercase hex digits.
    #[error("key ID {text:?} is not eight lowercase hexadecimal digits")]
    InvalidKeyId {
        /// The offending text.
        text: String,
    },
    /// The key material is not canonical standard base64.
    #[error("key material is not valid base64")]
    InvalidBase64,
    /// The key material has no signature type byte.
    #[error("key material is empty")]
    EmptyKeyMaterial,
    /// The signature type is not one this crate implements (0x01, 0x04).
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedSignatureType(u8),
    /// An Ed25519 key is 32 bytes.
    #[error("an Ed25519 public key is 32 bytes, got {0}")]
    WrongKeyLength(usize),
    /// The 32 bytes are not a valid Ed25519 point.
    #[error("the public key is not a valid Ed25519 point")]
    InvalidPublicKey,
    /// The declared key ID is not the one derived from name, type and key.
    #[error("declared key ID {declared} does not match derived key ID {derived}")]
    KeyIdMismatch {
        /// The key ID in the string.
        declared: KeyId,
        /// The key ID derived per the spec.
        derived: KeyId,
    },
}

/// Why a signer key string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerKeyError {
    /// The string does not start with `PRIVATE+KEY+`.
    #[error("a signer key starts with PRIVATE+KEY+")]
    MissingPrefix,
    /// The rest is malformed the same way a verifier key can be.
    #[error(transparent)]
    Key(#[from] VerifierKeyError),
}

/// Parses `<name>+<hex id>+<base64>` into its parts, checking everything but the ID derivation.
fn parse_key_parts(
    text: &str,
) -> Result<(KeyName, KeyId, SignatureType, [u8; 32]), VerifierKeyError> {
    // Names cannot contain '+', key IDs are hex, base64 may contain '+'.
    let (name, rest) = text
        .split_once('+')
        .ok_or(VerifierKeyError::MissingSeparator)?;
    let (key_id_text, material_text) = rest
        .split_once('+')
        .ok_or(VerifierKeyError::MissingSeparator)?;
    let name = KeyName::new(name)?;
    let key_id = parse_key_id(key_id_text)?;
    let material = BASE64
        .decode(material_text)
        .map_err(|_| VerifierKeyError::InvalidBase64)?;
    let (&type_byte, key) = material
        .split_first()
        .ok_or(VerifierKeyError::EmptyKeyMaterial)?;
    let signature_type = SignatureType::from_byte(type_byte)
        .ok_or(VerifierKeyError::UnsupportedSignatureType(type_byte))?;
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| VerifierKeyError::WrongKeyLength(key.len()))?;
    Ok((name, key_id, signature_type, key))
}

fn parse_key_id(text: &str) -> Result<KeyId, VerifierKeyError> {
    let invalid = || VerifierKeyError::InvalidKeyId {
        text: text.to_owned(),
    };
    if text.len() != 8
        || !text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(invalid());
    }
    u32::from_str_radix(text, 16)
        .map(KeyId)
        .map_err(|_| invalid())
}

/// A public key that verifies note signatures: an Ed25519 note key (`0x01`)
/// or an Ed25519 cosigner key (`0x04`).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: KeyName,
    signature_type: SignatureType,
    public_key: VerifyingKey,
    key_id: KeyId,
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_tuple("VerifierKey")
            .field(&self.to_string())
            .finish()
    }
}

impl VerifierKey {
    /// A verifier key from its parts; the key ID is derived.
    ///
    /// # Errors
    ///
    /// [`VerifierKeyError::InvalidPublicKey`] if the bytes are not an Ed25519 point.
    pub fn new(
        name: KeyName,
        signature_type: SignatureType,
        public_key: &[u8; 32],
    ) -> Result<Self, VerifierKeyError> {
        let verifying_key =
            VerifyingKey::from_bytes(public_key).map_err(|_| VerifierKeyError::InvalidPublicKey)?;
        let key_id = KeyId::derive(&name, signature_type, public_key);
        Ok(VerifierKey {
            name,
            signature_type,
            public_key: verifying_key,
            key_id,
        })
    }

    /// Parses `<name>+<hex key ID>+<base64(type || public key)>`.
    ///
    /// # Errors
    ///
    /// [`VerifierKeyError`] naming the malformed part, including a key ID that
    /// does not match the one derived from the name and key.
    pub fn parse(text: &str) -> Result<Self, VerifierKeyError> {
        let (name, declared, signature_type, public_key) = parse_key_parts(text)?;
        let key = VerifierKey::new(name, signature_type, &public_key)?;
        if key.key_id != declared {
            return Err(VerifierKeyError::KeyIdMismatch {
                declared,
                derived: key.key_id,
            });
        }
        Ok(key)
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature type.
    #[must_use]
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The 32-byte Ed25519 public key.
    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key.to_bytes()
    }

    /// Checks `signature` (the bytes after the key ID) over `text`; returns the
    /// cosignature timestamp for `0x04` keys.
    fn check(&self, text: &str, signature: &[u8]) -> Result<Option<u64>, SignatureFailure> {
        match self.signature_type {
            SignatureType::Ed25519 => {
                let signature: [u8; 64] = signature
                    .try_into()
                    .map_err(|_| SignatureFailure::WrongLength(signature.len()))?;
                let signature = ed25519_dalek::Signature::from_bytes(&signature);
                self.public_key
                    .verify_strict(text.as_bytes(), &signature)
                    .map_err(|_| SignatureFailure::Invalid)?;
                Ok(None)
            }
            SignatureType::CosignatureV1 => {
                let timestamp = verify_timestamped_signature(&self.public_key, text, signature)?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = [0u8; 33];
        material[0] = self.signature_type.byte();
        material[1..].copy_from_slice(self.public_key.as_bytes());
        write!(
            formatter,
            "{}+{}+{}",
            self.name,
            self.key_id,
            BASE64.encode(material)
        )
    }
}

/// Why one signature failed to verify (internal detail of [`NoteVerifyError::InvalidSignature`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFailure {
    /// The signature has the wrong length for its type.
    #[error("signature is {0} bytes, wrong for its type")]
    WrongLength(usize),
    /// A cosignature timestamp above 2^63 - 1.
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampOutOfRange(u64),
    /// The cryptographic check failed.
    #[error("signature does not verify")]
    Invalid,
}

// Signature type 0x04 (C2SP tlog-cosignature, "Format" and "Ed25519 signed
// message"): the message a cosigner signs and the timestamped signature
// bytes. They live here, beside the other signature type, because verifying
// a note checks signatures of both types; `cosignature` signs with them.

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
fn verify_timestamped_signature(
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

/// A private key that signs notes: an Ed25519 seed with its name and type.
///
/// The seed is supplied by the caller (this crate does no I/O and draws no
/// randomness); `Debug` never prints it.
#[derive(Clone)]
pub struct SignerKey {
    name: KeyName,
    signature_type: SignatureType,
    signing_key: SigningKey,
    key_id: KeyId,
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SignerKey")
            .field("name", &self.name)
            .field("signature_type", &self.signature_type)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SignerKey {
    /// A signer key from a 32-byte Ed25519 seed, which must come from a
    /// cryptographically secure random source.
    #[must_use]
    pub fn from_seed(name: KeyName, signature_type: SignatureType, seed: &[u8; 32]) -> Self {
        let signing_key = SigningKey::from_bytes(seed);
        let key_id = KeyId::derive(
            &name,
            signature_type,
            signing_key.verifying_key().as_bytes(),
        );
        SignerKey {
            name,
            signature_type,
            signing_key,
            key_id,
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>`.
    ///
    /// # Errors
    ///
    /// [`SignerKeyError`] naming the malformed part, including a key ID that
    /// does not match the one derived from the name and public key.
    pub fn parse(text: &str) -> Result<Self, SignerKeyError> {
        let rest = text
            .strip_prefix(SIGNER_KEY_PREFIX)
            .ok_or(SignerKeyError::MissingPrefix)?;
        let (name, declared, signature_type, seed) = parse_key_parts(rest)?;
        let key = SignerKey::from_seed(name, signature_type, &seed);
        if key.key_id != declared {
            return Err(VerifierKeyError::KeyIdMismatch {
                declared,
                derived: key.key_id,
            }
            .into());
        }
        Ok(key)
    }

    /// The signer key string. Deliberately not `Display`, so that the secret
    /// does not end up in logs through `{}`.
    #[must_use]
    pub fn to_private_key_string(&self) -> String {
        let mut material = [0u8; 33];
        material[0] = self.signature_type.byte();
        material[1..].copy_from_slice(&self.signing_key.to_bytes());
        format!(
            "{SIGNER_KEY_PREFIX}{}+{}+{}",
            self.name,
            self.key_id,
            BASE64.encode(material)
        )
    }

    /// The matching verifier key.
    #[must_use]
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            signature_type: self.signature_type,
            public_key: self.signing_key.verifying_key(),
            key_id: self.key_id,
        }
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature type.
    #[must_use]
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// Signs `message` with the raw Ed25519 key (used by the cosignature module).
    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.signing_key.sign(message).to_bytes()
    }

    /// Signs a note text with an Ed25519 (`0x01`) key (signed-note "Ed25519 signatures").
    ///
    /// # Errors
    ///
    /// [`NoteSignError::WrongSignatureType`] for a cosigner key (use
    /// [`crate::cosignature::cosign`]), [`NoteSignError::InvalidText`] if the
    /// text is not a valid note text.
    pub fn sign_note_text(&self, text: &str) -> Result<NoteSignature, NoteSignError> {
        if self.signature_type != SignatureType::Ed25519 {
            return Err(NoteSignError::WrongSignatureType(self.signature_type));
        }
        validate_note_text(text)?;
        Ok(NoteSignature {
            key_name: self.name.clone(),
            key_id: self.key_id,
            signature: self.sign_raw(text.as_bytes()).to_vec(),
        })
    }
}

/// Why a note could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteSignError {
    /// This key type signs something other than the bare note text.
    #[error("a {0:?} key cannot sign a bare note text")]
    WrongSignatureType(SignatureType),
    /// The timestamp is above 2^63 - 1 (C2SP tlog-cosignature).
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampOutOfRange(u64),
    /// The text is not a valid note text.
    #[error(transparent)]
    InvalidText(#[from] NoteTextError),
}

/// Why a text cannot be the text of a note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteTextError {
    /// Note texts are non-empty and end in a newline.
    #[error("a note text must be non-empty and end with a newline")]
    MissingFinalNewline,
    /// Control characters other than newline are forbidden.
    #[error("control character U+{code:04X} at byte {offset} of the note text")]
    ControlCharacter {
        /// Byte offset of the character.
        offset: usize,
        /// Its code point.
        code: u32,
    },
}

/// The first ASCII control character other than newline: those below U+0020
/// (signed-note "Format"; DEL is not among them).
fn find_control_character(text: &str) -> Option<(usize, char)> {
    text.char_indices()
        .find(|(_, character)| u32::from(*character) < 0x20 && *character != '\n')
}

/// Checks the signed-note rules for a note text.
pub(crate) fn validate_note_text(text: &str) -> Result<(), NoteTextError> {
    if !text.ends_with('\n') {
        return Err(NoteTextError::MissingFinalNewline);
    }
    if let Some((offset, character)) = find_control_character(text) {
        return Err(NoteTextError::ControlCharacter {
            offset,
            code: u32::from(character),
        });
    }
    Ok(())
}

/// One signature line: `— <key name> base64(key ID || signature)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    /// The signer's key name.
    pub key_name: KeyName,
    /// The signer's key ID.
    pub key_id: KeyId,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

/// Why a signature line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureLineError {
    /// The line does not start with an em dash and a space.
    #[error("a signature line starts with \"\u{2014} \"")]
    MissingEmDash,
    /// There is no space between name and signature.
    #[error("a signature line is \"\u{2014} <name> <base64>\"; missing space after the name")]
    MissingSpace,
    /// The name is invalid.
    #[error("invalid key name: {0}")]
    KeyName(#[from] KeyNameError),
    /// The signature is not canonical standard base64.
    #[error("the signature is not valid base64")]
    InvalidBase64,
    /// The signature must be a 4-byte key ID and at least one signature byte.
    #[error("the signature is {0} bytes; at least 5 (key ID and signature) are needed")]
    TooShort(usize),
}

impl NoteSignature {
    /// Parses a signature line without its final newline.
    ///
    /// # Errors
    ///
    /// [`SignatureLineError`] naming the malformed part.
    pub fn parse_line(line: &str) -> Result<Self, SignatureLineError> {
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(SignatureLineError::MissingEmDash)?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or(SignatureLineError::MissingSpace)?;
        let key_name = KeyName::new(name)?;
        let decoded = BASE64
            .decode(encoded)
            .map_err(|_| SignatureLineError::InvalidBase64)?;
        if decoded.len() < 5 {
            return Err(SignatureLineError::TooShort(decoded.len()));
        }
        let (id_bytes, signature) = decoded.split_at(4);
        let key_id = KeyId(u32::from_be_bytes([
            id_bytes[0],
            id_bytes[1],
            id_bytes[2],
            id_bytes[3],
        ]));
        Ok(NoteSignature {
            key_name,
            key_id,
            signature: signature.to_vec(),
        })
    }

    /// The signature line, with its final newline.
    #[must_use]
    pub fn to_line(&self) -> String {
        let mut payload = Vec::with_capacity(4 + self.signature.len());
        payload.extend_from_slice(&self.key_id.to_bytes());
        payload.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.key_name,
            BASE64.encode(payload)
        )
    }
}

/// Why bytes are not a well-formed signed note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteParseError {
    /// Over [`MAX_NOTE_BYTES`].
    #[error("note is {0} bytes; the limit is {MAX_NOTE_BYTES}")]
    TooLarge(usize),
    /// Notes are UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The text or a signature line breaks the character rules.
    #[error(transparent)]
    Text(#[from] NoteTextError),
    /// There is no blank line separating text and signatures.
    #[error("note has no blank line before its signatures")]
    MissingSignatureSeparator,
    /// Nothing follows the blank line.
    #[error("note has no signature lines")]
    NoSignatures,
    /// Over [`MAX_SIGNATURES`].
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature line is malformed.
    #[error("signature line {line_number}: {error}")]
    SignatureLine {
        /// 1-based position among the signature lines.
        line_number: usize,
        /// What is wrong with it.
        #[source]
        error: SignatureLineError,
    },
}

/// Why a note did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteVerifyError {
    /// A signature from a known key failed; the whole note is rejected
    /// (signed-note "Signatures": clients SHOULD reject the note).
    #[error("signature by known key {key_name} ({key_id}) does not verify: {failure}")]
    InvalidSignature {
        /// The key's name.
        key_name: KeyName,
        /// The key's ID.
        key_id: KeyId,
        /// Why.
        failure: SignatureFailure,
    },
    /// The same known key signed twice.
    #[error("key {key_name} ({key_id}) signed the note more than once")]
    DuplicateSignature {
        /// The key's name.
        key_name: KeyName,
        /// The key's ID.
        key_id: KeyId,
    },
    /// No signature is from a known key (signed-note: clients MUST reject).
    #[error("none of the note's {signature_count} signatures is from a known key")]
    NoVerifiedSignature {
        /// Number of signatures on the note.
        signature_count: usize,
    },
}

/// A signature that verified against a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key's name.
    pub key_name: KeyName,
    /// The key's ID.
    pub key_id: KeyId,
    /// The key's signature type.
    pub signature_type: SignatureType,
    /// For cosignatures, the POSIX timestamp the cosigner signed.
    pub timestamp: Option<u64>,
}

/// A signed note: a text and its signature lines (C2SP signed-note "Format").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note with `text` and no signatures yet.
    ///
    /// # Errors
    ///
    /// [`NoteTextError`] if the text is empty, lacks a final newline, or has control characters.
    pub fn new(text: &str) -> Result<Self, NoteTextError> {
        validate_note_text(text)?;
        Ok(Note {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note without verifying anything.
    ///
    /// The text is everything up to and including the newline before the
    /// last blank line; every line after it must be a signature line.
    ///
    /// # Errors
    ///
    /// [`NoteParseError`] naming the first rule broken.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteParseError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteParseError::TooLarge(bytes.len()));
        }
        let message = std::str::from_utf8(bytes).map_err(|_| NoteParseError::NotUtf8)?;
        if let Some((offset, character)) = find_control_character(message) {
            return Err(NoteTextError::ControlCharacter {
                offset,
                code: u32::from(character),
            }
            .into());
        }
        if !message.ends_with('\n') {
            return Err(NoteTextError::MissingFinalNewline.into());
        }
        let separator = message
            .rfind("\n\n")
            .ok_or(NoteParseError::MissingSignatureSeparator)?;
        let text = &message[..=separator];
        let signature_block = &message[separator + 2..];
        if signature_block.is_empty() {
            return Err(NoteParseError::NoSignatures);
        }
        let mut signatures = Vec::new();
        // The block ends with '\n' (checked above), so the last split piece is empty.
        let lines = signature_block[..signature_block.len() - 1].split('\n');
        for (position, line) in lines.enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteParseError::TooManySignatures);
            }
            let signature =
                NoteSignature::parse_line(line).map_err(|error| NoteParseError::SignatureLine {
                    line_number: position + 1,
                    error,
                })?;
            signatures.push(signature);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note text, including its final newline.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures, in order.
    #[must_use]
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures.push(signature);
    }

    /// Signs the text with an Ed25519 key and appends the signature.
    ///
    /// # Errors
    ///
    /// [`NoteSignError::WrongSignatureType`] for a cosigner key.
    pub fn sign(&mut self, signer: &SignerKey) -> Result<(), NoteSignError> {
        let signature = signer.sign_note_text(&self.text)?;
        self.signatures.push(signature);
        Ok(())
    }

    /// The serialised note: text, blank line, signature lines.
    #[must_use]
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// Verifies the note against `known_keys`.
    ///
    /// Signatures whose (name, key ID) match no known key are ignored. Every
    /// signature from a known key must verify, each known key may sign once,
    /// and at least one must have signed. Returns the verified signatures, in
    /// note order; a caller that needs a particular key (the log's) or a
    /// quorum of cosigners checks the list.
    ///
    /// # Errors
    ///
    /// [`NoteVerifyError`]: a failed or duplicated known signature, or none at all.
    pub fn verify(
        &self,
        known_keys: &[VerifierKey],
    ) -> Result<Vec<VerifiedSignature>, NoteVerifyError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for signature in &self.signatures {
            let Some(key) = known_keys
                .iter()
                .find(|key| key.name == signature.key_name && key.key_id == signature.key_id)
            else {
                continue;
            };
            let timestamp = key
                .check(&self.text, &signature.signature)
                .map_err(|failure| NoteVerifyError::InvalidSignature {
                    key_name: key.name.clone(),
                    key_id: key.key_id,
                    failure,
                })?;
            if verified
                .iter()
                .any(|earlier| earlier.key_name == key.name && earlier.key_id == key.key_id)
            {
                return Err(NoteVerifyError::DuplicateSignature {
                    key_name: key.name.clone(),
                    key_id: key.key_id,
                });
            }
            verified.push(VerifiedSignature {
                key_name: key.name.clone(),
                key_id: key.key_id,
                signature_type: key.signature_type,
                timestamp,
            });
        }
        if verified.is_empty() {
            return Err(NoteVerifyError::NoVerifiedSignature {
                signature_count: self.signatures.len(),
            });
        }
        Ok(verified)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)?;
        formatter.write_str("\n")?;
        for signature in &self.signatures {
            formatter.write_str(&signature.to_line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_reject_spaces_plus_and_controls() {
        assert_eq!(KeyName::new(""), Err(KeyNameError::Empty));
        for bad in ["a b", "a+b", "a\u{00a0}b", "a\tb", "a\u{2003}b"] {
            assert!(
                matches!(
                    KeyName::new(bad),
                    Err(KeyNameError::ForbiddenCharacter { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            KeyName::new("example.com/log").map(|name| name.0),
            Ok("example.com/log".to_owned())
        );
    }

    #[test]
    fn signer_debug_does_not_print_the_seed() {
        let name = KeyName::new("example.com/log").expect("valid name");
        let signer = SignerKey::from_seed(name, SignatureType::Ed25519, &[7u8; 32]);
        let debug = format!("{signer:?}");
        let private = signer.to_private_key_string();
        let seed_base64 = private.rsplit('+').next().expect("has parts");
        assert!(!debug.contains(seed_base64), "{debug}");
    }

    #[test]
    fn note_text_must_end_in_newline() {
        assert_eq!(
            Note::new("no newline"),
            Err(NoteTextError::MissingFinalNewline)
        );
        assert_eq!(Note::new(""), Err(NoteTextError::MissingFinalNewline));
        assert_eq!(
            Note::new("bell\u{7}\n"),
            Err(NoteTextError::ControlCharacter { offset: 4, code: 7 })
        );
    }

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
