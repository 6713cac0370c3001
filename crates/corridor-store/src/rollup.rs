//! Rollups: passage metrics summed per (site, day, category, operator,
//! direction, outcome, vehicle class, source kind, recorder), and per cargo
//! kind, maintained on every write so that period statistics read a few
//! thousand rollup rows instead of millions of passages.

use std::collections::BTreeMap;

use crate::PassageFacts;

/// A dimension statistics can be grouped or filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Site,
    Day,
    Category,
    Operator,
    Direction,
    Outcome,
    VehicleClass,
    SourceKind,
    SourceName,
    RecordedBy,
    /// Grouping by cargo kind reads the cargo rollup: a vehicle carrying two
    /// kinds counts under both, so rows may add up to more than the total.
    CargoKind,
}

impl Dimension {
    /// The column holding this dimension in both rollup tables.
    pub(crate) fn column(self) -> &'static str {
        match self {
            Dimension::Site => "site",
            Dimension::Day => "day",
            Dimension::Category => "category",
            Dimension::Operator => "operator",
            Dimension::Direction => "direction",
            Dimension::Outcome => "outcome",
            Dimension::VehicleClass => "vehicle_class",
            Dimension::SourceKind => "source_kind",
            Dimension::SourceName => "source_name",
            Dimension::RecordedBy => "recorded_by",
            Dimension::CargoKind => "cargo_kind",
        }
    }
}

/// One value of a dimension in a result row.
///
/// Rows are ordered by these values. `None` is declared first so that it sorts
/// before any text, as SQLite sorts the empty string that stores it: both
/// backends must return rows in the same order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DimensionValue {
    /// The record did not say (no operator, no cargo).
    None,
    Day(i32),
    Text(String),
}

impl DimensionValue {
    /// A text dimension as the rollups store it: the empty text stands for
    /// "the record did not say".
    pub(crate) fn of_text(text: String) -> DimensionValue {
        if text.is_empty() {
            DimensionValue::None
        } else {
            DimensionValue::Text(text)
        }
    }
}

/// Sums over passages. A `*_reported` count says how many passages gave the
/// figure at all, so that "no data" is never shown as zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    pub passages: i64,
    pub vehicles: i64,
    pub passengers: i64,
    pub passengers_reported: i64,
    pub medical_evacuees: i64,
    pub medical_evacuees_reported: i64,
    pub kilograms: i64,
    pub kilograms_reported: i64,
}

impl Metrics {
    /// The contribution of one passage (negated for a removal).
    pub fn of_passage(facts: &PassageFacts, sign: i64) -> Metrics {
        let reported = |present: bool| if present { sign } else { 0 };
        Metrics {
            passages: sign,
            vehicles: sign * i64::from(facts.count),
            passengers: sign * i64::from(facts.passengers.unwrap_or(0)),
            passengers_reported: reported(facts.passengers.is_some()),
            medical_evacuees: sign * i64::from(facts.medical_evacuees.unwrap_or(0)),
            medical_evacuees_reported: reported(facts.medical_evacuees.is_some()),
            kilograms: sign
                * facts
                    .kilograms
                    .map_or(0, |kilograms| i64::try_from(kilograms).unwrap_or(i64::MAX)),
            kilograms_reported: reported(facts.kilograms.is_some()),
        }
    }

    pub fn add(&mut self, other: &Metrics) {
        self.passages += other.passages;
        self.vehicles += other.vehicles;
        self.passengers += other.passengers;
        self.passengers_reported += other.passengers_reported;
        self.medical_evacuees += other.medical_evacuees;
        self.medical_evacuees_reported += other.medical_evacuees_reported;
        self.kilograms += other.kilograms;
        self.kilograms_reported += other.kilograms_reported;
    }
}

/// Which passages a rollup query counts. `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupFilter {
    pub sites: Vec<String>,
    pub category: Option<String>,
    pub operator: Option<String>,
    pub direction: Option<String>,
    /// Any of these outcomes; empty means any outcome.
    pub outcomes: Vec<String>,
    pub vehicle_class: Option<String>,
    pub cargo_kind: Option<String>,
}

/// Sum metrics over days `from_day..=to_day` (site-local days), grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupQuery {
    pub from_day: i32,
    pub to_day: i32,
    pub filter: RollupFilter,
    pub group_by: Vec<Dimension>,
}

