//! Which records an export holds, read through the `Store` trait only and
//! streamed: the whole log in leaf order, or the current state of the
//! records matching a filter plus the sites they refer to.

use std::collections::BTreeSet;

use corridor_model::RecordType;
use corridor_model::time::day_number;
use corridor_store::{RollupFilter, RollupQuery, Store};
use jiff::civil::Date;
use serde_json::{Map, Value};

use crate::ExportError;

/// Leaves read per call, so that memory stays bounded however big the store.
const CHUNK: u64 = 2_000;

/// The filters of `corridor stats`, applied to an export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub sites: Vec<String>,
    pub category: Option<String>,
    pub operator: Option<String>,
    pub direction: Option<String>,
    pub outcome: Option<String>,
    pub vehicle_class: Option<String>,
    pub cargo: Option<String>,
}

impl RecordFilter {
    /// Whether no filter is set at all.
    pub fn is_empty(&self) -> bool {
        *self == RecordFilter::default()
    }

    /// Whether a filter only passages have is set.
    pub fn selects_passages_only(&self) -> bool {
        self.operator.is_some()
            || self.direction.is_some()
            || self.outcome.is_some()
            || self.vehicle_class.is_some()
            || self.cargo.is_some()
    }

    fn passage_query(&self) -> RollupQuery {
        RollupQuery {
            from_day: day_number(self.from.unwrap_or(Date::MIN)),
            to_day: day_number(self.to.unwrap_or(Date::MAX)),
            filter: RollupFilter {
                sites: self.sites.clone(),
                category: self.category.clone(),
                operator: self.operator.clone(),
                direction: self.direction.clone(),
                outcomes: self.outcome.iter().cloned().collect(),
                vehicle_class: self.vehicle_class.clone(),
                cargo_kind: self.cargo.clone(),
            },
            group_by: Vec::new(),
        }
    }

    /// Whether a current non-passage record matches: its period overlaps,
    /// it is at one of the sites, its category is the one asked for. A
    /// record without a site, period or category is not excluded by it.
    fn matches(&self, record_type: RecordType, record: &Map<String, Value>) -> bool {
        let text = |key: &str| record.get(key).and_then(Value::as_str);
        let day = |key: &str| text(key).and_then(|time| time.get(..10));
        let (start, end) = match record_type {
            RecordType::Mission => (day("planned_start"), day("planned_end")),
            RecordType::Incident => (day("started_at"), day("ended_at")),
            RecordType::Appeal => (day("received_at"), day("received_at")),
            RecordType::Coverage => (day("start"), day("end")),
            RecordType::Claim => claim_period(record),
            _ => (None, None),
        };
        // An incident without an end is still going on; anything else
        // without an end lasted its start day.
        let end = if record_type == RecordType::Incident {
            end
        } else {
            end.or(start)
        };
        let from = self.from.map(|date| date.strftime("%Y-%m-%d").to_string());
        let to = self.to.map(|date| date.strftime("%Y-%m-%d").to_string());
        if let (Some(to), Some(start)) = (&to, start)
            && start > to.as_str()
        {
            return false;
        }
        if let (Some(from), Some(end)) = (&from, end)
            && end < from.as_str()
        {
            return false;
        }
        if !self.sites.is_empty() {
            let referred = sites_of(record_type, record);
            let everywhere = record_type == RecordType::Claim && referred.is_empty();
            if !everywhere && !referred.iter().any(|site| self.sites.contains(site)) {
                return false;
            }
        }
        if let Some(category) = &self.category {
            let categories: Vec<&str> = match record.get("category").or(record.get("categories")) {
                Some(Value::String(one)) => vec![one.as_str()],
                Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !categories.is_empty() && !categories.contains(&category.as_str()) {
                return false;
            }
        }
        true
    }
}

fn claim_period(record: &Map<String, Value>) -> (Option<&str>, Option<&str>) {
    let assertions: Vec<&Value> = record
        .get("assertions")
        .and_then(Value::as_array)
        .map(|assertions| assertions.iter().collect())
        .unwrap_or_default();
    let first = assertions
        .iter()
        .filter_map(|assertion| assertion.get("from").and_then(Value::as_str))
        .min();
    let last = assertions
        .iter()
        .filter_map(|assertion| assertion.get("to").and_then(Value::as_str))
        .max();
    (first, last)
}

/// The sites a current record refers to.
fn sites_of(record_type: RecordType, record: &Map<String, Value>) -> Vec<String> {
    let mut sites = Vec::new();
    let mut push = |value: Option<&Value>| match value {
        Some(Value::String(site)) => sites.push(site.clone()),
        Some(Value::Array(many)) => {
            sites.extend(many.iter().filter_map(Value::as_str).map(str::to_string))
        }
        _ => {}
    };
    match record_type {
        RecordType::Site => push(record.get("id")),
        RecordType::Mission => push(record.get("sites")),
        RecordType::Claim => {
            for assertion in record
                .get("assertions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                push(assertion.get("sites"));
            }
        }
        _ => push(record.get("site")),
    }
    sites
}

/// One exported record: its public form, where it is stored and, with
/// `--private`, its private part.
#[derive(Debug, Clone)]
pub struct Item {
    /// The type the record is exported as (a correction's content type in
    /// a current-state export, `correction` in a history).
    pub record_type: RecordType,
    pub leaf_index: u64,
    /// The public form: the leaf's `record`, or for a current record whose
    /// content a correction replaced, that content under the record's id.
    pub record: Map<String, Value>,
    /// The correction the current content comes from, if any.
    pub correction_id: Option<String>,
    pub private: Option<Map<String, Value>>,
}

/// Receives an export's records, a section (one record type) at a time.
pub trait Sink {
    /// A section of records of one type begins.
    ///
    /// # Errors
    /// Writing fails, or the format cannot hold this type here.
    fn begin(&mut self, record_type: RecordType) -> Result<(), ExportError>;

