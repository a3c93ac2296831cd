// map.test.mjs – the map page on the built-in seed data, in Chromium: markers, filters, clusters, list, popups, URL state, near, layouts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  assertClean,
  boxCentre,
  ensureOutputDir,
  freeSpot,
  launchBrowser,
  listIds,
  offsetLatLng,
  pickFreeSpot,
  settle,
  startServer,
  viewOf,
  watchedPage,
} from './helpers.mjs';

let server;
let browser;
const opened = [];

async function open(pathAndQuery = '/', options = {}) {
  const watched = await watchedPage(browser, options);
  opened.push(watched);
  await watched.page.goto(server.url + pathAndQuery);
  await settle(watched.page);
  return watched;
}

async function apiJson(pathAndQuery) {
  const response = await fetch(server.url + pathAndQuery);
  assert.equal(response.status, 200, `${pathAndQuery} answers 200`);
  return response.json();
}

function countOf(page, key, value) {
  return page.$eval(`#f-${key}-${value} + label .count`, (el) => Number(el.textContent.replace(/,/g, '')));
}

describe('map page on the seed data', () => {
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const { context } of opened) await context.close().catch(() => {});
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  test('shows clusters and markers, a list, counts, and stays on localhost', async () => {
    const { page, problems } = await open('/');
    const clusters = await page.locator('.cluster').count();
    const points = await page.locator('path.point').count();
    assert.ok(clusters > 0, `clusters drawn (${clusters})`);
    assert.ok(points > 0, `single markers drawn (${points})`);
    const health = await apiJson('/healthz');
    const listed = await page.locator('#list .result').count();
    assert.ok(listed > 0 && listed <= 200, `list has entries (${listed})`);
    const summary = await page.textContent('#list-summary');
    assert.match(summary, /in view/);
    const total = await page.evaluate(() =>
      [...document.querySelectorAll('[id^="f-kind-"] + label .count')]
        .reduce((sum, el) => sum + Number(el.textContent.replace(/,/g, '')), 0),
    );
    assert.ok(total > 0 && total <= health.initiatives, `kind counts shown (${total})`);
    // The drawn clusters and points add up to what the list says is in view (or more: tiles overlap the edges).
    const drawn = await page.evaluate(
      () =>
        document.querySelectorAll('path.point').length +
        [...document.querySelectorAll('.cluster')].reduce((s, el) => s + Number(el.dataset.count), 0),
    );
    assert.ok(drawn >= listed, `drawn ${drawn} >= listed ${listed}`);
    // The base map: country outlines from the server, in their own pane under the markers.
    await page.waitForFunction(() => document.querySelectorAll('.leaflet-basemap-pane path').length > 0);
    assert.equal(await page.locator('.leaflet-tile-pane img').count(), 0, 'no raster tiles by default');
    ensureOutputDir();
    await page.screenshot({ path: path.join(ensureOutputDir(), 'desktop-map.png') });
    assertClean(assert, problems);
  });

  test('the list matches the view', async () => {
    const { page, problems } = await open('/#c=50.0000,8.0000&z=6');
    const requests = [];
    page.on('request', (r) => {
      if (r.url().includes('/collections/initiatives/items?')) requests.push(r.url());
    });
    await page.locator('.leaflet-control-zoom-in').click();
    await settle(page);
    assert.ok(requests.length > 0, 'the list was reloaded after zooming');
    const last = new URL(requests.at(-1));
    const bbox = last.searchParams.get('bbox').split(',').map(Number);
    const view = viewOf(page.url());
    assert.equal(view.z, 7);
    const map = await page.locator('#map').boundingBox();
    const nw = offsetLatLng(view, -map.width / 2, -map.height / 2);
    const se = offsetLatLng(view, map.width / 2, map.height / 2);
    const near = (a, b) => Math.abs(a - b) < 0.05;
    assert.ok(near(bbox[0], nw.lon) && near(bbox[3], nw.lat), `bbox ${bbox} starts at ${nw.lon},${nw.lat}`);
    assert.ok(near(bbox[2], se.lon) && near(bbox[1], se.lat), `bbox ${bbox} ends at ${se.lon},${se.lat}`);
    const api = await apiJson(`/collections/initiatives/items?bbox=${bbox.join(',')}&limit=200`);
    const expected = api.features.map((f) => String(f.id)).sort();
    const shown = (await listIds(page)).sort();
    assert.deepEqual(shown, expected, 'the list holds exactly the initiatives in the view');
    for (const f of api.features) {
      const [lon, lat] = f.geometry.coordinates;
      assert.ok(lon >= bbox[0] && lon <= bbox[2] && lat >= bbox[1] && lat <= bbox[3]);
    }
    assertClean(assert, problems);
  });

  test('a filter changes the markers, the list and the counts', async () => {
    const { page, problems } = await open('/');
    const before = {
      listed: await page.locator('#list .result').count(),
      dataAi: await countOf(page, 'skill_area', 'data_ai'),
      training: await countOf(page, 'kind', 'training'),
    };
    assert.ok(before.training > 0, 'there are training initiatives');
    await page.locator('label[for="f-kind-training"]').click();
    await settle(page);
    assert.equal(viewOf(page.url()).params.get('kind'), 'training');
    const listed = await page.locator('#list .result').count();
    assert.equal(listed, Math.min(before.training, 200), 'the list holds the training initiatives');
    const titles = await page.$$eval('#list .result', (bs) => [...new Set(bs.map((b) => b.title))]);
    assert.deepEqual(titles, ['Training']);
    // Every single marker now has the training colour.
    const fills = await page.$$eval('path.point', (ps) => [...new Set(ps.map((p) => p.getAttribute('fill')))]);
    assert.ok(fills.length <= 1, `one colour only: ${fills}`);
    if (fills.length) assert.equal(fills[0], '#e08a1e');
    // The other facets are counted within the selection; the kind facet keeps its own counts.
    const dataAi = await countOf(page, 'skill_area', 'data_ai');
    assert.ok(dataAi <= before.dataAi);
    const facets = await apiJson('/facets?kind=training');
    assert.equal(dataAi, facets.skill_area.data_ai ?? 0);
    assert.equal(await countOf(page, 'kind', 'training'), before.training);
    assert.equal(await page.textContent('#filters [data-filter="kind"] .selected-count'), '1 selected');
    // Search narrows further.
    await page.fill('#search', 'zzzz-nothing-matches');
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('q') === 'zzzz-nothing-matches');
    await settle(page);
    assert.equal(await page.locator('#list .result').count(), 0);
    assert.equal(await page.locator('path.point, .cluster').count(), 0);
    assert.match(await page.textContent('#list-summary'), /No initiative/);
    await page.locator('#clear-filters').click();
    await settle(page);
    assert.equal(await page.locator('#list .result').count(), before.listed);
    assertClean(assert, problems);
  });

  test('clicking a cluster zooms to its expansion zoom, centred on it', async () => {
    const { page, problems } = await open('/#c=50.0000,10.0000&z=4');
    const view = viewOf(page.url());
    const map = await page.locator('#map').boundingBox();
    // A cluster away from the controls and legend.
    const target = await page.$$eval('.cluster', (els) => {
      const candidates = els
        .map((el) => ({ el, r: el.getBoundingClientRect() }))
        .filter(({ r }) => r.left > 400 && r.right < 1000 && r.top > 100 && r.bottom < 500);
      const chosen = candidates[0];
      if (!chosen) return null;
      chosen.el.classList.add('test-target');
      return { zoom: Number(chosen.el.dataset.expansionZoom) };
    });
    assert.ok(target, 'a cluster is in the middle of the map');
    const c = await boxCentre(page.locator('.test-target'));
    const expected = offsetLatLng(view, c.x - (map.x + map.width / 2), c.y - (map.y + map.height / 2));
    await page.locator('.test-target').click();
    await settle(page);
    const after = viewOf(page.url());
    assert.equal(after.z, Math.max(target.zoom, view.z + 1), 'zoomed to the expansion zoom');
    assert.ok(Math.abs(after.lat - expected.lat) < 0.3 && Math.abs(after.lon - expected.lon) < 0.3,
      `centred on the cluster (${after.lat},${after.lon} vs ${expected.lat},${expected.lon})`);
    assert.ok((await page.locator('path.point, .cluster').count()) > 0, 'something is drawn after zooming');
    // A cluster zoom is a history entry of its own.
    await page.goBack();
    await settle(page);
    assert.equal(viewOf(page.url()).z, view.z);
    assertClean(assert, problems);
  });

  test('a list entry opens the popup of that initiative', async () => {
    const { page, problems } = await open('/');
    const first = page.locator('#list .result').first();
    const id = await first.getAttribute('data-id');
    const name = await first.locator('.result-name').textContent();
    await first.click();
    const popup = page.locator('.leaflet-popup .popup-title');
    await popup.waitFor();
    await settle(page);
    const feature = await apiJson(`/collections/initiatives/items/${encodeURIComponent(id)}`);
    assert.equal(await popup.textContent(), feature.properties.name);
    assert.equal(name.trim(), feature.properties.name);
    assert.equal(viewOf(page.url()).params.get('sel'), id);
    const text = await page.textContent('.leaflet-popup');
    assert.ok(text.includes(feature.properties.organisation), 'organisation shown');
    assert.ok(text.includes(feature.properties.description), 'description shown');
    const link = page.locator('.leaflet-popup a.popup-link');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.match(await link.getAttribute('href'), /^https?:\/\//);
    assert.ok(await page.locator('.leaflet-popup .tag').count() >= 3, 'skill areas, groups and languages as tags');
    assert.equal(await first.getAttribute('aria-current'), 'true');
    // A click on a marker opens its popup too (zoomed in until a marker stands apart from the
    // clusters: the seed data is dense at the first zoom levels).
    await page.locator('.leaflet-popup-close-button').click();
    let spot = await freeSpot(page, 'path.point');
    for (let zooms = 0; !spot && zooms < 4; zooms += 1) {
      await page.locator('.leaflet-control-zoom-in').click();
      await settle(page);
      spot = await freeSpot(page, 'path.point');
    }
    assert.ok(spot, 'a marker is visible');
    const markerId = spot.id;
    await page.mouse.click(spot.x, spot.y);
    await page.waitForFunction((mid) => new URLSearchParams(location.hash.slice(1)).get('sel') === mid, markerId);
    await settle(page);
    const other = await apiJson(`/collections/initiatives/items/${encodeURIComponent(markerId)}`);
    assert.equal(await page.textContent('.leaflet-popup .popup-title'), other.properties.name);
    // Closing the popup forgets the selection.
    await page.locator('.leaflet-popup-close-button').click();
    await page.waitForFunction(() => !new URLSearchParams(location.hash.slice(1)).has('sel'));
    assertClean(assert, problems);
  });

  test('a permalink reproduces the view, and back/forward restore state', async () => {
    const { page, problems } = await open('/#c=48.0000,12.0000&z=5');
    await page.locator('label[for="f-skill_area-cybersecurity"]').click();
    await settle(page);
    await page.locator('label[for="f-target_group-smes"]').click();
    await settle(page);
    await page.locator('.leaflet-control-zoom-in').click();
    await settle(page);
    const url = page.url();
    const view = viewOf(url);
    assert.equal(view.z, 6);
    assert.equal(view.params.get('skill_area'), 'cybersecurity');
    assert.equal(view.params.get('target_group'), 'smes');
    const ids = await listIds(page);

    const copy = await open(new URL(url).pathname + new URL(url).hash);
    const copied = viewOf(copy.page.url());
    assert.equal(copied.z, view.z);
    assert.ok(Math.abs(copied.lat - view.lat) < 1e-3 && Math.abs(copied.lon - view.lon) < 1e-3, 'same centre');
    assert.ok(await copy.page.isChecked('#f-skill_area-cybersecurity'));
    assert.ok(await copy.page.isChecked('#f-target_group-smes'));
    assert.ok(!(await copy.page.isChecked('#f-kind-hub')));
    assert.deepEqual(await listIds(copy.page), ids, 'same list');
    assertClean(assert, copy.problems);

    // Back: the zoom-in was a pan-like change (replaced), so back removes the smes filter.
    await page.goBack();
    await settle(page);
    assert.ok(await page.isChecked('#f-skill_area-cybersecurity'));
    assert.ok(!(await page.isChecked('#f-target_group-smes')), 'smes unchecked after back');
    assert.equal(viewOf(page.url()).params.get('target_group'), null);
    await page.goBack();
    await settle(page);
    assert.ok(!(await page.isChecked('#f-skill_area-cybersecurity')), 'no filter after second back');
    await page.goForward();
    await settle(page);
    assert.ok(await page.isChecked('#f-skill_area-cybersecurity'));
    await page.goForward();
    await settle(page);
    assert.ok(await page.isChecked('#f-target_group-smes'), 'smes back after forward');
    assert.equal(viewOf(page.url()).z, 6);
    assert.deepEqual(await listIds(page), ids, 'same list after forward');
    // A hash edited by hand is followed too.
    await page.evaluate(() => {
      window.location.hash = '#c=52.5200,13.4000&z=8&kind=hub';
    });
    await page.waitForFunction(() => document.getElementById('f-kind-hub').checked);
    await settle(page);
    assert.ok(!(await page.isChecked('#f-skill_area-cybersecurity')));
    assert.equal(viewOf(page.url()).z, 8);
    assertClean(assert, problems);
  });

  test('a selected initiative in a permalink opens its popup', async () => {
    const items = await apiJson('/collections/initiatives/items?limit=1');
    const feature = items.features[0];
    const [lon, lat] = feature.geometry.coordinates;
    const { page, problems } = await open(`/#c=${lat},${lon}&z=8&sel=${encodeURIComponent(feature.id)}`);
    await page.locator('.leaflet-popup .popup-title').waitFor();
    assert.equal(await page.textContent('.leaflet-popup .popup-title'), feature.properties.name);
    assertClean(assert, problems);
  });

  test('near a place: pick a point, lists matches sorted by distance', async () => {
    const { page, problems } = await open('/#c=50.8500,4.3500&z=7');
    await page.fill('#near-radius', '300');
    await page.locator('#near-mode').click();
    assert.equal(await page.getAttribute('#near-mode', 'aria-pressed'), 'true');
    const before = viewOf(page.url());
    const spot = await pickFreeSpot(assert, page);
    const view = viewOf(page.url());
    const [lat, lon] = view.params.get('near').split(',').map(Number);
    const clicked = offsetLatLng(before, spot.dx, spot.dy);
    assert.ok(Math.abs(lat - clicked.lat) < 0.03 && Math.abs(lon - clicked.lon) < 0.03, `near point where clicked: ${lat},${lon} vs ${JSON.stringify(clicked)} ${JSON.stringify(spot)} ${JSON.stringify(before)}`);
    assert.equal(view.params.get('r'), '300');
    assert.equal(await page.getAttribute('#near-mode', 'aria-pressed'), 'false');
    const expected = await apiJson(`/near?lat=${lat}&lon=${lon}&radius_km=300&limit=100`);
    assert.ok(expected.features.length > 0, 'the seed data has initiatives near Brussels');
    assert.deepEqual(await listIds(page, '#near-list'), expected.features.map((f) => String(f.id)));
    const distances = await page.$$eval('#near-list .result-extra', (els) =>
      els.map((e) => {
        const m = /([\d.,]+)\s*(k?m)/.exec(e.textContent);
        return Number(m[1].replace(/,/g, '')) * (m[2] === 'km' ? 1000 : 1);
      }),
    );
    for (let i = 1; i < distances.length; i += 1) assert.ok(distances[i] >= distances[i - 1] - 100, 'sorted by distance');
    assert.ok(distances.at(-1) <= 300000);
    assert.equal(await page.locator('path.near-circle').count(), 1, 'the circle is drawn');
    // The circle is drawn and the state survives a reload.
    await page.reload();
    await settle(page);
    assert.deepEqual(await listIds(page, '#near-list'), expected.features.map((f) => String(f.id)));
    await page.locator('#near-clear').click();
    await settle(page);
    assert.ok(!viewOf(page.url()).params.has('near'));
    assert.ok(await page.locator('#near-results').isHidden());
    assertClean(assert, problems);
  });

  test('near my location uses the browser position and fits the circle', async () => {
    const { page, problems } = await open('/', {
      geolocation: { latitude: 52.52, longitude: 13.405 },
      permissions: ['geolocation'],
    });
    await page.fill('#near-radius', '100');
    await page.locator('#near-locate').click();
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('near') === '52.5200,13.4050');
    await settle(page);
    const view = viewOf(page.url());
    assert.equal(view.params.get('r'), '100');
    assert.ok(Math.abs(view.lat - 52.52) < 0.5 && Math.abs(view.lon - 13.405) < 0.5, 'map centred on the location');
    assert.ok(view.z >= 6, `zoomed to the circle (z ${view.z})`);
    const expected = await apiJson('/near?lat=52.52&lon=13.405&radius_km=100&limit=100');
    assert.deepEqual(await listIds(page, '#near-list'), expected.features.map((f) => String(f.id)));
    // Back leaves the near search.
    await page.goBack();
    await settle(page);
    assert.ok(!viewOf(page.url()).params.has('near'));
    assert.ok(await page.locator('#near-results').isHidden());
    assert.equal(await page.locator('path.near-circle').count(), 0);
    assertClean(assert, problems);
  });

  test('a failing API shows a message and nothing breaks', async () => {
    const watched = await watchedPage(browser);
    opened.push(watched);
    const { page, problems } = watched;
    await page.route('**/facets?**', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        body: JSON.stringify({ title: 'Unavailable', status: 503, detail: 'facet service resting' }),
      }),
    );
    await page.goto(`${server.url}/`);
    await settle(page);
    await page.locator('#message').waitFor();
    assert.match(await page.textContent('#message'), /facet service resting/);
    assert.ok((await page.locator('#list .result').count()) > 0, 'the list still works');
    assert.ok((await page.locator('.cluster, path.point').count()) > 0, 'the map still works');
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.foreignRequests, []);
  });

  test('phone layout: the panel is a drawer', async () => {
    const { page, problems } = await open('/', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const toggle = page.locator('#drawer-toggle');
    assert.ok(await toggle.isVisible(), 'drawer button visible');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.ok(!(await page.locator('#search').isVisible()), 'panel hidden at first');
    const out = ensureOutputDir();
    await page.screenshot({ path: path.join(out, 'phone-map.png') });
    await toggle.click();
    await page.locator('#search').waitFor({ state: 'visible' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await page.screenshot({ path: path.join(out, 'phone-drawer.png') });
    // Picking an entry closes the drawer and shows the popup on the map.
    await page.locator('#list .result').first().click();
    await page.locator('.leaflet-popup .popup-title').waitFor();
    await page.locator('#search').waitFor({ state: 'hidden' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await settle(page);
    await page.screenshot({ path: path.join(out, 'phone-popup.png') });
    assertClean(assert, problems);
  });

  test('keyboard users reach the filters and the list', async () => {
    const { page, problems } = await open('/');
    const reached = new Set();
    for (let i = 0; i < 40; i += 1) {
      await page.keyboard.press('Tab');
      const what = await page.evaluate(() => {
        const el = document.activeElement;
        return el ? `${el.tagName.toLowerCase()}${el.type ? `[${el.type}]` : ''}${el.classList.contains('result') ? '.result' : ''}` : '';
      });
      reached.add(what);
    }
    assert.ok(reached.has('input[search]'), 'search reachable');
    assert.ok(reached.has('input[checkbox]'), 'checkboxes reachable');
    // The checkbox is toggled with the space bar.
    await page.focus('#f-kind-hub');
    await page.keyboard.press('Space');
    await settle(page);
    assert.equal(viewOf(page.url()).params.get('kind'), 'hub');
    await page.focus('#list .result');
    await page.keyboard.press('Enter');
    await page.locator('.leaflet-popup .popup-title').waitFor();
    const html = await page.content();
    assert.ok(!/ (onclick|onload|onerror)=/i.test(html), 'no inline event handlers');
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(await (await fetch(`${server.url}/`)).text()), 'no inline script');
    assert.ok(!/ style=/i.test(await (await fetch(`${server.url}/`)).text()), 'no style attributes in the HTML');
    assertClean(assert, problems);
  });

  test('the about page exists and is plain', async () => {
    const { page, problems } = await open('/about.html');
    assert.match(await page.textContent('h1'), /About the data/);
    const text = await page.textContent('body');
    for (const words of ['EDIH', 'coalition', 'city level', 'CC BY 4.0']) assert.ok(text.includes(words), words);
    assertClean(assert, problems);
  });
});
