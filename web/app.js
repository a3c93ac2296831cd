// app.js – starts the page: loads configuration and vocabularies, then wires map, panel, popups, near search and URL state.

import L from './leaflet.js';
import { api, bboxParam, beginWork, endWork, feedHref, isAbort } from './api.js';
import { formatState, hashParams, parseState, writeUrl as writeAddress } from './state.js';
import { createMap, TileData } from './map.js';
import { Panel, showMessage } from './panel.js';
import { labeller, popupContent, loadingContent, errorContent, colocatedContent } from './popup.js';
import { PlaceSearch } from './places.js';
import { PlaceLabels } from './labels.js';
import { Near } from './near.js';
import { MapStatus } from './map-status.js';
import { legendControl } from './legend.js';
import { setupPropose } from './propose.js';
import { CoverageView } from './coverage.js';
import { setupLanguage } from './language.js';
import { t } from './i18n.js';
import { afterNextPaint, yieldToMain } from './slices.js';

const LIST_LIMIT = 200;
const COLOCATED_LIMIT = 100;
const SIDEBAR_DELAY_MS = 200;
const EMPTY_VOCABULARIES = { skill_areas: [], target_groups: [], kinds: [], countries: [] };

let state = parseState(window.location.hash);
const narrow = () => window.matchMedia('(max-width: 699px)').matches;
// A phone shows less of Europe at the same zoom and more north-south: start further out and north.
const given = hashParams(window.location.hash);
if (narrow() && !given.has('z')) state.zoom -= 1;
if (narrow() && !given.has('c')) state.center = [55, 12];

let restoring = false; // true while the view is set from the URL: no history writes then
let pushNextMove = false; // a deliberate zoom (cluster click) gets its own history entry
const known = new Map(); // initiative id -> feature seen in a list (for its position)

/** Writes the state into the address bar, and into the links that carry it. */
function writeUrl(state, push) {
  writeAddress(state, push);
  document.getElementById('follow-view').href = feedHref(state);
}

