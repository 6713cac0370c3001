//! Command-line arguments, as clap parses them. Turned into validated values
//! in `commands`, once.

use std::net::SocketAddr;
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

    /// Where the records are stored, instead of `[store] url`: a path,
    /// sqlite:PATH, or postgres://... / postgresql://... (`init` writes it
    /// into corridor.toml)
    #[arg(long, global = true, env = "CORRIDOR_STORE", value_name = "URL")]
    pub store: Option<String>,

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
        #[arg(long, required_unless_present = "key")]
        origin: Option<String>,
        /// Sign with this existing private key file instead of a new key: a server
        /// joining a log that others publish from one PostgreSQL store (see docs/deploy.md).
        /// The origin is the key's name
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// How precisely times are published: second, minute, hour or day (finer times stay private)
        #[arg(long, default_value = "second")]
        public_time_precision: String,
        /// Where the log is published: a directory or s3://BUCKET/PREFIX, kept as `[log] url` in corridor.toml [default: DATA/log]
        #[arg(long, value_name = "DIR|URL")]
        log_url: Option<String>,
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
        /// A repeat-group file to join, for the mapping's [repeat.NAME] (repeatable) [default: its `file`, beside FILE]
        #[arg(long = "repeat", value_name = "NAME=FILE")]
        repeats: Vec<String>,
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
    /// The transparency log: public key, receipts, proofs, cosignatures (see docs/log.md).
    #[command(subcommand)]
    Log(LogCommand),
    /// Check a published log, or a receipt, from the files alone.
    Verify(VerifyArgs),
    /// Check the data directory for corruption: the published log from its
    /// files, every stored record against the entry the log published, and
    /// the rollups against a recount of the current passages.
    Check {
        /// Only the latest checkpoint and the last N published records (the cheap start-up check)
        #[arg(long, value_name = "N")]
        recent: Option<u64>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Move this data directory's SQLite store into PostgreSQL, so that
    /// several servers can share it (see docs/storage.md). The leaves, the
    /// log's root, origin and key stay the same. Stop the server first; an
    /// interrupted run continues when run again. At the end corridor.toml
    /// names the database and store.db is kept as store.db.retired-TIME,
    /// never written again.
    Migrate {
        /// The PostgreSQL database: postgres://... or postgresql://...
        /// (empty, or holding what an interrupted run of this copied);
        /// written into corridor.toml as `[store] url` at the end
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Run a witness: cosign logs' checkpoints only if they extend what it cosigned before.
    #[command(subcommand)]
    Witness(WitnessCli),
    /// Run the HTTP server: write, read and log API, metrics (see docs/api.md).
    Serve(ServeArgs),
    /// The server's API tokens: create (the secret is shown once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check public claims against the records.
    #[command(subcommand)]
    Claims(ClaimsCommand),
    /// Write a period report (JSON, CSV or a self-contained HTML page), or
    /// re-derive a published report from the log alone (`report verify`).
    Report(ReportArgs),
    /// Field forms for KoBoToolbox and ODK Collect, and the mappings that import their exports.
    #[command(subcommand)]
    Form(FormCommand),
    /// Export records as JSON Lines, CSV, HXL CSV or an xlsx workbook (see docs/export.md).
    Export(ExportArgs),
    /// The JSON Schemas of what Corridor accepts, for validators and form tools.
    #[command(subcommand)]
    Schema(SchemaCommand),
}

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Print the JSON Schema (2020-12) of one record as `add`, `import` and
    /// the API accept it (docs/records.md); a server publishes it at /schema/records.json.
    Records,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0: any free port; the chosen address is printed)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Serve the demo data set (created in ./corridor-demo, or --data, if absent)
    #[arg(long)]
    pub demo: bool,
    /// Publish a signed checkpoint at least this often while records arrive, in milliseconds
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub checkpoint_interval: u64,
    /// How long the integrator lease lasts, in milliseconds: when servers share a
    /// PostgreSQL store, one integrates and signs, and if it stops renewing the lease
    /// for this long (it died or hangs) another takes over
    #[arg(long, default_value_t = 3000, value_name = "MS")]
    pub lease_ms: u64,
    /// The most records one submission may hold
    #[arg(long, default_value_t = 10_000)]
    pub max_batch_records: usize,
    /// The largest submission body, in MiB
    #[arg(long, default_value_t = 16, value_name = "MIB")]
    pub max_submission_mib: usize,
    /// Requests per second each token (or client address) may make on average
    #[arg(long, default_value_t = 200.0)]
    pub rate_limit: f64,
    /// Seconds a request may take before the client gets a 503
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub request_timeout: u64,
    /// Seconds a request's header may take to arrive, from its first byte; then the connection is closed
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub header_read_timeout: u64,
    /// Seconds a kept-alive connection may stay idle (no request, no byte either way) before it is closed
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub idle_timeout: u64,
    /// The most connections open at once; the cap in force is also at most RLIMIT_NOFILE minus --reserved-fds. At the cap, a new connection closes the one idle longest (503 if all are busy)
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_connections: usize,
    /// File descriptors kept out of reach of connections, for the store, the log and the witnesses
    #[arg(long, default_value_t = 128, value_name = "N")]
    pub reserved_fds: u64,
    /// Refuse submissions (503, Retry-After) while more than N acknowledged records wait for a signed checkpoint
    #[arg(long, default_value_t = 500_000, value_name = "N")]
    pub max_unpublished: u64,
    /// Failed authentications a client address may make per minute before they are answered 429
    #[arg(long, default_value_t = 10.0, value_name = "N")]
    pub auth_failures_per_minute: f64,
    /// Believe X-Forwarded-For from peers in this range (a load balancer): the client is the rightmost hop outside every trusted range (repeatable)
    #[arg(long, value_name = "CIDR")]
    pub trusted_proxy: Vec<corridor_server::TrustedProxy>,
    /// Publish the log here instead of where `[log] url` says: a directory or s3://BUCKET/PREFIX
    #[arg(long, value_name = "DIR|URL")]
    pub log_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once and only its hash is stored.
    Create {
        /// What the token is for (a team, a service)
        #[arg(long)]
        name: String,
        /// observer (submit, own receipts), analyst (read everything public), admin (everything)
        #[arg(long)]
        role: String,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token's id (tok_...)
        id: String,
    },
}

