// map-status.js – on a phone the drawer hides the filters and the "near" results: this line on
// the map says which filters are on and what "near" found, with a wider radius to try when
// nothing did, and opens the list.

import { t } from './i18n.js';
import { FILTER_KEYS } from './api.js';
import { MAX_RADIUS_KM, MIN_RADIUS_KM } from './state.js';

/** How many filters are on: each chosen value, and the search text. */
export function activeFilterCount(state) {
  const chosen = FILTER_KEYS.reduce((sum, key) => sum + (state.filters[key] || []).length, 0);
  return chosen + (state.q ? 1 : 0);
}

/** The next radius to try when nothing lies within `radius` km, or null at the largest. */
export function widerRadius(radius) {
  if (radius >= MAX_RADIUS_KM) return null;
  const doubled = Math.ceil((Math.max(radius, MIN_RADIUS_KM) * 2) / 5) * 5;
  return Math.min(MAX_RADIUS_KM, doubled);
}

export class MapStatus {
  /** `handlers`: onClearFilters(), onWiden(km), onList(). */
  constructor(handlers) {
    this.element = document.getElementById('map-status');
    this.filters = document.getElementById('status-filters');
    this.filtersText = document.getElementById('status-filters-text');
    this.near = document.getElementById('status-near');
    this.nearText = document.getElementById('status-near-text');
    this.widen = document.getElementById('status-near-widen');
    this.wider = null;
    document.getElementById('status-filters-clear').addEventListener('click', () => handlers.onClearFilters());
    document.getElementById('status-near-list').addEventListener('click', () => handlers.onList());
    this.widen.addEventListener('click', () => {
      if (this.wider) handlers.onWiden(this.wider);
    });
  }

  /** Shows the state's filters (or hides the line when none is on). */
  setFilters(state) {
    const count = activeFilterCount(state);
    this.filters.hidden = count === 0;
    this.filtersText.textContent = count ? t('status.filters', { count }) : '';
    this.refresh();
  }

  /** Shows what "near" found: `summary` as the panel says it, and whether nothing matched. */
  setNear(summary, radius, empty) {
    this.near.hidden = !summary;
    this.nearText.textContent = summary || '';
    this.wider = empty ? widerRadius(radius) : null;
    this.widen.hidden = !this.wider;
    if (this.wider) this.widen.textContent = t('near.widen', { radius: this.wider });
    this.refresh();
  }

  refresh() {
    this.element.hidden = this.filters.hidden && this.near.hidden;
  }
}
