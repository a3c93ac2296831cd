// coverage.test.mjs – the Coverage mode on the seed data, in Chromium: choropleth, legend, table, sorting, filters, CSV link, details, URL state.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  assertAccessible,
  assertClean,
  ensureOutputDir,
  launchBrowser,
  settle,
  startServer,
  watchedPage,
} from './helpers.mjs';
import { classBreaks, colourFor, joinRegions, missingParams, sortRows } from '../coverage-model.js';
import { defaultState } from '../state.js';

let server;
let browser;
const opened = [];

async function open(hash) {
  const watched = await watchedPage(browser);
  opened.push(watched);
  await watched.page.goto(`${server.url}/${hash}`);
  if (hash.includes('mode=coverage')) await settled(watched.page);
  else await settle(watched.page);
  return watched;
}

/** Settled, and the table filled. */
async function settled(page) {
  await settle(page);
  await page.waitForFunction(() => document.querySelectorAll('#coverage-table tbody tr').length > 0, null, {
    timeout: 15000,
  });
  await settle(page);
}

async function apiJson(pathAndQuery) {
  const response = await fetch(server.url + pathAndQuery);
  assert.equal(response.status, 200, `${pathAndQuery} answers 200`);
  return response.json();
}

function tableCodes(page) {
  return page.$$eval('#coverage-table tbody tr', (rows) => rows.map((r) => r.dataset.code));
}

