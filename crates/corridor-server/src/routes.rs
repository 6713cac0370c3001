//! Every route of the API in one table: method, path, who may call it, its
//! parameters and its handler. The router and the OpenAPI document are both
//! built from this table, so neither can list a route the other lacks.

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use axum::{Json, Router};
use corridor_model::RecordType;
use serde_json::{Value, json};

use crate::auth::{Access, Role, authorize};
use crate::error::ApiError;
use crate::openapi::{self, Answer, Content, Parameter, RouteDoc};
use crate::{AppState, admin_api, export_api, log_files, read_api, write_api};

const SUBMITTERS: Access = Access::Roles(&[Role::Observer, Role::Admin]);
const RECEIPT_READERS: Access = Access::Roles(&[Role::Observer, Role::Analyst, Role::Admin]);
const ANALYSTS: Access = Access::Roles(&[Role::Analyst, Role::Admin]);
const ADMINS: Access = Access::Roles(&[Role::Admin]);

fn query(name: &'static str, description: &'static str, schema: Value) -> Parameter {
    Parameter {
        name,
        location: "query",
        required: false,
        description,
        schema,
    }
}

fn required_query(name: &'static str, description: &'static str, schema: Value) -> Parameter {
    Parameter {
        required: true,
        ..query(name, description, schema)
    }
}

fn path(name: &'static str, description: &'static str, schema: Value) -> Parameter {
    Parameter {
        name,
        location: "path",
        required: true,
        description,
        schema,
    }
}

