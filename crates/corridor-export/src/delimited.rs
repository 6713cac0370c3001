//! CSV and HXL CSV: one record type, a header row of snake_case names and,
//! for HXL, the hashtag row right after it (HXL standard 1.1, "hashtag row").

use std::io::Write;

use corridor_model::RecordType;

use crate::columns::{Cell, Column, PRIVATE, TRAILING, columns};
use crate::select::{Item, Sink};
use crate::{ExportError, ExportSummary};

pub(crate) struct DelimitedSink<'a, W: Write> {
    writer: csv::Writer<W>,
    record_type: RecordType,
    columns: Vec<Column>,
    private: bool,
    /// Whether the section being written is the file's record type.
    writing: bool,
    summary: &'a mut ExportSummary,
}

impl<'a, W: Write> DelimitedSink<'a, W> {
    pub(crate) fn new(
        output: W,
        record_type: RecordType,
        hxl: bool,
        private: bool,
        summary: &'a mut ExportSummary,
    ) -> Result<Self, ExportError> {
        let columns = columns(record_type);
        let mut writer = csv::Writer::from_writer(output);
        let mut headers: Vec<&str> = columns.iter().map(|column| column.header).collect();
        let mut tags: Vec<&str> = columns.iter().map(|column| column.hxl).collect();
        headers.extend(TRAILING.iter().map(|(header, _, _)| *header));
        tags.extend(TRAILING.iter().map(|(_, _, tag)| *tag));
        if private {
            headers.push(PRIVATE.0);
            tags.push(PRIVATE.2);
        }
        writer.write_record(&headers)?;
        if hxl {
            writer.write_record(&tags)?;
        }
        Ok(DelimitedSink {
            writer,
            record_type,
            columns,
            private,
            writing: false,
            summary,
        })
    }

    pub(crate) fn finish(mut self) -> Result<(), ExportError> {
        self.writer.flush()?;
        Ok(())
    }
}

impl<W: Write> Sink for DelimitedSink<'_, W> {
    fn begin(&mut self, record_type: RecordType) -> Result<(), ExportError> {
        // The sites a filtered export adds go to their own file only when asked.
        self.writing = record_type == self.record_type;
        Ok(())
    }

    fn item(&mut self, item: &Item) -> Result<(), ExportError> {
        if !self.writing {
            return Ok(());
        }
        let mut row: Vec<String> = self
            .columns
            .iter()
            .map(|column| match column.read(&item.record) {
                Some(Cell::Text(text)) => defused(text),
                Some(Cell::Number(number)) => number.to_string(),
                None => String::new(),
            })
            .collect();
        row.push(item.leaf_index.to_string());
        row.push(item.correction_id.clone().unwrap_or_default());
        if self.private {
            row.push(
                item.private
                    .as_ref()
                    .map(|part| serde_json::Value::Object(part.clone()).to_string())
                    .unwrap_or_default(),
            );
        }
        self.writer.write_record(&row)?;
        self.summary.count(item.record_type);
        Ok(())
    }
}

/// Text that a spreadsheet would run as a formula gets a leading `'`: the
/// cells come from records anyone could submit.
fn defused(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text
    }
}
