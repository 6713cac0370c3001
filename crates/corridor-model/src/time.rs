//! Times as records carry them: an instant with its offset, a local time at a
//! site, or a whole calendar day, and their resolution into the site's zone.
//!
//! Every stored time is expressed in its site's local offset, so that the
//! calendar day a record counts on can be read off the time itself, by anyone,
//! without a time-zone database.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone, TimeZoneDatabase};

use crate::vocab::TimePrecision;

/// A time as submitted, before it is placed in a site's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmittedTime {
    /// `2022-12-17T10:23:00+04:00`: an instant with the offset it was given in.
    Instant {
        timestamp: Timestamp,
        offset: Offset,
    },
    /// `2022-12-17T10:23`: a wall-clock time at the record's site.
    Local(DateTime),
    /// `2022-12-17`: a calendar day at the record's site.
    Day(Date),
}

/// A time placed in its site's zone: what the public record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Time {
    /// A wall-clock time with the offset in force at the site at that moment.
    At { local: DateTime, offset: Offset },
    /// A whole calendar day at the site.
    Day(Date),
}

/// Why a time could not be parsed or placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl SubmittedTime {
    /// Parses the three accepted forms (see `docs/records.md`, "Times").
    ///
    /// # Errors
    /// A message saying what is wrong with the text, quoting it.
    pub fn parse(text: &str) -> Result<SubmittedTime, TimeError> {
        let not_a_time = || {
            TimeError(format!(
                "{text:?} is not a date or time (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or an RFC 3339 time with offset)"
            ))
        };
        let bytes = text.as_bytes();
        if bytes.len() < 10 {
            return Err(not_a_time());
        }
        let date = parse_date(&text[..10]).ok_or_else(not_a_time)?;
        if bytes.len() == 10 {
            return Ok(SubmittedTime::Day(date));
        }
        if bytes[10] != b'T' && bytes[10] != b't' && bytes[10] != b' ' {
            return Err(not_a_time());
        }
        let rest = &text[11..];
        // Split the clock from a trailing `Z` or `±HH:MM`.
        let (clock, offset) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
            (clock, Some(Offset::UTC))
        } else if rest.len() > 6 && matches!(rest.as_bytes()[rest.len() - 6], b'+' | b'-') {
            let (clock, offset_text) = rest.split_at(rest.len() - 6);
            (
                clock,
                Some(parse_offset(offset_text).ok_or_else(not_a_time)?),
            )
        } else {
            (rest, None)
        };
        let (hour, minute, second, nanosecond) = parse_clock(clock).ok_or_else(not_a_time)?;
        let local = date.to_datetime(
            jiff::civil::Time::new(hour, minute, second, nanosecond).map_err(|_| not_a_time())?,
        );
        match offset {
            None => Ok(SubmittedTime::Local(local)),
            Some(offset) => {
                let timestamp = offset
                    .to_timestamp(local)
                    .map_err(|_| TimeError(format!("{text:?} {}", beyond_the_last_moment())))?;
                Ok(SubmittedTime::Instant { timestamp, offset })
            }
        }
    }

    /// Places the time in a site's zone and cuts it to the published precision.
    ///
    /// Returns the public time and, when precision removed something, the exact
    /// time, which then belongs in the record's private part.
    ///
    /// # Errors
    /// A local time with no zone to read it in.
    pub fn resolve(
        self,
        zone: Option<&TimeZone>,
        precision: TimePrecision,
    ) -> Result<(Time, Option<Time>), TimeError> {
        let exact = match (self, zone) {
            (SubmittedTime::Day(date), _) => return Ok((Time::Day(date), None)),
            (SubmittedTime::Instant { timestamp, .. }, Some(zone)) => {
                let zoned = timestamp.to_zoned_datetime(zone.clone());
                Time::At {
                    local: zoned.datetime(),
                    offset: zoned.offset(),
                }
            }
            (SubmittedTime::Instant { timestamp, offset }, None) => Time::At {
                local: offset.to_datetime(timestamp),
                offset,
            },
            (SubmittedTime::Local(local), Some(zone)) => {
                let offset = single_offset(local, zone)?;
                if offset.to_timestamp(local).is_err() {
                    return Err(TimeError(format!(
                        "{} {}",
                        local.strftime("%Y-%m-%dT%H:%M:%S"),
                        beyond_the_last_moment()
                    )));
                }
                Time::At { local, offset }
            }
            (SubmittedTime::Local(local), None) => {
                return Err(TimeError(format!(
                    "{local} has no offset and the record names no site whose time zone could place it"
                )));
            }
        };
        // Before standard time a zone's offset is local mean time, with
        // seconds (Asia/Baku: +03:19:24). RFC 3339 offsets carry whole
        // minutes, so such a time would be written as another instant.
        if let Time::At { local, offset } = exact
            && offset.seconds() % 60 != 0
        {
            return Err(TimeError(format!(
                "{} falls when the site's time zone had the offset {offset} (local mean time, not whole minutes), which a record's time cannot carry",
                local.strftime("%Y-%m-%dT%H:%M:%S")
            )));
        }
        let public = exact.truncate(precision);
        let removed = if public == exact { None } else { Some(exact) };
        Ok((public, removed))
    }
}

