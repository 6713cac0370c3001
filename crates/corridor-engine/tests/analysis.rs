//! Coverage, access index and claim verdicts on records written through the
//! real pipeline, against hand-computed expectations; and the property that
//! every figure computed from the rollups equals the same figure computed
//! from a store rebuilt from the leaves alone.

use corridor_engine::{Config, Writer};
use corridor_model::{AccessStatus, FlowMetric, Location, RecordError};
use corridor_stats::access::{AccessQuery, Thresholds, access_index, access_totals};
use corridor_stats::claims::{Verdict, check_claim};
use corridor_stats::coverage::site_coverage;
use corridor_stats::snapshot::Snapshot;
use corridor_stats::{StatsDimension, StatsQuery};
use corridor_store::{MemoryStore, SqliteStore, Store};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn source() -> Value {
    json!({"kind": "direct_observation", "name": "Team A"})
}

fn writer(store: Box<dyn Store>) -> Writer {
    Writer::new(
        store,
        Config::new("test.invalid/analysis"),
        b"secret".to_vec(),
        None,
    )
}

fn submit(writer: &mut Writer, records: Vec<Value>) {
    let items = records
        .into_iter()
        .enumerate()
        .map(|(index, record)| -> Result<_, RecordError> {
            Ok((Location::Line(index as u64 + 1), object(record)))
        });
    let mut rejected = Vec::new();
    writer
        .submit_all(items, |error| rejected.push(error.to_string()), |_| {})
        .expect("stored");
    assert_eq!(rejected, Vec::<String>::new());
}

fn passage(id: &str, at: &str, count: u32, category: &str) -> Value {
    json!({"type": "passage", "id": id, "site": "lachin", "observed_at": at, "count": count, "category": category,
           "source": source(), "recorded_by": "team-a"})
}

/// Coverage from 1 Jan 08:00 to the end of 3 Jan; a baseline of 10 vehicles a
/// day; 5 vehicles on 1 Jan, none on 2 Jan, 9 on 3 Jan, 3 on the unwatched 4 Jan.
fn fixture() -> Writer {
    let mut writer = writer(Box::new(MemoryStore::new()));
    submit(
        &mut writer,
        vec![
            json!({"type": "site", "id": "lachin", "name": "Lachin road", "kind": "road_segment", "timezone": "Asia/Baku",
                   "source": source(), "recorded_by": "team-a"}),
            json!({"type": "coverage", "id": "cov-1", "site": "lachin", "start": "2023-01-01T08:00", "end": "2023-01-03",
                   "mode": "continuous_watch", "metrics": ["vehicles"], "source": {"kind": "direct_observation", "name": "Watch team"},
                   "recorded_by": "team-a"}),
            json!({"type": "baseline", "id": "base-1", "site": "lachin", "metric": "vehicles", "direction": "both", "per_day": 10,
                   "source": {"kind": "official_statement", "name": "Ministry figure"}, "recorded_by": "team-a"}),
            passage("p-1", "2023-01-01T09:00", 5, "red_cross"),
            passage("p-3", "2023-01-03T12:00", 9, "peacekeeping"),
            passage("p-4", "2023-01-04T12:00", 3, "civilian"),
            json!({"type": "passage", "id": "p-5", "site": "lachin", "observed_at": "2023-01-03T13:00", "category": "civilian",
                   "outcome": "turned_back", "source": source(), "recorded_by": "team-a"}),
        ],
    );
    writer
}

fn day(text: &str) -> jiff::civil::Date {
    corridor_model::time::parse_date(text).expect("date")
}

#[test]
fn coverage_reports_the_share_and_the_gaps_in_site_time() {
    let writer = fixture();
    let snapshot = Snapshot::load(writer.store()).expect("snapshot");
    let coverage = site_coverage(
        &snapshot,
        "lachin",
        day("2023-01-01"),
        day("2023-01-04"),
        FlowMetric::Vehicles,
        None,
    );
    assert_eq!(
        (coverage.covered_hours, coverage.period_hours),
        (64.0, 96.0)
    );
    let gaps: Vec<(String, String)> = coverage
        .gaps
        .iter()
        .map(|gap| (gap.start.clone(), gap.end.clone()))
        .collect();
    assert_eq!(
        gaps,
        vec![
            (
                "2023-01-01T00:00+04:00".to_string(),
                "2023-01-01T08:00+04:00".to_string()
            ),
            (
                "2023-01-04T00:00+04:00".to_string(),
                "2023-01-05T00:00+04:00".to_string()
            ),
        ]
    );
    assert_eq!(coverage.sources, vec!["Watch team".to_string()]);
    // Tonnes were never covered.
    let tonnes = site_coverage(
        &snapshot,
        "lachin",
        day("2023-01-01"),
        day("2023-01-04"),
        FlowMetric::Tonnes,
        None,
    );
    assert_eq!(tonnes.share, 0.0);
}

