//! Every route of the API in one table: method, path, who may call it, its
//! parameters and its handler. The router and the OpenAPI document are both
//! built from this table, so neither can list a route the other lacks.

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use axum::{Json, Router};
use serde_json::Value;

use crate::auth::{Access, Role, authorize};
use crate::error::ApiError;
use crate::openapi::{self, Parameter, RouteDoc};
use crate::{AppState, admin_api, export_api, log_files, read_api, write_api};

const SUBMITTERS: Access = Access::Roles(&[Role::Observer, Role::Admin]);
const RECEIPT_READERS: Access = Access::Roles(&[Role::Observer, Role::Analyst, Role::Admin]);
const ANALYSTS: Access = Access::Roles(&[Role::Analyst, Role::Admin]);
const ADMINS: Access = Access::Roles(&[Role::Admin]);

const fn query(name: &'static str, description: &'static str) -> Parameter {
    Parameter {
        name,
        location: "query",
        required: false,
        description,
    }
}

const fn required_query(name: &'static str, description: &'static str) -> Parameter {
    Parameter {
        name,
        location: "query",
        required: true,
        description,
    }
}

const fn path(name: &'static str, description: &'static str) -> Parameter {
    Parameter {
        name,
        location: "path",
        required: true,
        description,
    }
}

struct Route {
    doc: RouteDoc,
    handler: MethodRouter<AppState>,
}

const JSON: &str = "application/json";

const PERIOD: [Parameter; 2] = [
    required_query("from", "first day, YYYY-MM-DD, site-local, inclusive"),
    required_query("to", "last day, YYYY-MM-DD, site-local, inclusive"),
];

fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    access: Access,
    parameters: Vec<Parameter>,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        doc: RouteDoc {
            method,
            path,
            summary,
            access,
            parameters,
            request_body: &[],
            response_type: JSON,
        },
        handler,
    }
}

impl Route {
    fn body(mut self, media_types: &'static [&'static str]) -> Route {
        self.doc.request_body = media_types;
        self
    }

    fn returns(mut self, media_type: &'static str) -> Route {
        self.doc.response_type = media_type;
        self
    }
}