/// `corridor witness ...`: the witness commands, plus `serve`.
#[derive(Debug, Subcommand)]
pub enum WitnessCli {
    /// Serve the witness over HTTP: C2SP tlog-witness `POST /add-checkpoint`.
    Serve(WitnessServeArgs),
    #[command(flatten)]
    Other(WitnessCommand),
}

#[derive(Debug, Args)]
pub struct WitnessServeArgs {
    #[command(flatten)]
    pub dir: WitnessDir,
    /// The address to listen on
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub addr: SocketAddr,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCommand>,
    /// First day of the period (YYYY-MM-DD, site-local, inclusive)
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the period (YYYY-MM-DD, site-local, inclusive)
    #[arg(long)]
    pub to: Option<String>,
    /// Only this site (repeatable) [default: every site]
    #[arg(long = "site", value_name = "SITE")]
    pub sites: Vec<String>,
    #[arg(long, value_enum, default_value_t = ReportFileFormat::Json)]
    pub format: ReportFileFormat,
    /// Write the report here instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Recompute every figure of a report from the log's tiles alone, after
    /// checking the checkpoint's signature, and say which figures match.
    Verify {
        /// The report: its JSON, or the HTML page (which carries its JSON)
        report: std::path::PathBuf,
        /// The log: a directory holding `checkpoint` and `tile/`, s3://BUCKET/PREFIX, or its http(s):// URL
        #[arg(long, value_name = "DIR|URL")]
        log: String,
        /// The log's verifier key, or a file holding it
        #[arg(long, value_name = "KEY_OR_FILE")]
        vkey: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFileFormat {
    Json,
    Csv,
    Html,
}

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Compute every assertion of the claims and give each a verdict:
    /// consistent, inconsistent or not verifiable, with the figures and coverage.
    Check {
        /// A claim id, or a JSON Lines file of claim records to check without
        /// storing them [default: every stored claim]
        target: Option<String>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Print the log's public (verifier) key, to publish beside the log.
    Vkey,
    /// Publish every stored record not yet in the log (add, import and demo do this themselves).
    Integrate,
    /// A receipt for one record: its inclusion proof and the signed checkpoint it leads to.
    Prove {
        /// The record's id
        #[arg(long)]
        record: String,
        /// Prove against the checkpoint published at this tree size [default: the latest]
        #[arg(long)]
        size: Option<u64>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Json)]
        format: SummaryFormat,
    },
    /// A consistency proof: the log at --to extends the log at --from.
    Consistency {
        /// The older tree size
        #[arg(long)]
        from: u64,
        /// The newer tree size [default: the latest]
        #[arg(long)]
        to: Option<u64>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Json)]
        format: SummaryFormat,
    },
    /// The witnesses this log asks to cosign each checkpoint it publishes (C2SP tlog-witness).
    #[command(subcommand)]
    Witnesses(LogWitnessesCommand),
    /// Copy a log (by default the data directory's) to a bucket, a directory
    /// or back, and verify the copy; then point `[log] url` at it.
    Copy {
        /// Where to copy it: s3://BUCKET/PREFIX or a directory
        #[arg(long, value_name = "URL|DIR")]
        to: String,
        /// The log to copy: a directory, s3://BUCKET/PREFIX or an http(s):// URL [default: the data directory's log]
        #[arg(long, value_name = "DIR|URL")]
        from: Option<String>,
        /// The log's public key, to verify the copy [default: the data directory's keys/log.vkey]
        #[arg(long, value_name = "KEY|FILE")]
        vkey: Option<String>,
    },
    /// Add witness cosignatures (from `corridor witness cosign`) to the published checkpoint.
    AttachCosignature {
        /// The cosigned checkpoint a witness returned
        file: PathBuf,
        /// The public key of a witness whose cosignature to accept (repeatable)
        #[arg(long = "witness", value_name = "KEY|FILE", required = true)]
        witnesses: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogWitnessesCommand {
    /// Ask a witness to cosign: after every publication the log sends it an
    /// add-checkpoint request and attaches the cosignature it returns.
    Add {
        /// The witness's cosignature public key (`corridor witness vkey` prints it), or a file holding it
        #[arg(long, value_name = "KEY|FILE")]
        vkey: String,
        /// The witness's URL; requests go to URL/add-checkpoint
        #[arg(long)]
        url: String,
    },
    /// List the witnesses and the size each last cosigned.
    List,
    /// Ask every witness now to cosign the published checkpoint.
    Ask,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VerifyArgs {
    #[command(subcommand)]
    pub command: Option<VerifyCommand>,
    /// The log to check: a directory or an http(s):// URL [default: the data directory's log]
    #[arg(long, value_name = "DIR|URL")]
    pub log: Option<String>,
    /// The log's public key, as text or a file holding it [default: the data directory's keys/log.vkey]
    #[arg(long, value_name = "KEY|FILE")]
    pub vkey: Option<String>,
    /// Where to remember the last verified checkpoint [default: ~/.corridor/verify-state/ORIGIN+KEYID.json]
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// A witness's public key whose cosignature counts (repeatable)
    #[arg(long = "witness", value_name = "KEY|FILE")]
    pub witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned the checkpoint
    #[arg(long, default_value_t = 0)]
    pub min_witnesses: usize,
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Check a receipt from `corridor log prove`: the checkpoint's signature and the inclusion proof.
    Receipt {
        /// The receipt (JSON)
        file: PathBuf,
        /// The log's public key, as text or a file holding it
        #[arg(long, value_name = "KEY|FILE")]
        vkey: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Create a witness state directory with a new cosigning key.
    Init {
        #[command(flatten)]
        dir: WitnessDir,
        /// The witness's name, e.g. witness.example.org
        #[arg(long)]
        name: String,
    },
    /// Print the witness's public key.
    Vkey {
        #[command(flatten)]
        dir: WitnessDir,
    },
    /// Follow a log, given its public key (whose name is the log's origin).
    AddLog {
        #[command(flatten)]
        dir: WitnessDir,
        /// The log's public key, as text or a file holding it
        #[arg(long, value_name = "KEY|FILE")]
        vkey: String,
    },
    /// Cosign a log's checkpoint if it extends the one cosigned before; refuse and keep evidence otherwise.
    Cosign {
        #[command(flatten)]
        dir: WitnessDir,
        /// A log directory: its checkpoint, with the consistency proof computed from its tiles
        #[arg(long, value_name = "DIR", conflicts_with_all = ["checkpoint", "proof"])]
        log: Option<PathBuf>,
        /// A signed checkpoint file (with --proof)
        #[arg(long, value_name = "FILE", requires = "proof")]
        checkpoint: Option<PathBuf>,
        /// A consistency proof from `corridor log consistency --format json`, from the size last cosigned
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
        /// Write the cosigned checkpoint here [default: standard output]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct WitnessDir {
    /// The witness state directory
    #[arg(long = "dir", env = "CORRIDOR_WITNESS_DIR", value_name = "DIR")]
    pub path: PathBuf,
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
    /// Group by: day, week, month, site, category, operator, direction, outcome, vehicle_class, cargo, source (name), source_kind, recorded_by
    #[arg(long, value_delimiter = ',', value_name = "DIM[,DIM...]")]
    pub by: Vec<String>,
    #[command(flatten)]
    pub filters: PassageFilterArgs,
    /// Put the baseline beside every figure: what it expects over the days each row spans
    #[arg(long)]
    pub baseline: bool,
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

#[derive(Debug, Subcommand)]
pub enum FormCommand {
    /// Write an XLSForm (xlsx) for one passage per submission, from the
    /// model's vocabularies and the given sites; with --mapping, also the
    /// import mapping for its CSV export (see docs/import.md).
    Xlsform(XlsformArgs),
}

#[derive(Debug, Args)]
pub struct XlsformArgs {
    /// The sites to choose from, by record id (repeatable; several after one --site)
    #[arg(long = "site", value_name = "SITE", required = true, num_args = 1..)]
    pub sites: Vec<String>,
    /// Where to write the form (xlsx)
    #[arg(long, short = 'o', value_name = "FILE.xlsx")]
    pub output: PathBuf,
    /// Also write the import mapping for the form's CSV export here
    #[arg(long, value_name = "MAPPING.toml")]
    pub mapping: Option<PathBuf>,
    /// Whose export the mapping reads
    #[arg(long, value_enum, default_value_t = FormExport::Kobo)]
    pub export: FormExport,
    /// The form id (XLSForm form_id), also the prefix of record ids
    #[arg(long, default_value = "tally")]
    pub form_id: String,
    /// The form's title, also the records' source.name
    #[arg(long, default_value = "Corridor passage tally")]
    pub title: String,
    /// The form's version; KoBo and ODK Central need a new one for each change [default: the time now, UTC, as YYYYMMDDHHMM]
    #[arg(long, value_name = "VERSION")]
    pub form_version: Option<String>,
    /// The recorded_by of the imported records (an observer team handle) [default: the form id]
    #[arg(long, value_name = "HANDLE")]
    pub recorded_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormExport {
    /// KoBoToolbox: XML values and headers, groups in headers with "/"
    Kobo,
    /// ODK Central: the CSV zip
    OdkCentral,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// jsonl (each record's public form; `corridor add` reads it back), csv, hxl (CSV with an HXL hashtag row) or xlsx
    #[arg(long, value_name = "FORMAT")]
    pub format: String,
    /// Write the export here
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Only this record type (repeatable; CSV takes one) [default: every type; passages for CSV]
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// First day of the period (YYYY-MM-DD, site-local, inclusive)
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the period (YYYY-MM-DD, site-local, inclusive)
    #[arg(long)]
    pub to: Option<String>,
    /// Only this site (repeatable)
    #[arg(long = "site", value_name = "SITE")]
    pub sites: Vec<String>,
    #[command(flatten)]
    pub filters: PassageFilterArgs,
    /// Include private parts (plates, names): never publish such a file
    #[arg(long)]
    pub private: bool,
}

/// The filters `stats` and `export` share: one attribute of a passage each.
#[derive(Debug, Args)]
pub struct PassageFilterArgs {
    /// Only this operator category
    #[arg(long)]
    pub category: Option<String>,
    /// Only passages of this operator (exact name)
    #[arg(long)]
    pub operator: Option<String>,
    /// Only passages in this direction: inbound, outbound, unknown
    #[arg(long)]
    pub direction: Option<String>,
    /// Only passages with this outcome: passed, turned_back, delayed, held
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only passages of this vehicle class
    #[arg(long)]
    pub vehicle_class: Option<String>,
    /// Only passages carrying this cargo kind
    #[arg(long)]
    pub cargo: Option<String>,
}

impl PassageFilterArgs {
    /// The same filters, each vocabulary value checked, naming its flag when
    /// it is not one of the vocabulary's tokens.
    pub(crate) fn checked(self) -> anyhow::Result<PassageFilterArgs> {
        Ok(PassageFilterArgs {
            category: check_token::<corridor_model::Category>("--category", self.category)?,
            operator: self.operator,
            direction: check_token::<corridor_model::Direction>("--direction", self.direction)?,
            outcome: check_token::<corridor_model::Outcome>("--outcome", self.outcome)?,
            vehicle_class: check_token::<corridor_model::VehicleClass>(
                "--vehicle-class",
                self.vehicle_class,
            )?,
            cargo: self.cargo,
        })
    }
}

/// A `--from`/`--to` style date argument, with the flag named when it is not a date.
pub(crate) fn parse_date_argument(flag: &str, text: &str) -> anyhow::Result<jiff::civil::Date> {
    use anyhow::Context as _;
    corridor_model::time::parse_date(text)
        .with_context(|| format!("{flag}: {text:?} is not a date (YYYY-MM-DD)"))
}

/// A vocabulary flag (`--category`, `--outcome`, ...), refused with the
/// vocabulary's own "is not a ..." message when it names no token.
fn check_token<T: corridor_model::vocab::Token>(
    flag: &str,
    value: Option<String>,
) -> anyhow::Result<Option<String>> {
    match value {
        None => Ok(None),
        Some(text) if T::parse_token(&text).is_some() => Ok(Some(text)),
        Some(text) => anyhow::bail!("{flag}: {}", T::not_a_token(&text)),
    }
}
