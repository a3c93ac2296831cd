// helpers.mjs – shared test set-up: start the real skillsmap server, launch Chromium, watch a page for bad behaviour.

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = path.resolve(here, '..');
export const REPO_DIR = path.resolve(WEB_DIR, '..');
export const OUTPUT_DIR = path.join(REPO_DIR, 'test-output');
const BIN = process.env.SKILLSMAP_BIN
  ? path.resolve(WEB_DIR, process.env.SKILLSMAP_BIN)
  : path.resolve(WEB_DIR, '../target/release/skillsmap');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Starts `skillsmap serve` on an ephemeral port; resolves to {url, stop()}. The store is in memory
 * (`--db :memory:`) unless `extraArgs` names its own `--db`; `env` adds environment variables,
 * e.g. {SKILLSMAP_CURATOR_TOKENS: 'alice:alice-token-0123456789'}.
 */
export function startServer(extraArgs = [], { env = {} } = {}) {
  const ownDb = extraArgs.some((arg) => arg === '--db' || String(arg).startsWith('--db='));
  const args = ['serve', '--listen', '127.0.0.1:0', '--web-dir', WEB_DIR, ...(ownDb ? [] : ['--db', ':memory:']), ...extraArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      cwd: REPO_DIR,
      env: { ...process.env, SKILLSMAP_LOG: 'info', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    let started = false;
    // Never leave a server behind, even when a test run is interrupted.
    process.once('exit', () => child.kill('SIGKILL'));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in time:\n${log}`));
    }, 30000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /addr=(127\.0\.0\.1:\d+)/.exec(log);
      if (match && !started) {
        started = true;
        clearTimeout(timer);
        const stop = () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 3000).unref();
          });
        // The port is taken before the data loads: the server is ready when /healthz says so.
        const url = `http://${match[1]}`;
        resolve(whenHealthy(url).then(() => ({ url, stop, log: () => log })));
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      if (!/addr=/.test(log)) {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${log}`));
      }
    });
  });
}

/** Waits until the server at `url` answers /healthz with 200 (it answers 503 while loading). */
async function whenHealthy(url, limitMs = 60000) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not become healthy in ${limitMs} ms`);
    // Polls /healthz until it says ok (bounded by `deadline`).
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Launches the system Chromium headless. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Opens a page that records problems: requests to any host but 127.0.0.1, console errors,
 * uncaught exceptions and dialogs (a dialog means injected script ran).
 */
export async function watchedPage(browser, options = {}, csp = CSP) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', ...options });
  const page = await context.newPage();
  // Serve every HTML page under a strict Content-Security-Policy: any inline script, inline
  // style attribute or foreign resource then shows up as a console error.
  await page.route('**/*', async (route) => {
    if (route.request().resourceType() !== 'document') return route.continue();
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': csp } });
  });
  const problems = { foreignRequests: [], consoleErrors: [], pageErrors: [], dialogs: [], failedResponses: [], requests: [] };
  page.on('response', (response) => {
    if (response.status() >= 400) problems.failedResponses.push(`${response.status()} ${response.url()}`);
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol === 'data:' || url.protocol === 'blob:') return;
    if (url.hostname !== '127.0.0.1') problems.foreignRequests.push(request.url());
    else problems.requests.push(request.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => problems.pageErrors.push(String(error)));
  page.on('dialog', async (dialog) => {
    problems.dialogs.push(dialog.message());
    await dialog.dismiss().catch(() => {});
  });
  return { context, page, problems };
}

/**
 * Fails unless the page behaved: no foreign requests, console errors, page errors or dialogs.
 * `expectedStatuses` lists HTTP error statuses a test provoked on purpose (e.g. [400, 401]): the
 * browser's "Failed to load resource" console line for those is not counted; anything else is.
 */
export function assertClean(assert, problems, expectedStatuses = []) {
  assert.deepEqual(problems.foreignRequests, [], 'every request stays on 127.0.0.1');
  const expected = (text) =>
    expectedStatuses.some((status) => text.startsWith(`Failed to load resource: the server responded with a status of ${status} `));
  const consoleErrors = problems.consoleErrors.filter((text) => !expected(text));
  assert.deepEqual(consoleErrors, [], `no console errors (failed responses: ${problems.failedResponses.join(', ')})`);
  assert.deepEqual(problems.pageErrors, [], 'no uncaught page errors');
  assert.deepEqual(problems.dialogs, [], 'no dialogs');
}

/** Waits until the page has no fetch or scheduled refresh pending and the map tiles are in. */
export async function settle(page) {
  await page.waitForTimeout(80);
  await page.waitForFunction(
    () => {
      const map = document.getElementById('map');
      if (!map) return document.readyState === 'complete';
      const root = document.documentElement.dataset;
      return root.pending === '0' && root.moving !== '1' && map.getAttribute('aria-busy') === 'false';
    },
    null,
    { timeout: 15000 },
  );
}

/** The map's view as the URL (its hash) states it. */
export function viewOf(pageUrl) {
  const params = new URLSearchParams(new URL(pageUrl).hash.slice(1));
  const [lat, lon] = (params.get('c') || '').split(',').map(Number);
  return { lat, lon, z: Number(params.get('z')), params };
}

export function ensureOutputDir() {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  return OUTPUT_DIR;
}

/** Writes a FeatureCollection to a temporary file and returns its path. */
export function writeDataset(name, features) {
  const file = path.join(tmpdir(), `skillsmap-test-${process.pid}-${name}.geojson`);
  writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features }));
  return file;
}

