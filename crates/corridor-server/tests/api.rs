//! The HTTP API driven through the router with `oneshot`, no socket: every
//! route, every role against every route, submissions and their receipts,
//! retries, batch errors, limits, and where private values must never go.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corridor_engine::{Config, DataDir};
use corridor_server::{Role, Server, ServerOptions, create_token, route_table};
use corridor_store::Store;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use tower::ServiceExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ORIGIN: &str = "test.example/corridor";
const PLATE: &str = "SECRET-PLATE-4711";

struct Fixture {
    directory: tempfile::TempDir,
    server: Option<Server>,
    admin: String,
    analyst: String,
    observer: String,
    other_observer: String,
    revoked: String,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn options() -> ServerOptions {
    ServerOptions {
        checkpoint_interval: Duration::from_millis(100),
        rate_per_second: 10_000.0,
        rate_burst: 10_000.0,
        // The matrix sends a bad token to every route from one address.
        auth_failures_per_minute: 10_000.0,
        ..ServerOptions::default()
    }
}

fn data_path(directory: &tempfile::TempDir) -> std::path::PathBuf {
    directory.path().join("data")
}

fn fixture_with(options: ServerOptions) -> Result<Fixture, Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    let data_dir = DataDir::init(&data_path(&directory), Config::new(ORIGIN))?;
    let mut store = data_dir.open_store()?;
    let admin = create_token(&mut store, "operator", Role::Admin)?.token;
    let analyst = create_token(&mut store, "desk", Role::Analyst)?.token;
    let observer = create_token(&mut store, "team a", Role::Observer)?.token;
    let other_observer = create_token(&mut store, "team b", Role::Observer)?.token;
    let revoked_token = create_token(&mut store, "old", Role::Admin)?;
    store.revoke_token(&revoked_token.id, "2026-01-01T00:00:00Z")?;
    drop(store);
    let server = Server::start(data_dir, options)?;
    Ok(Fixture {
        directory,
        server: Some(server),
        admin,
        analyst,
        observer,
        other_observer,
        revoked: revoked_token.token,
    })
}

fn fixture() -> Result<Fixture, Box<dyn std::error::Error>> {
    fixture_with(options())
}

/// A fixture holding what [`Fixture::seed`] submits.
async fn seeded_fixture() -> Result<Fixture, Box<dyn std::error::Error>> {
    let fixture = fixture()?;
    fixture.seed().await?;
    Ok(fixture)
}

impl Fixture {
    fn router(&self) -> Router {
        self.server.as_ref().map(Server::router).unwrap_or_default()
    }

