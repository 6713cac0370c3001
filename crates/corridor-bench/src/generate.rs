//! Deterministic synthetic passages for benchmarks: several sites, every
//! operator category, both directions, some cargo, spread over 120 days.

use serde_json::{Value, json};

pub const SITES: &[(&str, &str)] = &[
    ("bench-north", "Asia/Baku"),
    ("bench-south", "Asia/Yerevan"),
    ("bench-port", "Europe/Istanbul"),
];
pub const DAYS: u64 = 120;

/// Every operator category, so benchmarks exercise the whole vocabulary.
pub const CATEGORIES: &[&str] = &[
    "peacekeeping",
    "red_cross",
    "un",
    "ngo",
    "civilian",
    "commercial",
    "government",
    "military",
    "media",
    "other",
];
const DIRECTIONS: &[&str] = &["inbound", "outbound", "unknown"];
const OUTCOMES: &[&str] = &[
    "passed",
    "passed",
    "passed",
    "passed",
    "turned_back",
    "delayed",
];

/// The site records the passages refer to.
pub fn sites() -> Vec<Value> {
    SITES
        .iter()
        .map(|(id, zone)| {
            json!({"type": "site", "id": id, "name": format!("Benchmark site {id}"), "kind": "checkpoint", "timezone": zone,
                   "source": {"kind": "document", "name": "benchmark"}, "recorded_by": "bench"})
        })
        .collect()
}

/// A cheap deterministic mix (splitmix64), so runs are comparable.
fn mix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// The `index`-th passage as a JSON Lines record.
pub fn passage(index: u64, total: u64) -> Value {
    let random = mix(index);
    let (site, _) = SITES[(random % SITES.len() as u64) as usize];
    // Spread evenly over the days in submission order, as a live feed would be.
    let day = index * DAYS / total.max(1);
    let date = jiff::civil::Date::constant(2022, 11, 1)
        .checked_add(jiff::Span::new().days(day as i64))
        .unwrap_or(jiff::civil::Date::constant(2022, 11, 1));
    let minute = (random >> 8) % 1440;
    let category = CATEGORIES[((random >> 20) % CATEGORIES.len() as u64) as usize];
    let mut record = json!({
        "type": "passage",
        "id": format!("p-{index:09}"),
        "site": site,
        "observed_at": format!("{}T{:02}:{:02}:00", date.strftime("%Y-%m-%d"), minute / 60, minute % 60),
        "direction": DIRECTIONS[((random >> 28) % 3) as usize],
        "category": category,
        "vehicle_class": "truck",
        "outcome": OUTCOMES[((random >> 32) % OUTCOMES.len() as u64) as usize],
        "source": {"kind": "direct_observation", "name": "bench observers"},
        "recorded_by": "bench",
    });
    if category == "commercial" {
        record["cargo"] =
            json!([{"kind": "food", "tonnes": ((random >> 40) % 20_000) as f64 / 1000.0}]);
    }
    if (random >> 36).is_multiple_of(4) {
        record["passengers"] = json!((random >> 44) % 5);
    }
    record
}
