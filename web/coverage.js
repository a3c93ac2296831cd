// coverage.js – the Coverage mode: a choropleth of countries or NUTS regions by a measure, its legend, a sortable table, CSV download and region details.

import L from './leaflet.js';
import { api, beginWork, endWork, isAbort } from './api.js';
import {
  NO_DATA,
  classBreaks,
  colourFor,
  coverageParams,
  formatMeasure,
  joinRegions,
  paletteFor,
  sortRows,
} from './coverage-model.js';
import { MissingView } from './missing.js';
import { el } from './dom.js';
import { MEASURES } from './state.js';
import { inSlices } from './slices.js';
import { formatNumber, language, t, termLabel } from './i18n.js';

/** A measure's name in the interface's language. */
function measureLabel(measure) {
  return t(`coverage.measure.${measure}`);
}

/** A region's row of the table: its name heads the row; Enter on it (a tab stop) selects it. */
function tableRow(row, region) {
  const tr = el('tr');
  tr.dataset.code = String(row.code);
  tr.dataset.gapShare = String(row.gap_share);
  tr.tabIndex = 0;
  if (row.code === region) tr.classList.add('selected');
  const name = el('th', null, row.name);
  name.scope = 'row';
  tr.append(name);
  for (const measure of MEASURES) {
    tr.append(el('td', null, formatMeasure(measure, row[measure])));
  }
  return tr;
}

export class CoverageView {
  /** `outlineUrls`: each level's outlines by its slug, at the versioned URLs /config.json gives. */
  constructor(map, outlineUrls, handlers) {
    this.map = map;
    this.outlineUrls = outlineUrls;
    this.handlers = handlers; // onChange(partialState, push), onError(text)
    this.layer = L.layerGroup();
    this.shapes = new Map(); // code -> Leaflet layer
    this.outlines = new Map(); // level -> promise of its outlines
    this.rows = [];
    this.controller = null;
    this.key = null;
    this.attribution = null;
    this.legend = null;
    this.level = document.getElementById('coverage-level');
    this.measure = document.getElementById('coverage-measure');
    this.gap = document.getElementById('coverage-gap');
    this.csv = document.getElementById('coverage-csv');
    this.summary = document.getElementById('coverage-summary');
    this.detail = document.getElementById('coverage-detail');
    this.body = document.querySelector('#coverage-table tbody');
    this.missing = new MissingView(map, { onError: (text) => this.handlers.onError(text) });
    document.getElementById('missing-run').addEventListener('click', () => this.missing.run(this.state));
    this.level.addEventListener('change', () => this.handlers.onChange({ level: this.level.value, region: null }, true));
    this.measure.addEventListener('change', () => this.handlers.onChange({ measure: this.measure.value }, true));
    this.gap.addEventListener('change', () => {
      const km = Number(this.gap.value);
      if (Number.isFinite(km) && km >= 1 && km <= 1000) this.handlers.onChange({ gap: Math.round(km) }, true);
      else this.gap.value = String(this.state?.gap ?? 50);
    });
    for (const button of document.querySelectorAll('#coverage-table th button')) {
      button.addEventListener('click', () => {
        const key = button.dataset.sort;
        const current = this.state?.sort ?? '-count';
        // Names sort A–Z first, figures largest first; a second click reverses.
        const first = key === 'name' ? key : `-${key}`;
        const second = key === 'name' ? '-name' : key;
        this.handlers.onChange({ sort: current === first ? second : first }, false);
      });
    }
    this.body.addEventListener('click', (event) => {
      const row = event.target.closest('tr[data-code]');
      if (row) this.handlers.onChange({ region: row.dataset.code }, true);
    });
    this.body.addEventListener('keydown', (event) => {
      const row = event.target.closest('tr[data-code]');
      if (row && event.key === 'Enter') this.handlers.onChange({ region: row.dataset.code }, true);
    });
    this.body.addEventListener('mouseover', (event) => {
      const row = event.target.closest('tr[data-code]');
      this.highlight(row ? row.dataset.code : null);
    });
    this.body.addEventListener('mouseleave', () => this.highlight(null));
  }

  /** Shows the coverage of the state: fetches the regions when level, filters or gap changed. */
  update(state) {
    this.state = state;
    if (!this.map.hasLayer(this.layer)) this.layer.addTo(this.map);
    this.level.value = state.level;
    this.measure.value = state.measure;
    this.gap.value = String(state.gap);
    const params = coverageParams(state);
    // Countries named in the page's language, in the map and in the CSV.
    params.set('lang', language());
    const csv = new URLSearchParams(params);
    csv.set('level', state.level);
    csv.set('f', 'csv');
    this.csv.href = `/coverage?${csv.toString().replace(/%2C/g, ',')}`;
    const key = `${state.level}?${params}`;
    if (key === this.key) {
      this.restyle();
      return;
    }
    this.key = key;
    // Picks made for other filters or another gap distance would mislead.
    this.missing.clear();
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    const container = this.map.getContainer();
    container.setAttribute('aria-busy', 'true');
    this.summary.textContent = t('coverage.loading');
    // The outlines come once per level (and stay in the browser's cache); only the figures
    // are asked again when the filters or the gap change.
    Promise.all([this.outlinesOf(state.level), api.coverage(state.level, params, controller.signal)]).then(
      ([outlines, table]) => {
        if (this.controller !== controller) return;
        this.controller = null;
        this.draw(joinRegions(outlines, table)).then((drawn) => {
          if (drawn) container.setAttribute('aria-busy', 'false');
        });
      },
      (err) => {
        if (this.controller !== controller) return;
        this.controller = null;
        this.key = null;
        container.setAttribute('aria-busy', 'false');
        if (isAbort(err)) return;
        this.summary.textContent = t('coverage.failed');
        this.handlers.onError(t('coverage.failedDetail', { error: err.message }));
      },
    );
  }

