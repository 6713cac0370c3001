//! The HTML report page from a report built by hand: one bar and one status
//! cell per day, coverage gaps where the records say, verdict badges, every
//! hostile string escaped, nothing loaded from outside, the embedded JSON
//! round-tripping for `corridor report verify`, and the CSV rows.

use std::collections::BTreeMap;

use corridor_model::time::parse_date;
use corridor_model::{AccessStatus, BaselineDirection, Category, FlowMetric};
use corridor_stats::access::{AccessSummary, BaselineFigure, DayAccess, Thresholds};
use corridor_stats::claims::{AssertionVerdict, ClaimVerdict, CoverageUsed, Verdict};
use corridor_stats::coverage::{Gap, SiteCoverage};
use corridor_stats::report::{
    AppealSummary, Coordinates, Report, ReportCheckpoint, ReportQuery, SiteSection, report_json,
};
use corridor_stats::report_html::{extract_embedded_json, render_csv, render_html};
use corridor_stats::{StatsDimension, StatsQuery, StatsReport, compute};
use corridor_store::MemoryStore;
use serde_json::{Map, Value, json};

const FROM: &str = "2023-01-01";
const TO: &str = "2023-01-10";
const HOSTILE_CLAIM: &str = "<script>alert(1)</script> & the road was open";
const HOSTILE_NOTICE: &str = "</script><script>alert(\"notice\")</script>";
const HOSTILE_SITE_NAME: &str = "Gate \"A\" <b>north</b>";
const HOSTILE_REASON: &str = "<img src=x onerror=alert(2)>";

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(object) => object,
        _ => Map::new(),
    }
}

/// A statistics report with the given figures. It starts as a real (empty)
/// one computed from an empty store, so that it has every field the type has.
fn stats(by: &[StatsDimension], totals: Value, rows: Vec<Value>) -> StatsReport {
    let mut query = StatsQuery::period(
        parse_date(FROM).expect("date"),
        parse_date(TO).expect("date"),
    );
    query.by = by.to_vec();
    let mut report = compute(&MemoryStore::new(), &query).expect("an empty store computes");
    report.totals = object(totals);
    report.rows = rows.into_iter().map(object).collect();
    report
}

/// One day of the access index: (day of January, vehicles, covered share, status).
type Day = (u8, f64, f64, Option<AccessStatus>);

fn access(site: &str, baseline: Option<f64>, days: &[Day]) -> AccessSummary {
    let thresholds = Thresholds::default();
    let days: Vec<DayAccess> = days
        .iter()
        .map(|(day, observed, covered_share, status)| DayAccess {
            day: format!("2023-01-{day:02}"),
            observed: *observed,
            covered_share: *covered_share,
            index: baseline
                .filter(|_| *covered_share > 0.0)
                .map(|per_day| observed / (per_day * covered_share)),
            status: *status,
        })
        .collect();
    let observed: f64 = days.iter().map(|day| day.observed).sum();
    let covered_days: f64 = days.iter().map(|day| day.covered_share).sum();
    AccessSummary {
        site: site.to_string(),
        category: None,
        metric: FlowMetric::Vehicles,
        baseline: baseline.map(|per_day| BaselineFigure {
            id: "baseline-north".into(),
            site: site.into(),
            metric: FlowMetric::Vehicles,
            direction: BaselineDirection::Both,
            category: None,
            per_day,
            basis: "figure".into(),
            source: "Ministry <of> Roads".into(),
        }),
        thresholds,
        rule: thresholds.describe(),
        observed,
        covered_days,
        expected: baseline.map(|per_day| per_day * covered_days),
        index: baseline.map(|per_day| observed / (per_day * covered_days)),
        status: baseline.map(|_| AccessStatus::Restricted),
        explanation: "a hand-made explanation".into(),
        turned_back: 4,
        held: 2,
        delayed: 1,
        days,
    }
}

fn coverage(site: &str, covered_hours: f64, gaps: &[(&str, &str)]) -> SiteCoverage {
    SiteCoverage {
        site: site.into(),
        metric: FlowMetric::Vehicles,
        category: None,
        share: covered_hours / 240.0,
        covered_hours,
        period_hours: 240.0,
        gaps: gaps
            .iter()
            .map(|(start, end)| Gap {
                start: (*start).into(),
                end: (*end).into(),
            })
            .collect(),
        sources: vec!["Observer team <north>".into()],
    }
}

