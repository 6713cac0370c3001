// The dashboard and the observer tally page served by `corridor serve` on
// the demo data, in real headless Chromium: the charts and figures render,
// a filter narrows them, a figure leads to the records that add up to it,
// the pages fit a phone, and a tally tapped offline is sent once the
// connection is back and shows its receipt. No console error, no request
// leaves the server.
//
// Run through ./run.sh, which starts the server and sets CORRIDOR_SERVER_URL
// (and CORRIDOR_OBSERVER_TOKEN, a token with the observer role).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { DEMO_SITES, assertLabelsLegible, assertMapDrawn, markers } from './map.mjs';

const serverUrl = process.env.CORRIDOR_SERVER_URL;
const observerToken = process.env.CORRIDOR_OBSERVER_TOKEN;
const outputDirectory = process.env.CORRIDOR_BROWSER_OUT ?? resolve('../../target/browser');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

// The demo covers 12 December 2022 to 23 January 2023: 43 days, 980 vehicles, 122 of them ICRC.
const PERIOD_DAYS = 43;
const ROAD = 'section.site[data-site="lachin-road"]';
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

let browser;

/** A fresh context and page that record everything that should not happen. */
async function open(contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const origin = new URL(serverUrl).origin;
  const problems = { consoleErrors: [], pageErrors: [], foreignRequests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => problems.pageErrors.push(String(error)));
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== origin) problems.foreignRequests.push(request.url());
  });
  return { context, page, problems };
}

async function go(page, path) {
  const response = await page.goto(new URL(path, serverUrl).href, { waitUntil: 'load' });
  assert.ok(response && response.ok(), `${path} answers ${response?.status()}`);
  return response;
}

const figure = async (page, tile) => (await page.locator(`.${tile} .value`).textContent()).trim();

/** What sticks out sideways on a phone, outside the boxes allowed to scroll. */
async function sideways(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const sticking = [...document.querySelectorAll('body *')]
      .filter((element) => !element.closest('.table-scroll, figure.chart'))
      .filter((element) => element.getBoundingClientRect().right > width + 0.5)
      .map((element) => `${element.tagName.toLowerCase()}.${element.className}`);
    return { overflow: document.documentElement.scrollWidth - width, sticking };
  });
}

const clean = { consoleErrors: [], pageErrors: [], foreignRequests: [] };

