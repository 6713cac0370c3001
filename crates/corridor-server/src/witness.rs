//! C2SP tlog-witness over HTTP. The protocol lives in `corridor_log::witnessing`
//! (transport-free); this module is its transport: the `add-checkpoint`
//! route a witness serves (`corridor witness serve`), and the blocking HTTP
//! client the integrator uses to ask the log's witnesses after each checkpoint.
//!
//! Spec: <https://c2sp.org/tlog-witness>.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use corridor_log::{Log, Witness, WitnessList, WitnessOutcome, WitnessTransport};

/// The largest `add-checkpoint` body or answer: a checkpoint, 63 proof lines, signatures.
const MAX_ADD_CHECKPOINT_BYTES: usize = 64 << 10;

/// The router of a witness: `POST /add-checkpoint`.
pub fn witness_router(witness: Witness) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_ADD_CHECKPOINT_BYTES))
        .with_state(Arc::new(witness))
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let timestamp = jiff::Timestamp::now().as_second().max(0) as u64;
    let answer = tokio::task::spawn_blocking(move || {
        corridor_log::witnessing::answer_add_checkpoint(&witness, &body, timestamp)
    })
    .await;
    match answer {
        Ok(answer) => (
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(header::CONTENT_TYPE, answer.content_type)],
            answer.body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!("add-checkpoint task failed: {error}");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

/// Posts add-checkpoint requests with a blocking HTTP client; used by the
/// server's integrator and by the CLI after `add` and `import`.
#[derive(Debug)]
pub struct HttpWitnesses {
    agent: ureq::Agent,
}

impl HttpWitnesses {
    /// A client that gives up on a witness after `timeout`.
    pub fn new(timeout: std::time::Duration) -> HttpWitnesses {
        HttpWitnesses {
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .user_agent(concat!("corridor/", env!("CARGO_PKG_VERSION")))
                .build()
                .into(),
        }
    }
}

impl WitnessTransport for HttpWitnesses {
    fn post(&self, url: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let mut response = self
            .agent
            .post(url)
            .send(body)
            .map_err(|error| error.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ADD_CHECKPOINT_BYTES as u64)
            .read_to_vec()
            .map_err(|error| error.to_string())?;
        Ok((status, body))
    }
}

/// Asks the witnesses listed in `list_path` (`corridor log witnesses add`)
/// to cosign the published checkpoint and attaches their cosignatures.
/// Re-read every time, so witnesses added while the server runs are asked.
/// Failures are logged: a witness being down never stops the log.
pub(crate) fn ask_witnesses(log: &Log, list_path: &Path) {
    let mut list = match WitnessList::load(list_path) {
        Ok(list) => list,
        Err(error) => {
            tracing::error!("the witness list cannot be read: {error}");
            return;
        }
    };
    if list.witnesses.is_empty() {
        return;
    }
    let transport = HttpWitnesses::new(std::time::Duration::from_secs(10));
    for outcome in corridor_log::collect_cosignatures(log, &mut list, &transport) {
        match outcome {
            WitnessOutcome::Cosigned {
                witness, tree_size, ..
            } => tracing::info!("witness {witness} cosigned size {tree_size}"),
            WitnessOutcome::Refused {
                witness,
                status,
                reason,
            } => tracing::warn!("witness {witness} refused (HTTP {status}): {reason}"),
            WitnessOutcome::Unreachable { witness, reason } => {
                tracing::warn!("witness {witness} could not be asked: {reason}");
            }
        }
    }
    if let Err(error) = list.save(list_path) {
        tracing::error!("the witness list cannot be saved: {error}");
    }
}