/// A named schema of the document.
fn named(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn date() -> Value {
    named("Date")
}

fn text() -> Value {
    json!({"type": "string"})
}

/// A count or index a query may give (the server reads them as 64-bit unsigned).
fn whole(minimum: u64) -> Value {
    json!({"type": "integer", "minimum": minimum, "maximum": u64::MAX})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn one_of_tokens(tokens: &[&str]) -> Value {
    json!({"type": "string", "enum": tokens})
}

/// A comma-separated list of `tokens` (possibly empty).
fn token_list(tokens: &[&str]) -> Value {
    let any = tokens.join("|");
    json!({"type": "string", "pattern": format!("^(({any})(,({any}))*)?$")})
}

struct Route {
    doc: RouteDoc,
    handler: MethodRouter<AppState>,
}

const JSON: &str = "application/json";

fn period() -> Vec<Parameter> {
    vec![
        required_query(
            "from",
            "first day, YYYY-MM-DD, site-local, inclusive",
            date(),
        ),
        required_query(
            "to",
            "last day, YYYY-MM-DD, site-local, inclusive (not before from)",
            date(),
        ),
    ]
}

fn route(
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    access: Access,
    parameters: Vec<Parameter>,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        doc: RouteDoc {
            method,
            path,
            operation_id,
            summary,
            access,
            parameters,
            request_body: Vec::new(),
            answers: Vec::new(),
            links: Vec::new(),
        },
        handler,
    }
}

impl Route {
    fn body(mut self, media_type: &'static str, schema: Value) -> Route {
        self.doc.request_body.push(Content { media_type, schema });
        self
    }

    /// A successful answer in one or more media types.
    fn answers(
        mut self,
        status: u16,
        description: &'static str,
        content: &[(&'static str, Value)],
    ) -> Route {
        let content = content
            .iter()
            .map(|(media_type, schema)| Content {
                media_type,
                schema: schema.clone(),
            })
            .collect();
        self.doc.answers.push(Answer {
            status,
            description,
            content,
        });
        self
    }

    fn ok(self, schema: &str) -> Route {
        self.answers(200, "success", &[(JSON, named(schema))])
    }

    /// An error this route gives, and when.
    fn fails(mut self, status: u16, description: &'static str) -> Route {
        self.doc.answers.push(Answer {
            status,
            description,
            content: Vec::new(),
        });
        self
    }

    fn link(
        mut self,
        name: &'static str,
        operation_id: &'static str,
        parameter: &'static str,
        expression: &'static str,
    ) -> Route {
        self.doc
            .links
            .push((name, operation_id, parameter, expression));
        self
    }
}

const NO_RECORD: &str = "no record with this id";
const UNPROCESSABLE_PERIOD: &str = "a rule the schema cannot state: to is before from";

fn routes(state: &AppState) -> Vec<Route> {
    let submission_limit = DefaultBodyLimit::max(state.options().max_submission_bytes);
    let dimensions = [
        "day",
        "week",
        "month",
        "site",
        "category",
        "operator",
        "direction",
        "outcome",
        "vehicle_class",
        "cargo",
        "source",
        "source_kind",
        "recorded_by",
    ];
    let passage_filters = || {
        vec![
            query("site", "comma-separated site ids", text()),
            query("category", "operator category", named("Category")),
            query("operator", "operator name, exact", text()),
            query("direction", "direction", named("Direction")),
            query("outcome", "passage outcome", named("Outcome")),
            query("vehicle_class", "vehicle class", named("VehicleClass")),
            query("cargo", "cargo kind", text()),
        ]
    };
    let stats_filters = || {
        let mut parameters = period();
        parameters.push(query(
            "by",
            "comma-separated dimensions",
            token_list(&dimensions),
        ));
        parameters.extend(passage_filters());
        parameters.extend([
            query(
                "baseline",
                "true: put the baseline beside every figure",
                boolean(),
            ),
            query(
                "format",
                "json (default) or csv",
                one_of_tokens(&["json", "csv"]),
            ),
        ]);
        parameters
    };
    let site_period = || {
        let mut parameters = period();
        parameters.extend([
            query(
                "site",
                "comma-separated site ids [default: every site]",
                text(),
            ),
            query(
                "metric",
                "the figure [default: vehicles]",
                named("FlowMetric"),
            ),
            query(
                "category",
                "operator category [default: all traffic]",
                named("Category"),
            ),
        ]);
        parameters
    };
    let record_id = || path("id", "record id", named("Id"));
    let record_types: Vec<&str> = RecordType::ALL.iter().map(|kind| kind.as_str()).collect();
    vec![
        route("GET", "/healthz", "getHealth", "Liveness: the server answers and its store opens.", Access::Public, vec![], get(read_api::healthz))
            .ok("Health"),
        route("GET", "/metrics", "getMetrics", "Prometheus metrics (text exposition format).", Access::Public, vec![], get(read_api::metrics))
            .answers(200, "the metrics", &[("text/plain", text())]),
        route("GET", "/openapi.json", "getOpenApi", "This document.", Access::Public, vec![], get(openapi_document))
            .answers(200, "the OpenAPI 3.1 document", &[(JSON, json!({"type": "object"}))]),
        route("GET", "/schema/records.json", "getRecordSchema", "The JSON Schema (2020-12) of one record, as `corridor schema records` prints it.", Access::Public, vec![], get(record_schema))
            .answers(200, "the JSON Schema of a record", &[("application/schema+json", json!({"type": "object"}))]),
        route(
            "POST",
            "/api/v1/records",
            "submitRecords",
            "Submit one record (a JSON object), a batch (a JSON array) or JSON Lines; answers with a receipt per record. Site records need the admin role.",
            SUBMITTERS,
            vec![
                query("mode", "atomic (default: the whole batch or nothing) or per_record (store every good record)", one_of_tokens(&["atomic", "per_record"])),
                query("wait", "true: wait (up to 10 s) for the signed checkpoint that includes the records and return inclusion proofs", boolean()),
            ],
            post(write_api::submit).layer(submission_limit),
        )
        .body("application/json", named("Submission"))
        .body("application/x-ndjson", json!({"type": "string", "description": "JSON Lines: one record (or signed record) per line"}))
        .answers(201, "at least one record was stored by this request", &[(JSON, named("SubmitResult"))])
        .answers(200, "nothing new was stored: every record was already stored, or (mode=per_record) some were already stored and the rest rejected", &[(JSON, named("SubmitResult"))])
        .fails(413, "the body is larger than 16 MiB (--max-submission-mib) or holds more records than --max-batch-records")
        .fails(422, "mode=atomic: a record was rejected, so nothing of the batch was stored; mode=per_record: every record was rejected. errors names each rejected record, field and reason. Rules no schema can state land here: a reference to a site or mission that does not exist, an end before its start, more medical evacuees than passengers, an id already stored with other content, a site record from a token without the admin role, a bad observer signature")
        .fails(503, "storing failed, the server is shutting down, or (backpressure) more acknowledged records wait for a signed checkpoint than --max-unpublished, when nothing is read; the message says whether the records may be stored (retrying with the same ids is always safe)")
        .link("GetRecord", "getRecord", "id", "$response.body#/receipts/0/id")
        .link("GetReceipt", "getReceipt", "id", "$response.body#/receipts/0/id"),
        route(
            "POST",
            "/api/v1/records/prepare",
            "prepareRecord",
            "Validate one record without storing it and return its public form: what an observer signs (see docs/api.md).",
            SUBMITTERS,
            vec![],
            post(write_api::prepare),
        )
        .body(JSON, named("Record"))
        .ok("Prepared")
        .fails(422, "the record was rejected; errors names the field and the reason")
        .fails(503, "the server is shutting down"),
        route(
            "GET",
            "/api/v1/records",
            "listRecords",
            "Public parts of stored records (the leaves), oldest first, with filters and a cursor.",
            ANALYSTS,
            vec![
                query("type", "record type", named("RecordType")),
                query("site", "site id the record refers to", text()),
                query("recorded_by", "who entered it", text()),
                query("cursor", "leaf index to continue from (next_cursor of the previous page)", whole(0)),
                query("limit", "records per page [default: 100]", json!({"type": "integer", "minimum": 1, "maximum": 1000})),
            ],
            get(read_api::list_records),
        )
        .ok("RecordPage"),
        route(
            "GET",
            "/api/v1/export",
            "exportRecords",
            "Records as a file, as `corridor export` writes them (never private parts): every record in log order, or the current records matching the filters with the sites they refer to (see docs/export.md).",
            ANALYSTS,
            {
                let mut parameters = vec![
                    query("format", "file format [default: jsonl]", one_of_tokens(&["jsonl", "csv", "hxl", "xlsx"])),
                    query("type", "comma-separated record types (CSV and HXL take one) [default: every type; passages for CSV]", token_list(&record_types)),
                    query("from", "first day, YYYY-MM-DD, site-local, inclusive", date()),
                    query("to", "last day, YYYY-MM-DD, site-local, inclusive", date()),
                ];
                parameters.extend(passage_filters());
                parameters
            },
            get(export_api::export),
        )
        .answers(200, "the file, as an attachment", &[
            ("application/x-ndjson", text()),
            ("text/csv", text()),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", json!({"type": "string", "contentMediaType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})),
        ])
        .fails(413, "the export is larger than 64 MiB; narrow it with filters")
        .fails(422, "a rule the schema cannot state: CSV and HXL take one record type"),
        route("GET", "/api/v1/records/{id}", "getRecord", "One stored record: its leaf, leaf index and current state.", ANALYSTS, vec![record_id()], get(read_api::record))
            .ok("StoredRecord")
            .fails(404, NO_RECORD),
        route("GET", "/api/v1/records/{id}/private", "getPrivatePart", "A record's private part (personal data), unless erased.", ADMINS, vec![record_id()], get(admin_api::private_part))
            .ok("PrivatePart")
            .fails(404, NO_RECORD),
        route("POST", "/api/v1/records/{id}/erase", "erasePrivatePart", "Erase a record's private part (and its corrections'); the commitment stays in the log.", ADMINS, vec![record_id()], post(admin_api::erase))
            .ok("Erased")
            .fails(404, NO_RECORD),
        route(
            "GET",
            "/api/v1/receipts/{id}",
            "getReceipt",
            "The receipt of a record: leaf index and, once integrated, the signed checkpoint and inclusion proof. Observers see receipts of their own records only.",
            RECEIPT_READERS,
            vec![record_id(), query("size", "prove against the checkpoint published at this tree size", whole(1))],
            get(read_api::receipt),
        )
        .ok("Receipt")
        .fails(403, "an observer asked for a record another token submitted")
        .fails(404, "no record with this id, or no checkpoint published at this size"),
        route("GET", "/api/v1/sites", "listSites", "Current sites (public form).", Access::Public, vec![], get(read_api::sites))
            .ok("Sites"),
        route("GET", "/api/v1/stats", "getStats", "Period statistics from the rollups; the same JSON as `corridor stats --format json`.", Access::Public, stats_filters(), get(read_api::stats))
            .answers(200, "the statistics", &[(JSON, named("StatsReport")), ("text/csv", text())])
            .fails(422, UNPROCESSABLE_PERIOD),
        route("GET", "/api/v1/coverage", "getCoverage", "Coverage per site: share of the period watched, and the gaps.", Access::Public, site_period(), get(read_api::coverage))
            .ok("CoverageList")
            .fails(404, "a site given does not exist")
            .fails(422, UNPROCESSABLE_PERIOD),
        route("GET", "/api/v1/baselines", "listBaselines", "Current baselines with the figure each resolves to.", Access::Public, vec![], get(read_api::baselines))
            .ok("Baselines"),
        route("GET", "/api/v1/access", "getAccess", "Access index and status per site against its baseline.", Access::Public, site_period(), get(read_api::access))
            .ok("AccessList")
            .fails(404, "a site given does not exist")
            .fails(422, UNPROCESSABLE_PERIOD),
        route("GET", "/api/v1/claims", "listClaims", "Every stored claim with its verdict; the same JSON as `corridor claims check --format json`.", Access::Public, vec![], get(read_api::claims))
            .ok("Verdicts"),
        route("GET", "/api/v1/claims/{id}", "getClaim", "One claim with its verdict.", Access::Public, vec![path("id", "claim id", named("Id"))], get(read_api::claim))
            .ok("Verdicts")
            .fails(404, "no claim with this id"),
        route(
            "GET",
            "/api/v1/report",
            "getReport",
            "A period report embedding the signed checkpoint it counts up to.",
            Access::Public,
            {
                let mut parameters = period();
                parameters.extend([
                    query("site", "comma-separated site ids [default: every site]", text()),
                    query("format", "json (default), csv or html", one_of_tokens(&["json", "csv", "html"])),
                ]);
                parameters
            },
            get(read_api::report),
        )
        .answers(200, "the report", &[(JSON, named("Report")), ("text/csv", text()), ("text/html", text())])
        .fails(404, "the log has no checkpoint yet, or a site given does not exist")
        .fails(422, UNPROCESSABLE_PERIOD)
        .fails(503, "records keep arriving faster than checkpoints are published; a report must count exactly the records of its checkpoint"),
        route(
            "GET",
            "/api/v1/proofs/inclusion",
            "getInclusionProof",
            "An inclusion proof (a receipt) by record id or leaf index.",
            Access::Public,
            vec![
                query("record", "record id (or give index)", named("Id")),
                query("index", "leaf index (or give record)", whole(0)),
                query("size", "tree size of a published checkpoint [default: the latest]", whole(1)),
            ],
            get(read_api::inclusion_proof),
        )
        .ok("InclusionProof")
        .fails(404, "no such record or leaf, or not in the checkpoint at this size")
        .fails(422, "a rule the schema cannot state: give exactly one of record and index"),
        route(
            "GET",
            "/api/v1/proofs/consistency",
            "getConsistencyProof",
            "A consistency proof between two published tree sizes.",
            Access::Public,
            vec![required_query("from", "older tree size", whole(0)), query("to", "newer tree size [default: the latest]", whole(0))],
            get(read_api::consistency_proof),
        )
        .ok("ConsistencyProof")
        .fails(404, "no checkpoint was published at one of the sizes")
        .fails(422, "a rule the schema cannot state: from is larger than to"),
        route("GET", "/api/v1/tokens", "listTokens", "Every API token (never their secrets).", ADMINS, vec![], get(admin_api::list_tokens))
            .ok("Tokens"),
        route("POST", "/api/v1/tokens", "createToken", "Create a token; its secret is shown once.", ADMINS, vec![], post(admin_api::create_token))
            .body(JSON, named("NewToken"))
            .answers(201, "the token, with its secret", &[(JSON, named("TokenCreated"))])
            .link("RevokeToken", "revokeToken", "id", "$response.body#/id"),
        route("DELETE", "/api/v1/tokens/{id}", "revokeToken", "Revoke a token.", ADMINS, vec![path("id", "token id", text())], delete(admin_api::revoke_token))
            .ok("TokenRevoked")
            .fails(404, "no active token with this id")
            .fails(409, "this is the token the request is made with: an admin cannot revoke its own token"),
        route("GET", "/log/checkpoint", "getCheckpoint", "The latest signed checkpoint (C2SP tlog-checkpoint), with witness cosignatures.", Access::Public, vec![], get(read_api::log_checkpoint))
            .answers(200, "the signed checkpoint", &[("text/plain", text())])
            .fails(404, "nothing has been published yet"),
        route(
            "GET",
            "/log/{*path}",
            "getLogFile",
            "The log's tiles and entry bundles (C2SP tlog-tiles) and past checkpoints (checkpoints/<size>); full tiles are immutable.",
            Access::Public,
            vec![path("path", "tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>] or checkpoints/<size>", text())],
            get(log_files::log_resource),
        )
        .answers(200, "the tile, bundle or checkpoint", &[("application/octet-stream", json!({"type": "string", "contentMediaType": "application/octet-stream"})), ("text/plain", text())])
        .fails(404, "no such C2SP resource"),
    ]
}

/// `/schema/records.json`: the JSON Schema of one record.
async fn record_schema() -> Response {
    let mut response = Json(corridor_model::schema::record_schema()).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/schema+json"),
    );
    response
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
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        openapi::API_VERSION_HEADER,
        axum::http::HeaderValue::from_static(openapi::API_VERSION),
    );
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
