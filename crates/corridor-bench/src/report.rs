//! The results table and `results.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

/// One benchmark figure beside its baseline.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub name: String,
    pub value: f64,
    pub unit: String,
    /// What the figure is compared with, including its SQL or code.
    pub baseline: String,
    pub baseline_value: Option<f64>,
    pub ratio: Option<f64>,
    /// The target, as text (`ratio >= 0.5`).
    pub target: Option<String>,
    pub met: Option<bool>,
}

impl BenchResult {
    /// A figure with no baseline of its own (it is the baseline of another).
    pub fn plain(name: &str, value: f64, unit: &str, baseline: &str) -> BenchResult {
        BenchResult {
            name: name.into(),
            value,
            unit: unit.into(),
            baseline: baseline.into(),
            baseline_value: None,
            ratio: None,
            target: None,
            met: None,
        }
    }

    /// This figure with the target "at most `limit`".
    pub fn at_most(self, limit: f64) -> BenchResult {
        BenchResult {
            target: Some(format!("<= {limit}")),
            met: Some(self.value <= limit),
            ..self
        }
    }

    /// This figure with the target "below `limit`".
    pub fn below(self, limit: f64) -> BenchResult {
        BenchResult {
            target: Some(format!("< {limit}")),
            met: Some(self.value < limit),
            ..self
        }
    }

    /// This figure with the target "at least `limit`".
    pub fn at_least(self, limit: f64) -> BenchResult {
        BenchResult {
            target: Some(format!(">= {limit}")),
            met: Some(self.value >= limit),
            ..self
        }
    }

    /// Every figure of `figures` (name and unit) marked missing for
    /// `reason` (no server to measure against): unmet, as the issue counts
    /// a figure that was not measured.
    pub fn missing(figures: &[(&str, &str)], reason: &str) -> Vec<BenchResult> {
        figures
            .iter()
            .map(|(name, unit)| BenchResult {
                target: Some("measured".into()),
                met: Some(false),
                ..BenchResult::plain(name, 0.0, unit, &format!("MISSING: {reason}"))
            })
            .collect()
    }

    /// A ratio against a baseline with a minimum target.
    pub fn ratio(
        name: &str,
        value: f64,
        baseline: &str,
        baseline_value: f64,
        minimum: f64,
    ) -> BenchResult {
        let ratio = if baseline_value > 0.0 {
            value / baseline_value
        } else {
            0.0
        };
        BenchResult {
            name: name.into(),
            value: ratio,
            unit: "ratio".into(),
            baseline: baseline.into(),
            baseline_value: Some(baseline_value),
            ratio: Some(ratio),
            target: Some(format!(">= {minimum}")),
            met: Some(ratio >= minimum),
        }
    }
}

pub fn table(results: &[BenchResult]) -> String {
    let mut out = format!(
        "{:<32} {:>14} {:<10} {:>10} {:>10} {:>5}\n",
        "name", "value", "unit", "ratio", "target", "met"
    );
    for result in results {
        let ratio = result
            .ratio
            .map_or(String::new(), |ratio| format!("{ratio:.2}"));
        let met = match result.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        out.push_str(&format!(
            "{:<32} {:>14.2} {:<10} {:>10} {:>10} {:>5}\n",
            result.name,
            result.value,
            result.unit,
            ratio,
            result.target.clone().unwrap_or_default(),
            met
        ));
    }
    out
}

pub fn write_json(directory: &Path, results: &[BenchResult]) -> Result<PathBuf> {
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    let path = directory.join("results.json");
    let text = serde_json::to_string_pretty(results)?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Refuses to start a benchmark that would fill the disk.
pub fn require_free_disk(directory: &Path, bytes: u64) -> Result<()> {
    let output = std::process::Command::new("df")
        .arg("--output=avail")
        .arg("-B1")
        .arg(directory)
        .output()
        .context("running df to check free disk space")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let available: u64 = text
        .lines()
        .nth(1)
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or(0);
    if available < bytes {
        anyhow::bail!(
            "{} has {} GiB free; the full benchmark needs {} GiB",
            directory.display(),
            available >> 30,
            bytes >> 30
        );
    }
    Ok(())
}
