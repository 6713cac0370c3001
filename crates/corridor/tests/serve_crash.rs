//! Crash safety of `corridor serve` under load: a client posts batches of
//! passages without pause while the server process is killed (SIGKILL) at a
//! random moment, round after round, and restarted. Afterwards every batch
//! the server acknowledged is stored exactly once, every stored record is
//! whole and published, `corridor check` and `corridor verify` pass, and
//! every checkpoint seen along the way is consistent with the last one.
//!
//! Batches that failed or got no answer are "unknown": each may or may not
//! be stored. The client resubmits them (same ids, same content) in the next
//! round, which is the retry the API promises is safe.
//!
//! The seed is printed; set `CORRIDOR_CRASH_SEED` to replay a run and
//! `CORRIDOR_CRASH_ROUNDS` for more rounds (`scripts/crash-soak.sh`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corridor_tlog::verify_consistency;
use serde_json::{Value, json};

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::{Corridor, terminate};
use common::published::{checkpoint_of, proof_hashes};
use common::served::{Served, free_port};
use common::{Random, SITE, agent};

/// Rounds when `CORRIDOR_CRASH_ROUNDS` is not set: enough to land kills in
/// every phase of a request, short enough for CI (about 15 s in debug).
const DEFAULT_ROUNDS: usize = 10;
/// Passages per request.
const BATCH: u64 = 50;
/// The kill comes this many milliseconds after the server answered `/healthz`.
const KILL_AFTER_MS: std::ops::Range<u64> = 50..400;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Passage number `index`; the same index always gives the same record, so
/// a resubmission is a retry, not a conflicting record.
fn passage(index: u64) -> Value {
    json!({"type": "passage", "id": format!("p-{index}"), "site": "cp-1",
        "observed_at": format!("2022-12-{:02}T{:02}:{:02}", 1 + index % 28, index % 24, index % 60),
        "direction": "outbound", "vehicle_class": "bus", "category": "civilian", "outcome": "passed",
        "passengers": index % 50, "source": {"kind": "direct_observation", "name": "team A"},
        "recorded_by": "observer-1"})
}

/// A port nobody listens on now: bind to port 0 and let go of it.
/// Starts `corridor serve` on `port` and waits until it says it listens.
fn start(corridor: &Corridor, port: u16) -> Served {
    Served::spawn(corridor.command(&[
        "serve",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--checkpoint-interval",
        "100",
    ]))
    .expect("corridor serve starts")
}

/// What the client knows about its batches.
#[derive(Default)]
struct Ledger {
    /// Passage indexes of batches the server acknowledged.
    acknowledged: Vec<u64>,
    /// Batches (first passage index) that failed or got no answer, not yet
    /// acknowledged by a retry.
    unknown: Vec<u64>,
    /// Requests sent, and those answered with a success.
    requests: u64,
    successes: u64,
    /// Records a retry found already stored: committed by a server that was
    /// killed before it could answer.
    already_stored: u64,
}

