//! API tokens and who submitted which record, in the store's SQLite file.
//!
//! Tokens are kept only as SHA-256 hashes of their secret: the secret is
//! shown once, when the token is created. `submissions` remembers which token
//! submitted each record over the API, so an observer can fetch receipts for
//! its own records only. Both tables live beside the records but are not part
//! of the log and carry no record content.

use rusqlite::{OptionalExtension, params};

use crate::{SqliteStore, StoreError};

/// The tables this module owns (created with the rest of the schema).
pub const TOKEN_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    secret_hash BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS submissions (
    record_id TEXT PRIMARY KEY,
    token_id TEXT NOT NULL
) WITHOUT ROWID;
";

/// Remembers the token that submitted a record (run by `append`, in the
/// transaction that stores the record). A record keeps its first submitter.
pub(crate) const INSERT_SUBMISSION: &str =
    "INSERT OR IGNORE INTO submissions (record_id, token_id) VALUES (?1, ?2)";

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

/// The columns [`token_row`] reads, in its order.
const TOKEN_COLUMNS: &str = "id, name, role, created_at, revoked_at";

fn token_row(row: &rusqlite::Row<'_>) -> Result<ApiToken, rusqlite::Error> {
    Ok(ApiToken {
        id: row.get(0)?,
        name: row.get(1)?,
        role: row.get(2)?,
        created_at: row.get(3)?,
        revoked_at: row.get(4)?,
    })
}

impl SqliteStore {
    /// Stores a new token under the hash of its secret.
    ///
    /// # Errors
    /// The id or hash exists already, or a storage failure.
    pub fn insert_token(&self, token: &ApiToken, secret_hash: &[u8; 32]) -> Result<(), StoreError> {
        self.connection.execute(
            "INSERT INTO api_tokens (id, secret_hash, name, role, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                token.id,
                secret_hash.as_slice(),
                token.name,
                token.role,
                token.created_at,
                token.revoked_at
            ],
        )?;
        Ok(())
    }

    /// The token whose secret hashes to `secret_hash`, revoked or not.
    ///
    /// # Errors
    /// A storage failure.
    pub fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        // Every authenticated request asks, so the statement is cached.
        Ok(self
            .connection
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?1"
            ))?
            .query_row([secret_hash.as_slice()], token_row)
            .optional()?)
    }

    /// Every token, oldest first.
    ///
    /// # Errors
    /// A storage failure.
    pub fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let mut statement = self.connection.prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"
        ))?;
        let rows = statement
            .query_map([], token_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Revokes a token at `revoked_at`; returns false if there is no such
    /// token or it was already revoked.
    ///
    /// # Errors
    /// A storage failure.
    pub fn revoke_token(&self, id: &str, revoked_at: &str) -> Result<bool, StoreError> {
        let changed = self.connection.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, revoked_at],
        )?;
        Ok(changed > 0)
    }

    /// The token that submitted `record_id` over the API, if any did.
    ///
    /// # Errors
    /// A storage failure.
    pub fn submitter(&self, record_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection
            .prepare_cached("SELECT token_id FROM submissions WHERE record_id = ?1")?
            .query_row([record_id], |row| row.get(0))
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_by_hash_listed_and_revoked_once() -> Result<(), StoreError> {
        let store = SqliteStore::open_in_memory()?;
        let token = ApiToken {
            id: "t1".into(),
            name: "team a".into(),
            role: "observer".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            revoked_at: None,
        };
        store.insert_token(&token, &[7; 32])?;
        assert_eq!(store.token_by_hash(&[7; 32])?, Some(token.clone()));
        assert_eq!(store.token_by_hash(&[8; 32])?, None);
        assert_eq!(store.tokens()?, vec![token]);
        assert!(store.revoke_token("t1", "2026-01-02T00:00:00Z")?);
        assert!(!store.revoke_token("t1", "2026-01-03T00:00:00Z")?);
        assert_eq!(
            store
                .token_by_hash(&[7; 32])?
                .and_then(|token| token.revoked_at),
            Some("2026-01-02T00:00:00Z".to_string())
        );
        Ok(())
    }

    fn event(id: &str, submitter: Option<&str>) -> crate::NewRecord {
        crate::NewRecord {
            id: id.into(),
            target_id: id.into(),
            record_type: corridor_model::RecordType::Incident,
            content_type: corridor_model::RecordType::Incident,
            effect: crate::Effect::Create,
            leaf: format!("leaf of {id}").into_bytes(),
            content_digest: [id.len() as u8; 32],
            private: None,
            passage: None,
            submitter: submitter.map(str::to_string),
        }
    }

    #[test]
    fn the_submitter_is_stored_with_the_record_and_kept() -> Result<(), StoreError> {
        use crate::Store;
        let mut store = SqliteStore::open_in_memory()?;
        store.append(&[event("p-1", Some("t1")), event("p-2", None)])?;
        assert_eq!(store.submitter("p-1")?, Some("t1".to_string()));
        assert_eq!(store.submitter("p-2")?, None);
        assert_eq!(store.submitter("p-3")?, None);
        // A refused batch remembers nothing of itself, and changes no submitter.
        let refused = store.append(&[event("p-3", Some("t2")), event("p-1", Some("t2"))]);
        assert!(matches!(refused, Err(StoreError::DuplicateId { .. })));
        assert_eq!(store.submitter("p-1")?, Some("t1".to_string()));
        assert_eq!(store.submitter("p-3")?, None);
        Ok(())
    }
}
