//! The seam between the log and wherever its files live: [`LogSource`] reads
//! them, [`LogStorage`] also writes them. Both are keyed by the C2SP
//! tlog-tiles path relative to the log (`checkpoint`, `checkpoints/12`,
//! `tile/0/000`, `tile/entries/000.p/5`), and both are synchronous:
//! integration runs on a thread of its own, and a backend that needs async
//! brings its own runtime.
//!
//! Every file the log writes is one of three kinds, each with its own call:
//!
//! - **Immutable files** (tiles and entry bundles): [`LogStorage::create`]
//!   writes a path once. Writing the same bytes again succeeds, so an
//!   interrupted integration can simply run again; different bytes at a
//!   written path are refused with [`LogStorageError::Conflict`], because a
//!   reader may already hold the first version (two integrators disagreeing,
//!   or a store that was replaced). Creates may be buffered and written in
//!   parallel; they are durable only after [`LogStorage::sync`].
//! - **Per-size copies** (`checkpoints/<size>`): [`LogStorage::write_checkpoint_copy`]
//!   creates the copy, and may later replace it only with the same
//!   checkpoint body carrying every signature line it had and more
//!   (cosignatures gained from witnesses). Anything else is a conflict.
//! - **The checkpoint** (`checkpoint`): [`LogStorage::replace_checkpoint`]
//!   is a compare-and-swap naming the bytes it replaces, and the new
//!   checkpoint must grow the tree or add cosignatures to the same one: a
//!   published checkpoint never moves back.
//!
//! The invariant the log rests on, in these terms: **`replace_checkpoint` is
//! called only after a `sync` that returned `Ok` and followed every `create`
//! of a file the new checkpoint covers.** A crash (or an error) at any step
//! before it leaves the previous checkpoint published, with everything it
//! covers untouched, and running integration again finishes the job.

use std::fmt;
use std::io;
use std::time::SystemTime;

use corridor_tlog::tile::FULL_TILE_WIDTH;
use corridor_tlog::{HASH_SIZE, TileAddress, TileFetcher};

/// The path of the latest signed checkpoint.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// The directory holding every published checkpoint, named by tree size.
pub const CHECKPOINT_COPIES: &str = "checkpoints";

/// The path of the checkpoint published at `tree_size` (`checkpoints/<size>`).
#[must_use]
pub fn checkpoint_copy_path(tree_size: u64) -> String {
    format!("{CHECKPOINT_COPIES}/{tree_size}")
}

/// Where a verifier or a reader gets a log's files: a directory, memory, a URL.
pub trait LogSource {
    /// What to call the log in messages (its directory or URL).
    fn describe(&self) -> String;

    /// What to call the resource at `path` in messages: for a directory the
    /// file's full path, for a URL the resource's URL.
    fn describe_path(&self, path: &str) -> String {
        format!("{}/{path}", self.describe().trim_end_matches('/'))
    }

    /// The bytes at a C2SP path relative to the log (`checkpoint`,
    /// `tile/0/000`), `Ok(None)` if there is nothing there.
    ///
    /// # Errors
    ///
    /// The resource exists but cannot be read.
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>>;

    /// When the resource at `path` was last written, if the backend knows
    /// (`Ok(None)` if it does not, or if there is nothing there).
    ///
    /// # Errors
    ///
    /// The backend cannot say.
    fn modified(&self, path: &str) -> io::Result<Option<SystemTime>> {
        let _ = path;
        Ok(None)
    }
}

/// The log's files, read and written; see the module documentation for the
/// rules of each kind of file and the invariant they serve.
///
/// The caller is the log's only writer (in Corridor: the holder of the data
/// directory's writer lock, and within it one [`Log`](crate::Log)'s
/// publishing lock). The rules still hold against a second writer: it can
/// make a write fail, never replace what the first wrote.
pub trait LogStorage: LogSource + Send + Sync + fmt::Debug {
    /// The names directly below the directory `directory` (`checkpoints`,
    /// `tile/0/001.p`), in no particular order; empty if there are none.
    /// Only paths the log wrote are listed, not where they live.
    ///
    /// # Errors
    ///
    /// The backend cannot list (a plain HTTP source cannot).
    fn list(&self, directory: &str) -> io::Result<Vec<String>>;

