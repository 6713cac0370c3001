//! Writes an [`XlsForm`]'s sheets into an xlsx workbook (rust_xlsxwriter), every cell as text.

use rust_xlsxwriter::{Format, Workbook};

use crate::xlsform::{FormError, XlsForm};

/// The xlsx file of the form, ready to upload to KoBoToolbox or ODK Central.
///
/// # Errors
///
/// [`FormError::Xlsx`] when the workbook cannot be assembled (a sheet name or
/// a cell the format refuses).
pub fn xlsx_bytes(form: &XlsForm) -> Result<Vec<u8>, FormError> {
    let mut workbook = Workbook::new();
    let header = Format::new().set_bold();
    for sheet in form.sheets() {
        let worksheet = workbook.add_worksheet();
        worksheet.set_name(sheet.name).map_err(FormError::Xlsx)?;
        for (row_index, row) in sheet.rows.iter().enumerate() {
            let row_number = u32::try_from(row_index)
                .map_err(|_| FormError::Xlsx(rust_xlsxwriter::XlsxError::RowColumnLimitError))?;
            for (column_index, cell) in row.iter().enumerate() {
                if cell.is_empty() {
                    continue;
                }
                let column_number = u16::try_from(column_index).map_err(|_| {
                    FormError::Xlsx(rust_xlsxwriter::XlsxError::RowColumnLimitError)
                })?;
                if row_index == 0 {
                    worksheet
                        .write_string_with_format(row_number, column_number, cell, &header)
                        .map_err(FormError::Xlsx)?;
                } else {
                    worksheet
                        .write_string(row_number, column_number, cell)
                        .map_err(FormError::Xlsx)?;
                }
            }
        }
        // The header stays in view while a form designer scrolls.
        worksheet.set_freeze_panes(1, 0).map_err(FormError::Xlsx)?;
    }
    workbook.save_to_buffer().map_err(FormError::Xlsx)
}
