//! A data directory whose log lives in an S3-compatible bucket (moto's
//! server on loopback; see corridor-log's `tests/s3/mod.rs`), through the
//! real binary: `init --log-url s3://...`, `add` publishes into the bucket,
//! anyone verifies it with `corridor verify --log <bucket URL>` (and
//! `report verify` reads it over HTTP), `log copy` moves it to a directory
//! and back, a flipped byte in the bucket is found and named, and
//! `corridor serve` killed (SIGKILL) mid-integration and restarted leaves
//! every stored record published and the log verifying.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[allow(dead_code)]
mod common;
use common::binary::{Sandbox, terminate};
use common::served::{Served, free_port};
use common::{SITE, agent};

#[path = "../../corridor-log/tests/s3/mod.rs"]
mod s3;

/// Runs `corridor` with the server's `AWS_*` environment.
fn command(sandbox: &Sandbox, server: &s3::S3Server, arguments: &[&str]) -> Command {
    let mut command = sandbox.corridor_on_data().command(arguments);
    command.envs(server.environment());
    command
}

#[track_caller]
fn succeed(sandbox: &Sandbox, server: &s3::S3Server, arguments: &[&str]) -> String {
    let output = command(sandbox, server, arguments)
        .output()
        .expect("corridor runs");
    assert!(
        output.status.success(),
        "corridor {arguments:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[track_caller]
fn fail(sandbox: &Sandbox, server: &s3::S3Server, arguments: &[&str]) -> String {
    let output = command(sandbox, server, arguments)
        .output()
        .expect("corridor runs");
    assert!(
        !output.status.success(),
        "corridor {arguments:?} should fail:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn passages(first: u64, count: u64) -> String {
    (first..first + count)
        .map(|index| {
            json!({"type": "passage", "id": format!("p-{index}"), "site": "cp-1",
                "observed_at": format!("2023-01-{:02}T{:02}:{:02}", 1 + index % 28, index % 24, index % 60),
                "direction": "inbound", "vehicle_class": "truck", "category": "red_cross",
                "outcome": "passed", "source": {"kind": "direct_observation", "name": "team A"},
                "recorded_by": "observer-1"})
            .to_string()
                + "\n"
        })
        .collect()
}

fn verified_size(sandbox: &Sandbox, server: &s3::S3Server, log: &str) -> u64 {
    let state = sandbox.text(&format!("state-{}.json", log.len()));
    let vkey = sandbox.text("data/keys/log.vkey");
    let output = succeed(
        sandbox,
        server,
        &[
            "verify", "--log", log, "--vkey", &vkey, "--state", &state, "--format", "json",
        ],
    );
    let value: Value = serde_json::from_str(&output).expect("JSON");
    value["tree_size"].as_u64().expect("a tree size")
}

#[test]
fn a_log_in_a_bucket_is_published_verified_copied_and_checked() {
    let Some(server) = s3::server("a_log_in_a_bucket_is_published_verified_copied_and_checked")
    else {
        return;
    };
    let bucket = server.bucket("binary");
    let sandbox = Sandbox::new();
    let url = format!("s3://{bucket}/lachin");
    succeed(
        &sandbox,
        &server,
        &["init", "--origin", "test.invalid/bucket", "--log-url", &url],
    );
    let config = std::fs::read_to_string(sandbox.path("data/corridor.toml")).expect("settings");
    assert!(config.contains(&format!("url = \"{url}\"")), "{config}");
    std::fs::write(
        sandbox.path("first.jsonl"),
        format!("{SITE}\n{}", passages(0, 300)),
    )
    .expect("input");
    succeed(&sandbox, &server, &["add", &sandbox.text("first.jsonl")]);
    assert!(
        !sandbox.path("data/log").exists(),
        "nothing is published in the data directory"
    );
    let public = server.public_url(&bucket, "lachin");
    assert_eq!(verified_size(&sandbox, &server, &public), 301);
    // The data directory's own `verify` and `check` read the bucket too.
    let vkey = sandbox.text("data/keys/log.vkey");
    succeed(
        &sandbox,
        &server,
        &["verify", "--state", &sandbox.text("own.json")],
    );
    succeed(&sandbox, &server, &["check"]);
    let receipt = succeed(&sandbox, &server, &["log", "prove", "--record", "p-7"]);
    std::fs::write(sandbox.path("receipt.json"), receipt).expect("receipt");
    succeed(
        &sandbox,
        &server,
        &[
            "verify",
            "receipt",
            &sandbox.text("receipt.json"),
            "--vkey",
            &vkey,
        ],
    );

    // A report, re-derived from the log over HTTP.
    std::fs::write(sandbox.path("more.jsonl"), passages(300, 20)).expect("input");
    succeed(&sandbox, &server, &["add", &sandbox.text("more.jsonl")]);
    let report = succeed(
        &sandbox,
        &server,
        &[
            "report",
            "--from",
            "2023-01-01",
            "--to",
            "2023-01-31",
            "--format",
            "json",
        ],
    );
    std::fs::write(sandbox.path("report.json"), report).expect("report");
    let checked = succeed(
        &sandbox,
        &server,
        &[
            "report",
            "verify",
            &sandbox.text("report.json"),
            "--log",
            &public,
            "--vkey",
            &vkey,
        ],
    );
    assert!(
        checked.contains("every figure matches") && checked.contains("tree size 321"),
        "{checked}"
    );

    // Back to a directory, and from there to another prefix of the bucket.
    let directory = sandbox.text("copied-log");
    let copied = succeed(&sandbox, &server, &["log", "copy", "--to", &directory]);
    assert!(
        copied.contains("at 321 leaves") && copied.contains("the copy verifies"),
        "{copied}"
    );
    assert_eq!(verified_size(&sandbox, &server, &directory), 321);
    let again = format!("s3://{bucket}/moved");
    succeed(
        &sandbox,
        &server,
        &["log", "copy", "--from", &directory, "--to", &again],
    );
    assert_eq!(
        verified_size(&sandbox, &server, &server.public_url(&bucket, "moved")),
        321
    );
    // Copying again writes the same bytes, which is success.
    succeed(&sandbox, &server, &["log", "copy", "--to", &directory]);

    // A flipped byte in the bucket is found, and the object named.
    let (_, mut bundle, _, _) = server.fetch(&bucket, "lachin/tile/entries/000");
    bundle[100] ^= 0x01;
    server.overwrite(&bucket, "lachin/tile/entries/000", &bundle);
    let state = sandbox.text("flipped.json");
    let error = fail(
        &sandbox,
        &server,
        &[
            "verify", "--log", &public, "--vkey", &vkey, "--state", &state,
        ],
    );
    assert!(
        error.contains("FAILED verification") && error.contains("tile/0/000"),
        "{error}"
    );
    let error = fail(&sandbox, &server, &["check"]);
    assert!(
        error.contains("tile/entries/000") || error.contains("entries altered"),
        "{error}"
    );
}

fn start(sandbox: &Sandbox, server: &s3::S3Server, port: u16) -> Served {
    Served::spawn(command(
        sandbox,
        server,
        &[
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--checkpoint-interval",
            "50",
        ],
    ))
    .expect("corridor serve starts")
}

fn post(base: &str, token: &str, body: &str) -> Option<u16> {
    agent()
        .post(&format!("{base}/api/v1/records"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/x-ndjson")
        .send(body.as_bytes())
        .ok()
        .map(|response| response.status().as_u16())
}

#[test]
fn killing_the_server_mid_integration_into_a_bucket_loses_nothing() {
    let Some(server) = s3::server("killing_the_server_mid_integration_into_a_bucket_loses_nothing")
    else {
        return;
    };
    let bucket = server.bucket("serve");
    let sandbox = Sandbox::new();
    let url = format!("s3://{bucket}/served");
    succeed(
        &sandbox,
        &server,
        &["init", "--origin", "test.invalid/served", "--log-url", &url],
    );
    let token = succeed(
        &sandbox,
        &server,
        &["token", "create", "--name", "load", "--role", "admin"],
    )
    .trim()
    .to_owned();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut acknowledged: Vec<u64> = Vec::new();
    let mut next = 0u64;
    {
        let _running = start(&sandbox, &server, port);
        assert_eq!(post(&base, &token, SITE), Some(201));
    }
    for round in 0..3u64 {
        let mut running = start(&sandbox, &server, port);
        // Batches keep the integrator busy; the kill lands while it writes.
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(300 + 150 * round) {
            let body = passages(next, 100);
            if post(&base, &token, &body).is_some_and(|status| status == 201) {
                acknowledged.push(next);
            }
            next += 100;
        }
        running.child.kill().expect("SIGKILL");
        running.child.wait().expect("reaped");
    }
    // A clean restart and stop publishes every stored record; with a
    // public URL, `/log/` redirects readers to the bucket.
    let public = server.public_url(&bucket, "served");
    let settings = sandbox.path("data/corridor.toml");
    let text = std::fs::read_to_string(&settings).expect("settings");
    std::fs::write(
        &settings,
        text.replace(
            &format!("url = \"{url}\"\n"),
            &format!("url = \"{url}\"\npublic_url = \"{public}\"\n"),
        ),
    )
    .expect("settings");
    let mut running = start(&sandbox, &server, port);
    let no_redirects: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let redirect = no_redirects
        .get(&format!("{base}/log/tile/entries/000"))
        .call()
        .expect("answered");
    assert_eq!(redirect.status(), 302);
    assert_eq!(
        redirect
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok()),
        Some(format!("{public}/tile/entries/000").as_str())
    );
    // `/log/` serves the bucket's objects.
    let mut response = agent()
        .get(&format!("{base}/log/checkpoint"))
        .call()
        .expect("served");
    let served = response.body_mut().read_to_vec().expect("a body");
    let (_, in_bucket, _, _) = server.fetch(&bucket, "served/checkpoint");
    assert_eq!(served, in_bucket);
    let mut followed = agent()
        .get(&format!("{base}/log/tile/entries/000"))
        .call()
        .expect("followed to the bucket");
    let (_, bundle, _, _) = server.fetch(&bucket, "served/tile/entries/000");
    assert_eq!(followed.body_mut().read_to_vec().expect("a body"), bundle);
    let exit = terminate(&mut running.child, Duration::from_secs(60));
    assert!(exit.success(), "{exit}");
    let status: Value =
        serde_json::from_str(&succeed(&sandbox, &server, &["status", "--format", "json"]))
            .expect("JSON");
    let stored = status["records"].as_u64().expect("a count");
    let acknowledged_records = 100 * acknowledged.len() as u64;
    assert!(
        !acknowledged.is_empty() && stored > acknowledged_records,
        "{stored} stored, {acknowledged_records} acknowledged"
    );
    assert_eq!(verified_size(&sandbox, &server, &public), stored);
    succeed(&sandbox, &server, &["check"]);
    // Every acknowledged batch is there, first and last record.
    for first in acknowledged {
        for index in [first, first + 99] {
            succeed(&sandbox, &server, &["show", &format!("p-{index}")]);
        }
    }
}
