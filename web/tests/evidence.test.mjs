// evidence.test.mjs – the popup says when a record was verified and links its evidence; closed
// initiatives stay off the map until the Status filter asks for them, and then carry a badge.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, serverAndBrowser, settle, watchedPage } from './helpers.mjs';

function record(id, lon, lat, extra) {
  return {
    type: 'Feature',
    id,
    geometry: { type: 'Point', coordinates: [lon, lat] },
    properties: {
      name: `Initiative ${id}`,
      description: `What ${id} offers, written for it.`,
      organisation: 'Org',
      url: 'https://example.org/',
      country: 'PT',
      city: 'Porto',
      skill_areas: ['data_ai'],
      target_groups: ['smes'],
      kind: 'training',
      languages: ['pt'],
      updated_at: '2026-11-25T00:00:00Z',
      source: 'test',
      ...extra,
    },
  };
}

describe('evidence and closed initiatives in the page', () => {
  const suite = serverAndBrowser([], {
    dataset: {
      name: 'evidence',
      features: () => [
        record('pt-verified', -8.61, 41.15, {
          evidence_url: 'https://example.org/programmes/verified',
          verified_at: '2026-11-30',
          status: 'active',
          location_precision: 'address',
        }),
        record('pt-unverified', -8.5, 41.2, {}),
        record('pt-closed', -8.7, 41.1, {
          evidence_url: 'https://example.org/news/closed-in-2025',
          verified_at: '2026-11-30',
          status: 'closed',
          location_precision: 'city',
        }),
      ],
    },
  });

  test('the popup says when the record was verified and links the evidence', async () => {
    const { context, page, problems } = await watchedPage(suite.browser);
    await page.goto(`${suite.server.url}/#c=41.1500,-8.6100&z=10`);
    await settle(page);
    await page.locator('#list .result[data-id="pt-verified"]').click();
    const line = page.locator('.leaflet-popup .popup-evidence');
    await line.waitFor();
    assert.equal(await line.textContent(), 'Verified on Nov 30, 2026 · evidence');
    assert.equal(await line.locator('time').getAttribute('datetime'), '2026-11-30');
    const link = line.locator('a');
    assert.equal(await link.getAttribute('href'), 'https://example.org/programmes/verified');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await page.locator('.leaflet-popup .badge-closed').count(), 0);

    // A record without evidence says nothing about it.
    await page.locator('.leaflet-popup-close-button').click();
    await page.locator('#list .result[data-id="pt-unverified"]').click();
    await page.locator('.leaflet-popup .popup-title').waitFor();
    await settle(page);
    assert.equal(await page.textContent('.leaflet-popup .popup-title'), 'Initiative pt-unverified');
    assert.equal(await page.locator('.leaflet-popup .popup-evidence').count(), 0);
    assertClean(assert, problems);
    await context.close();
  });

  test('closed initiatives appear only when the Status filter asks, with a badge', async () => {
    const { context, page, problems } = await watchedPage(suite.browser);
    await page.goto(`${suite.server.url}/#c=41.1500,-8.6100&z=10`);
    await settle(page);
    const ids = async () => page.locator('#list .result').evaluateAll((nodes) => nodes.map((n) => n.dataset.id).sort());
    assert.deepEqual(await ids(), ['pt-unverified', 'pt-verified']);
    assert.equal(await page.locator('path.point[data-id="pt-closed"]').count(), 0);

    await page.locator('details[data-filter="status"] summary').click();
    await page.locator('#f-status-closed').check();
    await settle(page);
    assert.deepEqual(await ids(), ['pt-closed']);
    assert.ok(page.url().includes('status=closed'), page.url());
    assert.equal(await page.locator('path.point-closed[data-id="pt-closed"]').count(), 1);
    assert.ok((await page.locator('#list .result[data-id="pt-closed"] .result-meta').textContent()).startsWith('closed'));

    await page.locator('#list .result[data-id="pt-closed"]').click();
    await page.locator('.leaflet-popup .badge-closed').waitFor();
    assert.equal(await page.textContent('.leaflet-popup .badge-closed'), 'Closed');
    assert.equal(
      await page.getAttribute('.leaflet-popup .popup-evidence a', 'href'),
      'https://example.org/news/closed-in-2025',
    );

    // Both ticked: everything.
    await page.locator('.leaflet-popup-close-button').click();
    await page.locator('#f-status-active').check();
    await settle(page);
    assert.deepEqual(await ids(), ['pt-closed', 'pt-unverified', 'pt-verified']);
    assertClean(assert, problems);
    await context.close();
  });
});
