//! API tokens and who submitted which record, in the store's SQLite file.
//!
//! Both tables live beside the records but are not part of the log and carry
//! no record content. `submissions` is written by the append transaction
//! (see `append.rs`), so a record and its submitter are stored together.

use rusqlite::{Connection, OptionalExtension, params};

use crate::{ApiToken, StoreError};

/// The tables this module owns (created with the rest of the schema).
pub(super) const TOKEN_SCHEMA: &str = "
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
pub(super) const INSERT_SUBMISSION: &str =
    "INSERT OR IGNORE INTO submissions (record_id, token_id) VALUES (?1, ?2)";

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

pub(super) fn insert_token(
    connection: &Connection,
    token: &ApiToken,
    secret_hash: &[u8; 32],
) -> Result<(), StoreError> {
    let inserted = connection.execute(
        "INSERT INTO api_tokens (id, secret_hash, name, role, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            token.id,
            secret_hash.as_slice(),
            token.name,
            token.role,
            token.created_at,
            token.revoked_at
        ],
    );
    match inserted {
        Ok(_) => Ok(()),
        // Both the id and the hash are unique: either is a token stored already.
        Err(rusqlite::Error::SqliteFailure(failure, _))
            if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::DuplicateToken {
                id: token.id.clone(),
            })
        }
        Err(error) => Err(error.into()),
    }
}

pub(super) fn token_by_hash(
    connection: &Connection,
    secret_hash: &[u8; 32],
) -> Result<Option<ApiToken>, StoreError> {
    // Every authenticated request asks, so the statement is cached.
    Ok(connection
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?1"
        ))?
        .query_row([secret_hash.as_slice()], token_row)
        .optional()?)
}

pub(super) fn tokens(connection: &Connection) -> Result<Vec<ApiToken>, StoreError> {
    let mut statement = connection.prepare(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"
    ))?;
    let rows = statement
        .query_map([], token_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Every token with the hash of its secret, oldest first, for a copy of
/// the store.
pub(super) fn tokens_with_hashes(
    connection: &Connection,
) -> Result<Vec<(ApiToken, [u8; 32])>, StoreError> {
    let mut statement = connection.prepare(&format!(
        "SELECT {TOKEN_COLUMNS}, secret_hash FROM api_tokens ORDER BY created_at, id"
    ))?;
    let rows = statement
        .query_map([], |row| Ok((token_row(row)?, row.get::<_, Vec<u8>>(5)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(token, hash)| {
            let hash = <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| StoreError::Backend {
                source: format!(
                    "api_tokens.secret_hash of token {:?} is not 32 bytes",
                    token.id
                )
                .into(),
            })?;
            Ok((token, hash))
        })
        .collect()
}

pub(super) fn revoke_token(
    connection: &Connection,
    id: &str,
    revoked_at: &str,
) -> Result<bool, StoreError> {
    let changed = connection.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, revoked_at],
    )?;
    Ok(changed > 0)
}

pub(super) fn submitter(
    connection: &Connection,
    record_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT token_id FROM submissions WHERE record_id = ?1")?
        .query_row([record_id], |row| row.get(0))
        .optional()?)
}
