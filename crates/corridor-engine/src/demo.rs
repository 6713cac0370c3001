//! The demo data set: the Lachin road case of docs/case.md, as records.
//!
//! Only the aggregates are public figures, each cited as a reader would cite it:
//! who said it, on what occasion and date, and where it was read. Both sides are
//! cited in the same form. The individual passage records are synthetic: they
//! spread those published totals evenly over the days of the period and over
//! single vehicles, and say so in every record (`attributes.synthetic`, `notes`).
//! Nothing else is invented, except a handful of appeals that illustrate the
//! record type and are marked as such. A figure whose source was not found says
//! so in its record.

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
        ..Config::new(demo_origin()?)
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

/// The start of a demo store's origin; it says it is a demo. Each demo
/// store adds 8 random hex digits (`...lachin-synthetic-1f2e3d4c`): every
/// demo has a key of its own, so it is a log of its own, and a verifier
/// that checked one demo must not take another for a fork of it.
pub const DEMO_ORIGIN: &str = "demo.corridor.invalid/lachin-synthetic";

/// A fresh demo origin: [`DEMO_ORIGIN`], a dash and 8 random hex digits.
fn demo_origin() -> Result<String, EngineError> {
    let mut suffix = [0_u8; 4];
    getrandom::fill(&mut suffix).map_err(|error| EngineError::Io {
        path: "operating system random source".into(),
        source: std::io::Error::other(error.to_string()),
    })?;
    Ok(format!("{DEMO_ORIGIN}-{}", hex::encode(suffix)))
}
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

/// The President of Azerbaijan's figures for 12 December 2022 – 23 January 2023.
///
/// The release's address on president.az was not found; its text was read in a
/// republication of the same day, which is the address given.
fn azerbaijan_president_call() -> Value {
    json!({
        "kind": "official_statement",
        "name": "Ilham Aliyev, President of Azerbaijan, in a phone call with US Secretary of State Antony Blinken, 23 January 2023, as reported by President.Az (text read in EIN Presswire's republication)",
        "url": "https://www.einpresswire.com/article/613030879/u-s-secretary-of-state-antony-blinken-made-a-phone-call-to-the-president-of-the-republic-of-azerbaijan-ilham-aliyev",
        "published_on": "2023-01-23",
    })
}

/// The Nagorno-Karabakh ombudsman's pre-blockade baseline and 150-day count.
fn karabakh_ombudsman_report() -> Value {
    json!({
        "kind": "official_statement",
        "name": "Gegham Stepanyan, Human Rights Defender of the Republic of Artsakh (Nagorno-Karabakh), updated ad hoc report on the 150-day blockade, as reported by Artsakhpress, 12 May 2023",
        "url": "https://www.artsakhpress.am/eng/news/181271/",
        "published_on": "2023-05-12",
    })
}

/// The Nagorno-Karabakh authorities' report of the road's closure on 12 December 2022.
fn karabakh_information_center() -> Value {
    json!({
        "kind": "official_statement",
        "name": "Artsakh Information Center (Nagorno-Karabakh authorities), release on the closure of the Stepanakert-Goris road on 12 December 2022, as reported by Mediamax, 13 December 2022",
        "url": "https://mediamax.am/en/news/karabakh/49673/",
        "published_on": "2022-12-13",
    })
}

/// Azerbaijan's ministries on the planned inspection of the two deposits.
fn azerbaijan_ministries_statement() -> Value {
    json!({
        "kind": "official_statement",
        "name": "Ministry of Economy and Ministry of Ecology and Natural Resources of Azerbaijan, joint statement on monitoring the Gizilbulag and Demirli deposits, 10 December 2022, as reported by Trend (republished by Today.az)",
        "url": "http://www.today.az/news/politics/229076.html",
        "published_on": "2022-12-10",
    })
}

/// The report that the inspection visit did not take place.
fn trend_inspection_report() -> Value {
    json!({
        "kind": "media_report",
        "name": "Trend news agency, report from near Shusha that the expert group's inspection of the deposits did not take place, 15 December 2022 (republished by Today.az)",
        "url": "http://www.today.az/news/podcasting/229262.html",
        "published_on": "2022-12-15",
    })
}

