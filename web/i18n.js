// i18n.js – the interface's language: choosing it, loading its message catalogue, t(key, vars), and names of languages and countries.

/** The languages with a catalogue in web/i18n/ (adding one is adding its file and its code here). */
export const LANGUAGES = ['en', 'fr', 'de', 'es', 'it', 'pl'];
export const DEFAULT_LANGUAGE = 'en';
const STORE_KEY = 'skillsmap.lang';

let current = DEFAULT_LANGUAGE;
let messages = {};
let fallback = {};

/** The first supported language of: the URL's `lang`, the remembered choice, the browser's languages. */
export function chooseLanguage({ requested = null, stored = null, preferred = [] } = {}) {
  const supported = (code) => {
    const base = String(code || '').toLowerCase().split('-')[0];
    return LANGUAGES.includes(base) ? base : null;
  };
  for (const code of [requested, stored, ...preferred]) {
    const found = supported(code);
    if (found) return found;
  }
  return DEFAULT_LANGUAGE;
}

async function fetchCatalogue(lang) {
  // Relative to this module, so that the catalogue comes from the same site version.
  const url = new URL(`./i18n/${lang}.json`, import.meta.url);
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

/** Loads `lang`'s catalogue (English fills any gap) and marks the page with it. */
export async function loadLanguage(lang) {
  current = LANGUAGES.includes(lang) ? lang : DEFAULT_LANGUAGE;
  // Both at once: English fills the gaps of the chosen language.
  const chosen = current === DEFAULT_LANGUAGE ? null : fetchCatalogue(current).catch(() => null);
  fallback = await fetchCatalogue(DEFAULT_LANGUAGE);
  messages = (chosen && (await chosen)) || fallback;
  document.documentElement.lang = current;
  return current;
}

/** Sets catalogues directly (tests in Node). */
export function useCatalogue(lang, catalogue, base = catalogue) {
  current = lang;
  messages = catalogue;
  fallback = base;
}

/** The language of the interface. */
export function language() {
  return current;
}

/** Remembers a choice made with the switch. */
export function remember(lang) {
  try {
    window.localStorage.setItem(STORE_KEY, lang);
  } catch (_) {
    // Storage may be disabled; the URL still carries the language.
  }
}

/** The remembered choice, if any. */
export function remembered() {
  try {
    return window.localStorage.getItem(STORE_KEY);
  } catch (_) {
    return null;
  }
}

// Intl formatters by kind, language and options: making one costs far more than using it, and
// a table or a list formats hundreds of numbers with the same few.
const formatters = new Map();
function formatter(Kind, options) {
  const key = `${Kind.name}|${current}|${JSON.stringify(options ?? {})}`;
  let made = formatters.get(key);
  if (!made) {
    made = new Kind(current, options);
    formatters.set(key, made);
  }
  return made;
}

/** A number in the interface's language. */
export function formatNumber(n, options) {
  return formatter(Intl.NumberFormat, options).format(n);
}

/** A YYYY-MM-DD date in the interface's language. */
export function formatDate(iso) {
  const date = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return iso;
  return formatter(Intl.DateTimeFormat, { dateStyle: 'medium', timeZone: 'UTC' }).format(date);
}

/** Whether the catalogue has `key` (vocabulary terms fall back to the API's label). */
export function has(key) {
  return key in messages || key in fallback;
}

/**
 * The message `key` with `{name}` replaced by `vars.name` (numbers formatted); a message that is
 * an object of plural forms is chosen by `vars.count` with the language's plural rules.
 */
export function t(key, vars = {}) {
  let message = messages[key] ?? fallback[key] ?? key;
  if (message && typeof message === 'object') {
    const form = formatter(Intl.PluralRules).select(Number(vars.count) || 0);
    message = message[form] ?? message.other ?? key;
  }
  return String(message).replace(/\{(\w+)\}/g, (whole, name) => {
    const value = vars[name];
    if (value == null) return whole;
    return typeof value === 'number' ? formatNumber(value) : String(value);
  });
}

/** A vocabulary term's label: the catalogue's `vocab.slug`, else the API's label, else the slug. */
export function termLabel(vocab, slug, apiLabel) {
  const key = `${vocab}.${slug}`;
  return has(key) ? t(key) : (apiLabel ?? String(slug));
}

/** Names of languages or regions (`type`) in the interface's language, or null without them. */
function names(type) {
  try {
    return formatter(Intl.DisplayNames, { type });
  } catch (_) {
    return null;
  }
}

/** A language's name in the interface's language ("de" → "German", "Deutsch", "allemand"…). */
export function languageName(code) {
  try {
    return names('language')?.of(String(code).toLowerCase()) ?? String(code).toUpperCase();
  } catch (_) {
    return String(code).toUpperCase();
  }
}

/** A language's name in itself, for the switch ("Deutsch", "polski"). */
export function autonym(code) {
  try {
    return new Intl.DisplayNames([code], { type: 'language' }).of(code) ?? code;
  } catch (_) {
    return code;
  }
}

/** A country's name in the interface's language, else `fallbackName`. */
export function countryName(code, fallbackName) {
  try {
    const name = names('region')?.of(String(code).toUpperCase());
    return name && name !== String(code).toUpperCase() ? name : (fallbackName ?? String(code));
  } catch (_) {
    return fallbackName ?? String(code);
  }
}

/** Puts an element's text or attributes in the interface's language: data-i18n="key", data-i18n-attr="attr:key;…". */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of node.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) node.setAttribute(attr, t(key));
    }
  }
}

/** Marks `node` as written in the record's language when the record names exactly one. */
export function markLanguage(node, languages) {
  if (Array.isArray(languages) && languages.length === 1 && /^[a-z]{2,3}$/i.test(String(languages[0]))) {
    const code = String(languages[0]).toLowerCase();
    if (code !== current) node.lang = code;
  }
  return node;
}
