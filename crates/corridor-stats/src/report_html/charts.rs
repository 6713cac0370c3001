//! The report's charts as inline SVG: daily flow against the baseline with
//! the access-status band, the coverage strip, and vehicles by category.
//!
//! Every chart is `role="img"` with an `aria-label` and a `<title>`, and its
//! parts carry stable classes (`svg.daily-flow rect.bar`,
//! `.status-band rect`, `svg.coverage-strip rect.gap`,
//! `svg.categories rect.bar`) that stylesheets and tests rely on. Each mark
//! has its own `<title>`, which browsers show on hover, so the exact figure
//! behind a bar is one pointer away and needs no script.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::escape;
use super::figures::{DayState, day_label, day_label_short, day_year};
use crate::numbers::{number, percent};
use crate::report::SiteSection;

/// The width of every chart's coordinate system; the page scales it.
const WIDTH: f64 = 720.0;
/// Room left of the plot for the y axis labels, shared by all charts so the
/// daily chart and the coverage strip line up day for day.
const LEFT: f64 = 68.0;
const RIGHT: f64 = 12.0;
const PLOT_WIDTH: f64 = WIDTH - LEFT - RIGHT;

/// A coordinate with at most two decimals and no trailing zeros, so output
/// stays small and identical from run to run.
fn coord(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// The vertical scale of the daily chart.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    /// Values from 0 to `top`.
    Linear { top: f64, step: f64 },
    /// `log10(1 + value)` up to `top`, a power of ten: 0, 1, 10, 100, …
    Logarithmic { top: f64 },
}

impl Scale {
    /// A linear scale unless the baseline dwarfs what was observed: with 920
    /// a day expected and 23 seen, a linear axis would draw the observed bars
    /// a few pixels high, so the axis becomes logarithmic and says so.
    fn choose(largest_observed: f64, baseline: Option<f64>) -> Scale {
        let largest = largest_observed.max(baseline.unwrap_or(0.0));
        if largest_observed > 0.0 && largest > 5.0 * largest_observed {
            let decades = largest.log10().ceil().max(1.0);
            return Scale::Logarithmic {
                top: 10_f64.powf(decades),
            };
        }
        let step = nice_step(largest / 4.0);
        let top = ((largest / step).ceil() * step).max(step);
        Scale::Linear { top, step }
    }

    /// Where `value` sits, from 0 (bottom) to 1 (top).
    fn fraction(self, value: f64) -> f64 {
        let value = value.max(0.0);
        let fraction = match self {
            Scale::Linear { top, .. } => value / top,
            Scale::Logarithmic { top } => (1.0 + value).log10() / (1.0 + top).log10(),
        };
        fraction.clamp(0.0, 1.0)
    }

