//! Checking a data directory for corruption: the store against the log it
//! published, and the rollups against the passages they sum.
//!
//! SQLite's own `integrity_check` sees a broken B-tree, not changed content: a
//! flipped byte inside a leaf, a tile or a rollup row passes it. These checks
//! recompute instead.
//!
//! - [`DataDir::check`] (for `corridor check`): the published log verifies
//!   from its files (checkpoint signature, every bundle, every tile, the
//!   root); every stored leaf is byte for byte the entry the log published at
//!   its index; and both rollup tables equal a recount of the current passages.
//! - [`DataDir::check_recent`] (cheap, for start-up): the checkpoint's
//!   signature, the root its tiles give, and the last `n` published leaves in
//!   the store, the entry bundles and the level-0 tiles.
//!
//! Each [`Problem`] names the record, leaf index, file and position that differ.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corridor_log::{CHECKPOINT_FILE, ExactTiles, LogSource, VerifyPolicy, verify_log};
use corridor_store::{Metrics, RollupDifference, Store};
use corridor_tlog::tile::FULL_TILE_WIDTH;
use corridor_tlog::{
    Checkpoint, CompactRange, EntryBundleAddress, Hash, TileAddress, TileHashReader, VerifierKey,
    leaf_hash, parse_entry_bundle_exact, parse_tile_data, tile_width,
};

use crate::{DataDir, EngineError};

/// At most this many problems are listed; the rest are counted.
const MAX_PROBLEMS: usize = 50;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The published log fails verification from its own files.
    #[error("the published log fails verification: {reason}")]
    Log { reason: String },
    /// The store holds fewer records than the log published.
    #[error(
        "the store holds {stored_leaves} records but the published log has {tree_size}: records the log published are missing from the store"
    )]
    StoreBehindLog { stored_leaves: u64, tree_size: u64 },
    /// A stored leaf is not the entry the log published at its index.
    #[error(
        "record {record_id:?} (leaf {leaf_index}) differs from entry {entry} of {bundle_path}: the stored leaf hashes to {stored_hash}, the published entry to {published_hash}"
    )]
    LeafDiffers {
        leaf_index: u64,
        record_id: String,
        bundle_path: String,
        entry: u64,
        stored_hash: String,
        published_hash: String,
    },
    /// A published entry does not hash to its level-0 tile hash.
    #[error(
        "{tile_path} hash {position} (leaf {leaf_index}) is {tile_hash}, but entry {position} of {bundle_path} hashes to {entry_hash}"
    )]
    TileDiffers {
        leaf_index: u64,
        tile_path: String,
        bundle_path: String,
        position: u64,
        tile_hash: String,
        entry_hash: String,
    },
    /// A file of the log is missing or malformed.
    #[error("{path}: {reason}")]
    Unreadable { path: String, reason: String },
    /// A rollup row differs from the recount of the current passages.
    #[error("{table} row ({key}) holds {stored}, but the current passages add up to {recounted}")]
    RollupDiffers {
        table: &'static str,
        key: String,
        stored: String,
        recounted: String,
    },
}

/// What a check looked at and what it found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// The published tree size (0 before anything was published).
    pub tree_size: u64,
    /// Records in the store.
    pub stored_leaves: u64,
    /// Stored leaves compared with the published entries.
    pub leaves_compared: u64,
    /// What was found wrong, at most 50.
    pub problems: Vec<Problem>,
    /// Problems found beyond those listed.
    pub omitted: u64,
}

impl CheckReport {
    /// Whether nothing was found wrong.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Stored records the log has not published yet (`corridor log integrate`).
    #[must_use]
    pub fn unpublished(&self) -> u64 {
        self.stored_leaves.saturating_sub(self.tree_size)
    }

    fn found(&mut self, problem: Problem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.omitted += 1;
        }
    }
}

fn base64(hash: &Hash) -> String {
    BASE64.encode(hash)
}

impl DataDir {
    fn log_key(&self) -> Result<VerifierKey, EngineError> {
        Ok(corridor_log::verifier_key_from_argument(
            &self.log_vkey_path().display().to_string(),
        )?)
    }