describe('coverage mode on the seed data', () => {
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const { context } of opened) await context.close().catch(() => {});
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  test('the mode switch shows a choropleth, legend, table and the GISCO attribution', async () => {
    const { page, problems } = await open('#z=4');
    assert.ok((await page.locator('.cluster, path.point').count()) > 0, 'starts on the map');
    await page.click('#mode-coverage');
    await settled(page);
    assert.match(page.url(), /mode=coverage/);
    const table = await apiJson('/coverage?level=nuts2');
    assert.equal(await page.locator('#coverage-table tbody tr').count(), table.regions.length);
    assert.equal(await page.locator('path.region').count(), table.regions.length);
    assert.equal(await page.locator('.cluster, path.point').count(), 0, 'no clusters in coverage mode');
    assert.ok(await page.locator('.coverage-legend').isVisible());
    const attribution = await page.textContent('.leaflet-control-attribution');
    assert.ok(attribution.includes('EuroGeographics'), attribution);
    const summary = await page.textContent('#coverage-summary');
    assert.ok(summary.includes(`${table.matched} matching`), summary);
    // Sorted by count, largest first, by default.
    const codes = await tableCodes(page);
    const busiest = [...table.regions].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code))[0];
    assert.equal(codes[0], busiest.code);
    await page.screenshot({ path: path.join(ensureOutputDir(), 'coverage-nuts2.png') });
    // Sorted by name: every region keeps its row, in that order, and the last is reachable too.
    await page.click('#coverage-table th button[data-sort="name"]');
    await settle(page);
    const names = await page.$$eval('#coverage-table tbody th', (cells) => cells.map((th) => th.textContent));
    assert.deepEqual(names, table.regions.map((r) => r.name).sort((a, b) => a.localeCompare(b, 'en')));
    assert.deepEqual([...(await tableCodes(page))].sort(), table.regions.map((r) => r.code).sort());
    const last = page.locator('#coverage-table tbody tr').last();
    const lastCode = await last.getAttribute('data-code');
    await last.focus();
    await page.keyboard.press('Enter');
    await settle(page);
    assert.match(page.url(), new RegExp(`region=${lastCode}`));
    assert.ok((await page.textContent('#coverage-detail')).includes(lastCode));
    // Back to the map.
    await page.click('#mode-map');
    await settle(page);
    assert.ok((await page.locator('.cluster, path.point').count()) > 0, 'clusters again');
    assert.equal(await page.locator('path.region').count(), 0);
    assertClean(assert, problems);
  });

  test('answers: NUTS 2 regions with no cybersecurity initiative for SMEs within 50 km', async () => {
    const { page, problems } = await open('#mode=coverage&level=nuts2&measure=gap_share');
    await page.check('#f-skill_area-cybersecurity');
    await settled(page);
    await page.check('#f-target_group-smes');
    await settled(page);
    await page.click('#coverage-table th button[data-sort="gap_share"]');
    await settle(page);
    assert.match(page.url(), /sort=-gap_share/);
    const api = await apiJson('/coverage?level=nuts2&skill_area=cybersecurity&target_group=smes&gap_km=50');
    const gaps = api.regions.filter((r) => r.gap_share === 1).map((r) => r.code).sort();
    assert.ok(gaps.length > 0, 'the seed data has such regions');
    const shown = await page.$$eval('#coverage-table tbody tr', (rows) =>
      rows.filter((r) => Number(r.dataset.gapShare) === 1).map((r) => r.dataset.code),
    );
    assert.deepEqual([...shown].sort(), gaps);
    const href = await page.getAttribute('#coverage-csv', 'href');
    for (const part of ['level=nuts2', 'f=csv', 'skill_area=cybersecurity', 'target_group=smes', 'gap_km=50']) {
      assert.ok(href.includes(part), `${part} in ${href}`);
    }
    const csv = await fetch(server.url + href);
    assert.equal(csv.status, 200);
    assert.equal((await csv.text()).trim().split('\n').length, api.regions.length + 1);
    assertClean(assert, problems);
  });

  test('hover and click give details, kept in the URL; level and gap distance change the table', async () => {
    const { page, problems } = await open('#mode=coverage&level=country');
    const table = await apiJson('/coverage?level=country');
    assert.equal(await page.locator('#coverage-table tbody tr').count(), table.regions.length);
    await page.hover('#coverage-table tbody tr[data-code="DE"]');
    assert.ok(await page.locator('#coverage-table tbody tr.hovered[data-code="DE"]').count());
    await page.click('#coverage-table tbody tr[data-code="DE"]');
    await settle(page);
    assert.match(page.url(), /region=DE/);
    const detail = await page.textContent('#coverage-detail');
    const germany = table.regions.find((r) => r.code === 'DE');
    assert.ok(detail.includes('Germany') && detail.includes('83,445,000'), detail);
    assert.ok(detail.includes(String(germany.count)));
    // A region on the map: its tooltip names it.
    const shape = page.locator('path.region[data-code="FR"]');
    await shape.hover({ force: true });
    await page.waitForSelector('.region-tip');
    assert.ok((await page.textContent('.region-tip')).includes('France'));
    // Reloading the URL restores the view.
    const url = page.url();
    const again = await open(url.slice(url.indexOf('#')));
    assert.ok((await again.page.textContent('#coverage-detail')).includes('Germany'));
    await page.selectOption('#coverage-level', 'nuts1');
    await settled(page);
    const nuts1 = await apiJson('/coverage?level=nuts1');
    assert.equal(await page.locator('#coverage-table tbody tr').count(), nuts1.regions.length);
    assert.match(page.url(), /level=nuts1/);
    await page.fill('#coverage-gap', '20');
    await page.press('#coverage-gap', 'Enter');
    await page.locator('#coverage-gap').blur();
    await settled(page);
    assert.match(page.url(), /gap=20/);
    assert.ok((await page.getAttribute('#coverage-csv', 'href')).includes('gap_km=20'));
    assertClean(assert, problems);
    assertClean(assert, again.problems);
  });

  test('where help is missing: the picks of the region on the map and as a list, cleared when the query changes', async () => {
    const { page, problems } = await open('#z=4&mode=coverage&level=country&region=DE&skill_area=cybersecurity&target_group=smes');
    const answer = await apiJson('/coverage/suggest?skill_area=cybersecurity&target_group=smes&gap_km=50&region=DE&k=5');
    assert.ok(answer.picks.length > 0, 'the seed data leaves people far from help in Germany');
    await page.click('#missing-run');
    await page.waitForFunction((n) => document.querySelectorAll('#missing-list li').length === n, answer.picks.length, {
      timeout: 15000,
    });
    await settle(page);
    const items = await page.$$eval('#missing-list li', (lis) => lis.map((li) => li.textContent));
    answer.picks.forEach((pick, i) => {
      assert.ok(items[i].startsWith(`${pick.name} (DE)`), items[i]);
      assert.ok(items[i].includes(new Intl.NumberFormat('en').format(pick.added)), `${items[i]} has ${pick.added}`);
    });
    assert.equal(await page.locator('.missing-mark').count(), answer.picks.length);
    const summary = await page.textContent('#missing-summary');
    assert.ok(summary.includes(new Intl.NumberFormat('en').format(answer.people_far)), summary);
    await assertAccessible(assert, page, 'coverage with where help is missing');
    await page.screenshot({ path: path.join(ensureOutputDir(), 'coverage-missing.png') });
    // Another gap distance: the picks answered another question and go.
    await page.fill('#coverage-gap', '30');
    await page.press('#coverage-gap', 'Enter');
    await settled(page);
    assert.equal(await page.locator('#missing-list li').count(), 0);
    assert.equal(await page.locator('.missing-mark').count(), 0);
    // Coloured by people far: the table has its column, and the choice is in the URL.
    await page.selectOption('#coverage-measure', 'people_gap_share');
    await settled(page);
    assert.match(page.url(), /measure=people_gap_share/);
    const header = await page.textContent('#coverage-table thead');
    assert.ok(header.includes('People out of reach'), header);
    assertClean(assert, problems);
  });

  test('follow this view: the feed link carries the filters and the region, and is a feed', async () => {
    const { page, problems } = await open('#z=4&mode=coverage&level=nuts1&region=DE2&kind=hub');
    const href = await page.getAttribute('#follow-view', 'href');
    assert.equal(href, '/collections/initiatives/items?kind=hub&nuts=DE2&f=atom');
    const response = await fetch(server.url + href);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/atom+xml');
    assert.match(await response.text(), /<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"/);
    await page.click('#mode-map');
    await settle(page);
    assert.equal(await page.getAttribute('#follow-view', 'href'), '/collections/initiatives/items?kind=hub&nuts=DE2&f=atom');
    assertClean(assert, problems);
  });
});

