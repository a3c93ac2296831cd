// languages.test.mjs – the page in the visitor's language: from the browser, from the URL, from the switch (remembered); labels, names of languages, lang attributes.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, serverAndBrowser, settle } from './helpers.mjs';

const SALZBURG = 'at-50plus-center-salzburg'; // a record in German only

const hashParam = (page, name) => page.evaluate((n) => new URLSearchParams(location.hash.slice(1)).get(n), name);

describe('languages', () => {
  const suite = serverAndBrowser();
  const open = (...args) => suite.open(...args);

  test('a French browser gets the page in French, with French labels and names of languages', async () => {
    const { page, problems } = await open(`/#c=47.7994,13.0440&z=12&sel=${SALZBURG}`, { locale: 'fr-FR' });
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.equal(await hashParam(page, 'lang'), 'fr', 'the language is kept in the URL');
    assert.equal(await page.textContent('#filters-heading'), 'Filtres');
    assert.equal(await page.getAttribute('#search', 'placeholder'), 'Nom, organisme, ville ou région…');
    assert.equal(await page.textContent('#f-skill_area-data_ai + label .option-label'), 'Données et IA');
    assert.equal(await page.textContent('#f-kind-hub + label .option-label'), 'Pôle d’innovation numérique');
    assert.equal(await page.textContent('#f-country-AT + label .option-label'), 'Autriche', 'countries named by the browser');
    assert.match(await page.textContent('#list-summary'), /dans la vue/);
    assert.equal(await page.$eval('#language', (s) => s.selectedOptions[0].textContent), 'français');
    assert.equal(await page.getAttribute('.leaflet-control-zoom-in', 'aria-label'), 'Zoom avant', 'the zoom buttons too');

    await page.waitForSelector('.initiative-popup .popup-link');
    const popup = page.locator('.initiative-popup');
    assert.equal(await popup.locator('.popup-title').getAttribute('lang'), 'de', 'the German name is marked as German');
    assert.equal(await popup.locator('.popup-link').textContent(), 'Visiter le site web');
    const facts = await popup.locator('.popup-facts').textContent();
    assert.match(facts, /Langues/);
    assert.match(facts, /allemand/, 'the language is named, not coded');
    assert.doesNotMatch(facts, /\bDE\b/);
    await page.screenshot({ path: '../test-output/language-fr.png' });
    assertClean(assert, problems);
  });

  test('lang in the URL wins; the switch changes the language, keeps it in the URL and remembers it', async () => {
    const { page, context, problems } = await open('/#c=52.2300,21.0100&z=6&lang=pl');
    assert.equal(await page.getAttribute('html', 'lang'), 'pl');
    assert.equal(await page.textContent('#filters-heading'), 'Filtry');
    assert.match(await page.textContent('#list-summary'), /w widoku/);
    assert.equal(await page.textContent('#near-mode'), 'Wskaż punkt na mapie');

    await Promise.all([page.waitForEvent('load'), page.selectOption('#language', 'de')]);
    await settle(page);
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await hashParam(page, 'lang'), 'de');
    assert.equal(await hashParam(page, 'c'), '52.2300,21.0100', 'the view is kept');
    assert.equal(await page.textContent('#filters-heading'), 'Filter');
    assert.equal(await page.textContent('#f-target_group-smes + label .option-label'), 'KMU');
    assert.equal(await page.textContent('.legend summary'), 'Legende');
    await page.screenshot({ path: '../test-output/language-de.png' });

    // A later visit without `lang` in the URL keeps the choice.
    const again = await context.newPage();
    await again.goto(suite.server.url + '/');
    await settle(again);
    assert.equal(await again.getAttribute('html', 'lang'), 'de');
    assert.equal(await again.textContent('#near-heading'), 'In der Nähe eines Ortes');
    await again.close();
    assertClean(assert, problems);
  });

  test('an English browser gets English; English names are not marked', async () => {
    const { page, problems } = await open('/#c=47.7994,13.0440&z=12');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await hashParam(page, 'lang'), null, 'the default language adds nothing to the URL');
    assert.equal(await page.textContent('#filters-heading'), 'Filters');
    const marked = await page.$$eval('#list .result-name span[lang]', (spans) => spans.map((s) => s.lang));
    assert.ok(marked.length > 0 && marked.every((code) => code !== 'en'), `names in other languages are marked (${marked})`);
    assertClean(assert, problems);
  });

  test('the Coverage mode speaks the language too: summary, details, legend and where help is missing', async () => {
    const { page, problems } = await open('/#z=4&mode=coverage&level=country&region=DE&lang=de');
    await page.waitForFunction(() => document.querySelectorAll('#coverage-table tbody tr').length > 0, null, { timeout: 20000 });
    await settle(page);
    assert.match(await page.textContent('#coverage-summary'), /passende Initiativen in \d+ Regionen/);
    const detail = await page.textContent('#coverage-detail');
    assert.match(detail, /Einwohner/);
    // The countries are named in German by the API (`lang`), in the details and the table.
    assert.equal(await page.textContent('#coverage-detail h3'), 'Deutschland');
    assert.ok(await page.locator('#coverage-table tbody tr', { hasText: 'Frankreich' }).count(), 'France as Frankreich');
    assert.match(detail, /Nächste passende Initiative/);
    assert.match(await page.textContent('.coverage-legend'), /keine Daten/);
    assert.equal(await page.textContent('#missing-run'), 'Zeigen, wo Hilfe fehlt');
    await page.click('#missing-run');
    await page.waitForFunction(() => document.querySelectorAll('#missing-list li').length > 0, null, { timeout: 15000 });
    assert.match(await page.textContent('#missing-list li'), /Menschen mehr in Reichweite, insgesamt [\d.]+/);
    assert.match(await page.textContent('#missing-summary'), /^[\d.]+ der [\d.]+ Menschen/, 'German digit grouping');
    assertClean(assert, problems);
  });
});
