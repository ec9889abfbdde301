// Queues and the filtered case list. The filter lives in the URL hash
// (#/cases?state=reported&overdue=true), so a link, a reload and the
// statistics drill-down all land on the same list; the map and the exports
// use the same filter.
import { api, get, newID, query } from './api.js';
import { t, stateLabel, OPEN_STATES, STATES } from './i18n.js';
import { h, mount, field, select, fmtTime, deadlineInfo, shortID, toast } from './util.js';
import { ref, catName, orgName, towns, villages, fieldUsers, segName } from './ref.js';

/** FILTER_KEYS are the filter fields the URL carries. */
export const FILTER_KEYS = ['state', 'category', 'town', 'village', 'grid', 'segment', 'unit', 'reporter', 'source',
  'from', 'to', 'overdue', 'rework', 'has_conflict', 'q', 'sort', 'ids'];

/** filterFrom reads a filter from URLSearchParams. */
export function filterFrom(params) {
  const f = {};
  for (const k of FILTER_KEYS) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** filterHash is the hash query of a filter. */
export function filterHash(f) {
  const o = {};
  for (const k of FILTER_KEYS) if (f[k]) o[k] = f[k];
  return query(o);
}

/**
 * apiParams maps a console filter to GET /api/v1/cases parameters. Town and
 * village become an org path prefix. The deadline order is the server's (so
 * paging follows it); the other orders sort the loaded rows.
 */
export function apiParams(f) {
  const p = {};
  if (f.state) p.state = f.state;
  if (f.category) p.category = f.category;
  if (f.village && ref.byOrg.get(f.village)) p.org_path = ref.byOrg.get(f.village).path;
  else if (f.town && ref.byOrg.get(f.town)) p.org_path = ref.byOrg.get(f.town).path;
  for (const k of ['grid', 'unit', 'reporter', 'source', 'from', 'to', 'q', 'ids']) if (f[k]) p[k] = f[k];
  if (f.segment) p.road_segment = f.segment;
  if (f.sort === 'deadline') p.sort = 'deadline';
  for (const k of ['overdue', 'rework', 'has_conflict']) if (f[k] === 'true') p[k] = 'true';
  return p;
}

/** localFilter applies the filters the API does not take (none left: the road segment is the server's). */
export function localFilter(f, items) {
  return items;
}

const sorters = {
  newest: (a, b) => b.created_at.localeCompare(a.created_at),
  oldest: (a, b) => a.created_at.localeCompare(b.created_at),
  deadline: (a, b) => (a.deadline || '9999').localeCompare(b.deadline || '9999'),
  updated: (a, b) => b.updated_at.localeCompare(a.updated_at),
  state: (a, b) => STATES.indexOf(a.state) - STATES.indexOf(b.state),
};

/** loadAll pages through the case list up to max rows. */
export async function loadAll(params, max = 2000) {
  let items = [];
  let cursor = '';
  do {
    const res = await get('/cases', { ...params, limit: 500, cursor });
    items = items.concat(res.items);
    cursor = res.next_cursor || '';
  } while (cursor && items.length < max);
  return { items, more: !!cursor };
}

/** stateBadge shows a state with its colour. */
export function stateBadge(state) {
  return h('span', { class: `badge st-${state}` }, stateLabel(state));
}

/** caseFlags shows overdue, rework, escalation and forced closure. */
export function caseFlags(c) {
  return [
    c.overdue && h('span', { class: 'flag flag-over' }, t('flag.overdue')),
    c.rework_count > 0 && h('span', { class: 'flag' }, t('flag.rework', { n: c.rework_count })),
    c.escalated && h('span', { class: 'flag' }, t('flag.escalated')),
    c.force_closed && h('span', { class: 'flag' }, t('flag.force_closed')),
  ];
}

/** renderCases draws the queues, the filter form and the list into main. */
export async function renderCases(main, params, nav) {
  const f = filterFrom(params);
  const base = { ...f };
  delete base.state;
  const queueNav = h('nav', { class: 'queues', 'aria-label': t('queues') }, h('h2', {}, t('queues')));
  const list = h('section', { class: 'list', 'aria-labelledby': 'list-title' });
  mount(main, h('div', { class: 'cases-layout' }, queueNav, h('div', { class: 'cases-main' }, filterForm(f, nav), list)));
  renderQueues(queueNav, base, f.state || '');
  await renderList(list, f, nav, () => renderQueues(queueNav, base, f.state || ''));
}

function queueLink(label, state, base, current, count) {
  const href = '#/cases' + filterHash({ ...base, state });
  const here = current === state;
  return h('li', {}, h('a', { href, class: here ? 'queue current' : 'queue', 'aria-current': here ? 'page' : false, dataset: { state: state || 'all' } },
    h('span', { class: 'q-label' }, label), count));
}

function renderQueues(el, base, current) {
  const ul = h('ul', {});
  const counts = new Map();
  const openAll = OPEN_STATES.join(',');
  const entries = [[t('queue.all_open'), openAll], ...OPEN_STATES.map((s) => [stateLabel(s), s]),
    [stateLabel('closed'), 'closed'], [stateLabel('voided'), 'voided'], [t('queue.all'), '']];
  for (const [label, s] of entries) {
    const count = h('span', { class: 'q-count', 'aria-label': '' }, '…');
    counts.set(s, count);
    ul.append(queueLink(label, s, base, current, count));
  }
  el.querySelector('ul')?.remove(); // drawn again after a bulk action
  el.append(ul);
  // One bounded request per queue: the count shows 500+ beyond the first page.
  const p = apiParams(base);
  const show = (s, n, over, capped) => {
    mount(counts.get(s), String(n) + (capped ? '+' : ''),
      over ? h('span', { class: 'q-over', title: t('flag.overdue'), 'aria-label': `${t('flag.overdue')} ${over}` }, ` ${over}`) : null);
    counts.get(s).dataset.count = String(n);
  };
  const all = OPEN_STATES.concat(['closed', 'voided']).map((s) => get('/cases', { ...p, state: s, limit: 500 }).then((res) => {
    const items = localFilter(base, res.items);
    const r = { s, n: items.length, over: items.filter((c) => c.overdue).length, capped: !!res.next_cursor };
    show(s, r.n, r.over, r.capped);
    return r;
  }).catch(() => { mount(counts.get(s), '?'); return { s, n: 0, over: 0, capped: true }; }));
  // The aggregate queues add up the per-state counts.
  Promise.all(all).then((rs) => {
    const sum = (list) => list.reduce((a, r) => ({ n: a.n + r.n, over: a.over + r.over, capped: a.capped || r.capped }), { n: 0, over: 0, capped: false });
    const open = sum(rs.filter((r) => OPEN_STATES.includes(r.s)));
    const every = sum(rs);
    show(openAll, open.n, open.over, open.capped);
    show('', every.n, every.over, every.capped);
  });
}

function filterForm(f, nav) {
  const opt = (pairs) => [['', t('filter.any')], ...pairs];
  const town = select('town', opt(towns().map((o) => [o.code, o.name])), f.town);
  const village = select('village', opt(villages(f.town).map((o) => [o.code, o.name])), f.village);
  town.addEventListener('change', () => {
    mount(village, ...opt(villages(town.value).map((o) => [o.code, o.name])).map(([v, l]) => h('option', { value: v }, l)));
  });
  const stateSel = select('state', opt(STATES.map((s) => [s, stateLabel(s)])), f.state && !f.state.includes(',') ? f.state : '');
  if (f.state && f.state.includes(',')) stateSel.append(h('option', { value: f.state, selected: true }, t('queue.all_open')));
  const chk = (name) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value: 'true', checked: f[name] === 'true' }), t(`filter.${name}`));
  const form = h('form', { class: 'filters', 'aria-label': t('filters'), role: 'search' },
    h('div', { class: 'filter-grid' },
      field(t('filter.state'), stateSel),
      field(t('filter.category'), select('category', opt(ref.categories.filter((c) => !c.disabled).map((c) => [c.code, `${c.code} ${catName(c.code)}`])), f.category)),
      field(t('filter.town'), town),
      field(t('filter.village'), village),
      field(t('filter.grid'), select('grid', opt(ref.grids.map((g) => [g.code, g.name])), f.grid)),
      field(t('filter.segment'), select('segment', opt(ref.segments.map((s) => [s.id, s.name])), f.segment, { title: t('filter.segment_note') })),
      field(t('filter.unit'), select('unit', opt(ref.units.map((u) => [u.id, u.name])), f.unit)),
      field(t('filter.reporter'), select('reporter', opt(fieldUsers()), f.reporter)),
      field(t('filter.source'), select('source', opt(['device', 'hotline', 'walk_in', 'console'].map((s) => [s, t(`source.${s}`)])), f.source)),
      field(t('filter.from'), h('input', { type: 'date', name: 'from', value: f.from || '' })),
      field(t('filter.to'), h('input', { type: 'date', name: 'to', value: f.to || '' })),
      field(t('filter.q'), h('input', { type: 'search', name: 'q', value: f.q || '' })),
      field(t('sort'), select('sort', [['newest', t('sort.newest')], ['oldest', t('sort.oldest')], ['deadline', t('sort.deadline')],
        ['updated', t('sort.updated')], ['state', t('sort.state')]], f.sort || 'newest'))),
    h('div', { class: 'filter-row' }, chk('overdue'), chk('rework'), chk('has_conflict'),
      h('button', { type: 'submit', class: 'primary' }, t('filter.apply')),
      h('button', { type: 'button', onclick: () => nav('#/cases') }, t('filter.reset')),
      exportLinks(f)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const nf = {};
    for (const k of FILTER_KEYS) { const v = fd.get(k); if (v) nf[k] = String(v); }
    if (nf.sort === 'newest') delete nf.sort;
    nav('#/cases' + filterHash(nf));
  });
  return form;
}

