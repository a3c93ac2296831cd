// places.js – the search box as a WAI-ARIA combobox: as one types, it offers places (from
// /places, the service's own gazetteer) and initiatives; picking one moves the map there.

import { api, isAbort } from './api.js';
import { t } from './i18n.js';

const SUGGEST_DELAY_MS = 120;
const PLACE_LIMIT = 6;
const INITIATIVE_LIMIT = 3;
const numberFormat = new Intl.NumberFormat('en');

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

/** "city · EE · 101,092 inhabitants", "region · DE". */
function placeMeta(p) {
  const parts = [p.kind === 'region' ? 'region' : 'city', p.country];
  if (Number.isFinite(p.population) && p.population > 0) parts.push(`${numberFormat.format(p.population)} inhabitants`);
  return parts.filter(Boolean).join(' · ');
}

/**
 * The combobox over the existing search input: a listbox of suggestions below it, moved
 * through with the arrow keys (aria-activedescendant), picked with Enter or a click, closed
 * with Escape. Enter without a chosen option searches the initiatives for the text, as before.
 */
export class PlaceSearch {
  constructor(input, listbox, { onPlace, onInitiative, onError }) {
    this.input = input;
    this.listbox = listbox;
    this.handlers = { onPlace, onInitiative, onError };
    this.options = []; // {kind: 'place'|'initiative', feature, node}
    this.active = -1;
    this.timer = null;
    this.controller = null;

    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', listbox.id);
    input.addEventListener('input', () => this.schedule());
    input.addEventListener('keydown', (event) => this.key(event));
    input.addEventListener('blur', () => {
      // A click on an option lands after the blur: close a moment later.
      setTimeout(() => {
        if (document.activeElement !== input) this.close();
      }, 150);
    });
    // mousedown, not click: the input keeps the focus.
    listbox.addEventListener('mousedown', (event) => {
      const node = event.target.closest('[role="option"]');
      if (!node) return;
      event.preventDefault();
      this.pick(Number(node.dataset.index));
    });
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.suggest(), SUGGEST_DELAY_MS);
  }

  /** Asks for places and initiatives matching the text and shows them. */
  suggest() {
    const text = this.input.value.trim();
    if (this.controller) this.controller.abort();
    this.controller = null;
    if (!/[\p{L}\p{N}]/u.test(text)) {
      this.close();
      return;
    }
    const controller = new AbortController();
    this.controller = controller;
    const places = api.places(text, PLACE_LIMIT, controller.signal);
    const initiatives = api.search(text, INITIATIVE_LIMIT, controller.signal);
    Promise.allSettled([places, initiatives]).then(([p, i]) => {
      if (this.controller !== controller) return;
      this.controller = null;
      if (p.status === 'rejected' && !isAbort(p.reason)) this.handlers.onError(t('search.failed', { error: p.reason.message }));
      const placeFeatures = p.status === 'fulfilled' ? p.value.features || [] : [];
      const initiativeFeatures = i.status === 'fulfilled' ? i.value.features || [] : [];
      this.show(placeFeatures, initiativeFeatures);
    });
  }

  show(places, initiatives) {
    this.options = [];
    const children = [];
    const group = (title, entries, kind) => {
      if (!entries.length) return;
      const heading = el('li', 'option-group', title);
      heading.setAttribute('role', 'presentation');
      children.push(heading);
      for (const feature of entries) {
        const index = this.options.length;
        const node = el('li', `option option-${kind}`);
        node.id = `search-option-${index}`;
        node.setAttribute('role', 'option');
        node.setAttribute('aria-selected', 'false');
        node.dataset.index = String(index);
        const p = feature.properties || {};
        node.append(el('span', 'option-name', p.name ?? ''));
        if (kind === 'place') {
          if (p.matched) node.append(el('span', 'option-matched', ` (${p.matched})`));
          node.append(el('span', 'option-meta', placeMeta(p)));
        } else {
          node.append(el('span', 'option-meta', [p.organisation, p.city].filter(Boolean).join(' · ')));
        }
        this.options.push({ kind, feature, node });
        children.push(node);
      }
    };
    group(t('search.places'), places, 'place');
    group(t('search.initiatives'), initiatives, 'initiative');
    this.listbox.replaceChildren(...children);
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
    const open = this.options.length > 0;
    this.listbox.hidden = !open;
    this.input.setAttribute('aria-expanded', String(open));
  }

  close() {
    this.listbox.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    this.active = -1;
  }

  isOpen() {
    return !this.listbox.hidden;
  }

  move(to) {
    if (!this.options.length) return;
    const n = this.options.length;
    this.active = ((to % n) + n) % n;
    this.options.forEach((o, i) => o.node.setAttribute('aria-selected', String(i === this.active)));
    const node = this.options[this.active].node;
    this.input.setAttribute('aria-activedescendant', node.id);
    node.scrollIntoView({ block: 'nearest' });
  }

  key(event) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (!this.isOpen()) {
        if (this.options.length) {
          this.listbox.hidden = false;
          this.input.setAttribute('aria-expanded', 'true');
        } else this.suggest();
        event.preventDefault();
        return;
      }
      event.preventDefault();
      this.move(this.active + (event.key === 'ArrowDown' ? 1 : -1));
    } else if (event.key === 'Enter' && this.isOpen() && this.active >= 0) {
      event.preventDefault();
      event.stopImmediatePropagation();
      this.pick(this.active);
    } else if (event.key === 'Escape' && this.isOpen()) {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    }
  }

  pick(index) {
    const option = this.options[index];
    if (!option) return;
    clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.close();
    if (option.kind === 'place') this.handlers.onPlace(option.feature);
    else this.handlers.onInitiative(option.feature);
  }
}
