// propose.test.mjs – "Propose an initiative" on the map page: place the point by clicking the map or typing
// it, the client's checks, the server's field errors beside their fields, friendly 429/413 messages, phones.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  assertClean,
  ensureOutputDir,
  freeSpot,
  launchBrowser,
  offsetLatLng,
  settle,
  startServer,
  viewOf,
  watchedPage,
  WEB_DIR,
} from './helpers.mjs';

const TOKEN = 'alice-token-0123456789';
const HOSTILE = '<img src=x onerror=alert(1)>';

let server;
let browser;
const opened = [];

async function open(pathAndHash, options = {}) {
  const watched = await watchedPage(browser, options);
  opened.push(watched);
  await watched.page.goto(server.url + pathAndHash);
  await settle(watched.page);
  // On a phone the button is in the drawer.
  if (await watched.page.locator('#drawer-toggle').isVisible()) {
    await watched.page.locator('#drawer-toggle').click();
    await watched.page.locator('#propose-open').waitFor({ state: 'visible' });
  }
  await watched.page.locator('#propose-open').click();
  await watched.page.locator('#propose').waitFor();
  return watched;
}

async function curatorJson(pathAndQuery) {
  const response = await fetch(server.url + pathAndQuery, { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(response.status, 200, `${pathAndQuery} answers 200`);
  return response.json();
}

/** Fills every field but the location. */
async function fillForm(page, name = 'Code Club Kreuzberg') {
  await page.fill('#propose-name', name);
  await page.fill('#propose-organisation', 'Kiezlabor e.V.');
  await page.fill('#propose-description', 'Free weekly coding sessions for children and teenagers.\nNo experience needed.');
  await page.fill('#propose-url', 'https://example.org/code-club');
  await page.selectOption('#propose-kind', 'training');
  await page.check('#propose-skill_areas-software_development');
  await page.check('#propose-skill_areas-basic_digital_skills');
  await page.check('#propose-target_groups-young_people');
  await page.fill('#propose-languages', 'de, EN');
  await page.selectOption('#propose-country', 'DE');
  await page.fill('#propose-city', 'Berlin');
  await page.fill('#propose-start', '2026-02-01');
  await page.fill('#propose-end', '2027-06-30');
}

function fieldError(page, field) {
  return page.locator(`#propose [data-field="${field}"] .field-error`);
}

describe('propose an initiative', () => {
  before(async () => {
    server = await startServer([], { env: { SKILLSMAP_CURATOR_TOKENS: `alice:${TOKEN}` } });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const { context } of opened) await context.close().catch(() => {});
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  test('a point placed by clicking the map and a filled form are sent, and thanked for', async () => {
    const { page, problems } = await open('/#c=52.5000,13.4000&z=9');
    assert.ok(await page.locator('#propose').isVisible(), 'the form is shown');
    assert.equal(await page.getAttribute('#propose-open', 'aria-expanded'), 'true');
    assert.ok(await page.evaluate(() => document.getElementById('panel').inert), 'the side panel is inert behind the form');
    assert.match(await page.textContent('#propose .location-status'), /No point yet/);

    const view = viewOf(page.url());
    const spot = await freeSpot(page);
    assert.ok(spot, 'an empty spot on the map');
    await page.mouse.click(spot.x, spot.y);
    await page.locator('.propose-pin').waitFor();
    const clicked = offsetLatLng(view, spot.dx, spot.dy);
    const lon = Number(await page.inputValue('#propose-lon'));
    const lat = Number(await page.inputValue('#propose-lat'));
    assert.ok(Math.abs(lon - clicked.lon) < 0.01 && Math.abs(lat - clicked.lat) < 0.01, `placed where clicked: ${lat},${lon} vs ${clicked.lat},${clicked.lon}`);
    assert.match(await page.textContent('#propose .location-status'), /Placed at latitude/);
    // A second click moves the point (one marker only).
    await page.mouse.click(spot.x + 12, spot.y + 9);
    await page.waitForFunction((old) => document.getElementById('propose-lon').value !== old, String(lon));
    assert.equal(await page.locator('.propose-pin').count(), 1);
    const finalLon = Number(await page.inputValue('#propose-lon'));
    const finalLat = Number(await page.inputValue('#propose-lat'));

    await fillForm(page);
    const posted = page.waitForRequest((r) => r.url().endsWith('/submissions') && r.method() === 'POST');
    await page.click('#propose button[type="submit"]');
    const request = await posted;
    assert.match(request.headers()['content-type'], /^application\/geo\+json/);
    await page.locator('#propose .propose-done').waitFor();
    const id = (await page.textContent('#propose .submission-id')).trim();
    assert.match(id, /^s-[0-9a-f]+$/, `submission id shown: ${id}`);
    assert.match(await page.textContent('#propose .propose-done'), /Thank you/);
    assert.equal(await page.locator('.propose-pin').count(), 0, 'the marker is gone after sending');

    const stored = await curatorJson(`/submissions/${id}`);
    assert.equal(stored.status, 'pending');
    const p = stored.feature.properties;
    assert.equal(p.name, 'Code Club Kreuzberg');
    assert.equal(p.description, 'Free weekly coding sessions for children and teenagers.\nNo experience needed.');
    assert.equal(p.url, 'https://example.org/code-club');
    assert.equal(p.kind, 'training');
    assert.deepEqual([...p.skill_areas].sort(), ['basic_digital_skills', 'software_development']);
    assert.deepEqual(p.target_groups, ['young_people']);
    assert.deepEqual(p.languages, ['de', 'en']);
    assert.equal(p.country, 'DE');
    assert.equal(p.city, 'Berlin');
    assert.equal(p.start, '2026-02-01');
    assert.equal(p.end, '2027-06-30');
    const [sLon, sLat] = stored.feature.geometry.coordinates;
    assert.ok(Math.abs(sLon - finalLon) < 1e-4 && Math.abs(sLat - finalLat) < 1e-4, 'the coordinates sent are those shown');

    // "Propose another" shows an empty form again; closing gives the panel back.
    await page.getByRole('button', { name: 'Propose another initiative' }).click();
    assert.equal(await page.inputValue('#propose-name'), '');
    await page.locator('#propose .propose-close').click();
    assert.ok(await page.locator('#propose').isHidden());
    assert.ok(!(await page.evaluate(() => document.getElementById('panel').inert)));
    await page.screenshot({ path: path.join(ensureOutputDir(), 'propose-done.png') });
    assertClean(assert, problems);
  });

  test('the client checks the form before sending, beside each field', async () => {
    const { page, problems } = await open('/#c=50.0000,10.0000&z=5');
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push(r.url());
    });
    await page.click('#propose button[type="submit"]');
    await page.locator('#propose .form-summary').waitFor();
    for (const field of ['name', 'organisation', 'description', 'url', 'kind', 'skill_areas', 'target_groups', 'languages', 'country', 'city', 'location']) {
      assert.ok(await fieldError(page, field).isVisible(), `${field} has an error`);
    }
    assert.ok(await fieldError(page, 'start').isHidden(), 'dates are optional');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'propose-name', 'the first wrong field has the focus');
    assert.equal(await page.getAttribute('#propose-name', 'aria-invalid'), 'true');

    await fillForm(page);
    await page.fill('#propose-url', 'ftp://example.org/file');
    await page.fill('#propose-languages', 'de, deu');
    await page.fill('#propose-start', '2027-01-01');
    await page.fill('#propose-end', '2026-01-01');
    await page.fill('#propose-lon', '13.4');
    await page.fill('#propose-lat', '95');
    await page.click('#propose button[type="submit"]');
    await page.waitForFunction(() => !document.querySelector('#propose [data-field="name"] .field-error:not([hidden])'));
    assert.match(await fieldError(page, 'url').textContent(), /https:\/\//);
    assert.match(await fieldError(page, 'languages').textContent(), /deu/);
    assert.match(await fieldError(page, 'end').textContent(), /before the start/);
    assert.match(await fieldError(page, 'location').textContent(), /latitude/i);
    assert.ok(await fieldError(page, 'name').isHidden(), 'a corrected field has no error any more');
    // The summary's entries lead to their fields.
    await page.locator('#propose .form-summary button', { hasText: 'Website' }).click();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'propose-url');
    assert.deepEqual(posts, [], 'nothing was sent');
    assertClean(assert, problems);
  });

  test("the server's field errors are shown beside their fields, as text", async () => {
    const { page, problems } = await open('/#c=50.0000,10.0000&z=5');
    await fillForm(page);
    await page.fill('#propose-lon', '13.4');
    await page.fill('#propose-lat', '52.5');
    await page.locator('#propose-lat').dispatchEvent('change');
    await page.locator('.propose-pin').waitFor();
    // The page's checks pass; on the way, the body is spoiled so that the real server refuses it.
    await page.route('**/submissions', async (route) => {
      const feature = JSON.parse(route.request().postData());
      feature.geometry.coordinates = [200, 52.5];
      feature.properties.url = `javascript:${HOSTILE}`;
      feature.properties.skill_areas = ['nonsense'];
      feature.properties.languages = ['DE'];
      await route.continue({ postData: JSON.stringify(feature) });
    });
    const answered = page.waitForResponse((r) => r.url().endsWith('/submissions'));
    await page.click('#propose button[type="submit"]');
    assert.equal((await answered).status(), 400);
    await fieldError(page, 'url').waitFor();
    assert.ok((await fieldError(page, 'url').textContent()).includes(`"javascript:${HOSTILE}" must be an absolute http(s) URL`));
    assert.match(await fieldError(page, 'location').textContent(), /longitude 200 is out of range/);
    assert.match(await fieldError(page, 'skill_areas').textContent(), /unknown term "nonsense"/);
    assert.match(await fieldError(page, 'languages').textContent(), /not an ISO 639-1 code/);
    assert.match(await page.textContent('#propose .form-summary'), /The server found problems/);
    assert.equal(await page.locator('#propose img, #propose script').count(), 0, 'the echoed URL stays text');
    assert.ok(await page.locator('#propose .propose-done').isHidden());
    await page.waitForTimeout(200);
    assertClean(assert, problems, [400]);
  });

  test('too many proposals and too large ones get a friendly message', async () => {
    const { page, problems } = await open('/#c=50.0000,10.0000&z=5');
    await fillForm(page);
    await page.fill('#propose-lon', '13.4');
    await page.fill('#propose-lat', '52.5');
    let answer = { status: 429, headers: { 'Retry-After': '1500' }, title: 'Too many requests' };
    await page.route('**/submissions', (route) =>
      route.fulfill({
        status: answer.status,
        headers: { 'Content-Type': 'application/problem+json', ...answer.headers },
        body: JSON.stringify({ type: 'about:blank', title: answer.title, status: answer.status, detail: 'limit reached' }),
      }),
    );
    await page.click('#propose button[type="submit"]');
    await page.locator('#propose .form-summary').waitFor();
    assert.match(await page.textContent('#propose .form-summary'), /Too many proposals .* try again in 25 minutes/);
    assert.equal(await page.inputValue('#propose-name'), 'Code Club Kreuzberg', 'the draft is kept');
    answer = { status: 413, headers: {}, title: 'Payload too large' };
    await page.click('#propose button[type="submit"]');
    await page.waitForFunction(() => /too large/.test(document.querySelector('#propose .form-summary').textContent));
    assert.ok(await page.isEnabled('#propose button[type="submit"]'), 'the button works again');
    assertClean(assert, problems, [413, 429]);
  });

  test('typed coordinates move the marker and the map; the country centres the map', async () => {
    const { page, problems } = await open('/#c=50.0000,10.0000&z=6');
    await page.selectOption('#propose-country', 'FI');
    await page.waitForFunction(() => {
      const [lat, lon] = new URLSearchParams(location.hash.slice(1)).get('c').split(',').map(Number);
      return lat > 59 && lat < 71 && lon > 19 && lon < 32;
    });
    await settle(page);
    await page.fill('#propose-lon', '-9,14');
    await page.fill('#propose-lat', '38.72');
    await page.locator('#propose-lat').dispatchEvent('change');
    await page.locator('.propose-pin').waitFor();
    await page.waitForFunction(() => {
      const [lat, lon] = new URLSearchParams(location.hash.slice(1)).get('c').split(',').map(Number);
      return Math.abs(lat - 38.72) < 1 && Math.abs(lon + 9.14) < 1;
    });
    assert.match(await page.textContent('#propose .location-status'), /latitude 38\.72.*longitude -9\.14/);
    // Escape closes the form and keeps the draft; opening it again shows the marker again.
    await page.locator('#propose-name').fill('Draft');
    await page.keyboard.press('Escape');
    assert.ok(await page.locator('#propose').isHidden());
    assert.equal(await page.locator('.propose-pin').count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'propose-open');
    await page.locator('#propose-open').click();
    assert.equal(await page.inputValue('#propose-name'), 'Draft');
    assert.equal(await page.locator('.propose-pin').count(), 1);
    assertClean(assert, problems);
  });

  test('on a phone the form folds away while the map is tapped', async () => {
    const { page, problems } = await open('/', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    assert.ok(await page.locator('#propose').isVisible());
    await page.locator('#propose .propose-pick').click();
    assert.ok(await page.locator('#propose .propose-picking-bar').isVisible());
    assert.ok(await page.locator('#propose-name').isHidden(), 'the form is folded away');
    await page.screenshot({ path: path.join(ensureOutputDir(), 'propose-phone-picking.png') });
    const spot = await page.evaluate(() => {
      // An empty spot in the upper part of the map (the bar covers the bottom).
      for (let y = 200; y < 500; y += 10) {
        for (let x = 60; x < 330; x += 10) {
          const el = document.elementFromPoint(x, y);
          if (el && el.id === 'map') return { x, y };
          if (el && el.closest('#map') && !el.closest('.leaflet-marker-icon, .leaflet-control, .leaflet-interactive')) return { x, y };
        }
      }
      return null;
    });
    assert.ok(spot, 'an empty spot on the map');
    await page.touchscreen.tap(spot.x, spot.y);
    await page.waitForFunction(() => document.getElementById('propose-lon').value !== '');
    assert.ok(await page.locator('#propose-name').isVisible(), 'the form is back');
    await page.screenshot({ path: path.join(ensureOutputDir(), 'propose-phone.png') });
    assertClean(assert, problems);
  });

  test('in German, every text of the form and its errors is German', async () => {
    const { page, problems } = await open('/#lang=de');
    const read = (lang) => JSON.parse(readFileSync(path.join(WEB_DIR, 'i18n', `${lang}.json`), 'utf8'));
    const [english, german] = [read('en'), read('de')];
    assert.equal(await page.textContent('#propose-heading'), german['propose.heading']);
    assert.equal(await page.textContent('#propose button[type="submit"]'), german['propose.submit']);
    await page.click('#propose button[type="submit"]');
    await page.waitForSelector('#propose .field-error:not([hidden])');
    const shown = await page.evaluate(() => {
      const form = document.getElementById('propose');
      const attributes = [...form.querySelectorAll('[placeholder], [aria-label], [title]')].map((node) =>
        ['placeholder', 'aria-label', 'title'].map((name) => node.getAttribute(name) ?? '').join(' '),
      );
      return `${form.innerText}\n${attributes.join('\n')}`;
    });
    assert.match(shown, new RegExp(german['form.error.country'].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(shown, /Deutschland \(DE\)/, 'countries in German');
    // No English text of the form's messages is left (those English and German share are not telling).
    const left = Object.keys(english)
      .filter((key) => /^(form|propose)\./.test(key) && english[key] !== german[key])
      .map((key) => english[key].split('{')[0].trim())
      .filter((text) => text.length > 8 && shown.includes(text));
    assert.deepEqual(left, []);
    assertClean(assert, problems);
  });
});