/** exportLinks are the CSV, GeoJSON and KML downloads of a filter. */
export function exportLinks(f) {
  const q = query(apiParams(f));
  return h('span', { class: 'exports', role: 'group', 'aria-label': t('exports') },
    h('span', { class: 'exports-label' }, t('exports')),
    h('a', { class: 'button', href: `/api/v1/exports/cases.csv${q}`, download: 'cases.csv', id: 'export-csv' }, t('export.csv')),
    h('a', { class: 'button', href: `/api/v1/exports/cases.geojson${q}`, download: 'cases.geojson', id: 'export-geojson' }, t('export.geojson')),
    h('a', { class: 'button', href: `/api/v1/exports/cases.kml${q}`, download: 'cases.kml', id: 'export-kml' }, t('export.kml')));
}

// BULK are the actions a clerk may take on many cases of a list at once;
// each case still goes through its own command, with the version listed.
const BULK = ['register', 'dispatch'];

async function renderList(el, f, nav, queuesChanged) {
  const title = h('h2', { id: 'list-title' }, f.ids ? t('list.drill') : f.state ? (f.state.includes(',') ? t('queue.all_open') : stateLabel(f.state)) : t('queue.all'));
  const status = h('p', { class: 'muted', role: 'status' }, t('loading'));
  const tbody = h('tbody', {});
  const bulk = ['clerk', 'supervisor'].includes(ref.me?.user?.role);
  const selected = new Set();
  const all = bulk ? h('input', { type: 'checkbox', id: 'select-all', 'aria-label': t('bulk.select_all') }) : null;
  const table = h('table', { class: 'cases' },
    h('thead', {}, h('tr', {}, bulk ? h('th', { scope: 'col' }, all) : null,
      ['col.case', 'col.category', 'col.state', 'col.address', 'col.created', 'col.deadline', 'col.flags']
        .map((k) => h('th', { scope: 'col' }, t(k))))), tbody);
  const more = h('button', { type: 'button', hidden: true }, t('list.more'));
  const bar = bulk ? bulkBar(selected, () => rows, async () => { selected.clear(); rows = []; cursor = ''; await page(); queuesChanged(); }) : null;
  mount(el, h('div', { class: 'list-head' }, title, status), bar ? bar.el : null, table, more);
  let rows = [];
  let cursor = '';
  const params = apiParams(f);
  const draw = () => {
    const sorted = localFilter(f, rows).slice().sort(sorters[f.sort] || sorters.newest);
    const cols = bulk ? 8 : 7;
    mount(tbody, sorted.length ? sorted.map((c) => caseRow(c, nav, bulk ? selected : null, () => bar.update()))
      : h('tr', {}, h('td', { colspan: cols, class: 'empty' }, t('list.empty'))));
    mount(status, t('list.loaded', { n: sorted.length }));
    more.hidden = !cursor;
    if (all) all.checked = sorted.length > 0 && sorted.every((c) => selected.has(c.id));
    if (bar) bar.update();
  };
  if (all) {
    all.addEventListener('change', () => {
      for (const c of rows) { if (all.checked) selected.add(c.id); else selected.delete(c.id); }
      draw();
    });
  }
  const page = async () => {
    const res = await get('/cases', { ...params, limit: 100, cursor });
    rows = rows.concat(res.items);
    cursor = res.next_cursor || '';
    draw();
  };
  more.addEventListener('click', () => page().catch((e) => mount(status, e.message)));
  try { await page(); } catch (e) { mount(status, `${t('error')}: ${e.message}`); }
}

