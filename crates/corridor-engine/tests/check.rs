//! `corridor check` on the in-memory backends: records written through the
//! real pipeline into a `MemoryStore`, published into a `MemoryLog`, then
//! compared; an altered entry bundle is named by leaf, record and file.

use corridor_engine::{Config, Problem, Writer, check_recent_against_log, check_store_against_log};
use corridor_log::{LogSource, MemoryLog, integrate};
use corridor_model::{Location, RecordError};
use corridor_store::MemoryStore;
use corridor_tlog::{KeyName, SignatureType, SignerKey};
use serde_json::{Map, Value, json};

fn signer() -> SignerKey {
    let name = KeyName::new("test.invalid/check").expect("valid name");
    SignerKey::from_seed(name, SignatureType::Ed25519, &[4u8; 32])
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A site and `passages` passages, stored through the real pipeline.
fn stored(passages: usize) -> Writer {
    let mut writer = Writer::new(
        Box::new(MemoryStore::new()),
        Config::new("test.invalid/check"),
        b"secret".to_vec(),
        None,
    );
    let source = json!({"kind": "direct_observation", "name": "Team A"});
    let mut records = vec![
        json!({"type": "site", "id": "km-12", "name": "Checkpoint km 12",
        "kind": "checkpoint", "timezone": "Asia/Baku", "source": source, "recorded_by": "team-a"}),
    ];
    for index in 0..passages {
        records.push(
            json!({"type": "passage", "id": format!("p-{index}"), "site": "km-12",
            "observed_at": "2023-01-17T09:40", "category": "red_cross", "source": source,
            "recorded_by": "team-a"}),
        );
    }
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
    writer
}

#[test]
fn a_published_store_checks_clean_and_an_unpublished_one_is_counted() {
    let writer = stored(12);
    let log = MemoryLog::new();
    let key = signer().verifier_key();

    let before = check_store_against_log(writer.store(), &log, None).expect("checked");
    assert!(before.is_clean(), "{:?}", before.problems);
    assert_eq!((before.tree_size, before.unpublished()), (0, 13));

    integrate(writer.store(), &log, &signer()).expect("published");
    let full = check_store_against_log(writer.store(), &log, Some(&key)).expect("checked");
    assert!(full.is_clean(), "{:?}", full.problems);
    assert_eq!(
        (full.tree_size, full.stored_leaves, full.leaves_compared),
        (13, 13, 13)
    );
    let recent = check_recent_against_log(writer.store(), &log, Some(&key), 5).expect("checked");
    assert!(recent.is_clean(), "{:?}", recent.problems);
    assert_eq!(recent.leaves_compared, 5);
}

#[test]
fn an_altered_entry_is_named_by_its_record_and_bundle() {
    let writer = stored(12);
    let log = MemoryLog::new();
    let key = signer().verifier_key();
    integrate(writer.store(), &log, &signer()).expect("published");
    let path = "tile/entries/000.p/13";
    let mut bundle = log.read(path).expect("readable").expect("the bundle");
    // Leaf 12 is the last entry; its last byte is its JSON's closing brace.
    let last = bundle.len() - 1;
    bundle[last] = b']';
    log.overwrite(path, bundle);

    for report in [
        check_store_against_log(writer.store(), &log, Some(&key)).expect("checked"),
        check_recent_against_log(writer.store(), &log, Some(&key), 1).expect("checked"),
    ] {
        let differs: Vec<&Problem> = report
            .problems
            .iter()
            .filter(|problem| matches!(problem, Problem::LeafDiffers { .. }))
            .collect();
        assert!(
            matches!(
                differs.as_slice(),
                [Problem::LeafDiffers { leaf_index: 12, record_id, bundle_path, entry: 12, .. }]
                    if record_id == "p-11" && bundle_path == path
            ),
            "{:?}",
            report.problems
        );
    }
    let full = check_store_against_log(writer.store(), &log, Some(&key)).expect("checked");
    assert!(
        matches!(full.problems.first(), Some(Problem::Log { reason }) if reason.contains("entries altered")),
        "{:?}",
        full.problems
    );
}

#[test]
fn a_data_directory_publishes_where_its_log_url_says() {
    let holder = tempfile::tempdir().expect("temporary directory");
    let root = holder.path().join("data");
    let mut config = Config::new("test.invalid/check");
    config.log.url = Some("published".into());
    corridor_engine::DataDir::init(&root, config).expect("initialised");
    let data_dir = corridor_engine::DataDir::open(&root).expect("opened");
    let mut writer = data_dir.writer("test").expect("the writer lock");
    let site = json!({"type": "site", "id": "km-12", "name": "Checkpoint km 12",
        "kind": "checkpoint", "timezone": "Asia/Baku",
        "source": {"kind": "direct_observation", "name": "Team A"}, "recorded_by": "team-a"});
    writer
        .submit_all(
            std::iter::once(Ok::<_, RecordError>((Location::Line(1), object(site)))),
            |error| panic!("rejected: {error}"),
            |_| {},
        )
        .expect("stored");
    let integration = data_dir.integrate_log(&writer).expect("published");
    assert_eq!(integration.tree_size, 1);
    assert!(root.join("published/checkpoint").is_file());
    assert!(!root.join("log").exists());
    drop(writer);
    let report = data_dir.check().expect("checked");
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.tree_size, 1);

    std::fs::write(
        root.join("corridor.toml"),
        "origin = \"test.invalid/check\"\n[log]\nurl = \"gs://bucket/prefix\"\n",
    )
    .expect("rewritten");
    let error = corridor_engine::DataDir::open(&root).expect_err("no such backend");
    assert!(
        error.to_string().contains("no log backend for gs://"),
        "{error}"
    );
}
