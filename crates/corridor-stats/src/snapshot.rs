//! The current state of the non-passage records (sites, coverage, baselines,
//! missions, incidents, appeals, claims), read from the store's leaves and
//! parsed back into typed records.
//!
//! Leaves hold normalized public records, so parsing them again with the
//! model gives the same typed records that were stored: times carry their
//! site's offset, and day-only times are placed with the site zones read first.

use std::collections::BTreeMap;

use corridor_model::parse::parse_submission;
use corridor_model::{Body, Record, RecordType, Resolve, TimePrecision};
use corridor_store::Store;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use crate::StatsError;

/// A site and its time zone.
#[derive(Debug, Clone)]
pub struct SiteEntry {
    pub record: Record,
    pub zone: TimeZone,
}

impl SiteEntry {
    pub fn name(&self) -> &str {
        match &self.record.body {
            Body::Site(site) => &site.name,
            _ => &self.record.id,
        }
    }
}

/// The current non-passage records of a store.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub sites: BTreeMap<String, SiteEntry>,
    pub coverage: Vec<Record>,
    pub baselines: Vec<Record>,
    pub missions: Vec<Record>,
    pub incidents: Vec<Record>,
    pub appeals: Vec<Record>,
    pub claims: Vec<Record>,
}

/// Resolves site zones from the sites already read; every other reference is
/// accepted, since the store validated it when the record was written.
#[derive(Debug, Default)]
pub struct KnownSites {
    zones: BTreeMap<String, TimeZone>,
}

impl KnownSites {
    pub fn insert(&mut self, site_id: &str, zone: TimeZone) {
        self.zones.insert(site_id.to_string(), zone);
    }
}

impl Resolve for KnownSites {
    fn precision(&self) -> TimePrecision {
        // Stored times are already cut to the published precision.
        TimePrecision::Second
    }

    fn site_zone(&self, site_id: &str) -> Result<TimeZone, String> {
        self.zones
            .get(site_id)
            .cloned()
            .ok_or_else(|| format!("site {site_id:?} is not current"))
    }

    fn check_reference(&self, _id: &str, _expected: RecordType) -> Result<(), String> {
        Ok(())
    }

    fn correctable(&self, _id: &str) -> Result<RecordType, String> {
        Ok(RecordType::Passage)
    }

    fn replaying_leaves(&self) -> bool {
        // Stored leaves were valid under the rules they were written with.
        true
    }
}

/// The current content of a leaf as a standalone record object: the record
/// itself, or for a correction its replacement under the corrected id.
///
/// # Errors
/// The leaf is not the JSON Corridor writes.
pub fn current_content(leaf: &[u8]) -> Result<Map<String, Value>, String> {
    let leaf: Value = serde_json::from_slice(leaf).map_err(|error| format!("not JSON: {error}"))?;
    let Some(Value::Object(record)) = leaf.get("record") else {
        return Err("has no record object".into());
    };
    if record.get("type").and_then(Value::as_str) != Some("correction") {
        return Ok(record.clone());
    }
    let Some(Value::Object(replacement)) = record.get("record") else {
        return Err("is a correction without a record".into());
    };
    let mut replacement = replacement.clone();
    if let Some(corrects) = record.get("corrects") {
        replacement.insert("id".into(), corrects.clone());
    }
    Ok(replacement)
}

/// Parses a leaf's current content into a typed record.
///
/// # Errors
/// The leaf does not parse; the message names the record.
pub fn parse_leaf(target_id: &str, leaf: &[u8], sites: &KnownSites) -> Result<Record, StatsError> {
    let corrupt = |reason: String| StatsError::CorruptRecord {
        id: target_id.to_string(),
        reason,
    };
    let object = current_content(leaf).map_err(corrupt)?;
    let submission =
        parse_submission(&object, sites).map_err(|error| corrupt(error.to_string()))?;
    Ok(submission.record)
}

impl Snapshot {
    /// Reads every current non-passage record.
    ///
    /// # Errors
    /// A storage failure, or a stored leaf that no longer parses.
    pub fn load(store: &dyn Store) -> Result<Snapshot, StatsError> {
        let mut known = KnownSites::default();
        let mut snapshot = Snapshot::default();
        for (id, leaf) in store.current_of_type(RecordType::Site)? {
            let record = parse_leaf(&id, &leaf, &known)?;
            let Body::Site(site) = &record.body else {
                continue;
            };
            let zone =
                TimeZone::get(&site.timezone).map_err(|error| StatsError::CorruptRecord {
                    id: id.clone(),
                    reason: error.to_string(),
                })?;
            known.insert(&id, zone.clone());
            snapshot.sites.insert(id, SiteEntry { record, zone });
        }
        for (record_type, records) in [
            (RecordType::Coverage, &mut snapshot.coverage),
            (RecordType::Baseline, &mut snapshot.baselines),
            (RecordType::Mission, &mut snapshot.missions),
            (RecordType::Incident, &mut snapshot.incidents),
            (RecordType::Appeal, &mut snapshot.appeals),
            (RecordType::Claim, &mut snapshot.claims),
        ] {
            for (id, leaf) in store.current_of_type(record_type)? {
                // A record whose site was retracted can no longer be placed in time.
                match parse_leaf(&id, &leaf, &known) {
                    Ok(record) => records.push(record),
                    Err(error) => tracing::warn!("skipping {id}: {error}"),
                }
            }
        }
        Ok(snapshot)
    }

    /// A site's zone, UTC when the site is unknown.
    pub fn zone(&self, site_id: &str) -> TimeZone {
        self.sites
            .get(site_id)
            .map_or(TimeZone::UTC, |site| site.zone.clone())
    }

    pub fn site_resolver(&self) -> KnownSites {
        let mut known = KnownSites::default();
        for (id, site) in &self.sites {
            known.insert(id, site.zone.clone());
        }
        known
    }
}
