// panel.js – the side panel: filter checkboxes with live counts, the search box, the list in view and the drawer.

import { FILTER_KEYS, beginWork, endWork } from './api.js';
import { swatch } from './legend.js';
import { formatNumber, language, markLanguage, t } from './i18n.js';
import { el } from './dom.js';
import { inSlices } from './slices.js';

const GROUPS = {
  skill_area: { vocab: 'skill_areas', open: true },
  target_group: { vocab: 'target_groups', open: true },
  kind: { vocab: 'kinds', open: true },
  country: { vocab: 'countries', open: false },
  // Nothing ticked shows the active ones only: closed initiatives are kept for history.
  status: { vocab: 'statuses', open: false, note: 'filters.statusNote' },
};

const SEARCH_DELAY_MS = 300;
const MESSAGE_MS = 12000;
const MAX_MESSAGES = 3;

/** Shows a message in the panel's alert box for a while; the same text is shown only once. */
export function showMessage(text) {
  const box = document.getElementById('message');
  if ([...box.children].some((p) => p.textContent === text)) return;
  const line = el('p', null, text);
  box.append(line);
  while (box.children.length > MAX_MESSAGES) box.firstElementChild.remove();
  box.hidden = false;
  setTimeout(() => {
    line.remove();
    if (!box.children.length) box.hidden = true;
  }, MESSAGE_MS);
}

const narrowScreen = () => window.matchMedia('(max-width: 699px)').matches;

/** Opens or closes the panel's drawer (on a phone it covers the map, which is then out of reach). */
export function setDrawer(open) {
  document.body.classList.toggle('drawer-open', open);
  document.getElementById('drawer-toggle')?.setAttribute('aria-expanded', open ? 'true' : 'false');
  const map = document.getElementById('map');
  if (map) map.inert = open && narrowScreen();
}

/** Keeps Tab inside `container`: from its last control to its first, and back with Shift. */
function trapTab(event, container) {
  const controls = [...container.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex="0"]')].filter(
    (node) => !node.disabled && node.getClientRects().length > 0,
  );
  if (!controls.length) return;
  const first = controls[0];
  const last = controls[controls.length - 1];
  const active = document.activeElement;
  if (event.shiftKey && (active === first || active === container)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (active === last || !container.contains(active))) {
    event.preventDefault();
    first.focus();
  }
}

/** Options of one filter group from the vocabularies, as {value, label}. */
function options(key, vocabularies, label) {
  const vocab = GROUPS[key].vocab;
  const terms = vocabularies[vocab] || [];
  if (key === 'country') {
    return terms
      .map((c) => ({ value: c.code, label: label('countries', c.code) }))
      .sort((a, b) => a.label.localeCompare(b.label, language()));
  }
  return terms.map((term) => ({ value: term.slug, label: label(vocab, term.slug) }));
}

/** A list entry for one initiative: a button that opens its popup. */
export function entry(feature, label, extra) {
  const p = feature.properties || {};
  const li = el('li');
  const button = el('button', 'result');
  button.type = 'button';
  button.dataset.id = String(feature.id);
  const title = el('span', 'result-name');
  title.append(swatch(p.kind), markLanguage(el('span', null, p.name ?? ''), p.languages));
  const meta = el(
    'span',
    'result-meta',
    [p.status === 'closed' ? t('list.closed') : null, p.organisation, p.city].filter(Boolean).join(' · '),
  );
  button.append(title, meta);
  if (extra) button.append(el('span', 'result-extra', extra));
  button.title = label('kinds', p.kind);
  li.append(button);
  return li;
}

