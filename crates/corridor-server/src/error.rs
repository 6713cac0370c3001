//! The one error type every handler returns. A 4xx says exactly what was
//! wrong with the request; a 5xx is logged in full here and tells the client
//! only an incident number to quote.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use corridor_model::RecordError;
use serde_json::{Value, json};

/// A request that could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no usable token where one is needed.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: the token's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the state it would change.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422: records were rejected (nothing of an all-or-nothing batch is stored).
    #[error("{message}")]
    Rejected { message: String, errors: Vec<Value> },
    /// 422: a well-formed request breaks a rule its schema cannot state
    /// (`to` before `from`, a dimension named twice).
    #[error("{0}")]
    Unprocessable(String),
    /// 429: the token's rate limit is exhausted.
    #[error("too many requests; retry after {retry_after_seconds} s")]
    TooManyRequests { retry_after_seconds: u64 },
    /// 503: try again later; the message is safe to show.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_seconds: u64,
    },
    /// 500: logged in full, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// An internal failure: `detail` goes to the server log only.
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::Internal(detail.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// One rejected record as JSON: where it was, its id and type, the field and the reason.
pub fn record_error_json(index: u64, error: &RecordError) -> Value {
    json!({
        "index": index,
        "id": error.id,
        "type": error.record_type,
        "field": error.error.field,
        "reason": error.error.reason,
        "message": error.to_string(),
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({"status": status.as_u16()});
        match &self {
            ApiError::Internal(detail) => {
                let mut bytes = [0_u8; 6];
                let _ = getrandom::fill(&mut bytes);
                let incident = hex::encode(bytes);
                tracing::error!(incident = %incident, "internal error: {detail}");
                body["message"] = json!(format!(
                    "internal error (incident {incident}); the operator's log has the details"
                ));
                body["incident"] = json!(incident);
            }
            ApiError::Rejected { message, errors } => {
                body["message"] = json!(message);
                body["errors"] = json!(errors);
            }
            other => body["message"] = json!(other.to_string()),
        }
        let mut response = (status, axum::Json(json!({"error": body}))).into_response();
        let retry_after = match &self {
            ApiError::TooManyRequests {
                retry_after_seconds,
            }
            | ApiError::Unavailable {
                retry_after_seconds,
                ..
            } => Some(*retry_after_seconds),
            _ => None,
        };
        if let Some(seconds) = retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"corridor\""),
            );
        }
        response
    }
}

impl From<corridor_store::StoreError> for ApiError {
    fn from(error: corridor_store::StoreError) -> Self {
        ApiError::internal(format!("store: {error}"))
    }
}

/// A submission whose group's commit failed: `503`, saying what happened
/// to its records. The store's error goes to the server log (the sequencer
/// logs it with its group), never to the client.
impl From<corridor_engine::CommitFailure> for ApiError {
    fn from(failure: corridor_engine::CommitFailure) -> Self {
        let (message, retry_after_seconds) = if failure.outcome_unknown() {
            (
                "storage failed while flushing these records to disk: they may or may not be stored; retrying with the same ids is safe (records that did arrive are then answered already_stored)",
                5,
            )
        } else if failure.storage_full() {
            (
                "the store is out of disk space: nothing of this submission was stored; retry once the operator has freed space",
                30,
            )
        } else {
            (
                "storage failed: nothing of this submission was stored; retrying is safe",
                5,
            )
        };
        ApiError::Unavailable {
            message: message.to_string(),
            retry_after_seconds,
        }
    }
}

impl From<corridor_engine::EngineError> for ApiError {
    fn from(error: corridor_engine::EngineError) -> Self {
        ApiError::internal(format!("data directory: {error}"))
    }
}

impl From<corridor_stats::StatsError> for ApiError {
    fn from(error: corridor_stats::StatsError) -> Self {
        match error {
            // The query's form is checked by the handlers (400); what is left
            // is what no schema can state: an inverted or too long period, a
            // dimension named twice, a site that does not exist.
            corridor_stats::StatsError::BadQuery(message) => ApiError::Unprocessable(message),
            other => ApiError::internal(format!("statistics: {other}")),
        }
    }
}

impl From<corridor_log::ProofError> for ApiError {
    fn from(error: corridor_log::ProofError) -> Self {
        use corridor_log::ProofError;
        match error {
            ProofError::NothingPublished => {
                ApiError::NotFound("the log has no checkpoint yet (nothing integrated)".into())
            }
            error @ (ProofError::BeyondPublished { .. }
            | ProofError::NoCheckpointAtSize { .. }
            | ProofError::LeafNotInTree { .. }) => ApiError::NotFound(error.to_string()),
            other => ApiError::internal(format!("log: {other}")),
        }
    }
}

pub(crate) fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("the request body is larger than this endpoint accepts".into())
    } else {
        ApiError::BadRequest(format!(
            "the request body cannot be read: {}",
            rejection.body_text()
        ))
    }
}

pub(crate) fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::BadRequest(format!("query string: {}", rejection.body_text()))
}
