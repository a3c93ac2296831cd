// map.js – the Leaflet map: base map, and clusters and initiatives loaded tile by tile from /tiles.

import L from './leaflet.js';
import { api, filterKey, isAbort } from './api.js';
import { kindColour } from './legend.js';
import { t } from './i18n.js';
import { MIN_ZOOM, MAX_ZOOM } from './state.js';
import { inSlices } from './slices.js';

const MAX_TILE_ZOOM = 20;
const MAX_LAT = 85.0511287798;
const CACHE_LIMIT = 400;

/** Zoom buttons whose names (title and aria-label) are in the interface's language, not Leaflet's English. */
export function zoomButtons(position) {
  return L.control.zoom({ position, zoomInTitle: t('map.zoomIn'), zoomOutTitle: t('map.zoomOut') });
}

/** Creates the map in `container` at the state's view, with the base map. */
export function createMap(container, state, config, onError) {
  const map = L.map(container, {
    center: state.center,
    zoom: state.zoom,
    minZoom: MIN_ZOOM,
    // The server says how deep: where the base map has nothing more to show, and never past
    // the deepest clusters, so that every cluster can be opened.
    maxZoom: Number.isFinite(config?.max_zoom) ? Math.min(MAX_ZOOM, config.max_zoom) : MAX_ZOOM,
    zoomControl: false,
    worldCopyJump: false,
    maxBounds: [[-85, -200], [85, 200]],
    maxBoundsViscosity: 0.8,
    keyboard: true,
  });
  zoomButtons('topright').addTo(map);
  L.control.scale({ position: 'bottomleft', imperial: false }).addTo(map);
  map.attributionControl.setPrefix('');
  map.attributionControl.addAttribution(
    'Data: skillsmap contributors, <a href="/about.html">CC BY 4.0</a>',
  );
  map.attributionControl.addAttribution(
    'Places: <a href="https://www.geonames.org/">GeoNames</a>, <a href="/about.html#places">CC BY 4.0</a>',
  );

  compactAttribution(map);

  map.createPane('basemap');
  map.getPane('basemap').style.zIndex = '250';

  if (config && config.basemap_pmtiles) {
    vectorBasemap(map, config, onError);
  } else if (config && config.basemap_url) {
    L.tileLayer(config.basemap_url, {
      pane: 'basemap',
      maxZoom: MAX_ZOOM,
      // Leaflet renders attributions as HTML; the configured text is shown as text.
      attribution: escapeHtml(config.basemap_attribution || ''),
    }).addTo(map);
  } else if (config && Array.isArray(config.outlines) && config.outlines.length) {
    countryOutlines(map, config.outlines, onError);
  } else if (config && config.outlines_error) {
    onError(`Country outlines are unavailable (${config.outlines_error})`);
  }
  return map;
}

/**
 * On a phone the attribution would cover lines of the map: there it is folded behind a
 * button ("Sources and licences") that shows and hides it. (A control of its own, since the
 * attribution control rewrites its content whenever an attribution is added.)
 */