test('class breaks, colours and sorting', () => {
  assert.deepEqual(classBreaks('gap_share', []), [0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(classBreaks('people_gap_share', [0.1]), [0.2, 0.4, 0.6, 0.8, 1]);
  assert.notEqual(colourFor('people_gap_share', 0.9, [0.2, 0.4, 0.6, 0.8, 1]), colourFor('count', 0.9, [0.2, 0.4, 0.6, 0.8, 1]));
  const state = { ...defaultState(), region: 'DE21', gap: 30 };
  state.filters.skill_area = ['iot'];
  assert.equal(missingParams(state, 3).toString(), 'skill_area=iot&gap_km=30&region=DE21&k=3');
  const breaks = classBreaks('count', [0, 1, 2, 3, 4, 10, null]);
  assert.equal(breaks[0], 0);
  assert.equal(breaks[4], 10);
  assert.equal(colourFor('count', null, breaks), '#d9d9d9');
  assert.notEqual(colourFor('count', 0, breaks), colourFor('count', 10, breaks));
  const rows = [
    { code: 'B', name: 'Beta', count: 2, per_100k: null },
    { code: 'A', name: 'Alpha', count: 2, per_100k: 1 },
    { code: 'C', name: 'Gamma', count: 5, per_100k: 0.5 },
  ];
  assert.deepEqual(sortRows(rows, '-count').map((r) => r.code), ['C', 'A', 'B']);
  assert.deepEqual(sortRows(rows, 'name').map((r) => r.code), ['A', 'B', 'C']);
  assert.deepEqual(sortRows(rows, '-per_100k').map((r) => r.code), ['A', 'C', 'B'], 'unknown last');
  const names = [{ code: 'X', name: 'Ñuble' }, { code: 'Y', name: 'Nusa' }, { code: 'Z', name: 'Oslo' }];
  assert.deepEqual(sortRows(names, 'name', 'es').map((r) => r.code), ['Y', 'X', 'Z'], 'Spanish: Ñ after N');
  assert.deepEqual(sortRows(names, 'name', 'en').map((r) => r.code), ['X', 'Y', 'Z'], 'English: Ñ as N');
});

test('outlines joined with the table by code', () => {
  const square = { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] };
  const outlines = { features: [
    { type: 'Feature', id: 'AT13', properties: { code: 'AT13' }, geometry: square },
    { type: 'Feature', id: 'ZZ99', properties: { code: 'ZZ99' }, geometry: square },
  ] };
  const table = { matched: 7, outside_regions: 1, gap_km: 50, attribution: 'GISCO', regions: [
    { code: 'AT13', name: 'Wien', count: 7 },
    { code: 'BE10', name: 'Bruxelles', count: 0 },
  ] };
  const fc = joinRegions(outlines, table);
  assert.deepEqual(fc.features.map((f) => [f.id, f.properties.name, f.geometry]), [['AT13', 'Wien', square]]);
  assert.deepEqual([fc.matched, fc.outside_regions, fc.gap_km, fc.attribution], [7, 1, 50, 'GISCO']);
});