const SKILL_AREAS = ['basic_digital_skills', 'digital_business', 'data_ai', 'iot', 'cybersecurity', 'cloud', 'software_development', 'advanced_manufacturing'];
const TARGET_GROUPS = ['smes', 'employees', 'ict_professionals', 'job_seekers', 'young_people', 'educators', 'women_in_tech', 'general_public', 'public_sector'];
const KINDS = ['training', 'hub', 'coalition', 'competence_centre', 'funding', 'awareness', 'network'];
// Country, a city in it and its coordinates (lon, lat); random points scatter around them.
const PLACES = [
  ['DE', 'Berlin', 13.4, 52.52], ['DE', 'Munich', 11.58, 48.14], ['FR', 'Paris', 2.35, 48.86],
  ['FR', 'Lyon', 4.84, 45.76], ['ES', 'Madrid', -3.7, 40.42], ['IT', 'Rome', 12.5, 41.9],
  ['PL', 'Warsaw', 21.01, 52.23], ['NL', 'Amsterdam', 4.9, 52.37], ['SE', 'Stockholm', 18.07, 59.33],
  ['PT', 'Lisbon', -9.14, 38.72], ['GR', 'Athens', 23.73, 37.98], ['AT', 'Vienna', 16.37, 48.21],
  ['FI', 'Helsinki', 24.94, 60.17], ['IE', 'Dublin', -6.26, 53.35], ['RO', 'Bucharest', 26.1, 44.43],
  ['CZ', 'Prague', 14.42, 50.08], ['BE', 'Brussels', 4.35, 50.85], ['DK', 'Copenhagen', 12.57, 55.68],
];

/** A deterministic pseudo-random generator (mulberry32), so test data is the same every run. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` valid initiatives scattered around European cities. */
export function randomFeatures(count, seed = 7) {
  const random = rng(seed);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const some = (list) => {
    const chosen = list.filter(() => random() < 0.25);
    return chosen.length ? chosen : [pick(list)];
  };
  const features = [];
  for (let i = 0; i < count; i += 1) {
    const [country, city, lon, lat] = pick(PLACES);
    const kind = pick(KINDS);
    features.push({
      type: 'Feature',
      id: `${country.toLowerCase()}-test-${i}`,
      geometry: {
        type: 'Point',
        coordinates: [
          Number((lon + (random() - 0.5) * 1.2).toFixed(4)),
          Number((lat + (random() - 0.5) * 0.8).toFixed(4)),
        ],
      },
      properties: {
        name: `Test ${kind.replace('_', ' ')} ${i}`,
        description: `A generated ${kind.replace('_', ' ')} near ${city} for browser tests.`,
        organisation: `Organisation ${i % 97}`,
        url: `https://example.org/initiative/${i}`,
        country,
        city,
        skill_areas: some(SKILL_AREAS),
        target_groups: some(TARGET_GROUPS),
        kind,
        languages: ['en'],
        updated_at: '2026-11-25T00:00:00Z',
        source: 'seed:public-sources',
      },
    });
  }
  return features;
}

