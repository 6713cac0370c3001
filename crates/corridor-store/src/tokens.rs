//! API tokens and who submitted which record: the [`TokenStore`] half of
//! the storage contract.
//!
//! Tokens are kept only as SHA-256 hashes of their secret: the secret is
//! shown once, when the token is created. Each backend also remembers which
//! token submitted each record over the API ([`crate::NewRecord::submitter`],
//! stored in the record's own transaction), so an observer can fetch receipts
//! for its own records only. Neither is part of the log.

use crate::StoreError;

/// An API token as stored: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// A short public identifier, safe to show and log.
    pub id: String,
    /// What the operator called it (a team, a service).
    pub name: String,
    /// `observer`, `analyst` or `admin`.
    pub role: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// Tokens and submitters, kept by every backend beside its records.
pub trait TokenStore {
    /// Stores a new token under the hash of its secret.
    ///
    /// # Errors
    /// The id or hash exists already, or a storage failure.
    fn insert_token(&mut self, token: &ApiToken, secret_hash: &[u8; 32]) -> Result<(), StoreError>;

    /// The token whose secret hashes to `secret_hash`, revoked or not.
    ///
    /// # Errors
    /// A storage failure.
    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError>;

    /// Every token, oldest first (by creation time, then id).
    ///
    /// # Errors
    /// A storage failure.
    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// Every token with the hash of its secret, oldest first: what a copy
    /// of the store (`corridor migrate`) needs so that every token keeps
    /// working on the copy.
    ///
    /// # Errors
    /// A storage failure.
    fn tokens_with_hashes(&self) -> Result<Vec<(ApiToken, [u8; 32])>, StoreError>;

    /// Revokes a token at `revoked_at`; returns false if there is no such
    /// token or it was already revoked.
    ///
    /// # Errors
    /// A storage failure.
    fn revoke_token(&mut self, id: &str, revoked_at: &str) -> Result<bool, StoreError>;

    /// The token that submitted `record_id` over the API, if any did. A
    /// record keeps its first submitter.
    ///
    /// # Errors
    /// A storage failure.
    fn submitter(&self, record_id: &str) -> Result<Option<String>, StoreError>;
}
