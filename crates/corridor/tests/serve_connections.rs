//! Connections against the real `corridor serve`: a flood of idle and slow
//! connections under a low descriptor limit (`ulimit -n 256`) must leave
//! `/healthz` answering and checkpoints being published, and the idle and
//! header-read timeouts close what they should.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use corridor_engine::DataDir;
use corridor_server::{Role, create_token};
use serde_json::{Value, json};

#[allow(dead_code)]
mod common;
use common::binary::Corridor;
use common::served::{SERVE_ON_A_FREE_PORT, Served};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A data directory with site `cp-1` and an observer token.
fn prepared(
    home: &std::path::Path,
) -> Result<(std::path::PathBuf, String), Box<dyn std::error::Error>> {
    let data = home.join("data");
    let corridor = Corridor::with_data(home, &data);
    corridor.succeed(&["init", "--origin", "test.example/connections"]);
    let site = home.join("site.jsonl");
    std::fs::write(&site, format!("{}\n", common::SITE))?;
    corridor.succeed(&["add", &site.display().to_string()]);
    let mut store = DataDir::open(&data)?.open_store()?;
    let token = create_token(&mut store, "team a", Role::Observer)?.token;
    Ok((data, token))
}

/// `corridor serve` with at most `open_files` descriptors and `extra` flags.
fn start(
    home: &std::path::Path,
    data: &std::path::Path,
    open_files: u32,
    extra: &[&str],
) -> Result<Served, Box<dyn std::error::Error>> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -n {open_files} || exit 99; exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_corridor"))
        .arg("--data")
        .arg(data)
        .args(SERVE_ON_A_FREE_PORT)
        .args(extra)
        .env_remove("CORRIDOR_DATA")
        .env_remove("CORRIDOR_LOG")
        .env("HOME", home);
    Served::spawn(command)
}

/// One request on a new connection (`Connection: close`), answered within
/// `limit` or an error saying what did not happen in time: a server that
/// stopped accepting must fail the test, not hang it.
fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    limit: Duration,
) -> Result<(u16, String), String> {
    let started = Instant::now();
    let socket: std::net::SocketAddr = address.parse().map_err(|error| format!("{error}"))?;
    let mut stream = TcpStream::connect_timeout(&socket, limit)
        .map_err(|error| format!("{method} {path}: no connection within {limit:?}: {error}"))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|error| format!("{method} {path}: sending failed: {error}"))?;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 16_384];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(format!(
                "{method} {path}: no complete answer within {limit:?}"
            ));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|error| error.to_string())?;
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            Err(error) => {
                return Err(format!(
                    "{method} {path}: no complete answer within {limit:?} ({error}); got {:?}",
                    String::from_utf8_lossy(&received)
                ));
            }
        }
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: not an HTTP answer: {text:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{method} {path}: no status in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// Connects within 2 s, or says the server stopped accepting.
fn connect(address: &str, number: usize) -> Result<TcpStream, String> {
    let socket: std::net::SocketAddr = address.parse().map_err(|error| format!("{error}"))?;
    TcpStream::connect_timeout(&socket, Duration::from_secs(2))
        .map_err(|error| format!("connection {number} of the flood failed: {error}"))
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
}

#[test]
fn a_flood_of_idle_connections_under_a_low_descriptor_limit_leaves_healthz_and_checkpoints_working()
-> TestResult {
    let holder = tempfile::tempdir()?;
    let home = holder.path();
    let (data, token) = prepared(home)?;
    let server = start(home, &data, 256, &[])?;

    // More connections than the process has descriptors: idle ones, and
    // slow ones that send half a request head and stop.
    let mut flood = Vec::new();
    for number in 0..400 {
        let mut stream = connect(&server.address, number)?;
        if number % 4 == 0 {
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: flood\r\n")?;
        }
        flood.push(stream);
    }
    // Let the server take them all from its queue.
    std::thread::sleep(Duration::from_millis(500));

    let limit = Duration::from_secs(10);
    let started = Instant::now();
    let (status, health) = request(&server.address, "GET", "/healthz", &[], b"", limit)?;
    assert_eq!(status, 200, "{health}");
    let health: Value = serde_json::from_str(&health)?;
    assert_eq!(health["status"], "ok", "{health}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "healthz took {:?} behind the flood",
        started.elapsed()
    );

    // A submission still gets its checkpoint: the log can open its files.
    let record = json!({"type": "passage", "id": "p-1", "site": "cp-1",
        "observed_at": "2023-01-17T09:40", "category": "civilian",
        "source": {"kind": "direct_observation", "name": "Team A"}, "recorded_by": "team-a"});
    let bearer = format!("Bearer {token}");
    let (status, answer) = request(
        &server.address,
        "POST",
        "/api/v1/records?wait=true",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        &serde_json::to_vec(&record)?,
        Duration::from_secs(15),
    )?;
    let answer: Value = serde_json::from_str(&answer)?;
    assert_eq!(status, 201, "{answer}");
    let receipt = &answer["receipts"][0];
    assert_eq!(receipt["leaf_index"], 1, "{answer}");
    assert_eq!(
        receipt["tree_size"], 2,
        "no checkpoint covers the record: {answer}"
    );
    let (_, checkpoint) = request(&server.address, "GET", "/log/checkpoint", &[], b"", limit)?;
    assert_eq!(checkpoint.lines().nth(1), Some("2"), "{checkpoint}");

    let (_, metrics) = request(&server.address, "GET", "/metrics", &[], b"", limit)?;
    assert_eq!(
        metric(&metrics, "corridor_http_connections_cap"),
        Some(128),
        "256 - 128 reserved"
    );
    let displaced = metric(&metrics, "corridor_connections_displaced_total").unwrap_or(0);
    assert!(
        displaced >= 400 - 128,
        "only {displaced} displaced:\n{metrics}"
    );
    assert!(
        metric(&metrics, "corridor_http_connections").unwrap_or(u64::MAX) <= 128,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "corridor_integration_failures_total"),
        Some(0),
        "{metrics}"
    );
    drop(flood);
    Ok(())
}

