//! Files on disk for the log directory: every file is written to a
//! temporary name and renamed to its final name, so that a reader sees no
//! file, the old bytes or the new bytes, never a mix; and it is flushed to
//! disk before anything refers to it, one file at a time ([`replace_file`])
//! or a whole batch at once ([`BatchWriter`], which also refuses to rename
//! over an immutable file that holds other bytes).

#[cfg(not(target_os = "linux"))]
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::storage::LogStorageError;

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
/// The parent directory is created if needed but *not* synced; the caller
/// syncs it with [`sync_directory`] before relying on the new name.
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

/// A file written and flushed under a name of its own beside `path`,
/// waiting to be renamed onto `path` ([`StagedFile::place`]); removed if
/// dropped unplaced. The name is unique to the process and the call, so
/// processes sharing a directory stage side by side and take a lock only
/// for the compare and the rename.
pub(crate) struct StagedFile {
    temporary: PathBuf,
    path: PathBuf,
    placed: bool,
}

impl StagedFile {
    /// Writes `bytes` beside `path` and flushes them.
    pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<StagedFile> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = path.with_file_name(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let staged = StagedFile {
            temporary,
            path: path.to_path_buf(),
            placed: false,
        };
        let mut file = File::create(&staged.temporary)?;
        file.write_all(bytes)?;
        file.sync_data()?;
        Ok(staged)
    }

