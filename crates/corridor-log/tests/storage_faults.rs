//! The log's invariant under faults, on the in-memory backend: "the
//! checkpoint is replaced only after every file it covers is durable". An
//! integration is failed at every write it makes (each tile and bundle, the
//! checkpoint copy, the checkpoint swap), at its durability point, and
//! crashed after each failure (losing what was not yet durable); after
//! each, the previous checkpoint still verifies, and the next integration
//! publishes the reference tree holding every leaf. Verification and proofs
//! are checked on the same backend, and a second writer's different bytes
//! are refused with the path named.

mod common;
use common::{leaves, reference_root};

use std::collections::BTreeSet;
use std::sync::Arc;

use corridor_log::{IntegrateError, LogSource, LogStorage};
use corridor_log::{
    LogFault, LogReader, LogStorageError, MemoryLeaves, MemoryLog, VerifyError, VerifyPolicy,
    integrate, read_leaves, verify_log,
};
use corridor_tlog::{
    Hash, KeyName, MemoryTree, SignatureType, SignerKey, leaf_hash, verify_inclusion,
};

fn signer() -> SignerKey {
    let name = KeyName::new("test.example/log").expect("valid name");
    SignerKey::from_seed(name, SignatureType::Ed25519, &[5u8; 32])
}

/// Verifies the whole log and checks it is exactly the first `size` of `all`.
fn assert_published(log: &MemoryLog, all: &[Vec<u8>], size: usize, context: &str) {
    let log_key = signer().verifier_key();
    let policy = VerifyPolicy {
        log_key: &log_key,
        witnesses: &[],
        min_witnesses: 0,
        previous: None,
    };
    let verified =
        verify_log(log, &policy).unwrap_or_else(|error| panic!("{context}: verify: {error}"));
    assert_eq!(verified.checkpoint.tree_size, size as u64, "{context}");
    let root = reference_root(&all[..size]);
    assert_eq!(verified.checkpoint.root_hash, root, "{context}");
    let published = read_leaves(log, size as u64, &root)
        .unwrap_or_else(|error| panic!("{context}: leaves: {error}"));
    assert_eq!(published, all[..size], "{context}");
}

/// A log holding the first `size` leaves of `all`, published cleanly.
fn log_at(all: &[Vec<u8>], size: usize) -> MemoryLog {
    let log = MemoryLog::new();
    if size > 0 {
        integrate(&MemoryLeaves(all[..size].to_vec()), &log, &signer()).expect("first step");
    }
    log
}

/// Fails the step `from..to` of an integration at `fault` (a write index
/// counted from the step's start, or the sync), crashes if asked, checks the
/// previous checkpoint, then resumes and checks the whole tree. Returns the
/// operation that failed.
fn fail_then_resume(
    all: &[Vec<u8>],
    from: usize,
    to: usize,
    fault: Option<u64>,
    crash: bool,
) -> String {
    let log = log_at(all, from);
    let context = format!("step {from}..{to}, fault {fault:?}, crash {crash}");
    match fault {
        Some(index) => log.inject(LogFault::FailWrite(log.writes() + index)),
        None => log.inject(LogFault::FailSync),
    }
    let error = integrate(&MemoryLeaves(all[..to].to_vec()), &log, &signer())
        .expect_err("the injected fault stops the integration");
    let operation = match &error {
        IntegrateError::Storage(LogStorageError::Injected { operation, .. }) => {
            (*operation).to_owned()
        }
        other => panic!("{context}: not the injected fault: {other}"),
    };
    if crash {
        log.crash();
    }
    if from > 0 {
        assert_published(&log, all, from, &format!("{context}, after the failure"));
    } else {
        assert_eq!(
            log.read("checkpoint").expect("readable"),
            None,
            "{context}: nothing published before"
        );
    }
    let resumed = integrate(&MemoryLeaves(all[..to].to_vec()), &log, &signer())
        .unwrap_or_else(|error| panic!("{context}: resuming: {error}"));
    assert_eq!(resumed.previous_size, from as u64, "{context}");
    assert_eq!(resumed.tree_size, to as u64, "{context}");
    assert_eq!(resumed.root_hash, reference_root(&all[..to]), "{context}");
    assert_published(&log, all, to, &format!("{context}, resumed"));
    // What a finished integration published is durable.
    log.crash();
    assert_published(&log, all, to, &format!("{context}, crashed after resuming"));
    operation
}

#[test]
fn an_integration_failed_at_any_step_leaves_a_verifiable_log_and_resumes() {
    let all = leaves("r", 700);
    // From nothing; within a partial tile; across a full tile and bundle.
    for (from, to) in [(0, 300), (300, 310), (300, 700)] {
        let probe = log_at(&all, from);
        let before = probe.writes();
        integrate(&MemoryLeaves(all[..to].to_vec()), &probe, &signer()).expect("clean step");
        let step_writes = probe.writes() - before;
        let mut operations = BTreeSet::new();
        for index in 0..step_writes {
            for crash in [false, true] {
                operations.insert(fail_then_resume(&all, from, to, Some(index), crash));
            }
        }
        for crash in [false, true] {
            operations.insert(fail_then_resume(&all, from, to, None, crash));
        }
        assert_eq!(
            operations,
            BTreeSet::from(
                [
                    "create",
                    "replace_checkpoint",
                    "sync",
                    "write_checkpoint_copy"
                ]
                .map(str::to_owned)
            ),
            "step {from}..{to} ({step_writes} writes) failed at every kind of step"
        );
    }
}

