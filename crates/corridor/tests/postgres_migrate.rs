//! `corridor migrate --to URL`, through the real binary: a SQLite data
//! directory with a published log moves into PostgreSQL with the same
//! leaves, root, origin and key; `check` and `verify` pass; the figures,
//! private parts and tokens are the same; `store.db` is retired and can
//! never be recreated under the log. A run killed mid-copy simply runs
//! again. A target holding other records, a directory a server holds, and
//! a URL that is not PostgreSQL are refused, and no password is printed.
//!
//! Runs on a throwaway cluster; skipped loudly without PostgreSQL (a
//! failure under `CORRIDOR_REQUIRE_POSTGRES=1`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use corridor_store::postgres::cluster::Cluster;
use corridor_store::{PostgresStore, Store};

#[allow(dead_code)]
mod common;
use common::binary::{Corridor, Sandbox, terminate};
use common::published::checkpoint_of;
use common::served::{SERVE_ON_A_FREE_PORT, Served};

const STATS: [&str; 9] = [
    "stats",
    "--from",
    "2023-01-01",
    "--to",
    "2023-12-31",
    "--by",
    "day,category,outcome",
    "--format",
    "json",
];

/// A site and `passages` passages at it, every tenth with a private part,
/// cargo and an attribute, as JSON Lines.
fn records(passages: usize) -> String {
    let mut text = String::from(
        r#"{"type":"site","id":"km-12","name":"Checkpoint km 12","kind":"checkpoint","timezone":"Asia/Baku","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}"#,
    );
    text.push('\n');
    for number in 0..passages {
        let day = 1 + number % 28;
        let minute = number % 60;
        let extra = if number % 10 == 0 {
            r#","private":{"plate":"AB 123 C"},"cargo":[{"kind":"food","tonnes":1.5}],"attributes":{"convoy":"north"}"#
        } else {
            ""
        };
        let category = ["red_cross", "civilian", "peacekeeping"][number % 3];
        writeln!(
            text,
            r#"{{"type":"passage","id":"p-{number}","site":"km-12","observed_at":"2023-02-{day:02}T09:{minute:02}","category":"{category}","source":{{"kind":"direct_observation","name":"Team A"}},"recorded_by":"team-a"{extra}}}"#
        )
        .expect("writes to a string");
    }
    text
}

/// A SQLite data directory `name` in `sandbox` holding `passages` passages
/// (published), a correction, a retraction, an erased private part and a
/// token.
fn sqlite_directory(sandbox: &Sandbox, name: &str, passages: usize) -> Corridor {
    let corridor = Corridor::with_data(sandbox.root(), &sandbox.path(name));
    corridor.succeed(&["init", "--origin", &format!("example.org/{name}")]);
    let file = sandbox.path(&format!("{name}.jsonl"));
    std::fs::write(&file, records(passages)).expect("writes records");
    corridor.succeed(&["add", &file.display().to_string()]);
    let changes = sandbox.path(&format!("{name}-changes.jsonl"));
    std::fs::write(
        &changes,
        concat!(
            r#"{"type":"correction","id":"c-1","corrects":"p-1","recorded_by":"team-a","source":{"kind":"direct_observation","name":"Team A"},"reason":"category misread","record":{"type":"passage","site":"km-12","observed_at":"2023-02-02T09:01","category":"civilian","outcome":"turned_back"}}"#,
            "\n",
            r#"{"type":"retraction","id":"r-2","retracts":"p-2","reason":"entered twice","recorded_by":"team-a","source":{"kind":"direct_observation","name":"Team A"}}"#,
            "\n"
        ),
    )
    .expect("writes changes");
    corridor.succeed(&["add", &changes.display().to_string()]);
    corridor.succeed(&["erase", "p-10"]);
    corridor.succeed(&["token", "create", "--name", "team a", "--role", "observer"]);
    corridor
}

/// The published checkpoint's `(size, root)` from the directory's log.
fn published(data: &Path) -> (u64, String) {
    let text = std::fs::read_to_string(data.join("log/checkpoint")).expect("reads checkpoint");
    let checkpoint = checkpoint_of(&text);
    use base64::Engine as _;
    (
        checkpoint.tree_size,
        base64::engine::general_purpose::STANDARD.encode(checkpoint.root_hash),
    )
}