  /** The outlines of `level`, fetched on first use; a failed fetch is tried again next time. */
  outlinesOf(level) {
    if (!this.outlines.has(level)) {
      const url = this.outlineUrls[level];
      const fetched = url ? api.outlines(url) : Promise.reject(new Error(t('coverage.noOutlines')));
      fetched.catch(() => this.outlines.delete(level));
      this.outlines.set(level, fetched);
    }
    return this.outlines.get(level);
  }

  /** Leaves the Coverage mode: the choropleth, legend and attribution go. */
  hide() {
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.drawing = null;
    this.painting = null;
    this.key = null;
    this.map.removeLayer(this.layer);
    this.missing.clear();
    this.setAttribution(null);
    if (this.legend) this.legend.remove();
    this.legend = null;
  }

  /**
   * Draws the regions of `fc` a slice at a time (a NUTS level is hundreds of shapes: drawn at
   * once, a long task), then colours them and fills the table; false when a newer draw or
   * leaving the mode made it stale.
   */
  async draw(fc) {
    const drawing = {};
    this.drawing = drawing;
    this.layer.clearLayers();
    this.shapes.clear();
    this.rows = (fc.features || []).map((f) => f.properties || {});
    this.totals = { matched: fc.matched, outside: fc.outside_regions, gap: fc.gap_km };
    const geo = L.geoJSON(null, {
      style: { weight: 0.6, color: '#ffffff', fillColor: NO_DATA, fillOpacity: 0.85 },
      onEachFeature: (feature, layer) => {
        const p = feature.properties || {};
        this.shapes.set(String(p.code), layer);
        const tip = el('span');
        tip.append(el('strong', null, p.name), el('br'));
        tip.append(el('span', 'tip-figure'));
        layer.bindTooltip(tip, { sticky: true, className: 'region-tip' });
        layer.on('add', () => {
          const node = layer.getElement();
          if (node) {
            node.classList.add('region');
            node.dataset.code = String(p.code);
          }
        });
        layer.on('mouseover', () => this.highlight(String(p.code)));
        layer.on('mouseout', () => this.highlight(null));
        layer.on('click', () => this.handlers.onChange({ region: String(p.code) }, true));
      },
    });
    this.layer.addLayer(geo);
    const done = await inSlices(fc.features || [], (feature) => geo.addData(feature), () => this.drawing !== drawing);
    if (!done || this.drawing !== drawing) return false;
    this.setAttribution(fc.attribution || null);
    this.restyle();
    return true;
  }

  /** Colours, legend, table, summary and details for the current measure, sort and region. */
  restyle() {
    const { measure, sort, region } = this.state;
    const breaks = classBreaks(measure, this.rows.map((r) => r[measure]));
    this.paint(measure, breaks, sortRows(this.rows, sort, language()), region);
    this.drawLegend(measure, breaks);
    const zero = this.rows.filter((r) => r.count === 0).length;
    const { matched = 0, outside = 0, gap = this.state.gap } = this.totals || {};
    this.summary.textContent = t('coverage.summary', { matched, regions: this.rows.length, outside, zero, gap });
    this.showDetail(this.rows.find((r) => r.code === region) || null);
    for (const button of document.querySelectorAll('#coverage-table th button')) {
      const key = button.dataset.sort;
      const th = button.closest('th');
      if (sort === key) th.setAttribute('aria-sort', 'ascending');
      else if (sort === `-${key}`) th.setAttribute('aria-sort', 'descending');
      else th.removeAttribute('aria-sort');
    }
  }

  /**
   * Colours the regions by `measure`, then fills the table with `rows`, every one of them: both
   * a slice at a time (hundreds of shapes and rows at once were long tasks on a phone), the rows
   * put in together so that the table is never half one order and half another. A newer paint,
   * or leaving the mode, makes this one stale.
   */
  async paint(measure, breaks, rows, region) {
    const painting = {};
    this.painting = painting;
    const stale = () => this.painting !== painting;
    beginWork();
    try {
      const label = measureLabel(measure);
      const coloured = await inSlices(this.rows, (row) => this.colour(row, label, measure, breaks, region), stale);
      if (!coloured || stale()) return;
      const trs = [];
      const built = await inSlices(rows, (row) => trs.push(tableRow(row, region)), stale);
      if (built && !stale()) this.body.replaceChildren(...trs);
    } finally {
      endWork();
    }
  }

