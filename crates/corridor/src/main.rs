//! The `corridor` binary: parses arguments, runs one command, maps errors to
//! exit codes. The work is done by the library crates; this is glue.

mod analysis_commands;
mod check_commands;
mod cli;
mod commands;
mod export_commands;
mod form_commands;
mod log_commands;
mod migrate_command;
mod output;
mod serve_commands;

use std::process::ExitCode;

use clap::Parser;

/// Exit code when a command ran but some input records were rejected.
const EXIT_REJECTED: u8 = 3;

/// How a command that ran to the end went; `main` turns it into the exit code.
enum Completion {
    Clean,
    /// Some input records were rejected (the rest were stored).
    SomeRejected,
}

fn main() -> ExitCode {
    let arguments = cli::Arguments::parse();
    install_logging(arguments.verbose);
    match commands::run(arguments) {
        Ok(Completion::Clean) => ExitCode::SUCCESS,
        Ok(Completion::SomeRejected) => ExitCode::from(EXIT_REJECTED),
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each said once. Many library errors repeat
/// their cause's text in their own message and also return it as their
/// `source()`; printing the whole chain would then say it twice.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if text.contains(message.as_str()) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

fn install_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CORRIDOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