/// The retired stores in `data`.
fn retired(data: &Path) -> Vec<String> {
    std::fs::read_dir(data)
        .expect("lists the data directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("store.db.retired-"))
        .collect()
}

#[test]
fn a_sqlite_directory_moves_to_postgres_with_the_same_log_and_figures() {
    let Some(cluster) = Cluster::shared_or_skip("corridor migrate") else {
        return;
    };
    let sandbox = Sandbox::new();
    let corridor = sqlite_directory(&sandbox, "data", 300);
    let data = sandbox.path("data");
    let before = published(&data);
    let stats_before = corridor.succeed_json(&STATS);
    let private_before = corridor.succeed(&["show", "--private", "p-20"]);
    let tokens_before = corridor.succeed(&["token", "list"]);
    let vkey_before = std::fs::read_to_string(data.join("keys/log.vkey")).expect("reads key");

    // The password is never shown (the test cluster trusts local sockets,
    // so it is not needed to connect either).
    let url = cluster
        .create_database()
        .expect("creates a database")
        .replacen("postgresql:///", "postgresql://corridor:hunter2@/", 1)
        .replace("&user=corridor", "");
    let output = corridor.run(&["migrate", "--to", &url]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "migrate failed:\n{stderr}");
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("{} records", before.0)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&before.1),
        "the root printed is the checkpoint's:\n{stdout}"
    );
    assert!(
        stderr.contains(&format!("{0} of {0} records copied", before.0)),
        "{stderr}"
    );

    let settings = std::fs::read_to_string(data.join("corridor.toml")).expect("reads settings");
    assert!(settings.contains(&url), "{settings}");
    assert!(
        settings.contains("origin = \"example.org/data\""),
        "{settings}"
    );
    assert!(!data.join("store.db").exists(), "store.db is retired");
    assert_eq!(retired(&data).len(), 1, "{:?}", retired(&data));

    // The same log, checked and verified; the same figures and private parts.
    corridor.succeed(&["check"]);
    corridor.succeed(&["verify", "--state", &sandbox.text("state.json")]);
    assert_eq!(published(&data), before);
    assert_eq!(
        std::fs::read_to_string(data.join("keys/log.vkey")).expect("reads key"),
        vkey_before
    );
    assert_eq!(corridor.succeed_json(&STATS), stats_before);
    assert_eq!(
        corridor.succeed(&["show", "--private", "p-20"]),
        private_before
    );
    assert!(
        !corridor
            .succeed(&["show", "--private", "p-10"])
            .contains("AB 123 C"),
        "an erased private part stays erased"
    );
    assert_eq!(corridor.succeed(&["token", "list"]), tokens_before);
    let target = PostgresStore::open(&url).expect("opens the target");
    assert_eq!(target.leaf_count().expect("counts"), before.0);
    assert!(
        target.meta("setting/log_key").expect("reads").is_some(),
        "the target records the log's key, so joining servers must agree on it"
    );

    // Records added now go to PostgreSQL and extend the same log.
    let more = sandbox.path("more.jsonl");
    std::fs::write(
        &more,
        r#"{"type":"passage","id":"after-1","site":"km-12","observed_at":"2023-03-01T10:00","category":"red_cross","source":{"kind":"direct_observation","name":"Team A"},"recorded_by":"team-a"}"#,
    )
    .expect("writes");
    corridor.succeed(&["add", &more.display().to_string()]);
    assert_eq!(target.leaf_count().expect("counts"), before.0 + 1);
    assert_eq!(published(&data).0, before.0 + 1);
    corridor.succeed(&["check"]);
    corridor.succeed(&["verify", "--state", &sandbox.text("state.json")]);
    assert!(
        !data.join("store.db").exists(),
        "nothing recreated store.db"
    );

    // Running it again has nothing to copy, and says so.
    let again = corridor.fail(&["migrate", "--to", &url]);
    assert!(again.contains("nothing to migrate"), "{again}");

    // Pointed back at SQLite, the directory refuses to recreate store.db.
    std::fs::write(
        data.join("corridor.toml"),
        "origin = \"example.org/data\"\n",
    )
    .expect("writes settings");
    let refused = corridor.fail(&["status"]);
    assert!(refused.contains("retired"), "{refused}");
    assert!(refused.contains("fork the log"), "{refused}");
    let refused = corridor.fail(&["add", &more.display().to_string()]);
    assert!(refused.contains("retired"), "{refused}");
    assert!(
        !data.join("store.db").exists(),
        "nothing recreated store.db"
    );
}