fn assertion(verdict: Verdict, claimed: Value, computed: Value, reason: &str) -> AssertionVerdict {
    AssertionVerdict {
        assertion: json!({"metric": "vehicles", "op": "gte", "value": claimed, "from": FROM, "to": TO, "sites": ["north-gate"], "category": "red_cross"}),
        claimed,
        computed,
        verdict,
        reason: reason.into(),
        coverage: vec![CoverageUsed {
            site: "north-gate".into(),
            share: 0.75,
            full: false,
            sources: vec!["Observer team <north>".into()],
        }],
        sources: vec!["Observer team <north>".into()],
    }
}

fn claim(
    id: &str,
    text: &str,
    verdict: Verdict,
    assertions: Vec<AssertionVerdict>,
) -> ClaimVerdict {
    ClaimVerdict {
        id: id.into(),
        text: text.into(),
        speaker: "Spokesperson & co".into(),
        said_on: "2023-01-11".into(),
        source: "Press release".into(),
        verdict,
        assertions,
    }
}

/// Ten days at two sites. `north-gate` has a baseline of 100 a day and every
/// kind of day: open (5), restricted, severely restricted, closed, and two
/// days nobody watched. `=south,gate` (an id a spreadsheet would run) has no
/// baseline: watched days where traffic passed have no status.
fn fixture() -> Report {
    use AccessStatus::{Closed, Open, Restricted, SeverelyRestricted};
    let north_days: Vec<Day> = vec![
        (1, 90.0, 1.0, Some(Open)),
        (2, 95.0, 1.0, Some(Open)),
        (3, 80.0, 1.0, Some(Open)),
        (4, 50.0, 1.0, Some(Restricted)),
        (5, 10.0, 1.0, Some(SeverelyRestricted)),
        (6, 0.0, 1.0, Some(Closed)),
        (7, 0.0, 0.0, None),
        (8, 0.0, 0.0, None),
        (9, 40.0, 0.5, Some(Open)),
        (10, 85.0, 1.0, Some(Open)),
    ];
    let south_days: Vec<Day> = (1..=10)
        .map(|day| {
            if day <= 4 {
                (day, 3.0, 1.0, None)
            } else {
                (day, 0.0, 0.0, None)
            }
        })
        .collect();
    let north_gaps = [
        ("2023-01-07T00:00+00:00", "2023-01-09T00:00+00:00"),
        ("2023-01-09T12:00+00:00", "2023-01-10T00:00+00:00"),
    ];
    let thresholds = Thresholds::default();
    Report {
        format: "corridor-report/v1".into(),
        title: "Two gates — 2023-01-01 to 2023-01-10".into(),
        checkpoint: Some(ReportCheckpoint {
            origin: "example.invalid/log".into(),
            tree_size: 12_345,
            root_hash: "cm9vdCBoYXNo<root>".into(),
            signed_note: "example.invalid/log\n12345\ncm9vdCBoYXNo\n\n— example.invalid/log c2ln\n"
                .into(),
        }),
        query: ReportQuery {
            from: FROM.into(),
            to: TO.into(),
            sites: Vec::new(),
        },
        thresholds,
        rule: thresholds.describe(),
        notices: vec![
            "Synthetic data: these records are made up.".into(),
            HOSTILE_NOTICE.into(),
        ],
        totals: stats(
            &[StatsDimension::Category, StatsDimension::Direction],
            json!({"vehicles": 462, "passages": 300, "passengers": null, "medical_evacuees": 3, "tonnes": 12.5}),
            vec![
                json!({"category": "red_cross", "direction": "inbound", "vehicles": 300, "passages": 200, "passengers": null, "medical_evacuees": 3, "tonnes": 12.5}),
                json!({"category": "civilian", "direction": "outbound", "vehicles": 150, "passages": 90, "passengers": null, "medical_evacuees": null, "tonnes": null}),
                json!({"category": "<i>other</i>", "direction": "unknown", "vehicles": 12, "passages": 10, "passengers": null, "medical_evacuees": null, "tonnes": null}),
            ],
        ),
        daily: stats(
            &[StatsDimension::Day, StatsDimension::Category],
            json!({"vehicles": 190}),
            vec![
                json!({"day": "2023-01-01", "category": "red_cross", "vehicles": 90}),
                json!({"day": "2023-01-01", "category": "civilian", "vehicles": 5}),
                json!({"day": "2023-01-02", "category": "red_cross", "vehicles": 95}),
            ],
        ),
        outcomes: stats(
            &[StatsDimension::Outcome, StatsDimension::Category],
            json!({"vehicles": 469, "passages": 307, "passengers": null, "medical_evacuees": 3, "tonnes": 12.5}),
            vec![
                json!({"outcome": "passed", "category": "red_cross", "vehicles": 462, "passages": 300, "passengers": null, "medical_evacuees": 3, "tonnes": 12.5}),
                json!({"outcome": "turned_back", "category": "civilian", "vehicles": 4, "passages": 4, "passengers": null, "medical_evacuees": null, "tonnes": null}),
                json!({"outcome": "held", "category": "civilian", "vehicles": 2, "passages": 2, "passengers": null, "medical_evacuees": null, "tonnes": null}),
                json!({"outcome": "delayed", "category": "civilian", "vehicles": 1, "passages": 1, "passengers": null, "medical_evacuees": null, "tonnes": null}),
            ],
        ),
        sites: vec![
            // Listed first but never watched at all: the page shows it after the others.
            SiteSection {
                id: "east-mine".into(),
                name: "East mine".into(),
                timezone: "UTC".into(),
                coordinates: Some(Coordinates {
                    latitude: 40.15,
                    longitude: 46.61,
                }),
                coverage: coverage(
                    "east-mine",
                    0.0,
                    &[("2023-01-01T00:00+00:00", "2023-01-11T00:00+00:00")],
                ),
                access: access(
                    "east-mine",
                    None,
                    &(1..=10)
                        .map(|day| (day, 0.0, 0.0, None))
                        .collect::<Vec<Day>>(),
                ),
                access_by_category: Vec::new(),
            },
            SiteSection {
                id: "north-gate".into(),
                name: HOSTILE_SITE_NAME.into(),
                timezone: "UTC".into(),
                coordinates: None,
                coverage: coverage("north-gate", 180.0, &north_gaps),
                access: access("north-gate", Some(100.0), &north_days),
                access_by_category: vec![AccessSummary {
                    category: Some(Category::RedCross),
                    ..access("north-gate", Some(60.0), &north_days)
                }],
            },
            SiteSection {
                id: "=south,gate".into(),
                name: "South gate".into(),
                timezone: "Asia/Baku".into(),
                coordinates: Some(Coordinates {
                    latitude: 39.74,
                    longitude: 46.75,
                }),
                coverage: coverage(
                    "=south,gate",
                    96.0,
                    &[("2023-01-05T00:00+04:00", "2023-01-11T00:00+04:00")],
                ),
                access: access("=south,gate", None, &south_days),
                access_by_category: Vec::new(),
            },
        ],
        missions: vec![json!({
            "type": "mission", "id": "mission-1", "kind": "medical_evacuation", "organisation": "ICRC <team>",
            "category": "red_cross", "sites": ["north-gate"], "planned_start": "2023-01-03T09:00:00+00:00",
            "outcome": "denied", "outcome_reason": HOSTILE_REASON
        })],
        incidents: vec![json!({
            "type": "incident", "id": "incident-1", "kind": "road_obstruction", "site": "north-gate",
            "started_at": "2023-01-06", "description": "<svg onload=alert(3)> camp on the road",
            "source": {"kind": "media_report", "name": "Daily <News>"}
        })],
        appeals: AppealSummary {
            total: 3,
            by_status: BTreeMap::from([("received".to_string(), 2), ("referred".to_string(), 1)]),
            by_kind: BTreeMap::from([("medical".to_string(), 3)]),
        },
        claims: vec![
            claim(
                "claim-consistent",
                "More than 100 red cross vehicles passed.",
                Verdict::Consistent,
                vec![
                    assertion(
                        Verdict::Consistent,
                        json!(100),
                        json!(300),
                        "the records already give 300",
                    ),
                    assertion(
                        Verdict::Consistent,
                        json!(200),
                        json!(300),
                        "the records already give 300",
                    ),
                ],
            ),
            claim(
                "claim-hostile",
                HOSTILE_CLAIM,
                Verdict::Inconsistent,
                vec![
                    assertion(
                        Verdict::Inconsistent,
                        json!(50),
                        json!(300),
                        "more than claimed",
                    ),
                    assertion(
                        Verdict::NotVerifiable,
                        json!(1000),
                        json!(null),
                        HOSTILE_REASON,
                    ),
                ],
            ),
            claim(
                "claim-unknown",
                "Nobody passed on 7 January.",
                Verdict::NotVerifiable,
                vec![assertion(
                    Verdict::NotVerifiable,
                    json!(0),
                    json!(0),
                    "not covered",
                )],
            ),
        ],
    }
}

