//! Assembling hash tiles from the stream of stored hashes a [`CompactRange`]
//! reports, shared by integration (which writes them) and verification (which
//! compares them with what is on disk).
//!
//! [`CompactRange`]: corridor_tlog::CompactRange

use corridor_tlog::tile::{FULL_TILE_WIDTH, TILE_HEIGHT};
use corridor_tlog::{Hash, SubtreeAddress, TileAddress};

/// The hashes of the tile being filled at one tile level.
#[derive(Debug, Default)]
struct LevelBuffer {
    tile_index: u64,
    hashes: Vec<Hash>,
    /// Whether hashes were added since the buffer was seeded or last emitted.
    grown: bool,
}

/// The rightmost (incomplete) tile of every tile level.
#[derive(Debug, Default)]
pub(crate) struct TileBuffers {
    levels: Vec<LevelBuffer>,
}

impl TileBuffers {
    fn level_mut(&mut self, tile_level: u8) -> &mut LevelBuffer {
        let tile_level = usize::from(tile_level);
        if self.levels.len() <= tile_level {
            self.levels
                .resize_with(tile_level + 1, LevelBuffer::default);
        }
        &mut self.levels[tile_level]
    }

    /// Starts `tile_level` with the hashes already in its partial tile.
    pub(crate) fn seed(&mut self, tile_level: u8, tile_index: u64, hashes: Vec<Hash>) {
        let level = self.level_mut(tile_level);
        level.tile_index = tile_index;
        level.hashes = hashes;
        level.grown = false;
    }

    /// The hashes of the level-0 tile being filled (the leaf hashes since the last full tile).
    pub(crate) fn level_zero_hashes(&self) -> &[Hash] {
        self.levels
            .first()
            .map_or(&[], |level| level.hashes.as_slice())
    }

    /// Takes one stored hash (in the order a `CompactRange` reports them) and
    /// appends to `completed` the full tile it completes, if any. Hashes at tree
    /// levels that are not multiples of 8 are not stored in tiles and are ignored.
    pub(crate) fn push(
        &mut self,
        address: SubtreeAddress,
        hash: &Hash,
        completed: &mut Vec<(TileAddress, Vec<Hash>)>,
    ) {
        if !address.level.is_multiple_of(TILE_HEIGHT) {
            return;
        }
        let tile_level = address.level / TILE_HEIGHT;
        let level = self.level_mut(tile_level);
        if level.hashes.is_empty() {
            level.tile_index = address.index / u64::from(FULL_TILE_WIDTH);
            level.hashes.reserve(usize::from(FULL_TILE_WIDTH));
        }
        level.hashes.push(*hash);
        level.grown = true;
        if level.hashes.len() == usize::from(FULL_TILE_WIDTH) {
            let tile = TileAddress {
                level: tile_level,
                index: level.tile_index,
                width: FULL_TILE_WIDTH,
            };
            completed.push((tile, std::mem::take(&mut level.hashes)));
            level.grown = false;
        }
    }

    /// The partial tiles that gained hashes since they were seeded.
    pub(crate) fn grown_partial_tiles(&self) -> impl Iterator<Item = (TileAddress, &[Hash])> {
        self.partial_tiles(true)
    }

    /// Every partial tile, grown or not.
    pub(crate) fn all_partial_tiles(&self) -> impl Iterator<Item = (TileAddress, &[Hash])> {
        self.partial_tiles(false)
    }

    fn partial_tiles(&self, only_grown: bool) -> impl Iterator<Item = (TileAddress, &[Hash])> {
        self.levels
            .iter()
            .enumerate()
            .filter(move |(_, level)| !level.hashes.is_empty() && (level.grown || !only_grown))
            .map(|(tile_level, level)| {
                (
                    TileAddress {
                        level: tile_level as u8,
                        index: level.tile_index,
                        width: level.hashes.len() as u16,
                    },
                    level.hashes.as_slice(),
                )
            })
    }
}
