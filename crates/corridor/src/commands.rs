//! One function per command: validate the arguments once, call the libraries,
//! print for people (or JSON for machines).

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use corridor_engine::{Config, DataDir, SubmitSummary, demo};
use corridor_model::jsonl::JsonLines;
use corridor_model::{FieldError, Location, RecordError, TimePrecision};
use corridor_stats::{StatsDimension, StatsQuery};
use corridor_store::Store;
use serde_json::{Map, Value, json};

use crate::Completion;
use crate::cli::{
    Arguments, Command, StatsArgs, StatsFormat, SummaryFormat, WitnessCli, parse_date_argument,
};
use crate::output::byte_progress;
use crate::{
    analysis_commands, check_commands, export_commands, form_commands, log_commands, serve_commands,
};

pub fn run(arguments: Arguments) -> Result<Completion> {
    // The flag (or CORRIDOR_STORE) wins over `[store] url` for every command.
    if let Some(store) = &arguments.store {
        corridor_engine::override_store_location(store.clone());
    }
    let store = arguments.store.clone();
    let data = arguments.data.clone();
    let data_dir = |default: &str| data.clone().unwrap_or_else(|| PathBuf::from(default));
    match arguments.command {
        Command::Init {
            origin,
            key,
            public_time_precision,
            log_url,
        } => init(
            &data_dir("corridor-data"),
            origin,
            key.as_deref(),
            &public_time_precision,
            store,
            log_url,
        ),
        Command::Add {
            file,
            rejects,
            format,
        } => add(&data_dir("corridor-data"), &file, rejects.rejects, format),
        Command::Import {
            file,
            mapping,
            repeats,
            rejects,
            format,
        } => import(
            &data_dir("corridor-data"),
            &file,
            &mapping,
            &repeats,
            rejects.rejects,
            format,
        ),
        Command::Migrate { to } => crate::migrate_command::migrate(&data_dir("corridor-data"), &to),
        Command::Stats(stats_arguments) => stats(&data_dir("corridor-data"), stats_arguments),
        Command::Demo => run_demo(&data_dir("corridor-demo")),
        Command::Show { id, private } => show(&data_dir("corridor-data"), &id, private),
        Command::Erase { id } => erase(&data_dir("corridor-data"), &id),
        Command::Status { format } => status(&data_dir("corridor-data"), format),
        Command::Log(command) => log_commands::log(&data_dir("corridor-data"), command),
        Command::Verify(verify_arguments) => {
            log_commands::verify(&data_dir("corridor-data"), verify_arguments)
        }
        Command::Check { recent, format } => {
            check_commands::check(&data_dir("corridor-data"), recent, format)
        }
        Command::Witness(WitnessCli::Serve(arguments)) => serve_commands::witness_serve(arguments),
        Command::Witness(WitnessCli::Other(command)) => log_commands::witness(command),
        Command::Serve(arguments) => serve_commands::serve(data.clone(), arguments),
        Command::Token(command) => serve_commands::token(&data_dir("corridor-data"), command),
        Command::Claims(command) => analysis_commands::claims(&data_dir("corridor-data"), command),
        Command::Report(arguments) => {
            analysis_commands::report(&data_dir("corridor-data"), arguments)
        }
        Command::Form(crate::cli::FormCommand::Xlsform(arguments)) => {
            form_commands::xlsform(&data_dir("corridor-data"), arguments)
        }
        Command::Export(arguments) => {
            export_commands::export(&data_dir("corridor-data"), arguments)
        }
        Command::Schema(crate::cli::SchemaCommand::Records) => form_commands::record_schema(),
    }
}

