//! Opening a log from where it lives: a directory path, a `file://` URL or
//! an `http(s)://` URL. The one place that chooses a [`LogStorage`] backend,
//! so that callers name none.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::directory::LogDirectory;
use crate::http::HttpLog;
use crate::storage::LogStorage;

/// Why a log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenLogError {
    /// The location is a URL of a kind no backend serves.
    #[error(
        "{location}: no log backend for {scheme}:// URLs; give a directory, a file:// URL or an http(s):// URL"
    )]
    UnsupportedScheme {
        /// The location given.
        location: String,
        /// Its scheme.
        scheme: String,
    },
}

/// Opens the log at `location`: `http://` and `https://` URLs are read-only
/// ([`HttpLog`]), `file://` URLs and plain paths are a directory (which
/// need not exist yet; the first write creates it).
///
/// # Errors
///
/// [`OpenLogError::UnsupportedScheme`] for any other URL.
pub fn open_log(location: impl AsRef<OsStr>) -> Result<Arc<dyn LogStorage>, OpenLogError> {
    let location = location.as_ref();
    let Some(text) = location.to_str() else {
        // Not UTF-8, so not a URL: a path.
        return Ok(Arc::new(LogDirectory::new(PathBuf::from(location))));
    };
    if text.starts_with("http://") || text.starts_with("https://") {
        return Ok(Arc::new(HttpLog::new(text)));
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
        let error = open_log("s3://bucket/prefix").expect_err("not yet");
        assert!(
            error.to_string().contains("no log backend for s3://"),
            "{error}"
        );
    }
}
