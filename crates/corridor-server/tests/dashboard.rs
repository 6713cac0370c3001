//! The dashboard through the router (`oneshot`, no socket): figures from a
//! store filled with known records, links from every figure to records that
//! add up to it, filters, escaping of hostile strings, the synthetic-data
//! notice, the records, verify and observer pages.

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use corridor_engine::{Config, DataDir};
use corridor_model::Location;
use corridor_server::{Server, ServerOptions};
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// A data directory holding `records`, published in the log.
fn store_with(root: &Path, records: Vec<Value>) -> DataDir {
    let data_dir = DataDir::init(root, Config::new("test.corridor.invalid/dashboard"))
        .expect("a new data directory");
    {
        let mut writer = data_dir.writer("test").expect("the writer lock");
        let mut rejected = Vec::new();
        let items = records.into_iter().enumerate().map(|(index, record)| {
            let Value::Object(object) = record else {
                panic!("records are objects")
            };
            Ok((Location::Item(index as u64), object))
        });
        writer
            .submit_all(items, |error| rejected.push(error.to_string()), |_| {})
            .map_err(|failure| failure.error)
            .expect("records stored");
        assert_eq!(rejected, Vec::<String>::new(), "every test record is valid");
        data_dir.integrate_log(&writer).expect("log integrated");
    }
    data_dir
}

fn source() -> Value {
    json!({"kind": "direct_observation", "name": "Team A"})
}

fn site(id: &str, name: &str) -> Value {
    json!({"type": "site", "id": id, "name": name, "kind": "checkpoint", "timezone": "Asia/Baku",
           "source": source(), "recorded_by": "team-a"})
}

fn passage(id: &str, site: &str, at: &str, category: &str, extra: Value) -> Value {
    let mut record = json!({"type": "passage", "id": id, "site": site, "observed_at": at,
                            "category": category, "source": source(), "recorded_by": "team-a"});
    if let (Value::Object(record), Value::Object(extra)) = (&mut record, extra) {
        record.extend(extra);
    }
    record
}

/// Two sites; passages on 1–3 March 2024 at km-12: 3 civilian cars inbound
/// (one turned back), a convoy of 5 red-cross trucks outbound, 2 commercial
/// vehicles, one of them held; coverage of km-12 for 1–2 March only.
fn known_records() -> Vec<Value> {
    vec![
        site("km-12", "Checkpoint km 12"),
        site("bridge", "River bridge"),
        passage(
            "p-1",
            "km-12",
            "2024-03-01T09:00",
            "civilian",
            json!({"direction": "inbound", "passengers": 3}),
        ),
        passage(
            "p-2",
            "km-12",
            "2024-03-01T10:00",
            "civilian",
            json!({"direction": "inbound", "outcome": "turned_back"}),
        ),
        passage(
            "p-3",
            "km-12",
            "2024-03-02T11:00",
            "civilian",
            json!({"direction": "inbound"}),
        ),
        passage(
            "p-4",
            "km-12",
            "2024-03-02T12:00",
            "red_cross",
            json!({"direction": "outbound", "count": 5,
            "vehicle_class": "truck", "operator": "ICRC", "medical_evacuees": 4, "passengers": 4}),
        ),
        passage(
            "p-5",
            "km-12",
            "2024-03-03T08:00",
            "commercial",
            json!({"outcome": "held", "wait_minutes": 90}),
        ),
        passage(
            "p-6",
            "km-12",
            "2024-03-03T08:30",
            "commercial",
            json!({"direction": "outbound",
            "cargo": [{"kind": "food", "tonnes": 12.5}]}),
        ),
        passage(
            "p-7",
            "bridge",
            "2024-03-02T15:00",
            "civilian",
            json!({"direction": "outbound"}),
        ),
        json!({"type": "coverage", "id": "cov-1", "site": "km-12", "start": "2024-03-01", "end": "2024-03-02",
               "mode": "continuous_watch", "metrics": ["vehicles"], "source": source(), "recorded_by": "team-a"}),
        json!({"type": "baseline", "id": "base-1", "site": "km-12", "metric": "vehicles", "direction": "both",
               "per_day": 40, "source": {"kind": "official_statement", "name": "Ministry"}, "recorded_by": "team-a"}),
        json!({"type": "mission", "id": "m-1", "kind": "convoy", "organisation": "ICRC", "category": "red_cross",
               "sites": ["km-12"], "planned_start": "2024-03-02", "outcome": "denied",
               "outcome_reason": "Refused at the barrier.", "source": source(), "recorded_by": "team-a"}),
        json!({"type": "incident", "id": "i-1", "kind": "protest", "site": "km-12", "started_at": "2024-03-01T07:00",
               "description": "Protest camp on the road.", "source": source(), "recorded_by": "team-a"}),
        json!({"type": "claim", "id": "c-1", "text": "At least 8 vehicles passed km 12 from 1 to 3 March.",
               "speaker": "Ministry", "said_on": "2024-03-04",
               "assertions": [{"metric": "vehicles", "op": "gte", "value": 8, "from": "2024-03-01", "to": "2024-03-03", "sites": ["km-12"]}],
               "source": {"kind": "official_statement", "name": "Ministry"}, "recorded_by": "team-a"}),
    ]
}

