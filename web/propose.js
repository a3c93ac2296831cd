// propose.js – "Propose an initiative": a panel with the form over the side panel; the point is placed by
// clicking the map (a draggable marker) or typed as longitude/latitude; sends POST /submissions.

import L from './leaflet.js';
import { api } from './api.js';
import { InitiativeForm, around, h } from './initiative-form.js';
import { formatNumber, t } from './i18n.js';
import { send } from './requests.js';
import { setDrawer } from './panel.js';

// /vocabularies names that the Natural Earth outlines spell differently.
const OUTLINE_NAMES = {
  'North Macedonia': 'Macedonia',
  Türkiye: 'Turkey',
  'Vatican City': 'Vatican',
  'Faroe Islands': 'Faeroe Is.',
  'Bosnia and Herzegovina': 'Bosnia and Herz.',
};

/**
 * The extent [[south, west], [north, east]] of a country's main territory (its largest polygon)
 * in the base map's outlines, or null when the outlines do not have it.
 */
export function countryExtent(outlines, name) {
  const wanted = OUTLINE_NAMES[name] || name;
  const feature = (outlines.features || []).find((f) => f.properties && f.properties.name === wanted);
  const g = feature && feature.geometry;
  if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) return null;
  const polygons = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  let best = null;
  for (const rings of polygons) {
    const ring = rings[0] || [];
    if (!ring.length) continue;
    const lons = ring.map((p) => p[0]);
    const lats = ring.map((p) => p[1]);
    const box = [Math.min(...lats), Math.min(...lons), Math.max(...lats), Math.max(...lons)];
    const area = (box[2] - box[0]) * (box[3] - box[1]);
    if (!best || area > best.area) best = { box, area };
  }
  return best ? [[best.box[0], best.box[1]], [best.box[2], best.box[3]]] : null;
}

/** Wires the "Propose an initiative" button (#propose-open) of the map page; null if there is none. */
export function setupPropose(map, vocabularies) {
  const opener = document.getElementById('propose-open');
  return opener ? new Propose(map, vocabularies, opener) : null;
}


class Propose {
  constructor(map, vocabularies, opener) {
    this.map = map;
    this.opener = opener;
    this.vocabularies = vocabularies;
    this.marker = null;
    this.outlines = null; // promise of the country outlines, loaded when first needed
    this.sending = false;
    this.aside = null; // the form is built when first opened: not work for the map's first paint

    opener.setAttribute('aria-expanded', 'false');
    opener.addEventListener('click', () => this.open());
    map.on('click', (event) => {
      if (!this.isOpen() || !this.done.hidden) return;
      const at = event.latlng.wrap();
      this.place(at.lat, at.lng, { pan: false });
      if (this.aside.classList.contains('collapsed')) this.stopPicking(true);
    });
  }

