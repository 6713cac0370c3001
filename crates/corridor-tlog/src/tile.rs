//! C2SP tlog-tiles: tile and entry-bundle addresses, their paths, tile data, entry bundles, and a [`HashReader`] over tiles.
//!
//! Spec: <https://c2sp.org/tlog-tiles>, sections "Merkle Tree", "Partial Tiles"
//! and "Log entries". Tiles have height 8: the tile at tile level `L` and index
//! `N` holds the stored hashes at tree level `8L`, indexes `256N .. 256N + 255`.
//! Unlike Go's sumdb layout (`tile/8/0/000`), C2SP paths carry no height element.

use std::fmt;

use crate::checkpoint::parse_canonical_decimal;
use crate::hash::{HASH_SIZE, Hash};
use crate::tree::{HashReader, MAX_LEVEL, SubtreeAddress, fold_right};

/// Tree levels per tile level (C2SP tlog-tiles: tiles are subtrees of height 8).
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile, and entries in a full entry bundle.
pub const FULL_TILE_WIDTH: u16 = 256;
/// Bytes in a full tile (256 hashes of 32 bytes).
pub const FULL_TILE_BYTES: usize = FULL_TILE_WIDTH as usize * HASH_SIZE;
/// The largest tile level a path may name (C2SP: "between 0 and 63").
pub const MAX_TILE_LEVEL: u8 = 63;
/// The largest entry that fits a uint16 length prefix in an entry bundle.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// A Merkle tree tile: `tile/<L>/<N>[.p/<W>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileAddress {
    /// Tile level `L`: the tile holds stored hashes of tree level `8 * L`.
    pub level: u8,
    /// Tile index `N` within its level.
    pub index: u64,
    /// Number of hashes, 1 to 256; below 256 the tile is partial (`.p/<W>`).
    /// Other values are not tiles: their paths will not parse back.
    pub width: u16,
}

/// An entry bundle: `tile/entries/<N>[.p/<W>]`, the entries behind level-0 tile `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryBundleAddress {
    /// Bundle index `N`: entries `256N .. 256N + width - 1`.
    pub index: u64,
    /// Number of entries, 1 to 256; below 256 the bundle is partial.
    pub width: u16,
}

/// Any resource under `tile/` that a tiled log serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileResource {
    /// A Merkle tree tile.
    Tile(TileAddress),
    /// An entry bundle.
    EntryBundle(EntryBundleAddress),
}

/// Writes `index` as zero-padded 3-digit elements, all but the last prefixed with `x`.
fn write_tile_index(formatter: &mut fmt::Formatter<'_>, index: u64) -> fmt::Result {
    // u64::MAX has 20 digits: at most 7 groups.
    let mut groups = [0u16; 7];
    let mut group_count = 0;
    let mut remaining = index;
    loop {
        groups[group_count] = (remaining % 1000) as u16;
        group_count += 1;
        remaining /= 1000;
        if remaining == 0 {
            break;
        }
    }
    for position in (0..group_count).rev() {
        if position == 0 {
            write!(formatter, "{:03}", groups[position])?;
        } else {
            write!(formatter, "x{:03}/", groups[position])?;
        }
    }
    Ok(())
}

fn write_width_suffix(formatter: &mut fmt::Formatter<'_>, width: u16) -> fmt::Result {
    if width < FULL_TILE_WIDTH {
        write!(formatter, ".p/{width}")?;
    }
    Ok(())
}

impl TileAddress {
    /// The tile's path relative to the log prefix, e.g. `tile/0/x001/x234/067.p/8`.
    #[must_use]
    pub fn path(&self) -> String {
        self.to_string()
    }

