// What the report's and the dashboard's tests check on the map of the sites
// (corridor_stats::report_html::map), measured in the page as drawn.
import assert from 'node:assert/strict';

/** The demo's three sites and the status each has in the demo period. */
export const DEMO_SITES = {
  'lachin-road': 'status-severely-restricted',
  'gold-mine': 'status-not-covered',
  'copper-molybdenum-mine': 'status-not-covered',
};

/** The smallest label text allowed on screen, in CSS pixels. */
export const SMALLEST_LABEL_PX = 10;

/** Markers, their status and their links, as the page has them. */
export async function markers(page) {
  return page.locator('svg.site-map a.map-site').evaluateAll((links) =>
    links.map((link) => ({
      site: link.dataset.mapSite,
      status: link.dataset.status,
      href: link.getAttribute('href'),
      marker: link.querySelector('.marker')?.tagName,
      label: link.querySelector('text.map-label')?.textContent,
      title: link.querySelector(':scope > title')?.textContent,
    })),
  );
}

/** Checks the drawing: outlines, furniture, disclaimer, every site placed. */
export async function assertMapDrawn(page) {
  const svg = page.locator('svg.site-map');
  assert.equal(await svg.count(), 1, 'one map');
  assert.equal(await svg.getAttribute('role'), 'img');
  assert.match(await svg.getAttribute('aria-label'), /^Map of 3 sites: /);
  const countries = await page.locator('svg.site-map path.country').evaluateAll((paths) => paths.map((path) => path.dataset.country));
  assert.ok(countries.includes('Azerbaijan') && countries.includes('Armenia'), `outlines drawn: ${countries}`);
  assert.ok(countries.length < 10, `outlines cropped to the map: ${countries}`);
  const [spanEast, spanNorth] = (await svg.getAttribute('data-span-km')).split(' ').map(Number);
  assert.ok(spanEast >= 40 && spanNorth >= 40, `tens of kilometres shown: ${spanEast} × ${spanNorth} km`);
  const scale = page.locator('svg.site-map g.scale-bar');
  const km = Number(await scale.getAttribute('data-km'));
  assert.equal(await scale.locator('text').textContent(), `${km} km`);
  // The bar, as drawn, is km × the map's units per km (its width / the km it spans).
  const drawn = await scale.locator('path').evaluate((path) => path.getBBox().width);
  const unitsPerKm = Number((await svg.getAttribute('viewBox')).split(' ')[2]) / spanEast;
  assert.ok(Math.abs(drawn - km * unitsPerKm) < 0.5, `the ${km} km bar is ${drawn} units, ${unitsPerKm} a km`);
  assert.equal(await page.locator('svg.site-map g.north-arrow').count(), 1);
  const disclaimer = await page.locator('svg.site-map text.map-disclaimer').textContent();
  assert.match(disclaimer, /not a position on any border or claim,and do not imply endorsement or acceptance\./);
  assert.match(disclaimer, /Natural Earth/);
  assert.equal(await page.locator('svg.map-key g.key-entry').count(), 6, 'the key has every status');
}

/**
 * Checks that the labels can be read where the page shows them: type at least
 * SMALLEST_LABEL_PX high, labels apart from each other and inside the map.
 */
export async function assertLabelsLegible(page) {
  const layout = await page.locator('svg.site-map').evaluate((svg) => {
    const frame = svg.getBoundingClientRect();
    const labels = [...svg.querySelectorAll('text.map-label')].map((text) => {
      const box = text.getBoundingClientRect();
      return { left: box.left, top: box.top, right: box.right, bottom: box.bottom };
    });
    const lineHeights = [...svg.querySelectorAll('text.map-label tspan')].map((tspan) => tspan.getBoundingClientRect().height);
    const disclaimer = [...svg.querySelectorAll('text.map-disclaimer tspan')].map((tspan) => tspan.getBoundingClientRect().height);
    return { frame: { left: frame.left, top: frame.top, right: frame.right, bottom: frame.bottom }, labels, lineHeights, disclaimer };
  });
  const smallest = Math.min(...layout.lineHeights);
  assert.ok(smallest >= SMALLEST_LABEL_PX, `label lines are ${smallest.toFixed(1)} px high at the smallest`);
  assert.ok(Math.min(...layout.disclaimer) >= SMALLEST_LABEL_PX - 1, `the disclaimer reads: ${layout.disclaimer}`);
  for (const [index, label] of layout.labels.entries()) {
    assert.ok(
      label.left >= layout.frame.left - 0.5 && label.right <= layout.frame.right + 0.5 && label.top >= layout.frame.top - 0.5,
      `label ${index} stays inside the map: ${JSON.stringify(label)} in ${JSON.stringify(layout.frame)}`,
    );
    for (const other of layout.labels.slice(index + 1)) {
      const apart = label.right <= other.left || other.right <= label.left || label.bottom <= other.top || other.bottom <= label.top;
      assert.ok(apart, `labels overlap: ${JSON.stringify(label)} and ${JSON.stringify(other)}`);
    }
  }
}
