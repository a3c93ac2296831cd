// i18n.test.mjs – every message key exists in every language, with the plural forms its rules need and the same placeholders; t() in Node.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { LANGUAGES, chooseLanguage, t, useCatalogue } from '../i18n.js';

const dir = new URL('../i18n/', import.meta.url);
const catalogue = (lang) => JSON.parse(readFileSync(new URL(`${lang}.json`, dir), 'utf8'));
const english = catalogue('en');
const placeholders = (message) => {
  const texts = typeof message === 'object' ? Object.values(message) : [message];
  return [...new Set(texts.flatMap((text) => [...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();
};

test('a catalogue for each language, and a language for each catalogue', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace('.json', '')).sort();
  assert.deepEqual(files, [...LANGUAGES].sort());
});

for (const lang of LANGUAGES) {
  test(`${lang}: every key, its plural forms and placeholders`, () => {
    const messages = catalogue(lang);
    const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
    assert.deepEqual(Object.keys(messages).sort(), Object.keys(english).sort(), 'the same keys as English');
    for (const [key, message] of Object.entries(messages)) {
      if (typeof message === 'object') {
        assert.equal(typeof english[key], 'object', `${key} is plural in English too`);
        for (const form of categories) assert.ok(form in message, `${lang} ${key} has the plural form "${form}"`);
      } else {
        assert.equal(typeof message, 'string', `${key} is a text`);
        assert.ok(message.trim(), `${lang} ${key} is not empty`);
      }
      assert.deepEqual(placeholders(message), placeholders(english[key]), `${lang} ${key} has English's placeholders`);
    }
  });
}

test('every key the page and its modules use is in the catalogue', () => {
  const web = new URL('../', import.meta.url);
  const used = new Set();
  for (const file of readdirSync(web).filter((f) => (f.endsWith('.js') || f.endsWith('.html')) && f !== 'i18n.js')) {
    const text = readFileSync(new URL(file, web), 'utf8');
    for (const m of text.matchAll(/\bt\('([\w.]+)'/g)) used.add(m[1]);
    for (const m of text.matchAll(/data-i18n="([\w.]+)"/g)) used.add(m[1]);
    for (const m of text.matchAll(/data-i18n-attr="((?:[\w-]+:[\w.]+;?)+)"/g)) {
      for (const pair of m[1].split(';')) used.add(pair.split(':')[1].trim());
    }
  }
  assert.ok(used.size > 50, 'keys were found');
  for (const key of used) assert.ok(key in english, `"${key}" is in en.json`);
});

test('t() fills placeholders, formats numbers and follows plural rules', () => {
  useCatalogue('pl', catalogue('pl'), english);
  assert.equal(t('list.count', { count: 1 }), '1 inicjatywa w widoku');
  assert.equal(t('list.count', { count: 3 }), '3 inicjatywy w widoku');
  assert.equal(t('list.count', { count: 5 }), '5 inicjatyw w widoku');
  assert.equal(t('list.count', { count: 1234 }), '1234 inicjatywy w widoku');
  useCatalogue('de', catalogue('de'), english);
  assert.equal(t('list.partial', { shown: 200, count: 1011 }), '200 von 1.011 Initiativen im Ausschnitt');
  assert.equal(t('no.such.key'), 'no.such.key');
  useCatalogue('en', english);
  assert.equal(t('near.somePlace', { shown: 10, count: 12, radius: 50, place: 'Lyon' }), 'Nearest 10 of 12 within 50 km of Lyon');
});

test('the language: the URL, then the remembered choice, then the browser', () => {
  assert.equal(chooseLanguage({ requested: 'pl', stored: 'de', preferred: ['fr'] }), 'pl');
  assert.equal(chooseLanguage({ stored: 'de', preferred: ['fr'] }), 'de');
  assert.equal(chooseLanguage({ preferred: ['sv-SE', 'fr-BE', 'de'] }), 'fr');
  assert.equal(chooseLanguage({ preferred: ['sv'] }), 'en');
});
