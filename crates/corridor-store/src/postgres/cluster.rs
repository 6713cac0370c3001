//! A throwaway PostgreSQL cluster for tests and the benchmark runner.
//!
//! [`Cluster::shared`] starts one cluster per process, the first time a test
//! asks, from Debian's (or any) PostgreSQL binaries: `initdb` on `PATH`, else
//! the newest `/usr/lib/postgresql/*/bin/initdb`. The cluster lives in a new
//! directory under the system's temporary directory, listens on a unix socket
//! there and on no TCP address (`listen_addresses=''`), and trusts local
//! connections of its superuser `corridor`. As root (which PostgreSQL refuses
//! to run as) the directory is given to the `postgres` user and `initdb` and
//! `pg_ctl` run as that user through `runuser`; otherwise as the current user.
//!
//! Each test takes its own database ([`Cluster::create_database`],
//! `CREATE DATABASE t_<random>`), so tests in one process share the cluster
//! but never each other's tables.
//!
//! Statics are never dropped, so a `Drop` cannot stop the cluster when the
//! test process ends. Instead a small watcher process (`sh`) is started
//! beside the server: it polls the test process's pid, and once that is
//! gone (finished, panicked or killed) it stops the server (`pg_ctl stop -m
//! immediate`) and deletes the directory.
//!
//! When no PostgreSQL is installed, [`Cluster::shared_or_skip`] prints a loud
//! SKIP line and returns `None`, unless `CORRIDOR_REQUIRE_POSTGRES=1` (as
//! `.ci/run` sets), in which case it panics: CI must never skip these tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The superuser every throwaway cluster is created with.
const SUPERUSER: &str = "corridor";

/// The environment variable that turns a missing PostgreSQL into a failure.
pub const REQUIRE_POSTGRES: &str = "CORRIDOR_REQUIRE_POSTGRES";

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Cluster {
    /// The directory holding `data/`, the socket and the server log.
    root: PathBuf,
    /// Where `initdb`, `pg_ctl` and `postgres` are.
    bin: PathBuf,
    /// Whether the server runs as the `postgres` user (we are root).
    as_postgres: bool,
}

/// Why a cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); on Debian: apt-get install postgresql"
    )]
    NotInstalled,
    #[error("{step}: {reason}")]
    Failed { step: String, reason: String },
}

fn failed(step: &str, reason: impl std::fmt::Display) -> ClusterError {
    ClusterError::Failed {
        step: step.to_string(),
        reason: reason.to_string(),
    }
}

impl Cluster {
    /// The process's cluster, started on first use.
    ///
    /// # Errors
    /// PostgreSQL is not installed, or the cluster did not start (the error
    /// carries the server's log).
    pub fn shared() -> Result<&'static Cluster, &'static ClusterError> {
        static SHARED: OnceLock<Result<Cluster, ClusterError>> = OnceLock::new();
        SHARED.get_or_init(Cluster::start).as_ref()
    }

