//! The xlsx workbook: an "Export" sheet (what was exported, at which log
//! checkpoint, from which sources), then one sheet per record type with
//! bold, frozen headers, set column widths, numbers as numbers and times as
//! real Excel dates. Record sheets stream to temporary files
//! (`constant_memory`), so memory stays bounded.

use std::collections::BTreeMap;
use std::io::Write;

use corridor_model::RecordType;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};
use serde_json::Value;

use crate::columns::{Cell, CellKind, Column, PRIVATE, TRAILING, columns};
use crate::select::{Item, Sink};
use crate::{ExportError, ExportRequest, ExportSummary};

/// Rows of an Excel sheet, header included; a longer section continues on
/// another sheet ("Passages 2").
const MAX_ROWS: u32 = 1_048_576;

/// Where a source is cited, for the "Export" sheet.
type SourceKey = (String, String, String, String);

pub(crate) struct WorkbookSink<'a> {
    workbook: Workbook,
    private: bool,
    section: Option<Section>,
    sources: BTreeMap<SourceKey, u64>,
    summary: &'a mut ExportSummary,
    bold: Format,
    date_time: Format,
    date: Format,
}

struct Section {
    record_type: RecordType,
    columns: Vec<Column>,
    sheet_index: usize,
    next_row: u32,
    part: u32,
}

impl<'a> WorkbookSink<'a> {
    pub(crate) fn new(private: bool, summary: &'a mut ExportSummary) -> Result<Self, ExportError> {
        let mut workbook = Workbook::new();
        workbook.add_worksheet().set_name("Export")?;
        Ok(WorkbookSink {
            workbook,
            private,
            section: None,
            sources: BTreeMap::new(),
            summary,
            bold: Format::new().set_bold(),
            date_time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
        })
    }

