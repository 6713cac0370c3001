//! Several `corridor serve` processes on one PostgreSQL database, sharing
//! one log directory and one signing key, with clients submitting all the
//! while: the integrating server is killed at random points, paused and
//! woken as a zombie, and PostgreSQL itself is crashed and restarted.
//!
//! What must hold throughout: every acknowledged record is in a signed
//! checkpoint within 15 s of a kill; no two checkpoints of one size have
//! different roots, on any server or at the witness; the published
//! checkpoint never moves back; a retried submission stores its records
//! once (the store ends with exactly the records the clients submitted);
//! `corridor verify` (against the state of the round before) and `corridor
//! check` pass.
//!
//! `CORRIDOR_FAILOVER_ROUNDS` sets the number of kills (20 by default;
//! `scripts/failover-soak.sh` runs many more), and `CORRIDOR_CRASH_SEED`
//! replays the printed seed. Runs on throwaway clusters; skipped loudly
//! without PostgreSQL (a failure under `CORRIDOR_REQUIRE_POSTGRES=1`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use corridor_store::postgres::cluster::Cluster;
use serde_json::Value;

#[allow(dead_code)]
mod common;
use common::binary::{Corridor, terminate};
use common::published::checkpoint_of;
use common::served::Served;
use common::{Random, agent, km12_passage, km12_site};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// One test of this file at a time: each runs several servers and clients,
/// and two at once on a small machine would make the 15 s limit measure
/// the machine instead of the takeover.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const ORIGIN: &str = "test.example/failover";

/// The lease the servers run with: a takeover comes about a second after
/// the integrating server stops renewing.
const LEASE_MS: &str = "1000";

/// How long after a kill every acknowledged record must be in a signed
/// checkpoint.
const PUBLISHED_WITHIN: Duration = Duration::from_secs(15);

/// Records per submission.
const BATCH: usize = 10;

/// The servers of one test, each with its own data directory; the first
/// made the log and its key, the others joined it (`init --key`).
struct Deployment {
    home: tempfile::TempDir,
    corridors: Vec<Corridor>,
    servers: Vec<Option<Served>>,
    /// The live servers' base URLs, as the clients and the observer see them.
    bases: Arc<RwLock<Vec<String>>>,
    admin: String,
    witness: PathBuf,
}

impl Deployment {
    fn new(url: &str, count: usize) -> Result<Deployment, Box<dyn std::error::Error>> {
        let home = tempfile::tempdir()?;
        let data = |which: usize| home.path().join(format!("server-{which}"));
        let first = Corridor::with_data(home.path(), &data(0));
        first.succeed(&["--store", url, "init", "--origin", ORIGIN]);
        let key = data(0).join("keys/log.key");
        let log = data(0).join("log");
        let mut corridors = vec![first];
        for which in 1..count {
            let joining = Corridor::with_data(home.path(), &data(which));
            joining.succeed(&[
                "--store",
                url,
                "init",
                "--key",
                &key.display().to_string(),
                "--log-url",
                &log.display().to_string(),
            ]);
            corridors.push(joining);
        }
        let admin = corridors[0]
            .succeed(&["token", "create", "--name", "operator", "--role", "admin"])
            .trim()
            .to_string();
        let witness = home.path().join("witness");
        let at_home = Corridor::at_home(home.path());
        let witness_text = witness.display().to_string();
        at_home.succeed(&[
            "witness",
            "init",
            "--dir",
            &witness_text,
            "--name",
            "witness.example",
        ]);
        at_home.succeed(&[
            "witness",
            "add-log",
            "--dir",
            &witness_text,
            "--vkey",
            &data(0).join("keys/log.vkey").display().to_string(),
        ]);
        let mut deployment = Deployment {
            home,
            corridors,
            servers: (0..count).map(|_| None).collect(),
            bases: Arc::default(),
            admin,
            witness,
        };
        for which in 0..count {
            deployment.start(which)?;
        }
        Ok(deployment)
    }

    fn stderr_path(&self, which: usize) -> PathBuf {
        self.home.path().join(format!("server-{which}.stderr"))
    }

