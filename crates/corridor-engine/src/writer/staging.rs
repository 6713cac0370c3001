//! Staging: one submitted object is parsed, validated, checked against what
//! is stored and staged, canonicalized, digested, committed to its private
//! part and queued as a [`NewRecord`] for the next batch.

use corridor_model::leaf::{
    commitment, content_digest_of_canonical, format_logged_at, leaf_of_canonical_record,
};
use corridor_model::parse::peek_identity;
use corridor_model::time::day_number;
use corridor_model::{
    Body, FieldError, Location, Record, RecordError, RecordType, Resolve, parse_submission,
};
use corridor_store::{Effect, NewRecord, PassageFacts, PrivatePart};
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use super::Writer;
use super::resolve::Lookup;

/// Checks an observer's signature over a record's public form and returns
/// the leaf's `observer_sig` value, or why it does not hold.
pub type ObserverSignatureCheck<'a> = &'a dyn Fn(&Value) -> Result<Value, String>;

/// What staging one record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staged {
    /// Validated and queued for the next commit.
    New,
    /// The same record (same id, same content) is already stored: nothing to do.
    AlreadyStored { leaf_index: u64 },
    /// The same record appeared earlier in this batch: nothing to do.
    RepeatedInBatch,
    /// The same record is in the batch being committed (sent before this
    /// one): nothing to do if that commit succeeds. Its outcome decides
    /// this record's answer; if it fails, everything staged after it is
    /// dropped and must be staged again.
    InFlight,
}

/// What the batch overlay knows about a logical record staged but not yet committed.
#[derive(Debug, Clone)]
pub(super) struct PendingTarget {
    pub(super) content_type: RecordType,
    pub(super) retracted: bool,
    pub(super) site_zone: Option<TimeZone>,
    /// The batch that staged it; the entry goes when that batch is confirmed.
    pub(super) batch: u64,
    /// What an earlier batch, still in flight, staged for the same logical
    /// record (a correction staged while the record is being committed):
    /// it stands again if this batch is discarded.
    pub(super) shadowed: Option<Box<PendingTarget>>,
}

impl Writer {
    /// Validates one record and queues it for the next commit.
    ///
    /// # Errors
    /// The record's first broken rule, naming location, type, id and field.
    pub fn stage(
        &mut self,
        location: Location,
        object: &Map<String, Value>,
    ) -> Result<Staged, RecordError> {
        self.stage_signed(location, object, None, None)
    }

    /// The public form of a record as its leaf will carry it (`record` in the
    /// leaf: validated, times resolved at the site, defaults filled in),
    /// without staging anything. An observer signs this (see
    /// [`Writer::stage_signed`]).
    ///
    /// # Errors
    /// The record's first broken rule, as [`Writer::stage`] reports it.
    pub fn public_form(
        &self,
        location: Location,
        object: &Map<String, Value>,
    ) -> Result<Value, RecordError> {
        let (record_type, id) = peek_identity(object);
        let submission =
            parse_submission(object, &Lookup { writer: self }).map_err(|error| RecordError {
                location,
                record_type: record_type.map(str::to_string),
                id: id.map(str::to_string),
                error,
            })?;
        Ok(submission.record.to_public_json())
    }

    /// Drops everything staged and not yet sent to the store (an
    /// all-or-nothing batch with a bad record). Batches already committing
    /// are not affected; the caller restages whatever it still wants.
    pub fn discard_staged(&mut self) {
        let number = self.batch_number;
        self.batch.clear();
        self.pending_ids.retain(|_, (_, batch)| *batch != number);
        self.pending_targets.retain(|_, pending| {
            if pending.batch != number {
                return true;
            }
            match pending.shadowed.take() {
                Some(shadowed) => {
                    *pending = *shadowed;
                    true
                }
                None => false,
            }
        });
        // A discarded record may have evicted or supplied a cached zone.
        self.site_zones.borrow_mut().clear();
    }

