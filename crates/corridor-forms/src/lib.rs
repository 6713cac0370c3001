//! Field forms: the XLSForm of a passage tally for KoBoToolbox and ODK Collect, made from corridor-model's vocabularies and the store's sites, and the import mapping for its CSV exports.
//!
//! Invariants:
//! - Pure: the caller passes the sites, the version and every other input;
//!   the crate reads no store, no clock and no file. The workbook is written
//!   to memory.
//! - The form and its mapping come from the same question list
//!   ([`xlsform::passage_form`]), so an export of the form imports with the
//!   mapping unedited; `tests/samples.rs` imports synthesized exports of both
//!   layouts and `tests/pyxform.rs` converts the form with pyxform.
//! - Choice names are the model's wire tokens, so exports need no value maps.

pub mod import_mapping;
pub mod vocabulary;
pub mod workbook;
pub mod xlsform;

pub use import_mapping::{ExportLayout, import_mapping};
pub use workbook::xlsx_bytes;
pub use xlsform::{FormError, FormRequest, FormSite, XlsForm, passage_form};