/// Reads until the server closes the connection; returns what it sent.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, String> {
    stream
        .set_read_timeout(Some(limit))
        .map_err(|error| error.to_string())?;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(received),
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            // A reset is a close too.
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ok(received);
            }
            Err(error) => return Err(format!("still open after {limit:?}: {error}")),
        }
    }
}

#[test]
fn idle_and_slow_connections_are_closed_by_their_timeouts() -> TestResult {
    let holder = tempfile::tempdir()?;
    let home = holder.path();
    let (data, _token) = prepared(home)?;
    let server = start(
        home,
        &data,
        1024,
        &["--idle-timeout", "2", "--header-read-timeout", "1"],
    )?;

    // Idle: closed after about 2 s without a byte.
    let mut idle = TcpStream::connect(&server.address)?;
    let started = Instant::now();
    read_until_closed(&mut idle, Duration::from_secs(10))?;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6),
        "an idle connection was closed after {waited:?}"
    );

    // Slow: a byte of the head every 200 ms keeps it from being idle, but
    // the head is not complete within 1 s of its first byte.
    let mut slow = TcpStream::connect(&server.address)?;
    let started = Instant::now();
    let mut closed = false;
    for byte in b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if slow.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if started.elapsed() > Duration::from_secs(8) {
            break;
        }
    }
    if !closed {
        read_until_closed(&mut slow, Duration::from_secs(2))?;
    }
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "a slow head was still read after {waited:?}"
    );

    // A kept-alive connection answers several requests, then closes when idle.
    let mut kept = TcpStream::connect(&server.address)?;
    for _ in 0..2 {
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: kept\r\n\r\n")?;
        kept.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut buffer = [0_u8; 4096];
        let read = kept.read(&mut buffer)?;
        let head = String::from_utf8_lossy(&buffer[..read]).into_owned();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    read_until_closed(&mut kept, Duration::from_secs(10))?;
    Ok(())
}

#[test]
fn a_descriptor_reserve_that_leaves_nothing_for_connections_is_refused_at_start() -> TestResult {
    let holder = tempfile::tempdir()?;
    let home = holder.path();
    let (data, _token) = prepared(home)?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 100 || exit 99; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_corridor"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("HOME", home)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the server started although no descriptor is left for connections".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("the process may open 100 files (RLIMIT_NOFILE) and --reserved-fds keeps 128 of them for the store and the log, which leaves no descriptor for connections (--max-connections 1024): raise the limit (ulimit -n) or lower --reserved-fds"),
        "{stderr}"
    );
    Ok(())
}
