// legend.js – the colour of each kind of initiative and the map legend that explains them.

import * as L from '/vendor/leaflet/leaflet-src.esm.js';
import { t, termLabel } from './i18n.js';

/** One distinct, calm colour per kind (also used in the list and the filters). */
export const KIND_COLOURS = {
  hub: '#1f6fb2',
  training: '#e08a1e',
  coalition: '#2e9e5b',
  competence_centre: '#c8413b',
  funding: '#7b52ae',
  awareness: '#d1589a',
  network: '#5b6770',
};

const FALLBACK_COLOUR = '#3b4a54';

export function kindColour(kind) {
  return Object.prototype.hasOwnProperty.call(KIND_COLOURS, kind) ? KIND_COLOURS[kind] : FALLBACK_COLOUR;
}

/** A small coloured dot for a kind (decorative: the label says the kind in words). */
export function swatch(kind) {
  const dot = document.createElement('span');
  dot.className = 'swatch';
  dot.setAttribute('aria-hidden', 'true');
  dot.style.backgroundColor = kindColour(kind);
  return dot;
}

/** A Leaflet control listing the kinds with their colours, collapsible on small screens. */
export function legendControl(kinds) {
  const Legend = L.Control.extend({
    options: { position: 'bottomright' },
    onAdd() {
      const box = L.DomUtil.create('div', 'legend leaflet-bar');
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      const details = document.createElement('details');
      details.open = window.matchMedia('(min-width: 700px)').matches;
      const summary = document.createElement('summary');
      summary.textContent = t('legend.title');
      details.append(summary);
      const list = document.createElement('ul');
      for (const kind of kinds) {
        const item = document.createElement('li');
        const label = document.createElement('span');
        label.textContent = termLabel('kinds', kind.slug, kind.label);
        item.append(swatch(kind.slug), label);
        list.append(item);
      }
      const cluster = document.createElement('li');
      const bubble = document.createElement('span');
      bubble.className = 'swatch swatch-cluster';
      bubble.setAttribute('aria-hidden', 'true');
      const clusterLabel = document.createElement('span');
      clusterLabel.textContent = t('legend.cluster');
      cluster.append(bubble, clusterLabel);
      list.append(cluster);
      details.append(list);
      box.append(details);
      return box;
    },
  });
  return new Legend();
}
