//! Turning one cell's text into a record value: numbers written with local separators, and dates and times in a strptime format.

use jiff::civil::{Date, DateTime};
use jiff::fmt::strtime::BrokenDownTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};

/// What is wrong with a cell's value. The importer renders it with the value
/// (`"18,13" is not a number`) or, for private fields, without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueProblem {
    /// Says what is wrong, written to follow the value: "is not a number".
    pub(crate) problem: String,
}

impl ValueProblem {
    pub(crate) fn new(problem: impl Into<String>) -> ValueProblem {
        ValueProblem {
            problem: problem.into(),
        }
    }
}

/// How numbers are written in a file or a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumberFormat {
    pub(crate) decimal_separator: char,
    pub(crate) thousands_separator: Option<char>,
}

/// A number as written, split into its parts, separators removed.
#[derive(Debug, PartialEq, Eq)]
struct WrittenNumber {
    negative: bool,
    integer_digits: String,
    fraction_digits: String,
}

impl NumberFormat {
    /// Reads a whole number. A fraction of zeros (`12.0`, as spreadsheets and
    /// pandas write integers) is accepted; any other fraction is refused rather
    /// than rounded, so that no count is silently changed.
    pub(crate) fn parse_integer(&self, text: &str) -> Result<i64, ValueProblem> {
        let written = self.split(text)?;
        if written.fraction_digits.chars().any(|digit| digit != '0') {
            return Err(ValueProblem::new("is not a whole number"));
        }
        let mut canonical = written.integer_digits;
        if written.negative {
            canonical.insert(0, '-');
        }
        canonical
            .parse::<i64>()
            .map_err(|_| ValueProblem::new("is too large for a whole number"))
    }

    /// Reads a number, keeping it whole (`18137`) when it was written without
    /// a fraction so that JSON output stays exact.
    pub(crate) fn parse_number(&self, text: &str) -> Result<serde_json::Number, ValueProblem> {
        let written = self.split(text)?;
        let sign = if written.negative { "-" } else { "" };
        if written.fraction_digits.is_empty()
            && let Ok(whole) = format!("{sign}{}", written.integer_digits).parse::<i64>()
        {
            return Ok(serde_json::Number::from(whole));
        }
        let canonical = format!(
            "{sign}{}.{}",
            written.integer_digits,
            if written.fraction_digits.is_empty() {
                "0"
            } else {
                &written.fraction_digits
            }
        );
        canonical
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .ok_or_else(|| ValueProblem::new("is too large for a number"))
    }

    fn describe(&self) -> String {
        let decimal = self.decimal_separator;
        match self.thousands_separator {
            Some(thousands) => format!(
                "decimal separator {decimal:?}, thousands separator {}",
                describe_separator(thousands)
            ),
            None => format!("decimal separator {decimal:?}, no thousands separator"),
        }
    }

    /// Whether a character separates thousands. A space separator also accepts
    /// the no-break spaces that spreadsheets in French or Russian locales write.
    fn is_thousands_separator(&self, character: char) -> bool {
        match self.thousands_separator {
            Some(' ') => matches!(character, ' ' | '\u{a0}' | '\u{202f}'),
            Some(separator) => character == separator,
            None => false,
        }
    }

    fn split(&self, text: &str) -> Result<WrittenNumber, ValueProblem> {
        let not_a_number = || ValueProblem::new(format!("is not a number ({})", self.describe()));
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (integer_part, fraction_part) = match unsigned.split_once(self.decimal_separator) {
            Some((integer_part, fraction_part)) => (integer_part, Some(fraction_part)),
            None => (unsigned, None),
        };
        let fraction_digits = match fraction_part {
            Some(fraction)
                if !fraction.is_empty() && fraction.chars().all(|c| c.is_ascii_digit()) =>
            {
                fraction.to_owned()
            }
            Some(_) => return Err(not_a_number()),
            None => String::new(),
        };
        let groups: Vec<&str> = integer_part
            .split(|character| self.is_thousands_separator(character))
            .collect();
        if groups
            .iter()
            .any(|group| group.is_empty() || !group.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(not_a_number());
        }
        // Thousands groups are checked strictly: "1,5" in a file declared with
        // thousands separator "," is far more likely a decimal comma than 15.
        if groups.len() > 1
            && (groups[0].len() > 3 || groups[1..].iter().any(|group| group.len() != 3))
        {
            return Err(ValueProblem::new(format!(
                "is not a number: digits between thousands separators ({}) must come in groups of three",
                self.thousands_separator
                    .map(describe_separator)
                    .unwrap_or_default()
            )));
        }
        Ok(WrittenNumber {
            negative,
            integer_digits: groups.concat(),
            fraction_digits,
        })
    }
}

