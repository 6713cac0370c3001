//! Why statistics could not be computed.

use corridor_store::StoreError;

/// Errors computing statistics.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("{0}")]
    BadQuery(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored record {id} cannot be read back: {reason}")]
    CorruptRecord { id: String, reason: String },
}
