//! `corridor serve` as a child process: started with its standard output
//! piped, its address read from the first line it prints, and killed if the
//! test ends before stopping it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

/// A loopback port nothing listens on now, for a server that must come back
/// on the same port after a restart.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The arguments every served test uses: a free loopback port, and a
/// checkpoint at least every 200 ms so tests need not wait long.
pub const SERVE_ON_A_FREE_PORT: [&str; 5] = [
    "serve",
    "--addr",
    "127.0.0.1:0",
    "--checkpoint-interval",
    "200",
];

/// A running server.
pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub address: String,
}

impl Served {
    /// Spawns `command` (a `corridor … serve --addr 127.0.0.1:0 …` command,
    /// perhaps wrapped in a shell that sets limits first) and waits for the
    /// line in which the server names its address. Its standard error is
    /// discarded.
    pub fn spawn(command: Command) -> Result<Served, Box<dyn std::error::Error>> {
        Served::spawn_with_stderr(command, Stdio::null())
    }

    /// Like [`Served::spawn`], with the server's standard error going to
    /// `stderr` (a file a failing test points to).
    pub fn spawn_with_stderr(
        mut command: Command,
        stderr: Stdio,
    ) -> Result<Served, Box<dyn std::error::Error>> {
        let mut child = command.stdout(Stdio::piped()).stderr(stderr).spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(base) = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|url| url.starts_with("http://"))
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the server printed no address: {line:?}").into());
        };
        let base = base.to_string();
        let address = base.trim_start_matches("http://").to_string();
        Ok(Served {
            child,
            base,
            address,
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
