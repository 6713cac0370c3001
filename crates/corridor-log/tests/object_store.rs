//! The log in a real S3-compatible bucket (moto's server on loopback, see
//! `s3/mod.rs`): the real integrator writes into it, `verify_log` reads it
//! back over plain HTTP from the bucket's public URL, a flipped byte in one
//! object is found and named, tiles are create-only and the checkpoint a
//! compare-and-swap on its ETag, two integrators racing on one bucket leave
//! one tree, partial tiles are collected only behind a published
//! checkpoint, and a failure at every write of an integration (and an
//! unreachable endpoint) leaves the previous checkpoint and resumes.

mod s3;

mod common;
use common::{leaves, reference_root};

use std::sync::Arc;

use corridor_log::{
    HttpLog, IntegrateError, Log, LogReader, LogSource, LogStorage, LogStorageError, MemoryLeaves,
    ObjectLog, ObjectLogOptions, VerifyError, VerifyPolicy, integrate, read_leaves, verify_log,
};
use corridor_tlog::{KeyName, SignatureType, SignerKey};

fn signer() -> SignerKey {
    let name = KeyName::new("test.example/bucket").expect("valid name");
    SignerKey::from_seed(name, SignatureType::Ed25519, &[7u8; 32])
}

fn verify(source: &dyn LogSource) -> Result<corridor_log::VerifiedLog, VerifyError> {
    let log_key = signer().verifier_key();
    let policy = VerifyPolicy {
        log_key: &log_key,
        witnesses: &[],
        min_witnesses: 0,
        previous: None,
    };
    verify_log(source, &policy)
}

/// Verifies `source` as exactly the first `size` of `all`.
fn assert_published(source: &dyn LogSource, all: &[Vec<u8>], size: usize, context: &str) {
    let verified = verify(source).unwrap_or_else(|error| panic!("{context}: verify: {error}"));
    assert_eq!(verified.checkpoint.tree_size, size as u64, "{context}");
    let root = reference_root(&all[..size]);
    assert_eq!(verified.checkpoint.root_hash, root, "{context}");
    let published = read_leaves(source, size as u64, &root)
        .unwrap_or_else(|error| panic!("{context}: leaves: {error}"));
    assert_eq!(published, all[..size], "{context}");
}

fn open(bucket: &str, prefix: &str, options: &ObjectLogOptions) -> ObjectLog {
    ObjectLog::open(&format!("s3://{bucket}/{prefix}"), options).expect("a bucket log")
}

#[test]
fn the_integrator_writes_a_bucket_that_verifies_over_http() {
    let Some(server) = s3::server("the_integrator_writes_a_bucket_that_verifies_over_http") else {
        return;
    };
    let bucket = server.bucket("verify");
    let log = open(&bucket, "lachin/log", &server.options());
    let all = leaves("verify", 600);
    for size in [1, 100, 256, 300, 600] {
        let integration =
            integrate(&MemoryLeaves(all[..size].to_vec()), &log, &signer()).expect("integrated");
        assert_eq!(integration.tree_size, size as u64);
    }
    let public = HttpLog::new(&server.public_url(&bucket, "lachin/log"));
    assert_published(&public, &all, 600, "read over HTTP");
    assert_published(&log, &all, 600, "read through the S3 API");

    // An idle log writes nothing.
    let before = log.requests();
    integrate(&MemoryLeaves(all.clone()), &log, &signer()).expect("nothing new");
    let after = log.requests();
    assert_eq!(after.writes, before.writes, "{before:?} {after:?}");

    // The headers /log/ promises, on the objects themselves.
    for (key, cache, content_type) in [
        ("checkpoint", "no-cache", "text/plain; charset=utf-8"),
        (
            "checkpoints/600",
            "public, max-age=60",
            "text/plain; charset=utf-8",
        ),
        (
            "tile/entries/001",
            "public, max-age=31536000, immutable",
            "application/octet-stream",
        ),
        (
            "tile/0/000",
            "public, max-age=31536000, immutable",
            "application/octet-stream",
        ),
        (
            "tile/0/002.p/88",
            "public, max-age=60",
            "application/octet-stream",
        ),
        (
            "tile/entries/002.p/88",
            "public, max-age=60",
            "application/octet-stream",
        ),
    ] {
        let (status, _, got_cache, got_type) = server.fetch(&bucket, &format!("lachin/log/{key}"));
        assert_eq!(status, 200, "{key}");
        assert_eq!(got_cache, cache, "{key}");
        assert_eq!(got_type, content_type, "{key}");
    }

    // A flipped byte in one hash tile is found, and the tile named.
    let (_, mut tile, _, _) = server.fetch(&bucket, "lachin/log/tile/0/001");
    tile[5 * 32 + 3] ^= 0x40;
    server.overwrite(&bucket, "lachin/log/tile/0/001", &tile);
    let error = verify(&public).expect_err("a flipped byte");
    let message = error.to_string();
    assert!(
        message.contains("tile/0/001") && message.contains("leaf 261"),
        "{message}"
    );

    // And a flipped byte in an entry bundle, in another prefix.
    let clean = open(&bucket, "second", &server.options());
    integrate(&MemoryLeaves(all.clone()), &clean, &signer()).expect("integrated");
    let (_, mut bundle, _, _) = server.fetch(&bucket, "second/tile/entries/000");
    bundle[40] ^= 0x01;
    server.overwrite(&bucket, "second/tile/entries/000", &bundle);
    let message = verify(&HttpLog::new(&server.public_url(&bucket, "second")))
        .expect_err("a flipped byte")
        .to_string();
    assert!(
        message.contains("entries altered") && message.contains("tile/0/000"),
        "{message}"
    );
}

