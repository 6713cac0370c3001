//! An in-memory cache of tiles with every subtree hash inside them computed,
//! so that a proof costs a few map lookups instead of file reads and the
//! hashing of up to 255 nodes per tile level.
//!
//! Every tile path names immutable content (a partial tile of width `W` is
//! never rewritten with other hashes: [`LogStorage::create`] refuses), so
//! cached tiles never go stale.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use corridor_tlog::tile::TILE_HEIGHT;
use corridor_tlog::{
    Hash, HashReader, SubtreeAddress, TileAddress, TileFetcher, node_hash, parse_tile_data,
    tile_for_stored_hash,
};

use crate::storage::{LogStorage, PrefixTiles};

/// A tile's hashes and those of every complete subtree inside it:
/// `levels[d][i]` is the hash of tile hashes `i * 2^d .. (i + 1) * 2^d`.
#[derive(Debug)]
struct ExpandedTile {
    levels: Vec<Vec<Hash>>,
}

impl ExpandedTile {
    fn new(hashes: Vec<Hash>) -> Self {
        let mut levels = vec![hashes];
        while levels.len() <= usize::from(TILE_HEIGHT) {
            let below = &levels[levels.len() - 1];
            if below.len() < 2 {
                break;
            }
            let above: Vec<Hash> = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        ExpandedTile { levels }
    }
}

/// Expanded tiles by address, shared by the readers of one log.
#[derive(Debug)]
pub(crate) struct TileCache {
    tiles: Mutex<HashMap<TileAddress, Arc<ExpandedTile>>>,
    capacity: usize,
}

impl TileCache {
    /// A cache of at most `capacity` tiles (about 16 KiB each).
    pub(crate) fn new(capacity: usize) -> Self {
        TileCache {
            tiles: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn get(&self, tile: &TileAddress) -> Option<Arc<ExpandedTile>> {
        let tiles = self
            .tiles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tiles.get(tile).cloned()
    }

    fn insert(&self, tile: TileAddress, expanded: Arc<ExpandedTile>) {
        let mut tiles = self
            .tiles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if tiles.len() >= self.capacity {
            // Crude but bounded: start over rather than track recency.
            tiles.clear();
        }
        tiles.insert(tile, expanded);
    }
}

/// A [`HashReader`] for the tree of `tree_size` leaves over a log's tiles,
/// through a [`TileCache`].
pub(crate) struct CachedTileReader<'a> {
    pub(crate) storage: &'a dyn LogStorage,
    pub(crate) cache: &'a TileCache,
    pub(crate) tree_size: u64,
}

impl CachedTileReader<'_> {
    fn tile(&self, tile: &TileAddress) -> io::Result<Arc<ExpandedTile>> {
        if let Some(expanded) = self.cache.get(tile) {
            return Ok(expanded);
        }
        let bytes = PrefixTiles::new(self.storage).fetch_tile(tile)?;
        let hashes = parse_tile_data(tile, &bytes)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))?;
        let expanded = Arc::new(ExpandedTile::new(hashes));
        self.cache.insert(*tile, Arc::clone(&expanded));
        Ok(expanded)
    }
}

impl HashReader for CachedTileReader<'_> {
    type Error = io::Error;

    fn read_hashes(&self, addresses: &[SubtreeAddress]) -> Result<Vec<Hash>, io::Error> {
        let mut hashes = Vec::with_capacity(addresses.len());
        for address in addresses {
            let outside = || {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "subtree {address} is not complete in a tree of {} leaves",
                        self.tree_size
                    ),
                )
            };
            let depth = address.level % TILE_HEIGHT;
            let base = SubtreeAddress {
                level: address.level - depth,
                index: address
                    .index
                    .checked_shl(u32::from(depth))
                    .ok_or_else(outside)?,
            };
            if !address.is_inside_tree(self.tree_size) {
                return Err(outside());
            }
            let location = tile_for_stored_hash(base, self.tree_size).ok_or_else(outside)?;
            let expanded = self.tile(&location.tile)?;
            let hash = expanded
                .levels
                .get(usize::from(depth))
                .and_then(|level| level.get(usize::from(location.position >> depth)))
                .ok_or_else(outside)?;
            hashes.push(*hash);
        }
        Ok(hashes)
    }
}
