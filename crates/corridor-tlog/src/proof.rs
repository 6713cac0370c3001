//! RFC 9162 §2.1.3 inclusion proofs and §2.1.4 consistency proofs: generation from stored hashes and verification.
//!
//! Generation follows the recursive definitions of RFC 9162 §2.1.3.1 (`PATH`)
//! and §2.1.4.1 (`PROOF`/`SUBPROOF`), but only over leaf *ranges*: each proof
//! element is the Merkle Tree Hash of a range, which is resolved into complete
//! stored subtrees and read from a [`HashReader`] in a single batch. Only the
//! one right-edge element of a proof can be an incomplete subtree, so a proof
//! costs O(log n) stored-hash reads.
//!
//! Verification is the iterative algorithm of RFC 9162 §2.1.3.2 and §2.1.4.2,
//! preceded by an exact proof-length check so that errors say what was wrong.

use std::ops::Range;

use crate::hash::{EMPTY_ROOT, Hash, node_hash};
use crate::tree::{
    HashReader, ReadHashesError, SubtreeAddress, fold_right, push_range_decomposition, read_exact,
};

/// Why a proof could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum ProofGenerationError<E: std::error::Error + 'static> {
    /// An inclusion proof was asked for a leaf the tree does not have.
    #[error("leaf index {leaf_index} is not in a tree of {tree_size} leaves")]
    LeafIndexOutOfRange {
        /// The leaf asked for.
        leaf_index: u64,
        /// The tree size asked for.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeExceedsNewSize {
        /// The old tree size.
        old_size: u64,
        /// The new tree size.
        new_size: u64,
    },
    /// The stored hashes could not be read.
    #[error(transparent)]
    ReadHashes(#[from] ReadHashesError<E>),
}

/// The largest power of two strictly smaller than `n`, for `n >= 2` (RFC 9162 §2.1.1 `k`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// RFC 9162 §2.1.3.1 `PATH(m, D[start:end])`, as the leaf ranges whose hashes form the path.
fn push_inclusion_ranges(leaf_offset: u64, start: u64, end: u64, ranges: &mut Vec<Range<u64>>) {
    let size = end - start;
    if size <= 1 {
        return;
    }
    let k = split_point(size);
    if leaf_offset < k {
        push_inclusion_ranges(leaf_offset, start, start + k, ranges);
        ranges.push(start + k..end);
    } else {
        push_inclusion_ranges(leaf_offset - k, start + k, end, ranges);
        ranges.push(start..start + k);
    }
}

/// RFC 9162 §2.1.4.1 `SUBPROOF(m, D[start:end], b)`, as leaf ranges.
fn push_consistency_ranges(
    old_size: u64,
    start: u64,
    end: u64,
    old_is_complete_subtree: bool,
    ranges: &mut Vec<Range<u64>>,
) {
    let size = end - start;
    if old_size == size {
        if !old_is_complete_subtree {
            ranges.push(start..end);
        }
        return;
    }
    let k = split_point(size);
    if old_size <= k {
        push_consistency_ranges(old_size, start, start + k, old_is_complete_subtree, ranges);
        ranges.push(start + k..end);
    } else {
        push_consistency_ranges(old_size - k, start + k, end, false, ranges);
        ranges.push(start..start + k);
    }
}

/// Reads the stored hashes for every range in one batch and folds each range into its hash.
fn hash_ranges<R: HashReader + ?Sized>(
    ranges: &[Range<u64>],
    reader: &R,
) -> Result<Vec<Hash>, ReadHashesError<R::Error>> {
    let mut addresses: Vec<SubtreeAddress> = Vec::with_capacity(ranges.len() + 64);
    let mut boundaries = Vec::with_capacity(ranges.len());
    for range in ranges {
        let first = addresses.len();
        push_range_decomposition(range.start, range.end, &mut addresses);
        boundaries.push(first..addresses.len());
    }
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read_exact(reader, &addresses)?;
    Ok(boundaries
        .into_iter()
        .map(|boundary| fold_right(&hashes[boundary]))
        .collect())
}

