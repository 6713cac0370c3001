//! RFC 6962 §2.1 / RFC 9162 §2.1.1 Merkle tree hashing: domain-separated SHA-256 for leaves and interior nodes.

use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// The size of a [`Hash`](type@Hash) in bytes.
pub const HASH_SIZE: usize = 32;

/// The root of the empty tree, `MTH({}) = SHA-256()` (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Prefix byte of a leaf hash input; distinct from [`NODE_PREFIX`] so that a leaf
/// can never be confused with an interior node (second-preimage resistance).
const LEAF_PREFIX: u8 = 0x00;
/// Prefix byte of an interior node hash input.
const NODE_PREFIX: u8 = 0x01;

/// Hashes one log entry: `SHA-256(0x00 || entry)` (RFC 9162 §2.1.1).
#[must_use]
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// Hashes two child subtrees into their parent: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // One contiguous 65-byte buffer lets SHA-256 run exactly two compression
    // blocks with no intermediate buffering; this is the hot loop of integration.
    let mut input = [0u8; 1 + 2 * HASH_SIZE];
    input[0] = NODE_PREFIX;
    input[1..=HASH_SIZE].copy_from_slice(left);
    input[1 + HASH_SIZE..].copy_from_slice(right);
    Sha256::digest(input).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let computed: Hash = Sha256::digest([]).into();
        assert_eq!(computed, EMPTY_ROOT);
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let left = leaf_hash(b"a");
        let right = leaf_hash(b"b");
        let mut concatenated = Vec::new();
        concatenated.extend_from_slice(&left);
        concatenated.extend_from_slice(&right);
        // A leaf whose bytes equal the two children must not hash like the node.
        assert_ne!(leaf_hash(&concatenated), node_hash(&left, &right));
        assert_ne!(node_hash(&left, &right), node_hash(&right, &left));
    }
}