fn routes(state: &AppState) -> Vec<Route> {
    let submission_limit = DefaultBodyLimit::max(state.options().max_submission_bytes);
    let stats_filters = || {
        let mut parameters = PERIOD.to_vec();
        parameters.extend([
            query("by", "comma-separated dimensions: day, week, month, site, category, operator, direction, outcome, vehicle_class, cargo, source, source_kind, recorded_by"),
            query("site", "comma-separated site ids"),
            query("category", "operator category"),
            query("operator", "operator name, exact"),
            query("direction", "inbound, outbound, unknown"),
            query("outcome", "passed, turned_back, delayed, held"),
            query("vehicle_class", "vehicle class"),
            query("cargo", "cargo kind"),
            query("baseline", "true: put the baseline beside every figure"),
            query("format", "json (default) or csv"),
        ]);
        parameters
    };
    let site_period = || {
        let mut parameters = PERIOD.to_vec();
        parameters.extend([
            query("site", "comma-separated site ids [default: every site]"),
            query(
                "metric",
                "vehicles (default), passages, passengers, medical_evacuees, tonnes",
            ),
            query("category", "operator category [default: all traffic]"),
        ]);
        parameters
    };
    vec![
        route("GET", "/healthz", "Liveness: the server answers and its store opens.", Access::Public, vec![], get(read_api::healthz)),
        route("GET", "/metrics", "Prometheus metrics (text exposition format).", Access::Public, vec![], get(read_api::metrics)).returns("text/plain"),
        route("GET", "/openapi.json", "This document.", Access::Public, vec![], get(openapi_document)),
        route(
            "POST",
            "/api/v1/records",
            "Submit one record (a JSON object), a batch (a JSON array) or JSON Lines; answers with a receipt per record. Site records need the admin role.",
            SUBMITTERS,
            vec![
                query("mode", "atomic (default: the whole batch or nothing) or per_record (store every good record)"),
                query("wait", "true: wait (up to 10 s) for the signed checkpoint that includes the records and return inclusion proofs"),
            ],
            post(write_api::submit).layer(submission_limit),
        )
        .body(&["application/json", "application/x-ndjson"]),
        route(
            "POST",
            "/api/v1/records/prepare",
            "Validate one record without storing it and return its public form: what an observer signs (see docs/api.md).",
            SUBMITTERS,
            vec![],
            post(write_api::prepare),
        )
        .body(&["application/json"]),
        route(
            "GET",
            "/api/v1/records",
            "Public parts of stored records (the leaves), oldest first, with filters and a cursor.",
            ANALYSTS,
            vec![
                query("type", "record type"),
                query("site", "site id the record refers to"),
                query("recorded_by", "who entered it"),
                query("cursor", "leaf index to continue from (next_cursor of the previous page)"),
                query("limit", "records per page, 1-1000 (default 100)"),
            ],
            get(read_api::list_records),
        ),
        route(
            "GET",
            "/api/v1/export",
            "Records as a file, as `corridor export` writes them (never private parts): every record in log order, or the current records matching the filters with the sites they refer to (see docs/export.md).",
            ANALYSTS,
            vec![
                query("format", "jsonl (default), csv, hxl or xlsx"),
                query("type", "comma-separated record types (CSV takes one) [default: every type; passages for CSV]"),
                query("from", "first day, YYYY-MM-DD, site-local, inclusive"),
                query("to", "last day, YYYY-MM-DD, site-local, inclusive"),
                query("site", "comma-separated site ids"),
                query("category", "operator category"),
                query("operator", "passages of this operator, exact"),
                query("direction", "passages in this direction"),
                query("outcome", "passages with this outcome"),
                query("vehicle_class", "passages of this vehicle class"),
                query("cargo", "passages carrying this cargo kind"),
            ],
            get(export_api::export),
        )
        .returns("application/x-ndjson"),
        route("GET", "/api/v1/records/{id}", "One stored record: its leaf, leaf index and current state.", ANALYSTS, vec![path("id", "record id")], get(read_api::record)),
        route("GET", "/api/v1/records/{id}/private", "A record's private part (personal data), unless erased.", ADMINS, vec![path("id", "record id")], get(admin_api::private_part)),
        route("POST", "/api/v1/records/{id}/erase", "Erase a record's private part (and its corrections'); the commitment stays in the log.", ADMINS, vec![path("id", "record id")], post(admin_api::erase)),
        route(
            "GET",
            "/api/v1/receipts/{id}",
            "The receipt of a record: leaf index and, once integrated, the signed checkpoint and inclusion proof. Observers see receipts of their own records only.",
            RECEIPT_READERS,
            vec![path("id", "record id"), query("size", "prove against the checkpoint published at this tree size")],
            get(read_api::receipt),
        ),
        route("GET", "/api/v1/sites", "Current sites (public form).", Access::Public, vec![], get(read_api::sites)),
        route("GET", "/api/v1/stats", "Period statistics from the rollups; the same JSON as `corridor stats --format json`.", Access::Public, stats_filters(), get(read_api::stats)),
        route("GET", "/api/v1/coverage", "Coverage per site: share of the period watched, and the gaps.", Access::Public, site_period(), get(read_api::coverage)),
        route("GET", "/api/v1/baselines", "Current baselines with the figure each resolves to.", Access::Public, vec![], get(read_api::baselines)),
        route("GET", "/api/v1/access", "Access index and status per site against its baseline.", Access::Public, site_period(), get(read_api::access)),
        route("GET", "/api/v1/claims", "Every stored claim with its verdict; the same JSON as `corridor claims check --format json`.", Access::Public, vec![], get(read_api::claims)),
        route("GET", "/api/v1/claims/{id}", "One claim with its verdict.", Access::Public, vec![path("id", "claim id")], get(read_api::claim)),
        route(
            "GET",
            "/api/v1/report",
            "A period report embedding the signed checkpoint it counts up to.",
            Access::Public,
            {
                let mut parameters = PERIOD.to_vec();
                parameters.extend([
                    query("site", "comma-separated site ids [default: every site]"),
                    query("format", "json (default), csv or html"),
                ]);
                parameters
            },
            get(read_api::report),
        ),
        route(
            "GET",
            "/api/v1/proofs/inclusion",
            "An inclusion proof (a receipt) by record id or leaf index.",
            Access::Public,
            vec![
                query("record", "record id (or give index)"),
                query("index", "leaf index (or give record)"),
                query("size", "tree size of a published checkpoint [default: the latest]"),
            ],
            get(read_api::inclusion_proof),
        ),
        route(
            "GET",
            "/api/v1/proofs/consistency",
            "A consistency proof between two published tree sizes.",
            Access::Public,
            vec![required_query("from", "older tree size"), query("to", "newer tree size [default: the latest]")],
            get(read_api::consistency_proof),
        ),
        route("GET", "/api/v1/tokens", "Every API token (never their secrets).", ADMINS, vec![], get(admin_api::list_tokens)),
        route("POST", "/api/v1/tokens", "Create a token: {\"name\": ..., \"role\": observer|analyst|admin}; its secret is shown once.", ADMINS, vec![], post(admin_api::create_token)).body(&["application/json"]),
        route("DELETE", "/api/v1/tokens/{id}", "Revoke a token.", ADMINS, vec![path("id", "token id")], delete(admin_api::revoke_token)),
        route("GET", "/log/checkpoint", "The latest signed checkpoint (C2SP tlog-checkpoint), with witness cosignatures.", Access::Public, vec![], get(read_api::log_checkpoint)).returns("text/plain"),
        route(
            "GET",
            "/log/{*path}",
            "The log's tiles and entry bundles (C2SP tlog-tiles) and past checkpoints (checkpoints/<size>); full tiles are immutable.",
            Access::Public,
            vec![path("path", "tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>] or checkpoints/<size>")],
            get(log_files::log_resource),
        )
        .returns("application/octet-stream"),
    ]
}

