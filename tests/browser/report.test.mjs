// The HTML report in real headless Chromium: the charts render from the
// page alone (no script, no network), the figures shown are the figures
// embedded, and the page holds up on a phone and in print.
//
// Run through ./run.sh, which writes the demo report and sets
// CORRIDOR_REPORT_HTML and CORRIDOR_BROWSER_OUT.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { DEMO_SITES, assertLabelsLegible, assertMapDrawn, markers } from './map.mjs';

const reportPath = process.env.CORRIDOR_REPORT_HTML;
const outputDirectory = process.env.CORRIDOR_BROWSER_OUT ?? resolve('../../target/browser');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const reportUrl = reportPath ? pathToFileURL(resolve(reportPath)).href : '';

// The demo covers 12 December 2022 to 23 January 2023: 43 days.
const PERIOD_DAYS = 43;
const ROAD = 'section.site[data-site="lachin-road"]';

let browser;

/** Opens the report in a fresh context and records everything that should not happen. */
async function openReport(contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const problems = { consoleErrors: [], pageErrors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => problems.pageErrors.push(String(error)));
  page.on('request', (request) => {
    if (request.url() !== reportUrl) problems.requests.push(request.url());
  });
  const response = await page.goto(reportUrl, { waitUntil: 'load' });
  assert.ok(response === null || response.ok(), 'the report page loads');
  return { context, page, problems };
}

