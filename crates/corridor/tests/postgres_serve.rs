//! `corridor serve` on a PostgreSQL store, as a real process: records
//! submitted over HTTP are acknowledged, published in a signed checkpoint,
//! kept across SIGTERM, and `corridor check` and `corridor verify` then pass.
//! Until the store moved its connections off async threads, the server
//! panicked at start-up here (the `postgres` client started its runtime
//! inside the server's).
//!
//! Runs on a throwaway cluster; skipped loudly without PostgreSQL (a
//! failure under `CORRIDOR_REQUIRE_POSTGRES=1`).

use std::time::{Duration, Instant};

use corridor_store::postgres::cluster::Cluster;
use serde_json::{Value, json};

#[allow(dead_code)]
mod common;
use common::binary::{Corridor, terminate};
use common::published::checkpoint_of;
use common::served::{SERVE_ON_A_FREE_PORT, Served};
use common::{agent, km12_passage, km12_site};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn start(corridor: &Corridor) -> Result<Served, Box<dyn std::error::Error>> {
    Served::spawn(corridor.command(&SERVE_ON_A_FREE_PORT))
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
    let (status, body) = submit(&server.base, &admin, &km12_site())?;
    assert_eq!(status, 201, "{body}");
    let batch: Vec<Value> = (0..20)
        .map(|n| km12_passage(&format!("p-{n}"), n))
        .collect();
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
    let (status, body) = submit(&server.base, &admin, &km12_passage("p-last", 59))?;
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

/// The answer to `id` in a per-record submission's response: its receipt's
/// status and leaf, or the message of its error.
fn answer_for(body: &Value, id: &str) -> Result<(String, Option<u64>), String> {
    let receipt = body["receipts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|receipt| receipt["id"] == id);
    if let Some(receipt) = receipt {
        let status = receipt["status"].as_str().unwrap_or_default().to_string();
        return Ok((status, receipt["leaf_index"].as_u64()));
    }
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|error| error["id"] == id)
        .map(|error| Err(error["message"].as_str().unwrap_or_default().to_string()))
        .unwrap_or_else(|| Err(format!("no answer for {id} in {body}")))
}

#[test]
fn two_servers_on_one_database_store_an_id_sent_to_both_once() -> TestResult {
    let Some(cluster) = Cluster::shared_or_skip("two corridor serve on one PostgreSQL database")
    else {
        return Ok(());
    };
    let url = cluster.create_database()?;
    let directory = tempfile::tempdir()?;
    // The second data directory joins the first's log with its key.
    let corridors = [
        Corridor::with_data(directory.path(), &directory.path().join("one")),
        Corridor::with_data(directory.path(), &directory.path().join("two")),
    ];
    corridors[0].succeed(&["--store", &url, "init", "--origin", "test.example/two"]);
    corridors[1].succeed(&[
        "--store",
        &url,
        "init",
        "--key",
        &directory
            .path()
            .join("one/keys/log.key")
            .display()
            .to_string(),
        "--log-url",
        &directory.path().join("one/log").display().to_string(),
    ]);
    // Tokens live in the database: one created through either directory
    // opens both servers.
    let admin = corridors[0]
        .succeed(&["token", "create", "--name", "operator", "--role", "admin"])
        .trim()
        .to_string();
    let servers = [start(&corridors[0])?, start(&corridors[1])?];
    let (status, body) = submit(&servers[0].base, &admin, &km12_site())?;
    assert_eq!(status, 201, "{body}");

    const ROUNDS: u64 = 10;
    let barrier = std::sync::Barrier::new(2);
    let bodies: Vec<Vec<Value>> = std::thread::scope(|scope| {
        let threads: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(which, server)| {
                let (barrier, admin) = (&barrier, &admin);
                scope.spawn(move || -> Result<Vec<Value>, String> {
                    let mut bodies = Vec::new();
                    for round in 0..ROUNDS {
                        let mut differs = km12_passage(&format!("d-{round}"), round);
                        differs["category"] = json!(["civilian", "red_cross"][which]);
                        let batch = json!([km12_passage(&format!("s-{round}"), round), differs]);
                        barrier.wait();
                        let answer = send(
                            agent()
                                .post(&format!("{}/api/v1/records?mode=per_record", server.base)),
                            admin,
                            &batch,
                        );
                        bodies.push(match answer {
                            Ok((status, body)) => json!({"status": status, "body": body}),
                            Err(error) => json!({"status": 0, "body": error.to_string()}),
                        });
                    }
                    Ok(bodies)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("a client thread").expect("answers"))
            .collect()
    });
    let mut leaves = Vec::new();
    for (round, (one, two)) in bodies[0].iter().zip(&bodies[1]).enumerate() {
        for answered in [one, two] {
            let status = answered["status"].as_u64().unwrap_or_default();
            assert!(status == 200 || status == 201, "round {round}: {answered}");
        }
        let same = format!("s-{round}");
        let answers = (
            answer_for(&one["body"], &same),
            answer_for(&two["body"], &same),
        );
        let leaf = match answers {
            (Ok((first, Some(a))), Ok((second, Some(b)))) => {
                let mut statuses = [first, second];
                statuses.sort();
                assert_eq!(
                    statuses,
                    ["already_stored", "stored"],
                    "{same}: {one} / {two}"
                );
                assert_eq!(a, b, "{same}: answered at two leaves");
                a
            }
            other => panic!("{same}: {other:?}"),
        };
        leaves.push(leaf);
        let differs = format!("d-{round}");
        let answers = (
            answer_for(&one["body"], &differs),
            answer_for(&two["body"], &differs),
        );
        let (leaf, refusal) = match answers {
            (Ok((status, Some(leaf))), Err(refusal)) | (Err(refusal), Ok((status, Some(leaf)))) => {
                assert_eq!(status, "stored", "{differs}: {one} / {two}");
                (leaf, refusal)
            }
            other => panic!("{differs}: stored by neither or both: {other:?}"),
        };
        assert!(
            refusal.contains(&format!("{differs:?} is already stored (leaf {leaf}")),
            "{differs}: {refusal}"
        );
        leaves.push(leaf);
    }
    leaves.sort_unstable();
    assert_eq!(
        leaves,
        (1..=2 * ROUNDS).collect::<Vec<_>>(),
        "leaves not dense"
    );
    for server in servers {
        let mut server = server;
        let exit = terminate(&mut server.child, Duration::from_secs(20));
        assert!(exit.success(), "a server exited with {exit}");
    }
    corridors[1].succeed(&["check"]);
    Ok(())
}