    /// One record of the current section.
    ///
    /// # Errors
    /// Writing fails.
    fn item(&mut self, item: &Item) -> Result<(), ExportError>;
}

/// A public form, or a private part, as JSON members.
type Object = Map<String, Value>;

/// The public form and (when asked) the private part of a leaf.
fn read_leaf(
    store: &dyn Store,
    leaf_index: u64,
    bytes: &[u8],
    private: bool,
) -> Result<(Object, Option<Object>), ExportError> {
    let corrupt = |reason: String| ExportError::CorruptLeaf { leaf_index, reason };
    let leaf: Value = serde_json::from_slice(bytes).map_err(|error| corrupt(error.to_string()))?;
    let Some(Value::Object(record)) = leaf.get("record").cloned() else {
        return Err(corrupt("no record object".into()));
    };
    let private_part = if private {
        let id = record
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| corrupt("no id".into()))?;
        match store.private_part(id)? {
            Some(part) => match serde_json::from_slice(&part.data) {
                Ok(Value::Object(object)) => Some(object),
                _ => return Err(corrupt("its private part is not a JSON object".into())),
            },
            None => None,
        }
    } else {
        None
    };
    Ok((record, private_part))
}

fn record_type_of(leaf_index: u64, record: &Map<String, Value>) -> Result<RecordType, ExportError> {
    record
        .get("type")
        .and_then(Value::as_str)
        .and_then(RecordType::parse)
        .ok_or_else(|| ExportError::CorruptLeaf {
            leaf_index,
            reason: "no known record type".into(),
        })
}

/// Streams every leaf in leaf order, one section per run of one type when
/// `types` is empty (so JSON Lines stays in log order), or only the leaves
/// of `types`, one section per type, each in leaf order.
pub(crate) fn history(
    store: &dyn Store,
    types: &[RecordType],
    private: bool,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64),
) -> Result<(), ExportError> {
    let count = store.leaf_count()?;
    let passes: Vec<Option<RecordType>> = if types.is_empty() {
        vec![None]
    } else {
        types.iter().copied().map(Some).collect()
    };
    let mut current_section: Option<RecordType> = None;
    for only in passes {
        if let Some(record_type) = only {
            sink.begin(record_type)?;
            current_section = Some(record_type);
        }
        let mut start = 0;
        while start < count {
            let end = count.min(start + CHUNK);
            for (offset, bytes) in store.leaves(start, end)?.iter().enumerate() {
                let leaf_index = start + offset as u64;
                let (record, private_part) = read_leaf(store, leaf_index, bytes, false)?;
                let record_type = record_type_of(leaf_index, &record)?;
                if only.is_some_and(|wanted| wanted != record_type) {
                    continue;
                }
                let private_part = if private {
                    read_leaf(store, leaf_index, bytes, true)?.1
                } else {
                    private_part
                };
                if current_section != Some(record_type) {
                    sink.begin(record_type)?;
                    current_section = Some(record_type);
                }
                sink.item(&Item {
                    record_type,
                    leaf_index,
                    record,
                    correction_id: None,
                    private: private_part,
                })?;
                progress(1);
            }
            start = end;
        }
    }
    Ok(())
}

/// The content of a current leaf as a record of its own: a correction's
/// replacement under the id it replaces.
fn current_content(
    leaf_index: u64,
    target_id: &str,
    record: Map<String, Value>,
) -> Result<(Map<String, Value>, Option<String>), ExportError> {
    if record.get("type").and_then(Value::as_str) != Some("correction") {
        return Ok((record, None));
    }
    let correction_id = record.get("id").and_then(Value::as_str).map(str::to_string);
    let Some(Value::Object(mut content)) = record.get("record").cloned() else {
        return Err(ExportError::CorruptLeaf {
            leaf_index,
            reason: "a correction without its record".into(),
        });
    };
    content.insert("id".into(), Value::from(target_id));
    Ok((content, correction_id))
}

/// The non-passage types in the order `add` can resolve them.
pub(crate) const CURRENT_ORDER: &[RecordType] = &[
    RecordType::Site,
    RecordType::Mission,
    RecordType::Incident,
    RecordType::Appeal,
    RecordType::Coverage,
    RecordType::Baseline,
    RecordType::Claim,
    RecordType::Passage,
];

