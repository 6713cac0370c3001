//! The write pipeline across batch boundaries and storage failures: records may
//! refer to records of a batch still being committed, and a failed commit
//! leaves nothing of it, or of anything staged after it, stored.

use corridor_engine::{BATCH_SIZE, Config, DataDir, SubmitSummary, Writer};
use corridor_model::{Location, RecordError};
use corridor_stats::StatsQuery;
use corridor_store::{Fault, MemoryStore, Store};
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn site(id: &str) -> Map<String, Value> {
    object(
        json!({"type": "site", "id": id, "name": id, "kind": "checkpoint", "timezone": "Asia/Baku",
                  "source": {"kind": "document", "name": "test"}, "recorded_by": "test"}),
    )
}

fn passage(id: &str, site: &str, category: &str) -> Map<String, Value> {
    object(
        json!({"type": "passage", "id": id, "site": site, "observed_at": "2023-01-17T10:00", "category": category,
                  "source": {"kind": "direct_observation", "name": "test"}, "recorded_by": "test"}),
    )
}

fn items(
    records: Vec<Map<String, Value>>,
) -> impl Iterator<Item = Result<(Location, Map<String, Value>), RecordError>> {
    records
        .into_iter()
        .enumerate()
        .map(|(index, record)| Ok((Location::Line(index as u64 + 1), record)))
}

fn config() -> Config {
    Config::new("test.invalid/writer")
}

fn vehicles(store: &dyn Store, category: Option<&str>) -> Value {
    let day = corridor_model::time::parse_date("2023-01-17").expect("date");
    let mut query = StatsQuery::period(day, day);
    query.category = category.map(str::to_string);
    let report = corridor_stats::compute(store, &query).expect("stats");
    serde_json::to_value(&report.totals).expect("json")["vehicles"].clone()
}

#[test]
fn records_may_refer_to_records_of_a_batch_still_being_committed() {
    let directory = tempfile::tempdir().expect("temp dir");
    let data_dir = DataDir::init(&directory.path().join("data"), config()).expect("init");
    let mut writer = data_dir.writer("test").expect("writer");
    let total = BATCH_SIZE * 2 + 500;
    let mut records = vec![site("north")];
    records.extend((1..total).map(|index| passage(&format!("p-{index}"), "north", "civilian")));
    // The second and third batches refer to the site of the first, and correct
    // and retract passages of the first while it may still be in flight.
    records.push(object(json!({"type": "site", "id": "south", "name": "south", "kind": "checkpoint", "timezone": "Asia/Baku",
                               "source": {"kind": "document", "name": "test"}, "recorded_by": "test"})));
    records.push(object(json!({"type": "correction", "id": "c-1", "corrects": "p-1", "reason": "was an ICRC truck",
                               "record": {"type": "passage", "site": "south", "observed_at": "2023-01-17T10:00", "category": "red_cross"},
                               "source": {"kind": "direct_observation", "name": "test"}, "recorded_by": "test"})));
    records.push(object(json!({"type": "retraction", "id": "r-2", "retracts": "p-2", "reason": "counted twice",
                               "source": {"kind": "direct_observation", "name": "test"}, "recorded_by": "test"})));
    let (summary, rejected) = submit(&mut writer, records);
    assert_eq!(rejected, Vec::<String>::new());
    assert_eq!(summary.stored, total as u64 + 3);
    drop(writer);

    let store = data_dir.open_store().expect("store");
    assert_eq!(store.leaf_count().expect("count"), total as u64 + 3);
    // total - 1 passages, one retracted, one moved to red_cross.
    assert_eq!(vehicles(&store, None), json!(total - 2));
    assert_eq!(vehicles(&store, Some("red_cross")), json!(1));
}

#[test]
fn a_failed_commit_stores_nothing_of_its_batch_and_reports_what_came_before() {
    let mut store = MemoryStore::new();
    store.inject(Fault::Pass);
    store.inject(Fault::FailCommit);
    let mut writer = writer_on(store);
    let mut records = vec![site("north")];
    records.extend(
        (1..BATCH_SIZE * 2).map(|index| passage(&format!("p-{index}"), "north", "civilian")),
    );
    let failure = writer
        .submit_all(items(records.clone()), |_| {}, |_| {})
        .expect_err("second batch fails");
    assert_eq!(failure.committed.stored, BATCH_SIZE as u64);
    assert!(
        failure.to_string().contains(&format!(
            "{BATCH_SIZE} records were stored before the failure"
        )),
        "{failure}"
    );
    assert_eq!(
        writer.store().leaf_count().expect("count"),
        BATCH_SIZE as u64
    );

    // Resubmitting everything is safe: the first batch is recognised, the rest stored.
    let summary = writer
        .submit_all(items(records), |_| {}, |_| {})
        .expect("second attempt");
    assert_eq!(
        (summary.stored, summary.already_stored),
        (BATCH_SIZE as u64, BATCH_SIZE as u64)
    );
    assert_eq!(
        writer.store().leaf_count().expect("count"),
        2 * BATCH_SIZE as u64
    );
}