const AT_1: &[u8] = b"o\n1\nAAAA\n\n\xe2\x80\x94 o sig1\n";
const AT_1_COSIGNED: &[u8] = b"o\n1\nAAAA\n\n\xe2\x80\x94 o sig1\n\xe2\x80\x94 w cosig\n";
const AT_2: &[u8] = b"o\n2\nBBBB\n\n\xe2\x80\x94 o sig2\n";
const AT_3: &[u8] = b"o\n3\nCCCC\n\n\xe2\x80\x94 o sig3\n";

#[test]
fn tiles_are_create_only_and_the_checkpoint_a_compare_and_swap() {
    let Some(server) = s3::server("tiles_are_create_only_and_the_checkpoint_a_compare_and_swap")
    else {
        return;
    };
    let bucket = server.bucket("rules");
    let log = open(&bucket, "p", &server.options());
    log.create("tile/0/000.p/1", vec![7; 32]).expect("queued");
    log.sync().expect("uploaded");
    log.create("tile/0/000.p/1", vec![7; 32]).expect("queued");
    log.sync().expect("the same bytes again are success");
    log.create("tile/0/000.p/1", vec![8; 32]).expect("queued");
    let error = log.sync().expect_err("different bytes");
    assert!(
        matches!(&error, LogStorageError::Conflict { path } if path == &format!("s3://{bucket}/p/tile/0/000.p/1")),
        "{error}"
    );
    assert_eq!(log.read("tile/0/000.p/1").expect("read"), Some(vec![7; 32]));
    assert_eq!(log.list("tile/0/000.p").expect("listed"), vec!["1"]);
    assert_eq!(log.list("tile/0").expect("listed"), vec!["000.p"]);
    assert!(log.create("../escape", vec![1]).is_err());
    assert!(log.create("checkpoint", vec![1]).is_err());

    // The checkpoint: created once, then swapped only from what it holds.
    let error = log
        .replace_checkpoint(Some(AT_1), AT_2)
        .expect_err("nothing to replace yet");
    assert!(
        matches!(error, LogStorageError::CheckpointChanged { .. }),
        "{error}"
    );
    log.replace_checkpoint(None, AT_1).expect("first");
    let error = log.replace_checkpoint(None, AT_2).expect_err("exists");
    assert!(
        matches!(error, LogStorageError::CheckpointChanged { .. }),
        "{error}"
    );

    // A second writer whose view is stale loses on the ETag (If-Match),
    // although the bytes it names were right when it read them.
    let zombie = open(&bucket, "p", &server.options());
    assert_eq!(
        zombie.read("checkpoint").expect("read"),
        Some(AT_1.to_vec())
    );
    log.replace_checkpoint(Some(AT_1), AT_1_COSIGNED)
        .expect("cosigned");
    log.replace_checkpoint(Some(AT_1_COSIGNED), AT_2)
        .expect("grows");
    let error = zombie
        .replace_checkpoint(Some(AT_1), AT_3)
        .expect_err("stale");
    assert!(
        matches!(error, LogStorageError::CheckpointChanged { .. }),
        "{error}"
    );
    let error = log.replace_checkpoint(Some(AT_2), AT_1).expect_err("back");
    assert!(
        matches!(error, LogStorageError::NotSuccessor { .. }),
        "{error}"
    );
    assert_eq!(log.read("checkpoint").expect("read"), Some(AT_2.to_vec()));

    // Its copies only gain signature lines.
    log.write_checkpoint_copy(1, AT_1).expect("created");
    log.write_checkpoint_copy(1, AT_1).expect("the same again");
    log.write_checkpoint_copy(1, AT_1_COSIGNED)
        .expect("cosigned");
    let error = log
        .write_checkpoint_copy(1, AT_1)
        .expect_err("drops a cosignature");
    assert!(
        matches!(error, LogStorageError::NotSuccessor { .. }),
        "{error}"
    );
    assert_eq!(
        log.read("checkpoints/1").expect("read"),
        Some(AT_1_COSIGNED.to_vec())
    );
}