    /// [`Writer::stage`] with an observer's signature: `observer_signature`
    /// receives the record's public form (the leaf's `record`) and returns
    /// the value to put in the leaf's `observer_sig`, or why the signature
    /// does not hold (reported on the field `observer_sig`). `submitter`, the
    /// API token submitting the record, is stored with it (never in the leaf).
    ///
    /// # Errors
    /// As [`Writer::stage`], or the signature check's reason.
    pub fn stage_signed(
        &mut self,
        location: Location,
        object: &Map<String, Value>,
        observer_signature: Option<ObserverSignatureCheck<'_>>,
        submitter: Option<&str>,
    ) -> Result<Staged, RecordError> {
        // A failure noted for an earlier record that nobody asked about
        // must not be blamed on this one.
        self.staging_failure.borrow_mut().take();
        let (record_type, id) = peek_identity(object);
        let fail = |error: FieldError| RecordError {
            location: location.clone(),
            record_type: record_type.map(str::to_string),
            id: id.map(str::to_string),
            error,
        };
        let submission = parse_submission(object, &Lookup { writer: self }).map_err(fail)?;
        let record = submission.record;
        self.check_site_correction(&record).map_err(fail)?;
        // Canonicalized once: the digest and the leaf are built from these
        // bytes. Passages, nearly every record of a bulk import, are written
        // straight from the typed record; the rest through a JSON value.
        let public_canonical = match corridor_model::fast_leaf::canonical_public_passage(&record) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => corridor_model::canonical::to_canonical_vec(&record.to_public_json()),
            Err(error) => Err(error),
        }
        .map_err(|error| {
            fail(FieldError {
                field: String::new(),
                reason: error.to_string(),
            })
        })?;
        let digest = content_digest_of_canonical(
            &self.secret,
            &public_canonical,
            submission.private.as_ref(),
        )
        .map_err(|error| {
            fail(FieldError {
                field: String::new(),
                reason: error.to_string(),
            })
        })?;

        if let Some((staged_digest, batch)) = self.pending_ids.get(&record.id) {
            let in_this_batch = *batch == self.batch_number;
            if *staged_digest == digest {
                return Ok(if in_this_batch {
                    Staged::RepeatedInBatch
                } else {
                    Staged::InFlight
                });
            }
            let reason = if in_this_batch {
                format!(
                    "{:?} appears earlier in this batch with different content",
                    record.id
                )
            } else {
                format!(
                    "{:?} is being stored by another submission with different content; a change needs a correction record",
                    record.id
                )
            };
            return Err(fail(FieldError {
                field: "id".into(),
                reason,
            }));
        }
        match self.stored_record(&record.id) {
            Ok(Some(stored)) if stored.content_digest == digest => {
                return Ok(Staged::AlreadyStored {
                    leaf_index: stored.leaf_index,
                });
            }
            Ok(Some(stored)) => {
                return Err(fail(FieldError {
                    field: "id".into(),
                    reason: format!(
                        "{:?} is already stored (leaf {}, a {}) with different content; a change needs a correction record",
                        record.id, stored.leaf_index, stored.record_type
                    ),
                }));
            }
            Ok(None) => {}
            Err(error) => {
                return Err(fail(FieldError {
                    field: String::new(),
                    reason: self.staging_failed(error),
                }));
            }
        }

        let private = match &submission.private {
            None => None,
            Some(part) => {
                let mut salt = [0_u8; 32];
                getrandom::fill(&mut salt).map_err(|error| {
                    fail(FieldError {
                        field: "private".into(),
                        reason: format!("no randomness for the salt: {error}"),
                    })
                })?;
                let data =
                    corridor_model::canonical::to_canonical_vec(&Value::Object(part.clone()))
                        .map_err(|error| {
                            fail(FieldError {
                                field: "private".into(),
                                reason: error.to_string(),
                            })
                        })?;
                Some((PrivatePart { salt, data }, part))
            }
        };
        let commitment = match &private {
            None => None,
            Some((part, object)) => Some(commitment(&part.salt, object).map_err(|error| {
                fail(FieldError {
                    field: "private".into(),
                    reason: error.to_string(),
                })
            })?),
        };
        let observer_sig = match observer_signature {
            None => None,
            Some(check) => Some(check(&record.to_public_json()).map_err(|reason| {
                fail(FieldError {
                    field: "observer_sig".into(),
                    reason,
                })
            })?),
        };
        let logged_at = format_logged_at(jiff::Timestamp::now());
        let leaf = leaf_of_canonical_record(
            &public_canonical,
            commitment.as_ref(),
            observer_sig.as_ref(),
            &logged_at,
        )
        .map_err(|error| {
            fail(FieldError {
                field: String::new(),
                reason: error.to_string(),
            })
        })?;

