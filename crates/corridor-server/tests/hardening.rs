//! The server under pressure, through the router: failed authentications
//! limited per client address (behind trusted proxies too) while valid
//! tokens never are, the `Bearer` scheme in any case, backpressure and a
//! degraded `/healthz` (a backlog over its limit, a log that cannot be
//! written), and erasure that leaves the erased value nowhere on disk.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use corridor_engine::{Config, DataDir};
use corridor_server::{ClientAddresses, Role, Server, ServerOptions, create_token};
use serde_json::{Value, json};
use tower::ServiceExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PLATE: &str = "ERASE-ME-PLATE-0815";

struct Fixture {
    directory: tempfile::TempDir,
    server: Server,
    admin: String,
    analyst: String,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

fn fixture(options: ServerOptions) -> Result<Fixture, Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    let data_dir = DataDir::init(
        &directory.path().join("data"),
        Config::new("test.example/hardening"),
    )?;
    let mut store = data_dir.open_store()?;
    let admin = create_token(&mut store, "operator", Role::Admin)?.token;
    let analyst = create_token(&mut store, "desk", Role::Analyst)?.token;
    drop(store);
    let server = Server::start(data_dir, options)?;
    Ok(Fixture {
        directory,
        server,
        admin,
        analyst,
    })
}

fn options() -> ServerOptions {
    ServerOptions {
        checkpoint_interval: Duration::from_millis(100),
        rate_per_second: 10_000.0,
        rate_burst: 10_000.0,
        ..ServerOptions::default()
    }
}

