// accessibility.test.mjs – axe-core (WCAG 2.1 A and AA) over the map page's states: map, filters, popup, near results, coverage with its table, the propose form with errors, the phone's drawer in another language.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, assertClean, offsetLatLng, proposalFeature, serverAndBrowser, settle } from './helpers.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

describe('accessibility (axe-core)', () => {
  const suite = serverAndBrowser();

  test('the map, with filters ticked (zero counts greyed)', async () => {
    const { page, problems } = await suite.open('/#c=47.7994,13.0440&z=9');
    await assertAccessible(assert, page, 'the map');
    await suite.open('/#c=47.7994,13.0440&z=9&kind=hub').then(({ page: filtered }) => assertAccessible(assert, filtered, 'filters'));
    assertClean(assert, problems);
  });

  test('no marker is left half under a map control (target size)', async () => {
    // Open the map where a cluster sits under the open legend: measure a cluster and the legend
    // on one view, then open the view moved by their distance. Clusters of a zoom stay where
    // they are whatever the view, so the cluster lands under the legend.
    const view = { lat: 50, lon: 10, z: 5 };
    const first = await suite.open(`/#c=${view.lat.toFixed(4)},${view.lon.toFixed(4)}&z=${view.z}`);
    await settle(first.page);
    await first.page.waitForFunction(() => document.querySelectorAll('.leaflet-marker-pane .cluster:not(.covered)').length > 0);
    const offset = await first.page.evaluate(() => {
      const legend = document.querySelector('.legend').getBoundingClientRect();
      const r = document.querySelector('.leaflet-marker-pane .cluster:not(.covered)').getBoundingClientRect();
      return { dx: r.left + r.width / 2 - (legend.left + legend.width / 2), dy: r.top + r.height / 2 - (legend.top + legend.height / 2) };
    });
    assertClean(assert, first.problems);
    const moved = offsetLatLng(view, offset.dx, offset.dy);
    const { page, problems } = await suite.open(`/#c=${moved.lat.toFixed(5)},${moved.lon.toFixed(5)}&z=${view.z}`);
    await settle(page);
    await page.waitForSelector('#map .leaflet-marker-pane .covered', { state: 'attached' });
    assert.ok(await page.locator('#map .leaflet-marker-pane .covered').count(), 'no cluster ended under the legend');
    const overlapping = await page.evaluate(() => {
      const controls = [...document.querySelectorAll('#map .leaflet-control')].map((c) => c.getBoundingClientRect());
      return [...document.querySelectorAll('#map .leaflet-marker-pane [role="button"], #map .leaflet-overlay-pane [role="button"]')]
        .filter((node) => getComputedStyle(node).visibility !== 'hidden')
        .map((node) => node.getBoundingClientRect())
        .filter((r) => controls.some((c) => r.left < c.right && r.right > c.left && r.top < c.bottom && r.bottom > c.top)).length;
    });
    assert.equal(overlapping, 0, 'a visible marker overlaps a map control');
    assertClean(assert, problems);
  });

  test('a popup, and near results', async () => {
    const { page, problems } = await suite.open('/#c=47.7994,13.0440&z=12&sel=at-50plus-center-salzburg');
    await page.waitForSelector('.initiative-popup .popup-link');
    await assertAccessible(assert, page, 'a popup');
    const near = await suite.open('/#c=52.5200,13.4050&z=10&near=52.5200,13.4050&r=20');
    await near.page.waitForSelector('#near-list .result');
    await assertAccessible(assert, near.page, 'near results');
    assertClean(assert, problems);
  });

  test('coverage with its table', async () => {
    const { page, problems } = await suite.open('/#z=4&mode=coverage');
    await page.waitForFunction(() => document.querySelectorAll('#coverage-table tbody tr').length > 0, null, { timeout: 20000 });
    await settle(page);
    await assertAccessible(assert, page, 'coverage');
    assertClean(assert, problems);
  });

  test('the propose form with its errors', async () => {
    const { page, problems } = await suite.open('/#c=50.0000,10.0000&z=5');
    await page.click('#propose-open');
    await page.locator('#propose').waitFor();
    await page.click('#propose button[type="submit"]');
    await page.waitForSelector('#propose .field-error:not([hidden])');
    await assertAccessible(assert, page, 'propose with errors');
    assertClean(assert, problems);
  });

  test('a phone with the drawer open, in Polish', async () => {
    const { page, problems } = await suite.open('/#lang=pl', PHONE);
    await page.click('#drawer-toggle');
    await page.waitForFunction(() => document.body.classList.contains('drawer-open'));
    await assertAccessible(assert, page, 'the drawer on a phone (pl)');
    assertClean(assert, problems);
  });
});

describe('accessibility of the moderation page (axe-core)', () => {
  const TOKEN = 'alice-token-0123456789';
  const suite = serverAndBrowser([], { env: { SKILLSMAP_CURATOR_TOKENS: `alice:${TOKEN}` } });

  test('signed in, with a proposal open', async () => {
    const response = await fetch(`${suite.server.url}/submissions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/geo+json' },
      body: JSON.stringify(proposalFeature('Data Evenings Amsterdam')),
    });
    assert.equal(response.status, 202);
    const { page, problems } = await suite.open('/moderate.html');
    await assertAccessible(assert, page, 'moderation, signed out');
    await page.fill('#token', TOKEN);
    await page.click('#signin-form button[type="submit"]');
    const item = page.locator('#submissions .submission').first();
    await item.waitFor();
    await item.locator('summary').click();
    await settle(page);
    await assertAccessible(assert, page, 'moderation, signed in, a proposal open');
    assertClean(assert, problems);
  });
});
