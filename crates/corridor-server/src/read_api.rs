//! The read API: records (public parts), statistics, coverage, baselines,
//! access, claims, reports, receipts and proofs. Every answer is computed
//! from a reader connection; none carries a private part.

use std::time::Duration;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corridor_model::vocab::Token;
use corridor_model::{Body, Category, FlowMetric, Record, RecordType};
use corridor_stats::access::{AccessQuery, access_index, baseline_for};
use corridor_stats::claims::check_claim;
use corridor_stats::coverage::site_coverage;
use corridor_stats::report::{ReportCheckpoint, ReportQuery, compute_report};
use corridor_stats::snapshot::Snapshot;
use corridor_stats::{StatsDimension, StatsQuery};
use corridor_store::Store;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, query_error};

type QueryResult<T> = Result<Query<T>, QueryRejection>;

fn json_response(value: &impl serde::Serialize) -> Result<Response, ApiError> {
    Ok(axum::Json(
        serde_json::to_value(value).map_err(|error| ApiError::internal(error.to_string()))?,
    )
    .into_response())
}

fn typed(content_type: &'static str, body: String) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `200` with `"status": "ok"`, or `"degraded"` and the reasons (see
/// `health.rs` for why a degraded server still answers `200`).
pub async fn healthz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let stored = state.with_store(|store| Ok(store.leaf_count()?)).await?;
    let health = state.health();
    let reasons: Vec<crate::health::ReasonJson> = health.reasons().iter().map(Into::into).collect();
    json_response(&json!({
        "status": if reasons.is_empty() { "ok" } else { "degraded" },
        "reasons": reasons,
        "stored": stored,
        "tree_size": state.ingest().published_size(),
        "unpublished": health.unpublished(),
        "max_unpublished": health.max_unpublished(),
        "integrating": health.integrating(),
    }))
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    typed(
        "text/plain; version=0.0.4; charset=utf-8",
        state.metrics().render(),
    )
}

pub async fn log_checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    crate::log_files::log_resource(State(state), Path("checkpoint".to_string())).await
}

fn parse_date(name: &str, text: &str) -> Result<jiff::civil::Date, ApiError> {
    corridor_model::time::parse_date(text)
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: {text:?} is not a date (YYYY-MM-DD)")))
}

fn check_token<T: Token>(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(text) if T::parse_token(&text).is_some() => Ok(Some(text)),
        Some(text) => Err(ApiError::BadRequest(format!(
            "{name}: {text:?} is not a {} ({})",
            T::DESCRIPTION,
            T::expected_tokens()
        ))),
    }
}

fn split_list(value: Option<&str>) -> Vec<String> {
    value
        .map(|text| {
            text.split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParameters {
    #[serde(rename = "type")]
    record_type: Option<String>,
    site: Option<String>,
    recorded_by: Option<String>,
    cursor: Option<u64>,
    limit: Option<usize>,
}

/// The most leaves one page of `GET /api/v1/records` reads while filtering.
const MAX_SCANNED_LEAVES: u64 = 20_000;

fn leaf_matches(leaf: &Value, parameters: &ListParameters) -> bool {
    let record = &leaf["record"];
    let content = if record["type"] == "correction" {
        &record["record"]
    } else {
        record
    };
    if let Some(kind) = &parameters.record_type
        && record["type"] != kind.as_str()
    {
        return false;
    }
    if let Some(site) = &parameters.site {
        let direct = content["site"] == site.as_str();
        let listed = content["sites"]
            .as_array()
            .is_some_and(|sites| sites.iter().any(|value| value == site.as_str()));
        let itself = content["type"] == "site" && record["id"] == site.as_str();
        if !(direct || listed || itself) {
            return false;
        }
    }
    if let Some(recorded_by) = &parameters.recorded_by
        && record["recorded_by"] != recorded_by.as_str()
    {
        return false;
    }
    true
}

pub async fn list_records(
    State(state): State<AppState>,
    parameters: QueryResult<ListParameters>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    if let Some(kind) = &parameters.record_type
        && RecordType::parse(kind).is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "type: {}",
            RecordType::not_a_token(kind)
        )));
    }
    let limit = parameters.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit: {limit} is not between 1 and 1000"
        )));
    }
    let page = state
        .with_store(move |store| {
            let count = store.leaf_count()?;
            let mut cursor = parameters.cursor.unwrap_or(0);
            let stop = count.min(cursor.saturating_add(MAX_SCANNED_LEAVES));
            let mut records = Vec::new();
            while cursor < stop && records.len() < limit {
                let end = stop.min(cursor + 1000);
                let leaves = store.leaves(cursor, end)?;
                for (offset, leaf) in leaves.iter().enumerate() {
                    let leaf_index = cursor + offset as u64;
                    let leaf: Value = serde_json::from_slice(leaf).map_err(|error| {
                        ApiError::internal(format!("leaf {leaf_index} is not JSON: {error}"))
                    })?;
                    if leaf_matches(&leaf, &parameters) {
                        records.push(json!({"leaf_index": leaf_index, "leaf": leaf}));
                        if records.len() == limit {
                            cursor = leaf_index + 1;
                            break;
                        }
                    }
                }
                if records.len() < limit {
                    cursor = end;
                }
            }
            let next = (cursor < count).then_some(cursor);
            Ok(json!({"records": records, "next_cursor": next, "stored": count}))
        })
        .await?;
    json_response(&page)
}

