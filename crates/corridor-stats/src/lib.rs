//! Period statistics over the store's rollups, and everything computed from
//! them: coverage, baselines and the access index, claim verdicts, period
//! reports and their renderings.
//!
//! Results are typed values ([`StatsReport`], [`claims::ClaimVerdict`],
//! [`report::Report`]) that pages read field by field; JSON is made only when
//! one is serialized, at the CLI and HTTP edges. A metric with no data is
//! `None` (`null`), never `0`: "no passenger counts were reported" and "no
//! passengers" are different statements.
//!
//! This file only declares modules and re-exports: each thing lives with its owner.

pub mod access;
mod baselines;
pub mod claims;
mod compute;
pub mod coverage;
mod error;
pub mod flow;
pub mod numbers;
mod query;
mod render;
pub mod report;
pub mod report_html;
pub mod snapshot;
mod table;

pub use compute::compute;
pub use error::StatsError;
pub use query::{MAX_PERIOD_DAYS, StatsDimension, StatsQuery};
pub use render::{csv_field, render_csv, render_table};
pub use table::{Expected, Figures, METRICS, StatsReport, StatsRow};
