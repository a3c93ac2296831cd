// phone.test.mjs – the map on a phone (390×844): the filters that are on and what "near" found are
// said on the map, the map brings the circle in view, an empty result offers a wider radius, the
// coverage table scrolls, the attribution is folded behind a button.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, assertClean, pickFreeSpot, serverAndBrowser, settle, viewOf } from './helpers.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/** The element's box lies inside the viewport. */
async function inViewport(locator) {
  const box = await locator.boundingBox();
  return box && box.x >= -1 && box.y >= -1 && box.x + box.width <= 391 && box.y + box.height <= 845;
}

describe('the map on a phone', () => {
  const suite = serverAndBrowser();

  test('the filters that are on are said on the map, and can be cleared there', async () => {
    const { page, problems } = await suite.open('/#kind=training,hub&q=digital', PHONE);
    const status = page.locator('#map-status');
    assert.ok(await status.isVisible(), 'the status line shows on the map');
    assert.equal((await page.textContent('#status-filters-text')).trim(), '3 filters on');
    assert.ok(await inViewport(status));
    assert.equal(await page.getAttribute('#drawer-toggle', 'aria-expanded'), 'false');
    await assertAccessible(assert, page, 'phone, filters on');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await settle(page);
    assert.ok(!(await status.isVisible()), 'no status line without filters');
    const { params } = viewOf(page.url());
    assert.equal(params.get('kind'), null);
    assert.equal(params.get('q'), null);
    assertClean(assert, problems);
  });

  test('a picked point: the map fits the circle and says what was found', async () => {
    const { page, problems } = await suite.open('/#c=50.0,10.0&z=3', PHONE);
    const before = viewOf(page.url()).z;
    await page.click('#drawer-toggle');
    await page.click('#near-mode');
    assert.equal(await page.getAttribute('#drawer-toggle', 'aria-expanded'), 'false', 'picking closes the drawer');
    await page.locator('#panel').waitFor({ state: 'hidden' });
    await pickFreeSpot(assert, page);
    const view = viewOf(page.url());
    assert.ok(view.z > before, `the map zoomed to the circle (${before} → ${view.z})`);
    const circle = page.locator('path.near-circle');
    assert.ok(await inViewport(circle), 'the whole circle is in view');
    const text = (await page.textContent('#status-near-text')).trim();
    assert.match(text, /within 50 km/);
    assert.ok(await page.locator('#status-near').isVisible());
    // The list is one tap away.
    await page.getByRole('button', { name: 'Show the list' }).click();
    assert.equal(await page.getAttribute('#drawer-toggle', 'aria-expanded'), 'true');
    assert.ok(await page.locator('#near-results').isVisible());
    assertClean(assert, problems);
  });

  test('nothing within the radius: a wider one is offered, and fitted', async () => {
    // The middle of the Atlantic, 5 km.
    const { page, problems } = await suite.open('/#c=45.0,-30.0&z=6&near=45.0,-30.0&r=5', PHONE);
    await page.waitForFunction(() => !document.getElementById('status-near-widen').hidden);
    const widen = page.locator('#status-near-widen');
    assert.equal((await widen.textContent()).trim(), 'Search within 10 km');
    assert.match(await page.textContent('#status-near-text'), /Nothing within 5 km/);
    await assertAccessible(assert, page, 'phone, near with nothing found');
    await widen.click();
    await settle(page);
    assert.equal(viewOf(page.url()).params.get('r'), '10');
    assert.match(await page.textContent('#status-near-text'), /Nothing within 10 km/);
    assert.equal((await widen.textContent()).trim(), 'Search within 20 km');
    assert.ok(await inViewport(page.locator('path.near-circle')), 'the wider circle is in view');
    // The panel offers the same.
    assert.equal((await page.textContent('#near-widen')).trim(), 'Search within 20 km');
    assertClean(assert, problems);
  });

  test('the coverage table scrolls sideways instead of being cut', async () => {
    const { page, problems } = await suite.open('/#mode=coverage&level=nuts3', PHONE);
    // Closed, the drawer's content is skipped by rendering (the page's start costs less); the
    // table is filled all the same, and shows whole when the drawer opens.
    const skipped = () => page.$eval('#panel', (panel) => getComputedStyle(panel).contentVisibility);
    assert.equal(await skipped(), 'hidden');
    const regions = (await (await fetch(`${suite.server.url}/coverage?level=nuts3`)).json()).regions.length;
    assert.equal(await page.locator('#coverage-table tbody tr').count(), regions);
    await page.click('#drawer-toggle');
    assert.equal(await skipped(), 'visible');
    assert.ok(await page.locator('#coverage-table tbody tr').last().isVisible(), 'the last row is shown');
    const wrap = page.locator('.coverage-table-wrap');
    assert.equal(await wrap.evaluate((el) => getComputedStyle(el).overflowX), 'auto');
    // NUTS 3 names, however long, wrap: every column fits the panel.
    const fits = await wrap.evaluate((el) => el.querySelector('table').scrollWidth <= el.clientWidth);
    assert.ok(fits, 'the figures are not pushed out of the panel');
    // Made wider than the panel (as a long language or a large font can), it scrolls.
    const scrolled = await wrap.evaluate((el) => {
      el.querySelector('table').style.minWidth = '600px';
      el.scrollLeft = 100;
      return el.scrollLeft;
    });
    assert.ok(scrolled > 0, 'the table scrolls sideways');
    assertClean(assert, problems);
  });

  test('the attribution is folded behind a button', async () => {
    const { page, problems } = await suite.open('/', PHONE);
    const attribution = page.locator('.leaflet-control-attribution');
    const toggle = page.getByRole('button', { name: 'Sources and licences' });
    assert.ok(!(await attribution.isVisible()), 'folded at first');
    assert.ok(await toggle.isVisible());
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    assert.ok(await attribution.isVisible(), 'shown on request');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.match(await attribution.textContent(), /GeoNames/);
    await assertAccessible(assert, page, 'phone, attribution open');
    await toggle.click();
    assert.ok(!(await attribution.isVisible()), 'folded again');
    // On a desktop the attribution is shown as it always was, without the button.
    const desktop = await suite.open('/');
    assert.ok(await desktop.page.locator('.leaflet-control-attribution').isVisible());
    assert.ok(!(await desktop.page.getByRole('button', { name: 'Sources and licences' }).isVisible()));
    assertClean(assert, problems);
    assertClean(assert, desktop.problems);
  });
});