pub async fn record(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let shown = state
        .with_store(move |store| {
            let Some(record) = store.record(&id)? else {
                return Err(ApiError::NotFound(format!("no record {id:?}")));
            };
            let leaf: Value = serde_json::from_slice(&record.leaf).map_err(|error| {
                ApiError::internal(format!("leaf {}: {error}", record.leaf_index))
            })?;
            let mut shown = json!({"id": record.id, "leaf_index": record.leaf_index, "leaf": leaf});
            if let Some(current) = store.current(&record.target_id)? {
                shown["current_leaf_index"] = json!(current.leaf_index);
                shown["retracted"] = json!(current.retracted);
            }
            Ok(shown)
        })
        .await?;
    json_response(&shown)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptParameters {
    size: Option<u64>,
}

pub async fn receipt(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    parameters: QueryResult<ReceiptParameters>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    let reader = state.log_reader().clone();
    let receipt = state
        .with_store(move |store| {
            let Some(record) = store.record(&id)? else {
                return Err(ApiError::NotFound(format!("no record {id:?}")));
            };
            if caller.role == Some(Role::Observer)
                && store.submitter(&id)? != caller.token_id
            {
                return Err(ApiError::Forbidden(format!(
                    "record {id:?} was not submitted with this token; observers read their own receipts only"
                )));
            }
            let mut receipt = json!({"record_id": record.id, "leaf_index": record.leaf_index});
            let published = match parameters.size {
                Some(size) => Some(reader.checkpoint_at(size)?),
                None => reader.latest().ok(),
            };
            match published {
                Some(published) if record.leaf_index < published.checkpoint.tree_size => {
                    let proof = reader.receipt(
                        Some(record.id.clone()),
                        record.leaf_index,
                        &record.leaf,
                        Some(published.checkpoint.tree_size),
                    )?;
                    let mut full = serde_json::to_value(&proof)
                        .map_err(|error| ApiError::internal(error.to_string()))?;
                    full["status"] = json!("integrated");
                    full["inclusion_proof"] = full["proof"].clone();
                    receipt = full;
                }
                _ => {
                    receipt["status"] = json!("stored");
                    receipt["leaf"] = json!(String::from_utf8_lossy(&record.leaf));
                }
            }
            Ok(receipt)
        })
        .await?;
    json_response(&receipt)
}

pub async fn sites(State(state): State<AppState>) -> Result<Response, ApiError> {
    let sites = state
        .with_store(|store| {
            let snapshot = Snapshot::load(store)?;
            Ok(snapshot
                .sites
                .values()
                .map(|entry| entry.record.to_public_json())
                .collect::<Vec<_>>())
        })
        .await?;
    json_response(&json!({"sites": sites}))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsParameters {
    from: String,
    to: String,
    by: Option<String>,
    site: Option<String>,
    category: Option<String>,
    operator: Option<String>,
    direction: Option<String>,
    outcome: Option<String>,
    vehicle_class: Option<String>,
    cargo: Option<String>,
    baseline: Option<bool>,
    format: Option<String>,
}

pub async fn stats(
    State(state): State<AppState>,
    parameters: QueryResult<StatsParameters>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    let mut query = StatsQuery::period(
        parse_date("from", &parameters.from)?,
        parse_date("to", &parameters.to)?,
    );
    query.sites = split_list(parameters.site.as_deref());
    query.by = split_list(parameters.by.as_deref())
        .iter()
        .map(|name| StatsDimension::parse(name))
        .collect::<Result<_, _>>()
        // A name that is no dimension is the parameter's form (400).
        .map_err(|error| ApiError::BadRequest(format!("by: {error}")))?;
    query.category = check_token::<Category>("category", parameters.category)?;
    query.direction = check_token::<corridor_model::Direction>("direction", parameters.direction)?;
    query.outcome = check_token::<corridor_model::Outcome>("outcome", parameters.outcome)?;
    query.vehicle_class =
        check_token::<corridor_model::VehicleClass>("vehicle_class", parameters.vehicle_class)?;
    query.operator = parameters.operator;
    query.cargo = parameters.cargo;
    query.baseline = parameters.baseline.unwrap_or(false);
    let csv = match parameters.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format: {other:?} is not json or csv"
            )));
        }
    };
    let report = state
        .with_store(move |store| Ok(corridor_stats::compute(store, &query)?))
        .await?;
    if csv {
        return Ok(typed(
            "text/csv; charset=utf-8",
            corridor_stats::render_csv(&report),
        ));
    }
    json_response(&report)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitePeriodParameters {
    from: String,
    to: String,
    site: Option<String>,
    metric: Option<String>,
    category: Option<String>,
}