    /// Creates the immutable file at `path` (a tile or an entry bundle).
    /// Succeeds at once when the same bytes are already there. The write may
    /// be buffered: it is durable, and its failure certain to be reported,
    /// only once [`LogStorage::sync`] returns.
    ///
    /// # Errors
    ///
    /// [`LogStorageError::Conflict`] if `path` holds different bytes; an I/O
    /// failure, of this file or of an earlier one since the last `sync`.
    /// After an error nothing written since the last `sync` is known to be
    /// durable.
    fn create(&self, path: &str, bytes: Vec<u8>) -> Result<(), LogStorageError>;

    /// The durability point: when it returns `Ok`, every file created since
    /// the last `sync` is written and durable.
    ///
    /// # Errors
    ///
    /// The first failure of a file created since the last `sync`, or of
    /// making them durable; nothing since the last `sync` is then known to
    /// be durable.
    fn sync(&self) -> Result<(), LogStorageError>;

    /// Writes the copy of the checkpoint published at `tree_size`
    /// (`checkpoints/<size>`): creates it, or replaces it with the same
    /// checkpoint body carrying every signature line it had (and more).
    /// Durable when it returns; it does not make earlier creates durable.
    ///
    /// # Errors
    ///
    /// [`LogStorageError::NotSuccessor`] if a different checkpoint, or one
    /// with fewer signatures, is already there; an I/O failure.
    fn write_checkpoint_copy(&self, tree_size: u64, signed: &[u8]) -> Result<(), LogStorageError>;

    /// Replaces `checkpoint` with `signed` if it still holds exactly
    /// `replaced` (`None`: if there is no checkpoint yet), and if `signed`
    /// grows the tree or adds cosignatures to the same checkpoint. Durable
    /// when it returns; it does not make earlier creates durable.
    ///
    /// # Errors
    ///
    /// [`LogStorageError::CheckpointChanged`] if the checkpoint is not
    /// `replaced` (another writer published meanwhile), and nothing is
    /// replaced; [`LogStorageError::NotSuccessor`] if `signed` would move
    /// the log back; an I/O failure.
    fn replace_checkpoint(
        &self,
        replaced: Option<&[u8]>,
        signed: &[u8],
    ) -> Result<(), LogStorageError>;
}

/// Why a write to the log's storage failed.
#[derive(Debug, thiserror::Error)]
pub enum LogStorageError {
    /// A file could not be written or made durable.
    #[error("{path}: {source}")]
    Io {
        /// The file (as [`LogSource::describe_path`] names it).
        path: String,
        /// What the backend said.
        #[source]
        source: io::Error,
    },
    /// An immutable file already holds different bytes.
    #[error(
        "{path} already holds different bytes, and a published file is never rewritten; \
         another writer published a different log here, or the store was replaced"
    )]
    Conflict {
        /// The file.
        path: String,
    },
    /// The checkpoint is not the one the replacement names.
    #[error(
        "{path} changed since it was read (another writer published meanwhile); nothing was replaced"
    )]
    CheckpointChanged {
        /// The checkpoint's location.
        path: String,
    },
    /// A checkpoint or a copy would be replaced by one that does not extend it.
    #[error("{path}: refusing to replace it: {reason}")]
    NotSuccessor {
        /// The file.
        path: String,
        /// Why the new bytes do not extend the old.
        reason: String,
    },
    /// The log is read-only here (served over HTTP).
    #[error("{location} is a read-only log; it cannot be written")]
    ReadOnly {
        /// The log.
        location: String,
    },
    /// A fault injected by [`MemoryLog`](crate::MemoryLog).
    #[error("{path}: injected fault at {operation}")]
    Injected {
        /// The operation that failed (`create`, `sync`, ...).
        operation: &'static str,
        /// The path written, or the log for `sync`.
        path: String,
    },
}

/// A signed note split into its body (the checkpoint, through its final
/// newline) and its signature lines (C2SP signed-note: the body, a blank
/// line, then one line per signature).
fn split_signed_note(bytes: &[u8]) -> Option<(&[u8], Vec<&[u8]>)> {
    let blank = bytes.windows(2).position(|pair| pair == b"\n\n")?;
    let (body, rest) = bytes.split_at(blank + 1);
    let signatures = rest[1..]
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .collect();
    Some((body, signatures))
}

