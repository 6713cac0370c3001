//! Integration against the in-memory reference tree: every tile written
//! matches `MemoryTree`, every published size verifies and extends the last,
//! proofs for published and unpublished sizes check out, and an interrupted
//! integration is finished by the next one.

use std::sync::Arc;

use corridor_log::{
    LogDirectory, LogReader, LogSource, MemoryLeaves, TrustedHead, VerifyPolicy, integrate,
    verify_log,
};
use corridor_tlog::tile::tiles_for_size;
use corridor_tlog::{
    KeyName, MemoryTree, SignatureType, SignerKey, leaf_hash, parse_tile_data, verify_consistency,
    verify_inclusion,
};

fn signer() -> SignerKey {
    let name = KeyName::new("test.example/log").expect("valid name");
    SignerKey::from_seed(name, SignatureType::Ed25519, &[9u8; 32])
}

fn leaves(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|index| format!("{{\"v\":1,\"record\":{{\"id\":\"r-{index}\"}}}}").into_bytes())
        .collect()
}

fn check_tiles_match(directory: &dyn LogSource, tree: &MemoryTree, tree_size: u64) {
    for tile in tiles_for_size(tree_size) {
        let bytes = directory
            .read(&tile.path())
            .unwrap_or_else(|error| panic!("{} unreadable: {error}", tile.path()))
            .unwrap_or_else(|| panic!("{} missing", tile.path()));
        let hashes = parse_tile_data(&tile, &bytes).expect("tile has its width");
        for (position, hash) in hashes.iter().enumerate() {
            let address = tile.hash_address(position as u16).expect("address");
            assert_eq!(
                Some(*hash),
                tree.stored_hash(address),
                "{} position {position}",
                tile.path()
            );
        }
    }
}

#[test]
fn integration_in_steps_matches_the_reference_tree_and_verifies() {
    let directory_holder = tempfile::tempdir().expect("temporary directory");
    let directory = Arc::new(LogDirectory::new(directory_holder.path().join("log")));
    let signer = signer();
    let all = leaves(66_000);
    let hashes: Vec<_> = all.iter().map(|leaf| leaf_hash(leaf)).collect();
    let mut previous: Option<TrustedHead> = None;
    for size in [0usize, 1, 5, 255, 256, 257, 600, 65_536, 66_000] {
        let source = MemoryLeaves(all[..size].to_vec());
        let integration = integrate(&source, &*directory, &signer).expect("integrates");
        let tree = MemoryTree::from_leaf_hashes(&hashes[..size]);
        assert_eq!(integration.tree_size, size as u64);
        assert_eq!(integration.root_hash, tree.root(), "root at {size}");
        check_tiles_match(&*directory, &tree, size as u64);
        let log_key = signer.verifier_key();
        let policy = VerifyPolicy {
            log_key: &log_key,
            witnesses: &[],
            min_witnesses: 0,
            previous,
        };
        let verified = verify_log(&*directory, &policy).expect("verifies");
        assert_eq!(verified.checkpoint.tree_size, size as u64);
        previous = Some(TrustedHead {
            tree_size: size as u64,
            root_hash: tree.root(),
        });
    }

    // Proofs for published and never-published sizes, from the tiles.
    let reader = LogReader::new(directory.clone());
    for tree_size in [1u64, 7, 256, 300, 600, 65_537, 66_000] {
        let tree = MemoryTree::from_leaf_hashes(&hashes[..tree_size as usize]);
        assert_eq!(reader.root_at(tree_size).expect("root"), tree.root());
        for leaf_index in [0, tree_size / 2, tree_size - 1] {
            let proof = reader
                .inclusion_proof(leaf_index, tree_size)
                .expect("inclusion proof");
            verify_inclusion(
                &hashes[leaf_index as usize],
                leaf_index,
                tree_size,
                &proof,
                &tree.root(),
            )
            .expect("inclusion verifies");
        }
        let newest = MemoryTree::from_leaf_hashes(&hashes);
        let proof = reader
            .consistency_proof(tree_size, 66_000)
            .expect("consistency proof");
        verify_consistency(tree_size, 66_000, &tree.root(), &newest.root(), &proof)
            .expect("consistency verifies");
    }
}