fn init(
    root: &Path,
    origin: Option<String>,
    key: Option<&Path>,
    precision: &str,
    store: Option<String>,
    log_url: Option<String>,
) -> Result<Completion> {
    let Some(public_time_precision) = TimePrecision::parse(precision) else {
        bail!(
            "--public-time-precision: {precision:?} is not one of {}",
            TimePrecision::expected()
        );
    };
    let key = key
        .map(|path| {
            corridor_log::load_signer(path).with_context(|| format!("--key {}", path.display()))
        })
        .transpose()?;
    let origin = match (origin, &key) {
        (Some(origin), _) => origin,
        (None, Some(key)) => key.name().as_str().to_string(),
        (None, None) => bail!("--origin is required (or --key, whose name is the origin)"),
    };
    let mut config = Config {
        public_time_precision,
        store: corridor_engine::StoreSettings { url: store },
        ..Config::new(origin.clone())
    };
    if let Some(url) = log_url {
        corridor_log::open_log(&url).context("--log-url")?;
        config.log.url = Some(url);
    }
    DataDir::init_with_key(root, config, key)
        .with_context(|| format!("creating data directory {}", root.display()))?;
    println!("created data directory {} for log {origin}", root.display());
    Ok(Completion::Clean)
}

/// Collects rejections for the terminal and the reject file.
struct Rejections {
    path: Option<PathBuf>,
    writer: Option<csv_writer::RejectWriter>,
    shown: u64,
}

/// At most this many rejections are printed on the terminal; all go to the file.
const SHOWN_REJECTIONS: u64 = 20;

impl Rejections {
    fn new(path: Option<PathBuf>, location_column: &str) -> Result<Rejections> {
        let writer = match &path {
            Some(path) => Some(csv_writer::RejectWriter::create(path, location_column)?),
            None => None,
        };
        Ok(Rejections {
            path,
            writer,
            shown: 0,
        })
    }

    fn record(&mut self, error: &RecordError) {
        if self.shown < SHOWN_REJECTIONS {
            eprintln!("rejected: {error}");
        } else if self.shown == SHOWN_REJECTIONS {
            eprintln!("(more rejections: see the reject file)");
        }
        self.shown += 1;
        if let Some(writer) = &mut self.writer {
            writer.write(error);
        }
    }

    fn finish(self) -> Result<Option<PathBuf>> {
        match self.writer {
            Some(writer) => {
                let written = writer.finish()?;
                Ok(if written > 0 { self.path } else { None })
            }
            None => Ok(None),
        }
    }
}

mod csv_writer {
    //! The reject file: one CSV row per rejected record, with where it was,
    //! its id and the reason. Reasons never carry private values.

    use std::io::Write;
    use std::path::Path;

    use anyhow::{Context, Result};
    use corridor_model::{Location, RecordError};

    pub struct RejectWriter {
        file: std::io::BufWriter<std::fs::File>,
        path: std::path::PathBuf,
        written: u64,
        failed: Option<std::io::Error>,
    }

    // Ids and field names come from the rejected input, and reject files are
    // opened in spreadsheets: quote and defuse every cell.
    use corridor_stats::csv_field as quote;

    impl RejectWriter {
        pub fn create(path: &Path, location_column: &str) -> Result<RejectWriter> {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating reject file {}", path.display()))?;
            let mut file = std::io::BufWriter::new(file);
            writeln!(file, "{location_column},type,id,field,reason")
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(RejectWriter {
                file,
                path: path.to_path_buf(),
                written: 0,
                failed: None,
            })
        }

        pub fn write(&mut self, error: &RecordError) {
            let location = match error.location {
                Location::Line(number) | Location::Row(number) | Location::Item(number) => {
                    number.to_string()
                }
            };
            let line = format!(
                "{},{},{},{},{}\n",
                location,
                quote(error.record_type.as_deref().unwrap_or("")),
                quote(error.id.as_deref().unwrap_or("")),
                quote(&error.error.field),
                quote(&error.error.reason)
            );
            if let Err(failure) = self.file.write_all(line.as_bytes()) {
                self.failed.get_or_insert(failure);
            }
            self.written += 1;
        }

        pub fn finish(mut self) -> Result<u64> {
            if let Some(failure) = self.failed.take() {
                return Err(failure)
                    .with_context(|| format!("writing reject file {}", self.path.display()));
            }
            self.file
                .flush()
                .with_context(|| format!("writing reject file {}", self.path.display()))?;
            if self.written == 0 {
                let _ = std::fs::remove_file(&self.path);
            }
            Ok(self.written)
        }
    }
}

