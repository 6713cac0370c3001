//! Running the real `corridor` binary the way every test does: `HOME` in the
//! test's temporary directory, and none of the caller's environment variables
//! that would choose a data directory (`CORRIDOR_DATA`), a log filter
//! (`CORRIDOR_LOG`) or a witness directory (`CORRIDOR_WITNESS_DIR`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

/// A temporary directory for one test: the `HOME` of the commands it runs
/// and the place of its data directories and input files.
pub struct Sandbox {
    directory: tempfile::TempDir,
    corridor: Corridor,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let directory = tempfile::tempdir().expect("temporary directory");
        let corridor = Corridor::at_home(directory.path());
        Sandbox {
            directory,
            corridor,
        }
    }

    pub fn root(&self) -> &Path {
        self.directory.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    pub fn text(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// The binary with `HOME` here; its commands name their data directory.
    pub fn corridor(&self) -> &Corridor {
        &self.corridor
    }

    /// The binary with `HOME` here and every command given `--data` for
    /// the data directory `data` here.
    pub fn corridor_on_data(&self) -> Corridor {
        Corridor::with_data(self.root(), &self.path("data"))
    }
}

/// How a test runs the binary: its `HOME`, and the data directory every
/// command is given with `--data` (none: the arguments name it, or need none).
pub struct Corridor {
    home: PathBuf,
    data: Option<PathBuf>,
}

impl Corridor {
    /// Commands that name their data directory themselves, or need none.
    pub fn at_home(home: &Path) -> Corridor {
        Corridor {
            home: home.to_path_buf(),
            data: None,
        }
    }

    /// Every command runs with `--data DATA` before its arguments.
    pub fn with_data(home: &Path, data: &Path) -> Corridor {
        Corridor {
            home: home.to_path_buf(),
            data: Some(data.to_path_buf()),
        }
    }

    /// The command, not started yet (to pipe its input or spawn it).
    pub fn command(&self, arguments: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_corridor"));
        command
            .env("HOME", &self.home)
            .env_remove("CORRIDOR_DATA")
            .env_remove("CORRIDOR_LOG")
            .env_remove("CORRIDOR_WITNESS_DIR")
            .env_remove("CORRIDOR_STORE");
        if let Some(data) = &self.data {
            command.arg("--data").arg(data);
        }
        command.args(arguments);
        command
    }

    /// Runs a command to its end, whatever its exit.
    pub fn run(&self, arguments: &[&str]) -> Output {
        self.command(arguments)
            .output()
            .expect("the corridor binary runs")
    }

    /// Runs a command that must succeed; returns its standard output.
    #[track_caller]
    pub fn succeed(&self, arguments: &[&str]) -> String {
        let output = self.run(arguments);
        assert!(
            output.status.success(),
            "corridor {arguments:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs a command that must succeed and print JSON; returns it parsed.
    #[track_caller]
    pub fn succeed_json(&self, arguments: &[&str]) -> serde_json::Value {
        let stdout = self.succeed(arguments);
        serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!("corridor {arguments:?} did not print JSON ({error}):\n{stdout}")
        })
    }

    /// Runs a command that must fail with exit code 1 (an error, not a usage
    /// mistake); returns its standard error.
    #[track_caller]
    pub fn fail(&self, arguments: &[&str]) -> String {
        let output = self.run(arguments);
        assert_eq!(
            output.status.code(),
            Some(1),
            "corridor {arguments:?} should fail; stdout:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Runs a command that must not succeed, with any exit code; returns its
    /// standard error.
    #[track_caller]
    pub fn fail_with_any_code(&self, arguments: &[&str]) -> String {
        let output = self.run(arguments);
        assert!(
            !output.status.success(),
            "corridor {arguments:?} should have failed; stdout:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

/// Sends SIGTERM to a running `corridor serve` and waits for it to exit,
/// at most `limit`; returns how it exited.
#[track_caller]
pub fn terminate(child: &mut Child, limit: Duration) -> ExitStatus {
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    let deadline = Instant::now() + limit;
    loop {
        if let Some(exit) = child.try_wait().expect("poll the server") {
            return exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop within {} s of SIGTERM",
            limit.as_secs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
