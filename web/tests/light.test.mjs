// light.test.mjs – the page's weight and caching: a cold first load moves under 300 KB, versioned
// files are cached for a year as immutable, pages are revalidated (no-cache with an ETag).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, settle } from './helpers.mjs';

const BUDGET = 300 * 1024;
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Opens `url` in `context` and records every response from CDP's network events. */
async function load(context, url, ready = '.leaflet-basemap-pane path') {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const responses = new Map();
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    responses.set(requestId, {
      url: response.url,
      status: response.status,
      headers,
      cached: Boolean(response.fromDiskCache || response.fromMemoryCache),
      bytes: 0,
    });
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const response = responses.get(requestId);
    if (response) response.bytes = encodedDataLength;
  });
  await page.goto(url);
  await settle(page);
  await page.waitForFunction((selector) => document.querySelectorAll(selector).length > 0, ready);
  await settle(page);
  return { page, responses: [...responses.values()] };
}

describe('a light page', () => {
  const suite = serverAndBrowser();

  test('a cold first load moves under 300 KB, with long-lived caching for versioned files', async (t) => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const { responses } = await load(context, `${suite.server.url}/`);
    const total = responses.reduce((sum, r) => sum + r.bytes, 0);
    const listing = responses
      .map((r) => `${r.bytes}\t${r.url.replace(suite.server.url, '')}`)
      .join('\n');
    // (The favicon is fetched by the browser itself and may finish after the page has settled.)
    const unsized = responses.filter((r) => r.bytes === 0 && !r.url.endsWith('/favicon.svg'));
    assert.deepEqual(unsized, [], `every response has a size:\n${listing}`);
    t.diagnostic(`cold first load: ${total} bytes in ${responses.length} responses`);
    assert.ok(total < BUDGET, `${total} bytes transferred (budget ${BUDGET}):\n${listing}`);

    const page = responses.find((r) => r.url === `${suite.server.url}/`);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(page.headers.etag, /^"[0-9a-f]+"$/);
    const versioned = responses.filter((r) => new URL(r.url).pathname.startsWith('/v/'));
    const kinds = versioned.map((r) => new URL(r.url).pathname.replace(/^\/v\/[0-9a-f]+/, ''));
    for (const expected of ['/app.js', '/map.js', '/style.css', '/vendor/leaflet/leaflet.js', '/basemap/europe-0.geojson', '/i18n/en.json']) {
      assert.ok(kinds.includes(expected), `${expected} is loaded from a versioned URL: ${kinds.join(' ')}`);
    }
    for (const r of versioned) assert.equal(r.headers['cache-control'], IMMUTABLE, r.url);
    // The vendored code is the minified build, and the outlines are compressed.
    const leaflet = versioned.find((r) => r.url.endsWith('/vendor/leaflet/leaflet.js'));
    assert.ok(leaflet.bytes < 60 * 1024, `Leaflet moved ${leaflet.bytes} bytes`);
    const outlines = versioned.find((r) => r.url.endsWith('/basemap/europe-0.geojson'));
    assert.ok(['gzip', 'br'].includes(outlines.headers['content-encoding']), JSON.stringify(outlines.headers));

    // Every module the page runs is preloaded from the page, so none waits for its importer.
    const html = await (await fetch(`${suite.server.url}/`, { headers: { Accept: 'text/html' } })).text();
    const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
    const modules = versioned
      .map((r) => new URL(r.url).pathname)
      // (Not the classic scripts: early.js and Leaflet's build.)
      .filter((p) => p.endsWith('.js') && !/\/(app|early)\.js$/.test(p) && !p.includes('/vendor/'));
    assert.deepEqual([...preloaded].sort(), [...new Set(modules)].sort(), 'the preloaded modules are the module graph');

    // A second visit takes the versioned files from the cache without asking the server.
    const second = await load(context, `${suite.server.url}/`);
    const again = second.responses.filter((r) => new URL(r.url).pathname.startsWith('/v/'));
    assert.ok(again.length >= versioned.length - 1, `${again.length} versioned files on the second visit`);
    for (const r of again) assert.ok(r.cached, `${r.url} comes from the cache`);
    await context.close();
  });

  test('the coverage view loads under 300 KB cold; outlines come once per level, brotli-coded', async (t) => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const { page, responses } = await load(context, `${suite.server.url}/#mode=coverage`, 'path.region');
    const total = responses.reduce((sum, r) => sum + r.bytes, 0);
    const listing = responses.map((r) => `${r.bytes}\t${r.url.replace(suite.server.url, '')}`).join('\n');
    t.diagnostic(`coverage cold load: ${total} bytes in ${responses.length} responses`);
    assert.ok(total < BUDGET, `${total} bytes transferred (budget ${BUDGET}):\n${listing}`);
    const outlines = responses.find((r) => /\/v\/[0-9a-f]+\/outlines\/nuts2\.geojson$/.test(r.url));
    assert.ok(outlines, `the outlines come from a versioned URL:\n${listing}`);
    assert.equal(outlines.headers['content-encoding'], 'br');
    assert.equal(outlines.headers['cache-control'], IMMUTABLE);
    const figures = responses.find((r) => new URL(r.url).pathname === '/coverage');
    assert.ok(figures, `the figures come from /coverage:\n${listing}`);

    // Another filter asks for the figures again, not for the outlines.
    const asked = [];
    page.on('request', (request) => asked.push(new URL(request.url()).pathname));
    await page.evaluate(() => { location.hash = `${location.hash}&skill_area=cybersecurity`; });
    const filtered = await (await fetch(`${suite.server.url}/coverage?level=nuts2&skill_area=cybersecurity`)).json();
    await page.waitForFunction(
      (text) => document.querySelector('#coverage-summary')?.textContent.startsWith(text),
      `${filtered.matched} matching`,
    );
    await settle(page);
    assert.ok(asked.includes('/coverage'), asked.join(' '));
    assert.ok(!asked.some((p) => p.includes('/outlines/')), asked.join(' '));
    await context.close();
  });
});