impl Fixture {
    fn router(&self) -> Router {
        self.server.router()
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        peer: &str,
        headers: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(body)?))?,
            None => request.body(Body::empty())?,
        };
        let peer: SocketAddr = peer.parse()?;
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = self.router().oneshot(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok(Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }

    async fn submit(&self, body: &Value) -> Result<Answer, Box<dyn std::error::Error>> {
        let bearer = vec![("authorization", format!("Bearer {}", self.admin))];
        self.call(
            "POST",
            "/api/v1/records",
            "127.0.0.1:1",
            &bearer,
            Some(body),
        )
        .await
    }

    async fn health(&self) -> Result<Value, Box<dyn std::error::Error>> {
        let answer = self
            .call("GET", "/healthz", "127.0.0.1:1", &[], None)
            .await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        Ok(answer.body)
    }

    /// Waits up to 10 s for `/healthz` to satisfy `done`; returns its last answer.
    async fn health_until(
        &self,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        let started = Instant::now();
        loop {
            let health = self.health().await?;
            if done(&health) || started.elapsed() > Duration::from_secs(10) {
                return Ok(health);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn site(id: &str) -> Value {
    json!({"type": "site", "id": id, "name": "Checkpoint", "kind": "checkpoint",
        "timezone": "Asia/Baku", "source": {"kind": "direct_observation", "name": "Team A"},
        "recorded_by": "team-a"})
}

fn passage(id: &str) -> Value {
    json!({"type": "passage", "id": id, "site": "km-12", "observed_at": "2023-01-17T09:40",
        "category": "red_cross", "source": {"kind": "direct_observation", "name": "Team A"},
        "recorded_by": "team-a", "private": {"plate": PLATE}})
}

fn codes(health: &Value) -> Vec<String> {
    health["reasons"]
        .as_array()
        .map(|reasons| {
            reasons
                .iter()
                .filter_map(|reason| reason["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn failed_authentications_are_limited_per_client_address_and_valid_tokens_never() -> TestResult
{
    let fixture = fixture(ServerOptions {
        auth_failures_per_minute: 3.0,
        client_addresses: ClientAddresses {
            trusted_proxies: vec!["10.0.0.0/8".parse()?],
        },
        ..options()
    })?;
    let bogus = vec![("authorization", "Bearer corridor_bogus".to_string())];
    let records = "/api/v1/records";
    for attempt in 0..3 {
        let answer = fixture
            .call("GET", records, "203.0.113.9:4000", &bogus, None)
            .await?;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {}",
            answer.body
        );
    }
    let answer = fixture
        .call("GET", records, "203.0.113.9:4001", &bogus, None)
        .await?;
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        answer.body
    );
    assert_eq!(
        answer
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()),
        Some("20"),
        "3 failures a minute: the next one in 20 s"
    );
    // A valid token from the same address is never limited, in any case of the scheme.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let good = vec![("authorization", format!("{scheme} {}", fixture.analyst))];
        let answer = fixture
            .call("GET", records, "203.0.113.9:4002", &good, None)
            .await?;
        assert_eq!(answer.status, StatusCode::OK, "{scheme}: {}", answer.body);
    }
    // Requests without a token are not failures.
    let answer = fixture
        .call("GET", "/api/v1/sites", "203.0.113.9:4003", &[], None)
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // Another address has its own budget.
    let answer = fixture
        .call("GET", records, "203.0.113.10:4000", &bogus, None)
        .await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);

    // Behind a trusted proxy the client is the rightmost untrusted hop; a
    // hop the client wrote to the left does not give it a fresh budget.
    for attempt in 0..3 {
        let forwarded = vec![
            bogus[0].clone(),
            (
                "x-forwarded-for",
                format!("192.0.2.{attempt}, 198.51.100.1"),
            ),
        ];
        let answer = fixture
            .call("GET", records, "10.0.0.5:80", &forwarded, None)
            .await?;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {}",
            answer.body
        );
    }
    let forwarded = vec![
        bogus[0].clone(),
        ("x-forwarded-for", "192.0.2.99, 198.51.100.1".to_string()),
    ];
    let answer = fixture
        .call("GET", records, "10.0.0.5:80", &forwarded, None)
        .await?;
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        answer.body
    );
    let other_client = vec![
        bogus[0].clone(),
        ("x-forwarded-for", "198.51.100.2".to_string()),
    ];
    let answer = fixture
        .call("GET", records, "10.0.0.5:80", &other_client, None)
        .await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    // An untrusted peer's X-Forwarded-For is ignored: its own address is limited.
    let spoofed = vec![
        bogus[0].clone(),
        ("x-forwarded-for", "198.51.100.77".to_string()),
    ];
    let answer = fixture
        .call("GET", records, "203.0.113.9:4004", &spoofed, None)
        .await?;
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        answer.body
    );
    Ok(())
}

#[tokio::test]
async fn a_backlog_over_its_limit_refuses_writes_and_healthz_says_degraded() -> TestResult {
    // Nothing is published on its own for an hour: the backlog only grows.
    let fixture = fixture(ServerOptions {
        checkpoint_interval: Duration::from_secs(3600),
        max_unpublished: 2,
        ..options()
    })?;
    let health = fixture.health().await?;
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["reasons"], json!([]), "{health}");
    let answer = fixture
        .submit(&json!([site("km-12"), passage("p-1"), passage("p-2")]))
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);

    let health = fixture.health().await?;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(codes(&health), ["backlog_over_limit"], "{health}");
    assert_eq!(health["unpublished"], 3, "{health}");
    assert_eq!(
        health["reasons"][0]["message"],
        "3 acknowledged records are not yet in a signed checkpoint (limit 2); submissions are refused until publishing catches up"
    );
    let answer = fixture.submit(&passage("p-3")).await?;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    assert_eq!(
        answer
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()),
        Some("5")
    );
    assert_eq!(
        answer.body["error"]["message"],
        "nothing of this submission was stored: 3 acknowledged records are not yet in a signed checkpoint (limit 2); submissions are refused until publishing catches up"
    );
    let stored = fixture
        .server
        .state()
        .with_store(|store| Ok(store.leaf_count()?))
        .await?;
    assert_eq!(stored, 3, "the refused record was not stored");

    // A report publishes first; then writes are taken again.
    let report = "/api/v1/report?from=2023-01-17&to=2023-01-17";
    let answer = fixture
        .call("GET", report, "127.0.0.1:1", &[], None)
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let health = fixture.health().await?;
    assert_eq!(health["status"], "ok", "{health}");
    let answer = fixture.submit(&passage("p-3")).await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);

    let metrics = fixture
        .call("GET", "/metrics", "127.0.0.1:1", &[], None)
        .await?;
    assert_eq!(metrics.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn healthz_says_degraded_while_publishing_fails_and_ok_once_it_works_again() -> TestResult {
    let fixture = fixture(options())?;
    let answer = fixture
        .submit(&json!([site("km-12"), passage("p-1")]))
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let health = fixture
        .health_until(|health| health["tree_size"] == 2)
        .await?;
    assert_eq!(health["status"], "ok", "{health}");

    // The log's tile directory becomes a file: no tile can be written.
    let tiles = fixture.directory.path().join("data/log/tile");
    let moved = fixture.directory.path().join("tiles-aside");
    std::fs::rename(&tiles, &moved)?;
    std::fs::write(&tiles, b"not a directory")?;
    let answer = fixture.submit(&passage("p-2")).await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let health = fixture
        .health_until(|health| codes(health).contains(&"publishing_fails".to_string()))
        .await?;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(codes(&health), ["publishing_fails"], "{health}");
    let message = health["reasons"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("publishing a signed checkpoint has failed ")
            && message.ends_with(
                "; records are stored but not yet in the log (the operator's log has the error)"
            ),
        "{message}"
    );
    assert!(
        !message.contains("tile"),
        "no internal path in a public answer: {message}"
    );

    std::fs::remove_file(&tiles)?;
    std::fs::rename(&moved, &tiles)?;
    let health = fixture
        .health_until(|health| health["tree_size"] == 3)
        .await?;
    assert_eq!(health["status"], "ok", "{health}");
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn erasure_removes_the_value_from_the_database_and_its_write_ahead_log() -> TestResult {
    let fixture = fixture(options())?;
    let answer = fixture
        .submit(&json!([site("km-12"), passage("p-1")]))
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let data = fixture.directory.path().join("data");
    let on_disk = || -> Result<bool, Box<dyn std::error::Error>> {
        let mut found = false;
        for name in ["store.db", "store.db-wal"] {
            let path = data.join(name);
            if path.exists() {
                found |= contains(&std::fs::read(&path)?, PLATE.as_bytes());
            }
        }
        Ok(found)
    };
    assert!(
        on_disk()?,
        "the plate must be on disk before erasure, or this test proves nothing"
    );

    let bearer = vec![("authorization", format!("Bearer {}", fixture.admin))];
    let answer = fixture
        .call(
            "POST",
            "/api/v1/records/p-1/erase",
            "127.0.0.1:1",
            &bearer,
            None,
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({"id": "p-1", "erased": 1, "purged": true})
    );
    // The server still runs (its writer, integrator and readers hold the database open).
    assert!(
        !on_disk()?,
        "the erased plate is still in store.db or store.db-wal"
    );
    let answer = fixture
        .call(
            "GET",
            "/api/v1/records/p-1/private",
            "127.0.0.1:1",
            &bearer,
            None,
        )
        .await?;
    assert_eq!(answer.body["private"], Value::Null, "{}", answer.body);
    Ok(())
}
