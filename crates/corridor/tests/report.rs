//! `corridor claims check` and `corridor report` through the real binary, on
//! the demo: both parties' claims side by side, and a report that anyone can
//! re-derive from the log alone, which fails, naming the figure, when the
//! report or the log was altered.

use std::path::{Path, PathBuf};

use serde_json::Value;

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::Sandbox;

struct Demo {
    sandbox: Sandbox,
    data: PathBuf,
}

impl Demo {
    fn new() -> Demo {
        let sandbox = Sandbox::new();
        let data = sandbox.path("demo");
        sandbox.corridor().succeed(&["--data", text(&data), "demo"]);
        Demo { sandbox, data }
    }

    #[track_caller]
    fn succeed(&self, arguments: &[&str]) -> String {
        self.sandbox.corridor().succeed(arguments)
    }

    /// Runs a command that must fail with exit code 1; returns its standard error.
    #[track_caller]
    fn fail(&self, arguments: &[&str]) -> String {
        self.sandbox.corridor().fail(arguments)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.sandbox.path(name)
    }

    fn data(&self) -> &str {
        text(&self.data)
    }

    fn vkey(&self) -> PathBuf {
        self.data.join("keys/log.vkey")
    }

    fn report(&self, format: &str, file: &str) -> PathBuf {
        let output = self.path(file);
        self.succeed(&[
            "--data",
            self.data(),
            "report",
            "--from",
            "2022-12-12",
            "--to",
            "2023-01-23",
            "--site",
            "lachin-road",
            "--format",
            format,
            "-o",
            text(&output),
        ]);
        output
    }

    /// `report verify REPORT` against this demo's log, with the key `vkey`.
    fn report_verify(&self, report: &Path, vkey: &Path) -> [String; 7] {
        [
            "report",
            "verify",
            text(report),
            "--log",
            text(&self.data.join("log")),
            "--vkey",
            text(vkey),
        ]
        .map(String::from)
    }

    /// Verifies `report` against this demo's log and key; returns the verdict.
    #[track_caller]
    fn verify_report(&self, report: &Path) -> String {
        let arguments = self.report_verify(report, &self.vkey());
        self.succeed(&arguments.each_ref().map(String::as_str))
    }

    /// Verifying `report` against this demo's log and the key `vkey` must
    /// fail with exit code 1; returns why.
    #[track_caller]
    fn refuse_report(&self, report: &Path, vkey: &Path) -> String {
        let arguments = self.report_verify(report, vkey);
        self.fail(&arguments.each_ref().map(String::as_str))
    }
}

fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[test]
fn the_demo_claims_show_both_readings_side_by_side() {
    let demo = Demo::new();
    let output: Value = serde_json::from_str(&demo.succeed(&[
        "--data",
        demo.data(),
        "claims",
        "check",
        "--format",
        "json",
    ]))
    .expect("JSON");
    let claims = output["claims"].as_array().expect("claims");
    let verdict_of = |id: &str| {
        claims
            .iter()
            .find(|claim| claim["id"] == id)
            .map(|claim| claim["verdict"].clone())
    };
    assert_eq!(
        verdict_of("claim-road-not-closed"),
        Some(Value::from("consistent"))
    );
    assert_eq!(
        verdict_of("claim-blockade-150-days"),
        Some(Value::from("not_verifiable"))
    );
    let first = claims
        .iter()
        .find(|claim| claim["id"] == "claim-road-not-closed")
        .expect("claim");
    let computed: Vec<Value> = first["assertions"]
        .as_array()
        .expect("assertions")
        .iter()
        .map(|assertion| assertion["computed"].clone())
        .collect();
    assert_eq!(
        computed,
        vec![
            Value::from(980),
            Value::from(858),
            Value::from(122),
            Value::from(90),
            Value::from(26),
            Value::from("severely_restricted")
        ]
    );
    // Every verdict names its sources and the checkpoint it was computed at.
    assert!(
        first["assertions"][0]["sources"][0]
            .as_str()
            .is_some_and(|source| source.starts_with("Ilham Aliyev, President of Azerbaijan"))
    );
    assert_eq!(output["checkpoint"]["tree_size"], Value::from(993));
    let text = demo.succeed(&[
        "--data",
        demo.data(),
        "claims",
        "check",
        "claim-blockade-150-days",
    ]);
    assert!(
        text.contains("claim-blockade-150-days — NOT VERIFIABLE"),
        "{text}"
    );
    assert!(text.contains("coverage lachin-road: 29%"), "{text}");
}

