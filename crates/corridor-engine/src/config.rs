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

/// The `[log]` table: where the published log lives, and how a bucket is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A directory (relative paths are below the data directory), a
    /// `file://` URL, an `s3://bucket/prefix` URL, or an `http(s)://` URL
    /// (read-only); see `corridor_log::open_log`. Unset: the data
    /// directory's `log/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The endpoint of an S3-compatible service (R2, MinIO, Ceph, moto)
    /// for an `s3://` url; unset: `AWS_ENDPOINT` / `AWS_ENDPOINT_URL`, else AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Replace a bucket's checkpoint by compare-and-swap on its ETag
    /// (`If-Match`); turn off only for a service without conditional writes.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub conditional_checkpoint: bool,
    /// Delete the partial tiles of a bucket that a full tile supersedes, once
    /// a checkpoint covering the full tile is published.
    #[serde(default, skip_serializing_if = "is_false")]
    pub collect_partials: bool,
    /// Where readers find the log (a CDN or the bucket's public URL):
    /// `corridor serve` then redirects `/log/...` there instead of serving it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            url: None,
            endpoint: None,
            conditional_checkpoint: true,
            collect_partials: false,
            public_url: None,
        }
    }
}

impl LogSettings {
    fn is_default(&self) -> bool {
        *self == LogSettings::default()
    }

    /// How a bucket log is reached and written, from these settings (the
    /// rest from the `AWS_*` environment).
    pub fn object_options(&self) -> corridor_log::ObjectLogOptions {
        corridor_log::ObjectLogOptions {
            endpoint: self.endpoint.clone(),
            conditional_checkpoint: self.conditional_checkpoint,
            collect_partials: self.collect_partials,
            ..corridor_log::ObjectLogOptions::default()
        }
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

        let bucket: Config = toml::from_str(
            "origin = \"o\"\n[log]\nurl = \"s3://b/p\"\nendpoint = \"http://127.0.0.1:9000\"\ncollect_partials = true\n",
        )
        .expect("parses");
        assert!(bucket.log.conditional_checkpoint, "on unless turned off");
        let options = bucket.log.object_options();
        assert!(options.collect_partials && options.conditional_checkpoint);
        assert_eq!(options.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        let rendered = toml::to_string(&bucket).expect("renders");
        assert!(
            rendered.contains("collect_partials = true") && !rendered.contains("conditional"),
            "{rendered}"
        );
        let unconditional: Config =
            toml::from_str("origin = \"o\"\n[log]\nconditional_checkpoint = false\n")
                .expect("parses");
        assert!(!unconditional.log.object_options().conditional_checkpoint);
    }
}
