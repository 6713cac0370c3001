//! `corridor serve` as a real process on a free port: submit over HTTP, get
//! a receipt whose proof verifies after the next checkpoint, and stop with
//! SIGTERM without losing anything acknowledged.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::agent;
use common::binary::{Corridor, terminate};
use common::served::{SERVE_ON_A_FREE_PORT, Served};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn start(corridor: &Corridor) -> Result<Served, Box<dyn std::error::Error>> {
    Served::spawn(corridor.command(&SERVE_ON_A_FREE_PORT))
}

fn post(
    base: &str,
    token: &str,
    path: &str,
    body: &Value,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let mut response = agent()
        .post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(serde_json::to_vec(body)?.as_slice())?;
    let status = response.status().as_u16();
    Ok((
        status,
        serde_json::from_str(&response.body_mut().read_to_string()?)?,
    ))
}

fn get(base: &str, token: &str, path: &str) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let mut response = agent()
        .get(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()?;
    let status = response.status().as_u16();
    Ok((
        status,
        serde_json::from_str(&response.body_mut().read_to_string()?)?,
    ))
}

fn passage(id: &str) -> Value {
    json!({"type": "passage", "id": id, "site": "km-12", "observed_at": "2023-01-17T09:40",
        "category": "red_cross", "source": {"kind": "direct_observation", "name": "Team A"},
        "recorded_by": "team-a", "private": {"plate": "AB 123 C"}})
}

#[test]
fn serve_acknowledges_proves_and_keeps_everything_across_sigterm() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let corridor = Corridor::with_data(directory.path(), &data);
    corridor.succeed(&["init", "--origin", "test.example/serve"]);
    let admin = corridor
        .succeed(&["token", "create", "--name", "operator", "--role", "admin"])
        .trim()
        .to_string();
    let observer = corridor
        .succeed(&["token", "create", "--name", "team a", "--role", "observer"])
        .trim()
        .to_string();
    let listed = corridor.succeed(&["token", "list"]);
    assert!(listed.contains("operator") && listed.contains("observer"));
    assert!(!listed.contains(&admin), "token list shows a secret");

    let server = start(&corridor)?;
    let site = json!({"type": "site", "id": "km-12", "name": "Checkpoint km 12", "kind": "checkpoint",
        "timezone": "Asia/Baku", "source": {"kind": "direct_observation", "name": "Team A"}, "recorded_by": "team-a"});
    let (status, body) = post(&server.base, &admin, "/api/v1/records", &site)?;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        &server.base,
        &observer,
        "/api/v1/records",
        &json!([passage("p-1"), passage("p-2")]),
    )?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["receipts"][1]["leaf_index"], 2);

    // The receipt carries a proof once the next checkpoint is out.
    let deadline = Instant::now() + Duration::from_secs(10);
    let receipt = loop {
        let (status, receipt) = get(&server.base, &observer, "/api/v1/receipts/p-2")?;
        assert_eq!(status, 200, "{receipt}");
        if receipt["status"] == "integrated" {
            break receipt;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint within 10 s: {receipt}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let receipt_file = directory.path().join("receipt.json");
    std::fs::write(&receipt_file, receipt.to_string())?;
    let vkey = data.join("keys").join("log.vkey");
    corridor.succeed(&[
        "verify",
        "receipt",
        &receipt_file.display().to_string(),
        "--vkey",
        &vkey.display().to_string(),
    ]);

    // Acknowledge one more, then SIGTERM at once: it must be stored and published.
    let (status, body) = post(&server.base, &observer, "/api/v1/records", &passage("p-3"))?;
    assert_eq!(status, 201, "{body}");
    let mut server = server;
    let exit = terminate(&mut server.child, Duration::from_secs(20));
    assert!(exit.success(), "the server exited with {exit}");
    let proof = corridor.succeed_json(&["log", "prove", "--record", "p-3"]);
    assert_eq!(
        proof["tree_size"], 4,
        "the final checkpoint misses an acknowledged record"
    );
    corridor.succeed(&[
        "verify",
        "--state",
        &directory.path().join("state.json").display().to_string(),
    ]);
    Ok(())
}
