//! The HTTP write path under load: batches of 1,000 records posted on
//! loopback to an in-process `corridor-server` (durable acks, a signed
//! checkpoint every second), against the in-process import rate of the same
//! records measured in the same run. Also the time from each acknowledgement
//! to the first signed checkpoint that includes it (p50, p99), and the same
//! for records signed by their observer.
//!
//! The load generator is a plain HTTP/1.1 client over `std::net::TcpStream`
//! with keep-alive, so the figure measures the server, not a client library.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corridor_engine::{Config, DataDir, Writer};
use corridor_model::Location;
use corridor_server::{Role, Server, ServerOptions};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

use crate::generate;
use crate::ingest::PhaseMemory;
use crate::report::BenchResult;

/// Records per request, as the target is stated.
pub(crate) const BATCH: usize = 1_000;
/// Concurrent client connections.
const CLIENTS: usize = 4;

/// One keep-alive HTTP/1.1 connection.
pub(crate) struct Connection {
    reader: BufReader<TcpStream>,
    address: SocketAddr,
}

impl Connection {
    pub(crate) fn open(address: SocketAddr) -> Result<Connection> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            reader: BufReader::new(stream),
            address,
        })
    }

    /// Sends one request (with no `Authorization` if `token` is empty) and
    /// returns the status and body.
    pub(crate) fn request(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>)> {
        let authorization = if token.is_empty() {
            String::new()
        } else {
            format!("Authorization: Bearer {token}\r\n")
        };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.address,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length = 0_usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().context("bad content-length")?;
            }
        }
        let mut body = vec![0_u8; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, body))
    }
}

/// A `corridor serve` in this process, on a loopback port, with limits
/// raised so that only the server's own work paces the load.
pub(crate) struct BenchServer {
    runtime: tokio::runtime::Runtime,
    server: Server,
    pub(crate) address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), corridor_server::ServerError>>,
}

impl BenchServer {
    /// Starts serving the data directory at `root`.
    pub(crate) fn start(root: &Path) -> Result<BenchServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let server = Server::start(
            DataDir::open(root)?,
            ServerOptions {
                rate_per_second: 1e9,
                rate_burst: 1e9,
                ..ServerOptions::default()
            },
        )?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let address = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = runtime.spawn(corridor_server::serve(listener, server.router(), async {
            let _ = stopped.await;
        }));
        Ok(BenchServer {
            runtime,
            server,
            address,
            stop,
            serving,
        })
    }

    /// Stops serving, then shuts the server down (its final checkpoint included).
    pub(crate) fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.runtime
            .block_on(self.serving)
            .context("the server task")?
            .context("serving")?;
        self.runtime.block_on(self.server.shutdown())?;
        Ok(())
    }
}

/// Acknowledged batches waiting for a checkpoint: (leaf end, acknowledged at).
type Acks = Arc<Mutex<Vec<(u64, Instant)>>>;