impl RollupQuery {
    /// Whether the cargo rollup must answer (grouped or filtered by cargo kind).
    pub(crate) fn uses_cargo(&self) -> bool {
        self.group_by.contains(&Dimension::CargoKind) || self.filter.cargo_kind.is_some()
    }
}

/// One group of a rollup query, keys in the order of `group_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    pub keys: Vec<DimensionValue>,
    pub metrics: Metrics,
}

/// The key of one rollup row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    pub site: String,
    pub day: i32,
    pub category: String,
    /// Empty when the record names no operator (SQL primary keys cannot hold NULL well).
    pub operator: String,
    pub direction: String,
    pub outcome: String,
    pub vehicle_class: String,
    pub source_kind: String,
    pub source_name: String,
    pub recorded_by: String,
    /// Empty in the passage rollup; the cargo kind (or empty for no cargo) in the cargo rollup.
    pub cargo_kind: String,
}

impl RollupKey {
    pub(crate) fn of(facts: &PassageFacts, cargo_kind: &str) -> RollupKey {
        RollupKey {
            site: facts.site.clone(),
            day: facts.day,
            category: facts.category.clone(),
            operator: facts.operator.clone().unwrap_or_default(),
            direction: facts.direction.clone(),
            outcome: facts.outcome.clone(),
            vehicle_class: facts.vehicle_class.clone(),
            source_kind: facts.source_kind.clone(),
            source_name: facts.source_name.clone(),
            recorded_by: facts.recorded_by.clone(),
            cargo_kind: cargo_kind.to_string(),
        }
    }

    /// The value of one dimension of this key.
    pub fn value(&self, dimension: Dimension) -> DimensionValue {
        let text = |value: &String| DimensionValue::of_text(value.clone());
        match dimension {
            Dimension::Site => text(&self.site),
            Dimension::Day => DimensionValue::Day(self.day),
            Dimension::Category => text(&self.category),
            Dimension::Operator => text(&self.operator),
            Dimension::Direction => text(&self.direction),
            Dimension::Outcome => text(&self.outcome),
            Dimension::VehicleClass => text(&self.vehicle_class),
            Dimension::SourceKind => text(&self.source_kind),
            Dimension::SourceName => text(&self.source_name),
            Dimension::RecordedBy => text(&self.recorded_by),
            Dimension::CargoKind => text(&self.cargo_kind),
        }
    }

    pub(crate) fn matches(&self, query: &RollupQuery) -> bool {
        let filter = &query.filter;
        let same = |wanted: &Option<String>, value: &str| {
            wanted.as_deref().is_none_or(|wanted| wanted == value)
        };
        (query.from_day..=query.to_day).contains(&self.day)
            && (filter.sites.is_empty() || filter.sites.contains(&self.site))
            && same(&filter.category, &self.category)
            && same(&filter.operator, &self.operator)
            && same(&filter.direction, &self.direction)
            && (filter.outcomes.is_empty() || filter.outcomes.contains(&self.outcome))
            && same(&filter.vehicle_class, &self.vehicle_class)
            && same(&filter.cargo_kind, &self.cargo_kind)
    }
}

/// Rollup deltas of a batch, summed in memory so that each key is written once.
#[derive(Debug, Default)]
pub(crate) struct RollupDeltas {
    pub passage: BTreeMap<RollupKey, Metrics>,
    pub cargo: BTreeMap<RollupKey, Metrics>,
}

impl RollupDeltas {
    /// Adds (sign 1) or removes (sign -1) one passage.
    pub fn apply(&mut self, facts: &PassageFacts, sign: i64) {
        let metrics = Metrics::of_passage(facts, sign);
        // One key for both rollups: it is cloned only into a new row.
        let key = RollupKey::of(facts, "");
        add_to_row(&mut self.passage, &key, &metrics);
        if facts.cargo.is_empty() {
            add_to_row(&mut self.cargo, &key, &metrics);
            return;
        }
        // In the cargo rollup a row's tonnes are that kind's tonnes only; a
        // kind listed twice on one vehicle counts the vehicle once.
        let mut per_kind: BTreeMap<&str, Option<u64>> = BTreeMap::new();
        for (kind, kilograms) in &facts.cargo {
            let entry = per_kind.entry(kind.as_str()).or_insert(None);
            if let Some(kilograms) = kilograms {
                *entry = Some(entry.unwrap_or(0) + kilograms);
            }
        }
        for (kind, kilograms) in per_kind {
            let mut line = metrics;
            line.kilograms = sign
                * kilograms.map_or(0, |kilograms| i64::try_from(kilograms).unwrap_or(i64::MAX));
            line.kilograms_reported = if kilograms.is_some() { sign } else { 0 };
            self.cargo
                .entry(RollupKey::of(facts, kind))
                .or_default()
                .add(&line);
        }
    }
}