describe('HTML report in headless Chromium', () => {
  before(async () => {
    assert.ok(reportPath && existsSync(reportPath), `CORRIDOR_REPORT_HTML names the report page (got ${reportPath}); run ./run.sh`);
    assert.ok(existsSync(executablePath), `${executablePath} is missing: apt-get install -y chromium, or set CHROMIUM`);
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    await browser?.close();
  });

  test('renders the daily flow, status band, coverage and categories as SVG', async () => {
    const { context, page, problems } = await openReport({ viewport: { width: 1100, height: 900 } });
    try {
      // The demo's notices say its records are synthetic, in the box at the top.
      const notices = page.locator('section#notices');
      assert.ok(await notices.isVisible(), 'the notices box is shown');
      assert.match(await notices.textContent(), /synthetic/);

      const bars = page.locator(`${ROAD} svg.daily-flow rect.bar`);
      assert.equal(await bars.count(), PERIOD_DAYS, 'one bar per day of the period');
      const cells = page.locator(`${ROAD} svg.daily-flow .status-band rect`);
      assert.equal(await cells.count(), PERIOD_DAYS, 'one status cell per day');
      // About 23 vehicles a day against a baseline of 920: every day is severely restricted.
      assert.equal(await page.locator(`${ROAD} .status-band rect.status-severely-restricted`).count(), PERIOD_DAYS);
      assert.equal(await page.locator(`${ROAD} svg.daily-flow.scale-log`).count(), 1, 'the baseline dwarfs the flow: log scale');
      assert.equal(await page.locator(`${ROAD} svg.daily-flow path.baseline`).count(), 1, 'the baseline is drawn');

      // Drawn, not just present: the bars have height and the chart has a box.
      const heights = await bars.evaluateAll((rects) => rects.map((rect) => rect.getBBox().height));
      assert.ok(heights.every((height) => height > 20), `the observed bars are visible on the log scale: ${heights}`);
      const chartBox = await page.locator(`${ROAD} svg.daily-flow`).boundingBox();
      assert.ok(chartBox && chartBox.width > 600 && chartBox.height > 150, `chart box ${JSON.stringify(chartBox)}`);

      // The road was watched all period; the mines never were.
      assert.equal(await page.locator(`${ROAD} svg.coverage-strip rect.covered`).count(), 1);
      assert.equal(await page.locator(`${ROAD} svg.coverage-strip rect.gap`).count(), 0);
      const mineGaps = page.locator('section.site[data-site="gold-mine"] svg.coverage-strip rect.gap');
      assert.equal(await mineGaps.count(), 1);
      assert.equal(await page.locator('section.site[data-site="gold-mine"] .status-band rect.status-not-covered').count(), PERIOD_DAYS);

      const categories = await page.locator('svg.categories rect.bar').evaluateAll((rects) =>
        rects.map((rect) => [rect.dataset.category, rect.getBBox().width]),
      );
      assert.deepEqual(categories.map(([category]) => category), ['peacekeeping', 'red_cross']);
      assert.ok(categories[0][1] > categories[1][1], 'bars are proportional: more peacekeeping than red cross vehicles');

      // Every chart names itself for screen readers.
      const unnamed = await page.locator('svg').evaluateAll((svgs) =>
        svgs.filter((svg) => svg.getAttribute('role') !== 'img' || !svg.getAttribute('aria-label') || !svg.querySelector(':scope > title')).length,
      );
      assert.equal(unnamed, 0, 'every SVG has role=img, an aria-label and a title');

      assert.deepEqual(problems, { consoleErrors: [], pageErrors: [], requests: [] }, 'no console errors, no network requests');
      await page.screenshot({ path: join(outputDirectory, 'report.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  test('claims show their verdict badges and the claimed beside the computed figure', async () => {
    const { context, page, problems } = await openReport();
    try {
      const claimBadges = await page.locator('article.claim > header .verdict-badge').allTextContents();
      assert.deepEqual(claimBadges, ['CONSISTENT', 'NOT VERIFIABLE']);
      const assertionBadges = await page.locator('li.assertion .verdict-badge').allTextContents();
      assert.ok(assertionBadges.length >= 4, `every assertion has a badge: ${assertionBadges}`);
      const firstClaimed = await page.locator('article.claim').first().locator('dd.claimed').first().textContent();
      const firstComputed = await page.locator('article.claim').first().locator('dd.computed').first().textContent();
      assert.equal(firstClaimed, '980');
      assert.equal(firstComputed, '980');
      assert.deepEqual(problems, { consoleErrors: [], pageErrors: [], requests: [] });
    } finally {
      await context.close();
    }
  });

  test('the figures shown are the figures embedded for verification', async () => {
    const { context, page } = await openReport();
    try {
      const embedded = JSON.parse(await page.locator('script#corridor-report').textContent());
      assert.equal(embedded.format, 'corridor-report/v2');
      assert.equal(embedded.totals.totals.vehicles, 980);
      const shown = await page.locator('.tile-vehicles .value').textContent();
      assert.equal(shown, embedded.totals.totals.vehicles.toLocaleString('en-US'));
      const treeSize = await page.locator('#verify dd').nth(1).textContent();
      assert.equal(treeSize.replaceAll(',', ''), String(embedded.checkpoint.tree_size));
      assert.match(await page.locator('#verify pre.command').textContent(), /^corridor report verify REPORT\.html --log DIR --vkey KEY$/);
    } finally {
      await context.close();
    }
  });

  test('reads without JavaScript', async () => {
    const { context, page, problems } = await openReport({ javaScriptEnabled: false });
    try {
      assert.equal(await page.locator('script:not([type="application/json"])').count(), 0, 'the page has no script to run');
      assert.equal(await page.locator(`${ROAD} svg.daily-flow rect.bar`).count(), PERIOD_DAYS);
      assert.ok(await page.locator('h1').isVisible());
      assert.deepEqual(problems.requests, []);
    } finally {
      await context.close();
    }
  });

  test('fits a phone screen and prints', async () => {
    const { context, page, problems } = await openReport({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
    try {
      // Only the charts and wide tables may scroll sideways, inside their own boxes.
      const layout = await page.evaluate(() => {
        const width = document.documentElement.clientWidth;
        const sticking = [...document.querySelectorAll('body *')]
          .filter((element) => !element.closest('.table-scroll, figure.chart, nav.contents'))
          .filter((element) => element.getBoundingClientRect().right > width + 0.5)
          .map((element) => `${element.tagName.toLowerCase()}.${element.className}`);
        return { overflow: document.documentElement.scrollWidth - width, sticking };
      });
      assert.deepEqual(layout, { overflow: 0, sticking: [] }, 'the page does not scroll sideways on a phone');
      await page.screenshot({ path: join(outputDirectory, 'report-phone.png'), fullPage: false });
      await page.emulateMedia({ media: 'print' });
      assert.equal(await page.locator('nav.contents').isVisible(), false, 'the contents bar is not printed');
      const printedChart = await page.locator(`${ROAD} svg.daily-flow`).boundingBox();
      assert.ok(printedChart && printedChart.width > 300, 'the charts print at full width');
      await page.pdf({ path: join(outputDirectory, 'report.pdf'), format: 'A4', printBackground: true });
      assert.deepEqual(problems, { consoleErrors: [], pageErrors: [], requests: [] });
    } finally {
      await context.close();
    }
  });

  test('the map shows every site with its status, flow and a link to its section', async () => {
    const { context, page, problems } = await openReport({ viewport: { width: 1100, height: 900 } });
    try {
      await assertMapDrawn(page);
      const shown = await markers(page);
      assert.deepEqual(Object.fromEntries(shown.map((marker) => [marker.site, marker.status])), DEMO_SITES);
      for (const marker of shown) {
        assert.equal(marker.href, `#site-${marker.site}`, 'each marker leads to its section of the report');
        assert.equal(await page.locator(`section.site#site-${marker.site}`).count(), 1);
        assert.match(marker.title, /vehicles passed in the period \(.+ marker\)/);
      }
      const road = shown.find((marker) => marker.site === 'lachin-road');
      assert.match(road.label, /severely restricted · 980 vehicles/);
      assert.equal(road.marker, 'polygon', 'severely restricted is a triangle, not only a colour');
      assert.equal(shown.find((marker) => marker.site === 'gold-mine').label.includes('not covered · 0 vehicles'), true);
      assert.equal(await page.locator('ul.sites-without-coordinates').count(), 0, 'every demo site has coordinates');
      await assertLabelsLegible(page);
      await page.locator('section#map').screenshot({ path: join(outputDirectory, 'report-map.png') });

      await page.locator('svg.site-map a.map-site[data-map-site="lachin-road"] text.map-label').click();
      assert.match(page.url(), /#site-lachin-road$/, 'the marker link follows');
      assert.deepEqual(problems, { consoleErrors: [], pageErrors: [], requests: [] });
    } finally {
      await context.close();
    }
  });

  test('the map reads at phone width', async () => {
    const { context, page, problems } = await openReport({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true });
    try {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'the page with its map does not scroll sideways');
      const box = await page.locator('svg.site-map').boundingBox();
      assert.ok(box && box.width >= 320 && box.width <= 375, `the map takes the phone's width: ${JSON.stringify(box)}`);
      await assertLabelsLegible(page);
      await page.locator('section#map').screenshot({ path: join(outputDirectory, 'report-map-phone.png') });
      assert.deepEqual(problems, { consoleErrors: [], pageErrors: [], requests: [] });
    } finally {
      await context.close();
    }
  });

  test("Chromium's --print-to-pdf gives A4 pages that each name the period, the checkpoint and page n / N", async () => {
    const embedded = JSON.parse(
      await (async () => {
        const { context, page } = await openReport();
        try {
          return await page.locator('script#corridor-report').textContent();
        } finally {
          await context.close();
        }
      })(),
    );
    const pdf = join(outputDirectory, 'report-print.pdf');
    rmSync(pdf, { force: true });
    // The browser's own header and footer are off: what is on the page comes from the stylesheet.
    execFileSync(executablePath, [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--no-pdf-header-footer',
      `--print-to-pdf=${pdf}`,
      reportUrl,
    ], { stdio: 'ignore', timeout: 120_000 });
    assert.ok(existsSync(pdf), 'Chromium wrote the PDF');

    const info = execFileSync('pdfinfo', [pdf], { encoding: 'utf8' });
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
    assert.ok(pages >= 3, `the report prints on several pages: ${pages}`);
    const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(info);
    assert.ok(size && Math.abs(Number(size[1]) - 595.3) < 2 && Math.abs(Number(size[2]) - 841.9) < 2, `A4 pages: ${size?.[0]}`);

    const treeSize = embedded.checkpoint.tree_size.toLocaleString('en-US');
    const root = embedded.checkpoint.root_hash;
    for (let number = 1; number <= pages; number += 1) {
      const text = execFileSync('pdftotext', ['-layout', '-f', String(number), '-l', String(number), pdf, '-'], { encoding: 'utf8' });
      const flat = text.replace(/\s+/g, ' ');
      assert.match(flat, /Corridor access report · period 12 Dec 2022 to 23 Jan 2023/, `page ${number} names the period`);
      assert.ok(flat.includes(`Log checkpoint: tree size ${treeSize}, root hash ${root}`), `page ${number} names the checkpoint: ${flat.slice(-300)}`);
      assert.ok(flat.includes(`page ${number} / ${pages}`), `page ${number} says page ${number} / ${pages}`);
    }

    // The pages as pictures, to look at: target/browser/report-page-N.png.
    for (const old of readdirSync(outputDirectory).filter((name) => /^report-page-\d+\.png$/.test(name))) {
      rmSync(join(outputDirectory, old));
    }
    mkdirSync(outputDirectory, { recursive: true });
    execFileSync('pdftoppm', ['-png', '-r', '60', pdf, join(outputDirectory, 'report-page')]);
    const pictures = readdirSync(outputDirectory).filter((name) => /^report-page-\d+\.png$/.test(name));
    assert.equal(pictures.length, pages, 'one picture per page');
  });
});