/// The tree size on a checkpoint body's second line (C2SP tlog-checkpoint).
fn checkpoint_tree_size(body: &[u8]) -> Option<u64> {
    let line = body.split(|byte| *byte == b'\n').nth(1)?;
    std::str::from_utf8(line).ok()?.parse().ok()
}

/// The tree size of a signed checkpoint, if it is one.
pub(crate) fn signed_checkpoint_tree_size(signed: &[u8]) -> Option<u64> {
    split_signed_note(signed).and_then(|(body, _)| checkpoint_tree_size(body))
}

/// Whether `new` is `current` with cosignatures added: the same body, and
/// every signature line of `current` still there.
///
/// # Errors
///
/// Why it is not.
pub(crate) fn check_same_checkpoint_more_signatures(
    current: &[u8],
    new: &[u8],
) -> Result<(), String> {
    let (Some((current_body, current_signatures)), Some((new_body, new_signatures))) =
        (split_signed_note(current), split_signed_note(new))
    else {
        return Err("one of the two is not a signed note".into());
    };
    if current_body != new_body {
        return Err("it holds another checkpoint".into());
    }
    if let Some(missing) = current_signatures
        .iter()
        .find(|line| !new_signatures.contains(line))
    {
        return Err(format!(
            "the new copy drops the signature line {:?}",
            String::from_utf8_lossy(missing)
        ));
    }
    Ok(())
}

/// Whether `new` may replace `current` as the latest checkpoint: it grows
/// the tree, or it is the same checkpoint with cosignatures added.
///
/// # Errors
///
/// Why it may not.
pub(crate) fn check_checkpoint_successor(current: &[u8], new: &[u8]) -> Result<(), String> {
    let sizes = split_signed_note(current)
        .and_then(|(body, _)| checkpoint_tree_size(body))
        .zip(split_signed_note(new).and_then(|(body, _)| checkpoint_tree_size(body)));
    match sizes {
        Some((current_size, new_size)) if new_size > current_size => Ok(()),
        Some((current_size, new_size)) if new_size < current_size => Err(format!(
            "the new checkpoint is for {new_size} leaves, the published one for {current_size}: a published checkpoint never moves back"
        )),
        Some(_) => check_same_checkpoint_more_signatures(current, new),
        None => Err("one of the two is not a signed checkpoint".into()),
    }
}

/// The tree sizes of every checkpoint copy kept, ascending.
///
/// # Errors
///
/// The copies cannot be listed.
pub fn published_sizes(storage: &dyn LogStorage) -> io::Result<Vec<u64>> {
    let mut sizes: Vec<u64> = storage
        .list(CHECKPOINT_COPIES)?
        .iter()
        .filter_map(|name| name.parse().ok())
        .collect();
    sizes.sort_unstable();
    Ok(sizes)
}

/// Reads tiles from their exact C2SP paths; a missing tile is an error.
#[derive(Clone, Copy)]
pub struct ExactTiles<'a> {
    source: &'a dyn LogSource,
}

impl<'a> ExactTiles<'a> {
    /// A fetcher over `source`.
    #[must_use]
    pub fn new(source: &'a dyn LogSource) -> Self {
        ExactTiles { source }
    }
}

impl fmt::Debug for ExactTiles<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ExactTiles")
            .field("source", &self.source.describe())
            .finish()
    }
}

impl TileFetcher for ExactTiles<'_> {
    type Error = io::Error;

    fn fetch_tile(&self, tile: &TileAddress) -> Result<Vec<u8>, io::Error> {
        self.source.read(&tile.path())?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is missing", tile.path()),
            )
        })
    }
}

/// Reads tiles from their exact paths, or else from a wider tile of the same
/// level and index, truncated.
///
/// Sound because a tile only ever grows at its end: the partial tile of width
/// `W` is the first `W` hashes of every wider version of it. This lets the
/// operator compute roots and proofs for any tree size up to the latest, not
/// only for the sizes that were published.
#[derive(Clone, Copy)]
pub struct PrefixTiles<'a> {
    storage: &'a dyn LogStorage,
}