/** Web Mercator: the lat/lon at a pixel offset (dx, dy) from a view's centre at zoom z. */
export function offsetLatLng(view, dx, dy) {
  const size = 256 * 2 ** view.z;
  const x = ((view.lon + 180) / 360) * size + dx;
  const latRad = (view.lat * Math.PI) / 180;
  const y0 = ((1 - Math.log(Math.tan(latRad) + 1 / Math.cos(latRad)) / Math.PI) / 2) * size;
  const y = y0 + dy;
  const lon = (x / size) * 360 - 180;
  const n = Math.PI - (2 * Math.PI * y) / size;
  const lat = (180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
  return { lat, lon };
}

/** Centre of an element's box in page pixels, and the map's box. */
export async function boxCentre(locator) {
  const box = await locator.boundingBox();
  return { x: box.x + box.width / 2, y: box.y + box.height / 2, box };
}

/** Ids of the entries in a result list. */
export function listIds(page, selector = '#list') {
  return page.$$eval(`${selector} .result`, (buttons) => buttons.map((b) => b.dataset.id));
}

/**
 * A point of the map (page pixels) near its centre where nothing is drawn, found by scanning
 * outward; `selector` instead finds the first visible, unobstructed element matching it.
 */
export function freeSpot(page, selector = null) {
  return page.evaluate((sel) => {
    const map = document.getElementById('map').getBoundingClientRect();
    const cx = map.left + map.width / 2;
    const cy = map.top + map.height / 2;
    const inner = (x, y) => x > map.left + 60 && x < map.right - 300 && y > map.top + 60 && y < map.bottom - 60;
    if (sel) {
      for (const el of document.querySelectorAll(sel)) {
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2;
        const y = r.top + r.height / 2;
        if (!inner(x, y)) continue;
        const top = document.elementFromPoint(x, y);
        if (top === el || el.contains(top)) return { x, y, id: el.dataset.id ?? null };
      }
      return null;
    }
    for (let ring = 0; ring < 40; ring += 1) {
      for (let k = 0; k < 16; k += 1) {
        const a = (k / 16) * 2 * Math.PI;
        const x = cx + Math.cos(a) * ring * 6;
        const y = cy + Math.sin(a) * ring * 6;
        const top = document.elementFromPoint(x, y);
        if (!top) continue;
        const busy = (el) =>
          el.closest('.leaflet-marker-icon, .leaflet-control, .leaflet-popup') ||
          (el.classList && el.classList.contains('leaflet-interactive'));
        // Look 8 pixels around too, so a click does not graze a marker.
        const clear = [[0, 0], [8, 0], [-8, 0], [0, 8], [0, -8]].every(([dx, dy]) => {
          const t = document.elementFromPoint(x + dx, y + dy);
          return t && !busy(t);
        });
        if (clear) return { x, y, dx: x - cx, dy: y - cy };
      }
    }
    return null;
  }, selector);
}

/**
 * Picks a point for "near" (the pick mode on) by clicking an empty spot near the map's centre
 * (markers take their own clicks), and waits for its results; returns the spot.
 */
export async function pickFreeSpot(assert, page) {
  const spot = await freeSpot(page);
  assert.ok(spot, 'an empty spot on the map');
  await page.mouse.click(spot.x, spot.y);
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).has('near'));
  await settle(page);
  return spot;
}

/**
 * For a describe block: starts the server (with `args`, and `startOptions.dataset` if given) and
 * Chromium before its tests and closes them, and every page it opened, after. `open(path, options)` opens a watched page and settles it.
 */
export function serverAndBrowser(args = [], startOptions = {}) {
  const { dataset, ...serverOptions } = startOptions;
  const suite = { server: null, browser: null, opened: [], dataFile: null };
  before(async () => {
    // `dataset: { name, features }` serves those features instead of the seed data; they are
    // built here, not when the suite is declared, so a failure is reported by the hook.
    if (dataset) {
      suite.dataFile = writeDataset(dataset.name, dataset.features());
      args = [...args, '--data', suite.dataFile];
    }
    suite.server = await startServer(args, serverOptions);
    suite.browser = await launchBrowser();
  });
  after(async () => {
    for (const { context } of suite.opened) await context.close().catch(() => {});
    if (suite.browser) await suite.browser.close();
    if (suite.server) await suite.server.stop();
    if (suite.dataFile) rmSync(suite.dataFile, { force: true });
  });
  suite.open = async (pathAndQuery = '/', options = {}) => {
    const watched = await watchedPage(suite.browser, options);
    suite.opened.push(watched);
    await watched.page.goto(suite.server.url + pathAndQuery);
    await settle(watched.page);
    return watched;
  };
  return suite;
}

const AXE = path.join(WEB_DIR, 'node_modules/axe-core/axe.min.js');

/**
 * Runs axe-core in the page (the WCAG 2.1 A and AA rules) and fails on any violation, naming
 * each rule and the first nodes it found. `state` names the page's state in the message.
 */
export async function assertAccessible(assert, page, state) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(AXE, 'utf8'));
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  assert.deepEqual(violations, [], `axe finds no violation: ${state}`);
}

/** A valid proposal (a GeoJSON Feature in Amsterdam) named `name`, with `overrides` of its properties. */
export function proposalFeature(name, overrides = {}) {
  return {
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [4.9, 52.37] },
    properties: {
      name,
      description: 'Evening classes in data analysis for adults.',
      organisation: 'Digitaal Amsterdam',
      url: 'https://example.org/data-evenings',
      country: 'NL',
      city: 'Amsterdam',
      skill_areas: ['data_ai'],
      target_groups: ['employees', 'job_seekers'],
      kind: 'training',
      languages: ['nl', 'en'],
      ...overrides,
    },
  };
}
