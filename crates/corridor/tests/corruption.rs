//! Corruption through the real binary: one byte flipped in the database, an
//! entry bundle, a hash tile or the checkpoint. SQLite's own integrity check
//! does not look at content, so `corridor check` recomputes: it must name the
//! record, leaf, file and position that differ, `check --recent N` (the cheap
//! start-up check) must see damage among the last N leaves, and nothing
//! built on the damage may be published.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use corridor_tlog::{EntryBundleAddress, leaf_hash, parse_entry_bundle};

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::{Corridor, Sandbox};

const ORIGIN: &str = "test.example/corruption";
/// The bundle and level-0 tile of the 13 records the fixture stores.
const BUNDLE: &str = "tile/entries/000.p/13";
const TILE: &str = "tile/0/000.p/13";

/// A data directory holding one site and twelve passages (leaves 0..13),
/// published. Passage p-5 alone has an operator and passengers, so its
/// rollup row is easy to find in the database file.
struct Fixture {
    sandbox: Sandbox,
    corridor: Corridor,
}

fn records() -> String {
    let mut text = String::from(
        r#"{"type":"site","id":"km-12","name":"Checkpoint km 12","kind":"checkpoint","timezone":"Asia/Baku","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}"#,
    );
    text.push('\n');
    for number in 1..=12 {
        let extra = if number == 5 {
            r#","operator":"Zeta Haulage","passengers":4"#
        } else {
            ""
        };
        text.push_str(&format!(
            r#"{{"type":"passage","id":"p-{number}","site":"km-12","observed_at":"2023-01-{number:02}T09:00","direction":"inbound","category":"red_cross","vehicle_class":"truck","source":{{"kind":"direct_observation","name":"Team A"}},"recorded_by":"team-a","notes":"convoy number {number}"{extra}}}"#
        ));
        text.push('\n');
    }
    text
}

impl Fixture {
    fn new() -> Fixture {
        let sandbox = Sandbox::new();
        let fixture = Fixture {
            corridor: sandbox.corridor_on_data(),
            sandbox,
        };
        fixture.succeed(&["init", "--origin", ORIGIN]);
        std::fs::write(fixture.sandbox.path("records.jsonl"), records()).expect("write records");
        let records = fixture.sandbox.text("records.jsonl");
        assert_eq!(
            fixture.succeed(&["add", &records]),
            "add: 13 stored, 0 already stored, 0 rejected\n"
        );
        fixture
    }

    fn data(&self) -> PathBuf {
        self.sandbox.path("data")
    }

    fn log_file(&self, relative: &str) -> PathBuf {
        self.data().join("log").join(relative)
    }

    fn succeed(&self, arguments: &[&str]) -> String {
        self.corridor.succeed(arguments)
    }

    /// Runs a command that must fail and returns its standard error.
    fn fail(&self, arguments: &[&str]) -> String {
        self.corridor.fail(arguments)
    }