function compactAttribution(map) {
  const attribution = map.attributionControl.getContainer();
  attribution.id = 'map-attribution';
  const toggle = L.control({ position: 'bottomright' });
  toggle.onAdd = () => {
    const button = L.DomUtil.create('button', 'attribution-toggle leaflet-control');
    button.type = 'button';
    button.setAttribute('aria-controls', attribution.id);
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-label', t('map.attribution'));
    button.title = t('map.attribution');
    button.textContent = 'i';
    L.DomEvent.disableClickPropagation(button);
    button.addEventListener('click', () => {
      const open = !attribution.classList.contains('expanded');
      attribution.classList.toggle('expanded', open);
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
    return button;
  };
  toggle.addTo(map);
}

/**
 * The operator's PMTiles base map, drawn by protomaps-leaflet (served from npm like Leaflet).
 * Its script is a classic one that reads the global `L`, so the module's namespace is lent.
 */
function vectorBasemap(map, config, onError) {
  window.L = L;
  const script = document.createElement('script');
  script.src = new URL('./vendor/protomaps-leaflet/protomaps-leaflet.js', import.meta.url).href;
  script.addEventListener('load', () => {
    const layer = window.protomapsL.leafletLayer({
      url: config.basemap_pmtiles,
      flavor: 'light',
      lang: 'en',
      pane: 'basemap',
      maxZoom: map.getMaxZoom(),
      attribution: escapeHtml(config.basemap_attribution || ''),
    });
    layer.addTo(map);
    map.getContainer().dataset.basemap = 'pmtiles';
  });
  script.addEventListener('error', () => onError('The vector base map could not be loaded.'));
  document.head.append(script);
}

/**
 * The built-in base layer: Europe's country outlines, one level of detail per zoom range
 * (`levels`: [{ url, min_zoom }], coarsest first). A level is fetched the first time the map
 * reaches its zooms, so a first visit loads only the coarse one.
 */
function countryOutlines(map, levels, onError) {
  const style = { color: '#a3aab0', weight: 0.8, fillColor: '#f6f4ef', fillOpacity: 1 };
  const layers = new Map();
  let shown = null;
  const levelFor = (zoom) => levels.reduce((best, level) => (zoom >= level.min_zoom ? level : best), levels[0]);
  const show = () => {
    const level = levelFor(map.getZoom());
    if (shown === level) return;
    shown = level;
    let layer = layers.get(level);
    if (!layer) {
      layer = L.geoJSON(null, { pane: 'basemap', interactive: false, style });
      layers.set(level, layer);
      api.outlines(level.url).then(
        // Feature by feature in short slices: the finest level is a long task drawn at once.
        (geojson) => inSlices(geojson?.features || [], (feature) => layer.addData(feature)),
        (err) => {
          if (!isAbort(err)) onError(`Country outlines are unavailable (${err.message})`);
        },
      );
    }
    for (const other of layers.values()) {
      if (other !== layer) other.remove();
    }
    layer.addTo(map);
  };
  map.on('zoomend', show);
  show();
}

function escapeHtml(text) {
  const div = document.createElement('div');
  div.textContent = text;
  return div.innerHTML;
}

function lonToTileX(lon, n) {
  return Math.floor(((lon + 180) / 360) * n);
}

function latToTileY(lat, n) {
  const rad = (Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180;
  return Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n);
}

/** The XYZ tiles covering the map's current view, at the rounded zoom clamped to 0..20. */
export function visibleTiles(map) {
  const z = Math.max(0, Math.min(MAX_TILE_ZOOM, Math.round(map.getZoom())));
  const n = 2 ** z;
  const b = map.getBounds();
  const clampIndex = (i) => Math.max(0, Math.min(n - 1, i));
  const x0 = clampIndex(lonToTileX(Math.max(-180, b.getWest()), n));
  const x1 = clampIndex(lonToTileX(Math.min(180, b.getEast()) - 1e-9, n));
  const y0 = clampIndex(latToTileY(b.getNorth(), n));
  const y1 = clampIndex(latToTileY(b.getSouth(), n));
  const tiles = [];
  for (let x = x0; x <= x1; x += 1) {
    for (let y = y0; y <= y1; y += 1) tiles.push({ z, x, y });
  }
  return tiles;
}

function clusterSize(count) {
  if (count < 10) return 26;
  if (count < 50) return 32;
  if (count < 200) return 38;
  if (count < 1000) return 44;
  return 50;
}

/**
 * The data layer: keeps one layer group per visible tile, fetches missing tiles (aborting
 * those the view has left), and caches answers per filter set.
 */
/**
 * Hides the markers that a map control (legend, zoom buttons, attribution) covers, even in part,
 * until the view moves them out: the visible sliver of a cluster under the legend is a target too
 * small to hit (WCAG 2.5.8), and a hidden marker also leaves the tab order. The list still names
 * every initiative in view.
 */
function hideCovered(map) {
  const container = map.getContainer();
  const controls = [...container.querySelectorAll('.leaflet-control')]
    .map((control) => control.getBoundingClientRect())
    .filter((r) => r.width > 0 && r.height > 0);
  for (const node of container.querySelectorAll('.leaflet-marker-pane [role="button"], .leaflet-overlay-pane [role="button"]')) {
    // Visibility leaves the box where it is: measured the same hidden or not.
    const r = node.getBoundingClientRect();
    const covered = controls.some((c) => r.left < c.right && r.right > c.left && r.top < c.bottom && r.bottom > c.top);
    node.classList.toggle('covered', covered);
  }
}

/** Calls `action` when Enter or Space is pressed on `node` (a marker made a button). */
function onActivate(node, action) {
  node.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' && event.key !== ' ') return;
    event.preventDefault();
    event.stopPropagation();
    action();
  });
}