/// `/openapi.json`: the document for this table. It is served from here, not
/// from the read API, because the document is built from the table that
/// lists the read API's handlers.
async fn openapi_document(State(state): State<AppState>) -> Json<Value> {
    Json(openapi::document(&route_table(&state)))
}

/// The documented routes, in order (the OpenAPI document is built from them).
pub fn route_table(state: &AppState) -> Vec<RouteDoc> {
    routes(state).into_iter().map(|route| route.doc).collect()
}

/// Builds the router: every route of the table behind its access check,
/// plus the dashboard, request logging and metrics, body limits and timeouts.
pub fn build(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for Route { doc, handler } in routes(&state) {
        let guarded = handler.route_layer(middleware::from_fn_with_state(
            (state.clone(), doc.access),
            authorize,
        ));
        match by_path.iter_mut().find(|(path, _)| *path == doc.path) {
            Some((_, existing)) => {
                let merged = std::mem::take(existing).merge(guarded);
                *existing = merged;
            }
            None => by_path.push((doc.path, guarded)),
        }
    }
    for (path, handler) in by_path {
        router = router.route(path, handler);
    }
    router
        .merge(crate::dashboard::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(DefaultBodyLimit::max(state.options().max_request_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no route {} {}; the API is described at /openapi.json",
        request.method(),
        request.uri().path()
    ))
}

/// Answers 503 when a request takes longer than the configured timeout. A
/// submission cut short may still be stored: retrying it with the same ids
/// is safe.
async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.options().request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable {
            message: format!(
                "the request took longer than {} s; retrying a submission with the same ids is safe",
                limit.as_secs()
            ),
            retry_after_seconds: 1,
        }
        .into_response(),
    }
}

/// Logs every request (method, route template, status, duration: never a
/// body or a query) and counts it for `/metrics`.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state.metrics().count_request(&method, &route, status);
    tracing::info!(
        method = %method,
        route = %route,
        status,
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}