  /** A region's colour for the measure, outline (the selected one's on top), and tooltip figure. */
  colour(row, label, measure, breaks, region) {
    const layer = this.shapes.get(String(row.code));
    if (!layer) return;
    const selected = row.code === region;
    layer.setStyle({
      fillColor: colourFor(measure, row[measure], breaks),
      weight: selected ? 2.5 : 0.6,
      color: selected ? '#1b2530' : '#ffffff',
    });
    const figure = layer.getTooltip()?.getContent()?.querySelector('.tip-figure');
    if (figure) figure.textContent = `${label}: ${formatMeasure(measure, row[measure])}`;
    if (selected) layer.bringToFront();
  }

  showDetail(row) {
    if (!row) {
      this.detail.hidden = true;
      this.detail.replaceChildren();
      return;
    }
    const list = el('dl');
    const add = (term, value) => list.append(el('dt', null, term), el('dd', null, value));
    const gap = this.state.gap;
    const unknown = t('coverage.detail.notKnown');
    add(t('coverage.detail.code'), row.code);
    add(t('coverage.detail.initiatives'), formatMeasure('count', row.count));
    add(t('coverage.detail.inhabitants'), row.population != null ? formatNumber(row.population) : unknown);
    add(t('coverage.detail.per100k'), formatMeasure('per_100k', row.per_100k));
    add(t('coverage.detail.far', { gap }), formatMeasure('gap_share', row.gap_share));
    add(t('coverage.detail.people'), row.people != null ? formatNumber(row.people) : unknown);
    add(
      t('coverage.detail.peopleFar', { gap }),
      row.people_far != null ? `${formatNumber(row.people_far)} (${formatMeasure('people_gap_share', row.people_gap_share)})` : '–',
    );
    add(
      t('coverage.detail.nearest'),
      row.nearest_km == null
        ? t('coverage.detail.none')
        : `${formatNumber(row.nearest_km, { maximumFractionDigits: 2 })} km`,
    );
    const areas = Object.entries(row.by_skill_area || {}).filter(([, n]) => n > 0);
    const areaText = areas.map(([slug, n]) => `${termLabel('skill_areas', slug, slug.replace(/_/g, ' '))} ${formatNumber(n)}`);
    add(t('coverage.detail.bySkill'), areas.length ? areaText.join(', ') : '–');
    const close = el('button', 'link-button', t('coverage.detail.close'));
    close.type = 'button';
    close.addEventListener('click', () => this.handlers.onChange({ region: null }, true));
    this.detail.replaceChildren(el('h3', null, row.name), list, close);
    this.detail.hidden = false;
  }

  highlight(code) {
    for (const [c, layer] of this.shapes) {
      const on = c === code || c === this.state?.region;
      layer.setStyle({ weight: on ? 2.5 : 0.6, color: on ? '#1b2530' : '#ffffff' });
    }
    for (const tr of this.body.querySelectorAll('tr')) tr.classList.toggle('hovered', tr.dataset.code === code);
  }

  setAttribution(text) {
    const control = this.map.attributionControl;
    if (this.attribution) control.removeAttribution(this.attribution);
    this.attribution = null;
    if (text) {
      // Leaflet renders attributions as HTML: the server's text goes in as text.
      const div = document.createElement('div');
      div.textContent = text;
      this.attribution = div.innerHTML;
      control.addAttribution(this.attribution);
    }
  }

  drawLegend(measure, breaks) {
    if (this.legend) this.legend.remove();
    const palette = paletteFor(measure);
    const Legend = L.Control.extend({
      options: { position: 'bottomright' },
      onAdd() {
        const box = L.DomUtil.create('div', 'legend coverage-legend leaflet-bar');
        box.append(el('strong', null, measureLabel(measure)));
        const list = el('ul');
        let lower = null;
        breaks.forEach((upper, i) => {
          if (i > 0 && upper === breaks[i - 1]) return;
          const item = el('li');
          const dot = el('span', 'swatch swatch-square');
          dot.setAttribute('aria-hidden', 'true');
          dot.style.backgroundColor = palette[i];
          const text =
            lower == null
              ? upper === 0
                ? formatMeasure(measure, upper)
                : t('coverage.legend.upTo', { value: formatMeasure(measure, upper) })
              : `${formatMeasure(measure, lower)} – ${formatMeasure(measure, upper)}`;
          item.append(dot, el('span', null, text));
          list.append(item);
          lower = upper;
        });
        const none = el('li');
        const grey = el('span', 'swatch swatch-square');
        grey.style.backgroundColor = NO_DATA;
        none.append(grey, el('span', null, t('coverage.legend.noData')));
        list.append(none);
        box.append(list);
        return box;
      },
    });
    this.legend = new Legend().addTo(this.map);
  }
}
