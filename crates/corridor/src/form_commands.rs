//! `corridor form xlsform`: the field form from the store's sites, and the repeat files `corridor import` joins for the mappings such forms write.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use corridor_engine::DataDir;
use corridor_forms::{ExportLayout, FormRequest, FormSite};
use corridor_model::Body;
use corridor_stats::snapshot::Snapshot;

use crate::Completion;
use crate::cli::{FormExport, XlsformArgs};

/// Writes the XLSForm (and, with `--mapping`, its import mapping).
/// `corridor schema records`: the JSON Schema of one record, on standard output.
pub fn record_schema() -> Result<Completion> {
    let schema = serde_json::to_string_pretty(&corridor_model::schema::record_schema())
        .context("writing the record schema")?;
    // A closed pipe (`| head`) is an error to report, not a panic.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{schema}").context("writing the record schema to standard output")?;
    Ok(Completion::Clean)
}

pub fn xlsform(root: &Path, arguments: XlsformArgs) -> Result<Completion> {
    let data_dir = DataDir::open(root)?;
    let store = data_dir.open_store()?;
    let snapshot = Snapshot::load(&store).context("reading the stored sites")?;
    let mut sites = Vec::new();
    for id in &arguments.sites {
        let Some(entry) = snapshot.sites.get(id) else {
            let known: Vec<&str> = snapshot.sites.keys().map(String::as_str).collect();
            bail!(
                "--site {id:?}: no such site in the store (its sites: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            );
        };
        let Body::Site(site) = &entry.record.body else {
            bail!("--site {id:?}: the record is not a site");
        };
        let labels = site.direction_labels.as_ref();
        sites.push(FormSite {
            id: id.clone(),
            name: site.name.clone(),
            inbound_label: labels.and_then(|labels| labels.inbound.clone()),
            outbound_label: labels.and_then(|labels| labels.outbound.clone()),
        });
    }
    let version = match arguments.form_version {
        Some(version) => version,
        // Minutes since the epoch in calendar form: every regeneration gets a
        // new, increasing version, as KoBo and ODK Central require.
        None => jiff::Timestamp::now().strftime("%Y%m%d%H%M").to_string(),
    };
    let request = FormRequest {
        recorded_by: arguments
            .recorded_by
            .unwrap_or_else(|| arguments.form_id.clone()),
        form_id: arguments.form_id,
        title: arguments.title,
        version,
        sites,
    };
    let form = corridor_forms::passage_form(&request)?;
    let bytes = corridor_forms::xlsx_bytes(&form)?;
    std::fs::write(&arguments.output, bytes)
        .with_context(|| format!("writing {}", arguments.output.display()))?;
    eprintln!(
        "wrote {}: XLSForm {:?} version {} with {} site(s)",
        arguments.output.display(),
        request.form_id,
        request.version,
        request.sites.len()
    );
    if let Some(mapping_path) = &arguments.mapping {
        let layout = match arguments.export {
            FormExport::Kobo => ExportLayout::KoboToolbox,
            FormExport::OdkCentral => ExportLayout::OdkCentral,
        };
        let text = corridor_forms::import_mapping(&request, layout)?;
        std::fs::write(mapping_path, text)
            .with_context(|| format!("writing {}", mapping_path.display()))?;
        eprintln!(
            "wrote {}: the import mapping for its {} CSV export",
            mapping_path.display(),
            match layout {
                ExportLayout::KoboToolbox => "KoBoToolbox",
                ExportLayout::OdkCentral => "ODK Central",
            }
        );
    }
    Ok(Completion::Clean)
}

/// The repeat files to join for a mapping's `[repeat.NAME]` tables: each
/// from `--repeat NAME=FILE`, or else the mapping's `file`, read beside the
/// main file.
///
/// # Errors
///
/// A `--repeat` that is not `NAME=FILE` or names no `[repeat.NAME]`, a
/// repeat with no file, or a file that cannot be opened.
pub fn repeat_files(
    mapping: &corridor_import::Mapping,
    main_file: &Path,
    given: &[String],
) -> Result<Vec<corridor_import::RepeatFile<BufReader<File>>>> {
    let declared = mapping.repeat_files();
    let mut chosen: Vec<(String, PathBuf)> = Vec::new();
    for argument in given {
        let Some((name, path)) = argument.split_once('=') else {
            bail!("--repeat {argument:?}: write NAME=FILE, e.g. --repeat cargo=tally-cargo.csv");
        };
        if !declared
            .iter()
            .any(|(declared_name, _)| *declared_name == name)
        {
            let names: Vec<&str> = declared.iter().map(|(name, _)| *name).collect();
            bail!(
                "--repeat {argument:?}: the mapping has no [repeat.{name}] (it declares: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            );
        }
        if chosen.iter().any(|(earlier, _)| earlier == name) {
            bail!("--repeat {name}=...: given twice");
        }
        chosen.push((name.to_owned(), PathBuf::from(path)));
    }
    for (name, default_file) in &declared {
        if chosen.iter().any(|(given_name, _)| given_name == name) {
            continue;
        }
        let Some(default_file) = default_file else {
            bail!(
                "the mapping joins [repeat.{name}] but names no file: give it with --repeat {name}=FILE"
            );
        };
        let beside = main_file
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(default_file);
        chosen.push(((*name).to_owned(), beside));
    }
    chosen
        .into_iter()
        .map(|(name, path)| {
            let file = File::open(&path).with_context(|| {
                format!(
                    "opening repeat file {} for [repeat.{name}] (give another with --repeat {name}=FILE)",
                    path.display()
                )
            })?;
            Ok(corridor_import::RepeatFile {
                name,
                label: path.display().to_string(),
                reader: BufReader::new(file),
            })
        })
        .collect()
}