        let effective = record.effective();
        let content_type = effective.record_type();
        let effect = match record.body {
            Body::Correction(_) => Effect::Replace,
            Body::Retraction(_) => Effect::Retract,
            _ => Effect::Create,
        };
        let content_type = if effect == Effect::Retract {
            self.target_type(record.target_id()).map_err(|error| {
                fail(FieldError {
                    field: String::new(),
                    reason: self.staging_failed(error),
                })
            })?
        } else {
            content_type
        };
        let passage = passage_facts(effective);
        let target_id = record.target_id().to_string();
        let site_zone = match &effective.body {
            Body::Site(site) => TimeZone::get(&site.timezone).ok(),
            _ => None,
        };
        if effect != Effect::Create {
            self.site_zones.borrow_mut().remove(&target_id);
        }
        self.pending_ids
            .insert(record.id.clone(), (digest, self.batch_number));
        let shadowed = self
            .pending_targets
            .remove(&target_id)
            .map(|earlier| {
                if earlier.batch == self.batch_number {
                    // Within one batch only the latest state matters.
                    earlier.shadowed
                } else {
                    Some(Box::new(earlier))
                }
            })
            .unwrap_or_default();
        self.pending_targets.insert(
            target_id.clone(),
            PendingTarget {
                content_type,
                retracted: effect == Effect::Retract,
                site_zone,
                batch: self.batch_number,
                shadowed,
            },
        );
        self.batch.push(NewRecord {
            id: record.id.clone(),
            target_id,
            record_type: record.record_type(),
            content_type,
            effect,
            leaf,
            content_digest: digest,
            private: private.map(|(part, _)| part),
            passage,
            submitter: submitter.map(str::to_string),
        });
        Ok(Staged::New)
    }

    /// The type of the logical record a retraction retracts (the parser
    /// has checked that it exists and is current).
    fn target_type(&self, target_id: &str) -> Result<RecordType, corridor_store::StoreError> {
        if let Some(pending) = self.pending_targets.get(target_id) {
            return Ok(pending.content_type);
        }
        Ok(self
            .store
            .current(target_id)?
            .map_or(RecordType::Retraction, |state| state.content_type))
    }

    /// A site's time zone decides the day every one of its records counts on,
    /// so it cannot be corrected; the site must be retracted and replaced.
    fn check_site_correction(&self, record: &Record) -> Result<(), FieldError> {
        let Body::Correction(correction) = &record.body else {
            return Ok(());
        };
        let Body::Site(site) = &correction.record.body else {
            return Ok(());
        };
        let lookup = Lookup { writer: self };
        let current = lookup
            .site_zone(&correction.corrects)
            .map_err(|reason| FieldError {
                field: "corrects".into(),
                reason,
            })?;
        let corrected = TimeZone::get(&site.timezone).ok();
        if corrected.as_ref().and_then(TimeZone::iana_name) != current.iana_name() {
            return Err(FieldError {
                field: "record.timezone".into(),
                reason: format!(
                    "a site's time zone cannot be corrected (its records' days were counted in {}); retract the site and create a new one",
                    current.iana_name().unwrap_or("its zone")
                ),
            });
        }
        Ok(())
    }
}

/// The index facts of a passage (or of a correction whose content is one).
fn passage_facts(record: &Record) -> Option<PassageFacts> {
    let Body::Passage(passage) = &record.body else {
        return None;
    };
    Some(PassageFacts {
        site: passage.site.clone(),
        day: day_number(passage.observed_at.local_day()),
        observed_at: passage.observed_at.to_string(),
        category: passage.category.as_str().to_string(),
        operator: passage.operator.clone(),
        direction: passage.direction.as_str().to_string(),
        outcome: passage.outcome.as_str().to_string(),
        vehicle_class: passage.vehicle_class.as_str().to_string(),
        source_kind: record.source.kind.as_str().to_string(),
        source_name: record.source.name.clone(),
        recorded_by: record.recorded_by.clone(),
        mission: passage.mission.clone(),
        count: passage.count,
        passengers: passage.passengers,
        medical_evacuees: passage.medical_evacuees,
        kilograms: passage.kilograms(),
        cargo: passage
            .cargo
            .iter()
            .map(|line| (line.kind.clone(), line.kilograms))
            .collect(),
        attributes: record
            .attributes
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    })
}
