//! Corridor on PostgreSQL: real `corridor serve` processes sharing one
//! database and one log, against plain multi-row INSERTs of the same rows
//! into the same cluster in the same run.
//!
//! The cluster is a throwaway one this runner starts
//! (`corridor_store::postgres::cluster::Cluster`, as the tests do), or the
//! server named by `CORRIDOR_BENCH_POSTGRES` (a `postgres://` URL whose
//! user may create databases); every deployment gets a database of its
//! own. The servers are the `corridor` binary found beside this runner (or
//! at `CORRIDOR_BENCH_CORRIDOR`). Without a PostgreSQL or without the
//! binary, every figure is reported missing, which counts as unmet.
//!
//! - `pg_ingest_records_per_s`: batches of 1,000 records posted on loopback
//!   to one server; `pg_ingest_records_per_s_2_servers` the same spread over
//!   two servers of one database.
//! - `pg_raw_insert_rows_per_s`: the rows the one-server run stored for its
//!   records (`records`, `current_records`, `passages`, `passage_cargo`,
//!   `passage_attributes`, `private_parts`, `submissions`), inserted again
//!   into a scratch schema made by the store's own `CREATE TABLE`s
//!   (`corridor_store::postgres::TABLES`, with every index), one transaction
//!   of one multi-row INSERT per table per 1,000 records; the floor, as
//!   plain SQLite inserts are for the import. Not in it: the rollups and the
//!   sequencer row, which are the store's own work beside the rows.
//! - `pg_ingest_vs_raw_ratio`: the one-server rate against that floor.
//! - `pg_ack_to_checkpoint_p50_ms`, `_p99_ms`: from a batch's acknowledgement
//!   in the one-server run to the first signed checkpoint covering it.
//! - `pg_takeover_p50_ms`, `_p99_ms`: two servers with a 1 s integrator
//!   lease; the integrating one is killed (SIGKILL) at a varying point of its
//!   rounds, one record is sent to the other, and the time runs until that
//!   one says it integrates and publishes a checkpoint covering the record.
//!   The killed server is started again before the next round.
//! - `pg_dashboard_ms`: the dashboard's 43-day page over a PostgreSQL store
//!   holding as many passages as the SQLite `dashboard_ms` (the runner puts
//!   that figure beside this one when both ran).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use corridor_engine::{Config, DataDir};
use corridor_store::postgres::cluster::{Cluster, ClusterError};
use postgres::types::{ToSql, Type};
use serde_json::{Value, json};

use crate::generate;
use crate::http::{self, BATCH, Connection, percentile};
use crate::report::BenchResult;

/// The integrator lease the servers run with (`corridor serve --lease-ms`):
/// short, so that a takeover is measured in about a second plus the work.
const LEASE_MS: u64 = 1_000;
/// How often the integrating server signs a checkpoint while records
/// arrive (`--checkpoint-interval`), as `corridor serve` does by default.
const CHECKPOINT_INTERVAL_MS: u64 = 1_000;
const ORIGIN: &str = "bench.invalid/postgres";
/// The schema the raw baseline writes into, beside the store's tables.
const RAW_SCHEMA: &str = "raw_floor";
/// The tables the raw baseline fills, in the order a record's rows go in:
/// every table that holds rows of the records themselves, with how to find
/// the leaf each row belongs to. Left out are the rollups (sums the store
/// keeps beside the rows) and the sequencer row, which are what the store
/// adds to plain inserts.
const RAW_TABLES: [(&str, &str); 7] = [
    ("records", "t.leaf_index"),
    ("current_records", "t.leaf_index"),
    ("passages", "t.leaf_index"),
    ("passage_cargo", "t.leaf_index"),
    ("passage_attributes", "t.leaf_index"),
    ("private_parts", "t.leaf_index"),
    (
        "submissions",
        "(SELECT r.leaf_index FROM public.records r WHERE r.id = t.record_id)",
    ),
];
/// The least number of takeovers the target is stated for.
const LEAST_TAKEOVERS: usize = 20;

