//! The XLSForm of one passage tally as data: the rows of its `survey`, `choices` and `settings` sheets (XLSForm specification, xlsform.org), pure and testable.
//!
//! Each question's `name` is the column it becomes in a KoBoToolbox or ODK
//! Central export, and the extra `corridor_field` column says which record
//! field it fills (docs/records.md), so the mapping in `import_mapping.rs`
//! and the form cannot drift apart unseen: both are made from the rows here.

use crate::vocabulary::{self, Choice};

/// A site the form offers, as read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSite {
    /// The site record's id: the choice's name, hence the `site` of the passage.
    pub id: String,
    /// The site's name, the choice's label.
    pub name: String,
    /// The site's own label for `inbound` (`direction_labels`), if it has one.
    pub inbound_label: Option<String>,
    /// The site's own label for `outbound`, if it has one.
    pub outbound_label: Option<String>,
}

/// What the form is made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRequest {
    /// The XLSForm `form_id`, e.g. `tally`; also the prefix of record ids.
    pub form_id: String,
    /// The form's title, shown on the phone and used as `source.name`.
    pub title: String,
    /// The XLSForm `version`; KoBo and ODK Central need a new one for every change.
    pub version: String,
    /// The `recorded_by` of the records imported from the form's exports.
    pub recorded_by: String,
    /// The sites the observer can choose from, in this order.
    pub sites: Vec<FormSite>,
}

/// A request the form cannot be made from.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// No site was given.
    #[error("the form needs at least one site")]
    NoSites,
    /// A site was given twice.
    #[error("site {0:?} is given twice")]
    DuplicateSite(String),
    /// The form id is not usable as an XML name and a record-id prefix.
    #[error(
        "form id {0:?}: use 1–64 letters, digits, '_' or '-', starting with a letter (it names the form's XML root and prefixes record ids)"
    )]
    FormId(String),
    /// The version is empty or has spaces.
    #[error("form version {0:?}: use 1–64 characters without spaces, e.g. 2024061401")]
    Version(String),
    /// The title or `recorded_by` is empty.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// Writing the workbook failed.
    #[error("writing the xlsx workbook failed: {0}")]
    Xlsx(#[source] rust_xlsxwriter::XlsxError),
}

/// One row of the `survey` sheet. Empty strings leave a cell empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyRow {
    /// `type`: `select_one site`, `integer`, `begin_repeat`, ...
    pub kind: String,
    /// `name`: the export column.
    pub name: String,
    pub label: String,
    pub hint: String,
    pub required: bool,
    pub constraint: String,
    pub constraint_message: String,
    /// `relevant`: when the question is asked.
    pub relevant: String,
    pub default: String,
    pub choice_filter: String,
    /// The record field(s) the answer fills; `private.*` for personal data.
    pub corridor_field: String,
}

/// One row of the `choices` sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceRow {
    pub list_name: String,
    pub name: String,
    pub label: String,
    /// For direction choices of a site with its own labels: the site they belong to.
    pub site: Option<String>,
}

/// The `settings` sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub form_title: String,
    pub form_id: String,
    pub version: String,
    /// What a submission is called in lists on the phone and the server.
    pub instance_name: String,
    /// Needed when direction choices repeat per site (a choice filter by site).
    pub allow_choice_duplicates: bool,
    /// The vocabularies the form was made from (`vocabulary::provenance`).
    pub corridor_vocabulary: String,
}

/// A whole XLSForm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlsForm {
    pub survey: Vec<SurveyRow>,
    pub choices: Vec<ChoiceRow>,
    pub settings: Settings,
}

/// A sheet as rows of cells, the header first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub name: &'static str,
    pub rows: Vec<Vec<String>>,
}

/// The name of the repeat group of cargo lines, and of its export file's suffix.
pub const CARGO_REPEAT: &str = "cargo";

const SURVEY_COLUMNS: [&str; 11] = [
    "type",
    "name",
    "label",
    "hint",
    "required",
    "constraint",
    "constraint_message",
    "relevant",
    "default",
    "choice_filter",
    "corridor_field",
];

fn question(kind: &str, name: &str, label: &str, corridor_field: &str) -> SurveyRow {
    SurveyRow {
        kind: kind.to_owned(),
        name: name.to_owned(),
        label: label.to_owned(),
        corridor_field: corridor_field.to_owned(),
        ..SurveyRow::default()
    }
}

