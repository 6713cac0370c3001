//! Human and spreadsheet renderings of a [`StatsReport`]: an aligned text
//! table and CSV. JSON is the report itself, serialized; both renderings
//! write each cell as the JSON writes it, so the three formats agree.

use serde_json::{Map, Value};

use crate::table::{METRICS, StatsReport};

/// The columns of the report's rows: dimensions first, then metrics.
fn columns(report: &StatsReport) -> Vec<String> {
    let mut columns: Vec<String> = report
        .query
        .by
        .iter()
        .map(|dimension| dimension.as_str().to_string())
        .collect();
    columns.extend(metric_columns(report));
    columns
}

/// The figure columns: the metrics, then the baseline beside them when asked.
fn metric_columns(report: &StatsReport) -> Vec<String> {
    let mut columns: Vec<String> = METRICS
        .iter()
        .map(|metric| metric.as_str().to_string())
        .collect();
    if report.query.baseline {
        columns.extend([
            "baseline_vehicles".to_string(),
            "baseline_tonnes".to_string(),
        ]);
    }
    columns
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// An aligned text table with a closing `total` row; empty cells mean no data.
pub fn render_table(report: &StatsReport) -> String {
    let columns = columns(report);
    let mut lines: Vec<Vec<String>> = vec![columns.clone()];
    for row in &report.rows {
        let row = row.to_json();
        lines.push(columns.iter().map(|column| cell(row.get(column))).collect());
    }
    let totals = report.totals.to_json();
    let dimensions = report.query.by.len();
    let mut total: Vec<String> = (0..dimensions)
        .map(|position| {
            if position == 0 {
                "total".to_string()
            } else {
                String::new()
            }
        })
        .collect();
    total.extend(
        metric_columns(report)
            .iter()
            .map(|metric| cell(totals.get(metric))),
    );
    if dimensions == 0 {
        // Without dimensions the table is just the totals.
        lines.push(total);
    } else {
        lines.push(Vec::new());
        lines.push(total);
    }
    let widths: Vec<usize> = (0..columns.len())
        .map(|index| {
            lines
                .iter()
                .filter_map(|line| line.get(index))
                .map(|text| text.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &lines {
        if line.is_empty() {
            let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
            continue;
        }
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(index, text)| {
                // Metrics are right-aligned so digits line up.
                if index >= dimensions {
                    format!("{text:>width$}", width = widths[index])
                } else {
                    format!("{text:<width$}", width = widths[index])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    if totals.values().all(Value::is_null) {
        out.push_str("(no passages recorded in this period: that is not the same as no traffic unless the period was covered)\n");
    }
    out
}

/// CSV with a header row; empty fields mean no data. Totals are not included
/// (a spreadsheet sums rows itself, and an extra row would be summed twice).
pub fn render_csv(report: &StatsReport) -> String {
    let columns = columns(report);
    let mut out = String::new();
    out.push_str(
        &columns
            .iter()
            .map(|column| csv_field(column))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push('\n');
    let rows: Vec<Map<String, Value>> = if report.query.by.is_empty() {
        vec![report.totals.to_json()]
    } else {
        report.rows.iter().map(|row| row.to_json()).collect()
    };
    for row in rows {
        out.push_str(
            &columns
                .iter()
                .map(|column| csv_field(&cell(row.get(column))))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180), and defuses text that a
/// spreadsheet would run as a formula (cells from records are untrusted, and
/// CSV files are opened in spreadsheets). Numbers, negative ones included,
/// stay numbers.
pub fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}
