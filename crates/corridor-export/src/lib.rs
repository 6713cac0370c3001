//! Exports of stored records for people and other tools: JSON Lines (each
//! record's exact public form, which `corridor add` reads back), CSV and
//! HXL CSV for HDX (one record type per file), and xlsx workbooks for Excel
//! (a sheet per record type after a sheet about the export).
//!
//! Records are read through the `Store` trait only, a chunk or page at a
//! time, and written as they are read (xlsx sheets stream to temporary
//! files), so an export of millions of passages runs in bounded memory.
//! Private parts are written only when the caller asks (the CLI's
//! `--private`; the server never does). Columns and HXL hashtags are in
//! [`columns`] and docs/export.md.

pub mod columns;
mod delimited;
mod select;
mod workbook;

use std::io::Write;

use corridor_model::RecordType;
use corridor_store::{Store, StoreError};
use serde_json::{Map, Value};

pub use select::{Item, RecordFilter, Sink};

/// The file formats an export can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One record's public form per line.
    JsonLines,
    /// One record type, a header row.
    Csv,
    /// One record type, a header row and an HXL hashtag row.
    Hxl,
    /// An Excel workbook: an "Export" sheet, then a sheet per record type.
    Xlsx,
}

impl ExportFormat {
    pub const NAMES: &'static str = "jsonl, csv, hxl, xlsx";

    /// Parses a format name.
    pub fn parse(name: &str) -> Option<ExportFormat> {
        match name {
            "jsonl" => Some(ExportFormat::JsonLines),
            "csv" => Some(ExportFormat::Csv),
            "hxl" => Some(ExportFormat::Hxl),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }

    /// The media type to serve the file with.
    pub fn media_type(self) -> &'static str {
        match self {
            ExportFormat::JsonLines => "application/x-ndjson",
            ExportFormat::Csv | ExportFormat::Hxl => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::JsonLines => "jsonl",
            ExportFormat::Csv => "csv",
            ExportFormat::Hxl => "hxl.csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// The log checkpoint an export was made at, for the xlsx "Export" sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSummary {
    pub origin: String,
    pub tree_size: u64,
    /// Base64, as in the checkpoint.
    pub root_hash: String,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub format: ExportFormat,
    /// No filter and no types: every record of the log, in log order.
    pub filter: RecordFilter,
    /// The record types asked for (`--type`); empty: the format's default.
    pub types: Vec<RecordType>,
    /// Write private parts too (only on the machine that holds the store).
    pub private: bool,
    /// The published checkpoint, if any, named in the xlsx "Export" sheet.
    pub checkpoint: Option<CheckpointSummary>,
    /// When the export was made (RFC 3339), named in the "Export" sheet.
    pub exported_at: String,
}

impl ExportRequest {
    /// Whether this exports the whole history in log order.
    pub fn is_whole_log(&self) -> bool {
        self.filter.is_empty() && self.types.is_empty()
    }

    /// The types to export, after the defaults: passages for CSV; every
    /// type otherwise (passages only when a passage-only filter is set).
    ///
    /// # Errors
    /// CSV with several types, or a passage-only filter with other types.
    pub fn resolved_types(&self) -> Result<Vec<RecordType>, ExportError> {
        let single = matches!(self.format, ExportFormat::Csv | ExportFormat::Hxl);
        if single && self.types.len() > 1 {
            return Err(ExportError::BadRequest(
                "a CSV file holds one record type: give one --type (one file per type)".into(),
            ));
        }
        if self.filter.selects_passages_only()
            && self.types.iter().any(|kind| *kind != RecordType::Passage)
        {
            return Err(ExportError::BadRequest(
                "operator, direction, outcome, vehicle class and cargo filters select passages; leave out --type or give --type passage".into(),
            ));
        }
        if !self.types.is_empty() {
            return Ok(self.types.clone());
        }
        if single || self.filter.selects_passages_only() {
            return Ok(vec![RecordType::Passage]);
        }
        let mut all: Vec<RecordType> = select::CURRENT_ORDER.to_vec();
        if self.is_whole_log() {
            all.extend([RecordType::Correction, RecordType::Retraction]);
        }
        Ok(all)
    }
}

/// Errors making an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored leaf {leaf_index} cannot be read: {reason}")]
    CorruptLeaf { leaf_index: u64, reason: String },
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the CSV failed: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing the workbook failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Records written, by type, in the order their sections came.
    pub records: Vec<(RecordType, u64)>,
}

impl ExportSummary {
    fn count(&mut self, record_type: RecordType) {
        match self
            .records
            .iter_mut()
            .find(|(kind, _)| *kind == record_type)
        {
            Some((_, count)) => *count += 1,
            None => self.records.push((record_type, 1)),
        }
    }

