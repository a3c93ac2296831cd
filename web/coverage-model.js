// coverage-model.js – what the Coverage mode computes without a page: class breaks, colours, sorting, number formats, query parameters.

import { filterParams } from './api.js';
import { formatNumber } from './i18n.js';


/** Measures that are shares of a gap: fixed fifths, and darker is worse. */
const GAP_MEASURES = ['gap_share', 'people_gap_share'];
// Light to dark; for gap share dark means a larger gap (worse), for the others more initiatives.
export const GREENS = ['#edf8e9', '#bae4b3', '#74c476', '#31a354', '#006d2c'];
export const REDS = ['#fee5d9', '#fcae91', '#fb6a4a', '#de2d26', '#a50f15'];
export const NO_DATA = '#d9d9d9';

/** A measure's value as shown to people. */
export function formatMeasure(measure, value) {
  if (value == null || !Number.isFinite(Number(value))) return '–';
  if (GAP_MEASURES.includes(measure)) return formatNumber(Number(value), { style: 'percent', maximumFractionDigits: 0 });
  if (measure === 'per_100k') return formatNumber(Number(value), { maximumFractionDigits: 2 });
  return formatNumber(Number(value));
}

/**
 * Upper bounds of five classes for the values of a measure: fixed fifths for the gap share,
 * quantiles of the non-zero values otherwise (zero is its own, lightest class).
 */
export function classBreaks(measure, values) {
  if (GAP_MEASURES.includes(measure)) return [0.2, 0.4, 0.6, 0.8, 1];
  const known = values.filter((v) => v != null && Number.isFinite(v) && v > 0).sort((a, b) => a - b);
  if (!known.length) return [0, 0, 0, 0, 0];
  const at = (q) => known[Math.min(known.length - 1, Math.floor(q * known.length))];
  return [0, at(0.25), at(0.5), at(0.75), known[known.length - 1]];
}

/** The colours of a measure's five classes. */
export function paletteFor(measure) {
  return GAP_MEASURES.includes(measure) ? REDS : GREENS;
}

export function colourFor(measure, value, breaks) {
  if (value == null || !Number.isFinite(value)) return NO_DATA;
  const palette = paletteFor(measure);
  const index = breaks.findIndex((upper) => value <= upper);
  return palette[index < 0 ? palette.length - 1 : index];
}

/**
 * Sorts region property objects by a key ('-' first for descending); unknown values last.
 * Names sort by the visitor's language's rules (Spanish puts Ñ after N, Polish Ł after L).
 */
export function sortRows(rows, sort, locale = 'en') {
  const descending = sort.startsWith('-');
  const key = descending ? sort.slice(1) : sort;
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    if (key === 'name') return sign * String(a.name).localeCompare(String(b.name), locale);
    const x = a[key];
    const y = b[key];
    if (x == null && y == null) return String(a.code).localeCompare(String(b.code));
    if (x == null) return 1;
    if (y == null) return -1;
    return sign * (x - y) || String(a.code).localeCompare(String(b.code));
  });
}

/** The query of a coverage request for the state's filters, level and gap distance. */
export function coverageParams(state) {
  const params = filterParams(state);
  params.set('gap_km', String(state.gap));
  return params;
}

/** The query of "where is help missing" for the state: its filters, gap distance and region. */
export function missingParams(state, k = 5) {
  const params = coverageParams(state);
  if (state.region) params.set('region', state.region);
  params.set('k', String(k));
  return params;
}

/**
 * The choropleth's FeatureCollection: each outline (from `/outlines/{level}.geojson`) with its
 * row of `/coverage`'s table as properties, and the table's totals. Outlines without a row
 * are left out, so the map shows what the table lists.
 */
export function joinRegions(outlines, table) {
  const rows = new Map((table.regions || []).map((row) => [String(row.code), row]));
  const features = [];
  for (const feature of outlines.features || []) {
    const row = rows.get(String(feature.id ?? feature.properties?.code));
    if (row) features.push({ type: 'Feature', id: row.code, geometry: feature.geometry, properties: row });
  }
  return {
    type: 'FeatureCollection',
    features,
    matched: table.matched,
    outside_regions: table.outside_regions,
    gap_km: table.gap_km,
    attribution: table.attribution,
  };
}
