//! The `corridor` command line through the real binary: `init`, `add` (with
//! rejections and resubmission), `import` of the committed sample exports,
//! `stats` in every shape, `demo`, `show` and `erase` of private parts, the
//! writer lock, and the errors bad arguments get. Expected figures are
//! computed by hand from the fixtures in `tests/data/` (see the comments at
//! each expectation).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::{Corridor, Sandbox};

/// Exit code of a command that stored the good records and rejected others.
const EXIT_REJECTED: i32 = 3;

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A temporary directory holding a data directory (`data/`) and input files.
struct Workspace {
    sandbox: Sandbox,
    corridor: Corridor,
}

impl Workspace {
    /// A workspace whose data directory does not exist yet.
    fn empty() -> Workspace {
        let sandbox = Sandbox::new();
        Workspace {
            corridor: sandbox.corridor_on_data(),
            sandbox,
        }
    }

    /// A workspace with an initialized data directory.
    fn initialized() -> Workspace {
        Workspace::initialized_with(&[])
    }

    fn initialized_with(options: &[&str]) -> Workspace {
        let workspace = Workspace::empty();
        let mut arguments = vec!["init", "--origin", "test.example/cli"];
        arguments.extend_from_slice(options);
        let stdout = workspace.succeed(&arguments);
        assert_eq!(
            stdout,
            format!(
                "created data directory {} for log test.example/cli\n",
                workspace.data_text()
            )
        );
        workspace
    }

    /// An initialized workspace holding `passages.jsonl` and `changes.jsonl`.
    fn with_fixture_passages() -> Workspace {
        let workspace = Workspace::initialized();
        let stdout = workspace.succeed(&["add", &fixture_text("passages.jsonl")]);
        assert_eq!(stdout, "add: 10 stored, 0 already stored, 0 rejected\n");
        let stdout = workspace.succeed(&["add", &fixture_text("changes.jsonl")]);
        assert_eq!(stdout, "add: 3 stored, 0 already stored, 0 rejected\n");
        workspace
    }

    fn path(&self, name: &str) -> PathBuf {
        self.sandbox.path(name)
    }

    fn text(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn data(&self) -> PathBuf {
        self.path("data")
    }

    fn data_text(&self) -> String {
        self.text("data")
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.path(name), bytes).expect("write an input file");
        self.text(name)
    }

    fn command(&self, arguments: &[&str]) -> Command {
        self.corridor.command(arguments)
    }

    fn run(&self, arguments: &[&str]) -> Run {
        self.run_with_input(arguments, None)
    }

    fn run_with_input(&self, arguments: &[&str], input: Option<&[u8]>) -> Run {
        let mut child = self
            .command(arguments)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the corridor binary runs");
        if let Some(input) = input {
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin.write_all(input).expect("write to corridor's stdin");
        }
        let output = child.wait_with_output().expect("corridor finishes");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs a command that must succeed; returns its stdout.
    fn succeed(&self, arguments: &[&str]) -> String {
        let run = self.run(arguments);
        assert_eq!(
            run.code,
            Some(0),
            "corridor {arguments:?} failed:\n{}",
            run.stderr
        );
        run.stdout
    }

    /// `status --format json`, parsed.
    fn status(&self) -> Value {
        parse_json(&self.succeed(&["status", "--format", "json"]))
    }

    fn show(&self, arguments: &[&str]) -> Value {
        let mut all = vec!["show"];
        all.extend_from_slice(arguments);
        parse_json(&self.succeed(&all))
    }

    /// Every file of the published log, by path, to compare snapshots.
    fn log_files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(directory: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(directory).expect("read the log directory") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    walk(&path, files);
                } else {
                    let bytes = std::fs::read(&path).expect("read a log file");
                    files.insert(path, bytes);
                }
            }
        }
        let mut files = BTreeMap::new();
        walk(&self.data().join("log"), &mut files);
        files
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn fixture_text(name: &str) -> String {
    fixture(name).display().to_string()
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}):\n{text}"))
}

/// Runs `stats ARGUMENTS --format json` and compares the whole report.
fn check_stats(workspace: &Workspace, arguments: &[&str], expected: Value) {
    let mut all = vec!["stats"];
    all.extend_from_slice(arguments);
    all.extend_from_slice(&["--format", "json"]);
    let report = parse_json(&workspace.succeed(&all));
    assert_eq!(
        report,
        expected,
        "corridor {all:?} gave\n{}\nexpected\n{}",
        serde_json::to_string_pretty(&report).unwrap_or_default(),
        serde_json::to_string_pretty(&expected).unwrap_or_default()
    );
}

/// Runs a command that must fail with `code` and exactly `stderr`.
fn check_failure(workspace: &Workspace, arguments: &[&str], code: i32, stderr: &str) {
    let run = workspace.run(arguments);
    assert_eq!(
        (run.code, run.stderr.as_str(), run.stdout.as_str()),
        (Some(code), stderr, ""),
        "corridor {arguments:?}"
    );
}

/// A row or totals object: the five metrics, `null` where no record gave one.
fn metrics(
    vehicles: Option<u64>,
    passages: Option<u64>,
    passengers: Option<u64>,
    medical_evacuees: Option<u64>,
    tonnes: Value,
) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("vehicles".into(), json!(vehicles));
    map.insert("passages".into(), json!(passages));
    map.insert("passengers".into(), json!(passengers));
    map.insert("medical_evacuees".into(), json!(medical_evacuees));
    map.insert("tonnes".into(), tonnes);
    map
}

/// A row: its dimension values, then its metrics.
fn row(dimensions: Value, metrics: serde_json::Map<String, Value>) -> Value {
    let mut row = match dimensions {
        Value::Object(map) => map,
        other => panic!("dimensions must be an object, not {other}"),
    };
    row.extend(metrics);
    Value::Object(row)
}

fn report(query: Value, totals: serde_json::Map<String, Value>, rows: Vec<Value>) -> Value {
    json!({"query": query, "totals": totals, "rows": rows})
}

/// Nothing recorded: every metric is `null`, not zero.
fn no_data() -> serde_json::Map<String, Value> {
    metrics(None, None, None, None, Value::Null)
}

// The effective passages of passages.jsonl + changes.jsonl (sites: lachin in
// Asia/Baku, kornidzor in Asia/Yerevan), by the site-local day they count on:
//
// | id  | day        | dir | category     | vehicles | passengers | evacuees | cargo (t)              |
// | p-1 | 2022-12-12 | in  | peacekeeping | 2 (c-1)  |            |          | food 2.5, medicine 0.25 |
// | p-2 | 2022-12-13 | out | red_cross    | 1        | 4          | 2        |                        |
// | p-3 | 2022-12-13 | in  | red_cross    | 2        | 3          |          | food 10, medicine 1.5  |
// | k-1 | 2022-12-14 | in  | red_cross    | 1        | 0          |          |                        |
// | p-4 | 2022-12-19 | out | peacekeeping | 1        |            |          |                        |
// | p-7 | 2023-01-01 | out | civilian     | 1        | 2          |          |                        |
// | p-5 | 2023-01-02 | in  | civilian     | 5        |            |          | fuel 7.125             |
//
// p-2 was observed at 2022-12-12T21:30:00Z, 01:30 on the 13th in Baku; p-7 at
// 2022-12-31T22:30:00+02:00, 00:30 on 1 January in Baku. c-1 corrected p-1
// from 3 vehicles with 2.5 t of food; p-6 (4 vehicles, corrected by c-2 to 6)
// was retracted by r-1.

