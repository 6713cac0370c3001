//! Where a data directory keeps its store: `store.db` unless `[store] url`
//! in `corridor.toml` names another location, which is checked when the
//! directory is opened (a backend this build lacks is refused by name).

use std::path::Path;

use corridor_engine::{Config, DataDir, EngineError, StoreSettings};

const ORIGIN: &str = "test.invalid/data-dir";

fn with_store_url(url: &str) -> Config {
    Config {
        store: StoreSettings {
            url: Some(url.to_string()),
        },
        ..Config::new(ORIGIN)
    }
}

fn settings_text(root: &Path) -> String {
    std::fs::read_to_string(root.join("corridor.toml")).expect("reads corridor.toml")
}

/// Writes a value through one connection and reads it through a fresh one.
fn round_trip(data_dir: &DataDir) -> Option<Vec<u8>> {
    data_dir
        .open_store()
        .expect("opens")
        .set_meta("probe", b"written")
        .expect("writes");
    data_dir
        .open_store()
        .expect("reopens")
        .meta("probe")
        .expect("reads")
}

#[test]
fn without_a_store_section_the_store_is_store_db_and_the_settings_do_not_mention_it() {
    let directory = tempfile::tempdir().expect("temp dir");
    let root = directory.path().join("data");
    let data_dir = DataDir::init(&root, Config::new(ORIGIN)).expect("init");
    assert!(root.join("store.db").is_file());
    assert!(
        !settings_text(&root).contains("store"),
        "{}",
        settings_text(&root)
    );
    assert_eq!(round_trip(&data_dir), Some(b"written".to_vec()));
    let reopened = DataDir::open(&root).expect("opens");
    assert_eq!(reopened.config(), &Config::new(ORIGIN));
    assert_eq!(
        reopened.store_location().to_string(),
        format!("sqlite:{}", root.join("store.db").display())
    );
}

#[test]
fn a_relative_store_url_is_taken_from_the_data_directory() {
    let directory = tempfile::tempdir().expect("temp dir");
    let root = directory.path().join("data");
    let data_dir = DataDir::init(&root, with_store_url("sqlite:records.db")).expect("init");
    assert!(root.join("records.db").is_file());
    assert!(!root.join("store.db").exists());
    assert!(
        settings_text(&root).contains("[store]\nurl = \"sqlite:records.db\""),
        "{}",
        settings_text(&root)
    );
    assert_eq!(round_trip(&data_dir), Some(b"written".to_vec()));
    // A reopened directory reads the same settings and finds the same store.
    let reopened = DataDir::open(&root).expect("opens");
    assert_eq!(reopened.config(), &with_store_url("sqlite:records.db"));
    assert_eq!(
        reopened
            .open_store()
            .expect("opens")
            .meta("probe")
            .expect("reads"),
        Some(b"written".to_vec())
    );
}

#[test]
fn an_absolute_store_url_is_used_as_it_is() {
    let directory = tempfile::tempdir().expect("temp dir");
    let root = directory.path().join("data");
    let elsewhere = directory.path().join("elsewhere.db");
    let url = format!("sqlite://{}", elsewhere.display());
    let data_dir = DataDir::init(&root, with_store_url(&url)).expect("init");
    assert!(elsewhere.is_file());
    assert!(!root.join("store.db").exists());
    assert_eq!(round_trip(&data_dir), Some(b"written".to_vec()));
}

fn open_error(settings: &str) -> String {
    let directory = tempfile::tempdir().expect("temp dir");
    let root = directory.path().join("data");
    DataDir::init(&root, Config::new(ORIGIN)).expect("init");
    std::fs::write(root.join("corridor.toml"), settings).expect("writes corridor.toml");
    match DataDir::open(&root) {
        Ok(_) => panic!("opened with {settings:?}"),
        Err(error @ EngineError::BadConfig { .. }) => error.to_string(),
        Err(other) => panic!("not a settings error: {other}"),
    }
}

#[test]
fn an_unknown_scheme_is_refused_when_the_directory_is_opened_naming_it() {
    let message = open_error(&format!(
        "origin = \"{ORIGIN}\"\n[store]\nurl = \"mysql://corridor@db.example/corridor\"\n"
    ));
    assert!(
        message.ends_with(
            "store: mysql://corridor@db.example/corridor: the mysql backend is not supported by this build (it knows sqlite:, file paths, postgres:// and postgresql://)"
        ),
        "{message}"
    );
}

#[test]
fn a_bad_postgres_url_is_refused_when_the_directory_is_opened_without_its_password() {
    let message = open_error(&format!(
        "origin = \"{ORIGIN}\"\n[store]\nurl = \"postgres://corridor:hunter2@db.example/corridor?sslmode=sometimes\"\n"
    ));
    assert!(
        message.ends_with(
            "store: store location \"postgres://corridor:***@db.example/corridor?sslmode=sometimes\" has sslmode=\"sometimes\"; use disable, allow, prefer, require, verify-ca or verify-full"
        ),
        "{message}"
    );
}

#[test]
fn an_unknown_key_in_the_store_section_is_refused() {
    let message = open_error(&format!(
        "origin = \"{ORIGIN}\"\n[store]\nurl = \"sqlite:store.db\"\npool = 4\n"
    ));
    assert!(message.contains("unknown field `pool`"), "{message}");
}
