//! Where a store lives, written as a URL or a path, and the one function that
//! opens the backend it names.
//!
//! `sqlite:PATH`, `sqlite://PATH` and a bare `PATH` name a SQLite database
//! file (`sqlite:///var/lib/corridor/store.db` is the absolute path
//! `/var/lib/corridor/store.db`). `postgres://` and `postgresql://` URLs
//! name a PostgreSQL database (see `postgres/url.rs` for the forms); such a
//! URL may hold a password, so it is kept in a [`DatabaseUrl`], which shows
//! itself with the password replaced. Any other `SCHEME://` is refused with
//! an error naming the scheme: this build has no such backend. Code above
//! this crate opens stores only through [`open`] or [`StoreLocation::open`],
//! so it never names a backend type.

use std::path::{Path, PathBuf};

use crate::{PostgresStore, SqliteStore, Store, StoreError};

/// A parsed store location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(DatabaseUrl),
}

/// A database URL that may hold a password: `Display` and `Debug` show it
/// with the password replaced by `***`, so it can be logged and printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL itself, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&crate::postgres::redact(&self.0))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "DatabaseUrl({self})")
    }
}

/// Schemes written without `//` that still name a backend, so that
/// `postgres:...` is refused as a backend rather than taken for a file name.
const BACKEND_SCHEMES: [&str; 2] = ["postgres", "postgresql"];

impl StoreLocation {
    /// Parses `sqlite:PATH`, `sqlite://PATH`, a bare path, or a
    /// `postgres://` / `postgresql://` URL (checked, but not connected to).
    ///
    /// # Errors
    /// [`StoreError::UnsupportedBackend`] for another scheme,
    /// [`StoreError::BadLocation`] for an empty path or a bad URL.
    pub fn parse(text: &str) -> Result<StoreLocation, StoreError> {
        if crate::postgres::is_postgres(text) {
            crate::postgres::check_url(text)?;
            return Ok(StoreLocation::Postgres(DatabaseUrl(text.to_string())));
        }
        let path = if let Some(rest) = text.strip_prefix("sqlite:") {
            rest.strip_prefix("//").unwrap_or(rest)
        } else if let Some(scheme) = scheme_of(text) {
            return Err(StoreError::UnsupportedBackend {
                location: text.to_string(),
                scheme: scheme.to_string(),
            });
        } else {
            text
        };
        if path.is_empty() {
            return Err(StoreError::BadLocation {
                location: text.to_string(),
                reason: "names no database file".into(),
            });
        }
        Ok(StoreLocation::Sqlite(PathBuf::from(path)))
    }

    /// The same location with a relative file path taken relative to `base`
    /// (a data directory); absolute paths stay as they are.
    pub fn relative_to(&self, base: &Path) -> StoreLocation {
        match self {
            StoreLocation::Sqlite(path) => StoreLocation::Sqlite(base.join(path)),
            StoreLocation::Postgres(url) => StoreLocation::Postgres(url.clone()),
        }
    }

    /// Opens (creating if needed) the store at this location.
    ///
    /// # Errors
    /// The backend cannot open it (see [`SqliteStore::open`] and
    /// [`PostgresStore::open`]).
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        match self {
            StoreLocation::Sqlite(path) => Ok(Box::new(SqliteStore::open(path)?)),
            StoreLocation::Postgres(url) => Ok(Box::new(PostgresStore::open(url.expose())?)),
        }
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(formatter, "sqlite:{}", path.display()),
            StoreLocation::Postgres(url) => write!(formatter, "{url}"),
        }
    }
}

/// The scheme of `text` if it starts like a URL (`SCHEME://`, or one of
/// [`BACKEND_SCHEMES`] followed by `:`). A bare path may hold a colon
/// (`./a:b`), so a colon alone does not make a scheme.
fn scheme_of(text: &str) -> Option<&str> {
    let (scheme, rest) = text.split_once(':')?;
    let well_formed = scheme
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let backend = BACKEND_SCHEMES
        .iter()
        .any(|known| scheme.eq_ignore_ascii_case(known));
    (well_formed && (rest.starts_with("//") || backend)).then_some(scheme)
}

