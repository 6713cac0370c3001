//! RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes a record's log leaf commits to.
//!
//! Every Corridor record enters the transparency log as the RFC 8785 canonical
//! form of a JSON object, so two implementations that disagree on a single byte
//! here produce different leaf hashes and an unverifiable log. The rules, by
//! section of RFC 8785:
//!
//! - §3.2.1: no whitespace between tokens.
//! - §3.2.2.1: `null`, `true` and `false` as themselves.
//! - §3.2.2.2: strings escape only `"`, `\` and U+0000..U+001F; the five
//!   controls with a short form use it (`\b \t \n \f \r`), the rest use
//!   lowercase `\u00xx`; everything else, including U+007F, U+2028 and
//!   non-ASCII, is written as literal UTF-8.
//! - §3.2.2.3: numbers are IEEE-754 doubles written with ECMAScript's
//!   Number-to-String algorithm (done here by `ryu_js`). An integer that
//!   `serde_json` holds as `i64`/`u64` is written exactly as its double would
//!   be. Beyond ±2^53 (RFC 7493 §2.2) that can change its digits, and such an
//!   integer is rejected rather than logged as a different number.
//! - §3.2.3: object members sorted by the UTF-16 code units of their names,
//!   recursively; array order is kept.
//! - §3.2.4: the output is UTF-8.
//!
//! `serde_json::Value` already rules out what RFC 8785 §3.1 forbids in the
//! input: duplicate member names, lone surrogates and non-finite numbers.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Number, Value};

/// Why a value has no RFC 8785 canonical form.
///
/// Every variant names the JSON path of the offending value, rendered like
/// `record.passages[3]["door id"]`, so an import error points at the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// An integer beyond ±2^53 whose digits would change on the way through
    /// an IEEE-754 double, the only number type RFC 8785 §3.2.2.3 knows.
    #[error(
        "{path}: integer {value} is outside the exactly representable range ±2^53 \
         and would change to {canonical}"
    )]
    IntegerOutOfRange {
        /// Where the integer sits in the document.
        path: String,
        /// The integer as `serde_json` held it.
        value: Number,
        /// What canonicalization would have written instead.
        canonical: String,
    },
    /// A number that has no finite double value at all. Plain `serde_json`
    /// never builds one; it can appear only if the workspace turns on
    /// `serde_json`'s `arbitrary_precision` feature, which keeps numbers as text.
    #[error("{path}: number {value} has no finite IEEE-754 double value")]
    NumberNotRepresentable {
        /// Where the number sits in the document.
        path: String,
        /// The number as `serde_json` held it.
        value: Number,
    },
}

impl CanonicalError {
    /// The JSON path of the value that could not be canonicalized.
    pub fn path(&self) -> &str {
        match self {
            Self::IntegerOutOfRange { path, .. } | Self::NumberNotRepresentable { path, .. } => {
                path
            }
        }
    }
}

/// Returns the RFC 8785 canonical UTF-8 bytes of `value`.
///
/// # Errors
///
/// [`CanonicalError::IntegerOutOfRange`] if an integer in `value` has a
/// magnitude above 2^53 and its digits would change on the way through an
/// IEEE-754 double (see [`write_canonical`]), naming the first one met in
/// canonical order.
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_canonical(value, &mut out)?;
    Ok(out)
}