/// Generates the RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf
/// `leaf_index` in the tree of the first `tree_size` leaves.
///
/// # Errors
///
/// [`ProofGenerationError::LeafIndexOutOfRange`] if `leaf_index >= tree_size`;
/// [`ProofGenerationError::ReadHashes`] if the reader fails.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    leaf_index: u64,
    tree_size: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofGenerationError<R::Error>> {
    if leaf_index >= tree_size {
        return Err(ProofGenerationError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    let mut ranges = Vec::with_capacity(64);
    push_inclusion_ranges(leaf_index, 0, tree_size, &mut ranges);
    Ok(hash_ranges(&ranges, reader)?)
}

/// Generates the RFC 9162 §2.1.4.1 consistency proof between the trees of the
/// first `old_size` and the first `new_size` leaves.
///
/// The proof is empty when `old_size` is 0 or equals `new_size` (the RFC leaves
/// these cases to the caller; C2SP tlog-witness requires an empty proof for an
/// old size of 0).
///
/// # Errors
///
/// [`ProofGenerationError::OldSizeExceedsNewSize`] if `old_size > new_size`;
/// [`ProofGenerationError::ReadHashes`] if the reader fails.
pub fn consistency_proof<R: HashReader + ?Sized>(
    old_size: u64,
    new_size: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofGenerationError<R::Error>> {
    if old_size > new_size {
        return Err(ProofGenerationError::OldSizeExceedsNewSize { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    let mut ranges = Vec::with_capacity(64);
    push_consistency_ranges(old_size, 0, new_size, true, &mut ranges);
    Ok(hash_ranges(&ranges, reader)?)
}

/// Why an inclusion proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InclusionProofError {
    /// The leaf cannot be in a tree that small.
    #[error("leaf index {leaf_index} is not in a tree of {tree_size} leaves")]
    LeafIndexOutOfRange {
        /// The claimed leaf index.
        leaf_index: u64,
        /// The claimed tree size.
        tree_size: u64,
    },
    /// The proof has the wrong number of hashes for this leaf index and tree size.
    #[error(
        "an inclusion proof for leaf {leaf_index} in a tree of {tree_size} leaves has {expected} hashes, got {actual}"
    )]
    WrongProofLength {
        /// The claimed leaf index.
        leaf_index: u64,
        /// The claimed tree size.
        tree_size: u64,
        /// The length RFC 9162 §2.1.3.1 prescribes.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// The proof leads to a different root: the leaf is not at that index in that tree.
    #[error(
        "the inclusion proof leads to root {} instead of {}",
        hex_of(computed),
        hex_of(expected)
    )]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash,
        /// The root the caller trusts.
        expected: Hash,
    },
}

/// Why a consistency proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsistencyProofError {
    /// A tree cannot shrink.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeExceedsNewSize {
        /// The old tree size.
        old_size: u64,
        /// The new tree size.
        new_size: u64,
    },
    /// Two trees of the same size are consistent only if their roots are equal.
    #[error("both trees have {tree_size} leaves but different roots")]
    RootsDifferAtSameSize {
        /// The common tree size.
        tree_size: u64,
    },
    /// The claimed root of the empty tree is not [`EMPTY_ROOT`].
    #[error(
        "the root of the empty tree must be SHA-256 of nothing, got {}",
        hex_of(root)
    )]
    WrongEmptyRoot {
        /// The claimed old root.
        root: Hash,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error(
        "a consistency proof from {old_size} to {new_size} leaves has {expected} hashes, got {actual}"
    )]
    WrongProofLength {
        /// The old tree size.
        old_size: u64,
        /// The new tree size.
        new_size: u64,
        /// The length RFC 9162 §2.1.4.1 prescribes.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// The proof does not reproduce the old root.
    #[error(
        "the consistency proof leads to old root {} instead of {}",
        hex_of(computed),
        hex_of(expected)
    )]
    OldRootMismatch {
        /// The old root the proof leads to.
        computed: Hash,
        /// The old root the caller trusts.
        expected: Hash,
    },
    /// The proof does not reproduce the new root.
    #[error(
        "the consistency proof leads to new root {} instead of {}",
        hex_of(computed),
        hex_of(expected)
    )]
    NewRootMismatch {
        /// The new root the proof leads to.
        computed: Hash,
        /// The new root claimed.
        expected: Hash,
    },
}

