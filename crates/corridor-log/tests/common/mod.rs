//! What the log's storage tests share: distinct leaves to log, and the root
//! an in-memory reference tree gives them.

use corridor_tlog::{Hash, MemoryTree, leaf_hash};

/// `count` distinct leaves, `{"PREFIX":INDEX}`.
pub fn leaves(prefix: &str, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|index| format!("{{\"{prefix}\":{index}}}").into_bytes())
        .collect()
}

/// The RFC 6962 root of `leaves`, from the reference tree.
pub fn reference_root(leaves: &[Vec<u8>]) -> Hash {
    let hashes: Vec<Hash> = leaves.iter().map(|leaf| leaf_hash(leaf)).collect();
    MemoryTree::from_leaf_hashes(&hashes).root()
}