#[test]
fn the_access_index_scales_the_baseline_to_the_watched_part_of_each_day() {
    let writer = fixture();
    let snapshot = Snapshot::load(writer.store()).expect("snapshot");
    let query = AccessQuery {
        site: "lachin",
        from: day("2023-01-01"),
        to: day("2023-01-04"),
        metric: FlowMetric::Vehicles,
        category: None,
    };
    let summary =
        access_index(writer.store(), &snapshot, &query, Thresholds::default()).expect("index");
    let days: Vec<(String, f64, Option<AccessStatus>)> = summary
        .days
        .iter()
        .map(|day| (day.day.clone(), day.observed, day.status))
        .collect();
    assert_eq!(
        days,
        vec![
            // 5 vehicles in the 16 watched hours: 5 / (10 × 2/3) = 75%.
            ("2023-01-01".to_string(), 5.0, Some(AccessStatus::Open)),
            ("2023-01-02".to_string(), 0.0, Some(AccessStatus::Closed)),
            ("2023-01-03".to_string(), 9.0, Some(AccessStatus::Open)),
            // Nobody watched: no status, whatever was recorded.
            ("2023-01-04".to_string(), 3.0, None),
        ]
    );
    assert!((summary.days[0].index.expect("index") - 0.75).abs() < 1e-9);
    assert_eq!(
        summary.turned_back, 1,
        "turned back is counted beside the flow"
    );
    // 17 observed against 10 × (2/3 + 1 + 1) expected.
    assert_eq!(summary.observed, 17.0);
    assert!((summary.index.expect("index") - 17.0 / (10.0 * (8.0 / 3.0))).abs() < 1e-9);
    // 63.75% of the baseline over the period.
    assert_eq!(summary.status, Some(AccessStatus::Restricted));
    assert_eq!(
        summary
            .baseline
            .as_ref()
            .map(|baseline| baseline.source.as_str()),
        Some("Ministry figure")
    );
}

/// The fixture and a site in Berlin, where 26 March 2023 has 23 hours,
/// watched in overlapping stretches that begin and end inside days.
fn fixture_with_daylight_saving() -> Writer {
    let mut writer = fixture();
    let watch = |id: &str, start: &str, end: &str| {
        json!({"type": "coverage", "id": id, "site": "berlin", "start": start, "end": end,
               "mode": "continuous_watch", "metrics": ["vehicles"], "source": {"kind": "direct_observation", "name": "Watch team"},
               "recorded_by": "team-a"})
    };
    submit(
        &mut writer,
        vec![
            json!({"type": "site", "id": "berlin", "name": "Berlin road", "kind": "road_segment", "timezone": "Europe/Berlin",
                   "source": source(), "recorded_by": "team-a"}),
            watch("cov-b1", "2023-03-24T18:30", "2023-03-26T01:00"),
            watch("cov-b2", "2023-03-25T12:00", "2023-03-27T07:15"),
            watch("cov-b3", "2023-03-29T10:00", "2023-03-29T14:00"),
            watch("cov-b4", "2023-03-31", "2023-04-02"),
            json!({"type": "baseline", "id": "base-b", "site": "berlin", "metric": "vehicles", "direction": "both", "per_day": 4,
                   "source": {"kind": "official_statement", "name": "Ministry figure"}, "recorded_by": "team-a"}),
            json!({"type": "passage", "id": "b-1", "site": "berlin", "observed_at": "2023-03-26T10:00", "count": 3, "category": "civilian",
                   "source": source(), "recorded_by": "team-a"}),
        ],
    );
    writer
}