export class Panel {
  constructor(vocabularies, label, handlers) {
    this.label = label;
    this.handlers = handlers;
    this.boxes = {}; // key -> Map(value -> {input, count, item})
    this.summaries = {};
    this.selected = null; // the selected initiative's id, marked again when a list page is shown
    this.filling = null; // the list page being built (a newer one makes it stale)
    this.buildFilters(vocabularies);
    this.bindSearch();
    this.bindDrawer();
    for (const id of ['list', 'near-list']) {
      document.getElementById(id).addEventListener('click', (event) => {
        const button = event.target.closest('.result');
        // A click with no pointer (detail 0) is Enter or Space: the popup then takes the focus.
        if (button) this.handlers.onPick(button.dataset.id, event.detail === 0);
      });
      const list = document.getElementById(id);
      const hover = (event) => {
        const button = event.target.closest('.result');
        this.handlers.onHover(button ? button.dataset.id : null);
      };
      list.addEventListener('mouseover', hover);
      list.addEventListener('focusin', hover);
      list.addEventListener('mouseleave', () => this.handlers.onHover(null));
      list.addEventListener('focusout', () => this.handlers.onHover(null));
    }
    document.getElementById('list-more').addEventListener('click', () => this.handlers.onMore());
    document.getElementById('clear-filters').addEventListener('click', () => this.clearAll());
  }

  /** Unchecks every filter and empties the search box. */
  clearAll() {
    for (const key of FILTER_KEYS) for (const { input } of this.boxes[key].values()) input.checked = false;
    const search = document.getElementById('search');
    search.value = '';
    this.refreshSummaries();
    this.handlers.onClear();
  }

  buildFilters(vocabularies) {
    const root = document.getElementById('filters');
    root.replaceChildren();
    for (const key of FILTER_KEYS) {
      const group = GROUPS[key];
      const details = el('details', 'filter-group');
      details.open = group.open;
      details.dataset.filter = key;
      const summary = el('summary');
      const summaryCount = el('span', 'selected-count');
      summary.append(el('span', null, t(`filter.${key}`)), summaryCount);
      this.summaries[key] = summaryCount;
      details.append(summary);

      const fieldset = el('fieldset');
      fieldset.append(el('legend', 'visually-hidden', t('filters.legend', { group: t(`filter.${key}`) })));
      const list = el('ul', key === 'country' ? 'options options-scroll' : 'options');
      const boxes = new Map();
      for (const option of options(key, vocabularies, this.label)) {
        const item = el('li');
        const input = el('input');
        input.type = 'checkbox';
        input.id = `f-${key}-${option.value}`;
        input.name = key;
        input.value = option.value;
        const lab = el('label');
        lab.htmlFor = input.id;
        if (key === 'kind') lab.append(swatch(option.value));
        const text = el('span', 'option-label', option.label);
        const count = el('span', 'count');
        lab.append(text, count);
        item.append(input, lab);
        list.append(item);
        boxes.set(option.value, { input, count, item });
        input.addEventListener('change', () => {
          this.refreshSummaries();
          this.handlers.onFilters(this.filters());
        });
      }
      this.boxes[key] = boxes;
      fieldset.append(list);
      if (group.note) fieldset.append(el('p', 'option-note', t(group.note)));
      if (key === 'country') {
        this.noCountries = el('p', 'summary', t('filters.noCountries'));
        this.noCountries.hidden = true;
        fieldset.append(this.noCountries);
      }
      details.append(fieldset);
      root.append(details);
    }
  }