impl<'a> PrefixTiles<'a> {
    /// A fetcher over `storage`.
    #[must_use]
    pub fn new(storage: &'a dyn LogStorage) -> Self {
        PrefixTiles { storage }
    }

    /// The narrowest written version of `tile` wider than `tile.width`, and its bytes.
    fn wider_version(&self, tile: &TileAddress) -> io::Result<Option<(TileAddress, Vec<u8>)>> {
        let path = tile.path();
        if let Some((partial_directory, _)) = path.rsplit_once('/') {
            // A source that cannot list (a log read over HTTP) still has
            // the full tile to fall back to.
            let listed = match self.storage.list(partial_directory) {
                Ok(names) => names,
                Err(error) if error.kind() == io::ErrorKind::Unsupported => Vec::new(),
                Err(error) => return Err(error),
            };
            let best = listed
                .iter()
                .filter_map(|name| name.parse::<u16>().ok())
                .filter(|width| *width > tile.width && *width < FULL_TILE_WIDTH)
                .min();
            if let Some(width) = best {
                let wider = TileAddress { width, ..*tile };
                if let Some(bytes) = self.storage.read(&wider.path())? {
                    return Ok(Some((wider, bytes)));
                }
            }
        }
        let full = TileAddress {
            width: FULL_TILE_WIDTH,
            ..*tile
        };
        Ok(self.storage.read(&full.path())?.map(|bytes| (full, bytes)))
    }
}

impl fmt::Debug for PrefixTiles<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PrefixTiles")
            .field("storage", &self.storage.describe())
            .finish()
    }
}

impl TileFetcher for PrefixTiles<'_> {
    type Error = io::Error;

    fn fetch_tile(&self, tile: &TileAddress) -> Result<Vec<u8>, io::Error> {
        if let Some(bytes) = self.storage.read(&tile.path())? {
            return Ok(bytes);
        }
        let Some((wider, mut bytes)) = self.wider_version(tile)? else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such tile, nor a wider version of it", tile.path()),
            ));
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    const AT_5: &[u8] = b"example.org/log\n5\nAAAA\n\n\xe2\x80\x94 example.org/log sig1\n";
    const AT_5_COSIGNED: &[u8] =
        b"example.org/log\n5\nAAAA\n\n\xe2\x80\x94 example.org/log sig1\n\xe2\x80\x94 witness cosig\n";
    const AT_6: &[u8] = b"example.org/log\n6\nBBBB\n\n\xe2\x80\x94 example.org/log sig2\n";
    const OTHER_AT_5: &[u8] = b"example.org/log\n5\nCCCC\n\n\xe2\x80\x94 example.org/log sig3\n";

    #[test]
    fn a_checkpoint_is_replaced_only_by_a_larger_tree_or_more_cosignatures() {
        assert_eq!(check_checkpoint_successor(AT_5, AT_6), Ok(()));
        assert_eq!(check_checkpoint_successor(AT_5, AT_5_COSIGNED), Ok(()));
        assert_eq!(check_checkpoint_successor(AT_5, AT_5), Ok(()));
        let back = check_checkpoint_successor(AT_6, AT_5).expect_err("moves back");
        assert!(back.contains("never moves back"), "{back}");
        let fork = check_checkpoint_successor(AT_5, OTHER_AT_5).expect_err("fork");
        assert!(fork.contains("another checkpoint"), "{fork}");
        let dropped = check_checkpoint_successor(AT_5_COSIGNED, AT_5).expect_err("drops");
        assert!(dropped.contains("witness cosig"), "{dropped}");
        assert!(check_checkpoint_successor(b"garbage", AT_6).is_err());
    }

    #[test]
    fn a_copy_gains_signature_lines_and_keeps_its_body() {
        assert_eq!(
            check_same_checkpoint_more_signatures(AT_5, AT_5_COSIGNED),
            Ok(())
        );
        assert!(check_same_checkpoint_more_signatures(AT_5, AT_6).is_err());
        assert!(check_same_checkpoint_more_signatures(AT_5_COSIGNED, AT_5).is_err());
    }
}
