//! Addressing of the stored hashes of an RFC 9162 §2.1.1 Merkle tree, tree roots from stored hashes, and incremental integration of new leaves.
//!
//! A log stores only the hashes of *complete, aligned* subtrees: the subtree at
//! `(level, index)` covers leaves `[index << level, (index + 1) << level)`. This is
//! the same addressing C2SP tlog-tiles uses for the hashes inside tiles. Every
//! other hash the RFC 9162 algorithms need (the root, the right-edge siblings of
//! a proof) is an RFC 9162 subtree of a tree whose size is not a power of two,
//! and is recomputed from the stored hashes that make it up.

use std::fmt;

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// The deepest level a complete subtree of a tree with at most `u64::MAX` leaves can have.
pub const MAX_LEVEL: u8 = 63;

/// The address of a complete, aligned subtree: leaves `[index << level, (index + 1) << level)`.
///
/// Level 0 addresses single leaf hashes; level `l` addresses the hash of `2^l`
/// consecutive leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubtreeAddress {
    /// Height of the subtree above the leaves (0 for a leaf hash), at most [`MAX_LEVEL`].
    pub level: u8,
    /// Position of the subtree among the subtrees of the same level, from the left.
    pub index: u64,
}

impl SubtreeAddress {
    /// The address of the hash of leaf `leaf_index`.
    #[must_use]
    pub const fn leaf(leaf_index: u64) -> Self {
        SubtreeAddress {
            level: 0,
            index: leaf_index,
        }
    }

    /// The first leaf index the subtree covers, or `None` if it does not fit in `u64`.
    #[must_use]
    pub fn first_leaf(&self) -> Option<u64> {
        if self.level > MAX_LEVEL {
            return None;
        }
        self.index.checked_mul(1u64 << self.level)
    }

    /// One past the last leaf index the subtree covers, or `None` if it does not fit in `u64`.
    #[must_use]
    pub fn end_leaf(&self) -> Option<u64> {
        if self.level > MAX_LEVEL {
            return None;
        }
        self.index.checked_add(1)?.checked_mul(1u64 << self.level)
    }

    /// Whether every leaf of this subtree is inside a tree of `tree_size` leaves,
    /// that is, whether the tree stores this hash.
    #[must_use]
    pub fn is_inside_tree(&self, tree_size: u64) -> bool {
        self.end_leaf().is_some_and(|end| end <= tree_size)
    }
}

impl fmt::Display for SubtreeAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "level {} index {}", self.level, self.index)
    }
}

/// A caller-supplied source of the stored hashes of complete subtrees.
///
/// Implementations: [`MemoryTree`] in memory, [`crate::tile::TileHashReader`]
/// over C2SP tiles, or a store backed by a database or files.
pub trait HashReader {
    /// Why a read failed (I/O, a missing tile, corruption).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the hashes at `addresses`, in the same order.
    ///
    /// Proof and root functions call this once per operation with all the
    /// addresses they need, so that a reader backed by slow storage can batch.
    ///
    /// # Errors
    ///
    /// Whatever the backing store reports, including addresses it does not hold.
    fn read_hashes(&self, addresses: &[SubtreeAddress]) -> Result<Vec<Hash>, Self::Error>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    type Error = R::Error;

    fn read_hashes(&self, addresses: &[SubtreeAddress]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_hashes(addresses)
    }
}

/// Why a hash read through a [`HashReader`] could not be turned into a root or a proof.
#[derive(Debug, thiserror::Error)]
pub enum ReadHashesError<E: std::error::Error + 'static> {
    /// The reader failed.
    #[error("reading stored subtree hashes failed")]
    Reader(#[source] E),
    /// The reader broke its contract and returned a different number of hashes than asked.
    #[error("the hash reader returned {returned} hashes for {requested} addresses")]
    WrongHashCount {
        /// Number of addresses asked for.
        requested: usize,
        /// Number of hashes returned.
        returned: usize,
    },
}

/// Reads `addresses` and checks the reader returned one hash per address.
pub(crate) fn read_exact<R: HashReader + ?Sized>(
    reader: &R,
    addresses: &[SubtreeAddress],
) -> Result<Vec<Hash>, ReadHashesError<R::Error>> {
    let hashes = reader
        .read_hashes(addresses)
        .map_err(ReadHashesError::Reader)?;
    if hashes.len() != addresses.len() {
        return Err(ReadHashesError::WrongHashCount {
            requested: addresses.len(),
            returned: hashes.len(),
        });
    }
    Ok(hashes)
}

