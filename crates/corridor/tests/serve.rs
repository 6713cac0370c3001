//! `corridor serve` as a real process on a free port: submit over HTTP, get
//! a receipt whose proof verifies after the next checkpoint, and stop with
//! SIGTERM without losing anything acknowledged.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn corridor(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corridor"));
    command.arg("--data").arg(data);
    command
}

fn run(data: &Path, arguments: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let output = corridor(data).args(arguments).output()?;
    if !output.status.success() {
        return Err(format!(
            "corridor {arguments:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The server process; killed if the test fails before stopping it.
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

fn start(data: &Path) -> Result<Running, Box<dyn std::error::Error>> {
    let mut child = corridor(data)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--checkpoint-interval",
            "200",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|url| url.starts_with("http://"))
        .ok_or_else(|| format!("no address in {line:?}"))?
        .to_string();
    Ok(Running { child, base })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
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
    run(&data, &["init", "--origin", "test.example/serve"])?;
    let admin = run(
        &data,
        &["token", "create", "--name", "operator", "--role", "admin"],
    )?
    .trim()
    .to_string();
    let observer = run(
        &data,
        &["token", "create", "--name", "team a", "--role", "observer"],
    )?
    .trim()
    .to_string();
    let listed = run(&data, &["token", "list"])?;
    assert!(listed.contains("operator") && listed.contains("observer"));
    assert!(!listed.contains(&admin), "token list shows a secret");

    let server = start(&data)?;
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
    run(
        &data,
        &[
            "verify",
            "receipt",
            &receipt_file.display().to_string(),
            "--vkey",
            &vkey.display().to_string(),
        ],
    )?;

    // Acknowledge one more, then SIGTERM at once: it must be stored and published.
    let (status, body) = post(&server.base, &observer, "/api/v1/records", &passage("p-3"))?;
    assert_eq!(status, 201, "{body}");
    let mut server = server;
    let terminated = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()?;
    assert!(terminated.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = server.child.try_wait()? {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "the server exited with {exit}");
    let proof: Value = serde_json::from_str(&run(&data, &["log", "prove", "--record", "p-3"])?)?;
    assert_eq!(
        proof["tree_size"], 4,
        "the final checkpoint misses an acknowledged record"
    );
    run(
        &data,
        &[
            "verify",
            "--state",
            &directory.path().join("state.json").display().to_string(),
        ],
    )?;
    Ok(())
}