/// Submits `records` through `writer`; what was stored and each rejection.
fn submit(writer: &mut Writer, records: Vec<Map<String, Value>>) -> (SubmitSummary, Vec<String>) {
    let mut rejected = Vec::new();
    let summary = writer
        .submit_all(
            items(records),
            |error| rejected.push(error.to_string()),
            |_| {},
        )
        .expect("stored");
    (summary, rejected)
}

/// A writer that validates and commits through `store`, on this thread.
fn writer_on(store: MemoryStore) -> Writer {
    Writer::new(Box::new(store), config(), b"secret".to_vec(), None)
}

/// A writer validating against an empty memory store while its commit
/// thread appends to `write_store`.
fn pipelined(write_store: MemoryStore) -> Writer {
    Writer::pipelined(
        Box::new(MemoryStore::new()),
        Box::new(write_store),
        config(),
        b"secret".to_vec(),
        None,
    )
}

#[test]
fn a_failed_pipelined_commit_drops_the_batches_staged_after_it() {
    let mut write_store = MemoryStore::new();
    write_store.inject(Fault::FailWrite);
    let mut writer = pipelined(write_store);
    let mut records = vec![site("north")];
    // Batch 2 refers to batch 1's site; when batch 1 fails, batch 2 must not be stored.
    records.extend(
        (1..BATCH_SIZE + 10).map(|index| passage(&format!("p-{index}"), "north", "civilian")),
    );
    let failure = writer
        .submit_all(items(records), |_| {}, |_| {})
        .expect_err("first batch fails");
    assert_eq!(failure.committed.stored, 0);
    assert_eq!(
        writer.staged(),
        0,
        "nothing staged after the failure survives"
    );
}

#[test]
fn a_repeated_record_in_one_batch_is_stored_once_and_a_changed_one_is_refused() {
    let mut writer = writer_on(MemoryStore::new());
    let mut changed = passage("p-1", "north", "military");
    changed.insert("count".into(), json!(2));
    let records = vec![
        site("north"),
        passage("p-1", "north", "civilian"),
        passage("p-1", "north", "civilian"),
        changed,
    ];
    let (summary, rejected) = submit(&mut writer, records);
    assert_eq!(
        (summary.stored, summary.already_stored, summary.rejected),
        (2, 1, 1)
    );
    assert_eq!(rejected, vec!["line 4 (passage p-1): id: \"p-1\" appears earlier in this batch with different content".to_string()]);
}

#[test]
fn a_record_repeated_after_its_batch_committed_is_already_stored_within_one_read_ahead() {
    // The writer asks the store about a chunk of ids at once before
    // staging them. One rejected record shifts the first commit onto the
    // first record of a chunk, "p-edge": that commit stores it after the
    // store said it was not stored, and its repeat right after must be
    // found stored, not staged a second time.
    let mut writer = writer_on(MemoryStore::new());
    let mut records = vec![site("north"), passage("bad", "nowhere", "civilian")];
    records.extend(
        (1..BATCH_SIZE - 1).map(|index| passage(&format!("p-{index}"), "north", "civilian")),
    );
    records.push(passage("p-edge", "north", "civilian"));
    assert_eq!(
        records.len(),
        BATCH_SIZE + 1,
        "p-edge completes the first batch"
    );
    records.push(passage("p-edge", "north", "civilian"));
    records.push(passage("p-after", "north", "civilian"));
    let (summary, rejected) = submit(&mut writer, records);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(
        (summary.stored, summary.already_stored, summary.rejected),
        (BATCH_SIZE as u64 + 1, 1, 1)
    );
    let store = writer.store();
    assert_eq!(store.leaf_count().expect("count"), BATCH_SIZE as u64 + 1);
    assert_eq!(
        store
            .record("p-edge")
            .expect("reads")
            .map(|record| record.leaf_index),
        Some(BATCH_SIZE as u64 - 1)
    );
}

/// A pipelined writer whose commit thread reports each returned commit on a channel.
fn notifying_writer(write_store: MemoryStore) -> (Writer, std::sync::mpsc::Receiver<()>) {
    let mut writer = pipelined(write_store);
    let (sender, commits) = std::sync::mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    writer.notify_on_commit(Box::new(move || {
        if let Ok(sender) = sender.lock() {
            let _ = sender.send(());
        }
    }));
    (writer, commits)
}