    /// Whether the tile has all 256 hashes.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.width == FULL_TILE_WIDTH
    }

    /// The tree level of the hashes this tile holds (`8 * level`), or `None` beyond [`MAX_LEVEL`].
    #[must_use]
    pub fn tree_level(&self) -> Option<u8> {
        let level = self.level.checked_mul(TILE_HEIGHT)?;
        (level <= MAX_LEVEL).then_some(level)
    }

    /// The address of the `position`-th hash of the tile.
    #[must_use]
    pub fn hash_address(&self, position: u16) -> Option<SubtreeAddress> {
        let level = self.tree_level()?;
        let index = self
            .index
            .checked_mul(u64::from(FULL_TILE_WIDTH))?
            .checked_add(u64::from(position))?;
        Some(SubtreeAddress { level, index })
    }
}

impl fmt::Display for TileAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "tile/{}/", self.level)?;
        write_tile_index(formatter, self.index)?;
        write_width_suffix(formatter, self.width)
    }
}

impl EntryBundleAddress {
    /// The bundle's path relative to the log prefix, e.g. `tile/entries/x001/234.p/17`.
    #[must_use]
    pub fn path(&self) -> String {
        self.to_string()
    }

    /// The level-0 tile whose hashes are the leaf hashes of this bundle's entries.
    #[must_use]
    pub fn tile(&self) -> TileAddress {
        TileAddress {
            level: 0,
            index: self.index,
            width: self.width,
        }
    }

    /// The index of the bundle's first entry, or `None` if it does not fit in `u64`.
    #[must_use]
    pub fn first_entry_index(&self) -> Option<u64> {
        self.index.checked_mul(u64::from(FULL_TILE_WIDTH))
    }
}

impl fmt::Display for EntryBundleAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("tile/entries/")?;
        write_tile_index(formatter, self.index)?;
        write_width_suffix(formatter, self.width)
    }
}

impl fmt::Display for TileResource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TileResource::Tile(tile) => tile.fmt(formatter),
            TileResource::EntryBundle(bundle) => bundle.fmt(formatter),
        }
    }
}

/// Why a string is not a canonical C2SP tile or entry-bundle path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    /// The path does not start with `tile/`.
    #[error("a tile path starts with \"tile/\"")]
    MissingTilePrefix,
    /// The level element is not a decimal between 0 and 63 without leading zeros.
    #[error("tile level {element:?} is not a decimal from 0 to 63 without leading zeros")]
    InvalidLevel {
        /// The offending path element.
        element: String,
    },
    /// The path ends before the index.
    #[error("the tile path has no index")]
    MissingIndex,
    /// An index element is not `xDDD` (non-last) or `DDD` (last).
    #[error("tile index element {element:?} must be {expected}")]
    InvalidIndexElement {
        /// The offending path element.
        element: String,
        /// What the element must look like at its position.
        expected: &'static str,
    },
    /// The index has a leading `x000/` element, so another path names the same tile.
    #[error("tile index starts with a redundant x000 element")]
    NonCanonicalIndex,
    /// The index does not fit in 64 bits.
    #[error("tile index has too many elements for a 64-bit index")]
    IndexOverflow,
    /// The `.p/<W>` suffix is malformed.
    #[error("partial width {element:?} is not a decimal from 1 to 255 without leading zeros")]
    InvalidWidth {
        /// The offending path element.
        element: String,
    },
    /// Elements follow the tile path.
    #[error("unexpected path element {element:?} after the tile index")]
    TrailingElement {
        /// The first unexpected element.
        element: String,
    },
}

