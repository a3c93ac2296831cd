// point-map.js – the moderation page's small maps: one point on the country outlines, which a
// curator can click or drag elsewhere when correcting a location. Each is removed when the part of
// the page holding it is re-rendered or the curator signs out.

import L from './leaflet.js';
import { api } from './api.js';
import { t } from './i18n.js';
import { zoomButtons } from './map.js';

const maps = new Set(); // the maps shown, until removed

let outlinesPromise = null;
/** Country outlines for the small maps, fetched once. */
function outlines() {
  if (!outlinesPromise) outlinesPromise = api.outlinesOverview().catch(() => null);
  return outlinesPromise;
}

/** A small map of one point in `container`; with `onMove(lon, lat)` the point can be clicked or dragged elsewhere. */
export function pointMap(container, coordinates, onMove = null) {
  const [lon, lat] = Array.isArray(coordinates) ? coordinates.map(Number) : [NaN, NaN];
  const known = Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
  const map = L.map(container, {
    center: known ? [lat, lon] : [51, 10],
    zoom: known ? 6 : 3,
    minZoom: 2,
    maxZoom: 16,
    scrollWheelZoom: false,
    attributionControl: false,
    zoomControl: false,
  });
  zoomButtons('topleft').addTo(map);
  maps.add(map);
  outlines().then((geojson) => {
    if (geojson && maps.has(map)) {
      L.geoJSON(geojson, { interactive: false, style: { color: '#a3aab0', weight: 0.8, fillColor: '#f6f4ef', fillOpacity: 1 } }).addTo(map);
    }
  });
  const marker = L.marker(known ? [lat, lon] : [51, 10], {
    draggable: Boolean(onMove),
    keyboard: false,
    title: onMove ? t('moderate.map.movable') : t('moderate.map.location'),
    icon: L.divIcon({ className: 'point-pin', html: '', iconSize: [22, 22], iconAnchor: [11, 22] }),
  });
  if (known) marker.addTo(map);
  if (onMove) {
    const moved = (at) => {
      const w = at.wrap();
      marker.setLatLng(w);
      if (!map.hasLayer(marker)) marker.addTo(map);
      onMove(w.lng, w.lat);
    };
    marker.on('dragend', () => moved(marker.getLatLng()));
    map.on('click', (event) => moved(event.latlng));
  }
  return {
    map,
    move(x, y) {
      marker.setLatLng([y, x]);
      if (!map.hasLayer(marker)) marker.addTo(map);
      map.panTo([y, x]);
    },
  };
}

/** Removes the small maps inside `root` (every one without it). */
export function removeMaps(root = null) {
  for (const map of [...maps]) {
    if (root && !root.contains(map.getContainer())) continue;
    map.remove();
    maps.delete(map);
  }
}
