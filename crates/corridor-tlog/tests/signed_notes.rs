//! C2SP signed-note: the spec's worked example, Go sumdb/note vectors, key string round trips, and verification rules.

use corridor_tlog::note::{MAX_SIGNATURES, SignatureFailure, SignatureLineError};
use corridor_tlog::{
    KeyId, KeyName, Note, NoteParseError, NoteSignature, NoteTextError, NoteVerifyError,
    SignatureType, SignerKey, SignerKeyError, VerifierKey, VerifierKeyError,
};

/// c2sp.org/signed-note v1.1.0 "Verifier keys" example key and note.
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

/// golang.org/x/mod/sumdb/note documentation and tests.
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";

fn name(text: &str) -> KeyName {
    KeyName::new(text).expect("valid key name")
}

#[test]
fn spec_example_verifier_key_parses_and_round_trips() {
    let key = VerifierKey::parse(SPEC_VKEY).expect("spec vkey");
    assert_eq!(key.name().as_str(), "example.com/foo");
    assert_eq!(key.key_id(), KeyId(0x530d_903a));
    assert_eq!(key.key_id().to_string(), "530d903a");
    assert_eq!(key.signature_type(), SignatureType::Ed25519);
    assert_eq!(
        hex::encode(key.public_key()),
        "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"
    );
    assert_eq!(key.to_string(), SPEC_VKEY);
    assert_eq!(
        KeyId::derive(key.name(), SignatureType::Ed25519, &key.public_key()),
        KeyId(0x530d_903a)
    );
}

#[test]
fn spec_example_note_verifies() {
    let key = VerifierKey::parse(SPEC_VKEY).expect("spec vkey");
    let note = Note::parse(SPEC_NOTE.as_bytes()).expect("spec note");
    assert_eq!(note.text(), "This is an example message.\n");
    assert_eq!(note.signatures().len(), 1);
    let verified = note
        .verify(std::slice::from_ref(&key))
        .expect("spec signature verifies");
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].key_name.as_str(), "example.com/foo");
    assert_eq!(verified[0].timestamp, None);
    assert_eq!(note.to_text(), SPEC_NOTE);
}

#[test]
fn mutated_spec_note_fails() {
    let key = VerifierKey::parse(SPEC_VKEY).expect("spec vkey");
    let mutated = SPEC_NOTE.replace("example message", "example massage");
    let note = Note::parse(mutated.as_bytes()).expect("still well formed");
    assert!(matches!(
        note.verify(std::slice::from_ref(&key)),
        Err(NoteVerifyError::InvalidSignature {
            failure: SignatureFailure::Invalid,
            ..
        })
    ));
    // Flipping one bit of the signature.
    let mut note = Note::parse(SPEC_NOTE.as_bytes()).expect("spec note");
    let mut signature = note.signatures()[0].clone();
    signature.signature[10] ^= 1;
    note = {
        let mut fresh = Note::new(note.text()).expect("valid text");
        fresh.add_signature(signature);
        fresh
    };
    assert!(matches!(
        note.verify(&[key]),
        Err(NoteVerifyError::InvalidSignature { .. })
    ));
}

#[test]
fn go_sumdb_note_vectors_sign_and_verify() {
    let signer = SignerKey::parse(PETER_SKEY).expect("Go signer key");
    assert_eq!(signer.to_private_key_string(), PETER_SKEY);
    assert_eq!(signer.verifier_key().to_string(), PETER_VKEY);
    assert_eq!(signer.key_id(), KeyId(0xc74f_20a3));

    // Ed25519 is deterministic: signing the Go example reproduces it byte for byte.
    let mut note = Note::new(PETER_TEXT).expect("valid text");
    note.sign(&signer).expect("Ed25519 key");
    assert_eq!(note.to_text(), PETER_NOTE);

    let verifier = VerifierKey::parse(PETER_VKEY).expect("Go verifier key");
    let parsed = Note::parse(PETER_NOTE.as_bytes()).expect("Go note");
    assert_eq!(
        parsed.verify(&[verifier]).map(|verified| verified.len()),
        Ok(1)
    );

    let enoch = VerifierKey::parse(ENOCH_VKEY).expect("Go verifier key");
    assert_eq!(enoch.to_string(), ENOCH_VKEY);
    assert_eq!(
        parsed.verify(&[enoch]),
        Err(NoteVerifyError::NoVerifiedSignature { signature_count: 1 })
    );
}

