//! C2SP tlog-checkpoint, tlog-cosignature and tlog-witness: a real cosigned checkpoint, signing round trips, request/response bodies and the witness decision.

use corridor_tlog::cosignature::{MAX_TIMESTAMP, parse_timestamped_signature};
use corridor_tlog::note::SignatureFailure;
use corridor_tlog::{
    AddCheckpointRequest, AddCheckpointRequestError, AddCheckpointResponseError, Checkpoint,
    CheckpointError, ConsistencyProofError, EMPTY_ROOT, Hash, KeyId, KeyName, MemoryTree, Note,
    NoteSignError, NoteVerifyError, OpenCheckpointError, SignatureType, SignerKey, VerifierKey,
    WitnessDecision, WitnessedTreeHead, consistency_proof, cosign, decide_add_checkpoint,
    format_add_checkpoint_response, leaf_hash, parse_add_checkpoint_response, tree_root,
};

/// A checkpoint of the arche2025h1 staging CT log with witness cosignatures,
/// and the verifier keys of the log and of the remora.n621.de witness (as
/// published in their operators' witness lists).
const ARCHE_CHECKPOINT: &str = "arche2025h1.staging.ct.transparency.dev\n\
1432088532\n\
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n\
\n\
\u{2014} arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=\n\
\u{2014} arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n\
\u{2014} transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==\n\
\u{2014} witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==\n\
\u{2014} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n\
\u{2014} witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==\n";
const ARCHE_LOG_VKEY: &str =
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";
const REMORA_VKEY: &str = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";

fn name(text: &str) -> KeyName {
    KeyName::new(text).expect("valid key name")
}

#[test]
fn real_cosigned_checkpoint_verifies_with_log_and_witness_keys() {
    let log_key = VerifierKey::parse(ARCHE_LOG_VKEY).expect("log vkey");
    let witness_key = VerifierKey::parse(REMORA_VKEY).expect("witness vkey");
    assert_eq!(witness_key.signature_type(), SignatureType::CosignatureV1);
    assert_eq!(witness_key.key_id(), KeyId(0xda77_ade7));
    assert_eq!(witness_key.to_string(), REMORA_VKEY);

    let opened = Checkpoint::open(
        ARCHE_CHECKPOINT.as_bytes(),
        &[log_key.clone(), witness_key.clone()],
    )
    .expect("log signature and cosignature verify");
    assert_eq!(
        opened.checkpoint.origin,
        "arche2025h1.staging.ct.transparency.dev"
    );
    assert_eq!(opened.checkpoint.tree_size, 1_432_088_532);
    assert_eq!(opened.verified.len(), 2);
    assert_eq!(opened.verified[0].key_id, log_key.key_id());
    assert_eq!(opened.verified[0].timestamp, None);
    assert_eq!(opened.verified[1].key_id, witness_key.key_id());
    // 0x6a122120: the cosignature's big-endian timestamp.
    assert_eq!(opened.verified[1].timestamp, Some(0x6a12_2120));
    assert_eq!(opened.note.signatures().len(), 6);

    // Changing the tree size breaks both signatures.
    let clobbered = ARCHE_CHECKPOINT.replace("1432088532", "42");
    assert!(matches!(
        Checkpoint::open(clobbered.as_bytes(), &[witness_key]),
        Err(OpenCheckpointError::Verify(
            NoteVerifyError::InvalidSignature { .. }
        ))
    ));
    assert!(matches!(
        Checkpoint::open(clobbered.as_bytes(), &[log_key]),
        Err(OpenCheckpointError::Verify(
            NoteVerifyError::InvalidSignature { .. }
        ))
    ));
}

#[test]
fn spec_cosignature_example_carries_the_spec_timestamp() {
    // tlog-cosignature "Format" example: witness.example.com/w1 at time 1679315147.
    let line = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let signature = corridor_tlog::NoteSignature::parse_line(line).expect("spec line");
    let (timestamp, _) = parse_timestamped_signature(&signature.signature).expect("72 bytes");
    assert_eq!(timestamp, 1_679_315_147);
}