    fn data_dir(&self) -> Result<DataDir, Box<dyn std::error::Error>> {
        Ok(DataDir::open(&data_path(&self.directory))?)
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some((content_type, bytes)) => request
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(bytes))?,
            None => request.body(Body::empty())?,
        };
        let response = self.router().oneshot(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await?
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    async fn get(
        &self,
        uri: &str,
        token: Option<&str>,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        self.call("GET", uri, token, None).await
    }

    async fn submit(
        &self,
        token: &str,
        query: &str,
        body: &Value,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        self.call(
            "POST",
            &format!("/api/v1/records{query}"),
            Some(token),
            Some(("application/json", serde_json::to_vec(body)?)),
        )
        .await
    }

    /// A site (as admin) and two passages (as the observer, one with a private plate).
    async fn seed(&self) -> TestResult {
        let answer = self.submit(&self.admin, "", &site("km-12")).await?;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
        let answer = self
            .submit(
                &self.observer,
                "?wait=true",
                &json!([
                    passage("p-1", "2023-01-17T09:40"),
                    passage("p-2", "2023-01-17T10:05")
                ]),
            )
            .await?;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<u64, Box<dyn std::error::Error>> {
        let server = self.server.take().ok_or("already shut down")?;
        Ok(server.shutdown().await?)
    }
}

fn site(id: &str) -> Value {
    json!({"type": "site", "id": id, "name": "Checkpoint km 12", "kind": "checkpoint",
        "timezone": "Asia/Baku", "source": {"kind": "direct_observation", "name": "Team A"},
        "recorded_by": "team-a"})
}

fn passage(id: &str, at: &str) -> Value {
    json!({"type": "passage", "id": id, "site": "km-12", "observed_at": at,
        "direction": "inbound", "category": "red_cross", "operator": "ICRC", "vehicle_class": "truck",
        "source": {"kind": "direct_observation", "name": "Team A"}, "recorded_by": "team-a",
        "private": {"plate": PLATE}})
}

/// Every route the API must have, as `METHOD path` in the OpenAPI document.
const EXPECTED_ROUTES: &[&str] = &[
    "GET /healthz",
    "GET /metrics",
    "GET /openapi.json",
    "GET /schema/records.json",
    "POST /api/v1/records",
    "POST /api/v1/records/prepare",
    "GET /api/v1/records",
    "GET /api/v1/export",
    "GET /api/v1/records/{id}",
    "GET /api/v1/records/{id}/private",
    "POST /api/v1/records/{id}/erase",
    "GET /api/v1/receipts/{id}",
    "GET /api/v1/sites",
    "GET /api/v1/stats",
    "GET /api/v1/coverage",
    "GET /api/v1/baselines",
    "GET /api/v1/access",
    "GET /api/v1/claims",
    "GET /api/v1/claims/{id}",
    "GET /api/v1/report",
    "GET /api/v1/proofs/inclusion",
    "GET /api/v1/proofs/consistency",
    "GET /api/v1/tokens",
    "POST /api/v1/tokens",
    "DELETE /api/v1/tokens/{id}",
    "GET /log/checkpoint",
    "GET /log/{path}",
];

/// A concrete request for each route, one that succeeds for a caller allowed to make it.
fn example_request(method: &str, path: &str) -> (String, Option<(&'static str, Vec<u8>)>) {
    let period = "from=2023-01-01&to=2023-01-31";
    let uri = match path {
        "/api/v1/records/{id}"
        | "/api/v1/records/{id}/private"
        | "/api/v1/records/{id}/erase"
        | "/api/v1/receipts/{id}" => path.replace("{id}", "p-1"),
        "/api/v1/claims/{id}" => "/api/v1/claims/no-such-claim".into(),
        "/api/v1/tokens/{id}" => "/api/v1/tokens/tok_000000000000".into(),
        "/log/{*path}" | "/log/{path}" => "/log/tile/0/000.p/3".into(),
        "/api/v1/stats" | "/api/v1/coverage" | "/api/v1/access" | "/api/v1/report" => {
            format!("{path}?{period}")
        }
        "/api/v1/proofs/inclusion" => format!("{path}?record=p-1"),
        "/api/v1/proofs/consistency" => format!("{path}?from=1"),
        other => other.to_string(),
    };
    let body = match (method, path) {
        ("POST", "/api/v1/records") => Some((
            "application/json",
            serde_json::to_vec(&passage("p-9", "2023-01-18")).unwrap_or_default(),
        )),
        ("POST", "/api/v1/records/prepare") => Some((
            "application/json",
            serde_json::to_vec(&passage("p-8", "2023-01-18")).unwrap_or_default(),
        )),
        ("POST", "/api/v1/tokens") => Some((
            "application/json",
            br#"{"name": "n", "role": "analyst"}"#.to_vec(),
        )),
        _ => None,
    };
    (uri, body)
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_is_served() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let document = fixture.get("/openapi.json", None).await?.json();
    let mut documented = Vec::new();
    for (path, methods) in document["paths"].as_object().ok_or("no paths")? {
        for method in methods.as_object().ok_or("no methods")?.keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    let mut expected: Vec<String> = EXPECTED_ROUTES
        .iter()
        .map(|route| route.to_string())
        .collect();
    expected.sort();
    assert_eq!(
        documented, expected,
        "the OpenAPI document and the expected routes differ"
    );
    for route in route_table(&fixture.server.as_ref().ok_or("no server")?.state()) {
        let (uri, body) = example_request(route.method, route.path);
        let answer = fixture
            .call(route.method, &uri, Some(&fixture.admin), body)
            .await?;
        assert_ne!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{} {uri}",
            route.method
        );
        assert!(
            !answer.text().contains("no route"),
            "{} {uri} is documented but not routed: {}",
            route.method,
            answer.text()
        );
    }
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn authorization_matrix_every_role_against_every_route() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    // Who may call what: P public, O observer, A analyst, D admin.
    let matrix: &[(&str, &str)] = &[
        ("GET /healthz", "POAD"),
        ("GET /metrics", "POAD"),
        ("GET /openapi.json", "POAD"),
        ("GET /schema/records.json", "POAD"),
        ("POST /api/v1/records", "OD"),
        ("POST /api/v1/records/prepare", "OD"),
        ("GET /api/v1/records", "AD"),
        ("GET /api/v1/export", "AD"),
        ("GET /api/v1/records/{id}", "AD"),
        ("GET /api/v1/records/{id}/private", "D"),
        ("POST /api/v1/records/{id}/erase", "D"),
        ("GET /api/v1/receipts/{id}", "OAD"),
        ("GET /api/v1/sites", "POAD"),
        ("GET /api/v1/stats", "POAD"),
        ("GET /api/v1/coverage", "POAD"),
        ("GET /api/v1/baselines", "POAD"),
        ("GET /api/v1/access", "POAD"),
        ("GET /api/v1/claims", "POAD"),
        ("GET /api/v1/claims/{id}", "POAD"),
        ("GET /api/v1/report", "POAD"),
        ("GET /api/v1/proofs/inclusion", "POAD"),
        ("GET /api/v1/proofs/consistency", "POAD"),
        ("GET /api/v1/tokens", "D"),
        ("POST /api/v1/tokens", "D"),
        ("DELETE /api/v1/tokens/{id}", "D"),
        ("GET /log/checkpoint", "POAD"),
        ("GET /log/{*path}", "POAD"),
    ];
    let table = route_table(&fixture.server.as_ref().ok_or("no server")?.state());
    assert_eq!(
        table.len(),
        matrix.len(),
        "a route is missing from the matrix"
    );
    for route in &table {
        let key = format!("{} {}", route.method, route.path);
        let allowed = matrix
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, allowed)| *allowed)
            .ok_or_else(|| format!("{key} is not in the matrix"))?;
        let callers: [(char, Option<&str>); 4] = [
            ('P', None),
            ('O', Some(&fixture.observer)),
            ('A', Some(&fixture.analyst)),
            ('D', Some(&fixture.admin)),
        ];
        for (letter, token) in callers {
            let (uri, body) = example_request(route.method, route.path);
            let answer = fixture.call(route.method, &uri, token, body).await?;
            let refused = matches!(
                answer.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            );
            if allowed.contains(letter) {
                assert!(
                    !refused,
                    "{key} as {letter}: {} {}",
                    answer.status,
                    answer.text()
                );
            } else {
                let expected = if token.is_none() {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::FORBIDDEN
                };
                assert_eq!(
                    answer.status,
                    expected,
                    "{key} as {letter}: {}",
                    answer.text()
                );
            }
        }
        // A revoked or unknown token is refused everywhere, public routes included.
        let (uri, body) = example_request(route.method, route.path);
        let answer = fixture
            .call(route.method, &uri, Some(&fixture.revoked), body)
            .await?;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{key} revoked");
        let (uri, body) = example_request(route.method, route.path);
        let answer = fixture
            .call(route.method, &uri, Some("corridor_made-up"), body)
            .await?;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{key} unknown token"
        );
    }
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_submission_gets_a_receipt_whose_proof_verifies() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let answer = fixture
        .submit(
            &fixture.observer,
            "?wait=true",
            &passage("p-3", "2023-01-17T11:00"),
        )
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["stored"], 1);
    let receipt = &body["receipts"][0];
    assert_eq!(receipt["id"], "p-3");
    assert_eq!(receipt["status"], "stored");
    assert_eq!(receipt["leaf_index"], 3);
    assert!(
        receipt["checkpoint"]
            .as_str()
            .is_some_and(|text| text.starts_with(ORIGIN))
    );
    assert!(
        receipt["inclusion_proof"]
            .as_array()
            .is_some_and(|proof| !proof.is_empty())
    );

    // The receipt endpoint returns a receipt anyone can check offline.
    let answer = fixture
        .get("/api/v1/receipts/p-3", Some(&fixture.observer))
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let receipt: corridor_log::Receipt = serde_json::from_slice(&answer.body)?;
    let vkey = corridor_log::verifier_key_from_argument(
        &fixture.data_dir()?.log_vkey_path().display().to_string(),
    )?;
    let checkpoint = receipt.verify(&vkey)?;
    assert!(checkpoint.tree_size >= 4);
    assert!(
        receipt
            .leaf
            .as_deref()
            .is_some_and(|leaf| leaf.contains("\"p-3\"") && !leaf.contains(PLATE))
    );
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn retrying_a_submission_stores_nothing_twice() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let batch = json!([
        passage("p-10", "2023-01-18T08:00"),
        passage("p-11", "2023-01-18T08:10")
    ]);
    let first = fixture.submit(&fixture.observer, "", &batch).await?.json();
    let second = fixture.submit(&fixture.observer, "", &batch).await?;
    assert_eq!(second.status, StatusCode::OK);
    let second = second.json();
    assert_eq!(second["stored"], 0);
    assert_eq!(second["already_stored"], 2);
    for position in 0..2 {
        assert_eq!(
            first["receipts"][position]["leaf_index"],
            second["receipts"][position]["leaf_index"]
        );
        assert_eq!(second["receipts"][position]["status"], "already_stored");
    }
    // The same id with other content is refused, naming the id.
    let changed = passage("p-10", "2023-01-18T09:00");
    let answer = fixture.submit(&fixture.observer, "", &changed).await?;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = &answer.json()["error"]["errors"][0];
    assert_eq!(error["field"], "id");
    assert_eq!(error["id"], "p-10");
    assert_eq!(fixture.data_dir()?.open_store()?.leaf_count()?, 5);
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn batch_errors_name_index_id_field_and_reason() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let mut bad = passage("p-21", "2023-13-01");
    bad["id"] = json!("p-21");
    let batch = json!([passage("p-20", "2023-01-19"), bad, "not an object"]);
    let answer = fixture.submit(&fixture.observer, "", &batch).await?;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = answer.json();
    let errors = body["error"]["errors"].as_array().ok_or("no errors")?;
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["index"], 1);
    assert_eq!(errors[0]["id"], "p-21");
    assert_eq!(errors[0]["field"], "observed_at");
    assert!(
        errors[0]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("2023-13-01"))
    );
    assert_eq!(errors[1]["index"], 2);
    assert_eq!(errors[1]["reason"], "not a JSON object");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nothing was stored"))
    );
    let store = fixture.data_dir()?.open_store()?;
    assert!(
        store.record("p-20")?.is_none(),
        "an all-or-nothing batch stored a record"
    );

    let answer = fixture
        .submit(&fixture.observer, "?mode=per_record", &batch)
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED);
    let body = answer.json();
    assert_eq!(body["stored"], 1);
    assert_eq!(body["rejected"], 2);
    assert_eq!(body["receipts"][0]["id"], "p-20");
    assert_eq!(body["errors"][0]["field"], "observed_at");
    assert!(store.record("p-20")?.is_some());

    // Already stored and rejected: nothing new, so 200 with both answers.
    let answer = fixture
        .submit(&fixture.observer, "?mode=per_record", &batch)
        .await?;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["already_stored"], 1);

    // Every record rejected: the request failed, 422 naming each of them.
    let all_bad = json!([batch[1].clone(), batch[2].clone()]);
    let answer = fixture
        .submit(&fixture.observer, "?mode=per_record", &all_bad)
        .await?;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text()
    );
    let body = answer.json();
    let errors = body["error"]["errors"].as_array().ok_or("no errors")?;
    let indexes: Vec<&Value> = errors.iter().map(|error| &error["index"]).collect();
    assert_eq!(indexes, [&json!(0), &json!(1)]);
    assert_eq!(errors[0]["field"], "observed_at");
    assert!(store.record("p-21")?.is_none());

    let answer = fixture
        .submit(&fixture.observer, "?mode=sometimes", &batch)
        .await?;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text().contains("mode"));
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn json_lines_bodies_are_submissions_too() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let lines = format!(
        "{}\n\n{}\n",
        passage("p-30", "2023-01-20T10:00"),
        passage("p-31", "2023-01-20T10:05")
    );
    let answer = fixture
        .call(
            "POST",
            "/api/v1/records",
            Some(&fixture.observer),
            Some(("application/x-ndjson", lines.into_bytes())),
        )
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    assert_eq!(answer.json()["stored"], 2);
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn oversized_bodies_and_batches_are_refused_with_413() -> TestResult {
    let mut fixture = fixture_with(ServerOptions {
        max_submission_bytes: 4096,
        max_batch_records: 3,
        max_request_bytes: 1024,
        ..options()
    })?;
    fixture.seed().await?;
    let big =
        json!([passage("p-40", "2023-01-20"), {"type": "passage", "notes": "x".repeat(5000)}]);
    let answer = fixture.submit(&fixture.observer, "", &big).await?;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.text()
    );
    assert_eq!(answer.json()["error"]["status"], 413);
    let many: Vec<Value> = (0..4)
        .map(|n| passage(&format!("p-5{n}"), "2023-01-20"))
        .collect();
    let answer = fixture.submit(&fixture.observer, "", &json!(many)).await?;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer.text().contains("at most 3"));
    // Other endpoints take small bodies only.
    let answer = fixture
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&fixture.admin),
            Some(("application/json", vec![b' '; 2048])),
        )
        .await?;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn observer_signatures_are_checked_and_kept_in_the_leaf() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let signer = SigningKey::from_bytes(&[42; 32]);
    let record = passage("p-60", "2023-01-21T12:00");
    let prepared = fixture
        .call(
            "POST",
            "/api/v1/records/prepare",
            Some(&fixture.observer),
            Some(("application/json", serde_json::to_vec(&record)?)),
        )
        .await?;
    assert_eq!(prepared.status, StatusCode::OK, "{}", prepared.text());
    let prepared = prepared.json();
    let message = BASE64.decode(prepared["signed_message"].as_str().ok_or("no message")?)?;
    assert_eq!(
        message,
        corridor_server::observer_message(&prepared["record"])?
    );
    let signature = signer.sign(&message);
    let envelope = json!({"record": record, "observer_sig": {
        "key": BASE64.encode(signer.verifying_key().to_bytes()),
        "sig": BASE64.encode(signature.to_bytes()),
    }});
    let answer = fixture.submit(&fixture.observer, "", &envelope).await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let stored = fixture
        .data_dir()?
        .open_store()?
        .record("p-60")?
        .ok_or("not stored")?;
    let leaf: Value = serde_json::from_slice(&stored.leaf)?;
    assert_eq!(
        leaf["observer_sig"]["key"],
        BASE64.encode(signer.verifying_key().to_bytes())
    );
    // Anyone can check it from the leaf alone.
    let key = ed25519_dalek::VerifyingKey::from_bytes(&signer.verifying_key().to_bytes())?;
    let leaf_signature: [u8; 64] = BASE64
        .decode(leaf["observer_sig"]["sig"].as_str().ok_or("no sig")?)?
        .try_into()
        .map_err(|_| "signature length")?;
    key.verify_strict(
        &corridor_server::observer_message(&leaf["record"])?,
        &ed25519_dalek::Signature::from_bytes(&leaf_signature),
    )?;

    // A signature over other content is refused on the field observer_sig.
    let forged = json!({"record": passage("p-61", "2023-01-21T12:00"), "observer_sig": envelope["observer_sig"]});
    let answer = fixture.submit(&fixture.observer, "", &forged).await?;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.json()["error"]["errors"][0]["field"], "observer_sig");
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn site_records_need_the_admin_role() -> TestResult {
    let mut fixture = fixture()?;
    let answer = fixture
        .submit(&fixture.observer, "", &site("km-13"))
        .await?;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = &answer.json()["error"]["errors"][0];
    assert_eq!(error["field"], "type");
    assert_eq!(error["id"], "km-13");
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn observers_read_receipts_of_their_own_records_only() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let own = fixture
        .get("/api/v1/receipts/p-1", Some(&fixture.observer))
        .await?;
    assert_eq!(own.status, StatusCode::OK);
    let other = fixture
        .get("/api/v1/receipts/p-1", Some(&fixture.other_observer))
        .await?;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert!(other.text().contains("own receipts"));
    let analyst = fixture
        .get("/api/v1/receipts/p-1", Some(&fixture.analyst))
        .await?;
    assert_eq!(analyst.status, StatusCode::OK);
    let missing = fixture
        .get("/api/v1/receipts/nope", Some(&fixture.analyst))
        .await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn tokens_are_created_listed_and_revoked_by_admins() -> TestResult {
    let mut fixture = fixture()?;
    let created = fixture
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&fixture.admin),
            Some((
                "application/json",
                br#"{"name": "field team", "role": "observer"}"#.to_vec(),
            )),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED);
    let created = created.json();
    let secret = created["token"].as_str().ok_or("no secret")?.to_string();
    let id = created["id"].as_str().ok_or("no id")?.to_string();
    let listed = fixture.get("/api/v1/tokens", Some(&fixture.admin)).await?;
    assert!(listed.text().contains(&id));
    assert!(
        !listed.text().contains(&secret),
        "a token list shows a secret"
    );
    let answer = fixture
        .call(
            "POST",
            "/api/v1/records/prepare",
            Some(&secret),
            Some(("application/json", b"{}".to_vec())),
        )
        .await?;
    assert_ne!(answer.status, StatusCode::UNAUTHORIZED);
    let revoked = fixture
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&fixture.admin),
            None,
        )
        .await?;
    assert_eq!(revoked.status, StatusCode::OK);
    let answer = fixture
        .call(
            "POST",
            "/api/v1/records/prepare",
            Some(&secret),
            Some(("application/json", b"{}".to_vec())),
        )
        .await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let bad = fixture
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&fixture.admin),
            Some((
                "application/json",
                br#"{"name": "x", "role": "root"}"#.to_vec(),
            )),
        )
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("root"));
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn log_files_have_their_content_types_and_cache_headers() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let checkpoint = fixture.get("/log/checkpoint", None).await?;
    assert_eq!(checkpoint.status, StatusCode::OK);
    assert_eq!(checkpoint.headers[header::CACHE_CONTROL], "no-cache");
    assert!(checkpoint.text().starts_with(&format!("{ORIGIN}\n3\n")));
    let partial = fixture.get("/log/tile/0/000.p/3", None).await?;
    assert_eq!(partial.status, StatusCode::OK);
    assert_eq!(
        partial.headers[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert_eq!(partial.body.len(), 3 * 32);
    assert_eq!(partial.headers[header::CACHE_CONTROL], "public, max-age=60");
    let entries = fixture.get("/log/tile/entries/000.p/3", None).await?;
    assert_eq!(entries.status, StatusCode::OK);
    for bad in [
        "/log/../keys/log.key",
        "/log/tile/../../keys/log.key",
        "/log/keys/log.key",
        "/log/tile/0/999",
    ] {
        let answer = fixture.get(bad, None).await?;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{bad}");
    }

    // Fill a full tile: it is immutable.
    let many: Vec<Value> = (0..300)
        .map(|n| passage(&format!("bulk-{n}"), "2023-01-22"))
        .collect();
    let answer = fixture
        .submit(&fixture.observer, "?wait=true", &json!(many))
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED);
    let full = fixture.get("/log/tile/0/000", None).await?;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body.len(), 256 * 32);
    assert_eq!(
        full.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() -> TestResult {
    let mut fixture = fixture_with(ServerOptions {
        rate_per_second: 0.5,
        rate_burst: 2.0,
        ..options()
    })?;
    for _ in 0..2 {
        let answer = fixture.get("/healthz", Some(&fixture.analyst)).await?;
        assert_eq!(answer.status, StatusCode::OK);
    }
    let answer = fixture.get("/healthz", Some(&fixture.analyst)).await?;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(answer.headers.contains_key(header::RETRY_AFTER));
    // Another token has its own bucket.
    let answer = fixture.get("/healthz", Some(&fixture.admin)).await?;
    assert_eq!(answer.status, StatusCode::OK);
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn read_endpoints_answer_as_the_libraries_do() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let answer = fixture
        .get(
            "/api/v1/stats?from=2023-01-17&to=2023-01-17&by=category,direction",
            None,
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let store = fixture.data_dir()?.open_store()?;
    let mut query = corridor_stats::StatsQuery::period(
        jiff::civil::date(2023, 1, 17),
        jiff::civil::date(2023, 1, 17),
    );
    query.by = vec![
        corridor_stats::StatsDimension::Category,
        corridor_stats::StatsDimension::Direction,
    ];
    let expected = serde_json::to_value(corridor_stats::compute(&store, &query)?)?;
    assert_eq!(answer.json(), expected);
    assert_eq!(answer.json()["totals"]["vehicles"], 2);

    let answer = fixture
        .get(
            "/api/v1/stats?from=2023-01-17&to=2023-01-17&format=csv",
            None,
        )
        .await?;
    assert!(
        answer.headers[header::CONTENT_TYPE]
            .to_str()?
            .starts_with("text/csv")
    );

    let answer = fixture
        .get("/api/v1/stats?from=2023-02-30&to=2023-01-17", None)
        .await?;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2023-02-30"))
    );
    let answer = fixture
        .get(
            "/api/v1/stats?from=2023-01-01&to=2023-01-17&category=aliens",
            None,
        )
        .await?;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text().contains("aliens"));

    let records = fixture
        .get(
            "/api/v1/records?type=passage&limit=1",
            Some(&fixture.analyst),
        )
        .await?
        .json();
    assert_eq!(records["records"][0]["leaf"]["record"]["id"], "p-1");
    let next = records["next_cursor"].as_u64().ok_or("no cursor")?;
    let page = fixture
        .get(
            &format!("/api/v1/records?type=passage&limit=1&cursor={next}"),
            Some(&fixture.analyst),
        )
        .await?
        .json();
    assert_eq!(page["records"][0]["leaf"]["record"]["id"], "p-2");

    let coverage = fixture
        .get("/api/v1/coverage?from=2023-01-17&to=2023-01-17", None)
        .await?;
    assert_eq!(coverage.json()["coverage"][0]["site"], "km-12");
    let access = fixture
        .get(
            "/api/v1/access?from=2023-01-17&to=2023-01-17&site=km-12",
            None,
        )
        .await?;
    assert_eq!(access.json()["access"][0]["observed"], 2.0);
    let unknown = fixture
        .get(
            "/api/v1/access?from=2023-01-17&to=2023-01-17&site=nowhere",
            None,
        )
        .await?;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let report = fixture
        .get("/api/v1/report?from=2023-01-17&to=2023-01-17", None)
        .await?;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text());
    assert_eq!(report.json()["checkpoint"]["tree_size"], 3);
    let html = fixture
        .get(
            "/api/v1/report?from=2023-01-17&to=2023-01-17&format=html",
            None,
        )
        .await?;
    assert!(
        html.headers[header::CONTENT_TYPE]
            .to_str()?
            .starts_with("text/html")
    );

    let consistency = fixture
        .get("/api/v1/proofs/consistency?from=1&to=3", None)
        .await?;
    assert_eq!(consistency.status, StatusCode::OK, "{}", consistency.text());
    assert_eq!(consistency.json()["new_size"], 3);
    let inclusion = fixture
        .get("/api/v1/proofs/inclusion?index=1", None)
        .await?;
    assert_eq!(inclusion.json()["record_id"], "p-1");
    // Well formed, but a rule no schema states: exactly one of the two.
    let neither = fixture.get("/api/v1/proofs/inclusion", None).await?;
    assert_eq!(neither.status, StatusCode::UNPROCESSABLE_ENTITY);

    let unknown_route = fixture.get("/api/v1/nothing", None).await?;
    assert_eq!(unknown_route.status, StatusCode::NOT_FOUND);
    assert!(unknown_route.text().contains("/openapi.json"));
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn admins_read_and_erase_private_parts() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let private = fixture
        .get("/api/v1/records/p-1/private", Some(&fixture.admin))
        .await?;
    assert_eq!(private.json()["private"]["plate"], PLATE);
    let erased = fixture
        .call(
            "POST",
            "/api/v1/records/p-1/erase",
            Some(&fixture.admin),
            None,
        )
        .await?;
    assert_eq!(erased.json()["erased"], 1);
    let private = fixture
        .get("/api/v1/records/p-1/private", Some(&fixture.admin))
        .await?;
    assert_eq!(private.json()["private"], Value::Null);
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn shutdown_publishes_every_acknowledged_record() -> TestResult {
    let mut fixture = fixture_with(ServerOptions {
        checkpoint_interval: Duration::from_secs(3600),
        ..options()
    })?;
    fixture.seed().await?;
    let answer = fixture
        .submit(&fixture.observer, "", &passage("p-70", "2023-01-22"))
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED);
    let data_dir = fixture.data_dir()?;
    let final_size = fixture.shutdown().await?;
    assert_eq!(final_size, 4);
    let published = corridor_log::LogReader::new(data_dir.log()?).latest()?;
    assert_eq!(published.checkpoint.tree_size, 4);
    // The writer lock was released.
    drop(data_dir.writer("test")?);
    Ok(())
}