fn describe_separator(separator: char) -> String {
    match separator {
        ' ' => "space".to_owned(),
        other => format!("{other:?}"),
    }
}

/// What a time format yields, known when the mapping is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimePrecision {
    /// `YYYY-MM-DD`: the source gives only a day.
    Day,
    /// A date and a time of day.
    DateTime,
}

/// How one time field is read: its strptime format, an optional separate time
/// column's format, and an optional time zone for local times.
#[derive(Debug, Clone)]
pub(crate) struct TimeFormat {
    /// Tried in order; the first that reads the value is used.
    pub(crate) formats: Vec<String>,
    pub(crate) time_format: Option<String>,
    pub(crate) timezone: Option<(String, TimeZone)>,
}

/// A fixed moment used to check a format when the mapping is read: a format
/// that can print it and read it back is usable.
fn sample_moment() -> Result<jiff::ZonedDateTime, String> {
    let time_zone = TimeZone::get("Asia/Baku").map_err(|error| error.to_string())?;
    let date = Date::new(2023, 6, 14).map_err(|error| error.to_string())?;
    date.at(8, 30, 15, 0)
        .to_zoned_datetime(time_zone)
        .map_err(|error| error.to_string())
}

/// Checks a strptime format when the mapping is read. Returns the precision it
/// yields; `needs_date` is false for the format of a separate time column.
pub(crate) fn check_time_format(format: &str, needs_date: bool) -> Result<TimePrecision, String> {
    let sample = sample_moment()?;
    let mut printed = String::new();
    BrokenDownTime::from(&sample)
        .format(format, &mut printed)
        .map_err(|error| format!("{format:?} is not a usable strptime format: {error}"))?;
    let parsed = BrokenDownTime::parse(format, &printed)
        .map_err(|error| format!("{format:?} cannot read back what it writes: {error}"))?;
    if needs_date && parsed.to_date().is_err() && parsed.timestamp().is_none() {
        return Err(format!(
            "{format:?} does not give a full date: it needs a year, a month and a day (e.g. %Y, %m and %d)"
        ));
    }
    if !needs_date && parsed.hour().is_none() {
        return Err(format!("{format:?} does not give an hour (e.g. %H)"));
    }
    Ok(if parsed.hour().is_some() || parsed.timestamp().is_some() {
        TimePrecision::DateTime
    } else {
        TimePrecision::Day
    })
}

impl TimeFormat {
    /// Reads a date, or a date and time, and writes it in a form of
    /// docs/records.md "Times": `YYYY-MM-DD`, a local `YYYY-MM-DDTHH:MM:SS`
    /// (read by the engine in the site's time zone), or an RFC 3339 instant when
    /// the value has an offset or the field names a time zone.
    pub(crate) fn convert(
        &self,
        date_text: &str,
        time_text: Option<&str>,
    ) -> Result<String, ValueProblem> {
        let (date_part, date_format) = self.parse_date_part(date_text)?;
        if date_part.timestamp().is_some() {
            let timestamp = date_part.to_timestamp().map_err(|error| {
                ValueProblem::new(format!("is not a valid time: {}", first_line(&error)))
            })?;
            let time_zone = self
                .timezone
                .as_ref()
                .map_or(TimeZone::UTC, |(_, time_zone)| time_zone.clone());
            return Ok(write_instant(&timestamp.to_zoned_datetime(time_zone)));
        }
        let date = date_part.to_date().map_err(|error| {
            ValueProblem::new(format!("is not a valid date: {}", first_line(&error)))
        })?;
        let separate_time_part;
        let (time_part, time_format) = match (time_text, &self.time_format) {
            (Some(time_text), Some(time_format)) => {
                separate_time_part = parse_with(time_format, time_text)?;
                (Some(&separate_time_part), time_format)
            }
            _ if date_part.hour().is_some() => (Some(&date_part), date_format),
            _ => (None, date_format),
        };
        let Some(time_part) = time_part else {
            return Ok(write_date(date));
        };
        let time = time_part.to_time().map_err(|error| {
            ValueProblem::new(format!(
                "is not a valid time of day for {time_format:?}: {}",
                first_line(&error)
            ))
        })?;
        let date_time = date.to_datetime(time);
        let offset = time_part.offset().or(date_part.offset());
        if let Some(offset) = offset {
            return instant_at_offset(date_time, offset);
        }
        match &self.timezone {
            Some((time_zone_name, time_zone)) => {
                let offset = single_offset(date_time, time_zone_name, time_zone)?;
                instant_at_offset(date_time, offset)
            }
            None => Ok(write_local(date_time)),
        }
    }
}