    /// Starts a sheet for `record_type` and writes its header row.
    fn open_sheet(&mut self, record_type: RecordType, part: u32) -> Result<(), ExportError> {
        let columns = columns(record_type);
        let mut name = sheet_name(record_type).to_string();
        if part > 1 {
            name = format!("{name} {part}");
        }
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(&name)?;
        let mut labels: Vec<(&str, f64)> = columns
            .iter()
            .map(|column| (column.label, nominal_width(column.kind)))
            .collect();
        labels.extend(TRAILING.iter().map(|(_, label, _)| (*label, 10.0)));
        if self.private {
            labels.push((PRIVATE.1, 30.0));
        }
        // Widths first: in constant-memory mode they precede the rows.
        for (index, (label, width)) in labels.iter().enumerate() {
            let index = column_number(index)?;
            sheet.set_column_width(index, width.max(label.chars().count() as f64 + 2.0))?;
        }
        for (index, (label, _)) in labels.iter().enumerate() {
            sheet.write_string_with_format(0, column_number(index)?, *label, &self.bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        let sheet_index = self.workbook.worksheets_mut().len() - 1;
        self.section = Some(Section {
            record_type,
            columns,
            sheet_index,
            next_row: 1,
            part,
        });
        Ok(())
    }

    /// Fills the "Export" sheet and writes the workbook.
    pub(crate) fn finish(
        mut self,
        request: &ExportRequest,
        types: &[RecordType],
        output: &mut (dyn Write + Send),
    ) -> Result<(), ExportError> {
        let bold = self.bold.clone();
        let filter = &request.filter;
        let day = |date: Option<jiff::civil::Date>| {
            date.map_or("(any)".to_string(), |date| {
                date.strftime("%Y-%m-%d").to_string()
            })
        };
        let mut rows: Vec<(String, String)> = vec![
            ("Exported at".into(), request.exported_at.clone()),
            (
                "What".into(),
                if request.is_whole_log() {
                    "every record of the log: current records by type, and every correction and retraction".into()
                } else {
                    "the current state of the records matching the filters, and the sites they refer to".into()
                },
            ),
            ("Period from".into(), day(filter.from)),
            ("Period to".into(), day(filter.to)),
            (
                "Sites".into(),
                if filter.sites.is_empty() {
                    "(every site)".into()
                } else {
                    filter.sites.join(", ")
                },
            ),
        ];
        for (label, value) in [
            ("Category", &filter.category),
            ("Operator", &filter.operator),
            ("Direction", &filter.direction),
            ("Outcome", &filter.outcome),
            ("Vehicle class", &filter.vehicle_class),
            ("Cargo", &filter.cargo),
        ] {
            if let Some(value) = value {
                rows.push((label.into(), value.clone()));
            }
        }
        rows.push((
            "Record types".into(),
            types
                .iter()
                .map(|kind| kind.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ));
        match &request.checkpoint {
            Some(checkpoint) => {
                rows.push(("Log".into(), checkpoint.origin.clone()));
                rows.push((
                    "Checkpoint tree size".into(),
                    checkpoint.tree_size.to_string(),
                ));
                rows.push(("Checkpoint root hash".into(), checkpoint.root_hash.clone()));
            }
            None => rows.push((
                "Checkpoint".into(),
                "no checkpoint has been published yet".into(),
            )),
        }
        rows.push((
            "Times".into(),
            "site-local wall-clock times, as the records give them".into(),
        ));
        rows.push((
            "Private parts".into(),
            if request.private {
                "included (do not publish this file)".into()
            } else {
                "not included".into()
            },
        ));
        for (record_type, count) in &self.summary.records {
            rows.push((
                format!("{} records", sheet_name(*record_type)),
                count.to_string(),
            ));
        }
        let sources = std::mem::take(&mut self.sources);
        let sheet: &mut Worksheet = self.workbook.worksheet_from_index(0)?;
        sheet.set_column_width(0, 24)?;
        sheet.set_column_width(1, 60)?;
        sheet.set_column_width(2, 30)?;
        sheet.set_column_width(3, 14)?;
        sheet.set_column_width(4, 10)?;
        sheet.write_string_with_format(0, 0, "Corridor export", &bold)?;
        let mut row: u32 = 2;
        for (label, value) in rows {
            sheet.write_string_with_format(row, 0, label, &bold)?;
            sheet.write_string(row, 1, value)?;
            row += 1;
        }
        row += 1;
        for (index, header) in ["Source kind", "Source", "URL", "Published on", "Records"]
            .iter()
            .enumerate()
        {
            sheet.write_string_with_format(row, column_number(index)?, *header, &bold)?;
        }
        for ((kind, name, url, published_on), count) in sources {
            row += 1;
            sheet.write_string(row, 0, kind)?;
            sheet.write_string(row, 1, name)?;
            sheet.write_string(row, 2, url)?;
            sheet.write_string(row, 3, published_on)?;
            sheet.write_number(row, 4, count as f64)?;
        }
        self.workbook.save_to_writer(output)?;
        Ok(())
    }
}

impl Sink for WorkbookSink<'_> {
    fn begin(&mut self, record_type: RecordType) -> Result<(), ExportError> {
        self.open_sheet(record_type, 1)
    }

    fn item(&mut self, item: &Item) -> Result<(), ExportError> {
        let full = self
            .section
            .as_ref()
            .is_none_or(|section| section.next_row >= MAX_ROWS);
        if full {
            let (record_type, part) = self
                .section
                .as_ref()
                .map_or((item.record_type, 1), |section| {
                    (section.record_type, section.part + 1)
                });
            self.open_sheet(record_type, part)?;
        }
        let Some(section) = self.section.as_mut() else {
            return Ok(());
        };
        let row = section.next_row;
        let sheet = self.workbook.worksheet_from_index(section.sheet_index)?;
        for (index, column) in section.columns.iter().enumerate() {
            let col = column_number(index)?;
            match column.read(&item.record) {
                None => {}
                Some(Cell::Number(number)) => {
                    sheet.write_number(row, col, number)?;
                }
                Some(Cell::Text(text)) => match (column.kind, excel_time(&text)) {
                    (CellKind::Time | CellKind::Date, Some((time, has_clock))) => {
                        let format = if has_clock {
                            &self.date_time
                        } else {
                            &self.date
                        };
                        sheet.write_datetime_with_format(row, col, time, format)?;
                    }
                    _ => {
                        sheet.write_string(row, col, text)?;
                    }
                },
            }
        }
        let trailing = section.columns.len();
        sheet.write_number(row, column_number(trailing)?, item.leaf_index as f64)?;
        if let Some(correction) = &item.correction_id {
            sheet.write_string(row, column_number(trailing + 1)?, correction)?;
        }
        if self.private
            && let Some(part) = &item.private
        {
            sheet.write_string(
                row,
                column_number(trailing + 2)?,
                Value::Object(part.clone()).to_string(),
            )?;
        }
        section.next_row += 1;
        let text = |key: &str| {
            item.record
                .get("source")
                .and_then(|source| source.get(key))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        *self
            .sources
            .entry((
                text("kind"),
                text("name"),
                text("url"),
                text("published_on"),
            ))
            .or_default() += 1;
        self.summary.count(item.record_type);
        Ok(())
    }
}

fn sheet_name(record_type: RecordType) -> &'static str {
    match record_type {
        RecordType::Site => "Sites",
        RecordType::Passage => "Passages",
        RecordType::Mission => "Missions",
        RecordType::Incident => "Incidents",
        RecordType::Appeal => "Appeals",
        RecordType::Coverage => "Coverage",
        RecordType::Baseline => "Baselines",
        RecordType::Claim => "Claims",
        RecordType::Correction => "Corrections",
        RecordType::Retraction => "Retractions",
    }
}

fn nominal_width(kind: CellKind) -> f64 {
    match kind {
        CellKind::Time => 19.0,
        CellKind::Date => 11.0,
        CellKind::Number => 10.0,
        CellKind::Text => 16.0,
    }
}

fn column_number(index: usize) -> Result<u16, ExportError> {
    u16::try_from(index).map_err(|_| ExportError::BadRequest("too many columns".into()))
}

/// A record time as an Excel date: the site-local wall-clock time (the
/// offset is dropped), and whether it has a time of day.
fn excel_time(text: &str) -> Option<(ExcelDateTime, bool)> {
    let date_part = text.get(..10)?;
    let date: jiff::civil::Date = date_part.parse().ok()?;
    let day = ExcelDateTime::from_ymd(
        u16::try_from(date.year()).ok()?,
        u8::try_from(date.month()).ok()?,
        u8::try_from(date.day()).ok()?,
    )
    .ok()?;
    if text.len() == 10 {
        return Some((day, false));
    }
    // `…THH:MM:SS[.fff]±HH:MM`: the wall-clock part before the offset.
    let local = text.get(..text.len().checked_sub(6)?)?;
    let time: jiff::civil::DateTime = local.parse().ok()?;
    let seconds = f64::from(time.second()) + f64::from(time.subsec_nanosecond()) / 1e9;
    let at = day
        .and_hms(
            u16::try_from(time.hour()).ok()?,
            u8::try_from(time.minute()).ok()?,
            seconds,
        )
        .ok()?;
    Some((at, true))
}

#[cfg(test)]
mod tests {
    use super::excel_time;

    #[test]
    fn record_times_become_excel_dates_at_site_time() {
        let (time, clock) =
            excel_time("2023-01-17T09:40:00+04:00").unwrap_or_else(|| panic!("no time"));
        assert!(clock);
        // 2023-01-17 is Excel day 44943; 09:40 is 0.402777… of a day.
        let serial = time.to_excel();
        assert!(
            (serial - (44943.0 + 9.0 / 24.0 + 40.0 / 1440.0)).abs() < 1e-9,
            "{serial}"
        );
        let (day, clock) = excel_time("2022-12-12").unwrap_or_else(|| panic!("no day"));
        assert!(!clock);
        assert!((day.to_excel() - 44907.0).abs() < 1e-9);
        assert!(excel_time("not a time").is_none());
    }
}