#[test]
fn stats_count_the_current_version_of_each_passage() {
    let workspace = Workspace::initialized();
    workspace.succeed(&["add", &fixture_text("passages.jsonl")]);
    // Before the changes: p-1 has 3 vehicles and 2.5 t, p-6 is counted (4 vehicles).
    check_stats(
        &workspace,
        &["--from", "2022-12-12", "--to", "2023-01-02"],
        report(
            json!({"from": "2022-12-12", "to": "2023-01-02", "by": []}),
            metrics(Some(18), Some(8), Some(9), Some(2), json!(21.125)),
            vec![],
        ),
    );
    let stdout = workspace.succeed(&["add", &fixture_text("changes.jsonl")]);
    assert_eq!(stdout, "add: 3 stored, 0 already stored, 0 rejected\n");
    // The correction replaced p-1's contribution (3 -> 2 vehicles, 2.5 -> 2.75 t),
    // the retraction removed p-6's corrected one (6 vehicles): 18 - 1 - 4 = 13.
    check_stats(
        &workspace,
        &["--from", "2022-12-12", "--to", "2023-01-02"],
        report(
            json!({"from": "2022-12-12", "to": "2023-01-02", "by": []}),
            metrics(Some(13), Some(7), Some(9), Some(2), json!(21.375)),
            vec![],
        ),
    );
    check_stats(
        &workspace,
        &[
            "--from",
            "2022-12-13",
            "--to",
            "2022-12-13",
            "--category",
            "peacekeeping",
        ],
        report(
            json!({"from": "2022-12-13", "to": "2022-12-13", "by": [], "category": "peacekeeping"}),
            no_data(),
            vec![],
        ),
    );
}

#[test]
fn stats_group_by_each_dimension() {
    let workspace = Workspace::with_fixture_passages();
    let period = ["--from", "2022-12-12", "--to", "2023-01-02"];
    let totals = || metrics(Some(13), Some(7), Some(9), Some(2), json!(21.375));
    let cases: Vec<(Vec<&str>, Value)> = vec![
        (
            vec!["--by", "day,category"],
            report(
                json!({"from": "2022-12-12", "to": "2023-01-02", "by": ["day", "category"]}),
                totals(),
                vec![
                    row(
                        json!({"day": "2022-12-12", "category": "peacekeeping"}),
                        metrics(Some(2), Some(1), None, None, json!(2.75)),
                    ),
                    row(
                        json!({"day": "2022-12-13", "category": "red_cross"}),
                        metrics(Some(3), Some(2), Some(7), Some(2), json!(11.5)),
                    ),
                    // A reported zero stays zero: it is not "no data".
                    row(
                        json!({"day": "2022-12-14", "category": "red_cross"}),
                        metrics(Some(1), Some(1), Some(0), None, Value::Null),
                    ),
                    row(
                        json!({"day": "2022-12-19", "category": "peacekeeping"}),
                        metrics(Some(1), Some(1), None, None, Value::Null),
                    ),
                    row(
                        json!({"day": "2023-01-01", "category": "civilian"}),
                        metrics(Some(1), Some(1), Some(2), None, Value::Null),
                    ),
                    row(
                        json!({"day": "2023-01-02", "category": "civilian"}),
                        metrics(Some(5), Some(1), None, None, json!(7.125)),
                    ),
                ],
            ),
        ),
        (
            vec!["--by", "week"],
            report(
                json!({"from": "2022-12-12", "to": "2023-01-02", "by": ["week"]}),
                totals(),
                vec![
                    row(
                        json!({"week": "2022-W50"}),
                        metrics(Some(6), Some(4), Some(7), Some(2), json!(14.25)),
                    ),
                    row(
                        json!({"week": "2022-W51"}),
                        metrics(Some(1), Some(1), None, None, Value::Null),
                    ),
                    // 1 January 2023 is a Sunday: ISO week 52 of 2022.
                    row(
                        json!({"week": "2022-W52"}),
                        metrics(Some(1), Some(1), Some(2), None, Value::Null),
                    ),
                    row(
                        json!({"week": "2023-W01"}),
                        metrics(Some(5), Some(1), None, None, json!(7.125)),
                    ),
                ],
            ),
        ),
        (
            vec!["--by", "month"],
            report(
                json!({"from": "2022-12-12", "to": "2023-01-02", "by": ["month"]}),
                totals(),
                vec![
                    row(
                        json!({"month": "2022-12"}),
                        metrics(Some(7), Some(5), Some(7), Some(2), json!(14.25)),
                    ),
                    row(
                        json!({"month": "2023-01"}),
                        metrics(Some(6), Some(2), Some(2), None, json!(7.125)),
                    ),
                ],
            ),
        ),
        (
            // A vehicle with two kinds of cargo counts under both; the
            // totals still count it once.
            vec!["--by", "cargo"],
            report(
                json!({"from": "2022-12-12", "to": "2023-01-02", "by": ["cargo"]}),
                totals(),
                vec![
                    row(
                        json!({"cargo": null}),
                        metrics(Some(4), Some(4), Some(6), Some(2), Value::Null),
                    ),
                    row(
                        json!({"cargo": "food"}),
                        metrics(Some(4), Some(2), Some(3), None, json!(12.5)),
                    ),
                    row(
                        json!({"cargo": "fuel"}),
                        metrics(Some(5), Some(1), None, None, json!(7.125)),
                    ),
                    row(
                        json!({"cargo": "medicine"}),
                        metrics(Some(4), Some(2), Some(3), None, json!(1.75)),
                    ),
                ],
            ),
        ),
        (
            vec!["--by", "direction", "--category", "red_cross"],
            report(
                json!({"from": "2022-12-12", "to": "2023-01-02", "by": ["direction"], "category": "red_cross"}),
                metrics(Some(4), Some(3), Some(7), Some(2), json!(11.5)),
                vec![
                    row(
                        json!({"direction": "inbound"}),
                        metrics(Some(3), Some(2), Some(3), None, json!(11.5)),
                    ),
                    row(
                        json!({"direction": "outbound"}),
                        metrics(Some(1), Some(1), Some(4), Some(2), Value::Null),
                    ),
                ],
            ),
        ),
        (
            vec!["--cargo", "medicine"],
            report(
                json!({"from": "2022-12-12", "to": "2023-01-02", "by": [], "cargo": "medicine"}),
                metrics(Some(4), Some(2), Some(3), None, json!(1.75)),
                vec![],
            ),
        ),
        (
            vec!["--outcome", "turned_back", "--vehicle-class", "car"],
            report(
                json!({"from": "2022-12-12", "to": "2023-01-02", "by": [], "outcome": "turned_back", "vehicle_class": "car"}),
                metrics(Some(1), Some(1), Some(2), None, Value::Null),
                vec![],
            ),
        ),
        (
            vec!["--site", "kornidzor", "--by", "site"],
            report(
                json!({"from": "2022-12-12", "to": "2023-01-02", "sites": ["kornidzor"], "by": ["site"]}),
                metrics(Some(1), Some(1), Some(0), None, Value::Null),
                vec![row(
                    json!({"site": "kornidzor"}),
                    metrics(Some(1), Some(1), Some(0), None, Value::Null),
                )],
            ),
        ),
    ];
    for (arguments, expected) in cases {
        let mut all = period.to_vec();
        all.extend(arguments);
        check_stats(&workspace, &all, expected);
    }
}

