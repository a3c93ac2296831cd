// pages.test.mjs – the server-written pages with JavaScript disabled: the list, its filters and paging, one initiative's page, in two languages and on a phone; axe-core finds no violation; the map links to them.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, assertClean, serverAndBrowser, settle, watchedPage } from './helpers.mjs';

const NO_SCRIPT = { javaScriptEnabled: false };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

describe('pages without JavaScript', () => {
  const suite = serverAndBrowser();

  /** A page opened with JavaScript off (nothing of the page's own runs; the test's tools still do). */
  async function openWithoutScript(path, options = {}) {
    const watched = await watchedPage(suite.browser, { ...NO_SCRIPT, ...options });
    suite.opened.push(watched);
    const response = await watched.page.goto(suite.server.url + path);
    return { ...watched, response };
  }

  /**
   * axe over the page at `page`'s address. axe needs timers, which a page without JavaScript
   * never fires; the pages carry no script of their own (only a JSON-LD data block), so the same
   * address opened with JavaScript on is the same document, and that is checked first.
   */
  async function assertAccessibleWithoutScript(page, state) {
    const watched = await watchedPage(suite.browser, { viewport: page.viewportSize() });
    suite.opened.push(watched);
    await watched.page.goto(page.url());
    const scripts = await watched.page.evaluate(() => [...document.scripts].map((s) => s.type));
    assert.ok(scripts.every((type) => type === 'application/ld+json'), `no script of its own: ${scripts}`);
    assert.equal(await watched.page.content(), await page.content(), 'the same document as without JavaScript');
    await assertAccessible(assert, watched.page, state);
    assertClean(assert, watched.problems, [404]);
  }

  test('the list: entries, filters as links, paging, and axe', async () => {
    const { page, problems, response } = await openWithoutScript('/initiatives');
    assert.equal(response.status(), 200);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'Digital-skills initiatives in Europe' }).waitFor());
    assert.equal(await page.locator('ol.initiatives > li').count(), 50);
    await assertAccessibleWithoutScript(page, 'the list without JavaScript');

    // A filter is a link: following it narrows the list and marks the choice.
    await page.locator('nav.filters a', { hasText: /^Training$/ }).click();
    await page.waitForURL(/kind=training/);
    const chosen = page.locator('nav.filters a[aria-current="true"]', { hasText: /^Training$/ });
    assert.equal(await chosen.count(), 1);
    const count = await page.locator('p.count').textContent();
    assert.match(count, /^\d+ initiatives? match/);

    // Paging: "Next page" goes on, "Previous page" back.
    await page.goto(`${suite.server.url}/initiatives`);
    const firstOnFirst = await page.locator('ol.initiatives > li a').first().textContent();
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(/offset=50/);
    assert.equal(await page.locator('ol.initiatives').getAttribute('start'), '51');
    await assertAccessibleWithoutScript(page, 'the second page without JavaScript');
    await page.getByRole('link', { name: 'Previous page' }).click();
    await page.waitForURL((url) => !url.search.includes('offset'));
    assert.equal(await page.locator('ol.initiatives > li a').first().textContent(), firstOnFirst);
    assertClean(assert, problems);
  });

  test('an initiative: its page from the list, with its details, and axe', async () => {
    const { page, problems } = await openWithoutScript('/initiatives?country=AT');
    const entry = page.locator('ol.initiatives > li a').first();
    const name = await entry.textContent();
    await entry.click();
    await page.waitForURL(/\/initiatives\/[^?]+$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), name);
    assert.ok(await page.locator('dl dt').count() >= 4);
    const data = JSON.parse(await page.locator('script[type="application/ld+json"]').textContent());
    assert.equal(data.name, name);
    assert.equal(await page.locator('link[rel="canonical"]').getAttribute('href'), page.url());
    await assertAccessibleWithoutScript(page, 'an initiative without JavaScript');
    assertClean(assert, problems);
  });

  test('in Polish on a phone, chosen by the language switch', async () => {
    const { page, problems } = await openWithoutScript('/initiatives/at-50plus-center-salzburg', PHONE);
    await page.getByRole('navigation', { name: 'Language' }).getByRole('link', { name: 'Polski' }).click();
    await page.waitForURL(/lang=pl/);
    assert.equal(await page.locator('html').getAttribute('lang'), 'pl');
    assert.equal(await page.locator('dt').first().textContent(), 'Organizacja');
    await assertAccessibleWithoutScript(page, 'an initiative in Polish on a phone');
    await page.getByRole('link', { name: 'Wszystkie inicjatywy' }).click();
    await page.waitForURL(/\/initiatives\?lang=pl$/);
    assert.match(await page.locator('p.count').textContent(), /^Pasuj/);
    await assertAccessibleWithoutScript(page, 'the list in Polish on a phone');
    assertClean(assert, problems);
  });

  test('an unknown initiative: a readable 404 page', async () => {
    const { page, problems, response } = await openWithoutScript('/initiatives/no-such-initiative?lang=de');
    assert.equal(response.status(), 404);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Seite nicht gefunden');
    await assertAccessibleWithoutScript(page, 'the 404 page');
    assertClean(assert, problems, [404]);
  });

  test('the map page without JavaScript links to the list', async () => {
    const { page, problems } = await openWithoutScript('/');
    await page.getByRole('link', { name: /list of initiatives/ }).click();
    await page.waitForURL(/\/initiatives$/);
    assert.equal(await page.locator('ol.initiatives > li').count(), 50);
    assertClean(assert, problems);
  });

  test("with JavaScript, a popup links to the initiative's page", async () => {
    const { page, problems } = await suite.open('/#c=47.7994,13.0440&z=12&sel=at-50plus-center-salzburg&lang=fr');
    const link = page.locator('.initiative-popup .popup-details');
    await link.waitFor();
    assert.equal(await link.textContent(), 'Page de détails');
    await link.click();
    await page.waitForURL(/\/initiatives\/at-50plus-center-salzburg\?lang=fr$/);
    await settle(page);
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    assertClean(assert, problems);
  });
});
