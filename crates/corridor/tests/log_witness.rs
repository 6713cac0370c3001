//! Witnesses through the real binary: cosigning a growing log, refusing a
//! fork and a rollback while keeping both signed checkpoints as evidence, and
//! `corridor verify --witness ... --min-witnesses K`.

use std::path::{Path, PathBuf};

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::Sandbox;
use common::{Random, SITE, copy_directory};

struct Fixture {
    sandbox: Sandbox,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            sandbox: Sandbox::new(),
        }
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

    /// Adds passages `first..end` with id prefix `prefix` to `data`.
    fn add(&self, data: &str, prefix: &str, first: usize, end: usize) {
        let mut text = format!("{SITE}\n");
        for index in first..end {
            text.push_str(&format!(
                r#"{{"type":"passage","id":"{prefix}-{index}","site":"cp-1","observed_at":"2022-12-17T10:{minute:02}","direction":"inbound","vehicle_class":"car","category":"civilian","outcome":"turned_back","source":{{"kind":"direct_observation","name":"team A"}},"recorded_by":"observer-1"}}"#,
                minute = index % 60
            ));
            text.push('\n');
        }
        let file = self.text(&format!("{prefix}-{first}-{end}.jsonl"));
        std::fs::write(&file, text).expect("write records");
        self.run(&["--data", data, "add", &file]);
    }

    fn new_log(&self, name: &str, records: usize) -> String {
        let data = self.text(name);
        self.run(&["--data", &data, "init", "--origin", "test.example/lachin"]);
        self.add(&data, "p", 0, records);
        data
    }

    fn new_witness(&self, name: &str, log_data: &str) -> (String, String) {
        let directory = self.text(name);
        let vkey = self
            .run(&[
                "witness",
                "init",
                "--dir",
                &directory,
                "--name",
                &format!("{name}.example"),
            ])
            .trim()
            .to_owned();
        let log_vkey = format!("{log_data}/keys/log.vkey");
        self.run(&[
            "witness", "add-log", "--dir", &directory, "--vkey", &log_vkey,
        ]);
        (directory, vkey)
    }

    /// The witness cosigns the log's current checkpoint; the log attaches it.
    fn cosign_and_attach(&self, witness: &str, data: &str) {
        let out = self.text("cosigned.txt");
        self.run(&[
            "witness",
            "cosign",
            "--dir",
            witness,
            "--log",
            &format!("{data}/log"),
            "--out",
            &out,
        ]);
        let witness_key = format!("{witness}/witness.vkey");
        self.run(&[
            "--data",
            data,
            "log",
            "attach-cosignature",
            &out,
            "--witness",
            &witness_key,
        ]);
    }

    /// The witness must refuse to cosign the log of `data`; returns why.
    fn refused_cosign(&self, witness: &str, data: &str) -> String {
        self.run_failing(&[
            "witness",
            "cosign",
            "--dir",
            witness,
            "--log",
            &format!("{data}/log"),
        ])
    }
}

fn only_evidence(witness: &str) -> Vec<PathBuf> {
    let base = Path::new(witness)
        .join("evidence")
        .join("test.example_lachin");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&base)
        .map(|entries| entries.map(|entry| entry.expect("entry").path()).collect())
        .unwrap_or_default();
    cases.sort();
    cases
}

