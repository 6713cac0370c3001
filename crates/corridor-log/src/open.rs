//! Opening a log from where it lives: a directory path, a `file://` URL, an
//! `s3://bucket/prefix` URL or an `http(s)://` URL. The one place that chooses a [`LogStorage`] backend,
//! so that callers name none.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::directory::LogDirectory;
use crate::http::HttpLog;
use crate::object::{ObjectLog, ObjectLogError, ObjectLogOptions};
use crate::storage::LogStorage;

/// Why a log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenLogError {
    /// The location is a URL of a kind no backend serves.
    #[error(
        "{location}: no log backend for {scheme}:// URLs; give a directory, a file:// URL, an s3:// URL or an http(s):// URL"
    )]
    UnsupportedScheme {
        /// The location given.
        location: String,
        /// Its scheme.
        scheme: String,
    },
    /// An `s3://` location that cannot be opened.
    #[error(transparent)]
    Object(#[from] ObjectLogError),
}

/// Opens the log at `location` with the default options; see [`open_log_with`].
///
/// # Errors
///
/// As [`open_log_with`].
pub fn open_log(location: impl AsRef<OsStr>) -> Result<Arc<dyn LogStorage>, OpenLogError> {
    open_log_with(location, &ObjectLogOptions::default())
}

/// Opens the log at `location`: `http://` and `https://` URLs are read-only
/// ([`HttpLog`]), `s3://bucket/prefix` is a bucket ([`ObjectLog`], reached
/// as `options` and the `AWS_*` environment say), `file://` URLs and plain
/// paths are a directory (which need not exist yet; the first write
/// creates it). Opening makes no request.
///
/// # Errors
///
/// [`OpenLogError::UnsupportedScheme`] for any other URL;
/// [`OpenLogError::Object`] for a malformed `s3://` location.
pub fn open_log_with(
    location: impl AsRef<OsStr>,
    options: &ObjectLogOptions,
) -> Result<Arc<dyn LogStorage>, OpenLogError> {
    let location = location.as_ref();
    let Some(text) = location.to_str() else {
        // Not UTF-8, so not a URL: a path.
        return Ok(Arc::new(LogDirectory::new(PathBuf::from(location))));
    };
    if text.starts_with("http://") || text.starts_with("https://") {
        return Ok(Arc::new(HttpLog::new(text)));
    }
    if text.starts_with("s3://") {
        return Ok(Arc::new(ObjectLog::open(text, options)?));
    }
    if let Some(path) = text.strip_prefix("file://") {
        return Ok(Arc::new(LogDirectory::new(path)));
    }
    if let Some((scheme, _)) = text.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "+-.".contains(character))
    {
        return Err(OpenLogError::UnsupportedScheme {
            location: text.to_owned(),
            scheme: scheme.to_owned(),
        });
    }
    Ok(Arc::new(LogDirectory::new(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls_open_their_backend() {
        assert_eq!(open_log("/srv/log").expect("a path").describe(), "/srv/log");
        assert_eq!(
            open_log("file:///srv/log").expect("a file URL").describe(),
            "/srv/log"
        );
        assert_eq!(
            open_log("https://example.org/log/")
                .expect("an HTTPS URL")
                .describe(),
            "https://example.org/log"
        );
        assert_eq!(
            open_log("s3://bucket/prefix/")
                .expect("a bucket")
                .describe_path("checkpoint"),
            "s3://bucket/prefix/checkpoint"
        );
        let error = open_log("gs://bucket/prefix").expect_err("no such backend");
        assert!(
            error.to_string().contains("no log backend for gs://"),
            "{error}"
        );
    }
}