const RECORDED_BY: &str = "corridor-demo";
const SYNTHETIC_NOTE: &str = "Synthetic record: it spreads a published aggregate over days and vehicles. Only the aggregate is a public figure; the source says who published it.";
/// Said wherever the 26-civilians figure appears, because its source was not found.
const CIVILIANS_UNSOURCED: &str = "No source was found for this figure: Corridor's original brief attributes it to the same statement, but the republished text of the release breaks off before any such passage (see docs/case.md).";

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
            "timezone": "Asia/Baku", "source": azerbaijan_president_call(), "recorded_by": RECORDED_BY,
            "latitude": 39.7417, "longitude": 46.7492,
            "notes": "The road of the case in docs/case.md: the Lachin-Khankendi road in Azerbaijani sources, the Stepanakert-Goris highway in Armenian and Nagorno-Karabakh ones. The demo records on it are synthetic; see each record's notes. Position: approximate, the village of Dashalty / Karin Tak below Shusha (Shushi), where the protest camp stood on the road in front of a peacekeeping post from 12 December 2022."
        })),
        object(json!({
            "type": "site", "id": "gold-mine", "name": "Gizilbulag gold deposit (inspection site)", "kind": "mine",
            "timezone": "Asia/Baku", "source": azerbaijan_ministries_statement(), "recorded_by": RECORDED_BY,
            "latitude": 40.1467, "longitude": 46.6075,
            "notes": "The Gizilbulag (Drmbon) gold deposit. Position: approximate, the village of Heyvali / Drmbon beside the deposit."
        })),
        object(json!({
            "type": "site", "id": "copper-molybdenum-mine", "name": "Demirli copper-molybdenum deposit (inspection site)", "kind": "mine",
            "timezone": "Asia/Baku", "source": azerbaijan_ministries_statement(), "recorded_by": RECORDED_BY,
            "latitude": 40.1788, "longitude": 46.7652,
            "notes": "The Demirli (Kashen) copper-molybdenum deposit. Position: approximate, the village of Damirli / Tsaghkashen that gives the deposit its name."
        })),
        object(json!({
            "type": "mission", "id": "mission-inspection-2022-12-10", "kind": "inspection_visit",
            "organisation": "Azerbaijani expert group (Ministry of Ecology and Natural Resources, State Property Service, AzerGold)", "category": "other",
            "sites": ["gold-mine", "copper-molybdenum-mine"], "planned_start": "2022-12-10",
            "plan": "Preliminary monitoring of the two deposits, agreed with the Russian peacekeepers' command on 3 and 7 December 2022.",
            "outcome": "obstructed", "outcome_reason": "According to the report, the group met provocations on arrival and the inspection did not take place; it blames the peacekeepers for not creating the conditions for it.",
            "source": trend_inspection_report(), "recorded_by": RECORDED_BY
        })),
        object(json!({
            "type": "incident", "id": "incident-road-obstruction", "kind": "road_obstruction", "site": DEMO_SITE,
            "started_at": DEMO_FROM,
            "description": "From about 10:30 on 12 December 2022 a group of Azerbaijanis, saying they protested against illegal mining, stopped traffic on the road near Shusha (Shushi) and kept a camp there. The Nagorno-Karabakh authorities called it a blockade; the President of Azerbaijan said the road was not closed.",
            "source": karabakh_information_center(), "recorded_by": RECORDED_BY
        })),
        object(json!({
            "type": "coverage", "id": "coverage-register", "site": DEMO_SITE, "start": DEMO_FROM, "end": DEMO_TO,
            "mode": "register", "metrics": ["vehicles", "passages", "passengers", "medical_evacuees"],
            "source": azerbaijan_president_call(), "recorded_by": RECORDED_BY,
            "notes": "An assumption of the demo, not a published fact: the statement does not say how its figures were counted. The demo reads them as a complete register of the road for the period, covering what the statement gives (vehicles, passengers, medical evacuees), not tonnes."
        })),
        object(json!({
            "type": "baseline", "id": "baseline-vehicles", "site": DEMO_SITE, "metric": "vehicles", "direction": "both",
            "per_day": 920, "source": karabakh_ombudsman_report(), "recorded_by": RECORDED_BY,
            "notes": "About 920 vehicles a day on average in both directions before the blockade began on 12 December 2022, according to the Nagorno-Karabakh Human Rights Defender's 150-day report."
        })),
        object(json!({
            "type": "baseline", "id": "baseline-tonnes", "site": DEMO_SITE, "metric": "tonnes", "direction": "inbound",
            "per_day": 400, "source": karabakh_ombudsman_report(), "recorded_by": RECORDED_BY,
            "notes": "About 400 tonnes of goods a day on average brought in before the blockade began on 12 December 2022, according to the Nagorno-Karabakh Human Rights Defender's 150-day report."
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
                "source": azerbaijan_president_call(),
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
                    "{SYNTHETIC_NOTE} The demo's claim says peacekeepers carried 26 civilians, 20 of them teenagers, back in on 17 January; the split over two vehicles is synthetic. {CIVILIANS_UNSOURCED}"
                ));
            }
            records.push(object(record));
        }
    }
    records
}

