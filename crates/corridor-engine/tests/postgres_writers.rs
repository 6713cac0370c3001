//! Two writers on one PostgreSQL database, as two servers would be: two
//! data directories (two writer locks, two logs) whose `[store] url` names
//! the same database, each with its own `Sequencer`. The same id sent to
//! both at once is stored once: with the same content the other writer
//! answers `already_stored` at the winner's leaf; with different content it
//! refuses the record naming the id and the leaf that holds it. Whichever
//! way the race falls (the second writer staged before the first stored,
//! so its commit is refused by the database), no submission fails.
//!
//! Runs on a throwaway cluster; skipped loudly without PostgreSQL (a
//! failure under `CORRIDOR_REQUIRE_POSTGRES=1`).

use std::sync::{Arc, Barrier};

use corridor_engine::{
    Answered, Config, DataDir, ItemOutcome, Sequencer, Submission, SubmitItem, Writer,
};
use corridor_store::postgres::cluster::Cluster;
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn site() -> Map<String, Value> {
    object(
        json!({"type": "site", "id": "north", "name": "North", "kind": "checkpoint", "timezone": "Asia/Baku",
               "source": {"kind": "document", "name": "test"}, "recorded_by": "test"}),
    )
}

fn passage(id: &str, category: &str) -> Map<String, Value> {
    object(
        json!({"type": "passage", "id": id, "site": "north", "observed_at": "2023-01-17T10:00",
               "category": category, "source": {"kind": "direct_observation", "name": "test"},
               "recorded_by": "test"}),
    )
}

fn submission(records: Vec<Map<String, Value>>) -> Submission<()> {
    Submission {
        items: records
            .into_iter()
            .map(|object| SubmitItem {
                object,
                signature: None,
            })
            .collect(),
        atomic: false,
        validate_only: false,
        submitter: None,
        reply: (),
    }
}

/// The origin of the log every data directory of these tests shares.
const ORIGIN: &str = "test.invalid/shared";

/// Settings for a data directory on the database `url`.
fn shared_config(url: &str) -> Config {
    let mut config = Config::new(ORIGIN);
    config.store.url = Some(url.to_string());
    config
}

/// A data directory that joins the log `first` made: its signing key.
fn join(
    first: &std::path::Path,
    root: &std::path::Path,
    config: Config,
) -> Result<DataDir, corridor_engine::EngineError> {
    let key = corridor_log::load_signer(&first.join("keys/log.key")).expect("the first key");
    DataDir::init_with_key(root, config, Some(key))
}

/// Two data directories on the database `url` (one log, one key), and a
/// writer for each.
fn two_writers(url: &str, root: &std::path::Path) -> (Writer, Writer) {
    let one = DataDir::init(&root.join("one"), shared_config(url)).expect("init");
    let two = join(&root.join("one"), &root.join("two"), shared_config(url)).expect("join");
    (
        one.writer("test").expect("writer"),
        two.writer("test").expect("writer"),
    )
}

/// The outcomes of one answered submission.
fn outcomes(mut answered: Vec<Answered<()>>) -> Vec<ItemOutcome> {
    assert_eq!(answered.len(), 1, "one submission, one answer");
    match answered.remove(0).answer {
        Ok(outcomes) => outcomes,
        Err(failure) => panic!("the submission failed: {failure}"),
    }
}

fn submit(sequencer: &mut Sequencer<()>, records: Vec<Map<String, Value>>) -> Vec<ItemOutcome> {
    sequencer.stage(submission(records));
    let mut answered = sequencer.send();
    answered.extend(sequencer.finish());
    outcomes(answered)
}

/// Checks that of two answers for `id`, one stored it and the other found
/// it stored at the same leaf (same content) or refused it naming that
/// leaf (different content); returns the leaf.
fn one_stored(id: &str, same: bool, first: &ItemOutcome, second: &ItemOutcome) -> u64 {
    let (stored, other) = match (first, second) {
        (ItemOutcome::Stored { leaf_index, .. }, other)
        | (other, ItemOutcome::Stored { leaf_index, .. }) => (*leaf_index, other),
        _ => panic!("{id}: neither writer stored it: {first:?} / {second:?}"),
    };
    match other {
        ItemOutcome::AlreadyStored { leaf_index, .. } if same => {
            assert_eq!(*leaf_index, stored, "{id}: already stored at another leaf");
        }
        ItemOutcome::Rejected(error) if !same => {
            let text = error.to_string();
            assert!(
                text.contains(&format!("{id:?} is already stored (leaf {stored}"))
                    && text.contains("different content"),
                "{id}: {text}"
            );
        }
        other => panic!("{id} (same content: {same}): the other writer answered {other:?}"),
    }
    stored
}

#[test]
fn a_writer_that_staged_before_the_other_stored_finds_the_record_stored() {
    let Some(cluster) = Cluster::shared_or_skip("two writers on one PostgreSQL database") else {
        return;
    };
    let url = cluster.create_database().expect("creates a database");
    let root = tempfile::tempdir().expect("temp dir");
    let (one, two) = two_writers(&url, root.path());
    let mut one = Sequencer::new(one);
    let mut two = Sequencer::new(two);
    let stored = submit(&mut one, vec![site()]);
    assert!(
        matches!(stored[0], ItemOutcome::Stored { leaf_index: 0, .. }),
        "{stored:?}"
    );

    for (id, same) in [("p-same", true), ("p-differs", false)] {
        // Both stage before either stores: the second's commit meets the
        // first's row in the database.
        one.stage(submission(vec![passage(id, "civilian")]));
        let other = if same { "civilian" } else { "red_cross" };
        two.stage(submission(vec![
            passage(id, other),
            passage(&format!("{id}-also"), other),
        ]));
        let mut first = one.send();
        first.extend(one.finish());
        let first = outcomes(first);
        let mut second = two.send();
        second.extend(two.finish());
        let second = outcomes(second);
        one_stored(id, same, &first[0], &second[0]);
        assert!(
            matches!(second[1], ItemOutcome::Stored { .. }),
            "the rest of the refused group is stored once staged again: {second:?}"
        );
    }
    let store = one.writer().store();
    assert_eq!(store.leaf_count().expect("count"), 5);
    assert!(store.rollup_differences().expect("recount").is_empty());
}