describe('dashboard and observer page in headless Chromium', () => {
  before(async () => {
    assert.ok(serverUrl, 'CORRIDOR_SERVER_URL names the running server; run ./run.sh');
    assert.ok(existsSync(executablePath), `${executablePath} is missing: apt-get install -y chromium, or set CHROMIUM`);
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  after(async () => {
    await browser?.close();
  });

  test('shows the demo period: synthetic notice, charts, 980 vehicles, claims, the log', async () => {
    const { context, page, problems } = await open({ viewport: { width: 1280, height: 900 } });
    try {
      await go(page, '/');
      const notices = page.locator('section#notices');
      assert.ok(await notices.isVisible(), 'the synthetic notice is shown');
      assert.match(await notices.textContent(), /synthetic/);
      assert.match(await page.locator('header.page-header .period').textContent(), /12 Dec 2022 to 23 Jan 2023 · 43 days/);

      assert.equal(await figure(page, 'tile-vehicles'), '980');
      assert.equal(await figure(page, 'tile-evacuees'), '90');

      const bars = page.locator(`${ROAD} svg.daily-flow rect.bar`);
      assert.equal(await bars.count(), PERIOD_DAYS, 'one bar per day');
      const heights = await bars.evaluateAll((rects) => rects.map((rect) => rect.getBBox().height));
      assert.ok(heights.every((height) => height > 20), `the bars are drawn: ${heights}`);
      assert.equal(await page.locator(`${ROAD} .status-band rect.status-severely-restricted`).count(), PERIOD_DAYS);
      assert.equal(await page.locator(`${ROAD} svg.coverage-strip rect.covered`).count(), 1);
      const categories = await page.locator('svg.categories rect.bar').evaluateAll((rects) => rects.map((rect) => rect.dataset.category));
      assert.deepEqual(categories, ['peacekeeping', 'red_cross']);

      const verdicts = await page.locator('article.claim > header .verdict-badge').allTextContents();
      assert.deepEqual(verdicts, ['CONSISTENT', 'NOT VERIFIABLE']);
      const treeSize = Number(await page.locator('#log dd.tree-size').getAttribute('data-value'));
      assert.ok(treeSize > 980, `the log holds every demo record: ${treeSize}`);

      assert.equal(await page.locator('script').count(), 0, 'the dashboard runs no script');
      const unnamed = await page.locator('svg').evaluateAll((svgs) =>
        svgs.filter((svg) => svg.getAttribute('role') !== 'img' || !svg.getAttribute('aria-label')).length,
      );
      assert.equal(unnamed, 0, 'every chart names itself');
      await page.screenshot({ path: join(outputDirectory, 'dashboard.png'), fullPage: true });
      assert.deepEqual(problems, clean);
    } finally {
      await context.close();
    }
  });

  test('a category filter narrows the figures and a figure leads to its 122 records', async () => {
    const { context, page, problems } = await open({ viewport: { width: 1280, height: 900 } });
    try {
      await go(page, '/');
      await page.locator('form.filter-form select[name="category"]').selectOption('red_cross');
      await Promise.all([page.waitForURL(/category=red_cross/), page.locator('form.filter-form button[type="submit"]').click()]);
      assert.equal(await figure(page, 'tile-vehicles'), '122');
      assert.equal(await page.locator('nav.chips a[aria-current="true"][data-category="red_cross"]').count(), 1, 'the chip shows the filter');
      assert.equal(await page.locator(`${ROAD} svg.daily-flow rect.bar`).count(), PERIOD_DAYS);
      await page.screenshot({ path: join(outputDirectory, 'dashboard-red-cross.png'), fullPage: false });

      await Promise.all([page.waitForURL(/\/dashboard\/records\?/), page.locator('.tile-vehicles a.value').click()]);
      assert.match(page.url(), /category=red_cross/);
      assert.equal(await page.locator('.total-vehicles dd').textContent(), '122');
      assert.equal(await page.locator('.total-records dd').textContent(), '122');
      assert.equal(await page.locator('tr.record').count(), 100, 'the first page lists 100 records');
      const counts = await page.locator('tr.record td.count').allTextContents();
      assert.ok(counts.every((count) => count === '1'), 'each demo record is one vehicle');
      assert.match(await page.locator('section#notices').textContent(), /122 of these 122 records are synthetic/);
      await page.screenshot({ path: join(outputDirectory, 'records.png'), fullPage: false });

      await Promise.all([page.waitForURL(/page=2/), page.locator('nav.pager a[rel="next"]').click()]);
      assert.equal(await page.locator('tr.record').count(), 22, 'the second page lists the other 22');
      assert.deepEqual(problems, clean);
    } finally {
      await context.close();
    }
  });

  test('the map shows every site with its status, and a marker leads to the records behind its flow', async () => {
    const { context, page, problems } = await open({ viewport: { width: 1280, height: 900 } });
    try {
      await go(page, '/');
      await assertMapDrawn(page);
      const shown = await markers(page);
      assert.deepEqual(Object.fromEntries(shown.map((marker) => [marker.site, marker.status])), DEMO_SITES);
      for (const marker of shown) {
        const link = new URL(marker.href, serverUrl);
        assert.equal(link.pathname, '/dashboard/records');
        assert.equal(link.searchParams.get('site'), marker.site);
        assert.equal(link.searchParams.get('from'), '2022-12-12');
        assert.equal(link.searchParams.get('to'), '2023-01-23');
        assert.equal(link.searchParams.get('outcome'), 'passed,delayed', 'the flow: what went through');
      }
      assert.match(shown.find((marker) => marker.site === 'lachin-road').label, /severely restricted · 980 vehicles/);
      await assertLabelsLegible(page);
      await page.locator('section#map').screenshot({ path: join(outputDirectory, 'dashboard-map.png') });

      await Promise.all([
        page.waitForURL(/\/dashboard\/records\?/),
        page.locator('svg.site-map a.map-site[data-map-site="lachin-road"] text.map-label').click(),
      ]);
      assert.equal(await page.locator('.total-vehicles dd').textContent(), '980', 'the records add up to the flow the map shows');
      assert.deepEqual(problems, clean);
    } finally {
      await context.close();
    }
  });

  test('the map reads at phone width', async () => {
    const { context, page, problems } = await open({ ...PHONE, viewport: { width: 375, height: 812 } });
    try {
      await go(page, '/');
      assert.deepEqual(await sideways(page), { overflow: 0, sticking: [] }, 'the dashboard with its map does not scroll sideways');
      const box = await page.locator('svg.site-map').boundingBox();
      assert.ok(box && box.width >= 320, `the map takes the phone's width: ${JSON.stringify(box)}`);
      await assertLabelsLegible(page);
      await page.locator('section#map').screenshot({ path: join(outputDirectory, 'dashboard-map-phone.png') });
      assert.deepEqual(problems, clean);
    } finally {
      await context.close();
    }
  });

  test('the dashboard and the verify page fit a phone', async () => {
    const { context, page, problems } = await open(PHONE);
    try {
      await go(page, '/');
      assert.deepEqual(await sideways(page), { overflow: 0, sticking: [] }, 'the dashboard does not scroll sideways');
      const tileBox = await page.locator('.tile-vehicles').boundingBox();
      assert.ok(tileBox && tileBox.width > 120, `the figures are readable: ${JSON.stringify(tileBox)}`);
      await page.screenshot({ path: join(outputDirectory, 'dashboard-phone.png'), fullPage: false });
      await page.screenshot({ path: join(outputDirectory, 'dashboard-phone-full.png'), fullPage: true });

      await go(page, '/dashboard/verify');
      assert.match(await page.locator('pre.vkey').textContent(), /^demo\.corridor\.invalid\/lachin-synthetic-[0-9a-f]{8}\+[0-9a-f]{8}\+/);
      assert.match(await page.locator('#verify pre.command').textContent(), /^corridor verify --log http:\/\/127\.0\.0\.1:\d+\/log --vkey '/);
      assert.deepEqual(await sideways(page), { overflow: 0, sticking: [] }, 'the verify page does not scroll sideways');
      await page.screenshot({ path: join(outputDirectory, 'verify-phone.png'), fullPage: true });
      assert.deepEqual(problems, clean);
    } finally {
      await context.close();
    }
  });

  test('a tally tapped offline is queued, then sent when the connection is back, with its receipt', async () => {
    assert.ok(observerToken, 'CORRIDOR_OBSERVER_TOKEN holds a token with the observer role; run ./run.sh');
    const { context, page, problems } = await open(PHONE);
    try {
      await go(page, '/observe');
      await page.locator('#observer-name').fill('browser-test');
      await page.locator('#site').selectOption('lachin-road');
      await page.locator('#token').fill(observerToken);
      await page.locator('#setup-form button[type="submit"]').click();
      assert.equal(await page.locator('#setup-details').getAttribute('open'), null, 'the settings fold away once saved');

      await context.setOffline(true);
      await page.locator('#direction input[value="inbound"]').check({ force: true });
      await page.locator('button.tally[data-category="red_cross"]').click();
      await page.locator('li.receipt-queued').first().waitFor();
      assert.equal(await page.locator('#connection').getAttribute('data-state'), 'offline');
      assert.equal(await page.locator('#queue-count').getAttribute('data-count'), '1');
      assert.equal(await page.locator('button.tally[data-category="red_cross"] .taps').textContent(), '1');
      const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('corridor-observer-v1')));
      assert.equal(stored.queue.length, 1, 'the tally waits in localStorage');
      assert.equal(stored.queue[0].record.category, 'red_cross');
      assert.equal(stored.queue[0].record.direction, 'inbound');
      await page.screenshot({ path: join(outputDirectory, 'observer-offline.png'), fullPage: false });

      await context.setOffline(false);
      const receipt = page.locator('li.receipt-sent .result');
      await receipt.first().waitFor({ timeout: 15000 });
      assert.match(await receipt.first().textContent(), /^leaf #\d+$/);
      assert.equal(await page.locator('#queue-count').getAttribute('data-count'), '0');
      const leafIndex = Number(await receipt.first().getAttribute('data-leaf-index'));
      assert.ok(leafIndex >= 980, `the record got a leaf after the demo's: ${leafIndex}`);
      assert.deepEqual(await sideways(page), { overflow: 0, sticking: [] }, 'the tally page does not scroll sideways');
      await page.screenshot({ path: join(outputDirectory, 'observer-phone.png'), fullPage: false });
      await page.locator('#receipts').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(outputDirectory, 'observer-receipts-phone.png'), fullPage: false });
      assert.deepEqual(problems, clean);
    } finally {
      await context.close();
    }
  });

  test('a tally the server refuses says why, and the page says every one was refused', async () => {
    assert.ok(observerToken, 'CORRIDOR_OBSERVER_TOKEN holds a token with the observer role; run ./run.sh');
    const { context, page, problems } = await open(PHONE);
    try {
      await go(page, '/observe');
      await page.locator('#observer-name').fill('browser-test');
      await page.locator('#site').selectOption('lachin-road');
      await page.locator('#token').fill(observerToken);
      await page.locator('#setup-form button[type="submit"]').click();
      // A control character: the record schema refuses it in notes, so the
      // server rejects the only record of the batch (422 with its error).
      await page.locator('#note').fill('bell \u0007 here');
      await page.locator('button.tally[data-category="civilian"]').click();
      const refused = page.locator('li.receipt-rejected .result');
      await refused.first().waitFor({ timeout: 15000 });
      assert.match(await refused.first().textContent(), /^refused: .+/);
      assert.match(await page.locator('#message').textContent(), /^1 refused by the server/);
      assert.equal(await page.locator('#message').getAttribute('data-kind'), 'error');
      // Chromium logs the 422 itself; nothing else may be on the console.
      const others = problems.consoleErrors.filter((text) => !/status of 422/.test(text));
      assert.deepEqual({ ...problems, consoleErrors: others }, clean);
    } finally {
      await context.close();
    }
  });
});