struct SitePeriod {
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    sites: Vec<String>,
    metric: FlowMetric,
    category: Option<Category>,
}

fn site_period(parameters: SitePeriodParameters) -> Result<SitePeriod, ApiError> {
    let from = parse_date("from", &parameters.from)?;
    let to = parse_date("to", &parameters.to)?;
    if to < from {
        return Err(ApiError::Unprocessable(format!(
            "to {to} is before from {from}"
        )));
    }
    // The same bound as statistics: a period of centuries would keep a
    // reader busy for minutes.
    let days = corridor_model::time::day_number(to) - corridor_model::time::day_number(from) + 1;
    if days > corridor_stats::MAX_PERIOD_DAYS {
        return Err(ApiError::Unprocessable(format!(
            "the period spans {days} days; at most {}",
            corridor_stats::MAX_PERIOD_DAYS
        )));
    }
    let metric = match parameters.metric.as_deref() {
        None => FlowMetric::Vehicles,
        Some(text) => FlowMetric::parse(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "metric: {text:?} is not one of {}",
                FlowMetric::expected()
            ))
        })?,
    };
    let category = match parameters.category.as_deref() {
        None => None,
        Some(text) => Some(Category::parse(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "category: {text:?} is not one of {}",
                Category::expected()
            ))
        })?),
    };
    Ok(SitePeriod {
        from,
        to,
        sites: split_list(parameters.site.as_deref()),
        metric,
        category,
    })
}

fn chosen_sites(snapshot: &Snapshot, wanted: &[String]) -> Result<Vec<String>, ApiError> {
    for site in wanted {
        if !snapshot.sites.contains_key(site) {
            return Err(ApiError::NotFound(format!("site {site:?} does not exist")));
        }
    }
    Ok(if wanted.is_empty() {
        snapshot.sites.keys().cloned().collect()
    } else {
        wanted.to_vec()
    })
}

pub async fn coverage(
    State(state): State<AppState>,
    parameters: QueryResult<SitePeriodParameters>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    let period = site_period(parameters)?;
    let coverage = state
        .with_store(move |store| {
            let snapshot = Snapshot::load(store)?;
            let sites = chosen_sites(&snapshot, &period.sites)?;
            Ok(sites
                .iter()
                .map(|site| {
                    site_coverage(
                        &snapshot,
                        site,
                        period.from,
                        period.to,
                        period.metric,
                        period.category,
                    )
                })
                .collect::<Vec<_>>())
        })
        .await?;
    json_response(&json!({"coverage": coverage}))
}