#[test]
fn a_crash_after_the_durability_point_keeps_the_files_and_the_old_checkpoint() {
    let all = leaves("r", 700);
    // The same step on a twin says how many writes it makes; the last two
    // are the checkpoint copy and the checkpoint swap.
    let twin = log_at(&all, 300);
    let start = twin.writes();
    integrate(&MemoryLeaves(all.clone()), &twin, &signer()).expect("twin");
    let step_writes = twin.writes() - start;
    let log = log_at(&all, 300);
    log.inject(LogFault::FailWrite(log.writes() + step_writes - 2));
    let error = integrate(&MemoryLeaves(all.clone()), &log, &signer()).expect_err("copy fails");
    assert!(
        matches!(
            error,
            IntegrateError::Storage(LogStorageError::Injected {
                operation: "write_checkpoint_copy",
                ..
            })
        ),
        "{error}"
    );
    let files_before_crash = log.paths();
    log.crash();
    assert_eq!(log.paths(), files_before_crash, "every tile was durable");
    assert_published(&log, &all, 300, "after the crash");
    integrate(&MemoryLeaves(all.clone()), &log, &signer()).expect("resumes");
    assert_published(&log, &all, 700, "resumed");
}

#[test]
fn verification_and_proofs_work_on_the_memory_backend_and_name_an_altered_tile() {
    let all = leaves("r", 300);
    let log = Arc::new(log_at(&all, 300));
    assert_published(&log, &all, 300, "clean");
    let reader = LogReader::new(log.clone());
    let hashes: Vec<Hash> = all.iter().map(|leaf| leaf_hash(leaf)).collect();
    for (leaf_index, tree_size) in [(0_u64, 1_u64), (7, 100), (299, 300)] {
        let proof = reader
            .inclusion_proof(leaf_index, tree_size)
            .expect("inclusion proof");
        let root = MemoryTree::from_leaf_hashes(&hashes[..tree_size as usize]).root();
        verify_inclusion(
            &hashes[leaf_index as usize],
            leaf_index,
            tree_size,
            &proof,
            &root,
        )
        .expect("the proof verifies");
    }

    let mut tile = log
        .read("tile/0/000")
        .expect("readable")
        .expect("a full tile");
    tile[5 * 32] ^= 1;
    log.overwrite("tile/0/000", tile);
    let log_key = signer().verifier_key();
    let policy = VerifyPolicy {
        log_key: &log_key,
        witnesses: &[],
        min_witnesses: 0,
        previous: None,
    };
    let error = verify_log(log.as_ref(), &policy).expect_err("altered");
    assert!(matches!(error, VerifyError::Tampered { .. }), "{error}");
    assert!(
        error.to_string().contains("tile/0/000: hash 5 (leaf 5)"),
        "{error}"
    );
}

#[test]
fn a_second_writer_with_other_leaves_is_refused_and_the_path_named() {
    let first = leaves("a", 700);
    let mut second = first.clone();
    for leaf in &mut second[300..] {
        leaf.push(b' ');
    }
    let log = log_at(&first, 300);
    // The first writer's files are written but its checkpoint swap fails,
    // as when a slower writer has not published yet.
    let twin = log_at(&first, 300);
    let before = twin.writes();
    integrate(&MemoryLeaves(first.clone()), &twin, &signer()).expect("twin");
    assert_eq!(log.writes(), before);
    log.inject(LogFault::FailWrite(twin.writes() - 1));
    integrate(&MemoryLeaves(first.clone()), &log, &signer()).expect_err("swap fails");
    let error = integrate(&MemoryLeaves(second.clone()), &log, &signer())
        .expect_err("different bytes at written paths");
    assert!(
        matches!(
            &error,
            IntegrateError::Storage(LogStorageError::Conflict { path }) if path.starts_with("memory:tile/")
        ),
        "{error}"
    );
    // Nothing was replaced: the first writer finishes its own tree.
    assert_published(&log, &first, 300, "after the refusal");
    integrate(&MemoryLeaves(first.clone()), &log, &signer()).expect("the first writer resumes");
    assert_published(&log, &first, 700, "first writer");
}

#[test]
fn the_checkpoint_copy_only_gains_cosignatures() {
    let all = leaves("r", 10);
    let log = log_at(&all, 10);
    let copy = log
        .read("checkpoints/10")
        .expect("readable")
        .expect("a copy");
    let error = log
        .write_checkpoint_copy(10, b"test.example/log\n10\nAAAA\n\n\xe2\x80\x94 x y\n")
        .expect_err("another checkpoint");
    assert!(
        matches!(error, LogStorageError::NotSuccessor { .. }),
        "{error}"
    );
    let mut cosigned = copy.clone();
    cosigned.extend_from_slice("— witness.example AAAA\n".as_bytes());
    log.write_checkpoint_copy(10, &cosigned)
        .expect("more signatures");
    let error = log
        .write_checkpoint_copy(10, &copy)
        .expect_err("fewer signatures");
    assert!(
        error.to_string().contains("drops the signature line"),
        "{error}"
    );
}
