//! The write API: records in, receipts out.
//!
//! A submission is one JSON object, a JSON array of them, or JSON Lines. Each
//! item is a record, or `{"record": {...}, "observer_sig": {"key", "sig"}}`
//! for a record signed by its observer (see `observer.rs`). Records go
//! through the one writer with the same validation as `corridor add`; the
//! answer has a receipt per record (`stored` or `already_stored`, with its
//! leaf index) and, with `wait=true`, the signed checkpoint and inclusion
//! proof once the integrator has published them.

use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use corridor_model::json::{StrictDocument, StrictValue, parse_document, parse_value};
use corridor_model::jsonl::JsonLines;
use corridor_model::{FieldError, Location, RecordError};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, body_error, query_error, record_error_json};
use crate::ingest::{ItemOutcome, Job, Submission, SubmitItem};
use crate::observer::ObserverSignature;

/// How long `wait=true` waits for a checkpoint before answering without proofs.
const WAIT_FOR_CHECKPOINT: Duration = Duration::from_secs(10);

/// The `Retry-After` of a submission refused for backpressure: a few
/// checkpoint intervals, time for the integrator to catch up.
const BACKLOG_RETRY_SECONDS: u64 = 5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitParameters {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    wait: Option<bool>,
}

fn item_error(index: u64, reason: String) -> RecordError {
    RecordError {
        location: Location::Item(index),
        record_type: None,
        id: None,
        error: FieldError {
            field: String::new(),
            reason,
        },
    }
}

/// Splits a body into items: a JSON object, a JSON array, or JSON Lines
/// (read by the reader `corridor add` uses, so a file is read the same way
/// by both). An item that is not an object, or repeats a key, is an error
/// of that item.
fn parse_body(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<Result<Value, RecordError>>, ApiError> {
    let lines_declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("ndjson") || value.contains("jsonl"));
    if !lines_declared {
        // A byte-order mark may be ignored (RFC 8259, section 8.1), as the
        // JSON Lines reader ignores it.
        let text = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
        match parse_document(text) {
            Ok(StrictDocument::Items(items)) => {
                return Ok(items
                    .into_iter()
                    .enumerate()
                    .map(|(index, item)| checked_item(index as u64, item))
                    .collect());
            }
            Ok(StrictDocument::Single(item)) if item.value.is_object() => {
                return Ok(vec![checked_item(0, item)]);
            }
            Ok(StrictDocument::Single(_)) => {
                return Err(ApiError::BadRequest(
                    "the body must be a record object, an array of them, or JSON Lines".into(),
                ));
            }
            // Several objects on several lines: JSON Lines.
            Err(_) if text.trim_ascii().starts_with(b"{") && text.trim_ascii().contains(&b'\n') => {
            }
            Err(error) => {
                return Err(match std::str::from_utf8(text) {
                    Err(error) => ApiError::BadRequest(format!(
                        "the body is not UTF-8 (byte {})",
                        error.valid_up_to() + 1
                    )),
                    Ok(_) => ApiError::BadRequest(format!("the body is not valid JSON: {error}")),
                });
            }
        }
    }
    let mut items = Vec::new();
    for line in JsonLines::new(body) {
        let line = line.map_err(|error| {
            ApiError::BadRequest(format!("the request body cannot be read: {error}"))
        })?;
        // Items count the records of the body; blank lines are not items.
        let index = items.len() as u64;
        items.push(match line {
            Ok((_, object)) => Ok(Value::Object(object)),
            Err(mut error) => {
                error.location = Location::Item(index);
                Err(error)
            }
        });
    }
    Ok(items)
}

/// An item as parsed, or its error when it repeats a key.
fn checked_item(index: u64, item: StrictValue) -> Result<Value, RecordError> {
    if item.repeated_key.is_none() {
        return Ok(item.value);
    }
    item.into_record_object(Location::Item(index))
        .map(Value::Object)
}

/// Whether a record creates or changes a site (only admins may).
fn touches_site(object: &Map<String, Value>) -> bool {
    let kind = object.get("type").and_then(Value::as_str);
    kind == Some("site")
        || (kind == Some("correction")
            && object
                .get("record")
                .and_then(|record| record.get("type"))
                .and_then(Value::as_str)
                == Some("site"))
}

