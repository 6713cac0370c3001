//! The import mapping (docs/import.md) for the CSV exports of a form, in KoBoToolbox's or ODK Central's layout, made from the form's own question rows.

use std::fmt::Write;

use crate::xlsform::{CARGO_REPEAT, FormError, FormRequest, SurveyRow, passage_form};

/// Whose CSV export the mapping reads. Both put the repeat group in a file
/// of its own; they name columns and keys differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportLayout {
    /// KoBoToolbox: "XML values and headers", groups in headers with "/";
    /// `_uuid` per submission; the main sheet's `_index` joined by the
    /// repeat sheet's `_parent_index`; the geopoint split into
    /// `_gps_latitude`, `_gps_longitude`, ...
    KoboToolbox,
    /// ODK Central (the Briefcase CSV format): `KEY` is the submission's
    /// instance id, joined by the repeat file's `PARENT_KEY`; the geopoint
    /// split into `gps-Latitude`, `gps-Longitude`, ...
    OdkCentral,
}

impl ExportLayout {
    /// The column of a question inside the repeat group.
    fn repeat_column(self, question: &str) -> String {
        match self {
            ExportLayout::KoboToolbox => format!("{CARGO_REPEAT}/{question}"),
            ExportLayout::OdkCentral => question.to_owned(),
        }
    }

    fn geopoint_columns(self, question: &str) -> (String, String) {
        match self {
            ExportLayout::KoboToolbox => (
                format!("_{question}_latitude"),
                format!("_{question}_longitude"),
            ),
            ExportLayout::OdkCentral => (
                format!("{question}-Latitude"),
                format!("{question}-Longitude"),
            ),
        }
    }

    /// The column holding the submission's uuid, which makes the record id.
    fn submission_id_column(self) -> &'static str {
        match self {
            ExportLayout::KoboToolbox => "_uuid",
            ExportLayout::OdkCentral => "KEY",
        }
    }

    /// Main-file key and repeat-file parent key.
    fn repeat_keys(self) -> (&'static str, &'static str) {
        match self {
            ExportLayout::KoboToolbox => ("_index", "_parent_index"),
            ExportLayout::OdkCentral => ("KEY", "PARENT_KEY"),
        }
    }

    /// The column and value of submissions a reviewer refused.
    fn rejected_submissions(self) -> (&'static str, &'static str) {
        match self {
            ExportLayout::KoboToolbox => ("_validation_status", "validation_status_not_approved"),
            ExportLayout::OdkCentral => ("ReviewState", "rejected"),
        }
    }

    fn how_to_export(self) -> &'static str {
        match self {
            ExportLayout::KoboToolbox => {
                "# In KoBoToolbox: Data > Downloads, export type XLS, \"XML values and headers\",\n\
                 # \"Include groups in headers\" with the \"/\" separator. Save the first sheet as\n\
                 # FORM.csv and the cargo sheet as FORM-cargo.csv (CSV UTF-8), side by side."
            }
            ExportLayout::OdkCentral => {
                "# In ODK Central: Submissions > Download, \"CSV\" (the zip); unzip it so that\n\
                 # FORM.csv and FORM-cargo.csv lie side by side."
            }
        }
    }
}

/// The TOML text of a basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            control if control.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(control));
            }
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// A `[fields]` key, quoted when it has dots or brackets.
fn field_key(target: &str) -> String {
    if target
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '_')
    {
        target.to_owned()
    } else {
        toml_string(target)
    }
}

