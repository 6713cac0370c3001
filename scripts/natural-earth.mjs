#!/usr/bin/env node
// Converts Natural Earth country outlines, as the `world-atlas` npm package
// carries them (TopoJSON), into the compact file the map renderer embeds:
// crates/corridor-stats/data/countries-50m.json. Run once by hand when the
// outlines should change; the output is committed, nothing runs at build time.
//
//   cd "$(mktemp -d)" && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
//   node scripts/natural-earth.mjs package/countries-50m.json 2.0.2 \
//        > crates/corridor-stats/data/countries-50m.json
//
// Output: {"source": …, "unit": 0.001, "countries": [{"name", "id", "bbox":
// [west, south, east, north], "polygons": [[ring, hole, …], …]}]}. Every
// coordinate is a whole number of units (thousandths of a degree); a ring is
// a flat array [lon, lat, dlon, dlat, dlon, dlat, …]: its first point, then
// each next point as the step from the one before (most steps are a few
// units, so the file is half the size of plain coordinates), first point not
// repeated at the end. Decoding follows the TopoJSON specification
// (https://github.com/topojson/topojson-specification): quantized arcs are
// delta-encoded, and a negative arc index ~i means arc i reversed.
import { readFileSync } from 'node:fs';

// The 1:50m data is quantized to about 0.0036° of longitude and 0.0017° of
// latitude, so thousandths of a degree (about 100 m) keep every point it has.
const UNITS_PER_DEGREE = 1000;

const [input, version] = process.argv.slice(2);
if (!input || !version) {
  console.error('usage: natural-earth.mjs COUNTRIES.json WORLD_ATLAS_VERSION > countries-50m.json');
  process.exit(2);
}
const topology = JSON.parse(readFileSync(input, 'utf8'));
const [scaleX, scaleY] = topology.transform.scale;
const [translateX, translateY] = topology.transform.translate;
const units = (degrees) => Math.round(degrees * UNITS_PER_DEGREE);

// Every arc as absolute [lon, lat] points.
const arcs = topology.arcs.map((arc) => {
  let x = 0;
  let y = 0;
  return arc.map(([dx, dy]) => {
    x += dx;
    y += dy;
    return [units(x * scaleX + translateX), units(y * scaleY + translateY)];
  });
});

/** A ring from its arc indexes: arcs joined end to start, shared points once. */
function ring(indexes) {
  const points = [];
  for (const index of indexes) {
    const arc = index >= 0 ? arcs[index] : [...arcs[~index]].reverse();
    arc.forEach((point, position) => {
      if (position === 0 && points.length > 0) return;
      const last = points[points.length - 1];
      if (last && last[0] === point[0] && last[1] === point[1]) return;
      points.push(point);
    });
  }
  const first = points[0];
  const last = points[points.length - 1];
  if (points.length > 1 && first[0] === last[0] && first[1] === last[1]) points.pop();
  return points;
}

/** A ring as its first point, then the step to each next point. */
function steps(points) {
  const flat = [points[0][0], points[0][1]];
  for (let index = 1; index < points.length; index += 1) {
    flat.push(points[index][0] - points[index - 1][0], points[index][1] - points[index - 1][1]);
  }
  return flat;
}

const countries = [];
for (const geometry of topology.objects.countries.geometries) {
  const polygons = geometry.type === 'Polygon' ? [geometry.arcs] : geometry.type === 'MultiPolygon' ? geometry.arcs : [];
  const rings = polygons
    .map((polygon) => polygon.map(ring).filter((points) => points.length >= 3))
    .filter((polygon) => polygon.length > 0);
  if (rings.length === 0) continue;
  const all = rings.flat(2);
  const bbox = [
    Math.min(...all.map(([lon]) => lon)),
    Math.min(...all.map(([, lat]) => lat)),
    Math.max(...all.map(([lon]) => lon)),
    Math.max(...all.map(([, lat]) => lat)),
  ];
  countries.push({
    name: geometry.properties?.name ?? '',
    id: geometry.id ?? '',
    bbox,
    polygons: rings.map((polygon) => polygon.map(steps)),
  });
}
countries.sort((left, right) => left.name.localeCompare(right.name) || String(left.id).localeCompare(String(right.id)));

const source = `Natural Earth 1:50m Admin 0 countries (public domain), via world-atlas ${version} (ISC licence), converted by scripts/natural-earth.mjs`;
// One country per line keeps diffs readable when the outlines are regenerated.
const lines = countries.map((country) => JSON.stringify(country));
process.stdout.write(`{"source":${JSON.stringify(source)},"unit":${1 / UNITS_PER_DEGREE},"countries":[\n${lines.join(',\n')}\n]}\n`);
