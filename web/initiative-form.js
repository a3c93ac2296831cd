// initiative-form.js – the form of one initiative (a proposal, or a curator's correction): fields from
// /vocabularies, checks that mirror the server's, and error messages beside each field. Data only ever
// goes in as text or form values, never as HTML.

import { countryName, language, t, termLabel } from './i18n.js';

/** The fields, each labelled by the catalogue's `form.label.<field>` (also in the error summary). */
const FIELDS = ['name', 'organisation', 'description', 'url', 'evidence_url', 'kind', 'skill_areas', 'target_groups', 'languages', 'country', 'city', 'location', 'start', 'end'];

/** A field's label in the interface's language. */
export function labelOf(field) {
  return t(`form.label.${field}`);
}

// The server's limits (src/dataset.rs), counted in characters.
const LIMITS = { name: 300, organisation: 300, city: 300, description: 5000, url: 2000, evidence_url: 2000 };
const TEXT_FIELDS = ['name', 'organisation', 'description', 'url', 'city'];
const COUNTRY_GROUPS = ['eu', 'efta', 'candidate', 'other_europe'];
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** The form field that a server error path such as "properties.skill_areas[2]" or "geometry.coordinates" is about, or null. */
export function fieldOf(path) {
  const p = String(path || '');
  if (p === 'geometry' || p.startsWith('geometry.') || p.startsWith('geometry[')) return 'location';
  const m = /^properties\.([a-z_]+)/.exec(p);
  return m && FIELDS.includes(m[1]) ? m[1] : null;
}

/** An element with attributes (false/null ones left out) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** `text` split at `{name}`, with `node` in its place: a sentence around an element. */
export function around(text, name, node) {
  const [before, after = ''] = text.split(`{${name}}`);
  return [before, node, after].filter((part) => part !== '');
}

/** The URL if it is an absolute http(s) URL with a host, otherwise null. */
export function httpUrl(text) {
  if (typeof text !== 'string') return null;
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname ? url.href : null;
  } catch (_) {
    return null;
  }
}

/** A decimal number typed by a person ("13.4", "13,4", " -3 "), null when empty, NaN when not a number. */
export function parseCoordinate(text) {
  const t = String(text ?? '').trim().replace(',', '.');
  if (!t) return null;
  return /^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(t) ? Number(t) : NaN;
}

/** Language codes from "de, en fr": lower-cased, without repeats. */
export function parseLanguages(text) {
  const codes = String(text ?? '')
    .split(/[\s,;]+/)
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean);
  return [...new Set(codes)];
}

const chars = (text) => [...text].length;

/** Client-side checks of form values, like the server's; returns [{field, message}]. */
export function checkValues(v) {
  const errors = [];
  const add = (field, message) => errors.push({ field, message });
  for (const field of TEXT_FIELDS) {
    const value = v[field];
    const label = labelOf(field);
    if (!value) add(field, t('form.error.required', { label }));
    else if (chars(value) > LIMITS[field]) add(field, t('form.error.tooLong', { label, limit: LIMITS[field] }));
    else if (CONTROL.test(value)) add(field, t('form.error.control', { label }));
  }
  if (v.url && !errors.some((e) => e.field === 'url') && !httpUrl(v.url)) {
    add('url', t('form.error.url'));
  }
  if (v.evidence_url) {
    if (chars(v.evidence_url) > LIMITS.evidence_url) add('evidence_url', t('form.error.tooLong', { label: labelOf('evidence_url'), limit: LIMITS.evidence_url }));
    else if (!httpUrl(v.evidence_url)) add('evidence_url', t('form.error.evidence_url'));
  }
  if (!v.kind) add('kind', t('form.error.kind'));
  if (!v.country) add('country', t('form.error.country'));
  if (!v.skill_areas.length) add('skill_areas', t('form.error.skill_areas'));
  if (!v.target_groups.length) add('target_groups', t('form.error.target_groups'));
  if (!v.languages.length) add('languages', t('form.error.languages'));
  else {
    const bad = v.languages.filter((c) => !/^[a-z]{2}$/.test(c));
    if (bad.length) add('languages', t('form.error.languageCodes', { codes: bad.join(', ') }));
  }
  if (v.lon == null && v.lat == null) {
    add('location', t('form.error.locationMissing'));
  } else if (v.lon == null || v.lat == null || Number.isNaN(v.lon) || Number.isNaN(v.lat)) {
    add('location', t('form.error.locationNumbers'));
  } else if (v.lon < -180 || v.lon > 180) {
    add('location', t('form.error.lon'));
  } else if (v.lat < -90 || v.lat > 90) {
    add('location', t('form.error.lat'));
  }
  if (v.startBad) add('start', t('form.error.date'));
  if (v.endBad) add('end', t('form.error.date'));
  if (v.start && v.end && v.end < v.start) add('end', t('form.error.endBeforeStart'));
  return errors;
}