/// The offset a zone gives a wall-clock time, when it gives exactly one: the
/// rule (and the words) of `corridor_model::time::single_offset`, which
/// judges local times in JSON records. A time that a clock change skipped
/// or showed twice does not say which moment was meant.
fn single_offset(
    date_time: DateTime,
    time_zone_name: &str,
    time_zone: &TimeZone,
) -> Result<Offset, ValueProblem> {
    // `+04:00`, as records write offsets.
    let written = |offset: Offset| {
        let seconds = offset.seconds();
        let sign = if seconds < 0 { '-' } else { '+' };
        let magnitude = seconds.unsigned_abs();
        format!(
            "{sign}{:02}:{:02}",
            magnitude / 3600,
            (magnitude % 3600) / 60
        )
    };
    match time_zone.to_ambiguous_timestamp(date_time).offset() {
        AmbiguousOffset::Unambiguous { offset } => Ok(offset),
        AmbiguousOffset::Gap { before, after } => Err(ValueProblem::new(format!(
            "does not name a single moment in {time_zone_name}: the clocks skipped it (from {} to {}); give the time with an offset",
            written(before),
            written(after)
        ))),
        AmbiguousOffset::Fold { before, after } => Err(ValueProblem::new(format!(
            "does not name a single moment in {time_zone_name}: the clocks showed it twice (at {}, then at {}); give the time with an offset",
            written(before),
            written(after)
        ))),
    }
}