fn default_rejects_path(input: &Path) -> Option<PathBuf> {
    if input == Path::new("-") {
        return None;
    }
    let mut name = input.file_name()?.to_os_string();
    name.push(".rejects.csv");
    Some(input.with_file_name(name))
}

fn report_summary(
    summary: &SubmitSummary,
    rejects: Option<PathBuf>,
    format: SummaryFormat,
    what: &str,
) -> Completion {
    match format {
        SummaryFormat::Json => {
            let value = json!({
                "stored": summary.stored,
                "already_stored": summary.already_stored,
                "rejected": summary.rejected,
                "rejects_file": rejects.as_ref().map(|path| path.display().to_string()),
            });
            println!("{value}");
        }
        SummaryFormat::Text => {
            let mut line = format!(
                "{what}: {} stored, {} already stored, {} rejected",
                summary.stored, summary.already_stored, summary.rejected
            );
            if let Some(path) = &rejects {
                line.push_str(&format!(" (reasons in {})", path.display()));
            }
            println!("{line}");
        }
    }
    if summary.rejected > 0 {
        Completion::SomeRejected
    } else {
        Completion::Clean
    }
}

fn open_input(file: &Path) -> Result<(Box<dyn Read>, u64)> {
    if file == Path::new("-") {
        return Ok((Box::new(std::io::stdin().lock()), 0));
    }
    let handle = File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = handle
        .metadata()
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    Ok((Box::new(handle), size))
}

/// Counts bytes as they are read, for the progress bar.
struct CountingReader<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.bar.inc(read as u64);
        Ok(read)
    }
}

fn add(
    root: &Path,
    file: &Path,
    rejects: Option<PathBuf>,
    format: SummaryFormat,
) -> Result<Completion> {
    let data_dir = DataDir::open(root)?;
    let (input, size) = open_input(file)?;
    let bar = byte_progress(size);
    let reader = BufReader::with_capacity(
        1 << 16,
        CountingReader {
            inner: input,
            bar: bar.clone(),
        },
    );
    let mut writer = data_dir.writer("corridor add")?;
    let mut rejections = Rejections::new(rejects.or_else(|| default_rejects_path(file)), "line")?;
    let mut read_error: Option<std::io::Error> = None;
    let mut json_lines = JsonLines::new(reader);
    let lines = json_lines.by_ref().map_while(|line| match line {
        Ok(item) => Some(item),
        Err(error) => {
            read_error = Some(error);
            None
        }
    });
    let outcome = writer.submit_all(lines, |error| rejections.record(error), |_| {});
    bar.finish_and_clear();
    let summary = outcome.map_err(anyhow::Error::new)?;
    log_commands::publish(&data_dir, &writer)?;
    let line_number = json_lines.line_number();
    if let Some(error) = read_error {
        return Err(error).with_context(|| {
            format!(
                "reading {} stopped at line {line_number}; the {} records before it were stored",
                file.display(),
                summary.stored
            )
        });
    }
    let rejects_path = rejections.finish()?;
    Ok(report_summary(&summary, rejects_path, format, "add"))
}

