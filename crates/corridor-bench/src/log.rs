//! Log integration, verification and proofs, against the raw floor of
//! SHA-256 over the same bytes written to (or read from) one file.
//!
//! Needs `corridor-log`, `corridor-tlog` and `sha2` in this crate's dependencies.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use corridor_log::{LogReader, MemoryLeaves, VerifyPolicy, integrate, open_log, verify_log};
use corridor_tlog::{KeyName, SignatureType, SignerKey, leaf_hash, verify_inclusion};
use sha2::{Digest, Sha256};

use crate::report::BenchResult;

/// A realistic leaf: the canonical JSON of a passage, about 300 bytes.
pub(crate) fn leaf(index: u64) -> Vec<u8> {
    format!(
        r#"{{"commitment":"{commitment:064x}","logged_at":"2023-01-{day:02}T{hour:02}:{minute:02}:{second:02}.000Z","record":{{"category":"red_cross","count":1,"direction":"inbound","id":"bench-{index}","observed_at":"2023-01-{day:02}T{hour:02}:{minute:02}:00+04:00","outcome":"passed","recorded_by":"bench-observer","site":"bench-north","source":{{"kind":"direct_observation","name":"bench team"}},"type":"passage","vehicle_class":"truck"}},"v":1}}"#,
        commitment = index.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        day = 1 + index % 28,
        hour = index % 24,
        minute = index % 60,
        second = (index / 60) % 60,
    )
    .into_bytes()
}

/// Runs the log benchmarks over `leaves` leaves in `scratch`.
///
/// # Errors
///
/// A failed integration or verification, or an I/O error.
pub fn run(scratch: &Path, leaves: u64) -> Result<Vec<BenchResult>> {
    let source = MemoryLeaves((0..leaves).map(leaf).collect());
    let total_bytes: usize = source.0.iter().map(Vec::len).sum();
    let name = KeyName::new("bench.invalid/log").map_err(|error| anyhow::anyhow!("{error}"))?;
    let signer = SignerKey::from_seed(name, SignatureType::Ed25519, &[7u8; 32]);
    let log_root = scratch.join("log-bench");
    let _ = std::fs::remove_dir_all(&log_root);
    let directory = open_log(&log_root)?;

    // Measured: integration of every leaf, bundles and tiles fsynced, checkpoint signed.
    let started = Instant::now();
    let integration = integrate(&source, directory.as_ref(), &signer).context("integrating")?;
    let integrate_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(integration.tree_size == leaves, "integration stopped short");

    // Floor: SHA-256 of the same bytes, written to one file with one fsync.
    let floor_path = scratch.join("log-floor.bin");
    let started = Instant::now();
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&floor_path)?);
    let mut sink = 0u8;
    for bytes in &source.0 {
        sink ^= Sha256::digest(bytes)[0];
        file.write_all(bytes)?;
    }
    let file = file.into_inner().map_err(|error| error.into_error())?;
    file.sync_all()?;
    let floor_seconds = started.elapsed().as_secs_f64();
    let files_floor_seconds = files_floor(scratch, &source.0)?;

    // Measured: full verification from the files.
    let log_key = signer.verifier_key();
    let policy = VerifyPolicy {
        log_key: &log_key,
        witnesses: &[],
        min_witnesses: 0,
        previous: None,
    };
    let started = Instant::now();
    verify_log(directory.as_ref(), &policy).context("verifying")?;
    let verify_seconds = started.elapsed().as_secs_f64();

    // Floor: read the one file back and hash the same leaves.
    let started = Instant::now();
    let mut bytes = Vec::with_capacity(total_bytes);
    std::fs::File::open(&floor_path)?.read_to_end(&mut bytes)?;
    let mut offset = 0;
    for leaf_bytes in &source.0 {
        let end = offset + leaf_bytes.len();
        sink ^= Sha256::digest(&bytes[offset..end])[0];
        offset = end;
    }
    let read_floor_seconds = started.elapsed().as_secs_f64();
    std::hint::black_box(sink);

    // Measured: inclusion proofs from the tiles at the full size.
    let reader = LogReader::new(directory.clone());
    let proofs = 2_000u64.min(leaves.max(1));
    let step = (leaves / proofs).max(1);
    let started = Instant::now();
    for round in 0..proofs {
        let leaf_index = (round * step + round % 7) % leaves.max(1);
        let proof = reader.inclusion_proof(leaf_index, leaves)?;
        std::hint::black_box(&proof);
    }
    let cold_proof_micros = started.elapsed().as_secs_f64() * 1e6 / proofs as f64;
    // The same proofs again: the reader now holds the tiles, as a running
    // server's does after its first requests.
    let started = Instant::now();
    for round in 0..proofs {
        let leaf_index = (round * step + round % 7) % leaves.max(1);
        let proof = reader.inclusion_proof(leaf_index, leaves)?;
        std::hint::black_box(&proof);
    }
    let proof_micros = started.elapsed().as_secs_f64() * 1e6 / proofs as f64;
    // And one checked, so the figure is of correct proofs.
    let proof = reader.inclusion_proof(leaves / 2, leaves)?;
    verify_inclusion(
        &leaf_hash(&source.0[(leaves / 2) as usize]),
        leaves / 2,
        leaves,
        &proof,
        &integration.root_hash,
    )
    .map_err(|error| anyhow::anyhow!("benchmark proof does not verify: {error}"))?;

    let _ = std::fs::remove_dir_all(&log_root);
    let _ = std::fs::remove_dir_all(scratch.join(FILES_FLOOR));
    let _ = std::fs::remove_file(&floor_path);
    let rate = |seconds: f64| leaves as f64 / seconds.max(1e-9);
    Ok(vec![
        BenchResult::plain(
            "log_integrate_leaves_per_s",
            rate(integrate_seconds),
            "leaves/s",
            "corridor_log::integrate: entry bundles, hash tiles (each fsynced), signed checkpoint",
        ),
        BenchResult::ratio(
            "integrate_vs_sha256_ratio",
            rate(integrate_seconds),
            "SHA-256 of the same leaves, written to one file with one fsync",
            rate(floor_seconds),
            0.5,
        ),
        BenchResult {
            target: None,
            met: None,
            ..BenchResult::ratio(
                "integrate_vs_files_floor",
                rate(integrate_seconds),
                "SHA-256 of the same leaves, written into as many new files as the tile layout has \
                 (a bundle and a level-0 tile per 256 leaves) from one thread, one syncfs: what \
                 creating that many files costs on this filesystem now (integration creates them \
                 from three threads, so it can beat this floor)",
                rate(files_floor_seconds),
                0.0,
            )
        },
        BenchResult::ratio(
            "verify_vs_sha256_ratio",
            rate(verify_seconds),
            "read the same leaves from one file and SHA-256 them",
            rate(read_floor_seconds),
            0.5,
        ),
        BenchResult::plain(
            "inclusion_proof_us",
            proof_micros,
            "µs",
            "corridor_log::LogReader::inclusion_proof at the full tree size, tiles already read by the reader (a running server)",
        )
        .below(50.0),
        BenchResult::plain(
            "inclusion_proof_cold_us",
            cold_proof_micros,
            "µs",
            "the same proofs on a fresh reader: each reads its tiles from disk",
        ),
    ])
}