  bindSearch() {
    const search = document.getElementById('search');
    let timer = null;
    const fire = () => {
      clearTimeout(timer);
      timer = null;
      this.handlers.onSearch(search.value.trim());
    };
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(fire, SEARCH_DELAY_MS);
    });
    search.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') fire();
    });
  }

  bindDrawer() {
    const toggle = document.getElementById('drawer-toggle');
    const close = document.getElementById('drawer-close');
    toggle.addEventListener('click', () => this.setDrawer(!document.body.classList.contains('drawer-open')));
    close.addEventListener('click', () => {
      this.setDrawer(false);
      toggle.focus();
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && document.body.classList.contains('drawer-open')) {
        this.setDrawer(false);
        toggle.focus();
      }
      if (event.key === 'Tab' && document.body.classList.contains('drawer-open') && narrowScreen()) {
        trapTab(event, document.getElementById('panel'));
      }
    });
  }

  setDrawer(open) {
    setDrawer(open);
    if (open) document.getElementById('panel').focus();
  }

  /** Closes the drawer on narrow screens (e.g. after picking an entry), so the map is visible. */
  closeDrawerIfNarrow() {
    if (narrowScreen()) this.setDrawer(false);
  }

  /** The selected values of every filter group. */
  filters() {
    const result = {};
    for (const key of FILTER_KEYS) {
      result[key] = [...this.boxes[key].values()].filter((b) => b.input.checked).map((b) => b.input.value);
    }
    return result;
  }

  /** Shows the state's filters and search text (after a URL change). */
  setState(state) {
    for (const key of FILTER_KEYS) {
      const chosen = new Set(state.filters[key]);
      for (const [value, { input }] of this.boxes[key]) input.checked = chosen.has(value);
    }
    const search = document.getElementById('search');
    if (search.value.trim() !== state.q) search.value = state.q;
    this.refreshSummaries();
  }

  refreshSummaries() {
    for (const key of FILTER_KEYS) {
      const n = [...this.boxes[key].values()].filter((b) => b.input.checked).length;
      this.summaries[key].textContent = n ? t('filters.selected', { count: n }) : '';
    }
  }

  /** Shows the facet counts from /facets next to each option. */
  setCounts(facets) {
    for (const key of FILTER_KEYS) {
      const counts = facets[key] || {};
      let visible = 0;
      for (const [value, { input, count, item }] of this.boxes[key]) {
        const n = Number(counts[value] || 0);
        count.textContent = formatNumber(n);
        item.classList.toggle('zero', n === 0);
        if (key === 'country') {
          item.hidden = n === 0 && !input.checked;
          if (!item.hidden) visible += 1;
        }
      }
      if (key === 'country') this.noCountries.hidden = visible > 0;
    }
  }

  /**
   * Fills the list of initiatives in view from an items FeatureCollection, or with `append` adds
   * its next page (sorted within itself) and moves the focus to the first new entry. The entries
   * are built a slice at a time (200 of them at once were a long task on a phone) and shown
   * together, so the list never shows half a page; resolves false when a newer call made it stale.
   */
  async setList(fc, append = false) {
    const filling = {};
    this.filling = filling;
    beginWork();
    try {
      const features = [...(fc.features || [])].sort((a, b) =>
        String(a.properties?.name ?? '').localeCompare(String(b.properties?.name ?? ''), language()),
      );
      const items = [];
      const built = await inSlices(features, (f) => items.push(entry(f, this.label)), () => this.filling !== filling);
      if (!built || this.filling !== filling) return false;
      this.filling = null;
      this.showList(fc, items, append);
      return true;
    } finally {
      endWork();
    }
  }

  /** Puts built entries in the list, with its summary and "show more". */
  showList(fc, items, append) {
    const list = document.getElementById('list');
    if (append) list.append(...items);
    else list.replaceChildren(...items);
    this.setSelected(this.selected);
    if (append && items.length) items[0].querySelector('.result').focus();
    const shown = list.children.length;
    const matched = Number(fc.numberMatched ?? shown);
    const summary = document.getElementById('list-summary');
    if (matched === 0) {
      summary.textContent = t('list.none');
    } else if (matched > shown) {
      summary.textContent = t('list.partial', { shown, count: matched });
    } else {
      summary.textContent = t('list.count', { count: matched });
    }
    document.getElementById('list-more').hidden = !(matched > shown && items.length > 0);
    list.setAttribute('aria-busy', 'false');
  }

  /** How many entries the list shows (the offset of its next page). */
  listed() {
    return document.getElementById('list').children.length;
  }

  setListBusy() {
    document.getElementById('list').setAttribute('aria-busy', 'true');
  }

  /** Marks the selected entry in the list. */
  setSelected(id) {
    this.selected = id;
    for (const button of document.querySelectorAll('.result')) {
      button.classList.toggle('selected', button.dataset.id === id);
      if (button.dataset.id === id) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    }
  }

  /** Shows a message to the visitor for a while (fetch failures and the like). */
  showMessage(text) {
    showMessage(text);
  }
}