#[test]
fn access_totals_equal_the_access_index_without_walking_the_days() {
    let writer = fixture_with_daylight_saving();
    let snapshot = Snapshot::load(writer.store()).expect("snapshot");
    let query = |site, from: &str, to: &str| AccessQuery {
        site,
        from: day(from),
        to: day(to),
        metric: FlowMetric::Vehicles,
        category: None,
    };
    for (site, from, to) in [
        ("lachin", "2023-01-01", "2023-01-04"),
        ("lachin", "2023-01-02", "2023-01-02"),
        ("lachin", "2022-12-01", "2023-02-28"),
        ("berlin", "2023-03-20", "2023-04-10"),
        ("berlin", "2023-03-26", "2023-03-26"),
        ("berlin", "2023-03-25", "2023-03-29"),
        ("berlin", "2023-03-27", "2023-03-31"),
    ] {
        let query = query(site, from, to);
        let index =
            access_index(writer.store(), &snapshot, &query, Thresholds::default()).expect("index");
        let totals = access_totals(writer.store(), &snapshot, &query, Thresholds::default())
            .expect("totals");
        let context = format!("{site} {from}..{to}");
        assert!(
            (index.covered_days - totals.covered_days).abs() < 1e-9,
            "{context}: {} covered days day by day, {} from the stretches",
            index.covered_days,
            totals.covered_days
        );
        assert!(
            index.covered_days > 0.0,
            "{context}: the case covers something"
        );
        assert_eq!(
            (index.status, index.observed, &index.explanation),
            (totals.status, totals.observed, &totals.explanation),
            "{context}"
        );
        assert!(totals.days.is_empty(), "{context}: totals list no days");
    }
    // A period of ten thousand years counts what its covered days count.
    let everything = access_totals(
        writer.store(),
        &snapshot,
        &query("berlin", "0001-01-01", "9999-12-31"),
        Thresholds::default(),
    )
    .expect("totals");
    let covered = access_index(
        writer.store(),
        &snapshot,
        &query("berlin", "2023-03-24", "2023-04-02"),
        Thresholds::default(),
    )
    .expect("index");
    assert!(
        (everything.covered_days - covered.covered_days).abs() < 1e-9,
        "{} against {}",
        everything.covered_days,
        covered.covered_days
    );
    assert_eq!(everything.status, covered.status);
}

#[test]
fn a_status_claim_about_ten_thousand_years_is_judged_by_its_covered_days() {
    let writer = fixture();
    let status = |from: &str, to: &str| json!({"metric": "access_status", "op": "eq", "value": "restricted", "from": from, "to": to, "sites": ["lachin"]});
    assert_eq!(
        verdicts(
            &writer,
            json!([
                status("0001-01-01", "9999-12-31"),
                status("2023-01-01", "2023-01-04")
            ])
        ),
        vec![
            (Verdict::NotVerifiable, json!("restricted")),
            (Verdict::NotVerifiable, json!("restricted")),
        ]
    );
}

fn claim(assertions: Value) -> Value {
    json!({"type": "claim", "id": "claim-1", "text": "A statement", "speaker": "Someone", "said_on": "2023-01-10",
           "assertions": assertions, "source": {"kind": "media_report", "name": "Daily paper"}, "recorded_by": "team-a"})
}

#[track_caller]
fn verdicts(writer: &Writer, assertions: Value) -> Vec<(Verdict, Value)> {
    let snapshot = Snapshot::load(writer.store()).expect("snapshot");
    let resolver = snapshot.site_resolver();
    let record = corridor_model::parse_submission(&object(claim(assertions)), &resolver)
        .expect("valid claim")
        .record;
    let verdict =
        check_claim(writer.store(), &snapshot, &record, Thresholds::default()).expect("checked");
    verdict
        .assertions
        .into_iter()
        .map(|assertion| {
            let computed = serde_json::to_value(&assertion.computed).expect("json");
            (assertion.verdict, computed)
        })
        .collect()
}