#[test]
fn the_same_ids_sent_to_two_writers_at_once_are_stored_once() {
    let Some(cluster) = Cluster::shared_or_skip("two writers on one PostgreSQL database") else {
        return;
    };
    let seed = std::env::var("CORRIDOR_TEST_SEED")
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |elapsed| elapsed.as_nanos() as u64)
        });
    eprintln!("seed {seed} (set CORRIDOR_TEST_SEED to repeat)");
    let url = cluster.create_database().expect("creates a database");
    let root = tempfile::tempdir().expect("temp dir");
    let (one, two) = two_writers(&url, root.path());
    let mut one = Sequencer::new(one);
    let two = Sequencer::new(two);
    submit(&mut one, vec![site()]);

    const ROUNDS: u64 = 20;
    // Which rounds send the same content to both, from the seed.
    let same: Vec<bool> = (0..ROUNDS)
        .map(|round| (seed.rotate_left(round as u32) ^ round) & 1 == 0)
        .collect();
    let barrier = Arc::new(Barrier::new(2));
    let run = |mut sequencer: Sequencer<()>, category: &'static str| {
        let barrier = Arc::clone(&barrier);
        let same = same.clone();
        std::thread::spawn(move || {
            let mut answers = Vec::new();
            for (round, same) in same.iter().enumerate() {
                let category = if *same { "civilian" } else { category };
                barrier.wait();
                // Decided after both threads are done: a panic here would
                // leave the other waiting at the barrier.
                sequencer.stage(submission(vec![passage(&format!("p-{round}"), category)]));
                let mut answered = sequencer.send();
                answered.extend(sequencer.finish());
                answers.push(answered);
            }
            answers
        })
    };
    let first = run(one, "civilian");
    let second = run(two, "red_cross");
    let mut first = first.join().expect("first writer");
    let mut second = second.join().expect("second writer");
    let mut leaves: Vec<u64> = (0..ROUNDS as usize)
        .map(|round| {
            let first = outcomes(std::mem::take(&mut first[round]));
            let second = outcomes(std::mem::take(&mut second[round]));
            one_stored(&format!("p-{round}"), same[round], &first[0], &second[0])
        })
        .collect();
    leaves.sort_unstable();
    assert_eq!(
        leaves,
        (1..=ROUNDS).collect::<Vec<_>>(),
        "seed {seed}: leaves not dense"
    );
}

#[test]
fn a_directory_whose_settings_differ_from_the_shared_store_is_refused_by_name() {
    let Some(cluster) = Cluster::shared_or_skip("settings shared through one PostgreSQL database")
    else {
        return;
    };
    let url = cluster.create_database().expect("creates a database");
    let root = tempfile::tempdir().expect("temp dir");
    let first = DataDir::init(&root.path().join("first"), shared_config(&url)).expect("init");
    drop(
        first
            .writer("test")
            .expect("the first writer records the settings"),
    );
    let first_path = root.path().join("first");

    let mut coarser = shared_config(&url);
    coarser.public_time_precision =
        corridor_model::TimePrecision::parse("hour").expect("a precision");
    let error = join(&first_path, &root.path().join("coarser"), coarser).expect_err("refused");
    let text = error.to_string();
    assert!(
        text.contains("public_time_precision is hour")
            && text.contains("but second for the store")
            && !root.path().join("coarser").exists(),
        "{text}"
    );

    let mut stricter = shared_config(&url);
    stricter.access.open = 0.9;
    let error = join(&first_path, &root.path().join("stricter"), stricter).expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("access is open = 0.9, restricted = 0.25"),
        "{error}"
    );

    // A directory with a signing key of its own would publish another
    // log under the same origin.
    let error =
        DataDir::init(&root.path().join("own-key"), shared_config(&url)).expect_err("refused");
    let text = error.to_string();
    assert!(
        text.starts_with("log_key is test.invalid/shared+")
            && text.contains("own-key/keys/log.vkey")
            && !root.path().join("own-key").exists(),
        "{text}"
    );

    // A key whose name is not the origin is refused before anything is made.
    let error = join(
        &first_path,
        &root.path().join("renamed"),
        Config {
            origin: "test.invalid/other".to_string(),
            ..shared_config(&url)
        },
    )
    .expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("the key is named test.invalid/shared"),
        "{error}"
    );

    // The same settings and key are welcome; a witness added to one
    // directory is recorded, and the other then disagrees until it has it.
    let same = join(&first_path, &root.path().join("same"), shared_config(&url)).expect("init");
    assert!(same.writer("test").is_ok());
    let mut witnesses = corridor_log::WitnessList::default();
    let witness = corridor_tlog::SignerKey::from_seed(
        corridor_tlog::KeyName::new("witness.invalid").expect("a key name"),
        corridor_tlog::SignatureType::CosignatureV1,
        &[7; 32],
    );
    witnesses
        .add(
            &witness.verifier_key().to_string(),
            "https://witness.invalid/",
        )
        .expect("a witness");
    witnesses.save(&same.witness_list_path()).expect("saved");
    same.record_witnesses().expect("recorded");
    let error = first.writer("test").expect_err("refused");
    assert!(
        error.to_string().starts_with("witnesses is none in "),
        "{error}"
    );
    assert!(same.writer("test").is_ok());
}
