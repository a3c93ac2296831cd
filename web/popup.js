// popup.js – builds the DOM of an initiative's popup; every data value goes in as text, never HTML.

import { kindColour, swatch } from './legend.js';
import { countryName, formatDate, languageName, markLanguage, t, termLabel } from './i18n.js';

/**
 * Labels for vocabulary slugs in the interface's language (the catalogue's, else the API's);
 * countries by the browser's names for regions; unknown slugs show as themselves.
 */
export function labeller(vocabularies) {
  const maps = {};
  for (const key of ['skill_areas', 'target_groups', 'kinds', 'statuses']) {
    maps[key] = new Map((vocabularies[key] || []).map((term) => [term.slug, term.label]));
  }
  maps.countries = new Map((vocabularies.countries || []).map((c) => [c.code, c.name]));
  return (key, slug) =>
    key === 'countries' ? countryName(slug, maps.countries.get(slug)) : termLabel(key, slug, maps[key]?.get(slug));
}

/** The URL if it is an absolute http(s) URL, otherwise null. */
export function safeHttpUrl(text) {
  if (typeof text !== 'string') return null;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch (_) {
    return null;
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

function row(term, values) {
  const wrap = document.createDocumentFragment();
  if (!values || !values.length) return wrap;
  wrap.append(el('dt', null, term));
  const dd = el('dd');
  const list = el('ul', 'tags');
  for (const v of values) list.append(el('li', 'tag', v));
  dd.append(list);
  wrap.append(dd);
  return wrap;
}

/** A placeholder shown while the full record loads. */
export function loadingContent(name) {
  const box = el('div', 'popup');
  if (name) box.append(el('h3', 'popup-title', name));
  box.append(el('p', 'popup-muted', t('popup.loading')));
  return box;
}

/** A short message in the popup when the record could not be loaded. */
export function errorContent(message) {
  const box = el('div', 'popup');
  box.append(el('p', 'popup-error', message));
  return box;
}

/** The popup for a full Feature from /collections/initiatives/items/{id}. */
export function popupContent(feature, label) {
  const p = feature.properties || {};
  const box = el('article', 'popup');
  box.setAttribute('aria-label', String(p.name ?? t('popup.initiative')));

  const kind = el('p', 'popup-kind');
  const dot = el('span', 'swatch');
  dot.setAttribute('aria-hidden', 'true');
  dot.style.backgroundColor = kindColour(p.kind);
  kind.append(dot, el('span', null, label('kinds', p.kind)));
  if (p.status === 'closed') kind.append(el('span', 'badge badge-closed', t('popup.closed')));
  box.append(kind);

  box.append(markLanguage(el('h3', 'popup-title', p.name ?? ''), p.languages));
  const where = [p.organisation, [p.city, label('countries', p.country)].filter(Boolean).join(', ')]
    .filter(Boolean)
    .join(' · ');
  box.append(el('p', 'popup-org', where));
  // Descriptions are the curators' own words (in English), not the initiative's: not marked.
  if (p.description) box.append(el('p', 'popup-desc', p.description));

  const facts = el('dl', 'popup-facts');
  facts.append(row(t('popup.skillAreas'), (p.skill_areas || []).map((s) => label('skill_areas', s))));
  facts.append(row(t('popup.for'), (p.target_groups || []).map((s) => label('target_groups', s))));
  facts.append(row(t('popup.languages'), (p.languages || []).map((s) => languageName(s))));
  if (p.start || p.end) {
    facts.append(el('dt', null, t('popup.runs')));
    const start = isoDate(p.start) ? formatDate(p.start) : p.start;
    const end = isoDate(p.end) ? formatDate(p.end) : p.end;
    facts.append(el('dd', null, `${start || '…'} – ${end || t('popup.ongoing')}`));
  }
  box.append(facts);

  const href = safeHttpUrl(p.url);
  if (href) {
    const link = el('a', 'popup-link', t('popup.visit'));
    link.href = href;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    box.append(link);
  } else if (p.url) {
    box.append(el('p', 'popup-muted', String(p.url)));
  }
  box.append(evidenceLine(p));
  return box;
}

/** A date the server sends as YYYY-MM-DD, or null for anything else. */
export function isoDate(text) {
  return typeof text === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : null;
}

/**
 * "Verified on <date>" with a link to the page that states the record's facts; either part
 * alone when the record has only one of them; nothing when it has neither.
 */
export function evidenceLine(p) {
  const line = el('p', 'popup-evidence');
  const verified = isoDate(p.verified_at);
  const href = safeHttpUrl(p.evidence_url);
  if (!verified && !href) return document.createDocumentFragment();
  if (verified) {
    line.append(`${t('popup.verifiedOn')} `);
    const time = el('time', null, formatDate(verified));
    time.dateTime = verified;
    line.append(time);
  }
  if (href) {
    if (verified) line.append(' · ');
    const link = el('a', 'popup-evidence-link', verified ? t('popup.evidence') : t('popup.Evidence'));
    link.href = href;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    line.append(link);
  }
  return line;
}

/**
 * The popup of initiatives that cannot be told apart on the map (one position, or closer than
 * the deepest zoom separates): each one a button; `total` may exceed the listed ones.
 */
export function colocatedContent(features, total) {
  const root = el('div', 'popup colocated');
  const shown = features.length;
  root.append(el('h3', 'popup-title', shown < total ? t('popup.hereFirst', { count: total, shown }) : t('popup.here', { count: total })));
  const list = el('ul', 'result-list colocated-list');
  for (const feature of features) {
    const p = feature.properties || {};
    const li = el('li');
    const button = el('button', 'result');
    button.type = 'button';
    button.dataset.id = String(feature.id);
    const title = el('span', 'result-name');
    title.append(swatch(p.kind), markLanguage(el('span', null, p.name ?? ''), p.languages));
    button.append(title, el('span', 'result-meta', [p.organisation, p.city].filter(Boolean).join(' · ')));
    li.append(button);
    list.append(li);
  }
  root.append(list);
  return root;
}