/// Collects everything the server logs.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_private_value_reaches_a_tile_a_public_response_a_log_line_or_a_metric() -> TestResult {
    let captured = CapturedLog::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer({
                let writer = captured.clone();
                move || writer.clone()
            })
            .finish(),
    );

    let mut fixture = seeded_fixture().await?;
    // A rejected record with a private value must not echo it either.
    let mut bad = passage("p-80", "2023-01-17");
    bad["private"] = json!({"plate": [PLATE]});
    bad["count"] = json!(-1);
    let _ = fixture.submit(&fixture.observer, "", &bad).await?;
    let _ = fixture
        .submit(
            &fixture.observer,
            "?wait=true",
            &passage("p-81", "2023-01-17"),
        )
        .await?;

    let mut looked_at = 0;
    // Every public response, and every analyst and observer response.
    for route in route_table(&fixture.server.as_ref().ok_or("no server")?.state()) {
        if route.path.contains("/private") || route.path.contains("/erase") {
            continue;
        }
        for token in [
            None,
            Some(fixture.observer.as_str()),
            Some(fixture.analyst.as_str()),
        ] {
            let (uri, body) = example_request(route.method, route.path);
            let answer = fixture.call(route.method, &uri, token, body).await?;
            assert!(
                !answer.text().contains(PLATE),
                "{} {uri} shows a private value",
                route.method
            );
            looked_at += 1;
        }
    }
    for (uri, token) in [
        ("/api/v1/records?limit=1000", Some(fixture.analyst.clone())),
        ("/api/v1/records/p-1", Some(fixture.analyst.clone())),
        ("/api/v1/receipts/p-1", Some(fixture.observer.clone())),
        ("/api/v1/proofs/inclusion?record=p-1", None),
        ("/metrics", None),
    ] {
        let answer = fixture.get(uri, token.as_deref()).await?;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert!(
            !answer.text().contains(PLATE),
            "{uri} shows a private value"
        );
    }
    assert!(looked_at > 50);

    let data_dir = fixture.data_dir()?;
    fixture.shutdown().await?;
    // Every file of the published log.
    let mut pending = vec![data_dir.root().join("log")];
    let mut files = 0;
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        } else {
            let bytes = std::fs::read(&path)?;
            assert!(
                !String::from_utf8_lossy(&bytes).contains(PLATE),
                "{} holds a private value",
                path.display()
            );
            files += 1;
        }
    }
    assert!(files >= 3);
    let log = String::from_utf8_lossy(&captured.0.lock().map_err(|_| "poisoned")?).into_owned();
    assert!(
        log.contains("request"),
        "nothing was logged, so the check means nothing"
    );
    assert!(!log.contains(PLATE), "the server log holds a private value");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_commit_together_and_a_bad_one_drops_only_itself() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let mut tasks = Vec::new();
    for batch in 0..16 {
        let router = fixture.router();
        let token = fixture.observer.clone();
        tasks.push(tokio::spawn(async move {
            let mut records: Vec<Value> = (0..50)
                .map(|n| passage(&format!("c-{batch}-{n}"), "2023-01-17T12:00"))
                .collect();
            if batch % 4 == 3 {
                records[10]["count"] = json!(0);
            }
            let request = Request::builder()
                .method("POST")
                .uri("/api/v1/records")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&records).unwrap_or_default()))
                .map_err(|error| error.to_string())?;
            let response = router
                .oneshot(request)
                .await
                .map_err(|error| error.to_string())?;
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .map_err(|error| error.to_string())?;
            let body: Value = serde_json::from_slice(&body).map_err(|error| error.to_string())?;
            Ok::<_, String>((batch, status, body))
        }));
    }
    let mut indexes = Vec::new();
    for task in tasks {
        let (batch, status, body) = task.await??;
        if batch % 4 == 3 {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(body["error"]["errors"][0]["index"], 10);
        } else {
            assert_eq!(status, StatusCode::CREATED, "{body}");
            for receipt in body["receipts"].as_array().ok_or("no receipts")? {
                indexes.push(receipt["leaf_index"].as_u64().ok_or("no index")?);
            }
        }
    }
    indexes.sort_unstable();
    let expected: Vec<u64> = (3..3 + 12 * 50).collect();
    assert_eq!(indexes, expected, "leaf indexes are not dense and distinct");
    let store = fixture.data_dir()?.open_store()?;
    assert_eq!(store.leaf_count()?, 3 + 12 * 50);
    assert!(
        store.record("c-3-0")?.is_none(),
        "a rejected batch left a record"
    );
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_witness_answers_add_checkpoint_as_c2sp_tlog_witness_says() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let witness_directory = tempfile::tempdir()?;
    let witness = corridor_log::Witness::init(witness_directory.path(), "witness.test")?;
    let checkpoint = fixture.get("/log/checkpoint", None).await?.text();
    let body = format!("old 0\n\n{checkpoint}");
    let post = |router: Router, body: String| async move {
        let request = Request::builder()
            .method("POST")
            .uri("/add-checkpoint")
            .body(Body::from(body))?;
        let response = router.oneshot(request).await?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok::<_, Box<dyn std::error::Error>>((
            status,
            content_type,
            String::from_utf8_lossy(&bytes).into_owned(),
        ))
    };
    let vkey = corridor_log::verifier_key_from_argument(
        &fixture.data_dir()?.log_vkey_path().display().to_string(),
    )?;
    let router =
        corridor_server::witness_router(corridor_log::Witness::open(witness_directory.path())?);
    let (status, _, _) = post(router.clone(), "old x\n".into()).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, text) = post(router.clone(), body.clone()).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    witness.add_log(&vkey)?;
    let (status, _, text) = post(router.clone(), body.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.starts_with("— witness.test "), "{text}");
    // Asking again from size 0 conflicts: the witness already cosigned size 3.
    let (status, content_type, text) = post(router, body).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(content_type, "text/x.tlog.size");
    assert_eq!(text, "3\n");
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn analysts_download_exports_with_their_media_type_and_file_name() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let answer = fixture
        .get("/api/v1/export?format=jsonl", Some(&fixture.analyst))
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/x-ndjson");
    assert_eq!(
        answer.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"corridor-export.jsonl\""
    );
    let types: Vec<String> = answer
        .text()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).map(|record| record["type"].to_string()))
        .collect::<Result<_, _>>()?;
    assert_eq!(types, ["\"site\"", "\"passage\"", "\"passage\""]);
    assert!(!answer.text().contains(PLATE));

    let answer = fixture
        .get(
            "/api/v1/export?format=hxl&from=2023-01-17&to=2023-01-17&site=km-12",
            Some(&fixture.admin),
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let text = answer.text();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows[1].starts_with("#meta+id,#loc+code,#date+observed"));

    let answer = fixture
        .get("/api/v1/export?format=xlsx", Some(&fixture.analyst))
        .await?;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.starts_with(b"PK\x03\x04"));
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );

    let answer = fixture
        .get("/api/v1/export?format=pdf", Some(&fixture.analyst))
        .await?;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.text().contains("jsonl, csv, hxl, xlsx"),
        "{}",
        answer.text()
    );
    let answer = fixture
        .get("/api/v1/export?format=jsonl", Some(&fixture.observer))
        .await?;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    fixture.shutdown().await?;
    Ok(())
}

