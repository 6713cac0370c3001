//! Reading a CSV file row by row and grouping the rows: [`CsvImporter`] streams items in file order,
//! holding only the rows of the current group, and hands each row or group to the plan
//! (`plan.rs`, `assemble.rs`) to become a record object.

use std::collections::{HashMap, VecDeque};
use std::io::Read;

use crate::columns::{FileColumns, Row, csv_reader, decode_row};
use crate::hxl::{HxlColumnTag, is_hashtag_row};
use crate::mapping::Mapping;
use crate::outcome::{ImportError, ImportItem, RejectedRow};
use crate::plan::ImportPlan;
use crate::repeat::{RepeatFile, RepeatJoin};

/// A group of contiguous rows with the same key, still being read.
#[derive(Debug)]
struct OpenGroup {
    key: String,
    rows: Vec<Row>,
    /// Set when this key already had a group that ended at that row.
    earlier_group_ended_at: Option<u64>,
}

/// Turns a CSV file into record objects, streaming: rows are read as the
/// iterator is advanced, and only the rows of the current group are held.
///
/// Items come in file order. A fatal [`ImportError`] ends the iteration.
#[derive(Debug)]
pub struct CsvImporter<R: Read> {
    reader: csv::Reader<R>,
    plan: ImportPlan,
    header_width: usize,
    buffer: csv::ByteRecord,
    /// A data row read while looking for a hashtag row.
    peeked_row: Option<Row>,
    pending: VecDeque<ImportItem>,
    open_group: Option<OpenGroup>,
    /// The repeat files joined to each row, when the mapping has `[repeat.*]`.
    repeat_join: Option<RepeatJoin>,
    /// Keys of groups already emitted, with the row their group ended at.
    finished_groups: HashMap<String, u64>,
    rows_read: u64,
    rows_skipped: u64,
    finished: bool,
}

impl<R: Read> CsvImporter<R> {
    /// Reads the header row (and the HXL hashtag row right after it, when
    /// there is one) and finds every column the mapping names.
    ///
    /// # Errors
    ///
    /// [`ImportError::Column`] when a column is missing or a pattern matches
    /// several columns for a single-value field; [`ImportError::NoHeader`],
    /// [`ImportError::NotUtf8`] or [`ImportError::Read`] when the header
    /// cannot be read.
    pub fn new(mapping: &Mapping, reader: R) -> Result<CsvImporter<R>, ImportError> {
        let repeat_join = RepeatJoin::load::<&[u8]>(mapping, Vec::new())?;
        CsvImporter::open(mapping, reader, repeat_join)
    }

    /// Like [`CsvImporter::new`], for a mapping with `[repeat.NAME]` tables:
    /// each repeat file is read whole, and its lines are joined to the rows of
    /// the main file they name (docs/import.md, "Repeat groups in files of
    /// their own").
    ///
    /// # Errors
    ///
    /// As [`CsvImporter::new`], and [`ImportError::Repeat`] or
    /// [`ImportError::RepeatRead`] when a declared repeat file is not given,
    /// a file is given for no declared repeat, or a repeat file cannot be read
    /// or lacks its key column.
    pub fn with_repeat_files<F: Read>(
        mapping: &Mapping,
        reader: R,
        repeat_files: Vec<RepeatFile<F>>,
    ) -> Result<CsvImporter<R>, ImportError> {
        let repeat_join = RepeatJoin::load(mapping, repeat_files)?;
        CsvImporter::open(mapping, reader, repeat_join)
    }