fn sample_checkpoint(tree: &MemoryTree) -> Checkpoint {
    Checkpoint {
        origin: "corridor.example/log".to_owned(),
        tree_size: tree.tree_size(),
        root_hash: tree.root(),
        extension_lines: Vec::new(),
    }
}

#[test]
fn cosignatures_round_trip_and_bind_the_timestamp() {
    let tree = MemoryTree::from_leaf_hashes(&[leaf_hash(b"passage 1"), leaf_hash(b"passage 2")]);
    let text = sample_checkpoint(&tree).to_text().expect("formattable");
    let witness = SignerKey::from_seed(
        name("witness.example/w1"),
        SignatureType::CosignatureV1,
        &[5; 32],
    );
    let witness_vkey = VerifierKey::parse(&witness.verifier_key().to_string()).expect("own vkey");
    assert!(
        witness_vkey
            .to_string()
            .split('+')
            .nth(2)
            .expect("three parts")
            .starts_with("B")
    );

    let cosignature = cosign(&witness, &text, 1_700_000_000).expect("cosigner key");
    assert_eq!(cosignature.signature.len(), 72);
    let mut note = Note::new(&text).expect("valid text");
    note.add_signature(cosignature.clone());
    let verified = note
        .verify(std::slice::from_ref(&witness_vkey))
        .expect("cosignature verifies");
    assert_eq!(verified[0].timestamp, Some(1_700_000_000));

    // Changing the timestamp invalidates the signature.
    let mut tampered = cosignature;
    tampered.signature[7] ^= 1;
    let mut note = Note::new(&text).expect("valid text");
    note.add_signature(tampered);
    assert!(matches!(
        note.verify(&[witness_vkey]),
        Err(NoteVerifyError::InvalidSignature {
            failure: SignatureFailure::Invalid,
            ..
        })
    ));

    // Key types do not mix: the same seed and name as a note key is another key ID.
    let as_note_key =
        SignerKey::from_seed(name("witness.example/w1"), SignatureType::Ed25519, &[5; 32]);
    assert_ne!(as_note_key.key_id(), witness.key_id());
    assert_eq!(
        cosign(&as_note_key, &text, 1),
        Err(NoteSignError::WrongSignatureType(SignatureType::Ed25519))
    );
    assert_eq!(
        witness.sign_note_text(&text),
        Err(NoteSignError::WrongSignatureType(
            SignatureType::CosignatureV1
        ))
    );
    assert_eq!(
        cosign(&witness, &text, MAX_TIMESTAMP + 1),
        Err(NoteSignError::TimestampOutOfRange(1 << 63))
    );
}

#[test]
fn checkpoints_round_trip_with_extension_lines_and_reject_bad_fields() {
    let tree = MemoryTree::from_leaf_hashes(&[leaf_hash(b"a")]);
    let mut checkpoint = sample_checkpoint(&tree);
    checkpoint.extension_lines = vec!["extension one".to_owned(), "\u{2014} two".to_owned()];
    let text = checkpoint.to_text().expect("formattable");
    assert_eq!(Checkpoint::parse(&text), Ok(checkpoint.clone()));

    let mut bad = checkpoint.clone();
    bad.origin = "two\nlines".to_owned();
    assert!(matches!(
        bad.to_text(),
        Err(CheckpointError::UnformattableField {
            field: "origin",
            ..
        })
    ));
    let mut bad = checkpoint;
    bad.extension_lines.push(String::new());
    assert!(matches!(
        bad.to_text(),
        Err(CheckpointError::UnformattableField {
            field: "extension line",
            ..
        })
    ));

    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    assert_eq!(
        Checkpoint::parse(&format!("\n1\n{root}\n")),
        Err(CheckpointError::EmptyOrigin)
    );
    assert_eq!(
        Checkpoint::parse("origin\n"),
        Err(CheckpointError::MissingTreeSize)
    );
    assert_eq!(
        Checkpoint::parse("origin\n1\n"),
        Err(CheckpointError::MissingRootHash)
    );
    assert_eq!(
        Checkpoint::parse("origin\n1\nAAAA\n"),
        Err(CheckpointError::InvalidRootHash {
            text: "AAAA".to_owned()
        })
    );
    assert_eq!(
        Checkpoint::parse(&format!("origin\n1\n{root}\next\n\nmore\n")),
        Err(CheckpointError::EmptyExtensionLine { line_number: 5 })
    );
    assert!(matches!(
        Checkpoint::parse(&format!("origin\n1\n{root}")),
        Err(CheckpointError::Text(_))
    ));
}

