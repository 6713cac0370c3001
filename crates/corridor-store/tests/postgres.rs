//! PostgreSQL only: what the conformance suite cannot say about one store
//! on one connection. Several connections (as several servers) appending
//! at once, the same id from two of them, faults a real server produces
//! (a held lock, a full disk, a connection lost during `COMMIT`, connections
//! killed between calls), schema versions, durability across reopening, and
//! the errors for a missing database or role, never showing a password.
//!
//! Every test runs on the process's throwaway cluster, in a database of its
//! own, and is skipped loudly when PostgreSQL is not installed (a failure
//! under `CORRIDOR_REQUIRE_POSTGRES=1`).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use corridor_model::RecordType;
use corridor_store::postgres::cluster::Cluster;
use corridor_store::{Effect, NewRecord, PostgresStore, Store, StoreError};

fn database(test: &str) -> Option<String> {
    let cluster = Cluster::shared_or_skip(test)?;
    Some(cluster.create_database().expect("creates a test database"))
}

/// A raw connection to the test database, for what a test does behind the
/// store's back.
fn raw(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connects")
}

fn site(id: &str, content: &str) -> NewRecord {
    let mut digest = [0_u8; 32];
    for (position, byte) in content.bytes().cycle().take(32).enumerate() {
        digest[position] = byte.wrapping_add(position as u8);
    }
    NewRecord {
        id: id.to_string(),
        target_id: id.to_string(),
        record_type: RecordType::Site,
        content_type: RecordType::Site,
        effect: Effect::Create,
        leaf: format!("{{\"record\":{{\"id\":\"{id}\",\"name\":\"{content}\"}}}}").into_bytes(),
        content_digest: digest,
        private: None,
        passage: None,
        submitter: None,
    }
}

#[test]
fn concurrent_appends_from_many_connections_get_dense_distinct_leaves() {
    let Some(url) = database("concurrent appends") else {
        return;
    };
    const WRITERS: usize = 6;
    const BATCHES: usize = 15;
    let barrier = Arc::new(Barrier::new(WRITERS));
    let threads: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let url = url.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut store = PostgresStore::open(&url).expect("opens");
                barrier.wait();
                let mut got = Vec::new();
                for batch in 0..BATCHES {
                    let records: Vec<NewRecord> = (0..3)
                        .map(|n| site(&format!("w{writer}-b{batch}-{n}"), "x"))
                        .collect();
                    let indexes = store.append(&records).expect("appends");
                    // A batch's leaves are consecutive, whoever else writes.
                    assert_eq!(indexes[2], indexes[0] + 2, "{indexes:?}");
                    got.extend(indexes);
                }
                got
            })
        })
        .collect();
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|thread| thread.join().expect("writer thread"))
        .collect();
    all.sort_unstable();
    let expected: Vec<u64> = (0..(WRITERS * BATCHES * 3) as u64).collect();
    assert_eq!(
        all, expected,
        "leaf indexes are dense from 0 and never shared"
    );
    let store = PostgresStore::open(&url).expect("opens");
    assert_eq!(store.leaf_count().expect("counts"), expected.len() as u64);
    for index in [0, 100, expected.len() as u64 - 1] {
        let record = store.record_at(index).expect("reads").expect("stored");
        assert_eq!(record.leaf_index, index);
    }
}

/// Two connections store the same id at once, `rounds` times: exactly one
/// stores it, the other is refused naming the winner's leaf, and the record
/// is stored once with the winner's content.
fn race_for_one_id(url: &str, same_content: bool, rounds: usize) {
    for round in 0..rounds {
        let id = format!("site-{round}");
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = ["first", "second"]
            .into_iter()
            .map(|name| {
                let url = url.to_string();
                let barrier = Arc::clone(&barrier);
                let record = site(&id, if same_content { "same" } else { name });
                std::thread::spawn(move || {
                    let mut store = PostgresStore::open(&url).expect("opens");
                    barrier.wait();
                    (record.content_digest, store.append(&[record]))
                })
            })
            .collect();
        let results: Vec<_> = threads
            .into_iter()
            .map(|thread| thread.join().expect("thread"))
            .collect();
        let stored: Vec<_> = results
            .iter()
            .filter(|(_, result)| result.is_ok())
            .collect();
        assert_eq!(stored.len(), 1, "round {round}: {results:?}");
        let (winner_digest, winner) = stored[0];
        let winner_leaf = winner.as_ref().map(|indexes| indexes[0]).expect("stored");
        let refused = results
            .iter()
            .find_map(|(_, result)| result.as_ref().err())
            .expect("one refused");
        assert!(
            matches!(refused, StoreError::DuplicateId { id: refused_id, leaf_index } if *refused_id == id && *leaf_index == winner_leaf),
            "round {round}: {refused:?}"
        );
        let store = PostgresStore::open(url).expect("opens");
        let record = store.record(&id).expect("reads").expect("stored once");
        assert_eq!(record.leaf_index, winner_leaf);
        assert_eq!(&record.content_digest, winner_digest);
        // What the writer above does next: the same digest is "already
        // stored", a different one is refused naming the stored leaf.
        let loser_digest = results
            .iter()
            .find(|(_, result)| result.is_err())
            .map(|(digest, _)| *digest)
            .expect("one refused");
        assert_eq!(record.content_digest == loser_digest, same_content);
    }
    let store = PostgresStore::open(url).expect("opens");
    assert_eq!(store.leaf_count().expect("counts"), rounds as u64);
}

