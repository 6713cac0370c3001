//! The log commands: `corridor log ...`, `corridor verify`, `corridor witness ...`,
//! and publishing the log after a write. Glue over `corridor-log`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use corridor_engine::{DataDir, Writer};
use corridor_log::{
    LogReader, LogStorage, Receipt, TrustedHead, VerifyPolicy, VerifyState, Witness,
    file_name_for_origin, open_log, verifier_key_from_argument, verify_log,
};
use corridor_store::Store;
use corridor_tlog::{SignatureType, VerifierKey};
use serde_json::{Value, json};

use crate::Completion;
use crate::cli::{LogCommand, SummaryFormat, VerifyArgs, VerifyCommand, WitnessCommand};
use crate::output::base64;

/// Publishes what `writer` stored: called after add and import, in the writer lock.
pub fn publish(data_dir: &DataDir, writer: &Writer) -> Result<()> {
    let integration = match data_dir.integrate_log(writer) {
        Ok(integration) => integration,
        // A server sharing the store publishes them (and asks the witnesses).
        Err(elsewhere @ corridor_engine::EngineError::IntegratedElsewhere { .. }) => {
            eprintln!("{elsewhere}");
            return Ok(());
        }
        Err(error) => return Err(error).context(
            "the records are stored, but publishing them in the log failed; `corridor log integrate` retries",
        ),
    };
    tracing::info!(
        tree_size = integration.tree_size,
        "log published at {} leaves",
        integration.tree_size
    );
    ask_witnesses(data_dir, false)?;
    Ok(())
}

/// Sends the published checkpoint to every configured witness and attaches
/// the cosignatures they return. A witness that refuses or cannot be reached
/// is reported on stderr; the records stay stored and published either way.
fn ask_witnesses(data_dir: &DataDir, verbose: bool) -> Result<()> {
    let path = data_dir.witness_list_path();
    let mut list = corridor_log::WitnessList::load(&path)?;
    if list.witnesses.is_empty() {
        if verbose {
            println!("no witnesses configured; add one with `corridor log witnesses add`");
        }
        return Ok(());
    }
    let signer = data_dir.log_signer()?;
    let log = corridor_log::Log::new(data_dir.log()?, signer);
    let outcomes = corridor_log::collect_cosignatures(
        &log,
        &mut list,
        &corridor_server::witness::HttpWitnesses::new(std::time::Duration::from_secs(15)),
    );
    list.save(&path)?;
    for outcome in outcomes {
        match outcome {
            corridor_log::WitnessOutcome::Cosigned {
                witness,
                tree_size,
                added,
            } => {
                tracing::info!("witness {witness} cosigned size {tree_size}");
                if verbose {
                    println!("{witness}: cosigned size {tree_size} ({added} cosignature attached)");
                }
            }
            corridor_log::WitnessOutcome::Refused {
                witness,
                status,
                reason,
            } => {
                eprintln!("warning: witness {witness} refused to cosign (HTTP {status}): {reason}");
            }
            corridor_log::WitnessOutcome::Unreachable { witness, reason } => {
                eprintln!("warning: witness {witness} could not be asked: {reason}");
            }
        }
    }
    Ok(())
}

fn log_witnesses(data_dir: &DataDir, command: crate::cli::LogWitnessesCommand) -> Result<()> {
    use crate::cli::LogWitnessesCommand;
    let path = data_dir.witness_list_path();
    match command {
        LogWitnessesCommand::Add { vkey, url } => {
            let key = verifier_key_from_argument(&vkey)?;
            let mut list = corridor_log::WitnessList::load(&path)?;
            let name = list.add(&key.to_string(), &url)?;
            list.save(&path)?;
            data_dir
                .record_witnesses()
                .context("recording the witnesses in the shared store")?;
            println!(
                "log {} will ask witness {name} at {url}",
                data_dir.config().origin
            );
        }
        LogWitnessesCommand::List => {
            let list = corridor_log::WitnessList::load(&path)?;
            for witness in &list.witnesses {
                let name = VerifierKey::parse(&witness.vkey)
                    .map(|key| key.name().as_str().to_string())
                    .unwrap_or_default();
                let size = list
                    .cosigned_sizes
                    .get(&name)
                    .map_or("never".to_string(), |size| format!("size {size}"));
                println!("{name}  {}  last cosigned: {size}", witness.url);
            }
        }
        LogWitnessesCommand::Ask => {
            let _lock = data_dir.writer("corridor log witnesses ask")?;
            ask_witnesses(data_dir, true)?;
        }
    }
    Ok(())
}