/// Appends to `addresses` the complete aligned subtrees that make up the leaf
/// range `[start, end)`, largest (leftmost) first.
///
/// When the range is an RFC 9162 subtree (`start` is a multiple of a power of
/// two at least `end - start`, as every range in the RFC recursions is), the
/// Merkle Tree Hash of the range is the right fold of these subtree hashes
/// with [`node_hash`]; see [`fold_right`].
pub(crate) fn push_range_decomposition(
    mut start: u64,
    end: u64,
    addresses: &mut Vec<SubtreeAddress>,
) {
    while start < end {
        let remaining = end - start;
        // The subtree must be aligned at `start` and must fit in what remains.
        let alignment_level = start.trailing_zeros().min(u32::from(MAX_LEVEL));
        let size_level = 63 - remaining.leading_zeros();
        let level = alignment_level.min(size_level);
        addresses.push(SubtreeAddress {
            level: level as u8,
            index: start >> level,
        });
        start += 1u64 << level;
    }
}

/// Folds the hashes of a range decomposition into the range's Merkle Tree Hash:
/// `node_hash(h0, node_hash(h1, ... node_hash(h_{n-2}, h_{n-1})))`.
///
/// Returns [`EMPTY_ROOT`] for no hashes (the empty tree).
pub(crate) fn fold_right(hashes: &[Hash]) -> Hash {
    let Some((last, rest)) = hashes.split_last() else {
        return EMPTY_ROOT;
    };
    rest.iter()
        .rev()
        .fold(*last, |accumulated, left| node_hash(left, &accumulated))
}

/// The stored subtrees that together make up a tree of `tree_size` leaves,
/// largest first: one per set bit of `tree_size`. These are the "right edge"
/// a [`CompactRange`] needs to resume integration at `tree_size`.
#[must_use]
pub fn right_edge_addresses(tree_size: u64) -> Vec<SubtreeAddress> {
    let mut addresses = Vec::with_capacity(tree_size.count_ones() as usize);
    push_range_decomposition(0, tree_size, &mut addresses);
    addresses
}

/// Computes the RFC 9162 §2.1.1 Merkle Tree Hash of the first `tree_size` leaves
/// from stored subtree hashes, with one read of at most 64 hashes.
///
/// # Errors
///
/// [`ReadHashesError`] if the reader fails or misbehaves.
pub fn tree_root<R: HashReader + ?Sized>(
    tree_size: u64,
    reader: &R,
) -> Result<Hash, ReadHashesError<R::Error>> {
    let addresses = right_edge_addresses(tree_size);
    if addresses.is_empty() {
        return Ok(EMPTY_ROOT);
    }
    let hashes = read_exact(reader, &addresses)?;
    Ok(fold_right(&hashes))
}

/// Why a [`CompactRange`] could not be built from the given right edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactRangeError {
    /// A tree of `tree_size` leaves has one right-edge hash per set bit of the size.
    #[error("a tree of {tree_size} leaves has {expected} right-edge hashes, got {actual}")]
    WrongRightEdgeLength {
        /// The tree size the right edge was claimed to describe.
        tree_size: u64,
        /// `tree_size.count_ones()`.
        expected: usize,
        /// Number of hashes supplied.
        actual: usize,
    },
    /// Appending would overflow the `u64` tree size.
    #[error("the tree is full: it cannot grow past {tree_size} leaves")]
    TreeFull {
        /// The current tree size.
        tree_size: u64,
    },
}

/// The right edge of a tree: the hashes of the maximal complete subtrees
/// covering leaves `[0, tree_size)`, which is all the state needed to append
/// leaves and compute every new stored hash and the new root.
///
/// Appending a leaf costs one leaf-slot write plus, amortised, one
/// [`node_hash`] per leaf, and never allocates: the edge holds at most 64
/// hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct CompactRange {
    tree_size: u64,
    /// Hashes of the subtrees in [`right_edge_addresses`]`(tree_size)` order:
    /// largest (leftmost) first, so the smallest is at the end where merges happen.
    right_edge: Vec<Hash>,
}

impl fmt::Debug for CompactRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CompactRange")
            .field("tree_size", &self.tree_size)
            .field("right_edge_len", &self.right_edge.len())
            .finish()
    }
}

impl Default for CompactRange {
    fn default() -> Self {
        Self::new()
    }
}

impl CompactRange {
    /// The right edge of the empty tree.
    #[must_use]
    pub fn new() -> Self {
        CompactRange {
            tree_size: 0,
            right_edge: Vec::with_capacity(64),
        }
    }

    /// Resumes from a tree of `tree_size` leaves whose right-edge hashes, at
    /// [`right_edge_addresses`]`(tree_size)`, are `right_edge`.
    ///
    /// # Errors
    ///
    /// [`CompactRangeError::WrongRightEdgeLength`] if `right_edge` does not have
    /// one hash per set bit of `tree_size`.
    pub fn from_right_edge(tree_size: u64, right_edge: &[Hash]) -> Result<Self, CompactRangeError> {
        let expected = tree_size.count_ones() as usize;
        if right_edge.len() != expected {
            return Err(CompactRangeError::WrongRightEdgeLength {
                tree_size,
                expected,
                actual: right_edge.len(),
            });
        }
        let mut edge = Vec::with_capacity(64);
        edge.extend_from_slice(right_edge);
        Ok(CompactRange {
            tree_size,
            right_edge: edge,
        })
    }