/// Posts one batch; `Ok(Some(n))` if the server acknowledged every record,
/// `n` of them as already stored, `Ok(None)` on a 5xx.
fn post_batch(
    agent: &ureq::Agent,
    base: &str,
    token: &str,
    first: u64,
) -> Result<Option<u64>, ureq::Error> {
    let batch: Vec<Value> = (first..first + BATCH).map(passage).collect();
    let body = serde_json::to_vec(&batch).expect("a batch serializes");
    let mut response = agent
        .post(&format!("{base}/api/v1/records"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body.as_slice())?;
    let status = response.status().as_u16();
    let answer: Value =
        serde_json::from_str(&response.body_mut().read_to_string()?).unwrap_or(Value::Null);
    // A refusal of a well-formed batch or of its retry is a bug; a 5xx (a
    // server shutting down, a timeout) leaves the batch unknown.
    assert!(
        !(400..500).contains(&status),
        "batch {first} was refused with {status}: {answer}"
    );
    if !(200..300).contains(&status) {
        return Ok(None);
    }
    let receipts = answer["receipts"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(
        receipts, BATCH,
        "a success must carry a receipt per record: {answer}"
    );
    Ok(Some(answer["already_stored"].as_u64().unwrap_or(0)))
}

/// Sends batches until `stop`: the unknown ones of earlier rounds first,
/// then new ones numbered from `next`. Returns when stopped or when the
/// server stops answering.
fn client(
    base: String,
    token: String,
    ledger: Arc<Mutex<Ledger>>,
    next: Arc<AtomicU64>,
    in_flight: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) {
    let agent = agent();
    let mut retries = std::mem::take(&mut ledger.lock().expect("ledger").unknown);
    while !stop.load(Ordering::SeqCst) {
        let first = retries
            .pop()
            .unwrap_or_else(|| next.fetch_add(BATCH, Ordering::SeqCst));
        in_flight.store(true, Ordering::SeqCst);
        let outcome = post_batch(&agent, &base, &token, first);
        in_flight.store(false, Ordering::SeqCst);
        let mut ledger = ledger.lock().expect("ledger");
        ledger.requests += 1;
        match outcome {
            Ok(Some(already_stored)) => {
                ledger.successes += 1;
                ledger.already_stored += already_stored;
                ledger.acknowledged.extend(first..first + BATCH);
            }
            Ok(None) | Err(_) => {
                ledger.unknown.push(first);
                ledger.unknown.append(&mut retries);
                return;
            }
        }
    }
    ledger.lock().expect("ledger").unknown.append(&mut retries);
}

fn get_json(agent: &ureq::Agent, url: &str, token: &str) -> Value {
    let mut response = agent
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("the server answers");
    assert_eq!(response.status(), 200, "GET {url}");
    serde_json::from_str(&response.body_mut().read_to_string().expect("a body")).expect("JSON")
}

/// Every stored record, by id: leaf indexes at which each id was stored.
fn stored_ids(base: &str, token: &str) -> HashMap<String, Vec<u64>> {
    let agent = agent();
    let mut ids: HashMap<String, Vec<u64>> = HashMap::new();
    let mut cursor = Some(0);
    while let Some(at) = cursor {
        let page = get_json(
            &agent,
            &format!("{base}/api/v1/records?limit=1000&cursor={at}"),
            token,
        );
        for item in page["records"].as_array().expect("records") {
            let leaf_index = item["leaf_index"].as_u64().expect("a leaf index");
            // A whole record: a leaf with its record, id and type.
            let record = &item["leaf"]["record"];
            assert!(
                record["type"].is_string() && item["leaf"]["logged_at"].is_string(),
                "leaf {leaf_index} is not a whole record: {item}"
            );
            let id = record["id"].as_str().expect("an id").to_owned();
            ids.entry(id).or_default().push(leaf_index);
        }
        cursor = page["next_cursor"].as_u64();
    }
    ids
}

fn rounds() -> usize {
    std::env::var("CORRIDOR_CRASH_ROUNDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS)
}

#[test]
fn killing_the_server_under_load_keeps_every_acknowledged_record() -> TestResult {
    let rounds = rounds();
    let mut random = Random::from_environment(&format!("server crash test ({rounds} rounds)"));
    let seed = random.seed();
    let holder = tempfile::tempdir()?;
    let data: PathBuf = holder.path().join("data");
    let log = data.join("log");
    let corridor = Corridor::with_data(holder.path(), &data);
    corridor.succeed(&["init", "--origin", "crash.example/serve"]);
    let token = corridor
        .succeed(&["token", "create", "--name", "load", "--role", "admin"])
        .trim()
        .to_owned();
    let vkey = corridor.succeed(&["log", "vkey"]).trim().to_owned();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");

    // The site first, acknowledged before any load.
    {
        let _server = start(&corridor, port);
        let mut response = agent()
            .post(&format!("{base}/api/v1/records"))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(SITE.as_bytes())?;
        assert_eq!(
            response.status(),
            201,
            "{}",
            response.body_mut().read_to_string()?
        );
    }

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let next = Arc::new(AtomicU64::new(0));
    let mut observed: Vec<String> = Vec::new();
    let mut killed_in_flight = 0;
    for round in 1..=rounds {
        let mut server = start(&corridor, port);
        if let Ok(mut response) = agent().get(&format!("{base}/log/checkpoint")).call()
            && response.status() == 200
        {
            observed.push(response.body_mut().read_to_string()?);
        }
        let in_flight = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let load = {
            let (base, token) = (base.clone(), token.clone());
            let (ledger, next) = (Arc::clone(&ledger), Arc::clone(&next));
            let (in_flight, stop) = (Arc::clone(&in_flight), Arc::clone(&stop));
            std::thread::spawn(move || client(base, token, ledger, next, in_flight, stop))
        };
        let delay = random.within(KILL_AFTER_MS);
        std::thread::sleep(Duration::from_millis(delay));
        if in_flight.load(Ordering::SeqCst) {
            killed_in_flight += 1;
        }
        server.child.kill()?;
        server.child.wait()?;
        stop.store(true, Ordering::SeqCst);
        load.join().map_err(|_| "the client thread panicked")?;

        // What the killed server published survives intact.
        if let Ok(text) = std::fs::read_to_string(log.join("checkpoint")) {
            observed.push(text);
        }
        let ledger = ledger.lock().map_err(|_| "ledger")?;
        println!(
            "round {round}: killed after {delay} ms, {} records acknowledged, {} batches unknown",
            ledger.acknowledged.len(),
            ledger.unknown.len()
        );
    }

    // A last run: retry what is unknown, list what is stored, stop cleanly.
    let mut server = start(&corridor, port);
    {
        let mut retries = std::mem::take(&mut ledger.lock().map_err(|_| "ledger")?.unknown);
        let agent = agent();
        while let Some(first) = retries.pop() {
            let already_stored = post_batch(&agent, &base, &token, first)?.ok_or_else(|| {
                format!("retrying batch {first} against a running server failed (seed {seed})")
            })?;
            let mut ledger = ledger.lock().map_err(|_| "ledger")?;
            ledger.already_stored += already_stored;
            ledger.acknowledged.extend(first..first + BATCH);
        }
    }
    let ids = stored_ids(&base, &token);
    let exit = terminate(&mut server.child, Duration::from_secs(30));
    assert!(exit.success(), "the server exited with {exit}");

    // Every acknowledged record is stored exactly once, and nothing else is
    // stored twice (ids are unique, retries included).
    let ledger = ledger.lock().map_err(|_| "ledger")?;
    for index in &ledger.acknowledged {
        let id = format!("p-{index}");
        let leaves = ids.get(&id).map_or(&[][..], Vec::as_slice);
        assert_eq!(
            leaves.len(),
            1,
            "acknowledged record {id} is stored at leaves {leaves:?} (seed {seed})"
        );
    }
    for (id, leaves) in &ids {
        assert_eq!(
            leaves.len(),
            1,
            "{id} is stored at leaves {leaves:?} (seed {seed})"
        );
    }
    assert_eq!(ids.get("cp-1").map(Vec::len), Some(1), "the site is stored");
    let stored = ids.len() as u64;
    let status = corridor.succeed_json(&["status", "--format", "json"]);
    assert_eq!(status["records"], stored, "status and the listing differ");

    // Whole records, the store equal to the published log, and the log valid.
    corridor.succeed(&["check"]);
    let log_text = log.display().to_string();
    corridor.succeed(&[
        "verify",
        "--log",
        &log_text,
        "--vkey",
        &vkey,
        "--state",
        &holder
            .path()
            .join("verify-state.json")
            .display()
            .to_string(),
    ]);
    let final_checkpoint = checkpoint_of(&std::fs::read_to_string(log.join("checkpoint"))?);
    assert_eq!(
        final_checkpoint.tree_size, stored,
        "the final checkpoint does not cover every stored record (seed {seed})"
    );

    // Every checkpoint ever published is a prefix of the final tree: those
    // seen between rounds and the kept history in `log/checkpoints/`.
    // A kill can leave a half-written `.N.tmp` behind; only the renamed
    // files were ever published.
    if let Ok(entries) = std::fs::read_dir(log.join("checkpoints")) {
        for entry in entries {
            let entry = entry?;
            if !entry.file_name().to_string_lossy().starts_with('.') {
                observed.push(std::fs::read_to_string(entry.path())?);
            }
        }
    }
    for text in &observed {
        let old = checkpoint_of(text);
        let proof = corridor.succeed_json(&[
            "log",
            "consistency",
            "--from",
            &old.tree_size.to_string(),
            "--format",
            "json",
        ]);
        let hashes = proof_hashes(&proof);
        verify_consistency(
            old.tree_size,
            final_checkpoint.tree_size,
            &old.root_hash,
            &final_checkpoint.root_hash,
            &hashes,
        )
        .map_err(|error| {
            format!(
                "seed {seed}: the checkpoint at {} is not consistent with the final one: {error}",
                old.tree_size
            )
        })?;
    }

    println!(
        "{killed_in_flight} of {rounds} kills landed with a request in flight; {} requests, {} acknowledged, {} records found already stored on retry, {} records stored, {} checkpoints checked",
        ledger.requests,
        ledger.successes,
        ledger.already_stored,
        stored,
        observed.len()
    );
    assert!(
        ledger.acknowledged.len() as u64 >= BATCH * rounds as u64,
        "too little was acknowledged to prove anything (seed {seed})"
    );
    assert!(
        killed_in_flight * 2 > rounds,
        "only {killed_in_flight} of {rounds} kills landed with a request in flight (seed {seed})"
    );
    Ok(())
}
