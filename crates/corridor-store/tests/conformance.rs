//! The store contract, one suite run against every backend: SQLite on disk, SQLite in memory, SQLite opened by its location, `MemoryStore`, and PostgreSQL (directly and by its URL) on a throwaway cluster.
//!
//! Each `contract_*` function states one part of the contract of
//! [`corridor_store::Store`] against a `&mut dyn Store`; the
//! `conformance_suite!` macro runs every one of them on one backend, so a test is named
//! `backend::contract`. Tests that only one backend can run (durability across
//! a reopen, fault injection) follow, then a property test that the backends
//! agree with each other and with a naive recomputation from the current passages.

use std::collections::BTreeMap;

use corridor_model::RecordType;
use corridor_store::postgres::cluster::Cluster;
use corridor_store::{
    ApiToken, CurrentState, Dimension, DimensionValue, Effect, Fault, MemoryStore, Metrics,
    NewRecord, PassageFacts, PostgresStore, PrivatePart, RollupDifference, RollupFilter, RollupKey,
    RollupQuery, RollupRow, RollupTable, SqliteStore, Store, StoreError, StoredRecord, TokenStore,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Building records.

/// A digest that differs per id, so a mixed-up record cannot compare equal.
fn digest_of(id: &str) -> [u8; 32] {
    let mut digest = [0_u8; 32];
    for (position, byte) in id.bytes().cycle().take(32).enumerate() {
        digest[position] = byte.wrapping_add(position as u8);
    }
    digest
}

fn leaf_of(id: &str) -> Vec<u8> {
    format!("{{\"record\":{{\"id\":\"{id}\"}}}}").into_bytes()
}

/// A new logical record of `content_type` under its own id.
fn create(id: &str, content_type: RecordType) -> NewRecord {
    NewRecord {
        id: id.to_string(),
        target_id: id.to_string(),
        record_type: content_type,
        content_type,
        effect: Effect::Create,
        leaf: leaf_of(id),
        content_digest: digest_of(id),
        private: None,
        passage: None,
        submitter: None,
    }
}

/// A new passage with its index facts.
fn passage(id: &str, facts: PassageFacts) -> NewRecord {
    NewRecord {
        passage: Some(facts),
        ..create(id, RecordType::Passage)
    }
}

/// A correction `id` replacing the content of `target_id`.
fn correction(id: &str, target_id: &str, content_type: RecordType) -> NewRecord {
    NewRecord {
        target_id: target_id.to_string(),
        record_type: RecordType::Correction,
        effect: Effect::Replace,
        ..create(id, content_type)
    }
}

/// A correction `id` replacing passage `target_id` with `facts`.
fn passage_correction(id: &str, target_id: &str, facts: PassageFacts) -> NewRecord {
    NewRecord {
        passage: Some(facts),
        ..correction(id, target_id, RecordType::Passage)
    }
}

/// A retraction `id` withdrawing `target_id`.
fn retraction(id: &str, target_id: &str, content_type: RecordType) -> NewRecord {
    NewRecord {
        target_id: target_id.to_string(),
        record_type: RecordType::Retraction,
        effect: Effect::Retract,
        ..create(id, content_type)
    }
}

fn private_part(salt: u8, data: &str) -> PrivatePart {
    PrivatePart {
        salt: [salt; 32],
        data: data.as_bytes().to_vec(),
    }
}

/// `record` with the private part `private_part(salt, data)`.
fn with_private(record: NewRecord, salt: u8, data: &str) -> NewRecord {
    NewRecord {
        private: Some(private_part(salt, data)),
        ..record
    }
}

/// One vehicle at `site` on `day`, everything else plain: inbound, passed,
/// a truck, observed directly by team-a, no people or cargo reported.
fn facts(site: &str, day: i32, category: &str) -> PassageFacts {
    PassageFacts {
        site: site.to_string(),
        day,
        observed_at: format!("day {day}"),
        category: category.to_string(),
        operator: None,
        direction: "inbound".to_string(),
        outcome: "passed".to_string(),
        vehicle_class: "truck".to_string(),
        source_kind: "direct_observation".to_string(),
        source_name: "Team A observers".to_string(),
        recorded_by: "team-a".to_string(),
        mission: None,
        count: 1,
        passengers: None,
        medical_evacuees: None,
        kilograms: None,
        cargo: Vec::new(),
        attributes: Vec::new(),
    }
}

/// `facts` carrying `cargo` lines of `(kind, kilograms)`; the total is the sum
/// of the weighed lines, or unknown when no line is weighed.
fn loaded(facts: PassageFacts, cargo: &[(&str, Option<u64>)]) -> PassageFacts {
    PassageFacts {
        kilograms: cargo
            .iter()
            .filter_map(|(_, kilograms)| *kilograms)
            .reduce(|sum, kilograms| sum + kilograms),
        cargo: cargo
            .iter()
            .map(|(kind, kilograms)| (kind.to_string(), *kilograms))
            .collect(),
        ..facts
    }
}

// ---------------------------------------------------------------------------
// Reading rollups.

/// Metrics written positionally: passages, vehicles, then each optional
/// figure as `(sum, how many passages reported it)`.
fn sums(
    passages: i64,
    vehicles: i64,
    passengers: (i64, i64),
    medical_evacuees: (i64, i64),
    kilograms: (i64, i64),
) -> Metrics {
    Metrics {
        passages,
        vehicles,
        passengers: passengers.0,
        passengers_reported: passengers.1,
        medical_evacuees: medical_evacuees.0,
        medical_evacuees_reported: medical_evacuees.1,
        kilograms: kilograms.0,
        kilograms_reported: kilograms.1,
    }
}

fn text(value: &str) -> DimensionValue {
    DimensionValue::Text(value.to_string())
}

fn day(number: i32) -> DimensionValue {
    DimensionValue::Day(number)
}

fn query(from_day: i32, to_day: i32, group_by: &[Dimension]) -> RollupQuery {
    RollupQuery {
        from_day,
        to_day,
        filter: RollupFilter::default(),
        group_by: group_by.to_vec(),
    }
}

fn filtered(
    from_day: i32,
    to_day: i32,
    filter: RollupFilter,
    group_by: &[Dimension],
) -> RollupQuery {
    RollupQuery {
        filter,
        ..query(from_day, to_day, group_by)
    }
}

/// Runs `query` on `store` and compares every row, keys and metrics, in order.
#[track_caller]
fn check(store: &dyn Store, query: &RollupQuery, expected: &[(Vec<DimensionValue>, Metrics)]) {
    let rows = store.rollup(query).expect("rollup reads");
    let expected: Vec<RollupRow> = expected
        .iter()
        .map(|(keys, metrics)| RollupRow {
            keys: keys.clone(),
            metrics: *metrics,
        })
        .collect();
    assert_eq!(rows, expected, "query: {query:?}");
}

fn all_leaves(store: &dyn Store) -> Vec<Vec<u8>> {
    let count = store.leaf_count().expect("leaf count reads");
    store.leaves(0, count).expect("leaves read")
}

// ---------------------------------------------------------------------------
// The contract.

/// `passages` lists the current passages a figure counts, a page at a time.
fn contract_passages_are_listed_in_pages_by_site_day_and_leaf(store: &mut dyn Store) {
    store
        .append(&[
            passage("p-1", facts("port", 101, "commercial")),
            passage("p-2", facts("lachin", 101, "commercial")),
            passage("p-3", facts("port", 100, "commercial")),
            passage(
                "p-4",
                PassageFacts {
                    outcome: "turned_back".into(),
                    ..facts("port", 100, "commercial")
                },
            ),
            passage("p-5", facts("port", 100, "un")),
            passage("p-6", facts("port", 300, "commercial")),
        ])
        .expect("appends");
    store
        .append(&[passage_correction(
            "c-3",
            "p-3",
            facts("port", 102, "commercial"),
        )])
        .expect("appends");
    store
        .append(&[retraction("r-5", "p-5", RecordType::Passage)])
        .expect("appends");
    let ids = |listed: Vec<corridor_store::ListedPassage>| -> Vec<(String, u64)> {
        listed
            .into_iter()
            .map(|passage| (passage.target_id, passage.leaf_index))
            .collect()
    };
    let commercial = filtered(
        0,
        200,
        RollupFilter {
            category: Some("commercial".into()),
            ..RollupFilter::default()
        },
        &[],
    );
    let all = ids(store.passages(&commercial, 0, 100).expect("lists"));
    // lachin before port; within a site by day, then by leaf; p-3 now counts on day 102 at its correction's leaf.
    assert_eq!(
        all,
        vec![
            ("p-2".to_string(), 1),
            ("p-4".to_string(), 3),
            ("p-1".to_string(), 0),
            ("p-3".to_string(), 6)
        ]
    );
    assert_eq!(
        ids(store.passages(&commercial, 1, 2).expect("lists")),
        all[1..3].to_vec()
    );
    assert_eq!(
        ids(store
            .passages(&with_outcomes(&commercial, &["passed"]), 0, 100)
            .expect("lists"))
        .len(),
        3
    );
    assert_eq!(
        ids(store
            .passages(&with_outcomes(&commercial, &["turned_back"]), 0, 100)
            .expect("lists")),
        vec![("p-4".to_string(), 3)]
    );
    // The listing holds exactly what the figures count.
    let total = store.passage_sums(&commercial, &[]).expect("sums").passages;
    assert_eq!(total, all.len() as i64);
    let leaf = &store.passages(&commercial, 3, 1).expect("lists")[0].leaf;
    assert_eq!(
        Some(leaf.clone()),
        store
            .record("c-3")
            .expect("reads")
            .map(|record| record.leaf)
    );
}

/// `query` limited to any of `outcomes`.
fn with_outcomes(query: &RollupQuery, outcomes: &[&str]) -> RollupQuery {
    let mut query = query.clone();
    query.filter.outcomes = outcomes.iter().map(|outcome| outcome.to_string()).collect();
    query
}

/// `passage_sums` answers filters the rollups cannot (attributes) from the
/// passage index, with the same semantics as the rollups for the rest.
fn contract_passage_sums_filter_by_attributes_and_agree_with_rollups(store: &mut dyn Store) {
    let flagged = |flag: &str| {
        vec![
            ("flag".to_string(), flag.to_string()),
            ("route".to_string(), "north".to_string()),
        ]
    };
    store
        .append(&[
            passage(
                "p-1",
                PassageFacts {
                    attributes: flagged("TR"),
                    count: 2,
                    ..facts("port", 100, "commercial")
                },
            ),
            passage(
                "p-2",
                loaded(
                    PassageFacts {
                        attributes: flagged("PA"),
                        ..facts("port", 101, "commercial")
                    },
                    &[("grain", Some(30_000))],
                ),
            ),
            passage("p-3", facts("port", 101, "commercial")),
        ])
        .expect("appends");
    let period = query(0, 1_000, &[]);
    let with = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    };
    let sums_of = |store: &dyn Store, query: &RollupQuery, attributes: &[(String, String)]| {
        store.passage_sums(query, attributes).expect("sums read")
    };
    assert_eq!(
        sums_of(store, &period, &with(&[("flag", "TR")])),
        sums(1, 2, (0, 0), (0, 0), (0, 0))
    );
    assert_eq!(
        sums_of(store, &period, &with(&[("route", "north")])),
        sums(2, 3, (0, 0), (0, 0), (30_000, 1))
    );
    assert_eq!(
        sums_of(store, &period, &with(&[("route", "north"), ("flag", "PA")])),
        sums(1, 1, (0, 0), (0, 0), (30_000, 1))
    );
    assert_eq!(
        sums_of(store, &period, &with(&[("flag", "XX")])),
        Metrics::default()
    );
    // Without attributes it equals the rollup total, filters and all.
    let total = store.rollup(&period).expect("rollup")[0].metrics;
    assert_eq!(sums_of(store, &period, &[]), total);
    let grain = filtered(
        0,
        1_000,
        RollupFilter {
            cargo_kind: Some("grain".into()),
            ..RollupFilter::default()
        },
        &[],
    );
    assert_eq!(
        sums_of(store, &grain, &[]),
        store.rollup(&grain).expect("rollup")[0].metrics
    );
    // Regression (the PostgreSQL differential property found it): a
    // passage carrying two kinds counts once, whatever the query groups by;
    // the memory backend had summed it once per kind.
    store
        .append(&[passage(
            "p-4",
            loaded(
                facts("port", 102, "commercial"),
                &[("fuel", None), ("food", None)],
            ),
        )])
        .expect("appends");
    let by_kind = query(0, 1_000, &[Dimension::CargoKind]);
    assert_eq!(
        sums_of(store, &by_kind, &[]),
        sums(4, 5, (0, 0), (0, 0), (30_000, 1))
    );
    assert_eq!(sums_of(store, &by_kind, &[]), sums_of(store, &period, &[]));
    // A correction drops the old version's attributes.
    store
        .append(&[passage_correction(
            "c-1",
            "p-1",
            facts("port", 100, "commercial"),
        )])
        .expect("appends");
    assert_eq!(
        sums_of(store, &period, &with(&[("flag", "TR")])),
        Metrics::default()
    );
}