#[test]
fn an_interrupted_integration_is_finished_by_the_next() {
    let directory_holder = tempfile::tempdir().expect("temporary directory");
    let directory = Arc::new(LogDirectory::new(directory_holder.path().join("log")));
    let signer = signer();
    let all = leaves(700);
    integrate(&MemoryLeaves(all[..300].to_vec()), &*directory, &signer).expect("first");
    integrate(&MemoryLeaves(all.clone()), &*directory, &signer).expect("second");
    // Pretend the second run died after writing its tiles, before its checkpoint.
    let older = std::fs::read(directory.root().join("checkpoints/300")).expect("history kept");
    std::fs::write(directory.root().join("checkpoint"), older).expect("rewind checkpoint");
    let log_key = signer.verifier_key();
    let policy = VerifyPolicy {
        log_key: &log_key,
        witnesses: &[],
        min_witnesses: 0,
        previous: None,
    };
    assert_eq!(
        verify_log(&*directory, &policy)
            .expect("the older checkpoint still verifies")
            .checkpoint
            .tree_size,
        300
    );
    let again = integrate(&MemoryLeaves(all.clone()), &*directory, &signer).expect("repair");
    assert_eq!(again.previous_size, 300);
    assert_eq!(again.tree_size, 700);
    let tree =
        MemoryTree::from_leaf_hashes(&all.iter().map(|leaf| leaf_hash(leaf)).collect::<Vec<_>>());
    assert_eq!(again.root_hash, tree.root());
    verify_log(&*directory, &policy).expect("repaired log verifies");
}

#[test]
fn a_store_that_no_longer_holds_the_published_leaves_is_refused() {
    let directory_holder = tempfile::tempdir().expect("temporary directory");
    let directory = Arc::new(LogDirectory::new(directory_holder.path().join("log")));
    let signer = signer();
    let mut all = leaves(300);
    integrate(&MemoryLeaves(all[..270].to_vec()), &*directory, &signer).expect("first");
    all[260] = b"a different leaf 260".to_vec();
    let error = integrate(&MemoryLeaves(all.clone()), &*directory, &signer)
        .expect_err("a replaced store must not be published");
    assert!(
        matches!(
            error,
            corridor_log::IntegrateError::StoreDiffersFromLog { leaf_index: 260 }
        ),
        "{error}"
    );
    let error = integrate(&MemoryLeaves(all[..100].to_vec()), &*directory, &signer)
        .expect_err("a shrunk store must not be published");
    assert!(error.to_string().contains("holds 100 leaves"), "{error}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Whatever the sizes of the integration steps, the tiles are those of
    /// the reference tree and every proof from them verifies.
    #[test]
    fn any_sequence_of_steps_gives_the_reference_tree(
        steps in proptest::collection::vec(1usize..400, 1..4),
        probe in 0usize..10_000,
    ) {
        let directory_holder = tempfile::tempdir().expect("temporary directory");
        let directory = Arc::new(LogDirectory::new(directory_holder.path().join("log")));
        let signer = signer();
        let total: usize = steps.iter().sum();
        let all = leaves(total);
        let hashes: Vec<_> = all.iter().map(|leaf| leaf_hash(leaf)).collect();
        let mut size = 0;
        for step in steps {
            size += step;
            let integration = integrate(&MemoryLeaves(all[..size].to_vec()), &*directory, &signer)
                .expect("integrates");
            let tree = MemoryTree::from_leaf_hashes(&hashes[..size]);
            proptest::prop_assert_eq!(integration.root_hash, tree.root());
            check_tiles_match(&*directory, &tree, size as u64);
        }
        let reader = LogReader::new(directory.clone());
        let tree = MemoryTree::from_leaf_hashes(&hashes);
        let tree_size = 1 + (probe % total) as u64;
        let leaf_index = (probe as u64 * 7) % tree_size;
        let partial = MemoryTree::from_leaf_hashes(&hashes[..tree_size as usize]);
        let proof = reader.inclusion_proof(leaf_index, tree_size).expect("proof");
        proptest::prop_assert!(verify_inclusion(&hashes[leaf_index as usize], leaf_index, tree_size, &proof, &partial.root()).is_ok());
        let consistency = reader.consistency_proof(tree_size, total as u64).expect("consistency");
        proptest::prop_assert!(verify_consistency(tree_size, total as u64, &partial.root(), &tree.root(), &consistency).is_ok());
    }
}

#[test]
fn periodic_integration_publishes_what_arrives_and_stops_when_told() {
    let directory_holder = tempfile::tempdir().expect("temporary directory");
    let directory = Arc::new(LogDirectory::new(directory_holder.path().join("log")));
    let log = corridor_log::Log::new(directory.clone(), signer());
    let source = MemoryLeaves(leaves(42));
    let mut rounds = Vec::new();
    log.integrate_periodically(
        &source,
        std::time::Duration::from_millis(5),
        |integration| {
            rounds.push(integration.tree_size);
            rounds.len() < 3
        },
    )
    .expect("integrates");
    assert_eq!(rounds, vec![42, 42, 42]);
    assert_eq!(
        corridor_log::LogReader::new(directory)
            .latest()
            .expect("published")
            .checkpoint
            .tree_size,
        42
    );
}