/// Appends the RFC 8785 canonical UTF-8 bytes of `value` to `out`.
///
/// Made for bulk work: reuse one buffer across records, and the only
/// allocations are `out` growing and, for an object whose members are not
/// already in UTF-16 order, one vector of references to sort.
///
/// # Errors
///
/// [`CanonicalError::IntegerOutOfRange`] if an integer in `value` has a
/// magnitude above 2^53 and would not be written with its own digits: an
/// integer is written as its nearest double, and RFC 8785 writes a double
/// with the shortest digits that identify it, so 9007199254740993 would
/// become 9007199254740992. On error `out` is truncated back to the length it had
/// on entry, so a half-written record never reaches a caller that ignores it.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    let start = out.len();
    let result = write_value(value, &Path::Root, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Where the value being written sits, kept as a chain of stack frames so the
/// happy path never allocates; it is rendered to text only for an error.
#[derive(Debug, Clone, Copy)]
enum Path<'a> {
    Root,
    Member { parent: &'a Path<'a>, name: &'a str },
    Element { parent: &'a Path<'a>, index: usize },
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("<root>"),
            Path::Member { parent, name } => {
                if !matches!(parent, Path::Root) {
                    fmt::Display::fmt(parent, f)?;
                }
                if is_bare_name(name) {
                    if !matches!(parent, Path::Root) {
                        f.write_str(".")?;
                    }
                    f.write_str(name)
                } else {
                    // A name with dots, spaces or quotes is shown as a JSON
                    // string so the path stays unambiguous.
                    let mut quoted = Vec::with_capacity(name.len() + 2);
                    write_string(name, &mut quoted);
                    write!(f, "[{}]", String::from_utf8_lossy(&quoted))
                }
            }
            Path::Element { parent, index } => {
                if !matches!(parent, Path::Root) {
                    fmt::Display::fmt(parent, f)?;
                }
                write!(f, "[{index}]")
            }
        }
    }
}

/// Whether a member name can be shown in a path without quoting.
fn is_bare_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

fn write_value(value: &Value, path: &Path<'_>, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, path, out)?,
        Value::String(string) => write_string(string, out),
        Value::Array(elements) => {
            out.push(b'[');
            for (index, element) in elements.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(
                    element,
                    &Path::Element {
                        parent: path,
                        index,
                    },
                    out,
                )?;
            }
            out.push(b']');
        }
        Value::Object(members) => write_object(members, path, out)?,
    }
    Ok(())
}

/// Writes an object with its members in RFC 8785 §3.2.3 order.
fn write_object(
    members: &Map<String, Value>,
    path: &Path<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    out.push(b'{');
    // serde_json's default map iterates in UTF-8 byte order, which already is
    // UTF-16 order unless names mix U+E000..U+FFFF with astral characters, so
    // checking first usually saves the sort and its allocation.
    let mut names = members.keys();
    let already_sorted = match names.next() {
        None => true,
        Some(first) => {
            let mut previous = first;
            names.all(|name| {
                let in_order = utf16_cmp(previous, name) == Ordering::Less;
                previous = name;
                in_order
            })
        }
    };
    if already_sorted {
        for (position, (name, value)) in members.iter().enumerate() {
            write_member(position, name, value, path, out)?;
        }
    } else {
        let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
        // Names are unique (a JSON object in serde_json cannot repeat one), so
        // an unstable sort gives the one and only order.
        sorted.sort_unstable_by(|(left, _), (right, _)| utf16_cmp(left, right));
        for (position, (name, value)) in sorted.into_iter().enumerate() {
            write_member(position, name, value, path, out)?;
        }
    }
    out.push(b'}');
    Ok(())
}

fn write_member(
    position: usize,
    name: &str,
    value: &Value,
    path: &Path<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    if position > 0 {
        out.push(b',');
    }
    write_string(name, out);
    out.push(b':');
    write_value(value, &Path::Member { parent: path, name }, out)
}

/// Compares two strings by their UTF-16 code units (RFC 8785 §3.2.3) without
/// transcoding them.
///
/// UTF-8 byte order equals code point order, and UTF-16 order differs from
/// code point order in one place only: U+E000..U+FFFF (one code unit,
/// 0xE000..0xFFFF) sort after U+10000 and above (a surrogate pair starting at
/// 0xD800..0xDBFF). In UTF-8 the first group are exactly the characters whose
/// lead byte is 0xEE or 0xEF, and astral characters lead with 0xF0..0xF4. So
/// compare bytes, but rank 0xEE and 0xEF above every 4-byte lead.
///
/// At the first differing byte the two strings share every earlier byte, so
/// that byte is either the lead byte of a character in both strings (and the
/// ranking applies) or a continuation byte in both (same lead, same length,
/// and plain byte order is code point order, which there is UTF-16 order).
/// Continuation bytes are 0x80..0xBF and never hit the re-ranking.
fn utf16_cmp(left: &str, right: &str) -> Ordering {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    match left.iter().zip(right).position(|(l, r)| l != r) {
        Some(index) => utf16_rank(left[index]).cmp(&utf16_rank(right[index])),
        // One is a prefix of the other, in bytes and so in code units too.
        None => left.len().cmp(&right.len()),
    }
}

