//! The log in an S3-compatible bucket, against raw PUTs of the same objects
//! to the same server in the same run. The server is `CORRIDOR_BENCH_S3`
//! (an endpoint URL, with a bucket named `corridor-bench`) or a moto server
//! this runner starts from the repository's `.venv` on a free loopback
//! port; without either the figures are reported missing (unmet).
//!
//! - `objstore_integrate_leaves_per_s`: one integration of every leaf into
//!   the bucket (create-only PUTs, reads of the published state, the
//!   checkpoint's compare-and-swap).
//! - `objstore_integrate_vs_raw_put_ratio`: the same objects (every tile,
//!   bundle and checkpoint the integration wrote, same bytes) PUT
//!   unconditionally with the same concurrency, as leaves per second.
//! - `objstore_ack_to_checkpoint_p99_ms`: records arrive in batches while an
//!   integrator publishes at most once a second, as `corridor serve`'s does;
//!   the time from a batch's arrival to the checkpoint that covers it.
//! - `objstore_bytes_stored_per_leaf`: what the bucket holds after that run
//!   per leaf, keeping partial tiles and collecting them.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use corridor_log::{
    LeafSource, LogSource, MemoryLeaves, ObjectCredentials, ObjectLog, ObjectLogOptions, integrate,
};
use corridor_store::StoreError;
use corridor_tlog::{KeyName, SignatureType, SignerKey};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::report::BenchResult;

const BUCKET: &str = "corridor-bench";
/// Uploads in flight at once, in the raw baseline as in the backend.
const CONCURRENCY: usize = 16;

/// The S3 server the benchmark uses, stopped when dropped if it started it.
struct Server {
    endpoint: String,
    child: Option<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn server() -> Result<Option<Server>> {
    if let Ok(endpoint) = std::env::var("CORRIDOR_BENCH_S3") {
        return Ok(Some(Server {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            child: None,
        }));
    }
    let moto = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server");
    if !moto.is_file() {
        return Ok(None);
    }
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(&moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", moto.display()))?;
    let mut server = Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        child: Some(child),
    };
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if let Some(child) = &mut server.child
            && let Some(status) = child.try_wait()?
        {
            return Err(anyhow!("moto_server exited with {status}"));
        }
        anyhow::ensure!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Some(server))
}

fn options(endpoint: &str, collect_partials: bool) -> ObjectLogOptions {
    // Real credentials, when the environment has them, win over these.
    let credentials = std::env::var("AWS_ACCESS_KEY_ID")
        .is_err()
        .then(|| ObjectCredentials {
            key_id: "corridor-bench".into(),
            secret_key: "corridor-bench-secret".into(),
            session_token: None,
        });
    ObjectLogOptions {
        endpoint: Some(endpoint.to_owned()),
        allow_http: Some(endpoint.starts_with("http://")),
        region: Some(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into())),
        credentials,
        collect_partials,
        ..ObjectLogOptions::default()
    }
}

fn missing(reason: &str) -> Vec<BenchResult> {
    let figures = [
        ("objstore_integrate_leaves_per_s", "leaves/s"),
        ("objstore_integrate_vs_raw_put_ratio", "ratio"),
        ("objstore_ack_to_checkpoint_p99_ms", "ms"),
        ("objstore_puts_per_checkpoint", "requests"),
        ("objstore_bytes_stored_per_leaf", "bytes"),
        ("objstore_bytes_stored_per_leaf_collected", "bytes"),
    ];
    BenchResult::missing(&figures, reason)
}