struct Page {
    status: StatusCode,
    content_type: String,
    policy: String,
    body: String,
}

async fn get(router: &axum::Router, uri: &str) -> Page {
    let response = router
        .clone()
        .oneshot(
            Request::get(uri)
                .header(header::HOST, "127.0.0.1:8080")
                .body(Body::empty())
                .expect("a request"),
        )
        .await
        .expect("a response");
    let header_text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let status = response.status();
    let content_type = header_text(header::CONTENT_TYPE);
    let policy = header_text(header::CONTENT_SECURITY_POLICY);
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .expect("the body");
    Page {
        status,
        content_type,
        policy,
        body: String::from_utf8(bytes.to_vec()).expect("UTF-8"),
    }
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} is not in the page"))
        + start.len();
    let to = from + text[from..].find(end).unwrap_or(text.len() - from);
    &text[from..to]
}

/// The value of the figure tile with class `tile`.
fn tile(page: &str, tile: &str) -> String {
    let block = between(page, &format!("<div class=\"tile {tile}\">"), "</div>");
    let value = between(block, "class=\"value\"", "</");
    value[value.find('>').map_or(0, |position| position + 1)..].to_string()
}

/// The href of the figure tile with class `tile`, unescaped.
fn tile_link(page: &str, tile: &str) -> String {
    let block = between(page, &format!("<div class=\"tile {tile}\">"), "</div>");
    between(block, "href=\"", "\"").replace("&amp;", "&")
}