fn parse_three_digits(text: &str) -> Option<u64> {
    if text.len() == 3 && text.bytes().all(|byte| byte.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// Parses the index elements and optional `.p/<W>` suffix that follow
/// `tile/<L>/` or `tile/entries/`.
fn parse_index_and_width(elements: &[&str]) -> Result<(u64, u16), TilePathError> {
    if elements.is_empty() {
        return Err(TilePathError::MissingIndex);
    }
    // The last index element is the first one without an `x` prefix.
    let last_position = elements
        .iter()
        .position(|element| !element.starts_with('x'))
        .ok_or(TilePathError::MissingIndex)?;
    let mut index: u64 = 0;
    for (position, element) in elements[..last_position].iter().enumerate() {
        let digits = &element[1..];
        let group =
            parse_three_digits(digits).ok_or_else(|| TilePathError::InvalidIndexElement {
                element: (*element).to_owned(),
                expected: "'x' followed by three digits",
            })?;
        if position == 0 && group == 0 {
            return Err(TilePathError::NonCanonicalIndex);
        }
        index = index
            .checked_mul(1000)
            .and_then(|scaled| scaled.checked_add(group))
            .ok_or(TilePathError::IndexOverflow)?;
    }
    let last = elements[last_position];
    let (digits, is_partial) = match last.strip_suffix(".p") {
        Some(digits) => (digits, true),
        None => (last, false),
    };
    let group = parse_three_digits(digits).ok_or_else(|| TilePathError::InvalidIndexElement {
        element: last.to_owned(),
        expected: "three digits, optionally followed by \".p\"",
    })?;
    index = index
        .checked_mul(1000)
        .and_then(|scaled| scaled.checked_add(group))
        .ok_or(TilePathError::IndexOverflow)?;

    let rest = &elements[last_position + 1..];
    let width = if is_partial {
        let element = rest.first().ok_or_else(|| TilePathError::InvalidWidth {
            element: String::new(),
        })?;
        let width = parse_canonical_decimal(element)
            .filter(|width| (1..u64::from(FULL_TILE_WIDTH)).contains(width))
            .ok_or_else(|| TilePathError::InvalidWidth {
                element: (*element).to_owned(),
            })?;
        if let Some(extra) = rest.get(1) {
            return Err(TilePathError::TrailingElement {
                element: (*extra).to_owned(),
            });
        }
        width as u16
    } else {
        if let Some(extra) = rest.first() {
            return Err(TilePathError::TrailingElement {
                element: (*extra).to_owned(),
            });
        }
        FULL_TILE_WIDTH
    };
    Ok((index, width))
}

/// Parses a path relative to the log prefix (`tile/...`, no leading slash)
/// into the tile or entry bundle it names.
///
/// Only canonical paths are accepted, so that each resource has exactly one
/// path: no leading zeros in the level or width, exactly three digits per
/// index element, `x` on all but the last index element, no redundant
/// leading `x000/`, width 1 to 255 only after `.p/`, nothing else (no `..`,
/// no empty elements, no trailing slash).
///
/// # Errors
///
/// [`TilePathError`] describing the first malformed element.
pub fn parse_tile_path(path: &str) -> Result<TileResource, TilePathError> {
    let rest = path
        .strip_prefix("tile/")
        .ok_or(TilePathError::MissingTilePrefix)?;
    let elements: Vec<&str> = rest.split('/').collect();
    let Some((first, index_elements)) = elements.split_first() else {
        return Err(TilePathError::MissingIndex);
    };
    if *first == "entries" {
        let (index, width) = parse_index_and_width(index_elements)?;
        return Ok(TileResource::EntryBundle(EntryBundleAddress {
            index,
            width,
        }));
    }
    let level = parse_canonical_decimal(first)
        .filter(|level| *level <= u64::from(MAX_TILE_LEVEL))
        .ok_or_else(|| TilePathError::InvalidLevel {
            element: (*first).to_owned(),
        })?;
    let (index, width) = parse_index_and_width(index_elements)?;
    Ok(TileResource::Tile(TileAddress {
        level: level as u8,
        index,
        width,
    }))
}

/// Where a stored hash lives in the tiles: the tile (at its width in a tree
/// of the given size) and the position inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePosition {
    /// The tile holding the hash.
    pub tile: TileAddress,
    /// The hash's position in the tile, 0 to 255.
    pub position: u16,
}

/// The width of tile `(tile_level, tile_index)` in a tree of `tree_size`
/// leaves, or `None` if the tree has no such tile (it would be empty).
#[must_use]
pub fn tile_width(tile_level: u8, tile_index: u64, tree_size: u64) -> Option<u16> {
    let tree_level = u32::from(tile_level) * u32::from(TILE_HEIGHT);
    let hashes_at_level = tree_size.checked_shr(tree_level).unwrap_or(0);
    let first = tile_index.checked_mul(u64::from(FULL_TILE_WIDTH))?;
    let available = hashes_at_level.checked_sub(first)?;
    if available == 0 {
        return None;
    }
    Some(available.min(u64::from(FULL_TILE_WIDTH)) as u16)
}

/// The tile that stores the hash at `address` in a tree of `tree_size`
/// leaves, if tiles store it directly: only hashes at tree levels that are
/// multiples of 8 are in tiles, and only those inside the tree.
#[must_use]
pub fn tile_for_stored_hash(address: SubtreeAddress, tree_size: u64) -> Option<TilePosition> {
    if !address.level.is_multiple_of(TILE_HEIGHT) || !address.is_inside_tree(tree_size) {
        return None;
    }
    let tile_level = address.level / TILE_HEIGHT;
    let tile_index = address.index / u64::from(FULL_TILE_WIDTH);
    let position = (address.index % u64::from(FULL_TILE_WIDTH)) as u16;
    let width = tile_width(tile_level, tile_index, tree_size)?;
    Some(TilePosition {
        tile: TileAddress {
            level: tile_level,
            index: tile_index,
            width,
        },
        position,
    })
}

/// Every tile a tree of `tree_size` leaves has, level by level, left to right:
/// full tiles, then the partial tile of each level if any.
///
/// The C2SP example: a tree of 70,000 leaves has 273 full level-0 tiles, a
/// level-0 tile of width 112, a full level-1 tile, a level-1 tile of width 17
/// and a level-2 tile of width 1.
#[must_use]
pub fn tiles_for_size(tree_size: u64) -> Vec<TileAddress> {
    tiles_between(0, tree_size)
}

/// The tiles of a tree of `new_size` leaves whose content differs from the
/// tree of `old_size` leaves: the tiles to write when the log grows. Empty if
/// `new_size <= old_size`.
#[must_use]
pub fn tiles_between(old_size: u64, new_size: u64) -> Vec<TileAddress> {
    let mut tiles = Vec::new();
    if new_size <= old_size {
        return tiles;
    }
    for tile_level in 0..=(MAX_LEVEL / TILE_HEIGHT) {
        let shift = u32::from(tile_level) * u32::from(TILE_HEIGHT);
        let old_hashes = old_size >> shift;
        let new_hashes = new_size >> shift;
        if new_hashes == old_hashes {
            // Nothing new at this level, so nothing new above it either.
            break;
        }
        // The tile holding the first new hash, through the tile holding the last.
        let first_tile = old_hashes / u64::from(FULL_TILE_WIDTH);
        let last_tile = (new_hashes - 1) / u64::from(FULL_TILE_WIDTH);
        for tile_index in first_tile..=last_tile {
            if let Some(width) = tile_width(tile_level, tile_index, new_size) {
                tiles.push(TileAddress {
                    level: tile_level,
                    index: tile_index,
                    width,
                });
            }
        }
    }
    tiles
}

/// The entry bundles a tree of `new_size` leaves has that differ from the tree
/// of `old_size` leaves (all bundles when `old_size` is 0).
#[must_use]
pub fn entry_bundles_between(old_size: u64, new_size: u64) -> Vec<EntryBundleAddress> {
    tiles_between(old_size, new_size)
        .into_iter()
        .filter(|tile| tile.level == 0)
        .map(|tile| EntryBundleAddress {
            index: tile.index,
            width: tile.width,
        })
        .collect()
}

/// Why tile bytes are not a valid tile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileDataError {
    /// The data is not exactly `width * 32` bytes.
    #[error("tile {tile} must be {expected} bytes ({width} hashes), got {actual}", width = expected / HASH_SIZE)]
    WrongLength {
        /// The tile being parsed.
        tile: String,
        /// `width * 32`.
        expected: usize,
        /// The length received.
        actual: usize,
    },
}