/// The mapping's line for one question, or `None` for rows that fill no field.
fn field_lines(row: &SurveyRow, column: &str, layout: ExportLayout) -> Vec<String> {
    let column = toml_string(column);
    let kind = row.kind.split_whitespace().next().unwrap_or_default();
    let target = field_key(&row.corridor_field);
    match kind {
        "select_one" | "text" => vec![format!("{target} = {{ column = {column} }}")],
        "integer" => vec![format!(
            "{target} = {{ column = {column}, as = \"integer\" }}"
        )],
        "decimal" => vec![format!(
            "{target} = {{ column = {column}, as = \"number\" }}"
        )],
        // KoBoToolbox and ODK Central both export `2023-06-14T08:30:00.000+04:00`.
        "dateTime" => vec![format!(
            "{target} = {{ column = {column}, format = \"%Y-%m-%dT%H:%M:%S%.f%:z\" }}"
        )],
        "geopoint" => {
            let (latitude, longitude) = layout.geopoint_columns(&row.name);
            vec![
                format!(
                    "\"private.{}_latitude\" = {{ column = {}, as = \"number\" }}",
                    row.name,
                    toml_string(&latitude)
                ),
                format!(
                    "\"private.{}_longitude\" = {{ column = {}, as = \"number\" }}",
                    row.name,
                    toml_string(&longitude)
                ),
            ]
        }
        _ => Vec::new(),
    }
}

/// The import mapping for the exports of `passage_form(request)`.
///
/// # Errors
///
/// As [`passage_form`].
pub fn import_mapping(request: &FormRequest, layout: ExportLayout) -> Result<String, FormError> {
    let form = passage_form(request)?;
    let settings = &form.settings;
    let form_id = &settings.form_id;
    let mut text = String::new();
    let layout_name = match layout {
        ExportLayout::KoboToolbox => "KoBoToolbox",
        ExportLayout::OdkCentral => "ODK Central",
    };
    let _ = writeln!(
        text,
        "# Import mapping for the XLSForm {} (version {}), written by\n\
         # `corridor form xlsform`. It reads the {layout_name} CSV export of that form.\n\
         {}\n\
         # Then: corridor import {form_id}.csv --map THIS.toml\n\
         # (the cargo file is found beside it; --repeat {CARGO_REPEAT}=FILE names another).\n\
         # Vocabularies: {}",
        toml_string(form_id),
        settings.version,
        layout.how_to_export().replace("FORM", form_id),
        settings.corridor_vocabulary
    );
    let _ = writeln!(text, "\n[fields]");
    let _ = writeln!(text, "type = {{ constant = \"passage\" }}");
    // The submission's uuid is stable across exports, so importing a later
    // export again skips what is already stored.
    let _ = writeln!(
        text,
        "id = {{ template = {} }}",
        toml_string(&format!("{form_id}-{{{}}}", layout.submission_id_column()))
    );
    let _ = writeln!(
        text,
        "\"source.kind\" = {{ constant = \"direct_observation\" }}"
    );
    let _ = writeln!(
        text,
        "\"source.name\" = {{ constant = {} }}",
        toml_string(&settings.form_title)
    );
    let _ = writeln!(
        text,
        "recorded_by = {{ constant = {} }}",
        toml_string(&request.recorded_by)
    );
    let mut in_repeat = false;
    for row in &form.survey {
        match row.kind.as_str() {
            "begin_repeat" => in_repeat = true,
            "end_repeat" => in_repeat = false,
            _ => {
                let column = if in_repeat {
                    layout.repeat_column(&row.name)
                } else {
                    row.name.clone()
                };
                for line in field_lines(row, &column, layout) {
                    let _ = writeln!(text, "{line}");
                }
            }
        }
    }
    let (status_column, refused) = layout.rejected_submissions();
    let _ = writeln!(
        text,
        "\n# Submissions a reviewer refused are left out.\n[[skip]]\ncolumn = {}\nequals = {}",
        toml_string(status_column),
        toml_string(refused)
    );
    let (key, parent_key) = layout.repeat_keys();
    let _ = writeln!(
        text,
        "\n[repeat.{CARGO_REPEAT}]\nfile = {}\nkey = {}\nparent_key = {}",
        toml_string(&format!("{form_id}-{CARGO_REPEAT}.csv")),
        toml_string(key),
        toml_string(parent_key)
    );
    Ok(text)
}