/// A validator for the document's named schema `name` (references resolve
/// inside the document).
fn document_validator(document: &Value, schema: &Value) -> Result<jsonschema::Validator, String> {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"],
        "allOf": [schema],
    });
    jsonschema::draft202012::options()
        .build(&root)
        .map_err(|error| format!("{schema}: {error}"))
}

#[tokio::test]
async fn every_answer_of_every_route_is_documented_and_matches_its_schema() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let document = fixture.get("/openapi.json", None).await?.json();
    assert_eq!(
        document["info"]["version"],
        corridor_server::openapi::API_VERSION
    );
    let mut operation_ids = Vec::new();
    let mut checked = 0;
    for route in route_table(&fixture.server.as_ref().ok_or("no server")?.state()) {
        let path = corridor_server::openapi::openapi_path(route.path);
        let operation = &document["paths"][&path][route.method.to_lowercase()];
        let operation_id = operation["operationId"].as_str().ok_or("no operationId")?;
        assert!(
            operation_id.chars().all(|c| c.is_ascii_alphanumeric())
                && operation_id.starts_with(|c: char| c.is_ascii_lowercase()),
            "{operation_id} is camelCase"
        );
        operation_ids.push(operation_id.to_string());
        for (token, who) in [
            (Some(fixture.admin.as_str()), "admin"),
            (Some(fixture.observer.as_str()), "observer"),
            (None, "nobody"),
        ] {
            let (uri, body) = example_request(route.method, route.path);
            let answer = fixture.call(route.method, &uri, token, body).await?;
            let status = answer.status.as_u16().to_string();
            let documented = &operation["responses"][&status];
            assert!(
                documented.is_object(),
                "{} {uri} as {who}: {status} is not documented",
                route.method
            );
            assert_eq!(
                answer.headers["corridor-api-version"],
                corridor_server::openapi::API_VERSION,
                "{} {uri}",
                route.method
            );
            let media_type = answer.headers[header::CONTENT_TYPE].to_str()?;
            if !media_type.starts_with("application/json") {
                continue;
            }
            let schema = &documented["content"]["application/json"]["schema"];
            let validator = document_validator(&document, schema)?;
            let value = answer.json();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|error| error.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{} {uri} as {who} ({status}) does not match its schema: {errors:?}\n{value}",
                route.method
            );
            checked += 1;
        }
    }
    let count = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operationIds are unique");
    assert!(checked > 40, "{checked} JSON answers checked");
    // The published record schema is the model's, without a token.
    let published = fixture.get("/schema/records.json", None).await?;
    assert_eq!(published.status, StatusCode::OK);
    assert_eq!(published.json(), corridor_model::schema::record_schema());
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_admin_cannot_revoke_the_token_it_is_using() -> TestResult {
    let mut fixture = seeded_fixture().await?;
    let tokens = fixture
        .get("/api/v1/tokens", Some(&fixture.admin))
        .await?
        .json();
    let own_id = tokens["tokens"]
        .as_array()
        .ok_or("no tokens")?
        .iter()
        .find(|token| token["role"] == "admin" && token["revoked_at"].is_null())
        .and_then(|token| token["id"].as_str())
        .ok_or("no admin token")?
        .to_string();
    let answer = fixture
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{own_id}"),
            Some(&fixture.admin),
            None,
        )
        .await?;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.text());
    assert_eq!(answer.json()["error"]["status"], 409);
    // It still works.
    let still = fixture.get("/api/v1/tokens", Some(&fixture.admin)).await?;
    assert_eq!(still.status, StatusCode::OK);
    fixture.shutdown().await?;
    Ok(())
}