#[test]
fn an_honest_report_is_verified_from_the_log_alone() {
    let demo = Demo::new();
    let json_report = demo.report("json", "report.json");
    let report: Value =
        serde_json::from_slice(&std::fs::read(&json_report).expect("report")).expect("JSON");
    assert_eq!(report["totals"]["totals"]["vehicles"], Value::from(980));
    assert_eq!(
        report["sites"][0]["access"]["status"],
        Value::from("severely_restricted")
    );
    assert!(
        report["notices"]
            .as_array()
            .expect("notices")
            .iter()
            .any(|notice| notice
                .as_str()
                .is_some_and(|text| text.contains("synthetic")))
    );
    let verified = demo.verify_report(&json_report);
    assert!(
        verified.starts_with(
            "report verified: every figure matches the log demo.corridor.invalid/lachin-synthetic-"
        ),
        "{verified}"
    );
    assert!(verified.contains(" at tree size 993"), "{verified}");
    // The HTML page carries its JSON and verifies the same way.
    let html_report = demo.report("html", "report.html");
    demo.verify_report(&html_report);
}

#[test]
fn a_changed_figure_is_named() {
    let demo = Demo::new();
    let path = demo.report("json", "report.json");
    let mut report: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("report")).expect("JSON");
    report["totals"]["totals"]["vehicles"] = Value::from(1_980);
    std::fs::write(&path, serde_json::to_vec(&report).expect("JSON")).expect("written");
    let stderr = demo.refuse_report(&path, &demo.vkey());
    assert!(
        stderr.contains("mismatch: totals.totals.vehicles: report says 1980, the log gives 980"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 figures of the report do not match the log"),
        "{stderr}"
    );
}

/// `claims check FILE` reads its file with the same JSON Lines reader as
/// `add`: blank lines and CRLF are fine, and a key given twice is refused
/// naming the key and the line, not silently resolved to the last value.
#[test]
fn a_file_of_claims_is_read_like_any_json_lines_file() {
    let demo = Demo::new();
    let claim = r#"{"type":"claim","id":"claim-file-1","text":"980 vehicles used the road.","speaker":"A speaker","said_on":"2023-01-23","assertions":[{"metric":"vehicles","op":"eq","value":980,"from":"2022-12-12","to":"2023-01-23","sites":["lachin-road"]}],"source":{"kind":"media_report","name":"A newspaper"},"recorded_by":"tester"}"#;
    let file = demo.path("claims.jsonl");
    std::fs::write(&file, format!("\r\n{claim}\r\n")).expect("written");
    let output: Value = serde_json::from_str(&demo.succeed(&[
        "--data",
        demo.data(),
        "claims",
        "check",
        text(&file),
        "--format",
        "json",
    ]))
    .expect("JSON");
    assert_eq!(output["claims"][0]["id"], Value::from("claim-file-1"));
    assert_eq!(output["claims"][0]["verdict"], Value::from("consistent"));

    let twice = claim.replace(
        r#""speaker":"A speaker","#,
        r#""speaker":"A speaker","speaker":"B","#,
    );
    std::fs::write(&file, format!("\n{twice}\n")).expect("written");
    let stderr = demo.fail(&["--data", demo.data(), "claims", "check", text(&file)]);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("speaker"), "{stderr}");
}

/// Reports written before the map (`corridor-report/v1`) carry no site
/// coordinates; they must still verify, while a v2 report that lost its
/// coordinates, or a v1 report that carries wrong ones, is refused.
#[test]
fn a_report_made_before_the_map_still_verifies() {
    let demo = Demo::new();
    let path = demo.report("json", "report.json");
    let current: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("report")).expect("JSON");
    assert_eq!(current["format"], Value::from("corridor-report/v2"));
    assert!(current["sites"][0]["coordinates"].is_object(), "{current}");

    let write = |report: &Value| {
        std::fs::write(&path, serde_json::to_vec(report).expect("JSON")).expect("written");
    };
    let without_coordinates = |format: &str| {
        let mut report = current.clone();
        report["format"] = Value::from(format);
        for site in report["sites"].as_array_mut().expect("sites") {
            site.as_object_mut().expect("site").remove("coordinates");
        }
        report
    };

    write(&without_coordinates("corridor-report/v1"));
    let verified = demo.verify_report(&path);
    assert!(verified.starts_with("report verified"), "{verified}");

    write(&without_coordinates("corridor-report/v2"));
    let stderr = demo.refuse_report(&path, &demo.vkey());
    assert!(
        stderr.contains("mismatch: sites[0].coordinates: report says null"),
        "{stderr}"
    );

    let mut moved = current.clone();
    moved["format"] = Value::from("corridor-report/v1");
    moved["sites"][0]["coordinates"]["latitude"] = Value::from(1.5);
    write(&moved);
    let stderr = demo.refuse_report(&path, &demo.vkey());
    assert!(
        stderr.contains("mismatch: sites[0].coordinates.latitude: report says 1.5"),
        "{stderr}"
    );

    let mut unknown = current.clone();
    unknown["format"] = Value::from("corridor-report/v9");
    write(&unknown);
    let stderr = demo.refuse_report(&path, &demo.vkey());
    assert!(
        stderr.contains("the report's format is \"corridor-report/v9\"; this version checks corridor-report/v1 and corridor-report/v2"),
        "{stderr}"
    );
}