/// Encodes tile data: the concatenated 32-byte hashes.
#[must_use]
pub fn encode_tile_data(hashes: &[Hash]) -> Vec<u8> {
    let mut data = Vec::with_capacity(hashes.len() * HASH_SIZE);
    for hash in hashes {
        data.extend_from_slice(hash);
    }
    data
}

/// Parses the data of `tile`, which must be exactly `tile.width` hashes.
///
/// # Errors
///
/// [`TileDataError::WrongLength`] if the length is not `tile.width * 32`.
pub fn parse_tile_data(tile: &TileAddress, data: &[u8]) -> Result<Vec<Hash>, TileDataError> {
    let expected = usize::from(tile.width) * HASH_SIZE;
    if data.len() != expected {
        return Err(TileDataError::WrongLength {
            tile: tile.path(),
            expected,
            actual: data.len(),
        });
    }
    Ok(data
        .chunks_exact(HASH_SIZE)
        .map(|chunk| {
            let mut hash = [0u8; HASH_SIZE];
            hash.copy_from_slice(chunk);
            hash
        })
        .collect())
}

/// Why entries cannot be encoded into, or parsed from, an entry bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryBundleError {
    /// An entry is longer than a uint16 length prefix can describe.
    #[error("entry {entry_index} of the bundle is {length} bytes; the limit is 65535")]
    EntryTooLarge {
        /// Position of the entry in the bundle.
        entry_index: usize,
        /// Its length.
        length: usize,
    },
    /// More entries than a bundle can hold.
    #[error("an entry bundle holds at most 256 entries, got more")]
    TooManyEntries,
    /// The data ends inside a length prefix or an entry.
    #[error(
        "entry bundle truncated in entry {entry_index}: needed {needed} more bytes, {available} left"
    )]
    Truncated {
        /// Position of the entry being read.
        entry_index: usize,
        /// Bytes the prefix or entry needs.
        needed: usize,
        /// Bytes left in the data.
        available: usize,
    },
    /// Bytes remain after the expected number of entries.
    #[error("{count} trailing bytes after {entries} entries")]
    TrailingBytes {
        /// Number of leftover bytes.
        count: usize,
        /// Number of entries read.
        entries: usize,
    },
    /// The bundle has fewer entries than its width says.
    #[error("entry bundle has {actual} entries, expected {expected}")]
    WrongEntryCount {
        /// The bundle width.
        expected: usize,
        /// Entries found.
        actual: usize,
    },
    /// A bundle must not be empty (C2SP: empty tiles must not be served).
    #[error("an entry bundle must hold at least one entry")]
    Empty,
}

