//! The record model: what Corridor records, how each record is validated, and
//! its canonical byte form (the leaf the transparency log commits to).
//!
//! Pure: no I/O. The store, the importer, the server and the verifier all read
//! and write records through this crate, so a record means the same thing
//! everywhere.

pub mod canonical;
pub mod error;
pub mod fast_leaf;
pub mod json;
pub mod jsonl;
pub mod leaf;
pub mod parse;
pub mod record;
pub mod schema;
pub mod time;
pub mod vocab;

pub use error::{Location, RecordError};
pub use parse::{FieldError, Resolve, Submission, parse_submission};
pub use record::*;
pub use time::{SubmittedTime, Time};
pub use vocab::*;