/// One submitted item: a record, or a signed envelope around one.
fn read_item(index: u64, value: Value, role: Option<Role>) -> Result<SubmitItem, RecordError> {
    let Value::Object(mut object) = value else {
        return Err(item_error(index, "not a JSON object".into()));
    };
    let signature = if !object.contains_key("type") && object.contains_key("record") {
        let signature = match object.remove("observer_sig") {
            Some(value) => ObserverSignature::from_json(&value).map_err(|reason| RecordError {
                location: Location::Item(index),
                record_type: None,
                id: None,
                error: FieldError {
                    field: "observer_sig".into(),
                    reason,
                },
            })?,
            None => {
                return Err(item_error(
                    index,
                    "an object with \"record\" and no \"type\" is a signed envelope and needs \"observer_sig\"".into(),
                ));
            }
        };
        if let Some(other) = object.keys().find(|key| key.as_str() != "record") {
            return Err(item_error(
                index,
                format!("unknown envelope member {other:?}"),
            ));
        }
        match object.remove("record") {
            Some(Value::Object(record)) => object = record,
            _ => return Err(item_error(index, "\"record\" is not a JSON object".into())),
        }
        Some(signature)
    } else {
        None
    };
    if touches_site(&object) && role != Some(Role::Admin) {
        let (record_type, id) = corridor_model::parse::peek_identity(&object);
        return Err(RecordError {
            location: Location::Item(index),
            record_type: record_type.map(str::to_string),
            id: id.map(str::to_string),
            error: FieldError {
                field: "type".into(),
                reason: "site records (and their corrections) need a token with the admin role"
                    .into(),
            },
        });
    }
    let signature = signature.map(|signature| -> corridor_engine::SignatureCheck {
        Box::new(move |public: &Value| signature.verify(public))
    });
    Ok(SubmitItem { object, signature })
}

fn writer_gone() -> ApiError {
    ApiError::Unavailable {
        message:
            "the server is shutting down and takes no more records; retry against the next instance"
                .into(),
        retry_after_seconds: 5,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    parameters: Result<Query<SubmitParameters>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    let atomic = match parameters.mode.as_deref() {
        None | Some("atomic") => true,
        Some("per_record") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "mode: {other:?} is not atomic or per_record"
            )));
        }
    };
    // Backpressure: refused before the body is parsed, so nothing is staged.
    if let Some(reason) = state.health().refuses_writes() {
        state
            .metrics()
            .backpressure_refusals
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::Unavailable {
            message: format!("nothing of this submission was stored: {reason}"),
            retry_after_seconds: BACKLOG_RETRY_SECONDS,
        });
    }
    let body = body.map_err(body_error)?;
    let values = parse_body(&headers, &body)?;
    let limit = state.options().max_batch_records;
    if values.is_empty() {
        return Err(ApiError::BadRequest("the body holds no records".into()));
    }
    if values.len() > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "the batch holds {} records; at most {limit} per request",
            values.len()
        )));
    }
    // Items that fail before validation (not JSON, not an object, a bad
    // envelope, a site without admin) are answered here; the rest go to the writer.
    let count = values.len();
    let mut early: Vec<Option<RecordError>> = vec![None; count];
    let mut items = Vec::with_capacity(count);
    let mut positions = Vec::with_capacity(count);
    for (index, value) in values.into_iter().enumerate() {
        let item = value.and_then(|value| read_item(index as u64, value, caller.role));
        match item {
            Ok(item) => {
                items.push(item);
                positions.push(index);
            }
            Err(error) => early[index] = Some(error),
        }
    }
    let early_failures = early.iter().filter(|error| error.is_some()).count();
    let mut outcomes: Vec<ItemOutcome> = vec![ItemOutcome::NotStored; count];
    state
        .metrics()
        .records_rejected
        .fetch_add(early_failures as u64, std::sync::atomic::Ordering::Relaxed);
    if !items.is_empty() {
        let (reply, answer) = oneshot::channel();
        state
            .ingest()
            .send(Job::Submit(Submission {
                items,
                atomic,
                // Report every bad record of a batch that cannot be stored anyway.
                validate_only: atomic && early_failures > 0,
                submitter: caller.token_id.clone(),
                reply,
            }))
            .await
            .map_err(|()| writer_gone())?;
        let answered = answer.await.map_err(|_| writer_gone())?;
        let answered = answered.map_err(ApiError::from)?;
        for (position, outcome) in positions.into_iter().zip(answered) {
            // Writer locations count within what it was given; report the request's.
            outcomes[position] = match outcome {
                ItemOutcome::Rejected(mut error) => {
                    error.location = Location::Item(position as u64);
                    ItemOutcome::Rejected(error)
                }
                other => other,
            };
        }
    }
    for (index, error) in early.into_iter().enumerate() {
        if let Some(error) = error {
            outcomes[index] = ItemOutcome::Rejected(error);
        }
    }
    respond(&state, outcomes, atomic, parameters.wait.unwrap_or(false)).await
}