fn import(
    root: &Path,
    file: &Path,
    mapping_path: &Path,
    repeats: &[String],
    rejects: Option<PathBuf>,
    format: SummaryFormat,
) -> Result<Completion> {
    let mapping_text = std::fs::read_to_string(mapping_path)
        .with_context(|| format!("reading mapping {}", mapping_path.display()))?;
    let mapping = corridor_import::Mapping::from_toml(&mapping_text)
        .with_context(|| format!("mapping {} is not usable", mapping_path.display()))?;
    check_mapping_targets(&mapping, mapping_path)?;
    let data_dir = DataDir::open(root)?;
    let (input, size) = open_input(file)?;
    let bar = byte_progress(size);
    let repeat_files = form_commands::repeat_files(&mapping, file, repeats)?;
    let importer = corridor_import::CsvImporter::with_repeat_files(
        &mapping,
        CountingReader {
            inner: input,
            bar: bar.clone(),
        },
        repeat_files,
    )
    .with_context(|| format!("reading {}", file.display()))?;
    let mut writer = data_dir.writer("corridor import")?;
    let mut rejections = Rejections::new(rejects.or_else(|| default_rejects_path(file)), "row")?;
    let mut fatal: Option<corridor_import::ImportError> = None;
    let items = importer.map_while(|item| match item {
        Ok(corridor_import::ImportItem::Record(imported)) => Some(Ok((
            Location::Row(imported.rows.first().copied().unwrap_or(0)),
            imported.record,
        ))),
        Ok(corridor_import::ImportItem::Rejected(rejected)) => {
            let record_type = mapping.record_type().map(str::to_string);
            Some(Err(RecordError {
                location: Location::Row(rejected.rows.first().copied().unwrap_or(0)),
                record_type,
                id: rejected.id,
                error: FieldError {
                    field: String::new(),
                    reason: rejected.reason,
                },
            }))
        }
        Err(error) => {
            fatal = Some(error);
            None
        }
    });
    let outcome = writer.submit_all(items, |error| rejections.record(error), |_| {});
    bar.finish_and_clear();
    let summary = outcome.map_err(anyhow::Error::new)?;
    log_commands::publish(&data_dir, &writer)?;
    let rejects_path = rejections.finish()?;
    if let Some(error) = fatal {
        return Err(anyhow::Error::new(error)).with_context(|| {
            format!(
                "importing {} stopped; {} records before the problem were stored (importing again after fixing it is safe)",
                file.display(),
                summary.stored
            )
        });
    }
    Ok(report_summary(&summary, rejects_path, format, "import"))
}

/// Refuses a mapping that writes a field its record type does not have, before
/// any row is read: a typo (`observed_on`) would otherwise reject every row.
fn check_mapping_targets(mapping: &corridor_import::Mapping, path: &Path) -> Result<()> {
    let Some(record_type) = mapping
        .record_type()
        .and_then(corridor_model::RecordType::parse)
    else {
        return Ok(());
    };
    let known = corridor_model::parse::record_fields(record_type);
    for (field, target) in mapping.target_fields() {
        if !known.contains(&field) {
            bail!(
                "mapping {}: fields.{target:?}: a {record_type} record has no field {field:?} (its fields: {})",
                path.display(),
                known.join(", ")
            );
        }
    }
    Ok(())
}