    fn ticks(self) -> Vec<f64> {
        match self {
            Scale::Linear { top, step } => {
                let count = (top / step).round() as usize;
                (0..=count).map(|index| index as f64 * step).collect()
            }
            Scale::Logarithmic { top } => {
                // Over three decades or more, 1 sits too close to 0 to label both.
                let mut ticks = if top >= 1000.0 {
                    vec![0.0]
                } else {
                    vec![0.0, 1.0]
                };
                let mut tick = 10.0;
                while tick <= top {
                    ticks.push(tick);
                    tick *= 10.0;
                }
                ticks
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scale::Linear { .. } => "linear scale",
            Scale::Logarithmic { .. } => "logarithmic scale",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Scale::Linear { .. } => "scale-linear",
            Scale::Logarithmic { .. } => "scale-log",
        }
    }
}

/// 1, 2 or 5 times a power of ten, at least `rough`.
fn nice_step(rough: f64) -> f64 {
    if !rough.is_finite() || rough <= 0.0 {
        return 1.0;
    }
    let magnitude = 10_f64.powf(rough.log10().floor());
    let leading = rough / magnitude;
    let nice = if leading <= 1.0 {
        1.0
    } else if leading <= 2.0 {
        2.0
    } else if leading <= 5.0 {
        5.0
    } else {
        10.0
    };
    (nice * magnitude).max(1.0)
}

/// What the daily chart needs to say about the scale beside it.
#[derive(Debug)]
pub struct DailyFlowChart {
    pub svg: String,
    pub logarithmic: bool,
}

/// Daily flow at a site as bars, the baseline and thresholds as lines scaled
/// to each day's coverage, and each day's access status as a band of cells.
pub fn daily_flow(site: &SiteSection) -> DailyFlowChart {
    const TOP: f64 = 24.0;
    const PLOT_HEIGHT: f64 = 170.0;
    const BAND_GAP: f64 = 8.0;
    const BAND_HEIGHT: f64 = 14.0;
    let days = &site.access.days;
    let baseline = site
        .access
        .baseline
        .as_ref()
        .map(|baseline| baseline.per_day);
    let thresholds = site.access.thresholds;
    let largest_observed = days.iter().map(|day| day.observed).fold(0.0, f64::max);
    let scale = Scale::choose(largest_observed, baseline);
    let band_top = TOP + PLOT_HEIGHT + BAND_GAP;
    let height = band_top + BAND_HEIGHT + 30.0;
    let slot = if days.is_empty() {
        PLOT_WIDTH
    } else {
        PLOT_WIDTH / days.len() as f64
    };
    let y_of = |value: f64| TOP + PLOT_HEIGHT * (1.0 - scale.fraction(value));

    let name = escape(&site.name);
    let (first, last) = match (days.first(), days.last()) {
        (Some(first), Some(last)) => (day_label(&first.day), day_label(&last.day)),
        _ => (String::new(), String::new()),
    };
    let baseline_words = match baseline {
        Some(per_day) => format!("baseline {} a day", number(per_day)),
        None => "no baseline".to_string(),
    };
    let label = format!(
        "Vehicles passing {name} each day from {} to {}, {}: up to {} a day observed, {baseline_words}. The band below the bars gives each day's access status.",
        escape(&first),
        escape(&last),
        scale.name(),
        number(largest_observed),
    );
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"daily-flow {}\" role=\"img\" aria-label=\"{label}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">\n<title>{label}</title>\n",
        scale.class(),
        coord(WIDTH),
        coord(height)
    );