#[test]
fn the_same_id_from_two_connections_at_once_is_stored_once() {
    let Some(url) = database("the same id from two connections") else {
        return;
    };
    race_for_one_id(&url, true, 10);
}

#[test]
fn the_same_id_with_different_content_from_two_connections_is_refused_for_one() {
    let Some(url) = database("the same id with different content") else {
        return;
    };
    race_for_one_id(&url, false, 10);
}

#[test]
fn a_batch_that_waits_too_long_for_the_sequencer_stores_nothing_and_leaves_no_gap() {
    let Some(url) = database("a held sequencer lock") else {
        return;
    };
    let mut store = PostgresStore::open(&url).expect("opens");
    store.append(&[site("a", "a")]).expect("appends");
    // Another writer holds the sequencer row; this store gives up after 200 ms.
    let mut holder = raw(&url);
    let mut held = holder.transaction().expect("begins");
    held.execute("SELECT next_leaf FROM sequencer FOR UPDATE", &[])
        .expect("locks");
    let impatient_url = format!("{url}&options=-c%20lock_timeout%3D200");
    let mut impatient = PostgresStore::open(&impatient_url).expect("opens");
    let started = Instant::now();
    let error = impatient
        .append(&[site("b", "b"), site("c", "c")])
        .expect_err("the lock is held");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!error.is_outcome_unknown(), "{error}");
    assert!(error.to_string().contains("lock timeout"), "{error}");
    held.rollback().expect("releases");
    assert_eq!(store.leaf_count().expect("counts"), 1);
    assert_eq!(store.record("b").expect("reads"), None);
    assert_eq!(
        impatient.append(&[site("b", "b")]).expect("appends now"),
        vec![1]
    );
}

#[test]
fn a_full_disk_is_reported_as_storage_full_and_stores_nothing() {
    let Some(url) = database("a full disk") else {
        return;
    };
    let mut store = PostgresStore::open(&url).expect("opens");
    store.append(&[site("a", "a")]).expect("appends");
    // The server answers an insert the way it answers when its disk is full.
    raw(&url)
        .batch_execute(
            "CREATE FUNCTION fill_disk() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
             CREATE TRIGGER disk_is_full BEFORE INSERT ON records FOR EACH STATEMENT EXECUTE FUNCTION fill_disk();",
        )
        .expect("installs the trigger");
    let error = store
        .append(&[site("b", "b")])
        .expect_err("the disk is full");
    assert!(error.is_storage_full(), "{error}");
    assert!(!error.is_outcome_unknown(), "{error}");
    assert!(
        error.to_string().contains("No space left on device"),
        "{error}"
    );
    raw(&url)
        .batch_execute("DROP TRIGGER disk_is_full ON records")
        .expect("frees the disk");
    assert_eq!(store.leaf_count().expect("counts"), 1);
    assert_eq!(store.append(&[site("b", "b")]).expect("appends"), vec![1]);
}

