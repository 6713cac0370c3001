//! How numbers are written, wherever they are shown: "39,560" and "2.5%" in
//! pages and sentences, and figures in JSON as integers when whole. Neutral
//! ground that statistics, claims and both HTML pages share.

use serde_json::Value;

/// A count or amount with thousands separators; one decimal when not whole.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    // `-0` would read as a negative count.
    let value = if value == 0.0 { 0.0 } else { value };
    let text = if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    };
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (position, digit) in whole.chars().enumerate() {
        if position > 0 && (whole.len() - position) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A share (0 to 1) as a percentage: whole percents from 10% up, one decimal
/// below, so 2.5% of a baseline does not round to 3% or to 0%.
pub fn percent(share: f64) -> String {
    if !share.is_finite() {
        return "—".to_string();
    }
    let percent = share * 100.0;
    if percent == 0.0 {
        "0%".to_string()
    } else if percent > 0.0 && percent < 0.1 {
        "under 0.1%".to_string()
    } else if percent.abs() >= 10.0 {
        format!("{percent:.0}%")
    } else {
        format!("{percent:.1}%")
    }
}

/// A figure as JSON: an integer when whole, so counts read as counts.
pub fn figure_json(number: f64) -> Value {
    if number.fract() == 0.0 && number.abs() < 9.0e15 {
        Value::from(number as i64)
    } else {
        Value::from(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_thousands_and_never_show_negative_zero() {
        assert_eq!(number(39_560.0), "39,560");
        assert_eq!(number(980.0), "980");
        assert_eq!(number(1_234_567.25), "1,234,567.2");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(-1500.0), "-1,500");
        assert_eq!(number(f64::NAN), "—");
    }

    #[test]
    fn percentages_keep_small_shares_visible() {
        assert_eq!(percent(0.024_772), "2.5%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.286_666), "29%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.000_1), "under 0.1%");
    }

    #[test]
    fn whole_figures_are_json_integers() {
        assert_eq!(figure_json(980.0).to_string(), "980");
        assert_eq!(figure_json(12.5).to_string(), "12.5");
        // Beyond what an i64 conversion keeps exact, a figure stays a float.
        assert!(figure_json(1.0e16).is_f64());
    }
}