    /// Resumes from a tree of `tree_size` leaves by reading its right edge from `reader`.
    ///
    /// # Errors
    ///
    /// [`ReadHashesError`] if the reader fails or misbehaves.
    pub fn load<R: HashReader + ?Sized>(
        tree_size: u64,
        reader: &R,
    ) -> Result<Self, ReadHashesError<R::Error>> {
        let addresses = right_edge_addresses(tree_size);
        let hashes = if addresses.is_empty() {
            Vec::new()
        } else {
            read_exact(reader, &addresses)?
        };
        let mut edge = Vec::with_capacity(64);
        edge.extend_from_slice(&hashes);
        Ok(CompactRange {
            tree_size,
            right_edge: edge,
        })
    }

    /// The number of leaves integrated so far.
    #[must_use]
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// The right-edge hashes, at [`right_edge_addresses`]`(self.tree_size())`.
    #[must_use]
    pub fn right_edge(&self) -> &[Hash] {
        &self.right_edge
    }

    /// The RFC 9162 Merkle Tree Hash of the leaves integrated so far.
    #[must_use]
    pub fn root(&self) -> Hash {
        fold_right(&self.right_edge)
    }

    /// Appends one leaf hash, reporting to `on_stored_hash` every complete
    /// subtree hash that now exists and did not before: the leaf itself at
    /// level 0, then each parent it completes, bottom-up.
    ///
    /// # Errors
    ///
    /// [`CompactRangeError::TreeFull`] if the tree already has `u64::MAX` leaves.
    pub fn append(
        &mut self,
        leaf_hash: Hash,
        on_stored_hash: &mut impl FnMut(SubtreeAddress, &Hash),
    ) -> Result<(), CompactRangeError> {
        let new_size = self
            .tree_size
            .checked_add(1)
            .ok_or(CompactRangeError::TreeFull {
                tree_size: self.tree_size,
            })?;
        let mut index = self.tree_size;
        let mut level: u8 = 0;
        let mut hash = leaf_hash;
        on_stored_hash(SubtreeAddress { level, index }, &hash);
        // Every trailing one bit of the old size is a left sibling on the edge
        // that the new leaf completes; merge them bottom-up.
        while index & 1 == 1 {
            let Some(left) = self.right_edge.pop() else {
                // Unreachable by construction: the edge has one entry per set bit.
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            on_stored_hash(SubtreeAddress { level, index }, &hash);
        }
        self.right_edge.push(hash);
        self.tree_size = new_size;
        Ok(())
    }

    /// Appends leaf hashes in order; see [`CompactRange::append`].
    ///
    /// # Errors
    ///
    /// [`CompactRangeError::TreeFull`] if the tree would exceed `u64::MAX` leaves;
    /// leaves before the failing one stay appended.
    pub fn extend<I: IntoIterator<Item = Hash>>(
        &mut self,
        leaf_hashes: I,
        on_stored_hash: &mut impl FnMut(SubtreeAddress, &Hash),
    ) -> Result<(), CompactRangeError> {
        for leaf_hash in leaf_hashes {
            self.append(leaf_hash, on_stored_hash)?;
        }
        Ok(())
    }
}

/// Why a [`MemoryTree`] could not serve a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryTreeError {
    /// The tree does not (yet) contain that complete subtree.
    #[error("the in-memory tree of {tree_size} leaves has no complete subtree at {address}")]
    MissingSubtree {
        /// The address asked for.
        address: SubtreeAddress,
        /// The tree size at the time.
        tree_size: u64,
    },
}

/// Every stored hash of a tree, held in memory: `levels[level][index]`.
///
/// Meant for tests, tools and small logs; a tree of `n` leaves holds just
/// under `2n` hashes (64 MiB for a million leaves).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    compact_range: CompactRange,
}

impl fmt::Debug for MemoryTree {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MemoryTree")
            .field("tree_size", &self.tree_size())
            .finish()
    }
}

impl MemoryTree {
    /// An empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes, in order.
    #[must_use]
    pub fn from_leaf_hashes(leaf_hashes: &[Hash]) -> Self {
        let mut tree = MemoryTree::new();
        for leaf_hash in leaf_hashes {
            tree.push(*leaf_hash);
        }
        tree
    }

