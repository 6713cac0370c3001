//! The admin API: private parts, erasure and tokens.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use corridor_store::Store;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, body_error};

/// Runs `work` on a blocking thread with its own writable connection.
async fn with_writable_store<T, F>(state: &AppState, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Store) -> Result<T, ApiError> + Send + 'static,
{
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = state.data_dir().open_store()?;
        work(store.as_mut())
    })
    .await
    .map_err(|error| ApiError::internal(format!("an admin task failed: {error}")))?
}

pub async fn private_part(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let value = state
        .with_store(move |store| {
            if store.record(&id)?.is_none() {
                return Err(ApiError::NotFound(format!("no record {id:?}")));
            }
            let private = match store.private_part(&id)? {
                Some(part) => serde_json::from_slice::<Value>(&part.data).map_err(|error| {
                    ApiError::internal(format!("private part of {id:?} is not JSON: {error}"))
                })?,
                None => Value::Null,
            };
            Ok(json!({"id": id, "private": private}))
        })
        .await?;
    tracing::info!("a private part was read by an admin");
    Ok(axum::Json(value).into_response())
}

pub async fn erase(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let value = with_writable_store(&state, move |store| {
        if store.record(&id)?.is_none() {
            return Err(ApiError::NotFound(format!("no record {id:?}")));
        }
        // The answer comes once the erased values are off the disk, or says
        // they are not yet.
        match store.erase_private(&id) {
            Ok(erased) => Ok(json!({"id": id, "erased": erased, "purged": true})),
            Err(corridor_store::StoreError::ErasedNotPurged { erased, reason }) => {
                Ok(json!({"id": id, "erased": erased, "purged": false, "message": reason}))
            }
            Err(other) => Err(other.into()),
        }
    })
    .await?;
    Ok(axum::Json(value).into_response())
}

pub async fn list_tokens(State(state): State<AppState>) -> Result<Response, ApiError> {
    let tokens = state.with_store(|store| Ok(store.tokens()?)).await?;
    let tokens: Vec<Value> = tokens
        .into_iter()
        .map(|token| {
            json!({
                "id": token.id,
                "name": token.name,
                "role": token.role,
                "created_at": token.created_at,
                "revoked_at": token.revoked_at,
            })
        })
        .collect();
    Ok(axum::Json(json!({"tokens": tokens})).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let request: NewToken = serde_json::from_slice(&body).map_err(|error| {
        ApiError::BadRequest(format!(
            "the body must be {{\"name\": ..., \"role\": ...}}: {error}"
        ))
    })?;
    let Some(role) = Role::parse(&request.role) else {
        return Err(ApiError::BadRequest(format!(
            "role: {:?} is not observer, analyst or admin",
            request.role
        )));
    };
    // The rule of a record's text fields, as the document's NewToken states it.
    corridor_model::parse::check_text(&request.name, 1, 200)
        .map_err(|reason| ApiError::BadRequest(format!("name: {reason}")))?;
    let name = request.name;
    // Tokens are written, so through a writable connection of their own.
    let created = with_writable_store(&state, move |store| {
        crate::auth::create_token(store, &name, role)
            .map_err(|error| ApiError::internal(format!("creating a token: {error}")))
    })
    .await?;
    let value =
        serde_json::to_value(&created).map_err(|error| ApiError::internal(error.to_string()))?;
    Ok((StatusCode::CREATED, axum::Json(value)).into_response())
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // Revoking the token in use would lock its holder out mid-session (and
    // an admin out for good, were it the last one).
    if caller.token_id.as_deref() == Some(id.as_str()) {
        return Err(ApiError::Conflict(format!(
            "{id:?} is the token this request is made with; revoke it with another admin token or `corridor token revoke`"
        )));
    }
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let revoked = with_writable_store(&state, move |store| {
        if store.revoke_token(&id, &now)? {
            Ok(json!({"id": id, "revoked_at": now}))
        } else {
            Err(ApiError::NotFound(format!("no active token {id:?}")))
        }
    })
    .await?;
    Ok(axum::Json(revoked).into_response())
}
