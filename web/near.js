// near.js – "near a place": pick a point (map click or geolocation), a radius, the circle and the sorted matches.

import * as L from '/vendor/leaflet/leaflet-src.esm.js';
import { api, isAbort } from './api.js';
import { entry } from './panel.js';
import { formatNumber, t } from './i18n.js';

const LIMIT = 100;
// When nothing lies within the radius, the nearest few are listed anyway.
const NEAREST_LIMIT = 10;

/** "850 m", "12.3 km" or "212 km". */
export function formatDistance(metres) {
  const m = Number(metres);
  if (!Number.isFinite(m)) return '';
  if (m < 1000) return `${formatNumber(Math.round(m))} m`;
  if (m < 100000) return `${formatNumber(m / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} km`;
  return `${formatNumber(Math.round(m / 1000))} km`;
}

export class Near {
  constructor(map, label, handlers) {
    this.map = map;
    this.label = label;
    this.handlers = handlers; // onPoint(lat, lon), onRadius(km, push), onClear(), onError(text), onResults(fc)
    this.picking = false;
    this.controller = null;
    this.layer = L.layerGroup().addTo(map);
    this.modeButton = document.getElementById('near-mode');
    this.slider = document.getElementById('near-radius');
    this.output = document.getElementById('near-radius-value');

    this.modeButton.addEventListener('click', () => this.setPicking(!this.picking));
    document.getElementById('near-locate').addEventListener('click', () => this.locate());
    document.getElementById('near-clear').addEventListener('click', () => this.handlers.onClear());
    this.slider.addEventListener('input', () => {
      this.output.textContent = `${formatNumber(Number(this.slider.value))} km`;
      this.handlers.onRadius(Number(this.slider.value), false);
    });
    this.slider.addEventListener('change', () => this.handlers.onRadius(Number(this.slider.value), true));
    map.on('click', (event) => {
      if (!this.picking) return;
      this.setPicking(false);
      this.handlers.onPoint(event.latlng.lat, event.latlng.lng);
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.picking) this.setPicking(false);
    });
  }

  setPicking(on) {
    this.picking = on;
    this.modeButton.setAttribute('aria-pressed', on ? 'true' : 'false');
    this.modeButton.textContent = on ? t('near.picking') : t('near.pick');
    this.map.getContainer().classList.toggle('near-picking', on);
    if (on) this.handlers.onPicking();
  }

  locate() {
    if (!('geolocation' in navigator)) {
      this.handlers.onError(t('near.noGeolocation'));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => this.handlers.onPoint(pos.coords.latitude, pos.coords.longitude, true),
      (err) => this.handlers.onError(t('near.unavailable', { error: err.message || err.code })),
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 },
    );
  }

  /** The circle's bounds, for fitting the map to it. */
  bounds(state) {
    return L.latLng(state.near.lat, state.near.lon).toBounds(state.radius * 2000);
  }

  /** Draws the circle of the state and loads its matches (or clears everything). */
  update(state) {
    this.slider.value = String(state.radius);
    this.output.textContent = `${state.radius} km`;
    this.layer.clearLayers();
    if (this.controller) this.controller.abort();
    this.controller = null;
    const results = document.getElementById('near-results');
    if (!state.near) {
      results.hidden = true;
      document.getElementById('near-list').replaceChildren();
      return;
    }
    const centre = L.latLng(state.near.lat, state.near.lon);
    L.circle(centre, {
      radius: state.radius * 1000,
      color: '#0d5c63',
      weight: 2,
      dashArray: '6 4',
      fillColor: '#0d5c63',
      fillOpacity: 0.06,
      interactive: false,
      className: 'near-circle',
    }).addTo(this.layer);
    L.circleMarker(centre, {
      radius: 5,
      color: '#ffffff',
      weight: 2,
      fillColor: '#0d5c63',
      fillOpacity: 1,
      interactive: false,
    }).addTo(this.layer);

    results.hidden = false;
    const summary = document.getElementById('near-summary');
    summary.textContent = t('near.searching');
    const controller = new AbortController();
    this.controller = controller;
    const { lat, lon } = state.near;
    api.near(state, lat, lon, state.radius, LIMIT, controller.signal).then(
      async (fc) => {
        if (this.controller !== controller) return;
        let nearest = null;
        if (!(fc.features || []).length) {
          nearest = await api.near(state, lat, lon, null, NEAREST_LIMIT, controller.signal);
          if (this.controller !== controller) return;
        }
        this.controller = null;
        this.show(fc, state.radius, state.place, nearest);
        this.handlers.onResults(nearest || fc);
      },
      (err) => {
        if (isAbort(err)) return;
        summary.textContent = t('near.failed');
        this.handlers.onError(t('near.error', { error: err.message }));
      },
    );
  }

  /** Lists the matches within the radius, or else the `nearest` ones beyond it. */
  show(fc, radius, place, nearest) {
    let features = fc.features || [];
    const matched = Number(fc.numberMatched ?? features.length);
    const summary = document.getElementById('near-summary');
    // Each message has a form with the place's name and one without.
    const say = (key, vars) => t(place ? `${key}Place` : key, { ...vars, radius, place });
    if (matched === 0) {
      const beyond = nearest?.features || [];
      summary.textContent = beyond.length ? say('near.nearest', { count: beyond.length }) : say('near.none');
      features = beyond;
    } else if (matched > features.length) {
      summary.textContent = say('near.some', { shown: features.length, count: matched });
    } else summary.textContent = say('near.all', { count: matched });
    const items = features.map((f) => entry(f, this.label, formatDistance(f.properties?.distance_m)));
    document.getElementById('near-list').replaceChildren(...items);
  }
}