/// The offset a zone gives a wall-clock time, when it gives exactly one.
///
/// In a clock change the wall clock skips an hour (a gap) or shows it twice
/// (a fold). Such a time does not say which moment was observed, and any
/// guess would move a record, maybe to another day; the submitter is asked
/// for the offset instead. `corridor-import` applies the same rule, in the
/// same words, to local times read with a mapping's zone.
///
/// # Errors
/// A message naming the time and the zone and asking for an offset.
pub fn single_offset(local: DateTime, zone: &TimeZone) -> Result<Offset, TimeError> {
    let name = zone.iana_name().unwrap_or("the site's time zone");
    let shown = local.strftime("%Y-%m-%dT%H:%M:%S");
    match zone.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => Ok(offset),
        AmbiguousOffset::Gap { before, after } => Err(TimeError(format!(
            "{shown} does not name a single moment in {name}: the clocks skipped it (from {} to {}); give the time with an offset",
            offset_text(before),
            offset_text(after)
        ))),
        AmbiguousOffset::Fold { before, after } => Err(TimeError(format!(
            "{shown} does not name a single moment in {name}: the clocks showed it twice (at {}, then at {}); give the time with an offset",
            offset_text(before),
            offset_text(after)
        ))),
    }
}

/// The end of a message about a time past the last instant jiff (and so a
/// record) can hold: 9999-12-30T22:00:00Z, so that the time in every offset
/// still has a calendar date.
fn beyond_the_last_moment() -> String {
    format!(
        "is later than the last moment a record's time can name ({}Z)",
        Offset::UTC
            .to_datetime(Timestamp::MAX)
            .strftime("%Y-%m-%dT%H:%M:%S")
    )
}

/// Zone names that resolve but name no place: tzdb's placeholder and jiff's
/// zone for "not known".
const PLACELESS_ZONES: &[&str] = &["Factory", "Etc/Unknown"];

/// Checks that `name` is a time zone name exactly as the bundled tzdb spells
/// it. Any other spelling that resolves (`asia/baku`) would be stored as
/// typed, and a reader would have to guess what it means.
///
/// # Errors
/// The reason, with the canonical spelling when the name differs from one
/// only by case.
pub fn check_zone_name(name: &str) -> Result<(), String> {
    let not_a_zone = || format!("{name:?} is not an IANA time zone name (e.g. Asia/Baku)");
    let Ok(zone) = TimeZoneDatabase::bundled().get(name) else {
        return Err(not_a_zone());
    };
    match zone.iana_name() {
        Some(canonical) if PLACELESS_ZONES.contains(&canonical) => Err(not_a_zone()),
        Some(canonical) if canonical == name => Ok(()),
        Some(canonical) => Err(format!(
            "{name:?} is not an IANA time zone name as written; did you mean {canonical:?}?"
        )),
        None => Err(not_a_zone()),
    }
}

impl Time {
    /// The calendar day at the site.
    pub fn local_day(&self) -> Date {
        match self {
            Time::At { local, .. } => local.date(),
            Time::Day(date) => *date,
        }
    }

    /// The instant, when the time has a clock.
    pub fn timestamp(&self) -> Option<Timestamp> {
        match self {
            Time::At { local, offset } => offset.to_timestamp(*local).ok(),
            Time::Day(_) => None,
        }
    }

