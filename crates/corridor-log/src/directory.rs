//! The log in a directory on the local file system, one file per C2SP path:
//! the [`LogStorage`] Corridor uses by default (`DATA/log`).
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
//!
//! Tiles and bundles go through a [`BatchWriter`]: threads create them while
//! integration hashes the next leaves, and [`LogStorage::sync`] makes the
//! whole batch durable with one `syncfs`. Checkpoints and their copies are
//! written one at a time (temporary file, `fsync`, rename, directory
//! `fsync`), under a lock that makes the compare-and-swap atomic: a mutex
//! within the process and an OS lock on `log/.checkpoint.lock` across
//! processes (several servers may share one log directory, and a process
//! that dies holding it releases it), so two processes never both replace
//! the same checkpoint, nor write one temporary file at once.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::files::{BatchWriter, StagedFile, read_optional, sync_directory};
use crate::storage::{
    CHECKPOINT_FILE, LogSource, LogStorage, LogStorageError, check_checkpoint_successor,
    check_same_checkpoint_more_signatures, checkpoint_copy_path,
};

/// Threads creating and filling files (file creation is the costly part).
const WRITER_THREADS: usize = 3;

/// A log directory on the local file system.
#[derive(Debug)]
pub struct LogDirectory {
    root: PathBuf,
    /// The files created since the last `sync`, being placed by threads.
    batch: Mutex<Option<BatchWriter>>,
    /// Held while a checkpoint or a copy is compared and replaced.
    checkpoints: Mutex<()>,
}

/// The file whose OS lock is held, across processes, while a checkpoint
/// or a copy is compared and replaced (dot-prefixed: never part of the log).
const CHECKPOINT_LOCK: &str = ".checkpoint.lock";

/// Both locks of a checkpoint write: the process's mutex, then the OS lock
/// (released when the file closes, or when the process dies).
struct CheckpointGuard<'a> {
    _file: std::fs::File,
    _mutex: MutexGuard<'a, ()>,
}

/// Locks `mutex`, taking the value even if a thread panicked holding it: a
/// batch abandoned by a panic is dropped as a failed one would be.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LogDirectory {
    /// The log directory at `root` (it need not exist yet).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LogDirectory {
            root: root.into(),
            batch: Mutex::new(None),
            checkpoints: Mutex::new(()),
        }
    }

    /// The directory itself.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the resource at a C2SP path lives, `None` for a path that would
    /// leave the directory (`..`, absolute) or name it (empty).
    fn file(&self, path: &str) -> Option<PathBuf> {
        let relative = Path::new(path);
        let inside = relative
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
        (inside && !path.is_empty()).then(|| self.root.join(relative))
    }

    fn file_or_error(&self, path: &str) -> Result<PathBuf, LogStorageError> {
        self.file(path).ok_or_else(|| LogStorageError::Io {
            path: path.to_owned(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a path inside the log directory",
            ),
        })
    }

    /// Takes the checkpoint locks, waiting for another process holding it.
    fn lock_checkpoints(&self) -> Result<CheckpointGuard<'_>, LogStorageError> {
        let mutex = locked(&self.checkpoints);
        let path = self.root.join(CHECKPOINT_LOCK);
        std::fs::create_dir_all(&self.root).map_err(Self::io_error(&self.root))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Self::io_error(&path))?;
        file.lock().map_err(Self::io_error(&path))?;
        Ok(CheckpointGuard {
            _file: file,
            _mutex: mutex,
        })
    }

    fn io_error(path: &Path) -> impl FnOnce(io::Error) -> LogStorageError + '_ {
        move |source| LogStorageError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

impl LogSource for LogDirectory {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn describe_path(&self, path: &str) -> String {
        self.root.join(path).display().to_string()
    }

    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        match self.file(path) {
            Some(file) => read_optional(&file),
            None => Ok(None),
        }
    }

    fn modified(&self, path: &str) -> io::Result<Option<SystemTime>> {
        let Some(file) = self.file(path) else {
            return Ok(None);
        };
        match std::fs::metadata(file) {
            Ok(metadata) => metadata.modified().map(Some),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }
}

