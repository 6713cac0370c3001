//! Repeat groups in files of their own (`[repeat.NAME]`): each repeat line joined to the main row it names, through the public importer API.

use serde_json::{Value, json};

use corridor_import::{CsvImporter, ImportItem, Mapping, RepeatFile};

/// A passage mapping whose cargo comes from the repeat file `cargo`.
fn mapping(repeat: &str) -> Mapping {
    Mapping::from_toml(&format!(
        r#"
        [fields]
        type = {{ constant = "passage" }}
        id = {{ template = "tally-{{_uuid}}" }}
        "source.kind" = {{ constant = "direct_observation" }}
        "source.name" = {{ constant = "Team A" }}
        recorded_by = {{ constant = "team-a" }}
        count = {{ column = "count", as = "integer" }}
        "cargo[].kind" = {{ column = "cargo/cargo_kind", normalize = "slug" }}
        "cargo[].tonnes" = {{ column = "cargo/cargo_tonnes", as = "number" }}

        [repeat.cargo]
        {repeat}
        "#
    ))
    .expect("mapping is valid")
}

const KOBO_KEYS: &str = r#"key = "_index"
        parent_key = "_parent_index""#;

/// Imports `main` with `cargo` as the repeat file `cargo.csv`; each item
/// as `{"rows", "id", "cargo"}` or `{"rows", "rejected"}`.
fn import(repeat: &str, main: &str, cargo: &str) -> Result<Vec<Value>, String> {
    let mapping = mapping(repeat);
    let importer = CsvImporter::with_repeat_files(
        &mapping,
        main.as_bytes(),
        vec![RepeatFile {
            name: "cargo".to_owned(),
            label: "cargo.csv".to_owned(),
            reader: cargo.as_bytes(),
        }],
    )
    .map_err(|error| error.to_string())?;
    importer
        .map(|item| match item.map_err(|error| error.to_string())? {
            ImportItem::Record(imported) => Ok(json!({
                "rows": imported.rows,
                "id": imported.id,
                "cargo": imported.record.get("cargo"),
            })),
            ImportItem::Rejected(rejected) => {
                Ok(json!({"rows": rejected.rows, "rejected": rejected.reason}))
            }
        })
        .collect()
}

const KOBO_MAIN: &str = "count,_uuid,_index\n1,u-1,1\n2,u-2,2\n1,u-3,3\n";

#[test]
fn kobo_lines_join_their_row_by_index_and_a_row_without_lines_has_no_cargo() {
    let cargo = "cargo/cargo_kind,cargo/cargo_tonnes,_index,_parent_table_name,_parent_index\n\
                 Sunflower meal,20.5,1,tally,1\n\
                 Fuel,3,2,tally,3\n\
                 Soya beans,12,3,tally,1\n";
    assert_eq!(
        import(KOBO_KEYS, KOBO_MAIN, cargo),
        Ok(vec![
            json!({"rows": [2], "id": "tally-u-1", "cargo": [
                {"kind": "sunflower_meal", "tonnes": 20.5},
                {"kind": "soya_beans", "tonnes": 12}]}),
            json!({"rows": [3], "id": "tally-u-2", "cargo": null}),
            json!({"rows": [4], "id": "tally-u-3", "cargo": [{"kind": "fuel", "tonnes": 3}]}),
        ])
    );
}

#[test]
fn odk_central_lines_join_their_row_by_key() {
    let main = "SubmissionDate,count,_uuid,meta-instanceID,KEY\n\
                2023-06-14T08:00:00.000Z,1,u-1,uuid:u-1,uuid:u-1\n\
                2023-06-14T09:00:00.000Z,1,u-2,uuid:u-2,uuid:u-2\n";
    let cargo = "cargo/cargo_kind,cargo/cargo_tonnes,PARENT_KEY,KEY\n\
                 food,1.5,uuid:u-2,uuid:u-2/cargo[1]\n\
                 medicine,0.25,uuid:u-2,uuid:u-2/cargo[2]\n";
    assert_eq!(
        import("key = \"KEY\"\nparent_key = \"PARENT_KEY\"", main, cargo),
        Ok(vec![
            json!({"rows": [2], "id": "tally-u-1", "cargo": null}),
            json!({"rows": [3], "id": "tally-u-2", "cargo": [
                {"kind": "food", "tonnes": 1.5}, {"kind": "medicine", "tonnes": 0.25}]}),
        ])
    );
}