/** The form; `form` is its element. `onLocation(lon, lat)` is called when valid coordinates are typed. */
export class InitiativeForm {
  constructor(vocabularies, { prefix = 'initiative', submitLabel = t('form.send'), onLocation = null } = {}) {
    this.prefix = prefix;
    this.onLocation = onLocation;
    this.fields = {}; // field -> {wrap, controls: [elements], error}
    this.form = h('form', { class: 'initiative-form', novalidate: true });
    this.summary = h('div', { class: 'form-summary', role: 'alert', tabindex: '-1', hidden: true });
    const star = h('span', { class: 'required', 'aria-hidden': 'true' }, '*');
    this.form.append(this.summary, h('p', { class: 'form-note' }, ...around(t('form.required'), 'star', star)));

    this.form.append(
      this.textField('name', { hint: t('form.hint.name') }),
      this.textField('organisation', { hint: t('form.hint.organisation') }),
      this.textField('description', { multiline: true, hint: t('form.hint.description') }),
      this.textField('url', { type: 'url', hint: t('form.hint.url'), placeholder: 'https://' }),
      this.textField('evidence_url', {
        type: 'url',
        required: false,
        hint: t('form.hint.evidence_url'),
        placeholder: 'https://',
      }),
      this.selectField('kind', (vocabularies.kinds || []).map((k) => [k.slug, termLabel('kinds', k.slug, k.label)]), t('form.chooseKind')),
      this.checkboxField('skill_areas', vocabularies.skill_areas || [], t('form.hint.atLeastOne')),
      this.checkboxField('target_groups', vocabularies.target_groups || [], t('form.hint.atLeastOne')),
      this.textField('languages', { hint: t('form.hint.languages'), autocomplete: 'off' }),
      this.countryField(vocabularies.countries || []),
      this.textField('city', { hint: t('form.hint.city') }),
      this.locationField(),
      this.datesField(),
    );
    this.submitButton = h('button', { type: 'submit', class: 'button primary' }, submitLabel);
    this.actions = h('div', { class: 'form-actions' }, this.submitButton);
    this.form.append(this.actions);
  }

  id(field, suffix = '') {
    return `${this.prefix}-${field}${suffix}`;
  }

  /** A wrapper with label, hint, control(s) and an empty error line. */
  wrap(field, { hint, required = true, group = false }, ...controls) {
    const error = h('p', { class: 'field-error', id: this.id(field, '-error'), hidden: true });
    const hintNode = hint ? h('p', { class: 'hint', id: this.id(field, '-hint') }, hint) : null;
    const title = [labelOf(field), required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null];
    const wrap = group
      ? h('fieldset', { class: 'field', 'data-field': field }, h('legend', {}, ...title))
      : h('div', { class: 'field', 'data-field': field }, h('label', { for: this.id(field) }, ...title));
    wrap.append(...[hintNode, ...controls, error].filter(Boolean));
    const describedBy = [hintNode ? hintNode.id : null, error.id].filter(Boolean).join(' ');
    if (group) wrap.setAttribute('aria-describedby', describedBy);
    this.fields[field] = { wrap, error, controls: [], describedBy };
    return wrap;
  }

  register(field, control) {
    control.setAttribute('aria-describedby', this.fields[field].describedBy);
    this.fields[field].controls.push(control);
    return control;
  }

  textField(field, { multiline = false, type = 'text', hint, placeholder, autocomplete, required = true }) {
    const attrs = {
      id: this.id(field),
      name: field,
      maxlength: LIMITS[field] ? String(LIMITS[field]) : null,
      placeholder,
      autocomplete,
      required,
      'aria-required': required ? 'true' : null,
      spellcheck: type === 'url' ? 'false' : null,
    };
    const control = multiline ? h('textarea', { ...attrs, rows: '5' }) : h('input', { ...attrs, type });
    const wrap = this.wrap(field, { hint, required }, control);
    this.register(field, control);
    return wrap;
  }

  selectField(field, options, empty) {
    const select = h('select', { id: this.id(field), name: field, required: true, 'aria-required': 'true' }, h('option', { value: '' }, empty));
    for (const [value, label] of options) select.append(h('option', { value }, label));
    const wrap = this.wrap(field, {}, select);
    this.register(field, select);
    return wrap;
  }

