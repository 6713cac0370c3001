//! The log directory: where each C2SP tlog-tiles resource lives on disk, and
//! tile fetchers over it.
//!
//! ```text
//! log/checkpoint                  the latest signed checkpoint (C2SP tlog-checkpoint)
//! log/checkpoints/<size>          every checkpoint published, by tree size
//! log/tile/<L>/<N>[.p/<W>]        hash tiles (C2SP tlog-tiles "Merkle Tree")
//! log/tile/entries/<N>[.p/<W>]    entry bundles (C2SP tlog-tiles "Log entries")
//! ```
//!
//! Partial tiles are kept after the full tile appears, so that proofs and
//! roots for every published tree size can still be served from exact paths.

use std::io;
use std::path::{Path, PathBuf};

use corridor_tlog::tile::FULL_TILE_WIDTH;
use corridor_tlog::{EntryBundleAddress, HASH_SIZE, TileAddress, TileFetcher};

use crate::files::read_optional;

/// The file holding the latest signed checkpoint, relative to the log directory.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// The directory holding every published checkpoint, named by tree size.
pub const CHECKPOINT_HISTORY_DIRECTORY: &str = "checkpoints";

/// A log directory on the local file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirectory {
    root: PathBuf,
}

impl LogDirectory {
    /// The log directory at `root` (it need not exist yet).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LogDirectory { root: root.into() }
    }

    /// The directory itself.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the latest signed checkpoint lives.
    #[must_use]
    pub fn checkpoint_path(&self) -> PathBuf {
        self.root.join(CHECKPOINT_FILE)
    }

    /// Where the checkpoint published at `tree_size` is kept.
    #[must_use]
    pub fn history_path(&self, tree_size: u64) -> PathBuf {
        self.root
            .join(CHECKPOINT_HISTORY_DIRECTORY)
            .join(tree_size.to_string())
    }

    /// Where a resource at a C2SP path (`tile/...`, `checkpoint`) lives.
    #[must_use]
    pub fn resource_path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Where a hash tile lives.
    #[must_use]
    pub fn tile_path(&self, tile: &TileAddress) -> PathBuf {
        self.root.join(tile.path())
    }

    /// Where an entry bundle lives.
    #[must_use]
    pub fn bundle_path(&self, bundle: &EntryBundleAddress) -> PathBuf {
        self.root.join(bundle.path())
    }

    /// The bytes of the latest signed checkpoint, `None` before the first integration.
    ///
    /// # Errors
    ///
    /// The file exists but cannot be read.
    pub fn read_checkpoint(&self) -> io::Result<Option<Vec<u8>>> {
        read_optional(&self.checkpoint_path())
    }

    /// The tree sizes of every checkpoint kept in the history, ascending.
    ///
    /// # Errors
    ///
    /// The history directory exists but cannot be listed.
    pub fn published_sizes(&self) -> io::Result<Vec<u64>> {
        let directory = self.root.join(CHECKPOINT_HISTORY_DIRECTORY);
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let mut sizes = Vec::new();
        for entry in entries {
            let entry = entry?;
            if let Some(size) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u64>().ok())
            {
                sizes.push(size);
            }
        }
        sizes.sort_unstable();
        Ok(sizes)
    }

    /// A fetcher that reads each tile from its exact path.
    #[must_use]
    pub fn exact_tiles(&self) -> ExactTiles<'_> {
        ExactTiles { directory: self }
    }

    /// A fetcher that, for a partial tile that was never written (a tree size
    /// that was never published), cuts the hashes out of a wider tile of the
    /// same index; see [`PrefixTiles`].
    #[must_use]
    pub fn prefix_tiles(&self) -> PrefixTiles<'_> {
        PrefixTiles { directory: self }
    }
}

/// Reads tiles from their exact C2SP paths; a missing file is an error.
#[derive(Debug, Clone, Copy)]
pub struct ExactTiles<'a> {
    directory: &'a LogDirectory,
}

impl TileFetcher for ExactTiles<'_> {
    type Error = io::Error;

    fn fetch_tile(&self, tile: &TileAddress) -> Result<Vec<u8>, io::Error> {
        std::fs::read(self.directory.tile_path(tile))
    }
}

/// Reads tiles from their exact paths, or else from a wider tile of the same
/// level and index, truncated.
///
/// Sound because a tile only ever grows at its end: the partial tile of width
/// `W` is the first `W` hashes of every wider version of it. This lets the
/// operator compute roots and proofs for any tree size up to the latest, not
/// only for the sizes that were published.
#[derive(Debug, Clone, Copy)]
pub struct PrefixTiles<'a> {
    directory: &'a LogDirectory,
}

impl PrefixTiles<'_> {
    /// The narrowest written version of `tile` at least `tile.width` wide.
    fn wider_version(&self, tile: &TileAddress) -> io::Result<Option<TileAddress>> {
        let full = TileAddress {
            width: FULL_TILE_WIDTH,
            ..*tile
        };
        let partial_directory = self
            .directory
            .tile_path(tile)
            .parent()
            .map(Path::to_path_buf);
        let mut best: Option<u16> = None;
        if let Some(partial_directory) = partial_directory {
            match std::fs::read_dir(&partial_directory) {
                Ok(entries) => {
                    for entry in entries {
                        let entry = entry?;
                        let width = entry
                            .file_name()
                            .to_str()
                            .and_then(|name| name.parse::<u16>().ok());
                        if let Some(width) = width
                            && width > tile.width
                            && width < FULL_TILE_WIDTH
                            && best.is_none_or(|best| width < best)
                        {
                            best = Some(width);
                        }
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        if let Some(width) = best {
            return Ok(Some(TileAddress { width, ..*tile }));
        }
        if self.directory.tile_path(&full).exists() {
            return Ok(Some(full));
        }
        Ok(None)
    }
}

impl TileFetcher for PrefixTiles<'_> {
    type Error = io::Error;

    fn fetch_tile(&self, tile: &TileAddress) -> Result<Vec<u8>, io::Error> {
        match std::fs::read(self.directory.tile_path(tile)) {
            Ok(bytes) => return Ok(bytes),
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            Err(_) => {}
        }
        let Some(wider) = self.wider_version(tile)? else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such tile, nor a wider version of it", tile.path()),
            ));
        };
        let mut bytes = std::fs::read(self.directory.tile_path(&wider))?;
        let wanted = usize::from(tile.width) * HASH_SIZE;
        if bytes.len() < wanted {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is {} bytes, too short to hold {}",
                    wider.path(),
                    bytes.len(),
                    tile.path()
                ),
            ));
        }
        bytes.truncate(wanted);
        Ok(bytes)
    }
}