/**
 * bulkBar is the bar over a list that applies one action to every selected
 * case, one command each, and reports which cases did not take it and why.
 */
function bulkBar(selected, rows, reload) {
  const count = h('span', { class: 'bulk-count' });
  const action = select('bulk_action', BULK.map((a) => [a, t(`action.${a}`)]), BULK[0]);
  const unit = select('bulk_unit', [['', t('form.template_pick')], ...ref.units.map((u) => [u.id, u.name])], '');
  const unitField = field(t('form.unit'), unit);
  const run = h('button', { type: 'submit', class: 'primary' }, t('bulk.run'));
  const report = h('div', { class: 'bulk-report', role: 'status' });
  const form = h('form', { class: 'bulk-bar', id: 'bulk-bar', hidden: true, 'aria-label': t('bulk.title') },
    count, field(t('bulk.action'), action), unitField, run, report);
  const update = () => {
    form.hidden = selected.size === 0 && !report.textContent;
    mount(count, t('bulk.selected', { n: selected.size }));
    unitField.hidden = action.value !== 'dispatch';
    run.disabled = selected.size === 0;
  };
  action.addEventListener('change', update);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const act = action.value;
    if (act === 'dispatch' && !unit.value) { mount(report, t('bulk.need_unit')); return; }
    const cases = rows().filter((c) => selected.has(c.id));
    run.disabled = true;
    const failed = [];
    for (const c of cases) {
      const params = act === 'dispatch' ? { unit_id: unit.value } : {};
      try {
        await api('POST', `/cases/${c.id}/transitions`, { action: act, params, base_version: c.version, command_id: newID() });
      } catch (e) { failed.push(h('li', { dataset: { id: c.id } }, h('code', {}, shortID(c.id)), ` ${e.message}`)); }
    }
    const ok = cases.length - failed.length;
    toast(t('bulk.done', { ok, fail: failed.length }));
    await reload();
    mount(report, h('p', {}, t('bulk.done', { ok, fail: failed.length })), failed.length ? h('ul', { class: 'bulk-failed' }, failed) : null);
    update();
  });
  update();
  return { el: form, update };
}