  countryField(countries) {
    const select = h('select', { id: this.id('country'), name: 'country', required: true, 'aria-required': 'true' }, h('option', { value: '' }, t('form.chooseCountry')));
    const named = countries.map((c) => ({ ...c, shown: countryName(c.code, c.name) }));
    const sorted = named.sort((a, b) => a.shown.localeCompare(b.shown, language()));
    const known = new Set(COUNTRY_GROUPS);
    for (const group of [...COUNTRY_GROUPS, '']) {
      const members = sorted.filter((c) => (group ? c.group === group : !known.has(c.group)));
      if (!members.length) continue;
      const optgroup = h('optgroup', { label: t(`form.group.${group || 'other'}`) });
      for (const c of members) optgroup.append(h('option', { value: c.code }, `${c.shown} (${c.code})`));
      select.append(optgroup);
    }
    const wrap = this.wrap('country', {}, select);
    this.register('country', select);
    return wrap;
  }

  checkboxField(field, terms, hint) {
    const list = h('ul', { class: 'choice-list' });
    const wrap = this.wrap(field, { hint, group: true }, list);
    for (const term of terms) {
      const id = this.id(field, `-${term.slug}`);
      const box = h('input', { type: 'checkbox', id, name: field, value: term.slug });
      list.append(h('li', {}, box, h('label', { for: id }, termLabel(field, term.slug, term.label))));
      this.fields[field].controls.push(box);
    }
    return wrap;
  }