fn contract_leaf_indexes_are_dense_from_zero(store: &mut dyn Store) {
    assert_eq!(store.leaf_count().expect("count"), 0);
    assert_eq!(
        store.append(&[]).expect("an empty batch is fine"),
        Vec::<u64>::new()
    );
    let first = [
        create("lachin", RecordType::Site),
        passage("p-1", facts("lachin", 100, "red_cross")),
        create("m-1", RecordType::Mission),
    ];
    assert_eq!(store.append(&first).expect("appends"), vec![0, 1, 2]);
    let second = [
        correction("c-1", "p-1", RecordType::Passage),
        retraction("r-1", "m-1", RecordType::Mission),
    ];
    assert_eq!(store.append(&second).expect("appends"), vec![3, 4]);
    assert_eq!(
        store
            .append(&[create("port", RecordType::Site)])
            .expect("appends"),
        vec![5]
    );
    assert_eq!(store.leaf_count().expect("count"), 6);
    for (leaf_index, id) in ["lachin", "p-1", "m-1", "c-1", "r-1", "port"]
        .iter()
        .enumerate()
    {
        let stored = store
            .record_at(leaf_index as u64)
            .expect("reads")
            .expect("stored");
        assert_eq!(
            (stored.leaf_index, stored.id.as_str()),
            (leaf_index as u64, *id)
        );
    }
}

fn contract_records_are_read_back_by_id_and_leaf_index(store: &mut dyn Store) {
    store
        .append(&[
            create("lachin", RecordType::Site),
            passage("p-1", facts("lachin", 100, "red_cross")),
            correction("c-1", "p-1", RecordType::Passage),
            retraction("r-1", "lachin", RecordType::Site),
        ])
        .expect("appends");
    let expected =
        |leaf_index: u64, id: &str, target_id: &str, record_type: RecordType| StoredRecord {
            leaf_index,
            id: id.to_string(),
            target_id: target_id.to_string(),
            record_type,
            content_digest: digest_of(id),
            leaf: leaf_of(id),
        };
    let cases = [
        expected(0, "lachin", "lachin", RecordType::Site),
        expected(1, "p-1", "p-1", RecordType::Passage),
        expected(2, "c-1", "p-1", RecordType::Correction),
        expected(3, "r-1", "lachin", RecordType::Retraction),
    ];
    for stored in cases {
        assert_eq!(
            store.record(&stored.id).expect("reads"),
            Some(stored.clone())
        );
        assert_eq!(
            store.record_at(stored.leaf_index).expect("reads"),
            Some(stored)
        );
    }
    assert_eq!(store.record("p-2").expect("reads"), None);
    assert_eq!(store.record("").expect("reads"), None);
    assert_eq!(store.record_at(4).expect("reads"), None);
    assert_eq!(store.record_at(u64::MAX).expect("reads"), None);
    assert_eq!(store.record_at(1 << 63).expect("reads"), None);
}

fn contract_records_are_read_back_by_many_ids_at_once(store: &mut dyn Store) {
    assert_eq!(store.records(&[]).expect("reads"), Vec::new());
    let mut batch = vec![create("lachin", RecordType::Site)];
    batch.extend((0..1_500).map(|n| passage(&format!("p-{n}"), facts("lachin", n, "red_cross"))));
    batch.push(correction("c-1", "p-7", RecordType::Passage));
    store.append(&batch).expect("appends");
    let one_by_one = |ids: &[&str]| -> Vec<StoredRecord> {
        ids.iter()
            .filter_map(|id| store.record(id).expect("reads"))
            .collect()
    };
    // Out of order, repeated, unknown and empty ids: each stored record
    // once, in leaf order, exactly as asking for each one finds it.
    let asked = ["c-1", "p-2", "nowhere", "lachin", "p-2", "", "P-2"];
    let found = store.records(&asked).expect("reads");
    assert_eq!(
        found
            .iter()
            .map(|record| record.id.as_str())
            .collect::<Vec<_>>(),
        ["lachin", "p-2", "c-1"]
    );
    assert_eq!(found, one_by_one(&["lachin", "p-2", "c-1"]));
    // A request's worth of ids, most of them not stored.
    let names: Vec<String> = (1_000..3_000).map(|n| format!("p-{n}")).collect();
    let ids: Vec<&str> = names.iter().map(String::as_str).collect();
    let found = store.records(&ids).expect("reads");
    assert_eq!(found.len(), 500);
    assert_eq!(found, one_by_one(&ids[..500]));
    assert!(
        found
            .windows(2)
            .all(|pair| pair[0].leaf_index < pair[1].leaf_index)
    );
}

fn contract_leaves_ranges_are_clamped(store: &mut dyn Store) {
    let ids = ["l-0", "l-1", "l-2", "l-3", "l-4"];
    let batch: Vec<NewRecord> = ids.iter().map(|id| create(id, RecordType::Site)).collect();
    store.append(&batch).expect("appends");
    let leaves = |ids: &[&str]| ids.iter().map(|id| leaf_of(id)).collect::<Vec<_>>();
    for (start, end, expected) in [
        (0, 5, leaves(&ids)),
        (1, 3, leaves(&ids[1..3])),
        (4, 5, leaves(&ids[4..])),
        (3, 100, leaves(&ids[3..])),
        (0, u64::MAX, leaves(&ids)),
        (2, 1 << 63, leaves(&ids[2..])),
        (5, 6, Vec::new()),
        (2, 2, Vec::new()),
        (4, 2, Vec::new()),
        (100, 200, Vec::new()),
        (u64::MAX, u64::MAX, Vec::new()),
        (u64::MAX, 3, Vec::new()),
    ] {
        assert_eq!(
            store.leaves(start, end).expect("reads"),
            expected,
            "leaves({start}, {end})"
        );
    }
}

