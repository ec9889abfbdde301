// New case entry: a clerk types in a case from the 12345 hotline, a walk-in
// citizen or one office staff found, and it is posted to POST /api/v1/cases
// (submitted at once: it lands in 待受理). The form checks what it can through
// its controls' own constraints (required, min, max), so the rules live in
// the markup; the server checks again, and its problem body (detail, hint,
// field) is shown on the form with the field at fault marked.
/* global L */
import { api, newID, ApiError } from './api.js';
import { t, getLang } from './i18n.js';
import { h, mount, field, toast, shortID } from './util.js';
import { ref, catName, orgName } from './ref.js';

/** CREATORS are the roles the server lets enter cases. */
const CREATORS = ['clerk', 'supervisor', 'admin'];

/** canCreateCase reports whether the signed-in user (GET /me) may enter cases. */
export function canCreateCase(me) { return CREATORS.includes(me?.user?.role); }

const SOURCES = ['hotline', 'walk_in', 'console'];

// A problem's field (a JSON path of the request) names the controls to mark.
const CONTROLS_OF_FIELD = {
  category: ['category'], description: ['description'], source: ['source'], party: ['party'], quantity: ['quantity'],
  location: ['lat', 'lon'], 'location.lat': ['lat'], 'location.lon': ['lon'], 'location.address': ['address'],
};
// Without a field, the code alone still says which controls are at fault.
const CONTROLS_OF_CODE = { invalid_location: ['lat', 'lon'], unknown_category: ['category'] };

function meta(name) { return document.querySelector(`meta[name="${name}"]`)?.content || ''; }

