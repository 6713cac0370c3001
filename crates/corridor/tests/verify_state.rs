//! What `corridor verify` remembers between runs, under one home directory:
//! two demo logs verify in turn without a false fork alarm (each has an
//! origin and a key of its own), two logs of one origin with two keys keep
//! two states and the second is reported as a different key at a known
//! origin, and a real fork (same origin and key, another history) is still
//! caught.

#[allow(dead_code)]
mod common;
use common::SITE;
use common::binary::Sandbox;

fn passage(id: &str) -> String {
    format!(
        r#"{{"type":"passage","id":"{id}","site":"cp-1","observed_at":"2023-01-17T09:40","category":"civilian","source":{{"kind":"direct_observation","name":"team A"}},"recorded_by":"observer-1"}}"#
    )
}

fn vkey(sandbox: &Sandbox, data: &str) -> String {
    sandbox
        .corridor()
        .succeed(&["--data", data, "log", "vkey"])
        .trim()
        .to_string()
}

/// `verify --log DATA/log --vkey KEY` with the default state: (ok, stdout, stderr).
fn verify(sandbox: &Sandbox, data: &str, key: &str) -> (bool, String, String) {
    let output =
        sandbox
            .corridor()
            .run(&["verify", "--log", &format!("{data}/log"), "--vkey", key]);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn two_demo_logs_verify_in_turn_under_one_home_and_a_real_fork_is_still_caught() {
    let sandbox = Sandbox::new();
    let first = sandbox.text("demo-a");
    let second = sandbox.text("demo-b");
    sandbox.corridor().succeed(&["--data", &first, "demo"]);
    sandbox.corridor().succeed(&["--data", &second, "demo"]);
    let (first_key, second_key) = (vkey(&sandbox, &first), vkey(&sandbox, &second));
    assert_ne!(first_key, second_key, "each demo has its own key");

    for (data, key) in [(&first, &first_key), (&second, &second_key)] {
        let (ok, stdout, stderr) = verify(&sandbox, data, key);
        assert!(ok, "the second demo is not a fork of the first: {stderr}");
        assert!(
            stdout.contains("first verification of this log"),
            "{stdout}"
        );
        assert!(
            !stderr.contains("note:"),
            "each demo has its own origin: {stderr}"
        );
    }
    // Each keeps its own state: both verify again, extending what they had.
    for (data, key) in [(&first, &first_key), (&second, &second_key)] {
        let (ok, stdout, stderr) = verify(&sandbox, data, key);
        assert!(ok, "{stderr}");
        assert!(
            stdout.contains("extends the 993 leaves verified before"),
            "{stdout}"
        );
    }

    // A real fork: a copy of the first demo (same origin, same key) that
    // grows another way after the first has been verified grown.
    let fork = sandbox.path("demo-a-fork");
    common::copy_directory(std::path::Path::new(&first), &fork);
    let fork = fork.display().to_string();
    for (data, id) in [(&first, "p-original"), (&fork, "p-forked")] {
        let file = sandbox.path(&format!("{id}.jsonl"));
        std::fs::write(&file, format!("{SITE}\n{}\n", passage(id))).expect("write records");
        sandbox
            .corridor()
            .succeed(&["--data", data, "add", &file.display().to_string()]);
    }
    let (ok, _, stderr) = verify(&sandbox, &first, &first_key);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = verify(&sandbox, &fork, &first_key);
    assert!(!ok, "a fork must fail verification");
    assert!(stderr.contains("fork: the first 995 leaves"), "{stderr}");
}

/// Two data directories initialised with one origin: two logs, two keys.
fn same_origin_pair(sandbox: &Sandbox) -> (String, String) {
    let (first, second) = (sandbox.text("log-a"), sandbox.text("log-b"));
    for data in [&first, &second] {
        sandbox
            .corridor()
            .succeed(&["--data", data, "init", "--origin", "test.example/shared"]);
        let file = sandbox.path("records.jsonl");
        std::fs::write(&file, format!("{SITE}\n{}\n", passage("p-1"))).expect("write records");
        sandbox
            .corridor()
            .succeed(&["--data", data, "add", &file.display().to_string()]);
    }
    (first, second)
}

#[test]
fn a_different_key_at_a_known_origin_is_said_as_such_and_keeps_its_own_state() {
    let sandbox = Sandbox::new();
    let (first, second) = same_origin_pair(&sandbox);
    let (first_key, second_key) = (vkey(&sandbox, &first), vkey(&sandbox, &second));
    let (ok, _, stderr) = verify(&sandbox, &first, &first_key);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = verify(&sandbox, &second, &second_key);
    assert!(ok, "a different key is not a fork: {stderr}");
    assert!(
        stdout.contains("first verification of this log"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "note: a different key at a known origin: log \"test.example/shared\" was verified before under the key {first_key} (2 leaves, in "
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("fork"), "{stderr}");
    for (data, key) in [(&first, &first_key), (&second, &second_key)] {
        let (ok, stdout, stderr) = verify(&sandbox, data, key);
        assert!(ok, "{stderr}");
        assert!(
            stdout.contains("extends the 2 leaves verified before"),
            "{stdout}"
        );
    }
}

#[test]
fn an_explicit_state_file_of_another_key_is_refused_as_a_different_key() {
    let sandbox = Sandbox::new();
    let (first, second) = same_origin_pair(&sandbox);
    let state = sandbox.text("state.json");
    let run = |data: &str| {
        sandbox.corridor().run(&[
            "verify",
            "--log",
            &format!("{data}/log"),
            "--vkey",
            &vkey(&sandbox, data),
            "--state",
            &state,
        ])
    };
    assert!(run(&first).status.success());
    let output = run(&second);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("a different key at a known origin: the state file"),
        "{stderr}"
    );
    assert!(!stderr.contains("fork"), "not a fork: {stderr}");
}
