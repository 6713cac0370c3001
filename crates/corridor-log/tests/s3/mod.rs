//! A real S3-compatible server on loopback for tests: moto's server mode
//! from the repository's `.venv` (scripts/python-tools.sh installs it),
//! started on a free port, or the server at `CORRIDOR_S3_ENDPOINT`. Without
//! either the tests print a loud SKIP and pass, unless `CORRIDOR_REQUIRE_S3=1`
//! (CI), which makes the skip a failure. Shared by corridor-log's and the
//! binary's bucket tests (included with `#[path]`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Any credentials do for moto; real ones come from the environment.
pub const KEY_ID: &str = "corridor-test";
pub const SECRET_KEY: &str = "corridor-test-secret";

/// A running S3-compatible server; moto is stopped when this is dropped.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    child: Option<Mutex<Child>>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let child = child.get_mut().unwrap_or_else(PoisonError::into_inner);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn moto_server_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(".venv/bin/moto_server")
}

/// The server, or `None` after a loud SKIP naming `test`.
///
/// # Panics
///
/// With `CORRIDOR_REQUIRE_S3=1` when there is no server; when moto does
/// not start.
pub fn server(test: &str) -> Option<S3Server> {
    if let Ok(endpoint) = std::env::var("CORRIDOR_S3_ENDPOINT") {
        return Some(S3Server {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            child: None,
        });
    }
    let moto = moto_server_path();
    if !moto.is_file() {
        let message = format!(
            "SKIP {test}: no S3-compatible server: {} is missing (run scripts/python-tools.sh) \
             and CORRIDOR_S3_ENDPOINT is unset",
            moto.display()
        );
        if std::env::var("CORRIDOR_REQUIRE_S3").as_deref() == Ok("1") {
            panic!("{message}, and CORRIDOR_REQUIRE_S3=1 forbids skipping");
        }
        eprintln!("\n!!!!!!!! {message} !!!!!!!!\n");
        return None;
    }
    Some(start_moto(&moto))
}

/// Starts moto on a port it picks itself (`-p 0`) and reads the address
/// from the line it prints once it listens. Choosing a free port first and
/// handing it over leaves a window in which another listener in this
/// process (a parallel test's moto or `corridor serve`) can take it; the
/// readiness probe then reaches that listener, and the test meets a
/// refused connection once it goes away.
fn start_moto(moto: &std::path::Path) -> S3Server {
    let mut child = Command::new(moto)
        .args(["-H", "127.0.0.1", "-p", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("moto_server starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (address_tx, address_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
    // Moto logs every request on stderr: the thread keeps reading after
    // the address so that the pipe never fills and stalls the server.
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = String::new();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(address) = listening_address(&line) {
                let _ = address_tx.send(Ok(address));
                lines.for_each(drop);
                return;
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        let _ = address_tx.send(Err(format!(
            "moto_server closed its output without a listening address; it printed:\n{seen}"
        )));
    });
    let failure = match address_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(address)) => {
            if TcpStream::connect_timeout(&address, Duration::from_secs(5)).is_ok() {
                return S3Server {
                    endpoint: format!("http://{address}"),
                    child: Some(Mutex::new(child)),
                };
            }
            format!("moto_server said it listens on {address}, but it refuses connections")
        }
        Ok(Err(failure)) => failure,
        Err(_) => "moto_server printed no listening address within 60 s".to_owned(),
    };
    let _ = child.kill();
    let status = child.wait();
    panic!("{failure} (exit: {status:?})");
}

/// The address in werkzeug's ` * Running on http://127.0.0.1:PORT` line.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = line.split("Running on http://").nth(1)?;
    let address = rest.split_whitespace().next()?.trim_end_matches('/');
    address.parse().ok()
}

static BUCKETS: AtomicU64 = AtomicU64::new(0);

impl S3Server {
    /// Creates a bucket with a name no other test in this process uses.
    pub fn bucket(&self, purpose: &str) -> String {
        let name = format!(
            "corridor-{purpose}-{}-{}",
            std::process::id(),
            BUCKETS.fetch_add(1, Ordering::Relaxed)
        );
        self.create_bucket(&name);
        name
    }

    /// Creates the bucket `name` (moto takes unsigned requests) with the
    /// policy docs/log.md gives for a public log: anyone may read objects.
    pub fn create_bucket(&self, name: &str) {
        let url = format!("{}/{name}", self.endpoint);
        match ureq::put(&url).send_empty() {
            Ok(_) => {}
            Err(ureq::Error::StatusCode(409)) => {}
            Err(error) => panic!("creating bucket {url}: {error}; {}", self.liveness()),
        }
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicReadLog","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{name}/*"}}]}}"#
        );
        ureq::put(&format!("{url}?policy"))
            .header("content-type", "application/json")
            .send(policy.as_bytes())
            .unwrap_or_else(|error| panic!("setting the policy of {url}: {error}"));
    }

    /// Whether the moto this harness started is still running, for
    /// failure messages.
    fn liveness(&self) -> String {
        match &self.child {
            None => "the server is CORRIDOR_S3_ENDPOINT's".to_owned(),
            Some(child) => {
                let mut child = child.lock().unwrap_or_else(PoisonError::into_inner);
                match child.try_wait() {
                    Ok(None) => format!("moto_server (process {}) is still running", child.id()),
                    Ok(Some(status)) => format!("moto_server has exited with {status}"),
                    Err(error) => format!("moto_server's state is unknown: {error}"),
                }
            }
        }
    }

    /// The public (path-style) URL of `prefix` in `bucket`.
    pub fn public_url(&self, bucket: &str, prefix: &str) -> String {
        format!("{}/{bucket}/{prefix}", self.endpoint)
    }

    /// The options that reach this server with the test credentials.
    pub fn options(&self) -> corridor_log::ObjectLogOptions {
        corridor_log::ObjectLogOptions {
            endpoint: Some(self.endpoint.clone()),
            allow_http: Some(true),
            region: Some("us-east-1".into()),
            credentials: Some(corridor_log::ObjectCredentials {
                key_id: KEY_ID.into(),
                secret_key: SECRET_KEY.into(),
                session_token: None,
            }),
            max_retries: 2,
            request_timeout: Duration::from_secs(10),
            ..corridor_log::ObjectLogOptions::default()
        }
    }

    /// The environment a `corridor` process needs to reach this server.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ]
    }

    /// Reads an object over plain HTTP, as a public reader would: status,
    /// body, and the `Cache-Control` and `Content-Type` headers.
    pub fn fetch(&self, bucket: &str, key: &str) -> (u16, Vec<u8>, String, String) {
        let url = format!("{}/{bucket}/{key}", self.endpoint);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent.get(&url).call().expect("moto answers");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let cache_control = header("cache-control");
        let content_type = header("content-type");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_vec().expect("a body");
        (status, body, cache_control, content_type)
    }

    /// Overwrites an object behind the log's back (an unconditional PUT
    /// as the bucket's owner; moto does not check the signature), as damage
    /// or a malicious operator would.
    pub fn overwrite(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let url = format!("{}/{bucket}/{key}", self.endpoint);
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
        );
        ureq::put(&url)
            .header("authorization", &authorization)
            .send(bytes)
            .unwrap_or_else(|error| panic!("overwriting {url}: {error}"));
    }
}
