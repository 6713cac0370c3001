//! Command-line arguments, as clap parses them. Turned into validated values
//! in `commands`, once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Corridor: a verifiable access monitor for contested roads and crossings.
///
/// Records every passage through a checkpoint, counts any period, and keeps
/// every record in an append-only store whose figures anyone can recompute.
#[derive(Debug, Parser)]
#[command(name = "corridor", version, propagate_version = true)]
pub struct Arguments {
    /// The data directory [default: ./corridor-data; ./corridor-demo for `demo`]
    #[arg(long, global = true, env = "CORRIDOR_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// More log output on stderr (-v info, -vv debug); CORRIDOR_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data directory.
    Init {
        /// The log's name, e.g. monitor.example.org/lachin (also its signing key's name)
        #[arg(long)]
        origin: String,
        /// How precisely times are published: second, minute, hour or day (finer times stay private)
        #[arg(long, default_value = "second")]
        public_time_precision: String,
    },
    /// Append records from a JSON Lines file (or - for standard input).
    Add {
        /// JSON Lines: one record object per line, see docs/records.md
        file: PathBuf,
        #[command(flatten)]
        rejects: RejectsArgs,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Import a CSV export through a mapping (see docs/import.md).
    Import {
        /// The CSV file
        file: PathBuf,
        /// The mapping (TOML) from the file's columns to record fields
        #[arg(long = "map", value_name = "MAPPING.toml")]
        mapping: PathBuf,
        #[command(flatten)]
        rejects: RejectsArgs,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Count passages for a period, grouped as asked.
    Stats(StatsArgs),
    /// Load the demo data set (the real case, with synthetic per-vehicle records).
    Demo,
    /// Show one record as stored: its public form and leaf index.
    Show {
        /// The record's id
        id: String,
        /// Also print the private part (operator only; never published)
        #[arg(long)]
        private: bool,
    },
    /// Erase a record's private part (its commitment stays in the public record).
    Erase {
        /// The record's id; its corrections' private parts are erased too
        id: String,
    },
    /// Summarize what the data directory holds.
    Status {
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
}

#[derive(Debug, Args)]
pub struct RejectsArgs {
    /// Where to write rejected records [default: FILE.rejects.csv beside the input; none for stdin]
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// First day of the period (YYYY-MM-DD, site-local, inclusive)
    #[arg(long)]
    pub from: String,
    /// Last day of the period (YYYY-MM-DD, site-local, inclusive)
    #[arg(long)]
    pub to: String,
    /// Only this site (repeatable)
    #[arg(long = "site", value_name = "SITE")]
    pub sites: Vec<String>,
    /// Group by: day, week, month, site, category, operator, direction, outcome, vehicle_class, cargo, source, recorded_by
    #[arg(long, value_delimiter = ',', value_name = "DIM[,DIM...]")]
    pub by: Vec<String>,
    /// Only this operator category
    #[arg(long)]
    pub category: Option<String>,
    /// Only this operator (exact name)
    #[arg(long)]
    pub operator: Option<String>,
    /// Only this direction: inbound, outbound, unknown
    #[arg(long)]
    pub direction: Option<String>,
    /// Only this outcome: passed, turned_back, delayed, held
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only this vehicle class
    #[arg(long)]
    pub vehicle_class: Option<String>,
    /// Only vehicles carrying this cargo kind
    #[arg(long)]
    pub cargo: Option<String>,
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
}