#[test]
fn an_altered_log_entry_is_detected() {
    let demo = Demo::new();
    let path = demo.report("json", "report.json");
    let bundle = demo.data.join("log/tile/entries/000");
    let mut bytes = std::fs::read(&bundle).expect("bundle");
    let at = bytes
        .windows(9)
        .position(|window| window == b"\"count\":1")
        .expect("a count");
    bytes[at + 8] = b'2';
    std::fs::write(&bundle, bytes).expect("written");
    let stderr = demo.refuse_report(&path, &demo.vkey());
    assert!(stderr.contains("not to the checkpoint's root"), "{stderr}");
}

#[test]
fn a_report_signed_by_another_key_is_refused() {
    let demo = Demo::new();
    let other = Demo::new();
    let path = demo.report("json", "report.json");
    let stderr = demo.refuse_report(&path, &other.vkey());
    assert!(stderr.contains("not signed by this key"), "{stderr}");
}

#[test]
fn the_csv_report_has_one_row_per_day() {
    let demo = Demo::new();
    let csv = std::fs::read_to_string(demo.report("csv", "report.csv")).expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "site,day,vehicles_passed,covered_share,baseline_per_day,index,status"
    );
    assert_eq!(lines.len(), 1 + 43);
    assert!(
        lines[1].starts_with("lachin-road,2022-12-12,"),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with(",severely_restricted"), "{}", lines[1]);
}

#[test]
fn a_report_needs_a_period() {
    let demo = Demo::new();
    let stderr = demo.fail(&["--data", demo.data(), "report", "--from", "2022-12-12"]);
    assert!(
        stderr.contains("give the period with --from and --to"),
        "{stderr}"
    );
    let stderr = demo.fail(&[
        "--data",
        demo.data(),
        "report",
        "--from",
        "2022-12-12",
        "--to",
        "2023-01-01",
        "--site",
        "nowhere",
    ]);
    assert!(
        stderr.contains("site \"nowhere\" does not exist"),
        "{stderr}"
    );
}

/// Issue 11, item 7: new sites must spell their zone as tzdb does, but a log
/// made before that rule holds a site with `"timezone": "asia/baku"`. Its
/// report must still verify: `report verify` replays each leaf under the
/// rules it was logged with.
#[test]
fn a_report_over_leaves_logged_under_older_rules_still_verifies() {
    let sandbox = Sandbox::new();
    let data = sandbox.path("data");
    sandbox.corridor().succeed(&[
        "--data",
        text(&data),
        "init",
        "--origin",
        "test.example/legacy",
    ]);
    let source = serde_json::json!({"kind": "direct_observation", "name": "Team A"});
    let records = [
        serde_json::json!({"type": "site", "id": "km-12", "name": "Checkpoint km 12",
            "kind": "checkpoint", "timezone": "asia/baku", "source": source,
            "recorded_by": "team-a"}),
        serde_json::json!({"type": "passage", "id": "p-1", "site": "km-12",
            "observed_at": "2023-01-17T09:40", "category": "red_cross", "source": source,
            "recorded_by": "team-a"}),
    ];
    // Written as the writer wrote it before the rule: a replaying writer
    // applies the older rules, which is what a log made back then holds.
    let data_dir = corridor_engine::DataDir::open(&data).expect("the data directory");
    let mut writer = data_dir
        .writer("writing a legacy log")
        .expect("the writer")
        .replaying_leaves();
    let items = records.iter().enumerate().map(|(index, record)| {
        let object = record
            .as_object()
            .cloned()
            .expect("the records are objects");
        Ok((corridor_model::Location::Line(index as u64 + 1), object))
    });
    let summary = writer
        .submit_all(items, |error| panic!("refused: {error}"), |_| {})
        .expect("stored");
    assert_eq!(summary.stored, 2);
    data_dir.integrate_log(&writer).expect("published");
    drop(writer);

    // A new submission with that spelling is refused...
    let site = sandbox.path("site.jsonl");
    let mut new_site = records[0].clone();
    new_site["id"] = Value::from("km-13");
    std::fs::write(&site, new_site.to_string()).expect("write the site");
    let refused = sandbox
        .corridor()
        .run(&["--data", text(&data), "add", text(&site)]);
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "rejected: line 1 (site km-13): timezone: \"asia/baku\" is not an IANA time zone name as \
         written; did you mean \"Asia/Baku\"?\n"
    );

    // ...and the old log's report is made and verified from its leaves.
    let report = sandbox.path("report.json");
    sandbox.corridor().succeed(&[
        "--data",
        text(&data),
        "report",
        "--from",
        "2023-01-17",
        "--to",
        "2023-01-17",
        "--site",
        "km-12",
        "--format",
        "json",
        "-o",
        text(&report),
    ]);
    let verified = sandbox.corridor().succeed(&[
        "report",
        "verify",
        text(&report),
        "--log",
        text(&data.join("log")),
        "--vkey",
        text(&data.join("keys/log.vkey")),
    ]);
    assert!(
        verified.starts_with(
            "report verified: every figure matches the log test.example/legacy at tree size 2"
        ),
        "{verified}"
    );
}
