//! Reading stored records back as the [`NewRecord`]s that store them again
//! ([`crate::Store::export`]), so a store can be copied onto another backend
//! (`corridor migrate`) through the same `append` that ingest uses: leaf
//! indexes, current states, indexes and rollups are rebuilt by the target's
//! own write path, never copied table by table.
//!
//! The two SQL backends read the same four ranges (records with what their
//! logical record, submitter and private part say; passage facts; cargo
//! lines; attributes) with the queries below, which differ only in their
//! placeholders, and assemble them here.

use std::collections::BTreeMap;

use corridor_model::RecordType;

use crate::{Effect, NewRecord, PassageFacts, PrivatePart, StoreError};

/// The records of a range with their content type (from the logical record
/// they write), submitter and private part; `{start}` and `{end}` are the
/// backend's placeholders.
pub(crate) const RECORDS: &str = "SELECT r.leaf_index, r.id, r.target_id, r.record_type, r.content_digest, r.leaf, \
     c.content_type, s.token_id, p.salt, p.data \
     FROM records r \
     LEFT JOIN current_records c ON c.target_id = r.target_id \
     LEFT JOIN submissions s ON s.record_id = r.id \
     LEFT JOIN private_parts p ON p.leaf_index = r.leaf_index \
     WHERE r.leaf_index >= {start} AND r.leaf_index < {end} ORDER BY r.leaf_index";

/// Cargo lines of the passages in a range, in line order.
pub(crate) const CARGO: &str = "SELECT leaf_index, kind, kilograms FROM passage_cargo \
     WHERE leaf_index >= {start} AND leaf_index < {end} ORDER BY leaf_index, line";

/// Attributes of the passages in a range (through the index by leaf).
pub(crate) const ATTRIBUTES: &str = "SELECT leaf_index, key, value FROM passage_attributes \
     WHERE leaf_index >= {start} AND leaf_index < {end} ORDER BY leaf_index, key, value";

/// A query of this module with the backend's two placeholders.
pub(crate) fn with_placeholders(query: &str, start: &str, end: &str) -> String {
    query.replace("{start}", start).replace("{end}", end)
}

/// One row of [`RECORDS`], as read.
pub(crate) struct ExportedRow {
    pub(crate) leaf_index: u64,
    pub(crate) id: String,
    pub(crate) target_id: String,
    pub(crate) record_type: String,
    pub(crate) content_digest: Vec<u8>,
    pub(crate) leaf: Vec<u8>,
    /// `None` when the logical record is missing: a damaged store.
    pub(crate) content_type: Option<String>,
    pub(crate) submitter: Option<String>,
    pub(crate) private: Option<(Vec<u8>, Vec<u8>)>,
}

/// What a record does to the logical record it names, from its type: a
/// correction replaces, a retraction retracts, anything else creates.
pub(crate) fn effect_of(record_type: RecordType) -> Effect {
    match record_type {
        RecordType::Correction => Effect::Replace,
        RecordType::Retraction => Effect::Retract,
        _ => Effect::Create,
    }
}

/// The records of one range from the rows the backend read: passage facts
/// by leaf (without cargo and attributes), then the cargo lines and the
/// attributes of those passages.
///
/// # Errors
/// A row this build cannot read back, naming the record and the column.
pub(crate) fn assemble(
    rows: Vec<ExportedRow>,
    mut passages: BTreeMap<u64, PassageFacts>,
    cargo: Vec<(u64, String, Option<u64>)>,
    attributes: Vec<(u64, String, String)>,
) -> Result<Vec<NewRecord>, StoreError> {
    for (leaf_index, kind, kilograms) in cargo {
        if let Some(facts) = passages.get_mut(&leaf_index) {
            facts.cargo.push((kind, kilograms));
        }
    }
    for (leaf_index, key, value) in attributes {
        if let Some(facts) = passages.get_mut(&leaf_index) {
            facts.attributes.push((key, value));
        }
    }
    rows.into_iter()
        .map(|row| {
            let unreadable = |column: &str, reason: String| StoreError::Backend {
                source: format!(
                    "record {:?} (leaf {}): {column}: {reason}",
                    row.id, row.leaf_index
                )
                .into(),
            };
            let record_type = RecordType::parse(&row.record_type).ok_or_else(|| {
                unreadable(
                    "record_type",
                    format!("{:?} is not a record type", row.record_type),
                )
            })?;
            let content_type = row.content_type.as_deref().ok_or_else(|| {
                unreadable(
                    "current_records",
                    format!("its logical record {:?} is missing", row.target_id),
                )
            })?;
            let content_type = RecordType::parse(content_type).ok_or_else(|| {
                unreadable(
                    "content_type",
                    format!("{content_type:?} is not a record type"),
                )
            })?;
            let content_digest = <[u8; 32]>::try_from(row.content_digest.as_slice())
                .map_err(|_| unreadable("content_digest", "is not 32 bytes".into()))?;
            let private = match row.private {
                None => None,
                Some((salt, data)) => Some(PrivatePart {
                    salt: <[u8; 32]>::try_from(salt.as_slice())
                        .map_err(|_| unreadable("private salt", "is not 32 bytes".into()))?,
                    data,
                }),
            };
            Ok(NewRecord {
                passage: passages.remove(&row.leaf_index),
                id: row.id,
                target_id: row.target_id,
                record_type,
                content_type,
                effect: effect_of(record_type),
                leaf: row.leaf,
                content_digest,
                private,
                submitter: row.submitter,
            })
        })
        .collect()
}
