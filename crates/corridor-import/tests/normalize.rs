//! Normalising cell text (`normalize = "slug"`, `"lower"`, `"trim"`) through the public importer API: before the value map, in templates, and checked with the mapping.

use corridor_import::{CsvImporter, ImportItem, Mapping};

/// A mapping with the fields every record needs and `fields` added.
fn mapping(fields: &str) -> Result<Mapping, String> {
    Mapping::from_toml(&format!(
        r#"
        [fields]
        type = {{ constant = "passage" }}
        id = {{ column = "ID" }}
        "source.kind" = {{ constant = "direct_observation" }}
        "source.name" = {{ constant = "Team A" }}
        recorded_by = {{ constant = "team-a" }}
        {fields}
        "#
    ))
    .map_err(|error| error.to_string())
}

/// The `field` of each imported record, or the reason of each rejection.
fn import_field(fields: &str, csv: &str, field: &str) -> Vec<String> {
    let mapping = mapping(fields).expect("mapping is valid");
    CsvImporter::new(&mapping, csv.as_bytes())
        .expect("columns found")
        .map(|item| match item.expect("import runs") {
            ImportItem::Record(imported) => imported.record[field].to_string(),
            ImportItem::Rejected(rejected) => rejected.reason,
        })
        .collect()
}

#[test]
fn a_slug_is_made_before_the_value_map_and_its_keys_are_normalised_too() {
    let fields = r#""cargo[].kind" = { column = "Cargo", normalize = "slug", map = { "Soya beans" = "soy", wheat_flour = "flour" }, ignore_unmapped = true }"#;
    assert_eq!(
        import_field(
            fields,
            "ID,Cargo\np-1,Sunflower meal\np-2, SOYA  beans\np-3,Wheat flour\np-4,--\n",
            "cargo"
        ),
        vec![
            r#"[{"kind":"sunflower_meal"}]"#.to_owned(),
            r#"[{"kind":"soy"}]"#.to_owned(),
            r#"[{"kind":"flour"}]"#.to_owned(),
            r#"cargo[].kind: "--" in column "Cargo" has no letters or digits to make a slug from (normalize = "slug")"#.to_owned(),
        ]
    );
}

#[test]
fn a_private_value_that_has_no_slug_is_not_shown() {
    assert_eq!(
        import_field(
            r#""private.driver" = { column = "Driver", normalize = "slug" }"#,
            "ID,Driver\np-1,???\n",
            "private"
        ),
        vec![
            r#"private.driver: the value in column "Driver" has no letters or digits to make a slug from (normalize = "slug") (value not shown)"#
                .to_owned()
        ]
    );
}

#[test]
fn lower_and_trim_apply_to_templates_too() {
    assert_eq!(
        import_field(
            r#"operator = { template = "{Org}  {Unit}", normalize = "lower" }"#,
            "ID,Org,Unit\np-1,ICRC,Goris   Office\n",
            "operator"
        ),
        vec![r#""icrc goris office""#.to_owned()]
    );
}

#[test]
fn normalize_is_checked_with_the_mapping() {
    assert_eq!(
        mapping(r#"category = { column = "C", normalize = "upper" }"#).err(),
        Some(
            r#"fields.category.normalize: "upper" is not a normalisation: use "trim", "lower" or "slug""#
                .to_owned()
        )
    );
    assert_eq!(
        mapping(r#"count = { column = "N", as = "integer", normalize = "trim" }"#).err(),
        Some(
            r#"fields.count.normalize: only applies to text fields (no `as`, or `as = "text"`)"#
                .to_owned()
        )
    );
    assert_eq!(
        mapping(r#"site = { constant = "x", normalize = "slug" }"#).err(),
        Some("fields.site: a constant takes no other keys (found: normalize)".to_owned())
    );
    assert_eq!(
        mapping(
            r#"category = { column = "C", normalize = "slug", map = { "Red Cross" = "red_cross", red_cross = "red_cross" } }"#
        )
        .err(),
        Some(
            r#"fields.category.map: "Red Cross" and "red_cross" are the same value once normalised"#
                .to_owned()
        )
    );
    assert_eq!(
        mapping(r#"category = { column = "C", normalize = "slug", map = { "--" = "other" } }"#)
            .err(),
        Some(
            r#"fields.category.map: the key "--" has no letters or digits to make a slug from (normalize = "slug")"#
                .to_owned()
        )
    );
}