/// A view of a bucket log that has not seen the checkpoint yet: a zombie
/// integrator that read the log before the other one published.
#[derive(Debug)]
struct BeforePublication<'a>(&'a ObjectLog);

impl LogSource for BeforePublication<'_> {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn read(&self, path: &str) -> std::io::Result<Option<Vec<u8>>> {
        if path == "checkpoint" {
            return Ok(None);
        }
        self.0.read(path)
    }
}

impl LogStorage for BeforePublication<'_> {
    fn list(&self, directory: &str) -> std::io::Result<Vec<String>> {
        self.0.list(directory)
    }
    fn create(&self, path: &str, bytes: Vec<u8>) -> Result<(), LogStorageError> {
        self.0.create(path, bytes)
    }
    fn sync(&self) -> Result<(), LogStorageError> {
        self.0.sync()
    }
    fn write_checkpoint_copy(&self, tree_size: u64, signed: &[u8]) -> Result<(), LogStorageError> {
        self.0.write_checkpoint_copy(tree_size, signed)
    }
    fn replace_checkpoint(
        &self,
        replaced: Option<&[u8]>,
        signed: &[u8],
    ) -> Result<(), LogStorageError> {
        self.0.replace_checkpoint(replaced, signed)
    }
}

#[test]
fn two_integrators_racing_on_one_bucket_leave_one_tree() {
    let Some(server) = s3::server("two_integrators_racing_on_one_bucket_leave_one_tree") else {
        return;
    };
    let bucket = server.bucket("race");
    let first_records = leaves("first", 300);
    let second_records = leaves("second", 400);

    // The zombie case, in order: the second integrator read the log before
    // the first published, and writes its own, different tiles.
    let first = open(&bucket, "zombie", &server.options());
    integrate(&MemoryLeaves(first_records.clone()), &first, &signer()).expect("first");
    let second = open(&bucket, "zombie", &server.options());
    let error = integrate(
        &MemoryLeaves(second_records.clone()),
        &BeforePublication(&second),
        &signer(),
    )
    .expect_err("different bytes at a written path");
    let message = error.to_string();
    assert!(
        matches!(&error, IntegrateError::Storage(LogStorageError::Conflict { path })
            if path.starts_with(&format!("s3://{bucket}/zombie/tile/"))),
        "{message}"
    );
    assert_published(&first, &first_records, 300, "after the zombie");
    // Seeing the checkpoint, it refuses to publish a store that differs.
    let error = integrate(&MemoryLeaves(second_records.clone()), &second, &signer())
        .expect_err("the store differs from the log");
    assert!(
        matches!(error, IntegrateError::StoreDiffersFromLog { .. }),
        "{error}"
    );
    assert_published(&first, &first_records, 300, "after the second attempt");

    // Racing for real, several times: exactly one of them publishes, and
    // the bucket holds its tree.
    for round in 0..4 {
        let prefix = format!("round-{round}");
        let logs = [
            Arc::new(open(&bucket, &prefix, &server.options())),
            Arc::new(open(&bucket, &prefix, &server.options())),
        ];
        let stores = [first_records.clone(), second_records.clone()];
        let outcomes: Vec<Result<u64, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = logs
                .iter()
                .zip(&stores)
                .map(|(log, records)| {
                    scope.spawn(move || {
                        integrate(&MemoryLeaves(records.clone()), log.as_ref(), &signer())
                            .map(|integration| integration.tree_size)
                            .map_err(|error| error.to_string())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("no panic"))
                .collect()
        });
        let winners: Vec<usize> = (0..2).filter(|&side| outcomes[side].is_ok()).collect();
        assert!(winners.len() <= 1, "round {round}: {outcomes:?}");
        let reader = open(&bucket, &prefix, &server.options());
        match winners.first() {
            Some(&side) => {
                let size = stores[side].len();
                assert_published(&reader, &stores[side], size, &format!("round {round}"));
            }
            None => {
                // Both lost (each refused the other's bytes): whatever
                // checkpoint there is still verifies as one of the trees.
                if reader.read("checkpoint").expect("read").is_some() {
                    let verified = verify(&reader).expect("one tree");
                    let size = verified.checkpoint.tree_size as usize;
                    assert!(
                        stores.iter().any(|records| records.len() >= size
                            && reference_root(&records[..size]) == verified.checkpoint.root_hash),
                        "round {round}: {outcomes:?}"
                    );
                }
            }
        }
        for (side, outcome) in outcomes.iter().enumerate() {
            if let Err(message) = outcome {
                assert!(
                    message.contains("already holds different bytes")
                        || message.contains("changed since it was read")
                        || message.contains("is not the leaf the log published")
                        || message.contains("the store holds"),
                    "round {round}, integrator {side}: {message}"
                );
            }
        }
    }
}

/// The partial tiles and bundles in `log`, and the bytes of every tile and bundle.
fn stored_bytes(log: &ObjectLog) -> (Vec<String>, u64) {
    let mut partials = Vec::new();
    let mut bytes = 0;
    for level in ["entries", "0", "1"] {
        let directory = format!("tile/{level}");
        for name in log.list(&directory).expect("listed") {
            if let Some(index) = name.strip_suffix(".p") {
                for width in log.list(&format!("{directory}/{name}")).expect("listed") {
                    let path = format!("{directory}/{index}.p/{width}");
                    bytes += log.read(&path).expect("read").map_or(0, |b| b.len() as u64);
                    partials.push(path);
                }
            } else {
                let path = format!("{directory}/{name}");
                bytes += log.read(&path).expect("read").map_or(0, |b| b.len() as u64);
            }
        }
    }
    partials.sort();
    (partials, bytes)
}

#[test]
fn partial_tiles_are_collected_behind_a_published_checkpoint() {
    let Some(server) = s3::server("partial_tiles_are_collected_behind_a_published_checkpoint")
    else {
        return;
    };
    let bucket = server.bucket("collect");
    let all = leaves("collect", 600);
    let kept = open(&bucket, "kept", &server.options());
    let collecting = open(
        &bucket,
        "collected",
        &ObjectLogOptions {
            collect_partials: true,
            ..server.options()
        },
    );
    for size in (50..=600).step_by(50) {
        for log in [&kept, &collecting] {
            integrate(&MemoryLeaves(all[..size].to_vec()), log, &signer()).expect("integrated");
        }
    }
    let (kept_partials, kept_bytes) = stored_bytes(&kept);
    let (collected_partials, collected_bytes) = stored_bytes(&collecting);
    assert!(
        kept_partials.contains(&"tile/0/000.p/50".to_owned()),
        "{kept_partials:?}"
    );
    // Tiles 0 and 1 are full at 600; tile 2 and level 1 are still partial,
    // and their older partials stay (no full tile supersedes them yet).
    assert_eq!(
        collected_partials,
        vec![
            "tile/0/002.p/38",
            "tile/0/002.p/88",
            "tile/1/000.p/1",
            "tile/1/000.p/2",
            "tile/entries/002.p/38",
            "tile/entries/002.p/88",
        ],
        "{collected_partials:?}"
    );
    assert!(
        collected_bytes < kept_bytes / 2,
        "{collected_bytes} vs {kept_bytes}"
    );

    // Verifiers and proofs at older sizes fall back to the full tiles.
    assert_published(
        &HttpLog::new(&server.public_url(&bucket, "collected")),
        &all,
        600,
        "collected, over HTTP",
    );
    let storage: Arc<dyn LogStorage> = Arc::new(collecting);
    let reader = LogReader::new(Arc::clone(&storage));
    assert_eq!(
        reader.root_at(100).expect("root at an older size"),
        reference_root(&all[..100])
    );
    reader
        .consistency_proof(100, 600)
        .expect("a consistency proof");
    let receipt = reader
        .receipt(None, 42, &all[42], Some(100))
        .expect("a receipt at size 100");
    assert_eq!(receipt.tree_size, 100);
}

/// Fails the `fail_at`-th write (creates counted as they are made, then
/// the copy and the swap) or, with `None`, the durability point, of one
/// integration through a bucket log.
#[derive(Debug)]
struct FailingWrite<'a> {
    log: &'a ObjectLog,
    fail_at: Option<u64>,
    writes: std::sync::atomic::AtomicU64,
}

