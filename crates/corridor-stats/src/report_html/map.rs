//! The map of the sites, as inline SVG drawn from the sites' coordinates and
//! the Natural Earth country outlines committed with the code
//! (`data/countries-50m.json`, see `data/README.md`): no tile server, nothing
//! fetched, nothing run, so it works offline and within the strict content
//! security policy of the report and the dashboard.
//!
//! Each site with coordinates is a marker whose colour *and* shape give its
//! access status for the period, labelled with its name, its status in words
//! and its flow, and linked to its records; sites without coordinates are
//! listed beside the map. The map has a scale bar, a north arrow, a key and
//! a disclaimer on the boundaries it shows.
//!
//! Projection: equirectangular, with the standard parallel through the middle
//! of the map (x = R·Δλ·cos φ0, y = R·Δφ). Over the tens of kilometres a map
//! of a road and its checkpoints covers, distances read with the scale bar
//! are within a fraction of a percent of the truth, north is straight up
//! everywhere, and the map's rectangle is also a rectangle of longitude and
//! latitude, so cropping the outlines to it is exact.

use std::fmt::Write as _;
use std::sync::OnceLock;

use corridor_model::AccessStatus;
use serde::Deserialize;

use super::escape;
use super::figures::DayState;
use crate::numbers::number;
use crate::report::Coordinates;

/// Width of the map's coordinate system; the page scales it.
pub const WIDTH: f64 = 400.0;
/// Height of the map frame; the disclaimer sits below it.
pub const FRAME_HEIGHT: f64 = 340.0;
/// Room below the frame for the three lines of the disclaimer.
const FOOTER_HEIGHT: f64 = 50.0;
/// The smallest extent shown, in both directions: a single site or a few
/// close together still show the country around them, not one village.
pub const MINIMUM_SPAN_KM: f64 = 40.0;
/// Room around the sites, as a share of their extent on each side, so the
/// labels of the outermost sites fit and the country around them shows.
const MARGIN_SHARE: f64 = 0.45;
/// Mean Earth radius (IUGG), in kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0088;
/// The longest scale bar, as a share of the map's width.
const SCALE_BAR_SHARE: f64 = 0.3;
/// Marker size: the radius of the circle, in map units.
const MARKER_RADIUS: f64 = 7.0;
/// Label type sizes in map units: at 375 px phone width they are about
/// 11 px and 10 px, at desktop width larger.
const NAME_SIZE: f64 = 13.0;
const DETAIL_SIZE: f64 = 12.0;
const LINE_HEIGHT: f64 = 1.2;
/// Country names, in capitals and spaced out, muted under the sites.
const COUNTRY_SIZE: f64 = 12.0;
/// Names wrap at about this many characters a line.
const NAME_LINE_CHARACTERS: usize = 22;

/// The country outlines, as committed (see `scripts/natural-earth.mjs`).
const OUTLINES: &str = include_str!("../../data/countries-50m.json");

/// One site as the map draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct MapSite<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// Absent: the site is listed beside the map instead.
    pub coordinates: Option<Coordinates>,
    /// The access status for the period (or why there is none).
    pub state: DayState,
    /// Vehicles that went through (passed or delayed) in the period.
    pub flow: f64,
    /// Where the site's records are: markup, already escaped for an attribute.
    pub href: String,
}

/// Degrees of longitude and latitude: the rectangle a map shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl Bounds {
    fn intersects(self, other: Bounds) -> bool {
        self.west <= other.east
            && other.west <= self.east
            && self.south <= other.north
            && other.south <= self.north
    }
}

/// Kilometres per degree along a meridian.
fn km_per_degree() -> f64 {
    EARTH_RADIUS_KM * std::f64::consts::PI / 180.0
}

/// The equirectangular projection of one map: degrees to map units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    centre: Coordinates,
    /// cos φ0: how much shorter a degree of longitude is at the centre.
    parallel_factor: f64,
    /// Map units per kilometre.
    units_per_km: f64,
    width: f64,
    height: f64,
}

impl Projection {
    /// The projection that shows every point with room around it, at least
    /// [`MINIMUM_SPAN_KM`] across each way, in a `width` × `height` frame.
    /// `None` without points.
    pub fn fit(points: &[Coordinates], width: f64, height: f64) -> Option<Projection> {
        let first = points.first()?;
        let mut bounds = Bounds {
            west: first.longitude,
            south: first.latitude,
            east: first.longitude,
            north: first.latitude,
        };
        for point in points {
            bounds.west = bounds.west.min(point.longitude);
            bounds.east = bounds.east.max(point.longitude);
            bounds.south = bounds.south.min(point.latitude);
            bounds.north = bounds.north.max(point.latitude);
        }
        let centre = Coordinates {
            latitude: (bounds.south + bounds.north) / 2.0,
            longitude: (bounds.west + bounds.east) / 2.0,
        };
        // Near the poles a degree of longitude vanishes; no access road is there.
        let parallel_factor = centre.latitude.to_radians().cos().max(0.05);
        let span_east_km = (bounds.east - bounds.west) * km_per_degree() * parallel_factor;
        let span_north_km = (bounds.north - bounds.south) * km_per_degree();
        let needed_east = (span_east_km * (1.0 + 2.0 * MARGIN_SHARE)).max(MINIMUM_SPAN_KM);
        let needed_north = (span_north_km * (1.0 + 2.0 * MARGIN_SHARE)).max(MINIMUM_SPAN_KM);
        Some(Projection {
            centre,
            parallel_factor,
            units_per_km: (width / needed_east).min(height / needed_north),
            width,
            height,
        })
    }

    /// Where a point falls, in map units from the top left corner.
    pub fn project(&self, point: Coordinates) -> (f64, f64) {
        let east_km =
            (point.longitude - self.centre.longitude) * km_per_degree() * self.parallel_factor;
        let north_km = (point.latitude - self.centre.latitude) * km_per_degree();
        (
            self.width / 2.0 + east_km * self.units_per_km,
            self.height / 2.0 - north_km * self.units_per_km,
        )
    }

    /// Map units per kilometre.
    pub fn units_per_km(&self) -> f64 {
        self.units_per_km
    }