async fn respond(
    state: &AppState,
    outcomes: Vec<ItemOutcome>,
    atomic: bool,
    wait: bool,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let mut receipts = Vec::new();
    let (mut stored, mut already) = (0_u64, 0_u64);
    let mut end = 0_u64;
    for (index, outcome) in outcomes.iter().enumerate() {
        match outcome {
            ItemOutcome::Stored { id, leaf_index }
            | ItemOutcome::AlreadyStored { id, leaf_index } => {
                let status = if matches!(outcome, ItemOutcome::Stored { .. }) {
                    stored += 1;
                    "stored"
                } else {
                    already += 1;
                    "already_stored"
                };
                end = end.max(leaf_index + 1);
                receipts.push(
                    json!({"index": index, "id": id, "leaf_index": leaf_index, "status": status}),
                );
            }
            ItemOutcome::Rejected(error) => errors.push(record_error_json(index as u64, error)),
            ItemOutcome::NotStored => {}
        }
    }
    if atomic && !errors.is_empty() {
        return Err(ApiError::Rejected {
            message: format!(
                "{} of {} records rejected; nothing was stored (the batch is all-or-nothing; use mode=per_record to store the good ones)",
                errors.len(),
                outcomes.len()
            ),
            errors,
        });
    }
    if !atomic && stored == 0 && already == 0 && !errors.is_empty() {
        // Every record was rejected: the request failed as a whole, in the
        // one error shape, which names each record's field and reason.
        return Err(ApiError::Rejected {
            message: format!("all {} records rejected; nothing was stored", errors.len()),
            errors,
        });
    }
    if wait && end > 0 {
        state
            .ingest()
            .wait_published(end, WAIT_FOR_CHECKPOINT)
            .await;
        let reader = state.log_reader().clone();
        let receipts_in = std::mem::take(&mut receipts);
        receipts = state
            .with_store(move |store| {
                let mut proven = Vec::with_capacity(receipts_in.len());
                let latest = reader.latest().ok();
                for mut receipt in receipts_in {
                    if let (Some(latest), Some(leaf_index)) =
                        (&latest, receipt["leaf_index"].as_u64())
                        && leaf_index < latest.checkpoint.tree_size
                        && let Some(record) = store.record_at(leaf_index)?
                    {
                        let proof = reader.receipt(
                            Some(record.id.clone()),
                            leaf_index,
                            &record.leaf,
                            Some(latest.checkpoint.tree_size),
                        )?;
                        receipt["tree_size"] = json!(proof.tree_size);
                        receipt["checkpoint"] = json!(proof.checkpoint);
                        receipt["inclusion_proof"] = json!(proof.proof);
                        receipt["leaf_hash"] = json!(proof.leaf_hash);
                    }
                    proven.push(receipt);
                }
                Ok(proven)
            })
            .await?;
    }
    let rejected = errors.len();
    let body = json!({
        "stored": stored,
        "already_stored": already,
        "rejected": rejected,
        "receipts": receipts,
        "errors": errors,
    });
    let status = if stored > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(body)).into_response())
}

pub async fn prepare(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let parsed = parse_value(&body)
        .map_err(|error| ApiError::BadRequest(format!("the body is not valid JSON: {error}")))?;
    let item = checked_item(0, parsed)
        .and_then(|value| read_item(0, value, caller.role))
        .map_err(|error| ApiError::Rejected {
            message: error.to_string(),
            errors: vec![record_error_json(0, &error)],
        })?;
    let (reply, answer) = oneshot::channel();
    state
        .ingest()
        .send(Job::Prepare {
            object: Box::new(item.object),
            reply,
        })
        .await
        .map_err(|()| writer_gone())?;
    let public = answer
        .await
        .map_err(|_| writer_gone())?
        .map_err(|error| ApiError::Rejected {
            message: error.to_string(),
            errors: vec![record_error_json(0, &error)],
        })?;
    let message = crate::observer::observer_message(&public).map_err(ApiError::internal)?;
    use base64::Engine as _;
    Ok(axum::Json(json!({
        "record": public,
        "signed_message": base64::engine::general_purpose::STANDARD.encode(&message),
        "domain": String::from_utf8_lossy(crate::observer::OBSERVER_SIGNATURE_DOMAIN).trim_end(),
    }))
    .into_response())
}
