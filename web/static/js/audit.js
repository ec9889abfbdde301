// The audit log (GET /api/v1/audit): who viewed, changed and exported what,
// newest first, searchable by case and by user. An actor or a case in a row
// is a link that narrows the search to it. Each row shows its hash link, so a
// printed page can be checked against the chain.
import { get } from './api.js';
import { t } from './i18n.js';
import { h, mount, field, select, fmtTime, shortID } from './util.js';
import { ref, deviceName } from './ref.js';

const ACTIONS = ['case.view', 'case.create', 'case.edit', 'case.transition', 'case.comment', 'conflict.resolve', 'photo.withdraw', 'export'];

function detailText(d) {
  if (!d || typeof d !== 'object') return '';
  return Object.entries(d).filter(([k]) => k !== 'command_id')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
}

/** renderAudit draws the audit search for the case, user and action in params. */
export async function renderAudit(main, params, nav) {
  const q = { case: params.get('case') || '', user: params.get('user') || '', action: params.get('action') || '',
    from: params.get('from') || '', to: params.get('to') || '' };
  const link = (over) => '#/audit?' + new URLSearchParams(Object.entries({ ...q, ...over }).filter(([, v]) => v)).toString();
  const caseIn = h('input', { type: 'text', name: 'case', value: q.case, placeholder: 'UUID', spellcheck: 'false' });
  const users = new Map([[ref.me.user.id, ref.me.user.username], ...ref.users]);
  const userIn = h('input', { type: 'text', name: 'user', value: q.user, placeholder: 'UUID', spellcheck: 'false', list: 'audit-users' });
  const userList = h('datalist', { id: 'audit-users' }, [...users].map(([id, name]) => h('option', { value: id }, name)));
  const actionSel = select('action', [['', t('filter.any')], ...ACTIONS.map((a) => [a, t(`audit.a.${a}`)])], q.action);
  const form = h('form', { class: 'audit-form', role: 'search', 'aria-label': t('audit.title') },
    field(t('audit.case'), caseIn), field(t('audit.user'), userIn), userList, field(t('audit.action'), actionSel),
    field(t('audit.from'), h('input', { type: 'date', name: 'from', value: q.from }), null),
    field(t('audit.to'), h('input', { type: 'date', name: 'to', value: q.to })),
    h('button', { type: 'submit', class: 'primary' }, t('audit.search')),
    h('button', { type: 'button', onclick: () => nav('#/audit') }, t('filter.reset')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const nq = {};
    for (const k of ['case', 'user', 'action', 'from', 'to']) { const v = String(fd.get(k) || '').trim(); if (v) nq[k] = v; }
    nav('#/audit?' + new URLSearchParams(nq).toString());
  });
  const tbody = h('tbody', {});
  const status = h('p', { class: 'muted', role: 'status' }, t('loading'));
  const more = h('button', { type: 'button', hidden: true }, t('list.more'));
  mount(main, h('section', { class: 'page', 'aria-labelledby': 'audit-title' }, h('h1', { id: 'audit-title' }, t('audit.title')), form, status,
    h('div', { class: 'table-wrap' }, h('table', { class: 'audit' }, h('thead', {}, h('tr', {},
      ['audit.seq', 'audit.at', 'audit.actor', 'audit.action', 'audit.target', 'audit.detail', 'audit.hash'].map((k) => h('th', { scope: 'col' }, t(k))))), tbody)),
    more));
  let cursor = '';
  let n = 0;
  const page = async () => {
    const res = await get('/audit', { case: q.case, user: q.user, action: q.action, from: q.from, to: q.to, limit: 100, cursor });
    for (const e of res.items) {
      tbody.append(h('tr', { dataset: { seq: e.seq, action: e.action } },
        h('td', { class: 'mono' }, String(e.seq)),
        h('td', {}, fmtTime(e.at, true)),
        h('td', {}, h('a', { href: link({ user: e.actor_id }), title: e.actor_id }, e.actor_name || shortID(e.actor_id)),
          ` (${t(`role.${e.role}`)})`, e.device_id ? h('div', { class: 'small muted' }, deviceName(e.device_id)) : null),
        h('td', {}, t(`audit.a.${e.action}`)),
        h('td', {}, e.case_id ? [h('a', { href: link({ case: e.case_id }), title: e.case_id }, h('code', {}, shortID(e.case_id))), ' ',
          h('a', { href: `#/cases/${e.case_id}`, class: 'small' }, '↗')] : '—'),
        h('td', { class: 'detail-json' }, detailText(e.detail)),
        h('td', { class: 'mono small', title: `${e.prev_hash} → ${e.hash}` }, `${e.hash.slice(0, 10)}…`)));
      n++;
    }
    cursor = res.next_cursor || '';
    more.hidden = !cursor;
    mount(status, n ? t('list.loaded', { n }) : t('audit.empty'));
  };
  more.addEventListener('click', () => page().catch((e) => mount(status, e.message)));
  try {
    await page();
  } catch (e) {
    mount(status, e.status === 404 ? t('audit.unavailable') : `${t('error')}: ${e.message}`);
  }
}