/// A UTF-8 byte's rank for [`utf16_cmp`]: its value, except that the lead
/// bytes of U+E000..U+FFFF move above the astral lead bytes 0xF0..0xF4.
fn utf16_rank(byte: u8) -> u16 {
    match byte {
        0xEE | 0xEF => u16::from(byte) + 0x100,
        _ => u16::from(byte),
    }
}

/// 2^53: up to here every integer is an IEEE-754 double (RFC 7493 §2.2).
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Writes a number per RFC 8785 §3.2.2.3 (ECMAScript Number::toString).
fn write_number(number: &Number, path: &Path<'_>, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    // Integers are checked before floats because `as_f64` also accepts them,
    // rounding away exactly the digits the range check protects.
    if let Some(unsigned) = number.as_u64() {
        write_integer(false, unsigned, number, path, out)
    } else if let Some(signed) = number.as_i64() {
        // `as_u64` took every non-negative integer, so this one is negative.
        write_integer(true, signed.unsigned_abs(), number, path, out)
    } else {
        match number.as_f64() {
            Some(double) if double.is_finite() => {
                write_double(double, out);
                Ok(())
            }
            _ => Err(CanonicalError::NumberNotRepresentable {
                path: path.to_string(),
                value: number.clone(),
            }),
        }
    }
}

/// Writes an integer as its double would be written, refusing one whose
/// digits would change.
///
/// Up to 2^53 the double is the integer itself and ECMAScript writes it as its
/// plain digits. Beyond 2^53 the integer is first rounded to a double, and
/// ECMAScript writes the shortest digits that round back to it, so
/// 9007199254740993 would be logged as 9007199254740992, a different count
/// or identifier. Those are refused.
///
/// The few beyond 2^53 whose digits survive, such as 1000000000000000000 or
/// 1152921504606847000 (the canonical text of the double 2^60), are kept:
/// they are exactly what this module writes for those doubles, and refusing
/// them would make canonical output fail to canonicalize again when re-read.
fn write_integer(
    negative: bool,
    magnitude: u64,
    number: &Number,
    path: &Path<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    let sign = if negative { "-" } else { "" };
    if magnitude <= MAX_EXACT_INTEGER {
        out.extend_from_slice(sign.as_bytes());
        write_decimal(magnitude, out);
        return Ok(());
    }
    // Beyond 2^53: `as` rounds to the nearest double, ties to even, which is
    // what an ECMAScript parser does with the same digits.
    let mut buffer = ryu_js::Buffer::new();
    let canonical = buffer.format_finite(magnitude as f64);
    let mut digits = Vec::with_capacity(20);
    write_decimal(magnitude, &mut digits);
    if canonical.as_bytes() == digits.as_slice() {
        out.extend_from_slice(sign.as_bytes());
        out.extend_from_slice(&digits);
        Ok(())
    } else {
        Err(CanonicalError::IntegerOutOfRange {
            path: path.to_string(),
            value: number.clone(),
            canonical: format!("{sign}{canonical}"),
        })
    }
}

/// Writes a finite double with ECMAScript's Number::toString.
fn write_double(double: f64, out: &mut Vec<u8>) {
    if double == 0.0 {
        // ECMAScript writes both +0 and -0 as "0"; handled here rather than
        // trusting the formatter with the sign of zero.
        out.push(b'0');
    } else {
        let mut buffer = ryu_js::Buffer::new();
        out.extend_from_slice(buffer.format_finite(double).as_bytes());
    }
}