fn print_json(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn log(root: &Path, command: LogCommand) -> Result<Completion> {
    let data_dir = DataDir::open(root)?;
    match command {
        LogCommand::Vkey => {
            let path = data_dir.log_vkey_path();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the log's public key {}", path.display()))?;
            println!("{}", text.trim());
        }
        LogCommand::Witnesses(command) => log_witnesses(&data_dir, command)?,
        LogCommand::Integrate => {
            let integration = match data_dir.integrate_log_locked("corridor log integrate") {
                Err(elsewhere @ corridor_engine::EngineError::IntegratedElsewhere { .. }) => {
                    println!("{elsewhere}");
                    return Ok(Completion::Clean);
                }
                other => other?,
            };
            println!(
                "log {} published at {} leaves ({} new)",
                data_dir.config().origin,
                integration.tree_size,
                integration.tree_size - integration.previous_size
            );
        }
        LogCommand::Prove {
            record,
            size,
            format,
        } => {
            let store = data_dir.open_store()?;
            let Some(stored) = store.record(&record)? else {
                bail!("no record {record:?}");
            };
            let reader = LogReader::new(data_dir.log()?);
            let receipt = reader
                .receipt(Some(record.clone()), stored.leaf_index, &stored.leaf, size)
                .with_context(|| {
                    format!("proving record {record:?} (leaf {})", stored.leaf_index)
                })?;
            match format {
                SummaryFormat::Json => print_json(&serde_json::to_value(&receipt)?)?,
                SummaryFormat::Text => println!(
                    "record {record} is leaf {} of the log at {} leaves; proof of {} hashes (use --format json for the receipt)",
                    receipt.leaf_index,
                    receipt.tree_size,
                    receipt.proof.len()
                ),
            }
        }
        LogCommand::Consistency { from, to, format } => {
            let reader = LogReader::new(data_dir.log()?);
            let to = match to {
                Some(size) => size,
                None => reader.latest()?.checkpoint.tree_size,
            };
            if from > to {
                bail!("--from {from} is larger than --to {to}");
            }
            let proof = reader.consistency_proof(from, to)?;
            let old_root = reader.root_at(from)?;
            let new_root = reader.root_at(to)?;
            match format {
                SummaryFormat::Json => print_json(&json!({
                    "old_size": from,
                    "new_size": to,
                    "old_root": base64(&old_root),
                    "new_root": base64(&new_root),
                    "proof": proof.iter().map(|hash| base64(hash)).collect::<Vec<_>>(),
                }))?,
                SummaryFormat::Text => println!(
                    "the log at {to} leaves (root {}) extends the log at {from} leaves (root {}); proof of {} hashes",
                    base64(&new_root),
                    base64(&old_root),
                    proof.len()
                ),
            }
        }
        LogCommand::Copy { to, from, vkey } => copy(&data_dir, &to, from.as_deref(), vkey)?,
        LogCommand::AttachCosignature { file, witnesses } => {
            let witnesses = witness_keys(&witnesses)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let _writer = data_dir.writer("corridor log attach-cosignature")?;
            let log = corridor_log::Log::new(data_dir.log()?, data_dir.log_signer()?);
            let added = log.attach_cosignatures(&bytes, &witnesses)?;
            println!("{added} cosignature(s) added to the published checkpoint");
        }
    }
    Ok(Completion::Clean)
}

/// `corridor log copy`: the data directory's log (or `from`) into `to`,
/// then verified there from its files alone.
fn copy(data_dir: &DataDir, to: &str, from: Option<&str>, vkey: Option<String>) -> Result<()> {
    let options = data_dir.config().log.object_options();
    let source = match from {
        Some(location) => corridor_log::open_log_with(location, &options)
            .with_context(|| format!("--from {location}"))?,
        None => data_dir.log()?,
    };
    let destination =
        corridor_log::open_log_with(to, &options).with_context(|| format!("--to {to}"))?;
    if source.describe() == destination.describe() {
        bail!("--to {to} is the log being copied");
    }
    let vkey = match vkey {
        Some(vkey) => vkey,
        None => data_dir.log_vkey_path().display().to_string(),
    };
    let log_key = verifier_key_from_argument(&vkey)?;
    corridor_log::keys::require_type(&log_key, SignatureType::Ed25519)?;
    let bar = crate::output::object_progress();
    let copied = corridor_log::copy_log(
        source.as_ref(),
        destination.as_ref(),
        &log_key,
        |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )
    .with_context(|| {
        format!(
            "copying the log in {} to {}",
            source.describe(),
            destination.describe()
        )
    })?;
    bar.finish_and_clear();
    let policy = VerifyPolicy {
        log_key: &log_key,
        witnesses: &[],
        min_witnesses: 0,
        previous: None,
    };
    let verified = verify_log(destination.as_ref(), &policy)
        .with_context(|| format!("the copy in {} FAILED verification", destination.describe()))?;
    if verified.checkpoint.tree_size != copied.tree_size {
        bail!(
            "the copy in {} verifies at {} leaves, but {} were copied (another writer published meanwhile?)",
            destination.describe(),
            verified.checkpoint.tree_size,
            copied.tree_size
        );
    }
    println!(
        "copied the log {} at {} leaves from {} to {}: {} tiles and bundles ({} bytes), {} checkpoint(s); the copy verifies\n\
         to publish there from now on, set [log] url = {:?} in {}",
        log_key.name().as_str(),
        copied.tree_size,
        source.describe(),
        destination.describe(),
        copied.objects,
        copied.bytes,
        copied.checkpoint_copies,
        to,
        data_dir.root().join("corridor.toml").display()
    );
    Ok(())
}

/// Where `verify` keeps what it verified of each log:
/// `~/.corridor/verify-state/`.
fn state_directory() -> Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .context("HOME is not set; pass --state FILE to say where to keep the verify state")?;
    Ok(PathBuf::from(home).join(".corridor").join("verify-state"))
}