    /// The extent shown, in kilometres east–west and north–south.
    pub fn span_km(&self) -> (f64, f64) {
        (
            self.width / self.units_per_km,
            self.height / self.units_per_km,
        )
    }

    /// The rectangle of longitude and latitude the frame shows.
    pub fn bounds(&self) -> Bounds {
        let (east_km, north_km) = self.span_km();
        let half_longitude = east_km / 2.0 / (km_per_degree() * self.parallel_factor);
        let half_latitude = north_km / 2.0 / km_per_degree();
        Bounds {
            west: self.centre.longitude - half_longitude,
            south: self.centre.latitude - half_latitude,
            east: self.centre.longitude + half_longitude,
            north: self.centre.latitude + half_latitude,
        }
    }

    /// The scale bar: a round length (1, 2 or 5 times a power of ten km)
    /// no longer than [`SCALE_BAR_SHARE`] of the width, and its length in map units.
    pub fn scale_bar(&self) -> (f64, f64) {
        let longest_km = self.width * SCALE_BAR_SHARE / self.units_per_km;
        let magnitude = 10_f64.powf(longest_km.log10().floor());
        let km = [5.0, 2.0, 1.0]
            .into_iter()
            .map(|leading| leading * magnitude)
            .find(|km| *km <= longest_km)
            .unwrap_or(magnitude);
        (km, km * self.units_per_km)
    }
}

/// One country's outline: rings of (longitude, latitude), holes included
/// (drawn with the even-odd rule).
#[derive(Debug, Clone, PartialEq)]
pub struct Country {
    pub name: String,
    pub bounds: Bounds,
    pub rings: Vec<Vec<(f64, f64)>>,
}

#[derive(Deserialize)]
struct OutlineFile {
    /// Degrees per unit of the integers in the file.
    unit: f64,
    countries: Vec<OutlineRecord>,
}

#[derive(Deserialize)]
struct OutlineRecord {
    name: String,
    bbox: [i64; 4],
    /// Polygons of rings, each ring its first point then steps from point to point.
    polygons: Vec<Vec<Vec<i64>>>,
}

/// Reads the committed outline file.
fn parse_outlines(text: &str) -> Result<Vec<Country>, serde_json::Error> {
    let file: OutlineFile = serde_json::from_str(text)?;
    let unit = file.unit;
    Ok(file
        .countries
        .into_iter()
        .map(|record| {
            let [west, south, east, north] = record.bbox.map(|value| value as f64 * unit);
            let rings = record
                .polygons
                .iter()
                .flatten()
                .map(|steps| {
                    let mut points = Vec::with_capacity(steps.len() / 2);
                    let (mut longitude, mut latitude) = (0_i64, 0_i64);
                    for step in steps.chunks_exact(2) {
                        longitude += step[0];
                        latitude += step[1];
                        points.push((longitude as f64 * unit, latitude as f64 * unit));
                    }
                    points
                })
                .collect();
            Country {
                name: record.name,
                bounds: Bounds {
                    west,
                    south,
                    east,
                    north,
                },
                rings,
            }
        })
        .collect())
}

/// Every country outline, read once. The file is part of the program and a
/// unit test reads it; should it ever fail to parse, maps show no outlines
/// rather than no map.
pub fn countries() -> &'static [Country] {
    static COUNTRIES: OnceLock<Vec<Country>> = OnceLock::new();
    COUNTRIES.get_or_init(|| {
        parse_outlines(OUTLINES).unwrap_or_else(|error| {
            tracing::error!(%error, "the committed country outlines do not parse");
            Vec::new()
        })
    })
}

/// A ring cropped to `bounds` (Sutherland–Hodgman, one edge at a time):
/// what lies outside is replaced by the stretch of the edge it crossed, so
/// a cropped polygon still fills exactly its part of the rectangle.
pub fn crop_ring(ring: &[(f64, f64)], bounds: Bounds) -> Vec<(f64, f64)> {
    type Inside = fn(Bounds, (f64, f64)) -> bool;
    type Cross = fn(Bounds, (f64, f64), (f64, f64)) -> (f64, f64);
    // Where the segment from `from` to `to` meets a line of constant longitude or latitude.
    fn at_longitude(longitude: f64, from: (f64, f64), to: (f64, f64)) -> (f64, f64) {
        let share = (longitude - from.0) / (to.0 - from.0);
        (longitude, from.1 + share * (to.1 - from.1))
    }
    fn at_latitude(latitude: f64, from: (f64, f64), to: (f64, f64)) -> (f64, f64) {
        let share = (latitude - from.1) / (to.1 - from.1);
        (from.0 + share * (to.0 - from.0), latitude)
    }
    let edges: [(Inside, Cross); 4] = [
        (
            |bounds, point| point.0 >= bounds.west,
            |bounds, from, to| at_longitude(bounds.west, from, to),
        ),
        (
            |bounds, point| point.0 <= bounds.east,
            |bounds, from, to| at_longitude(bounds.east, from, to),
        ),
        (
            |bounds, point| point.1 >= bounds.south,
            |bounds, from, to| at_latitude(bounds.south, from, to),
        ),
        (
            |bounds, point| point.1 <= bounds.north,
            |bounds, from, to| at_latitude(bounds.north, from, to),
        ),
    ];
    let mut points = ring.to_vec();
    for (inside, cross) in edges {
        let Some(&last) = points.last() else {
            break;
        };
        let mut kept = Vec::with_capacity(points.len() + 4);
        let mut previous = last;
        for &point in &points {
            match (inside(bounds, previous), inside(bounds, point)) {
                (true, true) => kept.push(point),
                (true, false) => kept.push(cross(bounds, previous, point)),
                (false, true) => {
                    kept.push(cross(bounds, previous, point));
                    kept.push(point);
                }
                (false, false) => {}
            }
            previous = point;
        }
        points = kept;
    }
    if points.len() < 3 { Vec::new() } else { points }
}