/// What the section measures at a scale.
#[derive(Debug, Clone, Copy)]
pub struct PostgresSizes {
    /// Records posted in each ingest run.
    pub ingest_records: u64,
    /// Kills of the integrating server.
    pub takeovers: usize,
    /// Passages in the dashboard's store.
    pub dashboard_passages: u64,
}

/// Every figure of this section, with its unit, for a run that cannot measure.
const FIGURES: [(&str, &str); 10] = [
    ("pg_ingest_records_per_s", "records/s"),
    ("pg_ingest_records_per_s_2_servers", "records/s"),
    ("pg_raw_insert_rows_per_s", "records/s"),
    ("pg_ingest_vs_raw_ratio", "ratio"),
    ("pg_ack_to_checkpoint_p50_ms", "ms"),
    ("pg_ack_to_checkpoint_p99_ms", "ms"),
    ("pg_takeover_p50_ms", "ms"),
    ("pg_takeover_p99_ms", "ms"),
    ("pg_takeovers", "takeovers"),
    ("pg_dashboard_ms", "ms"),
];

fn missing(reason: &str) -> Vec<BenchResult> {
    BenchResult::missing(&FIGURES, reason)
}

/// Runs the PostgreSQL benchmarks.
///
/// # Errors
///
/// A deployment that does not start, a refused submission, a takeover that
/// does not come within a minute, or a failed statement, on a PostgreSQL
/// that is there. No PostgreSQL or no `corridor` binary is not an error: the
/// figures are reported missing.
pub fn run(scratch: &Path, sizes: PostgresSizes) -> Result<Vec<BenchResult>> {
    let corridor = match corridor_binary() {
        Ok(path) => path,
        Err(reason) => return Ok(missing(&reason)),
    };
    let Some(databases) = Databases::find()? else {
        return Ok(missing(
            "no PostgreSQL: install it (initdb on PATH or in /usr/lib/postgresql/*/bin) or set CORRIDOR_BENCH_POSTGRES to a server's URL",
        ));
    };
    let passages: Vec<Value> = (0..sizes.ingest_records)
        .map(|index| generate::passage(index, sizes.ingest_records))
        .collect();

    // One server: the ingest rate, its floor, and ack-to-checkpoint.
    let (mut one, one_run) =
        Deployment::load(&databases, &corridor, &scratch.join("pg-one"), 1, &passages)?;
    one.stop()?;
    let (raw_rows, raw_seconds) = raw_inserts(&one.url)?;
    let raw_rate = raw_rows as f64 / raw_seconds.max(1e-9);

    // Two servers of one database: the ingest rate, then the takeovers.
    let (mut two, two_run) =
        Deployment::load(&databases, &corridor, &scratch.join("pg-two"), 2, &passages)?;
    drop(passages);
    let mut takeovers = Vec::with_capacity(sizes.takeovers);
    for round in 0..sizes.takeovers {
        let took = two
            .takeover(round)
            .with_context(|| format!("takeover {round} {}", two.where_logs_are()))?;
        takeovers.push(took.as_secs_f64() * 1000.0);
    }
    two.stop()?;
    takeovers.sort_by(f64::total_cmp);

    let dashboard_url = databases.create()?;
    let dashboard_ms = dashboard(
        &scratch.join("pg-dashboard"),
        &dashboard_url,
        sizes.dashboard_passages,
    )?;

    let takeover_p50 = percentile(&takeovers, 0.5);
    let takeover_p99 = percentile(&takeovers, 0.99);
    let ack_p99 = one_run.p99 * 1000.0;
    let raw_baseline = format!(
        "the rows the one-server run stored for its records (records, current_records, passages, passage_cargo, passage_attributes, private_parts, submissions; not the rollups or the sequencer row), inserted again on one connection into a scratch schema ({RAW_SCHEMA}) of the same database with the store's CREATE TABLEs and indexes: one transaction of one multi-row INSERT per table per {BATCH} records, as the records' rows per second (records/s), measured in this run on {}",
        databases.describe()
    );
    let ingest = |servers: &str| {
        format!(
            "POST /api/v1/records to {servers} (`corridor serve` processes, one PostgreSQL database, one log directory), {BATCH} unsigned records per request, 4 keep-alive connections on loopback, durable acks, checkpoint every {CHECKPOINT_INTERVAL_MS} ms, on {}",
            databases.describe()
        )
    };
    Ok(vec![
        BenchResult::plain(
            "pg_ingest_records_per_s",
            one_run.records_per_second,
            "records/s",
            &ingest("one server"),
        ),
        BenchResult::plain(
            "pg_ingest_records_per_s_2_servers",
            two_run.records_per_second,
            "records/s",
            &ingest("two servers, two connections each"),
        ),
        BenchResult::plain(
            "pg_raw_insert_rows_per_s",
            raw_rate,
            "records/s",
            &raw_baseline,
        ),
        BenchResult::ratio(
            "pg_ingest_vs_raw_ratio",
            one_run.records_per_second,
            &raw_baseline,
            raw_rate,
            0.5,
        ),
        BenchResult::plain(
            "pg_ack_to_checkpoint_p50_ms",
            one_run.p50 * 1000.0,
            "ms",
            "in the one-server run, from a batch's acknowledgement to the first signed checkpoint in the log directory that covers its last leaf",
        ),
        BenchResult::plain(
            "pg_ack_to_checkpoint_p99_ms",
            ack_p99,
            "ms",
            "as pg_ack_to_checkpoint_p50_ms",
        )
        .at_most(1500.0),
        BenchResult::plain(
            "pg_takeover_p50_ms",
            takeover_p50,
            "ms",
            &format!(
                "two servers, --lease-ms {LEASE_MS}, --checkpoint-interval {CHECKPOINT_INTERVAL_MS}: from SIGKILL of the integrating server to the other reporting \"integrating\" in /healthz with a checkpoint covering a record it acknowledged after the kill; the killed server restarted each round; {} takeovers",
                takeovers.len()
            ),
        ),
        BenchResult {
            target: Some(format!("<= 5000 over >= {LEAST_TAKEOVERS}")),
            met: Some(takeover_p99 <= 5000.0 && takeovers.len() >= LEAST_TAKEOVERS),
            ..BenchResult::plain(
                "pg_takeover_p99_ms",
                takeover_p99,
                "ms",
                &format!(
                    "as pg_takeover_p50_ms (slowest of {}: {:.0} ms)",
                    takeovers.len(),
                    takeovers.last().copied().unwrap_or(f64::NAN)
                ),
            )
        },
        BenchResult::plain(
            "pg_takeovers",
            takeovers.len() as f64,
            "takeovers",
            "how many takeovers the pg_takeover figures are taken from",
        )
        .at_least(LEAST_TAKEOVERS as f64),
        BenchResult::plain(
            "pg_dashboard_ms",
            dashboard_ms,
            "ms",
            &format!(
                "GET {} (median of 7, no token) from `corridor serve` in this process over a PostgreSQL store of {} passages (the target is for 10M, `--scale full`)",
                crate::dashboard::PAGE,
                sizes.dashboard_passages
            ),
        )
        .below(100.0),
    ])
}