/// Illustrative appeals: the hotline's existence was reported, its calls were not.
fn appeals() -> Vec<Map<String, Value>> {
    let illustration = "Illustrative record: a hotline for Karabakh Armenians was announced by a participant in the protest (News.am, 16 December 2022, https://news.am/eng/news/735554.html), but no figures on its calls were found.";
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
            "text": "There is no blockade of the Lachin-Khankendi road: since 12 December 2022 some 980 vehicles have used it, more than 850 of them belonging to the Russian peacekeepers and more than 120 to the ICRC, and the ICRC has taken about 90 sick people and others needing medical care to Armenia; these facts show that Azerbaijan did not close the road. [Also checked, source not found: on 17 January peacekeepers carried 26 civilians, 20 of them teenagers, back in.]",
            "speaker": "Ilham Aliyev, President of Azerbaijan",
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
            "source": azerbaijan_president_call(), "recorded_by": RECORDED_BY,
            "notes": format!("The text follows the release's account of what the President said; \"about 980\" is checked as exactly 980. The 26-civilians assertion: {CIVILIANS_UNSOURCED}")
        })),
        object(json!({
            "type": "claim", "id": "claim-blockade-150-days",
            "text": "Before the blockade an average of about 920 vehicles a day used the Stepanakert-Goris highway in both directions; in the 150 days of blockade no vehicle of a resident passed, only those of the ICRC and the Russian peacekeepers, 2,558 entries and exits in all, counting empty lorries that went out to fetch aid.",
            "speaker": "Gegham Stepanyan, Human Rights Defender of the Republic of Artsakh (Nagorno-Karabakh)",
            "said_on": "2023-05-12",
            "assertions": [
                {"metric": "vehicles", "op": "eq", "value": 2558, "from": DEMO_FROM, "to": "2023-05-10", "sites": [DEMO_SITE]},
                {"metric": "vehicles", "op": "eq", "value": 0, "category": "civilian", "from": DEMO_FROM, "to": "2023-05-10", "sites": [DEMO_SITE]},
            ],
            "source": karabakh_ombudsman_report(), "recorded_by": RECORDED_BY,
            "notes": "said_on is the date Artsakhpress reported the updated report; the 150 days run from 12 December 2022 to 10 May 2023."
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
    fn every_published_figure_is_cited_with_its_date_and_address() {
        for record in records() {
            let source = &record["source"];
            if source["kind"] == "document" {
                // The illustrative appeals cite no one, and say they are invented.
                assert_eq!(record["attributes"]["synthetic"], "true", "{record:?}");
                continue;
            }
            let name = source["name"].as_str().unwrap_or_default();
            assert!(
                name.contains(" 2022") || name.contains(" 2023"),
                "the source names its date: {name}"
            );
            if source["kind"] == "official_statement" {
                assert!(
                    name.contains(", as reported by "),
                    "a statement names the outlet it was read in: {name}"
                );
            }
            assert!(
                source["url"]
                    .as_str()
                    .is_some_and(|url| url.starts_with("http")),
                "{record:?}"
            );
            assert!(source["published_on"].is_string(), "{record:?}");
        }
    }

    #[test]
    fn the_figure_without_a_source_says_so() {
        let claims = claims();
        let road_not_closed = &claims[0];
        assert_eq!(road_not_closed["id"], "claim-road-not-closed");
        assert!(
            road_not_closed["notes"]
                .as_str()
                .is_some_and(|notes| notes.contains(CIVILIANS_UNSOURCED))
        );
        let civilians_carried_in = passages_where(|record| record["direction"] == "inbound");
        assert!(civilians_carried_in.iter().all(|record| {
            record["notes"]
                .as_str()
                .is_some_and(|notes| notes.contains(CIVILIANS_UNSOURCED))
        }));
    }

    #[test]
    fn every_record_says_who_published_it() {
        for record in records() {
            let source = record["source"]["name"].as_str().unwrap_or_default();
            assert!(!source.is_empty(), "{record:?}");
        }
    }
}
