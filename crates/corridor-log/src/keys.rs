//! Signing keys on disk: C2SP signed-note key strings, private key files
//! readable by their owner only.
//!
//! A data directory keeps the log's key pair as `keys/log.key` (the
//! `PRIVATE+KEY+<name>+<id>+<base64>` string, mode 0600) and `keys/log.vkey`
//! (the verifier key, safe to publish). A witness keeps `witness.key` and
//! `witness.vkey` the same way.

use std::io::Write;
use std::path::{Path, PathBuf};

use corridor_tlog::{KeyName, SignatureType, SignerKey, VerifierKey};

/// The log's private key file name inside `DATA/keys/`.
pub const LOG_KEY_FILE: &str = "log.key";
/// The log's public (verifier) key file name inside `DATA/keys/`.
pub const LOG_VKEY_FILE: &str = "log.vkey";

/// Why a key could not be created, read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        error: std::io::Error,
    },
    /// The key file already exists; keys are never overwritten.
    #[error("{path} already exists; a signing key is never overwritten")]
    Exists {
        /// The file.
        path: String,
    },
    /// The name cannot be a signed-note key name.
    #[error("{name:?} cannot name a key: {reason}")]
    BadName {
        /// The name given.
        name: String,
        /// Why.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("the operating system random source failed: {0}")]
    Random(String),
    /// A private key file does not hold a signer key.
    #[error("{path} does not hold a private key: {reason}")]
    BadPrivateKey {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A verifier key (given as text or as a file) does not parse.
    #[error("{what} is not a verifier key (NAME+ID+BASE64): {reason}")]
    BadVerifierKey {
        /// The text or file given.
        what: String,
        /// Why.
        reason: String,
    },
    /// The key has the wrong signature type for its use.
    #[error("{what} is a {found} key; a {expected} key is needed here")]
    WrongType {
        /// The key.
        what: String,
        /// The type needed.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        error: source,
    }
}

/// A human name for a signature type.
#[must_use]
pub fn signature_type_name(signature_type: SignatureType) -> &'static str {
    match signature_type {
        SignatureType::Ed25519 => "Ed25519 note-signing",
        SignatureType::CosignatureV1 => "cosignature/v1 witness",
    }
}

/// A new signer key named `name` from 32 bytes of the operating system's randomness.
///
/// # Errors
///
/// [`KeyError::BadName`] for a name signed notes cannot carry,
/// [`KeyError::Random`] if the random source fails.
pub fn generate_signer(name: &str, signature_type: SignatureType) -> Result<SignerKey, KeyError> {
    let key_name = KeyName::new(name).map_err(|error| KeyError::BadName {
        name: name.to_owned(),
        reason: error.to_string(),
    })?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| KeyError::Random(error.to_string()))?;
    Ok(SignerKey::from_seed(key_name, signature_type, &seed))
}

/// The private and public key file paths for `stem` in `directory`.
#[must_use]
pub fn key_paths(directory: &Path, stem: &str) -> (PathBuf, PathBuf) {
    (
        directory.join(format!("{stem}.key")),
        directory.join(format!("{stem}.vkey")),
    )
}

/// Creates a new key pair in `directory` as `<stem>.key` (mode 0600) and
/// `<stem>.vkey`, and returns the signer.
///
/// # Errors
///
/// [`KeyError::Exists`] if the private key file exists, or an I/O, name or
/// randomness failure.
pub fn create_key_files(
    directory: &Path,
    stem: &str,
    name: &str,
    signature_type: SignatureType,
) -> Result<SignerKey, KeyError> {
    let signer = generate_signer(name, signature_type)?;
    install_key_files(directory, stem, &signer)?;
    Ok(signer)
}