/// The state file of one log: its origin and its key's id (the signed-note
/// key hash), so two logs that share a name but not a key never share a
/// state (and never look like a fork of each other).
fn default_state_path(directory: &Path, log_key: &VerifierKey) -> PathBuf {
    directory.join(format!(
        "{}+{:08x}.json",
        file_name_for_origin(log_key.name().as_str()),
        log_key.key_id().0
    ))
}

/// States kept in `directory` for `origin` under another key than `log_key`
/// (including the older file named by the origin alone).
fn states_under_other_keys(directory: &Path, log_key: &VerifierKey) -> Vec<(PathBuf, VerifyState)> {
    let stem = file_name_for_origin(log_key.name().as_str());
    let own = default_state_path(directory, log_key);
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, VerifyState)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| *path != own)
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".json"))
                .is_some_and(|name| {
                    name == stem
                        || name
                            .strip_prefix(stem.as_str())
                            .and_then(|rest| rest.strip_prefix('+'))
                            .is_some()
                })
        })
        .filter_map(|path| {
            let state = VerifyState::load(&path).ok().flatten()?;
            (state.origin == log_key.name().as_str() && state.log_key != log_key.to_string())
                .then_some((path, state))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn witness_keys(arguments: &[String]) -> Result<Vec<VerifierKey>> {
    arguments
        .iter()
        .map(|argument| {
            let key = verifier_key_from_argument(argument)?;
            corridor_log::keys::require_type(&key, SignatureType::CosignatureV1)?;
            Ok(key)
        })
        .collect()
}

pub fn verify(root: &Path, arguments: VerifyArgs) -> Result<Completion> {
    if let Some(VerifyCommand::Receipt { file, vkey }) = arguments.command {
        return verify_receipt(&file, &vkey);
    }
    let (source, vkey_argument): (std::sync::Arc<dyn LogStorage>, String) = match &arguments.log {
        Some(location) => {
            let vkey = arguments.vkey.clone().context(
                "--vkey is required with --log: the log's public key, as published by its operator",
            )?;
            (open_log(location)?, vkey)
        }
        None => {
            let data_dir = DataDir::open(root)?;
            let vkey = match &arguments.vkey {
                Some(vkey) => vkey.clone(),
                None => data_dir.log_vkey_path().display().to_string(),
            };
            (data_dir.log()?, vkey)
        }
    };
    let log_key = verifier_key_from_argument(&vkey_argument)?;
    corridor_log::keys::require_type(&log_key, SignatureType::Ed25519)?;
    let witnesses = witness_keys(&arguments.witnesses)?;
    if arguments.min_witnesses > witnesses.len() {
        bail!(
            "--min-witnesses {} but only {} --witness key(s) given",
            arguments.min_witnesses,
            witnesses.len()
        );
    }
    let origin = log_key.name().to_string();
    let (state_path, other_keys) = match &arguments.state {
        Some(path) => (path.clone(), Vec::new()),
        None => {
            let directory = state_directory()?;
            (
                default_state_path(&directory, &log_key),
                states_under_other_keys(&directory, &log_key),
            )
        }
    };
    // The state file named by the origin alone (before states were keyed
    // by key too) is this log's own state when its key is this one.
    let legacy = match &arguments.state {
        None if !state_path.exists() => {
            let path = state_directory()?.join(format!("{}.json", file_name_for_origin(&origin)));
            VerifyState::load(&path)
                .ok()
                .flatten()
                .filter(|state| state.log_key == log_key.to_string())
        }
        _ => None,
    };
    let state = match legacy {
        Some(state) => Some(state),
        None => VerifyState::load(&state_path)?,
    };
    let previous = match &state {
        Some(state) => {
            if state.origin != origin {
                bail!(
                    "the state file {} is for log {:?}, not {origin:?}",
                    state_path.display(),
                    state.origin
                );
            }
            if state.log_key != log_key.to_string() {
                bail!(
                    "a different key at a known origin: the state file {} verified log {origin:?} under the key {}, and this log presents the key {log_key}; it is not the log verified before (if its operator announced a new key, verify with another --state file)",
                    state_path.display(),
                    state.log_key
                );
            }
            Some(state.trusted_head(&state_path)?)
        }
        None => None,
    };
    for (path, other) in &other_keys {
        eprintln!(
            "note: a different key at a known origin: log {origin:?} was verified before under the key {} ({} leaves, in {}); the key {log_key} is a different log of the same name, verified here on its own",
            other.log_key,
            other.tree_size,
            path.display()
        );
    }
    let policy = VerifyPolicy {
        log_key: &log_key,
        witnesses: &witnesses,
        min_witnesses: arguments.min_witnesses,
        previous,
    };
    let verified = verify_log(source.as_ref(), &policy)
        .with_context(|| format!("the log at {} FAILED verification", source.describe()))?;
    let checkpoint = &verified.checkpoint;
    VerifyState {
        origin: origin.clone(),
        log_key: log_key.to_string(),
        tree_size: checkpoint.tree_size,
        root_hash: base64(&checkpoint.root_hash),
        checkpoint: verified.signed_checkpoint.clone(),
    }
    .save(&state_path)?;
    match arguments.format {
        SummaryFormat::Json => print_json(&json!({
            "origin": origin,
            "tree_size": checkpoint.tree_size,
            "root_hash": base64(&checkpoint.root_hash),
            "previous_size": previous.map(|head: TrustedHead| head.tree_size),
            "bundles_checked": verified.bundles_checked,
            "tiles_checked": verified.tiles_checked,
            "cosigned_by": verified.cosigned_by,
            "state_file": state_path.display().to_string(),
        }))?,
        SummaryFormat::Text => {
            println!(
                "OK: log {origin} at {} leaves, root {}",
                checkpoint.tree_size,
                base64(&checkpoint.root_hash)
            );
            println!(
                "  signature checked; {} entry bundles and {} tiles recomputed from the entries",
                verified.bundles_checked, verified.tiles_checked
            );
            match previous {
                Some(head) => println!(
                    "  extends the {} leaves verified before (recorded in {})",
                    head.tree_size,
                    state_path.display()
                ),
                None => println!(
                    "  first verification of this log; remembered in {}",
                    state_path.display()
                ),
            }
            if !witnesses.is_empty() {
                println!(
                    "  cosigned by {} of {} given witness(es): {}",
                    verified.cosigned_by.len(),
                    witnesses.len(),
                    if verified.cosigned_by.is_empty() {
                        "none".to_owned()
                    } else {
                        verified.cosigned_by.join(", ")
                    }
                );
            }
        }
    }
    Ok(Completion::Clean)
}

fn verify_receipt(file: &Path, vkey: &str) -> Result<Completion> {
    let log_key = verifier_key_from_argument(vkey)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let receipt: Receipt = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a receipt", file.display()))?;
    let checkpoint = receipt
        .verify(&log_key)
        .with_context(|| format!("the receipt {} FAILED verification", file.display()))?;
    println!(
        "OK: {}leaf {} (hash {}) is in log {} at {} leaves, root {}",
        receipt
            .record_id
            .as_ref()
            .map(|id| format!("record {id}, "))
            .unwrap_or_default(),
        receipt.leaf_index,
        receipt.leaf_hash,
        checkpoint.origin,
        checkpoint.tree_size,
        base64(&checkpoint.root_hash)
    );
    Ok(Completion::Clean)
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

pub fn witness(command: WitnessCommand) -> Result<Completion> {
    match command {
        WitnessCommand::Init { dir, name } => {
            let witness = Witness::init(&dir.path, &name)?;
            println!("{}", witness.verifier_key());
            eprintln!(
                "created witness {name} in {}; publish the key above",
                dir.path.display()
            );
        }
        WitnessCommand::Vkey { dir } => {
            println!("{}", Witness::open(&dir.path)?.verifier_key());
        }
        WitnessCommand::AddLog { dir, vkey } => {
            let witness = Witness::open(&dir.path)?;
            let log_key = verifier_key_from_argument(&vkey)?;
            corridor_log::keys::require_type(&log_key, SignatureType::Ed25519)?;
            witness.add_log(&log_key)?;
            println!("witness now follows log {}", log_key.name());
        }
        WitnessCommand::Cosign {
            dir,
            log,
            checkpoint,
            proof,
            out,
        } => {
            let witness = Witness::open(&dir.path)?;
            let cosigned = match (log, checkpoint, proof) {
                (Some(log), _, _) => {
                    witness.cosign_published(open_log(log)?.as_ref(), now_seconds())?
                }
                (None, Some(checkpoint), Some(proof)) => {
                    let signed = std::fs::read(&checkpoint)
                        .with_context(|| format!("reading {}", checkpoint.display()))?;
                    let (old_size, hashes) = read_proof_file(&proof)?;
                    witness.cosign(&signed, old_size, &hashes, now_seconds())?
                }
                _ => bail!("give --log DIR, or --checkpoint FILE with --proof FILE"),
            };
            match out {
                Some(path) => std::fs::write(&path, &cosigned.cosigned_checkpoint)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{}", cosigned.cosigned_checkpoint),
            }
            eprintln!(
                "cosigned at {} leaves (previously {})",
                cosigned.tree_size, cosigned.previous_size
            );
        }
    }
    Ok(Completion::Clean)
}

/// Reads a consistency proof as `corridor log consistency --format json` prints it.
fn read_proof_file(path: &Path) -> Result<(u64, Vec<corridor_tlog::Hash>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let old_size = value
        .get("old_size")
        .and_then(Value::as_u64)
        .with_context(|| format!("{}: no old_size", path.display()))?;
    let hashes = value
        .get("proof")
        .and_then(Value::as_array)
        .with_context(|| format!("{}: no proof array", path.display()))?
        .iter()
        .enumerate()
        .map(|(position, hash)| {
            hash.as_str()
                .and_then(corridor_log::verify::decode_hash)
                .with_context(|| {
                    format!("{}: proof[{position}] is not a base64 hash", path.display())
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((old_size, hashes))
}