#[test]
fn a_line_whose_parent_is_missing_is_rejected_naming_file_and_row() {
    let cargo = "cargo/cargo_kind,cargo/cargo_tonnes,_parent_index\n\
                 food,1,9\n\
                 fuel,2,\n\
                 grain,3,9\n";
    assert_eq!(
        import(KOBO_KEYS, "count,_uuid,_index\n1,u-1,1\n", cargo),
        Ok(vec![
            json!({"rows": [2], "id": "tally-u-1", "cargo": null}),
            json!({"rows": [], "rejected": "cargo.csv rows 2, 4: column \"_parent_index\" is \"9\", but no row of the main file has that \"_index\" (repeat.cargo.key)"}),
            json!({"rows": [], "rejected": "cargo.csv row 3: column \"_parent_index\" is empty, so the line belongs to no row of the main file"}),
        ])
    );
}

#[test]
fn the_lines_of_a_skipped_row_are_skipped_with_it() {
    let mapping = Mapping::from_toml(&format!(
        r#"
        [fields]
        type = {{ constant = "passage" }}
        id = {{ template = "tally-{{_uuid}}" }}
        "source.kind" = {{ constant = "direct_observation" }}
        "source.name" = {{ constant = "Team A" }}
        recorded_by = {{ constant = "team-a" }}
        "cargo[].kind" = {{ column = "cargo/cargo_kind" }}
        [[skip]]
        column = "status"
        equals = "rejected"
        [repeat.cargo]
        {KOBO_KEYS}
        "#
    ))
    .expect("mapping is valid");
    let importer = CsvImporter::with_repeat_files(
        &mapping,
        "status,_uuid,_index\nrejected,u-1,1\n,u-2,2\n".as_bytes(),
        vec![RepeatFile {
            name: "cargo".to_owned(),
            label: "cargo.csv".to_owned(),
            reader: "cargo/cargo_kind,_parent_index\nfood,1\nfuel,2\n".as_bytes(),
        }],
    )
    .expect("columns found");
    let ids: Vec<String> = importer
        .map(|item| match item.expect("import runs") {
            ImportItem::Record(imported) => imported.id,
            ImportItem::Rejected(rejected) => rejected.reason,
        })
        .collect();
    assert_eq!(ids, vec!["tally-u-2".to_owned()]);
}

#[test]
fn a_bad_line_rejects_its_record_naming_the_repeat_file_and_row() {
    let cargo = "cargo/cargo_kind,cargo/cargo_tonnes,_parent_index\n\
                 food,1,1\n\
                 fuel,lots,1\n\
                 grain,2,1,extra\n";
    assert_eq!(
        import(KOBO_KEYS, "count,_uuid,_index\n1,u-1,1\n", cargo),
        Ok(vec![json!({"rows": [2], "rejected":
            "cargo.csv row 4: the row has 4 cells, the header has 3; \
             cargo.csv row 3: cargo[].tonnes: \"lots\" is not a number (decimal separator '.', no thousands separator)"})])
    );
}

#[test]
fn a_repeated_or_empty_main_key_is_rejected() {
    let cargo = "cargo/cargo_kind,cargo/cargo_tonnes,_parent_index\nfood,1,1\n";
    assert_eq!(
        import(
            KOBO_KEYS,
            "count,_uuid,_index\n1,u-1,1\n1,u-2,1\n1,u-3,\n",
            cargo
        ),
        Ok(vec![
            json!({"rows": [2], "id": "tally-u-1", "cargo": [{"kind": "food", "tonnes": 1}]}),
            json!({"rows": [3], "rejected": "repeat.cargo.key: column \"_index\" is \"1\" here and in row 2, so the lines of cargo.csv cannot be told apart"}),
            json!({"rows": [4], "rejected": "repeat.cargo.key: column \"_index\" is empty, so the lines of cargo.csv cannot be joined to this row"}),
        ])
    );
}