/// A map coordinate with at most one decimal, so output stays small and
/// the same from run to run.
fn unit(value: f64) -> String {
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// The outline rings of `country` inside the projection's frame, in map units.
fn projected_rings(country: &Country, projection: &Projection) -> Vec<Vec<(f64, f64)>> {
    let bounds = projection.bounds();
    if !country.bounds.intersects(bounds) {
        return Vec::new();
    }
    country
        .rings
        .iter()
        .map(|ring| crop_ring(ring, bounds))
        .filter(|cropped| !cropped.is_empty())
        .map(|cropped| {
            cropped
                .iter()
                .map(|(longitude, latitude)| {
                    projection.project(Coordinates {
                        latitude: *latitude,
                        longitude: *longitude,
                    })
                })
                .collect()
        })
        .collect()
}

/// Rings as SVG path data.
fn path_data(rings: &[Vec<(f64, f64)>]) -> String {
    let mut path = String::new();
    for ring in rings {
        for (index, (x, y)) in ring.iter().enumerate() {
            let _ = write!(
                path,
                "{}{} {}",
                if index == 0 { "M" } else { "L" },
                unit(*x),
                unit(*y)
            );
        }
        path.push('Z');
    }
    path
}

/// The area (shoelace formula, unsigned) and centroid of a ring.
fn area_and_centroid(ring: &[(f64, f64)]) -> (f64, (f64, f64)) {
    let mut twice_area = 0.0;
    let (mut x_sum, mut y_sum) = (0.0, 0.0);
    for (index, &(x0, y0)) in ring.iter().enumerate() {
        let (x1, y1) = ring[(index + 1) % ring.len()];
        let cross = x0 * y1 - x1 * y0;
        twice_area += cross;
        x_sum += (x0 + x1) * cross;
        y_sum += (y0 + y1) * cross;
    }
    if twice_area.abs() < 1e-9 {
        return (0.0, ring.first().copied().unwrap_or((0.0, 0.0)));
    }
    (
        twice_area.abs() / 2.0,
        (x_sum / (3.0 * twice_area), y_sum / (3.0 * twice_area)),
    )
}

/// Whether a point lies inside a ring (even-odd rule).
fn inside_ring(point: (f64, f64), ring: &[(f64, f64)]) -> bool {
    let mut inside = false;
    for (index, &(x0, y0)) in ring.iter().enumerate() {
        let (x1, y1) = ring[(index + 1) % ring.len()];
        if (y0 > point.1) != (y1 > point.1) && point.0 < x0 + (point.1 - y0) / (y1 - y0) * (x1 - x0)
        {
            inside = !inside;
        }
    }
    inside
}

/// Where a country's name goes: inside the largest piece of it the map
/// shows, clear of `taken`, when that piece is large enough to carry it.
fn country_name_area(name: &str, rings: &[Vec<(f64, f64)>], taken: &[Area]) -> Option<Area> {
    let (area, ring) = rings
        .iter()
        .map(|ring| (area_and_centroid(ring).0, ring))
        .max_by(|left, right| left.0.total_cmp(&right.0))?;
    if area < 0.08 * WIDTH * FRAME_HEIGHT {
        return None;
    }
    let (_, (x, y)) = area_and_centroid(ring);
    let width = name.chars().count() as f64 * COUNTRY_SIZE * 0.9;
    let height = COUNTRY_SIZE * LINE_HEIGHT;
    // The centroid first, then steps up and down from it.
    [0.0, -40.0, 40.0, -80.0, 80.0, -120.0, 120.0]
        .into_iter()
        .map(|shift| Area {
            left: x - width / 2.0,
            top: y + shift - height / 2.0,
            width,
            height,
        })
        .find(|candidate| {
            let corners = [
                (candidate.left, candidate.top),
                (candidate.left + width, candidate.top),
                (candidate.left, candidate.top + height),
                (candidate.left + width, candidate.top + height),
            ];
            corners.iter().all(|corner| inside_ring(*corner, ring))
                && candidate.outside(WIDTH, FRAME_HEIGHT) < 1e-6
                && taken.iter().all(|other| candidate.overlap(*other) == 0.0)
        })
}

/// A status as a shape, so the map never relies on colour alone.
fn shape_name(state: DayState) -> &'static str {
    match state {
        DayState::Status(AccessStatus::Open) => "circle",
        DayState::Status(AccessStatus::Restricted) => "diamond",
        DayState::Status(AccessStatus::SeverelyRestricted) => "triangle pointing down",
        DayState::Status(AccessStatus::Closed) => "square",
        DayState::NotCovered => "hollow dashed circle",
        DayState::NoBaseline => "hollow triangle",
    }
}

/// The marker of a status centred on (x, y).
fn marker(x: f64, y: f64, state: DayState) -> String {
    let radius = MARKER_RADIUS;
    let colour = state.colour();
    let filled = format!("fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"1.5\"");
    let hollow = "fill=\"#ffffff\" stroke=\"#59636e\" stroke-width=\"2\"";
    let polygon = |points: &[(f64, f64)], paint: &str| {
        let points: Vec<String> = points
            .iter()
            .map(|(dx, dy)| format!("{},{}", unit(x + dx), unit(y + dy)))
            .collect();
        format!(
            "<polygon class=\"marker {}\" points=\"{}\" {paint}/>",
            state.class(),
            points.join(" ")
        )
    };
    match state {
        DayState::Status(AccessStatus::Open) => format!(
            "<circle class=\"marker {}\" cx=\"{}\" cy=\"{}\" r=\"{}\" {filled}/>",
            state.class(),
            unit(x),
            unit(y),
            unit(radius)
        ),
        DayState::Status(AccessStatus::Restricted) => polygon(
            &[
                (0.0, -radius - 1.5),
                (radius + 1.5, 0.0),
                (0.0, radius + 1.5),
                (-radius - 1.5, 0.0),
            ],
            &filled,
        ),
        DayState::Status(AccessStatus::SeverelyRestricted) => polygon(
            &[
                (-radius - 1.5, -radius + 1.0),
                (radius + 1.5, -radius + 1.0),
                (0.0, radius + 2.0),
            ],
            &filled,
        ),
        DayState::Status(AccessStatus::Closed) => polygon(
            &[
                (-radius, -radius),
                (radius, -radius),
                (radius, radius),
                (-radius, radius),
            ],
            &filled,
        ),
        DayState::NotCovered => format!(
            "<circle class=\"marker {}\" cx=\"{}\" cy=\"{}\" r=\"{}\" {hollow} stroke-dasharray=\"3 2\"/>",
            state.class(),
            unit(x),
            unit(y),
            unit(radius - 1.0)
        ),
        DayState::NoBaseline => polygon(
            &[
                (0.0, -radius - 1.0),
                (radius + 1.0, radius - 1.0),
                (-radius - 1.0, radius - 1.0),
            ],
            hollow,
        ),
    }
}

