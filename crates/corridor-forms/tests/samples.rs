//! Synthesized CSV exports of the sample form, in KoBoToolbox's and ODK Central's layouts (tests/data/README.md), imported with the mapping the form writes, unedited, and compared with their expected records.

mod common;

use std::path::{Path, PathBuf};

use common::sample_request;
use corridor_forms::{ExportLayout, import_mapping};
use corridor_import::{CsvImporter, Mapping, RepeatFile};
use serde_json::Value;

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

fn open(path: &Path) -> std::io::BufReader<std::fs::File> {
    std::io::BufReader::new(
        std::fs::File::open(path)
            .unwrap_or_else(|error| panic!("opening {}: {error}", path.display())),
    )
}

/// With `UPDATE_EXPECT=1` the committed mapping and expected records are
/// rewritten instead of compared; review the diff before committing it.
fn updating() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some()
}

/// `tests/data/{layout_folder}`: `tally.toml` is the mapping the form
/// writes for that layout (compared whole), `tally.csv` and
/// `tally-cargo.csv` the export, `tally.expected.jsonl` the import items.
fn check(layout_folder: &str, layout: ExportLayout) {
    let directory: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(layout_folder);
    let mapping_text = import_mapping(&sample_request(), layout).expect("the mapping is written");
    let mapping_path = directory.join("tally.toml");
    if updating() {
        std::fs::write(&mapping_path, &mapping_text).expect("mapping written");
    }
    assert_eq!(
        mapping_text,
        read_text(&mapping_path),
        "{layout_folder}: the written mapping differs from tally.toml (UPDATE_EXPECT=1 rewrites it)"
    );
    let mapping = Mapping::from_toml(&mapping_text)
        .unwrap_or_else(|error| panic!("{layout_folder}/tally.toml: {error}"));
    let repeat_files = mapping.repeat_files();
    let [(repeat_name, Some(repeat_file))] = repeat_files.as_slice() else {
        panic!("the mapping names one repeat file");
    };
    let importer = CsvImporter::with_repeat_files(
        &mapping,
        open(&directory.join("tally.csv")),
        vec![RepeatFile {
            name: (*repeat_name).to_owned(),
            label: (*repeat_file).to_owned(),
            reader: open(&directory.join(repeat_file)),
        }],
    )
    .unwrap_or_else(|error| panic!("{layout_folder}: {error}"));
    let actual: Vec<Value> = importer
        .map(|item| {
            let item = item.unwrap_or_else(|error| panic!("{layout_folder}: {error}"));
            serde_json::to_value(item).expect("import items serialize to JSON")
        })
        .collect();
    let expected_path = directory.join("tally.expected.jsonl");
    if updating() {
        let lines: String = actual.iter().map(|item| format!("{item}\n")).collect();
        std::fs::write(&expected_path, lines).expect("expected records written");
    }
    let expected: Vec<Value> = read_text(&expected_path)
        .lines()
        .map(|line| serde_json::from_str(line).expect("expected lines are JSON"))
        .collect();
    assert_eq!(
        actual,
        expected,
        "{layout_folder}: actual items:\n{}",
        actual
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn a_kobotoolbox_export_imports_with_the_written_mapping() {
    check("kobo", ExportLayout::KoboToolbox);
}

#[test]
fn an_odk_central_export_imports_with_the_written_mapping() {
    check("odk-central", ExportLayout::OdkCentral);
}

#[test]
fn both_layouts_give_the_same_records_but_for_the_id_and_rows() {
    let records = |folder: &str| -> Vec<Value> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(folder)
            .join("tally.expected.jsonl");
        read_text(&path)
            .lines()
            .map(|line| {
                let item: Value = serde_json::from_str(line).expect("JSON");
                let mut record = item["record"].clone();
                if let Some(fields) = record.as_object_mut() {
                    fields.remove("id");
                }
                assert!(
                    record.is_object(),
                    "{folder}: every item is a record: {item}"
                );
                record
            })
            .collect()
    };
    assert_eq!(records("kobo"), records("odk-central"));
}