fn checked(request: &FormRequest) -> Result<(), FormError> {
    let form_id = &request.form_id;
    let mut characters = form_id.chars();
    let id_ok = (1..=64).contains(&form_id.len())
        && characters
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic())
        && characters.all(|character| {
            character.is_ascii_alphanumeric() || character == '_' || character == '-'
        });
    if !id_ok {
        return Err(FormError::FormId(form_id.clone()));
    }
    let version = &request.version;
    if !(1..=64).contains(&version.len()) || version.chars().any(char::is_whitespace) {
        return Err(FormError::Version(version.clone()));
    }
    if request.title.trim().is_empty() {
        return Err(FormError::Empty("the form title"));
    }
    if request.recorded_by.trim().is_empty() {
        return Err(FormError::Empty("recorded_by"));
    }
    if request.sites.is_empty() {
        return Err(FormError::NoSites);
    }
    for (index, site) in request.sites.iter().enumerate() {
        if request.sites[..index]
            .iter()
            .any(|earlier| earlier.id == site.id)
        {
            return Err(FormError::DuplicateSite(site.id.clone()));
        }
    }
    Ok(())
}

fn choice_rows(list_name: &str, choices: &[Choice]) -> Vec<ChoiceRow> {
    choices
        .iter()
        .map(|choice| ChoiceRow {
            list_name: list_name.to_owned(),
            name: choice.name.to_owned(),
            label: choice.label.to_owned(),
            site: None,
        })
        .collect()
}

/// Direction choices: one generic list, or, when any site has labels of its
/// own, a list per site filtered by the chosen site.
fn direction_rows(sites: &[FormSite]) -> (Vec<ChoiceRow>, bool) {
    let generic = vocabulary::directions();
    let own_labels = sites
        .iter()
        .any(|site| site.inbound_label.is_some() || site.outbound_label.is_some());
    if !own_labels {
        return (choice_rows("direction", &generic), false);
    }
    let mut rows = Vec::new();
    for site in sites {
        for choice in &generic {
            let label = match choice.name {
                "inbound" => site.inbound_label.as_deref(),
                "outbound" => site.outbound_label.as_deref(),
                _ => None,
            };
            rows.push(ChoiceRow {
                list_name: "direction".to_owned(),
                name: choice.name.to_owned(),
                label: match label {
                    Some(own) => format!("{own} ({})", choice.label.to_lowercase()),
                    None => choice.label.to_owned(),
                },
                site: Some(site.id.clone()),
            });
        }
    }
    (rows, true)
}

