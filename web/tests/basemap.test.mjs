// basemap.test.mjs – a configured raster base map replaces the country outlines and shows its attribution as text.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CSP, assertClean, launchBrowser, settle, startServer, watchedPage } from './helpers.mjs';

// A different port is a different origin; nothing listens there: the test answers the requests.
const TILE_ORIGIN = 'http://127.0.0.1:9';
const ATTRIBUTION = 'Tiles © <b>Example</b>';
// A 1×1 transparent PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

let server;
let browser;

describe('configured raster base map', () => {
  before(async () => {
    server = await startServer([
      '--basemap-url', `${TILE_ORIGIN}/{z}/{x}/{y}.png`,
      '--basemap-attribution', ATTRIBUTION,
    ]);
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  test('loads the tiles, shows the attribution literally, skips the outlines', async () => {
    const csp = CSP.replace("img-src 'self' data:", `img-src 'self' data: ${TILE_ORIGIN}`);
    const { context, page, problems } = await watchedPage(browser, {}, csp);
    const tiles = [];
    await page.route(`${TILE_ORIGIN}/**`, (route) => {
      tiles.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'image/png', body: PNG });
    });
    await page.goto(`${server.url}/`);
    await settle(page);
    await page.waitForFunction(() => document.querySelectorAll('.leaflet-tile-loaded').length > 0);
    assert.ok(tiles.length > 0 && tiles.every((u) => /\/\d+\/\d+\/\d+\.png$/.test(u)), 'raster tiles requested');
    const attribution = await page.textContent('.leaflet-control-attribution');
    assert.ok(attribution.includes(ATTRIBUTION), `attribution as text: ${attribution}`);
    assert.equal(await page.locator('.leaflet-control-attribution b').count(), 0);
    assert.ok(!problems.requests.some((u) => u.includes('/basemap/')), 'no country outlines requested');
    assert.ok((await page.locator('.cluster, path.point').count()) > 0);
    assertClean(assert, problems);
    await context.close();
  });
});
