//! Reference resolution: the parser's questions (does this site exist, what
//! is its time zone, what may be corrected) answered from the store and the
//! records staged before, through the model's [`Resolve`] trait.

use corridor_model::{RecordType, Resolve, TimePrecision};
use jiff::tz::TimeZone;
use serde_json::Value;

use super::Writer;

/// The parser's view of the store plus the batch staged so far.
pub(super) struct Lookup<'a> {
    pub(super) writer: &'a Writer,
}

impl Lookup<'_> {
    /// The current state of a logical record: `(content type, retracted)`.
    fn state(&self, id: &str) -> Result<Option<(RecordType, bool)>, String> {
        if let Some(pending) = self.writer.pending_targets.get(id) {
            return Ok(Some((pending.content_type, pending.retracted)));
        }
        match self.writer.store.current(id) {
            Ok(state) => Ok(state.map(|state| (state.content_type, state.retracted))),
            Err(error) => Err(self.writer.staging_failed(error)),
        }
    }

    fn stored_site_zone(&self, id: &str) -> Result<TimeZone, String> {
        let state = self
            .writer
            .store
            .current(id)
            .map_err(|error| self.writer.staging_failed(error))?;
        let leaf = state
            .and_then(|state| self.writer.store.record_at(state.leaf_index).transpose())
            .transpose()
            .map_err(|error| self.writer.staging_failed(error))?
            .ok_or_else(|| format!("site {id:?} does not exist"))?;
        let leaf: Value = serde_json::from_slice(&leaf.leaf)
            .map_err(|error| format!("site {id:?} cannot be read: {error}"))?;
        let record = &leaf["record"];
        let site = if record["type"] == "correction" {
            &record["record"]
        } else {
            record
        };
        let name = site["timezone"]
            .as_str()
            .ok_or_else(|| format!("site {id:?} has no time zone"))?;
        TimeZone::get(name)
            .map_err(|error| format!("site {id:?} has an unusable time zone {name:?}: {error}"))
    }
}

impl Resolve for Lookup<'_> {
    fn precision(&self) -> TimePrecision {
        self.writer.config.public_time_precision
    }

    fn replaying_leaves(&self) -> bool {
        self.writer.replaying_leaves
    }

    fn site_zone(&self, site_id: &str) -> Result<TimeZone, String> {
        // Cached zones belong to sites known current: staging a correction or
        // retraction of a site evicts it, and no other process writes.
        if !self.writer.pending_targets.contains_key(site_id)
            && let Some(zone) = self.writer.site_zones.borrow().get(site_id)
        {
            return Ok(zone.clone());
        }
        match self.state(site_id)? {
            None => {
                return Err(format!(
                    "site {site_id:?} does not exist (add the site record first)"
                ));
            }
            Some((_, true)) => return Err(format!("site {site_id:?} was retracted")),
            Some((RecordType::Site, false)) => {}
            Some((other, false)) => return Err(format!("{site_id:?} is a {other}, not a site")),
        }
        if let Some(pending) = self.writer.pending_targets.get(site_id)
            && let Some(zone) = &pending.site_zone
        {
            return Ok(zone.clone());
        }
        if let Some(zone) = self.writer.site_zones.borrow().get(site_id) {
            return Ok(zone.clone());
        }
        let zone = self.stored_site_zone(site_id)?;
        self.writer
            .site_zones
            .borrow_mut()
            .insert(site_id.to_string(), zone.clone());
        Ok(zone)
    }

    fn check_reference(&self, id: &str, expected: RecordType) -> Result<(), String> {
        match self.state(id)? {
            None => Err(format!(
                "{expected} {id:?} does not exist (records must come after what they refer to)"
            )),
            Some((_, true)) => Err(format!("{expected} {id:?} was retracted")),
            Some((found, false)) if found == expected => Ok(()),
            Some((found, false)) => Err(format!("{id:?} is a {found}, not a {expected}")),
        }
    }

    fn correctable(&self, id: &str) -> Result<RecordType, String> {
        match self.state(id)? {
            None => match self.writer.store.record(id) {
                Ok(Some(_)) => Err(format!(
                    "{id:?} is itself a correction or retraction; name the record it changes"
                )),
                Ok(None) => Err(format!("record {id:?} does not exist")),
                Err(error) => Err(self.writer.staging_failed(error)),
            },
            Some((_, true)) => Err(format!("record {id:?} was already retracted")),
            Some((found, false)) => Ok(found),
        }
    }
}