    // Grid and y axis.
    svg.push_str("<g class=\"axis y-axis\">\n");
    for tick in scale.ticks() {
        let y = coord(y_of(tick));
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#d8dee4\" stroke-width=\"1\"/><text x=\"{}\" y=\"{y}\" dy=\"0.32em\" text-anchor=\"end\" fill=\"#57606a\">{}</text>",
            coord(LEFT),
            coord(LEFT + PLOT_WIDTH),
            coord(LEFT - 6.0),
            number(tick)
        );
    }
    let axis_middle = coord(TOP + PLOT_HEIGHT / 2.0);
    let _ = writeln!(
        svg,
        "<text class=\"axis-title\" transform=\"translate(14 {axis_middle}) rotate(-90)\" text-anchor=\"middle\" fill=\"#57606a\">vehicles a day ({})</text>",
        match scale {
            Scale::Linear { .. } => "linear",
            Scale::Logarithmic { .. } => "log scale",
        }
    );
    svg.push_str("</g>\n");

    // Bars: one per day, also when nothing passed, so the count of bars is the count of days.
    svg.push_str("<g class=\"bars\">\n");
    for (index, day) in days.iter().enumerate() {
        let x = LEFT + index as f64 * slot + slot * 0.15;
        let y = y_of(day.observed);
        let state = DayState::of(day);
        let share_of_baseline = match (day.index, baseline) {
            (Some(index), Some(_)) => format!(", {} of the baseline", percent(index)),
            _ => String::new(),
        };
        let _ = writeln!(
            svg,
            "<rect class=\"bar\" data-day=\"{day_text}\" data-value=\"{value}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#33465c\"><title>{}: {} vehicles passed{share_of_baseline}; {}, {} of the day covered</title></rect>",
            coord(x),
            coord(y),
            coord(slot * 0.7),
            coord(TOP + PLOT_HEIGHT - y),
            escape(&day_label(&day.day)),
            number(day.observed),
            state.label(),
            percent(day.covered_share),
            day_text = escape(&day.day),
            value = coord(day.observed),
        );
    }
    svg.push_str("</g>\n");

    // The baseline and the thresholds, scaled to the share of each day that was watched.
    if let Some(per_day) = baseline {
        let lines = [
            ("baseline", 1.0, "#0969da", "6 3", 2.0),
            (
                "threshold threshold-open",
                thresholds.open,
                DayState::Status(corridor_model::AccessStatus::Open).colour(),
                "2 3",
                1.5,
            ),
            (
                "threshold threshold-restricted",
                thresholds.restricted,
                DayState::Status(corridor_model::AccessStatus::SeverelyRestricted).colour(),
                "2 3",
                1.5,
            ),
        ];
        for (class, share, colour, dashes, width) in lines {
            let mut path = String::new();
            for (index, day) in days.iter().enumerate() {
                if day.covered_share <= 0.0 {
                    continue;
                }
                let y = y_of(per_day * share * day.covered_share);
                let _ = write!(
                    path,
                    "M{} {}H{}",
                    coord(LEFT + index as f64 * slot),
                    coord(y),
                    coord(LEFT + (index + 1) as f64 * slot)
                );
            }
            if !path.is_empty() {
                let _ = writeln!(
                    svg,
                    "<path class=\"{class}\" d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{}\" stroke-dasharray=\"{dashes}\"/>",
                    coord(width)
                );
            }
        }
        let baseline_y = y_of(per_day);
        let _ = writeln!(
            svg,
            "<text class=\"baseline-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#0969da\" font-weight=\"600\">baseline {} a day</text>",
            coord(LEFT + PLOT_WIDTH - 4.0),
            coord(baseline_y - 5.0),
            number(per_day)
        );
        let open_y = y_of(per_day * thresholds.open);
        let restricted_y = y_of(per_day * thresholds.restricted);
        let _ = writeln!(
            svg,
            "<text class=\"threshold-label\" x=\"{}\" y=\"{}\" fill=\"#57606a\">{} (open)</text><text class=\"threshold-label\" x=\"{}\" y=\"{}\" fill=\"#57606a\">{} (restricted)</text>",
            coord(LEFT + 4.0),
            coord(open_y + 12.0),
            percent(thresholds.open),
            coord(LEFT + 4.0),
            coord(restricted_y + 12.0),
            percent(thresholds.restricted)
        );
    }

    // What was seen, written out: on a logarithmic axis the bar heights alone mislead.
    // Left out where it would sit on the baseline's own label.
    let clear_of_baseline =
        baseline.is_none_or(|per_day| (y_of(per_day) - y_of(largest_observed)).abs() > 16.0);
    if largest_observed > 0.0 && clear_of_baseline {
        let smallest_observed = days
            .iter()
            .filter(|day| day.covered_share > 0.0)
            .map(|day| day.observed)
            .fold(f64::INFINITY, f64::min);
        let range = if smallest_observed.is_finite() && smallest_observed < largest_observed {
            format!("{}–{}", number(smallest_observed), number(largest_observed))
        } else {
            number(largest_observed)
        };
        let _ = writeln!(
            svg,
            "<text class=\"observed-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#33465c\" font-weight=\"600\">observed {range} a day</text>",
            coord(LEFT + PLOT_WIDTH - 4.0),
            coord(y_of(largest_observed) - 6.0)
        );
    }

    // The access-status band.
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" dy=\"0.32em\" text-anchor=\"end\" fill=\"#57606a\">status</text>\n<g class=\"status-band\">",
        coord(LEFT - 6.0),
        coord(band_top + BAND_HEIGHT / 2.0)
    );
    // A hairline between days while days are wide enough to spare one.
    let cell_width = if slot >= 8.0 { slot - 1.0 } else { slot };
    for (index, day) in days.iter().enumerate() {
        let state = DayState::of(day);
        let _ = writeln!(
            svg,
            "<rect class=\"status-cell {}\" data-day=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect>",
            state.class(),
            escape(&day.day),
            coord(LEFT + index as f64 * slot),
            coord(band_top),
            coord(cell_width),
            coord(BAND_HEIGHT),
            state.colour(),
            escape(&day_label(&day.day)),
            state.label()
        );
    }
    svg.push_str("</g>\n");

    // Day labels: about eight, with the year where it starts or changes.
    svg.push_str("<g class=\"axis x-axis\">\n");
    let every = days.len().div_ceil(8).max(1);
    let mut last_year = None;
    for (index, day) in days
        .iter()
        .enumerate()
        .filter(|(index, _)| index % every == 0)
    {
        let year = day_year(&day.day);
        let text = if year != last_year {
            day_label(&day.day)
        } else {
            day_label_short(&day.day)
        };
        last_year = year;
        // Centred under its day, but kept inside the chart: about 6.6 units a character.
        let tick = LEFT + (index as f64 + 0.5) * slot;
        let half_width = text.chars().count() as f64 * 3.3;
        // (Not `clamp`, which panics when a label wider than the chart inverts the bounds.)
        let centre = tick.max(half_width).min(WIDTH - half_width);
        let _ = writeln!(
            svg,
            "<line x1=\"{tick}\" x2=\"{tick}\" y1=\"{}\" y2=\"{}\" stroke=\"#8c959f\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#57606a\">{}</text>",
            coord(band_top + BAND_HEIGHT),
            coord(band_top + BAND_HEIGHT + 4.0),
            coord(centre),
            coord(band_top + BAND_HEIGHT + 16.0),
            escape(&text),
            tick = coord(tick),
        );
    }
    svg.push_str("</g>\n</svg>");
    DailyFlowChart {
        svg,
        logarithmic: matches!(scale, Scale::Logarithmic { .. }),
    }
}