/// Runs the bucket benchmarks: one integration of `leaves` leaves, and an
/// arrival run of `arrival_seconds`.
///
/// # Errors
///
/// A failed integration or request against a server that is there.
pub fn run(leaves: u64, arrival_seconds: u64) -> Result<Vec<BenchResult>> {
    let Some(server) = server()? else {
        return Ok(missing(
            "no S3 server: set CORRIDOR_BENCH_S3 or run scripts/python-tools.sh for moto",
        ));
    };
    create_bucket(&server.endpoint)?;
    let run_id = format!(
        "{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_second()
    );
    let name = KeyName::new("bench.invalid/objstore").map_err(|error| anyhow!("{error}"))?;
    let signer = SignerKey::from_seed(name, SignatureType::Ed25519, &[9u8; 32]);
    let source = MemoryLeaves((0..leaves).map(crate::log::leaf).collect());

    // Measured: one integration of every leaf into the bucket.
    let prefix = format!("integrate-{run_id}");
    let log = ObjectLog::open(
        &format!("s3://{BUCKET}/{prefix}"),
        &options(&server.endpoint, false),
    )?;
    let started = Instant::now();
    let integration = integrate(&source, &log, &signer).context("integrating into the bucket")?;
    let integrate_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(integration.tree_size == leaves, "integration stopped short");
    let requests = log.requests();

    // Baseline: the same objects, same bytes, PUT without conditions.
    let mut objects: Vec<(String, Vec<u8>)> = Vec::new();
    for path in corridor_log::object::tree_paths(leaves)
        .into_iter()
        .chain(["checkpoint".to_owned(), format!("checkpoints/{leaves}")])
    {
        let bytes = log
            .read(&path)?
            .ok_or_else(|| anyhow!("{path} was not written"))?;
        objects.push((path, bytes));
    }
    let raw_seconds = raw_puts(&server.endpoint, &format!("raw-{run_id}"), objects)?;

    // Arrivals: a batch every 10 ms, an integrator at most once a second.
    let mut latencies = Vec::new();
    let mut stored = Vec::new();
    let mut per_checkpoint = (0.0, 0.0);
    for collect in [false, true] {
        let prefix = format!("arrivals-{collect}-{run_id}");
        let log = ObjectLog::open(
            &format!("s3://{BUCKET}/{prefix}"),
            &options(&server.endpoint, collect),
        )?;
        let (batch_latencies, tree_size, checkpoints) = arrivals(&log, &signer, arrival_seconds)?;
        latencies.extend(batch_latencies);
        if !collect {
            let requests = log.requests();
            let checkpoints = checkpoints.max(1) as f64;
            per_checkpoint = (
                requests.writes as f64 / checkpoints,
                (requests.reads + requests.lists) as f64 / checkpoints,
            );
        }
        let bytes = bucket_bytes(&server.endpoint, &prefix)?;
        stored.push(bytes as f64 / tree_size.max(1) as f64);
    }
    latencies.sort_by(f64::total_cmp);
    let p99 = latencies
        .get(((latencies.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(f64::NAN);

    let rate = |seconds: f64| leaves as f64 / seconds.max(1e-9);
    Ok(vec![
        BenchResult::plain(
            "objstore_integrate_leaves_per_s",
            rate(integrate_seconds),
            "leaves/s",
            &format!(
                "corridor_log::integrate into an S3 bucket ({}): {} PUTs, {} GETs, {} LISTs",
                server.endpoint, requests.writes, requests.reads, requests.lists
            ),
        ),
        BenchResult::ratio(
            "objstore_integrate_vs_raw_put_ratio",
            rate(integrate_seconds),
            &format!(
                "unconditional PUTs of the same objects (same bytes) to the same server, {CONCURRENCY} at a time, as leaves/s"
            ),
            rate(raw_seconds),
            0.5,
        ),
        BenchResult::plain(
            "objstore_ack_to_checkpoint_p99_ms",
            p99,
            "ms",
            "a batch of 20 leaves every 10 ms, an integrator publishing at most once a second into the bucket; from a batch's arrival to the checkpoint covering it",
        )
        .at_most(1500.0),
        BenchResult::plain(
            "objstore_puts_per_checkpoint",
            per_checkpoint.0,
            "requests",
            &format!(
                "PUTs per checkpoint published in the arrival run (GETs and LISTs: {:.1})",
                per_checkpoint.1
            ),
        ),
        BenchResult::plain(
            "objstore_bytes_stored_per_leaf",
            stored[0],
            "bytes",
            "every object under the prefix after the arrival run, per leaf, partial tiles kept",
        ),
        BenchResult::plain(
            "objstore_bytes_stored_per_leaf_collected",
            stored[1],
            "bytes",
            "the same with [log] collect_partials = true",
        ),
    ])
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn store(endpoint: &str) -> Result<Arc<dyn ObjectStore>> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(BUCKET)
        .with_endpoint(endpoint)
        .with_allow_http(endpoint.starts_with("http://"));
    if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
        builder = builder
            .with_access_key_id("corridor-bench")
            .with_secret_access_key("corridor-bench-secret")
            .with_region("us-east-1");
    }
    Ok(Arc::new(builder.build()?))
}

/// Creates the bucket on moto (unsigned); a server given by
/// `CORRIDOR_BENCH_S3` must have it already.
fn create_bucket(endpoint: &str) -> Result<()> {
    match ureq::put(&format!("{endpoint}/{BUCKET}")).send_empty() {
        Ok(_) | Err(ureq::Error::StatusCode(409)) => Ok(()),
        Err(_) if std::env::var("CORRIDOR_BENCH_S3").is_ok() => Ok(()),
        Err(error) => Err(anyhow!("creating bucket {BUCKET} at {endpoint}: {error}")),
    }
}

/// PUTs every object under `prefix`, `CONCURRENCY` at a time; the seconds taken.
fn raw_puts(endpoint: &str, prefix: &str, objects: Vec<(String, Vec<u8>)>) -> Result<f64> {
    let store = store(endpoint)?;
    let runtime = runtime()?;
    let started = Instant::now();
    runtime.block_on(async move {
        let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (path, bytes) in objects {
            let store = Arc::clone(&store);
            let permits = Arc::clone(&permits);
            let key = ObjectPath::from(format!("{prefix}/{path}"));
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                store.put(&key, PutPayload::from(bytes)).await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined??;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(started.elapsed().as_secs_f64())
}

/// The bytes of every object under `prefix`.
fn bucket_bytes(endpoint: &str, prefix: &str) -> Result<u64> {
    let store = store(endpoint)?;
    let runtime = runtime()?;
    let prefix = ObjectPath::from(prefix);
    runtime.block_on(async move {
        use futures_util::TryStreamExt as _;
        let objects: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
        Ok(objects.iter().map(|object| object.size).sum())
    })
}

/// Leaves that grow while they are integrated.
#[derive(Default)]
struct Arriving {
    leaves: Mutex<Vec<Vec<u8>>>,
}

impl LeafSource for Arriving {
    fn leaf_count(&self) -> Result<u64, StoreError> {
        Ok(self.leaves.lock().map_or(0, |leaves| leaves.len() as u64))
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let leaves = self
            .leaves
            .lock()
            .map_err(|_| StoreError::Disconnected("the arriving leaves' lock is poisoned"))?;
        let end = (end as usize).min(leaves.len());
        let start = (start as usize).min(end);
        Ok(leaves[start..end].to_vec())
    }
}

/// Batches of 20 leaves arrive every 10 ms for `seconds` while `log` is
/// integrated at most once a second; returns each batch's milliseconds
/// from arrival to a checkpoint covering it, the final tree size, and how
/// many checkpoints were published.
fn arrivals(log: &ObjectLog, signer: &SignerKey, seconds: u64) -> Result<(Vec<f64>, u64, u64)> {
    const BATCH: u64 = 20;
    let source = Arriving::default();
    let acked: Mutex<Vec<(u64, Instant)>> = Mutex::default();
    let done = AtomicBool::new(false);
    let mut latencies = Vec::new();
    let mut tree_size = 0;
    let mut checkpoints = 0;
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(|| {
            let until = Instant::now() + Duration::from_secs(seconds);
            let mut next: u64 = 0;
            while Instant::now() < until {
                if let (Ok(mut leaves), Ok(mut acked)) = (source.leaves.lock(), acked.lock()) {
                    leaves.extend((next..next + BATCH).map(crate::log::leaf));
                    next += BATCH;
                    acked.push((next, Instant::now()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            done.store(true, Ordering::SeqCst);
        });
        loop {
            let finished = done.load(Ordering::SeqCst);
            let started = Instant::now();
            let integration = integrate(&source, log, signer).context("integrating arrivals")?;
            tree_size = integration.tree_size;
            if integration.tree_size > integration.previous_size {
                checkpoints += 1;
            }
            let published = Instant::now();
            if let Ok(mut acked) = acked.lock() {
                acked.retain(|(end, at)| {
                    if *end <= tree_size {
                        latencies.push((published - *at).as_secs_f64() * 1000.0);
                        false
                    } else {
                        true
                    }
                });
            }
            if finished {
                return Ok(());
            }
            std::thread::sleep(Duration::from_secs(1).saturating_sub(started.elapsed()));
        }
    })?;
    Ok((latencies, tree_size, checkpoints))
}
