//! PostgreSQL locations: `postgres://` and `postgresql://` URLs as libpq
//! reads them, checked before any connection is made, and shown with the
//! password replaced.
//!
//! `postgresql://user:secret@db.example.org:5432/corridor?sslmode=verify-full`
//! and the socket form `postgresql:///corridor?host=/run/postgresql&user=corridor`
//! both work; every parameter the `postgres` crate knows is passed to it.
//! Corridor reads `sslmode` itself (libpq's six values, `verify-ca` and
//! `verify-full` included, which the crate does not know) and `sslrootcert`
//! (a PEM file, or `system`). Without a host the socket directory is
//! Debian's, `/var/run/postgresql`; without a user, the login name.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use postgres::config::SslMode;
use rustls::ClientConfig;

use super::tls::{Verification, client_config};
use crate::StoreError;

/// A parsed location, ready to connect.
#[derive(Clone)]
pub(crate) struct ConnectOptions {
    pub config: postgres::Config,
    /// The TLS settings, or `None` for `sslmode=disable`.
    pub tls: Option<Arc<ClientConfig>>,
    /// The URL as given, with any password replaced by `***`.
    pub shown: String,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ConnectOptions")
            .field("location", &self.shown)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Whether `text` names a PostgreSQL database.
pub(crate) fn is_postgres(text: &str) -> bool {
    let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Parses a `postgres://` or `postgresql://` URL.
///
/// # Errors
/// [`StoreError::BadLocation`] naming what is wrong, with the password hidden.
pub(crate) fn parse(text: &str) -> Result<ConnectOptions, StoreError> {
    let shown = redact(text);
    let bad = |reason: String| StoreError::BadLocation {
        location: shown.clone(),
        reason,
    };
    if !is_postgres(text) {
        return Err(bad("is not a postgres:// or postgresql:// URL".to_string()));
    }
    let (base, query) = text.split_once('?').unwrap_or((text, ""));
    let mut ssl_mode = "prefer".to_string();
    let mut root_file: Option<String> = None;
    let mut passed = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => ssl_mode = percent_decode(value).map_err(bad)?,
            "sslrootcert" => root_file = Some(percent_decode(value).map_err(bad)?),
            _ => passed.push(pair),
        }
    }
    let rebuilt = if passed.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", passed.join("&"))
    };
    let mut config = postgres::Config::from_str(&rebuilt).map_err(|error| {
        bad(format!(
            "is not a usable PostgreSQL URL: {}",
            error_chain(&error)
        ))
    })?;
    let root_file = root_file.filter(|file| file != "system").map(PathBuf::from);
    let verification = match ssl_mode.as_str() {
        "disable" | "allow" | "prefer" => Verification::None,
        "require" if root_file.is_some() => Verification::Chain,
        "require" => Verification::None,
        "verify-ca" => Verification::Chain,
        "verify-full" => Verification::Full,
        other => {
            return Err(bad(format!(
                "has sslmode={other:?}; use disable, allow, prefer, require, verify-ca or verify-full"
            )));
        }
    };
    let tls = if ssl_mode == "disable" {
        config.ssl_mode(SslMode::Disable);
        None
    } else {
        config.ssl_mode(if matches!(ssl_mode.as_str(), "allow" | "prefer") {
            SslMode::Prefer
        } else {
            SslMode::Require
        });
        let settings = client_config(verification, root_file.as_deref())
            .map_err(|reason| bad(format!("has TLS settings that cannot be used: {reason}")))?;
        Some(settings)
    };
    if config.get_hosts().is_empty() {
        config.host_path("/var/run/postgresql");
    }
    if config.get_user().is_none() {
        let login = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .map_err(|_| bad("names no user, and the login name is unknown".to_string()))?;
        config.user(&login);
    }
    if config.get_dbname().is_none() {
        return Err(bad(
            "names no database (postgresql://HOST/DATABASE)".to_string()
        ));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("corridor");
    }
    Ok(ConnectOptions { config, tls, shown })
}

