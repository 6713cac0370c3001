//! The log's side of tlog-witness against real witnesses, in-process: the log
//! sends `add-checkpoint` requests, attaches the cosignatures the answers
//! carry, recovers from a stale size with the witness's `409`, and a forked
//! history is refused; a 2-of-3 policy then verifies the cosigned log.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use corridor_log::{
    Log, LogDirectory, MemoryLeaves, VerifyPolicy, Witness, WitnessList, WitnessOutcome,
    WitnessTransport, answer_add_checkpoint, collect_cosignatures, verify_log,
};
use corridor_tlog::{KeyName, SignatureType, SignerKey};

fn signer() -> SignerKey {
    SignerKey::from_seed(
        KeyName::new("test.example/log").expect("name"),
        SignatureType::Ed25519,
        &[3u8; 32],
    )
}

fn leaves(prefix: &str, count: usize) -> MemoryLeaves {
    MemoryLeaves(
        (0..count)
            .map(|index| format!("{{\"{prefix}\":{index}}}").into_bytes())
            .collect(),
    )
}

/// Routes a URL to the witness it names, as an HTTP server would.
struct InProcess {
    witnesses: BTreeMap<String, Witness>,
    now: u64,
}

impl WitnessTransport for InProcess {
    fn post(&self, url: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let prefix = url
            .strip_suffix("/add-checkpoint")
            .ok_or("not an add-checkpoint URL")?;
        let witness = self
            .witnesses
            .get(prefix)
            .ok_or_else(|| format!("connection refused: {prefix}"))?;
        let answer = answer_add_checkpoint(witness, body, self.now);
        Ok((answer.status, answer.body.into_bytes()))
    }
}

fn witnesses(root: &Path, log_key: &corridor_tlog::VerifierKey) -> (InProcess, WitnessList) {
    let mut routes = BTreeMap::new();
    let mut list = WitnessList::default();
    for name in ["alpha", "beta", "gamma"] {
        let witness =
            Witness::init(&root.join(name), &format!("{name}.witness.example")).expect("witness");
        witness.add_log(log_key).expect("follows the log");
        let url = format!("http://{name}.invalid");
        list.add(&witness.verifier_key().to_string(), &url)
            .expect("added");
        routes.insert(url, witness);
    }
    (
        InProcess {
            witnesses: routes,
            now: 1_700_000_000,
        },
        list,
    )
}

fn cosigned_names(outcomes: &[WitnessOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            WitnessOutcome::Cosigned {
                witness, added: 1, ..
            } => Some(witness.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn witnesses_cosign_a_growing_log_and_two_of_three_verify() {
    let holder = tempfile::tempdir().expect("temp dir");
    let log = Log::new(
        Arc::new(LogDirectory::new(holder.path().join("log"))),
        signer(),
    );
    let (transport, mut list) = witnesses(holder.path(), &log.verifier_key());

    log.integrate(&leaves("a", 300)).expect("integrates");
    let first = collect_cosignatures(&log, &mut list, &transport);
    assert_eq!(
        cosigned_names(&first),
        vec![
            "alpha.witness.example",
            "beta.witness.example",
            "gamma.witness.example"
        ]
    );

    // The log grows; each witness gets a consistency proof from the size it cosigned.
    log.integrate(&leaves("a", 700)).expect("integrates");
    let second = collect_cosignatures(&log, &mut list, &transport);
    assert_eq!(cosigned_names(&second).len(), 3, "{second:?}");
    assert_eq!(
        list.cosigned_sizes.values().copied().collect::<Vec<_>>(),
        vec![700, 700, 700]
    );

    let log_key = log.verifier_key();
    let witness_keys: Vec<_> = transport
        .witnesses
        .values()
        .map(Witness::verifier_key)
        .collect();
    let policy = VerifyPolicy {
        log_key: &log_key,
        witnesses: &witness_keys[..2],
        min_witnesses: 2,
        previous: None,
    };
    let verified = verify_log(log.storage().as_ref(), &policy).expect("two of three cosigned");
    assert_eq!(verified.cosigned_by.len(), 2);
}

#[test]
fn a_stale_size_is_corrected_by_the_witness_conflict_answer() {
    let holder = tempfile::tempdir().expect("temp dir");
    let log = Log::new(
        Arc::new(LogDirectory::new(holder.path().join("log"))),
        signer(),
    );
    let (transport, mut list) = witnesses(holder.path(), &log.verifier_key());
    log.integrate(&leaves("a", 100)).expect("integrates");
    collect_cosignatures(&log, &mut list, &transport);
    log.integrate(&leaves("a", 150)).expect("integrates");
    // The log forgot what the witnesses hold (a lost state file).
    list.cosigned_sizes.clear();
    let outcomes = collect_cosignatures(&log, &mut list, &transport);
    assert_eq!(cosigned_names(&outcomes).len(), 3, "{outcomes:?}");
}

#[test]
fn a_forked_history_is_refused_and_unreachable_witnesses_are_reported() {
    let holder = tempfile::tempdir().expect("temp dir");
    let honest = Log::new(
        Arc::new(LogDirectory::new(holder.path().join("log"))),
        signer(),
    );
    let (mut transport, mut list) = witnesses(holder.path(), &honest.verifier_key());
    honest.integrate(&leaves("a", 40)).expect("integrates");
    collect_cosignatures(&honest, &mut list, &transport);

    // The same key signs another history of the same origin.
    let forked = Log::new(
        Arc::new(LogDirectory::new(holder.path().join("forked"))),
        signer(),
    );
    forked.integrate(&leaves("b", 60)).expect("integrates");
    let outcomes = collect_cosignatures(&forked, &mut list, &transport);
    assert!(
        outcomes
            .iter()
            .all(|outcome| matches!(outcome, WitnessOutcome::Refused { status: 409, .. })),
        "{outcomes:?}"
    );
    assert!(cosigned_names(&outcomes).is_empty());

    transport.witnesses.remove("http://gamma.invalid");
    honest.integrate(&leaves("a", 41)).expect("integrates");
    let outcomes = collect_cosignatures(&honest, &mut list, &transport);
    assert_eq!(cosigned_names(&outcomes).len(), 2);
    assert!(outcomes.iter().any(|outcome| matches!(outcome, WitnessOutcome::Unreachable { reason, .. } if reason.contains("connection refused"))));
}

#[test]
fn the_witness_list_refuses_log_keys_and_non_http_urls_and_survives_a_round_trip() {
    let holder = tempfile::tempdir().expect("temp dir");
    let mut list = WitnessList::default();
    let log_key = signer().verifier_key().to_string();
    assert!(
        list.add(&log_key, "https://w.example")
            .expect_err("log key")
            .to_string()
            .contains("not a witness")
    );
    let witness = Witness::init(&holder.path().join("w"), "w.example").expect("witness");
    let key = witness.verifier_key().to_string();
    assert!(list.add(&key, "ftp://w.example").is_err());
    list.add(&key, "https://w.example/").expect("added");
    list.cosigned_sizes.insert("w.example".into(), 5);
    let path = holder.path().join("witnesses.json");
    list.save(&path).expect("saved");
    assert_eq!(WitnessList::load(&path).expect("loaded"), list);
    assert_eq!(
        WitnessList::load(&holder.path().join("none.json")).expect("empty"),
        WitnessList::default()
    );
}