#[test]
fn claims_are_judged_against_coverage() {
    let writer = fixture();
    let all = |op: &str, value: u32| json!({"metric": "vehicles", "op": op, "value": value, "from": "2023-01-01", "to": "2023-01-04", "sites": ["lachin"]});
    let covered = |op: &str, value: u32| json!({"metric": "vehicles", "op": op, "value": value, "from": "2023-01-02", "to": "2023-01-03", "sites": ["lachin"]});
    let status = |op: &str, value: &str, from: &str, to: &str| json!({"metric": "access_status", "op": op, "value": value, "from": from, "to": to, "sites": ["lachin"]});
    assert_eq!(
        verdicts(
            &writer,
            json!([
                all("gte", 10),
                all("eq", 17),
                all("lte", 5),
                covered("eq", 9),
                covered("eq", 10),
                status("eq", "closed", "2023-01-02", "2023-01-02"),
                status("ne", "closed", "2023-01-01", "2023-01-04"),
                status("eq", "open", "2023-01-02", "2023-01-03"),
            ])
        ),
        vec![
            (Verdict::Consistent, json!(17)),
            (Verdict::NotVerifiable, json!(17)),
            (Verdict::Inconsistent, json!(17)),
            (Verdict::Consistent, json!(9)),
            (Verdict::Inconsistent, json!(9)),
            (Verdict::Consistent, json!("closed")),
            (Verdict::Consistent, json!("restricted")),
            // 9 vehicles against 20 expected: 45%, restricted, not open.
            (Verdict::Inconsistent, json!("restricted")),
        ]
    );
}

#[test]
fn a_status_claim_without_a_baseline_is_not_verifiable() {
    let writer = fixture();
    let assertion = json!([{"metric": "access_status", "op": "eq", "value": "open", "category": "civilian",
                            "from": "2023-01-02", "to": "2023-01-03", "sites": ["lachin"]}]);
    assert_eq!(
        verdicts(&writer, assertion),
        vec![(Verdict::NotVerifiable, Value::Null)]
    );
}

#[test]
fn corrections_and_retractions_change_what_claims_are_checked_against() {
    let mut writer = fixture();
    submit(
        &mut writer,
        vec![
            json!({"type": "correction", "id": "c-3", "corrects": "p-3", "reason": "miscounted",
                   "record": {"type": "passage", "site": "lachin", "observed_at": "2023-01-03T12:00", "count": 4, "category": "peacekeeping"},
                   "source": source(), "recorded_by": "team-a"}),
            json!({"type": "retraction", "id": "r-1", "retracts": "p-1", "reason": "duplicate", "source": source(), "recorded_by": "team-a"}),
        ],
    );
    let assertion = json!([
        {"metric": "vehicles", "op": "eq", "value": 4, "from": "2023-01-02", "to": "2023-01-03", "sites": ["lachin"]},
        {"metric": "vehicles", "op": "eq", "value": 0, "from": "2023-01-01", "to": "2023-01-01", "sites": ["lachin"], "category": "red_cross"},
    ]);
    // 1 Jan is only partly covered, so "0 red cross vehicles" stays unverifiable.
    assert_eq!(
        verdicts(&writer, assertion),
        vec![
            (Verdict::Consistent, json!(4)),
            (Verdict::NotVerifiable, json!(0))
        ]
    );
}

#[test]
fn attribute_filters_are_answered_from_the_passage_index() {
    let mut writer = fixture();
    submit(
        &mut writer,
        vec![
            json!({"type": "passage", "id": "p-6", "site": "lachin", "observed_at": "2023-01-03T14:00", "count": 2, "category": "commercial",
                    "attributes": {"flag": "TR"}, "source": source(), "recorded_by": "team-a"}),
        ],
    );
    let assertion = json!([{"metric": "vehicles", "op": "eq", "value": 2, "from": "2023-01-02", "to": "2023-01-03",
                            "sites": ["lachin"], "attributes": {"flag": "TR"}}]);
    assert_eq!(
        verdicts(&writer, assertion),
        vec![(Verdict::Consistent, json!(2))]
    );
}

// ---------------------------------------------------------------------------
// Rollups equal a replay of the leaves.

const CATEGORIES: [&str; 3] = ["red_cross", "civilian", "commercial"];
const SITES: [(&str, &str); 2] = [("north", "Asia/Baku"), ("south", "Europe/Berlin")];