    /// The whole check behind `corridor check`; see the module documentation.
    /// Reads every stored record and every published file.
    ///
    /// # Errors
    /// The store or the log key cannot be read. What is found wrong is in
    /// the report, not an error.
    pub fn check(&self) -> Result<CheckReport, EngineError> {
        let store = self.open_store()?;
        let log = self.log()?;
        let log_key = self.log_key_for_check(log.as_ref())?;
        check_store_against_log(&store, log.as_ref(), log_key.as_ref())
    }

    /// The log's key, or `None` when it cannot be read and nothing is
    /// published yet (the only case where the check needs none). The key
    /// is read first: another server sharing the log may publish its first
    /// checkpoint between a look at the log and the check, which must then
    /// have the key to open it.
    fn log_key_for_check(&self, log: &dyn LogSource) -> Result<Option<VerifierKey>, EngineError> {
        match self.log_key() {
            Ok(key) => Ok(Some(key)),
            Err(error) => match log.read(CHECKPOINT_FILE) {
                Ok(None) => Ok(None),
                _ => Err(error),
            },
        }
    }

    /// A cheap check for start-up: the published checkpoint opens with the
    /// log's key, the tiles' right edge gives its root, the store holds every
    /// published leaf, and the last `recent` published leaves are the same
    /// in the store, the entry bundles and the level-0 tiles. Reads about
    /// `recent` leaves and a few tiles, whatever the size of the log.
    ///
    /// # Errors
    /// The store or the log key cannot be read. What is found wrong is in
    /// the report, not an error.
    pub fn check_recent(&self, recent: u64) -> Result<CheckReport, EngineError> {
        let store = self.open_store()?;
        let log = self.log()?;
        let log_key = self.log_key_for_check(log.as_ref())?;
        check_recent_against_log(&store, log.as_ref(), log_key.as_ref(), recent)
    }
}

/// [`DataDir::check`] over any store and log: the log verifies from its
/// files, every stored leaf is the published entry at its index, and the
/// rollups equal a recount. `log_key` may be `None` only if nothing is
/// published (then only the rollups are checked).
///
/// # Errors
/// The store cannot be read. What is found wrong is in the report.
pub fn check_store_against_log(
    store: &dyn Store,
    log: &dyn LogSource,
    log_key: Option<&VerifierKey>,
) -> Result<CheckReport, EngineError> {
    let mut report = CheckReport {
        stored_leaves: store.leaf_count()?,
        ..CheckReport::default()
    };
    let published = !matches!(log.read(CHECKPOINT_FILE), Ok(None));
    if let (true, Some(log_key)) = (published, log_key) {
        let policy = VerifyPolicy {
            log_key,
            witnesses: &[],
            min_witnesses: 0,
            previous: None,
        };
        match verify_log(log, &policy) {
            Ok(verified) => report.tree_size = verified.checkpoint.tree_size,
            Err(error) => {
                report.found(Problem::Log {
                    reason: error.to_string(),
                });
                // Compare the store with what the checkpoint claims anyway,
                // to say which records differ.
                if let Some(checkpoint) = read_checkpoint(log, log_key) {
                    report.tree_size = checkpoint.tree_size;
                }
            }
        }
    }
    if report.stored_leaves < report.tree_size {
        report.found(Problem::StoreBehindLog {
            stored_leaves: report.stored_leaves,
            tree_size: report.tree_size,
        });
    }
    let compared_end = report.tree_size.min(report.stored_leaves);
    compare_leaves(
        store,
        log,
        0,
        compared_end,
        report.tree_size,
        false,
        &mut report,
    )?;
    for difference in store.rollup_differences()? {
        report.found(rollup_problem(&difference));
    }
    Ok(report)
}

