//! The log held in memory, with the same contract as a directory, that can be
//! told to fail: a given write, the durability point, or a crash that loses
//! everything created since the last durability point. Tests drive the
//! integrator through every step at which a real backend can fail.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::storage::{
    CHECKPOINT_FILE, LogSource, LogStorage, LogStorageError, check_checkpoint_successor,
    check_same_checkpoint_more_signatures, checkpoint_copy_path,
};

/// A fault [`MemoryLog`] injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFault {
    /// The write with this index fails and stores nothing. Writes are
    /// counted from 0 across the log's life, in call order: every
    /// `create`, `write_checkpoint_copy` and `replace_checkpoint`, failed or
    /// not ([`MemoryLog::writes`] says how many there were).
    FailWrite(u64),
    /// The next `sync` fails. What it should have made durable stays
    /// written but not durable: readers see it, and a crash loses it.
    FailSync,
}

/// The log's files in memory.
#[derive(Debug, Default)]
pub struct MemoryLog {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Files that survive a crash.
    durable: BTreeMap<String, Vec<u8>>,
    /// Files created since the last successful `sync`.
    pending: BTreeMap<String, Vec<u8>>,
    /// Writes so far, failed ones included.
    writes: u64,
    faults: Vec<LogFault>,
}

impl State {
    fn get(&self, path: &str) -> Option<&Vec<u8>> {
        self.pending.get(path).or_else(|| self.durable.get(path))
    }

    /// Counts a write and fails it if a fault names it.
    fn count_write(&mut self, operation: &'static str, path: &str) -> Result<(), LogStorageError> {
        let index = self.writes;
        self.writes += 1;
        if let Some(position) = self
            .faults
            .iter()
            .position(|fault| *fault == LogFault::FailWrite(index))
        {
            self.faults.remove(position);
            return Err(LogStorageError::Injected {
                operation,
                path: path.to_owned(),
            });
        }
        Ok(())
    }
}

impl MemoryLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        MemoryLog::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a fault; each fires once.
    pub fn inject(&self, fault: LogFault) {
        self.state().faults.push(fault);
    }

    /// How many writes were made so far, failed ones included.
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.state().writes
    }

    /// Loses every file created since the last successful `sync`, as a
    /// power failure would; faults not yet fired are dropped too.
    pub fn crash(&self) {
        let mut state = self.state();
        state.pending.clear();
        state.faults.clear();
    }

    /// Every path held, durable or not, in order.
    #[must_use]
    pub fn paths(&self) -> Vec<String> {
        let state = self.state();
        let mut paths: Vec<String> = state
            .durable
            .keys()
            .chain(state.pending.keys())
            .cloned()
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }

    /// Replaces the bytes at `path` behind the log's back, as damage on disk
    /// would (durable, and no write is counted).
    pub fn overwrite(&self, path: &str, bytes: Vec<u8>) {
        let mut state = self.state();
        state.pending.remove(path);
        state.durable.insert(path.to_owned(), bytes);
    }
}

impl LogSource for MemoryLog {
    fn describe(&self) -> String {
        "memory".to_owned()
    }

    fn describe_path(&self, path: &str) -> String {
        format!("memory:{path}")
    }

    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.state().get(path).cloned())
    }
}

impl LogStorage for MemoryLog {
    fn list(&self, directory: &str) -> io::Result<Vec<String>> {
        let prefix = format!("{}/", directory.trim_end_matches('/'));
        let state = self.state();
        let mut names: Vec<String> = state
            .durable
            .keys()
            .chain(state.pending.keys())
            .filter_map(|path| path.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_owned())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn create(&self, path: &str, bytes: Vec<u8>) -> Result<(), LogStorageError> {
        let mut state = self.state();
        state.count_write("create", path)?;
        match state.get(path) {
            Some(existing) if *existing == bytes => Ok(()),
            // What a crash can leave of a file on disk; never a valid file here.
            Some(existing) if existing.len() < bytes.len() && bytes.starts_with(existing) => {
                state.pending.insert(path.to_owned(), bytes);
                Ok(())
            }
            Some(_) => Err(LogStorageError::Conflict {
                path: self.describe_path(path),
            }),
            None => {
                state.pending.insert(path.to_owned(), bytes);
                Ok(())
            }
        }
    }

    fn sync(&self) -> Result<(), LogStorageError> {
        let mut state = self.state();
        if let Some(position) = state
            .faults
            .iter()
            .position(|fault| *fault == LogFault::FailSync)
        {
            state.faults.remove(position);
            return Err(LogStorageError::Injected {
                operation: "sync",
                path: self.describe(),
            });
        }
        let pending = std::mem::take(&mut state.pending);
        state.durable.extend(pending);
        Ok(())
    }

    fn write_checkpoint_copy(&self, tree_size: u64, signed: &[u8]) -> Result<(), LogStorageError> {
        let path = checkpoint_copy_path(tree_size);
        let mut state = self.state();
        state.count_write("write_checkpoint_copy", &path)?;
        if let Some(current) = state.get(&path) {
            check_same_checkpoint_more_signatures(current, signed).map_err(|reason| {
                LogStorageError::NotSuccessor {
                    path: self.describe_path(&path),
                    reason,
                }
            })?;
        }
        state.pending.remove(&path);
        state.durable.insert(path, signed.to_vec());
        Ok(())
    }

    fn replace_checkpoint(
        &self,
        replaced: Option<&[u8]>,
        signed: &[u8],
    ) -> Result<(), LogStorageError> {
        let mut state = self.state();
        state.count_write("replace_checkpoint", CHECKPOINT_FILE)?;
        let current = state.get(CHECKPOINT_FILE);
        if current.map(Vec::as_slice) != replaced {
            return Err(LogStorageError::CheckpointChanged {
                path: self.describe_path(CHECKPOINT_FILE),
            });
        }
        if let Some(current) = current {
            check_checkpoint_successor(current, signed).map_err(|reason| {
                LogStorageError::NotSuccessor {
                    path: self.describe_path(CHECKPOINT_FILE),
                    reason,
                }
            })?;
        }
        state.pending.remove(CHECKPOINT_FILE);
        state
            .durable
            .insert(CHECKPOINT_FILE.to_owned(), signed.to_vec());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_loses_what_was_created_since_the_last_sync() {
        let log = MemoryLog::new();
        log.create("tile/0/000.p/1", vec![1; 32]).expect("created");
        log.sync().expect("durable");
        log.create("tile/0/000.p/2", vec![1; 64]).expect("created");
        log.inject(LogFault::FailSync);
        assert!(log.sync().is_err());
        assert_eq!(log.list("tile/0/000.p").expect("listed"), vec!["1", "2"]);
        log.crash();
        assert_eq!(log.paths(), vec!["tile/0/000.p/1"]);
    }

    #[test]
    fn the_nth_write_fails_and_stores_nothing() {
        let log = MemoryLog::new();
        log.inject(LogFault::FailWrite(1));
        log.create("a", vec![1]).expect("write 0");
        let error = log.create("b", vec![2]).expect_err("write 1");
        assert!(
            matches!(error, LogStorageError::Injected { operation: "create", ref path } if path == "b")
        );
        log.create("b", vec![2]).expect("write 2");
        assert_eq!(log.writes(), 3);
        assert_eq!(log.paths(), vec!["a", "b"]);
        let conflict = log.create("a", vec![3]).expect_err("different bytes");
        assert!(matches!(conflict, LogStorageError::Conflict { .. }));
    }
}
