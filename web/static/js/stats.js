// Statistics (GET /api/v1/stats): every figure with its numerator,
// denominator, period and filter, month on month, cut by category, town or
// month, with bar charts drawn here as inline SVG. Every number links to the
// case list behind it (#/cases?ids=…); a zero has nothing behind it and is
// plain text.
import { get } from './api.js';
import { t, getLang } from './i18n.js';
import { h, mount, field, select, fmtDuration, fmtTime } from './util.js';
import { FILTER_KEYS, filterFrom, apiParams } from './cases.js';

const LABELS_EN = {
  closure_rate: 'Closure rate', on_time_closure_rate: 'On-time closure', on_time_handling_rate: 'On-time handling',
  rework_rate: 'Rework rate', return_rate: 'Return rate', registration_rate: 'Registration rate',
  mean_handling_seconds: 'Mean handling time',
};

function label(m) { return getLang() === 'en' ? (LABELS_EN[m.kind] || m.label) : m.label; }

/** fmtValue shows a figure: a percentage, or a duration for the mean handling time. */
function fmtValue(kind, v) {
  if (v === undefined || v === null) return '—';
  if (kind === 'mean_handling_seconds') return fmtDuration(v * 1000);
  return `${(v * 100).toFixed(1)}%`;
}

function fmtChange(kind, ch) {
  if (ch === undefined || ch === null) return '—';
  if (kind === 'mean_handling_seconds') return `${ch >= 0 ? '+' : '−'}${fmtDuration(Math.abs(ch) * 1000)}`;
  return `${ch >= 0 ? '+' : '−'}${Math.abs(ch * 100).toFixed(1)}`;
}

/** drill links a count to the cases behind it. */
function drill(n, ids, what) {
  if (!ids || !ids.length) return h('span', { class: 'num' }, String(n));
  return h('a', { href: `#/cases?ids=${ids.join(',')}`, class: 'num drill', title: what, dataset: { count: String(ids.length) } }, String(n));
}

function metricRow(m, defs) {
  const def = defs.get(m.kind) || '';
  return h('tr', { dataset: { kind: m.kind } },
    h('th', { scope: 'row', title: def }, label(m)),
    h('td', { class: 'num rate' }, m.numerator_ids && m.numerator_ids.length && m.kind !== 'mean_handling_seconds'
      ? h('a', { href: `#/cases?ids=${m.numerator_ids.join(',')}`, title: t('stats.num') }, fmtValue(m.kind, m.value)) : fmtValue(m.kind, m.value)),
    h('td', { class: 'num' }, m.kind === 'mean_handling_seconds' ? `${m.numerator}s` : drill(m.numerator, m.numerator_ids, t('stats.num'))),
    h('td', { class: 'num' }, drill(m.denominator, m.denominator_ids, t('stats.den'))),
    h('td', { class: 'num' }, drill(m.apart, m.apart_ids, t('stats.apart'))),
    h('td', { class: 'num muted' }, m.previous ? `${fmtValue(m.kind, m.previous.value)} (${m.previous.numerator}/${m.previous.denominator})` : '—'),
    h('td', { class: 'num' }, fmtChange(m.kind, m.change)));
}

/**
 * barChart draws one bar per row (label, value, previous value, ids) as SVG;
 * each bar links to its cases. Values are fractions unless kind is the mean
 * handling time.
 */
function barChart(rows, kind, title) {
  const W = 560;
  const rowH = 22;
  const left = 130;
  const H = rows.length * rowH + 24;
  const max = Math.max(1e-9, ...rows.map((r) => Math.max(r.value ?? 0, r.prev ?? 0)), kind === 'mean_handling_seconds' ? 0 : 1);
  const scale = (v) => ((v ?? 0) / max) * (W - left - 70);
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title },
    h('svg:title', {}, title),
    rows.map((r, i) => {
      const y = i * rowH + 4;
      const bar = h('svg:rect', { class: 'bar', x: left, y, width: Math.max(1, scale(r.value)), height: rowH - 10 });
      return h('svg:g', {},
        h('svg:text', { x: left - 6, y: y + 11, 'text-anchor': 'end' }, r.label.length > 10 ? `${r.label.slice(0, 10)}…` : r.label),
        r.prev !== undefined && r.prev !== null ? h('svg:rect', { class: 'bar2', x: left, y: y + rowH - 10, width: Math.max(1, scale(r.prev)), height: 3 }) : null,
        r.ids && r.ids.length ? h('svg:a', { href: `#/cases?ids=${r.ids.join(',')}`, 'aria-label': `${r.label} ${fmtValue(kind, r.value)}` }, bar) : bar,
        h('svg:text', { x: left + scale(r.value) + 4, y: y + 11 }, fmtValue(kind, r.value)));
    }),
    h('svg:text', { x: left, y: H - 4, class: 'muted' }, t('stats.legend')));
  return svg;
}

