// maplibre.test.mjs – a third-party vector-tile client: MapLibre GL JS (npm) adds the layer from
// /tiles.json, as the README shows, renders the MVT tiles and holds the GeoJSON tile's clusters.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { WEB_DIR, startServer } from './helpers.mjs';

const DIST = path.join(WEB_DIR, 'node_modules', 'maplibre-gl', 'dist');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// The page under test, served at the server's origin (so tiles are same-origin) by the test
// itself: the site has no MapLibre page of its own.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="/__maplibre/maplibre-gl.css">
<style>html,body,#map{margin:0;width:512px;height:512px}</style></head>
<body><div id="map"></div>
<script type="module">
import * as maplibregl from '/__maplibre/maplibre-gl.mjs';
const map = new maplibregl.Map({
  container: 'map',
  center: [0, 0],
  zoom: 0,
  renderWorldCopies: false,
  style: { version: 8, sources: {}, layers: [] },
});
map.on('load', () => {
  map.addSource('initiatives', { type: 'vector', url: location.origin + '/tiles.json' });
  map.addLayer({ id: 'initiatives', type: 'circle', source: 'initiatives', 'source-layer': 'initiatives',
    paint: { 'circle-radius': 6, 'circle-color': '#1f6feb' } });
});
window.testMap = map;
</script></body></html>`;

let server;
let browser;

before(async () => {
  server = await startServer();
  // WebGL without a GPU: SwiftShader, Chromium's software renderer.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('MapLibre GL JS renders the vector tiles from /tiles.json with the GeoJSON tile\'s counts', async () => {
  const page = await browser.newPage({ viewport: { width: 512, height: 512 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('requestfailed', (request) => errors.push(`${request.url()} ${request.failure()?.errorText}`));
  await page.route(`${server.url}/__maplibre/**`, async (route) => {
    const name = new URL(route.request().url()).pathname.replace('/__maplibre/', '');
    if (name === 'index.html') return route.fulfill({ contentType: 'text/html', body: PAGE });
    const type = name.endsWith('.css') ? 'text/css' : 'text/javascript';
    return route.fulfill({ contentType: type, body: readFileSync(path.join(DIST, path.basename(name))) });
  });
  await page.goto(`${server.url}/__maplibre/index.html`);
  // Rendered: the source's tiles have loaded and the map has drawn them.
  await page.waitForFunction(
    () => window.testMap?.getLayer('initiatives') && window.testMap.isSourceLoaded('initiatives')
      && window.testMap.loaded() && window.testMap.queryRenderedFeatures({ layers: ['initiatives'] }).length > 0,
    null,
    { timeout: 60000 },
  ).catch((error) => {
    throw new Error(`${error.message}; page errors: ${errors.join(' | ')}`);
  });
  const rendered = await page.evaluate(() => window.testMap.queryRenderedFeatures({ layers: ['initiatives'] })
    .map((f) => ({ cluster: f.properties.cluster, count: f.properties.point_count ?? 1 })));
  assert.deepEqual(errors, []);
  assert.ok(rendered.length > 0);

  const tile = await (await fetch(`${server.url}/tiles/0/0/0.geojson`)).json();
  const expected = tile.features.map((f) => (f.properties.cluster ? f.properties.point_count : 1));
  const counts = (list) => list.slice().sort((a, b) => a - b);
  assert.deepEqual(counts(rendered.map((f) => f.count)), counts(expected));
  await page.close();
});
