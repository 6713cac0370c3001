//! `corridor.toml`: a data directory's settings, validated once when opened.

use corridor_model::TimePrecision;
use corridor_stats::access::Thresholds;
use serde::{Deserialize, Serialize};

/// A data directory's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The log's name, e.g. `monitor.example.org/lachin`; also its key's name.
    pub origin: String,
    /// How precisely times are published (`second`, `minute`, `hour`, `day`);
    /// anything finer stays in the private part.
    #[serde(default = "default_precision", with = "precision_token")]
    pub public_time_precision: TimePrecision,
    /// Whether this directory holds the synthetic demo data set.
    #[serde(default)]
    pub demo: bool,
    /// Thresholds of the access index (`[access] open = 0.75, restricted = 0.25`).
    #[serde(default)]
    pub access: Thresholds,
    /// Where the records are stored (`[store] url = "sqlite:store.db"`).
    /// Left out of the file while it is the default, so settings written
    /// before it existed read and render the same.
    #[serde(default, skip_serializing_if = "StoreSettings::is_default")]
    pub store: StoreSettings,
    /// Where the published log lives (`[log] url = ...`); `DATA/log` when unset.
    #[serde(default, skip_serializing_if = "LogSettings::is_default")]
    pub log: LogSettings,
}

/// The `[store]` section: which backend holds the records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `sqlite:PATH`, `sqlite://PATH` or a path (see
    /// [`corridor_store::StoreLocation`]); a relative path is taken from the
    /// data directory. None: `store.db` in the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl StoreSettings {
    pub fn is_default(&self) -> bool {
        *self == StoreSettings::default()
    }
}

/// The `[log]` table: where the published log lives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A directory (relative paths are below the data directory), a
    /// `file://` URL, or an `http(s)://` URL (read-only); see
    /// `corridor_log::open_log`. Unset: the data directory's `log/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl LogSettings {
    fn is_default(&self) -> bool {
        *self == LogSettings::default()
    }
}

impl Config {
    /// Settings for a log named `origin`, everything else at its default.
    pub fn new(origin: impl Into<String>) -> Config {
        Config {
            origin: origin.into(),
            public_time_precision: default_precision(),
            demo: false,
            access: Thresholds::default(),
            store: StoreSettings::default(),
            log: LogSettings::default(),
        }
    }
}

fn default_precision() -> TimePrecision {
    TimePrecision::Second
}

mod precision_token {
    use corridor_model::TimePrecision;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        precision: &TimePrecision,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(precision.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<TimePrecision, D::Error> {
        let token = String::deserialize(deserializer)?;
        TimePrecision::parse(&token).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{token:?} is not a time precision ({})",
                TimePrecision::expected()
            ))
        })
    }
}

/// Checks a log origin: a non-empty line of printable ASCII without spaces or
/// `+` (C2SP signed-note key names may not contain them), at most 200 bytes.
///
/// # Errors
/// Why the name is not usable.
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin.is_empty() || origin.len() > 200 {
        return Err("must be 1 to 200 characters".into());
    }
    if let Some(bad) = origin.chars().find(|c| !c.is_ascii_graphic() || *c == '+') {
        return Err(format!(
            "contains {bad:?}; use printable ASCII without spaces or '+', e.g. monitor.example.org/lachin"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_table_is_optional_and_not_written_when_unset() {
        let config = Config::new("example.org/log");
        let text = toml::to_string(&config).expect("renders");
        assert!(!text.contains("[log]") && !text.contains("url"), "{text}");
        let parsed: Config = toml::from_str(&text).expect("parses");
        assert_eq!(parsed, config);

        let elsewhere: Config =
            toml::from_str("origin = \"example.org/log\"\n[log]\nurl = \"published\"\n")
                .expect("parses");
        assert_eq!(elsewhere.log.url.as_deref(), Some("published"));
        assert!(
            toml::to_string(&elsewhere)
                .expect("renders")
                .contains("[log]\nurl = \"published\"\n")
        );
        let unknown = toml::from_str::<Config>("origin = \"o\"\n[log]\nbucket = \"b\"\n")
            .expect_err("unknown key");
        assert!(unknown.to_string().contains("bucket"), "{unknown}");
    }
}