/** renderNewCase draws the new-case form into main; nav opens the case once created. */
export async function renderNewCase(main, nav) {
  if (!canCreateCase(ref.me)) {
    mount(main, h('div', { class: 'error', role: 'alert', id: 'newcase-forbidden' }, h('h1', {}, t('newcase.title')), h('p', {}, t('newcase.forbidden'))));
    return;
  }
  const c = controls();
  const err = h('div', { class: 'form-error', role: 'alert', id: 'newcase-error' });
  const gridNote = h('p', { class: 'nc-grid muted', id: 'newcase-grid', 'aria-live': 'polite' }, t('newcase.no_point'));
  const submit = h('button', { type: 'submit', class: 'primary', id: 'newcase-submit' }, t('newcase.submit'));
  const mapEl = h('div', { id: 'newcase-map', class: 'pick-map', role: 'application', 'aria-label': t('newcase.pick'),
    'aria-describedby': 'newcase-pick-help' });
  const form = h('form', { id: 'newcase-form', class: 'newcase', novalidate: true, 'aria-labelledby': 'newcase-title' },
    h('div', { class: 'nc-cols' },
      h('div', { class: 'nc-fields' },
        h('div', { class: 'nc-row' }, c.fields.category, c.fields.source),
        c.fields.description,
        c.fields.address,
        h('div', { class: 'nc-row' }, c.fields.party, c.fields.quantity),
        h('fieldset', { class: 'nc-loc' }, h('legend', {}, t('newcase.location'), required()),
          h('div', { class: 'nc-row' }, c.fields.lat, c.fields.lon), gridNote),
        err,
        h('div', { class: 'form-buttons' }, submit, h('a', { href: '#/cases', class: 'button' }, t('form.cancel')))),
      h('div', { class: 'nc-map-col' },
        h('h2', { id: 'newcase-pick-title' }, t('newcase.pick')),
        mapEl,
        h('p', { class: 'hint', id: 'newcase-pick-help' }, t('newcase.pick_help')))));
  mount(main, h('section', { class: 'page newcase-page', 'aria-labelledby': 'newcase-title' },
    h('h1', { id: 'newcase-title' }, t('newcase.title')),
    h('p', { class: 'muted nc-intro' }, t('newcase.intro')),
    form));

  // One pair of ids for the form's life: a resubmit after a lost answer gets
  // the first outcome back instead of a second case (the server does not
  // record refusals, so a corrected form goes through with the same ids).
  const caseID = newID();
  const commandID = newID();

  // Correcting the last marked control retires the message about it.
  const corrected = (el) => {
    clearInvalid(el);
    if (err.dataset.code && !form.querySelector('[aria-invalid="true"]')) { mount(err); delete err.dataset.code; }
  };
  const showGrid = (lat, lon) => {
    const g = gridAt(lat, lon);
    gridNote.dataset.grid = g ? g.code : '';
    mount(gridNote, g ? t('newcase.in_grid', { grid: g.name, area: [orgName(g.town_code), orgName(g.village_code)].filter(Boolean).join(' / ') })
      : t('newcase.no_grid'));
  };
  const picker = pickMap(mapEl, (lat, lon) => {
    c.set('lat', lat.toFixed(6));
    c.set('lon', lon.toFixed(6));
    corrected(c.el.lat);
    corrected(c.el.lon);
    showGrid(lat, lon);
  });
  // Typed coordinates move the marker once both are on the globe.
  const typed = () => {
    if (!c.el.lat.value || !c.el.lon.value || !c.el.lat.checkValidity() || !c.el.lon.checkValidity()) {
      picker?.clear();
      delete gridNote.dataset.grid;
      mount(gridNote, t('newcase.no_point'));
      return;
    }
    const lat = Number(c.el.lat.value);
    const lon = Number(c.el.lon.value);
    picker?.show(lat, lon, true);
    showGrid(lat, lon);
  };
  c.el.lat.addEventListener('change', typed);
  c.el.lon.addEventListener('change', typed);
  for (const el of Object.values(c.el)) {
    el.addEventListener(el.tagName === 'SELECT' ? 'change' : 'input', () => corrected(el));
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    mount(err);
    delete err.dataset.code;
    const bad = c.validate();
    if (bad.length) {
      mount(err, t('newcase.fix', { n: bad.length }));
      err.dataset.code = 'form';
      bad[0].focus();
      return;
    }
    const v = (k) => c.el[k].value.trim();
    const body = {
      id: caseID, command_id: commandID, category: v('category'), description: v('description'), source: v('source'),
      location: { lat: Number(v('lat')), lon: Number(v('lon')) },
    };
    if (v('address')) body.location.address = v('address');
    if (v('party')) body.party = v('party');
    if (c.unit() && v('quantity') !== '') body.quantity = Number(v('quantity'));
    submit.disabled = true;
    mount(submit, t('newcase.submitting'));
    try {
      const res = await api('POST', '/cases', body);
      const id = res.case?.id || res.outcome?.case_id || caseID;
      toast(t('newcase.created', { id: shortID(id) }));
      nav(`#/cases/${id}`);
    } catch (e) {
      submit.disabled = false;
      mount(submit, t('newcase.submit'));
      if (!(e instanceof ApiError)) {
        mount(err, t('newcase.network'), h('div', { class: 'hint' }, e.message || String(e)));
        err.dataset.code = 'network';
        return;
      }
      err.dataset.code = e.code;
      mount(err, e.message, e.hint ? h('div', { class: 'hint' }, e.hint) : null);
      const names = CONTROLS_OF_FIELD[e.field] || CONTROLS_OF_CODE[e.code] || [];
      const marked = names.map((n) => c.el[n]).filter((el) => el && !el.closest('[hidden]'));
      for (const el of marked) markInvalid(el, '', 'newcase-error');
      marked[0]?.focus();
    }
  });
  c.el.category.focus();
}

function required() { return h('span', { class: 'req', 'aria-hidden': 'true' }, ' *'); }