fn start(data_dir: DataDir) -> (Server, axum::Router) {
    let server = Server::start(data_dir, ServerOptions::default()).expect("the server starts");
    let router = server.router();
    (server, router)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_come_from_the_records_and_link_to_records_that_add_up_to_them() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let (server, router) = start(store_with(directory.path(), known_records()));

    // No period asked: the 43 days up to the last day with records.
    let page = get(&router, "/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(
        page.policy.contains("default-src 'none'"),
        "{}",
        page.policy
    );
    assert!(
        page.body.contains("21 Jan 2024 to 3 Mar 2024 · 43 days"),
        "default period"
    );
    assert_eq!(
        page.body.matches("<script").count(),
        0,
        "the dashboard runs no script"
    );

    // 3 + 5 + 2 at km-12, 1 at the bridge: 11 vehicles of every outcome.
    assert_eq!(tile(&page.body, "tile-vehicles"), "11");
    assert_eq!(tile(&page.body, "tile-flow"), "9");
    assert_eq!(tile(&page.body, "tile-turned-back"), "1");
    assert_eq!(tile(&page.body, "tile-evacuees"), "4");
    assert!(
        page.body
            .contains("<section class=\"site\" id=\"site-km-12\" data-site=\"km-12\">")
    );
    assert_eq!(
        between(&page.body, "data-site=\"km-12\">", "</section>")
            .matches("<rect class=\"bar\"")
            .count(),
        43,
        "one bar per day"
    );
    // Nobody was recorded watching on 3 March: the notice says the coverage is partial.
    assert!(
        page.body
            .contains("share of the period covered: River bridge (0%), Checkpoint km 12 (4.7%)")
    );
    assert!(
        !page.body.contains("are synthetic"),
        "no synthetic notice without synthetic records"
    );
    // The denied convoy, the protest and the claim with its verdict.
    assert!(
        page.body
            .contains("<span class=\"outcome outcome-denied\">DENIED</span> convoy — ICRC")
    );
    assert!(page.body.contains("data-id=\"i-1\""));
    assert!(
        page.body
            .contains("<article class=\"claim\" data-id=\"c-1\" data-verdict=\"consistent\">")
    );
    assert!(page.body.contains("<dd class=\"claimed\">at least 8</dd>"));
    // The log: 14 records, all published.
    assert!(
        page.body
            .contains("<dd class=\"tree-size\" data-value=\"14\">14</dd>")
    );
    assert!(
        page.body
            .contains("No witness has cosigned this checkpoint yet")
    );

    // The vehicles figure links to records whose counts add up to it.
    let href = tile_link(&page.body, "tile-vehicles");
    assert_eq!(href, "/dashboard/records?from=2024-01-21&to=2024-03-03");
    let records = get(&router, &href).await;
    assert_eq!(records.status, StatusCode::OK, "{}", records.body);
    assert!(
        records.body.contains(
            "<div class=\"total-vehicles\"><dt>Vehicles</dt><dd data-value=\"11\">11</dd>"
        )
    );
    assert!(
        records
            .body
            .contains("<div class=\"total-records\"><dt>Records</dt><dd data-value=\"7\">7</dd>")
    );
    assert_eq!(records.body.matches("<tr class=\"record").count(), 7);
    assert!(
        records.body.contains("<td class=\"number count\">5</td>"),
        "the convoy counts 5"
    );

    // Turned back: one record.
    let href = tile_link(&page.body, "tile-turned-back");
    let records = get(&router, &href).await;
    assert!(
        records.body.contains("<dd data-value=\"1\">1</dd>"),
        "{href}"
    );
    assert!(records.body.contains("data-id=\"p-2\""));

    // Every link on the dashboard to a records page answers, and its total is
    // the figure the link was on.
    let mut checked = 0;
    for piece in page.body.split("<a ").skip(1) {
        let Some(rest) = piece
            .strip_prefix("class=\"value\" href=\"")
            .or_else(|| piece.strip_prefix("href=\""))
        else {
            continue;
        };
        let href = rest[..rest.find('"').expect("a closed href")].replace("&amp;", "&");
        if !href.starts_with("/dashboard/records") {
            continue;
        }
        let shown = between(rest, ">", "</a>").replace(',', "");
        let listed = get(&router, &href).await;
        assert_eq!(listed.status, StatusCode::OK, "{href}");
        let vehicles = between(
            &listed.body,
            "<div class=\"total-vehicles\"><dt>Vehicles</dt><dd data-value=\"",
            "\"",
        );
        let evacuees = between(&listed.body, "<dt>Medical evacuees</dt><dd>", "<");
        let passengers = between(&listed.body, "<dt>Passengers</dt><dd>", "<");
        assert!(
            shown == vehicles || shown == evacuees || shown == passengers,
            "{href}: the link says {shown}, the records add up to {vehicles} vehicles"
        );
        checked += 1;
    }
    assert!(checked > 20, "only {checked} figure links were checked");
    server.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_narrow_every_figure() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let (server, router) = start(store_with(directory.path(), known_records()));

    let page = get(
        &router,
        "/?from=2024-03-01&to=2024-03-03&site=km-12&category=civilian",
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<h1>Checkpoint km 12</h1>"));
    assert!(
        page.body
            .contains("1 Mar 2024 to 3 Mar 2024 · 3 days · civilian")
    );
    assert_eq!(tile(&page.body, "tile-vehicles"), "3");
    assert_eq!(tile(&page.body, "tile-flow"), "2");
    assert!(
        !page.body.contains("data-site=\"bridge\""),
        "only the selected site"
    );
    // The form keeps the selection; the chips offer the other categories.
    assert!(page.body.contains("<option value=\"km-12\" selected>"));
    assert!(page.body.contains("<option value=\"civilian\" selected>"));
    assert!(page.body.contains("<a class=\"chip\" data-category=\"red_cross\" href=\"/?from=2024-03-01&amp;to=2024-03-03&amp;site=km-12&amp;category=red_cross\">red cross</a>"));
    // The convoy was red cross: not in a civilian selection.
    assert!(
        !page
            .body
            .contains("<span class=\"outcome outcome-denied\">")
    );

    let page = get(
        &router,
        "/?from=2024-03-01&to=2024-03-03&category=red_cross",
    )
    .await;
    assert_eq!(tile(&page.body, "tile-vehicles"), "5");
    let href = tile_link(&page.body, "tile-vehicles");
    assert_eq!(
        href,
        "/dashboard/records?from=2024-03-01&to=2024-03-03&category=red_cross"
    );
    let records = get(&router, &href).await;
    assert!(records.body.contains("<dd data-value=\"5\">5</dd>"));
    assert!(
        records.body.contains("<dd data-value=\"1\">1</dd>"),
        "one record of five vehicles"
    );

    // A period with nothing in it says so and shows no figure as zero traffic.
    let page = get(&router, "/?from=2023-01-01&to=2023-01-05").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(tile(&page.body, "tile-vehicles"), "—");
    assert!(page.body.contains("No passage recorded in this selection."));
    server.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_get_a_400_that_names_them() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let (server, router) = start(store_with(directory.path(), known_records()));
    for (uri, message) in [
        (
            "/?from=2024-13-01",
            "from: &quot;2024-13-01&quot; is not a date (YYYY-MM-DD)",
        ),
        (
            "/?from=2024-03-02&to=2024-03-01",
            "to: 2024-03-01 is before from (2024-03-02)",
        ),
        (
            "/?site=%3Cscript%3E",
            "site: there is no site &quot;&lt;script&gt;&quot;",
        ),
        (
            "/?category=tanks",
            "category: &quot;tanks&quot; is not a category",
        ),
        (
            "/dashboard/records?to=2024-03-01",
            "from: required (YYYY-MM-DD)",
        ),
        (
            "/dashboard/records?from=2024-03-01&to=2024-03-01&outcome=vanished",
            "outcome: &quot;vanished&quot; is not an outcome",
        ),
        (
            "/dashboard/records?from=2024-03-01&to=2024-03-01&page=0",
            "page: &quot;0&quot; is not a page number",
        ),
    ] {
        let page = get(&router, uri).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(page.body.contains(message), "{uri}: {}", page.body);
        assert!(!page.body.contains("<script>"), "{uri}");
    }
    server.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_are_escaped_everywhere() {
    let hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>&amp;";
    let mut records = vec![
        json!({"type": "site", "id": "evil", "name": hostile, "kind": "checkpoint", "timezone": "UTC",
               "source": {"kind": "media_report", "name": hostile}, "recorded_by": "team-a"}),
        json!({"type": "passage", "id": "p-evil", "site": "evil", "observed_at": "2024-03-01T09:00",
               "category": "other", "operator": hostile, "notes": hostile,
               "source": {"kind": "media_report", "name": hostile}, "recorded_by": "team-a"}),
        json!({"type": "incident", "id": "i-evil", "kind": "other", "site": "evil", "started_at": "2024-03-01",
               "description": hostile, "source": {"kind": "media_report", "name": hostile}, "recorded_by": "team-a"}),
        json!({"type": "claim", "id": "c-evil", "text": hostile, "speaker": hostile, "said_on": "2024-03-01",
               "assertions": [{"metric": "vehicles", "op": "gte", "value": 1, "from": "2024-03-01", "to": "2024-03-01", "sites": ["evil"]}],
               "source": {"kind": "media_report", "name": hostile}, "recorded_by": "team-a"}),
    ];
    records.push(json!({"type": "mission", "id": "m-evil", "kind": "convoy", "organisation": hostile, "category": "other",
        "sites": ["evil"], "planned_start": "2024-03-01", "outcome": "denied", "outcome_reason": hostile,
        "source": {"kind": "media_report", "name": hostile}, "recorded_by": "team-a"}));
    let directory = tempfile::tempdir().expect("a temporary directory");
    let (server, router) = start(store_with(directory.path(), records));
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;";
    for uri in [
        "/",
        "/?site=evil&from=2024-03-01&to=2024-03-01",
        "/dashboard/records?from=2024-03-01&to=2024-03-01&site=evil",
        "/observe",
    ] {
        let page = get(&router, uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}: {}", page.body);
        assert!(
            !page.body.contains("<script>alert"),
            "{uri} carries a live script"
        );
        assert!(
            !page.body.contains("<img src=x"),
            "{uri} carries a live image"
        );
        assert!(page.body.contains(escaped), "{uri} shows the text escaped");
    }
    server.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_says_its_records_are_synthetic_and_shows_the_published_figures() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let (data_dir, _) =
        corridor_engine::demo::create(&directory.path().join("demo")).expect("the demo");
    data_dir
        .integrate_log_locked("test")
        .expect("log integrated");
    let (server, router) = start(data_dir);

    let page = get(&router, "/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("12 Dec 2022 to 23 Jan 2023 · 43 days"),
        "the demo period by default"
    );
    let notices = between(&page.body, "<section id=\"notices\"", "</section>");
    assert!(notices.contains("These records are synthetic"), "{notices}");
    assert!(notices.contains("All passage records in this selection are synthetic"));
    assert_eq!(tile(&page.body, "tile-vehicles"), "980");
    assert_eq!(tile(&page.body, "tile-evacuees"), "90");
    assert!(page.body.contains(
        "<article class=\"claim\" data-id=\"claim-road-not-closed\" data-verdict=\"consistent\">"
    ));
    assert!(page.body.contains(
        "<span class=\"status-badge status-severely-restricted\">SEVERELY RESTRICTED</span>"
    ));

    let page = get(&router, "/?category=red_cross").await;
    assert_eq!(tile(&page.body, "tile-vehicles"), "122");
    let records = get(&router, &tile_link(&page.body, "tile-vehicles")).await;
    assert!(records.body.contains("<dd data-value=\"122\">122</dd>"));
    assert!(
        records
            .body
            .contains("<strong>122 of these 122 records are synthetic</strong>")
    );
    assert!(
        records.body.contains("page 1 of 2"),
        "122 records, 100 a page"
    );
    server.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_observer_pages_are_served() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let (server, router) = start(store_with(directory.path(), known_records()));
    let vkey =
        std::fs::read_to_string(directory.path().join("keys/log.vkey")).expect("the log's key");

    let page = get(&router, "/dashboard/verify?from=2024-03-01&to=2024-03-03").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(vkey.trim()), "the key is shown");
    assert!(page.body.contains(&format!(
        "corridor verify --log http://127.0.0.1:8080/log --vkey &#39;{}&#39;",
        vkey.trim()
    )));
    assert!(page.body.contains(
        "corridor report --from 2024-03-01 --to 2024-03-03 --format html -o REPORT.html"
    ));
    assert!(
        page.body
            .contains("corridor report verify REPORT.html --log DIR --vkey")
    );
    assert!(
        page.body
            .contains("as published at <code>http://127.0.0.1:8080/log</code>")
    );

    let page = get(&router, "/observe").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.policy.contains("script-src 'self'"), "{}", page.policy);
    assert!(
        page.body
            .contains("<option value=\"km-12\">Checkpoint km 12</option>")
    );
    assert!(
        page.body
            .contains("<script src=\"/observe/observer.js\" defer></script>")
    );
    let script = get(&router, "/observe/observer.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script.content_type.starts_with("text/javascript"),
        "{}",
        script.content_type
    );
    assert!(script.body.contains("localStorage"));
    assert!(
        !script.body.contains("http://") && !script.body.contains("https://"),
        "no external resource"
    );
    server.shutdown().await.expect("a clean shutdown");
}