/// How many records a current-state export will hold, for the progress bar.
pub(crate) fn current_total(
    store: &dyn Store,
    filter: &RecordFilter,
    types: &[RecordType],
) -> Result<u64, ExportError> {
    let mut total = 0;
    for record_type in types {
        total += match record_type {
            RecordType::Passage => {
                let sums = store.passage_sums(&filter.passage_query(), &[])?;
                u64::try_from(sums.passages).unwrap_or(0)
            }
            RecordType::Correction | RecordType::Retraction => 0,
            other => store.current_of_type(*other)?.len() as u64,
        };
    }
    Ok(total)
}

/// Streams the current state of the records of `types` matching `filter`,
/// one section per type in [`CURRENT_ORDER`], plus (first) every site they
/// refer to. Passages are read a page at a time through `Store::passages`.
pub(crate) fn current(
    store: &dyn Store,
    filter: &RecordFilter,
    types: &[RecordType],
    private: bool,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64),
) -> Result<(), ExportError> {
    let query = filter.passage_query();
    // Every current non-passage record asked for, matched by the filter
    // (these types are small: the same reads the dashboard makes).
    let mut selected: Vec<(RecordType, Vec<Item>)> = Vec::new();
    let mut referred: BTreeSet<String> = BTreeSet::new();
    for record_type in CURRENT_ORDER
        .iter()
        .copied()
        .filter(|kind| *kind != RecordType::Passage)
    {
        let wanted = types.contains(&record_type);
        if !wanted && record_type != RecordType::Site {
            continue;
        }
        let mut items = Vec::new();
        for (target_id, bytes) in store.current_of_type(record_type)? {
            let Some(state) = store.current(&target_id)? else {
                continue;
            };
            let (record, private_part) = read_leaf(store, state.leaf_index, &bytes, private)?;
            let (record, correction_id) = current_content(state.leaf_index, &target_id, record)?;
            let keep = record_type != RecordType::Site && filter.matches(record_type, &record);
            // Sites are all kept here; those referred to are chosen below.
            if keep || record_type == RecordType::Site {
                if record_type != RecordType::Site {
                    referred.extend(sites_of(record_type, &record));
                }
                items.push(Item {
                    record_type,
                    leaf_index: state.leaf_index,
                    record,
                    correction_id,
                    private: private_part,
                });
            }
        }
        selected.push((record_type, items));
    }
    let passages_wanted = types.contains(&RecordType::Passage);
    if passages_wanted {
        // One pass over the matching passages for the sites they refer to.
        page_passages(store, &query, private, &mut |item| {
            if let Some(site) = item.record.get("site").and_then(Value::as_str) {
                referred.insert(site.to_string());
            }
            Ok(())
        })?;
    }
    for (record_type, mut items) in selected {
        if record_type == RecordType::Site {
            let wanted = types.contains(&RecordType::Site);
            let all_sites = wanted && filter.sites.is_empty();
            // Sites first, with the parents of those kept, so that `add`
            // resolves every reference that follows.
            let mut keep: BTreeSet<String> = referred.clone();
            for item in &items {
                let id = item
                    .record
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if all_sites || (wanted && filter.sites.iter().any(|site| site == id)) {
                    keep.insert(id.to_string());
                }
            }
            loop {
                let parents: Vec<String> = items
                    .iter()
                    .filter(|item| {
                        keep.contains(
                            item.record
                                .get("id")
                                .and_then(Value::as_str)
                                .unwrap_or_default(),
                        )
                    })
                    .filter_map(|item| {
                        item.record
                            .get("parent")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .filter(|parent| !keep.contains(parent))
                    .collect();
                if parents.is_empty() {
                    break;
                }
                keep.extend(parents);
            }
            items.retain(|item| {
                keep.contains(
                    item.record
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )
            });
            if !wanted && items.is_empty() {
                continue;
            }
        }
        sink.begin(record_type)?;
        for item in &items {
            sink.item(item)?;
            progress(1);
        }
    }
    if passages_wanted {
        sink.begin(RecordType::Passage)?;
        page_passages(store, &query, private, &mut |item| {
            sink.item(&item)?;
            progress(1);
            Ok(())
        })?;
    }
    for record_type in [RecordType::Correction, RecordType::Retraction] {
        if types.contains(&record_type) {
            history(store, &[record_type], private, sink, progress)?;
        }
    }
    Ok(())
}

fn page_passages(
    store: &dyn Store,
    query: &RollupQuery,
    private: bool,
    each: &mut dyn FnMut(Item) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut offset = 0;
    loop {
        let page = store.passages(query, offset, CHUNK)?;
        if page.is_empty() {
            return Ok(());
        }
        offset += page.len() as u64;
        for listed in page {
            let (record, private_part) =
                read_leaf(store, listed.leaf_index, &listed.leaf, private)?;
            let (record, correction_id) =
                current_content(listed.leaf_index, &listed.target_id, record)?;
            each(Item {
                record_type: RecordType::Passage,
                leaf_index: listed.leaf_index,
                record,
                correction_id,
                private: private_part,
            })?;
        }
    }
}
