// The case map: Leaflet (vendored) with marker clustering, markers coloured
// by state, following the case-list filter, and the grid polygons as a
// layer. The tile URL is configuration (<meta name="fieldsync-tile-url">);
// without it there is no base layer and the map shows points and grids on a
// plain background.
/* global L */
import { t, stateLabel, STATES } from './i18n.js';
import { h, mount, STATE_COLORS, shortID, fmtTime } from './util.js';
import { ref, catName } from './ref.js';
import { apiParams, localFilter, loadAll, filterFrom, filterHash, exportLinks } from './cases.js';

const MAX_POINTS = 5000;

function meta(name) { return document.querySelector(`meta[name="${name}"]`)?.content || ''; }

/** renderMap draws the map for the filter in params. */
export async function renderMap(main, params) {
  const f = filterFrom(params);
  const status = h('span', { role: 'status', class: 'muted' }, t('loading'));
  const mapEl = h('div', { id: 'map', class: 'map', role: 'region', 'aria-label': t('map.title') });
  const legend = h('ul', { class: 'legend', 'aria-label': t('map.legend') },
    STATES.map((s) => h('li', {}, h('span', { class: `swatch st-${s}` }), stateLabel(s))));
  mount(main, h('section', { class: 'page map-page', 'aria-labelledby': 'map-title' },
    h('div', { class: 'list-head' }, h('h1', { id: 'map-title' }, t('map.title')), status,
      h('a', { href: '#/cases' + filterHash(f), class: 'button' }, t('nav.cases')), exportLinks(f)),
    h('div', { class: 'map-wrap' }, mapEl, legend)));
  if (typeof L === 'undefined') { mount(status, 'Leaflet missing'); return; }
  // maxZoom must be set even without tiles: clustering needs it.
  const map = L.map(mapEl, { keyboard: true, attributionControl: true, minZoom: 3, maxZoom: 19 });
  const tiles = meta('fieldsync-tile-url');
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: meta('fieldsync-tile-attribution') }).addTo(map);
  } else {
    mapEl.classList.add('no-tiles');
    map.attributionControl.addAttribution(t('map.notiles'));
  }
  const grids = L.geoJSON({ type: 'FeatureCollection', features: ref.grids.map((g) => ({ type: 'Feature', geometry: g.polygon, properties: { code: g.code, name: g.name } })) },
    { style: { color: '#2563eb', weight: 1, fillOpacity: 0.04 }, onEachFeature: (feat, layer) => layer.bindTooltip(feat.properties.name) });
  grids.addTo(map);
  const cluster = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
  cluster.addTo(map);
  L.control.layers(null, { [t('map.cases')]: cluster, [t('map.grids')]: grids }, { collapsed: false }).addTo(map);
  const gb = grids.getBounds();
  if (gb.isValid()) map.fitBounds(gb); else map.setView([34.86, 117.55], 13);
  // The container was laid out before Leaflet measured it.
  setTimeout(() => map.invalidateSize(), 0);

  let res;
  try {
    res = await loadAll(apiParams(f), MAX_POINTS);
  } catch (e) { mount(status, `${t('error')}: ${e.message}`); return; }
  const items = localFilter(f, res.items);
  const markers = items.map((c) => {
    const m = L.circleMarker([c.location.lat, c.location.lon], {
      radius: 7, color: '#fff', weight: 1.5, fillColor: STATE_COLORS[c.state] || '#000', fillOpacity: 0.9,
    });
    m.bindPopup(() => h('div', { class: 'popup' },
      h('a', { href: `#/cases/${c.id}` }, h('code', {}, shortID(c.id)), ' ', catName(c.category)),
      h('div', {}, stateLabel(c.state), c.overdue ? ` · ${t('flag.overdue')}` : ''),
      h('div', { class: 'small' }, c.location.address || ''),
      h('div', { class: 'small muted' }, fmtTime(c.created_at))));
    return m;
  });
  cluster.addLayers(markers);
  mapEl.dataset.points = String(markers.length);
  mount(status, t('list.count', { n: markers.length }), res.more ? ` (${t('map.capped', { n: MAX_POINTS })})` : '');
  if (markers.length) {
    const b = cluster.getBounds();
    if (b.isValid()) map.fitBounds(b.pad(0.1), { maxZoom: 17 });
  }
}
