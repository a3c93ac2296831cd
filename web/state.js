// state.js – the view state (centre, zoom, filters, search, selection, near point and place, language) and its URL-hash form.

import { FILTER_KEYS } from './api.js';
import { LANGUAGES } from './i18n.js';

export const DEFAULT_CENTER = [51.0, 10.0];
export const DEFAULT_ZOOM = 4;
export const DEFAULT_RADIUS_KM = 50;
export const MIN_RADIUS_KM = 5;
export const MAX_RADIUS_KM = 500;
export const MIN_ZOOM = 2;
export const MAX_ZOOM = 18;
// The Coverage mode: region level, measure the map is coloured by, gap distance, table order.
export const LEVELS = ['country', 'nuts1', 'nuts2', 'nuts3'];
export const MEASURES = ['count', 'per_100k', 'gap_share'];
export const SORT_KEYS = ['name', 'count', 'per_100k', 'gap_share'];
export const DEFAULT_LEVEL = 'nuts2';
export const DEFAULT_MEASURE = 'count';
export const DEFAULT_GAP_KM = 50;
export const DEFAULT_SORT = '-count';
const REGION_CODE = /^[A-Z]{2}[A-Z0-9]{0,3}$/;

/** A fresh default state. */
export function defaultState() {
  return {
    center: [...DEFAULT_CENTER],
    zoom: DEFAULT_ZOOM,
    filters: Object.fromEntries(FILTER_KEYS.map((k) => [k, []])),
    q: '',
    selected: null,
    near: null, // {lat, lon} or null
    place: null, // the name of the place chosen in the search box (with `near`), or null
    radius: DEFAULT_RADIUS_KM,
    mode: 'map', // or 'coverage'
    level: DEFAULT_LEVEL,
    measure: DEFAULT_MEASURE,
    gap: DEFAULT_GAP_KM,
    sort: DEFAULT_SORT,
    region: null, // the region code whose details are shown
    lang: null, // the interface's language when chosen (URL or switch) and not the default
  };
}

/** A deep copy, so callers can change one without touching the other. */
export function cloneState(state) {
  return {
    ...state,
    center: [...state.center],
    filters: Object.fromEntries(FILTER_KEYS.map((k) => [k, [...state.filters[k]]])),
    near: state.near ? { ...state.near } : null,
  };
}

function parseNumber(text, lo, hi) {
  if (text == null || text.trim() === '') return null;
  const n = Number(text);
  return Number.isFinite(n) && n >= lo && n <= hi ? n : null;
}

function parsePair(text, latRange = 90, lonRange = 180) {
  if (!text) return null;
  const parts = text.split(',');
  if (parts.length !== 2) return null;
  const lat = parseNumber(parts[0], -latRange, latRange);
  const lon = parseNumber(parts[1], -lonRange, lonRange);
  return lat == null || lon == null ? null : [lat, lon];
}

const SLUG = /^[A-Za-z0-9_-]{1,64}$/;

/** The parameters of a URL hash such as location.hash ('#c=…&z=…'; a leading '?' works too). */
export function hashParams(hash) {
  return new URLSearchParams(String(hash || '').replace(/^[#?]/, ''));
}

/** Reads the state from a URL hash such as location.hash; ignores what is malformed. */
export function parseState(hash) {
  const params = hashParams(hash);
  const state = defaultState();
  const center = parsePair(params.get('c'));
  if (center) state.center = center;
  const zoom = parseNumber(params.get('z'), MIN_ZOOM, MAX_ZOOM);
  if (zoom != null) state.zoom = Math.round(zoom);
  for (const key of FILTER_KEYS) {
    const raw = params.get(key);
    if (!raw) continue;
    const values = raw.split(',').filter((v) => SLUG.test(v));
    state.filters[key] = [...new Set(key === 'country' ? values.map((v) => v.toUpperCase()) : values)];
  }
  state.q = (params.get('q') || '').slice(0, 200);
  const sel = params.get('sel');
  state.selected = sel && sel.length <= 200 ? sel : null;
  const near = parsePair(params.get('near'));
  if (near) state.near = { lat: near[0], lon: near[1] };
  const place = (params.get('place') || '').trim();
  if (near && place) state.place = place.slice(0, 100);
  const radius = parseNumber(params.get('r'), MIN_RADIUS_KM, MAX_RADIUS_KM);
  if (radius != null) state.radius = Math.round(radius);
  if (params.get('mode') === 'coverage') state.mode = 'coverage';
  if (LEVELS.includes(params.get('level'))) state.level = params.get('level');
  if (MEASURES.includes(params.get('measure'))) state.measure = params.get('measure');
  const gap = parseNumber(params.get('gap'), 1, 1000);
  if (gap != null) state.gap = Math.round(gap);
  const sort = params.get('sort') || '';
  if (SORT_KEYS.includes(sort.replace(/^-/, ''))) state.sort = sort;
  const region = params.get('region');
  if (region && REGION_CODE.test(region)) state.region = region;
  if (LANGUAGES.includes(params.get('lang'))) state.lang = params.get('lang');
  return state;
}

/**
 * The URL hash (with leading '#') that represents the state. The hash, not the query string,
 * holds it: the page's own address stays '/', and the server never sees these parameters.
 */
export function formatState(state) {
  const params = new URLSearchParams();
  params.set('c', `${state.center[0].toFixed(4)},${state.center[1].toFixed(4)}`);
  params.set('z', String(Math.round(state.zoom)));
  for (const key of FILTER_KEYS) {
    if (state.filters[key].length) params.set(key, state.filters[key].join(','));
  }
  if (state.q) params.set('q', state.q);
  if (state.selected) params.set('sel', state.selected);
  if (state.near) {
    params.set('near', `${state.near.lat.toFixed(4)},${state.near.lon.toFixed(4)}`);
    if (state.place) params.set('place', state.place);
  }
  if (state.near || state.radius !== DEFAULT_RADIUS_KM) params.set('r', String(state.radius));
  if (state.mode === 'coverage') params.set('mode', 'coverage');
  if (state.level !== DEFAULT_LEVEL) params.set('level', state.level);
  if (state.measure !== DEFAULT_MEASURE) params.set('measure', state.measure);
  if (state.gap !== DEFAULT_GAP_KM) params.set('gap', String(state.gap));
  if (state.sort !== DEFAULT_SORT) params.set('sort', state.sort);
  if (state.region) params.set('region', state.region);
  if (state.lang) params.set('lang', state.lang);
  // Commas are safe in a fragment; keeping them readable makes links nicer.
  return `#${params.toString().replace(/%2C/g, ',')}`;
}

/**
 * Writes the state into the address bar: `push` adds a history entry (meaningful changes),
 * otherwise the current entry is replaced (pans and zooms). Nothing happens if unchanged.
 */
export function writeUrl(state, push) {
  const hash = formatState(state);
  if (hash === window.location.hash) return;
  const url = `${window.location.pathname}${window.location.search}${hash}`;
  if (push) window.history.pushState(null, '', url);
  else window.history.replaceState(null, '', url);
}