function caseRow(c, nav, selected, changed) {
  const dl = deadlineInfo(c);
  const href = `#/cases/${c.id}`;
  const area = [orgName(c.town_code), orgName(c.village_code), c.road_segment_id ? segName(c.road_segment_id) : ''].filter(Boolean).join(' · ');
  const pick = selected ? h('input', { type: 'checkbox', class: 'pick', checked: selected.has(c.id), 'aria-label': shortID(c.id) }) : null;
  if (pick) {
    pick.addEventListener('change', () => { if (pick.checked) selected.add(c.id); else selected.delete(c.id); changed(); });
  }
  const tr = h('tr', { class: c.overdue ? 'row-over' : '', dataset: { id: c.id, state: c.state } },
    pick ? h('td', {}, pick) : null,
    h('td', {}, h('a', { href, class: 'case-link' }, h('code', {}, shortID(c.id))), h('div', { class: 'desc' }, c.description)),
    h('td', {}, catName(c.category)),
    h('td', {}, stateBadge(c.state)),
    h('td', {}, h('div', {}, c.location.address || ''), h('div', { class: 'muted small' }, area)),
    h('td', {}, fmtTime(c.created_at)),
    h('td', { class: dl.cls }, dl.text),
    h('td', {}, caseFlags(c)));
  tr.addEventListener('dblclick', () => nav(href));
  return tr;
}