#[test]
fn generated_keys_round_trip() {
    for seed_byte in [0u8, 1, 0x42, 0xff] {
        let signer = SignerKey::from_seed(
            name("corridor.example/log"),
            SignatureType::Ed25519,
            &[seed_byte; 32],
        );
        let reparsed = SignerKey::parse(&signer.to_private_key_string()).expect("own signer key");
        assert_eq!(
            reparsed.to_private_key_string(),
            signer.to_private_key_string()
        );
        let vkey = signer.verifier_key().to_string();
        let verifier = VerifierKey::parse(&vkey).expect("own verifier key");
        assert_eq!(verifier, signer.verifier_key());
        assert_eq!(verifier.to_string(), vkey);
        assert!(vkey.starts_with("corridor.example/log+"));
    }
}

#[test]
fn malformed_verifier_keys_are_rejected() {
    assert_eq!(
        VerifierKey::parse("example.com/foo"),
        Err(VerifierKeyError::MissingSeparator)
    );
    assert_eq!(
        VerifierKey::parse("example.com/foo+530d903a"),
        Err(VerifierKeyError::MissingSeparator)
    );
    for bad_id in ["530D903A", "530d903", "530d903a0", "530d903g", "+30d903a"] {
        let text = SPEC_VKEY.replace("530d903a", bad_id);
        assert!(
            matches!(
                VerifierKey::parse(&text),
                Err(VerifierKeyError::InvalidKeyId { .. })
                    | Err(VerifierKeyError::KeyName(_))
                    | Err(VerifierKeyError::InvalidBase64)
            ),
            "{text}"
        );
    }
    assert_eq!(
        VerifierKey::parse(&SPEC_VKEY.replace("530d903a", "530d903b")),
        Err(VerifierKeyError::KeyIdMismatch {
            declared: KeyId(0x530d_903b),
            derived: KeyId(0x530d_903a)
        })
    );
    assert_eq!(
        VerifierKey::parse(&format!("{SPEC_VKEY}!")),
        Err(VerifierKeyError::InvalidBase64)
    );
    assert_eq!(
        VerifierKey::parse("a+00000000+"),
        Err(VerifierKeyError::EmptyKeyMaterial)
    );
    assert_eq!(
        VerifierKey::parse("a+00000000+Ag=="),
        Err(VerifierKeyError::UnsupportedSignatureType(2))
    );
    assert_eq!(
        VerifierKey::parse("a+00000000+AQID"),
        Err(VerifierKeyError::WrongKeyLength(2))
    );
    assert!(matches!(
        VerifierKey::parse("a b+00000000+AQID"),
        Err(VerifierKeyError::KeyName(_))
    ));
    assert_eq!(
        SignerKey::parse(PETER_VKEY).map(|_| ()),
        Err(SignerKeyError::MissingPrefix)
    );
}

#[test]
fn unknown_signatures_are_ignored_and_known_ones_required() {
    let log = SignerKey::from_seed(
        name("corridor.example/log"),
        SignatureType::Ed25519,
        &[1; 32],
    );
    let other = SignerKey::from_seed(name("other.example/log"), SignatureType::Ed25519, &[2; 32]);
    // Same name, different key: a different key ID, so it is "unknown", not "invalid".
    let impostor = SignerKey::from_seed(
        name("corridor.example/log"),
        SignatureType::Ed25519,
        &[3; 32],
    );
    let mut note =
        Note::new("corridor.example/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
            .expect("valid text");
    note.sign(&other).expect("sign");
    note.sign(&impostor).expect("sign");
    note.sign(&log).expect("sign");
    let reparsed = Note::parse(note.to_text().as_bytes()).expect("well formed");
    assert_eq!(reparsed, note);
    let verified = reparsed.verify(&[log.verifier_key()]).expect("log signed");
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].key_id, log.key_id());
    assert_eq!(
        reparsed.verify(&[]),
        Err(NoteVerifyError::NoVerifiedSignature { signature_count: 3 })
    );

    let mut twice = Note::new("text\n").expect("valid text");
    twice.sign(&log).expect("sign");
    twice.sign(&log).expect("sign");
    assert!(matches!(
        twice.verify(&[log.verifier_key()]),
        Err(NoteVerifyError::DuplicateSignature { .. })
    ));
}

