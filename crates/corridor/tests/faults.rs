//! Storage faults: writes, commits and flushes that fail, injected through
//! `MemoryStore`, and a real full disk (a file-size limit on the real
//! `corridor add`). A failed write is refused with a clear error, nothing of
//! it is acknowledged or published, and once the fault clears the same input
//! stores every record exactly once and the log verifies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use corridor_engine::{Config, Writer};
use corridor_log::{VerifyPolicy, open_log, verify_log};
use corridor_model::{Location, RecordError};
use corridor_store::{Fault, MemoryStore, Store};
use serde_json::{Map, Value};

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::Corridor;

const SITE: &str = r#"{"type":"site","id":"km-12","name":"Checkpoint km 12","kind":"checkpoint","timezone":"Asia/Baku","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}"#;

fn passage(number: usize) -> String {
    format!(
        r#"{{"type":"passage","id":"p-{number}","site":"km-12","observed_at":"2023-01-{day:02}T{hour:02}:00","category":"red_cross","source":{{"kind":"direct_observation","name":"Team A"}},"recorded_by":"team-a","notes":"a note long enough to make the leaf about three hundred bytes, like a real one"}}"#,
        day = 1 + number % 28,
        hour = number % 24
    )
}

fn objects(count: usize) -> Vec<Map<String, Value>> {
    std::iter::once(SITE.to_string())
        .chain((0..count).map(passage))
        .map(|line| match serde_json::from_str(&line) {
            Ok(Value::Object(object)) => object,
            other => panic!("not an object: {other:?}"),
        })
        .collect()
}

fn items(
    records: &[Map<String, Value>],
) -> impl Iterator<Item = Result<(Location, Map<String, Value>), RecordError>> + '_ {
    records
        .iter()
        .enumerate()
        .map(|(index, record)| Ok((Location::Line(index as u64 + 1), record.clone())))
}

/// A writer on a memory store with `fault` injected.
fn writer_with(fault: Fault) -> Writer {
    let mut store = MemoryStore::new();
    store.inject(fault);
    Writer::new(
        Box::new(store),
        Config::new("test.example/faults"),
        b"secret".to_vec(),
        None,
    )
}

/// Publishes what `store` holds into a fresh log directory and verifies it
/// from the files; returns the verified tree size.
fn publish_and_verify(store: &dyn Store) -> u64 {
    let directory = tempfile::tempdir().expect("temporary directory");
    let log = open_log(directory.path().join("log")).expect("a log directory");
    let signer = corridor_log::keys::generate_signer(
        "test.example/faults",
        corridor_tlog::SignatureType::Ed25519,
    )
    .expect("a key");
    corridor_log::integrate(store, log.as_ref(), &signer).expect("integrates");
    let key = signer.verifier_key();
    let policy = VerifyPolicy {
        log_key: &key,
        witnesses: &[],
        min_witnesses: 0,
        previous: None,
    };
    verify_log(log.as_ref(), &policy)
        .expect("verifies")
        .checkpoint
        .tree_size
}

#[test]
fn failed_writes_and_commits_store_nothing_and_the_retry_stores_everything_once() {
    let records = objects(40);
    for (fault, message) in [
        (Fault::FailWrite, "injected fault: write failed"),
        (Fault::FailCommit, "injected fault: commit failed"),
    ] {
        let mut writer = writer_with(fault);
        let failure = writer
            .submit_all(items(&records), |_| {}, |_| {})
            .expect_err("the fault fires");
        assert_eq!(
            failure.to_string(),
            format!("{message} (0 records were stored before the failure; resubmitting is safe)"),
            "{fault:?}"
        );
        assert_eq!(writer.store().leaf_count().expect("count"), 0, "{fault:?}");
        assert_eq!(
            writer.store().rollup_differences().expect("recount"),
            vec![]
        );
        let summary = writer
            .submit_all(items(&records), |_| {}, |_| {})
            .expect("the fault has cleared");
        assert_eq!(
            (summary.stored, summary.already_stored, summary.rejected),
            (41, 0, 0),
            "{fault:?}"
        );
        assert_eq!(publish_and_verify(writer.store()), 41, "{fault:?}");
    }
}