#[test]
fn a_migration_killed_mid_copy_continues_when_run_again() {
    let Some(cluster) = Cluster::shared_or_skip("corridor migrate, killed mid-copy") else {
        return;
    };
    let sandbox = Sandbox::new();
    let corridor = sqlite_directory(&sandbox, "data", 40_000);
    let data = sandbox.path("data");
    let before = published(&data);
    let url = cluster.create_database().expect("creates a database");
    let stats_before = corridor.succeed_json(&STATS);

    let mut child = corridor
        .command(&["migrate", "--to", &url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts migrate");
    let target = PostgresStore::open(&url).expect("opens the target");
    let deadline = Instant::now() + Duration::from_secs(120);
    let copied_when_killed = loop {
        let copied = target.leaf_count().expect("counts");
        if copied >= 2_000 {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaps");
            break target.leaf_count().expect("counts");
        }
        assert!(
            child.try_wait().expect("polls").is_none(),
            "migrate ended before it could be killed mid-copy"
        );
        assert!(Instant::now() < deadline, "migrate copied nothing in 120 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        copied_when_killed < before.0,
        "killed after {copied_when_killed} of {} records: not mid-copy",
        before.0
    );
    // Killed mid-copy, the directory still uses its SQLite store.
    assert!(data.join("store.db").exists());
    assert_eq!(corridor.succeed_json(&STATS), stats_before);

    let stdout = corridor.succeed(&["migrate", "--to", &url]);
    assert!(
        stdout.contains("continued an interrupted migration"),
        "{stdout}"
    );
    assert!(stdout.contains(&before.1), "{stdout}");
    assert_eq!(target.leaf_count().expect("counts"), before.0);
    corridor.succeed(&["check"]);
    corridor.succeed(&["verify", "--state", &sandbox.text("state.json")]);
    assert_eq!(published(&data), before);
    assert_eq!(corridor.succeed_json(&STATS), stats_before);
}

#[test]
fn a_target_with_other_records_a_held_directory_and_a_bad_url_are_refused() {
    let Some(cluster) = Cluster::shared_or_skip("corridor migrate refusals") else {
        return;
    };
    let sandbox = Sandbox::new();
    let corridor = sqlite_directory(&sandbox, "data", 20);
    let data = sandbox.path("data");
    let settings_before = std::fs::read_to_string(data.join("corridor.toml")).expect("reads");

    // A database another data directory already writes.
    let taken = cluster.create_database().expect("creates a database");
    let other = Corridor::with_data(sandbox.root(), &sandbox.path("other"));
    other.succeed(&["--store", &taken, "init", "--origin", "example.org/other"]);
    let file = sandbox.path("other.jsonl");
    std::fs::write(&file, records(3)).expect("writes");
    other.succeed(&["add", &file.display().to_string()]);
    let error = corridor.fail(&["migrate", "--to", &taken]);
    assert!(error.contains("already holds 4 record(s)"), "{error}");
    assert!(error.contains("another data directory"), "{error}");

    // Not PostgreSQL at all.
    let error = corridor.fail(&["migrate", "--to", "sqlite:elsewhere.db"]);
    assert!(error.contains("is not a PostgreSQL URL"), "{error}");
    let error = corridor.fail(&["migrate", "--to", "mysql://db.example.org/corridor"]);
    assert!(error.contains("mysql"), "{error}");
    let missing = format!(
        "postgresql://corridor:hunter2@/no_such_db?host={}",
        cluster.socket_dir().display()
    );
    let error = corridor.fail(&["migrate", "--to", &missing]);
    assert!(error.contains("no_such_db"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");

    // A running server holds the directory.
    let empty = cluster.create_database().expect("creates a database");
    let mut server = Served::spawn(corridor.command(&SERVE_ON_A_FREE_PORT)).expect("serves");
    let error = corridor.fail(&["migrate", "--to", &empty]);
    assert!(error.contains("being written by"), "{error}");
    terminate(&mut server.child, Duration::from_secs(10));
    let target = PostgresStore::open(&empty).expect("opens");
    assert_eq!(
        target.leaf_count().expect("counts"),
        0,
        "nothing was copied"
    );

    // Every refusal left the directory on its SQLite store.
    assert_eq!(
        std::fs::read_to_string(data.join("corridor.toml")).expect("reads"),
        settings_before
    );
    assert!(data.join("store.db").exists());
    assert!(retired(&data).is_empty());
    corridor.succeed(&["check"]);
}
