//! `corridor export` through the real binary: a JSON Lines export of the
//! demo read back into a fresh store gives the same records, statistics and
//! verdicts; CSV and HXL headers; the xlsx workbook; filtered exports carry
//! the sites they refer to; private parts only with `--private`.

use std::path::Path;

use serde_json::Value;

// Each test file uses a part of the shared helpers; the rest would warn.
#[allow(dead_code)]
mod common;
use common::binary::Sandbox;

const FROM: &str = "2022-12-12";
const TO: &str = "2023-01-23";

fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

fn demo(sandbox: &Sandbox) -> std::path::PathBuf {
    let data = sandbox.path("demo");
    sandbox.corridor().succeed(&["--data", text(&data), "demo"]);
    data
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("export written")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// The value of `key = "..."` in a data directory's corridor.toml.
fn setting(data: &Path, key: &str) -> String {
    let config = std::fs::read_to_string(data.join("corridor.toml")).expect("corridor.toml");
    config
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key} = ")))
        .map(|value| value.trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("no {key} in corridor.toml"))
}

#[test]
fn an_unfiltered_jsonl_export_read_into_a_fresh_store_gives_the_same_records_figures_and_verdicts()
{
    let sandbox = Sandbox::new();
    let data = demo(&sandbox);
    let corridor = sandbox.corridor();
    let exported = sandbox.path("demo.jsonl");
    corridor.succeed(&[
        "--data",
        text(&data),
        "export",
        "--format",
        "jsonl",
        "-o",
        text(&exported),
    ]);
    let records = lines(&exported);
    let status = corridor.succeed_json(&["--data", text(&data), "status", "--format", "json"]);
    assert_eq!(
        records.len() as u64,
        status["records"].as_u64().expect("a count")
    );
    // Every type the store holds is in the export, as many as it holds.
    let by_type = status["by_type"].as_object().expect("counts by type");
    assert!(by_type.len() >= 5, "{by_type:?}");
    for (kind, count) in by_type {
        let exported = records
            .iter()
            .filter(|record| record["type"] == kind.as_str())
            .count();
        assert_eq!(Some(exported as u64), count.as_u64(), "{kind}");
    }

    let fresh = sandbox.path("fresh");
    corridor.succeed(&[
        "--data",
        text(&fresh),
        "init",
        "--origin",
        "fresh.example/lachin",
        "--public-time-precision",
        &setting(&data, "public_time_precision"),
    ]);
    corridor.succeed(&["--data", text(&fresh), "add", text(&exported)]);

    let again = sandbox.path("fresh.jsonl");
    corridor.succeed(&[
        "--data",
        text(&fresh),
        "export",
        "--format",
        "jsonl",
        "-o",
        text(&again),
    ]);
    assert_eq!(
        std::fs::read(&exported).expect("first export"),
        std::fs::read(&again).expect("second export"),
        "the records differ after the round trip"
    );
    let stats = |root: &Path| {
        corridor.succeed_json(&[
            "--data",
            text(root),
            "stats",
            "--from",
            FROM,
            "--to",
            TO,
            "--by",
            "day,category,direction,outcome",
            "--format",
            "json",
        ])
    };
    let figures = stats(&data);
    assert!(
        figures["totals"]["vehicles"]
            .as_i64()
            .is_some_and(|vehicles| vehicles > 0)
    );
    assert_eq!(figures, stats(&fresh));
    let verdicts = |root: &Path| {
        corridor.succeed_json(&["--data", text(root), "claims", "check", "--format", "json"])["claims"].clone()
    };
    let claims = verdicts(&data);
    assert!(claims.as_array().is_some_and(|claims| !claims.is_empty()));
    assert_eq!(claims, verdicts(&fresh));
}