#[test]
fn a_passage_counts_on_the_day_in_its_sites_time_zone() {
    let workspace = Workspace::with_fixture_passages();
    // p-2, observed at 2022-12-12T21:30:00Z, is on 13 December in Baku.
    check_stats(
        &workspace,
        &[
            "--from",
            "2022-12-12",
            "--to",
            "2022-12-12",
            "--direction",
            "outbound",
        ],
        report(
            json!({"from": "2022-12-12", "to": "2022-12-12", "by": [], "direction": "outbound"}),
            no_data(),
            vec![],
        ),
    );
    check_stats(
        &workspace,
        &[
            "--from",
            "2022-12-13",
            "--to",
            "2022-12-13",
            "--direction",
            "outbound",
        ],
        report(
            json!({"from": "2022-12-13", "to": "2022-12-13", "by": [], "direction": "outbound"}),
            metrics(Some(1), Some(1), Some(4), Some(2), Value::Null),
            vec![],
        ),
    );
    let shown = workspace.show(&["p-2"]);
    assert_eq!(
        shown["leaf"]["record"]["observed_at"],
        "2022-12-13T01:30:00+04:00"
    );
}

#[test]
fn an_empty_period_has_no_data_rather_than_zeros() {
    let workspace = Workspace::with_fixture_passages();
    check_stats(
        &workspace,
        &["--from", "2022-11-01", "--to", "2022-11-30", "--by", "day"],
        report(
            json!({"from": "2022-11-01", "to": "2022-11-30", "by": ["day"]}),
            no_data(),
            vec![],
        ),
    );
    let table = workspace.succeed(&["stats", "--from", "2022-11-01", "--to", "2022-11-30"]);
    assert_eq!(
        table,
        "vehicles  passages  passengers  medical_evacuees  tonnes\n\
         \n\
         (no passages recorded in this period: that is not the same as no traffic unless the period was covered)\n"
    );
}

#[test]
fn stats_render_as_a_table_and_as_csv() {
    let workspace = Workspace::with_fixture_passages();
    let table = workspace.succeed(&[
        "stats",
        "--from",
        "2022-12-12",
        "--to",
        "2023-01-02",
        "--by",
        "week,category",
    ]);
    assert_eq!(
        table,
        "\
week      category      vehicles  passages  passengers  medical_evacuees  tonnes
2022-W50  peacekeeping         2         1                                  2.75
2022-W50  red_cross            4         3           7                 2    11.5
2022-W51  peacekeeping         1         1
2022-W52  civilian             1         1           2
2023-W01  civilian             5         1                                 7.125
--------  ------------  --------  --------  ----------  ----------------  ------
total                         13         7           9                 2  21.375
"
    );
    let csv = workspace.succeed(&[
        "stats",
        "--from",
        "2022-12-12",
        "--to",
        "2023-01-02",
        "--by",
        "month",
        "--format",
        "csv",
    ]);
    assert_eq!(
        csv,
        "month,vehicles,passages,passengers,medical_evacuees,tonnes\n\
         2022-12,7,5,7,2,14.25\n\
         2023-01,6,2,2,,7.125\n"
    );
}

#[test]
fn status_counts_records_by_type() {
    let workspace = Workspace::with_fixture_passages();
    let status = workspace.status();
    assert_eq!(
        status,
        json!({
            "origin": "test.example/cli", "demo": false, "records": 13,
            "by_type": {"site": 2, "passage": 8, "correction": 2, "retraction": 1}
        })
    );
}

const SOURCE: &str =
    r#""source":{"kind":"direct_observation","name":"team A"},"recorded_by":"observer-1""#;