    /// Starts server `which` on a free port; its standard error is appended
    /// to `server-N.stderr`, which failure messages name.
    fn start(&mut self, which: usize) -> TestResult {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path(which))?;
        let command = self.corridors[which].command(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--checkpoint-interval",
            "200",
            "--lease-ms",
            LEASE_MS,
        ]);
        let served = Served::spawn_with_stderr(command, Stdio::from(stderr)).map_err(|error| {
            let printed = std::fs::read_to_string(self.stderr_path(which)).unwrap_or_default();
            format!("server {which} did not start: {error}; its standard error:\n{printed}")
        })?;
        self.servers[which] = Some(served);
        self.publish_bases();
        Ok(())
    }

    fn publish_bases(&self) {
        let bases = self
            .servers
            .iter()
            .flatten()
            .map(|served| served.base.clone())
            .collect();
        *self.bases.write().expect("bases") = bases;
    }

    fn base(&self, which: usize) -> &str {
        &self.servers[which].as_ref().expect("a live server").base
    }

    fn pid(&self, which: usize) -> String {
        self.servers[which]
            .as_ref()
            .expect("a live server")
            .child
            .id()
            .to_string()
    }

    /// SIGKILL: the server gets no chance to finish anything.
    fn kill(&mut self, which: usize) {
        if let Some(mut served) = self.servers[which].take() {
            self.bases
                .write()
                .expect("bases")
                .retain(|base| *base != served.base);
            let _ = served.child.kill();
            let _ = served.child.wait();
        }
    }

    fn signal(&self, which: usize, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid(which)])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// Waits until exactly one of `among` says in `/healthz` that it
    /// integrates, and returns it.
    fn integrator(&self, among: &[usize], limit: Duration) -> Result<usize, String> {
        let deadline = Instant::now() + limit;
        loop {
            let integrating: Vec<usize> = among
                .iter()
                .copied()
                .filter(|&which| {
                    health(self.base(which)).is_some_and(|health| health["integrating"] == true)
                })
                .collect();
            if let [one] = integrating.as_slice() {
                return Ok(*one);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no single integrating server among {among:?} within {limit:?}: {integrating:?} say they integrate"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn live(&self) -> Vec<usize> {
        (0..self.servers.len())
            .filter(|&which| self.servers[which].is_some())
            .collect()
    }

    /// Waits until the published checkpoint (as a server the clients use
    /// serves it) covers `leaves`; returns how long that took from `since`.
    fn published_by(
        &self,
        leaves: u64,
        since: Instant,
        limit: Duration,
    ) -> Result<Duration, String> {
        loop {
            let base = self.bases.read().expect("bases").first().cloned();
            let size = base
                .and_then(|base| checkpoint(&base))
                .map_or(0, |(size, _)| size);
            if size >= leaves {
                return Ok(since.elapsed());
            }
            if since.elapsed() > limit {
                return Err(format!(
                    "the records acknowledged before the kill end at leaf {leaves}, but the checkpoint covers {size} after {limit:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `corridor verify` against the state kept from the round before (so a
    /// checkpoint that does not extend the one verified before fails), the
    /// witness's cosignature (it refuses one that does not extend what it
    /// cosigned), and `corridor check`.
    fn verify_and_check(&self) {
        let state = self.home.path().join("verify-state.json");
        self.corridors[0].succeed(&["verify", "--state", &state.display().to_string()]);
        let out = self.home.path().join("cosigned.txt");
        Corridor::at_home(self.home.path()).succeed(&[
            "witness",
            "cosign",
            "--dir",
            &self.witness.display().to_string(),
            "--log",
            &self.home.path().join("server-0/log").display().to_string(),
            "--out",
            &out.display().to_string(),
        ]);
        self.corridors[0].succeed(&["check"]);
    }

    /// Where the servers' logs are, for a failure message.
    fn logs(&self) -> String {
        format!(
            "(servers' stderr in {}/server-N.stderr)",
            self.home.path().display()
        )
    }

    fn stop_all(&mut self) {
        for served in self.servers.iter_mut().flatten() {
            let exit = terminate(&mut served.child, Duration::from_secs(30));
            assert!(exit.success(), "a server exited with {exit}");
        }
        self.servers.iter_mut().for_each(|server| *server = None);
    }
}

fn health(base: &str) -> Option<Value> {
    let mut response = agent().get(&format!("{base}/healthz")).call().ok()?;
    serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()
}

/// The size and root hash of the checkpoint `base` serves now.
fn checkpoint(base: &str) -> Option<(u64, [u8; 32])> {
    let mut response = agent().get(&format!("{base}/log/checkpoint")).call().ok()?;
    if response.status() != 200 {
        return None;
    }
    let parsed = checkpoint_of(&response.body_mut().read_to_string().ok()?);
    Some((parsed.tree_size, parsed.root_hash))
}

/// Each acknowledged record's leaf, as the servers answered.
type Acknowledged = Arc<Mutex<BTreeMap<String, u64>>>;

/// Clients submitting batches to the live servers (a random one each
/// time), each batch retried on another server until it is acknowledged.
struct Load {
    stop: Arc<AtomicBool>,
    acknowledged: Acknowledged,
    clients: Vec<JoinHandle<Result<usize, String>>>,
}

impl Load {
    fn start(deployment: &Deployment, clients: usize, random: &mut Random) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged: Acknowledged = Arc::default();
        let clients = (0..clients)
            .map(|client| {
                let (stop, acknowledged) = (Arc::clone(&stop), Arc::clone(&acknowledged));
                let bases = Arc::clone(&deployment.bases);
                let admin = deployment.admin.clone();
                let mut random = Random::seeded(random.next());
                std::thread::spawn(move || {
                    submit_until_stopped(client, &bases, &admin, &stop, &acknowledged, &mut random)
                })
            })
            .collect();
        Load {
            stop,
            acknowledged,
            clients,
        }
    }

    /// One past the highest leaf acknowledged so far.
    fn acknowledged_end(&self) -> u64 {
        self.acknowledged
            .lock()
            .expect("acknowledged")
            .values()
            .max()
            .map_or(0, |leaf| leaf + 1)
    }

    /// Stops the clients once each has its last batch acknowledged; returns
    /// every record submitted, with its leaf.
    fn finish(self) -> Result<BTreeMap<String, u64>, String> {
        self.stop.store(true, Ordering::SeqCst);
        let mut batches = 0;
        for client in self.clients {
            batches += client.join().map_err(|_| "a client panicked")??;
        }
        let acknowledged = std::mem::take(&mut *self.acknowledged.lock().expect("acknowledged"));
        if acknowledged.len() != batches * BATCH {
            return Err(format!(
                "{batches} batches of {BATCH} acknowledged, but {} records",
                acknowledged.len()
            ));
        }
        Ok(acknowledged)
    }
}

/// Submits batches until `stop`; returns how many were acknowledged. A
/// batch that failed (the server was killed, PostgreSQL was down, a 503)
/// is sent again, to another server when there is one, until it is
/// acknowledged; an answer that is neither is a failure.
fn submit_until_stopped(
    client: usize,
    bases: &RwLock<Vec<String>>,
    admin: &str,
    stop: &AtomicBool,
    acknowledged: &Mutex<BTreeMap<String, u64>>,
    random: &mut Random,
) -> Result<usize, String> {
    let mut batches = 0;
    while !stop.load(Ordering::SeqCst) {
        let ids: Vec<String> = (0..BATCH)
            .map(|item| format!("c{client}-{batches}-{item}"))
            .collect();
        let body = Value::Array(
            ids.iter()
                .enumerate()
                .map(|(item, id)| km12_passage(id, (batches + item) as u64))
                .collect(),
        );
        let body = serde_json::to_vec(&body).map_err(|error| error.to_string())?;
        let started = Instant::now();
        let receipts = loop {
            if started.elapsed() > Duration::from_secs(60) {
                return Err(format!(
                    "client {client}: batch {batches} unacknowledged for 60 s"
                ));
            }
            let base = {
                let bases = bases.read().expect("bases");
                if bases.is_empty() {
                    None
                } else {
                    Some(bases[random.within(0..bases.len() as u64) as usize].clone())
                }
            };
            let Some(base) = base else {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            let answer = agent()
                .post(&format!("{base}/api/v1/records"))
                .header("Authorization", &format!("Bearer {admin}"))
                .header("Content-Type", "application/json")
                .send(body.as_slice());
            let mut response = match answer {
                Ok(response) => response,
                Err(_) => {
                    // Killed mid-request, or not yet listening: not acknowledged.
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            };
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string().unwrap_or_default();
            match status {
                200 | 201 => {
                    let answer: Value = serde_json::from_str(&text)
                        .map_err(|error| format!("{base}: {status} with {text:?}: {error}"))?;
                    break answer["receipts"].as_array().cloned().unwrap_or_default();
                }
                // Refused (backpressure, the store unreachable): not stored.
                500 | 503 => std::thread::sleep(Duration::from_millis(50)),
                _ => return Err(format!("client {client}: {base} answered {status}: {text}")),
            }
        };
        if receipts.len() != BATCH {
            return Err(format!(
                "client {client}: {} receipts for {BATCH} records",
                receipts.len()
            ));
        }
        let mut acknowledged = acknowledged.lock().expect("acknowledged");
        for (receipt, id) in receipts.iter().zip(&ids) {
            let leaf = receipt["leaf_index"]
                .as_u64()
                .filter(|_| receipt["id"] == id.as_str())
                .ok_or_else(|| format!("client {client}: receipt {receipt} for {id}"))?;
            if let Some(before) = acknowledged.insert(id.clone(), leaf)
                && before != leaf
            {
                return Err(format!("{id} acknowledged at leaf {before} and at {leaf}"));
            }
        }
        batches += 1;
    }
    Ok(batches)
}

/// Reads every live server's checkpoint ten times a second and records
/// each size's root: a second root for one size, or a server whose
/// checkpoint moved back, is a failure.
struct Observer {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<usize, String>>,
}

impl Observer {
    fn start(bases: &Arc<RwLock<Vec<String>>>) -> Observer {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, bases) = (Arc::clone(&stop), Arc::clone(bases));
            std::thread::spawn(move || {
                let mut roots: HashMap<u64, [u8; 32]> = HashMap::new();
                let mut latest: HashMap<String, u64> = HashMap::new();
                while !stop.load(Ordering::SeqCst) {
                    let live = bases.read().expect("bases").clone();
                    for base in live {
                        let Some((size, root)) = checkpoint(&base) else {
                            continue;
                        };
                        if let Some(known) = roots.insert(size, root)
                            && known != root
                        {
                            return Err(format!(
                                "two checkpoints of {size} leaves with different roots ({base})"
                            ));
                        }
                        let before = latest.insert(base.clone(), size).unwrap_or(0);
                        if size < before {
                            return Err(format!(
                                "{base}: the checkpoint moved back from {before} to {size} leaves"
                            ));
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(roots.len())
            })
        };
        Observer { stop, thread }
    }

    /// Stops observing; returns how many checkpoint sizes were seen.
    fn finish(self) -> Result<usize, String> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().map_err(|_| "the observer panicked")?
    }
}

/// After the load: waits until everything acknowledged is published, then
/// checks that the store holds exactly the submitted records (each retried
/// batch stored once) and that the log proves where each one is.
fn settle(deployment: &Deployment, acknowledged: &BTreeMap<String, u64>) -> TestResult {
    let end = acknowledged.values().max().map_or(1, |leaf| leaf + 1);
    deployment.published_by(end, Instant::now(), Duration::from_secs(30))?;
    let base = deployment.base(deployment.live()[0]);
    let stored = health(base).ok_or("no /healthz")?["stored"]
        .as_u64()
        .ok_or("no stored count")?;
    assert_eq!(
        stored,
        1 + acknowledged.len() as u64,
        "the store holds {stored} records, the clients submitted {} and the site: a retry stored twice, or a record was lost",
        acknowledged.len()
    );
    let mut leaves: Vec<u64> = acknowledged.values().copied().collect();
    leaves.sort_unstable();
    leaves.dedup();
    assert_eq!(leaves.len(), acknowledged.len(), "two records at one leaf");
    for (id, leaf) in acknowledged
        .iter()
        .step_by((acknowledged.len() / 10).max(1))
    {
        let proof = deployment.corridors[0].succeed_json(&["log", "prove", "--record", id]);
        assert_eq!(proof["leaf_index"].as_u64(), Some(*leaf), "{id}: {proof}");
    }
    Ok(())
}

fn rounds() -> usize {
    std::env::var("CORRIDOR_FAILOVER_ROUNDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20)
}

fn submit_site(deployment: &Deployment) -> TestResult {
    submit_one(deployment, 0, &km12_site()).map(drop)
}

/// Sends one record to server `which` and returns the leaf it was stored at.
fn submit_one(
    deployment: &Deployment,
    which: usize,
    record: &Value,
) -> Result<u64, Box<dyn std::error::Error>> {
    let mut response = agent()
        .post(&format!("{}/api/v1/records", deployment.base(which)))
        .header("Authorization", &format!("Bearer {}", deployment.admin))
        .header("Content-Type", "application/json")
        .send(serde_json::to_vec(record)?.as_slice())?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    assert_eq!(status, 201, "{text}");
    let answer: Value = serde_json::from_str(&text)?;
    Ok(answer["leaf_index"]
        .as_u64()
        .or_else(|| answer["receipts"][0]["leaf_index"].as_u64())
        .ok_or_else(|| format!("no leaf in {text}"))?)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

#[test]
fn killing_the_integrating_server_loses_nothing_and_never_forks_the_log() -> TestResult {
    let Some(cluster) = Cluster::shared_or_skip("failover of corridor serve on PostgreSQL") else {
        return Ok(());
    };
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut random = Random::from_environment("failover");
    let url = cluster.create_database()?;
    let mut deployment = Deployment::new(&url, 3)?;
    submit_site(&deployment)?;
    let observer = Observer::start(&deployment.bases);
    let load = Load::start(&deployment, 3, &mut random);
    let mut takeovers = Vec::new();
    for round in 0..rounds() {
        let context = format!(
            "round {round} (seed {}) {}",
            random.seed(),
            deployment.logs()
        );
        let leader = deployment
            .integrator(&deployment.live(), Duration::from_secs(15))
            .map_err(|error| format!("{context}: {error}"))?;
        // At a random point of the leader's rounds: while it integrates, or
        // signs, or waits.
        std::thread::sleep(Duration::from_millis(random.within(0..1_200)));
        let end = load.acknowledged_end();
        let killed = Instant::now();
        deployment.kill(leader);
        let took = deployment
            .published_by(end, killed, PUBLISHED_WITHIN)
            .map_err(|error| format!("{context}: {error}"))?;
        takeovers.push(took);
        deployment
            .integrator(&deployment.live(), Duration::from_secs(15))
            .map_err(|error| format!("{context}: after the kill: {error}"))?;
        deployment.verify_and_check();
        deployment.start(leader)?;
    }
    let acknowledged = load.finish()?;
    settle(&deployment, &acknowledged)?;
    let sizes = observer.finish()?;
    deployment.verify_and_check();
    deployment.stop_all();
    deployment.verify_and_check();
    takeovers.sort_unstable();
    println!(
        "{} kills, {} records acknowledged, {sizes} checkpoint sizes observed; kill to checkpoint: p50 {:?}, max {:?}",
        takeovers.len(),
        acknowledged.len(),
        percentile(&takeovers, 0.5),
        percentile(&takeovers, 1.0)
    );
    Ok(())
}

#[test]
fn a_paused_integrator_that_wakes_after_a_takeover_publishes_nothing() -> TestResult {
    let Some(cluster) = Cluster::shared_or_skip("a zombie corridor serve on PostgreSQL") else {
        return Ok(());
    };
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut random = Random::from_environment("zombie");
    let url = cluster.create_database()?;
    let mut deployment = Deployment::new(&url, 2)?;
    submit_site(&deployment)?;
    let observer = Observer::start(&deployment.bases);
    let load = Load::start(&deployment, 2, &mut random);
    let context = format!("seed {} {}", random.seed(), deployment.logs());
    let zombie = deployment.integrator(&[0, 1], Duration::from_secs(15))?;
    let other = 1 - zombie;
    std::thread::sleep(Duration::from_millis(random.within(200..1_200)));
    deployment.signal(zombie, "STOP");
    // The zombie answers nothing while stopped: the clients go to the other.
    let zombie_base = deployment.base(zombie).to_string();
    deployment
        .bases
        .write()
        .expect("bases")
        .retain(|base| *base != zombie_base);
    let end = load.acknowledged_end();
    let stopped = Instant::now();
    deployment
        .integrator(&[other], Duration::from_secs(15))
        .map_err(|error| format!("{context}: {error}"))?;
    // The clients may all be waiting on the stopped zombie: one record sent
    // to the new integrator makes sure it publishes a tree of its own.
    let after_takeover = submit_one(&deployment, other, &km12_passage("after-takeover", 0))?;
    deployment
        .published_by(end.max(after_takeover + 1), stopped, PUBLISHED_WITHIN)
        .map_err(|error| format!("{context}: {error}"))?;
    let taken_over = checkpoint(deployment.base(other)).ok_or("no checkpoint")?.0;
    deployment.signal(zombie, "CONT");
    deployment.publish_bases();
    // Awake again, the zombie finds the lease taken: it follows, and its
    // interrupted round (if it was in one) publishes nothing.
    let deadline = Instant::now() + Duration::from_secs(10);
    while health(&zombie_base).is_none_or(|health| health["integrating"] != false) {
        assert!(
            Instant::now() < deadline,
            "{context}: the woken zombie still says it integrates"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        deployment.integrator(&[0, 1], Duration::from_secs(5))?,
        other,
        "{context}: the zombie took the lease back"
    );
    let stderr = std::fs::read_to_string(deployment.stderr_path(zombie))?;
    assert!(
        stderr.contains("lost the integrator lease")
            || stderr.contains("another server took over publishing"),
        "{context}: the zombie did not notice the takeover:\n{stderr}"
    );
    let mut acknowledged = load.finish()?;
    acknowledged.insert("after-takeover".to_string(), after_takeover);
    settle(&deployment, &acknowledged)?;
    assert!(
        checkpoint(&zombie_base).ok_or("no checkpoint")?.0 >= taken_over,
        "{context}: the zombie serves an older checkpoint"
    );
    observer.finish()?;
    deployment.verify_and_check();
    deployment.stop_all();
    Ok(())
}

#[test]
fn servers_reconnect_after_postgresql_restarts_and_lose_nothing() -> TestResult {
    // A cluster of its own: crashing the shared one would fail other tests.
    let Some(cluster) = Cluster::start_or_skip("PostgreSQL restarted under load") else {
        return Ok(());
    };
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut random = Random::from_environment("postgres restart");
    let url = cluster.create_database()?;
    let mut deployment = Deployment::new(&url, 2)?;
    submit_site(&deployment)?;
    let observer = Observer::start(&deployment.bases);
    let load = Load::start(&deployment, 3, &mut random);
    let context = format!("seed {} {}", random.seed(), deployment.logs());
    std::thread::sleep(Duration::from_millis(random.within(1_000..2_000)));
    let before = load.acknowledged_end();
    cluster.crash_and_restart()?;
    // The clients' batches fail while PostgreSQL is down, and are sent
    // again; the servers reconnect by themselves.
    std::thread::sleep(Duration::from_secs(3));
    let restarted = Instant::now();
    deployment
        .published_by(
            before.max(load.acknowledged_end()) + 1,
            restarted,
            PUBLISHED_WITHIN,
        )
        .map_err(|error| format!("{context}: after the restart: {error}"))?;
    let acknowledged = load.finish()?;
    assert!(
        acknowledged.len() as u64 > before,
        "{context}: nothing was acknowledged after the restart"
    );
    settle(&deployment, &acknowledged)?;
    for which in deployment.live() {
        let health = health(deployment.base(which)).ok_or("no /healthz")?;
        assert_eq!(health["status"], "ok", "{context}: {health}");
    }
    observer.finish()?;
    deployment.verify_and_check();
    deployment.stop_all();
    Ok(())
}