async function start() {
  // Configuration and vocabularies do not depend on the language: all three load at once.
  const settled = Promise.allSettled([api.config(), api.vocabularies()]);
  await setupLanguage(state);
  // The page's own HTML, in its language, is painted before the map's work begins: that first
  // frame is what a visitor sees (and what Lighthouse takes for the largest paint).
  await afterNextPaint();
  let config = {};
  let vocabularies = EMPTY_VOCABULARIES;
  const [configResult, vocabResult] = await settled;
  if (configResult.status === 'fulfilled' && configResult.value) config = configResult.value;
  if (vocabResult.status === 'fulfilled' && vocabResult.value) vocabularies = { ...EMPTY_VOCABULARIES, ...vocabResult.value };
  else showMessage(t('error.filters', { error: vocabResult.reason?.message ?? '?' }));

  const label = labeller(vocabularies);
  let panel = null;
  const report = showMessage;

  const map = createMap(document.getElementById('map'), state, config, report);
  // A visitor can move the map while the rest starts (between its tasks): that view is kept.
  let movedEarly = false;
  const earlyMove = () => {
    movedEarly = true;
  };
  map.on('moveend', earlyMove);
  // Start-up is split into tasks (the map; its controls and labels; its layers; search and near;
  // the panel; the view): in one, it was a long task that held back a phone's first input.
  await yieldToMain();
  legendControl(vocabularies.kinds || []).addTo(map);
  if (config.labels) new PlaceLabels(map, report);
  setupPropose(map, vocabularies);

  const popup = L.popup({ maxWidth: 340, minWidth: 240, autoPanPadding: [24, 24], className: 'initiative-popup' });
  let popupController = null;
  await yieldToMain();

  const tiles = new TileData(map, {
    onSelect: (id, latlng, name, keyboard) => select(id, { latlng, name, push: true, focus: keyboard }),
    onCluster: (latlng, zoom, cluster, keyboard) => {
      // Members the deepest zoom cannot separate (one address, one building) are listed.
      if (zoom > map.getMaxZoom() || map.getZoom() >= map.getMaxZoom()) {
        showColocated(latlng, cluster, keyboard);
        return;
      }
      const target = Number.isFinite(zoom) && zoom > map.getZoom() ? zoom : map.getZoom() + 1;
      pushNextMove = true;
      map.setView(latlng, Math.min(target, map.getMaxZoom()));
      // The cluster is gone after the zoom: the keyboard goes on from the map.
      if (keyboard) map.getContainer().focus();
    },
    onError: report,
  });

  // The Coverage mode: a choropleth and table of regions instead of the clusters.
  const coverage = new CoverageView(map, config.region_outlines || {}, {
    onChange: (partial, push) => {
      Object.assign(state, partial);
      writeUrl(state, push);
      coverage.update(state);
    },
    onError: report,
  });

  /** Shows the clusters (map mode) or the choropleth (coverage mode) of the state. */
  function showMode() {
    const covering = state.mode === 'coverage';
    document.body.classList.toggle('mode-coverage', covering);
    document.documentElement.classList.remove('start-coverage');
    document.getElementById('coverage').hidden = !covering;
    document.getElementById('mode-map').setAttribute('aria-pressed', String(!covering));
    document.getElementById('mode-coverage').setAttribute('aria-pressed', String(covering));
    if (covering) {
      map.removeLayer(tiles.layer);
      coverage.update(state);
    } else {
      coverage.hide();
      if (!map.hasLayer(tiles.layer)) tiles.layer.addTo(map);
      tiles.update(state);
      if (listStale) scheduleSidebar();
    }
  }

  for (const mode of ['map', 'coverage']) {
    document.getElementById(`mode-${mode}`).addEventListener('click', () => {
      if (state.mode === mode) return;
      state.mode = mode;
      if (mode === 'coverage') closePopup();
      writeUrl(state, true);
      showMode();
    });
  }

  /**
   * Opens the popup of initiative `id`; `push` records it in the history; `focus` (a keyboard
   * user's choice) moves the focus into the popup, and Escape brings it back.
   */
  function select(id, { latlng = null, name = null, push = false, pan = true, focus = false } = {}) {
    if (focus) keepOpener();
    state.selected = id;
    if (push && !restoring) writeUrl(state, true);
    tiles.setSelected(id);
    panel.setSelected(id);
    const seen = known.get(id);
    if (!latlng && seen?.geometry?.coordinates) {
      latlng = L.latLng(seen.geometry.coordinates[1], seen.geometry.coordinates[0]);
    }
    if (!name && seen) name = seen.properties?.name;
    popup.options.autoPan = pan;
    popup.options.maxWidth = Math.min(340, window.innerWidth - 64);
    popup.options.minWidth = Math.min(240, window.innerWidth - 64);
    if (latlng) {
      popup.setLatLng(latlng).setContent(loadingContent(name));
      if (!map.hasLayer(popup)) popup.openOn(map);
    }
    if (popupController) popupController.abort();
    const controller = new AbortController();
    popupController = controller;
    api.item(id, controller.signal).then(
      (feature) => {
        if (popupController !== controller) return;
        popupController = null;
        const c = feature.geometry?.coordinates;
        if (!latlng && Array.isArray(c)) popup.setLatLng(L.latLng(c[1], c[0]));
        popup.setContent(popupContent(feature, label));
        if (!map.hasLayer(popup)) popup.openOn(map);
        popup.update();
        popup.options.autoPan = true;
        if (focus) focusPopup();
      },
      (err) => {
        if (isAbort(err) || popupController !== controller) return;
        popupController = null;
        popup.options.autoPan = true;
        if (latlng) popup.setContent(errorContent(t('popup.loadFailed', { error: err.message })));
        else report(t('error.selected', { error: err.message }));
      },
    );
  }

  /** A popup listing the initiatives of a cluster that no zoom of this map separates. */
  function showColocated(latlng, cluster, focus = false) {
    closePopup();
    if (focus) keepOpener();
    const count = Number(cluster.point_count) || 0;
    const controller = new AbortController();
    popupController = controller;
    popup.options.autoPan = true;
    popup.setLatLng(latlng).setContent(loadingContent(t('popup.here', { count })));
    popup.openOn(map);
    api.leaves(cluster.cluster_id, state, COLOCATED_LIMIT, controller.signal).then(
      (fc) => {
        if (popupController !== controller) return;
        popupController = null;
        for (const f of fc.features || []) known.set(String(f.id), f);
        const content = colocatedContent(fc.features || [], Number(fc.numberMatched ?? count));
        content.addEventListener('click', (event) => {
          const button = event.target.closest('.result');
          if (!button) return;
          // The list is replaced at once: a click whose target has left the popup would
          // reach the map as a click beside the popup, and close it.
          event.stopPropagation();
          select(button.dataset.id, { latlng, push: true, focus: event.detail === 0 });
        });
        popup.setContent(content);
        popup.update();
        if (focus) focusPopup();
      },
      (err) => {
        if (isAbort(err) || popupController !== controller) return;
        popupController = null;
        popup.setContent(errorContent(t('popup.listFailed', { error: err.message })));
      },
    );
  }

  // Where the focus was when a popup was opened from the keyboard, to return it on Escape.
  let opener = null;
  function keepOpener() {
    const active = document.activeElement;
    const inPopup = popup.getElement()?.contains(active);
    if (!inPopup) opener = active && active !== document.body ? active : null;
  }

  function focusPopup() {
    const content = popup.getElement()?.querySelector('.popup');
    if (!content) return;
    content.tabIndex = -1;
    content.focus();
  }

  /** Escape in the popup or on the map closes the popup; the focus goes back where it was. */
  document.addEventListener(
    'keydown',
    (event) => {
      if (event.key !== 'Escape' || !map.hasLayer(popup)) return;
      const active = document.activeElement;
      const inPopup = popup.getElement()?.contains(active);
      if (!inPopup && !map.getContainer().contains(active) && active !== opener) return;
      event.stopPropagation();
      closePopup();
      const back = opener && opener.isConnected && opener.getClientRects().length ? opener : map.getContainer();
      opener = null;
      back.focus();
    },
    true,
  );

  function closePopup() {
    if (popupController) popupController.abort();
    popupController = null;
    if (map.hasLayer(popup)) map.closePopup(popup);
  }

  map.on('popupclose', (event) => {
    if (event.popup !== popup || restoring) return;
    if (popupController) popupController.abort();
    popupController = null;
    if (state.selected) {
      state.selected = null;
      tiles.setSelected(null);
      panel.setSelected(null);
      writeUrl(state, true);
    }
  });

  // The list and the facet counts follow the view, a little after it stops moving.
  let sidebarTimer = null;
  let listController = null;
  let facetController = null;
  let listBbox = null;
  let listStale = false; // the list was not loaded for the view (the Coverage mode hides it)
  function scheduleSidebar() {
    if (sidebarTimer) clearTimeout(sidebarTimer);
    else beginWork();
    panel.setListBusy();
    sidebarTimer = setTimeout(() => {
      sidebarTimer = null;
      endWork();
      loadSidebar();
    }, SIDEBAR_DELAY_MS);
  }

  function loadSidebar() {
    const bbox = bboxParam(map.getBounds());
    if (listController) listController.abort();
    if (facetController) facetController.abort();
    const lc = new AbortController();
    const fcn = new AbortController();
    listController = lc;
    facetController = fcn;
    listBbox = bbox;
    // The Coverage mode hides the list: it is loaded when the map mode shows it again.
    listStale = state.mode === 'coverage';
    if (!listStale) loadList(lc, bbox);
    api.facets(state, bbox, fcn.signal).then(
      (facets) => {
        if (facetController === fcn) panel.setCounts(facets);
      },
      (err) => {
        if (!isAbort(err) && facetController === fcn) report(t('error.counts', { error: err.message }));
      },
    );
  }

  function loadList(lc, bbox) {
    api.items(state, bbox, LIST_LIMIT, lc.signal).then(
      (fc) => {
        if (listController !== lc) return;
        for (const f of fc.features || []) known.set(String(f.id), f);
        panel.setList(fc);
      },
      (err) => {
        if (isAbort(err) || listController !== lc) return;
        document.getElementById('list-summary').textContent = t('list.failed');
        document.getElementById('list').setAttribute('aria-busy', 'false');
        report(t('error.list', { error: err.message }));
      },
    );
  }

  /** The list's next page (the list pages beyond LIST_LIMIT). */
  function loadMore() {
    if (listController) listController.abort();
    const lc = new AbortController();
    listController = lc;
    api.items(state, listBbox, LIST_LIMIT, lc.signal, panel.listed()).then(
      (fc) => {
        if (listController !== lc) return;
        for (const f of fc.features || []) known.set(String(f.id), f);
        panel.setList(fc, true);
      },
      (err) => {
        if (!isAbort(err) && listController === lc) report(t('error.list', { error: err.message }));
      },
    );
  }

  await yieldToMain();

  // On a phone, what the closed drawer hides: the filters that are on, what "near" found.
  const status = new MapStatus({
    onClearFilters: () => panel.clearAll(),
    onWiden: (km) => setRadius(km, true, true),
    onList: () => {
      panel.setDrawer(true);
      document.getElementById(state.near ? 'near-results' : 'list-block').scrollIntoView({ block: 'start' });
    },
  });

  // Near a place.
  let radiusTimer = null;
  /** A new radius; a final one is a history entry, and `fit` brings the whole circle in view. */
  function setRadius(km, final, fit = false) {
    state.radius = km;
    clearTimeout(radiusTimer);
    if (final) {
      writeUrl(state, true);
      near.update(state);
      if (state.near && (fit || narrow())) map.fitBounds(near.bounds(state));
    } else {
      radiusTimer = setTimeout(() => near.update(state), 150);
    }
  }
  const near = new Near(map, label, {
    onPoint: (lat, lon, fit) => {
      state.near = { lat, lon };
      state.place = null;
      writeUrl(state, true);
      near.update(state);
      // On a phone the results are seen on the map: the whole circle is brought in view.
      if (fit || narrow()) map.fitBounds(near.bounds(state));
    },
    onRadius: (km, final) => setRadius(km, final),
    onWiden: (km) => setRadius(km, true, true),
    onShown: (summary, radius, empty) => status.setNear(summary, radius, empty),
    onClear: () => {
      state.near = null;
      state.place = null;
      writeUrl(state, true);
      near.update(state);
    },
    onPicking: () => panel.closeDrawerIfNarrow(),
    onError: report,
    onResults: (fc) => {
      for (const f of fc.features || []) known.set(String(f.id), f);
      panel.setSelected(state.selected);
    },
  });

  /** Filters or search changed: new history entry, reload everything that depends on them. */
  function filtersChanged() {
    writeUrl(state, true);
    status.setFilters(state);
    if (state.mode === 'coverage') coverage.update(state);
    else tiles.update(state);
    scheduleSidebar();
    if (state.near) near.update(state);
  }

  // The search box also offers places and initiatives as one types (created before the panel,
  // so that Enter on a chosen option is the combobox's, not the text search's).
  const search = document.getElementById('search');
  new PlaceSearch(search, document.getElementById('search-options'), {
    onPlace: (feature) => {
      const [lon, lat] = feature.geometry.coordinates;
      const p = feature.properties || {};
      // The place replaces the text: initiatives are then listed by distance from it.
      search.value = '';
      state.q = '';
      state.near = { lat, lon };
      state.place = String(p.name || '').slice(0, 100) || null;
      panel.closeDrawerIfNarrow();
      filtersChanged();
      const b = feature.bbox;
      if (Array.isArray(b) && b.length === 4) map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
      else map.fitBounds(near.bounds(state));
      document.getElementById('near-results').scrollIntoView({ block: 'nearest' });
    },
    onInitiative: (feature) => {
      const c = feature.geometry?.coordinates;
      known.set(String(feature.id), feature);
      panel.closeDrawerIfNarrow();
      if (Array.isArray(c)) {
        const latlng = L.latLng(c[1], c[0]);
        pushNextMove = true;
        map.setView(latlng, Math.max(map.getZoom(), Math.min(10, map.getMaxZoom())));
        select(String(feature.id), { latlng, name: feature.properties?.name, push: true });
      } else select(String(feature.id), { push: true });
    },
    onError: report,
  });

  await yieldToMain();
  panel = new Panel(vocabularies, label, {
    onFilters: (filters) => {
      state.filters = filters;
      filtersChanged();
    },
    onSearch: (q) => {
      if (q === state.q) return;
      state.q = q;
      filtersChanged();
    },
    onClear: () => {
      state.filters = panel.filters();
      state.q = '';
      filtersChanged();
    },
    onHover: (id) => tiles.setHovered(id),
    onPick: (id, keyboard) => {
      panel.closeDrawerIfNarrow();
      select(id, { push: true, focus: keyboard });
    },
    onMore: () => loadMore(),
  });
  panel.setState(state);
  await yieldToMain();

  // <html data-moving> tells tests (and curious developers) that the view is still changing.
  map.on('movestart zoomstart', () => {
    document.documentElement.dataset.moving = '1';
  });
  map.on('moveend', () => {
    document.documentElement.dataset.moving = '0';
    const c = map.getCenter();
    state.center = [c.lat, c.lng];
    state.zoom = map.getZoom();
    if (!restoring) writeUrl(state, pushNextMove);
    pushNextMove = false;
    if (state.mode !== 'coverage') tiles.update(state);
    scheduleSidebar();
  });

  /** Shows a state read from the URL (start-up and back/forward). */
  function apply(next) {
    restoring = true;
    try {
      state = next;
      panel.setState(state);
      status.setFilters(state);
      map.setView(state.center, state.zoom, { animate: false });
      showMode();
      scheduleSidebar();
      near.update(state);
      if (state.selected) select(state.selected, { pan: false });
      else {
        closePopup();
        tiles.setSelected(null);
        panel.setSelected(null);
      }
    } finally {
      restoring = false;
    }
  }

  // Back/forward, and a hash edited by hand: show what the URL says (unless it is shown already).
  const restore = () => {
    if (window.location.hash === formatState(state)) return;
    const next = parseState(window.location.hash);
    // Another language is shown by loading the page again in it.
    if (next.lang !== state.lang) window.location.reload();
    else apply(next);
  };
  window.addEventListener('popstate', restore);
  window.addEventListener('hashchange', restore);

  map.off('moveend', earlyMove);
  if (movedEarly) {
    const c = map.getCenter();
    state.center = [c.lat, c.lng];
    state.zoom = map.getZoom();
  }
  apply(state);
  writeUrl(state, false);
}

// Start-up is work in progress (<html data-pending>) until the state is shown: it yields to the
// browser between its steps, and the page has not settled in between.
beginWork();
start()
  .catch((err) => {
    showMessage(t('error.start', { error: err && err.message ? err.message : String(err) }));
  })
  .finally(endWork);