/** controls builds the form's controls, each with its label and error line. */
function controls() {
  const el = {};
  const fields = {};
  const errs = {};
  const add = (name, label, control, req) => {
    control.name = name;
    control.id = `newcase-${name}`;
    if (req) control.required = true;
    errs[name] = h('span', { class: 'field-error', id: `newcase-${name}-error` });
    control.setAttribute('aria-describedby', errs[name].id);
    el[name] = control;
    fields[name] = field([label, req ? required() : null], control, errs[name]);
  };
  add('category', t('newcase.category'), categorySelect(), true);
  add('source', t('newcase.source'), h('select', {}, SOURCES.map((s) => h('option', { value: s, selected: s === 'hotline' }, t(`newcase.src.${s}`)))), true);
  add('description', t('newcase.description'), h('textarea', { rows: 4, maxlength: 2000, placeholder: t('newcase.description_ph') }), true);
  add('address', t('newcase.address'), h('input', { type: 'text', maxlength: 200, autocomplete: 'off' }));
  add('party', t('newcase.party'), h('input', { type: 'text', maxlength: 200, autocomplete: 'off' }));
  add('quantity', t('newcase.quantity'), h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' }));
  add('lat', t('newcase.lat'), h('input', { type: 'number', min: -90, max: 90, step: 'any', inputmode: 'decimal' }), true);
  add('lon', t('newcase.lon'), h('input', { type: 'number', min: -180, max: 180, step: 'any', inputmode: 'decimal' }), true);

  // Quantity only for categories that count something, in their unit.
  const qtyLabel = fields.quantity.querySelector('label');
  const unit = () => ref.byCat.get(el.category.value)?.quantity || '';
  const syncQuantity = () => {
    const u = unit();
    fields.quantity.hidden = !u;
    if (!u) { el.quantity.value = ''; clearInvalid(el.quantity); return; }
    mount(qtyLabel, t('newcase.quantity_in', { unit: t(`unit.${u}`) }));
    el.quantity.step = u === 'count' ? '1' : 'any';
    el.quantity.inputMode = u === 'count' ? 'numeric' : 'decimal';
    fields.quantity.dataset.unit = u;
  };
  el.category.addEventListener('change', syncQuantity);
  syncQuantity();

  const set = (name, value) => { el[name].value = value; };

  /** validate marks every control that breaks its constraints and returns them in form order. */
  const validate = () => {
    const bad = [];
    for (const [name, ctl] of Object.entries(el)) {
      clearInvalid(ctl);
      if (ctl.closest('[hidden]')) continue;
      const msg = problemOf(name, ctl);
      if (msg) { markInvalid(ctl, msg); bad.push(ctl); }
    }
    return bad;
  };
  return { el, fields, set, unit, validate };
}

/** problemOf says what is wrong with a control's value, or ''. */
function problemOf(name, ctl) {
  if (ctl.required && !ctl.value.trim() && !ctl.validity.badInput) return t('newcase.required');
  const v = ctl.validity;
  if (v.valid) return '';
  if (v.badInput) return t('newcase.number');
  if (v.rangeUnderflow || v.rangeOverflow) {
    if (name === 'lat') return t('newcase.lat_range');
    if (name === 'lon') return t('newcase.lon_range');
    return t('newcase.qty_range');
  }
  if (v.stepMismatch) return t('newcase.qty_int');
  if (v.tooLong) return t('newcase.too_long');
  return ctl.validationMessage;
}

function markInvalid(ctl, msg, describedBy) {
  ctl.setAttribute('aria-invalid', 'true');
  const errEl = document.getElementById(`${ctl.id}-error`);
  if (errEl) mount(errEl, msg);
  const ids = [`${ctl.id}-error`, describedBy].filter(Boolean).join(' ');
  ctl.setAttribute('aria-describedby', ids);
}

function clearInvalid(ctl) {
  if (!ctl.hasAttribute('aria-invalid')) return;
  ctl.removeAttribute('aria-invalid');
  const errEl = document.getElementById(`${ctl.id}-error`);
  if (errEl) mount(errEl);
  ctl.setAttribute('aria-describedby', `${ctl.id}-error`);
}

/** categorySelect lists the offered categories grouped by 大类, events first, with their codes. */
function categorySelect() {
  const groups = new Map();
  for (const c of ref.categories) {
    if (c.disabled) continue;
    if (!groups.has(c.group_code)) groups.set(c.group_code, { code: c.group_code, kind: c.kind, name: getLang() === 'en' ? (c.group_en || c.group_zh) : c.group_zh, items: [] });
    groups.get(c.group_code).items.push(c);
  }
  const order = [...groups.values()].sort((a, b) => (a.kind === b.kind ? a.code.localeCompare(b.code) : a.kind === 'event' ? -1 : 1));
  return h('select', {},
    h('option', { value: '' }, t('newcase.category_pick')),
    order.map((g) => h('optgroup', { label: `${g.code} ${g.name}` },
      g.items.sort((a, b) => a.code.localeCompare(b.code)).map((c) => h('option', { value: c.code }, `${c.code} ${catName(c.code)}`)))));
}

/**
 * pickMap puts a Leaflet map with the grid boundaries into el; a click, or
 * Enter while the map has the focus (at its centre), picks a point. It
 * returns the marker's controls, or null without Leaflet (the inputs still work).
 */
function pickMap(el, onPick) {
  if (typeof L === 'undefined') { mount(el, t('newcase.no_map')); return null; }
  const map = L.map(el, { keyboard: true, attributionControl: true, minZoom: 3, maxZoom: 19 });
  const tiles = meta('fieldsync-tile-url');
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: meta('fieldsync-tile-attribution') }).addTo(map);
  } else {
    el.classList.add('no-tiles');
    map.attributionControl.addAttribution(t('newcase.notiles'));
  }
  // Not interactive: a click anywhere, inside a grid or not, is the map's.
  const grids = L.geoJSON({ type: 'FeatureCollection', features: ref.grids.map((g) => ({ type: 'Feature', geometry: g.polygon, properties: { code: g.code } })) },
    { interactive: false, style: (f) => ({ color: '#2563eb', weight: 1, fillOpacity: 0.06, className: `grid grid-${f.properties.code}` }) });
  grids.addTo(map);
  const gb = grids.getBounds();
  if (gb.isValid()) map.fitBounds(gb, { padding: [12, 12] }); else map.setView([34.86, 117.55], 13);
  let marker = null;
  const show = (lat, lon, pan) => {
    const at = [lat, lon];
    if (marker) marker.setLatLng(at);
    else {
      marker = L.circleMarker(at, { radius: 8, color: '#fff', weight: 2, fillColor: '#dc2626', fillOpacity: 1, interactive: false, className: 'pick-marker' }).addTo(map);
    }
    el.dataset.lat = String(lat);
    el.dataset.lon = String(lon);
    if (pan && !map.getBounds().contains(at)) map.panTo(at);
  };
  const clear = () => {
    if (marker) { marker.remove(); marker = null; }
    delete el.dataset.lat;
    delete el.dataset.lon;
  };
  const pick = (ll) => {
    const w = ll.wrap();
    show(w.lat, w.lng, false);
    onPick(w.lat, w.lng);
  };
  map.on('click', (e) => pick(e.latlng));
  el.addEventListener('keydown', (ev) => {
    if (ev.target !== el || (ev.key !== 'Enter' && ev.key !== ' ')) return;
    ev.preventDefault();
    pick(map.getCenter());
  });
  // The container was laid out before Leaflet measured it; ready once it has.
  setTimeout(() => { map.invalidateSize(); el.dataset.ready = 'true'; }, 0);
  return { show, clear, map };
}

/** gridAt finds the grid whose polygon holds the point (a preview: the server assigns). */
function gridAt(lat, lon) {
  for (const g of ref.grids) {
    const p = g.polygon;
    if (!p) continue;
    const polys = p.type === 'MultiPolygon' ? p.coordinates : p.type === 'Polygon' ? [p.coordinates] : [];
    if (polys.some((rings) => rings.length && inRing(rings[0], lon, lat) && !rings.slice(1).some((hole) => inRing(hole, lon, lat)))) return g;
  }
  return null;
}

function inRing(ring, x, y) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
