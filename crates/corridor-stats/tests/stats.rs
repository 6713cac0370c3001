//! Statistics from rollups against hand-computed expectations: grouping by
//! every kind of dimension, weeks and months across a year boundary, null
//! versus zero, filters, and the table and CSV renderings.

use corridor_model::RecordType;
use corridor_model::time::{day_number, parse_date};
use corridor_stats::{StatsDimension, StatsQuery, compute, render_csv, render_table};
use corridor_store::{Effect, MemoryStore, NewRecord, PassageFacts, Store};
use serde_json::{Value, json};

fn day(text: &str) -> jiff::civil::Date {
    parse_date(text).expect("date")
}

struct Passage {
    day: &'static str,
    category: &'static str,
    direction: &'static str,
    count: u32,
    passengers: Option<u32>,
    cargo: Vec<(&'static str, Option<u64>)>,
}

fn store(passages: &[Passage]) -> MemoryStore {
    let mut store = MemoryStore::new();
    let batch: Vec<NewRecord> = passages
        .iter()
        .enumerate()
        .map(|(index, passage)| {
            let id = format!("p-{index}");
            let kilograms = passage
                .cargo
                .iter()
                .filter_map(|(_, kilograms)| *kilograms)
                .reduce(|a, b| a + b);
            NewRecord {
                id: id.clone(),
                target_id: id,
                record_type: RecordType::Passage,
                content_type: RecordType::Passage,
                effect: Effect::Create,
                leaf: b"{}".to_vec(),
                content_digest: [0; 32],
                private: None,
                submitter: None,
                passage: Some(PassageFacts {
                    site: "north".into(),
                    day: day_number(day(passage.day)),
                    observed_at: passage.day.into(),
                    category: passage.category.into(),
                    operator: None,
                    direction: passage.direction.into(),
                    outcome: "passed".into(),
                    vehicle_class: "truck".into(),
                    source_kind: "direct_observation".into(),
                    source_name: "team a".into(),
                    recorded_by: "team".into(),
                    mission: None,
                    count: passage.count,
                    passengers: passage.passengers,
                    medical_evacuees: None,
                    kilograms,
                    attributes: Vec::new(),
                    cargo: passage
                        .cargo
                        .iter()
                        .map(|(kind, kilograms)| (kind.to_string(), *kilograms))
                        .collect(),
                }),
            }
        })
        .collect();
    store.append(&batch).expect("stored");
    store
}

fn sample() -> MemoryStore {
    store(&[
        Passage {
            day: "2022-12-31",
            category: "red_cross",
            direction: "inbound",
            count: 1,
            passengers: Some(3),
            cargo: vec![("food", Some(12_500))],
        },
        Passage {
            day: "2023-01-01",
            category: "red_cross",
            direction: "outbound",
            count: 2,
            passengers: None,
            cargo: vec![],
        },
        Passage {
            day: "2023-01-02",
            category: "peacekeeping",
            direction: "inbound",
            count: 1,
            passengers: Some(0),
            cargo: vec![("food", Some(1_000)), ("fuel", None)],
        },
    ])
}

fn check(query: StatsQuery, expected_totals: Value, expected_rows: Value) {
    let report = compute(&sample(), &query).expect("computes");
    assert_eq!(
        serde_json::to_value(&report.totals).expect("json"),
        expected_totals,
        "totals"
    );
    assert_eq!(
        serde_json::to_value(&report.rows).expect("json"),
        expected_rows,
        "rows"
    );
}

fn query(by: &[StatsDimension]) -> StatsQuery {
    let mut query = StatsQuery::period(day("2022-12-01"), day("2023-01-31"));
    query.by = by.to_vec();
    query
}

#[test]
fn iso_weeks_and_months_fold_days_across_the_year_boundary() {
    let totals = json!({"vehicles": 4, "passages": 3, "passengers": 3, "medical_evacuees": null, "tonnes": 13.5});
    check(
        query(&[StatsDimension::Week]),
        totals.clone(),
        json!([
            {"week": "2022-W52", "vehicles": 3, "passages": 2, "passengers": 3, "medical_evacuees": null, "tonnes": 12.5},
            {"week": "2023-W01", "vehicles": 1, "passages": 1, "passengers": 0, "medical_evacuees": null, "tonnes": 1},
        ]),
    );
    check(
        query(&[StatsDimension::Month, StatsDimension::Category]),
        totals,
        json!([
            {"month": "2022-12", "category": "red_cross", "vehicles": 1, "passages": 1, "passengers": 3, "medical_evacuees": null, "tonnes": 12.5},
            {"month": "2023-01", "category": "peacekeeping", "vehicles": 1, "passages": 1, "passengers": 0, "medical_evacuees": null, "tonnes": 1},
            {"month": "2023-01", "category": "red_cross", "vehicles": 2, "passages": 1, "passengers": null, "medical_evacuees": null, "tonnes": null},
        ]),
    );
}

#[test]
fn cargo_groups_count_a_vehicle_under_each_kind_it_carries() {
    let mut by_cargo = query(&[StatsDimension::Cargo]);
    by_cargo.category = Some("peacekeeping".into());
    check(
        by_cargo,
        json!({"vehicles": 1, "passages": 1, "passengers": 0, "medical_evacuees": null, "tonnes": 1}),
        json!([
            {"cargo": "food", "vehicles": 1, "passages": 1, "passengers": 0, "medical_evacuees": null, "tonnes": 1},
            {"cargo": "fuel", "vehicles": 1, "passages": 1, "passengers": 0, "medical_evacuees": null, "tonnes": null},
        ]),
    );
}

#[test]
fn a_period_without_passages_has_null_totals_not_zero() {
    let empty = StatsQuery::period(day("2021-01-01"), day("2021-01-31"));
    check(
        empty,
        json!({"vehicles": null, "passages": null, "passengers": null, "medical_evacuees": null, "tonnes": null}),
        json!([]),
    );
}

#[test]
fn the_period_is_inclusive_and_filters_apply() {
    let mut one_day = StatsQuery::period(day("2023-01-01"), day("2023-01-01"));
    one_day.direction = Some("outbound".into());
    check(
        one_day,
        json!({"vehicles": 2, "passages": 1, "passengers": null, "medical_evacuees": null, "tonnes": null}),
        json!([]),
    );
}

#[test]
fn bad_queries_are_refused_with_the_reason() {
    let inverted = StatsQuery::period(day("2023-01-10"), day("2023-01-01"));
    assert_eq!(
        compute(&sample(), &inverted)
            .expect_err("inverted")
            .to_string(),
        "--to 2023-01-01 is before --from 2023-01-10"
    );
    let mut twice = query(&[StatsDimension::Day, StatsDimension::Day]);
    twice.to = day("2023-01-01");
    assert_eq!(
        compute(&sample(), &twice).expect_err("twice").to_string(),
        "dimension day is named twice"
    );
    let long = StatsQuery::period(day("2000-01-01"), day("2023-01-01"));
    assert!(
        compute(&sample(), &long)
            .expect_err("long")
            .to_string()
            .contains("at most 3660")
    );
    assert_eq!(
        StatsDimension::parse("weekday")
            .expect_err("unknown")
            .to_string(),
        "\"weekday\" is not a dimension (day, week, month, site, category, operator, direction, outcome, vehicle_class, cargo, source, source_kind, recorded_by)"
    );
}

#[test]
fn table_and_csv_show_missing_figures_as_empty_cells() {
    let report = compute(&sample(), &query(&[StatsDimension::Direction])).expect("computes");
    assert_eq!(
        render_csv(&report),
        "direction,vehicles,passages,passengers,medical_evacuees,tonnes\ninbound,2,2,3,,13.5\noutbound,2,1,,,\n"
    );
    assert_eq!(
        render_table(&report),
        "direction  vehicles  passages  passengers  medical_evacuees  tonnes\n\
         inbound           2         2           3                      13.5\n\
         outbound          2         1\n\
         ---------  --------  --------  ----------  ----------------  ------\n\
         total             4         3           3                      13.5\n"
    );
}
