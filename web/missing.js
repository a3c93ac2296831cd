// missing.js – "Where is help missing?": the towns where one more matching initiative would bring the most people within reach, on the map and as a list.

import L from './leaflet.js';
import { api, isAbort } from './api.js';
import { missingParams } from './coverage-model.js';
import { t } from './i18n.js';
import { el } from './dom.js';

export class MissingView {
  constructor(map, handlers) {
    this.map = map;
    this.handlers = handlers; // onError(text)
    // The list is the way in for keyboards and screen readers: the map's marks only show.
    this.layer = L.layerGroup();
    this.controller = null;
    this.summary = document.getElementById('missing-summary');
    this.list = document.getElementById('missing-list');
  }

  /** Asks for the picks of the state's filters, gap distance and region, and shows them. */
  run(state) {
    this.clear();
    const controller = new AbortController();
    this.controller = controller;
    this.summary.textContent = t('coverage.missing.loading');
    api.missing(missingParams(state), controller.signal).then(
      (answer) => {
        if (this.controller !== controller) return;
        this.controller = null;
        this.show(answer, state);
      },
      (err) => {
        if (this.controller !== controller || isAbort(err)) return;
        this.controller = null;
        const text = t('coverage.missing.failed', { error: err.message });
        this.summary.textContent = text;
        this.handlers.onError(text);
      },
    );
  }

  show(answer, state) {
    const region = answer.region || t('coverage.missing.europe');
    const gap = answer.gap_km ?? state.gap;
    const picks = answer.picks || [];
    this.summary.textContent = picks.length
      ? t('coverage.missing.summary', { far: answer.people_far, people: answer.people, region, gap })
      : t('coverage.missing.none', { region, gap });
    const items = picks.map((pick, i) => {
      const at = L.latLng(pick.lat, pick.lon);
      const number = String(i + 1);
      L.circle(at, {
        radius: gap * 1000,
        color: '#7a2e0e',
        weight: 1.5,
        dashArray: '4 4',
        fillOpacity: 0.06,
        interactive: false,
      }).addTo(this.layer);
      L.marker(at, {
        icon: L.divIcon({ className: 'missing-mark', html: `<span>${number}</span>`, iconSize: [26, 26] }),
        interactive: false,
        keyboard: false,
      }).addTo(this.layer);
      const item = el('li', 'missing-pick');
      const button = el('button', 'link-button', t('coverage.missing.pick', pick));
      button.type = 'button';
      button.setAttribute('aria-label', `${button.textContent}. ${t('coverage.missing.show', { name: pick.name })}`);
      button.addEventListener('click', () => this.map.setView(at, Math.max(this.map.getZoom(), 8)));
      item.append(button);
      return item;
    });
    this.list.replaceChildren(...items);
    if (picks.length) {
      this.layer.addTo(this.map);
      this.map.fitBounds(L.latLngBounds(picks.map((p) => [p.lat, p.lon])).pad(0.3), { maxZoom: 8 });
    }
  }

  /** Removes the picks (the query they answered changed, or the mode was left). */
  clear() {
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.layer.clearLayers();
    this.map.removeLayer(this.layer);
    this.list.replaceChildren();
    this.summary.textContent = '';
  }
}
