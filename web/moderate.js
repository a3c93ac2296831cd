// moderate.js – the curators' page: sign in with a token (kept in sessionStorage only), review proposals
// (approve, correct then approve, reject with a reason), read the audit log, edit or delete a published
// initiative (PATCH/DELETE with If-Match). Everything from the data goes into the page as text; every
// text of the page's own is in the visitor's language (the map page's choice: `#lang=`, the remembered
// switch, the browser's languages).

import { api } from './api.js';
import { labeller } from './popup.js';
import { pointMap, removeMaps } from './point-map.js';
import { auditLog } from './audit-log.js';
import { InitiativeForm, around, h, httpUrl } from './initiative-form.js';
import { send } from './requests.js';
import { DEFAULT_LANGUAGE, formatDate, formatNumber, language, languageName, t } from './i18n.js';
import { setupLanguage } from './language.js';

const TOKEN_KEY = 'skillsmap.curator-token';
const PAGE = 50;
const REASON_MAX = 2000;
const EMPTY_VOCABULARIES = { skill_areas: [], target_groups: [], kinds: [], countries: [] };

const $ = (id) => document.getElementById(id);

let token = null;
let vocabularies = EMPTY_VOCABULARIES;
let label = labeller(EMPTY_VOCABULARIES);
let view = 'submissions';
let status = 'pending';
let limit = PAGE;
let listRequest = 0; // the newest list request; older answers are dropped
const audit = auditLog({
  rows: $('audit-rows'),
  summary: $('audit-summary'),
  more: $('audit-more'),
  call,
  timeNode,
});

// ---------- token and requests ----------

function storedToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY);
  } catch (_) {
    return null;
  }
}

function storeToken(value) {
  try {
    if (value) window.sessionStorage.setItem(TOKEN_KEY, value);
    else window.sessionStorage.removeItem(TOKEN_KEY);
  } catch (_) {
    // Storage unavailable: the token then lives in this page only.
  }
}

/** A curator request; a 401 signs out (the token is wrong or was revoked). */
async function call(method, path, options = {}) {
  try {
    return await send(method, path, { ...options, token });
  } catch (err) {
    if (err.status === 401 && token) signOut(t('moderate.revoked'));
    throw err;
  }
}

function notice(text) {
  const box = $('notice');
  box.textContent = text || '';
  box.hidden = !text;
}

// ---------- small display helpers ----------

function formatTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return String(iso ?? '');
  return new Intl.DateTimeFormat(language(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

function timeNode(iso) {
  return h('time', { datetime: String(iso ?? '') }, formatTime(iso));
}

function safeId(text) {
  return String(text).toLowerCase().replace(/[^a-z0-9_-]/g, '-');
}

/** A link to the map, centred on the point with the initiative's popup open. */
function mapLink(id, coordinates, text) {
  const [lon, lat] = Array.isArray(coordinates) ? coordinates.map(Number) : [NaN, NaN];
  const centre = Number.isFinite(lat) && Number.isFinite(lon) ? `c=${lat.toFixed(4)},${lon.toFixed(4)}&z=10&` : '';
  const link = h('a', { href: `/#${centre}sel=${encodeURIComponent(id)}` }, text);
  link.target = '_blank';
  link.rel = 'noopener';
  return link;
}

function websiteNode(url) {
  const href = httpUrl(url);
  if (href) {
    const link = h('a', { href, class: 'website' }, String(url));
    link.target = '_blank';
    link.rel = 'noopener noreferrer nofollow';
    return link;
  }
  return h('span', { class: 'unsafe-url' }, t('moderate.notHttp', { url: String(url ?? '') }));
}

function facts(rows) {
  const dl = h('dl', { class: 'facts' });
  for (const [term, value] of rows) {
    if (value == null || value === '' || (Array.isArray(value) && !value.length)) continue;
    const dd = h('dd');
    if (Array.isArray(value)) dd.append(h('ul', { class: 'tags' }, value.map((v) => h('li', { class: 'tag' }, v))));
    else if (value instanceof Node) dd.append(value);
    else dd.textContent = String(value);
    dl.append(h('dt', {}, term), dd);
  }
  return dl;
}

function terms(values, key) {
  return Array.isArray(values) ? values.map((v) => label(key, v)) : [];
}

/** A correction form for a feature, with a small map to move the point. */
function correctionForm(feature, prefix, submitLabel) {
  let mini = null;
  const form = new InitiativeForm(vocabularies, {
    prefix,
    submitLabel,
    onLocation: (lon, lat) => mini && mini.move(lon, lat),
  });
  form.fill(feature);
  const box = h('div', { class: 'mini-map' });
  form.locationTools.append(box);
  // The map needs its container in the page to measure it.
  form.attachMap = () => {
    mini = pointMap(box, feature && feature.geometry && feature.geometry.coordinates, (lon, lat) => form.setLocation(lon, lat));
  };
  return form;
}

// ---------- sign in and out ----------

async function signIn(event) {
  event.preventDefault();
  const input = $('token');
  const error = $('signin-error');
  const offered = input.value.trim();
  error.hidden = true;
  input.removeAttribute('aria-invalid');
  if (!offered) {
    error.textContent = t('moderate.signin.empty');
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  const button = $('signin-form').querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await send('GET', '/submissions?status=pending&limit=1', { token: offered });
    token = offered;
    storeToken(offered);
    input.value = '';
    notice('');
    // The form that had focus is hidden now: focus goes to the tab of what is shown, so
    // keyboard and screen-reader users carry on from there instead of from <body>.
    enterWorkspace(true);
  } catch (err) {
    error.textContent = err.status === 401 ? t('moderate.signin.wrong') : t('moderate.signin.failed', { error: err.message });
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    input.select();
  } finally {
    button.disabled = false;
  }
}

function signOut(message = t('moderate.signedOut')) {
  token = null;
  storeToken(null);
  listRequest += 1;
  removeMaps();
  $('submissions').replaceChildren();
  audit.clear();
  $('edit-area').replaceChildren();
  $('workspace').hidden = true;
  $('session').hidden = true;
  $('signin').hidden = false;
  notice(message);
  $('token').focus();
}

function enterWorkspace(focus = false) {
  $('signin').hidden = true;
  $('session').hidden = false;
  $('workspace').hidden = false;
  showView('submissions', 'pending', focus);
}

// ---------- tabs ----------

function tabs() {
  return [...document.querySelectorAll('.tabs [role="tab"]')];
}

function showView(nextView, nextStatus = status, focus = false) {
  view = nextView;
  if (nextView === 'submissions') status = nextStatus;
  for (const tab of tabs()) {
    const selected = tab.dataset.view === view && (view !== 'submissions' || tab.dataset.status === status);
    tab.setAttribute('aria-selected', selected ? 'true' : 'false');
    tab.tabIndex = selected ? 0 : -1;
    if (selected && focus) tab.focus();
    if (selected && view === 'submissions') $('view-submissions').setAttribute('aria-labelledby', tab.id);
  }
  $('view-submissions').hidden = view !== 'submissions';
  $('view-audit').hidden = view !== 'audit';
  $('view-edit').hidden = view !== 'edit';
  if (view === 'submissions') {
    limit = PAGE;
    loadSubmissions();
  } else if (view === 'audit' && audit.isEmpty()) {
    audit.load();
  } else if (view === 'edit' && !$('edit-area').childElementCount) {
    $('edit-id').focus();
  }
}

function bindTabs() {
  for (const tab of tabs()) {
    tab.addEventListener('click', () => showView(tab.dataset.view, tab.dataset.status || status));
    tab.addEventListener('keydown', (event) => {
      const all = tabs();
      const i = all.indexOf(tab);
      let next = null;
      if (event.key === 'ArrowRight') next = all[(i + 1) % all.length];
      else if (event.key === 'ArrowLeft') next = all[(i - 1 + all.length) % all.length];
      else if (event.key === 'Home') next = all[0];
      else if (event.key === 'End') next = all[all.length - 1];
      if (!next) return;
      event.preventDefault();
      showView(next.dataset.view, next.dataset.status || status, true);
    });
  }
}

// ---------- submissions ----------

// Per status: the list's summary (all shown, some of more, none) and the status's name. Whole
// sentences, so that each language can agree the words with "proposal" as it needs.
const STATUS_TEXTS = {
  pending: { all: 'moderate.list.pending', some: 'moderate.list.pendingMore', none: 'moderate.list.nonePending', name: 'moderate.status.pending' },
  approved: { all: 'moderate.list.approved', some: 'moderate.list.approvedMore', none: 'moderate.list.noneApproved', name: 'moderate.status.approved' },
  rejected: { all: 'moderate.list.rejected', some: 'moderate.list.rejectedMore', none: 'moderate.list.noneRejected', name: 'moderate.status.rejected' },
};

async function loadSubmissions() {
  const mine = ++listRequest;
  const summary = $('submissions-summary');
  const list = $('submissions');
  summary.textContent = t('moderate.loading');
  list.setAttribute('aria-busy', 'true');
  try {
    const { data } = await call('GET', `/submissions?status=${encodeURIComponent(status)}&limit=${limit + 1}`);
    if (mine !== listRequest) return;
    const all = (data && Array.isArray(data.submissions) ? data.submissions : []).filter((s) => s && typeof s === 'object');
    const shown = all.slice(0, limit);
    removeMaps(list);
    list.replaceChildren(...shown.map(submissionItem));
    $('submissions-more').hidden = all.length <= limit;
    const texts = STATUS_TEXTS[status];
    const n = shown.length;
    summary.textContent = n ? t(all.length > limit ? texts.some : texts.all, { count: n }) : t(texts.none);
    if (status === 'pending') setPendingCount(all.length > limit ? `${formatNumber(limit)}+` : String(n));
  } catch (err) {
    if (mine !== listRequest) return;
    summary.textContent = t('moderate.list.failed', { error: err.message });
  } finally {
    if (mine === listRequest) list.setAttribute('aria-busy', 'false');
  }
}

function setPendingCount(text) {
  const badge = $('pending-count');
  badge.textContent = text === '0' ? '' : text;
}

function bumpPending() {
  const badge = $('pending-count');
  const n = Number(badge.textContent);
  if (Number.isFinite(n) && n > 0) setPendingCount(String(n - 1));
}

function submissionItem(s) {
  const feature = s.feature && typeof s.feature === 'object' ? s.feature : {};
  const p = feature.properties && typeof feature.properties === 'object' ? feature.properties : {};
  const coordinates = feature.geometry && Array.isArray(feature.geometry.coordinates) ? feature.geometry.coordinates : null;
  const item = h('li', { class: 'submission', 'data-id': String(s.id ?? ''), 'data-status': String(s.status ?? '') });
  const details = h('details');
  const where = [p.city, p.country ? `${label('countries', p.country)} (${p.country})` : null].filter(Boolean).join(', ');
  const summary = h(
    'summary',
    {},
    h('span', { class: 'sub-name' }, String(p.name ?? t('moderate.noName'))),
    h('span', { class: 'sub-meta' }, [p.organisation, where, p.kind ? label('kinds', p.kind) : null].filter(Boolean).join(' · ')),
    h('span', { class: 'sub-when' }, ...around(t('moderate.proposed', { client: String(s.client ?? t('moderate.unknownClient')) }), 'when', timeNode(s.submitted_at))),
  );
  details.append(summary);

  const body = h('div', { class: 'sub-body' });
  const info = h('div', { class: 'sub-info' });
  const degrees = (v) => formatNumber(Number(v), { maximumFractionDigits: 6 });
  const day = (iso) => (iso ? formatDate(String(iso)) : '…');
  info.append(
    facts([
      [t('form.label.name'), p.name],
      [t('form.label.organisation'), p.organisation],
      [t('form.label.description'), p.description],
      [t('form.label.url'), p.url != null ? websiteNode(p.url) : null],
      [t('form.label.kind'), p.kind ? label('kinds', p.kind) : null],
      [t('form.label.skill_areas'), terms(p.skill_areas, 'skill_areas')],
      [t('form.label.target_groups'), terms(p.target_groups, 'target_groups')],
      // Named in the visitor's language, with the code the data holds.
      [t('form.label.languages'), Array.isArray(p.languages) ? p.languages.map((c) => `${languageName(c)} (${String(c).toUpperCase()})`) : null],
      [t('form.label.country'), where ? `${label('countries', p.country)} (${p.country})` : null],
      [t('form.label.city'), p.city],
      [
        t('moderate.fact.coordinates'),
        coordinates ? t('moderate.fact.coordinatesValue', { lat: degrees(coordinates[1]), lon: degrees(coordinates[0]) }) : t('moderate.fact.none'),
      ],
      [t('popup.runs'), p.start || p.end ? `${day(p.start)} – ${p.end ? day(p.end) : t('popup.ongoing')}` : null],
      [t('moderate.fact.proposedId'), feature.id],
      [t('moderate.fact.proposal'), s.id],
      [t('moderate.fact.status'), STATUS_TEXTS[s.status] ? t(STATUS_TEXTS[s.status].name) : s.status],
      [t('moderate.fact.decidedBy'), s.decided_by],
      [t('moderate.fact.decided'), s.decided_at ? timeNode(s.decided_at) : null],
      [t('moderate.fact.reason'), s.reason],
      [
        t('moderate.fact.publishedAs'),
        s.initiative_id && s.status === 'approved' ? mapLink(s.initiative_id, coordinates, String(s.initiative_id)) : null,
      ],
    ]),
  );
  // A group, not an image: the map holds its zoom buttons (axe: nested-interactive).
  const mapBox = h('div', { class: 'mini-map', 'aria-label': t('moderate.map.label'), role: 'group' });
  body.append(h('div', { class: 'sub-columns' }, info, mapBox));
  let mapped = false;
  details.addEventListener('toggle', () => {
    if (details.open && !mapped && coordinates) {
      mapped = true;
      pointMap(mapBox, coordinates);
    }
  });
  if (!coordinates) mapBox.hidden = true;

  const result = h('div', { class: 'sub-result', role: 'status' });
  const work = h('div', { class: 'sub-work' });
  body.append(result, work);
  if (s.status === 'pending') body.append(pendingActions(s, feature, item, result, work));
  details.append(body);
  item.append(details);
  return item;
}

/** The Approve / Edit then approve / Reject buttons of a pending proposal. */
function pendingActions(s, feature, item, result, work) {
  const approve = h('button', { type: 'button', class: 'button primary', 'data-action': 'approve' }, t('moderate.approve'));
  const edit = h('button', { type: 'button', class: 'button', 'data-action': 'edit' }, t('moderate.editApprove'));
  const reject = h('button', { type: 'button', class: 'button danger', 'data-action': 'reject' }, t('moderate.reject'));
  const actions = h('div', { class: 'form-actions sub-actions' }, approve, edit, reject);
  const path = `/submissions/${encodeURIComponent(s.id)}`;

  // `parts`: the message, as text and nodes.
  const decided = (parts) => {
    removeMaps(work);
    work.replaceChildren();
    actions.remove();
    item.dataset.status = 'decided';
    item.classList.add('decided');
    result.replaceChildren(h('p', { class: 'ok' }, ...parts));
    bumpPending();
  };
  const failed = (err) => {
    result.replaceChildren(h('p', { class: 'error' }, err.message));
    if (err.status === 409) actions.remove();
  };
  const busy = (on) => {
    for (const b of actions.querySelectorAll('button')) b.disabled = on;
  };

  approve.addEventListener('click', async () => {
    busy(true);
    result.replaceChildren();
    try {
      const { data } = await call('POST', `${path}/approve`);
      const id = data && data.id != null ? String(data.id) : String(s.initiative_id ?? '');
      decided(around(t('moderate.approvedAs'), 'link', mapLink(id, data && data.geometry && data.geometry.coordinates, id)));
    } catch (err) {
      if (err.status === 400 && err.errors.length) {
        result.replaceChildren(h('p', { class: 'error' }, t('moderate.approveInvalid', { error: err.message })));
      } else failed(err);
    } finally {
      busy(false);
    }
  });

  edit.addEventListener('click', () => {
    result.replaceChildren();
    removeMaps(work);
    const form = correctionForm(feature, `fix-${safeId(s.id)}`, t('moderate.correct.submit'));
    const cancel = h('button', { type: 'button', class: 'button' }, t('moderate.cancel'));
    cancel.addEventListener('click', () => {
      removeMaps(work);
      work.replaceChildren();
      edit.focus();
    });
    form.actions.append(cancel);
    form.form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!form.check()) return;
      form.setBusy(true);
      try {
        const { data } = await call('POST', `${path}/approve`, { body: form.feature(feature), contentType: 'application/geo+json' });
        const id = data && data.id != null ? String(data.id) : String(feature.id ?? '');
        decided(around(t('moderate.correctedAs'), 'link', mapLink(id, data && data.geometry && data.geometry.coordinates, id)));
      } catch (err) {
        if (err.status === 400 && err.errors.length) form.showErrors(err.errors, t('moderate.correct.problems'));
        else form.showMessage(err.message);
        if (err.status === 409) actions.remove();
      } finally {
        form.setBusy(false);
      }
    });
    work.replaceChildren(h('h3', {}, t('moderate.correct.heading')), form.form);
    form.attachMap();
    form.focusField('name');
  });

  reject.addEventListener('click', () => {
    result.replaceChildren();
    removeMaps(work);
    const fieldId = `reason-${safeId(s.id)}`;
    const reason = h('textarea', { id: fieldId, rows: '3', maxlength: String(REASON_MAX), class: 'text-input', 'aria-describedby': `${fieldId}-error` });
    const error = h('p', { class: 'field-error', id: `${fieldId}-error`, hidden: true });
    const confirm = h('button', { type: 'submit', class: 'button danger confirm' }, t('moderate.reject.submit'));
    const cancel = h('button', { type: 'button', class: 'button' }, t('moderate.cancel'));
    const form = h(
      'form',
      { class: 'reject-form', novalidate: true },
      h('label', { for: fieldId }, t('moderate.reject.reason')),
      reason,
      error,
      h('div', { class: 'form-actions' }, confirm, cancel),
    );
    cancel.addEventListener('click', () => {
      work.replaceChildren();
      reject.focus();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = reason.value.trim();
      if (!text) {
        error.textContent = t('moderate.reject.empty');
        error.hidden = false;
        reason.setAttribute('aria-invalid', 'true');
        reason.focus();
        return;
      }
      confirm.disabled = true;
      try {
        await call('POST', `${path}/reject`, { body: { reason: text }, contentType: 'application/json' });
        decided([t('moderate.rejected')]);
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        if (err.status === 409) actions.remove();
      } finally {
        confirm.disabled = false;
      }
    });
    work.replaceChildren(form);
    reason.focus();
  });
  return actions;
}