  build() {
    this.form = new InitiativeForm(this.vocabularies, {
      prefix: 'propose',
      submitLabel: t('propose.submit'),
      onLocation: (lon, lat) => this.place(lat, lon, { pan: true }),
    });
    this.heading = h('h2', { id: 'propose-heading', tabindex: '-1' }, t('propose.heading'));
    const close = h('button', { type: 'button', class: 'propose-close', 'aria-label': t('propose.close') }, '×');
    close.addEventListener('click', () => this.close());

    const pickingCancel = h('button', { type: 'button', class: 'button' }, t('propose.cancel'));
    pickingCancel.addEventListener('click', () => this.stopPicking(false));
    this.pickingBar = h(
      'div',
      { class: 'propose-picking-bar', role: 'status' },
      h('span', {}, t('propose.tapMap')),
      pickingCancel,
    );

    // Tools beside the coordinates: place on the map (a must on phones, where the form covers it) and go to the country.
    const pick = h('button', { type: 'button', class: 'button propose-pick' }, t('propose.pick'));
    pick.addEventListener('click', () => this.startPicking());
    this.countryButton = h('button', { type: 'button', class: 'button' }, t('propose.showCountry'));
    this.countryButton.addEventListener('click', () => this.showCountry(true));
    this.where = h('p', { class: 'location-status', 'aria-live': 'polite' }, t('propose.noPoint'));
    this.form.locationTools.append(this.where, h('div', { class: 'location-buttons' }, pick, this.countryButton));
    this.form.control('country').addEventListener('change', () => {
      if (!this.marker) this.showCountry(false);
    });
    this.form.form.addEventListener('submit', (event) => this.submit(event));
    this.form.form.addEventListener('reset', () => setTimeout(() => this.removeMarker()));

    this.doneMessage = h('p', {});
    this.doneId = h('code', { class: 'submission-id' });
    const another = h('button', { type: 'button', class: 'button primary' }, t('propose.another'));
    another.addEventListener('click', () => this.showForm());
    const back = h('button', { type: 'button', class: 'button' }, t('propose.back'));
    back.addEventListener('click', () => this.close());
    this.doneHeading = h('h3', { tabindex: '-1' }, t('propose.thanks'));
    this.done = h(
      'div',
      { class: 'propose-done', role: 'status', hidden: true },
      this.doneHeading,
      this.doneMessage,
      h('p', {}, ...around(t('propose.reference'), 'id', this.doneId)),
      h('div', { class: 'form-actions' }, another, back),
    );

    this.aside = h(
      'aside',
      { id: 'propose', class: 'propose', 'aria-labelledby': 'propose-heading', hidden: true },
      h('div', { class: 'propose-head' }, this.heading, close),
      this.pickingBar,
      h(
        'p',
        { class: 'propose-intro' },
        t('propose.intro'),
      ),
      this.form.form,
      this.done,
    );
    this.aside.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      if (this.aside.classList.contains('collapsed')) this.stopPicking(false);
      else this.close();
    });
    document.body.append(this.aside);
    this.opener.setAttribute('aria-controls', 'propose');
  }

  isOpen() {
    return Boolean(this.aside) && !this.aside.hidden;
  }

  open() {
    if (!this.aside) this.build();
    if (this.isOpen()) {
      this.heading.focus();
      return;
    }
    setDrawer(false);
    const panel = document.getElementById('panel');
    if (panel) panel.inert = true;
    document.body.classList.add('proposing');
    this.aside.hidden = false;
    this.opener.setAttribute('aria-expanded', 'true');
    this.map.getContainer().classList.add('propose-placing');
    if (this.marker) this.marker.addTo(this.map);
    this.heading.focus();
  }

  close() {
    if (!this.isOpen()) return;
    this.stopPicking(false);
    this.aside.hidden = true;
    document.body.classList.remove('proposing');
    const panel = document.getElementById('panel');
    if (panel) panel.inert = false;
    this.opener.setAttribute('aria-expanded', 'false');
    this.map.getContainer().classList.remove('propose-placing');
    if (this.marker) this.marker.remove();
    if (!this.done.hidden) this.showForm(false);
    this.opener.focus();
  }

  /** Phones: fold the panel away so the map can be tapped. */
  startPicking() {
    this.aside.classList.add('collapsed');
    this.pickingBar.querySelector('button').focus();
  }

  stopPicking(placed) {
    if (!this.aside.classList.contains('collapsed')) return;
    this.aside.classList.remove('collapsed');
    if (placed) this.form.lon.focus();
  }

  /** Puts (or moves) the marker at lat/lon and shows it in the form. */
  place(lat, lon, { pan }) {
    const at = L.latLng(lat, lon);
    if (!this.marker) {
      this.marker = L.marker(at, {
        draggable: true,
        autoPan: true,
        keyboard: true,
        title: t('propose.markerTitle'),
        alt: t('propose.markerAlt'),
        zIndexOffset: 1000,
        icon: L.divIcon({ className: 'propose-pin', html: '', iconSize: [26, 26], iconAnchor: [13, 26] }),
      });
      this.marker.on('dragend', () => {
        const moved = this.marker.getLatLng().wrap();
        this.form.setLocation(moved.lng, moved.lat);
        this.describe(moved);
      });
    } else {
      this.marker.setLatLng(at);
    }
    if (this.isOpen() && !this.map.hasLayer(this.marker)) this.marker.addTo(this.map);
    this.form.setLocation(lon, lat);
    this.describe(at);
    if (pan && !this.map.getBounds().contains(at)) this.map.panTo(at);
  }

  describe(at) {
    const degrees = (value) => formatNumber(value, { minimumFractionDigits: 4, maximumFractionDigits: 4 });
    this.where.textContent = t('propose.placed', { lat: degrees(at.lat), lon: degrees(at.lng) });
  }

  removeMarker() {
    if (this.marker) this.marker.remove();
    this.marker = null;
    this.where.textContent = t('propose.noPoint');
  }

  /** Fits the map to the chosen country (from the base map's outlines); `explain` reports why not. */
  async showCountry(explain) {
    const code = this.form.control('country').value;
    if (!code) {
      if (explain) this.form.setFieldError('country', t('propose.chooseCountryFirst'));
      return;
    }
    const country = (this.vocabularies.countries || []).find((c) => c.code === code);
    if (!this.outlines) this.outlines = api.outlinesOverview().catch(() => null);
    const outlines = await this.outlines;
    const extent = outlines && country ? countryExtent(outlines, country.name) : null;
    if (extent) this.map.fitBounds(extent, { maxZoom: 8, padding: [20, 20] });
    else if (explain) this.where.textContent = t('propose.noOutline');
  }

  showForm(focus = true) {
    this.done.hidden = true;
    this.form.form.hidden = false;
    if (focus) this.heading.focus();
  }

  async submit(event) {
    event.preventDefault();
    if (this.sending) return;
    if (!this.form.check()) return;
    const feature = this.form.feature();
    this.sending = true;
    this.form.setBusy(true, t('propose.sending'));
    try {
      const { data } = await send('POST', '/submissions', { body: feature, contentType: 'application/geo+json' });
      this.thank(data || {});
    } catch (err) {
      if (err.status === 400 && err.errors.length) {
        this.form.showErrors(err.errors, t('propose.serverProblems'));
      } else {
        this.form.showMessage(err.message);
      }
    } finally {
      this.sending = false;
      this.form.setBusy(false, t('propose.submit'));
    }
  }

  thank(answer) {
    this.doneMessage.textContent =
      typeof answer.message === 'string' && answer.message
        ? answer.message
        : t('propose.review');
    this.doneId.textContent = String(answer.id ?? '');
    this.form.reset();
    this.removeMarker();
    this.form.form.hidden = true;
    this.done.hidden = false;
    this.doneHeading.focus();
  }
}