/// Encodes an entry bundle: each entry prefixed with its length as a big-endian uint16.
///
/// # Errors
///
/// [`EntryBundleError::EntryTooLarge`] for an entry over 65535 bytes,
/// [`EntryBundleError::TooManyEntries`] for more than 256 entries,
/// [`EntryBundleError::Empty`] for none.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, EntryBundleError> {
    if entries.is_empty() {
        return Err(EntryBundleError::Empty);
    }
    if entries.len() > usize::from(FULL_TILE_WIDTH) {
        return Err(EntryBundleError::TooManyEntries);
    }
    let total: usize = entries.iter().map(|entry| 2 + entry.as_ref().len()).sum();
    let mut bundle = Vec::with_capacity(total);
    for (entry_index, entry) in entries.iter().enumerate() {
        let entry = entry.as_ref();
        let length = u16::try_from(entry.len()).map_err(|_| EntryBundleError::EntryTooLarge {
            entry_index,
            length: entry.len(),
        })?;
        bundle.extend_from_slice(&length.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    Ok(bundle)
}

/// Reads one length-prefixed entry from the front of `data`.
fn read_entry<'a>(data: &mut &'a [u8], entry_index: usize) -> Result<&'a [u8], EntryBundleError> {
    let Some((prefix, rest)) = data.split_first_chunk::<2>() else {
        return Err(EntryBundleError::Truncated {
            entry_index,
            needed: 2,
            available: data.len(),
        });
    };
    let length = usize::from(u16::from_be_bytes(*prefix));
    if rest.len() < length {
        return Err(EntryBundleError::Truncated {
            entry_index,
            needed: length,
            available: rest.len(),
        });
    }
    let (entry, remaining) = rest.split_at(length);
    *data = remaining;
    Ok(entry)
}