impl LogStorage for LogDirectory {
    fn list(&self, directory: &str) -> io::Result<Vec<String>> {
        let Some(directory) = self.file(directory) else {
            return Ok(Vec::new());
        };
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let mut names = Vec::new();
        for entry in entries {
            // Temporary files are dot-prefixed and never part of the log.
            if let Some(name) = entry?.file_name().to_str()
                && !name.starts_with('.')
            {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    fn create(&self, path: &str, bytes: Vec<u8>) -> Result<(), LogStorageError> {
        let file = self.file_or_error(path)?;
        let mut batch = locked(&self.batch);
        let writer = match batch.as_mut() {
            Some(writer) => writer,
            None => batch.insert(
                BatchWriter::start(&self.root, WRITER_THREADS)
                    .map_err(Self::io_error(&self.root))?,
            ),
        };
        let written = writer.write(file, bytes);
        if written.is_err() {
            // Dropping waits for the threads; the next create starts afresh.
            *batch = None;
        }
        written
    }

    fn sync(&self) -> Result<(), LogStorageError> {
        let batch = locked(&self.batch).take();
        match batch {
            Some(batch) => batch.finish(&self.root),
            None => Ok(()),
        }
    }

    fn write_checkpoint_copy(&self, tree_size: u64, signed: &[u8]) -> Result<(), LogStorageError> {
        let file = self.file_or_error(&checkpoint_copy_path(tree_size))?;
        let staged = StagedFile::write(&file, signed).map_err(Self::io_error(&file))?;
        {
            let _checkpoints = self.lock_checkpoints()?;
            if let Some(current) = read_optional(&file).map_err(Self::io_error(&file))? {
                check_same_checkpoint_more_signatures(&current, signed).map_err(|reason| {
                    LogStorageError::NotSuccessor {
                        path: file.display().to_string(),
                        reason,
                    }
                })?;
            }
            staged.place().map_err(Self::io_error(&file))?;
        }
        if let Some(parent) = file.parent() {
            sync_directory(parent).map_err(Self::io_error(parent))?;
        }
        Ok(())
    }

    fn replace_checkpoint(
        &self,
        replaced: Option<&[u8]>,
        signed: &[u8],
    ) -> Result<(), LogStorageError> {
        let file = self.root.join(CHECKPOINT_FILE);
        // Written and flushed before the lock, which is held only for the
        // compare and the rename: a server paused while it publishes (the
        // zombie of docs/deploy.md) holds the lock, and with it every other
        // server's publication, for the shortest time there is.
        let staged = StagedFile::write(&file, signed).map_err(Self::io_error(&file))?;
        {
            let _checkpoints = self.lock_checkpoints()?;
            let current = read_optional(&file).map_err(Self::io_error(&file))?;
            if current.as_deref() != replaced {
                return Err(LogStorageError::CheckpointChanged {
                    path: file.display().to_string(),
                });
            }
            if let Some(current) = &current {
                check_checkpoint_successor(current, signed).map_err(|reason| {
                    LogStorageError::NotSuccessor {
                        path: file.display().to_string(),
                        reason,
                    }
                })?;
            }
            staged.place().map_err(Self::io_error(&file))?;
        }
        sync_directory(&self.root).map_err(Self::io_error(&self.root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(directory: &LogDirectory, path: &str) -> Option<Vec<u8>> {
        directory.read(path).expect("readable")
    }

    #[test]
    fn an_immutable_file_takes_the_same_bytes_again_and_refuses_others() {
        let holder = tempfile::tempdir().expect("temporary directory");
        let directory = LogDirectory::new(holder.path().join("log"));
        directory
            .create("tile/0/000.p/1", vec![7; 32])
            .expect("queued");
        directory.sync().expect("durable");
        directory
            .create("tile/0/000.p/1", vec![7; 32])
            .expect("same bytes");
        directory.sync().expect("same bytes are success");
        directory
            .create("tile/0/000.p/1", vec![8; 32])
            .expect("queued");
        let error = directory.sync().expect_err("different bytes");
        assert!(
            matches!(&error, LogStorageError::Conflict { path } if path.ends_with("tile/0/000.p/1")),
            "{error}"
        );
        assert_eq!(written(&directory, "tile/0/000.p/1"), Some(vec![7; 32]));
        assert_eq!(directory.list("tile/0/000.p").expect("listed"), vec!["1"]);
    }

    #[test]
    fn a_file_truncated_by_a_crash_is_completed() {
        let holder = tempfile::tempdir().expect("temporary directory");
        let directory = LogDirectory::new(holder.path().join("log"));
        let file = holder.path().join("log/tile/entries/000.p/2");
        std::fs::create_dir_all(file.parent().expect("parent")).expect("directories");
        std::fs::write(&file, b"").expect("an empty leftover");
        directory
            .create("tile/entries/000.p/2", b"\x00\x01a\x00\x01b".to_vec())
            .expect("queued");
        directory.sync().expect("a truncated leftover is rewritten");
        assert_eq!(
            written(&directory, "tile/entries/000.p/2"),
            Some(b"\x00\x01a\x00\x01b".to_vec())
        );
    }

    #[test]
    fn paths_outside_the_directory_are_neither_read_nor_written() {
        let holder = tempfile::tempdir().expect("temporary directory");
        std::fs::write(holder.path().join("secret"), b"key").expect("write");
        let directory = LogDirectory::new(holder.path().join("log"));
        assert_eq!(written(&directory, "../secret"), None);
        assert_eq!(written(&directory, "/etc/hostname"), None);
        assert!(directory.create("../escaped", vec![1]).is_err());
        assert!(!holder.path().join("escaped").exists());
    }

    #[test]
    fn the_checkpoint_is_swapped_only_from_the_bytes_named() {
        let holder = tempfile::tempdir().expect("temporary directory");
        let directory = LogDirectory::new(holder.path().join("log"));
        let first = b"o\n1\nAAAA\n\n\xe2\x80\x94 o sig\n".as_slice();
        let second = b"o\n2\nBBBB\n\n\xe2\x80\x94 o sig\n".as_slice();
        let error = directory
            .replace_checkpoint(Some(first), second)
            .expect_err("nothing to replace yet");
        assert!(matches!(error, LogStorageError::CheckpointChanged { .. }));
        directory.replace_checkpoint(None, first).expect("first");
        let error = directory
            .replace_checkpoint(None, second)
            .expect_err("the caller did not see the first");
        assert!(matches!(error, LogStorageError::CheckpointChanged { .. }));
        directory
            .replace_checkpoint(Some(first), second)
            .expect("grows");
        let error = directory
            .replace_checkpoint(Some(second), first)
            .expect_err("never back");
        assert!(matches!(error, LogStorageError::NotSuccessor { .. }));
        assert_eq!(written(&directory, CHECKPOINT_FILE), Some(second.to_vec()));
    }
}