/// Where the files floor is written, under the scratch directory.
const FILES_FLOOR: &str = "log-files-floor";

/// The floor of the tile layout itself: the same leaf bytes, and a 32-byte
/// SHA-256 per leaf, written into as many new files as integration creates
/// (an entry bundle and a level-0 tile per 256 leaves), then made durable
/// with one `syncfs`. Returns the seconds taken.
///
/// On a filesystem where creating a file is costly this floor falls with
/// integration: on ext4 without a journal, for one, every new inode is
/// chosen past the inodes freed in the last minutes, so a run soon after a
/// large deletion (the previous run's cleanup) pays for each of them.
fn files_floor(scratch: &Path, leaves: &[Vec<u8>]) -> Result<f64> {
    let root = scratch.join(FILES_FLOOR);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root)?;
    let started = Instant::now();
    let mut bundle = Vec::new();
    let mut hashes = Vec::new();
    for (number, chunk) in leaves.chunks(256).enumerate() {
        let directory = root.join(format!("x{:03}", number / 1000));
        if number % 1000 == 0 {
            std::fs::create_dir_all(&directory)?;
        }
        bundle.clear();
        hashes.clear();
        for leaf in chunk {
            hashes.extend_from_slice(&Sha256::digest(leaf));
            bundle.extend_from_slice(leaf);
        }
        std::fs::write(
            directory.join(format!("{:03}.entries", number % 1000)),
            &bundle,
        )?;
        std::fs::write(
            directory.join(format!("{:03}.hashes", number % 1000)),
            &hashes,
        )?;
    }
    sync_filesystem(&root)?;
    Ok(started.elapsed().as_secs_f64())
}

/// Flushes the whole filesystem holding `path` (where `syncfs` is missing,
/// only the directory itself).
fn sync_filesystem(path: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(std::fs::File::open(path)?)?;
    #[cfg(not(target_os = "linux"))]
    std::fs::File::open(path)?.sync_all()?;
    Ok(())
}