/// Parses an entry bundle of unknown width: 1 to 256 entries filling `data` exactly.
///
/// # Errors
///
/// [`EntryBundleError`] for an empty, truncated or over-long bundle.
pub fn parse_entry_bundle(mut data: &[u8]) -> Result<Vec<&[u8]>, EntryBundleError> {
    if data.is_empty() {
        return Err(EntryBundleError::Empty);
    }
    let mut entries = Vec::new();
    while !data.is_empty() {
        if entries.len() == usize::from(FULL_TILE_WIDTH) {
            return Err(EntryBundleError::TooManyEntries);
        }
        entries.push(read_entry(&mut data, entries.len())?);
    }
    Ok(entries)
}

/// Parses the entry bundle at `bundle`, which must hold exactly `bundle.width` entries.
///
/// # Errors
///
/// [`EntryBundleError::Truncated`] if the data ends early,
/// [`EntryBundleError::TrailingBytes`] if bytes remain after the last entry.
pub fn parse_entry_bundle_exact<'a>(
    bundle: &EntryBundleAddress,
    mut data: &'a [u8],
) -> Result<Vec<&'a [u8]>, EntryBundleError> {
    let width = usize::from(bundle.width);
    let mut entries = Vec::with_capacity(width);
    for entry_index in 0..width {
        if data.is_empty() {
            return Err(EntryBundleError::WrongEntryCount {
                expected: width,
                actual: entry_index,
            });
        }
        entries.push(read_entry(&mut data, entry_index)?);
    }
    if !data.is_empty() {
        return Err(EntryBundleError::TrailingBytes {
            count: data.len(),
            entries: width,
        });
    }
    Ok(entries)
}

/// A source of tile bytes: a directory, an HTTP client, a database.
pub trait TileFetcher {
    /// Why a fetch failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the bytes of `tile`, which must be exactly `tile.width` hashes.
    ///
    /// # Errors
    ///
    /// Whatever the source reports.
    fn fetch_tile(&self, tile: &TileAddress) -> Result<Vec<u8>, Self::Error>;
}

impl<F, E> TileFetcher for F
where
    F: Fn(&TileAddress) -> Result<Vec<u8>, E>,
    E: std::error::Error + Send + Sync + 'static,
{
    type Error = E;

    fn fetch_tile(&self, tile: &TileAddress) -> Result<Vec<u8>, E> {
        self(tile)
    }
}

/// Why a [`TileHashReader`] could not produce a hash.
#[derive(Debug, thiserror::Error)]
pub enum TileReadError<E: std::error::Error + 'static> {
    /// The hash asked for is not a complete subtree of the tree.
    #[error("subtree {address} is not complete in a tree of {tree_size} leaves")]
    OutsideTree {
        /// The address asked for.
        address: SubtreeAddress,
        /// The tree size the reader serves.
        tree_size: u64,
    },
    /// The fetcher failed.
    #[error("fetching {tile} failed")]
    Fetch {
        /// The tile's path.
        tile: String,
        /// The fetcher's error.
        #[source]
        source: E,
    },
    /// The fetched bytes are not a tile of the expected width.
    #[error(transparent)]
    TileData(#[from] TileDataError),
}

/// A [`HashReader`] over the tiles of a tree of a fixed size, so that a
/// verifier can compute roots and proofs from a static tile directory.
///
/// Hashes at tree levels that are not multiples of 8 are recomputed from the
/// tile below. Tiles are *not* authenticated here: a caller must check what
/// it computes (a root, or a proof verified with [`crate::verify_inclusion`])
/// against a signed checkpoint, which detects any tampered tile on the path.
#[derive(Debug)]
pub struct TileHashReader<F> {
    tree_size: u64,
    fetcher: F,
}

impl<F: TileFetcher> TileHashReader<F> {
    /// A reader serving hashes of the tree of `tree_size` leaves from `fetcher`.
    pub fn new(tree_size: u64, fetcher: F) -> Self {
        TileHashReader { tree_size, fetcher }
    }