pub async fn access(
    State(state): State<AppState>,
    parameters: QueryResult<SitePeriodParameters>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    let period = site_period(parameters)?;
    let thresholds = state.data_dir().config().access;
    let access = state
        .with_store(move |store| {
            let snapshot = Snapshot::load(store)?;
            let sites = chosen_sites(&snapshot, &period.sites)?;
            let mut summaries = Vec::with_capacity(sites.len());
            for site in &sites {
                let query = AccessQuery {
                    site,
                    from: period.from,
                    to: period.to,
                    metric: period.metric,
                    category: period.category,
                };
                summaries.push(access_index(store, &snapshot, &query, thresholds)?);
            }
            Ok(summaries)
        })
        .await?;
    json_response(
        &json!({"thresholds": thresholds, "rule": thresholds.describe(), "access": access}),
    )
}

pub async fn baselines(State(state): State<AppState>) -> Result<Response, ApiError> {
    let baselines = state
        .with_store(|store| {
            let snapshot = Snapshot::load(store)?;
            let mut out = Vec::new();
            for record in &snapshot.baselines {
                let Body::Baseline(baseline) = &record.body else {
                    continue;
                };
                let figure = baseline_for(
                    store,
                    &snapshot,
                    &baseline.site,
                    baseline.metric,
                    baseline.category,
                    Some(baseline.direction),
                )?;
                out.push(json!({"record": record.to_public_json(), "resolved": figure}));
            }
            Ok(out)
        })
        .await?;
    json_response(&json!({"baselines": baselines}))
}

/// The latest checkpoint and how many stored records it does not cover yet.
fn checkpoint_reference(state: &AppState, store: &dyn Store) -> Result<Value, ApiError> {
    let Ok(published) = state.log_reader().latest() else {
        return Ok(Value::Null);
    };
    let checkpoint = published.checkpoint;
    let stored = store.leaf_count()?;
    Ok(json!({
        "origin": checkpoint.origin,
        "tree_size": checkpoint.tree_size,
        "root_hash": BASE64.encode(checkpoint.root_hash),
        "records_beyond_checkpoint": stored.saturating_sub(checkpoint.tree_size),
    }))
}

fn verdicts(state: &AppState, store: &dyn Store, only: Option<&str>) -> Result<Value, ApiError> {
    let snapshot = Snapshot::load(store)?;
    let thresholds = state.data_dir().config().access;
    let claims: Vec<&Record> = snapshot
        .claims
        .iter()
        .filter(|claim| only.is_none_or(|id| claim.id == id))
        .collect();
    if let Some(id) = only
        && claims.is_empty()
    {
        return Err(ApiError::NotFound(format!("no claim {id:?}")));
    }
    let mut verdicts = Vec::with_capacity(claims.len());
    for claim in claims {
        verdicts.push(check_claim(store, &snapshot, claim, thresholds)?);
    }
    Ok(json!({
        "checkpoint": checkpoint_reference(state, store)?,
        "thresholds": thresholds,
        "claims": verdicts,
    }))
}

pub async fn claims(State(state): State<AppState>) -> Result<Response, ApiError> {
    let inner = state.clone();
    let value = state
        .with_store(move |store| verdicts(&inner, store, None))
        .await?;
    json_response(&value)
}