/// Builds the form for one passage per submission.
///
/// # Errors
///
/// [`FormError`] when the request has no site, a site twice, or a form id,
/// version, title or `recorded_by` that cannot be used.
pub fn passage_form(request: &FormRequest) -> Result<XlsForm, FormError> {
    checked(request)?;
    let (direction_choices, filtered_directions) = direction_rows(&request.sites);
    let mut survey = Vec::new();

    let mut site = question("select_one site", "site", "Site", "site");
    site.required = true;
    if let [only] = request.sites.as_slice() {
        site.default.clone_from(&only.id);
    }
    survey.push(site);

    let mut observed_at = question(
        "dateTime",
        "observed_at",
        "When did it pass the site?",
        "observed_at",
    );
    observed_at.required = true;
    observed_at.hint = "The phone records the time with its offset from UTC.".to_owned();
    survey.push(observed_at);

    let mut direction = question(
        "select_one direction",
        "direction",
        "Direction",
        "direction",
    );
    direction.required = true;
    if filtered_directions {
        direction.choice_filter = "site=${site}".to_owned();
    }
    survey.push(direction);

    let mut category = question(
        "select_one category",
        "category",
        "Operator category",
        "category",
    );
    category.required = true;
    survey.push(category);

    let mut operator = question("text", "operator", "Operator", "operator");
    operator.hint = "The organisation, e.g. ICRC. Not a person's name.".to_owned();
    operator.constraint = "string-length(.) <= 200".to_owned();
    operator.constraint_message = "At most 200 characters.".to_owned();
    survey.push(operator);

    let mut vehicle_class = question(
        "select_one vehicle_class",
        "vehicle_class",
        "Vehicle class",
        "vehicle_class",
    );
    vehicle_class.required = true;
    survey.push(vehicle_class);

    let mut count = question("integer", "count", "Number of vehicles", "count");
    count.required = true;
    count.default = "1".to_owned();
    count.hint = "1 for one vehicle; the convoy's size when only that is known.".to_owned();
    count.constraint = ". >= 1 and . <= 10000".to_owned();
    count.constraint_message = "From 1 to 10,000.".to_owned();
    survey.push(count);

    let mut outcome = question("select_one outcome", "outcome", "Outcome", "outcome");
    outcome.required = true;
    outcome.default = "passed".to_owned();
    survey.push(outcome);

    let mut wait = question("integer", "wait_minutes", "Wait (minutes)", "wait_minutes");
    wait.relevant = "${outcome} = 'delayed' or ${outcome} = 'held'".to_owned();
    wait.constraint = ". >= 0 and . <= 100000".to_owned();
    wait.constraint_message = "From 0 to 100,000 minutes.".to_owned();
    survey.push(wait);

    let mut cargo = question("begin_repeat", CARGO_REPEAT, "Cargo line", "cargo");
    cargo.hint = "One line per kind of load; none for an empty vehicle.".to_owned();
    survey.push(cargo);
    let mut cargo_kind = question(
        "select_one cargo_kind",
        "cargo_kind",
        "Kind of cargo",
        "cargo[].kind",
    );
    cargo_kind.required = true;
    survey.push(cargo_kind);
    let mut tonnes = question("decimal", "cargo_tonnes", "Tonnes", "cargo[].tonnes");
    tonnes.constraint = ". >= 0 and . <= 1000000".to_owned();
    tonnes.constraint_message = "From 0 to 1,000,000 tonnes.".to_owned();
    survey.push(tonnes);
    survey.push(SurveyRow {
        kind: "end_repeat".to_owned(),
        name: CARGO_REPEAT.to_owned(),
        ..SurveyRow::default()
    });

    let mut passengers = question("integer", "passengers", "Passengers", "passengers");
    passengers.hint =
        "People carried. Leave empty when not counted (empty is not zero).".to_owned();
    passengers.constraint = ". >= 0 and . <= 100000".to_owned();
    passengers.constraint_message = "From 0 to 100,000.".to_owned();
    survey.push(passengers);

    let mut evacuees = question(
        "integer",
        "medical_evacuees",
        "Medical evacuees",
        "medical_evacuees",
    );
    evacuees.hint = "People carried for medical reasons.".to_owned();
    evacuees.constraint =
        ". >= 0 and . <= 100000 and (string-length(${passengers}) = 0 or . <= ${passengers})"
            .to_owned();
    evacuees.constraint_message = "From 0 to 100,000, and not more than the passengers.".to_owned();
    survey.push(evacuees);

    let mut gps = question(
        "geopoint",
        "gps",
        "GPS point (optional)",
        "private.gps_latitude, private.gps_longitude",
    );
    gps.hint = "Where the observer stands. Kept private: never published.".to_owned();
    survey.push(gps);

    for (name, label) in [("plate", "Number plate"), ("driver", "Driver's name")] {
        let mut private = question("text", name, label, &format!("private.{name}"));
        private.hint = "Personal data: stored apart from the record, never published.".to_owned();
        survey.push(private);
    }

    let mut notes = question("text", "notes", "Notes", "notes");
    notes.hint = "Published with the record: no names or plates here.".to_owned();
    notes.constraint = "string-length(.) <= 4000".to_owned();
    notes.constraint_message = "At most 4,000 characters.".to_owned();
    survey.push(notes);

    let mut choices: Vec<ChoiceRow> = request
        .sites
        .iter()
        .map(|site| ChoiceRow {
            list_name: "site".to_owned(),
            name: site.id.clone(),
            label: site.name.clone(),
            site: None,
        })
        .collect();
    choices.extend(direction_choices);
    choices.extend(choice_rows("category", &vocabulary::categories()));
    choices.extend(choice_rows("vehicle_class", &vocabulary::vehicle_classes()));
    choices.extend(choice_rows("outcome", &vocabulary::outcomes()));
    choices.extend(choice_rows("cargo_kind", vocabulary::SUGGESTED_CARGO_KINDS));

    Ok(XlsForm {
        survey,
        choices,
        settings: Settings {
            form_title: request.title.clone(),
            form_id: request.form_id.clone(),
            version: request.version.clone(),
            instance_name: "concat(${site}, ' ', ${direction}, ' ', ${observed_at})".to_owned(),
            allow_choice_duplicates: filtered_directions && request.sites.len() > 1,
            corridor_vocabulary: vocabulary::provenance(),
        },
    })
}