impl FailingWrite<'_> {
    fn write(&self, path: &str) -> Result<(), LogStorageError> {
        let index = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.fail_at == Some(index) {
            return Err(LogStorageError::Injected {
                operation: "write",
                path: path.to_owned(),
            });
        }
        Ok(())
    }
}

impl LogSource for FailingWrite<'_> {
    fn describe(&self) -> String {
        self.log.describe()
    }
    fn read(&self, path: &str) -> std::io::Result<Option<Vec<u8>>> {
        self.log.read(path)
    }
}

impl LogStorage for FailingWrite<'_> {
    fn list(&self, directory: &str) -> std::io::Result<Vec<String>> {
        self.log.list(directory)
    }
    fn create(&self, path: &str, bytes: Vec<u8>) -> Result<(), LogStorageError> {
        self.write(path)?;
        self.log.create(path, bytes)
    }
    fn sync(&self) -> Result<(), LogStorageError> {
        if self.fail_at.is_none() {
            // What was buffered is lost with the failed process.
            return Err(LogStorageError::Injected {
                operation: "sync",
                path: self.describe(),
            });
        }
        self.log.sync()
    }
    fn write_checkpoint_copy(&self, tree_size: u64, signed: &[u8]) -> Result<(), LogStorageError> {
        self.write("checkpoints")?;
        self.log.write_checkpoint_copy(tree_size, signed)
    }
    fn replace_checkpoint(
        &self,
        replaced: Option<&[u8]>,
        signed: &[u8],
    ) -> Result<(), LogStorageError> {
        self.write("checkpoint")?;
        self.log.replace_checkpoint(replaced, signed)
    }
}