    /// Cuts the time down to what a deployment publishes.
    pub fn truncate(self, precision: TimePrecision) -> Time {
        match (self, precision) {
            (Time::Day(_), _) | (_, TimePrecision::Second) => self,
            (Time::At { local, .. }, TimePrecision::Day) => Time::Day(local.date()),
            (Time::At { local, offset }, TimePrecision::Minute) => {
                let time = local.time();
                let clock = jiff::civil::Time::constant(time.hour(), time.minute(), 0, 0);
                Time::At {
                    local: local.date().to_datetime(clock),
                    offset,
                }
            }
            (Time::At { local, offset }, TimePrecision::Hour) => {
                let clock = jiff::civil::Time::constant(local.time().hour(), 0, 0, 0);
                Time::At {
                    local: local.date().to_datetime(clock),
                    offset,
                }
            }
        }
    }

    /// Orders two times by instant; a day counts as its first moment in the
    /// given offset-less comparison (used only for "not before" rules).
    pub fn sort_key(&self) -> DateTime {
        match self {
            Time::At { local, offset } => offset
                .to_timestamp(*local)
                .map(|instant| Offset::UTC.to_datetime(instant))
                .unwrap_or(*local),
            Time::Day(date) => date.to_datetime(jiff::civil::Time::midnight()),
        }
    }
}

impl fmt::Display for Time {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Time::Day(date) => write!(formatter, "{}", date.strftime("%Y-%m-%d")),
            Time::At { local, offset } => {
                write!(formatter, "{}", local.strftime("%Y-%m-%dT%H:%M:%S"))?;
                let subsec = local.subsec_nanosecond();
                if subsec != 0 {
                    let digits = format!("{subsec:09}");
                    write!(formatter, ".{}", digits.trim_end_matches('0'))?;
                }
                write_offset(formatter, *offset)
            }
        }
    }
}

impl serde::Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An offset as records write it: `+04:00`.
fn offset_text(offset: Offset) -> String {
    struct Shown(Offset);
    impl fmt::Display for Shown {
        fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_offset(formatter, self.0)
        }
    }
    Shown(offset).to_string()
}

fn write_offset(formatter: &mut fmt::Formatter<'_>, offset: Offset) -> fmt::Result {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let magnitude = seconds.unsigned_abs();
    write!(
        formatter,
        "{sign}{:02}:{:02}",
        magnitude / 3600,
        (magnitude % 3600) / 60
    )
}

/// The first day of the day numbering used by rollups.
const DAY_ZERO: Date = Date::constant(1970, 1, 1);

/// A calendar day as a number of days since 1970-01-01 (negative before).
pub fn day_number(date: Date) -> i32 {
    (date.duration_since(DAY_ZERO).as_secs() / 86_400) as i32
}

/// The calendar day with the given [`day_number`].
pub fn date_of_day_number(number: i32) -> Date {
    DAY_ZERO
        .checked_add(jiff::SignedDuration::from_hours(i64::from(number) * 24))
        .unwrap_or(DAY_ZERO)
}

/// Parses exactly `YYYY-MM-DD` into a valid calendar date.
pub fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

fn parse_clock(text: &str) -> Option<(i8, i8, i8, i32)> {
    let bytes = text.as_bytes();
    if bytes.len() < 5 || bytes[2] != b':' {
        return None;
    }
    let hour = i8::try_from(digits(&bytes[0..2])?).ok()?;
    let minute = i8::try_from(digits(&bytes[3..5])?).ok()?;
    if bytes.len() == 5 {
        return Some((hour, minute, 0, 0));
    }
    if bytes.len() < 8 || bytes[5] != b':' {
        return None;
    }
    let second = i8::try_from(digits(&bytes[6..8])?).ok()?;
    if bytes.len() == 8 {
        return Some((hour, minute, second, 0));
    }
    let fraction = &bytes[8..];
    if fraction.len() < 2 || fraction.len() > 10 || fraction[0] != b'.' {
        return None;
    }
    let fraction_digits = &fraction[1..];
    let value = digits(fraction_digits)?;
    let nanosecond = value * 10_u32.pow(9 - fraction_digits.len() as u32);
    Some((hour, minute, second, i32::try_from(nanosecond).ok()?))
}

