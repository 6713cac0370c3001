//! The writer lock: one process at a time writes a data directory.
//!
//! An OS file lock (released by the kernel when the holder dies, even by
//! SIGKILL) guards the directory; the lock file's text names the holder so a
//! second writer can say who is in the way.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::EngineError;

/// Held while a process writes a data directory; dropping it releases the lock.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock at `path` for `purpose` (e.g. `corridor import`).
    ///
    /// # Errors
    /// [`EngineError::Locked`] naming the holder, or an I/O error.
    pub fn acquire(path: &Path, purpose: &str) -> Result<WriterLock, EngineError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|error| EngineError::io(path, error))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(EngineError::Locked {
                    path: path.display().to_string(),
                    holder: if holder.is_empty() {
                        "another process".to_string()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(EngineError::io(path, error)),
        }
        let note = format!(
            "pid {} ({purpose}) since {}",
            std::process::id(),
            jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
        );
        file.set_len(0)
            .map_err(|error| EngineError::io(path, error))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|error| EngineError::io(path, error))?;
        file.write_all(note.as_bytes())
            .map_err(|error| EngineError::io(path, error))?;
        Ok(WriterLock { _file: file })
    }
}