/// A name as one line, or two of about even length when it is longer than
/// [`NAME_LINE_CHARACTERS`], cut at a space.
fn wrap(name: &str) -> Vec<String> {
    let words: Vec<&str> = name.split_whitespace().collect();
    if name.chars().count() <= NAME_LINE_CHARACTERS || words.len() < 2 {
        return vec![words.join(" ")];
    }
    let lines = |cut: usize| (words[..cut].join(" "), words[cut..].join(" "));
    let longer = |cut: usize| {
        let (first, second) = lines(cut);
        first.chars().count().max(second.chars().count())
    };
    // Of two cuts as good, the later: a long first line reads better.
    let cut = (1..words.len())
        .min_by_key(|cut| (longer(*cut), std::cmp::Reverse(*cut)))
        .unwrap_or(1);
    let (first, second) = lines(cut);
    vec![first, second]
}

/// A box in map units.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Area {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl Area {
    fn overlap(self, other: Area) -> f64 {
        let across =
            (self.left + self.width).min(other.left + other.width) - self.left.max(other.left);
        let down = (self.top + self.height).min(other.top + other.height) - self.top.max(other.top);
        across.max(0.0) * down.max(0.0)
    }

    /// How much of the box lies outside the frame.
    fn outside(self, width: f64, height: f64) -> f64 {
        let frame = Area {
            left: 0.0,
            top: 0.0,
            width,
            height,
        };
        self.width * self.height - self.overlap(frame)
    }
}

/// A site's label: its lines (text, size, bold) and its estimated size.
struct Label {
    lines: Vec<(String, f64, bool)>,
    width: f64,
    height: f64,
}

impl Label {
    fn of(site: &MapSite) -> Label {
        let mut lines: Vec<(String, f64, bool)> = wrap(site.name)
            .into_iter()
            .map(|line| (line, NAME_SIZE, true))
            .collect();
        lines.push((
            format!(
                "{} · {} vehicle{}",
                site.state.label(),
                number(site.flow),
                if site.flow == 1.0 { "" } else { "s" }
            ),
            DETAIL_SIZE,
            false,
        ));
        // System sans-serif fonts average a little over half an em a character.
        let width = lines
            .iter()
            .map(|(text, size, bold)| {
                text.chars().count() as f64 * size * if *bold { 0.58 } else { 0.53 }
            })
            .fold(0.0, f64::max);
        let height = lines.iter().map(|(_, size, _)| size * LINE_HEIGHT).sum();
        Label {
            lines,
            width,
            height,
        }
    }

    /// Where the label may go around a marker at (x, y): right, left, above,
    /// below, the diagonals, then above and below starting or ending at the
    /// marker; each moved inside the frame where it would stick out.
    fn candidates(&self, x: f64, y: f64) -> Vec<Area> {
        let gap = MARKER_RADIUS + 4.0;
        let (width, height) = (self.width, self.height);
        let at = |left: f64, top: f64| Area {
            left: left.min(WIDTH - width).max(0.0),
            top: top.min(FRAME_HEIGHT - height).max(0.0),
            width,
            height,
        };
        vec![
            at(x + gap, y - height / 2.0),
            at(x - gap - width, y - height / 2.0),
            at(x - width / 2.0, y - gap - height),
            at(x - width / 2.0, y + gap),
            at(x + gap * 0.7, y - gap * 0.7 - height),
            at(x + gap * 0.7, y + gap * 0.7),
            at(x - gap * 0.7 - width, y - gap * 0.7 - height),
            at(x - gap * 0.7 - width, y + gap * 0.7),
            at(x - gap, y - gap - height),
            at(x - width + gap, y - gap - height),
            at(x - gap, y + gap),
            at(x - width + gap, y + gap),
        ]
    }
}

/// Room kept clear at the frame's corners: the north arrow (top right) and
/// the scale bar (bottom left).
fn furniture() -> [Area; 2] {
    [
        Area {
            left: WIDTH - 34.0,
            top: 0.0,
            width: 34.0,
            height: 50.0,
        },
        Area {
            left: 0.0,
            top: FRAME_HEIGHT - 34.0,
            width: WIDTH * SCALE_BAR_SHARE + 24.0,
            height: 34.0,
        },
    ]
}

/// Places each label where it covers the least of the markers, the labels
/// placed before it, the map furniture and the outside of the frame.
fn place_labels(points: &[(f64, f64)], labels: &[Label]) -> Vec<Area> {
    let markers: Vec<Area> = points
        .iter()
        .map(|(x, y)| Area {
            left: x - MARKER_RADIUS - 2.0,
            top: y - MARKER_RADIUS - 2.0,
            width: 2.0 * MARKER_RADIUS + 4.0,
            height: 2.0 * MARKER_RADIUS + 4.0,
        })
        .collect();
    let mut placed: Vec<Area> = Vec::new();
    for (&(x, y), label) in points.iter().zip(labels) {
        let cost = |area: Area| {
            let covered: f64 = markers
                .iter()
                .chain(&placed)
                .chain(furniture().iter())
                .map(|other| area.overlap(*other))
                .sum();
            covered + 10.0 * area.outside(WIDTH, FRAME_HEIGHT)
        };
        let best = label
            .candidates(x, y)
            .into_iter()
            .map(|area| (cost(area), area))
            .fold(None, |best: Option<(f64, Area)>, candidate| match best {
                Some(best) if best.0 <= candidate.0 => Some(best),
                _ => Some(candidate),
            })
            .map_or(
                Area {
                    left: x,
                    top: y,
                    width: label.width,
                    height: label.height,
                },
                |(_, area)| area,
            );
        placed.push(best);
    }
    placed
}

/// The north arrow, top right.
fn north_arrow(svg: &mut String) {
    let x = WIDTH - 20.0;
    let _ = writeln!(
        svg,
        "<g class=\"north-arrow\"><title>North is up</title><polygon points=\"{x},10 {},32 {x},27 {},32\" fill=\"#1f2328\"/><text x=\"{x}\" y=\"46\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"700\" fill=\"#1f2328\">N</text></g>",
        unit(x + 7.0),
        unit(x - 7.0)
    );
}