/// Adds `metrics` to the row of `key`, creating it if needed.
fn add_to_row(rows: &mut BTreeMap<RollupKey, Metrics>, key: &RollupKey, metrics: &Metrics) {
    match rows.get_mut(key) {
        Some(row) => row.add(metrics),
        None => {
            rows.insert(key.clone(), *metrics);
        }
    }
}

/// What one passage contributes to a query's sums, if it matches: the same
/// rule the rollups apply (with a cargo filter, only that kind's tonnes).
pub(crate) fn matching_metrics(facts: &PassageFacts, query: &RollupQuery) -> Option<Metrics> {
    let mut deltas = RollupDeltas::default();
    deltas.apply(facts, 1);
    // Only a cargo filter reads the cargo rollup: `group_by` plays no part in
    // a sum over passages, so a passage carrying two kinds still counts once.
    let table = if query.filter.cargo_kind.is_some() {
        &deltas.cargo
    } else {
        &deltas.passage
    };
    let mut total: Option<Metrics> = None;
    for (_, metrics) in table.iter().filter(|(key, _)| key.matches(query)) {
        total.get_or_insert_with(Metrics::default).add(metrics);
    }
    total
}

/// Groups matching rollup rows by the query's dimensions (shared by backends
/// that hold rollups in memory).
pub(crate) fn group_rows<'a>(
    rows: impl Iterator<Item = (&'a RollupKey, &'a Metrics)>,
    query: &RollupQuery,
) -> Vec<RollupRow> {
    let mut groups: BTreeMap<Vec<DimensionValue>, Metrics> = BTreeMap::new();
    for (key, metrics) in rows.filter(|(key, _)| key.matches(query)) {
        let keys = query
            .group_by
            .iter()
            .map(|dimension| key.value(*dimension))
            .collect();
        groups.entry(keys).or_default().add(metrics);
    }
    groups
        .into_iter()
        .filter(|(_, metrics)| metrics.passages > 0)
        .map(|(keys, metrics)| RollupRow { keys, metrics })
        .collect()
}

/// Which rollup table a row is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollupTable {
    /// `passage_rollup`: one row per key, cargo kind empty.
    Passage,
    /// `cargo_rollup`: one row per key and cargo kind.
    Cargo,
}

impl RollupTable {
    /// The table's name in the database.
    pub fn name(self) -> &'static str {
        match self {
            RollupTable::Passage => "passage_rollup",
            RollupTable::Cargo => "cargo_rollup",
        }
    }
}

/// A rollup row that differs from a recount of the current passages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupDifference {
    pub table: RollupTable,
    pub key: RollupKey,
    /// What the rollup table holds (all zero when the row is missing).
    pub stored: Metrics,
    /// What the current passages add up to (all zero when none match the key).
    pub recounted: Metrics,
}

/// Compares the rows of one rollup table with a recount; rows that are zero
/// on both sides (left behind by corrections and retractions) are equal.
pub(crate) fn rollup_differences(
    table: RollupTable,
    stored: impl IntoIterator<Item = (RollupKey, Metrics)>,
    mut recounted: BTreeMap<RollupKey, Metrics>,
) -> Vec<RollupDifference> {
    let mut differences = Vec::new();
    for (key, stored) in stored {
        let recount = recounted.remove(&key).unwrap_or_default();
        if recount != stored {
            differences.push(RollupDifference {
                table,
                key,
                stored,
                recounted: recount,
            });
        }
    }
    for (key, recount) in recounted {
        if recount != Metrics::default() {
            differences.push(RollupDifference {
                table,
                key,
                stored: Metrics::default(),
                recounted: recount,
            });
        }
    }
    differences.sort_by(|left, right| left.key.cmp(&right.key));
    differences
}