    /// Appends one leaf hash and stores every subtree hash it completes.
    pub fn push(&mut self, leaf_hash: Hash) {
        let levels = &mut self.levels;
        let appended = self.compact_range.append(leaf_hash, &mut |address, hash| {
            let level = usize::from(address.level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            // Stored hashes of a level are completed strictly left to right.
            debug_assert_eq!(levels[level].len() as u64, address.index);
            levels[level].push(*hash);
        });
        // Memory runs out long before the u64 leaf counter does.
        debug_assert!(appended.is_ok());
    }

    /// The number of leaves.
    #[must_use]
    pub fn tree_size(&self) -> u64 {
        self.compact_range.tree_size()
    }

    /// The Merkle Tree Hash of all leaves.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.compact_range.root()
    }

    /// The stored hash at `address`, if the tree has that complete subtree.
    #[must_use]
    pub fn stored_hash(&self, address: SubtreeAddress) -> Option<Hash> {
        let level = self.levels.get(usize::from(address.level))?;
        let index = usize::try_from(address.index).ok()?;
        level.get(index).copied()
    }

    /// The right edge of the tree, to continue integration elsewhere.
    #[must_use]
    pub fn compact_range(&self) -> &CompactRange {
        &self.compact_range
    }
}

impl HashReader for MemoryTree {
    type Error = MemoryTreeError;

    fn read_hashes(&self, addresses: &[SubtreeAddress]) -> Result<Vec<Hash>, Self::Error> {
        addresses
            .iter()
            .map(|address| {
                self.stored_hash(*address)
                    .ok_or(MemoryTreeError::MissingSubtree {
                        address: *address,
                        tree_size: self.tree_size(),
                    })
            })
            .collect()
    }
}

/// A [`HashReader`] over a closure, for callers that keep hashes elsewhere.
pub struct HashReaderFn<F>(pub F);

impl<F> fmt::Debug for HashReaderFn<F> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("HashReaderFn")
    }
}

impl<F, E> HashReader for HashReaderFn<F>
where
    F: Fn(&[SubtreeAddress]) -> Result<Vec<Hash>, E>,
    E: std::error::Error + Send + Sync + 'static,
{
    type Error = E;

    fn read_hashes(&self, addresses: &[SubtreeAddress]) -> Result<Vec<Hash>, E> {
        (self.0)(addresses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                // The largest power of two strictly below n (RFC 9162 §2.1.1).
                let split = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&naive_root(&leaves[..split]), &naive_root(&leaves[split..]))
            }
        }
    }

    #[test]
    fn range_decomposition_matches_set_bits() {
        let decomposition = right_edge_addresses(13);
        assert_eq!(
            decomposition,
            vec![
                SubtreeAddress { level: 3, index: 0 },
                SubtreeAddress { level: 2, index: 2 },
                SubtreeAddress {
                    level: 0,
                    index: 12
                },
            ]
        );
        assert!(right_edge_addresses(0).is_empty());
        assert_eq!(right_edge_addresses(u64::MAX).len(), 64);
    }

    #[test]
    fn memory_tree_root_matches_naive_root_for_small_sizes() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for size in 0..=leaves.len() {
            let tree = MemoryTree::from_leaf_hashes(&leaves[..size]);
            assert_eq!(tree.root(), naive_root(&leaves[..size]), "size {size}");
            let from_reader = tree_root(size as u64, &tree).expect("all hashes are stored");
            assert_eq!(from_reader, tree.root(), "size {size}");
        }
    }

    #[test]
    fn compact_range_resumes_from_a_stored_right_edge() {
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let full = MemoryTree::from_leaf_hashes(&leaves);
        let prefix = MemoryTree::from_leaf_hashes(&leaves[..123]);
        let mut resumed = CompactRange::load(123, &prefix).expect("prefix holds its right edge");
        let mut emitted = Vec::new();
        resumed
            .extend(leaves[123..].iter().copied(), &mut |address, hash| {
                emitted.push((address, *hash));
            })
            .expect("tree is far from full");
        assert_eq!(resumed.root(), full.root());
        for (address, hash) in emitted {
            assert_eq!(full.stored_hash(address), Some(hash), "{address}");
        }
    }

    #[test]
    fn compact_range_rejects_a_right_edge_of_the_wrong_length() {
        let error =
            CompactRange::from_right_edge(5, &[EMPTY_ROOT]).expect_err("5 has two set bits");
        assert_eq!(
            error,
            CompactRangeError::WrongRightEdgeLength {
                tree_size: 5,
                expected: 2,
                actual: 1
            }
        );
    }

    #[test]
    fn memory_tree_reports_missing_subtrees() {
        let tree =
            MemoryTree::from_leaf_hashes(&[leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]);
        let missing = SubtreeAddress { level: 1, index: 1 };
        assert_eq!(
            tree.read_hashes(&[missing]),
            Err(MemoryTreeError::MissingSubtree {
                address: missing,
                tree_size: 3
            })
        );
    }
}
