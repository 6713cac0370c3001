//! What the integration tests share: running the real binary
//! ([`binary::Corridor`]) in a temporary directory ([`binary::Sandbox`]), the
//! sites the log and server tests record passages at, reading checkpoints and proofs
//! ([`published`]), `corridor serve` as a child process ([`served`]), an HTTP client ([`agent`]), copying a log directory, and, for
//! the crash tests, a reproducible random source and the seed they print, so a
//! failing run can be replayed with `CORRIDOR_CRASH_SEED`.
//!
//! Each file in `tests/` is its own crate and uses a part of this module, so
//! each declares it as `#[allow(dead_code)] mod common;`.

pub mod binary;
pub mod published;
pub mod served;

/// Site `cp-1` (Asia/Baku) as a JSON Lines line: where the log tests' passages are.
pub const SITE: &str = r#"{"type":"site","id":"cp-1","name":"Checkpoint 1","kind":"checkpoint","timezone":"Asia/Baku","source":{"kind":"direct_observation","name":"team A"},"recorded_by":"observer-1"}"#;

/// Site `km-12` (Asia/Baku) as a JSON object: where the PostgreSQL server
/// tests submit their passages over HTTP.
pub fn km12_site() -> serde_json::Value {
    serde_json::json!({"type": "site", "id": "km-12", "name": "Checkpoint km 12",
        "kind": "checkpoint", "timezone": "Asia/Baku",
        "source": {"kind": "direct_observation", "name": "Team A"}, "recorded_by": "team-a"})
}

/// A red-cross passage `id` at `km-12` on 2023-01-17, at minute
/// `minute % 60` past nine, with a private plate.
pub fn km12_passage(id: &str, minute: u64) -> serde_json::Value {
    serde_json::json!({"type": "passage", "id": id, "site": "km-12",
        "observed_at": format!("2023-01-17T09:{:02}", minute % 60),
        "category": "red_cross", "source": {"kind": "direct_observation", "name": "Team A"},
        "recorded_by": "team-a", "private": {"plate": "AB 123 C"}})
}

/// An HTTP client for a server under test: an error status is an answer,
/// not an error, and no request waits longer than 20 s.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(20)))
        .build()
        .into()
}

/// Copies the directory `from` with everything below it to `to`.
pub fn copy_directory(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_directory(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A small xorshift generator: reproducible from the printed seed.
pub struct Random {
    state: u64,
    seed: u64,
}

impl Random {
    /// The generator of this run: `CORRIDOR_CRASH_SEED` when set, else the
    /// clock. The seed is printed so a failure can be replayed.
    pub fn from_environment(test: &str) -> Random {
        let seed = std::env::var("CORRIDOR_CRASH_SEED")
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|elapsed| elapsed.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        println!("{test} seed: {seed} (set CORRIDOR_CRASH_SEED={seed} to replay)");
        Random { state: seed, seed }
    }

    /// A generator of its own for a thread, from a number drawn from the
    /// run's generator (so the run stays reproducible from its seed).
    pub fn seeded(seed: u64) -> Random {
        Random {
            state: seed | 1,
            seed,
        }
    }

    /// The seed, for failure messages.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// A number in `range` (an empty range gives its start).
    pub fn within(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.next() % (range.end - range.start).max(1)
    }
}