/// After a failed flush the batch may be on disk although the write failed:
/// the writer must not count it, and resubmitting must find every record
/// already stored, never store one twice.
#[test]
fn a_failed_fsync_is_not_acknowledged_and_the_retry_stores_nothing_twice() {
    let records = objects(40);
    let mut writer = writer_with(Fault::FailSync);
    let failure = writer
        .submit_all(items(&records), |_| {}, |_| {})
        .expect_err("the flush fails");
    assert_eq!(
        failure.to_string(),
        "injected fault: flushing the commit to disk failed (0 records were stored before the failure; resubmitting is safe)"
    );
    assert_eq!(failure.committed.stored, 0);
    // The batch did reach the store: the case the caller cannot tell apart.
    assert_eq!(writer.store().leaf_count().expect("count"), 41);
    let summary = writer
        .submit_all(items(&records), |_| {}, |_| {})
        .expect("the fault has cleared");
    assert_eq!(
        (summary.stored, summary.already_stored, summary.rejected),
        (0, 41, 0)
    );
    assert_eq!(writer.store().leaf_count().expect("count"), 41);
    assert_eq!(
        writer.store().rollup_differences().expect("recount"),
        vec![]
    );
    assert_eq!(publish_and_verify(writer.store()), 41);
}

// ---------------------------------------------------------------------------
// A real full disk: `corridor add` under a file-size limit.

/// Runs `corridor --data DATA ARGUMENTS` with its file-size limit set to
/// `blocks` (512-byte blocks in dash, 1024 in bash: either is far below what
/// the add needs and above what the store already holds). SIGXFSZ is
/// ignored, so a write past the limit fails with EFBIG, as on a full disk,
/// instead of killing the process.
fn run_with_file_size_limit(home: &Path, data: &Path, blocks: u32, arguments: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {blocks} || exit 99; exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_corridor"))
        .arg("--data")
        .arg(data)
        .args(arguments)
        .env_remove("CORRIDOR_DATA")
        .env_remove("CORRIDOR_LOG")
        .env("HOME", home)
        .output()
        .expect("sh runs")
}

fn tree_size(data: &Path) -> String {
    std::fs::read_to_string(data.join("log").join("checkpoint"))
        .expect("a checkpoint")
        .lines()
        .nth(1)
        .expect("a size line")
        .to_string()
}

#[test]
fn a_full_disk_refuses_the_add_whole_and_the_rerun_stores_everything_once() {
    let holder = tempfile::tempdir().expect("temporary directory");
    let home = holder.path();
    let data: PathBuf = home.join("data");
    let corridor = Corridor::with_data(home, &data);
    corridor.succeed(&["init", "--origin", "test.example/full-disk"]);
    let small = home.join("site.jsonl");
    std::fs::write(&small, format!("{SITE}\n")).expect("write");
    corridor.succeed(&["add", &small.display().to_string()]);

    // 3,000 passages of about 330 bytes: one batch, about a megabyte of leaves.
    let big = home.join("passages.jsonl");
    let text: String = (0..3_000).map(|number| passage(number) + "\n").collect();
    std::fs::write(&big, text).expect("write");
    let big_text = big.display().to_string();
    let before_checkpoint =
        std::fs::read(data.join("log").join("checkpoint")).expect("a checkpoint");

    let output = run_with_file_size_limit(home, &data, 512, &["add", &big_text]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "error: storage failed: disk I/O error (0 records were stored before the failure; resubmitting is safe)\n"
    );
    // Nothing of the batch is visible, nothing was published.
    assert_eq!(
        corridor.succeed(&["status", "--format", "json"]),
        "{\"by_type\":{\"site\":1},\"demo\":false,\"origin\":\"test.example/full-disk\",\"records\":1}\n"
    );
    assert_eq!(
        std::fs::read(data.join("log").join("checkpoint")).expect("a checkpoint"),
        before_checkpoint
    );
    corridor.succeed(&["check"]);

    // The fault clears: the same file stores every record, once.
    assert_eq!(
        corridor.succeed(&["add", &big_text]),
        "add: 3000 stored, 0 already stored, 0 rejected\n"
    );
    assert_eq!(
        corridor.succeed(&["add", &big_text]),
        "add: 0 stored, 3000 already stored, 0 rejected\n"
    );
    assert_eq!(tree_size(&data), "3001");
    corridor.succeed(&["check"]);
    let state = home.join("state.json").display().to_string();
    corridor.succeed(&["verify", "--state", &state]);
}