    fn open(
        mapping: &Mapping,
        reader: R,
        mut repeat_join: Option<RepeatJoin>,
    ) -> Result<CsvImporter<R>, ImportError> {
        let csv_reader = csv_reader(mapping.delimiter, reader);
        let mut importer = CsvImporter {
            reader: csv_reader,
            plan: ImportPlan {
                empty_values: Vec::new(),
                group_key: None,
                skip_rules: Vec::new(),
                scalar_fields: Vec::new(),
                lists: Vec::new(),
            },
            header_width: 0,
            buffer: csv::ByteRecord::new(),
            peeked_row: None,
            pending: VecDeque::new(),
            open_group: None,
            repeat_join: None,
            finished_groups: HashMap::new(),
            rows_read: 0,
            rows_skipped: 0,
            finished: false,
        };
        let header = importer.read_row()?.ok_or(ImportError::NoHeader)?;
        if header.cells.iter().all(|cell| cell.trim().is_empty()) {
            return Err(ImportError::NoHeader);
        }
        let mut columns = if is_hashtag_row(&header.cells) {
            // An HXL file may have no header names at all, only hashtags.
            FileColumns {
                names: vec![String::new(); header.cells.len()],
                hashtags: Some(hashtags_of(&header.cells)),
            }
        } else {
            let mut columns = FileColumns {
                names: header.cells,
                hashtags: None,
            };
            match importer.read_row()? {
                Some(row) if is_hashtag_row(&row.cells) => {
                    if row.cells.len() > columns.width() {
                        return Err(ImportError::Column {
                            key: "HXL hashtag row".to_owned(),
                            reason: format!(
                                "row {} has {} cells, the header row has {}",
                                row.line,
                                row.cells.len(),
                                columns.width()
                            ),
                        });
                    }
                    let mut hashtags = hashtags_of(&row.cells);
                    hashtags.resize(columns.width(), None);
                    columns.hashtags = Some(hashtags);
                }
                other => importer.peeked_row = other,
            }
            columns
        };
        importer.header_width = columns.width();
        if let Some(join) = &mut repeat_join {
            join.extend_columns(&mut columns);
        }
        importer.plan = ImportPlan::new(mapping, &columns)?;
        if let Some(join) = &mut repeat_join {
            join.resolve(mapping, &importer.plan, &columns, importer.header_width)?;
        }
        importer.repeat_join = repeat_join;
        Ok(importer)
    }

    /// Bytes of the file read so far, for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// Data rows read so far (after the header and hashtag rows), blank and skipped ones included.
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Rows left out by a `[[skip]]` rule or because they are blank.
    pub fn rows_skipped(&self) -> u64 {
        self.rows_skipped
    }

    fn read_row(&mut self) -> Result<Option<Row>, ImportError> {
        if !self
            .reader
            .read_byte_record(&mut self.buffer)
            .map_err(ImportError::Read)?
        {
            return Ok(None);
        }
        decode_row(&self.buffer).map(Some)
    }

    fn next_data_row(&mut self) -> Result<Option<Row>, ImportError> {
        match self.peeked_row.take() {
            Some(row) => Ok(Some(row)),
            None => self.read_row(),
        }
    }

    fn accept_row(&mut self, mut row: Row) {
        self.rows_read += 1;
        if row.cells.iter().all(|cell| cell.trim().is_empty()) || self.plan.is_skipped(&row) {
            self.rows_skipped += 1;
            if let Some(join) = &mut self.repeat_join {
                join.skip_lines_of(&row);
            }
            return;
        }
        if row.cells.len() != self.header_width {
            row.problem = Some(format!(
                "the row has {} cells, the header has {}",
                row.cells.len(),
                self.header_width
            ));
        }
        if let Some(join) = &mut self.repeat_join {
            let item = join.join_and_build(&self.plan, row);
            self.pending.push_back(item);
            return;
        }
        let Some(key_source) = &self.plan.group_key else {
            let item = self
                .plan
                .build(std::slice::from_ref(&row), None, Vec::new());
            self.pending.push_back(item);
            return;
        };
        let key = match self.plan.group_key(key_source, &row) {
            Ok(key) => key,
            Err(problem) => {
                let reason = row.problem.clone().unwrap_or(problem);
                self.pending.push_back(ImportItem::Rejected(RejectedRow {
                    rows: vec![row.line],
                    id: None,
                    reason,
                }));
                return;
            }
        };
        if let Some(group) = &mut self.open_group
            && group.key == key
        {
            group.rows.push(row);
            return;
        }
        self.close_group();
        self.open_group = Some(OpenGroup {
            earlier_group_ended_at: self.finished_groups.get(&key).copied(),
            key,
            rows: vec![row],
        });
    }

