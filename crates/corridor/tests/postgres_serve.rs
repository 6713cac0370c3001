//! `corridor serve` on a PostgreSQL store, as a real process: records
//! submitted over HTTP are acknowledged, published in a signed checkpoint,
//! kept across SIGTERM, and `corridor check` and `corridor verify` then pass.
//! Until the store moved its connections off async threads, the server
//! panicked at start-up here (the `postgres` client started its runtime
//! inside the server's).
//!
//! Runs on a throwaway cluster; skipped loudly without PostgreSQL (a
//! failure under `CORRIDOR_REQUIRE_POSTGRES=1`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use corridor_store::postgres::cluster::Cluster;
use serde_json::{Value, json};

#[allow(dead_code)]
mod common;
use common::agent;
use common::binary::{Corridor, terminate};
use common::published::checkpoint_of;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A server process; killed if the test fails before stopping it.
struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(corridor: &Corridor) -> Result<Running, Box<dyn std::error::Error>> {
    let mut child = corridor
        .command(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--checkpoint-interval",
            "200",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|url| url.starts_with("http://"))
        .ok_or_else(|| format!("the server printed no address: {line:?}"))?
        .to_string();
    Ok(Running { child, base })
}

fn send(
    request: ureq::RequestBuilder<ureq::typestate::WithBody>,
    token: &str,
    body: &Value,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let mut response = request
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(serde_json::to_vec(body)?.as_slice())?;
    let status = response.status().as_u16();
    Ok((
        status,
        serde_json::from_str(&response.body_mut().read_to_string()?)?,
    ))
}

fn submit(
    base: &str,
    token: &str,
    body: &Value,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    send(agent().post(&format!("{base}/api/v1/records")), token, body)
}

fn site() -> Value {
    json!({"type": "site", "id": "km-12", "name": "Checkpoint km 12", "kind": "checkpoint",
        "timezone": "Asia/Baku", "source": {"kind": "direct_observation", "name": "Team A"},
        "recorded_by": "team-a"})
}

fn passage(id: &str, minute: u64) -> Value {
    json!({"type": "passage", "id": id, "site": "km-12",
        "observed_at": format!("2023-01-17T09:{minute:02}"),
        "category": "red_cross", "source": {"kind": "direct_observation", "name": "Team A"},
        "recorded_by": "team-a", "private": {"plate": "AB 123 C"}})
}

/// The tree size of the checkpoint the server publishes now.
fn published_size(base: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let text = agent()
        .get(&format!("{base}/log/checkpoint"))
        .call()?
        .body_mut()
        .read_to_string()?;
    Ok(checkpoint_of(&text).tree_size)
}

#[test]
fn serve_on_postgres_publishes_what_it_acknowledges_and_verifies() -> TestResult {
    let Some(cluster) = Cluster::shared_or_skip("corridor serve on PostgreSQL") else {
        return Ok(());
    };
    let url = cluster.create_database()?;
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let corridor = Corridor::with_data(directory.path(), &data);
    corridor.succeed(&["--store", &url, "init", "--origin", "test.example/pg-serve"]);
    let admin = corridor
        .succeed(&["token", "create", "--name", "operator", "--role", "admin"])
        .trim()
        .to_string();

    let server = start(&corridor)?;
    let (status, body) = submit(&server.base, &admin, &site())?;
    assert_eq!(status, 201, "{body}");
    let batch: Vec<Value> = (0..20).map(|n| passage(&format!("p-{n}"), n)).collect();
    let (status, body) = submit(&server.base, &admin, &Value::Array(batch.clone()))?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["receipts"][19]["leaf_index"], 20, "{body}");
    // The same batch again: every record already stored, at its leaf.
    let (status, body) = submit(&server.base, &admin, &Value::Array(batch))?;
    assert!(status == 200 || status == 201, "{status}: {body}");
    assert_eq!(body["receipts"][3]["status"], "already_stored", "{body}");
    assert_eq!(body["receipts"][3]["leaf_index"], 4, "{body}");

    // A signed checkpoint covering all 21 records comes out.
    let deadline = Instant::now() + Duration::from_secs(15);
    while published_size(&server.base)? < 21 {
        assert!(
            Instant::now() < deadline,
            "no checkpoint of 21 leaves within 15 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        published_size(&server.base)?,
        21,
        "more leaves than records"
    );
    let (status, health) = {
        let mut response = agent().get(&format!("{}/healthz", server.base)).call()?;
        (
            response.status().as_u16(),
            serde_json::from_str::<Value>(&response.body_mut().read_to_string()?)?,
        )
    };
    assert_eq!(status, 200, "{health}");

    // One more, then SIGTERM at once: it is stored and published.
    let (status, body) = submit(&server.base, &admin, &passage("p-last", 59))?;
    assert_eq!(status, 201, "{body}");
    let mut server = server;
    let exit = terminate(&mut server.child, Duration::from_secs(20));
    assert!(exit.success(), "the server exited with {exit}");
    let proof = corridor.succeed_json(&["log", "prove", "--record", "p-last"]);
    assert_eq!(
        proof["tree_size"], 22,
        "the final checkpoint misses a record"
    );
    corridor.succeed(&["check"]);
    corridor.succeed(&[
        "verify",
        "--state",
        &directory.path().join("state.json").display().to_string(),
    ]);
    Ok(())
}
