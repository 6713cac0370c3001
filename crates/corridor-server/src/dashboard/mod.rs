//! The dashboard (`/`, `/dashboard/*`) and the observer tally page (`/observe`).
//!
//! Pages are rendered on the server as plain HTML with inline SVG charts and
//! an inline stylesheet: no build step, no script on the dashboard, nothing
//! fetched from elsewhere, readable on a phone and offline once loaded. The
//! observer page is the one page with a script (`observer.js`, served by this
//! binary): it queues tallies in the browser and sends them to the write API.
//!
//! - [`query`]: the query parameters, parsed once, errors naming the parameter.
//! - [`data`]: [`DashboardData`] gathered from rollups, records and the log.
//! - [`page`]: [`render_dashboard`]; `map`: the map of the sites; [`records`]: the records behind a figure;
//!   [`verify`]: how to check the figures; [`observer`]: the tally page.

pub mod data;
pub mod html;
mod map;
pub mod observer;
pub mod page;
pub mod query;
pub mod records;
pub mod verify;

pub use data::{DashboardData, gather};
pub use page::render_dashboard;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use corridor_model::RecordType;
use corridor_store::Store;

use crate::{ApiError, AppState};
use data::DashboardError;
use query::{BadParameter, DashboardParams, Filters, RecordsFilter};

/// The dashboard's routes: `/`, `/dashboard`, `/dashboard/records`,
/// `/dashboard/verify`, `/observe` and `/observe/observer.js`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/dashboard", get(dashboard))
        .route("/dashboard/records", get(records_page))
        .route("/dashboard/verify", get(verify_page))
        .route("/observe", get(observer_page))
        .route(observer::SCRIPT_PATH, get(observer_script))
}

/// `response` as `content_type`, which browsers may neither sniff as
/// something else nor reuse without asking again.
fn typed_uncached(mut response: Response, content_type: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// An HTML page with its security headers.
fn html_response(status: StatusCode, policy: &'static str, body: String) -> Response {
    let mut response = typed_uncached((status, body).into_response(), "text/html; charset=utf-8");
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("{policy}{}", html::NO_FRAMING)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A 400 page that names the parameter and says why, with a way back.
fn bad_parameter_page(error: &BadParameter) -> Response {
    let body = format!(
        "<h1>This page cannot be shown</h1>\n<section class=\"notices\" role=\"alert\"><p class=\"bad-parameter\"><strong>{}</strong></p></section>\n<p><a href=\"/\">Back to the dashboard</a></p>\n",
        html::escape(&error.to_string())
    );
    html_response(
        StatusCode::BAD_REQUEST,
        html::DASHBOARD_POLICY,
        html::page("Bad request — Corridor", "dashboard", &body),
    )
}

fn failure(error: DashboardError) -> Response {
    match error {
        DashboardError::BadParameter(error) => bad_parameter_page(&error),
        DashboardError::Stats(corridor_stats::StatsError::BadQuery(message)) => {
            bad_parameter_page(&BadParameter {
                parameter: "query",
                reason: message,
            })
        }
        DashboardError::Stats(error) => ApiError::from(error).into_response(),
    }
}

async fn dashboard(
    State(state): State<AppState>,
    Query(params): Query<DashboardParams>,
) -> Response {
    let filters = match Filters::parse(&params) {
        Ok(filters) => filters,
        Err(error) => return bad_parameter_page(&error),
    };
    let thresholds = state.data_dir().config().access;
    let log = state.log_reader().clone();
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let gathered = state
        .with_store(move |store| Ok(gather(store, Some(&log), &filters, thresholds, today)))
        .await;
    match gathered {
        Ok(Ok(data)) => html_response(
            StatusCode::OK,
            html::DASHBOARD_POLICY,
            render_dashboard(&data),
        ),
        Ok(Err(error)) => failure(error),
        Err(error) => error.into_response(),
    }
}

async fn records_page(
    State(state): State<AppState>,
    Query(params): Query<DashboardParams>,
) -> Response {
    let filter = match RecordsFilter::parse(&params) {
        Ok(filter) => filter,
        Err(error) => return bad_parameter_page(&error),
    };
    let listed = state
        .with_store(move |store| Ok(records::list_passages(store, &filter)))
        .await;
    match listed {
        Ok(Ok(listing)) => html_response(
            StatusCode::OK,
            html::DASHBOARD_POLICY,
            records::render_records(&listing),
        ),
        Ok(Err(error)) => ApiError::from(error).into_response(),
        Err(error) => error.into_response(),
    }
}

/// The address a reader would give `corridor verify --log`: this server's
/// `/log`, over https unless it is on the loopback interface.
fn log_address(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    if host.is_empty()
        || !host
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || ".-:[]".contains(character))
    {
        return None;
    }
    let loopback =
        host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
    let scheme = if loopback { "http" } else { "https" };
    Some(format!("{scheme}://{host}/log"))
}

async fn verify_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<DashboardParams>,
) -> Response {
    let filters = match Filters::parse(&params) {
        Ok(filters) => filters,
        Err(error) => return bad_parameter_page(&error),
    };
    let vkey = std::fs::read_to_string(state.data_dir().log_vkey_path()).ok();
    let log = state.log_reader().clone();
    let signed_checkpoint = log.latest().ok().map(|published| published.signed);
    let log_state = state
        .with_store(move |store| Ok(data::log_state(&log, store.leaf_count()?)))
        .await;
    let log_state = match log_state {
        Ok(log_state) => log_state,
        Err(error) => return error.into_response(),
    };
    let info = verify::VerifyInfo {
        vkey,
        log: log_state,
        signed_checkpoint,
        log_path: log_address(&headers),
        from: filters
            .from
            .map(|date| date.strftime("%Y-%m-%d").to_string()),
        to: filters.to.map(|date| date.strftime("%Y-%m-%d").to_string()),
        site: filters.site,
    };
    html_response(
        StatusCode::OK,
        html::DASHBOARD_POLICY,
        verify::render_verify(&info),
    )
}

/// Every current site as `(id, name)`, read from the site records.
fn site_names(store: &dyn Store) -> Result<Vec<(String, String)>, ApiError> {
    let mut sites = Vec::new();
    for (id, leaf) in store.current_of_type(RecordType::Site)? {
        let name = corridor_stats::snapshot::current_content(&leaf)
            .ok()
            .and_then(|object| {
                object
                    .get("name")
                    .and_then(|name| name.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| id.clone());
        sites.push((id, name));
    }
    Ok(sites)
}

async fn observer_page(State(state): State<AppState>) -> Response {
    match state.with_store(|store| site_names(store)).await {
        Ok(sites) => html_response(
            StatusCode::OK,
            observer::OBSERVER_POLICY,
            observer::render_observer(&sites),
        ),
        Err(error) => error.into_response(),
    }
}

async fn observer_script() -> Response {
    typed_uncached(
        observer::SCRIPT.into_response(),
        "text/javascript; charset=utf-8",
    )
}