/// The scale bar, bottom left, in round kilometres.
fn scale_bar(svg: &mut String, projection: &Projection) {
    let (km, length) = projection.scale_bar();
    let left = 12.0;
    let base = FRAME_HEIGHT - 12.0;
    let _ = writeln!(
        svg,
        "<g class=\"scale-bar\" data-km=\"{km}\" data-length=\"{}\"><title>Scale: this bar is {km} km on the ground</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"26\" fill=\"#ffffff\" fill-opacity=\"0.85\" rx=\"3\"/><path d=\"M{left} {}V{base}H{}V{}\" fill=\"none\" stroke=\"#1f2328\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\" font-size=\"{DETAIL_SIZE}\" fill=\"#1f2328\">{km} km</text></g>",
        unit(length),
        unit(left - 6.0),
        unit(base - 20.0),
        unit(length + 60.0),
        unit(base - 6.0),
        unit(left + length),
        unit(base - 6.0),
        unit(left + length + 6.0),
        unit(base - 1.0),
        km = number(km)
    );
}

/// What the map shows and what it could not place.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteMap {
    /// The map, or `None` when no site has coordinates.
    pub svg: Option<String>,
    /// The sites listed beside the map, by their index in the input.
    pub without_coordinates: Vec<usize>,
}

/// The disclaimer the map carries below its frame, line by line.
pub const DISCLAIMER_LINES: [&str; 3] = [
    "Boundaries shown are not a position on any border or claim,",
    "and do not imply endorsement or acceptance.",
    "Country outlines: Natural Earth (public domain).",
];

/// Draws the map of `sites` for `period` (words, for the title).
pub fn render_map(sites: &[MapSite], period: &str) -> SiteMap {
    let (placed, without_coordinates): (Vec<usize>, Vec<usize>) =
        (0..sites.len()).partition(|index| sites[*index].coordinates.is_some());
    let coordinates: Vec<Coordinates> = placed
        .iter()
        .filter_map(|index| sites[*index].coordinates)
        .collect();
    let Some(projection) = Projection::fit(&coordinates, WIDTH, FRAME_HEIGHT) else {
        return SiteMap {
            svg: None,
            without_coordinates,
        };
    };
    let points: Vec<(f64, f64)> = coordinates
        .iter()
        .map(|point| projection.project(*point))
        .collect();
    let labels: Vec<Label> = placed
        .iter()
        .map(|index| Label::of(&sites[*index]))
        .collect();
    let areas = place_labels(&points, &labels);

    let described: Vec<String> = placed
        .iter()
        .map(|index| {
            let site = &sites[*index];
            format!(
                "{}, {}, {} vehicles passed",
                site.name,
                site.state.label(),
                number(site.flow)
            )
        })
        .collect();
    let (span_east, span_north) = projection.span_km();
    let height = FRAME_HEIGHT + FOOTER_HEIGHT;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"site-map\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" data-span-km=\"{} {}\">\n<title>Map of the sites, {}</title>\n",
        unit(WIDTH),
        unit(height),
        escape(&format!(
            "Map of {} site{}: {}",
            placed.len(),
            if placed.len() == 1 { "" } else { "s" },
            described.join("; ")
        )),
        unit(span_east),
        unit(span_north),
        escape(period)
    );
    // Water and land where no outline reaches.
    let _ = writeln!(
        svg,
        "<rect class=\"map-background\" x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#dcebf5\"/>",
        unit(WIDTH),
        unit(FRAME_HEIGHT)
    );
    svg.push_str("<g class=\"countries\" fill=\"#f4f1e8\" stroke=\"#6e7781\" stroke-width=\"1.2\" stroke-linejoin=\"round\" fill-rule=\"evenodd\">\n");
    let mut names = Vec::new();
    let mut taken: Vec<Area> = areas.clone();
    taken.extend(furniture());
    taken.extend(points.iter().map(|(x, y)| Area {
        left: x - MARKER_RADIUS - 2.0,
        top: y - MARKER_RADIUS - 2.0,
        width: 2.0 * MARKER_RADIUS + 4.0,
        height: 2.0 * MARKER_RADIUS + 4.0,
    }));
    for country in countries() {
        let rings = projected_rings(country, &projection);
        if rings.is_empty() {
            continue;
        }
        let _ = writeln!(
            svg,
            "<path class=\"country\" data-country=\"{name}\" d=\"{}\"><title>{name} (outline: Natural Earth)</title></path>",
            path_data(&rings),
            name = escape(&country.name)
        );
        let upper = country.name.to_uppercase();
        if let Some(area) = country_name_area(&upper, &rings, &taken) {
            taken.push(area);
            names.push((upper, area));
        }
    }
    svg.push_str("</g>\n");
    for (name, area) in &names {
        let _ = writeln!(
            svg,
            "<text class=\"country-name\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{COUNTRY_SIZE}\" letter-spacing=\"2\" fill=\"#6e7781\">{}</text>",
            unit(area.left + area.width / 2.0),
            unit(area.top + area.height * 0.8),
            escape(name)
        );
    }
    let _ = writeln!(
        svg,
        "<rect class=\"map-frame\" x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#59636e\"/>",
        unit(WIDTH - 1.0),
        unit(FRAME_HEIGHT - 1.0)
    );
    north_arrow(&mut svg);
    scale_bar(&mut svg, &projection);

    for ((index, (x, y)), (label, area)) in
        placed.iter().zip(&points).zip(labels.iter().zip(&areas))
    {
        let site = &sites[*index];
        let _ = write!(
            svg,
            "<a class=\"map-site\" href=\"{}\" data-map-site=\"{}\" data-status=\"{}\" data-flow=\"{}\">\n<title>{}: {}, {} vehicles passed in the period ({} marker). Open its records.</title>\n{}\n<text class=\"map-label\" x=\"{}\" y=\"{}\" fill=\"#1f2328\" stroke=\"#ffffff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\">",
            site.href,
            escape(site.id),
            site.state.class(),
            site.flow,
            escape(site.name),
            site.state.label(),
            number(site.flow),
            shape_name(site.state),
            marker(*x, *y, site.state),
            unit(area.left),
            unit(area.top)
        );
        let mut baseline = 0.0;
        for (text, size, bold) in &label.lines {
            baseline += size * LINE_HEIGHT;
            let _ = write!(
                svg,
                "<tspan x=\"{}\" y=\"{}\" font-size=\"{}\"{}>{}</tspan>",
                unit(area.left),
                unit(area.top + baseline - size * 0.25),
                unit(*size),
                if *bold { " font-weight=\"700\"" } else { "" },
                escape(text)
            );
        }
        svg.push_str("</text>\n</a>\n");
    }
    // The disclaimer, below the frame: it travels with any copy of the map.
    svg.push_str("<text class=\"map-disclaimer\" font-size=\"11\" fill=\"#59636e\">");
    for (line, text) in DISCLAIMER_LINES.iter().enumerate() {
        let _ = write!(
            svg,
            "<tspan x=\"0\" y=\"{}\">{text}</tspan>",
            unit(FRAME_HEIGHT + 15.0 + 14.0 * line as f64)
        );
    }
    svg.push_str("</text>\n");
    svg.push_str("</svg>");
    SiteMap {
        svg: Some(svg),
        without_coordinates,
    }
}

