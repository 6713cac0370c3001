//! The demo data set: the real case from the design brief, as records.
//!
//! Only the aggregates are public figures, each attributed to the party that
//! published it. The individual passage records are synthetic: they spread
//! those published totals evenly over the days of the period and over single
//! vehicles, and say so in every record (`attributes.synthetic`, `notes`).
//! Nothing else is invented, except a handful of appeals that illustrate the
//! record type and are marked as such.

use std::path::Path;

use corridor_model::{Location, RecordError};
use serde_json::{Map, Value, json};

use crate::{Config, DataDir, EngineError, SubmitSummary, WriterLock};

/// Creates (or re-creates) the demo store at `root` and loads the demo records.
///
/// `root` must be missing, empty, or an earlier demo store; a directory with
/// real records is refused.
///
/// # Errors
/// `root` holds something else, or writing fails.
pub fn create(root: &Path) -> Result<(DataDir, SubmitSummary), EngineError> {
    match DataDir::open(root) {
        Ok(existing) if existing.config().demo => {
            // Hold the writer lock while wiping, so a running demo server is not
            // pulled out from under its feet.
            let _lock = WriterLock::acquire(&root.join(crate::LOCK_FILE), "corridor demo")?;
            std::fs::remove_dir_all(root).map_err(|error| EngineError::io(root, error))?;
        }
        Ok(_) => {
            return Err(EngineError::NotDemo {
                path: root.display().to_string(),
            });
        }
        Err(EngineError::NotInitialized { .. }) => {}
        Err(error) => return Err(error),
    }
    let config = Config {
        demo: true,
        ..Config::new(DEMO_ORIGIN)
    };
    let data_dir = DataDir::init(root, config)?;
    let mut writer = data_dir.writer("corridor demo")?;
    let mut rejected: Vec<RecordError> = Vec::new();
    let items = records()
        .into_iter()
        .enumerate()
        .map(|(index, record)| Ok((Location::Item(index as u64), record)));
    let summary = writer
        .submit_all(items, |error| rejected.push(error.clone()), |_| {})
        .map_err(|failure| failure.error)?;
    if let Some(error) = rejected.first() {
        // The demo data is part of the program: a rejected record is a bug.
        return Err(EngineError::DemoRejected(error.to_string()));
    }
    drop(writer);
    Ok((data_dir, summary))
}

/// The origin of a demo store; it says it is a demo.
pub const DEMO_ORIGIN: &str = "demo.corridor.invalid/lachin-synthetic";
/// The road's site id.
pub const DEMO_SITE: &str = "lachin-road";
/// First and last day of the period the published figures cover.
pub const DEMO_FROM: &str = "2022-12-12";
pub const DEMO_TO: &str = "2023-01-23";

/// Published totals the synthetic passages must add up to.
pub const PEACEKEEPING_VEHICLES: u32 = 858;
pub const RED_CROSS_VEHICLES: u32 = 122;
pub const MEDICAL_EVACUEES: u32 = 90;
pub const CIVILIANS_CARRIED_IN: u32 = 26;

const STATEMENT_A: &str = "Statement by the government that said the road was not closed (figures for 12 Dec 2022 - 23 Jan 2023, as quoted in Corridor's design brief)";
const STATEMENT_B: &str = "Statement by officials of the other party, who called the period a blockade (as quoted in Corridor's design brief)";
const RECORDED_BY: &str = "corridor-demo";
const SYNTHETIC_NOTE: &str = "Synthetic record: it spreads a published aggregate over days and vehicles. Only the aggregate is a public figure.";