/// [`DataDir::check_recent`] over any store and log. `log_key` may be `None`
/// only if nothing is published.
///
/// # Errors
/// The store cannot be read. What is found wrong is in the report.
pub fn check_recent_against_log(
    store: &dyn Store,
    log: &dyn LogSource,
    log_key: Option<&VerifierKey>,
    recent: u64,
) -> Result<CheckReport, EngineError> {
    let mut report = CheckReport {
        stored_leaves: store.leaf_count()?,
        ..CheckReport::default()
    };
    let signed = match log.read(CHECKPOINT_FILE) {
        Ok(Some(signed)) => signed,
        Ok(None) => return Ok(report),
        Err(error) => {
            report.found(Problem::Unreadable {
                path: CHECKPOINT_FILE.into(),
                reason: error.to_string(),
            });
            return Ok(report);
        }
    };
    let Some(log_key) = log_key else {
        report.found(Problem::Log {
            reason: "the log is published but no log key was given to check it with".into(),
        });
        return Ok(report);
    };
    let checkpoint = match Checkpoint::open(&signed, std::slice::from_ref(log_key)) {
        Ok(opened) => opened.checkpoint,
        Err(error) => {
            report.found(Problem::Log {
                reason: format!("checkpoint: {error}"),
            });
            return Ok(report);
        }
    };
    report.tree_size = checkpoint.tree_size;
    if checkpoint.tree_size > 0 {
        let reader = TileHashReader::new(checkpoint.tree_size, ExactTiles::new(log));
        match CompactRange::load(checkpoint.tree_size, &reader) {
            Ok(range) if range.root() != checkpoint.root_hash => report.found(Problem::Log {
                reason: format!(
                    "the tiles give root {} for {} leaves, not the signed {}",
                    base64(&range.root()),
                    checkpoint.tree_size,
                    base64(&checkpoint.root_hash)
                ),
            }),
            Ok(_) => {}
            Err(error) => report.found(Problem::Log {
                reason: format!(
                    "the tiles of the signed tree cannot be read: {error}{}",
                    std::error::Error::source(&error)
                        .map_or(String::new(), |source| format!(": {source}"))
                ),
            }),
        }
    }
    if report.stored_leaves < report.tree_size {
        report.found(Problem::StoreBehindLog {
            stored_leaves: report.stored_leaves,
            tree_size: report.tree_size,
        });
    }
    let end = report.tree_size.min(report.stored_leaves);
    let start = end.saturating_sub(recent);
    compare_leaves(store, log, start, end, report.tree_size, true, &mut report)?;
    Ok(report)
}

/// The checkpoint, opened with the log key, if it opens at all.
fn read_checkpoint(log: &dyn LogSource, log_key: &VerifierKey) -> Option<Checkpoint> {
    let signed = log.read(CHECKPOINT_FILE).ok()??;
    Checkpoint::open(&signed, std::slice::from_ref(log_key))
        .ok()
        .map(|opened| opened.checkpoint)
}

