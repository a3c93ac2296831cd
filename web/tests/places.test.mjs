// places.test.mjs – the search box finds places (a combobox), a chosen place lists the nearest
// initiatives and lives in the URL; co-located initiatives are listed at the deepest zoom; place
// labels are drawn without overlaps at two zooms (screenshots in test-output/).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { assertClean, ensureOutputDir, launchBrowser, settle, startServer, viewOf, watchedPage } from './helpers.mjs';

let server;
let browser;
const pages = [];

async function open(hash = '') {
  const watched = await watchedPage(browser);
  pages.push(watched);
  await watched.page.goto(`${server.url}/${hash}`);
  await settle(watched.page);
  return watched;
}

/** Distances of the near list in metres, in the order shown ("850 m", "12.3 km", "212 km"). */
async function nearDistances(page) {
  const texts = await page.$$eval('#near-list .result-extra', (els) => els.map((e) => e.textContent));
  return texts.map((t) => {
    const [value, unit] = t.replace(/,/g, '').split(' ');
    return Number(value) * (unit === 'km' ? 1000 : 1);
  });
}

/** The boxes of the drawn labels, and whether any two overlap. */
async function labelBoxes(page) {
  return page.$$eval('.place-label-inner', (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { name: e.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    }),
  );
}

function overlaps(boxes) {
  const found = [];
  for (let i = 0; i < boxes.length; i += 1) {
    for (let j = i + 1; j < boxes.length; j += 1) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) found.push(`${a.name} / ${b.name}`);
    }
  }
  return found;
}