    /// The check's failure message for these problems.
    fn failed(&self, problems: &[String]) -> String {
        let mut message = format!(
            "error: the data directory {} FAILED the check ({} problem{}):",
            self.data().display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for problem in problems {
            message.push_str("\n  ");
            message.push_str(&problem.replace('\n', "\n    "));
        }
        message.push('\n');
        message
    }

    /// The published leaf at `index` (all in bundle 0).
    fn published_leaf(&self, index: usize) -> Vec<u8> {
        let bytes = std::fs::read(self.log_file(BUNDLE)).expect("read the bundle");
        let entries = parse_entry_bundle(&bytes).expect("a bundle");
        entries[index].to_vec()
    }
}

fn base64(hash: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(hash)
}

/// Replaces the one occurrence of `from` in `path` (after `after` bytes) by
/// `to`, a text of the same length: one byte flipped, layout unchanged.
fn replace_once(path: &Path, after: usize, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(path).expect("read the file to damage");
    let position = bytes[after..]
        .windows(from.len())
        .position(|window| window == from)
        .map(|position| position + after)
        .unwrap_or_else(|| panic!("{} holds {:?}", path.display(), from));
    bytes[position..position + from.len()].copy_from_slice(to);
    std::fs::write(path, bytes).expect("write the damaged file");
}

/// `leaf` with "convoy number 7" changed to "convoy number 8".
fn altered(leaf: &[u8]) -> Vec<u8> {
    String::from_utf8(leaf.to_vec())
        .expect("a leaf is UTF-8")
        .replace("convoy number 7", "convoy number 8")
        .into_bytes()
}

#[test]
fn an_undamaged_data_directory_passes_both_checks() {
    let fixture = Fixture::new();
    let data = fixture.data().display().to_string();
    assert_eq!(
        fixture.succeed(&["check"]),
        format!(
            "{data}: OK: checked every published record, the log's files and the rollups; 13 records compared with the log of 13 leaves\n"
        )
    );
    assert_eq!(
        fixture.succeed(&["check", "--recent", "4"]),
        format!(
            "{data}: OK: checked the latest checkpoint and the last 4 published records; 4 records compared with the log of 13 leaves\n"
        )
    );
}

#[test]
fn a_flipped_byte_in_a_stored_leaf_is_named_and_never_published_on() {
    let fixture = Fixture::new();
    let published = fixture.published_leaf(7);
    replace_once(
        &fixture.data().join("store.db"),
        0,
        b"convoy number 7",
        b"convoy number 8",
    );
    let problem = format!(
        "record \"p-7\" (leaf 7) differs from entry 7 of {BUNDLE}: the stored leaf hashes to {}, the published entry to {}",
        base64(&leaf_hash(&altered(&published))),
        base64(&leaf_hash(&published))
    );
    assert_eq!(
        fixture.fail(&["check"]),
        fixture.failed(std::slice::from_ref(&problem))
    );
    // Leaf 7 is among the last 6 of 13, not among the last 5.
    assert_eq!(
        fixture.fail(&["check", "--recent", "6"]),
        fixture.failed(std::slice::from_ref(&problem))
    );
    fixture.succeed(&["check", "--recent", "5"]);
    // The published log itself is intact.
    let state = fixture.sandbox.text("state.json");
    fixture.succeed(&["verify", "--state", &state]);
    // Nothing new is published on top of the damaged store.
    let more = fixture.sandbox.path("more.jsonl");
    std::fs::write(
        &more,
        r#"{"type":"passage","id":"p-13","site":"km-12","observed_at":"2023-01-13T09:00","category":"red_cross","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}"#,
    )
    .expect("write");
    let stderr = fixture.fail(&["add", &more.display().to_string()]);
    assert!(
        stderr.contains("stored leaf 7 is not the leaf the log published at that index"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(fixture.log_file("checkpoint"))
            .expect("checkpoint")
            .lines()
            .nth(1),
        Some("13")
    );
}

#[test]
fn a_flipped_byte_in_an_entry_bundle_is_named_by_check_and_verify() {
    let fixture = Fixture::new();
    let published = fixture.published_leaf(7);
    replace_once(
        &fixture.log_file(BUNDLE),
        0,
        b"convoy number 7",
        b"convoy number 8",
    );
    let (good, bad) = (
        base64(&leaf_hash(&published)),
        base64(&leaf_hash(&altered(&published))),
    );
    let log_problem = format!(
        "the published log fails verification: entries altered: the entry bundles no longer reproduce the signed root, and these leaf hashes differ from the tiles:\n  {TILE}: hash 7 (leaf 7) is {good}, but entry 7 of bundle 0 hashes to {bad}"
    );
    let leaf_problem = format!(
        "record \"p-7\" (leaf 7) differs from entry 7 of {BUNDLE}: the stored leaf hashes to {good}, the published entry to {bad}"
    );
    assert_eq!(
        fixture.fail(&["check"]),
        fixture.failed(&[log_problem, leaf_problem.clone()])
    );
    assert_eq!(
        fixture.fail(&["check", "--recent", "6"]),
        fixture.failed(&[
            leaf_problem,
            format!("{TILE} hash 7 (leaf 7) is {good}, but entry 7 of {BUNDLE} hashes to {bad}")
        ])
    );
    let state = fixture.sandbox.text("state.json");
    let stderr = fixture.fail(&["verify", "--state", &state]);
    assert!(stderr.contains("entries altered"), "{stderr}");
}

#[test]
fn a_flipped_byte_in_a_hash_tile_is_named_by_check() {
    let fixture = Fixture::new();
    let published = fixture.published_leaf(7);
    let path = fixture.log_file(TILE);
    let mut tile = std::fs::read(&path).expect("read the tile");
    tile[7 * 32 + 3] ^= 1;
    std::fs::write(&path, &tile).expect("write the tile");
    let (good, bad) = (
        base64(&leaf_hash(&published)),
        base64(&tile[7 * 32..8 * 32]),
    );
    assert_eq!(
        fixture.fail(&["check"]),
        fixture.failed(&[format!(
            "the published log fails verification: tile altered: the entry bundles reproduce the signed root, but these tile hashes differ from it:\n  {TILE}: hash 7 (leaf 7) is {bad}, but entry 7 of bundle 0 hashes to {good}"
        )])
    );
    let stderr = fixture.fail(&["check", "--recent", "6"]);
    assert!(
        stderr.contains("the tiles give root ")
            && stderr.contains(&format!(
                "{TILE} hash 7 (leaf 7) is {bad}, but entry 7 of {BUNDLE} hashes to {good}"
            )),
        "{stderr}"
    );
}

#[test]
fn a_flipped_byte_in_the_checkpoint_signature_is_named_by_check() {
    let fixture = Fixture::new();
    let path = fixture.log_file("checkpoint");
    let mut checkpoint = std::fs::read(&path).expect("read the checkpoint");
    // Another base64 letter, so the signature still decodes but no longer
    // verifies (flipping a bit could make a character that is not base64).
    let last = checkpoint.len() - 10;
    checkpoint[last] = if checkpoint[last] == b'A' { b'B' } else { b'A' };
    std::fs::write(&path, &checkpoint).expect("write the checkpoint");
    for arguments in [&["check"][..], &["check", "--recent", "1"][..]] {
        let stderr = fixture.fail(arguments);
        assert!(
            stderr.contains(
                "the published log fails verification: checkpoint: checkpoint signature verification failed"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn an_altered_rollup_row_is_named_with_both_figures() {
    let fixture = Fixture::new();
    // The first rollup row of p-5 (site, day 19362 as two bytes, category,
    // operator, ...; passages 1 and vehicles 1 live in the record header),
    // then passengers as one byte, 4. The passage index row has observed_at
    // between day and category, so it does not match.
    let row =
        b"km-12\x4b\xa2red_crossZeta Haulageinboundpassedtruckdirect_observationTeam Ateam-a\x04";
    let mut flipped = row.to_vec();
    *flipped.last_mut().expect("a byte") = 5;
    replace_once(&fixture.data().join("store.db"), 0, row, &flipped);
    assert_eq!(
        fixture.fail(&["check"]),
        fixture.failed(&["passage_rollup row (site km-12, day 2023-01-05, category red_cross, operator Zeta Haulage, direction inbound, outcome passed, vehicle_class truck, source direct_observation \"Team A\", recorded_by team-a) holds passengers 5, but the current passages add up to passengers 4".to_string()])
    );
    let stats = fixture.succeed(&[
        "stats",
        "--from",
        "2023-01-05",
        "--to",
        "2023-01-05",
        "--format",
        "json",
    ]);
    assert!(stats.contains("\"passengers\": 5"), "{stats}");
}

#[test]
fn entry_bundle_address_names_match_the_fixture() {
    // The constants above are the C2SP paths of a 13-leaf tree.
    assert_eq!(
        EntryBundleAddress {
            index: 0,
            width: 13
        }
        .path(),
        BUNDLE
    );
}

#[test]
fn the_server_refuses_to_start_on_a_store_that_differs_from_its_log() {
    let fixture = Fixture::new();
    replace_once(
        &fixture.data().join("store.db"),
        0,
        b"convoy number 12",
        b"convoy number 13",
    );
    let stderr = fixture.fail(&["serve", "--addr", "127.0.0.1:0"]);
    assert!(
        stderr.contains("refusing to serve: the store and the published log disagree"),
        "{stderr}"
    );
    assert!(stderr.contains("record \"p-12\" (leaf 12)"), "{stderr}");
}
