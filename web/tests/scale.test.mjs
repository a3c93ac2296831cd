// scale.test.mjs – thousands of generated initiatives: the server clusters them, the page stays quick, panning aborts stale tiles.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, freeSpot, listIds, randomFeatures, serverAndBrowser, settle, viewOf, watchedPage } from './helpers.mjs';

const COUNT = 4000;
describe('map page on a large generated dataset', () => {
  const suite = serverAndBrowser([], { dataset: { name: 'scale', features: () => randomFeatures(COUNT, 42) } });

  test('draws few clusters for thousands of points and zooms into them', async () => {
    const { context, page, problems } = await watchedPage(suite.browser);
    const tileRequests = [];
    page.on('request', (r) => {
      if (r.url().includes('/tiles/')) tileRequests.push(r.url());
    });
    const started = Date.now();
    await page.goto(`${suite.server.url}/`);
    await settle(page);
    const loadMs = Date.now() - started;
    assert.ok(loadMs < 10000, `settled in ${loadMs} ms`);
    const clusters = await page.locator('.cluster').count();
    const points = await page.locator('path.point').count();
    assert.ok(clusters > 0, 'clusters drawn');
    assert.ok(clusters + points < 600, `few things drawn (${clusters} clusters, ${points} points)`);
    const clustered = await page.$$eval('.cluster', (els) => els.reduce((s, el) => s + Number(el.dataset.count), 0));
    assert.ok(clustered + points >= COUNT * 0.9, `clusters hold the points (${clustered + points})`);
    assert.match(await page.textContent('#list-summary'), /Showing 200 of [\d,]+ initiatives in view/);
    assert.equal(await page.locator('#list .result').count(), 200);
    // Only the visible tiles were asked for, each once.
    const z = viewOf(page.url()).z;
    for (const url of tileRequests) assert.match(new URL(url).pathname, new RegExp(`^/tiles/${z}/\\d+/\\d+\\.geojson$`));
    assert.equal(new Set(tileRequests).size, tileRequests.length, 'no tile fetched twice');
    assert.ok(tileRequests.length <= 30, `${tileRequests.length} tiles`);

    // Zoom through clusters until single markers show.
    for (let i = 0; i < 8 && (await page.locator('path.point').count()) < 5; i += 1) {
      const spot = await freeSpot(page, '.cluster');
      if (!spot) break;
      const zBefore = viewOf(page.url()).z;
      await page.mouse.click(spot.x, spot.y);
      await settle(page);
      assert.ok(viewOf(page.url()).z > zBefore, 'a cluster click zooms in');
    }
    assert.ok((await page.locator('path.point').count()) > 0, 'single markers after zooming in');

    // A filter applies to the clusters too.
    await page.locator('label[for="f-kind-funding"]').click();
    await settle(page);
    const fills = await page.$$eval('path.point', (ps) => [...new Set(ps.map((p) => p.getAttribute('fill')))]);
    assert.ok(fills.every((f) => f === '#7b52ae'), `only funding markers: ${fills}`);
    assertClean(assert, problems);
    await context.close();
  });

  test('the list shows every initiative of the page the server sent, and of the next page', async () => {
    const { context, page, problems } = await watchedPage(suite.browser);
    // The list's pages as the server sent them (the last answer for the view, and the next page).
    const pages = [];
    page.on('response', (response) => {
      if (!response.url().includes('/collections/initiatives/items?')) return;
      const offset = Number(new URL(response.url()).searchParams.get('offset') || 0);
      // (An answer the page aborted has no body: it is not the one the list shows.)
      const ids = response.json().then((fc) => fc.features.map((f) => String(f.id)), () => null);
      pages.push({ offset, ids });
    });
    await page.goto(`${suite.server.url}/#c=50.0000,10.0000&z=5`);
    await settle(page);
    const firstIds = await pages.filter((p) => p.offset === 0).at(-1).ids;
    assert.equal(firstIds.length, 200);
    const shown = await listIds(page);
    assert.deepEqual([...shown].sort(), [...firstIds].sort(), 'every entry of the first page, once');
    // In the language's alphabetical order.
    const names = await page.$$eval('#list .result-name', (nodes) => nodes.map((n) => n.textContent));
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b, 'en')));

    await page.click('#list-more');
    await page.waitForFunction(() => document.querySelectorAll('#list .result').length > 200);
    await settle(page);
    const second = pages.find((p) => p.offset === 200);
    assert.ok(second, 'the next page was asked for at offset 200');
    const secondIds = await second.ids;
    const both = await listIds(page);
    assert.deepEqual(both.slice(0, 200), shown, 'the first page stays as it was');
    assert.deepEqual([...both.slice(200)].sort(), [...secondIds].sort(), 'every entry of the next page, once');
    assert.match(await page.textContent('#list-summary'), new RegExp(`Showing ${both.length} of|^${both.length} initiatives`));
    assertClean(assert, problems);
    await context.close();
  });

  test('moving on aborts tile fetches that are no longer needed', async () => {
    const { context, page, problems } = await watchedPage(suite.browser);
    await page.goto(`${suite.server.url}/#c=50.0000,10.0000&z=5`);
    await settle(page);
    const failed = [];
    page.on('requestfailed', (r) => {
      if (r.url().includes('/tiles/')) failed.push(r.failure()?.errorText);
    });
    // Slow the tile answers down so that the view moves on before they arrive.
    await page.route('**/tiles/**', async (route) => {
      await new Promise((r) => setTimeout(r, 400));
      await route.continue().catch(() => {});
    });
    const map = page.locator('#map');
    await map.focus();
    for (let i = 0; i < 4; i += 1) {
      // Each step asks for its tiles before the next moves on (and leaves them stale).
      const asked = page.waitForRequest('**/tiles/**');
      await page.keyboard.press('+');
      await asked;
    }
    await page.unroute('**/tiles/**');
    await settle(page);
    assert.ok(failed.length > 0, 'stale tile requests were aborted');
    assert.ok(failed.every((e) => /ABORTED|cancel/i.test(e || '')), `aborted: ${failed}`);
    assert.ok((await page.locator('path.point, .cluster').count()) > 0, 'the final view is drawn');
    assertClean(assert, problems);
    await context.close();
  });
});