pub async fn claim(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let inner = state.clone();
    let value = state
        .with_store(move |store| verdicts(&inner, store, Some(&id)))
        .await?;
    json_response(&value)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParameters {
    from: String,
    to: String,
    site: Option<String>,
    format: Option<String>,
}

/// How often a report waits for a checkpoint that covers every stored record.
const REPORT_ATTEMPTS: usize = 3;

pub async fn report(
    State(state): State<AppState>,
    parameters: QueryResult<ReportParameters>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    let format = parameters.format.clone().unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv" | "html") {
        return Err(ApiError::BadRequest(format!(
            "format: {format:?} is not json, csv or html"
        )));
    }
    parse_date("from", &parameters.from)?;
    parse_date("to", &parameters.to)?;
    let query = ReportQuery {
        from: parameters.from,
        to: parameters.to,
        sites: split_list(parameters.site.as_deref()),
    };
    // A report counts exactly the records below its checkpoint: wait for a
    // checkpoint that covers every stored record, and compute while it does.
    for _attempt in 0..REPORT_ATTEMPTS {
        let stored = state.with_store(|store| Ok(store.leaf_count()?)).await?;
        state.ingest().publish_soon();
        state
            .ingest()
            .wait_published(stored, Duration::from_secs(5))
            .await;
        let inner = state.clone();
        let query = query.clone();
        let computed = state
            .with_store(move |store| {
                let published = inner.log_reader().latest()?;
                let checkpoint = published.checkpoint;
                if store.leaf_count()? != checkpoint.tree_size {
                    return Ok(None);
                }
                let report = compute_report(
                    store,
                    &query,
                    inner.data_dir().config().access,
                    Some(ReportCheckpoint {
                        origin: checkpoint.origin.clone(),
                        tree_size: checkpoint.tree_size,
                        root_hash: BASE64.encode(checkpoint.root_hash),
                        signed_note: published.signed,
                    }),
                    Vec::new(),
                )?;
                if store.leaf_count()? != checkpoint.tree_size {
                    return Ok(None);
                }
                Ok(Some(report))
            })
            .await?;
        if let Some(report) = computed {
            return Ok(match format.as_str() {
                "csv" => typed(
                    "text/csv; charset=utf-8",
                    corridor_stats::report_html::render_csv(&report),
                ),
                "html" => typed(
                    "text/html; charset=utf-8",
                    corridor_stats::report_html::render_html(&report),
                ),
                _ => json_response(&report)?,
            });
        }
    }
    Err(ApiError::Unavailable {
        message: "records are arriving faster than checkpoints are published; a report must count exactly the records of its checkpoint, so try again in a moment".into(),
        retry_after_seconds: 2,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionParameters {
    record: Option<String>,
    index: Option<u64>,
    size: Option<u64>,
}

pub async fn inclusion_proof(
    State(state): State<AppState>,
    parameters: QueryResult<InclusionParameters>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    let reader = state.log_reader().clone();
    let receipt = state
        .with_store(move |store| {
            let record = match (&parameters.record, parameters.index) {
                (Some(id), None) => store
                    .record(id)?
                    .ok_or_else(|| ApiError::NotFound(format!("no record {id:?}")))?,
                (None, Some(index)) => store
                    .record_at(index)?
                    .ok_or_else(|| ApiError::NotFound(format!("no leaf {index}")))?,
                _ => {
                    return Err(ApiError::Unprocessable(
                        "give exactly one of record (an id) and index (a leaf index)".into(),
                    ));
                }
            };
            Ok(reader.receipt(
                Some(record.id),
                record.leaf_index,
                &record.leaf,
                parameters.size,
            )?)
        })
        .await?;
    json_response(&receipt)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyParameters {
    from: u64,
    to: Option<u64>,
}

pub async fn consistency_proof(
    State(state): State<AppState>,
    parameters: QueryResult<ConsistencyParameters>,
) -> Result<Response, ApiError> {
    let Query(parameters) = parameters.map_err(query_error)?;
    let reader = state.log_reader().clone();
    let value = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let latest = reader.latest()?;
        let to = parameters.to.unwrap_or(latest.checkpoint.tree_size);
        if parameters.from > to {
            return Err(ApiError::Unprocessable(format!(
                "from {} is larger than to {to}",
                parameters.from
            )));
        }
        let proof = reader.consistency_proof(parameters.from, to)?;
        let old_root = reader.root_at(parameters.from)?;
        let new_root = reader.root_at(to)?;
        Ok(json!({
            "old_size": parameters.from,
            "new_size": to,
            "old_root": BASE64.encode(old_root),
            "new_root": BASE64.encode(new_root),
            "proof": proof.iter().map(|hash| BASE64.encode(hash)).collect::<Vec<_>>(),
        }))
    })
    .await
    .map_err(|error| ApiError::internal(error.to_string()))??;
    json_response(&value)
}