/// Puts the SQLite `dashboard_ms` beside `pg_dashboard_ms` when both ran:
/// its value is the baseline, and the ratio is SQLite's time over PostgreSQL's.
pub fn compare_dashboards(results: &mut [BenchResult]) {
    let Some(sqlite_ms) = results
        .iter()
        .find(|result| result.name == "dashboard_ms")
        .map(|result| result.value)
    else {
        return;
    };
    if let Some(postgres) = results
        .iter_mut()
        .find(|result| result.name == "pg_dashboard_ms" && !result.baseline.starts_with("MISSING"))
    {
        postgres.baseline_value = Some(sqlite_ms);
        postgres.ratio = Some(sqlite_ms / postgres.value.max(1e-9));
        postgres.baseline.push_str(
            "; baseline and ratio: the SQLite dashboard_ms of this run, and its time over this one",
        );
    }
}

/// The `corridor` binary: `CORRIDOR_BENCH_CORRIDOR`, else the one beside
/// this runner (`target/release/corridor` for a release runner). The error
/// is the reason the figures are missing.
fn corridor_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("CORRIDOR_BENCH_CORRIDOR") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "CORRIDOR_BENCH_CORRIDOR is {}, which is not a file",
                path.display()
            ))
        };
    }
    let beside = std::env::current_exe()
        .map_err(|error| format!("cannot find this runner's own path: {error}"))?
        .with_file_name("corridor");
    if beside.is_file() {
        Ok(beside)
    } else {
        Err(format!(
            "no corridor binary at {}: build it with the runner (`cargo build --release -p corridor`) or set CORRIDOR_BENCH_CORRIDOR",
            beside.display()
        ))
    }
}