    fn close_group(&mut self) {
        let Some(group) = self.open_group.take() else {
            return;
        };
        let mut errors = Vec::new();
        if let Some(ended_at) = group.earlier_group_ended_at {
            errors.push(format!(
                "group key: these rows continue a group that ended at row {ended_at}; the rows of a group must be next to each other (sort the file by the group key)"
            ));
        }
        let item = self.plan.build(&group.rows, Some(&group.key), errors);
        let last_line = group.rows.last().map_or(0, |row| row.line);
        self.finished_groups.insert(group.key, last_line);
        self.pending.push_back(item);
    }
}

fn hashtags_of(cells: &[String]) -> Vec<Option<HxlColumnTag>> {
    cells
        .iter()
        .map(|cell| HxlColumnTag::parse(cell.trim()).ok())
        .collect()
}

impl<R: Read> Iterator for CsvImporter<R> {
    type Item = Result<ImportItem, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok(item));
            }
            if self.finished {
                return None;
            }
            match self.next_data_row() {
                Ok(Some(row)) => self.accept_row(row),
                Ok(None) => {
                    self.finished = true;
                    self.close_group();
                    if let Some(join) = &mut self.repeat_join {
                        self.pending.extend(join.unjoined_lines());
                    }
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The fields every record needs, for tests that focus on another field.
    const COMMON_FIELDS: &str = r##"
        type = { constant = "passage" }
        id = { column = "ID" }
        "source.kind" = { constant = "direct_observation" }
        "source.name" = { constant = "Team A" }
        recorded_by = { constant = "team-a" }
    "##;

    const COMMON_RECORD: [(&str, &str); 2] = [("type", "passage"), ("recorded_by", "team-a")];

    /// Runs the importer and returns each item as its JSON form, so that a
    /// test states the whole output at once.
    fn import(mapping: &str, csv: &[u8]) -> Result<Vec<Value>, String> {
        let mapping = Mapping::from_toml(mapping).map_err(|error| error.to_string())?;
        let importer = CsvImporter::new(&mapping, csv).map_err(|error| error.to_string())?;
        importer
            .map(|item| {
                item.map(|item| serde_json::to_value(item).expect("items serialize"))
                    .map_err(|error| error.to_string())
            })
            .collect()
    }

    /// A mapping with the common fields and `fields` added, under `preamble`
    /// (top-level keys) and followed by `tables` (`[csv]`, `[[skip]]`).
    fn mapping(preamble: &str, fields: &str, tables: &str) -> String {
        format!("{preamble}\n[fields]\n{COMMON_FIELDS}\n{fields}\n{tables}")
    }

    /// The record with the common fields, the id and the given fields.
    fn record(id: &str, fields: Value) -> Value {
        let mut record = json!({
            "id": id,
            "source": {"kind": "direct_observation", "name": "Team A"},
        });
        for (key, value) in COMMON_RECORD {
            record[key] = json!(value);
        }
        if let (Value::Object(record), Value::Object(fields)) = (&mut record, fields) {
            record.extend(fields);
        }
        record
    }

    fn imported(rows: &[u64], id: &str, fields: Value) -> Value {
        json!({"outcome": "imported", "rows": rows, "id": id, "record": record(id, fields)})
    }

    fn rejected(rows: &[u64], id: Option<&str>, reason: &str) -> Value {
        json!({"outcome": "rejected", "rows": rows, "id": id, "reason": reason})
    }

    fn check(mapping: &str, csv: &str, expected: Vec<Value>) {
        let actual = import(mapping, csv.as_bytes()).expect("import runs");
        assert_eq!(
            actual,
            expected,
            "actual output:\n{}",
            serde_json::to_string_pretty(&actual).unwrap_or_default()
        );
    }

    #[test]
    fn columns_by_header_and_constants() {
        check(
            &mapping(
                "",
                r##"
                site = { constant = "lachin" }
                operator = { column = "Operator" }
                passengers = { column = "People", as = "integer" }
                "attributes.destination_country" = { column = "To" }
            "##,
                "",
            ),
            "ID,Operator,People,To\np-1, ICRC ,3,Armenia\np-2,,,\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"site": "lachin", "operator": "ICRC", "passengers": 3,
                    "attributes": {"destination_country": "Armenia"}}),
                ),
                imported(&[3], "p-2", json!({"site": "lachin"})),
            ],
        );
    }

    #[test]
    fn hxl_patterns_match_columns_whose_attributes_include_theirs() {
        let mapping = mapping(
            "",
            r##"
            operator = { hxl = "#org+name" }
            category = { hxl = "#org+type", map = { "RU PK" = "peacekeeping" } }
            count = { hxl = "#indicator+num", as = "integer" }
        "##,
            "",
        );
        check(
            &mapping.replace("id = { column = \"ID\" }", "id = { hxl = \"#meta+id\" }"),
            "Ref,Org,Org type,Vehicles\n#meta+id,#org+name,#org+type+code,#indicator+vehicles+num\nx1,RPC,RU PK,\"1,204\"\n",
            vec![rejected(
                &[3],
                Some("x1"),
                "count: \"1,204\" is not a number (decimal separator '.', no thousands separator)",
            )],
        );
        check(
            &mapping.replace("id = { column = \"ID\" }", "id = { hxl = \"#meta+id\" }"),
            "Ref,Org,Org type,Vehicles\n#meta+id,#org+name,#org+type+code,#indicator+vehicles+num\nx1,RPC,RU PK,12\n",
            vec![imported(
                &[3],
                "x1",
                json!({"operator": "RPC", "category": "peacekeeping", "count": 12}),
            )],
        );
    }

    #[test]
    fn a_file_may_have_only_a_hashtag_row() {
        check(
            &mapping("", r##"operator = { hxl = "#org" }"##, "")
                .replace("id = { column = \"ID\" }", "id = { hxl = \"#meta+id\" }"),
            "#meta+id,#org\nx1,ICRC\n",
            vec![imported(&[2], "x1", json!({"operator": "ICRC"}))],
        );
    }

    #[test]
    fn hxl_patterns_that_match_no_column_or_several_are_refused_before_any_row() {
        let csv = "ID,Org,Org type\n#meta+id,#org+name,#org+type\np-1,ICRC,ngo\n";
        assert_eq!(
            import(&mapping("", r##"operator = { hxl = "#org" }"##, ""), csv.as_bytes()),
            Err("fields.operator: #org matches 2 columns (column \"Org\", column \"Org type\"); make the pattern more specific with +attributes or -attributes".into())
        );
        assert_eq!(
            import(&mapping("", r##"operator = { hxl = "#org+code" }"##, ""), csv.as_bytes()),
            Err("fields.operator: no column matches #org+code (hashtags in the file: #meta+id, #org+name, #org+type)".into())
        );
        assert_eq!(
            import(&mapping("", r##"operator = { hxl = "#org" }"##, ""), "ID,Org\np-1,ICRC\n".as_bytes()),
            Err("fields.operator: the file has no HXL hashtag row (expected right after the header row)".into())
        );
    }

    #[test]
    fn a_list_target_collects_every_column_a_pattern_matches() {
        check(
            &mapping(
                "",
                r##""attributes.x" = { hxl = "#meta+note" }
                "private.contacts[]" = { hxl = "#contact" }"##,
                "",
            ),
            "ID,Note,Phone 1,Phone 2\n#meta+id,#meta+note,#contact+phone,#contact+phone\np-1,n,+374 1,+374 2\np-2,,,+374 3\n",
            vec![
                imported(
                    &[3],
                    "p-1",
                    json!({"attributes": {"x": "n"}, "private": {"contacts": ["+374 1", "+374 2"]}}),
                ),
                imported(&[4], "p-2", json!({"private": {"contacts": ["+374 3"]}})),
            ],
        );
    }

    #[test]
    fn missing_and_duplicated_header_names_are_refused() {
        assert_eq!(
            import(
                &mapping("", r##"operator = { column = "Operator" }"##, ""),
                "ID,operator\n".as_bytes()
            ),
            Err(
                "fields.operator: the file has no column \"Operator\" (did you mean \"operator\"?)"
                    .into()
            )
        );
        assert_eq!(
            import(&mapping("", r##"operator = { column = "Op" }"##, ""), "ID,Op,Op\n".as_bytes()),
            Err("fields.operator: the header has 2 columns named \"Op\" (columns 2, 3); rename one in the file".into())
        );
        assert_eq!(
            import(&mapping("", "", ""), b""),
            Err("the file is empty: it has no header row".into())
        );
    }

    #[test]
    fn dates_and_times_in_their_formats() {
        check(
            &mapping(
                "",
                r##"
                observed_at = { column = "When", format = ["%d-%b-%Y %H:%M", "%d-%b-%Y"] }
                "attributes.reported" = { column = "Reported", format = "%Y-%m-%d %H:%M %z" }
                "private.exact" = { column = "Local", format = "%d/%m/%Y %H:%M", timezone = "Asia/Baku" }
            "##,
                "",
            ),
            "ID,When,Reported,Local\np-1,14-Jun-2023 08:30,2023-06-14 09:00 +0400,14/06/2023 08:30\np-2,14-Jun-2023,,\np-3,31-Jun-2023,,\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({
                        "observed_at": "2023-06-14T08:30:00",
                        "attributes": {"reported": "2023-06-14T09:00:00+04:00"},
                        "private": {"exact": "2023-06-14T08:30:00+04:00"},
                    }),
                ),
                imported(&[3], "p-2", json!({"observed_at": "2023-06-14"})),
                rejected(
                    &[4],
                    Some("p-3"),
                    "observed_at: \"31-Jun-2023\" is not a valid date: parameter 'day' for `2023-06` is invalid, must be in range `1..=30`",
                ),
            ],
        );
    }

    #[test]
    fn a_date_column_and_a_time_column_make_one_time() {
        check(
            &mapping(
                "",
                r##"
                observed_at = { column = "Date", format = "%d/%m/%Y", time_column = "Time", time_format = "%H:%M", timezone = "Asia/Yerevan" }
            "##,
                "",
            ),
            "ID,Date,Time\np-1,14/06/2023,8:05\np-2,14/06/2023,\np-3,,08:00\np-4,14/06/2023,8h05\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"observed_at": "2023-06-14T08:05:00+04:00"}),
                ),
                imported(&[3], "p-2", json!({"observed_at": "2023-06-14"})),
                rejected(
                    &[4],
                    Some("p-3"),
                    "observed_at: \"08:00\" is a time in column \"Time\" but the date is empty",
                ),
                rejected(
                    &[5],
                    Some("p-4"),
                    "observed_at: \"14/06/2023 8h05\" does not match the format \"%H:%M\": expected to match literal byte `:` from format string, but found byte `h` in input",
                ),
            ],
        );
    }

    #[test]
    fn numbers_follow_the_file_separators_unless_a_field_overrides_them() {
        check(
            &mapping(
                "",
                r##"
                count = { column = "N", as = "integer" }
                "cargo[].tonnes" = { column = "T", as = "number" }
                "cargo[].kind" = { constant = "grain" }
                passengers = { column = "P", as = "integer", thousands_separator = " ", decimal_separator = "." }
            "##,
                "[csv]\ndelimiter = \";\"\ndecimal_separator = \",\"\nthousands_separator = \".\"",
            ),
            "ID;N;T;P\np-1;1.204;18.137,5;1 000\np-2;3,0;0,25;\np-3;2,5;;\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"count": 1204, "cargo": [{"kind": "grain", "tonnes": 18137.5}], "passengers": 1000}),
                ),
                imported(
                    &[3],
                    "p-2",
                    json!({"count": 3, "cargo": [{"kind": "grain", "tonnes": 0.25}]}),
                ),
                rejected(&[4], Some("p-3"), "count: \"2,5\" is not a whole number"),
            ],
        );
    }

    #[test]
    fn value_maps_match_trimmed_case_insensitive_values() {
        let fields = r##"
            category = { column = "Cat", map = { "RU PK" = "peacekeeping", "ICRC" = "red_cross" } }
            vehicle_class = { column = "Class", map = { "Truck" = "truck" }, default = "unknown" }
            operator = { column = "Op", map = { "МКК" = "ICRC" }, ignore_unmapped = true }
        "##;
        check(
            &mapping("", fields, ""),
            "ID,Cat,Class,Op\np-1, ru pk ,TRUCK,МКК\np-2,icrc,Kamaz,Red Crescent\np-3,,,\np-4,UN,,\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"category": "peacekeeping", "vehicle_class": "truck", "operator": "ICRC"}),
                ),
                imported(
                    &[3],
                    "p-2",
                    json!({"category": "red_cross", "vehicle_class": "unknown", "operator": "Red Crescent"}),
                ),
                imported(&[4], "p-3", json!({"vehicle_class": "unknown"})),
                rejected(
                    &[5],
                    Some("p-4"),
                    "category: \"UN\" is not in the value map (known values: \"icrc\", \"ru pk\") and the field has no default",
                ),
            ],
        );
    }

    #[test]
    fn required_fields_and_empty_values() {
        check(
            &mapping(
                "",
                r##"operator = { column = "Op", required = true }"##,
                "[csv]\nempty_values = [\"N/A\", \"-\"]",
            ),
            "ID,Op\np-1,ICRC\np-2, n/a \n,ICRC\n",
            vec![
                imported(&[2], "p-1", json!({"operator": "ICRC"})),
                rejected(
                    &[3],
                    Some("p-2"),
                    "operator: required, but column \"Op\" is empty",
                ),
                rejected(&[4], None, "id: required, but column \"ID\" is empty"),
            ],
        );
    }

    #[test]
    fn rows_of_a_group_make_one_record_with_a_list_element_per_row() {
        check(
            &mapping(
                r##"group_by = { column = "_uuid" }"##,
                r##"
                operator = { column = "Op" }
                "cargo[].kind" = { column = "Kind" }
                "cargo[].tonnes" = { column = "T", as = "number" }
            "##,
                "",
            )
            .replace(
                "id = { column = \"ID\" }",
                "id = { template = \"kobo-{group}\" }",
            ),
            "_uuid,Op,Kind,T\na1,ICRC,food,2.5\na1,,medicine,0.4\nb2,Kamaz Ltd,,\nc3,X,fuel,1\nc3,Y,fuel,2\n",
            vec![
                imported(
                    &[2, 3],
                    "kobo-a1",
                    json!({"operator": "ICRC",
                    "cargo": [{"kind": "food", "tonnes": 2.5}, {"kind": "medicine", "tonnes": 0.4}]}),
                ),
                imported(&[4], "kobo-b2", json!({"operator": "Kamaz Ltd"})),
                rejected(
                    &[5, 6],
                    Some("kobo-c3"),
                    "operator: rows 5 and 6 of the group disagree (\"X\" vs \"Y\")",
                ),
            ],
        );
    }

    #[test]
    fn a_group_must_be_contiguous() {
        check(
            &mapping(
                r##"group_by = { column = "ID" }"##,
                r##""cargo[].kind" = { column = "Kind" }"##,
                "",
            ),
            "ID,Kind\np-1,food\np-2,fuel\np-1,grain\n,x\n",
            vec![
                imported(&[2], "p-1", json!({"cargo": [{"kind": "food"}]})),
                imported(&[3], "p-2", json!({"cargo": [{"kind": "fuel"}]})),
                rejected(&[5], None, "group key: column \"ID\" is empty"),
                rejected(
                    &[4],
                    Some("p-1"),
                    "group key: these rows continue a group that ended at row 2; the rows of a group must be next to each other (sort the file by the group key)",
                ),
            ],
        );
    }

    #[test]
    fn a_bad_row_rejects_its_whole_group() {
        check(
            &mapping(
                r##"group_by = { template = "{ID}" }"##,
                r##""cargo[].tonnes" = { column = "T", as = "number" }"##,
                "",
            ),
            "ID,T\np-1,1\np-1,x\np-1,2,extra\np-2,3\n",
            vec![
                rejected(
                    &[2, 3, 4],
                    Some("p-1"),
                    "row 4: the row has 3 cells, the header has 2; row 3: cargo[].tonnes: \"x\" is not a number (decimal separator '.', no thousands separator)",
                ),
                imported(&[5], "p-2", json!({"cargo": [{"tonnes": 3}]})),
            ],
        );
    }

    #[test]
    fn skip_rules_and_blank_rows() {
        let tables = r##"
            [[skip]]
            column = "Status"
            equals = "test"
            [[skip]]
            column = "Op"
            is_empty = true
            [[skip]]
            column = "Status"
            in = ["cancelled", "Duplicate"]
        "##;
        let csv =
            "ID,Status,Op\np-1,ok,ICRC\np-2, TEST ,ICRC\n\n,,\np-3,ok,\np-4,duplicate,X\np-5,,Y\n";
        let mapping_text = mapping("", r##"operator = { column = "Op" }"##, tables);
        check(
            &mapping_text,
            csv,
            vec![
                imported(&[2], "p-1", json!({"operator": "ICRC"})),
                imported(&[8], "p-5", json!({"operator": "Y"})),
            ],
        );
        let mapping = Mapping::from_toml(&mapping_text).expect("valid");
        let mut importer = CsvImporter::new(&mapping, csv.as_bytes()).expect("header");
        assert_eq!(importer.by_ref().count(), 2);
        assert_eq!((importer.rows_read(), importer.rows_skipped()), (6, 4));
        assert_eq!(importer.bytes_read(), csv.len() as u64);
    }

    #[test]
    fn id_templates_use_headers_hashtags_and_make_values_id_safe() {
        check(
            &mapping("", "", "").replace(
                "id = { column = \"ID\" }",
                "id = { template = \"jcc-{IMO}-{#date}\" }",
            ),
            "IMO,Date\n#meta+imo,#date+departure\n9312345,14/06/2023\n9312345,\n",
            vec![
                imported(&[3], "jcc-9312345-14-06-2023", json!({})),
                rejected(&[4], None, "id: placeholder {#date} is empty"),
            ],
        );
    }

    #[test]
    fn identical_rows_are_two_records_when_their_ids_differ() {
        check(
            &mapping("", r##"vehicle_class = { column = "Class" }"##, "").replace(
                "id = { column = \"ID\" }",
                "id = { template = \"kobo-{_uuid}\" }",
            ),
            "_uuid,Class\nu1,truck\nu2,truck\n",
            vec![
                imported(&[2], "kobo-u1", json!({"vehicle_class": "truck"})),
                imported(&[3], "kobo-u2", json!({"vehicle_class": "truck"})),
            ],
        );
    }

    #[test]
    fn private_values_never_appear_in_reasons() {
        check(
            &mapping(
                r##"group_by = { column = "ID" }"##,
                r##"
                "private.plate" = { column = "Plate" }
                "private.driver_age" = { column = "Age", as = "integer" }
                "private.nationality" = { column = "Nat", map = { "AM" = "Armenia" } }
            "##,
                "",
            ),
            "ID,Plate,Age,Nat\np-1,35 XY 123,41,AM\np-2,12 AB 345,forty,FR\np-3,77 CD 901,,\np-3,77 CD 902,,\n",
            vec![
                imported(
                    &[2],
                    "p-1",
                    json!({"private": {"plate": "35 XY 123", "driver_age": 41, "nationality": "Armenia"}}),
                ),
                rejected(
                    &[3],
                    Some("p-2"),
                    "private.driver_age: the value is not a number (decimal separator '.', no thousands separator) (value not shown); private.nationality: the value is not in the value map (known values: \"am\") and the field has no default (value not shown)",
                ),
                rejected(
                    &[4, 5],
                    Some("p-3"),
                    "private.plate: rows 4 and 5 of the group disagree (values not shown)",
                ),
            ],
        );
    }

    #[test]
    fn public_fields_built_from_a_private_column_are_refused() {
        assert_eq!(
            import(
                &mapping("", r##""private.plate" = { column = "Plate" }"##, "").replace("id = { column = \"ID\" }", "id = { template = \"p-{Plate}\" }"),
                "Plate\nx\n".as_bytes()
            ),
            Err("fields.id: uses column \"Plate\", which is mapped to private.plate: personal data must not go into public fields".into())
        );
        assert_eq!(
            import(
                &mapping("", r##""private.driver" = { column = "Driver" }
                    notes = { template = "driven by {Driver}" }"##, ""),
                "ID,Driver\np-1,x\n".as_bytes()
            ),
            Err("fields.notes: uses column \"Driver\", which is mapped to private.driver: personal data must not go into public fields".into())
        );
    }

    #[test]
    fn row_numbers_are_the_lines_where_rows_start() {
        check(
            &mapping(
                "",
                r##"notes = { column = "Notes" }"##,
                "[csv]\ndelimiter = \"tab\"",
            ),
            "\u{feff}ID\tNotes\r\np-1\t\"two\r\nlines\"\r\n\r\np-2\t\"said \"\"hi\"\"\"\r\np-3\t\"x\"\r\n",
            vec![
                imported(&[2], "p-1", json!({"notes": "two\r\nlines"})),
                imported(&[5], "p-2", json!({"notes": "said \"hi\""})),
                imported(&[6], "p-3", json!({"notes": "x"})),
            ],
        );
    }

    #[test]
    fn templates_for_other_fields_leave_empty_placeholders_out() {
        check(
            &mapping(
                "",
                r##"notes = { template = "Vessel {Vessel} to {To}" }"##,
                "",
            ),
            "ID,Vessel,To\np-1,Nord,Izmir\np-2,Nord,\n",
            vec![
                imported(&[2], "p-1", json!({"notes": "Vessel Nord to Izmir"})),
                imported(&[3], "p-2", json!({"notes": "Vessel Nord to"})),
            ],
        );
    }

    #[test]
    fn a_type_from_a_column_must_be_a_record_type() {
        check(
            &mapping("", "", "").replace(
                "type = { constant = \"passage\" }",
                "type = { column = \"Kind\" }",
            ),
            "ID,Kind\np-1,passage\np-2,vehicle\n",
            vec![
                imported(&[2], "p-1", json!({})),
                rejected(
                    &[3],
                    Some("p-2"),
                    "type: \"vehicle\" is not a record type (one of: site, passage, mission, incident, appeal, coverage, baseline, claim, correction, retraction)",
                ),
            ],
        );
    }

    #[test]
    fn the_first_example_in_docs_import_md() {
        let mapping = r##"
            [csv]
            thousands_separator = ","

            [fields]
            type = { constant = "passage" }
            id = { template = "lachin-{Date}-{Category}-{Direction}" }
            "source.kind" = { constant = "direct_observation" }
            "source.name" = { constant = "Checkpoint observer team" }
            recorded_by = { constant = "observer-team-1" }
            site = { constant = "lachin" }
            observed_at = { column = "Date", format = "%d/%m/%Y" }
            direction = { column = "Direction", map = { IN = "inbound", OUT = "outbound" } }
            category = { column = "Category", map = { "RU PK" = "peacekeeping", ICRC = "red_cross" } }
            count = { column = "Vehicles", as = "integer" }
        "##;
        let id = "lachin-14-06-2023-RU-PK-IN";
        assert_eq!(
            import(
                mapping,
                b"Date,Direction,Category,Vehicles\n14/06/2023,IN,RU PK,\"1,204\"\n"
            ),
            Ok(vec![
                json!({"outcome": "imported", "rows": [2], "id": id, "record": {
                "type": "passage", "id": id,
                "source": {"kind": "direct_observation", "name": "Checkpoint observer team"},
                "recorded_by": "observer-team-1", "site": "lachin", "observed_at": "2023-06-14",
                "direction": "inbound", "category": "peacekeeping", "count": 1204}})
            ])
        );
    }

    #[test]
    fn the_strptime_pieces_listed_in_docs_import_md() {
        check(
            &mapping(
                "",
                r##"
                observed_at = { column = "A", format = "%d/%m/%y %I:%M %p" }
                "attributes.b" = { column = "B", format = "%d %B %Y %H:%M:%S%.f" }
            "##,
                "",
            ),
            "ID,A,B\np-1,4/6/23 8:05 PM,14 June 2023 8:30:15.250\n",
            vec![imported(
                &[2],
                "p-1",
                json!({"observed_at": "2023-06-04T20:05:00",
                "attributes": {"b": "2023-06-14T08:30:15.25"}}),
            )],
        );
    }

    #[test]
    fn text_that_is_not_utf8_stops_the_import_naming_the_row() {
        let mapping = Mapping::from_toml(&mapping("", "", "")).expect("valid");
        let csv = b"ID,Op\np-1,a\np-2,Caf\xe9\np-3,b\n";
        let items: Vec<_> = CsvImporter::new(&mapping, &csv[..])
            .expect("header")
            .collect();
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[0], Ok(ImportItem::Record(record)) if record.id == "p-1"));
        assert_eq!(
            items[1]
                .as_ref()
                .map_err(ToString::to_string)
                .expect_err("not UTF-8"),
            "row 3, column 2: the text is not UTF-8; save the file as UTF-8 (\"CSV UTF-8\" in spreadsheets) and import it again"
        );
    }
}
