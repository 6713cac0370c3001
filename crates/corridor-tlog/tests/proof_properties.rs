//! Property tests: generated proofs always verify, any one-bit change breaks them, and the incremental builder agrees with the RFC 9162 recursive definitions.

use corridor_tlog::{
    CompactRange, EMPTY_ROOT, Hash, MemoryTree, SubtreeAddress, consistency_proof, inclusion_proof,
    leaf_hash, node_hash, tree_root, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

/// `MTH(D[n])` exactly as RFC 9162 §2.1.1 defines it.
fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n);
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn largest_power_of_two_below(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// `PATH(m, D[n])`, RFC 9162 §2.1.3.1.
fn reference_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = largest_power_of_two_below(n);
    if m < k {
        let mut path = reference_path(m, &leaves[..k]);
        path.push(reference_root(&leaves[k..]));
        path
    } else {
        let mut path = reference_path(m - k, &leaves[k..]);
        path.push(reference_root(&leaves[..k]));
        path
    }
}

/// `SUBPROOF(m, D[n], b)`, RFC 9162 §2.1.4.1.
fn reference_subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            vec![reference_root(leaves)]
        };
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        let mut proof = reference_subproof(m, &leaves[..k], complete);
        proof.push(reference_root(&leaves[k..]));
        proof
    } else {
        let mut proof = reference_subproof(m - k, &leaves[k..], false);
        proof.push(reference_root(&leaves[..k]));
        proof
    }
}

fn leaves(count: u64) -> Vec<Hash> {
    (0..count)
        .map(|index| leaf_hash(&index.to_be_bytes()))
        .collect()
}

fn flip_bit(hash: &Hash, bit: usize) -> Hash {
    let mut flipped = *hash;
    flipped[bit / 8] ^= 1 << (bit % 8);
    flipped
}

#[test]
fn generated_proofs_equal_the_rfc_recursive_definitions_for_all_small_trees() {
    let all = leaves(40);
    let tree = MemoryTree::from_leaf_hashes(&all);
    for size in 1..=all.len() {
        let prefix = &all[..size];
        for index in 0..size {
            let generated =
                inclusion_proof(index as u64, size as u64, &tree).expect("leaf in tree");
            assert_eq!(
                generated,
                reference_path(index, prefix),
                "PATH({index}, {size})"
            );
        }
        for old_size in 1..size {
            let generated =
                consistency_proof(old_size as u64, size as u64, &tree).expect("sizes in order");
            assert_eq!(
                generated,
                reference_subproof(old_size, prefix, true),
                "PROOF({old_size}, {size})"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn inclusion_proofs_verify_and_every_bit_flip_breaks_them(
        tree_size in 1u64..=2000,
        index_seed in any::<u64>(),
    ) {
        let leaf_hashes = leaves(tree_size);
        let tree = MemoryTree::from_leaf_hashes(&leaf_hashes);
        let root = tree.root();
        let leaf_index = index_seed % tree_size;
        let leaf = leaf_hashes[leaf_index as usize];
        let proof = inclusion_proof(leaf_index, tree_size, &tree).expect("leaf in tree");
        prop_assert_eq!(verify_inclusion(&leaf, leaf_index, tree_size, &proof, &root), Ok(()));

        for bit in 0..256 {
            prop_assert!(verify_inclusion(&flip_bit(&leaf, bit), leaf_index, tree_size, &proof, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, leaf_index, tree_size, &proof, &flip_bit(&root, bit)).is_err());
            for position in 0..proof.len() {
                let mut mutated = proof.clone();
                mutated[position] = flip_bit(&mutated[position], bit);
                prop_assert!(
                    verify_inclusion(&leaf, leaf_index, tree_size, &mutated, &root).is_err(),
                    "flipping bit {} of proof[{}] for leaf {} in {} still verified",
                    bit, position, leaf_index, tree_size
                );
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_and_every_bit_flip_breaks_them(
        new_size in 1u64..=2000,
        old_seed in any::<u64>(),
    ) {
        let leaf_hashes = leaves(new_size);
        let tree = MemoryTree::from_leaf_hashes(&leaf_hashes);
        let old_size = old_seed % (new_size + 1);
        let old_root = tree_root(old_size, &tree).expect("prefix root");
        let new_root = tree.root();
        let proof = consistency_proof(old_size, new_size, &tree).expect("sizes in order");
        prop_assert_eq!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof), Ok(()));

        for bit in 0..256 {
            prop_assert!(verify_consistency(old_size, new_size, &flip_bit(&old_root, bit), &new_root, &proof).is_err());
            if old_size > 0 {
                // From the empty tree the new root is unconstrained by design.
                prop_assert!(verify_consistency(old_size, new_size, &old_root, &flip_bit(&new_root, bit), &proof).is_err());
            }
            for position in 0..proof.len() {
                let mut mutated = proof.clone();
                mutated[position] = flip_bit(&mutated[position], bit);
                prop_assert!(
                    verify_consistency(old_size, new_size, &old_root, &new_root, &mutated).is_err(),
                    "flipping bit {} of proof[{}] from {} to {} still verified",
                    bit, position, old_size, new_size
                );
            }
        }
    }

    #[test]
    fn incremental_builder_root_equals_the_recursive_root(
        tree_size in 0u64..=2000,
        split_seed in any::<u64>(),
    ) {
        let leaf_hashes = leaves(tree_size);
        let expected = reference_root(&leaf_hashes);

        // Build in two batches, resuming from the stored right edge in between,
        // the way the integrator resumes from tiles.
        let split = split_seed % (tree_size + 1);
        let first = MemoryTree::from_leaf_hashes(&leaf_hashes[..split as usize]);
        let mut compact_range = CompactRange::load(split, &first).expect("right edge is stored");
        let mut emitted: Vec<(SubtreeAddress, Hash)> = Vec::new();
        compact_range
            .extend(leaf_hashes[split as usize..].iter().copied(), &mut |address, hash| emitted.push((address, *hash)))
            .expect("far from full");
        prop_assert_eq!(compact_range.tree_size(), tree_size);
        prop_assert_eq!(compact_range.root(), expected);

        // Every emitted hash is the recursive root of the leaves it covers, and
        // exactly the subtrees completed by the second batch are emitted.
        for (address, hash) in &emitted {
            let start = address.first_leaf().expect("small") as usize;
            let end = address.end_leaf().expect("small") as usize;
            prop_assert!(end as u64 > split && end as u64 <= tree_size);
            prop_assert_eq!(*hash, reference_root(&leaf_hashes[start..end]));
        }
        let expected_count: u64 = (0..64u32)
            .map(|level| (tree_size >> level) - (split >> level))
            .sum();
        prop_assert_eq!(emitted.len() as u64, expected_count);
    }
}
