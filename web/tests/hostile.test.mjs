// hostile.test.mjs – data that looks like HTML is shown as text in the list, tooltip and popup, and never runs.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, randomFeatures, serverAndBrowser, settle, watchedPage } from './helpers.mjs';

const HOSTILE_NAME = '<img src=x onerror=alert(1)>';
const HOSTILE_ORG = '<b onmouseover=alert(2)>Org</b>';
const HOSTILE_DESC = '<script>alert(3)</script> & "quotes"';

/** Thirty ordinary records and one whose every text field is markup. */
function hostileFeatures() {
  const features = randomFeatures(30, 3);
  features.push({
    type: 'Feature',
    id: 'pt-hostile',
    geometry: { type: 'Point', coordinates: [-8.61, 41.15] },
    properties: {
      name: HOSTILE_NAME,
      description: HOSTILE_DESC,
      organisation: HOSTILE_ORG,
      url: 'https://example.org/"><img src=y onerror=alert(4)>',
      country: 'PT',
      city: 'Porto<svg onload=alert(5)>',
      skill_areas: ['cybersecurity'],
      target_groups: ['smes'],
      kind: 'hub',
      languages: ['pt'],
      updated_at: '2026-11-25T00:00:00Z',
      source: 'seed:public-sources',
    },
  });
  return features;
}

describe('hostile text in the data', () => {
  const suite = serverAndBrowser([], { dataset: { name: 'hostile', features: hostileFeatures } });

  test('shows the hostile name literally and runs nothing', async () => {
    const { context, page, problems } = await watchedPage(suite.browser);
    await page.goto(`${suite.server.url}/#c=41.1500,-8.6100&z=9`);
    await settle(page);
    const entry = page.locator('#list .result[data-id="pt-hostile"]');
    assert.equal(await entry.locator('.result-name').textContent(), HOSTILE_NAME);
    assert.ok((await entry.locator('.result-meta').textContent()).includes(HOSTILE_ORG));
    // The marker's tooltip.
    await page.locator('path.point[data-id="pt-hostile"]').hover({ force: true });
    await page.locator('.leaflet-tooltip').waitFor();
    assert.equal(await page.textContent('.leaflet-tooltip'), HOSTILE_NAME);
    // The popup.
    await entry.click();
    await page.locator('.leaflet-popup .popup-desc').waitFor();
    assert.equal(await page.textContent('.leaflet-popup .popup-title'), HOSTILE_NAME);
    assert.equal(await page.textContent('.leaflet-popup .popup-desc'), HOSTILE_DESC);
    assert.ok((await page.textContent('.leaflet-popup .popup-org')).includes(HOSTILE_ORG));
    const href = await page.getAttribute('.leaflet-popup a.popup-link', 'href');
    assert.ok(href.startsWith('https://example.org/'), href);
    // No element came from the data.
    assert.equal(await page.locator('#panel img, .leaflet-pane img, .leaflet-popup img, svg image').count(), 0);
    assert.equal(await page.locator('b, script:not([src]), .leaflet-popup svg').count(), 0);
    await page.waitForTimeout(300);
    assertClean(assert, problems);
    await context.close();
  });
});
