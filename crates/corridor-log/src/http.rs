//! A log published over HTTP(S), read-only: each C2SP path fetched below the
//! base URL, for `corridor verify --log https://...` and any reader of a log
//! that someone else publishes.

use std::fmt;
use std::io;

use crate::storage::{LogSource, LogStorage, LogStorageError};

/// A log read from a base URL; every write is refused.
pub struct HttpLog {
    base: String,
    agent: ureq::Agent,
}

/// The largest resource fetched: a full entry bundle of maximal entries.
const MAX_RESOURCE_BYTES: u64 = 256 * (2 + 65_535);

impl HttpLog {
    /// The log below `base` (`https://example.org/log`).
    #[must_use]
    pub fn new(base: &str) -> HttpLog {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .user_agent(concat!("corridor-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        HttpLog {
            base: base.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    fn read_only(&self) -> LogStorageError {
        LogStorageError::ReadOnly {
            location: self.base.clone(),
        }
    }
}

impl fmt::Debug for HttpLog {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("HttpLog")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl LogSource for HttpLog {
    fn describe(&self) -> String {
        self.base.clone()
    }

    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        let url = format!("{}/{path}", self.base);
        match self.agent.get(&url).call() {
            Ok(mut response) => response
                .body_mut()
                .with_config()
                .limit(MAX_RESOURCE_BYTES)
                .read_to_vec()
                .map(Some)
                .map_err(|error| io::Error::other(format!("{url}: {error}"))),
            Err(ureq::Error::StatusCode(404)) => Ok(None),
            Err(error) => Err(io::Error::other(format!("{url}: {error}"))),
        }
    }
}

impl LogStorage for HttpLog {
    fn list(&self, directory: &str) -> io::Result<Vec<String>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{}/{directory}: a log read over HTTP cannot be listed",
                self.base
            ),
        ))
    }

    fn create(&self, _path: &str, _bytes: Vec<u8>) -> Result<(), LogStorageError> {
        Err(self.read_only())
    }

    fn sync(&self) -> Result<(), LogStorageError> {
        // Nothing was written, so everything written is durable.
        Ok(())
    }

    fn write_checkpoint_copy(
        &self,
        _tree_size: u64,
        _signed: &[u8],
    ) -> Result<(), LogStorageError> {
        Err(self.read_only())
    }

    fn replace_checkpoint(
        &self,
        _replaced: Option<&[u8]>,
        _signed: &[u8],
    ) -> Result<(), LogStorageError> {
        Err(self.read_only())
    }
}
