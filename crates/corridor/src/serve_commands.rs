//! `corridor serve`, `corridor token` and `corridor witness serve`: the glue
//! that runs `corridor-server` on a tokio runtime until SIGINT or SIGTERM.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use corridor_engine::{DataDir, demo};
use corridor_server::{ClientAddresses, ConnectionLimits, Role, Server, ServerOptions};

use crate::Completion;
use crate::cli::{ServeArgs, SummaryFormat, TokenCommand, WitnessServeArgs};

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

pub fn serve(data: Option<PathBuf>, arguments: ServeArgs) -> Result<Completion> {
    let root = data.unwrap_or_else(|| {
        PathBuf::from(if arguments.demo {
            "corridor-demo"
        } else {
            "corridor-data"
        })
    });
    let mut data_dir = if arguments.demo && DataDir::open(&root).is_err() {
        eprintln!("loading the demo data set into {} ...", root.display());
        let (data_dir, _) = demo::create(&root)
            .with_context(|| format!("creating the demo store in {}", root.display()))?;
        data_dir
    } else {
        DataDir::open(&root)?
    };
    if arguments.checkpoint_interval == 0 {
        bail!("--checkpoint-interval must be at least 1 ms");
    }
    if arguments.lease_ms < 300 {
        bail!(
            "--lease-ms must be at least 300 (it is {}): the integrator renews it three times per lease, and a shorter one would change hands on every pause",
            arguments.lease_ms
        );
    }
    if arguments.header_read_timeout == 0 || arguments.idle_timeout == 0 {
        bail!("--header-read-timeout and --idle-timeout must be at least 1 second");
    }
    if arguments.max_connections == 0 {
        bail!("--max-connections must be at least 1");
    }
    if arguments.auth_failures_per_minute.is_nan() || arguments.auth_failures_per_minute < 1.0 {
        bail!(
            "--auth-failures-per-minute must be at least 1 (it is {})",
            arguments.auth_failures_per_minute
        );
    }
    if let Some(url) = arguments.log_url.clone() {
        data_dir.set_log_url(url).context("--log-url")?;
    }
    let options = ServerOptions {
        checkpoint_interval: Duration::from_millis(arguments.checkpoint_interval),
        lease: Duration::from_millis(arguments.lease_ms),
        max_batch_records: arguments.max_batch_records,
        max_submission_bytes: arguments.max_submission_mib << 20,
        rate_per_second: arguments.rate_limit,
        rate_burst: (arguments.rate_limit * 2.0).max(1.0),
        request_timeout: Duration::from_secs(arguments.request_timeout.max(1)),
        auth_failures_per_minute: arguments.auth_failures_per_minute,
        client_addresses: ClientAddresses {
            trusted_proxies: arguments.trusted_proxy.clone(),
        },
        max_unpublished: arguments.max_unpublished,
        connections: ConnectionLimits {
            header_read_timeout: Duration::from_secs(arguments.header_read_timeout),
            idle_timeout: Duration::from_secs(arguments.idle_timeout),
            max_connections: arguments.max_connections,
            reserved_descriptors: arguments.reserved_fds,
        },
        ..ServerOptions::default()
    };
    // Refused before anything starts when the descriptor reserve leaves no room.
    options.connections.cap()?;
    let origin = data_dir.config().origin.clone();
    runtime()?.block_on(async move {
        let server = Server::start(data_dir, options).context("starting the server")?;
        let listener = tokio::net::TcpListener::bind(arguments.addr)
            .await
            .with_context(|| format!("listening on {}", arguments.addr))?;
        let address = listener.local_addr()?;
        // Written once, and errors ignored: whoever reads the address may close
        // the pipe after the first line, which must not stop the server.
        {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            let _ = write!(
                stdout,
                "corridor serving log {origin} on http://{address}\n  dashboard   http://{address}/\n  API         http://{address}/openapi.json\n  log         http://{address}/log/checkpoint\nstop with Ctrl-C: every acknowledged record is published before it exits\n"
            );
            let _ = stdout.flush();
        }
        let served = server.serve(listener, shutdown_signal()).await;
        // Whatever happened to the listener, commit and publish what was acknowledged.
        let final_size = server.shutdown().await.context("shutting down")?;
        served.context("serving HTTP")?;
        eprintln!("stopped; every acknowledged record is in the checkpoint of size {final_size}");
        Ok(Completion::Clean)
    })
}

pub fn token(root: &Path, command: TokenCommand) -> Result<Completion> {
    let data_dir = DataDir::open(root)?;
    let mut store = data_dir.open_store()?;
    match command {
        TokenCommand::Create { name, role, format } => {
            let Some(role) = Role::parse(&role) else {
                bail!("--role: {role:?} is not observer, analyst or admin");
            };
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let created = corridor_server::create_token(&mut store, name.trim(), role)?;
            match format {
                SummaryFormat::Json => println!("{}", serde_json::to_string(&created)?),
                SummaryFormat::Text => {
                    println!("{}", created.token);
                    eprintln!(
                        "created token {} ({}, role {}); the secret above is shown only now",
                        created.id, created.name, created.role
                    );
                }
            }
        }
        TokenCommand::List { format } => {
            let tokens = store.tokens()?;
            match format {
                SummaryFormat::Json => {
                    let list: Vec<serde_json::Value> = tokens
                        .iter()
                        .map(|token| {
                            serde_json::json!({"id": token.id, "name": token.name, "role": token.role,
                                "created_at": token.created_at, "revoked_at": token.revoked_at})
                        })
                        .collect();
                    println!("{}", serde_json::Value::Array(list));
                }
                SummaryFormat::Text => {
                    for token in tokens {
                        println!(
                            "{}  {:<8}  {}  {}{}",
                            token.id,
                            token.role,
                            token.created_at,
                            token.name,
                            token
                                .revoked_at
                                .map(|at| format!("  (revoked {at})"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
        }
        TokenCommand::Revoke { id } => {
            let now = jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            if !store.revoke_token(&id, &now)? {
                bail!("no active token {id:?}");
            }
            println!("revoked {id}");
        }
    }
    Ok(Completion::Clean)
}

pub fn witness_serve(arguments: WitnessServeArgs) -> Result<Completion> {
    let witness = corridor_log::Witness::open(&arguments.dir.path)?;
    let name = witness.verifier_key().to_string();
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(arguments.addr)
            .await
            .with_context(|| format!("listening on {}", arguments.addr))?;
        let address = listener.local_addr()?;
        println!("witness {name} serving add-checkpoint on http://{address}/add-checkpoint");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        corridor_server::serve(
            listener,
            corridor_server::witness_router(witness),
            shutdown_signal(),
        )
        .await?;
        Ok(Completion::Clean)
    })
}