/** renderStats draws the statistics of the period and cut in params, over the case filter in params. */
export async function renderStats(main, params, nav) {
  const f = filterFrom(params);
  const now = new Date();
  const cur = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit' }).format(now).slice(0, 7);
  const period = params.get('period') || cur;
  const by = params.get('by') || 'category';
  const chartKind = params.get('metric') || 'closure_rate';
  const periodIn = h('input', { type: 'text', name: 'period', value: period, pattern: '\\d{4}(-\\d{2})?', placeholder: '2026-10', inputmode: 'numeric' });
  const bySel = select('by', [['', '—'], ['category', t('stats.by_category')], ['town', t('stats.by_town')], ['month', t('stats.by_month')]], by);
  const metricSel = select('metric', ['closure_rate', 'on_time_closure_rate', 'on_time_handling_rate', 'rework_rate', 'return_rate',
    'registration_rate', 'mean_handling_seconds'].map((k) => [k, getLang() === 'en' ? LABELS_EN[k] : t(`stats.m.${k}`)]), chartKind);
  const form = h('form', { class: 'stats-form', 'aria-label': t('stats.title') },
    field(t('stats.period'), periodIn), field(t('stats.cut'), bySel), field(t('stats.chart'), metricSel),
    h('button', { type: 'submit', class: 'primary' }, t('stats.run')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const k of FILTER_KEYS) if (f[k]) q.set(k, f[k]);
    q.set('period', periodIn.value.trim() || cur);
    if (bySel.value) q.set('by', bySel.value);
    q.set('metric', metricSel.value);
    nav(`#/stats?${q}`);
  });
  const body = h('div', {}, h('p', { role: 'status' }, t('loading')));
  mount(main, h('section', { class: 'page', 'aria-labelledby': 'stats-title' }, h('h1', { id: 'stats-title' }, t('stats.title')), form, body));
  let res;
  try {
    res = await get('/stats', { ...apiParams(f), period, by });
  } catch (e) {
    mount(body, h('p', { class: 'error', role: 'alert' }, e.status === 404 ? t('stats.unavailable') : e.message));
    return;
  }
  const defs = new Map(res.definitions.map((d) => [d.kind, d.definition]));
  const head = h('tr', {}, ['stats.metric', 'stats.value', 'stats.num', 'stats.den', 'stats.apart', 'stats.prev', 'stats.change']
    .map((k) => h('th', { scope: 'col', class: k === 'stats.metric' ? '' : 'num' }, t(k))));
  const totals = h('section', { class: 'panel', 'aria-labelledby': 'totals-title' },
    h('h2', { id: 'totals-title' }, t('stats.totals'), ' ', h('span', { class: 'muted small', id: 'stats-period' },
      `${res.period.label}${res.provisional ? ` (${t('stats.provisional')})` : ''} · ${t('stats.prev')} ${res.previous.label}`)),
    h('p', { class: 'def' }, `${t('stats.filter')}: `, h('code', { id: 'stats-filter' }, res.filter || t('stats.nofilter')),
      ` · ${t('stats.asof')} ${fmtTime(res.as_of)}`),
    h('table', { class: 'metrics', id: 'stats-totals' }, h('thead', {}, head), h('tbody', {}, res.totals.metrics.map((m) => metricRow(m, defs)))),
    h('details', { class: 'def' }, h('summary', {}, t('stats.definitions')),
      h('dl', {}, res.definitions.map((d) => [h('dt', {}, getLang() === 'en' ? LABELS_EN[d.kind] : d.label), h('dd', {}, d.definition)]))));
  const groups = res.groups || [];
  let cut = null;
  if (groups.length) {
    const rows = groups.map((g) => {
      const m = g.metrics.find((x) => x.kind === chartKind) || {};
      return { label: g.label || g.key, value: m.value, prev: m.previous ? m.previous.value : null, ids: m.numerator_ids, m, g };
    });
    const chartTitle = `${getLang() === 'en' ? LABELS_EN[chartKind] : t(`stats.m.${chartKind}`)} · ${t(`stats.by_${res.by}`)} · ${res.period.label}`;
    cut = h('section', { class: 'panel', 'aria-labelledby': 'cut-title' },
      h('h2', { id: 'cut-title' }, chartTitle),
      barChart(rows, chartKind, chartTitle),
      h('table', { class: 'metrics', id: 'stats-groups' }, h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, t(`stats.by_${res.by}`)), h('th', { scope: 'col', class: 'num' }, t('stats.value')),
        h('th', { scope: 'col', class: 'num' }, t('stats.num')), h('th', { scope: 'col', class: 'num' }, t('stats.den')),
        h('th', { scope: 'col', class: 'num' }, t('stats.prev')))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { key: r.g.key } },
        h('th', { scope: 'row', title: r.g.filter }, r.label),
        h('td', { class: 'num' }, fmtValue(chartKind, r.value)),
        h('td', { class: 'num' }, drill(r.m.numerator ?? 0, r.m.numerator_ids, t('stats.num'))),
        h('td', { class: 'num' }, drill(r.m.denominator ?? 0, r.m.denominator_ids, t('stats.den'))),
        h('td', { class: 'num muted' }, r.m.previous ? fmtValue(chartKind, r.m.previous.value) : '—'))))));
  }
  const vols = res.totals.volumes || [];
  const volumes = h('section', { class: 'panel', 'aria-labelledby': 'vol-title' }, h('h2', { id: 'vol-title' }, t('stats.volume')),
    vols.length ? h('table', { class: 'metrics', id: 'stats-volumes' }, h('thead', {}, h('tr', {},
      ['stats.category', 'stats.cases', 'stats.quantity', 'stats.prev'].map((k) => h('th', { scope: 'col', class: k === 'stats.category' ? '' : 'num' }, t(k))))),
    h('tbody', {}, vols.map((v) => h('tr', {},
      h('th', { scope: 'row' }, `${v.category} ${v.name}`),
      h('td', { class: 'num' }, drill(v.cases, v.case_ids, t('stats.cases'))),
      h('td', { class: 'num' }, v.unit ? `${v.quantity} ${t(`unit.${v.unit}`)}${v.without_quantity ? ` (${t('stats.noqty', { n: v.without_quantity })})` : ''}` : '—'),
      h('td', { class: 'num muted' }, String(v.previous_cases)))))) : h('p', { class: 'muted' }, t('list.empty')));
  mount(body, h('div', { class: 'stats-grid' }, h('div', { class: 'detail-left' }, totals, volumes), h('div', { class: 'detail-right' }, cut)));
}