/// Writes an existing key pair into `directory` as `<stem>.key` (mode 0600)
/// and `<stem>.vkey`: a second server joining a log signs with its key.
///
/// # Errors
///
/// [`KeyError::Exists`] if the private key file exists, or an I/O failure.
pub fn install_key_files(directory: &Path, stem: &str, signer: &SignerKey) -> Result<(), KeyError> {
    let (private_path, public_path) = key_paths(directory, stem);
    if private_path.exists() {
        return Err(KeyError::Exists {
            path: private_path.display().to_string(),
        });
    }
    std::fs::create_dir_all(directory).map_err(io_error(directory))?;
    write_private(&private_path, signer)?;
    let public_text = format!("{}\n", signer.verifier_key());
    crate::files::replace_file(&public_path, public_text.as_bytes())
        .map_err(io_error(&public_path))?;
    crate::files::sync_directory(directory).map_err(io_error(directory))
}

/// Writes the private key string to a new file only its owner can read.
fn write_private(path: &Path, signer: &SignerKey) -> Result<(), KeyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let temporary = path.with_extension("key.tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut file = options.open(&temporary).map_err(io_error(&temporary))?;
    let text = format!("{}\n", signer.to_private_key_string());
    file.write_all(text.as_bytes())
        .map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io_error(path))
}

/// Reads a private key file.
///
/// # Errors
///
/// [`KeyError::Io`] if it cannot be read, [`KeyError::BadPrivateKey`] if it
/// does not hold a key string.
pub fn load_signer(path: &Path) -> Result<SignerKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    SignerKey::parse(text.trim()).map_err(|error| KeyError::BadPrivateKey {
        path: path.display().to_string(),
        reason: error.to_string(),
    })
}

/// Parses a verifier key given either as the key text itself or as the path
/// of a file holding it (the form a user pastes from a web page, or downloads).
///
/// # Errors
///
/// [`KeyError::BadVerifierKey`] if neither reading works.
pub fn verifier_key_from_argument(text_or_path: &str) -> Result<VerifierKey, KeyError> {
    let trimmed = text_or_path.trim();
    if let Ok(key) = VerifierKey::parse(trimmed) {
        return Ok(key);
    }
    let path = Path::new(text_or_path);
    match std::fs::read_to_string(path) {
        Ok(contents) => {
            VerifierKey::parse(contents.trim()).map_err(|error| KeyError::BadVerifierKey {
                what: format!("the contents of {}", path.display()),
                reason: error.to_string(),
            })
        }
        Err(read_error) => {
            let reason = match VerifierKey::parse(trimmed) {
                Err(parse_error) => format!("as key text: {parse_error}; as a file: {read_error}"),
                Ok(_) => read_error.to_string(),
            };
            Err(KeyError::BadVerifierKey {
                what: format!("{text_or_path:?}"),
                reason,
            })
        }
    }
}

/// Checks a key's signature type.
///
/// # Errors
///
/// [`KeyError::WrongType`] if it differs.
pub fn require_type(key: &VerifierKey, expected: SignatureType) -> Result<(), KeyError> {
    if key.signature_type() == expected {
        Ok(())
    } else {
        Err(KeyError::WrongType {
            what: key.name().to_string(),
            expected: signature_type_name(expected),
            found: signature_type_name(key.signature_type()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_are_private() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let signer = create_key_files(
            directory.path(),
            "log",
            "example.org/log",
            SignatureType::Ed25519,
        )
        .expect("key created");
        let (private_path, public_path) = key_paths(directory.path(), "log");
        let loaded = load_signer(&private_path).expect("key loads");
        assert_eq!(loaded.verifier_key(), signer.verifier_key());
        let from_file = verifier_key_from_argument(&public_path.display().to_string())
            .expect("vkey file parses");
        assert_eq!(from_file, signer.verifier_key());
        let from_text =
            verifier_key_from_argument(&signer.verifier_key().to_string()).expect("text parses");
        assert_eq!(from_text, signer.verifier_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&private_path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            create_key_files(
                directory.path(),
                "log",
                "example.org/log",
                SignatureType::Ed25519
            ),
            Err(KeyError::Exists { .. })
        ));
    }
}
