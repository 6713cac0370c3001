//! `corridor form xlsform` through the real binary: the form and mapping from the store's sites, and the sample KoBo and ODK Central exports of that form imported with the written mapping, unedited, repeat files included.

#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};

use common::binary::Sandbox;
use serde_json::Value;

const SITES: &str = concat!(
    r#"{"type":"site","id":"lachin","name":"Lachin corridor","kind":"road_segment","timezone":"Asia/Baku","direction_labels":{"inbound":"towards Stepanakert","outbound":"towards Goris"},"source":{"kind":"direct_observation","name":"team A"},"recorded_by":"observer-1"}"#,
    "\n",
    r#"{"type":"site","id":"agdam","name":"Aghdam road","kind":"road_segment","timezone":"Asia/Baku","source":{"kind":"direct_observation","name":"team A"},"recorded_by":"observer-1"}"#,
    "\n"
);

/// The sample exports of corridor-forms, made from the same sites.
fn sample(layout: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corridor-forms/tests/data")
        .join(layout)
        .join(name)
}

fn sandbox_with_sites() -> Sandbox {
    let sandbox = Sandbox::new();
    let corridor = sandbox.corridor_on_data();
    corridor.succeed(&["init", "--origin", "test.example/form"]);
    std::fs::write(sandbox.path("sites.jsonl"), SITES).expect("sites written");
    corridor.succeed(&["add", &sandbox.text("sites.jsonl")]);
    sandbox
}

fn write_form(sandbox: &Sandbox, export: &str) {
    sandbox.corridor_on_data().succeed(&[
        "form",
        "xlsform",
        "--site",
        "lachin",
        "agdam",
        "-o",
        &sandbox.text("tally.xlsx"),
        "--mapping",
        &sandbox.text("tally.toml"),
        "--export",
        export,
        "--form-version",
        "2024061401",
        "--recorded-by",
        "observer-team-1",
    ]);
}

fn copy_sample(sandbox: &Sandbox, layout: &str, name: &str, to: &str) {
    std::fs::copy(sample(layout, name), sandbox.path(to)).expect("sample copied");
}

/// Every stored passage's id and cargo, from `show`.
fn stored(sandbox: &Sandbox, id: &str) -> Value {
    let shown: Value =
        serde_json::from_str(
            &sandbox
                .corridor_on_data()
                .succeed(&["show", id, "--private"]),
        )
        .expect("show prints JSON");
    shown
}

#[test]
fn a_kobo_export_of_the_written_form_imports_with_the_written_mapping() {
    let sandbox = sandbox_with_sites();
    write_form(&sandbox, "kobo");
    let xlsx = std::fs::read(sandbox.path("tally.xlsx")).expect("the form is written");
    assert_eq!(&xlsx[..2], b"PK", "an xlsx is a zip file");
    assert_eq!(
        std::fs::read_to_string(sandbox.path("tally.toml")).expect("mapping written"),
        std::fs::read_to_string(sample("kobo", "tally.toml")).expect("sample mapping"),
        "the binary writes the mapping the sample exports were checked with"
    );
    copy_sample(&sandbox, "kobo", "tally.csv", "tally.csv");
    copy_sample(&sandbox, "kobo", "tally-cargo.csv", "tally-cargo.csv");
    // The cargo file is found beside the main file, by the mapping's `file`.
    let summary: Value = serde_json::from_str(&sandbox.corridor_on_data().succeed(&[
        "import",
        &sandbox.text("tally.csv"),
        "--map",
        &sandbox.text("tally.toml"),
        "--format",
        "json",
    ]))
    .expect("the summary is JSON");
    assert_eq!(summary["stored"], 3, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");

    let first = stored(&sandbox, "tally-6f1c2a9e-0b1d-4c7e-9a51-3d2f8e7b1001");
    let record = &first["leaf"]["record"];
    assert_eq!(
        record["cargo"],
        serde_json::json!([{"kind": "medicine", "tonnes": 1.5}, {"kind": "food", "tonnes": 12}])
    );
    assert_eq!(record["direction"], "inbound");
    assert!(
        record.get("private").is_none(),
        "private data is not in the leaf"
    );
    assert_eq!(first["private"]["plate"], "35 AB 123");
    assert_eq!(first["private"]["gps_latitude"], 39.6341);

    // Importing the same export again stores nothing new: the ids come from `_uuid`.
    let again: Value = serde_json::from_str(&sandbox.corridor_on_data().succeed(&[
        "import",
        &sandbox.text("tally.csv"),
        "--map",
        &sandbox.text("tally.toml"),
        "--format",
        "json",
    ]))
    .expect("the summary is JSON");
    assert_eq!(again["stored"], 0, "{again}");
}

#[test]
fn an_odk_central_export_imports_with_a_repeat_file_named_on_the_command_line() {
    let sandbox = sandbox_with_sites();
    write_form(&sandbox, "odk-central");
    copy_sample(&sandbox, "odk-central", "tally.csv", "tally.csv");
    copy_sample(
        &sandbox,
        "odk-central",
        "tally-cargo.csv",
        "cargo-lines.csv",
    );
    let summary: Value = serde_json::from_str(&sandbox.corridor_on_data().succeed(&[
        "import",
        &sandbox.text("tally.csv"),
        "--map",
        &sandbox.text("tally.toml"),
        "--repeat",
        &format!("cargo={}", sandbox.text("cargo-lines.csv")),
        "--format",
        "json",
    ]))
    .expect("the summary is JSON");
    assert_eq!(summary["stored"], 3, "{summary}");
    let held = stored(&sandbox, "tally-uuid:6f1c2a9e-0b1d-4c7e-9a51-3d2f8e7b1004");
    assert_eq!(
        held["leaf"]["record"]["cargo"],
        serde_json::json!([{"kind": "construction_materials"}, {"kind": "other", "tonnes": 0.75}, {"kind": "flour", "tonnes": 8.25}])
    );
}

#[test]
fn form_and_repeat_mistakes_are_named() {
    let sandbox = sandbox_with_sites();
    let corridor = sandbox.corridor_on_data();
    let error = corridor.fail(&[
        "form",
        "xlsform",
        "--site",
        "lachn",
        "-o",
        &sandbox.text("tally.xlsx"),
    ]);
    assert!(
        error.contains("--site \"lachn\": no such site in the store (its sites: agdam, lachin)"),
        "{error}"
    );
    write_form(&sandbox, "kobo");
    copy_sample(&sandbox, "kobo", "tally.csv", "tally.csv");
    let error = corridor.fail(&[
        "import",
        &sandbox.text("tally.csv"),
        "--map",
        &sandbox.text("tally.toml"),
    ]);
    assert!(
        error.contains("opening repeat file")
            && error.contains("tally-cargo.csv for [repeat.cargo]"),
        "{error}"
    );
    let error = corridor.fail(&[
        "import",
        &sandbox.text("tally.csv"),
        "--map",
        &sandbox.text("tally.toml"),
        "--repeat",
        "people=people.csv",
    ]);
    assert!(
        error.contains("--repeat \"people=people.csv\": the mapping has no [repeat.people] (it declares: cargo)"),
        "{error}"
    );
}
