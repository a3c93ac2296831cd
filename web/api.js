// api.js – talks to the skillsmap HTTP API: builds query strings from filters and fetches JSON.

/** The filter parameters the API accepts (any others are rejected with HTTP 400). */
export const FILTER_KEYS = ['skill_area', 'target_group', 'kind', 'country', 'status'];

/** An error carrying the API's problem `detail`, or a network failure description. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** True for errors caused by an aborted fetch: those are expected and never shown. */
export function isAbort(err) {
  return err != null && err.name === 'AbortError';
}

/** URLSearchParams with the filters of `state` (only non-empty ones). */
export function filterParams(state) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const values = state.filters[key];
    if (values && values.length) params.set(key, values.join(','));
  }
  if (state.q && state.q.trim()) params.set('q', state.q.trim());
  return params;
}

/**
 * The Atom feed of what the state shows: its filters, and the region chosen in the Coverage
 * mode (a country at the country level, else a NUTS region).
 */
export function feedHref(state) {
  const params = filterParams(state);
  if (state.region) params.set(state.level === 'country' ? 'country' : 'nuts', state.region);
  params.set('f', 'atom');
  return `/collections/initiatives/items?${params.toString().replace(/%2C/g, ',')}`;
}

/** A stable string for the filters, used as part of cache keys. */
export function filterKey(state) {
  return filterParams(state).toString();
}

function withParams(path, params) {
  const qs = params && params.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * Counts work in progress (fetches and scheduled refreshes) on <html data-pending>, so that
 * tests and assistive tooling can tell when the page has settled.
 */
export function beginWork() {
  const root = document.documentElement;
  root.dataset.pending = String(Number(root.dataset.pending || 0) + 1);
}

export function endWork() {
  const root = document.documentElement;
  root.dataset.pending = String(Math.max(0, Number(root.dataset.pending || 0) - 1));
}

/** Fetches JSON from the same origin; throws ApiError with the server's `detail` on failure. */
export async function getJson(path, params, signal) {
  beginWork();
  try {
    return await fetchJson(path, params, signal);
  } finally {
    endWork();
  }
}

async function fetchJson(path, params, signal) {
  let response;
  try {
    response = await fetch(withParams(path, params), {
      signal,
      headers: { Accept: 'application/json, application/geo+json' },
    });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError('The server could not be reached.', 0);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`.trim();
    try {
      const problem = await response.json();
      if (problem && typeof problem.detail === 'string') detail = problem.detail;
    } catch (_) {
      // Not JSON: keep the status line.
    }
    throw new ApiError(detail, response.status);
  }
  try {
    return await response.json();
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError('The server sent an unreadable answer.', response.status);
  }
}

/** A bbox parameter value for Leaflet bounds, clamped to valid WGS84 ranges. */
export function bboxParam(bounds) {
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  let west = bounds.getWest();
  let east = bounds.getEast();
  if (east - west >= 360) {
    west = -180;
    east = 180;
  }
  const r = (v) => Number(v.toFixed(5));
  return [
    r(clamp(west, -180, 180)),
    r(clamp(bounds.getSouth(), -90, 90)),
    r(clamp(east, -180, 180)),
    r(clamp(bounds.getNorth(), -90, 90)),
  ].join(',');
}

export const api = {
  config: (signal) => getJson('/config.json', null, signal),
  vocabularies: (signal) => getJson('/vocabularies', null, signal),
  /** Outlines (a level of the countries', or a level's regions) at a URL /config.json gives. */
  outlines: (url, signal) => getJson(url, null, signal),

  /** The coarsest level of the country outlines (small maps, countries' extents), or null. */
  async outlinesOverview(signal) {
    const config = await getJson('/config.json', null, signal);
    const level = Array.isArray(config.outlines) ? config.outlines[0] : null;
    return level ? getJson(level.url, null, signal) : null;
  },

  tile(z, x, y, state, signal) {
    return getJson(`/tiles/${z}/${x}/${y}.geojson`, filterParams(state), signal);
  },

  facets(state, bbox, signal) {
    const params = filterParams(state);
    if (bbox) params.set('bbox', bbox);
    return getJson('/facets', params, signal);
  },

  items(state, bbox, limit, signal, offset = 0) {
    const params = filterParams(state);
    if (bbox) params.set('bbox', bbox);
    params.set('limit', String(limit));
    if (offset) params.set('offset', String(offset));
    return getJson('/collections/initiatives/items', params, signal);
  },

  /** The towns where one more matching initiative would reach the most people (`/coverage/suggest`). */
  missing(params, signal) {
    return getJson('/coverage/suggest', params, signal);
  },

  /** A level's coverage table (`/coverage`): the figures of each region, for the filters. */
  coverage(level, params, signal) {
    const query = new URLSearchParams(params);
    query.set('level', level);
    return getJson('/coverage', query, signal);
  },

  item(id, signal) {
    return getJson(`/collections/initiatives/items/${encodeURIComponent(id)}`, null, signal);
  },

  /** Initiatives near a point: within `radiusKm`, or without it the `limit` nearest. */
  near(state, lat, lon, radiusKm, limit, signal) {
    const params = filterParams(state);
    params.set('lat', lat.toFixed(5));
    params.set('lon', lon.toFixed(5));
    if (radiusKm != null) params.set('radius_km', String(radiusKm));
    params.set('limit', String(limit));
    return getJson('/near', params, signal);
  },

  /** Places whose name starts with `q` (the service's gazetteer). */
  places(q, limit, signal) {
    return getJson('/places', new URLSearchParams({ q, limit: String(limit) }), signal);
  },

  /** Initiatives whose text matches `q`, a few for the search box's suggestions. */
  search(q, limit, signal) {
    return getJson('/collections/initiatives/items', new URLSearchParams({ q, limit: String(limit) }), signal);
  },

  labels(z, x, y, signal) {
    return getJson(`/places/labels/${z}/${x}/${y}.geojson`, null, signal);
  },

  /** The initiatives of a cluster (with the filters of `state`), for a list. */
  leaves(clusterId, state, limit, signal) {
    const params = filterParams(state);
    params.set('limit', String(limit));
    return getJson(`/clusters/${encodeURIComponent(clusterId)}/leaves`, params, signal);
  },
};