#[test]
fn hxl_csv_has_the_header_then_the_hashtag_row_and_one_row_per_current_passage() {
    let sandbox = Sandbox::new();
    let data = demo(&sandbox);
    let corridor = sandbox.corridor();
    let hxl = sandbox.path("passages.hxl.csv");
    corridor.succeed(&[
        "--data",
        text(&data),
        "export",
        "--format",
        "hxl",
        "-o",
        text(&hxl),
    ]);
    let written = std::fs::read_to_string(&hxl).expect("export written");
    let mut rows = written.lines();
    assert_eq!(
        rows.next(),
        Some(
            "id,site,observed_at,direction,category,operator,vehicle_class,count,cargo_kinds,cargo_tonnes,cargo_lines,passengers,medical_evacuees,outcome,wait_minutes,mission,source_kind,source_name,source_url,source_published_on,recorded_by,notes,attributes,leaf_index,correction_id"
        )
    );
    assert_eq!(
        rows.next(),
        Some(
            "#meta+id,#loc+code,#date+observed,#meta+direction,#org+type,#org+name,#item+type+vehicle,#indicator+vehicles+num,#item+name+cargo,#indicator+tonnes+num,#item+cargo+list,#indicator+passengers+num,#indicator+evacuees+num,#status+outcome,#indicator+wait+num,#activity+code,#meta+source+type,#meta+source,#meta+url,#date+published,#meta+recorded_by,#description+notes,#meta+attributes,#meta+leaf+num,#meta+id+correction"
        )
    );
    let figures = corridor.succeed_json(&[
        "--data",
        text(&data),
        "stats",
        "--from",
        "2020-01-01",
        "--to",
        "2029-12-31",
        "--format",
        "json",
    ]);
    let passages = figures["totals"]["passages"]
        .as_u64()
        .expect("passages counted");
    assert_eq!(rows.count() as u64, passages);

    let csv = sandbox.path("sites.csv");
    corridor.succeed(&[
        "--data",
        text(&data),
        "export",
        "--format",
        "csv",
        "--type",
        "site",
        "-o",
        text(&csv),
    ]);
    let written = std::fs::read_to_string(&csv).expect("export written");
    assert!(
        written.starts_with("id,name,kind,timezone,latitude,longitude,"),
        "{written}"
    );
    assert!(written.contains("lachin-road"));
    assert!(!written.contains("#loc"), "plain CSV has no hashtag row");

    let refused = corridor.fail(&[
        "--data",
        text(&data),
        "export",
        "--format",
        "csv",
        "--type",
        "site",
        "--type",
        "passage",
        "-o",
        text(&csv),
    ]);
    assert!(refused.contains("one record type"), "{refused}");
}

#[test]
fn the_xlsx_workbook_is_a_zip_with_the_export_sheet_and_one_sheet_per_record_type() {
    let sandbox = Sandbox::new();
    let data = demo(&sandbox);
    let workbook = sandbox.path("demo.xlsx");
    sandbox.corridor().succeed(&[
        "--data",
        text(&data),
        "export",
        "--format",
        "xlsx",
        "-o",
        text(&workbook),
    ]);
    let bytes = std::fs::read(&workbook).expect("workbook written");
    assert!(bytes.starts_with(b"PK\x03\x04"), "not a zip file");
    let holds = |name: &str| {
        bytes
            .windows(name.len())
            .any(|window| window == name.as_bytes())
    };
    assert!(holds("xl/workbook.xml"));
    assert!(holds("xl/styles.xml"));
    // "Export" and the sheets of the demo's record types: site, passage,
    // mission, incident, appeal, coverage, baseline, claim, correction, retraction.
    for sheet in 1..=11 {
        assert!(
            holds(&format!("xl/worksheets/sheet{sheet}.xml")),
            "no sheet {sheet}"
        );
    }
    assert!(!holds("xl/worksheets/sheet12.xml"));
    assert!(!sandbox.path("demo.partial").exists());
}

