// labels.js – place names on the built-in base map, tile by tile from /places/labels: capitals
// and large cities when zoomed out, more as one zooms in; the server places them without overlaps.

import * as L from '/vendor/leaflet/leaflet-src.esm.js';
import { api, isAbort } from './api.js';
import { visibleTiles } from './map.js';

// The label box the server reserves (src/places/labels.rs): a 5 px dot on the place, the name
// 4 px to its right, 18 px high.
const DOT_PX = 5;
const HEIGHT_PX = 18;
const CACHE_LIMIT = 300;

export class PlaceLabels {
  constructor(map, onError) {
    this.map = map;
    this.onError = onError;
    map.createPane('labels');
    // Above the base map (250), below the initiatives (overlay 400, markers 600).
    map.getPane('labels').style.zIndex = '350';
    map.getPane('labels').style.pointerEvents = 'none';
    this.layer = L.layerGroup().addTo(map);
    this.cache = new Map(); // "z/x/y" -> FeatureCollection
    this.shown = new Map(); // "z/x/y" -> L.LayerGroup
    this.inflight = new Map();
    map.on('moveend', () => this.update());
    this.update();
  }

  update() {
    const wanted = new Map(visibleTiles(this.map).map((t) => [`${t.z}/${t.x}/${t.y}`, t]));
    for (const [key, controller] of this.inflight) {
      if (!wanted.has(key)) {
        controller.abort();
        this.inflight.delete(key);
      }
    }
    for (const [key, group] of this.shown) {
      if (!wanted.has(key)) {
        this.layer.removeLayer(group);
        this.shown.delete(key);
      }
    }
    for (const [key, t] of wanted) {
      if (this.shown.has(key) || this.inflight.has(key)) continue;
      const cached = this.cache.get(key);
      if (cached) {
        this.show(key, cached);
        continue;
      }
      const controller = new AbortController();
      this.inflight.set(key, controller);
      api.labels(t.z, t.x, t.y, controller.signal).then(
        (fc) => {
          if (this.inflight.get(key) !== controller) return;
          this.inflight.delete(key);
          this.cache.set(key, fc);
          if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value);
          if (wanted.has(key)) this.show(key, fc);
        },
        (err) => {
          if (this.inflight.get(key) === controller) this.inflight.delete(key);
          if (!isAbort(err)) this.onError(`Place names could not be loaded (${err.message})`);
        },
      );
    }
  }

  show(key, fc) {
    const group = L.layerGroup();
    for (const feature of fc.features || []) {
      const c = feature.geometry?.coordinates;
      if (!Array.isArray(c)) continue;
      const p = feature.properties || {};
      const label = document.createElement('span');
      label.className = 'place-label-inner';
      const dot = document.createElement('span');
      dot.className = 'place-dot';
      const name = document.createElement('span');
      name.className = 'place-name';
      name.textContent = String(p.name ?? '');
      label.append(dot, name);
      group.addLayer(
        L.marker(L.latLng(c[1], c[0]), {
          pane: 'labels',
          interactive: false,
          keyboard: false,
          icon: L.divIcon({
            className: p.capital ? 'place-label capital' : 'place-label',
            html: label,
            iconSize: null,
            iconAnchor: [DOT_PX / 2, HEIGHT_PX / 2],
          }),
        }),
      );
    }
    this.shown.set(key, group);
    this.layer.addLayer(group);
  }
}