impl XlsForm {
    /// The three sheets as rows of text, in the order the workbook has them.
    pub fn sheets(&self) -> Vec<Sheet> {
        let yes = |flag: bool| if flag { "yes" } else { "" }.to_owned();
        let mut survey = vec![
            SURVEY_COLUMNS
                .iter()
                .map(|name| (*name).to_owned())
                .collect(),
        ];
        survey.extend(self.survey.iter().map(|row| {
            vec![
                row.kind.clone(),
                row.name.clone(),
                row.label.clone(),
                row.hint.clone(),
                yes(row.required),
                row.constraint.clone(),
                row.constraint_message.clone(),
                row.relevant.clone(),
                row.default.clone(),
                row.choice_filter.clone(),
                row.corridor_field.clone(),
            ]
        }));

        let with_site = self.choices.iter().any(|choice| choice.site.is_some());
        let mut header = vec![
            "list_name".to_owned(),
            "name".to_owned(),
            "label".to_owned(),
        ];
        if with_site {
            header.push("site".to_owned());
        }
        let mut choices = vec![header];
        choices.extend(self.choices.iter().map(|choice| {
            let mut row = vec![
                choice.list_name.clone(),
                choice.name.clone(),
                choice.label.clone(),
            ];
            if with_site {
                row.push(choice.site.clone().unwrap_or_default());
            }
            row
        }));

        let settings = &self.settings;
        let mut names = vec!["form_title", "form_id", "version", "instance_name"];
        let mut values = vec![
            settings.form_title.clone(),
            settings.form_id.clone(),
            settings.version.clone(),
            settings.instance_name.clone(),
        ];
        if settings.allow_choice_duplicates {
            names.push("allow_choice_duplicates");
            values.push("yes".to_owned());
        }
        names.push("corridor_vocabulary");
        values.push(settings.corridor_vocabulary.clone());

        vec![
            Sheet {
                name: "survey",
                rows: survey,
            },
            Sheet {
                name: "choices",
                rows: choices,
            },
            Sheet {
                name: "settings",
                rows: vec![names.into_iter().map(str::to_owned).collect(), values],
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: &str, labels: Option<(&str, &str)>) -> FormSite {
        FormSite {
            id: id.to_owned(),
            name: format!("{id} site"),
            inbound_label: labels.map(|(inbound, _)| inbound.to_owned()),
            outbound_label: labels.map(|(_, outbound)| outbound.to_owned()),
        }
    }

    fn request(sites: Vec<FormSite>) -> FormRequest {
        FormRequest {
            form_id: "tally".to_owned(),
            title: "Tally".to_owned(),
            version: "2024061401".to_owned(),
            recorded_by: "team-1".to_owned(),
            sites,
        }
    }

    fn row<'form>(form: &'form XlsForm, name: &str) -> &'form SurveyRow {
        form.survey
            .iter()
            .find(|row| row.name == name && row.kind != "end_repeat")
            .unwrap_or_else(|| panic!("no question {name}"))
    }

    #[test]
    fn the_survey_asks_for_one_passage_in_order() {
        let form = passage_form(&request(vec![site("lachin", None)])).expect("made");
        let questions: Vec<(&str, &str)> = form
            .survey
            .iter()
            .map(|row| (row.kind.as_str(), row.name.as_str()))
            .collect();
        assert_eq!(
            questions,
            vec![
                ("select_one site", "site"),
                ("dateTime", "observed_at"),
                ("select_one direction", "direction"),
                ("select_one category", "category"),
                ("text", "operator"),
                ("select_one vehicle_class", "vehicle_class"),
                ("integer", "count"),
                ("select_one outcome", "outcome"),
                ("integer", "wait_minutes"),
                ("begin_repeat", "cargo"),
                ("select_one cargo_kind", "cargo_kind"),
                ("decimal", "cargo_tonnes"),
                ("end_repeat", "cargo"),
                ("integer", "passengers"),
                ("integer", "medical_evacuees"),
                ("geopoint", "gps"),
                ("text", "plate"),
                ("text", "driver"),
                ("text", "notes"),
            ]
        );
        // One site: chosen by default, and the generic direction list.
        assert_eq!(row(&form, "site").default, "lachin");
        assert_eq!(row(&form, "direction").choice_filter, "");
        assert!(!form.settings.allow_choice_duplicates);
        assert_eq!(
            row(&form, "wait_minutes").relevant,
            "${outcome} = 'delayed' or ${outcome} = 'held'"
        );
        assert_eq!(row(&form, "count").constraint, ". >= 1 and . <= 10000");
    }