#[test]
fn mismatched_key_columns_stop_the_import() {
    let cargo = "cargo/cargo_kind,cargo/cargo_tonnes,_parent_index\nfood,1,1\n";
    assert_eq!(
        import(
            "key = \"KEY\"\nparent_key = \"_parent_index\"",
            KOBO_MAIN,
            cargo
        ),
        Err("repeat.cargo.key: the main file has no column \"KEY\"".to_owned())
    );
    assert_eq!(
        import(
            "key = \"_index\"\nparent_key = \"PARENT_KEY\"",
            KOBO_MAIN,
            cargo
        ),
        Err(
            "repeat file cargo.csv: repeat.cargo.parent_key: the file has no column \"PARENT_KEY\""
                .to_owned()
        )
    );
    assert_eq!(
        import(KOBO_KEYS, KOBO_MAIN, ""),
        Err("repeat file cargo.csv: the file is empty: it has no header row".to_owned())
    );
}

#[test]
fn repeat_files_must_match_the_mapping() {
    let mapping = mapping(KOBO_KEYS);
    let error = CsvImporter::new(&mapping, KOBO_MAIN.as_bytes())
        .expect_err("the repeat file is missing")
        .to_string();
    assert_eq!(
        error,
        "repeat file cargo: the mapping joins it as [repeat.cargo], but it was not given"
    );
    let error = CsvImporter::with_repeat_files(
        &mapping,
        KOBO_MAIN.as_bytes(),
        vec![
            RepeatFile {
                name: "cargo".to_owned(),
                label: "cargo.csv".to_owned(),
                reader: "_parent_index\n".as_bytes(),
            },
            RepeatFile {
                name: "people".to_owned(),
                label: "people.csv".to_owned(),
                reader: "_parent_index\n".as_bytes(),
            },
        ],
    )
    .expect_err("people is not declared")
    .to_string();
    assert_eq!(
        error,
        "repeat file people.csv: given as repeat \"people\", but the mapping has no [repeat.people] (it declares: cargo)"
    );
}

#[test]
fn repeat_columns_feed_list_fields_only() {
    let cargo = "cargo/cargo_kind,cargo/cargo_tonnes,_parent_index,note\nfood,1,1,x\n";
    let mapping_with = |extra: &str| {
        Mapping::from_toml(&format!(
            r#"
            [fields]
            type = {{ constant = "passage" }}
            id = {{ template = "tally-{{_uuid}}" }}
            "source.kind" = {{ constant = "direct_observation" }}
            "source.name" = {{ constant = "Team A" }}
            recorded_by = {{ constant = "team-a" }}
            {extra}
            [repeat.cargo]
            {KOBO_KEYS}
            "#
        ))
        .expect("mapping is valid")
    };
    let error = |extra: &str| {
        let mapping = mapping_with(extra);
        CsvImporter::with_repeat_files(
            &mapping,
            KOBO_MAIN.as_bytes(),
            vec![RepeatFile {
                name: "cargo".to_owned(),
                label: "cargo.csv".to_owned(),
                reader: cargo.as_bytes(),
            }],
        )
        .expect_err("refused")
        .to_string()
    };
    assert_eq!(
        error(r#"notes = { column = "note" }"#),
        "fields.notes: reads column \"note\" of repeat file cargo.csv; only list fields such as `cargo[].kind` can read a repeat file, one element per line"
    );
    assert_eq!(
        error(
            r#""cargo[].kind" = { column = "cargo/cargo_kind" }
            "cargo[].tonnes" = { column = "count", as = "number" }"#
        ),
        "fields.\"cargo[].tonnes\": reads column \"count\" of the main file; with repeat files, a list is filled from one of them, one element per line, and a main-file value would be repeated on every line"
    );
    assert_eq!(
        Mapping::from_toml(&format!(
            "group_by = {{ column = \"_uuid\" }}\n{}",
            "[fields]\ntype = { constant = \"passage\" }\nid = { template = \"t-{group}\" }\n\"source.kind\" = { constant = \"register\" }\n\"source.name\" = { constant = \"x\" }\nrecorded_by = { constant = \"x\" }\n[repeat.cargo]\nkey = \"_index\"\nparent_key = \"_parent_index\"\n"
        ))
        .expect_err("refused")
        .to_string(),
        "group_by: cannot be combined with [repeat.*]: with repeat files, each row of the main file is one record and its repeat lines are joined to it"
    );
}
