//! The binary on a PostgreSQL store: `corridor init --store URL` writes
//! `[store] url`, and `add`, `stats`, `show` and `check` then work on
//! PostgreSQL exactly as on SQLite (the same file into both gives the same
//! statistics); `--store` wins over `CORRIDOR_STORE`, which wins over the
//! file; a bad URL or a missing database is an error that names the store
//! and never prints its password.
//!
//! Runs on a throwaway cluster; skipped loudly without PostgreSQL (a
//! failure under `CORRIDOR_REQUIRE_POSTGRES=1`).

#[allow(dead_code)]
mod common;
use common::binary::{Corridor, Sandbox};
use corridor_store::postgres::cluster::Cluster;

const RECORDS: &str = r#"{"type":"site","id":"km-12","name":"Checkpoint km 12","kind":"checkpoint","timezone":"Asia/Baku","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}
{"type":"passage","id":"p-1","site":"km-12","observed_at":"2023-01-17T09:40","direction":"inbound","category":"red_cross","operator":"ICRC","vehicle_class":"truck","cargo":[{"kind":"food","tonnes":12.5}],"source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a","private":{"plate":"AB 123 C"}}
{"type":"passage","id":"p-2","site":"km-12","observed_at":"2023-01-17T10:05","category":"civilian","outcome":"turned_back","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}
{"type":"passage","id":"p-3","site":"km-12","observed_at":"2023-01-18T08:00","category":"red_cross","count":2,"source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}
"#;

const STATS: [&str; 9] = [
    "stats",
    "--from",
    "2023-01-17",
    "--to",
    "2023-01-18",
    "--by",
    "day,category,outcome",
    "--format",
    "json",
];

#[test]
fn a_data_directory_on_postgres_answers_as_one_on_sqlite() {
    let Some(cluster) = Cluster::shared_or_skip("corridor on a PostgreSQL store") else {
        return;
    };
    let url = cluster.create_database().expect("creates a database");
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path("records.jsonl"), RECORDS).expect("writes records");
    let records = sandbox.path("records.jsonl");
    let records = records.to_str().expect("UTF-8 path");

    let on_postgres = Corridor::with_data(sandbox.root(), &sandbox.path("pg"));
    on_postgres.succeed(&["--store", &url, "init", "--origin", "example.org/pg"]);
    let settings =
        std::fs::read_to_string(sandbox.path("pg/corridor.toml")).expect("reads settings");
    assert!(settings.contains(&url), "{settings}");
    on_postgres.succeed(&["add", records]);
    assert!(
        !sandbox.path("pg/store.db").exists(),
        "the records went to PostgreSQL, not a SQLite file"
    );

    let on_sqlite = Corridor::with_data(sandbox.root(), &sandbox.path("sqlite"));
    on_sqlite.succeed(&["init", "--origin", "example.org/sqlite"]);
    on_sqlite.succeed(&["add", records]);

    let from_postgres = on_postgres.succeed_json(&STATS);
    assert_eq!(from_postgres, on_sqlite.succeed_json(&STATS));
    assert_eq!(from_postgres["totals"]["vehicles"], 4, "{from_postgres}");
    assert!(on_postgres.succeed(&["show", "p-1"]).contains("\"p-1\""));
    on_postgres.succeed(&["check"]);
    // Adding the same file again stores nothing twice.
    on_postgres.succeed(&["add", records]);
    assert_eq!(on_postgres.succeed_json(&STATS), from_postgres);

    // The flag wins over the variable, which wins over the file.
    let empty = cluster.create_database().expect("creates a database");
    // `stats` as JSON with CORRIDOR_STORE naming the empty database.
    let stats_with_variable = |leading: &[&str]| -> serde_json::Value {
        let arguments: Vec<&str> = leading.iter().chain(STATS.iter()).copied().collect();
        let output = on_postgres
            .command(&arguments)
            .env("CORRIDOR_STORE", &empty)
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON")
    };
    let flagged = stats_with_variable(&["--store", &url]);
    assert_eq!(flagged["totals"]["vehicles"], 4, "{flagged}");
    let from_variable = stats_with_variable(&[]);
    assert_eq!(
        from_variable["totals"]["passages"],
        serde_json::Value::Null,
        "{from_variable}"
    );
}

#[test]
fn a_bad_store_url_or_a_missing_database_is_named_without_the_password() {
    let Some(cluster) = Cluster::shared_or_skip("bad PostgreSQL store URLs") else {
        return;
    };
    let sandbox = Sandbox::new();
    let corridor = Corridor::with_data(sandbox.root(), &sandbox.path("data"));
    let host = cluster.socket_dir().display().to_string();
    let missing = format!("postgresql://corridor:hunter2@/no_such_db?host={host}");
    let error = corridor.fail(&["--store", &missing, "init", "--origin", "example.org/x"]);
    assert!(
        error.contains("database \"no_such_db\" does not exist"),
        "{error}"
    );
    assert!(error.contains("corridor:***@"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
    assert!(
        !sandbox.path("data").exists(),
        "a failed init left its directory (writer.lock, keys/) behind"
    );

    let bad = "postgres://corridor:hunter2@db.example.org/corridor?sslmode=sometimes";
    let corridor = Corridor::with_data(sandbox.root(), &sandbox.path("other"));
    let error = corridor.fail(&["-vv", "--store", bad, "init", "--origin", "example.org/x"]);
    assert!(error.contains("sslmode=\"sometimes\""), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}
