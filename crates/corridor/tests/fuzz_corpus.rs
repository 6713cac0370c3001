//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/`) through
//! the same function the fuzz target calls (`fuzz/src/cases.rs`, included
//! here), so the seeds and every input that once crashed a target run in CI
//! without cargo-fuzz. The targets assert their own properties; this test
//! also checks that each corpus exists and that the seeds reach past the
//! first check (some parse).

#[path = "../../../fuzz/src/cases.rs"]
#[allow(dead_code)]
mod cases;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("read a corpus file");
            (path, bytes)
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "{} holds too few seeds",
        directory.display()
    );
    files
}

/// Runs every corpus file of `target` through `body`, naming the file that panics.
fn replay(target: &str, body: fn(&[u8])) -> Vec<(PathBuf, Vec<u8>)> {
    let files = corpus(target);
    for (path, bytes) in &files {
        let outcome = std::panic::catch_unwind(|| body(bytes));
        assert!(outcome.is_ok(), "{} panics {target}", path.display());
    }
    files
}

fn named<'a>(files: &'a [(PathBuf, Vec<u8>)], name: &str) -> &'a [u8] {
    files
        .iter()
        .find(|(path, _)| path.file_name().is_some_and(|file| file == name))
        .map(|(_, bytes)| bytes.as_slice())
        .unwrap_or_else(|| panic!("no corpus file {name}"))
}

#[test]
fn record_parser_corpus() {
    let files = replay("record_parser", cases::record_parser);
    // The seeds include records the parser accepts, against the fixed store.
    let object = |name: &str| match serde_json::from_slice(named(&files, name)) {
        Ok(serde_json::Value::Object(object)) => object,
        other => panic!("{name}: {other:?}"),
    };
    for name in ["passage-full.json", "site.json", "correction.json"] {
        cases::record_parser(named(&files, name));
        assert!(
            corridor_model::parse_submission(&object(name), &FixedStoreForTest).is_ok(),
            "{name} is refused"
        );
    }
}

/// The same store as the fuzz target's, for checking seeds are accepted.
struct FixedStoreForTest;

impl corridor_model::Resolve for FixedStoreForTest {
    fn precision(&self) -> corridor_model::TimePrecision {
        corridor_model::TimePrecision::Second
    }

    fn site_zone(&self, site_id: &str) -> Result<jiff::tz::TimeZone, String> {
        match site_id {
            "km-12" => jiff::tz::TimeZone::get("Asia/Baku").map_err(|error| error.to_string()),
            _ => Err(format!("no site {site_id:?}")),
        }
    }

    fn check_reference(
        &self,
        id: &str,
        expected: corridor_model::RecordType,
    ) -> Result<(), String> {
        match (id, expected) {
            ("km-12", corridor_model::RecordType::Site)
            | ("m-1", corridor_model::RecordType::Mission) => Ok(()),
            _ => Err(format!("no {id:?}")),
        }
    }

    fn correctable(&self, id: &str) -> Result<corridor_model::RecordType, String> {
        match id {
            "p-1" => Ok(corridor_model::RecordType::Passage),
            _ => Err(format!("no record {id:?}")),
        }
    }
}

#[test]
fn csv_importer_corpus() {
    replay("csv_importer", cases::csv_importer);
}

#[test]
fn checkpoint_parser_corpus() {
    let files = replay("checkpoint_parser", cases::checkpoint_parser);
    let key = corridor_tlog::VerifierKey::parse(cases::CHECKPOINT_VKEY).expect("the fuzz key");
    let opened = corridor_tlog::Checkpoint::open(named(&files, "signed-checkpoint"), &[key])
        .expect("the signed seed opens with the fuzz key");
    assert_eq!(opened.checkpoint.tree_size, 13);
}

#[test]
fn tile_parser_corpus() {
    let files = replay("tile_parser", cases::tile_parser);
    let bundle = named(&files, "entry-bundle-partial");
    let newline = bundle
        .iter()
        .position(|byte| *byte == b'\n')
        .expect("a path line");
    assert_eq!(
        corridor_tlog::parse_entry_bundle(&bundle[newline + 1..])
            .expect("the seed bundle parses")
            .len(),
        3
    );
}

#[test]
fn proof_verifier_corpus() {
    replay("proof_verifier", cases::proof_verifier);
}