#[test]
fn a_failure_at_every_write_leaves_the_previous_checkpoint_and_resumes() {
    let Some(server) =
        s3::server("a_failure_at_every_write_leaves_the_previous_checkpoint_and_resumes")
    else {
        return;
    };
    let bucket = server.bucket("faults");
    let all = leaves("faults", 600);
    let faults: Vec<Option<u64>> = std::iter::once(None).chain((0..9).map(Some)).collect();
    for fault in faults {
        let prefix = format!("fault-{fault:?}").replace(['(', ')'], "");
        let log = open(&bucket, &prefix, &server.options());
        integrate(&MemoryLeaves(all[..300].to_vec()), &log, &signer()).expect("first step");
        let failing = FailingWrite {
            log: &log,
            fail_at: fault,
            writes: std::sync::atomic::AtomicU64::new(0),
        };
        let outcome = integrate(&MemoryLeaves(all.clone()), &failing, &signer());
        let writes = failing.writes.load(std::sync::atomic::Ordering::SeqCst);
        let failed = outcome.is_err();
        if failed {
            // The fault may have hit the swap itself: either way the
            // published checkpoint is a whole one.
            let verified = verify(&log).expect("still verifies");
            assert_eq!(verified.checkpoint.tree_size, 300, "fault {fault:?}");
        } else {
            assert!(
                fault.is_some_and(|index| index >= writes),
                "fault {fault:?}"
            );
        }
        // A new process (a fresh client) resumes and publishes everything.
        let resumed = open(&bucket, &prefix, &server.options());
        integrate(&MemoryLeaves(all.clone()), &resumed, &signer()).expect("resumed");
        assert_published(&resumed, &all, 600, &format!("fault {fault:?}"));
    }
}

#[test]
fn an_unreachable_bucket_fails_after_bounded_retries_and_is_reported() {
    // No server needed: nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port");
    let options = ObjectLogOptions {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        allow_http: Some(true),
        region: Some("us-east-1".into()),
        credentials: Some(corridor_log::ObjectCredentials {
            key_id: s3::KEY_ID.into(),
            secret_key: s3::SECRET_KEY.into(),
            session_token: None,
        }),
        max_retries: 2,
        request_timeout: std::time::Duration::from_secs(2),
        ..ObjectLogOptions::default()
    };
    let storage: Arc<dyn LogStorage> =
        Arc::new(ObjectLog::open("s3://nowhere/log", &options).expect("opens without a request"));
    let log = Log::new(storage, signer());
    let started = std::time::Instant::now();
    for round in 1..=2 {
        let error = log
            .integrate(&MemoryLeaves(leaves("x", 3)))
            .expect_err("unreachable");
        let health = log.health();
        assert_eq!(health.consecutive_failures, round);
        assert_eq!(
            health.last_error.as_deref(),
            Some(error.to_string().as_str())
        );
        assert!(
            error.to_string().contains("s3://nowhere/log/checkpoint"),
            "{error}"
        );
        assert!(
            !error.to_string().contains(s3::SECRET_KEY),
            "a secret in {error}"
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "retries are bounded: {:?}",
        started.elapsed()
    );
}