// ---------- edit a published initiative ----------

/** A JSON Merge Patch (RFC 7396) of geometry and properties from `before` to `after`. */
export function mergePatch(before, after) {
  const patch = {};
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(before.geometry, after.geometry)) patch.geometry = after.geometry;
  const old = before.properties || {};
  const now = after.properties || {};
  const properties = {};
  for (const key of new Set([...Object.keys(old), ...Object.keys(now)])) {
    if (key === 'updated_at') continue;
    if (!(key in now)) properties[key] = null;
    else if (!same(old[key], now[key])) properties[key] = now[key];
  }
  if (Object.keys(properties).length) patch.properties = properties;
  return patch;
}

async function openInitiative(event) {
  if (event) event.preventDefault();
  const input = $('edit-id');
  const error = $('edit-find-error');
  const id = input.value.trim();
  error.hidden = true;
  if (!id) {
    error.textContent = t('moderate.edit.empty');
    error.hidden = false;
    input.focus();
    return;
  }
  const area = $('edit-area');
  removeMaps(area);
  area.replaceChildren(h('p', { class: 'summary' }, t('moderate.loading')));
  try {
    const { data, etag } = await send('GET', `/collections/initiatives/items/${encodeURIComponent(id)}`);
    showEditor(data, etag);
  } catch (err) {
    area.replaceChildren();
    error.textContent = err.status === 404 ? t('moderate.edit.notFound', { id }) : err.message;
    error.hidden = false;
    input.focus();
  }
}

