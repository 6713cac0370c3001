//! Bad input through the real binary, data-driven: every case in
//! `tests/bad_input/` is run by one `check(case)` and must give exactly the
//! output in its `.expected` file, and nothing of it may ever be stored (the
//! database, the published log and the status are compared before and after).
//!
//! What a case runs depends on its name (see `tests/bad_input/README.md`):
//! `NAME.jsonl` is added, `NAME.csv` imported through `mapping.toml`,
//! `NAME.receipt` checked with `verify receipt`, and the log directory
//! `NAME.log/` checked with `verify --log`, both with the key in `log.vkey`.
//!
//! After changing a message on purpose, run with `UPDATE_EXPECT=1` to rewrite
//! the `.expected` files, and review the diff.

use std::path::{Path, PathBuf};
use std::process::Output;

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::{Corridor, Sandbox};

/// Lines like `"notes":"@@PAD-N@@"` are expanded to N characters, so that a
/// case can be larger than anyone wants to commit.
const PAD_PREFIX: &str = "@@PAD-";

fn cases_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input")
}

/// A data directory holding sites `km-12` (Asia/Baku) and `berlin`
/// (Europe/Berlin) and passage `p-1`, published.
struct Store {
    sandbox: Sandbox,
    corridor: Corridor,
}

const SEED: &str = r#"{"type":"site","id":"km-12","name":"Checkpoint km 12","kind":"checkpoint","timezone":"Asia/Baku","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}
{"type":"site","id":"berlin","name":"Berlin","kind":"settlement","timezone":"Europe/Berlin","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}
{"type":"passage","id":"p-1","site":"km-12","observed_at":"2023-01-17T09:00","category":"red_cross","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}
"#;

impl Store {
    fn new() -> Store {
        let sandbox = Sandbox::new();
        let store = Store {
            corridor: sandbox.corridor_on_data(),
            sandbox,
        };
        let init = store.run(&["init", "--origin", "test.example/bad-input"]);
        assert!(init.status.success(), "{init:?}");
        let seed = store.sandbox.path("seed.jsonl");
        std::fs::write(&seed, SEED).expect("write the seed");
        let add = store.run(&["add", &seed.display().to_string()]);
        assert_eq!(
            String::from_utf8_lossy(&add.stdout),
            "add: 3 stored, 0 already stored, 0 rejected\n",
            "{add:?}"
        );
        store
    }

    fn data(&self) -> PathBuf {
        self.sandbox.path("data")
    }

    fn run(&self, arguments: &[&str]) -> Output {
        self.corridor.run(arguments)
    }

    /// Everything a stored record would change: the database file, the
    /// published checkpoint and what `status` reports.
    fn snapshot(&self) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let status = self.run(&["status", "--format", "json"]);
        assert!(status.status.success(), "{status:?}");
        (
            std::fs::read(self.data().join("store.db")).expect("read the database"),
            std::fs::read(self.data().join("log/checkpoint")).expect("read the checkpoint"),
            status.stdout,
        )
    }

    /// Runs one case and returns its output in the `.expected` form.
    fn run_case(&self, case: &Path) -> String {
        let name = case
            .file_name()
            .and_then(|name| name.to_str())
            .expect("a name");
        let mut input = case.to_path_buf();
        let vkey = cases_directory().join("log.vkey").display().to_string();
        let rejects = self.sandbox.text("rejects.csv");
        let arguments: Vec<String> = if name.ends_with(".jsonl") {
            input = self.expand_padding(case);
            vec![
                "add".into(),
                input.display().to_string(),
                "--rejects".into(),
                rejects,
            ]
        } else if name.ends_with(".csv") {
            let mapping = cases_directory().join("mapping.toml");
            vec![
                "import".into(),
                input.display().to_string(),
                "--map".into(),
                mapping.display().to_string(),
                "--rejects".into(),
                rejects,
            ]
        } else if name.ends_with(".receipt") {
            vec![
                "verify".into(),
                "receipt".into(),
                input.display().to_string(),
                "--vkey".into(),
                vkey,
            ]
        } else if name.ends_with(".log") {
            let state = self.sandbox.path("verify-state.json");
            let _ = std::fs::remove_file(&state);
            vec![
                "verify".into(),
                "--log".into(),
                input.display().to_string(),
                "--vkey".into(),
                vkey,
                "--state".into(),
                state.display().to_string(),
            ]
        } else {
            panic!("{name}: not a case (.jsonl, .csv, .receipt or .log)");
        };
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let output = self.run(&arguments);
        let clean = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .replace(&input.display().to_string(), "$CASE")
                .replace(&self.sandbox.root().display().to_string(), "$TMP")
        };
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            output
                .status
                .code()
                .map_or("signal".into(), |code| code.to_string()),
            clean(&output.stdout),
            clean(&output.stderr)
        )
    }

    /// The case with `@@PAD-N@@` expanded, written beside the store.
    fn expand_padding(&self, case: &Path) -> PathBuf {
        let bytes = std::fs::read(case).expect("read the case");
        let Some(start) = bytes
            .windows(PAD_PREFIX.len())
            .position(|window| window == PAD_PREFIX.as_bytes())
        else {
            return case.to_path_buf();
        };
        let rest = &bytes[start + PAD_PREFIX.len()..];
        let end = rest
            .iter()
            .position(|byte| *byte == b'@')
            .expect("@@PAD-N@@");
        let count: usize = std::str::from_utf8(&rest[..end])
            .expect("digits")
            .parse()
            .expect("a number");
        let mut expanded = bytes[..start].to_vec();
        expanded.extend(std::iter::repeat_n(b'x', count));
        expanded.extend_from_slice(&rest[end + 2..]);
        let path = self.sandbox.root().join(case.file_name().expect("a name"));
        std::fs::write(&path, expanded).expect("write the expanded case");
        path
    }
}

/// Runs `case` and compares its output with `case.expected`; asserts that
/// nothing was stored or published.
fn check(store: &Store, case: &Path) -> Option<String> {
    let before = store.snapshot();
    let actual = store.run_case(case);
    let after = store.snapshot();
    let name = case
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("?");
    assert!(before == after, "{name}: the store changed");
    assert!(
        !actual.starts_with("exit 0\n"),
        "{name}: bad input was accepted:\n{actual}"
    );
    let expected_path = PathBuf::from(format!("{}.expected", case.display()));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &actual).expect("write the expectation");
        return None;
    }
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|error| panic!("{}: {error}", expected_path.display()));
    (expected != actual).then(|| format!("{name}:\n--- expected\n{expected}--- actual\n{actual}"))
}

#[test]
fn every_bad_input_gets_its_exact_error_and_nothing_is_stored() {
    let store = Store::new();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_directory())
        .expect("the cases directory")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("");
            [".jsonl", ".csv", ".receipt", ".log"]
                .iter()
                .any(|extension| name.ends_with(extension))
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| check(&store, case))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
