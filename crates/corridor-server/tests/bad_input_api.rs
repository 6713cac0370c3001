//! The CLI's bad-input corpus (`crates/corridor/tests/bad_input/`) sent
//! through the HTTP API: every JSON Lines case is posted to
//! `POST /api/v1/records` and must be refused with exactly the error the CLI
//! gives for it, and nothing of it may be stored.
//!
//! The expected errors are read from the corpus's `.expected` files, so the
//! CLI and the API are held to one source of truth: the CLI line
//! `rejected: line N (TYPE ID): FIELD: REASON` must come back as the API error
//! of the item on line N with the same field and reason (and the same record
//! identity). Both read JSON Lines with `corridor_model::jsonl::JsonLines`,
//! so byte-order marks, CRLF line ends, blank lines, a missing final
//! newline, bytes that are not UTF-8 and over-long lines all give the same
//! errors; the API counts items, and blank lines are not items.
//! Cases of other kinds (CSV, receipts, log directories) test code the API
//! does not run; they are skipped by kind, and counted, not ignored.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use corridor_engine::{Config, DataDir};
use corridor_server::{Role, Server, ServerOptions, create_token};
use serde_json::Value;
use tower::ServiceExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The same data as the CLI corpus runs against: sites `km-12` and `berlin`
/// and passage `p-1` (leaf 2).
const SEED: &str = r#"{"type":"site","id":"km-12","name":"Checkpoint km 12","kind":"checkpoint","timezone":"Asia/Baku","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}
{"type":"site","id":"berlin","name":"Berlin","kind":"settlement","timezone":"Europe/Berlin","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}
{"type":"passage","id":"p-1","site":"km-12","observed_at":"2023-01-17T09:00","category":"red_cross","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}
"#;

/// `"notes":"@@PAD-N@@"` in a case stands for N `x` characters.
const PAD_PREFIX: &str = "@@PAD-";

/// How a case of the corpus is run, decided by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CaseKind {
    /// `NAME.jsonl`: records, posted as JSON Lines.
    JsonLines,
    /// `NAME.csv`: rows for `corridor import`; the API takes no CSV.
    Csv,
    /// `NAME.receipt`: checked offline by `corridor verify receipt`.
    Receipt,
    /// `NAME.log/`: a published log checked by `corridor verify --log`.
    LogDirectory,
}

impl CaseKind {
    fn of(name: &str) -> Option<CaseKind> {
        if name.ends_with(".jsonl") {
            Some(CaseKind::JsonLines)
        } else if name.ends_with(".csv") {
            Some(CaseKind::Csv)
        } else if name.ends_with(".receipt") {
            Some(CaseKind::Receipt)
        } else if name.ends_with(".log") {
            Some(CaseKind::LogDirectory)
        } else {
            None
        }
    }
}

fn cases_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corridor/tests/bad_input")
}

/// Every case of the corpus with its kind; files that are not cases
/// (expectations, the README, the mapping and the key) are left out by name.
fn corpus() -> Vec<(PathBuf, CaseKind)> {
    let mut cases: Vec<(PathBuf, CaseKind)> = std::fs::read_dir(cases_directory())
        .expect("the bad input corpus")
        .map(|entry| entry.expect("an entry").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            if name.ends_with(".expected")
                || ["README.md", "mapping.toml", "log.vkey"].contains(&name.as_str())
            {
                return None;
            }
            let kind = CaseKind::of(&name)
                .unwrap_or_else(|| panic!("{name}: neither a case nor a known support file"));
            Some((path, kind))
        })
        .collect();
    cases.sort_by(|(left, _), (right, _)| left.cmp(right));
    cases
}

/// The case's bytes with `@@PAD-N@@` expanded.
fn case_body(case: &Path) -> Vec<u8> {
    let bytes = std::fs::read(case).expect("read the case");
    let Some(start) = bytes
        .windows(PAD_PREFIX.len())
        .position(|window| window == PAD_PREFIX.as_bytes())
    else {
        return bytes;
    };
    let rest = &bytes[start + PAD_PREFIX.len()..];
    let end = rest
        .iter()
        .position(|byte| *byte == b'@')
        .expect("@@PAD-N@@");
    let count: usize = std::str::from_utf8(&rest[..end])
        .expect("digits")
        .parse()
        .expect("a number");
    let mut expanded = bytes[..start].to_vec();
    expanded.extend(std::iter::repeat_n(b'x', count));
    expanded.extend_from_slice(&rest[end + 2..]);
    expanded
}

/// One rejection the CLI printed for a case.
#[derive(Debug, PartialEq, Eq)]
struct ExpectedRejection {
    /// The 0-based item index (the CLI counts lines from 1, blank ones too).
    index: u64,
    /// `(TYPE ID)` as the CLI wrote it, if the record was identified.
    identity: Option<String>,
    /// `FIELD: REASON`, or just `REASON` for an error of the whole line.
    error: String,
}