/// Polls the published checkpoint and turns acknowledgements into latencies.
fn watch_checkpoints(
    data_dir: &DataDir,
    acks: &Acks,
    stop: &AtomicBool,
    latencies: &Mutex<Vec<f64>>,
) {
    let Ok(log) = data_dir.log() else {
        return;
    };
    let reader = corridor_log::LogReader::new(log);
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        if let Ok(published) = reader.latest() {
            let size = published.checkpoint.tree_size;
            let seen = Instant::now();
            if let (Ok(mut acks), Ok(mut latencies)) = (acks.lock(), latencies.lock()) {
                acks.retain(|(end, at)| {
                    if *end <= size {
                        latencies.push(seen.duration_since(*at).as_secs_f64());
                        false
                    } else {
                        true
                    }
                });
                if stopping && acks.is_empty() {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(crate) fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let position = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[position.min(sorted.len() - 1)]
}

pub(crate) struct LoadRun {
    pub(crate) records_per_second: f64,
    /// Seconds from a batch's acknowledgement to the first checkpoint covering it.
    pub(crate) p50: f64,
    pub(crate) p99: f64,
}

/// Posts `bodies` from `CLIENTS` connections, spread over `addresses` (the
/// servers of one store) in turn; measures the rate and, from the log that
/// `data_dir` publishes, the latencies.
pub(crate) fn load(
    data_dir: &DataDir,
    addresses: &[SocketAddr],
    token: &str,
    bodies: Vec<(Vec<u8>, usize)>,
) -> Result<LoadRun> {
    let records: usize = bodies.iter().map(|(_, count)| count).sum();
    let queue = Arc::new(Mutex::new(bodies));
    let acks: Acks = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let watcher = {
        let (data_dir, acks, stop, latencies) = (
            DataDir::open(data_dir.root())?,
            Arc::clone(&acks),
            Arc::clone(&stop),
            Arc::clone(&latencies),
        );
        std::thread::spawn(move || watch_checkpoints(&data_dir, &acks, &stop, &latencies))
    };
    anyhow::ensure!(!addresses.is_empty(), "no server to load");
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let address = addresses[client % addresses.len()];
        let (queue, acks, failures, token) = (
            Arc::clone(&queue),
            Arc::clone(&acks),
            Arc::clone(&failures),
            token.to_string(),
        );
        clients.push(std::thread::spawn(move || -> Result<()> {
            let mut connection = Connection::open(address)?;
            loop {
                let Some((body, _)) = queue.lock().ok().and_then(|mut queue| queue.pop()) else {
                    return Ok(());
                };
                let (status, answer) =
                    connection.request("POST", "/api/v1/records", &token, &body)?;
                let acknowledged = Instant::now();
                if status != 201 {
                    failures.fetch_add(1, Ordering::Relaxed);
                    eprintln!("http bench: {status} {}", String::from_utf8_lossy(&answer));
                    continue;
                }
                let answer: Value = serde_json::from_slice(&answer)?;
                let end = answer["receipts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|receipt| receipt["leaf_index"].as_u64())
                    .max()
                    .map_or(0, |last| last + 1);
                if let Ok(mut acks) = acks.lock() {
                    acks.push((end, acknowledged));
                }
            }
        }));
    }
    for client in clients {
        client
            .join()
            .map_err(|_| anyhow::anyhow!("a load client panicked"))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    watcher
        .join()
        .map_err(|_| anyhow::anyhow!("the checkpoint watcher panicked"))?;
    if failures.load(Ordering::Relaxed) > 0 {
        bail!("{} batches were refused", failures.load(Ordering::Relaxed));
    }
    let mut latencies = latencies
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    latencies.sort_by(f64::total_cmp);
    Ok(LoadRun {
        records_per_second: records as f64 / seconds,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
    })
}

/// The in-process import rate of `passages` (what `corridor add` does), the baseline.
fn import_rate(scratch: &Path, passages: &[Value]) -> Result<f64> {
    let root = scratch.join("http-import-baseline");
    let _ = std::fs::remove_dir_all(&root);
    let data_dir = DataDir::init(&root, Config::new("bench.invalid/http-baseline"))?;
    let mut writer = data_dir.writer("bench http baseline")?;
    let mut sites = generate::sites().into_iter();
    writer
        .submit_all(
            sites
                .by_ref()
                .enumerate()
                .filter_map(|(index, site)| match site {
                    Value::Object(object) => Some(Ok((Location::Item(index as u64), object))),
                    _ => None,
                }),
            |_| {},
            |_| {},
        )
        .map_err(|failure| anyhow::anyhow!("{failure}"))?;
    let started = Instant::now();
    let items = passages
        .iter()
        .enumerate()
        .filter_map(|(index, record)| match record {
            Value::Object(object) => Some(Ok((Location::Item(index as u64), object.clone()))),
            _ => None,
        });
    let summary = writer
        .submit_all(items, |_| {}, |_| {})
        .map_err(|failure| anyhow::anyhow!("{failure}"))?;
    data_dir.integrate_log(&writer)?;
    Ok(summary.stored as f64 / started.elapsed().as_secs_f64())
}

/// Signs each passage's public form (computed by a scratch writer that
/// knows the sites, as an observer's client would with `records/prepare`).
fn signed_envelopes(passages: &[Value]) -> Result<Vec<Value>> {
    let mut writer = Writer::new(
        Box::new(corridor_store::MemoryStore::new()),
        Config::new("bench.invalid/sign"),
        Vec::new(),
        None,
    );
    for (index, site) in generate::sites().into_iter().enumerate() {
        if let Value::Object(object) = site {
            writer
                .stage(Location::Item(index as u64), &object)
                .map_err(|error| anyhow::anyhow!("{error}"))?;
        }
    }
    writer.commit()?;
    let signer = SigningKey::from_bytes(&[7; 32]);
    let key = BASE64.encode(signer.verifying_key().to_bytes());
    passages
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let Value::Object(object) = record else {
                bail!("not an object");
            };
            let public = writer
                .public_form(Location::Item(index as u64), object)
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            let message = corridor_server::observer_message(&public).map_err(anyhow::Error::msg)?;
            let signature = signer.sign(&message);
            Ok(json!({"record": record, "observer_sig": {"key": key, "sig": BASE64.encode(signature.to_bytes())}}))
        })
        .collect()
}

/// Posts the generated sites to the server at `address`, as the passages
/// that follow need them.
pub(crate) fn submit_sites(address: SocketAddr, token: &str) -> Result<()> {
    let mut connection = Connection::open(address)?;
    let (status, answer) = connection.request(
        "POST",
        "/api/v1/records",
        token,
        &serde_json::to_vec(&generate::sites())?,
    )?;
    anyhow::ensure!(
        status == 201,
        "sites refused: {status} {}",
        String::from_utf8_lossy(&answer)
    );
    Ok(())
}

pub(crate) fn batches(items: &[Value]) -> Result<Vec<(Vec<u8>, usize)>> {
    let mut bodies: Vec<(Vec<u8>, usize)> = items
        .chunks(BATCH)
        .map(|chunk| Ok((serde_json::to_vec(chunk)?, chunk.len())))
        .collect::<Result<_>>()?;
    // Clients pop from the end: keep submission order.
    bodies.reverse();
    Ok(bodies)
}

pub fn run(scratch: &Path, records: u64, signed_records: u64) -> Result<Vec<BenchResult>> {
    let passages: Vec<Value> = (0..records)
        .map(|index| generate::passage(index, records))
        .collect();
    let baseline_rate = import_rate(scratch, &passages)?;
    let signed: Vec<Value> = (0..signed_records)
        .map(|index| {
            let mut record = generate::passage(index, signed_records);
            record["id"] = json!(format!("s-{index:09}"));
            record
        })
        .collect();
    let envelopes = signed_envelopes(&signed)?;
    // The request bodies are built before the server starts, so that the
    // memory the server phase adds is the server's (and the few buffers of
    // the load clients), not the test data's.
    let unsigned_bodies = batches(&passages)?;
    let signed_bodies = batches(&envelopes)?;
    drop(envelopes);
    let memory = PhaseMemory::start();

    let root = scratch.join("http-store");
    let _ = std::fs::remove_dir_all(&root);
    let data_dir = DataDir::init(&root, Config::new("bench.invalid/http"))?;
    let token =
        corridor_server::create_token(&mut data_dir.open_store()?, "bench", Role::Admin)?.token;
    let server = BenchServer::start(&root)?;
    let address = server.address;

    submit_sites(address, &token)?;
    let unsigned = load(&data_dir, &[address], &token, unsigned_bodies)?;
    let signed_run = load(&data_dir, &[address], &token, signed_bodies)?;

    server.stop()?;
    let server_peak = memory.growth_megabytes();

    let baseline = "in-process import of the same passages through Writer::submit_all (what `corridor add` does), measured in this run";
    Ok(vec![
        BenchResult::plain(
            "http_ingest_records_per_s",
            unsigned.records_per_second,
            "records/s",
            "POST /api/v1/records, 1,000 unsigned records per request, 4 keep-alive connections on loopback, durable acks, checkpoint every 1 s (target >= 50,000)",
        ),
        BenchResult::ratio(
            "http_vs_import_ratio",
            unsigned.records_per_second,
            baseline,
            baseline_rate,
            0.5,
        ),
        BenchResult::plain(
            "ack_to_checkpoint_p50_ms",
            unsigned.p50 * 1000.0,
            "ms",
            "time from a batch's acknowledgement over HTTP to the first signed checkpoint that includes it, checkpoints every 1 s",
        ),
        BenchResult::plain(
            "ack_to_checkpoint_p99_ms",
            unsigned.p99 * 1000.0,
            "ms",
            "as ack_to_checkpoint_p50_ms; target < 1,500 ms with checkpoints every second",
        ),
        BenchResult::plain(
            "http_signed_records_per_s",
            signed_run.records_per_second,
            "records/s",
            "as http_ingest_records_per_s, every record signed by its observer (Ed25519, verified by the server)",
        ),
        BenchResult::plain(
            "signed_ack_to_checkpoint_p99_ms",
            signed_run.p99 * 1000.0,
            "ms",
            "as ack_to_checkpoint_p99_ms, for signed records",
        ),
        BenchResult::plain(
            "peak_rss_mb_server",
            server_peak,
            "MiB",
            "how far the peak resident memory rose (Linux VmHWM, reset through /proc/self/clear_refs, minus VmRSS at that moment) while the in-process server started, took both loads and shut down",
        ),
    ])
}