/// Where the section's databases come from.
enum Databases {
    /// A throwaway cluster of this process (stopped when the process ends).
    Cluster(Cluster),
    /// `CORRIDOR_BENCH_POSTGRES`, and the databases made there, dropped
    /// when this is.
    Server(String, std::cell::RefCell<Vec<String>>),
}

impl Drop for Databases {
    fn drop(&mut self) {
        let Databases::Server(url, created) = self else {
            return;
        };
        let created = created.take();
        if created.is_empty() {
            return;
        }
        let dropped = postgres::Client::connect(url, postgres::NoTls).and_then(|mut client| {
            created.iter().try_for_each(|name| {
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            })
        });
        if let Err(error) = dropped {
            eprintln!(
                "warning: the benchmark databases {} on CORRIDOR_BENCH_POSTGRES were not all dropped: {error}",
                created.join(", ")
            );
        }
    }
}

impl Databases {
    /// `CORRIDOR_BENCH_POSTGRES`, else a new throwaway cluster; `None` when
    /// neither is there.
    fn find() -> Result<Option<Databases>> {
        if let Ok(url) = std::env::var("CORRIDOR_BENCH_POSTGRES") {
            database_url(&url, "postgres").map_err(|reason| {
                anyhow!("CORRIDOR_BENCH_POSTGRES: {url:?} is not usable: {reason}")
            })?;
            return Ok(Some(Databases::Server(url, Default::default())));
        }
        match Cluster::start() {
            Ok(cluster) => Ok(Some(Databases::Cluster(cluster))),
            Err(ClusterError::NotInstalled) => Ok(None),
            Err(error) => Err(anyhow!("starting a throwaway PostgreSQL cluster: {error}")),
        }
    }

    /// Creates a new, empty database and returns its URL.
    fn create(&self) -> Result<String> {
        match self {
            Databases::Cluster(cluster) => Ok(cluster.create_database()?),
            Databases::Server(url, created) => {
                let name = format!(
                    "corridor_bench_{}_{}",
                    std::process::id(),
                    jiff::Timestamp::now().as_nanosecond()
                );
                let mut client = postgres::Client::connect(url, postgres::NoTls)
                    .with_context(|| "connecting to CORRIDOR_BENCH_POSTGRES".to_string())?;
                client
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .with_context(|| {
                        format!("CREATE DATABASE {name} on CORRIDOR_BENCH_POSTGRES")
                    })?;
                created.borrow_mut().push(name.clone());
                database_url(url, &name)
                    .map_err(|reason| anyhow!("CORRIDOR_BENCH_POSTGRES: {reason}"))
            }
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Databases::Cluster(_) => {
                "a throwaway cluster this runner started (unix socket, fsync on, default settings)"
            }
            Databases::Server(..) => "the server CORRIDOR_BENCH_POSTGRES names",
        }
    }
}