impl TimeFormat {
    fn parse_date_part(&self, text: &str) -> Result<(BrokenDownTime, &String), ValueProblem> {
        // Only a single format's error is shown; with several, the formats
        // that do not match are not worth rendering an error for, row by row.
        if let [format] = self.formats.as_slice() {
            return Ok((parse_with(format, text)?, format));
        }
        for format in &self.formats {
            if let Ok(parsed) = BrokenDownTime::parse(format, text) {
                return Ok((parsed, format));
            }
        }
        Err(ValueProblem::new(format!(
            "does not match any of the formats {}",
            self.formats
                .iter()
                .map(|format| format!("{format:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

fn parse_with(format: &str, text: &str) -> Result<BrokenDownTime, ValueProblem> {
    BrokenDownTime::parse(format, text).map_err(|error| {
        ValueProblem::new(format!(
            "does not match the format {format:?}: {}",
            first_line(&error)
        ))
    })
}

/// jiff errors chain their causes with ": "; the last cause is the one a data
/// manager can act on ("day 31 is not in 1..=28"), the rest is jiff's context.
fn first_line(error: &jiff::Error) -> String {
    let text = error.to_string();
    text.rsplit(": ").next().unwrap_or(&text).to_owned()
}

fn instant_at_offset(date_time: DateTime, offset: Offset) -> Result<String, ValueProblem> {
    let timestamp = offset
        .to_timestamp(date_time)
        .map_err(|error| ValueProblem::new(format!("is out of range: {}", first_line(&error))))?;
    Ok(write_instant(
        &timestamp.to_zoned_datetime(TimeZone::fixed(offset)),
    ))
}

fn write_date(date: Date) -> String {
    date.strftime("%Y-%m-%d").to_string()
}

fn write_local(date_time: DateTime) -> String {
    date_time.strftime("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

fn write_instant(zoned: &jiff::ZonedDateTime) -> String {
    zoned.strftime("%Y-%m-%dT%H:%M:%S%.f%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOT: NumberFormat = NumberFormat {
        decimal_separator: '.',
        thousands_separator: Some(','),
    };
    const COMMA: NumberFormat = NumberFormat {
        decimal_separator: ',',
        thousands_separator: Some('.'),
    };
    const SPACE: NumberFormat = NumberFormat {
        decimal_separator: ',',
        thousands_separator: Some(' '),
    };
    const PLAIN: NumberFormat = NumberFormat {
        decimal_separator: '.',
        thousands_separator: None,
    };

    fn number(format: NumberFormat, text: &str) -> Result<String, String> {
        format
            .parse_number(text)
            .map(|number| number.to_string())
            .map_err(|problem| problem.problem)
    }

    #[test]
    fn numbers_with_thousands_separators() {
        assert_eq!(number(DOT, "18,137"), Ok("18137".into()));
        assert_eq!(number(DOT, "1,218,137.25"), Ok("1218137.25".into()));
        assert_eq!(number(SPACE, "18 137"), Ok("18137".into()));
        assert_eq!(number(SPACE, "18\u{a0}137,5"), Ok("18137.5".into()));
        assert_eq!(number(COMMA, "18.137,5"), Ok("18137.5".into()));
        assert_eq!(number(COMMA, "-0,25"), Ok("-0.25".into()));
        assert_eq!(number(PLAIN, "+7"), Ok("7".into()));
    }

    #[test]
    fn thousands_groups_must_have_three_digits() {
        assert_eq!(
            number(DOT, "1,5"),
            Err("is not a number: digits between thousands separators (',') must come in groups of three".into())
        );
        assert!(number(DOT, "1234,567").is_err());
        assert!(number(DOT, ",567").is_err());
    }

    #[test]
    fn text_that_is_not_a_number_is_refused() {
        assert_eq!(
            number(COMMA, "12.5t"),
            Err("is not a number (decimal separator ',', thousands separator '.')".into())
        );
        assert_eq!(
            number(PLAIN, "1,000"),
            Err("is not a number (decimal separator '.', no thousands separator)".into())
        );
        for bad in ["", "-", "1e5", "1.", ".5", "1.2.3", "NaN", "inf", "١٢"] {
            assert!(number(PLAIN, bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn integers_refuse_fractions_but_accept_zero_fractions() {
        assert_eq!(DOT.parse_integer("1,204"), Ok(1204));
        assert_eq!(DOT.parse_integer("3.0"), Ok(3));
        assert_eq!(
            DOT.parse_integer("3.5").map_err(|problem| problem.problem),
            Err("is not a whole number".into())
        );
        assert_eq!(
            PLAIN
                .parse_integer("99999999999999999999")
                .map_err(|problem| problem.problem),
            Err("is too large for a whole number".into())
        );
    }

    fn time_format(format: &str, time_format: Option<&str>, timezone: Option<&str>) -> TimeFormat {
        TimeFormat {
            formats: format.split(" | ").map(str::to_owned).collect(),
            time_format: time_format.map(str::to_owned),
            timezone: timezone.map(|name| {
                (
                    name.to_owned(),
                    TimeZone::get(name).expect("test time zone exists"),
                )
            }),
        }
    }

    fn time(format: &TimeFormat, date: &str, time: Option<&str>) -> Result<String, String> {
        format
            .convert(date, time)
            .map_err(|problem| problem.problem)
    }

    #[test]
    fn dates_become_calendar_days() {
        let format = time_format("%d-%b-%Y", None, None);
        assert_eq!(time(&format, "14-Jun-2023", None), Ok("2023-06-14".into()));
        assert_eq!(time(&format, "14-JUN-2023", None), Ok("2023-06-14".into()));
        let format = time_format("%d/%m/%Y", None, Some("Asia/Baku"));
        assert_eq!(time(&format, "14/06/2023", None), Ok("2023-06-14".into()));
    }

    #[test]
    fn date_times_without_offset_stay_local() {
        let format = time_format("%Y-%m-%d %H:%M", None, None);
        assert_eq!(
            time(&format, "2023-06-14 08:30", None),
            Ok("2023-06-14T08:30:00".into())
        );
    }

    #[test]
    fn date_times_with_an_offset_or_a_time_zone_become_instants() {
        let format = time_format("%Y-%m-%d %H:%M %z", None, None);
        assert_eq!(
            time(&format, "2023-06-14 08:30 +0400", None),
            Ok("2023-06-14T08:30:00+04:00".into())
        );
        let format = time_format("%d.%m.%Y %H:%M", None, Some("Europe/Istanbul"));
        assert_eq!(
            time(&format, "14.06.2023 08:30", None),
            Ok("2023-06-14T08:30:00+03:00".into())
        );
    }

    #[test]
    fn a_separate_time_column_is_combined_with_the_date() {
        let format = time_format("%d/%m/%Y", Some("%H:%M"), None);
        assert_eq!(
            time(&format, "14/06/2023", Some("8:05")),
            Ok("2023-06-14T08:05:00".into())
        );
        let format = time_format("%d/%m/%Y", Some("%H:%M"), Some("Asia/Yerevan"));
        assert_eq!(
            time(&format, "14/06/2023", Some("23:59")),
            Ok("2023-06-14T23:59:00+04:00".into())
        );
        let problem = time(&format, "14/06/2023", Some("25:00")).expect_err("no hour 25");
        assert!(
            problem.starts_with("does not match the format \"%H:%M\": "),
            "{problem}"
        );
    }

    #[test]
    fn impossible_and_malformed_dates_are_refused() {
        let format = time_format("%d/%m/%Y", None, None);
        let problem = time(&format, "31/02/2023", None).expect_err("no 31 February");
        assert!(problem.starts_with("is not a valid date: "), "{problem}");
        let problem = time(&format, "2023-06-14", None).expect_err("wrong format");
        assert!(
            problem.starts_with("does not match the format \"%d/%m/%Y\": "),
            "{problem}"
        );
        let problem = time(&format, "14/06/2023 extra", None).expect_err("trailing text");
        assert!(
            problem.starts_with("does not match the format"),
            "{problem}"
        );
    }

    #[test]
    fn several_formats_are_tried_in_order() {
        let format = time_format("%d-%b-%Y %H:%M | %d-%b-%Y", None, None);
        assert_eq!(
            time(&format, "14-Jun-2023 08:30", None),
            Ok("2023-06-14T08:30:00".into())
        );
        assert_eq!(time(&format, "14-Jun-2023", None), Ok("2023-06-14".into()));
        assert_eq!(
            time(&format, "2023-06-14", None),
            Err("does not match any of the formats \"%d-%b-%Y %H:%M\", \"%d-%b-%Y\"".into())
        );
    }

    #[test]
    fn local_times_skipped_or_repeated_by_a_clock_change_are_refused() {
        let format = time_format("%Y-%m-%d %H:%M", None, Some("Europe/Berlin"));
        assert_eq!(
            time(&format, "2023-03-26 02:30", None),
            Err("does not name a single moment in Europe/Berlin: the clocks skipped it (from +01:00 to +02:00); give the time with an offset".into())
        );
        let format = time_format("%Y-%m-%d %H:%M", None, Some("America/New_York"));
        assert_eq!(
            time(&format, "2023-03-12 02:30", None),
            Err("does not name a single moment in America/New_York: the clocks skipped it (from -05:00 to -04:00); give the time with an offset".into())
        );
        assert_eq!(
            time(&format, "2023-11-05 01:30", None),
            Err("does not name a single moment in America/New_York: the clocks showed it twice (at -04:00, then at -05:00); give the time with an offset".into())
        );
        // Next to the changes, and with an offset in the fold, it is one moment.
        assert_eq!(
            time(&format, "2023-11-05 02:00", None),
            Ok("2023-11-05T02:00:00-05:00".into())
        );
        let with_offset = time_format("%Y-%m-%d %H:%M %z", None, Some("America/New_York"));
        assert_eq!(
            time(&with_offset, "2023-11-05 01:30 -0400", None),
            Ok("2023-11-05T01:30:00-04:00".into())
        );
    }

    #[test]
    fn formats_are_checked_when_the_mapping_is_read() {
        assert_eq!(check_time_format("%d-%b-%Y", true), Ok(TimePrecision::Day));
        assert_eq!(
            check_time_format("%Y-%m-%d %H:%M", true),
            Ok(TimePrecision::DateTime)
        );
        assert_eq!(
            check_time_format("%H:%M", false),
            Ok(TimePrecision::DateTime)
        );
        assert_eq!(
            check_time_format("%d/%m", true),
            Err("\"%d/%m\" does not give a full date: it needs a year, a month and a day (e.g. %Y, %m and %d)".into())
        );
        assert!(check_time_format("%Y-%m-%d %!", true).is_err());
        assert!(check_time_format("%d/%m/%Y", false).is_err());
    }
}