/// The HTML of one site's section.
fn site_section<'a>(html: &'a str, site_id: &str) -> &'a str {
    let marker = format!("data-site=\"{site_id}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no section for {site_id}"));
    let end = start + html[start..].find("</section>").expect("section ends");
    &html[start..end]
}

/// The markup of the first `<svg class="{class}` element in `html`.
fn svg<'a>(html: &'a str, class: &str) -> &'a str {
    let start = html
        .find(&format!("<svg class=\"{class}"))
        .unwrap_or_else(|| panic!("no svg.{class}"));
    let end = start + html[start..].find("</svg>").expect("svg ends");
    &html[start..end]
}

#[test]
fn daily_flow_has_one_bar_and_one_status_cell_per_day() {
    let html = render_html(&fixture());
    let north = svg(site_section(&html, "north-gate"), "daily-flow");
    assert_eq!(north.matches("<rect class=\"bar\"").count(), 10);
    assert_eq!(north.matches("<rect class=\"status-cell ").count(), 10);
    for (class, days) in [
        ("status-open", 5),
        ("status-restricted", 1),
        ("status-severely-restricted", 1),
        ("status-closed", 1),
        ("status-not-covered", 2),
        ("status-no-baseline", 0),
    ] {
        assert_eq!(
            north
                .matches(&format!("class=\"status-cell {class}\""))
                .count(),
            days,
            "{class}"
        );
    }
    // Flow and baseline are comparable here, so the scale stays linear, with the baseline drawn.
    assert!(
        north.starts_with("<svg class=\"daily-flow scale-linear\""),
        "{}",
        &north[..60]
    );
    assert_eq!(north.matches("<path class=\"baseline\"").count(), 1);

    // No baseline: watched days where traffic passed have no status, and say so.
    let south = svg(site_section(&html, "=south,gate"), "daily-flow");
    assert_eq!(
        south
            .matches("class=\"status-cell status-no-baseline\"")
            .count(),
        4
    );
    assert_eq!(
        south
            .matches("class=\"status-cell status-not-covered\"")
            .count(),
        6
    );
    assert!(!south.contains("class=\"baseline\""));
}

