//! `corridor export`: the arguments turned into an export request once, the
//! checkpoint read from the published log, a progress bar while it writes.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use corridor_engine::DataDir;
use corridor_export::{CheckpointSummary, ExportFormat, ExportRequest, RecordFilter};
use corridor_model::RecordType;

use crate::Completion;
use crate::cli::ExportArgs;
use crate::cli::parse_date_argument;

pub fn export(root: &Path, arguments: ExportArgs) -> Result<Completion> {
    let Some(format) = ExportFormat::parse(&arguments.format) else {
        bail!(
            "--format: {:?} is not one of {}",
            arguments.format,
            ExportFormat::NAMES
        );
    };
    let mut types = Vec::new();
    for name in &arguments.types {
        match RecordType::parse(name) {
            Some(record_type) => types.push(record_type),
            None => bail!("--type: {name:?} is not one of {}", RecordType::expected()),
        }
    }
    let filters = arguments.filters.checked()?;
    let filter = RecordFilter {
        from: arguments
            .from
            .as_deref()
            .map(|text| parse_date_argument("--from", text))
            .transpose()?,
        to: arguments
            .to
            .as_deref()
            .map(|text| parse_date_argument("--to", text))
            .transpose()?,
        sites: arguments.sites,
        category: filters.category,
        operator: filters.operator,
        direction: filters.direction,
        outcome: filters.outcome,
        vehicle_class: filters.vehicle_class,
        cargo: filters.cargo,
    };
    let data_dir = DataDir::open(root)?;
    let store = data_dir.open_store()?;
    let checkpoint =
        crate::analysis_commands::current_checkpoint(&data_dir, &store)?.map(|checkpoint| {
            CheckpointSummary {
                origin: checkpoint.origin,
                tree_size: checkpoint.tree_size,
                root_hash: checkpoint.root_hash,
            }
        });
    let request = ExportRequest {
        format,
        filter,
        types,
        private: arguments.private,
        checkpoint,
        exported_at: jiff::Timestamp::now().to_string(),
    };
    let planned = corridor_export::planned_records(&store, &request)?;
    let bar = crate::output::record_progress(planned);
    let path = &arguments.output;
    // Written beside the target and renamed at the end, so a failed export
    // never leaves a half file under the name asked for.
    let partial = path.with_extension("partial");
    let mut file = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let outcome = corridor_export::export(&store, &request, &mut file, &mut |done| bar.inc(done));
    bar.finish_and_clear();
    let summary = match outcome.and_then(|summary| Ok(file.flush().map(|()| summary)?)) {
        Ok(summary) => summary,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error).with_context(|| format!("exporting to {}", path.display()));
        }
    };
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    let counts: Vec<String> = summary
        .records
        .iter()
        .map(|(record_type, count)| format!("{count} {record_type}"))
        .collect();
    println!(
        "exported {} records to {}{}{}",
        summary.total(),
        path.display(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        },
        if request.private {
            "; it holds private parts: do not publish it"
        } else {
            ""
        }
    );
    Ok(Completion::Clean)
}
