//! The transparency log through the real binary: receipts, consistency proofs,
//! `corridor verify` on an intact log, and one precise failure per kind of
//! tampering (a flipped tile byte, a truncated bundle, a dropped entry, an
//! altered entry, a rollback to an older signed checkpoint, the wrong key).

use std::path::{Path, PathBuf};

use corridor_tlog::{encode_entry_bundle, parse_entry_bundle, verify_consistency};
use serde_json::Value;

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::Sandbox;
use common::published::{checkpoint_of, decode, proof_hashes};
use common::{SITE, copy_directory};

/// JSON Lines with the site and passages `first..end`.
fn passages(first: usize, end: usize) -> String {
    let mut text = format!("{SITE}\n");
    for index in first..end {
        text.push_str(&format!(
            r#"{{"type":"passage","id":"p-{index}","site":"cp-1","observed_at":"2022-12-{day:02}T{hour:02}:{minute:02}","direction":"inbound","vehicle_class":"truck","category":"red_cross","outcome":"passed","source":{{"kind":"direct_observation","name":"team A"}},"recorded_by":"observer-1"}}"#,
            day = 1 + index % 28,
            hour = index % 24,
            minute = index % 60
        ));
        text.push('\n');
    }
    text
}

struct Fixture {
    sandbox: Sandbox,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            sandbox: Sandbox::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.sandbox.path(name)
    }

    fn text(&self, name: &str) -> String {
        self.sandbox.text(name)
    }

    fn run(&self, arguments: &[&str]) -> String {
        self.sandbox.corridor().succeed(arguments)
    }

    fn run_failing(&self, arguments: &[&str]) -> String {
        self.sandbox.corridor().fail_with_any_code(arguments)
    }

    /// A data directory with the site and passages `0..count` added.
    fn data_with(&self, count: usize) -> String {
        let data = self.text("data");
        self.run(&["--data", &data, "init", "--origin", "test.example/lachin"]);
        self.add(count, 0);
        data
    }

    fn add(&self, end: usize, first: usize) {
        let file = self.path(&format!("records-{first}-{end}.jsonl"));
        std::fs::write(&file, passages(first, end)).expect("write records");
        self.run(&[
            "--data",
            &self.text("data"),
            "add",
            &file.display().to_string(),
        ]);
    }

    fn vkey(&self) -> String {
        self.run(&["--data", &self.text("data"), "log", "vkey"])
            .trim()
            .to_owned()
    }

    fn verify(&self, log: &str, state: &str) -> Result<String, String> {
        let vkey = self.vkey();
        let output = self
            .sandbox
            .corridor()
            .run(&["verify", "--log", log, "--vkey", &vkey, "--state", state]);
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

#[test]
fn receipts_consistency_and_verify_across_two_adds() {
    let fixture = Fixture::new();
    let data = fixture.data_with(10);
    let vkey = fixture.vkey();
    let log = format!("{data}/log");
    let state = fixture.text("state.json");

    let receipt_text = fixture.run(&[
        "--data", &data, "log", "prove", "--record", "p-3", "--format", "json",
    ]);
    let receipt = json(&receipt_text);
    assert_eq!(receipt["record_id"], "p-3");
    assert_eq!(receipt["leaf_index"], 4, "the site is leaf 0");
    assert_eq!(receipt["tree_size"], 11);
    assert!(
        receipt["checkpoint"]
            .as_str()
            .expect("text")
            .starts_with("test.example/lachin\n11\n")
    );
    let receipt_path = fixture.path("receipt.json");
    std::fs::write(&receipt_path, &receipt_text).expect("write receipt");
    let receipt_file = receipt_path.display().to_string();
    let ok = fixture.run(&["verify", "receipt", &receipt_file, "--vkey", &vkey]);
    assert!(ok.contains("leaf 4"), "{ok}");
    let first = fixture.verify(&log, &state).expect("intact log verifies");
    assert!(first.contains("11 leaves"), "{first}");

    // A receipt whose record text was altered fails.
    let mut altered = receipt.clone();
    let leaf = altered["leaf"]
        .as_str()
        .expect("the receipt carries the leaf")
        .to_owned();
    assert!(leaf.contains("\"id\":\"p-3\""), "{leaf}");
    altered["leaf"] = Value::String(leaf.replace("inbound", "outbound"));
    std::fs::write(&receipt_path, altered.to_string()).expect("write altered");
    let error = fixture.run_failing(&["verify", "receipt", &receipt_file, "--vkey", &vkey]);
    assert!(error.contains("the record text was altered"), "{error}");

    // A receipt whose leaf hash was swapped for another leaf's fails.
    let mut forged = receipt.clone();
    let other = json(&fixture.run(&["--data", &data, "log", "prove", "--record", "p-4"]));
    forged["leaf_hash"] = other["leaf_hash"].clone();
    forged["leaf"] = other["leaf"].clone();
    std::fs::write(&receipt_path, forged.to_string()).expect("write forged");
    let error = fixture.run_failing(&["verify", "receipt", &receipt_file, "--vkey", &vkey]);
    assert!(error.contains("inclusion proof does not verify"), "{error}");

    // Grow the log; the old checkpoint is consistent with the new one.
    let old_checkpoint = std::fs::read_to_string(format!("{log}/checkpoint")).expect("checkpoint");
    fixture.add(25, 10);
    let proof = json(&fixture.run(&[
        "--data",
        &data,
        "log",
        "consistency",
        "--from",
        "11",
        "--format",
        "json",
    ]));
    assert_eq!(proof["old_size"], 11);
    assert_eq!(proof["new_size"], 26);
    let old = checkpoint_of(&old_checkpoint);
    assert_eq!(decode(&proof["old_root"]), old.root_hash);
    let hashes = proof_hashes(&proof);
    verify_consistency(11, 26, &old.root_hash, &decode(&proof["new_root"]), &hashes)
        .expect("the consistency proof verifies");
    let second = fixture.verify(&log, &state).expect("grown log verifies");
    assert!(
        second.contains("extends the 11 leaves verified before"),
        "{second}"
    );

    // A receipt against the older checkpoint can still be had and checked.
    let old_receipt = fixture.run(&[
        "--data", &data, "log", "prove", "--record", "p-3", "--size", "11",
    ]);
    assert_eq!(json(&old_receipt)["tree_size"], 11);
    std::fs::write(&receipt_path, old_receipt).expect("write");
    fixture.run(&["verify", "receipt", &receipt_file, "--vkey", &vkey]);
    let error = fixture.run_failing(&[
        "--data", &data, "log", "prove", "--record", "p-3", "--size", "12",
    ]);
    assert!(
        error.contains("no checkpoint was published at tree size 12"),
        "{error}"
    );

    // A key of another log is refused.
    let other_data = fixture.text("other");
    fixture.run(&[
        "--data",
        &other_data,
        "init",
        "--origin",
        "other.example/log",
    ]);
    let other_key = fixture
        .run(&["--data", &other_data, "log", "vkey"])
        .trim()
        .to_owned();
    let error = fixture.run_failing(&[
        "verify",
        "--log",
        &log,
        "--vkey",
        &other_key,
        "--state",
        &fixture.text("other-state.json"),
    ]);
    assert!(error.contains("known key"), "{error}");
}

/// A log of 300 leaves (a full bundle 000 and a partial 001.p/45), verified once.
fn tamper_fixture() -> (Fixture, String, String) {
    let fixture = Fixture::new();
    let data = fixture.data_with(299);
    let log = format!("{data}/log");
    let state = fixture.text("state.json");
    fixture.verify(&log, &state).expect("intact log verifies");
    (fixture, log, state)
}

#[test]
fn a_flipped_byte_in_a_tile_is_reported_with_its_position() {
    let (fixture, log, state) = tamper_fixture();
    let tile = format!("{log}/tile/0/000");
    let mut bytes = std::fs::read(&tile).expect("tile");
    bytes[5 * 32 + 7] ^= 0x01;
    std::fs::write(&tile, bytes).expect("write");
    let error = fixture.verify(&log, &state).expect_err("must fail");
    assert!(error.contains("tile altered"), "{error}");
    assert!(error.contains("tile/0/000: hash 5 (leaf 5)"), "{error}");
}

#[test]
fn an_altered_entry_is_told_apart_from_an_altered_tile() {
    let (fixture, log, state) = tamper_fixture();
    let bundle = format!("{log}/tile/entries/001.p/44");
    let mut bytes = std::fs::read(&bundle).expect("bundle");
    // Inside the first entry's JSON, after its 2-byte length prefix.
    let position = bytes
        .iter()
        .position(|byte| *byte == b'c')
        .expect("a letter");
    bytes[position] = b'C';
    std::fs::write(&bundle, bytes).expect("write");
    let error = fixture.verify(&log, &state).expect_err("must fail");
    assert!(error.contains("entries altered"), "{error}");
    assert!(
        error.contains("tile/0/001.p/44: hash 0 (leaf 256)"),
        "{error}"
    );
}

#[test]
fn a_truncated_bundle_is_reported() {
    let (fixture, log, state) = tamper_fixture();
    let bundle = format!("{log}/tile/entries/001.p/44");
    let bytes = std::fs::read(&bundle).expect("bundle");
    std::fs::write(&bundle, &bytes[..bytes.len() - 10]).expect("write");
    let error = fixture.verify(&log, &state).expect_err("must fail");
    assert!(
        error.contains(
            "tile/entries/001.p/44 (leaves 256..300): entry bundle truncated in entry 43"
        ),
        "{error}"
    );
}

#[test]
fn a_dropped_entry_is_reported() {
    let (fixture, log, state) = tamper_fixture();
    let bundle = format!("{log}/tile/entries/000");
    let bytes = std::fs::read(&bundle).expect("bundle");
    let mut entries = parse_entry_bundle(&bytes).expect("bundle parses");
    entries.remove(17);
    std::fs::write(&bundle, encode_entry_bundle(&entries).expect("encode")).expect("write");
    let error = fixture.verify(&log, &state).expect_err("must fail");
    assert!(
        error.contains(
            "tile/entries/000 (leaves 0..256): entry bundle has 255 entries, expected 256"
        ),
        "{error}"
    );
}

#[test]
fn a_rollback_to_an_older_signed_checkpoint_is_reported() {
    let (fixture, log, state) = tamper_fixture();
    // The state now holds 300 leaves; the log's own history has older, validly signed checkpoints.
    let rolled_back = fixture.path("rolled-back");
    copy_directory(Path::new(&log), &rolled_back);
    fixture.add(320, 299);
    let older = std::fs::read(rolled_back.join("checkpoint")).expect("checkpoint");
    assert!(String::from_utf8_lossy(&older).contains("\n300\n"));
    fixture.verify(&log, &state).expect("grown log verifies");
    // Serve the copy taken at 300 leaves now that 321 were verified.
    let error = fixture
        .verify(&rolled_back.display().to_string(), &state)
        .expect_err("must fail");
    assert!(
        error.contains("rollback: the checkpoint is for 300 leaves"),
        "{error}"
    );
    assert!(error.contains("but 321 leaves"), "{error}");
}

/// Serves files below `root` over plain HTTP/1.1, one request per connection,
/// until the test process ends.
fn serve_directory(root: PathBuf) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let address = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Skip the headers.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|read| read > 2) {
                header.clear();
            }
            let path = request_line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let response = match (path.contains(".."), std::fs::read(root.join(path))) {
                (false, Ok(body)) => {
                    let mut response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    response.extend_from_slice(&body);
                    response
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    format!("http://{address}")
}

#[test]
fn a_log_served_over_http_verifies_and_tampering_is_reported() {
    let (fixture, log, _) = tamper_fixture();
    let base = serve_directory(fixture.sandbox.root().to_path_buf());
    let url = format!("{base}/data/log");
    let state = fixture.text("http-state.json");
    let ok = fixture
        .verify(&url, &state)
        .expect("the served log verifies");
    assert!(ok.contains("300 leaves"), "{ok}");
    let tile = format!("{log}/tile/1/000.p/1");
    let mut bytes = std::fs::read(&tile).expect("tile");
    bytes[0] ^= 0x80;
    std::fs::write(&tile, bytes).expect("write");
    let error = fixture.verify(&url, &state).expect_err("must fail");
    assert!(
        error.contains(&format!("the log at {url} FAILED verification")),
        "{error}"
    );
    assert!(
        error.contains("tile/1/000.p/1: hash 0 (tree level 8 index 0)"),
        "{error}"
    );
    let error = fixture
        .verify(&format!("{base}/nowhere"), &fixture.text("nowhere.json"))
        .expect_err("no log there");
    assert!(error.contains("has no checkpoint file"), "{error}");
}