/// A JSON Lines line for a record of `record_type` with `fields` and the common source.
fn record_line(record_type: &str, fields: &str) -> String {
    format!(r#"{{"type":"{record_type}",{fields},{SOURCE}}}"#)
}

const SITE_FIELDS: &str =
    r#""id":"lachin","name":"Lachin checkpoint","kind":"checkpoint","timezone":"Asia/Baku""#;

#[test]
fn rejected_lines_are_reported_and_good_lines_stored_once() {
    let workspace = Workspace::initialized();
    let invalid_utf8_prefix = r#"{"type":"passage","id":"p-8","site":"lachin","observed_at":"2022-12-12","category":"peacekeeping","notes":"caf"#;
    let mut invalid_utf8 = invalid_utf8_prefix.as_bytes().to_vec();
    invalid_utf8.push(0xE9);
    invalid_utf8.extend_from_slice(format!(r#"",{SOURCE}}}"#).as_bytes());
    let lines: Vec<Vec<u8>> = vec![
        record_line("site", SITE_FIELDS).into_bytes(),
        record_line(
            "passage",
            r#""id":"p-1","site":"lachin","observed_at":"2022-12-12T09:00","category":"peacekeeping""#,
        )
        .into_bytes(),
        record_line(
            "passage",
            r#""id":"p-3","site":"lachin","observed_at":"2022-13-01","category":"peacekeeping""#,
        )
        .into_bytes(),
        br#"{"type":"passage","id":"p-4","#.to_vec(),
        record_line(
            "passage",
            r#""id":"p-5","site":"lachin","observed_at":"2022-12-12","category":"peacekeeping","colour":"red""#,
        )
        .into_bytes(),
        record_line(
            "passage",
            r#""id":"p-6","site":"lachin","observed_at":"2022-12-12","category":"peacekeeping","count":-2"#,
        )
        .into_bytes(),
        record_line(
            "passage",
            r#""id":"p-7","observed_at":"2022-12-12","category":"peacekeeping""#,
        )
        .into_bytes(),
        invalid_utf8,
        record_line(
            "passage",
            r#""id":"p-9","site":"lachin","observed_at":"2022-12-12","category":"peacekeeping","private":{"plate":["SECRET-PLATE-99"]}"#,
        )
        .into_bytes(),
        record_line(
            "passage",
            r#""id":"p-10","site":"lachin","observed_at":"2022-12-12","category":"tourists","private":{"plate":"SECRET-PLATE-98"}"#,
        )
        .into_bytes(),
        record_line(
            "passage",
            r#""id":"p-11","site":"nowhere","observed_at":"2022-12-12","category":"peacekeeping""#,
        )
        .into_bytes(),
        Vec::new(),
        b"[1, 2]".to_vec(),
        record_line(
            "passage",
            r#""id":"p-2","site":"lachin","observed_at":"2022-12-13T10:00","category":"red_cross","private":{"plate":"SECRET-PLATE-97"}"#,
        )
        .into_bytes(),
    ];
    let input = workspace.write("records.jsonl", &lines.join(&b'\n'));
    let rejects = workspace.text("records.jsonl.rejects.csv");

    let expected_stderr = format!(
        "\
rejected: line 3 (passage p-3): observed_at: \"2022-13-01\" is not a date or time (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or an RFC 3339 time with offset)
rejected: line 4: not valid JSON: EOF while parsing a value at line 1 column 29
rejected: line 5 (passage p-5): colour: unknown field for a passage record
rejected: line 6 (passage p-6): count: -2 is negative
rejected: line 7 (passage p-7): site: missing
rejected: line 8: not UTF-8 (byte {byte})
rejected: line 9 (passage p-9): private.plate: not a string, number or boolean (the value is not shown)
rejected: line 10 (passage p-10): category: \"tourists\" is not an operator category (peacekeeping, red_cross, un, ngo, civilian, commercial, government, military, media, other)
rejected: line 11 (passage p-11): site: site \"nowhere\" does not exist (add the site record first)
rejected: line 13: not a JSON object
",
        byte = invalid_utf8_prefix.len() + 1
    );
    let expected_rejects = format!(
        "\
line,type,id,field,reason
3,passage,p-3,observed_at,\"\"\"2022-13-01\"\" is not a date or time (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or an RFC 3339 time with offset)\"
4,,,,not valid JSON: EOF while parsing a value at line 1 column 29
5,passage,p-5,colour,unknown field for a passage record
6,passage,p-6,count,'-2 is negative
7,passage,p-7,site,missing
8,,,,not UTF-8 (byte {byte})
9,passage,p-9,private.plate,\"not a string, number or boolean (the value is not shown)\"
10,passage,p-10,category,\"\"\"tourists\"\" is not an operator category (peacekeeping, red_cross, un, ngo, civilian, commercial, government, military, media, other)\"
11,passage,p-11,site,\"site \"\"nowhere\"\" does not exist (add the site record first)\"
13,,,,not a JSON object
",
        byte = invalid_utf8_prefix.len() + 1
    );

    let first = workspace.run(&["add", &input]);
    assert_eq!(first.code, Some(EXIT_REJECTED));
    assert_eq!(first.stderr, expected_stderr);
    assert_eq!(
        first.stdout,
        format!("add: 3 stored, 0 already stored, 10 rejected (reasons in {rejects})\n")
    );
    let reject_file = std::fs::read_to_string(&rejects).expect("the reject file");
    assert_eq!(reject_file, expected_rejects);
    for text in [&first.stdout, &first.stderr, &reject_file] {
        assert!(
            !text.contains("SECRET-PLATE"),
            "a private value leaked:\n{text}"
        );
    }
    // p-1 on the 12th and p-2 on the 13th, each stored once.
    let totals = || {
        report(
            json!({"from": "2022-12-01", "to": "2022-12-31", "by": ["day"]}),
            metrics(Some(2), Some(2), None, None, Value::Null),
            vec![
                row(
                    json!({"day": "2022-12-12"}),
                    metrics(Some(1), Some(1), None, None, Value::Null),
                ),
                row(
                    json!({"day": "2022-12-13"}),
                    metrics(Some(1), Some(1), None, None, Value::Null),
                ),
            ],
        )
    };
    let period = ["--from", "2022-12-01", "--to", "2022-12-31", "--by", "day"];
    check_stats(&workspace, &period, totals());
    check_failure(
        &workspace,
        &["show", "p-3"],
        1,
        "error: no record \"p-3\"\n",
    );

    // The same file again stores nothing new and reports the same rejections.
    let second = workspace.run(&["add", &input, "--format", "json"]);
    assert_eq!(second.code, Some(EXIT_REJECTED));
    assert_eq!(second.stderr, expected_stderr);
    assert_eq!(
        parse_json(&second.stdout),
        json!({"stored": 0, "already_stored": 3, "rejected": 10, "rejects_file": rejects})
    );
    let text_summary = workspace.run(&["add", &input]);
    assert_eq!(
        text_summary.stdout,
        format!("add: 0 stored, 3 already stored, 10 rejected (reasons in {rejects})\n")
    );
    check_stats(&workspace, &period, totals());
    let status = workspace.status();
    assert_eq!(status["records"], 3);
}

#[test]
fn the_same_id_with_different_content_is_refused_naming_the_stored_leaf() {
    let workspace = Workspace::initialized();
    let original = format!(
        "{}\n{}\n",
        record_line("site", SITE_FIELDS),
        record_line(
            "passage",
            r#""id":"p-1","site":"lachin","observed_at":"2022-12-12T09:00","category":"red_cross""#
        )
    );
    let input = workspace.write("original.jsonl", original.as_bytes());
    assert_eq!(
        workspace.succeed(&["add", &input]),
        "add: 2 stored, 0 already stored, 0 rejected\n"
    );
    assert!(!workspace.path("original.jsonl.rejects.csv").exists());

    let changed = record_line(
        "passage",
        r#""id":"p-1","site":"lachin","observed_at":"2022-12-12T09:00","category":"un""#,
    );
    let run = workspace.run_with_input(&["add", "-"], Some(changed.as_bytes()));
    assert_eq!(run.code, Some(EXIT_REJECTED));
    assert_eq!(
        run.stderr,
        "rejected: line 1 (passage p-1): id: \"p-1\" is already stored (leaf 1, a passage) with different content; a change needs a correction record\n"
    );
    // Standard input has no reject file unless one is named.
    assert_eq!(run.stdout, "add: 0 stored, 0 already stored, 1 rejected\n");
    let shown = workspace.show(&["p-1"]);
    assert_eq!(shown["leaf"]["record"]["category"], "red_cross");
}

#[test]
fn reject_file_cells_cannot_run_as_spreadsheet_formulas() {
    // Regression: ids, types and field names from rejected input went into
    // the reject file as they were, so `=...` ran as a formula when the file
    // was opened in a spreadsheet.
    let workspace = Workspace::initialized();
    let lines = [
        record_line(
            "passage",
            r#""id":"p-1","site":"lachin","observed_at":"2022-12-12","category":"un","=1+1":"x""#,
        ),
        record_line(
            "passage",
            r#""id":"=HYPERLINK(\"http://example.invalid\")","site":"lachin","observed_at":"2022-12-12","category":"un""#,
        ),
        r#"{"type":"@passage","id":"p-2"}"#.to_string(),
    ];
    let input = workspace.write("formulas.jsonl", lines.join("\n").as_bytes());
    let run = workspace.run(&["add", &input]);
    assert_eq!(run.code, Some(EXIT_REJECTED), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(workspace.path("formulas.jsonl.rejects.csv"))
            .expect("the reject file"),
        "\
line,type,id,field,reason
1,passage,p-1,'=1+1,unknown field for a passage record
2,passage,\"'=HYPERLINK(\"\"http://example.invalid\"\")\",id,\"\"\"=HYPERLINK(\\\"\"http://example.invalid\\\"\")\"\" is not a valid id (1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit)\"
3,'@passage,p-2,type,\"\"\"@passage\"\" is not a record type (site, passage, mission, incident, appeal, coverage, baseline, claim, correction, retraction)\"
"
    );
}

#[test]
fn an_oversized_line_is_skipped_without_being_held_in_memory() {
    // Regression: the rest of a line over 1 MiB was read into a buffer to skip it.
    let workspace = Workspace::initialized();
    let huge = format!(
        r#"{{"type":"passage","id":"p-huge","notes":"{}"}}"#,
        "x".repeat(3 << 20)
    );
    let text = format!(
        "{}\n{huge}\n{}\n",
        record_line("site", SITE_FIELDS),
        record_line(
            "passage",
            r#""id":"p-1","site":"lachin","observed_at":"2022-12-12T09:00","category":"red_cross""#
        )
    );
    let input = workspace.write("huge.jsonl", text.as_bytes());
    let run = workspace.run(&["add", &input, "--rejects", &workspace.text("huge.csv")]);
    assert_eq!(run.code, Some(EXIT_REJECTED));
    assert_eq!(run.stderr, "rejected: line 2: longer than 1048576 bytes\n");
    assert_eq!(
        run.stdout,
        format!(
            "add: 2 stored, 0 already stored, 1 rejected (reasons in {})\n",
            workspace.text("huge.csv")
        )
    );
    assert_eq!(
        std::fs::read_to_string(workspace.path("huge.csv")).expect("the reject file"),
        "line,type,id,field,reason\n2,,,,longer than 1048576 bytes\n"
    );
    assert_eq!(workspace.show(&["p-1"])["leaf_index"], 1);
}

/// One committed sample export and what importing it must give.
struct SampleImport {
    name: &'static str,
    stored: u64,
    rejected: u64,
    rejects: &'static str,
    stats: &'static [&'static str],
    expected: Value,
}

#[test]
fn each_sample_export_imports_its_expected_records() {
    let workspace = Workspace::initialized();
    assert_eq!(
        workspace.succeed(&["add", &fixture_text("sample-sites.jsonl")]),
        "add: 3 stored, 0 already stored, 0 rejected\n"
    );
    let samples = [
        SampleImport {
            name: "hxl-daily-crossings",
            stored: 6,
            rejected: 2,
            rejects: "\
row,type,id,field,reason
9,passage,lachin-31-11-2022-CIV-IN,,\"observed_at: \"\"31/11/2022\"\" is not a valid date: parameter 'day' for `2022-11` is invalid, must be in range `1..=30`\"
10,passage,lachin-14-12-2022-MSF-IN,,\"category: \"\"MSF\"\" is not in the value map (known values: \"\"civ\"\", \"\"com\"\", \"\"gov\"\", \"\"icrc\"\", \"\"ru pk\"\") and the field has no default\"
",
            stats: &["--from", "2022-12-10", "--to", "2022-12-14", "--site", "lachin", "--by", "day"],
            // 1204 + 1187 + 37 vehicles on the 10th, 21 + 4 + 4 on the 13th;
            // passengers 2318 + 2275, then 6 + 12; 9 evacuees; no tonnes.
            expected: report(
                json!({"from": "2022-12-10", "to": "2022-12-14", "sites": ["lachin"], "by": ["day"]}),
                metrics(Some(2457), Some(6), Some(4611), Some(9), Value::Null),
                vec![
                    row(
                        json!({"day": "2022-12-10"}),
                        metrics(Some(2428), Some(3), Some(4593), None, Value::Null),
                    ),
                    row(
                        json!({"day": "2022-12-13"}),
                        metrics(Some(29), Some(3), Some(18), Some(9), Value::Null),
                    ),
                ],
            ),
        },
        SampleImport {
            name: "kobo-vehicle-cargo",
            stored: 3,
            rejected: 2,
            rejects: "\
row,type,id,field,reason
8,passage,kobo-7d9f2051-3ea0-4b5d-8d84-a0318e4f5d04,,private.plate: rows 8 and 9 of the group disagree (values not shown)
11,passage,kobo-9f1b4273-50c2-4d7f-8fa6-c253a0617f06,,\"passengers: \"\"two\"\" is not a number (decimal separator '.', no thousands separator)\"
",
            stats: &["--from", "2023-06-14", "--to", "2023-06-14", "--site", "sample-crossing", "--by", "cargo"],
            // A truck with 8.5 t food, 1.25 t medicine, 0.3 t other (1 passenger),
            // a car with 3 passengers, an ambulance with 4 passengers, 2 evacuees.
            expected: report(
                json!({"from": "2023-06-14", "to": "2023-06-14", "sites": ["sample-crossing"], "by": ["cargo"]}),
                metrics(Some(3), Some(3), Some(8), Some(2), json!(10.05)),
                vec![
                    row(
                        json!({"cargo": null}),
                        metrics(Some(2), Some(2), Some(7), Some(2), Value::Null),
                    ),
                    row(
                        json!({"cargo": "food"}),
                        metrics(Some(1), Some(1), Some(1), None, json!(8.5)),
                    ),
                    row(
                        json!({"cargo": "medicine"}),
                        metrics(Some(1), Some(1), Some(1), None, json!(1.25)),
                    ),
                    row(
                        json!({"cargo": "other"}),
                        metrics(Some(1), Some(1), Some(1), None, json!(0.3)),
                    ),
                ],
            ),
        },
        SampleImport {
            name: "port-voyages",
            stored: 3,
            rejected: 3,
            rejects: "\
row,type,id,field,reason
6,passage,port-9645678-V-0615,,\"observed_at: \"\"15-Jun-2023 25:10\"\" does not match the format \"\"%H:%M\"\": parameter 'hour' is not in the required range of 0..=23\"
7,passage,port-9756789-V-0616,,\"cargo[].tonnes: \"\"1.5\"\" is not a number: digits between thousands separators ('.') must come in groups of three\"
9,passage,,,\"the row has 10 cells, the header has 11\"
",
            stats: &["--from", "2023-06-14", "--to", "2023-06-16", "--site", "sample-port", "--by", "day,cargo"],
            // 32,450.5 t corn + 12,000 t wheat, 6,120.75 t sunflower oil, one empty arrival.
            expected: report(
                json!({"from": "2023-06-14", "to": "2023-06-16", "sites": ["sample-port"], "by": ["day", "cargo"]}),
                metrics(Some(3), Some(3), None, None, json!(50571.25)),
                vec![
                    row(
                        json!({"day": "2023-06-14", "cargo": "corn"}),
                        metrics(Some(1), Some(1), None, None, json!(32450.5)),
                    ),
                    row(
                        json!({"day": "2023-06-14", "cargo": "sunflower_oil"}),
                        metrics(Some(1), Some(1), None, None, json!(6120.75)),
                    ),
                    row(
                        json!({"day": "2023-06-14", "cargo": "wheat"}),
                        metrics(Some(1), Some(1), None, None, json!(12000)),
                    ),
                    row(
                        json!({"day": "2023-06-15", "cargo": null}),
                        metrics(Some(1), Some(1), None, None, Value::Null),
                    ),
                ],
            ),
        },
    ];
    let sample_directory =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../corridor-import/tests/data");
    for sample in samples {
        let name = sample.name;
        // Copies, so that the reject files are written beside them and not in the repository.
        let csv_name = format!("{name}.csv");
        let csv = workspace.write(
            &csv_name,
            &std::fs::read(sample_directory.join(&csv_name)).expect("the sample CSV"),
        );
        let mapping = sample_directory
            .join(format!("{name}.toml"))
            .display()
            .to_string();
        let rejects = workspace.text(&format!("{name}.csv.rejects.csv"));

        let first = workspace.run(&["import", &csv, "--map", &mapping]);
        assert_eq!(first.code, Some(EXIT_REJECTED), "{name}: {}", first.stderr);
        assert_eq!(
            first.stdout,
            format!(
                "import: {} stored, 0 already stored, {} rejected (reasons in {rejects})\n",
                sample.stored, sample.rejected
            ),
            "{name}"
        );
        let reject_file = std::fs::read_to_string(&rejects).expect("the reject file");
        assert_eq!(reject_file, sample.rejects, "{name}");
        assert_eq!(
            first.stderr.lines().count() as u64,
            sample.rejected,
            "{name}: one line per rejection:\n{}",
            first.stderr
        );
        for text in [&first.stderr, &reject_file] {
            assert!(
                !text.contains("12 AB 34"),
                "a private value leaked:\n{text}"
            );
        }

        // The stored records are exactly those the sample's expected output imports.
        let expected_items =
            std::fs::read_to_string(sample_directory.join(format!("{name}.expected.jsonl")))
                .expect("the sample's expected output");
        let mut imported = 0;
        for item in expected_items.lines().map(parse_json) {
            let Some(id) = item["id"].as_str() else {
                continue;
            };
            if item["outcome"] == "imported" {
                imported += 1;
                let shown = workspace.show(&[id]);
                assert_eq!(shown["leaf"]["record"]["id"], id);
                assert_eq!(
                    shown["leaf"]["record"]["observed_at"], item["record"]["observed_at"],
                    "{id}"
                );
            } else {
                check_failure(
                    &workspace,
                    &["show", id],
                    1,
                    &format!("error: no record {id:?}\n"),
                );
            }
        }
        assert_eq!(imported, sample.stored, "{name}");

        check_stats(&workspace, sample.stats, sample.expected);

        let again = workspace.run(&["import", &csv, "--map", &mapping, "--format", "json"]);
        assert_eq!(again.code, Some(EXIT_REJECTED), "{name}");
        assert_eq!(
            parse_json(&again.stdout),
            json!({"stored": 0, "already_stored": sample.stored, "rejected": sample.rejected, "rejects_file": rejects}),
            "{name}"
        );
    }
    let status = workspace.status();
    assert_eq!(status["by_type"], json!({"site": 3, "passage": 12}));
}

#[test]
fn demo_loads_the_published_aggregates() {
    let workspace = Workspace::empty();
    let run = workspace.run(&["demo"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let data = workspace.data_text();
    assert_eq!(
        run.stderr,
        format!("loading the demo data set into {data} ...\n")
    );
    // Each demo log has an origin of its own: the demo prefix and 8 hex digits.
    let origin = corridor_engine::DataDir::open(&workspace.data())
        .expect("the demo store opens")
        .config()
        .origin
        .clone();
    let suffix = origin
        .strip_prefix("demo.corridor.invalid/lachin-synthetic-")
        .unwrap_or_default();
    assert!(
        suffix.len() == 8 && suffix.bytes().all(|byte| byte.is_ascii_hexdigit()),
        "{origin}"
    );
    assert_eq!(
        run.stdout,
        format!(
            "\
Demo store ready: {data} (993 records, log origin {origin})

SYNTHETIC DATA. Only the aggregates are public figures, each attributed to the party
that published it; the per-vehicle records spread those totals over days and vehicles.

Passages on lachin-road from 2022-12-12 to 2023-01-23:
category      direction  vehicles  passages  passengers  medical_evacuees  tonnes
peacekeeping  inbound           2         2          26
peacekeeping  unknown         856       856
red_cross     outbound         43        43          90                90
red_cross     unknown          79        79
------------  ---------  --------  --------  ----------  ----------------  ------
total                         980       980         116                90

Next: corridor --data {data} stats --from 2022-12-12 --to 2023-01-23 --by week,category
"
        )
    );
    let check_figures = |workspace: &Workspace| {
        check_stats(
            workspace,
            &[
                "--from",
                "2022-12-12",
                "--to",
                "2023-01-23",
                "--by",
                "category",
            ],
            report(
                json!({"from": "2022-12-12", "to": "2023-01-23", "by": ["category"]}),
                metrics(Some(980), Some(980), Some(116), Some(90), Value::Null),
                vec![
                    row(
                        json!({"category": "peacekeeping"}),
                        metrics(Some(858), Some(858), Some(26), None, Value::Null),
                    ),
                    row(
                        json!({"category": "red_cross"}),
                        metrics(Some(122), Some(122), Some(90), Some(90), Value::Null),
                    ),
                ],
            ),
        );
        check_stats(
            workspace,
            &[
                "--from",
                "2023-01-17",
                "--to",
                "2023-01-17",
                "--direction",
                "inbound",
            ],
            report(
                json!({"from": "2023-01-17", "to": "2023-01-17", "by": [], "direction": "inbound"}),
                metrics(Some(2), Some(2), Some(26), None, Value::Null),
                vec![],
            ),
        );
    };
    check_figures(&workspace);

    // Running it again re-creates the same store, as a new log (a new key
    // and so an origin of its own).
    let again = workspace.run(&["demo"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let new_origin = corridor_engine::DataDir::open(&workspace.data())
        .expect("the demo store opens")
        .config()
        .origin
        .clone();
    assert_ne!(new_origin, origin);
    assert_eq!(again.stdout, run.stdout.replace(&origin, &new_origin));
    check_figures(&workspace);
    let status = workspace.status();
    assert_eq!(status["records"], 993);
    assert_eq!(status["demo"], true);
}

#[test]
fn demo_refuses_a_directory_that_is_not_a_demo_store() {
    let workspace = Workspace::with_fixture_passages();
    let data = workspace.data_text();
    let run = workspace.run(&["demo"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "loading the demo data set into {data} ...\n\
             error: creating the demo store in {data}: {data} holds real records, not the demo; refusing to overwrite it\n"
        )
    );
    // The real records are untouched.
    let status = workspace.status();
    assert_eq!(status["records"], 13);

    let other = Workspace::empty();
    std::fs::create_dir(other.data()).expect("create a directory");
    std::fs::write(other.data().join("notes.txt"), "mine").expect("write a file");
    let data = other.data_text();
    let run = other.run(&["demo"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "loading the demo data set into {data} ...\n\
             error: creating the demo store in {data}: {data} is not empty; choose an empty or new directory\n"
        )
    );
    assert_eq!(
        std::fs::read_to_string(other.data().join("notes.txt")).expect("the file is kept"),
        "mine"
    );
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
    let workspace = Workspace::initialized();
    let mut first = workspace
        .command(&["add", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the corridor binary runs");
    let holder = format!("pid {} (corridor add)", first.id());
    // The lock is taken before any input is read; wait until the file names the holder.
    let lock_file = workspace.data().join("writer.lock");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&lock_file).is_ok_and(|text| text.starts_with(&holder)) {
        assert!(
            Instant::now() < deadline,
            "the first add never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let input = workspace.write("site.jsonl", record_line("site", SITE_FIELDS).as_bytes());
    let second = workspace.run(&["add", &input]);
    assert_eq!(second.code, Some(1));
    let expected_start = format!("error: the data directory is being written by {holder} since ");
    let expected_end = format!(
        " (lock file {}); wait for it to finish\n",
        lock_file.display()
    );
    assert!(
        second.stderr.starts_with(&expected_start) && second.stderr.ends_with(&expected_end),
        "{}",
        second.stderr
    );
    assert!(!workspace.path("site.jsonl.rejects.csv").exists());

    let mut stdin = first.stdin.take().expect("piped stdin");
    stdin
        .write_all(format!("{}\n", record_line("site", SITE_FIELDS)).as_bytes())
        .expect("write to the first add");
    drop(stdin);
    let output = first.wait_with_output().expect("the first add finishes");
    assert_eq!(
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).as_ref(),
            String::from_utf8_lossy(&output.stderr).as_ref()
        ),
        (Some(0), "add: 1 stored, 0 already stored, 0 rejected\n", "")
    );
    // With the lock released, the second writer gets through (its site is already stored).
    assert_eq!(
        workspace.succeed(&["add", &input]),
        "add: 0 stored, 1 already stored, 0 rejected\n"
    );
}

#[test]
fn erase_removes_the_private_part_and_keeps_the_leaf() {
    let workspace = Workspace::initialized_with(&["--public-time-precision", "hour"]);
    let records = [
        record_line("site", SITE_FIELDS),
        record_line(
            "passage",
            r#""id":"p-1","site":"lachin","observed_at":"2022-12-12T21:47:13Z","category":"red_cross","private":{"plate":"AB 123"}"#,
        ),
        record_line(
            "correction",
            r#""id":"c-1","corrects":"p-1","reason":"plate misread","record":{"type":"passage","site":"lachin","observed_at":"2022-12-12T21:47:13Z","category":"red_cross"},"private":{"plate":"AB 128"}"#,
        ),
        record_line(
            "passage",
            r#""id":"p-2","site":"lachin","observed_at":"2022-12-13","category":"red_cross""#,
        ),
    ]
    .join("\n");
    let run = workspace.run_with_input(&["add", "-"], Some(records.as_bytes()));
    assert_eq!(run.code, Some(0), "{}", run.stderr);

    let public = workspace.succeed(&["show", "p-1"]);
    // Published only to the hour, in the site's zone; the exact time is private.
    assert!(!public.contains("01:47"), "{public}");
    let mut shown = parse_json(&public);
    let leaf = shown["leaf"].as_object_mut().expect("a leaf object");
    let commitment = leaf.remove("commitment").expect("a commitment");
    assert!(
        commitment
            .as_str()
            .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit())),
        "{commitment}"
    );
    assert!(leaf.remove("logged_at").is_some_and(|at| at.is_string()));
    assert_eq!(
        shown,
        json!({
            "leaf_index": 1,
            "current_leaf_index": 2,
            "retracted": false,
            "leaf": {"v": 1, "record": {
                "type": "passage", "id": "p-1", "site": "lachin",
                "observed_at": "2022-12-13T01:00:00+04:00", "direction": "unknown",
                "category": "red_cross", "vehicle_class": "unknown", "count": 1, "outcome": "passed",
                "source": {"kind": "direct_observation", "name": "team A"}, "recorded_by": "observer-1"
            }}
        })
    );
    assert_eq!(
        workspace.show(&["p-1", "--private"])["private"],
        json!({"plate": "AB 123", "exact_times": {"observed_at": "2022-12-13T01:47:13+04:00"}})
    );
    assert_eq!(
        workspace.show(&["c-1", "--private"])["private"],
        json!({"plate": "AB 128", "exact_times": {"record.observed_at": "2022-12-13T01:47:13+04:00"}})
    );
    // A day-only time has nothing finer to keep private.
    let day_only = workspace.show(&["p-2", "--private"]);
    assert_eq!(day_only["leaf"]["record"]["observed_at"], "2022-12-13");
    assert_eq!(day_only["private"], Value::Null);

    let correction_before = workspace.succeed(&["show", "c-1"]);
    let log_before = workspace.log_files();
    assert_eq!(
        workspace.succeed(&["erase", "p-1"]),
        "erased 2 private part(s) of p-1 (gone from disk); the public record and its commitment stay\n"
    );
    assert_eq!(
        workspace.show(&["p-1", "--private"])["private"],
        Value::Null
    );
    assert_eq!(
        workspace.show(&["c-1", "--private"])["private"],
        Value::Null
    );
    assert_eq!(workspace.succeed(&["show", "p-1"]), public);
    assert_eq!(workspace.succeed(&["show", "c-1"]), correction_before);
    assert!(!log_before.is_empty());
    assert_eq!(workspace.log_files(), log_before);
    // The counts do not depend on private parts.
    check_stats(
        &workspace,
        &["--from", "2022-12-13", "--to", "2022-12-13"],
        report(
            json!({"from": "2022-12-13", "to": "2022-12-13", "by": []}),
            metrics(Some(2), Some(2), None, None, Value::Null),
            vec![],
        ),
    );
    check_failure(
        &workspace,
        &["erase", "p-9"],
        1,
        "error: no record \"p-9\"\n",
    );
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    let workspace = Workspace::with_fixture_passages();
    let data = workspace.data_text();
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (
            vec!["stats", "--from", "2023-01-10", "--to", "2023-01-01"],
            1,
            "error: --to 2023-01-01 is before --from 2023-01-10\n".into(),
        ),
        (
            vec!["stats", "--from", "2023-02-30", "--to", "2023-03-01"],
            1,
            "error: --from: \"2023-02-30\" is not a date (YYYY-MM-DD)\n".into(),
        ),
        (
            vec!["stats", "--from", "2023-01-01", "--to", "2023-01-10", "--by", "nonsense"],
            1,
            "error: \"nonsense\" is not a dimension (day, week, month, site, category, operator, direction, outcome, vehicle_class, cargo, source, source_kind, recorded_by)\n".into(),
        ),
        (
            vec!["stats", "--from", "2023-01-01", "--to", "2023-01-10", "--by", "day,day"],
            1,
            "error: dimension day is named twice\n".into(),
        ),
        (
            vec!["stats", "--from", "2023-01-01", "--to", "2023-01-10", "--direction", "sideways"],
            1,
            "error: --direction: \"sideways\" is not a direction (inbound, outbound, unknown)\n".into(),
        ),
        (
            vec!["init", "--origin", "test.example/again"],
            1,
            format!("error: creating data directory {data}: {data} already holds a Corridor data directory\n"),
        ),
        (
            vec!["stats", "--from", "2023-01-01", "--format", "xml", "--to", "2023-01-10"],
            2,
            "error: invalid value 'xml' for '--format <FORMAT>'\n  [possible values: table, csv, json]\n\nFor more information, try '--help'.\n".into(),
        ),
    ];
    for (arguments, code, stderr) in cases {
        check_failure(&workspace, &arguments, code, &stderr);
    }
    // `init` twice left the first store as it was.
    let status = workspace.status();
    assert_eq!(status["origin"], "test.example/cli");
}

#[test]
fn an_unknown_category_is_named_as_an_operator_category() {
    // Regression: the message said "is not a operator category".
    let workspace = Workspace::initialized();
    check_failure(
        &workspace,
        &[
            "stats",
            "--from",
            "2023-01-01",
            "--to",
            "2023-01-10",
            "--category",
            "nonsense",
        ],
        1,
        "error: --category: \"nonsense\" is not an operator category (peacekeeping, red_cross, un, ngo, civilian, commercial, government, military, media, other)\n",
    );
    check_failure(
        &workspace,
        &[
            "stats",
            "--from",
            "2023-01-01",
            "--to",
            "2023-01-10",
            "--outcome",
            "lost",
        ],
        1,
        "error: --outcome: \"lost\" is not a passage outcome (passed, turned_back, delayed, held)\n",
    );
}

#[test]
fn a_missing_data_directory_says_to_run_init() {
    let workspace = Workspace::empty();
    let data = workspace.data_text();
    let expected = format!(
        "error: {data} is not a Corridor data directory (no corridor.toml); create one with `corridor init --origin NAME`\n"
    );
    let input = workspace.write("site.jsonl", record_line("site", SITE_FIELDS).as_bytes());
    for arguments in [
        vec!["stats", "--from", "2023-01-01", "--to", "2023-01-10"],
        vec!["add", input.as_str()],
        vec!["show", "p-1"],
        vec!["status"],
    ] {
        check_failure(&workspace, &arguments, 1, &expected);
    }
    assert!(!workspace.data().exists(), "no command but init creates it");
    assert!(!workspace.path("site.jsonl.rejects.csv").exists());
}

#[test]
fn a_mapping_that_writes_a_field_the_record_type_lacks_is_refused_before_any_row() {
    let workspace = Workspace::initialized();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corridor-import/tests/data");
    let mapping = std::fs::read_to_string(samples.join("port-voyages.toml"))
        .expect("sample mapping")
        .replacen("observed_at = ", "observed_on = ", 1);
    let mapping_path = workspace.path("typo.toml");
    std::fs::write(&mapping_path, mapping).expect("written");
    let run = workspace.run(&[
        "import",
        &samples.join("port-voyages.csv").display().to_string(),
        "--map",
        &mapping_path.display().to_string(),
    ]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("fields.\"observed_on\": a passage record has no field \"observed_on\""),
        "{}",
        run.stderr
    );
    assert!(
        workspace.succeed(&["status"]).contains("0 records"),
        "nothing was stored"
    );
}

/// Regression (issue 11, item 4): a local time in a clock change was stored
/// silently shifted (`02:30` in the spring gap became `03:30-04:00`).
#[test]
fn a_local_time_in_a_clock_change_is_refused_asking_for_an_offset() {
    let workspace = Workspace::initialized();
    let passage = |id: &str, at: &str| {
        record_line(
            "passage",
            &format!(r#""id":"{id}","site":"nyc","observed_at":"{at}","category":"civilian""#),
        )
    };
    let lines = [
        record_line(
            "site",
            r#""id":"nyc","name":"Holland Tunnel","kind":"crossing","timezone":"America/New_York""#,
        ),
        passage("p-gap", "2023-03-12T02:30"),
        passage("p-fold", "2023-11-05T01:30"),
        passage("p-fold-first", "2023-11-05T01:30-04:00"),
        passage("p-fold-second", "2023-11-05T01:30:00-05:00"),
    ];
    let input = workspace.write("clock-changes.jsonl", lines.join("\n").as_bytes());
    let rejects = workspace.text("clock-changes.rejects.csv");
    let run = workspace.run(&["add", &input, "--rejects", &rejects]);
    assert_eq!(run.code, Some(EXIT_REJECTED), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "rejected: line 2 (passage p-gap): observed_at: 2023-03-12T02:30:00 does not name a single \
         moment in America/New_York: the clocks skipped it (from -05:00 to -04:00); give the time \
         with an offset\n\
         rejected: line 3 (passage p-fold): observed_at: 2023-11-05T01:30:00 does not name a \
         single moment in America/New_York: the clocks showed it twice (at -04:00, then at \
         -05:00); give the time with an offset\n"
    );
    assert_eq!(
        run.stdout,
        format!("add: 3 stored, 0 already stored, 2 rejected (reasons in {rejects})\n")
    );
    // Each side of the fold, given with its offset, is stored as that moment.
    assert_eq!(
        workspace.show(&["p-fold-first"])["leaf"]["record"]["observed_at"],
        "2023-11-05T01:30:00-04:00"
    );
    assert_eq!(
        workspace.show(&["p-fold-second"])["leaf"]["record"]["observed_at"],
        "2023-11-05T01:30:00-05:00"
    );
}

/// Regression: an error whose message already quotes its cause printed the
/// cause a second time (a broken mapping's TOML message appeared twice).
#[test]
fn an_error_and_its_cause_are_each_said_once() {
    let workspace = Workspace::initialized();
    let input = workspace.write("register.csv", b"a,b\n1,2\n");
    let mapping = workspace.write("broken.toml", b"this is not toml = =\n");
    let run = workspace.run(&["import", &input, "--map", &mapping]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: mapping {mapping} is not usable: the mapping is not valid: TOML parse error at line 1, column 6"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("TOML parse error").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn schema_records_prints_a_json_schema_whose_root_is_one_of_the_ten_record_types() {
    let sandbox = Sandbox::new();
    let schema = parse_json(&sandbox.corridor().succeed(&["schema", "records"]));
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "the 2020-12 dialect"
    );
    let types: Vec<&str> = schema["$defs"]["RecordType"]["enum"]
        .as_array()
        .expect("RecordType lists the types")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(types.len(), 10, "ten record types: {types:?}");
    let branches = schema["oneOf"].as_array().expect("the root is a oneOf");
    assert_eq!(branches.len(), types.len(), "one branch per record type");
    assert_eq!(schema["discriminator"]["propertyName"], "type");
    let mapping = schema["discriminator"]["mapping"]
        .as_object()
        .expect("a discriminator mapping");
    let mut seen = Vec::new();
    for branch in branches {
        let reference = branch["$ref"].as_str().expect("each branch is a $ref");
        let name = reference
            .strip_prefix("#/$defs/")
            .expect("a reference into $defs");
        let definition = &schema["$defs"][name];
        let record_type = definition["properties"]["type"]["const"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} fixes its type: {definition}"));
        assert_eq!(
            mapping[record_type], reference,
            "{record_type} maps to {name}"
        );
        assert_eq!(
            definition["additionalProperties"], false,
            "{name} refuses unknown fields"
        );
        seen.push(record_type);
    }
    seen.sort_unstable();
    let mut expected = types.clone();
    expected.sort_unstable();
    assert_eq!(seen, expected, "every record type has exactly one branch");
    assert_eq!(mapping.len(), types.len());
}