#[test]
fn a_baseline_that_dwarfs_the_flow_switches_to_a_labelled_log_scale() {
    use AccessStatus::SeverelyRestricted;
    let mut report = fixture();
    let days: Vec<Day> = (1..=10)
        .map(|day| (day, 23.0, 1.0, Some(SeverelyRestricted)))
        .collect();
    report.sites[1].access = access("north-gate", Some(920.0), &days);
    let html = render_html(&report);
    let section = site_section(&html, "north-gate");
    let chart = svg(section, "daily-flow");
    assert!(chart.starts_with("<svg class=\"daily-flow scale-log\""));
    assert!(chart.contains("vehicles a day (log scale)"));
    assert!(chart.contains("observed 23 a day"));
    assert!(chart.contains("baseline 920 a day"));
    assert!(section.contains("Logarithmic scale:"));
}

#[test]
fn coverage_strip_shows_the_gaps_the_records_give() {
    let html = render_html(&fixture());
    let north = svg(site_section(&html, "north-gate"), "coverage-strip");
    // Covered until the 7th, half of the 9th, and the 10th; two gaps between.
    assert_eq!(north.matches("<rect class=\"covered\"").count(), 3);
    assert_eq!(north.matches("<rect class=\"gap\"").count(), 2);
    assert!(north.contains("75% of the period watched (180 of 240 hours), 2 gaps"));
    // A site in another time zone: the gap starts four days into its local period.
    let south = svg(site_section(&html, "=south,gate"), "coverage-strip");
    assert_eq!(south.matches("<rect class=\"covered\"").count(), 1);
    assert_eq!(south.matches("<rect class=\"gap\"").count(), 1);
    assert!(
        south.contains("<rect class=\"covered\" x=\"68\" y=\"6\" width=\"256\""),
        "{south}"
    );
}

#[test]
fn categories_chart_has_a_bar_per_category_largest_first() {
    let html = render_html(&fixture());
    let chart = svg(&html, "categories");
    let categories: Vec<&str> = chart
        .split("<rect class=\"bar\" data-category=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(
        categories,
        ["red_cross", "civilian", "&lt;i&gt;other&lt;/i&gt;"]
    );
}

