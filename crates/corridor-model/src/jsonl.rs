//! The one JSON Lines reader: `corridor add`, the HTTP API's JSON Lines
//! bodies and the benchmark all read records through it, so the same bytes
//! get the same records and the same errors everywhere.
//!
//! The rules, line by line: a UTF-8 byte-order mark at the start of a line
//! is dropped (files saved by Windows editors begin with one, and so does
//! each part of files joined with `cat`); surrounding whitespace, the `\r`
//! of CRLF line ends included, is ignored; blank lines are skipped but still
//! counted, so line numbers are those an editor shows; the last line needs
//! no newline. A line that is longer than [`MAX_LINE_BYTES`], not UTF-8, not
//! JSON, not an object, or an object with a key given twice, is an error of
//! that line, and reading goes on with the next.

use std::io::{BufRead, Read};

use serde_json::{Map, Value};

use crate::error::{Location, RecordError};
use crate::json::parse_value;
use crate::parse::FieldError;

/// The longest line read, in bytes (newline excluded); a longer line is an
/// error of its own and is skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// What one line gives: a record object with its line, or the line's error.
pub type LineItem = Result<(Location, Map<String, Value>), RecordError>;

/// Reads JSON Lines from `reader`; see the module documentation for the rules.
///
/// Yields `Ok(item)` per non-blank line, and `Err` once if reading fails
/// (then nothing more).
#[derive(Debug)]
pub struct JsonLines<R> {
    reader: R,
    line_number: u64,
    buffer: Vec<u8>,
    failed: bool,
}

impl<R: BufRead> JsonLines<R> {
    pub fn new(reader: R) -> JsonLines<R> {
        JsonLines {
            reader,
            line_number: 0,
            buffer: Vec::new(),
            failed: false,
        }
    }

    /// The number of the last line read (blank lines included).
    pub fn line_number(&self) -> u64 {
        self.line_number
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = std::io::Result<LineItem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            self.buffer.clear();
            let read = Read::take(&mut self.reader, MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buffer);
            match read {
                Ok(0) => return None,
                Ok(_) => {}
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
            self.line_number += 1;
            let location = Location::Line(self.line_number);
            let content = self.buffer.strip_suffix(b"\n").unwrap_or(&self.buffer);
            if content.len() > MAX_LINE_BYTES {
                // Skip the rest of the oversized line without holding it in memory.
                if !self.buffer.ends_with(b"\n")
                    && let Err(error) = self.reader.skip_until(b'\n')
                {
                    self.failed = true;
                    return Some(Err(error));
                }
                return Some(Ok(Err(line_error(
                    location,
                    format!("longer than {MAX_LINE_BYTES} bytes"),
                ))));
            }
            let text = match std::str::from_utf8(content) {
                Ok(text) => text.trim_start_matches('\u{feff}').trim(),
                Err(error) => {
                    return Some(Ok(Err(line_error(
                        location,
                        format!("not UTF-8 (byte {})", error.valid_up_to() + 1),
                    ))));
                }
            };
            if text.is_empty() {
                continue;
            }
            return Some(Ok(match parse_value(text.as_bytes()) {
                Ok(parsed) => parsed
                    .into_record_object(location.clone())
                    .map(|object| (location, object)),
                Err(error) => Err(line_error(location, format!("not valid JSON: {error}"))),
            }));
        }
    }
}

/// An error of a whole line (no record, no field).
fn line_error(location: Location, reason: String) -> RecordError {
    RecordError {
        location,
        record_type: None,
        id: None,
        error: FieldError {
            field: String::new(),
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line's outcome: `N: {object}` or the error as displayed.
    fn read(bytes: &[u8]) -> Vec<String> {
        JsonLines::new(bytes)
            .map(|item| match item.expect("reading memory cannot fail") {
                Ok((location, object)) => format!("{location}: {}", Value::Object(object)),
                Err(error) => error.to_string(),
            })
            .collect()
    }

    #[test]
    fn bom_crlf_blank_lines_and_a_missing_final_newline_are_read_alike() {
        let expected = ["line 1: {\"a\":1}", "line 3: {\"b\":2}"];
        for bytes in [
            &b"{\"a\":1}\n\n{\"b\":2}\n"[..],
            b"\xef\xbb\xbf{\"a\":1}\r\n\r\n{\"b\":2}\r\n",
            b"{\"a\":1}\n   \t\n{\"b\":2}",
            b"{\"a\":1}\r\n\xef\xbb\xbf\r\n\xef\xbb\xbf{\"b\":2}",
        ] {
            assert_eq!(
                read(bytes),
                expected,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(read(b"").is_empty());
        assert!(read(b"\n\r\n").is_empty());
    }

    #[test]
    fn a_bad_line_is_an_error_of_that_line_and_reading_goes_on() {
        assert_eq!(
            read(b"[1]\n{\"a\":\xff}\n{\"a\":1,}\n{\"a\":1,\"a\":2}\n{\"ok\":true}\n"),
            [
                "line 1: not a JSON object",
                "line 2: not UTF-8 (byte 6)",
                "line 3: not valid JSON: trailing comma at line 1 column 8",
                "line 4: a: appears more than once in the same object; give each key once",
                "line 5: {\"ok\":true}",
            ]
        );
    }

    #[test]
    fn an_oversized_line_is_refused_and_skipped() {
        let mut bytes = b"{\"n\":\"".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES));
        bytes.extend_from_slice(b"\"}\n{\"a\":1}\n");
        assert_eq!(
            read(&bytes),
            [
                format!("line 1: longer than {MAX_LINE_BYTES} bytes"),
                "line 2: {\"a\":1}".to_string(),
            ]
        );
        // Exactly at the limit is fine, newline or not.
        let mut exact = b"{\"n\":\"".to_vec();
        exact.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES - 8));
        exact.extend_from_slice(b"\"}");
        assert_eq!(exact.len(), MAX_LINE_BYTES);
        assert_eq!(read(&exact).len(), 1);
        assert!(read(&exact)[0].starts_with("line 1: {"));
        exact.extend_from_slice(b"\r\n");
        assert!(read(&exact)[0].starts_with("line 1: longer than"));
    }
}