/// Lowercase hex of a hash, for error messages.
fn hex_of(hash: &Hash) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(64);
    for byte in hash {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The number of bits needed to write `value` (0 for 0).
fn bit_length(value: u64) -> u32 {
    64 - value.leading_zeros()
}

/// The length of the RFC 9162 inclusion proof of `leaf_index` in a tree of
/// `tree_size` leaves, for `leaf_index < tree_size`.
///
/// The path has one hash per level below the point where the leaf's path and
/// the path of the last leaf diverge (`inner`), plus one per left sibling on
/// the shared right edge above it (`border`).
#[must_use]
pub fn inclusion_proof_length(leaf_index: u64, tree_size: u64) -> usize {
    if leaf_index >= tree_size {
        return 0;
    }
    let inner = bit_length(leaf_index ^ (tree_size - 1));
    // `inner` is 64 when the paths part at the root of a tree of more than
    // 2^63 leaves; shifting by 64 would overflow, and nothing is left.
    let border = leaf_index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The length of the RFC 9162 consistency proof from `old_size` to `new_size` leaves.
#[must_use]
pub fn consistency_proof_length(old_size: u64, new_size: u64) -> usize {
    if old_size == 0 || old_size >= new_size {
        return 0;
    }
    // The proof is the inclusion path of the old tree's last complete subtree
    // (the one containing leaf old_size - 1 at its own level), plus that
    // subtree's hash itself unless it is the whole old tree.
    let level = old_size.trailing_zeros();
    let path = inclusion_proof_length((old_size - 1) >> level, ((new_size - 1) >> level) + 1);
    let seed = usize::from(!old_size.is_power_of_two());
    path + seed
}

/// Verifies an RFC 9162 §2.1.3.2 inclusion proof: that `leaf_hash` is leaf
/// `leaf_index` of the tree of `tree_size` leaves whose root is `root`.
///
/// # Errors
///
/// [`InclusionProofError`] naming what was wrong: the index, the proof length
/// or the resulting root.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    leaf_index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), InclusionProofError> {
    if leaf_index >= tree_size {
        return Err(InclusionProofError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    let expected_length = inclusion_proof_length(leaf_index, tree_size);
    if proof.len() != expected_length {
        return Err(InclusionProofError::WrongProofLength {
            leaf_index,
            tree_size,
            expected: expected_length,
            actual: proof.len(),
        });
    }
    // RFC 9162 §2.1.3.2 steps 2-5.
    let mut node_index = leaf_index;
    let mut last_index = tree_size - 1;
    let mut computed = *leaf_hash;
    for sibling in proof {
        if last_index == 0 {
            // Unreachable after the length check; kept as the RFC's own guard.
            return Err(InclusionProofError::WrongProofLength {
                leaf_index,
                tree_size,
                expected: expected_length,
                actual: proof.len(),
            });
        }
        if node_index & 1 == 1 || node_index == last_index {
            computed = node_hash(sibling, &computed);
            if node_index & 1 == 0 {
                // The node is the last one of its level and has no right sibling:
                // it moves up unchanged until it becomes a right child.
                while node_index & 1 == 0 && node_index != 0 {
                    node_index >>= 1;
                    last_index >>= 1;
                }
            }
        } else {
            computed = node_hash(&computed, sibling);
        }
        node_index >>= 1;
        last_index >>= 1;
    }
    if last_index != 0 {
        return Err(InclusionProofError::WrongProofLength {
            leaf_index,
            tree_size,
            expected: expected_length,
            actual: proof.len(),
        });
    }
    if computed != *root {
        return Err(InclusionProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies an RFC 9162 §2.1.4.2 consistency proof: that the tree of
/// `new_size` leaves with root `new_root` extends the tree of `old_size`
/// leaves with root `old_root`.
///
/// Beyond the RFC (which requires `0 < old_size < new_size`): equal sizes
/// verify with an empty proof if the roots are equal, and an old size of 0
/// verifies with an empty proof if `old_root` is [`EMPTY_ROOT`], since every
/// tree extends the empty tree (C2SP tlog-witness sends such proofs).
///
/// # Errors
///
/// [`ConsistencyProofError`] naming what was wrong: the sizes, the proof
/// length, or which root the proof failed to reproduce.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ConsistencyProofError> {
    if old_size > new_size {
        return Err(ConsistencyProofError::OldSizeExceedsNewSize { old_size, new_size });
    }
    let expected_length = consistency_proof_length(old_size, new_size);
    let wrong_length = || ConsistencyProofError::WrongProofLength {
        old_size,
        new_size,
        expected: expected_length,
        actual: proof.len(),
    };
    if proof.len() != expected_length {
        return Err(wrong_length());
    }
    if old_size == 0 {
        if *old_root != EMPTY_ROOT {
            return Err(ConsistencyProofError::WrongEmptyRoot { root: *old_root });
        }
        return Ok(());
    }
    if old_size == new_size {
        if old_root != new_root {
            return Err(ConsistencyProofError::RootsDifferAtSameSize {
                tree_size: old_size,
            });
        }
        return Ok(());
    }

    // RFC 9162 §2.1.4.2 steps 2-7. When the old tree is a complete subtree its
    // root is the first "proof" element (step 2), without being sent.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        proof.split_first().ok_or_else(wrong_length)?
    };
    let mut old_index = old_size - 1;
    let mut last_index = new_size - 1;
    while old_index & 1 == 1 {
        old_index >>= 1;
        last_index >>= 1;
    }
    let mut old_computed = *seed;
    let mut new_computed = *seed;
    for sibling in rest {
        if last_index == 0 {
            return Err(wrong_length());
        }
        if old_index & 1 == 1 || old_index == last_index {
            old_computed = node_hash(sibling, &old_computed);
            new_computed = node_hash(sibling, &new_computed);
            if old_index & 1 == 0 {
                while old_index & 1 == 0 && old_index != 0 {
                    old_index >>= 1;
                    last_index >>= 1;
                }
            }
        } else {
            new_computed = node_hash(&new_computed, sibling);
        }
        old_index >>= 1;
        last_index >>= 1;
    }
    if last_index != 0 {
        return Err(wrong_length());
    }
    if old_computed != *old_root {
        return Err(ConsistencyProofError::OldRootMismatch {
            computed: old_computed,
            expected: *old_root,
        });
    }
    if new_computed != *new_root {
        return Err(ConsistencyProofError::NewRootMismatch {
            computed: new_computed,
            expected: *new_root,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    /// Regression (found by the `proof_verifier` fuzz target): for a tree of
    /// more than 2^63 leaves and a leaf in its left half, the proof length
    /// shifted a u64 by 64 bits, which panics (and in release builds would
    /// have given a wrong length).
    #[test]
    fn inclusion_proof_length_does_not_overflow_for_trees_above_2_to_the_63() {
        let tree_size = (1_u64 << 63) + 1;
        // Leaf 0: 63 hashes for the left half, one for the right subtree.
        assert_eq!(inclusion_proof_length(0, tree_size), 64);
        assert_eq!(inclusion_proof_length(5, u64::MAX), 64);
        assert_eq!(inclusion_proof_length(1 << 63, tree_size), 1);
        assert!(verify_inclusion(&[0; 32], 0, tree_size, &[], &[0; 32]).is_err());
    }
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::MemoryTree;

    fn tree_of(size: u32) -> MemoryTree {
        let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        MemoryTree::from_leaf_hashes(&leaves)
    }

    #[test]
    fn proof_lengths_match_generated_proofs_for_all_small_trees() {
        let tree = tree_of(70);
        for tree_size in 1..=70u64 {
            for leaf_index in 0..tree_size {
                let proof = inclusion_proof(leaf_index, tree_size, &tree).expect("in range");
                assert_eq!(proof.len(), inclusion_proof_length(leaf_index, tree_size));
            }
            for old_size in 0..=tree_size {
                let proof = consistency_proof(old_size, tree_size, &tree).expect("in range");
                assert_eq!(proof.len(), consistency_proof_length(old_size, tree_size));
            }
        }
    }

    #[test]
    fn generation_rejects_bad_arguments() {
        let tree = tree_of(4);
        assert!(matches!(
            inclusion_proof(4, 4, &tree),
            Err(ProofGenerationError::LeafIndexOutOfRange {
                leaf_index: 4,
                tree_size: 4
            })
        ));
        assert!(matches!(
            consistency_proof(5, 4, &tree),
            Err(ProofGenerationError::OldSizeExceedsNewSize {
                old_size: 5,
                new_size: 4
            })
        ));
        assert!(matches!(
            inclusion_proof(0, 5, &tree),
            Err(ProofGenerationError::ReadHashes(ReadHashesError::Reader(_)))
        ));
    }

    #[test]
    fn consistency_from_empty_tree_requires_the_empty_root() {
        let tree = tree_of(3);
        assert_eq!(
            verify_consistency(0, 3, &EMPTY_ROOT, &tree.root(), &[]),
            Ok(())
        );
        assert_eq!(
            verify_consistency(0, 3, &tree.root(), &tree.root(), &[]),
            Err(ConsistencyProofError::WrongEmptyRoot { root: tree.root() })
        );
        assert_eq!(
            verify_consistency(0, 3, &EMPTY_ROOT, &tree.root(), &[EMPTY_ROOT]),
            Err(ConsistencyProofError::WrongProofLength {
                old_size: 0,
                new_size: 3,
                expected: 0,
                actual: 1
            })
        );
    }
}