#[test]
fn the_daily_series_is_a_table_of_days_by_category() {
    let html = render_html(&fixture());
    let start = html
        .find("<details class=\"daily-series\">")
        .expect("daily table");
    let table = &html[start..start + html[start..].find("</details>").expect("ends")];
    assert!(table.contains("(2 days with records)"));
    assert_eq!(table.matches("<tr><th scope=\"row\">").count(), 2);
    // Columns follow the categories chart: red cross, civilian, other; then all.
    assert!(table.contains(
        "<tr><th scope=\"row\">1 Jan 2023</th><td class=\"num\">90</td><td class=\"num\">5</td><td class=\"num\">—</td><td class=\"num\">95</td></tr>"
    ));
}

#[test]
fn claims_carry_verdict_badges_with_claimed_and_computed_figures() {
    let html = render_html(&fixture());
    assert_eq!(html.matches("<article class=\"claim\"").count(), 3);
    assert_eq!(html.matches("<li class=\"assertion\">").count(), 5);
    // Claim badges plus assertion badges.
    assert_eq!(
        html.matches("<span class=\"verdict-badge verdict-consistent\">CONSISTENT</span>")
            .count(),
        1 + 2
    );
    assert_eq!(
        html.matches("<span class=\"verdict-badge verdict-inconsistent\">INCONSISTENT</span>")
            .count(),
        1 + 1
    );
    assert_eq!(
        html.matches("<span class=\"verdict-badge verdict-not-verifiable\">NOT VERIFIABLE</span>")
            .count(),
        1 + 1 + 1
    );
    assert!(html.contains(
        "<dd class=\"claimed\">1,000</dd></div><div><dt>Computed</dt><dd class=\"computed\">—</dd>"
    ));
    assert!(html.contains("north-gate: 75% watched (partly covered)"));
}