#[test]
fn a_returned_commit_is_announced_and_collected_without_waiting() {
    let (mut writer, commits) = notifying_writer(MemoryStore::new());
    assert!(writer.is_pipelined());
    assert!(writer.try_confirm().is_none(), "nothing is in flight yet");
    writer
        .stage(Location::Item(0), &site("north"))
        .expect("stages");
    writer
        .stage(Location::Item(1), &passage("p-1", "north", "civilian"))
        .expect("stages");
    assert_eq!(writer.send_staged().expect("sent"), Vec::<u64>::new());
    commits
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the commit thread announces the commit");
    assert_eq!(
        writer
            .try_confirm()
            .map(|result| result.expect("committed")),
        Some(vec![0, 1])
    );
    assert!(
        writer.try_confirm().is_none(),
        "each commit is collected once"
    );
}

#[test]
fn a_failed_commit_is_announced_too_and_collected_as_the_failure() {
    let mut write_store = MemoryStore::new();
    write_store.inject(Fault::FailWrite);
    let (mut writer, commits) = notifying_writer(write_store);
    writer
        .stage(Location::Item(0), &site("north"))
        .expect("stages");
    writer.send_staged().expect("sent");
    commits
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the commit thread announces the failed commit");
    let failure = writer.try_confirm().expect("the result is there");
    assert!(
        failure
            .expect_err("the write failed")
            .to_string()
            .contains("injected fault"),
    );
    assert_eq!(writer.staged(), 0);
}

#[test]
fn a_batch_staged_after_a_failed_commit_never_reaches_the_store() {
    // Both connections see one store, so what the commit thread stored is visible.
    let mut store = MemoryStore::new();
    store.inject(Fault::FailWrite);
    let mut writer = Writer::pipelined(
        Box::new(store.connect()),
        Box::new(store.connect()),
        config(),
        b"secret".to_vec(),
        None,
    );
    let mut records = vec![site("north")];
    records.extend(
        (1..BATCH_SIZE + 10).map(|index| passage(&format!("p-{index}"), "north", "civilian")),
    );
    let failure = writer
        .submit_all(items(records), |_| {}, |_| {})
        .expect_err("the first batch fails");
    assert_eq!(failure.committed.stored, 0);
    // Dropping the writer waits for its commit thread: whatever it was sent is done.
    drop(writer);
    assert_eq!(
        store.leaf_count().expect("count"),
        0,
        "the second batch depended on the failed first one and must not be stored"
    );
}

/// Regression (PostgreSQL restarted under load): a storage failure while a
/// record is checked against the store was answered as a rejection of the
/// record, a 422 telling the client its record was wrong. It is a storage
/// failure: nothing of the submission is stored, and the same submission
/// sent again is stored once.
#[test]
fn a_read_failure_while_staging_answers_a_storage_failure_and_the_retry_stores_once() {
    use corridor_engine::{Sequencer, Submission, SubmitItem};
    let mut store = MemoryStore::new();
    let mut writer = Writer::new(Box::new(store.connect()), config(), vec![7; 32], None);
    writer
        .submit_all(items(vec![site("north")]), |_| {}, |_| {})
        .expect("the site is stored");
    let mut sequencer: Sequencer<u32> = Sequencer::new(writer);
    let submission = |reply: u32| Submission {
        items: ["p-1", "p-2"]
            .iter()
            .map(|id| SubmitItem {
                object: passage(id, "north", "civilian"),
                signature: None,
            })
            .collect(),
        atomic: false,
        validate_only: false,
        submitter: None,
        reply,
    };
    let before = store.leaf_count().expect("count");

    store.fail_reads(1);
    let mut answered = sequencer.submit(vec![submission(1)]);
    answered.extend(sequencer.finish());
    assert_eq!(answered.len(), 1);
    let failure = answered[0]
        .answer
        .as_ref()
        .expect_err("a storage failure, not an answer per record");
    assert!(failure.0.to_string().contains("read failed"), "{failure:?}");
    assert!(!failure.outcome_unknown());
    assert_eq!(store.leaf_count().expect("count"), before, "nothing stored");

    let mut answered = sequencer.submit(vec![submission(2)]);
    answered.extend(sequencer.finish());
    let outcomes = answered[0].answer.as_ref().expect("stored");
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes
            .iter()
            .all(|outcome| matches!(outcome, corridor_engine::ItemOutcome::Stored { .. })),
        "{outcomes:?}"
    );
    assert_eq!(store.leaf_count().expect("count"), before + 2);
}