#[test]
fn a_filtered_export_holds_the_matching_passages_and_the_sites_they_refer_to() {
    let sandbox = Sandbox::new();
    let data = demo(&sandbox);
    let corridor = sandbox.corridor();
    let exported = sandbox.path("day.jsonl");
    corridor.succeed(&[
        "--data",
        text(&data),
        "export",
        "--format",
        "jsonl",
        "--type",
        "passage",
        "--from",
        "2023-01-17",
        "--to",
        "2023-01-17",
        "--category",
        "red_cross",
        "-o",
        text(&exported),
    ]);
    let records = lines(&exported);
    let sites: Vec<&str> = records
        .iter()
        .take_while(|record| record["type"] == "site")
        .filter_map(|record| record["id"].as_str())
        .collect();
    let passages: Vec<&Value> = records.iter().skip(sites.len()).collect();
    assert!(!passages.is_empty());
    for passage in &passages {
        assert_eq!(passage["type"], "passage", "{passage}");
        assert_eq!(passage["category"], "red_cross");
        assert!(
            passage["observed_at"]
                .as_str()
                .is_some_and(|at| at.starts_with("2023-01-17"))
        );
        let site = passage["site"].as_str().expect("a site");
        assert!(sites.contains(&site), "site {site} is not in the export");
    }
    let figures = corridor.succeed_json(&[
        "--data",
        text(&data),
        "stats",
        "--from",
        "2023-01-17",
        "--to",
        "2023-01-17",
        "--category",
        "red_cross",
        "--format",
        "json",
    ]);
    assert_eq!(
        Some(passages.len() as u64),
        figures["totals"]["passages"].as_u64()
    );

    // The filtered export reads back into a fresh store on its own.
    let fresh = sandbox.path("fresh");
    corridor.succeed(&[
        "--data",
        text(&fresh),
        "init",
        "--origin",
        "fresh.example/day",
        "--public-time-precision",
        &setting(&data, "public_time_precision"),
    ]);
    let added = corridor.succeed(&["--data", text(&fresh), "add", text(&exported)]);
    assert!(
        added.contains(&format!("{} stored", records.len())),
        "{added}"
    );
}

#[test]
fn private_parts_are_exported_only_with_private() {
    let sandbox = Sandbox::new();
    let corridor = sandbox.corridor_on_data();
    corridor.succeed(&["init", "--origin", "test.example/export"]);
    let input = sandbox.path("first.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"type":"site","id":"km-12","name":"Checkpoint km 12","kind":"checkpoint","timezone":"Asia/Baku","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}"#, "\n",
            r#"{"type":"passage","id":"p-1","site":"km-12","observed_at":"2023-01-17T09:40","direction":"inbound","category":"red_cross","operator":"ICRC","vehicle_class":"truck","cargo":[{"kind":"food","tonnes":12.5}],"source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a","private":{"plate":"AB 123 C"}}"#, "\n",
        ),
    )
    .expect("input written");
    corridor.succeed(&["add", text(&input)]);
    for format in ["jsonl", "csv", "hxl", "xlsx"] {
        let public = sandbox.path(&format!("public.{format}"));
        corridor.succeed(&["export", "--format", format, "-o", text(&public)]);
        let bytes = std::fs::read(&public).expect("export written");
        assert!(
            !String::from_utf8_lossy(&bytes).contains("AB 123 C"),
            "{format} holds the plate"
        );
    }
    for format in ["jsonl", "csv"] {
        let private = sandbox.path(&format!("private.{format}"));
        let said = corridor.succeed(&[
            "export",
            "--format",
            format,
            "--private",
            "-o",
            text(&private),
        ]);
        assert!(said.contains("do not publish"), "{said}");
        let written = std::fs::read_to_string(&private).expect("export written");
        assert!(
            written.contains("AB 123 C"),
            "{format} with --private lacks the plate"
        );
    }
    let csv = std::fs::read_to_string(sandbox.path("public.csv")).expect("csv");
    let row = csv.lines().nth(1).expect("a passage row");
    assert!(row.starts_with("p-1,km-12,2023-01-17T09:40:00+04:00,inbound,red_cross,ICRC,truck,1,food,12.5,food 12.5 t,"), "{row}");
}
