//! Reading the leaves of a published log back from its entry bundles, bound
//! to a root: the leaves are returned only if they hash to the root given.

use corridor_tlog::{
    CompactRange, EntryBundleAddress, Hash, entry_bundles_between, leaf_hash, parse_entry_bundle,
};

use crate::storage::LogSource;

/// Why the leaves could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadLeavesError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is missing")]
    Missing { path: String },
    #[error("{path}: {reason}")]
    Malformed { path: String, reason: String },
    #[error("{path} holds {found} entries where {expected} were expected")]
    TooFewEntries {
        path: String,
        expected: usize,
        found: usize,
    },
    #[error(
        "the first {tree_size} leaves hash to {found}, not to the checkpoint's root {expected}: the log was altered (`corridor verify` names the file)"
    )]
    RootMismatch {
        tree_size: u64,
        expected: String,
        found: String,
    },
}

/// Reads leaves `0..tree_size` from the entry bundles of `log` and checks that they hash (RFC 6962) to `root`. Where the log has grown
/// since, a partial bundle may have been replaced by a fuller one; its first
/// entries are the same leaves.
///
/// # Errors
/// A missing or malformed bundle, or leaves that do not hash to `root`.
pub fn read_leaves(
    log: &dyn LogSource,
    tree_size: u64,
    root: &Hash,
) -> Result<Vec<Vec<u8>>, ReadLeavesError> {
    let mut leaves = Vec::with_capacity(usize::try_from(tree_size).unwrap_or(0).min(1 << 24));
    let mut range = CompactRange::new();
    for bundle in entry_bundles_between(0, tree_size) {
        let (path, bytes) = read_bundle(log, bundle)?;
        let entries = parse_entry_bundle(&bytes).map_err(|error| ReadLeavesError::Malformed {
            path: path.clone(),
            reason: error.to_string(),
        })?;
        let wanted = usize::from(bundle.width);
        if entries.len() < wanted {
            return Err(ReadLeavesError::TooFewEntries {
                path,
                expected: wanted,
                found: entries.len(),
            });
        }
        for entry in &entries[..wanted] {
            range
                .append(leaf_hash(entry), &mut |_, _| {})
                .map_err(|error| ReadLeavesError::Malformed {
                    path: path.clone(),
                    reason: error.to_string(),
                })?;
            leaves.push(entry.to_vec());
        }
    }
    let found = range.root();
    if &found != root {
        return Err(ReadLeavesError::RootMismatch {
            tree_size,
            expected: hex(root),
            found: hex(&found),
        });
    }
    Ok(leaves)
}

fn hex(hash: &Hash) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Reads a bundle, falling back from a partial one to the full one that replaced it.
fn read_bundle(
    log: &dyn LogSource,
    bundle: EntryBundleAddress,
) -> Result<(String, Vec<u8>), ReadLeavesError> {
    let relative = bundle.to_string();
    let read = |path: &str| {
        log.read(path).map_err(|source| ReadLeavesError::Io {
            path: relative.clone(),
            source,
        })
    };
    if let Some(bytes) = read(&relative)? {
        return Ok((relative, bytes));
    }
    if bundle.width == 256 {
        return Err(ReadLeavesError::Missing { path: relative });
    }
    let full = EntryBundleAddress {
        index: bundle.index,
        width: 256,
    }
    .to_string();
    match read(&full)? {
        Some(bytes) => Ok((full, bytes)),
        None => Err(ReadLeavesError::Missing { path: relative }),
    }
}