#[test]
fn add_checkpoint_request_round_trips_and_rejects_malformed_bodies() {
    let leaves: Vec<Hash> = (0u32..20).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let tree = MemoryTree::from_leaf_hashes(&leaves);
    let log = SignerKey::from_seed(
        name("corridor.example/log"),
        SignatureType::Ed25519,
        &[8; 32],
    );
    let mut note =
        Note::new(&sample_checkpoint(&tree).to_text().expect("formattable")).expect("valid");
    note.sign(&log).expect("sign");
    let request = AddCheckpointRequest {
        old_size: 7,
        consistency_proof: consistency_proof(7, 20, &tree).expect("sizes in order"),
        signed_checkpoint: note.to_text(),
    };
    let body = request.to_body();
    assert!(body.starts_with("old 7\n"));
    let parsed = AddCheckpointRequest::parse(body.as_bytes()).expect("own body");
    assert_eq!(parsed, request);
    let opened = Checkpoint::open(parsed.signed_checkpoint.as_bytes(), &[log.verifier_key()])
        .expect("signed");
    assert_eq!(opened.checkpoint.tree_size, 20);

    let checkpoint_part = note.to_text();
    for (bad_body, expected) in [
        (
            format!("old 07\n\n{checkpoint_part}"),
            AddCheckpointRequestError::InvalidOldSizeLine {
                line: "old 07".to_owned(),
            },
        ),
        (
            format!("old -1\n\n{checkpoint_part}"),
            AddCheckpointRequestError::InvalidOldSizeLine {
                line: "old -1".to_owned(),
            },
        ),
        (
            format!("new 7\n\n{checkpoint_part}"),
            AddCheckpointRequestError::InvalidOldSizeLine {
                line: "new 7".to_owned(),
            },
        ),
        (
            format!("old 7\nAAAA\n\n{checkpoint_part}"),
            AddCheckpointRequestError::InvalidProofLine {
                line_number: 2,
                line: "AAAA".to_owned(),
            },
        ),
        (
            "old 7\n".to_owned(),
            AddCheckpointRequestError::MissingSeparator,
        ),
        (
            "old 7\n\n".to_owned(),
            AddCheckpointRequestError::MissingCheckpoint,
        ),
        (
            format!(
                "old 7\n{}\n{checkpoint_part}",
                "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".repeat(64)
            ),
            AddCheckpointRequestError::TooManyProofLines,
        ),
    ] {
        assert_eq!(
            AddCheckpointRequest::parse(bad_body.as_bytes()),
            Err(expected),
            "{bad_body:?}"
        );
    }
}

#[test]
fn add_checkpoint_response_round_trips() {
    let witness = SignerKey::from_seed(
        name("witness.example/w1"),
        SignatureType::CosignatureV1,
        &[5; 32],
    );
    let text = "corridor.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    let cosignatures = vec![
        cosign(&witness, text, 1).expect("sign"),
        cosign(&witness, text, 2).expect("sign"),
    ];
    let body = format_add_checkpoint_response(&cosignatures);
    assert_eq!(body.lines().count(), 2);
    assert_eq!(
        parse_add_checkpoint_response(body.as_bytes()),
        Ok(cosignatures)
    );
    assert_eq!(
        parse_add_checkpoint_response(b""),
        Err(AddCheckpointResponseError::Empty)
    );
    assert!(matches!(
        parse_add_checkpoint_response(b"not a signature\n"),
        Err(AddCheckpointResponseError::SignatureLine { line_number: 1, .. })
    ));
}