/// A span of the period in hours from its start: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    start: f64,
    end: f64,
}

/// The gaps of a site's coverage in hours from the start of the period, or
/// `None` when a gap's times cannot be read (then the strip falls back to
/// each day's covered share).
fn gap_spans(site: &SiteSection, period_start: Timestamp) -> Option<Vec<Span>> {
    site.coverage
        .gaps
        .iter()
        .map(|gap| {
            let start: Timestamp = gap.start.parse().ok()?;
            let end: Timestamp = gap.end.parse().ok()?;
            let hours = |instant: Timestamp| {
                (instant.as_second() - period_start.as_second()) as f64 / 3600.0
            };
            Some(Span {
                start: hours(start),
                end: hours(end),
            })
        })
        .collect()
}

/// Covered time and gaps over the period as one horizontal strip.
pub fn coverage_strip(site: &SiteSection, from: &str, to: &str) -> String {
    const TOP: f64 = 6.0;
    const STRIP_HEIGHT: f64 = 20.0;
    const HEIGHT: f64 = 50.0;
    let coverage = &site.coverage;
    let label = format!(
        "Coverage of {} from {} to {}: {} of the period watched ({} of {} hours), {} gap{}.",
        escape(&site.name),
        escape(&day_label(from)),
        escape(&day_label(to)),
        percent(coverage.share),
        number(coverage.covered_hours.round()),
        number(coverage.period_hours.round()),
        coverage.gaps.len(),
        if coverage.gaps.len() == 1 { "" } else { "s" }
    );
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"coverage-strip\" role=\"img\" aria-label=\"{label}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">\n<title>{label}</title>\n",
        coord(WIDTH),
        coord(HEIGHT)
    );
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" dy=\"0.32em\" text-anchor=\"end\" fill=\"#57606a\">watched</text>",
        coord(LEFT - 6.0),
        coord(TOP + STRIP_HEIGHT / 2.0)
    );
    let x_of = |hours: f64, total: f64| {
        LEFT + PLOT_WIDTH
            * if total > 0.0 {
                (hours / total).clamp(0.0, 1.0)
            } else {
                0.0
            }
    };
    let mut mark = |class: &str, fill: &str, start: f64, end: f64, total: f64, title: String| {
        let (left, right) = (x_of(start, total), x_of(end, total));
        let _ = writeln!(
            svg,
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{title}</title></rect>",
            coord(left),
            coord(TOP),
            coord((right - left).max(0.5)),
            coord(STRIP_HEIGHT)
        );
    };
    let zone = TimeZone::get(&site.timezone).unwrap_or(TimeZone::UTC);
    let period = match (
        corridor_model::time::parse_date(from),
        corridor_model::time::parse_date(to),
    ) {
        (Some(from), Some(to)) => Some(crate::coverage::period_interval(from, to, &zone)),
        _ => None,
    };
    let total = coverage.period_hours;
    let gaps = period.and_then(|period| gap_spans(site, period.start));
    let covered_colour = "#2f6f9f";
    let gap_colour = DayState::NotCovered.colour();
    match gaps {
        Some(gaps) => {
            // Covered spans are what lies between the gaps.
            let mut cursor = 0.0;
            for (gap, source) in gaps.iter().zip(&coverage.gaps) {
                if gap.start > cursor {
                    mark(
                        "covered",
                        covered_colour,
                        cursor,
                        gap.start,
                        total,
                        "covered".to_string(),
                    );
                }
                let title = format!(
                    "gap: nobody recorded watching from {} to {}",
                    escape(&source.start),
                    escape(&source.end)
                );
                mark("gap", gap_colour, gap.start, gap.end, total, title);
                cursor = gap.end;
            }
            if total > cursor {
                mark(
                    "covered",
                    covered_colour,
                    cursor,
                    total,
                    total,
                    "covered".to_string(),
                );
            }
        }
        None => {
            // Times that cannot be read: show each day's covered share instead.
            let days = &site.access.days;
            let hours_per_day = if days.is_empty() {
                0.0
            } else {
                total / days.len() as f64
            };
            for (index, day) in days.iter().enumerate() {
                let start = index as f64 * hours_per_day;
                let covered_end = start + hours_per_day * day.covered_share.clamp(0.0, 1.0);
                if day.covered_share > 0.0 {
                    mark(
                        "covered",
                        covered_colour,
                        start,
                        covered_end,
                        total,
                        format!(
                            "{}: {} covered",
                            escape(&day.day),
                            percent(day.covered_share)
                        ),
                    );
                }
                if day.covered_share < 1.0 {
                    mark(
                        "gap",
                        gap_colour,
                        covered_end,
                        start + hours_per_day,
                        total,
                        format!("{}: not all of the day covered", escape(&day.day)),
                    );
                }
            }
        }
    }
    let text_y = coord(TOP + STRIP_HEIGHT + 15.0);
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{text_y}\" fill=\"#57606a\">{}</text><text x=\"{}\" y=\"{text_y}\" text-anchor=\"end\" fill=\"#57606a\">{} (end of day)</text>",
        coord(LEFT),
        escape(&day_label(from)),
        coord(LEFT + PLOT_WIDTH),
        escape(&day_label(to))
    );
    svg.push_str("</svg>");
    svg
}