#[test]
fn a_connection_lost_during_commit_is_an_unknown_outcome_and_a_retry_stores_once() {
    let Some(url) = database("a connection lost during COMMIT") else {
        return;
    };
    let mut store = PostgresStore::open(&url).expect("opens");
    store.append(&[site("a", "a")]).expect("appends");
    // A deferred trigger makes COMMIT wait, so the connection can be cut
    // while the client waits for COMMIT's answer.
    let mut admin = raw(&url);
    admin
        .batch_execute(
            "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
             CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON records DEFERRABLE INITIALLY DEFERRED
               FOR EACH ROW EXECUTE FUNCTION slow_commit();",
        )
        .expect("installs the trigger");
    let writer = {
        let url = url.clone();
        std::thread::spawn(move || {
            let mut store = PostgresStore::open(&url).expect("opens");
            store.append(&[site("b", "b")])
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let killed: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query = 'COMMIT'",
                &[],
            )
            .expect("looks for the commit")
            .get(0);
        if killed > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the append never reached COMMIT");
        std::thread::sleep(Duration::from_millis(20));
    }
    let error = writer
        .join()
        .expect("writer thread")
        .expect_err("the connection was cut");
    assert!(error.is_outcome_unknown(), "{error}");
    admin
        .batch_execute("DROP TRIGGER slow ON records")
        .expect("drops the trigger");
    // Here the commit never happened; resubmitting stores the record once.
    assert_eq!(store.record("b").expect("reads"), None);
    assert_eq!(store.append(&[site("b", "b")]).expect("appends"), vec![1]);
    assert!(matches!(
        store.append(&[site("b", "b")]),
        Err(StoreError::DuplicateId { leaf_index: 1, .. })
    ));
}

#[test]
fn connections_killed_between_calls_are_replaced() {
    let Some(url) = database("connections killed between calls") else {
        return;
    };
    let mut store = PostgresStore::open(&url).expect("opens");
    store.append(&[site("a", "a")]).expect("appends");
    let kill_all = || {
        raw(&url)
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .expect("terminates")
    };
    kill_all();
    assert_eq!(store.leaf_count().expect("reads after a reconnect"), 1);
    kill_all();
    assert_eq!(
        store
            .append(&[site("b", "b")])
            .expect("appends after a reconnect"),
        vec![1]
    );
}

#[test]
fn data_survives_reopening_and_the_numbering_continues() {
    let Some(url) = database("reopening") else {
        return;
    };
    {
        let mut store = PostgresStore::open(&url).expect("opens");
        store
            .append(&[site("a", "a"), site("b", "b")])
            .expect("appends");
        store
            .set_meta("origin", b"corridor.example/log")
            .expect("writes");
    }
    // A new process would open a new pool; this one reopens the same URL.
    let mut store = PostgresStore::open(&url).expect("reopens");
    assert_eq!(
        store.meta("origin").expect("reads"),
        Some(b"corridor.example/log".to_vec())
    );
    assert_eq!(store.append(&[site("c", "c")]).expect("appends"), vec![2]);
}

#[test]
fn a_newer_schema_and_a_foreign_records_table_are_refused() {
    let Some(newer) = database("schema versions") else {
        return;
    };
    PostgresStore::open(&newer).expect("creates the schema");
    raw(&newer)
        .batch_execute("INSERT INTO schema_version (version) VALUES (99)")
        .expect("pretends to be newer");
    // Another URL text (the same database) so the pool checks the schema again.
    let error = PostgresStore::open(&format!("{newer}&application_name=second"))
        .expect_err("refuses a newer schema");
    assert!(
        matches!(
            error,
            StoreError::NewerSchema {
                found: 99,
                supported: corridor_store::postgres::SCHEMA_VERSION,
                ..
            }
        ),
        "{error}"
    );
    let Some(foreign) = database("schema versions") else {
        return;
    };
    raw(&foreign)
        .batch_execute("CREATE TABLE records (leaf_index BIGINT)")
        .expect("makes a foreign table");
    let error = PostgresStore::open(&foreign).expect_err("refuses to guess");
    assert!(
        error
            .to_string()
            .contains("holds a records table but no schema_version"),
        "{error}"
    );
}

#[test]
fn a_missing_database_or_role_is_named_and_the_password_never_shown() {
    let Some(url) = database("connection errors") else {
        return;
    };
    let cluster = Cluster::shared_or_skip("connection errors").expect("running");
    let host = cluster.socket_dir().display().to_string();
    let missing_database = format!("postgresql://corridor:hunter2@/no_such_database?host={host}");
    let error = PostgresStore::open(&missing_database).expect_err("no such database");
    let text = format!("{error} {error:?}");
    assert!(
        text.contains("database \"no_such_database\" does not exist"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("corridor:***@"), "{text}");

    let missing_role = format!("postgresql:///postgres?host={host}&user=nobody&password=hunter2");
    let error = PostgresStore::open(&missing_role).expect_err("no such role");
    let text = format!("{error} {error:?}");
    assert!(text.contains("role \"nobody\" does not exist"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");

    // Nothing listens on this socket directory: refused after the retries.
    let nowhere = format!("{}&connect_timeout=1", url.replace(&host, "/nonexistent"));
    let started = Instant::now();
    let error = PostgresStore::open(&nowhere).expect_err("nothing listens");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(error.to_string().contains("connecting"), "{error}");
}