export class TileData {
  constructor(map, { onSelect, onCluster, onError }) {
    this.map = map;
    this.handlers = { onSelect, onCluster, onError };
    this.layer = L.layerGroup().addTo(map);
    this.cache = new Map(); // key -> FeatureCollection
    this.shown = new Map(); // key -> L.LayerGroup
    this.stale = new Set(); // layer groups still drawn while their replacements load
    this.inflight = new Map(); // key -> AbortController
    this.points = new Map(); // initiative id -> circle marker
    this.selected = null;
    this.hovered = null;
    this.renderer = L.svg({ padding: 0.3 });
    this.coverFrame = 0;
    const recheck = () => this.scheduleCover();
    map.on('moveend zoomend resize', recheck);
    // A control that opens or closes (the legend's <details>, the attribution) changes what it covers.
    map.getContainer().addEventListener('toggle', recheck, true);
    map.getContainer().addEventListener('click', recheck, true);
  }

  /** Hides, a frame later, the markers a map control covers (see `hideCovered`). */
  scheduleCover() {
    if (this.coverFrame) return;
    this.coverFrame = requestAnimationFrame(() => {
      this.coverFrame = 0;
      hideCovered(this.map);
    });
  }

  /** Shows the tiles of the current view for the filters of `state`. */
  update(state) {
    const fkey = filterKey(state);
    const wanted = new Map();
    for (const t of visibleTiles(this.map)) wanted.set(`${fkey}|${t.z}/${t.x}/${t.y}`, t);

    for (const [key, controller] of this.inflight) {
      if (!wanted.has(key)) {
        controller.abort();
        this.inflight.delete(key);
      }
    }
    // Tiles no longer wanted stay drawn until the new ones are in, so zooming does not flash empty.
    for (const [key, group] of this.shown) {
      if (!wanted.has(key)) {
        this.shown.delete(key);
        this.stale.add(group);
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
      api.tile(t.z, t.x, t.y, state, controller.signal).then(
        (fc) => {
          if (this.inflight.get(key) !== controller) return;
          this.inflight.delete(key);
          this.remember(key, fc);
          this.show(key, fc);
          this.settle();
        },
        (err) => {
          if (this.inflight.get(key) === controller) this.inflight.delete(key);
          if (!isAbort(err)) this.handlers.onError(`Could not load the map data: ${err.message}`);
          this.settle();
        },
      );
    }
    this.settle();
  }

  dropStale() {
    for (const group of this.stale) {
      this.layer.removeLayer(group);
      group.eachLayer((layer) => {
        if (layer.featureId && this.points.get(layer.featureId) === layer) this.points.delete(layer.featureId);
      });
    }
    this.stale.clear();
  }

  settle() {
    const busy = this.inflight.size > 0;
    if (!busy) this.dropStale();
    this.map.getContainer().setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  remember(key, fc) {
    this.cache.set(key, fc);
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value);
  }

  show(key, fc) {
    const group = L.layerGroup();
    for (const feature of fc.features || []) {
      const layer = this.draw(feature);
      if (layer) group.addLayer(layer);
    }
    this.shown.set(key, group);
    this.layer.addLayer(group);
    this.scheduleCover();
  }

  draw(feature) {
    const coords = feature.geometry && feature.geometry.coordinates;
    if (!Array.isArray(coords) || coords.length < 2) return null;
    const latlng = L.latLng(coords[1], coords[0]);
    const p = feature.properties || {};
    return p.cluster ? this.drawCluster(latlng, p) : this.drawPoint(latlng, feature);
  }

  drawCluster(latlng, p) {
    const count = Number(p.point_count) || 0;
    const size = clusterSize(count);
    const label = document.createElement('span');
    label.className = 'cluster-count';
    label.textContent = count >= 10000 ? `${Math.round(count / 1000)}k` : String(count);
    const marker = L.marker(latlng, {
      icon: L.divIcon({
        className: `cluster cluster-${size}`,
        html: label,
        iconSize: [size, size],
      }),
      keyboard: true,
      riseOnHover: true,
      bubblingMouseEvents: false,
    });
    marker.on('add', () => {
      const node = marker.getElement();
      node.setAttribute('role', 'button');
      node.setAttribute('aria-label', t('map.cluster', { count }));
      node.dataset.clusterId = String(p.cluster_id);
      node.dataset.count = String(count);
      node.dataset.expansionZoom = String(p.expansion_zoom);
      onActivate(node, () => this.handlers.onCluster(latlng, Number(p.expansion_zoom), p, true));
    });
    marker.on('click', () => this.handlers.onCluster(latlng, Number(p.expansion_zoom), p));
    return marker;
  }

  drawPoint(latlng, feature) {
    const p = feature.properties || {};
    const id = feature.id != null ? String(feature.id) : null;
    const marker = L.circleMarker(latlng, {
      renderer: this.renderer,
      radius: 7,
      color: '#ffffff',
      weight: 1.5,
      // A closed initiative (shown only when asked for) is grey: kept for history.
      fillColor: p.status === 'closed' ? '#8a8f93' : kindColour(p.kind),
      fillOpacity: 0.92,
      className: p.status === 'closed' ? 'point point-closed' : 'point',
      bubblingMouseEvents: false,
    });
    marker.featureId = id;
    const tip = document.createElement('span');
    tip.textContent = String(p.name ?? '');
    marker.bindTooltip(tip, { direction: 'top', offset: [0, -6] });
    marker.on('add', () => {
      const node = marker.getElement();
      if (node && id) {
        node.dataset.id = id;
        // A point is a button for the keyboard too (Tab, then Enter or Space).
        node.setAttribute('tabindex', '0');
        node.setAttribute('role', 'button');
        node.setAttribute('aria-label', String(p.name ?? id));
        onActivate(node, () => this.handlers.onSelect(id, latlng, p.name, true));
      }
      if (id === this.selected || id === this.hovered) this.highlight(marker, true);
    });
    marker.on('click', () => {
      if (id) this.handlers.onSelect(id, latlng, p.name);
    });
    if (id) this.points.set(id, marker);
    return marker;
  }

  highlight(marker, on) {
    marker.setStyle(on ? { color: '#1b2530', weight: 3, radius: 9 } : { color: '#ffffff', weight: 1.5, radius: 7 });
    if (on) marker.bringToFront();
  }

  /** Emphasises the marker of a list entry under the pointer or focus (null: none). */
  setHovered(id) {
    const previous = this.hovered;
    this.hovered = id;
    if (previous && previous !== this.selected && this.points.has(previous)) {
      this.highlight(this.points.get(previous), false);
    }
    if (id && this.points.has(id)) this.highlight(this.points.get(id), true);
  }

  /** Marks the selected initiative on the map (if it is drawn as a single point). */
  setSelected(id) {
    if (this.selected && this.selected !== this.hovered && this.points.has(this.selected)) {
      this.highlight(this.points.get(this.selected), false);
    }
    this.selected = id;
    if (id && this.points.has(id)) this.highlight(this.points.get(id), true);
  }
}