    /// Renames the staged file onto its path (the directory is not synced).
    pub(crate) fn place(mut self) -> io::Result<()> {
        std::fs::rename(&self.temporary, &self.path)?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.placed {
            // Best effort: a leftover dot file is never part of the log.
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
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

/// Many immutable files placed under one root by a pool of threads, while
/// the caller goes on computing the next ones, and made durable together
/// before anything that refers to them (a checkpoint) is published.
///
/// Each file is written to a temporary name and moved into place only if
/// its name is free ([`place_new`]), so a reader sees either no file or the
/// whole file, and a file once placed is never replaced by other bytes.
/// Durability comes once, at
/// [`BatchWriter::finish`]: on Linux one `syncfs(2)` of the filesystem holding
/// the root, which writes back every dirty page and commits the journal once,
/// where flushing each file would commit it once per file. Elsewhere each
/// file is flushed as it is placed, and the directories at the end.
#[derive(Debug)]
pub(crate) struct BatchWriter {
    sender: Option<SyncSender<Placement>>,
    workers: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

/// One file to place: where, and its bytes.
#[derive(Debug)]
struct Placement {
    path: PathBuf,
    bytes: Vec<u8>,
}

#[derive(Debug)]
struct Shared {
    /// Opened before the first file is placed: `syncfs` reports a writeback
    /// error on the filesystem (Linux 5.8 and later) if it happened after
    /// this descriptor was opened.
    #[cfg(target_os = "linux")]
    filesystem: File,
    #[cfg(not(target_os = "linux"))]
    root: PathBuf,
    /// Directories that gained names, flushed at the end where `syncfs` is missing.
    #[cfg(not(target_os = "linux"))]
    directories: Mutex<BTreeSet<PathBuf>>,
    queue: Mutex<Receiver<Placement>>,
    /// The first failure; once set, the workers drain the queue without writing.
    failure: Mutex<Option<LogStorageError>>,
}

/// Files waiting for a worker, at most (each a tile or a bundle, up to ~100 KB).
const QUEUED_FILES: usize = 256;

impl BatchWriter {
    /// Starts `threads` workers placing files under `root`, creating it if needed.
    pub(crate) fn start(root: &Path, threads: usize) -> io::Result<Self> {
        std::fs::create_dir_all(root)?;
        let (sender, receiver) = mpsc::sync_channel(QUEUED_FILES);
        let shared = Arc::new(Shared {
            #[cfg(target_os = "linux")]
            filesystem: File::open(root)?,
            #[cfg(not(target_os = "linux"))]
            root: root.to_path_buf(),
            #[cfg(not(target_os = "linux"))]
            directories: Mutex::new(BTreeSet::new()),
            queue: Mutex::new(receiver),
            failure: Mutex::new(None),
        });
        let workers = (0..threads.max(1))
            .map(|_| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || shared.work())
            })
            .collect();
        Ok(Self {
            sender: Some(sender),
            workers,
            shared,
        })
    }

    /// Queues `bytes` to be placed at `path`, waiting while the queue is full.
    /// Returns the first failure of an earlier file, if any.
    pub(crate) fn write(&mut self, path: PathBuf, bytes: Vec<u8>) -> Result<(), LogStorageError> {
        if let Some(failure) = locked(&self.shared.failure).take() {
            return Err(failure);
        }
        let sender = self.sender.as_ref().ok_or_else(|| stopped(&path))?;
        sender
            .send(Placement { path, bytes })
            .map_err(|error| stopped(&error.0.path))
    }

    /// Waits until every queued file is placed, then makes them all durable.
    /// `root` names the whole batch in an error that concerns all of it.
    pub(crate) fn finish(mut self, root: &Path) -> Result<(), LogStorageError> {
        let root_failure = |source| LogStorageError::Io {
            path: root.display().to_string(),
            source,
        };
        if self.stop_workers() {
            return Err(root_failure(io::Error::other(
                "a file-writing thread panicked",
            )));
        }
        if let Some(failure) = locked(&self.shared.failure).take() {
            return Err(failure);
        }
        #[cfg(target_os = "linux")]
        {
            rustix::fs::syncfs(&self.shared.filesystem)
                .map_err(|error| root_failure(io::Error::from(error)))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let directories = std::mem::take(&mut *locked(&self.shared.directories));
            for directory in directories.iter().rev() {
                sync_directory(directory).map_err(|source| LogStorageError::Io {
                    path: directory.display().to_string(),
                    source,
                })?;
            }
            Ok(())
        }
    }

    /// Closes the queue and joins the workers; true if one of them panicked.
    fn stop_workers(&mut self) -> bool {
        self.sender = None;
        self.workers
            .drain(..)
            .map(JoinHandle::join)
            .fold(false, |panicked, joined| panicked | joined.is_err())
    }
}

impl Drop for BatchWriter {
    /// An abandoned batch still waits for its workers, so no file is being
    /// written once the caller has returned.
    fn drop(&mut self) {
        self.stop_workers();
    }
}

impl Shared {
    fn work(&self) {
        loop {
            let next = locked(&self.queue).recv();
            let Ok(Placement { path, bytes }) = next else {
                return;
            };
            if locked(&self.failure).is_some() {
                continue;
            }
            if let Err(error) = self.place(&path, &bytes) {
                locked(&self.failure).get_or_insert(error);
            }
        }
    }

    fn place(&self, path: &Path, bytes: &[u8]) -> Result<(), LogStorageError> {
        let io_failure = |source| LogStorageError::Io {
            path: path.display().to_string(),
            source,
        };
        self.write_temporary(path, bytes).map_err(io_failure)?;
        place_new(&temporary_path(path), path, bytes)
    }

    /// Writes `bytes` under the temporary name of `path`.
    fn write_temporary(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let temporary = temporary_path(path);
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        #[cfg(not(target_os = "linux"))]
        {
            file.sync_data()?;
            let mut directories = locked(&self.directories);
            let mut current = path.parent();
            while let Some(directory) = current {
                if !directories.insert(directory.to_path_buf()) || directory == self.root {
                    break;
                }
                current = directory.parent();
            }
        }
        drop(file);
        Ok(())
    }
}

/// Moves the temporary file holding `bytes` to `path` if no file is there.
/// A file holding the same bytes counts as placed. So does a file that is a
/// strict prefix of them (typically empty): what a power failure leaves of a
/// file renamed into place before the durability point that would have
/// written its data. It is never a valid file at that path, since the path
/// fixes a tile's length and a bundle's entry count. Anything else is a
/// [`LogStorageError::Conflict`].
fn place_new(temporary: &Path, path: &Path, bytes: &[u8]) -> Result<(), LogStorageError> {
    let io_failure = |source| LogStorageError::Io {
        path: path.display().to_string(),
        source,
    };
    match move_if_free(temporary, path) {
        Ok(()) => return Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(io_failure(error)),
    }
    let existing = std::fs::read(path).map_err(io_failure)?;
    if existing == bytes {
        return std::fs::remove_file(temporary).map_err(io_failure);
    }
    if existing.len() < bytes.len() && bytes.starts_with(&existing) {
        tracing::warn!(
            "{}: replacing a truncated copy left by a crash ({} of {} bytes)",
            path.display(),
            existing.len(),
            bytes.len()
        );
        return std::fs::rename(temporary, path).map_err(io_failure);
    }
    // Best effort: the temporary name is reused (and truncated) by the next attempt.
    let _ = std::fs::remove_file(temporary);
    Err(LogStorageError::Conflict {
        path: path.display().to_string(),
    })
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists` then): one
/// `renameat2(RENAME_NOREPLACE)` on Linux, as cheap as a plain rename; a hard
/// link and an unlink where that is missing.
fn move_if_free(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            // A filesystem without RENAME_NOREPLACE says EINVAL.
            Err(error) if error == rustix::io::Errno::INVAL => {}
            Err(error) => return Err(io::Error::from(error)),
        }
    }
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

fn stopped(path: &Path) -> LogStorageError {
    LogStorageError::Io {
        path: path.display().to_string(),
        source: io::Error::other("the file-writing threads stopped"),
    }
}

/// Locks `mutex`, taking the value even if a thread panicked holding it
/// (every value guarded here stays consistent between statements).
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads a whole file, `Ok(None)` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}