describe('places', () => {
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const { context } of pages) await context.close().catch(() => {});
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  let permalink = null;
  let nearestIds = null;

  test('typing "tart" offers Tartu; choosing it with the keyboard lists the nearest initiatives', async () => {
    const { page, problems } = await open();
    const search = page.locator('#search');
    await search.click();
    await search.pressSequentially('tart', { delay: 40 });
    const first = page.locator('#search-options [role="option"]').first();
    await first.waitFor();
    assert.equal(await search.getAttribute('aria-expanded'), 'true');
    assert.match(await first.textContent(), /^Tartu.*EE/);
    await search.press('ArrowDown');
    assert.equal(await search.getAttribute('aria-activedescendant'), await first.getAttribute('id'));
    assert.equal(await first.getAttribute('aria-selected'), 'true');
    await search.press('Enter');
    await settle(page);
    await page.locator('#near-list .result').first().waitFor();
    await settle(page);

    assert.equal(await search.getAttribute('aria-expanded'), 'false');
    assert.equal(await search.inputValue(), '', 'the place replaces the text search');
    const view = viewOf(page.url());
    assert.equal(view.params.get('place'), 'Tartu');
    const [lat, lon] = view.params.get('near').split(',').map(Number);
    assert.ok(Math.abs(lat - 58.38) < 0.01 && Math.abs(lon - 26.73) < 0.01, `near Tartu: ${lat},${lon}`);
    assert.ok(Math.abs(view.lat - 58.38) < 1 && Math.abs(view.lon - 26.73) < 1, 'the map moved to Tartu');
    const summary = await page.textContent('#near-summary');
    assert.match(summary, /Tartu/);
    const distances = await nearDistances(page);
    assert.ok(distances.length > 0, summary);
    assert.deepEqual(distances, [...distances].sort((a, b) => a - b), 'nearest first');
    nearestIds = await page.$$eval('#near-list .result', (els) => els.map((e) => e.dataset.id));
    permalink = page.url();
    assert.ok(await page.locator('#near-list .result').first().isVisible(), 'the list is scrolled into view');
    await page.screenshot({ path: path.join(ensureOutputDir(), 'places-tartu.png') });
    assertClean(assert, problems);
  });

  test('the permalink restores the place and its list', async () => {
    assert.ok(permalink, 'the first test made a permalink');
    const { page, problems } = await open(new URL(permalink).hash);
    await page.locator('#near-list .result').first().waitFor();
    await settle(page);
    assert.match(await page.textContent('#near-summary'), /Tartu/);
    const ids = await page.$$eval('#near-list .result', (els) => els.map((e) => e.dataset.id));
    assert.deepEqual(ids, nearestIds);
    assert.equal(viewOf(page.url()).params.get('place'), 'Tartu');
    // Clearing the point forgets the place too.
    await page.click('#near-clear');
    await settle(page);
    assert.equal(viewOf(page.url()).params.get('place'), null);
    assertClean(assert, problems);
  });

  test('"Munchen" finds München, chosen with the mouse', async () => {
    const { page, problems } = await open();
    await page.locator('#search').fill('Munchen');
    const option = page.locator('#search-options [role="option"]').first();
    await option.waitFor();
    assert.match(await option.locator('.option-name').textContent(), /^München$/);
    await option.click();
    await page.locator('#near-list .result').first().waitFor();
    await settle(page);
    assert.equal(viewOf(page.url()).params.get('place'), 'München');
    // Initiatives are offered in the same list; Escape closes it.
    await page.locator('#search').fill('cyber');
    await page.locator('#search-options .option-initiative').first().waitFor();
    await page.locator('#search').press('Escape');
    assert.equal(await page.locator('#search-options').isHidden(), true);
    assertClean(assert, problems);
  });

  test('initiatives sharing a position are listed at the deepest zoom', async () => {
    // Brussels: twelve initiatives share one point.
    const { page, problems } = await open('#c=50.8503,4.3517&z=18');
    const view = viewOf(page.url());
    assert.equal(view.z, 14, 'the built-in base map stops at zoom 14');
    const cluster = page.locator('.cluster').filter({ hasText: /^\d+$/ });
    const counts = await cluster.evaluateAll((els) => els.map((e) => Number(e.dataset.count)));
    const biggest = Math.max(...counts);
    assert.ok(biggest >= 12, `a cluster of the twelve: ${counts}`);
    await page.locator(`.cluster[data-count="${biggest}"]`).click();
    const entries = page.locator('.leaflet-popup .colocated-list .result');
    await entries.first().waitFor();
    assert.equal(await entries.count(), biggest);
    assert.match(await page.textContent('.leaflet-popup .popup-title'), new RegExp(`^${biggest} initiatives here`));
    assert.equal(viewOf(page.url()).z, 14, 'no zoom past the deepest');
    await page.screenshot({ path: path.join(ensureOutputDir(), 'places-colocated.png') });
    const name = await entries.nth(2).locator('.result-name').textContent();
    const id = await entries.nth(2).getAttribute('data-id');
    await entries.nth(2).click();
    await page.waitForFunction((n) => document.querySelector('.leaflet-popup .popup-title')?.textContent === n, name);
    assert.equal(viewOf(page.url()).params.get('sel'), id);
    assertClean(assert, problems);
  });

  test('place labels: capitals when zoomed out, towns further in, never overlapping', async () => {
    const { page, problems } = await open('#c=51.0000,10.0000&z=4');
    await page.locator('.place-label').first().waitFor();
    await settle(page);
    const far = await labelBoxes(page);
    const farNames = far.map((b) => b.name);
    for (const capital of ['Berlin', 'Paris', 'Roma', 'Warszawa']) assert.ok(farNames.includes(capital), `${capital} in ${farNames}`);
    assert.ok(!farNames.includes('Tartu'), 'no small cities at zoom 4');
    assert.deepEqual(overlaps(far), [], 'no two labels overlap at zoom 4');
    assert.equal(await page.locator('.place-label.capital').filter({ hasText: 'Berlin' }).count(), 1);
    await page.screenshot({ path: path.join(ensureOutputDir(), 'labels-z4.png') });

    await page.goto(`${server.url}/#c=58.3800,26.7200&z=10`);
    await settle(page);
    await page.locator('.place-label').filter({ hasText: /^Tartu$/ }).waitFor();
    const near = await labelBoxes(page);
    const nearNames = near.map((b) => b.name);
    assert.ok(nearNames.includes('Elva'), `a town of 6,000 near Tartu: ${nearNames}`);
    assert.deepEqual(overlaps(near), [], 'no two labels overlap at zoom 10');
    await page.screenshot({ path: path.join(ensureOutputDir(), 'labels-z10.png') });
    const attribution = await page.textContent('.leaflet-control-attribution');
    assert.match(attribution, /GeoNames/);
    assertClean(assert, problems);
  });
});