/// `url` with its database (the path after the host) replaced by `name`.
fn database_url(url: &str, name: &str) -> Result<String, String> {
    let Some(scheme_end) = ["postgres://", "postgresql://"]
        .iter()
        .find(|scheme| url.starts_with(**scheme))
        .map(|scheme| scheme.len())
    else {
        return Err("it does not start with postgres:// or postgresql://".into());
    };
    let rest = &url[scheme_end..];
    let query_at = rest.find('?').unwrap_or(rest.len());
    let authority_end = rest[..query_at].find('/').unwrap_or(query_at);
    Ok(format!(
        "{}{}/{name}{}",
        &url[..scheme_end],
        &rest[..authority_end],
        &rest[query_at..]
    ))
}

/// A `corridor serve` process, killed when dropped.
struct ServerProcess {
    child: Child,
    address: SocketAddr,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Servers sharing one database and one log: the first made the log and its
/// key, the others joined it (`corridor init --key ... --log-url ...`).
struct Deployment {
    /// The database the servers share.
    url: String,
    corridor: PathBuf,
    home: PathBuf,
    directories: Vec<PathBuf>,
    servers: Vec<Option<ServerProcess>>,
    token: String,
}

impl Deployment {
    fn new(corridor: &Path, home: &Path, url: &str, count: usize) -> Result<Deployment> {
        let _ = std::fs::remove_dir_all(home);
        std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
        let directories: Vec<PathBuf> = (0..count)
            .map(|which| home.join(format!("server-{which}")))
            .collect();
        let mut deployment = Deployment {
            url: url.to_owned(),
            corridor: corridor.to_path_buf(),
            home: home.to_path_buf(),
            directories,
            servers: (0..count).map(|_| None).collect(),
            token: String::new(),
        };
        let first = deployment.directories[0].display().to_string();
        deployment
            .corridor_succeeds(&["--data", &first, "--store", url, "init", "--origin", ORIGIN])?;
        let key = format!("{first}/keys/log.key");
        let log = format!("{first}/log");
        for which in 1..count {
            let joining = deployment.directories[which].display().to_string();
            deployment.corridor_succeeds(&[
                "--data",
                &joining,
                "--store",
                url,
                "init",
                "--key",
                &key,
                "--log-url",
                &log,
            ])?;
        }
        deployment.token = deployment
            .corridor_succeeds(&[
                "--data", &first, "token", "create", "--name", "bench", "--role", "admin",
            ])?
            .trim()
            .to_string();
        for which in 0..count {
            deployment.start(which)?;
        }
        Ok(deployment)
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.corridor);
        command
            .env_remove("CORRIDOR_DATA")
            .env_remove("CORRIDOR_STORE")
            .env_remove("CORRIDOR_LOG")
            .env_remove("CORRIDOR_WITNESS_DIR")
            .stdin(Stdio::null());
        command
    }