#[test]
fn witness_decisions_follow_the_spec_order() {
    let leaves: Vec<Hash> = (0u32..30).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let tree = MemoryTree::from_leaf_hashes(&leaves);
    let at = |size: u64| WitnessedTreeHead {
        tree_size: size,
        root_hash: tree_root(size, &tree).expect("stored"),
    };
    let checkpoint_at = |size: u64| Checkpoint {
        origin: "corridor.example/log".to_owned(),
        tree_size: size,
        root_hash: tree_root(size, &tree).expect("stored"),
        extension_lines: Vec::new(),
    };
    let proof = |old: u64, new: u64| consistency_proof(old, new, &tree).expect("sizes in order");

    // First contact: old size 0, empty proof.
    assert_eq!(
        decide_add_checkpoint(None, 0, &[], &checkpoint_at(10)),
        WitnessDecision::Accept { new_state: at(10) }
    );
    // A proof from size 0 must be empty.
    assert!(matches!(
        decide_add_checkpoint(None, 0, &[EMPTY_ROOT], &checkpoint_at(10)),
        WitnessDecision::InconsistentProof(ConsistencyProofError::WrongProofLength { .. })
    ));
    // Normal growth.
    assert_eq!(
        decide_add_checkpoint(Some(&at(10)), 10, &proof(10, 25), &checkpoint_at(25)),
        WitnessDecision::Accept { new_state: at(25) }
    );
    // 400: old size above the checkpoint size.
    assert_eq!(
        decide_add_checkpoint(Some(&at(10)), 26, &[], &checkpoint_at(25)),
        WitnessDecision::OldSizeExceedsCheckpointSize {
            old_size: 26,
            checkpoint_size: 25
        }
    );
    // 409: the client is behind or ahead of what the witness cosigned.
    assert_eq!(
        decide_add_checkpoint(Some(&at(10)), 7, &proof(7, 25), &checkpoint_at(25)),
        WitnessDecision::OldSizeMismatch {
            latest_cosigned_size: 10
        }
    );
    assert_eq!(
        decide_add_checkpoint(None, 7, &proof(7, 25), &checkpoint_at(25)),
        WitnessDecision::OldSizeMismatch {
            latest_cosigned_size: 0
        }
    );
    // Same size, same root: re-cosign.
    assert_eq!(
        decide_add_checkpoint(Some(&at(25)), 25, &[], &checkpoint_at(25)),
        WitnessDecision::Accept { new_state: at(25) }
    );
    // 409: same size, different root (a split view).
    let mut forked = checkpoint_at(25);
    forked.root_hash = leaf_hash(b"fork");
    assert_eq!(
        decide_add_checkpoint(Some(&at(25)), 25, &[], &forked),
        WitnessDecision::RootMismatchAtSameSize { tree_size: 25 }
    );
    // 422: a proof that does not connect the stored root to the new root.
    let mut forked = checkpoint_at(30);
    forked.root_hash = leaf_hash(b"fork");
    assert!(matches!(
        decide_add_checkpoint(Some(&at(25)), 25, &proof(25, 30), &forked),
        WitnessDecision::InconsistentProof(ConsistencyProofError::NewRootMismatch { .. })
    ));
    let mut wrong_proof = proof(25, 30);
    wrong_proof[0][0] ^= 1;
    assert!(matches!(
        decide_add_checkpoint(Some(&at(25)), 25, &wrong_proof, &checkpoint_at(30)),
        WitnessDecision::InconsistentProof(_)
    ));
}
