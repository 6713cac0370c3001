//! Durable file replacement: every file of the log is written to a temporary
//! name, flushed to disk, then renamed over its final name, so that a reader
//! (or a crash) sees the old bytes or the new bytes, never a mix.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The temporary name a file is written under before it is renamed into place.
///
/// Dot-prefixed, so a static web server configured to hide dot files never
/// serves a half-written tile.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes `bytes` to `path` through a temporary file: write, `fsync`, rename.
///
/// The parent directory is created if needed but *not* synced; callers batch
/// directory syncs with [`DirectorySyncs`] (one per directory per integration).
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = temporary_path(path);
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    drop(file);
    std::fs::rename(&temporary, path)
}

/// Flushes a directory's entries (new names, renames) to disk.
pub(crate) fn sync_directory(path: &Path) -> io::Result<()> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    File::open(path)?.sync_all()
}

/// The directories whose entries changed during one integration, synced
/// together before the checkpoint that depends on them is published.
#[derive(Debug, Default)]
pub(crate) struct DirectorySyncs {
    directories: BTreeSet<PathBuf>,
}

impl DirectorySyncs {
    /// Remembers that `file` was created or replaced under `root`: its
    /// directory and every directory between it and `root` may have new entries.
    pub(crate) fn touched(&mut self, root: &Path, file: &Path) {
        let mut current = file.parent();
        while let Some(directory) = current {
            if !self.directories.insert(directory.to_path_buf()) {
                // Already recorded, and so are its ancestors.
                break;
            }
            if directory == root {
                break;
            }
            current = directory.parent();
        }
    }

    /// Syncs every recorded directory, deepest first.
    pub(crate) fn sync_all(&mut self) -> io::Result<()> {
        for directory in self.directories.iter().rev() {
            sync_directory(directory)?;
        }
        self.directories.clear();
        Ok(())
    }
}

/// Reads a whole file, `Ok(None)` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}
