//! A real full disk under concurrent batches: `corridor serve` runs under a
//! file-size limit (RLIMIT_FSIZE, as in `faults.rs`) while clients post
//! overlapping batches in both modes until the store can grow no more.
//! Every answer must match the store: a `503` stored nothing of its
//! request (unless it says the records may be stored), no all-or-nothing
//! batch is half stored, and every receipt names a stored record.

use std::collections::HashSet;

use std::process::Command;
use std::time::Duration;

use corridor_engine::DataDir;
use corridor_server::{Role, create_token};
use corridor_store::Store;
use serde_json::{Value, json};

#[allow(dead_code)]
mod common;
use common::agent;
use common::binary::{Corridor, terminate};
use common::served::{SERVE_ON_A_FREE_PORT, Served};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const CLIENTS: usize = 3;
const BATCHES_PER_CLIENT: usize = 6;

/// `corridor serve` with SIGXFSZ ignored and its file-size limit at
/// `blocks` (512-byte blocks in dash), so a write past it fails with EFBIG
/// as on a full disk.
fn start_limited(
    home: &std::path::Path,
    data: &std::path::Path,
    blocks: u32,
) -> Result<Served, Box<dyn std::error::Error>> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {blocks} || exit 99; exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_corridor"))
        .arg("--data")
        .arg(data)
        .args(SERVE_ON_A_FREE_PORT)
        .env_remove("CORRIDOR_DATA")
        .env_remove("CORRIDOR_LOG")
        .env("HOME", home);
    Served::spawn(command)
}

fn passage(id: &str) -> Value {
    json!({"type": "passage", "id": id, "site": "cp-1", "observed_at": "2023-01-17T09:40",
        "category": "civilian", "source": {"kind": "direct_observation", "name": "Team A"},
        "recorded_by": "team-a", "notes": "x".repeat(200)})
}

struct Request {
    token: String,
    token_id: String,
    atomic: bool,
    ids: Vec<String>,
    status: u16,
    body: Value,
}

#[test]
fn a_full_disk_under_concurrent_batches_answers_exactly_what_was_stored() -> TestResult {
    let holder = tempfile::tempdir()?;
    let home = holder.path();
    let data = home.join("data");
    let corridor = Corridor::with_data(home, &data);
    corridor.succeed(&["init", "--origin", "test.example/full-disk-serve"]);
    let site = home.join("site.jsonl");
    std::fs::write(&site, format!("{}\n", common::SITE))?;
    corridor.succeed(&["add", &site.display().to_string()]);

    // Overlapping windows of one id pool; one token per request, so the
    // store says which request stored each record.
    let mut requests = Vec::new();
    {
        let mut store = DataDir::open(&data)?.open_store()?;
        for number in 0..CLIENTS * BATCHES_PER_CLIENT {
            let token = create_token(&mut store, &format!("request {number}"), Role::Observer)?;
            let start = number * 150;
            requests.push(Request {
                token: token.token,
                token_id: token.id,
                atomic: number % 2 == 0,
                ids: (start..start + 400)
                    .map(|index| format!("p-{index}"))
                    .collect(),
                status: 0,
                body: Value::Null,
            });
        }
    }
    let server = start_limited(home, &data, 4_096)?;
    let mut by_client: Vec<Vec<Request>> = (0..CLIENTS).map(|_| Vec::new()).collect();
    for (number, request) in requests.into_iter().enumerate() {
        by_client[number % CLIENTS].push(request);
    }
    let url = format!("{}/api/v1/records", server.base);
    let answered: Vec<Request> = std::thread::scope(|scope| {
        let threads: Vec<_> = by_client
            .into_iter()
            .map(|mut batches| {
                let url = &url;
                scope.spawn(move || {
                    let agent = agent();
                    for request in &mut batches {
                        let body: Vec<Value> = request.ids.iter().map(|id| passage(id)).collect();
                        let mode = if request.atomic {
                            "atomic"
                        } else {
                            "per_record"
                        };
                        let sent = serde_json::to_vec(&body).unwrap_or_default();
                        let answer = agent
                            .post(&format!("{url}?mode={mode}"))
                            .header("Authorization", &format!("Bearer {}", request.token))
                            .header("Content-Type", "application/json")
                            .send(sent.as_slice());
                        if let Ok(mut response) = answer {
                            request.status = response.status().as_u16();
                            let text = response.body_mut().read_to_string().unwrap_or_default();
                            request.body = serde_json::from_str(&text).unwrap_or(Value::Null);
                        }
                    }
                    batches
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap_or_default())
            .collect()
    });
    let mut server = server;
    terminate(&mut server.child, Duration::from_secs(30));

    let store = DataDir::open(&data)?.open_store()?;
    let mut full = 0;
    let mut stored_any = 0;
    for (number, request) in answered.iter().enumerate() {
        let stored_here: Vec<&String> = request
            .ids
            .iter()
            .filter(|id| {
                store.submitter(id).ok().flatten().as_deref() == Some(request.token_id.as_str())
            })
            .collect();
        let context = format!(
            "request {number} ({}): {} {}",
            if request.atomic {
                "atomic"
            } else {
                "per_record"
            },
            request.status,
            request.body
        );
        match request.status {
            200 | 201 => {
                stored_any += 1;
                let receipts = request.body["receipts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                assert_eq!(receipts.len(), request.ids.len(), "{context}");
                let reported: HashSet<&str> = receipts
                    .iter()
                    .filter(|receipt| receipt["status"] == "stored")
                    .filter_map(|receipt| receipt["id"].as_str())
                    .collect();
                for receipt in &receipts {
                    let id = receipt["id"].as_str().unwrap_or_default();
                    let record = store.record(id)?;
                    assert_eq!(
                        record.map(|record| record.leaf_index),
                        receipt["leaf_index"].as_u64(),
                        "{context}: {receipt}"
                    );
                }
                for id in &stored_here {
                    assert!(
                        reported.contains(id.as_str()),
                        "{context}: stored {id} silently"
                    );
                }
            }
            503 => {
                full += 1;
                let message = request.body["error"]["message"]
                    .as_str()
                    .unwrap_or_default();
                // A failed flush may have stored its records (whole, one
                // transaction); any other failure stored nothing.
                if !message.contains("may or may not be stored") {
                    assert!(
                        message.contains("nothing of this submission was stored"),
                        "{context}"
                    );
                    assert!(
                        stored_here.is_empty(),
                        "{context}: yet it stored {} records",
                        stored_here.len()
                    );
                }
            }
            _ => panic!("{context}: unexpected status"),
        }
    }
    assert!(full > 0, "the disk never filled: the limit is too high");
    assert!(stored_any > 0, "nothing was stored: the limit is too low");
    Ok(())
}