fn source(name: &str) -> Value {
    json!({"kind": "official_statement", "name": name})
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Splits `total` over `parts` as evenly as integers allow.
fn spread(total: u32, parts: u32, index: u32) -> u32 {
    let total = u64::from(total);
    let parts = u64::from(parts);
    let index = u64::from(index);
    ((index + 1) * total / parts - index * total / parts) as u32
}

/// The demo records, in an order in which every reference comes after what it names.
pub fn records() -> Vec<Map<String, Value>> {
    let mut records = vec![
        object(json!({
            "type": "site", "id": DEMO_SITE, "name": "Lachin corridor road (demo site)", "kind": "road_segment",
            "timezone": "Asia/Baku", "source": source(STATEMENT_A), "recorded_by": RECORDED_BY,
            "latitude": 39.7417, "longitude": 46.7492,
            "notes": "The road of the case in Corridor's design brief. The demo records on it are synthetic; see each record's notes. Position: approximate, the village of Dashalty / Karin Tak below Shusha (Shushi), where the protest camp stood on the road in front of a peacekeeping post from 12 December 2022."
        })),
        object(json!({
            "type": "site", "id": "gold-mine", "name": "Gold deposit (inspection site)", "kind": "mine",
            "timezone": "Asia/Baku", "source": source(STATEMENT_A), "recorded_by": RECORDED_BY,
            "latitude": 40.1467, "longitude": 46.6075,
            "notes": "The Gizilbulag (Drmbon) gold deposit. Position: approximate, the village of Heyvali / Drmbon beside the deposit."
        })),
        object(json!({
            "type": "site", "id": "copper-molybdenum-mine", "name": "Copper-molybdenum deposit (inspection site)", "kind": "mine",
            "timezone": "Asia/Baku", "source": source(STATEMENT_A), "recorded_by": RECORDED_BY,
            "latitude": 40.1788, "longitude": 46.7652,
            "notes": "The Demirli (Kashen) copper-molybdenum deposit. Position: approximate, the village of Damirli / Tsaghkashen that gives the deposit its name."
        })),
        object(json!({
            "type": "mission", "id": "mission-inspection-2022-12-10", "kind": "inspection_visit",
            "organisation": "Environmental experts (agreed visit)", "category": "other",
            "sites": ["gold-mine", "copper-molybdenum-mine"], "planned_start": "2022-12-10",
            "plan": "Agreed visit of environmental experts to two mineral deposits.",
            "outcome": "obstructed", "outcome_reason": "The visit was obstructed on the day, as the design brief's case records.",
            "source": source(STATEMENT_A), "recorded_by": RECORDED_BY
        })),
        object(json!({
            "type": "incident", "id": "incident-road-obstruction", "kind": "road_obstruction", "site": DEMO_SITE,
            "started_at": DEMO_FROM,
            "description": "Protest camp on the road from 12 December 2022. One party says the road stayed open; the other calls the period a blockade.",
            "source": source(STATEMENT_B), "recorded_by": RECORDED_BY
        })),
        object(json!({
            "type": "coverage", "id": "coverage-register", "site": DEMO_SITE, "start": DEMO_FROM, "end": DEMO_TO,
            "mode": "register", "metrics": ["vehicles", "passages", "passengers", "medical_evacuees"],
            "source": source(STATEMENT_A), "recorded_by": RECORDED_BY,
            "notes": "The published figures come from a register kept by the party that published them. The demo takes it to cover what that party published from it (vehicles, passengers, medical evacuees), not tonnes."
        })),
        object(json!({
            "type": "baseline", "id": "baseline-vehicles", "site": DEMO_SITE, "metric": "vehicles", "direction": "both",
            "per_day": 920, "source": source(STATEMENT_B), "recorded_by": RECORDED_BY,
            "notes": "About 920 vehicles a day in both directions before 12 December 2022, per the other party's officials."
        })),
        object(json!({
            "type": "baseline", "id": "baseline-tonnes", "site": DEMO_SITE, "metric": "tonnes", "direction": "inbound",
            "per_day": 400, "source": source(STATEMENT_B), "recorded_by": RECORDED_BY,
            "notes": "About 400 tonnes of goods a day inbound before 12 December 2022, per the other party's officials."
        })),
    ];
    records.extend(passages());
    records.extend(appeals());
    records.extend(claims());
    records
}

/// The synthetic passages: 858 peacekeeping and 122 ICRC vehicles over the 43
/// days, ICRC vehicles carrying the 90 medical evacuees out, and peacekeeping
/// vehicles carrying 26 civilians in on 17 January.
fn passages() -> Vec<Map<String, Value>> {
    let first = jiff::civil::Date::constant(2022, 12, 12);
    let days = 43_u32;
    let civilians_day = jiff::civil::Date::constant(2023, 1, 17);
    let mut evacuation_vehicle = 0_u32;
    let mut records = Vec::new();
    for day_index in 0..days {
        let date = first
            .checked_add(jiff::Span::new().days(i64::from(day_index)))
            .unwrap_or(first);
        let peacekeeping = spread(PEACEKEEPING_VEHICLES, days, day_index);
        let red_cross = spread(RED_CROSS_VEHICLES, days, day_index);
        let vehicles = peacekeeping + red_cross;
        for vehicle in 0..vehicles {
            // Spread the day's vehicles evenly between 08:00 and 18:00.
            let minutes = 8 * 60 + vehicle * 600 / vehicles.max(1);
            let observed_at = format!(
                "{}T{:02}:{:02}",
                date.strftime("%Y-%m-%d"),
                minutes / 60,
                minutes % 60
            );
            let is_peacekeeping = vehicle < peacekeeping;
            let mut record = json!({
                "type": "passage",
                "id": format!("demo-{}-{:03}", date.strftime("%Y%m%d"), vehicle + 1),
                "site": DEMO_SITE,
                "observed_at": observed_at,
                "direction": "unknown",
                "category": if is_peacekeeping { "peacekeeping" } else { "red_cross" },
                "operator": if is_peacekeeping { "Peacekeeping force" } else { "ICRC" },
                "source": source(STATEMENT_A),
                "recorded_by": RECORDED_BY,
                "attributes": {"synthetic": "true"},
                "notes": SYNTHETIC_NOTE,
            });
            if !is_peacekeeping && vehicle == peacekeeping {
                // The day's first ICRC vehicle carries that day's share of evacuees out.
                let evacuees = spread(MEDICAL_EVACUEES, days, evacuation_vehicle);
                evacuation_vehicle += 1;
                record["direction"] = json!("outbound");
                record["passengers"] = json!(evacuees);
                record["medical_evacuees"] = json!(evacuees);
            }
            if date == civilians_day && is_peacekeeping && vehicle < 2 {
                record["direction"] = json!("inbound");
                record["passengers"] = json!(spread(CIVILIANS_CARRIED_IN, 2, vehicle));
                record["notes"] = json!(format!(
                    "{SYNTHETIC_NOTE} The statement says peacekeepers carried 26 civilians, 20 of them teenagers, back in on 17 January; the split over two vehicles is synthetic."
                ));
            }
            records.push(object(record));
        }
    }
    records
}

/// Illustrative appeals: the case mentions a hotline, not its calls.
fn appeals() -> Vec<Map<String, Value>> {
    let illustration = "Illustrative record: the case mentions a hotline residents could call, but no public figures on its calls exist.";
    [("medical", "2022-12-14", "referred"), ("supplies", "2022-12-20", "unresolved"), ("family", "2023-01-05", "received")]
        .iter()
        .enumerate()
        .map(|(index, (kind, day, status))| {
            object(json!({
                "type": "appeal", "id": format!("demo-appeal-{}", index + 1), "channel": "Protest camp hotline",
                "kind": kind, "received_at": day, "site": DEMO_SITE, "status": status,
                "source": {"kind": "document", "name": "Illustrative example (synthetic)"},
                "recorded_by": RECORDED_BY, "attributes": {"synthetic": "true"}, "notes": illustration
            }))
        })
        .collect()
}

/// The two parties' public statements as checkable claims.
fn claims() -> Vec<Map<String, Value>> {
    let period = |assertion: Value| {
        let mut assertion = object(assertion);
        assertion.insert("from".into(), json!(DEMO_FROM));
        assertion.insert("to".into(), json!(DEMO_TO));
        assertion.insert("sites".into(), json!([DEMO_SITE]));
        Value::Object(assertion)
    };
    vec![
        object(json!({
            "type": "claim", "id": "claim-road-not-closed",
            "text": "Between 12 December 2022 and 23 January 2023, 980 vehicles used the road, more than 850 of them belonging to the peacekeeping force and more than 120 to the ICRC; about 90 sick people were taken out by ICRC convoys; on 17 January peacekeepers carried 26 civilians, 20 of them teenagers, back in. The road was not closed.",
            "speaker": "Government of the party that said the road was not closed",
            "said_on": DEMO_TO,
            "assertions": [
                period(json!({"metric": "vehicles", "op": "eq", "value": 980})),
                period(json!({"metric": "vehicles", "op": "gt", "value": 850, "category": "peacekeeping"})),
                period(json!({"metric": "vehicles", "op": "gt", "value": 120, "category": "red_cross"})),
                period(json!({"metric": "medical_evacuees", "op": "approx", "value": 90, "tolerance": "10%", "category": "red_cross"})),
                {"metric": "passengers", "op": "eq", "value": 26, "category": "peacekeeping", "direction": "inbound",
                 "from": "2023-01-17", "to": "2023-01-17", "sites": [DEMO_SITE]},
                period(json!({"metric": "access_status", "op": "ne", "value": "closed"})),
            ],
            "source": source(STATEMENT_A), "recorded_by": RECORDED_BY,
            "notes": "said_on is the last day of the period the statement covers; the statement's own date is not in the design brief."
        })),
        object(json!({
            "type": "claim", "id": "claim-blockade-150-days",
            "text": "Before 12 December about 920 vehicles a day used the road in both directions; in the first 150 days of the protest there were only 2,558 entries and exits, all of them ICRC or peacekeepers.",
            "speaker": "Officials of the party that called the period a blockade",
            "said_on": "2023-05-10",
            "assertions": [
                {"metric": "vehicles", "op": "eq", "value": 2558, "from": DEMO_FROM, "to": "2023-05-10", "sites": [DEMO_SITE]},
                {"metric": "vehicles", "op": "eq", "value": 0, "category": "civilian", "from": DEMO_FROM, "to": "2023-05-10", "sites": [DEMO_SITE]},
            ],
            "source": source(STATEMENT_B), "recorded_by": RECORDED_BY,
            "notes": "said_on is the last of the 150 days the statement covers; the statement's own date is not in the design brief."
        })),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passages_where(predicate: impl Fn(&Map<String, Value>) -> bool) -> Vec<Map<String, Value>> {
        passages()
            .into_iter()
            .filter(|record| predicate(record))
            .collect()
    }

    fn sum(records: &[Map<String, Value>], field: &str) -> u64 {
        records
            .iter()
            .filter_map(|record| record.get(field).and_then(Value::as_u64))
            .sum()
    }

    #[test]
    fn the_passages_add_up_to_the_published_aggregates() {
        assert_eq!(passages().len(), 980);
        assert_eq!(
            passages_where(|record| record["category"] == "peacekeeping").len(),
            858
        );
        assert_eq!(
            passages_where(|record| record["category"] == "red_cross").len(),
            122
        );
        assert_eq!(sum(&passages(), "medical_evacuees"), 90);
        let civilians = passages_where(|record| record["direction"] == "inbound");
        assert_eq!(sum(&civilians, "passengers"), 26);
        assert!(civilians.iter().all(|record| {
            record["observed_at"]
                .as_str()
                .is_some_and(|at| at.starts_with("2023-01-17"))
        }));
        assert!(
            passages_where(|record| record.get("medical_evacuees").is_some_and(Value::is_u64))
                .iter()
                .all(
                    |record| record["category"] == "red_cross" && record["direction"] == "outbound"
                )
        );
    }

    #[test]
    fn spreading_keeps_the_total() {
        assert_eq!(
            (0..43).map(|index| spread(858, 43, index)).sum::<u32>(),
            858
        );
        assert_eq!((0..7).map(|index| spread(3, 7, index)).sum::<u32>(), 3);
    }

    #[test]
    fn every_record_says_who_published_it() {
        for record in records() {
            let source = record["source"]["name"].as_str().unwrap_or_default();
            assert!(!source.is_empty(), "{record:?}");
        }
    }
}