/// Compares stored leaves `start..end` with the entry bundles of the tree of
/// `tree_size` leaves and, with `with_tiles`, the entries with the level-0
/// tiles. Unreadable files are reported only with `with_tiles`: the full
/// check's log verification has already named them.
fn compare_leaves(
    store: &dyn Store,
    log: &dyn LogSource,
    start: u64,
    end: u64,
    tree_size: u64,
    with_tiles: bool,
    report: &mut CheckReport,
) -> Result<(), EngineError> {
    let width = u64::from(FULL_TILE_WIDTH);
    let mut bundle_index = start / width;
    while bundle_index * width < end {
        let first_leaf = bundle_index * width;
        let Some(bundle_width) = tile_width(0, bundle_index, tree_size) else {
            break;
        };
        let bundle = EntryBundleAddress {
            index: bundle_index,
            width: bundle_width,
        };
        let tile = TileAddress {
            level: 0,
            index: bundle_index,
            width: bundle_width,
        };
        bundle_index += 1;
        let bundle_path = bundle.path();
        let bytes = read_published(log, &bundle_path);
        let entries = match bytes.as_ref().map_err(Clone::clone).and_then(|bytes| {
            parse_entry_bundle_exact(&bundle, bytes).map_err(|error| error.to_string())
        }) {
            Ok(entries) => entries,
            Err(reason) => {
                if with_tiles {
                    report.found(Problem::Unreadable {
                        path: bundle_path,
                        reason,
                    });
                }
                continue;
            }
        };
        let tile_hashes = if with_tiles {
            let tile_path = tile.path();
            match read_published(log, &tile_path)
                .and_then(|bytes| parse_tile_data(&tile, &bytes).map_err(|error| error.to_string()))
            {
                Ok(hashes) => Some(hashes),
                Err(reason) => {
                    report.found(Problem::Unreadable {
                        path: tile_path,
                        reason,
                    });
                    None
                }
            }
        } else {
            None
        };
        let from = start.max(first_leaf);
        let to = end.min(first_leaf + u64::from(bundle_width));
        let leaves = store.leaves(from, to)?;
        for (leaf_index, leaf) in (from..).zip(&leaves) {
            let position = leaf_index - first_leaf;
            let Some(entry) = entries.get(position as usize) else {
                continue;
            };
            report.leaves_compared += 1;
            if leaf.as_slice() != *entry {
                let record_id = store
                    .record_at(leaf_index)?
                    .map_or_else(String::new, |record| record.id);
                report.found(Problem::LeafDiffers {
                    leaf_index,
                    record_id,
                    bundle_path: bundle_path.clone(),
                    entry: position,
                    stored_hash: base64(&leaf_hash(leaf)),
                    published_hash: base64(&leaf_hash(entry)),
                });
            }
            if let Some(tile_hash) = tile_hashes
                .as_ref()
                .and_then(|hashes| hashes.get(position as usize))
            {
                let entry_hash = leaf_hash(entry);
                if *tile_hash != entry_hash {
                    report.found(Problem::TileDiffers {
                        leaf_index,
                        tile_path: tile.path(),
                        bundle_path: bundle_path.clone(),
                        position,
                        tile_hash: base64(tile_hash),
                        entry_hash: base64(&entry_hash),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The bytes of a published file, or why there are none.
fn read_published(log: &dyn LogSource, path: &str) -> Result<Vec<u8>, String> {
    match log.read(path) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(format!("{} is missing", log.describe_path(path))),
        Err(error) => Err(error.to_string()),
    }
}

fn rollup_problem(difference: &RollupDifference) -> Problem {
    let key = &difference.key;
    let day = corridor_model::time::date_of_day_number(key.day);
    let or_none = |text: &str| {
        if text.is_empty() {
            "(none)".to_string()
        } else {
            text.to_string()
        }
    };
    let mut described = format!(
        "site {}, day {day}, category {}, operator {}, direction {}, outcome {}, vehicle_class {}, source {} {:?}, recorded_by {}",
        key.site,
        key.category,
        or_none(&key.operator),
        key.direction,
        key.outcome,
        key.vehicle_class,
        key.source_kind,
        key.source_name,
        key.recorded_by
    );
    if difference.table == corridor_store::RollupTable::Cargo {
        described.push_str(&format!(", cargo {}", or_none(&key.cargo_kind)));
    }
    Problem::RollupDiffers {
        table: difference.table.name(),
        key: described,
        stored: describe_metrics(&difference.stored, &difference.recounted),
        recounted: describe_metrics(&difference.recounted, &difference.stored),
    }
}

/// The figures of `metrics` that differ from `other`, named.
fn describe_metrics(metrics: &Metrics, other: &Metrics) -> String {
    let figures = [
        ("passages", metrics.passages, other.passages),
        ("vehicles", metrics.vehicles, other.vehicles),
        ("passengers", metrics.passengers, other.passengers),
        (
            "passengers_reported",
            metrics.passengers_reported,
            other.passengers_reported,
        ),
        (
            "medical_evacuees",
            metrics.medical_evacuees,
            other.medical_evacuees,
        ),
        (
            "medical_evacuees_reported",
            metrics.medical_evacuees_reported,
            other.medical_evacuees_reported,
        ),
        ("kilograms", metrics.kilograms, other.kilograms),
        (
            "kilograms_reported",
            metrics.kilograms_reported,
            other.kilograms_reported,
        ),
    ];
    figures
        .iter()
        .filter(|(_, value, other)| value != other)
        .map(|(name, value, _)| format!("{name} {value}"))
        .collect::<Vec<_>>()
        .join(", ")
}
