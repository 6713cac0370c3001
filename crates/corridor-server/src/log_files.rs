//! The log's files served under `/log/`, read through its storage
//! (whichever backend the data directory configures), as C2SP tlog-tiles
//! clients expect: the checkpoint as text, never cached long;
//! full tiles and bundles immutable; partial ones briefly cacheable.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// Cache policy of full tiles and bundles: they never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Partial tiles are never rewritten either, but a client should look for the full one soon.
const PARTIAL: &str = "public, max-age=60";
/// The checkpoint changes every second under load.
const CHECKPOINT: &str = "no-cache";

/// Checks a path below `/log/` and returns its cache policy and content type.
/// Only C2SP resource names are served: `checkpoint`, `checkpoints/<size>`,
/// `tile/...` with segments of digits, `x` and three digits, `entries` and
/// `<N>.p` / width. Anything else (including `..`) is not found.
fn classify(path: &str) -> Option<(&'static str, &'static str)> {
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        ["checkpoint"] => return Some((CHECKPOINT, "text/plain; charset=utf-8")),
        ["checkpoints", size] if !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit()) => {
            return Some((PARTIAL, "text/plain; charset=utf-8"));
        }
        ["tile", rest @ ..] if !rest.is_empty() => {
            let numeric = |segment: &str| {
                let digits = segment.strip_prefix('x').unwrap_or(segment);
                !digits.is_empty()
                    && digits.len() <= 3
                    && digits.bytes().all(|b| b.is_ascii_digit())
            };
            let (level, tail) = rest.split_first()?;
            if *level != "entries" && !numeric(level) {
                return None;
            }
            let mut partial = false;
            for (position, segment) in tail.iter().enumerate() {
                if let Some(index) = segment.strip_suffix(".p") {
                    if !numeric(index) || position + 2 != tail.len() {
                        return None;
                    }
                    partial = true;
                } else if !numeric(segment) {
                    return None;
                }
            }
            if tail.is_empty() {
                return None;
            }
            return Some((
                if partial { PARTIAL } else { IMMUTABLE },
                "application/octet-stream",
            ));
        }
        _ => {}
    }
    None
}

pub async fn log_resource(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let Some((cache, content_type)) = classify(&path) else {
        return Err(ApiError::NotFound(format!(
            "/log/{path} is not a log resource"
        )));
    };
    let storage = std::sync::Arc::clone(state.log_reader().storage());
    let location = storage.describe_path(&path);
    let read = {
        let path = path.clone();
        let _slot = state.reader_slot().await?;
        tokio::task::spawn_blocking(move || storage.read(&path))
            .await
            .map_err(|error| ApiError::internal(error.to_string()))?
    };
    let bytes = match read {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(ApiError::NotFound(format!("/log/{path} does not exist")));
        }
        Err(error) => {
            return Err(ApiError::internal(format!("{location}: {error}")));
        }
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_c2sp_resource_names_are_served() {
        assert_eq!(classify("checkpoint").map(|c| c.0), Some(CHECKPOINT));
        assert_eq!(classify("tile/0/000").map(|c| c.0), Some(IMMUTABLE));
        assert_eq!(
            classify("tile/0/x001/x234/067").map(|c| c.0),
            Some(IMMUTABLE)
        );
        assert_eq!(
            classify("tile/entries/003.p/44").map(|c| c.0),
            Some(PARTIAL)
        );
        assert_eq!(classify("tile/1/000.p/5").map(|c| c.0), Some(PARTIAL));
        assert_eq!(
            classify("checkpoints/12").map(|c| c.1),
            Some("text/plain; charset=utf-8")
        );
        for bad in [
            "../keys/log.key",
            "tile/../../keys/log.key",
            "tile/0/../../x",
            "tile/0",
            "tile/0/0000",
            "tile/0/000.p",
            "tile/0/000.p/5/6",
            "keys/log.key",
            "checkpoints/../x",
            "",
        ] {
            assert_eq!(classify(bad), None, "{bad}");
        }
    }
}