    #[test]
    fn personal_data_is_marked_private() {
        let form = passage_form(&request(vec![site("lachin", None)])).expect("made");
        for name in ["plate", "driver"] {
            assert_eq!(row(&form, name).corridor_field, format!("private.{name}"));
        }
        assert!(row(&form, "gps").corridor_field.starts_with("private."));
        assert!(!row(&form, "notes").corridor_field.starts_with("private."));
    }

    #[test]
    fn sites_with_their_own_labels_get_directions_filtered_by_site() {
        let form = passage_form(&request(vec![
            site("lachin", Some(("towards Stepanakert", "towards Goris"))),
            site("agdam", None),
        ]))
        .expect("made");
        assert_eq!(
            row(&form, "site").default,
            "",
            "no default among several sites"
        );
        assert_eq!(row(&form, "direction").choice_filter, "site=${site}");
        assert!(form.settings.allow_choice_duplicates);
        let directions: Vec<(String, String, Option<String>)> = form
            .choices
            .iter()
            .filter(|choice| choice.list_name == "direction")
            .map(|choice| {
                (
                    choice.name.clone(),
                    choice.label.clone(),
                    choice.site.clone(),
                )
            })
            .collect();
        let lachin = Some("lachin".to_owned());
        let agdam = Some("agdam".to_owned());
        assert_eq!(
            directions,
            vec![
                (
                    "inbound".into(),
                    "towards Stepanakert (inbound)".into(),
                    lachin.clone()
                ),
                (
                    "outbound".into(),
                    "towards Goris (outbound)".into(),
                    lachin.clone()
                ),
                ("unknown".into(), "Unknown".into(), lachin),
                ("inbound".into(), "Inbound".into(), agdam.clone()),
                ("outbound".into(), "Outbound".into(), agdam.clone()),
                ("unknown".into(), "Unknown".into(), agdam),
            ]
        );
        let sheets = form.sheets();
        assert_eq!(
            sheets[1].rows[0],
            vec!["list_name", "name", "label", "site"]
        );
        assert_eq!(
            sheets[2].rows[0],
            vec![
                "form_title",
                "form_id",
                "version",
                "instance_name",
                "allow_choice_duplicates",
                "corridor_vocabulary"
            ]
        );
    }

    #[test]
    fn the_settings_sheet_versions_the_form_and_names_its_vocabularies() {
        let form = passage_form(&request(vec![site("lachin", None)])).expect("made");
        let sheets = form.sheets();
        let settings = &sheets[2];
        assert_eq!(settings.name, "settings");
        assert_eq!(
            settings.rows[0],
            vec![
                "form_title",
                "form_id",
                "version",
                "instance_name",
                "corridor_vocabulary"
            ]
        );
        assert_eq!(settings.rows[1][..3], ["Tally", "tally", "2024061401"]);
        assert_eq!(settings.rows[1][4], crate::vocabulary::provenance());
        assert_eq!(sheets[0].rows[0][..3], ["type", "name", "label"]);
        assert_eq!(sheets[0].rows.len(), form.survey.len() + 1);
    }

    #[test]
    fn unusable_requests_are_refused() {
        let error = |request: FormRequest| passage_form(&request).expect_err("refused").to_string();
        assert_eq!(
            error(request(Vec::new())),
            "the form needs at least one site"
        );
        assert_eq!(
            error(request(vec![site("lachin", None), site("lachin", None)])),
            "site \"lachin\" is given twice"
        );
        let mut bad_id = request(vec![site("lachin", None)]);
        bad_id.form_id = "1 tally".to_owned();
        assert!(error(bad_id).starts_with("form id \"1 tally\": use 1–64 letters"));
        let mut bad_version = request(vec![site("lachin", None)]);
        bad_version.version = "v 2".to_owned();
        assert!(error(bad_version).starts_with("form version \"v 2\""));
    }
}
