// moderate.test.mjs – the curators' page: token sign-in (sessionStorage only), pending proposals shown as text,
// approve, correct then approve, reject with a reason, conflicts, the audit log, editing with If-Match.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { assertClean, ensureOutputDir, launchBrowser, proposalFeature, settle, startServer, watchedPage } from './helpers.mjs';

const TOKEN = 'alice-token-0123456789';
const HOSTILE_NAME = '<img src=x onerror=alert(1)>';
const HOSTILE_DESC = '<script>alert(2)</script> & "quotes"';
const HOSTILE_ORG = '<b onmouseover=alert(3)>Org</b>';

let server;
let browser;
const opened = [];
const ids = {}; // label -> {id, initiative_id}

const proposal = proposalFeature;

async function propose(label, feature) {
  const response = await fetch(`${server.url}/submissions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/geo+json' },
    body: JSON.stringify(feature),
  });
  assert.equal(response.status, 202, `${label} accepted`);
  ids[label] = await response.json();
  return ids[label];
}

async function curator(method, pathAndQuery, { body, contentType, ifMatch } = {}) {
  const headers = { Authorization: `Bearer ${TOKEN}` };
  if (contentType) headers['Content-Type'] = contentType;
  if (ifMatch) headers['If-Match'] = ifMatch;
  return fetch(server.url + pathAndQuery, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function open() {
  const watched = await watchedPage(browser);
  opened.push(watched);
  await watched.page.goto(`${server.url}/moderate.html`);
  await settle(watched.page);
  return watched;
}

async function signIn(page, token = TOKEN) {
  await page.fill('#token', token);
  await page.click('#signin-form button[type="submit"]');
}

/** The list entry of a proposal, opened. */
async function entry(page, label) {
  const item = page.locator(`#submissions .submission[data-id="${ids[label].id}"]`);
  await item.waitFor();
  if (!(await item.locator('details').evaluate((d) => d.open))) await item.locator('summary').click();
  return item;
}

describe('moderation page', () => {
  before(async () => {
    server = await startServer([], { env: { SKILLSMAP_CURATOR_TOKENS: `alice:${TOKEN},bob:bob-token-0123456789` } });
    browser = await launchBrowser();
    await propose('plain', proposal('Data Evenings Amsterdam'));
    const hostile = proposal(HOSTILE_NAME, { description: HOSTILE_DESC, organisation: HOSTILE_ORG, city: 'Utrecht<svg onload=alert(4)>' });
    hostile.geometry.coordinates = [4.95, 52.33];
    await propose('hostile', hostile);
    await propose('spam', proposal('Buy cheap followers now'));
    await propose('fix', proposal('Coding for seniors', { city: 'Rotterdm' }));
    await propose('raced', proposal('Someone else decides this one'));
  });

  after(async () => {
    for (const { context } of opened) await context.close().catch(() => {});
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  test('a wrong token is refused with a clear message and nothing is kept', async () => {
    const { page, problems } = await open();
    assert.ok(await page.locator('#signin').isVisible());
    assert.ok(await page.locator('#workspace').isHidden());
    await page.click('#signin-form button[type="submit"]');
    assert.match(await page.textContent('#signin-error'), /Enter your curator token/);
    await signIn(page, 'not-the-right-token-at-all');
    await page.waitForFunction(() => /Wrong token/.test(document.getElementById('signin-error').textContent));
    assert.ok(await page.locator('#workspace').isHidden());
    assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0, 'no token stored');
    assert.equal(await page.getAttribute('#token', 'aria-invalid'), 'true');
    // The page itself: no inline script, style attribute or event handler (it runs under a strict CSP).
    const html = await (await fetch(`${server.url}/moderate.html`)).text();
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), 'no inline script');
    assert.ok(!/ style=| on[a-z]+=/i.test(html), 'no style attributes or inline handlers');
    assert.ok(!/name="token"/.test(html), 'the token field is never part of a form submission');
    assertClean(assert, problems, [401]);
  });

  test('signed in, the pending proposals are listed, hostile text stays text', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.locator('#workspace').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('skillsmap.curator-token')), TOKEN, 'the token is in sessionStorage');
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
    assert.ok(!page.url().includes(TOKEN), 'the token is not in the URL');
    assert.equal(await page.inputValue('#token'), '', 'the token field is emptied');
    // Focus moves from the hidden sign-in form to the selected tab, not to <body>.
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-selected') === 'true');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.status), 'pending');
    await page.waitForFunction(() => document.querySelectorAll('#submissions .submission').length === 5);
    assert.match(await page.textContent('#submissions-summary'), /5 pending proposals/);
    assert.equal((await page.textContent('#pending-count')).trim(), '5');
    // Newest first.
    assert.equal(await page.getAttribute('#submissions .submission >> nth=0', 'data-id'), ids.raced.id);

    const plain = await entry(page, 'plain');
    const summary = await plain.locator('summary').textContent();
    for (const text of ['Data Evenings Amsterdam', 'Digitaal Amsterdam', 'Amsterdam', 'Netherlands', 'Training', '127.0.0.1']) {
      assert.ok(summary.includes(text), `summary shows ${text}: ${summary}`);
    }
    const facts = await plain.locator('.facts').textContent();
    for (const text of ['Evening classes in data analysis', 'Data & AI', 'Employees', 'NL', 'EN', ids.plain.initiative_id]) {
      assert.ok(facts.includes(text), `details show ${text}`);
    }
    assert.equal(await plain.locator('a.website').getAttribute('href'), 'https://example.org/data-evenings');
    await plain.locator('.mini-map .point-pin').waitFor();

    const hostile = await entry(page, 'hostile');
    assert.equal(await hostile.locator('.sub-name').textContent(), HOSTILE_NAME);
    const hostileFacts = await hostile.locator('.facts').textContent();
    assert.ok(hostileFacts.includes(HOSTILE_DESC) && hostileFacts.includes(HOSTILE_ORG) && hostileFacts.includes('Utrecht<svg onload=alert(4)>'));
    assert.equal(await page.locator('#submissions img, #submissions script, #submissions b, #submissions svg:not(.leaflet-zoom-animated)').count(), 0);
    await page.screenshot({ path: path.join(ensureOutputDir(), 'moderate-pending.png'), fullPage: true });
    await page.waitForTimeout(200);
    assertClean(assert, problems);
  });

  test('approving publishes the initiative on the API and the map', async () => {
    const { page, problems } = await open();
    await signIn(page);
    const item = await entry(page, 'hostile');
    await item.locator('[data-action="approve"]').click();
    await item.locator('.sub-result .ok').waitFor();
    const id = ids.hostile.initiative_id;
    assert.match(await item.locator('.sub-result').textContent(), new RegExp(`Approved and published as ${id}`));
    const href = await item.locator('.sub-result a').getAttribute('href');
    assert.equal(href, `/#c=52.3300,4.9500&z=10&sel=${encodeURIComponent(id)}`);
    assert.equal(await item.locator('[data-action]').count(), 0, 'no more actions');
    assert.equal((await page.textContent('#pending-count')).trim(), '4');

    const response = await fetch(`${server.url}/collections/initiatives/items/${id}`);
    assert.equal(response.status, 200, 'the initiative is published');
    assert.equal((await response.json()).properties.name, HOSTILE_NAME);

    // The map shows it, by its name as text, and runs nothing.
    const map = await watchedPage(browser);
    opened.push(map);
    // Zoomed in past the clusters, so that it is drawn as a marker of its own.
    await map.page.goto(`${server.url}${href.replace('z=10', 'z=17')}`);
    await settle(map.page);
    await map.page.locator('.leaflet-popup .popup-title').waitFor();
    assert.equal(await map.page.textContent('.leaflet-popup .popup-title'), HOSTILE_NAME);
    assert.equal(await map.page.locator(`path.point[data-id="${id}"]`).count(), 1, 'a marker on the map');
    await map.page.waitForTimeout(200);
    assertClean(assert, map.problems);

    // The Approved tab lists it with who decided.
    await page.locator('#tab-approved').click();
    const approved = await entry(page, 'hostile');
    assert.match(await approved.locator('.facts').textContent(), /Decided byalice/);
    assert.equal(await page.locator('#view-submissions img').count(), 0);
    assertClean(assert, problems);
  });

  test('rejecting asks for a reason, and the Rejected tab shows it', async () => {
    const { page, problems } = await open();
    await signIn(page);
    const item = await entry(page, 'spam');
    await item.locator('[data-action="reject"]').click();
    await item.locator('.reject-form button[type="submit"]').click();
    assert.match(await item.locator('.reject-form .field-error').textContent(), /give a reason/);
    await item.locator('.reject-form textarea').fill('Advertising, not a digital-skills initiative.');
    await item.locator('.reject-form button[type="submit"]').click();
    await item.locator('.sub-result .ok').waitFor();
    assert.match(await item.locator('.sub-result').textContent(), /Rejected/);
    const stored = await (await curator('GET', `/submissions/${ids.spam.id}`)).json();
    assert.equal(stored.status, 'rejected');
    assert.equal(stored.reason, 'Advertising, not a digital-skills initiative.');
    assert.equal(stored.decided_by, 'alice');
    await page.locator('#tab-rejected').click();
    // The pending list still shows the entry until the rejected list replaces it: wait for that.
    await page
      .locator(`#submissions .submission[data-id="${ids.spam.id}"] .facts`, { hasText: 'Advertising' })
      .waitFor({ state: 'attached' });
    const rejected = await entry(page, 'spam');
    assert.match(await rejected.locator('.facts').textContent(), /ReasonAdvertising, not a digital-skills initiative\./);
    assertClean(assert, problems);
  });

  test('a proposal can be corrected before approval; the server checks the correction', async () => {
    const { page, problems } = await open();
    await signIn(page);
    const item = await entry(page, 'fix');
    await item.locator('[data-action="edit"]').click();
    const prefix = `#fix-${ids.fix.id}`;
    assert.equal(await page.inputValue(`${prefix}-city`), 'Rotterdm');
    assert.equal(await page.inputValue(`${prefix}-name`), 'Coding for seniors');
    await item.locator('.initiative-form .mini-map .point-pin').waitFor();
    await page.fill(`${prefix}-city`, 'Rotterdam');
    await page.fill(`${prefix}-lon`, '4.48');
    await page.fill(`${prefix}-lat`, '51.92');
    await page.check(`${prefix}-target_groups-general_public`);
    // First spoil the correction on its way, so the real server refuses it: its errors show by the fields.
    await page.route('**/approve', async (route) => {
      const feature = JSON.parse(route.request().postData());
      feature.properties.url = 'javascript:alert(5)';
      await route.continue({ postData: JSON.stringify(feature) });
    });
    await item.locator('.initiative-form button[type="submit"]').click();
    await item.locator('[data-field="url"] .field-error').waitFor();
    assert.match(await item.locator('[data-field="url"] .field-error').textContent(), /must be an absolute http\(s\) URL/);
    await page.unroute('**/approve');
    await item.locator('.initiative-form button[type="submit"]').click();
    await item.locator('.sub-result .ok').waitFor();
    assert.match(await item.locator('.sub-result').textContent(), /Corrected, approved and published/);
    const published = await (await fetch(`${server.url}/collections/initiatives/items/${ids.fix.initiative_id}`)).json();
    assert.equal(published.properties.city, 'Rotterdam');
    assert.deepEqual(published.geometry.coordinates, [4.48, 51.92]);
    assert.deepEqual([...published.properties.target_groups].sort(), ['employees', 'general_public', 'job_seekers']);
    assert.equal(published.properties.source, 'proposed through skillsmap', 'the source is kept');
    assertClean(assert, problems, [400]);
  });

  test('a proposal decided meanwhile by someone else gives a clear conflict message', async () => {
    const { page, problems } = await open();
    await signIn(page);
    const item = await entry(page, 'raced');
    const response = await curator('POST', `/submissions/${ids.raced.id}/reject`, { body: { reason: 'duplicate' }, contentType: 'application/json' });
    assert.equal(response.status, 200);
    await item.locator('[data-action="approve"]').click();
    await item.locator('.sub-result .error').waitFor();
    assert.match(await item.locator('.sub-result').textContent(), /already rejected/);
    assert.equal(await item.locator('[data-action]').count(), 0, 'no more actions on it');
    assertClean(assert, problems, [409]);
  });

  test('the audit log shows the latest entries first and loads newer ones', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.locator('#tab-audit').click();
    await page.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length > 0);
    const seqs = await page.$$eval('#audit-rows tr', (rows) => rows.map((r) => Number(r.dataset.seq)));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'newest first');
    const first = await page.textContent('#audit-rows tr >> nth=0');
    assert.match(first, /alice/);
    assert.match(first, /approve|reject/);
    const rows = await page.$$eval('#audit-rows tr', (trs) => trs.map((tr) => tr.textContent));
    assert.ok(rows.some((t) => t.includes('reject') && t.includes(ids.spam.id)), 'the rejection is logged');
    assert.ok(rows.some((t) => t.includes('approve') && t.includes(ids.hostile.initiative_id) && t.includes('name')), 'the approval with its changed fields');
    assert.ok(rows.some((t) => t.includes('submit') && t.includes('public 127.0.0.1')), 'proposals are logged');
    assert.equal(await page.locator('#audit img, #audit script, #audit b').count(), 0, 'hostile values stay text');
    // A new proposal shows up after "Load newer entries".
    const count = seqs.length;
    const late = await propose('late', proposal('Late proposal'));
    await page.click('#audit-more');
    await page.waitForFunction((n) => document.querySelectorAll('#audit-rows tr').length === n + 1, count);
    assert.match(await page.textContent('#audit-rows tr >> nth=0'), new RegExp(late.id));
    // The changes of an entry can be unfolded.
    const approvalRow = page.locator('#audit-rows tr', { hasText: ids.hostile.initiative_id }).filter({ hasText: 'approve' });
    await approvalRow.locator('summary').click();
    assert.ok((await approvalRow.locator('.diff').textContent()).includes(HOSTILE_NAME));
    await page.screenshot({ path: path.join(ensureOutputDir(), 'moderate-audit.png'), fullPage: true });
    assertClean(assert, problems);
  });

  test('a published initiative is edited with If-Match; a change by someone else is caught', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.locator('#tab-edit').click();
    await page.fill('#edit-id', 'no-such-initiative');
    await page.click('#edit-find button[type="submit"]');
    await page.waitForFunction(() => /no initiative with the id/.test(document.getElementById('edit-find-error').textContent));
    const id = ids.plain.initiative_id;
    // Publish the plain proposal first (by API), then edit it here.
    assert.equal((await curator('POST', `/submissions/${ids.plain.id}/approve`)).status, 201);
    await page.fill('#edit-id', id);
    await page.click('#edit-find button[type="submit"]');
    await page.locator('#edit-name').waitFor();
    assert.equal(await page.inputValue('#edit-name'), 'Data Evenings Amsterdam');
    await page.fill('#edit-description', 'Evening classes in data analysis and AI for adults.');
    await page.fill('#edit-end', '2027-12-31');
    const patched = page.waitForRequest((r) => r.method() === 'PATCH');
    await page.click('#edit-area button[type="submit"]');
    const request = await patched;
    assert.match(request.headers()['content-type'], /^application\/merge-patch\+json/);
    assert.ok(request.headers()['if-match'], 'If-Match sent');
    assert.deepEqual(JSON.parse(request.postData()), {
      properties: { description: 'Evening classes in data analysis and AI for adults.', end: '2027-12-31' },
    });
    await page.locator('#edit-area .ok').waitFor();
    let current = await fetch(`${server.url}/collections/initiatives/items/${id}`);
    assert.equal((await current.json()).properties.end, '2027-12-31');

    // Someone else changes it meanwhile.
    current = await fetch(`${server.url}/collections/initiatives/items/${id}`, { cache: 'no-store' });
    const other = await curator('PATCH', `/collections/initiatives/items/${id}`, {
      body: { properties: { city: 'Amsterdam-Noord' } },
      contentType: 'application/merge-patch+json',
      ifMatch: current.headers.get('etag'),
    });
    assert.equal(other.status, 200);
    await page.fill('#edit-name', 'Data Evenings');
    await page.click('#edit-area button[type="submit"]');
    await page.waitForFunction(() => /Someone else changed/.test(document.getElementById('edit-area').textContent));
    await page.locator('#edit-area button', { hasText: 'Reload' }).click();
    await page.waitForFunction(() => document.getElementById('edit-city')?.value === 'Amsterdam-Noord');
    assert.equal(await page.inputValue('#edit-name'), 'Data Evenings Amsterdam');
    // Delete, with a second click to confirm.
    await page.locator('#edit-area button', { hasText: 'Delete' }).click();
    await page.locator('#edit-area button', { hasText: 'Really delete' }).click();
    await page.waitForFunction(() => /Deleted/.test(document.getElementById('edit-area').textContent));
    assert.equal((await fetch(`${server.url}/collections/initiatives/items/${id}`)).status, 404);
    assertClean(assert, problems, [404, 412]);
  });

  test('sign out forgets the token; a revoked token signs out', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.locator('#workspace').waitFor();
    // The token survives a reload of the tab.
    await page.reload();
    await page.locator('#workspace').waitFor();
    await page.click('#sign-out');
    assert.ok(await page.locator('#signin').isVisible());
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.match(await page.textContent('#notice'), /signed out/);
    await page.reload();
    await settle(page);
    assert.ok(await page.locator('#signin').isVisible(), 'still signed out after a reload');
    // A token the server no longer accepts (here: a stale one in the tab) leads back to the sign-in.
    await page.evaluate(() => sessionStorage.setItem('skillsmap.curator-token', 'revoked-token-0123456789'));
    await page.reload();
    await page.waitForFunction(() => /no longer accepts/.test(document.getElementById('notice').textContent));
    assert.ok(await page.locator('#signin').isVisible());
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assertClean(assert, problems, [401]);
  });
});
