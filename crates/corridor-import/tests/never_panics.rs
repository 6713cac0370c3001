//! The importer never panics on untrusted bytes: arbitrary files through a fixed mapping that uses every feature.

use corridor_import::{CsvImporter, ImportItem, Mapping};
use proptest::prelude::*;

/// A mapping that uses every feature at once; the CSV fuzz target runs the
/// same file (`fuzz/src/cases.rs`).
const MAPPING: &str = include_str!("every_feature_mapping.toml");

const HEADER: &str =
    "uuid,date,time,cat,n,t,k,plate\n#meta+id,#date,#time,#org+type,#num,#num+t,#cargo,#plate\n";

/// Runs the whole import and checks what holds for any input: every item
/// names at least one row, rows rise within an item, an imported record
/// carries its own id, and the iteration ends after a fatal error.
fn import_everything(mapping: &Mapping, bytes: &[u8]) {
    let Ok(mut importer) = CsvImporter::new(mapping, bytes) else {
        return;
    };
    for item in importer.by_ref() {
        match item {
            Ok(ImportItem::Record(record)) => {
                assert!(!record.rows.is_empty());
                assert!(record.rows.windows(2).all(|pair| pair[0] < pair[1]));
                assert_eq!(
                    record.record.get("id").and_then(|id| id.as_str()),
                    Some(record.id.as_str())
                );
            }
            Ok(ImportItem::Rejected(rejected)) => {
                assert!(!rejected.rows.is_empty());
                assert!(!rejected.reason.is_empty());
            }
            Err(_) => break,
        }
    }
    assert!(
        importer.next().is_none(),
        "the importer ends after a fatal error"
    );
    assert!(importer.bytes_read() <= bytes.len() as u64);
}

fn mapping() -> Mapping {
    Mapping::from_toml(MAPPING).expect("the fuzz mapping is valid")
}

/// Text made of the characters CSV parsing and the mapping care about.
fn csv_like_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just(",".to_owned()),
            Just("\"".to_owned()),
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just(" ".to_owned()),
            Just("#".to_owned()),
            Just("NA".to_owned()),
            Just("RU PK".to_owned()),
            Just("14-Jun-2023".to_owned()),
            Just("31/02/2023".to_owned()),
            Just("23:59".to_owned()),
            Just("1 204,5".to_owned()),
            Just("u1".to_owned()),
            Just("u2".to_owned()),
            Just("é".to_owned()),
            "[0-9a-z:/.+-]{0,4}",
        ],
        0..120,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        import_everything(&mapping(), &bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend(body);
        import_everything(&mapping(), &bytes);
    }

    #[test]
    fn csv_like_rows_after_a_valid_header_never_panic(body in csv_like_text()) {
        import_everything(&mapping(), format!("{HEADER}{body}").as_bytes());
    }
}

#[test]
fn the_fuzz_header_reaches_the_rows() {
    // Guards the properties above: if the header stopped matching the
    // mapping, they would only ever test the header check.
    let mapping = mapping();
    let file = format!("{HEADER}u1,14-Jun-2023,08:30,RU PK,2,\"1 204,5\",a,35 AB 123\n");
    let items: Vec<_> = CsvImporter::new(&mapping, file.as_bytes())
        .expect("the header matches the mapping")
        .collect::<Result<_, _>>()
        .expect("no fatal error");
    assert_eq!(items.len(), 1);
    let ImportItem::Record(record) = &items[0] else {
        panic!("expected a record, got {:?}", items[0]);
    };
    assert_eq!(record.id, "kobo-u1-14-Jun-2023");
    assert_eq!(
        serde_json::Value::Object(record.record.clone()),
        serde_json::json!({
            "type": "passage",
            "id": "kobo-u1-14-Jun-2023",
            "source": {"kind": "direct_observation", "name": "fuzz"},
            "recorded_by": "fuzz",
            "observed_at": "2023-06-14T08:30:00+03:00",
            "category": "peacekeeping",
            "count": 2,
            "cargo": [{"tonnes": 1204.5, "kind": "food"}],
            "private": {"plate": "35 AB 123"},
            "notes": "RU PK / a",
        })
    );
}

/// A mapping whose cargo comes from a repeat file joined by `_index` / `_parent_index`.
const REPEAT_MAPPING: &str = r#"
[fields]
type = { constant = "passage" }
id = { template = "kobo-{_uuid}" }
"source.kind" = { constant = "direct_observation" }
"source.name" = { constant = "fuzz" }
recorded_by = { constant = "fuzz" }
count = { column = "n", as = "integer" }
"cargo[].kind" = { column = "cargo/k", normalize = "slug" }
"cargo[].tonnes" = { column = "cargo/t", as = "number" }

[repeat.cargo]
key = "_index"
parent_key = "_parent_index"
"#;

/// Imports `main` with `cargo` joined, checking what holds for any input:
/// a record names its main-file row; a rejection names a main-file row, or
/// else is a line of the repeat file and says so.
fn import_with_repeat(main: &str, cargo: &str) {
    let mapping = Mapping::from_toml(REPEAT_MAPPING).expect("the repeat mapping is valid");
    let Ok(importer) = CsvImporter::with_repeat_files(
        &mapping,
        main.as_bytes(),
        vec![corridor_import::RepeatFile {
            name: "cargo".to_owned(),
            label: "cargo.csv".to_owned(),
            reader: cargo.as_bytes(),
        }],
    ) else {
        return;
    };
    for item in importer {
        match item {
            Ok(ImportItem::Record(record)) => assert_eq!(record.rows.len(), 1),
            Ok(ImportItem::Rejected(rejected)) => {
                assert!(
                    !rejected.rows.is_empty() || rejected.reason.starts_with("cargo.csv row"),
                    "{rejected:?}"
                );
            }
            Err(_) => break,
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_repeat_files_never_panic(main in csv_like_text(), cargo in csv_like_text()) {
        import_with_repeat(
            &format!("n,_uuid,_index\n{main}"),
            &format!("cargo/k,cargo/t,_parent_index\n{cargo}"),
        );
    }
}

#[test]
fn the_repeat_header_reaches_the_rows() {
    // Guards the property above, as the test before guards the others.
    let mapping = Mapping::from_toml(REPEAT_MAPPING).expect("valid");
    let items: Vec<_> = CsvImporter::with_repeat_files(
        &mapping,
        "n,_uuid,_index\n2,u1,1\n".as_bytes(),
        vec![corridor_import::RepeatFile {
            name: "cargo".to_owned(),
            label: "cargo.csv".to_owned(),
            reader: "cargo/k,cargo/t,_parent_index\nSoya beans,3,1\n".as_bytes(),
        }],
    )
    .expect("the headers match the mapping")
    .collect::<Result<_, _>>()
    .expect("no fatal error");
    let [ImportItem::Record(record)] = items.as_slice() else {
        panic!("expected one record, got {items:?}");
    };
    assert_eq!(
        record.record.get("cargo"),
        Some(&serde_json::json!([{"kind": "soya_beans", "tonnes": 3}]))
    );
}