/// `text` with the password of its user part and any `password=` parameter
/// replaced by `***`.
pub(crate) fn redact(text: &str) -> String {
    let mut shown = text.to_string();
    if let Some(scheme_end) = shown.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = shown[authority_start..]
            .find(['/', '?'])
            .map_or(shown.len(), |end| authority_start + end);
        if let Some(at) = shown[authority_start..authority_end].rfind('@') {
            let user_info = &shown[authority_start..authority_start + at];
            if let Some(colon) = user_info.find(':') {
                shown.replace_range(authority_start + colon + 1..authority_start + at, "***");
            }
        }
    }
    if let Some((base, query)) = shown.split_once('?') {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some(("password", _)) => "password=***".to_string(),
                _ => pair.to_string(),
            })
            .collect();
        shown = format!("{base}?{}", pairs.join("&"));
    }
    shown
}

/// The message of `error` and of every error behind it, on one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', "; ")
}

/// Decodes `%XX` escapes (and nothing else) in a URL parameter.
fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut position = 0;
    while position < bytes.len() {
        if bytes[position] == b'%' {
            let byte = value
                .get(position + 1..position + 3)
                .and_then(|digits| u8::from_str_radix(digits, 16).ok())
                .ok_or_else(|| format!("has a bad %-escape in {value:?}"))?;
            decoded.push(byte);
            position += 3;
        } else {
            decoded.push(bytes[position]);
            position += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| format!("has a parameter that is not UTF-8: {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("postgresql://corridor:s3cr%40t@db.example.org:5432/corridor?sslmode=require"),
            "postgresql://corridor:***@db.example.org:5432/corridor?sslmode=require"
        );
        assert_eq!(
            redact("postgres:///corridor?host=/run/pg&user=x&password=hunter2"),
            "postgres:///corridor?host=/run/pg&user=x&password=***"
        );
        assert_eq!(
            redact("postgres://corridor@db/corridor"),
            "postgres://corridor@db/corridor"
        );
    }

    #[test]
    fn urls_parse_with_socket_directories_and_tls_modes() {
        let options = parse("postgresql:///corridor?host=/run/pg&user=monitor").expect("parses");
        assert_eq!(options.config.get_dbname(), Some("corridor"));
        assert_eq!(options.config.get_user(), Some("monitor"));
        assert_eq!(
            options.config.get_hosts(),
            &[postgres::config::Host::Unix(PathBuf::from("/run/pg"))]
        );
        for (mode, expected) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::Require),
            ("verify-full", SslMode::Require),
        ] {
            let options = parse(&format!(
                "postgres://monitor:pw@db.example.org/corridor?sslmode={mode}"
            ))
            .expect("parses");
            assert_eq!(options.config.get_ssl_mode(), expected, "{mode}");
            assert_eq!(options.tls.is_some(), mode != "disable", "{mode}");
            assert_eq!(
                options.shown,
                format!("postgres://monitor:***@db.example.org/corridor?sslmode={mode}")
            );
        }
    }

    #[test]
    fn bad_urls_are_refused_by_name_without_the_password() {
        let refusal = |text: &str| match parse(text) {
            Ok(options) => format!("parsed: {options:?}"),
            Err(error) => error.to_string(),
        };
        assert_eq!(
            refusal("postgres://u:hunter2@db/corridor?sslmode=sometimes"),
            "store location \"postgres://u:***@db/corridor?sslmode=sometimes\" has sslmode=\"sometimes\"; use disable, allow, prefer, require, verify-ca or verify-full"
        );
        assert_eq!(
            refusal("postgres://u:hunter2@db/corridor?colour=blue"),
            "store location \"postgres://u:***@db/corridor?colour=blue\" is not a usable PostgreSQL URL: invalid connection string: unknown option `colour`"
        );
        assert_eq!(
            refusal("postgres://u:hunter2@db"),
            "store location \"postgres://u:***@db\" names no database (postgresql://HOST/DATABASE)"
        );
        let missing_root = refusal(
            "postgres://u:hunter2@db/corridor?sslmode=verify-full&sslrootcert=/nonexistent/root.pem",
        );
        assert!(
            missing_root.starts_with("store location \"postgres://u:***@db/corridor?sslmode=verify-full&sslrootcert=/nonexistent/root.pem\" has TLS settings that cannot be used: sslrootcert /nonexistent/root.pem: "),
            "{missing_root}"
        );
    }
}