#[derive(Debug, Clone)]
enum Step {
    Passage {
        site: usize,
        day: u8,
        hour: u8,
        category: usize,
        count: u32,
        passengers: Option<u32>,
        tonnes: Option<u32>,
        inbound: bool,
    },
    Correct {
        target: usize,
        count: u32,
        category: usize,
    },
    Retract {
        target: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..2_usize, 0..10_u8, 0..24_u8, 0..3_usize, 1..5_u32, proptest::option::of(0..9_u32), proptest::option::of(0..40_u32), any::<bool>())
            .prop_map(|(site, day, hour, category, count, passengers, tonnes, inbound)| Step::Passage { site, day, hour, category, count, passengers, tonnes, inbound }),
        1 => (0..40_usize, 1..5_u32, 0..3_usize).prop_map(|(target, count, category)| Step::Correct { target, count, category }),
        1 => (0..40_usize).prop_map(|target| Step::Retract { target }),
    ]
}

/// Turns steps into records; corrections and retractions name earlier passages.
fn records(steps: &[Step]) -> Vec<Value> {
    let mut out: Vec<Value> = SITES
        .iter()
        .map(|(id, zone)| json!({"type": "site", "id": id, "name": id, "kind": "checkpoint", "timezone": zone, "source": source(), "recorded_by": "team-a"}))
        .collect();
    let mut live: Vec<(String, usize, u8)> = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        match step {
            Step::Passage {
                site,
                day,
                hour,
                category,
                count,
                passengers,
                tonnes,
                inbound,
            } => {
                let id = format!("p-{index}");
                let mut record = json!({"type": "passage", "id": id, "site": SITES[*site].0,
                    "observed_at": format!("2023-03-{:02}T{hour:02}:30:00Z", day + 20), "count": count, "category": CATEGORIES[*category],
                    "direction": if *inbound { "inbound" } else { "outbound" }, "source": source(), "recorded_by": "team-a"});
                if let Some(passengers) = passengers {
                    record["passengers"] = json!(passengers);
                }
                if let Some(tonnes) = tonnes {
                    record["cargo"] = json!([{"kind": "food", "tonnes": f64::from(*tonnes) / 4.0}]);
                }
                out.push(record);
                live.push((id, *site, *day));
            }
            Step::Correct {
                target,
                count,
                category,
            } if !live.is_empty() => {
                let (id, site, day) = live[target % live.len()].clone();
                out.push(json!({"type": "correction", "id": format!("c-{index}"), "corrects": id, "reason": "recount",
                    "record": {"type": "passage", "site": SITES[site].0, "observed_at": format!("2023-03-{:02}T10:00", day + 20), "count": count, "category": CATEGORIES[*category]},
                    "source": source(), "recorded_by": "team-a"}));
            }
            Step::Retract { target } if !live.is_empty() => {
                let (id, ..) = live.remove(target % live.len());
                out.push(json!({"type": "retraction", "id": format!("r-{index}"), "retracts": id, "reason": "withdrawn", "source": source(), "recorded_by": "team-a"}));
            }
            _ => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn figures_from_rollups_equal_figures_replayed_from_the_leaves(steps in proptest::collection::vec(step(), 1..60)) {
        let mut operator = writer(Box::new(SqliteStore::open_in_memory().expect("store")));
        submit(&mut operator, records(&steps));
        let count = operator.store().leaf_count().expect("count");
        let leaves = operator.store().leaves(0, count).expect("leaves");

        // Anyone with the leaves rebuilds the store from their public records alone.
        let mut replay = writer(Box::new(MemoryStore::new()));
        let public: Vec<Value> = leaves
            .iter()
            .map(|leaf| serde_json::from_slice::<Value>(leaf).expect("leaf is JSON")["record"].clone())
            .collect();
        submit(&mut replay, public);

        for by in [
            vec![StatsDimension::Day, StatsDimension::Category],
            vec![StatsDimension::Site, StatsDimension::Direction],
            vec![StatsDimension::Week, StatsDimension::Cargo],
            vec![],
        ] {
            let mut query = StatsQuery::period(day("2023-03-19"), day("2023-03-31"));
            query.by = by;
            let from_rollups = corridor_stats::compute(operator.store(), &query).expect("stats");
            let replayed = corridor_stats::compute(replay.store(), &query).expect("stats");
            prop_assert_eq!(from_rollups, replayed);
        }
    }
}