  locationField() {
    const lon = h('input', { id: this.id('lon'), name: 'lon', type: 'text', inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false', placeholder: t('form.example', { value: '13.40' }) });
    const lat = h('input', { id: this.id('lat'), name: 'lat', type: 'text', inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false', placeholder: t('form.example', { value: '52.52' }) });
    this.locationTools = h('div', { class: 'location-tools' });
    const pair = h(
      'div',
      { class: 'coordinates' },
      h('div', {}, h('label', { for: lon.id }, t('form.lon')), lon),
      h('div', {}, h('label', { for: lat.id }, t('form.lat')), lat),
    );
    const wrap = this.wrap(
      'location',
      { hint: t('form.hint.location'), group: true },
      this.locationTools,
      pair,
    );
    this.register('location', lon);
    this.register('location', lat);
    this.lon = lon;
    this.lat = lat;
    const typed = () => {
      const x = parseCoordinate(lon.value);
      const y = parseCoordinate(lat.value);
      if (this.onLocation && Number.isFinite(x) && Number.isFinite(y) && Math.abs(x) <= 180 && Math.abs(y) <= 90) {
        this.onLocation(x, y);
      }
    };
    lon.addEventListener('change', typed);
    lat.addEventListener('change', typed);
    return wrap;
  }

  datesField() {
    const start = h('input', { id: this.id('start'), name: 'start', type: 'date' });
    const end = h('input', { id: this.id('end'), name: 'end', type: 'date' });
    const startWrap = this.wrap('start', { required: false }, start);
    this.register('start', start);
    const endWrap = this.wrap('end', { required: false, hint: t('form.hint.end') }, end);
    this.register('end', end);
    return h('div', { class: 'dates' }, startWrap, endWrap);
  }

  control(field) {
    return this.fields[field].controls[0];
  }

  /** The values as typed (trimmed, parsed). */
  values() {
    const v = {};
    for (const field of TEXT_FIELDS) v[field] = this.control(field).value.trim();
    v.evidence_url = this.control('evidence_url').value.trim();
    v.kind = this.control('kind').value;
    v.country = this.control('country').value;
    for (const field of ['skill_areas', 'target_groups']) {
      v[field] = this.fields[field].controls.filter((c) => c.checked).map((c) => c.value);
    }
    v.languages = parseLanguages(this.control('languages').value);
    v.lon = parseCoordinate(this.lon.value);
    v.lat = parseCoordinate(this.lat.value);
    for (const field of ['start', 'end']) {
      const input = this.control(field);
      v[field] = input.value;
      v[`${field}Bad`] = !input.value && Boolean(input.validity && input.validity.badInput);
    }
    return v;
  }

  /** Client-side checks; shows the problems and returns false when there are any. */
  check() {
    const errors = checkValues(this.values());
    if (errors.length) this.showErrors(errors);
    else this.clearErrors();
    return errors.length === 0;
  }

  /**
   * The GeoJSON Feature of the form. With `base` (a Feature), its id and other members are kept
   * and the form's values replace its properties' values; empty dates are removed.
   */
  feature(base = null) {
    const v = this.values();
    const round = (x) => Math.round(x * 1e6) / 1e6;
    const properties = { ...((base && base.properties) || {}) };
    for (const field of [...TEXT_FIELDS, 'kind', 'country', 'skill_areas', 'target_groups', 'languages']) {
      properties[field] = v[field];
    }
    for (const field of ['start', 'end', 'evidence_url']) {
      if (v[field]) properties[field] = v[field];
      else delete properties[field];
    }
    const feature = { type: 'Feature' };
    if (base && base.id != null) feature.id = base.id;
    feature.geometry = { type: 'Point', coordinates: [round(v.lon), round(v.lat)] };
    feature.properties = properties;
    return feature;
  }

  /** Puts a Feature's values into the form. */
  fill(feature) {
    const p = (feature && feature.properties) || {};
    for (const field of [...TEXT_FIELDS, 'evidence_url']) this.control(field).value = p[field] == null ? '' : String(p[field]);
    this.control('kind').value = String(p.kind ?? '');
    this.control('country').value = String(p.country ?? '');
    for (const field of ['skill_areas', 'target_groups']) {
      const chosen = new Set(Array.isArray(p[field]) ? p[field].map(String) : []);
      for (const box of this.fields[field].controls) box.checked = chosen.has(box.value);
    }
    this.control('languages').value = Array.isArray(p.languages) ? p.languages.join(', ') : '';
    this.control('start').value = typeof p.start === 'string' ? p.start : '';
    this.control('end').value = typeof p.end === 'string' ? p.end : '';
    const c = feature && feature.geometry && feature.geometry.coordinates;
    if (Array.isArray(c) && c.length >= 2) this.setLocation(Number(c[0]), Number(c[1]));
    else this.setLocation(null, null);
    this.clearErrors();
  }

  /** Shows a point placed on a map in the coordinate fields. */
  setLocation(lon, lat) {
    const ok = Number.isFinite(lon) && Number.isFinite(lat);
    this.lon.value = ok ? String(Math.round(lon * 1e5) / 1e5) : '';
    this.lat.value = ok ? String(Math.round(lat * 1e5) / 1e5) : '';
    if (ok) this.setFieldError('location', null);
  }

  setFieldError(field, message) {
    const f = this.fields[field];
    if (!f) return;
    f.error.textContent = message || '';
    f.error.hidden = !message;
    f.wrap.classList.toggle('invalid', Boolean(message));
    for (const c of f.controls) {
      if (message) c.setAttribute('aria-invalid', 'true');
      else c.removeAttribute('aria-invalid');
    }
  }

  clearErrors() {
    for (const field of Object.keys(this.fields)) this.setFieldError(field, null);
    this.summary.replaceChildren();
    this.summary.hidden = true;
  }

  /** A message about the whole form (not one field), e.g. "too many requests". */
  showMessage(text) {
    this.summary.replaceChildren(h('p', {}, text));
    this.summary.hidden = false;
    this.summary.focus();
  }

  /**
   * Shows errors [{field, message}] – from the client's checks or the server's 400 answer – beside
   * their fields, and all of them in a summary at the top; focuses the first field concerned.
   */
  showErrors(errors, intro = t('form.correct')) {
    this.clearErrors();
    const byField = new Map();
    const list = h('ul');
    for (const { field: path, message } of errors) {
      const field = fieldOf(path) ?? (FIELDS.includes(path) ? path : null);
      if (field) {
        if (!byField.has(field)) byField.set(field, []);
        byField.get(field).push(message);
        const jump = h('button', { type: 'button', class: 'link-button' }, labelOf(field));
        jump.addEventListener('click', () => this.focusField(field));
        list.append(h('li', {}, jump, `: ${message}`));
      } else {
        list.append(h('li', {}, path ? `${path}: ${message}` : message));
      }
    }
    for (const [field, messages] of byField) this.setFieldError(field, messages.join(' '));
    this.summary.replaceChildren(h('p', {}, intro), list);
    this.summary.hidden = false;
    const first = Object.keys(this.fields).find((f) => byField.has(f));
    if (first) this.focusField(first);
    else this.summary.focus();
  }

  focusField(field) {
    const control = this.fields[field].controls[0];
    if (!control) return;
    control.focus();
    control.scrollIntoView({ block: 'center', behavior: 'auto' });
  }

  setBusy(busy, label = null) {
    this.submitButton.disabled = busy;
    this.form.setAttribute('aria-busy', busy ? 'true' : 'false');
    if (label) this.submitButton.textContent = label;
  }

  reset() {
    this.form.reset();
    this.clearErrors();
  }
}
