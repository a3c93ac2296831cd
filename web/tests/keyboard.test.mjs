// keyboard.test.mjs – the main tasks with the keyboard only: skip links, find an initiative, open it, follow its link, filter, clusters and points, Escape, the phone's drawer, the list beyond 200.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, serverAndBrowser, settle } from './helpers.mjs';

/** Presses Tab (Shift+Tab with `back`) until `predicate` holds for the focused element. */
async function tabTo(page, predicate, arg, { max = 400, back = false } = {}) {
  for (let i = 0; i < max; i += 1) {
    if (await page.evaluate(predicate, arg)) return i;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  assert.fail(`not reached with ${max} Tab presses`);
}

const focusedIs = (selector) => document.activeElement?.matches(selector);
const hashParam = (page, name) => page.evaluate((n) => new URLSearchParams(location.hash.slice(1)).get(n), name);

describe('keyboard only', () => {
  const suite = serverAndBrowser();

  test('skip links lead to the map and to the list', async () => {
    const { page, problems } = await suite.open('/');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to the map');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'map');
    await page.reload();
    await settle(page);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to filters and list');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'panel');
    assertClean(assert, problems);
  });

  test('find an initiative, open it, follow its link, and Escape back to the list', async () => {
    const { page, context, problems } = await suite.open('/');
    await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.fulfill({ status: 200, body: 'elsewhere' }));
    await tabTo(page, focusedIs, '#search');
    await page.keyboard.type('Seniorenbund');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('q') === 'Seniorenbund');
    await settle(page);
    await page.keyboard.press('Escape'); // closes the suggestions, if any
    await tabTo(page, focusedIs, '#list .result');
    const id = await page.evaluate(() => document.activeElement.dataset.id);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.initiative-popup .popup-link');
    await page.waitForFunction(() => document.activeElement?.closest('.initiative-popup'));
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(focusedIs, '.popup-link'), 'one Tab from the popup reaches its link');
    const href = await page.evaluate(() => document.activeElement.href);
    const [opened] = await Promise.all([context.waitForEvent('page'), page.keyboard.press('Enter')]);
    await opened.waitForLoadState();
    assert.equal(opened.url(), href, 'the link opens the initiative’s site');
    await opened.close();

    await page.bringToFront();
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('.initiative-popup'));
    assert.equal(await page.evaluate(() => document.activeElement.dataset.id), id, 'the focus is back on the entry');
    assert.equal(await hashParam(page, 'sel'), null);
    assertClean(assert, problems);
  });

  test('filter with Space; clusters zoom and points open with Enter', async () => {
    const { page, problems } = await suite.open('/#c=50.0000,10.0000&z=5');
    await tabTo(page, focusedIs, '#f-kind-hub');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('kind') === 'hub');
    await settle(page);
    await page.keyboard.press('Space');
    await page.waitForFunction(() => !new URLSearchParams(location.hash.slice(1)).has('kind'));
    await settle(page);

    const zoom = Number(await hashParam(page, 'z'));
    await page.focus('#map'); // the skip link's target
    await tabTo(page, focusedIs, '.cluster');
    await page.keyboard.press('Enter');
    await page.waitForFunction((z) => Number(new URLSearchParams(location.hash.slice(1)).get('z')) > z, zoom);
    await settle(page);

    await page.focus('#map');
    await tabTo(page, focusedIs, 'path.point');
    const id = await page.evaluate(() => document.activeElement.dataset.id);
    await page.keyboard.press(' ');
    await page.waitForFunction((i) => new URLSearchParams(location.hash.slice(1)).get('sel') === i, id);
    await page.waitForFunction(() => document.activeElement?.closest('.initiative-popup'));
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('.initiative-popup'));
    assert.equal(await page.evaluate(() => document.activeElement.dataset.id), id, 'the focus is back on the point');
    assertClean(assert, problems);
  });

  test('the list pages beyond 200', async () => {
    const { page, problems } = await suite.open('/#c=50.0000,10.0000&z=4');
    const before = await page.locator('#list .result').count();
    assert.equal(before, 200);
    await tabTo(page, focusedIs, '#list-more');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#list .result').length > 200);
    assert.ok(await page.evaluate(focusedIs, '#list .result'), 'the focus moves to the first new entry');
    assert.match(await page.textContent('#list-summary'), /Showing 400 of|initiatives in view/);
    assertClean(assert, problems);
  });

  test('on a phone, Tab stays in the open drawer', async () => {
    const { page, problems } = await suite.open('/', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await tabTo(page, focusedIs, '#drawer-toggle');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.body.classList.contains('drawer-open'));
    for (let i = 0; i < 80; i += 1) {
      await page.keyboard.press('Tab');
      assert.ok(await page.evaluate(() => document.getElementById('panel').contains(document.activeElement)), `Tab ${i + 1} stays in the drawer`);
    }
    await page.keyboard.press('Escape');
    assert.ok(await page.evaluate(focusedIs, '#drawer-toggle'), 'Escape closes the drawer and returns to its button');
    assert.equal(await page.evaluate(() => document.getElementById('map').inert), false);
    assertClean(assert, problems);
  });
});