/// The key: every status with its marker, in the order of the status rule.
fn key() -> String {
    let row_height = 22.0;
    let states = DayState::ALL;
    let mut svg = String::new();
    let described: Vec<String> = states
        .iter()
        .map(|state| format!("{} {}", shape_name(*state), state.label()))
        .collect();
    let _ = write!(
        svg,
        "<svg class=\"map-key\" xmlns=\"http://www.w3.org/2000/svg\" width=\"190\" height=\"{}\" viewBox=\"0 0 190 {}\" role=\"img\" aria-label=\"{}\">\n<title>Key to the map</title>\n",
        unit(row_height * states.len() as f64),
        unit(row_height * states.len() as f64),
        escape(&format!("Key: {}", described.join("; ")))
    );
    for (row, state) in states.iter().enumerate() {
        let y = row_height * row as f64 + row_height / 2.0;
        let _ = writeln!(
            svg,
            "<g class=\"key-entry\" data-status=\"{}\">{}<text x=\"24\" y=\"{}\" font-size=\"14\" fill=\"#1f2328\">{}</text></g>",
            state.class(),
            marker(10.0, y, *state),
            unit(y + 5.0),
            state.label()
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The map block both pages show: the map with its caption, and beside it
/// the key and the sites without coordinates. Without any site, nothing.
pub fn map_block(sites: &[MapSite], period: &str) -> String {
    if sites.is_empty() {
        return String::new();
    }
    let map = render_map(sites, period);
    let mut block = String::from("<div class=\"site-map-block\">\n");
    match &map.svg {
        Some(svg) => {
            let _ = writeln!(
                block,
                "<figure class=\"map\">\n{svg}\n<figcaption><p>Each site's access status for the period is given by the colour and the shape of its marker, and in words; the flow is the vehicles that went through. Tap a site for its records.</p><p>Outlines at 1:50m scale, drawn on the server and cropped to the sites; positions from the sites' own records.</p></figcaption>\n</figure>"
            );
        }
        None => block.push_str("<p class=\"empty\">No site has coordinates in its site record, so there is no map.</p>\n"),
    }
    block.push_str("<div class=\"map-side\">\n");
    if map.svg.is_some() {
        block.push_str(&key());
        block.push('\n');
    }
    if !map.without_coordinates.is_empty() {
        block.push_str("<h3>Not on the map</h3>\n<p class=\"small muted\">These sites have no coordinates in their site record.</p>\n<ul class=\"sites-without-coordinates\">\n");
        for index in &map.without_coordinates {
            let site = &sites[*index];
            let _ = writeln!(
                block,
                "<li data-map-site=\"{}\">{} <span class=\"status-badge {}\">{}</span> <a href=\"{}\">{}</a> vehicles passed</li>",
                escape(site.id),
                escape(site.name),
                site.state.class(),
                site.state.label().to_uppercase(),
                site.href,
                number(site.flow)
            );
        }
        block.push_str("</ul>\n");
    }
    block.push_str("</div>\n</div>\n");
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    const KARIN_TAK: Coordinates = Coordinates {
        latitude: 39.741_67,
        longitude: 46.749_17,
    };
    const DRMBON: Coordinates = Coordinates {
        latitude: 40.146_67,
        longitude: 46.607_5,
    };
    const TSAGHKASHEN: Coordinates = Coordinates {
        latitude: 40.178_78,
        longitude: 46.765_22,
    };

    fn site<'a>(id: &'a str, coordinates: Option<Coordinates>, state: DayState) -> MapSite<'a> {
        MapSite {
            id,
            name: id,
            coordinates,
            state,
            flow: 12.0,
            href: format!("#site-{id}"),
        }
    }

    fn close(left: f64, right: f64, tolerance: f64) -> bool {
        (left - right).abs() <= tolerance
    }

    #[test]
    fn the_projection_keeps_distances_at_the_centre_and_north_up() {
        let projection =
            Projection::fit(&[KARIN_TAK, TSAGHKASHEN], WIDTH, FRAME_HEIGHT).expect("two points");
        let centre = Coordinates {
            latitude: (KARIN_TAK.latitude + TSAGHKASHEN.latitude) / 2.0,
            longitude: (KARIN_TAK.longitude + TSAGHKASHEN.longitude) / 2.0,
        };
        let (x, y) = projection.project(centre);
        assert!(close(x, WIDTH / 2.0, 1e-9) && close(y, FRAME_HEIGHT / 2.0, 1e-9));
        // 0.1° of latitude is 11.12 km everywhere; 0.1° of longitude at 40°N is 8.52 km.
        let (_, north_y) = projection.project(Coordinates {
            latitude: centre.latitude + 0.1,
            ..centre
        });
        assert!(close(
            (y - north_y) / projection.units_per_km(),
            11.119,
            0.01
        ));
        let (east_x, east_y) = projection.project(Coordinates {
            longitude: centre.longitude + 0.1,
            ..centre
        });
        assert!(close((east_x - x) / projection.units_per_km(), 8.52, 0.01));
        assert!(close(east_y, y, 1e-9), "east is straight right");
        // The frame's rectangle of degrees projects onto the frame itself.
        let bounds = projection.bounds();
        let (left, top) = projection.project(Coordinates {
            latitude: bounds.north,
            longitude: bounds.west,
        });
        let (right, bottom) = projection.project(Coordinates {
            latitude: bounds.south,
            longitude: bounds.east,
        });
        assert!(close(left, 0.0, 1e-6) && close(top, 0.0, 1e-6));
        assert!(close(right, WIDTH, 1e-6) && close(bottom, FRAME_HEIGHT, 1e-6));
    }

    #[test]
    fn the_map_shows_at_least_the_minimum_extent_and_every_site_with_room() {
        let one = Projection::fit(&[KARIN_TAK], WIDTH, FRAME_HEIGHT).expect("one point");
        let (east, north) = one.span_km();
        assert!(east >= MINIMUM_SPAN_KM - 1e-9 && north >= MINIMUM_SPAN_KM - 1e-9);
        assert!(
            close(north, MINIMUM_SPAN_KM, 1e-9),
            "the tighter side is exactly the minimum"
        );

        let demo = [KARIN_TAK, DRMBON, TSAGHKASHEN];
        let projection = Projection::fit(&demo, WIDTH, FRAME_HEIGHT).expect("three points");
        let (_, north) = projection.span_km();
        // The sites are 48.6 km apart north to south: that and the margins.
        assert!(north >= 48.6 * (1.0 + 2.0 * MARGIN_SHARE), "{north}");
        for point in demo {
            let (x, y) = projection.project(point);
            assert!(
                x > 0.0 && x < WIDTH && y > 0.0 && y < FRAME_HEIGHT,
                "{x} {y}"
            );
        }
        assert_eq!(Projection::fit(&[], WIDTH, FRAME_HEIGHT), None);
    }

    #[test]
    fn the_scale_bar_is_a_round_length_drawn_to_scale() {
        for points in [vec![KARIN_TAK], vec![KARIN_TAK, DRMBON, TSAGHKASHEN]] {
            let projection = Projection::fit(&points, WIDTH, FRAME_HEIGHT).expect("points");
            let (km, length) = projection.scale_bar();
            assert!(close(length, km * projection.units_per_km(), 1e-9));
            assert!(length <= WIDTH * SCALE_BAR_SHARE + 1e-9);
            // The next round length would not fit: the bar is as long as it may be.
            assert!(
                length > WIDTH * SCALE_BAR_SHARE / 2.5,
                "{km} km is {length} units"
            );
            let leading = km / 10_f64.powf(km.log10().floor());
            assert!(
                [1.0, 2.0, 5.0]
                    .iter()
                    .any(|round| close(leading, *round, 1e-9)),
                "{km}"
            );
        }
        // 40 km across 400 units: 10 units a km, so the bar is 10 km (100 units).
        let one = Projection::fit(&[KARIN_TAK], WIDTH, WIDTH).expect("one point");
        assert_eq!(one.scale_bar(), (10.0, 100.0));
    }

    #[test]
    fn cropping_keeps_what_is_inside_and_follows_the_edge_elsewhere() {
        let bounds = Bounds {
            west: 0.0,
            south: 0.0,
            east: 10.0,
            north: 10.0,
        };
        let covering = [(-5.0, -5.0), (15.0, -5.0), (15.0, 15.0), (-5.0, 15.0)];
        let mut cropped = crop_ring(&covering, bounds);
        cropped.sort_by(|left, right| left.partial_cmp(right).expect("numbers"));
        assert_eq!(
            cropped,
            vec![(0.0, 0.0), (0.0, 10.0), (10.0, 0.0), (10.0, 10.0)]
        );

        let outside = [(20.0, 20.0), (30.0, 20.0), (30.0, 30.0)];
        assert!(crop_ring(&outside, bounds).is_empty());

        let inside = [(1.0, 1.0), (2.0, 1.0), (2.0, 2.0)];
        assert_eq!(crop_ring(&inside, bounds), inside.to_vec());

        // A triangle poking out of the east edge is cut along it.
        let poking = [(5.0, 4.0), (15.0, 5.0), (5.0, 6.0)];
        let cut = crop_ring(&poking, bounds);
        assert_eq!(cut.len(), 4);
        assert!(
            cut.iter()
                .all(|(x, y)| (0.0..=10.0).contains(x) && (0.0..=10.0).contains(y))
        );
        assert_eq!(cut.iter().filter(|(x, _)| *x == 10.0).count(), 2);
    }

    #[test]
    fn the_committed_outlines_parse_and_are_cropped_to_the_map() {
        let countries = countries();
        assert!(countries.len() > 200, "{} countries", countries.len());
        let armenia = countries
            .iter()
            .find(|country| country.name == "Armenia")
            .expect("Armenia is in the outlines");
        assert!(
            close(armenia.bounds.west, 43.44, 0.01) && close(armenia.bounds.north, 41.291, 0.01)
        );
        let ring = &armenia.rings[0];
        assert!(ring.iter().all(|(longitude, latitude)| {
            (armenia.bounds.west - 1e-9..=armenia.bounds.east + 1e-9).contains(longitude)
                && (armenia.bounds.south - 1e-9..=armenia.bounds.north + 1e-9).contains(latitude)
        }));

        let sites = [
            site(
                "road",
                Some(KARIN_TAK),
                DayState::Status(AccessStatus::Closed),
            ),
            site("gold", Some(DRMBON), DayState::NotCovered),
            site("copper", Some(TSAGHKASHEN), DayState::NotCovered),
        ];
        let svg = render_map(&sites, "January").svg.expect("a map");
        assert!(svg.contains("data-country=\"Armenia\""));
        assert!(svg.contains("data-country=\"Azerbaijan\""));
        assert!(
            !svg.contains("data-country=\"Brazil\""),
            "outlines off the map are left out"
        );
        // Every point drawn lies in the frame.
        for path in svg.split(" d=\"").skip(1) {
            let data = &path[..path.find('"').expect("path ends")];
            for number in data
                .split(|character: char| character.is_ascii_alphabetic() || character == ' ')
                .filter(|text| !text.is_empty())
            {
                let value: f64 = number.parse().expect("a coordinate");
                assert!((0.0..=WIDTH).contains(&value), "{value} in {data}");
            }
        }
    }

    #[test]
    fn sites_without_coordinates_are_listed_not_drawn() {
        let sites = [
            site(
                "road",
                Some(KARIN_TAK),
                DayState::Status(AccessStatus::SeverelyRestricted),
            ),
            site("unplaced", None, DayState::NotCovered),
        ];
        let map = render_map(&sites, "January");
        assert_eq!(map.without_coordinates, vec![1]);
        let svg = map.svg.expect("a map");
        assert!(svg.contains("data-map-site=\"road\""));
        assert!(!svg.contains("data-map-site=\"unplaced\""));
        let block = map_block(&sites, "January");
        assert!(block.contains("<h3>Not on the map</h3>"));
        assert!(
            block
                .contains("<li data-map-site=\"unplaced\">unplaced <span class=\"status-badge status-not-covered\">NOT COVERED</span> <a href=\"#site-unplaced\">12</a> vehicles passed</li>")
        );

        let nowhere = [site("unplaced", None, DayState::NotCovered)];
        assert_eq!(render_map(&nowhere, "January").svg, None);
        let block = map_block(&nowhere, "January");
        assert!(block.contains("so there is no map"));
        assert!(!block.contains("<svg"));
        assert_eq!(map_block(&[], "January"), "");
    }

    #[test]
    fn every_status_has_its_own_shape_and_each_marker_links_to_its_records() {
        let shapes: std::collections::BTreeSet<String> = DayState::ALL
            .iter()
            .map(|state| {
                let drawn = marker(0.0, 0.0, *state);
                // The element and its geometry, without the colour.
                let element = drawn.split(" class").next().unwrap_or_default().to_string();
                let geometry = drawn
                    .split_whitespace()
                    .filter(|part| {
                        part.starts_with("points=")
                            || part.starts_with("r=")
                            || part.starts_with("stroke-dasharray")
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("{element} {geometry}")
            })
            .collect();
        assert_eq!(shapes.len(), DayState::ALL.len(), "{shapes:?}");

        let sites: Vec<MapSite> = DayState::ALL
            .iter()
            .enumerate()
            .map(|(index, state)| MapSite {
                coordinates: Some(Coordinates {
                    latitude: 40.0 + index as f64 * 0.05,
                    longitude: 46.6 + index as f64 * 0.05,
                }),
                ..site(["a", "b", "c", "d", "e", "f"][index], None, *state)
            })
            .collect();
        let svg = render_map(&sites, "January").svg.expect("a map");
        for site in &sites {
            assert!(svg.contains(&format!(
                "<a class=\"map-site\" href=\"#site-{}\" data-map-site=\"{}\" data-status=\"{}\"",
                site.id,
                site.id,
                site.state.class()
            )));
        }
    }

    #[test]
    fn labels_stay_in_the_frame_and_apart() {
        let sites = [
            MapSite {
                name: "Lachin corridor road (demo site)",
                ..site(
                    "road",
                    Some(KARIN_TAK),
                    DayState::Status(AccessStatus::SeverelyRestricted),
                )
            },
            MapSite {
                name: "Gold deposit (inspection site)",
                ..site("gold", Some(DRMBON), DayState::NotCovered)
            },
            MapSite {
                name: "Copper-molybdenum deposit (inspection site)",
                ..site("copper", Some(TSAGHKASHEN), DayState::NotCovered)
            },
        ];
        let projection = Projection::fit(
            &sites
                .iter()
                .filter_map(|site| site.coordinates)
                .collect::<Vec<_>>(),
            WIDTH,
            FRAME_HEIGHT,
        )
        .expect("points");
        let points: Vec<(f64, f64)> = sites
            .iter()
            .filter_map(|site| site.coordinates)
            .map(|point| projection.project(point))
            .collect();
        let labels: Vec<Label> = sites.iter().map(Label::of).collect();
        let areas = place_labels(&points, &labels);
        for (index, area) in areas.iter().enumerate() {
            assert!(
                area.outside(WIDTH, FRAME_HEIGHT) < 1e-6,
                "label {index} leaves the frame"
            );
            for other in &areas[index + 1..] {
                assert_eq!(area.overlap(*other), 0.0, "labels overlap");
            }
        }
    }

    #[test]
    fn country_names_go_inside_the_largest_piece_shown_and_clear_of_the_sites() {
        let square = vec![(0.0, 0.0), (200.0, 0.0), (200.0, 200.0), (0.0, 200.0)];
        let (area, centroid) = area_and_centroid(&square);
        assert!(
            close(area, 40_000.0, 1e-6)
                && close(centroid.0, 100.0, 1e-9)
                && close(centroid.1, 100.0, 1e-9)
        );
        assert!(inside_ring((10.0, 10.0), &square) && !inside_ring((210.0, 10.0), &square));

        let name = country_name_area("ARMENIA", std::slice::from_ref(&square), &[])
            .expect("room for the name");
        assert!(
            close(name.left + name.width / 2.0, 100.0, 1e-9)
                && close(name.top + name.height / 2.0, 100.0, 1e-9)
        );
        // A site label over the centre pushes the name up or down, still inside.
        let label = Area {
            left: 0.0,
            top: 80.0,
            width: 200.0,
            height: 40.0,
        };
        let moved = country_name_area("ARMENIA", std::slice::from_ref(&square), &[label])
            .expect("room elsewhere");
        assert_eq!(moved.overlap(label), 0.0);
        assert!(moved.top >= 0.0 && moved.top + moved.height <= 200.0);
        // A sliver at the map's edge gets no name.
        let sliver = vec![(0.0, 0.0), (20.0, 0.0), (20.0, 20.0)];
        assert_eq!(country_name_area("ARMENIA", &[sliver], &[]), None);
    }

    #[test]
    fn names_wrap_at_spaces() {
        assert_eq!(
            wrap("Copper-molybdenum deposit (inspection site)"),
            ["Copper-molybdenum deposit", "(inspection site)"]
        );
        assert_eq!(
            wrap("Lachin corridor road (demo site)"),
            ["Lachin corridor", "road (demo site)"]
        );
        assert_eq!(wrap("Gate  A"), ["Gate A"]);
        assert_eq!(wrap(""), [""]);
    }
}