/// Writes `value` in decimal without going through `fmt`.
fn write_decimal(mut value: u64, out: &mut Vec<u8>) {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        // `value % 10` is below 10, so the cast cannot truncate.
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Writes a string per RFC 8785 §3.2.2.2, copying unescaped runs in one go.
/// Appends a JSON string in RFC 8785 form (§3.2.2.2), for callers that
/// write canonical objects directly.
pub fn write_string(string: &str, out: &mut Vec<u8>) {
    const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = string.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run_start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        // Every byte of a multi-byte UTF-8 sequence is 0x80 or above, so
        // checking bytes never splits a character.
        if byte >= 0x20 && byte != b'"' && byte != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[run_start..index]);
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x0D => out.extend_from_slice(b"\\r"),
            control => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_DIGITS[usize::from(control >> 4)],
                HEX_DIGITS[usize::from(control & 0x0F)],
            ]),
        }
        run_start = index + 1;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Characters on both sides of every boundary the comparison cares about:
    /// ASCII, 2-byte, 3-byte below and above the surrogate gap, and astral.
    fn boundary_char() -> impl Strategy<Value = char> {
        prop::sample::select(vec![
            'a',
            'b',
            '\u{7f}',
            '\u{80}',
            '\u{7ff}',
            '\u{800}',
            '\u{d7ff}',
            '\u{e000}',
            '\u{fb33}',
            '\u{ffff}',
            '\u{10000}',
            '\u{1f600}',
            '\u{10ffff}',
        ])
    }

    fn boundary_string() -> impl Strategy<Value = String> {
        prop::collection::vec(boundary_char(), 0..5).prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn utf16_cmp_matches_comparing_utf16_code_units(
            left in prop_oneof![boundary_string(), any::<String>()],
            right in prop_oneof![boundary_string(), any::<String>()],
        ) {
            prop_assert_eq!(
                utf16_cmp(&left, &right),
                left.encode_utf16().cmp(right.encode_utf16())
            );
        }
    }

    #[test]
    fn utf16_cmp_puts_astral_characters_before_the_top_of_the_bmp() {
        // Code point order says U+FB33 < U+1F600; UTF-16 says 0xFB33 > 0xD83D.
        assert_eq!(utf16_cmp("\u{1f600}", "\u{fb33}"), Ordering::Less);
        assert_eq!(utf16_cmp("\u{fb33}", "\u{1f600}"), Ordering::Greater);
        assert_eq!(utf16_cmp("\u{d7ff}", "\u{10000}"), Ordering::Less);
        assert_eq!(utf16_cmp("ab", "abc"), Ordering::Less);
        assert_eq!(utf16_cmp("abc", "abc"), Ordering::Equal);
    }

    #[test]
    fn path_renders_names_bare_or_quoted_and_indices_in_brackets() {
        let root = Path::Root;
        let record = Path::Member {
            parent: &root,
            name: "record",
        };
        let passages = Path::Member {
            parent: &record,
            name: "passages",
        };
        let third = Path::Element {
            parent: &passages,
            index: 3,
        };
        let door = Path::Member {
            parent: &third,
            name: "door id",
        };
        assert_eq!(root.to_string(), "<root>");
        assert_eq!(record.to_string(), "record");
        assert_eq!(door.to_string(), r#"record.passages[3]["door id"]"#);
        let top_element = Path::Element {
            parent: &root,
            index: 0,
        };
        assert_eq!(top_element.to_string(), "[0]");
    }

    #[test]
    fn write_decimal_writes_zero_and_the_largest_u64() {
        let mut out = Vec::new();
        write_decimal(0, &mut out);
        out.push(b' ');
        write_decimal(u64::MAX, &mut out);
        assert_eq!(out, b"0 18446744073709551615");
    }
}