#[test]
fn a_fork_and_a_rollback_are_refused_and_the_evidence_kept() {
    let fixture = Fixture::new();
    let honest = fixture.new_log("honest", 10);
    let (witness, _) = fixture.new_witness("w1", &honest);
    fixture.cosign_and_attach(&witness, &honest);

    // The operator keeps a second copy with the same key and lets it diverge.
    let forked = fixture.text("forked");
    copy_directory(Path::new(&honest), Path::new(&forked));
    fixture.add(&honest, "p", 10, 20);
    fixture.add(&forked, "q", 10, 20);
    fixture.cosign_and_attach(&witness, &honest);

    // Same size, another root: refused, both checkpoints kept.
    let error = fixture.refused_cosign(&witness, &forked);
    assert!(
        error.contains("refused to cosign: fork: the log presents a different root at size 21"),
        "{error}"
    );
    let cases = only_evidence(&witness);
    assert_eq!(cases.len(), 1, "{cases:?}");
    let cosigned = std::fs::read_to_string(cases[0].join("cosigned")).expect("cosigned kept");
    let presented = std::fs::read_to_string(cases[0].join("presented")).expect("presented kept");
    let honest_checkpoint =
        std::fs::read_to_string(format!("{honest}/log/checkpoints/21")).expect("honest");
    let forked_checkpoint =
        std::fs::read_to_string(format!("{forked}/log/checkpoint")).expect("forked");
    // The honest log's published copy also carries the witness's cosignature.
    assert!(
        honest_checkpoint.starts_with(&cosigned),
        "{cosigned}\n{honest_checkpoint}"
    );
    assert_eq!(presented, forked_checkpoint);
    assert_ne!(cosigned, presented);

    // Larger but not an extension: refused too.
    fixture.add(&forked, "q", 20, 30);
    let error = fixture.refused_cosign(&witness, &forked);
    assert!(
        error.contains("not consistent with the cosigned size 21"),
        "{error}"
    );

    // An older signed checkpoint of the honest log: a rollback.
    let proof = fixture.text("empty-proof.json");
    std::fs::write(&proof, r#"{"old_size":21,"proof":[]}"#).expect("write proof");
    let error = fixture.run_failing(&[
        "witness",
        "cosign",
        "--dir",
        &witness,
        "--checkpoint",
        &format!("{honest}/log/checkpoints/11"),
        "--proof",
        &proof,
    ]);
    assert!(
        error.contains("rollback: the log presents size 11 after the witness cosigned size 21"),
        "{error}"
    );
    assert_eq!(only_evidence(&witness).len(), 3);

    // The witness still cosigns the honest log as it grows.
    fixture.add(&honest, "p", 20, 25);
    fixture.cosign_and_attach(&witness, &honest);
    let state =
        std::fs::read_to_string(format!("{witness}/logs/test.example_lachin.json")).expect("state");
    assert!(state.contains("\"tree_size\": 26"), "{state}");
}

#[test]
fn a_two_of_three_policy_rejects_one_cosignature_and_accepts_two() {
    let fixture = Fixture::new();
    let data = fixture.new_log("data", 5);
    let (first, first_key) = fixture.new_witness("w1", &data);
    let (second, second_key) = fixture.new_witness("w2", &data);
    let (_third, third_key) = fixture.new_witness("w3", &data);
    fixture.cosign_and_attach(&first, &data);
    let log = format!("{data}/log");
    let vkey = format!("{data}/keys/log.vkey");
    let verify = |state: &str| {
        fixture.sandbox.corridor().run(&[
            "verify",
            "--log",
            &log,
            "--vkey",
            &vkey,
            "--state",
            state,
            "--witness",
            &first_key,
            "--witness",
            &second_key,
            "--witness",
            &third_key,
            "--min-witnesses",
            "2",
        ])
    };
    let output = verify(&fixture.text("state-1.json"));
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("checkpoint has 1 valid cosignature(s) from the 3 witness key(s) given (w1.example); at least 2 required"),
        "{error}"
    );

    // The second witness cosigns from a checkpoint file and a proof file.
    let checkpoint = fixture.text("checkpoint.txt");
    std::fs::copy(format!("{log}/checkpoint"), &checkpoint).expect("copy checkpoint");
    let proof = fixture.run(&[
        "--data",
        &data,
        "log",
        "consistency",
        "--from",
        "0",
        "--format",
        "json",
    ]);
    let proof_file = fixture.text("proof.json");
    std::fs::write(&proof_file, proof).expect("write proof");
    let cosigned = fixture.text("cosigned-2.txt");
    fixture.run(&[
        "witness",
        "cosign",
        "--dir",
        &second,
        "--checkpoint",
        &checkpoint,
        "--proof",
        &proof_file,
        "--out",
        &cosigned,
    ]);
    // Only cosignatures from the witnesses named are attached.
    let error = fixture.run_failing(&[
        "--data",
        &data,
        "log",
        "attach-cosignature",
        &cosigned,
        "--witness",
        &third_key,
    ]);
    assert!(
        error.contains("do not verify against the given witness keys"),
        "{error}"
    );
    fixture.run(&[
        "--data",
        &data,
        "log",
        "attach-cosignature",
        &cosigned,
        "--witness",
        &second_key,
    ]);
    let output = verify(&fixture.text("state-2.json"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("cosigned by 2 of 3 given witness(es): w1.example, w2.example"),
        "{stdout}"
    );
}

#[test]
fn the_witness_state_survives_being_killed_while_cosigning() {
    let fixture = Fixture::new();
    let data = fixture.new_log("log", 5);
    let (witness, _) = fixture.new_witness("witness", &data);
    let mut random = Random::from_environment("witness kill test");
    let seed = random.seed();
    let mut killed_mid_run = 0;
    let rounds = 16;
    for round in 0..rounds {
        // The cosign command runs for a few milliseconds.
        let delay = random.within(0..6_000);
        fixture.add(&data, &format!("r{round}"), 0, 3);
        let mut child = fixture
            .sandbox
            .corridor()
            .command(&[
                "witness",
                "cosign",
                "--dir",
                &witness,
                "--log",
                &format!("{data}/log"),
                "--out",
                &fixture.text("killed.txt"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawns");
        std::thread::sleep(std::time::Duration::from_micros(delay));
        if child.try_wait().expect("polls").is_none() {
            killed_mid_run += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        // Every state file still parses, and the witness carries on from it.
        for entry in std::fs::read_dir(&witness).expect("witness dir").flatten() {
            if entry
                .path()
                .extension()
                .is_some_and(|extension| extension == "json")
            {
                let text = std::fs::read_to_string(entry.path()).expect("readable");
                serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|error| {
                    panic!("seed {seed}: {} is torn: {error}", entry.path().display())
                });
            }
        }
        fixture.cosign_and_attach(&witness, &data);
    }
    assert!(
        killed_mid_run >= rounds / 4,
        "seed {seed}: only {killed_mid_run} of {rounds} kills landed mid-run"
    );
    let witness_key = format!("{witness}/witness.vkey");
    let verified = fixture.run(&[
        "--data",
        &data,
        "verify",
        "--witness",
        &witness_key,
        "--min-witnesses",
        "1",
    ]);
    assert!(verified.starts_with("OK"), "{verified}");
}