/// The item each line of a JSON Lines body is, counting from 0: blank lines
/// (nothing but white space and byte-order marks) are no item.
fn item_of_line(body: &[u8]) -> Vec<Option<u64>> {
    let mut items = 0;
    body.split(|byte| *byte == b'\n')
        .map(|line| {
            let text = String::from_utf8_lossy(line);
            if text.trim_start_matches('\u{feff}').trim().is_empty() {
                None
            } else {
                items += 1;
                Some(items - 1)
            }
        })
        .collect()
}

/// Reads the `rejected: line N [(TYPE ID)]: ERROR` lines of a case's
/// `.expected` file.
fn expected_rejections(case: &Path) -> Vec<ExpectedRejection> {
    let items = item_of_line(&case_body(case));
    let expected_path = PathBuf::from(format!("{}.expected", case.display()));
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|error| panic!("{}: {error}", expected_path.display()));
    expected
        .lines()
        .filter_map(|line| line.strip_prefix("rejected: line "))
        .map(|rest| {
            let digits = rest
                .find(|character: char| !character.is_ascii_digit())
                .expect("text after the line number");
            let line_number: u64 = rest[..digits].parse().expect("a line number");
            let rest = &rest[digits..];
            let (identity, error) = if let Some(inner) = rest.strip_prefix(" (") {
                let close = inner.find("): ").expect("`): ` after the identity");
                (Some(inner[..close].to_owned()), &inner[close + 3..])
            } else {
                (
                    None,
                    rest.strip_prefix(": ").expect("`: ` after the line number"),
                )
            };
            let index = usize::try_from(line_number - 1)
                .ok()
                .and_then(|line| items.get(line).copied().flatten())
                .unwrap_or_else(|| panic!("line {line_number} is no item of its case"));
            ExpectedRejection {
                index,
                identity,
                error: error.to_owned(),
            }
        })
        .collect()
}

/// The API's per-record error in the CLI's form.
fn actual_rejection(error: &Value) -> ExpectedRejection {
    let field = error["field"].as_str().unwrap_or_default();
    let reason = error["reason"].as_str().unwrap_or_default();
    // The message is `item N (TYPE ID): FIELD: REASON`; the identity is taken
    // from it so that it is quoted exactly as the CLI quotes it.
    let message = error["message"].as_str().unwrap_or_default();
    let identity = message
        .split_once(" (")
        .filter(|(item, _)| item.starts_with("item ") && !item.contains(':'))
        .and_then(|(_, inner)| inner.split_once("): "))
        .map(|(identity, _)| identity.to_owned());
    ExpectedRejection {
        index: error["index"].as_u64().unwrap_or(u64::MAX),
        identity,
        error: if field.is_empty() {
            reason.to_owned()
        } else {
            format!("{field}: {reason}")
        },
    }
}

struct Fixture {
    _directory: tempfile::TempDir,
    server: Option<Server>,
    admin: String,
}

impl Fixture {
    fn new() -> Result<Fixture, Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let data_dir = DataDir::init(
            &directory.path().join("data"),
            Config::new("test.example/bad-input-api"),
        )?;
        let mut store = data_dir.open_store()?;
        let admin = create_token(&mut store, "operator", Role::Admin)?.token;
        drop(store);
        let server = Server::start(
            data_dir,
            ServerOptions {
                checkpoint_interval: Duration::from_millis(100),
                rate_per_second: 10_000.0,
                rate_burst: 10_000.0,
                ..ServerOptions::default()
            },
        )?;
        Ok(Fixture {
            _directory: directory,
            server: Some(server),
            admin,
        })
    }

    fn router(&self) -> Router {
        self.server.as_ref().map(Server::router).unwrap_or_default()
    }

    /// Posts `body` as JSON Lines with the admin token (site records need it).
    async fn submit_lines(
        &self,
        query: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
        self.post(
            &format!("/api/v1/records{query}"),
            "application/x-ndjson",
            body,
        )
        .await
    }

    /// Posts `body` to `uri` with the admin token.
    async fn post(
        &self,
        uri: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
        let request = Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.admin))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))?;
        let response = self.router().oneshot(request).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// How many records the store holds, from `GET /healthz`.
    async fn stored(&self) -> Result<u64, Box<dyn std::error::Error>> {
        let request = Request::builder().uri("/healthz").body(Body::empty())?;
        let response = self.router().oneshot(request).await?;
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        let health: Value = serde_json::from_slice(&bytes)?;
        Ok(health["stored"].as_u64().ok_or("no stored count")?)
    }

    async fn shutdown(&mut self) -> TestResult {
        let server = self.server.take().ok_or("already shut down")?;
        server.shutdown().await?;
        Ok(())
    }
}