fn parse_offset(text: &str) -> Option<Offset> {
    let bytes = text.as_bytes();
    if bytes.len() != 6 || bytes[3] != b':' {
        return None;
    }
    let sign: i32 = match bytes[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = digits(&bytes[1..3])?;
    let minutes = digits(&bytes[4..6])?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Offset::from_seconds(sign * i32::try_from(hours * 3600 + minutes * 60).ok()?).ok()
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    bytes.iter().try_fold(0_u32, |value, byte| {
        value.checked_mul(10)?.checked_add(u32::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baku() -> TimeZone {
        TimeZone::get("Asia/Baku").expect("bundled zone")
    }

    fn resolve(text: &str, precision: TimePrecision) -> (String, Option<String>) {
        let submitted = SubmittedTime::parse(text).expect("parses");
        let (public, exact) = submitted
            .resolve(Some(&baku()), precision)
            .expect("resolves");
        (public.to_string(), exact.map(|time| time.to_string()))
    }

    #[test]
    fn an_instant_is_moved_into_the_site_offset() {
        assert_eq!(
            resolve("2022-12-12T21:30:00Z", TimePrecision::Second).0,
            "2022-12-13T01:30:00+04:00"
        );
    }

    #[test]
    fn the_local_day_follows_the_site_not_the_submitter() {
        let submitted = SubmittedTime::parse("2022-12-12T23:30:00+00:00").expect("parses");
        let (public, _) = submitted
            .resolve(Some(&baku()), TimePrecision::Second)
            .expect("resolves");
        assert_eq!(public.local_day().to_string(), "2022-12-13");
    }

    #[test]
    fn a_local_time_is_read_in_the_site_zone() {
        assert_eq!(
            resolve("2022-12-17 10:23", TimePrecision::Second).0,
            "2022-12-17T10:23:00+04:00"
        );
    }

    #[test]
    fn a_day_stays_a_day() {
        assert_eq!(
            resolve("2023-01-17", TimePrecision::Second),
            ("2023-01-17".to_string(), None)
        );
    }

    #[test]
    fn coarser_precision_moves_the_exact_time_aside() {
        assert_eq!(
            resolve("2022-12-17T10:23:45+04:00", TimePrecision::Hour),
            (
                "2022-12-17T10:00:00+04:00".to_string(),
                Some("2022-12-17T10:23:45+04:00".to_string())
            )
        );
        assert_eq!(
            resolve("2022-12-17T10:23:45+04:00", TimePrecision::Day).0,
            "2022-12-17"
        );
        assert_eq!(
            resolve("2022-12-17T10:23:00+04:00", TimePrecision::Minute).1,
            None
        );
    }

    #[test]
    fn fractions_of_a_second_survive() {
        assert_eq!(
            resolve("2022-12-17T10:23:45.120+04:00", TimePrecision::Second).0,
            "2022-12-17T10:23:45.12+04:00"
        );
    }

    #[test]
    fn impossible_dates_and_clocks_are_refused() {
        for text in [
            "2022-13-01",
            "2022-02-30",
            "2022-12-17T24:00",
            "2022-12-17T10:60",
            "2022-12-1",
            "17-12-2022",
            "2022-12-17T10:23+4:00",
            "",
            "2022-12-17X10:00",
        ] {
            let error = SubmittedTime::parse(text).expect_err(text);
            assert!(error.0.contains(&format!("{text:?}")), "{error}");
        }
    }

    #[test]
    fn day_numbers_round_trip() {
        for text in [
            "1970-01-01",
            "1969-12-31",
            "2022-12-12",
            "2023-01-23",
            "2400-02-29",
        ] {
            let date = parse_date(text).expect("date");
            assert_eq!(date_of_day_number(day_number(date)), date, "{text}");
        }
        assert_eq!(day_number(parse_date("1970-01-02").expect("date")), 1);
        assert_eq!(day_number(parse_date("1969-12-31").expect("date")), -1);
    }

    #[test]
    fn a_local_time_without_a_site_is_refused() {
        let submitted = SubmittedTime::parse("2022-12-17T10:00").expect("parses");
        let error = submitted
            .resolve(None, TimePrecision::Second)
            .expect_err("needs a zone");
        assert!(error.0.contains("no offset"), "{error}");
    }

    fn new_york() -> TimeZone {
        TimeZone::get("America/New_York").expect("bundled zone")
    }

    fn resolve_in(zone: &TimeZone, text: &str) -> Result<String, String> {
        SubmittedTime::parse(text)
            .and_then(|submitted| submitted.resolve(Some(zone), TimePrecision::Second))
            .map(|(public, _)| public.to_string())
            .map_err(|error| error.0)
    }

    #[test]
    fn a_local_time_a_clock_change_skips_or_repeats_is_refused() {
        assert_eq!(
            resolve_in(&new_york(), "2023-03-12T02:30"),
            Err("2023-03-12T02:30:00 does not name a single moment in America/New_York: the clocks skipped it (from -05:00 to -04:00); give the time with an offset".into())
        );
        assert_eq!(
            resolve_in(&new_york(), "2023-11-05T01:30"),
            Err("2023-11-05T01:30:00 does not name a single moment in America/New_York: the clocks showed it twice (at -04:00, then at -05:00); give the time with an offset".into())
        );
        // Either side of the fold, given with its offset, is one moment.
        assert_eq!(
            resolve_in(&new_york(), "2023-11-05T01:30-04:00"),
            Ok("2023-11-05T01:30:00-04:00".into())
        );
        assert_eq!(
            resolve_in(&new_york(), "2023-11-05T01:30:00-05:00"),
            Ok("2023-11-05T01:30:00-05:00".into())
        );
        // Next to the changes the wall clock is unambiguous.
        assert_eq!(
            resolve_in(&new_york(), "2023-03-12T03:00"),
            Ok("2023-03-12T03:00:00-04:00".into())
        );
        assert_eq!(
            resolve_in(&new_york(), "2023-11-05T02:00"),
            Ok("2023-11-05T02:00:00-05:00".into())
        );
    }

    #[test]
    fn a_time_past_the_last_moment_gets_a_clear_message() {
        let last = "is later than the last moment a record's time can name (9999-12-30T22:00:00Z)";
        assert_eq!(
            resolve_in(&baku(), "9999-12-31T10:00"),
            Err(format!("9999-12-31T10:00:00 {last}"))
        );
        assert_eq!(
            resolve_in(&baku(), "9999-12-31T10:00:00Z"),
            Err(format!("\"9999-12-31T10:00:00Z\" {last}"))
        );
        assert_eq!(
            resolve_in(&new_york(), "9999-12-31T23:59:59.5-05:00"),
            Err(format!("\"9999-12-31T23:59:59.5-05:00\" {last}"))
        );
        assert_eq!(resolve_in(&baku(), "9999-12-31"), Ok("9999-12-31".into()));
        assert_eq!(
            resolve_in(&baku(), "9999-12-30T23:00:00+04:00"),
            Ok("9999-12-30T23:00:00+04:00".into())
        );
    }

    #[test]
    fn zone_names_must_be_spelt_as_the_bundled_tzdb_spells_them() {
        for name in ["Asia/Baku", "America/New_York", "Europe/Berlin", "UTC"] {
            assert_eq!(check_zone_name(name), Ok(()), "{name}");
        }
        for (name, canonical) in [
            ("asia/baku", "Asia/Baku"),
            ("ASIA/BAKU", "Asia/Baku"),
            ("america/new_york", "America/New_York"),
            ("utc", "UTC"),
        ] {
            assert_eq!(
                check_zone_name(name),
                Err(format!(
                    "{name:?} is not an IANA time zone name as written; did you mean {canonical:?}?"
                ))
            );
        }
        for name in [
            "Factory",
            "factory",
            "posixrules",
            "Etc/Unknown",
            "Asia/Bakuu",
            "",
        ] {
            assert_eq!(
                check_zone_name(name),
                Err(format!(
                    "{name:?} is not an IANA time zone name (e.g. Asia/Baku)"
                ))
            );
        }
    }

    /// Regression (found by the `record_parser` fuzz target): a time in a
    /// zone's local-mean-time era was written with its offset cut to whole
    /// minutes, so the leaf named an instant 24 seconds off the submitted one.
    #[test]
    fn a_time_in_local_mean_time_is_refused_not_shifted() {
        let baku = TimeZone::get("Asia/Baku").expect("zone");
        for text in ["1011-01-17T23:30:00Z", "1011-01-18T02:49"] {
            let submitted = SubmittedTime::parse(text).expect("parses");
            let error = submitted
                .resolve(Some(&baku), TimePrecision::Second)
                .expect_err(text);
            assert!(error.0.contains("+03:19:24"), "{error}");
        }
        let day = SubmittedTime::parse("1011-01-18").expect("parses");
        assert!(day.resolve(Some(&baku), TimePrecision::Second).is_ok());
    }
}