fn stats(root: &Path, arguments: StatsArgs) -> Result<Completion> {
    let mut query = StatsQuery::period(
        parse_date_argument("--from", &arguments.from)?,
        parse_date_argument("--to", &arguments.to)?,
    );
    query.sites = arguments.sites;
    query.by = arguments
        .by
        .iter()
        .map(|name| StatsDimension::parse(name.trim()))
        .collect::<Result<_, _>>()?;
    let filters = arguments.filters.checked()?;
    query.category = filters.category;
    query.direction = filters.direction;
    query.outcome = filters.outcome;
    query.vehicle_class = filters.vehicle_class;
    query.operator = filters.operator;
    query.cargo = filters.cargo;
    query.baseline = arguments.baseline;
    let data_dir = DataDir::open(root)?;
    let store = data_dir.open_store()?;
    let report = corridor_stats::compute(&store, &query)?;
    let text = match arguments.format {
        StatsFormat::Table => corridor_stats::render_table(&report),
        StatsFormat::Csv => corridor_stats::render_csv(&report),
        StatsFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
    };
    write_stdout(&text)?;
    Ok(Completion::Clean)
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A closed pipe (`corridor stats | head`) is not an error.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

fn run_demo(root: &Path) -> Result<Completion> {
    eprintln!("loading the demo data set into {} ...", root.display());
    let (data_dir, summary) = demo::create(root)
        .with_context(|| format!("creating the demo store in {}", root.display()))?;
    data_dir
        .integrate_log_locked("corridor demo")
        .context("publishing the demo log")?;
    let store = data_dir.open_store()?;
    let from = parse_date_argument("demo", demo::DEMO_FROM)?;
    let to = parse_date_argument("demo", demo::DEMO_TO)?;
    let mut query = StatsQuery::period(from, to);
    query.by = vec![StatsDimension::Category, StatsDimension::Direction];
    let report = corridor_stats::compute(&store, &query)?;
    println!(
        "Demo store ready: {} ({} records, log origin {})",
        root.display(),
        summary.stored,
        data_dir.config().origin
    );
    println!();
    println!(
        "SYNTHETIC DATA. Only the aggregates are public figures, each attributed to the party"
    );
    println!(
        "that published it; the per-vehicle records spread those totals over days and vehicles."
    );
    println!();
    println!(
        "Passages on {} from {} to {}:",
        demo::DEMO_SITE,
        demo::DEMO_FROM,
        demo::DEMO_TO
    );
    print!("{}", corridor_stats::render_table(&report));
    println!();
    let data_flag = format!("--data {}", root.display());
    println!(
        "Next: corridor {data_flag} stats --from {} --to {} --by week,category",
        demo::DEMO_FROM,
        demo::DEMO_TO
    );
    Ok(Completion::Clean)
}

fn show(root: &Path, id: &str, private: bool) -> Result<Completion> {
    let data_dir = DataDir::open(root)?;
    let store = data_dir.open_store()?;
    let Some(record) = store.record(id)? else {
        match store.current(id)? {
            Some(_) => bail!("{id:?} is not stored under that id"),
            None => bail!("no record {id:?}"),
        }
    };
    let leaf: Value = serde_json::from_slice(&record.leaf)
        .with_context(|| format!("leaf {} is not JSON", record.leaf_index))?;
    let mut shown = Map::new();
    shown.insert("leaf_index".into(), json!(record.leaf_index));
    shown.insert("leaf".into(), leaf);
    if let Some(state) = store.current(&record.target_id)? {
        shown.insert("current_leaf_index".into(), json!(state.leaf_index));
        shown.insert("retracted".into(), json!(state.retracted));
    }
    if private {
        let part = store.private_part(id)?;
        let value = match part {
            Some(part) => serde_json::from_slice::<Value>(&part.data).unwrap_or(Value::Null),
            None => Value::Null,
        };
        shown.insert("private".into(), value);
    }
    write_stdout(&format!(
        "{}\n",
        serde_json::to_string_pretty(&Value::Object(shown))?
    ))?;
    Ok(Completion::Clean)
}

fn erase(root: &Path, id: &str) -> Result<Completion> {
    let data_dir = DataDir::open(root)?;
    let mut writer = data_dir.writer("corridor erase")?;
    if writer.store().record(id)?.is_none() {
        bail!("no record {id:?}");
    }
    match writer.store_mut().erase_private(id) {
        Ok(erased) => {
            println!(
                "erased {erased} private part(s) of {id} (gone from disk); the public record and its commitment stay"
            );
            Ok(Completion::Clean)
        }
        Err(corridor_store::StoreError::ErasedNotPurged { erased, reason }) => {
            bail!("erased {erased} private part(s) of {id}, but not yet from disk: {reason}")
        }
        Err(other) => Err(other.into()),
    }
}

fn status(root: &Path, format: SummaryFormat) -> Result<Completion> {
    let data_dir = DataDir::open(root)?;
    let store = data_dir.open_store()?;
    let counts = store.count_by_type()?;
    let leaves = store.leaf_count()?;
    match format {
        SummaryFormat::Json => {
            let by_type: Map<String, Value> = counts
                .iter()
                .map(|(kind, count)| (kind.as_str().to_string(), json!(count)))
                .collect();
            println!(
                "{}",
                json!({"origin": data_dir.config().origin, "demo": data_dir.config().demo, "records": leaves, "by_type": by_type})
            );
        }
        SummaryFormat::Text => {
            println!(
                "{}: log {}{}",
                root.display(),
                data_dir.config().origin,
                if data_dir.config().demo {
                    " (demo, synthetic records)"
                } else {
                    ""
                }
            );
            println!("{leaves} records");
            for (kind, count) in counts {
                println!("  {kind:<12} {count}");
            }
        }
    }
    Ok(Completion::Clean)
}