/// Opens the store named by `location`: `sqlite:PATH`, `sqlite://PATH`, a
/// bare path (relative to the working directory) or a PostgreSQL URL.
///
/// # Errors
/// An unsupported scheme or empty path (see [`StoreLocation::parse`]), or
/// the backend cannot open the store.
pub fn open(location: &str) -> Result<Box<dyn Store>, StoreError> {
    StoreLocation::parse(location)?.open()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str) {
        let shown = match StoreLocation::parse(text) {
            Ok(location) => location.to_string(),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(shown, expected, "{text:?}");
    }

    #[test]
    fn locations_parse_to_a_backend_or_a_named_refusal() {
        check("store.db", "sqlite:store.db");
        check("./a:b/store.db", "sqlite:./a:b/store.db");
        check(
            "/var/lib/corridor/store.db",
            "sqlite:/var/lib/corridor/store.db",
        );
        check("sqlite:store.db", "sqlite:store.db");
        check("sqlite:/abs/store.db", "sqlite:/abs/store.db");
        check("sqlite://store.db", "sqlite:store.db");
        check("sqlite:///abs/store.db", "sqlite:/abs/store.db");
        check(
            "postgres://corridor@localhost/corridor",
            "postgres://corridor@localhost/corridor",
        );
        check(
            "postgresql://corridor:hunter2@db.example.org/corridor?sslmode=verify-full",
            "postgresql://corridor:***@db.example.org/corridor?sslmode=verify-full",
        );
        check(
            "postgresql:///corridor?host=/run/pg&user=corridor",
            "postgresql:///corridor?host=/run/pg&user=corridor",
        );
        check(
            "postgres://corridor:hunter2@db.example.org",
            "error: store location \"postgres://corridor:***@db.example.org\" names no database (postgresql://HOST/DATABASE)",
        );
        check(
            "postgresql:dbname=corridor",
            "error: postgresql:dbname=corridor: the postgresql backend is not supported by this build (it knows sqlite:, file paths, postgres:// and postgresql://)",
        );
        check(
            "s3://bucket/store",
            "error: s3://bucket/store: the s3 backend is not supported by this build (it knows sqlite:, file paths, postgres:// and postgresql://)",
        );
        check(
            "sqlite:",
            "error: store location \"sqlite:\" names no database file",
        );
        check("", "error: store location \"\" names no database file");
    }

    #[test]
    fn relative_paths_are_taken_from_the_base_and_absolute_ones_kept() {
        let base = Path::new("/data");
        let relative = StoreLocation::parse("sqlite:nested/store.db").map(|l| l.relative_to(base));
        assert_eq!(
            relative.ok(),
            Some(StoreLocation::Sqlite(PathBuf::from(
                "/data/nested/store.db"
            )))
        );
        let absolute = StoreLocation::parse("/elsewhere/store.db").map(|l| l.relative_to(base));
        assert_eq!(
            absolute.ok(),
            Some(StoreLocation::Sqlite(PathBuf::from("/elsewhere/store.db")))
        );
    }

    #[test]
    fn a_postgres_location_never_shows_its_password() {
        let location = StoreLocation::parse("postgres://monitor:hunter2@db.example.org/corridor")
            .expect("parses");
        let shown = format!("{location} {location:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("monitor:***@db.example.org"), "{shown}");
    }

    #[test]
    fn open_creates_a_sqlite_store_that_a_second_open_sees() -> Result<(), StoreError> {
        let directory = tempfile::tempdir().expect("temp dir");
        let location = format!("sqlite://{}", directory.path().join("store.db").display());
        open(&location)?.set_meta("origin", b"example")?;
        assert_eq!(open(&location)?.meta("origin")?, Some(b"example".to_vec()));
        Ok(())
    }
}
