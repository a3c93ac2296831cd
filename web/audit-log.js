// audit-log.js – the moderation page's audit log: read from `/audit` a batch of pages at a time
// (then the newer entries on each later load), newest first, each entry's action in the visitor's
// language and, where a record changed, its fields before and after. Everything from the log goes
// into the page as text.

import { h } from './initiative-form.js';
import { t } from './i18n.js';

const AUDIT_PAGE = 200;
const AUDIT_PAGES_PER_LOAD = 10;

// The audit log's actions (the store's codes) by what the page calls them.
const ACTIONS = {
  create: 'moderate.action.create',
  update: 'moderate.action.update',
  delete: 'moderate.action.delete',
  submit: 'moderate.action.submit',
  approve: 'moderate.action.approve',
  reject: 'moderate.action.reject',
  seed: 'moderate.action.seed',
  harvest: 'moderate.action.harvest',
};

/** An action in the visitor's language; one the page does not know yet shows as its code. */
function actionName(code) {
  return Object.hasOwn(ACTIONS, String(code)) ? t(ACTIONS[String(code)]) : String(code ?? '');
}

/** The value at a path such as "properties.name" or "geometry" of a feature, as short text. */
function valueAt(feature, path) {
  let v = feature;
  for (const key of path.split('.')) v = v && typeof v === 'object' ? v[key] : undefined;
  if (v === undefined) return '—';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** One entry as a table row. */
function entryRow(e, timeNode) {
  const changed = Array.isArray(e.changed) ? e.changed.map(String) : [];
  const ids = h('td', { class: 'ids' });
  if (e.initiative_id) ids.append(h('span', { class: 'id' }, String(e.initiative_id)));
  if (e.submission_id) ids.append(h('span', { class: 'id muted' }, String(e.submission_id)));
  const what = h('td', { class: 'changed' });
  if (changed.length) {
    // A whole new (or removed) record changes every field: say so instead of listing them all.
    const names =
      !e.before && e.after
        ? [t('moderate.audit.newRecord')]
        : e.before && !e.after
          ? [t('moderate.audit.removed')]
          : changed.map((c) => c.replace(/^properties\./, ''));
    what.append(h('ul', { class: 'tags' }, names.map((c) => h('li', { class: 'tag' }, c))));
    if (e.before || e.after) {
      const diff = h('dl', { class: 'diff' });
      for (const path of changed) {
        diff.append(
          h('dt', {}, path),
          h('dd', {}, h('del', {}, valueAt(e.before, path)), ' → ', h('ins', {}, valueAt(e.after, path))),
        );
      }
      what.append(h('details', {}, h('summary', {}, t('moderate.audit.show')), diff));
    }
  }
  if (e.detail) what.append(h('p', { class: 'detail' }, String(e.detail)));
  return h(
    'tr',
    { 'data-seq': String(e.seq ?? '') },
    h('td', { class: 'num' }, String(e.seq ?? '')),
    h('td', {}, timeNode(e.at)),
    h('td', {}, String(e.actor ?? '')),
    h('td', { 'data-action': String(e.action ?? '') }, actionName(e.action)),
    ids,
    what,
  );
}

/**
 * The audit log shown in `rows` (a table body) with its `summary` and its `more` button.
 * `call(method, path)` asks the API as the signed-in curator; `timeNode(iso)` shows a time.
 */
export function auditLog({ rows, summary, more, call, timeNode }) {
  let entries = [];
  let after = 0;
  let loading = false;

  /** Reads the next pages of the log (the entries after the last one read) and shows it all. */
  async function load() {
    if (loading) return;
    loading = true;
    more.disabled = true;
    summary.textContent = t('moderate.loading');
    let hasMore = false;
    try {
      for (let page = 0; page < AUDIT_PAGES_PER_LOAD; page += 1) {
        const { data } = await call('GET', `/audit?after=${after}&limit=${AUDIT_PAGE}`);
        const read = (data && Array.isArray(data.entries) ? data.entries : []).filter((e) => e && typeof e === 'object');
        entries.push(...read);
        for (const e of read) if (Number(e.seq) > after) after = Number(e.seq);
        hasMore = data && data.next_after != null;
        if (!hasMore) break;
        after = Math.max(after, Number(data.next_after));
      }
      const newest = [...entries].sort((a, b) => Number(b.seq) - Number(a.seq));
      rows.replaceChildren(...newest.map((e) => entryRow(e, timeNode)));
      summary.textContent = t(hasMore ? 'moderate.audit.countMore' : 'moderate.audit.count', { count: entries.length });
      more.textContent = hasMore ? t('moderate.audit.loadMore') : t('moderate.audit.loadNewer');
    } catch (err) {
      summary.textContent = t('moderate.audit.failed', { error: err.message });
    } finally {
      loading = false;
      more.disabled = false;
    }
  }

  /** Forgets what was read (on signing out). */
  function clear() {
    entries = [];
    after = 0;
    rows.replaceChildren();
  }

  return { load, clear, isEmpty: () => entries.length === 0 };
}