    /// The tree size whose tiles (full and partial widths) this reader fetches.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }
}

impl<F: TileFetcher> HashReader for TileHashReader<F> {
    type Error = TileReadError<F::Error>;

    fn read_hashes(&self, addresses: &[SubtreeAddress]) -> Result<Vec<Hash>, Self::Error> {
        // A proof touches few tiles; a linear cache avoids refetching them.
        let mut fetched: Vec<(TileAddress, Vec<Hash>)> = Vec::new();
        let mut hashes = Vec::with_capacity(addresses.len());
        for address in addresses {
            let outside = || TileReadError::OutsideTree {
                address: *address,
                tree_size: self.tree_size,
            };
            if !address.is_inside_tree(self.tree_size) {
                return Err(outside());
            }
            // The hash is the root of 2^depth consecutive hashes at the tile's base level.
            let depth = address.level % TILE_HEIGHT;
            let base = SubtreeAddress {
                level: address.level - depth,
                index: address.index << depth,
            };
            let location = tile_for_stored_hash(base, self.tree_size).ok_or_else(outside)?;
            let cached = fetched.iter().position(|(tile, _)| *tile == location.tile);
            let tile_hashes = match cached {
                Some(position) => &fetched[position].1,
                None => {
                    let data = self.fetcher.fetch_tile(&location.tile).map_err(|source| {
                        TileReadError::Fetch {
                            tile: location.tile.path(),
                            source,
                        }
                    })?;
                    let parsed = parse_tile_data(&location.tile, &data)?;
                    fetched.push((location.tile, parsed));
                    &fetched[fetched.len() - 1].1
                }
            };
            let start = usize::from(location.position);
            let end = start + (1usize << depth);
            // In range: the subtree is inside the tree, so its base hashes are in the tile.
            let Some(children) = tile_hashes.get(start..end) else {
                return Err(outside());
            };
            hashes.push(merkle_root_of_power_of_two(children));
        }
        Ok(hashes)
    }
}

/// The root of a complete subtree given its `2^k` bottom hashes.
fn merkle_root_of_power_of_two(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    // Merge equal-height neighbours as they arrive, like a binary counter; at
    // most 128 hashes come from one tile, so the stack never exceeds 8 entries.
    let mut stack: [Hash; 9] = [[0u8; HASH_SIZE]; 9];
    let mut levels: [u8; 9] = [0; 9];
    let mut depth = 0usize;
    for hash in hashes {
        stack[depth] = *hash;
        levels[depth] = 0;
        depth += 1;
        while depth >= 2 && levels[depth - 1] == levels[depth - 2] {
            let merged = crate::hash::node_hash(&stack[depth - 2], &stack[depth - 1]);
            depth -= 1;
            stack[depth - 1] = merged;
            levels[depth - 1] += 1;
        }
    }
    fold_right(&stack[..depth])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkle_root_of_power_of_two_matches_memory_tree() {
        let leaves: Vec<Hash> = (0u8..16).map(|i| crate::hash::leaf_hash(&[i])).collect();
        let tree = crate::tree::MemoryTree::from_leaf_hashes(&leaves);
        assert_eq!(merkle_root_of_power_of_two(&leaves), tree.root());
        assert_eq!(merkle_root_of_power_of_two(&leaves[..1]), leaves[0]);
        assert_eq!(
            Some(merkle_root_of_power_of_two(&leaves[4..8])),
            tree.stored_hash(SubtreeAddress { level: 2, index: 1 })
        );
    }

    #[test]
    fn tile_width_follows_the_partial_tile_rule() {
        assert_eq!(tile_width(0, 0, 0), None);
        assert_eq!(tile_width(0, 0, 1), Some(1));
        assert_eq!(tile_width(0, 0, 256), Some(256));
        assert_eq!(tile_width(0, 1, 256), None);
        assert_eq!(tile_width(1, 0, 256), Some(1));
        assert_eq!(tile_width(1, 0, 255), None);
        assert_eq!(tile_width(7, 0, u64::MAX), Some(255));
    }
}