#[test]
fn malformed_notes_are_rejected_precisely() {
    let signature_line = SPEC_NOTE.split_once("\n\n").expect("has separator").1;
    assert_eq!(
        Note::parse(b"no newline"),
        Err(NoteParseError::Text(NoteTextError::MissingFinalNewline))
    );
    assert_eq!(
        Note::parse(b"text\n"),
        Err(NoteParseError::MissingSignatureSeparator)
    );
    assert_eq!(Note::parse(b"text\n\n"), Err(NoteParseError::NoSignatures));
    assert_eq!(Note::parse(b"\xff\n\n"), Err(NoteParseError::NotUtf8));
    assert_eq!(
        Note::parse(format!("te\rxt\n\n{signature_line}").as_bytes()),
        Err(NoteParseError::Text(NoteTextError::ControlCharacter {
            offset: 2,
            code: 13
        }))
    );
    assert_eq!(
        Note::parse(b"text\n\n- name AAAAAAA=\n"),
        Err(NoteParseError::SignatureLine {
            line_number: 1,
            error: SignatureLineError::MissingEmDash
        })
    );
    assert_eq!(
        Note::parse("text\n\n\u{2014} name\n".as_bytes()),
        Err(NoteParseError::SignatureLine {
            line_number: 1,
            error: SignatureLineError::MissingSpace
        })
    );
    assert_eq!(
        Note::parse("text\n\n\u{2014} name AAAA\n".as_bytes()),
        Err(NoteParseError::SignatureLine {
            line_number: 1,
            error: SignatureLineError::TooShort(3)
        })
    );
    assert_eq!(
        Note::parse("text\n\n\u{2014} name AAAAAAA\n".as_bytes()),
        Err(NoteParseError::SignatureLine {
            line_number: 1,
            error: SignatureLineError::InvalidBase64
        })
    );
    assert!(matches!(
        Note::parse("text\n\n\u{2014} na+me AAAAAAA=\n".as_bytes()),
        Err(NoteParseError::SignatureLine {
            error: SignatureLineError::KeyName(_),
            ..
        })
    ));
    // A second signature line that is really part of an unseparated block.
    assert!(Note::parse(format!("text\n\n{signature_line}not a signature\n").as_bytes()).is_err());

    let many = format!("text\n\n{}", signature_line.repeat(MAX_SIGNATURES + 1));
    assert_eq!(
        Note::parse(many.as_bytes()),
        Err(NoteParseError::TooManySignatures)
    );
    let sixteen = format!("text\n\n{}", signature_line.repeat(16));
    assert_eq!(
        Note::parse(sixteen.as_bytes()).map(|note| note.signatures().len()),
        Ok(16)
    );
}

#[test]
fn note_text_may_contain_blank_lines() {
    let text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n";
    let signer = SignerKey::from_seed(
        name("quasimodo.example/salvatore"),
        SignatureType::Ed25519,
        &[9; 32],
    );
    let mut note = Note::new(text).expect("valid text");
    note.sign(&signer).expect("sign");
    let parsed = Note::parse(note.to_text().as_bytes()).expect("well formed");
    assert_eq!(parsed.text(), text);
    assert!(parsed.verify(&[signer.verifier_key()]).is_ok());
}

#[test]
fn spec_format_example_parses() {
    // The signed-note "Format" example (its verifier key is not published).
    let example = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let note = Note::parse(example.as_bytes()).expect("spec example");
    assert_eq!(
        note.text(),
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n"
    );
    let signature: &NoteSignature = &note.signatures()[0];
    assert_eq!(signature.key_name.as_str(), "quasimodo.example/salvatore");
    assert_eq!(signature.key_id, KeyId(0x367b_a04b));
    assert_eq!(signature.signature.len(), 64);
}