function showEditor(feature, etag) {
  const area = $('edit-area');
  removeMaps(area);
  const state = { feature, etag };
  const id = String(feature.id ?? '');
  const p = feature.properties || {};
  const form = correctionForm(feature, 'edit', t('moderate.edit.save'));
  const result = h('div', { class: 'sub-result', role: 'status' });
  const reload = h('button', { type: 'button', class: 'button' }, t('moderate.edit.reload'));
  reload.addEventListener('click', () => {
    $('edit-id').value = id;
    openInitiative();
  });
  const remove = h('button', { type: 'button', class: 'button danger' }, t('moderate.edit.delete'));
  form.actions.append(remove);
  remove.addEventListener('click', async () => {
    if (!remove.classList.contains('confirm')) {
      remove.classList.add('confirm');
      remove.textContent = t('moderate.edit.confirmDelete');
      return;
    }
    remove.disabled = true;
    try {
      await call('DELETE', `/collections/initiatives/items/${encodeURIComponent(id)}`, { ifMatch: state.etag });
      removeMaps(area);
      area.replaceChildren(h('p', { class: 'ok', role: 'status' }, t('moderate.edit.deleted', { name: String(p.name ?? id), id })));
    } catch (err) {
      result.replaceChildren(h('p', { class: 'error' }, err.message), err.status === 412 ? reload : '');
      remove.classList.remove('confirm');
      remove.textContent = t('moderate.edit.delete');
    } finally {
      remove.disabled = false;
    }
  });
  form.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.replaceChildren();
    if (!form.check()) return;
    const patch = mergePatch(state.feature, form.feature(state.feature));
    if (!Object.keys(patch).length) {
      result.replaceChildren(h('p', {}, t('moderate.edit.unchanged')));
      return;
    }
    form.setBusy(true);
    try {
      const { data, etag: next } = await call('PATCH', `/collections/initiatives/items/${encodeURIComponent(id)}`, {
        body: patch,
        contentType: 'application/merge-patch+json',
        ifMatch: state.etag,
      });
      state.feature = data;
      state.etag = next;
      const changed = Object.keys(patch.properties || {}).concat(patch.geometry ? ['location'] : []);
      result.replaceChildren(h('p', { class: 'ok' }, t('moderate.edit.saved', { fields: changed.join(', ') })));
    } catch (err) {
      if (err.status === 400 && err.errors.length) form.showErrors(err.errors, t('moderate.edit.problems'));
      else result.replaceChildren(h('p', { class: 'error' }, err.message), err.status === 412 ? reload : '');
    } finally {
      form.setBusy(false);
    }
  });
  area.replaceChildren(
    h('h2', { class: 'edit-title' }, String(p.name ?? id)),
    h(
      'p',
      { class: 'summary' },
      ...around(t('moderate.edit.id'), 'id', h('code', {}, id)),
      ' · ',
      ...around(t('moderate.edit.updated'), 'when', timeNode(p.updated_at)),
      ' · ',
      mapLink(id, feature.geometry && feature.geometry.coordinates, t('moderate.edit.onMap')),
    ),
    form.form,
    result,
  );
  form.attachMap();
}

