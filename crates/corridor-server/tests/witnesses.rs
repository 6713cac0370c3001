//! The server and its witnesses: each new checkpoint is sent to the witnesses
//! in the data directory's list and is published again with their
//! cosignatures, and a witness that never answers does not hold up the
//! checkpoints after it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use corridor_engine::{Config, DataDir};
use corridor_log::{LogReader, Witness, WitnessList, verifier_key_from_argument};
use corridor_server::{Role, Server, ServerOptions, create_token};
use serde_json::{Value, json};
use tower::ServiceExt as _;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Long enough for any honest step here, short of the witness request timeout (10 s).
const PATIENCE: Duration = Duration::from_secs(5);

fn site() -> Value {
    json!({"type": "site", "id": "km-12", "name": "Checkpoint km 12", "kind": "checkpoint",
        "timezone": "Asia/Baku", "source": {"kind": "direct_observation", "name": "Team A"},
        "recorded_by": "team-a"})
}

fn passage(id: &str) -> Value {
    json!({"type": "passage", "id": id, "site": "km-12", "observed_at": "2023-01-17T09:40",
        "direction": "inbound", "category": "red_cross", "vehicle_class": "truck",
        "source": {"kind": "direct_observation", "name": "Team A"}, "recorded_by": "team-a"})
}

/// A data directory whose witness list names one witness, at `url`.
fn data_dir_with_witness(
    root: &Path,
    witness_key: &str,
    url: &str,
) -> Result<(DataDir, String), Box<dyn std::error::Error>> {
    let data_dir = DataDir::init(root, Config::new("test.example/witnessed"))?;
    let mut list = WitnessList::load(&data_dir.witness_list_path())?;
    list.add(witness_key, url)?;
    list.save(&data_dir.witness_list_path())?;
    let admin = create_token(&mut data_dir.open_store()?, "operator", Role::Admin)?.token;
    Ok((data_dir, admin))
}

async fn submit(server: &Server, token: &str, records: &Value) -> TestResult {
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/records")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(records)?))?;
    let response = server.router().oneshot(request).await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    Ok(())
}

/// Polls `condition` until it holds or `PATIENCE` runs out; whether it held.
async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

fn published(data_dir: &DataDir) -> (u64, String) {
    LogReader::new(data_dir.log().expect("the log opens"))
        .latest()
        .map(|published| (published.checkpoint.tree_size, published.signed))
        .unwrap_or_default()
}

fn options() -> ServerOptions {
    ServerOptions {
        checkpoint_interval: Duration::from_millis(100),
        ..ServerOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_checkpoint_comes_back_from_the_witness_cosigned() -> TestResult {
    let directory = tempfile::tempdir()?;
    let witness_directory = directory.path().join("witness");
    let witness = Witness::init(&witness_directory, "witness.test")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (data_dir, admin) = data_dir_with_witness(
        &directory.path().join("data"),
        &witness.verifier_key().to_string(),
        &url,
    )?;
    witness.add_log(&verifier_key_from_argument(
        &data_dir.log_vkey_path().display().to_string(),
    )?)?;
    let (stop_witness, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(corridor_server::serve(
        listener,
        corridor_server::witness_router(Witness::open(&witness_directory)?),
        async {
            let _ = stopped.await;
        },
    ));

    let server = Server::start(DataDir::open(data_dir.root())?, options())?;
    submit(&server, &admin, &json!([site(), passage("p-1")])).await?;
    let cosigned_at = |size: u64| {
        let data_dir = &data_dir;
        move || {
            let (published_size, signed) = published(data_dir);
            published_size == size && signed.contains("\n— witness.test ")
        }
    };
    assert!(
        eventually(cosigned_at(2)).await,
        "checkpoint 2 was not cosigned: {}",
        published(&data_dir).1
    );
    // The next checkpoint is sent with a consistency proof from the cosigned size.
    submit(&server, &admin, &json!([passage("p-2")])).await?;
    assert!(
        eventually(cosigned_at(3)).await,
        "checkpoint 3 was not cosigned: {}",
        published(&data_dir).1
    );
    assert_eq!(
        witness
            .log_state("test.example/witnessed")?
            .map(|state| state.tree_size),
        Some(3)
    );
    server.shutdown().await?;
    let _ = stop_witness.send(());
    serving.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_witness_that_never_answers_holds_up_no_checkpoint() -> TestResult {
    let directory = tempfile::tempdir()?;
    // Accepts connections and never answers, until told to close them all:
    // until then every request waits for the witness timeout (10 s).
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    silent.set_nonblocking(true)?;
    let url = format!("http://{}", silent.local_addr()?);
    let close = Arc::new(AtomicBool::new(false));
    let held = {
        let close = Arc::clone(&close);
        std::thread::spawn(move || {
            let mut open = Vec::new();
            while !close.load(Ordering::SeqCst) {
                match silent.accept() {
                    Ok((connection, _)) => open.push(connection),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })
    };
    let witness_key = Witness::init(&directory.path().join("witness"), "silent.test")?
        .verifier_key()
        .to_string();
    let (data_dir, admin) =
        data_dir_with_witness(&directory.path().join("data"), &witness_key, &url)?;

    let server = Server::start(DataDir::open(data_dir.root())?, options())?;
    submit(&server, &admin, &json!([site(), passage("p-1")])).await?;
    assert!(eventually(|| published(&data_dir).0 == 2).await);
    // The silent witness is now being asked about checkpoint 2; checkpoint 3
    // is published all the same.
    submit(&server, &admin, &json!([passage("p-2")])).await?;
    assert!(
        eventually(|| published(&data_dir).0 == 3).await,
        "checkpoint 3 waited for the witness"
    );
    assert!(!published(&data_dir).1.contains("silent.test"));
    // Closing the witness's connections lets the shutdown's last ask fail fast.
    close.store(true, Ordering::SeqCst);
    held.join()
        .map_err(|_| "the silent witness thread panicked")?;
    server.shutdown().await?;
    Ok(())
}
