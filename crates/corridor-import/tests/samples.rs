//! Sample field exports under tests/data, each imported through its mapping and compared whole with its expected output.

use std::path::{Path, PathBuf};

use corridor_import::{CsvImporter, Mapping};
use serde_json::Value;

fn data_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// Imports `tests/data/{sample_name}.csv` with `{sample_name}.toml` and
/// compares every item with `{sample_name}.expected.jsonl`, line by line as
/// JSON values (so key order does not matter). With `UPDATE_EXPECT=1` the
/// expected file is rewritten instead; review the diff before committing it.
fn check(sample_name: &str) {
    let directory = data_directory();
    let mapping_text = read_text(&directory.join(format!("{sample_name}.toml")));
    let mapping = Mapping::from_toml(&mapping_text)
        .unwrap_or_else(|error| panic!("{sample_name}.toml: {error}"));
    let csv_path = directory.join(format!("{sample_name}.csv"));
    let file = std::fs::File::open(&csv_path)
        .unwrap_or_else(|error| panic!("opening {}: {error}", csv_path.display()));
    let importer = CsvImporter::new(&mapping, std::io::BufReader::new(file))
        .unwrap_or_else(|error| panic!("{sample_name}.csv: {error}"));
    let actual: Vec<Value> = importer
        .map(|item| {
            let item = item.unwrap_or_else(|error| panic!("{sample_name}.csv: {error}"));
            serde_json::to_value(item).expect("import items serialize to JSON")
        })
        .collect();

    let expected_path = directory.join(format!("{sample_name}.expected.jsonl"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let lines: String = actual
            .iter()
            .map(|item| {
                format!(
                    "{}\n",
                    serde_json::to_string(item).expect("JSON values serialize")
                )
            })
            .collect();
        std::fs::write(&expected_path, lines)
            .unwrap_or_else(|error| panic!("writing {}: {error}", expected_path.display()));
        return;
    }
    let expected: Vec<Value> = read_text(&expected_path)
        .lines()
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str(line).unwrap_or_else(|error| {
                panic!("{sample_name}.expected.jsonl line {}: {error}", index + 1)
            })
        })
        .collect();
    for (index, (actual_item, expected_item)) in actual.iter().zip(&expected).enumerate() {
        assert_eq!(
            actual_item,
            expected_item,
            "{sample_name}: item {} differs\n  actual:   {actual_item}\n  expected: {expected_item}",
            index + 1
        );
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "{sample_name}: {} items imported, {} expected",
        actual.len(),
        expected.len()
    );
}

#[test]
fn hxl_daily_crossings() {
    check("hxl-daily-crossings");
}

#[test]
fn kobo_vehicle_cargo() {
    check("kobo-vehicle-cargo");
}

#[test]
fn port_voyages() {
    check("port-voyages");
}