    /// Runs one `corridor` command to its end; its standard output.
    fn corridor_succeeds(&self, arguments: &[&str]) -> Result<String> {
        let output = self
            .command()
            .args(arguments)
            .output()
            .with_context(|| format!("running {}", self.corridor.display()))?;
        if !output.status.success() {
            bail!(
                "corridor {arguments:?} exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn stderr_path(&self, which: usize) -> PathBuf {
        self.home.join(format!("server-{which}.stderr"))
    }

    fn where_logs_are(&self) -> String {
        format!(
            "(servers' stderr in {}/server-N.stderr)",
            self.home.display()
        )
    }

    /// Starts server `which` on a free loopback port, with the rate limit
    /// raised so that only the servers' own work paces the load.
    fn start(&mut self, which: usize) -> Result<()> {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path(which))?;
        let mut child = self
            .command()
            .arg("--data")
            .arg(&self.directories[which])
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--checkpoint-interval",
                &CHECKPOINT_INTERVAL_MS.to_string(),
                "--lease-ms",
                &LEASE_MS.to_string(),
                "--rate-limit",
                "1000000000",
            ])
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", self.corridor.display()))?;
        let stdout = child.stdout.take().context("no standard output")?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line);
        // The banner's other lines, and anything after, are read and dropped,
        // so the server never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let address = read.ok().and_then(|_| {
            line.trim()
                .rsplit(' ')
                .next()
                .and_then(|url| url.strip_prefix("http://"))
                .and_then(|address| address.parse::<SocketAddr>().ok())
        });
        let server = ServerProcess {
            child,
            address: address.unwrap_or(SocketAddr::from(([0; 4], 0))),
        };
        if address.is_none() {
            drop(server);
            bail!(
                "server {which} printed no address ({line:?}); its standard error:\n{}",
                std::fs::read_to_string(self.stderr_path(which)).unwrap_or_default()
            );
        }
        self.servers[which] = Some(server);
        Ok(())
    }

    fn addresses(&self) -> Vec<SocketAddr> {
        self.servers
            .iter()
            .flatten()
            .map(|server| server.address)
            .collect()
    }

    fn address(&self, which: usize) -> Result<SocketAddr> {
        self.servers[which]
            .as_ref()
            .map(|server| server.address)
            .ok_or_else(|| anyhow!("server {which} is not running"))
    }

    /// Starts a deployment of `count` servers on a new database, posts the
    /// sites and then `passages` in batches, spread over the servers.
    fn load(
        databases: &Databases,
        corridor: &Path,
        home: &Path,
        count: usize,
        passages: &[Value],
    ) -> Result<(Deployment, http::LoadRun)> {
        let url = databases.create()?;
        let deployment = Deployment::new(corridor, home, &url, count)?;
        http::submit_sites(deployment.address(0)?, &deployment.token)?;
        let run = http::load(
            &DataDir::open(&deployment.directories[0])?,
            &deployment.addresses(),
            &deployment.token,
            http::batches(passages)?,
        )
        .with_context(|| format!("loading {count} server(s) on PostgreSQL"))?;
        Ok((deployment, run))
    }

    /// Waits until exactly one live server says in `/healthz` that it
    /// integrates; returns it.
    fn integrator(&self, limit: Duration) -> Result<usize> {
        let deadline = Instant::now() + limit;
        loop {
            let integrating: Vec<usize> = (0..self.servers.len())
                .filter(|&which| {
                    self.address(which)
                        .ok()
                        .and_then(|address| health(address).ok())
                        .is_some_and(|health| health["integrating"] == true)
                })
                .collect();
            if let [one] = integrating.as_slice() {
                return Ok(*one);
            }
            if Instant::now() > deadline {
                bail!(
                    "no single integrating server within {limit:?}: {integrating:?} say they integrate"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One takeover: kills the integrating server at a point of its rounds
    /// that varies with `round`, sends one record to the other, and returns
    /// the time from the kill until that one integrates and has published a
    /// checkpoint covering the record. Starts the killed server again.
    fn takeover(&mut self, round: usize) -> Result<Duration> {
        let leader = self.integrator(Duration::from_secs(60))?;
        let survivor = (leader + 1) % self.servers.len();
        let survivor_address = self.address(survivor)?;
        // Spread the kills over the leader's checkpoint interval: while it
        // integrates, signs, renews its lease, or waits.
        std::thread::sleep(Duration::from_millis(
            (round as u64 * 379) % CHECKPOINT_INTERVAL_MS,
        ));
        let killed = Instant::now();
        if let Some(mut server) = self.servers[leader].take() {
            server
                .child
                .kill()
                .context("SIGKILL of the integrating server")?;
            let _ = server.child.wait();
        }
        let mut record = generate::passage(round as u64, 1);
        record["id"] = json!(format!("takeover-{round:04}"));
        let body = serde_json::to_vec(&json!([record]))?;
        let mut connection = Connection::open(survivor_address)?;
        let leaf = loop {
            let (status, answer) =
                connection.request("POST", "/api/v1/records", &self.token, &body)?;
            if status == 201 {
                let answer: Value = serde_json::from_slice(&answer)?;
                break answer["receipts"][0]["leaf_index"]
                    .as_u64()
                    .with_context(|| format!("no leaf_index in {answer}"))?;
            }
            anyhow::ensure!(
                status == 503 && killed.elapsed() < Duration::from_secs(60),
                "the record sent after the kill was answered {status}: {}",
                String::from_utf8_lossy(&answer)
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        loop {
            let (status, answer) = connection.request("GET", "/healthz", "", &[])?;
            if status == 200 {
                let health: Value = serde_json::from_slice(&answer)?;
                if health["integrating"] == true
                    && health["tree_size"].as_u64().is_some_and(|size| size > leaf)
                {
                    break;
                }
            }
            anyhow::ensure!(
                killed.elapsed() < Duration::from_secs(60),
                "no takeover within 60 s of the kill: the survivor says {}",
                String::from_utf8_lossy(&answer)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let took = killed.elapsed();
        self.start(leader)?;
        Ok(took)
    }

    /// Stops every server with SIGTERM (each publishes what it holds), and
    /// kills one that does not stop within 30 s.
    fn stop(&mut self) -> Result<()> {
        for (which, server) in self.servers.iter_mut().enumerate() {
            let Some(mut server) = server.take() else {
                continue;
            };
            let _ = Command::new("kill")
                .args(["-TERM", &server.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while server.child.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    bail!("server {which} did not stop within 30 s of SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

fn health(address: SocketAddr) -> Result<Value> {
    let (status, answer) = Connection::open(address)?.request("GET", "/healthz", "", &[])?;
    anyhow::ensure!(status == 200, "/healthz answered {status}");
    Ok(serde_json::from_slice(&answer)?)
}

/// One column value read back from the store, to be inserted again.
type Cell = Box<dyn ToSql + Sync>;

/// A row read back: its leaf index and its values, in column order.
type ReadRow = (i64, Vec<Cell>);

/// Reads every row of `table` from the store's schema, ordered by the leaf
/// `leaf` (an SQL expression over the row `t`) finds for it.
fn read_table(
    client: &mut postgres::Client,
    table: &str,
    leaf: &str,
) -> Result<(Vec<String>, Vec<ReadRow>)> {
    let rows = client
        .query(
            &format!("SELECT t.*, {leaf} AS floor_leaf FROM public.{table} t ORDER BY floor_leaf"),
            &[],
        )
        .with_context(|| format!("reading {table}"))?;
    let Some(first) = rows.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    // Every column but the last, the leaf the rows are ordered by.
    let width = first.columns().len() - 1;
    let columns: Vec<String> = first.columns()[..width]
        .iter()
        .map(|column| column.name().to_string())
        .collect();
    let mut read = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut cells: Vec<Cell> = Vec::with_capacity(columns.len());
        for (index, column) in row.columns()[..width].iter().enumerate() {
            let cell: Cell = match *column.type_() {
                Type::INT8 => Box::new(row.try_get::<_, Option<i64>>(index)?),
                Type::INT4 => Box::new(row.try_get::<_, Option<i32>>(index)?),
                Type::TEXT => Box::new(row.try_get::<_, Option<String>>(index)?),
                Type::BYTEA => Box::new(row.try_get::<_, Option<Vec<u8>>>(index)?),
                Type::BOOL => Box::new(row.try_get::<_, Option<bool>>(index)?),
                ref other => bail!(
                    "{table}.{}: a column of type {other} the raw baseline does not copy",
                    column.name()
                ),
            };
            cells.push(cell);
        }
        read.push((row.try_get(width)?, cells));
    }
    Ok((columns, read))
}

/// The raw baseline: the rows the store holds for its records, inserted
/// again into a scratch schema, one transaction per `BATCH` records.
/// Returns the records inserted and the seconds the inserts took.
fn raw_inserts(url: &str) -> Result<(u64, f64)> {
    let mut client = postgres::Client::connect(url, postgres::NoTls)
        .context("connecting for the raw baseline")?;
    let mut tables = Vec::new();
    for (table, leaf) in RAW_TABLES {
        tables.push((table, read_table(&mut client, table, leaf)?));
    }
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {RAW_SCHEMA}; SET search_path TO {RAW_SCHEMA}; {}",
            corridor_store::postgres::TABLES
        ))
        .context("creating the raw baseline's tables")?;
    let records = tables[0].1.1.len();
    // Where each table's rows for the next batch of records start.
    let mut next = vec![0_usize; tables.len()];
    let mut statements = std::collections::HashMap::new();
    let started = Instant::now();
    for chunk_start in (0..records).step_by(BATCH) {
        let chunk_end = (chunk_start + BATCH).min(records);
        let leaf_end = tables[0].1.1[chunk_end - 1].0 + 1;
        let mut transaction = client.transaction()?;
        for (position, (table, (columns, rows))) in tables.iter().enumerate() {
            let from = next[position];
            let to = from
                + rows[from..]
                    .iter()
                    .take_while(|(leaf, _)| *leaf < leaf_end)
                    .count();
            next[position] = to;
            if to == from {
                continue;
            }
            let key = (*table, to - from);
            if let std::collections::hash_map::Entry::Vacant(entry) = statements.entry(key) {
                entry.insert(transaction.prepare(&multi_row_insert(table, columns, to - from))?);
            }
            let parameters: Vec<&(dyn ToSql + Sync)> = rows[from..to]
                .iter()
                .flat_map(|(_, cells)| cells.iter().map(|cell| cell.as_ref()))
                .collect();
            transaction
                .execute(&statements[&key], &parameters)
                .with_context(|| format!("inserting into {RAW_SCHEMA}.{table}"))?;
        }
        transaction.commit()?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok((records as u64, seconds))
}

/// `INSERT INTO table (columns) VALUES ($1, ...), (...)` for `rows` rows.
fn multi_row_insert(table: &str, columns: &[String], rows: usize) -> String {
    let width = columns.len();
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let placeholders: Vec<String> = (1..=width)
                .map(|column| format!("${}", row * width + column))
                .collect();
            format!("({})", placeholders.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        values.join(", ")
    )
}

/// Loads `passages` into a data directory on the PostgreSQL database at
/// `url` through the writer, publishes them, and returns the median time of
/// the dashboard page, exactly as the SQLite `dashboard_ms` is taken.
fn dashboard(root: &Path, url: &str, passages: u64) -> Result<f64> {
    let mut config = Config::new(ORIGIN);
    config.store.url = Some(url.to_string());
    crate::dashboard::load_and_time_page(root, config, passages)
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn a_database_url_gets_the_new_database_wherever_the_old_one_was() {
        for (url, expected) in [
            ("postgres://u:p@db:5432/main", "postgres://u:p@db:5432/new"),
            (
                "postgresql://db/main?sslmode=require",
                "postgresql://db/new?sslmode=require",
            ),
            ("postgresql://db", "postgresql://db/new"),
            (
                "postgresql:///main?host=/tmp/x&user=corridor",
                "postgresql:///new?host=/tmp/x&user=corridor",
            ),
            ("postgres://db?user=a", "postgres://db/new?user=a"),
        ] {
            assert_eq!(database_url(url, "new").as_deref(), Ok(expected), "{url}");
        }
        assert!(database_url("host=db dbname=main", "new").is_err());
    }
}