#[test]
fn every_string_from_the_report_is_escaped() {
    let html = render_html(&fixture());
    // The only script element is the JSON data island, and nothing can close it early.
    assert_eq!(html.matches("<script").count(), 1);
    assert_eq!(html.matches("</script>").count(), 1);
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; the road was open"));
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(&quot;notice&quot;)&lt;/script&gt;"));
    assert!(html.contains("Gate &quot;A&quot; &lt;b&gt;north&lt;/b&gt;"));
    assert!(!html.contains("<b>north"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<svg onload"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(html.contains("Daily &lt;News&gt;"));
    // Ids and classes built from report text keep to safe characters.
    assert!(html.contains("id=\"site--south-gate\" data-site=\"=south,gate\""));
}

#[test]
fn the_page_is_self_contained_and_accessible() {
    let html = render_html(&fixture());
    for external in [
        "src=\"",
        "href=\"http",
        "url(",
        "@import",
        "<link",
        "<iframe",
        "<img",
    ] {
        assert!(
            !html.contains(external),
            "the page must not load anything: found {external}"
        );
    }
    // The only URL is the SVG namespace, which is a name, not a fetch.
    assert_eq!(html.matches("https://").count(), 0);
    assert_eq!(
        html.matches("http://").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("@media print"));
    assert!(html.contains("<meta name=\"viewport\""));
    let svgs: Vec<&str> = html.split("<svg ").skip(1).collect();
    assert_eq!(
        svgs.len(),
        3 * 2 + 1 + 2,
        "a daily chart and a coverage strip per site, the categories, the map and its key"
    );
    for chart in svgs {
        let tag = &chart[..chart.find('>').expect("tag ends")];
        assert!(
            tag.contains("role=\"img\"") && tag.contains("aria-label=\""),
            "{tag}"
        );
        assert!(chart[tag.len()..].starts_with(">\n<title>"), "{tag}");
    }
}

#[test]
fn sections_appear_in_reading_order_with_unwatched_sites_last() {
    let html = render_html(&fixture());
    let position = |marker: &str| {
        html.find(marker)
            .unwrap_or_else(|| panic!("missing {marker}"))
    };
    let order = [
        "<h1>",
        "id=\"notices\"",
        "id=\"summary\"",
        "id=\"map\"",
        "id=\"verify\"",
        "id=\"totals\"",
        "data-site=\"north-gate\"",
        "data-site=\"=south,gate\"",
        "data-site=\"east-mine\"",
        "id=\"outcomes\"",
        "id=\"claims\"",
        "id=\"missions\"",
        "id=\"incidents\"",
        "id=\"appeals\"",
        "id=\"method\"",
    ];
    for pair in order.windows(2) {
        assert!(
            position(pair[0]) < position(pair[1]),
            "{} before {}",
            pair[0],
            pair[1]
        );
    }
    assert!(html.contains("<li class=\"notice\">Synthetic data: these records are made up.</li>"));
    assert!(html.contains("<code class=\"hash\">cm9vdCBoYXNo&lt;root&gt;</code>"));
    assert!(html.contains("corridor report verify REPORT.html --log DIR --vkey KEY"));
    assert!(
        html.contains("<div class=\"value\">4 / 2 / 1</div>"),
        "turned back / held / delayed"
    );
    assert!(html.contains("<span class=\"outcome outcome-denied\">denied</span>"));
}

#[test]
fn a_report_without_checkpoint_notices_or_records_still_reads() {
    let mut report = fixture();
    report.checkpoint = None;
    report.notices.clear();
    report.claims.clear();
    report.missions.clear();
    report.incidents.clear();
    report.appeals = AppealSummary {
        total: 0,
        by_status: BTreeMap::new(),
        by_kind: BTreeMap::new(),
    };
    let html = render_html(&report);
    assert!(!html.contains("id=\"notices\""));
    assert!(html.contains("names no signed checkpoint"));
    assert!(html.contains("No recorded claim is about this period."));
    assert!(html.contains("No mission to these sites"));
    assert!(html.contains("No incident at these sites"));
    assert!(!html.contains("class=\"verdict-badge"));
}

#[test]
fn embedded_json_round_trips_and_the_output_is_deterministic() {
    let report = fixture();
    let html = render_html(&report);
    let embedded = extract_embedded_json(&html).expect("the page embeds its JSON");
    assert!(
        !embedded.contains("</script"),
        "escaped inside the data island"
    );
    let parsed: Value = serde_json::from_str(&embedded).expect("valid JSON");
    assert_eq!(parsed, Value::Object(report_json(&report)));
    assert_eq!(parsed["notices"][1], HOSTILE_NOTICE);
    assert_eq!(render_html(&report), html, "same report, same bytes");
}

#[test]
fn csv_has_a_row_per_site_and_day_with_spreadsheet_formulas_defused() {
    let csv = render_csv(&fixture());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "site,day,vehicles_passed,covered_share,baseline_per_day,index,status"
    );
    assert_eq!(lines.len(), 1 + 3 * 10);
    for expected in [
        "north-gate,2023-01-01,90,1.0000,100,0.9000,open",
        "north-gate,2023-01-06,0,1.0000,100,0.0000,closed",
        "north-gate,2023-01-07,0,0.0000,100,,",
        "north-gate,2023-01-09,40,0.5000,100,0.8000,open",
        "\"'=south,gate\",2023-01-01,3,1.0000,,,",
        "east-mine,2023-01-10,0,0.0000,,,",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{csv}");
    }
}

#[test]
fn the_map_links_each_placed_site_to_its_section_and_lists_the_others() {
    let html = render_html(&fixture());
    let map = &html[html.find("id=\"map\"").expect("a map section")..];
    let map = &map[..map.find("</section>").expect("the section ends")];
    assert!(map.contains("<svg class=\"site-map\""));
    assert!(map.contains("aria-label=\"Map of 2 sites: "));
    // Each marker links to the site's section further down the page.
    for (id, anchor, status) in [
        ("=south,gate", "site--south-gate", "status-no-baseline"),
        ("east-mine", "site-east-mine", "status-not-covered"),
    ] {
        assert!(
            map.contains(&format!(
                "<a class=\"map-site\" href=\"#{anchor}\" data-map-site=\"{id}\" data-status=\"{status}\""
            )),
            "{id}"
        );
        assert!(html.contains(&format!("id=\"{anchor}\"")));
    }
    // The site without coordinates is listed beside the map, its name escaped.
    let listed = &map[map
        .find("<ul class=\"sites-without-coordinates\">")
        .expect("a list")..];
    assert!(listed.contains(
        "<li data-map-site=\"north-gate\">Gate &quot;A&quot; &lt;b&gt;north&lt;/b&gt; <span class=\"status-badge status-restricted\">RESTRICTED</span> <a href=\"#site-north-gate\">450</a> vehicles passed</li>"
    ), "{listed}");
    assert!(!map.contains("data-map-site=\"north-gate\" data-status"));
    assert!(map.contains("do not imply endorsement or acceptance"));
    assert!(map.contains("class=\"scale-bar\""));
    assert!(map.contains("class=\"north-arrow\""));
}