/// Vehicles by operator category as horizontal bars, largest first.
pub fn categories(rows: &[(String, f64)]) -> String {
    const ROW: f64 = 28.0;
    const BAR: f64 = 18.0;
    // Narrower than the daily chart, so its text stays readable on a phone.
    const CHART_WIDTH: f64 = 520.0;
    const LABEL_WIDTH: f64 = 130.0;
    const VALUE_WIDTH: f64 = 110.0;
    let total: f64 = rows.iter().map(|(_, vehicles)| vehicles).sum();
    let largest = rows
        .iter()
        .map(|(_, vehicles)| *vehicles)
        .fold(0.0, f64::max);
    let height = ROW * rows.len().max(1) as f64 + 8.0;
    let words: Vec<String> = rows
        .iter()
        .map(|(category, vehicles)| {
            format!(
                "{} {}",
                escape(&category.replace('_', " ")),
                number(*vehicles)
            )
        })
        .collect();
    let label = format!(
        "Vehicles by operator category: {}.",
        if words.is_empty() {
            "none recorded".to_string()
        } else {
            words.join(", ")
        }
    );
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"categories\" role=\"img\" aria-label=\"{label}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"13\">\n<title>{label}</title>\n",
        coord(CHART_WIDTH),
        coord(height)
    );
    let bar_space = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    for (index, (category, vehicles)) in rows.iter().enumerate() {
        let y = 4.0 + index as f64 * ROW;
        let width = if largest > 0.0 {
            bar_space * vehicles / largest
        } else {
            0.0
        };
        let share = if total > 0.0 {
            percent(vehicles / total)
        } else {
            "—".to_string()
        };
        let name = escape(&category.replace('_', " "));
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" dy=\"0.32em\" text-anchor=\"end\" fill=\"#24292f\">{name}</text><rect class=\"bar\" data-category=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#33465c\"><title>{name}: {} vehicles, {share} of all</title></rect><text x=\"{}\" y=\"{}\" dy=\"0.32em\" fill=\"#24292f\">{} ({share})</text>",
            coord(LABEL_WIDTH - 8.0),
            coord(y + BAR / 2.0),
            escape(category),
            coord(LABEL_WIDTH),
            coord(y),
            coord(width.max(if *vehicles > 0.0 { 1.0 } else { 0.0 })),
            coord(BAR),
            number(*vehicles),
            coord(LABEL_WIDTH + width + 6.0),
            coord(y + BAR / 2.0),
            number(*vehicles)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_baseline_forty_times_the_flow_makes_the_scale_logarithmic() {
        let scale = Scale::choose(23.0, Some(920.0));
        assert_eq!(scale, Scale::Logarithmic { top: 1000.0 });
        assert_eq!(scale.ticks(), vec![0.0, 10.0, 100.0, 1000.0]);
        assert_eq!(
            Scale::choose(8.0, Some(90.0)).ticks(),
            vec![0.0, 1.0, 10.0, 100.0]
        );
        // 23 a day must still be a bar of visible height: about 45% of the axis.
        assert!(scale.fraction(23.0) > 0.4, "{}", scale.fraction(23.0));
        assert_eq!(scale.fraction(0.0), 0.0);
    }

    #[test]
    fn comparable_flow_and_baseline_keep_a_linear_scale() {
        let scale = Scale::choose(700.0, Some(920.0));
        assert_eq!(
            scale,
            Scale::Linear {
                top: 1000.0,
                step: 500.0
            }
        );
        assert_eq!(scale.ticks(), vec![0.0, 500.0, 1000.0]);
        assert_eq!(
            Scale::choose(0.0, None),
            Scale::Linear {
                top: 1.0,
                step: 1.0
            }
        );
        assert_eq!(Scale::choose(0.0, Some(920.0)).class(), "scale-linear");
    }

    #[test]
    fn coordinates_are_short_and_stable() {
        assert_eq!(coord(12.0), "12");
        assert_eq!(coord(12.345), "12.35");
        assert_eq!(coord(-0.001), "0");
        assert_eq!(coord(0.5), "0.5");
    }
}
