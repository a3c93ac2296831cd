// moderate-languages.test.mjs – the moderation page in the curator's language: every text of its own from the
// catalogue (none left in English), dates and names in that language, the language from the URL, the browser or the switch.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { WEB_DIR, assertAccessible, assertClean, ensureOutputDir, proposalFeature, serverAndBrowser } from './helpers.mjs';

const TOKEN = 'carla-token-0123456789';
const catalogue = (lang) => JSON.parse(readFileSync(path.join(WEB_DIR, 'i18n', `${lang}.json`), 'utf8'));
const english = catalogue('en');

/** The texts of the page a curator sees or hears: visible text, the title, labels, tooltips and placeholders. */
function shownText(page) {
  return page.evaluate(() => {
    const attributes = [...document.querySelectorAll('[aria-label], [title], [placeholder]')].map((node) =>
      ['aria-label', 'title', 'placeholder'].map((name) => node.getAttribute(name) ?? '').join('\n'),
    );
    return [document.title, document.body.innerText, ...attributes].join('\n');
  });
}

/**
 * The English texts of the `moderate.*` messages (and of the maps' zoom buttons) that `lang` words
 * differently, cut at their placeholders; pieces of three letters or fewer ("Id", "#") say nothing.
 */
function englishPieces(lang) {
  const other = catalogue(lang);
  const texts = (message) => (typeof message === 'object' ? Object.values(message) : [message]);
  return Object.keys(english)
    .filter((key) => (key.startsWith('moderate.') || key.startsWith('map.zoom')) && JSON.stringify(english[key]) !== JSON.stringify(other[key]))
    .flatMap((key) => texts(english[key]).flatMap((text) => text.split(/\{\w+\}/)))
    .map((piece) => piece.trim())
    .filter((piece) => piece.length > 3);
}

async function signIn(page) {
  await page.fill('#token', TOKEN);
  await page.click('#signin-form button[type="submit"]');
  await page.locator('#workspace').waitFor();
  await page.locator('#submissions .submission').first().waitFor();
}

describe('moderation page in other languages', () => {
  const suite = serverAndBrowser([], { env: { SKILLSMAP_CURATOR_TOKENS: `carla:${TOKEN}` } });

  before(async () => {
    const response = await fetch(`${suite.server.url}/submissions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/geo+json' },
      body: JSON.stringify(proposalFeature('Data Evenings Amsterdam', { start: '2026-03-01' })),
    });
    assert.equal(response.status, 202);
  });

  test('in German, signed in with a proposal open, no text of the page is left in English', async () => {
    const german = catalogue('de');
    const { page, problems } = await suite.open('/moderate.html#lang=de');
    await page.waitForFunction(() => document.documentElement.lang === 'de');
    assert.equal(await page.textContent('#signin-heading'), german['moderate.signin.heading']);
    assert.equal(await page.title(), german['moderate.title']);
    assert.equal(await page.$eval('#language', (s) => s.value), 'de');
    await page.click('#signin-form button[type="submit"]');
    assert.equal(await page.textContent('#signin-error'), german['moderate.signin.empty']);

    await signIn(page);
    assert.equal(await page.textContent('#submissions-summary'), '1 offener Vorschlag.');
    assert.equal(await page.textContent('#tab-pending span[data-i18n]'), 'Offen');
    const item = page.locator('#submissions .submission').first();
    await item.locator('summary').click();
    await item.locator('.mini-map .point-pin').waitFor();
    const facts = await item.locator('.facts').textContent();
    for (const text of ['Koordinaten', 'Niederlande (NL)', 'Niederländisch (NL)', 'Englisch (EN)', 'Daten & KI', 'offen']) {
      assert.ok(facts.includes(text), `the facts show ${text}: ${facts}`);
    }
    // Dates as German writes them.
    const when = await item.locator('.sub-when time').evaluate((node) => [node.textContent, node.getAttribute('datetime')]);
    const expected = await page.evaluate(
      (iso) => new Intl.DateTimeFormat('de', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)),
      when[1],
    );
    assert.equal(when[0], expected);
    assert.ok(facts.includes('01.03.2026'), `the start date in German: ${facts}`);
    // The rejection form and its error too.
    await item.locator('[data-action="reject"]').click();
    await item.locator('.reject-form button[type="submit"]').click();
    assert.equal(await item.locator('.reject-form .field-error').textContent(), german['moderate.reject.empty']);

    const shown = await shownText(page);
    const left = englishPieces('de').filter((piece) => shown.includes(piece));
    assert.deepEqual(left, [], 'no English text of a moderate.* message');
    await page.screenshot({ path: path.join(ensureOutputDir(), 'moderate-de.png'), fullPage: true });
    await assertAccessible(assert, page, 'moderation in German, signed in, a proposal open');

    // The audit log: its headings and the actions by name.
    await page.click('#tab-audit');
    await page.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length > 0);
    assert.equal(await page.textContent('#audit-rows tr >> nth=0 >> td[data-action="submit"]'), german['moderate.action.submit']);
    const audit = await shownText(page);
    assert.deepEqual(
      englishPieces('de').filter((piece) => audit.includes(piece)),
      [],
      'no English text of a moderate.* message in the audit log',
    );
    await assertAccessible(assert, page, 'moderation in German, the audit log');
    assertClean(assert, problems);
  });

  test('a Polish browser gets Polish, kept in the URL; the switch changes to French and keeps the session', async () => {
    const { page, problems } = await suite.open('/moderate.html', { locale: 'pl-PL' });
    await page.waitForFunction(() => document.documentElement.lang === 'pl');
    // The language the browser chose is written into the URL once the switch is filled.
    await page.waitForFunction(() => window.location.hash === '#lang=pl');
    assert.equal(await page.textContent('h1'), 'Moderacja');
    assert.equal(await page.$eval('#language', (s) => s.selectedOptions[0].textContent), 'polski');
    await signIn(page);
    assert.equal(await page.textContent('#submissions-summary'), '1 oczekująca propozycja.');
    const shown = await shownText(page);
    assert.deepEqual(
      englishPieces('pl').filter((piece) => shown.includes(piece)),
      [],
      'no English text of a moderate.* message',
    );
    await page.screenshot({ path: path.join(ensureOutputDir(), 'moderate-pl.png'), fullPage: true });

    await Promise.all([page.waitForEvent('load'), page.selectOption('#language', 'fr')]);
    await page.waitForFunction(() => document.documentElement.lang === 'fr');
    assert.equal(new URL(page.url()).hash, '#lang=fr');
    // Still signed in (the token stays in the tab), now in French.
    await page.locator('#submissions .submission').first().waitFor();
    assert.equal(await page.textContent('#submissions-summary'), '1 proposition en attente.');
    assert.equal(await page.textContent('#sign-out'), 'Se déconnecter');
    assertClean(assert, problems);
  });
});