/// Posts one case in both modes and returns what differs from the CLI.
async fn check(fixture: &Fixture, case: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let name = case
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("?");
    let expected = expected_rejections(case);
    assert!(
        !expected.is_empty(),
        "{name}: no rejection in its .expected"
    );
    let mut differences = Vec::new();
    // All-or-nothing refuses the batch (422); per record stores the good
    // ones, of which a case has none, so it too answers 422 with every error.
    for (query, wanted_status) in [
        ("", StatusCode::UNPROCESSABLE_ENTITY),
        ("?mode=per_record", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let before = fixture.stored().await?;
        let (status, body) = fixture.submit_lines(query, case_body(case)).await?;
        let after = fixture.stored().await?;
        if before != after {
            differences.push(format!(
                "{name}{query}: the store went from {before} to {after} records"
            ));
        }
        let errors = body["error"]["errors"]
            .as_array()
            .or_else(|| body["errors"].as_array())
            .cloned()
            .unwrap_or_default();
        let actual: Vec<ExpectedRejection> = errors.iter().map(actual_rejection).collect();
        if status != wanted_status || actual != expected {
            differences.push(format!(
                "{name}{query}: expected {wanted_status} with {expected:?}\n  got {status} {body}"
            ));
        }
    }
    Ok(differences)
}

#[tokio::test]
async fn every_json_lines_bad_input_gets_the_cli_error_and_nothing_is_stored() -> TestResult {
    let mut fixture = Fixture::new()?;
    let (status, body) = fixture.submit_lines("", SEED.as_bytes().to_vec()).await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(fixture.stored().await?, 3);

    let cases = corpus();
    let mut differences = Vec::new();
    let mut skipped = Vec::new();
    for (case, kind) in &cases {
        match kind {
            CaseKind::JsonLines => differences.extend(check(&fixture, case).await?),
            // The API accepts JSON only; CSV import, offline receipt checks
            // and log verification run in the CLI and are tested there.
            CaseKind::Csv | CaseKind::Receipt | CaseKind::LogDirectory => {
                skipped.push((case, kind));
            }
        }
    }
    let checked = cases.len() - skipped.len();
    println!(
        "{checked} JSON Lines cases checked; skipped by kind: {} CSV, {} receipts, {} log directories",
        skipped
            .iter()
            .filter(|(_, kind)| **kind == CaseKind::Csv)
            .count(),
        skipped
            .iter()
            .filter(|(_, kind)| **kind == CaseKind::Receipt)
            .count(),
        skipped
            .iter()
            .filter(|(_, kind)| **kind == CaseKind::LogDirectory)
            .count(),
    );
    assert!(checked >= 25, "only {checked} JSON Lines cases");
    assert!(
        differences.is_empty(),
        "{} differences from the CLI:\n\n{}",
        differences.len(),
        differences.join("\n\n")
    );
    assert_eq!(fixture.stored().await?, 3, "a bad record was stored");
    fixture.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_json_lines_body_over_the_submission_limit_is_refused_with_413() -> TestResult {
    let mut fixture = Fixture::new()?;
    let limit = ServerOptions::default().max_submission_bytes;
    // Good records, so that only the size can be the reason.
    let line = SEED.lines().next().ok_or("a seed line")?;
    let mut body = Vec::with_capacity(limit + line.len() + 1);
    while body.len() <= limit {
        body.extend_from_slice(line.as_bytes());
        body.push(b'\n');
    }
    let (status, answer) = fixture.submit_lines("", body).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["error"]["status"], 413);
    assert_eq!(fixture.stored().await?, 0);
    fixture.shutdown().await?;
    Ok(())
}

/// The errors of a refused submission as `(index, field, reason)`.
fn errors_of(body: &Value) -> Vec<(u64, String, String)> {
    body["error"]["errors"]
        .as_array()
        .or_else(|| body["errors"].as_array())
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    (
                        error["index"].as_u64().unwrap_or(u64::MAX),
                        error["field"].as_str().unwrap_or_default().to_owned(),
                        error["reason"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const REPEATED: &str = "appears more than once in the same object; give each key once";

/// Issue 11, items 4, 5 and 7 on the JSON (not JSON Lines) bodies: a key
/// given twice, a local time in a clock change and a zone name spelt
/// otherwise than tzdb spells it are refused as `corridor add` refuses them.
#[tokio::test]
async fn json_bodies_follow_the_same_input_rules() -> TestResult {
    let mut fixture = Fixture::new()?;
    let source =
        r#""source": {"kind": "direct_observation", "name": "Team A"}, "recorded_by": "team-a""#;
    let site = |id: &str, zone: &str| {
        format!(
            r#"{{"type": "site", "id": "{id}", "name": "Holland Tunnel", "kind": "crossing", "timezone": "{zone}", {source}}}"#
        )
    };
    let passage = |id: &str, at: &str, extra: &str| {
        format!(
            r#"{{"type": "passage", "id": "{id}", "site": "nyc", "observed_at": "{at}", "category": "civilian", {source}{extra}}}"#
        )
    };
    let records = "/api/v1/records";
    let per_record = "/api/v1/records?mode=per_record";
    let json = "application/json";

    // A site whose zone is spelt in another case; then the site itself.
    let (status, body) = fixture
        .post(records, json, site("nyc", "america/new_york").into_bytes())
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        errors_of(&body),
        [(
            0,
            "timezone".to_owned(),
            "\"america/new_york\" is not an IANA time zone name as written; did you mean \"America/New_York\"?".to_owned()
        )]
    );
    // A byte-order mark before a JSON body is read past, as in JSON Lines.
    let mut with_bom = b"\xef\xbb\xbf".to_vec();
    with_bom.extend_from_slice(site("nyc", "America/New_York").as_bytes());
    let (status, body) = fixture.post(records, json, with_bom).await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Local times in the spring gap and the autumn fold, in one array.
    let batch = format!(
        "[{}, {}, {}]",
        passage("p-gap", "2023-03-12T02:30", ""),
        passage("p-fold", "2023-11-05T01:30", ""),
        passage("p-fold-first", "2023-11-05T01:30-04:00", "")
    );
    let (status, body) = fixture.post(per_record, json, batch.into_bytes()).await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["stored"], 1, "{body}");
    assert_eq!(body["receipts"][0]["id"], "p-fold-first");
    assert_eq!(
        errors_of(&body),
        [
            (
                0,
                "observed_at".to_owned(),
                "2023-03-12T02:30:00 does not name a single moment in America/New_York: the clocks skipped it (from -05:00 to -04:00); give the time with an offset".to_owned()
            ),
            (
                1,
                "observed_at".to_owned(),
                "2023-11-05T01:30:00 does not name a single moment in America/New_York: the clocks showed it twice (at -04:00, then at -05:00); give the time with an offset".to_owned()
            ),
        ]
    );

    // Repeated keys: a single object, items of an array, and /prepare.
    let (status, body) = fixture
        .post(
            records,
            json,
            passage("p-9", "2023-01-17T10:00", r#", "category": "military""#).into_bytes(),
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        errors_of(&body),
        [(0, "category".to_owned(), REPEATED.to_owned())]
    );
    let batch = format!(
        "[{}, {}, {}]",
        passage("p-10", "2023-01-17T10:00", ""),
        passage(
            "p-11",
            "2023-01-17T10:00",
            r#", "private": {"plate": "AB 123 C", "plate": "XY 987 Z"}"#
        ),
        passage(
            "p-12",
            "2023-01-17T10:00",
            r#", "cargo": [{"kind": "food", "tonnes": 1, "tonnes": 2}]"#
        ),
    );
    let (status, body) = fixture.post(per_record, json, batch.into_bytes()).await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["stored"], 1, "{body}");
    assert_eq!(
        errors_of(&body),
        [
            (1, "private.plate".to_owned(), REPEATED.to_owned()),
            (2, "cargo[0].tonnes".to_owned(), REPEATED.to_owned()),
        ]
    );
    assert!(
        !body.to_string().contains("AB 123 C") && !body.to_string().contains("XY 987 Z"),
        "a private value was echoed: {body}"
    );
    let (status, body) = fixture
        .post(
            "/api/v1/records/prepare",
            json,
            passage("p-13", "2023-01-17T10:00", r#", "id": "p-14""#).into_bytes(),
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        errors_of(&body),
        [(0, "id".to_owned(), REPEATED.to_owned())]
    );

    // Numbers beyond any range and times past the last moment.
    let batch = format!(
        "[{}, {}]",
        passage(
            "p-15",
            "2023-01-17T10:00",
            r#", "count": 18446744073709551617"#
        ),
        passage("p-16", "9999-12-31T10:00", ""),
    );
    let (status, body) = fixture.post(records, json, batch.into_bytes()).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        errors_of(&body),
        [
            (
                0,
                "count".to_owned(),
                "1.8446744073709552e+19 is out of range (1 to 10000)".to_owned()
            ),
            (
                1,
                "observed_at".to_owned(),
                "9999-12-31T10:00:00 is later than the last moment a record's time can name (9999-12-30T22:00:00Z)".to_owned()
            ),
        ]
    );
    assert_eq!(fixture.stored().await?, 3, "site, p-fold-first, p-10");
    fixture.shutdown().await?;
    Ok(())
}
