//! `GET /api/v1/export`: the exports of `corridor export` (JSON Lines, CSV,
//! HXL CSV, xlsx) for analysts, never with private parts, bounded in size.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corridor_export::{CheckpointSummary, ExportError, ExportFormat, ExportRequest, RecordFilter};
use corridor_model::vocab::Token;
use corridor_model::{Category, Direction, Outcome, RecordType, VehicleClass};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::error::query_error;

/// The largest export one request may produce; larger ones are refused
/// with a message to narrow the filters or use `corridor export`.
pub const MAX_EXPORT_BYTES: usize = 64 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportParameters {
    format: Option<String>,
    #[serde(rename = "type")]
    types: Option<String>,
    from: Option<String>,
    to: Option<String>,
    site: Option<String>,
    category: Option<String>,
    operator: Option<String>,
    direction: Option<String>,
    outcome: Option<String>,
    vehicle_class: Option<String>,
    cargo: Option<String>,
}

fn list(value: Option<&str>) -> Vec<String> {
    value
        .into_iter()
        .flat_map(|text| text.split(','))
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(str::to_string)
        .collect()
}

fn date(name: &str, value: Option<&str>) -> Result<Option<jiff::civil::Date>, ApiError> {
    value
        .map(|text| {
            corridor_model::time::parse_date(text).ok_or_else(|| {
                ApiError::BadRequest(format!("{name}: {text:?} is not a date (YYYY-MM-DD)"))
            })
        })
        .transpose()
}

fn token<T: Token>(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(text) if T::parse_token(&text).is_none() => Err(ApiError::BadRequest(format!(
            "{name}: {}",
            T::not_a_token(&text)
        ))),
        other => Ok(other),
    }
}

/// The parameters as an export request (without the checkpoint and time).
fn request(parameters: ExportParameters) -> Result<ExportRequest, ApiError> {
    let format_name = parameters.format.as_deref().unwrap_or("jsonl");
    let format = ExportFormat::parse(format_name).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "format: {format_name:?} is not one of {}",
            ExportFormat::NAMES
        ))
    })?;
    let types = list(parameters.types.as_deref())
        .iter()
        .map(|name| {
            RecordType::parse(name).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "type: {name:?} is not one of {}",
                    RecordType::expected()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let filter = RecordFilter {
        from: date("from", parameters.from.as_deref())?,
        to: date("to", parameters.to.as_deref())?,
        sites: list(parameters.site.as_deref()),
        category: token::<Category>("category", parameters.category)?,
        operator: parameters.operator,
        direction: token::<Direction>("direction", parameters.direction)?,
        outcome: token::<Outcome>("outcome", parameters.outcome)?,
        vehicle_class: token::<VehicleClass>("vehicle_class", parameters.vehicle_class)?,
        cargo: parameters.cargo,
    };
    Ok(ExportRequest {
        format,
        filter,
        types,
        // Private parts leave the server only through the admin route.
        private: false,
        checkpoint: None,
        exported_at: jiff::Timestamp::now().to_string(),
    })
}

/// A buffer that refuses to grow past [`MAX_EXPORT_BYTES`].
struct BoundedBuffer(Vec<u8>);

impl std::io::Write for BoundedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + bytes.len() > MAX_EXPORT_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "export too large",
            ));
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn export_error(error: ExportError) -> ApiError {
    match error {
        // Combinations no schema states: several types for CSV, passage
        // filters with other types.
        ExportError::BadRequest(message) => ApiError::Unprocessable(message),
        ExportError::Io(error) if error.kind() == std::io::ErrorKind::FileTooLarge => too_large(),
        ExportError::Xlsx(rust_xlsxwriter_error)
            if rust_xlsxwriter_error.to_string().contains("too large") =>
        {
            too_large()
        }
        other => ApiError::internal(other.to_string()),
    }
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the export is larger than {} MiB; narrow it with from, to, site or type, or run `corridor export` on the server",
        MAX_EXPORT_BYTES >> 20
    ))
}

pub async fn export(
    State(state): State<AppState>,
    parameters: Result<Query<ExportParameters>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    let mut request = request(parameters)?;
    request.resolved_types().map_err(export_error)?;
    // Reading the checkpoint may be a request to a bucket: not on a worker.
    let reader = state.log_reader().clone();
    request.checkpoint = tokio::task::spawn_blocking(move || reader.latest().ok())
        .await
        .ok()
        .flatten()
        .map(|published| CheckpointSummary {
            origin: published.checkpoint.origin.clone(),
            tree_size: published.checkpoint.tree_size,
            root_hash: BASE64.encode(published.checkpoint.root_hash),
        });
    let format = request.format;
    let bytes = state
        .with_store(move |store| {
            let mut buffer = BoundedBuffer(Vec::new());
            corridor_export::export(store, &request, &mut buffer, &mut |_| {})
                .map_err(export_error)?;
            Ok(buffer.0)
        })
        .await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    let disposition = format!(
        "attachment; filename=\"corridor-export.{}\"",
        format.extension()
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