fn contract_a_duplicate_id_stores_nothing_of_its_batch(store: &mut dyn Store) {
    store
        .append(&[
            create("lachin", RecordType::Site),
            passage("p-1", facts("lachin", 100, "un")),
        ])
        .expect("appends");
    let before = all_leaves(store);
    let totals = query(0, 1_000, &[]);
    let totals_before = store.rollup(&totals).expect("reads");

    // The duplicate sits in the middle: the record before it must not survive.
    let error = store
        .append(&[
            passage("p-2", facts("lachin", 100, "un")),
            create("lachin", RecordType::Site),
            passage("p-3", facts("lachin", 100, "un")),
        ])
        .expect_err("lachin is already stored");
    assert!(
        matches!(&error, StoreError::DuplicateId { id, leaf_index: 0 } if id == "lachin"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "record id \"lachin\" is already stored (at leaf 0)"
    );
    assert_eq!(all_leaves(store), before);
    assert_eq!(store.record("p-2").expect("reads"), None);
    assert_eq!(store.current("p-2").expect("reads"), None);
    assert_eq!(store.rollup(&totals).expect("reads"), totals_before);

    // A duplicate inside one batch names the leaf its first copy would have had.
    let error = store
        .append(&[
            create("s-2", RecordType::Site),
            create("s-2", RecordType::Site),
        ])
        .expect_err("s-2 twice");
    assert!(
        matches!(&error, StoreError::DuplicateId { id, leaf_index: 2 } if id == "s-2"),
        "{error:?}"
    );
    assert_eq!(store.record("s-2").expect("reads"), None);

    // A correction's own id collides like any other.
    let error = store
        .append(&[correction("p-1", "p-1", RecordType::Passage)])
        .expect_err("p-1 is taken");
    assert!(
        matches!(&error, StoreError::DuplicateId { id, leaf_index: 1 } if id == "p-1"),
        "{error:?}"
    );
    assert_eq!(
        store
            .current("p-1")
            .expect("reads")
            .map(|state| state.leaf_index),
        Some(1)
    );

    // The failed batches left no gap.
    assert_eq!(
        store
            .append(&[
                passage("p-2", facts("lachin", 100, "un")),
                create("s-2", RecordType::Site)
            ])
            .expect("appends"),
        vec![2, 3]
    );
    check(
        store,
        &totals,
        &[(vec![], sums(2, 2, (0, 0), (0, 0), (0, 0)))],
    );
}

fn contract_changing_an_unknown_or_retracted_record_stores_nothing(store: &mut dyn Store) {
    store
        .append(&[passage("p-1", facts("lachin", 100, "un"))])
        .expect("appends");
    let totals = query(0, 1_000, &[]);
    for batch in [
        vec![
            passage("p-2", facts("lachin", 100, "un")),
            correction("c-1", "p-404", RecordType::Passage),
        ],
        vec![
            passage("p-2", facts("lachin", 100, "un")),
            retraction("r-1", "p-404", RecordType::Passage),
        ],
        // A correction names a logical record, never another correction.
        vec![
            passage_correction("c-1", "p-1", facts("lachin", 101, "un")),
            correction("c-2", "c-1", RecordType::Passage),
        ],
    ] {
        let error = store.append(&batch).expect_err("unknown target");
        let StoreError::UnknownTarget { target_id } = &error else {
            panic!("expected UnknownTarget, got {error:?}");
        };
        assert_eq!(
            error.to_string(),
            format!("record {target_id:?} does not exist, so it cannot be corrected or retracted")
        );
        assert_eq!(store.leaf_count().expect("count"), 1);
        assert_eq!(store.record("p-2").expect("reads"), None);
        assert_eq!(store.record("c-1").expect("reads"), None);
        check(
            store,
            &totals,
            &[(vec![], sums(1, 1, (0, 0), (0, 0), (0, 0)))],
        );
        assert_eq!(
            store.current("p-1").expect("reads"),
            Some(CurrentState {
                content_type: RecordType::Passage,
                leaf_index: 0,
                retracted: false
            })
        );
    }
    // Once retracted, a record can be neither corrected nor retracted again.
    store
        .append(&[retraction("r-1", "p-1", RecordType::Passage)])
        .expect("retracts");
    for change in [
        passage_correction("c-9", "p-1", facts("lachin", 100, "un")),
        retraction("r-9", "p-1", RecordType::Passage),
    ] {
        let error = store.append(&[change]).expect_err("p-1 was retracted");
        assert!(
            matches!(&error, StoreError::UnknownTarget { target_id } if target_id == "p-1"),
            "{error:?}"
        );
    }
    assert_eq!(store.leaf_count().expect("count"), 2);
    check(store, &totals, &[]);
}

fn contract_current_follows_create_replace_retract(store: &mut dyn Store) {
    let state = |leaf_index: u64, retracted: bool| {
        Some(CurrentState {
            content_type: RecordType::Passage,
            leaf_index,
            retracted,
        })
    };
    assert_eq!(store.current("p-1").expect("reads"), None);
    store
        .append(&[passage("p-1", facts("lachin", 100, "un"))])
        .expect("appends");
    assert_eq!(store.current("p-1").expect("reads"), state(0, false));
    store
        .append(&[
            create("lachin", RecordType::Site),
            passage_correction("c-1", "p-1", facts("lachin", 101, "un")),
        ])
        .expect("appends");
    assert_eq!(store.current("p-1").expect("reads"), state(2, false));
    // Two corrections in one batch: the later one wins.
    store
        .append(&[
            passage_correction("c-2", "p-1", facts("lachin", 102, "un")),
            passage_correction("c-3", "p-1", facts("lachin", 103, "un")),
        ])
        .expect("appends");
    assert_eq!(store.current("p-1").expect("reads"), state(4, false));
    // A retraction keeps the last content's leaf and marks it withdrawn.
    store
        .append(&[retraction("r-1", "p-1", RecordType::Passage)])
        .expect("appends");
    assert_eq!(store.current("p-1").expect("reads"), state(4, true));
    // Corrections and retractions are records, not logical records of their own.
    for id in ["c-1", "c-3", "r-1", "p-404"] {
        assert_eq!(store.current(id).expect("reads"), None, "{id}");
    }
    assert_eq!(
        store.current("lachin").expect("reads"),
        Some(CurrentState {
            content_type: RecordType::Site,
            leaf_index: 1,
            retracted: false
        })
    );
}

/// Five passages over three days, two sites and three categories, and one
/// the day range leaves out. Per passage (passages, vehicles, passengers,
/// evacuees, kilograms, with reported counts):
///
/// | id | site   | day | category     | operator | dir | outcome     | class     | count | people | evac | cargo (kg)            |
/// |----|--------|-----|--------------|----------|-----|-------------|-----------|-------|--------|------|-----------------------|
/// | a  | lachin | 100 | red_cross    | ICRC     | in  | passed      | truck     | 3     | 5      | 2    | food 2000, medicine 500 |
/// | b  | lachin | 100 | commercial   | -        | out | turned_back | truck     | 1     | -      | -    | fuel (unweighed)      |
/// | c  | lachin | 101 | red_cross    | ICRC     | in  | passed      | ambulance | 1     | 0      | 0    | -                     |
/// | d  | port   | 101 | commercial   | Maersk   | in  | delayed     | vessel    | 1     | -      | -    | grain 30000, food 1000 |
/// | e  | port   | 102 | peacekeeping | -        | out | passed      | truck     | 2     | 4      | -    | -                     |
/// | f  | lachin | 99  | red_cross    | ICRC     | in  | passed      | truck     | 7     | 10     | -    | -                     |
fn seed_passages(store: &mut dyn Store) {
    let icrc = |facts: PassageFacts| PassageFacts {
        operator: Some("ICRC".into()),
        ..facts
    };
    let outbound = |facts: PassageFacts| PassageFacts {
        direction: "outbound".into(),
        ..facts
    };
    let batch = [
        passage(
            "a",
            loaded(
                PassageFacts {
                    count: 3,
                    passengers: Some(5),
                    medical_evacuees: Some(2),
                    ..icrc(facts("lachin", 100, "red_cross"))
                },
                &[("food", Some(2_000)), ("medicine", Some(500))],
            ),
        ),
        passage(
            "b",
            loaded(
                PassageFacts {
                    outcome: "turned_back".into(),
                    ..outbound(facts("lachin", 100, "commercial"))
                },
                &[("fuel", None)],
            ),
        ),
        passage(
            "c",
            PassageFacts {
                vehicle_class: "ambulance".into(),
                passengers: Some(0),
                medical_evacuees: Some(0),
                ..icrc(facts("lachin", 101, "red_cross"))
            },
        ),
        passage(
            "d",
            loaded(
                PassageFacts {
                    operator: Some("Maersk".into()),
                    outcome: "delayed".into(),
                    vehicle_class: "vessel".into(),
                    source_kind: "register".into(),
                    recorded_by: "team-b".into(),
                    ..facts("port", 101, "commercial")
                },
                &[("grain", Some(30_000)), ("food", Some(1_000))],
            ),
        ),
        passage(
            "e",
            PassageFacts {
                count: 2,
                passengers: Some(4),
                source_kind: "official_statement".into(),
                recorded_by: "team-b".into(),
                ..outbound(facts("port", 102, "peacekeeping"))
            },
        ),
    ];
    // Two batches, so rollup rows are updated as well as inserted.
    store.append(&batch[..2]).expect("appends");
    store.append(&batch[2..]).expect("appends");
    store
        .append(&[passage(
            "f",
            PassageFacts {
                count: 7,
                passengers: Some(10),
                ..icrc(facts("lachin", 99, "red_cross"))
            },
        )])
        .expect("appends");
}

fn contract_rollup_sums_group_by_every_dimension(store: &mut dyn Store) {
    seed_passages(store);
    let a = sums(1, 3, (5, 1), (2, 1), (2_500, 1));
    let b = sums(1, 1, (0, 0), (0, 0), (0, 0));
    let c = sums(1, 1, (0, 1), (0, 1), (0, 0));
    let d = sums(1, 1, (0, 0), (0, 0), (31_000, 1));
    let e = sums(1, 2, (4, 1), (0, 0), (0, 0));
    let total = |parts: &[Metrics]| {
        let mut sum = Metrics::default();
        for part in parts {
            sum.add(part);
        }
        sum
    };
    // Spelled out once, so that `total` itself is checked.
    assert_eq!(
        total(&[a, b, c, d, e]),
        sums(5, 8, (9, 3), (2, 2), (33_500, 2))
    );

    check(
        store,
        &query(100, 102, &[]),
        &[(vec![], total(&[a, b, c, d, e]))],
    );
    check(
        store,
        &query(100, 102, &[Dimension::Site]),
        &[
            (vec![text("lachin")], total(&[a, b, c])),
            (vec![text("port")], total(&[d, e])),
        ],
    );
    check(
        store,
        &query(100, 102, &[Dimension::Day]),
        &[
            (vec![day(100)], sums(2, 4, (5, 1), (2, 1), (2_500, 1))),
            (vec![day(101)], sums(2, 2, (0, 1), (0, 1), (31_000, 1))),
            (vec![day(102)], e),
        ],
    );
    check(
        store,
        &query(100, 102, &[Dimension::Category]),
        &[
            (vec![text("commercial")], total(&[b, d])),
            (vec![text("peacekeeping")], e),
            (vec![text("red_cross")], total(&[a, c])),
        ],
    );
    // "No operator" is a group of its own, and sorts first.
    check(
        store,
        &query(100, 102, &[Dimension::Operator]),
        &[
            (vec![DimensionValue::None], total(&[b, e])),
            (vec![text("ICRC")], total(&[a, c])),
            (vec![text("Maersk")], d),
        ],
    );
    check(
        store,
        &query(100, 102, &[Dimension::Direction]),
        &[
            (vec![text("inbound")], total(&[a, c, d])),
            (vec![text("outbound")], total(&[b, e])),
        ],
    );
    check(
        store,
        &query(100, 102, &[Dimension::Outcome]),
        &[
            (vec![text("delayed")], d),
            (vec![text("passed")], total(&[a, c, e])),
            (vec![text("turned_back")], b),
        ],
    );
    check(
        store,
        &query(100, 102, &[Dimension::VehicleClass]),
        &[
            (vec![text("ambulance")], c),
            (vec![text("truck")], total(&[a, b, e])),
            (vec![text("vessel")], d),
        ],
    );
    check(
        store,
        &query(100, 102, &[Dimension::SourceKind]),
        &[
            (vec![text("direct_observation")], total(&[a, b, c])),
            (vec![text("official_statement")], e),
            (vec![text("register")], d),
        ],
    );
    check(
        store,
        &query(100, 102, &[Dimension::RecordedBy]),
        &[
            (vec![text("team-a")], total(&[a, b, c])),
            (vec![text("team-b")], total(&[d, e])),
        ],
    );
    // Keys come in the order of group_by, rows in key order.
    check(
        store,
        &query(100, 102, &[Dimension::Site, Dimension::Day]),
        &[
            (vec![text("lachin"), day(100)], total(&[a, b])),
            (vec![text("lachin"), day(101)], c),
            (vec![text("port"), day(101)], d),
            (vec![text("port"), day(102)], e),
        ],
    );
    check(
        store,
        &query(100, 102, &[Dimension::Day, Dimension::Site]),
        &[
            (vec![day(100), text("lachin")], total(&[a, b])),
            (vec![day(101), text("lachin")], c),
            (vec![day(101), text("port")], d),
            (vec![day(102), text("port")], e),
        ],
    );
    // The day range is inclusive at both ends.
    check(
        store,
        &query(99, 99, &[Dimension::Day]),
        &[(vec![day(99)], sums(1, 7, (10, 1), (0, 0), (0, 0)))],
    );
    check(
        store,
        &query(99, 100, &[]),
        &[(vec![], sums(3, 11, (15, 2), (2, 1), (2_500, 1)))],
    );
    check(store, &query(102, 200, &[]), &[(vec![], e)]);
    // Nothing in range, or a backwards range: no rows, not a row of zeros.
    check(store, &query(200, 300, &[]), &[]);
    check(store, &query(102, 100, &[Dimension::Site]), &[]);
}

fn contract_rollup_filters(store: &mut dyn Store) {
    seed_passages(store);
    let a = sums(1, 3, (5, 1), (2, 1), (2_500, 1));
    let b = sums(1, 1, (0, 0), (0, 0), (0, 0));
    let c = sums(1, 1, (0, 1), (0, 1), (0, 0));
    // The delayed vessel with 30 t of grain and 1 t of food.
    let d = sums(1, 1, (0, 0), (0, 0), (31_000, 1));
    let e = sums(1, 2, (4, 1), (0, 0), (0, 0));
    let total = |parts: &[Metrics]| {
        let mut sum = Metrics::default();
        for part in parts {
            sum.add(part);
        }
        sum
    };
    let some = |value: &str| Some(value.to_string());
    let cases = [
        (
            RollupFilter {
                sites: vec!["lachin".into()],
                ..Default::default()
            },
            total(&[a, b, c]),
        ),
        (
            RollupFilter {
                sites: vec!["lachin".into(), "port".into()],
                ..Default::default()
            },
            sums(5, 8, (9, 3), (2, 2), (33_500, 2)),
        ),
        (
            RollupFilter {
                category: some("red_cross"),
                ..Default::default()
            },
            total(&[a, c]),
        ),
        (
            RollupFilter {
                operator: some("ICRC"),
                ..Default::default()
            },
            total(&[a, c]),
        ),
        (
            RollupFilter {
                direction: some("outbound"),
                ..Default::default()
            },
            total(&[b, e]),
        ),
        (
            RollupFilter {
                outcomes: vec!["passed".into()],
                ..Default::default()
            },
            total(&[a, c, e]),
        ),
        (
            RollupFilter {
                outcomes: vec!["passed".into(), "delayed".into()],
                ..Default::default()
            },
            total(&[a, c, d, e]),
        ),
        (
            RollupFilter {
                vehicle_class: some("truck"),
                ..Default::default()
            },
            total(&[a, b, e]),
        ),
        (
            RollupFilter {
                sites: vec!["lachin".into()],
                category: some("red_cross"),
                direction: some("inbound"),
                ..Default::default()
            },
            total(&[a, c]),
        ),
    ];
    for (filter, expected) in cases {
        check(
            store,
            &filtered(100, 102, filter, &[]),
            &[(vec![], expected)],
        );
    }
    for filter in [
        RollupFilter {
            sites: vec!["nowhere".into()],
            ..Default::default()
        },
        RollupFilter {
            category: some("media"),
            ..Default::default()
        },
        RollupFilter {
            operator: some("icrc"),
            ..Default::default()
        },
        RollupFilter {
            sites: vec!["port".into()],
            category: some("red_cross"),
            ..Default::default()
        },
    ] {
        check(store, &filtered(100, 102, filter, &[]), &[]);
    }
    check(
        store,
        &filtered(
            100,
            102,
            RollupFilter {
                category: some("red_cross"),
                ..Default::default()
            },
            &[Dimension::Day],
        ),
        &[(vec![day(100)], a), (vec![day(101)], c)],
    );
}

fn contract_rollup_keeps_unknown_apart_from_zero(store: &mut dyn Store) {
    let reported = PassageFacts {
        passengers: Some(0),
        medical_evacuees: Some(0),
        ..facts("lachin", 100, "un")
    };
    let unreported = facts("lachin", 100, "ngo");
    let weighed_empty = loaded(facts("lachin", 100, "media"), &[("food", Some(0))]);
    store
        .append(&[
            passage("zero", reported),
            passage("unknown", unreported),
            passage("empty", weighed_empty),
        ])
        .expect("appends");
    check(
        store,
        &query(100, 100, &[Dimension::Category]),
        &[
            (vec![text("media")], sums(1, 1, (0, 0), (0, 0), (0, 1))),
            (vec![text("ngo")], sums(1, 1, (0, 0), (0, 0), (0, 0))),
            (vec![text("un")], sums(1, 1, (0, 1), (0, 1), (0, 0))),
        ],
    );
}

fn contract_cargo_rollup_counts_a_vehicle_under_each_kind(store: &mut dyn Store) {
    seed_passages(store);
    // A kind listed twice on one vehicle counts the vehicle once, with both weights.
    store
        .append(&[passage(
            "g",
            loaded(
                facts("port", 102, "un"),
                &[("food", Some(700)), ("food", Some(300)), ("fuel", None)],
            ),
        )])
        .expect("appends");
    let by_kind = query(100, 102, &[Dimension::CargoKind]);
    check(
        store,
        &by_kind,
        &[
            // c and e carried nothing.
            (
                vec![DimensionValue::None],
                sums(2, 3, (4, 2), (0, 1), (0, 0)),
            ),
            // a (2000 kg), d (1000 kg) and g (700 + 300 kg): each vehicle counted once.
            (vec![text("food")], sums(3, 5, (5, 1), (2, 1), (4_000, 3))),
            // b and g: neither weighed its fuel.
            (vec![text("fuel")], sums(2, 2, (0, 0), (0, 0), (0, 0))),
            (vec![text("grain")], sums(1, 1, (0, 0), (0, 0), (30_000, 1))),
            (vec![text("medicine")], sums(1, 3, (5, 1), (2, 1), (500, 1))),
        ],
    );
    // Rows add up to more vehicles than passed: a and d carry two kinds, g two.
    let rows = store.rollup(&by_kind).expect("reads");
    let vehicles_over_kinds: i64 = rows.iter().map(|row| row.metrics.vehicles).sum();
    let vehicles = store.rollup(&query(100, 102, &[])).expect("reads")[0]
        .metrics
        .vehicles;
    assert_eq!((vehicles_over_kinds, vehicles), (14, 9));
    // Filtering by a kind counts the vehicles that carried it and that kind's tonnes only.
    let food = RollupFilter {
        cargo_kind: Some("food".into()),
        ..Default::default()
    };
    check(
        store,
        &filtered(100, 102, food.clone(), &[]),
        &[(vec![], sums(3, 5, (5, 1), (2, 1), (4_000, 3)))],
    );
    check(
        store,
        &filtered(100, 102, food, &[Dimension::Site]),
        &[
            (vec![text("lachin")], sums(1, 3, (5, 1), (2, 1), (2_000, 1))),
            (vec![text("port")], sums(2, 2, (0, 0), (0, 0), (2_000, 2))),
        ],
    );
    check(
        store,
        &query(100, 102, &[Dimension::Site, Dimension::CargoKind]),
        &[
            (
                vec![text("lachin"), DimensionValue::None],
                sums(1, 1, (0, 1), (0, 1), (0, 0)),
            ),
            (
                vec![text("lachin"), text("food")],
                sums(1, 3, (5, 1), (2, 1), (2_000, 1)),
            ),
            (
                vec![text("lachin"), text("fuel")],
                sums(1, 1, (0, 0), (0, 0), (0, 0)),
            ),
            (
                vec![text("lachin"), text("medicine")],
                sums(1, 3, (5, 1), (2, 1), (500, 1)),
            ),
            (
                vec![text("port"), DimensionValue::None],
                sums(1, 2, (4, 1), (0, 0), (0, 0)),
            ),
            (
                vec![text("port"), text("food")],
                sums(2, 2, (0, 0), (0, 0), (2_000, 2)),
            ),
            (
                vec![text("port"), text("fuel")],
                sums(1, 1, (0, 0), (0, 0), (0, 0)),
            ),
            (
                vec![text("port"), text("grain")],
                sums(1, 1, (0, 0), (0, 0), (30_000, 1)),
            ),
        ],
    );
}

fn contract_corrections_and_retractions_move_rollups(store: &mut dyn Store) {
    let original = loaded(
        PassageFacts {
            count: 3,
            passengers: Some(5),
            ..facts("lachin", 100, "red_cross")
        },
        &[("food", Some(2_000))],
    );
    store
        .append(&[
            passage("p-1", original),
            passage("p-2", facts("lachin", 100, "red_cross")),
        ])
        .expect("appends");
    let by_day = query(0, 1_000, &[Dimension::Day]);
    let by_category = query(0, 1_000, &[Dimension::Category]);
    let by_kind = query(0, 1_000, &[Dimension::CargoKind]);
    check(
        store,
        &by_day,
        &[(vec![day(100)], sums(2, 4, (5, 1), (0, 0), (2_000, 1)))],
    );

    // The correction moves p-1 to another day and category with other cargo:
    // the old contribution leaves every row it was in.
    let moved = loaded(
        PassageFacts {
            count: 2,
            ..facts("lachin", 101, "commercial")
        },
        &[("fuel", Some(1_000))],
    );
    store
        .append(&[passage_correction("c-1", "p-1", moved)])
        .expect("corrects");
    check(
        store,
        &by_day,
        &[
            (vec![day(100)], sums(1, 1, (0, 0), (0, 0), (0, 0))),
            (vec![day(101)], sums(1, 2, (0, 0), (0, 0), (1_000, 1))),
        ],
    );
    check(
        store,
        &by_category,
        &[
            (
                vec![text("commercial")],
                sums(1, 2, (0, 0), (0, 0), (1_000, 1)),
            ),
            (vec![text("red_cross")], sums(1, 1, (0, 0), (0, 0), (0, 0))),
        ],
    );
    check(
        store,
        &by_kind,
        &[
            (
                vec![DimensionValue::None],
                sums(1, 1, (0, 0), (0, 0), (0, 0)),
            ),
            (vec![text("fuel")], sums(1, 2, (0, 0), (0, 0), (1_000, 1))),
        ],
    );
    // Correcting again subtracts the first correction, not the original.
    store
        .append(&[passage_correction(
            "c-2",
            "p-1",
            PassageFacts {
                count: 5,
                medical_evacuees: Some(1),
                ..facts("lachin", 100, "red_cross")
            },
        )])
        .expect("corrects");
    check(
        store,
        &by_day,
        &[(vec![day(100)], sums(2, 6, (0, 0), (1, 1), (0, 0)))],
    );
    check(
        store,
        &by_kind,
        &[(
            vec![DimensionValue::None],
            sums(2, 6, (0, 0), (1, 1), (0, 0)),
        )],
    );
    // A retraction subtracts; a correction of a site leaves passages alone.
    store
        .append(&[
            create("lachin", RecordType::Site),
            retraction("r-2", "p-2", RecordType::Passage),
            correction("c-3", "lachin", RecordType::Site),
        ])
        .expect("appends");
    check(
        store,
        &by_day,
        &[(vec![day(100)], sums(1, 5, (0, 0), (1, 1), (0, 0)))],
    );
    store
        .append(&[retraction("r-1", "p-1", RecordType::Passage)])
        .expect("retracts");
    for query in [&by_day, &by_category, &by_kind, &query(0, 1_000, &[])] {
        check(store, query, &[]);
    }
}

/// The rollups equal a recount of the current passages after creations,
/// corrections (moving a passage to other rows, changing its cargo) and
/// retractions: `rollup_differences` finds nothing to report.
fn contract_rollups_equal_a_recount_of_current_passages(store: &mut dyn Store) {
    assert_eq!(store.rollup_differences().expect("recounts"), vec![]);
    seed_passages(store);
    assert_eq!(store.rollup_differences().expect("recounts"), vec![]);
    store
        .append(&[
            passage_correction(
                "c-a",
                "a",
                loaded(facts("port", 103, "un"), &[("fuel", Some(700))]),
            ),
            retraction("r-b", "b", RecordType::Passage),
            passage_correction("c-d", "d", facts("port", 101, "commercial")),
        ])
        .expect("appends");
    assert_eq!(store.rollup_differences().expect("recounts"), vec![]);
    store
        .append(&[
            retraction("r-a", "a", RecordType::Passage),
            retraction("r-e", "e", RecordType::Passage),
        ])
        .expect("appends");
    assert_eq!(store.rollup_differences().expect("recounts"), vec![]);
}

fn contract_private_parts_are_erased_with_their_corrections(store: &mut dyn Store) {
    store
        .append(&[
            with_private(
                passage("p-1", facts("lachin", 100, "un")),
                1,
                r#"{"plate":"AB 123"}"#,
            ),
            with_private(
                passage("p-2", facts("lachin", 100, "un")),
                2,
                r#"{"plate":"CD 456"}"#,
            ),
            passage("p-3", facts("lachin", 100, "un")),
        ])
        .expect("appends");
    store
        .append(&[
            with_private(
                passage_correction("c-1", "p-1", facts("lachin", 101, "un")),
                3,
                r#"{"plate":"AB 128"}"#,
            ),
            passage_correction("c-2", "p-1", facts("lachin", 102, "un")),
            with_private(
                retraction("r-1", "p-1", RecordType::Passage),
                4,
                r#"{"driver":"A. P."}"#,
            ),
        ])
        .expect("appends");
    for (id, expected) in [
        ("p-1", Some(private_part(1, r#"{"plate":"AB 123"}"#))),
        ("p-2", Some(private_part(2, r#"{"plate":"CD 456"}"#))),
        ("p-3", None),
        ("c-1", Some(private_part(3, r#"{"plate":"AB 128"}"#))),
        ("c-2", None),
        ("r-1", Some(private_part(4, r#"{"driver":"A. P."}"#))),
        ("p-404", None),
    ] {
        assert_eq!(store.private_part(id).expect("reads"), expected, "{id}");
    }
    let leaves_before = all_leaves(store);
    let records_before: Vec<Option<StoredRecord>> = ["p-1", "c-1", "r-1"]
        .iter()
        .map(|id| store.record(id).expect("reads"))
        .collect();

    assert_eq!(erased(store, "p-1"), 3);
    for id in ["p-1", "c-1", "c-2", "r-1"] {
        assert_eq!(store.private_part(id).expect("reads"), None, "{id}");
    }
    assert_eq!(
        store.private_part("p-2").expect("reads"),
        Some(private_part(2, r#"{"plate":"CD 456"}"#))
    );
    // The log does not change: leaves keep their commitments byte for byte.
    assert_eq!(all_leaves(store), leaves_before);
    let records_after: Vec<Option<StoredRecord>> = ["p-1", "c-1", "r-1"]
        .iter()
        .map(|id| store.record(id).expect("reads"))
        .collect();
    assert_eq!(records_after, records_before);
    // Erasing again, or what has no private part, erases nothing.
    assert_eq!(store.erase_private("p-1").expect("erases"), 0);
    assert_eq!(store.erase_private("p-3").expect("erases"), 0);
    assert_eq!(store.erase_private("p-404").expect("erases"), 0);
    assert_eq!(erased(store, "p-2"), 1);
    assert_eq!(store.private_part("p-2").expect("reads"), None);
}

/// How many private parts erasing `id` erased: a backend whose files may
/// still hold copies for now says so (`ErasedNotPurged`) only when it
/// erased something.
fn erased(store: &mut dyn Store, id: &str) -> u64 {
    match store.erase_private(id) {
        Ok(erased) => erased,
        Err(StoreError::ErasedNotPurged { erased, reason }) => {
            assert!(erased > 0, "{id}: nothing erased, yet not purged: {reason}");
            assert!(!reason.is_empty());
            erased
        }
        Err(other) => panic!("{id}: erasing failed: {other}"),
    }
}

fn contract_current_of_type_in_leaf_order_without_retracted(store: &mut dyn Store) {
    assert_eq!(
        store.current_of_type(RecordType::Site).expect("reads"),
        Vec::new()
    );
    store
        .append(&[
            create("s-1", RecordType::Site),
            create("s-2", RecordType::Site),
            passage("p-1", facts("s-1", 100, "un")),
            create("s-3", RecordType::Site),
            create("s-4", RecordType::Site),
        ])
        .expect("appends");
    store
        .append(&[
            correction("c-1", "s-1", RecordType::Site),
            retraction("r-1", "s-2", RecordType::Site),
            create("m-1", RecordType::Mission),
            retraction("r-2", "m-1", RecordType::Mission),
        ])
        .expect("appends");
    let pair = |target: &str, leaf_id: &str| (target.to_string(), leaf_of(leaf_id));
    // s-1's current content is the correction, at leaf 5: after s-3 and s-4.
    assert_eq!(
        store.current_of_type(RecordType::Site).expect("reads"),
        vec![pair("s-3", "s-3"), pair("s-4", "s-4"), pair("s-1", "c-1")]
    );
    assert_eq!(
        store.current_of_type(RecordType::Passage).expect("reads"),
        vec![pair("p-1", "p-1")]
    );
    assert_eq!(
        store.current_of_type(RecordType::Mission).expect("reads"),
        Vec::new()
    );
    assert_eq!(
        store
            .current_of_type(RecordType::Correction)
            .expect("reads"),
        Vec::new()
    );
}

fn contract_count_by_type_counts_leaves(store: &mut dyn Store) {
    assert_eq!(store.count_by_type().expect("reads"), Vec::new());
    store
        .append(&[
            create("lachin", RecordType::Site),
            passage("p-1", facts("lachin", 100, "un")),
            passage("p-2", facts("lachin", 100, "un")),
            passage_correction("c-1", "p-1", facts("lachin", 100, "un")),
            retraction("r-1", "p-2", RecordType::Passage),
            create("cl-1", RecordType::Claim),
        ])
        .expect("appends");
    // Retracted and corrected records still count: these are leaves. Sorted by type name.
    assert_eq!(
        store.count_by_type().expect("reads"),
        vec![
            (RecordType::Claim, 1),
            (RecordType::Correction, 1),
            (RecordType::Passage, 2),
            (RecordType::Retraction, 1),
            (RecordType::Site, 1),
        ]
    );
}

fn contract_first_meta_sets_a_key_once(store: &mut dyn Store) {
    assert_eq!(
        store.first_meta("setting/x", b"first").expect("sets"),
        b"first".to_vec()
    );
    assert_eq!(
        store.first_meta("setting/x", b"second").expect("keeps"),
        b"first".to_vec(),
        "a key set already keeps its value"
    );
    assert_eq!(
        store.meta("setting/x").expect("reads"),
        Some(b"first".to_vec())
    );
}

fn contract_meta_is_a_durable_key_value_table(store: &mut dyn Store) {
    assert_eq!(store.meta("origin").expect("reads"), None);
    store
        .set_meta("origin", b"corridor.example/log")
        .expect("writes");
    assert_eq!(
        store.meta("origin").expect("reads"),
        Some(b"corridor.example/log".to_vec())
    );
    store
        .set_meta("origin", b"corridor.example/log2")
        .expect("overwrites");
    assert_eq!(
        store.meta("origin").expect("reads"),
        Some(b"corridor.example/log2".to_vec())
    );
    store.set_meta("empty", b"").expect("writes");
    assert_eq!(store.meta("empty").expect("reads"), Some(Vec::new()));
    let binary = [0_u8, 255, 0, 10, 13];
    store.set_meta("secret", &binary).expect("writes");
    assert_eq!(store.meta("secret").expect("reads"), Some(binary.to_vec()));
    assert_eq!(store.meta("Origin").expect("reads"), None);
    // Meta is not a record.
    assert_eq!(store.leaf_count().expect("count"), 0);
}

fn contract_tokens_are_found_by_hash_listed_and_revoked_once(store: &mut dyn Store) {
    let token = ApiToken {
        id: "t1".into(),
        name: "team a".into(),
        role: "observer".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        revoked_at: None,
    };
    store.insert_token(&token, &[7; 32]).expect("stores");
    assert_eq!(
        store.token_by_hash(&[7; 32]).expect("reads"),
        Some(token.clone())
    );
    assert_eq!(store.token_by_hash(&[8; 32]).expect("reads"), None);
    assert_eq!(store.tokens().expect("reads"), vec![token.clone()]);
    assert!(
        store
            .revoke_token("t1", "2026-01-02T00:00:00Z")
            .expect("revokes")
    );
    assert!(
        !store
            .revoke_token("t1", "2026-01-03T00:00:00Z")
            .expect("reads")
    );
    assert!(
        !store
            .revoke_token("t9", "2026-01-03T00:00:00Z")
            .expect("reads")
    );
    assert_eq!(
        store
            .token_by_hash(&[7; 32])
            .expect("reads")
            .and_then(|token| token.revoked_at),
        Some("2026-01-02T00:00:00Z".to_string())
    );
    // Neither an id nor a secret is stored twice.
    let same_id = ApiToken {
        name: "team b".into(),
        ..token.clone()
    };
    assert!(matches!(
        store.insert_token(&same_id, &[9; 32]),
        Err(StoreError::DuplicateToken { .. })
    ));
    let same_secret = ApiToken {
        id: "t2".into(),
        ..token
    };
    assert!(matches!(
        store.insert_token(&same_secret, &[7; 32]),
        Err(StoreError::DuplicateToken { .. })
    ));
    // Tokens are listed oldest first, then by id; none is a record.
    let older = ApiToken {
        id: "t0".into(),
        name: "team c".into(),
        role: "admin".into(),
        created_at: "2025-12-31T00:00:00Z".into(),
        revoked_at: None,
    };
    store.insert_token(&older, &[5; 32]).expect("stores");
    let listed: Vec<String> = store
        .tokens()
        .expect("reads")
        .into_iter()
        .map(|token| token.id)
        .collect();
    assert_eq!(listed, vec!["t0".to_string(), "t1".to_string()]);
    assert_eq!(store.leaf_count().expect("count"), 0);
}

fn contract_the_submitter_is_stored_with_the_record_and_kept(store: &mut dyn Store) {
    let submitted = |id: &str, token: Option<&str>| NewRecord {
        submitter: token.map(str::to_string),
        ..create(id, RecordType::Incident)
    };
    store
        .append(&[submitted("p-1", Some("t1")), submitted("p-2", None)])
        .expect("stores");
    assert_eq!(
        store.submitter("p-1").expect("reads"),
        Some("t1".to_string())
    );
    assert_eq!(store.submitter("p-2").expect("reads"), None);
    assert_eq!(store.submitter("p-3").expect("reads"), None);
    // A refused batch remembers nothing of itself, and changes no submitter.
    let refused = store.append(&[submitted("p-3", Some("t2")), submitted("p-1", Some("t2"))]);
    assert!(matches!(refused, Err(StoreError::DuplicateId { .. })));
    assert_eq!(
        store.submitter("p-1").expect("reads"),
        Some("t1".to_string())
    );
    assert_eq!(store.submitter("p-3").expect("reads"), None);
}

/// `export` gives back every record as the `NewRecord` that stores it
/// again: replayed in order into an empty store (here the memory backend,
/// the reference), it rebuilds the same leaves, states, indexes, rollups,
/// private parts (an erased one stays erased) and submitters, and the copy
/// exports exactly what the original did. Tokens travel with their hashes.
fn contract_export_replays_into_an_empty_store(store: &mut dyn Store) {
    assert_eq!(store.export(0, 10).expect("exports"), vec![]);
    seed_passages(store);
    store
        .append(&[
            with_private(
                passage(
                    "g",
                    PassageFacts {
                        attributes: vec![
                            ("flag".to_string(), "TR".to_string()),
                            ("route".to_string(), "north".to_string()),
                        ],
                        ..facts("port", 103, "commercial")
                    },
                ),
                1,
                r#"{"plate":"AB 123"}"#,
            ),
            with_private(
                passage_correction(
                    "c-a",
                    "a",
                    loaded(facts("lachin", 104, "un"), &[("fuel", Some(700))]),
                ),
                2,
                r#"{"plate":"CD 456"}"#,
            ),
            retraction("r-b", "b", RecordType::Passage),
            NewRecord {
                submitter: Some("t1".to_string()),
                ..create("site-1", RecordType::Site)
            },
            correction("c-site-1", "site-1", RecordType::Site),
        ])
        .expect("appends");
    assert_eq!(
        erased(store, "a"),
        1,
        "the correction of a had a private part"
    );
    let token = ApiToken {
        id: "t1".into(),
        name: "team a".into(),
        role: "observer".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        revoked_at: Some("2026-01-02T00:00:00Z".into()),
    };
    store.insert_token(&token, &[7; 32]).expect("stores");

    let count = store.leaf_count().expect("counts");
    let mut copy = MemoryStore::new();
    // In uneven chunks, the last one asking past the end.
    for (start, end) in [(0, 3), (3, 4), (4, count + 5)] {
        let records = store.export(start, end).expect("exports");
        assert_eq!(records.len() as u64, end.min(count) - start);
        copy.append(&records).expect("the copy stores them");
    }
    assert_eq!(store.export(count, count + 5).expect("exports"), vec![]);
    for (hash_token, hash) in store.tokens_with_hashes().expect("lists") {
        copy.insert_token(&hash_token, &hash).expect("stores");
    }

    assert_eq!(all_leaves(&copy), all_leaves(store));
    assert_eq!(
        copy.export(0, count).expect("exports"),
        store.export(0, count).expect("exports")
    );
    // What a reader sees of one logical record or record, by its id.
    let seen = |of: &dyn Store, id: &str| {
        (
            of.record(id).expect("reads"),
            of.current(id).expect("reads"),
            of.private_part(id).expect("reads"),
            of.submitter(id).expect("reads"),
        )
    };
    for id in [
        "a", "b", "c", "d", "e", "f", "g", "site-1", "c-a", "r-b", "c-site-1",
    ] {
        assert_eq!(seen(&copy, id), seen(store, id), "{id}");
    }
    assert_eq!(store.private_part("a").expect("reads"), None);
    assert_eq!(
        copy.private_part("g").expect("reads"),
        Some(private_part(1, r#"{"plate":"AB 123"}"#))
    );
    assert_eq!(
        copy.submitter("site-1").expect("reads"),
        Some("t1".to_string())
    );
    for dimension in [Dimension::Day, Dimension::Category, Dimension::CargoKind] {
        let by = query(0, 1_000, &[dimension]);
        assert_eq!(
            copy.rollup(&by).expect("reads"),
            store.rollup(&by).expect("reads")
        );
    }
    let flagged = [("flag".to_string(), "TR".to_string())];
    let period = query(0, 1_000, &[]);
    assert_eq!(
        copy.passage_sums(&period, &flagged).expect("sums"),
        store.passage_sums(&period, &flagged).expect("sums")
    );
    assert_eq!(
        copy.passage_sums(&period, &flagged).expect("sums").passages,
        1
    );
    assert_eq!(copy.rollup_differences().expect("recounts"), vec![]);
    assert_eq!(copy.token_by_hash(&[7; 32]).expect("reads"), Some(token));
    assert_eq!(
        copy.tokens_with_hashes().expect("lists"),
        store.tokens_with_hashes().expect("lists")
    );
}

// ---------------------------------------------------------------------------
// Every contract on every backend.

/// A store under test, with whatever must outlive it (its directory).
struct Backend {
    store: Box<dyn Store>,
    _directory: Option<tempfile::TempDir>,
}

fn sqlite_file() -> Option<Backend> {
    let directory = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&directory.path().join("store.db")).expect("opens");
    Some(Backend {
        store: Box::new(store),
        _directory: Some(directory),
    })
}

fn sqlite_in_memory() -> Option<Backend> {
    Some(Backend {
        store: Box::new(SqliteStore::open_in_memory().expect("opens")),
        _directory: None,
    })
}

fn memory() -> Option<Backend> {
    Some(Backend {
        store: Box::new(MemoryStore::new()),
        _directory: None,
    })
}

/// SQLite opened the way the rest of Corridor opens a store: from its location.
fn sqlite_by_location() -> Option<Backend> {
    let directory = tempfile::tempdir().expect("temp dir");
    let location = format!("sqlite://{}", directory.path().join("store.db").display());
    Some(Backend {
        store: corridor_store::open(&location).expect("opens"),
        _directory: Some(directory),
    })
}

/// A new database on the process's throwaway cluster, as its URL; `None`
/// (after a loud SKIP) when PostgreSQL is not installed.
fn postgres_database(test: &str) -> Option<String> {
    let cluster = Cluster::shared_or_skip(test)?;
    Some(cluster.create_database().expect("creates a test database"))
}

/// PostgreSQL, each test in a database of its own.
fn postgres() -> Option<Backend> {
    let url = postgres_database("conformance on PostgreSQL")?;
    Some(Backend {
        store: Box::new(PostgresStore::open(&url).expect("opens")),
        _directory: None,
    })
}

/// PostgreSQL opened from its URL, as `[store] url` opens it.
fn postgres_by_location() -> Option<Backend> {
    let url = postgres_database("conformance on PostgreSQL")?;
    Some(Backend {
        store: corridor_store::open(&url).expect("opens"),
        _directory: None,
    })
}

fn contract_the_lease_has_one_holder_until_it_expires(store: &mut dyn Store) {
    use corridor_store::{Lease, LeaseState};
    use std::time::Duration;
    let ttl = Duration::from_millis(400);
    let held = |holder: &str, epoch| {
        LeaseState::Held(Lease {
            holder: holder.to_string(),
            epoch,
        })
    };
    assert_eq!(store.acquire_lease("a", ttl).expect("takes"), held("a", 1));
    match store.acquire_lease("b", ttl).expect("asks") {
        LeaseState::Taken {
            holder,
            epoch,
            expires_in,
        } => {
            assert_eq!((holder.as_str(), epoch), ("a", 1));
            assert!(expires_in <= ttl, "{expires_in:?}");
        }
        other => panic!("b took a held lease: {other:?}"),
    }
    assert_eq!(
        store.acquire_lease("a", ttl).expect("renews"),
        held("a", 1),
        "a renewal before expiry keeps the epoch"
    );
    std::thread::sleep(ttl + Duration::from_millis(200));
    assert_eq!(
        store.acquire_lease("b", ttl).expect("takes over"),
        held("b", 2),
        "an expired lease goes to the next asker with a new epoch"
    );
    // Releasing a lease one no longer holds changes nothing ...
    store
        .release_lease(&Lease {
            holder: "a".into(),
            epoch: 1,
        })
        .expect("releases");
    assert!(matches!(
        store.acquire_lease("a", ttl).expect("asks"),
        LeaseState::Taken { .. }
    ));
    // ... and releasing one's own frees it at once.
    store
        .release_lease(&Lease {
            holder: "b".into(),
            epoch: 2,
        })
        .expect("releases");
    assert_eq!(store.acquire_lease("a", ttl).expect("takes"), held("a", 3));
}

fn contract_the_tree_head_moves_by_compare_and_swap_under_the_lease(store: &mut dyn Store) {
    use corridor_store::{LeaseState, StoreError, TreeHead};
    use std::time::Duration;
    let head = |size: u64| TreeHead {
        size,
        root: [size as u8 + 1; 32],
    };
    let fenced = |result: Result<(), StoreError>, what: &str| match result {
        Err(StoreError::Fenced { reason }) => reason,
        other => panic!("{what}: expected a refusal, got {other:?}"),
    };
    let ttl = Duration::from_millis(400);
    let LeaseState::Held(a) = store.acquire_lease("a", ttl).expect("takes") else {
        panic!("the lease is free");
    };
    assert_eq!(store.tree_head().expect("reads"), None);
    fenced(
        store.advance_tree_head(&a, Some(&head(2)), &head(4)),
        "from a head that is not recorded",
    );
    store
        .advance_tree_head(&a, None, &head(4))
        .expect("records the first head");
    store
        .advance_tree_head(&a, None, &head(4))
        .expect("a retry that finds its own head counts as done");
    fenced(
        store.advance_tree_head(&a, None, &head(6)),
        "from none once one is recorded",
    );
    fenced(
        store.advance_tree_head(&a, Some(&head(4)), &head(3)),
        "backwards",
    );
    store
        .advance_tree_head(&a, Some(&head(4)), &head(4))
        .expect("the same head only checks the lease");
    store
        .advance_tree_head(&a, Some(&head(4)), &head(9))
        .expect("advances");
    assert_eq!(store.tree_head().expect("reads"), Some(head(9)));
    std::thread::sleep(ttl + Duration::from_millis(200));
    let reason = fenced(
        store.advance_tree_head(&a, Some(&head(9)), &head(12)),
        "an expired lease",
    );
    assert!(reason.contains("expired"), "{reason}");
    let LeaseState::Held(b) = store.acquire_lease("b", ttl).expect("takes over") else {
        panic!("the lease expired");
    };
    let reason = fenced(
        store.advance_tree_head(&a, Some(&head(9)), &head(12)),
        "a lease taken over",
    );
    assert!(reason.contains("taken over by b"), "{reason}");
    store
        .advance_tree_head(&b, Some(&head(9)), &head(12))
        .expect("the new holder advances");
    assert_eq!(store.tree_head().expect("reads"), Some(head(12)));
    // The head is not a record.
    assert_eq!(store.leaf_count().expect("count"), 0);
}

/// Runs every contract on the backend that `$backend()` opens (when it
/// opens one: a backend missing here is skipped loudly), as tests
/// named `$backend::contract_...`. A new backend joins with one line below
/// and one constructor above.
macro_rules! conformance_suite {
    ($backend:ident) => {
        conformance_suite!(@contracts $backend:
            contract_leaf_indexes_are_dense_from_zero,
            contract_records_are_read_back_by_id_and_leaf_index,
            contract_records_are_read_back_by_many_ids_at_once,
            contract_leaves_ranges_are_clamped,
            contract_a_duplicate_id_stores_nothing_of_its_batch,
            contract_changing_an_unknown_or_retracted_record_stores_nothing,
            contract_current_follows_create_replace_retract,
            contract_rollup_sums_group_by_every_dimension,
            contract_rollup_filters,
            contract_rollup_keeps_unknown_apart_from_zero,
            contract_cargo_rollup_counts_a_vehicle_under_each_kind,
            contract_corrections_and_retractions_move_rollups,
            contract_private_parts_are_erased_with_their_corrections,
            contract_current_of_type_in_leaf_order_without_retracted,
            contract_count_by_type_counts_leaves,
            contract_meta_is_a_durable_key_value_table,
            contract_first_meta_sets_a_key_once,
            contract_passage_sums_filter_by_attributes_and_agree_with_rollups,
            contract_passages_are_listed_in_pages_by_site_day_and_leaf,
            contract_rollups_equal_a_recount_of_current_passages,
            contract_tokens_are_found_by_hash_listed_and_revoked_once,
            contract_the_submitter_is_stored_with_the_record_and_kept,
            contract_export_replays_into_an_empty_store,
            contract_the_lease_has_one_holder_until_it_expires,
            contract_the_tree_head_moves_by_compare_and_swap_under_the_lease,
        );
    };
    (@contracts $backend:ident: $($contract:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $contract() {
                    // `None`: the backend is not installed here (a SKIP was printed).
                    let Some(mut backend) = super::$backend() else {
                        return;
                    };
                    super::$contract(backend.store.as_mut());
                }
            )+
        }
    };
}

conformance_suite!(sqlite_file);
conformance_suite!(sqlite_in_memory);
conformance_suite!(memory);
conformance_suite!(sqlite_by_location);
conformance_suite!(postgres);
conformance_suite!(postgres_by_location);

// ---------------------------------------------------------------------------
// SQLite only: what was acknowledged survives closing the database.

/// Everything a reader can see of a store, for before/after comparisons.
fn snapshot(store: &dyn Store) -> String {
    let leaf_count = store.leaf_count().expect("count");
    let records: Vec<Option<StoredRecord>> = (0..leaf_count)
        .map(|index| store.record_at(index).expect("reads"))
        .collect();
    let states: Vec<Option<CurrentState>> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .map(|id| store.current(id).expect("reads"))
        .collect();
    let rollups: Vec<Vec<RollupRow>> = [Dimension::Day, Dimension::Category, Dimension::CargoKind]
        .iter()
        .map(|dimension| {
            store
                .rollup(&query(0, 1_000, &[*dimension]))
                .expect("reads")
        })
        .collect();
    let private: Vec<Option<PrivatePart>> = ["a", "c-a"]
        .iter()
        .map(|id| store.private_part(id).expect("reads"))
        .collect();
    format!(
        "{records:?}\n{states:?}\n{rollups:?}\n{private:?}\n{:?}\n{:?}\n{:?}",
        store.count_by_type().expect("reads"),
        store.current_of_type(RecordType::Passage).expect("reads"),
        store.meta("origin").expect("reads"),
    )
}

#[test]
fn sqlite_data_survives_close_and_reopen() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("store.db");
    let before = {
        let mut store = SqliteStore::open(&path).expect("opens");
        seed_passages(&mut store);
        store
            .append(&[
                NewRecord {
                    private: Some(private_part(9, r#"{"plate":"AB 123"}"#)),
                    ..passage_correction("c-a", "a", facts("lachin", 103, "un"))
                },
                retraction("r-b", "b", RecordType::Passage),
            ])
            .expect("appends");
        store
            .set_meta("origin", b"corridor.example/log")
            .expect("writes");
        snapshot(&store)
    };
    let mut reopened = SqliteStore::open(&path).expect("reopens");
    assert_eq!(snapshot(&reopened), before);
    assert_eq!(
        reopened.private_part("c-a").expect("reads"),
        Some(private_part(9, r#"{"plate":"AB 123"}"#))
    );
    // Appending continues the leaf numbering where it stopped.
    assert_eq!(
        reopened
            .append(&[passage("g", facts("lachin", 104, "un"))])
            .expect("appends"),
        vec![8]
    );
    assert_eq!(
        reopened
            .append(&[create("a", RecordType::Site)])
            .map_err(|error| error.to_string()),
        Err("record id \"a\" is already stored (at leaf 0)".to_string())
    );
}

/// The key of passage `f` of `seed_passages` in the passage rollup.
fn key_of_passage_f(cargo_kind: &str) -> RollupKey {
    RollupKey {
        site: "lachin".into(),
        day: 99,
        category: "red_cross".into(),
        operator: "ICRC".into(),
        direction: "inbound".into(),
        outcome: "passed".into(),
        vehicle_class: "truck".into(),
        source_kind: "direct_observation".into(),
        source_name: "Team A observers".into(),
        recorded_by: "team-a".into(),
        cargo_kind: cargo_kind.into(),
    }
}

/// A rollup row changed behind the store's back (a flipped byte, a bad
/// restore) is found by the recount, with both figures; so is a changed
/// passage row, whose recount no longer matches the rollups kept for it.
#[test]
fn sqlite_an_altered_rollup_row_differs_from_the_recount() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("store.db");
    seed_passages(&mut SqliteStore::open(&path).expect("opens"));
    let f = sums(1, 7, (10, 1), (0, 0), (0, 0));
    {
        let connection = rusqlite::Connection::open(&path).expect("opens raw");
        connection
            .execute("UPDATE passage_rollup SET vehicles = 70 WHERE day = 99", [])
            .expect("alters");
    }
    let store = SqliteStore::open(&path).expect("reopens");
    assert_eq!(
        store.rollup_differences().expect("recounts"),
        vec![RollupDifference {
            table: RollupTable::Passage,
            key: key_of_passage_f(""),
            stored: Metrics { vehicles: 70, ..f },
            recounted: f,
        }]
    );
    drop(store);
    {
        let connection = rusqlite::Connection::open(&path).expect("opens raw");
        connection
            .execute("UPDATE passage_rollup SET vehicles = 7 WHERE day = 99", [])
            .expect("restores");
        connection
            .execute("UPDATE passages SET passengers = 11 WHERE day = 99", [])
            .expect("alters");
    }
    let store = SqliteStore::open(&path).expect("reopens");
    let recounted = Metrics {
        passengers: 11,
        ..f
    };
    assert_eq!(
        store.rollup_differences().expect("recounts"),
        vec![
            RollupDifference {
                table: RollupTable::Passage,
                key: key_of_passage_f(""),
                stored: f,
                recounted,
            },
            RollupDifference {
                table: RollupTable::Cargo,
                key: key_of_passage_f(""),
                stored: f,
                recounted,
            },
        ]
    );
}

// ---------------------------------------------------------------------------
// MemoryStore only: injected faults leave nothing visible.

#[test]
fn memory_store_faults_leave_nothing_visible() {
    let mut store = MemoryStore::new();
    seed_passages(&mut store);
    store
        .append(&[NewRecord {
            private: Some(private_part(1, r#"{"plate":"AB 123"}"#)),
            ..passage("g", facts("lachin", 104, "un"))
        }])
        .expect("appends");
    let batch = [
        passage_correction("c-a", "a", facts("lachin", 104, "un")),
        retraction("r-b", "b", RecordType::Passage),
        NewRecord {
            private: Some(private_part(2, r#"{"plate":"CD 456"}"#)),
            ..passage("h", facts("port", 104, "un"))
        },
    ];
    let before = snapshot(&store);
    for (fault, expected) in [
        (Fault::FailWrite, "injected fault: write failed"),
        (Fault::FailCommit, "injected fault: commit failed"),
    ] {
        store.inject(fault);
        let error = store.append(&batch).expect_err("the fault fires");
        assert_eq!(error.to_string(), expected);
        assert_eq!(snapshot(&store), before, "{fault:?}");
        assert_eq!(store.record("h").expect("reads"), None);
        assert_eq!(store.private_part("h").expect("reads"), None);
    }
    // Faults fire once each, in the order queued; then writes work again.
    store.inject(Fault::FailCommit);
    store.inject(Fault::FailWrite);
    assert!(matches!(
        store.append(&batch),
        Err(StoreError::Injected("commit failed"))
    ));
    assert!(matches!(
        store.append(&batch),
        Err(StoreError::Injected("write failed"))
    ));
    assert_eq!(store.append(&batch).expect("appends"), vec![7, 8, 9]);
    // A queued `Pass` lets one write through before the next fault.
    store.inject(Fault::Pass);
    store.inject(Fault::FailWrite);
    store
        .append(&[passage("i", facts("port", 105, "un"))])
        .expect("passes");
    assert!(matches!(
        store.append(&[passage("j", facts("port", 105, "un"))]),
        Err(StoreError::Injected("write failed"))
    ));
    assert_eq!(
        store.private_part("h").expect("reads"),
        Some(private_part(2, r#"{"plate":"CD 456"}"#))
    );
    check(
        &store,
        &query(104, 104, &[]),
        &[(vec![], sums(3, 3, (0, 0), (0, 0), (0, 0)))],
    );
    check(&store, &query(100, 100, &[]), &[]);
}

// ---------------------------------------------------------------------------
// Property: the backends agree with each other and with a naive recomputation.

const SITES: [&str; 2] = ["lachin", "port"];
const CATEGORIES: [&str; 2] = ["red_cross", "commercial"];
const OPERATORS: [Option<&str>; 3] = [None, Some("ICRC"), Some("Maersk")];
const DIRECTIONS: [&str; 2] = ["inbound", "outbound"];
const OUTCOMES: [&str; 2] = ["passed", "turned_back"];
const CLASSES: [&str; 2] = ["truck", "car"];
const CARGO_KINDS: [&str; 2] = ["food", "fuel"];
const RECORDERS: [&str; 2] = ["team-a", "team-b"];
const DIMENSIONS: [Dimension; 10] = [
    Dimension::Site,
    Dimension::Day,
    Dimension::Category,
    Dimension::Operator,
    Dimension::Direction,
    Dimension::Outcome,
    Dimension::VehicleClass,
    Dimension::SourceKind,
    Dimension::RecordedBy,
    Dimension::CargoKind,
];

fn arbitrary_facts() -> impl Strategy<Value = PassageFacts> {
    (
        (
            0..2_usize,
            0..5_i32,
            0..2_usize,
            0..3_usize,
            0..2_usize,
            0..2_usize,
            0..2_usize,
            0..2_usize,
        ),
        (
            1..5_u32,
            proptest::option::of(0..10_u32),
            proptest::option::of(0..3_u32),
        ),
        proptest::collection::vec((0..2_usize, proptest::option::of(0..5_000_u64)), 0..3),
    )
        .prop_map(
            |(
                (site, day, category, operator, direction, outcome, class, recorder),
                (count, passengers, evacuees),
                cargo,
            )| {
                let lines: Vec<(&str, Option<u64>)> = cargo
                    .iter()
                    .map(|(kind, kilograms)| (CARGO_KINDS[*kind], *kilograms))
                    .collect();
                loaded(
                    PassageFacts {
                        operator: OPERATORS[operator].map(str::to_string),
                        direction: DIRECTIONS[direction].to_string(),
                        outcome: OUTCOMES[outcome].to_string(),
                        vehicle_class: CLASSES[class].to_string(),
                        source_kind: if recorder == 0 {
                            "direct_observation"
                        } else {
                            "register"
                        }
                        .to_string(),
                        recorded_by: RECORDERS[recorder].to_string(),
                        count,
                        passengers,
                        medical_evacuees: evacuees,
                        ..facts(SITES[site], day, CATEGORIES[category])
                    },
                    &lines,
                )
            },
        )
}

/// One write; targets are picked by position among the passages created so
/// far, so some name retracted passages and must fail.
#[derive(Debug, Clone)]
enum Operation {
    Create(PassageFacts),
    Correct(usize, PassageFacts),
    Retract(usize),
    /// Reuses the id of an earlier passage: must fail.
    Duplicate(usize),
}

fn arbitrary_operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        4 => arbitrary_facts().prop_map(Operation::Create),
        3 => (any::<usize>(), arbitrary_facts()).prop_map(|(target, facts)| Operation::Correct(target, facts)),
        1 => any::<usize>().prop_map(Operation::Retract),
        1 => any::<usize>().prop_map(Operation::Duplicate),
    ]
}

fn arbitrary_query() -> impl Strategy<Value = RollupQuery> {
    let optional =
        |choices: &'static [&'static str]| proptest::option::of(proptest::sample::select(choices));
    (
        (0..6_i32, 0..6_i32),
        proptest::sample::subsequence(SITES.to_vec(), 0..=2),
        (
            optional(&CATEGORIES),
            proptest::option::of(proptest::sample::select(vec!["ICRC", "Maersk", ""])),
        ),
        (
            optional(&DIRECTIONS),
            optional(&OUTCOMES),
            optional(&CLASSES),
            optional(&CARGO_KINDS),
        ),
        proptest::sample::subsequence(DIMENSIONS.to_vec(), 0..=2),
    )
        .prop_map(
            |(
                (from_day, to_day),
                sites,
                (category, operator),
                (direction, outcome, class, cargo_kind),
                group_by,
            )| {
                RollupQuery {
                    from_day,
                    to_day,
                    filter: RollupFilter {
                        sites: sites.into_iter().map(str::to_string).collect(),
                        category: category.map(str::to_string),
                        operator: operator.map(str::to_string),
                        direction: direction.map(str::to_string),
                        outcomes: outcome.map(str::to_string).into_iter().collect(),
                        vehicle_class: class.map(str::to_string),
                        cargo_kind: cargo_kind.map(str::to_string),
                    },
                    group_by,
                }
            },
        )
}

/// The logical passages as they stand, in creation order: `None` once retracted.
#[derive(Debug, Clone, Default)]
struct NaiveModel {
    passages: Vec<(String, Option<PassageFacts>)>,
    next_id: usize,
}

impl NaiveModel {
    /// Turns `operations` into one batch, applying them to the model, and
    /// says whether a store must accept it (if not, the caller drops this
    /// model: the store must refuse the whole batch).
    fn batch(&mut self, operations: &[Operation]) -> (Vec<NewRecord>, bool) {
        let mut batch = Vec::new();
        let mut valid = true;
        for operation in operations {
            self.next_id += 1;
            let own_id = format!("record-{}", self.next_id);
            let target = |position: usize| position % self.passages.len().max(1);
            match operation {
                Operation::Create(facts) => {
                    self.passages.push((own_id.clone(), Some(facts.clone())));
                    batch.push(passage(&own_id, facts.clone()));
                }
                _ if self.passages.is_empty() => {
                    valid = false;
                    batch.push(retraction(&own_id, "nothing-yet", RecordType::Passage));
                }
                Operation::Correct(position, facts) => {
                    let index = target(*position);
                    let (target_id, current) = &mut self.passages[index];
                    valid &= current.is_some();
                    *current = Some(facts.clone());
                    batch.push(passage_correction(&own_id, target_id, facts.clone()));
                }
                Operation::Retract(position) => {
                    let index = target(*position);
                    let (target_id, current) = &mut self.passages[index];
                    valid &= current.is_some();
                    *current = None;
                    batch.push(retraction(&own_id, target_id, RecordType::Passage));
                }
                Operation::Duplicate(position) => {
                    valid = false;
                    let index = target(*position);
                    batch.push(passage(
                        &self.passages[index].0.clone(),
                        facts("lachin", 0, "un"),
                    ));
                }
            }
        }
        (batch, valid)
    }

    /// The rollup computed straight from the current passages.
    fn rollup(&self, query: &RollupQuery) -> Vec<RollupRow> {
        let uses_cargo =
            query.group_by.contains(&Dimension::CargoKind) || query.filter.cargo_kind.is_some();
        let mut groups: BTreeMap<Vec<DimensionValue>, Metrics> = BTreeMap::new();
        for facts in self
            .passages
            .iter()
            .filter_map(|(_, current)| current.as_ref())
        {
            let filter = &query.filter;
            let wanted = |wanted: &Option<String>, value: &str| {
                wanted.as_deref().is_none_or(|wanted| wanted == value)
            };
            let operator = facts.operator.as_deref().unwrap_or("");
            if !(query.from_day..=query.to_day).contains(&facts.day)
                || !(filter.sites.is_empty() || filter.sites.contains(&facts.site))
                || !wanted(&filter.category, &facts.category)
                || !wanted(&filter.operator, operator)
                || !wanted(&filter.direction, &facts.direction)
                || !(filter.outcomes.is_empty() || filter.outcomes.contains(&facts.outcome))
                || !wanted(&filter.vehicle_class, &facts.vehicle_class)
            {
                continue;
            }
            // Without cargo in the query a passage is one contribution; with
            // it, one per distinct kind carried (or one of no kind).
            let mut contributions: Vec<(String, Option<u64>)> = Vec::new();
            if !uses_cargo {
                contributions.push((String::new(), facts.kilograms));
            } else if facts.cargo.is_empty() {
                contributions.push((String::new(), None));
            } else {
                for (kind, kilograms) in &facts.cargo {
                    match contributions.iter_mut().find(|(seen, _)| seen == kind) {
                        Some((_, total)) => {
                            if let Some(kilograms) = kilograms {
                                *total = Some(total.unwrap_or(0) + kilograms);
                            }
                        }
                        None => contributions.push((kind.clone(), *kilograms)),
                    }
                }
            }
            for (kind, kilograms) in contributions {
                if !wanted(&filter.cargo_kind, &kind) {
                    continue;
                }
                let value = |text: &str| {
                    if text.is_empty() {
                        DimensionValue::None
                    } else {
                        DimensionValue::Text(text.to_string())
                    }
                };
                let keys = query
                    .group_by
                    .iter()
                    .map(|dimension| match dimension {
                        Dimension::Site => value(&facts.site),
                        Dimension::Day => DimensionValue::Day(facts.day),
                        Dimension::Category => value(&facts.category),
                        Dimension::Operator => value(operator),
                        Dimension::Direction => value(&facts.direction),
                        Dimension::Outcome => value(&facts.outcome),
                        Dimension::VehicleClass => value(&facts.vehicle_class),
                        Dimension::SourceKind => value(&facts.source_kind),
                        Dimension::SourceName => value(&facts.source_name),
                        Dimension::RecordedBy => value(&facts.recorded_by),
                        Dimension::CargoKind => value(&kind),
                    })
                    .collect();
                let reported = |present: bool| i64::from(present);
                groups.entry(keys).or_default().add(&Metrics {
                    passages: 1,
                    vehicles: i64::from(facts.count),
                    passengers: i64::from(facts.passengers.unwrap_or(0)),
                    passengers_reported: reported(facts.passengers.is_some()),
                    medical_evacuees: i64::from(facts.medical_evacuees.unwrap_or(0)),
                    medical_evacuees_reported: reported(facts.medical_evacuees.is_some()),
                    kilograms: kilograms.map_or(0, |kilograms| kilograms as i64),
                    kilograms_reported: reported(kilograms.is_some()),
                });
            }
        }
        groups
            .into_iter()
            .map(|(keys, metrics)| RollupRow { keys, metrics })
            .collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn backends_agree_with_each_other_and_with_a_naive_recomputation(
        batches in proptest::collection::vec(proptest::collection::vec(arbitrary_operation(), 1..4), 1..12),
        queries in proptest::collection::vec(arbitrary_query(), 1..8),
    ) {
        let mut sqlite = SqliteStore::open_in_memory().expect("opens");
        let mut memory = MemoryStore::new();
        let mut model = NaiveModel::default();
        for operations in &batches {
            let mut next = model.clone();
            let (records, valid) = next.batch(operations);
            let from_sqlite = sqlite.append(&records);
            let from_memory = memory.append(&records);
            prop_assert_eq!(from_sqlite.is_ok(), valid, "sqlite: {:?}", from_sqlite);
            prop_assert_eq!(from_memory.is_ok(), valid, "memory: {:?}", from_memory);
            if let (Ok(sqlite_indexes), Ok(memory_indexes)) = (&from_sqlite, &from_memory) {
                prop_assert_eq!(sqlite_indexes, memory_indexes);
            }
            if valid {
                model = next;
            }
            prop_assert_eq!(sqlite.leaf_count().expect("count"), memory.leaf_count().expect("count"));
        }
        for query in &queries {
            let expected = model.rollup(query);
            prop_assert_eq!(&sqlite.rollup(query).expect("reads"), &expected, "sqlite, {:?}", query);
            prop_assert_eq!(&memory.rollup(query).expect("reads"), &expected, "memory, {:?}", query);
        }
        prop_assert_eq!(
            sqlite.current_of_type(RecordType::Passage).expect("reads"),
            memory.current_of_type(RecordType::Passage).expect("reads")
        );
    }
}

proptest! {
    // Each case makes a database on the cluster: fewer cases keep the suite fast.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn postgres_agrees_with_memory_and_with_a_naive_recomputation(
        batches in proptest::collection::vec(proptest::collection::vec(arbitrary_operation(), 1..4), 1..12),
        queries in proptest::collection::vec(arbitrary_query(), 1..8),
    ) {
        let Some(url) = postgres_database("the PostgreSQL differential property") else {
            return Ok(());
        };
        let mut postgres = PostgresStore::open(&url).expect("opens");
        let mut memory = MemoryStore::new();
        let mut model = NaiveModel::default();
        for operations in &batches {
            let mut next = model.clone();
            let (records, valid) = next.batch(operations);
            let from_postgres = postgres.append(&records);
            let from_memory = memory.append(&records);
            prop_assert_eq!(from_postgres.is_ok(), valid, "postgres: {:?}", from_postgres);
            prop_assert_eq!(from_memory.is_ok(), valid, "memory: {:?}", from_memory);
            match (&from_postgres, &from_memory) {
                (Ok(postgres_indexes), Ok(memory_indexes)) => {
                    prop_assert_eq!(postgres_indexes, memory_indexes);
                }
                (Err(postgres_error), Err(memory_error)) => {
                    prop_assert_eq!(postgres_error.to_string(), memory_error.to_string());
                }
                _ => {}
            }
            if valid {
                model = next;
            }
            prop_assert_eq!(postgres.leaf_count().expect("count"), memory.leaf_count().expect("count"));
        }
        for query in &queries {
            let expected = model.rollup(query);
            prop_assert_eq!(&postgres.rollup(query).expect("reads"), &expected, "postgres, {:?}", query);
            prop_assert_eq!(
                postgres.passage_sums(query, &[]).expect("reads"),
                memory.passage_sums(query, &[]).expect("reads"),
                "passage sums, {:?}", query
            );
            prop_assert_eq!(
                postgres.passages(query, 0, 1_000).expect("reads"),
                memory.passages(query, 0, 1_000).expect("reads"),
                "passages, {:?}", query
            );
        }
        prop_assert_eq!(
            postgres.current_of_type(RecordType::Passage).expect("reads"),
            memory.current_of_type(RecordType::Passage).expect("reads")
        );
        prop_assert_eq!(postgres.rollup_differences().expect("recounts"), vec![]);
    }
}