// ---------- start ----------

/**
 * The page's language, chosen as on the map page; the URL's fragment keeps it (`#lang=de`), as
 * there, so that a link to this page in one language opens in it.
 */
async function startLanguage() {
  const requested = new URLSearchParams(window.location.hash.slice(1)).get('lang');
  const address = { lang: requested };
  const keep = () => {
    const { pathname, search } = window.location;
    window.history.replaceState(window.history.state, '', `${pathname}${search}${address.lang ? `#lang=${address.lang}` : ''}`);
  };
  const lang = await setupLanguage(address, keep);
  if (lang !== DEFAULT_LANGUAGE || requested) keep();
}

async function start() {
  $('signin-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signOut());
  $('submissions-refresh').addEventListener('click', () => loadSubmissions());
  $('submissions-more').addEventListener('click', () => {
    limit += PAGE;
    loadSubmissions();
  });
  $('audit-more').addEventListener('click', () => audit.load());
  $('edit-find').addEventListener('submit', openInitiative);
  bindTabs();
  await startLanguage();
  try {
    vocabularies = { ...EMPTY_VOCABULARIES, ...((await api.vocabularies()) || {}) };
    label = labeller(vocabularies);
  } catch (err) {
    notice(t('moderate.vocabulariesFailed', { error: err.message }));
  }
  token = storedToken();
  if (token) enterWorkspace();
  else $('token').focus();
}

start();