    /// The process's cluster, or `None` after a loud SKIP line on stderr
    /// when PostgreSQL is not installed.
    ///
    /// # Panics
    /// When PostgreSQL is missing and `CORRIDOR_REQUIRE_POSTGRES=1`, or when
    /// it is installed but the cluster does not start.
    pub fn shared_or_skip(test: &str) -> Option<&'static Cluster> {
        or_skip(test, Cluster::shared())
    }

    /// A cluster of the caller's own (one it may crash or restart), or
    /// `None` after the same SKIP line as [`Cluster::shared_or_skip`].
    ///
    /// # Panics
    /// As [`Cluster::shared_or_skip`].
    pub fn start_or_skip(test: &str) -> Option<Cluster> {
        or_skip(test, Cluster::start())
    }

    /// Starts a new cluster in a new temporary directory.
    ///
    /// # Errors
    /// PostgreSQL is not installed, or a step failed.
    pub fn start() -> Result<Cluster, ClusterError> {
        let bin = find_binaries().ok_or(ClusterError::NotInstalled)?;
        let as_postgres = running_as_root();
        let root = std::env::temp_dir().join(format!(
            "corridor-pg-{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        std::fs::create_dir_all(&root)
            .map_err(|error| failed(&format!("creating {}", root.display()), error))?;
        let cluster = Cluster {
            root,
            bin,
            as_postgres,
        };
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&cluster.root))
                .map_err(|reason| failed("giving the cluster directory to postgres", reason))?;
        }
        let data = cluster.data_dir();
        cluster
            .run_tool(
                "initdb",
                &[
                    "-D",
                    path_text(&data)?,
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
            )
            .map_err(|reason| failed("initdb", reason))?;
        cluster.pg_ctl("start", &[])?;
        cluster.watch_parent()?;
        Ok(cluster)
    }

    /// Crashes the server (`pg_ctl stop -m immediate`: every session is cut
    /// off, and nothing is flushed that a commit had not already made
    /// durable) and starts it again on the same socket, as a failover or an
    /// operator's restart looks to the servers connected to it.
    ///
    /// # Errors
    /// A step failed (the error carries the server's log).
    pub fn crash_and_restart(&self) -> Result<(), ClusterError> {
        self.pg_ctl("stop", &["-m", "immediate"])?;
        self.pg_ctl("start", &[])
    }

    /// Runs `pg_ctl ACTION` on the cluster's data directory; `start` with the
    /// cluster's options, and waiting for the action to finish.
    fn pg_ctl(&self, action: &str, extra: &[&str]) -> Result<(), ClusterError> {
        let options = format!(
            "-c listen_addresses='' -k {} -c max_connections=200 -c shared_buffers=64MB",
            path_text(&self.root)?
        );
        let data = self.data_dir();
        let log = self.root.join("server.log");
        let mut arguments = vec![
            "-D",
            path_text(&data)?,
            "-l",
            path_text(&log)?,
            "-w",
            "-t",
            "60",
            "-o",
            &options,
            action,
        ];
        arguments.extend_from_slice(extra);
        self.run_tool("pg_ctl", &arguments).map_err(|reason| {
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            failed(&format!("pg_ctl {action}"), format!("{reason}\n{log_text}"))
        })
    }

    /// The directory of the cluster's socket (its `host` in a URL).
    pub fn socket_dir(&self) -> &Path {
        &self.root
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgresql:///{name}?host={}&user={SUPERUSER}",
            self.root.display()
        )
    }

    /// Creates a new, empty database and returns its URL.
    ///
    /// # Errors
    /// The server refused (or cannot be reached).
    pub fn create_database(&self) -> Result<String, ClusterError> {
        let name = format!("t_{}", unique_suffix());
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .map_err(|error| failed("connecting to the test cluster", error))?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|error| failed(&format!("CREATE DATABASE {name}"), error))?;
        Ok(self.url(&name))
    }

    /// Runs one of the cluster's tools, as `postgres` when we are root.
    fn run_tool(&self, tool: &str, arguments: &[&str]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        command.args(arguments).current_dir(&self.root);
        run(&mut command)
    }

    /// Starts the process that stops the server and removes the directory
    /// once this process is gone.
    fn watch_parent(&self) -> Result<(), ClusterError> {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = if self.as_postgres {
            format!(
                "runuser -u postgres -- '{}' -D '{}' stop -m immediate",
                pg_ctl.display(),
                self.data_dir().display()
            )
        } else {
            format!(
                "'{}' -D '{}' stop -m immediate",
                pg_ctl.display(),
                self.data_dir().display()
            )
        };
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf '{}'",
            std::process::id(),
            self.root.display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|error| failed("starting the cluster's watcher", error))
    }
}

/// The cluster `started` gave, or `None` after a loud SKIP line when
/// PostgreSQL is not installed and not required.
fn or_skip<C, E: std::borrow::Borrow<ClusterError>>(
    test: &str,
    started: Result<C, E>,
) -> Option<C> {
    match started {
        Ok(cluster) => Some(cluster),
        Err(error) if matches!(error.borrow(), ClusterError::NotInstalled) && !required() => {
            eprintln!(
                "SKIP {test}: PostgreSQL is not installed, so the PostgreSQL tests do not run \
                 (install Debian's postgresql, or set {REQUIRE_POSTGRES}=1 to make this a failure)"
            );
            None
        }
        Err(error) => panic!("{test}: no PostgreSQL test cluster: {}", error.borrow()),
    }
}

/// Whether PostgreSQL tests must run (`CORRIDOR_REQUIRE_POSTGRES=1`).
pub fn required() -> bool {
    std::env::var(REQUIRE_POSTGRES).is_ok_and(|value| value == "1")
}

/// The directory holding `initdb` and `pg_ctl`.
fn find_binaries() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for directory in std::env::split_paths(&path) {
            let initdb = directory.join("initdb");
            if initdb.is_file() {
                // Debian links /usr/local/bin/initdb to the versioned directory;
                // pg_ctl and postgres sit beside the real file.
                let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
                return real.parent().map(Path::to_path_buf);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Runs a command with its output captured; the error is its stderr.
fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {:?}: {error}", command.get_program()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{:?} exited with {}: {}{}",
        command.get_program(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn path_text(path: &Path) -> Result<&str, ClusterError> {
    path.to_str()
        .ok_or_else(|| failed("the temporary directory", "its path is not UTF-8"))
}

/// Lowercase hex that differs between calls and processes.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:x}{:x}{count:x}", std::process::id())
}