    pub fn total(&self) -> u64 {
        self.records.iter().map(|(_, count)| count).sum()
    }
}

/// How many records `request` will write, for a progress bar.
///
/// # Errors
/// A bad request or a storage failure.
pub fn planned_records(store: &dyn Store, request: &ExportRequest) -> Result<u64, ExportError> {
    if request.is_whole_log() {
        return Ok(store.leaf_count()?);
    }
    select::current_total(store, &request.filter, &request.resolved_types()?)
}

/// Writes the export `request` asks for to `output`, calling `progress`
/// with the number of records written since its last call.
///
/// # Errors
/// A bad request, a storage failure, an unreadable leaf or a failed write.
pub fn export(
    store: &dyn Store,
    request: &ExportRequest,
    output: &mut (dyn Write + Send),
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, ExportError> {
    let types = request.resolved_types()?;
    let mut summary = ExportSummary::default();
    match request.format {
        ExportFormat::JsonLines => {
            let mut sink = JsonLinesSink {
                output: std::io::BufWriter::new(&mut *output),
                summary: &mut summary,
            };
            run(store, request, &types, &mut sink, progress)?;
            sink.output.flush()?;
        }
        ExportFormat::Csv | ExportFormat::Hxl => {
            let mut sink = delimited::DelimitedSink::new(
                &mut *output,
                types[0],
                request.format == ExportFormat::Hxl,
                request.private,
                &mut summary,
            )?;
            run(store, request, &types, &mut sink, progress)?;
            sink.finish()?;
        }
        ExportFormat::Xlsx => {
            let mut sink = workbook::WorkbookSink::new(request.private, &mut summary)?;
            run(store, request, &types, &mut sink, progress)?;
            sink.finish(request, &types, output)?;
        }
    }
    Ok(summary)
}

fn run(
    store: &dyn Store,
    request: &ExportRequest,
    types: &[RecordType],
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64),
) -> Result<(), ExportError> {
    if request.is_whole_log() && request.format == ExportFormat::JsonLines {
        select::history(store, &[], request.private, sink, progress)
    } else {
        select::current(
            store,
            &request.filter,
            types,
            request.private,
            sink,
            progress,
        )
    }
}

/// JSON Lines: each record's public form in RFC 8785 canonical JSON, the
/// bytes of the leaf's `record`; with `--private`, its private part too.
struct JsonLinesSink<'a, W: Write> {
    output: W,
    summary: &'a mut ExportSummary,
}

impl<W: Write> Sink for JsonLinesSink<'_, W> {
    fn begin(&mut self, _record_type: RecordType) -> Result<(), ExportError> {
        Ok(())
    }

    fn item(&mut self, item: &Item) -> Result<(), ExportError> {
        let mut record = item.record.clone();
        if let Some(private) = &item.private {
            let part = resubmittable(&mut record, private);
            record.insert("private".into(), Value::Object(part));
        }
        let line = corridor_model::canonical::to_canonical_vec(&Value::Object(record)).map_err(
            |error| ExportError::CorruptLeaf {
                leaf_index: item.leaf_index,
                reason: error.to_string(),
            },
        )?;
        self.output.write_all(&line)?;
        self.output.write_all(b"\n")?;
        self.summary.count(item.record_type);
        Ok(())
    }
}

/// A private part as `add` takes it back: the exact times the store kept
/// apart (`exact_times`, reserved) go back into their fields.
fn resubmittable(
    record: &mut Map<String, Value>,
    private: &Map<String, Value>,
) -> Map<String, Value> {
    let mut part = private.clone();
    if let Some(Value::Object(times)) = part.remove("exact_times") {
        for (path, time) in times {
            restore(record, &path, time);
        }
    }
    part
}

/// Puts `value` at a dotted `path` (`record.observed_at`) where a field is.
fn restore(object: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            if let Some(field) = object.get_mut(path) {
                *field = value;
            }
        }
        Some((key, rest)) => {
            if let Some(Value::Object(inner)) = object.get_mut(key) {
                restore(inner, rest, value);
            }
        }
    }
}
