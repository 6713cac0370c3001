//! Crash safety through the real binary: `corridor add` is killed (SIGKILL)
//! at random points, round after round. After every kill the published log
//! must verify and extend what was verified before; re-running the same add
//! must store every record exactly once; and every checkpoint seen along the
//! way must be consistent with the final one.
//!
//! The seed is printed; set `CORRIDOR_CRASH_SEED` to replay a run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use corridor_tlog::{EntryBundleAddress, verify_consistency};
// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::Corridor;
use common::published::{checkpoint_of, proof_hashes};
use common::{Random, SITE};

/// Records per round's file.
const RECORDS_PER_ROUND: usize = 1500;
const ROUNDS: usize = 20;

fn write_round_file(path: &Path, round: usize) {
    let mut text = format!("{SITE}\n");
    for offset in 0..RECORDS_PER_ROUND {
        let index = round * RECORDS_PER_ROUND + offset;
        text.push_str(&format!(
            r#"{{"type":"passage","id":"p-{index}","site":"cp-1","observed_at":"2022-12-{day:02}T{hour:02}:{minute:02}","direction":"outbound","vehicle_class":"bus","category":"civilian","outcome":"passed","passengers":{passengers},"source":{{"kind":"direct_observation","name":"team A"}},"recorded_by":"observer-1","notes":"A note long enough to make the leaf about three hundred bytes, like a real one."}}"#,
            day = 1 + index % 28,
            hour = index % 24,
            minute = index % 60,
            passengers = index % 50
        ));
        text.push('\n');
    }
    std::fs::write(path, text).expect("write the round's records");
}

#[test]
fn killing_add_at_random_points_never_breaks_the_log() {
    let mut random = Random::from_environment("crash test");
    let seed = random.seed();
    let holder = tempfile::tempdir().expect("temporary directory");
    let home = holder.path();
    let data_path: PathBuf = home.join("data");
    let data = data_path.display().to_string();
    let log = format!("{data}/log");
    let state = home.join("verify-state.json").display().to_string();
    let corridor = Corridor::at_home(home);
    corridor.succeed(&["--data", &data, "init", "--origin", "crash.example/log"]);
    let vkey = corridor
        .succeed(&["--data", &data, "log", "vkey"])
        .trim()
        .to_owned();

    // Calibrate: how long one uninterrupted round takes on this machine.
    let calibration = home.join("round-0.jsonl");
    write_round_file(&calibration, 0);
    let started = Instant::now();
    corridor.succeed(&["--data", &data, "add", &calibration.display().to_string()]);
    let round_time = started.elapsed();
    println!("one round of {RECORDS_PER_ROUND} records takes {round_time:?}");

    let mut observed: Vec<String> = Vec::new();
    let mut killed_mid_write = 0;
    let mut killed_before_publishing = 0;
    for round in 1..=ROUNDS {
        let file = home.join(format!("round-{round}.jsonl"));
        write_round_file(&file, round);
        // Even rounds: kill anywhere in the run. Odd rounds: wait until
        // integration has started writing this round's first full entry
        // bundle, then kill within the next few milliseconds, while it
        // writes tiles and the checkpoint.
        let previous_size = (1 + round * RECORDS_PER_ROUND) as u64;
        let first_new_bundle = EntryBundleAddress {
            index: previous_size / 256,
            width: 256,
        };
        let watched = Path::new(&log).join(first_new_bundle.path());
        let mut child = corridor
            .command(&["--data", &data, "add", &file.display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn corridor add");
        let delay = if round % 2 == 0 {
            random.within(0..round_time.as_micros() as u64)
        } else {
            let waiting = Instant::now();
            while !watched.exists() && waiting.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_micros(100));
            }
            random.within(0..8_000)
        };
        std::thread::sleep(Duration::from_micros(delay));
        let finished = child.try_wait().expect("poll the child").is_some();
        if !finished {
            killed_mid_write += 1;
        }
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");

        // Whatever was published survives the kill intact and extends what was verified.
        if std::fs::metadata(format!("{log}/checkpoint")).is_ok() {
            let verified =
                corridor.run(&["verify", "--log", &log, "--vkey", &vkey, "--state", &state]);
            assert!(
                verified.status.success(),
                "round {round} (seed {seed}, kill after {delay} µs): the log does not verify after the kill:\n{}",
                String::from_utf8_lossy(&verified.stderr)
            );
            let published =
                std::fs::read_to_string(format!("{log}/checkpoint")).expect("checkpoint");
            let status = corridor.succeed_json(&["--data", &data, "status", "--format", "json"]);
            if status["records"].as_u64() > Some(checkpoint_of(&published).tree_size) {
                // Records were committed but the kill came before their checkpoint.
                killed_before_publishing += 1;
            }
            observed.push(published);
        }

        // Re-running the same add finishes the job, idempotently.
        corridor.succeed(&["--data", &data, "add", &file.display().to_string()]);
        observed.push(std::fs::read_to_string(format!("{log}/checkpoint")).expect("checkpoint"));
    }

    // Every record is there exactly once: ids are unique, so the count says it.
    let expected_leaves = 1 + (ROUNDS + 1) * RECORDS_PER_ROUND;
    let status = corridor.succeed_json(&["--data", &data, "status", "--format", "json"]);
    assert_eq!(status["records"], expected_leaves as u64, "seed {seed}");
    for index in [
        0,
        RECORDS_PER_ROUND,
        ROUNDS * RECORDS_PER_ROUND + RECORDS_PER_ROUND - 1,
    ] {
        corridor.succeed(&["--data", &data, "show", &format!("p-{index}")]);
    }
    let final_text = std::fs::read_to_string(format!("{log}/checkpoint")).expect("checkpoint");
    let final_checkpoint = checkpoint_of(&final_text);
    assert_eq!(
        final_checkpoint.tree_size, expected_leaves as u64,
        "everything is published"
    );
    corridor.succeed(&["verify", "--log", &log, "--vkey", &vkey, "--state", &state]);

    // Every checkpoint seen along the way is a prefix of the final tree.
    for text in &observed {
        let old = checkpoint_of(text);
        let proof = corridor.succeed_json(&[
            "--data",
            &data,
            "log",
            "consistency",
            "--from",
            &old.tree_size.to_string(),
            "--format",
            "json",
        ]);
        let hashes = proof_hashes(&proof);
        verify_consistency(
            old.tree_size,
            final_checkpoint.tree_size,
            &old.root_hash,
            &final_checkpoint.root_hash,
            &hashes,
        )
        .unwrap_or_else(|error| {
            panic!(
                "seed {seed}: checkpoint at {} is not consistent with the final one: {error}",
                old.tree_size
            )
        });
    }
    println!(
        "{killed_mid_write} of {ROUNDS} kills landed mid-write, {killed_before_publishing} after storing records but before publishing them"
    );
    assert!(
        killed_mid_write * 2 > ROUNDS,
        "only {killed_mid_write} of {ROUNDS} kills landed before the child finished (seed {seed})"
    );
}
